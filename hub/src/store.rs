//! SQLite storage: the event log, the current state, and the group-committing writer.
//!
//! One database file per hub (`{data_dir}/dawr.db`), in WAL mode with `synchronous=FULL`, so a
//! committed transaction survives `kill -9` and power loss. All writes go through one writer
//! thread ([`spawn_writer`]): it takes every change waiting in its channel, writes them in one
//! transaction, and only after the commit runs each change's continuation (which answers the
//! HTTP request or publishes the MQTT reply). That is what "acknowledged means durable" rests on,
//! and batching is what makes thousands of durable changes per second possible.
//!
//! If a transaction fails, every change of that *epoch* is refused and the engine rebuilds its
//! queue from the database before going on (see [`crate::engine`]); nothing half-done survives.
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::JoinHandle;

use chrono::{DateTime, NaiveDate, Utc};
use dawr_protocol::device::CounterStatus;
use rusqlite::{Connection, OptionalExtension, Row, params};
use rusqlite_migration::{M, Migrations};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use crate::domain::queue::{CounterRuntime, LastCompleted, OpenRating};
use crate::domain::{Closure, Recorded, Snapshot, Visit, VisitId};

pub mod commit_latency;
pub use commit_latency::CommitLatency;

/// The database file's name inside the data directory.
pub const FILE_NAME: &str = "dawr.db";

/// How many changes one transaction takes at most.
const MAX_BATCH: usize = 1024;

pub use dawr_web::db::{StoreError, ts};
use dawr_web::db::{parse_opt_ts, parse_ts};

/// Why a change was not stored (cheap to copy to every waiting caller).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct WriteFailed(pub Arc<str>);

/// The schema's migrations, in order: the database's `user_version` is how many it has had.
/// A migration, once released, is never changed (a database of every earlier schema is a test
/// fixture: `store::upgrades`).
const MIGRATIONS: &[&str] = &[
    include_str!("store/001_initial.sql"),
    include_str!("store/002_appointments.sql"),
    include_str!("store/003_cases.sql"),
    include_str!("store/004_crm.sql"),
    include_str!("store/005_rating_reason.sql"),
    include_str!("store/006_devices.sql"),
    include_str!("store/007_sessions.sql"),
    include_str!("store/008_privacy.sql"),
    include_str!("store/009_device_links.sql"),
    include_str!("store/010_uplink.sql"),
    include_str!("store/011_protocol.sql"),
    include_str!("store/012_sms.sql"),
    include_str!("store/013_remote_join.sql"),
    include_str!("store/014_centre_config.sql"),
    include_str!("store/015_day_closures.sql"),
    include_str!("store/016_real_cases.sql"),
    include_str!("store/017_alerts.sql"),
    include_str!("store/018_fleet.sql"),
    include_str!("store/019_corrective_actions.sql"),
    include_str!("store/020_uplink_cases.sql"),
    include_str!("store/021_firmware.sql"),
    include_str!("store/022_monthly_report.sql"),
];

fn migrations() -> Migrations<'static> {
    Migrations::new(MIGRATIONS.iter().map(|sql| M::up(sql)).collect())
}

/// The schema version this hub writes (`PRAGMA user_version` once migrated): a backup of a
/// newer one is not restored.
pub fn schema_version() -> Result<i64, StoreError> {
    let mut conn = Connection::open_in_memory()?;
    migrations().to_latest(&mut conn)?;
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Opens (creating and migrating if needed) the database at `path`.
///
/// Its transactions begin `IMMEDIATE`: they take the write lock first, waiting for it (the busy
/// timeout) if another connection holds it. A deferred transaction that reads and then writes
/// (the CRM feeder: the cursor, then the outbox) is instead refused at once with "database is
/// locked" when another connection committed in between, since its snapshot is stale: SQLite
/// cannot wait that out (`SQLITE_BUSY_SNAPSHOT`).
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    let mut conn = dawr_web::db::open(path, &migrations(), std::time::Duration::from_secs(5))?;
    conn.set_transaction_behavior(rusqlite::TransactionBehavior::Immediate);
    Ok(conn)
}

/// Ends the process if the thread holding it unwinds from a panic. The hub cannot work without
/// its writer or its engine thread, and a hub left running without one acknowledges nothing,
/// forever; stopped, it is started again by its supervisor, which `kill -9` proves safe.
pub(crate) struct EssentialThread(pub &'static str);

impl Drop for EssentialThread {
    fn drop(&mut self) {
        if std::thread::panicking() {
            tracing::error!(thread = self.0, "a thread the hub cannot work without panicked; the hub stops");
            std::process::abort();
        }
    }
}

/// A serde enum as its snake_case name.
pub(crate) fn enum_text<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => s,
        other => unreachable!("not a unit enum: {other:?}"),
    }
}

