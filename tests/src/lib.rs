//! The end-to-end harness: real hub processes, real brokers, real SQLite files.
//!
//! [`Hub`] starts the hub binary (`dawr-e2e-hub`, the same code as `dawr-hub`) on free loopback
//! ports with a temporary data directory, and can `kill -9` and restart it on the same data.
//! [`Mosquitto`] starts Debian's broker the same way (open, or locked down with the files
//! `dawr-hub mosquitto-config` writes). [`MqttProbe`] is a raw MQTT client, the way a third-party
//! button or display would talk to the hub: it logs in with an enrolled device's credentials
//! ([`Hub::device`] reads the demo's, [`Hub::enrol`] enrols more).
use std::fs::File;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod appointments;
pub mod browser;
pub mod button;
pub mod chaos;
pub mod conformance;
pub mod conformance_device;
pub mod conformance_mqtt;
pub mod firmware;
pub mod ministry;
pub mod oidc;
pub mod replayed;
pub mod sms_sink;
pub mod smsc;
pub mod smtp;
pub mod update_sim;
pub mod x11;

use anyhow::{Context, Result, bail, ensure};
pub use dawr_protocol::api::DeviceCredentials;
use dawr_protocol::endpoint::{MqttEndpoint, Password};
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, LastWill, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The time now as the hub and the appointments site started by a test see it: the system clock
/// shifted by `DAWR_CLOCK_OFFSET_S` when the run sets it (the services inherit the variable and
/// read their clock through `dawr_web::clock`). Tests that compute dates or slots use this.
pub fn services_now() -> chrono::DateTime<chrono::Utc> {
    let offset_s: f64 = std::env::var("DAWR_CLOCK_OFFSET_S").ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0.0);
    chrono::Utc::now() + chrono::Duration::milliseconds((offset_s * 1000.0).round() as i64)
}

/// The `--clock-offset-s` value that puts a hub or an appointments site started now at 09:00 in
/// Riyadh (UTC+3) on the day it is there now. Tests that book today's slots and check them in
/// give it to both, so they have the working day ahead of them whatever the hour they run at (at
/// 23:40 in Riyadh a day has one slot left, and a quarter of an hour later is tomorrow).
pub fn morning_offset_s() -> String {
    let riyadh = chrono::FixedOffset::east_opt(3 * 3600).expect("UTC+3");
    let now = chrono::Utc::now().with_timezone(&riyadh);
    let morning = now.date_naive().and_hms_opt(9, 0, 0).expect("09:00").and_local_timezone(riyadh).unwrap();
    let offset_ms = (morning.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_milliseconds();
    format!("{:.3}", offset_ms as f64 / 1000.0)
}

/// A port nobody listens on right now. Another process may take it before it is used, so
/// whoever starts a server process on it starts again on another port when the server says the
/// address is in use ([`Hub`], [`Mosquitto`], the appointments site); servers inside the test
/// process bind [`loopback_listener`] instead and keep it.
pub fn free_port() -> u16 {
    loopback_listener().local_addr().map(|a| a.port()).expect("a free port")
}

/// A listener on a free loopback port, already bound: nobody can take the port in between.
pub fn loopback_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").expect("a free loopback port")
}

/// The same, for tokio (in a test process's runtime).
pub fn tokio_listener() -> tokio::net::TcpListener {
    let listener = loopback_listener();
    listener.set_nonblocking(true).expect("a non-blocking listener");
    tokio::net::TcpListener::from_std(listener).expect("a tokio listener")
}

/// How many times a server process is started on fresh ports when its port was taken meanwhile.
pub(crate) const PORT_ATTEMPTS: usize = 5;

/// Whether a server's log says its port was taken (by another test's process, since
/// [`free_port`] let it go).
pub fn port_taken(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("os error 98")
}

/// Waits until `done` holds, checking every 20 ms, for at most `within`; returns whether it held.
pub async fn wait_until<F: std::future::Future<Output = bool>>(within: Duration, mut done: impl FnMut() -> F) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if done().await {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Says on stderr (shown for failing tests) that a server is started again on other ports.
pub(crate) fn tracing_free_note(error: &anyhow::Error) {
    eprintln!("a port was taken meanwhile; starting again on other ports ({error})");
}

/// A binary of this crate, built beside the running test or bench binary.
fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_path_buf();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join(name)
}

/// The hub binary built beside the running test or bench binary (or `DAWR_HUB_BIN`).
pub fn hub_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DAWR_HUB_BIN") {
        return path.into();
    }
    sibling_binary("dawr-e2e-hub")
}

/// The display board's binary (`dawr-display-board`, built here as `dawr-e2e-board`).
pub fn board_binary() -> PathBuf {
    sibling_binary("dawr-e2e-board")
}

/// The kiosk's binary (`dawr-kiosk`, built here as `dawr-e2e-kiosk`).
pub fn kiosk_binary() -> PathBuf {
    sibling_binary("dawr-e2e-kiosk")
}

/// The counter app's binary (`dawr-counter`, built here as `dawr-e2e-counter`).
pub fn counter_binary() -> PathBuf {
    sibling_binary("dawr-e2e-counter")
}

/// Where tests leave the pictures the documentation shows: `docs/screenshots/` when
/// `DAWR_UPDATE_SCREENSHOTS=1`, else `target/screenshots/` (a run never rewrites committed
/// pictures; see `dawr_ui::headless::screenshots_dir`).
pub fn screenshots_dir() -> PathBuf {
    dawr_ui::headless::screenshots_dir("")
}

/// What the hub logs once it listens on its ports.
const READY_LINE: &str = "Dawr hub ready";

/// Which broker the hub uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrokerChoice {
    /// The hub's embedded rumqttd on this port, with MQTT over TLS on `tls_port`.
    Embedded { port: u16, tls_port: u16 },
    /// An external broker on this port.
    External { port: u16 },
}

