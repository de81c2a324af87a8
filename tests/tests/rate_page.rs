//! The exit satisfaction page on a tablet, in headless Chromium against a real hub: a visitor
//! touches a face for the visit just completed at the counter, a low score asks why, the rating
//! and its reason reach the visit's case, and a second touch does not rate it twice.
use std::time::Duration;

use anyhow::Result;
use dawr_e2e::browser::Browser;
use dawr_e2e::{Hub, screenshots_dir};
use serde_json::json;

fn plain(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().replace(['\u{2068}', '\u{2069}'], "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_rates_the_visit_with_a_touch_and_only_once() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let browser = Browser::start(1024, 768).await?;
    browser.goto(&hub.url("/rate/2")).await?;
    let page = browser
        .eval("return [document.documentElement.dir, document.querySelectorAll('.faces button').length]")
        .await?;
    assert_eq!(page, json!(["rtl", 5]));
    browser.screenshot(&screenshots_dir().join("rate-page-ar.png")).await?;

    // Nobody has been served yet: nothing to rate.
    browser.eval("document.querySelector('button[value=\"5\"]').click(); return true;").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let said = browser.eval("return document.querySelector('h1').textContent").await?;
    assert!(plain(&said).contains("لا توجد زيارة حديثة"), "{said}");

    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    for action in ["next", "start", "complete"] {
        hub.post(&format!("/api/v1/counters/2/{action}"), json!({"outcome": "resolved"})).await?;
    }
    browser.goto(&hub.url("/rate/2?lang=en")).await?;
    browser.eval("document.querySelector('button[value=\"2\"]').click(); return true;").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let asked = browser
        .eval("return [document.querySelector('h1').textContent, document.querySelectorAll('.reasons button').length]")
        .await?;
    assert_eq!(asked, json!(["What went wrong?", 5]), "a low score asks why");
    browser.eval("document.querySelector('button[value=\"unclear_procedure\"]').click(); return true;").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let thanks = browser.eval("return document.querySelector('h1').textContent").await?;
    assert!(plain(&thanks).starts_with("Thank you."), "{thanks}");
    let (_, ticket) = hub.get("/api/v1/tickets/1").await?;
    assert_eq!((ticket["rating"].as_u64(), ticket["rating_reason"].as_str()), (Some(2), Some("unclear_procedure")));

    browser.goto(&hub.url("/rate/2?lang=en")).await?;
    browser.eval("document.querySelector('button[value=\"5\"]').click(); return true;").await?;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let again = browser.eval("return document.querySelector('h1').textContent").await?;
    assert!(plain(&again).contains("already been rated"), "{again}");
    let (_, ticket) = hub.get("/api/v1/tickets/1").await?;
    assert_eq!(ticket["rating"], 2, "rated once");
    Ok(())
}
