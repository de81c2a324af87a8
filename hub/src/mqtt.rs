//! The hub's MQTT client: commands in, replies, states, calls and the board out.
//!
//! Two tasks share one `rumqttc` connection:
//! - the *intake* polls the event loop (which is what keeps the connection alive and reconnects),
//!   subscribes after every connect, turns counter commands into engine requests and tracks the
//!   presence of devices;
//! - the *publisher* sends what the engine queued, in order, and when the engine has stopped
//!   marks the hub offline and disconnects.
//!
//! One rule for what devices send on `…/command` and `…/rating` (`docs/PROTOCOL.md`, "Malformed
//! messages"): a message is read only if it is one JSON object (nothing after it), at most
//! [`MAX_DEVICE_MESSAGE`] bytes, of the message's type, with a non-empty `id`. Anything else is
//! `malformed`, answered whenever an `id` string (up to [`MAX_ECHOED_ID`] bytes) can be read from
//! the object at its start, and otherwise logged and dropped; the hub never panics on a payload.
//!
//! Presence (`…/devices/+/status`) is kept in the database too, so the device list survives a
//! restart: what was heard before it shows offline until the device announces itself again.
//!
//! Firmware updates (`…/devices/+/update/…`, [`crate::firmware`]): the intake retains each chosen
//! button's offer (again after every connect, and whenever a manager changes the choice), answers
//! every chunk request with the chunk or an error, and keeps each button's update report.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, SubsecRound, Utc};
use dawr_protocol::acl::HubAccount;
use dawr_protocol::device::{
    Chunk, ChunkError, ChunkRequest, Command, ErrorCode, MAX_DEVICE_MESSAGE, MAX_ECHOED_ID, Presence, PresenceStatus,
    Rating, ReasonForRating, Reply, UpdateOffer, UpdateReport, base64_encode,
};
use dawr_protocol::endpoint::{EndpointError, MqttEndpoint, Password, describe};
use dawr_protocol::topics::{Filter, Topic};
use rumqttc::{AsyncClient, Event, EventLoop, LastWill, Packet, QoS};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::domain::queue::bounded;
use crate::engine::{
    ActionRequest, CounterCommand, EngineHandle, Operation, Publication, ReplyTo, Request, json_publication,
};

/// The hub's MQTT username and client id on `branch` (`dawr-hub-{branch}`).
pub fn hub_client_id(branch: &str) -> String {
    HubAccount(branch).to_string()
}

/// The hub's own login, the one place it is applied: the URL's username and password when it
/// has them; otherwise the username `dawr-hub-{branch}` with `password` (from
/// `DAWR_MQTT_PASSWORD` or `DATA_DIR/mqtt-hub.secret`: [`crate::devices::hub_password`]).
pub fn with_hub_login(endpoint: MqttEndpoint, branch: &str, password: &str) -> MqttEndpoint {
    endpoint.with_login_if_missing(hub_client_id(branch), Some(Password::new(password.to_string())))
}

/// At most this many devices' presence is tracked (the gate admits only enrolled devices; the
/// bound holds with an external broker too).
const MAX_PRESENCE: usize = 4096;

/// Who is online: device id → last presence and when it was seen.
pub type PresenceMap = Arc<Mutex<HashMap<String, (Presence, DateTime<Utc>)>>>;

/// The running MQTT tasks.
pub struct MqttTasks {
    pub intake: JoinHandle<()>,
    pub publisher: JoinHandle<()>,
    /// Set to true to stop forwarding commands (the intake then drops its engine handle).
    pub stop_intake: watch::Sender<bool>,
}

/// Shared state the HTTP side reads.
#[derive(Clone, Default)]
pub struct MqttStatus {
    pub connected: Arc<AtomicBool>,
    pub presence: PresenceMap,
    /// Where presence is kept across restarts (none in unit tests).
    pub store: Option<dawr_web::Db>,
    /// The firmware offers, chunk flows and update reports.
    pub firmware: Arc<crate::firmware::Fleet>,
    /// Messages received and sent by the hub's client since it started (for `/metrics`).
    pub messages_in: Arc<std::sync::atomic::AtomicU64>,
    pub messages_out: Arc<std::sync::atomic::AtomicU64>,
}

