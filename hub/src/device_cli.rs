//! `dawr-hub devices add|list|revoke` and `dawr-hub mosquitto-config`: the device accounts from
//! the command line (they work while the hub runs: it re-reads the table every second), and the
//! files Debian's Mosquitto needs to enforce the same accounts and access rules.
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use dawr_protocol::acl::{self, Access, Device, HubAccount, Role};

use crate::config::Config;
use crate::devices::{self, DeviceError, Enrolled};
use crate::domain::Branch;

/// The subcommands of `dawr-hub`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Enrol, list and revoke the devices that may use MQTT
    Devices {
        #[command(subcommand)]
        action: DevicesCommand,
    },
    /// Write Mosquitto's password file, ACL and dawr.conf for this branch's hub and devices
    ///
    /// Run it again after every `devices add` or `devices revoke`, then reload Mosquitto
    /// (`kill -HUP` its process, or `systemctl reload mosquitto`): no restart is needed.
    MosquittoConfig {
        #[command(flatten)]
        place: Place,
        /// The directory to write dawr.conf, dawr.passwd and dawr.acl into
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// The listener in dawr.conf [default: 1883 on every interface]
        #[arg(long, value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
        /// Also a TLS listener (mqtts://) with the branch's certificate, e.g. 0.0.0.0:8883
        #[arg(long, value_name = "ADDR")]
        tls_listen: Option<std::net::SocketAddr>,
    },
    /// Check a branch file as `dawr-hub --config FILE` reads it, without starting: every
    /// mistake with its line, column and key; exits non-zero on any
    CheckConfig {
        /// The branch configuration (TOML)
        file: PathBuf,
    },
    /// Copy the hub's database to FILE, consistent, while the hub runs (it is not paused)
    Backup {
        #[command(flatten)]
        place: Place,
        /// Where to write the copy (a single SQLite file)
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
    },
    /// Put a backup in place of the hub's database; refused while a hub runs on it
    ///
    /// The backup is checked first (SQLite's integrity check, a schema this hub knows); the
    /// database it replaces is kept beside it as dawr.db.before-restore.
    Restore {
        #[command(flatten)]
        place: Place,
        /// The backup to restore
        #[arg(long, value_name = "FILE")]
        from: PathBuf,
    },
    /// The branch's MQTT TLS certificates
    Tls {
        #[command(subcommand)]
        command: TlsCommand,
    },
    /// Signed firmware images for the counter buttons (docs/PROTOCOL.md, "Firmware updates")
    Firmware {
        #[command(subcommand)]
        command: FirmwareCommand,
    },
}

/// What `dawr-hub firmware` does.
#[derive(Debug, Subcommand)]
pub enum FirmwareCommand {
    /// Make a new release key: writes the secret key (hex, owner-only) to --out and prints the
    /// public key, which goes into the button firmware and (with `trust`) the hubs
    Keygen {
        /// Where to write the secret key (kept by the release manager, never on a hub)
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign an image with the release key: prints the signature (hex) over its manifest
    Sign {
        /// The release manager's secret key file (from `keygen`)
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        /// The firmware image (the application's .bin)
        file: PathBuf,
        /// The version the image reports (what its presence will say)
        #[arg(long, value_name = "V")]
        version: String,
    },
    /// Trust this release public key (hex) for `publish`: written to DATA_DIR/firmware/release.pub
    Trust {
        #[command(flatten)]
        place: Place,
        #[arg(long, value_name = "HEX")]
        public_key: String,
    },
    /// Keep a signed image for the buttons; refused unless its signature verifies with the
    /// trusted release key. Managers then choose which buttons are offered it.
    Publish {
        #[command(flatten)]
        place: Place,
        /// The firmware image
        file: PathBuf,
        #[arg(long, value_name = "V")]
        version: String,
        /// The signature `sign` printed
        #[arg(long, value_name = "HEX")]
        signature: String,
    },
}

/// What `dawr-hub tls` does.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Prints the branch CA certificate (PEM) that devices trust for mqtts:// (made first when the
    /// data directory has none yet)
    CaCert {
        #[command(flatten)]
        place: Place,
    },
}

