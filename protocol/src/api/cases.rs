//! CRM cases: `GET /api/v1/cases/{case_ref}` ([`CaseDetail`]: the [`Case`] and the visitor's
//! earlier visits), `PATCH /api/v1/cases/{case_ref}` ([`CaseUpdate`] → [`Case`]) and
//! `GET /api/v1/cases?from=&to=&status=` (a list of [`Case`]s). Every ticket opens a case; what
//! happened comes from the visit, what staff wrote is in [`CaseNotes`]. How a case is derived
//! from its visit is the hub's business; these are only the shapes.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Where a case is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Its visit is still waiting or at a counter.
    InProgress,
    /// Left open by a follow-up or referral, until staff close it.
    Open,
    Closed,
}

/// What staff wrote on a case (flattened into the case's JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNotes {
    pub category: Option<String>,
    /// The visitor's national ID / iqama number or mobile, when they gave it.
    pub visitor: Option<String>,
    pub notes: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
    /// The visitor's second rating (1–5), of how a case left open was resolved.
    pub resolution_rating: Option<u8>,
    /// Why, when that rating was low and the visitor said (after the score, which stands alone).
    pub resolution_reason: Option<String>,
}

/// A low exit rating, to be answered by a manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalation {
    pub at: DateTime<Utc>,
    pub score: u8,
    /// Why, or `no_reason_given` (the score is recorded at the tap; the reason may never come).
    pub reason: String,
    pub due_at: DateTime<Utc>,
    /// Still unanswered (the case is not closed).
    pub open: bool,
    pub overdue: bool,
}

/// One visit's case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    pub case_ref: String,
    pub ticket: String,
    pub service: String,
    /// `walk_in` or `appointment`.
    pub source: String,
    pub issued_at: DateTime<Utc>,
    pub first_called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub counter: Option<String>,
    /// The staff member who served the visit, if one was signed in.
    pub staff: Option<String>,
    /// `resolved`, `follow_up` or `referred`, once served.
    pub outcome: Option<String>,
    pub status: CaseStatus,
    /// When an open case is due (absent for other cases).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    pub rating: Option<u8>,
    #[serde(flatten)]
    pub notes: CaseNotes,
}

impl Case {
    /// When the case closed: at the end of its visit, or when staff closed a case left open.
    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            CaseStatus::Closed => self.notes.closed_at.or(self.ended_at),
            _ => None,
        }
    }

    /// Whether the case was still open (in progress or left open) at `at`.
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.issued_at <= at && self.closed_at().is_none_or(|closed| closed > at)
    }

    /// Whether the visitor may now rate how their case was resolved: it was left open after the
    /// visit, staff have since closed it, and it has no such rating yet.
    pub fn asks_resolution_rating(&self) -> bool {
        matches!(self.outcome.as_deref(), Some("follow_up" | "referred"))
            && self.notes.closed_at.is_some()
            && self.notes.resolution_rating.is_none()
    }

    /// Whether the visitor may now say why their rating of the resolution was low: the score
    /// was recorded at the tap, and the reason, once, may follow it.
    pub fn asks_resolution_reason(&self) -> bool {
        self.notes.resolution_rating.is_some_and(super::is_low_rating) && self.notes.resolution_reason.is_none()
    }
}

/// A visitor's earlier case, for the counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EarlierVisit {
    pub case_ref: String,
    pub ticket: String,
    pub service: String,
    pub issued_at: DateTime<Utc>,
    pub outcome: Option<String>,
    pub status: CaseStatus,
    pub category: Option<String>,
}

impl From<Case> for EarlierVisit {
    fn from(case: Case) -> EarlierVisit {
        EarlierVisit {
            case_ref: case.case_ref,
            ticket: case.ticket,
            service: case.service,
            issued_at: case.issued_at,
            outcome: case.outcome,
            status: case.status,
            category: case.notes.category,
        }
    }
}

/// `GET /api/v1/cases/{case_ref}`: the case, and the same visitor's other cases (newest first,
/// at most ten; empty when the case names no visitor).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseDetail {
    #[serde(flatten)]
    pub case: Case,
    pub earlier_visits: Vec<EarlierVisit>,
}

