//! The display board's real window (winit on X under Xvfb, sized to the screen) logged in to a real hub
//! as `board-1`, at 1920×1080 and at 1366×768: a call made on the hub appears on the screen. The
//! window is pictured by the X server (`xwd`) and must match, pixel for pixel but for the clock,
//! the board's own headless `screenshot` of the hub's board message at that moment (both
//! languages are on the board at once); the two states compared (before and after the call)
//! differ clearly, so a window that missed the call fails.
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dawr_e2e::x11::Display;
use dawr_e2e::{Hub, MqttProbe, board_binary};
use serde_json::json;

/// The board message's topic in the demo branch.
const BOARD: &str = "dawr/v1/demo/board";

/// How a board is drawn for both pictures: no blinking (a call is shown steady at once).
const LOOK: [&str; 2] = ["--highlight-s", "0"];

/// Whether the pixel at (`x`, `y`) is in the header's middle, where the clock is.
fn clock(x: u32, y: u32, width: u32, height: u32) -> bool {
    x > width / 3 && x < width * 2 / 3 && y < height / 5
}

/// The share of pixels, the clock aside, that differ clearly between two pictures.
fn differing(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    let (width, height) = a.dimensions();
    let differ = a
        .enumerate_pixels()
        .filter(|(x, y, _)| !clock(*x, *y, width, height))
        .filter(|(x, y, p)| {
            let q = b.get_pixel(*x, *y);
            (0..3).map(|c| u32::from(p.0[c].abs_diff(q.0[c]))).sum::<u32>() > 30
        })
        .count();
    differ as f64 / f64::from(width * height)
}

/// The board's headless picture of the board message `board` at `width`×`height`.
fn headless(board: &[u8], width: u32, height: u32, dir: &Path, name: &str) -> Result<image::RgbaImage> {
    let state = dir.join(format!("{name}.json"));
    std::fs::write(&state, board)?;
    let out = dir.join(format!("{name}.png"));
    let status = std::process::Command::new(board_binary())
        .args(["screenshot", "--state"])
        .arg(&state)
        .arg("--out")
        .arg(&out)
        .args(["--width", &width.to_string(), "--height", &height.to_string()])
        .args(["--now", &chrono::Utc::now().to_rfc3339()])
        .args(LOOK)
        .status()?;
    if !status.success() {
        bail!("the board's screenshot of {name} failed");
    }
    Ok(image::open(out)?.to_rgba8())
}

/// Waits until the window's picture matches `expected` (the clock aside).
async fn window_shows(display: &Display, window: &str, expected: &image::RgbaImage, what: &str) -> Result<()> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let shown = display.screenshot(window)?;
        let share = if shown.dimensions() == expected.dimensions() { differing(&shown, expected) } else { 1.0 };
        if share < 0.001 {
            return Ok(());
        }
        if tokio::time::Instant::now() > deadline {
            let saved = std::env::temp_dir().join(format!("board-window-{}.png", std::process::id()));
            let _ = shown.save(&saved);
            bail!(
                "the window ({:?}) never showed {what}: {:.2}% of its pixels differ (picture: {})",
                shown.dimensions(),
                share * 100.0,
                saved.display()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The hub's board message once its newest call is `ticket` (or, for `None`, the first one).
async fn board_message(probe: &mut MqttProbe, ticket: Option<&str>) -> Result<Vec<u8>> {
    let newest = |b: &serde_json::Value| b["calls"].get(0).and_then(|c| c["ticket"].as_str()).map(str::to_string);
    let message = probe
        .next_matching(BOARD, Duration::from_secs(10), |b| ticket.is_none() || newest(b).as_deref() == ticket)
        .await
        .with_context(|| format!("no board message with the call {ticket:?}"))?;
    Ok(message.payload)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_made_on_the_hub_appears_in_the_real_board_window_at_both_sizes() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    for service in ["A", "A", "B"] {
        hub.post("/api/v1/tickets", json!({ "service": service })).await?;
    }
    // A second display's account reads the board messages beside the board itself (which logs
    // in as the demo's board-1); the hub takes a new enrolment within a second or two.
    let checker = hub.enrol("board-check", "display", None)?;
    let mut probe = None;
    for _ in 0..50 {
        let login = Some((checker.username.as_str(), checker.password.as_str()));
        if let Ok(Ok(connected)) = MqttProbe::try_connect(hub.mqtt_port(), &checker.username, login, None).await {
            probe = Some(connected);
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut probe = probe.context("the checker's login was never accepted")?;
    probe.subscribe(BOARD).await?;
    let mut board = board_message(&mut probe, None).await?;

    let password_file = hub.data_dir.join("board-1.secret");
    std::fs::write(&password_file, hub.device("board-1")?.password)?;
    let (password_file, mqtt) = (password_file.display().to_string(), format!("mqtt://127.0.0.1:{}", hub.mqtt_port()));
    let dir = tempfile::tempdir()?;
    for ((width, height), (counter, ticket)) in [((1920, 1080), ("2", "A001")), ((1366, 768), ("1", "A002"))] {
        let display = Display::start(width, height)?;
        // Silent: no voice pack, and none made (a path that cannot be a folder); the voice has
        // tests of its own. A window, sized to the screen (Xvfb has no window manager to make
        // a full-screen window fill it).
        let mut args = vec!["run", "--mqtt-url", &mqtt, "--mqtt-password-file", &password_file];
        args.extend(["--voice", "/dev/null/voice", "--windowed"]);
        args.extend(LOOK);
        let log = dir.path().join(format!("board-{width}.log"));
        let app = display.run(&board_binary(), &args, &log)?;
        let window = display.window("Dawr", Duration::from_secs(60)).await?;
        display.xdotool(&["windowsize", "--sync", &window, &width.to_string(), &height.to_string()])?;

        let before = headless(&board, width, height, dir.path(), &format!("before-{width}"))?;
        window_shows(&display, &window, &before, "the board before the call").await.with_context(|| app.log())?;
        let (status, reply) = hub.post(&format!("/api/v1/counters/{counter}/next"), json!({})).await?;
        assert_eq!(status, 200, "counter {counter} calls: {reply}");
        board = board_message(&mut probe, Some(ticket)).await?;
        let after = headless(&board, width, height, dir.path(), &format!("after-{width}"))?;
        let change = differing(&before, &after);
        assert!(change > 0.01, "{width}×{height}: the call changes the board clearly ({:.2}%)", change * 100.0);
        window_shows(&display, &window, &after, &format!("the call of {ticket} at counter {counter}"))
            .await
            .with_context(|| app.log())?;
    }
    Ok(())
}
