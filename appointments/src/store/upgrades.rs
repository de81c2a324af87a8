//! Upgrades of the site's database: one of every earlier schema is opened and migrated by this
//! version with the same bookings and the same places left, and one written by a newer version
//! is refused with a one-line message (no downgrade).
//!
//! `appointments/tests/fixtures/schemas/NNN.db` is a database at schema NNN: migrations
//! 1..=NNN applied, holding the hand-made bookings of [`insert_bookings`] as a site of that
//! schema kept them (from schema 4 on, with their slots' rows). Migrations are append-only, so
//! the fixture of a schema made from today's tree is the one its release made. A new migration
//! needs its fixture: `DAWR_WRITE_SCHEMA_FIXTURES=1 cargo test -p dawr-appointments
//! store::upgrades` writes the missing ones (never rewriting one that exists: it stands for a
//! released schema); commit them.
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, params};

use super::{Booking, SlotPlan, Status, StoreError, day_bookings, ensure_slots, migrations, taken_on_day};

/// The schema that added the `slots` table (each slot's places taken).
const SLOTS_SCHEMA: usize = 4;
/// Places per slot, as the site file says.
const CAPACITY: u32 = 3;

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

fn fixture_path(schema: usize) -> PathBuf {
    fixtures_dir().join(format!("{schema:03}.db"))
}

fn latest() -> usize {
    super::schema_version().unwrap() as usize
}

fn at(text: &str) -> DateTime<Utc> {
    text.parse().unwrap()
}

fn days() -> [NaiveDate; 2] {
    ["2026-12-01".parse().unwrap(), "2026-12-02".parse().unwrap()]
}

/// (code, service, start, status, name): two services over two days, every status, a slot
/// with a cancelled booking beside two active ones.
const BOOKINGS: [(&str, &str, &str, &str, &str); 7] = [
    ("F10001", "A", "2026-12-01T06:00:00.000Z", "booked", "سارة"),
    ("F10002", "A", "2026-12-01T06:00:00.000Z", "booked", "Omar"),
    ("F10003", "A", "2026-12-01T06:00:00.000Z", "cancelled", "نورة"),
    ("F10004", "A", "2026-12-01T06:15:00.000Z", "checked_in", "Lina"),
    ("F10005", "B", "2026-12-01T06:00:00.000Z", "no_show", "فهد"),
    ("F10006", "B", "2026-12-01T06:30:00.000Z", "booked", "Huda"),
    ("F10007", "A", "2026-12-02T07:00:00.000Z", "booked", "ريم"),
];

/// The bookings as a site of `schema` stored them: the columns every schema has, and from
/// schema 4 on the slots' rows with their places taken (bookings not cancelled).
fn insert_bookings(conn: &Connection, schema: usize) {
    for (i, (code, service, start, status, name)) in BOOKINGS.iter().enumerate() {
        conn.execute(
            "INSERT INTO bookings (code, token, branch, service, start, local_day, name, national_id, phone, lang, \
             status, created_at, updated_at) \
             VALUES (?1, ?2, 'demo', ?3, ?4, substr(?4, 1, 10), ?5, ?6, ?7, ?8, ?9, '2026-11-20T08:00:00.000Z', ?10)",
            params![
                code,
                format!("tok-{code}"),
                service,
                start,
                name,
                format!("10000000{i:02}"),
                format!("+9665500000{i:02}"),
                if i % 2 == 0 { "ar" } else { "en" },
                status,
                if *status == "booked" { "2026-11-20T08:00:00.000Z" } else { "2026-12-01T09:00:00.000Z" },
            ],
        )
        .unwrap();
    }
    if schema >= SLOTS_SCHEMA {
        conn.execute(
            "INSERT INTO slots (branch, service, start, local_day, capacity, booked) \
             SELECT branch, service, start, local_day, ?1, count(*) FROM bookings WHERE status <> 'cancelled' \
             GROUP BY branch, service, start, local_day",
            [CAPACITY],
        )
        .unwrap();
    }
}

/// Writes the fixture of `schema` (small pages and no WAL, so the file is small and whole),
/// under another name first: the other tests, running meanwhile, see it only once it is whole.
fn write_fixture(path: &Path, schema: usize) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let part = path.with_extension("db.part");
    let _ = std::fs::remove_file(&part);
    {
        let mut conn = Connection::open(&part).unwrap();
        conn.pragma_update(None, "page_size", 1024).unwrap();
        migrations().to_version(&mut conn, schema).unwrap();
        insert_bookings(&conn, schema);
        conn.execute_batch("VACUUM").unwrap();
    }
    std::fs::rename(&part, path).unwrap();
}

fn user_version(conn: &Connection) -> usize {
    conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0)).unwrap() as usize
}

/// Every booking of both days, as this version reads them.
fn bookings(conn: &Connection) -> Vec<Booking> {
    days().iter().flat_map(|day| day_bookings(conn, "demo", *day).unwrap()).collect()
}

