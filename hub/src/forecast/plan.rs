//! The forecast itself — pure: visit rows in, a [`Forecast`] out.
//!
//! Arrivals: the visitors who took a ticket in each local hour, per service, on the same weekday
//! of the weeks before the day, averaged over those of the days on which the branch had visitors
//! (a closed day teaches nothing). Service times: the mean of the served visits read. Counters
//! needed: per service alone, and shared by all services (one line, oldest first: the services'
//! arrivals add up, the mean service time is theirs weighted by arrivals, and the strictest
//! target among the services arriving binds), each the fewest for which [`erlang`] calls the goal
//! share within target. Counters staffed: the counters that called someone in the hour,
//! averaged the same way. The expected wait of an hour runs the day's hours in order from an
//! empty branch ([`hourly_waits`]: the M/M/c queue's equations moved forward in time, whose
//! long-run answer is Erlang C's), so a queue left by an hour short of counters carries into
//! the next, and an hour just after opening is not taken for a settled one.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Timelike, Utc};
pub use dawr_protocol::api::forecast::{Forecast, ForecastCheck, ForecastHour, ForecastService, ServiceHour, WhatIf};

use super::erlang;
use crate::reports::VisitFacts;

/// A service as the branch file has it: code, target wait, configured mean service time.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSpec {
    pub code: String,
    pub target_s: u32,
    pub mean_service_s: f64,
}

/// What a forecast is asked for.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub day: NaiveDate,
    pub weeks: u32,
    /// The share (0–1) of visitors to be called within target.
    pub goal: f64,
    /// "`extra` more counters from `hour`:00".
    pub what_if: Option<(u32, u8)>,
}

/// Arrivals per (hour, service) and counters staffed per hour, averaged over the days learned.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Learned {
    pub days: usize,
    pub arrivals: BTreeMap<(u8, String), f64>,
    pub staffed: BTreeMap<u8, f64>,
}

/// The first day of the visits a forecast of `ask` reads (its checks look as far back again).
pub fn first_day_read(ask: &Ask) -> NaiveDate {
    ask.day - Duration::days(14 * i64::from(ask.weeks))
}

/// `day`'s weekday in each of the `weeks` weeks before it, oldest first.
pub fn same_weekdays(day: NaiveDate, weeks: u32) -> Vec<NaiveDate> {
    (1..=i64::from(weeks)).rev().map(|w| day - Duration::weeks(w)).collect()
}

fn local_hour(at: DateTime<Utc>, offset: FixedOffset) -> u8 {
    at.with_timezone(&offset).hour() as u8
}

fn visits_by_day(visits: &[VisitFacts]) -> BTreeMap<&str, Vec<&VisitFacts>> {
    let mut days: BTreeMap<&str, Vec<&VisitFacts>> = BTreeMap::new();
    for v in visits {
        days.entry(v.local_day.as_str()).or_default().push(v);
    }
    days
}

/// The counters that called someone in each local hour of one day's visits (a counter closing
/// while it finishes its visitor calls nobody after, so it does not count in the next hour).
fn staffed_hours(day: &[&VisitFacts], offset: FixedOffset) -> BTreeMap<u8, BTreeSet<String>> {
    let mut hours: BTreeMap<u8, BTreeSet<String>> = BTreeMap::new();
    for v in day {
        if let (Some(counter), Some(called)) = (&v.counter, v.first_called_at) {
            hours.entry(local_hour(called, offset)).or_default().insert(counter.clone());
        }
    }
    hours
}

/// Learns `days`' arrivals and staffing from `visits` (days without visits are skipped).
pub fn learn(visits: &[VisitFacts], days: &[NaiveDate], offset: FixedOffset) -> Learned {
    let by_day = visits_by_day(visits);
    let open: Vec<&Vec<&VisitFacts>> = days.iter().filter_map(|d| by_day.get(d.to_string().as_str())).collect();
    let mut learned = Learned { days: open.len(), ..Learned::default() };
    if open.is_empty() {
        return learned;
    }
    let n = open.len() as f64;
    for day in &open {
        for v in day.iter() {
            *learned.arrivals.entry((local_hour(v.issued_at, offset), v.service.clone())).or_default() += 1.0 / n;
        }
        for (hour, counters) in staffed_hours(day, offset) {
            *learned.staffed.entry(hour).or_default() += counters.len() as f64 / n;
        }
    }
    learned
}

