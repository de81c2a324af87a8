//! The site's TOML configuration, and the demo site used when none is given.
//!
//! `demo-site.toml` (beside this crate's `Cargo.toml`) is both the built-in demo and the
//! documented example of every setting. [`SiteConfig::site`] turns a file into the validated
//! [`Site`] the rest of the crate works with.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{FixedOffset, NaiveDate, Weekday};
use dawr_protocol::api::Names;
use dawr_web::config::{FileError, parse_offset, parse_toml, read_toml};
use serde::Deserialize;

/// The demo site's configuration, built into the binary.
pub const DEMO_TOML: &str = include_str!("../demo-site.toml");

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("branch {branch}: {problem}")]
    Branch { branch: String, problem: String },
    #[error("{0}")]
    Site(String),
    #[error(transparent)]
    Sms(#[from] dawr_smpp::config::SmsConfigError),
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteConfig {
    #[serde(default)]
    pub site: SiteSection,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub retention: Retention,
    #[serde(default)]
    pub sms: SmsSection,
    #[serde(default)]
    pub waiting_list: WaitingList,
    /// National sign-in (OpenID Connect); off without the section.
    #[serde(default)]
    pub identity: Option<IdentitySection>,
    pub branches: Vec<BranchSection>,
}

/// `[identity]`: who books is proven by the national sign-in (an OpenID Connect provider, the
/// way Nafath-style sign-in works) instead of a typed ID number ([`crate::identity`]). Each
/// value is checked as it is read, so a mistake is reported with its line and key.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySection {
    /// The provider's issuer URL (its discovery document is `{issuer}/.well-known/openid-configuration`).
    pub issuer: ProviderUrl,
    /// The site's client id, as registered with the provider.
    pub client_id: ClientId,
    /// A file holding the client secret (never the secret itself in the site file).
    pub client_secret_file: SecretFile,
    /// The site's public `/signin/callback`, as registered with the provider.
    pub redirect_uri: ProviderUrl,
    /// The ID token's claim that carries the national ID or iqama number (`sub` when the
    /// provider's subject is the ID number).
    #[serde(default = "default_id_claim")]
    pub national_id_claim: ClientId,
}

fn default_id_claim() -> ClientId {
    ClientId("national_id".into())
}

/// An `https` URL (or `http` on a loopback address, for tests), without a fragment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ProviderUrl(pub String);

impl TryFrom<String> for ProviderUrl {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        let url = reqwest::Url::parse(&text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        let loopback = matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
        if !scheme_ok || url.fragment().is_some() || url.host_str().is_none() {
            return Err(format!("{text:?} must be an https URL without a fragment (http only on loopback)"));
        }
        Ok(ProviderUrl(text))
    }
}

/// A non-empty value of at most 256 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct ClientId(pub String);

impl TryFrom<String> for ClientId {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        if text.is_empty() || text.len() > 256 || !text.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(format!("{text:?} must be 1 to 256 printable ASCII characters"));
        }
        Ok(ClientId(text))
    }
}

/// The client secret, read from the file the site file names (its first line, trimmed).
#[derive(Clone, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct SecretFile {
    pub path: PathBuf,
    pub secret: String,
}

impl std::fmt::Debug for SecretFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecretFile").field("path", &self.path).finish_non_exhaustive()
    }
}

impl TryFrom<String> for SecretFile {
    type Error = String;

    fn try_from(path: String) -> Result<Self, String> {
        let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path:?}: {e}"))?;
        let secret = text.lines().next().unwrap_or_default().trim().to_string();
        if secret.is_empty() {
            return Err(format!("{path:?} holds no client secret"));
        }
        Ok(SecretFile { path: path.into(), secret })
    }
}

/// `[waiting_list]`: a full slot's waiting list ([`crate::waiting`]). It needs the one-time
/// codes (`[sms] confirm_bookings`): joining is proved by one, and an offered place is taken by
/// typing the one the offer's text carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WaitingList {
    /// How long a place offered to the first in line is held for them (never past the slot).
    pub hold_minutes: u32,
    /// How many may wait for one slot; 0 turns the waiting list off.
    pub per_slot: u32,
}

