//! Who a counter calls next.
//!
//! Waiting visitors sit in *lanes*: one per (service, priority class), plus one per
//! (counter, class) for visitors transferred to a named counter. Each lane is ordered by ranking
//! time (arrival, or appointment slot) and then visit id, so a lane is FIFO and its head is its
//! best candidate. "Next" at a counter compares only the heads of the lanes it may call, which
//! keeps a call cheap however long the queue is.
//!
//! The score of a candidate at a counter is
//! `(now - ranking time) + head start of its class - preference step × rank of its service`;
//! the highest score wins, ties go to the earlier ranking time, then the lower visit id.
use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Utc};
use dawr_protocol::api::Priority;

use super::branch::{Branch, RoutingPolicy};
use super::visit::VisitId;

/// The priority classes, in the order lanes are visited.
pub const CLASSES: [Priority; 3] = [Priority::Normal, Priority::Assisted, Priority::Appointment];

/// A waiting line inside the branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Lane {
    /// Visitors of a service (by index in [`Branch::services`]) in one priority class.
    Service { service: usize, class: Priority },
    /// Visitors transferred to one counter (by index in [`Branch::counters`]).
    Counter { counter: usize, class: Priority },
}

impl Lane {
    pub fn class(self) -> Priority {
        match self {
            Lane::Service { class, .. } | Lane::Counter { class, .. } => class,
        }
    }
}

/// A visitor's place in a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LaneKey {
    /// Ranking time in milliseconds since the Unix epoch.
    pub ranking_ms: i64,
    pub visit: VisitId,
}

/// All lanes of a branch.
#[derive(Debug, Clone, Default)]
pub struct Lanes {
    lanes: HashMap<Lane, BTreeSet<LaneKey>>,
}

/// A candidate for a call, with its score at one counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub lane: Lane,
    pub key: LaneKey,
    pub score_ms: i64,
}

impl Candidate {
    /// Orders candidates best first: higher score, then earlier ranking time, then lower id.
    pub fn best_first(a: &Candidate, b: &Candidate) -> Ordering {
        b.score_ms.cmp(&a.score_ms).then(a.key.ranking_ms.cmp(&b.key.ranking_ms)).then(a.key.visit.cmp(&b.key.visit))
    }
}

impl Lanes {
    pub fn insert(&mut self, lane: Lane, key: LaneKey) {
        self.lanes.entry(lane).or_default().insert(key);
    }

    pub fn remove(&mut self, lane: Lane, key: LaneKey) -> bool {
        self.lanes.get_mut(&lane).is_some_and(|l| l.remove(&key))
    }

    pub fn len(&self, lane: Lane) -> usize {
        self.lanes.get(&lane).map_or(0, BTreeSet::len)
    }

    pub fn lane(&self, lane: Lane) -> impl Iterator<Item = &LaneKey> {
        self.lanes.get(&lane).into_iter().flatten()
    }

    /// How many keys in `lane` rank strictly before `ranking_ms` (any visit id).
    pub fn count_before(&self, lane: Lane, ranking_ms: i64) -> usize {
        self.rank(lane, LaneKey { ranking_ms, visit: 0 })
    }

    /// How many keys in `lane` are smaller than `key`: a visitor's place in line.
    ///
    /// Counts from both ends at once, so it costs the distance to the nearer end: a new ticket
    /// (at the back) or one about to be called (at the front) is cheap however long the line.
    pub fn rank(&self, lane: Lane, key: LaneKey) -> usize {
        let Some(set) = self.lanes.get(&lane) else { return 0 };
        let (mut before, mut from) = (set.range(..key), set.range(key..));
        let mut counted = 0;
        loop {
            if before.next().is_none() {
                return counted;
            }
            if from.next().is_none() {
                return set.len() - counted;
            }
            counted += 1;
        }
    }

