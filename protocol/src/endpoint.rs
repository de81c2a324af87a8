//! Where and how an MQTT client reaches the branch's broker: one type for every client in the
//! workspace (hub, kiosk, display board, counter app, button simulator, tests).
//!
//! An [`MqttEndpoint`] is read from a URL, `mqtt://[user[:password]@]host[:port]` (plain, port
//! 1883 by default) or `mqtts://…` (TLS, port 8883 by default), and carries the login (a
//! username and a password, given in the URL, as a password file or looked up in the demo's
//! credentials file) and, for `mqtts`, the CA certificate that signs the broker's certificate.
//! It builds `rumqttc` options: credentials, and TLS through
//! rustls with the `ring` provider and only the given CA as trust anchor.
//!
//! Reading the URL and choosing the login are pure; the few reads of files (password file, CA
//! certificate, demo credentials) are in small functions of their own.
use std::fmt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The plain MQTT port.
pub const MQTT_PORT: u16 = 1883;
/// The MQTT-over-TLS port.
pub const MQTTS_PORT: u16 = 8883;
/// Where the demo hub writes its devices' credentials, relative to the working directory.
pub const DEMO_DEVICES_FILE: &str = "data/demo-devices.toml";
/// The demo hub's CA certificate (its data directory is `data`), relative to the working
/// directory: what a device app started next to the demo hub trusts for `mqtts://` when given no
/// CA file.
pub const DEMO_CA_FILE: &str = "data/tls/ca.pem";

/// How a device app connects, as its settings give it: `--mqtt-url`, `--mqtt-username`,
/// `--mqtt-password-file`, `--mqtt-ca-file`, and its device id.
#[derive(Debug, Clone, Default)]
pub struct DeviceLogin<'a> {
    pub url: &'a str,
    pub device: &'a str,
    pub username: Option<&'a str>,
    pub password_file: Option<&'a Path>,
    pub ca_file: Option<&'a Path>,
}

impl DeviceLogin<'_> {
    /// The endpoint: the URL's login, else the username (default: the device id) with the
    /// password file, else the demo's credentials for the device when `data/demo-devices.toml`
    /// exists; for `mqtts` without a CA file, the demo hub's CA when `data/tls/ca.pem` exists.
    pub fn endpoint(&self) -> Result<MqttEndpoint, EndpointError> {
        let endpoint = MqttEndpoint::parse(self.url)?.with_ca_file(self.ca_file.map(Path::to_path_buf));
        let demo_ca = Path::new(DEMO_CA_FILE);
        let endpoint = if endpoint.tls && endpoint.ca_file.is_none() && demo_ca.exists() {
            endpoint.with_ca_file(Some(demo_ca.to_path_buf()))
        } else {
            endpoint
        };
        let endpoint =
            endpoint.for_device(self.device, self.username, self.password_file, Path::new(DEMO_DEVICES_FILE))?;
        // A missing or unreadable CA certificate stops the app at its start, not at each retry.
        endpoint.options(self.device)?;
        Ok(endpoint)
    }
}

/// A password, never shown in logs or `Debug` output.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(String);

impl Password {
    pub fn new(secret: impl Into<String>) -> Self {
        Password(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// The broker's address, the login and the trust anchor for TLS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttEndpoint {
    /// `mqtts://`: TLS to the broker.
    pub tls: bool,
    pub host: String,
    pub port: u16,
    pub username: Option<String>,
    pub password: Option<Password>,
    /// The CA certificate (PEM) the broker's certificate must chain to (`mqtts` only).
    pub ca_file: Option<PathBuf>,
}

/// Why an endpoint cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("{0:?} is not an MQTT URL like mqtt://127.0.0.1:1883 or mqtts://user@hub.local:8883")]
    BadUrl(String),
    #[error("cannot read the MQTT password file {path}: {error}")]
    PasswordFile { path: String, error: std::io::Error },
    #[error("the MQTT password file {0} is empty")]
    EmptyPassword(String),
    #[error(
        "{url} uses TLS but no CA certificate was given (--mqtt-ca-file FILE; print the branch's with `dawr-hub tls ca-cert`)"
    )]
    NoCaFile { url: String },
    #[error("cannot read the CA certificate {path}: {error}")]
    CaFile { path: String, error: std::io::Error },
    #[error("{0} holds no PEM certificate")]
    NoCertificate(String),
    #[error("{path}: {message}")]
    BadCertificate { path: String, message: String },
    #[error("{path} is not a valid credentials file: {message}")]
    DemoFile { path: String, message: String },
    #[error("a CA certificate ({0}) was given for a plain mqtt:// URL; use mqtts://")]
    CaWithoutTls(String),
}

