//! The display board against a real hub and broker: its link follows calls within moments,
//! starts from the retained state, passes each new call on to be spoken once, and shrugs off
//! malformed messages; its screen, drawn headless from the hub's own board message, shows the
//! call, the history and the waiting counts in both languages.
use std::time::Duration;

use anyhow::Result;
use dawr_display_board::announce::Announcement;
use dawr_display_board::board::{BoardFilter, BoardView};
use dawr_display_board::link::{BoardLink, LinkConfig};
use dawr_e2e::{Hub, MqttProbe};
use dawr_protocol::endpoint::{EndpointError, MqttEndpoint};
use serde_json::json;

/// A board link logged in as the demo's enrolled `device`.
fn link(hub: &Hub, device: &str) -> BoardLink {
    let credentials = hub.device(device).expect("a demo device");
    link_to(hub.endpoint_as(&credentials), device).expect("usable MQTT settings")
}

fn link_to(mqtt: MqttEndpoint, device: &str) -> Result<BoardLink, EndpointError> {
    BoardLink::start(LinkConfig {
        mqtt,
        branch: "demo".into(),
        device: device.into(),
        filter: BoardFilter::default(),
        highlight: chrono::Duration::seconds(8),
        history: 6,
    })
}

async fn wait(board: &mut BoardLink, within: Duration, pred: impl Fn(&BoardView) -> bool) -> Option<BoardView> {
    tokio::time::timeout(within, board.view.wait_for(|v| pred(v))).await.ok()?.ok().map(|v| v.clone())
}