    /// The lanes counter `counter` may call from, with the preference rank of each. `skills`
    /// are the services of the staff member signed in there (`None`: no limit): a service lane
    /// is the counter's only if both the counter and the staff member have the service. (A
    /// lane of visitors transferred to the counter holds any service; callers check those
    /// visitors' services themselves.)
    pub fn lanes_for_counter<'a>(
        branch: &'a Branch,
        counter: usize,
        skills: Option<&'a [String]>,
    ) -> impl Iterator<Item = (Lane, usize)> + 'a {
        let services = branch.counters[counter].services.iter().enumerate();
        let skilled = services.filter(move |(_, code)| skills.is_none_or(|k| k.contains(code)));
        let by_service =
            skilled.filter_map(move |(rank, code)| branch.service_index(code).map(|service| (service, rank)));
        let service_lanes = by_service
            .flat_map(|(service, rank)| CLASSES.into_iter().map(move |class| (Lane::Service { service, class }, rank)));
        let counter_lanes = CLASSES.into_iter().map(move |class| (Lane::Counter { counter, class }, 0));
        counter_lanes.chain(service_lanes)
    }

    /// The visitor counter `counter` should call now, if anyone is waiting for it.
    pub fn best_for_counter(&self, branch: &Branch, counter: usize, now: DateTime<Utc>) -> Option<Candidate> {
        self.best_callable(branch, counter, None, now, |_| true).0
    }

    /// The visitor counter `counter` should call now among those `callable` allows, and the
    /// visitors passed over for it: those at the head of a lane, before its first callable key,
    /// who would have been called ahead of the one chosen (best first).
    ///
    /// Only the keys before each lane's first callable one are looked at, so the cost grows with
    /// the number of visitors passed over, not with the length of the line.
    pub fn best_callable(
        &self,
        branch: &Branch,
        counter: usize,
        skills: Option<&[String]>,
        now: DateTime<Utc>,
        callable: impl Fn(VisitId) -> bool,
    ) -> (Option<Candidate>, Vec<Candidate>) {
        let mut best: Option<Candidate> = None;
        let mut passed = Vec::new();
        for (lane, rank) in Self::lanes_for_counter(branch, counter, skills) {
            let Some(keys) = self.lanes.get(&lane) else { continue };
            for key in keys {
                let candidate =
                    Candidate { lane, key: *key, score_ms: score_ms(&branch.routing, lane, *key, rank, now) };
                if !callable(key.visit) {
                    passed.push(candidate);
                    continue;
                }
                if best.is_none_or(|b| Candidate::best_first(&candidate, &b) == Ordering::Less) {
                    best = Some(candidate);
                }
                break;
            }
        }
        passed.retain(|p| best.is_none_or(|b| Candidate::best_first(p, &b) == Ordering::Less));
        passed.sort_by(Candidate::best_first);
        (best, passed)
    }

    /// Everyone counter `counter` may call, best first (what the counter app lists).
    pub fn ordered_for_counter(
        &self,
        branch: &Branch,
        counter: usize,
        skills: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Vec<Candidate> {
        let mut all: Vec<Candidate> = Self::lanes_for_counter(branch, counter, skills)
            .flat_map(|(lane, rank)| {
                self.lane(lane).map(move |key| Candidate {
                    lane,
                    key: *key,
                    score_ms: score_ms(&branch.routing, lane, *key, rank, now),
                })
            })
            .collect();
        all.sort_by(Candidate::best_first);
        all
    }

    /// Number of visitors waiting in lanes `counter` may call.
    pub fn waiting_for_counter(&self, branch: &Branch, counter: usize, skills: Option<&[String]>) -> usize {
        Self::lanes_for_counter(branch, counter, skills).map(|(lane, _)| self.len(lane)).sum()
    }
}

/// The head start a key in `lane` has at `now`, in milliseconds.
pub fn head_start_ms(policy: &RoutingPolicy, lane: Lane, key: LaneKey, now: DateTime<Utc>) -> i64 {
    let class = match lane.class() {
        Priority::Normal => 0,
        Priority::Assisted => policy.assisted_head_start_s,
        Priority::Appointment => {
            let near_slot = now.timestamp_millis() >= key.ranking_ms - policy.appointment_early_s * 1000;
            if near_slot { policy.appointment_head_start_s } else { 0 }
        }
    };
    let transfer = match lane {
        Lane::Counter { .. } => policy.transfer_head_start_s,
        Lane::Service { .. } => 0,
    };
    class.max(transfer) * 1000
}

/// A candidate's score at a counter where its service has preference `rank` (0 = first).
pub fn score_ms(policy: &RoutingPolicy, lane: Lane, key: LaneKey, rank: usize, now: DateTime<Utc>) -> i64 {
    let waited = now.timestamp_millis() - key.ranking_ms;
    waited + head_start_ms(policy, lane, key, now) - policy.preference_step_s * 1000 * rank as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rank_counts_the_keys_before_from_either_end() {
        let lane = Lane::Service { service: 0, class: Priority::Normal };
        let mut lanes = Lanes::default();
        let key = |i: i64| LaneKey { ranking_ms: i * 10, visit: i as u64 };
        for i in 1..=9 {
            lanes.insert(lane, key(i));
        }
        for i in 1..=9 {
            assert_eq!(lanes.rank(lane, key(i)), (i - 1) as usize);
        }
        assert_eq!(lanes.count_before(lane, 0), 0);
        assert_eq!(lanes.count_before(lane, 55), 5);
        assert_eq!(lanes.count_before(lane, 1000), 9);
        let other = Lane::Counter { counter: 0, class: Priority::Normal };
        assert_eq!(lanes.rank(other, key(3)), 0);
    }
}
