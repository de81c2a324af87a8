//! Wiring: starts the broker, the store, the engine, MQTT and HTTP, and stops them in order.
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dawr_web::Db;
use dawr_web::start::{self, StartError};
use tokio::sync::mpsc;

use crate::bookings::{self, Appointments, Link, Window};
use crate::domain::Branch;
use crate::engine::{self, EngineHandle, EngineSetup, Request};
use crate::mqtt::{self, BrokerAddress, MqttStatus};
use crate::store::{self, FailedEpoch, StoreError};
use crate::web::{self, AppState};

/// How the hub reaches MQTT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttMode {
    /// Run the embedded broker on this address and connect to it.
    Embedded(SocketAddr),
    /// Connect to an external broker (e.g. Mosquitto).
    External(BrokerAddress),
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub http: SocketAddr,
    /// The visitors' listener (`--public-http`): only `/t/{token}` and its parts.
    pub public_http: Option<SocketAddr>,
    /// More host names the hub answers to (besides IP addresses, `localhost` and the public URL's).
    pub allowed_hosts: Vec<String>,
    /// Timeouts and the connection cap of each listener.
    pub limits: dawr_web::serve::Limits,
    pub mqtt: MqttMode,
    pub data_dir: PathBuf,
    /// Base of the live ticket page links printed on tickets.
    pub public_url: String,
    pub branch: Branch,
    /// The appointments site to hold this branch's bookings from, if any.
    pub appointments: Option<Link>,
    pub checkin_window: Window,
    /// The ministry's CRM to deliver case events to, if any.
    pub crm: Option<crate::crm::CrmLink>,
    /// The branch file's sign-in rules.
    pub sign_in: crate::auth::SignInRules,
    /// Whether this is the built-in demo branch (no `--config`): its PINs are public.
    pub demo: bool,
}

/// The hub could not start (or its HTTP server failed).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("the embedded MQTT broker is not built in; start the hub with --mqtt-url")]
    NoEmbeddedBroker,
    #[cfg(feature = "embedded-broker")]
    #[error(transparent)]
    Broker(#[from] crate::broker::BrokerError),
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    #[error("the engine stopped during start-up")]
    EngineStopped,
}

impl From<StoreError> for RunError {
    fn from(e: StoreError) -> Self {
        RunError::Start(StartError::Store(e))
    }
}

/// How often coalesced updates (board, waiting counts) are published.
const TICK: Duration = Duration::from_millis(250);

