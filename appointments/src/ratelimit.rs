//! A token bucket per client address, in memory: how often one address may book or look up.
//!
//! Each address starts with `burst` tokens and earns `per_minute` a minute back up to `burst`;
//! a request spends one or is refused. The clock is passed in, so the rule is tested without
//! waiting. Forgotten buckets (full again) are dropped when the table grows large.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Instant;

use crate::config::Limits;

/// Above this many addresses, full buckets are forgotten.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The buckets of every address seen.
#[derive(Debug)]
pub struct RateLimiter {
    limits: Limits,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter { limits, buckets: Mutex::new(HashMap::new()) }
    }

    fn refill(&self, bucket: Bucket, now: Instant) -> f64 {
        let earned = now.saturating_duration_since(bucket.at).as_secs_f64() * f64::from(self.limits.per_minute) / 60.0;
        (bucket.tokens + earned).min(f64::from(self.limits.burst))
    }

    /// Spends a token of `addr` at `now`; false when it has none left.
    pub fn allow(&self, addr: IpAddr, now: Instant) -> bool {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() > PRUNE_ABOVE {
            let burst = f64::from(self.limits.burst);
            buckets.retain(|_, b| self.refill(*b, now) < burst);
        }
        let bucket = buckets.entry(addr).or_insert(Bucket { tokens: f64::from(self.limits.burst), at: now });
        let tokens = self.refill(*bucket, now);
        if tokens >= 1.0 {
            *bucket = Bucket { tokens: tokens - 1.0, at: now };
            true
        } else {
            *bucket = Bucket { tokens, at: now };
            false
        }
    }
}

/// The client's address: the peer's, or — behind a reverse proxy the site is told to trust — the
/// last address in `X-Forwarded-For` (the one that proxy saw; earlier ones are the client's word).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trust_proxy: bool) -> IpAddr {
    if !trust_proxy {
        return peer;
    }
    forwarded_for.and_then(|v| v.rsplit(',').next()).and_then(|last| last.trim().parse().ok()).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_forwarded_address_counts_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let header = Some("203.0.113.9, 198.51.100.7");
        assert_eq!(client_ip(proxy, header, false), proxy);
        assert_eq!(client_ip(proxy, header, true), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_ip(proxy, Some("garbage"), true), proxy);
        assert_eq!(client_ip(proxy, None, true), proxy);
    }

    #[test]
    fn an_address_gets_its_burst_then_its_rate_and_others_are_not_affected() {
        let limiter = RateLimiter::new(Limits { burst: 3, per_minute: 6, trust_proxy: false });
        let (a, b): (IpAddr, IpAddr) = ("192.0.2.1".parse().unwrap(), "192.0.2.2".parse().unwrap());
        let t0 = Instant::now();
        assert!((0..3).all(|_| limiter.allow(a, t0)));
        assert!(!limiter.allow(a, t0), "the burst is spent");
        assert!(limiter.allow(b, t0), "another address has its own bucket");
        assert!(!limiter.allow(a, t0 + Duration::from_secs(9)), "6 a minute: one every 10 s");
        assert!(limiter.allow(a, t0 + Duration::from_secs(11)));
        assert!(!limiter.allow(a, t0 + Duration::from_secs(12)));
        let later = t0 + Duration::from_secs(3600);
        assert!((0..3).all(|_| limiter.allow(a, later)), "refills up to the burst only");
        assert!(!limiter.allow(a, later));
    }
}
