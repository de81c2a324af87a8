//! Measures the SMS outbox: messages per second from the hub's outbox to an SMSC (the in-process
//! simulator), with the pacer set out of the way, so the figure is what the outbox, SQLite
//! (`synchronous=FULL`, two writes per message) and one SMPP session with its window manage.
//!
//! ```text
//! cargo build --release -p dawr-e2e --bins && target/release/dawr-sms-bench [--messages N] [--window W]
//! ```
//!
//! The messages are queued first (through the managers' API, while the SMSC refuses binds),
//! then the SMSC accepts and the clock runs until the last one has arrived.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use dawr_e2e::smsc::{self, Smsc};
use dawr_e2e::{Hub, demo_branch, production_branch};

fn arg(name: &str, default: usize) -> Result<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).context("a number after the flag")?.parse().context("a number"),
        None => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let (messages, window) = (arg("--messages", 500)?, arg("--window", 10)?);
    let smsc = Smsc::start();
    smsc.refuse_binds(true);
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("branch.toml");
    let sms = format!(
        "\n[sms]\nsmsc = \"{}\"\nsystem_id = \"{}\"\npassword = \"{}\"\nmessages_per_second = 10000\n\
         window = {window}\nmax_backoff_s = 0.2\nmax_reconnect_s = 0.2\n",
        smsc.address(),
        smsc::SYSTEM_ID,
        smsc::PASSWORD
    );
    std::fs::write(&file, production_branch(&demo_branch()) + &sms)?;
    let hub = Hub::start_embedded_with(&["--config", file.to_str().context("a UTF-8 path")?]).await?;
    let token = hub.sign_in("m001", None).await?.token;
    for n in 0..messages {
        let body = serde_json::json!({ "to": format!("05{:08}", n % 5000), "text": format!("bench {n}") });
        let (code, answer) = hub.post_as("/api/v1/sms/messages", body, Some(&token)).await?;
        ensure!(code == 202, "queueing: {code} {answer}");
    }
    let started = Instant::now();
    smsc.refuse_binds(false);
    let got = smsc.wait_for(messages, Duration::from_secs(600)).await;
    let elapsed = started.elapsed();
    ensure!(got.len() >= messages, "only {} of {messages} arrived", got.len());
    println!(
        "SMS outbox → SMPP simulator: {messages} messages in {:.2} s = {:.0} messages/s (window {window})",
        elapsed.as_secs_f64(),
        messages as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
