//! Signing in and the managers' reports against a real hub: wrong PINs and unassigned counters
//! are refused with a reason, staff cannot read reports, and a manager's summary and CSV show
//! the day's visits as they happened (ticket → call → complete → exit rating, a no-show, a
//! cancellation).
use anyhow::Result;
use dawr_e2e::{Hub, hub_day};
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

/// A client that does not follow redirects, and a dashboard session cookie for the manager
/// `staff` (the sign-in form's answer).
async fn dashboard_cookie(hub: &Hub, staff: &str) -> Result<(reqwest::Client, String)> {
    let client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let form = [("staff", staff), ("pin", hub.pin(staff))];
    let response = client.post(hub.url("/dashboard/sign-in")).form(&form).send().await?;
    let cookie = response.headers().get("set-cookie").and_then(|v| v.to_str().ok()).unwrap_or_default();
    Ok((client, cookie.split(';').next().unwrap_or_default().to_string()))
}

/// The rows of a CSV file as Python's `csv` module reads them (the file written as the bytes
/// served, opened as `utf-8-sig`), one JSON object per row.
fn python_csv_rows(csv: &str) -> Result<Vec<Value>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("visits.csv");
    std::fs::write(&path, csv)?;
    let script = "import csv, json, sys\n\
        with open(sys.argv[1], encoding='utf-8-sig', newline='') as f:\n    \
        json.dump(list(csv.DictReader(f)), sys.stdout, ensure_ascii=False)";
    let output = std::process::Command::new("python3").arg("-c").arg(script).arg(&path).output()?;
    anyhow::ensure!(output.status.success(), "python3: {}", String::from_utf8_lossy(&output.stderr));
    Ok(serde_json::from_slice(&output.stdout)?)
}

