//! Headless Chromium driven over WebDriver (Debian's `chromium` and `chromium-driver`), with
//! nothing but HTTP: start a session, open a page, run a script, take a screenshot.
//!
//! Nothing outlives a [`Browser`]: chromedriver runs in a process group of its own (Chromium and
//! its helpers join it), and dropping the `Browser` — also while a failed test unwinds — ends the
//! WebDriver session, kills the whole group and removes the browser's profile and temporary files.
use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::free_port;

/// A chromedriver process with one headless Chromium session.
pub struct Browser {
    driver: Child,
    port: u16,
    base: String,
    session: String,
    http: reqwest::Client,
    /// The browser's profile (`profile/`) and chromedriver's and Chromium's `TMPDIR` (`tmp/`);
    /// removed after the processes are gone (fields drop after [`Drop::drop`]).
    _files: tempfile::TempDir,
}

impl Browser {
    /// Starts chromedriver and a phone-sized headless Chromium. Fails (does not skip) when they
    /// are not installed: `scripts/install-test-deps` installs them. Headless windows are at
    /// least 500 px wide; [`Browser::start_phone`] goes narrower.
    pub async fn start(width: u32, height: u32) -> Result<Browser> {
        Self::start_with(width, height, None).await
    }

    /// Like [`Browser::start`], with Chromium's device emulation giving the page a viewport of
    /// exactly `width` × `height` CSS pixels (a phone's 390 px, say) and a touch screen.
    pub async fn start_phone(width: u32, height: u32) -> Result<Browser> {
        let metrics = webdriver::DeviceMetrics { width, height, pixel_ratio: 1.0, touch: true };
        Self::start_with(width.max(500), height, Some(webdriver::MobileEmulation { device_metrics: metrics })).await
    }