fn parse_enum<T: DeserializeOwned>(column: &'static str, text: &str) -> Result<T, StoreError> {
    serde_json::from_value(serde_json::Value::String(text.into()))
        .map_err(|_| StoreError::Corrupt { column, value: text.into() })
}

fn parse_day(text: &str) -> Result<NaiveDate, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt { column: "local_day", value: text.into() })
}

const VISIT_COLUMNS: &str = "id, number, local_day, service, priority, source, status, case_ref, token, issued_at, \
     appointment_at, counter, target_counter, called_at, started_at, ended_at, recalls, transfers, outcome, transfer_note, \
     rating, rating_reason, arrived_at, held_at";

fn visit_from_row(row: &Row<'_>) -> Result<Visit, StoreError> {
    Ok(Visit {
        id: row.get::<_, i64>(0)? as VisitId,
        number: row.get(1)?,
        local_day: parse_day(&row.get::<_, String>(2)?)?,
        service: row.get(3)?,
        priority: parse_enum("priority", &row.get::<_, String>(4)?)?,
        source: parse_enum("source", &row.get::<_, String>(5)?)?,
        status: parse_enum("status", &row.get::<_, String>(6)?)?,
        case_ref: row.get(7)?,
        token: row.get(8)?,
        issued_at: parse_ts("issued_at", &row.get::<_, String>(9)?)?,
        appointment_at: parse_opt_ts("appointment_at", row.get(10)?)?,
        counter: row.get(11)?,
        target_counter: row.get(12)?,
        called_at: parse_opt_ts("called_at", row.get(13)?)?,
        started_at: parse_opt_ts("started_at", row.get(14)?)?,
        ended_at: parse_opt_ts("ended_at", row.get(15)?)?,
        recalls: row.get(16)?,
        transfers: row.get(17)?,
        outcome: row.get::<_, Option<String>>(18)?.map(|o| parse_enum("outcome", &o)).transpose()?,
        transfer_note: row.get(19)?,
        rating: row.get(20)?,
        rating_reason: row.get::<_, Option<String>>(21)?.map(|r| parse_enum("rating_reason", &r)).transpose()?,
        arrived_at: parse_opt_ts("arrived_at", row.get(22)?)?,
        held_at: parse_opt_ts("held_at", row.get(23)?)?,
    })
}

/// Reads everything the engine needs to rebuild the live queue.
pub fn load_snapshot(conn: &Connection) -> Result<Snapshot, StoreError> {
    let mut stmt = conn.prepare(&format!(
        "SELECT {VISIT_COLUMNS} FROM visits WHERE status IN ('waiting', 'called', 'serving') ORDER BY id"
    ))?;
    let mut rows = stmt.query([])?;
    let mut visits = Vec::new();
    while let Some(row) = rows.next()? {
        visits.push(visit_from_row(row)?);
    }
    let mut stmt = conn.prepare(
        "SELECT id, status, current_visit, pause_reason, changed_at, last_visit, last_number, last_ended_at, last_rated, \
         last_open_score, last_rated_at FROM counters",
    )?;
    let mut rows = stmt.query([])?;
    let mut counters = Vec::new();
    while let Some(row) = rows.next()? {
        let status: CounterStatus = parse_enum("counters.status", &row.get::<_, String>(1)?)?;
        counters.push((
            row.get(0)?,
            CounterRuntime {
                status,
                current: row.get::<_, Option<i64>>(2)?.map(|v| v as VisitId),
                pause_reason: row.get(3)?,
                changed_at: parse_ts("changed_at", &row.get::<_, String>(4)?)?,
                last_completed: match (
                    row.get::<_, Option<i64>>(5)?,
                    row.get::<_, Option<String>>(6)?,
                    row.get::<_, Option<String>>(7)?,
                ) {
                    (Some(visit), Some(number), Some(ended_at)) => Some(LastCompleted {
                        visit: visit as VisitId,
                        number,
                        ended_at: parse_ts("last_ended_at", &ended_at)?,
                        rated: row.get(8)?,
                        open_rating: match (row.get::<_, Option<u8>>(9)?, row.get::<_, Option<String>>(10)?) {
                            (Some(score), Some(at)) => {
                                Some(OpenRating { score, rated_at: parse_ts("last_rated_at", &at)? })
                            }
                            _ => None,
                        },
                    }),
                    _ => None,
                },
            },
        ));
    }
    let mut stmt = conn.prepare("SELECT local_day, service, last FROM ticket_numbers")?;
    let mut rows = stmt.query([])?;
    let mut numbers = Vec::new();
    while let Some(row) = rows.next()? {
        numbers.push((parse_day(&row.get::<_, String>(0)?)?, row.get(1)?, row.get(2)?));
    }
    let mut stmt = conn.prepare("SELECT local_day, last FROM case_sequences")?;
    let mut rows = stmt.query([])?;
    let mut case_seqs = Vec::new();
    while let Some(row) = rows.next()? {
        case_seqs.push((parse_day(&row.get::<_, String>(0)?)?, row.get(1)?));
    }
    let max_id: Option<i64> = conn.query_row("SELECT MAX(id) FROM visits", [], |r| r.get(0))?;
    let closures = load_closures(conn)?;
    Ok(Snapshot { visits, counters, numbers, case_seqs, next_id: max_id.unwrap_or(0) as VisitId + 1, closures })
}