/// What `dawr-hub devices` does.
#[derive(Debug, Subcommand)]
pub enum DevicesCommand {
    /// Enrol a device; prints {"device","username","password"} (the password only this once), and
    /// for a rating device its "enrol_link": open it on the exit tablet and press its button (once, within 24 hours)
    Add {
        #[command(flatten)]
        place: Place,
        /// The device's id (also its MQTT username and client id)
        #[arg(long, value_name = "ID")]
        device: String,
        /// button, counter-app, kiosk, display or rating
        #[arg(long, value_name = "ROLE", value_parser = parse_role)]
        role: Role,
        /// The counter of a button, counter app or rating terminal
        #[arg(long, value_name = "N")]
        counter: Option<String>,
    },
    /// List the enrolled devices as JSON lines (no secrets)
    List {
        #[command(flatten)]
        place: Place,
    },
    /// Print a new enrolment link for a rating device's exit tablet (one use, 24 hours)
    Link {
        #[command(flatten)]
        place: Place,
        #[arg(long, value_name = "ID")]
        device: String,
    },
    /// Enrol a counter button (or exit rating terminal) and write its settings into it over USB
    /// serial: Wi-Fi and broker from the settings file, the branch, counter, id and new MQTT
    /// password from the hub. Prints the enrolled device (no secrets). Nothing stays enrolled if
    /// the button does not take the settings.
    Provision {
        #[command(flatten)]
        place: Place,
        /// The button's USB serial port
        #[arg(long, value_name = "PATH", default_value = "/dev/ttyACM0")]
        port: PathBuf,
        /// The device's id (also its MQTT username and client id)
        #[arg(long, value_name = "ID")]
        device: String,
        /// The counter it serves
        #[arg(long, value_name = "N")]
        counter: String,
        /// button (default) or rating
        #[arg(long, value_name = "ROLE", value_parser = parse_role, default_value = "button")]
        role: Role,
        /// TOML with wifi_ssid, wifi_password, broker (IPv4:port) and language (ar or en), the keys
        /// of the firmware's device.toml
        #[arg(long, value_name = "FILE")]
        settings: PathBuf,
    },
    /// Revoke a device: it is disconnected and refused from now on
    Revoke {
        #[command(flatten)]
        place: Place,
        #[arg(long, value_name = "ID")]
        device: String,
    },
}

