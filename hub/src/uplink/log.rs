//! The uplink's SQL, and the only part of it that touches the database: this log's id and the
//! acknowledged cursor (`uplink_cursor`, migration 010), the events after a sequence, the case
//! notes changed after the case cursor (`case_note_changes`, migration 020), and the live state
//! put in `dawr_live`.
use chrono::{DateTime, Utc};
use dawr_protocol::api::ministry::{LiveCounter, LiveQueue};
use rusqlite::{Connection, params};

/// One row of `events`, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRow {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub visit_id: Option<i64>,
    pub counter: Option<String>,
    pub payload: String,
}

/// This database's log id and the last sequence JetStream acknowledged.
pub fn cursor(conn: &Connection) -> rusqlite::Result<(String, i64)> {
    conn.query_row("SELECT log_id, last_seq FROM uplink_cursor WHERE id = 1", [], |r| Ok((r.get(0)?, r.get(1)?)))
}

/// Moves the cursor forward to `seq` (never back).
pub fn advance(conn: &Connection, seq: i64) -> rusqlite::Result<()> {
    conn.execute("UPDATE uplink_cursor SET last_seq = max(last_seq, ?1) WHERE id = 1", params![seq])?;
    Ok(())
}

/// Up to `limit` events after `after`, oldest first.
pub fn events_after(conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<Vec<LogRow>> {
    let mut select = conn.prepare_cached(
        "SELECT seq, at, kind, visit_id, counter, payload FROM events WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    )?;
    select
        .query_map(params![after, limit as i64], |r| {
            Ok(LogRow {
                seq: r.get(0)?,
                at: r.get(1)?,
                kind: r.get(2)?,
                visit_id: r.get(3)?,
                counter: r.get(4)?,
                payload: r.get(5)?,
            })
        })?
        .collect()
}

/// One change to a case's notes, numbered, with the notes as they stand now.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub seq: i64,
    pub case_ref: String,
    pub category: Option<String>,
    pub notes: String,
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    pub updated_at: String,
    pub updated_by: String,
}

/// The last case change JetStream acknowledged.
pub fn case_cursor(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT case_seq FROM uplink_cursor WHERE id = 1", [], |r| r.get(0))
}

/// Moves the case cursor forward to `seq` (never back).
pub fn advance_cases(conn: &Connection, seq: i64) -> rusqlite::Result<()> {
    conn.execute("UPDATE uplink_cursor SET case_seq = max(case_seq, ?1) WHERE id = 1", params![seq])?;
    Ok(())
}

/// Up to `limit` case changes after `after`, oldest first, each with its case's notes now. A
/// change whose notes row is gone (erased) has no row: the cursor passes it.
pub fn case_changes_after(conn: &Connection, after: i64, limit: usize) -> rusqlite::Result<(Vec<CaseRow>, i64)> {
    let mut select = conn.prepare_cached(
        "SELECT c.seq, n.case_ref, n.category, n.notes, n.closed_at, n.closed_by, n.updated_at, n.updated_by
         FROM (SELECT seq, case_ref FROM case_note_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2) c
         JOIN case_notes n ON n.case_ref = c.case_ref ORDER BY c.seq",
    )?;
    let rows = select
        .query_map(params![after, limit as i64], |r| {
            Ok(CaseRow {
                seq: r.get(0)?,
                case_ref: r.get(1)?,
                category: r.get(2)?,
                notes: r.get(3)?,
                closed_at: r.get(4)?,
                closed_by: r.get(5)?,
                updated_at: r.get(6)?,
                updated_by: r.get(7)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let upto: i64 = conn.query_row(
        "SELECT COALESCE(MAX(seq), ?1) FROM (SELECT seq FROM case_note_changes WHERE seq > ?1 ORDER BY seq LIMIT ?2)",
        params![after, limit as i64],
        |r| r.get(0),
    )?;
    Ok((rows, upto))
}

/// The newest event in the log (0 when empty).
pub fn last_seq(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM events", [], |r| r.get(0))
}

/// Who waits now, per service, and how long the longest has waited at `now`.
pub fn queues(conn: &Connection, now: DateTime<Utc>) -> rusqlite::Result<Vec<LiveQueue>> {
    let mut select = conn.prepare_cached(
        "SELECT service, COUNT(*), MIN(issued_at) FROM visits WHERE status = 'waiting' GROUP BY service ORDER BY service",
    )?;
    select
        .query_map([], |r| {
            let oldest: String = r.get(2)?;
            let longest = DateTime::parse_from_rfc3339(&oldest)
                .map(|t| (now - t.with_timezone(&Utc)).num_seconds().max(0) as u32)
                .unwrap_or(0);
            Ok(LiveQueue { service: r.get(0)?, waiting: r.get(1)?, longest_wait_s: longest })
        })?
        .collect()
}

/// Every counter's state as stored.
pub fn counters(conn: &Connection) -> rusqlite::Result<Vec<LiveCounter>> {
    let mut select = conn.prepare_cached("SELECT id, status FROM counters ORDER BY id")?;
    select.query_map([], |r| Ok(LiveCounter { id: r.get(0)?, status: r.get(1)? }))?.collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_database_has_its_own_log_id_and_the_cursor_only_moves_forward() {
        let dir = tempfile::tempdir().unwrap();
        let a = crate::store::open(&dir.path().join("a.db")).unwrap();
        let b = crate::store::open(&dir.path().join("b.db")).unwrap();
        let (log_a, start) = cursor(&a).unwrap();
        let (log_b, _) = cursor(&b).unwrap();
        assert_eq!(start, 0);
        assert_ne!(log_a, log_b);
        let uuid = log_a.split('-').map(str::len).collect::<Vec<_>>();
        assert_eq!(uuid, [8, 4, 4, 4, 12], "{log_a} is a UUID");
        assert_eq!(&log_a[14..15], "4", "version 4");
        advance(&a, 7).unwrap();
        advance(&a, 3).unwrap();
        assert_eq!(cursor(&a).unwrap(), (log_a, 7));
    }

    #[test]
    fn every_change_to_a_cases_notes_is_numbered_and_comes_with_the_notes_as_they_stand() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let write = |case_ref: &str, notes: &str| {
            conn.execute(
                "INSERT INTO case_notes (case_ref, notes, updated_at, updated_by) VALUES (?1, ?2, '2026-11-23T05:00:00.000Z', 's101')
                 ON CONFLICT (case_ref) DO UPDATE SET notes = ?2",
                params![case_ref, notes],
            )
            .unwrap();
        };
        write("DMM-1", "first");
        write("DMM-2", "other");
        write("DMM-1", "second");
        // A change to what is not sent (the visitor's hash) is not numbered.
        conn.execute("UPDATE case_notes SET visitor_hash = 'h' WHERE case_ref = 'DMM-2'", []).unwrap();
        let (rows, upto) = case_changes_after(&conn, 0, 10).unwrap();
        let seen: Vec<(i64, &str, &str)> =
            rows.iter().map(|r| (r.seq, r.case_ref.as_str(), r.notes.as_str())).collect();
        assert_eq!(seen, [(1, "DMM-1", "second"), (2, "DMM-2", "other"), (3, "DMM-1", "second")]);
        assert_eq!(upto, 3);
        let (rows, upto) = case_changes_after(&conn, 1, 1).unwrap();
        assert_eq!((rows.len(), upto), (1, 2));
        // An erased case's changes are passed over, and the cursor still moves.
        conn.execute("DELETE FROM case_notes WHERE case_ref = 'DMM-2'", []).unwrap();
        let (rows, upto) = case_changes_after(&conn, 1, 1).unwrap();
        assert_eq!((rows.len(), upto), (0, 2));
        assert_eq!(case_cursor(&conn).unwrap(), 0);
        advance_cases(&conn, 3).unwrap();
        advance_cases(&conn, 2).unwrap();
        assert_eq!(case_cursor(&conn).unwrap(), 3);
        assert_eq!(case_changes_after(&conn, 3, 10).unwrap(), (vec![], 3));
    }

    #[test]
    fn events_come_in_sequence_order_after_the_cursor() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        for seq in [3, 1, 2] {
            conn.execute(
                "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, '2026-11-23T05:00:00.000Z', 'counter_paused', NULL, '1', '{}')",
                params![seq],
            )
            .unwrap();
        }
        let seqs = |after, limit| events_after(&conn, after, limit).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(0, 10), [1, 2, 3]);
        assert_eq!(seqs(1, 1), [2]);
        assert_eq!(last_seq(&conn).unwrap(), 3);
    }
}
