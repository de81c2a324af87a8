//! Measures the appointments site's booking flow: server latency p50/p99 of listing a day's
//! slots and of booking one, and durable bookings per second.
//!
//! ```text
//! cargo build --release -p dawr-e2e --bins && target/release/dawr-appointments-bench [--seconds N] [--clients N]
//! ```
//!
//! It starts the site (the release `dawr-e2e-appointments` beside this binary) with its database
//! on disk (`synchronous=FULL`: every acknowledged booking is fsync'd), all on loopback. Each
//! client books back to back: list the slots of a day, then book a free one for a new citizen.
//! The load generator shares the machine's cores with the site.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dawr_e2e::appointments::{Site, example_booking, site_binary, test_site};
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

#[tokio::main]
async fn main() -> Result<()> {
    let seconds = arg("--seconds", 5.0)?;
    let clients = arg("--clients", 8.0)? as usize;
    if !site_binary().exists() {
        bail!("{} is missing: cargo build --release -p dawr-e2e --bins", site_binary().display());
    }
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
