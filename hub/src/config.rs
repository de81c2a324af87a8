//! The branch's TOML configuration file, and the demo branch used when none is given.
//!
//! `demo-branch.toml` (beside this crate's `Cargo.toml`) is both the built-in demo and the
//! documented example of every setting.
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chrono::{FixedOffset, NaiveTime};
use dawr_protocol::api::Names;
use dawr_web::config::{FileError, parse_toml, read_toml};
use serde::{Deserialize, Serialize};

use crate::domain::{
    Branch, BranchError, CasePolicy, Counter, RemoteJoin, RemotePolicy, Role, RoutingPolicy, Service, Staff,
};

/// The demo branch's configuration, built into the binary.
pub const DEMO_TOML: &str = include_str!("../demo-branch.toml");

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    File(#[from] FileError),
    #[error("utc_offset {0:?} is not like +03:00")]
    BadOffset(String),
    #[error("[branch] closes = {0:?} is not a time like \"16:00\"")]
    BadClosingTime(String),
    #[error("[remote] grace_min = {0} must be above 0 and at most 120 (fractions are fine)")]
    BadGrace(f64),
    #[error("{0}")]
    Branch(#[from] BranchError),
    #[error("format {0} is not one this hub reads (1)")]
    Format(u32),
    #[error("the configuration is for branch {pushed:?}, not {this:?}")]
    OtherBranch { pushed: String, this: String },
}

/// The part of a branch's configuration the ministry's centre manages and pushes down (KV
/// bucket `dawr_config`, key `{branch}`, as JSON; `dawr-central config push` reads it from TOML
/// with the branch file's section names): the branch's name and closing time, services (with
/// their target waits, the SLA, and joining from a phone), counters, staff with their PIN hashes,
/// routing, the rating window and the case targets. What stays the branch's own: its id, case prefix, UTC offset and every `[hub]`,
/// `[uplink]`, `[sms]`, … setting. The revision is the KV entry's.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CentreConfig {
    /// The document's format (1).
    #[serde(default = "format_one")]
    pub format: u32,
    /// The branch it is for (a configuration put under another branch's key is refused).
    pub branch: String,
    pub name: Names,
    /// The branch's closing time, local (`"16:00"`, as `[branch] closes`); absent: the branch
    /// file's stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes: Option<String>,
    #[serde(default)]
    pub routing: RoutingSection,
    pub services: Vec<ServiceSection>,
    pub counters: Vec<CounterSection>,
    #[serde(default)]
    pub staff: Vec<StaffSection>,
    #[serde(default)]
    pub satisfaction: SatisfactionSection,
    #[serde(default)]
    pub cases: CasesSection,
}

fn format_one() -> u32 {
    1
}

impl CentreConfig {
    /// Reads the TOML form (the branch file's sections; `branch` and `name` at the top).
    pub fn from_toml(text: &str, path: &Path) -> Result<CentreConfig, ConfigError> {
        Ok(parse_toml(text, path)?)
    }

    /// The centre's part of a branch file (what `config push` starts from).
    pub fn of(config: &Config) -> CentreConfig {
        CentreConfig {
            format: 1,
            branch: config.branch.id.clone(),
            name: config.branch.name.clone(),
            closes: config.branch.closes.clone(),
            routing: config.routing.clone(),
            services: config.services.clone(),
            counters: config.counters.clone(),
            staff: config.staff.clone(),
            satisfaction: config.satisfaction.clone(),
            cases: config.cases.clone(),
        }
    }
}

/// The whole file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub hub: HubSettings,
    pub branch: BranchSection,
    #[serde(default)]
    pub routing: RoutingSection,
    pub services: Vec<ServiceSection>,
    pub counters: Vec<CounterSection>,
    #[serde(default)]
    pub staff: Vec<StaffSection>,
    #[serde(default)]
    pub satisfaction: SatisfactionSection,
    #[serde(default)]
    pub cases: CasesSection,
    #[serde(default)]
    pub crm: CrmSection,
    #[serde(default)]
    pub uplink: UplinkSection,
    #[serde(default)]
    pub sms: SmsSection,
    #[serde(default)]
    pub appointments: AppointmentsSection,
    #[serde(default)]
    pub retention: RetentionSection,
    #[serde(default)]
    pub sign_in: SignInSection,
    #[serde(default)]
    pub remote: RemoteSection,
    #[serde(default)]
    pub alerts: AlertsSection,
}

