//! Personal data under Saudi PDPL: a manager's export and erasure of one person's data
//! (`POST /api/v1/personal-data/export` and `…/erase` on the hub; the appointments site's
//! `POST /api/v1/branches/{branch}/personal-data/export` and `…/erase`), and the hub's
//! append-only audit log (`GET /api/v1/audit` → [`AuditPage`]).
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::cases::Case;

/// Whose data: a national ID / iqama number or a Saudi mobile, as the visitor gave it (spaces
/// and dashes are ignored). The body of both export and erase.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonQuery {
    pub person: String,
}

/// `POST /api/v1/personal-data/export` (hub, managers): every case that names this person
/// (matched by the keyed hash, so cases whose plain ID was already removed by retention are
/// found too; their `notes.visitor` is then `null`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersonalDataExport {
    pub exported_at: DateTime<Utc>,
    pub cases: Vec<Case>,
    /// The notes counters left when transferring this person's visits (still held).
    pub transfer_notes: Vec<TransferNote>,
    /// What the SMS outbox holds for the person's mobile (when the person is a mobile).
    #[serde(default)]
    pub sms: SmsPersonalData,
}

/// The SMS held for one mobile: the messages (with their texts), the tickets it was given for,
/// and when it answered STOP.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsPersonalData {
    pub messages: Vec<ExportedSms>,
    pub tickets: Vec<SmsTicket>,
    /// When the mobile answered STOP / إلغاء (kept after an erasure, so the STOP stays honoured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opted_out_at: Option<String>,
    /// The remote tickets it joined the queue with from a phone (`/join`).
    #[serde(default)]
    pub remote_tickets: Vec<RemoteTicket>,
    /// When one-time codes to join were sent to it (kept for the per-mobile limit, and purged
    /// with the rest).
    #[serde(default)]
    pub join_codes_sent_at: Vec<String>,
}

/// A remote ticket the person's mobile joined with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteTicket {
    pub number: String,
    pub joined_at: String,
}

/// One message to the person's mobile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedSms {
    pub message_id: String,
    /// `otp`, `near`, `called`, `test`, …
    pub kind: String,
    pub text: String,
    /// `queued`, `sending`, `submitted`, `delivered` or `failed`.
    pub state: String,
    pub created_at: String,
}

/// A ticket whose messages went to the person's mobile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsTicket {
    pub number: String,
    pub lang: String,
    pub created_at: String,
}

/// A note left on a transfer of one of the person's visits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransferNote {
    pub case_ref: String,
    pub at: DateTime<Utc>,
    pub note: String,
}

/// `POST /api/v1/personal-data/erase` (hub, managers): what was removed. The visits themselves
/// (times, outcomes, ratings) stay for the reports; nothing in them names the person.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErasureReport {
    /// Cases whose visitor ID or mobile, its hash and the notes were removed.
    pub cases: u32,
    /// Transfer notes removed (from the visits and the event log).
    pub transfer_notes: u32,
    /// SMS whose mobile and text were removed (unsent ones end as failed).
    #[serde(default)]
    pub sms_messages: u32,
    /// Tickets that no longer send messages to the mobile.
    #[serde(default)]
    pub sms_tickets: u32,
    /// Remote tickets and one-time join codes that no longer name the mobile.
    #[serde(default)]
    pub remote_joins: u32,
}

/// The site's export of one person's bookings (by branch, with its API key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BookingsExport {
    pub exported_at: DateTime<Utc>,
    pub bookings: Vec<ExportedBooking>,
}

/// One booking as exported: everything the site holds about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportedBooking {
    pub code: String,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub name: String,
    pub national_id: String,
    pub phone: String,
    pub lang: String,
    /// `booked`, `cancelled`, `checked_in` or `no_show`.
    pub status: String,
    pub created_at: DateTime<Utc>,
}

/// The site's erasure: bookings whose name, ID number and mobile were removed (an active one is
/// cancelled first, freeing its place).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingsErasure {
    pub bookings: u32,
    pub cancelled: u32,
}

