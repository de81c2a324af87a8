//! A hand-made day at a branch, in a real hub database, for the reports' tests.
use chrono::NaiveDate;
use rusqlite::{Connection, params};

/// A hand-made day at a branch (UTC+3; targets: A 15 min, B 10 min), with every figure
/// worked out by hand in the comments.
pub fn fixture() -> (tempfile::TempDir, Connection) {
    let dir = tempfile::tempdir().unwrap();
    let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
    insert_day(&conn);
    (dir, conn)
}

/// Writes the hand-made day of [`fixture`] into `conn`. Only the events' and visits' columns of
/// the first schema are written, so a database of any schema takes it (`store::upgrades`).
pub fn insert_day(conn: &Connection) {
    let visit = |id: i64, number: &str, day: &str, service: &str, issued: &str| {
        conn.execute(
            "INSERT INTO visits (id, number, local_day, service, priority, source, status, case_ref, token,
                 issued_at, recalls, transfers)
             VALUES (?1, ?2, ?3, ?4, 'normal', 'walk_in', 'done', ?5, ?6, ?7, 0, 0)",
            params![id, number, day, service, format!("DMM-{id}"), format!("t{id}"), issued],
        )
        .unwrap();
    };
    let seq = std::cell::Cell::new(0);
    let event = |at: &str, kind: &str, visit: i64, counter: Option<&str>, extra: &str| {
        seq.set(seq.get() + 1);
        let counter_json = counter.map(|c| format!(r#","counter":"{c}""#)).unwrap_or_default();
        let payload = format!(r#"{{"kind":"{kind}","visit":{visit}{counter_json}{extra}}}"#);
        conn.execute(
            "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![seq.get(), at, kind, visit, counter, payload],
        )
        .unwrap();
    };
    // A001: waits 600 s (within 900), served 480 s at counter 1, rated 5.
    visit(1, "A001", "2026-11-23", "A", "2026-11-23T05:00:00.000Z");
    event("2026-11-23T05:00:00.000Z", "issued", 1, None, "");
    event("2026-11-23T05:10:00.000Z", "called", 1, Some("1"), "");
    event("2026-11-23T05:11:00.000Z", "started", 1, Some("1"), "");
    event("2026-11-23T05:19:00.000Z", "completed", 1, Some("1"), r#","outcome":"resolved""#);
    event("2026-11-23T05:20:00.000Z", "rated", 1, Some("1"), r#","score":5"#);
    // A002: waits 1200 s (over 900), served 600 s at counter 2, rated 2 (waited too long).
    visit(2, "A002", "2026-11-23", "A", "2026-11-23T05:05:00.000Z");
    event("2026-11-23T05:05:00.000Z", "issued", 2, None, "");
    event("2026-11-23T05:25:00.000Z", "called", 2, Some("2"), "");
    event("2026-11-23T05:26:00.000Z", "started", 2, Some("2"), "");
    event("2026-11-23T05:36:00.000Z", "completed", 2, Some("2"), r#","outcome":"follow_up""#);
    event("2026-11-23T05:37:00.000Z", "rated", 2, Some("2"), r#","score":2,"reason":"waited_too_long""#);
    // B001: waits 300 s (within 600), no-show at counter 1.
    visit(3, "B001", "2026-11-23", "B", "2026-11-23T06:00:00.000Z");
    event("2026-11-23T06:00:00.000Z", "issued", 3, None, "");
    event("2026-11-23T06:05:00.000Z", "called", 3, Some("1"), "");
    event("2026-11-23T06:08:00.000Z", "no_show", 3, Some("1"), "");
    // B002: cancelled while waiting.
    visit(4, "B002", "2026-11-23", "B", "2026-11-23T06:30:00.000Z");
    event("2026-11-23T06:30:00.000Z", "issued", 4, None, "");
    event("2026-11-23T06:40:00.000Z", "cancelled", 4, None, "");
    // A003: waits 120 s, recalled, still being served at counter 2.
    visit(5, "A003", "2026-11-23", "A", "2026-11-23T07:00:00.000Z");
    event("2026-11-23T07:00:00.000Z", "issued", 5, None, "");
    event("2026-11-23T07:02:00.000Z", "called", 5, Some("2"), "");
    event("2026-11-23T07:02:30.000Z", "recalled", 5, Some("2"), "");
    event("2026-11-23T07:03:00.000Z", "started", 5, Some("2"), "");
    // The day before: not in the report.
    visit(6, "A001", "2026-11-22", "A", "2026-11-22T05:00:00.000Z");
    event("2026-11-22T05:00:00.000Z", "issued", 6, None, "");
}

pub fn day() -> NaiveDate {
    "2026-11-23".parse().unwrap()
}

pub fn target(service: &str) -> Option<u32> {
    match service {
        "A" => Some(900),
        "B" => Some(600),
        _ => None,
    }
}