/// `[alerts]`: live alerts to the branch's managers, on the dashboard always and by SMS and
/// e-mail to the mobiles and addresses given (see `crate::alerts`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AlertsSection {
    /// How often the branch's state is looked at.
    pub check_every_s: f64,
    /// A condition is sent again at most once per this many minutes.
    pub quiet_min: f64,
    /// A counter paused longer than this is an alert.
    pub paused_max_min: f64,
    /// An open escalation due within this many minutes (or overdue) is an alert.
    pub escalation_warn_min: f64,
    /// The managers' mobiles (sent through `[sms]`'s gateway, when it has one).
    pub sms_to: Vec<String>,
    /// The managers' e-mail addresses (sent through `smtp`, when given).
    pub email_to: Vec<String>,
    /// The language of the SMS and of the e-mail's first half: `ar` or `en`.
    pub lang: String,
    /// The SMTP server's `host:port`; without it no e-mail is sent.
    pub smtp: Option<String>,
    /// `starttls` (the default), `tls` or `none`.
    pub smtp_security: crate::alerts::mail::Security,
    /// The sender's address.
    pub smtp_from: String,
    /// A login, if the server wants one; the password from the environment variable named.
    pub smtp_username: Option<String>,
    pub smtp_password_env: String,
    /// A private CA the server's certificate chains to.
    pub smtp_ca_file: Option<PathBuf>,
}

impl Default for AlertsSection {
    fn default() -> Self {
        AlertsSection {
            check_every_s: 10.0,
            quiet_min: 30.0,
            paused_max_min: 20.0,
            escalation_warn_min: 60.0,
            sms_to: Vec::new(),
            email_to: Vec::new(),
            lang: "ar".into(),
            smtp: None,
            smtp_security: crate::alerts::mail::Security::Starttls,
            smtp_from: "dawr@localhost".into(),
            smtp_username: None,
            smtp_password_env: "DAWR_SMTP_PASSWORD".into(),
            smtp_ca_file: None,
        }
    }
}

/// `[remote]`: joining the queue from a phone (`/join`), branch-wide. Which services are open
/// to it is each service's `remote`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RemoteSection {
    /// A remote ticket at the front whose holder has not checked in at the kiosk is passed over
    /// (and its holder told by SMS); this many minutes after that it is a no-show.
    pub grace_min: f64,
}

impl Default for RemoteSection {
    fn default() -> Self {
        RemoteSection { grace_min: 10.0 }
    }
}

/// A service's `remote = { open = true, … }`: visitors may join its line from a phone.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceRemoteSection {
    pub open: bool,
    /// Joining stops this many minutes before `[branch] closes`.
    #[serde(default = "default_until_close")]
    pub until_close_min: f64,
    /// The largest share of the service's waiting line remote tickets may hold, in percent.
    #[serde(default = "default_remote_share")]
    pub max_share_percent: u8,
}

fn default_until_close() -> f64 {
    30.0
}

fn default_remote_share() -> u8 {
    50
}

/// `[retention]`: how long personal data is kept (Saudi PDPL; see `crate::privacy`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionSection {
    /// Visitor IDs and mobiles, case notes and transfer notes are removed from visits (and
    /// their cases) this many days old. Timings, outcomes and ratings stay for the reports.
    pub personal_data_days: u32,
    /// The keyed hash of a visitor's ID (matching their earlier visits) is kept this long.
    pub visitor_match_days: u32,
}

impl Default for RetentionSection {
    fn default() -> Self {
        let r = crate::privacy::Retention::default();
        RetentionSection { personal_data_days: r.personal_days, visitor_match_days: r.match_days }
    }
}

impl RetentionSection {
    /// The validated setting.
    pub fn retention(&self) -> Result<crate::privacy::Retention, String> {
        let r =
            crate::privacy::Retention { personal_days: self.personal_data_days, match_days: self.visitor_match_days };
        r.check().map(|()| r)
    }
}

