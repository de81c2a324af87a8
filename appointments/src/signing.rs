//! The site's Ed25519 key, which signs the check-in token on each booking's QR code (see
//! `dawr_protocol::booking_token`), so a branch hub that has never pulled a booking can still
//! check it in.
//!
//! The key is a file outside the repository: `[site] signing_key`, by default
//! `booking-signing.key` in the data directory, made on the first start (mode 0600, written
//! whole before it appears, so two processes starting on one directory end with the same key).
//! Replicas behind a load balancer are given the same file. Hubs are given its public key
//! (`[appointments] booking_keys`); the site logs it at every start.
use std::io::Write;
use std::path::{Path, PathBuf};

use dawr_protocol::booking_token::{self, Claims, SigningKey, TokenError};

use crate::config::Branch;
use crate::store::Booking;

/// The key file's name in the data directory when `[site] signing_key` is not set.
pub const DEFAULT_FILE: &str = "booking-signing.key";

/// Why the key could not be read or made.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the booking signing key {path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("the booking signing key {path} is not a base64 Ed25519 seed (32 bytes)")]
    Invalid { path: PathBuf },
}

/// Reads the key at `path`, or makes one there if there is none.
pub fn load_or_create(path: &Path) -> Result<SigningKey, KeyError> {
    let io = |source| KeyError::Io { path: path.to_path_buf(), source };
    match std::fs::read_to_string(path) {
        Ok(text) => return parse(path, &text),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io(e)),
        Err(_) => {}
    }
    let key = SigningKey::from_bytes(&rand::random::<[u8; 32]>());
    // Written under a temporary name, then linked into place: another process starting at the
    // same moment either finds no file or a whole one, and the first link wins.
    let temporary = path.with_extension(format!("tmp{}", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary).map_err(io)?;
    file.write_all(format!("{}\n", booking_token::signing_key_text(&key)).as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    let linked = std::fs::hard_link(&temporary, path);
    let _ = std::fs::remove_file(&temporary);
    match linked {
        Ok(()) => Ok(key),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            parse(path, &std::fs::read_to_string(path).map_err(io)?)
        }
        Err(e) => Err(io(e)),
    }
}

fn parse(path: &Path, text: &str) -> Result<SigningKey, KeyError> {
    booking_token::parse_signing_key(text).map_err(|_| KeyError::Invalid { path: path.to_path_buf() })
}

/// What the token of `booking` (at `branch`) says.
pub fn claims(branch: &Branch, booking: &Booking) -> Claims {
    Claims {
        code: booking.code.clone(),
        branch: booking.branch.clone(),
        service: booking.service.clone(),
        start: booking.start,
        end: crate::slots::slot_end(branch, booking.start),
        id_hash: booking_token::id_hash(&booking.code, &booking.national_id),
    }
}

/// The signed check-in token of `booking`, or `None` if its claims cannot be encoded (never for
/// a configuration the site accepts: codes, branch ids and service codes are short ASCII).
pub fn token(key: &SigningKey, branch: &Branch, booking: &Booking) -> Option<String> {
    match booking_token::sign(key, &claims(branch, booking)) {
        Ok(token) => Some(token),
        Err(TokenError::Unencodable(what)) => {
            tracing::warn!(code = %booking.code, what, "booking token not made: a claim does not fit");
            None
        }
        Err(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_made_once_and_kept_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(DEFAULT_FILE);
        let made = load_or_create(&path).unwrap();
        let again = load_or_create(&path).unwrap();
        assert_eq!(made.to_bytes(), again.to_bytes(), "the second start reads the first's key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        std::fs::write(&path, "not a key").unwrap();
        assert!(matches!(load_or_create(&path), Err(KeyError::Invalid { .. })));
    }
}
