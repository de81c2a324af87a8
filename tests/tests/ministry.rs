//! The ministry network end to end: nats-server with JetStream, PostgreSQL, the centre's writer
//! and three real hubs with their uplinks. Tickets and calls in each branch reach the centre
//! (the lag is printed); one branch's link is cut by a relay the test controls while it keeps
//! serving, then restored; the writer is `kill -9`ed mid-load and started again. At the end the
//! centre holds every event of every branch exactly once and computes the same figures for each
//! branch-day as the branch's own `/api/v1/reports/summary`. And with per-branch NATS logins, a
//! branch's uplink works with its own rights, and the branch cannot publish as another branch
//! or read the configuration bucket; its catch-up subject reaches PostgreSQL through the
//! writer's catch-up consumer; a case note written at the branch shows on the centre's page
//! of the branch.
use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use dawr_e2e::browser::Browser;
use dawr_e2e::ministry::{
    self, CENTRE_PASSWORD, CENTRE_USER, Central, Nats, NatsCluster, Postgres, Relay, both_reports, branch_file,
    branch_file_as, branch_rights, central_binary, centre_log, hub_log, live_health, serve_one, with_service_g,
    without_branch_tables,
};
use dawr_e2e::{Hub, MqttProbe, TEST_PINS, hub_day, screenshots_dir, wait_until};
use dawr_protocol::api::BranchInfo;
use dawr_protocol::api::ministry::{BranchDay, CentralBranch, LiveBoard, UplinkEvent};
use serde_json::{Value, json};

