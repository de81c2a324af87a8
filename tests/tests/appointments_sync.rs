//! A booking made on the appointments site is checked in at the branch hub; with the site
//! stopped the hub still checks in the bookings it holds, and the check-in reaches the site once
//! it is back — even when the hub was killed in between. A check-in made before the site's
//! cancellation reached the hub is served and wins on the site; a booking never checked in
//! becomes a no-show at the hub, on the site and in the manager's summary. A booking the hub
//! never pulled checks in from the signed token on its QR code while the site is down, once; a
//! forged, altered, expired or other branch's token is refused.
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use dawr_e2e::appointments::{Site, TEST_KEY, citizen_id, example_booking, held, test_site};
use dawr_e2e::{Hub, wait_until};
use serde_json::{Value, json};

async fn book(site: &Site, service: &str, n: u32) -> Result<(String, String, String)> {
    let (start, _) = site.first_free_slot(service).await?;
    let id = citizen_id(n);
    let (status, booked) = site.post("/api/v1/bookings", example_booking(&start, service, n)).await?;
    assert_eq!(status, 201, "{booked}");
    Ok((booked["code"].as_str().unwrap().to_string(), id, start))
}

/// Waits until the site says the booking is `status`.
async fn site_status(site: &Site, code: &str, id: &str, status: &str) -> Result<()> {
    let mut last = Value::Null;
    for _ in 0..150 {
        let (_, booking) = site.post(&format!("/api/v1/bookings/{code}/lookup"), json!({"national_id": id})).await?;
        if booking["status"] == status {
            return Ok(());
        }
        last = booking;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the site never saw {code} {status}: {last}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bookings_are_checked_in_at_the_hub_online_and_offline_and_reported_back() -> Result<()> {
    let morning = dawr_e2e::morning_offset_s();
    let mut site = Site::start_with(Some(&test_site(2, 1000)), &["--clock-offset-s", &morning]).await?;
    let url = site.url("");
    let mut hub = Hub::start_embedded_with(&[
        "--clock-offset-s",
        &morning,
        "--appointments-url",
        &url,
        "--appointments-key",
        TEST_KEY,
        "--appointments-poll-s",
        "0.5",
    ])
    .await?;

    // Online: booked on the site, checked in at the hub's kiosk endpoint.
    let (code, id, start) = book(&site, "E", 1).await?;
    assert_eq!(held(&hub, &code, &start).await?["status"], "booked");
    // As the kiosk sends it (with its own request id).
    let (status, ticket) =
        hub.post("/api/v1/checkins", json!({"code": code.to_lowercase(), "request_id": "kiosk-1-17"})).await?;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!((ticket["priority"].as_str(), ticket["source"].as_str()), (Some("appointment"), Some("appointment")));
    assert_eq!(ticket["service"], "E");
    assert!(ticket["number"].as_str().unwrap().starts_with('E'));
    let slot = chrono::DateTime::parse_from_rfc3339(&start)?;
    assert_eq!(chrono::DateTime::parse_from_rfc3339(ticket["appointment_at"].as_str().unwrap())?, slot);
    let (status, again) = hub.post("/api/v1/checkins", json!({"code": code})).await?;
    assert_eq!((status, again["error"].as_str()), (409, Some("booking_used")));
    assert!(again["message"].as_str().unwrap().contains(ticket["number"].as_str().unwrap()), "{again}");
    let (status, unknown) = hub.post("/api/v1/checkins", json!({"code": "ZZZZZZZZ"})).await?;
    assert_eq!((status, unknown["error"].as_str()), (404, Some("booking_not_found")));
    let (status, bad) = hub.post("/api/v1/checkins", json!({"code": "'; --"})).await?;
    assert_eq!((status, bad["error"].as_str()), (400, Some("malformed")));
    site_status(&site, &code, &id, "checked_in").await?;

    // A cancelled booking is refused at the kiosk once the hub has heard of the cancellation.
    let (cancelled, cancelled_id, cancelled_start) = book(&site, "A", 2).await?;
    held(&hub, &cancelled, &cancelled_start).await?;
    site.post(&format!("/api/v1/bookings/{cancelled}/cancel"), json!({"national_id": cancelled_id})).await?;
    let pulled = wait_until(Duration::from_secs(15), || async {
        held(&hub, &cancelled, &cancelled_start).await.is_ok_and(|b| b["status"] == "cancelled")
    })
    .await;
    assert!(pulled, "the next pull brings the cancellation");
    let (status, refusal) = hub.post("/api/v1/checkins", json!({"code": cancelled})).await?;
    assert_eq!(status, 409);
    assert_eq!(refusal["error"], "booking_cancelled");

    // Offline: the site stops; the hub checks in what it holds and keeps the report.
    let (code2, id2, start2) = book(&site, "A", 3).await?;
    held(&hub, &code2, &start2).await?;
    site.stop();
    let (status, ticket2) = hub.post("/api/v1/checkins", json!({"code": code2})).await?;
    assert_eq!(status, 201, "{ticket2}");
    assert_eq!(ticket2["priority"], "appointment");
    // The hub is killed before it could report; the report survives in its outbox.
    hub.restart().await?;
    let entry = held(&hub, &code2, &start2).await?;
    assert_eq!(entry["status"], "checked_in");
    assert_eq!(entry["ticket"], ticket2["id"]);
    let (status, _) = hub.get(&format!("/api/v1/tickets/{}", ticket2["id"])).await?;
    assert_eq!(status, 200, "the ticket survived the restart");

    // The site comes back: the check-in reaches it.
    site.start_again().await?;
    site_status(&site, &code2, &id2, "checked_in").await?;
    assert!(!hub.log().contains("panicked"), "{}", hub.log());
    Ok(())
}

/// The booking is made while the hub is not running and the site stops before the hub starts:
/// the hub has never pulled it. The token on its QR code, verified with the site's public key,
/// checks it in — once — and the check-in reaches the site when it is back; tokens that are
/// forged, altered, expired or another branch's are refused with their reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_never_pulled_checks_in_from_its_signed_qr_token_while_the_site_is_down() -> Result<()> {
    use dawr_protocol::booking_token::{self, Claims, SigningKey};
    let morning = dawr_e2e::morning_offset_s();
    let mut site = Site::start_with(Some(&test_site(2, 1000)), &["--clock-offset-s", &morning]).await?;
    let public_key = site.booking_key()?;
    assert!(site.log().contains(&public_key), "the site logs its public key for the hubs:\n{}", site.log());
    let (code, id, start) = book(&site, "E", 21).await?;
    let booking = site_booking(&site, &code, &id).await?;
    let token = booking["checkin_token"].as_str().expect("an active booking has a token").to_string();
    // The booking page's QR code carries that token.
    let page = site.client.get(booking["page_url"].as_str().unwrap()).send().await?.text().await?;
    assert!(page.contains(&format!("data-token=\"{token}\"")), "the QR carries the token");
    site.stop();

    let hub = Hub::start_embedded_with(&[
        "--clock-offset-s",
        &morning,
        "--appointments-url",
        &site.url(""),
        "--appointments-key",
        TEST_KEY,
        "--appointments-poll-s",
        "0.5",
        "--booking-key",
        &public_key,
    ])
    .await?;
    let (_, held_today) = hub.get("/api/v1/appointments").await?;
    assert_eq!(held_today.as_array().map(Vec::len), Some(0), "never pulled: {held_today}");
    // Refused, each with its reason: a token altered in one character, one signed by another
    // key, a genuine one for another branch, and a genuine one whose slot has passed.
    let key = site.signing_key()?;
    let claims = booking_token::verify(&[key.verifying_key()], &token)?;
    let mut altered = token.clone().into_bytes();
    altered[40] = if altered[40] == b'A' { b'B' } else { b'A' };
    let forged = booking_token::sign(&SigningKey::from_bytes(&[5; 32]), &claims)?;
    let elsewhere = booking_token::sign(&key, &Claims { branch: "riyadh".into(), ..claims.clone() })?;
    let passed = claims.start - chrono::Duration::hours(2);
    let expired = booking_token::sign(
        &key,
        &Claims {
            code: "OLDSLOT1".into(),
            start: passed,
            end: passed + chrono::Duration::minutes(15),
            ..claims.clone()
        },
    )?;
    for (what, text, status, error) in [
        ("altered", String::from_utf8(altered)?, 422, "token_invalid"),
        ("forged", forged, 422, "token_invalid"),
        ("another branch's", elsewhere, 409, "token_other_branch"),
        ("expired", expired, 409, "too_late"),
    ] {
        let (got, refusal) = hub.post("/api/v1/checkins", json!({"code": text})).await?;
        assert_eq!((got, refusal["error"].as_str()), (status, Some(error)), "{what}: {refusal}");
    }
    // The genuine token, as a scanner types it (the kiosk upper-cases a scan): checked in.
    let (status, ticket) = hub.post("/api/v1/checkins", json!({"code": token.to_uppercase()})).await?;
    assert_eq!(status, 201, "{ticket}");
    assert_eq!((ticket["priority"].as_str(), ticket["service"].as_str()), (Some("appointment"), Some("E")));
    let slot = chrono::DateTime::parse_from_rfc3339(&start)?;
    assert_eq!(chrono::DateTime::parse_from_rfc3339(ticket["appointment_at"].as_str().unwrap())?, slot);
    // Once only: the token again, or the code typed.
    for again in [token.clone(), code.clone()] {
        let (status, used) = hub.post("/api/v1/checkins", json!({"code": again})).await?;
        assert_eq!((status, used["error"].as_str()), (409, Some("booking_used")), "{used}");
    }
    let (_, queue) = hub.get("/api/v1/queue").await?;
    assert_eq!(queue.as_array().map(Vec::len), Some(1), "one ticket: {queue}");

    // The site comes back: the check-in reaches it, and the pull agrees.
    site.start_again().await?;
    site_status(&site, &code, &id, "checked_in").await?;
    let entry = held(&hub, &code, &start).await?;
    assert_eq!((entry["status"].as_str(), &entry["ticket"]), (Some("checked_in"), &ticket["id"]));
    let checked_in = site_booking(&site, &code, &id).await?;
    assert!(checked_in.get("checkin_token").is_none(), "no token once checked in: {checked_in}");
    assert!(!hub.log().contains("panicked"), "{}", hub.log());
    Ok(())
}

/// Two kiosks check one booking in at the same moment (a visitor who scanned at both, or two
/// copies of one QR code): one ticket, and every kiosk that was answered 2xx holds that ticket;
/// another answer can only be `booking_used`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_kiosks_checking_in_one_code_at_once_make_one_ticket() -> Result<()> {
    let morning = dawr_e2e::morning_offset_s();
    let site = Site::start_with(Some(&test_site(2, 1000)), &["--clock-offset-s", &morning]).await?;
    let url = site.url("");
    let hub = Hub::start_embedded_with(&[
        "--clock-offset-s",
        &morning,
        "--appointments-url",
        &url,
        "--appointments-key",
        TEST_KEY,
        "--appointments-poll-s",
        "0.5",
    ])
    .await?;
    // Two enrolled kiosks: the demo's kiosk-1 and kiosk-2, enrolled now (taken up within seconds).
    let (second, _) = hub.device_account("kiosk-2", "kiosk", None)?;
    let known = dawr_e2e::wait_until(std::time::Duration::from_secs(10), || {
        let request =
            hub.client.get(hub.url("/api/v1/appointments")).basic_auth(&second.username, Some(&second.password));
        async move { request.send().await.is_ok_and(|r| r.status() == 200) }
    })
    .await;
    assert!(known, "the hub takes up kiosk-2");
    let accounts = [hub.device("kiosk-1")?, second];
    for (round, service) in ["A", "E", "A", "E"].into_iter().enumerate() {
        let (code, _, start) = book(&site, service, 100 + round as u32).await?;
        held(&hub, &code, &start).await?;
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let kiosks: Vec<_> = accounts
            .iter()
            .cloned()
            .map(|kiosk| {
                let (client, url, barrier) = (hub.client.clone(), hub.url("/api/v1/checkins"), barrier.clone());
                let body = json!({"code": code, "request_id": format!("{}-{round}", kiosk.device)});
                tokio::spawn(async move {
                    barrier.wait().await;
                    let request = client.post(url).basic_auth(&kiosk.username, Some(&kiosk.password));
                    let response = request.json(&body).send().await?;
                    anyhow::Ok((response.status().as_u16(), response.json::<Value>().await?))
                })
            })
            .collect();
        let mut answers = Vec::new();
        for kiosk in kiosks {
            answers.push(kiosk.await??);
        }
        let tickets: HashSet<String> =
            answers.iter().filter(|(s, _)| *s == 201).map(|(_, t)| t["id"].to_string()).collect();
        assert_eq!(tickets.len(), 1, "one ticket for one booking: {answers:?}");
        for (status, body) in &answers {
            assert!(*status == 201 || (*status == 409 && body["error"] == "booking_used"), "{answers:?}");
        }
    }
    let (_, queue) = hub.get("/api/v1/queue").await?;
    assert_eq!(queue.as_array().unwrap().len(), 4, "four bookings, four tickets: {queue}");
    assert!(!hub.log().contains("panicked"), "{}", hub.log());
    Ok(())
}

