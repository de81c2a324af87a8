//! The conformance kit against Dawr's own code, on the embedded broker and on Mosquitto: the hub
//! (`dawr_e2e::conformance`, the kit playing its devices) and the devices
//! (`dawr_e2e::conformance_mqtt`, the kit playing the hub: the button simulator, the firmware's
//! MQTT session, the display board's link). Every rule must pass.
use std::time::Duration;

use anyhow::Result;
use dawr_display_board::board::BoardFilter;
use dawr_display_board::link::{BoardLink, LinkConfig};
use dawr_e2e::button::SimButton;
use dawr_e2e::conformance::{HubTarget, Outcome, check_hub};
use dawr_e2e::conformance_mqtt::{DeviceTarget, Presser, check_button, check_display};
use dawr_e2e::firmware::{FirmwareButton, FirmwareConfig};
use dawr_e2e::{Hub, Mosquitto};
use dawr_firmware_logic::Mode;
use dawr_protocol::device::{Action, Command};
use dawr_protocol::endpoint::MqttEndpoint;
use rumqttc::QoS;

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

/// The kit's logins on the device brokers below: the kit itself (one per device it checks at
/// once) and the devices under test.
const KIT: (&str, &str) = ("dawr-hub-demo", "kit-secret");
const DEVICES: [(&str, &str); 4] = [
    ("button-3", "b3-secret"),
    ("fw-button-4", "fw4-secret"),
    ("board-1", "board-secret"),
    ("v1-button-5", "v1-secret"),
];

fn login(port: u16, (user, password): (&str, &str)) -> MqttEndpoint {
    MqttEndpoint::parse(&format!("mqtt://{user}:{password}@127.0.0.1:{port}")).expect("a broker URL")
}

fn password(device: &str) -> String {
    DEVICES.iter().find(|(d, _)| *d == device).map(|(_, p)| p.to_string()).unwrap_or_default()
}

fn device_target(port: u16, counter: &str, device: &str) -> DeviceTarget {
    DeviceTarget {
        broker: login(port, KIT),
        branch: "demo".into(),
        counter: counter.into(),
        device: device.into(),
        kit_client_id: format!("dawr-conformance-{device}"),
        patience: Duration::from_secs(5),
    }
}

fn failures(name: &str, outcomes: &[Outcome]) -> Vec<String> {
    for outcome in outcomes {
        println!("{name}: {outcome}");
    }
    assert!(outcomes.iter().all(|o| o.cites != "PROTOCOL.md:?"), "every rule cites a line");
    outcomes.iter().filter(|o| !o.passed).map(|o| format!("{name}: {o}")).collect()
}

/// A v1 button done wrong, as the kit must catch: no `device`, and a lost reply is sent again
/// with a new id (a second visitor called).
struct CarelessButton {
    probe: dawr_e2e::MqttProbe,
    sent: u32,
}

impl Presser for CarelessButton {
    fn press(&mut self) -> Result<()> {
        self.sent += 1;
        let command =
            Command::new(heapless::String::try_from(format!("v1-{}", self.sent).as_str()).unwrap(), Action::Next);
        let client = self.probe.client.clone();
        let payload = serde_json::to_vec(&command)?;
        tokio::spawn(async move {
            let _ = client.publish("dawr/v1/demo/counters/5/command", QoS::AtLeastOnce, false, payload).await;
        });
        Ok(())
    }
}

/// Dawr's devices on one broker at `port`, each checked by the kit playing the hub: the button
/// simulator's code, the firmware's MQTT session and logic, and the display board's MQTT link
/// (headless); and a careless v1 button the kit must fail.
async fn dawr_devices_pass_the_kit_on(port: u16) -> Result<()> {
    let mut sim = SimButton::start(&login(port, DEVICES[0]), "demo", "3", Mode::Counter, 7)?;
    let mut firmware = FirmwareButton::start(FirmwareConfig {
        port,
        branch: "demo".into(),
        counter: "4".into(),
        device: "fw-button-4".into(),
        password: password("fw-button-4"),
    });
    let mut board = BoardLink::start(LinkConfig {
        mqtt: login(port, DEVICES[2]),
        branch: "demo".into(),
        device: "board-1".into(),
        filter: BoardFilter::default(),
        highlight: chrono::Duration::seconds(8),
        history: 5,
    })?;
    let careless_login = login(port, DEVICES[3]);
    let will = Some(("dawr/v1/demo/devices/v1-button-5/status", r#"{"status":"offline"}"#));
    let probe = dawr_e2e::MqttProbe::connect_to(&careless_login, "v1-button-5", will).await?;
    probe
        .client
        .publish("dawr/v1/demo/devices/v1-button-5/status", QoS::AtLeastOnce, true, r#"{"status":"online"}"#)
        .await?;
    let mut careless = CarelessButton { probe, sent: 0 };

    let targets = [
        device_target(port, "3", "button-3"),
        device_target(port, "4", "fw-button-4"),
        device_target(port, "", "board-1"),
        device_target(port, "5", "v1-button-5"),
    ];
    let (sim_outcomes, firmware_outcomes, board_outcomes, careless_outcomes) = tokio::join!(
        check_button(&targets[0], &mut sim),
        check_button(&targets[1], &mut firmware),
        check_display(&targets[2], &mut board),
        check_button(&targets[3], &mut careless),
    );
    let mut failed = failures("dawr-button-sim", &sim_outcomes?);
    failed.extend(failures("firmware", &firmware_outcomes?));
    failed.extend(failures("display-board", &board_outcomes?));
    assert!(failed.is_empty(), "rules failed:\n{}", failed.join("\n"));

    let careless = careless_outcomes?;
    let verdict = |rule: &str| careless.iter().find(|o| o.rule == rule).map(|o| o.passed);
    assert_eq!(verdict("presence-online-retained"), Some(true), "{careless:#?}");
    assert_eq!(verdict("command-names-device-and-id"), Some(false), "no `device`: {careless:#?}");
    assert_eq!(verdict("lost-reply-resent-same-id"), Some(false), "never resent: {careless:#?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dawr_devices_pass_the_kit_on_the_embedded_broker() -> Result<()> {
    let port = dawr_e2e::free_port();
    let users = std::iter::once(KIT).chain(DEVICES).map(|(u, p)| (u.to_string(), p.to_string())).collect();
    dawr_hub::broker::start(([127, 0, 0, 1], port).into(), users)?;
    // rumqttd starts listening on its own thread a moment later.
    let listening = || async move { tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() };
    assert!(dawr_e2e::wait_until(Duration::from_secs(10), listening).await, "rumqttd listens on {port}");
    dawr_devices_pass_the_kit_on(port).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dawr_devices_pass_the_kit_on_mosquitto() -> Result<()> {
    let mosquitto = Mosquitto::start_with_logins(&std::iter::once(KIT).chain(DEVICES).collect::<Vec<_>>())?;
    dawr_devices_pass_the_kit_on(mosquitto.port).await
}
