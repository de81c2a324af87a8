//! Measures the appointments site's booking flow.
//!
//! ```text
//! cargo build --release -p dawr-e2e --bin dawr-appointments-bench --bin dawr-e2e-appointments
//! target/release/dawr-appointments-bench [--seconds N] [--clients N]
//! target/release/dawr-appointments-bench --postgres [--seconds 120] [--clients 500]
//! ```
//!
//! The site it starts is the `dawr-e2e-appointments` beside the bench binary (release beside
//! release, debug beside debug), or `DAWR_APPOINTMENTS_BIN` (e.g. `target/release/dawr-appointments`).
//!
//! Without `--postgres`: one site (the release `dawr-e2e-appointments` beside this binary) with
//! its SQLite database on disk (`synchronous=FULL`); each client books back to back: list the
//! slots of a day, then book a free one for a new citizen. Server latency p50/p99 of both, and
//! durable bookings per second.
//!
//! With `--postgres`, the midnight burst: a throw-away PostgreSQL, as durable as a deployment's
//! (fsync and `synchronous_commit` on: a booking answered 201 is on disk), and three site replicas on it
//! (the clients spread over them as a load balancer would), beside one SQLite site, in the same
//! run. Each engine gets two phases of `--seconds` each with `--clients` clients booking back to
//! back: all for one hot slot (first, while it is empty), then across every slot of the horizon. Per phase: bookings per
//! second, p50/p99 of a booking request, the share of 503 (the write cap) and 429 (rate limits),
//! then the database's audit: slots over capacity and ID numbers with two active bookings (both
//! must be zero). Every client comes from its own forwarded address (the sites trust 127.0.0.1
//! as their proxy), so the rate limits are in the path without refusing anyone. The load generator shares the machine's cores with the sites.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dawr_e2e::appointments::{Site, audit_postgres, audit_sqlite, example_booking, site_binary, test_site};
use serde_json::Value;

fn percentile(samples: &mut [Duration], q: f64) -> Duration {
    samples.sort();
    samples.get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn arg(name: &str, default: f64) -> Result<f64> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).context("a value after the flag")?.parse().context("a number"),
        None => Ok(default),
    }
}

fn flag(name: &str) -> bool {
    std::env::args().any(|a| a == name)
}

#[tokio::main]
async fn main() -> Result<()> {
    if !site_binary().exists() {
        bail!("{} is missing: cargo build --release -p dawr-e2e --bins", site_binary().display());
    }
    if flag("--postgres") {
        return burst(arg("--seconds", 120.0)?, arg("--clients", 500.0)? as usize).await;
    }
    flow(arg("--seconds", 5.0)?, arg("--clients", 8.0)? as usize).await
}