/// `[sign_in]`: how long PINs are and how long an unused session stays open.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SignInSection {
    /// The fewest digits of a staff member's PIN.
    pub staff_pin_digits: u8,
    /// The fewest digits of a manager's PIN (at least 6, except in the built-in demo).
    pub manager_pin_digits: u8,
    /// A session unused this many minutes ends (it ends 12 hours after sign-in anyway).
    pub idle_timeout_min: f64,
}

impl Default for SignInSection {
    fn default() -> Self {
        SignInSection { staff_pin_digits: 4, manager_pin_digits: 6, idle_timeout_min: 60.0 }
    }
}

impl SignInSection {
    /// The rules, checked: PINs of 4 to 32 digits, managers' of at least `manager_floor`, an
    /// idle timeout of 1 minute to 12 hours.
    pub fn rules(&self, manager_floor: u8) -> Result<crate::auth::SignInRules, String> {
        if !(4..=32).contains(&self.staff_pin_digits) {
            return Err(format!("[sign_in] staff_pin_digits = {} is not 4 to 32", self.staff_pin_digits));
        }
        if !(manager_floor..=32).contains(&self.manager_pin_digits) {
            return Err(format!(
                "[sign_in] manager_pin_digits = {}: a manager's PIN needs at least {manager_floor} digits",
                self.manager_pin_digits
            ));
        }
        if !(1.0..=720.0).contains(&self.idle_timeout_min) {
            return Err(format!("[sign_in] idle_timeout_min = {} is not 1 to 720", self.idle_timeout_min));
        }
        Ok(crate::auth::SignInRules {
            staff_pin_digits: self.staff_pin_digits,
            manager_pin_digits: self.manager_pin_digits,
            idle_timeout: chrono::Duration::seconds((self.idle_timeout_min * 60.0).round() as i64),
        })
    }
}

/// `[appointments]`: the appointments site this branch's bookings come from.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AppointmentsSection {
    /// The site's base URL; without it the hub holds no bookings (check-ins are refused).
    pub url: Option<String>,
    /// This branch's API key on the site.
    pub api_key: Option<String>,
    /// How often bookings are pulled and reports retried, in seconds.
    pub poll_s: f64,
    /// A booking may be checked in from this long before its slot…
    pub checkin_early_min: f64,
    /// …to this long after its start.
    pub checkin_late_min: f64,
    /// For an `https://` site whose certificate chains to a private CA: that CA (PEM), trusted
    /// besides the system's roots.
    pub ca_file: Option<PathBuf>,
    /// The site's Ed25519 public keys (base64): a booking's QR token signed with one of them
    /// checks in even if the hub never pulled the booking. Several while the site's key changes.
    pub booking_keys: Vec<String>,
}

impl Default for AppointmentsSection {
    fn default() -> Self {
        AppointmentsSection {
            url: None,
            api_key: None,
            poll_s: 5.0,
            checkin_early_min: 30.0,
            checkin_late_min: 15.0,
            ca_file: None,
            booking_keys: Vec::new(),
        }
    }
}

/// `[satisfaction]`: exit ratings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SatisfactionSection {
    /// How long after a visit ends its exit rating is accepted.
    pub rating_window_min: f64,
}

/// `[uplink]`: send the event log and the live state to the ministry's centre over NATS
/// JetStream (see `crate::uplink`). Off unless `nats_url` is set.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UplinkSection {
    /// The centre's NATS server, e.g. `nats://centre.example:4222` (a cluster's servers
    /// comma-separated: the uplink reaches any one of them).
    pub nats_url: Option<String>,
    /// The branch's NATS login (its account allows only this branch's subjects).
    pub user: Option<String>,
    /// Its password (or `DAWR_UPLINK_PASSWORD`).
    pub password: Option<String>,
    /// How often the live state is put in `dawr_live`, in seconds.
    pub live_every_s: f64,
    /// How often the branch's configuration at the centre (`dawr_config`) is read, in seconds.
    pub config_every_s: f64,
    /// The longest wait between two attempts to reach the centre, in seconds (the wait doubles
    /// from a quarter of a second up to this): 1 to 3600, 30 unless set.
    pub max_backoff_s: f64,
}

