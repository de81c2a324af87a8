//! The branch's secret for the keyed hash of visitors: 32 random bytes in `visitor.key` in the
//! data directory, created on first start readable by the hub's user only (`0600`), read on
//! every later start. Losing it only means earlier visits are no longer matched to new ones.
use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// The key file's name inside the data directory.
pub const FILE_NAME: &str = "visitor.key";

/// Why the key could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}: not a visitor key (64 hex digits)")]
    Malformed(PathBuf),
}

/// The secret of the keyed hash (HMAC-SHA256).
#[derive(Clone)]
pub struct VisitorKey([u8; 32]);

impl std::fmt::Debug for VisitorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VisitorKey(…)")
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl VisitorKey {
    /// A key from its bytes (tests).
    pub fn from_bytes(bytes: [u8; 32]) -> VisitorKey {
        VisitorKey(bytes)
    }

    /// Reads `dir/visitor.key`, or creates it (mode `0600`) when there is none.
    pub fn load_or_create(dir: &Path) -> Result<VisitorKey, KeyError> {
        let path = dir.join(FILE_NAME);
        let io = |source| KeyError::Io { path: path.clone(), source };
        match std::fs::read_to_string(&path) {
            Ok(text) => Self::parse(text.trim()).ok_or_else(|| KeyError::Malformed(path.clone())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                rand::rng().fill_bytes(&mut bytes);
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(&path).map_err(io)?;
                file.write_all(format!("{}\n", hex(&bytes)).as_bytes()).map_err(io)?;
                file.sync_all().map_err(io)?;
                tracing::info!(path = %path.display(), "created the branch's visitor key");
                Ok(VisitorKey(bytes))
            }
            Err(e) => Err(io(e)),
        }
    }

    fn parse(text: &str) -> Option<VisitorKey> {
        if text.len() != 64 || !text.is_ascii() {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(VisitorKey(bytes))
    }

    /// The keyed hash of a visitor as stored (normalised: see `cases::change`), 64 hex digits.
    pub fn hash(&self, visitor: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"visitor:");
        mac.update(visitor.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The keyed hash of a one-time code sent to confirm a mobile, bound to its handle (what
    /// `join_codes` keeps instead of the code).
    pub fn code_mac(&self, handle: &str, code: &str) -> Vec<u8> {
        self.code_hmac(handle, code).finalize().into_bytes().to_vec()
    }

    /// Whether `code` is the one whose [`VisitorKey::code_mac`] is `stored`, compared in
    /// constant time (`Mac::verify_slice`, by the `subtle` crate).
    pub fn code_matches(&self, handle: &str, code: &str, stored: &[u8]) -> bool {
        self.code_hmac(handle, code).verify_slice(stored).is_ok()
    }

    fn code_hmac(&self, handle: &str, code: &str) -> Hmac<Sha256> {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"join-code:");
        mac.update(handle.as_bytes());
        mac.update(b":");
        mac.update(code.as_bytes());
        mac
    }

    /// A short fingerprint of a personal text for the audit log (`hmac:` and 16 hex digits):
    /// shows that a value changed, and which of two it was, without keeping it.
    pub fn fingerprint(&self, text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"audit:");
        mac.update(text.as_bytes());
        format!("hmac:{}", &hex(&mac.finalize().into_bytes())[..16])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_created_private_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let key = VisitorKey::load_or_create(dir.path()).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(FILE_NAME)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = VisitorKey::load_or_create(dir.path()).unwrap();
        assert_eq!(key.hash("1012345678"), again.hash("1012345678"), "the same key on the next start");
        let other = VisitorKey::from_bytes([7; 32]);
        assert_ne!(key.hash("1012345678"), other.hash("1012345678"), "keyed: another branch's hash differs");
        assert_ne!(key.hash("1012345678"), key.hash("1012345679"));
        assert_eq!(key.hash("x").len(), 64);
        assert!(!key.hash("1012345678").contains("1012345678"));
        assert_eq!(key.fingerprint("call back").len(), 21);
        std::fs::write(dir.path().join(FILE_NAME), "nope").unwrap();
        assert!(matches!(VisitorKey::load_or_create(dir.path()), Err(KeyError::Malformed(_))));
    }
}