impl Default for WaitingList {
    fn default() -> Self {
        WaitingList { hold_minutes: 30, per_slot: 20 }
    }
}

/// `[sms]`: reminders a day and an hour before each booking's slot, through the operator's or
/// aggregator's SMSC (SMPP 3.4), and the one-time codes of `confirm_bookings`. Off without
/// `smsc` (the default). The section and its checks are `dawr_smpp::config`'s, shared with the
/// hub; the site takes the keys of [`dawr_smpp::config::Site`].
pub type SmsSection = dawr_smpp::config::SmsOf<dawr_smpp::config::Site>;

/// The settings the reminders and codes run with (checked), or `None` without an SMSC.
fn sms_settings(sms: &SmsSection) -> Result<Option<crate::reminders::SmsSettings>, ConfigError> {
    let Some(address) = sms.smsc.clone() else { return Ok(None) };
    let session = sms.session(address, std::env::var("DAWR_SMS_PASSWORD").ok())?;
    // The site sends little: a few submissions outstanding at once are plenty.
    let session = dawr_smpp::SessionConfig { window: 4, ..session };
    Ok(Some(crate::reminders::SmsSettings { session, sender: sms.sender.clone(), max_backoff: sms.max_backoff()? }))
}

/// `[retention]`: how long a booking keeps the citizen's name, ID number and mobile (Saudi
/// PDPL). After that many days past its slot's day they are removed; the booking (slot, service,
/// what happened) stays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Retention {
    pub personal_data_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { personal_data_days: 90 }
    }
}

/// `[site]`: where the site listens and keeps its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SiteSection {
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    pub horizon_days: u32,
    /// HTTPS with this certificate (PEM: the server's first, then any intermediates)…
    pub tls_cert: Option<PathBuf>,
    /// …and its private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// PostgreSQL (a libpq URL) instead of the SQLite file in `data_dir`: several replicas of the
    /// site can then serve from one database.
    pub postgres: Option<String>,
    /// Connections to PostgreSQL per replica.
    pub postgres_pool: usize,
    /// The Ed25519 key that signs each booking's check-in token (made on the first start);
    /// default `booking-signing.key` in `data_dir`. Replicas share one.
    pub signing_key: Option<PathBuf>,
}

impl Default for SiteSection {
    fn default() -> Self {
        SiteSection {
            http: SocketAddr::from(([127, 0, 0, 1], 8090)),
            data_dir: PathBuf::from("data-appointments"),
            horizon_days: 30,
            tls_cert: None,
            tls_key: None,
            postgres: None,
            postgres_pool: 16,
            signing_key: None,
        }
    }
}

/// `[limits]`: the per-client token bucket on booking, lookup and sign-in (a client is an IPv4
/// address or an IPv6 /64), and the cap on concurrent booking writes.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    pub burst: u32,
    pub per_minute: u32,
    /// Reverse proxies (load balancers) whose `X-Forwarded-For` is believed, as address ranges;
    /// from any other peer the header is ignored.
    pub trusted_proxies: Vec<crate::ratelimit::Cidr>,
    /// Booking writes (book, cancel, reschedule) one replica runs at once; more get 503 with
    /// `Retry-After` at once instead of queueing into a timeout.
    pub booking_writes: u32,
    /// Active bookings (booked, slot not yet started) one mobile may hold across the site, so
    /// one phone cannot hoard places under made-up ID numbers; 0: no limit.
    pub bookings_per_mobile: u32,
    /// One-time codes (`[sms] confirm_bookings`) one client address may ask for in an hour (a
    /// mobile may be sent `dawr_web::otp::CODES_PER_MOBILE`).
    pub codes_per_address: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            burst: 10,
            per_minute: 10,
            trusted_proxies: Vec::new(),
            booking_writes: 64,
            bookings_per_mobile: 0,
            codes_per_address: 10,
        }
    }
}

