//! `[sms]`: the one definition of the section of the hub's branch file and of the appointment
//! site's file that says how to reach an SMSC (or, for the hub, an aggregator's HTTPS API
//! instead), and the checks both programs make of its values.
//!
//! The two programs do not take the same keys (the hub paces, prices and may post to HTTPS; the
//! site confirms bookings by code), so each reads the section with its own list of keys:
//! [`SmsOf<Hub>`] and [`SmsOf<Site>`]. A key not on a program's list is refused as serde
//! refuses any unknown key, at the key (so a TOML reader places it by line and column) and with
//! the same words, naming the keys that program takes: each file reads exactly as it did when
//! each program had a section of its own.
use std::fmt;
use std::marker::PhantomData;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor};

use crate::SessionConfig;

/// Every key of `[sms]`, and its default. Which of them a program takes is its [`Program`]'s.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSection {
    /// The SMSC's `host:port`; without it (and without `https_url`) no SMS is sent.
    pub smsc: Option<String>,
    pub system_id: String,
    /// The bind password (or `DAWR_SMS_PASSWORD`).
    pub password: Option<String>,
    pub system_type: String,
    /// The sender name registered with the operator (alphanumeric), or a number.
    pub sender: String,
    /// The provider's limit: submissions per second (each part of a long text counts). Hub.
    pub messages_per_second: f64,
    /// At most this many submissions await the SMSC's answer at once. Hub (the site sends 4).
    pub window: usize,
    /// How often the session is checked with `enquire_link`.
    pub enquire_link_s: f64,
    /// How long the SMSC may take to answer. Hub (the site waits 10 s).
    pub response_timeout_s: f64,
    /// The longest wait before a message (or, on the site, a connection) is tried again.
    pub max_backoff_s: f64,
    /// The longest wait between attempts to connect to the SMSC. Hub.
    pub max_reconnect_s: f64,
    /// A message not handed over within this long is given up (failed). Hub.
    pub expire_after_min: f64,
    /// A ticket whose holder gave a mobile is told when this many visitors or fewer are ahead. Hub.
    pub notify_ahead: u32,
    /// An aggregator's HTTPS API instead of an SMSC: where each message is posted. Hub.
    pub https_url: Option<String>,
    /// The JSON body posted, with `{{to}}`, `{{text}}`, `{{message_id}}`, `{{sender}}` and
    /// `{{api_key}}` in its strings. Hub.
    pub https_body: Option<String>,
    /// The environment variable that holds the provider's API key… Hub.
    pub https_key_env: Option<String>,
    /// …or the file that does (never the key itself in the file). Hub.
    pub https_key_file: Option<PathBuf>,
    /// The header that carries the key (`Authorization`; empty: none) and the word before it. Hub.
    pub https_key_header: String,
    pub https_key_scheme: String,
    /// The field of the provider's JSON answer with its id of the message, if it sends one. Hub.
    pub https_id_field: Option<String>,
    /// A private CA the provider's certificate chains to, besides the system's roots. Hub.
    pub https_ca_file: Option<PathBuf>,
    /// How long the provider may take to answer. Hub.
    pub https_timeout_s: f64,
    /// What one SMS part costs (the monthly report's costs), and in which currency. Hub.
    pub price_per_part: f64,
    pub currency: String,
    /// A booking is confirmed only by a one-time code sent by SMS to the mobile given. Site.
    pub confirm_bookings: bool,
}

impl Default for SmsSection {
    fn default() -> Self {
        SmsSection {
            smsc: None,
            system_id: String::new(),
            password: None,
            system_type: String::new(),
            sender: "Dawr".into(),
            messages_per_second: 10.0,
            window: 10,
            enquire_link_s: 30.0,
            response_timeout_s: 10.0,
            max_backoff_s: 60.0,
            max_reconnect_s: 30.0,
            expire_after_min: 30.0,
            notify_ahead: 3,
            https_url: None,
            https_body: None,
            https_key_env: None,
            https_key_file: None,
            https_key_header: "Authorization".into(),
            https_key_scheme: "Bearer".into(),
            https_id_field: None,
            https_ca_file: None,
            https_timeout_s: 10.0,
            price_per_part: 0.0,
            currency: "SAR".into(),
            confirm_bookings: false,
        }
    }
}

