//! Measures the ministry network on one machine: NATS JetStream (every branch with its own
//! login and rights, `ministry::branch_rights`), PostgreSQL and the real `dawr-central` writer;
//! a few REAL branches (`--hubs`, 3 by default: `dawr-hub` processes with their uplink, each
//! through a TCP relay the bench can cut, served by Poisson visitors at three counters as the
//! chaos simulation draws them); and N replayed branches (`--branches`, [`ReplayedBranch`]): no
//! hub process, but the hub's own `Queue` and store writing a hub-schema SQLite file (on
//! `/dev/shm`), and the hub's own uplink (`uplink::run`) sending it through a relay of its own,
//! so the centre receives exactly what a hub would send.
//!
//! ```text
//! cargo build --release -p dawr-e2e --bins && target/release/dawr-ministry-bench \
//!     [--hubs 3] [--branches 20] [--seconds 20] [--rate 0.75] [--hub-visits 0.5] \
//!     [--cut N] [--outage-seconds 10] [--outage-events 300] [--max-backoff-s 5] [--live-every-s 5]
//! ```
//!
//! The run, short by default (well under two minutes), the design's size with
//! `--branches 197 --cut 40 --outage-events 27000 --seconds 120`:
//!
//! 1. **A day**: every branch live for `--seconds` (replayed ones at `--rate` events/s, a visit
//!    of four events every `4 / rate` s, 0.75/s being the design's peak, 150 events/s over 200
//!    branches; real ones at `--hub-visits` visits/s, four events each). The replayed branches
//!    to be cut live three days behind (their clock): the centre computes that day's figures
//!    before the outage. Halfway, a configuration push (service G added) to every real hub: the
//!    bench prints when each reported the revision applied in its live health.
//! 2. **An outage** of `--cut` branches (a fifth of all by default; the first real hub's relay
//!    is cut, the rest are replayed branches' relays) for `--outage-seconds`: they keep
//!    producing (each replayed one `--outage-events`, its clock running from three days ago to
//!    now: "three days" of a branch being about 27,000 events), the rest stay live. A second push
//!    (G renamed) meanwhile reaches the cut hub only after the reconnect.
//! 3. **The reconnect**, all cut branches together: the backlog's drain time, and the lag of the
//!    branches that stayed live meanwhile. The day the centre had computed gets its late events:
//!    provisional, then computed again.
//!
//! Then, per branch, the count at the centre against the branch's log (lost, duplicated: both
//! must be zero); how many branch-days went provisional; the centre's report against the
//! branch's for every branch-day (a real hub's `/api/v1/reports/summary`; a replayed branch's
//! own database through the hub's report functions, and the centre's stored figures too);
//! memory (RSS), file descriptors and disk of every component. The lag is `received_at - at`
//! of each row of the branches never cut: `at` is the event's time at the branch,
//! `received_at` the start of the writer's transaction, on one clock. PostgreSQL runs with
//! `fsync=off` and the branches' databases in temporary directories, so the figures are the
//! CPU's and the pipeline's, not a disk's.
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use async_nats::jetstream;
use dawr_e2e::chaos::Rng;
use dawr_e2e::ministry::{
    CENTRE_PASSWORD, CENTRE_USER, Central, Nats, Postgres, Relay, both_reports, branch_file_as, branch_rights, hub_log,
    live_health, push_config, serve_one, with_service_g,
};
use dawr_e2e::replayed::ReplayedBranch;
use dawr_e2e::{Hub, database, hub_day};
use tokio::sync::watch;
use tokio_postgres::NoTls;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> Result<T> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == name) {
        Some(i) => args.get(i + 1).context("a value after the flag")?.parse().ok().context("a number"),
        None => Ok(default),
    }
}

/// Seconds since the epoch, now (the events' clock).
fn epoch_now() -> f64 {
    chrono::Utc::now().timestamp_millis() as f64 / 1000.0
}

/// Three days, in seconds: how far behind real time a cut branch's clock starts, and what its
/// outage spans.
const THREE_DAYS_S: f64 = 3.0 * 24.0 * 3600.0;

/// One synthetic branch: a [`ReplayedBranch`] (its database written through the hub's queue and
/// store, sent by the hub's own uplink through its relay with its own NATS login), and its clock.
struct Synthetic {
    branch: ReplayedBranch,
    /// Cut off in the outage: its clock runs three days behind until then, and catches up during
    /// the outage (so its backlog spans branch-days the centre has already computed).
    cut: bool,
}

