//! What a case is, derived from its visit's facts and what staff wrote on it ([`case_of`]) — pure:
//! no IO, the time is an argument. Also the counts the dashboard shows (per state, per month).
//! The case's shape is the wire contract's (`dawr_protocol::api::cases`), re-exported here.
use chrono::{DateTime, Utc};
pub use dawr_protocol::api::cases::{Case, CaseNotes, CaseStatus, EarlierVisit, Escalation};
use serde::Serialize;

use crate::domain::CasePolicy;
use crate::reports::{Ending, VisitFacts};

/// The case of a visit, at `now`.
pub fn case_of(visit: &VisitFacts, notes: Option<&CaseNotes>, policy: CasePolicy, now: DateTime<Utc>) -> Case {
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
    visits.iter().map(|v| case_of(v, notes.get(&v.case_ref), policy, now)).collect()
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
        assert_eq!(case_of(&visit(Ending::Open, None, None), None, policy, now).status, CaseStatus::InProgress);
        assert_eq!(
            case_of(&visit(Ending::Served, Some("resolved"), None), None, policy, now).status,
            CaseStatus::Closed
        );
        assert_eq!(case_of(&visit(Ending::NoShow, None, None), None, policy, now).status, CaseStatus::Closed);
        let open = case_of(&visit(Ending::Served, Some("follow_up"), None), None, policy, now);
        assert_eq!((open.status, open.due_at), (CaseStatus::Open, Some(at("2026-11-26T05:20:00Z"))));
        assert!(!open.overdue);
        let later = case_of(&visit(Ending::Served, Some("referred"), None), None, policy, at("2026-11-27T00:00:00Z"));
        assert!(later.overdue, "past its resolution target");
        let closed_by_staff = CaseNotes { closed_at: Some(now), ..CaseNotes::default() };
        let closed = case_of(&visit(Ending::Served, Some("follow_up"), None), Some(&closed_by_staff), policy, now);
        assert_eq!((closed.status, closed.overdue), (CaseStatus::Closed, false));
    }

    #[test]
    fn a_month_counts_cases_opened_closed_and_still_open_at_its_end() {
        let policy = CasePolicy::default();
        let now = at("2026-12-15T00:00:00Z");
        let resolved = case_of(&visit(Ending::Served, Some("resolved"), None), None, policy, now);
        let left_open = case_of(&visit(Ending::Served, Some("follow_up"), None), None, policy, now);
        let closed_later = CaseNotes { closed_at: Some(at("2026-12-02T08:00:00Z")), ..CaseNotes::default() };
        let closed_in_december =
            case_of(&visit(Ending::Served, Some("referred"), None), Some(&closed_later), policy, now);
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
            case_of(&visit(Ending::Served, Some("resolved"), Some(4)), None, policy, at("2026-11-23T06:00:00Z"));
        assert_eq!(happy.escalation, None);
        let unhappy =
            case_of(&visit(Ending::Served, Some("resolved"), Some(2)), None, policy, at("2026-11-24T06:00:00Z"));
        let e = unhappy.escalation.clone().unwrap();
        assert_eq!((e.score, e.reason.as_str(), e.open, e.overdue), (2, "not_resolved", true, true));
        assert_eq!(e.due_at, at("2026-11-24T05:21:00Z"));
        let answered = CaseNotes { closed_at: Some(at("2026-11-23T09:00:00Z")), ..CaseNotes::default() };
        let done = case_of(
            &visit(Ending::Served, Some("resolved"), Some(1)),
            Some(&answered),
            policy,
            at("2026-11-25T00:00:00Z"),
        );
        let e = done.escalation.unwrap();
        assert!(!e.open && !e.overdue);
        // A score without a reason escalates at the score, and says no reason was given.
        let walked_away = VisitFacts { rating_reason: None, ..visit(Ending::Served, Some("resolved"), Some(1)) };
        let e = case_of(&walked_away, None, policy, at("2026-11-23T06:00:00Z")).escalation.unwrap();
        assert_eq!((e.at, e.reason.as_str(), e.open), (at("2026-11-23T05:21:00Z"), "no_reason_given", true));
        let counts = count(&[unhappy, happy]);
        assert_eq!((counts.closed, counts.escalations_open, counts.escalations_overdue), (2, 1, 1));
    }
}
