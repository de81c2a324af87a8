//! Enrolled devices: their accounts in the hub's database, the passwords' hashes, the hub's own
//! MQTT password, and the demo branch's devices.
//!
//! A device is enrolled with a role (and a counter for buttons, counter apps and rating
//! terminals; see `dawr_protocol::acl`). Its id is its MQTT username and client id. Its password
//! (160 random bits) is shown once; the database keeps only a salted PBKDF2-SHA512 hash in
//! Mosquitto's `$7$` format, so `dawr-hub mosquitto-config` can copy it into Mosquitto's password
//! file and the hub's embedded gate checks the same hash. (The passwords are random, not chosen by
//! people, so a slow hash buys nothing; PBKDF2 is what Mosquitto reads.)
//!
//! The SQL here runs on any connection: the `dawr-hub devices` commands open the database while
//! the hub runs, and the hub re-reads the table every second ([`table`]).
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use dawr_protocol::acl::{Device, EnrolError, Role};
use dawr_protocol::api::{DeviceCredentials, DeviceInfo, EnrolledDevice};
use dawr_protocol::device::{Presence, PresenceStatus};
use hmac::{Hmac, Mac};
use rand::RngCore;
use rusqlite::{Connection, OptionalExtension, params};
use sha2::Sha512;

use crate::audit::{self, AuditAction, NewEntry};
use crate::domain::Branch;
use crate::store::{StoreError, ts};

/// The file in the data directory holding the hub's own MQTT password.
pub const HUB_SECRET_FILE: &str = "mqtt-hub.secret";
/// The environment variable that, when set, holds the hub's MQTT password instead of that file.
pub const HUB_PASSWORD_ENV: &str = "DAWR_MQTT_PASSWORD";

/// The file the demo branch writes its devices' credentials to (mode 0600).
pub const DEMO_FILE: &str = "demo-devices.toml";

/// PBKDF2 rounds of a stored hash (Mosquitto's own default is 101; the passwords are random).
const ROUNDS: u32 = 1000;

/// Why a device command failed.
#[derive(Debug, thiserror::Error)]
pub enum DeviceError {
    #[error("{0}")]
    Invalid(#[from] EnrolError),
    #[error("device {0:?} is already enrolled (revoke it first to give it a new password)")]
    AlreadyEnrolled(String),
    #[error("the branch has no counter {0:?}")]
    UnknownCounter(String),
    #[error("no enrolled device {0:?}")]
    NotEnrolled(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
}

impl From<rusqlite::Error> for DeviceError {
    fn from(e: rusqlite::Error) -> Self {
        DeviceError::Store(e.into())
    }
}

/// One enrolled (not revoked) device, as the gate checks it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolled {
    pub id: String,
    pub role: Role,
    pub counter: Option<String>,
    pub password_hash: String,
    pub enrolled_at: DateTime<Utc>,
}

impl Enrolled {
    /// The device as the access rules see it.
    pub fn device(&self) -> Device<'_> {
        Device { id: &self.id, role: self.role, counter: self.counter.as_deref() }
    }

    /// What `devices list` prints.
    pub fn listed(&self) -> EnrolledDevice {
        EnrolledDevice {
            device: self.id.clone(),
            role: self.role,
            counter: self.counter.clone(),
            enrolled_at: self.enrolled_at,
        }
    }
}

/// Every enrolled device by id.
pub type DeviceTable = HashMap<String, Enrolled>;

/// What `GET /api/v1/devices` shows: every enrolled device (offline and never seen if no
/// presence was heard) and every other client that announced a presence, by id.
pub fn listing(enrolled: &[Enrolled], presence: &HashMap<String, (Presence, DateTime<Utc>)>) -> Vec<DeviceInfo> {
    let mut list: Vec<DeviceInfo> = enrolled
        .iter()
        .map(|d| {
            let mut info = info(&d.id, presence.get(&d.id));
            info.role = Some(d.role);
            info.counter = d.counter.clone();
            info
        })
        .collect();
    for (id, heard) in presence {
        if !enrolled.iter().any(|d| &d.id == id) {
            list.push(info(id, Some(heard)));
        }
    }
    list.sort_by(|a, b| a.device.cmp(&b.device));
    list
}

