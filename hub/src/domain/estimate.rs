//! How long a visitor will wait: the figure printed on the ticket and shown on the live page.
//!
//! With `c` counters working on a service, each finishing a visitor every `mean` seconds on
//! average, the `(k+1)`-th person in line is called when `k+1` visitors ahead have finished. With
//! exponential service times departures are a Poisson process of rate `c / mean`, so that wait
//! follows a Gamma distribution of shape `k+1` and scale `mean / c`. The printed figure is its
//! median (half the visitors are called sooner, half later, which is what minimises the average
//! error a visitor sees) and the range its 10th to 90th percentile, both by the Wilson–Hilferty
//! approximation. Idle counters call the first people in line at once. Counters shared between
//! services contribute the share of their attention the service's queue gets, in proportion to
//! waiting visitors.
//!
//! The mean service time is learned from completed visits (an exponentially weighted average),
//! starting from the configured figure.

/// The estimate for one waiting visitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Estimate {
    /// 1 = next to be called.
    pub position: u32,
    pub wait_s: u32,
    /// A likely range (8 visitors in 10 are called within it), for kiosks that print a range.
    pub low_s: u32,
    pub high_s: u32,
}

/// The counters working on one service right now.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capacity {
    /// Open counters serving it, each weighted by the share of its attention the service gets.
    pub counters: f64,
    /// Open counters serving it that have nobody at the desk.
    pub idle: u32,
}

/// Expected wait of a visitor with `ahead` people before them.
///
/// Returns `None` when no counter works on the service.
pub fn expected_wait(ahead: u32, capacity: Capacity, mean_service_s: f64) -> Option<Estimate> {
    if capacity.counters <= 0.0 {
        return None;
    }
    let position = ahead + 1;
    if ahead < capacity.idle {
        return Some(Estimate { position, wait_s: 0, low_s: 0, high_s: 0 });
    }
    let departures = f64::from(ahead - capacity.idle + 1);
    let scale = mean_service_s / capacity.counters;
    Some(Estimate {
        position,
        wait_s: seconds(gamma_quantile(departures, 0.0) * scale),
        low_s: seconds(gamma_quantile(departures, -Z_90) * scale),
        high_s: seconds(gamma_quantile(departures, Z_90) * scale),
    })
}

/// The standard normal quantile for 90 %.
const Z_90: f64 = 1.281_551_6;

/// The quantile of Gamma(`shape`, 1) at standard normal quantile `z` (Wilson–Hilferty).
fn gamma_quantile(shape: f64, z: f64) -> f64 {
    let c = 1.0 / (9.0 * shape);
    (shape * (1.0 - c + z * c.sqrt()).powi(3)).max(0.0)
}

fn seconds(x: f64) -> u32 {
    x.round().clamp(0.0, f64::from(u32::MAX)) as u32
}

/// A learned mean service time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ServiceTime {
    mean_s: f64,
}

impl ServiceTime {
    /// Weight of the newest observation.
    const ALPHA: f64 = 0.01;
    /// Longer visits are ignored (a counter left "serving" over lunch says nothing).
    const MAX_S: f64 = 4.0 * 3600.0;

    pub fn new(initial_s: u32) -> Self {
        ServiceTime { mean_s: f64::from(initial_s.max(1)) }
    }

    pub fn mean_s(&self) -> f64 {
        self.mean_s
    }

    /// Takes one completed visit's duration into account.
    pub fn observe(&mut self, duration_s: f64) {
        if duration_s.is_finite() && duration_s > 0.0 && duration_s <= Self::MAX_S {
            self.mean_s += Self::ALPHA * (duration_s - self.mean_s);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gamma_quantiles_match_known_values() {
        // Exponential (shape 1): median ln 2, 10th and 90th percentiles −ln 0.9 and ln 10.
        assert!((gamma_quantile(1.0, 0.0) - 0.693).abs() < 0.01);
        assert!((gamma_quantile(1.0, -Z_90) - 0.105).abs() < 0.02);
        assert!((gamma_quantile(1.0, Z_90) - 2.303).abs() < 0.05);
        // Shape 10: median 9.669.
        assert!((gamma_quantile(10.0, 0.0) - 9.669).abs() < 0.01);
    }

    #[test]
    fn idle_counters_mean_no_wait() {
        let cap = Capacity { counters: 3.0, idle: 2 };
        assert_eq!(expected_wait(0, cap, 600.0).unwrap().wait_s, 0);
        assert_eq!(expected_wait(1, cap, 600.0).unwrap().wait_s, 0);
        assert_eq!(expected_wait(1, cap, 600.0).unwrap().position, 2);
    }

    #[test]
    fn busy_counters_share_the_line() {
        let cap = Capacity { counters: 4.0, idle: 0 };
        let e = expected_wait(7, cap, 480.0).unwrap();
        assert_eq!(e.position, 8);
        // 8 departures at 4 per 480 s: mean 960 s, median 960 × (1 − 1/72)³ ≈ 921 s.
        assert_eq!(e.wait_s, 921);
        assert!(e.low_s < e.wait_s && e.wait_s < e.high_s);
        assert!((500..700).contains(&e.low_s) && (1300..1500).contains(&e.high_s), "{e:?}");
    }

    #[test]
    fn a_service_nobody_works_on_has_no_estimate() {
        assert_eq!(expected_wait(0, Capacity { counters: 0.0, idle: 0 }, 480.0), None);
    }

    #[test]
    fn the_service_time_learns_and_ignores_nonsense() {
        let mut t = ServiceTime::new(600);
        for _ in 0..1500 {
            t.observe(300.0);
        }
        assert!((t.mean_s() - 300.0).abs() < 1.0, "{}", t.mean_s());
        t.observe(f64::NAN);
        t.observe(-5.0);
        t.observe(10.0 * 3600.0);
        assert!((t.mean_s() - 300.0).abs() < 1.0);
    }
}
