//! The embedded MQTT broker (rumqttd), so one command runs a whole branch.
//!
//! It listens on a loopback port that only the hub knows and admits only the accounts it is
//! given (the hub's own and the gate's, whose password is made on each start): devices reach it
//! through the gate (`crate::gate`), which enforces the access rules rumqttd lacks.
//!
//! rumqttd runs on its own threads and cannot be stopped; it ends with the process. It keeps no
//! retained messages across restarts, which is why the hub republishes its retained state every
//! time it connects. A branch that prefers Mosquitto runs the hub with `--mqtt-url` instead.
use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener};

use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// The broker could not start.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("cannot listen for MQTT on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error("cannot start the broker thread: {0}")]
    Thread(std::io::Error),
}

/// Starts the broker listening on `listen` (MQTT 3.1.1, no TLS), admitting only `users`
/// (username → password).
pub fn start(listen: SocketAddr, users: HashMap<String, String>) -> Result<(), BrokerError> {
    // rumqttd reports a busy port only in its log: find out first, with a clear error.
    drop(TcpListener::bind(listen).map_err(|source| BrokerError::Listen { addr: listen, source })?);
    let mut config = config(listen, users);
    std::thread::Builder::new()
        .name("dawr-broker".into())
        .spawn(move || {
            if let Err(e) = Broker::new(std::mem::take(&mut config)).start() {
                tracing::error!(error = %e, "the embedded MQTT broker stopped");
            }
        })
        .map_err(BrokerError::Thread)?;
    tracing::debug!(%listen, "embedded MQTT broker started");
    Ok(())
}

/// Every field set explicitly: rumqttd's zero defaults refuse connections.
fn config(listen: SocketAddr, users: HashMap<String, String>) -> Config {
    let server = ServerSettings {
        name: "dawr".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 10_000,
            max_payload_size: 256 * 1024,
            max_inflight_count: 200,
            auth: Some(users),
            external_auth: None,
            dynamic_filters: true,
        },
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 1000,
            max_outgoing_packet_count: 1000,
            max_segment_size: 4 * 1024 * 1024,
            max_segment_count: 4,
            custom_segment: None,
            initialized_filters: None,
            shared_subscriptions_strategy: Default::default(),
        },
        v4: Some(HashMap::from([("dawr".to_string(), server)])),
        ..Config::default()
    }
}
