//! The check-in rule, pure: a booking as held here, when it may be checked in ([`check`]), what
//! a scanned or typed code must look like ([`read`]: a code, or the site's signed token from the
//! booking's QR code), and how a held booking is listed. No IO; the time and the local day are
//! arguments.
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use dawr_protocol::api::bookings::BookingStatus;
/// A held booking as `GET /api/v1/appointments` lists it.
pub use dawr_protocol::api::bookings::HeldBooking as HeldView;
use dawr_protocol::booking_token::{self, Claims, TokenError, VerifyingKey};

use crate::domain::VisitId;

/// When a booking may be checked in, around its slot's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// From this long before the start…
    pub early_s: i64,
    /// …to this long after it.
    pub late_s: i64,
}

impl Default for Window {
    fn default() -> Self {
        Window { early_s: 30 * 60, late_s: 15 * 60 }
    }
}

/// A booking as held here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub code: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub local_day: NaiveDate,
    /// What the site last said.
    pub remote_status: BookingStatus,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub visit_id: Option<VisitId>,
    pub no_show_at: Option<DateTime<Utc>>,
}

/// Why a booking cannot be checked in now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no booking with this code for this branch")]
    Unknown,
    #[error("this booking was cancelled")]
    Cancelled,
    #[error("this booking was already checked in")]
    AlreadyCheckedIn { visit: Option<VisitId> },
    #[error("this booking is for {day}, not today")]
    NotToday { day: NaiveDate },
    #[error("too early: check-in opens at {opens}")]
    TooEarly { opens: DateTime<Utc> },
    #[error("too late: check-in closed at {closed}")]
    TooLate { closed: DateTime<Utc> },
    /// A token that is damaged, or not signed by the site's key (forged or altered).
    #[error("{0}")]
    BadToken(TokenError),
    /// A genuine token of another branch's booking.
    #[error("this booking is for branch {branch}, not this one")]
    OtherBranch { branch: String },
}

impl Refusal {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unknown => "booking_not_found",
            Refusal::Cancelled => "booking_cancelled",
            Refusal::AlreadyCheckedIn { .. } => "booking_used",
            Refusal::NotToday { .. } => "not_today",
            Refusal::TooEarly { .. } => "too_early",
            Refusal::TooLate { .. } => "too_late",
            Refusal::BadToken(_) => "token_invalid",
            Refusal::OtherBranch { .. } => "token_other_branch",
        }
    }
}

/// What a kiosk sent, read: the booking's code, and the claims of its token when the token was
/// verified with one of the site's keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub code: String,
    /// `None` for a typed code, or a token read without a key to verify it with (then only its
    /// code is used, looked up among the pulled bookings like a typed one).
    pub verified: Option<Claims>,
}

/// Reads a typed code or a scanned token (see [`booking_token`]). A token must be signed by one
/// of `keys` and be for `branch`; with no keys configured, only its code is taken (`None` if the
/// text is neither).
pub fn read(text: &str, keys: &[VerifyingKey], branch: &str) -> Result<Option<Presented>, Refusal> {
    if !booking_token::looks_like_token(text) {
        return Ok(normalize_code(text).map(|code| Presented { code, verified: None }));
    }
    match booking_token::verify(keys, text) {
        Ok(claims) if claims.branch != branch => Err(Refusal::OtherBranch { branch: claims.branch }),
        Ok(claims) => Ok(Some(Presented { code: claims.code.clone(), verified: Some(claims) })),
        Err(TokenError::NoKeys) => {
            let claims = booking_token::read_unverified(text).map_err(Refusal::BadToken)?;
            Ok(normalize_code(&claims.code).map(|code| Presented { code, verified: None }))
        }
        Err(e) => Err(Refusal::BadToken(e)),
    }
}

/// A booking known here only from its verified token (never pulled: made after the last pull,
/// or the site unreachable): held as the site signed it, booked.
pub fn held_from_token(claims: &Claims, utc_offset: FixedOffset) -> Held {
    Held {
        code: claims.code.clone(),
        service: claims.service.clone(),
        start: claims.start,
        end: claims.end,
        local_day: claims.start.with_timezone(&utc_offset).date_naive(),
        remote_status: BookingStatus::Booked,
        checked_in_at: None,
        visit_id: None,
        no_show_at: None,
    }
}

/// Whether `held` may be checked in at `now` (on local day `today`).
pub fn check(held: Option<&Held>, now: DateTime<Utc>, today: NaiveDate, window: Window) -> Result<(), Refusal> {
    let held = held.ok_or(Refusal::Unknown)?;
    if held.checked_in_at.is_some() || held.remote_status == BookingStatus::CheckedIn {
        return Err(Refusal::AlreadyCheckedIn { visit: held.visit_id });
    }
    if held.remote_status == BookingStatus::Cancelled {
        return Err(Refusal::Cancelled);
    }
    let opens = held.start - chrono::Duration::seconds(window.early_s);
    let closes = held.start + chrono::Duration::seconds(window.late_s);
    // The window decides; the day only explains a refusal (a window may cross midnight).
    let in_window = opens <= now && now <= closes;
    if !in_window && held.local_day != today {
        return Err(Refusal::NotToday { day: held.local_day });
    }
    if now < opens {
        return Err(Refusal::TooEarly { opens });
    }
    if now > closes || held.no_show_at.is_some() || held.remote_status == BookingStatus::NoShow {
        return Err(Refusal::TooLate { closed: closes });
    }
    Ok(())
}