/// The closed days (all of them: the queue keeps only today's and later ones it is given).
fn load_closures(conn: &Connection) -> Result<Vec<Closure>, StoreError> {
    let mut stmt = conn.prepare("SELECT local_day, service FROM day_closures")?;
    let mut rows = stmt.query([])?;
    let mut closures = Vec::new();
    while let Some(row) = rows.next()? {
        let service: String = row.get(1)?;
        closures.push(Closure {
            day: parse_day(&row.get::<_, String>(0)?)?,
            service: (!service.is_empty()).then_some(service),
        });
    }
    Ok(closures)
}

/// One more than the highest event sequence number stored.
pub fn next_event_seq(conn: &Connection) -> Result<i64, StoreError> {
    let max: Option<i64> = conn.query_row("SELECT MAX(seq) FROM events", [], |r| r.get(0))?;
    Ok(max.unwrap_or(0) + 1)
}

/// A visit by id, live or finished.
pub fn read_visit(conn: &Connection, id: VisitId) -> Result<Option<Visit>, StoreError> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE id = ?1");
    conn.query_row(&sql, [id as i64], |row| Ok(visit_from_row(row))).optional()?.transpose()
}

/// A visit by its live page token.
pub fn read_visit_by_token(conn: &Connection, token: &str) -> Result<Option<Visit>, StoreError> {
    let sql = format!("SELECT {VISIT_COLUMNS} FROM visits WHERE token = ?1");
    conn.query_row(&sql, [token], |row| Ok(visit_from_row(row))).optional()?.transpose()
}

/// Command replies stored since `since`: `(id scope, command id, reply JSON, body)` (the scope is
/// the counter, or `counter/device`; the body is `None` in rows stored before bodies were kept).
pub type LoggedReply = (String, String, String, Option<String>);

/// Command replies stored since `since` (see [`LoggedReply`]).
pub fn load_command_log(conn: &Connection, since: DateTime<Utc>) -> Result<Vec<LoggedReply>, StoreError> {
    let mut stmt = conn.prepare("SELECT counter, command_id, reply, body FROM command_log WHERE at >= ?1")?;
    let rows = stmt.query_map([ts(since)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A client's last presence as kept: `(device, presence, seen_at)`; the presence's status is
/// always `offline`.
pub type KeptPresence = (String, dawr_protocol::device::Presence, DateTime<Utc>);

/// A kept enum value (`printer`, `reset`) read back as its type (`None` if absent or unreadable).
fn kept_name<T: serde::de::DeserializeOwned>(name: Option<String>) -> Option<T> {
    name.and_then(|n| serde_json::from_value(serde_json::Value::String(n)).ok())
}

/// The presence last heard from each client (the status is not kept: after a restart every
/// device is offline until it says otherwise; what a button said about itself is kept).
pub fn load_presence(conn: &Connection) -> Result<Vec<KeptPresence>, StoreError> {
    use dawr_protocol::device::{Presence, PresenceStatus};
    let mut stmt =
        conn.prepare("SELECT device, printer, seen_at, firmware, uptime_s, rssi, reset FROM device_presence")?;
    let mut rows = stmt.query([])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let firmware: Option<String> = r.get(3)?;
        let presence = Presence {
            printer: kept_name(r.get(1)?),
            firmware: firmware.and_then(|f| f.as_str().try_into().ok()),
            uptime_s: r.get(4)?,
            rssi: r.get(5)?,
            reset: kept_name(r.get(6)?),
            ..Presence::new(PresenceStatus::Offline)
        };
        out.push((r.get(0)?, presence, parse_ts("device_presence.seen_at", &r.get::<_, String>(2)?)?));
    }
    Ok(out)
}

/// Keeps a client's presence (`None`: it cleared its retained status, so it is forgotten).
pub fn save_presence(
    conn: &Connection,
    device: &str,
    presence: Option<dawr_protocol::device::Presence>,
    seen_at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let Some(p) = presence else {
        conn.execute("DELETE FROM device_presence WHERE device = ?1", [device])?;
        return Ok(());
    };
    let name = |v: serde_json::Value| v.as_str().map(str::to_owned);
    let status = serde_json::to_value(p.status).ok().and_then(name);
    let printer = p.printer.and_then(|h| serde_json::to_value(h).ok()).and_then(name);
    let reset = p.reset.and_then(|r| serde_json::to_value(r).ok()).and_then(name);
    conn.execute(
        "INSERT INTO device_presence (device, status, printer, seen_at, firmware, uptime_s, rssi, reset)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT(device) DO UPDATE SET status = excluded.status, printer = excluded.printer,
           seen_at = excluded.seen_at, firmware = excluded.firmware, uptime_s = excluded.uptime_s,
           rssi = excluded.rssi, reset = excluded.reset",
        params![device, status, printer, ts(seen_at), p.firmware.as_deref(), p.uptime_s, p.rssi, reset],
    )?;
    Ok(())
}

/// A stored call for the board's history.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCall {
    pub seq: i64,
    pub at: DateTime<Utc>,
    pub recall: bool,
    pub counter: String,
    pub number: String,
    pub service: String,
}

/// The newest `limit` calls and recalls, newest first.
pub fn recent_calls(conn: &Connection, limit: usize) -> Result<Vec<StoredCall>, StoreError> {
    let mut stmt = conn.prepare(
        "SELECT e.seq, e.at, e.kind, e.counter, v.number, v.service FROM events e JOIN visits v ON v.id = e.visit_id \
         WHERE e.kind IN ('called', 'recalled') ORDER BY e.seq DESC LIMIT ?1",
    )?;
    let mut rows = stmt.query([limit as i64])?;
    let mut calls = Vec::new();
    while let Some(r) = rows.next()? {
        calls.push(StoredCall {
            seq: r.get(0)?,
            at: parse_ts("events.at", &r.get::<_, String>(1)?)?,
            recall: r.get::<_, String>(2)? == "recalled",
            counter: r.get(3)?,
            number: r.get(4)?,
            service: r.get(5)?,
        });
    }
    Ok(calls)
}

// ----- The writer ---------------------------------------------------------------------------------

/// A command's reply, kept so a repeated command id is answered the same way.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedCommand {
    /// The id's scope: the counter, or `counter/device`.
    pub counter: String,
    pub id: String,
    pub reply_json: String,
    /// The command's body, which a repeated id must match (see `engine`).
    pub body: String,
}

