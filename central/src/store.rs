//! The centre's PostgreSQL, and the only SQL of the centre: the schema, the batch insert,
//! completeness per branch log, branch profiles, a branch's events for a report, and the
//! branches' case notes.
use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, Utc};
use dawr_hub::reports::replay::LoggedEvent;
use dawr_protocol::api::ministry::{
    BranchDay, LiveBoard, LiveCounters, LiveDevices, LiveHealth, LogCompleteness, ServiceTarget, UplinkCaseNote,
};
use tokio_postgres::types::Json;
use tokio_postgres::{GenericClient, Transaction};

use crate::batch::{Row, next_month, partition_name};

/// The schema; every statement can run again.
const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS events (
    branch      text        NOT NULL,
    log_id      text        NOT NULL,
    seq         bigint      NOT NULL,
    at          timestamptz NOT NULL,
    kind        text        NOT NULL,
    visit_id    bigint,
    counter     text,
    payload     jsonb       NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    -- A partitioned table's key holds its partition key; an event's time never changes, so
    -- this is the key (branch, log_id, seq).
    PRIMARY KEY (branch, log_id, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX IF NOT EXISTS events_visit ON events (branch, log_id, visit_id);
CREATE INDEX IF NOT EXISTS events_issued_day ON events (branch, ((payload->'visit'->>'local_day')))
    WHERE kind = 'issued';
CREATE TABLE IF NOT EXISTS branches (
    branch         text PRIMARY KEY,
    log_id         text,
    utc_offset_s   integer NOT NULL,
    targets        jsonb   NOT NULL,
    last_seq       bigint  NOT NULL,
    acked_seq      bigint  NOT NULL,
    last_health_at timestamptz NOT NULL
);
ALTER TABLE branches ADD COLUMN IF NOT EXISTS config_revision bigint;
ALTER TABLE branches ADD COLUMN IF NOT EXISTS config_refused jsonb;
ALTER TABLE branches ADD COLUMN IF NOT EXISTS board jsonb;
ALTER TABLE branches ADD COLUMN IF NOT EXISTS counters jsonb;
ALTER TABLE branches ADD COLUMN IF NOT EXISTS devices jsonb;
-- A branch-day's figures (the summary of the visits issued that local day), computed once the
-- day is over, and again when events of it arrive late (`provisional` until then). `received`
-- counts every event stored for the day, so a computation that raced an insert stays
-- provisional; `late_events` counts those that came after the first computation.
CREATE TABLE IF NOT EXISTS branch_days (
    branch       text    NOT NULL,
    day          date    NOT NULL,
    summary      jsonb,
    computed_at  timestamptz,
    revisions    integer NOT NULL DEFAULT 0,
    provisional  boolean NOT NULL DEFAULT false,
    received     bigint  NOT NULL DEFAULT 0,
    late_events  bigint  NOT NULL DEFAULT 0,
    PRIMARY KEY (branch, day)
);
-- Every configuration change made on the central dashboard: who, when, the revision it became
-- in `dawr_config`, and what changed.
CREATE TABLE IF NOT EXISTS config_changes (
    id       bigserial   PRIMARY KEY,
    branch   text        NOT NULL,
    revision bigint      NOT NULL,
    author   text        NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    changes  jsonb       NOT NULL
);
CREATE INDEX IF NOT EXISTS config_changes_branch ON config_changes (branch, id);
-- What staff wrote on each case at the branches, as it stands (the newest change received:
-- a later `updated_at`, or the same with a higher `seq`).
CREATE TABLE IF NOT EXISTS case_notes (
    branch      text        NOT NULL,
    case_ref    text        NOT NULL,
    log_id      text        NOT NULL,
    seq         bigint      NOT NULL,
    category    text,
    notes       text        NOT NULL,
    closed_at   timestamptz,
    closed_by   text,
    updated_at  timestamptz NOT NULL,
    updated_by  text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (branch, case_ref)
);
";

/// The centre's PostgreSQL failed: no connection from the pool, or a statement.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("PostgreSQL: no connection: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("PostgreSQL: {0}")]
    Statement(#[from] tokio_postgres::Error),
}

/// A branch's local day of an event: its time at the branch's offset (Riyadh's, +03:00, before
/// the branch has said).
const EVENT_DAY: &str = "(n.at + make_interval(secs => COALESCE(b.utc_offset_s, 10800)))::date";

/// Makes the tables if they are missing.
pub async fn migrate(client: &impl GenericClient) -> Result<(), tokio_postgres::Error> {
    client.batch_execute(SCHEMA).await
}

/// Makes the monthly partitions these months need (`known` remembers those made already).
pub async fn ensure_partitions(
    client: &impl GenericClient,
    months: BTreeSet<NaiveDate>,
    known: &mut BTreeSet<NaiveDate>,
) -> Result<(), tokio_postgres::Error> {
    for month in months.difference(&known.clone()) {
        let statement = format!(
            "CREATE TABLE IF NOT EXISTS {} PARTITION OF events FOR VALUES FROM ('{month}T00:00:00Z') TO ('{}T00:00:00Z')",
            partition_name(*month),
            next_month(*month)
        );
        client.batch_execute(&statement).await?;
        known.insert(*month);
    }
    Ok(())
}

/// Inserts a batch in the caller's transaction; returns how many were new (the rest the centre
/// had: sent again after a lost acknowledgement or a cut link).
pub async fn insert(tx: &Transaction<'_>, rows: &[Row]) -> Result<u64, tokio_postgres::Error> {
    let mut branch = Vec::with_capacity(rows.len());
    let mut log_id = Vec::with_capacity(rows.len());
    let mut seq = Vec::with_capacity(rows.len());
    let mut at = Vec::with_capacity(rows.len());
    let mut kind = Vec::with_capacity(rows.len());
    let mut visit = Vec::with_capacity(rows.len());
    let mut counter = Vec::with_capacity(rows.len());
    let mut payload = Vec::with_capacity(rows.len());
    for row in rows {
        let e = &row.event;
        branch.push(e.branch.as_str());
        log_id.push(e.log_id.as_str());
        seq.push(e.seq);
        at.push(e.at.as_str());
        kind.push(e.kind.as_str());
        visit.push(e.visit_id);
        counter.push(e.counter.as_deref());
        payload.push(&e.payload);
    }
    let sql = format!(
        "WITH new AS (
             INSERT INTO events (branch, log_id, seq, at, kind, visit_id, counter, payload)
             SELECT b, l, s, a::timestamptz, k, v, c, p
             FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::text[], $5::text[], $6::int8[], $7::text[], $8::jsonb[])
                  AS t(b, l, s, a, k, v, c, p)
             ON CONFLICT DO NOTHING
             RETURNING branch, at
         ), days AS (
             SELECT n.branch, {EVENT_DAY} AS day, count(*) AS n
             FROM new n LEFT JOIN branches b ON b.branch = n.branch GROUP BY 1, 2
         ), marked AS (
             -- In key order: the live and the catch-up writer may mark one branch's days at
             -- once, and rows locked in the same order never deadlock.
             INSERT INTO branch_days (branch, day, received) SELECT branch, day, n FROM days ORDER BY branch, day
             ON CONFLICT (branch, day) DO UPDATE SET
                 received = branch_days.received + EXCLUDED.received,
                 provisional = branch_days.provisional OR branch_days.summary IS NOT NULL,
                 late_events = branch_days.late_events
                     + CASE WHEN branch_days.summary IS NULL THEN 0 ELSE EXCLUDED.received END
             RETURNING 1
         )
         SELECT (SELECT count(*) FROM new), (SELECT count(*) FROM marked)"
    );
    let row = tx.query_one(&sql, &[&branch, &log_id, &seq, &at, &kind, &visit, &counter, &payload]).await?;
    Ok(row.get::<_, i64>(0) as u64)
}

