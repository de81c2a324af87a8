//! The CRM connector: for a ministry that already runs a CRM, every case event is delivered as a
//! signed JSON webhook, through an outbox in the hub's database.
//!
//! - **What is sent.** Each visit event of the log (`issued`, `called`, `started`, `completed`,
//!   `no_show`, `transferred`, `cancelled`, `rated`, `rating_reason_added`, …) and each change
//!   staff write on a case (`case_noted`), as `{"event_id", "branch", "case_ref", "kind", "at",
//!   "event"}`. A low score rated without a reason says so (`"reason": "no_reason_given"`); if
//!   the visitor gives one later, `rating_reason_added` follows.
//! - **Nothing lost.** A *feeder* copies new log events into `crm_outbox` (a cursor remembers the
//!   last event sequence copied); a case change is put in the outbox in the transaction that
//!   stores it. Rows stay until the CRM answers 2xx, across restarts of either side.
//! - **In order.** One delivery at a time, oldest first: a case's events arrive in the order they
//!   happened (a failing delivery is retried, with back-off, before anything after it).
//! - **At least once.** A delivery whose answer was lost is sent again with the same
//!   `event_id`; the CRM drops what it has seen.
//! - **Signed, with the time.** `X-Dawr-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//!   "t.body" with the shared secret>` (signature version 2 of the webhook; the receiver's rule
//!   and a function that applies it are in [`dawr_protocol::api::crm::verify_signature`]).
//! - **Over HTTPS** when the URL is `https://` (a private CA in `[crm] ca_file`).
//! - **Visible.** Pending count, the oldest pending event and the last error are shown to
//!   managers (`status`, on the dashboard).
use std::time::Duration;

use chrono::{DateTime, Utc};
/// What managers see of the connector (`GET /api/v1/crm/status`).
pub use dawr_protocol::api::crm::CrmStatus;
use dawr_protocol::api::crm::{CaseChange, CaseEvent};
use rusqlite::{Connection, OptionalExtension, params};

use crate::domain::Event;
use crate::store::ts;

/// Where and how case events are delivered.
#[derive(Debug, Clone)]
pub struct CrmLink {
    pub url: String,
    pub secret: String,
    /// How long one delivery may take before it counts as failed.
    pub timeout: Duration,
    /// The longest wait between retries.
    pub max_backoff: Duration,
    /// A private CA the CRM's certificate chains to (`[crm] ca_file`).
    pub ca_file: Option<std::path::PathBuf>,
}

/// One event waiting in the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    pub id: i64,
    pub event_id: String,
    pub body: String,
}

/// The signature header's value for `body` sent now (the real time, not the shiftable clock:
/// the receiver checks it against its own).
pub fn signature(secret: &str, body: &[u8]) -> String {
    dawr_protocol::api::crm::sign(secret.as_bytes(), Utc::now().timestamp(), body)
}

