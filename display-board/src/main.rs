//! `dawr-display-board`: for now the voice commands (the screen comes next).
//!
//! ```text
//! dawr-display-board run [--mqtt-url mqtt://127.0.0.1:1883] [--branch demo] [--id board-1]
//!                        [--counters 1,2] [--services A,B]   # follows the branch (text, until the screen)
//! dawr-display-board make-voice-pack [--out voice]              # speaks the default pack (espeak-ng)
//! dawr-display-board announce --lang ar|en --ticket A017 --counter 3 --out call.wav [--voice voice]
//! ```
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dawr_display_board::announce::{Announcement, clips};
use dawr_display_board::board::BoardFilter;
use dawr_display_board::link::{BoardLink, LinkConfig};
use dawr_display_board::voice::{Voice, make_pack, write_wav};
use dawr_i18n::Lang;

#[derive(Parser)]
#[command(name = "dawr-display-board", version, about = "Dawr's overhead display board")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Follows the branch's calls and prints what the board shows (the screen is to come).
    Run {
        #[arg(long, default_value = "mqtt://127.0.0.1:1883")]
        mqtt_url: String,
        #[arg(long, default_value = "demo")]
        branch: String,
        #[arg(long, default_value = "board-1")]
        id: String,
        /// Only these counters (comma-separated); all by default.
        #[arg(long, value_delimiter = ',')]
        counters: Vec<String>,
        /// Only these services (comma-separated); all by default.
        #[arg(long, value_delimiter = ',')]
        services: Vec<String>,
    },
    /// Generates the default voice pack with espeak-ng.
    MakeVoicePack {
        #[arg(long, default_value = "voice")]
        out: PathBuf,
    },
    /// Writes the announcement of a call (chime, then one language) to a WAV file.
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

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    match Args::parse().command {
        Command::Run { mqtt_url, branch, id, counters, services } => {
            let rest = mqtt_url.strip_prefix("mqtt://").context("--mqtt-url must start with mqtt://")?;
            let (host, port) = rest.rsplit_once(':').map_or((rest, "1883"), |(h, p)| (h, p));
            let filter =
                BoardFilter { counters: counters.into_iter().collect(), services: services.into_iter().collect() };
            let config = LinkConfig {
                host: host.to_string(),
                port: port.parse()?,
                branch,
                device: id,
                filter,
                highlight: chrono::Duration::seconds(8),
                max_announce_age: chrono::Duration::seconds(30),
            };
            let mut link = BoardLink::start(config);
            loop {
                tokio::select! {
                    changed = link.view.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        let view = link.view.borrow().clone();
                        let current = view.current.map_or("-".to_string(), |c| {
                            format!("{} -> {} / {}{}", c.ticket, c.counter_name.ar, c.counter_name.en, if c.recall { " (recall)" } else { "" })
                        });
                        let history: Vec<String> = view.history.iter().map(|c| format!("{}->{}", c.ticket, c.counter)).collect();
                        println!("[{}] {current}{} | {}", if view.online { "online" } else { "OFFLINE" }, if view.highlighted { " *" } else { "" }, history.join(" "));
                    }
                    Some(announcement) = link.announcements.recv() => {
                        println!("  (announce: {})", announcement.parts.iter().flat_map(|(_, k)| k.iter().cloned()).collect::<Vec<_>>().join(" "));
                    }
                }
            }
        }
        Command::MakeVoicePack { out } => {
            make_pack(&out, None)?;
            println!("voice pack written to {}", out.display());
        }
        Command::Announce { lang, ticket, counter, out, voice } => {
            let voice = Voice::load(&voice).context("no voice pack: run `dawr-display-board make-voice-pack` first")?;
            let announcement = Announcement {
                call_id: 0,
                parts: vec![(None, vec!["chime".into()]), (Some(lang), clips(lang, &ticket, &counter))],
            };
            write_wav(&out, &voice.render(&announcement, Some(lang))?, voice.sample_rate())?;
            println!("{}", out.display());
        }
    }
    Ok(())
}