/// Stores a case change unless the centre has a newer one of the case; returns 1 if it did.
pub async fn put_case_note(tx: &Transaction<'_>, note: &UplinkCaseNote) -> Result<u64, tokio_postgres::Error> {
    tx.execute(
        "INSERT INTO case_notes (branch, case_ref, log_id, seq, category, notes, closed_at, closed_by, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7::text::timestamptz, $8, $9::text::timestamptz, $10)
         ON CONFLICT (branch, case_ref) DO UPDATE SET
             log_id = EXCLUDED.log_id, seq = EXCLUDED.seq, category = EXCLUDED.category, notes = EXCLUDED.notes,
             closed_at = EXCLUDED.closed_at, closed_by = EXCLUDED.closed_by, updated_at = EXCLUDED.updated_at,
             updated_by = EXCLUDED.updated_by, received_at = now()
         WHERE (EXCLUDED.updated_at, EXCLUDED.seq) > (case_notes.updated_at, case_notes.seq)",
        &[
            &note.branch,
            &note.case_ref,
            &note.log_id,
            &note.seq,
            &note.category,
            &note.notes,
            &note.closed_at,
            &note.closed_by,
            &note.updated_at,
            &note.updated_by,
        ],
    )
    .await
}

/// A branch's case notes, the most recently changed first (at most `limit`).
pub async fn case_notes(
    client: &impl GenericClient,
    branch: &str,
    limit: i64,
) -> Result<Vec<UplinkCaseNote>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT branch, log_id, seq, case_ref, category, notes,
                    to_char(closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), closed_by,
                    to_char(updated_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), updated_by
             FROM case_notes WHERE branch = $1 ORDER BY updated_at DESC, case_ref LIMIT $2",
            &[&branch, &limit],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| UplinkCaseNote {
            branch: r.get(0),
            log_id: r.get(1),
            seq: r.get(2),
            case_ref: r.get(3),
            category: r.get(4),
            notes: r.get(5),
            closed_at: r.get(6),
            closed_by: r.get(7),
            updated_at: r.get(8),
            updated_by: r.get(9),
        })
        .collect())
}

