//! End-to-end: who may change what over the hub's HTTP API, sign-in that resists guessing, the
//! limits that keep slow or greedy clients from holding the hub, and the public listener.
//!
//! The first test walks the hub's own OpenAPI document, so a state-changing route added later
//! without a decision here fails it.
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use dawr_e2e::{DeviceCredentials, Hub, free_port, wait_until};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Open by nature: the exchange of a PIN for a session.
const SIGN_IN: (&str, &str) = ("post", "/api/v1/sessions");

/// Open by nature: a ticket's holder proves it with the ticket's page token in the body.
const SMS_SUBSCRIBE: (&str, &str) = ("post", "/api/v1/sms/subscriptions");

/// How a state-changing route is reached with credentials of the wrong kind, or why there is none.
enum WrongRole {
    /// Signed in as this staff member (at this counter), who may not do it.
    As(&'static str, Option<&'static str>),
    /// Every signed-in person may (so no session is the wrong one).
    AnySession(&'static str),
    /// As this demo device (HTTP Basic), whose role may not.
    Device(&'static str),
}

fn wrong_role(method: &str, path: &str) -> Option<WrongRole> {
    Some(match (method, path) {
        ("post", "/api/v1/counters/{counter}/{action}") => WrongRole::As("s101", Some("1")),
        ("patch", "/api/v1/cases/{case_ref}") => WrongRole::As("s102", Some("4")),
        ("post", "/api/v1/tickets/{id}/cancel") => WrongRole::AnySession("any staff member or manager may cancel"),
        // Kiosks (or staff) issue and check in; a display board may not.
        ("post", "/api/v1/tickets" | "/api/v1/checkins") => WrongRole::Device("board-1"),
        // Only rating devices rate: a kiosk may not, nor another counter's rating device.
        ("post", "/api/v1/ratings" | "/api/v1/ratings/{rating}/reason") => WrongRole::Device("kiosk-1"),
        ("delete", "/api/v1/sessions") => WrongRole::AnySession("signing out one's own session"),
        // A person's data is exported or erased by managers only; so is a test SMS.
        ("post", "/api/v1/personal-data/export" | "/api/v1/personal-data/erase") => WrongRole::As("s101", None),
        ("post", "/api/v1/sms/messages") => WrongRole::As("s101", None),
        // Closing a service or the branch for a day is a manager's.
        ("post", "/api/v1/closures") => WrongRole::As("s101", None),
        // Corrective actions are recorded and changed by managers.
        ("post", "/api/v1/actions") | ("patch", "/api/v1/actions/{id}") => WrongRole::As("s101", None),
        // Which buttons are offered a firmware image is a manager's choice. (s102: s101 already
        // has as many sessions as one person may hold, and more would end the test's own.)
        ("post", "/api/v1/firmware/rollouts") => WrongRole::As("s102", None),
        _ => return None,
    })
}

/// The operations of the OpenAPI document that change state: (method, path).
fn state_changing(document: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("an operation map").keys() {
            if ["post", "put", "patch", "delete"].contains(&method.as_str()) {
                out.push((method.clone(), path.clone()));
            }
        }
    }
    out
}

async fn call(hub: &Hub, method: &str, path: &str, token: Option<&str>, origin: Option<&str>) -> Result<(u16, Value)> {
    call_with(hub, method, path, token.map(Credentials::Bearer), origin).await
}

/// A session's token or a device's username and password.
enum Credentials<'a> {
    Bearer(&'a str),
    Device(&'a DeviceCredentials),
}

async fn call_with(
    hub: &Hub,
    method: &str,
    path: &str,
    credentials: Option<Credentials<'_>>,
    origin: Option<&str>,
) -> Result<(u16, Value)> {
    let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes())?;
    let mut request = hub.client.request(method, hub.url(path)).json(&json!({}));
    match credentials {
        Some(Credentials::Bearer(token)) => request = request.bearer_auth(token),
        Some(Credentials::Device(device)) => request = request.basic_auth(&device.username, Some(&device.password)),
        None => {}
    }
    if let Some(origin) = origin {
        request = request.header("origin", origin);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.unwrap_or(Value::Null)))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_state_changing_route_needs_the_right_session_and_refuses_other_sites() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    // A visit served at counter 2 by s101, so its case exists.
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    for action in ["next", "start", "complete"] {
        let (status, body) = hub.post(&format!("/api/v1/counters/2/{action}"), json!({})).await?;
        assert_eq!(status, 200, "{action}: {body}");
    }
    let (_, ticket) = hub.get("/api/v1/tickets/1").await?;
    let case_ref = ticket["case_ref"].as_str().expect("staff see the case").to_string();
    let concrete = |path: &str| {
        path.replace("{counter}/{action}", "2/next")
            .replace("{id}", "1")
            .replace("{rating}", "1")
            .replace("{case_ref}", &case_ref)
    };
    let document: Value = hub.client.get(hub.url("/api/openapi.json")).send().await?.json().await?;
    let routes = state_changing(&document);
    assert!(routes.len() >= 9, "{routes:?}");

