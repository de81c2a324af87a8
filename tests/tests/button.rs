//! End-to-end: the counter button's firmware logic (simulated on the host) against a real hub.
use std::time::Duration;

use anyhow::Result;
use dawr_e2e::button::{SIM_FIRMWARE_VERSION, SIM_RSSI_DBM, SimButton};
use dawr_e2e::{Hub, MqttProbe, wait_until};
use dawr_firmware_logic::device::{MAX_ATTEMPTS, REPLY_TIMEOUT_MS};
use dawr_firmware_logic::{Key, Mode, Press};
use dawr_protocol::api::DeviceInfo;
use dawr_protocol::device::ResetReason;
use serde_json::{Value, json};

/// How long a test waits for what the button should come to show. Every wait here is for
/// something that does happen, so a long one costs nothing when it passes; on a machine busy
/// with other tests the hub's start and the button's reconnection have taken more than 10 s.
const WAIT: Duration = Duration::from_secs(30);

/// Long enough for every attempt of a command (and a little for the hub to answer the last).
const ALL_ATTEMPTS: Duration = Duration::from_millis(MAX_ATTEMPTS as u64 * REPLY_TIMEOUT_MS + 2_000);

async fn issue(hub: &Hub, service: &str) -> Result<Value> {
    let (status, ticket) = hub.post("/api/v1/tickets", json!({"service": service})).await?;
    assert_eq!(status, 201);
    Ok(ticket)
}

async fn status(hub: &Hub, ticket: &Value) -> Result<(String, Option<String>)> {
    let (_, t) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
    Ok((t["status"].as_str().unwrap_or_default().to_string(), t["counter"].as_str().map(str::to_owned)))
}