/// Where the hub keeps its data, and its branch.
#[derive(Debug, Args)]
pub struct Place {
    /// The hub's data directory [default: the branch file's, or data]
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// The branch configuration (TOML) [default: the demo branch]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

fn parse_role(name: &str) -> Result<Role, String> {
    Role::parse(name).ok_or_else(|| "one of button, counter-app, kiosk, display, rating".to_string())
}

/// Why a subcommand failed (one line on stderr).
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Devices(#[from] DeviceError),
    #[error("{0}")]
    Config(String),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Provision(#[from] crate::provision::ProvisionError),
    #[error(transparent)]
    Backup(#[from] dawr_web::backup::BackupError),
    #[error(transparent)]
    Firmware(#[from] crate::firmware::FirmwareError),
}

/// Runs a subcommand; what it prints goes to stdout.
pub fn run(command: Command) -> Result<(), CliError> {
    match command {
        Command::Devices { action: DevicesCommand::Add { place, device, role, counter } } => {
            let (branch, _, conn) = open(&place)?;
            let device = Device::new(&device, role, counter.as_deref()).map_err(DeviceError::from)?;
            let credentials = devices::add(&conn, device, Some(&branch), crate::clock::now(), devices::CLI_ACTOR)?;
            println!("{}", serde_json::to_string(&credentials).expect("serialise"));
        }
        Command::Devices { action: DevicesCommand::List { place } } => {
            let (_, _, conn) = open(&place)?;
            for device in devices::enrolled(&conn)? {
                println!("{}", serde_json::to_string(&device.listed()).expect("serialise"));
            }
        }
        Command::Devices { action: DevicesCommand::Link { place, device } } => {
            let (_, _, conn) = open(&place)?;
            let table = devices::table(&conn)?;
            match table.get(&device) {
                Some(d) if d.role == Role::Rating => {}
                Some(_) => return Err(CliError::Config(format!("{device} is not a rating device"))),
                None => return Err(DeviceError::NotEnrolled(device).into()),
            }
            let token = crate::device_links::new_link(&conn, &device, false, crate::clock::now())?;
            println!("{}", crate::device_links::link_path(&token));
        }
        Command::Devices { action: DevicesCommand::Provision { place, port, device, counter, role, settings } } => {
            let (branch, _, conn) = open(&place)?;
            let listed = provision(
                &conn,
                &branch,
                Provisioning { port: &port, device: &device, counter: &counter, role, settings: &settings },
            )?;
            println!("{}", serde_json::to_string(&listed).expect("serialise"));
        }
        Command::Devices { action: DevicesCommand::Revoke { place, device } } => {
            let (_, _, conn) = open(&place)?;
            devices::revoke(&conn, &device, crate::clock::now(), devices::CLI_ACTOR)?;
        }
        Command::CheckConfig { file } => crate::ops_cli::check_config(&file)?,
        Command::Backup { place, to } => crate::ops_cli::backup(&data_dir_of(&place)?, &to)?,
        Command::Restore { place, from } => crate::ops_cli::restore(&data_dir_of(&place)?, &from)?,
        Command::Tls { command: TlsCommand::CaCert { place } } => {
            print!("{}", crate::tls::ca_certificate(&data_dir_of(&place)?)?);
        }
        Command::Firmware { command } => firmware(command)?,
        Command::MosquittoConfig { place, out, listen, tls_listen } => {
            let (branch, data_dir, conn) = open(&place)?;
            if place.config.is_none() {
                devices::enrol_demo(&conn, &branch, &data_dir)?;
            }
            let hub_password = devices::hub_password(&data_dir)?;
            let enrolled = devices::enrolled(&conn)?;
            let tls = match tls_listen {
                Some(addr) => Some((addr, crate::tls::ensure(&data_dir, &[])?)),
                None => None,
            };
            write_mosquitto(&out, &branch.id, &hub_password, &enrolled, Listeners { plain: listen, tls })?;
            eprintln!("wrote {}: reload Mosquitto (kill -HUP) for changes to take effect", out.display());
        }
    }
    Ok(())
}

/// `dawr-hub firmware …`.
fn firmware(command: FirmwareCommand) -> Result<(), CliError> {
    use crate::firmware;
    let read = |path: &Path| std::fs::read(path).map_err(|source| CliError::File { path: path.to_path_buf(), source });
    match command {
        FirmwareCommand::Keygen { out } => println!("{}", firmware::keygen(&out)?),
        FirmwareCommand::Sign { key, file, version } => println!("{}", firmware::sign(&key, &read(&file)?, &version)?),
        FirmwareCommand::Trust { place, public_key } => {
            let path = firmware::trust(&data_dir_of(&place)?, &public_key)?;
            eprintln!("wrote {}", path.display());
        }
        FirmwareCommand::Publish { place, file, version, signature } => {
            let (_, data_dir, conn) = open(&place)?;
            let image = read(&file)?;
            let published = firmware::publish(
                &conn,
                &data_dir,
                &image,
                &version,
                &signature,
                devices::CLI_ACTOR,
                crate::clock::now(),
            )?;
            println!("{}", serde_json::to_string(&published).expect("serialise"));
        }
    }
    Ok(())
}

/// What `devices provision` was asked.
struct Provisioning<'a> {
    port: &'a Path,
    device: &'a str,
    counter: &'a str,
    role: Role,
    settings: &'a Path,
}

/// Checks the file and the button first, then enrols the device and writes its settings; the
/// enrolment is revoked again if the button does not store them.
fn provision(
    conn: &rusqlite::Connection,
    branch: &Branch,
    job: Provisioning<'_>,
) -> Result<dawr_protocol::api::EnrolledDevice, CliError> {
    use crate::provision::{Identity, SerialPort, read_settings_file, record};
    let mode = match job.role {
        Role::Button => dawr_firmware_logic::Mode::Counter,
        Role::Rating => dawr_firmware_logic::Mode::Rating,
        _ => return Err(CliError::Config("--role must be button or rating".to_string())),
    };
    let file = read_settings_file(job.settings)?;
    let who = |password| Identity { branch: &branch.id, counter: job.counter, device: job.device, password, mode };
    // The whole record is checked (with a placeholder password) before anything changes.
    record(&file, job.settings, who("-"))?;
    let mut port = SerialPort::open(job.port)?;
    let before = port.hello()?;
    tracing::info!(port = %job.port.display(), before, "a Dawr button answered");
    let device = Device::new(job.device, job.role, Some(job.counter)).map_err(DeviceError::from)?;
    let credentials = devices::add(conn, device, Some(branch), crate::clock::now(), devices::CLI_ACTOR)?;
    let stored = record(&file, job.settings, who(&credentials.password)).and_then(|bytes| port.set(&bytes));
    if let Err(e) = stored {
        devices::revoke(conn, job.device, crate::clock::now(), devices::CLI_ACTOR)?;
        return Err(e.into());
    }
    let table = devices::table(conn)?;
    let enrolled = table.get(job.device).ok_or_else(|| DeviceError::NotEnrolled(job.device.to_string()))?;
    Ok(enrolled.listed())
}

/// The data directory a subcommand works on: `--data-dir`, else the branch file's.
fn data_dir_of(place: &Place) -> Result<PathBuf, CliError> {
    match (&place.data_dir, &place.config) {
        (Some(dir), _) => Ok(dir.clone()),
        (None, Some(path)) => Ok(Config::load(path).map_err(|e| CliError::Config(e.to_string()))?.hub.data_dir),
        (None, None) => Ok(Config::demo().hub.data_dir),
    }
}

/// Mosquitto's listeners: plain (default 1883 on every interface) and, if asked for, TLS with the
/// branch's certificate.
pub struct Listeners {
    pub plain: Option<std::net::SocketAddr>,
    pub tls: Option<(std::net::SocketAddr, crate::tls::TlsFiles)>,
}

/// The branch, the data directory and the database.
fn open(place: &Place) -> Result<(Branch, PathBuf, rusqlite::Connection), CliError> {
    let config = match &place.config {
        Some(path) => Config::load(path).map_err(|e| CliError::Config(e.to_string()))?,
        None => Config::demo(),
    };
    let branch = config.branch().map_err(|e| CliError::Config(e.to_string()))?;
    let data_dir = place.data_dir.clone().unwrap_or(config.hub.data_dir);
    std::fs::create_dir_all(&data_dir).map_err(|source| CliError::File { path: data_dir.clone(), source })?;
    let conn = crate::store::open(&data_dir.join(crate::store::FILE_NAME)).map_err(DeviceError::from)?;
    Ok((branch, data_dir, conn))
}

/// Writes `dawr.conf`, `dawr.passwd` (0600) and `dawr.acl` into `out`.
fn write_mosquitto(
    out: &Path,
    branch: &str,
    hub_password: &str,
    enrolled: &[Enrolled],
    listeners: Listeners,
) -> Result<(), CliError> {
    std::fs::create_dir_all(out).map_err(|source| CliError::File { path: out.to_path_buf(), source })?;
    let out = out.canonicalize().map_err(|source| CliError::File { path: out.to_path_buf(), source })?;
    let file = |name: &str| out.join(name);
    let fail = |path: PathBuf| move |source| CliError::File { path, source };
    let hub = HubAccount(branch).to_string();
    let mut passwords = format!("{hub}:{}\n", devices::hash_password(hub_password));
    for d in enrolled {
        passwords.push_str(&format!("{}:{}\n", d.id, d.password_hash));
    }
    devices::write_private(&file("dawr.passwd"), passwords.as_bytes()).map_err(fail(file("dawr.passwd")))?;
    std::fs::write(file("dawr.acl"), acl_file(branch, enrolled)).map_err(fail(file("dawr.acl")))?;
    let conf = conf_file(&out, &listeners);
    std::fs::write(file("dawr.conf"), conf).map_err(fail(file("dawr.conf")))?;
    Ok(())
}

/// Mosquitto's ACL: the hub reads and writes the branch's tree; each device gets exactly its
/// grants from `dawr_protocol::acl`.
pub fn acl_file(branch: &str, enrolled: &[Enrolled]) -> String {
    let mut text = format!(
        "# Written by dawr-hub mosquitto-config: the access rules of docs/PROTOCOL.md.\n\
         user {}\ntopic readwrite dawr/v1/{branch}/#\n",
        HubAccount(branch)
    );
    for d in enrolled {
        let _ = write!(text, "\n# {} of counter {}\nuser {}\n", d.role, d.counter.as_deref().unwrap_or("-"), d.id);
        for grant in acl::grants(branch, &d.device()) {
            let access = match grant.access {
                Access::Publish => "write",
                Access::Subscribe => "read",
            };
            let _ = writeln!(text, "topic {access} {}", grant.topic);
        }
    }
    text
}

fn conf_file(out: &Path, listeners: &Listeners) -> String {
    let mut listener = match listeners.plain {
        Some(addr) => format!("listener {} {}", addr.port(), addr.ip()),
        None => "listener 1883".to_string(),
    };
    if let Some((addr, files)) = &listeners.tls {
        // The key is readable by its owner only: Mosquitto must run as (or be given) that user.
        let _ = write!(
            listener,
            "\nlistener {} {}\ncafile {}\ncertfile {}\nkeyfile {}",
            addr.port(),
            addr.ip(),
            files.ca_cert.display(),
            files.server_cert.display(),
            files.server_key.display()
        );
    }
    format!(
        "# Written by dawr-hub mosquitto-config. Put it in /etc/mosquitto/conf.d/ (or run mosquitto -c).\n\
         # After `dawr-hub devices add|revoke`, run mosquitto-config again and reload Mosquitto\n\
         # (kill -HUP, or systemctl reload mosquitto): it re-reads the accounts and the ACL.\n\
         per_listener_settings false\n\
         {listener}\n\
         allow_anonymous false\n\
         password_file {}\n\
         acl_file {}\n\
         use_username_as_clientid true\n\
         set_tcp_nodelay true\n",
        out.join("dawr.passwd").display(),
        out.join("dawr.acl").display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acl_file_gives_each_device_its_grants_and_the_hub_its_branch() {
        let button = Enrolled {
            id: "button-2".into(),
            role: Role::Button,
            counter: Some("2".into()),
            password_hash: String::new(),
            enrolled_at: chrono::Utc::now(),
        };
        let text = acl_file("demo", &[button]);
        assert!(text.contains("user dawr-hub-demo\ntopic readwrite dawr/v1/demo/#\n"), "{text}");
        assert!(text.contains(
            "user button-2\ntopic write dawr/v1/demo/devices/button-2/status\n\
             topic write dawr/v1/demo/counters/2/command\ntopic read dawr/v1/demo/counters/2/reply\n\
             topic read dawr/v1/demo/counters/2/state\n"
        ));
        let plain_only = Listeners { plain: Some("127.0.0.1:1999".parse().unwrap()), tls: None };
        let conf = conf_file(Path::new("/etc/dawr"), &plain_only);
        for line in ["listener 1999 127.0.0.1", "allow_anonymous false", "use_username_as_clientid true"] {
            assert!(conf.lines().any(|l| l == line), "{line}");
        }
        assert!(!conf.contains("certfile"));
        let files = crate::tls::TlsFiles::of(Path::new("/var/lib/dawr"));
        let with_tls = Listeners { plain: None, tls: Some(("0.0.0.0:8883".parse().unwrap(), files.clone())) };
        let conf = conf_file(Path::new("/etc/dawr"), &with_tls);
        for line in [
            "listener 1883".to_string(),
            "listener 8883 0.0.0.0".to_string(),
            format!("certfile {}", files.server_cert.display()),
            format!("keyfile {}", files.server_key.display()),
            format!("cafile {}", files.ca_cert.display()),
        ] {
            assert!(conf.lines().any(|l| l == line), "{line}");
        }
    }
}