/// Every branch log the centre has, with how complete it is (`count == max_seq`: no gap).
pub async fn completeness(client: &impl GenericClient) -> Result<Vec<LogCompleteness>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT branch, log_id, count(*), max(seq) FROM events GROUP BY branch, log_id ORDER BY branch, log_id",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            let (count, max_seq): (i64, i64) = (r.get(2), r.get(3));
            LogCompleteness { branch: r.get(0), log_id: r.get(1), count, max_seq, complete: count == max_seq }
        })
        .collect())
}

/// Keeps a branch's profile and last health; when it was heard of is the centre's clock (a
/// branch's clock may be off, and "offline since" is the centre's view).
pub async fn put_health(client: &impl GenericClient, health: &LiveHealth) -> Result<(), tokio_postgres::Error> {
    client
        .execute(
            "INSERT INTO branches (branch, log_id, utc_offset_s, targets, last_seq, acked_seq, last_health_at,
                 config_revision, config_refused)
             VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8)
             ON CONFLICT (branch) DO UPDATE SET log_id = $2, utc_offset_s = $3, targets = $4, last_seq = $5,
                 acked_seq = $6, last_health_at = now(), config_revision = $7, config_refused = $8",
            &[
                &health.branch,
                &health.log_id,
                &health.utc_offset_s,
                &Json(&health.targets),
                &health.last_seq,
                &health.acked_seq,
                &health.config_revision.map(|r| r as i64),
                &health.config_refused.as_ref().map(Json),
            ],
        )
        .await?;
    Ok(())
}

/// A branch's offset from UTC and service targets, once it has reported its health.
pub async fn profile(
    client: &impl GenericClient,
    branch: &str,
) -> Result<Option<(i32, Vec<ServiceTarget>)>, tokio_postgres::Error> {
    let row = client.query_opt("SELECT utc_offset_s, targets FROM branches WHERE branch = $1", &[&branch]).await?;
    Ok(row.map(|r| (r.get(0), targets(&r, 1))))
}