/// A value of `[sms]` that cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SmsConfigError {
    #[error("[sms] needs a system_id of 1 to 15 characters and a password of at most 8 (SMPP 3.4)")]
    Login,
    #[error("[sms] {key} {value} is not between {low} and {high}")]
    OutOfRange { key: &'static str, value: f64, low: f64, high: f64 },
    #[error("[sms] give an SMSC (smsc) or an HTTPS provider (https_url), not both")]
    SmscAndHttps,
}

/// Where a program's messages go, as `[sms]` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gateway {
    /// Neither `smsc` nor `https_url`: no SMS.
    Off,
    /// An SMSC at this `host:port`.
    Smsc(String),
    /// An aggregator's HTTPS API (`https_url`).
    Https,
}

/// `value` of `[sms] key`, if it lies within `low..=high`.
pub fn within(key: &'static str, value: f64, low: f64, high: f64) -> Result<f64, SmsConfigError> {
    if (low..=high).contains(&value) { Ok(value) } else { Err(SmsConfigError::OutOfRange { key, value, low, high }) }
}

/// `[sms] key` as seconds, if they lie within `low..=high`.
pub fn seconds(key: &'static str, value: f64, low: f64, high: f64) -> Result<Duration, SmsConfigError> {
    within(key, value, low, high).map(Duration::from_secs_f64)
}

impl SmsSection {
    /// Where messages go: an SMSC, an HTTPS API, or nowhere; both at once is refused.
    pub fn gateway(&self) -> Result<Gateway, SmsConfigError> {
        match (&self.smsc, self.https_url.is_some()) {
            (None, false) => Ok(Gateway::Off),
            (Some(_), true) => Err(SmsConfigError::SmscAndHttps),
            (None, true) => Ok(Gateway::Https),
            (Some(address), false) => Ok(Gateway::Smsc(address.clone())),
        }
    }

    /// The SMPP session with the SMSC at `address`, checked: a system id of 1 to 15 characters
    /// and a password of at most 8 (SMPP 3.4's limits; `password`, from outside the file, wins
    /// over the file's), and the session's times and window within their ranges.
    pub fn session(&self, address: String, password: Option<String>) -> Result<SessionConfig, SmsConfigError> {
        let password = password.or(self.password.clone()).unwrap_or_default();
        if self.system_id.is_empty() || self.system_id.len() > 15 || password.len() > 8 {
            return Err(SmsConfigError::Login);
        }
        Ok(SessionConfig {
            address,
            system_id: self.system_id.clone(),
            password,
            system_type: self.system_type.clone(),
            enquire_link_every: seconds("enquire_link_s", self.enquire_link_s, 0.1, 3600.0)?,
            response_timeout: seconds("response_timeout_s", self.response_timeout_s, 0.1, 300.0)?,
            window: within("window", self.window as f64, 1.0, 100.0)? as usize,
        })
    }

    /// The longest wait before a message is tried again.
    pub fn max_backoff(&self) -> Result<Duration, SmsConfigError> {
        seconds("max_backoff_s", self.max_backoff_s, 0.1, 3600.0)
    }
}

/// A program that reads `[sms]`: the keys it takes, in the order its file documents them.
pub trait Program {
    const KEYS: &'static [&'static str];
}

/// The hub (`[sms]` in the branch file): an SMSC or an HTTPS API, pacing, prices.
#[derive(Debug, Clone, Copy)]
pub enum Hub {}

impl Program for Hub {
    const KEYS: &'static [&'static str] = &[
        "smsc",
        "system_id",
        "password",
        "system_type",
        "sender",
        "messages_per_second",
        "window",
        "enquire_link_s",
        "response_timeout_s",
        "max_backoff_s",
        "max_reconnect_s",
        "expire_after_min",
        "notify_ahead",
        "https_url",
        "https_body",
        "https_key_env",
        "https_key_file",
        "https_key_header",
        "https_key_scheme",
        "https_id_field",
        "https_ca_file",
        "https_timeout_s",
        "price_per_part",
        "currency",
    ];
}