/// A booking cancelled on the site but checked in at the hub's kiosk before the hub pulled the
/// cancellation: the visitor is served (the ticket stands, in the queue), and the check-in
/// reaches the site through the hub's outbox and wins over the cancellation there (the rule in
/// ARCHITECTURE.md: "a booking checked in before that pull is served anyway"), so the site and the
/// hub end up agreeing that it was checked in, with the hub's ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_in_before_the_cancellation_reaches_the_hub_is_served_and_wins_on_the_site() -> Result<()> {
    let morning = dawr_e2e::morning_offset_s();
    let site = Site::start_with(Some(&test_site(2, 1000)), &["--clock-offset-s", &morning]).await?;
    // Booked before the hub starts, and pulled once at its start; the next pull is an hour away
    // unless a check-in wakes the link, so the cancellation cannot reach the hub before the
    // check-in does.
    let (code, id, start) = book(&site, "E", 7).await?;
    let url = site.url("");
    let hub = Hub::start_embedded_with(&[
        "--clock-offset-s",
        &morning,
        "--appointments-url",
        &url,
        "--appointments-key",
        TEST_KEY,
        "--appointments-poll-s",
        "3600",
    ])
    .await?;
    assert_eq!(held(&hub, &code, &start).await?["status"], "booked");

    let (status, cancelled) = site.post(&format!("/api/v1/bookings/{code}/cancel"), json!({"national_id": id})).await?;
    assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")), "{cancelled}");
    let (status, ticket) = hub.post("/api/v1/checkins", json!({"code": code, "request_id": "kiosk-1-1"})).await?;
    assert_eq!(status, 201, "the hub has not heard of the cancellation: {ticket}");
    assert_eq!(ticket["priority"], "appointment");

    // The check-in reaches the site (the link is woken at once) and wins over its cancellation.
    site_status(&site, &code, &id, "checked_in").await?;
    let outbox_empty = wait_until(Duration::from_secs(15), || async {
        rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))
            .and_then(|db| db.query_row("SELECT COUNT(*) FROM booking_outbox", [], |r| r.get::<_, i64>(0)))
            .is_ok_and(|n| n == 0)
    })
    .await;
    assert!(outbox_empty, "the site acknowledged the check-in:\n{}", hub.log());
    // The hub still holds it checked in with the ticket, and the visit is in the queue.
    let entry = held(&hub, &code, &start).await?;
    assert_eq!((entry["status"].as_str(), &entry["ticket"]), (Some("checked_in"), &ticket["id"]), "{entry}");
    let (status, visit) = hub.get(&format!("/api/v1/tickets/{}", ticket["id"])).await?;
    assert_eq!((status, visit["status"].as_str()), (200, Some("waiting")), "{visit}");
    let (_, queue) = hub.get("/api/v1/queue").await?;
    assert!(queue.as_array().unwrap().iter().any(|t| t["id"] == ticket["id"]), "{queue}");
    // A second check-in of the code gives no second ticket; the site refuses to cancel it now.
    let (status, again) = hub.post("/api/v1/checkins", json!({"code": code})).await?;
    assert_eq!((status, again["error"].as_str()), (409, Some("booking_used")), "{again}");
    let (status, refused) = site.post(&format!("/api/v1/bookings/{code}/cancel"), json!({"national_id": id})).await?;
    assert_eq!((status, refused["error"].as_str()), (409, Some("not_active")), "checked in: {refused}");
    site_status(&site, &code, &id, "checked_in").await?;
    assert!(!hub.log().contains("panicked"), "{}", hub.log());
    Ok(())
}

