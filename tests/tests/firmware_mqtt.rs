//! The firmware's own MQTT session code (`dawr_firmware_logic::mqtt`) over a real TCP socket to
//! real brokers: the embedded one in the hub, and Mosquitto. Together with the device logic this
//! is exactly what runs on the Pico W, minus Wi-Fi.
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use dawr_e2e::firmware::{Got, Wire};
use dawr_e2e::{Hub, Mosquitto, wait_until};
use dawr_firmware_logic::mqtt::Login;
use dawr_firmware_logic::{Config, Device, Key, Mode, Press};
use serde_json::json;

const CONFIG: Config<'static> = Config { branch: "demo", counter: "3", device: "fw-button-3", mode: Mode::Counter };
/// The button's account, as `device.toml` gives it to the firmware build.
const PASSWORD: &str = "fw-button-3-secret";
const HUB_PASSWORD: &str = "hub-secret";

/// Sends the firmware's CONNECT with `login` and reads the broker's answer.
async fn connect(port: u16, login: Login<'_>, device: &Device<'_>) -> Result<(Wire, Result<Got>)> {
    let mut wire = Wire::connect(port).await?;
    let mut out = [0u8; 1024];
    let will = device.last_will();
    let n = wire.session.connect(login, (will.topic.as_str(), &will.payload), wire.now(), &mut out).unwrap();
    wire.send(&out[..n]).await?;
    let answer = wire.next(Duration::from_secs(5)).await;
    Ok((wire, answer))
}

/// Whether the hub lists `device` with presence `status` (`GET /api/v1/devices`: only the hub
/// reads devices' status topics), within `within`.
async fn hub_sees(hub: &Hub, device: &str, status: &str, within: Duration) -> bool {
    wait_until(within, || async {
        let Ok((_, devices)) = hub.manager_get("/api/v1/devices").await else { return false };
        devices.as_array().is_some_and(|list| list.iter().any(|d| d["device"] == device && d["status"] == status))
    })
    .await
}

/// Connects like the firmware does, with its username and password, and presses "next" on
/// counter 3.
async fn firmware_presses_next(port: u16, hub: &Hub, password: &str) -> Result<()> {
    let (status, _) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    assert_eq!(status, 201);

    let mut device = Device::new(CONFIG, 0xb007);
    // A device enrolled a moment ago is known to the hub's broker within a second or two.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut wire = loop {
        let (wire, answer) = connect(port, Login::new(CONFIG.device, CONFIG.device, password), &device).await?;
        match answer {
            Ok(Got::Connected) => break wire,
            Err(e) if Instant::now() < deadline && e.to_string().contains("Refused(4)") => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            other => bail!("the button's connect: {other:?}"),
        }
    };
    let mut out = [0u8; 1024];
    let topics = device.subscriptions();
    let n = wire.session.subscribe(&[topics[0].as_str(), topics[1].as_str()], wire.now(), &mut out).unwrap();
    wire.send(&out[..n]).await?;
    let online = device.online_presence(wire.now());
    let n = wire.session.publish(&online.topic, &online.payload, true, wire.now(), &mut out).unwrap();
    wire.send(&out[..n]).await?;
    let now = wire.now();
    assert_eq!(device.connected(now), None);

    // The retained counter state arrives; then the press goes out and its reply comes back.
    let mut pressed = false;
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Got::Message(topic, payload) = wire.next(Duration::from_secs(5)).await? {
            let now = wire.now();
            device.received(&topic, &payload, now);
        }
        if !pressed && device.view().waiting == Some(1) {
            let now = wire.now();
            let command = device.press(Key::Next, Press::Short, now).expect("a command");
            let n = wire.session.publish(&command.topic, &command.payload, false, now, &mut out).unwrap();
            wire.send(&out[..n]).await?;
            pressed = true;
        }
        if pressed && !device.view().pending && device.view().ticket == Some("A001") {
            break;
        }
    }
    assert_eq!(device.view().ticket, Some("A001"), "{:?}", device.view());
    assert!(!device.view().pending);
    let (_, ticket) = hub.get("/api/v1/tickets/1").await?;
    assert_eq!(ticket["counter"], "3");

    // The device vanishes without a goodbye: the broker publishes its last will.
    assert!(hub_sees(hub, "fw-button-3", "online", Duration::from_secs(5)).await, "the button announced itself");
    drop(wire);
    let will = hub_sees(hub, "fw-button-3", "offline", Duration::from_secs(10)).await;
    assert!(will, "the last will was published: {}", hub.log());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_firmware_session_works_with_the_embedded_broker() -> Result<()> {
    // The button is enrolled; its presence is read from the hub (devices may not read it).
    let hub = Hub::start_embedded().await?;
    let button = hub.enrol(CONFIG.device, "button", Some(CONFIG.counter))?;
    firmware_presses_next(hub.mqtt_port(), &hub, &button.password).await
}

/// Mosquitto with `allow_anonymous false` and a password file: the firmware's CONNECT carries
/// its username and password (without them, or with a wrong password, it is refused), and the
/// hub logs in with its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_firmware_session_logs_in_to_mosquitto() -> Result<()> {
    let mosquitto = Mosquitto::start_with_logins(&[("dawr-hub-demo", HUB_PASSWORD), (CONFIG.device, PASSWORD)])?;
    let device = Device::new(CONFIG, 0xb007);
    for login in [Login::anonymous(CONFIG.device), Login::new(CONFIG.device, CONFIG.device, "wrong")] {
        let (_, answer) = connect(mosquitto.port, login, &device).await?;
        let refused = answer.expect_err("refused").to_string();
        // CONNACK return code 5 (not authorised); Mosquitto may also just close the socket.
        assert!(refused.contains("Refused(5)") || refused.contains("closed"), "{login:?}: {refused}");
    }
    let hub = Hub::start_external_with_password(mosquitto.port, HUB_PASSWORD).await?;
    firmware_presses_next(mosquitto.port, &hub, PASSWORD).await
}
