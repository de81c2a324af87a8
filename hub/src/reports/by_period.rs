//! A range by period as the ministry reports it — pure: figures and visit rows in, the wire
//! report's parts out.
//!
//! [`period_figures`] gives one period's headline figures (visits, share within target, mean
//! wait, satisfaction, real cases opened, closed and open at its end) and [`with_changes`] sets
//! each one's change against the period before. [`quarter_table`] lays a quarter out as the
//! ministry's quarterly beneficiary report does: a column per month and the quarter's total,
//! rows of visits per service, cases, satisfaction and the top causes.
use std::collections::BTreeSet;

use chrono::NaiveDate;
pub use dawr_protocol::api::reports::{
    PeriodChange, PeriodFigures, PeriodsReport, QuarterColumn, QuarterTable, ServiceVisits,
};

use super::causes::{self, CauseGroup, CauseShare};
use super::periods::{change_pct, change_points};
use super::summary::months_in;
use super::{Figures, VisitFacts};
use crate::cases::CasePeriod;

/// How many causes of each kind a quarter table's column names.
pub const TOP_CAUSES: usize = 3;

/// One period's figures (its change is [`with_changes`]'s to set).
pub fn period_figures(
    (from, to): (NaiveDate, NaiveDate),
    figures: &Figures,
    breaches: usize,
    cases: &CasePeriod,
) -> PeriodFigures {
    PeriodFigures {
        from,
        to,
        visits: figures.visits,
        served: figures.served,
        within_target_pct: figures.within_target_pct,
        breaches,
        wait_mean_s: figures.wait_s.mean,
        csat_ratings: figures.csat.ratings,
        csat_mean: figures.csat.mean,
        cases_opened: cases.opened.total(),
        cases_closed: cases.closed.total(),
        cases_open_at_end: cases.open_at_end.total(),
        change: PeriodChange::default(),
    }
}

/// The change of `now` against `before`.
pub fn change(now: &PeriodFigures, before: &PeriodFigures) -> PeriodChange {
    let count = |n: usize| Some(n as f64);
    PeriodChange {
        visits_pct: change_pct(count(now.visits), count(before.visits)),
        within_target_points: change_points(now.within_target_pct, before.within_target_pct),
        wait_mean_pct: change_pct(now.wait_mean_s, before.wait_mean_s),
        csat_mean_points: change_points(now.csat_mean, before.csat_mean),
        cases_opened_pct: change_pct(count(now.cases_opened), count(before.cases_opened)),
        cases_closed_pct: change_pct(count(now.cases_closed), count(before.cases_closed)),
    }
}

/// Consecutive periods, each given its change against the one before it (the first keeps none).
pub fn with_changes(mut periods: Vec<PeriodFigures>) -> Vec<PeriodFigures> {
    for i in 1..periods.len() {
        periods[i].change = change(&periods[i], &periods[i - 1]);
    }
    periods
}

/// The causes most frequent in a group (those it had at all), at most [`TOP_CAUSES`].
fn top(group: &CauseGroup) -> Vec<CauseShare> {
    group.causes.iter().filter(|c| c.count > 0).take(TOP_CAUSES).cloned().collect()
}