/// The appointment site (`[sms]` in the site's file): an SMSC for reminders and one-time codes.
#[derive(Debug, Clone, Copy)]
pub enum Site {}

impl Program for Site {
    const KEYS: &'static [&'static str] = &[
        "smsc",
        "system_id",
        "password",
        "system_type",
        "sender",
        "max_backoff_s",
        "enquire_link_s",
        "confirm_bookings",
    ];
}

/// `[sms]` as program `P` writes it: only `P`'s keys, read into the one [`SmsSection`] (the
/// others keep their defaults).
pub struct SmsOf<P> {
    section: SmsSection,
    program: PhantomData<P>,
}

impl<P> SmsOf<P> {
    pub fn new(section: SmsSection) -> Self {
        SmsOf { section, program: PhantomData }
    }
}

impl<P> Default for SmsOf<P> {
    fn default() -> Self {
        SmsOf::new(SmsSection::default())
    }
}

impl<P> Clone for SmsOf<P> {
    fn clone(&self) -> Self {
        SmsOf::new(self.section.clone())
    }
}

impl<P> fmt::Debug for SmsOf<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.section.fmt(f)
    }
}

impl<P> std::ops::Deref for SmsOf<P> {
    type Target = SmsSection;
    fn deref(&self) -> &SmsSection {
        &self.section
    }
}

impl<P> std::ops::DerefMut for SmsOf<P> {
    fn deref_mut(&mut self) -> &mut SmsSection {
        &mut self.section
    }
}

impl<'de, P: Program> Deserialize<'de> for SmsOf<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct("SmsSection", P::KEYS, SectionVisitor::<P>(PhantomData)).map(SmsOf::new)
    }
}

/// Reads the section's table through [`ProgramKeys`], into [`SmsSection`].
struct SectionVisitor<P>(PhantomData<P>);

impl<'de, P: Program> Visitor<'de> for SectionVisitor<P> {
    type Value = SmsSection;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the [sms] table")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<SmsSection, A::Error> {
        SmsSection::deserialize(de::value::MapAccessDeserializer::new(ProgramKeys::<A, P>(map, PhantomData)))
    }
}

/// The table's entries, a key not of `P` refused where it is read.
struct ProgramKeys<A, P>(A, PhantomData<P>);

impl<'de, A: MapAccess<'de>, P: Program> MapAccess<'de> for ProgramKeys<A, P> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.0.next_key_seed(KnownKey::<K, P>(seed, PhantomData))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        self.0.next_value_seed(seed)
    }

    fn size_hint(&self) -> Option<usize> {
        self.0.size_hint()
    }
}

/// A key, passed on if `P` takes it, otherwise refused as serde refuses an unknown field.
struct KnownKey<K, P>(K, PhantomData<P>);