/// Each service's mean service time from the served visits (its configured one when none).
pub fn service_times(visits: &[VisitFacts], specs: &[ServiceSpec]) -> Vec<ForecastService> {
    specs
        .iter()
        .map(|spec| {
            let times: Vec<f64> =
                visits.iter().filter(|v| v.service == spec.code).filter_map(|v| v.service_s()).collect();
            let mean = match times.is_empty() {
                true => spec.mean_service_s,
                false => times.iter().sum::<f64>() / times.len() as f64,
            };
            ForecastService {
                service: spec.code.clone(),
                target_s: spec.target_s,
                mean_service_s: mean,
                served: times.len(),
            }
        })
        .collect()
}

/// One hour's demand on shared counters: arrivals, their weighted mean service time and the
/// strictest target among the services arriving.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pooled {
    pub arrivals: f64,
    pub mean_service_s: f64,
    pub target_s: f64,
}

/// The services' demand of one hour, pooled.
pub fn pooled(per_service: &[(f64, &ForecastService)]) -> Pooled {
    let arrivals: f64 = per_service.iter().map(|(a, _)| a).sum();
    let work: f64 = per_service.iter().map(|(a, s)| a * s.mean_service_s).sum();
    let target =
        per_service.iter().filter(|(a, _)| *a > 0.0).map(|(_, s)| f64::from(s.target_s)).fold(f64::INFINITY, f64::min);
    Pooled {
        arrivals,
        mean_service_s: if arrivals > 0.0 { work / arrivals } else { 0.0 },
        target_s: if target.is_finite() { target } else { 0.0 },
    }
}

/// The counters shared by all services that call `goal` of them within the strictest target.
pub fn shared_needed(demand: Pooled, goal: f64) -> usize {
    erlang::counters_needed(demand.arrivals, demand.mean_service_s, demand.target_s, goal)
}

/// The expected mean wait of each hour's arrivals with `counters[i]` open in hour `i`, the
/// hours in order from an empty branch at opening (see the module's doc); `None` for an hour
/// with arrivals and no counter.
pub fn hourly_waits(demand: &[Pooled], counters: &[usize]) -> Vec<Option<f64>> {
    let total: f64 = demand.iter().map(|d| d.arrivals).sum();
    let mut line = Line::new((total * 1.5) as usize + 60);
    demand
        .iter()
        .zip(counters)
        .map(|(d, &c)| {
            let wait = line.hour(d.arrivals / 3600.0, d.mean_service_s, c);
            match (d.arrivals > 0.0, c) {
                (false, _) => Some(0.0),
                (true, 0) => None,
                (true, _) => Some(wait),
            }
        })
        .collect()
}

/// The number of visitors in the branch as a probability distribution, moved forward in time
/// by the birth-death equations of the M/M/c queue (arrivals at one rate, each open counter
/// serving at another). Unlike Erlang C alone, it knows the hour before: a queue left over, or
/// an empty branch at opening that takes a while to fill.
struct Line {
    /// `p[n]`: the probability that `n` visitors are waiting or being served.
    p: Vec<f64>,
}

impl Line {
    /// An empty branch, counting up to `capacity` visitors.
    fn new(capacity: usize) -> Self {
        let mut p = vec![0.0; capacity.max(2)];
        p[0] = 1.0;
        Line { p }
    }

    /// Runs one hour with `rate` arrivals a second, served in `mean_s` on average at `counters`
    /// counters; returns the mean wait of the hour's arrivals (an arrival finding `n ≥ c` ahead
    /// waits `(n − c + 1)` service completions of all `c` counters).
    fn hour(&mut self, rate: f64, mean_s: f64, counters: usize) -> f64 {
        let mu = if mean_s > 0.0 { 1.0 / mean_s } else { 0.0 };
        let c = counters as f64;
        let step = (0.4 / (rate + c * mu).max(1e-9)).min(10.0);
        let steps = (3600.0 / step).ceil() as usize;
        let dt = 3600.0 / steps as f64;
        let wait_of = |n: usize| match n >= counters && counters > 0 {
            true => (n - counters + 1) as f64 / (c * mu),
            false => 0.0,
        };
        let mut waited = 0.0;
        let last = self.p.len() - 1;
        // Only the states reachable so far are moved (those above hold nothing yet).
        let mut top = self.p.iter().rposition(|&p| p > 0.0).unwrap_or(0);
        let mut next = vec![0.0; self.p.len()];
        for _ in 0..steps {
            top = (top + 1).min(last);
            let mut weighted = 0.0;
            for (n, slot) in next.iter_mut().enumerate().take(top + 1) {
                let p = self.p[n];
                weighted += p * wait_of(n);
                let served = |k: usize| mu * (k.min(counters)) as f64;
                let inflow = if n > 0 { rate * self.p[n - 1] } else { 0.0 }
                    + if n < last { served(n + 1) * self.p[n + 1] } else { 0.0 };
                let outflow = (if n < last { rate } else { 0.0 } + served(n)) * p;
                *slot = p + (inflow - outflow) * dt;
            }
            waited += weighted * dt;
            std::mem::swap(&mut self.p, &mut next);
            // Drop the tail too small to matter, so `top` follows the distribution down.
            while top > 0 && self.p[top] < 1e-12 {
                self.p[top] = 0.0;
                top -= 1;
            }
        }
        waited / 3600.0
    }
}

