//! The uplink to the ministry's centre (`[uplink]` in the branch file; off unless it names a
//! NATS server): every row of the event log goes to JetStream, in `seq` order, on
//! `dawr.v1.evt.{branch}` with `Nats-Msg-Id: {branch}:{log_id}:{seq}`; and the branch's live
//! state (health, board, counters, devices) goes to the KV bucket `dawr_live` every 30 s.
//!
//! - **A backlog never delays the others' live events.** While the uplink is more than
//!   [`message::CATCH_UP_BEHIND`] events behind its log (after an outage), it publishes on
//!   `dawr.v1.evt.{branch}.catchup` instead: the centre writes that subject with a consumer of
//!   its own, so branches that never left stay live while reconnected ones drain.
//!
//! - **Nothing lost.** The cursor (`uplink_cursor`, in the hub's database) moves only when
//!   JetStream has acknowledged an event and everything before it; after any error the uplink
//!   starts again from the cursor, so an event is sent until it is acknowledged.
//! - **Nothing twice at the centre.** A re-sent event has the same message id: JetStream drops
//!   it within its duplicate window, and the centre's key `(branch, log_id, seq)` after that.
//! - **Never in the way.** The uplink reads the log through its own connection; the queue never
//!   waits for it. It reconnects forever, with back-off, while the branch serves on.
//! - **Bounded.** At most 64 publishes wait for their acknowledgement at a time.
//!
//! - **Case notes go up too.** Each change staff make to a case's notes (numbered in
//!   `case_note_changes`, migration 020) goes to `dawr.v1.case.{branch}` with
//!   `Nats-Msg-Id: {branch}:{log_id}:case:{seq}`, in order, once the log is acknowledged; their
//!   own cursor (`uplink_cursor.case_seq`) moves on JetStream's acknowledgement.
//!
//! - **Configuration comes down.** Every `config_every` the uplink reads its own key of the
//!   bucket `dawr_config` and applies a new revision (see [`config`]).
//!
//! `log` is the SQL, `message` (pure) what is sent, `config` the configuration from the centre;
//! this module is the task: [`run`] is the uplink as a library (any database of the hub's
//! schema, a [`BranchSide`] with or without an engine to apply configurations), [`spawn`] runs
//! it for the hub.
pub mod config;
pub mod config_store;
pub mod log;
pub mod message;

use std::collections::VecDeque;
use std::time::Duration;

use async_nats::jetstream;
use async_nats::jetstream::context::PublishAckFuture;
use dawr_protocol::api::ministry::{LiveBoard, LiveCounters, LiveDevices, LiveHealth, ServiceTarget};
use dawr_web::Db;

use self::config::{ConfigState, Reconfigure};
use crate::branch_cell::BranchCell;

/// The name of the KV bucket of branches' live state.
pub const LIVE_BUCKET: &str = "dawr_live";

/// Where and how the uplink reaches the centre.
#[derive(Debug, Clone)]
pub struct UplinkLink {
    /// `nats://host:port` (or `tls://`); a cluster's servers comma-separated.
    pub nats_url: String,
    /// The branch's NATS account login, if the server wants one.
    pub user: Option<String>,
    pub password: Option<String>,
    /// Publishes waiting for their acknowledgement at most.
    pub in_flight: usize,
    /// How often the live state is put.
    pub live_every: Duration,
    /// The longest wait between reconnection attempts.
    pub max_backoff: Duration,
    /// How often the branch's configuration key is read.
    pub config_every: Duration,
}

impl UplinkLink {
    /// A link to `nats_url` with the defaults: 64 in flight, live state every 30 s, back-off up to
    /// 30 s.
    pub fn new(nats_url: String) -> UplinkLink {
        UplinkLink {
            nats_url,
            user: None,
            password: None,
            in_flight: 64,
            live_every: Duration::from_secs(30),
            max_backoff: Duration::from_secs(30),
            config_every: Duration::from_secs(5),
        }
    }
}

/// Why a session with the centre ended (the uplink then starts a new one).
#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("publish: {0}")]
    Publish(String),
    #[error("the database: {0}")]
    Db(String),
}

/// What the uplink serves at the branch: the branch as configured now (its id, and the profile
/// its live health carries), who applies configurations from the centre, and the devices heard.
#[derive(Clone)]
pub struct BranchSide {
    pub cell: BranchCell,
    /// Applies a configuration from the centre at a safe point; `None`: the branch's key is never
    /// read (a branch without an engine, such as the ministry bench's replayed branches).
    pub reconfigure: Option<Reconfigure>,
    pub presence: crate::mqtt::PresenceMap,
}

/// Sends the log and the live state, and applies configurations from the centre, until the hub
/// stops (abort the handle).
pub fn spawn(
    link: UplinkLink,
    reconfigure: Reconfigure,
    presence: crate::mqtt::PresenceMap,
    db: Db,
) -> tokio::task::JoinHandle<()> {
    let side = BranchSide { cell: reconfigure.cell.clone(), reconfigure: Some(reconfigure), presence };
    tokio::spawn(run(link, side, db))
}

