//! End-to-end: a hub process, a real broker (embedded rumqttd or Mosquitto), raw MQTT devices,
//! HTTP clients, `kill -9` and restart.
use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Result;
use dawr_e2e::{Hub, Mosquitto, MqttProbe, wait_until};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

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
    let mut display = MqttProbe::connect(port, &hub.device("board-1")?).await?;
    display.subscribe(&topic("calls")).await?;
    let mut button = MqttProbe::connect(port, &hub.device("button-2")?).await?;
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
    let mut replayed = reply.clone();
    replayed["replay"] = json!(true);
    assert_eq!(again, replayed, "the first answer again, marked as a replay");
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
    // The next call after the first is this recall: the repeated id called nobody.
    let call = display.next_on(&topic("calls"), WAIT).await.expect("the recall").json();
    assert_eq!((call["ticket"].as_str(), call["recall"].as_bool()), (Some("A001"), Some(true)));

    // kill -9, then restart on the same database: every acknowledged change is there.
    let third = issue(&hub, "B").await?;
    drop((button, display));
    hub.restart().await?;
    // A device that connects now finds its counter's state retained. The restarted hub publishes
    // its states as it reconnects; a device subscribing before that publish sees it live (not
    // flagged retained), so it connects again: by then the broker must hold the state.
    let mut fresh = MqttProbe::connect(hub.mqtt_port(), &hub.device("counter-2-app")?).await?;
    fresh.subscribe(&topic("counters/2/state")).await?;
    let mut state = fresh.next_on(&topic("counters/2/state"), WAIT).await.expect("a counter state");
    if !state.retain {
        drop(fresh);
        let mut again = MqttProbe::connect(hub.mqtt_port(), &hub.device("rating-2")?).await?;
        again.subscribe(&topic("counters/2/state")).await?;
        state = again.next_on(&topic("counters/2/state"), WAIT).await.expect("a retained counter state");
    }
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
    let mut late_display = MqttProbe::connect(hub.mqtt_port(), &hub.device("board-1")?).await?;
    late_display.subscribe(&topic("board")).await?;
    let board = late_display.next_on(&topic("board"), WAIT).await.expect("a retained board");
    assert!(board.retain);
    let board = board.json();
    assert_eq!(board["calls"][0]["ticket"], "A001");
    assert_eq!(board["calls"][0]["recall"], true);

    // The repeated id is still remembered after the restart.
    let mut button = MqttProbe::connect(hub.mqtt_port(), &hub.device("button-2")?).await?;
    button.subscribe(&topic("counters/2/reply")).await?;
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-0001","action":"next"}"#).await?;
    let after = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("reply after restart").json();
    assert_eq!(after, replayed);
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
/// acknowledged (201) is there after the restart, the hub answered nothing but 201 before it
/// died, and no number, case reference or visit id is used again, not even those of tickets
/// stored but never acknowledged. (That the database is opened with `synchronous=FULL`, which a
/// kill -9 alone cannot tell from `OFF`, is held by `store`'s unit tests.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_ticket_survives_kill_9_under_load() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let url = hub.url("/api/v1/tickets");
    let issued = Arc::new(AtomicUsize::new(0));
    let kiosk = hub.device("kiosk-1")?;
    let mut kiosks = Vec::new();
    for k in 0..16 {
        let (client, url, issued, kiosk) = (hub.client.clone(), url.clone(), issued.clone(), kiosk.clone());
        kiosks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for i in 0..10_000 {
                let service = ["A", "B", "C", "D"][(k + i) % 4];
                let request = client.post(&url).basic_auth(&kiosk.username, Some(&kiosk.password));
                match request.json(&json!({"service": service})).send().await {
                    Ok(resp) if resp.status() == 201 => {
                        acknowledged.push(resp.json::<Value>().await.expect("ticket json"));
                        issued.fetch_add(1, Ordering::SeqCst);
                    }
                    Ok(resp) => {
                        return Err(format!(
                            "the hub answered {}: {}",
                            resp.status(),
                            resp.text().await.unwrap_or_default()
                        ));
                    }
                    Err(_) => break, // the hub is gone
                }
            }
            Ok(acknowledged)
        }));
    }
    let busy = wait_until(Duration::from_secs(30), || async { issued.load(Ordering::SeqCst) >= 300 }).await;
    assert!(busy, "only {} tickets issued", issued.load(Ordering::SeqCst));
    hub.kill9();
    let mut acknowledged = Vec::new();
    for kiosk in kiosks {
        acknowledged.extend(kiosk.await?.map_err(anyhow::Error::msg)?);
    }
    // What the dead hub left on disk, acknowledged or not.
    let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    let stored: Vec<(i64, String, String)> = db
        .prepare("SELECT id, number, case_ref FROM visits")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    drop(db);
    assert!(stored.len() >= acknowledged.len());
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
    // Numbering, case references and visit ids go on after the highest ever stored, even the
    // unacknowledged ones.
    let max_id = stored.iter().map(|(id, _, _)| *id).max().unwrap_or(0);
    for service in ["A", "B", "C", "D"] {
        let next = issue(&hub, service).await?;
        assert!(next["id"].as_i64().unwrap() > max_id, "visit id {} reused (highest stored {max_id})", next["id"]);
        let (number, case_ref) = (next["number"].as_str().unwrap(), next["case_ref"].as_str().unwrap());
        assert!(!stored.iter().any(|(_, n, _)| n == number), "number {number} reused");
        assert!(!stored.iter().any(|(_, _, c)| c == case_ref), "case reference {case_ref} reused");
    }
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
    let seated = hub.counter_token("2").await?;
    let kiosk = hub.device("kiosk-1")?;
    for (method, path, body, status, error) in cases {
        let mut req = client.request(method.parse()?, hub.url(path));
        if path.starts_with("/api/v1/counters/2/") {
            req = req.bearer_auth(&seated);
        }
        if (method, path) == ("POST", "/api/v1/tickets") {
            req = req.basic_auth(&kiosk.username, Some(&kiosk.password));
        }
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
    let device = MqttProbe::connect_with_will(
        hub.mqtt_port(),
        &hub.device("button-2")?,
        Some((&status_topic, r#"{"status":"offline"}"#)),
    )
    .await?;
    device.client.publish(&status_topic, rumqttc::QoS::AtLeastOnce, true, br#"{"status":"online"}"#.to_vec()).await?;
    let find = |devices: &Value| {
        devices.as_array().unwrap().iter().find(|d| d["device"] == "button-2").map(|d| d["status"].clone())
    };
    let mut seen = None;
    for _ in 0..100 {
        let (_, devices) = hub.manager_get("/api/v1/devices").await?;
        seen = find(&devices);
        if seen.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(seen, Some(json!("online")));
    device.vanish();
    for _ in 0..200 {
        let (_, devices) = hub.manager_get("/api/v1/devices").await?;
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

    let mut terminal = MqttProbe::connect(hub.mqtt_port(), &hub.device("rating-4")?).await?;
    terminal.subscribe(&topic("counters/4/reply")).await?;
    let rating = r#"{"id":"r4-1","score":2,"reason":"waited_too_long"}"#;
    terminal.publish(&topic("counters/4/rating"), rating).await?;
    let reply = terminal.next_on(&topic("counters/4/reply"), WAIT).await.expect("a reply").json();
    assert_eq!(reply, json!({"id": "r4-1", "ok": true, "ticket": "B001", "rating": first["id"]}));
    terminal.publish(&topic("counters/4/rating"), rating).await?;
    let again = terminal.next_on(&topic("counters/4/reply"), WAIT).await.expect("answered again").json();
    let mut replayed = reply.clone();
    replayed["replay"] = json!(true);
    assert_eq!(again, replayed, "a repeated id is answered again (marked a replay), not refused or counted twice");
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

/// Every error code of the contract, provoked over HTTP: each with its status and a JSON body.
/// The last is a disk that fails (a trigger in the database stands in for a full disk): the hub
/// answers 503 `storage_unavailable`, keeps nothing of the failed change in memory (the epoch
/// rule: it reloads from the database), and goes on once the disk works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_code_is_answered_over_http() -> Result<()> {
    // Counter 8 starts closed.
    let demo = dawr_e2e::production_branch(&dawr_e2e::demo_branch());
    let closed_eight = demo.replacen("id = \"8\"\n", "id = \"8\"\nopen = false\n", 1);
    assert_ne!(closed_eight, demo);
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("branch.toml");
    std::fs::write(&config, closed_eight)?;
    let hub = Hub::start_embedded_with(&["--config", config.to_str().unwrap()]).await?;

    let mut seen = HashSet::new();
    let mut expect = |(status, body): (u16, Value), want: (u16, &str)| {
        assert_eq!((status, body["error"].as_str()), (want.0, Some(want.1)), "{body} (after {seen:?})");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        seen.insert(want.1.to_string());
    };
    // The branch file's hub has no demo devices: the harness enrols its kiosk (and waits for it).
    assert_eq!(hub.post("/api/v1/tickets", json!({"service": "Z"})).await?.0, 404);
    let (kiosk, _) = hub.device_account("kiosk-1", "kiosk", None)?;
    let raw = hub.client.post(hub.url("/api/v1/tickets")).header("content-type", "application/json").body("{");
    let raw = raw.basic_auth(&kiosk.username, Some(&kiosk.password)).send().await?;
    expect((raw.status().as_u16(), raw.json().await?), (400, "malformed"));
    expect(hub.post("/api/v1/tickets", json!({"service": "Z"})).await?, (404, "unknown_service"));
    expect(hub.post("/api/v1/counters/99/next", json!({})).await?, (404, "unknown_counter"));
    expect(hub.get("/api/v1/tickets/99999").await?, (404, "unknown_ticket"));
    expect(hub.post("/api/v1/counters/2/recall", json!({})).await?, (409, "no_current_visitor"));
    expect(hub.post("/api/v1/ratings", json!({"counter": "3", "score": 4})).await?, (409, "nothing_to_rate"));
    issue(&hub, "A").await?;
    issue(&hub, "C").await?;
    expect(hub.post("/api/v1/counters/2/call", json!({"ticket": "C001"})).await?, (409, "not_served_here"));
    assert_eq!(hub.post("/api/v1/counters/2/next", json!({})).await?.0, 200);
    expect(hub.post("/api/v1/counters/3/call", json!({"ticket": "A001"})).await?, (409, "not_waiting"));
    expect(hub.post("/api/v1/counters/2/pause", json!({"reason": "prayer"})).await?, (409, "visitor_at_counter"));
    assert_eq!(hub.post("/api/v1/counters/2/start", json!({})).await?.0, 200);
    expect(hub.post("/api/v1/counters/2/no_show", json!({})).await?, (409, "wrong_state"));
    assert_eq!(hub.post("/api/v1/counters/2/complete", json!({"outcome": "resolved"})).await?.0, 200);
    let (status, rated) = hub.post("/api/v1/ratings", json!({"counter": "2", "score": 2})).await?;
    assert_eq!(status, 201, "{rated}");
    expect(hub.post("/api/v1/ratings", json!({"counter": "2", "score": 5})).await?, (409, "already_rated"));
    let reason = format!("/api/v1/ratings/{}/reason", rated["rating"]);
    assert_eq!(hub.post(&reason, json!({"reason": "waited_too_long"})).await?.0, 200);
    expect(hub.post(&reason, json!({"reason": "other"})).await?, (409, "reason_already_given"));
    let elsewhere = format!("/api/v1/ratings/{}/reason", rated["rating"].as_u64().unwrap() + 40);
    expect(hub.post(&elsewhere, json!({"reason": "other"})).await?, (404, "unknown_rating"));
    expect(hub.post("/api/v1/counters/8/next", json!({})).await?, (409, "counter_closed"));
    // Complaints (F) are served at counters 1, 7 and 8: 8 is closed, 1 and 7 pause.
    for counter in ["1", "7"] {
        assert_eq!(hub.post(&format!("/api/v1/counters/{counter}/pause"), json!({"reason": "prayer"})).await?.0, 200);
    }
    expect(hub.post("/api/v1/tickets", json!({"service": "F"})).await?, (409, "service_closed"));
    expect(hub.post("/api/v1/counters/1/next", json!({})).await?, (409, "counter_paused"));
    // A command id used again for another command (counter 3 has nobody to call).
    assert_eq!(hub.post("/api/v1/counters/3/next", json!({"id": "desk-3-1"})).await?.0, 200);
    expect(hub.post("/api/v1/counters/3/recall", json!({"id": "desk-3-1"})).await?, (409, "id_reused"));

    // The disk fails.
    let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    db.execute_batch("CREATE TRIGGER disk_full BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'disk full'); END;")?;
    expect(hub.post("/api/v1/tickets", json!({"service": "A"})).await?, (503, "storage_unavailable"));
    expect(hub.post("/api/v1/counters/6/next", json!({})).await?, (503, "storage_unavailable"));
    db.execute_batch("DROP TRIGGER disk_full;")?;
    // Nothing of it stayed in memory: C001 is still waiting, and A002 is the next number.
    let (_, queue) = hub.get("/api/v1/queue").await?;
    let waiting: Vec<&str> = queue.as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(waiting, ["C001"], "{queue}");
    assert_eq!(issue(&hub, "A").await?["number"], "A002");

    let mut all: HashSet<String> = dawr_protocol::device::ErrorCode::ALL
        .into_iter()
        .map(|c| serde_json::to_value(c).unwrap().as_str().unwrap().to_string())
        .collect();
    // Only the broker's gate answers `wrong_device` (a command naming another device than its MQTT
    // login; tests/tests/mqtt_login.rs): over HTTP the caller is its credentials, not a field.
    assert!(all.remove("wrong_device"));
    assert_eq!(seen, all, "every code of the contract");
    Ok(())
}

/// The hub's clock can be given an offset (`--clock-offset-s`): started a few seconds before a
/// local midnight, the hub sees the new day while it runs and cancels the earlier day's waiting
/// tickets (`day_closed`), leaves a visitor at a counter alone, and numbers from 1 again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_local_day_while_the_hub_runs_closes_the_day_before() -> Result<()> {
    // Riyadh (+03:00), the demo branch's offset; midnight this many seconds after the start.
    const LEAD_S: i64 = 20;
    let riyadh = chrono::FixedOffset::east_opt(3 * 3600).unwrap();
    let now = chrono::Utc::now();
    let next_midnight = (now.with_timezone(&riyadh).date_naive() + chrono::Duration::days(1))
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_local_timezone(riyadh)
        .unwrap();
    let offset_s = (next_midnight.with_timezone(&chrono::Utc) - now).num_milliseconds() as f64 / 1000.0 - LEAD_S as f64;
    let hub = Hub::start_embedded_with(&["--clock-offset-s", &offset_s.to_string()]).await?;

    let waiting = issue(&hub, "A").await?;
    let served = issue(&hub, "A").await?;
    let (_, called) = hub.post("/api/v1/counters/2/call", json!({"ticket": served["number"]})).await?;
    assert_eq!(called["ticket"], served["number"]);
    let evening =
        |t: &Value| chrono::DateTime::parse_from_rfc3339(t["issued_at"].as_str().unwrap()).unwrap() < next_midnight;
    assert!(evening(&waiting) && evening(&served), "issued before midnight (the hub started in time)");
    assert_eq!(waiting["number"], "A001");

    // Midnight passes while the hub runs.
    let closed = wait_until(Duration::from_secs(LEAD_S as u64 + 30), || async {
        hub.get(&format!("/api/v1/tickets/{}", waiting["id"])).await.is_ok_and(|(_, t)| t["status"] == "cancelled")
    })
    .await;
    assert!(closed, "the earlier day's waiting ticket was not closed:\n{}", hub.log());
    let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    let reason: String = db.query_row(
        "SELECT payload FROM events WHERE visit_id = ?1 AND kind = 'cancelled'",
        [waiting["id"].as_i64()],
        |r| r.get(0),
    )?;
    assert!(reason.contains("day_closed"), "{reason}");
    let (_, at_counter) = hub.get(&format!("/api/v1/tickets/{}", served["id"])).await?;
    assert_eq!(at_counter["status"], "called", "a visitor at a counter is left to the counter");
    let morning = issue(&hub, "A").await?;
    assert_eq!(morning["number"], "A001", "numbers start again on the new day");
    assert_ne!(morning["case_ref"], waiting["case_ref"], "case references are never reused");
    Ok(())
}

/// A full disk under concurrent load (issue #17): the hub's files limited to 1 kB, its log
/// included, so every write fails with `EFBIG` as on `ENOSPC`. While it lasts, every change is
/// refused clearly (503 with a JSON reason, an MQTT reply `storage_unavailable`) and none is
/// acknowledged; when space returns the hub takes changes again by itself, the refused command
/// id is acted on once, and nothing refused was kept. (Before the fix the writer thread died
/// logging the failed write, the log being full too, and the hub acknowledged nothing again.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_is_refused_clearly_and_the_hub_recovers_when_space_returns() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let mut button = MqttProbe::connect(hub.mqtt_port(), &hub.device("button-2")?).await?;
    button.subscribe(&topic("counters/2/reply")).await?;
    let first = issue(&hub, "A").await?;
    const LIMIT: u64 = 1024;
    assert!(hub.log().len() as u64 > LIMIT, "the log is past the limit too, as on a full disk");
    // Signed in before the disk fills (a sign-in is written too).
    hub.counter_token("3").await?;
    hub.staff_token().await?;

    hub.set_file_size_limit(Some(LIMIT))?;
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-full","action":"next"}"#).await?;
    let ticket = || hub.post("/api/v1/tickets", json!({"service": "A"}));
    let (a, b, c, d, next) =
        tokio::join!(ticket(), ticket(), ticket(), ticket(), hub.post("/api/v1/counters/3/next", json!({})));
    for (status, body) in [a?, b?, c?, d?, next?] {
        assert_eq!((status, body["error"].as_str()), (503, Some("storage_unavailable")), "{body}");
        assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
    }
    let refused = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("a reply").json();
    assert_eq!(
        (refused["id"].as_str(), refused["ok"].as_bool(), refused["error"].as_str()),
        (Some("b2-full"), Some(false), Some("storage_unavailable")),
        "{refused}"
    );
    assert!(hub.running(), "the hub still runs");

    // Space returns: the hub takes changes again without a restart.
    hub.set_file_size_limit(None)?;
    let recovered = wait_until(WAIT, || async {
        hub.post("/api/v1/tickets", json!({"service": "B"})).await.is_ok_and(|(status, _)| status == 201)
    })
    .await;
    assert!(recovered, "the hub took a ticket again once space returned:\n{}", hub.log());
    button.publish(&topic("counters/2/command"), r#"{"id":"b2-full","action":"next"}"#).await?;
    let reply = button.next_on(&topic("counters/2/reply"), WAIT).await.expect("a reply").json();
    assert_eq!(reply, json!({"id": "b2-full", "ok": true, "ticket": first["number"]}), "the refused id, acted on now");
    // Nothing refused was kept: the next A ticket is A002.
    assert_eq!(issue(&hub, "A").await?["number"], "A002");
    let (_, queue) = hub.get("/api/v1/queue").await?;
    let waiting: HashSet<&str> = queue.as_array().unwrap().iter().map(|t| t["number"].as_str().unwrap()).collect();
    assert_eq!(waiting, HashSet::from(["B001", "A002"]), "{queue}");
    Ok(())
}

/// Skills: the branch file says s101 may serve only D (civil records). Signed in at counter 2
/// (A and D), s101's session and the counters' listing say the counter calls D; `next` calls the
/// D visitor and then nobody, though an A visitor waits longer, and an out-of-order call of the
/// A ticket is refused — also after a `kill -9` and restart (the session comes back, and with it
/// the limit). s102 at counter 4 (B, A) calls the A visitor.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_counter_staffed_by_someone_without_a_service_never_calls_it() -> Result<()> {
    let demo = dawr_e2e::production_branch(&dawr_e2e::demo_branch());
    let assigned = "counters = [\"1\", \"2\", \"3\"]\n";
    let skilled = demo.replacen(assigned, &format!("{assigned}services = [\"D\"]\n"), 1);
    assert_ne!(skilled, demo);
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("branch.toml");
    std::fs::write(&config, skilled)?;
    let mut hub = Hub::start_embedded_with(&["--config", config.to_str().unwrap()]).await?;

    let session = hub.sign_in("s101", Some("2")).await?;
    assert_eq!(session.services, vec!["D".to_string()]);
    let at_two = |action: &str| format!("/api/v1/counters/2/{action}");
    issue(&hub, "A").await?;
    issue(&hub, "D").await?;
    let (_, counters) = hub.get("/api/v1/counters").await?;
    let two = counters.as_array().unwrap().iter().find(|c| c["counter"] == "2").unwrap().clone();
    assert_eq!((&two["services"], &two["serving"], &two["waiting"]), (&json!(["A", "D"]), &json!(["D"]), &json!(1)));
    let (_, waiting) = hub.get("/api/v1/queue?counter=2").await?;
    let listed: Vec<&str> = waiting.as_array().unwrap().iter().filter_map(|t| t["number"].as_str()).collect();
    assert_eq!(listed, vec!["D001"]);

    let (status, called) = hub.post_as(&at_two("next"), json!({}), Some(&session.token)).await?;
    assert_eq!((status, called["ticket"].as_str()), (200, Some("D001")), "{called}");
    let (status, none) = hub.post_as(&at_two("next"), json!({"outcome": "resolved"}), Some(&session.token)).await?;
    assert_eq!((status, none["ticket"].clone()), (200, Value::Null), "A001 is not s101's to call: {none}");
    let call = json!({"ticket": "A001"});
    let (status, refused) = hub.post_as(&at_two("call"), call, Some(&session.token)).await?;
    assert_eq!((status, refused["error"].as_str()), (409, Some("not_served_here")), "{refused}");

    hub.kill9();
    hub.restart().await?;
    let (status, none) = hub.post_as(&at_two("next"), json!({}), Some(&session.token)).await?;
    assert_eq!((status, none["ticket"].clone()), (200, Value::Null), "after a restart: {none}");
    let (status, called) = hub.post("/api/v1/counters/4/next", json!({})).await?;
    assert_eq!((status, called["ticket"].as_str()), (200, Some("A001")), "{called}");
    Ok(())
}

/// A process started by a test, killed when the test ends (also when it fails).
struct Reaped(std::process::Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Waits up to `within` for the next datagram on systemd's notify socket.
async fn next_notice(socket: &Arc<std::os::unix::net::UnixDatagram>, within: Duration) -> Result<String> {
    let socket = socket.clone();
    socket.set_read_timeout(Some(within))?;
    let text = tokio::task::spawn_blocking(move || {
        let mut buf = [0u8; 512];
        socket.recv(&mut buf).map(|n| String::from_utf8_lossy(&buf[..n]).into_owned())
    })
    .await??;
    Ok(text)
}

/// `Type=notify`: the hub says `READY=1` only once HTTP serves and its own MQTT subscriptions
/// are in place — not while its broker is away, though HTTP already answers — so a button's
/// command sent the moment systemd reports the hub started is answered; `STOPPING=1` as SIGTERM
/// begins its shutdown. The appointments site says `READY=1` once it serves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_tells_systemd_it_is_ready_only_when_a_first_command_is_heard() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let socket_path = dir.path().join("notify.sock");
    let socket = Arc::new(std::os::unix::net::UnixDatagram::bind(&socket_path)?);
    // The broker is away when the hub starts.
    let mut broker = Mosquitto::start()?;
    broker.kill9();
    let http = dawr_e2e::free_port();
    let log = std::fs::File::create(dir.path().join("hub.log"))?;
    let mut child = Reaped(
        std::process::Command::new(dawr_e2e::hub_binary())
            .args(["--http", &format!("127.0.0.1:{http}"), "--mqtt-url", &format!("mqtt://127.0.0.1:{}", broker.port)])
            .arg("--data-dir")
            .arg(dir.path())
            .env("NOTIFY_SOCKET", &socket_path)
            .env("RUST_LOG", "info,rumqttd=off")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()?,
    );
    let hub_log = || std::fs::read_to_string(dir.path().join("hub.log")).unwrap_or_default();
    let client = dawr_e2e::http_client().build()?;
    let health = format!("http://127.0.0.1:{http}/healthz");
    let answers = wait_until(Duration::from_secs(30), || async { client.get(&health).send().await.is_ok() }).await;
    assert!(answers, "the hub's HTTP never answered:\n{}", hub_log());
    socket.set_nonblocking(true)?;
    let early = socket.recv(&mut [0u8; 512]);
    assert!(early.is_err(), "nothing to systemd while MQTT is away: {early:?}");
    socket.set_nonblocking(false)?;

    broker.start_again()?;
    let ready = next_notice(&socket, Duration::from_secs(30)).await;
    let ready = ready.map_err(|e| anyhow::anyhow!("no READY=1 within 30 s ({e}):\n{}", hub_log()))?;
    assert!(ready.lines().any(|l| l == "READY=1"), "{ready}");
    // At once: a button connects and presses "next"; the hub hears it.
    let mut button = MqttProbe::connect(broker.port, &dawr_e2e::demo_device(dir.path(), "button-2")?).await?;
    button.subscribe(&topic("counters/2/reply")).await?;
    button.publish(&topic("counters/2/command"), r#"{"id":"first-after-start","action":"next"}"#).await?;
    let reply = button.next_on(&topic("counters/2/reply"), WAIT).await;
    let reply = reply.unwrap_or_else(|| panic!("the first command after READY=1 was lost:\n{}", hub_log())).json();
    assert_eq!((reply["id"].as_str(), reply["ok"].as_bool()), (Some("first-after-start"), Some(true)), "{reply}");

    std::process::Command::new("kill").arg("-TERM").arg(child.0.id().to_string()).status()?;
    let stopping = next_notice(&socket, Duration::from_secs(20)).await?;
    assert_eq!(stopping, "STOPPING=1");
    let status = child.0.wait()?;
    assert!(status.success(), "{status}:\n{}", hub_log());

    let site_port = dawr_e2e::free_port();
    let _site = Reaped(
        std::process::Command::new(dawr_e2e::appointments::site_binary())
            .args(["--http", &format!("127.0.0.1:{site_port}"), "--data-dir"])
            .arg(dir.path().join("site"))
            .env("NOTIFY_SOCKET", &socket_path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()?,
    );
    let ready = next_notice(&socket, Duration::from_secs(30)).await;
    let served = client.get(format!("http://127.0.0.1:{site_port}/healthz")).send().await.map(|r| r.status().as_u16());
    assert!(ready?.lines().any(|l| l == "READY=1"));
    assert_eq!(served?, 200, "the site serves once it said READY=1");
    Ok(())
}

/// `dawr-hub backup --to FILE` while kiosks issue tickets: the copy holds every ticket
/// acknowledged before it began and passes `PRAGMA integrity_check`; `restore` is refused while
/// the hub runs, and once it is stopped puts the copy in place (tickets issued after the backup
/// are gone, those before it are all there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_tickets_are_issued_restores_every_acknowledged_ticket() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let url = hub.url("/api/v1/tickets");
    let kiosk = hub.device("kiosk-1")?;
    let acknowledged = Arc::new(std::sync::Mutex::new(Vec::<Value>::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut kiosks = Vec::new();
    for k in 0..4 {
        let (client, url, kiosk) = (hub.client.clone(), url.clone(), kiosk.clone());
        let (acknowledged, stop) = (acknowledged.clone(), stop.clone());
        kiosks.push(tokio::spawn(async move {
            let mut i = 0;
            while !stop.load(Ordering::SeqCst) {
                let service = ["A", "B", "C", "D"][(k + i) % 4];
                i += 1;
                let request = client.post(&url).basic_auth(&kiosk.username, Some(&kiosk.password));
                let resp = request.json(&json!({"service": service})).send().await.map_err(|e| e.to_string())?;
                if resp.status() != 201 {
                    return Err(format!("the hub answered {}", resp.status()));
                }
                let ticket = resp.json::<Value>().await.map_err(|e| e.to_string())?;
                acknowledged.lock().unwrap().push(ticket);
            }
            Ok::<(), String>(())
        }));
    }
    let count = || acknowledged.lock().unwrap().len();
    assert!(wait_until(Duration::from_secs(30), || async { count() >= 100 }).await, "only {} issued", count());

    let copy = hub.data_dir.join("backup.db");
    let before: Vec<Value> = acknowledged.lock().unwrap().clone();
    let data_dir = hub.data_dir.to_str().unwrap().to_string();
    let backup = tokio::process::Command::new(dawr_e2e::hub_binary())
        .args(["backup", "--data-dir", &data_dir, "--to", copy.to_str().unwrap()])
        .output()
        .await?;
    assert!(backup.status.success(), "{}", String::from_utf8_lossy(&backup.stderr));
    let during = count();
    // Tickets go on after the backup; they are not in it.
    assert!(wait_until(Duration::from_secs(30), || async { count() >= during + 20 }).await);
    stop.store(true, Ordering::SeqCst);
    for kiosk in kiosks {
        kiosk.await?.map_err(anyhow::Error::msg)?;
    }
    let after: Vec<Value> = acknowledged.lock().unwrap()[during..].to_vec();
    assert!(during > before.len(), "tickets were issued while the backup ran ({} then {during})", before.len());

    let restore = ["restore", "--data-dir", &data_dir, "--from", copy.to_str().unwrap()];
    let refused = std::process::Command::new(dawr_e2e::hub_binary()).args(restore).output()?;
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && stderr.contains("in use by a running service"), "{stderr}");

    hub.terminate()?;
    let restored = std::process::Command::new(dawr_e2e::hub_binary()).args(restore).output()?;
    assert!(restored.status.success(), "{}", String::from_utf8_lossy(&restored.stderr));
    let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    let check: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    assert_eq!(check, "ok");
    drop(db);
    hub.restart().await?;
    for ticket in &before {
        let (code, stored) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
        assert_eq!((code, &stored["number"]), (200, &ticket["number"]), "acknowledged ticket lost: {ticket}");
    }
    for ticket in &after {
        let (code, _) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
        assert_eq!(code, 404, "issued after the backup, so not restored: {ticket}");
    }
    Ok(())
}

/// The commit-latency histogram in `/metrics` text: its cumulative bucket counts (by `le`, as
/// written) and its `_count`.
fn commit_histogram(text: &str) -> (Vec<(String, f64)>, f64) {
    let value = |line: &str| line.rsplit(' ').next().and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    let buckets = text
        .lines()
        .filter_map(|l| l.strip_prefix("dawr_store_commit_seconds_bucket{le=\""))
        .map(|l| (l.split('"').next().unwrap_or_default().to_string(), value(l)))
        .collect();
    let count = text.lines().find(|l| l.starts_with("dawr_store_commit_seconds_count ")).map_or(f64::NAN, value);
    (buckets, count)
}

/// Debian's Prometheus, started here on a free loopback port with a scrape config, scrapes the
/// hub's `/metrics`; its HTTP API then answers the issued-tickets figure equal to the number of
/// tickets issued (per service and in all). The writer's commit-latency histogram counts at
/// least one transaction per ticket (each issued after the last was acknowledged, so none share
/// one), its buckets cumulative up to `+Inf`, which equals the count.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_hub_and_counts_every_issued_ticket() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let before = hub.client.get(hub.url("/metrics")).send().await?.text().await?;
    let (_, commits_before) = commit_histogram(&before);
    for service in ["A", "A", "A", "A", "B", "B", "B"] {
        issue(&hub, service).await?;
    }
    let text = hub.client.get(hub.url("/metrics")).send().await?.text().await?;
    assert!(text.contains("dawr_tickets_issued_today{service=\"A\"} 4"), "{text}");
    assert!(text.contains("# TYPE dawr_build_info gauge"), "{text}");
    assert!(text.contains("# TYPE dawr_mqtt_messages_total counter"), "{text}");
    assert!(text.contains("# TYPE dawr_store_commit_seconds histogram"), "{text}");
    let (buckets, commits) = commit_histogram(&text);
    assert!(commits >= commits_before + 7.0, "7 tickets, {commits_before} then {commits} commits:\n{text}");
    let bounds: Vec<&str> = buckets.iter().map(|(le, _)| le.as_str()).collect();
    assert_eq!(
        bounds,
        ["0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "+Inf"]
    );
    assert!(buckets.windows(2).all(|w| w[0].1 <= w[1].1), "not cumulative: {buckets:?}");
    assert_eq!(buckets.last().map(|(_, n)| *n), Some(commits), "+Inf is the count");

    let dir = tempfile::tempdir()?;
    let config = dir.path().join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: dawr-hub\n    metrics_path: /metrics\n    \
             static_configs:\n      - targets: ['{}']\n",
            hub.http
        ),
    )?;
    let port = dawr_e2e::free_port();
    let log = std::fs::File::create(dir.path().join("prometheus.log"))?;
    let _prometheus = Reaped(
        std::process::Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!("--storage.tsdb.path={}", dir.path().join("tsdb").display()))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .spawn()
            .map_err(|e| anyhow::anyhow!("starting Debian's prometheus (scripts/install-test-deps): {e}"))?,
    );
    let query = |q: &'static str| {
        let client = hub.client.clone();
        async move {
            let url = format!("http://127.0.0.1:{port}/api/v1/query");
            let answer: Value = client.get(url).query(&[("query", q)]).send().await.ok()?.json().await.ok()?;
            answer["data"]["result"][0]["value"][1].as_str().map(str::to_string)
        }
    };
    let scraped = wait_until(Duration::from_secs(30), || async {
        query("sum(dawr_tickets_issued_today)").await.as_deref() == Some("7")
    })
    .await;
    let log = || std::fs::read_to_string(dir.path().join("prometheus.log")).unwrap_or_default();
    assert!(
        scraped,
        "Prometheus never read 7 issued tickets: {:?}\n{}",
        query("sum(dawr_tickets_issued_today)").await,
        log()
    );
    assert_eq!(query("dawr_tickets_issued_today{service=\"B\",job=\"dawr-hub\"}").await.as_deref(), Some("3"));
    assert_eq!(query("dawr_waiting{service=\"A\"}").await.as_deref(), Some("4"));
    // Prometheus took the histogram as one: its quantile is a number of seconds.
    let p99 = query("histogram_quantile(0.99, dawr_store_commit_seconds_bucket)").await;
    assert!(p99.as_deref().and_then(|v| v.parse::<f64>().ok()).is_some_and(|s| s > 0.0 && s <= 1.0), "{p99:?}");
    Ok(())
}

/// `--log-format json`: every line the hub logs is one JSON object with its level and message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_logs_one_json_object_a_line_on_request() -> Result<()> {
    let hub = Hub::start_embedded_with(&["--log-format", "json"]).await?;
    let log = hub.log();
    let lines: Vec<Value> = log
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.iter().all(|l| l["level"].is_string() && l["fields"]["message"].is_string()), "{log}");
    assert!(lines.iter().any(|l| l["fields"]["message"] == "Dawr hub ready"), "{log}");
    Ok(())
}
