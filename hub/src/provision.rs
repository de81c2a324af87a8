//! `dawr-hub devices provision`: writes a counter button's settings (Wi-Fi, broker, branch,
//! counter, device id, its MQTT account, mode, screen language) into its flash over the USB
//! serial port, so that one firmware image serves every button. The line protocol and the
//! settings record are `dawr_firmware_logic::provision` and `::settings`, the same code the
//! firmware runs.
//!
//! The serial port is put in raw mode; each reply is awaited with a deadline, and lines that are
//! not replies (a firmware's boot messages) are skipped.
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::net::SocketAddrV4;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dawr_firmware_logic::Mode;
use dawr_firmware_logic::provision::{self, Reply};
use dawr_firmware_logic::settings::{Language, MAX_RECORD, Settings, SettingsError};

/// How long the button has to answer `HELLO`.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the button has to store the settings (a flash sector erase and write).
pub const SET_TIMEOUT: Duration = Duration::from_secs(10);

/// The Wi-Fi and broker part of a button's settings, from a settings file: the keys of the
/// firmware's `device.toml` (others in such a file are ignored here).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct SettingsFile {
    pub wifi_ssid: String,
    #[serde(default)]
    pub wifi_password: String,
    /// `IPv4:port` of the MQTT broker the button connects to.
    pub broker: String,
    /// `ar` (default) or `en`: the screen's language.
    #[serde(default)]
    pub language: Option<String>,
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{path}: {message}")]
    SettingsFile { path: PathBuf, message: String },
    #[error("{port}: {message}")]
    Port { port: PathBuf, message: String },
    #[error("{port}: no answer from a Dawr button within {seconds} s (is the firmware running?)")]
    NoAnswer { port: PathBuf, seconds: u64 },
    #[error("the button refused the settings: {0}")]
    Refused(String),
    #[error("the settings are not valid: {}", provision::reason(provision::RequestError::Settings(*.0)))]
    Invalid(SettingsError),
}

/// A serial port in raw mode, read line by line with deadlines.
pub struct SerialPort {
    path: PathBuf,
    file: File,
    pending: Vec<u8>,
}

impl SerialPort {
    /// Opens the port (a `/dev/ttyACM*`, or a pseudo-terminal in tests) in raw mode, 115200 baud
    /// (USB CDC ignores the rate).
    pub fn open(path: &Path) -> Result<SerialPort, ProvisionError> {
        let port_error = |message: String| ProvisionError::Port { port: path.to_path_buf(), message };
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NOCTTY)
            .open(path)
            .map_err(|e| port_error(e.to_string()))?;
        raw_mode(&file).map_err(|e| port_error(format!("not a serial port: {e}")))?;
        Ok(SerialPort { path: path.to_path_buf(), file, pending: Vec::new() })
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), ProvisionError> {
        let mut bytes = line.to_vec();
        bytes.push(b'\n');
        self.file
            .write_all(&bytes)
            .and_then(|()| self.file.flush())
            .map_err(|e| ProvisionError::Port { port: self.path.clone(), message: e.to_string() })
    }

    /// The next protocol reply within `timeout`; other lines are skipped.
    fn reply(&mut self, timeout: Duration) -> Result<String, ProvisionError> {
        let deadline = Instant::now() + timeout;
        loop {
            while let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = self.pending.drain(..=end).collect();
                let line = String::from_utf8_lossy(&line).into_owned();
                if provision::parse_reply(&line).is_some() {
                    return Ok(line.trim_end().to_string());
                }
                tracing::debug!(line = line.trim_end(), "serial: not a reply");
            }
            if Instant::now() >= deadline {
                return Err(ProvisionError::NoAnswer { port: self.path.clone(), seconds: timeout.as_secs() });
            }
            let mut buf = [0u8; 256];
            match self.file.read(&mut buf) {
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // A pseudo-terminal whose other end is not open yet reads as EIO: wait for it.
                Err(e) if e.raw_os_error() == Some(libc::EIO) => std::thread::sleep(Duration::from_millis(50)),
                Err(e) => return Err(ProvisionError::Port { port: self.path.clone(), message: e.to_string() }),
            }
        }
    }

    /// Asks the button who it is now (`DAWR HELLO`); returns the device id it uses.
    pub fn hello(&mut self) -> Result<String, ProvisionError> {
        self.write_line(b"DAWR HELLO")?;
        let line = self.reply(HELLO_TIMEOUT)?;
        match provision::parse_reply(&line) {
            Some(Reply::Ready { device }) => Ok(device.to_string()),
            Some(Reply::Err { reason }) => Err(ProvisionError::Refused(reason.to_string())),
            _ => Err(ProvisionError::Port { port: self.path.clone(), message: format!("unexpected answer {line:?}") }),
        }
    }

    /// Sends the settings record; Ok once the button says it stored it.
    pub fn set(&mut self, record: &[u8]) -> Result<(), ProvisionError> {
        let mut line = vec![0u8; provision::MAX_LINE];
        let n =
            provision::set_request(record, &mut line).ok_or(ProvisionError::Invalid(SettingsError::BufferTooSmall))?;
        self.write_line(&line[..n])?;
        let reply = self.reply(SET_TIMEOUT)?;
        match provision::parse_reply(&reply) {
            Some(Reply::Ok) => Ok(()),
            Some(Reply::Err { reason }) => Err(ProvisionError::Refused(reason.to_string())),
            _ => Err(ProvisionError::Port { port: self.path.clone(), message: format!("unexpected answer {reply:?}") }),
        }
    }
}

