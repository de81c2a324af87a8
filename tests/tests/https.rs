//! HTTPS end to end: the appointments site served over TLS with a certificate from a private CA
//! made here, and the hub trusting that CA (`--appointments-ca-file`): a booking made on the site
//! reaches the hub, and its check-in reaches back. A hub given another CA does not sync and its
//! log says the certificate was refused. The hub's own listener with `--tls-branch-cert`: a
//! client trusting the CA that `dawr-hub tls ca-cert` prints connects, and the dashboard's
//! cookie carries `Secure` (over plain HTTP it does not).
use std::time::Duration;

use anyhow::{Result, bail};
use dawr_e2e::appointments::{Site, TEST_KEY, citizen_id, example_booking, held, test_site};
use dawr_e2e::{Hub, TestPki, wait_until};
use serde_json::{Value, json};

/// Waits until the site says the booking is `status`.
async fn site_status(site: &Site, code: &str, id: &str, status: &str) -> Result<()> {
    let mut last = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while tokio::time::Instant::now() < deadline {
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
async fn the_hub_syncs_with_a_site_over_https_it_trusts_and_says_why_when_it_does_not() -> Result<()> {
    let pki = TestPki::new()?;
    let site = Site::start_https(Some(&test_site(2, 1000)), &pki).await?;
    let url = site.url("");
    assert!(url.starts_with("https://"), "{url}");
    let link = |ca: &std::path::Path| {
        let ca = ca.display().to_string();
        vec![
            "--appointments-url".to_string(),
            url.clone(),
            "--appointments-key".into(),
            TEST_KEY.into(),
            "--appointments-poll-s".into(),
            "0.5".into(),
            "--appointments-ca-file".into(),
            ca,
        ]
    };
    let trusted = link(&pki.ca_cert);
    let hub = Hub::start_embedded_with(&trusted.iter().map(String::as_str).collect::<Vec<_>>()).await?;

    let (start, _) = site.first_free_slot("E").await?;
    let id = citizen_id(1);
    let (status, booked) = site.post("/api/v1/bookings", example_booking(&start, "E", 1)).await?;
    assert_eq!(status, 201, "{booked}");
    let code = booked["code"].as_str().unwrap().to_string();
    assert_eq!(held(&hub, &code, &start).await?["status"], "booked", "pulled over HTTPS");
    let (status, ticket) = hub.post("/api/v1/checkins", json!({"code": code, "request_id": "kiosk-1-1"})).await?;
    assert_eq!(status, 201, "{ticket}");
    site_status(&site, &code, &id, "checked_in").await?;

    // Another CA (here a second private one) does not vouch for the site's certificate.
    let other = TestPki::new()?;
    let untrusted = link(&other.ca_cert);
    let stranger = Hub::start_embedded_with(&untrusted.iter().map(String::as_str).collect::<Vec<_>>()).await?;
    let said = wait_until(Duration::from_secs(20), || async {
        stranger.log().contains("appointments site unreachable") && stranger.log().contains("invalid peer certificate")
    })
    .await;
    assert!(said, "the log says the certificate was refused:\n{}", stranger.log());
    let (status, _) = stranger.post("/api/v1/checkins", json!({"code": code})).await?;
    assert_eq!(status, 404, "nothing was pulled from a site it does not trust");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_hub_serves_https_with_the_branch_certificate_and_its_cookies_are_secure() -> Result<()> {
    let hub = Hub::start_embedded_with(&["--tls-branch-cert"]).await?;
    assert!(hub.url("/").starts_with("https://"));
    // The CA as an operator gets it: `dawr-hub tls ca-cert`.
    let printed = std::process::Command::new(dawr_e2e::hub_binary())
        .args(["tls", "ca-cert", "--data-dir"])
        .arg(&hub.data_dir)
        .output()?;
    assert!(printed.status.success(), "{}", String::from_utf8_lossy(&printed.stderr));
    let dir = tempfile::tempdir()?;
    let ca = dir.path().join("printed-ca.pem");
    std::fs::write(&ca, &printed.stdout)?;
    let client = dawr_e2e::trusting(&ca)?.redirect(reqwest::redirect::Policy::none()).build()?;
    let health: Value = client.get(hub.url("/healthz")).send().await?.json().await?;
    assert_eq!(health["status"], "ok", "{health}");

    let signed_in = client
        .post(hub.url("/dashboard/sign-in?lang=en"))
        .form(&[("staff", "m001"), ("pin", hub.pin("m001"))])
        .send()
        .await?;
    let cookie = signed_in.headers()["set-cookie"].to_str()?.to_string();
    assert!(cookie.ends_with("; Secure") && cookie.contains("HttpOnly"), "{cookie}");

    // A client that trusts only another CA is refused; plain HTTP gets no answer.
    let other = TestPki::new()?;
    let stranger = dawr_e2e::trusting(&other.ca_cert)?.build()?;
    let refused = stranger.get(hub.url("/healthz")).send().await.unwrap_err();
    assert!(format!("{refused:?}").contains("UnknownIssuer"), "{refused:?}");
    let plain = dawr_e2e::http_client().build()?.get(format!("http://{}/healthz", hub.http)).send().await;
    assert!(plain.is_err() || !plain?.status().is_success(), "no plain HTTP on an HTTPS listener");

    // The same hub over plain HTTP sets no Secure cookie.
    let plain = Hub::start_embedded().await?;
    let signed_in = dawr_e2e::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()?
        .post(plain.url("/dashboard/sign-in?lang=en"))
        .form(&[("staff", "m001"), ("pin", plain.pin("m001"))])
        .send()
        .await?;
    let cookie = signed_in.headers()["set-cookie"].to_str()?.to_string();
    assert!(!cookie.contains("Secure"), "{cookie}");
    Ok(())
}
