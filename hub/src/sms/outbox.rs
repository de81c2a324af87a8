//! The SMS outbox's SQL: messages put in (unless the mobile has opted out), the next ones due
//! (the oldest unsent per mobile, so each mobile's messages go in order), the outcome of a send,
//! delivery receipts, opt-outs, and what managers read.
use chrono::{DateTime, Utc};
use dawr_protocol::api::sms::{SmsMessage, SmsStatus};
use rusqlite::{Connection, OptionalExtension, params};

use crate::store::ts;

/// One message due to be sent.
#[derive(Debug, Clone, PartialEq)]
pub struct Due {
    pub id: i64,
    pub message_id: String,
    pub mobile: String,
    pub kind: String,
    pub body: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
}

/// Kinds of message a mobile's opt-out does not stop: codes the visitor asked for just now.
pub const ASKED_FOR: [&str; 1] = ["otp"];

/// Puts a message in the outbox; `None` if the mobile opted out of this kind.
pub fn put(
    conn: &Connection,
    branch: &str,
    mobile: &str,
    kind: &str,
    body: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<Option<String>> {
    if !ASKED_FOR.contains(&kind) && opted_out(conn, mobile)? {
        return Ok(None);
    }
    let next: i64 = conn.query_row("SELECT COALESCE(MAX(id), 0) + 1 FROM sms_outbox", [], |r| r.get(0))?;
    let message_id = format!("{branch}-sms{next}");
    conn.prepare_cached(
        "INSERT INTO sms_outbox (id, message_id, mobile, kind, body, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
    )?
    .execute(params![next, message_id, mobile, kind, body, ts(now)])?;
    Ok(Some(message_id))
}

fn opted_out(conn: &Connection, mobile: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached("SELECT 1 FROM sms_opt_outs WHERE mobile = ?1")?.exists(params![mobile])
}

/// Up to `limit` messages due at `now`: per mobile only its oldest unsent one, oldest first.
pub fn due(conn: &Connection, now: DateTime<Utc>, limit: usize) -> rusqlite::Result<Vec<Due>> {
    let mut select = conn.prepare_cached(
        "SELECT o.id, o.message_id, o.mobile, o.kind, o.body, o.attempts, o.created_at FROM sms_outbox o
         WHERE o.state IN ('queued', 'sending') AND o.next_attempt_at <= ?1
           AND o.id = (SELECT MIN(p.id) FROM sms_outbox p WHERE p.mobile = o.mobile AND p.state IN ('queued', 'sending'))
         ORDER BY o.id LIMIT ?2",
    )?;
    select
        .query_map(params![ts(now), limit as i64], |r| {
            Ok(Due {
                id: r.get(0)?,
                message_id: r.get(1)?,
                mobile: r.get(2)?,
                kind: r.get(3)?,
                body: r.get(4)?,
                attempts: r.get(5)?,
                created_at: dawr_web::db::parse_ts("created_at", &r.get::<_, String>(6)?).unwrap_or(now),
            })
        })?
        .collect()
}

/// Before a message is handed to the gateway: durably `sending`, one more attempt. A message
/// found `sending` after a crash may have reached the gateway (see the module's note).
pub fn mark_sending(conn: &Connection, id: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE sms_outbox SET state = 'sending', attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, ts(now)])?;
    Ok(())
}

/// The gateway took the message: its id for each part (receipts already in settle it at once).
pub fn mark_submitted(conn: &Connection, id: i64, gateway_ids: &[String], now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE sms_outbox SET state = 'submitted', submitted_at = ?2, parts = ?3, last_error = NULL WHERE id = ?1",
    )?
    .execute(params![id, ts(now), gateway_ids.len() as i64])?;
    let mut part = conn.prepare_cached(
        "INSERT INTO sms_parts (gateway_id, message) VALUES (?1, ?2)
         ON CONFLICT (gateway_id) DO UPDATE SET message = ?2",
    )?;
    for gateway_id in gateway_ids {
        part.execute(params![gateway_id, id])?;
    }
    settle(conn, id, now)
}

