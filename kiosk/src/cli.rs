//! The `dawr-kiosk` command line (the binary's `main` is [`main`]).
//!
//! ```text
//! dawr-kiosk run [--hub http://127.0.0.1:8080] [--printer tcp:…|file:…] [--paper 80|58] [--windowed]
//! dawr-kiosk screenshot --lang ar|en --screen welcome|services|ticket|checkin --out FILE.png
//!                       [--hub URL] [--printer-failed] [--large-text] [--high-contrast]
//! dawr-kiosk issue --service A [--priority assisted] [--hub http://127.0.0.1:8080]
//!                  [--printer tcp:192.168.1.50:9100 | file:ticket.bin] [--paper 80|58]
//! dawr-kiosk test-print [--printer …] [--paper 80|58]      # a sample ticket, no hub needed
//! ```
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use dawr_i18n::Texts;
use std::path::PathBuf;

use crate::app::{HubLogin, KioskConfig};
use crate::flow::{Input, Kiosk, Printing, Screen};
use crate::printer::{PrinterTarget, print_ticket};
use crate::screen::KioskWindow;
use crate::ticket::{Paper, QrMode, TicketContext};
use chrono::Utc;
use dawr_i18n::Lang;
use dawr_protocol::api::{BranchInfo, IssueTicket, Priority, Ticket};
use dawr_protocol::api::{Names, ServiceSummary};

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
    /// The QR code: `native` (the printer's own command) or `raster` (an image, for printers
    /// without QR support).
    #[arg(long, default_value = "native")]
    qr: QrMode,
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
    /// The touch screen: takes tickets from the hub and prints them.
    #[command(args_override_self = true)]
    Run {
        /// A settings file (TOML): its keys are these flags' names (`mqtt_url = "…"`), read
        /// first, so flags typed here win.
        #[arg(long = "config", value_name = "FILE")]
        _config: Option<PathBuf>,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        hub: String,
        /// The branch's MQTT broker and the kiosk's login, for its presence and printer health.
        #[command(flatten)]
        mqtt: dawr_ui::settings::MqttFlags,
        #[arg(long, default_value = "demo")]
        branch: String,
        #[arg(long, default_value = "kiosk-1")]
        id: String,
        /// A window instead of the full screen.
        #[arg(long)]
        windowed: bool,
        #[command(flatten)]
        print: PrintOptions,
    },
    /// Draws one screen into a PNG without a display, from a running hub or sample data.
    Screenshot {
        #[arg(long, default_value = "ar")]
        lang: Lang,
        /// welcome, services, ticket or checkin
        #[arg(long, default_value = "services")]
        screen: String,
        #[arg(long)]
        out: PathBuf,
        /// Take the branch and services from this hub (and, for the ticket screen, a real ticket).
        #[arg(long)]
        hub: Option<String>,
        /// Show the ticket as the e-ticket a failed printer leaves.
        #[arg(long)]
        printer_failed: bool,
        #[arg(long)]
        large_text: bool,
        #[arg(long)]
        high_contrast: bool,
        #[arg(long, default_value_t = 1080)]
        width: u32,
        #[arg(long, default_value_t = 1920)]
        height: u32,
        /// The kiosk whose account takes the ticket screen's real ticket (HTTP Basic).
        #[arg(long, default_value = "kiosk-1")]
        id: String,
        /// Its account: the same flags as `run` (only the username and password are used).
        #[command(flatten)]
        mqtt: dawr_ui::settings::MqttFlags,
    },
    /// Takes a ticket for a service from the hub and prints it.
    Issue {
        #[arg(long)]
        service: String,
        /// normal or assisted (elderly, disabled)
        #[arg(long, default_value = "normal")]
        priority: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        hub: String,
        /// The kiosk's device id: its enrolled account issues the ticket (HTTP Basic).
        #[arg(long, default_value = "kiosk-1")]
        id: String,
        /// The kiosk's account: the same flags as `run` (only the username and password are used).
        #[command(flatten)]
        mqtt: dawr_ui::settings::MqttFlags,
        #[command(flatten)]
        print: PrintOptions,
    },
    /// Prints a sample ticket, to check a printer (no hub needed).
    TestPrint {
        #[command(flatten)]
        print: PrintOptions,
    },
}

/// Parses the command line and runs the command; an error ends the process with one line on
/// stderr and status 1 (see [`dawr_ui::exit`]).
pub fn main() -> std::process::ExitCode {
    dawr_ui::exit::exit_code("dawr-kiosk", run_command())
}

