//! The HTTP APIs' JSON bodies and the messages for displays (`…/calls`, `…/board`).
//!
//! These need `std`: they carry Arabic and English names of any length and are only used by the
//! hub, the appointments site and the desktop apps. Timestamps are RFC 3339 in UTC; clients show
//! them in the branch's local time.
//!
//! This module holds the v1 queue API (branch, services, tickets, counters, ratings, devices) and
//! the display messages; the later parts of the API have a module each:
//! [`sessions`] (signing in), [`cases`] (CRM cases and what staff write on them), [`staff`] (a
//! staff member's own figures), [`reports`] (the managers' summary), [`crm`] (the CRM webhook
//! and its outbox), [`privacy`] (a person's export and erasure, the audit log) and [`bookings`] (the appointments site's API, the hub's pull of it and check-in
//! at the kiosk). Both sides of every body use these types: a field renamed here is renamed for
//! both, and `docs/PROTOCOL.md` and the OpenAPI documents say the same.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use crate::device::{CounterState, ErrorCode, Outcome, RatingReason};

pub mod actions;
pub mod bookings;
pub mod cases;
pub mod closures;
pub mod crm;
pub mod examples;
pub mod forecast;
pub mod ministry;
pub mod privacy;
pub mod reports;
pub mod sessions;
pub mod sms;
pub mod staff;

/// A text in both of the branch's languages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Names {
    pub ar: String,
    pub en: String,
}

/// A visitor's priority class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Priority {
    /// A walk-in visitor.
    #[default]
    Normal,
    /// Elderly, disabled or otherwise needing assistance: served ahead, with its own ageing.
    Assisted,
    /// A booked visit checked in at the kiosk: served close to its slot.
    Appointment,
}

/// How a visit entered the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    WalkIn,
    Appointment,
    /// Joined from a phone (`/join`): keeps its place from the time it joined, and is called
    /// only once its holder has checked in at the kiosk (`arrived_at`).
    Remote,
}

/// Where a ticket is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TicketStatus {
    Waiting,
    Called,
    Serving,
    Done,
    NoShow,
    Cancelled,
}

impl TicketStatus {
    /// True for the states a visit never leaves.
    pub fn is_final(self) -> bool {
        matches!(self, TicketStatus::Done | TicketStatus::NoShow | TicketStatus::Cancelled)
    }
}

/// `GET /api/v1/services`: one service as a kiosk shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceSummary {
    /// The ticket letter, e.g. `A`.
    pub code: String,
    pub name: Names,
    /// False when no open counter serves it right now.
    pub open: bool,
    pub waiting: u32,
    /// Expected wait for a ticket taken now.
    pub estimated_wait_s: u32,
    /// A likely range for that wait, `[low, high]`, for kiosks that print a range.
    pub estimated_wait_range_s: [u32; 2],
    /// The service's target wait (its SLA).
    pub target_wait_s: u32,
}

/// `POST /api/v1/tickets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IssueTicket {
    pub service: String,
    #[serde(default)]
    pub priority: Priority,
    /// Required with priority `appointment`: the booked slot's start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_at: Option<DateTime<Utc>>,
    /// An idempotency key (1–48 bytes): a retried request with the same key gets the same ticket
    /// back, never a second one. Kiosks send one per touch. Remembered for 48 hours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The visitor gave a mobile (at the kiosk) for the ticket's "N ahead" and "called" SMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sms: Option<sms::TicketSms>,
}

/// A ticket as the API returns it (`POST /api/v1/tickets` → 201, `GET /api/v1/tickets/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: u64,
    /// As printed and called, e.g. `A017`.
    pub number: String,
    /// The service whose queue the ticket is in now (it changes on transfer).
    pub service: String,
    pub service_name: Names,
    pub priority: Priority,
    pub source: Source,
    pub status: TicketStatus,
    /// 1 = next to be called. Only while waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<u32>,
    /// Only while waiting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_s: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_wait_range_s: Option<[u32; 2]>,
    /// The counter the visitor is called to (while called or serving) or was served at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    /// The CRM case reference, e.g. `DMM-20261123-000123`; printed on the ticket. (This and the
    /// two below are left out of tickets read without a staff session: empty, they are not
    /// written, and they read back as empty.)
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub case_ref: String,
    /// Secret part of the live ticket page's address.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
    /// The live ticket page, e.g. `http://127.0.0.1:8080/t/{token}`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub status_url: String,
    pub issued_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appointment_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub called_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_at: Option<DateTime<Utc>>,
    pub recalls: u32,
    /// A remote ticket's check-in at the kiosk; a remote ticket without it is not called.
    /// Never set on walk-ins and appointments (they are in the hall when issued).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrived_at: Option<DateTime<Utc>>,
    /// A remote ticket not checked in when it reached the front: when someone behind it was
    /// first called instead (its holder is told to check in; the grace time runs from here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The visitor's exit rating, 1–5, once given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating_reason: Option<RatingReason>,
}