/// The quarter `from..=to` (whole months) as the quarterly report lays it out. `visits` must
/// reach back to the quarter before (for the causes' change); `cases` gives the real cases of
/// some local days (counted by their own events' dates); `category_of` a real case's category.
pub fn quarter_table(
    (from, to): (NaiveDate, NaiveDate),
    visits: &[VisitFacts],
    cases: &dyn Fn(NaiveDate, NaiveDate) -> CasePeriod,
    category_of: &dyn Fn(&VisitFacts) -> Option<String>,
) -> QuarterTable {
    let reasons = causes::table((from, to), visits, &causes::reason_of);
    let categories = causes::table((from, to), visits, category_of);
    let within = |first: NaiveDate, last: NaiveDate| -> Vec<&VisitFacts> {
        let (first, last) = (first.to_string(), last.to_string());
        visits.iter().filter(|v| v.local_day >= first && v.local_day <= last).collect()
    };
    let services: BTreeSet<&str> = within(from, to).into_iter().map(|v| v.service.as_str()).collect();
    let column = |(first, last): (NaiveDate, NaiveDate), reasons: &CauseGroup, categories: &CauseGroup| {
        let part = within(first, last);
        let scores: Vec<f64> = part.iter().filter_map(|v| v.rating).map(f64::from).collect();
        let case_counts = cases(first, last);
        QuarterColumn {
            from: first,
            to: last,
            visits: part.len(),
            per_service: services
                .iter()
                .map(|s| ServiceVisits {
                    service: s.to_string(),
                    visits: part.iter().filter(|v| v.service == *s).count(),
                })
                .collect(),
            cases_opened: case_counts.opened.total(),
            cases_closed: case_counts.closed.total(),
            cases_open_at_end: case_counts.open_at_end.total(),
            csat_ratings: scores.len(),
            csat_mean: (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / scores.len() as f64),
            resolution_rating_mean: case_counts.resolution_rating_mean,
            top_reasons: top(reasons),
            top_categories: top(categories),
        }
    };
    QuarterTable {
        from,
        to,
        months: months_in(from, to)
            .into_iter()
            .zip(reasons.per_month.iter().zip(&categories.per_month))
            .map(|(month, (r, c))| column(month, r, c))
            .collect(),
        total: column((from, to), &reasons.overall, &categories.overall),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::CaseKinds;
    use dawr_protocol::api::reports::{Csat, Spread};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn row(visits: usize, within: Option<f64>, wait: Option<f64>, csat: Option<f64>, opened: usize) -> PeriodFigures {
        let figures = Figures {
            visits,
            served: visits,
            no_shows: 0,
            cancelled: 0,
            open: 0,
            wait_s: Spread { count: visits, mean: wait, median: None, p90: None },
            service_time_s: Spread { count: 0, mean: None, median: None, p90: None },
            within_target_pct: within,
            csat: Csat { ratings: 1, mean: csat, satisfied_pct: None, reasons: Default::default() },
        };
        let kinds = CaseKinds { follow_up: opened, referral: 0, escalation: 1 };
        let cases = CasePeriod {
            from: day("2026-10-01"),
            to: day("2026-10-31"),
            opened: kinds,
            closed: CaseKinds { follow_up: 0, ..kinds },
            closed_within_target: CaseKinds::default(),
            open_at_end: kinds,
            overdue_at_end: CaseKinds::default(),
            resolution_ratings: 0,
            resolution_rating_mean: None,
        };
        period_figures((day("2026-10-01"), day("2026-10-31")), &figures, 0, &cases)
    }

    #[test]
    fn each_period_changes_against_the_one_before_in_percent_or_points() {
        let rows = with_changes(vec![
            row(6500, Some(90.0), Some(600.0), Some(4.1), 99),
            row(5991, Some(63.5), Some(900.0), Some(3.5), 0),
            row(0, None, None, None, 3),
        ]);
        assert_eq!(rows[0].change, PeriodChange::default(), "the first has nothing before it");
        let c = rows[1].change;
        assert_eq!(c.visits_pct.map(|x| (x * 10.0).round() / 10.0), Some(-7.8));
        assert_eq!(c.within_target_points, Some(-26.5));
        assert_eq!(c.wait_mean_pct, Some(50.0));
        assert_eq!(c.csat_mean_points.map(|x| (x * 10.0).round() / 10.0), Some(-0.6));
        assert_eq!((c.cases_opened_pct, c.cases_closed_pct), (Some(-99.0), Some(0.0)), "100 opened, then 1");
        let empty = rows[2].change;
        assert_eq!((empty.visits_pct, empty.within_target_points, empty.csat_mean_points), (Some(-100.0), None, None));
        assert_eq!(empty.cases_opened_pct, Some(300.0));
        assert_eq!((rows[1].cases_opened, rows[1].cases_closed, rows[1].cases_open_at_end), (1, 1, 1));
    }
}