impl Default for UplinkSection {
    fn default() -> Self {
        UplinkSection {
            nats_url: None,
            user: None,
            password: None,
            live_every_s: 30.0,
            config_every_s: 5.0,
            max_backoff_s: 30.0,
        }
    }
}

/// `[crm]`: deliver every case event to the ministry's own CRM as signed webhooks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CrmSection {
    /// The CRM's webhook URL; without it nothing is delivered (Dawr's own case store only).
    pub webhook_url: Option<String>,
    /// The shared HMAC secret (or `DAWR_CRM_SECRET`).
    pub secret: Option<String>,
    /// How long one delivery may take.
    pub timeout_s: f64,
    /// The longest wait between retries.
    pub max_backoff_s: f64,
    /// For an `https://` webhook whose certificate chains to a private CA: that CA (PEM), trusted
    /// besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

impl Default for CrmSection {
    fn default() -> Self {
        CrmSection { webhook_url: None, secret: None, timeout_s: 10.0, max_backoff_s: 60.0, ca_file: None }
    }
}

/// `[sms]`: text messages to visitors through the operator's or aggregator's SMSC (SMPP 3.4,
/// a transceiver session), or an aggregator's HTTPS API (`https_url`). Off without either. The
/// section and its checks are `dawr_smpp::config`'s, shared with the appointment site; the hub
/// takes the keys of [`dawr_smpp::config::Hub`].
pub type SmsSection = dawr_smpp::config::SmsOf<dawr_smpp::config::Hub>;

/// `[cases]`: service levels of CRM cases.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CasesSection {
    /// A case left open after its visit (outcome follow-up or referred) is due this long after.
    pub resolution_target_h: f64,
    /// An escalation (exit rating 1 or 2) is due this long after the rating.
    pub escalation_target_h: f64,
}

impl Default for CasesSection {
    fn default() -> Self {
        CasesSection { resolution_target_h: 72.0, escalation_target_h: 24.0 }
    }
}

impl Default for SatisfactionSection {
    fn default() -> Self {
        SatisfactionSection { rating_window_min: 10.0 }
    }
}

/// `[hub]`: where the hub listens and keeps its data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HubSettings {
    pub http: SocketAddr,
    pub mqtt_listen: SocketAddr,
    /// MQTT over TLS in front of the embedded broker (`"off"` for none).
    pub mqtt_tls_listen: String,
    /// More host names or addresses for the MQTT server certificate (besides localhost and
    /// 127.0.0.1).
    pub mqtt_tls_names: Vec<String>,
    pub mqtt_url: Option<String>,
    /// The CA certificate an external `mqtts://` broker's certificate must chain to.
    pub mqtt_ca_file: Option<PathBuf>,
    pub data_dir: PathBuf,
    pub public_url: Option<String>,
    /// The visitors' listener (only `/t/{token}`), for a reverse proxy to publish.
    pub public_http: Option<SocketAddr>,
    /// More host names the hub answers to.
    pub allowed_hosts: Vec<String>,
    /// HTTPS on the `http` listener with this certificate (PEM; the chain, server's first)…
    pub tls_cert: Option<PathBuf>,
    /// …and its private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// HTTPS on the `http` listener with the branch certificate (`DATA_DIR/tls/`, made on first
    /// start, for localhost, 127.0.0.1 and `mqtt_tls_names`; `dawr-hub tls ca-cert` prints its CA).
    pub tls_branch_cert: bool,
}