/// `[site] postgres`: the bookings in PostgreSQL instead of SQLite.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostgresSettings {
    /// A libpq URL, e.g. `postgres://dawr@127.0.0.1:5432/dawr`.
    pub url: String,
    /// Connections this replica keeps.
    pub pool_size: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchSection {
    pub id: String,
    pub name: Names,
    #[serde(default = "default_offset")]
    pub utc_offset: String,
    pub api_key: String,
    pub days: Vec<String>,
    pub opens: String,
    pub closes: String,
    pub slot_min: u32,
    #[serde(default)]
    pub closed_dates: Vec<NaiveDate>,
    #[serde(default)]
    pub closures: Vec<ClosureSection>,
    pub services: Vec<ServiceSection>,
}

fn default_offset() -> String {
    "+03:00".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClosureSection {
    pub date: NaiveDate,
    pub from: String,
    pub to: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    pub code: String,
    pub name: Names,
    pub capacity: u32,
}

/// The validated site.
#[derive(Debug, Clone)]
pub struct Site {
    pub http: SocketAddr,
    /// HTTPS on `http` with this certificate and key (PEM files).
    pub tls: Option<TlsFiles>,
    pub data_dir: PathBuf,
    /// The bookings in PostgreSQL rather than SQLite in `data_dir`.
    pub postgres: Option<PostgresSettings>,
    /// The key file that signs check-in tokens; `None`: `booking-signing.key` in `data_dir`.
    pub signing_key: Option<PathBuf>,
    /// Citizens may book from today up to this many days ahead.
    pub horizon_days: u32,
    pub limits: Limits,
    pub retention: Retention,
    /// Reminders by SMS (`[sms]`), when on.
    pub sms: Option<crate::reminders::SmsSettings>,
    /// Bookings are held until the one-time code sent to the mobile is typed (`[sms]`).
    pub confirm_bookings: bool,
    pub waiting_list: WaitingList,
    /// The national sign-in (`[identity]`), when on.
    pub identity: Option<crate::identity::Settings>,
    pub branches: Vec<Branch>,
}

/// The certificate (chain) and private key the site serves HTTPS with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl Site {
    /// Where the key that signs check-in tokens is kept.
    pub fn signing_key_path(&self) -> PathBuf {
        self.signing_key.clone().unwrap_or_else(|| self.data_dir.join(crate::signing::DEFAULT_FILE))
    }

    pub fn branch(&self, id: &str) -> Option<&Branch> {
        self.branches.iter().find(|b| b.id == id)
    }
}

/// A branch's opening hours and bookable services.
#[derive(Debug, Clone)]
pub struct Branch {
    pub id: String,
    pub name: Names,
    pub utc_offset: FixedOffset,
    pub api_key: String,
    pub days: BTreeSet<u8>,
    /// Minutes after local midnight.
    pub opens_min: u32,
    pub closes_min: u32,
    pub slot_min: u32,
    pub closed_dates: BTreeSet<NaiveDate>,
    pub closures: Vec<Closure>,
    pub services: Vec<Service>,
}

impl Branch {
    pub fn service(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    /// Whether the branch opens on this weekday.
    pub fn opens_on(&self, day: Weekday) -> bool {
        self.days.contains(&(day.num_days_from_sunday() as u8))
    }
}

/// A part of one day when nobody can be booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub date: NaiveDate,
    pub from_min: u32,
    pub to_min: u32,
}

/// A service citizens can book.
#[derive(Debug, Clone)]
pub struct Service {
    pub code: String,
    pub name: Names,
    /// Citizens per slot.
    pub capacity: u32,
}

impl SiteConfig {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<SiteConfig, ConfigError> {
        let config: Self = read_toml(path)?;
        config.check()?;
        Ok(config)
    }