/// Copies the log's events after the cursor into the outbox (events about a visit only);
/// returns how many. Call it inside the transaction of anything else put in the outbox, so the
/// outbox keeps the order the hub learned things in.
pub fn feed(conn: &Connection, branch: &str) -> rusqlite::Result<usize> {
    let last: i64 =
        conn.query_row("SELECT last_seq FROM crm_cursor WHERE id = 1", [], |r| r.get(0)).optional()?.unwrap_or(0);
    let mut select = conn.prepare_cached(
        "SELECT e.seq, e.at, e.kind, e.payload, v.case_ref FROM events e JOIN visits v ON v.id = e.visit_id
         WHERE e.seq > ?1 ORDER BY e.seq LIMIT 1000",
    )?;
    let rows: Vec<(i64, String, String, String, String)> = select
        .query_map(params![last], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?
        .collect::<rusqlite::Result<_>>()?;
    // Events without a visit (counter paused, …) move the cursor too.
    let newest: Option<i64> =
        conn.query_row("SELECT MAX(seq) FROM events WHERE seq > ?1", params![last], |r| r.get(0))?;
    let copied = rows.len();
    let mut upto = last;
    for (seq, at, kind, payload, case_ref) in rows {
        let event_id = format!("{branch}-e{seq}");
        put(conn, branch, &event_id, &case_ref, &at, &kind, &payload)?;
        upto = seq;
    }
    let cursor = if copied < 1000 { newest.unwrap_or(upto).max(upto) } else { upto };
    conn.execute(
        "INSERT INTO crm_cursor (id, last_seq) VALUES (1, ?1) ON CONFLICT (id) DO UPDATE SET last_seq = ?1",
        params![cursor],
    )?;
    Ok(copied)
}

fn put(
    conn: &Connection,
    branch: &str,
    event_id: &str,
    case_ref: &str,
    at: &str,
    kind: &str,
    payload: &str,
) -> rusqlite::Result<()> {
    let mut event: serde_json::Value = serde_json::from_str(payload).unwrap_or(serde_json::Value::Null);
    say_when_no_reason_was_given(&mut event);
    let body = CaseEvent {
        event_id: event_id.into(),
        branch: branch.into(),
        case_ref: case_ref.into(),
        kind: kind.into(),
        at: at.into(),
        event,
    };
    let body = serde_json::to_string(&body).expect("a case event serialises");
    conn.prepare_cached(
        "INSERT OR IGNORE INTO crm_outbox (event_id, case_ref, at, kind, body) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![event_id, case_ref, at, kind, body])?;
    Ok(())
}

/// A low score rated without a reason is reported as such to the CRM, as in the reports.
fn say_when_no_reason_was_given(event: &mut serde_json::Value) {
    let unexplained = matches!(
        serde_json::from_value::<Event>(event.clone()),
        Ok(Event::Rated { score, reason: None, .. }) if crate::reports::is_low(score)
    );
    if let (true, Some(fields)) = (unexplained, event.as_object_mut()) {
        fields.insert("reason".into(), crate::reports::NO_REASON_GIVEN.into());
    }
}

/// Puts a change staff made on a case into the outbox (after feeding the log, so it follows the
/// visit's own events).
pub fn put_case_change(
    conn: &Connection,
    branch: &str,
    case_ref: &str,
    at: DateTime<Utc>,
    change: &CaseChange,
) -> rusqlite::Result<()> {
    feed(conn, branch)?;
    let next: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM crm_outbox", [], |r| r.get(0))?;
    let change = serde_json::to_string(change).expect("a case change serialises");
    put(conn, branch, &format!("{branch}-n{next}"), case_ref, &ts(at), "case_noted", &change)
}

/// The oldest undelivered event.
pub fn next_pending(conn: &Connection) -> rusqlite::Result<Option<Pending>> {
    conn.prepare_cached("SELECT id, event_id, body FROM crm_outbox WHERE delivered_at IS NULL ORDER BY id LIMIT 1")?
        .query_row([], |r| Ok(Pending { id: r.get(0)?, event_id: r.get(1)?, body: r.get(2)? }))
        .optional()
}

pub fn mark_delivered(conn: &Connection, id: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE crm_outbox SET delivered_at = ?2, attempts = attempts + 1, last_attempt_at = ?2, last_error = NULL
         WHERE id = ?1",
        params![id, ts(now)],
    )?;
    Ok(())
}

pub fn record_failure(conn: &Connection, id: i64, error: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE crm_outbox SET attempts = attempts + 1, last_error = ?2, last_attempt_at = ?3 WHERE id = ?1",
        params![id, error, ts(now)],
    )?;
    Ok(())
}

