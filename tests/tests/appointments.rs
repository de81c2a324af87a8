//! The appointments site as a real process: the JSON API as documented, the capacity rule under
//! 50 concurrent requests (on SQLite, and on PostgreSQL with three replicas), the forms without
//! JavaScript, rate limiting (per IPv4 address, per IPv6 /64, `X-Forwarded-For` only from a
//! trusted proxy), the branch feed, and bookings confirmed by a one-time code sent by SMS.
use std::time::Duration;

use anyhow::Result;
use dawr_appointments::validate::national_id_from;
use dawr_e2e::appointments::{
    Audit, Site, TEST_KEY, audit_postgres, audit_sqlite, citizen_id, example_booking, local_date, sent_code, test_site,
    with_sms_codes,
};
use dawr_e2e::ministry::Postgres;
use dawr_e2e::smsc::Smsc;
use serde_json::{Value, json};

fn booking(start: &str, service: &str, n: u32) -> Value {
    example_booking(start, service, n)
}

/// The site's clock can be shifted like the hub's (`--clock-offset-s`, or `DAWR_CLOCK_OFFSET_S`
/// for both): three days on, the next free slot is in the past there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sites_clock_offset_moves_what_is_past() -> Result<()> {
    let site = Site::start(Some(&test_site(1, 1000))).await?;
    let (start, _) = site.first_free_slot("E").await?;
    let now_offset_s = (dawr_e2e::services_now() - chrono::Utc::now()).num_seconds();
    let later = (now_offset_s + 3 * 86_400).to_string();
    let shifted = Site::start_with(Some(&test_site(1, 1000)), &["--clock-offset-s", &later]).await?;
    let (status, e) = shifted.post("/api/v1/bookings", booking(&start, "E", 1)).await?;
    assert_eq!((status, e["error"].as_str()), (400, Some("slot_past")), "{}", shifted.log());
    let (status, booked) = site.post("/api/v1/bookings", booking(&start, "E", 1)).await?;
    assert_eq!(status, 201, "the same slot is free on the unshifted site: {booked}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_books_finds_moves_and_cancels_with_code_and_id() -> Result<()> {
    let site = Site::start(Some(&test_site(1, 1000))).await?;
    let (status, branches) = site.get("/api/v1/branches").await?;
    assert_eq!((status, branches[0]["id"].as_str()), (200, Some("demo")));
    let (_, services) = site.get("/api/v1/branches/demo/services").await?;
    assert_eq!(services[1]["code"], "E");
    assert_eq!(services[1]["capacity"], 1);

    let (start, available) = site.first_free_slot("E").await?;
    assert_eq!(available, 1);
    let (status, booked) = site.post("/api/v1/bookings", booking(&start, "E", 7)).await?;
    assert_eq!(status, 201, "{booked}");
    let code = booked["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 8);
    assert_eq!(booked["phone"], "+966551234567");
    let id = citizen_id(7);
    assert_eq!(booked["national_id"].as_str(), Some(format!("••••••{}", &id[6..]).as_str()), "masked");
    assert_eq!(booked["status"], "booked");

    // The slot now shows no place left, and another booking for it is refused.
    let date = local_date(&start)?;
    let (_, slots) = site.get(&format!("/api/v1/branches/demo/services/E/slots?date={date}")).await?;
    let slot = slots["slots"].as_array().unwrap().iter().find(|s| s["start"] == start.as_str()).unwrap().clone();
    assert_eq!((slot["capacity"].as_u64(), slot["available"].as_u64()), (Some(1), Some(0)));
    let (status, full) = site.post("/api/v1/bookings", booking(&start, "E", 8)).await?;
    assert_eq!((status, full["error"].as_str()), (409, Some("slot_full")));

    // Lookup needs the code and the ID number it was made with.
    let (status, wrong) = site
        .post(&format!("/api/v1/bookings/{code}/lookup"), json!({"national_id": national_id_from(8, false)}))
        .await?;
    assert_eq!((status, wrong["error"].as_str()), (404, Some("unknown_booking")));
    let (status, found) =
        site.post(&format!("/api/v1/bookings/{}/lookup", code.to_lowercase()), json!({"national_id": id})).await?;
    assert_eq!((status, found["code"].as_str()), (200, Some(code.as_str())), "codes are case-insensitive");

    // The calendar file.
    let ics = site.client.get(found["ics_url"].as_str().unwrap()).send().await?;
    assert_eq!(ics.headers()["content-type"], "text/calendar; charset=utf-8");
    let ics = ics.text().await?;
    assert!(ics.starts_with("BEGIN:VCALENDAR\r\n") && ics.contains("DTSTART:"), "{ics}");

    // Reschedule to the next slot, then the old one is free again.
    let next = (chrono::DateTime::parse_from_rfc3339(&start)? + chrono::Duration::minutes(15)).to_rfc3339();
    let (status, moved) =
        site.post(&format!("/api/v1/bookings/{code}/reschedule"), json!({"national_id": id, "start": next})).await?;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(moved["start"].as_str().unwrap())?,
        chrono::DateTime::parse_from_rfc3339(&next)?
    );
    let (status, _) = site.post("/api/v1/bookings", booking(&start, "E", 8)).await?;
    assert_eq!(status, 201, "the old place is free");
    let (status, taken) =
        site.post(&format!("/api/v1/bookings/{code}/reschedule"), json!({"national_id": id, "start": start})).await?;
    assert_eq!((status, taken["error"].as_str()), (409, Some("slot_full")));

    // Cancel; twice is harmless; a cancelled booking cannot be moved.
    for _ in 0..2 {
        let (status, cancelled) =
            site.post(&format!("/api/v1/bookings/{code}/cancel"), json!({"national_id": id})).await?;
        assert_eq!((status, cancelled["status"].as_str()), (200, Some("cancelled")));
    }
    let (status, refused) =
        site.post(&format!("/api/v1/bookings/{code}/reschedule"), json!({"national_id": id, "start": next})).await?;
    assert_eq!((status, refused["error"].as_str()), (409, Some("not_active")));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_get_4xx_json_never_a_server_error() -> Result<()> {
    let site = Site::start(Some(&test_site(2, 1000))).await?;
    let (start, _) = site.first_free_slot("A").await?;
    let mut bad_id = booking(&start, "A", 1);
    bad_id["national_id"] = json!("1000000009");
    let (status, e) = site.post("/api/v1/bookings", bad_id).await?;
    assert_eq!((status, e["error"].as_str(), e["field"].as_str()), (400, Some("invalid_field"), Some("national_id")));
    let mut bad_phone = booking(&start, "A", 1);
    bad_phone["phone"] = json!("0451234567");
    let (status, e) = site.post("/api/v1/bookings", bad_phone).await?;
    assert_eq!((status, e["field"].as_str()), (400, Some("phone")));
    let (status, e) = site.post("/api/v1/bookings", booking("2020-01-01T05:00:00Z", "A", 1)).await?;
    assert_eq!((status, e["error"].as_str()), (400, Some("slot_past")));
    let (status, e) = site.post("/api/v1/bookings", booking("2026-13-45T99:00:00Z", "A", 1)).await?;
    assert_eq!((status, e["error"].as_str()), (400, Some("not_a_slot")));
    let far = (dawr_e2e::services_now() + chrono::Duration::days(40)).format("%Y-%m-%dT06:00:00Z").to_string();
    let (status, e) = site.post("/api/v1/bookings", booking(&far, "A", 1)).await?;
    assert_eq!((status, e["error"].as_str()), (400, Some("beyond_horizon")));
    let (status, e) = site.post("/api/v1/bookings", booking(&start, "Z", 1)).await?;
    assert_eq!((status, e["error"].as_str()), (404, Some("unknown_service")));
    // One active booking per ID number per service per day: two slots of one local day
    // (tomorrow 10:00 and 10:15 in Riyadh, 07:00 and 07:15 UTC).
    let tomorrow = (dawr_e2e::services_now() + chrono::Duration::hours(3) + chrono::Duration::days(1)).date_naive();
    let (ten, quarter_past) = (format!("{tomorrow}T07:00:00Z"), format!("{tomorrow}T07:15:00Z"));
    assert_eq!(site.post("/api/v1/bookings", booking(&ten, "A", 1)).await?.0, 201);
    let (status, e) = site.post("/api/v1/bookings", booking(&quarter_past, "A", 1)).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("not_bookable")));
    assert!(!e["message"].as_str().unwrap_or_default().contains("ID"), "generic: {e}");
    assert!(e.get("field").is_none(), "no field named: {e}");
    let mut not_json = Vec::new();
    for (method, path, body) in [
        ("POST", "/api/v1/bookings", "not json"),
        ("POST", "/api/v1/bookings", ""),
        ("POST", "/api/v1/bookings", "{\"branch\": 5}"),
        ("GET", "/api/v1/branches/demo/services/A/slots?date=yesterday", ""),
        ("GET", "/api/v1/branches/demo/services/A/slots", ""),
        ("GET", "/api/v1/branches/nowhere/services", ""),
        ("POST", "/api/v1/bookings/%00%FF/lookup", "{\"national_id\": \"x\"}"),
        ("POST", "/api/v1/bookings/ABC/cancel", "[]"),
        ("GET", "/api/v1/bookings", ""),
        ("GET", "/c/not-a-token", ""),
        ("GET", "/c/0123456789abcdef0123456789abcdef/booking.ics", ""),
        ("POST", "/b/demo/A", "%%%=&&"),
        ("POST", "/manage", ""),
        ("GET", "/b/nowhere/A", ""),
    ] {
        let request = match method {
            "GET" => site.client.get(site.url(path)),
            _ => site
                .client
                .post(site.url(path))
                .header(
                    "content-type",
                    if path.starts_with("/api") { "application/json" } else { "application/x-www-form-urlencoded" },
                )
                .body(body),
        };
        let response = request.send().await?;
        let status = response.status();
        assert!(status.is_client_error(), "{method} {path} {body:?}: {status}");
        if path.starts_with("/api") {
            // The API's mistakes are the contract's JSON error.
            let error: Value = response.json().await.unwrap_or(Value::Null);
            if !(error["error"].as_str().is_some_and(|e| !e.is_empty()) && error["message"].is_string()) {
                not_json.push(format!("{method} {path} {body:?}: {status}"));
            }
        }
    }
    assert!(not_json.is_empty(), "API errors without the JSON error body: {not_json:#?}");
    // The branch feed needs the branch's key.
    let url = site.url(&format!("/api/v1/branches/demo/bookings?date={tomorrow}"));
    let (status, e) = site.get(&format!("/api/v1/branches/demo/bookings?date={tomorrow}")).await?;
    assert_eq!((status, e["error"].as_str()), (401, Some("unauthorized")));
    let wrong = site.client.get(&url).bearer_auth("nope-nope").send().await?;
    assert_eq!(wrong.status(), 401);
    let feed: Value = site.client.get(&url).bearer_auth(TEST_KEY).send().await?.json().await?;
    assert_eq!(feed.as_array().map(Vec::len), Some(1), "{feed}");
    assert!(feed[0].get("national_id").is_none(), "the branch gets no personal data");
    let doc: Value = site.client.get(site.url("/api/openapi.json")).send().await?.json().await?;
    assert!(doc["paths"]["/api/v1/bookings"]["post"].is_object());
    assert!(!site.log().contains("panicked"), "{}", site.log());
    Ok(())
}

