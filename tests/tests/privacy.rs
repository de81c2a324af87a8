//! Personal data under PDPL against a real hub: a day's visits with visitor IDs, a mobile, case
//! notes and a transfer note; the hub restarted 91 days later (its clock moved with
//! `--clock-offset-s`) purges the IDs, mobiles and notes at start, and the day's report figures
//! (summary and CSV) are exactly what they were. A manager exports and erases one person; every
//! action leaves an audit entry, and the audit log refuses to be changed. A sign-in lockout and
//! each device enrolment and revocation leave one entry each.
use anyhow::Result;
use std::time::Duration;

use dawr_e2e::{Hub, hub_day, wait_until};
use dawr_protocol::api::cases::{CaseDetail, CaseUpdate};
use dawr_protocol::api::privacy::{AuditAction, AuditPage, ErasureReport, PersonQuery, PersonalDataExport};
use dawr_protocol::api::sessions::{Session, SignIn};
use serde_json::json;

const ID: &str = "1012345678";
const MOBILE: &str = "0501234567";
const NOTE: &str = "needs the title deed of plot 77";

async fn sign_in(hub: &Hub, staff: &str, pin: &str, counter: Option<&str>) -> Result<(u16, Option<Session>)> {
    let body = SignIn { staff: staff.into(), pin: pin.into(), counter: counter.map(Into::into) };
    let response = hub.client.post(hub.url("/api/v1/sessions")).json(&body).send().await?;
    let status = response.status().as_u16();
    Ok((status, response.json().await.ok()))
}

async fn manager(hub: &Hub) -> Result<String> {
    Ok(sign_in(hub, "m001", "2468", None).await?.1.expect("the manager signs in").token)
}