/// Everything one accepted operation changes, written in one go.
#[derive(Debug, Clone, Default)]
pub struct Change {
    /// Events with the sequence numbers the engine gave them.
    pub events: Vec<(i64, Recorded)>,
    /// Visits as they are after the operation.
    pub visits: Vec<Visit>,
    /// Counters as they are after the operation.
    pub counters: Vec<(String, CounterRuntime)>,
    pub command: Option<LoggedCommand>,
    pub at: Option<DateTime<Utc>>,
    /// A day a manager closed, with who closed it.
    pub closure: Option<(Closure, String)>,
}

/// Runs after the change is durable (or has failed): answers, publishes.
pub type Continuation = Box<dyn FnOnce(Result<(), WriteFailed>) + Send>;

/// A change on its way to the disk.
pub struct Write {
    /// The engine's epoch when it made the change (see the module documentation).
    pub epoch: u64,
    pub change: Change,
    pub then: Continuation,
}

/// The newest epoch whose writes failed (0: none).
pub type FailedEpoch = Arc<AtomicU64>;

/// Starts the writer thread. It ends when every sender of `writes` is dropped, after writing
/// what was sent. Each transaction's time to its commit goes into `latency`.
pub fn spawn_writer(
    mut conn: Connection,
    mut writes: mpsc::Receiver<Write>,
    failed: FailedEpoch,
    latency: Arc<CommitLatency>,
) -> std::io::Result<JoinHandle<()>> {
    std::thread::Builder::new().name("dawr-writer".into()).spawn(move || {
        let _essential = EssentialThread("dawr-writer");
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = writes.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match writes.try_recv() {
                    Ok(w) => batch.push(w),
                    Err(_) => break,
                }
            }
            let failed_epoch = failed.load(Ordering::Acquire);
            let (stale, fresh): (Vec<_>, Vec<_>) = batch.drain(..).partition(|w| w.epoch <= failed_epoch);
            for w in stale {
                (w.then)(Err(WriteFailed("an earlier write failed; the hub reloaded its state".into())));
            }
            let result = write_batch(&mut conn, &fresh, &latency).map_err(|e| {
                tracing::error!(error = %e, changes = fresh.len(), "writing to the database failed");
                if let Some(max) = fresh.iter().map(|w| w.epoch).max() {
                    failed.fetch_max(max, Ordering::AcqRel);
                }
                WriteFailed(e.to_string().into())
            });
            for w in fresh {
                (w.then)(result.clone());
            }
        }
        tracing::debug!("writer finished");
    })
}

/// Writes `changes` in one transaction, at once, exactly as the writer thread writes a batch:
/// for a tool that drives a [`Queue`](crate::domain::Queue) itself (the ministry bench's replayed
/// branches), so its database holds what a hub's would.
pub fn write_changes(conn: &mut Connection, changes: Vec<Change>) -> Result<(), StoreError> {
    let batch: Vec<Write> =
        changes.into_iter().map(|change| Write { epoch: 1, change, then: Box::new(|_| ()) }).collect();
    write_batch(conn, &batch, &CommitLatency::default())
}