/// Takes a ticket and waits until the board shows one more waiting: a board message the hub
/// sent after everything before it, so the link has handled all that came earlier.
async fn later_board_message(hub: &Hub, board: &mut BoardLink) -> Result<()> {
    let waiting = |v: &BoardView| v.services.iter().find(|s| s.code == "B").map_or(0, |s| s.waiting);
    let before = waiting(&board.view.borrow());
    let (status, _) = hub.post("/api/v1/tickets", json!({"service": "B"})).await?;
    assert_eq!(status, 201);
    wait(board, Duration::from_secs(10), |v| waiting(v) > before).await.expect("the next board message");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_shows_a_call_and_announces_it_once() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let mut board = link(&hub, "board-1");
    wait(&mut board, Duration::from_secs(10), |v| v.online).await.expect("online");
    let button = MqttProbe::connect(hub.mqtt_port(), &hub.device("button-2")?).await?;
    // Garbage on the calls topic is ignored.
    button.publish("dawr/v1/demo/calls", b"{broken".to_vec()).await?;

    // (How fast is measured by dawr-bench, not here.)
    button.publish("dawr/v1/demo/counters/2/command", r#"{"id":"p1","action":"next"}"#).await?;
    let view =
        wait(&mut board, Duration::from_secs(10), |v| v.current.as_ref().is_some_and(|c| c.ticket == "A001")).await;
    let view = view.expect("the board shows the call");
    assert!(view.highlighted(chrono::Utc::now()), "a new call is highlighted");
    assert_eq!(view.current.unwrap().counter_name.en, "Counter 2");
    let call = tokio::time::timeout(Duration::from_secs(10), board.new_calls.recv()).await?.expect("passed on");
    let announcement = Announcement::for_call(&call);
    assert_eq!(announcement.parts[1].1, ["ticket", "letter-a", "n-1", "to-counter", "n-2"]);
    // Once: after the next board message (the board and the call reached the board through the
    // same link, in order), nothing more was passed on.
    later_board_message(&hub, &mut board).await?;
    assert!(board.new_calls.try_recv().is_err(), "once");

    // The board lists itself as a device.
    let mut listed = false;
    for _ in 0..50 {
        let (_, devices) = hub.manager_get("/api/v1/devices").await?;
        if devices.as_array().unwrap().iter().any(|d| d["device"] == "board-1" && d["status"] == "online") {
            listed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(listed, "the board's presence reached the hub");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_board_started_after_five_calls_shows_them_all() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    // Counters 1 to 4 serve A; counter 1 calls twice.
    for counter in ["1", "2", "3", "4", "1"] {
        hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
        let (_, reply) = hub.post(&format!("/api/v1/counters/{counter}/next"), json!({})).await?;
        assert!(reply["ticket"].is_string(), "{reply}");
    }
    let mut board = link(&hub, "board-1");
    let view = wait(&mut board, Duration::from_secs(10), |v| v.current.is_some() && v.history.len() >= 4).await;
    let view = view.expect("the retained board arrives");
    let mut shown: Vec<String> = view.history.iter().map(|c| c.ticket.clone()).collect();
    shown.insert(0, view.current.clone().unwrap().ticket);
    assert_eq!(shown, ["A005", "A004", "A003", "A002", "A001"]);
    assert!(!view.highlighted(chrono::Utc::now()), "old calls do not blink when a board starts");
    later_board_message(&hub, &mut board).await?;
    assert!(board.new_calls.try_recv().is_err(), "no backlog is spoken");
    Ok(())
}

/// Counts the pixels of `image` inside `(x, y, width, height)` that `pred` accepts.
fn count(image: &image::RgbaImage, (x0, y0, w, h): (u32, u32, u32, u32), pred: impl Fn([u8; 4]) -> bool) -> u32 {
    let mut n = 0;
    for y in y0..y0 + h {
        for x in x0..x0 + w {
            if pred(image.get_pixel(x, y).0) {
                n += 1;
            }
        }
    }
    n
}

fn near(a: [u8; 4], b: [u8; 3]) -> bool {
    (0..3).all(|i| a[i].abs_diff(b[i]) < 40)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_screen_shows_the_call_history_and_waits_in_both_languages() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    for service in ["A", "B", "C", "E", "F", "A", "A", "A", "A", "A", "C", "B"] {
        hub.post("/api/v1/tickets", json!({"service": service})).await?;
    }
    // Six counters call (counter 4 twice: a recall), then counter 1 calls the newest.
    for (counter, action) in [
        ("6", "next"),
        ("5", "next"),
        ("8", "next"),
        ("7", "next"),
        ("2", "next"),
        ("4", "next"),
        ("4", "recall"),
        ("1", "next"),
    ] {
        let (status, reply) = hub.post(&format!("/api/v1/counters/{counter}/{action}"), json!({})).await?;
        assert_eq!(status, 200, "{counter} {action}: {reply}");
    }
    let mut probe = MqttProbe::connect(hub.mqtt_port(), &hub.device("board-1")?).await?;
    probe.subscribe("dawr/v1/demo/board").await?;
    let board = probe
        .next_matching("dawr/v1/demo/board", Duration::from_secs(5), |b| {
            b["calls"].as_array().is_some_and(|c| c.len() == 8)
        })
        .await
        .expect("the retained board with every call");
    let dir = tempfile::tempdir()?;
    let state = dir.path().join("board.json");
    std::fs::write(&state, &board.payload)?;

    let shot = |out: std::path::PathBuf, extra: &[&str]| -> Result<image::RgbaImage> {
        let status = std::process::Command::new(dawr_e2e::board_binary())
            .args(["screenshot", "--state"])
            .arg(&state)
            .arg("--out")
            .arg(&out)
            // A fixed clock keeps the picture in docs/ unchanged from run to run.
            .args(["--now", "2026-11-23T07:09:30Z"])
            .args(["--message-ar", "ساعات العمل من الأحد إلى الخميس، ٨ صباحًا – ٢:٣٠ مساءً"])
            .args(["--message-en", "Open Sunday to Thursday, 8:00 am – 2:30 pm"])
            .args(extra)
            .status()?;
        assert!(status.success(), "screenshot {extra:?}");
        Ok(image::open(&out)?.to_rgba8())
    };
    let fresh = shot(dawr_e2e::screenshots_dir().join("display-board.png"), &["--fresh"])?;
    let offline = shot(dir.path().join("offline.png"), &["--offline"])?;
    assert_eq!(fresh.dimensions(), (1920, 1080));

    // The fresh call blinks: its panel (right of the recent calls) is amber, with the ticket
    // number drawn over it in dark ink; the offline board's panel is not lit.
    const AMBER: [u8; 3] = [0xf2, 0xb7, 0x05];
    const INK: [u8; 3] = [0x0b, 0x25, 0x45];
    let panel = (800, 170, 1080, 560);
    let amber = count(&fresh, panel, |p| near(p, AMBER));
    assert!(amber > 1080 * 560 / 2, "the new call's panel is lit: {amber} amber pixels");
    let ink = count(&fresh, panel, |p| near(p, INK));
    assert!(ink > 1080 * 560 / 20, "the ticket and counter are drawn on it: {ink} ink pixels");
    assert_eq!(count(&offline, panel, |p| near(p, AMBER)), 0, "not lit when not fresh");

    // Both languages are drawn: text in the header's left (English) and right (Arabic) parts.
    // With a missing Arabic font the right part would be blank.
    let white = |p: [u8; 4]| p[0] > 200 && p[1] > 200 && p[2] > 200;
    let english = count(&fresh, (30, 30, 600, 60), white);
    let arabic = count(&fresh, (1300, 30, 590, 60), white);
    assert!(english > 2000 && arabic > 2000, "branch name in English ({english}) and Arabic ({arabic})");

    // Offline shows a red mark under the clock; online does not.
    const RED: [u8; 3] = [0xc0, 0x39, 0x2b];
    let mark = (700, 110, 520, 60);
    assert!(count(&offline, mark, |p| near(p, RED)) > 5000, "offline mark");
    assert_eq!(count(&fresh, mark, |p| near(p, RED)), 0, "no offline mark when online");

    // A screen (or window) of another shape shows the same 16:9 board, centred, with bands of
    // the background around it: never stretched.
    const BACKGROUND: [u8; 4] = [0x0b, 0x25, 0x45, 0xff];
    for (width, height) in [(1920u32, 1440u32), (2560, 1080)] {
        let size = ["--fresh", "--width", &width.to_string(), "--height", &height.to_string()];
        let other = shot(dir.path().join(format!("{width}x{height}.png")), &size)?;
        let (x0, y0) = ((width - 1920) / 2, (height - 1080) / 2);
        let board = image::imageops::crop_imm(&other, x0, y0, 1920, 1080).to_image();
        assert!(board == fresh, "{width}×{height}: the 1920×1080 board, centred and unchanged");
        let bands = count(&other, (0, 0, width, height), |p| p == BACKGROUND)
            - count(&fresh, (0, 0, 1920, 1080), |p| p == BACKGROUND);
        assert_eq!(bands, width * height - 1920 * 1080, "{width}×{height}: plain background around the board");
    }
    Ok(())
}

#[test]
fn a_board_without_calls_or_services_fills_the_screen_with_its_welcome() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("board.json");
    let empty = json!({"branch": "demo", "name": {"ar": "فرع", "en": "Branch"}, "updated_at": "2026-11-23T07:09:30Z",
        "calls": [], "services": []});
    std::fs::write(&state, empty.to_string()).unwrap();
    let out = dir.path().join("empty.png");
    let status = std::process::Command::new(dawr_e2e::board_binary())
        .args(["screenshot", "--state"])
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let shot = image::open(&out).unwrap().to_rgba8();
    const PANEL: [u8; 4] = [0x13, 0x31, 0x5c, 0xff];
    const BACKGROUND: [u8; 4] = [0x0b, 0x25, 0x45, 0xff];
    // The panels reach down the screen (they used to shrink to one line of text)…
    let low = (100, 800, 1700, 200);
    let panel = count(&shot, low, |p| p == PANEL);
    assert!(panel > 1700 * 200 * 8 / 10, "the panels fill the lower board: {panel} panel pixels");
    // …and the welcome stays inside its panel: the right margin is plain background.
    let margin = (1895, 150, 25, 900);
    assert_eq!(count(&shot, margin, |p| p != BACKGROUND), 0, "nothing drawn past the panel's edge");
}
