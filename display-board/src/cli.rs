//! The `dawr-display-board` command line (the binary's `main` is [`main`]; the end-to-end
//! tests build the same as `dawr-e2e-board`).
//!
//! ```text
//! dawr-display-board run [--mqtt-url mqtt://127.0.0.1:1883] [--mqtt-username NAME]
//!                        [--mqtt-password-file FILE] [--mqtt-ca-file FILE] [--branch demo] [--id board-1]
//!                        [--counters 1,2] [--services A,B] [--voice voice] [--windowed]
//! dawr-display-board screenshot --state board.json --out board.png [--fresh] [--offline] [--now T]
//! dawr-display-board make-voice-pack [--out voice]              # speaks the default pack (espeak-ng)
//! dawr-display-board announce --lang ar|en --ticket A017 --counter 3 --out call.wav [--voice voice]
//! ```
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::announce::{Announcement, clips};
use crate::board::{BoardFilter, BoardState};
use crate::link::{BoardLink, LinkConfig};
use crate::screen::{BoardWindow, Frame, HISTORY_ROWS, Message, fit};
use crate::speaker::{Speaker, Speakers};
use crate::voice::{Voice, make_pack, write_wav};
use anyhow::{Context, Result};
use chrono::{DateTime, FixedOffset, Utc};
use clap::{Args as ClapArgs, Parser, Subcommand};
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::Board;
use slint::ComponentHandle;

#[derive(Parser)]
#[command(name = "dawr-display-board", version, about = "Dawr's overhead display board")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

/// What a board shows and how, shared by `run` and `screenshot`.
#[derive(ClapArgs)]
struct Look {
    /// Only these counters (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    counters: Vec<String>,
    /// Only these services (comma-separated); all by default.
    #[arg(long, value_delimiter = ',')]
    services: Vec<String>,
    /// The branch's offset from UTC (Saudi Arabia: +03:00, no daylight saving).
    #[arg(long, default_value = "+03:00")]
    utc_offset: FixedOffset,
    /// A line at the bottom of the board, in Arabic and in English.
    #[arg(long, default_value = "")]
    message_ar: String,
    #[arg(long, default_value = "")]
    message_en: String,
    /// How long a new call blinks, in seconds.
    #[arg(long, default_value_t = 8)]
    highlight_s: i64,
}

impl Look {
    fn filter(&self) -> BoardFilter {
        BoardFilter {
            counters: self.counters.iter().cloned().collect(),
            services: self.services.iter().cloned().collect(),
        }
    }

    fn message(&self) -> Message {
        Message { ar: self.message_ar.clone(), en: self.message_en.clone() }
    }
}

#[derive(Subcommand)]
enum Command {
    /// Shows the branch's calls on the screen and speaks them.
    #[command(args_override_self = true)]
    Run {
        /// A settings file (TOML): its keys are these flags' names (`mqtt_url = "…"`), read
        /// first, so flags typed here win.
        #[arg(long = "config", value_name = "FILE")]
        _config: Option<PathBuf>,
        /// The branch's MQTT broker and the board's login.
        #[command(flatten)]
        mqtt: dawr_ui::settings::MqttFlags,
        #[arg(long, default_value = "demo")]
        branch: String,
        /// Its device id, also its MQTT username and client id.
        #[arg(long, default_value = "board-1")]
        id: String,
        /// The voice pack (see make-voice-pack; the default pack is made here on first start when
        /// espeak-ng is installed); without one, calls are shown but not spoken.
        #[arg(long, default_value = "voice")]
        voice: PathBuf,
        /// Calls older than this many seconds when their turn to be spoken comes are not spoken.
        #[arg(long, default_value_t = 30)]
        max_announce_age_s: i64,
        /// A window instead of the full screen.
        #[arg(long)]
        windowed: bool,
        #[command(flatten)]
        look: Look,
    },
    /// Draws one frame from a `…/board` message (as docs/PROTOCOL.md defines it) into a PNG,
    /// without a display.
    Screenshot {
        #[arg(long)]
        state: PathBuf,
        #[arg(long)]
        out: PathBuf,
        /// Show the newest call as just arrived (blinking, in its lit phase).
        #[arg(long)]
        fresh: bool,
        /// Show the board as cut off from the hub.
        #[arg(long)]
        offline: bool,
        /// The clock on the board (default: the message's `updated_at`).
        #[arg(long)]
        now: Option<DateTime<Utc>>,
        #[arg(long, default_value_t = 1920)]
        width: u32,
        #[arg(long, default_value_t = 1080)]
        height: u32,
        #[command(flatten)]
        look: Look,
    },
    /// Generates the default voice pack with espeak-ng.
    MakeVoicePack {
        #[arg(long, default_value = "voice")]
        out: PathBuf,
    },
    /// Writes the announcement of a call (chime, then one language) to a WAV file (making the
    /// default voice pack first when there is none, as `run` does).
    Announce {
        #[arg(long)]
        lang: Lang,
        #[arg(long)]
        ticket: String,
        #[arg(long)]
        counter: String,
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value = "voice")]
        voice: PathBuf,
    },
}

/// The size `run --windowed` opens at: 16:9, like the board.
const WINDOWED_SIZE: (f32, f32) = (1280.0, 720.0);

/// Parses the command line and runs the command; an error ends the process with one line on
/// stderr and status 1 (see [`dawr_ui::exit`]).
pub fn main() -> std::process::ExitCode {
    dawr_ui::exit::exit_code("dawr-display-board", run_command())
}

