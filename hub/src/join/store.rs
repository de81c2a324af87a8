//! The SQL of joining from a phone: `join_codes` (pending one-time codes) and `remote_joins`
//! (remote tickets, their mobile and check-in code).
use chrono::{DateTime, Utc};
use dawr_protocol::api::privacy::RemoteTicket;
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

/// The remote tickets `mobile` joined with (number, when) and when codes were sent to it, for a
/// person's export.
pub fn export_of(conn: &Connection, mobile: &str) -> rusqlite::Result<(Vec<RemoteTicket>, Vec<String>)> {
    let tickets = conn
        .prepare_cached(
            "SELECT v.number, j.joined_at FROM remote_joins j JOIN visits v ON v.id = j.visit_id
             WHERE j.mobile = ?1 ORDER BY j.visit_id",
        )?
        .query_map(params![mobile], |r| Ok(RemoteTicket { number: r.get(0)?, joined_at: r.get(1)? }))?
        .collect::<rusqlite::Result<_>>()?;
    let codes = conn
        .prepare_cached("SELECT created_at FROM join_codes WHERE mobile = ?1 ORDER BY created_at")?
        .query_map(params![mobile], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    Ok((tickets, codes))
}

/// Retention: the mobiles of remote tickets joined before `before` (days ago: long out of the
/// queue) are blanked (the ticket and its check-in code stay, for the reports), and codes sent
/// before it are removed. Returns how many rows no longer name a mobile.
pub fn purge_mobiles(conn: &Connection, before: DateTime<Utc>) -> rusqlite::Result<usize> {
    let joins =
        conn.execute("UPDATE remote_joins SET mobile = '' WHERE mobile <> '' AND joined_at < ?1", params![ts(before)])?;
    Ok(joins + prune_codes(conn, before)?)
}

/// Erasure: every remote ticket and code of `mobile` forgets it at once. Returns how many rows.
pub fn erase_mobile(conn: &Connection, mobile: &str) -> rusqlite::Result<usize> {
    let joins = conn.execute("UPDATE remote_joins SET mobile = '' WHERE mobile = ?1", params![mobile])?;
    let codes = conn.execute("DELETE FROM join_codes WHERE mobile = ?1", params![mobile])?;
    Ok(joins + codes)
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

    #[test]
    fn mobiles_of_joins_are_purged_after_the_period_and_erased_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let t0: DateTime<Utc> = "2026-08-01T08:00:00Z".parse().unwrap();
        let later = t0 + chrono::Duration::days(100);
        conn.execute(
            "INSERT INTO visits (id, number, local_day, service, priority, source, status, case_ref, token, issued_at,
                                 recalls, transfers)
             VALUES (1, 'D001', '2026-08-01', 'D', 'normal', 'remote', 'cancelled', 'C1', 't1', ?1, 0, 0),
                    (2, 'D002', '2026-11-09', 'D', 'normal', 'remote', 'waiting', 'C2', 't2', ?2, 0, 0)",
            params![ts(t0), ts(later)],
        )
        .unwrap();
        let (old, new) = ("+966501234567", "+966507654321");
        put_code(&conn, "h1", old, "D", "en", b"mac", t0, t0).unwrap();
        record_join(&mut conn, 1, old, "CHECKIN1", "en", t0).unwrap();
        put_code(&conn, "h2", new, "D", "ar", b"mac", later, later).unwrap();
        record_join(&mut conn, 2, new, "CHECKIN2", "ar", later).unwrap();
        let (tickets, codes) = export_of(&conn, old).unwrap();
        assert_eq!((tickets[0].number.as_str(), codes.len()), ("D001", 1));

        // 90 days after the first join: its mobile and code go; the newer stay.
        assert_eq!(purge_mobiles(&conn, later - chrono::Duration::days(90)).unwrap(), 2);
        assert_eq!(export_of(&conn, old).unwrap(), (vec![], vec![]));
        assert_eq!(checkin_code_of(&conn, 1).unwrap().as_deref(), Some("CHECKIN1"), "the ticket stays");
        assert_eq!(live_ticket_of(&conn, new).unwrap().as_deref(), Some("t2"));

        // Erased at once: no ticket, no code names it; it may join again.
        assert_eq!(erase_mobile(&conn, new).unwrap(), 2);
        assert_eq!(export_of(&conn, new).unwrap(), (vec![], vec![]));
        assert_eq!(live_ticket_of(&conn, new).unwrap(), None);
        assert_eq!(codes_since(&conn, new, t0).unwrap(), 0);
    }
}
