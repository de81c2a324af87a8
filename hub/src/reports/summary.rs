//! The pure half of the reports: aggregating visit rows into figures ([`summarise`]), for the
//! whole range or one calendar month at a time ([`monthly`]). No IO: rows in, figures out. The
//! figures' shapes are the wire contract's (`dawr_protocol::api::reports`), re-exported here.
use std::collections::BTreeMap;

use chrono::{Datelike, FixedOffset, NaiveDate, Timelike};
pub use dawr_protocol::api::reports::{
    AppointmentFigures, CounterFigures, Csat, Figures, HourFigures, ServiceFigures, Spread, StaffFigures, Summary,
};

use super::{Ending, ReportFilter, VisitFacts};

/// The `q` quantile of sorted values by the nearest-rank method (the smallest value with at
/// least `q` of all values at or below it).
fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

/// Spreads measured from durations (the wire type's; the measuring is the hub's).
pub trait SpreadOf {
    /// The spread of some durations, in seconds.
    fn of(values: Vec<f64>) -> Spread;
}

impl SpreadOf for Spread {
    fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
        Spread { count: values.len(), mean, median: nearest_rank(&values, 0.5), p90: nearest_rank(&values, 0.9) }
    }
}

fn figures<'a>(visits: impl Iterator<Item = &'a VisitFacts>, target_s: &dyn Fn(&str) -> Option<u32>) -> Figures {
    let visits: Vec<&VisitFacts> = visits.collect();
    let count = |e: Ending| visits.iter().filter(|v| v.ending == e).count();
    let called: Vec<(f64, &VisitFacts)> = visits.iter().filter_map(|v| v.wait_s().map(|w| (w, *v))).collect();
    let in_target = called.iter().filter(|(w, v)| target_s(&v.service).is_some_and(|t| *w <= f64::from(t))).count();
    let scores: Vec<u8> = visits.iter().filter_map(|v| v.rating).collect();
    let mut reasons = BTreeMap::new();
    for visit in visits.iter().filter(|v| v.rating.is_some_and(super::is_low) || v.rating_reason.is_some()) {
        let reason = visit.rating_reason.as_deref().unwrap_or(super::NO_REASON_GIVEN);
        *reasons.entry(reason.to_string()).or_insert(0) += 1;
    }
    let pct = |n: usize, of: usize| (of > 0).then(|| n as f64 * 100.0 / of as f64);
    Figures {
        visits: visits.len(),
        served: count(Ending::Served),
        no_shows: count(Ending::NoShow),
        cancelled: count(Ending::Cancelled),
        open: count(Ending::Open),
        wait_s: Spread::of(called.iter().map(|(w, _)| *w).collect()),
        service_time_s: Spread::of(visits.iter().filter_map(|v| v.service_s()).collect()),
        within_target_pct: pct(in_target, called.len()),
        csat: Csat {
            ratings: scores.len(),
            mean: (!scores.is_empty()).then(|| scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64),
            satisfied_pct: pct(scores.iter().filter(|s| **s >= 4).count(), scores.len()),
            reasons,
        },
    }
}

/// Aggregates the visits of a report (already filtered).
pub fn summarise(
    filter: &ReportFilter,
    visits: &[VisitFacts],
    target_s: &dyn Fn(&str) -> Option<u32>,
    offset: FixedOffset,
) -> Summary {
    let mut services: Vec<&str> = visits.iter().map(|v| v.service.as_str()).collect();
    services.sort();
    services.dedup();
    let mut counters: Vec<&str> = visits.iter().filter_map(|v| v.counter.as_deref()).collect();
    counters.sort();
    counters.dedup();
    let mut staff: Vec<&str> = visits.iter().filter_map(|v| v.staff.as_deref()).collect();
    staff.sort();
    staff.dedup();
    let mut hours = BTreeMap::new();
    for v in visits {
        *hours.entry(v.issued_at.with_timezone(&offset).hour()).or_insert(0) += 1;
    }
    Summary {
        from: filter.from,
        to: filter.to,
        service: filter.service.clone(),
        counter: filter.counter.clone(),
        total: figures(visits.iter(), target_s),
        per_service: services
            .into_iter()
            .map(|s| ServiceFigures {
                service: s.into(),
                figures: figures(visits.iter().filter(|v| v.service == s), target_s),
            })
            .collect(),
        per_counter: counters
            .into_iter()
            .map(|c| CounterFigures {
                counter: c.into(),
                figures: figures(visits.iter().filter(|v| v.counter.as_deref() == Some(c)), target_s),
            })
            .collect(),
        per_staff: staff
            .into_iter()
            .map(|s| StaffFigures {
                staff: s.into(),
                figures: figures(visits.iter().filter(|v| v.staff.as_deref() == Some(s)), target_s),
            })
            .collect(),
        per_hour: hours.into_iter().map(|(hour, visits)| HourFigures { hour, visits }).collect(),
        // Counted from the bookings held, not from visits: the web layer fills them in.
        appointments: AppointmentFigures::default(),
        // Counted from the SMS outbox (`sms::report`): the web layer fills them in.
        sms: Default::default(),
    }
}