    /// The built-in demo site.
    pub fn demo() -> SiteConfig {
        Self::parse(DEMO_TOML, Path::new("demo-site.toml")).expect("the built-in demo configuration is valid")
    }

    pub fn parse(text: &str, path: &Path) -> Result<SiteConfig, ConfigError> {
        let config: SiteConfig = parse_toml(text, path)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.site().map(drop)
    }

    /// The site this file describes, validated.
    pub fn site(&self) -> Result<Site, ConfigError> {
        if self.branches.is_empty() {
            return Err(ConfigError::Site("no [[branches]]".into()));
        }
        if self.retention.personal_data_days == 0 {
            return Err(ConfigError::Site("[retention] personal_data_days must be at least 1".into()));
        }
        if self.limits.burst == 0 || self.limits.per_minute == 0 || self.limits.booking_writes == 0 {
            return Err(ConfigError::Site("[limits] burst, per_minute and booking_writes must be at least 1".into()));
        }
        if self.site.postgres_pool == 0 {
            return Err(ConfigError::Site("[site] postgres_pool must be at least 1".into()));
        }
        if self.site.postgres.is_some() && self.sms.smsc.is_some() && !self.sms.confirm_bookings {
            // The reminders' outbox lives in the SQLite database beside the bookings; the
            // one-time codes go straight to the SMSC.
            return Err(ConfigError::Site(
                "[sms] reminders are sent only from the SQLite store; with postgres [sms] sends only the \
                 one-time codes (confirm_bookings = true)"
                    .into(),
            ));
        }
        if !(1..=1440).contains(&self.waiting_list.hold_minutes) {
            return Err(ConfigError::Site("[waiting_list] hold_minutes must be between 1 and 1440".into()));
        }
        if self.sms.confirm_bookings && self.sms.smsc.is_none() {
            return Err(ConfigError::Site("[sms] confirm_bookings needs an smsc to send the codes through".into()));
        }
        let mut ids = BTreeSet::new();
        let branches = self
            .branches
            .iter()
            .map(|b| {
                if !ids.insert(b.id.clone()) {
                    return Err(ConfigError::Site(format!("branch {:?} is listed twice", b.id)));
                }
                branch(b)
            })
            .collect::<Result<_, _>>()?;
        let tls = match (&self.site.tls_cert, &self.site.tls_key) {
            (Some(cert), Some(key)) => Some(TlsFiles { cert: cert.clone(), key: key.clone() }),
            (None, None) => None,
            _ => return Err(ConfigError::Site("[site] tls_cert and tls_key go together".into())),
        };
        Ok(Site {
            http: self.site.http,
            tls,
            data_dir: self.site.data_dir.clone(),
            postgres: self
                .site
                .postgres
                .clone()
                .map(|url| PostgresSettings { url, pool_size: self.site.postgres_pool }),
            signing_key: self.site.signing_key.clone(),
            horizon_days: self.site.horizon_days,
            limits: self.limits.clone(),
            retention: self.retention,
            sms: sms_settings(&self.sms)?,
            confirm_bookings: self.sms.confirm_bookings,
            waiting_list: self.waiting_list,
            identity: self.identity.as_ref().map(crate::identity::Settings::from),
            branches,
        })
    }
}