/// An Excel workbook as openpyxl (Debian's, under /usr/bin/python3) reads it: each sheet's
/// name, whether it runs right to left, and its first three columns' values row by row.
fn python_xlsx(bytes: &[u8]) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("tables.xlsx");
    std::fs::write(&path, bytes)?;
    let script = "import json, sys, openpyxl\n\
        book = openpyxl.load_workbook(sys.argv[1])\n\
        json.dump([{'name': s.title, 'rtl': bool(s.sheet_view.rightToLeft),\n\
                    'rows': [list(r[:3]) for r in s.iter_rows(values_only=True)]} for s in book.worksheets],\n\
                  sys.stdout, ensure_ascii=False, default=str)";
    let output = std::process::Command::new("/usr/bin/python3").arg("-c").arg(script).arg(&path).output()?;
    anyhow::ensure!(output.status.success(), "openpyxl: {}", String::from_utf8_lossy(&output.stderr));
    Ok(serde_json::from_slice(&output.stdout)?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_is_checked_and_only_managers_read_reports() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let (status, error) = sign_in(&hub, json!({"staff": "s101", "pin": "9999"})).await?;
    assert_eq!((status, error["error"].as_str()), (401, Some("wrong_credentials")), "{error}");
    let (status, error) = sign_in(&hub, json!({"staff": "s101", "pin": hub.pin("s101"), "counter": "5"})).await?;
    assert_eq!((status, error["error"].as_str()), (403, Some("not_assigned")), "{error}");
    assert!(error["message"].as_str().unwrap().contains("counter 5"));
    let (status, staff) = sign_in(&hub, json!({"staff": "s101", "pin": hub.pin("s101"), "counter": "2"})).await?;
    assert_eq!(status, 201, "{staff}");
    assert_eq!((staff["counter"].as_str(), staff["role"].as_str()), (Some("2"), Some("staff")));
    assert_eq!(staff["name"]["en"], "Abdullah Alqahtani");

    let today = dawr_e2e::services_now().with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap()).date_naive();
    let summary = format!("/api/v1/reports/summary?from={today}&to={today}");
    let (status, body) = get_as(&hub, None, &summary).await?;
    assert_eq!(status, 401, "{body}");
    let (status, body) = get_as(&hub, staff["token"].as_str(), &summary).await?;
    assert_eq!(status, 403, "staff cannot read reports: {body}");
    assert!(body.contains("\"forbidden\""));

    // The day: A001 served and rated 2 (waited too long), A002 a no-show, B001 cancelled.
    let (_, first) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let today = hub_day(&first);
    let summary = format!("/api/v1/reports/summary?from={today}&to={today}");
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

    let (status, manager) = sign_in(&hub, json!({"staff": "m001", "pin": hub.pin("m001")})).await?;
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
    // s101 was signed in at counter 2: the visit served there is theirs; counter 3 had nobody.
    assert_eq!(report["per_staff"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(
        (report["per_staff"][0]["staff"].as_str(), report["per_staff"][0]["served"].as_u64()),
        (Some("s101"), Some(1))
    );
    assert_eq!(report["per_staff"][0]["csat"]["mean"], 2.0);
    let per_service: Vec<&str> =
        report["per_service"].as_array().unwrap().iter().map(|s| s["service"].as_str().unwrap()).collect();
    assert_eq!(per_service, ["A", "B"]);

    let (status, csv) = get_as(&hub, token, &format!("/api/v1/reports/visits.csv?from={today}&to={today}")).await?;
    assert_eq!(status, 200);
    assert!(csv.starts_with('\u{feff}'), "the CSV starts with the BOM Excel needs");
    // Read back as a spreadsheet tool reads it: Python's csv module, the BOM taken as UTF-8's.
    let rows = python_csv_rows(&csv)?;
    assert_eq!(rows.len(), 3, "{rows:#?}");
    let served = &rows[0];
    assert_eq!(
        (served["ending"].as_str(), served["counter"].as_str(), served["rating"].as_str(), served["outcome"].as_str()),
        (Some("served"), Some("2"), Some("2"), Some("resolved"))
    );
    assert_eq!(
        (served["service_ar"].as_str(), served["service_en"].as_str()),
        (Some("الوكالات"), Some("Power of attorney"))
    );
    assert_eq!((served["staff"].as_str(), served["staff_ar"].as_str()), (Some("s101"), Some("عبدالله القحطاني")));
    assert_eq!((served["branch"].as_str(), served["case_status"].as_str()), (Some("demo"), Some("closed")));
    assert_eq!((served["target_s"].as_str(), served["breach"].as_str()), (Some("900"), Some("no")));
    assert_eq!(served["case_ref"].as_str(), first["case_ref"].as_str());
    let issued: chrono::DateTime<chrono::Utc> = first["issued_at"].as_str().unwrap().parse()?;
    let local = issued.with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap());
    assert_eq!(
        served["issued_at"].as_str(),
        Some(local.format("%Y-%m-%d %H:%M:%S").to_string().as_str()),
        "local time"
    );
    assert_eq!(rows[1]["ending"].as_str(), Some("no_show"));

    // Staffing from the sign-ins: counters 2 and 3 each had someone signed in — s101, at both
    // (both also called someone); the weekday × hour grid holds the day's three tickets.
    let (status, body) =
        get_as(&hub, token, &format!("/api/v1/reports/service-levels?from={today}&to={today}")).await?;
    assert_eq!(status, 200, "{body}");
    let sla: Value = serde_json::from_str(&body)?;
    let day = &sla["per_day"][0];
    assert_eq!(
        (day["counters_staffed"].as_u64(), day["staff"].as_u64(), day["counters_serving"].as_u64()),
        (Some(2), Some(1), Some(2)),
        "{sla}"
    );
    // Signed in seconds ago, still signed in: staffed until now, not to the day's end.
    assert!(day["staffed_hours"].as_f64().is_some_and(|h| h > 0.0 && h < 0.5), "{day}");
    let grid = sla["grid"].as_array().unwrap();
    assert_eq!(grid.iter().map(|c| c["arrivals"].as_u64().unwrap()).sum::<u64>(), 3, "{sla}");
    assert!(grid.iter().any(|c| c["counters_staffed"].as_f64().is_some_and(|n| n > 0.0)), "{sla}");

    // Visitors' data: without a session, a ticket read by its (sequential) id has no keys to the
    // visitor's page or case.
    let (_, issued) = hub.post("/api/v1/tickets", json!({"service": "C"})).await?;
    let (_, public) = get_as(&hub, None, &format!("/api/v1/tickets/{}", issued["id"])).await?;
    let public: Value = serde_json::from_str(&public)?;
    assert!(
        public["number"].is_string() && public.get("token").is_none() && public.get("case_ref").is_none(),
        "{public}"
    );
    let (_, queue) = get_as(&hub, None, "/api/v1/queue").await?;
    assert!(!queue.contains(issued["token"].as_str().unwrap()), "nor does the public queue");
    let (_, own) = get_as(&hub, staff["token"].as_str(), &format!("/api/v1/tickets/{}", issued["id"])).await?;
    assert!(own.contains(issued["token"].as_str().unwrap()), "staff see the whole ticket");
    hub.post(&format!("/api/v1/tickets/{}/cancel", issued["id"]), json!({})).await?;

    // The staffing forecast of the same weekday next week learns from today: its 4 tickets in
    // their local hours (the one taken just above too), counters 2 and 3 at work.
    let next_week = today + chrono::Duration::weeks(1);
    let forecast = format!("/api/v1/reports/forecast?day={next_week}&weeks=1&extra=1&from_hour=0");
    let (status, body) = get_as(&hub, staff["token"].as_str(), &forecast).await?;
    assert_eq!(status, 403, "staff cannot read the forecast: {body}");
    let (status, body) = get_as(&hub, token, &forecast).await?;
    assert_eq!(status, 200, "{body}");
    let plan: Value = serde_json::from_str(&body)?;
    assert_eq!((plan["days_learned"].as_u64(), plan["goal_pct"].as_f64()), (Some(1), Some(80.0)), "{plan}");
    let hours = plan["hours"].as_array().unwrap();
    let arrivals: f64 = hours.iter().map(|h| h["arrivals"].as_f64().unwrap()).sum();
    assert_eq!(arrivals, 4.0, "{plan}");
    let staffed = hours.iter().map(|h| h["counters_staffed"].as_f64().unwrap()).fold(0.0, f64::max);
    assert!((1.0..=2.0).contains(&staffed), "counters 2 and 3 called (in one hour or two): {plan}");
    assert!(hours.iter().all(|h| h["counters_needed"].as_u64() >= Some(1) || h["arrivals"] == 0.0), "{plan}");
    assert_eq!(plan["what_if"]["extra"], 1, "{plan}");
    let (status, body) = get_as(&hub, token, "/api/v1/reports/forecast?weeks=13").await?;
    assert_eq!(status, 400, "{body}");
    let error: Value = serde_json::from_str(&body)?;
    assert_eq!(error["error"], "malformed", "{error}");
    assert!(error["message"].as_str().unwrap().contains("weeks must be 1 to 12"), "{error}");

    // A corrective action against today's cause of the low rating (service A, waited too long),
    // starting tomorrow: the 28 days before hold today's one low rating, with that reason.
    let tomorrow = today + chrono::Duration::days(1);
    let new = json!({"cause_kind": "reason", "cause": "waited_too_long", "service": "A",
        "action": "A second counter for A from 10:00", "owner": "s102", "due": tomorrow, "starts": tomorrow});
    let response = hub.client.post(hub.url("/api/v1/actions")).bearer_auth(token.unwrap()).json(&new).send().await?;
    assert_eq!(response.status().as_u16(), 201);
    let action: Value = response.json().await?;
    assert_eq!((action["created_by"].as_str(), action["status"].as_str()), (Some("m001"), Some("planned")), "{action}");
    let before = &action["before"];
    assert_eq!((before["counted"].as_u64(), before["with_cause"].as_u64()), (Some(1), Some(1)), "{action}");
    assert_eq!((before["share_pct"].as_f64(), before["satisfaction"].as_f64()), (Some(100.0), Some(2.0)));
    assert!(action["after"].is_null(), "it has not started: {action}");
    let url = hub.url(&format!("/api/v1/actions/{}", action["id"]));
    let done = hub.client.patch(&url).bearer_auth(token.unwrap()).json(&json!({"status": "done"})).send().await?;
    assert_eq!(done.status().as_u16(), 200);
    let done: Value = done.json().await?;
    assert_eq!((done["status"].as_str(), done["owner"].as_str()), (Some("done"), Some("s102")), "{done}");
    let bad = hub.client.post(hub.url("/api/v1/actions")).bearer_auth(token.unwrap());
    let bad: Value = bad
        .json(&json!({"cause_kind": "reason", "cause": "rude", "action": "x", "owner": "x",
        "due": tomorrow, "starts": tomorrow}))
        .send()
        .await?
        .json()
        .await?;
    assert_eq!((bad["error"].as_str(), bad["field"].as_str()), (Some("malformed"), Some("cause")), "{bad}");
    let missing = hub.client.patch(hub.url("/api/v1/actions/999")).bearer_auth(token.unwrap());
    assert_eq!(missing.json(&json!({"status": "done"})).send().await?.status().as_u16(), 404);

    // The dashboard's forms: a manager's cookie records and changes one; the page shows both.
    let (browser, cookie) = dashboard_cookie(&hub, "m001").await?;
    let form = [
        ("cause_kind", "category"),
        ("cause", "شكوى على موظف"),
        ("service", ""),
        ("action", "Coaching"),
        ("owner", "s101"),
        ("due", &tomorrow.to_string()),
        ("starts", &tomorrow.to_string()),
    ];
    let posted =
        browser.post(hub.url("/dashboard/actions?lang=ar")).header("cookie", &cookie).form(&form).send().await?;
    assert_eq!(posted.status().as_u16(), 303, "back to the list");
    let (_, list) = get_as(&hub, token, "/api/v1/actions").await?;
    let list: Value = serde_json::from_str(&list)?;
    let second = &list["actions"][1];
    assert_eq!((second["created_by"].as_str(), second["cause_kind"].as_str()), (Some("m001"), Some("category")));
    let change = browser.post(hub.url(&format!("/dashboard/actions/{}", second["id"]))).header("cookie", &cookie);
    let change = change.form(&[("status", "in_progress"), ("owner", "s103"), ("due", "")]).send().await?;
    assert_eq!(change.status().as_u16(), 303);
    let refused = browser.post(hub.url("/dashboard/actions")).header("cookie", &cookie);
    let refused = refused
        .form(&[
            ("cause_kind", "reason"),
            ("cause", "rude"),
            ("action", "x"),
            ("owner", "x"),
            ("due", "2026-01-01"),
            ("starts", "2026-01-01"),
        ])
        .send()
        .await?;
    assert_eq!(refused.status().as_u16(), 400);
    let page =
        browser.get(hub.url("/dashboard/actions?lang=ar")).header("cookie", &cookie).send().await?.text().await?;
    assert!(page.contains("الإجراءات التصحيحية") && page.contains("شكوى على موظف"), "{page}");
    assert!(page.contains("قيد التنفيذ") && page.contains("s103") && page.contains("منجز"), "{page}");
    let forecast_page = browser.get(hub.url(&format!("/dashboard/forecast?lang=en&day={next_week}&weeks=1")));
    let forecast_page = forecast_page.header("cookie", &cookie).send().await?.text().await?;
    assert!(forecast_page.contains("Staffing forecast") && forecast_page.contains("<svg"), "{forecast_page}");

    let (status, body) = get_as(&hub, token, "/api/v1/reports/summary?from=2026-13-01&to=2026-11-30").await?;
    assert_eq!(status, 400, "a bad date is a clear error: {body}");
    assert!(body.contains("from must be a date"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_exit_rating_escalates_on_the_case_and_the_dashboard_until_answered() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    // The staff member at counter 2 signs in first: the visit is theirs.
    let (_, staff) = sign_in(&hub, json!({"staff": "s101", "pin": hub.pin("s101"), "counter": "2"})).await?;
    let staff_token = staff["token"].as_str().unwrap().to_string();
    let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let case_ref = ticket["case_ref"].as_str().unwrap().to_string();
    for action in ["next", "start"] {
        hub.post(&format!("/api/v1/counters/2/{action}"), json!({})).await?;
    }
    let (status, _) = hub.post("/api/v1/counters/2/complete", json!({"outcome": "follow_up"})).await?;
    assert_eq!(status, 200);
    let (status, rated) =
        hub.post("/api/v1/ratings", json!({"counter": "2", "score": 2, "reason": "not_resolved"})).await?;
    assert_eq!(status, 201, "{rated}");
    let (status, again) = hub.post("/api/v1/ratings", json!({"counter": "2", "score": 1})).await?;
    assert_eq!((status, again["error"].as_str()), (409, Some("already_rated")), "one rating per visit");

    let (status, body) = get_as(&hub, None, &format!("/api/v1/cases/{case_ref}")).await?;
    assert_eq!(status, 401, "cases are not public: {body}");
    let (status, body) = get_as(&hub, Some(&staff_token), &format!("/api/v1/cases/{case_ref}")).await?;
    assert_eq!(status, 200, "{body}");
    let case: Value = serde_json::from_str(&body)?;
    assert_eq!((case["status"].as_str(), case["outcome"].as_str()), (Some("open"), Some("follow_up")), "{case}");
    assert!(case["due_at"].is_string(), "an open case has an SLA due time");
    assert_eq!((case["source"].as_str(), case["staff"].as_str()), (Some("walk_in"), Some("s101")), "{case}");
    assert_eq!(case["escalation"]["score"], 2);
    assert_eq!(
        (case["escalation"]["reason"].as_str(), case["escalation"]["open"].as_bool()),
        (Some("not_resolved"), Some(true))
    );

    // Staff note the case; the manager sees the escalation in the API and on the dashboard.
    let patch = |body: Value| {
        hub.client.patch(hub.url(&format!("/api/v1/cases/{case_ref}"))).bearer_auth(&staff_token).json(&body).send()
    };
    let noted: Value =
        patch(json!({"category": "title deeds", "notes": "needs the court's letter"})).await?.json().await?;
    assert_eq!((noted["category"].as_str(), noted["updated_by"].as_str()), (Some("title deeds"), Some("s101")));
    let bad = patch(json!({"colour": "red"})).await?;
    assert_eq!(bad.status().as_u16(), 400, "unknown fields are refused");

    let (_, manager) = sign_in(&hub, json!({"staff": "m001", "pin": hub.pin("m001")})).await?;
    let manager_token = manager["token"].as_str().unwrap().to_string();
    let today = hub_day(&ticket);
    let escalated = format!("/api/v1/cases?from={today}&to={today}&status=escalated");
    let (_, list) = get_as(&hub, Some(&manager_token), &escalated).await?;
    let list: Value = serde_json::from_str(&list)?;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    assert_eq!(list[0]["notes"], "needs the court's letter");

    let cookie_client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let signed = cookie_client
        .post(hub.url("/dashboard/sign-in?lang=en"))
        .form(&[("staff", "m001"), ("pin", hub.pin("m001"))])
        .send()
        .await?;
    assert_eq!(signed.status().as_u16(), 303);
    let cookie = signed.headers()["set-cookie"].to_str()?.split(';').next().unwrap().to_string();
    let page = cookie_client.get(hub.url("/dashboard?lang=en")).header("cookie", &cookie).send().await?.text().await?;
    assert!(
        page.contains("Open cases (overdue first)") && page.contains(&case_ref),
        "the escalation is on the dashboard"
    );

    // The real cases of the day: a follow-up and its escalation, both open; as JSON with the
    // branch's id, and as a CSV table.
    let cases_url = format!("/api/v1/reports/cases?from={today}&to={today}");
    let (status, report) = get_as(&hub, Some(&manager_token), &cases_url).await?;
    assert_eq!(status, 200, "{report}");
    let report: Value = serde_json::from_str(&report)?;
    assert_eq!(report["branch"], "demo");
    assert_eq!(report["total"]["opened"], json!({"follow_up": 1, "referral": 0, "escalation": 1}), "{report}");
    let open: Vec<&str> = report["open"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(open.len(), 2, "{report}");
    let table = cookie_client
        .get(hub.url(&format!("/dashboard/table.csv?from={today}&to={today}&table=open-cases")))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    assert!(table.starts_with('\u{feff}') && table.contains(&case_ref), "{table}");
    // The weekday × hour grid as a spreadsheet reads it: today's weekday named in Arabic.
    let grid = cookie_client
        .get(hub.url(&format!("/dashboard/table.csv?from={today}&to={today}&table=grid")))
        .header("cookie", &cookie)
        .send()
        .await?
        .text()
        .await?;
    let rows = python_csv_rows(&grid)?;
    let weekdays = ["الأحد", "الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت"];
    let weekday = chrono::Datelike::weekday(&today).num_days_from_sunday() as usize;
    assert!(!rows.is_empty() && rows.iter().all(|r| r["weekday_ar"] == weekdays[weekday]), "{rows:#?}");
    // Every summary table as an Excel workbook, read back with openpyxl: a sheet per table named
    // in Arabic and right to left, the service named in Arabic only, the visit a number.
    let xlsx = cookie_client
        .get(hub.url(&format!("/dashboard/tables.xlsx?lang=ar&from={today}&to={today}")))
        .header("cookie", &cookie)
        .send()
        .await?;
    assert_eq!(xlsx.status().as_u16(), 200);
    let book = python_xlsx(&xlsx.bytes().await?)?;
    let sheets: Vec<&str> = book.as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(sheets.len(), 12, "{sheets:?}");
    assert!(sheets.contains(&"حسب الخدمة") && sheets.contains(&"الحالات المفتوحة"), "{sheets:?}");
    assert!(book.as_array().unwrap().iter().all(|s| s["rtl"] == true), "right to left: {book}");
    let per_service = book.as_array().unwrap().iter().find(|s| s["name"] == "حسب الخدمة").unwrap();
    assert_eq!(per_service["rows"][0], json!(["service", "service_ar", "visits"]), "{per_service}");
    assert_eq!(per_service["rows"][1], json!(["A", "الوكالات", 1]), "{per_service}");
    let arrivals: u64 = rows.iter().map(|r| r["arrivals"].as_str().unwrap().parse::<u64>().unwrap()).sum();
    assert!(arrivals >= 1, "{rows:#?}");
    let (status, sla) =
        get_as(&hub, Some(&manager_token), &format!("/api/v1/reports/service-levels?from={today}&to={today}")).await?;
    let sla: Value = serde_json::from_str(&sla)?;
    assert_eq!(
        (status, sla["branch"].as_str(), sla["total"]["within"].as_u64()),
        (200, Some("demo"), Some(1)),
        "{sla}"
    );

    // The root causes: the one low rating's reason, the one real case's category, as shares.
    let (status, causes) =
        get_as(&hub, Some(&manager_token), &format!("/api/v1/reports/causes?from={today}&to={today}")).await?;
    let causes: Value = serde_json::from_str(&causes)?;
    assert_eq!(status, 200, "{causes}");
    let reasons = &causes["reasons"]["overall"];
    assert_eq!(
        (reasons["total"].as_u64(), reasons["causes"][0]["share_pct"].as_f64()),
        (Some(1), Some(100.0)),
        "{causes}"
    );
    assert_eq!(causes["categories"]["overall"]["total"], 1, "one visit, one case: {causes}");
    // By quarter: today's quarter month by month, the one visit and its two cases in it.
    let (status, periods) =
        get_as(&hub, Some(&manager_token), &format!("/api/v1/reports/periods?from={today}&to={today}&period=quarter"))
            .await?;
    let periods: Value = serde_json::from_str(&periods)?;
    assert_eq!((status, periods["branch"].as_str(), periods["period"].as_str()), (200, Some("demo"), Some("quarter")));
    let quarter = &periods["quarters"][0];
    assert_eq!(quarter["months"].as_array().map(Vec::len), Some(3), "{periods}");
    assert_eq!((quarter["total"]["visits"].as_u64(), quarter["total"]["cases_opened"].as_u64()), (Some(1), Some(2)));
    assert_eq!(quarter["total"]["top_reasons"][0]["count"], 1, "{periods}");
    assert_eq!(periods["periods"][0]["change"]["visits_pct"], Value::Null, "nothing the quarter before");
    let (status, body) =
        get_as(&hub, Some(&manager_token), &format!("/api/v1/reports/periods?from={today}&to={today}&period=year"))
            .await?;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("period must be day, week, month or quarter"), "{body}");

    // Closing the case answers the escalation.
    let closed: Value = patch(json!({"close": true})).await?.json().await?;
    assert_eq!((closed["status"].as_str(), closed["escalation"]["open"].as_bool()), (Some("closed"), Some(false)));
    let (_, list) = get_as(&hub, Some(&manager_token), &escalated).await?;
    assert_eq!(serde_json::from_str::<Value>(&list)?, json!([]));

    // The visitor's live page now asks how the request was resolved: a second rating, once.
    let page_url = ticket["status_url"].as_str().unwrap().to_string();
    let page = cookie_client.get(format!("{page_url}?lang=en")).send().await?.text().await?;
    assert!(page.contains("Your request has been resolved."), "the second rating is offered");
    let rate_url = format!("{}/rate?lang=en", page_url.trim_end_matches('/'));
    let rated = cookie_client.post(&rate_url).form(&[("score", "4")]).send().await?;
    assert_eq!(rated.status().as_u16(), 303);
    cookie_client.post(&rate_url).form(&[("score", "1")]).send().await?;
    let (_, body) = get_as(&hub, Some(&staff_token), &format!("/api/v1/cases/{case_ref}")).await?;
    assert_eq!(serde_json::from_str::<Value>(&body)?["resolution_rating"], 4, "rated once");
    let page = cookie_client.get(format!("{page_url}?lang=en")).send().await?.text().await?;
    assert!(page.contains("Thank you for rating how your request was resolved.") && !page.contains("name=\"score\""));
    // Both cases closed today, within their targets, with the rating after resolution.
    let (_, report) = get_as(&hub, Some(&manager_token), &cases_url).await?;
    let report: Value = serde_json::from_str(&report)?;
    let total = &report["total"];
    assert_eq!(total["closed_within_target"], json!({"follow_up": 1, "referral": 0, "escalation": 1}), "{report}");
    assert_eq!((total["resolution_ratings"].as_u64(), total["resolution_rating_mean"].as_f64()), (Some(1), Some(4.0)));
    assert_eq!(report["open"], json!([]));
    Ok(())
}

/// The text `pdftotext` reads off `pages` of a PDF, without the bidi marks it puts around
/// right-to-left lines and numbers in them (the words themselves come out in logical order).
fn pdf_text(pdf: &std::path::Path, pages: (u32, u32), layout: bool) -> Result<String> {
    let mut command = std::process::Command::new("pdftotext");
    command.args(["-f", &pages.0.to_string(), "-l", &pages.1.to_string()]);
    if layout {
        command.arg("-layout");
    }
    let output = command.arg(pdf).arg("-").output()?;
    anyhow::ensure!(output.status.success(), "pdftotext: {}", String::from_utf8_lossy(&output.stderr));
    Ok(String::from_utf8(output.stdout)?.replace(['\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}'], ""))
}

/// The monthly PDF of a seeded month (the report bench's generator, 40 visits a working day),
/// in Arabic and English: managers only, 400 for a bad month or language; `pdftotext` finds the
/// Arabic headings in logical order (lam-alef ligatures included) and the headline figures
/// equal the JSON reports'. Its first pages are the screenshots `report-pdf-{ar,en}-N.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monthly_pdf_shows_the_json_reports_figures_in_arabic_and_english() -> Result<()> {
    let data = tempfile::tempdir()?;
    {
        let mut conn = dawr_hub::store::open(&data.path().join("dawr.db"))?;
        let (from, to) = ("2026-10-01".parse()?, "2026-10-31".parse()?);
        dawr_hub::reports::synthetic::write(&mut conn, 2026, from, to, 40)?;
    }
    let broker = dawr_e2e::BrokerChoice::Embedded { port: dawr_e2e::free_port(), tls_port: dawr_e2e::free_port() };
    let hub = Hub::start_with(broker, &[], &[], data).await?;
    let manager = hub.sign_in("m001", None).await?.token;
    let staff = hub.staff_token().await?;
    let url = |query: &str| format!("/api/v1/reports/monthly.pdf?{query}");
    for (token, query, want) in [
        (None, "month=2026-10", 401),
        (Some(staff.as_str()), "month=2026-10", 403),
        (Some(manager.as_str()), "month=2026-13", 400),
        (Some(manager.as_str()), "month=October", 400),
        (Some(manager.as_str()), "month=2026-10&lang=fr", 400),
        (Some(manager.as_str()), "lang=en", 400),
    ] {
        let (status, body) = get_as(&hub, token, &url(query)).await?;
        assert_eq!(status, want, "{query}: {body}");
        let error: Value = serde_json::from_str(&body)?;
        assert!(error["error"].is_string() && error["message"].is_string(), "{body}");
    }

    let json = |path: &str| {
        let path = format!("{path}?from=2026-10-01&to=2026-10-31");
        let manager = manager.clone();
        let hub = &hub;
        async move {
            let (status, body) = get_as(hub, Some(&manager), &path).await?;
            anyhow::ensure!(status == 200, "{path}: {body}");
            Ok::<Value, anyhow::Error>(serde_json::from_str(&body)?)
        }
    };
    let summary = json("/api/v1/reports/summary").await?;
    let sla = json("/api/v1/reports/service-levels").await?;
    let cases = json("/api/v1/reports/cases").await?;
    let total = &summary; // the whole range's figures sit at the top (flattened)
    let count = |v: &Value| v.as_u64().unwrap_or_else(|| panic!("a count, not {v}: {summary} {sla}")).to_string();
    let minutes = |v: &Value| format!("{:.1}", v.as_f64().expect("seconds") / 60.0);
    let sum = |kinds: &Value| kinds.as_object().expect("kinds").values().filter_map(Value::as_u64).sum::<u64>();
    // (the English label, the figure as the JSON reports give it).
    let figures = [
        ("Visits", count(&total["visits"])),
        ("Served", count(&total["served"])),
        ("No-shows", count(&total["no_shows"])),
        ("Mean wait (min)", minutes(&total["wait_s"]["mean"])),
        ("90th percentile wait (min)", minutes(&total["wait_s"]["p90"])),
        ("Called within target", format!("{:.1}%", total["within_target_pct"].as_f64().unwrap())),
        ("SLA breaches", count(&sla["total"]["breaches"])),
        ("Satisfaction (mean of 5)", format!("{:.2}", total["csat"]["mean"].as_f64().unwrap())),
        ("Satisfied (rating 4 or 5)", format!("{:.1}%", total["csat"]["satisfied_pct"].as_f64().unwrap())),
        ("Cases opened", sum(&cases["total"]["opened"]).to_string()),
        ("Cases closed", sum(&cases["total"]["closed"]).to_string()),
    ];
    assert!(total["visits"].as_u64().unwrap() > 500, "a month of history: {total}");

    let dir = tempfile::tempdir()?;
    let shots = dawr_e2e::screenshots_dir();
    std::fs::create_dir_all(&shots)?;
    let texts = dawr_i18n::Texts::new();
    for lang in ["ar", "en"] {
        let response =
            hub.client.get(hub.url(&url(&format!("month=2026-10&lang={lang}")))).bearer_auth(&manager).send().await?;
        assert_eq!(response.status().as_u16(), 200);
        assert_eq!(response.headers()["content-type"], "application/pdf");
        let disposition = response.headers()["content-disposition"].to_str()?.to_string();
        assert!(disposition.contains(&format!("dawr-report-demo-2026-10-{lang}.pdf")), "{disposition}");
        let bytes = response.bytes().await?;
        assert!(bytes.starts_with(b"%PDF-"));
        let path = dir.path().join(format!("{lang}.pdf"));
        std::fs::write(&path, &bytes)?;

        let cover = pdf_text(&path, (1, 1), true)?;
        if lang == "en" {
            // Each headline figure on its label's line, equal to the JSON report's.
            for (label, value) in &figures {
                let line = cover.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_default();
                let cells: Vec<&str> = line.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
                assert_eq!(cells.get(1), Some(&value.as_str()), "{label}: {line:?}\n{cover}");
            }
        } else {
            let words: Vec<&str> = cover.split_whitespace().collect();
            for (label, value) in &figures {
                assert!(words.contains(&value.as_str()), "{label} = {value} on the Arabic cover:\n{cover}");
            }
        }
        let whole = pdf_text(&path, (1, 99), false)?;
        let t = |key: &str| texts.get(lang.parse().unwrap(), key, &[]);
        for key in [
            "report-pdf-title",
            "report-pdf-headline",
            "report-pdf-charts",
            "report-pdf-per-counter",
            "report-pdf-actions",
        ] {
            assert!(whole.contains(&t(key)), "{lang} {key}: {:?} not in\n{whole}", t(key));
        }
        if lang == "ar" {
            for words in ["الانتظار", "الإجراءات التصحيحية", "الحالات المغلقة", "الوكالات", "إلى"]
            {
                assert!(whole.contains(words), "{words} (logical order, ligatures read back) not in\n{whole}");
            }
        }
        let pages = std::process::Command::new("pdfinfo").arg(&path).output()?;
        let pages = String::from_utf8(pages.stdout)?;
        let pages: u32 = pages.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap_or("0").trim().parse()?;
        assert!(pages >= 4 + 6, "cover, charts, tables, a page per service: {pages}");

        let prefix = shots.join(format!("report-pdf-{lang}"));
        let status = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "50", "-f", "1", "-l", "3"])
            .arg(&path)
            .arg(&prefix)
            .status()?;
        assert!(status.success());
    }
    print_the_month(&hub, dir.path(), &shots).await
}

