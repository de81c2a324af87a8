//! Upgrades: a database of every earlier schema is opened and migrated by this version with its
//! report figures unchanged, and one written by a newer version is refused (no downgrade).
//!
//! `hub/tests/fixtures/schemas/NNN.db` is a database at schema NNN: migrations 1..=NNN applied,
//! as a hub of that schema made it, holding the reports' hand-made day
//! ([`crate::reports::fixture::insert_day`]). Migrations are append-only, so the fixture of a
//! schema made from today's tree is the one its release made. A new migration needs its fixture:
//! `DAWR_WRITE_SCHEMA_FIXTURES=1 cargo test -p dawr-hub store::upgrades` writes the missing ones
//! (never rewriting one that exists: it stands for a released schema); commit them.
use std::path::{Path, PathBuf};

use chrono::FixedOffset;
use rusqlite::Connection;

use super::{MIGRATIONS, StoreError, migrations};
use crate::reports::fixture::{day, insert_day, target};
use crate::reports::{ReportFilter, facts::visit_facts, summarise};

fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas")
}

fn fixture_path(schema: usize) -> PathBuf {
    fixtures_dir().join(format!("{schema:03}.db"))
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
        insert_day(&conn);
        conn.execute_batch("VACUUM").unwrap();
    }
    std::fs::rename(&part, path).unwrap();
}

fn user_version(conn: &Connection) -> usize {
    conn.pragma_query_value(None, "user_version", |row| row.get::<_, i64>(0)).unwrap() as usize
}

fn count(conn: &Connection, table: &str) -> i64 {
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| row.get(0)).unwrap()
}

/// The day's report (every figure, per service, counter and hour) as JSON.
fn figures(conn: &Connection) -> serde_json::Value {
    let filter = ReportFilter { from: day(), to: day(), service: None, counter: None };
    let visits = visit_facts(conn, &filter).unwrap();
    serde_json::to_value(summarise(&filter, &visits, &target, FixedOffset::east_opt(3 * 3600).unwrap())).unwrap()
}

#[test]
fn every_schema_has_a_fixture_database() {
    let write = std::env::var_os("DAWR_WRITE_SCHEMA_FIXTURES").is_some();
    for schema in 1..=MIGRATIONS.len() {
        let path = fixture_path(schema);
        if write && !path.exists() {
            write_fixture(&path, schema);
        }
        assert!(
            path.exists(),
            "no fixture database for schema {schema} ({}): make it with \
             DAWR_WRITE_SCHEMA_FIXTURES=1 cargo test -p dawr-hub store::upgrades, and commit it",
            path.display()
        );
    }
}

#[test]
fn a_database_of_every_earlier_schema_is_migrated_with_its_figures_unchanged() {
    let (_fresh_dir, fresh) = crate::reports::fixture::fixture();
    let expected = figures(&fresh);
    assert_eq!(expected["visits"], 5, "the hand-made day has five tickets: {expected}");
    let mut seen = 0;
    for schema in 1..=MIGRATIONS.len() {
        let source = fixture_path(schema);
        if !source.exists() {
            continue; // `every_schema_has_a_fixture_database` names it
        }
        seen += 1;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(super::FILE_NAME);
        std::fs::copy(&source, &path).unwrap();
        let (visits, events) = {
            let old = Connection::open(&path).unwrap();
            assert_eq!(user_version(&old), schema, "{} is not of schema {schema}", source.display());
            (count(&old, "visits"), count(&old, "events"))
        };
        let conn = super::open(&path).unwrap_or_else(|e| panic!("schema {schema} does not migrate: {e}"));
        assert_eq!(user_version(&conn), MIGRATIONS.len(), "schema {schema} was not migrated to the latest");
        assert_eq!((count(&conn, "visits"), count(&conn, "events")), (visits, events), "schema {schema} lost rows");
        assert_eq!(figures(&conn), expected, "the figures of a schema {schema} database changed in its migration");
        let check: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0)).unwrap();
        assert_eq!(check, "ok", "schema {schema}");
    }
    assert!(seen > 1, "no fixture databases in {}", fixtures_dir().display());
}

#[test]
fn a_database_of_a_newer_schema_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(super::FILE_NAME);
    let newer = MIGRATIONS.len() + 1;
    {
        let conn = super::open(&path).unwrap();
        insert_day(&conn);
        conn.pragma_update(None, "user_version", newer as i64).unwrap();
    }
    let error = super::open(&path).expect_err("a newer schema must be refused");
    assert!(matches!(error, StoreError::Newer { found, .. } if found == newer), "{error:?}");
    let message = error.to_string();
    assert!(message.contains(&format!("schema version {newer}")), "{message}");
    assert!(message.contains("downgrades are refused"), "{message}");
    assert!(message.contains(&path.display().to_string()), "{message}");
    let conn = Connection::open(&path).unwrap();
    assert_eq!(user_version(&conn), newer, "the refused database was changed");
    assert_eq!(count(&conn, "visits"), 6);
}
