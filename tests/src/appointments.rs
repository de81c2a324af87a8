//! The appointments site as a real process for end-to-end tests and the bench: [`Site`] starts
//! `dawr-e2e-appointments` on a free loopback port with a temporary data directory and a site
//! file of the test's choosing, and can stop and start it again on the same data.
use std::fs::File;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::free_port;

/// The appointments binary built beside the running test or bench binary.
pub fn site_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DAWR_APPOINTMENTS_BIN") {
        return path.into();
    }
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("dawr-e2e-appointments")
}

/// Citizen `n`'s ID number (valid, and their own: a national ID for odd `n`, an iqama for even).
pub fn citizen_id(n: u32) -> String {
    dawr_appointments::validate::national_id_from(n, n % 2 == 1)
}

/// The booking request citizen `n` sends for service `service` at `start` (at branch `demo`, in
/// English), as the JSON API takes it.
pub fn example_booking(start: &str, service: &str, n: u32) -> serde_json::Value {
    let request = dawr_protocol::api::bookings::BookingRequest {
        branch: "demo".into(),
        service: service.into(),
        start: start.into(),
        name: format!("Citizen {n}"),
        national_id: citizen_id(n),
        phone: "0551234567".into(),
        lang: Some("en".into()),
    };
    serde_json::to_value(request).expect("a booking request serialises")
}

/// The branch's local date (`+03:00`, the test site's offset) of a slot starting at `start`
/// (RFC 3339): the day under which the hub holds its bookings.
pub fn local_date(start: &str) -> Result<chrono::NaiveDate> {
    let offset = chrono::FixedOffset::east_opt(3 * 3600).expect("a valid offset");
    Ok(chrono::DateTime::parse_from_rfc3339(start)?.with_timezone(&offset).date_naive())
}

