//! Report periods — day, week (Sunday to Saturday, the Saudi working week's), calendar month and
//! quarter — and each period's change against the one before. Pure: days in, days out.
use chrono::{Datelike, Duration, NaiveDate};
use serde::Deserialize;

use super::summary::next_month;

/// How a report's range is cut into rows.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    Week,
    #[default]
    Month,
    Quarter,
}

impl Period {
    /// Every period, as the filter offers them.
    pub const ALL: [Period; 4] = [Period::Day, Period::Week, Period::Month, Period::Quarter];

    /// The name in a query (`?period=week`).
    pub fn code(self) -> &'static str {
        match self {
            Period::Day => "day",
            Period::Week => "week",
            Period::Month => "month",
            Period::Quarter => "quarter",
        }
    }

    /// The period named `code`.
    pub fn parse(code: &str) -> Option<Period> {
        Period::ALL.into_iter().find(|p| p.code() == code)
    }

    /// The first day of the period holding `day`.
    pub fn start_of(self, day: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => day,
            Period::Week => day - Duration::days(i64::from(day.weekday().num_days_from_sunday())),
            Period::Month => day.with_day(1).unwrap_or(day),
            Period::Quarter => {
                let month = (day.month0() / 3) * 3 + 1;
                NaiveDate::from_ymd_opt(day.year(), month, 1).unwrap_or(day)
            }
        }
    }

    /// The first day of the period after the one starting on `start`.
    pub fn next(self, start: NaiveDate) -> NaiveDate {
        match self {
            Period::Day => start + Duration::days(1),
            Period::Week => start + Duration::days(7),
            Period::Month => next_month(start),
            Period::Quarter => next_month(next_month(next_month(start))),
        }
    }
}

/// The whole periods that `from..=to` touches, as (first day, last day), each whole even where
/// the range cuts it (a report by month from 15 Oct shows all of October).
pub fn periods(period: Period, from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = period.start_of(from);
    while start <= to {
        let next = period.next(start);
        out.push((start, next - Duration::days(1)));
        start = next;
    }
    out
}

/// The period before the one starting on `start`.
pub fn previous(period: Period, start: NaiveDate) -> (NaiveDate, NaiveDate) {
    let before = period.start_of(start - Duration::days(1));
    (before, start - Duration::days(1))
}

/// The change of a count or mean against the one before, in percent (`None` without both, or
/// from zero).
pub fn change_pct(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    match (now, before) {
        (Some(now), Some(before)) if before != 0.0 => Some((now - before) * 100.0 / before),
        _ => None,
    }
}

/// The change of a share against the one before, in percentage points.
pub fn change_points(now: Option<f64>, before: Option<f64>) -> Option<f64> {
    now.zip(before).map(|(now, before)| now - before)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn periods_are_whole_days_weeks_months_and_quarters() {
        // 2026-11-22 is a Sunday.
        assert_eq!(
            periods(Period::Week, day("2026-11-24"), day("2026-12-01")),
            [(day("2026-11-22"), day("2026-11-28")), (day("2026-11-29"), day("2026-12-05"))]
        );
        assert_eq!(
            periods(Period::Quarter, day("2026-08-15"), day("2026-11-30")),
            [(day("2026-07-01"), day("2026-09-30")), (day("2026-10-01"), day("2026-12-31"))]
        );
        assert_eq!(
            periods(Period::Month, day("2026-10-15"), day("2026-10-20")),
            [(day("2026-10-01"), day("2026-10-31"))]
        );
        assert_eq!(periods(Period::Day, day("2026-11-01"), day("2026-11-03")).len(), 3);
        assert_eq!(previous(Period::Quarter, day("2027-01-01")), (day("2026-10-01"), day("2026-12-31")));
        assert_eq!(previous(Period::Week, day("2026-11-22")), (day("2026-11-15"), day("2026-11-21")));
        assert_eq!(previous(Period::Month, day("2026-03-01")), (day("2026-02-01"), day("2026-02-28")));
        assert_eq!(Period::parse("quarter"), Some(Period::Quarter));
        assert_eq!(Period::parse("year"), None);
    }

    #[test]
    fn changes_are_percent_for_counts_and_points_for_shares() {
        assert_eq!(change_pct(Some(5991.0), Some(6500.0)).map(|c| (c * 10.0).round() / 10.0), Some(-7.8));
        assert_eq!(change_pct(Some(3.0), Some(0.0)), None, "no change from nothing");
        assert_eq!(change_points(Some(63.5), Some(90.0)), Some(-26.5));
        assert_eq!(change_points(Some(63.5), None), None);
    }
}
