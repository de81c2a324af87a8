//! Appointments: the appointments site's API (citizens book, look up, cancel and reschedule;
//! branch hubs pull each day's bookings and report check-ins and no-shows) and the hub's side of
//! it (`POST /api/v1/checkins` at the kiosk, `GET /api/v1/appointments`). The site describes its
//! API at its own `/api/openapi.json`; the hub's parts are in the hub's.
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::Names;

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BookingStatus {
    Booked,
    Cancelled,
    CheckedIn,
    NoShow,
}

impl BookingStatus {
    /// The status as the JSON writes it, e.g. `checked_in`.
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::CheckedIn => "checked_in",
            BookingStatus::NoShow => "no_show",
        }
    }
}

impl fmt::Display for BookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is not a booking status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownBookingStatus(pub String);

impl fmt::Display for UnknownBookingStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} is not a booking status", self.0)
    }
}

impl std::error::Error for UnknownBookingStatus {}

impl FromStr for BookingStatus {
    type Err = UnknownBookingStatus;

    fn from_str(text: &str) -> Result<BookingStatus, UnknownBookingStatus> {
        [BookingStatus::Booked, BookingStatus::Cancelled, BookingStatus::CheckedIn, BookingStatus::NoShow]
            .into_iter()
            .find(|s| s.as_str() == text)
            .ok_or_else(|| UnknownBookingStatus(text.into()))
    }
}

/// The site's `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteHealth {
    /// `ok`.
    pub status: String,
}

/// The site's `GET /api/v1/branches`: a branch that takes bookings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteBranch {
    pub id: String,
    pub name: Names,
    /// E.g. `+03:00`.
    pub utc_offset: String,
    /// Minutes per slot.
    pub slot_min: u32,
    /// Bookable from today to this many days ahead.
    pub horizon_days: u32,
}

/// The site's `GET /api/v1/branches/{branch}/services`: a bookable service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteService {
    pub code: String,
    pub name: Names,
    /// Places per slot.
    pub capacity: u32,
}

/// A slot as lists show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub capacity: u32,
    /// Places left.
    pub available: u32,
}

/// The site's `GET /api/v1/branches/{branch}/services/{service}/slots?date=`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slots {
    pub branch: String,
    pub service: String,
    /// The branch's local day.
    pub date: NaiveDate,
    pub slots: Vec<Slot>,
}

/// The site's `POST /api/v1/bookings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingRequest {
    pub branch: String,
    pub service: String,
    /// A slot's start, as the slots list gives it (checked by the site, so kept as text).
    pub start: String,
    pub name: String,
    /// National ID (starts with 1) or iqama (2): 10 digits with a Luhn check digit. Left out
    /// (or empty) when the site books with the national sign-in, which gives the verified one.
    #[serde(default)]
    pub national_id: String,
    /// A Saudi mobile: `05xxxxxxxx` or `+9665xxxxxxxx`.
    pub phone: String,
    /// `ar` (the default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// The site's answer to `POST /api/v1/bookings` when bookings are confirmed by a one-time code
/// (`202 Accepted`): the place is held and the code sent by SMS to the mobile given; the booking
/// is made by `POST /api/v1/holds/{hold}/confirm` with the code before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingHold {
    /// The hold's handle (32 hex digits), in the confirmation's address.
    pub hold: String,
    /// Where to send the code.
    pub confirm_url: String,
    /// The mobile the code went to, masked (`05•••••567`).
    pub mobile: String,
    /// The code and the held place last until then.
    pub expires_at: DateTime<Utc>,
}

/// The site's answer to `POST /api/v1/waiting-list` (`202 Accepted`): the entry is made and a
/// one-time code sent by SMS to the mobile given; it goes in line by `POST
/// /api/v1/waiting-list/{entry}/confirm` with the code before `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingListJoin {
    /// The entry's handle (32 hex digits), in its addresses.
    pub entry: String,
    /// Where to send the code.
    pub confirm_url: String,
    /// The mobile the code went to, masked (`05•••••567`).
    pub mobile: String,
    /// The code lasts until then.
    pub expires_at: DateTime<Utc>,
}

