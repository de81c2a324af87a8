//! Device identity (issue 14): only enrolled devices speak MQTT, each only on its own topics —
//! through the hub's embedded broker (its gate) and through Debian's Mosquitto configured by
//! `dawr-hub mosquitto-config`. And a button provisioned over USB serial (issue 22): `dawr-hub
//! devices provision` against a pseudo-terminal whose other end speaks the firmware's protocol.
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use dawr_e2e::{Hub, Mosquitto, MqttProbe, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn topic(rest: &str) -> String {
    format!("dawr/v1/demo/{rest}")
}

/// The broker under test and how a revocation reaches it.
enum Broker {
    Embedded,
    Mosquitto(Mosquitto, PathBuf),
}

impl Broker {
    /// After `devices add|revoke`: the embedded gate re-reads the table itself; Mosquitto gets
    /// its files rewritten and a SIGHUP.
    fn apply(&self) -> Result<()> {
        match self {
            Broker::Embedded => Ok(()),
            Broker::Mosquitto(m, data) => m.reload(data),
        }
    }
}

async fn embedded() -> Result<(Hub, Broker)> {
    Ok((Hub::start_embedded().await?, Broker::Embedded))
}

async fn mosquitto() -> Result<(Hub, Broker)> {
    let (mosquitto, data) = Mosquitto::start_secured()?;
    let dir = data.path().to_path_buf();
    let hub = Hub::start_external_in(mosquitto.port, data).await?;
    Ok((hub, Broker::Mosquitto(mosquitto, dir)))
}

fn hub_connections(hub: &Hub) -> usize {
    hub.log().matches("connected to the MQTT broker").count()
}

/// Anonymous, wrong password, a button on its own counter and nowhere else, the hub's client id,
/// and a revocation within 5 s.
async fn identity_scenario(hub: Hub, broker: Broker) -> Result<()> {
    let port = hub.mqtt_port();
    let button = hub.device("button-2")?;

    // No account, or a wrong password: refused.
    let anonymous = MqttProbe::try_connect(port, "someone", None, None).await?;
    assert!(anonymous.is_err(), "an anonymous client was admitted");
    let wrong = MqttProbe::try_connect(port, "button-2", Some(("button-2", "not-the-password")), None).await?;
    assert!(wrong.is_err(), "a wrong password was admitted");

    // The enrolled button of counter 2 calls the next visitor.
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let mut display = MqttProbe::connect(port, &hub.device("board-1")?).await?;
    display.subscribe(&topic("calls")).await?;
    let mut press = MqttProbe::connect(port, &button).await?;
    press.subscribe(&topic("counters/2/reply")).await?;
    press.publish(&topic("counters/2/command"), r#"{"id":"p-1","action":"next"}"#).await?;
    let reply = press.next_on(&topic("counters/2/reply"), WAIT).await.context("a reply")?.json();
    assert_eq!((reply["ok"].as_bool(), reply["ticket"].as_str()), (Some(true), Some("A001")), "{reply}");
    let call = display.next_on(&topic("calls"), WAIT).await.context("the call")?.json();
    assert_eq!((call["ticket"].as_str(), call["counter"].as_str()), (Some("A001"), Some("2")));

    // The same credentials elsewhere change nothing: counter 3's command, a forged call, a
    // forged retained board; it cannot read another counter's replies either.
    // (The gate refuses the subscription; Mosquitto 2.0 grants it but delivers nothing, not
    // even counter 3's retained state, which the hub keeps there.)
    let codes = press.try_subscribe(&topic("counters/3/state")).await?;
    if matches!(broker, Broker::Embedded) {
        assert!(codes.iter().all(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure)), "{codes:?}");
    }
    press.publish(&topic("counters/3/command"), r#"{"id":"p-2","action":"next"}"#).await?;
    let forged_call = json!({"id": 999, "ticket": "X999", "counter": "2", "service": "A", "recall": false,
        "at": "2030-01-01T00:00:00Z", "service_name": {"ar": "x", "en": "FORGED"}, "counter_name": {"ar": "x", "en": "FORGED"}});
    press.publish(&topic("calls"), forged_call.to_string()).await?;
    press.client.publish(topic("board"), rumqttc::QoS::AtLeastOnce, true, br#"{"forged":true}"#.to_vec()).await?;
    // A recall after them: its call is the next one the display sees (the forged call would
    // have come first), and by its reply the hub has read everything sent before it.
    press.publish(&topic("counters/2/command"), r#"{"id":"p-3","action":"recall"}"#).await?;
    loop {
        let msg = press.next_any(WAIT).await.context("the recall's reply")?;
        assert!(!msg.topic.contains("/counters/3/"), "counter 2's button read {}", msg.topic);
        if msg.topic == topic("counters/2/reply") {
            assert_eq!(msg.json()["id"], "p-3", "no reply to counter 3's command reached counter 2's device");
            break;
        }
    }
    let next_call = display.next_on(&topic("calls"), WAIT).await.context("the recall")?.json();
    assert_eq!(
        (next_call["ticket"].as_str(), next_call["recall"].as_bool()),
        (Some("A001"), Some(true)),
        "{next_call}"
    );
    // Counter 3 serves service A too: had its forged `next` gone through, A002 would be called.
    let (_, second) = hub.get("/api/v1/tickets/2").await?;
    assert_eq!(second["status"], "waiting", "counter 3 called nobody: {second}");
    // A display connecting now reads the hub's board, not the forged one.
    drop(display);
    let mut late = MqttProbe::connect(port, &hub.device("board-1")?).await?;
    late.subscribe(&topic("board")).await?;
    let board = late.next_on(&topic("board"), WAIT).await.context("a retained board")?.json();
    assert!(board.get("forged").is_none(), "the forged board was kept: {board}");
    assert_eq!(board["calls"][0]["ticket"], "A001", "{board}");

    // A device account taking the hub's client id: refused (embedded), or renamed to its own
    // username (Mosquitto's use_username_as_clientid); either way the hub stays connected.
    // (One connection per client id at a time: the broker drops the older one.)
    drop(press);
    let before = hub_connections(&hub);
    let taker = MqttProbe::try_connect(port, "dawr-hub-demo", Some(("button-2", &button.password)), None).await?;
    if matches!(broker, Broker::Embedded) {
        assert!(taker.is_err(), "the hub's client id was given to a device");
    }
    drop(taker);
    let mut again = MqttProbe::connect(port, &button).await?;
    again.subscribe(&topic("counters/2/reply")).await?;
    again.publish(&topic("counters/2/command"), r#"{"id":"p-4","action":"recall"}"#).await?;
    let reply = again.next_on(&topic("counters/2/reply"), WAIT).await.context("the hub still answers")?.json();
    assert_eq!(reply["id"], "p-4");
    assert_eq!(hub_connections(&hub), before, "the hub was knocked off the broker:\n{}", hub.log());
    drop((again, late));

    // A revoked device is disconnected and refused within 5 s.
    let extra = hub.enrol("button-2b", "button", Some("2"))?;
    broker.apply()?;
    assert!(wait_until(WAIT, || futures_connect(port, &extra)).await, "the new device was never admitted");
    let live = MqttProbe::connect(port, &extra).await?;
    hub.revoke("button-2b")?;
    broker.apply()?;
    let revoked_at = std::time::Instant::now();
    assert!(wait_until(Duration::from_secs(5), || async { !live.link().up }).await, "still connected after 5 s");
    let refused = MqttProbe::try_connect(port, "button-2b", Some(("button-2b", &extra.password)), None).await?;
    assert!(refused.is_err(), "a revoked device was admitted");
    assert!(revoked_at.elapsed() < Duration::from_secs(5));
    Ok(())
}

/// Whether the device can connect now (a freshly enrolled one may need a reload to land).
async fn futures_connect(port: u16, device: &dawr_e2e::DeviceCredentials) -> bool {
    let login = Some((device.username.as_str(), device.password.as_str()));
    matches!(MqttProbe::try_connect(port, &device.username, login, None).await, Ok(Ok(_)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_enrolled_devices_on_their_own_topics_through_the_embedded_broker() -> Result<()> {
    let (hub, broker) = embedded().await?;
    identity_scenario(hub, broker).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_enrolled_devices_on_their_own_topics_through_mosquitto() -> Result<()> {
    let (hub, broker) = mosquitto().await?;
    identity_scenario(hub, broker).await
}

/// The hub's resident memory (VmRSS) in KiB.
fn rss_kib(hub: &Hub) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{}/status", hub.pid().context("the hub runs")?))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).context("VmRSS")?;
    Ok(line.split_whitespace().nth(1).context("a figure")?.parse()?)
}

/// Rows in the tables refused traffic could grow.
fn rows(hub: &Hub) -> Result<i64> {
    let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    let count =
        "SELECT (SELECT count(*) FROM command_log) + (SELECT count(*) FROM events) + (SELECT count(*) FROM visits)";
    Ok(db.query_row(count, [], |r| r.get(0))?)
}

/// 10,000 publishes to random topics from an enrolled device: no new rows, no new devices, and
/// the hub's memory stays flat.
async fn junk_scenario(hub: Hub) -> Result<()> {
    let port = hub.mqtt_port();
    let button = hub.device("button-2")?;
    let mut probe = MqttProbe::connect(port, &button).await?;
    probe.subscribe(&topic("counters/2/reply")).await?;
    let junk = |i: u64| {
        let n = i.wrapping_mul(2_654_435_761) % 1_000_000;
        match i % 5 {
            0 => (topic(&format!("counters/c{n}/command")), format!(r#"{{"id":"j{n}","action":"next"}}"#)),
            1 => (topic(&format!("devices/d{n}/status")), r#"{"status":"online"}"#.to_string()),
            2 => (topic(&format!("counters/c{n}/rating")), format!(r#"{{"id":"r{n}","score":1}}"#)),
            3 => (topic("calls"), format!(r#"{{"junk":{n}}}"#)),
            _ => (format!("junk/{n}/x"), "x".to_string()),
        }
    };
    round_trip(&mut probe, "warm").await?;
    let (_, devices_before) = hub.manager_get("/api/v1/devices").await?;
    for i in 0..1000 {
        let (t, p) = junk(i);
        probe.publish(&t, p).await?;
    }
    round_trip(&mut probe, "after-1000").await?;
    // What one round trip itself writes (a recall: its event and command log row).
    let calibration = rows(&hub)?;
    round_trip(&mut probe, "calibration").await?;
    let (rows_before, rss_before) = (rows(&hub)?, rss_kib(&hub)?);
    let per_round_trip = rows_before - calibration;
    for i in 1000..10_000 {
        let (t, p) = junk(i);
        probe.publish(&t, p).await?;
    }
    // By this reply the hub has seen everything published before it.
    round_trip(&mut probe, "after-10000").await?;
    let (rows_after, rss_after) = (rows(&hub)?, rss_kib(&hub)?);
    assert_eq!(rows_after, rows_before + per_round_trip, "refused traffic wrote rows");
    let (_, devices_after) = hub.manager_get("/api/v1/devices").await?;
    assert_eq!(count(&devices_after), count(&devices_before), "junk statuses were tracked: {devices_after}");
    assert!(rss_after <= rss_before + 2048, "hub memory grew from {rss_before} KiB to {rss_after} KiB");
    eprintln!("junk: rows {rows_before} → {rows_after}; hub RSS {rss_before} → {rss_after} KiB");
    Ok(())
}

/// A recall on counter 2 and its reply: by then the hub has read everything sent before it.
async fn round_trip(probe: &mut MqttProbe, id: &str) -> Result<()> {
    probe.publish(&topic("counters/2/command"), format!(r#"{{"id":"{id}","action":"recall"}}"#)).await?;
    probe.next_matching(&topic("counters/2/reply"), WAIT, |r| r["id"] == id).await.context("a reply")?;
    Ok(())
}

fn count(devices: &Value) -> usize {
    devices.as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_junk_publishes_cost_the_embedded_hub_nothing() -> Result<()> {
    let (hub, _broker) = embedded().await?;
    junk_scenario(hub).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_thousand_junk_publishes_cost_nothing_through_mosquitto() -> Result<()> {
    let (hub, _broker) = mosquitto().await?;
    junk_scenario(hub).await
}

/// Managers see every enrolled device with its role and counter; staff and strangers do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn managers_list_the_enrolled_devices_with_role_counter_and_presence() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let (status, _) = hub.get("/api/v1/devices").await?;
    assert_eq!(status, 403, "a staff member reads no device list");
    let anonymous = hub.client.get(hub.url("/api/v1/devices")).send().await?.status().as_u16();
    assert_eq!(anonymous, 401);
    let kiosk = hub.device("kiosk-1")?;
    let status_topic = topic("devices/kiosk-1/status");
    let probe = MqttProbe::connect(hub.mqtt_port(), &kiosk).await?;
    probe.client.publish(&status_topic, rumqttc::QoS::AtLeastOnce, true, br#"{"status":"online"}"#.to_vec()).await?;
    let deadline = std::time::Instant::now() + WAIT;
    let listed = loop {
        let (_, devices) = hub.manager_get("/api/v1/devices").await?;
        if find(&devices, "kiosk-1")["status"] == "online" || std::time::Instant::now() > deadline {
            break devices;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let online = find(&listed, "kiosk-1")["status"] == "online";
    assert!(online, "{listed}");
    let button = find(&listed, "button-2");
    assert_eq!((button["role"].as_str(), button["counter"].as_str()), (Some("button"), Some("2")));
    assert_eq!(button["status"], "offline");
    assert!(button.get("seen_at").is_none(), "never seen: {button}");
    assert_eq!(find(&listed, "kiosk-1")["role"], "kiosk");
    assert!(find(&listed, "kiosk-1")["seen_at"].is_string());
    let list = hub.devices_command(&["list"])?;
    assert_eq!(list.lines().count(), count(&listed) - usize::from(!find(&listed, "hub").is_null()));
    assert!(!list.contains("password"), "no secrets in the list");
    Ok(())
}

fn find<'a>(devices: &'a Value, id: &str) -> &'a Value {
    devices.as_array().and_then(|d| d.iter().find(|d| d["device"] == id)).unwrap_or(&Value::Null)
}

/// The button's end of a pseudo-terminal: answers `HELLO` and `SET` with the firmware's own
/// line parser (`dawr_firmware_logic::provision`), keeps the stored record, and returns it once
/// it has answered a `SET`. `refuse` plays a button whose flash write fails.
fn fake_button(master: std::os::fd::OwnedFd, refuse: bool) -> std::thread::JoinHandle<Result<Option<Vec<u8>>>> {
    use dawr_firmware_logic::provision::{LineBuffer, answer, refused};
    use dawr_firmware_logic::settings::MAX_RECORD;
    use std::io::{Read, Write};
    std::thread::spawn(move || {
        let mut port = std::fs::File::from(master);
        let mut lines = LineBuffer::new();
        let mut byte = [0u8; 1];
        loop {
            if port.read(&mut byte)? == 0 {
                return Ok(None);
            }
            let Some(line) = lines.push(byte[0]) else { continue };
            let is_set = line.is_ok_and(|l| l.starts_with(b"DAWR SET"));
            let mut record = [0u8; MAX_RECORD];
            let (mut reply, stored) = answer(line, "button-1", &mut record);
            if refuse && stored.is_some() {
                reply = refused("flash");
            }
            port.write_all(format!("booting...\r\n{reply}\r\n").as_bytes())?;
            if is_set {
                return Ok(stored.filter(|_| !refuse).map(<[u8]>::to_vec));
            }
        }
    })
}

/// A pseudo-terminal pair: the button's end and the path of the host's end.
fn pty() -> Result<(std::os::fd::OwnedFd, std::os::fd::OwnedFd, PathBuf)> {
    use std::os::fd::FromRawFd;
    let (mut master, mut slave) = (0, 0);
    // SAFETY: openpty writes two descriptors; null name, termios and window size are allowed.
    let done =
        unsafe { libc::openpty(&mut master, &mut slave, std::ptr::null_mut(), std::ptr::null(), std::ptr::null()) };
    anyhow::ensure!(done == 0, "openpty: {}", std::io::Error::last_os_error());
    // SAFETY: both descriptors were just opened and are owned by nothing else.
    let (master, slave) =
        unsafe { (std::os::fd::OwnedFd::from_raw_fd(master), std::os::fd::OwnedFd::from_raw_fd(slave)) };
    let path = std::fs::read_link(format!("/proc/self/fd/{}", std::os::fd::AsRawFd::as_raw_fd(&slave)))?;
    Ok((master, slave, path))
}

#[tokio::test]
async fn a_button_is_enrolled_and_provisioned_over_usb_serial_and_logs_in_with_what_it_got() -> Result<()> {
    use dawr_firmware_logic::settings::{Language, Settings};
    let hub = Hub::start_embedded().await?;
    let dir = tempfile::tempdir()?;
    let settings_file = dir.path().join("wifi.toml");
    std::fs::write(
        &settings_file,
        "wifi_ssid = \"branch-devices\"\nwifi_password = \"correct horse\"\nbroker = \"192.168.10.2:1883\"\nlanguage = \"en\"\n",
    )?;
    let (master, _slave, path) = pty()?;
    let button = fake_button(master, false);
    let port = path.to_str().context("pty path")?;
    let file = settings_file.to_str().context("path")?;
    let out = hub.devices_command(&[
        "provision",
        "--port",
        port,
        "--device",
        "button-9",
        "--counter",
        "3",
        "--settings",
        file,
    ])?;
    let listed: Value = serde_json::from_str(out.trim())?;
    let who = (listed["device"].as_str(), listed["role"].as_str(), listed["counter"].as_str());
    assert_eq!(who, (Some("button-9"), Some("button"), Some("3")), "{out}");
    assert!(!out.contains("password"), "no secret printed: {out}");

    let record = button.join().expect("the fake button")?.context("the button stored no settings")?;
    let stored = Settings::parse(&record).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    assert_eq!(
        (stored.wifi_ssid, stored.wifi_password, stored.broker_ip, stored.broker_port),
        ("branch-devices", "correct horse", [192, 168, 10, 2], 1883)
    );
    assert_eq!((stored.branch, stored.counter, stored.device_id), ("demo", "3", "button-9"));
    assert_eq!((stored.username(), stored.language), ("button-9", Language::English));
    // The password written into the button is the account the hub just enrolled (the running hub
    // re-reads its device table every second).
    let deadline = std::time::Instant::now() + WAIT;
    let login = loop {
        let login = Some(("button-9", stored.mqtt_password));
        let attempt = MqttProbe::try_connect(hub.mqtt_port(), "button-9", login, None).await?;
        if attempt.is_ok() || std::time::Instant::now() > deadline {
            break attempt;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(login.is_ok(), "the provisioned password does not log in");

    // A button that cannot store the settings: the command fails and nothing stays enrolled.
    let (master, _slave, path) = pty()?;
    let refusing = fake_button(master, true);
    let port = path.to_str().context("pty path")?;
    let failed = hub.devices_command(&[
        "provision",
        "--port",
        port,
        "--device",
        "button-10",
        "--counter",
        "4",
        "--settings",
        file,
    ]);
    let message = failed.expect_err("a refused SET fails").to_string();
    assert!(message.contains("refused the settings: flash"), "{message}");
    assert_eq!(refusing.join().expect("the fake button")?, None);
    // A settings file the firmware would refuse: stopped before the port is even opened.
    std::fs::write(&settings_file, "wifi_ssid = \"x\"\nwifi_password = \"short\"\nbroker = \"192.168.10.2:1883\"\n")?;
    let bad = hub.devices_command(&[
        "provision",
        "--port",
        "/nonexistent",
        "--device",
        "button-11",
        "--counter",
        "4",
        "--settings",
        file,
    ]);
    assert!(bad.expect_err("a short Wi-Fi password").to_string().contains("invalid_wifi_password"));
    let list = hub.devices_command(&["list"])?;
    assert!(list.contains("\"button-9\""), "{list}");
    assert!(!list.contains("button-10") && !list.contains("button-11"), "rolled back: {list}");
    Ok(())
}
