//! The visitor's live ticket page in headless Chromium: Arabic right to left, English, and the
//! status changing on screen without a reload when the visitor is called.
use std::time::Duration;

use anyhow::Result;
use dawr_e2e::Hub;
use dawr_e2e::browser::Browser;
use serde_json::json;

/// Where the pictures go: `docs/screenshots/` only with `DAWR_UPDATE_SCREENSHOTS=1`.
fn screenshots() -> std::path::PathBuf {
    dawr_e2e::screenshots_dir()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ticket_page_follows_the_visit_without_a_reload() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    for _ in 0..3 {
        hub.post("/api/v1/tickets", json!({"service": "D"})).await?;
    }
    let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "D"})).await?;
    // Keep the counters serving D busy, so the ticket waits.
    for counter in ["2", "3", "6", "8", "1"] {
        hub.post(&format!("/api/v1/counters/{counter}/pause"), json!({})).await?;
    }
    hub.post("/api/v1/counters/1/resume", json!({})).await?;
    hub.post("/api/v1/counters/1/call", json!({"ticket": "D001"})).await?;
    let url = ticket["status_url"].as_str().unwrap().to_string();
    assert!(url.starts_with(&hub.url("/t/")), "{url}");

    let browser = Browser::start(412, 860).await?;
    browser.goto(&url).await?;
    let page = browser
        .eval("return {lang: document.documentElement.lang, dir: document.documentElement.dir, number: document.getElementById('number').textContent, status: document.getElementById('status').textContent, loadedAt: window.dawrPageLoadedAt}")
        .await?;
    assert_eq!((page["lang"].as_str(), page["dir"].as_str()), (Some("ar"), Some("rtl")));
    assert_eq!(page["number"], "D004");
    let status = page["status"].as_str().unwrap().replace(['\u{2068}', '\u{2069}'], "");
    assert!(status.contains("أمامك شخصان."), "{status}");
    browser.screenshot(&screenshots().join("ticket-page-ar.png")).await?;
    browser.expect_accessible("the ticket page, waiting, in Arabic").await?;

    // Counter 1 finishes D001 and calls D002, D003, then D004; the open page follows.
    for _ in 0..3 {
        hub.post("/api/v1/counters/1/next", json!({})).await?;
    }
    let mut shown = String::new();
    for _ in 0..60 {
        shown = browser
            .eval("return document.getElementById('status').textContent")
            .await?
            .as_str()
            .unwrap_or("")
            .to_string();
        if shown.contains("شباك ١") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert!(shown.contains("تفضل إلى") && shown.contains("شباك ١"), "the page shows the call: {shown}");
    let loaded_at = browser.eval("return window.dawrPageLoadedAt").await?;
    assert_eq!(loaded_at, page["loadedAt"], "the page changed without reloading");
    browser.screenshot(&screenshots().join("ticket-page-ar-called.png")).await?;
    browser.expect_accessible("the ticket page, called, in Arabic").await?;

    // English, left to right.
    browser.goto(&format!("{url}?lang=en")).await?;
    let en =
        browser.eval("return [document.documentElement.dir, document.getElementById('status').textContent]").await?;
    assert_eq!(en[0], "ltr");
    assert!(en[1].as_str().unwrap().contains("Please go to"), "{en}");
    browser.screenshot(&screenshots().join("ticket-page-en-called.png")).await?;
    browser.expect_accessible("the ticket page, called, in English").await?;

    // A wrong token is a friendly 404 page, not an error dump.
    browser.goto(&hub.url("/t/0000000000000000000000000000000f")).await?;
    let missing = browser.eval("return document.querySelector('h1').textContent").await?;
    assert_eq!(missing, "التذكرة غير موجودة");
    browser.expect_accessible("the missing ticket's page in Arabic").await?;
    browser.goto(&hub.url("/t/0000000000000000000000000000000f?lang=en")).await?;
    browser.expect_accessible("the missing ticket's page in English").await?;
    let resp = hub.client.get(hub.url("/t/not-a-token")).send().await?;
    assert_eq!(resp.status(), 404);
    assert_eq!(resp.headers()["cache-control"], "no-store");
    Ok(())
}

/// A hub with `[sms]` through `smsc`, for joining from a phone.
async fn hub_with_sms(smsc: &dawr_e2e::smsc::Smsc, dir: &tempfile::TempDir) -> Result<Hub> {
    let file = dir.path().join("branch.toml");
    let sms = format!(
        "\n[sms]\nsmsc = \"{}\"\nsystem_id = \"{}\"\npassword = \"{}\"\nmessages_per_second = 200\nmax_backoff_s = 0.5\n",
        smsc.address(),
        dawr_e2e::smsc::SYSTEM_ID,
        dawr_e2e::smsc::PASSWORD
    );
    std::fs::write(&file, dawr_e2e::production_branch(&dawr_e2e::demo_branch()) + &sms)?;
    Hub::start_embedded_with(&["--config", file.to_str().unwrap()]).await
}

