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

/// A running appointments site.
pub struct Site {
    child: Option<Child>,
    pub http: SocketAddr,
    pub data_dir: PathBuf,
    _temp: tempfile::TempDir,
    pub client: reqwest::Client,
}

impl Site {
    /// Starts the site with this site file (`None`: the built-in demo).
    pub async fn start(config: Option<&str>) -> Result<Site> {
        let temp = tempfile::tempdir()?;
        if let Some(text) = config {
            std::fs::write(temp.path().join("site.toml"), text)?;
        }
        let mut site = Site {
            child: None,
            http: SocketAddr::from(([127, 0, 0, 1], free_port())),
            data_dir: temp.path().to_path_buf(),
            _temp: temp,
            client: reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?,
        };
        site.spawn().await?;
        Ok(site)
    }

    /// `http://127.0.0.1:PORT` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.http, path)
    }

    /// The site's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("site.log")).unwrap_or_default()
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = File::options().create(true).append(true).open(self.data_dir.join("site.log"))?;
        let mut cmd = Command::new(site_binary());
        cmd.arg("--http").arg(self.http.to_string()).arg("--data-dir").arg(&self.data_dir);
        let config = self.data_dir.join("site.toml");
        if config.exists() {
            cmd.arg("--config").arg(config);
        }
        cmd.env("RUST_LOG", "info").stdout(Stdio::null()).stderr(log);
        let child = cmd.spawn().with_context(|| format!("starting {}", site_binary().display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("the site exited with {status}:\n{}", self.log());
            }
            if self.client.get(self.url("/healthz")).send().await.is_ok_and(|r| r.status().is_success()) {
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

    /// The first slot of service `service` with a free place starting at least a minute from
    /// now (so it is still bookable when the test books it): `(start, available)`.
    pub async fn first_free_slot(&self, service: &str) -> Result<(String, u64)> {
        let soon = chrono::Utc::now() + chrono::Duration::minutes(1);
        let today = chrono::Utc::now().date_naive();
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