/// Writes the batch in one transaction; a committed one's time from `BEGIN` to `COMMIT` goes
/// into `latency`.
fn write_batch(conn: &mut Connection, batch: &[Write], latency: &CommitLatency) -> Result<(), StoreError> {
    if batch.iter().all(|w| is_empty(&w.change)) {
        return Ok(());
    }
    let started = std::time::Instant::now();
    let tx = conn.transaction()?;
    // The last number used per (day, service) and the last case sequence per day: only the
    // highest in the batch needs writing.
    let mut numbers: HashMap<(NaiveDate, &str), u32> = HashMap::new();
    let mut case_seqs: HashMap<NaiveDate, u32> = HashMap::new();
    for w in batch {
        write_change(&tx, &w.change)?;
        for (_, recorded) in &w.change.events {
            if let crate::domain::Event::Issued { visit } = &recorded.event {
                let (service, number) = visit.number_parts();
                let last = numbers.entry((visit.local_day, service)).or_default();
                *last = (*last).max(number);
                let last = case_seqs.entry(visit.local_day).or_default();
                *last = (*last).max(visit.case_seq());
            }
        }
    }
    for ((day, service), last) in numbers {
        tx.prepare_cached(
            "INSERT INTO ticket_numbers (local_day, service, last) VALUES (?1, ?2, ?3) \
             ON CONFLICT (local_day, service) DO UPDATE SET last = max(last, excluded.last)",
        )?
        .execute(params![day.to_string(), service, last])?;
    }
    for (day, last) in case_seqs {
        tx.prepare_cached(
            "INSERT INTO case_sequences (local_day, last) VALUES (?1, ?2) \
             ON CONFLICT (local_day) DO UPDATE SET last = max(last, excluded.last)",
        )?
        .execute(params![day.to_string(), last])?;
    }
    tx.commit()?;
    latency.observe(started.elapsed());
    Ok(())
}

fn is_empty(change: &Change) -> bool {
    change.events.is_empty()
        && change.visits.is_empty()
        && change.counters.is_empty()
        && change.command.is_none()
        && change.closure.is_none()
}

/// An event as the `events` table's `payload` keeps it: the event, who was signed in at the
/// counter when there was someone (or whose session issued or cancelled the ticket), and the
/// enrolled device that asked for it over HTTP.
#[derive(serde::Serialize)]
struct EventRecord<'a> {
    #[serde(flatten)]
    event: &'a crate::domain::Event,
    #[serde(skip_serializing_if = "Option::is_none")]
    staff: Option<&'a str>,
    /// The enrolled device that asked for the change over HTTP.
    #[serde(skip_serializing_if = "Option::is_none")]
    device: Option<&'a str>,
}

/// What `command_log` keeps for a ticket request's idempotency key: the visit it issued.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IssuedRequest {
    pub visit: VisitId,
}

