//! Signed firmware updates for counter buttons, the hub's side (`docs/PROTOCOL.md`, "Firmware
//! updates"): the release key's signature checked when an image is published, the images kept in
//! `DATA_DIR/firmware/`, the buttons a manager chose, the offers retained on each chosen button's
//! `…/update/offer`, and the chunks served from the stored image, bounded per button.
//!
//! The release manager holds the secret key (`dawr-hub firmware keygen` writes one, `firmware
//! sign` signs an image's manifest with it); the hub holds only the public key
//! (`DATA_DIR/firmware/release.pub`, put there by `firmware trust`), and refuses to publish an
//! image whose signature it does not verify. The button checks the same signature again with the
//! key built into it, so a hub cannot give it an image the release manager did not sign.
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use dawr_firmware_logic::update::manifest;
use dawr_protocol::acl::Role;
use dawr_protocol::api::{DeviceInfo, FirmwareImage, FirmwareOverview, FirmwareRollout};
use dawr_protocol::device::{ChunkError, ChunkRequest, MAX_CHUNK, UpdateOffer, UpdateReport};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use rusqlite::{Connection, params};
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditAction, NewEntry};
use crate::store::{StoreError, ts};

/// The largest image the hub accepts (the button's update slot is smaller).
pub const MAX_IMAGE: u64 = 1024 * 1024;
/// The most chunk requests of one button the hub works on at once.
pub const MAX_IN_FLIGHT: u32 = 4;
/// The most chunk requests of one button the hub answers with data in one second.
pub const MAX_PER_SECOND: u32 = 64;
/// The folder in the data directory that holds the images and the release public key.
pub const FOLDER: &str = "firmware";
/// The release public key's file in that folder (64 hex digits).
pub const RELEASE_KEY_FILE: &str = "release.pub";

/// Why a firmware operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FirmwareError {
    #[error("{path}: {source}")]
    File { path: PathBuf, source: std::io::Error },
    #[error("{0}: not a key (64 hex digits expected)")]
    BadKey(String),
    #[error("the version {0:?} is not 1-24 characters of 0-9 A-Z a-z . + - (starting with a letter or digit)")]
    BadVersion(String),
    #[error("the signature is not 128 hex digits")]
    BadSignatureText,
    #[error("the image is {0} bytes: the largest accepted is {MAX_IMAGE} (and an empty one is refused)")]
    BadSize(u64),
    #[error(
        "the signature does not verify with the release key in {0}: this image, version and signature do not belong together (or it was signed by another key); nothing was published"
    )]
    SignatureRefused(PathBuf),
    #[error("no release key is trusted yet: run `dawr-hub firmware trust --public-key HEX` first ({0} is missing)")]
    NoReleaseKey(PathBuf),
    #[error("version {0} is already published with other content; publish under a new version")]
    VersionTaken(String),
    #[error("no image of version {0} is published")]
    UnknownVersion(String),
    #[error("{0} is not an enrolled counter button")]
    NotAButton(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<rusqlite::Error> for FirmwareError {
    fn from(e: rusqlite::Error) -> Self {
        FirmwareError::Store(e.into())
    }
}

/// Whether `version` may name an image (it is also the image's file name).
pub fn valid_version(version: &str) -> bool {
    (1..=24).contains(&version.len())
        && version.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && version.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    dawr_protocol::device::hex_decode(text.trim())
}

fn read(path: &Path) -> Result<Vec<u8>, FirmwareError> {
    std::fs::read(path).map_err(|source| FirmwareError::File { path: path.to_path_buf(), source })
}

/// A new release key: writes the secret (64 hex digits, readable by its owner only) to `out` and
/// returns the public key (hex).
pub fn keygen(out: &Path) -> Result<String, FirmwareError> {
    let secret: [u8; 32] = rand::random();
    let key = SigningKey::from_bytes(&secret);
    crate::devices::write_private(out, format!("{}\n", hex(&secret)).as_bytes())
        .map_err(|source| FirmwareError::File { path: out.to_path_buf(), source })?;
    Ok(hex(key.verifying_key().as_bytes()))
}

/// The manifest the release key signs for `image` as `version`.
fn image_manifest(version: &str, image: &[u8]) -> (Vec<u8>, [u8; 32]) {
    let sha256: [u8; 32] = Sha256::digest(image).into();
    (manifest(version, image.len() as u32, &sha256).to_vec(), sha256)
}

fn check_image(version: &str, image: &[u8]) -> Result<(), FirmwareError> {
    if !valid_version(version) {
        return Err(FirmwareError::BadVersion(version.to_string()));
    }
    let size = image.len() as u64;
    if size == 0 || size > MAX_IMAGE {
        return Err(FirmwareError::BadSize(size));
    }
    Ok(())
}

/// Signs `image` as `version` with the secret key in `key_file`: the signature, hex.
pub fn sign(key_file: &Path, image: &[u8], version: &str) -> Result<String, FirmwareError> {
    check_image(version, image)?;
    let text = String::from_utf8_lossy(&read(key_file)?).to_string();
    let secret = unhex::<32>(&text).ok_or_else(|| FirmwareError::BadKey(key_file.display().to_string()))?;
    let (manifest, _) = image_manifest(version, image);
    Ok(hex(&SigningKey::from_bytes(&secret).sign(&manifest).to_bytes()))
}

/// Makes `public_key` (hex) the release key images must be signed with.
pub fn trust(data_dir: &Path, public_key: &str) -> Result<PathBuf, FirmwareError> {
    let bytes = unhex::<32>(public_key).ok_or_else(|| FirmwareError::BadKey("--public-key".into()))?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| FirmwareError::BadKey("--public-key".into()))?;
    let dir = data_dir.join(FOLDER);
    std::fs::create_dir_all(&dir).map_err(|source| FirmwareError::File { path: dir.clone(), source })?;
    let path = dir.join(RELEASE_KEY_FILE);
    std::fs::write(&path, format!("{}\n", hex(&bytes)))
        .map_err(|source| FirmwareError::File { path: path.clone(), source })?;
    Ok(path)
}

