//! Devices log in, and can talk TLS: the display board follows calls over `mqtts://` to the
//! hub's TLS listener when it trusts the branch CA (`dawr-hub tls ca-cert`) and is turned away,
//! with an error that says why, when it trusts another CA; against a Mosquitto that lets no one
//! in without a password, the hub, the button and the board log in with their accounts, and a
//! wrong password is refused with an error that says so.
use std::time::Duration;

use anyhow::Result;
use dawr_display_board::board::{BoardFilter, BoardView};
use dawr_display_board::link::{BoardLink, LinkConfig};
use dawr_e2e::button::SimButton;
use dawr_e2e::{Hub, Mosquitto, hub_binary};
use dawr_firmware_logic::{Key, Mode, Press};
use dawr_protocol::endpoint::{MqttEndpoint, Password, describe};
use rumqttc::{AsyncClient, Event, Packet};
use serde_json::json;

fn board(mqtt: MqttEndpoint, device: &str) -> Result<BoardLink> {
    Ok(BoardLink::start(LinkConfig {
        mqtt,
        branch: "demo".into(),
        device: device.into(),
        filter: BoardFilter::default(),
        highlight: chrono::Duration::seconds(8),
        history: 6,
    })?)
}

async fn wait(board: &mut BoardLink, within: Duration, pred: impl Fn(&BoardView) -> bool) -> Option<BoardView> {
    tokio::time::timeout(within, board.view.wait_for(|v| pred(v))).await.ok()?.ok().map(|v| v.clone())
}

/// The first thing a client with these options hears from the broker: a CONNACK or an error.
async fn first_answer(endpoint: &MqttEndpoint, client_id: &str) -> Result<Result<(), String>> {
    let (_client, mut eventloop) = AsyncClient::new(endpoint.options(client_id)?, 8);
    let answer = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(describe(&e)),
            }
        }
    })
    .await?;
    Ok(answer)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_follows_calls_over_mqtts_with_the_branch_ca_and_not_with_another() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    // The demo's board account, and a second display's, enrolled now (the hub reads new
    // enrolments within a second or two).
    let board_1 = hub.device("board-1")?;
    let checker = hub.enrol("board-check", "display", None)?;
    let login = |e: MqttEndpoint, who: &dawr_e2e::DeviceCredentials| {
        e.with_login_if_missing(who.username.clone(), Some(Password::new(who.password.clone())))
    };
    let tls_port = hub.mqtts_port().expect("the embedded broker has a TLS listener");
    assert!(hub.log().contains("plain MQTT port is for loopback and for devices that cannot do TLS"), "{}", hub.log());

    // `dawr-hub tls ca-cert` prints the CA the running hub's certificate chains to.
    let printed =
        std::process::Command::new(hub_binary()).args(["tls", "ca-cert", "--data-dir"]).arg(&hub.data_dir).output()?;
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let dir = tempfile::tempdir()?;
    let ca = dir.path().join("branch-ca.pem");
    std::fs::write(&ca, &printed.stdout)?;
    assert!(String::from_utf8_lossy(&printed.stdout).starts_with("-----BEGIN CERTIFICATE-----"));
    assert_eq!(std::fs::read(hub.ca_file())?, printed.stdout);

    let url = format!("mqtts://127.0.0.1:{tls_port}");
    let trusted = MqttEndpoint::parse(&url)?.with_ca_file(Some(ca));
    let mut over_tls = board(login(trusted.clone(), &board_1), "board-1")?;
    wait(&mut over_tls, Duration::from_secs(10), |v| v.online).await.expect("online over TLS");
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let (status, _) = hub.post("/api/v1/counters/2/next", json!({})).await?;
    assert_eq!(status, 200);
    let view = wait(&mut over_tls, Duration::from_secs(10), |v| v.current.as_ref().is_some_and(|c| c.ticket == "A001"))
        .await
        .expect("the call reaches the board over TLS");
    assert_eq!(view.current.unwrap().counter, "2");

    // Another branch's CA: the handshake fails, and the error says it is the certificate.
    let other = tempfile::tempdir()?;
    let other_ca = dawr_hub::tls::ensure(other.path(), &[])?.ca_cert;
    let untrusted = login(MqttEndpoint::parse(&url)?.with_ca_file(Some(other_ca)), &checker);
    let refused = first_answer(&untrusted, "board-check").await?.expect_err("a wrong CA is refused");
    assert!(refused.contains("not signed by the CA certificate given"), "{refused}");
    // With the branch CA the enrolled display gets in (once the hub has read its enrolment).
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let mut answer = first_answer(&login(trusted.clone(), &checker), "board-check").await?;
    while answer.is_err() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        answer = first_answer(&login(trusted.clone(), &checker), "board-check").await?;
    }
    assert_eq!(answer, Ok(()));
    // mqtts without any CA file is an error before connecting, naming the flag.
    let no_ca = board(MqttEndpoint::parse(&url)?, "board-no-ca").err().expect("no CA, no link").to_string();
    assert!(no_ca.contains("--mqtt-ca-file"), "{no_ca}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_the_button_and_the_board_log_in_to_a_locked_mosquitto() -> Result<()> {
    let mosquitto = Mosquitto::start_with_logins(&[
        ("dawr-hub-demo", "hub-pw"),
        ("button-3", "button-pw"),
        ("board-1", "board-pw"),
    ])?;
    let port = mosquitto.port;
    // Anonymous and wrong passwords are refused, and the error says why.
    let anonymous = MqttEndpoint::parse(&format!("mqtt://127.0.0.1:{port}"))?;
    assert!(first_answer(&anonymous, "board-1").await?.is_err(), "anonymous connect refused");
    let wrong = MqttEndpoint::parse(&format!("mqtt://board-1:nope@127.0.0.1:{port}"))?;
    let refused = first_answer(&wrong, "board-1").await?.expect_err("a wrong password is refused");
    assert!(refused.contains("refused this device's username or password"), "{refused}");

    // The hub logs in as dawr-hub-demo (it would not become ready otherwise).
    let hub = Hub::start_external_with_password(port, "hub-pw").await?;
    let mut board = board(MqttEndpoint::parse(&format!("mqtt://board-1:board-pw@127.0.0.1:{port}"))?, "board-1")?;
    wait(&mut board, Duration::from_secs(10), |v| v.online).await.expect("the board logs in");
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let button_login = MqttEndpoint::parse(&format!("mqtt://127.0.0.1:{port}"))?
        .with_login_if_missing("button-3", Some(dawr_protocol::endpoint::Password::new("button-pw")));
    let mut button = SimButton::start(&button_login, "demo", "3", Mode::Counter, 7)?;
    button.wait_for(Duration::from_secs(10), |s| s.online && s.waiting == Some(1)).await.expect("the button logs in");
    button.press(Key::Next, Press::Short);
    let shown =
        wait(&mut board, Duration::from_secs(10), |v| v.current.as_ref().is_some_and(|c| c.counter == "3")).await;
    assert_eq!(shown.expect("the press calls, and the board shows it").current.unwrap().ticket, "A001");
    Ok(())
}

