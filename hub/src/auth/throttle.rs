//! Throttling of failed sign-ins, pure (the time is an argument): per staff id and per address,
//! the first [`FREE_FAILURES`] failures cost nothing, each later one doubles a delay during which
//! every attempt is refused (1 s, 2 s, 4 s, …), and from [`LOCKOUT_AFTER`] failures the key is
//! locked out for [`LOCKOUT`]. A success clears the key; a key quiet for [`FORGET_AFTER`] is
//! forgotten. At most [`CAPACITY`] keys are kept (the quietest go first), so a flood of
//! addresses cannot grow memory.
//!
//! The failure that starts a lockout is noted once ([`Lockout`], taken by
//! [`Throttle::take_lockouts`]) so the audit log gets one entry per lockout, not one per refused
//! attempt.
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

/// Failures allowed before delays start.
pub const FREE_FAILURES: u32 = 5;
/// Failures after which a key is locked out.
pub const LOCKOUT_AFTER: u32 = 10;
/// How long a lockout lasts.
pub const LOCKOUT: Duration = Duration::minutes(15);
/// A key without failures for this long starts again from nothing.
pub const FORGET_AFTER: Duration = Duration::minutes(30);
/// The most keys kept.
pub const CAPACITY: usize = 10_000;
/// The most started lockouts kept until taken (more are dropped: the log is no flood's sink).
pub const LOCKOUTS_KEPT: usize = 64;

/// Whose failures are counted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Key {
    Staff(String),
    /// An IPv4 address, or an IPv6 address's /64 (one subscriber's prefix).
    Address(String),
}

impl Key {
    /// The key of a client's address.
    pub fn address(ip: std::net::IpAddr) -> Key {
        match ip {
            std::net::IpAddr::V4(v4) => Key::Address(v4.to_string()),
            std::net::IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Key::Address(v4.to_string()),
                None => {
                    let s = v6.segments();
                    Key::Address(format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3]))
                }
            },
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Failures {
    count: u32,
    last: DateTime<Utc>,
    blocked_until: DateTime<Utc>,
}

/// The failures counted per key, and the lockouts started since they were last taken.
#[derive(Debug)]
pub struct Throttle {
    keys: HashMap<Key, Failures>,
    started: Vec<Lockout>,
    /// Failures allowed before delays start ([`FREE_FAILURES`] unless made with
    /// [`Throttle::with_free_failures`]); the lockout comes after twice as many.
    free: u32,
}

impl Default for Throttle {
    fn default() -> Self {
        Throttle::with_free_failures(FREE_FAILURES)
    }
}

/// A lockout that has just started: `key` is refused until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lockout {
    pub key: Key,
    pub until: DateTime<Utc>,
}

/// Refused until then.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Blocked {
    pub until: DateTime<Utc>,
    /// Whether this is the lockout (not only a delay).
    pub locked_out: bool,
}

impl Blocked {
    /// Whole seconds from `now` until the attempt may be made (at least 1), for `Retry-After`.
    pub fn retry_after_s(&self, now: DateTime<Utc>) -> u64 {
        let ms = (self.until - now).num_milliseconds().max(0) as u64;
        ms.div_ceil(1000).max(1)
    }
}

/// The delay after the `count`th failure.
pub fn delay_after(count: u32) -> Duration {
    if count >= LOCKOUT_AFTER {
        LOCKOUT
    } else if count >= FREE_FAILURES {
        Duration::seconds(1 << (count - FREE_FAILURES))
    } else {
        Duration::zero()
    }
}

impl Throttle {
    /// A throttle whose delays start after `free` failures, and whose lockout after `2 × free`
    /// (for counts that are not sign-ins: one-time codes sent and typed wrong).
    pub fn with_free_failures(free: u32) -> Throttle {
        Throttle { keys: HashMap::new(), started: Vec::new(), free: free.max(1) }
    }

    /// The delay after the `count`th failure, for this throttle's number of free failures (the
    /// default's is [`delay_after`]).
    fn delay(free: u32, count: u32) -> Duration {
        if count >= 2 * free {
            LOCKOUT
        } else if count >= free {
            Duration::seconds(1 << (count - free).min(20))
        } else {
            Duration::zero()
        }
    }

    fn lockout_after(&self) -> u32 {
        2 * self.free
    }

    /// Whether `key` may try now.
    pub fn check(&self, key: &Key, now: DateTime<Utc>) -> Result<(), Blocked> {
        match self.keys.get(key) {
            Some(f) if f.blocked_until > now => {
                Err(Blocked { until: f.blocked_until, locked_out: f.count >= self.lockout_after() })
            }
            _ => Ok(()),
        }
    }