fn write_change(tx: &rusqlite::Transaction<'_>, change: &Change) -> Result<(), StoreError> {
    if let (Some((closure, by)), Some(at)) = (&change.closure, change.at) {
        tx.prepare_cached(
            "INSERT INTO day_closures (local_day, service, closed_by, closed_at) VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (local_day, service) DO NOTHING",
        )?
        .execute(params![closure.day.to_string(), closure.service.as_deref().unwrap_or(""), by, ts(at)])?;
    }
    for (seq, recorded) in &change.events {
        // Who was signed in at the counter travels with the event, for the reports.
        let payload = EventRecord {
            event: &recorded.event,
            staff: recorded.staff.as_deref(),
            device: recorded.device.as_deref(),
        };
        let payload = serde_json::to_string(&payload).expect("events serialise");
        tx.prepare_cached(
            "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![
            seq,
            ts(recorded.at),
            recorded.event.kind(),
            recorded.event.visit().map(|v| v as i64),
            recorded.event.counter(),
            payload
        ])?;
        // A rating (and its reason) changes a visit that has already left the live queue.
        match &recorded.event {
            crate::domain::Event::Rated { visit, score, reason, .. } => {
                tx.prepare_cached("UPDATE visits SET rating = ?1, rating_reason = ?2 WHERE id = ?3")?
                    .execute(params![score, reason.as_ref().map(enum_text), *visit as i64])?;
            }
            crate::domain::Event::RatingReasonAdded { visit, reason, .. } => {
                tx.prepare_cached("UPDATE visits SET rating_reason = ?1 WHERE id = ?2")?
                    .execute(params![enum_text(reason), *visit as i64])?;
            }
            _ => {}
        }
    }
    for v in &change.visits {
        tx.prepare_cached(&format!(
            "INSERT INTO visits ({VISIT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24) \
             ON CONFLICT (id) DO UPDATE SET service = excluded.service, arrived_at = excluded.arrived_at, \
             held_at = excluded.held_at, status = excluded.status, counter = excluded.counter, \
             target_counter = excluded.target_counter, called_at = excluded.called_at, started_at = excluded.started_at, \
             ended_at = excluded.ended_at, recalls = excluded.recalls, transfers = excluded.transfers, outcome = excluded.outcome, \
             transfer_note = excluded.transfer_note"
        ))?
        .execute(params![
            v.id as i64,
            v.number,
            v.local_day.to_string(),
            v.service,
            enum_text(&v.priority),
            enum_text(&v.source),
            enum_text(&v.status),
            v.case_ref,
            v.token,
            ts(v.issued_at),
            v.appointment_at.map(ts),
            v.counter,
            v.target_counter,
            v.called_at.map(ts),
            v.started_at.map(ts),
            v.ended_at.map(ts),
            v.recalls,
            v.transfers,
            v.outcome.as_ref().map(enum_text),
            v.transfer_note,
            v.rating,
            v.rating_reason.as_ref().map(enum_text),
            v.arrived_at.map(ts),
            v.held_at.map(ts),
        ])?;
    }
    for (id, rt) in &change.counters {
        tx.prepare_cached(
            "INSERT INTO counters (id, status, current_visit, pause_reason, changed_at, last_visit, last_number, \
             last_ended_at, last_rated, last_open_score, last_rated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, current_visit = excluded.current_visit, \
             pause_reason = excluded.pause_reason, changed_at = excluded.changed_at, last_visit = excluded.last_visit, \
             last_number = excluded.last_number, last_ended_at = excluded.last_ended_at, last_rated = excluded.last_rated, \
             last_open_score = excluded.last_open_score, last_rated_at = excluded.last_rated_at",
        )?
        .execute(params![
            id,
            enum_text(&rt.status),
            rt.current.map(|v| v as i64),
            rt.pause_reason,
            ts(rt.changed_at),
            rt.last_completed.as_ref().map(|l| l.visit as i64),
            rt.last_completed.as_ref().map(|l| l.number.as_str()),
            rt.last_completed.as_ref().map(|l| ts(l.ended_at)),
            rt.last_completed.as_ref().is_some_and(|l| l.rated),
            rt.last_completed.as_ref().and_then(|l| l.open_rating).map(|o| o.score),
            rt.last_completed.as_ref().and_then(|l| l.open_rating).map(|o| ts(o.rated_at)),
        ])?;
    }
    if let Some(cmd) = &change.command {
        tx.prepare_cached(
            "INSERT OR IGNORE INTO command_log (counter, command_id, reply, at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![
            cmd.counter,
            cmd.id,
            cmd.reply_json,
            ts(change.at.unwrap_or_else(crate::clock::now)),
            cmd.body
        ])?;
    }
    Ok(())
}

