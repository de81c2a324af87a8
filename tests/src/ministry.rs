//! The ministry network's services for tests: Debian's `nats-server` with JetStream and a
//! throw-away PostgreSQL 15 cluster, each on a free loopback port with its files in a temporary
//! directory and stopped with the test (as [`crate::Mosquitto`] is); a [`Relay`], a TCP relay the
//! test can cut and restore (a branch's WAN link); [`Central`], the `dawr-central` process; and
//! what the ministry test and `dawr-ministry-bench` share: a branch file with its uplink, a
//! visit served, a hub's log, the centre's copy and report of a branch, a configuration push.
//!
//! PostgreSQL refuses to run as root, and CI runs as root: then `initdb` and `postgres` run as
//! the `postgres` system user (the Debian package makes it) through `setpriv`, which `exec`s, so
//! the process the test holds is the server itself, and the temporary directory is given to that
//! user.
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use dawr_protocol::api::ministry::{LiveHealth, LogCompleteness};
use dawr_protocol::api::{CounterActionRequest, IssueTicket, Outcome, Priority};
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::watch;

use crate::{
    Hub, PORT_ATTEMPTS, database, demo_branch, free_port, port_taken, production_branch, sibling_binary,
    tracing_free_note,
};

/// Where Debian puts PostgreSQL 15's server programs (`PG_BIN` overrides it).
pub fn postgres_bin_dir() -> PathBuf {
    std::env::var_os("PG_BIN").map(PathBuf::from).unwrap_or_else(|| "/usr/lib/postgresql/15/bin".into())
}

/// Waits until something listens on `port`, or the process ended, or 20 s passed.
fn wait_listening(child: &mut Child, port: u16, what: &str, log: &Path) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        let log = || std::fs::read_to_string(log).unwrap_or_default();
        if let Some(status) = child.try_wait()? {
            bail!("{what} exited with {status}: {}", log());
        }
        if Instant::now() > deadline {
            bail!("{what} did not listen on {port} within 20 s: {}", log());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// Sends `signal` (a `kill` name) to a process the test started.
fn signal(child: &Child, signal: &str) {
    let _ = Command::new("kill").arg(format!("-{signal}")).arg(child.id().to_string()).status();
}

/// Debian's nats-server with JetStream on a free loopback port.
pub struct Nats {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// The configuration appended to the server's (kept to start it again).
    extra: String,
}

impl Nats {
    /// Starts nats-server with JetStream, open to anyone. Fails (does not skip) if it is not
    /// installed: `scripts/install-test-deps` installs it.
    pub fn start() -> Result<Nats> {
        Self::start_with("")
    }

    /// Starts nats-server with JetStream and `extra` appended to its configuration (accounts,
    /// users and their permissions).
    pub fn start_with(extra: &str) -> Result<Nats> {
        let dir = tempfile::tempdir()?;
        let mut nats = Nats { child: None, port: free_port(), dir, extra: extra.into() };
        for attempt in 1.. {
            match nats.launch(extra) {
                Err(e) if attempt < PORT_ATTEMPTS && port_taken(&nats.log()) => {
                    tracing_free_note(&e);
                    nats.port = free_port();
                }
                started => return started.map(|()| nats),
            }
        }
        unreachable!("the loop returns")
    }

    fn launch(&mut self, extra: &str) -> Result<()> {
        let conf = self.dir.path().join("nats.conf");
        let store = self.dir.path().join("jetstream");
        std::fs::write(
            &conf,
            format!(
                "listen: 127.0.0.1:{}\njetstream {{\n  store_dir: \"{}\"\n  max_memory_store: 64MB\n  max_file_store: 1GB\n}}\n{extra}\n",
                self.port,
                store.display()
            ),
        )?;
        let log = File::create(self.dir.path().join("nats.log"))?;
        let child =
            Command::new("nats-server").arg("-c").arg(&conf).stdout(Stdio::null()).stderr(log).spawn().context(
                "nats-server is not installed (apt-get install nats-server); scripts/install-test-deps installs it",
            )?;
        self.child = Some(child);
        let log = self.dir.path().join("nats.log");
        wait_listening(self.child.as_mut().expect("started"), self.port, "nats-server", &log)
    }

    /// `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("nats.log")).unwrap_or_default()
    }
}

impl Nats {
    /// Starts the server again after [`Nats::kill9`]: the same port, configuration and store
    /// (a cluster's node rejoins and catches up).
    pub fn start_again(&mut self) -> Result<()> {
        let extra = self.extra.clone();
        self.launch(&extra)
    }

