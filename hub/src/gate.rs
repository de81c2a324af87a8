//! The embedded broker's front door: every device connects here, and only what the access rules
//! allow reaches the broker.
//!
//! rumqttd 0.20 checks passwords but has no topic ACL, so the hub puts this MQTT-aware relay in
//! front of it. For each TCP connection it reads the client's packets (rumqttc's MQTT 3.1.1
//! codec):
//! - `CONNECT`: the username and password must be an enrolled device's, the client id its
//!   username (no client takes a `dawr-hub…` id), and a last will must be on a topic the device
//!   may publish. Otherwise it answers `CONNACK` with a refusal and closes. An admitted connection
//!   is opened to rumqttd (listening on a loopback port only the hub knows, behind a password
//!   made on each start) with the gate's own login in place of the device's.
//! - `PUBLISH` outside the device's grants (`dawr_protocol::acl`) is dropped and counted; at
//!   QoS 1 the gate sends the `PUBACK` itself so the device is not left waiting; QoS 2 is refused
//!   by closing the connection.
//! - A `PUBLISH` on `…/command` or `…/rating` whose JSON names a `device` other than the
//!   connection's login is not passed on either: the gate acknowledges it and answers on the
//!   counter's `…/reply` with `wrong_device` (the reply's `device` is the login, so the device
//!   that was named never takes it for its own). Behind Mosquitto the hub cannot tell who sent a
//!   message and trusts `device`.
//! - `SUBSCRIBE` with any filter outside the grants is answered with a `SUBACK` of failures.
//! - Everything else, and every packet from the broker to the client, is passed on whole.
//!
//! Each connection watches the device table: a revoked (or re-enrolled) device is disconnected
//! as soon as the hub sees the change (it re-reads the table every second).
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bytes::BytesMut;
use dawr_protocol::acl;
use dawr_protocol::device::{ErrorCode, Reply};
use dawr_protocol::topics::Topic;
use rumqttc::mqttbytes::v4::{
    ConnAck, Connect, ConnectReturnCode, Login, Packet, PubAck, Publish, SubAck, SubscribeReasonCode,
};
use rumqttc::mqttbytes::{self, Protocol, QoS};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Mutex, watch};
use tokio::task::JoinHandle;

use crate::devices::{DeviceTable, Enrolled};

/// The largest packet either side may send (the broker's own limit).
pub const MAX_PACKET: usize = 256 * 1024;

/// How long a new connection has to send its `CONNECT`.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// What the gate needs to know.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The branch whose topics devices are granted.
    pub branch: String,
    /// The broker behind the gate (loopback).
    pub upstream: SocketAddr,
    /// The gate's own login at the broker.
    pub login: Login,
}

/// What the gate refused, counted since the start.
#[derive(Debug, Clone, Default)]
pub struct GateStats {
    pub refused_connects: Arc<AtomicU64>,
    pub refused_publishes: Arc<AtomicU64>,
    pub refused_subscribes: Arc<AtomicU64>,
}

/// Who a connection belongs to: always an enrolled device (there is no anonymous admission).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Principal(Enrolled);

impl Principal {
    fn name(&self) -> &str {
        &self.0.id
    }

    fn may_publish(&self, branch: &str, topic: &str) -> bool {
        acl::may_publish(branch, &self.0.device(), topic)
    }

    fn may_subscribe(&self, branch: &str, filter: &str) -> bool {
        acl::may_subscribe(branch, &self.0.device(), filter)
    }
}

/// Decides whether a `CONNECT` is admitted (pure, apart from the password hash check).
fn admit(connect: &Connect, devices: &DeviceTable, config: &GateConfig) -> Result<Principal, ConnectReturnCode> {
    if connect.protocol != Protocol::V4 {
        return Err(ConnectReturnCode::RefusedProtocolVersion);
    }
    if acl::is_reserved_id(&connect.client_id) {
        return Err(ConnectReturnCode::NotAuthorized);
    }
    let principal = match &connect.login {
        None => return Err(ConnectReturnCode::NotAuthorized),
        Some(login) => {
            let device = devices.get(&login.username).ok_or(ConnectReturnCode::BadUserNamePassword)?;
            if !crate::devices::verify_password(&login.password, &device.password_hash) {
                return Err(ConnectReturnCode::BadUserNamePassword);
            }
            if connect.client_id != login.username {
                return Err(ConnectReturnCode::BadClientId);
            }
            Principal(device.clone())
        }
    };
    if let Some(will) = &connect.last_will
        && !principal.may_publish(&config.branch, &will.topic)
    {
        return Err(ConnectReturnCode::NotAuthorized);
    }
    Ok(principal)
}

