//! The exit satisfaction page on a tablet, in headless Chromium against a real hub: a touch on a
//! face records the score at once; a low score then asks why, and a visitor who walks away
//! leaves the score (with no reason) for the visit, its escalation and the report; the reason,
//! chosen later in the same visit, is added to that same rating; a second touch does not rate
//! twice; and axe-core finds no serious or critical violation on the pages in Arabic and English.
//! Only an enrolled rating device's tablet rates: its enrolment link sets the device cookie; a
//! tablet without one is told it is not enrolled; a used, unknown or expired link is refused, as
//! is another counter's tablet and a revoked device's.
use std::time::Duration;

use anyhow::{Context, Result};
use dawr_e2e::browser::Browser;
use dawr_e2e::{Hub, screenshots_dir};
use serde_json::{Value, json};

/// How long a page may take to appear after a touch (a loaded machine is slow, never this slow).
const WAIT: Duration = Duration::from_secs(15);

fn plain(value: &Value) -> String {
    value.as_str().unwrap_or_default().replace(['\u{2068}', '\u{2069}'], "")
}

/// Waits for the page whose heading contains `text`, and returns the heading.
async fn heading(browser: &Browser, text: &str) -> Result<String> {
    let script = format!(
        "const h = document.querySelector('main h1'); \
         const t = h ? h.textContent.replace(/[\\u2068\\u2069]/g, '') : ''; \
         return t.includes({}) ? t : null;",
        json!(text)
    );
    Ok(plain(&browser.wait_for(&script, WAIT).await?))
}

/// The page shows these commands, each left to right on one line of its own within the page,
/// in an Arabic page too (inside an Arabic sentence a command's words and dashes were
/// reordered).
async fn command_shown(browser: &Browser, commands: &[&str]) -> Result<()> {
    let shown = browser
        .eval(
            "return [...document.querySelectorAll('main code')].map(c => { \
               const r = c.getBoundingClientRect(); \
               return [c.textContent, getComputedStyle(c).direction, \
                       c.getClientRects().length === 1 && r.left >= 0 && r.right <= innerWidth]; });",
        )
        .await?;
    let shown: Vec<(String, String, bool)> = serde_json::from_value(shown)?;
    let expected: Vec<(String, String, bool)> = commands.iter().map(|c| (c.to_string(), "ltr".into(), true)).collect();
    assert_eq!(shown, expected, "the commands on the page");
    Ok(())
}

/// Touches the button `selector` (a face or a reason).
async fn touch(browser: &Browser, selector: &str) -> Result<()> {
    let script = format!("document.querySelector({}).click(); return true;", json!(selector));
    browser.eval(&script).await?;
    Ok(())
}

/// Asserts that axe-core finds nothing serious or critical on the page.
async fn accessible(browser: &Browser, page: &str) -> Result<()> {
    let violations = browser.axe().await?;
    assert!(violations.is_empty(), "{page}: {violations:#?}");
    Ok(())
}

/// The page's return to the faces after it is left alone: `(seconds, address)`, as its script
/// reads them; the `<noscript>` refresh for a browser without JavaScript must agree.
async fn timed_return(browser: &Browser) -> Result<(u32, String)> {
    let found = browser
        .eval(
            "const m = document.querySelector('main[data-return-to]'); \
             const n = document.querySelector('noscript'); \
             return m && [m.dataset.returnAfter, m.dataset.returnTo, n ? n.textContent : ''];",
        )
        .await?;
    let seconds: u32 = found[0].as_str().context("no return to the faces")?.parse()?;
    let to = found[1].as_str().context("no address to return to")?.to_string();
    let fallback = found[2].as_str().unwrap_or_default().replace("&amp;", "&");
    assert!(fallback.contains(&format!("content=\"{seconds}; url={to}\"")), "without JavaScript: {fallback}");
    Ok((seconds, to))
}