/// Checks `signature` (hex) over `image` as `version` with the trusted release key; returns the
/// image's description.
pub fn verify(
    data_dir: &Path,
    image: &[u8],
    version: &str,
    signature: &str,
    now: DateTime<Utc>,
) -> Result<FirmwareImage, FirmwareError> {
    check_image(version, image)?;
    let key_path = data_dir.join(FOLDER).join(RELEASE_KEY_FILE);
    if !key_path.exists() {
        return Err(FirmwareError::NoReleaseKey(key_path));
    }
    let text = String::from_utf8_lossy(&read(&key_path)?).to_string();
    let key = unhex::<32>(&text)
        .and_then(|k| VerifyingKey::from_bytes(&k).ok())
        .ok_or_else(|| FirmwareError::BadKey(key_path.display().to_string()))?;
    let signature_bytes = unhex::<64>(signature).ok_or(FirmwareError::BadSignatureText)?;
    let (manifest, sha256) = image_manifest(version, image);
    key.verify_strict(&manifest, &Signature::from_bytes(&signature_bytes))
        .map_err(|_| FirmwareError::SignatureRefused(key_path))?;
    Ok(FirmwareImage {
        version: version.to_string(),
        size: image.len() as u32,
        sha256: hex(&sha256),
        signature: hex(&signature_bytes),
        published_at: now,
    })
}

/// Where the image of `version` is kept.
pub fn image_path(data_dir: &Path, version: &str) -> PathBuf {
    data_dir.join(FOLDER).join(format!("{version}.bin"))
}

