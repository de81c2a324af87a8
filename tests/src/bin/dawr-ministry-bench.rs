//! Measures the centre's ingest: N simulated branches (50 by default) publish events into NATS
//! JetStream the way the hub's uplink does (one connection each, `Nats-Msg-Id`, at most 64
//! waiting for their acknowledgement), the real `dawr-central` writer stores them in PostgreSQL,
//! all on loopback. It prints events/s, the lag from publish to the stored row, the writer's
//! batch sizes and its memory, and checks that every event is stored exactly once.
//!
//! ```text
//! cargo build --release -p dawr-e2e --bins && target/release/dawr-ministry-bench \
//!     [--branches 50] [--seconds 30] [--rate 0.75] [--backlog 500]
//! ```
//!
//! Two phases: a steady day (`--rate` events/s per branch for `--seconds`; 0.75/s is the
//! design's peak, 150 events/s over 200 branches) and a reconnect storm (every branch sends a
//! `--backlog` of events at once, as after an outage): the sustained rate is measured there.
//! The lag is `received_at - at` of each row: `at` is the publish time, `received_at` the
//! start of the writer's transaction (so the commit itself is not in it), on one clock.
//! PostgreSQL runs with `fsync=off` (the test harness's), so the figures are the CPU's and
//! the pipeline's, not a disk's.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use async_nats::jetstream::{self, context::PublishAckFuture};
use dawr_e2e::ministry::{Central, Nats, Postgres};
use dawr_protocol::api::ministry::UplinkEvent;
use tokio_postgres::NoTls;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).context("a value after the flag")?.parse().ok().context("a number"),
        None => Ok(default),
    }
}

/// One simulated branch's uplink: its connection and where its log is.
struct Branch {
    id: String,
    log_id: String,
    js: jetstream::Context,
    next_seq: i64,
}

/// The body of a synthetic event: what the writer stores, shaped like a hub's.
#[derive(serde::Serialize)]
struct SyntheticPayload {
    kind: &'static str,
    visit: i64,
    counter: &'static str,
    staff: &'static str,
}

impl Branch {
    async fn connect(nats: &str, i: usize) -> Result<Branch> {
        let id = format!("s{i:04}");
        let client = async_nats::ConnectOptions::new().name(format!("bench-{id}")).connect(nats).await?;
        Ok(Branch { log_id: format!("bench-log-{id}"), id, js: jetstream::new(client), next_seq: 1 })
    }

    /// Publishes the next event of the log (its time is now); returns its acknowledgement.
    async fn publish(&mut self) -> Result<PublishAckFuture> {
        let seq = self.next_seq;
        self.next_seq += 1;
        let kind = ["issued", "called", "started", "completed"][(seq % 4) as usize];
        let event = UplinkEvent {
            branch: self.id.clone(),
            log_id: self.log_id.clone(),
            seq,
            at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            kind: kind.into(),
            visit_id: Some(seq / 4 + 1),
            counter: Some("1".into()),
            payload: serde_json::to_value(SyntheticPayload { kind, visit: seq / 4 + 1, counter: "1", staff: "s101" })?,
        };
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", format!("{}:{}:{seq}", self.id, self.log_id).as_str());
        let body = serde_json::to_vec(&event)?;
        Ok(self.js.publish_with_headers(format!("dawr.v1.evt.{}", self.id), headers, body.into()).await?)
    }
}

/// Sends `count` events as fast as 64 in flight allow (the uplink's catch-up after an outage).
async fn backlog(mut branch: Branch, count: usize) -> Result<Branch> {
    let mut waiting = std::collections::VecDeque::new();
    for _ in 0..count {
        if waiting.len() >= 64 {
            let ack: PublishAckFuture = waiting.pop_front().context("one waits")?;
            ack.await?;
        }
        waiting.push_back(branch.publish().await?);
    }
    for ack in waiting {
        ack.await?;
    }
    Ok(branch)
}

/// Sends at `rate` events/s for `seconds` (each acknowledged before the next: at this rate
/// the pipe is never full).
async fn steady(mut branch: Branch, rate: f64, seconds: f64, offset: f64) -> Result<Branch> {
    let start = tokio::time::Instant::now() + Duration::from_secs_f64(offset / rate);
    let count = (rate * seconds).round() as u64;
    for n in 0..count {
        tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 / rate)).await;
        branch.publish().await?.await?;
    }
    Ok(branch)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The writer's resident memory now and at its peak, in MiB (`/proc/PID/status`).
