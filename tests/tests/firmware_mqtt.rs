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

/// Issue #22, item 4, on Mosquitto locked down by `dawr-hub mosquitto-config`: a signed image is
/// published (a bad signature is refused), a manager offers it to button-1 only; the simulated
/// button-1 downloads it in chunks (restarting once mid-download, it resumes from its offset),
/// verifies it, "reboots" into it and confirms; button-2 is never offered it. Then a version that
/// cannot reach the broker is rolled back, and the hub shows each button's state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signed_image_updates_only_the_chosen_button_and_a_broken_one_rolls_back() -> Result<()> {
    use dawr_e2e::MqttProbe;
    use dawr_e2e::button::SIM_FIRMWARE_VERSION;
    use dawr_e2e::update_sim::{UpdatePlan, run};
    use dawr_firmware_logic::update::State;
    use dawr_protocol::api::DeviceInfo;
    use dawr_protocol::device::{UpdateStage, hex_decode};

    let (mosquitto, data) = Mosquitto::start_secured()?;
    let hub = Hub::start_external_in(mosquitto.port, data).await?;
    let keys = tempfile::tempdir()?;
    let key_file = keys.path().join("release.key");
    let key_path = key_file.to_str().unwrap();
    let public = hub.firmware_command(&["keygen", "--out", key_path])?.trim().to_string();
    hub.firmware_command(&["trust", "--public-key", &public])?;
    let release_key = hex_decode::<32>(&public).expect("a public key");

    let publish = |version: &str, image: &[u8]| -> Result<()> {
        let file = keys.path().join(format!("{version}.bin"));
        std::fs::write(&file, image)?;
        let file = file.to_str().unwrap();
        // A signature over another version's manifest is refused with a clear message.
        let other = hub.firmware_command(&["sign", "--key", key_path, file, "--version", "9.9.9"])?;
        let refused = hub.firmware_command(&["publish", file, "--version", version, "--signature", other.trim()]);
        let refused = refused.expect_err("a bad signature is refused").to_string();
        assert!(refused.contains("does not verify with the release key"), "{refused}");
        let signature = hub.firmware_command(&["sign", "--key", key_path, file, "--version", version])?;
        hub.firmware_command(&["publish", file, "--version", version, "--signature", signature.trim()])?;
        Ok(())
    };
    let image: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    publish("0.9.0", &image)?;

    // button-2 listens on its own offer topic: nothing may come.
    let mut bystander = MqttProbe::connect(mosquitto.port, &hub.device("button-2")?).await?;
    bystander.subscribe("dawr/v1/demo/devices/button-2/update/offer").await?;
    bystander.subscribe("dawr/v1/demo/devices/button-2/update/chunk").await?;

    let (status, body) =
        hub.manager_post("/api/v1/firmware/rollouts", json!({"version": "0.9.0", "devices": ["button-1"]})).await?;
    assert_eq!(status, 200, "{body}");
    let (status, body) =
        hub.manager_post("/api/v1/firmware/rollouts", json!({"version": "0.9.0", "devices": ["kiosk-1"]})).await?;
    assert_eq!((status, body["error"].as_str()), (400, Some("malformed")), "only buttons: {body}");
    // button-2 asks for the image offered to button-1: answered with the reason, not silence.
    let request = br#"{"version":"0.9.0","offset":0,"len":1024}"#.to_vec();
    bystander.publish("dawr/v1/demo/devices/button-2/update/request", request).await?;
    let answer = bystander.next_on("dawr/v1/demo/devices/button-2/update/chunk", Duration::from_secs(10)).await;
    let answer = answer.expect("an answer").json();
    assert_eq!((answer["error"].as_str(), answer.get("data")), (Some("not_offered"), None), "{answer}");

    let plan = |device: &str, cannot_connect: bool| -> Result<UpdatePlan> {
        Ok(UpdatePlan {
            broker: hub.endpoint_as(&hub.device(device)?),
            branch: "demo".into(),
            device: device.into(),
            running: SIM_FIRMWARE_VERSION.into(),
            release_key,
            trial_ms: 1_500,
            new_version_cannot_connect: cannot_connect,
            reboot_after_chunks: Some(5),
            deadline: Duration::from_secs(20),
        })
    };
    let outcome = run(plan("button-1", false)?).await?;
    assert_eq!(outcome.state, State::Confirmed { version: "0.9.0".try_into().unwrap() }, "{outcome:?}");
    assert_eq!(outcome.running, "0.9.0");
    assert_eq!(outcome.resumed_from, Some(5 * 1024), "resumed where it stopped");
    assert_eq!(outcome.chunks, 20, "every chunk once: {outcome:?}");
    let stages: Vec<UpdateStage> = outcome.reports.iter().map(|r| r.stage).collect();
    // On trial it reports only once it has reached the broker: by then it is confirmed.
    for stage in [UpdateStage::Downloading, UpdateStage::Swapping, UpdateStage::Confirmed] {
        assert!(stages.contains(&stage), "{stage:?} in {stages:?}");
    }

    let listed = |device: &'static str, stage: UpdateStage, firmware: &'static str| {
        let hub = &hub;
        async move {
            wait_until(Duration::from_secs(10), || async {
                let Ok((_, list)) = hub.manager_get("/api/v1/devices").await else { return false };
                let list: Vec<DeviceInfo> = serde_json::from_value(list).unwrap_or_default();
                list.iter().any(|d| {
                    d.device == device
                        && d.update.as_ref().is_some_and(|u| u.stage == stage)
                        && d.firmware.as_deref() == Some(firmware)
                })
            })
            .await
        }
    };
    assert!(listed("button-1", UpdateStage::Confirmed, "0.9.0").await, "the hub shows button-1 confirmed on 0.9.0");
    let (_, list) = hub.manager_get("/api/v1/devices").await?;
    let list: Vec<DeviceInfo> = serde_json::from_value(list)?;
    let button1 = list.iter().find(|d| d.device == "button-1").expect("button-1");
    assert_eq!(button1.offered.as_deref(), Some("0.9.0"));
    let button2 = list.iter().find(|d| d.device == "button-2").expect("button-2");
    assert_eq!((&button2.offered, &button2.update), (&None, &None), "{button2:?}");
    assert!(bystander.next_any(Duration::from_millis(300)).await.is_none(), "button-2 got nothing");

    // A version that cannot reach the broker: the trial runs out and the old one comes back.
    let broken: Vec<u8> = image.iter().rev().copied().collect();
    publish("0.9.1", &broken)?;
    let (status, _) =
        hub.manager_post("/api/v1/firmware/rollouts", json!({"version": "0.9.1", "devices": ["button-3"]})).await?;
    assert_eq!(status, 200);
    let outcome = run(UpdatePlan { reboot_after_chunks: None, ..plan("button-3", true)? }).await?;
    assert_eq!(outcome.state, State::RolledBack { version: "0.9.1".try_into().unwrap() }, "{outcome:?}");
    assert_eq!(outcome.running, SIM_FIRMWARE_VERSION);
    assert!(
        listed("button-3", UpdateStage::RolledBack, SIM_FIRMWARE_VERSION).await,
        "the hub shows button-3 rolled back, on its old version"
    );
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (today - chrono::Days::new(1), today + chrono::Days::new(1));
    let (_, audit) = hub.manager_get(&format!("/api/v1/audit?from={from}&to={to}&limit=500")).await?;
    let offered = audit["entries"].as_array().into_iter().flatten().filter(|e| e["action"] == "firmware_offered");
    assert!(offered.clone().any(|e| e["actor"] == "m001" && e["subject"] == "button-1"), "{audit}");
    Ok(())
}
