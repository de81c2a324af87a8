//! The CRM connector: the webhook body a hub posts to the ministry's CRM for every case event
//! ([`CaseEvent`]), what a staff member's change to a case says there ([`CaseChange`]), and the
//! outbox's state for managers (`GET /api/v1/crm/status` → [`CrmStatus`]).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `POST <webhook_url>`: one case event, signed with `X-Dawr-Signature`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// Unique per event (`{branch}-e{seq}` for a visit event, `{branch}-n{n}` for a case change);
    /// a CRM drops an id it has seen.
    pub event_id: String,
    pub branch: String,
    pub case_ref: String,
    /// A visit event (`issued`, `called`, `recalled`, `started`, `completed`, `no_show`,
    /// `transferred`, `cancelled`, `rated`) or `case_noted`.
    pub kind: String,
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The event as the hub's log records it (with `staff` when someone was signed in at the
    /// counter), or for `case_noted` a [`CaseChange`].
    pub event: serde_json::Value,
}

/// What a `case_noted` event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CaseChange {
    /// Staff wrote on the case (the notes as they are now).
    Noted(CaseNoted),
    /// The visitor rated how their case was resolved.
    ResolutionRated { resolution_rating: u8 },
    /// The visitor said why that rating was low (after the score, which stands alone).
    ResolutionReason { resolution_reason: String },
}

/// What staff wrote on a case, as the CRM receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNoted {
    pub category: Option<String>,
    pub notes: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    /// The staff member who made the change.
    pub by: String,
}

/// `GET /api/v1/crm/status` (managers): whether case events go to a CRM, and its outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmStatus {
    /// Whether this hub has a CRM connector (the outbox is empty without one).
    pub enabled: bool,
    pub pending: i64,
    /// When the oldest undelivered event happened.
    pub oldest_pending_at: Option<String>,
    /// Delivery attempts of the oldest undelivered event.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub delivered: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    #[test]
    fn a_webhook_body_reads_as_the_docs_show() {
        let event = CaseEvent {
            event_id: "demo-e1042".into(),
            branch: "demo".into(),
            case_ref: "DMM-20261123-000017".into(),
            kind: "completed".into(),
            at: "2026-11-23T09:20:00.120Z".into(),
            event: serde_json::json!({"kind": "completed", "visit": 17, "counter": "3", "outcome": "follow_up"}),
        };
        round_trip(
            &event,
            r#"{"event_id": "demo-e1042", "branch": "demo", "case_ref": "DMM-20261123-000017", "kind": "completed",
                "at": "2026-11-23T09:20:00.120Z",
                "event": {"kind": "completed", "visit": 17, "counter": "3", "outcome": "follow_up"}}"#,
        );
    }

    #[test]
    fn a_case_change_is_either_the_notes_or_a_resolution_rating() {
        let noted = CaseChange::Noted(CaseNoted {
            category: Some("billing".into()),
            notes: "call back".into(),
            closed_at: Some("2026-11-24T08:00:00Z".parse().unwrap()),
            closed_by: Some("s101".into()),
            by: "s101".into(),
        });
        round_trip(
            &noted,
            r#"{"category":"billing","notes":"call back","closed_at":"2026-11-24T08:00:00Z","closed_by":"s101","by":"s101"}"#,
        );
        round_trip(&CaseChange::ResolutionRated { resolution_rating: 4 }, r#"{"resolution_rating":4}"#);
        let reason = CaseChange::ResolutionReason { resolution_reason: "not_resolved".into() };
        round_trip(&reason, r#"{"resolution_reason":"not_resolved"}"#);
    }

    #[test]
    fn the_outbox_status_reads_as_the_docs_show() {
        let status = CrmStatus {
            enabled: true,
            pending: 2,
            oldest_pending_at: Some("2026-11-23T09:20:00.120Z".into()),
            attempts: 3,
            last_error: Some("503 Service Unavailable".into()),
            last_attempt_at: Some("2026-11-23T09:21:00.000Z".into()),
            delivered: 40,
        };
        round_trip(
            &status,
            r#"{"enabled":true,"pending":2,"oldest_pending_at":"2026-11-23T09:20:00.120Z","attempts":3,
                "last_error":"503 Service Unavailable","last_attempt_at":"2026-11-23T09:21:00.000Z","delivered":40}"#,
        );
    }
}
