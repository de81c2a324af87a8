//! Measures the hub: durable ticket issues per second over HTTP, and the latency from a counter
//! button's press to the call on `…/calls`, beside the raw broker's own latency; then the
//! display board: press → the board's view, and the time to draw a 1920×1080 frame; and the
//! kiosk's cold start to its first screen.
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
use dawr_display_board::board::{BoardFilter, BoardState};
use dawr_display_board::link::{BoardLink, LinkConfig};
use dawr_display_board::screen::{BoardWindow, Frame, Message, fit};
use dawr_e2e::{Hub, Mosquitto, MqttProbe, hub_binary, kiosk_binary};
use dawr_i18n::Texts;
use dawr_protocol::api::{Call, IssueTicket, Names, Priority};

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
    let client = dawr_e2e::http_client().pool_max_idle_per_host(concurrency).build()?;
    let stop = Arc::new(AtomicBool::new(false));
    let url = hub.url(if issue { "/api/v1/tickets" } else { "/healthz" });
    // Tickets are issued as the demo's enrolled kiosk.
    let kiosk = hub.device("kiosk-1")?;
    let mut workers = Vec::new();
    let start = Instant::now();
    for w in 0..concurrency {
        let (client, url, stop, kiosk) = (client.clone(), url.clone(), stop.clone(), kiosk.clone());
        workers.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            let services = ["A", "B", "C", "D", "E", "F"];
            let mut i = w;
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                let resp = if issue {
                    i += 1;
                    let request = IssueTicket {
                        service: services[i % services.len()].into(),
                        priority: Priority::Normal,
                        appointment_at: None,
                        request_id: None,
                        sms: None,
                    };
                    client.post(&url).basic_auth(&kiosk.username, Some(&kiosk.password)).json(&request).send().await?
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
    let mut receiver = MqttProbe::open_broker(port, "bench-raw-rx").await?;
    receiver.subscribe("bench/raw").await?;
    let sender = MqttProbe::open_broker(port, "bench-raw-tx").await?;
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
    let mut display = MqttProbe::open_broker(port, "bench-display").await?;
    display.subscribe("dawr/v1/demo/calls").await?;
    let button = MqttProbe::open_broker(port, "bench-button-1").await?;
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

/// A button's `next` → the display board's link shows the new call (what its screen draws from).
async fn press_to_board_latency(port: u16, rounds: usize) -> Result<Stats> {
    let mut board = BoardLink::start(LinkConfig {
        mqtt: dawr_protocol::endpoint::MqttEndpoint::parse(&format!("mqtt://127.0.0.1:{port}"))?,
        branch: "demo".into(),
        device: "bench-board".into(),
        filter: BoardFilter::default(),
        highlight: chrono::Duration::seconds(8),
        history: 6,
    })?;
    tokio::time::timeout(Duration::from_secs(10), board.view.wait_for(|v| v.online)).await??;
    let button = MqttProbe::open_broker(port, "bench-button-2").await?;
    let mut samples = Vec::with_capacity(rounds);
    let start = Instant::now();
    for i in 0..rounds {
        let before = board.view.borrow().current.as_ref().map(|c| c.id);
        let t = Instant::now();
        button.publish("dawr/v1/demo/counters/2/command", format!(r#"{{"id":"board-{i}","action":"next"}}"#)).await?;
        tokio::time::timeout(
            Duration::from_secs(5),
            board.view.wait_for(|v| v.current.as_ref().map(|c| c.id) != before),
        )
        .await
        .context("the board did not change: is anyone waiting for counter 2?")??;
        samples.push(t.elapsed());
    }
    Ok(stats(samples, start.elapsed()))
}

/// The kiosk from a cold process start to its services screen drawn with the hub's live
/// services (`dawr-kiosk screenshot`: start, fonts, fetch branch and services, lay out, draw,
/// write the PNG), a few times.
fn kiosk_cold_start(hub: &Hub, rounds: usize) -> Result<Stats> {
    let dir = tempfile::tempdir()?;
    let mut samples = Vec::with_capacity(rounds);
    let start = Instant::now();
    for i in 0..rounds {
        let t = Instant::now();
        let status = std::process::Command::new(kiosk_binary())
            .args(["screenshot", "--screen", "services", "--hub", &hub.url("")])
            .arg("--out")
            .arg(dir.path().join(format!("{i}.png")))
            .stdout(std::process::Stdio::null())
            .status()?;
        if !status.success() {
            bail!("dawr-kiosk screenshot failed");
        }
        samples.push(t.elapsed());
    }
    Ok(stats(samples, start.elapsed()))
}

/// Turning a view into pixels: the frame's texts, then the software renderer on a full
/// 1920×1080 board (as the screen redraws when a call arrives). On this thread, once per process.
fn frame_render_time(rounds: usize) -> Result<Stats> {
    dawr_ui::headless::install()?;
    let window = BoardWindow::new()?;
    fit(&window, 1920.0, 1080.0);
    let texts = Texts::new();
    let names = |ar: &str, en: &str| Names { ar: ar.into(), en: en.into() };
    let mut state = BoardState::new(BoardFilter::default(), chrono::Duration::seconds(8), 6);
    state.set_online(true);
    let mut samples = Vec::with_capacity(rounds);
    let start = Instant::now();
    for i in 0..rounds as u64 {
        let now = chrono::Utc::now();
        state.apply_call(
            Call {
                id: i + 1,
                ticket: format!("A{:03}", i % 1000),
                counter: format!("{}", 1 + i % 8),
                service: "A".into(),
                recall: false,
                at: now,
                service_name: names("الوكالات", "Power of attorney"),
                counter_name: names("شباك", "Counter"),
            },
            now,
        );
        let t = Instant::now();
        Frame::new(
            &state.view(now),
            &Message::default(),
            now,
            chrono::FixedOffset::east_opt(3 * 3600).unwrap(),
            &texts,
        )
        .show(&window);
        dawr_ui::headless::snapshot(&window, 1920, 1080)?;
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
    let board = press_to_board_latency(mosquitto.port, 500).await?;
    println!(
        "  button next -> display board's view (500)     p50 {:>6.3} ms   p99 {:>6.3} ms",
        ms(board.p50),
        ms(board.p99)
    );
    println!();
    let kiosk = kiosk_cold_start(&hub, 5)?;
    println!("Kiosk");
    println!(
        "  cold start -> services screen drawn (5 runs)  p50 {:>6.0} ms   max {:>6.0} ms",
        ms(kiosk.p50),
        ms(kiosk.p99)
    );
    println!();
    let frame = frame_render_time(30)?;
    println!("Display board (software renderer)");
    println!(
        "  view -> 1920x1080 frame drawn (30 frames)     p50 {:>6.1} ms   p99 {:>6.1} ms",
        ms(frame.p50),
        ms(frame.p99)
    );
    Ok(())
}