/// The command the command line names.
fn run_command() -> Result<()> {
    let args = dawr_ui::settings::device_command_line()?;
    match Args::parse_from(args).command {
        Command::Run { hub, mqtt, branch, id, windowed, print, _config } => {
            let (printer, paper) = print.read()?;
            let mqtt = mqtt.endpoint(&id)?;
            crate::app::run(KioskConfig {
                hub: hub.trim_end_matches('/').to_string(),
                printer,
                paper,
                qr: print.qr,
                device: id,
                branch,
                mqtt,
                fullscreen: !windowed,
            })
        }
        Command::Screenshot {
            lang,
            screen,
            out,
            hub,
            printer_failed,
            large_text,
            high_contrast,
            width,
            height,
            id,
            mqtt,
        } => {
            let login = if hub.is_some() { HubLogin::of(&mqtt.endpoint(&id)?) } else { None };
            screenshot(ScreenshotOptions {
                login,
                lang,
                screen,
                out,
                hub,
                printer_failed,
                large_text,
                high_contrast,
                width,
                height,
            })
        }
        command => tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(print_command(command)),
    }
}

struct ScreenshotOptions {
    /// The kiosk's account at the hub, for a real ticket.
    login: Option<HubLogin>,
    lang: Lang,
    screen: String,
    out: PathBuf,
    hub: Option<String>,
    printer_failed: bool,
    large_text: bool,
    high_contrast: bool,
    width: u32,
    height: u32,
}

/// The demo branch's services with made-up waits, for screenshots without a hub (and tests).
pub fn sample_services() -> Vec<ServiceSummary> {
    let service = |code: &str, ar: &str, en: &str, open, waiting, wait_s| ServiceSummary {
        code: code.into(),
        name: Names { ar: ar.into(), en: en.into() },
        open,
        waiting,
        estimated_wait_s: wait_s,
        estimated_wait_range_s: [wait_s / 2, wait_s * 2],
        target_wait_s: 900,
    };
    vec![
        service("A", "الوكالات", "Power of attorney", true, 5, 540),
        service("B", "الإفراغ العقاري", "Real-estate title transfer", true, 2, 300),
        service("C", "التنفيذ", "Enforcement requests", true, 11, 1500),
        service("D", "استفسارات القضايا", "Case inquiries", true, 0, 0),
        service("E", "عقود النكاح", "Marriage contracts", false, 0, 0),
        service("F", "الشكاوى والمقترحات", "Complaints and suggestions", true, 1, 120),
    ]
}

fn screenshot(o: ScreenshotOptions) -> Result<()> {
    let (branch, mut ticket) = crate::ticket::sample();
    let mut services = sample_services();
    let mut branch_name = branch;
    if let Some(hub) = &o.hub {
        let hub = hub.trim_end_matches('/').to_string();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let client = crate::app::http_client().build()?;
        let (info, live, issued) = runtime.block_on(async {
            let info: BranchInfo =
                client.get(format!("{hub}/api/v1/branch")).send().await?.error_for_status()?.json().await?;
            let live: Vec<ServiceSummary> =
                client.get(format!("{hub}/api/v1/services")).send().await?.error_for_status()?.json().await?;
            let issued = if o.screen == "ticket" {
                let open = live.iter().find(|s| s.open).context("no open service to take a ticket for")?;
                let request = IssueTicket {
                    service: open.code.clone(),
                    priority: Priority::Normal,
                    appointment_at: None,
                    request_id: None,
                    sms: None,
                };
                let post = client.post(format!("{hub}/api/v1/tickets")).json(&request);
                let response = HubLogin::sign(o.login.as_ref(), post).send().await?;
                Some(response.error_for_status()?.json::<Ticket>().await?)
            } else {
                None
            };
            anyhow::Ok((info, live, issued))
        })?;
        branch_name = crate::screen::branch_label(&info.name, info.demo, &Texts::new());
        services = live;
        if let Some(issued) = issued {
            ticket = issued;
        }
    }
    let now = Utc::now();
    let mut kiosk = Kiosk::new("screenshot", now);
    kiosk.handle(Input::Services(Some(services)), now);
    if o.screen != "welcome" {
        kiosk.handle(Input::ChooseLanguage(o.lang), now);
    }
    if o.large_text {
        kiosk.handle(Input::ToggleLargeText, now);
    }
    if o.high_contrast {
        kiosk.handle(Input::ToggleHighContrast, now);
    }
    match o.screen.as_str() {
        "welcome" | "services" => {}
        "checkin" => {
            kiosk.handle(Input::OpenCheckIn, now);
            for c in "BK7Q2".chars() {
                kiosk.handle(Input::Key(c), now + chrono::Duration::seconds(1));
            }
        }
        "ticket" => {
            kiosk.screen = Screen::Issuing;
            kiosk.handle(Input::Issued(Ok(Box::new(ticket))), now);
            kiosk.handle(Input::Printed(!o.printer_failed), now);
            debug_assert!(kiosk.printing != Printing::Printing);
        }
        other => bail!("--screen {other}: welcome, services, ticket or checkin"),
    }
    dawr_ui::headless::install()?;
    let window = KioskWindow::new()?;
    crate::screen::show(&window, &kiosk, &branch_name, &Texts::new());
    dawr_ui::headless::snapshot_png(&window, o.width, o.height, &o.out)?;
    println!("{}", o.out.display());
    Ok(())
}