impl Default for HubSettings {
    fn default() -> Self {
        HubSettings {
            http: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mqtt_listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            mqtt_tls_listen: "127.0.0.1:8883".into(),
            mqtt_tls_names: Vec::new(),
            mqtt_url: None,
            mqtt_ca_file: None,
            data_dir: PathBuf::from("data"),
            public_url: None,
            public_http: None,
            allowed_hosts: Vec::new(),
            tls_cert: None,
            tls_key: None,
            tls_branch_cert: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchSection {
    pub id: String,
    pub case_prefix: String,
    pub name: Names,
    #[serde(default = "default_offset")]
    pub utc_offset: String,
    /// The branch's closing time, local (`"16:00"`): remote joining stops before it.
    #[serde(default)]
    pub closes: Option<String>,
}

fn default_offset() -> String {
    "+03:00".into()
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutingSection {
    pub assisted_head_start_min: f64,
    pub appointment_head_start_min: f64,
    pub appointment_early_min: f64,
    pub transfer_head_start_min: f64,
    pub preference_step_min: f64,
}

impl Default for RoutingSection {
    fn default() -> Self {
        let p = RoutingPolicy::default();
        let min = |s: i64| s as f64 / 60.0;
        RoutingSection {
            assisted_head_start_min: min(p.assisted_head_start_s),
            appointment_head_start_min: min(p.appointment_head_start_s),
            appointment_early_min: min(p.appointment_early_s),
            transfer_head_start_min: min(p.transfer_head_start_s),
            preference_step_min: min(p.preference_step_s),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    pub code: String,
    pub name: Names,
    pub target_wait_min: f64,
    pub mean_service_min: f64,
    /// Joining from a phone; absent: closed to it.
    #[serde(default)]
    pub remote: Option<ServiceRemoteSection>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CounterSection {
    pub id: String,
    pub name: Names,
    pub services: Vec<String>,
    #[serde(default = "yes")]
    pub open: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaffSection {
    pub id: String,
    pub name: Names,
    /// `staff` (the default) or `manager`.
    #[serde(default)]
    pub role: Role,
    /// The PIN's argon2 hash, from `dawr-hub --hash-pin PIN`.
    #[serde(default)]
    pub pin_hash: Option<String>,
    #[serde(default)]
    pub counters: Vec<String>,
    /// The services this person may serve (their skills); left out: every service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<Vec<String>>,
}

impl Config {
    /// Reads a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let config: Self = read_toml(path)?;
        config.check()?;
        Ok(config)
    }

    /// The built-in demo branch.
    pub fn demo() -> Config {
        Self::parse(DEMO_TOML, Path::new("demo-branch.toml")).expect("the built-in demo configuration is valid")
    }

    /// Reads a configuration file's text (`path` for messages).
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = parse_toml(text, path)?;
        config.check()?;
        Ok(config)
    }

    fn check(&self) -> Result<(), ConfigError> {
        self.branch().map(drop)
    }

    /// This file with the centre's part replaced by `centre`, checked: the configuration a hub
    /// with a centre runs.
    pub fn with_centre(&self, centre: &CentreConfig) -> Result<Config, ConfigError> {
        if centre.format != 1 {
            return Err(ConfigError::Format(centre.format));
        }
        if centre.branch != self.branch.id {
            return Err(ConfigError::OtherBranch { pushed: centre.branch.clone(), this: self.branch.id.clone() });
        }
        let mut config = self.clone();
        config.branch.name = centre.name.clone();
        if centre.closes.is_some() {
            config.branch.closes = centre.closes.clone();
        }
        config.routing = centre.routing.clone();
        config.services = centre.services.clone();
        config.counters = centre.counters.clone();
        config.staff = centre.staff.clone();
        config.satisfaction = centre.satisfaction.clone();
        config.cases = centre.cases.clone();
        config.check()?;
        Ok(config)
    }

    /// The branch this file describes, validated.
    pub fn branch(&self) -> Result<Branch, ConfigError> {
        let seconds = |min: f64| (min * 60.0).round().max(0.0) as i64;
        let b = &self.branch;
        let branch = Branch {
            id: b.id.clone(),
            case_prefix: b.case_prefix.clone(),
            name: b.name.clone(),
            utc_offset: parse_offset(&b.utc_offset)?,
            services: self
                .services
                .iter()
                .map(|s| Service {
                    code: s.code.clone(),
                    name: s.name.clone(),
                    target_wait_s: seconds(s.target_wait_min) as u32,
                    mean_service_s: seconds(s.mean_service_min) as u32,
                    remote: s.remote.as_ref().filter(|r| r.open).map(|r| RemoteJoin {
                        until_close_s: seconds(r.until_close_min) as u32,
                        max_share_percent: r.max_share_percent,
                    }),
                })
                .collect(),
            counters: self
                .counters
                .iter()
                .map(|c| Counter {
                    id: c.id.clone(),
                    name: c.name.clone(),
                    services: c.services.clone(),
                    open_at_start: c.open,
                })
                .collect(),
            staff: self
                .staff
                .iter()
                .map(|s| Staff {
                    id: s.id.clone(),
                    name: s.name.clone(),
                    role: s.role,
                    pin_hash: s.pin_hash.clone(),
                    counters: s.counters.clone(),
                    services: s.services.clone(),
                })
                .collect(),
            routing: RoutingPolicy {
                assisted_head_start_s: seconds(self.routing.assisted_head_start_min),
                appointment_head_start_s: seconds(self.routing.appointment_head_start_min),
                appointment_early_s: seconds(self.routing.appointment_early_min),
                transfer_head_start_s: seconds(self.routing.transfer_head_start_min),
                preference_step_s: seconds(self.routing.preference_step_min),
            },
            rating_window_s: seconds(self.satisfaction.rating_window_min) as u32,
            cases: CasePolicy {
                resolution_target_s: (self.cases.resolution_target_h * 3600.0).round() as u32,
                escalation_target_s: (self.cases.escalation_target_h * 3600.0).round() as u32,
            },
            remote: RemotePolicy { grace_s: seconds(self.remote.grace_min) as u32, closes: self.closing_time()? },
        };
        if !(self.remote.grace_min > 0.0 && self.remote.grace_min <= 120.0) {
            return Err(ConfigError::BadGrace(self.remote.grace_min));
        }
        branch.validate()?;
        Ok(branch)
    }
}

impl Config {
    /// `[branch] closes`, read.
    fn closing_time(&self) -> Result<Option<NaiveTime>, ConfigError> {
        let Some(text) = self.branch.closes.as_deref() else { return Ok(None) };
        NaiveTime::parse_from_str(text.trim(), "%H:%M")
            .map(Some)
            .map_err(|_| ConfigError::BadClosingTime(text.to_string()))
    }
}

/// Reads `+03:00` / `-05:30`.
fn parse_offset(text: &str) -> Result<FixedOffset, ConfigError> {
    dawr_web::config::parse_offset(text).ok_or_else(|| ConfigError::BadOffset(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_branch_is_a_justice_ministry_center() {
        let branch = Config::demo().branch().unwrap();
        assert_eq!(branch.id, "demo");
        assert!(branch.services.len() >= 3);
        assert_eq!(&branch.services[..3].iter().map(|s| s.code.as_str()).collect::<Vec<_>>(), &["A", "B", "C"]);
        assert_eq!(branch.services[0].name.ar, "الوكالات");
        let ids: Vec<_> = branch.counters.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["1", "2", "3", "4", "5", "6", "7", "8"]);
        assert_eq!(branch.counters[0].services.len(), branch.services.len(), "counter 1 serves everything");
        assert_eq!(branch.utc_offset.local_minus_utc(), 3 * 3600);
        assert_eq!(branch.routing, RoutingPolicy::default());
    }

    #[test]
    fn mistakes_in_a_file_are_reported_with_their_place() {
        let broken = DEMO_TOML.replace("mean_service_min = 8", "mean_service_mins = 8");
        let err = Config::parse(&broken, Path::new("b.toml")).unwrap_err().to_string();
        assert!(err.starts_with("b.toml:") && err.contains("mean_service_mins"), "{err}");
        let broken = DEMO_TOML.replace(r#"services = ["A", "D"]"#, r#"services = ["A", "Q"]"#);
        let err = Config::parse(&broken, Path::new("b.toml")).unwrap_err().to_string();
        assert!(err.contains("unknown service \"Q\""), "{err}");
        assert!(parse_offset("03:00").is_err());
        assert_eq!(parse_offset("-05:30").unwrap().local_minus_utc(), -(5 * 3600 + 1800));
    }
}
