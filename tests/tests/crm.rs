//! The CRM connector against a local webhook receiver that fails, times out and goes away for a
//! while (and the hub is killed meanwhile): every case event arrives, in order per case, signed,
//! with ids that tell a repeated delivery apart; a failing event holds back the ones after it;
//! the outbox survives the restart; and the manager sees it drain. The receiver checks each
//! signature as a CRM would (`dawr_protocol::api::crm::verify_signature`): a delivery replayed
//! more than 5 minutes later, or with its body altered, is refused.
use std::collections::HashMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Result, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use dawr_e2e::{Hub, tokio_listener, wait_until};
use dawr_protocol::api::crm::{SignatureError, verify_signature};
use serde_json::{Value, json};

const SECRET: &str = "test-secret-of-the-ministry";

/// One delivery the receiver took (its signature was right): its body as sent and as JSON, its
/// signature header, and whether it was acknowledged in time (2xx before the hub's timeout).
#[derive(Clone, Debug)]
struct Delivery {
    raw: Bytes,
    signature: String,
    body: Value,
    acknowledged: bool,
}

impl Delivery {
    fn event_id(&self) -> &str {
        self.body["event_id"].as_str().unwrap_or_default()
    }
}

/// What the receiver took, what it refused (and why), and how far its clock is ahead of the
/// real time (to play a replay that comes later).
#[derive(Clone, Default)]
struct Received(Arc<Mutex<Vec<Delivery>>>, Arc<Mutex<Vec<SignatureError>>>, Arc<AtomicI64>);

impl Received {
    fn refused(&self) -> Vec<SignatureError> {
        self.1.lock().unwrap().clone()
    }

    fn all(&self) -> Vec<Delivery> {
        self.0.lock().unwrap().clone()
    }

    fn acknowledged(&self) -> usize {
        self.0.lock().unwrap().iter().filter(|d| d.acknowledged).count()
    }
}

