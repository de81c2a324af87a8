//! A counter button on the desktop: the firmware's logic over real MQTT.
//!
//! ```text
//! dawr-button-sim [--mqtt-url mqtt://127.0.0.1:1883] [--mqtt-username NAME]
//!                 [--mqtt-password-file FILE] [--mqtt-ca-file FILE] [--branch demo] [--counter 1]
//!                 [--mode counter|rating] [--boot N]
//! dawr-button-sim --update --release-key HEX [--firmware 0.4.1] [--trial-ms 300000]
//!                 [--new-version-cannot-connect] [--reboot-after-chunks N] [--counter 1] …
//! ```
//! With `--update` it runs a firmware update instead of taking key presses: it announces
//! `--firmware` in its presence, takes the image the hub offers it (a manager must have chosen
//! it), checks it with the release public key `--release-key` (the key built into the firmware),
//! "reboots" into it and confirms it once it reaches the broker, or, with
//! `--new-version-cannot-connect`, lets the trial (`--trial-ms`) run out and rolls back. It
//! prints each state it reports and exits 0 once the update is confirmed or rolled back, 1 if
//! the image was refused.
//! Its device id (client id, default username) is `button-{counter}` or `rating-{counter}`;
//! without a password (in the URL or a file) it uses that device's entry in
//! `data/demo-devices.toml` when the file exists, as the demo's devices do.
//! Then type, one per line: `n` (next), `l` (long press: no-show), `r` (recall), `1`…`5` (a face,
//! in rating mode), `drop` (lose the next reply), `wait MS`, `q`. The screen is printed whenever it changes. Input can be piped in,
//! so a script is a file of such lines.
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dawr_e2e::button::SimButton;
use dawr_firmware_logic::{Key, Mode, Press};
use dawr_protocol::endpoint::DeviceLogin;
use tokio::io::{AsyncBufReadExt, BufReader};

fn flag(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned().unwrap_or_else(|| default.to_string())
}

/// `--update`: one firmware update run (see the module documentation).
async fn update(
    args: &[String],
    broker: dawr_protocol::endpoint::MqttEndpoint,
    branch: String,
    device: String,
) -> Result<()> {
    use dawr_e2e::update_sim::{UpdatePlan, run};
    let key = flag(args, "--release-key", "");
    let release_key = dawr_protocol::device::hex_decode::<32>(&key)
        .context("--release-key: the release public key, 64 hex digits")?;
    let plan = UpdatePlan {
        broker,
        branch,
        device,
        running: flag(args, "--firmware", dawr_e2e::button::SIM_FIRMWARE_VERSION),
        release_key,
        trial_ms: flag(args, "--trial-ms", "300000").parse().context("--trial-ms")?,
        new_version_cannot_connect: args.iter().any(|a| a == "--new-version-cannot-connect"),
        reboot_after_chunks: Some(flag(args, "--reboot-after-chunks", "")).and_then(|n| n.parse().ok()),
        deadline: Duration::from_secs(flag(args, "--deadline-s", "600").parse().context("--deadline-s")?),
    };
    let outcome = run(plan).await?;
    println!("finished: {:?}, running {}", outcome.state, outcome.running);
    if matches!(outcome.state, dawr_firmware_logic::update::State::Refused { .. }) {
        bail!("the image was refused");
    }
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let url = flag(&args, "--mqtt-url", "mqtt://127.0.0.1:1883");
    let optional = |name: &str| Some(flag(&args, name, "")).filter(|v| !v.is_empty());
    let (username, password_file, ca_file) =
        (optional("--mqtt-username"), optional("--mqtt-password-file"), optional("--mqtt-ca-file"));
    let boot = flag(&args, "--boot", "").parse().unwrap_or_else(|_| std::process::id());
    let mode = match flag(&args, "--mode", "counter").as_str() {
        "counter" => Mode::Counter,
        "rating" => Mode::Rating,
        other => bail!("--mode {other:?}: counter or rating"),
    };
    let (branch, counter) = (flag(&args, "--branch", "demo"), flag(&args, "--counter", "1"));
    let device = SimButton::device_id(mode, &counter);
    let login = DeviceLogin {
        url: &url,
        device: &device,
        username: username.as_deref(),
        password_file: password_file.as_deref().map(Path::new),
        ca_file: ca_file.as_deref().map(Path::new),
    };
    let broker = login.endpoint().context("--mqtt-url and its login")?;
    if args.iter().any(|a| a == "--update") {
        return update(&args, broker, branch, device).await;
    }
    let mut button = SimButton::start(&broker, &branch, &counter, mode, boot)?;
    let mut screen = button.screen.clone();
    tokio::spawn(async move {
        while screen.changed().await.is_ok() {
            println!("{}", *screen.borrow());
        }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await? {
        match line.split_whitespace().collect::<Vec<_>>().as_slice() {
            ["n" | "next"] => button.press(Key::Next, Press::Short),
            ["l" | "long" | "no-show"] => button.press(Key::Next, Press::Long),
            ["r" | "recall"] => button.press(Key::Recall, Press::Short),
            [score @ ("1" | "2" | "3" | "4" | "5")] => button.press(Key::Score(score.parse()?), Press::Short),
            ["drop"] => button.drop_next_reply(),
            ["wait", ms] => tokio::time::sleep(Duration::from_millis(ms.parse()?)).await,
            ["q" | "quit"] => break,
            [] => {}
            other => bail!("unknown input {other:?}: n, l, r, 1-5, drop, wait MS, q"),
        }
    }
    // Give the last reply a moment to arrive before leaving.
    let _ = button.wait_for(Duration::from_millis(500), |s| !s.pending).await;
    Ok(())
}