fn branch(b: &BranchSection) -> Result<Branch, ConfigError> {
    let problem = |problem: String| ConfigError::Branch { branch: b.id.clone(), problem };
    let id_ok =
        |id: &str| !id.is_empty() && id.len() <= 32 && id.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-');
    if !id_ok(&b.id) {
        return Err(problem("the id must be 1-32 letters, digits or dashes".into()));
    }
    if b.api_key.len() < 8 {
        return Err(problem("api_key must be at least 8 characters".into()));
    }
    let days = b
        .days
        .iter()
        .map(|d| d.parse::<Weekday>().map(|w| w.num_days_from_sunday() as u8))
        .collect::<Result<BTreeSet<_>, _>>()
        .map_err(|_| problem(format!("days {:?}: use sun, mon, tue, wed, thu, fri, sat", b.days)))?;
    let opens_min = minutes(&b.opens).ok_or_else(|| problem(format!("opens {:?} is not like 08:00", b.opens)))?;
    let closes_min = minutes(&b.closes).ok_or_else(|| problem(format!("closes {:?} is not like 14:30", b.closes)))?;
    if b.slot_min == 0 || b.slot_min > 240 {
        return Err(problem("slot_min must be 1 to 240".into()));
    }
    if opens_min + b.slot_min > closes_min {
        return Err(problem("no slot fits between opens and closes".into()));
    }
    let closures = b
        .closures
        .iter()
        .map(|c| match (minutes(&c.from), minutes(&c.to)) {
            (Some(from_min), Some(to_min)) if from_min < to_min => Ok(Closure { date: c.date, from_min, to_min }),
            _ => Err(problem(format!("closure on {}: from {:?} to {:?}", c.date, c.from, c.to))),
        })
        .collect::<Result<_, _>>()?;
    if b.services.is_empty() {
        return Err(problem("no [[branches.services]]".into()));
    }
    let mut codes = BTreeSet::new();
    for s in &b.services {
        if !id_ok(&s.code) || !codes.insert(s.code.clone()) {
            return Err(problem(format!("service code {:?} is invalid or repeated", s.code)));
        }
        if s.capacity == 0 {
            return Err(problem(format!("service {}: capacity must be at least 1", s.code)));
        }
    }
    Ok(Branch {
        id: b.id.clone(),
        name: b.name.clone(),
        utc_offset: parse_offset(&b.utc_offset)
            .ok_or_else(|| problem(format!("utc_offset {:?} is not like +03:00", b.utc_offset)))?,
        api_key: b.api_key.clone(),
        days,
        opens_min,
        closes_min,
        slot_min: b.slot_min,
        closed_dates: b.closed_dates.iter().copied().collect(),
        closures,
        services: b
            .services
            .iter()
            .map(|s| Service { code: s.code.clone(), name: s.name.clone(), capacity: s.capacity })
            .collect(),
    })
}