/// A code as scanned or typed: upper case, no spaces or dashes; `None` if it cannot be one.
pub fn normalize_code(text: &str) -> Option<String> {
    let code: String =
        text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
    (!code.is_empty() && code.len() <= 16 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

/// The idempotency key a check-in issues its ticket with.
pub fn request_id(code: &str) -> String {
    format!("appt-{code}")
}

impl From<Held> for HeldView {
    /// What happened here (a check-in, a no-show) first, else the site's status.
    fn from(h: Held) -> HeldView {
        let status = if h.checked_in_at.is_some() {
            BookingStatus::CheckedIn
        } else if h.no_show_at.is_some() {
            BookingStatus::NoShow
        } else {
            h.remote_status
        };
        HeldView { code: h.code, service: h.service, start: h.start, end: h.end, status, ticket: h.visit_id }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn held(start: &str) -> Held {
        let start: DateTime<Utc> = start.parse().unwrap();
        Held {
            code: "K7M3PX9A".into(),
            service: "E".into(),
            start,
            end: start + chrono::Duration::minutes(15),
            local_day: "2026-11-23".parse().unwrap(),
            remote_status: BookingStatus::Booked,
            checked_in_at: None,
            visit_id: None,
            no_show_at: None,
        }
    }

    #[test]
    fn a_booking_is_checked_in_today_within_its_window_once() {
        let w = Window::default();
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        let h = held("2026-11-23T07:00:00Z"); // 10:00 in Riyadh
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(check(Some(&h), at("2026-11-23T06:30:00Z"), today, w), Ok(()), "30 minutes early");
        assert_eq!(check(Some(&h), at("2026-11-23T07:15:00Z"), today, w), Ok(()), "15 minutes late");
        assert!(matches!(check(Some(&h), at("2026-11-23T06:29:00Z"), today, w), Err(Refusal::TooEarly { .. })));
        assert!(matches!(check(Some(&h), at("2026-11-23T07:16:00Z"), today, w), Err(Refusal::TooLate { .. })));
        let day_after = Held { local_day: "2026-11-25".parse().unwrap(), ..held("2026-11-25T07:00:00Z") };
        assert!(matches!(check(Some(&day_after), at("2026-11-23T07:00:00Z"), today, w), Err(Refusal::NotToday { .. })));
        // A slot at midnight can be checked in at 23:45 the evening before.
        let midnight = Held { local_day: "2026-11-24".parse().unwrap(), ..held("2026-11-23T21:00:00Z") };
        assert_eq!(check(Some(&midnight), at("2026-11-23T20:45:00Z"), today, w), Ok(()));
        assert_eq!(check(None, at("2026-11-23T07:00:00Z"), today, w), Err(Refusal::Unknown));
        let used = Held { checked_in_at: Some(at("2026-11-23T06:50:00Z")), visit_id: Some(4), ..h.clone() };
        assert_eq!(
            check(Some(&used), at("2026-11-23T07:00:00Z"), today, w),
            Err(Refusal::AlreadyCheckedIn { visit: Some(4) })
        );
        let cancelled = Held { remote_status: BookingStatus::Cancelled, ..h.clone() };
        assert_eq!(check(Some(&cancelled), at("2026-11-23T07:00:00Z"), today, w), Err(Refusal::Cancelled));
        assert_eq!(Refusal::Cancelled.code(), "booking_cancelled");
        assert_eq!(normalize_code(" k7m3-px9a "), Some("K7M3PX9A".into()));
        assert_eq!(normalize_code("x'; DROP"), None);
    }

    #[test]
    fn a_scanned_token_is_read_only_when_the_site_signed_it_for_this_branch() {
        use dawr_protocol::booking_token::{SigningKey, id_hash, sign};
        let site = SigningKey::from_bytes(&[3; 32]);
        let keys = [site.verifying_key()];
        let h = held("2026-11-23T07:00:00Z");
        let claims = Claims {
            code: h.code.clone(),
            branch: "demo".into(),
            service: h.service.clone(),
            start: h.start,
            end: h.end,
            id_hash: id_hash(&h.code, "1000000008"),
        };
        let token = sign(&site, &claims).unwrap();
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let read_back = read(&token, &keys, "demo").unwrap().unwrap();
        assert_eq!(read_back, Presented { code: h.code.clone(), verified: Some(claims.clone()) });
        assert_eq!(held_from_token(&claims, offset), h, "held as the site signed it");
        // Typed codes are still codes; another branch's genuine token is refused as such.
        assert_eq!(read("k7m3-px9a", &keys, "demo").unwrap().unwrap().verified, None);
        assert_eq!(read(&token, &keys, "riyadh"), Err(Refusal::OtherBranch { branch: "demo".into() }));
        assert_eq!(Refusal::OtherBranch { branch: "demo".into() }.code(), "token_other_branch");
        // Forged (another key) or altered: refused.
        let forged = sign(&SigningKey::from_bytes(&[4; 32]), &claims).unwrap();
        assert_eq!(read(&forged, &keys, "demo"), Err(Refusal::BadToken(TokenError::BadSignature)));
        // One character of the slot's time changed.
        let mut altered = token.clone().into_bytes();
        altered[30] = if altered[30] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).unwrap();
        assert!(matches!(read(&altered, &keys, "demo"), Err(Refusal::BadToken(_))));
        assert_eq!(Refusal::BadToken(TokenError::BadSignature).code(), "token_invalid");
        // A hub without the site's key takes only the code, as if typed.
        assert_eq!(read(&forged, &[], "demo").unwrap().unwrap(), Presented { code: h.code, verified: None });
        assert_eq!(normalize_code(""), None);
    }
}