impl MqttEndpoint {
    /// Reads `mqtt://[user[:pass]@]host[:port][/]` (also `tcp://`) or `mqtts://…`; user and
    /// password may be percent-encoded; an IPv6 host is written in brackets.
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let bad = || EndpointError::BadUrl(url.to_string());
        let (tls, rest) = if let Some(rest) = url.strip_prefix("mqtts://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("mqtt://").or_else(|| url.strip_prefix("tcp://")) {
            (false, rest)
        } else {
            return Err(bad());
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        let (userinfo, hostport) = match rest.rsplit_once('@') {
            Some((userinfo, hostport)) => (Some(userinfo), hostport),
            None => (None, rest),
        };
        let (host, port) = split_host_port(hostport).ok_or_else(bad)?;
        let port = port.unwrap_or(if tls { MQTTS_PORT } else { MQTT_PORT });
        let (username, password) = match userinfo {
            None => (None, None),
            Some(info) => {
                let (user, pass) = match info.split_once(':') {
                    Some((user, pass)) => (user, Some(pass)),
                    None => (info, None),
                };
                let user = percent_decode(user).filter(|u| !u.is_empty()).ok_or_else(bad)?;
                let pass = pass.map(|p| percent_decode(p).ok_or_else(bad)).transpose()?;
                (Some(user), pass.map(Password))
            }
        };
        Ok(MqttEndpoint { tls, host, port, username, password, ca_file: None })
    }

    /// The URL without the password, for logs.
    pub fn display_url(&self) -> String {
        let scheme = if self.tls { "mqtts" } else { "mqtt" };
        let user = self.username.as_deref().map_or(String::new(), |u| format!("{u}@"));
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        format!("{scheme}://{user}{host}:{}", self.port)
    }

    /// Sets the username and password unless the URL named a username already (the URL wins).
    pub fn with_login_if_missing(mut self, username: impl Into<String>, password: Option<Password>) -> Self {
        if self.username.is_none() {
            self.username = Some(username.into());
            self.password = password;
        } else if self.password.is_none() {
            self.password = password;
        }
        self
    }

    /// Sets the CA certificate for `mqtts`.
    pub fn with_ca_file(mut self, ca_file: Option<PathBuf>) -> Self {
        if ca_file.is_some() {
            self.ca_file = ca_file;
        }
        self
    }

    /// A device app's login, in this order: the URL's user and password; `username` (default:
    /// the device id) with the password in `password_file`; the device's entry in the demo's
    /// credentials file `demo_file`, when that file exists; otherwise no login. The client id is
    /// always the device id, which is also the username the hub enrols.
    pub fn for_device(
        self,
        device: &str,
        username: Option<&str>,
        password_file: Option<&Path>,
        demo_file: &Path,
    ) -> Result<Self, EndpointError> {
        if self.username.is_some() && self.password.is_some() {
            return Ok(self);
        }
        if let Some(file) = password_file {
            let password = read_password_file(file)?;
            return Ok(self.with_login_if_missing(username.unwrap_or(device), Some(password)));
        }
        let user = self.username.clone().or(username.map(str::to_owned)).unwrap_or_else(|| device.to_string());
        if let Some(password) = read_demo_password(demo_file, &user)? {
            return Ok(self.with_login_if_missing(user, Some(password)));
        }
        match username {
            Some(name) => Ok(self.with_login_if_missing(name, None)),
            None => Ok(self),
        }
    }
}

impl fmt::Display for MqttEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display_url())
    }
}

/// `host[:port]` or `[v6]:port`; `None` when the host is empty or the port is not a number.
fn split_host_port(text: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(rest) = text.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => None,
            p => Some(p.strip_prefix(':')?),
        };
        (host, port)
    } else {
        match text.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (text, None),
        }
    };
    if host.is_empty() || host.contains(['/', '@', '[', ']', ' ']) {
        return None;
    }
    let port = port.map(|p| p.parse::<u16>().ok().filter(|p| *p != 0)).map_or(Some(None), |p| p.map(Some))?;
    Some((host.to_string(), port))
}

/// Decodes `%XX` escapes; `None` for a broken escape or bytes that are not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The first line of a password file (a trailing newline is not part of the password).
pub fn read_password_file(path: &Path) -> Result<Password, EndpointError> {
    let shown = path.display().to_string();
    let text =
        std::fs::read_to_string(path).map_err(|error| EndpointError::PasswordFile { path: shown.clone(), error })?;
    let password = text.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        return Err(EndpointError::EmptyPassword(shown));
    }
    Ok(Password(password))
}

/// One device in the demo's credentials file (`data/demo-devices.toml`, written by the hub on
/// the demo's first start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoDevice {
    /// The device id: also its MQTT username and client id.
    pub device: String,
    /// `button`, `counter-app`, `kiosk`, `display` or `rating`.
    pub role: String,
    pub password: String,
    /// The counter, for buttons, counter apps and rating terminals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
}