/// 50 citizens press "book" at the same moment for a slot with one place left, through two
/// site processes on one database file: only the database's transaction (not a lock inside one
/// process) can keep them from both taking the last place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_requests_for_the_last_place_make_exactly_one_booking() -> Result<()> {
    let site = Site::start(Some(&test_site(3, 1000))).await?;
    let second = site.another_on_the_same_database().await?;
    let (start, available) = site.first_free_slot("E").await?;
    assert_eq!(available, 3);
    for n in 0..2 {
        assert_eq!(site.post("/api/v1/bookings", booking(&start, "E", 1000 + n)).await?.0, 201);
    }
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(50));
    let tasks: Vec<_> = (0..50)
        .map(|n| {
            let via = if n % 2 == 0 { &site } else { &second };
            let (client, url, body, barrier) =
                (via.client.clone(), via.url("/api/v1/bookings"), booking(&start, "E", 2000 + n), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = client.post(url).json(&body).send().await?;
                let status = resp.status().as_u16();
                let body: Value = resp.json().await?;
                anyhow::Ok((status, body["error"].as_str().unwrap_or_default().to_string()))
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await??);
    }
    let created = results.iter().filter(|(s, _)| *s == 201).count();
    let full = results.iter().filter(|(s, e)| *s == 409 && e == "slot_full").count();
    assert_eq!((created, full), (1, 49), "{results:?}");
    let date = local_date(&start)?;
    let (_, slots) = site.get(&format!("/api/v1/branches/demo/services/E/slots?date={date}")).await?;
    let slot = slots["slots"].as_array().unwrap().iter().find(|s| s["start"] == start.as_str()).unwrap().clone();
    assert_eq!(slot["available"], 0);
    let feed: Value = site
        .client
        .get(site.url(&format!("/api/v1/branches/demo/bookings?date={date}")))
        .bearer_auth(TEST_KEY)
        .send()
        .await?
        .json()
        .await?;
    let in_slot = feed.as_array().unwrap().iter().filter(|b| b["start"] == start.as_str()).count();
    assert_eq!(in_slot, 3, "exactly the capacity is stored");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_work_without_javascript_and_say_what_is_wrong_in_the_page_language() -> Result<()> {
    let site = Site::start(Some(&test_site(2, 1000))).await?;
    let (start, _) = site.first_free_slot("A").await?;
    let form = |lang: &str, id: &str, phone: &str| {
        vec![
            ("lang", lang.to_string()),
            ("start", start.clone()),
            ("name", "نورة الشمري".to_string()),
            ("national_id", id.to_string()),
            ("phone", phone.to_string()),
        ]
    };
    let resp = site.client.post(site.url("/b/demo/A")).form(&form("ar", "1000000009", "0451234567")).send().await?;
    assert_eq!(resp.status(), 400);
    let html = resp.text().await?;
    assert!(html.contains("<html lang=\"ar\" dir=\"rtl\">"));
    assert!(html.contains("رقم الهوية غير صحيح"), "the ID's error in Arabic");
    assert!(html.contains("أدخل رقم جوال سعوديًا"), "the phone's error in Arabic");
    assert!(html.contains("value=\"نورة الشمري\""), "what was typed is kept");
    let radio = chrono::DateTime::parse_from_rfc3339(&start)?.with_timezone(&chrono::Utc).to_rfc3339();
    let chosen = html.split(&format!("value=\"{radio}\"")).nth(1).and_then(|s| s.split('>').next()).unwrap_or_default();
    assert!(chosen.contains("checked"), "the chosen time is kept: {chosen}");
    let resp = site.client.post(site.url("/b/demo/A")).form(&form("en", "1000000008", "0451234567")).send().await?;
    let html = resp.text().await?;
    assert!(html.contains("Enter a Saudi mobile number") && !html.contains("This ID number is not valid"));

    let id = national_id_from(42, false);
    let resp = site.client.post(site.url("/b/demo/A")).form(&form("en", &id, "+966 55 123 4567")).send().await?;
    assert_eq!(resp.status(), 303);
    let page = resp.headers()["location"].to_str()?.to_string();
    assert!(page.starts_with("/c/") && page.ends_with("lang=en&new=1"), "{page}");
    let resp = site.client.get(site.url(&page)).send().await?;
    assert_eq!(resp.headers()["cache-control"], "no-store", "a booking page is private");
    assert!(resp.headers()["content-security-policy"].to_str()?.contains("default-src 'none'"));
    let html = resp.text().await?;
    assert!(html.contains("Your appointment is booked") && html.contains("<svg role=\"img\""));
    let code = html.split("id=\"code\" dir=\"ltr\">").nth(1).and_then(|s| s.split('<').next()).unwrap().to_string();
    // Find it again with the code and the ID number.
    let resp = site
        .client
        .post(site.url("/manage"))
        .form(&[("lang", "en"), ("code", &code), ("national_id", &id)])
        .send()
        .await?;
    assert_eq!(resp.status(), 303);
    assert_eq!(resp.headers()["location"].to_str()?, page.replace("&new=1", ""));
    let resp = site
        .client
        .post(site.url("/manage"))
        .form(&[("lang", "ar"), ("code", &code), ("national_id", "1000000008")])
        .send()
        .await?;
    assert_eq!(resp.status(), 404);
    assert!(resp.text().await?.contains("لا يوجد حجز بهذا الرمز ورقم الهوية"));
    Ok(())
}

/// `test_site` trusting `X-Forwarded-For` from these proxy ranges.
fn site_behind(proxies: &str, burst: u32) -> String {
    let text = test_site(2, burst);
    text.replacen(
        &format!("per_minute = {burst}\n"),
        &format!("per_minute = {burst}\ntrusted_proxies = {proxies}\n"),
        1,
    )
}

/// Lookups through the manage form, each claiming to come from `forwarded`: their statuses.
async fn lookups(site: &Site, forwarded: &[String]) -> Result<Vec<u16>> {
    let mut statuses = Vec::new();
    for from in forwarded {
        let resp = site
            .client
            .post(site.url("/manage"))
            .header("x-forwarded-for", from)
            .form(&[("lang", "ar"), ("code", "AAAAAAAA"), ("national_id", "1000000008")])
            .send()
            .await?;
        statuses.push(resp.status().as_u16());
    }
    Ok(statuses)
}

/// Past its burst an address is refused 429, on a page and in the API, each with `Retry-After`
/// (when it earns a request back).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_is_slowed_down_after_its_burst() -> Result<()> {
    // The site trusts a proxy range the test's address (127.0.0.1) is not in: a forged
    // forwarded address changes nothing, every request counts against 127.0.0.1.
    let site = Site::start(Some(&site_behind(r#"["10.0.0.0/8", "fd00::/8"]"#, 3))).await?;
    let forged: Vec<String> = (0..5).map(|i| format!("203.0.113.{i}")).collect();
    assert_eq!(lookups(&site, &forged).await?, [404, 404, 404, 429, 429]);
    // The refused page and API answer say when to ask again: three a minute, one back in 20 s.
    let form = [("lang", "en"), ("code", "AAAAAAAA"), ("national_id", "1000000008")];
    let page = site.client.post(site.url("/manage")).form(&form).send().await?;
    assert_eq!((page.status().as_u16(), retry_after(&page)), (429, Some("20")));
    assert!(page.text().await?.contains("Too many attempts from your connection"));
    let citizen = dawr_protocol::api::bookings::Citizen { national_id: "1000000008".into(), start: None };
    let api = site.client.post(site.url("/api/v1/bookings/AAAAAAAA/lookup")).json(&citizen).send().await?;
    assert_eq!((api.status().as_u16(), retry_after(&api)), (429, Some("20")));
    let e: dawr_protocol::api::ApiError = api.json().await?;
    assert_eq!(e.error, "rate_limited");
    Ok(())
}

/// A response's `Retry-After`.
fn retry_after(resp: &reqwest::Response) -> Option<&str> {
    resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok())
}

/// Behind a trusted proxy (here 127.0.0.1) the client is the forwarded address, and an IPv6
/// client is its /64: five addresses of one /64 share one burst, the next /64 has its own, and
/// an IPv4 client its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_trusted_proxy_an_ipv6_client_is_its_64() -> Result<()> {
    let site = Site::start(Some(&site_behind(r#"["127.0.0.1/32"]"#, 3))).await?;
    let same_64: Vec<String> = (1..=5).map(|i| format!("2001:db8:7:1::{i:x}")).collect();
    assert_eq!(lookups(&site, &same_64).await?, [404, 404, 404, 429, 429]);
    let next_64 = vec!["2001:db8:7:2::1".to_string(), "198.51.100.4, 2001:db8:7:2::2".into()];
    assert_eq!(lookups(&site, &next_64).await?, [404, 404], "another /64 (the nearest hop counts)");
    let v4: Vec<String> = (0..4).map(|_| "198.51.100.4".to_string()).collect();
    assert_eq!(lookups(&site, &v4).await?, [404, 404, 404, 429], "an IPv4 client has its own");
    Ok(())
}

/// The slots of service `service` on `date` with a free place, through `site`.
async fn free_slots(site: &Site, service: &str, date: chrono::NaiveDate) -> Result<Vec<String>> {
    let (_, slots) = site.get(&format!("/api/v1/branches/demo/services/{service}/slots?date={date}")).await?;
    Ok(slots["slots"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["available"].as_u64() > Some(0))
        .filter_map(|s| s["start"].as_str().map(str::to_string))
        .collect())
}

/// `[limits] bookings_per_mobile = 2` on three PostgreSQL replicas: six bookings of one mobile
/// (six ID numbers, six slots) at once make exactly two; the rest get the same generic refusal
/// as a second booking of one ID number, and another mobile still books.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_one_mobile_holds_at_most_its_limit_across_replicas() -> Result<()> {
    let postgres = Postgres::start()?;
    let url = postgres.url();
    let config = test_site(3, 1000).replace("[limits]\n", "[limits]\nbookings_per_mobile = 2\n");
    assert!(config.contains("bookings_per_mobile = 2"), "{config}");
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Site::start_with(Some(&config), &["--postgres", &url]).await?);
    }
    let all: Vec<&Site> = replicas.iter().collect();
    // Tomorrow's slots: all still ahead whatever the hour.
    let (first, _) = all[0].first_free_slot("A").await?;
    let date = local_date(&first)? + chrono::Duration::days(1);
    let mut six = free_slots(all[0], "A", date).await?;
    six.truncate(6);
    assert_eq!(six.len(), 6, "six free slots of A on {date}");
    let bodies = six.iter().enumerate().map(|(i, s)| booking(s, "A", 4000 + i as u32)).collect();
    let race = at_once(&all, bodies).await?;
    let created = race.iter().filter(|(s, _)| *s == 201).count();
    assert_eq!(created, 2, "{race:?}");
    assert!(race.iter().all(|(s, e)| *s == 201 || (*s == 409 && e == "not_bookable")), "{race:?}");
    let mut other = booking(&six[5], "A", 4010);
    other["phone"] = json!("0561234567");
    assert_eq!(all[2].post("/api/v1/bookings", other).await?.0, 201, "another mobile books");
    Ok(())
}

/// Sends `bodies` at once, each through the replica of its index (round the list): the statuses
/// and error codes.
async fn at_once(replicas: &[&Site], bodies: Vec<Value>) -> Result<Vec<(u16, String)>> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(bodies.len()));
    let tasks: Vec<_> = bodies
        .into_iter()
        .enumerate()
        .map(|(i, body)| {
            let via = replicas[i % replicas.len()];
            let (client, url, barrier) = (via.client.clone(), via.url("/api/v1/bookings"), barrier.clone());
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = client.post(url).json(&body).send().await?;
                let status = resp.status().as_u16();
                let body: Value = resp.json().await?;
                anyhow::Ok((status, body["error"].as_str().unwrap_or_default().to_string()))
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await??);
    }
    Ok(results)
}

