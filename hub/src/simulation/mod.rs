//! A discrete-event simulation of a branch, driving the real [`Queue`](crate::domain::Queue).
//!
//! Visitors arrive as a Poisson process (its rate may change by the hour), take a ticket (whose
//! printed estimate is recorded), and are served for an exponentially distributed time by
//! counters that call "next" as soon as they are free. Counters can be scheduled to close. The
//! simulation uses virtual time and a seeded generator, so a run is exactly repeatable.
//!
//! It answers two questions: does the queue behave like the M/M/c model it should match
//! ([`erlang_c_wait_s`]), and how far is the printed estimate from the wait each visitor
//! actually had ([`Report::estimate_mae_s`]). [`shared`] simulates counters shared between
//! services, the check of the staffing forecast ([`crate::forecast`]).
pub mod shared;

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, TimeZone, Utc};
use dawr_protocol::api::{Names, Priority};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use crate::domain::estimate;
use crate::domain::{Branch, Counter, CounterAction, IssueRequest, Queue, RoutingPolicy, Service};

/// One simulated situation.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub name: &'static str,
    /// Arrivals per hour, one figure per opening hour; the day lasts as many hours as listed.
    pub arrivals_per_hour: Vec<f64>,
    pub mean_service_s: f64,
    pub counters: usize,
    /// `(hour, how many counters)` close at that hour (they finish their visitor first).
    pub closings: Vec<(f64, usize)>,
    /// Days simulated (each starts empty; visitors in line at closing time are still served).
    pub days: u32,
    pub seed: u64,
}

impl Scenario {
    /// 120 visitors an hour, 8-minute service, 18 counters, all day.
    pub fn steady(days: u32) -> Self {
        Scenario {
            name: "steady",
            arrivals_per_hour: vec![120.0; 8],
            mean_service_s: 480.0,
            counters: 18,
            closings: vec![],
            days,
            seed: 1,
        }
    }

    /// A rush at opening that the counters cannot keep up with, then a quiet afternoon.
    pub fn morning_peak(days: u32) -> Self {
        Scenario {
            name: "morning peak",
            arrivals_per_hour: vec![190.0, 170.0, 140.0, 110.0, 90.0, 90.0, 80.0, 60.0],
            seed: 2,
            ..Scenario::steady(days)
        }
    }

