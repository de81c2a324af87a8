//! The append-only audit log: who signed in (or failed to), who changed a case (before and
//! after), who exported or erased a person's data, what the retention job removed, which devices
//! were enrolled. Managers read it (`GET /api/v1/audit`, the dashboard).
//!
//! Append-only holds in two places: this module has no function that updates or deletes an
//! entry, and the table's triggers (`store/008_privacy.sql`) refuse `UPDATE` and `DELETE` from
//! any connection. Entries never carry personal data in clear: a case edit's visitor ID and notes
//! appear as a fingerprint of their keyed hash ([`crate::privacy::VisitorKey::fingerprint`]), so
//! the log outlives the retention window without keeping what it removes.
//!
//! Call [`record`] inside the transaction of the change it records (so both or neither are
//! stored), or [`record_now`] from async code for an event with no transaction of its own
//! (a sign-in).
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
pub use dawr_protocol::api::privacy::{AuditAction, AuditEntry, AuditPage};
use dawr_web::Db;
use rusqlite::{Connection, params};

use crate::store::{StoreError, ts};

/// The actor of what the hub does by itself (the retention job).
pub const SYSTEM: &str = "system";

/// An entry to append: everything but its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: AuditAction,
    pub subject: Option<String>,
    pub before: BTreeMap<String, String>,
    pub after: BTreeMap<String, String>,
}

impl NewEntry {
    /// An entry with no subject and no fields.
    pub fn new(at: DateTime<Utc>, actor: impl Into<String>, action: AuditAction) -> NewEntry {
        NewEntry { at, actor: actor.into(), action, subject: None, before: BTreeMap::new(), after: BTreeMap::new() }
    }

    /// What it was done to.
    pub fn subject(mut self, subject: impl Into<String>) -> NewEntry {
        self.subject = Some(subject.into());
        self
    }

    /// A field of the record after the action (or a figure: counts of a purge, a device's kind).
    pub fn after(mut self, field: &str, value: impl ToString) -> NewEntry {
        self.after.insert(field.into(), value.to_string());
        self
    }
}

/// Appends `entry`; returns its id. Use the connection (or transaction) of the change it records.
pub fn record(conn: &Connection, entry: &NewEntry) -> rusqlite::Result<u64> {
    let json = |map: &BTreeMap<String, String>| serde_json::to_string(map).expect("strings serialise");
    conn.prepare_cached(
        "INSERT INTO audit_log (at, actor, action, subject, before, after) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        ts(entry.at),
        entry.actor,
        entry.action.as_str(),
        entry.subject,
        json(&entry.before),
        json(&entry.after)
    ])?;
    Ok(conn.last_insert_rowid() as u64)
}

/// Appends `entry` through the database's writing connection, off the async workers. A failure
/// is logged, not returned: the action it records has happened already.
pub async fn record_now(db: &Db, entry: NewEntry) {
    let action = entry.action;
    match db.write(move |conn| record(conn, &entry)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::error!(?action, error = %e, "the audit log refused an entry"),
        Err(e) => tracing::error!(?action, error = %e, "the audit log was not written"),
    }
}

/// The most entries one page holds.
pub const MAX_PAGE: u32 = 500;