    let mut pending = BTreeMap::new();
    let kiosk = hub.device("kiosk-1")?;
    for (method, path) in &routes {
        let url = concrete(path);
        // From another site, with or without a session or a device's login: refused before
        // anything else.
        let token = hub.staff_token().await?;
        let logins = [None, Some(Credentials::Bearer(&token)), Some(Credentials::Device(&kiosk))];
        for credentials in logins {
            let (status, body) = call_with(&hub, method, &url, credentials, Some("http://evil.example")).await?;
            assert_eq!((status, body["error"].as_str()), (403, Some("cross_origin")), "{method} {path}: {body}");
        }
        if [SIGN_IN, SMS_SUBSCRIBE].contains(&(method.as_str(), path.as_str())) {
            continue;
        }
        let (status, body) = call(&hub, method, &url, None, None).await?;
        assert_eq!(
            (status, body["error"].as_str()),
            (401, Some("unauthenticated")),
            "{method} {path} signed out: {body}"
        );
        match wrong_role(method, path) {
            Some(WrongRole::As(staff, counter)) => {
                let session = hub.sign_in(staff, counter).await?;
                let (status, body) = call(&hub, method, &url, Some(&session.token), None).await?;
                assert_eq!(status, 403, "{method} {path} as {staff} at {counter:?}: {body}");
                assert!(body["message"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
            }
            Some(WrongRole::AnySession(why)) => {
                pending.insert(format!("{method} {path} (no wrong role)"), why);
            }
            Some(WrongRole::Device(id)) => {
                let device = hub.device(id)?;
                let (status, body) = call_with(&hub, method, &url, Some(Credentials::Device(&device)), None).await?;
                assert_eq!(
                    (status, body["error"].as_str()),
                    (403, Some("forbidden")),
                    "{method} {path} as {id}: {body}"
                );
                // A device's wrong password is no device at all.
                let wrong = DeviceCredentials { password: "0".repeat(40), ..device };
                let (status, body) = call_with(&hub, method, &url, Some(Credentials::Device(&wrong)), None).await?;
                assert_eq!(
                    (status, body["error"].as_str()),
                    (401, Some("wrong_credentials")),
                    "{method} {path}: {body}"
                );
            }
            None => bail!("{method} {path} changes state and this test has no rule for it: add one"),
        }
    }
    assert!(pending.keys().all(|k| k.contains("no wrong role")), "{pending:#?}");
    // The day's bookings (a GET): a kiosk or staff, not a board.
    let board = hub.device("board-1")?;
    let bookings = "/api/v1/appointments";
    assert_eq!(call_with(&hub, "get", bookings, None, None).await?.0, 401);
    assert_eq!(call_with(&hub, "get", bookings, Some(Credentials::Device(&board)), None).await?.0, 403);
    assert_eq!(call_with(&hub, "get", bookings, Some(Credentials::Device(&kiosk)), None).await?.0, 200);

    // A manager reads any case; the staff member who served it too; others not.
    let manager = hub.sign_in("m001", None).await?;
    let case_url = hub.url(&format!("/api/v1/cases/{case_ref}"));
    for (token, want) in [(manager.token.clone(), 200), (hub.staff_token().await?, 200)] {
        assert_eq!(hub.client.get(&case_url).bearer_auth(token).send().await?.status().as_u16(), want);
    }
    let other = hub.sign_in("s102", None).await?;
    assert_eq!(hub.client.get(&case_url).bearer_auth(&other.token).send().await?.status(), StatusCode::FORBIDDEN);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn actions_record_the_sessions_staff_and_request_ids_belong_to_their_client() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    // s101 sits at counter 2 (an app's session); s103 may not act there.
    let seated = hub.sign_in("s101", Some("2")).await?;
    let outsider = hub.sign_in("s103", Some("6")).await?;
    let body = json!({"service": "A", "request_id": "kiosk-1-42"});
    let (status, first) = hub.post("/api/v1/tickets", body.clone()).await?;
    assert_eq!(status, 201, "{first}");
    let (_, again) = hub.post("/api/v1/tickets", body.clone()).await?;
    assert_eq!(again["id"], first["id"], "the same client's retry gets the same ticket");
    // The same id from another caller (a staff member's session) is that caller's.
    let (status, replay) = hub.post_as("/api/v1/tickets", body.clone(), Some(&outsider.token)).await?;
    assert_eq!(status, 201, "{replay}");
    assert_ne!(replay["id"], first["id"], "a replay by another caller is a new ticket: {replay}");
    assert_ne!(replay["token"], first["token"], "and never the first one's page token");
    // Without the kiosk's login there is no ticket at all.
    let anonymous = hub.client.post(hub.url("/api/v1/tickets")).json(&body).send().await?;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let (status, refused) = hub.post_as("/api/v1/counters/2/next", json!({}), Some(&outsider.token)).await?;
    assert_eq!((status, refused["error"].as_str()), (403, Some("forbidden")), "{refused}");
    let (status, _) = hub.post_as("/api/v1/counters/2/next", json!({}), Some(&seated.token)).await?;
    assert_eq!(status, 200);
    hub.post_as("/api/v1/counters/2/start", json!({}), Some(&seated.token)).await?;
    hub.post_as("/api/v1/counters/2/complete", json!({}), Some(&seated.token)).await?;
    let (status, cancelled) =
        hub.post_as(&format!("/api/v1/tickets/{}/cancel", replay["id"]), json!({}), Some(&outsider.token)).await?;
    assert_eq!(status, 200, "{cancelled}");

    let conn = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    // The visit just served is rated by counter 2's rating device.
    let (status, rated) = hub.post("/api/v1/ratings", json!({"counter": "2", "score": 2})).await?;
    assert_eq!(status, 201, "{rated}");
    let (status, reason) =
        hub.post(&format!("/api/v1/ratings/{}/reason", rated["rating"]), json!({"reason": "other"})).await?;
    assert_eq!(status, 200, "{reason}");
    type Stamp = (String, Option<String>, Option<String>);
    let stamped: Vec<Stamp> = conn
        .prepare(
            "SELECT kind, json_extract(payload, '$.staff'), json_extract(payload, '$.device') FROM events
             WHERE kind IN ('issued', 'called', 'started', 'completed', 'cancelled', 'rated', 'rating_reason_added')
             ORDER BY seq",
        )?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let s101 = || Some("s101".to_string());
    let s103 = || Some("s103".to_string());
    let device = |id: &str| Some(id.to_string());
    assert_eq!(
        stamped,
        vec![
            ("issued".into(), None, device("kiosk-1")),
            ("issued".into(), s103(), None),
            ("called".into(), s101(), None),
            ("started".into(), s101(), None),
            ("completed".into(), s101(), None),
            ("cancelled".into(), s103(), None),
            // A rating names the device that gave it (and, for the reports, who served).
            ("rated".into(), s101(), device("rating-2")),
            ("rating_reason_added".into(), s101(), device("rating-2")),
        ],
        "each event names who did it"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn six_wrong_pins_lock_the_right_one_out_until_retry_after() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let sign_in = |pin: &'static str| {
        let request = hub.client.post(hub.url("/api/v1/sessions")).json(&json!({"staff": "s102", "pin": pin}));
        async move { request.send().await }
    };
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(sign_in("9999").await?.status().as_u16());
    }
    assert_eq!(statuses[..5], [401; 5], "{statuses:?}");
    assert!([401, 429].contains(&statuses[5]), "the sixth is refused: {statuses:?}");
    let refused = sign_in("2222").await?;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS, "the right PIN waits too");
    let retry_after: u64 = refused.headers()["retry-after"].to_str()?.parse()?;
    let refused_at = Instant::now();
    let body: Value = refused.json().await?;
    assert_eq!(body["error"], "too_many_attempts", "{body}");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    // Until Retry-After passes, still refused; then the right PIN opens a session.
    let answers = std::sync::Mutex::new(Vec::new());
    let opened = wait_until(Duration::from_secs(retry_after + 10), || {
        let attempt = sign_in("2222");
        let answers = &answers;
        async move {
            let status = attempt.await.map(|r| r.status().as_u16()).unwrap_or(0);
            answers.lock().unwrap().push((refused_at.elapsed(), status));
            status == 201
        }
    })
    .await;
    let answers = answers.into_inner().unwrap();
    assert!(opened, "signed in after Retry-After: {answers:?}");
    for (elapsed, status) in &answers {
        if *elapsed < Duration::from_secs(retry_after).saturating_sub(Duration::from_millis(200)) {
            assert_eq!(*status, 429, "refused before Retry-After passed ({elapsed:?}): {answers:?}");
        }
    }
    Ok(())
}

