//! The alerts' SQL: what was raised (so a restart neither forgets nor repeats it), and the
//! e-mail outbox (a row per alert and recipient until the SMTP server took it).
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use dawr_web::db::{StoreError, parse_ts};
use rusqlite::{Connection, OptionalExtension, params};

use super::watch::{Change, Memory};
use crate::store::ts;

/// What the alerts remembered when the hub stopped.
pub fn load_memory(conn: &Connection) -> Result<Memory, StoreError> {
    let mut statement = conn.prepare("SELECT key, holding, since, last_raised_at FROM alerts")?;
    let rows = statement.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, bool>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    let mut memory = Memory::default();
    for row in rows {
        let (key, holding, since, raised) = row?;
        memory.last_raised.insert(key.clone(), parse_ts("alerts.last_raised_at", &raised)?);
        if holding {
            memory.restored.insert(key, parse_ts("alerts.since", &since)?);
        }
    }
    Ok(memory)
}

/// A message to send for a raised alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub sms: Vec<(String, String)>,
    pub mail: Vec<(String, String, String)>,
}

/// Records a step's changes and puts the raised alerts' messages in the outboxes, in one
/// transaction. `messages` gives each raised key's SMS (mobile, text) and e-mails (recipient,
/// subject, body).
pub fn record(
    conn: &mut Connection,
    branch: &str,
    changes: &[Change],
    messages: &BTreeMap<String, Outgoing>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    for change in changes {
        match change {
            Change::Cleared(key) => {
                tx.execute("UPDATE alerts SET holding = 0 WHERE key = ?1", params![key])?;
            }
            Change::Raised(condition) => {
                let key = condition.key();
                tx.execute(
                    "INSERT INTO alerts (key, kind, holding, since, last_raised_at) VALUES (?1, ?2, 1, ?3, ?3)
                     ON CONFLICT (key) DO UPDATE SET holding = 1, since = ?3, last_raised_at = ?3",
                    params![key, condition.kind(), ts(now)],
                )?;
                let Some(out) = messages.get(&key) else { continue };
                for (mobile, text) in &out.sms {
                    crate::sms::outbox::put(&tx, branch, mobile, "alert", text, now)?;
                }
                for (to, subject, body) in &out.mail {
                    tx.execute(
                        "INSERT INTO alert_mail (recipient, subject, body, created_at, next_attempt_at)
                         VALUES (?1, ?2, ?3, ?4, ?4)",
                        params![to, subject, body, ts(now)],
                    )?;
                }
            }
        }
    }
    tx.commit()?;
    Ok(())
}

/// One e-mail due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DueMail {
    pub id: i64,
    pub recipient: String,
    pub subject: String,
    pub body: String,
    pub attempts: u32,
    pub created_at: DateTime<Utc>,
    /// A file sent with it: its name and bytes (the monthly report's PDF).
    pub attachment: Option<(String, Vec<u8>)>,
}

/// The oldest e-mail due at `now`, if any.
pub fn next_mail(conn: &Connection, now: DateTime<Utc>) -> Result<Option<DueMail>, StoreError> {
    let row = conn
        .query_row(
            "SELECT id, recipient, subject, body, attempts, created_at, attachment_name, attachment FROM alert_mail
             WHERE state = 'queued' AND next_attempt_at <= ?1 ORDER BY id LIMIT 1",
            params![ts(now)],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, u32>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<Vec<u8>>>(7)?,
                ))
            },
        )
        .optional()?;
    let Some((id, recipient, subject, body, attempts, created, name, file)) = row else { return Ok(None) };
    Ok(Some(DueMail {
        id,
        recipient,
        subject,
        body,
        attempts,
        created_at: parse_ts("alert_mail.created_at", &created)?,
        attachment: name.zip(file),
    }))
}

/// The SMTP server took e-mail `id`.
pub fn mail_sent(conn: &Connection, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    conn.execute("UPDATE alert_mail SET state = 'sent', sent_at = ?2 WHERE id = ?1", params![id, ts(now)])?;
    Ok(())
}

/// Sending e-mail `id` failed: tried again at `retry`, or given up (`None`).
pub fn mail_failed(
    conn: &Connection,
    id: i64,
    error: &str,
    retry: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (state, next) = match retry {
        Some(at) => ("queued", at),
        None => ("failed", now),
    };
    conn.execute(
        "UPDATE alert_mail SET state = ?2, attempts = attempts + 1, last_error = ?3, next_attempt_at = ?4
         WHERE id = ?1",
        params![id, state, error, ts(next)],
    )?;
    Ok(())
}

/// Whether the report of `month` (`YYYY-MM`) was queued for `branch`.
pub fn monthly_queued(conn: &Connection, branch: &str, month: &str) -> Result<bool, StoreError> {
    let queued = conn
        .query_row("SELECT 1 FROM monthly_report_mail WHERE branch = ?1 AND month = ?2", params![branch, month], |_| {
            Ok(())
        })
        .optional()?;
    Ok(queued.is_some())
}

/// Puts the report of `month` in the outbox for each recipient, with its file, and notes the
/// month as queued, in one transaction; `false` (and nothing queued) when it was already.
pub fn queue_monthly(
    conn: &mut Connection,
    branch: &str,
    month: &str,
    mails: &[(String, String, String)],
    (name, file): (&str, &[u8]),
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let tx = conn.transaction()?;
    let fresh = tx.execute(
        "INSERT OR IGNORE INTO monthly_report_mail (branch, month, queued_at) VALUES (?1, ?2, ?3)",
        params![branch, month, ts(now)],
    )? == 1;
    if fresh {
        for (to, subject, body) in mails {
            tx.execute(
                "INSERT INTO alert_mail (recipient, subject, body, created_at, next_attempt_at, attachment_name, attachment)
                 VALUES (?1, ?2, ?3, ?4, ?4, ?5, ?6)",
                params![to, subject, body, ts(now), name, file],
            )?;
        }
    }
    tx.commit()?;
    Ok(fresh)
}

/// Whether the month has visits (a report worth sending).
pub fn has_visits(
    conn: &rusqlite::Connection,
    (from, to): (chrono::NaiveDate, chrono::NaiveDate),
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM visits WHERE local_day BETWEEN ?1 AND ?2)",
        rusqlite::params![from.to_string(), to.to_string()],
        |r| r.get(0),
    )
}