impl MqttStatus {
    /// The status of a hub starting on `db`: the presence heard before the restart, every
    /// device offline (a device still there says `online` again as it reconnects).
    pub fn load(db: dawr_web::Db) -> Result<MqttStatus, crate::store::StoreError> {
        let heard = crate::store::load_presence(&db.reader())?;
        let presence = heard.into_iter().map(|(device, presence, seen_at)| (device, (presence, seen_at))).collect();
        Ok(MqttStatus { presence: Arc::new(Mutex::new(presence)), store: Some(db), ..MqttStatus::default() })
    }
}

/// Connects to the broker at `endpoint` (whose login is the hub's, see [`with_hub_login`]) and
/// starts the intake and publisher tasks; fails only when the endpoint's TLS settings are not
/// usable.
pub fn start(
    endpoint: &MqttEndpoint,
    branch: &str,
    engine: EngineHandle,
    publications: mpsc::UnboundedReceiver<Publication>,
    status: MqttStatus,
) -> Result<MqttTasks, EndpointError> {
    let hub_status = Topic::DeviceStatus { branch, device: "hub" }.to_string();
    let mut options = endpoint.options(hub_client_id(branch))?;
    options.set_keep_alive(Duration::from_secs(15));
    options.set_clean_session(true);
    options.set_max_packet_size(256 * 1024, 256 * 1024);
    options.set_inflight(100);
    let offline = serde_json::to_vec(&Presence::new(PresenceStatus::Offline)).expect("serialise");
    options.set_last_will(LastWill::new(hub_status.clone(), offline.clone(), QoS::AtLeastOnce, true));
    let (client, mut eventloop) = AsyncClient::new(options, 1024);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(true);
    network.set_connection_timeout(5);
    eventloop.set_network_options(network);

    let (stop_intake, stop_rx) = watch::channel(false);
    let connected = status.connected.clone();
    let intake = tokio::spawn(intake(eventloop, client.clone(), branch.to_string(), engine, stop_rx, status));
    let publisher = tokio::spawn(publisher(client, publications, hub_status, offline, connected));
    Ok(MqttTasks { intake, publisher, stop_intake })
}

async fn intake(
    mut eventloop: EventLoop,
    client: AsyncClient,
    branch: String,
    engine: EngineHandle,
    mut stop: watch::Receiver<bool>,
    status: MqttStatus,
) {
    let mut engine = Some(engine);
    let mut failures = 0u32;
    let filters = [
        Filter::AllCounterCommands { branch: &branch },
        Filter::AllCounterRatings { branch: &branch },
        Filter::AllDeviceStatus { branch: &branch },
        Filter::AllUpdateRequests { branch: &branch },
        Filter::AllUpdateStates { branch: &branch },
    ];
    let mut subscribed = 0;
    loop {
        let event = tokio::select! {
            event = eventloop.poll() => event,
            _ = stop.changed(), if engine.is_some() => {
                // Shutting down: stop taking commands, keep polling so the publisher can flush.
                engine = None;
                continue;
            }
            () = status.firmware.wake.notified() => {
                for (device, offer) in status.firmware.take_changed() {
                    publish_offer(&client, &branch, &device, offer.as_ref());
                }
                continue;
            }
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                failures = 0;
                subscribed = 0;
                tracing::info!("connected to the MQTT broker");
                for filter in &filters {
                    if let Err(e) = client.try_subscribe(filter.to_string(), QoS::AtLeastOnce) {
                        tracing::error!(error = %e, "cannot subscribe");
                    }
                }
                for (device, offer) in status.firmware.all_offers() {
                    publish_offer(&client, &branch, &device, Some(&offer));
                }
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                subscribed += 1;
                if subscribed == filters.len() {
                    // Only now are commands heard: that is what "connected" means to /healthz.
                    status.connected.store(true, Ordering::Release);
                    // The broker may have lost retained messages (the embedded one keeps none
                    // across restarts): publish the current state again.
                    if let Some(engine) = &engine {
                        let _ = engine.send(Request::PublishAll).await;
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(publish))) => {
                status.messages_in.fetch_add(1, Ordering::Relaxed);
                let Some(engine) = &engine else { continue };
                handle_publish(&client, engine, &branch, &publish.topic, &publish.payload, &status).await;
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Publish(_))) => {
                status.messages_out.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => {
                status.connected.store(false, Ordering::Release);
                break;
            }
            Ok(_) => {}
            Err(e) => {
                status.connected.store(false, Ordering::Release);
                if engine.is_none() {
                    break;
                }
                failures += 1;
                if failures == 1 || failures.is_power_of_two() {
                    tracing::warn!(error = %describe(&e), attempts = failures, "MQTT connection failed; retrying");
                }
                tokio::time::sleep(Duration::from_millis(if failures < 10 { 200 } else { 1000 })).await;
            }
        }
    }
    tracing::debug!("MQTT intake finished");
}