/// `dawr-central days` for one branch-day: its stored figures (none before it is computed).
fn centre_days(postgres: &str, branch: &str, day: &str) -> Result<Vec<BranchDay>> {
    let out = Command::new(central_binary())
        .args(["days", "--postgres-url", postgres, "--branch", branch, "--from", day, "--to", day])
        .output()?;
    ensure!(out.status.success(), "dawr-central days: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// Waits until the centre has every event of `hub`'s log, up to `within`.
async fn wait_complete(postgres: &str, branch: &str, hub: &Hub, within: Duration) -> Result<()> {
    let done = wait_until(within, || async move {
        let (last, _) = hub_log(hub).unwrap_or_default();
        matches!(centre_log(postgres, branch), Ok(Some(l)) if l.max_seq == last && l.complete)
    })
    .await;
    ensure!(done, "the centre lacks events of {branch}: {:?}, hub {:?}", centre_log(postgres, branch)?, hub_log(hub)?);
    Ok(())
}

/// How many of `branch`'s events the centre holds more than once (by log and sequence).
async fn stored_more_than_once(postgres: &str, branch: &str) -> Result<i64> {
    let (pg, connection) = tokio_postgres::connect(postgres, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let row = pg
        .query_one(
            "SELECT count(*) FROM (SELECT 1 FROM events WHERE branch = $1 GROUP BY log_id, seq HAVING count(*) > 1) d",
            &[&branch],
        )
        .await?;
    Ok(row.get(0))
}

/// Where the events stream's copies are, as the node `js` is connected to says (`None` when
/// it does not answer, as during an election).
async fn stream_cluster(js: &async_nats::jetstream::Context) -> Option<async_nats::jetstream::stream::ClusterInfo> {
    let mut stream = js.get_stream("DAWR_EVENTS").await.ok()?;
    stream.info().await.ok()?.cluster.clone()
}

/// Waits (up to 30 s) until node `back` has caught up with the events stream and all three
/// copies are current, and the metadata group is whole too; returns the node leading the stream
/// then.
async fn leader_of_whole_stream(cluster: &NatsCluster, back: usize) -> Result<usize> {
    let js = async_nats::jetstream::new(async_nats::connect(cluster.nodes[back].url()).await?);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        // A request may time out while the node rejoins: asked again. The metadata group must be
        // whole too, or killing its leader next leaves two nodes of which one still catches up.
        if let Some(stream) = stream_cluster(&js).await {
            let whole = stream.replicas.len() == 2 && stream.replicas.iter().all(|p| p.current && !p.offline);
            if let (true, true, Some(leader)) = (whole, cluster.metadata_whole().await, stream.leader) {
                return leader.trim_start_matches('n').parse().context("a node's name");
            }
        }
        ensure!(Instant::now() < deadline, "node n{back} never caught up with the events stream and the metadata");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_branch_event_reaches_the_centre_once_through_a_cut_link_and_a_killed_writer() -> Result<()> {
    let nats = Nats::start()?;
    let postgres = Postgres::start()?;
    let pg = postgres.url();
    let files = tempfile::tempdir()?;
    let centre_file = files.path().join("centre.toml");
    std::fs::write(&centre_file, centre_file_text())?;
    let (mut central, dashboard) = Central::start_with_dashboard(&nats.url(), &pg, &centre_file)?;
    let nats_addr: SocketAddr = format!("127.0.0.1:{}", nats.port).parse()?;
    let relay = Relay::start(nats_addr);
    let branches = ["b1", "b2", "b3"];
    let mut hubs = Vec::new();
    for id in branches {
        // b1 reaches the centre through the relay the test cuts, and lives two days ago: its
        // day is over at the centre, so the centre computes its figures while it is cut off,
        // and the events that come after are late.
        let url = if id == "b1" { relay.nats_url() } else { nats.url() };
        let file = branch_file(files.path(), id, &url)?;
        let mut args = vec!["--config", file.as_str()];
        if id == "b1" {
            args.extend(["--clock-offset-s", "-172800"]);
        }
        hubs.push(Hub::start_embedded_with(&args).await?);
    }

    // Live: each visit's events at the centre, timed from the branch's answer.
    let mut lags = Vec::new();
    let mut days = vec![None; branches.len()];
    for round in 0..4 {
        for (i, (id, hub)) in branches.iter().zip(&hubs).enumerate() {
            let ticket = serve_one(hub, ["A", "D"][round % 2], "2").await?;
            days[i].get_or_insert(hub_day(&ticket).to_string());
            let answered = Instant::now();
            wait_complete(&pg, id, hub, Duration::from_secs(30)).await?;
            lags.push(answered.elapsed());
        }
    }
    lags.sort();
    println!(
        "lag from the branch's answer to the centre's row (incl. polling): p50 {:?}, p99 {:?}, max {:?} over {} visits",
        percentile(&lags, 0.5),
        percentile(&lags, 0.99),
        lags.last().expect("lags"),
        lags.len()
    );
    let days: Vec<String> = days.into_iter().map(|d| d.expect("a day")).collect();

    // A device that goes offline at b2 shows at the centre, with since when.
    let session = centre_session(&dashboard, "c1").await?;
    devices_at_the_centre(&dashboard, &session, &hubs[1]).await?;

    // b1's link is cut: the branch keeps serving, and its new events stay at the branch; the
    // centre shows it offline once it has been silent past the age limit, and b2 online.
    relay.cut();
    let silent = wait_until(Duration::from_secs(30), || async {
        let now = centre_branches(&dashboard, &session).await.unwrap_or_default();
        let stale = |id: &str| now.iter().find(|b| b.branch == id).map(|b| b.stale);
        stale("b1") == Some(true) && stale("b2") == Some(false)
    })
    .await;
    ensure!(silent, "b1 never showed offline at the centre: {:?}", centre_branches(&dashboard, &session).await?);
    let before = centre_log(&pg, "b1")?.context("b1 at the centre")?;
    let computed = wait_until(Duration::from_secs(20), || async {
        centre_days(&pg, "b1", &days[0]).is_ok_and(|d| d.iter().any(|d| d.revisions >= 1 && !d.provisional))
    })
    .await;
    ensure!(computed, "b1's day {} was never computed: {:?}", days[0], centre_days(&pg, "b1", &days[0]));
    for _ in 0..5 {
        serve_one(&hubs[0], "A", "2").await.context("a visit at b1 while cut off")?;
    }
    let (b1_last, _) = hub_log(&hubs[0])?;
    ensure!(b1_last > before.max_seq, "b1 served on while cut off");

    // Meanwhile the writer is killed mid-load on b2 and b3 and started again.
    for n in 0..6 {
        serve_one(&hubs[1 + n % 2], "B", "4").await.context("a visit at b2 or b3")?;
        if n == 2 {
            central.kill9();
        }
    }
    // The dead writer was an old one: it leaves the single consumer of before the catch-up
    // split, which the new writer deletes at its start (and a second start finds it gone).
    let centre_js = async_nats::jetstream::new(async_nats::connect(nats.url()).await?);
    let events = centre_js.get_stream("DAWR_EVENTS").await?;
    let old = async_nats::jetstream::consumer::pull::Config {
        durable_name: Some("central-writer".into()),
        ack_policy: async_nats::jetstream::consumer::AckPolicy::Explicit,
        ..Default::default()
    };
    events.create_consumer(old).await?;
    central.restart()?;
    assert!(events.consumer_info("central-writer").await.is_err(), "the old writer's consumer is deleted at start");
    assert_eq!(events.get_info().await?.state.consumer_count, 2, "live and catch-up consumers only");
    let after_cut = centre_log(&pg, "b1")?.context("b1 at the centre")?;
    ensure!(after_cut.max_seq < b1_last, "nothing of b1 crossed the cut link: {after_cut:?}");

    relay.restore();
    for (id, hub) in branches.iter().zip(&hubs) {
        wait_complete(&pg, id, hub, Duration::from_secs(60)).await?;
    }

    // Exactly once: the centre's count equals the branch's, with no gap, for every branch.
    for ((id, hub), day) in branches.iter().zip(&hubs).zip(&days) {
        let (last, count) = hub_log(hub)?;
        let at_centre = centre_log(&pg, id)?.context("at the centre")?;
        assert_eq!((at_centre.count, at_centre.max_seq), (count, last), "{id}: {at_centre:?}");
        assert!(at_centre.complete);
        let (at_branch, at_centre) = both_reports(hub, &pg, id, day).await.context("the reports")?;
        assert_eq!(at_centre, at_branch, "{id}'s figures for {day}");
        assert!(at_branch["visits"].as_u64().unwrap_or(0) >= 4, "{id}: {at_branch}");
    }

    // b1's day got its late events: it was marked provisional and computed again, and its
    // stored figures are the branch's.
    let recomputed = wait_until(Duration::from_secs(20), || async {
        centre_days(&pg, "b1", &days[0]).is_ok_and(|d| d.iter().any(|d| d.revisions >= 2 && !d.provisional))
    })
    .await;
    let stored = centre_days(&pg, "b1", &days[0])?;
    ensure!(recomputed, "b1's day was not computed again: {stored:?}");
    let stored = stored.into_iter().next().context("b1's day")?;
    assert!(stored.late_events >= 5 * 4, "the late events were counted: {stored:?}");
    let (mut at_branch, _) = both_reports(&hubs[0], &pg, "b1", &days[0]).await?;
    let mut kept = serde_json::to_value(&stored.summary)?;
    for report in [&mut at_branch, &mut kept] {
        without_branch_tables(report)?;
    }
    assert_eq!(kept, at_branch, "b1's stored figures after the late events");

    central_dashboard(&dashboard, &hubs, &pg, &days).await?;
    if central.log().contains("panicked") {
        bail!("the centre panicked:\n{}", central.log());
    }
    Ok(())
}

/// Signs in to the central dashboard as `user` (not a browser): the session cookie.
async fn centre_session(base: &str, user: &str) -> Result<String> {
    let (_, pin, _) = TEST_PINS[3];
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let answer = client.post(format!("{base}/sign-in")).form(&[("user", user), ("password", pin)]).send().await?;
    ensure!(answer.status().is_redirection(), "signing in as {user}: {}", answer.status());
    let cookie = answer.headers().get("set-cookie").context("a session cookie")?.to_str()?;
    Ok(cookie.split(';').next().unwrap_or_default().to_string())
}

/// `GET /api/v1/branches` at the centre with the session `cookie`.
async fn centre_branches(base: &str, cookie: &str) -> Result<Vec<CentralBranch>> {
    let answer = reqwest::Client::new().get(format!("{base}/api/v1/branches")).header("cookie", cookie).send().await?;
    ensure!(answer.status() == 200, "GET /api/v1/branches: {}", answer.status());
    Ok(answer.json().await?)
}

/// `GET /branches/{branch}/cases` at the centre (English) with the session `cookie`: its status
/// and page.
async fn case_page(base: &str, cookie: &str, branch: &str) -> Result<(u16, String)> {
    let answer = reqwest::Client::new()
        .get(format!("{base}/branches/{branch}/cases?lang=en"))
        .header("cookie", cookie)
        .send()
        .await?;
    Ok((answer.status().as_u16(), answer.text().await?))
}

/// b2's `device` as an offline device at the centre (`None`: not offline there).
async fn offline_at_centre(
    base: &str,
    cookie: &str,
    device: &str,
) -> Option<dawr_protocol::api::ministry::OfflineDevice> {
    let branches = centre_branches(base, cookie).await.ok()?;
    branches.into_iter().find(|b| b.branch == "b2")?.devices_offline.into_iter().find(|d| d.device == device)
}

/// A kiosk enrolled at b2 shows offline at the centre and never heard; once online it is not
/// listed; when it goes offline it is listed again, with since when. Without a session the
/// API answers 401 with a JSON error.
async fn devices_at_the_centre(base: &str, cookie: &str, hub: &Hub) -> Result<()> {
    let refused = reqwest::get(format!("{base}/api/v1/branches")).await?;
    assert_eq!(refused.status(), 401);
    let error: dawr_protocol::api::ApiError = refused.json().await?;
    assert_eq!(error.error, "unauthorized");
    let kiosk = hub.enrol("kiosk-9", "kiosk", None)?;
    let never = wait_until(Duration::from_secs(20), || async {
        offline_at_centre(base, cookie, "kiosk-9").await.is_some_and(|d| d.since.is_none())
    })
    .await;
    ensure!(never, "kiosk-9 never showed as never heard: {:?}", centre_branches(base, cookie).await?);
    // The hub's broker admits a device enrolled beside it within seconds.
    let deadline = Instant::now() + Duration::from_secs(20);
    let device = loop {
        match MqttProbe::connect(hub.mqtt_port(), &kiosk).await {
            Ok(device) => break device,
            Err(e) if Instant::now() > deadline => bail!("kiosk-9 never admitted at b2: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    };
    let topic = "dawr/v1/b2/devices/kiosk-9/status";
    device.client.publish(topic, rumqttc::QoS::AtLeastOnce, true, br#"{"status":"online"}"#.to_vec()).await?;
    let online = wait_until(Duration::from_secs(20), || async {
        centre_branches(base, cookie).await.is_ok_and(|b| b.iter().any(|b| b.branch == "b2"))
            && offline_at_centre(base, cookie, "kiosk-9").await.is_none()
    })
    .await;
    ensure!(online, "kiosk-9 online never reached the centre: {:?}", centre_branches(base, cookie).await?);
    let went = chrono::Utc::now();
    device.client.publish(topic, rumqttc::QoS::AtLeastOnce, true, br#"{"status":"offline"}"#.to_vec()).await?;
    let offline = wait_until(Duration::from_secs(20), || async {
        offline_at_centre(base, cookie, "kiosk-9").await.is_some_and(|d| d.since.is_some())
    })
    .await;
    ensure!(offline, "kiosk-9 offline never reached the centre: {:?}", centre_branches(base, cookie).await?);
    let since = offline_at_centre(base, cookie, "kiosk-9").await.and_then(|d| d.since).context("since")?;
    assert!((since - went).num_seconds().abs() < 10, "offline since {since}, went offline at {went}");
    Ok(())
}

/// Posts the configuration form of `branch` at the centre with the session `cookie` (and more
/// headers); the answer's status.
async fn post_config(
    base: &str,
    cookie: &str,
    branch: &str,
    fields: &[(&str, String)],
    headers: &[(&str, &str)],
) -> Result<u16> {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let mut request = client.post(format!("{base}/branches/{branch}/config")).header("cookie", cookie).form(fields);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    Ok(request.send().await?.status().as_u16())
}

/// The configuration page of `branch` at the centre (HTML).
async fn config_page(base: &str, cookie: &str, branch: &str) -> Result<String> {
    let answer =
        reqwest::Client::new().get(format!("{base}/branches/{branch}/config")).header("cookie", cookie).send().await?;
    ensure!(answer.status() == 200, "the configuration page: {}", answer.status());
    Ok(answer.text().await?)
}

/// A central manager changes b1's service A (English name, target wait) and closing time on
/// the dashboard, from revision `good`: the branch runs it (its kiosk shows the name and
/// target, its stored configuration the closing time), and the page shows the change with its
/// author, applied. A regional manager, a page of another site and a form made from an older
/// revision change nothing. Returns the new revision.
async fn config_on_the_dashboard(base: &str, hub: &Hub, good: u64) -> Result<u64> {
    let c1 = centre_session(base, "c1").await?;
    let r1 = centre_session(base, "r1").await?;
    let fields = |revision: u64| {
        vec![
            ("lang", "ar".to_string()),
            ("revision", revision.to_string()),
            ("closes", "15:30".to_string()),
            ("A.name_en", "Renewals".to_string()),
            ("A.target_wait_min", "7".to_string()),
        ]
    };
    assert_eq!(post_config(base, &r1, "b1", &fields(good), &[]).await?, 403, "a regional manager");
    let cross = [("sec-fetch-site", "cross-site")];
    assert_eq!(post_config(base, &c1, "b1", &fields(good), &cross).await?, 403, "from another site");
    assert_eq!(post_config(base, &c1, "b1", &fields(good - 1), &[]).await?, 409, "an older revision");
    let mut bad = fields(good);
    bad[2].1 = "4pm".into();
    assert_eq!(post_config(base, &c1, "b1", &bad, &[]).await?, 400, "a closing time that does not read");
    assert!(!config_page(base, &c1, "b1").await?.contains("Renewals"), "nothing changed yet");

    assert_eq!(post_config(base, &c1, "b1", &fields(good), &[]).await?, 303);
    let renamed = wait_until(Duration::from_secs(20), || async {
        let Ok((200, branch)) = hub.get("/api/v1/branch").await else { return false };
        serde_json::from_value::<BranchInfo>(branch).is_ok_and(|b| {
            b.services.iter().any(|s| s.code == "A" && s.name.en == "Renewals" && s.target_wait_s == 7 * 60)
        })
    })
    .await;
    ensure!(renamed, "b1 never ran the dashboard's change: {:?}\n{}", hub.get("/api/v1/branch").await, hub.log());
    // The hub serves a new configuration a moment before it stores it as the last good one.
    let stored_body = || -> Result<String> {
        let conn = rusqlite::Connection::open(dawr_e2e::database(&hub.data_dir))?;
        Ok(conn.query_row("SELECT body FROM centre_config", [], |r| r.get(0))?)
    };
    let closes = wait_until(Duration::from_secs(20), || async {
        stored_body().is_ok_and(|body| body.contains(r#""closes":"15:30""#))
    })
    .await;
    assert!(closes, "the closing time came down: {:?}", stored_body());
    let shown = wait_until(Duration::from_secs(20), || async {
        config_page(base, &c1, "b1").await.is_ok_and(|page| page.contains(r#"data-applied="true""#))
    })
    .await;
    let page = config_page(base, &c1, "b1").await?;
    ensure!(shown, "the page never showed the change applied: {page}");
    assert!(page.contains("مدير المركز") && page.contains("A.name_en: "), "the change with its author: {page}");
    assert!(page.contains("→ Renewals"), "{page}");
    let revision = page.split(r#"id="config-state" data-revision=""#).nth(1).and_then(|r| r.split('"').next());
    let revision: u64 = revision.context("the page's revision")?.parse()?;
    assert!(revision > good, "a new revision: {revision}");
    Ok(revision)
}

/// The centre's file: b1 and b2 in the Riyadh region, b3 in Makkah's; a central manager `c1`
/// and Riyadh's regional manager `r1` (both with PIN [`TEST_PINS`]`[3]`).
fn centre_file_text() -> String {
    let (_, _, hash) = TEST_PINS[3];
    format!(
        r#"
[[regions]]
id = "riyadh"
name = {{ ar = "منطقة الرياض", en = "Riyadh region" }}
[[regions]]
id = "makkah"
name = {{ ar = "منطقة مكة المكرمة", en = "Makkah region" }}
[[branches]]
id = "b1"
region = "riyadh"
name = {{ ar = "فرع العليا", en = "Olaya branch" }}
[[branches]]
id = "b2"
region = "riyadh"
name = {{ ar = "فرع الملز", en = "Malaz branch" }}
[[branches]]
id = "b3"
region = "makkah"
name = {{ ar = "فرع العزيزية", en = "Aziziyah branch" }}
[[users]]
id = "c1"
name = {{ ar = "مدير المركز", en = "Centre manager" }}
role = "central"
password_hash = "{hash}"
[[users]]
id = "r1"
name = {{ ar = "مدير منطقة الرياض", en = "Riyadh manager" }}
role = "regional"
region = "riyadh"
password_hash = "{hash}"
"#
    )
}

/// Signs in to the central dashboard through its form.
async fn central_sign_in(browser: &Browser, user: &str) -> Result<()> {
    let (_, pin, _) = TEST_PINS[3];
    browser
        .leave_page(&format!(
            "document.getElementById('user').value = '{user}'; document.getElementById('password').value = '{pin}'; \
             document.querySelector('form').submit()"
        ))
        .await
}

/// The branches in a table of the page (`data-branch` of its rows, or its first cells).
async fn table_rows(browser: &Browser, table: &str) -> Result<Vec<String>> {
    let rows = browser
        .eval(&format!(
            "return Array.from(document.querySelectorAll('#{table} tbody tr')).map(r => r.dataset.branch || r.cells[0].textContent)"
        ))
        .await?;
    Ok(serde_json::from_value(rows)?)
}

/// The central dashboard in a browser: the central manager sees every branch live and in the
/// monthly report (Arabic); Riyadh's regional manager sees b1 and b2 only, in the figures and
/// the CSV too (English), and the CSV's visits are the branches' own.
async fn central_dashboard(base: &str, hubs: &[Hub], pg: &str, days: &[String]) -> Result<()> {
    let browser = Browser::start(1280, 1100).await?;
    browser.goto(&format!("{base}/")).await?;
    let lang = browser.eval("return [document.documentElement.lang, document.documentElement.dir]").await?;
    assert_eq!(lang, json!(["ar", "rtl"]), "Arabic first");
    browser.expect_accessible("the centre's sign-in").await?;
    central_sign_in(&browser, "c1").await?;
    assert_eq!(table_rows(&browser, "live").await?, ["b1", "b2", "b3"], "the central manager sees every branch");
    let text = browser.eval("return document.body.innerText").await?;
    assert!(text.as_str().unwrap_or_default().contains("متصل"), "{text}");
    let kiosk =
        browser.eval("return document.querySelector('tr[data-branch=b2] li[data-device=kiosk-9]').textContent").await?;
    assert!(kiosk.as_str().unwrap_or_default().contains("غير متصل منذ"), "b2's kiosk offline, in Arabic: {kiosk}");
    browser.expect_accessible("every branch live, in Arabic").await?;
    browser.screenshot(&screenshots_dir().join("central-live-ar.png")).await?;
    browser.goto(&format!("{base}/monthly?month={}", &days[1][..7])).await?;
    assert_eq!(table_rows(&browser, "compared").await?.len(), 3, "three branches compared");
    browser.screenshot(&screenshots_dir().join("central-monthly-ar.png")).await?;
    browser.leave_page("document.querySelector('header form').submit()").await?;

    browser.goto(&format!("{base}/?lang=en")).await?;
    central_sign_in(&browser, "r1").await?;
    assert_eq!(table_rows(&browser, "live").await?, ["b1", "b2"], "Riyadh's manager sees Riyadh's branches");
    let (from, to) = (&days[0], &days[1]);
    browser.goto(&format!("{base}/figures?lang=en&from={from}&to={to}")).await?;
    let rows = table_rows(&browser, "by-branch").await?;
    assert_eq!(rows, ["Olaya branch", "Malaz branch", "Total"], "{rows:?}");
    browser.expect_accessible("the figures, in English").await?;
    browser.screenshot(&screenshots_dir().join("central-figures-en.png")).await?;
    let csv = browser
        .eval("var x = new XMLHttpRequest(); x.open('GET', document.querySelector('a[href^=\"/figures.csv\"]').href, false); x.send(); return [x.status, x.responseText];")
        .await?;
    assert_eq!(csv[0], 200);
    let csv = csv[1].as_str().unwrap_or_default().to_string();
    assert!(!csv.contains("b3"), "no Makkah branch in Riyadh's CSV: {csv}");
    for (i, id) in ["b1", "b2"].iter().enumerate() {
        let (at_branch, _) = both_reports(&hubs[i], pg, id, &days[i]).await?;
        let line = csv.lines().find(|l| l.starts_with(&format!("{id},"))).context("a CSV line")?;
        let visits: u64 = line.split(',').nth(2).context("visits")?.parse()?;
        assert_eq!(Some(visits), at_branch["visits"].as_u64(), "{id}'s visits in the CSV: {csv}");
    }
    Ok(())
}

/// `dawr-central config push` of branch file `file` as `branch`'s configuration, as the
/// centre's NATS user: its revision.
fn push_config(nats: &str, branch: &str, file: &Path) -> Result<u64> {
    ministry::push_config(nats, Some((CENTRE_USER, CENTRE_PASSWORD)), branch, file)
}

/// The service codes the branch's kiosk is offered (`GET /api/v1/branch`).
async fn kiosk_services(hub: &Hub) -> Result<Vec<String>> {
    let (status, branch) = hub.get("/api/v1/branch").await?;
    ensure!(status == 200, "GET /api/v1/branch: {branch}");
    let info: BranchInfo = serde_json::from_value(branch)?;
    Ok(info.services.into_iter().map(|s| s.code).collect())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_branch_runs_the_centres_configuration_and_reads_or_publishes_nothing_of_another() -> Result<()> {
    let nats = Nats::start_with(&branch_rights(&["b1", "b2"]))?;
    let postgres = Postgres::start()?;
    let pg = postgres.url();
    let files = tempfile::tempdir()?;
    let centre_file = files.path().join("centre.toml");
    std::fs::write(&centre_file, centre_file_text())?;
    let (_central, dashboard) =
        Central::start_as_with_dashboard(&nats.url(), Some((CENTRE_USER, CENTRE_PASSWORD)), &pg, &centre_file)?;
    let file = branch_file_as(files.path(), "b1", &nats.url(), Some(("b1", "b1-secret")))?;
    let mut hub = Hub::start_embedded_with(&["--config", &file]).await?;
    let served = serve_one(&hub, "A", "2").await?;
    wait_complete(&pg, "b1", &hub, Duration::from_secs(30)).await?;

    // Staff write on the visit's case: the note goes up with the branch's own rights and shows
    // on the branch's page at the centre, to the central manager; Riyadh's manager may not open
    // a Makkah branch's.
    let case_ref = served["case_ref"].as_str().context("a case reference")?;
    let session: Value = hub
        .client
        .post(hub.url("/api/v1/sessions"))
        .json(&json!({"staff": "s101", "pin": hub.pin("s101")}))
        .send()
        .await?
        .json()
        .await?;
    let patched = hub
        .client
        .patch(hub.url(&format!("/api/v1/cases/{case_ref}")))
        .bearer_auth(session["token"].as_str().context("a staff token")?)
        .json(&json!({"notes": "called the visitor back", "category": "complaint"}))
        .send()
        .await?;
    ensure!(patched.status() == 200, "the case note: {}", patched.text().await?);
    let c1 = centre_session(&dashboard, "c1").await?;
    let shown = wait_until(Duration::from_secs(20), || async {
        case_page(&dashboard, &c1, "b1").await.is_ok_and(|(status, page)| {
            status == 200 && page.contains(case_ref) && page.contains("called the visitor back")
        })
    })
    .await;
    ensure!(shown, "the case note never showed at the centre: {:?}", case_page(&dashboard, &c1, "b1").await);
    let r1 = centre_session(&dashboard, "r1").await?;
    assert_eq!(case_page(&dashboard, &r1, "b3").await?.0, 403, "b3 is not in Riyadh");

    let centre = async_nats::ConnectOptions::with_user_and_password(CENTRE_USER.into(), CENTRE_PASSWORD.into())
        .connect(nats.url())
        .await?;
    let centre = async_nats::jetstream::new(centre);
    ensure!(!kiosk_services(&hub).await?.contains(&"G".to_string()), "no service G before the push");

    // The centre adds service G, served at counter 2: the branch's kiosk offers it and a
    // ticket for it is called there.
    let original = std::fs::read_to_string(&file)?;
    let with_g = with_service_g(&original);
    let pushed = files.path().join("b1-with-g.toml");
    std::fs::write(&pushed, &with_g)?;
    let good = push_config(&nats.url(), "b1", &pushed)?;
    let offered = wait_until(Duration::from_secs(20), || async {
        kiosk_services(&hub).await.is_ok_and(|s| s.contains(&"G".to_string()))
    })
    .await;
    ensure!(offered, "the kiosk never offered G: {:?}\n{}", kiosk_services(&hub).await, hub.log());
    let (status, ticket) = hub.post("/api/v1/tickets", json!({"service": "G"})).await?;
    ensure!(status == 201, "a kiosk ticket for G: {ticket}");
    let (status, reply) = hub.post("/api/v1/counters/2/next", json!({})).await?;
    ensure!(status == 200, "next at 2: {reply}");
    ensure!(reply["ticket"] == ticket["number"], "counter 2 called the G ticket: {reply}");
    let reported = wait_until(Duration::from_secs(20), || async {
        live_health(&centre, "b1").await.is_ok_and(|h| h.config_revision == Some(good))
    })
    .await;
    ensure!(reported, "b1 never reported revision {good}: {:?}", live_health(&centre, "b1").await);
    let good = config_on_the_dashboard(&dashboard, &hub, good).await?;

    // Taking G away while a G ticket waits is refused, with the reason, and G stays.
    let (status, waiting) = hub.post("/api/v1/tickets", json!({"service": "G"})).await?;
    ensure!(status == 201, "a second G ticket: {waiting}");
    let without_g = files.path().join("b1-without-g.toml");
    std::fs::write(&without_g, &original)?;
    let bad = push_config(&nats.url(), "b1", &without_g)?;
    let refused = wait_until(Duration::from_secs(20), || async {
        live_health(&centre, "b1").await.is_ok_and(|h| h.config_refused.is_some_and(|r| r.revision == bad))
    })
    .await;
    ensure!(refused, "b1 never reported refusing {bad}: {:?}", live_health(&centre, "b1").await);
    let health = live_health(&centre, "b1").await?;
    let reason = health.config_refused.context("a refusal")?.reason;
    assert!(reason.contains("live visits"), "the reason: {reason}");
    assert_eq!(health.config_revision, Some(good), "the last good revision still runs");
    assert!(kiosk_services(&hub).await?.contains(&"G".to_string()), "G still offered");

    // Without the centre, after a restart, the branch runs its last good configuration (its
    // own file has no G).
    std::fs::write(&file, original.replace(&nats.url(), "nats://127.0.0.1:9"))?;
    hub.restart().await?;
    assert!(kiosk_services(&hub).await?.contains(&"G".to_string()), "G kept through a restart without the centre");

    // b1 by hand, with its own login and inboxes: it may put its own live state and read its
    // own configuration, but cannot publish as b2, put b2's live state, read b2's configuration
    // or open the configuration bucket.
    centre.get_key_value("dawr_config").await?.put("b2", "{\"services\":[]}".into()).await?;
    let b1 = async_nats::ConnectOptions::with_user_and_password("b1".into(), "b1-secret".into())
        .custom_inbox_prefix("_INBOX_b1")
        .connect(nats.url())
        .await?;
    let b1 = async_nats::jetstream::ContextBuilder::new().timeout(Duration::from_secs(1)).build(b1);
    b1.publish("$KV.dawr_live.b1.probe", "{}".into()).await?.await.context("b1 puts its own live key")?;
    let configs = b1.get_stream_no_info("KV_dawr_config").await?;
    let own = configs.direct_get_last_for_subject("$KV.dawr_config.b1").await.context("b1 reads its own key")?;
    assert_eq!(own.sequence, bad, "the newest configuration for b1");
    let as_b2 = b1.publish("dawr.v1.evt.b2", "{}".into()).await?.await;
    assert!(as_b2.is_err(), "b1 published on b2's subject: {as_b2:?}");
    let live_b2 = b1.publish("$KV.dawr_live.b2.health", "{}".into()).await?.await;
    assert!(live_b2.is_err(), "b1 put b2's live state: {live_b2:?}");
    let config_b2 = configs.direct_get_last_for_subject("$KV.dawr_config.b2").await;
    assert!(config_b2.is_err(), "b1 read b2's configuration: {config_b2:?}");
    assert!(b1.get_key_value("dawr_config").await.is_err(), "b1 opened the configuration bucket");
    let events = centre.get_stream("DAWR_EVENTS").await?;
    assert!(events.get_last_raw_message_by_subject("dawr.v1.evt.b2").await.is_err(), "nothing stored as b2");
    assert!(centre_log(&pg, "b2")?.is_none());

    // Nor can b1 pass its own live keys off as b2's: the centre keeps a value only when it
    // names its key's branch. The board put after the forged health shows the centre has read
    // past it.
    let (client, connection) = tokio_postgres::connect(&pg, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    let mut forged = live_health(&centre, "b1").await?;
    forged.branch = "b2".into();
    b1.publish("$KV.dawr_live.b1.health", serde_json::to_vec(&forged)?.into()).await?.await.context("b1's health")?;
    let marker = LiveBoard { branch: "b1".into(), last_seq: 987_654, queues: vec![] };
    b1.publish("$KV.dawr_live.b1.board", serde_json::to_vec(&marker)?.into()).await?.await.context("b1's board")?;
    let read_past = wait_until(Duration::from_secs(20), || async {
        let sql = "SELECT count(*) FROM branches WHERE branch = 'b1' AND (board->>'last_seq')::bigint = 987654";
        client.query_one(sql, &[]).await.is_ok_and(|r| r.get::<_, i64>(0) == 1)
    })
    .await;
    ensure!(read_past, "the centre never kept b1's board");
    let as_b2: i64 = client.query_one("SELECT count(*) FROM branches WHERE branch = 'b2'", &[]).await?.get(0);
    assert_eq!(as_b2, 0, "b1's health named b2 and the centre kept it as b2's");

    // An uplink far behind its log publishes on its catch-up subject: b1 may, and the centre's
    // catch-up consumer writes it (an event of a log of its own, so b1's stays complete).
    let late = UplinkEvent {
        branch: "b1".into(),
        log_id: "catch-up-probe".into(),
        seq: 1,
        at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        kind: "counter_paused".into(),
        visit_id: None,
        counter: Some("2".into()),
        payload: json!({"kind": "counter_paused", "counter": "2"}),
    };
    let subject = dawr_hub::uplink::message::catch_up_subject("b1");
    b1.publish(subject, serde_json::to_vec(&late)?.into()).await?.await.context("b1 publishes its catch-up")?;
    let stored = wait_until(Duration::from_secs(20), || async {
        let count = client.query_one("SELECT count(*) FROM events WHERE log_id = 'catch-up-probe'", &[]).await;
        count.is_ok_and(|r| r.get::<_, i64>(0) == 1)
    })
    .await;
    ensure!(stored, "the catch-up event never reached PostgreSQL");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nats_node_killed_mid_load_loses_and_duplicates_nothing() -> Result<()> {
    let mut cluster = NatsCluster::start()?;
    let postgres = Postgres::start()?;
    let pg = postgres.url();
    let mut central = Central::start_with_args(&cluster.urls(), &pg, vec!["--replicas".into(), "3".into()])?;
    let files = tempfile::tempdir()?;
    let file = branch_file(files.path(), "b1", &cluster.urls())?;
    let hub = Hub::start_embedded_with(&["--config", &file]).await?;
    serve_one(&hub, "A", "2").await?;
    wait_complete(&pg, "b1", &hub, Duration::from_secs(30)).await?;
    let centre = async_nats::jetstream::new(async_nats::connect(cluster.nodes[0].url()).await?);
    let info = centre.get_stream("DAWR_EVENTS").await?.info().await?.clone();
    assert_eq!(info.config.num_replicas, 3, "the events stream has three copies");
    let leader = info.cluster.and_then(|c| c.leader).context("the stream has a leader")?;
    let leader: usize = leader.trim_start_matches('n').parse().context("a node's name")?;

    // The stream's leader is killed while the branch serves: the other two elect another, the
    // uplink and the running writer go on (a fetch the dying leader left unanswered is asked
    // again), and the branch's every event arrives.
    for n in 0..4 {
        serve_one(&hub, ["A", "D"][n % 2], "2").await.context("a visit while a NATS node dies")?;
        if n == 1 {
            cluster.nodes[leader].kill9();
        }
    }
    wait_complete(&pg, "b1", &hub, Duration::from_secs(60))
        .await
        .context("the running writer after the leader died")?;

    // The node comes back. Then the stream's new leader and the writer are `kill -9`ed together
    // mid-load (what the writer had fetched and not acknowledged is delivered again), and the
    // writer starts again while the two survivors elect a leader.
    cluster.nodes[leader].start_again()?;
    let second = leader_of_whole_stream(&cluster, leader).await?;
    for n in 0..5 {
        serve_one(&hub, ["A", "D"][n % 2], "2").await.context("a visit while the writer and a node die")?;
        match n {
            1 => {
                cluster.nodes[second].kill9();
                central.kill9();
            }
            2 => central.restart().context("the writer starts again during the failover")?,
            _ => {}
        }
    }
    wait_complete(&pg, "b1", &hub, Duration::from_secs(60)).await?;
    let (last, count) = hub_log(&hub)?;
    let at_centre = centre_log(&pg, "b1")?.context("b1 at the centre")?;
    assert_eq!((at_centre.count, at_centre.max_seq), (count, last), "every event once: {at_centre:?}");
    let survivor = cluster.nodes[(second + 1) % 3].url();
    let centre = async_nats::jetstream::new(async_nats::connect(survivor).await?);
    let led = wait_until(Duration::from_secs(30), || async {
        stream_cluster(&centre).await.and_then(|c| c.leader).is_some_and(|l| l != format!("n{second}"))
    })
    .await;
    assert!(led, "another node leads the stream: {:?}", stream_cluster(&centre).await);
    assert!(at_centre.complete && count >= 10 * 4, "{at_centre:?}");
    let duplicates = stored_more_than_once(&pg, "b1").await?;
    assert_eq!(duplicates, 0, "no event of b1 stored twice");
    ensure!(!central.log().contains("panicked"), "the centre panicked:\n{}", central.log());
    Ok(())
}