/// Protocol 1.1: a command's `device` must be the login that sent it. The embedded broker's gate
/// refuses one naming another device with `wrong_device` (answered to the sender, nothing done);
/// a command naming its own device is acted on, and its events record that device.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_command_naming_another_device_is_refused_and_its_own_device_is_recorded() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let (status, _) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    assert_eq!(status, 201);
    let mut button = dawr_e2e::MqttProbe::connect(hub.mqtt_port(), &hub.device("button-2")?).await?;
    let replies = "dawr/v1/demo/counters/2/reply";
    button.subscribe(replies).await?;
    let commands = "dawr/v1/demo/counters/2/command";

    let posing = r#"{"id":"w-1","device":"counter-2-app","action":"next"}"#;
    button.publish(commands, posing).await?;
    let refused = button.next_on(replies, Duration::from_secs(5)).await.expect("an answer to the posing command");
    let refused = refused.json();
    assert_eq!(refused["error"], "wrong_device", "{refused}");
    assert_eq!((refused["id"].as_str(), refused["device"].as_str()), (Some("w-1"), Some("button-2")), "{refused}");
    let (_, ticket) = hub.get("/api/v1/tickets/1").await?;
    assert_eq!(ticket["status"], "waiting", "nothing was done: {ticket}");

    button.publish(commands, r#"{"id":"w-2","device":"button-2","action":"next"}"#).await?;
    let called = button.next_on(replies, Duration::from_secs(5)).await.expect("an answer").json();
    assert_eq!((called["ok"].as_bool(), called["ticket"].as_str()), (Some(true), Some("A001")), "{called}");
    let conn = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    let device: Option<String> = conn.query_row(
        "SELECT json_extract(payload, '$.device') FROM events WHERE kind = 'called' ORDER BY seq DESC LIMIT 1",
        [],
        |r| r.get(0),
    )?;
    assert_eq!(device.as_deref(), Some("button-2"), "the `called` event names the device that asked");
    Ok(())
}
