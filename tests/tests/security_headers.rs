//! Every page of both web services carries the security headers, on success and on error:
//! the test walks the list each router is built from (`dawr_hub::web::page_paths`,
//! `dawr_appointments::app::page_paths`), fills each path's parameters with a real value and an
//! unknown one, asks with GET and POST, and checks every answer. Every inline script a hub page
//! carries is one the policy names by its hash, and the policy names no other.
use std::collections::BTreeMap;

use anyhow::{Result, ensure};
use dawr_appointments::validate::national_id_from;
use dawr_e2e::Hub;
use dawr_e2e::appointments::{Site, test_site};
use reqwest::header::{HeaderMap, SET_COOKIE};
use serde_json::json;

/// One answer: the path asked, its status and headers, and its body.
struct Answer {
    what: String,
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn is_html(&self) -> bool {
        self.headers.get("content-type").and_then(|v| v.to_str().ok()).is_some_and(|t| t.starts_with("text/html"))
    }
}

/// Checks the headers every answer must carry; returns the Content-Security-Policy.
fn check_headers(answer: &Answer) -> Result<String> {
    let header = |name: &str| answer.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let csp = header("content-security-policy");
    let what = format!("{} ({})", answer.what, answer.status);
    ensure!(csp.starts_with("default-src 'none'"), "{what}: CSP {csp:?}");
    ensure!(csp.contains("frame-ancestors 'none'") && csp.contains("base-uri 'none'"), "{what}: CSP {csp:?}");
    ensure!(header("x-content-type-options") == "nosniff", "{what}: no nosniff");
    ensure!(header("x-frame-options") == "DENY", "{what}: may be framed");
    ensure!(!header("referrer-policy").is_empty(), "{what}: no referrer policy");
    Ok(csp)
}

/// `path` with each `{param}` replaced by `values[param]`.
fn fill(path: &str, values: &BTreeMap<&str, String>) -> String {
    values.iter().fold(path.to_string(), |path, (name, value)| path.replace(&format!("{{{name}}}"), value))
}

/// Asks every page path with GET and POST (a form with a score), once with real parameters and once
/// with unknown ones; every answer must carry the headers, and every path must answer at least
/// once with a page (or, for a form's target, a redirect to one).
async fn walk(
    client: &reqwest::Client,
    base: &str,
    paths: &[&str],
    real: &BTreeMap<&str, String>,
    unknown: &BTreeMap<&str, String>,
) -> Result<Vec<Answer>> {
    let mut answers = Vec::new();
    for path in paths {
        let before = answers.len();
        for values in [real, unknown] {
            let url = format!("{base}{}", fill(path, values));
            for post in [false, true] {
                let request =
                    if post { client.post(&url).form(&[("lang", "en"), ("score", "5")]) } else { client.get(&url) };
                let response = request.send().await?;
                let (status, headers) = (response.status().as_u16(), response.headers().clone());
                let what = format!("{} {url}", if post { "POST" } else { "GET" });
                answers.push(Answer { what, status, headers, body: response.text().await? });
            }
        }
        for answer in &answers[before..] {
            check_headers(answer)?;
        }
        let page_or_redirect = |a: &Answer| a.is_html() || (300..400).contains(&a.status);
        ensure!(answers[before..].iter().any(page_or_redirect), "{path}: no page (or redirect) among its answers");
    }
    Ok(answers)
}