    /// A busy day on which two counters close after three hours and two more after five: the
    /// estimates printed before each closing could not know of it.
    pub fn counters_closing(days: u32) -> Self {
        Scenario {
            name: "counters closing",
            arrivals_per_hour: vec![120.0, 120.0, 120.0, 110.0, 100.0, 80.0, 70.0, 60.0],
            closings: vec![(3.0, 2), (5.0, 2)],
            seed: 3,
            ..Scenario::steady(days)
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub visitors: usize,
    pub mean_wait_s: f64,
    pub p90_wait_s: f64,
    /// Mean absolute difference between the printed estimate and the actual wait.
    pub estimate_mae_s: f64,
    /// The same for an estimate that knows the true mean service time instead of learning it:
    /// what is left is the randomness no estimate made at issue time can remove.
    pub known_mean_mae_s: f64,
    /// Share of visitors whose actual wait fell inside the printed range.
    pub within_range: f64,
    /// Share of counter time spent serving.
    pub utilisation: f64,
}

impl Report {
    /// The estimate's error as a share of the mean wait.
    pub fn relative_mae(&self) -> f64 {
        if self.mean_wait_s > 0.0 { self.estimate_mae_s / self.mean_wait_s } else { 0.0 }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    /// A service ends at a counter (by index).
    ServiceEnd(usize),
    Closing,
    Arrival,
}

/// The mean wait in an M/M/c queue (Erlang C), in seconds.
pub fn erlang_c_wait_s(arrivals_per_hour: f64, mean_service_s: f64, counters: usize) -> f64 {
    let lambda = arrivals_per_hour / 3600.0;
    let mu = 1.0 / mean_service_s;
    let load = lambda / mu;
    let c = counters as f64;
    assert!(load < c, "the queue is unstable: load {load} on {counters} counters");
    // Erlang B by recursion, then C from B.
    let mut b = 1.0;
    for k in 1..=counters {
        b = load * b / (k as f64 + load * b);
    }
    let p_wait = c * b / (c - load * (1.0 - b));
    p_wait / (c * mu - lambda)
}

fn branch(scenario: &Scenario) -> Branch {
    let names = |en: &str| Names { ar: en.to_string(), en: en.to_string() };
    Branch {
        id: "sim".into(),
        case_prefix: "SIM".into(),
        name: names("Simulated branch"),
        utc_offset: FixedOffset::east_opt(3 * 3600).expect("valid offset"),
        services: vec![Service {
            code: "A".into(),
            name: names("A"),
            target_wait_s: 900,
            mean_service_s: scenario.mean_service_s.round() as u32,
            remote: None,
        }],
        counters: (1..=scenario.counters)
            .map(|i| Counter {
                id: i.to_string(),
                name: names(&i.to_string()),
                services: vec!["A".into()],
                open_at_start: true,
            })
            .collect(),
        staff: vec![],
        routing: RoutingPolicy::default(),
        rating_window_s: 600,
        cases: crate::domain::CasePolicy::default(),
        remote: crate::domain::RemotePolicy::default(),
    }
}

/// Runs a scenario.
pub fn run(scenario: &Scenario) -> Report {
    let branch = Arc::new(branch(scenario));
    let mut rng = SmallRng::seed_from_u64(scenario.seed);
    let mut waits = Vec::new();
    let mut abs_errors = 0.0;
    let mut known_mean_errors = 0.0;
    let mut within = 0usize;
    let mut busy_s = 0.0;
    let mut open_s = 0.0;
    let start = Utc.with_ymd_and_hms(2026, 1, 4, 5, 0, 0).single().expect("valid date");
    for day in 0..scenario.days {
        let day_start = start + Duration::days(i64::from(day));
        let stats = run_day(scenario, &branch, &mut rng, day_start);
        for Printed { estimate, low, high, known_mean, wait } in stats.tickets {
            abs_errors += (estimate - wait).abs();
            known_mean_errors += (known_mean - wait).abs();
            within += usize::from(low <= wait + 0.5 && wait <= high + 0.5);
            waits.push(wait);
        }
        busy_s += stats.busy_s;
        open_s += stats.open_s;
    }
    waits.sort_by(f64::total_cmp);
    let n = waits.len().max(1) as f64;
    Report {
        visitors: waits.len(),
        mean_wait_s: waits.iter().sum::<f64>() / n,
        p90_wait_s: waits.get((waits.len() * 9) / 10).copied().unwrap_or(0.0),
        estimate_mae_s: abs_errors / n,
        known_mean_mae_s: known_mean_errors / n,
        within_range: within as f64 / n,
        utilisation: if open_s > 0.0 { busy_s / open_s } else { 0.0 },
    }
}

/// One ticket's printed figures and what happened, in seconds.
#[derive(Debug, Clone, Copy)]
struct Printed {
    estimate: f64,
    low: f64,
    high: f64,
    known_mean: f64,
    wait: f64,
}

struct DayStats {
    tickets: Vec<Printed>,
    busy_s: f64,
    open_s: f64,
}

fn run_day(scenario: &Scenario, branch: &Arc<Branch>, rng: &mut SmallRng, day_start: DateTime<Utc>) -> DayStats {
    let mut queue = Queue::new(branch.clone(), day_start);
    let hours = scenario.arrivals_per_hour.len() as f64;
    let max_rate = scenario.arrivals_per_hour.iter().copied().fold(0.0, f64::max);
    let at = |s: f64| day_start + Duration::milliseconds((s * 1000.0).round() as i64);
    let mut agenda: BinaryHeap<Reverse<(i64, u64, Happening)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut schedule = |agenda: &mut BinaryHeap<_>, when_s: f64, what: Happening| {
        seq += 1;
        agenda.push(Reverse(((when_s * 1000.0).round() as i64, seq, what)));
    };
    schedule(&mut agenda, exp(rng, max_rate / 3600.0), Happening::Arrival);
    for &(hour, count) in &scenario.closings {
        for _ in 0..count {
            schedule(&mut agenda, hour * 3600.0, Happening::Closing);
        }
    }
    // By visit id: the printed figures, with the issue time in `wait` until the visitor is called.
    let mut printed: Vec<Option<Printed>> = Vec::new();
    let mut closing = vec![false; branch.counters.len()];
    let mut busy_since: Vec<Option<f64>> = vec![None; branch.counters.len()];
    let mut stats = DayStats { tickets: Vec::new(), busy_s: 0.0, open_s: 0.0 };
    let mut open_since = vec![Some(0.0); branch.counters.len()];
    let mut last_s = 0.0;

    while let Some(Reverse((when_ms, _, what))) = agenda.pop() {
        let now_s = when_ms as f64 / 1000.0;
        last_s = now_s;
        let now = at(now_s);
        let mut free = Vec::new();
        match what {
            Happening::Arrival => {
                if now_s < hours * 3600.0 {
                    let rate = scenario.arrivals_per_hour[(now_s / 3600.0) as usize];
                    // Thinning: accept with probability rate / max_rate.
                    if rng.random::<f64>() * max_rate < rate {
                        let req = IssueRequest {
                            service: "A".into(),
                            priority: Priority::Normal,
                            appointment_at: None,
                            token: String::new(),
                        };
                        if let Ok((_, id)) = queue.issue(req, now) {
                            let e = queue.estimate_for(id, now).expect("an open service has an estimate");
                            let idx = id as usize;
                            if printed.len() <= idx {
                                printed.resize(idx + 1, None);
                            }
                            let known =
                                estimate::expected_wait(e.position - 1, queue.capacity(0), scenario.mean_service_s)
                                    .expect("an open service has an estimate");
                            printed[idx] = Some(Printed {
                                estimate: f64::from(e.wait_s),
                                low: f64::from(e.low_s),
                                high: f64::from(e.high_s),
                                known_mean: f64::from(known.wait_s),
                                wait: now_s,
                            });
                            free = (0..branch.counters.len()).filter(|&c| queue.counter(c).current.is_none()).collect();
                        }
                    }
                    schedule(&mut agenda, now_s + exp(rng, max_rate / 3600.0), Happening::Arrival);
                }
            }
            Happening::ServiceEnd(c) => {
                stats.busy_s += now_s - busy_since[c].take().unwrap_or(now_s);
                if closing[c] {
                    let counter = &branch.counters[c].id;
                    queue.counter_action(counter, CounterAction::Complete { outcome: None }, now).expect("complete");
                    queue.counter_action(counter, CounterAction::Pause { reason: None }, now).expect("pause");
                    stats.open_s += now_s - open_since[c].take().unwrap_or(now_s);
                } else {
                    free.push(c);
                }
            }
            Happening::Closing => {
                // Close the open counter with the highest index that is not already closing.
                if let Some(c) = (0..closing.len()).rev().find(|&c| !closing[c]) {
                    closing[c] = true;
                    if queue.counter(c).current.is_none() {
                        queue
                            .counter_action(&branch.counters[c].id, CounterAction::Pause { reason: None }, now)
                            .expect("pause");
                        stats.open_s += now_s - open_since[c].take().unwrap_or(now_s);
                    }
                }
            }
        }
        for c in free {
            if closing[c] {
                continue;
            }
            let done =
                queue.counter_action(&branch.counters[c].id, CounterAction::Next { outcome: None }, now).expect("next");
            if let Some(id) = done.called {
                if let Some(p) = printed.get(id as usize).copied().flatten() {
                    stats.tickets.push(Printed { wait: now_s - p.wait, ..p });
                }
                busy_since[c] = Some(now_s);
                schedule(&mut agenda, now_s + exp(rng, 1.0 / scenario.mean_service_s), Happening::ServiceEnd(c));
            }
        }
    }
    for since in open_since.into_iter().flatten() {
        stats.open_s += last_s - since;
    }
    stats
}

/// An exponentially distributed duration with the given rate (per second).
fn exp(rng: &mut SmallRng, rate: f64) -> f64 {
    let u: f64 = rng.random_range(f64::EPSILON..1.0);
    -u.ln() / rate
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn erlang_c_matches_a_known_value() {
        // 2 arrivals a minute, 8-minute service, 18 counters: 2.125 minutes (computed by hand).
        let w = erlang_c_wait_s(120.0, 480.0, 18);
        assert!((w - 127.48).abs() < 0.1, "{w}");
    }

    #[test]
    fn the_queue_behaves_like_an_m_m_c_system() {
        // One long "day" of 2,000 hours so start-up and closing effects vanish.
        let scenario = Scenario { arrivals_per_hour: vec![120.0; 2000], days: 1, ..Scenario::steady(1) };
        let report = run(&scenario);
        let expected = erlang_c_wait_s(120.0, 480.0, 18);
        let ratio = report.mean_wait_s / expected;
        assert!(report.visitors > 200_000, "{report:?}");
        assert!((0.9..=1.1).contains(&ratio), "simulated {:.1} s vs Erlang C {expected:.1} s", report.mean_wait_s);
        assert!((report.utilisation - 16.0 / 18.0).abs() < 0.02, "{report:?}");
    }

    /// The target is an error within 25% of the mean wait. On a peak day the estimate meets it.
    /// On light days most visitors wait a minute or two and the randomness of service times alone
    /// costs about 27% (an estimate knowing the true mean service time does no better), so there
    /// the test holds the estimate to 30% and to within 10% of that known-mean estimate.
    #[test]
    fn the_printed_estimate_is_close_to_the_actual_wait() {
        let peak = run(&Scenario::morning_peak(20));
        assert!(peak.relative_mae() <= 0.25, "{peak:?}");
        for scenario in [Scenario::steady(30), Scenario::counters_closing(20)] {
            let report = run(&scenario);
            assert!(report.relative_mae() <= 0.30, "{}: {report:?}", scenario.name);
            assert!(report.estimate_mae_s <= report.known_mean_mae_s * 1.1, "{}: {report:?}", scenario.name);
            assert!(report.within_range >= 0.8, "{}: {report:?}", scenario.name);
        }
    }

    #[test]
    fn runs_are_repeatable() {
        assert_eq!(run(&Scenario::steady(2)), run(&Scenario::steady(2)));
    }
}