/// A send failed: retry at `retry_at`, or give up (`None`).
pub fn mark_failed_attempt(
    conn: &Connection,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    match retry_at {
        Some(at) => conn
            .prepare_cached(
                "UPDATE sms_outbox SET state = 'queued', last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
            )?
            .execute(params![id, error, ts(at)])?,
        None => conn
            .prepare_cached("UPDATE sms_outbox SET state = 'failed', last_error = ?2, done_at = ?3 WHERE id = ?1")?
            .execute(params![id, error, ts(now)])?,
    };
    Ok(())
}

/// A delivery receipt for one part: the message is delivered when every part is, failed as soon
/// as one part is.
pub fn receipt(conn: &Connection, gateway_id: &str, delivered: bool, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let state = if delivered { "delivered" } else { "failed" };
    let message: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO sms_parts (gateway_id, state) VALUES (?1, ?2)
             ON CONFLICT (gateway_id) DO UPDATE SET state = ?2 RETURNING message",
        )?
        .query_row(params![gateway_id, state], |r| r.get(0))?;
    match message {
        Some(message) => settle(conn, message, now),
        None => Ok(()),
    }
}

/// A submitted message's state from its parts' receipts.
fn settle(conn: &Connection, message: i64, now: DateTime<Utc>) -> rusqlite::Result<()> {
    let (parts, delivered_parts, failed_parts): (Option<i64>, i64, i64) = conn.query_row(
        "SELECT (SELECT parts FROM sms_outbox WHERE id = ?1),
                COUNT(*) FILTER (WHERE state = 'delivered'), COUNT(*) FILTER (WHERE state = 'failed')
         FROM sms_parts WHERE message = ?1",
        params![message],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let outcome = if failed_parts > 0 {
        Some(("failed", Some("the operator could not deliver it")))
    } else if parts.is_some_and(|p| delivered_parts >= p) {
        Some(("delivered", None))
    } else {
        None
    };
    if let Some((state, error)) = outcome {
        conn.prepare_cached(
            "UPDATE sms_outbox SET state = ?2, done_at = ?3, last_error = COALESCE(?4, last_error)
             WHERE id = ?1 AND state = 'submitted'",
        )?
        .execute(params![message, state, ts(now), error])?;
    }
    Ok(())
}

/// A mobile asked for no more messages: recorded, and its unsent messages (except codes) end.
pub fn opt_out(conn: &Connection, mobile: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute("INSERT OR IGNORE INTO sms_opt_outs (mobile, at) VALUES (?1, ?2)", params![mobile, ts(now)])?;
    conn.execute(
        "UPDATE sms_outbox SET state = 'failed', last_error = 'the mobile opted out', done_at = ?2
         WHERE mobile = ?1 AND state = 'queued' AND kind NOT IN ('otp')",
        params![mobile, ts(now)],
    )?;
    Ok(())
}

pub fn is_opted_out(conn: &Connection, mobile: &str) -> rusqlite::Result<bool> {
    opted_out(conn, mobile)
}

/// A ticket whose holder gave a mobile, still owed its "called" message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub visit_id: i64,
    pub mobile: String,
    pub lang: String,
    pub near_sent: bool,
    /// A remote ticket's "check in at the kiosk" went.
    pub checkin_sent: bool,
}

/// How a subscribed ticket that has left the live queue ended, as stored: `None` while its end
/// is not stored yet (the engine answers from memory before the write commits: ask again);
/// `Some(Some(number))` when it was cancelled because a manager closed its service for the day
/// (`service_closed`), `Some(None)` otherwise.
pub fn how_it_ended(conn: &Connection, visit_id: i64) -> rusqlite::Result<Option<Option<String>>> {
    let row = conn
        .prepare_cached(
            "SELECT v.status IN ('waiting', 'called', 'serving'), v.number,
                    EXISTS (SELECT 1 FROM events e WHERE e.visit_id = v.id AND e.kind = 'cancelled'
                            AND json_extract(e.payload, '$.reason') = 'service_closed')
             FROM visits v WHERE v.id = ?1",
        )?
        .query_row(params![visit_id], |r| Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?, r.get::<_, bool>(2)?)))
        .optional()?;
    Ok(match row {
        Some((true, _, _)) => None,
        Some((false, number, closed)) => Some(closed.then_some(number)),
        None => Some(None),
    })
}