/// The enrolment confirmation as drawn: in direction `dir`, nothing wider than the window, and
/// its heading, note, button and language link each whole inside it (none clipped or off screen).
async fn enrolment_laid_out(browser: &Browser, dir: &str) -> Result<()> {
    let drawn = browser
        .eval(
            "const w = window.innerWidth; \
             const cut = ['main h1', 'main p', 'main form button', 'main > a'].filter(s => { \
               const e = document.querySelector(s); if (!e) return true; \
               const r = e.getBoundingClientRect(); \
               return r.width === 0 || r.left < 0 || r.right > w || e.scrollWidth > e.clientWidth + 1; }); \
             return [document.documentElement.dir, document.documentElement.scrollWidth <= w, cut];",
        )
        .await?;
    let (shown_dir, fits, cut): (String, bool, Vec<String>) = serde_json::from_value(drawn)?;
    assert_eq!((shown_dir.as_str(), fits, cut), (dir, true, Vec::<String>::new()), "the enrolment page in {dir}");
    Ok(())
}

/// Serves one visitor at counter 2 and returns their ticket.
async fn serve_one(hub: &Hub) -> Result<Value> {
    let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    for action in ["next", "start", "complete"] {
        let (status, reply) = hub.post(&format!("/api/v1/counters/2/{action}"), json!({"outcome": "resolved"})).await?;
        assert_eq!(status, 200, "{action}: {reply}");
    }
    Ok(ticket)
}