/// Entries made from `from` to `to` (UTC instants, `to` exclusive), newest first, with ids below
/// `before` when given; at most `limit` (capped at [`MAX_PAGE`]), and the id to continue from.
pub fn page(
    conn: &Connection,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    before: Option<u64>,
    limit: u32,
) -> Result<(Vec<AuditEntry>, Option<u64>), StoreError> {
    let limit = limit.clamp(1, MAX_PAGE);
    let mut stmt = conn.prepare_cached(
        "SELECT id, at, actor, action, subject, before, after FROM audit_log
         WHERE at >= ?1 AND at < ?2 AND id < ?3 ORDER BY id DESC LIMIT ?4",
    )?;
    let before_id = before.map_or(i64::MAX, |b| b.min(i64::MAX as u64) as i64);
    let mut rows = stmt.query(params![ts(from), ts(to), before_id, i64::from(limit) + 1])?;
    let mut entries = Vec::new();
    while let Some(row) = rows.next()? {
        let action: String = row.get(3)?;
        let map = |column: &'static str, text: String| {
            serde_json::from_str::<BTreeMap<String, String>>(&text)
                .map_err(|_| StoreError::Corrupt { column, value: text })
        };
        entries.push(AuditEntry {
            id: row.get::<_, i64>(0)? as u64,
            at: dawr_web::db::parse_ts("audit_log.at", &row.get::<_, String>(1)?)?,
            actor: row.get(2)?,
            action: action.parse().map_err(|value| StoreError::Corrupt { column: "audit_log.action", value })?,
            subject: row.get(4)?,
            before: map("audit_log.before", row.get(5)?)?,
            after: map("audit_log.after", row.get(6)?)?,
        });
    }
    let more = entries.len() > limit as usize;
    entries.truncate(limit as usize);
    let next = more.then(|| entries.last().map(|e| e.id)).flatten();
    Ok((entries, next))
}

/// The UTC instants of local days `from..=to` at `offset`: `[start of from, start of the day after to)`.
pub fn day_range(from: NaiveDate, to: NaiveDate, offset: chrono::FixedOffset) -> (DateTime<Utc>, DateTime<Utc>) {
    let start = |day: NaiveDate| {
        day.and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_local_timezone(offset)
            .single()
            .expect("a fixed offset is unambiguous")
            .with_timezone(&Utc)
    };
    (start(from), start(to.succ_opt().unwrap_or(to)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join(crate::store::FILE_NAME)).unwrap();
        (dir, conn)
    }

    #[test]
    fn entries_are_appended_and_read_newest_first_a_page_at_a_time() {
        let (_dir, conn) = db();
        let t0: DateTime<Utc> = "2026-11-23T06:00:00Z".parse().unwrap();
        for i in 0..5 {
            let entry = NewEntry::new(t0 + chrono::Duration::minutes(i), "s101", AuditAction::SignIn).subject("2");
            record(&conn, &entry).unwrap();
        }
        record(&conn, &NewEntry::new(t0 - chrono::Duration::days(1), "m001", AuditAction::SignIn)).unwrap();
        let (from, to) = day_range(
            "2026-11-23".parse().unwrap(),
            "2026-11-23".parse().unwrap(),
            chrono::FixedOffset::east_opt(0).unwrap(),
        );
        let (first, next) = page(&conn, from, to, None, 3).unwrap();
        assert_eq!(first.iter().map(|e| e.id).collect::<Vec<_>>(), [5, 4, 3]);
        assert_eq!(next, Some(3));
        let (rest, next) = page(&conn, from, to, next, 3).unwrap();
        assert_eq!(rest.iter().map(|e| e.id).collect::<Vec<_>>(), [2, 1]);
        assert_eq!(next, None, "the entry of the day before is outside the range");
        assert_eq!((rest[0].actor.as_str(), rest[0].subject.as_deref()), ("s101", Some("2")));
    }

    #[test]
    fn an_entry_can_be_neither_changed_nor_removed() {
        let (_dir, conn) = db();
        let entry = NewEntry::new(Utc::now(), "s101", AuditAction::CaseEdited).after("category", "billing");
        let id = record(&conn, &entry).unwrap();
        let update = conn.execute("UPDATE audit_log SET actor = 'someone else' WHERE id = ?1", [id as i64]);
        assert!(update.unwrap_err().to_string().contains("append-only"));
        let delete = conn.execute("DELETE FROM audit_log WHERE id = ?1", [id as i64]);
        assert!(delete.unwrap_err().to_string().contains("append-only"));
        let delete_all = conn.execute("DELETE FROM audit_log", []);
        assert!(delete_all.is_err());
        let far = Utc::now() + chrono::Duration::days(1);
        let (entries, _) = page(&conn, Utc::now() - chrono::Duration::days(1), far, None, 10).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(
            (entries[0].actor.as_str(), entries[0].after.get("category").map(String::as_str)),
            ("s101", Some("billing"))
        );
    }
}