/// A running hub process.
pub struct Hub {
    child: Option<Child>,
    pub http: SocketAddr,
    pub broker: BrokerChoice,
    pub data_dir: PathBuf,
    _temp: Option<tempfile::TempDir>,
    pub client: reqwest::Client,
    /// More flags for every start (e.g. the appointments site's address).
    extra_args: Vec<String>,
    /// Environment variables for every start (e.g. the hub's MQTT password).
    env: Vec<(String, String)>,
    /// A staff member's session, for reads that show more to staff and for cancelling.
    staff_token: std::sync::Mutex<Option<String>>,
    /// Sessions signed in at a counter (by the staff member the demo assigns it), for its actions.
    counter_tokens: std::sync::Mutex<std::collections::HashMap<String, String>>,
    /// Devices the harness enrolled itself (a hub with a branch file has no demo devices).
    enrolled: std::sync::Mutex<std::collections::HashMap<String, DeviceCredentials>>,
}

/// The demo branch's PINs (public, so a hub started with `--config` refuses them).
pub const DEMO_PINS: [(&str, &str); 4] = [("s101", "1111"), ("s102", "2222"), ("s103", "3333"), ("m001", "2468")];

/// The PINs of [`production_branch`] files, and their hashes.
pub const TEST_PINS: [(&str, &str, &str); 4] = [
    (
        "s101",
        "5151",
        "$argon2id$v=19$m=19456,t=2,p=1$SFiGpvswAFU7BtW29hprWg$WQ7UUCXNaiY53RUCKIY/sX9Hj09+FKuqs29ygtgTc2M",
    ),
    (
        "s102",
        "5252",
        "$argon2id$v=19$m=19456,t=2,p=1$Tjv52BgM1Ktjukr5b0gV0g$CfOwhNONeczrc1SwTPiEXVO7oRXHYBc4Q1ihc9ILKZE",
    ),
    (
        "s103",
        "5353",
        "$argon2id$v=19$m=19456,t=2,p=1$W7yofbhLGfuEyYTKGRqK9g$el5wp2QeTO0PM7KWAdkdraSpI/A30djHTvlNNv6F5hI",
    ),
    (
        "m001",
        "975312",
        "$argon2id$v=19$m=19456,t=2,p=1$akyeroYJidmDkPINPW6bBQ$/C1axJKwWDG72UEje7JOE6FiXUI+oSDgxSS0XMwIzI8",
    ),
];

/// The demo branch file as a real branch would have it: the staff's PINs are [`TEST_PINS`]
/// (a hub started with `--config` refuses the demo's) and managers' PINs have six digits.
pub fn production_branch(demo: &str) -> String {
    let mut text = demo.replace("manager_pin_digits = 4", "manager_pin_digits = 6");
    for (staff, _, hash) in TEST_PINS {
        let at = text.find(&format!("id = \"{staff}\"")).expect("the demo names this staff member");
        let start = at + text[at..].find("pin_hash = \"").expect("with a PIN hash") + "pin_hash = \"".len();
        let end = start + text[start..].find('"').expect("quoted");
        text.replace_range(start..end, hash);
    }
    text
}

/// The demo branch's file, read from the hub crate.
pub fn demo_branch() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../hub/demo-branch.toml")).expect("the demo branch")
}

/// The staff member the demo branch assigns to `counter`.
pub fn staff_of_counter(counter: &str) -> &'static str {
    match counter {
        "1" | "2" | "3" => "s101",
        "4" | "5" => "s102",
        _ => "s103",
    }
}

impl Hub {
    /// Starts a hub with its embedded broker.
    pub async fn start_embedded() -> Result<Hub> {
        Self::start(BrokerChoice::Embedded { port: free_port(), tls_port: free_port() }, Vec::new()).await
    }

    /// Starts a hub with its embedded broker and these extra flags (kept for restarts).
    pub async fn start_embedded_with(args: &[&str]) -> Result<Hub> {
        let broker = BrokerChoice::Embedded { port: free_port(), tls_port: free_port() };
        Self::start(broker, args.iter().map(|a| a.to_string()).collect()).await
    }

    /// Starts a hub against an external broker on `port`.
    pub async fn start_external(port: u16) -> Result<Hub> {
        Self::start(BrokerChoice::External { port }, Vec::new()).await
    }

    /// Starts a hub against an external broker on `port` that wants the hub's password
    /// (`DAWR_MQTT_PASSWORD`; its username is `dawr-hub-demo`).
    pub async fn start_external_with_password(port: u16, password: &str) -> Result<Hub> {
        let env = vec![(dawr_hub::devices::HUB_PASSWORD_ENV.to_string(), password.to_string())];
        Self::start_in(BrokerChoice::External { port }, Vec::new(), env, tempfile::tempdir()?).await
    }

    /// Starts a hub against an external broker on `port`, on a data directory made beforehand
    /// (e.g. by [`Mosquitto::start_secured`]).
    pub async fn start_external_in(port: u16, data: tempfile::TempDir) -> Result<Hub> {
        Self::start_in(BrokerChoice::External { port }, Vec::new(), Vec::new(), data).await
    }

    async fn start(broker: BrokerChoice, extra_args: Vec<String>) -> Result<Hub> {
        Self::start_in(broker, extra_args, Vec::new(), tempfile::tempdir()?).await
    }

    /// Starts a hub with `broker`, these flags and environment variables (kept for restarts),
    /// on the data directory `data` (a fresh one, or one [`Mosquitto::start_secured`] made).
    pub async fn start_with(
        broker: BrokerChoice,
        args: &[&str],
        env: &[(&str, &str)],
        data: tempfile::TempDir,
    ) -> Result<Hub> {
        let args = args.iter().map(|a| a.to_string()).collect();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Self::start_in(broker, args, env, data).await
    }