/// Runs the hub until `shutdown` completes, then stops cleanly: HTTP stops taking requests, the
/// engine and the writer finish what they hold, and the hub marks itself offline on MQTT.
pub async fn run(settings: Settings, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<(), RunError> {
    start::data_dir(&settings.data_dir)?;
    let path = settings.data_dir.join(store::FILE_NAME);
    let open = || store::open(&path).map_err(StartError::Store);
    let write_conn = open()?;
    // What staff write on cases and the CRM outbox (not queue state) go through the database's
    // writing connection; its reading connection is shared by the engine and HTTP handlers.
    let db = Db::new(open()?, vec![open()?]);
    tracing::info!(database = %path.display(), "database open");

    let broker = broker_address(&settings.mqtt)?;
    let branch = Arc::new(settings.branch);
    let (writes, writes_rx) = mpsc::channel(8192);
    let failed = FailedEpoch::default();
    let writer = store::spawn_writer(write_conn, writes_rx, failed.clone()).map_err(RunError::Thread)?;
    let (publications, publications_rx) = mpsc::unbounded_channel();
    let setup = EngineSetup {
        branch: branch.clone(),
        db: db.clone(),
        writes,
        failed,
        publications,
        public_url: settings.public_url.clone(),
    };
    let (engine, engine_thread) = engine::start(setup)?;

    let status = MqttStatus::default();
    let mqtt = mqtt::start(&broker, &branch.id, engine.clone(), publications_rx, status.clone());
    let ticker = tokio::spawn(tick(engine.clone()));
    let held = Appointments { conn: Db::single(open()?), window: settings.checkin_window, wake: Arc::default() };
    let link = settings.appointments.map(|link| {
        tracing::info!(url = %link.url, "holding this branch's bookings from the appointments site");
        bookings::spawn_link(link, branch.clone(), held.clone())
    });

    let crm_enabled = settings.crm.is_some();
    let crm = settings.crm.map(|link| {
        tracing::info!(url = %link.url, "delivering case events to the CRM");
        crate::crm::spawn(link, branch.id.clone(), db.clone())
    });

    let listener = start::listen(settings.http).await?;
    let public_listener = match settings.public_http {
        Some(addr) => Some((addr, start::listen(addr).await?)),
        None => None,
    };
    let texts = Arc::new(dawr_i18n::Texts::new());
    let sessions = crate::auth::Sessions::load(open()?, branch.staff.clone(), settings.sign_in, chrono::Utc::now())
        .map_err(|e| StartError::Store(e.into()))?;
    for (counter, staff) in sessions.signed_in_at_counters(chrono::Utc::now()) {
        engine.send(Request::Staff { counter, staff: Some(staff) }).await.map_err(|_| RunError::EngineStopped)?;
    }
    let sessions = Arc::new(sessions);
    let flusher = tokio::spawn(flush_sessions(sessions.clone()));
    if settings.demo {
        tracing::warn!("demo: the built-in demo branch, whose PINs are public; start with --config for a real branch");
    }
    let guard = dawr_web::guard::Guard::new(&settings.public_url, &settings.allowed_hosts);
    let state = AppState {
        engine,
        db,
        branch: branch.clone(),
        public_url: settings.public_url,
        mqtt: status,
        texts,
        sessions: sessions.clone(),
        crm_enabled,
        appointments: held,
        guard,
        demo: settings.demo,
    };
    tracing::info!(
        http = %settings.http,
        mqtt = %format!("{}:{}", broker.host, broker.port),
        branch = %branch.id,
        "Dawr hub ready"
    );
    // One shutdown signal for both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let public = public_listener.map(|(addr, public)| {
        tracing::info!(public_http = %addr, "serving the visitors' ticket pages");
        let mut stopped = stopped.clone();
        let router = web::public_router(state.clone());
        tokio::spawn(web::serve(public, router, settings.limits, async move {
            let _ = stopped.wait_for(|s| *s).await;
        }))
    });
    let stopping = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    let served = web::serve(listener, web::router(state), settings.limits, stopping).await;
    if let Some(public) = public {
        let _ = public.await;
    }
    tracing::info!("shutting down");
    flusher.abort();
    let _ = flusher.await;
    if let Err(e) = sessions.flush(chrono::Utc::now()).await {
        tracing::warn!(error = %e, "could not store the sessions' last use");
    }

    // Whoever still holds an engine handle lets go, so the engine and then the writer finish.
    ticker.abort();
    let _ = ticker.await;
    if let Some(link) = link {
        link.abort();
        let _ = link.await;
    }
    if let Some(crm) = crm {
        crm.abort();
        let _ = crm.await;
    }
    let _ = mqtt.stop_intake.send(true);
    let joined = tokio::task::spawn_blocking(move || {
        let _ = engine_thread.join();
        let _ = writer.join();
    });
    if tokio::time::timeout(Duration::from_secs(10), joined).await.is_err() {
        tracing::warn!("the engine did not stop within 10 s");
    }
    if tokio::time::timeout(Duration::from_secs(5), mqtt.publisher).await.is_err() {
        tracing::warn!("MQTT messages were still unsent at shutdown");
    }
    let _ = tokio::time::timeout(Duration::from_secs(2), mqtt.intake).await;
    tracing::info!("stopped");
    served.map_err(|source| StartError::Http { addr: settings.http, source }.into())
}

fn broker_address(mode: &MqttMode) -> Result<BrokerAddress, RunError> {
    match mode {
        MqttMode::External(address) => Ok(address.clone()),
        MqttMode::Embedded(listen) => {
            #[cfg(feature = "embedded-broker")]
            {
                crate::broker::start(*listen)?;
                let host = if listen.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { listen.ip() };
                Ok(BrokerAddress { host: host.to_string(), port: listen.port() })
            }
            #[cfg(not(feature = "embedded-broker"))]
            {
                let _ = (listen, IpAddr::V4(Ipv4Addr::LOCALHOST));
                Err(RunError::NoEmbeddedBroker)
            }
        }
    }
}

/// Writes the sessions' last use (and forgets ended sessions) every half minute.
async fn flush_sessions(sessions: Arc<crate::auth::Sessions>) {
    let mut interval = tokio::time::interval(Duration::from_secs(30));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        if let Err(e) = sessions.flush(chrono::Utc::now()).await {
            tracing::warn!(error = %e, "could not store the sessions' last use");
        }
    }
}

async fn tick(engine: EngineHandle) {
    let mut interval = tokio::time::interval(TICK);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        interval.tick().await;
        if engine.send(Request::Tick).await.is_err() {
            break;
        }
    }
}
