//! Keeping the Wi-Fi joined: when to join, when the link counts as lost, and how long to wait
//! between attempts (exponential back-off with jitter, so that dozens of buttons do not all
//! knock on an access point at the same moment after it reboots).
//!
//! The firmware asks [`Rejoin::join_due`] before each attempt and reports what happened
//! ([`Rejoin::joined`], [`Rejoin::join_failed`], [`Rejoin::link_lost`]); broker connections that
//! fail while the chip says it is joined are counted too ([`Rejoin::broker_failed`]): after
//! [`BROKER_FAILURES_BEFORE_REJOIN`] in a row the link is treated as lost, because an access
//! point that rebooted may leave the chip believing it is still associated.

/// The first wait after a failed join.
pub const FIRST_BACKOFF_MS: u64 = 1_000;
/// The longest wait between two joins.
pub const MAX_BACKOFF_MS: u64 = 60_000;
/// Broker connections that fail in a row, with the link up, before the Wi-Fi is joined again.
pub const BROKER_FAILURES_BEFORE_REJOIN: u8 = 3;

/// Where the Wi-Fi stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WifiState {
    /// Never joined since start.
    Starting,
    /// Joined (and, as far as anyone knows, still associated).
    Joined,
    /// Lost or failed: joining again after the back-off; `attempts` failed so far.
    Rejoining { attempts: u32 },
}

/// The wait before the next join after `failures` failed attempts in a row, without jitter:
/// 0 before the first attempt, then 1 s, 2 s, 4 s, … up to [`MAX_BACKOFF_MS`].
pub fn backoff_ms(failures: u32) -> u64 {
    if failures == 0 {
        return 0;
    }
    let doublings = (failures - 1).min(16);
    (FIRST_BACKOFF_MS << doublings).min(MAX_BACKOFF_MS)
}

/// [`backoff_ms`] spread over its upper half by `random`: between half and all of it.
pub fn backoff_with_jitter_ms(failures: u32, random: u32) -> u64 {
    let full = backoff_ms(failures);
    let half = full / 2;
    if half == 0 {
        return full;
    }
    half + u64::from(random) % (full - half + 1)
}

/// The rejoin state machine. Times are milliseconds from any fixed start.
#[derive(Debug, Clone)]
pub struct Rejoin {
    state: WifiState,
    next_join_ms: u64,
    broker_failures: u8,
    random: u32,
}

impl Rejoin {
    /// At start: join at once. `seed` varies the jitter from one device (and boot) to the next.
    pub const fn new(seed: u32) -> Self {
        Rejoin { state: WifiState::Starting, next_join_ms: 0, broker_failures: 0, random: seed | 1 }
    }

    pub fn state(&self) -> WifiState {
        self.state
    }

    /// Whether the chip should be joined now (not joined, and the back-off has passed).
    pub fn join_due(&self, now_ms: u64) -> bool {
        self.state != WifiState::Joined && now_ms >= self.next_join_ms
    }

    /// How long until the next join may start (0 when due or joined).
    pub fn wait_ms(&self, now_ms: u64) -> u64 {
        if self.state == WifiState::Joined { 0 } else { self.next_join_ms.saturating_sub(now_ms) }
    }

    /// The join succeeded.
    pub fn joined(&mut self) {
        self.state = WifiState::Joined;
        self.broker_failures = 0;
    }

    /// The join failed (or timed out): wait longer before the next one.
    pub fn join_failed(&mut self, now_ms: u64) {
        let attempts = match self.state {
            WifiState::Rejoining { attempts } => attempts.saturating_add(1),
            _ => 1,
        };
        self.state = WifiState::Rejoining { attempts };
        self.next_join_ms = now_ms + backoff_with_jitter_ms(attempts, self.next_random());
    }

    /// The chip reports the link down (or the broker could not be reached too often): join again,
    /// the first time at once.
    pub fn link_lost(&mut self, now_ms: u64) {
        if self.state == WifiState::Joined {
            self.state = WifiState::Rejoining { attempts: 0 };
            self.next_join_ms = now_ms;
        }
        self.broker_failures = 0;
    }

    /// The broker accepted a connection: the link works.
    pub fn broker_connected(&mut self) {
        self.broker_failures = 0;
    }