async fn handle_publish(
    client: &AsyncClient,
    engine: &EngineHandle,
    branch: &str,
    topic: &str,
    payload: &[u8],
    status: &MqttStatus,
) {
    let counter_message = match Topic::parse(topic) {
        Ok(Topic::CounterCommand { branch: b, counter }) if b == branch => Some((
            counter,
            read_device_message(payload, |p| serde_json::from_slice::<Command>(p).map(command_from_wire)),
        )),
        Ok(Topic::CounterRating { branch: b, counter }) if b == branch => {
            Some((counter, read_device_message(payload, rating_message)))
        }
        _ => None,
    };
    match counter_message {
        Some((counter, Ok(command))) => {
            let request = Request::Counter { counter: counter.to_string(), command, reply: ReplyTo::Mqtt };
            if engine.send(request).await.is_err() {
                tracing::debug!("command dropped: shutting down");
            }
            return;
        }
        Some((counter, Err(why))) => {
            refuse_malformed(client, branch, counter, payload, &why);
            return;
        }
        None => {}
    }
    match Topic::parse(topic) {
        Ok(Topic::DeviceStatus { device, .. }) => note_presence(status, device, payload),
        Ok(Topic::UpdateRequest { branch: b, device }) if b == branch => {
            serve_chunk(client, status, branch, device, payload);
        }
        Ok(Topic::UpdateState { device, .. }) => note_update(status, device, payload),
        Ok(other) => tracing::debug!(?other, "ignored message"),
        Err(e) => tracing::info!(topic, error = %e, "message on an unknown topic"),
    }
}

/// Records a presence message (an empty one forgets the device), in memory and in the database.
fn note_presence(status: &MqttStatus, device: &str, payload: &[u8]) {
    // Seen at the milliseconds the document promises (and the database keeps).
    let now = Utc::now().trunc_subsecs(3);
    let heard = if payload.is_empty() {
        None
    } else {
        match serde_json::from_slice::<Presence>(payload) {
            Ok(p) => Some(p),
            Err(e) => {
                tracing::info!(device, error = %e, "unreadable presence message");
                return;
            }
        }
    };
    {
        let mut presence = status.presence.lock().unwrap_or_else(|e| e.into_inner());
        match heard {
            None => {
                presence.remove(device);
            }
            Some(p) if presence.len() < MAX_PRESENCE || presence.contains_key(device) => {
                let kept = crate::devices::merged_presence(presence.get(device).map(|(p, _)| p), p);
                presence.insert(device.to_string(), (kept, now));
            }
            Some(_) => {
                tracing::debug!(device, "presence map full: not tracked");
                return;
            }
        }
    }
    if let Some(db) = status.store.clone() {
        let device = device.to_string();
        let presence = status.presence.clone();
        tokio::spawn(async move {
            // Writes run in any order: each keeps what the map holds when it runs, so the last
            // one to run keeps the newest presence.
            let stored = db
                .write(move |conn| {
                    let latest = presence.lock().unwrap_or_else(|e| e.into_inner()).get(&device).cloned();
                    match latest {
                        Some((p, at)) => crate::store::save_presence(conn, &device, Some(p), at),
                        None => crate::store::save_presence(conn, &device, None, now),
                    }
                })
                .await;
            match stored {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "cannot keep a device's presence"),
                Err(e) => tracing::debug!(error = %e, "keeping a device's presence was interrupted"),
            }
        });
    }
}