/// The demo's button or rating terminal of `counter`, logged in with its enrolled account.
fn start_button(hub: &Hub, counter: &str, mode: Mode, boot: u32) -> Result<SimButton> {
    let device = hub.device(&SimButton::device_id(mode, counter))?;
    Ok(SimButton::start(&hub.endpoint_as(&device), "demo", counter, mode, boot)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pressing_next_on_the_button_calls_the_visitor() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let ticket = issue(&hub, "A").await?;
    let mut button = start_button(&hub, "3", Mode::Counter, 1)?;
    button.wait_for(WAIT, |s| s.online && s.waiting == Some(1)).await.expect("the button shows one waiting");
    button.press(Key::Next, Press::Short);
    let screen = button.wait_for(WAIT, |s| s.ticket.as_deref() == Some("A001") && !s.pending).await;
    assert!(screen.is_some(), "the screen shows the called ticket: {:?}", *button.screen.borrow());
    assert_eq!(status(&hub, &ticket).await?, ("called".to_string(), Some("3".to_string())));
    // A long press is a no-show.
    button.press(Key::Next, Press::Long);
    button.wait_for(WAIT, |s| s.ticket.is_none() && !s.pending).await.expect("the counter is free again");
    assert_eq!(status(&hub, &ticket).await?.0, "no_show");
    the_fleet_view_shows_the_button(&hub).await
}

/// The button's presence carries its firmware version, uptime, Wi-Fi signal and reset reason;
/// the hub lists them in `GET /api/v1/devices` and on the dashboard.
async fn the_fleet_view_shows_the_button(hub: &Hub) -> Result<()> {
    let listed = || async {
        let (_, devices) = hub.manager_get("/api/v1/devices").await.ok()?;
        let devices: Vec<DeviceInfo> = serde_json::from_value(devices).ok()?;
        devices.into_iter().find(|d| d.device == "button-3" && d.firmware.is_some())
    };
    assert!(wait_until(WAIT, || async { listed().await.is_some() }).await, "the button's fleet fields are listed");
    let button = listed().await.expect("listed");
    assert_eq!(button.firmware.as_deref(), Some(SIM_FIRMWARE_VERSION));
    assert_eq!(button.rssi, Some(SIM_RSSI_DBM as i16));
    assert_eq!(button.reset, Some(ResetReason::PowerOn));
    assert!(button.uptime_s.is_some_and(|s| s < 600), "{button:?}");

    let client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let signed = client
        .post(hub.url("/dashboard/sign-in?lang=en"))
        .form(&[("staff", "m001"), ("pin", hub.pin("m001"))])
        .send()
        .await?;
    let cookie = signed.headers()["set-cookie"].to_str()?.split(';').next().unwrap_or_default().to_string();
    for (lang, signal, reset) in [("en", "(strong)", "Power on"), ("ar", "(قوية)", "وصل التيار الكهربائي")]
    {
        let page = client.get(hub.url(&format!("/dashboard?lang={lang}"))).header("cookie", &cookie).send().await?;
        let page = page.text().await?;
        // Without Fluent's isolation marks around the filled-in values.
        let page = page.replace(['\u{2068}', '\u{2069}'], "");
        let row = page.split("<tr>").find(|row| row.contains("button-3")).unwrap_or_default();
        assert!(row.contains(SIM_FIRMWARE_VERSION), "{lang}: the version is on the dashboard: {row}");
        assert!(row.contains(&format!("{SIM_RSSI_DBM} dBm {signal}")), "{lang}: the signal: {row}");
        assert!(row.contains(reset), "{lang}: why it started: {row}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_press_repeated_after_a_lost_reply_calls_nobody_twice() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let first = issue(&hub, "A").await?;
    let second = issue(&hub, "A").await?;
    let mut display = MqttProbe::connect(hub.mqtt_port(), &hub.device("board-1")?).await?;
    display.subscribe("dawr/v1/demo/calls").await?;
    let mut button = start_button(&hub, "3", Mode::Counter, 2)?;
    button.wait_for(WAIT, |s| s.online && s.waiting.is_some()).await.expect("online");

    button.drop_next_reply();
    button.press(Key::Next, Press::Short);
    let call = display.next_on("dawr/v1/demo/calls", WAIT).await.expect("one call");
    assert_eq!(call.json()["ticket"], "A001");
    // The reply was lost: the button retries with the same id after its timeout and the hub
    // answers again without calling anyone else.
    let retrying = button.wait_for(WAIT, |s| s.notice.as_deref() == Some("NO REPLY - RETRYING")).await;
    assert!(retrying.is_some(), "the button says it retries");
    assert_eq!(button.replies_dropped(), 1, "the reply to the press was the one lost");
    // The retry gets its reply: the button settles without the notice a button that gave up
    // shows, within the time its attempts take.
    let settled = button.wait_for(ALL_ATTEMPTS, |s| !s.pending && s.notice.is_none()).await;
    assert!(settled.is_some(), "{:?}", *button.screen.borrow());
    assert_eq!(button.screen.borrow().ticket.as_deref(), Some("A001"));
    assert!(button.sent("/command").await >= 2, "the press was sent again");
    // Acted on once: A001 called once and not recalled, nobody else called.
    let (_, counters) = hub.get("/api/v1/counters").await?;
    assert_eq!(counters[2]["current"]["recalls"], 0, "{counters}");
    assert_eq!(status(&hub, &first).await?.0, "called");
    assert_eq!(status(&hub, &second).await?.0, "waiting");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_button_survives_the_hub_restarting_mid_press() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let first = issue(&hub, "A").await?;
    let second = issue(&hub, "A").await?;
    let mut button = start_button(&hub, "3", Mode::Counter, 3)?;
    button.wait_for(WAIT, |s| s.online && s.waiting == Some(2)).await.expect("online");

    // The press reaches the hub, which calls A001, but the hub dies before the reply arrives.
    button.drop_next_reply();
    button.press(Key::Next, Press::Short);
    assert!(wait_until(WAIT, || async { button.replies_dropped() == 1 }).await, "the hub answered the press");
    assert_eq!(status(&hub, &first).await?.0, "called");
    hub.kill9();
    button.wait_for(WAIT, |s| !s.online).await.expect("the button notices the hub is gone");
    // A press while the hub is down is refused on screen, not queued.
    button.press(Key::Recall, Press::Short);
    button.wait_for(WAIT, |s| s.notice.as_deref() == Some("OFFLINE - NOT SENT")).await.expect("offline notice");

    hub.restart().await?;
    // Back online, the button sends its pending command again with the same id; the hub
    // remembers the id and answers with the first reply.
    // Answered on reconnecting, or by the retry after it if the button came back before the hub
    // had subscribed; a button that gave up would only say so after 6 s.
    let gave_up = dawr_firmware_logic::screen::notice_text(dawr_firmware_logic::Notice::NoReply { retrying: false });
    let settled = button
        .wait_for(ALL_ATTEMPTS, |s| {
            s.online && !s.pending && s.ticket.as_deref() == Some("A001") && s.notice.as_deref() != Some(gave_up)
        })
        .await;
    assert!(settled.is_some(), "{:?}\n{}", *button.screen.borrow(), hub.log());
    assert_eq!(status(&hub, &first).await?.0, "called");
    assert_eq!(status(&hub, &second).await?.0, "waiting", "the repeated press called nobody else");
    // The recall typed while offline was not sent later.
    let (_, counters) = hub.get("/api/v1/counters").await?;
    assert_eq!(counters[2]["current"]["recalls"], 0);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_exit_terminal_rates_the_visit_that_just_ended() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let ticket = issue(&hub, "A").await?;
    let mut terminal = start_button(&hub, "2", Mode::Rating, 4)?;
    terminal.wait_for(WAIT, |s| s.online).await.expect("online");
    hub.post("/api/v1/counters/2/next", json!({})).await?;
    terminal.wait_for(WAIT, |s| s.ticket.as_deref() == Some("A001")).await.expect("the visit is at the counter");
    assert_eq!(terminal.screen.borrow().rating, None, "nothing to rate while the visit goes on");
    hub.post("/api/v1/counters/2/complete", json!({"outcome": "resolved"})).await?;
    terminal.wait_for(WAIT, |s| s.rating.as_deref() == Some("RATE A001")).await.expect("the terminal asks");
    terminal.press(Key::Score(4), Press::Short);
    terminal.wait_for(WAIT, |s| s.rating.as_deref() == Some("THANK YOU") && !s.pending).await.expect("thanks");
    let (_, rated) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
    assert_eq!(rated["rating"], 4);
    // A second press is ignored by the terminal (it sends nothing); a second rating over HTTP is
    // refused.
    assert_eq!(terminal.sent("/rating").await, 1);
    terminal.press(Key::Score(1), Press::Short);
    assert_eq!(terminal.sent("/rating").await, 1, "the second press sent nothing");
    let (code, err) = hub.post("/api/v1/ratings", json!({"counter": "2", "score": 1})).await?;
    assert_eq!((code, err["error"].as_str()), (409, Some("already_rated")));
    let (_, still) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
    assert_eq!(still["rating"], 4);
    Ok(())
}