    /// Stops the server at once (`kill -9`).
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Three nats-servers with JetStream in one cluster on loopback (routes between all three),
/// ready once they have elected a JetStream metadata leader.
pub struct NatsCluster {
    pub nodes: Vec<Nats>,
    /// Each node's monitoring port (`/jsz`), in the order of `nodes`.
    monitors: Vec<u16>,
}

/// What a node's `/jsz` says of the JetStream metadata group (the group that every stream and
/// consumer change goes through).
#[derive(Debug, serde::Deserialize)]
struct Jsz {
    meta_cluster: Option<MetaGroup>,
}

#[derive(Debug, serde::Deserialize)]
struct MetaGroup {
    /// The members other than the leader (listed only by the leader).
    #[serde(default)]
    replicas: Vec<MetaPeer>,
}

#[derive(Debug, serde::Deserialize)]
struct MetaPeer {
    current: bool,
    #[serde(default)]
    offline: bool,
}

impl NatsCluster {
    pub fn start() -> Result<NatsCluster> {
        let routes: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let list = routes.iter().map(|p| format!("nats-route://127.0.0.1:{p}")).collect::<Vec<_>>().join(", ");
        let monitors: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut nodes = Vec::new();
        for (i, (port, monitor)) in routes.iter().zip(&monitors).enumerate() {
            let extra = format!(
                "server_name: n{i}\nhttp: 127.0.0.1:{monitor}\ncluster {{\n  name: dawr\n  listen: 127.0.0.1:{port}\n  routes: [{list}]\n}}\n"
            );
            nodes.push(Nats::start_with(&extra)?);
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while !nodes.iter().any(|n| n.log().contains("metadata leader")) {
            if Instant::now() > deadline {
                bail!("the NATS cluster elected no JetStream leader in 30 s:\n{}", nodes[0].log());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(NatsCluster { nodes, monitors })
    }

    /// Whether the metadata group is whole: its leader says both other members are online and
    /// caught up (only the leader's `/jsz` lists them). Only then may a test kill a node and
    /// count on the two left to elect a leader within seconds: a node just started again may
    /// still be catching up, and cannot lead yet.
    pub async fn metadata_whole(&self) -> bool {
        let Ok(http) = reqwest::Client::builder().timeout(Duration::from_secs(2)).build() else { return false };
        for monitor in &self.monitors {
            let url = format!("http://127.0.0.1:{monitor}/jsz");
            let Ok(answer) = http.get(&url).send().await else { continue };
            let Some(meta) = answer.json::<Jsz>().await.ok().and_then(|j| j.meta_cluster) else { continue };
            if meta.replicas.len() == 2 && meta.replicas.iter().all(|p| p.current && !p.offline) {
                return true;
            }
        }
        false
    }

    /// Every node's URL, comma-separated (as `nats_url` and `--nats-url` take a cluster).
    pub fn urls(&self) -> String {
        self.nodes.iter().map(Nats::url).collect::<Vec<_>>().join(",")
    }
}

impl Drop for Nats {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A throw-away PostgreSQL cluster on a free loopback port, its socket in its own directory.
pub struct Postgres {
    child: Option<Child>,
    pub port: u16,
    dir: tempfile::TempDir,
    /// The server settings besides its address and socket (`-c name=value` each).
    settings: &'static [&'static str],
}

/// A test cluster's settings: losing it in a power cut is fine, waiting for the disk is not.
const THROWAWAY: &[&str] = &["fsync=off", "synchronous_commit=off", "full_page_writes=off"];

/// A benchmark cluster's settings: as durable as a deployment (fsync, `synchronous_commit=on`:
/// an acknowledged booking is on disk), sized for three site replicas' pools, with room for a
/// burst's WAL between checkpoints (README.md, "the PostgreSQL settings").
const DURABLE: &[&str] = &[
    "fsync=on",
    "synchronous_commit=on",
    "full_page_writes=on",
    "max_connections=200",
    "shared_buffers=256MB",
    "max_wal_size=4GB",
];

/// The database user and database the tests use (trust authentication on loopback).
pub const PG_USER: &str = "dawr";

impl Postgres {
    /// Runs `initdb` and starts `postgres`. Fails (does not skip) if PostgreSQL 15 is missing.
    pub fn start() -> Result<Postgres> {
        Self::start_with(THROWAWAY)
    }

    /// The same with a deployment's durability (each commit flushed to disk), for benchmarks.
    pub fn start_durable() -> Result<Postgres> {
        Self::start_with(DURABLE)
    }

    fn start_with(settings: &'static [&'static str]) -> Result<Postgres> {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let as_root = unsafe { libc::geteuid() } == 0;
        if as_root {
            // The cluster belongs to the `postgres` user, who must reach the directory.
            let status = Command::new("chown").arg("-R").arg("postgres:postgres").arg(dir.path()).status()?;
            if !status.success() {
                bail!("cannot give {} to the postgres user", dir.path().display());
            }
        }
        let initdb = postgres_bin_dir().join("initdb");
        let output = Self::as_owner(as_root, &initdb)
            .arg("-D")
            .arg(&data)
            .arg("-U")
            .arg(PG_USER)
            .arg("--auth=trust")
            .arg("--no-sync")
            .arg("-E")
            .arg("UTF8")
            .arg("--locale=C")
            .output()
            .with_context(|| format!("{} (PostgreSQL 15; scripts/install-test-deps installs it)", initdb.display()))?;
        if !output.status.success() {
            bail!("initdb failed: {}", String::from_utf8_lossy(&output.stderr));
        }
        let mut postgres = Postgres { child: None, port: free_port(), dir, settings };
        for attempt in 1.. {
            match postgres.launch(as_root) {
                Err(e) if attempt < PORT_ATTEMPTS && port_taken(&postgres.log()) => {
                    tracing_free_note(&e);
                    postgres.port = free_port();
                }
                started => return started.map(|()| postgres),
            }
        }
        unreachable!("the loop returns")
    }

    /// A command run as the cluster's owner: `postgres` through `setpriv` when we are root.
    fn as_owner(as_root: bool, program: &Path) -> Command {
        if as_root {
            let mut cmd = Command::new("setpriv");
            cmd.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(program);
            cmd
        } else {
            Command::new(program)
        }
    }

    fn launch(&mut self, as_root: bool) -> Result<()> {
        let log_path = self.dir.path().join("postgres.log");
        let log = File::create(&log_path)?;
        if as_root {
            let _ = Command::new("chown").arg("postgres:postgres").arg(&log_path).status();
        }
        let child = Self::as_owner(as_root, &postgres_bin_dir().join("postgres"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-c")
            .arg("listen_addresses=127.0.0.1")
            .arg("-c")
            .arg(format!("unix_socket_directories={}", self.dir.path().display()))
            .args(self.settings.iter().flat_map(|setting| ["-c", setting]))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .context("starting postgres")?;
        self.child = Some(child);
        wait_listening(self.child.as_mut().expect("started"), self.port, "postgres", &log_path)?;
        // Listening comes a moment before accepting sessions.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let ready = Command::new(postgres_bin_dir().join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-U", PG_USER, "-d", "postgres"])
                .stdout(Stdio::null())
                .status()?;
            if ready.success() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("postgres did not accept sessions within 20 s: {}", self.log());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A libpq connection string for database `postgres` as [`PG_USER`].
    pub fn url(&self) -> String {
        format!("postgres://{PG_USER}@127.0.0.1:{}/postgres", self.port)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("postgres.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Immediate shutdown: the postmaster ends its backends, and nothing is kept.
            signal(&child, "QUIT");
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A TCP relay on a free loopback port to `target`, which the test cuts (every connection
/// dropped, new ones refused at once) and restores: a branch's WAN link.
pub struct Relay {
    pub addr: SocketAddr,
    up: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Relay {
    /// Starts relaying (inside the test's tokio runtime).
    pub fn start(target: SocketAddr) -> Relay {
        let listener = crate::tokio_listener();
        let addr = listener.local_addr().expect("an address");
        let (up, watch_up) = watch::channel(true);
        let task = tokio::spawn(async move {
            loop {
                let Ok((inbound, _)) = listener.accept().await else { continue };
                if !*watch_up.borrow() {
                    drop(inbound);
                    continue;
                }
                let mut link_up = watch_up.clone();
                tokio::spawn(async move {
                    let Ok(outbound) = TcpStream::connect(target).await else { return };
                    let (mut a, mut b) = (inbound, outbound);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut a, &mut b) => {}
                        _ = link_up.wait_for(|up| !*up) => {}
                    }
                });
            }
        });
        Relay { addr, up, task }
    }

    /// Cuts the link: open connections drop, new ones are closed on arrival.
    pub fn cut(&self) {
        self.up.send_replace(false);
    }

    /// Restores the link.
    pub fn restore(&self) {
        self.up.send_replace(true);
    }

    /// `nats://ADDR`.
    pub fn nats_url(&self) -> String {
        format!("nats://{}", self.addr)
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The `dawr-central` binary built beside the running test (or `DAWR_CENTRAL_BIN`).
pub fn central_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DAWR_CENTRAL_BIN") {
        return path.into();
    }
    sibling_binary("dawr-e2e-central")
}

/// How long a branch may be silent before the test's central dashboard shows it offline (its
/// hubs put their live state every second).
pub const STALE_AFTER_S: u32 = 5;

/// A running `dawr-central` writer.
pub struct Central {
    child: Option<Child>,
    nats_url: String,
    /// The centre's NATS login, when the server wants one.
    login: Option<(String, String)>,
    postgres_url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
    stopped: Arc<AtomicBool>,
    /// More flags for `run` (the dashboard's).
    extra: Vec<String>,
}

impl Central {
    /// The running writer's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Starts the centre's writer against these servers; waits until its log says it consumes.
    pub fn start(nats: &str, postgres: &str) -> Result<Central> {
        Self::start_as(nats, None, postgres)
    }

    /// Starts the writer with a NATS login (user, password).
    pub fn start_as(nats: &str, login: Option<(&str, &str)>, postgres: &str) -> Result<Central> {
        Self::start_with(nats, login, postgres, Vec::new())
    }

    /// Starts the writer with the central dashboard on a free loopback port, its users and
    /// regions from `centre_file`; returns the writer and the dashboard's base URL.
    /// A branch silent [`STALE_AFTER_S`] seconds shows as offline there (not two minutes, so a
    /// test sees it).
    pub fn start_with_dashboard(nats: &str, postgres: &str, centre_file: &Path) -> Result<(Central, String)> {
        Self::start_as_with_dashboard(nats, None, postgres, centre_file)
    }

    /// Starts the writer with more flags for `run`.
    pub fn start_with_args(nats: &str, postgres: &str, extra: Vec<String>) -> Result<Central> {
        Self::start_with(nats, None, postgres, extra)
    }

    /// The same, logging in to NATS as `login`.
    pub fn start_as_with_dashboard(
        nats: &str,
        login: Option<(&str, &str)>,
        postgres: &str,
        centre_file: &Path,
    ) -> Result<(Central, String)> {
        let port = free_port();
        let extra = vec![
            "--http".into(),
            format!("127.0.0.1:{port}"),
            "--centre-file".into(),
            centre_file.display().to_string(),
            "--stale-after-s".into(),
            STALE_AFTER_S.to_string(),
        ];
        Ok((Self::start_with(nats, login, postgres, extra)?, format!("http://127.0.0.1:{port}")))
    }

    fn start_with(nats: &str, login: Option<(&str, &str)>, postgres: &str, extra: Vec<String>) -> Result<Central> {
        let dir = tempfile::tempdir()?;
        let log = dir.path().join("central.log");
        let mut central = Central {
            child: None,
            nats_url: nats.into(),
            login: login.map(|(u, p)| (u.into(), p.into())),
            postgres_url: postgres.into(),
            log,
            _dir: dir,
            stopped: Arc::default(),
            extra,
        };
        central.spawn()?;
        Ok(central)
    }

    fn spawn(&mut self) -> Result<()> {
        let before = self.log().matches(CENTRAL_READY).count();
        let log = File::options().create(true).append(true).open(&self.log)?;
        let mut cmd = Command::new(central_binary());
        cmd.arg("run").arg("--nats-url").arg(&self.nats_url).arg("--postgres-url").arg(&self.postgres_url);
        // Branch-days computed at once, so a test sees them without waiting.
        cmd.args(["--rollup-every-s", "0.3"]).args(&self.extra);
        if let Some((user, password)) = &self.login {
            cmd.arg("--nats-user").arg(user).env("DAWR_CENTRAL_NATS_PASSWORD", password);
        }
        let child = cmd
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", central_binary().display()))?;
        self.child = Some(child);
        self.stopped.store(false, Ordering::SeqCst);
        // As long as the centre itself waits for JetStream (a start during a cluster's failover
        // waits for the new leaders), and a little more: a centre that gives up exits, and is
        // seen to.
        let patience = dawr_central::cli::JETSTREAM_PATIENCE + Duration::from_secs(10);
        let deadline = Instant::now() + patience;
        while self.log().matches(CENTRAL_READY).count() <= before {
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                bail!("dawr-central exited with {status}:\n{}", self.log());
            }
            if Instant::now() > deadline {
                bail!("dawr-central did not start within {} s:\n{}", patience.as_secs(), self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }

    /// `kill -9` the writer.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// `kill -9`, then start again.
    pub fn restart(&mut self) -> Result<()> {
        self.kill9();
        self.spawn()
    }

    /// The writer's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// nats-server's configuration of the ministry network's rights: one account with JetStream;
/// the centre's user may do anything, each branch's user `{branch}` (password
/// `{branch}-secret`) may publish only its own events (live and catch-up), case notes and live keys (and ask the live bucket's
/// info to open it), read only its own configuration key (a direct get, whose subject names
/// the key), and receive only replies to its own inboxes (`_INBOX_{branch}.>`, the hub's
/// uplink's inbox prefix: no branch sees another's replies).
pub fn branch_rights(branches: &[&str]) -> String {
    let users: Vec<String> = branches
        .iter()
        .map(|b| {
            format!(
                "      {{ user: \"{b}\", password: \"{b}-secret\", permissions: {{
          publish: {{ allow: [\"dawr.v1.evt.{b}\", \"dawr.v1.evt.{b}.catchup\", \"dawr.v1.case.{b}\",
                              \"$KV.dawr_live.{b}.>\", \"$JS.API.STREAM.INFO.KV_dawr_live\",
                              \"$JS.API.DIRECT.GET.KV_dawr_config.$KV.dawr_config.{b}\"] }}
          subscribe: {{ allow: [\"_INBOX_{b}.>\"] }}
        }} }}"
            )
        })
        .collect();
    format!(
        "accounts {{\n  DAWR: {{\n    jetstream: enabled\n    users: [\n      {{ user: \"{CENTRE_USER}\", password: \"{CENTRE_PASSWORD}\" }}\n{}\n    ]\n  }}\n}}\n",
        users.join("\n")
    )
}

/// The centre's NATS login in [`branch_rights`].
pub const CENTRE_USER: &str = "centre";
pub const CENTRE_PASSWORD: &str = "centre-secret";

/// The line `dawr-central` logs once it consumes.
pub const CENTRAL_READY: &str = "the centre consumes";

impl Drop for Central {
    fn drop(&mut self) {
        self.kill9();
    }
}

impl Nats {
    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Where JetStream keeps its files.
    pub fn store_dir(&self) -> PathBuf {
        self.dir.path().join("jetstream")
    }
}

impl Postgres {
    /// The postmaster's process id, while it runs (its backends are its children).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }
}

/// A branch file: the demo's as a real branch has it ([`production_branch`]), as branch `id`,
/// with its uplink to `nats_url` (live state every second, so the centre learns the branch's
/// profile at once; its configuration key read every 0.2 s) and the branch's NATS login.
pub fn branch_file_as(dir: &Path, id: &str, nats_url: &str, login: Option<(&str, &str)>) -> Result<String> {
    let text = production_branch(&demo_branch()).replacen("id = \"demo\"", &format!("id = \"{id}\""), 1);
    let mut text = format!("{text}\n[uplink]\nnats_url = \"{nats_url}\"\nlive_every_s = 1\nconfig_every_s = 0.2\n");
    if let Some((user, password)) = login {
        text.push_str(&format!("user = \"{user}\"\npassword = \"{password}\"\n"));
    }
    let path = dir.join(format!("{id}.toml"));
    std::fs::write(&path, text)?;
    Ok(path.display().to_string())
}

/// [`branch_file_as`] without a login.
pub fn branch_file(dir: &Path, id: &str, nats_url: &str) -> Result<String> {
    branch_file_as(dir, id, nats_url, None)
}

/// The newest sequence and the number of events in a hub's own log.
pub fn hub_log(hub: &Hub) -> Result<(i64, i64)> {
    let conn = rusqlite::Connection::open(database(&hub.data_dir))?;
    Ok(conn.query_row("SELECT COALESCE(MAX(seq), 0), COUNT(*) FROM events", [], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

/// `dawr-central status`: how complete each branch log is at the centre.
pub fn centre_status(postgres: &str) -> Result<Vec<LogCompleteness>> {
    let out = Command::new(central_binary()).args(["status", "--postgres-url", postgres]).output()?;
    ensure!(out.status.success(), "dawr-central status: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// The centre's copy of `branch` (its one log).
pub fn centre_log(postgres: &str, branch: &str) -> Result<Option<LogCompleteness>> {
    Ok(centre_status(postgres)?.into_iter().find(|l| l.branch == branch))
}

/// `dawr-central report` for one branch-day.
pub fn centre_report(postgres: &str, branch: &str, day: &str) -> Result<Value> {
    let out = Command::new(central_binary())
        .args(["report", "--postgres-url", postgres, "--branch", branch, "--from", day, "--to", day])
        .output()?;
    ensure!(out.status.success(), "dawr-central report: {}", String::from_utf8_lossy(&out.stderr));
    Ok(serde_json::from_slice(&out.stdout)?)
}

/// One visit: a ticket at `service`, called, started and completed at `counter` (four events).
pub async fn serve_one(hub: &Hub, service: &str, counter: &str) -> Result<Value> {
    let issue = IssueTicket {
        service: service.into(),
        priority: Priority::Normal,
        appointment_at: None,
        request_id: None,
        sms: None,
    };
    let (status, ticket) = hub.post("/api/v1/tickets", serde_json::to_value(issue)?).await?;
    ensure!(status == 201, "ticket: {ticket}");
    let resolved = CounterActionRequest { outcome: Some(Outcome::Resolved), ..Default::default() };
    for action in ["next", "start", "complete"] {
        let (status, reply) =
            hub.post(&format!("/api/v1/counters/{counter}/{action}"), serde_json::to_value(&resolved)?).await?;
        ensure!(status == 200, "{action}: {reply}");
    }
    Ok(ticket)
}

/// The manager's summary of one day at the branch, and at the centre, without the figures of
/// the branch's own tables ([`without_branch_tables`]).
pub async fn both_reports(hub: &Hub, postgres: &str, branch: &str, day: &str) -> Result<(Value, Value)> {
    let (status, mut at_branch) = hub.manager_get(&format!("/api/v1/reports/summary?from={day}&to={day}")).await?;
    ensure!(status == 200, "the branch's report: {at_branch}");
    let mut at_centre = centre_report(postgres, branch, day)?;
    for report in [&mut at_branch, &mut at_centre] {
        without_branch_tables(report)?;
    }
    Ok((at_branch, at_centre))
}

/// A report without its bookings and SMS figures: they come from the branch's own tables
/// (appointments, the SMS outbox), not from its event log, so the centre has neither.
pub fn without_branch_tables(report: &mut Value) -> Result<()> {
    let report = report.as_object_mut().context("a report object")?;
    report.remove("appointments");
    report.remove("sms");
    Ok(())
}

/// `dawr-central config push` of branch file `file` as `branch`'s configuration, logging in to
/// NATS as `login` if given: the revision it made.
pub fn push_config(nats: &str, login: Option<(&str, &str)>, branch: &str, file: &Path) -> Result<u64> {
    let mut cmd = Command::new(central_binary());
    cmd.args(["config", "push", "--nats-url", nats, "--branch", branch]).arg(file);
    if let Some((user, password)) = login {
        cmd.args(["--nats-user", user]).env("DAWR_CENTRAL_NATS_PASSWORD", password);
    }
    let out = cmd.output()?;
    ensure!(out.status.success(), "dawr-central config push: {}", String::from_utf8_lossy(&out.stderr));
    /// What `dawr-central config push` prints.
    #[derive(serde::Deserialize)]
    struct Pushed {
        revision: u64,
    }
    let pushed: Pushed = serde_json::from_slice(&out.stdout).context("config push's answer")?;
    Ok(pushed.revision)
}

/// The branch's health as it last put it in `dawr_live`.
pub async fn live_health(centre: &async_nats::jetstream::Context, branch: &str) -> Result<LiveHealth> {
    let entry = centre.get_key_value("dawr_live").await?.get(format!("{branch}.health")).await?;
    Ok(serde_json::from_slice(&entry.context("no health yet")?)?)
}

/// A branch file's text with service G added, served at counter 2 (a configuration change a
/// kiosk shows).
pub fn with_service_g(branch_file: &str) -> String {
    let text = branch_file.replacen("services = [\"A\", \"D\"]", "services = [\"A\", \"D\", \"G\"]", 1);
    text.replacen(
        "[[counters]]",
        "[[services]]\ncode = \"G\"\nname = { ar = \"خدمة جديدة\", en = \"New service\" }\ntarget_wait_min = 5\nmean_service_min = 4\n\n[[counters]]",
        1,
    )
}