    /// Counts a failure of `key`; returns the block it now has, if any. A lockout that was not
    /// already running is noted for [`Throttle::take_lockouts`].
    pub fn failed(&mut self, key: Key, now: DateTime<Utc>) -> Option<Blocked> {
        self.make_room(now);
        let (free, lockout_after) = (self.free, self.lockout_after());
        let entry = self.keys.entry(key.clone()).or_insert(Failures { count: 0, last: now, blocked_until: now });
        if now - entry.last > FORGET_AFTER && entry.blocked_until <= now {
            entry.count = 0;
        }
        let was_locked_out = entry.count >= lockout_after && entry.blocked_until > now;
        entry.count += 1;
        entry.last = now;
        let delay = Self::delay(free, entry.count);
        entry.blocked_until = now + delay;
        let blocked = (delay > Duration::zero())
            .then_some(Blocked { until: entry.blocked_until, locked_out: entry.count >= lockout_after });
        if let Some(b) = blocked
            && b.locked_out
            && !was_locked_out
            && self.started.len() < LOCKOUTS_KEPT
        {
            self.started.push(Lockout { key, until: b.until });
        }
        blocked
    }

    /// The lockouts started since the last call (each once).
    pub fn take_lockouts(&mut self) -> Vec<Lockout> {
        std::mem::take(&mut self.started)
    }

    /// A success: `key` starts again from nothing.
    pub fn succeeded(&mut self, key: &Key) {
        self.keys.remove(key);
    }

    /// How many keys are kept.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether no key is kept.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Forgets quiet keys when full, then the quietest if still full.
    fn make_room(&mut self, now: DateTime<Utc>) {
        if self.keys.len() < CAPACITY {
            return;
        }
        self.keys.retain(|_, f| f.blocked_until > now || now - f.last <= FORGET_AFTER);
        while self.keys.len() >= CAPACITY {
            let quietest = self.keys.iter().min_by_key(|(_, f)| f.last).map(|(k, _)| k.clone());
            match quietest {
                Some(key) => self.keys.remove(&key),
                None => break,
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_are_free_then_delays_double_then_a_lockout() {
        let (mut throttle, key, t0) = (Throttle::default(), Key::Staff("m001".into()), Utc::now());
        for _ in 0..4 {
            assert_eq!(throttle.failed(key.clone(), t0), None);
        }
        let fifth = throttle.failed(key.clone(), t0).unwrap();
        assert_eq!(fifth.until, t0 + Duration::seconds(1));
        assert!(throttle.check(&key, t0).is_err(), "refused during the delay");
        assert_eq!(throttle.check(&key, t0).unwrap_err().retry_after_s(t0), 1);
        assert!(throttle.check(&key, t0 + Duration::seconds(1)).is_ok(), "allowed once it passed");
        assert_eq!(delay_after(6), Duration::seconds(2));
        assert_eq!(delay_after(9), Duration::seconds(16));
        assert_eq!(delay_after(10), LOCKOUT);
        let mut t = t0;
        for _ in 6..=10 {
            t += Duration::minutes(1);
            throttle.failed(key.clone(), t);
        }
        let blocked = throttle.check(&key, t).unwrap_err();
        assert!(blocked.locked_out);
        assert_eq!(throttle.take_lockouts(), vec![Lockout { key: key.clone(), until: t + LOCKOUT }], "noted once");
        throttle.failed(key.clone(), t + Duration::minutes(1));
        assert!(throttle.take_lockouts().is_empty(), "a failure during the lockout starts none");
        assert_eq!(blocked.retry_after_s(t), 15 * 60);
        throttle.succeeded(&key);
        assert!(throttle.check(&key, t).is_ok());
        assert!(throttle.check(&Key::Staff("s101".into()), t0).is_ok(), "other ids are not affected");
    }

    #[test]
    fn a_throttle_may_allow_more_free_failures() {
        let (mut throttle, key, t0) = (Throttle::with_free_failures(8), Key::Staff("x".into()), Utc::now());
        for _ in 0..7 {
            assert_eq!(throttle.failed(key.clone(), t0), None);
        }
        assert_eq!(throttle.failed(key.clone(), t0).unwrap().until, t0 + Duration::seconds(1), "the 8th");
        let mut t = t0;
        for _ in 9..16 {
            t += Duration::minutes(1);
            assert!(!throttle.failed(key.clone(), t).unwrap().locked_out);
        }
        assert!(throttle.failed(key.clone(), t).unwrap().locked_out, "the 16th locks out");
    }

    #[test]
    fn quiet_keys_are_forgotten_and_the_table_is_bounded() {
        let (mut throttle, t0) = (Throttle::default(), Utc::now());
        let key = Key::Address("10.0.0.1".into());
        for _ in 0..4 {
            throttle.failed(key.clone(), t0);
        }
        assert_eq!(throttle.failed(key.clone(), t0 + FORGET_AFTER + Duration::seconds(1)), None, "counts again from 1");
        for i in 0..CAPACITY + 50 {
            throttle
                .failed(Key::Address(format!("10.1.{}.{}", i / 256, i % 256)), t0 + Duration::milliseconds(i as i64));
        }
        assert!(throttle.len() <= CAPACITY);
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_prefix() {
        let a = Key::address("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = Key::address("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(Key::address("::ffff:10.0.0.1".parse().unwrap()), Key::Address("10.0.0.1".into()));
    }
}
