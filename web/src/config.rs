//! What both services' TOML files share: reading and parsing one, and the branch's UTC offset.
use std::path::{Path, PathBuf};

use chrono::FixedOffset;
use serde::de::DeserializeOwned;

/// A configuration file that cannot be read or parsed.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error("cannot read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: {source}")]
    Parse { path: PathBuf, source: toml::de::Error },
}

/// Reads and parses the TOML file at `path`.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T, FileError> {
    let text = std::fs::read_to_string(path).map_err(|source| FileError::Read { path: path.into(), source })?;
    parse_toml(&text, path)
}

/// Parses `text`, the TOML file at `path` (named in errors).
pub fn parse_toml<T: DeserializeOwned>(text: &str, path: &Path) -> Result<T, FileError> {
    toml::from_str(text).map_err(|source| FileError::Parse { path: path.into(), source })
}

/// Reads `+03:00` / `-05:30` (hours up to 14).
pub fn parse_offset(text: &str) -> Option<FixedOffset> {
    let (sign, rest) = match text.as_bytes().first()? {
        b'+' => (1, &text[1..]),
        b'-' => (-1, &text[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if h > 14 || m > 59 {
        return None;
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_have_a_sign_hours_and_minutes() {
        assert_eq!(parse_offset("+03:00").unwrap().local_minus_utc(), 3 * 3600);
        assert_eq!(parse_offset("-05:30").unwrap().local_minus_utc(), -(5 * 3600 + 1800));
        for bad in ["03:00", "+3", "+15:00", "+03:60", ""] {
            assert_eq!(parse_offset(bad), None, "{bad}");
        }
        let missing = read_toml::<toml::Table>(Path::new("/nonexistent.toml")).unwrap_err();
        assert!(missing.to_string().starts_with("cannot read /nonexistent.toml"));
    }
}
