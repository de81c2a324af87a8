//! `dawr-central`: `run` (the writer and the live-state follower), `report` (a branch's figures
//! for a range of local days, as JSON) and `status` (how complete each branch log is, as JSON).
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Parser, Subcommand};

use crate::nats::{self, NatsLogin};
use crate::people::CentreFile;
use crate::{config, live, reports, rollup, store, web, writer};

#[derive(Parser, Debug)]
#[command(
    name = "dawr-central",
    version,
    about = "The ministry's centre: every branch's events in PostgreSQL, and their reports"
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Write every branch's events from JetStream into PostgreSQL, and follow their live state
    Run {
        /// The centre's NATS server (a cluster's servers comma-separated)
        #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        /// Copies of the stream and buckets when the centre makes them (3 on a three-node cluster)
        #[arg(long, value_name = "N", default_value_t = 1)]
        replicas: usize,
        #[arg(long, value_name = "USER", env = "DAWR_CENTRAL_NATS_USER")]
        nats_user: Option<String>,
        #[arg(long, value_name = "SECRET", env = "DAWR_CENTRAL_NATS_PASSWORD", hide_env_values = true)]
        nats_password: Option<String>,
        /// PostgreSQL, e.g. postgres://dawr@127.0.0.1:5432/dawr
        #[arg(long, value_name = "URL", env = "DAWR_CENTRAL_POSTGRES_URL")]
        postgres_url: String,
        /// How often due branch-days are computed (over, or with late events), in seconds
        #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
        rollup_every_s: f64,
        /// Serve the central dashboard on this address
        #[arg(long, value_name = "ADDR")]
        http: Option<std::net::SocketAddr>,
        /// The centre's file: regions, branches' regions, the dashboard's users (needed with --http)
        #[arg(long, value_name = "FILE")]
        centre_file: Option<std::path::PathBuf>,
        /// A branch whose hub is silent this long shows as offline (the live keys' age limit)
        #[arg(long, value_name = "SECONDS", default_value_t = 120.0)]
        stale_after_s: f64,
        /// A host name the dashboard answers to (besides IP addresses and localhost); repeat it
        #[arg(long = "allowed-host", value_name = "HOST")]
        allowed_hosts: Vec<String>,
    },
    /// Print a branch's computed days FROM..=TO (JSON): figures, revisions, provisional
    Days {
        #[arg(long, value_name = "URL", env = "DAWR_CENTRAL_POSTGRES_URL")]
        postgres_url: String,
        #[arg(long)]
        branch: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
    },
    /// Print a branch's figures for local days FROM..=TO (JSON, as the hub's /api/v1/reports/summary)
    Report {
        #[arg(long, value_name = "URL", env = "DAWR_CENTRAL_POSTGRES_URL")]
        postgres_url: String,
        #[arg(long)]
        branch: String,
        #[arg(long, value_name = "YYYY-MM-DD")]
        from: NaiveDate,
        #[arg(long, value_name = "YYYY-MM-DD")]
        to: NaiveDate,
    },
    /// Print how complete each branch log is (JSON)
    Status {
        #[arg(long, value_name = "URL", env = "DAWR_CENTRAL_POSTGRES_URL")]
        postgres_url: String,
    },
    /// A branch's configuration pushed down through the KV bucket dawr_config
    Config {
        #[command(subcommand)]
        action: ConfigAction,
    },
}

#[derive(Subcommand, Debug)]
pub enum ConfigAction {
    /// Check FILE (TOML: name, [routing], [[services]], [[counters]], [[staff]], [satisfaction],
    /// [cases]) and put it as BRANCH's configuration; prints {"branch", "revision"}
    Push {
        #[arg(long, value_name = "URL", default_value = "nats://127.0.0.1:4222")]
        nats_url: String,
        #[arg(long, value_name = "USER", env = "DAWR_CENTRAL_NATS_USER")]
        nats_user: Option<String>,
        #[arg(long, value_name = "SECRET", env = "DAWR_CENTRAL_NATS_PASSWORD", hide_env_values = true)]
        nats_password: Option<String>,
        #[arg(long)]
        branch: String,
        file: std::path::PathBuf,
    },
}

