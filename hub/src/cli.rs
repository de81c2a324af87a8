//! The `dawr-hub` command line: flags, the configuration file, logging, signals.
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use dawr_web::start;

use crate::app::{self, HttpTls, MqttMode, Settings};
use crate::bookings::{Link, Window};
use crate::config::Config;
use dawr_protocol::endpoint::MqttEndpoint;

/// Dawr branch hub: tickets, routing, devices over MQTT, the HTTP API.
///
/// Without --config it runs the built-in demo branch. Flags override the file's [hub] settings.
#[derive(Debug, Parser)]
#[command(name = "dawr-hub", version)]
pub struct Args {
    #[command(subcommand)]
    pub command: Option<crate::device_cli::Command>,
    /// Address for the HTTP API [default: 127.0.0.1:8080]
    #[arg(long, value_name = "ADDR")]
    pub http: Option<SocketAddr>,
    /// Serve only the visitors' ticket pages (`/t/{token}`) on this address as well, for a
    /// reverse proxy to publish; the API, dashboard and device pages answer 404 there
    #[arg(long, value_name = "ADDR")]
    pub public_http: Option<SocketAddr>,
    /// Another host name the hub answers to (repeatable); IP addresses, localhost and the
    /// public URL's host always are
    #[arg(long = "allowed-host", value_name = "HOST")]
    pub allowed_hosts: Vec<String>,
    /// HTTPS on the --http listener with this certificate (PEM: the server's first, then any
    /// intermediates); needs --tls-key
    #[arg(long, value_name = "FILE", requires = "tls_key", conflicts_with = "tls_branch_cert")]
    pub tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// HTTPS on the --http listener with the branch certificate (made in DATA_DIR/tls for
    /// localhost, 127.0.0.1 and each --mqtt-tls-name; `dawr-hub tls ca-cert` prints its CA)
    #[arg(long)]
    pub tls_branch_cert: bool,
    /// Seconds a client has to send a request's head before its connection is closed [default: 10]
    #[arg(long, value_name = "SECONDS")]
    pub header_timeout_s: Option<f64>,
    /// The most HTTP connections open at once, per listener [default: 1024]
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,
    /// Address for the embedded MQTT broker [default: 127.0.0.1:1883]
    #[arg(long, value_name = "ADDR", conflicts_with = "mqtt_url")]
    pub mqtt_listen: Option<SocketAddr>,
    /// MQTT over TLS for devices (mqtts://), in front of the embedded broker, with the branch CA
    /// made in DATA_DIR/tls on first start; `off` for none. Plain MQTT stays for loopback and
    /// devices that cannot do TLS [default: 127.0.0.1:8883]
    #[arg(long, value_name = "ADDR|off", conflicts_with = "mqtt_url")]
    pub mqtt_tls_listen: Option<String>,
    /// A host name or address devices reach the hub by, for the MQTT server certificate (besides
    /// localhost and 127.0.0.1); repeat for more
    #[arg(long = "mqtt-tls-name", value_name = "NAME")]
    pub mqtt_tls_names: Vec<String>,
    /// Use an external MQTT broker instead of the embedded one: mqtt://[user[:password]@]host[:port]
    /// or mqtts://… (the hub's own login is otherwise dawr-hub-<branch>)
    #[arg(long, value_name = "URL")]
    pub mqtt_url: Option<String>,
    /// For an mqtts:// broker: the CA certificate (PEM) its certificate chains to
    #[arg(long, value_name = "FILE")]
    pub mqtt_ca_file: Option<PathBuf>,
    /// Where the SQLite database is kept [default: data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The branch configuration (TOML); see hub/demo-branch.toml
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Base URL of the live ticket page links [default: http://<http address>]
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Deliver every case event to this CRM webhook URL (signed; see docs/PROTOCOL.md)
    #[arg(long, value_name = "URL")]
    pub crm_url: Option<String>,
    /// The CRM webhook's shared HMAC secret
    #[arg(long, value_name = "SECRET", env = "DAWR_CRM_SECRET", hide_env_values = true)]
    pub crm_secret: Option<String>,
    /// The password of the branch's NATS login for the uplink to the centre ([uplink] password)
    #[arg(long, value_name = "SECRET", env = "DAWR_UPLINK_PASSWORD", hide_env_values = true)]
    pub uplink_password: Option<String>,
    /// The SMSC's bind password ([sms] password)
    #[arg(long, value_name = "SECRET", env = "DAWR_SMS_PASSWORD", hide_env_values = true)]
    pub sms_password: Option<String>,
    /// The bearer token a Prometheus server on another machine sends to read /metrics (without
    /// it only the hub's own machine reads /metrics)
    #[arg(long, value_name = "SECRET", env = "DAWR_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Log lines as text, or as one JSON object a line (for a log collector)
    #[arg(long, value_name = "FORMAT", value_enum, env = "DAWR_LOG_FORMAT", default_value_t = start::LogFormat::Text)]
    pub log_format: start::LogFormat,
    /// Print the argon2 hash of a PIN for a `pin_hash` in the branch file, and exit
    #[arg(long, value_name = "PIN")]
    pub hash_pin: Option<String>,
    /// The appointments site to pull this branch's bookings from, e.g. https://appointments.example.sa
    #[arg(long, value_name = "URL")]
    pub appointments_url: Option<String>,
    /// This branch's API key on the appointments site
    #[arg(long, value_name = "KEY", env = "DAWR_APPOINTMENTS_KEY")]
    pub appointments_key: Option<String>,
    /// For an https:// appointments site whose certificate chains to a private CA: that CA (PEM)
    #[arg(long, value_name = "FILE")]
    pub appointments_ca_file: Option<PathBuf>,
    /// The appointments site's public key (base64, as it logs it at start): bookings whose QR
    /// token it signed check in even when never pulled; repeat for several; adds to the file's
    /// [appointments] booking_keys
    #[arg(long = "booking-key", value_name = "BASE64")]
    pub booking_keys: Vec<String>,
    /// For an https:// CRM webhook whose certificate chains to a private CA: that CA (PEM)
    #[arg(long, value_name = "FILE")]
    pub crm_ca_file: Option<PathBuf>,
    /// How often to pull bookings and retry reports, in seconds [default: 5]
    #[arg(long, value_name = "SECONDS")]
    pub appointments_poll_s: Option<f64>,
    /// For tests: shift the hub's clock by this many seconds (e.g. to start just before midnight)
    #[arg(long, value_name = "SECONDS", env = "DAWR_CLOCK_OFFSET_S", hide = true, allow_hyphen_values = true)]
    pub clock_offset_s: Option<f64>,
}

/// `--mqtt-tls-listen`'s value: an address, or `off`.
fn tls_listen(value: &str) -> Result<Option<SocketAddr>, String> {
    match value.trim() {
        "off" | "" => Ok(None),
        addr => addr
            .parse()
            .map(Some)
            .map_err(|_| format!("--mqtt-tls-listen {addr:?}: an address like 127.0.0.1:8883, or off")),
    }
}

/// Reads the flags and the configuration into settings.
pub fn settings(args: Args) -> Result<Settings, String> {
    if let Some(offset) = args.clock_offset_s {
        crate::clock::set_offset_s(offset).map_err(|e| e.to_string())?;
    }
    let demo = args.config.is_none();
    let config = match &args.config {
        Some(path) => Config::load(path).map_err(|e| e.to_string())?,
        None => Config::demo(),
    };
    let branch = config.branch().map_err(|e| e.to_string())?;
    let retention = config.retention.retention()?;
    if !demo {
        refuse_demo_secrets(&branch, args.appointments_key.as_deref().or(config.appointments.api_key.as_deref()))?;
    }
    // The demo keeps its four-digit manager PIN; a real branch's managers need six digits.
    let sign_in = config.sign_in.rules(if demo { 4 } else { 6 })?;
    let file = config.clone();
    let hub = config.hub;
    let http = args.http.unwrap_or(hub.http);
    let http_tls = http_tls(
        args.tls_cert.or(hub.tls_cert.clone()),
        args.tls_key.or(hub.tls_key.clone()),
        args.tls_branch_cert || hub.tls_branch_cert,
    )?;
    let external = |url: &str| -> Result<MqttMode, String> {
        let endpoint = MqttEndpoint::parse(url).map_err(|e| e.to_string())?;
        let endpoint = endpoint.with_ca_file(args.mqtt_ca_file.clone().or(hub.mqtt_ca_file.clone()));
        if endpoint.tls && endpoint.ca_file.is_none() {
            return Err(format!(
                "{endpoint}: an mqtts:// broker needs --mqtt-ca-file (the CA its certificate chains to)"
            ));
        }
        Ok(MqttMode::External(endpoint))
    };
    let mqtt = match (&args.mqtt_url, args.mqtt_listen) {
        (Some(url), _) => external(url)?,
        (None, Some(listen)) => MqttMode::Embedded(listen),
        (None, None) => match &hub.mqtt_url {
            Some(url) => external(url)?,
            None => MqttMode::Embedded(hub.mqtt_listen),
        },
    };
    // TLS in front of the embedded broker only: an external broker (Mosquitto) ends TLS itself.
    let mqtt_tls = match &mqtt {
        MqttMode::Embedded(_) => tls_listen(args.mqtt_tls_listen.as_deref().unwrap_or(&hub.mqtt_tls_listen))?,
        MqttMode::External(_) => None,
    };
    let mut mqtt_tls_names = hub.mqtt_tls_names.clone();
    mqtt_tls_names.extend(args.mqtt_tls_names.iter().cloned());
    let scheme = if http_tls.is_some() { "https" } else { "http" };
    let public_url = args.public_url.or(hub.public_url).unwrap_or_else(|| format!("{scheme}://{http}"));
    let a = config.appointments;
    let minutes = |m: f64| (m * 60.0).round().max(0.0) as i64;
    let window = Window { early_s: minutes(a.checkin_early_min), late_s: minutes(a.checkin_late_min) };
    let booking_keys = a
        .booking_keys
        .iter()
        .chain(&args.booking_keys)
        .map(|text| {
            dawr_protocol::booking_token::parse_public_key(text)
                .map_err(|e| format!("[appointments] booking key {text:?}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let poll_s = args.appointments_poll_s.unwrap_or(a.poll_s);
    if !(0.05..=3600.0).contains(&poll_s) {
        return Err(format!("the appointments poll interval {poll_s} s is not between 0.05 and 3600"));
    }
    let appointments_ca = args.appointments_ca_file.or(a.ca_file);
    let link = match (args.appointments_url.or(a.url), args.appointments_key.or(a.api_key)) {
        (Some(url), Some(api_key)) => {
            crate::outbound::check_url("appointments", &url)?;
            Some(Link { url, api_key, poll: std::time::Duration::from_secs_f64(poll_s), ca_file: appointments_ca })
        }
        (None, None) => None,
        _ => return Err("the appointments site needs both a URL and the branch's API key".into()),
    };
    let c = config.crm;
    let crm_ca = args.crm_ca_file.or(c.ca_file);
    let crm = match (args.crm_url.or(c.webhook_url), args.crm_secret.or(c.secret)) {
        (Some(url), _) if crate::outbound::check_url("CRM", &url).is_err() => {
            return Err(crate::outbound::check_url("CRM", &url).unwrap_err());
        }
        (Some(url), Some(secret)) if !secret.is_empty() => Some(crate::crm::CrmLink {
            url,
            secret,
            timeout: std::time::Duration::from_secs_f64(c.timeout_s.clamp(0.1, 120.0)),
            max_backoff: std::time::Duration::from_secs_f64(c.max_backoff_s.clamp(0.1, 3600.0)),
            ca_file: crm_ca,
        }),
        (Some(_), _) => return Err("the CRM webhook needs a secret ([crm] secret or DAWR_CRM_SECRET)".into()),
        (None, _) => None,
    };
    let uplink = uplink_link(config.uplink, args.uplink_password)?;
    let alerts = alert_settings(&config.alerts)?;
    let sms = sms_settings(config.sms, args.sms_password)?;
    let mut limits = dawr_web::serve::Limits::default();
    if let Some(s) = args.header_timeout_s {
        if !(0.1..=600.0).contains(&s) {
            return Err(format!("--header-timeout-s {s} is not between 0.1 and 600"));
        }
        limits.header_timeout = std::time::Duration::from_secs_f64(s);
    }
    if let Some(n) = args.max_connections {
        if n < 8 {
            return Err(format!("--max-connections {n} is fewer than 8"));
        }
        limits.max_connections = n;
    }
    Ok(Settings {
        http,
        http_tls,
        public_http: args.public_http.or(hub.public_http),
        allowed_hosts: [hub.allowed_hosts, args.allowed_hosts].concat(),
        limits,
        mqtt,
        mqtt_tls,
        mqtt_tls_names,
        data_dir: args.data_dir.unwrap_or(hub.data_dir),
        public_url,
        branch,
        file,
        appointments: link,
        checkin_window: window,
        booking_keys,
        crm,
        uplink,
        sms,
        alerts,
        retention,
        sign_in,
        metrics_token: args.metrics_token.filter(|t| !t.trim().is_empty()),
        demo,
    })
}

/// `[alerts]` as the job runs it (checked).
fn alert_settings(c: &crate::config::AlertsSection) -> Result<crate::alerts::AlertSettings, String> {
    let within = |name: &str, value: f64, low: f64, high: f64| {
        if (low..=high).contains(&value) {
            Ok(value)
        } else {
            Err(format!("[alerts] {name} {value} is not between {low} and {high}"))
        }
    };
    let minutes =
        |name: &str, value: f64| within(name, value, 0.0, 7.0 * 24.0 * 60.0).map(|m| (m * 60.0).round() as i64);
    let lang = dawr_web::html::parse_lang(Some(&c.lang))
        .ok_or_else(|| format!("[alerts] lang {:?} is not ar or en", c.lang))?;
    let sms_to = c
        .sms_to
        .iter()
        .map(|m| {
            crate::sms::rules::saudi_mobile(m).ok_or_else(|| format!("[alerts] sms_to {m:?} is not a Saudi mobile"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let smtp = match &c.smtp {
        None => None,
        Some(address) => {
            let (host, port) = address
                .rsplit_once(':')
                .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
                .ok_or_else(|| format!("[alerts] smtp {address:?} is not host:port"))?;
            let from = c.smtp_from.parse().map_err(|e| format!("[alerts] smtp_from {:?}: {e}", c.smtp_from))?;
            let login = match &c.smtp_username {
                Some(user) => {
                    let password = std::env::var(&c.smtp_password_env)
                        .map_err(|_| format!("[alerts] smtp_username needs the password in {}", c.smtp_password_env))?;
                    Some((user.clone(), password))
                }
                None => None,
            };
            Some(crate::alerts::mail::Smtp {
                host,
                port,
                security: c.smtp_security,
                from,
                login,
                ca_file: c.smtp_ca_file.clone(),
            })
        }
    };
    Ok(crate::alerts::AlertSettings {
        every: std::time::Duration::from_secs_f64(within("check_every_s", c.check_every_s, 0.2, 600.0)?),
        rules: crate::alerts::watch::Rules {
            paused_max_s: minutes("paused_max_min", c.paused_max_min)?,
            escalation_warn_s: minutes("escalation_warn_min", c.escalation_warn_min)?,
            quiet_s: minutes("quiet_min", c.quiet_min)?,
        },
        sms_to,
        email_to: c.email_to.clone(),
        lang,
        smtp,
    })
}

/// `[sms]` as the sender runs it (checked), or `None` without an SMSC.
fn sms_settings(
    c: crate::config::SmsSection,
    password: Option<String>,
) -> Result<Option<crate::sms::SmsSettings>, String> {
    use dawr_smpp::config::{Gateway, seconds, within};
    let link = match c.gateway().map_err(|e| e.to_string())? {
        Gateway::Off => return Ok(None),
        Gateway::Https => crate::sms::Link::Https(https_link(
            &c,
            seconds("https_timeout_s", c.https_timeout_s, 0.1, 300.0).map_err(|e| e.to_string())?,
        )?),
        Gateway::Smsc(address) => crate::sms::Link::Smpp(crate::sms::SmppLink {
            session: c.session(address, password).map_err(|e| e.to_string())?,
            source: c.sender.clone(),
            max_reconnect: seconds("max_reconnect_s", c.max_reconnect_s, 0.1, 3600.0).map_err(|e| e.to_string())?,
        }),
    };
    let sender = || -> Result<crate::sms::SmsSettings, dawr_smpp::config::SmsConfigError> {
        Ok(crate::sms::SmsSettings {
            link,
            messages_per_second: within("messages_per_second", c.messages_per_second, 0.1, 10_000.0)?,
            max_backoff: c.max_backoff()?,
            expire_after: seconds("expire_after_min", c.expire_after_min, 0.1, 7.0 * 24.0 * 60.0)?.mul_f64(60.0),
            notify_ahead: within("notify_ahead", c.notify_ahead as f64, 0.0, 100.0)? as u32,
            price: crate::sms::report::Price {
                per_part: within("price_per_part", c.price_per_part, 0.0, 1000.0)?,
                currency: c.currency.clone(),
            },
        })
    };
    sender().map(Some).map_err(|e| e.to_string())
}

/// The HTTPS provider's settings from `[sms]`: the URL, the body template (JSON), and the API
/// key read from the environment variable or the file named there.
fn https_link(c: &crate::config::SmsSection, timeout: std::time::Duration) -> Result<crate::sms::HttpsLink, String> {
    let url = c.https_url.clone().unwrap_or_default();
    crate::outbound::check_url("[sms] https_url", &url)?;
    let template = c.https_body.as_deref().ok_or("[sms] https_url needs https_body (the JSON body template)")?;
    let body: serde_json::Value =
        serde_json::from_str(template).map_err(|e| format!("[sms] https_body is not JSON: {e}"))?;
    if !template.contains("{{to}}") || !template.contains("{{text}}") {
        return Err("[sms] https_body must place {{to}} and {{text}}".into());
    }
    let api_key = match (&c.https_key_env, &c.https_key_file) {
        (Some(var), None) => std::env::var(var).map_err(|_| format!("[sms] https_key_env: {var} is not set"))?,
        (None, Some(path)) => std::fs::read_to_string(path)
            .map_err(|e| format!("[sms] https_key_file {}: {e}", path.display()))?
            .trim()
            .to_string(),
        _ => return Err("[sms] the HTTPS provider's key: give https_key_env or https_key_file (one of them)".into()),
    };
    if api_key.is_empty() {
        return Err("[sms] the HTTPS provider's key is empty".into());
    }
    let client = crate::outbound::client(timeout, c.https_ca_file.as_deref()).map_err(|e| format!("[sms] {e}"))?;
    Ok(crate::sms::HttpsLink {
        url,
        body,
        api_key,
        key_header: c.https_key_header.clone(),
        key_scheme: c.https_key_scheme.clone(),
        id_field: c.https_id_field.clone(),
        sender: c.sender.clone(),
        timeout,
        client,
    })
}

/// HTTPS on the hub's listener, from the flags or the file: a certificate and key, or the
/// branch certificate; both at once, or half a pair, is a mistake.
fn http_tls(cert: Option<PathBuf>, key: Option<PathBuf>, branch: bool) -> Result<Option<HttpTls>, String> {
    match (cert, key, branch) {
        (None, None, false) => Ok(None),
        (None, None, true) => Ok(Some(HttpTls::BranchCertificate)),
        (Some(cert), Some(key), false) => Ok(Some(HttpTls::Files { cert, key })),
        (Some(_), Some(_), true) => {
            Err("HTTPS: give a certificate and key (tls_cert, tls_key) or the branch certificate, not both".into())
        }
        _ => Err("HTTPS: tls_cert and tls_key go together".into()),
    }
}

/// A real branch (`--config`) may not run with the demo's published secrets.
fn refuse_demo_secrets(branch: &crate::domain::Branch, appointments_key: Option<&str>) -> Result<(), String> {
    let holders = crate::auth::pins::with_demo_pins(&branch.staff);
    if !holders.is_empty() {
        return Err(format!(
            "the PINs of {} are the demo's, which are published: give each a new one (dawr-hub --hash-pin PIN)",
            holders.join(", ")
        ));
    }
    if appointments_key == Some(DEMO_BRANCH_KEY) {
        return Err(format!(
            "the appointments API key is the demo's ({DEMO_BRANCH_KEY:?}): use the key the site's operator issued this branch"
        ));
    }
    Ok(())
}

/// The demo branch's published key on the demo appointments site.
pub const DEMO_BRANCH_KEY: &str = "demo-branch-key";

/// `dawr-hub`'s main function.
pub fn main() -> ExitCode {
    // rumqttd logs every client disconnect as an error, the certificate verifier every refused
    // certificate; the hub reports broker and link trouble itself (once, with the cause).
    let mut args = Args::parse();
    start::init_tracing_as("info,rumqttd=off,rumqttc=warn,rustls_platform_verifier=off", args.log_format);
    if let Some(command) = args.command.take() {
        return match crate::device_cli::run(command) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                // `check-config` reports each mistake on a line of its own.
                for line in e.to_string().lines() {
                    eprintln!("dawr-hub: {line}");
                }
                ExitCode::FAILURE
            }
        };
    }
    if let Some(pin) = &args.hash_pin {
        println!("{}", crate::auth::hash_pin(pin));
        return ExitCode::SUCCESS;
    }
    let file = args.config.clone();
    match settings(args) {
        Ok(settings) => start::run("dawr-hub", |shutdown| app::run(settings, shutdown)),
        Err(e) => match file {
            Some(file) => start::usage_error("dawr-hub", in_file(&file, e)),
            None => start::usage_error("dawr-hub", e),
        },
    }
}

/// The uplink to the centre `[uplink]` describes (none without `nats_url`), every setting within
/// its limits; `password` (the flag or `DAWR_UPLINK_PASSWORD`) before the file's.
fn uplink_link(
    u: crate::config::UplinkSection,
    password: Option<String>,
) -> Result<Option<crate::uplink::UplinkLink>, String> {
    let Some(url) = u.nats_url else { return Ok(None) };
    if !(url.starts_with("nats://") || url.starts_with("tls://")) {
        return Err(format!("[uplink] nats_url {url:?}: a nats:// or tls:// URL"));
    }
    if !(0.5..=3600.0).contains(&u.live_every_s) {
        return Err(format!("[uplink] live_every_s {} is not between 0.5 and 3600", u.live_every_s));
    }
    if !(0.2..=3600.0).contains(&u.config_every_s) {
        return Err(format!("[uplink] config_every_s {} is not between 0.2 and 3600", u.config_every_s));
    }
    if !(1.0..=3600.0).contains(&u.max_backoff_s) {
        return Err(format!("[uplink] max_backoff_s {} is not between 1 and 3600", u.max_backoff_s));
    }
    Ok(Some(crate::uplink::UplinkLink {
        user: u.user,
        password: password.or(u.password),
        live_every: std::time::Duration::from_secs_f64(u.live_every_s),
        config_every: std::time::Duration::from_secs_f64(u.config_every_s),
        max_backoff: std::time::Duration::from_secs_f64(u.max_backoff_s),
        ..crate::uplink::UplinkLink::new(url)
    }))
}

/// A mistake in the branch file's settings, naming the file (a parse error names it already).
pub fn in_file(file: &std::path::Path, error: String) -> String {
    let name = file.display().to_string();
    if error.starts_with(&name) || error.starts_with("cannot read") { error } else { format!("{name}: {error}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_file_and_an_external_broker_replaces_the_embedded_one() {
        let args = Args::try_parse_from([
            "dawr-hub",
            "--http",
            "127.0.0.1:9000",
            "--mqtt-url",
            "mqtt://127.0.0.1:1999",
            "--data-dir",
            "/tmp/x",
        ])
        .unwrap();
        let s = settings(args).unwrap();
        assert_eq!(s.http.port(), 9000);
        assert_eq!(s.mqtt, MqttMode::External(MqttEndpoint::parse("mqtt://127.0.0.1:1999").unwrap()));
        assert_eq!(s.mqtt_tls, None, "an external broker ends TLS itself");
        assert_eq!(s.public_url, "http://127.0.0.1:9000");
        assert_eq!(s.branch.id, "demo");
        let s = settings(Args::try_parse_from(["dawr-hub"]).unwrap()).unwrap();
        assert_eq!(s.mqtt, MqttMode::Embedded("127.0.0.1:1883".parse().unwrap()));
        assert_eq!(s.mqtt_tls, Some("127.0.0.1:8883".parse().unwrap()), "the demo listens for mqtts on 8883");
        let off =
            Args::try_parse_from(["dawr-hub", "--mqtt-tls-listen", "off", "--mqtt-tls-name", "hub.local"]).unwrap();
        let s = settings(off).unwrap();
        assert_eq!((s.mqtt_tls, s.mqtt_tls_names), (None, vec!["hub.local".to_string()]));
        let bad = Args::try_parse_from(["dawr-hub", "--mqtt-tls-listen", "8883"]).unwrap();
        assert!(settings(bad).unwrap_err().contains("127.0.0.1:8883"));
        let no_ca = Args::try_parse_from(["dawr-hub", "--mqtt-url", "mqtts://broker.local"]).unwrap();
        assert!(settings(no_ca).unwrap_err().contains("--mqtt-ca-file"));
        let args = Args::try_parse_from(["dawr-hub", "tls", "ca-cert", "--data-dir", "/tmp/x"]).unwrap();
        assert!(matches!(
            args.command,
            Some(crate::device_cli::Command::Tls { command: crate::device_cli::TlsCommand::CaCert { .. } })
        ));
        assert!(Args::try_parse_from(["dawr-hub", "--mqtt-url", "mqtt://a", "--mqtt-listen", "127.0.0.1:1"]).is_err());
        let bad = Args::try_parse_from(["dawr-hub", "--mqtt-url", "http://a"]).unwrap();
        assert!(settings(bad).unwrap_err().contains("not an MQTT URL"));
        let linked = Args::try_parse_from([
            "dawr-hub",
            "--appointments-url",
            "http://127.0.0.1:8090",
            "--appointments-key",
            "k",
            "--appointments-poll-s",
            "1",
        ])
        .unwrap();
        let s = settings(linked).unwrap();
        assert_eq!(s.appointments.unwrap().poll, std::time::Duration::from_secs(1));
        assert_eq!(s.checkin_window, Window { early_s: 1800, late_s: 900 });
        assert!(s.booking_keys.is_empty());
        let half = Args::try_parse_from(["dawr-hub", "--appointments-url", "http://127.0.0.1:8090"]).unwrap();
        assert!(settings(half).unwrap_err().contains("API key"));
        let tls = Args::try_parse_from([
            "dawr-hub",
            "--appointments-url",
            "https://x",
            "--appointments-key",
            "k",
            "--appointments-ca-file",
            "/branch/ca.pem",
        ])
        .unwrap();
        let link = settings(tls).unwrap().appointments.unwrap();
        assert_eq!((link.url.as_str(), link.ca_file), ("https://x", Some(PathBuf::from("/branch/ca.pem"))));
        let ftp = Args::try_parse_from(["dawr-hub", "--crm-url", "ftp://x", "--crm-secret", "s"]).unwrap();
        assert!(settings(ftp).unwrap_err().contains("http:// or https://"));
    }

    #[test]
    fn the_uplinks_back_off_is_thirty_seconds_unless_the_file_sets_it_within_its_limits() {
        let section = |text: &str| -> crate::config::UplinkSection { toml::from_str(text).unwrap() };
        let url = "nats_url = \"nats://centre:4222\"\n";
        let link = uplink_link(section(url), None).unwrap().unwrap();
        assert_eq!(link.max_backoff, std::time::Duration::from_secs(30));
        let link = uplink_link(section(&format!("{url}max_backoff_s = 300")), None).unwrap().unwrap();
        assert_eq!(link.max_backoff, std::time::Duration::from_secs(300));
        for bad in ["0.5", "3601"] {
            let e = uplink_link(section(&format!("{url}max_backoff_s = {bad}")), None).unwrap_err();
            assert_eq!(e, format!("[uplink] max_backoff_s {bad} is not between 1 and 3600"));
        }
        assert!(uplink_link(section("max_backoff_s = 0"), None).unwrap().is_none(), "off without nats_url");
    }

    #[test]
    fn https_is_a_certificate_and_key_or_the_branch_certificate_and_makes_the_public_url_https() {
        let s = settings(Args::try_parse_from(["dawr-hub", "--tls-branch-cert"]).unwrap()).unwrap();
        assert_eq!((s.http_tls, s.public_url.as_str()), (Some(HttpTls::BranchCertificate), "https://127.0.0.1:8080"));
        let files = Args::try_parse_from(["dawr-hub", "--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert_eq!(
            settings(files).unwrap().http_tls,
            Some(HttpTls::Files { cert: "c.pem".into(), key: "k.pem".into() })
        );
        assert!(Args::try_parse_from(["dawr-hub", "--tls-cert", "c.pem"]).is_err(), "a key is needed");
        assert!(Args::try_parse_from(["dawr-hub", "--tls-cert", "c", "--tls-key", "k", "--tls-branch-cert"]).is_err());
        assert!(http_tls(Some("c".into()), None, false).unwrap_err().contains("together"));
        assert!(settings(Args::try_parse_from(["dawr-hub"]).unwrap()).unwrap().http_tls.is_none());
    }

    #[test]
    fn a_branch_file_with_the_demos_secrets_is_refused_and_the_demo_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("branch.toml");
        let run = |text: &str, extra: &[&str]| {
            std::fs::write(&file, text).unwrap();
            let mut args = vec!["dawr-hub", "--config", file.to_str().unwrap()];
            args.extend_from_slice(extra);
            settings(Args::try_parse_from(args).unwrap())
        };
        let demo = crate::config::DEMO_TOML;
        let pins = run(demo, &[]).unwrap_err();
        assert!(pins.contains("s101, s102, s103, m001") && pins.contains("demo"), "{pins}");
        let mut fresh = demo.to_string();
        for (i, line) in demo.lines().filter(|l| l.starts_with("pin_hash")).enumerate() {
            fresh = fresh.replace(line, &format!("pin_hash = \"{}\"", hash_pin_for_test(i)));
        }
        let short = run(&fresh, &[]).unwrap_err();
        assert!(short.contains("manager_pin_digits = 4") && short.contains("6 digits"), "{short}");
        let fresh = fresh.replace("manager_pin_digits = 4", "manager_pin_digits = 6");
        let key = ["--appointments-url", "http://127.0.0.1:8090", "--appointments-key", DEMO_BRANCH_KEY];
        assert!(run(&fresh, &key).unwrap_err().contains("demo"), "the demo site's key");
        let real = run(&fresh, &[]).unwrap();
        assert!(!real.demo && real.sign_in.manager_pin_digits == 6);
        assert!(settings(Args::try_parse_from(["dawr-hub"]).unwrap()).unwrap().demo, "no --config: the demo");
    }

    #[test]
    fn an_https_provider_needs_its_template_and_a_key_from_outside_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("sms.key");
        std::fs::write(&key, "sk-1\n").unwrap();
        let section = |extra: &str| -> crate::config::SmsSection {
            toml::from_str(&format!(
                "https_url = \"https://sms.example.sa/send\"\nhttps_body = '{{\"to\":\"{{{{to}}}}\",\"text\":\"{{{{text}}}}\"}}'\n{extra}"
            ))
            .unwrap()
        };
        let with_file = section(&format!("https_key_file = {:?}\nprice_per_part = 0.05", key.display().to_string()));
        let settings = sms_settings(with_file, None).unwrap().unwrap();
        let crate::sms::Link::Https(link) = &settings.link else { panic!("{:?}", settings.link) };
        assert_eq!((link.api_key.as_str(), link.key_header.as_str()), ("sk-1", "Authorization"));
        assert_eq!(settings.price.per_part, 0.05);
        let no_key = sms_settings(section(""), None).unwrap_err();
        assert!(no_key.contains("https_key_env or https_key_file"), "{no_key}");
        let unset = sms_settings(section("https_key_env = \"DAWR_TEST_UNSET_SMS_KEY\""), None).unwrap_err();
        assert!(unset.contains("is not set"), "{unset}");
        let both = section(&format!("https_key_file = {:?}\nsmsc = \"127.0.0.1:2775\"", key.display().to_string()));
        assert!(sms_settings(both, None).unwrap_err().contains("not both"));
        let mut bad = section(&format!("https_key_file = {:?}", key.display().to_string()));
        bad.https_body = Some("{\"to\":".into());
        assert!(sms_settings(bad, None).unwrap_err().contains("not JSON"));
        assert!(sms_settings(crate::config::SmsSection::default(), None).unwrap().is_none(), "off by default");
    }

    fn hash_pin_for_test(i: usize) -> String {
        crate::auth::hash_pin(&format!("97531{i}"))
    }
}