/// Messages about this ticket go to `mobile` in `lang` (a second call replaces the first).
pub fn subscribe(
    conn: &Connection,
    visit_id: i64,
    mobile: &str,
    lang: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO sms_subscriptions (visit_id, mobile, lang, created_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (visit_id) DO UPDATE SET mobile = ?2, lang = ?3",
        params![visit_id, mobile, lang, ts(now)],
    )?;
    Ok(())
}

/// How many tickets gave this mobile since `since` (a limit against sending to strangers).
pub fn subscriptions_since(conn: &Connection, mobile: &str, since: DateTime<Utc>) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM sms_subscriptions WHERE mobile = ?1 AND created_at >= ?2",
        params![mobile, ts(since)],
        |r| r.get(0),
    )
}

/// The subscriptions still owed a message.
pub fn open_subscriptions(conn: &Connection) -> rusqlite::Result<Vec<Subscription>> {
    conn.prepare_cached(
        "SELECT visit_id, mobile, lang, near_sent, checkin_sent FROM sms_subscriptions WHERE called_sent = 0
         ORDER BY visit_id",
    )?
    .query_map([], |r| {
        Ok(Subscription {
            visit_id: r.get(0)?,
            mobile: r.get(1)?,
            lang: r.get(2)?,
            near_sent: r.get(3)?,
            checkin_sent: r.get(4)?,
        })
    })?
    .collect()
}

/// Puts a ticket's notice in the outbox (`text` of `kind` `near`, `checkin` or `called`; `None`: nothing
/// more to send) and marks it sent, in one transaction: each notice at most once.
pub fn record_notice(
    conn: &mut Connection,
    branch: &str,
    subscription: &Subscription,
    notice: Option<(&str, &str)>,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let flags = match notice {
        Some((kind, text)) => {
            put(&tx, branch, &subscription.mobile, kind, text, now)?;
            match kind {
                "near" => "near_sent = 1",
                // Told to check in at the front: being near goes without saying.
                "checkin" => "checkin_sent = 1, near_sent = 1",
                _ => "near_sent = 1, called_sent = 1",
            }
        }
        None => "near_sent = 1, called_sent = 1",
    };
    tx.execute(&format!("UPDATE sms_subscriptions SET {flags} WHERE visit_id = ?1"), params![subscription.visit_id])?;
    tx.commit()
}

