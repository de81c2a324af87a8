//! The counter app's real window (winit on X, under Xvfb) against a real hub, worked with the
//! keyboard alone as a desk worker does: type the staff ID and PIN, Enter, then N (call), S
//! (start), C and 1 (complete, resolved). The hub's state is read after each key. On the way,
//! text typed into a case field must not act as shortcuts, and Escape gives the keyboard back
//! to the desk.
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dawr_e2e::x11::Display;
use dawr_e2e::{Hub, counter_binary, wait_until};
use dawr_protocol::api::CounterSummary;
use dawr_protocol::device::{CounterState, CurrentStatus};
use serde_json::json;

/// Counter 2's state as the hub has it.
async fn counter_two(hub: &Hub) -> Result<CounterState> {
    let counters: Vec<CounterSummary> = hub.client.get(hub.url("/api/v1/counters")).send().await?.json().await?;
    counters.into_iter().map(|c| c.state).find(|s| s.counter.as_str() == "2").context("counter 2")
}

/// Waits until counter 2's state on the hub satisfies `done`.
async fn hub_shows(hub: &Hub, what: &str, done: impl Fn(&CounterState) -> bool) -> Result<CounterState> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let state = counter_two(hub).await?;
        if done(&state) {
            return Ok(state);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the hub never showed {what}: {state:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// What the app logs when the hub answers one of its commands.
const ANSWERED: &str = "the hub answered";

fn current(state: &CounterState) -> Option<(&str, CurrentStatus)> {
    state.current.as_ref().map(|c| (c.ticket.as_str(), c.status))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_desk_worker_signs_in_and_serves_with_the_keyboard_alone_in_the_real_window() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    for _ in 0..2 {
        hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    }
    let display = Display::start(1366, 768)?;
    let mqtt = format!("mqtt://127.0.0.1:{}", hub.mqtt_port());
    let hub_url = hub.url("");
    // The counter app's demo account (enrolled by the hub on its first start).
    let password_file = hub.data_dir.join("counter-2-app.secret");
    std::fs::write(&password_file, hub.device("counter-2-app")?.password)?;
    let password_file = password_file.display().to_string();
    let args = [
        "run",
        "--counter",
        "2",
        "--hub",
        &hub_url,
        "--mqtt-url",
        &mqtt,
        "--mqtt-password-file",
        &password_file,
        "--windowed",
    ];
    let mut app = display.run(&counter_binary(), &args, &hub.data_dir.join("counter-app.log"))?;
    let window = display.window("Dawr", Duration::from_secs(60)).await?;
    // The app is on the hub's broker (its presence is online) before any key.
    let online = wait_until(Duration::from_secs(30), || async {
        let devices: serde_json::Value = match hub.manager_get("/api/v1/devices").await {
            Ok((_, devices)) => devices,
            Err(_) => return false,
        };
        devices.as_array().is_some_and(|d| d.iter().any(|d| d["device"] == "counter-2-app" && d["status"] == "online"))
    })
    .await;
    assert!(online, "the app never came online:\n{}", app.log());
    display.focus(&window)?;

    // Sign-in: the form opens with the staff ID field ready; Enter moves on to the PIN.
    display.type_text("s101")?;
    display.key(&["Return"])?;
    display.type_text("1111")?;
    display.key(&["Return"])?;
    app.logged("signed in", Duration::from_secs(15)).await?;
    assert_eq!(current(&counter_two(&hub).await?), None, "signing in calls nobody");

    // N at once: the desk has the keyboard after sign-in, no click needed. The app takes one
    // command at a time, so each next key waits for the hub's answer to the last one.
    display.key(&["n"])?;
    hub_shows(&hub, "A001 called", |s| current(s) == Some(("A001", CurrentStatus::Called))).await?;
    app.logged_times(ANSWERED, 1, Duration::from_secs(15)).await?;
    display.key(&["s"])?;
    hub_shows(&hub, "A001 served", |s| current(s) == Some(("A001", CurrentStatus::Serving))).await?;
    app.logged_times(ANSWERED, 2, Duration::from_secs(15)).await?;

    // Into a case field (Tab), "xn" typed there is text, not no-show and next; Escape leaves it.
    display.key(&["Tab"])?;
    display.type_text("xn")?;
    display.key(&["Escape"])?;
    // C asks how the visit ended (nothing is sent yet); 1 answers "resolved".
    display.key(&["c"])?;
    assert_eq!(current(&counter_two(&hub).await?), Some(("A001", CurrentStatus::Serving)), "C alone only asks");
    display.key(&["1"])?;
    hub_shows(&hub, "the counter free", |s| s.current.is_none()).await?;
    app.logged_times(ANSWERED, 3, Duration::from_secs(15)).await?;
    assert_eq!(app.log().matches(ANSWERED).count(), 3, "three commands: next, start, complete");
    let (_, first) = hub.get("/api/v1/tickets/1").await?;
    assert_eq!(
        (first["status"].as_str(), first["outcome"].as_str()),
        (Some("done"), Some("resolved")),
        "completed as resolved, not a no-show: the keys typed in the field stayed there"
    );
    let (_, second) = hub.get("/api/v1/tickets/2").await?;
    assert_eq!(second["status"], "waiting", "the \"n\" typed in the field called nobody");
    Ok(())
}