/// A receiver on `listener` that refuses (401) a delivery whose signature it cannot verify, and
/// of the others answers 500 to the first three, then takes the fourth but answers only after
/// the hub has given up waiting (0.5 s), then answers 200.
fn receiver(listener: tokio::net::TcpListener, got: Received) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: Bytes| {
            let got = got.clone();
            async move {
                let signature =
                    headers.get("x-dawr-signature").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let now = chrono::Utc::now().timestamp() + got.2.load(Ordering::SeqCst);
                if let Err(refused) = verify_signature(&[SECRET.as_bytes()], &signature, &body, now) {
                    got.1.lock().unwrap().push(refused);
                    return StatusCode::UNAUTHORIZED;
                }
                let raw = body.clone();
                let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let n = {
                    let mut got = got.0.lock().unwrap();
                    let n = got.len() + 1;
                    got.push(Delivery { raw, signature, body, acknowledged: n > 4 });
                    n
                };
                match n {
                    1..=3 => StatusCode::INTERNAL_SERVER_ERROR,
                    4 => {
                        // A CRM slower than the hub's timeout: the answer comes too late.
                        tokio::time::sleep(Duration::from_millis(1500)).await;
                        StatusCode::OK
                    }
                    _ => StatusCode::OK,
                }
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// The connector's state as a manager sees it.
async fn crm_status(hub: &Hub) -> Result<Value> {
    let manager = hub
        .client
        .post(hub.url("/api/v1/sessions"))
        .json(&json!({"staff": "m001", "pin": hub.pin("m001")}))
        .send()
        .await?;
    let token = manager.json::<Value>().await?["token"].as_str().unwrap_or_default().to_string();
    Ok(hub.client.get(hub.url("/api/v1/crm/status")).bearer_auth(&token).send().await?.json().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case_event_reaches_the_crm_in_order_through_failures() -> Result<()> {
    let listener = tokio_listener();
    let address = listener.local_addr()?;
    let got = Received::default();
    let server = receiver(listener, got.clone());
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("branch.toml");
    let demo = dawr_e2e::production_branch(&dawr_e2e::demo_branch());
    std::fs::write(
        &config,
        format!(
            "{demo}\n[crm]\nwebhook_url = \"http://{address}/hook\"\nsecret = \"{SECRET}\"\ntimeout_s = 0.5\nmax_backoff_s = 0.4\n"
        ),
    )?;
    let mut hub = Hub::start_embedded_with(&["--config", config.to_str().unwrap()]).await?;

    // Three visits; the receiver goes away in the middle and comes back.
    for service in ["A", "A", "B"] {
        hub.post("/api/v1/tickets", json!({"service": service})).await?;
    }
    for action in ["next", "start", "complete"] {
        hub.post(&format!("/api/v1/counters/2/{action}"), json!({"outcome": "follow_up"})).await?;
    }
    hub.post("/api/v1/ratings", json!({"counter": "2", "score": 1, "reason": "staff_conduct"})).await?;
    let through = wait_until(Duration::from_secs(30), || async { got.acknowledged() >= 2 }).await;
    assert!(through, "the first events got through the failures: {:?}\n{}", got.all(), hub.log());
    server.abort();
    let _ = server.await;
    hub.post("/api/v1/counters/4/next", json!({})).await?;
    hub.post("/api/v1/counters/4/no_show", json!({})).await?;
    let (_, staff) = {
        let r = hub
            .client
            .post(hub.url("/api/v1/sessions"))
            .json(&json!({"staff": "s101", "pin": hub.pin("s101")}))
            .send()
            .await?;
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
    // The hub fails to deliver while the receiver is away ...
    let failing = wait_until(Duration::from_secs(30), || async {
        crm_status(&hub).await.is_ok_and(|s| s["pending"].as_u64() > Some(0) && s["last_error"].is_string())
    })
    .await;
    assert!(failing, "the hub tried and failed meanwhile: {}", crm_status(&hub).await?);
    // ... and is killed: the outbox survives the restart.
    hub.restart().await?;
    let server = receiver(tokio::net::TcpListener::bind(address).await?, got.clone());

    // The manager watches the outbox drain.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        let status = crm_status(&hub).await?;
        if status["pending"] == 0 && status["delivered"].as_u64() > Some(0) {
            break status;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the outbox did not drain: {status}\n{}", hub.log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    server.abort();

    let received = got.clone();
    let got = got.all();
    assert_eq!(received.refused(), [], "every delivery's signature verifies");
    // At least once: the delivery answered too late came again, with the same id.
    assert!(!got[3].acknowledged);
    assert_eq!(got[4].event_id(), got[3].event_id(), "the timed-out delivery was sent again");
    // A failing event blocks those after it: an attempt that was not acknowledged is followed by
    // the same event again.
    for pair in got.windows(2) {
        if !pair[0].acknowledged {
            assert_eq!(pair[1].event_id(), pair[0].event_id(), "an event overtook a failing one: {got:?}");
        }
    }
    let acknowledged: Vec<&Delivery> = got.iter().filter(|d| d.acknowledged).collect();
    let mut seen: HashMap<String, usize> = HashMap::new();
    for d in &acknowledged {
        *seen.entry(d.event_id().to_string()).or_default() += 1;
    }
    assert_eq!(seen.len() as u64, status["delivered"].as_u64().unwrap(), "each event delivered, none missing");

    // In order per case, over what the CRM acknowledged (each event once after de-duplication).
    let mut per_case: HashMap<String, Vec<String>> = HashMap::new();
    let mut firsts = std::collections::HashSet::new();
    for d in &acknowledged {
        if firsts.insert(d.event_id().to_string()) {
            per_case
                .entry(d.body["case_ref"].as_str().unwrap().to_string())
                .or_default()
                .push(d.body["kind"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(per_case[&case_ref], ["issued", "called", "started", "completed", "rated", "case_noted"]);
    let no_show_case =
        per_case.values().find(|kinds| kinds.contains(&"no_show".to_string())).expect("the no-show's case");
    assert_eq!(no_show_case, &["issued", "called", "no_show"]);
    assert_eq!(per_case.len(), 3, "three visits, three cases");

    // The dashboard shows the connector.
    let client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let signed = client
        .post(hub.url("/dashboard/sign-in?lang=en"))
        .form(&[("staff", "m001"), ("pin", hub.pin("m001"))])
        .send()
        .await?;
    let cookie = signed.headers()["set-cookie"].to_str()?.split(';').next().unwrap().to_string();
    let page = client.get(hub.url("/dashboard?lang=en")).header("cookie", cookie).send().await?.text().await?;
    assert!(page.contains("CRM connector") && page.contains("Events delivered"), "the connector on the dashboard");

    // Replays: a captured delivery sent again at once is taken; more than 5 minutes later, or
    // with its body altered, it is refused.
    let listener = tokio_listener();
    let hook = format!("http://{}/hook", listener.local_addr()?);
    let server = receiver(listener, received.clone());
    let captured = acknowledged.last().unwrap();
    let send = |body: Bytes| {
        client
            .post(&hook)
            .header("content-type", "application/json")
            .header("x-dawr-signature", &captured.signature)
            .body(body)
            .send()
    };
    assert_eq!(send(captured.raw.clone()).await?.status(), 200, "a fresh signature is taken");
    let altered = String::from_utf8(captured.raw.to_vec())?.replace("\"case_ref\"", "\"case_ref\" ");
    assert_eq!(send(Bytes::from(altered)).await?.status(), 401, "an altered body");
    received.2.store(301, Ordering::SeqCst);
    assert_eq!(send(captured.raw.clone()).await?.status(), 401, "a replay more than 5 minutes later");
    let refused = received.refused();
    assert!(matches!(refused[..], [SignatureError::Mismatch, SignatureError::OutsideTolerance { .. }]), "{refused:?}");
    server.abort();
    Ok(())
}