/// Retains `offer` on `device`'s `…/update/offer` (`None`: an empty retained message withdraws it).
fn publish_offer(client: &AsyncClient, branch: &str, device: &str, offer: Option<&UpdateOffer>) {
    let topic = Topic::UpdateOffer { branch, device }.to_string();
    let payload = offer.map(|o| serde_json::to_vec(o).expect("an offer serialises")).unwrap_or_default();
    if let Err(e) = client.try_publish(topic, QoS::AtLeastOnce, true, payload) {
        tracing::warn!(device, error = %e, "cannot publish a firmware offer");
    }
}

/// Answers a chunk request: the chunk, read from the stored image in a task of its own, or an
/// error with its reason (never silence).
fn serve_chunk(client: &AsyncClient, status: &MqttStatus, branch: &str, device: &str, payload: &[u8]) {
    let topic = Topic::UpdateChunk { branch, device }.to_string();
    let refuse = |version: &str, offset: u32, error: ChunkError, message: &str| {
        let chunk = Chunk {
            version: bounded(version),
            offset,
            data: None,
            error: Some(error),
            message: Some(bounded(message)),
        };
        let bytes = serde_json::to_vec(&chunk).expect("a chunk serialises");
        if let Err(e) = client.try_publish(topic.clone(), QoS::AtMostOnce, false, bytes) {
            tracing::debug!(device, error = %e, "cannot answer a chunk request");
        }
    };
    let request =
        if payload.len() > MAX_DEVICE_MESSAGE { None } else { serde_json::from_slice::<ChunkRequest>(payload).ok() };
    let Some(request) = request else {
        tracing::info!(device, "unreadable chunk request");
        refuse("", 0, ChunkError::Malformed, "not a chunk request {version, offset, len}");
        return;
    };
    let job = match status.firmware.admit(device, &request, std::time::Instant::now()) {
        Ok(job) => job,
        Err((error, message)) => {
            tracing::debug!(device, ?error, "chunk request refused");
            refuse(&request.version, request.offset, error, &message);
            return;
        }
    };
    let (client, fleet, device) = (client.clone(), status.firmware.clone(), device.to_string());
    tokio::spawn(async move {
        let read = {
            let job = job.clone();
            tokio::task::spawn_blocking(move || crate::firmware::read_chunk(&job)).await
        };
        let chunk = match read {
            Ok(Ok(bytes)) => {
                let mut text = vec![0u8; bytes.len().div_ceil(3) * 4];
                let data = base64_encode(&bytes, &mut text).map(str::to_owned);
                let chunk = Chunk {
                    version: bounded(&job.version),
                    offset: job.offset,
                    data: data.as_deref(),
                    error: None,
                    message: None,
                };
                serde_json::to_vec(&chunk).expect("a chunk serialises")
            }
            other => {
                tracing::warn!(device, path = %job.path.display(), ?other, "cannot read a firmware image");
                let chunk = Chunk {
                    version: bounded(&job.version),
                    offset: job.offset,
                    data: None,
                    error: Some(ChunkError::Unavailable),
                    message: Some(bounded("the hub cannot read this image now")),
                };
                serde_json::to_vec(&chunk).expect("a chunk serialises")
            }
        };
        if let Err(e) = client.publish(topic, QoS::AtMostOnce, false, chunk).await {
            tracing::debug!(device, error = %e, "cannot send a chunk");
        }
        fleet.finished(&device);
    });
}

/// Records a button's update report, in memory and in the database.
fn note_update(status: &MqttStatus, device: &str, payload: &[u8]) {
    if payload.is_empty() {
        return;
    }
    let report = match serde_json::from_slice::<UpdateReport>(payload) {
        Ok(report) if payload.len() <= MAX_DEVICE_MESSAGE => report,
        _ => {
            tracing::info!(device, "unreadable update report");
            return;
        }
    };
    tracing::info!(device, stage = ?report.stage, version = ?report.version, "firmware update report");
    status.firmware.note_report(device, report.clone());
    if let Some(db) = status.store.clone() {
        let device = device.to_string();
        let now = Utc::now().trunc_subsecs(3);
        tokio::spawn(async move {
            let stored = db.write(move |conn| crate::firmware::save_report(conn, &device, &report, now)).await;
            if !matches!(stored, Ok(Ok(()))) {
                tracing::warn!("cannot keep a button's update report");
            }
        });
    }
}

/// Why a device's message is `malformed`, and the `id` (and `device`) to answer it with, if they
/// can be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub why: String,
}