/// The events of the visits a branch issued on local days `from..=to`, per log.
pub async fn visit_events(
    client: &impl GenericClient,
    branch: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, LoggedEvent)>, tokio_postgres::Error> {
    let rows = client
        .query(
            "WITH chosen AS (
                 SELECT DISTINCT log_id, visit_id FROM events
                 WHERE branch = $1 AND kind = 'issued' AND payload->'visit'->>'local_day' BETWEEN $2 AND $3
             )
             SELECT e.log_id, e.seq, to_char(e.at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"'), e.counter, e.payload
             FROM events e JOIN chosen c ON c.log_id = e.log_id AND c.visit_id = e.visit_id
             WHERE e.branch = $1 ORDER BY e.log_id, e.seq",
            &[&branch, &from.to_string(), &to.to_string()],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            let at: String = r.get(2);
            let at = DateTime::parse_from_rfc3339(&at).ok()?.with_timezone(&Utc);
            Some((r.get(0), LoggedEvent { seq: r.get(1), at, counter: r.get(3), payload: r.get(4) }))
        })
        .collect())
}

/// A branch-day waiting for its figures: never computed (and over), or provisional.
#[derive(Debug, Clone)]
pub struct DueDay {
    pub branch: String,
    pub day: NaiveDate,
    pub utc_offset_s: i32,
    pub targets: Vec<ServiceTarget>,
    /// `received` when it was picked: if more arrive meanwhile, the day stays provisional.
    pub received: i64,
}

/// Up to `limit` branch-days whose figures are due.
pub async fn due_days(client: &impl GenericClient, limit: i64) -> Result<Vec<DueDay>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT d.branch, d.day::text, b.utc_offset_s, b.targets, d.received
             FROM branch_days d JOIN branches b ON b.branch = d.branch
             WHERE d.provisional
                OR (d.summary IS NULL AND d.day < (now() + make_interval(secs => b.utc_offset_s))::date)
             ORDER BY d.day, d.branch LIMIT $1",
            &[&limit],
        )
        .await?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some(DueDay {
                branch: r.get(0),
                day: r.get::<_, String>(1).parse().ok()?,
                utc_offset_s: r.get(2),
                targets: targets(r, 3),
                received: r.get(4),
            })
        })
        .collect())
}

/// Stores a branch-day's figures; it stays provisional if events of it arrived meanwhile.
pub async fn put_day(
    client: &impl GenericClient,
    due: &DueDay,
    summary: &dawr_hub::reports::Summary,
) -> Result<(), tokio_postgres::Error> {
    let summary = Json(summary);
    client
        .execute(
            "UPDATE branch_days SET summary = $3, computed_at = now(), revisions = revisions + 1,
                 provisional = (received <> $4)
             WHERE branch = $1 AND day = $2::text::date",
            &[&due.branch, &due.day.to_string(), &summary, &due.received],
        )
        .await?;
    Ok(())
}

/// A branch's computed days from `from` to `to`.
pub async fn days(
    client: &impl GenericClient,
    branch: &str,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<BranchDay>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT branch, day::text, summary, revisions, provisional, late_events FROM branch_days
             WHERE branch = $1 AND day BETWEEN $2::text::date AND $3::text::date AND summary IS NOT NULL
             ORDER BY day",
            &[&branch, &from.to_string(), &to.to_string()],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(BranchDay {
                branch: r.get(0),
                day: r.get(1),
                summary: r.try_get::<_, Json<_>>(2)?.0,
                revisions: r.get::<_, i32>(3) as u32,
                provisional: r.get(4),
                late_events: r.get(5),
            })
        })
        .collect()
}

/// A branch's board, counters or devices, as its hub put them in `dawr_live`.
#[derive(Debug, Clone, PartialEq)]
pub enum LivePart {
    Board(LiveBoard),
    Counters(LiveCounters),
    Devices(LiveDevices),
}

impl LivePart {
    /// The branch the part is of.
    pub fn branch(&self) -> &str {
        match self {
            LivePart::Board(board) => &board.branch,
            LivePart::Counters(counters) => &counters.branch,
            LivePart::Devices(devices) => &devices.branch,
        }
    }
}

