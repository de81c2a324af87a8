//! The forecast checked by the simulation of counters shared between two services: weeks with a
//! known arrival pattern are simulated on the real queue, the forecast learns from their visit
//! rows, and its counters and its what-if are held against what further simulation runs show.
use chrono::{Duration, NaiveDate};

use super::plan::{Ask, ServiceSpec, forecast};
use crate::simulation::shared::{SharedScenario, SimService, offset, run};

/// Power of attorney: 10-minute service, 15-minute target; certificates: 5 minutes, 10.
fn services(a: Vec<f64>, b: Vec<f64>) -> Vec<SimService> {
    vec![
        SimService { code: "A".into(), arrivals_per_hour: a, mean_service_s: 600.0, target_s: 900 },
        SimService { code: "B".into(), arrivals_per_hour: b, mean_service_s: 300.0, target_s: 600 },
    ]
}

fn pattern_a() -> Vec<f64> {
    vec![12.0, 18.0, 24.0, 18.0, 12.0, 9.0, 6.0, 6.0]
}

fn pattern_b() -> Vec<f64> {
    vec![20.0, 30.0, 40.0, 30.0, 20.0, 12.0, 10.0, 8.0]
}

/// The counters the branch had open each hour on the weeks simulated (short at the peak).
const STAFFED: [usize; 8] = [5, 6, 6, 6, 5, 5, 4, 4];

fn sundays(first: NaiveDate, count: i64) -> Vec<NaiveDate> {
    (0..count).map(|w| first + Duration::weeks(w)).collect()
}

fn first_sunday() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 9, 6).unwrap()
}

fn specs() -> Vec<ServiceSpec> {
    vec![
        ServiceSpec { code: "A".into(), target_s: 900, mean_service_s: 480.0 },
        ServiceSpec { code: "B".into(), target_s: 600, mean_service_s: 480.0 },
    ]
}

/// Eight simulated Sundays, then the forecast of the ninth.
fn learned_forecast(what_if: Option<(u32, u8)>) -> super::plan::Forecast {
    let history = SharedScenario {
        services: services(pattern_a(), pattern_b()),
        counters_per_hour: STAFFED.to_vec(),
        days: sundays(first_sunday(), 8),
        opens_at: 8,
        seed: 20,
    };
    let visits = run(&history).visits;
    let ask = Ask { day: first_sunday() + Duration::weeks(8), weeks: 8, goal: super::GOAL, what_if };
    forecast(&visits, &specs(), &ask, offset())
}

/// The fewest counters with which a long run at one hour's rates calls 80% of each service
/// within its target.
fn simulated_need(hour: usize, from: usize) -> usize {
    (from.max(1)..)
        .find(|&counters| {
            let steady = SharedScenario {
                services: services(vec![pattern_a()[hour]; 60], vec![pattern_b()[hour]; 60]),
                counters_per_hour: vec![counters; 60],
                days: vec![first_sunday()],
                opens_at: 0,
                seed: 100 + hour as u64,
            };
            run(&steady).within.iter().all(|&w| w >= super::GOAL)
        })
        .expect("enough counters meet any target")
}

#[test]
fn the_forecast_learns_the_pattern_and_its_counters_are_within_one_of_the_simulations() {
    let forecast = learned_forecast(None);
    assert_eq!(forecast.days_learned, 8);
    let a = &forecast.services[0];
    assert!((a.mean_service_s - 600.0).abs() < 60.0, "learned A's service time: {a:?}");
    let b = &forecast.services[1];
    assert!((b.mean_service_s - 300.0).abs() < 30.0, "learned B's service time: {b:?}");
    // Opening hours 08:00–15:59, and the line left at closing served after 16:00.
    assert_eq!(forecast.hours.iter().map(|h| h.hour).take(8).collect::<Vec<_>>(), (8..16).collect::<Vec<u8>>());
    assert!(forecast.hours.iter().skip(8).all(|h| h.arrivals == 0.0), "{:?}", forecast.hours);
    for (i, hour) in forecast.hours.iter().enumerate().take(8) {
        let expected = pattern_a()[i] + pattern_b()[i];
        assert!((hour.arrivals - expected).abs() <= 0.25 * expected, "{i}: {hour:?}");
        assert!((hour.counters_staffed - STAFFED[i] as f64).abs() < 0.5, "staffed at {i}: {hour:?}");
    }
    for i in [0, 2, 5] {
        let recommended = forecast.hours[i].counters_needed;
        let needed = simulated_need(i, recommended.saturating_sub(2));
        assert!(recommended.abs_diff(needed) <= 1, "hour {i}: forecast {recommended}, simulation {needed}");
    }
    // The peak is short of counters on the weeks read.
    assert!(forecast.hours[2].counters_needed > STAFFED[2], "{:?}", forecast.hours[2]);
}

#[test]
fn the_what_if_matches_a_simulation_run() {
    let forecast = learned_forecast(Some((3, 9)));
    let what_if = forecast.what_if.clone().expect("asked");
    let schedule: Vec<usize> = STAFFED.iter().enumerate().map(|(i, &c)| c + if i >= 1 { 3 } else { 0 }).collect();
    let trial = SharedScenario {
        services: services(pattern_a(), pattern_b()),
        counters_per_hour: schedule,
        days: sundays(first_sunday(), 50),
        opens_at: 8,
        seed: 21,
    };
    let simulated = run(&trial).longest_wait_s(1);
    let forecast_wait = what_if.longest_wait_s.expect("every hour has counters");
    assert!(
        (forecast_wait - simulated).abs() <= 0.3 * simulated.max(60.0),
        "what-if {what_if:?}: simulated longest hourly mean wait {simulated:.0} s"
    );
    let staffed = what_if.staffed_longest_wait_s.expect("every hour has counters");
    assert!(staffed > 2.0 * forecast_wait, "the counters as staffed wait longer: {what_if:?}");
}
