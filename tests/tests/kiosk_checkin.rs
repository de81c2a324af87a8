//! Checking in a booked visit at the kiosk, against a hub holding real bookings from a running
//! appointments site: a scanned QR (a fast burst of keys ending in Enter) gives a ticket in the
//! appointment class; the same code again, an unknown code and a booking hours ahead each leave
//! the visitor a clear message on the check-in screen.

use anyhow::{Result, bail};
use chrono::Utc;
use dawr_e2e::Hub;
use dawr_e2e::appointments::{Site, TEST_KEY, example_booking, held, test_site};
use dawr_i18n::Lang;
use dawr_kiosk::app::Effector;
use dawr_kiosk::flow::{Effect, Input, Kiosk, Screen};
use dawr_kiosk::ticket::Paper;

async fn book(site: &Site, start: &str, n: u32) -> Result<String> {
    let body = example_booking(start, "E", n);
    let (status, booked) = site.post("/api/v1/bookings", body).await?;
    assert_eq!(status, 201, "{booked}");
    Ok(booked["code"].as_str().unwrap().to_string())
}

/// A free slot of service E starting at least `ahead` from now.
async fn slot_after(site: &Site, ahead: chrono::Duration) -> Result<String> {
    let after = dawr_e2e::services_now() + ahead;
    for d in 0..3 {
        let date = (dawr_e2e::services_now() + chrono::Duration::days(d)).date_naive();
        let (_, slots) = site.get(&format!("/api/v1/branches/demo/services/E/slots?date={date}")).await?;
        for slot in slots["slots"].as_array().into_iter().flatten() {
            let start = slot["start"].as_str().unwrap_or_default();
            if chrono::DateTime::parse_from_rfc3339(start).is_ok_and(|t| t > after)
                && slot["available"].as_u64() > Some(0)
            {
                return Ok(start.to_string());
            }
        }
    }
    bail!("no slot after {after}")
}

/// A scanner types `code` fast and presses Enter; the kiosk does what follows.
async fn scan(kiosk: &mut Kiosk, effector: &Effector, code: &str) {
    let t0 = Utc::now();
    let mut effects: Vec<Effect> = Vec::new();
    for (i, c) in code.chars().enumerate() {
        effects.extend(kiosk.handle(Input::Key(c), t0 + chrono::Duration::milliseconds(10 * i as i64)));
    }
    effects.extend(kiosk.handle(Input::Enter, t0 + chrono::Duration::milliseconds(10 * code.len() as i64)));
    while let Some(effect) = effects.pop() {
        if matches!(effect, Effect::Print(_)) {
            continue;
        }
        let answer = effector.perform(effect).await;
        effects.extend(kiosk.handle(answer, Utc::now()));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanned_booking_becomes_an_appointment_ticket_and_wrong_codes_say_why() -> Result<()> {
    let site = Site::start(Some(&test_site(5, 1000))).await?;
    let hub = Hub::start_embedded_with(&[
        "--appointments-url",
        &site.url(""),
        "--appointments-key",
        TEST_KEY,
        "--appointments-poll-s",
        "0.5",
    ])
    .await?;
    let now_start = site.first_free_slot("E").await?.0;
    let later_start = slot_after(&site, chrono::Duration::hours(2)).await?;
    let now_code = book(&site, &now_start, 11).await?;
    let later_code = book(&site, &later_start, 12).await?;
    held(&hub, &now_code, &now_start).await?;
    held(&hub, &later_code, &later_start).await?;

    let dir = tempfile::tempdir()?;
    let effector =
        Effector::new(&hub.url(""), format!("file:{}", dir.path().join("t.bin").display()).parse()?, Paper::Mm80)
            .with_login(kiosk_login(&hub)?);
    let mut kiosk = Kiosk::new("kiosk-checkin", Utc::now());
    kiosk.handle(Input::Services(effector.services().await), Utc::now());
    kiosk.handle(Input::ChooseLanguage(Lang::En), Utc::now());

    // A QR scanned on the services screen: checked in, a ticket in the appointment class.
    scan(&mut kiosk, &effector, &now_code.to_lowercase()).await;
    assert_eq!(kiosk.screen, Screen::Ticket, "{:?}", kiosk.notice);
    let ticket = kiosk.ticket.clone().unwrap();
    assert_eq!(ticket.priority, dawr_protocol::api::Priority::Appointment);
    assert!(ticket.number.starts_with('E'));

    // The same booking again, an unknown code, and a booking hours ahead: a message each.
    kiosk.handle(Input::Back, Utc::now());
    kiosk.handle(Input::OpenCheckIn, Utc::now());
    for (code, expected) in [
        (now_code.as_str(), vec!["kiosk-code-used"]),
        ("ZZZZZZZZ", vec!["kiosk-code-unknown"]),
        // Two hours ahead is too early today, or another day near midnight.
        (later_code.as_str(), vec!["kiosk-code-early", "kiosk-code-not-today"]),
    ] {
        scan(&mut kiosk, &effector, code).await;
        assert_eq!(kiosk.screen, Screen::CheckIn, "{code}: back to the check-in screen");
        let notice = kiosk.notice.clone().expect("a message");
        assert!(expected.contains(&notice.key), "{code}: {notice:?}");
    }
    let (_, queue) = hub.get("/api/v1/queue").await?;
    assert_eq!(queue.as_array().unwrap().len(), 1, "one ticket only: {queue}");
    Ok(())
}

/// The demo kiosk's login at the hub (the account it logs into MQTT with).
fn kiosk_login(hub: &Hub) -> Result<Option<dawr_kiosk::app::HubLogin>> {
    Ok(dawr_kiosk::app::HubLogin::of(&hub.endpoint_as(&hub.device("kiosk-1")?)))
}