/// The six-digit code in the newest SMS to `to`.
async fn code_sent_to(smsc: &dawr_e2e::smsc::Smsc, to: &str, seen: usize) -> String {
    assert!(dawr_e2e::wait_until(Duration::from_secs(20), || async { smsc.messages_to(to).len() > seen }).await);
    let text = smsc.messages_to(to).last().unwrap().text.clone();
    let digits: Vec<char> = text.chars().collect();
    let at = (0..digits.len() - 5).find(|&i| digits[i..i + 6].iter().all(char::is_ascii_digit)).expect("a code");
    digits[at..at + 6].iter().collect()
}

/// Fills and sends the join form: service `service`, mobile `mobile`.
async fn ask_for_code(browser: &Browser, service: &str, mobile: &str) -> Result<()> {
    browser
        .eval(&format!(
            "document.querySelector('input[name=service][value={service}]').click();\
             document.getElementById('mobile').value='{mobile}';\
             document.querySelector('form').submit(); return true;"
        ))
        .await?;
    Ok(())
}

/// Whether the page fits the phone's width (nothing to scroll sideways).
async fn fits(browser: &Browser) -> Result<bool> {
    Ok(browser.eval("return document.documentElement.scrollWidth <= window.innerWidth").await? == json!(true))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn joining_from_a_phone_in_arabic_and_english() -> Result<()> {
    let smsc = dawr_e2e::smsc::Smsc::start();
    let dir = tempfile::tempdir()?;
    let hub = hub_with_sms(&smsc, &dir).await?;
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let browser = Browser::start_phone(390, 844).await?;
    let wait = Duration::from_secs(15);

    // Arabic, right to left, by default.
    browser.goto(&hub.url("/join")).await?;
    let page = browser.eval("return [document.documentElement.lang, document.documentElement.dir, document.querySelector('h1').textContent, document.querySelectorAll('input[name=service]').length]").await?;
    assert_eq!(page, json!(["ar", "rtl", "احجز دورك", 2]), "the services open to it: A and D");
    assert!(fits(&browser).await?, "the form fits a phone");
    browser.screenshot(&screenshots().join("join-form-ar.png")).await?;
    browser.expect_accessible("the join form in Arabic").await?;

    ask_for_code(&browser, "A", "0501234567").await?;
    browser.wait_for("return location.pathname.startsWith('/join/') && document.getElementById('code')", wait).await?;
    let code = code_sent_to(&smsc, "966501234567", 0).await;
    assert!(fits(&browser).await?);
    browser.screenshot(&screenshots().join("join-code-ar.png")).await?;
    browser.expect_accessible("the code form in Arabic").await?;
    browser
        .eval(&format!(
            "document.getElementById('code').value='{code}'; document.querySelector('form').submit(); return true;"
        ))
        .await?;
    browser
        .wait_for("return location.pathname.startsWith('/t/') && document.getElementById('checkin-code')", wait)
        .await?;
    let ticket = browser.eval("return [document.getElementById('number').textContent, document.getElementById('checkin-code').textContent.length, !!document.querySelector('.qr svg')]").await?;
    assert_eq!(ticket, json!(["A002", 8, true]), "the remote ticket's page, with its check-in code and QR");
    assert!(fits(&browser).await?);
    browser.screenshot(&screenshots().join("join-ticket-ar.png")).await?;
    browser.expect_accessible("the remote ticket's page in Arabic").await?;

    // English, left to right; a mistake is said on the form.
    browser.goto(&hub.url("/join?lang=en")).await?;
    assert_eq!(browser.eval("return document.documentElement.dir").await?, "ltr");
    ask_for_code(&browser, "D", "12345").await?;
    let problem = browser
        .wait_for("return document.querySelector('.problem') && document.querySelector('.problem').textContent", wait)
        .await?;
    assert_eq!(problem, "Please enter a Saudi mobile number, like 0501234567.");
    assert!(fits(&browser).await?);
    browser.screenshot(&screenshots().join("join-error-en.png")).await?;
    browser.expect_accessible("the join form with a mistake in English").await?;
    ask_for_code(&browser, "D", "0507654321").await?;
    browser.wait_for("return location.pathname.startsWith('/join/') && document.getElementById('code')", wait).await?;
    let code = code_sent_to(&smsc, "966507654321", 0).await;
    browser.screenshot(&screenshots().join("join-code-en.png")).await?;
    browser
        .eval(&format!(
            "document.getElementById('code').value='{code}'; document.querySelector('form').submit(); return true;"
        ))
        .await?;
    browser
        .wait_for("return location.pathname.startsWith('/t/') && document.getElementById('checkin-code')", wait)
        .await?;
    assert_eq!(browser.eval("return document.documentElement.lang").await?, "en");
    assert!(fits(&browser).await?);
    browser.screenshot(&screenshots().join("join-ticket-en.png")).await?;
    browser.expect_accessible("the remote ticket's page in English").await?;
    Ok(())
}
