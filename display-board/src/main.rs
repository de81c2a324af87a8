//! `dawr-display-board`: for now the voice commands (the screen comes next).
//!
//! ```text
//! dawr-display-board make-voice-pack [--out voice]              # speaks the default pack (espeak-ng)
//! dawr-display-board announce --lang ar|en --ticket A017 --counter 3 --out call.wav [--voice voice]
//! ```
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use dawr_display_board::announce::{Announcement, clips};
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

fn main() -> Result<()> {
    match Args::parse().command {
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