/// The dashboard's print of the same month in Arabic and English (Chromium's own print to PDF):
/// the head names the branch with Hijri and Gregorian dates, no page is left without content,
/// and the pages become the pictures `report-print-{ar,en}-N.png`.
async fn print_the_month(hub: &Hub, dir: &std::path::Path, shots: &std::path::Path) -> Result<()> {
    let browser = dawr_e2e::browser::Browser::start(1280, 1800).await?;
    browser.goto(&hub.url("/dashboard?lang=en")).await?;
    browser
        .leave_page(
            "document.getElementById('staff').value = 'm001'; document.getElementById('pin').value = '2468'; \
             document.querySelector('form').submit()",
        )
        .await?;
    for (lang, hijri) in [("ar", "هـ"), ("en", "AH")] {
        browser.goto(&hub.url(&format!("/dashboard?lang={lang}&from=2026-10-01&to=2026-10-31&period=month"))).await?;
        let path = dir.join(format!("print-{lang}.pdf"));
        std::fs::write(&path, browser.print_pdf().await?)?;
        let first = pdf_text(&path, (1, 1), false)?;
        assert!(
            first.contains(hijri) && first.contains("1448") && first.contains("2026"),
            "{lang}: the Hijri and Gregorian dates head the print:\n{first}"
        );
        let info = String::from_utf8(std::process::Command::new("pdfinfo").arg(&path).output()?.stdout)?;
        let pages: u32 = info.lines().find_map(|l| l.strip_prefix("Pages:")).unwrap_or("0").trim().parse()?;
        assert!(
            (1..=PRINT_PAGES).contains(&pages),
            "{lang}: a month prints on at most {PRINT_PAGES} A4 pages, not {pages}"
        );
        for page in 1..=pages {
            let text = pdf_text(&path, (page, page), false)?;
            assert!(text.split_whitespace().count() > 5, "{lang}: page {page} of {pages} is (nearly) empty:\n{text}");
        }
        let status = std::process::Command::new("pdftoppm")
            .args(["-png", "-r", "60"])
            .arg(&path)
            .arg(shots.join(format!("report-print-{lang}")))
            .status()?;
        assert!(status.success());
    }
    Ok(())
}

