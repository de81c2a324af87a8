//! The SQL of joining from a phone: `join_codes` (pending one-time codes) and `remote_joins`
//! (remote tickets, their mobile and check-in code).
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::rules::Pending;
use crate::store::ts;

/// Stores a code just sent (its HMAC only).
#[allow(clippy::too_many_arguments)]
pub fn put_code(
    conn: &Connection,
    handle: &str,
    mobile: &str,
    service: &str,
    lang: &str,
    code_mac: &[u8],
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO join_codes (handle, mobile, service, lang, code_mac, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    )?
    .execute(params![handle, mobile, service, lang, code_mac, ts(now), ts(expires_at)])?;
    Ok(())
}

/// How many codes went to `mobile` since `since`.
pub fn codes_since(conn: &Connection, mobile: &str, since: DateTime<Utc>) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT COUNT(*) FROM join_codes WHERE mobile = ?1 AND created_at >= ?2")?
        .query_row(params![mobile, ts(since)], |r| r.get(0))
}

/// The code behind a handle.
pub fn pending(conn: &Connection, handle: &str) -> rusqlite::Result<Option<Pending>> {
    conn.prepare_cached(
        "SELECT handle, mobile, service, lang, code_mac, expires_at, attempts, used_at IS NOT NULL
         FROM join_codes WHERE handle = ?1",
    )?
    .query_row(params![handle], |r| {
        let expires: String = r.get(5)?;
        Ok(Pending {
            handle: r.get(0)?,
            mobile: r.get(1)?,
            service: r.get(2)?,
            lang: r.get(3)?,
            code_mac: r.get(4)?,
            expires_at: dawr_web::db::parse_ts("expires_at", &expires).unwrap_or(DateTime::<Utc>::MIN_UTC),
            attempts: r.get(6)?,
            used: r.get(7)?,
        })
    })
    .optional()
}

/// A wrong code was typed for `handle`.
pub fn wrong_code(conn: &Connection, handle: &str) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE join_codes SET attempts = attempts + 1 WHERE handle = ?1")?.execute(params![handle])?;
    Ok(())
}

/// Marks the code used; `false` if it already was (two confirmations at once: one wins).
pub fn use_code(conn: &Connection, handle: &str, now: DateTime<Utc>) -> rusqlite::Result<bool> {
    let changed = conn
        .prepare_cached("UPDATE join_codes SET used_at = ?2 WHERE handle = ?1 AND used_at IS NULL")?
        .execute(params![handle, ts(now)])?;
    Ok(changed == 1)
}

/// The live remote ticket `mobile` holds here, if any: its page token.
pub fn live_ticket_of(conn: &Connection, mobile: &str) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached(
        "SELECT v.token FROM remote_joins j JOIN visits v ON v.id = j.visit_id
         WHERE j.mobile = ?1 AND v.status IN ('waiting', 'called', 'serving') LIMIT 1",
    )?
    .query_row(params![mobile], |r| r.get(0))
    .optional()
}

/// Records a remote ticket: its mobile and check-in code, and the SMS subscription for its
/// notices in `lang`, in one transaction.
pub fn record_join(
    conn: &mut Connection,
    visit: i64,
    mobile: &str,
    checkin_code: &str,
    lang: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO remote_joins (visit_id, mobile, checkin_code, joined_at) VALUES (?1, ?2, ?3, ?4)",
        params![visit, mobile, checkin_code, ts(now)],
    )?;
    crate::sms::outbox::subscribe(&tx, visit, mobile, lang, now)?;
    tx.commit()
}

/// The remote ticket (visit id) with this check-in code.
pub fn visit_by_checkin_code(conn: &Connection, code: &str) -> rusqlite::Result<Option<i64>> {
    conn.prepare_cached("SELECT visit_id FROM remote_joins WHERE checkin_code = ?1")?
        .query_row(params![code], |r| r.get(0))
        .optional()
}

/// A remote ticket's check-in code.
pub fn checkin_code_of(conn: &Connection, visit: i64) -> rusqlite::Result<Option<String>> {
    conn.prepare_cached("SELECT checkin_code FROM remote_joins WHERE visit_id = ?1")?
        .query_row(params![visit], |r| r.get(0))
        .optional()
}

/// Removes codes older than `before` (they can no longer be used, and the per-mobile count only
/// looks back [`super::rules::CODES_WINDOW`]).
pub fn prune_codes(conn: &Connection, before: DateTime<Utc>) -> rusqlite::Result<usize> {
    conn.execute("DELETE FROM join_codes WHERE created_at < ?1", params![ts(before)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_is_used_once_and_counted_per_mobile() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let now = Utc::now();
        let later = now + super::super::rules::CODE_TTL;
        put_code(&conn, "h1", "+966501234567", "A", "en", b"mac", now, later).unwrap();
        put_code(&conn, "h2", "+966501234567", "A", "ar", b"mac", now, later).unwrap();
        assert_eq!(codes_since(&conn, "+966501234567", now).unwrap(), 2);
        assert_eq!(codes_since(&conn, "+966500000000", now).unwrap(), 0);
        wrong_code(&conn, "h1").unwrap();
        let p = pending(&conn, "h1").unwrap().unwrap();
        assert_eq!((p.attempts, p.used, p.lang.as_str(), p.code_mac.as_slice()), (1, false, "en", &b"mac"[..]));
        assert!(use_code(&conn, "h1", now).unwrap());
        assert!(!use_code(&conn, "h1", now).unwrap(), "once");
        assert!(pending(&conn, "h1").unwrap().unwrap().used);
        assert_eq!(pending(&conn, "nope").unwrap(), None);
        assert_eq!(prune_codes(&conn, now + chrono::Duration::seconds(1)).unwrap(), 2);
    }
}
