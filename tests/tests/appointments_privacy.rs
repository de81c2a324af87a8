//! Personal data on the appointments site as a real process: a branch's manager (with the
//! branch's API key) exports and erases one person's bookings; a site started 130 days later
//! (its clock moved) has removed the names, ID numbers and mobiles of past bookings, while the
//! bookings themselves stay in the branch's feed.
use anyhow::Result;
use dawr_e2e::appointments::{Site, TEST_KEY, citizen_id, example_booking, local_date, test_site};
use dawr_protocol::api::privacy::{BookingsErasure, BookingsExport, PersonQuery};
use serde_json::json;

async fn person(site: &Site, key: &str, route: &str, who: &str) -> Result<(u16, String)> {
    let response = site
        .client
        .post(site.url(&format!("/api/v1/branches/demo/personal-data/{route}")))
        .bearer_auth(key)
        .json(&PersonQuery { person: who.into() })
        .send()
        .await?;
    Ok((response.status().as_u16(), response.text().await?))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_exports_and_erases_one_person_and_old_bookings_lose_their_person() -> Result<()> {
    let mut site = Site::start(Some(&test_site(1, 1000))).await?;
    let (start_e, _) = site.first_free_slot("E").await?;
    let (start_a, _) = site.first_free_slot("A").await?;
    let (status, first) = site.post("/api/v1/bookings", example_booking(&start_e, "E", 7)).await?;
    assert_eq!(status, 201, "{first}");
    let (status, second) = site.post("/api/v1/bookings", example_booking(&start_a, "A", 7)).await?;
    assert_eq!(status, 201, "{second}");
    let (status, other) = site.post("/api/v1/bookings", example_booking(&start_a, "A", 8)).await?;
    assert_eq!(status, 201, "{other}");

    let (status, refused) = person(&site, "not-the-key", "export", &citizen_id(7)).await?;
    assert_eq!(status, 401, "{refused}");
    let (status, refused) = person(&site, TEST_KEY, "export", "12345").await?;
    assert_eq!(status, 400, "{refused}");
    let (status, exported) = person(&site, TEST_KEY, "export", &citizen_id(7)).await?;
    assert_eq!(status, 200, "{exported}");
    let exported: BookingsExport = serde_json::from_str(&exported)?;
    assert_eq!(exported.bookings.len(), 2);
    assert!(exported.bookings.iter().all(|b| b.national_id == citizen_id(7)), "in full, not masked");
    assert_eq!(exported.bookings[0].phone, "+966551234567");

    let (status, erased) = person(&site, TEST_KEY, "erase", &citizen_id(7)).await?;
    assert_eq!(status, 200, "{erased}");
    assert_eq!(serde_json::from_str::<BookingsErasure>(&erased)?, BookingsErasure { bookings: 2, cancelled: 2 });
    let code = first["code"].as_str().unwrap();
    let (status, _) =
        site.post(&format!("/api/v1/bookings/{code}/lookup"), json!({"national_id": citizen_id(7)})).await?;
    assert_eq!(status, 404, "nobody's booking now");
    let (_, exported) = person(&site, TEST_KEY, "export", &citizen_id(7)).await?;
    assert!(serde_json::from_str::<BookingsExport>(&exported)?.bookings.is_empty());
    let date = local_date(&start_e)?;
    let (_, slots) = site.get(&format!("/api/v1/branches/demo/services/E/slots?date={date}")).await?;
    let slot = slots["slots"].as_array().unwrap().iter().find(|s| s["start"] == start_e.as_str()).unwrap().clone();
    assert_eq!(slot["available"], 1, "the cancelled booking's place is free again");

    // 130 days on (past the slot and 90 days of retention), the other person's booking has lost
    // its name, ID and mobile at start, and is still in the branch's feed with its status.
    let now_offset_s = (dawr_e2e::services_now() - chrono::Utc::now()).num_seconds();
    let later = (now_offset_s + 130 * 86_400).to_string();
    site.start_again_with(&["--clock-offset-s", &later]).await?;
    let (_, exported) = person(&site, TEST_KEY, "export", &citizen_id(8)).await?;
    assert!(serde_json::from_str::<BookingsExport>(&exported)?.bookings.is_empty(), "{}", site.log());
    let (_, exported) = person(&site, TEST_KEY, "export", "0551234567").await?;
    assert!(serde_json::from_str::<BookingsExport>(&exported)?.bookings.is_empty(), "no mobile either");
    let day = local_date(&start_a)?;
    let feed = site
        .client
        .get(site.url(&format!("/api/v1/branches/demo/bookings?date={day}")))
        .bearer_auth(TEST_KEY)
        .send()
        .await?
        .json::<serde_json::Value>()
        .await?;
    let codes: Vec<&str> = feed.as_array().unwrap().iter().filter_map(|b| b["code"].as_str()).collect();
    assert!(codes.contains(&other["code"].as_str().unwrap()), "the booking stays: {feed}");
    assert!(site.log().contains("retention purge done"), "{}", site.log());
    Ok(())
}