/// Today's summary, as manager m001 reads it.
async fn report(hub: &Hub) -> Result<Value> {
    let session: Value = hub
        .client
        .post(hub.url("/api/v1/sessions"))
        .json(&json!({"staff": "m001", "pin": hub.pin("m001")}))
        .send()
        .await?
        .json()
        .await?;
    let token = session["token"].as_str().context("manager session")?;
    let today = dawr_e2e::services_now().with_timezone(&chrono::FixedOffset::east_opt(3 * 3600).unwrap()).date_naive();
    let url = hub.url(&format!("/api/v1/reports/summary?from={today}&to={today}"));
    Ok(hub.client.get(url).bearer_auth(token).send().await?.json().await?)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_low_score_is_kept_when_the_visitor_walks_away_and_its_reason_may_follow() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let browser = Browser::start(1024, 768).await?;
    // Not enrolled yet: the page says so, in Arabic and English, and offers no faces.
    browser.goto(&hub.url("/rate/2")).await?;
    heading(&browser, "هذا الجهاز اللوحي غير مسجَّل").await?;
    command_shown(&browser, &["dawr-hub devices add --role rating", "dawr-hub devices link --device ID"]).await?;
    browser.screenshot(&screenshots_dir().join("rate-not-enrolled-ar.png")).await?;
    browser.goto(&hub.url("/rate/2?lang=en")).await?;
    heading(&browser, "This tablet is not enrolled").await?;
    assert_eq!(browser.eval("return document.querySelectorAll('main .faces button').length").await?, 0);
    // The demo's enrolment link for rating-2 makes this browser that device, and goes on to the
    // faces of counter 2; the cookie is out of the page's reach (HttpOnly).
    // The link itself only asks (a preview must not use it up); its button enrols.
    let link = hub.device("rating-2")?.enrol_link.context("the demo's link for rating-2")?;
    browser.goto(&hub.url(&format!("{link}?lang=en"))).await?;
    heading(&browser, "Make this tablet the rating tablet of counter 2?").await?;
    enrolment_laid_out(&browser, "ltr").await?;
    accessible(&browser, "the enrolment confirmation in English").await?;
    browser.screenshot(&screenshots_dir().join("rate-enrol-en.png")).await?;
    browser.goto(&hub.url(&link)).await?;
    heading(&browser, "هل تجعل هذا الجهاز اللوحي جهاز التقييم للشباك 2؟").await?;
    enrolment_laid_out(&browser, "rtl").await?;
    accessible(&browser, "the enrolment confirmation in Arabic").await?;
    browser.screenshot(&screenshots_dir().join("rate-enrol-ar.png")).await?;
    touch(&browser, "main form button").await?;
    heading(&browser, "ما رأيك في زيارتك اليوم؟").await?;
    assert_eq!(browser.eval("return location.pathname").await?, json!("/rate/2"));
    assert_eq!(browser.eval("return document.cookie").await?, json!(""), "HttpOnly");
    let page = browser
        .eval("return [document.documentElement.dir, document.querySelectorAll('main .faces button').length]")
        .await?;
    assert_eq!(page, json!(["rtl", 5]));
    accessible(&browser, "the faces in Arabic").await?;
    browser.screenshot(&screenshots_dir().join("rate-page-ar.png")).await?;
    // A link that cannot be used (here an unknown one) says so and how to get another.
    browser.goto(&hub.url(&format!("/rate/enrol/{}", "0".repeat(32)))).await?;
    heading(&browser, "لا يمكن استخدام رابط التسجيل هذا").await?;
    command_shown(&browser, &["dawr-hub devices link --device ID"]).await?;
    browser.screenshot(&screenshots_dir().join("rate-link-refused-ar.png")).await?;
    browser.goto(&hub.url("/rate/2")).await?;
    heading(&browser, "ما رأيك في زيارتك اليوم؟").await?;

    // Nobody has been served yet: nothing to rate.
    touch(&browser, "button[value=\"5\"]").await?;
    heading(&browser, "لا توجد زيارة حديثة").await?;

    let ticket = serve_one(&hub).await?;
    let (id, case_ref) = (ticket["id"].as_u64().unwrap(), ticket["case_ref"].as_str().unwrap().to_string());
    browser.goto(&hub.url("/rate/2?lang=en")).await?;
    accessible(&browser, "the faces in English").await?;
    touch(&browser, "button[value=\"1\"]").await?;
    heading(&browser, "What went wrong?").await?;
    let reasons = browser.eval("return document.querySelectorAll('main .reasons button').length").await?;
    assert_eq!(reasons, 5, "a low score asks why");
    accessible(&browser, "the reason page in English").await?;
    browser.screenshot(&screenshots_dir().join("rate-page-why-en.png")).await?;

    // The score was recorded at the touch: the visit, its escalation and the report have it now.
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!((visit["rating"].as_u64(), visit.get("rating_reason")), (Some(1), None), "{visit}");
    let (status, case) = hub.get(&format!("/api/v1/cases/{case_ref}")).await?;
    assert_eq!(status, 200, "{case}");
    let escalation = &case["escalation"];
    assert_eq!(
        (escalation["score"].as_u64(), escalation["reason"].as_str(), escalation["open"].as_bool()),
        (Some(1), Some("no_reason_given"), Some(true)),
        "the escalation opens at the touch: {case}"
    );
    let summary = report(&hub).await?;
    assert_eq!(summary["csat"]["ratings"], 1, "{summary}");
    assert_eq!(summary["csat"]["reasons"], json!({"no_reason_given": 1}), "{summary}");

    // The visitor walks away: the page returns to the faces by itself, not before 20 s without a
    // touch, and the return drops nothing. (The test shortens the page's own timer rather than
    // waiting 30 s; a touch starts it again.)
    let (seconds, to) = timed_return(&browser).await?;
    assert!(seconds >= 20, "the reason page waits {seconds} s");
    assert_eq!(to, "/rate/2?lang=en");
    browser
        .eval(
            "document.querySelector('main').dataset.returnAfter = '0.3'; \
             window.dispatchEvent(new KeyboardEvent('keydown')); return true;",
        )
        .await?;
    heading(&browser, "How was your visit today?").await?;
    let back_at = browser.eval("return location.pathname + location.search").await?;
    assert_eq!(back_at, json!(to), "it returned by itself");
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!(visit["rating"], 1, "the return kept the score");
    let offer = browser.eval("return document.querySelector('main a.why').textContent").await?;
    assert!(plain(&offer).contains("A001"), "the faces offer to say why: {offer}");
    accessible(&browser, "the faces offering a reason").await?;

    // Later in the same visit, the visitor says why: the reason joins the same rating.
    touch(&browser, "main a.why").await?;
    heading(&browser, "What went wrong?").await?;
    touch(&browser, "button[value=\"staff_conduct\"]").await?;
    heading(&browser, "Thank you for telling us.").await?;
    accessible(&browser, "the thank-you page in English").await?;
    let (seconds, to) = timed_return(&browser).await?;
    assert!(seconds >= 20 && to == "/rate/2?lang=en", "{seconds} {to}");
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!((visit["rating"].as_u64(), visit["rating_reason"].as_str()), (Some(1), Some("staff_conduct")));
    let summary = report(&hub).await?;
    assert_eq!(summary["csat"]["ratings"], 1, "still one rating: {summary}");
    assert_eq!(summary["csat"]["reasons"], json!({"staff_conduct": 1}), "{summary}");
    let (_, case) = hub.get(&format!("/api/v1/cases/{case_ref}")).await?;
    assert_eq!(case["escalation"]["reason"], "staff_conduct", "{case}");

    // A second touch rates nothing twice, and there is no reason left to ask for.
    browser.goto(&hub.url("/rate/2?lang=en")).await?;
    heading(&browser, "How was your visit today?").await?;
    assert_eq!(browser.eval("return document.querySelector('main a.why')").await?, Value::Null);
    touch(&browser, "button[value=\"5\"]").await?;
    heading(&browser, "already been rated").await?;
    let (_, visit) = hub.get(&format!("/api/v1/tickets/{id}")).await?;
    assert_eq!(visit["rating"], 1, "rated once");

    // The next visitor, in Arabic: the reason and thank-you pages pass axe too.
    serve_one(&hub).await?;
    browser.goto(&hub.url("/rate/2")).await?;
    heading(&browser, "ما رأيك في زيارتك اليوم؟").await?;
    touch(&browser, "button[value=\"2\"]").await?;
    heading(&browser, "ما الذي لم يكن جيدًا؟").await?;
    accessible(&browser, "the reason page in Arabic").await?;
    touch(&browser, "button[value=\"waited_too_long\"]").await?;
    heading(&browser, "شكرًا لإخبارنا").await?;
    accessible(&browser, "the thank-you page in Arabic").await?;
    let summary = report(&hub).await?;
    assert_eq!(summary["csat"]["ratings"], 2, "{summary}");
    Ok(())
}