/// `dawr-hub firmware publish`: verifies the signature, then stores the image and records it
/// (audited as `actor`). Publishing the same image again changes nothing.
pub fn publish(
    conn: &Connection,
    data_dir: &Path,
    image: &[u8],
    version: &str,
    signature: &str,
    actor: &str,
    now: DateTime<Utc>,
) -> Result<FirmwareImage, FirmwareError> {
    let published = verify(data_dir, image, version, signature, now)?;
    if let Some(earlier) = images(conn)?.into_iter().find(|i| i.version == version) {
        if earlier.sha256 == published.sha256 {
            return Ok(earlier);
        }
        return Err(FirmwareError::VersionTaken(version.to_string()));
    }
    let path = image_path(data_dir, version);
    let partial = path.with_extension("bin.partial");
    std::fs::write(&partial, image).map_err(|source| FirmwareError::File { path: partial.clone(), source })?;
    std::fs::rename(&partial, &path).map_err(|source| FirmwareError::File { path: path.clone(), source })?;
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO firmware_images (version, size, sha256, signature, published_at, published_by)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        params![version, published.size, published.sha256, published.signature, ts(now), actor],
    )?;
    let entry = NewEntry::new(now, actor, AuditAction::FirmwarePublished)
        .subject(version)
        .after("size", published.size)
        .after("sha256", &published.sha256);
    audit::record(&tx, &entry)?;
    tx.commit()?;
    Ok(published)
}

/// The images held, newest first.
pub fn images(conn: &Connection) -> Result<Vec<FirmwareImage>, FirmwareError> {
    let mut stmt = conn.prepare(
        "SELECT version, size, sha256, signature, published_at FROM firmware_images ORDER BY published_at DESC, version",
    )?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get::<_, String>(4)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (version, size, sha256, signature, at) = row?;
        let published_at = dawr_web::db::parse_ts("firmware_images.published_at", &at)?;
        out.push(FirmwareImage { version, size, sha256, signature, published_at });
    }
    Ok(out)
}

/// The buttons chosen, by device id.
pub fn rollouts(conn: &Connection) -> Result<Vec<FirmwareRollout>, FirmwareError> {
    let mut stmt =
        conn.prepare("SELECT device, version, chosen_at, chosen_by FROM firmware_rollouts ORDER BY device")?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get::<_, String>(2)?, r.get(3)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (device, version, at, chosen_by) = row?;
        let chosen_at = dawr_web::db::parse_ts("firmware_rollouts.chosen_at", &at)?;
        out.push(FirmwareRollout { device, version, chosen_at, chosen_by });
    }
    Ok(out)
}

/// What `GET /api/v1/firmware` shows.
pub fn overview(conn: &Connection) -> Result<FirmwareOverview, FirmwareError> {
    Ok(FirmwareOverview { images: images(conn)?, rollouts: rollouts(conn)? })
}

/// Offers `version` to `devices` (`None`: withdraws their offers), audited per device as
/// `actor`, all or nothing. Every device must be an enrolled button.
pub fn choose(
    conn: &Connection,
    version: Option<&str>,
    devices: &[String],
    actor: &str,
    now: DateTime<Utc>,
) -> Result<(), FirmwareError> {
    let table = crate::devices::table(conn).map_err(|e| match e {
        crate::devices::DeviceError::Store(e) => FirmwareError::Store(e),
        other => FirmwareError::Store(StoreError::Corrupt { column: "devices", value: other.to_string() }),
    })?;
    for device in devices {
        if table.get(device).is_none_or(|d| d.role != Role::Button) {
            return Err(FirmwareError::NotAButton(device.clone()));
        }
    }
    if let Some(version) = version
        && !images(conn)?.iter().any(|i| i.version == version)
    {
        return Err(FirmwareError::UnknownVersion(version.to_string()));
    }
    let tx = conn.unchecked_transaction()?;
    for device in devices {
        let entry = match version {
            Some(version) => {
                tx.execute(
                    "INSERT INTO firmware_rollouts (device, version, chosen_at, chosen_by) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(device) DO UPDATE SET version = excluded.version,
                       chosen_at = excluded.chosen_at, chosen_by = excluded.chosen_by",
                    params![device, version, ts(now), actor],
                )?;
                NewEntry::new(now, actor, AuditAction::FirmwareOffered).subject(device).after("version", version)
            }
            None => {
                tx.execute("DELETE FROM firmware_rollouts WHERE device = ?1", [device])?;
                NewEntry::new(now, actor, AuditAction::FirmwareWithdrawn).subject(device)
            }
        };
        audit::record(&tx, &entry)?;
    }
    tx.commit()?;
    Ok(())
}