/// The demo's credentials file: `[[device]]` tables.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DemoDevices {
    #[serde(default)]
    pub device: Vec<DemoDevice>,
}

impl DemoDevices {
    /// The password of `device`, if listed.
    pub fn password_of(&self, device: &str) -> Option<Password> {
        self.device.iter().find(|d| d.device == device).map(|d| Password(d.password.clone()))
    }
}

/// The password of `device` in the demo's credentials file; `None` when there is no such file or
/// the device is not in it.
pub fn read_demo_password(path: &Path, device: &str) -> Result<Option<Password>, EndpointError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(EndpointError::DemoFile { path: path.display().to_string(), message: e.to_string() }),
    };
    let file: DemoDevices = toml::from_str(&text)
        .map_err(|e| EndpointError::DemoFile { path: path.display().to_string(), message: e.to_string() })?;
    Ok(file.password_of(device))
}

/// Makes rustls's `ring` provider the process's default (the first call; later ones change
/// nothing). The workspace's reqwest is built with `rustls-no-provider`, so aws-lc stays out and
/// every process that makes an HTTP client (hub, kiosk, counter app, tests) calls this first: a
/// reqwest client built without a default provider panics.
pub fn use_ring_provider() {
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
}

mod client {
    use std::sync::Arc;

    use rumqttc::{ConnectReturnCode, ConnectionError, MqttOptions, TlsConfiguration, Transport};
    use tokio_rustls::rustls::pki_types::CertificateDer;
    use tokio_rustls::rustls::pki_types::pem::PemObject;
    use tokio_rustls::rustls::{ClientConfig, RootCertStore};

    use super::*;

    impl MqttEndpoint {
        /// `rumqttc` options for a client called `client_id`: address, login and, for `mqtts`,
        /// TLS that trusts only the CA certificate given. Keep-alive, will and packet sizes are
        /// the caller's.
        pub fn options(&self, client_id: impl Into<String>) -> Result<MqttOptions, EndpointError> {
            let mut options = MqttOptions::new(client_id, self.host.clone(), self.port);
            if let Some(username) = &self.username {
                let password = self.password.as_ref().map_or("", |p| p.expose());
                options.set_credentials(username.clone(), password);
            }
            match (&self.ca_file, self.tls) {
                (Some(ca), true) => {
                    options.set_transport(Transport::tls_with_config(TlsConfiguration::Rustls(client_config(ca)?)));
                }
                (None, true) => return Err(EndpointError::NoCaFile { url: self.display_url() }),
                (Some(ca), false) => return Err(EndpointError::CaWithoutTls(ca.display().to_string())),
                (None, false) => {}
            }
            Ok(options)
        }
    }

    /// A rustls client configuration (ring) whose only trust anchors are the certificates in
    /// `ca_file`.
    pub fn client_config(ca_file: &Path) -> Result<Arc<ClientConfig>, EndpointError> {
        let shown = ca_file.display().to_string();
        let pem = std::fs::read(ca_file).map_err(|error| EndpointError::CaFile { path: shown.clone(), error })?;
        let mut roots = RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(&pem) {
            let cert =
                cert.map_err(|e| EndpointError::BadCertificate { path: shown.clone(), message: e.to_string() })?;
            roots
                .add(cert)
                .map_err(|e| EndpointError::BadCertificate { path: shown.clone(), message: e.to_string() })?;
        }
        if roots.is_empty() {
            return Err(EndpointError::NoCertificate(shown));
        }
        let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| EndpointError::BadCertificate { path: shown, message: e.to_string() })?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(Arc::new(config))
    }

    /// A connection failure in words an installer can act on.
    pub fn describe(error: &ConnectionError) -> String {
        let text = error.to_string();
        match error {
            ConnectionError::ConnectionRefused(
                ConnectReturnCode::BadUserNamePassword | ConnectReturnCode::NotAuthorized,
            ) => format!("the broker refused this device's username or password ({text})"),
            ConnectionError::ConnectionRefused(ConnectReturnCode::BadClientId) => {
                format!("the broker refused this client id ({text})")
            }
            _ if text.contains("UnknownIssuer") || text.contains("invalid peer certificate") => format!(
                "the broker's TLS certificate is not signed by the CA certificate given ({text}); print the branch's with `dawr-hub tls ca-cert`"
            ),
            _ if text.contains("NotValidForName") => {
                format!(
                    "the broker's TLS certificate is not for this host name ({text}); see the hub's --mqtt-tls-name"
                )
            }
            _ => text,
        }
    }
}