/// A waiting-list entry as `GET /api/v1/waiting-list/{entry}` and its confirmation show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WaitingListEntry {
    pub entry: String,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    /// `unconfirmed` (its code not typed yet), `waiting` (in line) or `offered` (a freed place
    /// was held for it and its code and link sent by SMS).
    pub state: String,
    /// Its place in line (1: the next offered) while `waiting`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub place: Option<u32>,
}

/// The site's `POST /api/v1/holds/{hold}/confirm`: the one-time code from the SMS.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CodeConfirmation {
    /// Six digits (Arabic-Indic digits and spaces accepted).
    pub code: String,
}

/// The site's `POST /api/v1/bookings/{code}/lookup`, `…/cancel` and `…/reschedule`: the
/// citizen's ID number with the booking's code (and, to reschedule, the new slot's start).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Citizen {
    pub national_id: String,
    /// The new slot's start (`…/reschedule` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
}

/// A booking as the citizen sees it (the ID number masked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Booking {
    /// Shown as a QR code; the kiosk checks in with it.
    pub code: String,
    pub branch: String,
    pub service: String,
    pub service_name: Names,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub name: String,
    /// All but the last four digits hidden.
    pub national_id: String,
    pub phone: String,
    pub lang: String,
    pub status: BookingStatus,
    /// The booking's page (with its QR code); whoever has this link can see and change it.
    pub page_url: String,
    /// The booking as an iCalendar file.
    pub ics_url: String,
    /// What the booking page's QR code carries while the booking is active: the check-in token
    /// signed by the site (code, branch, service, slot, a hash of the ID number; base32), which a
    /// hub verifies with the site's public key to check in a booking it has not pulled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkin_token: Option<String>,
}

/// A booking as its branch hub sees it (the site's `GET /api/v1/branches/{branch}/bookings`,
/// and its answer to a report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HubBooking {
    pub code: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: BookingStatus,
}

/// The site's `POST /api/v1/branches/{branch}/bookings/{code}/report`: what happened at the
/// branch (`checked_in` or `no_show`), and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingReport {
    pub status: BookingStatus,
    pub at: DateTime<Utc>,
}

/// The hub's `POST /api/v1/checkins`: a kiosk checks a booking in by its code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckIn {
    /// The booking code; case, spaces and dashes are ignored.
    pub code: String,
    /// Accepted and not needed: a retried check-in gets the same ticket by its code anyway.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