/// Reads a device's message by the one rule (see the module documentation); `parse` reads the
/// message's type from the whole payload.
pub fn read_device_message<E: std::fmt::Display>(
    payload: &[u8],
    parse: impl FnOnce(&[u8]) -> Result<CounterCommand, E>,
) -> Result<CounterCommand, Malformed> {
    let malformed = |why: String| Err(Malformed { why });
    if payload.len() > MAX_DEVICE_MESSAGE {
        return malformed(format!("longer than {MAX_DEVICE_MESSAGE} bytes"));
    }
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return malformed("not a JSON object".into());
    }
    match parse(payload) {
        Err(e) => malformed(e.to_string()),
        Ok(command) if command.id.as_deref().is_none_or(str::is_empty) => malformed("the id is empty".into()),
        Ok(command) => Ok(command),
    }
}

/// The `id` and `device` of a message that is otherwise unreadable: read from the JSON object at
/// its start (whatever follows it); the id only if it is at most [`MAX_ECHOED_ID`] bytes, the
/// device only if it is a valid id.
pub fn readable_id(payload: &[u8]) -> Option<(String, Option<String>)> {
    /// Only the id of a message that is otherwise unreadable.
    #[derive(serde::Deserialize)]
    struct IdOnly {
        id: String,
    }
    /// Only the device.
    #[derive(serde::Deserialize)]
    struct DeviceOnly {
        device: String,
    }
    if payload.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return None;
    }
    let first = |p: &[u8]| serde_json::Deserializer::from_slice(p).into_iter::<serde_json::Value>().next();
    let object = first(payload)?.ok()?;
    let id = serde_json::from_value::<IdOnly>(object.clone()).ok()?.id;
    if id.len() > MAX_ECHOED_ID {
        return None;
    }
    let device = serde_json::from_value::<DeviceOnly>(object)
        .ok()
        .map(|d| d.device)
        .filter(|d| dawr_protocol::topics::is_valid_id(d));
    Some((id, device))
}

fn command_from_wire(cmd: Command) -> CounterCommand {
    CounterCommand {
        id: Some(cmd.id.to_string()),
        device: cmd.device.map(|d| d.to_string()),
        operation: Operation::Act(ActionRequest {
            action: cmd.action,
            ticket: cmd.ticket.map(|t| t.to_string()),
            to_service: cmd.to_service.map(|s| s.to_string()),
            to_counter: cmd.to_counter.map(|s| s.to_string()),
            outcome: cmd.outcome,
            note: cmd.note.map(|s| s.to_string()),
            reason: cmd.reason.map(|s| s.to_string()),
        }),
        by: None,
    }
}

/// Reads a message on `…/rating`: a [`Rating`] (it has a `score`), or else a
/// [`ReasonForRating`] for a score sent earlier. An unreadable message reports why it is not a
/// rating.
fn rating_message(payload: &[u8]) -> Result<CounterCommand, serde_json::Error> {
    match serde_json::from_slice::<Rating>(payload) {
        Ok(rating) => Ok(CounterCommand {
            id: Some(rating.id.to_string()),
            device: rating.device.map(|d| d.to_string()),
            operation: Operation::Rate { score: rating.score, reason: rating.reason },
            by: None,
        }),
        Err(not_a_rating) => match serde_json::from_slice::<ReasonForRating>(payload) {
            Ok(later) => Ok(CounterCommand {
                id: Some(later.id.to_string()),
                device: later.device.map(|d| d.to_string()),
                operation: Operation::AddReason { rating: later.rating, reason: later.reason },
                by: None,
            }),
            Err(_) => Err(not_a_rating),
        },
    }
}

/// Answers an unreadable command or rating, if an id can be read from it.
fn refuse_malformed(client: &AsyncClient, branch: &str, counter: &str, payload: &[u8], error: &Malformed) {
    let id = readable_id(payload);
    tracing::info!(counter, why = %error.why, answered = id.is_some(), "malformed message from a counter device");
    let Some((id, device)) = id else { return };
    let reply = Reply {
        id: bounded(&id),
        device: device.as_deref().map(bounded),
        error: Some(ErrorCode::Malformed),
        message: Some(bounded(&format!("malformed message: {}", error.why))),
        ..Reply::default()
    };
    let p = json_publication(Topic::CounterReply { branch, counter }, &reply, false);
    if let Err(e) = client.try_publish(p.topic, QoS::AtLeastOnce, false, p.payload) {
        tracing::warn!(error = %e, "cannot answer a malformed message");
    }
}

