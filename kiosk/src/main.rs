//! `dawr-kiosk`: for now, the printing commands (the touch screen is to come).
//!
//! ```text
//! dawr-kiosk issue --service A [--priority assisted] [--hub http://127.0.0.1:8080]
//!                  [--printer tcp:192.168.1.50:9100 | file:ticket.bin] [--paper 80|58]
//! dawr-kiosk test-print [--printer …] [--paper 80|58]      # a sample ticket, no hub needed
//! ```
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use dawr_i18n::Texts;
use dawr_kiosk::printer::{PrinterTarget, print_ticket};
use dawr_kiosk::ticket::{Paper, TicketContext};
use dawr_protocol::api::{BranchInfo, IssueTicket, Priority, Ticket};

#[derive(Parser)]
#[command(name = "dawr-kiosk", version, about = "Dawr's entrance kiosk")]
struct Args {
    #[command(subcommand)]
    command: Command,
}

/// Where and on what to print.
#[derive(clap::Args)]
struct PrintOptions {
    /// file:PATH or tcp:HOST:PORT
    #[arg(long, default_value = "tcp:127.0.0.1:9100")]
    printer: String,
    /// Paper width in millimetres: 80 or 58.
    #[arg(long, default_value_t = 80)]
    paper: u32,
}

impl PrintOptions {
    fn read(&self) -> Result<(PrinterTarget, Paper)> {
        let paper = match self.paper {
            80 => Paper::Mm80,
            58 => Paper::Mm58,
            other => bail!("--paper {other}: 80 or 58"),
        };
        Ok((self.printer.parse()?, paper))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Takes a ticket for a service from the hub and prints it.
    Issue {
        #[arg(long)]
        service: String,
        /// normal or assisted (elderly, disabled)
        #[arg(long, default_value = "normal")]
        priority: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        hub: String,
        #[command(flatten)]
        print: PrintOptions,
    },
    /// Prints a sample ticket, to check a printer (no hub needed).
    TestPrint {
        #[command(flatten)]
        print: PrintOptions,
    },
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let (service, priority, hub, print) = match Args::parse().command {
        Command::Issue { service, priority, hub, print } => (service, priority, hub, print),
        Command::TestPrint { print } => {
            let (target, paper) = print.read()?;
            let texts = Texts::new();
            let (branch_name, ticket) = dawr_kiosk::ticket::sample();
            let offset = chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset");
            let ctx = TicketContext { branch_name: &branch_name, utc_offset: offset, texts: &texts };
            print_ticket(&target, &ctx, paper, &ticket).context("printing")?;
            println!("sample ticket printed");
            return Ok(());
        }
    };
    let (target, paper) = print.read()?;
    let priority: Priority = serde_json::from_value(serde_json::Value::String(priority.clone()))
        .with_context(|| format!("--priority {priority:?}: normal or assisted"))?;
    let client = reqwest::Client::new();
    let hub = hub.trim_end_matches('/');
    let branch: BranchInfo =
        client.get(format!("{hub}/api/v1/branch")).send().await?.error_for_status()?.json().await?;
    // One key per touch: if the answer is lost and the request is sent again, the hub returns the
    // same ticket instead of issuing a second one.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let request_id = format!("kiosk-{}-{nanos:x}", std::process::id());
    let request = IssueTicket { service, priority, appointment_at: None, request_id: Some(request_id) };
    let response = client.post(format!("{hub}/api/v1/tickets")).json(&request).send().await?;
    if !response.status().is_success() {
        let error: serde_json::Value = response.json().await.unwrap_or_default();
        bail!("the hub refused the ticket: {}", error["message"].as_str().unwrap_or("unknown error"));
    }
    let ticket: Ticket = response.json().await?;
    let offset = parse_offset(&branch.utc_offset).context("the hub's utc_offset")?;
    let texts = Texts::new();
    let ctx = TicketContext { branch_name: &branch.name, utc_offset: offset, texts: &texts };
    print_ticket(&target, &ctx, paper, &ticket).context("printing")?;
    println!("{} printed ({})", ticket.number, ticket.status_url);
    Ok(())
}

/// Reads `+03:00`.
fn parse_offset(text: &str) -> Option<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(&format!("2000-01-01T00:00:00{text}")).ok().map(|d| *d.offset())
}
