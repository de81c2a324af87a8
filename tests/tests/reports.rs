//! Signing in and the managers' reports against a real hub: wrong PINs and unassigned counters
//! are refused with a reason, staff cannot read reports, and a manager's summary and CSV show
//! the day's visits as they happened (ticket → call → complete → exit rating, a no-show, a
//! cancellation).
use anyhow::Result;
use dawr_e2e::Hub;
use serde_json::{Value, json};

async fn sign_in(hub: &Hub, body: Value) -> Result<(u16, Value)> {
    let response = hub.client.post(hub.url("/api/v1/sessions")).json(&body).send().await?;
    Ok((response.status().as_u16(), response.json().await?))
}

async fn get_as(hub: &Hub, token: Option<&str>, path: &str) -> Result<(u16, String)> {
    let mut request = hub.client.get(hub.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await?;
    Ok((response.status().as_u16(), response.text().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_checked_and_only_managers_read_reports() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let (status, error) = sign_in(&hub, json!({"staff": "s101", "pin": "9999"})).await?;
    assert_eq!((status, error["error"].as_str()), (401, Some("wrong_credentials")), "{error}");
    let (status, error) = sign_in(&hub, json!({"staff": "s101", "pin": "1111", "counter": "5"})).await?;
    assert_eq!((status, error["error"].as_str()), (403, Some("not_assigned")), "{error}");
    assert!(error["message"].as_str().unwrap().contains("counter 5"));
    let (status, staff) = sign_in(&hub, json!({"staff": "s101", "pin": "1111", "counter": "2"})).await?;
    assert_eq!(status, 201, "{staff}");
    assert_eq!((staff["counter"].as_str(), staff["role"].as_str()), (Some("2"), Some("staff")));
    assert_eq!(staff["name"]["en"], "Abdullah Alqahtani");

    let today = chrono::Utc::now().with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap()).date_naive();
    let summary = format!("/api/v1/reports/summary?from={today}&to={today}");
    let (status, body) = get_as(&hub, None, &summary).await?;
    assert_eq!(status, 401, "{body}");
    let (status, body) = get_as(&hub, staff["token"].as_str(), &summary).await?;
    assert_eq!(status, 403, "staff cannot read reports: {body}");
    assert!(body.contains("\"forbidden\""));

    // The day: A001 served and rated 2 (waited too long), A002 a no-show, B001 cancelled.
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let (_, b) = hub.post("/api/v1/tickets", json!({"service": "B"})).await?;
    for action in ["next", "start", "complete"] {
        let (status, reply) = hub.post(&format!("/api/v1/counters/2/{action}"), json!({"outcome": "resolved"})).await?;
        assert_eq!(status, 200, "{action}: {reply}");
    }
    let (status, rated) =
        hub.post("/api/v1/ratings", json!({"counter": "2", "score": 2, "reason": "waited_too_long"})).await?;
    assert_eq!(status, 201, "{rated}");
    for action in ["next", "no_show"] {
        let (status, reply) = hub.post(&format!("/api/v1/counters/3/{action}"), json!({})).await?;
        assert_eq!(status, 200, "{action}: {reply}");
    }
    let (status, _) = hub.post(&format!("/api/v1/tickets/{}/cancel", b["id"]), json!({})).await?;
    assert_eq!(status, 200);

    let (status, manager) = sign_in(&hub, json!({"staff": "m001", "pin": "2468"})).await?;
    assert_eq!((status, manager["role"].as_str()), (201, Some("manager")), "{manager}");
    let token = manager["token"].as_str();
    let (status, body) = get_as(&hub, token, &summary).await?;
    assert_eq!(status, 200, "{body}");
    let report: Value = serde_json::from_str(&body)?;
    assert_eq!(
        [&report["visits"], &report["served"], &report["no_shows"], &report["cancelled"], &report["open"]],
        [&json!(3), &json!(1), &json!(1), &json!(1), &json!(0)],
        "{report}"
    );
    assert_eq!(report["wait_s"]["count"], 2, "two visitors were called");
    assert_eq!(report["csat"]["ratings"], 1);
    assert_eq!(report["csat"]["mean"], 2.0);
    assert_eq!(report["csat"]["reasons"]["waited_too_long"], 1);
    assert_eq!(report["within_target_pct"], 100.0, "both called at once");
    let per_service: Vec<&str> =
        report["per_service"].as_array().unwrap().iter().map(|s| s["service"].as_str().unwrap()).collect();
    assert_eq!(per_service, ["A", "B"]);

    let (status, csv) = get_as(&hub, token, &format!("/api/v1/reports/visits.csv?from={today}&to={today}")).await?;
    assert_eq!(status, 200);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines.len(), 4, "{csv}");
    assert!(lines[1].contains(",served,2,") && lines[1].ends_with(",resolved,2,waited_too_long"), "{}", lines[1]);
    assert!(lines[2].contains(",no_show,3,"), "{}", lines[2]);

    let (status, body) = get_as(&hub, token, "/api/v1/reports/summary?from=2026-13-01&to=2026-11-30").await?;
    assert_eq!(status, 400, "a bad date is a clear error: {body}");
    assert!(body.contains("from must be a date"));
    Ok(())
}
