//! The conformance kit (`dawr_e2e::conformance`) against Dawr's own hub, on its embedded broker
//! and on Mosquitto: every rule must pass.
use anyhow::Result;
use dawr_e2e::conformance::{HubTarget, check_hub};
use dawr_e2e::{Hub, Mosquitto};

fn target(hub: &Hub) -> Result<HubTarget> {
    Ok(HubTarget {
        broker: hub.mqtt_endpoint(),
        http: hub.url(""),
        branch: "demo".into(),
        counter: "2".into(),
        service: "A".into(),
        button: hub.device("button-2")?,
        second: hub.device("counter-2-app")?,
        display: hub.device("board-1")?,
        kiosk: hub.device("kiosk-1")?,
    })
}

async fn passes(hub: &Hub) -> Result<()> {
    let outcomes = check_hub(&target(hub)?).await?;
    let failed: Vec<String> = outcomes.iter().filter(|o| !o.passed).map(ToString::to_string).collect();
    assert!(failed.is_empty(), "rules failed:\n{}", failed.join("\n"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_passes_the_kit_on_its_embedded_broker() -> Result<()> {
    passes(&Hub::start_embedded().await?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_passes_the_kit_on_mosquitto() -> Result<()> {
    let (mosquitto, data) = Mosquitto::start_secured()?;
    passes(&Hub::start_external_in(mosquitto.port, data).await?).await
}

/// The device side: the kit plays the hub against Dawr's button logic (the firmware's and the
/// simulator's) and the display board's state.
#[test]
fn dawr_devices_pass_the_kit() {
    let outcomes = dawr_e2e::conformance_device::check_dawr_devices();
    let failed: Vec<String> = outcomes.iter().filter(|o| !o.passed).map(ToString::to_string).collect();
    assert!(failed.is_empty(), "rules failed:\n{}", failed.join("\n"));
    assert!(outcomes.iter().all(|o| o.cites != "PROTOCOL.md:?"), "every rule cites a line");
}