fn memory(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(f64::NAN, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// What the store says about the events received since `since`: their count, the lags
/// (seconds, sorted) and the sizes of the batches they came in (rows per writer transaction).
struct Stored {
    count: usize,
    lags: Vec<f64>,
    batches: Vec<f64>,
    first: f64,
    last: f64,
}

async fn stored(pg: &tokio_postgres::Client, since: f64) -> Result<Stored> {
    let rows = pg
        .query(
            "SELECT extract(epoch FROM received_at - at)::float8, extract(epoch FROM received_at)::float8
             FROM events WHERE at >= to_timestamp($1)",
            &[&since],
        )
        .await?;
    let mut lags: Vec<f64> = rows.iter().map(|r| r.get(0)).collect();
    lags.sort_by(f64::total_cmp);
    let received: Vec<f64> = rows.iter().map(|r| r.get(1)).collect();
    let batches = pg
        .query(
            "SELECT count(*)::float8 FROM events WHERE at >= to_timestamp($1) GROUP BY received_at ORDER BY 1",
            &[&since],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    Ok(Stored {
        count: rows.len(),
        lags,
        batches,
        first: received.iter().copied().fold(f64::INFINITY, f64::min),
        last: received.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    })
}

/// Waits until `expected` events since `since` are stored (up to `within`).
async fn wait_stored(pg: &tokio_postgres::Client, since: f64, expected: usize, within: Duration) -> Result<Stored> {
    let deadline = Instant::now() + within;
    loop {
        let count: i64 =
            pg.query_one("SELECT count(*) FROM events WHERE at >= to_timestamp($1)", &[&since]).await?.get(0);
        if count as usize >= expected || Instant::now() > deadline {
            return stored(pg, since).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_phase(name: &str, s: &Stored, expected: usize, elapsed: f64) {
    let mean = s.batches.iter().sum::<f64>() / s.batches.len().max(1) as f64;
    println!(
        "{name}: {} of {expected} events stored in {elapsed:.1} s ({:.0} events/s); lag p50 {:.0} ms, p99 {:.0} ms, \
         max {:.0} ms; {} writer batches: mean {mean:.1}, p50 {:.0}, p99 {:.0}, max {:.0} rows",
        s.count,
        s.count as f64 / elapsed,
        percentile(&s.lags, 0.5) * 1000.0,
        percentile(&s.lags, 0.99) * 1000.0,
        s.lags.last().copied().unwrap_or(f64::NAN) * 1000.0,
        s.batches.len(),
        percentile(&s.batches, 0.5),
        percentile(&s.batches, 0.99),
        s.batches.last().copied().unwrap_or(f64::NAN),
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let branches: usize = arg("--branches", 50)?;
    let seconds: f64 = arg("--seconds", 30.0)?;
    let rate: f64 = arg("--rate", 0.75)?;
    let per_branch: usize = arg("--backlog", 500)?;
    ensure!(branches > 0 && seconds >= 0.0 && rate > 0.0, "--branches, --seconds and --rate must be positive");
    let nats = Nats::start()?;
    let postgres = Postgres::start()?;
    let central = Central::start(&nats.url(), &postgres.url())?;
    let pid = central.pid().context("the writer runs")?;
    let (pg, connection) = tokio_postgres::connect(&postgres.url(), NoTls).await?;
    tokio::spawn(connection);
    let mut sims = Vec::new();
    for i in 0..branches {
        sims.push(Branch::connect(&nats.url(), i).await?);
    }
    println!(
        "{branches} branches, steady {rate} events/s each for {seconds} s, then a backlog of {per_branch} each; \
         writer rss at start {:.1} MiB",
        memory(pid).0
    );

    // A steady day, the branches spread over the interval.
    let since = chrono::Utc::now().timestamp_millis() as f64 / 1000.0 - 0.001;
    let started = Instant::now();
    let tasks: Vec<_> = sims
        .into_iter()
        .enumerate()
        .map(|(i, b)| tokio::spawn(steady(b, rate, seconds, i as f64 / branches as f64)))
        .collect();
    let mut sims = Vec::new();
    for task in tasks {
        sims.push(task.await??);
    }
    let expected = branches * (rate * seconds).round() as usize;
    let day = wait_stored(&pg, since, expected, Duration::from_secs(60)).await?;
    print_phase("steady", &day, expected, started.elapsed().as_secs_f64());
    let steady_rss = memory(pid);

    // Every branch's backlog at once.
    let since = chrono::Utc::now().timestamp_millis() as f64 / 1000.0 - 0.001;
    let started = Instant::now();
    let tasks: Vec<_> = sims.into_iter().map(|b| tokio::spawn(backlog(b, per_branch))).collect();
    for task in tasks {
        task.await??;
    }
    let published = started.elapsed().as_secs_f64();
    let expected = branches * per_branch;
    let storm = wait_stored(&pg, since, expected, Duration::from_secs(600)).await?;
    let drained = started.elapsed().as_secs_f64();
    print_phase("backlog", &storm, expected, drained);
    println!(
        "backlog: published (acknowledged by JetStream) in {published:.1} s, drained into PostgreSQL in {drained:.1} s; \
         writer busy {:.1} s from first to last batch",
        storm.last - storm.first
    );
    let (rss, peak) = memory(pid);
    println!("writer memory: rss {rss:.1} MiB now, {:.1} MiB after the steady phase, peak {peak:.1} MiB", steady_rss.0);

    // Exactly once: per branch, as many rows as events and no gap.
    let rows = pg.query("SELECT branch, count(*), max(seq) FROM events GROUP BY branch", &[]).await?;
    let each = ((rate * seconds).round() as usize + per_branch) as i64;
    let wrong: Vec<String> = rows
        .iter()
        .filter(|r| r.get::<_, i64>(1) != each || r.get::<_, i64>(2) != each)
        .map(|r| format!("{}: {} rows, max seq {}", r.get::<_, String>(0), r.get::<_, i64>(1), r.get::<_, i64>(2)))
        .collect();
    let lost = branches as i64 * each - rows.iter().map(|r| r.get::<_, i64>(1)).sum::<i64>();
    println!("exactly once: {} branches, {lost} events lost, {} branches wrong", rows.len(), wrong.len());
    ensure!(rows.len() == branches && wrong.is_empty(), "not every event once: {wrong:?}");
    Ok(())
}
