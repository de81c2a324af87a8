//! Measures the hub: durable ticket issues per second over HTTP, and the latency from a counter
//! button's press to the call on `…/calls`, beside the raw broker's own latency.
//!
//! ```text
//! cargo build --release -p dawr-e2e --bins && target/release/dawr-bench [--seconds N]
//! ```
//!
//! It starts Mosquitto and a hub (the release `dawr-e2e-hub` beside this binary) with its
//! database on disk (`synchronous=FULL`: every acknowledged issue is fsync'd), all on loopback.
//! The load generator shares the machine's cores with the hub, as it would on a branch server.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dawr_e2e::{Hub, Mosquitto, MqttProbe, hub_binary};
use serde_json::json;

#[derive(Debug, Clone)]
struct Stats {
    rate: f64,
    p50: Duration,
    p99: Duration,
    count: usize,
}

fn stats(mut samples: Vec<Duration>, elapsed: Duration) -> Stats {
    samples.sort();
    let pick = |q: f64| {
        samples
            .get(((samples.len() as f64 * q) as usize).min(samples.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Stats { rate: samples.len() as f64 / elapsed.as_secs_f64(), p50: pick(0.50), p99: pick(0.99), count: samples.len() }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `concurrency` clients each sending requests back to back for `seconds`.
async fn http_load(hub: &Hub, concurrency: usize, seconds: f64, issue: bool) -> Result<Stats> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let url = hub.url(if issue { "/api/v1/tickets" } else { "/healthz" });
    let mut workers = Vec::new();
    let start = Instant::now();
    for w in 0..concurrency {
        let (client, url, stop) = (client.clone(), url.clone(), stop.clone());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let services = ["A", "B", "C", "D", "E", "F"];
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let resp = if issue {
                    i += 1;
                    client.post(&url).json(&json!({"service": services[i % services.len()]})).send().await?
                } else {
                    client.get(&url).send().await?
                };
                let ok = resp.status().is_success();
                resp.bytes().await?;
                if !ok {
                    bail!("{url} answered with an error");
                }
                samples.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(samples)
        }));
    }
    tokio::time::sleep(Duration::from_secs_f64(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut samples = Vec::new();
    for w in workers {
        samples.extend(w.await??);
    }
    Ok(stats(samples, start.elapsed()))
}

/// QoS 1 publish → receive between two clients through the broker, one message at a time.
async fn raw_broker_latency(port: u16, rounds: usize) -> Result<Stats> {
    let mut receiver = MqttProbe::connect(port, "bench-raw-rx").await?;
    receiver.subscribe("bench/raw").await?;
    let sender = MqttProbe::connect(port, "bench-raw-tx").await?;
    let mut samples = Vec::with_capacity(rounds);
    let start = Instant::now();
    for i in 0..rounds {
        let t = Instant::now();
        sender.publish("bench/raw", format!("{i}")).await?;
        receiver.next_on("bench/raw", Duration::from_secs(5)).await.context("raw message lost")?;
        samples.push(t.elapsed());
    }
    Ok(stats(samples, start.elapsed()))
}

/// A button's `next` → the call on `…/calls`, one press at a time (each one a durable write).
async fn press_to_call_latency(port: u16, rounds: usize) -> Result<Stats> {
    let mut display = MqttProbe::connect(port, "bench-display").await?;
    display.subscribe("dawr/v1/demo/calls").await?;
    let button = MqttProbe::connect(port, "bench-button-1").await?;
    let mut samples = Vec::with_capacity(rounds);
    let start = Instant::now();
    for i in 0..rounds {
        let t = Instant::now();
        button.publish("dawr/v1/demo/counters/1/command", format!(r#"{{"id":"bench-{i}","action":"next"}}"#)).await?;
        display.next_on("dawr/v1/demo/calls", Duration::from_secs(5)).await.context("no call: is anyone waiting?")?;
        samples.push(t.elapsed());
    }
    Ok(stats(samples, start.elapsed()))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let seconds: f64 = match args.iter().position(|a| a == "--seconds") {
        Some(i) => args.get(i + 1).context("--seconds needs a number")?.parse()?,
        None => 5.0,
    };
    if !hub_binary().exists() {
        bail!("{} is missing: run `cargo build --release -p dawr-e2e --bins` first", hub_binary().display());
    }
    let mosquitto = Mosquitto::start()?;
    let hub = Hub::start_external(mosquitto.port).await?;
    println!(
        "Dawr hub benchmark: {} cores, hub on Mosquitto, SQLite WAL + synchronous=FULL on disk, {seconds} s per HTTP phase",
        std::thread::available_parallelism()?
    );
    println!();

    let health = http_load(&hub, 64, seconds, false).await?;
    let issue_1 = http_load(&hub, 1, seconds, true).await?;
    let issue_64 = http_load(&hub, 64, seconds, true).await?;
    let line = |what: &str, s: &Stats| {
        println!(
            "  {what:<34} {:>9.0} req/s   p50 {:>6.2} ms   p99 {:>6.2} ms   ({} requests)",
            s.rate,
            ms(s.p50),
            ms(s.p99),
            s.count
        )
    };
    println!("HTTP");
    line("GET /healthz, 64 clients", &health);
    line("POST /api/v1/tickets, 1 client", &issue_1);
    line("POST /api/v1/tickets, 64 clients", &issue_64);
    println!("  durable issues at 64 clients are {:.0}% of the /healthz rate", issue_64.rate / health.rate * 100.0);
    println!();

    let rounds = 2000;
    let raw = raw_broker_latency(mosquitto.port, rounds).await?;
    let press = press_to_call_latency(mosquitto.port, rounds).await?;
    println!("MQTT ({rounds} sequential messages each)");
    println!(
        "  raw Mosquitto publish -> receive (QoS 1)      p50 {:>6.3} ms   p99 {:>6.3} ms",
        ms(raw.p50),
        ms(raw.p99)
    );
    println!(
        "  button next -> ...calls through the hub       p50 {:>6.3} ms   p99 {:>6.3} ms",
        ms(press.p50),
        ms(press.p99)
    );
    println!(
        "  the hub adds                                  p50 {:>6.3} ms   p99 {:>6.3} ms",
        ms(press.p50.saturating_sub(raw.p50)),
        ms(press.p99.saturating_sub(raw.p99))
    );
    Ok(())
}