/// Three site processes on one PostgreSQL database, as replicas behind a load balancer: 50
/// citizens race for the last place of a slot (exactly one gets it), one ID number sent to the
/// three at once for three slots of a day gets one booking, a cancellation and a move through
/// one replica are seen by another, and the slot rows agree with the bookings throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_three_replicas_book_exactly_the_capacity() -> Result<()> {
    let postgres = Postgres::start()?;
    let url = postgres.url();
    let config = test_site(3, 1000);
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Site::start_with(Some(&config), &["--postgres", &url]).await?);
    }
    let all: Vec<&Site> = replicas.iter().collect();
    let (start, available) = all[0].first_free_slot("E").await?;
    assert_eq!(available, 3);
    let mut early = Vec::new();
    for n in 0..2 {
        let (status, booked) = all[1 + n].post("/api/v1/bookings", booking(&start, "E", 1000 + n as u32)).await?;
        assert_eq!(status, 201, "{booked}");
        early.push(booked["code"].as_str().unwrap_or_default().to_string());
    }
    let race = at_once(&all, (0..50).map(|n| booking(&start, "E", 2000 + n)).collect()).await?;
    let created = race.iter().filter(|(s, _)| *s == 201).count();
    let full = race.iter().filter(|(s, e)| *s == 409 && e == "slot_full").count();
    assert_eq!((created, full), (1, 49), "{race:?}");
    // Every replica shows the slot full within a second (its availability cache's age).
    let date = local_date(&start)?;
    for site in &all {
        let shown_full = dawr_e2e::wait_until(Duration::from_secs(3), || async {
            free_slots(site, "E", date).await.is_ok_and(|free| !free.contains(&start))
        })
        .await;
        assert!(shown_full, "a replica still offers the full slot:\n{}", site.log());
    }

    // One ID number, three slots of one day, three replicas at once: one booking.
    let tomorrow = date + chrono::Duration::days(1);
    let three: Vec<String> = free_slots(all[0], "A", tomorrow).await?.into_iter().take(3).collect();
    assert_eq!(three.len(), 3);
    let same_id = at_once(&all, three.iter().map(|s| booking(s, "A", 3000)).collect()).await?;
    let refused: Vec<_> = same_id.iter().filter(|(s, _)| *s != 201).collect();
    assert_eq!(same_id.len() - refused.len(), 1, "{same_id:?}");
    assert!(refused.iter().all(|(s, e)| *s == 409 && e == "not_bookable"), "{same_id:?}");

    // A cancellation through one replica frees the place for a booking through another.
    let (_, first) = all[1].post("/api/v1/bookings", booking(&three[0], "A", 3001)).await?;
    let code = first["code"].as_str().unwrap_or_default().to_string();
    let cancel = json!({"national_id": citizen_id(3001)});
    assert_eq!(all[2].post(&format!("/api/v1/bookings/{code}/cancel"), cancel).await?.0, 200);
    // A move through another replica takes the new place and gives the old one back.
    let (_, moving) = all[0].post("/api/v1/bookings", booking(&three[1], "A", 3002)).await?;
    let code = moving["code"].as_str().unwrap_or_default().to_string();
    let to = json!({"national_id": citizen_id(3002), "start": three[2]});
    let (status, moved) = all[1].post(&format!("/api/v1/bookings/{code}/reschedule"), to).await?;
    assert_eq!(status, 200, "{moved}");
    let audit = audit_postgres(&url).await?;
    assert_eq!(audit, Audit { active: 3 + 1 + 1, over_capacity: 0, miscounted: 0, doubled_ids: 0 }, "{audit:?}");
    let feed: Value = all[2]
        .client
        .get(all[2].url(&format!("/api/v1/branches/demo/bookings?date={date}")))
        .bearer_auth(TEST_KEY)
        .send()
        .await?
        .json()
        .await?;
    let in_slot = feed.as_array().unwrap().iter().filter(|b| b["start"] == start.as_str()).count();
    assert_eq!(in_slot, 3, "exactly the capacity is stored");

    // A cancellation the hub has not pulled keeps its place (the hub could still check the
    // booking in from its token); the hub's pull through another replica gives it back.
    let cancel = json!({"national_id": citizen_id(1000)});
    assert_eq!(all[0].post(&format!("/api/v1/bookings/{}/cancel", early[0]), cancel).await?.0, 200);
    let (status, e) = all[1].post("/api/v1/bookings", booking(&start, "E", 5000)).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("slot_full")), "held until pulled: {e}");
    hub_pulls(all[2], date).await?;
    let freed = dawr_e2e::wait_until(Duration::from_secs(5), || async {
        matches!(all[1].post("/api/v1/bookings", booking(&start, "E", 5001)).await, Ok((201, _)))
    })
    .await;
    assert!(freed, "the pulled cancellation's place is booked again");

    // A day the branch closed for A takes no booking of A through any replica (the closure is
    // checked in the booking's own statement); E that day still books.
    let later = date + chrono::Duration::days(2);
    let (a_later, e_later) = (free_slots(all[0], "A", later).await?, free_slots(all[0], "E", later).await?);
    assert!(!a_later.is_empty() && !e_later.is_empty());
    let closure = json!({"day": later, "service": "A"});
    let url_closures = all[0].url("/api/v1/branches/demo/closures");
    let closed = all[0].client.post(url_closures).bearer_auth(TEST_KEY).json(&closure).send().await?;
    assert_eq!(closed.status(), 200, "{}", closed.text().await?);
    for (n, site) in all.iter().enumerate() {
        let (status, e) = site.post("/api/v1/bookings", booking(&a_later[n], "A", 6000 + n as u32)).await?;
        assert_eq!((status, e["error"].as_str()), (409, Some("slot_full")), "a closed day: {e}");
    }
    assert_eq!(all[1].post("/api/v1/bookings", booking(&e_later[0], "E", 6100)).await?.0, 201);
    let audit = audit_postgres(&url).await?;
    assert_eq!((audit.over_capacity, audit.miscounted), (0, 0), "{audit:?}");
    Ok(())
}