/// The command the command line names.
fn run_command() -> Result<()> {
    let args = dawr_ui::settings::device_command_line()?;
    match Args::parse_from(args).command {
        Command::Run { mqtt, branch, id, voice, max_announce_age_s, windowed, look, _config } => {
            let config = LinkConfig {
                mqtt: mqtt.endpoint(&id)?,
                branch,
                device: id,
                filter: look.filter(),
                highlight: chrono::Duration::seconds(look.highlight_s),
                history: HISTORY_ROWS,
            };
            if let Err(e) = make_pack_if_missing(&voice) {
                tracing::warn!(error = %e, "could not make the default voice pack");
            }
            let voice = match Voice::load(&voice) {
                Ok(voice) => Some(voice),
                Err(e) => {
                    tracing::warn!(error = %e, "no voice pack: calls are shown but not spoken (see make-voice-pack)");
                    None
                }
            };
            run(config, look, voice, chrono::Duration::seconds(max_announce_age_s), !windowed)
        }
        Command::Screenshot { state, out, fresh, offline, now, width, height, look } => {
            let text = std::fs::read_to_string(&state).with_context(|| format!("reading {}", state.display()))?;
            let board: Board =
                serde_json::from_str(&text).with_context(|| format!("{} is not a board message", state.display()))?;
            let now = now.unwrap_or(board.updated_at);
            let mut state = BoardState::new(look.filter(), chrono::Duration::seconds(look.highlight_s), HISTORY_ROWS);
            state.set_online(!offline);
            let mut history = board.clone();
            let newest = if fresh && !history.calls.is_empty() { Some(history.calls.remove(0)) } else { None };
            state.apply_board(history, now);
            if let Some(call) = newest {
                state.apply_call(call, now);
            }
            dawr_ui::headless::install()?;
            let window = BoardWindow::new()?;
            fit(&window, width as f32, height as f32);
            Frame::new(&state.view(now), &look.message(), now, look.utc_offset, &Texts::new()).show(&window);
            window.set_blink_on(fresh);
            dawr_ui::headless::snapshot_png(&window, width, height, &out)?;
            println!("{}", out.display());
            Ok(())
        }
        Command::MakeVoicePack { out } => {
            make_pack(&out, None)?;
            println!("voice pack written to {}", out.display());
            Ok(())
        }
        Command::Announce { lang, ticket, counter, out, voice } => {
            make_pack_if_missing(&voice)?;
            let voice = Voice::load(&voice)
                .with_context(|| format!("no voice pack in {} (see make-voice-pack)", voice.display()))?;
            let announcement = Announcement {
                call_id: 0,
                parts: vec![(None, vec!["chime".into()]), (Some(lang), clips(lang, &ticket, &counter))],
            };
            write_wav(&out, &voice.render(&announcement, Some(lang))?, voice.sample_rate())?;
            println!("{}", out.display());
            Ok(())
        }
    }
}

/// Speaks the default voice pack into `dir` with espeak-ng, unless a pack is there already.
fn make_pack_if_missing(dir: &Path) -> Result<()> {
    if dir.join("ar").join("manifest.toml").exists() && dir.join("en").join("manifest.toml").exists() {
        return Ok(());
    }
    tracing::info!(dir = %dir.display(), "no voice pack yet: speaking the default one with espeak-ng");
    make_pack(dir, None).with_context(|| format!("making the default voice pack in {}", dir.display()))
}

/// The board on the screen: the MQTT link and the speaker run on a small runtime beside the
/// window; a UI timer turns the link's latest view into a frame whenever it (or the clock)
/// changes.
fn run(
    config: LinkConfig,
    look: Look,
    voice: Option<Voice>,
    max_age: chrono::Duration,
    fullscreen: bool,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    let mut link = {
        let _inside = runtime.enter();
        BoardLink::start(config)?
    };
    let speaker = Speaker::start(voice, Speakers::default, max_age);
    let mut new_calls = std::mem::replace(&mut link.new_calls, tokio::sync::mpsc::unbounded_channel().1);
    runtime.spawn(async move {
        while let Some(call) = new_calls.recv().await {
            speaker.say(call);
        }
    });

    dawr_ui::fonts::register_with_slint();
    let window = BoardWindow::new()?;
    if fullscreen {
        window.window().set_fullscreen(true);
    } else {
        // A 16:9 window; resized to another shape, the board keeps its shape (see `fit`).
        window.window().set_size(slint::LogicalSize::new(WINDOWED_SIZE.0, WINDOWED_SIZE.1));
        fit(&window, WINDOWED_SIZE.0, WINDOWED_SIZE.1);
    }
    let texts = Texts::new();
    let message = look.message();
    let view = link.view.clone();
    let weak = window.as_weak();
    let mut shown: Option<Frame> = None;
    let timer = slint::Timer::default();
    timer.start(slint::TimerMode::Repeated, Duration::from_millis(50), move || {
        let Some(window) = weak.upgrade() else { return };
        let size = window.window().size().to_logical(window.window().scale_factor());
        fit(&window, size.width, size.height);
        let frame = Frame::new(&view.borrow(), &message, Utc::now(), look.utc_offset, &texts);
        if shown.as_ref() != Some(&frame) {
            frame.show(&window);
            shown = Some(frame);
        }
    });
    window.run()?;
    drop(link);
    runtime.shutdown_timeout(Duration::from_secs(1));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_settings_file_is_read() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/board.example.toml");
        let args = ["dawr-display-board", "run", "--config", example, "--id", "board-2"].map(std::ffi::OsString::from);
        let args = dawr_ui::settings::expand_config(args.to_vec()).unwrap();
        let Command::Run { id, branch, look, max_announce_age_s, .. } = Args::try_parse_from(args).unwrap().command
        else {
            panic!("run")
        };
        assert_eq!((id.as_str(), branch.as_str(), max_announce_age_s), ("board-2", "demo", 30));
        assert_eq!(look.message_en, "Open Sunday to Thursday");
    }
}
