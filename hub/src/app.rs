//! Wiring: starts the broker, the store, the engine, MQTT and HTTP, and stops them in order.
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use dawr_web::Db;
use dawr_web::start::{self, StartError};
use dawr_web::tls::ServerTls;
use tokio::sync::{mpsc, watch};

use crate::bookings::{self, Appointments, Link, Window};
use crate::devices;
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

/// Where the HTTPS certificate of the hub's listener comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpTls {
    /// `--tls-cert` and `--tls-key` (PEM files).
    Files { cert: PathBuf, key: PathBuf },
    /// The branch certificate in `DATA_DIR/tls/` (made on first start; `crate::tls`).
    BranchCertificate,
}

/// Everything `run` needs.
#[derive(Debug, Clone)]
pub struct Settings {
    pub http: SocketAddr,
    /// HTTPS on the `http` listener (the public listener stays plain: a proxy ends TLS there).
    pub http_tls: Option<HttpTls>,
    /// The visitors' listener (`--public-http`): only `/t/{token}` and its parts.
    pub public_http: Option<SocketAddr>,
    /// More host names the hub answers to (besides IP addresses, `localhost` and the public URL's).
    pub allowed_hosts: Vec<String>,
    /// Timeouts and the connection cap of each listener.
    pub limits: dawr_web::serve::Limits,
    pub mqtt: MqttMode,
    /// MQTT over TLS in front of the embedded broker, on this address.
    pub mqtt_tls: Option<SocketAddr>,
    /// More names for the MQTT server certificate.
    pub mqtt_tls_names: Vec<String>,
    pub data_dir: PathBuf,
    /// Base of the live ticket page links printed on tickets.
    pub public_url: String,
    pub branch: Branch,
    /// The branch file as read (the centre's configuration, once one came, replaces its
    /// services, counters, staff, routing and targets: `crate::uplink::config`).
    pub file: crate::config::Config,
    /// The appointments site to hold this branch's bookings from, if any.
    pub appointments: Option<Link>,
    pub checkin_window: Window,
    /// The appointments site's public keys, for bookings' signed QR tokens.
    pub booking_keys: Vec<dawr_protocol::booking_token::VerifyingKey>,
    /// The ministry's CRM to deliver case events to, if any.
    pub crm: Option<crate::crm::CrmLink>,
    /// The ministry's centre to send the event log and live state to, if any (`[uplink]`).
    pub uplink: Option<crate::uplink::UplinkLink>,
    /// The SMSC to send visitors' SMS through (`[sms]`), if any.
    pub sms: Option<crate::sms::SmsSettings>,
    /// Live alerts to the managers (`[alerts]`).
    pub alerts: crate::alerts::AlertSettings,
    /// How long personal data is kept (`[retention]`).
    pub retention: crate::privacy::Retention,
    /// The branch file's sign-in rules.
    pub sign_in: crate::auth::SignInRules,
    /// The bearer token that reads `/metrics` from another machine (loopback needs none).
    pub metrics_token: Option<String>,
    /// The built-in demo branch (no `--config`): its PINs are public, and its devices are
    /// enrolled on the first start.
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
    #[error("the visitor key: {0}")]
    VisitorKey(#[from] crate::privacy::KeyError),
    #[error("MQTT: {0}")]
    Mqtt(#[from] EndpointError),
    #[error("MQTT over TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error(transparent)]
    Devices(#[from] crate::devices::DeviceError),
    #[error("alert e-mail: {0}")]
    Mail(#[from] crate::alerts::mail::MailError),
    #[error("the engine stopped during start-up")]
    EngineStopped,
    #[error(transparent)]
    DataDir(#[from] dawr_web::backup::BackupError),
    #[error("firmware: {0}")]
    Firmware(#[from] crate::firmware::FirmwareError),
}

/// The data directory's lock (`DATA_DIR/hub.lock`), held while the hub runs.
pub const LOCK_NAME: &str = "hub";

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
    // Held while the hub runs: `dawr-hub restore` refuses, and so does a second hub here.
    let _lock = dawr_web::backup::lock_data_dir(&settings.data_dir, LOCK_NAME)?;
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

    if settings.demo && devices::enrol_demo(&write_conn, &settings.branch, &settings.data_dir)? {
        let file = settings.data_dir.join(devices::DEMO_FILE);
        tracing::info!(file = %file.display(), "demo devices enrolled; their credentials are in this file");
    }
    let hub_password = devices::hub_password(&settings.data_dir)?;
    // The enrolled devices, re-read every second: the MQTT gate and HTTP check devices here.
    let devices_conn = open()?;
    let (table_tx, device_table) = watch::channel(Arc::new(devices::table(&devices_conn)?));
    tokio::spawn(watch_devices(devices_conn, table_tx));
    let (broker, mqtt_shown) = broker_endpoint(&settings, &hub_password, device_table.clone()).await?;
    // TLS ends in the hub and each connection goes on to the gate, so TLS clients are checked
    // like any other.
    let tls_listener = match (settings.mqtt_tls, &settings.mqtt) {
        (Some(listen), MqttMode::Embedded(gate)) => {
            let files = crate::tls::ensure(&settings.data_dir, &settings.mqtt_tls_names)?;
            let host = if gate.ip().is_unspecified() { IpAddr::V4(Ipv4Addr::LOCALHOST) } else { gate.ip() };
            Some(crate::tls::start_listener(listen, SocketAddr::new(host, gate.port()), &files).await?)
        }
        _ => None,
    };
    let broker = mqtt::with_hub_login(broker, &settings.branch.id, &hub_password);
    // With a centre, the last good configuration it sent runs again (the file without one).
    let from_centre = settings.uplink.as_ref().and_then(|_| crate::uplink::config::stored(&write_conn, &settings.file));
    let branch = match from_centre.map(|(revision, config)| (revision, config.branch())) {
        Some((revision, Ok(branch))) => {
            tracing::info!(revision, "running the configuration the centre sent last");
            Arc::new(branch)
        }
        _ => Arc::new(settings.branch),
    };
    let cell = crate::branch_cell::BranchCell::new(branch.clone());
    let (writes, writes_rx) = mpsc::channel(8192);
    let failed = FailedEpoch::default();
    let commit_latency = Arc::new(store::CommitLatency::default());
    let writer =
        store::spawn_writer(write_conn, writes_rx, failed.clone(), commit_latency.clone()).map_err(RunError::Thread)?;
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

    let mut status = MqttStatus::load(Db::single(open()?))?;
    status.firmware = Arc::new(crate::firmware::Fleet::load(&open()?, &settings.data_dir)?);
    let mqtt = mqtt::start(&broker, &branch.id, engine.clone(), publications_rx, status.clone())?;
    let ticker = tokio::spawn(tick(engine.clone()));
    let held = Appointments {
        conn: Db::single(open()?),
        window: settings.checkin_window,
        keys: settings.booking_keys.into(),
        wake: Arc::default(),
    };
    let link = settings.appointments.map(|link| {
        tracing::info!(url = %link.url, "holding this branch's bookings from the appointments site");
        bookings::spawn_link(link, branch.clone(), held.clone())
    });

    let crm_enabled = settings.crm.is_some();
    let crm = settings.crm.map(|link| {
        tracing::info!(url = %link.url, "delivering case events to the CRM");
        crate::crm::spawn(link, branch.id.clone(), db.clone())
    });

    let sms_price = settings.sms.as_ref().map(|sms| sms.price.clone()).unwrap_or_default();
    let sms = settings.sms.map(|sms| {
        let wake = Arc::new(tokio::sync::Notify::new());
        let notify_ahead = sms.notify_ahead;
        let (gateway, task) = match sms.link.clone() {
            crate::sms::Link::Smpp(link) => {
                tracing::info!(smsc = %link.session.address, "sending SMS through the SMSC");
                let gateway = Arc::new(crate::sms::Smpp::new(link, db.clone()));
                (Some(gateway.clone()), crate::sms::sender::spawn(gateway, sms, db.clone(), wake.clone()))
            }
            crate::sms::Link::Https(https) => {
                tracing::info!(url = %https.url, "sending SMS through the HTTPS provider");
                let gateway = crate::sms::Https::new(https);
                (None, crate::sms::sender::spawn(gateway, sms, db.clone(), wake.clone()))
            }
        };
        let notices =
            crate::sms::notify::spawn(engine.clone(), db.clone(), branch.id.clone(), notify_ahead, wake.clone());
        (wake, gateway, task, notices)
    });

    // Retention runs before the first request, then daily.
    crate::privacy::job::run_once(&db, settings.retention).await;
    let retention = crate::privacy::job::spawn(db.clone(), settings.retention, branch.utc_offset);

    let http_tls = match &settings.http_tls {
        None => None,
        Some(HttpTls::Files { cert, key }) => {
            Some(ServerTls::from_pem_files(&[cert.as_path()], key).map_err(StartError::Tls)?)
        }
        Some(HttpTls::BranchCertificate) => {
            let files = crate::tls::ensure(&settings.data_dir, &settings.mqtt_tls_names)?;
            tracing::info!(ca = %files.ca_cert.display(), "HTTPS with the branch certificate (dawr-hub tls ca-cert prints its CA)");
            let chain = [files.server_cert.as_path(), files.ca_cert.as_path()];
            Some(ServerTls::from_pem_files(&chain, &files.server_key).map_err(StartError::Tls)?)
        }
    };
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
    let uplink = match settings.uplink {
        Some(link) => {
            tracing::info!(url = %link.nats_url, "sending the event log to the centre");
            let reconfigure = crate::uplink::config::Reconfigure {
                base: Arc::new(settings.file),
                engine: engine.clone(),
                cell: cell.clone(),
                sessions: sessions.clone(),
            };
            // Its own connections: the uplink never holds the queue's.
            let presence = status.presence.clone();
            Some(crate::uplink::spawn(link, reconfigure, presence, Db::new(open()?, vec![open()?])))
        }
        None => None,
    };
    let flusher = tokio::spawn(flush_sessions(sessions.clone()));
    let alert_board = crate::alerts::Board::default();
    let mail_wake = Arc::new(tokio::sync::Notify::new());
    let mailer = match settings.alerts.smtp.clone() {
        Some(smtp) => {
            tracing::info!(smtp = %format!("{}:{}", smtp.host, smtp.port), "sending alert e-mails");
            Some(crate::alerts::mail::spawn(smtp, db.clone(), mail_wake.clone())?)
        }
        None => None,
    };
    // The monthly report goes to the managers' addresses when e-mail is set up.
    let monthly = match (&settings.alerts.smtp, settings.alerts.email_to.is_empty()) {
        (Some(_), false) => Some(crate::alerts::monthly::spawn(
            db.clone(),
            cell.clone(),
            settings.alerts.email_to.clone(),
            settings.alerts.lang,
            mail_wake.clone(),
        )),
        _ => None,
    };
    let alerts = crate::alerts::spawn(
        settings.alerts,
        crate::alerts::Wiring {
            engine: engine.clone(),
            db: db.clone(),
            branch: cell.clone(),
            presence: status.presence.clone(),
            board: alert_board.clone(),
            sms: sms.as_ref().map(|(wake, _, _, _)| wake.clone()),
            mail: mail_wake,
        },
    );
    if settings.demo {
        tracing::warn!("demo: the built-in demo branch, whose PINs are public; start with --config for a real branch");
    }
    let guard = dawr_web::guard::Guard::new(&settings.public_url, &settings.allowed_hosts);
    let mqtt_subscribed = status.connected.clone();
    let state = AppState {
        engine,
        db,
        branch_cell: cell,
        public_url: settings.public_url,
        mqtt: status,
        texts,
        sessions: sessions.clone(),
        crm_enabled,
        sms: sms.as_ref().map(|(wake, _, _, _)| wake.clone()),
        sms_price,
        appointments: held,
        visitor_key,
        guard,
        demo: settings.demo,
        devices: Arc::new(web::callers::DeviceLogins::new(device_table)),
        joins: Arc::new(web::join_page::Joins::default()),
        alerts: alert_board,
        metrics_token: settings.metrics_token.map(Arc::from),
        commit_latency,
    };
    tracing::info!(
        http = %settings.http,
        https = http_tls.is_some(),
        mqtt = %mqtt_shown,
        mqtt_tls = %settings.mqtt_tls.map_or("off".to_string(), |a| a.to_string()),
        branch = %branch.id,
        "Dawr hub ready"
    );
    // One shutdown signal for both listeners.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let public = public_listener.map(|(addr, public)| {
        tracing::info!(public_http = %addr, "serving the visitors' ticket pages");
        let mut stopped = stopped.clone();
        let router = web::public_router(state.clone());
        tokio::spawn(web::serve(public, router, settings.limits, None, async move {
            let _ = stopped.wait_for(|s| *s).await;
        }))
    });
    let stopping = async move {
        shutdown.await;
        dawr_web::notify::stopping();
        let _ = stop.send(true);
    };
    let readiness = tokio::spawn(report_ready(mqtt_subscribed, branch.id.clone()));
    let served = web::serve(listener, web::router(state), settings.limits, http_tls, stopping).await;
    readiness.abort();
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
    retention.abort();
    let _ = retention.await;
    alerts.abort();
    let _ = alerts.await;
    if let Some(monthly) = monthly {
        monthly.abort();
        let _ = monthly.await;
    }
    if let Some(mailer) = mailer {
        mailer.abort();
        let _ = mailer.await;
    }
    if let Some((_, gateway, task, notices)) = sms {
        notices.abort();
        let _ = notices.await;
        task.abort();
        let _ = task.await;
        if let Some(gateway) = gateway {
            gateway.close().await;
        }
    }
    if let Some(link) = link {
        link.abort();
        let _ = link.await;
    }
    if let Some(crm) = crm {
        crm.abort();
        let _ = crm.await;
    }
    if let Some(uplink) = uplink {
        uplink.abort();
        let _ = uplink.await;
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

/// Tells systemd `READY=1` (`Type=notify`) once the hub serves: the HTTP listeners are bound
/// and accepting (this runs beside the accept loop), and the hub's MQTT client holds its
/// subscriptions (the flag is set on the last SUBACK), so a device's first command after start
/// is heard. Waits for the subscriptions as long as it takes: a broker that is away keeps the
/// service "activating" until systemd's start timeout.
async fn report_ready(subscribed: Arc<std::sync::atomic::AtomicBool>, branch: String) {
    let mut interval = tokio::time::interval(Duration::from_millis(20));
    while !subscribed.load(std::sync::atomic::Ordering::Acquire) {
        interval.tick().await;
    }
    if dawr_web::notify::ready(&format!("serving branch {branch}")) {
        tracing::info!("told systemd the hub is ready");
    }
}

/// Where the hub's own client connects, and the address to show: an external broker, or the
/// embedded one started here behind the gate on the `--mqtt-listen` address.
async fn broker_endpoint(
    settings: &Settings,
    hub_password: &str,
    device_table: watch::Receiver<Arc<devices::DeviceTable>>,
) -> Result<(MqttEndpoint, String), RunError> {
    match &settings.mqtt {
        MqttMode::External(endpoint) => Ok((endpoint.clone(), endpoint.to_string())),
        MqttMode::Embedded(listen) => {
            #[cfg(feature = "embedded-broker")]
            {
                use dawr_protocol::acl::HubAccount;
                let front = tokio::net::TcpListener::bind(listen)
                    .await
                    .map_err(|source| crate::broker::BrokerError::Listen { addr: *listen, source })?;
                // The broker itself listens on a loopback port only the hub knows.
                let internal = std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
                    .and_then(|l| l.local_addr())
                    .map_err(|source| crate::broker::BrokerError::Listen { addr: *listen, source })?;
                let gate_password = devices::new_password();
                let users = std::collections::HashMap::from([
                    (GATE_USER.to_string(), gate_password.clone()),
                    (HubAccount(&settings.branch.id).to_string(), hub_password.to_string()),
                ]);
                crate::broker::start(internal, users)?;
                let config = crate::gate::GateConfig {
                    branch: settings.branch.id.clone(),
                    upstream: internal,
                    login: rumqttc::mqttbytes::v4::Login::new(GATE_USER, gate_password),
                };
                crate::gate::spawn(front, config, device_table, crate::gate::GateStats::default());
                Ok((MqttEndpoint::parse(&format!("mqtt://{internal}"))?, listen.to_string()))
            }
            #[cfg(not(feature = "embedded-broker"))]
            {
                let _ = (listen, hub_password, device_table);
                Err(RunError::NoEmbeddedBroker)
            }
        }
    }
}

/// The gate's account at the embedded broker (its password is made on each start).
#[cfg(feature = "embedded-broker")]
const GATE_USER: &str = "dawr-gate";

/// Re-reads the enrolled devices every second, so `dawr-hub devices add|revoke` run beside the
/// hub take effect within a second or two (the gate disconnects revoked devices; HTTP refuses
/// them).
async fn watch_devices(conn: rusqlite::Connection, table: watch::Sender<Arc<devices::DeviceTable>>) {
    let mut conn = Some(conn);
    let mut interval = tokio::time::interval(Duration::from_secs(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while let Some(c) = conn.take() {
        interval.tick().await;
        let Ok((c, read)) = tokio::task::spawn_blocking(move || {
            let read = devices::table(&c);
            (c, read)
        })
        .await
        else {
            return;
        };
        conn = Some(c);
        match read {
            Ok(now) if **table.borrow() != now => {
                if table.send(Arc::new(now)).is_err() {
                    return;
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot read the enrolled devices"),
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
