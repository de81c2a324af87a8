//! SQLite as both services keep it: opened with the same pragmas, times stored as the same text,
//! and [`Db`], the one way async code runs a read or a write on a connection (on a blocking
//! thread, so a slow query never stalls the runtime's workers).
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::Connection;
use rusqlite_migration::{Migrations, SchemaVersion};

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database schema: {0}")]
    Migration(#[from] rusqlite_migration::Error),
    /// A downgrade: the file was written by a newer version of the program, whose schema this
    /// version cannot know how to read.
    #[error(
        "the database {path} has schema version {found}, newer than this version of the program knows \
         (a newer version wrote it; downgrades are refused): install that version again, or restore a \
         backup this version made"
    )]
    Newer { path: String, found: usize },
    #[error("stored value {value:?} in column {column} cannot be read")]
    Corrupt { column: &'static str, value: String },
    #[error(transparent)]
    Interrupted(#[from] Interrupted),
}

/// Opens (creating and migrating if needed) the database at `path`: WAL with
/// `synchronous=FULL` (a committed transaction survives `kill -9` and power loss), foreign keys
/// on, and waiting up to `busy` for another connection's write lock instead of failing.
pub fn open(path: &Path, migrations: &Migrations<'_>, busy: Duration) -> Result<Connection, StoreError> {
    let mut conn = Connection::open(path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(busy)?;
    if let SchemaVersion::Outside(found) = migrations.current_version(&conn)? {
        return Err(StoreError::Newer { path: path.display().to_string(), found: found.get() });
    }
    migrations.to_latest(&mut conn)?;
    Ok(conn)
}

/// Formats a time the way every column stores it (sortable text, milliseconds, UTC).
pub fn ts(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Reads a time stored by [`ts`] (any RFC 3339 time) from `column`.
pub fn parse_ts(column: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt { column, value: text.into() })
}

/// [`parse_ts`] for a column that may be empty.
pub fn parse_opt_ts(column: &'static str, text: Option<String>) -> Result<Option<DateTime<Utc>>, StoreError> {
    text.map(|t| parse_ts(column, &t)).transpose()
}

/// The blocking task that ran a database call did not finish (the runtime is shutting down).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the database call was interrupted: {0}")]
pub struct Interrupted(String);

/// Connections to one database file, shared by async code: one for writing and zero or more for
/// reading (taken in turn; without any, reads use the writer). Each call locks its connection
/// on a blocking thread; a poisoned lock is taken over (SQLite keeps the connection
/// consistent, a panic in one call does not spoil the next).
#[derive(Clone)]
pub struct Db(Arc<Connections>);

struct Connections {
    writer: Mutex<Connection>,
    readers: Vec<Mutex<Connection>>,
    next: AtomicUsize,
}

impl Db {
    /// A writer and its readers.
    pub fn new(writer: Connection, readers: Vec<Connection>) -> Db {
        let readers = readers.into_iter().map(Mutex::new).collect();
        Db(Arc::new(Connections { writer: Mutex::new(writer), readers, next: AtomicUsize::new(0) }))
    }

    /// One connection for reading and writing.
    pub fn single(conn: Connection) -> Db {
        Db::new(conn, Vec::new())
    }

    /// Runs `f` on a reading connection, off the async runtime.
    pub async fn read<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> R + Send + 'static,
    ) -> Result<R, Interrupted> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || f(&db.reader())).await.map_err(|e| Interrupted(e.to_string()))
    }

    /// Runs `f` on the writing connection, off the async runtime.
    pub async fn write<R: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> R + Send + 'static,
    ) -> Result<R, Interrupted> {
        let db = self.clone();
        tokio::task::spawn_blocking(move || f(&mut db.writer())).await.map_err(|e| Interrupted(e.to_string()))
    }

    /// A reading connection, for a thread of its own that may block (the hub's engine).
    pub fn reader(&self) -> MutexGuard<'_, Connection> {
        let connections = &self.0;
        let Some(count) = std::num::NonZeroUsize::new(connections.readers.len()) else { return self.writer() };
        let i = connections.next.fetch_add(1, Ordering::Relaxed) % count;
        connections.readers[i].lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The writing connection, for a thread of its own that may block.
    pub fn writer(&self) -> MutexGuard<'_, Connection> {
        self.0.writer.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite_migration::M;

    #[tokio::test]
    async fn reads_see_what_writes_committed_and_times_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.db");
        let migrations = Migrations::new(vec![M::up("CREATE TABLE t (at TEXT NOT NULL);")]);
        let open = || open(&path, &migrations, Duration::from_secs(1)).unwrap();
        let db = Db::new(open(), vec![open(), open()]);
        let at: DateTime<Utc> = "2026-11-23T06:05:00.123Z".parse().unwrap();
        db.write(move |c| c.execute("INSERT INTO t (at) VALUES (?1)", [ts(at)])).await.unwrap().unwrap();
        for _ in 0..2 {
            let stored: String = db.read(|c| c.query_row("SELECT at FROM t", [], |r| r.get(0))).await.unwrap().unwrap();
            assert_eq!(stored, "2026-11-23T06:05:00.123Z");
            assert_eq!(parse_ts("at", &stored).unwrap(), at);
        }
        let mode: String = db.read(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0))).await.unwrap().unwrap();
        assert_eq!(mode, "wal");
        assert!(matches!(parse_ts("at", "yesterday"), Err(StoreError::Corrupt { column: "at", .. })));
        assert_eq!(parse_opt_ts("at", None).unwrap(), None);
    }
}