/// Waits until `hub` holds booking `code` for the slot starting at `start` (the hub pulls its
/// bookings by the slot's local day); returns the hub's entry.
pub async fn held(hub: &crate::Hub, code: &str, start: &str) -> Result<serde_json::Value> {
    let path = format!("/api/v1/appointments?date={}", local_date(start)?);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let (_, list) = hub.get(&path).await?;
        if let Some(b) = list.as_array().into_iter().flatten().find(|b| b["code"] == code) {
            return Ok(b.clone());
        }
        if Instant::now() > deadline {
            bail!("the hub never pulled {code}:\n{}", hub.log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The branch API key every [`test_site`] uses.
pub const TEST_KEY: &str = "test-branch-key";

/// A site file for tests: the demo branch open every day, all day (so tests pass at any hour),
/// 15-minute slots, service `E` with `capacity_e` places, and the given rate limit.
pub fn test_site(capacity_e: u32, burst: u32) -> String {
    format!(
        r#"[site]
horizon_days = 30

[limits]
burst = {burst}
per_minute = {burst}

[[branches]]
id = "demo"
name = {{ ar = "مركز خدمة العملاء - فرع الدمام", en = "Customer Care Center - Dammam Branch" }}
utc_offset = "+03:00"
api_key = "{TEST_KEY}"
days = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
opens = "00:00"
closes = "24:00"
slot_min = 15

[[branches.services]]
code = "A"
name = {{ ar = "الوكالات", en = "Power of attorney" }}
capacity = 3

[[branches.services]]
code = "E"
name = {{ ar = "عقود النكاح", en = "Marriage contracts" }}
capacity = {capacity_e}
"#
    )
}

/// `config` with bookings confirmed by a one-time code sent through the SMSC at `smsc`
/// (`[sms] confirm_bookings`).
pub fn with_sms_codes(config: &str, smsc: &str) -> String {
    let (id, password) = (crate::smsc::SYSTEM_ID, crate::smsc::PASSWORD);
    format!(
        "{config}\n[sms]\nsmsc = \"{smsc}\"\nsystem_id = \"{id}\"\npassword = \"{password}\"\nconfirm_bookings = true\n"
    )
}

/// The one-time code in the `nth` text (from 1) the SMSC received for `to` (digits, as
/// `966551234567`), waiting for it.
pub async fn sent_code(smsc: &crate::smsc::Smsc, to: &str, nth: usize) -> Result<String> {
    let arrived = crate::wait_until(Duration::from_secs(15), || async { smsc.messages_to(to).len() >= nth }).await;
    if !arrived {
        bail!("no text number {nth} for {to}: {:?}", smsc.messages());
    }
    let text = smsc.messages_to(to)[nth - 1].text.clone();
    let digits: Vec<char> = text.chars().collect();
    for window in digits.windows(6) {
        if window.iter().all(char::is_ascii_digit) {
            return Ok(window.iter().collect());
        }
    }
    bail!("no six-digit code in {text:?}")
}

/// What a site's database holds against the booking rules (the race test and the bench).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Audit {
    /// Bookings not cancelled.
    pub active: i64,
    /// Slot rows holding more bookings than places.
    pub over_capacity: i64,
    /// Slot rows whose count differs from the bookings in them.
    pub miscounted: i64,
    /// ID numbers with two active bookings for one service on one day.
    pub doubled_ids: i64,
}

const AUDIT_SQL: [&str; 4] = [
    "SELECT count(*) FROM bookings WHERE status <> 'cancelled'",
    "SELECT count(*) FROM slots WHERE booked > capacity",
    // Grouped once, then joined: a subquery per slot scanned the bookings once a slot, which
    // took minutes after a burst's hundreds of thousands of bookings on SQLite.
    "SELECT count(*) FROM slots s \
     LEFT JOIN (SELECT branch, service, start, count(*) AS n FROM bookings \
                WHERE status <> 'cancelled' OR place_held GROUP BY branch, service, start) b \
       ON b.branch = s.branch AND b.service = s.service AND b.start = s.start \
     LEFT JOIN (SELECT branch, service, start, count(*) AS n FROM booking_holds WHERE state = 'held' \
                GROUP BY branch, service, start) h \
       ON h.branch = s.branch AND h.service = s.service AND h.start = s.start \
     WHERE s.booked <> coalesce(b.n, 0) + coalesce(h.n, 0)",
    "SELECT count(*) FROM (SELECT 1 FROM bookings WHERE status IN ('booked', 'checked_in') \
     GROUP BY branch, service, local_day, national_id HAVING count(*) > 1) AS doubled",
];

/// Audits the site's PostgreSQL database at `url`.
pub async fn audit_postgres(url: &str) -> Result<Audit> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    let task = tokio::spawn(connection);
    let mut counts = [0i64; 4];
    for (count, sql) in counts.iter_mut().zip(AUDIT_SQL) {
        *count = client.query_one(sql, &[]).await?.get(0);
    }
    drop(client);
    let _ = task.await;
    let [active, over_capacity, miscounted, doubled_ids] = counts;
    Ok(Audit { active, over_capacity, miscounted, doubled_ids })
}

/// Audits a SQLite site's database in `data_dir`.
pub fn audit_sqlite(data_dir: &std::path::Path) -> Result<Audit> {
    let conn = rusqlite::Connection::open(data_dir.join(dawr_appointments::store::FILE_NAME))?;
    let mut counts = [0i64; 4];
    for (count, sql) in counts.iter_mut().zip(AUDIT_SQL) {
        *count = conn.query_row(sql, [], |r| r.get(0))?;
    }
    let [active, over_capacity, miscounted, doubled_ids] = counts;
    Ok(Audit { active, over_capacity, miscounted, doubled_ids })
}

/// A running appointments site.
pub struct Site {
    child: Option<Child>,
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    /// Its log's file name in the data directory.
    log_name: String,
    /// Flags given to the process besides its address, data directory and site file.
    args: Vec<String>,
    _temp: Option<tempfile::TempDir>,
    pub client: reqwest::Client,
}

impl Site {
    /// Starts the site with this site file (`None`: the built-in demo).
    pub async fn start(config: Option<&str>) -> Result<Site> {
        Self::start_with(config, &[]).await
    }

    /// The same, with more flags (e.g. `--clock-offset-s`).
    pub async fn start_with(config: Option<&str>, args: &[&str]) -> Result<Site> {
        let temp = tempfile::tempdir()?;
        if let Some(text) = config {
            std::fs::write(temp.path().join("site.toml"), text)?;
        }
        let data_dir = temp.path().to_path_buf();
        let args = args.iter().map(|a| a.to_string()).collect();
        let client = crate::http_client().redirect(reqwest::redirect::Policy::none()).build()?;
        Self::start_in(data_dir, "site.log", args, Some(temp), client).await
    }

    /// Starts the site over HTTPS with `pki`'s server certificate; its client trusts `pki`'s CA.
    pub async fn start_https(config: Option<&str>, pki: &crate::TestPki) -> Result<Site> {
        let temp = tempfile::tempdir()?;
        if let Some(text) = config {
            std::fs::write(temp.path().join("site.toml"), text)?;
        }
        let data_dir = temp.path().to_path_buf();
        let path = |p: &std::path::Path| p.display().to_string();
        let args = vec!["--tls-cert".into(), path(&pki.cert), "--tls-key".into(), path(&pki.key)];
        let client = crate::trusting(&pki.ca_cert)?.redirect(reqwest::redirect::Policy::none()).build()?;
        Self::start_in(data_dir, "site.log", args, Some(temp), client).await
    }

    /// Starts a second site process on this one's data directory (and site file): two processes
    /// writing one database file, as two servers behind a load balancer would.
    pub async fn another_on_the_same_database(&self) -> Result<Site> {
        Self::start_in(self.data_dir.clone(), "site-2.log", self.args.clone(), None, self.client.clone()).await
    }

    async fn start_in(
        data_dir: PathBuf,
        log_name: &str,
        args: Vec<String>,
        temp: Option<tempfile::TempDir>,
        client: reqwest::Client,
    ) -> Result<Site> {
        let mut site = Site {
            child: None,
            http: SocketAddr::from(([127, 0, 0, 1], free_port())),
            data_dir,
            log_name: log_name.to_string(),
            args,
            _temp: temp,
            client,
        };
        for attempt in 1.. {
            match site.spawn().await {
                Ok(()) => break,
                Err(e) if attempt < crate::PORT_ATTEMPTS && crate::port_taken(&site.log()) => {
                    crate::tracing_free_note(&e);
                    std::fs::remove_file(site.data_dir.join(&site.log_name))?;
                    site.http = SocketAddr::from(([127, 0, 0, 1], free_port()));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(site)
    }

    /// `http://127.0.0.1:PORT` + `path` (`https://` when started with a certificate).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.args.iter().any(|a| a == "--tls-cert") { "https" } else { "http" };
        format!("{scheme}://{}{}", self.http, path)
    }

    /// The site's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join(&self.log_name)).unwrap_or_default()
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = File::options().create(true).append(true).open(self.data_dir.join(&self.log_name))?;
        let mut cmd = Command::new(site_binary());
        cmd.arg("--http").arg(self.http.to_string()).arg("--data-dir").arg(&self.data_dir);
        let config = self.data_dir.join("site.toml");
        if config.exists() {
            cmd.arg("--config").arg(config);
        }
        cmd.args(&self.args);
        cmd.env("RUST_LOG", "info").stdout(Stdio::null()).stderr(log);
        let started_before = self.log().matches("Dawr appointments ready").count();
        let child = cmd.spawn().with_context(|| format!("starting {}", site_binary().display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("the site exited with {status}:\n{}", self.log());
            }
            // Its own log says it listens: not another process that took the port.
            let listening = self.log().matches("Dawr appointments ready").count() > started_before;
            if listening && self.client.get(self.url("/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the site did not become ready within 30 s:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the site (`kill -9`); [`Site::start_again`] brings it back on the same port and data.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port and data with these flags instead (e.g. a clock offset).
    pub async fn start_again_with(&mut self, args: &[&str]) -> Result<()> {
        self.args = args.iter().map(|a| a.to_string()).collect();
        self.start_again().await
    }

    pub async fn start_again(&mut self) -> Result<()> {
        self.stop();
        self.spawn().await
    }

    pub async fn get(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        let resp = self.client.get(self.url(path)).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> Result<(u16, serde_json::Value)> {
        let resp = self.client.post(self.url(path)).json(&body).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// The time now as this site sees it: shifted by its `--clock-offset-s` when it was started
    /// with one, else as [`crate::services_now`].
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let flag = self.args.iter().position(|a| a == "--clock-offset-s");
        match flag.and_then(|at| self.args.get(at + 1)).and_then(|s| s.parse::<f64>().ok()) {
            Some(offset_s) => chrono::Utc::now() + chrono::Duration::milliseconds((offset_s * 1000.0).round() as i64),
            None => crate::services_now(),
        }
    }

    /// The key the site signs bookings' QR tokens with (made in its data directory at its first
    /// start), for tests that make their own tokens.
    pub fn signing_key(&self) -> Result<dawr_protocol::booking_token::SigningKey> {
        let text = std::fs::read_to_string(self.data_dir.join("booking-signing.key"))?;
        Ok(dawr_protocol::booking_token::parse_signing_key(&text)?)
    }

    /// Its public key as a hub is given it (`--booking-key`).
    pub fn booking_key(&self) -> Result<String> {
        Ok(dawr_protocol::booking_token::public_key_text(&self.signing_key()?.verifying_key()))
    }

    /// The first slot of service `service` with a free place starting at least a minute from
    /// now (so it is still bookable when the test books it): `(start, available)`.
    pub async fn first_free_slot(&self, service: &str) -> Result<(String, u64)> {
        let soon = self.now() + chrono::Duration::minutes(1);
        let today = self.now().date_naive();
        for d in 0..31 {
            let date = today + chrono::Duration::days(d);
            let (_, slots) = self.get(&format!("/api/v1/branches/demo/services/{service}/slots?date={date}")).await?;
            let later = |s: &&serde_json::Value| {
                s["start"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok()).is_some_and(|t| t > soon)
            };
            if let Some(slot) = slots["slots"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(later)
                .find(|s| s["available"].as_u64() > Some(0))
            {
                return Ok((
                    slot["start"].as_str().unwrap_or_default().to_string(),
                    slot["available"].as_u64().unwrap_or(0),
                ));
            }
        }
        bail!("no free slot for {service} in 30 days")
    }
}

impl Drop for Site {
    fn drop(&mut self) {
        self.stop();
    }
}