/// The branch's hub pulls `date` from `site`.
async fn hub_pulls(site: &Site, date: chrono::NaiveDate) -> Result<Value> {
    let url = site.url(&format!("/api/v1/branches/demo/bookings?date={date}"));
    Ok(site.client.get(url).bearer_auth(TEST_KEY).send().await?.error_for_status()?.json().await?)
}

/// A cancelled booking keeps its place until the branch's hub has pulled its day since: until
/// then the hub, link down, could still check it in from its signed token and be the place's
/// second holder. A check-in of it reported after all takes no second place.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancellation_keeps_its_place_until_the_hub_has_pulled_it() -> Result<()> {
    let site = Site::start(Some(&test_site(1, 1000))).await?;
    let (start, _) = site.first_free_slot("E").await?;
    let date = local_date(&start)?;
    let (_, booked) = site.post("/api/v1/bookings", booking(&start, "E", 1)).await?;
    let code = booked["code"].as_str().unwrap_or_default().to_string();
    let cancel = json!({"national_id": citizen_id(1)});
    assert_eq!(site.post(&format!("/api/v1/bookings/{code}/cancel"), cancel).await?.0, 200);
    let (status, e) = site.post("/api/v1/bookings", booking(&start, "E", 2)).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("slot_full")), "held: {e}");
    assert!(shows_available(&site, "E", &start, 0).await?, "the slot still shows no place");

    // The hub, not having pulled the cancellation, checked the booking in: it wins, on its own
    // held place, and the place is not freed twice.
    let report = json!({"status": "checked_in", "at": chrono::Utc::now()});
    let path = format!("/api/v1/branches/demo/bookings/{code}/report");
    let reported = site.client.post(site.url(&path)).bearer_auth(TEST_KEY).json(&report).send().await?;
    assert_eq!(reported.status().as_u16(), 200);
    let pulled = hub_pulls(&site, date).await?;
    assert!(pulled.as_array().into_iter().flatten().any(|b| b["code"] == code.as_str() && b["status"] == "checked_in"));
    let audit = audit_sqlite(&site.data_dir)?;
    assert_eq!((audit.over_capacity, audit.miscounted), (0, 0), "{audit:?}");
    assert_eq!(site.post("/api/v1/bookings", booking(&start, "E", 2)).await?.0, 409, "still one place, taken");

    // Another slot: cancelled, then pulled: the place goes back.
    let next = free_slots(&site, "E", date).await?.into_iter().find(|s| *s != start).unwrap_or_default();
    let (_, booked) = site.post("/api/v1/bookings", booking(&next, "E", 3)).await?;
    let code = booked["code"].as_str().unwrap_or_default().to_string();
    let cancel = json!({"national_id": citizen_id(3)});
    assert_eq!(site.post(&format!("/api/v1/bookings/{code}/cancel"), cancel).await?.0, 200);
    assert_eq!(site.post("/api/v1/bookings", booking(&next, "E", 4)).await?.0, 409);
    let pulled = hub_pulls(&site, date).await?;
    assert!(pulled.as_array().into_iter().flatten().any(|b| b["code"] == code.as_str() && b["status"] == "cancelled"));
    let (status, rebooked) = site.post("/api/v1/bookings", booking(&next, "E", 4)).await?;
    assert_eq!(status, 201, "{rebooked}");
    let audit = audit_sqlite(&site.data_dir)?;
    assert_eq!((audit.over_capacity, audit.miscounted, audit.doubled_ids), (0, 0, 0), "{audit:?}");
    Ok(())
}

