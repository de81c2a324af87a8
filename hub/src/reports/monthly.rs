//! The monthly report: a range cut into the calendar months it touches, each month's figures
//! computed like the range's ([`summarise`]). Pure.
use chrono::{Datelike, FixedOffset, NaiveDate};

use super::{Figures, ReportFilter, VisitFacts, summarise};

/// The first and last day of each month that `from..=to` touches (the first and last month cut
/// to the range).
pub fn months_in(from: NaiveDate, to: NaiveDate) -> Vec<(NaiveDate, NaiveDate)> {
    let mut months = Vec::new();
    let mut start = from;
    while start <= to {
        let next = next_month(start);
        let end = (next - chrono::Duration::days(1)).min(to);
        months.push((start, end));
        start = next;
    }
    months
}

/// The first day of the month after `day`'s.
pub fn next_month(day: NaiveDate) -> NaiveDate {
    let (year, month) = if day.month() == 12 { (day.year() + 1, 1) } else { (day.year(), day.month() + 1) };
    NaiveDate::from_ymd_opt(year, month, 1).expect("a valid month")
}

/// Each month of `filter`'s range (by its first day in the range) with the figures of its visits.
pub fn monthly(
    filter: &ReportFilter,
    visits: &[VisitFacts],
    target_wait_s: &dyn Fn(&str) -> Option<u32>,
    offset: FixedOffset,
) -> Vec<(NaiveDate, Figures)> {
    months_in(filter.from, filter.to)
        .into_iter()
        .map(|(start, end)| {
            let month = ReportFilter { from: start, to: end, ..filter.clone() };
            let (first, last) = (start.to_string(), end.to_string());
            let part: Vec<VisitFacts> = visits
                .iter()
                .filter(|v| v.local_day.as_str() >= first.as_str() && v.local_day.as_str() <= last.as_str())
                .cloned()
                .collect();
            (start, summarise(&month, &part, target_wait_s, offset).total)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn a_range_is_cut_at_month_ends_and_the_year_turns() {
        assert_eq!(
            months_in(day("2026-11-20"), day("2027-01-05")),
            vec![
                (day("2026-11-20"), day("2026-11-30")),
                (day("2026-12-01"), day("2026-12-31")),
                (day("2027-01-01"), day("2027-01-05")),
            ]
        );
        assert_eq!(months_in(day("2026-11-02"), day("2026-11-02")), vec![(day("2026-11-02"), day("2026-11-02"))]);
        assert_eq!(next_month(day("2026-12-31")), day("2027-01-01"));
    }
}