/// The booking flow on one SQLite site: list, then book.
async fn flow(seconds: f64, clients: usize) -> Result<()> {
    let site = Site::start(Some(&test_site(1_000_000, 1_000_000))).await?;
    let (first, _) = site.first_free_slot("E").await?;
    let date = first[..10].to_string();
    let client = dawr_e2e::http_client().pool_max_idle_per_host(clients).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let citizen = Arc::new(AtomicU32::new(1));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..clients {
        let (client, stop, citizen, date) = (client.clone(), stop.clone(), citizen.clone(), date.clone());
        let slots_url = site.url(&format!("/api/v1/branches/demo/services/E/slots?date={date}"));
        let book_url = site.url("/api/v1/bookings");
        workers.push(tokio::spawn(async move {
            let (mut list, mut book) = (Vec::new(), Vec::new());
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let slots: Value = client.get(&slots_url).send().await?.json().await?;
                list.push(t.elapsed());
                let free: Vec<&Value> = slots["slots"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|s| s["available"].as_u64() > Some(0))
                    .collect();
                let Some(slot) = free.get(book.len() % free.len().max(1)) else { bail!("no free slot: {slots}") };
                let n = citizen.fetch_add(1, Ordering::Relaxed);
                let body = example_booking(slot["start"].as_str().unwrap_or_default(), "E", n);
                let t = Instant::now();
                let resp = client.post(&book_url).json(&body).send().await?;
                let status = resp.status();
                resp.bytes().await?;
                if status != 201 {
                    bail!("booking refused: {status}");
                }
                book.push(t.elapsed());
            }
            anyhow::Ok((list, book))
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let (mut list, mut book) = (Vec::new(), Vec::new());
    for w in workers {
        let (l, b) = w.await??;
        list.extend(l);
        book.extend(b);
    }
    let elapsed = started.elapsed();
    println!(
        "dawr-appointments booking flow: {clients} clients for {:.1} s, on loopback, SQLite synchronous=FULL",
        elapsed.as_secs_f64()
    );
    println!(
        "  list a day's slots:  p50 {:6.2} ms   p99 {:6.2} ms   ({} requests)",
        ms(percentile(&mut list, 0.5)),
        ms(percentile(&mut list, 0.99)),
        list.len()
    );
    println!(
        "  book a slot (201):   p50 {:6.2} ms   p99 {:6.2} ms   ({} bookings)",
        ms(percentile(&mut book, 0.5)),
        ms(percentile(&mut book, 0.99)),
        book.len()
    );
    println!("  durable bookings/s:  {:.0}", book.len() as f64 / elapsed.as_secs_f64());
    Ok(())
}

/// Places per slot of service E in the burst: room for two minutes of bookings across the
/// horizon's slots; the hot slot fills in its first moments.
const BURST_CAPACITY: u32 = 100;

/// The burst's site file: all day, every day, service E with [`BURST_CAPACITY`] places, rate
/// limits per forwarded client (10 at once, then 10 a minute), 127.0.0.1 the trusted proxy.
fn burst_site() -> String {
    test_site(BURST_CAPACITY, 10).replacen(
        "per_minute = 10\n",
        "per_minute = 10\ntrusted_proxies = [\"127.0.0.1/32\"]\nbooking_writes = 64\n",
        1,
    )
}

/// What one phase saw.
#[derive(Default)]
struct Tally {
    created: Vec<Duration>,
    /// Every booking request's latency, whatever its answer.
    all: Vec<Duration>,
    full: usize,
    busy: usize,
    limited: usize,
    other: usize,
}

impl Tally {
    fn add(&mut self, other: Tally) {
        self.created.extend(other.created);
        self.all.extend(other.all);
        self.full += other.full;
        self.busy += other.busy;
        self.limited += other.limited;
        self.other += other.other;
    }
}

/// Every bookable slot start of service E from now to the horizon.
async fn horizon_slots(site: &Site) -> Result<Vec<String>> {
    let today = dawr_e2e::services_now().date_naive();
    let soon = dawr_e2e::services_now() + chrono::Duration::minutes(2);
    let mut starts = Vec::new();
    for d in 0..=30 {
        let date = today + chrono::Duration::days(d);
        let (_, slots) = site.get(&format!("/api/v1/branches/demo/services/E/slots?date={date}")).await?;
        for slot in slots["slots"].as_array().into_iter().flatten() {
            let start = slot["start"].as_str().unwrap_or_default();
            if chrono::DateTime::parse_from_rfc3339(start).is_ok_and(|t| t > soon) {
                starts.push(start.to_string());
            }
        }
    }
    Ok(starts)
}

/// `clients` clients book for `seconds` through `replicas` (client i through replica i mod n),
/// each request a new citizen into a random one of `starts`.
async fn phase(
    replicas: &[&Site],
    clients: usize,
    seconds: f64,
    starts: Arc<Vec<String>>,
    citizen: Arc<AtomicU32>,
) -> Result<(Tally, Duration)> {
    let http = dawr_e2e::http_client().pool_max_idle_per_host(clients).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::new();
    for i in 0..clients {
        let url = replicas[i % replicas.len()].url("/api/v1/bookings");
        let (http, stop, citizen, starts) = (http.clone(), stop.clone(), citizen.clone(), starts.clone());
        workers.push(tokio::spawn(async move {
            let mut tally = Tally::default();
            let mut k = i;
            while !stop.load(Ordering::Relaxed) {
                k = k.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let start = &starts[(k >> 33) % starts.len()];
                let n = citizen.fetch_add(1, Ordering::Relaxed);
                let body = example_booking(start, "E", n);
                // Each citizen from an address of their own (10.x.y.z), through the proxy.
                let forwarded = format!("10.{}.{}.{}", (n >> 16) & 255, (n >> 8) & 255, n & 255);
                let t = Instant::now();
                let resp = http.post(&url).header("x-forwarded-for", &forwarded).json(&body).send().await?;
                let status = resp.status().as_u16();
                resp.bytes().await?;
                let took = t.elapsed();
                tally.all.push(took);
                match status {
                    201 => tally.created.push(took),
                    409 => tally.full += 1,
                    503 => tally.busy += 1,
                    429 => tally.limited += 1,
                    _ => tally.other += 1,
                }
                if status == 503 || status == 429 {
                    // As a client told Retry-After would: not at once.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
            anyhow::Ok(tally)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut tally = Tally::default();
    for w in workers {
        tally.add(w.await??);
    }
    Ok((tally, started.elapsed()))
}

/// The machine's load averages (1, 5 and 15 minutes), as `/proc/loadavg` has them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

fn report(engine: &str, what: &str, mut tally: Tally, elapsed: Duration) {
    let total = tally.all.len().max(1) as f64;
    let share = |n: usize| 100.0 * n as f64 / total;
    println!(
        "  {engine:<22} {what:<12} {:>7.0} bookings/s  {:>7.0} requests/s  p50 {:>7.1} ms  p99 {:>7.1} ms  \
         409 {:>5.1} %  503 {:>5.1} %  429 {:>5.1} %  other {}",
        tally.created.len() as f64 / elapsed.as_secs_f64(),
        total / elapsed.as_secs_f64(),
        ms(percentile(&mut tally.all, 0.5)),
        ms(percentile(&mut tally.all, 0.99)),
        share(tally.full),
        share(tally.busy),
        share(tally.limited),
        tally.other,
    );
}

/// The midnight burst on PostgreSQL with three replicas, then on SQLite, in one run.
async fn burst(seconds: f64, clients: usize) -> Result<()> {
    println!(
        "dawr-appointments midnight burst: {clients} clients, {seconds:.0} s a phase, loopback, service E with \
         {BURST_CAPACITY} places a slot, booking_writes 64 a replica\n  site binary {}\n  PostgreSQL durable \
         (fsync, synchronous_commit on), SQLite synchronous=FULL; load average (1, 5, 15 min) at each phase's \
         start and end",
        site_binary().display()
    );
    let postgres = dawr_e2e::ministry::Postgres::start_durable()?;
    let url = postgres.url();
    let config = burst_site();
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Site::start_with(Some(&config), &["--postgres", &url]).await?);
    }
    let sqlite = Site::start(Some(&config)).await?;
    let citizen = Arc::new(AtomicU32::new(1));
    let engines: [(&str, Vec<&Site>); 2] =
        [("PostgreSQL, 3 replicas", replicas.iter().collect()), ("SQLite, 1 site", vec![&sqlite])];
    for (engine, sites) in engines {
        let starts = Arc::new(horizon_slots(sites[0]).await?);
        // The hot slot first, while it is still empty: its places go in the first moments, and
        // the rest of the phase measures the refusals of a full slot.
        let hot = Arc::new(vec![starts[starts.len() / 2].clone()]);
        let load = load_average();
        let (tally, elapsed) = phase(&sites, clients, seconds, hot, citizen.clone()).await?;
        report(engine, "one hot slot", tally, elapsed);
        println!("  {engine:<22} load average: {load} at the start, {} at the end", load_average());
        let load = load_average();
        let (tally, elapsed) = phase(&sites, clients, seconds, starts.clone(), citizen.clone()).await?;
        report(engine, "all slots", tally, elapsed);
        println!("  {engine:<22} load average: {load} at the start, {} at the end", load_average());
        let audit = if engine.starts_with("PostgreSQL") {
            audit_postgres(&url).await?
        } else {
            audit_sqlite(&sqlite.data_dir)?
        };
        println!(
            "  {engine:<22} audit: {} active bookings, {} slots over capacity, {} slots miscounted, {} IDs with two \
             active bookings",
            audit.active, audit.over_capacity, audit.miscounted, audit.doubled_ids
        );
        if audit.over_capacity != 0 || audit.doubled_ids != 0 || audit.miscounted != 0 {
            bail!("{engine}: the booking rules were broken: {audit:?}");
        }
    }
    Ok(())
}
