//! Counters shared between services, simulated: the check of the staffing forecast.
//!
//! Several services arrive as Poisson processes (each with its rate per opening hour) and are
//! served for exponentially distributed times by counters that all serve every service, calling
//! the longest-waiting visitor first (no preference between services). How many counters are
//! open can change at each hour: a counter closing finishes its visitor first, a counter
//! opening calls at once. Each day starts empty; visitors in line at closing are still served.
//! A run gives every visit as a report row ([`VisitFacts`]: what the forecast learns from) and
//! the mean wait of each hour's arrivals.
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use dawr_protocol::api::{Names, Priority};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::exp;
use crate::domain::{Branch, Counter, CounterAction, IssueRequest, Queue, RoutingPolicy, Service};
use crate::reports::{Ending, VisitFacts};

/// One service of a shared scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct SimService {
    pub code: String,
    /// Arrivals per hour, one figure per opening hour.
    pub arrivals_per_hour: Vec<f64>,
    pub mean_service_s: f64,
    pub target_s: u32,
}

/// A branch whose counters serve every service.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedScenario {
    pub services: Vec<SimService>,
    /// Counters open in each opening hour (as many hours as the services list).
    pub counters_per_hour: Vec<usize>,
    /// The local days simulated; each opens at `opens_at` hours local time.
    pub days: Vec<NaiveDate>,
    pub opens_at: u32,
    pub seed: u64,
}

/// What a run measured.
#[derive(Debug, Clone, PartialEq)]
pub struct SharedRun {
    pub visits: Vec<VisitFacts>,
    /// Per opening hour: the mean wait of the visitors who arrived in it, and how many did.
    pub hourly_waits: Vec<(f64, usize)>,
    /// Per service: the share called within its target.
    pub within: Vec<f64>,
}

impl SharedRun {
    /// The longest hourly mean wait from opening hour `from` on.
    pub fn longest_wait_s(&self, from: usize) -> f64 {
        self.hourly_waits.iter().skip(from).filter(|(_, n)| *n > 0).map(|(w, _)| *w).fold(0.0, f64::max)
    }
}

/// The branch's local offset (Riyadh).
pub fn offset() -> FixedOffset {
    FixedOffset::east_opt(3 * 3600).expect("valid offset")
}