/// A counter action as the staff member signed in there.
async fn act(hub: &Hub, token: &str, counter: &str, action: &str, body: serde_json::Value) -> Result<()> {
    let response = hub
        .client
        .post(hub.url(&format!("/api/v1/counters/{counter}/{action}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await?;
    let status = response.status().as_u16();
    assert_eq!(status, 200, "{action}: {}", response.text().await?);
    Ok(())
}

async fn patch_case(hub: &Hub, token: &str, case_ref: &str, update: &CaseUpdate) -> Result<()> {
    let response =
        hub.client.patch(hub.url(&format!("/api/v1/cases/{case_ref}"))).bearer_auth(token).json(update).send().await?;
    let status = response.status().as_u16();
    assert_eq!(status, 200, "{}", response.text().await?);
    Ok(())
}

async fn case(hub: &Hub, token: &str, case_ref: &str) -> Result<CaseDetail> {
    let response = hub.client.get(hub.url(&format!("/api/v1/cases/{case_ref}"))).bearer_auth(token).send().await?;
    Ok(response.error_for_status()?.json().await?)
}

async fn text(hub: &Hub, token: &str, path: &str) -> Result<String> {
    let response = hub.client.get(hub.url(path)).bearer_auth(token).send().await?;
    let status = response.status().as_u16();
    let body = response.text().await?;
    assert_eq!(status, 200, "{path}: {body}");
    Ok(body)
}

async fn person(hub: &Hub, token: &str, route: &str, who: &str) -> Result<(u16, String)> {
    let response = hub
        .client
        .post(hub.url(&format!("/api/v1/personal-data/{route}")))
        .bearer_auth(token)
        .json(&PersonQuery { person: who.into() })
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

async fn audit(hub: &Hub, token: &str, from: chrono::NaiveDate, to: chrono::NaiveDate) -> Result<AuditPage> {
    Ok(serde_json::from_str(&text(hub, token, &format!("/api/v1/audit?from={from}&to={to}&limit=500")).await?)?)
}

fn count(page: &AuditPage, action: AuditAction) -> usize {
    page.entries.iter().filter(|e| e.action == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aged_visits_lose_ids_mobiles_and_notes_but_not_a_single_report_figure() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let (status, _) = sign_in(&hub, "s101", "0000", None).await?;
    assert_eq!(status, 401);
    let staff = sign_in(&hub, "s101", "1111", Some("2")).await?.1.expect("s101 signs in").token;

    // Visit 1: served at counter 2, transferred to D with a note, served again and rated.
    let (_, first) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let day = hub_day(&first);
    for action in ["next", "start"] {
        act(&hub, &staff, "2", action, json!({})).await?;
    }
    act(&hub, &staff, "2", "transfer", json!({"to_service": "D", "note": NOTE})).await?;
    for action in ["next", "start"] {
        act(&hub, &staff, "2", action, json!({})).await?;
    }
    act(&hub, &staff, "2", "complete", json!({"outcome": "follow_up"})).await?;
    let (status, rated) =
        hub.post("/api/v1/ratings", json!({"counter": "2", "score": 2, "reason": "not_resolved"})).await?;
    assert_eq!(status, 201, "{rated}");
    // Visit 2 (a mobile) and visit 3 (the same ID as visit 1 again).
    let mut refs = vec![first["case_ref"].as_str().unwrap().to_string()];
    for _ in 0..2 {
        let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
        refs.push(ticket["case_ref"].as_str().unwrap().to_string());
        for action in ["next", "start"] {
            act(&hub, &staff, "2", action, json!({})).await?;
        }
        act(&hub, &staff, "2", "complete", json!({"outcome": "resolved"})).await?;
    }
    let update = |visitor: &str| CaseUpdate {
        category: Some("deeds".into()),
        visitor: Some(visitor.into()),
        notes: Some(format!("called back on {MOBILE}")),
        close: false,
    };
    patch_case(&hub, &staff, &refs[0], &update(ID)).await?;
    patch_case(&hub, &staff, &refs[1], &update(MOBILE)).await?;
    patch_case(&hub, &staff, &refs[2], &update(ID)).await?;
    let third = case(&hub, &staff, &refs[2]).await?;
    assert_eq!(third.earlier_visits.iter().map(|v| v.case_ref.as_str()).collect::<Vec<_>>(), [refs[0].as_str()]);

    let boss = manager(&hub).await?;
    let summary_path = format!("/api/v1/reports/summary?from={day}&to={day}");
    let csv_path = format!("/api/v1/reports/visits.csv?from={day}&to={day}");
    let summary_before: serde_json::Value = serde_json::from_str(&text(&hub, &boss, &summary_path).await?)?;
    let csv_before = text(&hub, &boss, &csv_path).await?;
    assert_eq!(summary_before["visits"], 3, "{summary_before}");
    let (status, exported) = person(&hub, &boss, "export", ID).await?;
    assert_eq!(status, 200, "{exported}");
    let exported: PersonalDataExport = serde_json::from_str(&exported)?;
    assert_eq!(exported.cases.len(), 2);
    assert_eq!(exported.cases[0].notes.visitor.as_deref(), Some(ID));
    assert_eq!(exported.transfer_notes.iter().map(|n| n.note.as_str()).collect::<Vec<_>>(), [NOTE]);
    let (status, refused) = person(&hub, &staff, "export", ID).await?;
    assert_eq!(status, 403, "staff export nothing: {refused}");

    // 91 days later (past the default 90), the hub starts and purges before its first request.
    let later = (91 * 86_400).to_string();
    hub.restart_with(&["--clock-offset-s", &later]).await?;
    let boss = manager(&hub).await?;
    let staff = sign_in(&hub, "s101", "1111", None).await?.1.expect("s101 signs in").token;
    let summary_after: serde_json::Value = serde_json::from_str(&text(&hub, &boss, &summary_path).await?)?;
    assert_eq!(summary_after, summary_before, "the report's figures do not change");
    assert_eq!(text(&hub, &boss, &csv_path).await?, csv_before, "nor does the CSV, to the byte");

    let purged = case(&hub, &staff, &refs[0]).await?;
    assert_eq!(purged.case.notes.visitor, None, "the ID is gone");
    assert_eq!(purged.case.notes.notes, "", "the notes (with a mobile in them) are gone");
    assert_eq!(purged.case.notes.category.as_deref(), Some("deeds"), "a category is no personal data");
    assert_eq!(purged.case.rating, Some(2), "the rating stays");
    assert_eq!(case(&hub, &staff, &refs[1]).await?.case.notes.visitor, None, "the mobile is gone");
    let third = case(&hub, &staff, &refs[2]).await?;
    assert_eq!(
        third.earlier_visits.iter().map(|v| v.case_ref.as_str()).collect::<Vec<_>>(),
        [refs[0].as_str()],
        "still matched by the keyed hash within visitor_match_days"
    );
    {
        let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
        let plain: i64 = db.query_row(
            "SELECT COUNT(*) FROM case_notes WHERE visitor IS NOT NULL OR notes <> '' OR visitor_hash LIKE '%' || ?1 || '%'",
            [ID],
            |r| r.get(0),
        )?;
        assert_eq!(plain, 0);
        let notes: i64 = db.query_row(
            "SELECT (SELECT COUNT(*) FROM events WHERE payload LIKE '%' || ?1 || '%')
                  + (SELECT COUNT(*) FROM visits WHERE transfer_note IS NOT NULL)",
            [NOTE],
            |r| r.get(0),
        )?;
        assert_eq!(notes, 0, "the transfer note left the event log and the visit");
        let kept: i64 = db.query_row("SELECT COUNT(*) FROM events WHERE kind = 'transferred'", [], |r| r.get(0))?;
        assert_eq!(kept, 1, "the transfer event itself stays");
    }
    // The person can still be found (by the hash) and exported, without the ID in clear.
    let (_, exported) = person(&hub, &boss, "export", "1012-345-678").await?;
    let exported: PersonalDataExport = serde_json::from_str(&exported)?;
    assert_eq!(exported.cases.len(), 2);
    assert!(exported.cases.iter().all(|c| c.notes.visitor.is_none()) && exported.transfer_notes.is_empty());

    // Erasure: the mobile, typed another way.
    let (status, erased) = person(&hub, &boss, "erase", "+966 50 123 4567").await?;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(serde_json::from_str::<ErasureReport>(&erased)?.cases, 1);
    let (_, exported) = person(&hub, &boss, "export", MOBILE).await?;
    assert!(serde_json::from_str::<PersonalDataExport>(&exported)?.cases.is_empty(), "nothing left to find");
    let (status, bad) = person(&hub, &boss, "erase", "someone").await?;
    assert_eq!(status, 400, "{bad}");
    let summary_erased: serde_json::Value = serde_json::from_str(&text(&hub, &boss, &summary_path).await?)?;
    assert_eq!(summary_erased, summary_before, "erasure changes no figure either");
    assert_eq!(text(&hub, &boss, &csv_path).await?, csv_before);

    // The audit log: every action, and the purge's counts.
    let today = day + chrono::Duration::days(91);
    let log = audit(&hub, &boss, day, today).await?;
    assert!(count(&log, AuditAction::SignIn) >= 4, "{log:?}");
    assert_eq!(count(&log, AuditAction::SignInFailed), 1);
    assert_eq!(count(&log, AuditAction::CaseEdited), 3);
    assert_eq!(count(&log, AuditAction::PersonalDataExported), 3, "a refused export is none");
    assert_eq!(count(&log, AuditAction::PersonalDataErased), 1);
    let purges: Vec<_> = log.entries.iter().filter(|e| e.action == AuditAction::RetentionPurge).collect();
    assert!(purges.iter().any(|p| p.after.get("cases").map(String::as_str) == Some("3")), "{purges:?}");
    let edit = log.entries.iter().find(|e| e.action == AuditAction::CaseEdited).expect("an edit");
    assert_eq!((edit.actor.as_str(), edit.after.get("category").map(String::as_str)), ("s101", Some("deeds")));
    let logged = serde_json::to_string(&log)?;
    assert!(!logged.contains(ID) && !logged.contains("50123"), "the log keeps no ID or mobile in clear");
    // Staff do not read it; paging walks it all.
    let response =
        hub.client.get(hub.url(&format!("/api/v1/audit?from={day}&to={today}"))).bearer_auth(&staff).send().await?;
    assert_eq!(response.status().as_u16(), 403);
    let first_page: AuditPage =
        serde_json::from_str(&text(&hub, &boss, &format!("/api/v1/audit?from={day}&to={today}&limit=2")).await?)?;
    let before = first_page.next_before.expect("more than two entries");
    let second: AuditPage = serde_json::from_str(
        &text(&hub, &boss, &format!("/api/v1/audit?from={day}&to={today}&limit=2&before={before}")).await?,
    )?;
    assert_eq!(second.entries[0].id, before - 1);

    // The dashboard lists the range's latest entries, in English and Arabic.
    let client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let signed =
        client.post(hub.url("/dashboard/sign-in?lang=en")).form(&[("staff", "m001"), ("pin", "2468")]).send().await?;
    let cookie = signed.headers()["set-cookie"].to_str()?.split(';').next().unwrap().to_string();
    for (lang, title, erased) in
        [("en", "Audit log", "Personal data erased"), ("ar", "سجل التدقيق", "محو بيانات شخصية")]
    {
        let path = format!("/dashboard?lang={lang}&from={day}&to={today}");
        let page = client.get(hub.url(&path)).header("cookie", &cookie).send().await?.text().await?;
        assert!(page.contains(title) && page.contains(erased), "{lang}: the audit section");
        assert!(!page.contains(ID), "no ID in clear on the page");
    }

    // Append-only: neither an update nor a delete gets through, from any connection.
    let db = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
    assert!(db.execute("UPDATE audit_log SET actor = 'nobody'", []).is_err());
    assert!(db.execute("DELETE FROM audit_log WHERE action = 'personal_data_erased'", []).is_err());
    let entries: i64 = db.query_row("SELECT COUNT(*) FROM audit_log", [], |r| r.get(0))?;
    assert_eq!(entries as usize, audit(&hub, &boss, day, today).await?.entries.len(), "every entry is still there");
    assert_eq!(count(&audit(&hub, &boss, day, today).await?, AuditAction::PersonalDataErased), 1);
    Ok(())
}

/// Whether a sign-in of `staff` with a wrong PIN is refused by a lockout (a `Retry-After` beyond
/// the longest delay).
async fn locked_out(hub: &Hub, staff: &str) -> bool {
    let body = SignIn { staff: staff.into(), pin: "000000".into(), counter: None };
    let Ok(response) = hub.client.post(hub.url("/api/v1/sessions")).json(&body).send().await else {
        return false;
    };
    let retry_after = response.headers().get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    response.status().as_u16() == 429 && retry_after.is_some_and(|s| s > 60)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_and_each_enrolment_and_revocation_leave_one_audit_entry() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let boss = manager(&hub).await?;
    // Wrong PINs, tried every 20 ms: ten count (the others are refused during the delays), the
    // tenth locks the id and the address out, and the hundreds of refused attempts add nothing.
    let tried = "intruder-with-a-name-far-longer-than-thirty-two-characters";
    assert!(wait_until(Duration::from_secs(120), || locked_out(&hub, tried)).await, "locked out");
    for _ in 0..20 {
        assert!(locked_out(&hub, tried).await);
    }
    hub.enrol("kiosk-9", "kiosk", None)?;
    hub.revoke("kiosk-9")?;

    let today = chrono::Utc::now().date_naive();
    let log = audit(&hub, &boss, today - chrono::Duration::days(1), today + chrono::Duration::days(1)).await?;
    let lockouts: Vec<_> = log.entries.iter().filter(|e| e.action == AuditAction::LockedOut).collect();
    let locked: Vec<_> = lockouts.iter().map(|e| e.after["locked"].as_str()).collect();
    assert_eq!(locked.len(), 2, "one per locked key: {lockouts:?}");
    assert!(locked.contains(&"staff_id") && locked.contains(&"address"), "{lockouts:?}");
    let bounded: String = tried.chars().take(32).collect();
    assert!(lockouts.iter().all(|e| e.actor == bounded && e.after.contains_key("until")), "{lockouts:?}");
    assert!(!format!("{lockouts:?}").contains("127.0.0.1"), "the address itself is not kept");

    let device = |action: AuditAction| {
        log.entries.iter().filter(move |e| e.action == action && e.subject.as_deref() == Some("kiosk-9"))
    };
    let enrolled: Vec<_> = device(AuditAction::DeviceEnrolled).collect();
    let revoked: Vec<_> = device(AuditAction::DeviceRevoked).collect();
    assert_eq!((enrolled.len(), revoked.len()), (1, 1), "{log:?}");
    assert!(enrolled[0].actor == "cli" && enrolled[0].after["role"] == "kiosk", "{enrolled:?}");
    assert!(revoked[0].id > enrolled[0].id && revoked[0].actor == "cli");
    let demo = log.entries.iter().filter(|e| e.action == AuditAction::DeviceEnrolled && e.actor == "demo").count();
    assert!(demo >= 5, "the demo's first start enrolled its devices: {demo}");
    Ok(())
}