/// The hours a day's forecast shows: from the first to the last with arrivals or staff.
fn hour_span(learned: &Learned) -> Vec<u8> {
    let hours: BTreeSet<u8> = learned.arrivals.keys().map(|(h, _)| *h).chain(learned.staffed.keys().copied()).collect();
    match (hours.first(), hours.last()) {
        (Some(&first), Some(&last)) => (first..=last).collect(),
        _ => Vec::new(),
    }
}

/// The forecast hours of `learned` with `services`' times.
pub fn hours(learned: &Learned, services: &[ForecastService], goal: f64) -> Vec<ForecastHour> {
    let span = hour_span(learned);
    let demand: Vec<Pooled> = span.iter().map(|&h| pooled(&service_arrivals(learned, services, h))).collect();
    let staffed: Vec<f64> = span.iter().map(|h| learned.staffed.get(h).copied().unwrap_or(0.0)).collect();
    let waits = hourly_waits(&demand, &staffed.iter().map(|s| s.round() as usize).collect::<Vec<_>>());
    span.iter()
        .zip(demand.iter().zip(staffed).zip(waits))
        .map(|(&hour, ((d, staffed), wait))| ForecastHour {
            hour,
            arrivals: d.arrivals,
            counters_needed: shared_needed(*d, goal),
            counters_staffed: staffed,
            expected_wait_s: (d.arrivals > 0.0).then_some(wait).flatten(),
            per_service: service_arrivals(learned, services, hour)
                .into_iter()
                .map(|(arrivals, s)| ServiceHour {
                    service: s.service.clone(),
                    arrivals,
                    counters_needed: erlang::counters_needed(arrivals, s.mean_service_s, f64::from(s.target_s), goal),
                })
                .collect(),
        })
        .collect()
}

fn service_arrivals<'a>(
    learned: &Learned,
    services: &'a [ForecastService],
    hour: u8,
) -> Vec<(f64, &'a ForecastService)> {
    services.iter().map(|s| (learned.arrivals.get(&(hour, s.service.clone())).copied().unwrap_or(0.0), s)).collect()
}

/// "`extra` more counters from `from_hour`:00" on the forecast `hours`: the longest expected
/// hourly mean wait from that hour on, with and without them.
pub fn what_if(hours: &[ForecastHour], services: &[ForecastService], extra: u32, from_hour: u8) -> WhatIf {
    let demand: Vec<Pooled> = hours
        .iter()
        .map(|h| {
            let per: Vec<(f64, &ForecastService)> = h
                .per_service
                .iter()
                .filter_map(|p| services.iter().find(|s| s.service == p.service).map(|s| (p.arrivals, s)))
                .collect();
            pooled(&per)
        })
        .collect();
    let staffed: Vec<usize> = hours.iter().map(|h| h.counters_staffed.round() as usize).collect();
    let more: Vec<usize> =
        hours.iter().zip(&staffed).map(|(h, &c)| c + if h.hour >= from_hour { extra as usize } else { 0 }).collect();
    let longest = |waits: Vec<Option<f64>>| {
        hours
            .iter()
            .zip(waits)
            .filter(|(h, _)| h.hour >= from_hour && h.arrivals > 0.0)
            .map(|(h, w)| (h.hour, w.unwrap_or(f64::INFINITY)))
            .fold((from_hour, 0.0_f64), |best, (hour, w)| if w > best.1 { (hour, w) } else { best })
    };
    let (longest_hour, with_more) = longest(hourly_waits(&demand, &more));
    let (_, staffed_only) = longest(hourly_waits(&demand, &staffed));
    let finite = |w: f64| w.is_finite().then_some(w);
    WhatIf {
        extra,
        from_hour,
        longest_wait_s: finite(with_more),
        longest_hour,
        staffed_longest_wait_s: finite(staffed_only),
    }
}