/// The `id` and `device` a command or rating names (only read to compare `device` with the
/// login; the hub reads the whole message).
#[derive(serde::Deserialize)]
struct Named {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    device: Option<String>,
}

/// If a message on `…/command` or `…/rating` names a `device` other than `login`: the reply
/// topic and the `wrong_device` answer. Messages that cannot be read pass (the hub answers them
/// `malformed`).
fn wrong_device(login: &str, topic: &str, payload: &[u8]) -> Option<(String, Reply)> {
    let (branch, counter) = match Topic::parse(topic).ok()? {
        Topic::CounterCommand { branch, counter } | Topic::CounterRating { branch, counter } => (branch, counter),
        _ => return None,
    };
    let named: Named = serde_json::from_slice(payload).ok()?;
    let claimed = named.device.filter(|d| d != login)?;
    let mut message = format!("`device` {claimed:?} is not this login ({login}); nothing was done");
    message.truncate(message.floor_char_boundary(160));
    let reply = Reply {
        id: bounded(named.id.as_deref().unwrap_or("")),
        device: Some(bounded(login)),
        ok: false,
        error: Some(ErrorCode::WrongDevice),
        message: Some(bounded(&message)),
        ..Reply::default()
    };
    Some((Topic::CounterReply { branch, counter }.to_string(), reply))
}

/// `text` cut to fit `N` bytes (at a character boundary).
fn bounded<const N: usize>(text: &str) -> heapless::String<N> {
    heapless::String::try_from(&text[..text.floor_char_boundary(N)]).unwrap_or_default()
}

/// Accepts connections on `listener` until the process ends.
pub fn spawn(
    listener: TcpListener,
    config: GateConfig,
    devices: watch::Receiver<Arc<DeviceTable>>,
    stats: GateStats,
) -> JoinHandle<()> {
    let config = Arc::new(config);
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "the MQTT gate cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let (config, devices, stats) = (config.clone(), devices.clone(), stats.clone());
            tokio::spawn(async move {
                if let Err(e) = serve(stream, &config, devices, &stats).await {
                    tracing::debug!(%peer, error = %e, "MQTT connection closed");
                }
            });
        }
    })
}

/// Why a connection ended early.
#[derive(Debug, thiserror::Error)]
enum GateError {
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error("malformed MQTT: {0:?}")]
    Mqtt(mqttbytes::Error),
    #[error("no CONNECT within {0:?}")]
    Timeout(Duration),
    #[error("{0}")]
    Protocol(&'static str),
}

async fn serve(
    stream: TcpStream,
    config: &GateConfig,
    mut devices: watch::Receiver<Arc<DeviceTable>>,
    stats: &GateStats,
) -> Result<(), GateError> {
    stream.set_nodelay(true)?;
    let (mut client_rd, mut client_wr) = stream.into_split();
    let mut inbox = BytesMut::with_capacity(4096);
    let first = tokio::time::timeout(CONNECT_TIMEOUT, read_frame(&mut client_rd, &mut inbox))
        .await
        .map_err(|_| GateError::Timeout(CONNECT_TIMEOUT))??
        .ok_or(GateError::Protocol("closed before CONNECT"))?;
    let Packet::Connect(mut connect) = decode(first)? else {
        return Err(GateError::Protocol("the first packet is not CONNECT"));
    };
    let table = devices.borrow_and_update().clone();
    let principal = match admit(&connect, &table, config) {
        Ok(principal) => principal,
        Err(code) => {
            stats.refused_connects.fetch_add(1, Ordering::Relaxed);
            let user = connect.login.as_ref().map(|l| l.username.as_str()).unwrap_or("");
            tracing::info!(client_id = %connect.client_id, user, ?code, "MQTT connection refused");
            write_packet(&mut client_wr, &Packet::ConnAck(ConnAck::new(code, false))).await?;
            return Ok(());
        }
    };
    connect.login = Some(config.login.clone());
    let upstream = TcpStream::connect(config.upstream).await?;
    upstream.set_nodelay(true)?;
    let (up_rd, mut up_wr) = upstream.into_split();
    write_packet(&mut up_wr, &Packet::Connect(connect)).await?;

    let client_wr = Mutex::new(client_wr);
    let refused = AtomicU64::new(0);
    let inbound = client_to_broker(client_rd, inbox, up_wr, &client_wr, &principal, config, stats, &refused);
    let outbound = broker_to_client(up_rd, &client_wr);
    let result = tokio::select! {
        r = inbound => r,
        r = outbound => r,
        () = revoked(&mut devices, &principal) => {
            tracing::info!(device = principal.name(), "device revoked: disconnected");
            Ok(())
        }
    };
    let refused = refused.load(Ordering::Relaxed);
    if refused > 0 {
        tracing::info!(device = principal.name(), refused, "publishes outside the device's rights were dropped");
    }
    result
}