/// The places of `start`'s slot of `service` left, as the slots list shows them once its cache
/// (a second) has caught up with `expected`.
async fn shows_available(site: &Site, service: &str, start: &str, expected: u64) -> Result<bool> {
    let date = local_date(start)?;
    let path = format!("/api/v1/branches/demo/services/{service}/slots?date={date}");
    Ok(dawr_e2e::wait_until(Duration::from_secs(5), || async {
        let Ok((_, slots)) = site.get(&path).await else { return false };
        let slot = slots["slots"].as_array().into_iter().flatten().find(|s| s["start"] == start);
        slot.is_some_and(|s| s["available"].as_u64() == Some(expected))
    })
    .await)
}

/// `[sms] confirm_bookings`: a booking is held (its place taken) and a code sent through the
/// SMSC; the hub is offered nothing until the right code makes the booking, on the place the
/// hold took (counted once). Wrong and malformed codes, a used code, an unknown hold; the same
/// ID number a second time that day is refused with the generic answer only after the code,
/// and gives its place back; a mobile is sent three codes an hour.
async fn bookings_confirmed_by_code(site: &Site, smsc: &Smsc) -> Result<()> {
    let mobile = "966551234567";
    let (start, available) = site.first_free_slot("E").await?;
    assert_eq!(available, 2);
    let (status, hold) = site.post("/api/v1/bookings", booking(&start, "E", 1)).await?;
    assert_eq!(status, 202, "held, not booked: {hold}\n{}", site.log());
    assert_eq!(hold["mobile"], "05•••••567");
    let confirm = hold["confirm_url"].as_str().unwrap_or_default().replace(&site.url(""), "");
    assert!(confirm.starts_with("/api/v1/holds/"), "{hold}");
    assert!(shows_available(site, "E", &start, 1).await?, "the held place is taken while the code is pending");
    let day = local_date(&start)?;
    let feed = |site: &Site| {
        let request = site.client.get(site.url(&format!("/api/v1/branches/demo/bookings?date={day}")));
        request.bearer_auth(TEST_KEY).send()
    };
    let pulled: Value = feed(site).await?.json().await?;
    assert_eq!(pulled, json!([]), "a hold is not a booking the hub could pull");

    let code = sent_code(smsc, mobile, 1).await?;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let (status, e) = site.post(&confirm, json!({"code": wrong})).await?;
    assert_eq!((status, e["error"].as_str()), (400, Some("wrong_code")), "{e}");
    let (status, e) = site.post(&confirm, json!({"code": "12a"})).await?;
    assert_eq!((status, e["field"].as_str()), (400, Some("code")), "{e}");
    let arabic_digits: String =
        code.chars().filter_map(|c| char::from_u32(c as u32 - '0' as u32 + '٠' as u32)).collect();
    let (status, booked) = site.post(&confirm, json!({"code": arabic_digits})).await?;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(booked["status"], "booked");
    let token = booked["checkin_token"].as_str().unwrap_or_default();
    let key = site.signing_key()?.verifying_key();
    assert_eq!(dawr_protocol::booking_token::verify(&[key], token)?.code, booked["code"].as_str().unwrap_or_default());
    let (status, e) = site.post(&confirm, json!({"code": code})).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("code_used")), "{e}");
    assert!(shows_available(site, "E", &start, 1).await?, "confirmed on the held place: counted once");
    let pulled: Value = feed(site).await?.json().await?;
    assert_eq!(pulled.as_array().map(Vec::len), Some(1), "{pulled}");

    // The same ID number again that day: held like any other (nothing told before the code),
    // then the generic refusal, and the place goes back.
    let second_start = free_slots(site, "E", day).await?.into_iter().find(|s| *s != start).unwrap_or_default();
    let again = booking(&second_start, "E", 1);
    let (status, hold) = site.post("/api/v1/bookings", again).await?;
    assert_eq!(status, 202, "{hold}");
    let code = sent_code(smsc, mobile, 2).await?;
    let confirm = hold["confirm_url"].as_str().unwrap_or_default().replace(&site.url(""), "");
    let (status, e) = site.post(&confirm, json!({"code": code})).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("not_bookable")), "{e}");
    assert!(shows_available(site, "E", &second_start, 2).await?, "the refused hold gave its place back");

    // The third code to the mobile this hour goes; the fourth is refused.
    assert_eq!(site.post("/api/v1/bookings", booking(&second_start, "E", 3)).await?.0, 202);
    sent_code(smsc, mobile, 3).await?;
    let resp = site.client.post(site.url("/api/v1/bookings")).json(&booking(&second_start, "E", 5)).send().await?;
    assert_eq!(resp.status().as_u16(), 429);
    assert_eq!(retry_after(&resp), Some("3600"), "the hour the codes are counted in");
    let e: Value = resp.json().await?;
    assert_eq!(e["error"], "too_many_codes");
    // The booking form's page for it says the same.
    let id = citizen_id(5);
    let form = [
        ("lang", "en"),
        ("start", second_start.as_str()),
        ("name", "Citizen 5"),
        ("national_id", id.as_str()),
        ("phone", "0551234567"),
    ];
    let page = site.client.post(site.url("/b/demo/E")).form(&form).send().await?;
    assert_eq!((page.status().as_u16(), retry_after(&page)), (429, Some("3600")));
    let (status, e) =
        site.post(&format!("/api/v1/holds/{}/confirm", "0".repeat(32)), json!({"code": "123456"})).await?;
    assert_eq!((status, e["error"].as_str()), (404, Some("unknown_hold")), "{e}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_booking_is_confirmed_by_the_code_sent_by_sms() -> Result<()> {
    let smsc = Smsc::start();
    let site = Site::start(Some(&with_sms_codes(&test_site(2, 1000), &smsc.address()))).await?;
    bookings_confirmed_by_code(&site, &smsc).await?;
    let audit = audit_sqlite(&site.data_dir)?;
    assert_eq!((audit.over_capacity, audit.miscounted, audit.doubled_ids), (0, 0, 0), "{audit:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_booking_is_confirmed_by_the_code_through_another_replica() -> Result<()> {
    let postgres = Postgres::start()?;
    let url = postgres.url();
    let smsc = Smsc::start();
    let config = with_sms_codes(&test_site(2, 1000), &smsc.address());
    let first = Site::start_with(Some(&config), &["--postgres", &url]).await?;
    bookings_confirmed_by_code(&first, &smsc).await?;
    // A hold made through one replica is confirmed through another.
    let second = first.another_on_the_same_database().await?;
    let (start, _) = first.first_free_slot("A").await?;
    let mut body = booking(&start, "A", 7);
    body["phone"] = json!("0561234567");
    let (status, hold) = first.post("/api/v1/bookings", body).await?;
    assert_eq!(status, 202, "{hold}");
    let code = sent_code(&smsc, "966561234567", 1).await?;
    let path = format!("/api/v1/holds/{}/confirm", hold["hold"].as_str().unwrap_or_default());
    let (status, booked) = second.post(&path, json!({"code": code})).await?;
    assert_eq!(status, 201, "{booked}");
    let audit = audit_postgres(&url).await?;
    assert_eq!((audit.over_capacity, audit.miscounted, audit.doubled_ids), (0, 0, 0), "{audit:?}");
    Ok(())
}

/// Citizen `n`'s request for `start`, from mobile `05{mobile}` (each citizen its own, so the
/// three-codes-an-hour rule of one mobile stays out of the way).
fn from_mobile(start: &str, n: u32, mobile: &str) -> Value {
    let mut body = booking(start, "E", n);
    body["phone"] = json!(format!("05{mobile}"));
    body
}

/// Joins `start`'s waiting list as citizen `n` from `05{mobile}` (the `nth` text to it), through
/// the code sent by SMS; returns the entry as confirmed, or the refusal's status and body.
async fn join(site: &Site, smsc: &Smsc, start: &str, n: u32, mobile: &str, nth: usize) -> Result<(u16, Value)> {
    let (status, joined) = site.post("/api/v1/waiting-list", from_mobile(start, n, mobile)).await?;
    assert_eq!(status, 202, "{joined}\n{}", site.log());
    assert!(joined["mobile"].as_str().is_some_and(|m| m.starts_with("05•")), "{joined}");
    let code = sent_code(smsc, &format!("9665{mobile}"), nth).await?;
    let path = joined["confirm_url"].as_str().unwrap_or_default().replace(&site.url(""), "");
    site.post(&path, json!({"code": code})).await
}

/// A full slot's waiting list, through the SMSC: two citizens join in turn (their places 1 and
/// 2), a third ID joins twice and is refused generically the second time, a slot with a place
/// nobody waits for is booked rather than joined; a cancellation, once the hub has pulled it,
/// frees the place, which goes to the first in line (a direct booking meets `slot_full`), held
/// and texted with its code and link; the code through `confirm` (on `confirmer`, another
/// replica on PostgreSQL) makes the booking; the second in line moves up. No slot over capacity,
/// no ID with two bookings.
async fn waiting_list_offers_a_freed_place(site: &Site, confirmer: &Site, smsc: &Smsc) -> Result<()> {
    let (start, available) = site.first_free_slot("E").await?;
    assert_eq!(available, 1);
    let day = local_date(&start)?;
    let (status, e) = site.post("/api/v1/waiting-list", from_mobile(&start, 9, "91234567")).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("slot_not_full")), "{e}");
    // Citizen 1 books the one place (held, then confirmed by code).
    let (status, hold) = site.post("/api/v1/bookings", from_mobile(&start, 1, "11234567")).await?;
    assert_eq!(status, 202, "{hold}");
    let code = sent_code(smsc, "966511234567", 1).await?;
    let path = hold["confirm_url"].as_str().unwrap_or_default().replace(&site.url(""), "");
    let (status, booked) = site.post(&path, json!({"code": code})).await?;
    assert_eq!(status, 201, "{booked}");
    let first_code = booked["code"].as_str().unwrap_or_default().to_string();

    let (status, second) = join(site, smsc, &start, 2, "21234567", 1).await?;
    assert_eq!(
        (status, second["state"].as_str(), second["place"].as_u64()),
        (200, Some("waiting"), Some(1)),
        "{second}"
    );
    let (status, third) = join(site, smsc, &start, 3, "31234567", 1).await?;
    assert_eq!((status, third["place"].as_u64()), (200, Some(2)), "{third}");
    let (status, e) = join(site, smsc, &start, 3, "31234567", 2).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("not_bookable")), "one entry per ID per slot: {e}");

    // The booking is cancelled; its place stays held until the hub pulls, then is offered.
    let cancel = json!({"national_id": citizen_id(1)});
    assert_eq!(site.post(&format!("/api/v1/bookings/{first_code}/cancel"), cancel).await?.0, 200);
    hub_pulls(site, day).await?;
    let offer = sent_text(smsc, "966521234567", 2).await?;
    assert!(offer.contains("held for you until"), "{offer}");
    let (status, e) = site.post("/api/v1/bookings", from_mobile(&start, 4, "41234567")).await?;
    assert_eq!((status, e["error"].as_str()), (409, Some("slot_full")), "the freed place is the line's: {e}");
    let entry = format!("/api/v1/waiting-list/{}", second["entry"].as_str().unwrap_or_default());
    let (_, offered) = site.get(&entry).await?;
    assert_eq!(offered["state"], "offered", "{offered}");
    let third_path = format!("/api/v1/waiting-list/{}", third["entry"].as_str().unwrap_or_default());
    assert_eq!(site.get(&third_path).await?.1["place"], 1, "the second in line moved up");

    let hold = offer.split("/confirm/").nth(1).and_then(|rest| rest.get(..32)).unwrap_or_default().to_string();
    let code = sent_code(smsc, "966521234567", 2).await?;
    let (status, booked) = confirmer.post(&format!("/api/v1/holds/{hold}/confirm"), json!({"code": code})).await?;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(booked["name"], "Citizen 2", "the first in line booked: {booked}");
    assert_eq!(smsc.messages_to("966521234567").len(), 2, "one offer, from one replica");
    Ok(())
}