/// A booking nobody checks in: once its check-in window has closed (the hub restarted with its
/// clock past the slot's start plus `checkin_late_min`), the hub marks it a no-show, refuses a
/// late check-in, reports the no-show to the site (the site's booking says `no_show`), and the
/// manager's summary counts it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_never_checked_in_becomes_a_no_show_at_the_hub_and_on_the_site() -> Result<()> {
    let morning = dawr_e2e::morning_offset_s();
    let site = Site::start_with(Some(&test_site(2, 1000)), &["--clock-offset-s", &morning]).await?;
    let url = site.url("");
    let mut hub = Hub::start_embedded_with(&[
        "--clock-offset-s",
        &morning,
        "--appointments-url",
        &url,
        "--appointments-key",
        TEST_KEY,
        "--appointments-poll-s",
        "0.5",
    ])
    .await?;
    let (code, id, start) = book(&site, "A", 8).await?;
    assert_eq!(held(&hub, &code, &start).await?["status"], "booked");
    // Nothing happens before the window closes.
    assert_eq!(site_booking(&site, &code, &id).await?["status"], "booked");

    // Later that day: a minute after the window (15 minutes after the start) closed.
    let closed = chrono::DateTime::parse_from_rfc3339(&start)? + chrono::Duration::minutes(16);
    let offset_s = (closed.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds() as f64 / 1000.0;
    hub.restart_with(&["--clock-offset-s", &offset_s.to_string()]).await?;
    let marked = wait_until(Duration::from_secs(15), || async {
        held(&hub, &code, &start).await.is_ok_and(|b| b["status"] == "no_show")
    })
    .await;
    assert!(marked, "the hub never marked {code} a no-show:\n{}", hub.log());
    let (status, late) = hub.post("/api/v1/checkins", json!({"code": code})).await?;
    assert_eq!((status, late["error"].as_str()), (409, Some("too_late")), "{late}");
    site_status(&site, &code, &id, "no_show").await?;

    let token = manager_token(&hub).await?;
    let day = dawr_e2e::appointments::local_date(&start)?;
    let response = hub
        .client
        .get(hub.url(&format!("/api/v1/reports/summary?from={day}&to={day}")))
        .bearer_auth(token)
        .send()
        .await?;
    assert_eq!(response.status(), 200);
    let summary: Value = response.json().await?;
    assert_eq!(summary["appointments"]["no_shows"], 1, "{summary}");
    assert_eq!(summary["appointments"]["checked_in"], 0, "{summary}");
    assert!(!hub.log().contains("panicked"), "{}", hub.log());
    Ok(())
}

/// The site's booking as its citizen looks it up.
async fn site_booking(site: &Site, code: &str, id: &str) -> Result<Value> {
    let (status, booking) = site.post(&format!("/api/v1/bookings/{code}/lookup"), json!({"national_id": id})).await?;
    assert_eq!(status, 200, "{booking}");
    Ok(booking)
}

/// The demo manager's (m001's) session token.
async fn manager_token(hub: &Hub) -> Result<String> {
    let body = dawr_protocol::api::sessions::SignIn { staff: "m001".into(), pin: "2468".into(), counter: None };
    let session: dawr_protocol::api::sessions::Session =
        hub.client.post(hub.url("/api/v1/sessions")).json(&body).send().await?.json().await?;
    Ok(session.token)
}