fn branch(scenario: &SharedScenario) -> Branch {
    let names = |en: &str| Names { ar: en.to_string(), en: en.to_string() };
    let counters = scenario.counters_per_hour.iter().copied().max().unwrap_or(0);
    Branch {
        id: "sim".into(),
        case_prefix: "SIM".into(),
        name: names("Simulated branch"),
        utc_offset: offset(),
        services: scenario
            .services
            .iter()
            .map(|s| Service {
                code: s.code.clone(),
                name: names(&s.code),
                target_wait_s: s.target_s,
                mean_service_s: s.mean_service_s.round() as u32,
                remote: None,
            })
            .collect(),
        counters: (1..=counters)
            .map(|i| Counter {
                id: i.to_string(),
                name: names(&i.to_string()),
                services: scenario.services.iter().map(|s| s.code.clone()).collect(),
                open_at_start: true,
            })
            .collect(),
        staff: vec![],
        // No preference between services: the longest-waiting visitor is called first.
        routing: RoutingPolicy { preference_step_s: 0, ..RoutingPolicy::default() },
        rating_window_s: 600,
        cases: crate::domain::CasePolicy::default(),
        remote: crate::domain::RemotePolicy::default(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Happening {
    ServiceEnd(usize),
    /// The start of an opening hour: counters open or close to its figure.
    Hour(usize),
    /// The next arrival of a service (by index).
    Arrival(usize),
}

/// Runs a scenario.
pub fn run(scenario: &SharedScenario) -> SharedRun {
    let branch = Arc::new(branch(scenario));
    let mut rng = SmallRng::seed_from_u64(scenario.seed);
    let hours = scenario.counters_per_hour.len();
    let mut run = SharedRun { visits: Vec::new(), hourly_waits: vec![(0.0, 0); hours], within: Vec::new() };
    let mut within = vec![(0usize, 0usize); scenario.services.len()];
    for &day in &scenario.days {
        let opens = day
            .and_hms_opt(scenario.opens_at, 0, 0)
            .and_then(|t| t.and_local_timezone(offset()).single())
            .expect("a valid opening time")
            .with_timezone(&Utc);
        let first_id = run.visits.len() as i64;
        for v in run_day(scenario, &branch, &mut rng, day, opens, first_id) {
            let hour = ((v.issued_at - opens).num_seconds() / 3600) as usize;
            let wait = v.wait_s().unwrap_or(0.0);
            let (sum, n) = &mut run.hourly_waits[hour.min(hours - 1)];
            *sum += wait;
            *n += 1;
            let s = scenario.services.iter().position(|s| s.code == v.service).unwrap_or(0);
            within[s].0 += usize::from(wait <= f64::from(scenario.services[s].target_s));
            within[s].1 += 1;
            run.visits.push(v);
        }
    }
    for (sum, n) in &mut run.hourly_waits {
        *sum /= (*n).max(1) as f64;
    }
    run.within = within.into_iter().map(|(w, n)| w as f64 / n.max(1) as f64).collect();
    run
}

fn run_day(
    scenario: &SharedScenario,
    branch: &Arc<Branch>,
    rng: &mut SmallRng,
    day: NaiveDate,
    opens: DateTime<Utc>,
    first_id: i64,
) -> Vec<VisitFacts> {
    let mut queue = Queue::new(branch.clone(), opens);
    let at = |s: f64| opens + Duration::milliseconds((s * 1000.0).round() as i64);
    let counters = branch.counters.len();
    let mut agenda: BinaryHeap<Reverse<(i64, u64, Happening)>> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut schedule = |agenda: &mut BinaryHeap<_>, when_s: f64, what: Happening| {
        seq += 1;
        agenda.push(Reverse(((when_s * 1000.0).round() as i64, seq, what)));
    };
    let max_rates: Vec<f64> =
        scenario.services.iter().map(|s| s.arrivals_per_hour.iter().copied().fold(0.0, f64::max)).collect();
    for (i, &max) in max_rates.iter().enumerate() {
        if max > 0.0 {
            schedule(&mut agenda, exp(rng, max / 3600.0), Happening::Arrival(i));
        }
    }
    for h in 0..scenario.counters_per_hour.len() {
        schedule(&mut agenda, h as f64 * 3600.0, Happening::Hour(h));
    }
    let hours = scenario.counters_per_hour.len() as f64;
    // Per visit id: its row; per counter: the visit it serves, whether it is to close.
    let mut rows: Vec<Option<VisitFacts>> = Vec::new();
    let mut serving: Vec<Option<u64>> = vec![None; counters];
    let mut open = vec![true; counters];
    let mut closing = vec![false; counters];
    let mut done = Vec::new();

    while let Some(Reverse((when_ms, _, what))) = agenda.pop() {
        let now_s = when_ms as f64 / 1000.0;
        let now = at(now_s);
        let mut free: Vec<usize> = Vec::new();
        match what {
            Happening::Arrival(s) => {
                if now_s >= hours * 3600.0 {
                    continue;
                }
                let service = &scenario.services[s];
                let rate = service.arrivals_per_hour[(now_s / 3600.0) as usize];
                if rng.random::<f64>() * max_rates[s] < rate {
                    let req = IssueRequest {
                        service: service.code.clone(),
                        priority: Priority::Normal,
                        appointment_at: None,
                        token: String::new(),
                    };
                    if let Ok((_, id)) = queue.issue(req, now) {
                        let idx = id as usize;
                        if rows.len() <= idx {
                            rows.resize(idx + 1, None);
                        }
                        rows[idx] = Some(new_row(first_id + idx as i64, &service.code, day, now));
                        free = (0..counters).filter(|&c| open[c] && serving[c].is_none()).collect();
                    }
                }
                schedule(&mut agenda, now_s + exp(rng, max_rates[s] / 3600.0), Happening::Arrival(s));
            }
            Happening::ServiceEnd(c) => {
                if let Some(row) = serving[c].take().and_then(|id| rows.get_mut(id as usize)).and_then(Option::take) {
                    done.push(VisitFacts { ended_at: Some(now), ending: Ending::Served, ..row });
                }
                if closing[c] {
                    let id = &branch.counters[c].id;
                    queue.counter_action(id, CounterAction::Complete { outcome: None }, now).expect("complete");
                    queue.counter_action(id, CounterAction::Pause { reason: None }, now).expect("pause");
                    (open[c], closing[c]) = (false, false);
                } else {
                    free.push(c);
                }
            }
            Happening::Hour(h) => {
                let wanted = scenario.counters_per_hour[h];
                for c in 0..counters {
                    let id = &branch.counters[c].id;
                    let should = c < wanted;
                    if should && !open[c] {
                        queue.counter_action(id, CounterAction::Resume, now).expect("resume");
                        open[c] = true;
                        free.push(c);
                    } else if should {
                        closing[c] = false;
                    } else if open[c] && !closing[c] {
                        if serving[c].is_some() {
                            closing[c] = true;
                        } else {
                            queue.counter_action(id, CounterAction::Pause { reason: None }, now).expect("pause");
                            open[c] = false;
                        }
                    }
                }
            }
        }
        for c in free {
            if !open[c] || closing[c] || serving[c].is_some() {
                continue;
            }
            let next = queue.counter_action(&branch.counters[c].id, CounterAction::Next { outcome: None }, now);
            if let Some(id) = next.expect("next").called {
                if let Some(row) = rows.get_mut(id as usize).and_then(Option::as_mut) {
                    row.first_called_at = Some(now);
                    row.started_at = Some(now);
                    row.counter = Some(branch.counters[c].id.clone());
                }
                serving[c] = Some(id);
                let mean =
                    scenario.services.iter().find(|s| Some(&s.code) == rows[id as usize].as_ref().map(|r| &r.service));
                let mean = mean.map_or(1.0, |s| s.mean_service_s);
                schedule(&mut agenda, now_s + exp(rng, 1.0 / mean), Happening::ServiceEnd(c));
            }
        }
    }
    done.sort_by_key(|v| v.id);
    done
}

fn new_row(id: i64, service: &str, day: NaiveDate, issued_at: DateTime<Utc>) -> VisitFacts {
    VisitFacts {
        id,
        number: format!("{service}{id:03}"),
        case_ref: format!("SIM-{id}"),
        service: service.to_string(),
        local_day: day.to_string(),
        issued_at,
        first_called_at: None,
        started_at: None,
        ended_at: None,
        ending: Ending::Open,
        counter: None,
        outcome: None,
        rating: None,
        rating_reason: None,
        rated_at: None,
        staff: None,
        source: "walk_in".into(),
    }
}