/// The `nth` text (from 1) the SMSC received for `to`, waiting for it (the offer round runs
/// every five seconds).
async fn sent_text(smsc: &Smsc, to: &str, nth: usize) -> Result<String> {
    let arrived = dawr_e2e::wait_until(Duration::from_secs(20), || async { smsc.messages_to(to).len() >= nth }).await;
    anyhow::ensure!(arrived, "no text number {nth} for {to}: {:?}", smsc.messages());
    Ok(smsc.messages_to(to)[nth - 1].text.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_slots_waiting_list_is_offered_a_freed_place_by_sms() -> Result<()> {
    let smsc = Smsc::start();
    let site = Site::start(Some(&with_sms_codes(&test_site(1, 1000), &smsc.address()))).await?;
    waiting_list_offers_a_freed_place(&site, &site, &smsc).await?;
    let audit = audit_sqlite(&site.data_dir)?;
    assert_eq!((audit.over_capacity, audit.miscounted, audit.doubled_ids), (0, 0, 0), "{audit:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_a_waiting_list_offer_is_made_once_across_replicas() -> Result<()> {
    let postgres = Postgres::start()?;
    let url = postgres.url();
    let smsc = Smsc::start();
    let config = with_sms_codes(&test_site(1, 1000), &smsc.address());
    let first = Site::start_with(Some(&config), &["--postgres", &url]).await?;
    let second = first.another_on_the_same_database().await?;
    waiting_list_offers_a_freed_place(&first, &second, &smsc).await?;
    let audit = audit_postgres(&url).await?;
    assert_eq!((audit.over_capacity, audit.miscounted, audit.doubled_ids), (0, 0, 0), "{audit:?}");
    Ok(())
}

/// The `name=value` of the cookie `name` a response sets (not a removal).
fn set_cookie(resp: &reqwest::Response, name: &str) -> Option<String> {
    resp.headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.contains("Max-Age=0"))
        .find(|v| v.starts_with(&format!("{name}=")))
        .map(|v| v.split(';').next().unwrap_or_default().to_string())
}

/// What a sign-in's callback answered: its status, its `Location` or page, and the ID cookie.
struct SignedIn {
    status: u16,
    page: String,
    id_cookie: Option<String>,
}

/// Signs in at `site` through the stand-in provider the way a browser would (the site's
/// `/signin`, the provider's `/authorize`, back to the site's callback with the sign-in cookie),
/// the `state` replaced by `state` when given.
async fn sign_in(site: &Site, state: Option<&str>) -> Result<SignedIn> {
    let start = site.client.get(site.url("/signin?return_to=%2Fb%2Fdemo%2FE%3Flang%3Den&lang=en")).send().await?;
    assert_eq!(start.status(), 303, "{}", site.log());
    let signin = set_cookie(&start, "dawr_signin").expect("the sign-in's cookie");
    let attributes = start.headers()[reqwest::header::SET_COOKIE].to_str()?;
    assert!(attributes.contains("; HttpOnly; SameSite=Lax; Max-Age=600"), "{attributes}");
    let to_provider = start.headers()[reqwest::header::LOCATION].to_str()?.to_string();
    assert!(to_provider.contains("code_challenge_method=S256") && to_provider.contains("nonce="), "{to_provider}");
    let approved = site.client.get(&to_provider).send().await?;
    assert_eq!(approved.status(), 303, "the stand-in approves: {}", approved.text().await?);
    let back = reqwest::Url::parse(approved.headers()[reqwest::header::LOCATION].to_str()?)?;
    let mut pairs: Vec<(String, String)> = back.query_pairs().into_owned().collect();
    if let Some(state) = state {
        pairs.iter_mut().filter(|(k, _)| k == "state").for_each(|(_, v)| *v = state.to_string());
    }
    let callback = site.client.get(site.url("/signin/callback")).query(&pairs).header("cookie", signin).send().await?;
    let status = callback.status().as_u16();
    let id_cookie = set_cookie(&callback, "dawr_id");
    let location = callback.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
    let page = match location {
        Some(location) => location,
        None => callback.text().await?,
    };
    Ok(SignedIn { status, page, id_cookie })
}

/// `[identity]`: with the national sign-in on, the booking form asks for no ID number, the API
/// wants a sign-in, and the booking carries the ID number the provider verified (its check-in
/// token's ID hash is that ID's); a request naming another ID gets the same generic refusal as
/// an ID that already holds a booking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn citizens_book_with_the_id_their_national_sign_in_verified() -> Result<()> {
    use dawr_e2e::oidc::StandIn;
    let id = citizen_id(41);
    let provider = StandIn::start(&id).await?;
    let site = Site::start(Some(&provider.site_config(&test_site(3, 1000), "http://127.0.0.1:9"))).await?;
    let form = site.client.get(site.url("/b/demo/E?lang=en")).send().await?.text().await?;
    assert!(form.contains("href=\"/signin?return_to=") && !form.contains("name=\"national_id\""), "{form}");
    let (start, _) = site.first_free_slot("E").await?;
    let mut request = booking(&start, "E", 41);
    let (status, refused) = site.post("/api/v1/bookings", request.clone()).await?;
    assert_eq!((status, refused["error"].as_str()), (401, Some("sign_in_required")), "{refused}");
    let posted = site.client.post(site.url("/b/demo/E")).form(&[("lang", "en"), ("start", &start)]).send().await?;
    assert_eq!(posted.status(), 303, "the form without a sign-in goes to sign in");
    assert!(posted.headers()[reqwest::header::LOCATION].to_str()?.starts_with("/signin?"));

    let signed = sign_in(&site, None).await?;
    assert_eq!((signed.status, signed.page.as_str()), (303, "/b/demo/E?lang=en"), "{}", site.log());
    let cookie = signed.id_cookie.expect("the verified ID's cookie");
    let form = site.client.get(site.url("/b/demo/E?lang=en")).header("cookie", &cookie).send().await?.text().await?;
    assert!(form.contains("id=\"signed-in\"") && form.contains(&id[6..]), "{form}");
    assert!(!form.contains("name=\"national_id\""), "the ID is not typed: {form}");

    // The ID is left out (or sent empty): the verified one is the booking's.
    request.as_object_mut().expect("a booking is a JSON object").remove("national_id");
    let post =
        |body: Value| site.client.post(site.url("/api/v1/bookings")).header("cookie", &cookie).json(&body).send();
    let booked = post(request.clone()).await?;
    assert_eq!(booked.status(), 201);
    let booked: Value = booked.json().await?;
    let code = booked["code"].as_str().unwrap_or_default();
    let key = site.signing_key()?.verifying_key();
    let claims = dawr_protocol::booking_token::verify(&[key], booked["checkin_token"].as_str().unwrap_or_default())?;
    assert_eq!(claims.id_hash, dawr_protocol::booking_token::id_hash(code, &id), "the verified ID is the booking's");
    assert_eq!(site.post(&format!("/api/v1/bookings/{code}/lookup"), json!({ "national_id": id })).await?.0, 200);

    // Another ID than the signed-in one, and the signed-in one booking twice: one answer.
    let mut other = request.clone();
    other["national_id"] = citizen_id(43).into();
    let mismatch = post(other).await?;
    let mismatch: (u16, Value) = (mismatch.status().as_u16(), mismatch.json().await?);
    let mut empty = request.clone();
    empty["national_id"] = "".into();
    let again = post(empty).await?;
    let again: (u16, Value) = (again.status().as_u16(), again.json().await?);
    assert_eq!(mismatch.0, 409);
    assert_eq!(mismatch.1["error"], "not_bookable");
    assert_eq!(mismatch, again, "no answer tells a forged ID from a booked one");

    // Signing out clears the ID's cookie and goes back only to a page of the site; a body that
    // is not the form still signs out, to the home page.
    for (body, content_type, back_to) in [
        ("return_to=%2Fb%2Fdemo%2FE%3Flang%3Den&lang=en", "application/x-www-form-urlencoded", "/b/demo/E?lang=en"),
        ("return_to=%2F%2Fevil.example%2F&lang=en", "application/x-www-form-urlencoded", "/"),
        ("{\"return_to\": 5}", "application/json", "/"),
    ] {
        let out = site
            .client
            .post(site.url("/signout"))
            .header("cookie", &cookie)
            .header(reqwest::header::CONTENT_TYPE, content_type)
            .body(body)
            .send()
            .await?;
        assert_eq!(out.status(), 303, "{body}");
        assert_eq!(out.headers()[reqwest::header::LOCATION], back_to, "{body}");
        let cleared = out.headers()[reqwest::header::SET_COOKIE].to_str()?;
        assert!(cleared.starts_with("dawr_id=;") && cleared.contains("Max-Age=0"), "{body}: {cleared}");
    }
    Ok(())
}

/// A sign-in that does not check out (a wrong `state`, no sign-in cookie, an ID token
/// tampered with, signed by another key, for another nonce, audience or issuer, the provider's
/// `error`) is refused with the generic page, 400, and no ID is kept; an unreachable provider
/// gets the same page with 503; a forged ID cookie is no sign-in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sign_in_that_does_not_check_out_is_refused_never_a_server_error() -> Result<()> {
    use dawr_e2e::oidc::{StandIn, Tamper};
    let provider = StandIn::start(&citizen_id(51)).await?;
    let site = Site::start(Some(&provider.site_config(&test_site(3, 1000), "http://127.0.0.1:9"))).await?;
    let refused = |signed: &SignedIn, why: &str| {
        assert_eq!(signed.status, 400, "{why}: {}", signed.page);
        assert!(signed.page.contains("Sign-in failed"), "{why}: {}", signed.page);
        assert!(signed.id_cookie.is_none(), "{why}: no ID kept");
    };
    refused(&sign_in(&site, Some("another-state")).await?, "state");
    let bare = site.client.get(site.url("/signin/callback?code=x&state=y")).send().await?;
    assert_eq!(bare.status(), 400, "no sign-in under way");
    assert!(bare.text().await?.contains("تعذّر تسجيل الدخول"), "in Arabic without a sign-in's language");
    for tamper in [Tamper::Claims, Tamper::Key, Tamper::Nonce, Tamper::Audience, Tamper::Issuer] {
        provider.tamper(tamper);
        let issued = provider.tokens_issued();
        let signed = sign_in(&site, None).await?;
        assert_eq!(provider.tokens_issued(), issued + 1, "{tamper:?}: the token was asked for");
        refused(&signed, &format!("{tamper:?}"));
    }
    provider.tamper(Tamper::Nothing);
    assert_eq!(sign_in(&site, None).await?.status, 303, "a right one still passes");
    // The provider says no (the citizen declined): the same page.
    let start = site.client.get(site.url("/signin?lang=en")).send().await?;
    let signin = set_cookie(&start, "dawr_signin").expect("the sign-in's cookie");
    let declined = site
        .client
        .get(site.url("/signin/callback?error=access_denied&state=x"))
        .header("cookie", signin)
        .send()
        .await?;
    assert_eq!(declined.status(), 400);
    assert!(declined.text().await?.contains("Sign-in failed"));
    // A provider that cannot be reached: 503 and the page, not a 500.
    let unreachable =
        provider.site_config(&test_site(3, 1000), "http://127.0.0.1:9").replace(&provider.issuer, "http://127.0.0.1:9");
    let lost = Site::start(Some(&unreachable)).await?;
    let page = lost.client.get(lost.url("/signin?lang=en")).send().await?;
    assert_eq!(page.status(), 503);
    assert!(page.text().await?.contains("Sign-in failed"));
    assert!(lost.log().contains("a sign-in could not start"), "the reason is logged: {}", lost.log());
    let (start, _) = site.first_free_slot("E").await?;
    let forged = site
        .client
        .post(site.url("/api/v1/bookings"))
        .header("cookie", "dawr_id=eyJuYXRpb25hbF9pZCI6IjEwMDAwMDAwMDgiLCJleHAiOjk5OTk5OTk5OTl9.AAAA")
        .json(&booking(&start, "E", 51))
        .send()
        .await?;
    assert_eq!(forged.status(), 401, "a forged cookie is no sign-in");
    Ok(())
}

