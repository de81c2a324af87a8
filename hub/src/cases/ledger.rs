//! The real CRM cases as the ministry counts them — pure: no IO, the time is an argument.
//!
//! Every ticket has a case reference, but only three things are cases a CRM team handles
//! ([`CaseKind`]): a visit completed as `follow_up` or `referred` (opened when the visit ended, due
//! `[cases] resolution_target_h` later, closed when staff close it) and an escalation (opened by an
//! exit rating of 1 or 2, due `[cases] escalation_target_h` later, answered when staff close the
//! case). A visit can give two entries: a follow-up whose visitor also rated it low.
//!
//! Each entry is counted by the time of its own events ([`period`]): opened in the period of its
//! opening, closed in the period of its closing, open at a period's end when opened before it and
//! not closed by then. So a case opened in September and closed in October counts in October
//! whatever range a report covers, as long as the entries given include every case not closed
//! before the range (what `reports::backlog_facts` reads).
use chrono::{DateTime, FixedOffset, NaiveDate, NaiveTime, Utc};
pub use dawr_protocol::api::reports::{CaseKind, CaseKinds, CaseLine, CasePeriod, CaseReport};

use super::Case;
use crate::domain::CasePolicy;
use crate::reports::Ending;

/// One real case: what kind, when it was opened, due and closed.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseEntry {
    pub kind: CaseKind,
    pub case_ref: String,
    pub ticket: String,
    pub service: String,
    pub staff: Option<String>,
    pub counter: Option<String>,
    pub category: Option<String>,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// The visitor's second rating, of how the case was resolved.
    pub resolution_rating: Option<u8>,
}

impl CaseEntry {
    /// Whether the case is still open at `at` (closed at `at` or before is not).
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.opened_at < at && self.closed_at.is_none_or(|closed| closed >= at)
    }

    /// Whether it was closed by its due time.
    pub fn closed_within_target(&self) -> bool {
        self.closed_at.is_some_and(|closed| closed <= self.due_at)
    }

    /// The entry as a list line, overdue or not at `now`.
    pub fn line(&self, now: DateTime<Utc>) -> CaseLine {
        CaseLine {
            case_ref: self.case_ref.clone(),
            ticket: self.ticket.clone(),
            service: self.service.clone(),
            kind: self.kind,
            opened_at: self.opened_at,
            due_at: self.due_at,
            closed_at: self.closed_at,
            staff: self.staff.clone(),
            counter: self.counter.clone(),
            overdue: self.open_at(now) && now > self.due_at,
            category: self.category.clone(),
        }
    }
}

/// The real cases of one ticket's case: none, its follow-up or referral, its escalation, or both.
pub fn entries_of(case: &Case, ending: Ending, policy: CasePolicy) -> Vec<CaseEntry> {
    let entry = |kind, opened_at, due_at| CaseEntry {
        kind,
        case_ref: case.case_ref.clone(),
        ticket: case.ticket.clone(),
        service: case.service.clone(),
        staff: case.staff.clone(),
        counter: case.counter.clone(),
        category: case.notes.category.clone(),
        opened_at,
        due_at,
        closed_at: case.notes.closed_at,
        resolution_rating: case.notes.resolution_rating,
    };
    let mut entries = Vec::new();
    let left_open = match case.outcome.as_deref() {
        Some("follow_up") => Some(CaseKind::FollowUp),
        Some("referred") => Some(CaseKind::Referral),
        _ => None,
    };
    if let (Some(kind), Ending::Served, Some(ended)) = (left_open, ending, case.ended_at) {
        let due = ended + chrono::Duration::seconds(i64::from(policy.resolution_target_s));
        entries.push(entry(kind, ended, due));
    }
    if let Some(e) = &case.escalation {
        entries.push(entry(CaseKind::Escalation, e.at, e.due_at));
    }
    entries
}