/// The device cookie of an enrolment link's answer (`name=value`), and the whole header.
fn device_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    let header = response.headers().get(reqwest::header::SET_COOKIE)?.to_str().ok()?.to_string();
    Some((header.split(';').next()?.to_string(), header))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_link_works_once_other_links_and_tablets_are_refused_and_revocation_ends_the_cookie() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let client = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let rating = hub.enrol("rating-x", "rating", Some("3"))?;
    let link = rating.enrol_link.clone().context("devices add prints a rating device's link")?;
    // Opening the link (as a chat app's preview or a mail scanner does) asks, sets nothing and
    // takes nothing: the page's form does, once.
    for _ in 0..2 {
        let asked = client.get(hub.url(&format!("{link}?lang=en"))).send().await?;
        assert_eq!(asked.status().as_u16(), 200);
        assert!(device_cookie(&asked).is_none(), "a GET sets no cookie");
        let page = asked.text().await?.replace(['\u{2068}', '\u{2069}'], "");
        assert!(page.contains("Make this tablet the rating tablet of counter 3?"), "{page}");
        assert!(page.contains("action=\"/rate/enrol\"") && !page.contains("<script"), "a form, no script: {page}");
    }
    let token = link.trim_start_matches("/rate/enrol/").to_string();
    let elsewhere = client
        .post(hub.url("/rate/enrol"))
        .header("origin", "http://evil.example")
        .form(&[("token", token.as_str())])
        .send()
        .await?;
    assert_eq!(elsewhere.status().as_u16(), 403, "another site's form cannot take the link");
    let opened = client.post(hub.url("/rate/enrol")).form(&[("token", token.as_str()), ("lang", "ar")]).send().await?;
    assert_eq!(opened.status().as_u16(), 303);
    assert_eq!(opened.headers()["location"], "/rate/3?lang=ar");
    let (cookie, header) = device_cookie(&opened).context("the device cookie")?;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/rate"] {
        assert!(header.contains(attribute), "{header}");
    }
    assert!(!header.contains("Secure"), "plain http: {header}");
    let faces = client.get(hub.url("/rate/3?lang=en")).header("cookie", &cookie).send().await?;
    assert_eq!(faces.status().as_u16(), 200);
    assert!(faces.text().await?.contains("How was your visit today?"));

    // The same link again, an unknown one, one that is not a token: refused, with a page saying so.
    for (path, status) in
        [(link.clone(), 410), (format!("/rate/enrol/{}", "0".repeat(32)), 404), ("/rate/enrol/x".into(), 404)]
    {
        let refused = client.get(hub.url(&format!("{path}?lang=en"))).send().await?;
        assert_eq!(refused.status().as_u16(), status, "{path}");
        assert!(device_cookie(&refused).is_none(), "{path} sets no cookie");
        assert!(refused.text().await?.contains("This enrolment link cannot be used"), "{path}");
        let token = path.trim_start_matches("/rate/enrol/");
        let posted = client.post(hub.url("/rate/enrol")).form(&[("token", token), ("lang", "en")]).send().await?;
        assert_eq!(posted.status().as_u16(), status, "POST {path}");
        assert!(device_cookie(&posted).is_none(), "POST {path} sets no cookie");
    }
    // Another counter's page refuses this tablet and names its own counter.
    let other = client.get(hub.url("/rate/2?lang=en")).header("cookie", &cookie).send().await?;
    assert_eq!(other.status().as_u16(), 403);
    let text = other.text().await?.replace(['\u{2068}', '\u{2069}'], "");
    assert!(text.contains("This tablet rates counter 3"), "{text}");
    let posted =
        client.post(hub.url("/rate/2?lang=en")).header("cookie", &cookie).form(&[("score", "5")]).send().await?;
    assert_eq!(posted.status().as_u16(), 403, "nor may it rate there");
    // A cookie that was never set is no device.
    let forged =
        client.get(hub.url("/rate/3")).header("cookie", format!("dawr_device={}", "a".repeat(32))).send().await?;
    assert_eq!(forged.status().as_u16(), 401);

    // Revoked: the cookie stops working within a few seconds.
    hub.revoke("rating-x")?;
    let revoked_at = std::time::Instant::now();
    let refused = dawr_e2e::wait_until(Duration::from_secs(5), || {
        let request = client.get(hub.url("/rate/3")).header("cookie", &cookie);
        async move { request.send().await.is_ok_and(|r| r.status().as_u16() == 401) }
    })
    .await;
    assert!(refused, "the revoked tablet is still served after {:?}", revoked_at.elapsed());
    Ok(())
}