/// The 429 page a sign-in step past the client's burst gets: the rate-limit message in
/// `expected` (the visitor's language), `Retry-After` (one token a minute: 60 s), no cookie.
async fn rate_limited_signin_page(resp: reqwest::Response, expected: &str) -> Result<()> {
    assert_eq!(resp.status(), 429);
    assert_eq!(retry_after(&resp), Some("60"));
    assert!(resp.headers().get(reqwest::header::SET_COOKIE).is_none(), "no sign-in started, no ID kept");
    assert!(resp.headers()[reqwest::header::CONTENT_TYPE].to_str()?.starts_with("text/html"));
    let page = resp.text().await?;
    assert!(page.contains(expected) && page.contains("href=\"/signin?return_to="), "{page}");
    Ok(())
}

/// `/signin` and `/signin/callback` spend a token of the client's bucket, the one booking and
/// lookups spend: the (burst+1)th sign-in start, and a callback past the burst, get the 429 page
/// in the visitor's language with `Retry-After`, and the provider is not asked (no discovery,
/// no token exchange) for them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_steps_past_the_clients_burst_get_429_without_asking_the_provider() -> Result<()> {
    use dawr_e2e::oidc::StandIn;
    const BURST: u32 = 3;
    let provider = StandIn::start(&citizen_id(61)).await?;
    // One token a minute back, so none is earned while the test runs.
    let config = test_site(3, BURST).replace(&format!("per_minute = {BURST}"), "per_minute = 1");
    let config = provider.site_config(&config, "http://127.0.0.1:9");
    let site = Site::start(Some(&config)).await?;
    let start = || site.client.get(site.url("/signin?return_to=%2Fb%2Fdemo%2FE%3Flang%3Den&lang=en")).send();
    let first = start().await?;
    assert_eq!(first.status(), 303, "{}", site.log());
    let signin = set_cookie(&first, "dawr_signin").expect("the sign-in's cookie");
    let to_provider = first.headers()[reqwest::header::LOCATION].to_str()?.to_string();
    for n in 2..=BURST {
        assert_eq!(start().await?.status(), 303, "sign-in start {n} is within the burst");
    }
    let asked = provider.asked_by_the_site();
    assert!(asked >= 1, "the site read the provider's discovery document");
    rate_limited_signin_page(start().await?, "Too many attempts from your connection").await?;
    assert_eq!(provider.asked_by_the_site(), asked, "the refused start did not reach the provider");

    // The provider approves the first sign-in; its callback finds the bucket empty: no token
    // exchange, no ID kept, the page in the sign-in's language.
    let approved = site.client.get(&to_provider).send().await?;
    let back = reqwest::Url::parse(approved.headers()[reqwest::header::LOCATION].to_str()?)?;
    let callback =
        site.client.get(site.url("/signin/callback")).query(&back.query_pairs().into_owned().collect::<Vec<_>>());
    rate_limited_signin_page(callback.header("cookie", signin).send().await?, "Too many attempts").await?;
    assert_eq!((provider.tokens_issued(), provider.asked_by_the_site()), (0, asked), "the code was not exchanged");

    // On a fresh site, callbacks and a lookup spend the same bucket; the next start is refused
    // (in Arabic, the default) before the site ever asked the provider for anything.
    let fresh = Site::start(Some(&config)).await?;
    let asked = provider.asked_by_the_site();
    for _ in 1..BURST {
        assert_eq!(fresh.client.get(fresh.url("/signin/callback?code=x&state=y")).send().await?.status(), 400);
    }
    let lookup =
        fresh.client.post(fresh.url("/manage")).form(&[("code", "ABCD2345"), ("national_id", &citizen_id(61))]);
    assert_eq!(lookup.send().await?.status(), 404, "the last token spent on a lookup");
    rate_limited_signin_page(fresh.client.get(fresh.url("/signin")).send().await?, "محاولات كثيرة من اتصالك").await?;
    assert_eq!(provider.asked_by_the_site(), asked, "no discovery document was fetched for it");
    Ok(())
}