/// The resident memory of a process, from /proc.
fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).ok_or_else(|| anyhow::anyhow!("no VmRSS"))?;
    Ok(line.split_whitespace().nth(1).unwrap_or("0").parse()?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_sign_ins_do_not_raise_memory_by_100_mb() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let pid = hub.pid().expect("running");
    let before = rss_kib(pid)?;
    let people = [("s101", "1111"), ("s102", "2222"), ("s103", "3333"), ("m001", "2468")];
    let attempts = (0..64).map(|i| {
        let (staff, pin) = people[i % people.len()];
        let request = hub.client.post(hub.url("/api/v1/sessions")).json(&json!({"staff": staff, "pin": pin}));
        async move { request.send().await.map(|r| r.status().as_u16()) }
    });
    let statuses: Vec<u16> = join_all(attempts.collect()).await.into_iter().collect::<Result<_, _>>()?;
    assert!(statuses.iter().all(|s| *s == 201), "every sign-in got through: {statuses:?}");
    let after = rss_kib(pid)?;
    let grew_mb = after.saturating_sub(before) as f64 / 1024.0;
    eprintln!("hub RSS {before} KiB before, {after} KiB after 64 concurrent sign-ins (+{grew_mb:.1} MB)");
    assert!(grew_mb < 100.0, "the hub's memory grew by {grew_mb:.1} MB");
    Ok(())
}

