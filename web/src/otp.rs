//! One-time codes that confirm a mobile, pure (the time is an argument): the hub's `/join` and
//! the appointments site's booking confirmation share these rules — a code's shape and life,
//! how often one may be asked for and guessed, its keyed hash (only that is stored, bound to the
//! random handle of its confirmation page) and the constant-time comparison of a typed code.
use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Digits in a one-time code.
pub const CODE_DIGITS: usize = 6;
/// How long a code may be used.
pub const CODE_TTL: Duration = Duration::minutes(5);
/// Wrong codes allowed per code; the next try needs a new code.
pub const MAX_WRONG: u32 = 3;
/// Codes a mobile may be sent per [`CODES_WINDOW`].
pub const CODES_PER_MOBILE: i64 = 3;
pub const CODES_WINDOW: Duration = Duration::hours(1);

/// Where a sent code is: what [`may_try`] needs to know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodeState {
    pub expires_at: DateTime<Utc>,
    /// Wrong codes typed so far.
    pub attempts: u32,
    pub used: bool,
}

/// Why a pending code cannot be tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CodeRefusal {
    #[error("this code was used already")]
    Used,
    #[error("this code has expired")]
    Expired,
    #[error("too many wrong codes: ask for a new one")]
    TooManyWrong,
}

/// Whether a code in `state` may be tried at `now`.
pub fn may_try(state: CodeState, now: DateTime<Utc>) -> Result<(), CodeRefusal> {
    if state.used {
        Err(CodeRefusal::Used)
    } else if state.attempts >= MAX_WRONG {
        Err(CodeRefusal::TooManyWrong)
    } else if now >= state.expires_at {
        Err(CodeRefusal::Expired)
    } else {
        Ok(())
    }
}

/// A typed code as compared: its digits (Arabic-Indic ones too), spaces ignored; `None` unless
/// exactly [`CODE_DIGITS`] digits.
pub fn typed_code(text: &str) -> Option<String> {
    let mut digits = String::new();
    for c in text.chars() {
        match c {
            '0'..='9' => digits.push(c),
            '٠'..='٩' => digits.push(char::from(b'0' + (c as u32 - '٠' as u32) as u8)),
            '۰'..='۹' => digits.push(char::from(b'0' + (c as u32 - '۰' as u32) as u8)),
            ' ' | '-' => {}
            _ => return None,
        }
    }
    (digits.len() == CODE_DIGITS).then_some(digits)
}

/// A one-time code from random bytes (uniform enough: 2⁶⁴ mod 10⁶ is negligible).
pub fn code_from(random: u64) -> String {
    format!("{:0width$}", random % 10u64.pow(CODE_DIGITS as u32), width = CODE_DIGITS)
}

/// A mobile as a page shows it back: `05•••••567`.
pub fn masked(mobile: &str) -> String {
    let national = mobile.strip_prefix("+966").unwrap_or(mobile);
    let tail: String = national.chars().rev().take(3).collect::<Vec<_>>().into_iter().rev().collect();
    format!("0{}•••••{tail}", national.chars().next().unwrap_or('5'))
}

fn code_hmac(key: &[u8], handle: &str, code: &str) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"otp:");
    mac.update(handle.as_bytes());
    mac.update(b":");
    mac.update(code.as_bytes());
    mac
}

/// The keyed hash of `code` sent for `handle`: what is stored instead of the code.
pub fn code_mac(key: &[u8], handle: &str, code: &str) -> Vec<u8> {
    code_hmac(key, handle, code).finalize().into_bytes().to_vec()
}

/// Whether `code` is the one whose [`code_mac`] is `stored`, compared in constant time
/// (`Mac::verify_slice`, by the `subtle` crate).
pub fn code_matches(key: &[u8], handle: &str, code: &str, stored: &[u8]) -> bool {
    code_hmac(key, handle, code).verify_slice(stored).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(now: DateTime<Utc>) -> CodeState {
        CodeState { expires_at: now + CODE_TTL, attempts: 0, used: false }
    }

    #[test]
    fn a_code_may_be_tried_until_used_expired_or_guessed_at_too_often() {
        let now = Utc::now();
        assert_eq!(may_try(state(now), now), Ok(()));
        assert_eq!(may_try(state(now), now + CODE_TTL), Err(CodeRefusal::Expired));
        assert_eq!(may_try(CodeState { attempts: MAX_WRONG, ..state(now) }, now), Err(CodeRefusal::TooManyWrong));
        assert_eq!(may_try(CodeState { attempts: MAX_WRONG - 1, ..state(now) }, now), Ok(()));
        assert_eq!(may_try(CodeState { used: true, ..state(now) }, now), Err(CodeRefusal::Used));
    }

    #[test]
    fn typed_codes_are_six_digits_however_written() {
        assert_eq!(typed_code(" 123 456 ").as_deref(), Some("123456"));
        assert_eq!(typed_code("١٢٣٤٥٦").as_deref(), Some("123456"));
        for bad in ["12345", "1234567", "12a456", ""] {
            assert_eq!(typed_code(bad), None, "{bad}");
        }
        assert_eq!(code_from(42), "000042");
        assert_eq!(code_from(u64::MAX).len(), 6);
        assert_eq!(masked("+966501234567"), "05•••••567");
    }

    #[test]
    fn a_code_matches_only_its_own_handle_under_its_own_key() {
        let mac = code_mac(b"key", "h1", "123456");
        assert!(code_matches(b"key", "h1", "123456", &mac));
        assert!(!code_matches(b"key", "h1", "123457", &mac));
        assert!(!code_matches(b"key", "h2", "123456", &mac), "bound to the handle");
        assert!(!code_matches(b"other", "h1", "123456", &mac), "keyed");
    }
}