/// The figures of each calendar month that the filter's range touches, from the visits of the
/// whole range (as [`summarise`] was given them): each month's visits are those issued on its
/// local days within the range. Returns the first day of each part (the range's first day for a
/// range that starts mid-month) with its figures, in order.
pub fn monthly(
    filter: &ReportFilter,
    visits: &[VisitFacts],
    target_s: &dyn Fn(&str) -> Option<u32>,
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
            (start, summarise(&month, &part, target_s, offset).total)
        })
        .collect()
}

/// The first and last day of each month that `from..=to` touches (clipped to the range).
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

/// `2026-11` → 1 November 2026.
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// The last day of the month starting on `first`.
pub fn month_end(first: NaiveDate) -> NaiveDate {
    next_month(first).pred_opt().unwrap_or(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        assert_eq!(Spread::of(vec![]).median, None);
        assert_eq!(Spread::of(vec![7.0]).p90, Some(7.0));
        let s = Spread::of((1..=10).map(f64::from).rev().collect());
        assert_eq!((s.median, s.p90, s.mean), (Some(5.0), Some(9.0), Some(5.5)));
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// A visit issued at 09:00 UTC on `local_day`, called after `wait_s` and served.
    fn served(id: i64, local_day: &str, wait_s: i64) -> VisitFacts {
        let issued_at = day(local_day).and_hms_opt(9, 0, 0).unwrap().and_utc();
        let called = issued_at + chrono::Duration::seconds(wait_s);
        VisitFacts {
            id,
            number: format!("A{id:03}"),
            case_ref: format!("DMM-{id}"),
            service: "A".into(),
            local_day: local_day.into(),
            issued_at,
            first_called_at: Some(called),
            started_at: Some(called),
            ended_at: Some(called + chrono::Duration::seconds(300)),
            ending: Ending::Served,
            counter: Some("1".into()),
            outcome: None,
            rating: None,
            rating_reason: None,
            rated_at: None,
            staff: None,
            source: "walk_in".into(),
        }
    }

    #[test]
    fn months_are_cut_at_the_range_and_the_turn_of_each_month() {
        assert_eq!(months_in(day("2026-11-23"), day("2026-11-23")), [(day("2026-11-23"), day("2026-11-23"))]);
        assert_eq!(
            months_in(day("2026-11-15"), day("2027-02-10")),
            [
                (day("2026-11-15"), day("2026-11-30")),
                (day("2026-12-01"), day("2026-12-31")),
                (day("2027-01-01"), day("2027-01-31")),
                (day("2027-02-01"), day("2027-02-10")),
            ]
        );
        assert_eq!(months_in(day("2028-02-01"), day("2028-03-01"))[0].1, day("2028-02-29"), "a leap year");
        assert!(months_in(day("2026-11-02"), day("2026-11-01")).is_empty());
        assert_eq!(next_month(day("2026-12-31")), day("2027-01-01"));
        assert_eq!(next_month(day("2026-01-31")), day("2026-02-01"));
    }

    #[test]
    fn each_month_gets_the_figures_of_its_own_visits() {
        let visits = [
            served(1, "2026-11-30", 60),
            served(2, "2026-12-01", 600),
            served(3, "2026-12-31", 1200),
            served(4, "2027-01-01", 30),
        ];
        let filter = ReportFilter { from: day("2026-11-30"), to: day("2027-01-01"), service: None, counter: None };
        let target = |_: &str| Some(900);
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let months = monthly(&filter, &visits, &target, offset);
        let firsts: Vec<NaiveDate> = months.iter().map(|(first, _)| *first).collect();
        assert_eq!(firsts, [day("2026-11-30"), day("2026-12-01"), day("2027-01-01")]);
        let counts: Vec<usize> = months.iter().map(|(_, f)| f.visits).collect();
        assert_eq!(counts, [1, 2, 1], "each visit in the month of its local day");
        let december = &months[1].1;
        assert_eq!(december.wait_s.mean, Some(900.0));
        assert_eq!(december.within_target_pct, Some(50.0), "600 s within 900, 1200 s not");
        let total = summarise(&filter, &visits, &target, offset).total;
        assert_eq!(counts.iter().sum::<usize>(), total.visits, "the months add up to the range");
    }
}