impl Synthetic {
    fn id(&self) -> &str {
        &self.branch.id
    }

    /// The branch's clock before the outage: real time, or three days behind for a cut branch.
    fn before_outage(&self) -> chrono::DateTime<chrono::Utc> {
        let now = chrono::Utc::now();
        if self.cut { now - chrono::Duration::milliseconds((THREE_DAYS_S * 1000.0) as i64) } else { now }
    }
}

/// Writes a visit (four events) every `4 / rate` seconds at the branch's clock until `stop` (the
/// branches spread over the first interval).
async fn steady(mut b: Synthetic, rate: f64, offset: f64, mut stop: watch::Receiver<bool>) -> Result<Synthetic> {
    let every = 4.0 / rate;
    let start = tokio::time::Instant::now() + Duration::from_secs_f64(offset * every);
    for n in 0u64.. {
        tokio::select! {
            _ = tokio::time::sleep_until(start + Duration::from_secs_f64(n as f64 * every)) => {}
            _ = stop.wait_for(|stopped| *stopped) => break,
        }
        let at = b.before_outage();
        b = write_visits(b, vec![at]).await?;
    }
    Ok(b)
}

/// Writes visits at `times` on the blocking pool: the queue and SQLite work of 200 branches
/// must not hold the runtime's workers, where the uplinks (and the real hubs' visitors) run.
async fn write_visits(mut b: Synthetic, times: Vec<chrono::DateTime<chrono::Utc>>) -> Result<Synthetic> {
    tokio::task::spawn_blocking(move || {
        b.branch.visits_at(&times)?;
        Ok(b)
    })
    .await?
}

/// A cut branch's outage: `visits` visits whose times run from three days ago to now, written
/// as real time passes over `seconds` (a batch every 100 ms, one transaction each), so the
/// branch's clock catches up with real time by the reconnect.
async fn three_days(mut b: Synthetic, visits: usize, seconds: f64) -> Result<Synthetic> {
    let began = tokio::time::Instant::now();
    let real_start = chrono::Utc::now();
    let span_ms = (THREE_DAYS_S + seconds) * 1000.0;
    let clock_start = real_start - chrono::Duration::milliseconds((THREE_DAYS_S * 1000.0) as i64);
    let mut written = 0usize;
    while written < visits {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let due = ((began.elapsed().as_secs_f64() / seconds).min(1.0) * visits as f64).round() as usize;
        let times: Vec<_> = (written..due.max(written))
            .map(|k| clock_start + chrono::Duration::milliseconds((k as f64 / visits as f64 * span_ms) as i64))
            .collect();
        b = write_visits(b, times).await?;
        written = due.max(written);
    }
    Ok(b)
}

/// Runs `work` for every branch at once and gives the branches back.
async fn all<F, Fut>(branches: Vec<Synthetic>, mut work: F) -> Result<Vec<Synthetic>>
where
    F: FnMut(usize, Synthetic) -> Fut,
    Fut: std::future::Future<Output = Result<Synthetic>> + Send + 'static,
{
    let tasks: Vec<_> = branches.into_iter().enumerate().map(|(i, b)| tokio::spawn(work(i, b))).collect();
    let mut back = Vec::new();
    for task in tasks {
        back.push(task.await??);
    }
    Ok(back)
}

/// What the visitors of one real hub did: the days their tickets were issued on, visits
/// served, and visits that failed (with the first failure).
#[derive(Default)]
struct Served {
    days: BTreeSet<String>,
    visits: u64,
    failed: u64,
    first_failure: Option<String>,
}