    async fn start_with(
        width: u32,
        height: u32,
        mobile_emulation: Option<webdriver::MobileEmulation>,
    ) -> Result<Browser> {
        let port = free_port();
        let files = tempfile::Builder::new().prefix("dawr-browser-").tempdir()?;
        let (profile, tmp) = (files.path().join("profile"), files.path().join("tmp"));
        std::fs::create_dir_all(&tmp)?;
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .env("TMPDIR", &tmp)
            .process_group(0)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("chromedriver is not installed (scripts/install-test-deps installs chromium-driver)")?;
        let base = format!("http://127.0.0.1:{port}");
        let http = crate::http_client().build()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while http.get(format!("{base}/status")).send().await.is_err() {
            if Instant::now() > deadline {
                bail!("chromedriver did not start");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let user_data_dir = format!("--user-data-dir={}", profile.display());
        let args = [
            &user_data_dir,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            &format!("--window-size={width},{height}"),
        ];
        let options = webdriver::ChromeOptions {
            binary: "/usr/bin/chromium",
            args: args.iter().map(|a| a.to_string()).collect(),
            mobile_emulation,
        };
        let capabilities = webdriver::NewSession {
            capabilities: webdriver::Capabilities {
                always_match: webdriver::AlwaysMatch { browser_name: "chrome", chrome_options: options },
            },
        };
        let mut browser = Browser { driver, port, base, session: String::new(), http, _files: files };
        let created = browser.call(reqwest::Method::POST, "/session", Some(&capabilities)).await?;
        let created: webdriver::Created = serde_json::from_value(created).context("no session id")?;
        browser.session = created.session_id;
        Ok(browser)
    }

    /// The browser's profile directory (its `--user-data-dir`), removed when the `Browser` is.
    pub fn profile_dir(&self) -> PathBuf {
        self._files.path().join("profile")
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<&impl Serialize>) -> Result<Value> {
        let mut request = self.http.request(method, format!("{}{}", self.base, path));
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let value: Value = response.json().await?;
        if !status.is_success() {
            bail!("WebDriver {path}: {status} {value}");
        }
        Ok(value["value"].clone())
    }

    /// Opens `url` and waits for it to load.
    pub async fn goto(&self, url: &str) -> Result<()> {
        self.call(reqwest::Method::POST, &format!("/session/{}/url", self.session), Some(&webdriver::Navigate { url }))
            .await?;
        Ok(())
    }

    /// Runs JavaScript in the page and returns its result.
    pub async fn eval(&self, script: &str) -> Result<Value> {
        let body = webdriver::Script { script, args: &[] };
        self.call(reqwest::Method::POST, &format!("/session/{}/execute/sync", self.session), Some(&body)).await
    }

    /// Runs `action` (JavaScript that leaves the page: a submit, a click on a link) and waits
    /// until the next page has loaded (a marker set on the old page is gone).
    pub async fn leave_page(&self, action: &str) -> Result<()> {
        self.eval(&format!("window.dawrOld = true; {action}; return true;")).await?;
        let loaded = "return document.readyState === 'complete' && !window.dawrOld";
        self.wait_for(loaded, Duration::from_secs(20)).await.map(|_| ())
    }

    /// The page printed to an A4 PDF, as Chromium prints it (its print styles applied).
    pub async fn print_pdf(&self) -> Result<Vec<u8>> {
        let body = webdriver::Print { page: webdriver::PrintPage { width: 21.0, height: 29.7 }, background: true };
        let pdf = self.call(reqwest::Method::POST, &format!("/session/{}/print", self.session), Some(&body)).await?;
        Ok(base64::engine::general_purpose::STANDARD.decode(pdf.as_str().context("no PDF")?)?)
    }

    /// Lays the page out for print (`true`: its `@media print` styles) or for the screen again,
    /// so a screenshot shows what paper gets.
    pub async fn emulate_print(&self, print: bool) -> Result<()> {
        let media = webdriver::EmulatedMedia { media: if print { "print" } else { "" } };
        let body = webdriver::Cdp { cmd: "Emulation.setEmulatedMedia", params: media };
        self.call(reqwest::Method::POST, &format!("/session/{}/goog/cdp/execute", self.session), Some(&body)).await?;
        Ok(())
    }

    /// Saves a PNG of the viewport.
    pub async fn screenshot(&self, path: &Path) -> Result<()> {
        let shot =
            self.call(reqwest::Method::GET, &format!("/session/{}/screenshot", self.session), None::<&()>).await?;
        let png = base64::engine::general_purpose::STANDARD.decode(shot.as_str().context("no screenshot")?)?;
        std::fs::write(path, png)?;
        Ok(())
    }
}

impl Browser {
    /// Ends the WebDriver session (chromedriver closes Chromium), without an async runtime: a
    /// plain HTTP/1.1 `DELETE` on a socket, so it also works from [`Drop`] while a test panics.
    fn end_session(&self) {
        if self.session.is_empty() {
            return;
        }
        let Ok(mut socket) = TcpStream::connect(("127.0.0.1", self.port)) else { return };
        let _ = socket.set_read_timeout(Some(Duration::from_secs(10)));
        let request = format!(
            "DELETE /session/{} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.session, self.port
        );
        if socket.write_all(request.as_bytes()).is_ok() {
            // chromedriver answers once the browser has quit; the answer itself does not matter.
            let _ = socket.read_to_end(&mut Vec::new());
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        self.end_session();
        // chromedriver leads its own process group (`process_group(0)`): killing the group takes
        // Chromium and every helper process with it, whether the session ended cleanly or not.
        let group = self.driver.id() as libc::pid_t;
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is involved.
        unsafe { libc::kill(-group, libc::SIGKILL) };
        let _ = self.driver.wait();
    }
}

/// An accessibility rule a page breaks, as axe-core reports it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Violation {
    /// The rule, e.g. `color-contrast`.
    pub id: String,
    /// `serious` or `critical` (the only ones [`Browser::axe`] returns).
    pub impact: String,
    pub help: String,
    /// Where: each offending element's selector and axe's summary of what is wrong with it.
    pub nodes: Vec<String>,
}

/// Where `npm ci --prefix tests` puts axe-core (pinned in `tests/package-lock.json`).
fn axe_source() -> Result<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("node_modules/axe-core/axe.min.js");
    std::fs::read_to_string(&path).with_context(|| {
        format!("{} is missing: run `npm ci --prefix tests` (scripts/install-test-deps does)", path.display())
    })
}

impl Browser {
    /// Runs asynchronous JavaScript in the page: the script calls its last argument with the result.
    pub async fn eval_async(&self, script: &str) -> Result<Value> {
        let body = webdriver::Script { script, args: &[] };
        self.call(reqwest::Method::POST, &format!("/session/{}/execute/async", self.session), Some(&body)).await
    }