/// Keeps a branch's last board, counters or devices, once it has reported its health.
pub async fn put_live_part(client: &impl GenericClient, part: &LivePart) -> Result<(), tokio_postgres::Error> {
    let branch = part.branch();
    match part {
        LivePart::Board(board) => {
            client.execute("UPDATE branches SET board = $2 WHERE branch = $1", &[&branch, &Json(board)]).await?
        }
        LivePart::Counters(counters) => {
            client.execute("UPDATE branches SET counters = $2 WHERE branch = $1", &[&branch, &Json(counters)]).await?
        }
        LivePart::Devices(devices) => {
            client.execute("UPDATE branches SET devices = $2 WHERE branch = $1", &[&branch, &Json(devices)]).await?
        }
    };
    Ok(())
}

/// A branch as last heard of, for the dashboard.
#[derive(Debug, Clone)]
pub struct BranchLive {
    pub branch: String,
    /// Seconds since its last health.
    pub silent_s: f64,
    pub last_health_at: String,
    pub config_revision: Option<i64>,
    pub config_refused: Option<dawr_protocol::api::ministry::ConfigRefusal>,
    pub board: Option<LiveBoard>,
    pub counters: Option<LiveCounters>,
    pub devices: Option<LiveDevices>,
    pub acked_seq: i64,
    pub last_seq: i64,
}

/// Every branch that ever reported, by id.
pub async fn live_branches(client: &impl GenericClient) -> Result<Vec<BranchLive>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT branch, extract(epoch FROM now() - last_health_at)::float8,
                    to_char(last_health_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    config_revision, config_refused, board, counters, acked_seq, last_seq, devices
             FROM branches ORDER BY branch",
            &[],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| BranchLive {
            branch: r.get(0),
            silent_s: r.get(1),
            last_health_at: r.get(2),
            config_revision: r.get(3),
            config_refused: json(r, 4),
            board: json(r, 5),
            counters: json(r, 6),
            acked_seq: r.get(7),
            last_seq: r.get(8),
            devices: json(r, 9),
        })
        .collect())
}

/// A branch's service targets in column `index` (none when they do not read).
fn targets(row: &tokio_postgres::Row, index: usize) -> Vec<ServiceTarget> {
    row.try_get::<_, Json<Vec<ServiceTarget>>>(index).map(|t| t.0).unwrap_or_default()
}

/// A JSON column read as `T` (`None` when empty or not a `T`).
fn json<T: serde::de::DeserializeOwned>(row: &tokio_postgres::Row, index: usize) -> Option<T> {
    row.try_get::<_, Option<Json<T>>>(index).ok().flatten().map(|j| j.0)
}

/// A configuration change made on the central dashboard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigChange {
    pub revision: u64,
    /// The dashboard user's id.
    pub author: String,
    /// RFC 3339 UTC.
    pub at: String,
    /// What changed, a line each (`field: old → new`).
    pub changes: Vec<String>,
}

/// Records a change `author` made to `branch`'s configuration, in the caller's transaction,
/// before its revision is known; returns its id for [`set_change_revision`].
pub async fn record_change(
    tx: &Transaction<'_>,
    branch: &str,
    author: &str,
    changes: &[String],
) -> Result<i64, tokio_postgres::Error> {
    let changes = Json(changes);
    let row = tx
        .query_one(
            "INSERT INTO config_changes (branch, revision, author, changes) VALUES ($1, 0, $2, $3) RETURNING id",
            &[&branch, &author, &changes],
        )
        .await?;
    Ok(row.get(0))
}

/// The revision change `id` became in `dawr_config`.
pub async fn set_change_revision(tx: &Transaction<'_>, id: i64, revision: u64) -> Result<(), tokio_postgres::Error> {
    tx.execute("UPDATE config_changes SET revision = $2 WHERE id = $1", &[&id, &(revision as i64)]).await?;
    Ok(())
}

/// The newest `limit` changes to `branch`'s configuration made on the dashboard, newest first.
pub async fn config_changes(
    client: &impl GenericClient,
    branch: &str,
    limit: i64,
) -> Result<Vec<ConfigChange>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT revision, author, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), changes
             FROM config_changes WHERE branch = $1 ORDER BY id DESC LIMIT $2",
            &[&branch, &limit],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(ConfigChange {
                revision: r.get::<_, i64>(0) as u64,
                author: r.get(1),
                at: r.get(2),
                changes: r.try_get::<_, Json<Vec<String>>>(3)?.0,
            })
        })
        .collect()
}