    /// A broker connection failed. Returns true when the link is now treated as lost (the caller
    /// leaves the network and joins again).
    pub fn broker_failed(&mut self, now_ms: u64) -> bool {
        if self.state != WifiState::Joined {
            return false;
        }
        self.broker_failures = self.broker_failures.saturating_add(1);
        if self.broker_failures < BROKER_FAILURES_BEFORE_REJOIN {
            return false;
        }
        self.link_lost(now_ms);
        true
    }

    /// xorshift32: enough to spread devices apart.
    fn next_random(&mut self) -> u32 {
        let mut x = self.random;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.random = x;
        x
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_one_second_up_to_a_minute() {
        let sequence: Vec<u64> = (0..10).map(backoff_ms).collect();
        assert_eq!(sequence, [0, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 60_000, 60_000, 60_000]);
        assert_eq!(backoff_ms(u32::MAX), MAX_BACKOFF_MS, "never overflows");
    }

    #[test]
    fn jitter_stays_within_the_upper_half_and_spreads_devices() {
        for failures in 1..12 {
            let full = backoff_ms(failures);
            for random in [0, 1, 7, 12_345, u32::MAX] {
                let wait = backoff_with_jitter_ms(failures, random);
                assert!((full / 2..=full).contains(&wait), "{failures} failures: {wait} outside {full}/2..{full}");
            }
        }
        let waits: std::collections::BTreeSet<u64> =
            (0..20u32).map(|seed| backoff_with_jitter_ms(6, seed.wrapping_mul(2_654_435_761))).collect();
        assert!(waits.len() > 10, "twenty devices mostly wait different times: {waits:?}");
    }

    #[test]
    fn joins_at_start_then_waits_longer_after_each_failure() {
        let mut r = Rejoin::new(42);
        assert_eq!(r.state(), WifiState::Starting);
        assert!(r.join_due(0));
        let mut now = 0;
        let mut waits = Vec::new();
        for attempt in 1..=9 {
            r.join_failed(now);
            assert_eq!(r.state(), WifiState::Rejoining { attempts: attempt });
            let wait = r.wait_ms(now);
            assert!(!r.join_due(now + wait - 1), "attempt {attempt}: not before the back-off");
            now += wait;
            assert!(r.join_due(now));
            waits.push(wait);
        }
        // Until the cap, each wait is at least the previous one (jitter stays in the upper half).
        assert!(waits.windows(2).take(5).all(|pair| pair[1] >= pair[0]), "waits grow: {waits:?}");
        assert!(waits[0] <= 1_000 && waits[5] >= 16_000 && waits.iter().all(|w| *w <= MAX_BACKOFF_MS), "{waits:?}");
        r.joined();
        assert_eq!(r.state(), WifiState::Joined);
        assert!(!r.join_due(now + 1_000_000), "a joined chip is not joined again");
    }

    #[test]
    fn a_lost_link_rejoins_at_once_and_the_back_off_starts_over() {
        let mut r = Rejoin::new(1);
        r.join_failed(0);
        r.join_failed(1_000);
        r.joined();
        r.link_lost(50_000);
        assert_eq!(r.state(), WifiState::Rejoining { attempts: 0 });
        assert!(r.join_due(50_000), "the first rejoin is immediate");
        r.join_failed(50_000);
        assert_eq!(r.state(), WifiState::Rejoining { attempts: 1 });
        assert!(r.wait_ms(50_000) <= FIRST_BACKOFF_MS, "the back-off starts over after a successful join");
        // A second "lost" report while already rejoining does not cut the back-off short.
        r.link_lost(50_010);
        assert!(!r.join_due(50_010));
    }

    #[test]
    fn broker_failures_in_a_row_count_as_a_lost_link() {
        let mut r = Rejoin::new(1);
        r.joined();
        assert!(!r.broker_failed(10));
        assert!(!r.broker_failed(20));
        r.broker_connected();
        assert!(!r.broker_failed(30), "a success in between starts the count again");
        assert!(!r.broker_failed(40));
        assert!(r.broker_failed(50), "the third failure in a row means: join again");
        assert_eq!(r.state(), WifiState::Rejoining { attempts: 0 });
        assert!(r.join_due(50));
        assert!(!r.broker_failed(60), "while not joined, broker failures are not counted");
        r.joined();
        assert!(!r.broker_failed(70), "the count starts over after a join");
    }
}