/// The newest `limit` messages and the counts per state, for managers.
pub fn status(conn: &Connection, limit: usize) -> rusqlite::Result<SmsStatus> {
    let mut counts = conn.prepare_cached("SELECT state, COUNT(*) FROM sms_outbox GROUP BY state")?;
    let mut status = SmsStatus::default();
    for row in counts.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
        let (state, n) = row?;
        match state.as_str() {
            "queued" | "sending" => status.queued += n,
            "submitted" => status.submitted += n,
            "delivered" => status.delivered += n,
            _ => status.failed += n,
        }
    }
    status.opted_out = conn.query_row("SELECT COUNT(*) FROM sms_opt_outs", [], |r| r.get(0))?;
    let mut newest = conn.prepare_cached(
        "SELECT message_id, mobile, kind, state, attempts, parts, created_at, submitted_at, done_at, last_error
         FROM sms_outbox ORDER BY id DESC LIMIT ?1",
    )?;
    status.messages = newest
        .query_map(params![limit as i64], |r| {
            let state: String = r.get(3)?;
            Ok(SmsMessage {
                message_id: r.get(0)?,
                mobile: r.get(1)?,
                kind: r.get(2)?,
                // `sending` is still queued to a reader: its outcome is not known yet.
                state: if state == "sending" { "queued".into() } else { state },
                attempts: r.get(4)?,
                parts: r.get(5)?,
                created_at: r.get(6)?,
                submitted_at: r.get(7)?,
                done_at: r.get(8)?,
                last_error: r.get(9)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        (dir, conn)
    }

    #[test]
    fn each_mobile_gets_its_messages_in_order_one_at_a_time() {
        let (_dir, conn) = db();
        let t0 = Utc::now();
        let a1 = put(&conn, "demo", "+966500000001", "test", "a1", t0).unwrap().unwrap();
        put(&conn, "demo", "+966500000001", "test", "a2", t0).unwrap();
        put(&conn, "demo", "+966500000002", "test", "b1", t0).unwrap();
        assert_eq!(a1, "demo-sms1");
        let due_now: Vec<String> = due(&conn, t0, 10).unwrap().into_iter().map(|d| d.body).collect();
        assert_eq!(due_now, ["a1", "b1"], "a mobile's second message waits for its first");

        let first = &due(&conn, t0, 10).unwrap()[0];
        mark_sending(&conn, first.id, t0).unwrap();
        assert_eq!(due(&conn, t0, 10).unwrap()[0].body, "a1", "a message left sending is due again (crash)");
        let later = t0 + chrono::Duration::seconds(5);
        mark_failed_attempt(&conn, first.id, "the SMSC did not answer in time", Some(later), t0).unwrap();
        let due_now: Vec<String> = due(&conn, t0, 10).unwrap().into_iter().map(|d| d.body).collect();
        assert_eq!(due_now, ["b1"], "a2 still waits behind a1's retry");
        assert_eq!(due(&conn, later, 10).unwrap()[0].attempts, 1);
        mark_submitted(&conn, first.id, &["g1".into(), "g2".into()], later).unwrap();
        let due_now: Vec<String> = due(&conn, later, 10).unwrap().into_iter().map(|d| d.body).collect();
        assert_eq!(due_now, ["a2", "b1"]);

        receipt(&conn, "g1", true, later).unwrap();
        assert_eq!(status(&conn, 10).unwrap().submitted, 1, "one part of two delivered");
        receipt(&conn, "g2", true, later).unwrap();
        let s = status(&conn, 10).unwrap();
        assert_eq!((s.delivered, s.queued), (1, 2));
        assert_eq!(s.messages.last().unwrap().state, "delivered");
        assert_eq!(s.messages.last().unwrap().parts, Some(2));

        // A receipt that comes before the submission is recorded still counts.
        let b1 = due(&conn, later, 10).unwrap().into_iter().find(|d| d.body == "b1").unwrap();
        mark_sending(&conn, b1.id, later).unwrap();
        receipt(&conn, "g3", false, later).unwrap();
        mark_submitted(&conn, b1.id, &["g3".into()], later).unwrap();
        let b1_state = status(&conn, 10).unwrap().messages.into_iter().find(|m| m.message_id == b1.message_id).unwrap();
        assert_eq!(b1_state.state, "failed", "its early receipt said undelivered");
    }

    #[test]
    fn an_opted_out_mobile_gets_only_codes_it_asks_for() {
        let (_dir, conn) = db();
        let now = Utc::now();
        put(&conn, "demo", "+966500000001", "near", "3 ahead", now).unwrap();
        opt_out(&conn, "+966500000001", now).unwrap();
        assert_eq!(status(&conn, 10).unwrap().messages[0].state, "failed", "its queued message ends");
        assert_eq!(put(&conn, "demo", "+966500000001", "called", "your turn", now).unwrap(), None);
        assert!(put(&conn, "demo", "+966500000001", "otp", "1234", now).unwrap().is_some());
        assert!(is_opted_out(&conn, "+966500000001").unwrap());
        assert_eq!(status(&conn, 10).unwrap().opted_out, 1);
    }
}
