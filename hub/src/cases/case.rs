//! What a case is, derived from its visit's facts and what staff wrote on it — pure: no IO, the
//! time is an argument. Also the counts the dashboard shows (per state, per month).
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::CasePolicy;
use crate::reports::{Ending, VisitFacts};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    InProgress,
    Open,
    Closed,
}

/// What staff wrote on a case.
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
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
    pub outcome: Option<String>,
    pub status: CaseStatus,
    /// When an open case is due (absent for other cases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    pub rating: Option<u8>,
    #[serde(flatten)]
    pub notes: CaseNotes,
}

impl Case {
    /// The case of a visit, at `now`.
    pub fn of(visit: &VisitFacts, notes: Option<&CaseNotes>, policy: CasePolicy, now: DateTime<Utc>) -> Case {
        let notes = notes.cloned().unwrap_or_default();
        let closed_by_staff = notes.closed_at.is_some();
        let left_open = matches!(visit.outcome.as_deref(), Some("follow_up" | "referred"));
        let status = match visit.ending {
            Ending::Open => CaseStatus::InProgress,
            Ending::Served if left_open && !closed_by_staff => CaseStatus::Open,
            _ => CaseStatus::Closed,
        };
        let due_at = (status == CaseStatus::Open)
            .then(|| visit.ended_at.map(|e| e + chrono::Duration::seconds(i64::from(policy.resolution_target_s))))
            .flatten();
        let escalation = match (visit.rating, visit.rated_at) {
            (Some(score), Some(at)) if crate::reports::is_low(score) => {
                let due_at = at + chrono::Duration::seconds(i64::from(policy.escalation_target_s));
                let open = !closed_by_staff;
                Some(Escalation {
                    at,
                    score,
                    reason: visit.rating_reason.clone().unwrap_or_else(|| crate::reports::NO_REASON_GIVEN.into()),
                    due_at,
                    open,
                    overdue: open && now > due_at,
                })
            }
            _ => None,
        };
        Case {
            case_ref: visit.case_ref.clone(),
            ticket: visit.number.clone(),
            service: visit.service.clone(),
            source: visit.source.clone(),
            issued_at: visit.issued_at,
            first_called_at: visit.first_called_at,
            started_at: visit.started_at,
            ended_at: visit.ended_at,
            counter: visit.counter.clone(),
            staff: visit.staff.clone(),
            outcome: visit.outcome.clone(),
            status,
            overdue: due_at.is_some_and(|d| now > d),
            due_at,
            escalation,
            rating: visit.rating,
            notes,
        }
    }
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
}

/// A month's cases, as the ministries' monthly tables count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MonthCases {
    pub opened: usize,
    pub closed: usize,
    pub open_at_end: usize,
}

/// Cases opened and closed from `start` to `end` (exclusive), and those open at `end`, among
/// `cases` (which must include every case opened up to `end` that matters).
pub fn month(cases: &[Case], start: DateTime<Utc>, end: DateTime<Utc>) -> MonthCases {
    let within = |t: DateTime<Utc>| start <= t && t < end;
    MonthCases {
        opened: cases.iter().filter(|c| within(c.issued_at)).count(),
        closed: cases.iter().filter(|c| c.closed_at().is_some_and(within)).count(),
        open_at_end: cases.iter().filter(|c| c.open_at(end)).count(),
    }
}

/// How many cases are in each state (for the dashboard).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaseCounts {
    pub in_progress: usize,
    pub open: usize,
    pub closed: usize,
    pub overdue: usize,
    pub escalations_open: usize,
    pub escalations_overdue: usize,
}

pub fn count(cases: &[Case]) -> CaseCounts {
    let mut counts = CaseCounts::default();
    for case in cases {
        match case.status {
            CaseStatus::InProgress => counts.in_progress += 1,
            CaseStatus::Open => counts.open += 1,
            CaseStatus::Closed => counts.closed += 1,
        }
        counts.overdue += usize::from(case.overdue);
        if let Some(e) = &case.escalation {
            counts.escalations_open += usize::from(e.open);
            counts.escalations_overdue += usize::from(e.overdue);
        }
    }
    counts
}

/// The cases of some visits, with what staff wrote on them.
pub fn cases_of(
    visits: &[VisitFacts],
    notes: &std::collections::HashMap<String, CaseNotes>,
    policy: CasePolicy,
    now: DateTime<Utc>,
) -> Vec<Case> {
    visits.iter().map(|v| Case::of(v, notes.get(&v.case_ref), policy, now)).collect()
}

impl Case {
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
        self.notes.resolution_rating.is_some_and(crate::reports::is_low) && self.notes.resolution_reason.is_none()
    }
}