/// What a device's last presence (if any was heard) says about it, without role and counter.
fn info(device: &str, heard: Option<&(Presence, DateTime<Utc>)>) -> DeviceInfo {
    let p = heard.map(|(p, _)| p);
    DeviceInfo {
        device: device.to_string(),
        role: None,
        counter: None,
        status: p.map_or(PresenceStatus::Offline, |p| p.status),
        printer: p.and_then(|p| p.printer),
        seen_at: heard.map(|(_, at)| *at),
        firmware: p.and_then(|p| p.firmware.as_deref().map(str::to_owned)),
        uptime_s: p.and_then(|p| p.uptime_s),
        rssi: p.and_then(|p| p.rssi),
        reset: p.and_then(|p| p.reset),
        offered: None,
        update: None,
    }
}

/// The presence to keep when `heard` arrives after `earlier`: a presence that says nothing about
/// the device itself (the `offline` last will) keeps the version, uptime, signal and reset
/// reason the earlier one gave, so the fleet view still shows what an offline button runs.
pub fn merged_presence(earlier: Option<&Presence>, heard: Presence) -> Presence {
    match earlier {
        Some(earlier) if !heard.has_fleet_fields() => Presence {
            reset: earlier.reset,
            firmware: earlier.firmware.clone(),
            uptime_s: earlier.uptime_s,
            rssi: earlier.rssi,
            ..heard
        },
        _ => heard,
    }
}

