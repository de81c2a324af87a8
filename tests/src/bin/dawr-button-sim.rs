//! A counter button on the desktop: the firmware's logic over real MQTT.
//!
//! ```text
//! dawr-button-sim [--mqtt-url mqtt://127.0.0.1:1883] [--mqtt-username NAME]
//!                 [--mqtt-password-file FILE] [--mqtt-ca-file FILE] [--branch demo] [--counter 1]
//!                 [--mode counter|rating] [--boot N]
//! ```
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