#[cfg(test)]
mod upgrades;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::branch::tests::small_branch;
    use crate::domain::{CounterAction, IssueRequest, Queue};
    use dawr_protocol::api::{Priority, RatingReason};

    fn write_now(conn: &mut Connection, change: Change) {
        let w = Write { epoch: 1, change, then: Box::new(|r| r.unwrap()) };
        write_batch(conn, &[w], &CommitLatency::default()).unwrap();
    }

    #[test]
    fn a_stored_queue_is_read_back_as_it_was() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut conn = open(&path).unwrap();
        let branch = Arc::new(small_branch());
        // The hub's clock keeps milliseconds, as the columns do.
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
        let mut q = Queue::new(branch.clone(), now);
        let mut seq = 1;
        let mut store = |conn: &mut Connection, q: &Queue, done: crate::domain::queue::Done| {
            let counters =
                done.counters.iter().map(|&c| (branch.counters[c].id.clone(), q.counter(c).clone())).collect();
            let events = done
                .events
                .into_iter()
                .map(|e| {
                    seq += 1;
                    (seq, e)
                })
                .collect();
            write_now(
                conn,
                Change { events, visits: done.visits, counters, command: None, at: Some(now), closure: None },
            );
        };
        for (i, s) in ["A", "B", "A"].into_iter().enumerate() {
            let req = IssueRequest {
                service: s.into(),
                priority: Priority::Normal,
                appointment_at: None,
                token: format!("t{i}"),
            };
            let (done, _) = q.issue(req, now).unwrap();
            store(&mut conn, &q, done);
        }
        let done = q.counter_action("2", CounterAction::Next { outcome: None }, now).unwrap();
        store(&mut conn, &q, done);
        drop(conn);

        let conn = open(&path).unwrap();
        let snapshot = load_snapshot(&conn).unwrap();
        let mut live: Vec<_> = q.visits().cloned().collect();
        live.sort_by_key(|v| v.id);
        assert_eq!(snapshot.visits, live);
        assert_eq!(snapshot.next_id, 4);
        assert_eq!(snapshot.case_seqs, vec![(live[0].local_day, 3)]);
        let mut numbers = snapshot.numbers.clone();
        numbers.sort();
        assert_eq!(numbers.iter().map(|(_, s, n)| (s.as_str(), *n)).collect::<Vec<_>>(), [("A", 2), ("B", 1)]);
        assert_eq!(snapshot.counters.len(), 1);
        let calls = recent_calls(&conn, 10).unwrap();
        assert_eq!((calls[0].number.as_str(), calls[0].counter.as_str()), ("A001", "2"));
        assert_eq!(next_event_seq(&conn).unwrap(), 6);
    }

    #[test]
    fn a_score_waiting_for_its_reason_survives_a_restart_and_its_reason_joins_the_visit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut conn = open(&path).unwrap();
        let branch = Arc::new(small_branch());
        let now = chrono::SubsecRound::trunc_subsecs(Utc::now(), 3);
        let mut q = Queue::new(branch.clone(), now);
        let mut seq = 0;
        let mut store = |conn: &mut Connection, q: &Queue, done: crate::domain::queue::Done| {
            let counters =
                done.counters.iter().map(|&c| (branch.counters[c].id.clone(), q.counter(c).clone())).collect();
            let events = done
                .events
                .into_iter()
                .map(|e| {
                    seq += 1;
                    (seq, e)
                })
                .collect();
            write_now(
                conn,
                Change { events, visits: done.visits, counters, command: None, at: Some(now), closure: None },
            );
        };
        let req =
            IssueRequest { service: "A".into(), priority: Priority::Normal, appointment_at: None, token: "t".into() };
        let (done, visit) = q.issue(req, now).unwrap();
        store(&mut conn, &q, done);
        let done = q.counter_action("2", CounterAction::Next { outcome: None }, now).unwrap();
        store(&mut conn, &q, done);
        let done = q.counter_action("2", CounterAction::Complete { outcome: None }, now).unwrap();
        store(&mut conn, &q, done);
        let (done, _) = q.rate("2", 1, None, now).unwrap();
        store(&mut conn, &q, done);
        drop(conn);

        // After a restart the score still waits for its reason, and takes it.
        let mut conn = open(&path).unwrap();
        let (mut q, _) = Queue::restore(branch.clone(), load_snapshot(&conn).unwrap(), now);
        assert_eq!(q.rating_awaiting_reason("2", now).map(|(r, score)| (r.visit, score)), Some((visit, 1)));
        let stored = read_visit(&conn, visit).unwrap().unwrap();
        assert_eq!((stored.rating, stored.rating_reason), (Some(1), None));
        let (done, _) = q.add_rating_reason("2", visit, RatingReason::NotResolved, now).unwrap();
        store(&mut conn, &q, done);
        let stored = read_visit(&conn, visit).unwrap().unwrap();
        assert_eq!((stored.rating, stored.rating_reason), (Some(1), Some(RatingReason::NotResolved)));
        let (q, _) = Queue::restore(branch, load_snapshot(&conn).unwrap(), now);
        assert_eq!(q.rating_awaiting_reason("2", now), None, "a reason, once");
    }

    #[test]
    fn a_failed_write_refuses_the_rest_of_its_epoch() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join(FILE_NAME)).unwrap();
        let failed = FailedEpoch::default();
        let (tx, rx) = mpsc::channel(16);
        let writer = spawn_writer(conn, rx, failed.clone(), Arc::default()).unwrap();
        let (results_tx, results_rx) = std::sync::mpsc::channel();
        let send = |epoch: u64, change: Change, label: &'static str| {
            let results_tx = results_tx.clone();
            tx.blocking_send(Write {
                epoch,
                change,
                then: Box::new(move |r| results_tx.send((label, r.is_ok())).unwrap()),
            })
            .unwrap();
        };
        let event = |seq: i64| {
            let recorded = Recorded {
                at: Utc::now(),
                event: crate::domain::Event::CounterResumed { counter: "1".into() },
                staff: None,
                device: None,
            };
            Change { events: vec![(seq, recorded)], ..Change::default() }
        };
        send(1, event(1), "first");
        assert_eq!(results_rx.recv().unwrap(), ("first", true));
        // The same sequence number again violates the primary key: the write fails.
        send(1, event(1), "duplicate");
        assert_eq!(results_rx.recv().unwrap(), ("duplicate", false));
        assert_eq!(failed.load(Ordering::Acquire), 1);
        send(1, event(2), "stale");
        assert_eq!(results_rx.recv().unwrap(), ("stale", false));
        send(2, event(2), "next epoch");
        assert_eq!(results_rx.recv().unwrap(), ("next epoch", true));
        drop(tx);
        writer.join().unwrap();
    }

    #[test]
    fn the_database_is_opened_for_durability() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join(FILE_NAME)).unwrap();
        let synchronous: i64 = conn.query_row("PRAGMA synchronous", [], |r| r.get(0)).unwrap();
        assert_eq!(synchronous, 2, "FULL: a commit is on the disk before it is acknowledged");
        let journal: String = conn.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(journal, "wal");
        let foreign_keys: i64 = conn.query_row("PRAGMA foreign_keys", [], |r| r.get(0)).unwrap();
        assert_eq!(foreign_keys, 1);
    }

    /// Every connection the hub opens goes through [`open`] (so each has `synchronous=FULL`):
    /// no other file of the hub opens SQLite itself.
    #[test]
    fn every_connection_of_the_hub_is_opened_here() {
        fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    sources(&path, out);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push(path);
                }
            }
        }
        let mut files = Vec::new();
        sources(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut files);
        assert!(files.len() > 10);
        let opener = ["Connection", "::open"].concat();
        // `store/upgrades.rs` opens earlier schemas' fixtures as they are, without migrating them.
        for file in files.iter().filter(|f| !f.ends_with("store.rs") && !f.ends_with("store/upgrades.rs")) {
            let text = std::fs::read_to_string(file).unwrap();
            assert!(!text.contains(&opener), "{} opens SQLite without store::open", file.display());
        }
    }

    /// A transaction that reads and then writes (the CRM feeder) while another connection
    /// commits: it takes the write lock first, so the other waits, instead of being refused
    /// "database is locked" for a stale snapshot (issue #17, seen in the hub's log under load).
    #[test]
    fn a_transaction_that_reads_then_writes_is_not_refused_when_another_commits_meanwhile() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let mut feeder = open(&path).unwrap();
        let other = open(&path).unwrap();
        let (began_tx, began) = std::sync::mpsc::channel();
        let (committed_tx, committed) = std::sync::mpsc::channel();
        let writer = std::thread::spawn(move || {
            began.recv().unwrap();
            let sql = "INSERT INTO device_presence (device, status, seen_at) VALUES ('board-1', 'online', 'now')";
            other.execute(sql, []).unwrap();
            committed_tx.send(()).unwrap();
        });
        let tx = feeder.transaction().unwrap();
        let cursor: Option<i64> =
            tx.query_row("SELECT last_seq FROM crm_cursor WHERE id = 1", [], |r| r.get(0)).optional().unwrap();
        assert_eq!(cursor, None);
        began_tx.send(()).unwrap();
        // A deferred transaction lets the other commit now; an immediate one makes it wait.
        let other_committed = committed.recv_timeout(std::time::Duration::from_millis(300)).is_ok();
        let written = tx.execute("INSERT INTO crm_cursor (id, last_seq) VALUES (1, 3)", []);
        assert!(written.is_ok(), "the feeder's write: {written:?}");
        tx.commit().unwrap();
        assert!(!other_committed, "the other connection waited for the write lock");
        writer.join().unwrap();
    }

    /// A batch that mixes a failed epoch's changes with the next epoch's: the old ones are
    /// refused without touching the disk, the new ones are written.
    #[test]
    fn a_batch_mixing_epochs_refuses_only_the_failed_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let conn = open(&path).unwrap();
        let failed = FailedEpoch::default();
        failed.store(3, Ordering::Release);
        let (tx, rx) = mpsc::channel(16);
        let (results_tx, results_rx) = std::sync::mpsc::channel();
        let event = |seq: i64| {
            let recorded = Recorded {
                at: Utc::now(),
                event: crate::domain::Event::CounterResumed { counter: "1".into() },
                staff: None,
                device: None,
            };
            Change { events: vec![(seq, recorded)], ..Change::default() }
        };
        // All queued before the writer starts, so it takes them as one batch.
        for (epoch, seq) in [(3, 1), (4, 2), (3, 3), (4, 4)] {
            let results_tx = results_tx.clone();
            let then: Continuation = Box::new(move |r| results_tx.send((seq, r.is_ok())).unwrap());
            tx.blocking_send(Write { epoch, change: event(seq), then }).unwrap();
        }
        drop(tx);
        let latency = Arc::new(CommitLatency::default());
        spawn_writer(conn, rx, failed.clone(), latency.clone()).unwrap().join().unwrap();
        assert_eq!(latency.snapshot().count, 1, "the fresh changes, one transaction, measured once");
        let mut results: Vec<(i64, bool)> = results_rx.try_iter().collect();
        results.sort();
        assert_eq!(results, [(1, false), (2, true), (3, false), (4, true)]);
        let conn = open(&path).unwrap();
        let stored: Vec<i64> = conn
            .prepare("SELECT seq FROM events ORDER BY seq")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        assert_eq!(stored, [2, 4]);
        assert_eq!(failed.load(Ordering::Acquire), 3, "nothing new failed");
    }
}