    async fn start_in(
        broker: BrokerChoice,
        extra_args: Vec<String>,
        env: Vec<(String, String)>,
        temp: tempfile::TempDir,
    ) -> Result<Hub> {
        // Over HTTPS with the branch certificate: the CA is made here first (the hub keeps it),
        // so the test's client can trust it from the start.
        let client = if extra_args.iter().any(|a| a == "--tls-branch-cert") {
            let files = dawr_hub::tls::ensure(temp.path(), &[])?;
            trusting(&files.ca_cert)?.build()?
        } else {
            http_client().build()?
        };
        let mut hub = Hub {
            child: None,
            http: SocketAddr::from(([127, 0, 0, 1], free_port())),
            broker,
            data_dir: temp.path().to_path_buf(),
            _temp: Some(temp),
            client,
            extra_args,
            env,
            staff_token: std::sync::Mutex::new(None),
            counter_tokens: std::sync::Mutex::default(),
            enrolled: std::sync::Mutex::default(),
        };
        for attempt in 1.. {
            match hub.spawn().await {
                Ok(()) => break,
                Err(e) if attempt < PORT_ATTEMPTS && port_taken(&hub.log()) => {
                    // Another process took a port between `free_port` and the hub's bind.
                    tracing_free_note(&e);
                    std::fs::remove_file(hub.data_dir.join("hub.log"))?;
                    hub.http = SocketAddr::from(([127, 0, 0, 1], free_port()));
                    if let BrokerChoice::Embedded { port, tls_port } = &mut hub.broker {
                        (*port, *tls_port) = (free_port(), free_port());
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(hub)
    }

    /// The MQTT port devices use.
    pub fn mqtt_port(&self) -> u16 {
        match self.broker {
            BrokerChoice::Embedded { port, .. } | BrokerChoice::External { port } => port,
        }
    }

    /// The embedded broker's MQTT-over-TLS port.
    pub fn mqtts_port(&self) -> Option<u16> {
        match self.broker {
            BrokerChoice::Embedded { tls_port, .. } => Some(tls_port),
            BrokerChoice::External { .. } => None,
        }
    }

    /// The branch CA certificate the hub made in its data directory.
    pub fn ca_file(&self) -> PathBuf {
        dawr_hub::tls::TlsFiles::of(&self.data_dir).ca_cert
    }

    /// The plain MQTT endpoint devices use, without a login.
    pub fn mqtt_endpoint(&self) -> MqttEndpoint {
        MqttEndpoint::parse(&format!("mqtt://127.0.0.1:{}", self.mqtt_port())).expect("a valid URL")
    }

    /// The plain MQTT endpoint with the login of `device` (enrolled, or of the demo), for an
    /// in-process device link.
    pub fn endpoint_as(&self, device: &DeviceCredentials) -> MqttEndpoint {
        self.mqtt_endpoint().with_login_if_missing(&device.username, Some(Password::new(&device.password)))
    }

    /// The hub process's id (while it runs).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// `http://127.0.0.1:PORT` + `path` (`https://` for a hub started with `--tls-branch-cert`).
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.extra_args.iter().any(|a| a == "--tls-branch-cert") { "https" } else { "http" };
        format!("{scheme}://{}{}", self.http, path)
    }

    /// The hub's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("hub.log")).unwrap_or_default()
    }

    async fn spawn(&mut self) -> Result<()> {
        let log = File::options().create(true).append(true).open(self.data_dir.join("hub.log"))?;
        let mut cmd = Command::new(hub_binary());
        cmd.arg("--http").arg(self.http.to_string()).arg("--data-dir").arg(&self.data_dir);
        match &self.broker {
            BrokerChoice::Embedded { port, tls_port } => cmd
                .arg("--mqtt-listen")
                .arg(format!("127.0.0.1:{port}"))
                .arg("--mqtt-tls-listen")
                .arg(format!("127.0.0.1:{tls_port}")),
            BrokerChoice::External { port } => cmd.arg("--mqtt-url").arg(format!("mqtt://127.0.0.1:{port}")),
        };
        cmd.args(&self.extra_args);
        cmd.env_remove(dawr_hub::devices::HUB_PASSWORD_ENV).envs(self.env.iter().map(|(k, v)| (k, v)));
        cmd.env("RUST_LOG", "info,rumqttd=off").stdout(Stdio::null()).stderr(log);
        let started_before = self.log().matches(READY_LINE).count();
        // A write past a file-size limit (`set_file_size_limit`, the chaos harness's full disk)
        // then fails with EFBIG, as on a full disk, instead of killing the hub with SIGXFSZ.
        // SAFETY: `signal` is async-signal-safe, as `pre_exec` requires.
        unsafe {
            std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
                libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                Ok(())
            });
        }
        let child = cmd.spawn().with_context(|| format!("starting {}", hub_binary().display()))?;
        self.child = Some(child);
        self.wait_ready(started_before).await
    }

