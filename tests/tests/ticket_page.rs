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