/// `issue` and `test-print`.
async fn print_command(command: Command) -> Result<()> {
    let (service, priority, hub, login, print) = match command {
        Command::Issue { service, priority, hub, id, mqtt, print } => {
            (service, priority, hub, HubLogin::of(&mqtt.endpoint(&id)?), print)
        }
        Command::TestPrint { print } => {
            let (target, paper) = print.read()?;
            let texts = Texts::new();
            let (branch_name, ticket) = crate::ticket::sample();
            let offset = chrono::FixedOffset::east_opt(3 * 3600).expect("valid offset");
            let ctx = TicketContext { branch_name: &branch_name, utc_offset: offset, texts: &texts, qr: print.qr };
            print_ticket(&target, &ctx, paper, &ticket).context("printing")?;
            println!("sample ticket printed");
            return Ok(());
        }
        Command::Run { .. } | Command::Screenshot { .. } => unreachable!("handled in main"),
    };
    let (target, paper) = print.read()?;
    let priority: Priority = serde_json::from_value(serde_json::Value::String(priority.clone()))
        .with_context(|| format!("--priority {priority:?}: normal or assisted"))?;
    let client = crate::app::http_client().build()?;
    let hub = hub.trim_end_matches('/');
    let hub_away = || format!("cannot reach the hub at {hub} (is it running?)");
    let branch: BranchInfo = client
        .get(format!("{hub}/api/v1/branch"))
        .send()
        .await
        .with_context(hub_away)?
        .error_for_status()?
        .json()
        .await?;
    // One key per touch: if the answer is lost and the request is sent again, the hub returns the
    // same ticket instead of issuing a second one.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let request_id = format!("kiosk-{}-{nanos:x}", std::process::id());
    let request = IssueTicket { service, priority, appointment_at: None, request_id: Some(request_id), sms: None };
    let post = client.post(format!("{hub}/api/v1/tickets")).json(&request);
    let response = HubLogin::sign(login.as_ref(), post).send().await?;
    if !response.status().is_success() {
        let message = match response.json::<dawr_protocol::api::ApiError>().await {
            Ok(error) => error.message,
            Err(_) => "unknown error".to_string(),
        };
        bail!("the hub refused the ticket: {message}");
    }
    let ticket: Ticket = response.json().await?;
    let offset = branch.offset().context("the hub's utc_offset")?;
    let texts = Texts::new();
    let ctx = TicketContext { branch_name: &branch.name, utc_offset: offset, texts: &texts, qr: print.qr };
    print_ticket(&target, &ctx, paper, &ticket).context("printing")?;
    println!("{} printed ({})", ticket.number, ticket.status_url);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_settings_file_is_read() {
        let example = concat!(env!("CARGO_MANIFEST_DIR"), "/kiosk.example.toml");
        let args = ["dawr-kiosk", "run", "--config", example, "--paper", "58"].map(std::ffi::OsString::from);
        let args = dawr_ui::settings::expand_config(args.to_vec()).unwrap();
        let Command::Run { id, print, .. } = Args::try_parse_from(args).unwrap().command else { panic!("run") };
        assert_eq!(id, "kiosk-entrance");
        assert_eq!((print.printer.as_str(), print.paper), ("tcp:192.168.1.50:9100", 58), "the command line wins");
    }
}