    /// Runs `script` (JavaScript that returns a value) until it returns something other than
    /// `null`, `false`, `0` or `""`, and returns that; fails with the last value after `timeout`.
    /// What a test waits for instead of sleeping: e.g. the heading of the page a click leads to.
    pub async fn wait_for(&self, script: &str, timeout: Duration) -> Result<Value> {
        let deadline = Instant::now() + timeout;
        loop {
            // A page being replaced may fail a script: that is "not yet".
            let value = self.eval(script).await.unwrap_or(Value::Null);
            let truthy = match &value {
                Value::Null | Value::Bool(false) => false,
                Value::Number(n) => n.as_f64() != Some(0.0),
                Value::String(s) => !s.is_empty(),
                _ => true,
            };
            if truthy {
                return Ok(value);
            }
            if Instant::now() > deadline {
                bail!("waited {timeout:?} for `{script}`; it last returned {value}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Checks the page with axe-core and returns its serious and critical violations (empty
    /// when the page passes). Needs `npm ci --prefix tests`.
    pub async fn axe(&self) -> Result<Vec<Violation>> {
        self.eval(&format!("{}\n;return typeof axe;", axe_source()?)).await?;
        let found = self
            .eval_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                   .then(r => done(r.violations
                     .filter(v => v.impact === 'serious' || v.impact === 'critical')
                     .map(v => ({id: v.id, impact: v.impact, help: v.help,
                                 nodes: v.nodes.map(n => n.target.join(' ') + ': ' + (n.failureSummary || ''))}))))
                   .catch(e => done({error: String(e)}));",
            )
            .await?;
        if let Some(error) = found.get("error") {
            bail!("axe-core failed: {error}");
        }
        Ok(serde_json::from_value(found)?)
    }

    /// Fails, naming `page`, if axe-core finds a serious or critical violation on the page.
    pub async fn expect_accessible(&self, page: &str) -> Result<()> {
        let violations = self.axe().await?;
        if !violations.is_empty() {
            bail!("{page}: axe-core finds {violations:#?}");
        }
        Ok(())
    }
}

/// The W3C WebDriver bodies the harness sends to chromedriver and the one it reads back: typed,
/// like every body on the wire (WebDriver is chromedriver's protocol, not Dawr's, so they live
/// here rather than in `dawr-protocol`).
mod webdriver {
    use super::{Deserialize, Serialize, Value};

    /// `POST /session/{id}/print`: the page as a PDF (W3C WebDriver's print command).
    #[derive(Serialize)]
    pub struct Print {
        pub page: PrintPage,
        pub background: bool,
    }

    /// A paper size, in centimetres.
    #[derive(Serialize)]
    pub struct PrintPage {
        pub width: f64,
        pub height: f64,
    }

    /// `POST /session/{id}/goog/cdp/execute`: one Chrome DevTools command.
    #[derive(Serialize)]
    pub struct Cdp<'a> {
        pub cmd: &'a str,
        pub params: EmulatedMedia<'a>,
    }

    /// `Emulation.setEmulatedMedia`'s parameters (`""` for the screen again).
    #[derive(Serialize)]
    pub struct EmulatedMedia<'a> {
        pub media: &'a str,
    }

    /// `POST /session`.
    #[derive(Serialize)]
    pub struct NewSession<'a> {
        pub capabilities: Capabilities<'a>,
    }

    #[derive(Serialize)]
    pub struct Capabilities<'a> {
        #[serde(rename = "alwaysMatch")]
        pub always_match: AlwaysMatch<'a>,
    }

    #[derive(Serialize)]
    pub struct AlwaysMatch<'a> {
        #[serde(rename = "browserName")]
        pub browser_name: &'a str,
        #[serde(rename = "goog:chromeOptions")]
        pub chrome_options: ChromeOptions<'a>,
    }

    #[derive(Serialize)]
    pub struct ChromeOptions<'a> {
        pub binary: &'a str,
        pub args: Vec<String>,
        #[serde(rename = "mobileEmulation", skip_serializing_if = "Option::is_none")]
        pub mobile_emulation: Option<MobileEmulation>,
    }

    /// Chromium's device emulation: a phone's viewport and touch screen.
    #[derive(Serialize)]
    pub struct MobileEmulation {
        #[serde(rename = "deviceMetrics")]
        pub device_metrics: DeviceMetrics,
    }

    #[derive(Serialize)]
    pub struct DeviceMetrics {
        pub width: u32,
        pub height: u32,
        #[serde(rename = "pixelRatio")]
        pub pixel_ratio: f64,
        pub touch: bool,
    }

    /// The new session's `value`.
    #[derive(Deserialize)]
    pub struct Created {
        #[serde(rename = "sessionId")]
        pub session_id: String,
    }

    /// `POST /session/{id}/url`.
    #[derive(Serialize)]
    pub struct Navigate<'a> {
        pub url: &'a str,
    }

    /// `POST /session/{id}/execute/sync` and `…/async`.
    #[derive(Serialize)]
    pub struct Script<'a> {
        pub script: &'a str,
        pub args: &'a [Value],
    }
}
