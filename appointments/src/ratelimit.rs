//! A token bucket per client, in memory: how often one client may book, look up or sign in.
//!
//! A client is an IPv4 address or an IPv6 /64 (one subscriber's network: a host picks any of
//! its 2^64 addresses at will, so counting single IPv6 addresses would count nothing). Each
//! starts with `burst` tokens and earns `per_minute` a minute back up to `burst`; a request
//! spends one or is refused. Behind a load balancer the client's address is taken from
//! `X-Forwarded-For` only when the peer is in a trusted proxy range ([`Cidr`]). The clock is
//! passed in, so the rule is tested without waiting. Forgotten buckets (full again) are dropped
//! when the table grows large.
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

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
    buckets: Mutex<Buckets>,
}

#[derive(Debug, Default)]
struct Buckets {
    by_client: HashMap<IpAddr, Bucket>,
    /// When full buckets were last dropped (at most once a second: a midnight of many clients
    /// must not walk the table on every request).
    pruned: Option<Instant>,
}

impl RateLimiter {
    pub fn new(limits: Limits) -> Self {
        RateLimiter { limits, buckets: Mutex::new(Buckets::default()) }
    }

    fn refill(&self, bucket: Bucket, now: Instant) -> f64 {
        let earned = now.saturating_duration_since(bucket.at).as_secs_f64() * f64::from(self.limits.per_minute) / 60.0;
        (bucket.tokens + earned).min(f64::from(self.limits.burst))
    }

    /// Seconds in which a spent client earns a token back (at most: the `Retry-After` of a
    /// refusal).
    pub fn refill_seconds(&self) -> u64 {
        60_u64.div_ceil(u64::from(self.limits.per_minute.max(1)))
    }

    /// Spends a token of the client at `addr` (its /64 for IPv6) at `now`; false when it has
    /// none left.
    pub fn allow(&self, addr: IpAddr, now: Instant) -> bool {
        let addr = client_key(addr);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let due = buckets.pruned.is_none_or(|at| now.saturating_duration_since(at) >= Duration::from_secs(1));
        if buckets.by_client.len() > PRUNE_ABOVE && due {
            let burst = f64::from(self.limits.burst);
            buckets.by_client.retain(|_, b| self.refill(*b, now) < burst);
            buckets.pruned = Some(now);
        }
        let bucket = buckets.by_client.entry(addr).or_insert(Bucket { tokens: f64::from(self.limits.burst), at: now });
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

/// What a client is counted by: an IPv4 address (an IPv4-mapped IPv6 one as IPv4), or the
/// /64 of an IPv6 address.
pub fn client_key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(Ipv6Addr::from(v6.to_bits() & !u128::from(u64::MAX))),
        },
    }
}

/// An address range (`10.0.0.0/8`, `fd00::/8`, or one address).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Whether `addr` is in the range.
    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        match (self.network, addr) {
            (IpAddr::V4(net), IpAddr::V4(a)) => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix)).unwrap_or(0);
                net.to_bits() & mask == a.to_bits() & mask
            }
            (IpAddr::V6(net), IpAddr::V6(a)) => {
                let mask = u128::MAX.checked_shl(128 - u32::from(self.prefix)).unwrap_or(0);
                net.to_bits() & mask == a.to_bits() & mask
            }
            _ => false,
        }
    }
}

impl std::str::FromStr for Cidr {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bad = || format!("{text:?} is not an address range like 10.0.0.0/8 or fd00::/8");
        let (addr, prefix) = text.trim().split_once('/').unwrap_or((text.trim(), ""));
        let network: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = if prefix.is_empty() { max } else { prefix.parse().map_err(|_| bad())? };
        if prefix > max {
            return Err(bad());
        }
        Ok(Cidr { network, prefix })
    }
}

impl TryFrom<String> for Cidr {
    type Error = String;

    fn try_from(text: String) -> Result<Self, String> {
        text.parse()
    }
}

/// The client's address: the peer's; or, when the peer is a trusted proxy, the nearest address
/// in `X-Forwarded-For` that is not a trusted proxy (the one the outermost trusted proxy saw;
/// anything before it is the client's word and may be forged).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[Cidr]) -> IpAddr {
    let is_trusted = |addr: IpAddr| trusted.iter().any(|range| range.contains(addr));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(header) = forwarded_for else { return peer };
    for hop in header.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(addr) if is_trusted(addr) => continue,
            Ok(addr) => return addr,
            Err(_) => return peer,
        }
    }
    peer
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_forwarded_address_counts_only_from_a_trusted_proxy() {
        let trusted: Vec<Cidr> = ["10.0.0.0/8", "fd00::/8"].iter().map(|t| t.parse().unwrap()).collect();
        let proxy = ip("10.0.0.2");
        let header = Some("203.0.113.9, 198.51.100.7");
        assert_eq!(client_ip(proxy, header, &[]), proxy, "no proxy trusted");
        assert_eq!(client_ip(ip("192.0.2.50"), header, &trusted), ip("192.0.2.50"), "a forged header ignored");
        assert_eq!(client_ip(proxy, header, &trusted), ip("198.51.100.7"));
        assert_eq!(client_ip(proxy, Some("198.51.100.7, 10.1.2.3"), &trusted), ip("198.51.100.7"), "two proxies");
        assert_eq!(client_ip(ip("fd00::1"), Some("2001:db8::9"), &trusted), ip("2001:db8::9"));
        assert_eq!(client_ip(proxy, Some("garbage"), &trusted), proxy);
        assert_eq!(client_ip(proxy, None, &trusted), proxy);
    }

    #[test]
    fn ranges_parse_and_match_by_prefix() {
        let range: Cidr = "10.1.0.0/16".parse().unwrap();
        assert!(range.contains(ip("10.1.200.3")) && !range.contains(ip("10.2.0.1")));
        assert!(range.contains(ip("::ffff:10.1.0.9")), "an IPv4-mapped address");
        let one: Cidr = "192.0.2.7".parse().unwrap();
        assert!(one.contains(ip("192.0.2.7")) && !one.contains(ip("192.0.2.8")));
        assert!("0.0.0.0/0".parse::<Cidr>().unwrap().contains(ip("8.8.8.8")));
        assert!("2001:db8::/32".parse::<Cidr>().unwrap().contains(ip("2001:db8:ffff::1")));
        assert!("10.0.0.0/33".parse::<Cidr>().is_err() && "ten".parse::<Cidr>().is_err());
    }

    #[test]
    fn an_ipv6_client_is_its_64() {
        let limiter = RateLimiter::new(Limits { burst: 2, per_minute: 1, ..Limits::default() });
        let t0 = Instant::now();
        assert!(limiter.allow(ip("2001:db8:1:2::1"), t0));
        assert!(limiter.allow(ip("2001:db8:1:2:ffff::9"), t0), "another address of the same /64");
        assert!(!limiter.allow(ip("2001:db8:1:2:abcd::"), t0), "the /64's burst is spent");
        assert!(limiter.allow(ip("2001:db8:1:3::1"), t0), "the next /64 is another client");
        assert_eq!(client_key(ip("::ffff:192.0.2.1")), ip("192.0.2.1"));
    }

    #[test]
    fn an_address_gets_its_burst_then_its_rate_and_others_are_not_affected() {
        let limiter = RateLimiter::new(Limits { burst: 3, per_minute: 6, ..Limits::default() });
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
        assert_eq!(limiter.refill_seconds(), 10, "a refused client is told when to come back");
        assert_eq!(RateLimiter::new(Limits { per_minute: 7, ..Limits::default() }).refill_seconds(), 9, "rounded up");
    }
}