/// The uplink as a library: sessions with the centre, one after another with back-off, over the
/// events log in `db` (a hub's database, or any database of the hub's schema), until the future
/// is dropped. [`spawn`] runs it for the hub; the ministry bench runs one per replayed branch.
pub async fn run(link: UplinkLink, side: BranchSide, db: Db) {
    let mut backoff = Duration::from_millis(250);
    loop {
        let started = tokio::time::Instant::now();
        if let Err(e) = session(&link, &side, &db).await {
            tracing::warn!(error = %e, retry_in = ?backoff, "the uplink to the centre is down");
        }
        // A session that ran a while was healthy: start the back-off again.
        if started.elapsed() > Duration::from_secs(10) {
            backoff = Duration::from_millis(250);
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(link.max_backoff);
    }
}

/// One connection: publishes from the cursor on, until an error.
async fn session(link: &UplinkLink, side: &BranchSide, db: &Db) -> Result<(), SessionError> {
    let branch = side.cell.get();
    let mut options = async_nats::ConnectOptions::new()
        .name(format!("dawr-hub-{}", branch.id))
        // Replies come to the branch's own inboxes: its rights let it read those only.
        .custom_inbox_prefix(format!("_INBOX_{}", branch.id))
        .connection_timeout(Duration::from_secs(5))
        // A cut link is noticed within seconds, not minutes.
        .ping_interval(Duration::from_secs(5));
    if let (Some(user), Some(password)) = (&link.user, &link.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    // `nats_url` may list the servers of a cluster, comma-separated: any one will do.
    let servers: Vec<&str> = link.nats_url.split(',').map(str::trim).filter(|s| !s.is_empty()).collect();
    let client = options.connect(servers).await.map_err(|e| SessionError::Connect(e.to_string()))?;
    let js = jetstream::new(client.clone());
    let (log_id, acked) = db.read(log::cursor).await.map_err(db_error)?.map_err(db_error)?;
    tracing::info!(url = %link.nats_url, from_seq = acked + 1, "the uplink is connected to the centre");
    let mut acked = acked;
    let mut sent = acked;
    let mut waiting: VecDeque<(i64, PublishAckFuture)> = VecDeque::new();
    let mut live_at = tokio::time::Instant::now();
    let mut config_at = tokio::time::Instant::now();
    loop {
        if let Some(reconfigure) = side.reconfigure.as_ref().filter(|_| config_at <= tokio::time::Instant::now()) {
            if read_config(&js, reconfigure, db).await {
                // Tell the centre at once which revision runs now.
                live_at = tokio::time::Instant::now();
            }
            config_at = tokio::time::Instant::now() + link.config_every;
        }
        if live_at <= tokio::time::Instant::now() {
            put_live(&js, &side.cell.get(), &side.presence, db, &log_id, acked).await;
            live_at = tokio::time::Instant::now() + link.live_every;
        }
        let room = link.in_flight.saturating_sub(waiting.len());
        let (rows, last_seq) = if room > 0 {
            db.read(move |conn| -> rusqlite::Result<_> {
                Ok((log::events_after(conn, sent, room)?, log::last_seq(conn)?))
            })
            .await
            .map_err(db_error)?
            .map_err(db_error)?
        } else {
            (Vec::new(), sent)
        };
        for row in &rows {
            let body = message::uplink_event(&branch.id, &log_id, row);
            let body = serde_json::to_vec(&body).expect("an uplink event serialises");
            let mut headers = async_nats::HeaderMap::new();
            headers.insert("Nats-Msg-Id", message::message_id(&branch.id, &log_id, row.seq).as_str());
            let subject = message::subject_for(&branch.id, row.seq, last_seq);
            let ack = js
                .publish_with_headers(subject, headers, body.into())
                .await
                .map_err(|e| SessionError::Publish(e.to_string()))?;
            waiting.push_back((row.seq, ack));
            sent = row.seq;
        }
        match waiting.pop_front() {
            Some((seq, ack)) => {
                ack.await.map_err(|e| SessionError::Publish(format!("event {seq}: {e}")))?;
                acked = seq;
                // Acknowledgements arrive in order: store the cursor once the pipe is drained
                // or every 64 events, whichever is first.
                if waiting.is_empty() || seq % 64 == 0 {
                    db.write(move |conn| log::advance(conn, seq)).await.map_err(db_error)?.map_err(db_error)?;
                }
            }
            None => {
                // The log is all acknowledged: the case notes changed meanwhile go up too.
                send_case_notes(&js, &branch.id, &log_id, db, link.in_flight).await?;
                tokio::time::sleep(Duration::from_millis(100)).await
            }
        }
    }
}

/// Publishes the case changes after the case cursor, in order (at most `in_flight`, each with
/// its message id), and moves the cursor once JetStream has acknowledged them all.
async fn send_case_notes(
    js: &jetstream::Context,
    branch: &str,
    log_id: &str,
    db: &Db,
    in_flight: usize,
) -> Result<(), SessionError> {
    let (after, (rows, upto)) = db
        .read(move |conn| -> rusqlite::Result<_> {
            let after = log::case_cursor(conn)?;
            Ok((after, log::case_changes_after(conn, after, in_flight)?))
        })
        .await
        .map_err(db_error)?
        .map_err(db_error)?;
    if upto == after {
        return Ok(());
    }
    let mut acks = Vec::with_capacity(rows.len());
    for row in &rows {
        let body = serde_json::to_vec(&message::uplink_case_note(branch, log_id, row)).expect("a case note serialises");
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", message::case_message_id(branch, log_id, row.seq).as_str());
        let ack = js
            .publish_with_headers(message::case_subject(branch), headers, body.into())
            .await
            .map_err(|e| SessionError::Publish(e.to_string()))?;
        acks.push((row.seq, ack));
    }
    for (seq, ack) in acks {
        ack.await.map_err(|e| SessionError::Publish(format!("case change {seq}: {e}")))?;
    }
    db.write(move |conn| log::advance_cases(conn, upto)).await.map_err(db_error)?.map_err(db_error)?;
    Ok(())
}

fn db_error(e: impl std::fmt::Display) -> SessionError {
    SessionError::Db(e.to_string())
}

/// Reads the branch's configuration key and applies a revision not seen before; `true` if there
/// was one (applied or refused). A missing key or an unreachable bucket changes nothing.
async fn read_config(js: &jetstream::Context, reconfigure: &Reconfigure, db: &Db) -> bool {
    let branch = reconfigure.cell.get();
    let Ok(stream) = js.get_stream_no_info(config::config_stream()).await else { return false };
    let entry = match stream.direct_get_last_for_subject(config::config_subject(&branch.id)).await {
        Ok(entry) => entry,
        Err(e) if e.kind() == jetstream::stream::DirectGetErrorKind::NotFound => return false,
        Err(e) => {
            tracing::debug!(error = %e, "cannot read this branch's configuration at the centre");
            return false;
        }
    };
    // A deleted or purged key leaves the branch on its last good configuration.
    if entry.headers.get("KV-Operation").is_some() {
        return false;
    }
    let known = db.read(config::state).await;
    if matches!(&known, Ok(Ok(state)) if state.knows(entry.sequence)) {
        return false;
    }
    let _ = config::apply(reconfigure, db, entry.sequence, &entry.payload).await;
    true
}

/// Puts the branch's health, board, counters and devices into `dawr_live` (best effort: the next
/// round tries again; the bucket's age limit says "offline" if none arrives).
async fn put_live(
    js: &jetstream::Context,
    branch: &crate::domain::Branch,
    presence: &crate::mqtt::PresenceMap,
    db: &Db,
    log_id: &str,
    acked: i64,
) {
    let kv = match js.get_key_value(LIVE_BUCKET).await {
        Ok(kv) => kv,
        Err(e) => {
            tracing::warn!(error = %e, "the live-state bucket is not there");
            return;
        }
    };
    let now = crate::clock::now();
    let read = db
        .read(move |conn| -> rusqlite::Result<_> {
            let enrolled = crate::devices::enrolled(conn).unwrap_or_default();
            Ok((log::last_seq(conn)?, log::queues(conn, now)?, log::counters(conn)?, config::state(conn)?, enrolled))
        })
        .await;
    let Ok(Ok((last_seq, queues, counters, ConfigState { applied, refused }, enrolled))) = read else { return };
    let heard = presence.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let devices = LiveDevices { branch: branch.id.clone(), devices: crate::devices::listing(&enrolled, &heard) };
    let health = LiveHealth {
        branch: branch.id.clone(),
        log_id: log_id.into(),
        last_seq,
        acked_seq: acked,
        at: crate::store::ts(now),
        utc_offset_s: branch.utc_offset.local_minus_utc(),
        targets: branch
            .services
            .iter()
            .map(|s| ServiceTarget { code: s.code.clone(), target_wait_s: s.target_wait_s })
            .collect(),
        config_revision: applied,
        config_refused: refused,
    };
    let board = LiveBoard { branch: branch.id.clone(), last_seq, queues };
    let counters = LiveCounters { branch: branch.id.clone(), last_seq, counters };
    let parts = [
        ("health", serde_json::to_vec(&health)),
        ("board", serde_json::to_vec(&board)),
        ("counters", serde_json::to_vec(&counters)),
        ("devices", serde_json::to_vec(&devices)),
    ];
    for (part, body) in parts {
        let Ok(body) = body else { continue };
        if let Err(e) = kv.put(message::live_key(&branch.id, part), body.into()).await {
            tracing::warn!(error = %e, part, "could not put the live state");
        }
    }
}