/// One period's counts among `entries`: the local days `from..=to`, which run from `start` to
/// `end` (UTC, end exclusive). A period not over at `now` ends at `now` for what is open and
/// overdue.
pub fn period(
    entries: &[CaseEntry],
    (from, to): (NaiveDate, NaiveDate),
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    now: DateTime<Utc>,
) -> CasePeriod {
    let within = |t: DateTime<Utc>| start <= t && t < end;
    let until = end.min(now);
    let mut p = CasePeriod {
        from,
        to,
        opened: CaseKinds::default(),
        closed: CaseKinds::default(),
        closed_within_target: CaseKinds::default(),
        open_at_end: CaseKinds::default(),
        overdue_at_end: CaseKinds::default(),
        resolution_ratings: 0,
        resolution_rating_mean: None,
    };
    for e in entries {
        *p.opened.of_mut(e.kind) += usize::from(within(e.opened_at));
        let closed_here = e.closed_at.is_some_and(within);
        *p.closed.of_mut(e.kind) += usize::from(closed_here);
        *p.closed_within_target.of_mut(e.kind) += usize::from(closed_here && e.closed_within_target());
        let open = e.open_at(until);
        *p.open_at_end.of_mut(e.kind) += usize::from(open);
        *p.overdue_at_end.of_mut(e.kind) += usize::from(open && e.due_at < until);
    }
    // A ticket with two entries has one resolution rating: count each case once.
    let mut rated: Vec<(&str, u8)> = entries
        .iter()
        .filter(|e| e.closed_at.is_some_and(within))
        .filter_map(|e| e.resolution_rating.map(|r| (e.case_ref.as_str(), r)))
        .collect();
    rated.sort();
    rated.dedup();
    p.resolution_ratings = rated.len();
    p.resolution_rating_mean =
        (!rated.is_empty()).then(|| rated.iter().map(|(_, r)| f64::from(*r)).sum::<f64>() / rated.len() as f64);
    p
}

/// The cases still open at `now`, the overdue first, then by due time.
pub fn open_lines(entries: &[CaseEntry], now: DateTime<Utc>) -> Vec<CaseLine> {
    let mut lines: Vec<CaseLine> = entries.iter().filter(|e| e.closed_at.is_none()).map(|e| e.line(now)).collect();
    lines.sort_by(|a, b| b.overdue.cmp(&a.overdue).then(a.due_at.cmp(&b.due_at)).then(a.case_ref.cmp(&b.case_ref)));
    lines
}

/// When local day `day` begins, in UTC, at a branch `offset` from UTC.
pub fn day_start(day: NaiveDate, offset: FixedOffset) -> DateTime<Utc> {
    (day.and_time(NaiveTime::MIN) - chrono::Duration::seconds(i64::from(offset.local_minus_utc()))).and_utc()
}