/// The forecast of each day of the `weeks` weeks before `day` that had visitors, from the
/// weeks before it, against what happened.
pub fn checks(
    visits: &[VisitFacts],
    services: &[ForecastService],
    ask: &Ask,
    offset: FixedOffset,
) -> Vec<ForecastCheck> {
    let by_day = visits_by_day(visits);
    (1..=7 * i64::from(ask.weeks))
        .rev()
        .map(|back| ask.day - Duration::days(back))
        .filter(|d| by_day.contains_key(d.to_string().as_str()))
        .filter_map(|d| {
            let forecast = learn(visits, &same_weekdays(d, ask.weeks), offset);
            (forecast.days > 0).then(|| check(visits, services, &forecast, d, ask.goal, offset))
        })
        .collect()
}

fn check(
    visits: &[VisitFacts],
    services: &[ForecastService],
    forecast: &Learned,
    day: NaiveDate,
    goal: f64,
    offset: FixedOffset,
) -> ForecastCheck {
    let actual = learn(visits, &[day], offset);
    let hours: BTreeSet<u8> =
        forecast.arrivals.keys().chain(actual.arrivals.keys()).map(|(h, _)| *h).collect::<BTreeSet<_>>();
    let need = |l: &Learned, h: u8| shared_needed(pooled(&service_arrivals(l, services, h)), goal) as f64;
    let total = |l: &Learned, h: u8| service_arrivals(l, services, h).iter().map(|(a, _)| a).sum::<f64>();
    let n = hours.len().max(1) as f64;
    ForecastCheck {
        day,
        forecast: forecast.arrivals.values().sum(),
        actual: visits.iter().filter(|v| v.local_day == day.to_string()).count(),
        hourly_error: hours.iter().map(|&h| (total(forecast, h) - total(&actual, h)).abs()).sum::<f64>() / n,
        counters_error: hours.iter().map(|&h| (need(forecast, h) - need(&actual, h)).abs()).sum::<f64>() / n,
    }
}

/// The whole forecast of `ask` from `visits` (those of [`first_day_read`]`..day`).
pub fn forecast(visits: &[VisitFacts], specs: &[ServiceSpec], ask: &Ask, offset: FixedOffset) -> Forecast {
    let learned_from: Vec<VisitFacts> = {
        let first = (ask.day - Duration::weeks(i64::from(ask.weeks))).to_string();
        let day = ask.day.to_string();
        visits.iter().filter(|v| v.local_day >= first && v.local_day < day).cloned().collect()
    };
    let services = service_times(&learned_from, specs);
    let learned = learn(visits, &same_weekdays(ask.day, ask.weeks), offset);
    let hours = hours(&learned, &services, ask.goal);
    let what_if = ask.what_if.map(|(extra, from)| what_if(&hours, &services, extra, from));
    Forecast {
        branch: String::new(),
        day: ask.day,
        weeks: ask.weeks,
        days_learned: learned.days,
        goal_pct: ask.goal * 100.0,
        checks: checks(visits, &services, ask, offset),
        services,
        hours,
        what_if,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn demand(arrivals: f64, mean_service_s: f64) -> Pooled {
        Pooled { arrivals, mean_service_s, target_s: 900.0 }
    }

    #[test]
    fn a_long_steady_day_settles_on_erlang_c() {
        let waits = hourly_waits(&vec![demand(120.0, 480.0); 12], &[18; 12]);
        let settled = waits[11].unwrap();
        let erlang = erlang::mean_wait_s(120.0, 480.0, 18).unwrap();
        assert!((settled - erlang).abs() < 0.03 * erlang, "{settled} vs {erlang}");
        assert!(waits[0].unwrap() < settled, "the first hour starts empty: {waits:?}");
    }

    #[test]
    fn an_hour_short_of_counters_leaves_a_queue_for_the_next() {
        // 60 an hour, 6 minutes each: 6 Erlangs. Four counters for an hour, then ten.
        let waits = hourly_waits(&[demand(60.0, 360.0), demand(60.0, 360.0)], &[4, 10]);
        let short = waits[0].unwrap();
        // About 2 Erlangs more than served pile up over the hour: ~20 visitors at the end,
        // ~10 ahead on average, 4 counters clear one every 90 s: 10–20 minutes.
        assert!((600.0..1200.0).contains(&short), "{waits:?}");
        let next = waits[1].unwrap();
        let settled = erlang::mean_wait_s(60.0, 360.0, 10).unwrap();
        assert!(next > 2.0 * settled, "the queue left over is cleared first: {next} vs {settled}");
        assert_eq!(hourly_waits(&[demand(10.0, 300.0)], &[0]), vec![None], "no counter: no wait to give");
        assert_eq!(hourly_waits(&[demand(0.0, 0.0)], &[0]), vec![Some(0.0)]);
    }
}
