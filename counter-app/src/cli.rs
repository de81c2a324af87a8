//! The `dawr-counter` command line (the binary's `main` is [`main`]).
//!
//! ```text
//! dawr-counter run --counter 2 [--hub http://127.0.0.1:8080] [--mqtt-url mqtt://127.0.0.1:1883]
//!                  [--branch demo] [--id counter-2-pc] [--windowed] [--config counter.toml]
//! dawr-counter screenshot --lang ar|en --out FILE.png [--hub URL --counter C] [--signed-out]
//! ```
use std::path::PathBuf;

use anyhow::{Context, Result};
use chrono::Utc;
use clap::{Parser, Subcommand};
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::{CounterSummary, Names, Priority, Ticket};
use dawr_protocol::device::{CounterState, CounterStatus, CurrentStatus, CurrentVisit};

use dawr_protocol::endpoint::MqttEndpoint;

use crate::app::{CounterConfig, Link};
use crate::flow::{Desk, Input, SignedIn};
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
        /// The sign-in screen instead.
        #[arg(long)]
        signed_out: bool,
        #[arg(long, default_value_t = 1366)]
        width: u32,
        #[arg(long, default_value_t = 768)]
        height: u32,
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
        Command::Screenshot { lang, out, hub, counter, signed_out, width, height } => {
            screenshot(lang, &out, hub, &counter, signed_out, width, height)
        }
    }
}

fn names(ar: &str, en: &str) -> Names {
    Names { ar: ar.into(), en: en.into() }
}

/// A busy morning at counter 2: a visitor served for 12 minutes, five waiting.
fn sample(counter: &str) -> (Branch, CounterState, Vec<Ticket>) {
    let now = Utc::now();
    let services = vec![
        ("A".to_string(), names("الوكالات", "Power of attorney")),
        ("D".to_string(), names("استفسارات القضايا", "Case inquiries")),
    ];
    let branch = Branch {
        counter_name: names("شباك ٢", "Counter 2"),
        services: services.clone(),
        counters: vec![("3".to_string(), names("شباك ٣", "Counter 3"))],
        utc_offset: chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset"),
        amber_s: 600,
        red_s: 900,
    };
    fn text<const N: usize>(s: &str) -> heapless::String<N> {
        heapless::String::try_from(s).expect("short")
    }
    let state = CounterState {
        counter: text(counter),
        status: CounterStatus::Open,
        current: Some(CurrentVisit {
            ticket: text("A017"),
            service: text("A"),
            status: CurrentStatus::Serving,
            since: text(
                &(now - chrono::Duration::seconds(12 * 60 + 5)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            ),
            recalls: 0,
            case_ref: Some(text("DMM-20261123-000017")),
        }),
        waiting: 5,
        updated_at: text(&now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
    };
    let mut ticket = blank_ticket();
    let waiting = [
        ("A018", 0, 19, Priority::Normal),
        ("D004", 1, 14, Priority::Assisted),
        ("A019", 0, 11, Priority::Normal),
        ("D005", 1, 6, Priority::Appointment),
        ("A020", 0, 2, Priority::Normal),
    ]
    .into_iter()
    .map(|(number, service, waited, priority)| {
        ticket.number = number.into();
        ticket.service = services[service].0.clone();
        ticket.service_name = services[service].1.clone();
        ticket.priority = priority;
        ticket.issued_at = now - chrono::Duration::minutes(waited);
        ticket.appointment_at = (priority == Priority::Appointment).then(|| now + chrono::Duration::minutes(4));
        ticket.clone()
    })
    .collect();
    (branch, state, waiting)
}

/// The protocol's example ticket; the screenshot's waiting list overwrites what it shows.
fn blank_ticket() -> Ticket {
    dawr_protocol::api::examples::ticket()
}

fn screenshot(
    lang: Lang,
    out: &std::path::Path,
    hub: Option<String>,
    counter: &str,
    signed_out: bool,
    width: u32,
    height: u32,
) -> Result<()> {
    let (mut branch, mut state, mut waiting) = sample(counter);
    // Sample data shows a staff member well into the morning; a live hub shows its own figures.
    let served = if hub.is_some() { 0 } else { 7 };
    if let Some(hub) = hub {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (live_branch, live_state, live_waiting) = runtime.block_on(async {
            let config = CounterConfig {
                hub: hub.clone(),
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
            let counters: Vec<CounterSummary> =
                reqwest::get(format!("{}/api/v1/counters", hub.trim_end_matches('/'))).await?.json().await?;
            let state = counters
                .into_iter()
                .map(|c| c.state)
                .find(|s| s.counter.as_str() == counter)
                .context("the counter's state")?;
            anyhow::Ok((branch, state, waiting))
        })?;
        (branch, state, waiting) = (live_branch, live_state, live_waiting);
    }
    let now = Utc::now();
    let mut desk = Desk::new(counter, "screenshot", 0);
    desk.handle(Input::ChooseLanguage(lang), now);
    desk.handle(Input::Link(true), now);
    if !signed_out {
        desk.handle(
            Input::SignedIn(Ok(SignedIn {
                token: String::new(),
                staff: "s101".into(),
                name_ar: "عبدالله القحطاني".into(),
                name_en: "Abdullah Alqahtani".into(),
                counter: counter.into(),
            })),
            now,
        );
        desk.served = served;
    }
    desk.handle(Input::State(state), now);
    desk.handle(Input::Waiting(Some(waiting)), now);
    dawr_ui::headless::install()?;
    let window = CounterWindow::new()?;
    show(&window, &desk, &branch, &Texts::new(), now);
    dawr_ui::headless::snapshot_png(&window, width, height, out)?;
    println!("{}", out.display());
    Ok(())
}