pub use client::{client_config, describe};

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(url: &str) -> MqttEndpoint {
        MqttEndpoint::parse(url).unwrap()
    }

    #[test]
    fn plain_and_tls_urls_are_read_with_their_default_ports() {
        let e = parse("mqtt://10.0.0.5:1884");
        assert_eq!((e.tls, e.host.as_str(), e.port, e.username), (false, "10.0.0.5", 1884, None));
        assert_eq!(parse("mqtt://hub.local").port, 1883);
        assert_eq!(parse("mqtt://hub.local/").port, 1883);
        assert_eq!(parse("tcp://[::1]:1883").host, "::1");
        let tls = parse("mqtts://hub.local");
        assert_eq!((tls.tls, tls.port), (true, 8883));
        assert_eq!(parse("mqtts://[::1]").port, 8883);
        assert_eq!(parse("mqtts://127.0.0.1:9883").port, 9883);
    }

    #[test]
    fn a_login_in_the_url_is_read_and_decoded() {
        let e = parse("mqtts://kiosk-1:p%40ss%3Aw0rd@hub.local:8883");
        assert_eq!(e.username.as_deref(), Some("kiosk-1"));
        assert_eq!(e.password.as_ref().map(Password::expose), Some("p@ss:w0rd"));
        assert_eq!(e.host, "hub.local");
        let user_only = parse("mqtt://board-1@127.0.0.1");
        assert_eq!((user_only.username.as_deref(), user_only.password), (Some("board-1"), None));
        // Shown without the password.
        assert_eq!(e.to_string(), "mqtts://kiosk-1@hub.local:8883");
        assert!(!format!("{e:?}").contains("p@ss"));
    }

    #[test]
    fn bad_urls_are_refused() {
        for url in [
            "http://hub:1883",
            "mqtt://",
            "mqtts://",
            "mqtt://:1883",
            "mqtt://hub:port",
            "mqtt://hub:0",
            "mqtt://hub:70000",
            "mqtt://@hub",
            "mqtt://u:%zz@hub",
            "mqtt://[::1",
            "mqtt://a/b:1",
        ] {
            assert!(MqttEndpoint::parse(url).is_err(), "{url}");
        }
    }

    #[test]
    fn the_url_login_wins_over_the_settings() {
        let e = parse("mqtt://a:b@h").with_login_if_missing("c", Some(Password::new("d")));
        assert_eq!((e.username.as_deref(), e.password.unwrap().expose()), (Some("a"), "b"));
        let e = parse("mqtt://h").with_login_if_missing("c", Some(Password::new("d")));
        assert_eq!((e.username.as_deref(), e.password.unwrap().expose()), (Some("c"), "d"));
    }

    #[test]
    fn a_device_finds_its_demo_password_by_its_id_unless_given_one() {
        let dir = std::env::temp_dir().join(format!("dawr-endpoint-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let demo = dir.join("demo-devices.toml");
        std::fs::write(
            &demo,
            "[[device]]\ndevice = \"kiosk-1\"\nrole = \"kiosk\"\npassword = \"k1\"\n\n             [[device]]\ndevice = \"button-2\"\nrole = \"button\"\npassword = \"b2\"\ncounter = \"2\"\n",
        )
        .unwrap();
        let plain = parse("mqtt://127.0.0.1");
        let kiosk = plain.clone().for_device("kiosk-1", None, None, &demo).unwrap();
        assert_eq!((kiosk.username.as_deref(), kiosk.password.unwrap().expose()), (Some("kiosk-1"), "k1"));
        // A password file wins over the demo file.
        let file = dir.join("pw");
        std::fs::write(&file, "own\n").unwrap();
        let own = plain.clone().for_device("kiosk-1", None, Some(&file), &demo).unwrap();
        assert_eq!(own.password.unwrap().expose(), "own");
        // Not listed, or no demo file: no login.
        assert_eq!(plain.clone().for_device("board-9", None, None, &demo).unwrap().username, None);
        assert_eq!(plain.clone().for_device("kiosk-1", None, None, &dir.join("none.toml")).unwrap().username, None);
        std::fs::write(&demo, "device = 3").unwrap();
        assert!(plain.for_device("kiosk-1", None, None, &demo).unwrap_err().to_string().contains("credentials file"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_demo_file_lists_each_device_once() {
        let file = DemoDevices {
            device: vec![
                DemoDevice { device: "kiosk-1".into(), role: "kiosk".into(), password: "k".into(), counter: None },
                DemoDevice {
                    device: "button-2".into(),
                    role: "button".into(),
                    password: "b".into(),
                    counter: Some("2".into()),
                },
            ],
        };
        assert_eq!(file.password_of("button-2").unwrap().expose(), "b");
        assert!(file.password_of("button-3").is_none());
    }
}