/// The hub's `GET /api/v1/appointments?date=`: a booking the hub holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldBooking {
    pub code: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// What happened at the branch (a check-in, a no-show) first, else the site's status.
    pub status: BookingStatus,
    /// The ticket id, once checked in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    #[test]
    fn a_status_is_its_snake_case_name() {
        for status in [BookingStatus::Booked, BookingStatus::Cancelled, BookingStatus::CheckedIn, BookingStatus::NoShow]
        {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
            assert_eq!(status.as_str().parse::<BookingStatus>(), Ok(status));
        }
        assert!("checked-in".parse::<BookingStatus>().is_err());
    }

    #[test]
    fn the_sites_lists_read_as_the_docs_show() {
        let names = Names { ar: "الدمام".into(), en: "Dammam".into() };
        let branch = SiteBranch {
            id: "demo".into(),
            name: names.clone(),
            utc_offset: "+03:00".into(),
            slot_min: 15,
            horizon_days: 14,
        };
        round_trip(
            &branch,
            r#"{"id":"demo","name":{"ar":"الدمام","en":"Dammam"},"utc_offset":"+03:00","slot_min":15,"horizon_days":14}"#,
        );
        let service = SiteService { code: "E".into(), name: names, capacity: 2 };
        round_trip(&service, r#"{"code":"E","name":{"ar":"الدمام","en":"Dammam"},"capacity":2}"#);
        let slots = Slots {
            branch: "demo".into(),
            service: "E".into(),
            date: "2026-11-24".parse().unwrap(),
            slots: vec![Slot {
                start: at("2026-11-24T05:00:00Z"),
                end: at("2026-11-24T05:15:00Z"),
                capacity: 2,
                available: 1,
            }],
        };
        round_trip(
            &slots,
            r#"{"branch":"demo","service":"E","date":"2026-11-24",
                "slots":[{"start":"2026-11-24T05:00:00Z","end":"2026-11-24T05:15:00Z","capacity":2,"available":1}]}"#,
        );
        round_trip(&SiteHealth { status: "ok".into() }, r#"{"status":"ok"}"#);
    }

    #[test]
    fn a_booking_and_its_requests_read_as_the_docs_show() {
        let request = BookingRequest {
            branch: "demo".into(),
            service: "E".into(),
            start: "2026-11-24T05:00:00Z".into(),
            name: "Sara".into(),
            national_id: "1012345678".into(),
            phone: "0551234567".into(),
            lang: Some("en".into()),
        };
        round_trip(
            &request,
            r#"{"branch":"demo","service":"E","start":"2026-11-24T05:00:00Z","name":"Sara",
                "national_id":"1012345678","phone":"0551234567","lang":"en"}"#,
        );
        round_trip(&Citizen { national_id: "1012345678".into(), start: None }, r#"{"national_id":"1012345678"}"#);
        let booking = Booking {
            code: "K7M3PX9A".into(),
            branch: "demo".into(),
            service: "E".into(),
            service_name: Names { ar: "المواعيد".into(), en: "Appointments".into() },
            start: at("2026-11-24T05:00:00Z"),
            end: at("2026-11-24T05:15:00Z"),
            name: "Sara".into(),
            national_id: "******5678".into(),
            phone: "+966551234567".into(),
            lang: "en".into(),
            status: BookingStatus::Booked,
            page_url: "https://book.example/c/tok".into(),
            ics_url: "https://book.example/c/tok/booking.ics".into(),
            checkin_token: Some("AEEEWN2N".into()),
        };
        round_trip(
            &booking,
            r#"{"code":"K7M3PX9A","branch":"demo","service":"E","service_name":{"ar":"المواعيد","en":"Appointments"},
                "start":"2026-11-24T05:00:00Z","end":"2026-11-24T05:15:00Z","name":"Sara","national_id":"******5678",
                "phone":"+966551234567","lang":"en","status":"booked","page_url":"https://book.example/c/tok",
                "ics_url":"https://book.example/c/tok/booking.ics","checkin_token":"AEEEWN2N"}"#,
        );
    }

    #[test]
    fn what_the_hub_and_the_site_exchange_reads_as_the_docs_show() {
        let pulled = HubBooking {
            code: "K7M3PX9A".into(),
            service: "E".into(),
            start: at("2026-11-24T05:00:00Z"),
            end: at("2026-11-24T05:15:00Z"),
            status: BookingStatus::Booked,
        };
        round_trip(
            &pulled,
            r#"{"code":"K7M3PX9A","service":"E","start":"2026-11-24T05:00:00Z","end":"2026-11-24T05:15:00Z","status":"booked"}"#,
        );
        let report = BookingReport { status: BookingStatus::CheckedIn, at: at("2026-11-24T04:55:00.250Z") };
        round_trip(&report, r#"{"status":"checked_in","at":"2026-11-24T04:55:00.250Z"}"#);
        let checkin = CheckIn { code: "K7M3PX9A".into(), request_id: Some("kiosk-1-a".into()) };
        round_trip(&checkin, r#"{"code":"K7M3PX9A","request_id":"kiosk-1-a"}"#);
        let held = HeldBooking {
            code: "K7M3PX9A".into(),
            service: "E".into(),
            start: at("2026-11-24T05:00:00Z"),
            end: at("2026-11-24T05:15:00Z"),
            status: BookingStatus::CheckedIn,
            ticket: Some(17),
        };
        round_trip(
            &held,
            r#"{"code":"K7M3PX9A","service":"E","start":"2026-11-24T05:00:00Z","end":"2026-11-24T05:15:00Z",
                "status":"checked_in","ticket":17}"#,
        );
    }
}