/// The places left per (service, start) on both days once the slot job has run with the site
/// file's capacity for every slot of the bookings' half hours, as the booking page shows them.
fn places_left(conn: &mut Connection) -> Vec<(String, DateTime<Utc>, u32)> {
    let mut plan = Vec::new();
    for service in ["A", "B"] {
        for start in ["2026-12-01T06:00:00Z", "2026-12-01T06:15:00Z", "2026-12-01T06:30:00Z", "2026-12-02T07:00:00Z"] {
            let start = at(start);
            let local_day = start.date_naive();
            plan.push(SlotPlan {
                branch: "demo".into(),
                service: service.into(),
                start,
                local_day,
                capacity: CAPACITY,
            });
        }
    }
    ensure_slots(conn, &plan).unwrap();
    let mut taken: HashMap<(&str, NaiveDate), HashMap<DateTime<Utc>, u32>> = HashMap::new();
    plan.iter()
        .map(|slot| {
            let on_day = taken
                .entry((slot.service.as_str(), slot.local_day))
                .or_insert_with(|| taken_on_day(conn, "demo", &slot.service, slot.local_day).unwrap());
            let left = CAPACITY.saturating_sub(on_day.get(&slot.start).copied().unwrap_or(0));
            (slot.service.clone(), slot.start, left)
        })
        .collect()
}

#[test]
fn every_schema_has_a_fixture_database() {
    let write = std::env::var_os("DAWR_WRITE_SCHEMA_FIXTURES").is_some();
    for schema in 1..=latest() {
        let path = fixture_path(schema);
        if write && !path.exists() {
            write_fixture(&path, schema);
        }
        assert!(
            path.exists(),
            "no fixture database for schema {schema} ({}): make it with \
             DAWR_WRITE_SCHEMA_FIXTURES=1 cargo test -p dawr-appointments store::upgrades, and commit it",
            path.display()
        );
    }
}

#[test]
fn a_database_of_every_earlier_schema_is_migrated_with_the_same_bookings_and_places() {
    // The expectation: the same bookings stored by this version.
    let fresh_dir = tempfile::tempdir().unwrap();
    let mut fresh = super::open(&fresh_dir.path().join(super::FILE_NAME)).unwrap();
    insert_bookings(&fresh, latest());
    let expected = bookings(&fresh);
    let statuses: Vec<Status> = expected.iter().map(|b| b.status).collect();
    use Status::{Booked, Cancelled, CheckedIn, NoShow};
    assert_eq!(statuses, [Booked, Booked, Cancelled, NoShow, CheckedIn, Booked, Booked], "{expected:?}");
    let expected_left = places_left(&mut fresh);
    let left_of = |service: &str, start: &str| {
        expected_left.iter().find(|(s, t, _)| s == service && *t == at(start)).map(|(_, _, n)| *n)
    };
    // Two active bookings and a cancelled one at 09:00 (Riyadh): one place left.
    assert_eq!(left_of("A", "2026-12-01T06:00:00Z"), Some(1));
    assert_eq!(left_of("A", "2026-12-01T06:15:00Z"), Some(2));
    assert_eq!(left_of("A", "2026-12-01T06:30:00Z"), Some(3));
    assert_eq!(left_of("B", "2026-12-01T06:00:00Z"), Some(2), "a no-show keeps its place");

    let mut seen = 0;
    for schema in 1..=latest() {
        let source = fixture_path(schema);
        if !source.exists() {
            continue; // `every_schema_has_a_fixture_database` names it
        }
        seen += 1;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(super::FILE_NAME);
        std::fs::copy(&source, &path).unwrap();
        {
            let old = Connection::open(&path).unwrap();
            assert_eq!(user_version(&old), schema, "{} is not of schema {schema}", source.display());
        }
        let mut conn = super::open(&path).unwrap_or_else(|e| panic!("schema {schema} does not migrate: {e}"));
        assert_eq!(user_version(&conn), latest(), "schema {schema} was not migrated to the latest");
        assert_eq!(bookings(&conn), expected, "the bookings of a schema {schema} database changed in its migration");
        assert_eq!(places_left(&mut conn), expected_left, "the places left changed in schema {schema}'s migration");
        let check: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(check, "ok", "schema {schema}");
    }
    assert!(seen > 1, "no fixture databases in {}", fixtures_dir().display());
}

#[test]
fn a_database_of_a_newer_schema_is_refused_in_one_line_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(super::FILE_NAME);
    let newer = latest() + 1;
    {
        let conn = super::open(&path).unwrap();
        insert_bookings(&conn, latest());
        conn.pragma_update(None, "user_version", newer as i64).unwrap();
    }
    let error = super::open(&path).expect_err("a newer schema must be refused");
    assert!(matches!(error, StoreError::Newer { found, .. } if found == newer), "{error:?}");
    // What the site prints when it stops (`dawr-appointments: {this}`), on one line.
    let message = crate::app::RunError::Storage(error.into()).to_string();
    assert!(!message.contains('\n'), "{message}");
    assert!(message.starts_with("cannot open the bookings: the database "), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    assert!(message.contains(&format!("schema version {newer}")), "{message}");
    assert!(message.contains("downgrades are refused"), "{message}");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), newer, "the refused database was changed");
    let count: i64 = conn.query_row("SELECT count(*) FROM bookings", [], |r| r.get(0)).unwrap();
    assert_eq!(count, BOOKINGS.len() as i64);
}