/// `POST /api/v1/ratings`: a web or kiosk exit rating for the visit last completed at `counter`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateVisit {
    pub counter: String,
    /// 1 (very unhappy) to 5 (very happy).
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RatingReason>,
    /// Optional de-duplication id, shared with the counter's MQTT ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// `POST /api/v1/ratings/{rating}/reason`: why, for a rating given earlier without a reason
/// (`rating` is the id the rating's [`crate::device::Reply`] carried).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingReasonRequest {
    pub reason: RatingReason,
    /// Optional de-duplication id, shared with the counter's MQTT ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Whether an exit rating (or a rating of how a case was resolved) is low, 1 or 2: the visitor
/// was dissatisfied, so it escalates and asks why.
pub fn is_low_rating(score: u8) -> bool {
    score <= 2
}

/// `POST /api/v1/counters/{counter}/{action}`: the fields of a [`crate::device::Command`] other
/// than the action, which is in the path. Without an `id` the hub makes one (no de-duplication).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CounterActionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_service: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_counter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `GET /api/v1/counters`: a counter's configuration beside its live state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterSummary {
    pub name: Names,
    /// Services in this counter's preference order.
    pub services: Vec<String>,
    /// The services it calls now: those of `services` that the staff member signed in there
    /// may serve (their skills in the branch file); all of `services` when nobody is signed in
    /// or the person may serve everything.
    #[serde(default)]
    pub serving: Vec<String>,
    #[serde(flatten)]
    pub state: CounterState,
}

/// One call or recall (`…/calls`, and the history in `…/board`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Call {
    /// Unique per call; a display that receives the same id twice shows and speaks it once.
    pub id: u64,
    pub ticket: String,
    pub counter: String,
    pub service: String,
    pub recall: bool,
    pub at: DateTime<Utc>,
    pub service_name: Names,
    pub counter_name: Names,
}

/// The retained summary a display shows on start (`…/board`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Board {
    pub branch: String,
    pub name: Names,
    pub updated_at: DateTime<Utc>,
    /// Newest first (by falling `id`), at most [`Board::HISTORY`].
    pub calls: Vec<Call>,
    pub services: Vec<ServiceSummary>,
    /// The branch's UTC offset now (`+03:00`), so a display without HTTP shows local time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_offset: Option<String>,
}

impl Board {
    /// How many recent calls a board message carries.
    pub const HISTORY: usize = 10;
}

/// `GET /api/v1/branch`: the branch as configured, for apps that draw its services and counters.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchInfo {
    pub id: String,
    pub name: Names,
    /// The branch's local time offset, e.g. `+03:00`.
    pub utc_offset: String,
    pub services: Vec<ServiceInfo>,
    pub counters: Vec<CounterInfo>,
    /// The hub runs the built-in demo branch (its PINs are public): apps say "demo".
    #[serde(default)]
    pub demo: bool,
    /// The hub sends SMS (`[sms]`): kiosks offer the visitor a mobile field for the ticket's
    /// messages.
    #[serde(default)]
    pub sms: bool,
}

impl BranchInfo {
    /// `utc_offset` read (`+03:00`), or `None` when it is not an offset.
    pub fn offset(&self) -> Option<chrono::FixedOffset> {
        self.utc_offset.parse().ok()
    }
}

/// A configured service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceInfo {
    pub code: String,
    pub name: Names,
    pub target_wait_s: u32,
}

/// A configured counter.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterInfo {
    pub id: String,
    pub name: Names,
    pub services: Vec<String>,
}

/// `GET /api/v1/devices` (managers): an enrolled device, or a client the hub heard a presence
/// from, with its last known presence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub device: String,
    /// Its enrolled role; absent for a client that is not enrolled (the hub itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<crate::acl::Role>,
    /// The counter a button, counter app or rating terminal belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    /// `offline` also for an enrolled device never heard from.
    pub status: crate::device::PresenceStatus,
    /// A kiosk's printer, as its presence last said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<crate::device::PrinterHealth>,
    /// When the hub last heard its presence message; absent if never.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seen_at: Option<DateTime<Utc>>,
    /// A counter button's firmware version, as its last `online` presence said (kept while it is
    /// offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<String>,
    /// A counter button's uptime in seconds when it sent that presence (at `seen_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_s: Option<u32>,
    /// A counter button's Wi-Fi signal in dBm, as that presence said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rssi: Option<i16>,
    /// Why a counter button last started, as that presence said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<crate::device::ResetReason>,
    /// The firmware version a manager chose to offer this button (`POST /api/v1/firmware/rollouts`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offered: Option<String>,
    /// Where this button's firmware update stands, as it last reported (`…/update/state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub update: Option<crate::device::UpdateReport>,
}