/// A new random password: 20 bytes (160 bits) as 40 hex digits.
pub fn new_password() -> String {
    let mut bytes = [0u8; 20];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `$7$rounds$salt$hash` line Mosquitto's password file uses (PBKDF2-HMAC-SHA512, 12-byte
/// salt, 64-byte key, standard base64).
pub fn hash_password(password: &str) -> String {
    let mut salt = [0u8; 12];
    rand::rng().fill_bytes(&mut salt);
    format!("$7${ROUNDS}${}${}", B64.encode(salt), B64.encode(pbkdf2_sha512(password.as_bytes(), &salt, ROUNDS)))
}

/// Whether `password` matches a hash made by [`hash_password`] (or by `mosquitto_passwd`).
pub fn verify_password(password: &str, hash: &str) -> bool {
    let mut parts = hash.split('$');
    let (Some(""), Some("7"), Some(rounds), Some(salt), Some(expected), None) =
        (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    let (Ok(rounds), Ok(salt), Ok(expected)) = (rounds.parse::<u32>(), B64.decode(salt), B64.decode(expected)) else {
        return false;
    };
    if !(1..=1_000_000).contains(&rounds) || expected.len() != 64 {
        return false;
    }
    let actual = pbkdf2_sha512(password.as_bytes(), &salt, rounds);
    // Constant time: every byte is compared.
    actual.iter().zip(&expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
}

/// PBKDF2-HMAC-SHA512 with one output block (64 bytes), as Mosquitto derives its `$7$` hashes.
fn pbkdf2_sha512(password: &[u8], salt: &[u8], rounds: u32) -> [u8; 64] {
    let mac = Hmac::<Sha512>::new_from_slice(password).expect("HMAC takes any key length");
    let mut first = mac.clone();
    first.update(salt);
    first.update(&1u32.to_be_bytes());
    let mut u: [u8; 64] = first.finalize().into_bytes().into();
    let mut out = u;
    for _ in 1..rounds {
        let mut next = mac.clone();
        next.update(&u);
        u = next.finalize().into_bytes().into();
        out.iter_mut().zip(&u).for_each(|(o, b)| *o ^= b);
    }
    out
}

/// Who changes the devices, as the audit log names them: the `dawr-hub devices` commands.
pub const CLI_ACTOR: &str = "cli";
/// The demo's first start, enrolling its own devices.
pub const DEMO_ACTOR: &str = "demo";

/// Enrols a device (or enrols a revoked one again) and returns its credentials, the only time
/// its password is seen. `branch`, when given, must have the device's counter. The audit log
/// gets a `device_enrolled` entry by `actor` (id, role, counter; never the password) in the same
/// transaction.
pub fn add(
    conn: &Connection,
    device: Device<'_>,
    branch: Option<&Branch>,
    now: DateTime<Utc>,
    actor: &str,
) -> Result<DeviceCredentials, DeviceError> {
    if let (Some(branch), Some(counter)) = (branch, device.counter)
        && !branch.counters.iter().any(|c| c.id == counter)
    {
        return Err(DeviceError::UnknownCounter(counter.to_string()));
    }
    let password = new_password();
    let tx = conn.unchecked_transaction()?;
    let changed = tx.execute(
        "INSERT INTO devices (id, role, counter, password_hash, enrolled_at) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT(id) DO UPDATE SET role = excluded.role, counter = excluded.counter,
             password_hash = excluded.password_hash, enrolled_at = excluded.enrolled_at, revoked_at = NULL
         WHERE devices.revoked_at IS NOT NULL",
        params![device.id, device.role.as_str(), device.counter, hash_password(&password), ts(now)],
    )?;
    if changed == 0 {
        return Err(DeviceError::AlreadyEnrolled(device.id.to_string()));
    }
    audit::record(&tx, &device_entry(now, actor, AuditAction::DeviceEnrolled, device.id, device.role, device.counter))?;
    // A rating device's tablet opens the exit page: its one-use enrolment link (the demo's own
    // may be opened again).
    let enrol_link = if device.role == Role::Rating {
        let reusable = actor == DEMO_ACTOR;
        Some(crate::device_links::link_path(&crate::device_links::new_link(&tx, device.id, reusable, now)?))
    } else {
        None
    };
    tx.commit()?;
    Ok(DeviceCredentials { device: device.id.to_string(), username: device.id.to_string(), password, enrol_link })
}

/// Revokes a device: from now on it is refused (the hub disconnects it within a second or two).
/// The audit log gets a `device_revoked` entry by `actor` in the same transaction.
pub fn revoke(conn: &Connection, id: &str, now: DateTime<Utc>, actor: &str) -> Result<(), DeviceError> {
    let tx = conn.unchecked_transaction()?;
    let revoked: Option<(String, Option<String>)> = tx
        .query_row(
            "UPDATE devices SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL RETURNING role, counter",
            params![id, ts(now)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((role, counter)) = revoked else {
        return Err(DeviceError::NotEnrolled(id.to_string()));
    };
    let role = Role::parse(&role).ok_or(StoreError::Corrupt { column: "devices.role", value: role })?;
    audit::record(&tx, &device_entry(now, actor, AuditAction::DeviceRevoked, id, role, counter.as_deref()))?;
    tx.commit()?;
    Ok(())
}

/// The audit entry of an enrolment or a revocation: the device's id, role and counter.
fn device_entry(
    now: DateTime<Utc>,
    actor: &str,
    action: AuditAction,
    id: &str,
    role: Role,
    counter: Option<&str>,
) -> NewEntry {
    let entry = NewEntry::new(now, actor, action).subject(id).after("role", role.as_str());
    match counter {
        Some(counter) => entry.after("counter", counter),
        None => entry,
    }
}

/// Every enrolled (not revoked) device, by id.
pub fn enrolled(conn: &Connection) -> Result<Vec<Enrolled>, DeviceError> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, role, counter, password_hash, enrolled_at FROM devices WHERE revoked_at IS NULL ORDER BY id",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?, r.get(3)?, r.get::<_, String>(4)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, role, counter, password_hash, at) = row?;
        let role = Role::parse(&role).ok_or(StoreError::Corrupt { column: "devices.role", value: role })?;
        let enrolled_at = dawr_web::db::parse_ts("devices.enrolled_at", &at)?;
        out.push(Enrolled { id, role, counter, password_hash, enrolled_at });
    }
    Ok(out)
}

/// The enrolled devices as the gate looks them up.
pub fn table(conn: &Connection) -> Result<DeviceTable, DeviceError> {
    Ok(enrolled(conn)?.into_iter().map(|d| (d.id.clone(), d)).collect())
}

/// Whether any device was ever enrolled (revoked ones included).
fn any_enrolled(conn: &Connection) -> Result<bool, DeviceError> {
    Ok(conn.query_row("SELECT 1 FROM devices LIMIT 1", [], |_| Ok(())).optional()?.is_some())
}

/// The hub's MQTT password: `DAWR_MQTT_PASSWORD` if set, else `DATA_DIR/mqtt-hub.secret`,
/// created (mode 0600, 160 random bits) on the first start.
pub fn hub_password(data_dir: &Path) -> Result<String, DeviceError> {
    if let Ok(password) = std::env::var(HUB_PASSWORD_ENV)
        && !password.is_empty()
    {
        return Ok(password);
    }
    let path = data_dir.join(HUB_SECRET_FILE);
    let file = |source| DeviceError::File { path: path.clone(), source };
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        Ok(_) => Err(file(std::io::Error::other("the file is empty"))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let password = new_password();
            write_private(&path, format!("{password}\n").as_bytes()).map_err(file)?;
            Ok(password)
        }
        Err(e) => Err(file(e)),
    }
}

/// Writes a file only its owner can read (0600), replacing it.
pub fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    #[cfg(unix)]
    file.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    file.write_all(contents)?;
    file.sync_all()
}

/// The demo branch's devices: `kiosk-1`, `board-1`, and for each counter c `counter-{c}-app`,
/// `button-{c}` and `rating-{c}`.
pub fn demo_devices(branch: &Branch) -> Vec<(String, Role, Option<String>)> {
    let mut devices = vec![("kiosk-1".to_string(), Role::Kiosk, None), ("board-1".to_string(), Role::Display, None)];
    for c in &branch.counters {
        let counter = Some(c.id.clone());
        devices.push((format!("counter-{}-app", c.id), Role::CounterApp, counter.clone()));
        devices.push((format!("button-{}", c.id), Role::Button, counter.clone()));
        devices.push((format!("rating-{}", c.id), Role::Rating, counter));
    }
    devices
}

/// On the demo's first start (no device enrolled yet), enrols the demo devices and writes their
/// credentials to `DATA_DIR/demo-devices.toml` (0600). Returns whether it did.
pub fn enrol_demo(conn: &Connection, branch: &Branch, data_dir: &Path) -> Result<bool, DeviceError> {
    let path = data_dir.join(DEMO_FILE);
    if any_enrolled(conn)? && path.exists() {
        return Ok(false);
    }
    let now = crate::clock::now();
    let mut text = String::from("# Demo device credentials written by dawr-hub on the demo's first start.\n");
    for (id, role, counter) in demo_devices(branch) {
        let device = Device::new(&id, role, counter.as_deref())?;
        // A demo device left from an earlier start without the file gets a new password.
        let _ = revoke(conn, &id, now, DEMO_ACTOR);
        let credentials = add(conn, device, Some(branch), now, DEMO_ACTOR)?;
        text.push_str(&demo_entry(&credentials, role, counter.as_deref()));
    }
    write_private(&path, text.as_bytes()).map_err(|source| DeviceError::File { path, source })?;
    Ok(true)
}

/// One `[[device]]` of `demo-devices.toml`.
fn demo_entry(credentials: &DeviceCredentials, role: Role, counter: Option<&str>) -> String {
    // Ids and passwords are plain ASCII without quotes: a Rust string literal is a TOML one.
    let mut entry = format!(
        "\n[[device]]\ndevice = {:?}       # also its MQTT username and client id\n\
         role = {:?}           # button | counter-app | kiosk | display | rating\npassword = {:?}\n",
        credentials.device,
        role.as_str(),
        credentials.password
    );
    if let Some(counter) = counter {
        entry.push_str(&format!("counter = {counter:?}            # only for button, counter-app and rating\n"));
    }
    if let Some(link) = &credentials.enrol_link {
        entry.push_str(&format!("link = {link:?}    # open http://HUB{link} on the exit tablet\n"));
    }
    entry
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_will_keeps_what_the_button_said_about_itself_and_a_new_online_replaces_it() {
        let online: Presence = serde_json::from_str(
            r#"{"status":"online","reset":"watchdog","firmware":"0.4.1","uptime_s":90,"rssi":-60}"#,
        )
        .unwrap();
        let offline = merged_presence(Some(&online), Presence::new(PresenceStatus::Offline));
        assert_eq!(offline.status, PresenceStatus::Offline);
        assert_eq!((offline.firmware.as_deref(), offline.uptime_s, offline.rssi), (Some("0.4.1"), Some(90), Some(-60)));
        assert_eq!(offline.reset, Some(dawr_protocol::device::ResetReason::Watchdog));
        let newer: Presence = serde_json::from_str(r#"{"status":"online","firmware":"0.5.0","uptime_s":3}"#).unwrap();
        let back = merged_presence(Some(&offline), newer.clone());
        assert_eq!(back, newer, "a presence with fleet fields replaces them all (no stale signal or reset)");
        let listed = listing(&[], &HashMap::from([("button-9".to_string(), (offline, Utc::now()))]));
        assert_eq!(
            (listed[0].firmware.as_deref(), listed[0].uptime_s, listed[0].rssi),
            (Some("0.4.1"), Some(90), Some(-60))
        );
    }

    #[test]
    fn hashes_are_mosquittos_and_verify_only_the_right_password() {
        // Made by `mosquitto_passwd -c -b pw.txt alice secret` (Mosquitto 2.0.11).
        let mosquitto = "$7$101$MOCKBMAW1B+3iE3a$IqDm1EB1wrJQVR5cHhUnJxSGKH+1FVbH/EBQToNtaCfZ/MNl4xWUmfE5uqTCamLlbBxKrErog+pKNn4EV5Zldw==";
        assert!(verify_password("secret", mosquitto));
        assert!(!verify_password("secreT", mosquitto));
        let password = new_password();
        assert_eq!(password.len(), 40, "160 bits");
        let hash = hash_password(&password);
        assert!(hash.starts_with("$7$1000$"), "{hash}");
        assert!(verify_password(&password, &hash));
        assert!(!verify_password("", &hash));
        assert_ne!(hash, hash_password(&password), "salted");
        assert!(!verify_password("x", "$6$abc$def"));
        assert!(!verify_password("x", "garbage"));
    }

    #[test]
    fn devices_are_enrolled_listed_revoked_and_enrolled_again() {
        let conn = crate::store::open(&tempfile::tempdir().unwrap().path().join("d.db")).unwrap();
        let branch = crate::config::Config::demo().branch().unwrap();
        let now = Utc::now();
        let button = Device::new("button-2", Role::Button, Some("2")).unwrap();
        let first = add(&conn, button, Some(&branch), now, CLI_ACTOR).unwrap();
        assert_eq!((first.device.as_str(), first.username.as_str()), ("button-2", "button-2"));
        let stored = &table(&conn).unwrap()["button-2"];
        assert!(verify_password(&first.password, &stored.password_hash));
        assert!(!stored.password_hash.contains(&first.password), "only a hash is kept");
        assert!(matches!(add(&conn, button, Some(&branch), now, CLI_ACTOR), Err(DeviceError::AlreadyEnrolled(_))));
        let nowhere = Device::new("button-99", Role::Button, Some("99")).unwrap();
        assert!(matches!(add(&conn, nowhere, Some(&branch), now, CLI_ACTOR), Err(DeviceError::UnknownCounter(_))));
        revoke(&conn, "button-2", now, CLI_ACTOR).unwrap();
        assert!(table(&conn).unwrap().is_empty());
        assert!(matches!(revoke(&conn, "button-2", now, CLI_ACTOR), Err(DeviceError::NotEnrolled(_))));
        let again = add(&conn, button, Some(&branch), now, CLI_ACTOR).unwrap();
        assert_ne!(again.password, first.password);
        assert!(!verify_password(&first.password, &table(&conn).unwrap()["button-2"].password_hash));
        let (log, _) =
            crate::audit::page(&conn, now - chrono::Duration::days(1), now + chrono::Duration::days(1), None, 50)
                .unwrap();
        let actions: Vec<_> = log.iter().rev().map(|e| (e.action, e.actor.as_str(), e.subject.as_deref())).collect();
        let (enrolled, revoked) = (AuditAction::DeviceEnrolled, AuditAction::DeviceRevoked);
        assert_eq!(
            actions,
            [
                (enrolled, "cli", Some("button-2")),
                (revoked, "cli", Some("button-2")),
                (enrolled, "cli", Some("button-2"))
            ],
            "one entry per change, none for a refused one"
        );
        let fields: Vec<(&str, &str)> = log[1].after.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(fields, [("counter", "2"), ("role", "button")], "the revocation names role and counter");
        assert!(log.iter().all(|e| !e.after.values().any(|v| v == &first.password || v == &again.password)));
    }

    #[test]
    fn the_demo_enrols_its_devices_once_and_writes_them_privately() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("d.db")).unwrap();
        let branch = crate::config::Config::demo().branch().unwrap();
        assert!(enrol_demo(&conn, &branch, dir.path()).unwrap());
        assert!(!enrol_demo(&conn, &branch, dir.path()).unwrap(), "only on the first start");
        let now = crate::clock::now();
        let (log, _) =
            crate::audit::page(&conn, now - chrono::Duration::days(1), now + chrono::Duration::days(1), None, 500)
                .unwrap();
        assert_eq!(log.len(), 2 + 3 * branch.counters.len(), "one enrolment entry per demo device");
        assert!(log.iter().all(|e| e.action == AuditAction::DeviceEnrolled && e.actor == DEMO_ACTOR));
        let text = std::fs::read_to_string(dir.path().join(DEMO_FILE)).unwrap();
        let file: toml::Value = toml::from_str(&text).unwrap();
        let devices = file["device"].as_array().unwrap();
        assert_eq!(devices.len(), 2 + 3 * branch.counters.len());
        let table = table(&conn).unwrap();
        for d in devices {
            let id = d["device"].as_str().unwrap();
            assert!(verify_password(d["password"].as_str().unwrap(), &table[id].password_hash), "{id}");
            assert_eq!(d["role"].as_str(), Some(table[id].role.as_str()));
            assert_eq!(d.get("counter").and_then(|c| c.as_str()), table[id].counter.as_deref());
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(DEMO_FILE)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
