//! Erlang C — pure: the M/M/c queue's chance of waiting, its mean wait, the share called within
//! a target, and the fewest counters that meet a goal share.
//!
//! `load` is the offered traffic in Erlangs (arrivals per second × mean service seconds); a
//! queue is stable only while `load < counters`, and every function says `None` (or "never
//! within") when it is not.

/// The probability that a visitor has to wait (Erlang C), or `None` when the queue is unstable.
pub fn wait_probability(load: f64, counters: usize) -> Option<f64> {
    let c = counters as f64;
    if counters == 0 || load >= c || load < 0.0 {
        return None;
    }
    // Erlang B by its recursion (no factorials to overflow), then C from B.
    let mut b = 1.0;
    for k in 1..=counters {
        b = load * b / (k as f64 + load * b);
    }
    Some(c * b / (c - load * (1.0 - b)))
}

/// The offered load of `arrivals_per_hour` visitors each served `mean_service_s` on average.
pub fn load(arrivals_per_hour: f64, mean_service_s: f64) -> f64 {
    arrivals_per_hour / 3600.0 * mean_service_s
}

/// The mean wait before the first call, in seconds (`None`: unstable).
pub fn mean_wait_s(arrivals_per_hour: f64, mean_service_s: f64, counters: usize) -> Option<f64> {
    let a = load(arrivals_per_hour, mean_service_s);
    let p = wait_probability(a, counters)?;
    Some(p * mean_service_s / (counters as f64 - a))
}

/// The share of visitors called within `target_s` (0 when unstable): `1 − C·e^{−(c−a)t/s}`.
pub fn within_target(arrivals_per_hour: f64, mean_service_s: f64, counters: usize, target_s: f64) -> f64 {
    if arrivals_per_hour <= 0.0 {
        return 1.0;
    }
    let a = load(arrivals_per_hour, mean_service_s);
    match wait_probability(a, counters) {
        Some(p) => 1.0 - p * (-(counters as f64 - a) * target_s / mean_service_s).exp(),
        None => 0.0,
    }
}

/// The fewest counters for which at least `goal` (a share, 0–1) of visitors are called within
/// `target_s`; 0 when nobody arrives.
pub fn counters_needed(arrivals_per_hour: f64, mean_service_s: f64, target_s: f64, goal: f64) -> usize {
    if arrivals_per_hour <= 0.0 || mean_service_s <= 0.0 {
        return 0;
    }
    let mut counters = load(arrivals_per_hour, mean_service_s).floor() as usize + 1;
    while within_target(arrivals_per_hour, mean_service_s, counters, target_s) < goal {
        counters += 1;
    }
    counters
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tolerance: f64) -> bool {
        (a - b).abs() <= tolerance
    }

    /// The textbook value: 2 Erlangs on 3 servers wait with probability 4/9.
    #[test]
    fn two_erlangs_on_three_servers_wait_four_times_in_nine() {
        let p = wait_probability(2.0, 3).unwrap();
        assert!(close(p, 4.0 / 9.0, 1e-12), "{p}");
    }

    /// The worked example of the call-centre literature (callcentrehelper.com's "Erlang C
    /// formula – made simple"): 100 calls in half an hour, 180 s handling time, so 10 Erlangs,
    /// 80% to be answered within 20 s. 11 agents: 68.21% wait, 39.0% within 20 s, 122.8 s
    /// average speed of answer; 13 agents reach 79.6%, 14 agents 88.8%: 14 are needed.
    #[test]
    fn the_published_call_centre_example() {
        let per_hour = 200.0;
        assert!(close(load(per_hour, 180.0), 10.0, 1e-12));
        assert!(close(wait_probability(10.0, 11).unwrap(), 0.6821, 5e-5));
        assert!(close(within_target(per_hour, 180.0, 11, 20.0), 0.3896, 5e-4));
        assert!(close(mean_wait_s(per_hour, 180.0, 11).unwrap(), 122.8, 0.05));
        assert!(close(within_target(per_hour, 180.0, 13, 20.0), 0.7956, 5e-4));
        assert!(close(within_target(per_hour, 180.0, 14, 20.0), 0.8884, 5e-4));
        assert_eq!(counters_needed(per_hour, 180.0, 20.0, 0.8), 14);
    }

    #[test]
    fn an_unstable_queue_has_no_wait_and_is_never_within() {
        assert_eq!(wait_probability(10.0, 10), None);
        assert_eq!(mean_wait_s(200.0, 180.0, 9), None);
        assert_eq!(within_target(200.0, 180.0, 9, 600.0), 0.0);
        assert_eq!(wait_probability(1.0, 0), None);
    }

    #[test]
    fn nobody_arriving_needs_no_counter() {
        assert_eq!(counters_needed(0.0, 480.0, 900.0, 0.8), 0);
        assert_eq!(within_target(0.0, 480.0, 0, 900.0), 1.0);
    }

    #[test]
    fn more_counters_never_wait_longer() {
        let mut last = f64::INFINITY;
        for c in 17..30 {
            let w = mean_wait_s(120.0, 480.0, c).unwrap();
            assert!(w < last, "{c}: {w}");
            last = w;
        }
        // The simulation's own check value: 120 an hour, 8 minutes, 18 counters.
        assert!(close(mean_wait_s(120.0, 480.0, 18).unwrap(), 127.48, 0.1));
    }
}