/// Poisson visitors at one real hub until `stop`: three counters, each serving its own
/// services one visit at a time (so no counter calls another's visitor), `visits_per_s` in
/// all, drawn with the chaos simulation's generator.
async fn visitors(hub: Arc<Hub>, seed: u64, visits_per_s: f64, stop: watch::Receiver<bool>) -> Result<Served> {
    let lines = [("2", ["A", "D"]), ("5", ["B", "E"]), ("7", ["C", "F"])];
    // One visit per counter first, one after another: the kiosk is enrolled and each counter's
    // staff member signed in once, not by three tasks at the same moment.
    let mut all = Served::default();
    for (counter, services) in lines {
        let ticket = serve_one(&hub, services[0], counter).await.context("the first visit")?;
        all.days.insert(hub_day(&ticket).to_string());
        all.visits += 1;
    }
    let mut tasks = Vec::new();
    for (n, (counter, services)) in lines.into_iter().enumerate() {
        let (hub, mut stop) = (hub.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = Rng::new(seed * 31 + n as u64);
            let mut served = Served::default();
            let mean = lines.len() as f64 / visits_per_s;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs_f64(rng.exp(mean))) => {}
                    _ = stop.wait_for(|stopped| *stopped) => break,
                }
                match serve_one(&hub, services[rng.below(services.len())], counter).await {
                    Ok(ticket) => {
                        served.days.insert(hub_day(&ticket).to_string());
                        served.visits += 1;
                    }
                    Err(e) => {
                        served.failed += 1;
                        served.first_failure.get_or_insert(format!("{e:#}"));
                    }
                }
            }
            served
        }));
    }
    for task in tasks {
        let one = task.await?;
        all.days.extend(one.days);
        all.visits += one.visits;
        all.failed += one.failed;
        all.first_failure = all.first_failure.or(one.first_failure);
    }
    Ok(all)
}

/// A real branch: its hub, its relay to NATS, and its visitors.
struct RealBranch {
    id: String,
    hub: Arc<Hub>,
    relay: Relay,
    file: String,
    visitors: Option<tokio::task::JoinHandle<Result<Served>>>,
}

/// A configuration pushed to one real hub, and the task that sees it applied.
struct Push {
    id: String,
    revision: u64,
    pushed: Instant,
    /// When the hub's live health first reported the revision (`None`: not within 3 minutes).
    applied: tokio::task::JoinHandle<Option<Instant>>,
}

/// A NATS connection with the centre's login (the server, busy with a drain on two shared
/// cores, may time a login out: it is tried again until it answers).
async fn centre_connection(nats: &str) -> Result<async_nats::Client> {
    Ok(async_nats::ConnectOptions::with_user_and_password(CENTRE_USER.into(), CENTRE_PASSWORD.into())
        .retry_on_initial_connect()
        .connect(nats)
        .await?)
}