/// What an audit entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    SignIn,
    SignInFailed,
    LockedOut,
    SignOut,
    CaseEdited,
    PersonalDataExported,
    PersonalDataErased,
    RetentionPurge,
    DeviceEnrolled,
    DeviceRevoked,
    FirmwarePublished,
    FirmwareOffered,
    FirmwareWithdrawn,
}

impl AuditAction {
    /// Every action, in the order the docs list them.
    pub const ALL: [AuditAction; 13] = [
        AuditAction::SignIn,
        AuditAction::SignInFailed,
        AuditAction::LockedOut,
        AuditAction::SignOut,
        AuditAction::CaseEdited,
        AuditAction::PersonalDataExported,
        AuditAction::PersonalDataErased,
        AuditAction::RetentionPurge,
        AuditAction::DeviceEnrolled,
        AuditAction::DeviceRevoked,
        AuditAction::FirmwarePublished,
        AuditAction::FirmwareOffered,
        AuditAction::FirmwareWithdrawn,
    ];

    /// Its snake_case name, as stored and sent.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::SignIn => "sign_in",
            AuditAction::SignInFailed => "sign_in_failed",
            AuditAction::LockedOut => "locked_out",
            AuditAction::SignOut => "sign_out",
            AuditAction::CaseEdited => "case_edited",
            AuditAction::PersonalDataExported => "personal_data_exported",
            AuditAction::PersonalDataErased => "personal_data_erased",
            AuditAction::RetentionPurge => "retention_purge",
            AuditAction::DeviceEnrolled => "device_enrolled",
            AuditAction::DeviceRevoked => "device_revoked",
            AuditAction::FirmwarePublished => "firmware_published",
            AuditAction::FirmwareOffered => "firmware_offered",
            AuditAction::FirmwareWithdrawn => "firmware_withdrawn",
        }
    }
}

impl std::str::FromStr for AuditAction {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        AuditAction::ALL.into_iter().find(|a| a.as_str() == text).ok_or_else(|| text.to_string())
    }
}

/// One entry of the audit log. `before` and `after` hold a changed record's fields (a case
/// edit); personal fields appear there only as a fingerprint (`hmac:` and 16 hex digits of the
/// keyed hash), so the log, which is never rewritten, keeps no personal data past its retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: u64,
    pub at: DateTime<Utc>,
    /// Who did it: a staff id, `system` for the retention job, or the id tried at a failed sign-in.
    pub actor: String,
    pub action: AuditAction,
    /// What it was done to: a case reference, a device, a counter; `null` when nothing.
    pub subject: Option<String>,
    #[serde(default)]
    pub before: BTreeMap<String, String>,
    #[serde(default)]
    pub after: BTreeMap<String, String>,
}

/// `GET /api/v1/audit?from=&to=&before=&limit=` (managers): the newest entries first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditPage {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub entries: Vec<AuditEntry>,
    /// Pass as `before` for the next (older) page; `null` on the last page.
    pub next_before: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    #[test]
    fn an_audit_entry_reads_as_the_docs_show() {
        let entry = AuditEntry {
            id: 7,
            at: "2026-11-23T06:00:00Z".parse().unwrap(),
            actor: "m001".into(),
            action: AuditAction::CaseEdited,
            subject: Some("DMM-20261123-000001".into()),
            before: BTreeMap::from([("category".into(), "".into())]),
            after: BTreeMap::from([("category".into(), "billing".into())]),
        };
        round_trip(
            &entry,
            r#"{"id":7,"at":"2026-11-23T06:00:00Z","actor":"m001","action":"case_edited","subject":"DMM-20261123-000001","before":{"category":""},"after":{"category":"billing"}}"#,
        );
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>(), Ok(action));
            assert_eq!(serde_json::to_value(action).unwrap(), action.as_str());
        }
    }

    #[test]
    fn a_person_query_takes_one_field_only() {
        round_trip(&PersonQuery { person: "1012345678".into() }, r#"{"person":"1012345678"}"#);
        assert!(serde_json::from_str::<PersonQuery>(r#"{"person":"1","colour":"red"}"#).is_err());
    }
}