/// Keeps a button's last update report.
pub fn save_report(conn: &Connection, device: &str, report: &UpdateReport, at: DateTime<Utc>) -> rusqlite::Result<()> {
    let json = serde_json::to_string(report).expect("a report serialises");
    conn.execute(
        "INSERT INTO firmware_states (device, report, at) VALUES (?1, ?2, ?3)
         ON CONFLICT(device) DO UPDATE SET report = excluded.report, at = excluded.at",
        params![device, json, ts(at)],
    )?;
    Ok(())
}

fn load_reports(conn: &Connection) -> Result<HashMap<String, UpdateReport>, FirmwareError> {
    let mut stmt = conn.prepare("SELECT device, report FROM firmware_states")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
    let mut out = HashMap::new();
    for row in rows {
        let (device, json) = row?;
        if let Ok(report) = serde_json::from_str(&json) {
            out.insert(device, report);
        }
    }
    Ok(out)
}

/// The offer of `image` as the hub retains it on a chosen button's `…/update/offer`.
pub fn offer_of(image: &FirmwareImage) -> Option<UpdateOffer> {
    Some(UpdateOffer {
        version: image.version.as_str().try_into().ok()?,
        size: image.size,
        sha256: image.sha256.as_str().try_into().ok()?,
        signature: image.signature.as_str().try_into().ok()?,
    })
}

/// One button's chunk requests lately.
#[derive(Debug, Clone, Copy)]
struct Flow {
    window: Instant,
    answered: u32,
    in_flight: u32,
}

/// What the hub knows of the fleet's updates while it runs: the offer of each chosen button, the
/// buttons whose offer changed and is still to be published, each button's last report, and the
/// chunk requests in flight.
#[derive(Debug, Default)]
pub struct Fleet {
    data_dir: PathBuf,
    state: Mutex<FleetState>,
    /// Wakes the MQTT intake to publish the changed offers.
    pub wake: tokio::sync::Notify,
}

#[derive(Debug, Default)]
struct FleetState {
    offers: HashMap<String, FirmwareImage>,
    changed: Vec<String>,
    reports: HashMap<String, UpdateReport>,
    flows: HashMap<String, Flow>,
}

/// A chunk to read from an image and send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkJob {
    pub path: PathBuf,
    pub version: String,
    pub offset: u32,
    pub len: u32,
}