/// The counts of the local days `from..=to` (see [`period`]).
pub fn days(
    entries: &[CaseEntry],
    from: NaiveDate,
    to: NaiveDate,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> CasePeriod {
    let end = day_start(to + chrono::Duration::days(1), offset);
    period(entries, (from, to), (day_start(from, offset), end), now)
}

/// The cases of a report of local days `from..=to`: the range, each month it touches, and
/// those open at `now` (the branch's id is the caller's to fill in).
pub fn report(
    entries: &[CaseEntry],
    from: NaiveDate,
    to: NaiveDate,
    offset: FixedOffset,
    now: DateTime<Utc>,
) -> CaseReport {
    CaseReport {
        branch: String::new(),
        total: days(entries, from, to, offset, now),
        months: crate::reports::summary::months_in(from, to)
            .into_iter()
            .map(|(first, last)| days(entries, first, last, offset, now))
            .collect(),
        open: open_lines(entries, now),
    }
}

/// Share in percent, `None` of nothing.
pub fn share(part: usize, of: usize) -> Option<f64> {
    (of > 0).then(|| part as f64 * 100.0 / of as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::case::tests::{at, visit};
    use crate::cases::{CaseNotes, case_of};

    fn policy() -> CasePolicy {
        CasePolicy { resolution_target_s: 72 * 3600, escalation_target_s: 24 * 3600 }
    }

    fn entries(outcome: &str, rating: Option<u8>, closed_at: Option<&str>) -> Vec<CaseEntry> {
        let v = visit(Ending::Served, Some(outcome), rating);
        let notes = CaseNotes { closed_at: closed_at.map(at), resolution_rating: Some(4), ..CaseNotes::default() };
        let case = case_of(&v, Some(&notes), policy(), at("2027-01-01T00:00:00Z"));
        entries_of(&case, v.ending, policy())
    }

    #[test]
    fn only_follow_ups_referrals_and_escalations_are_cases() {
        assert!(entries("resolved", Some(4), None).is_empty(), "a resolved, happy visit is no case");
        assert!(
            entries_of(
                &case_of(&visit(Ending::NoShow, None, None), None, policy(), at("2026-12-01T00:00:00Z")),
                Ending::NoShow,
                policy()
            )
            .is_empty()
        );
        let kinds: Vec<CaseKind> = entries("follow_up", Some(1), None).iter().map(|e| e.kind).collect();
        assert_eq!(kinds, [CaseKind::FollowUp, CaseKind::Escalation], "a follow-up rated low is two cases");
        let referral = &entries("referred", None, None)[0];
        assert_eq!(referral.kind, CaseKind::Referral);
        assert_eq!((referral.opened_at, referral.due_at), (at("2026-11-23T05:20:00Z"), at("2026-11-26T05:20:00Z")));
        let escalation = &entries("resolved", Some(2), None)[0];
        assert_eq!((escalation.opened_at, escalation.due_at), (at("2026-11-23T05:21:00Z"), at("2026-11-24T05:21:00Z")));
    }

    fn month(entries: &[CaseEntry], first: &str, next: &str) -> CasePeriod {
        let (start, end) = (at(&format!("{first}T00:00:00Z")), at(&format!("{next}T00:00:00Z")));
        let to = end.date_naive().pred_opt().unwrap();
        period(entries, (start.date_naive(), to), (start, end), at("2027-01-15T00:00:00Z"))
    }

    #[test]
    fn a_case_closed_in_a_later_month_counts_in_that_month() {
        // Opened 23 Nov, closed 2 Dec (after its 72 h), and one closed on time; one still open.
        let mut all = entries("follow_up", None, Some("2026-12-02T08:00:00Z"));
        all.extend(entries("referred", None, Some("2026-11-25T08:00:00Z")));
        all.extend(entries("follow_up", Some(2), None));
        let november = month(&all, "2026-11-01", "2026-12-01");
        assert_eq!(november.opened, CaseKinds { follow_up: 2, referral: 1, escalation: 1 });
        assert_eq!(november.closed, CaseKinds { referral: 1, ..CaseKinds::default() });
        assert_eq!(november.closed_within_target, CaseKinds { referral: 1, ..CaseKinds::default() });
        assert_eq!(november.open_at_end, CaseKinds { follow_up: 2, referral: 0, escalation: 1 });
        assert_eq!(november.overdue_at_end.total(), 3, "past 26 Nov and 24 Nov by the month's end");
        let december = month(&all, "2026-12-01", "2027-01-01");
        assert_eq!(december.opened.total(), 0);
        assert_eq!(december.closed, CaseKinds { follow_up: 1, ..CaseKinds::default() });
        assert_eq!(december.closed_within_target.total(), 0, "closed after its 72 h");
        assert_eq!(december.open_at_end, CaseKinds { follow_up: 1, referral: 0, escalation: 1 });
        assert_eq!((december.resolution_ratings, december.resolution_rating_mean), (1, Some(4.0)));
        // Whatever the entries' months, each month adds up: open at its end = before + opened − closed.
        let before = november.open_at_end.total();
        assert_eq!(december.open_at_end.total(), before + december.opened.total() - december.closed.total());
    }

    #[test]
    fn the_open_list_puts_the_overdue_first() {
        let mut all = entries("follow_up", None, None);
        all.extend(entries("resolved", Some(1), None));
        all.extend(entries("referred", None, Some("2026-11-24T00:00:00Z")));
        let lines = open_lines(&all, at("2026-11-25T00:00:00Z"));
        let shown: Vec<(CaseKind, bool)> = lines.iter().map(|l| (l.kind, l.overdue)).collect();
        assert_eq!(shown, [(CaseKind::Escalation, true), (CaseKind::FollowUp, false)]);
    }
}