/// A visitor's earlier case, for the counter.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    pub fn visit(ending: Ending, outcome: Option<&str>, rating: Option<u8>) -> VisitFacts {
        VisitFacts {
            id: 1,
            number: "A001".into(),
            case_ref: "DMM-20261123-000001".into(),
            service: "A".into(),
            local_day: "2026-11-23".into(),
            issued_at: at("2026-11-23T05:00:00Z"),
            first_called_at: Some(at("2026-11-23T05:10:00Z")),
            started_at: Some(at("2026-11-23T05:11:00Z")),
            ended_at: (ending != Ending::Open).then(|| at("2026-11-23T05:20:00Z")),
            ending,
            counter: Some("2".into()),
            outcome: outcome.map(Into::into),
            rating,
            rating_reason: rating.filter(|r| *r <= 2).map(|_| "not_resolved".into()),
            rated_at: rating.map(|_| at("2026-11-23T05:21:00Z")),
            staff: Some("s101".into()),
            source: "walk_in".into(),
        }
    }

    #[test]
    fn a_case_follows_its_visit_and_an_open_one_falls_due() {
        let policy = CasePolicy { resolution_target_s: 72 * 3600, escalation_target_s: 24 * 3600 };
        let now = at("2026-11-24T05:00:00Z");
        assert_eq!(Case::of(&visit(Ending::Open, None, None), None, policy, now).status, CaseStatus::InProgress);
        assert_eq!(
            Case::of(&visit(Ending::Served, Some("resolved"), None), None, policy, now).status,
            CaseStatus::Closed
        );
        assert_eq!(Case::of(&visit(Ending::NoShow, None, None), None, policy, now).status, CaseStatus::Closed);
        let open = Case::of(&visit(Ending::Served, Some("follow_up"), None), None, policy, now);
        assert_eq!((open.status, open.due_at), (CaseStatus::Open, Some(at("2026-11-26T05:20:00Z"))));
        assert!(!open.overdue);
        let later = Case::of(&visit(Ending::Served, Some("referred"), None), None, policy, at("2026-11-27T00:00:00Z"));
        assert!(later.overdue, "past its resolution target");
        let closed_by_staff = CaseNotes { closed_at: Some(now), ..CaseNotes::default() };
        let closed = Case::of(&visit(Ending::Served, Some("follow_up"), None), Some(&closed_by_staff), policy, now);
        assert_eq!((closed.status, closed.overdue), (CaseStatus::Closed, false));
    }

    #[test]
    fn a_month_counts_cases_opened_closed_and_still_open_at_its_end() {
        let policy = CasePolicy::default();
        let now = at("2026-12-15T00:00:00Z");
        let resolved = Case::of(&visit(Ending::Served, Some("resolved"), None), None, policy, now);
        let left_open = Case::of(&visit(Ending::Served, Some("follow_up"), None), None, policy, now);
        let closed_later = CaseNotes { closed_at: Some(at("2026-12-02T08:00:00Z")), ..CaseNotes::default() };
        let closed_in_december =
            Case::of(&visit(Ending::Served, Some("referred"), None), Some(&closed_later), policy, now);
        let cases = [resolved, left_open, closed_in_december];
        let november = month(&cases, at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
        assert_eq!(november, MonthCases { opened: 3, closed: 1, open_at_end: 2 });
        let december = month(&cases, at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
        assert_eq!(december, MonthCases { opened: 0, closed: 1, open_at_end: 1 });
    }

    #[test]
    fn a_low_rating_escalates_until_the_case_is_closed() {
        let policy = CasePolicy::default();
        let happy =
            Case::of(&visit(Ending::Served, Some("resolved"), Some(4)), None, policy, at("2026-11-23T06:00:00Z"));
        assert_eq!(happy.escalation, None);
        let unhappy =
            Case::of(&visit(Ending::Served, Some("resolved"), Some(2)), None, policy, at("2026-11-24T06:00:00Z"));
        let e = unhappy.escalation.clone().unwrap();
        assert_eq!((e.score, e.reason.as_str(), e.open, e.overdue), (2, "not_resolved", true, true));
        assert_eq!(e.due_at, at("2026-11-24T05:21:00Z"));
        let answered = CaseNotes { closed_at: Some(at("2026-11-23T09:00:00Z")), ..CaseNotes::default() };
        let done = Case::of(
            &visit(Ending::Served, Some("resolved"), Some(1)),
            Some(&answered),
            policy,
            at("2026-11-25T00:00:00Z"),
        );
        let e = done.escalation.unwrap();
        assert!(!e.open && !e.overdue);
        // A score without a reason escalates at the score, and says no reason was given.
        let walked_away = VisitFacts { rating_reason: None, ..visit(Ending::Served, Some("resolved"), Some(1)) };
        let e = Case::of(&walked_away, None, policy, at("2026-11-23T06:00:00Z")).escalation.unwrap();
        assert_eq!((e.at, e.reason.as_str(), e.open), (at("2026-11-23T05:21:00Z"), "no_reason_given", true));
        let counts = count(&[unhappy, happy]);
        assert_eq!((counts.closed, counts.escalations_open, counts.escalations_overdue), (2, 1, 1));
    }
}