    /// Waits until this hub (its log says it is listening: not another process that took the
    /// port) answers and is connected to its broker.
    async fn wait_ready(&mut self, started_before: usize) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("the hub exited with {status}:\n{}", self.log());
            }
            let listening = self.log().matches(READY_LINE).count() > started_before;
            if listening && let Ok(resp) = self.client.get(self.url("/healthz")).send().await {
                let health: serde_json::Value = resp.json().await.unwrap_or_default();
                if health["mqtt_connected"] == true {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                bail!("the hub did not become ready within 30 s:\n{}", self.log());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Limits the size of any file the running hub writes (`RLIMIT_FSIZE`, `None`: unlimited):
    /// a write past it fails as on a full disk. Ends with the process (a restart is unlimited).
    pub fn set_file_size_limit(&self, bytes: Option<u64>) -> Result<()> {
        let pid = self.pid().context("the hub is not running")?;
        let limit = bytes.unwrap_or(libc::RLIM_INFINITY);
        let new = libc::rlimit { rlim_cur: limit, rlim_max: libc::RLIM_INFINITY };
        // SAFETY: a valid rlimit pointer, and no old limit asked for.
        let done = unsafe { libc::prlimit(pid as libc::pid_t, libc::RLIMIT_FSIZE, &new, std::ptr::null_mut()) };
        ensure!(done == 0, "prlimit on the hub: {}", std::io::Error::last_os_error());
        Ok(())
    }

    /// Whether the hub process still runs (it has not exited on its own).
    pub fn running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| c.try_wait().ok().flatten().is_none())
    }

    /// `kill -9`: no chance to flush or say goodbye.
    pub fn kill9(&mut self) {
        self.staff_token.lock().unwrap().take();
        self.counter_tokens.lock().unwrap().clear();
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// SIGTERM, then waits for a clean exit; returns whether it exited successfully.
    pub fn terminate(&mut self) -> Result<bool> {
        let Some(mut child) = self.child.take() else { return Ok(false) };
        Command::new("kill").arg("-TERM").arg(child.id().to_string()).status()?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(status.success());
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("the hub did not stop within 20 s after SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Starts the hub again on the same ports and data directory.
    pub async fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.spawn().await
    }

    /// `kill -9`, then starts the hub again on the same ports and data directory with `args`
    /// added to its flags from now on (e.g. `--clock-offset-s`, to find it later in the day).
    pub async fn restart_with(&mut self, args: &[&str]) -> Result<()> {
        self.kill9();
        if args.contains(&"--clock-offset-s") {
            // A new clock offset replaces the one it was started with.
            if let Some(at) = self.extra_args.iter().position(|a| a == "--clock-offset-s") {
                self.extra_args.drain(at..(at + 2).min(self.extra_args.len()));
            }
        }
        self.extra_args.extend(args.iter().map(|a| a.to_string()));
        self.spawn().await
    }

    /// Whether this hub runs a branch file (`--config`): then its PINs are [`TEST_PINS`].
    pub fn runs_a_branch_file(&self) -> bool {
        self.extra_args.iter().any(|a| a == "--config")
    }

    /// `staff`'s PIN on this hub (the demo's, or [`TEST_PINS`] with a branch file).
    pub fn pin(&self, staff: &str) -> &'static str {
        let test = TEST_PINS.iter().map(|(s, p, _)| (*s, *p));
        let mut pins = DEMO_PINS.iter().copied().chain(test).filter(|(s, _)| *s == staff);
        let (demo, test) = (pins.next(), pins.next());
        let pin = if self.runs_a_branch_file() { test } else { demo };
        pin.map(|(_, p)| p).unwrap_or_else(|| panic!("no PIN known for {staff}"))
    }

    /// Signs `staff` in (at `counter`, if given); the session.
    pub async fn sign_in(&self, staff: &str, counter: Option<&str>) -> Result<dawr_protocol::api::sessions::Session> {
        let body = dawr_protocol::api::sessions::SignIn {
            staff: staff.into(),
            pin: self.pin(staff).into(),
            counter: counter.map(Into::into),
        };
        let response = self.client.post(self.url("/api/v1/sessions")).json(&body).send().await?;
        if response.status() != reqwest::StatusCode::CREATED {
            bail!("signing {staff} in at {counter:?}: {} {}", response.status(), response.text().await?);
        }
        Ok(response.json().await?)
    }

    /// A staff member's (s101's) session token, signing in when there is none.
    pub async fn staff_token(&self) -> Result<String> {
        if let Some(token) = self.staff_token.lock().unwrap().clone() {
            return Ok(token);
        }
        let token = self.sign_in("s101", None).await?.token;
        *self.staff_token.lock().unwrap() = Some(token.clone());
        Ok(token)
    }

    /// A session signed in at `counter` by the staff member the demo assigns it, signing in when
    /// there is none.
    pub async fn counter_token(&self, counter: &str) -> Result<String> {
        if let Some(token) = self.counter_tokens.lock().unwrap().get(counter).cloned() {
            return Ok(token);
        }
        let token = self.sign_in(staff_of_counter(counter), Some(counter)).await?.token;
        self.counter_tokens.lock().unwrap().insert(counter.to_string(), token.clone());
        Ok(token)
    }

    /// A GET as a signed-in staff member (so tickets show their case and page links).
    pub async fn get(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        let token = self.staff_token().await?;
        let resp = self.client.get(self.url(path)).bearer_auth(token).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// A POST with the credentials its route needs: a counter's action as the staff member
    /// signed in there, a cancel as a staff member, a ticket or check-in as the kiosk `kiosk-1`,
    /// a rating (or its reason) as the counter's rating device `rating-{c}`; anything else
    /// without credentials.
    pub async fn post(&self, path: &str, body: serde_json::Value) -> Result<(u16, serde_json::Value)> {
        if path == "/api/v1/tickets" || path == "/api/v1/checkins" {
            return self.post_as_device(path, body, "kiosk-1", "kiosk", None).await;
        }
        if path == "/api/v1/ratings" {
            let counter = body["counter"].as_str().unwrap_or("1").to_string();
            return self.post_as_device(path, body, &format!("rating-{counter}"), "rating", Some(&counter)).await;
        }
        if let Some(rating) = path.strip_prefix("/api/v1/ratings/").and_then(|r| r.strip_suffix("/reason")) {
            // The rating's counter is its visit's.
            let (_, ticket) = self.get(&format!("/api/v1/tickets/{rating}")).await?;
            let counter = ticket["counter"].as_str().unwrap_or("1").to_string();
            return self.post_as_device(path, body, &format!("rating-{counter}"), "rating", Some(&counter)).await;
        }
        let token = match path.strip_prefix("/api/v1/counters/").and_then(|rest| rest.split_once('/')) {
            // A counter nobody can sign in at (an unknown one): without a session.
            Some((counter, _)) if !counter.is_empty() => self.counter_token(counter).await.ok(),
            _ if path.starts_with("/api/v1/tickets/") && path.ends_with("/cancel") => Some(self.staff_token().await?),
            _ => None,
        };
        self.post_as(path, body, token.as_deref()).await
    }

    /// A POST with this bearer token (or none).
    pub async fn post_as(
        &self,
        path: &str,
        body: serde_json::Value,
        token: Option<&str>,
    ) -> Result<(u16, serde_json::Value)> {
        let mut request = self.client.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let resp = request.send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// The credentials of device `id`: the demo's (from `demo-devices.toml`), else enrolled by the
    /// harness with `role` and `counter` on first use. The second value says whether it was
    /// enrolled just now (the hub takes it up within a second or two).
    pub fn device_account(&self, id: &str, role: &str, counter: Option<&str>) -> Result<(DeviceCredentials, bool)> {
        if let Some(known) = self.enrolled.lock().unwrap().get(id).cloned() {
            return Ok((known, false));
        }
        if let Ok(demo) = self.device(id) {
            return Ok((demo, false));
        }
        let credentials = self.enrol(id, role, counter)?;
        self.enrolled.lock().unwrap().insert(id.to_string(), credentials.clone());
        Ok((credentials, true))
    }

    /// A POST as device `id` (HTTP Basic; see [`Hub::device_account`]). A device enrolled just now
    /// is retried while the hub does not know it yet (up to 10 s).
    pub async fn post_as_device(
        &self,
        path: &str,
        body: serde_json::Value,
        id: &str,
        role: &str,
        counter: Option<&str>,
    ) -> Result<(u16, serde_json::Value)> {
        let (device, fresh) = self.device_account(id, role, counter)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let answer = self.post_basic(path, body.clone(), &device).await?;
            if !(fresh && answer.0 == 401 && Instant::now() < deadline) {
                return Ok(answer);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// A POST with these device credentials (HTTP Basic).
    pub async fn post_basic(
        &self,
        path: &str,
        body: serde_json::Value,
        device: &DeviceCredentials,
    ) -> Result<(u16, serde_json::Value)> {
        let request = self.client.post(self.url(path)).json(&body);
        let resp = request.basic_auth(&device.username, Some(&device.password)).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// A GET as the manager m001 (with the demo's PIN, or a branch file's).
    pub async fn manager_get(&self, path: &str) -> Result<(u16, serde_json::Value)> {
        let body =
            dawr_protocol::api::sessions::SignIn { staff: "m001".into(), pin: self.pin("m001").into(), counter: None };
        let session: dawr_protocol::api::sessions::Session =
            self.client.post(self.url("/api/v1/sessions")).json(&body).send().await?.json().await?;
        let resp = self.client.get(self.url(path)).bearer_auth(session.token).send().await?;
        let status = resp.status().as_u16();
        Ok((status, resp.json().await.unwrap_or(serde_json::Value::Null)))
    }

    /// A demo device's credentials, from the `demo-devices.toml` the hub wrote on its first start
    /// (e.g. `button-2`, `counter-2-app`, `rating-2`, `board-1`, `kiosk-1`).
    pub fn device(&self, id: &str) -> Result<DeviceCredentials> {
        demo_device(&self.data_dir, id)
    }

    /// Enrols a device (`dawr-hub devices add`, beside the running hub) and returns its credentials.
    pub fn enrol(&self, id: &str, role: &str, counter: Option<&str>) -> Result<DeviceCredentials> {
        let mut args = vec!["add", "--device", id, "--role", role];
        if let Some(counter) = counter {
            args.extend(["--counter", counter]);
        }
        let out = self.devices_command(&args)?;
        serde_json::from_str(out.trim()).with_context(|| format!("devices add printed {out:?}"))
    }

    /// Revokes a device (`dawr-hub devices revoke`, beside the running hub).
    pub fn revoke(&self, id: &str) -> Result<()> {
        self.devices_command(&["revoke", "--device", id]).map(drop)
    }

    /// A POST as the manager m001 (with the demo's PIN, or a branch file's).
    pub async fn manager_post(&self, path: &str, body: serde_json::Value) -> Result<(u16, serde_json::Value)> {
        let sign_in =
            dawr_protocol::api::sessions::SignIn { staff: "m001".into(), pin: self.pin("m001").into(), counter: None };
        let session: dawr_protocol::api::sessions::Session =
            self.client.post(self.url("/api/v1/sessions")).json(&sign_in).send().await?.json().await?;
        self.post_as(path, body, Some(&session.token)).await
    }

    /// Runs `dawr-hub firmware SUBCOMMAND ARGS` (with this hub's data directory where it takes
    /// one); its stdout, or its stderr as the error.
    pub fn firmware_command(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(hub_binary());
        cmd.arg("firmware").arg(args[0]);
        if matches!(args[0], "trust" | "publish") {
            cmd.arg("--data-dir").arg(&self.data_dir);
        }
        let output = cmd.args(&args[1..]).output()?;
        if !output.status.success() {
            bail!("dawr-hub firmware {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?)
    }

    /// Runs `dawr-hub devices ARGS` on this hub's data directory (and branch file, if any).
    pub fn devices_command(&self, args: &[&str]) -> Result<String> {
        let mut cmd = Command::new(hub_binary());
        cmd.arg("devices").arg(args[0]).arg("--data-dir").arg(&self.data_dir).args(&args[1..]);
        if let Some(i) = self.extra_args.iter().position(|a| a == "--config") {
            cmd.arg("--config").arg(&self.extra_args[i + 1]);
        }
        let output = cmd.output()?;
        if !output.status.success() {
            bail!("dawr-hub devices {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8(output.stdout)?)
    }
}

/// A device of `DATA_DIR/demo-devices.toml`.
pub fn demo_device(data_dir: &Path, id: &str) -> Result<DeviceCredentials> {
    /// The file's shape (see `dawr_hub::devices`).
    #[derive(serde::Deserialize)]
    struct DemoFile {
        device: Vec<DemoDevice>,
    }
    #[derive(serde::Deserialize)]
    struct DemoDevice {
        device: String,
        password: String,
        /// A rating device's enrolment link.
        #[serde(default)]
        link: Option<String>,
    }
    let path = data_dir.join("demo-devices.toml");
    let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let file: DemoFile = toml::from_str(&text)?;
    let found = file.device.into_iter().find(|d| d.device == id).with_context(|| format!("no demo device {id}"))?;
    Ok(DeviceCredentials {
        username: found.device.clone(),
        device: found.device,
        password: found.password,
        enrol_link: found.link,
    })
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// Debian's Mosquitto on a free loopback port, as the brief's "real broker".
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Starts Mosquitto. Fails (does not skip) if it is not installed: `.ci/run` installs it.
    pub fn start() -> Result<Mosquitto> {
        Self::start_with_logins(&[])
    }

    /// Starts Mosquitto with `allow_anonymous false` and these accounts (username, password) in
    /// a password file made by `mosquitto_passwd`; with no accounts, anyone may connect.
    pub fn start_with_logins(logins: &[(&str, &str)]) -> Result<Mosquitto> {
        let mut attempt = 1;
        loop {
            match Self::start_on(free_port(), logins) {
                Err(e) if attempt < PORT_ATTEMPTS && port_taken(&format!("{e:#}")) => {
                    tracing_free_note(&e);
                    attempt += 1;
                }
                started => return started,
            }
        }
    }

    /// Starts Mosquitto locked down as `dawr-hub mosquitto-config` writes it for the hub data
    /// directory `data` (which it makes, with the demo's devices); returns it and the directory
    /// for [`Hub::start_external_in`].
    pub fn start_secured() -> Result<(Mosquitto, tempfile::TempDir)> {
        let data = tempfile::tempdir()?;
        let mut attempt = 1;
        loop {
            match Self::start_secured_on(free_port(), data.path()) {
                Err(e) if attempt < PORT_ATTEMPTS && port_taken(&format!("{e:#}")) => {
                    tracing_free_note(&e);
                    attempt += 1;
                }
                started => return started.map(|m| (m, data)),
            }
        }
    }

    fn start_secured_on(port: u16, data: &Path) -> Result<Mosquitto> {
        let out = data.join("mosquitto");
        mosquitto_config(data, &out, port)?;
        // As root, Mosquitto would read its files as the `mosquitto` user: stay root in tests.
        Self::launch(port, &format!("include_dir {}\nuser root\npersistence false\nlog_dest stderr\n", out.display()))
    }

    /// `kill -9` of the broker (retained messages and sessions go with it: `persistence false`).
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts the broker again on the same port with the same configuration.
    pub fn start_again(&mut self) -> Result<()> {
        let conf = self._dir.path().join("mosquitto.conf");
        let log = File::options().append(true).open(self._dir.path().join("mosquitto.log"))?;
        self.child = Command::new("mosquitto").arg("-c").arg(&conf).stdout(Stdio::null()).stderr(log).spawn()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            if Instant::now() > deadline || self.child.try_wait()?.is_some() {
                bail!("mosquitto did not listen again on {}", self.port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// Writes the accounts and ACL again (after `devices add|revoke`) and reloads (SIGHUP).
    pub fn reload(&self, data: &Path) -> Result<()> {
        mosquitto_config(data, &data.join("mosquitto"), self.port)?;
        let status = Command::new("kill").arg("-HUP").arg(self.child.id().to_string()).status()?;
        if !status.success() {
            bail!("cannot signal mosquitto");
        }
        Ok(())
    }

    /// Mosquitto on `port`: open to anyone when `logins` is empty, else only to those accounts
    /// (a password file made by `mosquitto_passwd`).
    fn start_on(port: u16, logins: &[(&str, &str)]) -> Result<Mosquitto> {
        let dir = tempfile::tempdir()?;
        let access = if logins.is_empty() {
            "allow_anonymous true\n".to_string()
        } else {
            let passwords = dir.path().join("passwords");
            for (i, (user, password)) in logins.iter().enumerate() {
                let mut cmd = Command::new("mosquitto_passwd");
                if i == 0 {
                    cmd.arg("-c");
                }
                let status = cmd.arg("-b").arg(&passwords).arg(user).arg(password).stdout(Stdio::null()).status();
                let status = status.context("mosquitto_passwd (package mosquitto) is not installed")?;
                ensure!(status.success(), "mosquitto_passwd failed for {user}");
            }
            format!("allow_anonymous false\npassword_file {}\n", passwords.display())
        };
        Self::launch_in(
            dir,
            port,
            &format!("listener {port} 127.0.0.1\n{access}set_tcp_nodelay true\npersistence false\nlog_dest stderr\n"),
        )
    }

    fn launch(port: u16, config: &str) -> Result<Mosquitto> {
        Self::launch_in(tempfile::tempdir()?, port, config)
    }

    fn launch_in(dir: tempfile::TempDir, port: u16, config: &str) -> Result<Mosquitto> {
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(&conf, config)?;
        let log = File::create(dir.path().join("mosquitto.log"))?;
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("mosquitto is not installed (apt-get install mosquitto); .ci/run installs it")?;
        let mut mosquitto = Mosquitto { child, port, _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            let log = || std::fs::read_to_string(mosquitto._dir.path().join("mosquitto.log")).unwrap_or_default();
            if Instant::now() > deadline || mosquitto.child.try_wait()?.is_some() {
                bail!("mosquitto did not listen on {port}: {}", log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(mosquitto)
    }
}

/// `dawr-hub mosquitto-config --data-dir DATA --out OUT --listen 127.0.0.1:PORT`.
fn mosquitto_config(data: &Path, out: &Path, port: u16) -> Result<()> {
    let output = Command::new(hub_binary())
        .arg("mosquitto-config")
        .arg("--data-dir")
        .arg(data)
        .arg("--out")
        .arg(out)
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .output()?;
    if !output.status.success() {
        bail!("dawr-hub mosquitto-config: {}", String::from_utf8_lossy(&output.stderr));
    }
    Ok(())
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A message a probe received.
#[derive(Debug, Clone)]
pub struct Received {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.payload).unwrap_or(serde_json::Value::Null)
    }
}

/// A raw MQTT client, as another vendor's device would be.
pub struct MqttProbe {
    pub client: AsyncClient,
    messages: mpsc::UnboundedReceiver<Received>,
    acks: mpsc::UnboundedReceiver<Vec<rumqttc::SubscribeReasonCode>>,
    link: std::sync::Arc<std::sync::Mutex<Link>>,
    task: JoinHandle<()>,
}

/// What a probe's connection is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Link {
    /// Connected (a CONNACK accepted it, and no error since).
    pub up: bool,
    /// The broker's last refusal of a connect, if any.
    pub refused: Option<ConnectReturnCode>,
}

impl MqttProbe {
    /// Connects as an enrolled device (client id = username).
    pub async fn connect(port: u16, device: &DeviceCredentials) -> Result<MqttProbe> {
        Self::connect_with_will(port, device, None).await
    }

    /// Connects as an enrolled device with a last will `(topic, payload)` (retained, QoS 1).
    pub async fn connect_with_will(
        port: u16,
        device: &DeviceCredentials,
        will: Option<(&str, &str)>,
    ) -> Result<MqttProbe> {
        let login = Some((device.username.as_str(), device.password.as_str()));
        match Self::try_connect(port, &device.username, login, will).await? {
            Ok(probe) => Ok(probe),
            Err(code) => bail!("{} was refused: {code:?}", device.username),
        }
    }

    /// Connects without an account to an open broker (the bench's own Mosquitto, started with
    /// `allow_anonymous true`); the hub's embedded broker refuses it.
    pub async fn open_broker(port: u16, client_id: &str) -> Result<MqttProbe> {
        match Self::try_connect(port, client_id, None, None).await? {
            Ok(probe) => Ok(probe),
            Err(code) => bail!("{client_id} was refused: {code:?}"),
        }
    }

    /// Connects to `endpoint` (its login and TLS) as `client_id`, with an optional last will.
    pub async fn connect_to(endpoint: &MqttEndpoint, client_id: &str, will: Option<(&str, &str)>) -> Result<MqttProbe> {
        match Self::try_connect_to(endpoint, client_id, will).await? {
            Ok(probe) => Ok(probe),
            Err(code) => bail!("{client_id} was refused: {code:?}"),
        }
    }

    /// Connects with any client id and login (none: anonymous); the inner error is the broker's
    /// refusal.
    pub async fn try_connect(
        port: u16,
        client_id: &str,
        login: Option<(&str, &str)>,
        will: Option<(&str, &str)>,
    ) -> Result<std::result::Result<MqttProbe, ConnectReturnCode>> {
        let mut endpoint = MqttEndpoint::parse(&format!("mqtt://127.0.0.1:{port}"))?;
        if let Some((user, password)) = login {
            endpoint = endpoint.with_login_if_missing(user, Some(Password::new(password)));
        }
        Self::try_connect_to(&endpoint, client_id, will).await
    }

    /// [`Self::try_connect`] to any endpoint (its login and TLS).
    pub async fn try_connect_to(
        endpoint: &MqttEndpoint,
        client_id: &str,
        will: Option<(&str, &str)>,
    ) -> Result<std::result::Result<MqttProbe, ConnectReturnCode>> {
        let mut options = endpoint.options(client_id)?;
        options.set_keep_alive(Duration::from_secs(5));
        options.set_max_packet_size(1024 * 1024, 1024 * 1024);
        if let Some((topic, payload)) = will {
            options.set_last_will(LastWill::new(topic, payload.as_bytes().to_vec(), QoS::AtLeastOnce, true));
        }
        let (client, mut eventloop) = AsyncClient::new(options, 256);
        let (tx, messages) = mpsc::unbounded_channel();
        let (ack_tx, acks) = mpsc::unbounded_channel();
        let (connected_tx, mut connected) = mpsc::unbounded_channel();
        let link = std::sync::Arc::new(std::sync::Mutex::new(Link::default()));
        let shared = link.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        *shared.lock().unwrap() = Link { up: true, refused: None };
                        let _ = connected_tx.send(Ok(()));
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ =
                            tx.send(Received { topic: p.topic.clone(), payload: p.payload.to_vec(), retain: p.retain });
                    }
                    Ok(Event::Incoming(Packet::SubAck(ack))) => {
                        let _ = ack_tx.send(ack.return_codes);
                    }
                    Ok(_) => {}
                    Err(e) => {
                        let refused = match e {
                            ConnectionError::ConnectionRefused(code) => Some(code),
                            _ => None,
                        };
                        *shared.lock().unwrap() = Link { up: false, refused };
                        if let Some(code) = refused {
                            let _ = connected_tx.send(Err(code));
                        }
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        let first =
            tokio::time::timeout(Duration::from_secs(10), connected.recv()).await.context("no CONNACK within 10 s")?;
        match first {
            Some(Ok(())) => Ok(Ok(MqttProbe { client, messages, acks, link, task })),
            Some(Err(code)) => {
                task.abort();
                Ok(Err(code))
            }
            None => bail!("the probe stopped"),
        }
    }

    /// The connection's state now.
    pub fn link(&self) -> Link {
        *self.link.lock().unwrap()
    }

    /// Subscribes and returns the broker's SUBACK codes (without checking them).
    pub async fn try_subscribe(&mut self, filter: &str) -> Result<Vec<rumqttc::SubscribeReasonCode>> {
        self.client.subscribe(filter, QoS::AtLeastOnce).await?;
        tokio::time::timeout(Duration::from_secs(10), self.acks.recv())
            .await
            .context("no SUBACK within 10 s")?
            .context("the probe stopped")
    }

    /// Subscribes and waits for the broker's SUBACK, which must grant it.
    pub async fn subscribe(&mut self, filter: &str) -> Result<()> {
        let codes = self.try_subscribe(filter).await?;
        if codes.iter().any(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure)) {
            bail!("subscribing to {filter} was refused");
        }
        Ok(())
    }

    pub async fn publish(&self, topic: &str, payload: impl Into<Vec<u8>>) -> Result<()> {
        self.client.publish(topic, QoS::AtLeastOnce, false, payload.into()).await?;
        Ok(())
    }

    /// The next message on any topic, within `within`.
    pub async fn next_any(&mut self, within: Duration) -> Option<Received> {
        tokio::time::timeout(within, self.messages.recv()).await.ok()?
    }

    /// The next message on `topic`, skipping others, within `within`.
    pub async fn next_on(&mut self, topic: &str, within: Duration) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let msg = tokio::time::timeout_at(deadline, self.messages.recv()).await.ok()??;
            if msg.topic == topic {
                return Some(msg);
            }
        }
    }

    /// The next message on `topic` whose JSON satisfies `pred`, within `within`.
    pub async fn next_matching(
        &mut self,
        topic: &str,
        within: Duration,
        pred: impl Fn(&serde_json::Value) -> bool,
    ) -> Option<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = self.next_on(topic, left).await?;
            if pred(&msg.json()) {
                return Some(msg);
            }
        }
    }

    /// Drops the TCP connection without a DISCONNECT packet, so the broker sends the last will.
    pub fn vanish(self) {
        self.task.abort();
    }
}

impl Drop for MqttProbe {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The emupos printer simulator (PyPI `emupos`, an Epson TM-T20III on TCP) with its control API.
pub struct Emupos {
    child: Child,
    pub printer_port: u16,
    pub api: String,
    dir: tempfile::TempDir,
}

impl Emupos {
    /// The emupos command: `$EMUPOS`, else pyenv's Python 3.13 install, else `emupos` on PATH.
    pub fn command() -> PathBuf {
        if let Some(path) = std::env::var_os("EMUPOS") {
            return path.into();
        }
        let root = std::env::var_os("PYENV_ROOT")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
        match root.map(|r| r.join("versions/3.13.0/bin/emupos")) {
            Some(path) if path.exists() => path,
            _ => PathBuf::from("emupos"),
        }
    }

    /// Starts the simulator. Fails (does not skip) when emupos is missing: `.ci/run` installs it.
    pub fn start() -> Result<Emupos> {
        let dir = tempfile::tempdir()?;
        let (printer_port, api_port) = (free_port(), free_port());
        let config = dir.path().join("emupos.yaml");
        std::fs::write(
            &config,
            format!(
                "schema: 1\napi: {{ host: 127.0.0.1, port: {api_port} }}\ndevices:\n  - id: front\n    type: printer\n    \
                 profile: epson-tm-t20iii\n    connections:\n      - tcp: {{ port: {printer_port} }}\n    \
                 job_idle_timeout_ms: 300\n    receipts_dir: {}\n",
                dir.path().join("receipts").display()
            ),
        )?;
        let log = File::create(dir.path().join("emupos.log"))?;
        let child = Command::new(Self::command())
            .arg("run")
            .arg("--config")
            .arg(&config)
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .context("emupos is not installed (pip install emupos, Python >= 3.13); .ci/run installs it")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", api_port)).is_err()
            || std::net::TcpStream::connect(("127.0.0.1", printer_port)).is_err()
        {
            if Instant::now() > deadline {
                bail!(
                    "emupos did not start: {}",
                    std::fs::read_to_string(dir.path().join("emupos.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Emupos { child, printer_port, api: format!("http://127.0.0.1:{api_port}"), dir })
    }

    /// The last completed receipt as text, with its image saved at `png`.
    pub fn last_receipt(&self, png: &Path) -> Result<String> {
        let output = Command::new(Self::command())
            .arg("--api")
            .arg(&self.api)
            .args(["receipt", "show", "--save"])
            .arg(png)
            .output()?;
        if !output.status.success() {
            bail!("emupos receipt show: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).into_owned())
    }

    /// How many receipts the printer has completed.
    pub fn receipt_count(&self) -> Result<usize> {
        let output = Command::new(Self::command()).arg("--api").arg(&self.api).args(["receipt", "list"]).output()?;
        if !output.status.success() {
            bail!("emupos receipt list: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(String::from_utf8_lossy(&output.stdout).lines().filter(|l| l.starts_with("front-")).count())
    }

    /// Sets (`set`) or clears (`clear`) a fault of the printer: `paper-out`, `cover-open`, `offline`.
    pub fn fault(&self, action: &str, fault: &str) -> Result<()> {
        let output = Command::new(Self::command())
            .arg("--api")
            .arg(&self.api)
            .args(["fault", action, "front", fault])
            .output()?;
        if !output.status.success() {
            bail!("emupos fault {action} {fault}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Emupos {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Decodes the QR codes in a picture with zbarimg (Debian `zbar-tools`).
pub fn decode_qr(png: &Path) -> Result<String> {
    let output = Command::new("zbarimg")
        .args(["-q", "--raw"])
        .arg(png)
        .output()
        .context("zbarimg is not installed (apt-get install zbar-tools); .ci/run installs it")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// The hub's local day (the demo branch's `+03:00`) of a ticket it issued: the day to ask its
/// reports about, taken from the hub's own clock rather than the test's (they differ when the
/// hub's clock is shifted, or when a local midnight passes between the two).
pub fn hub_day(ticket: &serde_json::Value) -> chrono::NaiveDate {
    let issued = ticket["issued_at"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let riyadh = chrono::FixedOffset::east_opt(3 * 3600).expect("a valid offset");
    issued.expect("a ticket with issued_at").with_timezone(&riyadh).date_naive()
}

/// Path helper for tests that inspect the database directly.
pub fn database(data_dir: &Path) -> PathBuf {
    data_dir.join("dawr.db")
}

/// A reqwest client builder, after making rustls's ring provider the process default (the
/// workspace's reqwest has no provider of its own; see `dawr_protocol::endpoint::use_ring_provider`).
pub fn http_client() -> reqwest::ClientBuilder {
    dawr_protocol::endpoint::use_ring_provider();
    reqwest::Client::builder()
}

/// A client builder that trusts only the CA certificates in `ca_file` (PEM).
pub fn trusting(ca_file: &std::path::Path) -> Result<reqwest::ClientBuilder> {
    let certificates = reqwest::Certificate::from_pem_bundle(&std::fs::read(ca_file)?)?;
    Ok(http_client().tls_certs_only(certificates))
}

/// A private CA and a server certificate it signed for `localhost` and `127.0.0.1`, as PEM files
/// in a directory of their own (as a branch's IT would make for its appointments site or CRM).
pub struct TestPki {
    pub ca_cert: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
    _dir: tempfile::TempDir,
}

impl TestPki {
    pub fn new() -> Result<TestPki> {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
        let dir = tempfile::tempdir()?;
        let ca_key = KeyPair::generate()?;
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.distinguished_name.push(DnType::CommonName, "Test private CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_cert = ca.self_signed(&ca_key)?;
        let issuer = Issuer::new(ca, ca_key);
        let key = KeyPair::generate()?;
        let cert =
            CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?.signed_by(&key, &issuer)?;
        let pki = TestPki {
            ca_cert: dir.path().join("ca.pem"),
            cert: dir.path().join("server.pem"),
            key: dir.path().join("server.key"),
            _dir: dir,
        };
        std::fs::write(&pki.ca_cert, ca_cert.pem())?;
        std::fs::write(&pki.cert, cert.pem())?;
        std::fs::write(&pki.key, key.serialize_pem())?;
        Ok(pki)
    }
}