#[test]
fn the_cli_prints_new_links_for_rating_devices_only() -> Result<()> {
    // An expired link's refusal is the hub's unit test (`device_links`, which sets the clock past
    // the 24 hours); here, the CLI's new link for an enrolled rating device, and none for others.
    let dir = tempfile::tempdir()?;
    let run = |args: &[&str]| {
        std::process::Command::new(dawr_e2e::hub_binary())
            .arg("devices")
            .args(args)
            .arg("--data-dir")
            .arg(dir.path())
            .output()
    };
    let added = run(&["add", "--device", "rating-5", "--role", "rating", "--counter", "5"])?;
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let credentials: dawr_e2e::DeviceCredentials = serde_json::from_slice(&added.stdout)?;
    let link = run(&["link", "--device", "rating-5"])?;
    let link = String::from_utf8(link.stdout)?;
    assert!(link.trim().starts_with("/rate/enrol/") && link.trim().len() == "/rate/enrol/".len() + 32, "{link}");
    assert_ne!(Some(link.trim()), credentials.enrol_link.as_deref(), "a new link each time");
    run(&["add", "--device", "kiosk-9", "--role", "kiosk"])?;
    let refused = run(&["link", "--device", "kiosk-9"])?;
    assert!(!refused.status.success(), "a kiosk has no exit page");
    Ok(())
}
