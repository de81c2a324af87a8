//! The forecast of a branch from its database: the visits of the weeks it reads, then the pure
//! [`plan::forecast`](super::plan::forecast).
use rusqlite::Connection;

use super::plan::{self, Ask, ServiceSpec};
use crate::domain::Branch;
use crate::reports::{ReportFilter, visit_facts};

/// The services of `branch` as the forecast needs them.
pub fn specs(branch: &Branch) -> Vec<ServiceSpec> {
    branch
        .services
        .iter()
        .map(|s| ServiceSpec {
            code: s.code.clone(),
            target_s: s.target_wait_s,
            mean_service_s: f64::from(s.mean_service_s),
        })
        .collect()
}

/// The forecast of `ask` for `branch`.
pub fn forecast_of(conn: &Connection, branch: &Branch, ask: &Ask) -> rusqlite::Result<plan::Forecast> {
    let filter = ReportFilter {
        from: plan::first_day_read(ask),
        to: ask.day - chrono::Duration::days(1),
        service: None,
        counter: None,
    };
    let visits = visit_facts(conn, &filter)?;
    let mut forecast = plan::forecast(&visits, &specs(branch), ask, branch.utc_offset);
    forecast.branch = branch.id.clone();
    Ok(forecast)
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use chrono::{Duration, NaiveDate, Timelike};

    use super::*;
    use crate::reports::synthetic;

    /// Ten weeks of made-up history in a real database: the forecast's arrivals, staffing and
    /// service times, and its checks, equal what the test works out from the truth alone.
    #[test]
    fn a_synthetic_history_gives_the_forecast_worked_out_independently() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let (from, to) = ("2026-09-01".parse().unwrap(), "2026-11-11".parse().unwrap());
        let truth = synthetic::write(&mut conn, 5, from, to, 60).unwrap();
        let branch = crate::config::Config::demo().branch().unwrap();
        let day: NaiveDate = "2026-11-15".parse().unwrap(); // a Sunday
        let ask = Ask { day, weeks: 4, goal: 0.8, what_if: Some((1, 9)) };
        let forecast = forecast_of(&conn, &branch, &ask).unwrap();
        assert_eq!(forecast.branch, branch.id);
        assert_eq!(forecast.days_learned, 4);

        let local = |at: chrono::DateTime<chrono::Utc>| at.with_timezone(&branch.utc_offset);
        let sundays: Vec<NaiveDate> = (1..=4).map(|w| day - Duration::weeks(w)).collect();
        let mut arrivals: BTreeMap<u32, f64> = BTreeMap::new();
        let mut staffed: BTreeMap<(NaiveDate, u32), BTreeSet<&str>> = BTreeMap::new();
        for v in truth.iter().filter(|v| sundays.contains(&v.local_day)) {
            *arrivals.entry(local(v.issued_at).hour()).or_default() += 0.25;
            if let (Some(called), Some(counter)) = (v.called_at, v.counter.as_deref()) {
                staffed.entry((v.local_day, local(called).hour())).or_default().insert(counter);
            }
        }
        for hour in &forecast.hours {
            let expected = arrivals.get(&u32::from(hour.hour)).copied().unwrap_or(0.0);
            assert!((hour.arrivals - expected).abs() < 1e-9, "{hour:?} vs {expected}");
            let counters: usize =
                staffed.iter().filter(|((_, h), _)| *h == u32::from(hour.hour)).map(|(_, c)| c.len()).sum();
            assert!((hour.counters_staffed - counters as f64 / 4.0).abs() < 1e-9, "{hour:?}");
            let service_sum: f64 = hour.per_service.iter().map(|s| s.arrivals).sum();
            assert!((service_sum - hour.arrivals).abs() < 1e-9);
        }
        assert_eq!(
            forecast.hours.iter().map(|h| h.arrivals).sum::<f64>().round(),
            arrivals.values().sum::<f64>().round()
        );

        // Service times: the mean of the served visits of the four weeks before.
        let first = day - Duration::weeks(4);
        for s in &forecast.services {
            let times: Vec<f64> = truth
                .iter()
                .filter(|v| v.service == s.service && v.local_day >= first && v.local_day < day)
                .filter_map(|v| v.served.map(|(a, b)| (b - a).num_milliseconds() as f64 / 1000.0))
                .collect();
            assert_eq!(s.served, times.len(), "{s:?}");
            if !times.is_empty() {
                assert!((s.mean_service_s - times.iter().sum::<f64>() / times.len() as f64).abs() < 1e-6, "{s:?}");
            }
        }

        // The checks: each working day of the four weeks before, against its own count.
        let worked: Vec<NaiveDate> = (1..=28).rev().map(|d| day - Duration::days(d)).filter(|d| d <= &to).collect();
        let with_visits: Vec<NaiveDate> =
            worked.into_iter().filter(|d| truth.iter().any(|v| v.local_day == *d)).collect();
        assert_eq!(forecast.checks.iter().map(|c| c.day).collect::<Vec<_>>(), with_visits);
        for check in &forecast.checks {
            assert_eq!(check.actual, truth.iter().filter(|v| v.local_day == check.day).count());
            let before: Vec<NaiveDate> = (1..=4).map(|w| check.day - Duration::weeks(w)).collect();
            let open = before.iter().filter(|d| truth.iter().any(|v| v.local_day == **d)).count();
            let came = truth.iter().filter(|v| before.contains(&v.local_day)).count();
            assert!((check.forecast - came as f64 / open as f64).abs() < 1e-9, "{check:?}");
        }
        let what_if = forecast.what_if.expect("asked");
        assert_eq!((what_if.extra, what_if.from_hour), (1, 9));
        assert!(what_if.longest_wait_s <= what_if.staffed_longest_wait_s, "{what_if:?}");
    }
}