/// `dawr-central config push` as the centre, tried up to five times: on a loaded machine the
/// server may time the tool's login out.
async fn push_with_retries(nats: &str, branch: &str, file: &Path) -> Result<u64> {
    let mut attempt = 1;
    loop {
        match push_config(nats, Some((CENTRE_USER, CENTRE_PASSWORD)), branch, file) {
            Ok(revision) => return Ok(revision),
            Err(e) if attempt < 5 => {
                println!("config push to {branch} failed (attempt {attempt}): {e:#}");
                attempt += 1;
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Pushes every real hub's branch file, changed by `edit`, as its configuration; a task per hub
/// waits until the hub reports it applied in its live health.
async fn push_to_hubs(nats: &str, hubs: &[RealBranch], dir: &Path, edit: impl Fn(&str) -> String) -> Result<Vec<Push>> {
    let centre = jetstream::new(centre_connection(nats).await?);
    let mut pushes = Vec::new();
    for real in hubs {
        let file = dir.join(format!("{}-pushed.toml", real.id));
        std::fs::write(&file, edit(&std::fs::read_to_string(&real.file)?))?;
        let revision = push_with_retries(nats, &real.id, &file).await?;
        let pushed = Instant::now();
        let (centre, id) = (centre.clone(), real.id.clone());
        let applied = tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(180);
            while Instant::now() < deadline {
                let health = live_health(&centre, &id).await;
                if health.is_ok_and(|h| h.config_revision.is_some_and(|r| r >= revision)) {
                    return Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            None
        });
        pushes.push(Push { id: real.id.clone(), revision, pushed, applied });
    }
    Ok(pushes)
}

/// Prints when each hub applied a pushed revision (and, for a hub cut off meanwhile, how long
/// after its link came back).
async fn print_applied(
    what: &str,
    pushes: Vec<Push>,
    reconnected: Option<(Instant, &BTreeSet<String>)>,
) -> Result<usize> {
    let mut missing = 0;
    for Push { id, revision, pushed, applied } in pushes {
        match applied.await? {
            Some(at) => {
                let after_reconnect = match reconnected {
                    Some((back, cut)) if cut.contains(&id) => {
                        format!(" ({:.2} s after its link came back)", at.saturating_duration_since(back).as_secs_f64())
                    }
                    _ => String::new(),
                };
                println!(
                    "config {what}: {id} applied revision {revision} {:.2} s after the push{after_reconnect} \
                     (as its live health reports it, put every second)",
                    (at - pushed).as_secs_f64()
                );
            }
            None => {
                missing += 1;
                println!("config {what}: {id} never reported revision {revision}");
            }
        }
    }
    Ok(missing)
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// The lags (seconds, sorted) of the events that happened in `[from, to)` at branches not in
/// `except`.
async fn lags(pg: &tokio_postgres::Client, from: f64, to: f64, except: &[String]) -> Result<Vec<f64>> {
    let rows = pg
        .query(
            "SELECT extract(epoch FROM received_at - at)::float8 FROM events
             WHERE at >= to_timestamp($1) AND at < to_timestamp($2) AND NOT (branch = ANY($3))",
            &[&from, &to, &except],
        )
        .await?;
    let mut lags: Vec<f64> = rows.iter().map(|r| r.get(0)).collect();
    lags.sort_by(f64::total_cmp);
    Ok(lags)
}

fn print_lags(what: &str, lags: &[f64], seconds: f64) {
    println!(
        "lag {what}: {} events ({:.0}/s), p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        lags.len(),
        lags.len() as f64 / seconds.max(0.001),
        percentile(lags, 0.5) * 1000.0,
        percentile(lags, 0.99) * 1000.0,
        lags.last().copied().unwrap_or(f64::NAN) * 1000.0,
    );
}

/// Per branch at the centre: rows, highest sequence, and rows stored more than once.
async fn at_centre(pg: &tokio_postgres::Client) -> Result<std::collections::HashMap<String, (i64, i64, i64)>> {
    let rows = pg
        .query(
            "SELECT branch, count(*), max(seq), count(*) - count(DISTINCT (log_id, seq)) FROM events GROUP BY branch",
            &[],
        )
        .await?;
    Ok(rows.iter().map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3)))).collect())
}

/// Resident memory of a process in MiB (`/proc/PID/status`, `VmRSS`).
fn rss(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// The processes whose parent is `pid` (PostgreSQL's backends and helpers).
fn children(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|child| {
            let stat = std::fs::read_to_string(format!("/proc/{child}/stat")).unwrap_or_default();
            // The parent is the second field after the command's closing parenthesis.
            stat.rsplit_once(')').and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<u32>().ok()) == Some(pid)
        })
        .collect()
}

/// The bytes of the files under `path`.
fn disk(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return 0 };
    if !meta.is_dir() {
        return meta.len();
    }
    std::fs::read_dir(path).map_or(0, |entries| entries.filter_map(|e| e.ok()).map(|e| disk(&e.path())).sum())
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Open file descriptors of this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// Per synthetic branch-day: the centre's report (what `dawr-central report` prints, from its
/// events, with the hub's pure functions) and its stored branch-day (the rollup), against the
/// branch's own report from its database. Returns (branch-days, equal), printing the first few
/// that differ.
async fn synthetic_reports(pg: &tokio_postgres::Client, sims: &[Synthetic]) -> Result<(usize, usize)> {
    let (mut days, mut equal) = (0, 0);
    for s in sims {
        let (offset, targets) =
            dawr_central::store::profile(pg, s.id()).await?.with_context(|| format!("{} never reported", s.id()))?;
        for day in s.branch.days()? {
            let at_branch = s.branch.report(day)?;
            let events = dawr_central::store::visit_events(pg, s.id(), day, day).await?;
            let reported =
                serde_json::to_value(dawr_central::reports::branch_summary(&events, day, day, offset, &targets))?;
            let stored = dawr_central::store::days(pg, s.id(), day, day).await?;
            let rolled_up = stored.first().map(|d| serde_json::to_value(&d.summary)).transpose()?;
            // A day not over yet has no stored figures; one over must have them, final.
            let day_over = stored.first().is_some_and(|d| !d.provisional);
            let rollup_ok = rolled_up.as_ref().is_none_or(|r| *r == at_branch) && (day_over || stored.is_empty());
            days += 1;
            if reported == at_branch && rollup_ok {
                equal += 1;
            } else if days - equal <= 3 {
                println!(
                    "{} {day}: the centre's report differs\n  branch: {at_branch}\n  centre: {reported}\n  stored: {rolled_up:?}",
                    s.id()
                );
            }
        }
    }
    Ok((days, equal))
}

