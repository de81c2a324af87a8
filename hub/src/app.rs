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
use crate::mqtt::{self, MqttStatus};
use crate::store::{self, FailedEpoch, StoreError};
use crate::web::{self, AppState};
use dawr_protocol::endpoint::{EndpointError, MqttEndpoint};

/// How the hub reaches MQTT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MqttMode {
    /// Run the embedded broker on this address and connect to it.
    Embedded(SocketAddr),
    /// Connect to an external broker (e.g. Mosquitto).
    External(MqttEndpoint),
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub http: SocketAddr,
    pub mqtt: MqttMode,
    /// MQTT over TLS in front of the embedded broker, on this address.
    pub mqtt_tls: Option<SocketAddr>,
    /// More names for the MQTT server certificate.
    pub mqtt_tls_names: Vec<String>,
    pub data_dir: PathBuf,
    /// Base of the live ticket page links printed on tickets.
    pub public_url: String,
    pub branch: Branch,
    /// The appointments site to hold this branch's bookings from, if any.
    pub appointments: Option<Link>,
    pub checkin_window: Window,
    /// The ministry's CRM to deliver case events to, if any.
    pub crm: Option<crate::crm::CrmLink>,
    /// How long personal data is kept (`[retention]`).
    pub retention: crate::privacy::Retention,
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
    #[error("the visitor key: {0}")]
    VisitorKey(#[from] crate::privacy::KeyError),
    #[error("MQTT: {0}")]
    Mqtt(#[from] EndpointError),
    #[error("MQTT over TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
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
    let visitor_key = Arc::new(crate::privacy::VisitorKey::load_or_create(&settings.data_dir)?);
    let hashed = {
        let key = visitor_key.clone();
        db.write(move |conn| crate::privacy::store::fill_in_hashes(conn, &key)).await
    };
    match hashed {
        Ok(Ok(0)) => {}
        Ok(Ok(n)) => tracing::info!(cases = n, "hashed the visitors of earlier cases"),
        Ok(Err(e)) => return Err(StoreError::Sqlite(e).into()),
        Err(e) => tracing::warn!(error = %e, "hashing earlier visitors was interrupted"),
    }

    let broker = broker_endpoint(&settings.mqtt)?;
    let tls_listener = match (settings.mqtt_tls, &settings.mqtt) {
        (Some(listen), MqttMode::Embedded(_)) => {
            let files = crate::tls::ensure(&settings.data_dir, &settings.mqtt_tls_names)?;
            let plain = SocketAddr::new(broker.host.parse().unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST)), broker.port);
            Some(crate::tls::start_listener(listen, plain, &files).await?)
        }
        _ => None,
    };
    let broker = mqtt::with_hub_login(broker, &settings.branch.id, &settings.data_dir)?;
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
    let mqtt = mqtt::start(&broker, &branch.id, engine.clone(), publications_rx, status.clone())?;
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

    // Retention runs before the first request, then daily.
    crate::privacy::job::run_once(&db, settings.retention).await;
    let retention = crate::privacy::job::spawn(db.clone(), settings.retention, branch.utc_offset);

    let listener = start::listen(settings.http).await?;
    let texts = Arc::new(dawr_i18n::Texts::new());
    let state = AppState {
        engine,
        db,
        branch: branch.clone(),
        public_url: settings.public_url,
        mqtt: status,
        texts,
        sessions: Arc::new(crate::auth::Sessions::default()),
        crm_enabled,
        appointments: held,
        visitor_key,
    };
    tracing::info!(
        http = %settings.http,
        mqtt = %broker,
        mqtt_tls = %settings.mqtt_tls.map_or("off".to_string(), |a| a.to_string()),
        branch = %branch.id,
        "Dawr hub ready"
    );
    let served = web::serve(listener, state, shutdown).await;
    tracing::info!("shutting down");

    // Whoever still holds an engine handle lets go, so the engine and then the writer finish.
    ticker.abort();
    let _ = ticker.await;
    retention.abort();
    let _ = retention.await;
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
    if let Some(listener) = tls_listener {
        listener.abort();
    }
    tracing::info!("stopped");
    served.map_err(|source| StartError::Http { addr: settings.http, source }.into())
}

/// Starts the embedded broker when there is one; where the hub's client connects.
fn broker_endpoint(mode: &MqttMode) -> Result<MqttEndpoint, RunError> {
    match mode {
        MqttMode::External(endpoint) => Ok(endpoint.clone()),
        MqttMode::Embedded(listen) => {
            #[cfg(feature = "embedded-broker")]
            {
                crate::broker::start(*listen)?;
                let host = if listen.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { listen.ip() };
                let url = format!("mqtt://{}", SocketAddr::new(host, listen.port()));
                Ok(MqttEndpoint::parse(&url)?)
            }
            #[cfg(not(feature = "embedded-broker"))]
            {
                let _ = (listen, IpAddr::V4(Ipv4Addr::LOCALHOST));
                Err(RunError::NoEmbeddedBroker)
            }
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