async fn publisher(
    client: AsyncClient,
    mut publications: mpsc::UnboundedReceiver<Publication>,
    hub_status: String,
    offline: Vec<u8>,
    connected: Arc<AtomicBool>,
) {
    let mut dropped = 0u64;
    while let Some(p) = publications.recv().await {
        if connected.load(Ordering::Acquire) {
            if let Err(e) = client.publish(p.topic, QoS::AtLeastOnce, p.retain, p.payload).await {
                tracing::warn!(error = %e, "cannot queue an MQTT message");
            }
        } else if client.try_publish(p.topic, QoS::AtLeastOnce, p.retain, p.payload).is_err() {
            // Away from the broker the outgoing queue stays bounded (rumqttc's request channel);
            // retained state is published again on reconnect.
            dropped += 1;
            if dropped.is_power_of_two() {
                tracing::warn!(dropped, "MQTT messages dropped while the broker is away");
            }
        }
    }
    // The engine and the writer have finished: say goodbye.
    let _ = client.publish(hub_status, QoS::AtLeastOnce, true, offline).await;
    let _ = client.disconnect().await;
    tracing::debug!("MQTT publisher finished");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_command(payload: &str) -> Result<CounterCommand, Malformed> {
        read_device_message(payload.as_bytes(), |p| serde_json::from_slice::<Command>(p).map(command_from_wire))
    }

    #[test]
    fn one_malformed_rule_for_every_device_message() {
        let ok = read_command(r#" {"id":"b3-1","device":"button-3","action":"next"}"#).unwrap();
        assert_eq!((ok.id.as_deref(), ok.device.as_deref()), (Some("b3-1"), Some("button-3")));
        for bad in [
            r#"["m-10","next"]"#,
            r#"{"id":"","action":"next"}"#,
            r#"{"id":"t-1","action":"next"} trailing"#,
            r#"{"id":"t-2","action":"next"}{"id":"t-3","action":"next"}"#,
            r#"{"id":"t-4","action":"explode"}"#,
            "\"next\"",
        ] {
            assert!(read_command(bad).is_err(), "{bad} must be malformed");
        }
        let long =
            format!(r#"{{"id":"{}","action":"next","note":"{}"}}"#, "x".repeat(10), "y".repeat(MAX_DEVICE_MESSAGE));
        assert!(read_command(&long).is_err(), "over the largest message");
    }

    #[test]
    fn the_id_of_a_malformed_message_is_read_whenever_it_can_be() {
        let id = |p: &str| readable_id(p.as_bytes());
        let long = "x".repeat(49);
        assert_eq!(id(&format!(r#"{{"id":"{long}","action":"next"}}"#)), Some((long.clone(), None)), "over-long id");
        assert_eq!(id(r#"{"id":"t-1","action":"next"} trailing"#), Some(("t-1".into(), None)), "trailing bytes");
        assert_eq!(id(r#"{"id":"","device":"button-3"}"#), Some((String::new(), Some("button-3".into()))));
        assert_eq!(id(r#"{"id":"t-2","device":"no/slash"}"#), Some(("t-2".into(), None)));
        assert_eq!(id(r#"["m-10","next"]"#), None, "an array has no id");
        assert_eq!(id("{not json"), None);
        assert_eq!(id(&format!(r#"{{"id":"{}"}}"#, "x".repeat(MAX_ECHOED_ID + 1))), None);
    }

    #[test]
    fn the_hub_logs_in_as_itself_unless_the_url_says_otherwise() {
        let plain = MqttEndpoint::parse("mqtt://127.0.0.1:1884").unwrap();
        let e = with_hub_login(plain, "demo", "hub-secret");
        assert_eq!((e.username.as_deref(), e.password.unwrap().expose()), (Some("dawr-hub-demo"), "hub-secret"));
        let named = MqttEndpoint::parse("mqtt://ops:pw@127.0.0.1").unwrap();
        let e = with_hub_login(named, "demo", "hub-secret");
        assert_eq!((e.username.as_deref(), e.password.unwrap().expose()), (Some("ops"), "pw"));
    }
}
