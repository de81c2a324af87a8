//! How long the writer's transactions take, from `BEGIN` to a durable `COMMIT` (the fsyncs of
//! `synchronous=FULL` included): a histogram the writer thread adds to and `/metrics` reads
//! (`dawr_store_commit_seconds`). Lock-free: one atomic counter per bucket, so measuring costs
//! the writer nothing it would wait for.
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The buckets' upper bounds in seconds: from a write cache's half millisecond to a slow SD
/// card's second (the `+Inf` bucket is the count).
pub const BOUNDS: [f64; 11] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0];

/// The histogram, shared by the writer (which observes) and `/metrics` (which reads).
#[derive(Debug, Default)]
pub struct CommitLatency {
    /// Transactions per bucket, not cumulative: `in_bucket[i]` took at most `BOUNDS[i]` and more
    /// than the bound before; the last holds those over a second.
    in_bucket: [AtomicU64; BOUNDS.len() + 1],
    /// The sum of every observed duration, in nanoseconds.
    sum_nanos: AtomicU64,
}

/// The histogram as Prometheus reads it: cumulative counts per bound, the sum and the count.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// (upper bound in seconds, transactions that took at most that long), in `BOUNDS`' order.
    pub buckets: Vec<(f64, u64)>,
    pub sum_seconds: f64,
    pub count: u64,
}

impl CommitLatency {
    /// Records one transaction's duration.
    pub fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        let bucket = BOUNDS.iter().position(|bound| seconds <= *bound).unwrap_or(BOUNDS.len());
        self.in_bucket[bucket].fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The figures now (each bucket read once; a transaction observed meanwhile may be in some
    /// and not yet in others, which the next scrape corrects).
    pub fn snapshot(&self) -> Snapshot {
        let counts: Vec<u64> = self.in_bucket.iter().map(|c| c.load(Ordering::Relaxed)).collect();
        let cumulative: Vec<u64> = counts
            .iter()
            .scan(0u64, |total, n| {
                *total += n;
                Some(*total)
            })
            .collect();
        Snapshot {
            buckets: BOUNDS.iter().copied().zip(cumulative.iter().copied()).collect(),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
            count: cumulative.last().copied().unwrap_or(0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_fall_in_cumulative_buckets_with_their_sum_and_count() {
        let latency = CommitLatency::default();
        for ms in [0.2, 0.5, 3.0, 40.0, 40.0, 2000.0] {
            latency.observe(Duration::from_secs_f64(ms / 1000.0));
        }
        let snapshot = latency.snapshot();
        let counts: Vec<u64> = snapshot.buckets.iter().map(|(_, n)| *n).collect();
        // ≤0.5 ms: 2; ≤5 ms: 3; ≤50 ms: 5; over a second: only in the count.
        assert_eq!(counts, [2, 2, 2, 3, 3, 3, 5, 5, 5, 5, 5]);
        assert_eq!(snapshot.count, 6);
        assert!((snapshot.sum_seconds - 2.0837).abs() < 1e-6, "{}", snapshot.sum_seconds);
        assert_eq!(snapshot.buckets.iter().map(|(b, _)| *b).collect::<Vec<_>>(), BOUNDS);
    }
}