impl Fleet {
    /// The fleet as the database keeps it.
    pub fn load(conn: &Connection, data_dir: &Path) -> Result<Fleet, FirmwareError> {
        let images = images(conn)?;
        let offers = rollouts(conn)?
            .into_iter()
            .filter_map(|r| Some((r.device, images.iter().find(|i| i.version == r.version)?.clone())))
            .collect();
        let state = FleetState { offers, reports: load_reports(conn)?, ..FleetState::default() };
        Ok(Fleet { data_dir: data_dir.to_path_buf(), state: Mutex::new(state), wake: tokio::sync::Notify::new() })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FleetState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Re-reads the offers after a change to `devices` and wakes the intake to publish them.
    pub fn reload(&self, conn: &Connection, devices: &[String]) -> Result<(), FirmwareError> {
        let images = images(conn)?;
        let rollouts = rollouts(conn)?;
        let mut state = self.lock();
        for device in devices {
            let offered = rollouts
                .iter()
                .find(|r| &r.device == device)
                .and_then(|r| images.iter().find(|i| i.version == r.version));
            match offered {
                Some(image) => state.offers.insert(device.clone(), image.clone()),
                None => state.offers.remove(device),
            };
            state.changed.push(device.clone());
        }
        drop(state);
        self.wake.notify_one();
        Ok(())
    }

    /// The offers changed since the last call: each device with its offer (`None`: withdrawn).
    pub fn take_changed(&self) -> Vec<(String, Option<UpdateOffer>)> {
        let mut state = self.lock();
        let changed = std::mem::take(&mut state.changed);
        changed.into_iter().map(|d| (d.clone(), state.offers.get(&d).and_then(offer_of))).collect()
    }

    /// Every current offer (published again after each connect: the embedded broker keeps no
    /// retained message across restarts).
    pub fn all_offers(&self) -> Vec<(String, UpdateOffer)> {
        self.lock().offers.iter().filter_map(|(d, i)| Some((d.clone(), offer_of(i)?))).collect()
    }

    /// Notes a button's update report.
    pub fn note_report(&self, device: &str, report: UpdateReport) {
        let mut state = self.lock();
        if state.reports.len() < 4096 || state.reports.contains_key(device) {
            state.reports.insert(device.to_string(), report);
        }
    }

    /// Adds the offered version and the last report to each device listed.
    pub fn annotate(&self, list: &mut [DeviceInfo]) {
        let state = self.lock();
        for info in list {
            info.offered = state.offers.get(&info.device).map(|i| i.version.clone());
            info.update = state.reports.get(&info.device).cloned();
        }
    }

    /// Decides on a chunk request from `device` at `now`: the chunk to send, or why not. A
    /// request admitted counts as in flight until [`Fleet::finished`].
    pub fn admit(&self, device: &str, request: &ChunkRequest, now: Instant) -> Result<ChunkJob, (ChunkError, String)> {
        let mut state = self.lock();
        let Some(image) = state.offers.get(device).filter(|i| i.version == request.version.as_str()) else {
            return Err((ChunkError::NotOffered, format!("version {} is not offered to {device}", request.version)));
        };
        if request.len == 0 || request.len > MAX_CHUNK || request.offset >= image.size {
            let size = image.size;
            return Err((
                ChunkError::BadRange,
                format!(
                    "offset {} len {} is outside the image ({size} bytes; len 1-{MAX_CHUNK})",
                    request.offset, request.len
                ),
            ));
        }
        let job = ChunkJob {
            path: image_path(&self.data_dir, &image.version),
            version: image.version.clone(),
            offset: request.offset,
            len: request.len.min(image.size - request.offset),
        };
        if state.flows.len() >= 4096 && !state.flows.contains_key(device) {
            state.flows.retain(|_, f| f.in_flight > 0);
        }
        let flow = state.flows.entry(device.to_string()).or_insert(Flow { window: now, answered: 0, in_flight: 0 });
        if now.duration_since(flow.window) >= Duration::from_secs(1) {
            flow.window = now;
            flow.answered = 0;
        }
        if flow.in_flight >= MAX_IN_FLIGHT || flow.answered >= MAX_PER_SECOND {
            return Err((ChunkError::Busy, "too many chunk requests at once: ask again shortly".into()));
        }
        flow.in_flight += 1;
        flow.answered += 1;
        Ok(job)
    }

    /// A chunk admitted for `device` was sent (or could not be).
    pub fn finished(&self, device: &str) {
        if let Some(flow) = self.lock().flows.get_mut(device) {
            flow.in_flight = flow.in_flight.saturating_sub(1);
        }
    }
}

/// Reads a chunk from its image.
pub fn read_chunk(job: &ChunkJob) -> std::io::Result<Vec<u8>> {
    use std::io::{Read, Seek, SeekFrom};
    let mut file = std::fs::File::open(&job.path)?;
    file.seek(SeekFrom::Start(u64::from(job.offset)))?;
    let mut buf = vec![0u8; job.len as usize];
    file.read_exact(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet_with(device: &str, size: u32) -> Fleet {
        let image = FirmwareImage {
            version: "0.5.0".into(),
            size,
            sha256: "a".repeat(64),
            signature: "b".repeat(128),
            published_at: Utc::now(),
        };
        let fleet = Fleet::default();
        fleet.lock().offers.insert(device.into(), image);
        fleet
    }

    fn request(version: &str, offset: u32, len: u32) -> ChunkRequest {
        ChunkRequest { version: version.try_into().unwrap(), offset, len }
    }

    #[test]
    fn only_the_chosen_button_gets_chunks_within_the_image() {
        let fleet = fleet_with("button-1", 3000);
        let now = Instant::now();
        let job = fleet.admit("button-1", &request("0.5.0", 2048, 1024), now).unwrap();
        assert_eq!((job.offset, job.len), (2048, 952), "the last chunk is cut at the end");
        fleet.finished("button-1");
        let refused = |device, r: ChunkRequest| fleet.admit(device, &r, now).unwrap_err().0;
        assert_eq!(refused("button-2", request("0.5.0", 0, 1024)), ChunkError::NotOffered, "not chosen");
        assert_eq!(refused("button-1", request("0.4.0", 0, 1024)), ChunkError::NotOffered, "another version");
        assert_eq!(refused("button-1", request("0.5.0", 3000, 10)), ChunkError::BadRange, "past the end");
        assert_eq!(refused("button-1", request("0.5.0", 0, 1025)), ChunkError::BadRange, "over 1 KiB");
        assert_eq!(refused("button-1", request("0.5.0", 0, 0)), ChunkError::BadRange, "empty");
    }

    #[test]
    fn a_button_has_a_bounded_number_of_requests_in_flight_and_per_second() {
        let fleet = fleet_with("button-1", 100_000);
        let now = Instant::now();
        for _ in 0..MAX_IN_FLIGHT {
            fleet.admit("button-1", &request("0.5.0", 0, 1024), now).unwrap();
        }
        let busy = fleet.admit("button-1", &request("0.5.0", 0, 1024), now).unwrap_err();
        assert_eq!(busy.0, ChunkError::Busy);
        fleet.finished("button-1");
        fleet.admit("button-1", &request("0.5.0", 0, 1024), now).unwrap();
        for _ in 0..MAX_PER_SECOND {
            fleet.finished("button-1");
            let _ = fleet.admit("button-1", &request("0.5.0", 0, 1024), now);
        }
        fleet.finished("button-1");
        assert_eq!(fleet.admit("button-1", &request("0.5.0", 0, 1024), now).unwrap_err().0, ChunkError::Busy);
        let later = now + Duration::from_secs(1);
        assert!(fleet.admit("button-1", &request("0.5.0", 0, 1024), later).is_ok(), "a new second");
    }

    #[test]
    fn versions_are_safe_file_names() {
        for ok in ["0.5.0", "1.0.0-rc2", "2026.11+build7"] {
            assert!(valid_version(ok), "{ok}");
        }
        for bad in ["", "../x", "a/b", ".hidden", "0.5.0 ", &"9".repeat(25)] {
            assert!(!valid_version(bad), "{bad}");
        }
    }

    #[test]
    fn a_signed_image_is_published_and_a_bad_signature_refused() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("d.db")).unwrap();
        let key = dir.path().join("release.key");
        let public = keygen(&key).unwrap();
        let image: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
        let now = Utc::now();
        let signature = sign(&key, &image, "0.5.0").unwrap();
        let missing = publish(&conn, dir.path(), &image, "0.5.0", &signature, "cli", now).unwrap_err();
        assert!(matches!(missing, FirmwareError::NoReleaseKey(_)), "{missing}");
        trust(dir.path(), &public).unwrap();
        let wrong = sign(&key, &image, "0.5.1").unwrap();
        let refused = publish(&conn, dir.path(), &image, "0.5.0", &wrong, "cli", now).unwrap_err();
        assert!(refused.to_string().contains("does not verify"), "{refused}");
        let other = dir.path().join("other.key");
        keygen(&other).unwrap();
        let foreign = sign(&other, &image, "0.5.0").unwrap();
        assert!(matches!(
            publish(&conn, dir.path(), &image, "0.5.0", &foreign, "cli", now),
            Err(FirmwareError::SignatureRefused(_))
        ));
        assert!(images(&conn).unwrap().is_empty(), "nothing refused is kept");
        let published = publish(&conn, dir.path(), &image, "0.5.0", &signature, "cli", now).unwrap();
        assert_eq!(published.size, 5000);
        assert_eq!(std::fs::read(image_path(dir.path(), "0.5.0")).unwrap(), image);
        let mut changed = image.clone();
        changed[0] ^= 1;
        let resigned = sign(&key, &changed, "0.5.0").unwrap();
        assert!(matches!(
            publish(&conn, dir.path(), &changed, "0.5.0", &resigned, "cli", now),
            Err(FirmwareError::VersionTaken(_))
        ));
        let too_big = vec![0u8; MAX_IMAGE as usize + 1];
        assert!(matches!(sign(&key, &too_big, "0.6.0"), Err(FirmwareError::BadSize(_))));
    }
}
