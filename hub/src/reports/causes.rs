//! Root causes as the ministry reports them — pure: visit rows (with their cases' categories)
//! in, shares out.
//!
//! Two kinds of cause: the reason given for an exit rating of 1 or 2 (`no_reason_given` without
//! one), and the category staff gave a real case (a follow-up, referral or escalation;
//! `uncategorised` without one). Each is counted once per visit, on the visit's local day, and
//! shown as a share of its group — the range, each service, each calendar month — most frequent
//! first, with the change in points against the period before ([`previous_range`]; for a month,
//! the month before).
use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{Datelike, Duration, NaiveDate};
pub use dawr_protocol::api::reports::{CauseGroup, CauseShare, CauseTable, CausesReport, SatisfactionMonth};

use super::VisitFacts;
use super::periods::{Period, previous};
use super::summary::months_in;

/// What a real case without a category counts as.
pub const UNCATEGORISED: &str = "uncategorised";

/// The low rating's reason of a visit, if it had a low rating (or a reason).
pub fn reason_of(visit: &VisitFacts) -> Option<String> {
    (visit.rating.is_some_and(super::is_low) || visit.rating_reason.is_some())
        .then(|| visit.rating_reason.clone().unwrap_or_else(|| super::NO_REASON_GIVEN.into()))
}

/// Whether a visit opened a real case: left open (`follow_up`, `referred`) or rated 1 or 2.
pub fn is_real_case(visit: &VisitFacts) -> bool {
    matches!(visit.outcome.as_deref(), Some("follow_up" | "referred")) || visit.rating.is_some_and(super::is_low)
}

/// The period just before `from..=to`: as many whole months before, for a range of whole
/// calendar months (a month, a quarter); otherwise as many days before.
pub fn previous_range(from: NaiveDate, to: NaiveDate) -> (NaiveDate, NaiveDate) {
    let whole_months = from.day() == 1 && (to + Duration::days(1)).day() == 1;
    if whole_months {
        let start = (0..months_in(from, to).len()).fold(from, |start, _| previous(Period::Month, start).0);
        return (start, from - Duration::days(1));
    }
    let days = (to - from).num_days() + 1;
    (from - Duration::days(days), from - Duration::days(1))
}

fn counts<'a>(causes: impl Iterator<Item = &'a str>) -> BTreeMap<&'a str, usize> {
    let mut counts = BTreeMap::new();
    for cause in causes {
        *counts.entry(cause).or_insert(0) += 1;
    }
    counts
}

