//! The display board's link against a real hub and broker: it follows calls within moments,
//! starts from the retained state, queues announcements, and shrugs off malformed messages.
use std::time::{Duration, Instant};

use anyhow::Result;
use dawr_display_board::board::{BoardFilter, BoardView};
use dawr_display_board::link::{BoardLink, LinkConfig};
use dawr_e2e::{Hub, MqttProbe};
use serde_json::json;

fn link(hub: &Hub, device: &str) -> BoardLink {
    BoardLink::start(LinkConfig {
        host: "127.0.0.1".into(),
        port: hub.mqtt_port(),
        branch: "demo".into(),
        device: device.into(),
        filter: BoardFilter::default(),
        highlight: chrono::Duration::seconds(8),
        max_announce_age: chrono::Duration::seconds(30),
    })
}

async fn wait(board: &mut BoardLink, within: Duration, pred: impl Fn(&BoardView) -> bool) -> Option<BoardView> {
    tokio::time::timeout(within, board.view.wait_for(|v| pred(v))).await.ok()?.ok().map(|v| v.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_shows_a_call_within_moments_and_announces_it() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let mut board = link(&hub, "board-hall");
    wait(&mut board, Duration::from_secs(10), |v| v.online).await.expect("online");
    let button = MqttProbe::connect(hub.mqtt_port(), "test-button-2").await?;
    // Garbage on the calls topic is ignored.
    button.publish("dawr/v1/demo/calls", b"{broken".to_vec()).await?;

    let pressed = Instant::now();
    button.publish("dawr/v1/demo/counters/2/command", r#"{"id":"p1","action":"next"}"#).await?;
    let view =
        wait(&mut board, Duration::from_secs(5), |v| v.current.as_ref().is_some_and(|c| c.ticket == "A001")).await;
    let latency = pressed.elapsed();
    let view = view.expect("the board shows the call");
    println!("press -> board view: {:.2} ms", latency.as_secs_f64() * 1000.0);
    assert!(latency < Duration::from_millis(1000), "took {latency:?}");
    assert!(view.highlighted, "a new call is highlighted");
    assert_eq!(view.current.unwrap().counter_name.en, "Counter 2");
    let announcement =
        tokio::time::timeout(Duration::from_secs(2), board.announcements.recv()).await?.expect("announced");
    assert_eq!(announcement.parts[1].1, ["ticket", "letter-a", "n-1", "to-counter", "n-2"]);

    // The board lists itself as a device.
    let mut listed = false;
    for _ in 0..50 {
        let (_, devices) = hub.get("/api/v1/devices").await?;
        if devices.as_array().unwrap().iter().any(|d| d["device"] == "board-hall" && d["status"] == "online") {
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
    let mut board = link(&hub, "board-late");
    let view = wait(&mut board, Duration::from_secs(10), |v| v.current.is_some() && v.history.len() >= 4).await;
    let view = view.expect("the retained board arrives");
    let mut shown: Vec<String> = view.history.iter().map(|c| c.ticket.clone()).collect();
    shown.insert(0, view.current.unwrap().ticket);
    assert_eq!(shown, ["A005", "A004", "A003", "A002", "A001"]);
    assert!(!view.highlighted, "old calls do not blink when a board starts");
    assert!(
        tokio::time::timeout(Duration::from_millis(500), board.announcements.recv()).await.is_err(),
        "no backlog is spoken"
    );
    Ok(())
}
