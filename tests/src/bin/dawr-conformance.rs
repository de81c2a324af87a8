//! `dawr-conformance`: the conformance kit's command line. It checks a running hub against
//! `docs/PROTOCOL.md` by playing its devices (`hub`), or a device by playing its hub (`button`,
//! `display`), and prints PASS or FAIL per rule with the line of the document it checks. Exits 1
//! if any rule fails.
//!
//! ```text
//! dawr-conformance hub --mqtt mqtt://127.0.0.1:1883 --http http://127.0.0.1:8080 \
//!     --branch demo --counter 2 --service A \
//!     --button button-2:PASSWORD --second counter-2-app:PASSWORD --display board-1:PASSWORD \
//!     --kiosk kiosk-1:PASSWORD
//! dawr-conformance button --mqtt mqtt://dawr-hub-demo:PASSWORD@127.0.0.1:1883 \
//!     --branch demo --counter 3 --device button-3 \
//!     [--press-cmd 'SHELL COMMAND' | --spawn 'DEVICE PROGRAM' [--press-line n]]
//! dawr-conformance display --mqtt mqtt://dawr-hub-demo:PASSWORD@127.0.0.1:1883 \
//!     --branch demo --device board-1
//! ```
//! For `button` and `display` the kit logs in as the hub (no hub may run on that branch
//! meanwhile). A button is pressed by `--press-cmd` (run once per press), by a line written to
//! the standard input of the program `--spawn` starts, or else by a person told when to press;
//! a display's announcements are confirmed by a person at the screen.
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dawr_e2e::conformance::{HubTarget, Outcome, check_hub};
use dawr_e2e::conformance_mqtt::{
    DeviceTarget, OperatorListener, OperatorPresser, ShellPresser, StdinPresser, check_button, check_display,
};
use dawr_protocol::api::DeviceCredentials;
use dawr_protocol::endpoint::MqttEndpoint;

const USAGE: &str = "usage:
  dawr-conformance hub --mqtt URL --http URL --branch B --counter C --service S --button ID:PW --second ID:PW --display ID:PW --kiosk ID:PW
  dawr-conformance button --mqtt URL-WITH-HUB-LOGIN --branch B --counter C --device ID [--press-cmd CMD | --spawn CMD [--press-line LINE]] [--patience-s N]
  dawr-conformance display --mqtt URL-WITH-HUB-LOGIN --branch B --device ID [--patience-s N]";

fn device(value: &str) -> Result<DeviceCredentials> {
    let (id, password) = value.split_once(':').context("a device is ID:PASSWORD")?;
    Ok(DeviceCredentials { device: id.into(), username: id.into(), password: password.into(), enrol_link: None })
}

/// The value of `--name`, if given.
fn optional(args: &[String], name: &str) -> Result<Option<String>> {
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).cloned().map(Some).with_context(|| format!("{name} needs a value")),
        None => Ok(None),
    }
}

fn value(args: &[String], name: &str) -> Result<String> {
    optional(args, name)?.with_context(|| format!("{name} is required\n{USAGE}"))
}

fn hub_target(args: &[String]) -> Result<HubTarget> {
    Ok(HubTarget {
        broker: MqttEndpoint::parse(&value(args, "--mqtt")?)?,
        http: value(args, "--http")?.trim_end_matches('/').to_string(),
        branch: value(args, "--branch")?,
        counter: value(args, "--counter")?,
        service: value(args, "--service")?,
        button: device(&value(args, "--button")?)?,
        second: device(&value(args, "--second")?)?,
        display: device(&value(args, "--display")?)?,
        kiosk: device(&value(args, "--kiosk")?)?,
    })
}

fn device_target(args: &[String], person: bool) -> Result<DeviceTarget> {
    let branch = value(args, "--branch")?;
    let default_patience = if person { 60 } else { 5 };
    let patience = optional(args, "--patience-s")?.map_or(Ok(default_patience), |s| s.parse())?;
    Ok(DeviceTarget {
        broker: MqttEndpoint::parse(&value(args, "--mqtt")?)?,
        counter: optional(args, "--counter")?.unwrap_or_default(),
        device: value(args, "--device")?,
        kit_client_id: format!("dawr-hub-{branch}"),
        branch,
        patience: Duration::from_secs(patience),
    })
}

async fn check_a_button(args: &[String]) -> Result<Vec<Outcome>> {
    if let Some(command) = optional(args, "--press-cmd")? {
        let target = device_target(args, false)?;
        return check_button(&target, &mut ShellPresser(command)).await;
    }
    if let Some(program) = optional(args, "--spawn")? {
        let line = optional(args, "--press-line")?.unwrap_or_else(|| "n".into());
        let mut presser = StdinPresser::spawn(&program, &line)?;
        return check_button(&device_target(args, false)?, &mut presser).await;
    }
    check_button(&device_target(args, true)?, &mut OperatorPresser).await
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    let outcomes = match args.first().map(String::as_str) {
        Some("hub") => check_hub(&hub_target(rest)?).await?,
        Some("button") => {
            value(rest, "--counter")?;
            check_a_button(rest).await?
        }
        Some("display") => check_display(&device_target(rest, true)?, &mut OperatorListener).await?,
        _ => bail!("{USAGE}"),
    };
    for outcome in &outcomes {
        println!("{outcome}");
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    println!("{} rules, {failed} failed", outcomes.len());
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}
