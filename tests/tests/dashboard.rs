//! The managers' dashboard in headless Chromium against a real hub: staff are turned away, a
//! manager signs in and sees the day's figures, a live alert for a service over its target, the
//! CSV, in Arabic (right to left) and English; without the session cookie nothing is shown.

use anyhow::{Context, Result};
use dawr_e2e::browser::Browser;
use dawr_e2e::{Hub, screenshots_dir};
use serde_json::json;

async fn sign_in(browser: &Browser, staff: &str, pin: &str) -> Result<()> {
    browser
        .leave_page(&format!(
            "document.getElementById('staff').value = '{staff}'; document.getElementById('pin').value = '{pin}'; \
             document.querySelector('form').submit()"
        ))
        .await
}

fn text(value: &serde_json::Value) -> String {
    value.as_str().unwrap_or_default().replace(['\u{2068}', '\u{2069}'], "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_manager_signs_in_and_sees_the_day_in_both_languages() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    // The day: two served at counter 2 (one rated 2, waited too long), one no-show at counter 3,
    // and a long queue for complaints (F), served by two counters only: over its target.
    for service in ["A", "A", "A"] {
        hub.post("/api/v1/tickets", json!({"service": service})).await?;
    }
    for action in ["next", "complete", "next", "complete"] {
        hub.post(&format!("/api/v1/counters/2/{action}"), json!({"outcome": "resolved"})).await?;
    }
    hub.post("/api/v1/ratings", json!({"counter": "2", "score": 2, "reason": "waited_too_long"})).await?;
    hub.post("/api/v1/counters/3/next", json!({})).await?;
    hub.post("/api/v1/counters/3/no_show", json!({})).await?;
    for _ in 0..12 {
        hub.post("/api/v1/tickets", json!({"service": "F"})).await?;
    }

    // Without signing in: the form, no figures, no CSV.
    let (status, page) = {
        let response = hub.client.get(hub.url("/dashboard")).send().await?;
        (response.status().as_u16(), response.text().await?)
    };
    assert_eq!(status, 200);
    assert!(page.contains("id=\"pin\"") && !page.contains("dash-visits"), "a sign-in form only");
    let csv = hub.client.get(hub.url("/dashboard/visits.csv")).send().await?;
    assert!(!csv.text().await?.contains("number,service"), "no CSV without a session");

    let browser = Browser::start(1280, 2400).await?;
    browser.goto(&hub.url("/dashboard?lang=en")).await?;
    browser.expect_accessible("the sign-in form in English").await?;
    browser.goto(&hub.url("/dashboard")).await?;
    browser.expect_accessible("the sign-in form in Arabic").await?;
    let lang = browser.eval("return [document.documentElement.lang, document.documentElement.dir]").await?;
    assert_eq!(lang, json!(["ar", "rtl"]));
    sign_in(&browser, "s101", "1111").await?;
    let refused = browser.eval("return document.body.innerText").await?;
    assert!(text(&refused).contains("للمديرين فقط"), "staff are turned away: {refused}");
    browser.expect_accessible("the dashboard turning staff away, in Arabic").await?;

    sign_in(&browser, "m001", "2468").await?;
    let cards = browser
        .eval("return Array.from(document.querySelectorAll('.card')).map(c => [c.querySelector('.k').textContent, c.querySelector('.v').textContent])")
        .await?;
    let card = |label: &str| -> String {
        cards
            .as_array()
            .unwrap()
            .iter()
            .find(|c| text(&c[0]) == label)
            .map(|c| text(&c[1]))
            .unwrap_or_else(|| panic!("no card {label}: {cards}"))
    };
    assert_eq!(card("المنتظرون"), "12");
    assert_eq!(card("الزيارات"), "15");
    assert_eq!(card("المخدومون"), "2");
    assert_eq!(card("لم يحضروا"), "1");
    assert_eq!(card("الرضا"), "2.00 / 5");
    // Live: counters 2 and 3 have someone signed in (the other six nobody): staffed and open.
    assert_eq!(card("الشبابيك المشغولة بموظف"), "2 / 8");
    assert_eq!(card("الشبابيك المتوقفة"), "0 / 8");
    assert_eq!(card("الشبابيك المفتوحة (بموظف وغير متوقفة)"), "2 / 8");
    // The weekday × hour grid holds every ticket of the day.
    let grid = browser
        .eval("return Array.from(document.querySelectorAll('#grid tbody td strong')).map(s => +s.textContent).reduce((a, b) => a + b, 0)")
        .await?;
    assert_eq!(grid, json!(15), "the grid's tickets");
    let demo = browser.eval("const d = document.querySelector('.demo'); return d ? d.textContent : ''").await?;
    assert!(text(&demo).contains("تجريبي"), "the demo branch says it is the demo: {demo}");
    // Its `--config`, inside Arabic, is drawn left to right (the LRM marks around it in ar.ftl):
    // the dashes left of the `c`, not after it ("config--").
    let drawn = browser
        .eval(
            "const t = document.querySelector('.demo').firstChild; const i = t.textContent.indexOf('--config'); \
             const left = j => { const r = document.createRange(); r.setStart(t, j); r.setEnd(t, j + 1); \
                                 return r.getBoundingClientRect().left; }; \
             return i < 0 ? null : [left(i), left(i + 1), left(i + 2)];",
        )
        .await?;
    let dashes_then_c: [f64; 3] = serde_json::from_value(drawn).context("--config in the demo note")?;
    assert!(
        dashes_then_c[0] < dashes_then_c[1] && dashes_then_c[1] < dashes_then_c[2],
        "--config drawn left to right in the Arabic demo note: {dashes_then_c:?}"
    );
    let alert = browser.eval("return Array.from(document.querySelectorAll('.alert')).map(a => a.textContent)").await?;
    assert!(text(&alert[0]).contains("الشكاوى والمقترحات"), "complaints are over target: {alert}");
    // The over-target line is one of the live alerts: the list never says "no alerts" above it.
    let live = browser
        .eval(
            "return [document.getElementById('alerts').innerText, document.querySelectorAll('#alerts .alert').length]",
        )
        .await?;
    assert!(
        !text(&live[0]).contains("لا تنبيهات") && text(&live[0]).contains("الشكاوى والمقترحات") && live[1] == 1,
        "the over-target line is in the live alerts, and only once: {live}"
    );
    let reasons = browser.eval("return document.body.innerText").await?;
    assert!(text(&reasons).contains("انتظار طويل"), "the low rating's reason");
    browser.screenshot(&screenshots_dir().join("dashboard-ar.png")).await?;
    browser.expect_accessible("the dashboard signed in, in Arabic").await?;
    print_check(&browser, "ar").await?;

    // The CSV with the manager's session.
    let csv = browser
        .eval("var x = new XMLHttpRequest(); x.open('GET', document.querySelector('a[href^=\"/dashboard/visits.csv\"]').href, false); x.send(); return [x.status, x.responseText];")
        .await?;
    assert_eq!(csv[0], 200);
    assert_eq!(csv[1].as_str().unwrap().lines().count(), 16, "a header and 15 visits");

    // English, same figures, left to right.
    browser.leave_page("document.querySelector('a[lang=\"en\"]').click()").await?;
    let page = browser.eval("return [document.documentElement.dir, document.body.innerText]").await?;
    assert_eq!(page[0], "ltr");
    let body = text(&page[1]);
    assert!(body.contains("Visits") && body.contains("Complaints and suggestions"), "{body}");
    assert!(body.contains("Monthly report"));
    browser.screenshot(&screenshots_dir().join("dashboard-en.png")).await?;
    browser.expect_accessible("the dashboard signed in, in English").await?;
    print_check(&browser, "en").await?;
    assert!(smallest_chart_text(&browser).await? >= 14.0, "chart text reads at 14 px or more");
    let axes = browser.eval("return Array.from(document.querySelectorAll('.charts svg')).map(s => [s.querySelectorAll('text.tick').length, s.querySelectorAll('line.target, line.goal').length])").await?;
    assert!(axes.as_array().unwrap().iter().all(|a| a[0].as_u64() >= Some(2)), "every chart has a ticked axis: {axes}");
    assert!(
        axes.as_array().unwrap().iter().any(|a| a[1].as_u64() >= Some(1)),
        "targets and the goal are drawn: {axes}"
    );

    // At a phone's width, in Arabic: nothing scrolls sideways, chart text still reads at 14 px.
    let phone = Browser::start_phone(390, 844).await?;
    phone.goto(&hub.url("/dashboard")).await?;
    sign_in(&phone, "m001", "2468").await?;
    let fit = phone.eval("return [document.documentElement.scrollWidth, window.innerWidth]").await?;
    assert!(fit[0].as_u64() <= fit[1].as_u64(), "no sideways scroll at 390 px: {fit}");
    assert_eq!(fit[1], 390, "{fit}");
    assert!(smallest_chart_text(&phone).await? >= 14.0, "chart text on a phone");
    Ok(())
}

/// The smallest chart text on the page as drawn, in CSS pixels (its font size times the chart's
/// scale).
async fn smallest_chart_text(browser: &Browser) -> Result<f64> {
    let smallest = browser
        .eval(
            "return Math.min(...Array.from(document.querySelectorAll('.charts svg text'))\
             .map(t => parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a));",
        )
        .await?;
    Ok(smallest.as_f64().unwrap_or(0.0))
}

/// The month printed: the live block, the filter form and the devices stay off the paper; the
/// head names the branch with Hijri and Gregorian dates; no table is wider than the page; the
/// A4 PDF has a few pages. Saves a picture of the print layout.
async fn print_check(browser: &Browser, lang: &str) -> Result<()> {
    let pdf = browser.print_pdf().await?;
    let pages =
        pdf.windows(b"/Type /Page".len() + 1).filter(|w| w.starts_with(b"/Type /Page") && w[11] != b's').count();
    assert!((1..=4).contains(&pages), "{lang}: a month's report prints on a few A4 pages, not {pages}");
    browser.emulate_print(true).await?;
    let shown = browser
        .eval(
            "const shown = s => { const e = document.querySelector(s); return !!e && getComputedStyle(e).display !== 'none'; };\
             const page = document.querySelector('main').clientWidth;\
             const wide = Array.from(document.querySelectorAll('table')).filter(t => t.offsetParent && t.scrollWidth > page + 1).length;\
             return [shown('#now-section'), shown('form.filters'), shown('.print-head'), wide, document.querySelector('.print-head').innerText];",
        )
        .await?;
    assert_eq!(
        (&shown[0], &shown[1], &shown[2], &shown[3]),
        (&json!(false), &json!(false), &json!(true), &json!(0)),
        "{lang}: {shown}"
    );
    // Each table's row labels (a service, a month, a day) line up with the label column's head.
    let misaligned = browser
        .eval(
            "return Array.from(document.querySelectorAll('table')).filter(t => t.offsetParent).flatMap(t => {\
               const head = t.querySelector('thead th'); if (!head) return [];\
               const align = getComputedStyle(head).textAlign;\
               return Array.from(t.querySelectorAll('tbody th[scope=row]'))\
                 .filter(th => getComputedStyle(th).textAlign !== align)\
                 .map(th => (t.id || t.parentElement.id) + ': ' + th.textContent);\
             });",
        )
        .await?;
    assert_eq!(misaligned, json!([]), "{lang}: row labels aligned otherwise than their column's head");
    let head = text(&shown[4]);
    let hijri = if lang == "ar" { "هـ" } else { "AH" };
    assert!(
        head.contains(hijri) && head.contains("demo"),
        "{lang}: the branch and the Hijri date head the page: {head}"
    );
    browser.screenshot(&screenshots_dir().join(format!("dashboard-print-{lang}.png"))).await?;
    browser.emulate_print(false).await?;
    Ok(())
}
