//! The CRM connector against a local webhook receiver that fails, times out and goes away for a
//! while: every case event arrives, in order per case, signed, with ids that tell a repeated
//! delivery apart; and the manager sees the outbox drain.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dawr_e2e::{Hub, free_port};
use serde_json::{Value, json};

const SECRET: &str = "test-secret-of-the-ministry";

/// What the receiver got: each delivery's body and whether its signature was right.
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<(Value, bool)>>>);

/// A receiver on `port` that answers 500 to the first three deliveries, then takes the fourth
/// but answers only after the hub has given up waiting, then answers 200.
async fn receiver(port: u16, got: Received) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let got = got.clone();
            async move {
                let signed = headers.get("x-dawr-signature").and_then(|v| v.to_str().ok()).map(str::to_string);
                let ok = signed.as_deref() == Some(dawr_hub::crm::signature(SECRET, &body).as_str());
                let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = {
                    let mut got = got.0.lock().unwrap();
                    got.push((value, ok));
                    got.len()
                };
                if n <= 3 {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                if n == 4 {
                    tokio::time::sleep(Duration::from_millis(1500)).await;
                }
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await.expect("bind");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_event_reaches_the_crm_in_order_through_failures() -> Result<()> {
    let port = free_port();
    let got = Received::default();
    let server = receiver(port, got.clone()).await;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("branch.toml");
    let demo = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../hub/demo-branch.toml"))?;
    std::fs::write(
        &config,
        format!(
            "{demo}\n[crm]\nwebhook_url = \"http://127.0.0.1:{port}/hook\"\nsecret = \"{SECRET}\"\ntimeout_s = 0.5\nmax_backoff_s = 0.4\n"
        ),
    )?;
    let hub = Hub::start_embedded_with(&["--config", config.to_str().unwrap()]).await?;

    // Three visits; the receiver goes away in the middle and comes back.
    for service in ["A", "A", "B"] {
        hub.post("/api/v1/tickets", json!({"service": service})).await?;
    }
    for action in ["next", "start", "complete"] {
        hub.post(&format!("/api/v1/counters/2/{action}"), json!({"outcome": "follow_up"})).await?;
    }
    hub.post("/api/v1/ratings", json!({"counter": "2", "score": 1, "reason": "staff_conduct"})).await?;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    server.abort();
    let _ = server.await;
    hub.post("/api/v1/counters/4/next", json!({})).await?;
    hub.post("/api/v1/counters/4/no_show", json!({})).await?;
    let (_, staff) = {
        let r =
            hub.client.post(hub.url("/api/v1/sessions")).json(&json!({"staff": "s101", "pin": "1111"})).send().await?;
        (r.status(), r.json::<Value>().await?)
    };
    let (_, first) = hub.get("/api/v1/tickets/1").await?;
    let case_ref = first["case_ref"].as_str().unwrap().to_string();
    let patched = hub
        .client
        .patch(hub.url(&format!("/api/v1/cases/{case_ref}")))
        .bearer_auth(staff["token"].as_str().unwrap())
        .json(&json!({"notes": "called the visitor back", "close": true}))
        .send()
        .await?;
    assert_eq!(patched.status(), 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let server = receiver(port, got.clone()).await;

    // The manager watches the outbox drain.
    let manager =
        hub.client.post(hub.url("/api/v1/sessions")).json(&json!({"staff": "m001", "pin": "2468"})).send().await?;
    let token = manager.json::<Value>().await?["token"].as_str().unwrap().to_string();
    let mut status = Value::Null;
    for _ in 0..200 {
        status = hub.client.get(hub.url("/api/v1/crm/status")).bearer_auth(&token).send().await?.json().await?;
        if status["pending"] == 0 && status["delivered"].as_u64() > Some(0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if status["pending"] != 0 {
        bail!("the outbox did not drain: {status}\n{}", hub.log());
    }
    server.abort();

    let got = got.0.lock().unwrap().clone();
    assert!(got.iter().all(|(_, signed)| *signed), "every delivery is signed with the shared secret");
    // At least once: the timed-out delivery came again with the same id.
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (body, _) in &got {
        *seen.entry(body["event_id"].as_str().unwrap().to_string()).or_default() += 1;
    }
    assert!(seen.values().any(|n| *n > 1), "a repeated delivery, told apart by its event id");
    assert_eq!(seen.len() as u64, status["delivered"].as_u64().unwrap(), "each event delivered, none missing");

    // In order per case, each event once after de-duplication.
    let mut per_case: HashMap<String, Vec<String>> = HashMap::new();
    let mut firsts = std::collections::HashSet::new();
    for (body, _) in &got {
        let id = body["event_id"].as_str().unwrap().to_string();
        if firsts.insert(id) {
            per_case
                .entry(body["case_ref"].as_str().unwrap().to_string())
                .or_default()
                .push(body["kind"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(per_case[&case_ref], ["issued", "called", "started", "completed", "rated", "case_noted"]);
    let no_show_case =
        per_case.values().find(|kinds| kinds.contains(&"no_show".to_string())).expect("the no-show's case");
    assert_eq!(no_show_case, &["issued", "called", "no_show"]);
    assert_eq!(per_case.len(), 3, "three visits, three cases");

    // The dashboard shows the connector.
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let signed =
        client.post(hub.url("/dashboard/sign-in?lang=en")).form(&[("staff", "m001"), ("pin", "2468")]).send().await?;
    let cookie = signed.headers()["set-cookie"].to_str()?.split(';').next().unwrap().to_string();
    let page = client.get(hub.url("/dashboard?lang=en")).header("cookie", cookie).send().await?.text().await?;
    assert!(page.contains("CRM connector") && page.contains("Events delivered"), "the connector on the dashboard");
    Ok(())
}