/// The pages' answers include pages that worked and error pages.
fn saw_success_and_error_pages(answers: &[Answer]) -> Result<()> {
    let pages: Vec<&Answer> = answers.iter().filter(|a| a.is_html()).collect();
    ensure!(pages.iter().any(|a| a.status == 200), "no page answered 200");
    ensure!(pages.iter().any(|a| a.status >= 400), "no error page");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_hub_carries_the_security_headers() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let token = ticket["token"].as_str().unwrap_or_default().to_string();
    ensure!(token.len() == 32, "a ticket token: {ticket}");
    // The walk is counter 2's exit tablet (the demo's enrolment link sets its device cookie).
    let plain = dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
    let link = hub.device("rating-2")?.enrol_link.unwrap_or_default();
    let link_token = link.trim_start_matches("/rate/enrol/");
    let enrolled = plain.post(hub.url("/rate/enrol")).form(&[("token", link_token)]).send().await?;
    let device = enrolled.headers()[SET_COOKIE].to_str()?.split(';').next().unwrap_or_default().to_string();
    let headers = reqwest::header::HeaderMap::from_iter([(reqwest::header::COOKIE, device.parse()?)]);
    let client =
        dawr_e2e::http_client().redirect(reqwest::redirect::Policy::none()).default_headers(headers).build()?;
    let real = BTreeMap::from([("token", token.clone()), ("counter", "2".to_string())]);
    let unknown = BTreeMap::from([("token", "0".repeat(31) + "f"), ("counter", "nope".to_string())]);
    let base = hub.url("");
    let mut answers = walk(&client, &base, &dawr_hub::web::page_paths(), &real, &unknown).await?;

    // A manager's dashboard, and its error page for dates that are not dates.
    let signed_in =
        client.post(hub.url("/dashboard/sign-in")).form(&[("staff", "m001"), ("pin", hub.pin("m001"))]).send().await?;
    let cookie = signed_in.headers()[SET_COOKIE].to_str()?.split(';').next().unwrap_or_default().to_string();
    for path in ["/dashboard?lang=en", "/dashboard?from=not-a-date", "/dashboard/visits.csv?from=x"] {
        let response = client.get(hub.url(path)).header("cookie", &cookie).send().await?;
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        answers.push(Answer { what: format!("GET {path}"), status, headers, body: response.text().await? });
        check_headers(answers.last().expect("just pushed"))?;
    }
    ensure!(answers.iter().any(|a| a.what == "GET /dashboard?lang=en" && a.status == 200 && a.body.contains("dash")));
    ensure!(answers.iter().any(|a| a.what == "GET /dashboard?from=not-a-date" && a.status == 400 && a.is_html()));
    ensure!(answers.iter().any(|a| a.what.starts_with("GET /dashboard/visits.csv") && a.status == 400 && a.is_html()));
    saw_success_and_error_pages(&answers)?;

    // Every inline script a page carries is one the policy names by its hash (else it would not
    // run), and the policy names no script that no page carries.
    let mut carried = std::collections::BTreeSet::new();
    for answer in answers.iter().filter(|a| a.is_html()) {
        let csp = check_headers(answer)?;
        for script in answer.body.split("<script>").skip(1).filter_map(|s| s.split("</script>").next()) {
            let hash = dawr_web::headers::script_hash(script);
            ensure!(csp.contains(&hash), "{}: its script is not allowed by {csp}", answer.what);
            carried.insert(hash);
        }
    }
    ensure!(!carried.is_empty(), "the ticket page's script was seen");
    // The dashboard carries one script, its live alerts', and its policy allows that one only.
    let alerts = dawr_web::headers::script_hash(dawr_hub::web::dashboard::ALERTS_SCRIPT);
    for answer in answers.iter().filter(|a| a.what.contains("/dashboard")) {
        let csp = check_headers(answer)?;
        let only_alerts =
            csp.matches("'sha256-").count() <= 1 && (!csp.contains("script-src") || csp.contains(&alerts));
        ensure!(only_alerts, "{}: the dashboard allows another script: {csp}", answer.what);
    }
    let dashboard = answers.iter().find(|a| a.what == "GET /dashboard?lang=en").expect("the dashboard");
    ensure!(dashboard.body.contains("id=\"alerts\""), "the dashboard has its live alerts");
    let ticket_page = answers.iter().find(|a| a.what == format!("GET {base}/t/{token}")).expect("the ticket page");
    let allowed = check_headers(ticket_page)?.matches("'sha256-").count();
    ensure!(allowed <= carried.len(), "the policy allows {allowed} scripts, pages carry {}", carried.len());
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_of_the_appointments_site_carries_the_security_headers() -> Result<()> {
    let site = Site::start(Some(&test_site(2, 1000))).await?;
    let (start, _) = site.first_free_slot("E").await?;
    let booking = json!({
        "branch": "demo", "service": "E", "start": start, "name": "Citizen",
        "national_id": national_id_from(3, true), "phone": "0551234567", "lang": "en"
    });
    let (status, booked) = site.post("/api/v1/bookings", booking).await?;
    ensure!(status == 201, "{booked}");
    let token = booked["page_url"].as_str().unwrap_or_default().rsplit('/').next().unwrap_or_default().to_string();
    let real = BTreeMap::from([("branch", "demo".to_string()), ("service", "E".to_string()), ("token", token)]);
    let unknown = BTreeMap::from([("branch", "nope".into()), ("service", "nope".into()), ("token", "nope".into())]);
    let answers = walk(&site.client, &site.url(""), &dawr_appointments::app::page_paths(), &real, &unknown).await?;
    saw_success_and_error_pages(&answers)?;
    for answer in &answers {
        let csp = check_headers(answer)?;
        ensure!(!csp.contains("script-src"), "the site runs no script: {csp}");
    }
    Ok(())
}
