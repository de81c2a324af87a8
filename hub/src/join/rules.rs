//! The one-time code's rules as the hub applies them, pure (the time is an argument): the code's
//! shape, life and limits (shared with the appointments site: `dawr_web::otp`), whether a pending
//! code may still be tried, and the shape of a check-in code.
use chrono::{DateTime, Utc};
// The code's own rules are shared with the appointments site's booking confirmation.
pub use dawr_web::otp::{
    CODE_DIGITS, CODE_TTL, CODES_PER_MOBILE, CODES_WINDOW, CodeRefusal, MAX_WRONG, code_from, masked, typed_code,
};

/// Codes sent and codes typed wrong from one address before the throttle's delays start (the
/// lockout follows after twice as many).
pub const FREE_PER_ADDRESS: u32 = 10;
/// The letters of a check-in code: no 0/O, 1/I/L, 2/Z, 5/S, 8/B to confuse.
pub const CHECKIN_ALPHABET: &[u8] = b"ACDEFGHJKMNPQRTUVWXY34679";
/// Characters in a check-in code.
pub const CHECKIN_LENGTH: usize = 8;

/// A code waiting to be typed, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub handle: String,
    pub mobile: String,
    pub service: String,
    pub lang: String,
    pub code_mac: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub attempts: u32,
    pub used: bool,
}

/// Whether `pending` may be tried at `now`.
pub fn may_try(pending: &Pending, now: DateTime<Utc>) -> Result<(), CodeRefusal> {
    let state =
        dawr_web::otp::CodeState { expires_at: pending.expires_at, attempts: pending.attempts, used: pending.used };
    dawr_web::otp::may_try(state, now)
}

/// A check-in code from random bytes.
pub fn checkin_code_from(random: [u8; CHECKIN_LENGTH]) -> String {
    random.iter().map(|b| char::from(CHECKIN_ALPHABET[usize::from(*b) % CHECKIN_ALPHABET.len()])).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(now: DateTime<Utc>) -> Pending {
        Pending {
            handle: "h".into(),
            mobile: "+966501234567".into(),
            service: "A".into(),
            lang: "ar".into(),
            code_mac: vec![],
            expires_at: now + CODE_TTL,
            attempts: 0,
            used: false,
        }
    }

    #[test]
    fn a_code_may_be_tried_until_used_expired_or_guessed_at_too_often() {
        let now = Utc::now();
        assert_eq!(may_try(&pending(now), now), Ok(()));
        assert_eq!(may_try(&pending(now), now + CODE_TTL), Err(CodeRefusal::Expired));
        assert_eq!(may_try(&Pending { attempts: MAX_WRONG, ..pending(now) }, now), Err(CodeRefusal::TooManyWrong));
        assert_eq!(may_try(&Pending { attempts: MAX_WRONG - 1, ..pending(now) }, now), Ok(()));
        assert_eq!(may_try(&Pending { used: true, ..pending(now) }, now), Err(CodeRefusal::Used));
    }

    #[test]
    fn check_in_codes_use_only_unambiguous_letters_and_mobiles_are_masked() {
        let code = checkin_code_from([0, 1, 2, 3, 250, 251, 252, 255]);
        assert_eq!(code.len(), CHECKIN_LENGTH);
        assert!(code.bytes().all(|b| CHECKIN_ALPHABET.contains(&b)), "{code}");
        assert_eq!(crate::bookings::normalize_code(&code).as_deref(), Some(code.as_str()), "typed at the kiosk as is");
        assert_eq!(masked("+966501234567"), "05•••••567");
    }
}
