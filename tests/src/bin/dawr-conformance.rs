//! `dawr-conformance hub`: checks a running hub against `docs/PROTOCOL.md` by playing its
//! devices, and prints PASS or FAIL per rule with the line of the document it checks. Exits 1 if
//! any rule fails.
//!
//! ```text
//! dawr-conformance hub --mqtt mqtt://127.0.0.1:1883 --http http://127.0.0.1:8080 \
//!     --branch demo --counter 2 --service A \
//!     --button button-2:PASSWORD --second counter-2-app:PASSWORD --display board-1:PASSWORD \
//!     --kiosk kiosk-1:PASSWORD
//! ```
use anyhow::{Context, Result, bail};
use dawr_e2e::conformance::{HubTarget, check_hub};
use dawr_protocol::api::DeviceCredentials;
use dawr_protocol::endpoint::MqttEndpoint;

fn device(value: &str) -> Result<DeviceCredentials> {
    let (id, password) = value.split_once(':').context("a device is ID:PASSWORD")?;
    Ok(DeviceCredentials { device: id.into(), username: id.into(), password: password.into(), enrol_link: None })
}

fn target(args: &[String]) -> Result<HubTarget> {
    let value = |name: &str| -> Result<String> {
        let i = args.iter().position(|a| a == name).with_context(|| format!("{name} is required"))?;
        args.get(i + 1).cloned().with_context(|| format!("{name} needs a value"))
    };
    Ok(HubTarget {
        broker: MqttEndpoint::parse(&value("--mqtt")?)?,
        http: value("--http")?.trim_end_matches('/').to_string(),
        branch: value("--branch")?,
        counter: value("--counter")?,
        service: value("--service")?,
        button: device(&value("--button")?)?,
        second: device(&value("--second")?)?,
        display: device(&value("--display")?)?,
        kiosk: device(&value("--kiosk")?)?,
    })
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) != Some("hub") {
        bail!(
            "usage: dawr-conformance hub --mqtt URL --http URL --branch B --counter C --service S --button ID:PW --second ID:PW --display ID:PW --kiosk ID:PW"
        );
    }
    let outcomes = check_hub(&target(&args[1..])?).await?;
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
