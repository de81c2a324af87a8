//! The midnight rush: what keeps a replica answering when thousands book at once. Availability
//! (places taken per service and day) is served from a cache at most [`AVAILABILITY_MAX_AGE`]
//! old, so listing slots does not cost a query per request; this replica's own writes drop the
//! entry they change. (The cap on concurrent booking writes is a semaphore in
//! [`crate::service::Core`]; rate limits are [`crate::ratelimit`].)
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};

/// How old a cached availability may be.
pub const AVAILABILITY_MAX_AGE: Duration = Duration::from_secs(1);
/// Above this many entries, expired ones are dropped.
const PRUNE_ABOVE: usize = 4_096;

/// A service's day: `(branch, service, local day)`.
pub type DayKey = (String, String, NaiveDate);
/// Places taken per slot start.
pub type Taken = Arc<HashMap<DateTime<Utc>, u32>>;

/// Places taken per service and day, each entry kept for at most `max_age`.
#[derive(Debug)]
pub struct AvailabilityCache {
    max_age: Duration,
    entries: Mutex<HashMap<DayKey, (Instant, Taken)>>,
}

impl AvailabilityCache {
    pub fn new(max_age: Duration) -> Self {
        AvailabilityCache { max_age, entries: Mutex::new(HashMap::new()) }
    }

    /// The entry of `key` if it was put less than `max_age` before `now`.
    pub fn get(&self, key: &DayKey, now: Instant) -> Option<Taken> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let (at, taken) = entries.get(key)?;
        (now.saturating_duration_since(*at) < self.max_age).then(|| taken.clone())
    }

    /// Keeps `taken` for `key` as read at `now`.
    pub fn put(&self, key: DayKey, taken: Taken, now: Instant) {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, (at, _)| now.saturating_duration_since(*at) < self.max_age);
        }
        entries.insert(key, (now, taken));
    }

    /// Drops `key`'s entry (this replica changed it).
    pub fn forget(&self, key: &DayKey) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }

    /// Drops every entry (places went back across days: expired holds).
    pub fn clear(&self) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_served_for_less_than_its_age_and_dropped_by_a_write() {
        let cache = AvailabilityCache::new(AVAILABILITY_MAX_AGE);
        let key: DayKey = ("demo".into(), "A".into(), "2026-11-23".parse().unwrap());
        let t0 = Instant::now();
        assert!(cache.get(&key, t0).is_none());
        let taken: Taken = Arc::new(HashMap::from([("2026-11-23T05:00:00Z".parse().unwrap(), 2)]));
        cache.put(key.clone(), taken.clone(), t0);
        assert_eq!(cache.get(&key, t0 + Duration::from_millis(999)), Some(taken.clone()));
        assert_eq!(cache.get(&key, t0 + Duration::from_secs(1)), None, "a second old is too old");
        cache.put(key.clone(), taken, t0);
        cache.forget(&key);
        assert_eq!(cache.get(&key, t0), None);
    }
}