#[tokio::main]
async fn main() -> Result<()> {
    let hubs: usize = arg("--hubs", 3)?;
    let synthetic: usize = arg("--branches", 20)?;
    let seconds: f64 = arg("--seconds", 20.0)?;
    let rate: f64 = arg("--rate", 0.75)?;
    let hub_visits: f64 = arg("--hub-visits", 0.5)?;
    let cut: usize = arg("--cut", ((hubs + synthetic) as f64 * 0.2).round() as usize)?;
    let outage_seconds: f64 = arg("--outage-seconds", 10.0)?;
    let outage_events: usize = arg("--outage-events", 300)?;
    let max_backoff_s: f64 = arg("--max-backoff-s", 5.0)?;
    let live_every_s: f64 = arg("--live-every-s", 5.0)?;
    ensure!(seconds > 0.0 && rate > 0.0 && hub_visits > 0.0 && outage_seconds > 0.0, "durations and rates > 0");
    let cut_hubs = usize::from(cut > 0 && hubs > 0);
    let cut_synthetic = cut - cut_hubs;
    ensure!(cut_synthetic <= synthetic, "--cut {cut} is more than the branches");

    // Every branch logs in as itself, with the rights of `branch_rights`.
    let hub_ids: Vec<String> = (0..hubs).map(|i| format!("h{i}")).collect();
    let synthetic_ids: Vec<String> = (0..synthetic).map(|i| format!("s{i:04}")).collect();
    let all_ids: Vec<&str> = hub_ids.iter().chain(&synthetic_ids).map(String::as_str).collect();
    let nats = Nats::start_with(&branch_rights(&all_ids))?;
    let postgres = Postgres::start()?;
    let central = Central::start_as(&nats.url(), Some((CENTRE_USER, CENTRE_PASSWORD)), &postgres.url())?;
    let (pg, connection) = tokio_postgres::connect(&postgres.url(), NoTls).await?;
    tokio::spawn(connection);
    let files = tempfile::tempdir()?;
    // The replayed branches' databases on tmpfs where there is one (2 cores cannot fsync 200
    // logs; the central path is under test).
    let shm = Path::new("/dev/shm");
    let replay_dir = if shm.is_dir() { tempfile::tempdir_in(shm)? } else { tempfile::tempdir()? };
    let nats_addr: SocketAddr = format!("127.0.0.1:{}", nats.port).parse()?;
    let (stop_hubs, hubs_stopped) = watch::channel(false);
    let mut real = Vec::new();
    for (i, id) in hub_ids.iter().enumerate() {
        let relay = Relay::start(nats_addr);
        let password = format!("{id}-secret");
        let file = branch_file_as(files.path(), id, &relay.nats_url(), Some((id, &password)))?;
        std::fs::write(&file, format!("{}max_backoff_s = {max_backoff_s}\n", std::fs::read_to_string(&file)?))?;
        let hub = Arc::new(Hub::start_embedded_with(&["--config", &file]).await?);
        let driving = tokio::spawn(visitors(hub.clone(), i as u64 + 1, hub_visits, hubs_stopped.clone()));
        real.push(RealBranch { id: id.clone(), hub, relay, file, visitors: Some(driving) });
    }
    let (rss_before, fds_before) = (rss(std::process::id()), open_fds());
    let mut sims = Vec::new();
    for (i, id) in synthetic_ids.iter().enumerate() {
        let (live_every, max_backoff) = (Duration::from_secs_f64(live_every_s), Duration::from_secs_f64(max_backoff_s));
        let branch = ReplayedBranch::start(replay_dir.path(), id, nats_addr, live_every, max_backoff)?;
        sims.push(Synthetic { branch, cut: i < cut_synthetic });
    }
    let cut_ids: BTreeSet<String> = real
        .iter()
        .take(cut_hubs)
        .map(|r| r.id.clone())
        .chain(sims.iter().filter(|s| s.cut).map(|s| s.id().to_string()))
        .collect();
    println!(
        "{hubs} real hubs ({hub_visits} visits/s each) and {synthetic} replayed branches ({rate} events/s each, \
         through the hub's queue, store and uplink, each with its own NATS login and relay); a day of {seconds} s, \
         then {cut} branches cut off for {outage_seconds} s ({outage_events} events each, \"three days\", \
         while cut off), reconnected together; uplinks back off up to {max_backoff_s} s"
    );

    // A day, with a configuration push halfway. The cut branches' clocks run three days behind.
    let t0 = epoch_now();
    let (stop, stopped) = watch::channel(false);
    let n = synthetic.max(1) as f64;
    let day = tokio::spawn(all(sims, move |i, b| steady(b, rate, i as f64 / n, stopped.clone())));
    tokio::time::sleep(Duration::from_secs_f64(seconds / 2.0)).await;
    let first_push = push_to_hubs(&nats.url(), &real, files.path(), with_service_g).await?;
    tokio::time::sleep(Duration::from_secs_f64(seconds / 2.0)).await;
    stop.send_replace(true);
    let sims = day.await??;
    let t1 = epoch_now();
    let mut unapplied = print_applied("push during the day", first_push, None).await?;
    // The centre has computed the cut branches' day three days ago before they go: what comes
    // of it after the reconnect is late.
    let cut_synthetic_ids: Vec<String> = sims.iter().filter(|s| s.cut).map(|s| s.id().to_string()).collect();
    let computed = dawr_e2e::wait_until(Duration::from_secs(60), || async {
        let Ok(row) = pg
            .query_one(
                "SELECT count(DISTINCT branch) FROM branch_days WHERE branch = ANY($1) AND summary IS NOT NULL",
                &[&cut_synthetic_ids],
            )
            .await
        else {
            return false;
        };
        row.get::<_, i64>(0) as usize == cut_synthetic_ids.len()
    })
    .await;
    println!("before the outage, the centre has computed a day of every branch to be cut: {computed}");

    // The outage: the cut branches live "three days" meanwhile, the others stay live.
    for r in real.iter().take(cut_hubs) {
        r.relay.cut();
    }
    for s in sims.iter().filter(|s| s.cut) {
        s.branch.relay.cut();
    }
    let (stop, stopped) = watch::channel(false);
    let outage_visits = outage_events.div_ceil(4);
    let outage = tokio::spawn(all(sims, move |i, b| {
        let stopped = stopped.clone();
        async move {
            if b.cut {
                three_days(b, outage_visits, outage_seconds).await
            } else {
                steady(b, rate, i as f64 / n, stopped).await
            }
        }
    }));
    tokio::time::sleep(Duration::from_secs_f64(outage_seconds / 2.0)).await;
    let renamed =
        |text: &str| with_service_g(text).replacen("en = \"New service\"", "en = \"New service, renamed\"", 1);
    let second_push = push_to_hubs(&nats.url(), &real, files.path(), renamed).await?;
    tokio::time::sleep(Duration::from_secs_f64(outage_seconds / 2.0)).await;
    stop.send_replace(true);
    let mut sims = outage.await??;
    for s in sims.iter_mut() {
        // From now on every branch runs on real time.
        s.cut = false;
    }
    let t2 = epoch_now();
    let counts = at_centre(&pg).await?;
    let cut_produced: Vec<(String, i64)> =
        sims.iter().filter(|s| cut_ids.contains(s.id())).map(|s| (s.id().to_string(), s.branch.produced())).collect();
    let backlog: i64 = cut_produced.iter().map(|(id, produced)| produced - counts.get(id).map_or(0, |c| c.1)).sum();
    let mut hub_backlog = Vec::new();
    for r in real.iter().take(cut_hubs) {
        let (last, _) = hub_log(&r.hub)?;
        let at_centre = counts.get(&r.id).map_or(0, |c| c.1);
        hub_backlog.push((r.id.clone(), last, last - at_centre));
    }

    // Every cut branch back at once; every branch stays live until the backlog has drained.
    let reconnected = Instant::now();
    for r in real.iter().take(cut_hubs) {
        r.relay.restore();
    }
    for s in sims.iter().filter(|s| cut_ids.contains(s.id())) {
        s.branch.relay.restore();
    }
    let (stop, stopped) = watch::channel(false);
    let storm = tokio::spawn(all(sims, move |i, b| steady(b, rate, i as f64 / n, stopped.clone())));
    let (mut synthetic_drained, mut hubs_drained) = (None, None);
    let deadline = Instant::now() + Duration::from_secs(1800);
    while (synthetic_drained.is_none() || hubs_drained.is_none()) && Instant::now() < deadline {
        let counts = at_centre(&pg).await?;
        let got = |id: &str| counts.get(id).map_or(0, |c| c.1);
        if synthetic_drained.is_none() && cut_produced.iter().all(|(id, produced)| got(id) >= *produced) {
            synthetic_drained = Some(reconnected.elapsed());
        }
        if hubs_drained.is_none() && hub_backlog.iter().all(|(id, last, _)| got(id) >= *last) {
            hubs_drained = Some(reconnected.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    stop.send_replace(true);
    let sims = storm.await??;
    let t3 = epoch_now();
    let drain = |d: Option<Duration>| d.map_or("never (30 min)".to_string(), |d| format!("{:.1} s", d.as_secs_f64()));
    println!(
        "reconnect: {backlog} events behind at {cut_synthetic} replayed branches drained in {}; \
         the cut hubs' backlog {hub_backlog:?} (id, last seq, events behind) drained in {}",
        drain(synthetic_drained),
        drain(hubs_drained)
    );
    unapplied += print_applied("push during the outage", second_push, Some((reconnected, &cut_ids))).await?;

    // The real hubs' visitors stop; the centre gets the last of everyone's events.
    stop_hubs.send_replace(true);
    let mut served = Vec::new();
    for r in real.iter_mut() {
        let done = r.visitors.take().context("visitors")?.await??;
        println!(
            "{}: {} visits served, {} failed{}, on days {:?}",
            r.id,
            done.visits,
            done.failed,
            done.first_failure.as_deref().map(|f| format!(" (first: {f})")).unwrap_or_default(),
            done.days
        );
        served.push(done);
    }
    let settled = dawr_e2e::wait_until(Duration::from_secs(120), || async {
        let Ok(counts) = at_centre(&pg).await else { return false };
        real.iter().all(|r| hub_log(&r.hub).is_ok_and(|(last, _)| counts.get(&r.id).is_some_and(|c| c.1 == last)))
            && sims.iter().all(|s| counts.get(s.id()).is_some_and(|c| c.1 == s.branch.produced()))
    })
    .await;
    if !settled {
        let counts = at_centre(&pg).await?;
        let behind: Vec<String> = real
            .iter()
            .filter_map(|r| Some((r.id.clone(), hub_log(&r.hub).ok()?.0)))
            .chain(sims.iter().map(|s| (s.id().to_string(), s.branch.produced())))
            .filter_map(|(id, last)| {
                let max_seq = counts.get(&id).map_or(0, |c| c.1);
                (max_seq != last).then(|| format!("{id} (centre max seq {max_seq}, branch {last})"))
            })
            .collect();
        println!("not everything reached the centre within 120 s: {behind:?}");
    }
    // Every late branch-day recomputed: none provisional any more.
    let recomputed = dawr_e2e::wait_until(Duration::from_secs(120), || async {
        pg.query_one("SELECT count(*) FROM branch_days WHERE provisional", &[])
            .await
            .is_ok_and(|r| r.get::<_, i64>(0) == 0)
    })
    .await;

    let except: Vec<String> = cut_ids.iter().cloned().collect();
    print_lags("during the day, branches never cut", &lags(&pg, t0, t1, &except).await?, t1 - t0);
    print_lags("during the outage, branches never cut", &lags(&pg, t1, t2, &except).await?, t2 - t1);
    print_lags("while the backlog drains, branches never cut", &lags(&pg, t2, t3, &except).await?, t3 - t2);

    // Exactly once: per branch, the centre's rows against the branch's log.
    let counts = at_centre(&pg).await?;
    let (mut lost, mut duplicated, mut produced) = (0i64, 0i64, 0i64);
    let mut wrong = Vec::new();
    let mut expected: Vec<(String, i64, i64)> =
        sims.iter().map(|s| (s.id().to_string(), s.branch.produced(), s.branch.produced())).collect();
    for r in &real {
        let (last, count) = hub_log(&r.hub)?;
        expected.push((r.id.clone(), last, count));
    }
    for (id, last, count) in &expected {
        let (rows, max_seq, twice) = counts.get(id).copied().unwrap_or_default();
        produced += count;
        lost += (count - (rows - twice)).max(0);
        duplicated += twice;
        if rows != *count || max_seq != *last || twice != 0 {
            wrong.push(format!(
                "{id}: produced {count} (last seq {last}), centre {rows} rows, max seq {max_seq}, {twice} twice"
            ));
        }
    }
    println!(
        "exactly once: {} branches, {produced} events produced, {lost} lost, {duplicated} duplicated, {} branches wrong",
        expected.len(),
        wrong.len()
    );

    // Late branch-days: marked provisional when their events came after the first computation,
    // then computed again.
    let late = pg
        .query_one(
            "SELECT count(*) FILTER (WHERE late_events > 0), count(*) FILTER (WHERE provisional),
                    coalesce(sum(late_events), 0)::int8, count(*) FILTER (WHERE revisions > 1)
             FROM branch_days",
            &[],
        )
        .await?;
    let (late_days, still_provisional, late_events, recomputed_days): (i64, i64, i64, i64) =
        (late.get(0), late.get(1), late.get(2), late.get(3));
    println!(
        "late branch-days: {late_days} were marked provisional ({late_events} late events), {recomputed_days} \
         computed more than once, {still_provisional} still provisional (all recomputed: {recomputed})"
    );

    // The centre's figures against the branch's, for every branch-day.
    let (mut days, mut equal) = (0, 0);
    for (r, done) in real.iter().zip(&served) {
        for day in &done.days {
            let (at_branch, at_centre) = both_reports(&r.hub, &postgres.url(), &r.id, day).await?;
            days += 1;
            if at_branch == at_centre {
                equal += 1;
            } else {
                println!("{} {day}: the centre's report differs\n  branch: {at_branch}\n  centre: {at_centre}", r.id);
            }
        }
    }
    println!("reports: the centre's equals the branch's for {equal} of {days} branch-days of the real hubs");
    let (synthetic_days, synthetic_equal) = synthetic_reports(&pg, &sims).await?;
    println!(
        "reports: the centre's (computed from its events, and stored for days over) equals the branch's own \
         (its database through the hub's report functions) for {synthetic_equal} of {synthetic_days} branch-days \
         of the replayed branches"
    );

    // Memory and disk per component.
    let postmaster = postgres.pid().context("postgres runs")?;
    let backends: f64 = children(postmaster).into_iter().map(rss).sum();
    let bench_rss = rss(std::process::id());
    println!(
        "memory (RSS, MiB): writer {:.1}, nats-server {:.1}, postgres {:.1} (postmaster) + {:.1} (its processes; \
         shared buffers counted in each), bench {bench_rss:.1} of which its {synthetic} replayed branches \
         {:.1} ({:.2} each; {} file descriptors, {:.1} each), hubs {}",
        rss(central.pid().context("the writer runs")?),
        rss(nats.pid().context("nats runs")?),
        rss(postmaster),
        backends,
        bench_rss - rss_before,
        (bench_rss - rss_before) / synthetic.max(1) as f64,
        open_fds().saturating_sub(fds_before),
        open_fds().saturating_sub(fds_before) as f64 / synthetic.max(1) as f64,
        real.iter().map(|r| format!("{} {:.1}", r.id, r.hub.pid().map_or(0.0, rss))).collect::<Vec<_>>().join(", ")
    );
    let db_size: i64 = pg.query_one("SELECT pg_database_size(current_database())", &[]).await?.get(0);
    let sqlite = |r: &RealBranch| {
        let db = database(&r.hub.data_dir);
        ["", "-wal", "-shm"].iter().map(|s| disk(Path::new(&format!("{}{s}", db.display())))).sum::<u64>()
    };
    let replayed: u64 = sims.iter().map(|s| s.branch.disk()).sum();
    println!(
        "disk (MiB): PostgreSQL database {:.1}, NATS store {:.1}, replayed branches' SQLite {:.1} ({:.2} each), \
         hubs' SQLite {}",
        mib(db_size as u64),
        mib(disk(&nats.store_dir())),
        mib(replayed),
        mib(replayed) / synthetic.max(1) as f64,
        real.iter().map(|r| format!("{} {:.2}", r.id, mib(sqlite(r)))).collect::<Vec<_>>().join(", ")
    );
    ensure!(settled && wrong.is_empty(), "not every event once: {wrong:?}");
    ensure!(equal == days && days > 0, "the centre's reports differ from the real branches'");
    ensure!(synthetic_equal == synthetic_days, "the centre's reports differ from the replayed branches'");
    ensure!(cut_synthetic == 0 || late_days > 0, "no branch-day was late: the outage spans no computed day");
    ensure!(recomputed, "a late branch-day stayed provisional");
    ensure!(unapplied == 0, "a pushed configuration was not applied");
    ensure!(served.iter().all(|s| s.failed == 0), "visits failed at a real hub");
    Ok(())
}