async fn join_all<F: std::future::Future + Send + 'static>(futures: Vec<F>) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for handle in handles {
        out.push(handle.await.expect("the task ran"));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_connections_are_dropped_and_do_not_block_others_and_big_bodies_get_413() -> Result<()> {
    const HEADER_TIMEOUT: Duration = Duration::from_secs(2);
    let hub = Hub::start_embedded_with(&["--header-timeout-s", "2"]).await?;
    let mut idle = Vec::new();
    let opened_at = Instant::now();
    for _ in 0..500 {
        let mut stream = tokio::net::TcpStream::connect(hub.http).await?;
        tokio::io::AsyncWriteExt::write_all(&mut stream, b"GET /healthz HTTP/1.1\r\n").await?;
        idle.push(stream);
    }
    let asked = Instant::now();
    let fresh = dawr_e2e::http_client().build()?;
    let answer = fresh.get(hub.url("/api/v1/branch")).send().await?;
    let took = asked.elapsed();
    assert_eq!(answer.status(), StatusCode::OK);
    assert!(took < Duration::from_secs(1), "a normal request waited {took:?} behind 500 half-open connections");

    // Every half-open connection is closed by the hub within the header timeout (plus slack for
    // a loaded machine): reading it ends.
    let closes = idle.into_iter().map(|mut stream| async move {
        let mut buf = [0u8; 256];
        loop {
            match tokio::io::AsyncReadExt::read(&mut stream, &mut buf).await {
                Ok(0) | Err(_) => return Instant::now(),
                Ok(_) => continue,
            }
        }
    });
    let all_closed = tokio::time::timeout(HEADER_TIMEOUT + Duration::from_secs(10), join_all(closes.collect())).await;
    let closed_at = all_closed.map_err(|_| anyhow::anyhow!("half-open connections still open after the timeout"))?;
    let latest = closed_at.iter().map(|t| t.duration_since(opened_at)).max().unwrap_or_default();
    eprintln!("500 half-open connections: branch answered in {took:?}; the last closed {latest:?} after opening");
    assert!(latest >= HEADER_TIMEOUT.saturating_sub(Duration::from_millis(100)), "not closed before the timeout");
    assert!(latest < HEADER_TIMEOUT + Duration::from_secs(5), "closed within the header timeout: {latest:?}");

    // A 1 MB body is refused with the JSON error.
    let big = format!("{{\"service\":\"A\",\"pad\":\"{}\"}}", "x".repeat(1024 * 1024));
    let response =
        fresh.post(hub.url("/api/v1/tickets")).header("content-type", "application/json").body(big).send().await?;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await?;
    assert_eq!(body["error"], "too_large", "{body}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_public_listener_serves_ticket_pages_only() -> Result<()> {
    let public = std::net::SocketAddr::from(([127, 0, 0, 1], free_port()));
    let hub = Hub::start_embedded_with(&["--public-http", &public.to_string()]).await?;
    let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let token = ticket["token"].as_str().expect("the ticket's page token");
    let client = dawr_e2e::http_client().build()?;
    let at = |path: &str| format!("http://{public}{path}");
    let page = client.get(at(&format!("/t/{token}?lang=en"))).send().await?;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await?.contains(ticket["number"].as_str().unwrap()), "the ticket page");
    assert_eq!(client.get(at(&format!("/t/{token}/status"))).send().await?.status(), StatusCode::OK);
    for path in ["/api/v1/branch", "/api/v1/queue", "/api/openapi.json", "/dashboard", "/rate/1", "/healthz"] {
        let response = client.get(at(path)).send().await?;
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path} on the public listener");
    }
    let post = client.post(at("/api/v1/counters/1/next")).json(&json!({})).send().await?;
    assert_eq!(post.status(), StatusCode::NOT_FOUND);
    // The staff listener still has all of it.
    assert_eq!(client.get(hub.url("/api/v1/branch")).send().await?.status(), StatusCode::OK);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_signs_nobody_out() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let session = hub.sign_in("s101", Some("2")).await?;
    hub.restart().await?;
    let (status, body) = hub.post_as("/api/v1/counters/2/pause", json!({}), Some(&session.token)).await?;
    assert_eq!(status, 200, "the session from before the restart still acts: {body}");
    let signed_out = hub.client.delete(hub.url("/api/v1/sessions")).bearer_auth(&session.token).send().await?;
    assert_eq!(signed_out.status(), StatusCode::NO_CONTENT);
    hub.restart().await?;
    let (status, _) = hub.post_as("/api/v1/counters/2/resume", json!({}), Some(&session.token)).await?;
    assert_eq!(status, 401, "signed out stays signed out");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kiosk_issues_with_its_login_a_rating_device_rates_only_its_counter_and_revocation_is_quick() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    // A kiosk enrolled beside the running hub issues once the hub has read it (within seconds).
    let kiosk = hub.enrol("kiosk-7", "kiosk", None)?;
    let issue = || hub.post_basic("/api/v1/tickets", json!({"service": "A"}), &kiosk);
    let answers = std::sync::Mutex::new(Vec::new());
    let issued = wait_until(Duration::from_secs(5), || {
        let answers = &answers;
        let attempt = issue();
        async move {
            let (status, _) = attempt.await.unwrap_or((0, Value::Null));
            answers.lock().unwrap().push(status);
            status == 201
        }
    })
    .await;
    assert!(issued, "the new kiosk issues: {answers:?}");
    let (status, ticket) = issue().await?;
    assert_eq!(status, 201, "again, from the remembered login: {ticket}");

    // Counter 2's rating device may not rate counter 3.
    let (status, body) =
        hub.post_basic("/api/v1/ratings", json!({"counter": "3", "score": 5}), &hub.device("rating-2")?).await?;
    assert_eq!((status, body["error"].as_str()), (403, Some("forbidden")), "{body}");
    let (status, body) =
        hub.post_basic("/api/v1/ratings", json!({"counter": "2", "score": 5}), &hub.device("rating-2")?).await?;
    assert_eq!((status, body["error"].as_str()), (409, Some("nothing_to_rate")), "its own counter: {body}");

    // Revoked: refused within a couple of seconds (the hub re-reads the devices every second).
    hub.revoke("kiosk-7")?;
    let revoked_at = Instant::now();
    let refused = wait_until(Duration::from_secs(5), || {
        let attempt = issue();
        async move { attempt.await.is_ok_and(|(status, _)| status == 401) }
    })
    .await;
    let took = revoked_at.elapsed();
    eprintln!("a revoked kiosk was refused {took:?} after its revocation");
    assert!(refused && took < Duration::from_secs(4), "the revoked kiosk was still served after {took:?}");
    let (status, body) = issue().await?;
    assert_eq!((status, body["error"].as_str()), (401, Some("wrong_credentials")), "{body}");
    Ok(())
}