/// Citizen `n`'s booking request for `start` of `service`, from mobile `0550{n:06}` (each
/// citizen their own mobile, so only the per-address count of codes binds).
fn from_own_mobile(start: &str, service: &str, n: u32) -> dawr_protocol::api::bookings::BookingRequest {
    dawr_protocol::api::bookings::BookingRequest {
        branch: "demo".into(),
        service: service.into(),
        start: start.into(),
        name: format!("Citizen {n}"),
        national_id: citizen_id(n),
        phone: format!("0550{n:06}"),
        lang: Some("en".into()),
    }
}

/// Posts `requests` (path and body) at once, each through the replica of its index (round the
/// list), all from the client address `from` (`X-Forwarded-For`; the replicas trust loopback):
/// the statuses and error codes.
async fn codes_at_once(
    replicas: &[&Site],
    requests: Vec<(&'static str, dawr_protocol::api::bookings::BookingRequest)>,
    from: &str,
) -> Result<Vec<(u16, String)>> {
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(requests.len()));
    let tasks: Vec<_> = requests
        .into_iter()
        .enumerate()
        .map(|(i, (path, body))| {
            let via = replicas[i % replicas.len()];
            let (client, url, barrier, from) = (via.client.clone(), via.url(path), barrier.clone(), from.to_string());
            tokio::spawn(async move {
                barrier.wait().await;
                let resp = client.post(url).header("x-forwarded-for", from).json(&body).send().await?;
                let status = resp.status().as_u16();
                if status == 202 {
                    return anyhow::Ok((status, String::new()));
                }
                let error: dawr_protocol::api::ApiError = resp.json().await?;
                anyhow::Ok((status, error.error))
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await??);
    }
    Ok(results)
}

/// Exactly `sent` of `race` got a code (202); the rest were refused with `too_many_codes`.
fn exactly_sent(race: &[(u16, String)], sent: usize) {
    assert_eq!(race.iter().filter(|(s, _)| *s == 202).count(), sent, "{race:?}");
    assert!(race.iter().all(|(s, e)| *s == 202 || (*s == 429 && e == "too_many_codes")), "{race:?}");
}

/// `[limits] codes_per_address = 4` on three PostgreSQL replicas: 24 holds of one slot from one
/// client address at once, each from its own mobile, send exactly four codes; so do 24 joins of
/// six full slots' waiting lists (other line locks, so only the address's lock orders them).
/// Replicas cannot all pass the address's count at once. Holds count the joins' codes too: the
/// address, and a mobile that joined three times, are refused a hold.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgresql_one_address_is_sent_at_most_its_codes_across_replicas() -> Result<()> {
    let postgres = Postgres::start()?;
    let url = postgres.url();
    let smsc = Smsc::start();
    let limits = "[limits]\ncodes_per_address = 4\ntrusted_proxies = [\"127.0.0.1\"]\n";
    // Service A with one place a slot (E has 30), so one hold makes a slot full.
    let config = test_site(30, 1000).replace("capacity = 3\n", "capacity = 1\n").replace("[limits]\n", limits);
    let config = with_sms_codes(&config, &smsc.address());
    assert!(config.contains("codes_per_address = 4") && config.contains("capacity = 1\n"), "{config}");
    let mut replicas = Vec::new();
    for _ in 0..3 {
        replicas.push(Site::start_with(Some(&config), &["--postgres", &url]).await?);
    }
    let all: Vec<&Site> = replicas.iter().collect();
    let (free, available) = all[0].first_free_slot("E").await?;
    assert_eq!(available, 30);
    let holds = (0..24).map(|n| ("/api/v1/bookings", from_own_mobile(&free, "E", 5100 + n))).collect();
    exactly_sent(&codes_at_once(&all, holds, "198.51.100.7").await?, 4);

    // Tomorrow's slots of A, each made full by a hold from an address of its own.
    let date = local_date(&free)? + chrono::Duration::days(1);
    let mut six = free_slots(all[0], "A", date).await?;
    six.truncate(6);
    assert_eq!(six.len(), 6, "six free slots of A on {date}");
    for (n, slot) in (1..).zip(&six) {
        let fill = vec![("/api/v1/bookings", from_own_mobile(slot, "A", 5200 + n))];
        exactly_sent(&codes_at_once(&all, fill, &format!("192.0.2.{n}")).await?, 1);
    }
    let joins =
        (0..24).map(|n| ("/api/v1/waiting-list", from_own_mobile(&six[n as usize % 6], "A", 5300 + n))).collect();
    exactly_sent(&codes_at_once(&all, joins, "203.0.113.5").await?, 4);

    // Joins and holds share the limits: the address that joined four times is refused a hold,
    // and so is a mobile that joined three times (from another address).
    let hold = vec![("/api/v1/bookings", from_own_mobile(&free, "E", 5400))];
    exactly_sent(&codes_at_once(&all, hold, "203.0.113.5").await?, 0);
    let joins = (0..3).map(|n| ("/api/v1/waiting-list", from_own_mobile(&six[n], "A", 5500))).collect();
    exactly_sent(&codes_at_once(&all, joins, "203.0.113.9").await?, 3);
    let hold = vec![("/api/v1/bookings", from_own_mobile(&free, "E", 5500))];
    exactly_sent(&codes_at_once(&all, hold, "203.0.113.10").await?, 0);
    Ok(())
}