/// Raw mode (no echo, no line editing, bytes as they are), 115200 baud (USB CDC ignores the
/// rate); a read returns after 100 ms without data, so that deadlines are kept.
fn raw_mode(file: &File) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    // SAFETY: `termios` is plain data that tcgetattr fills in; `fd` stays open while `file` lives.
    let mut tio: libc::termios = unsafe { std::mem::zeroed() };
    if unsafe { libc::tcgetattr(fd, &mut tio) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: both only change the struct they are given.
    unsafe {
        libc::cfmakeraw(&mut tio);
        libc::cfsetspeed(&mut tio, libc::B115200);
    }
    tio.c_cc[libc::VMIN] = 0;
    tio.c_cc[libc::VTIME] = 1;
    // SAFETY: as above.
    if unsafe { libc::tcsetattr(fd, libc::TCSANOW, &tio) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Reads a settings file (TOML).
pub fn read_settings_file(path: &Path) -> Result<SettingsFile, ProvisionError> {
    let text =
        std::fs::read_to_string(path).map_err(|source| ProvisionError::File { path: path.to_path_buf(), source })?;
    toml::from_str(&text).map_err(|e| ProvisionError::SettingsFile { path: path.to_path_buf(), message: e.to_string() })
}

/// Who the button is, as the hub enrolled it.
#[derive(Debug, Clone, Copy)]
pub struct Identity<'a> {
    pub branch: &'a str,
    pub counter: &'a str,
    pub device: &'a str,
    pub password: &'a str,
    pub mode: Mode,
}

/// The settings record for a button: the file's Wi-Fi and broker, the hub's identity for it.
pub fn record(file: &SettingsFile, path: &Path, who: Identity<'_>) -> Result<Vec<u8>, ProvisionError> {
    let invalid =
        |message: &str| ProvisionError::SettingsFile { path: path.to_path_buf(), message: message.to_string() };
    let broker: SocketAddrV4 =
        file.broker.parse().map_err(|_| invalid("broker must be IPv4:port, e.g. 192.168.10.2:1883"))?;
    let language = match file.language.as_deref().unwrap_or("ar") {
        "ar" => Language::Arabic,
        "en" => Language::English,
        _ => return Err(invalid("language must be \"ar\" or \"en\"")),
    };
    let settings = Settings {
        wifi_ssid: &file.wifi_ssid,
        wifi_password: &file.wifi_password,
        broker_ip: broker.ip().octets(),
        broker_port: broker.port(),
        branch: who.branch,
        counter: who.counter,
        device_id: who.device,
        mqtt_username: "",
        mqtt_password: who.password,
        mode: who.mode,
        language,
    };
    let mut out = [0u8; MAX_RECORD];
    let n = settings.encode(&mut out).map_err(ProvisionError::Invalid)?;
    Ok(out[..n].to_vec())
}