/// The shares of one group, against the same group before.
pub fn group(name: &str, now: &[&str], before: &[&str]) -> CauseGroup {
    let (now_counts, before_counts) = (counts(now.iter().copied()), counts(before.iter().copied()));
    let pct = |n: usize, of: usize| (of > 0).then(|| n as f64 * 100.0 / of as f64);
    let mut causes: Vec<CauseShare> = now_counts
        .keys()
        .chain(before_counts.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .map(|cause| {
            let count = now_counts.get(cause).copied().unwrap_or(0);
            let previous_count = before_counts.get(cause).copied().unwrap_or(0);
            let share_pct = pct(count, now.len()).unwrap_or(0.0);
            let previous_share_pct = pct(previous_count, before.len());
            CauseShare {
                cause: cause.to_string(),
                count,
                share_pct,
                previous_count,
                previous_share_pct,
                change_points: previous_share_pct.filter(|_| !now.is_empty()).map(|p| share_pct - p),
            }
        })
        .collect();
    causes.sort_by(|a, b| {
        b.count.cmp(&a.count).then(b.previous_count.cmp(&a.previous_count)).then(a.cause.cmp(&b.cause))
    });
    CauseGroup { group: name.into(), total: now.len(), previous_total: before.len(), causes }
}

/// One kind of cause over `from..=to`: `cause_of` gives a visit's cause, if it has one. `visits`
/// must reach back to the period before the range and the month before its first.
pub fn table(
    (from, to): (NaiveDate, NaiveDate),
    visits: &[VisitFacts],
    cause_of: &dyn Fn(&VisitFacts) -> Option<String>,
) -> CauseTable {
    let causes: Vec<(NaiveDate, &str, String)> =
        visits.iter().filter_map(|v| Some((v.local_day.parse().ok()?, v.service.as_str(), cause_of(v)?))).collect();
    let within = |(first, last): (NaiveDate, NaiveDate), service: Option<&str>| -> Vec<&str> {
        causes
            .iter()
            .filter(|(day, s, _)| first <= *day && *day <= last && service.is_none_or(|x| x == *s))
            .map(|(_, _, c)| c.as_str())
            .collect()
    };
    let before = previous_range(from, to);
    let services: BTreeSet<&str> =
        causes.iter().filter(|(day, ..)| from <= *day && *day <= to).map(|(_, s, _)| *s).collect();
    CauseTable {
        overall: group("all", &within((from, to), None), &within(before, None)),
        per_service: services
            .into_iter()
            .map(|s| group(s, &within((from, to), Some(s)), &within(before, Some(s))))
            .collect(),
        per_month: months_in(from, to)
            .into_iter()
            .map(|(first, last)| {
                let month_before = previous(Period::Month, Period::Month.start_of(first));
                group(&first.to_string(), &within((first, last), None), &within(month_before, None))
            })
            .collect(),
    }
}

/// The causes report of `from..=to` (the branch's id is the caller's to fill in): `visits` from
/// the earlier of the period before and the month before the first, to `to`; `categories` the
/// real cases' categories by case reference; `resolution` each month's (count, mean) ratings
/// after resolution.
pub fn causes_report(
    (from, to): (NaiveDate, NaiveDate),
    visits: &[VisitFacts],
    categories: &HashMap<String, String>,
    resolution: &dyn Fn(NaiveDate, NaiveDate) -> (usize, Option<f64>),
) -> CausesReport {
    let (previous_from, previous_to) = previous_range(from, to);
    let category_of = |v: &VisitFacts| {
        is_real_case(v).then(|| categories.get(&v.case_ref).cloned().unwrap_or_else(|| UNCATEGORISED.into()))
    };
    let satisfaction = months_in(from, to)
        .into_iter()
        .map(|(first, last)| {
            let (first_text, last_text) = (first.to_string(), last.to_string());
            let scores: Vec<u8> = visits
                .iter()
                .filter(|v| v.local_day >= first_text && v.local_day <= last_text)
                .filter_map(|v| v.rating)
                .collect();
            let (resolution_ratings, resolution_mean) = resolution(first, last);
            SatisfactionMonth {
                from: first,
                to: last,
                exit_ratings: scores.len(),
                exit_mean: (!scores.is_empty())
                    .then(|| scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64),
                resolution_ratings,
                resolution_mean,
            }
        })
        .collect();
    CausesReport {
        branch: String::new(),
        from,
        to,
        previous_from,
        previous_to,
        reasons: table((from, to), visits, &reason_of),
        categories: table((from, to), visits, &category_of),
        satisfaction,
    }
}

/// The first day whose visits [`causes_report`] needs for `from..=to`.
pub fn reach_back(from: NaiveDate, to: NaiveDate) -> NaiveDate {
    previous_range(from, to).0.min(previous(Period::Month, Period::Month.start_of(from)).0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_are_of_the_group_most_frequent_first_with_their_change_in_points() {
        let g = group("all", &["a", "b", "b", "c"], &["a", "a", "b", "d"]);
        type Row<'a> = (&'a str, usize, f64, Option<f64>, Option<f64>);
        let got: Vec<Row> = g
            .causes
            .iter()
            .map(|c| (c.cause.as_str(), c.count, c.share_pct, c.previous_share_pct, c.change_points))
            .collect();
        assert_eq!(
            got,
            [
                ("b", 2, 50.0, Some(25.0), Some(25.0)),
                ("a", 1, 25.0, Some(50.0), Some(-25.0)),
                ("c", 1, 25.0, Some(0.0), Some(25.0)),
                ("d", 0, 0.0, Some(25.0), Some(-25.0)),
            ]
        );
        assert_eq!((g.total, g.previous_total), (4, 4));
        let first = group("all", &["a"], &[]);
        assert_eq!((first.causes[0].previous_share_pct, first.causes[0].change_points), (None, None));
    }

    #[test]
    fn the_period_before_is_as_long_as_the_range() {
        let day = |t: &str| t.parse::<NaiveDate>().unwrap();
        assert_eq!(previous_range(day("2026-10-01"), day("2026-10-31")), (day("2026-09-01"), day("2026-09-30")));
        assert_eq!(previous_range(day("2026-10-01"), day("2026-12-31")), (day("2026-07-01"), day("2026-09-30")));
        assert_eq!(previous_range(day("2026-10-05"), day("2026-10-11")), (day("2026-09-28"), day("2026-10-04")));
        assert_eq!(reach_back(day("2026-10-15"), day("2026-10-20")), day("2026-09-01"));
    }
}