impl<'de, K: DeserializeSeed<'de>, P: Program> DeserializeSeed<'de> for KnownKey<K, P> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<K::Value, D::Error> {
        let key = String::deserialize(deserializer)?;
        if !P::KEYS.contains(&key.as_str()) {
            return Err(de::Error::unknown_field(&key, P::KEYS));
        }
        self.0.deserialize(key.into_deserializer())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct HubFile {
        sms: SmsOf<Hub>,
    }

    #[derive(Debug, Deserialize)]
    struct SiteFile {
        sms: SmsOf<Site>,
    }

    /// The 1-based line of a TOML error's place in `text`.
    fn line_of(error: &toml::de::Error, text: &str) -> usize {
        text[..error.span().expect("a place").start].matches('\n').count() + 1
    }

    #[test]
    fn each_program_takes_its_own_keys_and_keeps_the_defaults_of_the_rest() {
        let hub: HubFile =
            toml::from_str("[sms]\nsmsc = \"127.0.0.1:2775\"\nsystem_id = \"dawr\"\nwindow = 20\nnotify_ahead = 5\n")
                .unwrap();
        assert_eq!((hub.sms.smsc.as_deref(), hub.sms.window, hub.sms.notify_ahead), (Some("127.0.0.1:2775"), 20, 5));
        assert!(!hub.sms.confirm_bookings && hub.sms.sender == "Dawr");
        let site: SiteFile = toml::from_str("[sms]\nsmsc = \"127.0.0.1:2775\"\nconfirm_bookings = true\n").unwrap();
        assert!(site.sms.confirm_bookings);
        assert_eq!((site.sms.window, site.sms.max_backoff_s), (10, 60.0));
    }

    #[test]
    fn a_key_of_the_other_program_is_refused_at_its_line_naming_the_keys_this_one_takes() {
        let text = "[sms]\nsmsc = \"127.0.0.1:2775\"\nconfirm_bookings = true\n";
        let error = toml::from_str::<HubFile>(text).unwrap_err();
        assert_eq!(line_of(&error, text), 3, "{error}");
        let expected = format!(
            "unknown field `confirm_bookings`, expected one of {}",
            Hub::KEYS.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
        );
        assert_eq!(error.message(), expected);

        let text = "[sms]\nsmsc = \"127.0.0.1:2775\"\n\nwindow = 4\n";
        let error = toml::from_str::<SiteFile>(text).unwrap_err();
        assert_eq!(line_of(&error, text), 4, "{error}");
        assert!(error.message().starts_with("unknown field `window`, expected one of `smsc`, `system_id`,"), "{error}");
        assert!(error.message().ends_with("`enquire_link_s`, `confirm_bookings`"), "{error}");
    }

    #[test]
    fn a_value_of_the_wrong_type_is_placed_at_its_value() {
        let text = "[sms]\nsmsc = \"127.0.0.1:2775\"\nenquire_link_s = \"thirty\"\n";
        let error = toml::from_str::<SiteFile>(text).unwrap_err();
        assert_eq!(line_of(&error, text), 3, "{error}");
        assert_eq!(error.span().unwrap().start, text.find("\"thirty\"").unwrap(), "at the value");
        assert!(error.message().starts_with("invalid type: string \"thirty\", expected f64"), "{error}");
    }

    #[test]
    fn the_session_is_checked_as_smpp_3_4_allows() {
        let mut section = SmsSection { smsc: Some("127.0.0.1:2775".into()), ..SmsSection::default() };
        assert_eq!(section.gateway(), Ok(Gateway::Smsc("127.0.0.1:2775".into())));
        let login = section.session("127.0.0.1:2775".into(), None).unwrap_err();
        assert_eq!(
            login.to_string(),
            "[sms] needs a system_id of 1 to 15 characters and a password of at most 8 (SMPP 3.4)"
        );
        section.system_id = "dawr".into();
        section.password = Some("from-file".into());
        let session = section.session("127.0.0.1:2775".into(), Some("outside".into())).unwrap();
        assert_eq!((session.password.as_str(), session.window), ("outside", 10), "the password from outside wins");
        assert_eq!(section.session("a".into(), None).unwrap_err(), SmsConfigError::Login, "9 characters");
        section.password = None;
        section.enquire_link_s = 0.0;
        let range = section.session("a".into(), None).unwrap_err();
        assert_eq!(range.to_string(), "[sms] enquire_link_s 0 is not between 0.1 and 3600");
        section.enquire_link_s = 30.0;
        section.window = 0;
        assert_eq!(
            section.session("a".into(), None).unwrap_err().to_string(),
            "[sms] window 0 is not between 1 and 100"
        );
        section.max_backoff_s = 7200.0;
        assert_eq!(
            section.max_backoff().unwrap_err().to_string(),
            "[sms] max_backoff_s 7200 is not between 0.1 and 3600"
        );
        section.https_url = Some("https://sms.example.sa".into());
        assert_eq!(section.gateway(), Err(SmsConfigError::SmscAndHttps));
        assert_eq!(SmsSection::default().gateway(), Ok(Gateway::Off));
    }
}