/// Reads and checks the client's packets and passes the allowed ones to the broker.
#[allow(clippy::too_many_arguments)]
async fn client_to_broker(
    mut client: impl AsyncRead + Unpin,
    mut inbox: BytesMut,
    mut broker: impl AsyncWrite + Unpin,
    client_wr: &Mutex<impl AsyncWrite + Unpin>,
    principal: &Principal,
    config: &GateConfig,
    stats: &GateStats,
    refused: &AtomicU64,
) -> Result<(), GateError> {
    while let Some(frame) = read_frame(&mut client, &mut inbox).await? {
        let kind = frame[0] >> 4;
        match kind {
            // PUBLISH and SUBSCRIBE are checked; other client packets pass as they are.
            3 | 8 => {}
            4..=7 | 10 | 12 | 14 => {
                broker.write_all(&frame).await?;
                continue;
            }
            _ => return Err(GateError::Protocol("a packet a client does not send")),
        }
        match decode(frame.clone())? {
            Packet::Publish(p) if principal.may_publish(&config.branch, &p.topic) => {
                match wrong_device(principal.name(), &p.topic, &p.payload) {
                    None => broker.write_all(&frame).await?,
                    Some((topic, reply)) => {
                        stats.refused_publishes.fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(device = principal.name(), claimed = ?reply.message, "a message naming another device refused");
                        if p.qos == QoS::AtLeastOnce {
                            write_packet(&mut *client_wr.lock().await, &Packet::PubAck(PubAck::new(p.pkid))).await?;
                        }
                        let payload = serde_json::to_vec(&reply).unwrap_or_default();
                        write_packet(&mut broker, &Packet::Publish(Publish::new(topic, QoS::AtMostOnce, payload)))
                            .await?;
                    }
                }
            }
            Packet::Publish(p) => {
                refused.fetch_add(1, Ordering::Relaxed);
                stats.refused_publishes.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(device = principal.name(), topic = %p.topic, "publish refused");
                match p.qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => {
                        write_packet(&mut *client_wr.lock().await, &Packet::PubAck(PubAck::new(p.pkid))).await?
                    }
                    QoS::ExactlyOnce => return Err(GateError::Protocol("a refused QoS 2 publish")),
                }
            }
            Packet::Subscribe(s) if s.filters.iter().all(|f| principal.may_subscribe(&config.branch, &f.path)) => {
                broker.write_all(&frame).await?
            }
            Packet::Subscribe(s) => {
                stats.refused_subscribes.fetch_add(1, Ordering::Relaxed);
                let filters: Vec<&str> = s.filters.iter().map(|f| f.path.as_str()).collect();
                tracing::info!(device = principal.name(), ?filters, "subscription refused");
                let codes = vec![SubscribeReasonCode::Failure; s.filters.len()];
                write_packet(&mut *client_wr.lock().await, &Packet::SubAck(SubAck::new(s.pkid, codes))).await?;
            }
            _ => return Err(GateError::Protocol("unexpected packet")),
        }
    }
    Ok(())
}

/// Passes the broker's packets to the client, whole (so the gate's own acks never split one).
async fn broker_to_client(
    mut broker: impl AsyncRead + Unpin,
    client_wr: &Mutex<impl AsyncWrite + Unpin>,
) -> Result<(), GateError> {
    let mut inbox = BytesMut::with_capacity(4096);
    while let Some(frame) = read_frame(&mut broker, &mut inbox).await? {
        client_wr.lock().await.write_all(&frame).await?;
    }
    Ok(())
}

/// Completes when the connection's device is revoked or enrolled again.
async fn revoked(devices: &mut watch::Receiver<Arc<DeviceTable>>, principal: &Principal) {
    let Principal(me) = principal;
    loop {
        if devices.changed().await.is_err() {
            return std::future::pending().await;
        }
        if devices.borrow_and_update().get(&me.id) != Some(me) {
            return;
        }
    }
}

/// The next whole packet from `stream` (bytes kept in `inbox`), or `None` at a clean end.
async fn read_frame(
    stream: &mut (impl AsyncRead + Unpin),
    inbox: &mut BytesMut,
) -> Result<Option<BytesMut>, GateError> {
    loop {
        match mqttbytes::check(inbox.iter(), MAX_PACKET) {
            Ok(header) => return Ok(Some(inbox.split_to(header.frame_length()))),
            Err(mqttbytes::Error::InsufficientBytes(_)) => {}
            Err(e) => return Err(GateError::Mqtt(e)),
        }
        if stream.read_buf(inbox).await? == 0 {
            return if inbox.is_empty() { Ok(None) } else { Err(GateError::Protocol("closed mid-packet")) };
        }
    }
}