/// The most A4 pages a month's dashboard may print on.
const PRINT_PAGES: u32 = 6;

/// The attached file of a multipart e-mail as the test SMTP server keeps it (the raw MIME body):
/// the part of `content_type`, base64-decoded.
fn attachment(body: &str, content_type: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    let body = body.replace("\r\n", "\n");
    let part =
        body.split("\n--").find(|p| p.to_ascii_lowercase().contains(&format!("content-type: {content_type}")))?;
    let (_, encoded) = part.split_once("\n\n")?;
    let joined: String = encoded.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(joined).ok()
}

/// On the first of the month (a hub started any time after the month ended), the month before's
/// report goes to each manager's address in `[alerts] email_to`, in `[alerts] lang`, as a PDF
/// attachment through the SMTP outbox; a restart does not send it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_month_befores_report_is_e_mailed_to_the_managers_once() -> Result<()> {
    let smtp = dawr_e2e::smtp::SmtpServer::start();
    let data = tempfile::tempdir()?;
    let riyadh = chrono::FixedOffset::east_opt(3 * 3600).unwrap();
    let today = dawr_e2e::services_now().with_timezone(&riyadh).date_naive();
    let first = chrono::Datelike::with_day(&today, 1).unwrap();
    let month_before = chrono::Datelike::with_day(&first.pred_opt().unwrap(), 1).unwrap();
    {
        let mut conn = dawr_hub::store::open(&data.path().join("dawr.db"))?;
        dawr_hub::reports::synthetic::write(&mut conn, 11, month_before, first.pred_opt().unwrap(), 8)?;
    }
    let branch = dawr_e2e::production_branch(&dawr_e2e::demo_branch());
    let start = branch.find("\n[alerts]").expect("the demo's [alerts]");
    let end = start + 1 + branch[start + 1..].find("\n\n").expect("a blank line after it");
    let alerts = format!(
        "\n[alerts]\nlang = \"ar\"\nemail_to = [\"manager@branch.test\", \"deputy@branch.test\"]\nsmtp = \"{}\"\n\
         smtp_security = \"none\"\nsmtp_from = \"dawr@branch.test\"\n",
        smtp.address()
    );
    let file = data.path().join("branch.toml");
    std::fs::write(&file, format!("{}{}{alerts}", &branch[..start], &branch[end..]))?;
    let broker = dawr_e2e::BrokerChoice::Embedded { port: dawr_e2e::free_port(), tls_port: dawr_e2e::free_port() };
    let mut hub = Hub::start_with(broker, &["--config", file.to_str().unwrap()], &[], data).await?;

    let wait = std::time::Duration::from_secs(30);
    let mails = smtp.wait_for(2, wait).await;
    assert_eq!(mails.len(), 2, "{}", hub.log());
    let mut to: Vec<&str> = mails.iter().flat_map(|m| m.to.iter().map(String::as_str)).collect();
    to.sort();
    assert_eq!(to, ["deputy@branch.test", "manager@branch.test"]);
    let month = month_before.format("%Y-%m").to_string();
    for mail in &mails {
        let subject: String = mail.subject.chars().filter(|c| !matches!(c, '\u{2068}' | '\u{2069}')).collect();
        assert!(subject.starts_with("التقرير الشهري"), "{subject}");
        assert!(mail.body.contains(&format!("dawr-report-demo-{month}-ar.pdf")), "the file's name");
        let pdf = attachment(&mail.body, "application/pdf").expect("the PDF attached");
        assert!(pdf.starts_with(b"%PDF-") && pdf.len() > 10_000, "{} bytes", pdf.len());
    }

    // Started again: the month was queued before, and nothing more is sent.
    hub.restart().await?;
    let told = || async { hub.log().matches("the monthly report was queued before").count() >= 1 };
    assert!(dawr_e2e::wait_until(wait, told).await, "{}", hub.log());
    let log = hub.log();
    let queued = log.matches("the monthly report was queued").count() - log.matches("queued before").count();
    assert_eq!((queued, smtp.messages().len()), (1, 2), "queued and sent once: {log}");
    Ok(())
}