/// `PATCH /api/v1/cases/{case_ref}`: a change staff make to a case. Fields left out are kept;
/// unknown fields are refused.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    /// At most 64 characters; blank clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    /// The visitor's national ID / iqama number or mobile (digits, an optional leading `+`);
    /// blank clears it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visitor: Option<String>,
    /// At most 4000 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
    /// Close a case left open (and answer its escalation).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub close: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    /// The documented example: a case left open by a follow-up, with a low rating's escalation.
    fn open_case() -> Case {
        crate::api::examples::case()
    }

    const OPEN_CASE: &str = r#"{"case_ref":"DMM-20261123-000017","ticket":"A017","service":"A","source":"walk_in",
        "issued_at":"2026-11-23T09:00:00Z","first_called_at":"2026-11-23T09:10:00Z",
        "started_at":"2026-11-23T09:11:00Z","ended_at":"2026-11-23T09:20:00Z","counter":"3","staff":"s101",
        "outcome":"follow_up","status":"open","due_at":"2026-11-26T09:20:00Z","overdue":false,
        "escalation":{"at":"2026-11-23T09:21:00Z","score":2,"reason":"not_resolved","due_at":"2026-11-24T09:21:00Z",
            "open":true,"overdue":false},
        "rating":2,"category":"billing","visitor":"1012345678","notes":"call back","closed_at":null,
        "closed_by":null,"updated_at":"2026-11-23T09:19:00Z","updated_by":"s101","resolution_rating":null,
        "resolution_reason":null"#;

    #[test]
    fn a_case_reads_as_the_docs_show_with_its_notes_flattened() {
        round_trip(&open_case(), &format!("{OPEN_CASE}}}"));
        let closed = Case { status: CaseStatus::Closed, due_at: None, escalation: None, ..open_case() };
        let json = serde_json::to_value(&closed).unwrap();
        assert!(json.get("due_at").is_none() && json.get("escalation").is_none(), "absent, not null: {json}");
        assert_eq!(serde_json::from_value::<Case>(json).unwrap(), closed);
    }

    #[test]
    fn a_case_read_alone_lists_the_visitors_earlier_visits() {
        let earlier = EarlierVisit::from(Case {
            case_ref: "DMM-20261101-000003".into(),
            issued_at: at("2026-11-01T08:00:00Z"),
            ..open_case()
        });
        let detail = CaseDetail { case: open_case(), earlier_visits: vec![earlier] };
        round_trip(
            &detail,
            &format!(
                r#"{OPEN_CASE},"earlier_visits":[{{"case_ref":"DMM-20261101-000003","ticket":"A017","service":"A",
                "issued_at":"2026-11-01T08:00:00Z","outcome":"follow_up","status":"open","category":"billing"}}]}}"#
            ),
        );
    }

    #[test]
    fn a_case_update_sends_only_what_changes_and_refuses_unknown_fields() {
        let update = CaseUpdate { category: Some("billing".into()), close: true, ..CaseUpdate::default() };
        round_trip(&update, r#"{"category":"billing","close":true}"#);
        round_trip(&CaseUpdate { notes: Some(String::new()), ..CaseUpdate::default() }, r#"{"notes":""}"#);
        assert!(serde_json::from_str::<CaseUpdate>(r#"{"colour":"red"}"#).is_err());
    }

    #[test]
    fn a_case_closes_at_its_visits_end_or_when_staff_close_it() {
        let open = open_case();
        assert_eq!(open.closed_at(), None);
        assert!(open.open_at(at("2026-11-25T00:00:00Z")));
        let resolved = Case { status: CaseStatus::Closed, outcome: Some("resolved".into()), ..open_case() };
        assert_eq!(resolved.closed_at(), Some(at("2026-11-23T09:20:00Z")));
        assert!(!resolved.asks_resolution_rating());
        let mut answered = Case { status: CaseStatus::Closed, ..open_case() };
        answered.notes.closed_at = Some(at("2026-11-24T08:00:00Z"));
        assert_eq!(answered.closed_at(), Some(at("2026-11-24T08:00:00Z")));
        assert!(answered.asks_resolution_rating(), "left open, then closed by staff");
        answered.notes.resolution_rating = Some(2);
        assert!(!answered.asks_resolution_rating() && answered.asks_resolution_reason(), "low: why?");
        answered.notes.resolution_reason = Some("not_resolved".into());
        assert!(!answered.asks_resolution_reason(), "once");
    }
}
