//! The check-in rule, pure: a booking as held here, when it may be checked in ([`check`]), what
//! a scanned or typed code must look like, and how a held booking is listed. No IO; the time
//! and the local day are arguments.
use chrono::{DateTime, NaiveDate, Utc};
use dawr_protocol::api::bookings::BookingStatus;
/// A held booking as `GET /api/v1/appointments` lists it.
pub use dawr_protocol::api::bookings::HeldBooking as HeldView;

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
        }
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
        assert_eq!(normalize_code(""), None);
    }
}