/// What `config push` prints.
#[derive(Debug, serde::Serialize)]
struct Pushed<'a> {
    branch: &'a str,
    revision: u64,
}

/// The binary's entry point.
pub fn main() -> ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("dawr-central: cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(command(args.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("dawr-central: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn pool(url: &str) -> anyhow::Result<deadpool_postgres::Pool> {
    let config: tokio_postgres::Config = url.parse().context("the PostgreSQL URL")?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    Ok(deadpool_postgres::Pool::builder(manager).max_size(6).build()?)
}

async fn command(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Run {
            nats_url,
            replicas,
            nats_user,
            nats_password,
            postgres_url,
            rollup_every_s,
            http,
            centre_file,
            stale_after_s,
            allowed_hosts,
        } => {
            if !(0.1..=3600.0).contains(&rollup_every_s) {
                anyhow::bail!("--rollup-every-s {rollup_every_s} is not between 0.1 and 3600");
            }
            if !(1..=5).contains(&replicas) {
                anyhow::bail!("--replicas {replicas} is not between 1 and 5");
            }
            if !(1.0..=86400.0).contains(&stale_after_s) {
                anyhow::bail!("--stale-after-s {stale_after_s} is not between 1 and 86400");
            }
            let dashboard = match (http, centre_file) {
                (Some(addr), Some(file)) => {
                    let file = CentreFile::load(&file)?;
                    Some(Dashboard { addr, file, stale_after_s, allowed_hosts })
                }
                (Some(_), None) => anyhow::bail!("--http needs --centre-file (the dashboard's users)"),
                (None, _) => None,
            };
            let login = NatsLogin { url: nats_url, user: nats_user, password: nats_password };
            run(login, replicas, &postgres_url, Duration::from_secs_f64(rollup_every_s), dashboard).await
        }
        Command::Days { postgres_url, branch, from, to } => {
            let pool = pool(&postgres_url)?;
            let days = store::days(&**pool.get().await?, &branch, from, to).await?;
            println!("{}", serde_json::to_string(&days)?);
            Ok(())
        }
        Command::Report { postgres_url, branch, from, to } => {
            let pool = pool(&postgres_url)?;
            let client = pool.get().await?;
            let (offset, targets) = store::profile(&**client, &branch)
                .await?
                .with_context(|| format!("no branch {branch:?} has reported"))?;
            let events = store::visit_events(&**client, &branch, from, to).await?;
            let summary = reports::branch_summary(&events, from, to, offset, &targets);
            println!("{}", serde_json::to_string(&summary)?);
            Ok(())
        }
        Command::Config { action: ConfigAction::Push { nats_url, nats_user, nats_password, branch, file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let body = config::prepare(&text, &file, &branch)?;
            let login = NatsLogin { url: nats_url, user: nats_user, password: nats_password };
            let js = async_nats::jetstream::new(nats::connect_once(&login).await?);
            nats::ensure(&js, 1).await?;
            let revision = js.get_key_value(nats::CONFIG_BUCKET).await?.put(&branch, body.into()).await?;
            println!("{}", serde_json::to_string(&Pushed { branch: &branch, revision })?);
            Ok(())
        }
        Command::Status { postgres_url } => {
            let pool = pool(&postgres_url)?;
            let logs = store::completeness(&**pool.get().await?).await?;
            println!("{}", serde_json::to_string(&logs)?);
            Ok(())
        }
    }
}

/// The central dashboard's settings (`run --http`).
struct Dashboard {
    addr: std::net::SocketAddr,
    file: CentreFile,
    stale_after_s: f64,
    allowed_hosts: Vec<String>,
}

/// How long the centre waits at its start for JetStream to answer before it gives up.
pub const JETSTREAM_PATIENCE: Duration = Duration::from_secs(120);

/// Makes the stream and buckets if missing and gets the writer's consumer and the live bucket,
/// trying again while JetStream does not answer (up to [`JETSTREAM_PATIENCE`]): a writer
/// started just after a node of its cluster died finds JetStream electing new leaders for some
/// seconds, and waits for it rather than exit.
async fn jetstream_ready(
    js: &async_nats::jetstream::Context,
    replicas: usize,
) -> anyhow::Result<([async_nats::jetstream::consumer::PullConsumer; 3], async_nats::jetstream::kv::Store)> {
    let deadline = tokio::time::Instant::now() + JETSTREAM_PATIENCE;
    let mut pause = Duration::from_millis(250);
    loop {
        let ready = async {
            let (events, cases) = nats::ensure(js, replicas).await?;
            writer::retire_old_consumers(&events).await?;
            let [live, catch_up] = writer::consumers(&events).await?;
            let consumers = [live, catch_up, writer::case_consumer(&cases).await?];
            let live_bucket = js.get_key_value(nats::LIVE_BUCKET).await?;
            anyhow::Ok((consumers, live_bucket))
        };
        match ready.await {
            Ok(ready) => return Ok(ready),
            Err(e) if tokio::time::Instant::now() + pause < deadline => {
                tracing::warn!(error = %e, retry_in = ?pause, "JetStream does not answer yet");
            }
            Err(e) => return Err(e.context("JetStream did not answer within two minutes")),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Makes the schema and the NATS stream and buckets, then writes and follows until stopped.
async fn run(
    login: NatsLogin,
    replicas: usize,
    postgres_url: &str,
    rollup_every: Duration,
    dashboard: Option<Dashboard>,
) -> anyhow::Result<()> {
    let pool = pool(postgres_url)?;
    store::migrate(&**pool.get().await.context("connecting to PostgreSQL")?).await?;
    let client = nats::connect(&login).await?;
    let js = async_nats::jetstream::new(client);
    let (consumers, live_bucket) = jetstream_ready(&js, replicas).await?;
    tracing::info!(nats = %login.url, "the centre consumes");
    let follower = {
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = live::run(&live_bucket, &pool).await {
                    tracing::warn!(error = %e, "following the live state failed");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let rollup = {
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                if let Err(e) = rollup::run(&pool, rollup_every).await {
                    tracing::warn!(error = %e, "computing branch-days failed");
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        })
    };
    let served = match dashboard {
        Some(Dashboard { addr, file, stale_after_s, allowed_hosts }) => {
            let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("listening on {addr}"))?;
            tracing::info!(http = %addr, "the central dashboard is served");
            let configs = js.get_key_value(nats::CONFIG_BUCKET).await?;
            let web = web::Web::new(pool.clone(), file, stale_after_s).with_config(configs);
            let router = web::router(web, &allowed_hosts);
            let limits = dawr_web::serve::Limits::default();
            Some(tokio::spawn(dawr_web::serve::serve(listener, router, limits, None, std::future::pending())))
        }
        None => None,
    };
    // Live events, catch-up and case notes, each written by its own loop (see `writer`).
    let write = |consumer: async_nats::jetstream::consumer::PullConsumer, written: writer::Written| {
        let pool = pool.clone();
        async move {
            loop {
                if let Err(e) = writer::run(&consumer, &pool, written).await {
                    tracing::warn!(error = %e, "writing events failed; starting again");
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    };
    let [live, catch_up, cases] = consumers;
    let writing = async {
        tokio::join!(
            write(live, writer::Written::Events),
            write(catch_up, writer::Written::Events),
            write(cases, writer::Written::CaseNotes)
        )
    };
    tokio::select! {
        _ = writing => {}
        _ = tokio::signal::ctrl_c() => tracing::info!("stopping"),
    }
    follower.abort();
    rollup.abort();
    if let Some(served) = served {
        served.abort();
    }
    Ok(())
}