fn decode(mut frame: BytesMut) -> Result<Packet, GateError> {
    Packet::read(&mut frame, MAX_PACKET).map_err(GateError::Mqtt)
}

async fn write_packet(stream: &mut (impl AsyncWrite + Unpin), packet: &Packet) -> Result<(), GateError> {
    let mut out = BytesMut::new();
    packet.write(&mut out, MAX_PACKET).map_err(GateError::Mqtt)?;
    stream.write_all(&out).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::hash_password;
    use dawr_protocol::acl::Role;
    use rumqttc::mqttbytes::v4::LastWill;

    fn config() -> GateConfig {
        GateConfig { branch: "demo".into(), upstream: "127.0.0.1:1".parse().unwrap(), login: Login::new("gate", "x") }
    }

    fn table() -> DeviceTable {
        let button = Enrolled {
            id: "button-2".into(),
            role: Role::Button,
            counter: Some("2".into()),
            password_hash: hash_password("pw"),
            enrolled_at: chrono::Utc::now(),
        };
        DeviceTable::from([(button.id.clone(), button)])
    }

    fn connect(client_id: &str, login: Option<(&str, &str)>, will: Option<&str>) -> Connect {
        let mut c = Connect::new(client_id);
        if let Some((u, p)) = login {
            c.set_login(u, p);
        }
        c.last_will = will.map(|t| LastWill::new(t, "{}", QoS::AtLeastOnce, true));
        c
    }

    #[test]
    fn only_enrolled_devices_with_their_own_client_id_are_admitted() {
        let (t, c) = (table(), config());
        let ok = admit(&connect("button-2", Some(("button-2", "pw")), None), &t, &c);
        assert!(matches!(ok, Ok(Principal(d)) if d.id == "button-2"));
        let refused = |connect: Connect| admit(&connect, &t, &c).unwrap_err();
        assert_eq!(refused(connect("button-2", None, None)), ConnectReturnCode::NotAuthorized, "anonymous");
        assert_eq!(
            refused(connect("button-2", Some(("button-2", "no")), None)),
            ConnectReturnCode::BadUserNamePassword
        );
        assert_eq!(refused(connect("x", Some(("nobody", "pw")), None)), ConnectReturnCode::BadUserNamePassword);
        assert_eq!(refused(connect("other", Some(("button-2", "pw")), None)), ConnectReturnCode::BadClientId);
        assert_eq!(refused(connect("dawr-hub-demo", Some(("button-2", "pw")), None)), ConnectReturnCode::NotAuthorized);
        let own_will = connect("button-2", Some(("button-2", "pw")), Some("dawr/v1/demo/devices/button-2/status"));
        assert!(admit(&own_will, &t, &c).is_ok());
        let forged_will = connect("button-2", Some(("button-2", "pw")), Some("dawr/v1/demo/board"));
        assert_eq!(refused(forged_will), ConnectReturnCode::NotAuthorized, "a will on the board");
    }

    #[test]
    fn a_command_naming_another_device_is_answered_wrong_device() {
        let topic = "dawr/v1/demo/counters/2/command";
        let own = br#"{"id":"b-1","device":"button-2","action":"next"}"#;
        assert!(wrong_device("button-2", topic, own).is_none(), "its own name passes");
        let v1 = br#"{"id":"b-1","action":"next"}"#;
        assert!(wrong_device("button-2", topic, v1).is_none(), "a v1 command without `device` passes");
        assert!(wrong_device("button-2", topic, b"not json").is_none(), "the hub answers `malformed`");
        let other = br#"{"id":"b-1","device":"counter-2-app","action":"next"}"#;
        let (reply_topic, reply) = wrong_device("button-2", topic, other).expect("refused");
        assert_eq!(reply_topic, "dawr/v1/demo/counters/2/reply");
        assert_eq!((reply.id.as_str(), reply.device.as_deref()), ("b-1", Some("button-2")));
        assert_eq!((reply.ok, reply.error), (false, Some(ErrorCode::WrongDevice)));
        let rating = br#"{"id":"r-1","device":"rating-9","score":5}"#;
        assert!(wrong_device("rating-2", "dawr/v1/demo/counters/2/rating", rating).is_some());
        assert!(wrong_device("button-2", "dawr/v1/demo/devices/button-2/status", other).is_none());
    }
}
