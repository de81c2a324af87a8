//! The `dawr-counter` command line (the binary's `main` is [`main`]).
//!
//! ```text
//! dawr-counter run --counter 2 [--hub http://127.0.0.1:8080] [--mqtt-url mqtt://127.0.0.1:1883]
//!                  [--branch demo] [--id counter-2-pc] [--windowed] [--config counter.toml]
//! dawr-counter screenshot --lang ar|en --out FILE.png [--size 1366x768]
//!                         [--state signed-out|idle|called|serving|complete|transfer|paused]
//!                         [--hub URL --counter C]
//! ```
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Parser, Subcommand};
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::{CounterSummary, Ticket};
use dawr_protocol::device::CounterState;

use dawr_protocol::endpoint::MqttEndpoint;

use crate::app::{CounterConfig, Link};
use crate::flow::{Desk, Input};
use crate::sample::{self, DeskState};
use crate::screen::{Branch, CounterWindow, show};

#[derive(Parser)]
#[command(name = "dawr-counter", version, about = "Dawr's counter app for staff")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The desk app for one counter.
    #[command(args_override_self = true)]
    Run {
        /// A settings file (TOML): its keys are these flags' names (`counter = "2"`), read
        /// first, so flags typed here win.
        #[arg(long = "config", value_name = "FILE")]
        _config: Option<PathBuf>,
        #[arg(long)]
        counter: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        hub: String,
        /// The branch's MQTT broker and the app's login.
        #[command(flatten)]
        mqtt: dawr_ui::settings::MqttFlags,
        #[arg(long, default_value = "demo")]
        branch: String,
        /// Its device id, also its MQTT username and client id [default: counter-<counter>-app]
        #[arg(long)]
        id: Option<String>,
        /// The service timer turns amber after this many minutes, red after `red_min`.
        #[arg(long, default_value_t = 10)]
        amber_min: i64,
        #[arg(long, default_value_t = 15)]
        red_min: i64,
        #[arg(long)]
        windowed: bool,
    },
    /// Draws the desk screen into a PNG without a display, from sample data or a running hub.
    Screenshot {
        #[arg(long, default_value = "ar")]
        lang: Lang,
        #[arg(long)]
        out: PathBuf,
        /// Take the counter's state and waiting list from this hub.
        #[arg(long)]
        hub: Option<String>,
        #[arg(long, default_value = "2")]
        counter: String,
        /// The desk in this state, from sample data (with --hub: signed out or not, the rest
        /// from the hub).
        #[arg(long, value_enum, default_value = "serving")]
        state: DeskState,
        /// The window's size, WIDTHxHEIGHT.
        #[arg(long, default_value = "1366x768", value_parser = parse_size)]
        size: (u32, u32),
    },
}

/// Parses the command line and runs the command; an error ends the process with one line on
/// stderr and status 1 (see [`dawr_ui::exit`]).
pub fn main() -> std::process::ExitCode {
    dawr_ui::exit::exit_code("dawr-counter", run_command())
}

/// The command the command line names.
fn run_command() -> Result<()> {
    let args = dawr_ui::settings::device_command_line()?;
    match Args::parse_from(args).command {
        Command::Run { _config, counter, hub, mqtt, branch, id, amber_min, red_min, windowed } => {
            let device = id.unwrap_or_else(|| format!("counter-{counter}-app"));
            let mqtt = mqtt.endpoint(&device)?;
            crate::app::run(CounterConfig {
                hub,
                mqtt,
                branch,
                counter,
                device,
                amber_s: amber_min * 60,
                red_s: red_min * 60,
                fullscreen: !windowed,
            })
        }
        Command::Screenshot { lang, out, hub, counter, state, size } => {
            screenshot(lang, &out, hub, &counter, state, size)
        }
    }
}

/// `1366x768` → (1366, 768).
fn parse_size(size: &str) -> Result<(u32, u32), String> {
    let parsed = size.split_once(['x', '×']).and_then(|(w, h)| Some((w.trim().parse().ok()?, h.trim().parse().ok()?)));
    match parsed {
        Some((w, h)) if (320..=7680).contains(&w) && (240..=4320).contains(&h) => Ok((w, h)),
        _ => Err(format!("{size:?} is not a size like 1366x768 (320x240 to 7680x4320)")),
    }
}

/// Draws the desk in `state` (or as `hub` has it) into `out`.
fn screenshot(
    lang: Lang,
    out: &std::path::Path,
    hub: Option<String>,
    counter: &str,
    state: DeskState,
    (width, height): (u32, u32),
) -> Result<()> {
    let now = Utc::now();
    let mut branch = sample::branch();
    let mut desk = sample::desk(state, lang, counter, &branch, now);
    if let Some(hub) = hub {
        let (live_branch, live_state, live_waiting) = read_hub(&hub, counter)?;
        branch = live_branch;
        let signed_out = state == DeskState::SignedOut;
        desk = Desk::new(counter, "screenshot", 0);
        desk.handle(Input::ChooseLanguage(lang), now);
        desk.handle(Input::Link(true), now);
        if !signed_out {
            desk.handle(Input::SignedIn(Ok(sample::staff(counter))), now);
        }
        desk.handle(Input::State(live_state), now);
        desk.handle(Input::Waiting(Some(live_waiting)), now);
    }
    dawr_ui::headless::install()?;
    let window = CounterWindow::new()?;
    let case = desk.case.clone().unwrap_or_default();
    window.set_case_visitor(case.visitor.as_str().into());
    window.set_case_category(case.category.as_str().into());
    window.set_case_notes(case.notes.as_str().into());
    show(&window, &desk, &branch, &Texts::new(), now);
    dawr_ui::headless::snapshot_png(&window, width, height, out)?;
    println!("{}", out.display());
    Ok(())
}

/// The branch, counter `counter`'s state and its waiting list, as the hub at `hub` has them.
fn read_hub(hub: &str, counter: &str) -> Result<(Branch, CounterState, Vec<Ticket>)> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let config = CounterConfig {
            hub: hub.to_string(),
            mqtt: MqttEndpoint::parse("mqtt://127.0.0.1:1")?,
            branch: "demo".into(),
            counter: counter.into(),
            device: "screenshot".into(),
            amber_s: 600,
            red_s: 900,
            fullscreen: false,
        };
        let (inputs, _inbox) = tokio::sync::mpsc::unbounded_channel();
        let link = Link::start(&config, inputs)?;
        let unread = |what: &str| format!("cannot read {what} from the hub at {hub} (is it running?)");
        let branch =
            link.branch(600, 900).await.with_context(|| unread(&format!("the branch or counter {counter}")))?;
        let waiting = link.waiting().await.with_context(|| unread("the queue"))?;
        let counters: Vec<CounterSummary> = crate::app::http_client()
            .build()?
            .get(format!("{}/api/v1/counters", hub.trim_end_matches('/')))
            .send()
            .await?
            .json()
            .await?;
        let state = counters
            .into_iter()
            .map(|c| c.state)
            .find(|s| s.counter.as_str() == counter)
            .context("the counter's state")?;
        anyhow::Ok((branch, state, waiting))
    })
}
