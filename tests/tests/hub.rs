//! End-to-end: a hub process, a real broker (embedded rumqttd or Mosquitto), raw MQTT devices,
//! HTTP clients, `kill -9` and restart.
use std::collections::HashSet;
use std::time::Duration;

use anyhow::Result;
use dawr_e2e::{Hub, Mosquitto, MqttProbe};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);
/// How long to listen to be sure something did *not* happen.
const QUIET: Duration = Duration::from_millis(700);

fn topic(rest: &str) -> String {
    format!("dawr/v1/demo/{rest}")
}

async fn issue(hub: &Hub, service: &str) -> Result<Value> {
    let (status, ticket) = hub.post("/api/v1/tickets", json!({"service": service})).await?;
    assert_eq!(status, 201, "{ticket}");
    Ok(ticket)
}

/// The scenario every broker must carry: ticket over HTTP, `next` from a raw MQTT button, the
/// call on `…/calls`, a repeated command id, malformed commands, and kill -9 with restart.
async fn button_scenario(mut hub: Hub) -> Result<()> {
    let port = hub.mqtt_port();
    let mut display = MqttProbe::connect(port, "test-display").await?;
    display.subscribe(&topic("calls")).await?;
    let mut button = MqttProbe::connect(port, "test-button-2").await?;
    button.subscribe(&topic("counters/2/reply")).await?;
    button.subscribe(&topic("counters/2/state")).await?;

    let first = issue(&hub, "A").await?;
    assert_eq!(first["number"], "A001");
    assert_eq!(first["status"], "waiting");
    assert!(first["case_ref"].as_str().unwrap().starts_with("DMM-"), "{first}");
    let second = issue(&hub, "A").await?;

    // The button presses "next".
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-0001","action":"next"}"#).await?;
    let reply = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("a reply").json();
    assert_eq!(reply, json!({"id": "b2-0001", "ok": true, "ticket": "A001"}));
    let call = display.next_on(&topic("calls"), WAIT).await.expect("a call").json();
    assert_eq!(
        (call["ticket"].as_str(), call["counter"].as_str(), call["recall"].as_bool()),
        (Some("A001"), Some("2"), Some(false))
    );
    assert_eq!(call["counter_name"]["en"], "Counter 2");
    button
        .next_matching(&topic("counters/2/state"), WAIT, |s| s["current"]["ticket"] == "A001")
        .await
        .expect("the counter state shows the call");

    // The same press delivered again: answered again, never acted on twice.
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-0001","action":"next"}"#).await?;
    let again = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("a second reply").json();
    assert_eq!(again, reply);
    assert!(display.next_on(&topic("calls"), QUIET).await.is_none(), "a repeated id called another visitor");
    let (_, still_waiting) = hub.get(&format!("/api/v1/tickets/{}", second["id"])).await?;
    assert_eq!(still_waiting["status"], "waiting");

    // Malformed commands: answered when an id can be read, never a crash.
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-bad","action":"explode"}"#).await?;
    let bad = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("a refusal").json();
    assert_eq!(
        (bad["id"].as_str(), bad["ok"].as_bool(), bad["error"].as_str()),
        (Some("b2-bad"), Some(false), Some("malformed"))
    );
    button.publish(&topic("counters/2/command"), b"{not json at all".to_vec()).await?;
    button.publish(&topic("counters/2/command"), vec![0xff, 0xfe, 0x00]).await?;
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-0002","action":"recall"}"#).await?;
    let recall = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("the hub still answers").json();
    assert_eq!(recall["id"], "b2-0002");
    assert_eq!(recall["ok"], true);
    let call = display.next_on(&topic("calls"), WAIT).await.expect("the recall").json();
    assert_eq!((call["ticket"].as_str(), call["recall"].as_bool()), (Some("A001"), Some(true)));
    // A counter that does not exist is refused with a reason.
    let mut stranger = MqttProbe::connect(port, "test-button-99").await?;
    stranger.subscribe(&topic("counters/99/reply")).await?;
    stranger.publish(&topic("counters/99/command"), r#"{"id":"x","action":"next"}"#).await?;
    let refused = stranger.next_on(&topic("counters/99/reply"), WAIT).await.expect("a refusal").json();
    assert_eq!(refused["error"], "unknown_counter");

    // kill -9, then restart on the same database: every acknowledged change is there.
    let third = issue(&hub, "B").await?;
    drop((button, display, stranger));
    hub.restart().await?;
    // A device that connects now finds its counter's state retained.
    let mut fresh = MqttProbe::connect(hub.mqtt_port(), "test-fresh-button").await?;
    fresh.subscribe(&topic("counters/2/state")).await?;
    let state = fresh.next_on(&topic("counters/2/state"), WAIT).await.expect("a retained counter state");
    assert!(state.retain);
    assert_eq!(state.json()["current"]["ticket"], "A001");
    for (ticket, status) in [(&first, "called"), (&second, "waiting"), (&third, "waiting")] {
        let (code, now) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
        assert_eq!(code, 200);
        assert_eq!((now["number"].clone(), now["status"].as_str()), (ticket["number"].clone(), Some(status)), "{now}");
        assert_eq!(now["case_ref"], ticket["case_ref"]);
    }
    let fourth = issue(&hub, "A").await?;
    assert_eq!(fourth["number"], "A003", "numbering continues after a restart");

    // The board is retained again after the restart (the embedded broker forgets retained
    // messages), with the call history read back from the database.
    let mut late_display = MqttProbe::connect(hub.mqtt_port(), "test-late-display").await?;
    late_display.subscribe(&topic("board")).await?;
    let board = late_display.next_on(&topic("board"), WAIT).await.expect("a retained board");
    assert!(board.retain);
    let board = board.json();
    assert_eq!(board["calls"][0]["ticket"], "A001");
    assert_eq!(board["calls"][0]["recall"], true);

    // The repeated id is still remembered after the restart.
    let mut button = MqttProbe::connect(hub.mqtt_port(), "test-button-2").await?;
    button.subscribe(&topic("counters/2/reply")).await?;
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-0001","action":"next"}"#).await?;
    let after = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("reply after restart").json();
    assert_eq!(after, reply);
    let (_, second_now) = hub.get(&format!("/api/v1/tickets/{}", second["id"])).await?;
    assert_eq!(second_now["status"], "waiting", "the old id did not call A002");

    // A clean stop says so.
    assert!(hub.terminate()?, "SIGTERM ends the hub cleanly:\n{}", hub.log());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_calls_through_the_embedded_broker_and_survives_kill_9() -> Result<()> {
    button_scenario(Hub::start_embedded().await?).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_button_calls_through_mosquitto_and_survives_kill_9() -> Result<()> {
    let mosquitto = Mosquitto::start()?;
    let hub = Hub::start_external(mosquitto.port).await?;
    button_scenario(hub).await
}

/// Many kiosks issue tickets at once; the hub is killed in the middle. Every ticket that was
/// acknowledged (201) is there after the restart, and no number or case reference is reused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_ticket_survives_kill_9_under_load() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let url = hub.url("/api/v1/tickets");
    let mut kiosks = Vec::new();
    for k in 0..16 {
        let client = hub.client.clone();
        let url = url.clone();
        kiosks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..10_000 {
                let service = ["A", "B", "C", "D"][(k + i) % 4];
                match client.post(&url).json(&json!({"service": service})).send().await {
                    Ok(resp) if resp.status() == 201 => {
                        acknowledged.push(resp.json::<Value>().await.expect("ticket json"))
                    }
                    _ => break, // the hub is gone
                }
            }
            acknowledged
        }));
    }
    tokio::time::sleep(Duration::from_millis(800)).await;
    hub.kill9();
    let mut acknowledged = Vec::new();
    for kiosk in kiosks {
        acknowledged.extend(kiosk.await?);
    }
    assert!(acknowledged.len() > 50, "only {} tickets before the kill", acknowledged.len());
    hub.restart().await?;
    let mut numbers = HashSet::new();
    for ticket in &acknowledged {
        let (code, stored) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
        assert_eq!(code, 200, "acknowledged ticket {} lost", ticket["number"]);
        assert_eq!(stored["number"], ticket["number"]);
        assert_eq!(stored["case_ref"], ticket["case_ref"]);
        assert!(
            numbers.insert(ticket["number"].as_str().unwrap().to_string()),
            "number {} issued twice",
            ticket["number"]
        );
    }
    // Numbering goes on after the highest number ever handed out, even the unacknowledged ones.
    let next = issue(&hub, "A").await?;
    assert!(!numbers.contains(next["number"].as_str().unwrap()), "{next}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_api_answers_mistakes_with_json_errors() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let client = &hub.client;
    let cases: Vec<(&str, &str, Option<&str>, u16, &str)> = vec![
        ("POST", "/api/v1/tickets", Some(r#"{"service":"Z"}"#), 404, "unknown_service"),
        ("POST", "/api/v1/tickets", Some(r#"{"service":"A","priority":"vip"}"#), 400, "malformed"),
        ("POST", "/api/v1/tickets", Some("not json"), 400, "malformed"),
        ("POST", "/api/v1/tickets", None, 400, "malformed"),
        ("POST", "/api/v1/tickets", Some(r#"{"service":"A","priority":"appointment"}"#), 400, "malformed"),
        ("GET", "/api/v1/tickets/abc", None, 400, "malformed"),
        ("GET", "/api/v1/tickets/99999", None, 404, "unknown_ticket"),
        ("POST", "/api/v1/counters/2/explode", None, 400, "malformed"),
        ("POST", "/api/v1/counters/99/next", None, 404, "unknown_counter"),
        ("POST", "/api/v1/counters/2/recall", None, 409, "no_current_visitor"),
        ("POST", "/api/v1/counters/2/call", Some(r#"{"ticket":"A999"}"#), 404, "unknown_ticket"),
        ("POST", "/api/v1/counters/2/call", None, 400, "malformed"),
        ("POST", "/api/v1/counters/2/transfer", Some(r#"{"id":""}"#), 400, "malformed"),
        ("GET", "/api/v1/queue?counter=99", None, 404, "unknown_counter"),
        ("GET", "/api/v1/nothing-here", None, 404, "not_found"),
        ("DELETE", "/api/v1/tickets", None, 405, "method_not_allowed"),
    ];
    for (method, path, body, status, error) in cases {
        let mut req = client.request(method.parse()?, hub.url(path));
        if let Some(body) = body {
            req = req.header("content-type", "application/json").body(body.to_string());
        }
        let resp = req.send().await?;
        let code = resp.status().as_u16();
        let json: Value = resp.json().await?;
        assert_eq!((code, json["error"].as_str()), (status, Some(error)), "{method} {path}: {json}");
        assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()), "{method} {path}: {json}");
    }
    // The queue is intact after all that.
    let (_, services) = hub.get("/api/v1/services").await?;
    assert_eq!(services.as_array().unwrap().iter().map(|s| s["waiting"].as_u64().unwrap()).sum::<u64>(), 0);
    Ok(())
}

/// The staff app's actions over HTTP: transfer keeps the arrival time, out-of-order calls,
/// pause and resume, and the waiting list in call order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counter_actions_over_http_follow_the_rules() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let a1 = issue(&hub, "A").await?;
    let b1 = issue(&hub, "B").await?;
    let a2 = issue(&hub, "A").await?;
    let (_, order) = hub.get("/api/v1/queue?counter=4").await?;
    let numbers: Vec<_> = order.as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(numbers, ["B001", "A001", "A002"], "counter 4 prefers B");

    let (code, reply) = hub.post("/api/v1/counters/2/next", json!({})).await?;
    assert_eq!((code, reply["ticket"].as_str()), (200, Some("A001")));
    hub.post("/api/v1/counters/2/start", json!({})).await?;
    let (code, _) = hub.post("/api/v1/counters/2/transfer", json!({"to_service": "B", "note": "needs a deed"})).await?;
    assert_eq!(code, 200);
    let (_, moved) = hub.get(&format!("/api/v1/tickets/{}", a1["id"])).await?;
    assert_eq!((moved["status"].as_str(), moved["service"].as_str()), (Some("waiting"), Some("B")));
    assert_eq!(moved["issued_at"], a1["issued_at"], "arrival time kept");
    // Counter 5 serves B: A001 arrived before B001 and goes first.
    let (_, reply) = hub.post("/api/v1/counters/5/next", json!({})).await?;
    assert_eq!(reply["ticket"], "A001");

    let (code, reply) =
        hub.post("/api/v1/counters/3/call", json!({"ticket": "A002", "reason": "elderly visitor"})).await?;
    assert_eq!((code, reply["ticket"].as_str()), (200, Some("A002")));
    let (code, err) = hub.post("/api/v1/counters/3/pause", json!({"reason": "prayer"})).await?;
    assert_eq!((code, err["error"].as_str()), (409, Some("visitor_at_counter")));
    hub.post("/api/v1/counters/3/complete", json!({"outcome": "resolved"})).await?;
    let (_, done) = hub.get(&format!("/api/v1/tickets/{}", a2["id"])).await?;
    assert_eq!((done["status"].as_str(), done["outcome"].as_str()), (Some("done"), Some("resolved")));
    hub.post("/api/v1/counters/3/pause", json!({"reason": "prayer"})).await?;
    issue(&hub, "A").await?;
    let (code, err) = hub.post("/api/v1/counters/3/next", json!({})).await?;
    assert_eq!((code, err["error"].as_str()), (409, Some("counter_paused")));
    let (_, counters) = hub.get("/api/v1/counters").await?;
    assert_eq!(counters[2]["status"], "paused");
    hub.post("/api/v1/counters/3/resume", json!({})).await?;
    let (_, reply) = hub.post("/api/v1/counters/3/next", json!({})).await?;
    assert_eq!(reply["ticket"], "A003");
    let (_, b) = hub.post(&format!("/api/v1/tickets/{}/cancel", b1["id"]), json!({})).await?;
    assert_eq!(b["status"], "cancelled");
    Ok(())
}

/// Devices announce themselves with a retained status and a last will; the hub lists them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn device_presence_follows_the_last_will() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let status_topic = topic("devices/button-2/status");
    let device =
        MqttProbe::connect_with_will(hub.mqtt_port(), "button-2", Some((&status_topic, r#"{"status":"offline"}"#)))
            .await?;
    device.client.publish(&status_topic, rumqttc::QoS::AtLeastOnce, true, br#"{"status":"online"}"#.to_vec()).await?;
    let find = |devices: &Value| {
        devices.as_array().unwrap().iter().find(|d| d["device"] == "button-2").map(|d| d["status"].clone())
    };
    let mut seen = None;
    for _ in 0..100 {
        let (_, devices) = hub.get("/api/v1/devices").await?;
        seen = find(&devices);
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(json!("online")));
    device.vanish();
    for _ in 0..200 {
        let (_, devices) = hub.get("/api/v1/devices").await?;
        if find(&devices) == Some(json!("offline")) {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the last will did not mark the device offline");
}

/// Every path in the OpenAPI document is served (no route or method is missing).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_route_is_served() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let (_, doc) = hub.get("/api/openapi.json").await?;
    let paths = doc["paths"].as_object().expect("paths");
    for (path, methods) in paths {
        let concrete = path.replace("{id}", "1").replace("{counter}", "1").replace("{action}", "resume");
        for method in methods.as_object().unwrap().keys() {
            let resp = hub.client.request(method.to_uppercase().parse()?, hub.url(&concrete)).send().await?;
            let status = resp.status().as_u16();
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            assert!(status != 405 && body["error"] != "not_found", "{method} {path} is documented but not served");
        }
    }
    Ok(())
}

/// Exit ratings over MQTT and HTTP: the visit last completed at the counter, once, within the
/// window; a repeated id is answered again; all of it survives kill -9.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exit_rating_is_counted_once_and_survives_kill_9() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let (code, err) = hub.post("/api/v1/ratings", json!({"counter": "4", "score": 5})).await?;
    assert_eq!((code, err["error"].as_str()), (409, Some("nothing_to_rate")));
    let first = issue(&hub, "B").await?;
    hub.post("/api/v1/counters/4/next", json!({})).await?;
    hub.post("/api/v1/counters/4/complete", json!({})).await?;

    let mut terminal = MqttProbe::connect(hub.mqtt_port(), "test-rating-4").await?;
    terminal.subscribe(&topic("counters/4/reply")).await?;
    let rating = r#"{"id":"r4-1","score":2,"reason":"waited_too_long"}"#;
    terminal.publish(&topic("counters/4/rating"), rating).await?;
    let reply = terminal.next_on(&topic("counters/4/reply"), WAIT).await.expect("a reply").json();
    assert_eq!(reply, json!({"id": "r4-1", "ok": true, "ticket": "B001", "rating": first["id"]}));
    terminal.publish(&topic("counters/4/rating"), rating).await?;
    let again = terminal.next_on(&topic("counters/4/reply"), WAIT).await.expect("answered again").json();
    assert_eq!(again, reply, "a repeated id is answered again, not refused or counted twice");
    terminal.publish(&topic("counters/4/rating"), r#"{"id":"r4-2","score":5}"#).await?;
    let second = terminal.next_on(&topic("counters/4/reply"), WAIT).await.expect("a refusal").json();
    assert_eq!(second["error"], "already_rated");
    terminal.publish(&topic("counters/4/rating"), r#"{"id":"r4-3","score":9}"#).await?;
    let bad = terminal.next_on(&topic("counters/4/reply"), WAIT).await.expect("a refusal").json();
    assert_eq!(bad["error"], "malformed");

    let (_, rated) = hub.get(&format!("/api/v1/tickets/{}", first["id"])).await?;
    assert_eq!((rated["rating"].as_u64(), rated["rating_reason"].as_str()), (Some(2), Some("waited_too_long")));
    drop(terminal);
    hub.restart().await?;
    let (_, rated) = hub.get(&format!("/api/v1/tickets/{}", first["id"])).await?;
    assert_eq!(rated["rating"], 2, "the rating survived kill -9");
    let (code, err) = hub.post("/api/v1/ratings", json!({"counter": "4", "score": 5})).await?;
    assert_eq!((code, err["error"].as_str()), (409, Some("already_rated")), "still rated after the restart");
    // The web form (HTTP) rates another counter's visit.
    let other = issue(&hub, "C").await?;
    hub.post("/api/v1/counters/6/next", json!({})).await?;
    hub.post("/api/v1/counters/6/complete", json!({})).await?;
    let (code, reply) = hub.post("/api/v1/ratings", json!({"counter": "6", "score": 5, "id": "web-1"})).await?;
    assert_eq!((code, reply["ticket"].as_str()), (201, Some("C001")));
    let (_, rated) = hub.get(&format!("/api/v1/tickets/{}", other["id"])).await?;
    assert_eq!(rated["rating"], 5);
    Ok(())
}

/// Tickets an earlier day left waiting are cancelled when the hub sees a new day (here: after a
/// restart on a database whose waiting ticket is dated yesterday).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_left_waiting_by_an_earlier_day_are_closed() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let old = issue(&hub, "A").await?;
    hub.kill9();
    let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    let changed =
        db.execute("UPDATE visits SET local_day = date(local_day, '-1 day') WHERE id = ?1", [old["id"].as_i64()])?;
    assert_eq!(changed, 1);
    drop(db);
    hub.restart().await?;
    let today = issue(&hub, "A").await?;
    let mut status = Value::Null;
    for _ in 0..100 {
        status = hub.get(&format!("/api/v1/tickets/{}", old["id"])).await?.1["status"].clone();
        if status == "cancelled" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, "cancelled", "yesterday's ticket was closed");
    let (_, fresh) = hub.get(&format!("/api/v1/tickets/{}", today["id"])).await?;
    assert_eq!(fresh["status"], "waiting", "today's ticket is untouched");
    Ok(())
}

/// A kiosk that retries a ticket request (the answer got lost) gets the same ticket back, before
/// and after a kill -9, and never a second one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_ticket_request_gets_the_same_ticket() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let request = json!({"service": "B", "request_id": "kiosk-1-touch-42"});
    let (code, first) = hub.post("/api/v1/tickets", request.clone()).await?;
    assert_eq!(code, 201);
    let (code, again) = hub.post("/api/v1/tickets", request.clone()).await?;
    assert_eq!(code, 201);
    assert_eq!((again["id"].clone(), again["number"].clone()), (first["id"].clone(), first["number"].clone()));
    hub.restart().await?;
    let (_, after) = hub.post("/api/v1/tickets", request).await?;
    assert_eq!(after["id"], first["id"], "remembered across kill -9");
    let (_, queue) = hub.get("/api/v1/queue").await?;
    assert_eq!(queue.as_array().unwrap().len(), 1, "one ticket, not three: {queue}");
    let (_, other) = hub.post("/api/v1/tickets", json!({"service": "B", "request_id": "kiosk-1-touch-43"})).await?;
    assert_eq!(other["number"], "B002");
    let (code, err) = hub.post("/api/v1/tickets", json!({"service": "B", "request_id": ""})).await?;
    assert_eq!((code, err["error"].as_str()), (400, Some("malformed")));
    Ok(())
}