/// A signed firmware image the hub holds (`dawr-hub firmware publish`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareImage {
    pub version: String,
    pub size: u32,
    /// SHA-256 of the image, hex.
    pub sha256: String,
    /// The release key's Ed25519 signature over the manifest, hex.
    pub signature: String,
    pub published_at: DateTime<Utc>,
}

/// A button chosen to be offered an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareRollout {
    pub device: String,
    pub version: String,
    pub chosen_at: DateTime<Utc>,
    /// The manager who chose it.
    pub chosen_by: String,
}

/// `GET /api/v1/firmware` (managers): the images held, newest first, and the buttons chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareOverview {
    pub images: Vec<FirmwareImage>,
    pub rollouts: Vec<FirmwareRollout>,
}

/// `POST /api/v1/firmware/rollouts` (managers): offer `version` to these buttons, or with
/// `version` null withdraw their offer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRollout {
    pub version: Option<String>,
    pub devices: Vec<String>,
}

/// `dawr-hub devices add`'s one line of output: the device's MQTT account. The password is shown
/// this once; the hub keeps only a hash of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceCredentials {
    pub device: String,
    /// Also the device's MQTT client id.
    pub username: String,
    pub password: String,
    /// A rating device's enrolment link (`/rate/enrol/{token}`, on the hub's address): opened
    /// once on the exit tablet within 24 hours, it makes that browser this device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enrol_link: Option<String>,
}

/// `dawr-hub devices list`: one enrolled device per line (no secrets).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrolledDevice {
    pub device: String,
    pub role: crate::acl::Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    pub enrolled_at: DateTime<Utc>,
}

/// Every HTTP error body: `{"error": "<code>", "message": "<text>"}`; the appointments site adds
/// `field` when one field of the request is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    pub error: String,
    pub message: String,
    /// The request's field that is wrong (the appointments site only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl ApiError {
    /// An error without a field.
    pub fn new(error: impl Into<String>, message: impl Into<String>) -> ApiError {
        ApiError { error: error.into(), message: message.into(), field: None }
    }
}

/// `GET /healthz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Health {
    pub status: String,
    pub branch: String,
    pub mqtt_connected: bool,
    /// The hub runs the built-in demo branch.
    #[serde(default)]
    pub demo: bool,
}

/// Checks that `value` serialises to the JSON `json` (whitespace and key order aside) and that
/// `json` reads back as `value`: the round trip each subject's tests run on the JSON its docs show.
#[cfg(test)]
pub(crate) fn round_trip<T>(value: &T, json: &str)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    let expected: serde_json::Value = serde_json::from_str(json).expect("the example is JSON");
    assert_eq!(serde_json::to_value(value).expect("serialises"), expected, "serialised as the docs show");
    assert_eq!(&serde_json::from_str::<T>(json).expect("reads back"), value, "read back from the docs' JSON");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issue_request_defaults_to_normal_priority() {
        let req: IssueTicket = serde_json::from_str(r#"{"service":"A"}"#).unwrap();
        assert_eq!(req.priority, Priority::Normal);
        let req: IssueTicket =
            serde_json::from_str(r#"{"service":"B","priority":"appointment","appointment_at":"2026-11-23T10:30:00Z"}"#)
                .unwrap();
        assert_eq!(req.priority, Priority::Appointment);
        assert_eq!(serde_json::from_str::<IssueTicket>(&serde_json::to_string(&req).unwrap()).unwrap(), req);
        assert!(serde_json::from_str::<IssueTicket>(r#"{"service":"A","priority":"vip"}"#).is_err());
    }

    #[test]
    fn a_call_round_trips_with_both_names() {
        let call = Call {
            id: 42,
            ticket: "A017".into(),
            counter: "3".into(),
            service: "A".into(),
            recall: false,
            at: "2026-11-23T09:15:00Z".parse().unwrap(),
            service_name: Names { ar: "الوكالات".into(), en: "Power of attorney".into() },
            counter_name: Names { ar: "شباك ٣".into(), en: "Counter 3".into() },
        };
        let json = serde_json::to_string(&call).unwrap();
        assert!(json.contains(r#""at":"2026-11-23T09:15:00Z""#), "{json}");
        assert_eq!(serde_json::from_str::<Call>(&json).unwrap(), call);
    }

    #[test]
    fn a_counter_summary_flattens_the_device_state() {
        let json = r#"{"name":{"ar":"شباك ١","en":"Counter 1"},"services":["A","B"],
            "counter":"1","status":"paused","waiting":3,"updated_at":"2026-11-23T09:00:00Z"}"#;
        let summary: CounterSummary = serde_json::from_str(json).unwrap();
        assert_eq!(summary.state.counter.as_str(), "1");
        assert_eq!(summary.state.waiting, 3);
        let again: CounterSummary = serde_json::from_str(&serde_json::to_string(&summary).unwrap()).unwrap();
        assert_eq!(again, summary);
    }
}