/// The connector's outbox, for managers (`enabled` is left false: whether the hub has a
/// connector is the caller's to say).
pub fn status(conn: &Connection) -> rusqlite::Result<CrmStatus> {
    let (pending, delivered): (i64, i64) = conn.query_row(
        "SELECT COUNT(*) FILTER (WHERE delivered_at IS NULL), COUNT(*) FILTER (WHERE delivered_at IS NOT NULL) FROM crm_outbox",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    let head = conn
        .query_row(
            "SELECT at, attempts, last_error, last_attempt_at FROM crm_outbox WHERE delivered_at IS NULL ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()?;
    let (oldest_pending_at, attempts, last_error, last_attempt_at) = match head {
        Some((at, attempts, error, last)) => (Some(at), attempts, error, last),
        None => (None, 0, None, None),
    };
    Ok(CrmStatus { enabled: false, pending, oldest_pending_at, attempts, last_error, last_attempt_at, delivered })
}

/// Delivers one event; `Err` says why it did not count as delivered.
async fn deliver(client: &reqwest::Client, link: &CrmLink, pending: &Pending) -> Result<(), String> {
    let response = client
        .post(&link.url)
        .header("content-type", "application/json")
        .header("x-dawr-event-id", &pending.event_id)
        .header("x-dawr-signature", signature(&link.secret, pending.body.as_bytes()))
        .body(pending.body.clone())
        .send()
        .await
        .map_err(|e| if e.is_timeout() { "timed out".to_string() } else { crate::outbound::describe(&e) })?;
    if response.status().is_success() { Ok(()) } else { Err(format!("the CRM answered {}", response.status())) }
}

/// Feeds and delivers until the hub stops (abort the handle).
pub fn spawn(link: CrmLink, branch: String, db: dawr_web::Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match crate::outbound::client(link.timeout, link.ca_file.as_deref()) {
            Ok(client) => client,
            Err(e) => {
                tracing::error!(error = %e, "the CRM connector cannot start");
                return;
            }
        };
        let mut backoff = Duration::from_millis(250);
        loop {
            let branch_id = branch.clone();
            let next = db
                .write(move |conn| -> rusqlite::Result<Option<Pending>> {
                    let tx = conn.transaction()?;
                    feed(&tx, &branch_id)?;
                    tx.commit()?;
                    next_pending(conn)
                })
                .await;
            let pending = match next {
                Ok(Ok(Some(pending))) => pending,
                Ok(Ok(None)) => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                    continue;
                }
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the CRM outbox could not be read");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => return,
            };
            let outcome = deliver(&client, &link, &pending).await;
            let failed = outcome.clone().err();
            let _ = db
                .write(move |conn| match &outcome {
                    Ok(()) => mark_delivered(conn, pending.id, Utc::now()),
                    Err(error) => record_failure(conn, pending.id, error, Utc::now()),
                })
                .await;
            match failed {
                None => backoff = Duration::from_millis(250),
                Some(error) => {
                    tracing::warn!(%error, event = %pending.event_id, retry_in = ?backoff, "CRM delivery failed");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(link.max_backoff);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delivery_is_signed_now_over_the_time_and_the_body() {
        let body = br#"{"event_id":"demo-e1"}"#;
        let header = signature("the-secret", body);
        let now = Utc::now().timestamp();
        let t = dawr_protocol::api::crm::verify_signature(&[b"the-secret"], &header, body, now).unwrap();
        assert!((now - t).abs() <= 2, "signed at {t}, now {now}");
    }

    #[test]
    fn the_outbox_takes_each_event_once_in_order_and_keeps_it_until_delivered() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        conn.execute(
            "INSERT INTO visits (id, number, local_day, service, priority, source, status, case_ref, token, issued_at,
                 recalls, transfers) VALUES (1, 'A001', '2026-11-23', 'A', 'normal', 'walk_in', 'done', 'C-1', 't', 'x', 0, 0)",
            [],
        )
        .unwrap();
        let event = |seq: i64, kind: &str, visit: Option<i64>| {
            conn.execute(
                "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, '2026-11-23T05:00:00.000Z', ?2, ?3, NULL, ?4)",
                params![seq, kind, visit, format!(r#"{{"kind":"{kind}"}}"#)],
            )
            .unwrap();
        };
        event(1, "issued", Some(1));
        event(2, "counter_paused", None);
        event(3, "called", Some(1));
        assert_eq!(feed(&conn, "demo").unwrap(), 2);
        assert_eq!(feed(&conn, "demo").unwrap(), 0, "each event once");
        let rated = CaseChange::ResolutionRated { resolution_rating: 4 };
        put_case_change(&conn, "demo", "C-1", Utc::now(), &rated).unwrap();
        event(4, "completed", Some(1));
        assert_eq!(feed(&conn, "demo").unwrap(), 1);

        let mut kinds = Vec::new();
        while let Some(p) = next_pending(&conn).unwrap() {
            let body: CaseEvent = serde_json::from_str(&p.body).unwrap();
            assert_eq!(body.event_id, p.event_id);
            assert_eq!(body.case_ref, "C-1");
            if kinds.is_empty() {
                record_failure(&conn, p.id, "the CRM answered 500", Utc::now()).unwrap();
                let s = status(&conn).unwrap();
                assert_eq!((s.pending, s.attempts, s.last_error.as_deref()), (4, 1, Some("the CRM answered 500")));
                assert_eq!(next_pending(&conn).unwrap().unwrap().id, p.id, "a failed event stays first");
            }
            kinds.push(body.kind);
            mark_delivered(&conn, p.id, Utc::now()).unwrap();
        }
        assert_eq!(kinds, ["issued", "called", "case_noted", "completed"]);
        assert_eq!(status(&conn).unwrap().delivered, 4);
    }

    #[test]
    fn a_low_score_without_a_reason_reaches_the_crm_as_no_reason_given() {
        let rated = |score: u8, reason: Option<&str>| {
            let mut event = serde_json::to_value(Event::Rated {
                visit: 1,
                counter: "2".into(),
                score,
                reason: reason.map(|r| serde_json::from_value(r.into()).unwrap()),
            })
            .unwrap();
            say_when_no_reason_was_given(&mut event);
            event.get("reason").cloned().unwrap_or_default()
        };
        assert_eq!(rated(1, None), "no_reason_given");
        assert_eq!(rated(2, Some("other")), "other");
        assert_eq!(rated(5, None), serde_json::Value::Null, "a good score is asked no reason");
    }
}