/// `08:00` → 480; `24:00` is the end of the day.
pub fn minutes(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= 24 * 60).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_site_serves_the_demo_branch_sunday_to_thursday() {
        let site = SiteConfig::demo().site().unwrap();
        let demo = site.branch("demo").unwrap();
        assert_eq!(demo.name.en, "Customer Care Center - Dammam Branch");
        let codes: Vec<_> = demo.services.iter().map(|s| s.code.as_str()).collect();
        assert_eq!(codes, ["A", "B", "C", "D", "E", "F"], "the hub's demo services");
        assert_eq!(demo.service("A").unwrap().name.ar, "الوكالات");
        assert!(demo.opens_on(Weekday::Sun) && demo.opens_on(Weekday::Thu));
        assert!(!demo.opens_on(Weekday::Fri) && !demo.opens_on(Weekday::Sat));
        assert_eq!((demo.opens_min, demo.closes_min, demo.slot_min), (480, 870, 15));
        assert_eq!(demo.utc_offset.local_minus_utc(), 3 * 3600);
        assert_eq!(site.horizon_days, 30);
        assert_eq!(site.http.port(), 8090);
    }

    #[test]
    fn mistakes_are_reported_with_their_place() {
        let bad = |from: &str, to: &str| {
            let text = DEMO_TOML.replacen(from, to, 1);
            SiteConfig::parse(&text, Path::new("s.toml")).unwrap_err().to_string()
        };
        assert!(bad("capacity = 3", "capacity = 0").contains("capacity must be at least 1"));
        assert!(bad("capacity = 3", "capacty = 3").starts_with("s.toml:"));
        assert!(bad(r#"opens = "08:00""#, r#"opens = "8am""#).contains("opens"));
        assert!(bad(r#""sun", "mon""#, r#""funday", "mon""#).contains("days"));
        assert!(bad(r#"from = "12:00""#, r#"from = "15:00""#).contains("closure"));
        assert!(bad(r#"code = "B""#, r#"code = "A""#).contains("repeated"));
        assert_eq!(minutes("24:00"), Some(1440));
        assert_eq!(minutes("24:01"), None);
        assert_eq!(minutes("7:00"), None);
    }

    #[test]
    fn the_sms_section_takes_the_sites_keys_only_and_is_checked_as_the_hubs() {
        let with = |section: &str| format!("{DEMO_TOML}\n[sms]\nsmsc = \"127.0.0.1:2775\"\n{section}\n");
        let site = |section: &str| SiteConfig::parse(&with(section), Path::new("s.toml")).and_then(|c| c.site());
        // A key of the hub's `[sms]` is no key of the site's: refused at its line, by its key.
        let lines = DEMO_TOML.lines().count();
        let hub_key = SiteConfig::parse(&with("window = 4"), Path::new("s.toml")).unwrap_err().to_string();
        let at = format!("s.toml:{}:1: [sms] window: unknown field `window`, expected one of `smsc`,", lines + 4);
        assert!(hub_key.starts_with(&at), "{hub_key}");
        let login = site("system_id = \"sixteen-letters!\"").unwrap_err();
        assert!(matches!(login, ConfigError::Sms(dawr_smpp::config::SmsConfigError::Login)), "{login:?}");
        assert_eq!(
            login.to_string(),
            "[sms] needs a system_id of 1 to 15 characters and a password of at most 8 (SMPP 3.4)"
        );
        let backoff = site("system_id = \"dawr\"\nmax_backoff_s = 0").unwrap_err().to_string();
        assert_eq!(backoff, "[sms] max_backoff_s 0 is not between 0.1 and 3600");
        let on = site("system_id = \"dawr\"\nsender = \"Justice\"\nenquire_link_s = 5").unwrap();
        let sms = on.sms.expect("on with an smsc");
        assert_eq!(
            (sms.session.window, sms.session.enquire_link_every.as_secs(), sms.sender.as_str()),
            (4, 5, "Justice")
        );
        assert!(SiteConfig::demo().site().unwrap().sms.is_none(), "off by default");
    }

    #[test]
    fn the_identity_section_is_checked_with_its_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let with = |section: &str| format!("{DEMO_TOML}\n[identity]\n{section}\n");
        let good = format!(
            "issuer = \"https://id.example.sa\"\nclient_id = \"dawr\"\nclient_secret_file = {:?}\n\
             redirect_uri = \"https://book.example.sa/signin/callback\"",
            secret.display().to_string()
        );
        let site = SiteConfig::parse(&with(&good), Path::new("s.toml")).unwrap().site().unwrap();
        let identity = site.identity.expect("on");
        assert_eq!((identity.client_secret.as_str(), identity.national_id_claim.as_str()), ("s3cret", "national_id"));
        assert!(!format!("{identity:?}").contains("s3cret"), "the secret is never logged");
        assert!(SiteConfig::demo().site().unwrap().identity.is_none(), "off by default");
        let bad = |from: &str, to: &str| {
            let text = with(&good.replace(from, to));
            SiteConfig::parse(&text, Path::new("s.toml")).unwrap_err().to_string()
        };
        let lines = DEMO_TOML.lines().count();
        let issuer = bad("https://id.example.sa", "http://id.example.sa");
        assert!(
            issuer.starts_with(&format!("s.toml:{}:", lines + 3)) && issuer.contains("[identity] issuer"),
            "{issuer}"
        );
        let file = bad(&secret.display().to_string(), "/nonexistent/secret");
        assert!(file.contains("[identity] client_secret_file") && file.contains("cannot read"), "{file}");
        assert!(bad("client_id = \"dawr\"", "client_id = \"\"").contains("[identity] client_id"));
        assert!(bad("redirect_uri", "redirect_url").contains("unknown field"));
    }
}
