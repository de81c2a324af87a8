//! Backups of a service's SQLite database while it serves, and restoring one when it is stopped;
//! the data directory's lock that tells the two apart.
//!
//! A backup is SQLite's online backup (`sqlite3_backup_*`) copying from one read snapshot: the
//! source connection holds a read transaction for the whole copy, so the pages come from one
//! consistent moment and the copy never restarts when the service writes meanwhile. In WAL mode
//! (every Dawr database) a reader never blocks the writer, so the service is not paused at all;
//! the copy goes in batches of [`PAGES_PER_STEP`] pages with a short yield between them so its
//! disk reads do not crowd the service's. The copy is written beside the target, checked
//! (`PRAGMA integrity_check`), made a single self-contained file (`journal_mode=DELETE`), synced
//! and then renamed into place.
//!
//! A running hub holds an exclusive lock on `DATA_DIR/{name}.lock` ([`lock_data_dir`]), so a
//! second hub on the same directory refuses to start; a running site holds a shared one
//! ([`share_data_dir`]: several site processes may serve one database, the capacity rule being a
//! conditional update). [`restore`] takes the exclusive lock, so it refuses while any of them runs.
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags};

/// Pages copied per step (4 KiB pages: 1 MiB).
pub const PAGES_PER_STEP: std::ffi::c_int = 256;

/// Why a backup or restore failed.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {source}")]
    Sqlite { path: PathBuf, source: rusqlite::Error },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0} is not there")]
    Missing(PathBuf),
    #[error("{path} fails SQLite's integrity check: {report}")]
    Corrupt { path: PathBuf, report: String },
    #[error("{path} has schema version {found}, newer than this program's {known}: restore it with the newer version")]
    Newer { path: PathBuf, found: i64, known: i64 },
    #[error("{0} is in use by a running service: stop it first (systemctl stop …)")]
    Running(PathBuf),
}

/// What a finished backup holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    pub pages: i64,
    pub bytes: u64,
}

/// Holds `DATA_DIR/{name}.lock` locked for as long as it lives.
#[derive(Debug)]
pub struct DataDirLock {
    _file: File,
}

/// Locks `dir` for the service `name` (`hub`, `appointments`); fails with
/// [`BackupError::Running`] when another process holds it.
pub fn lock_data_dir(dir: &Path, name: &str) -> Result<DataDirLock, BackupError> {
    let path = dir.join(format!("{name}.lock"));
    let file = lock_file(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(BackupError::Running(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(source)) => Err(BackupError::Io { path, source }),
    }
}

/// Locks `dir` for the service `name` shared with other processes of that service; fails with
/// [`BackupError::Running`] only while [`restore`] (or a hub's exclusive lock) holds it.
pub fn share_data_dir(dir: &Path, name: &str) -> Result<DataDirLock, BackupError> {
    let path = dir.join(format!("{name}.lock"));
    let file = lock_file(&path)?;
    match file.try_lock_shared() {
        Ok(()) => Ok(DataDirLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(BackupError::Running(dir.to_path_buf())),
        Err(std::fs::TryLockError::Error(source)) => Err(BackupError::Io { path, source }),
    }
}

fn lock_file(path: &Path) -> Result<File, BackupError> {
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|source| BackupError::Io { path: path.to_path_buf(), source })
}

fn sqlite(path: &Path) -> impl Fn(rusqlite::Error) -> BackupError + '_ {
    move |source| BackupError::Sqlite { path: path.to_path_buf(), source }
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |source| BackupError::Io { path: path.to_path_buf(), source }
}

/// Copies the database at `source` (which a service may be writing) to `target`, consistent as
/// of one moment; returns what was copied.
pub fn backup(source: &Path, target: &Path) -> Result<Copied, BackupError> {
    if !source.exists() {
        return Err(BackupError::Missing(source.to_path_buf()));
    }
    let from = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(sqlite(source))?;
    from.busy_timeout(Duration::from_secs(10)).map_err(sqlite(source))?;
    // One read snapshot for the whole copy (WAL: the writer goes on meanwhile).
    from.execute_batch("BEGIN DEFERRED; SELECT count(*) FROM sqlite_schema;").map_err(sqlite(source))?;
    let partial = partial_path(target);
    let _ = std::fs::remove_file(&partial);
    let copied = copy_into(&from, &partial, source);
    let _ = from.execute_batch("COMMIT");
    let pages = match copied {
        Ok(pages) => pages,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e);
        }
    };
    finish(&partial, target)?;
    let bytes = std::fs::metadata(target).map_err(io(target))?.len();
    Ok(Copied { pages, bytes })
}

/// `target` with `.partial` added: where a copy is made before it is renamed into place.
fn partial_path(target: &Path) -> PathBuf {
    let mut name = target.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    target.with_file_name(name)
}

/// The online backup from `from` into a new database at `partial`, in steps; the page count.
fn copy_into(from: &Connection, partial: &Path, source: &Path) -> Result<i64, BackupError> {
    let mut to = Connection::open(partial).map_err(sqlite(partial))?;
    {
        let copy = rusqlite::backup::Backup::new(from, &mut to).map_err(sqlite(source))?;
        loop {
            match copy.step(PAGES_PER_STEP).map_err(sqlite(source))? {
                rusqlite::backup::StepResult::Done => break,
                rusqlite::backup::StepResult::More => std::thread::yield_now(),
                // Busy or locked: another connection holds a lock a moment; try again.
                _ => std::thread::sleep(Duration::from_millis(5)),
            }
        }
    }
    // One file, no -wal beside it: the backup is whole by itself.
    to.pragma_update(None, "journal_mode", "DELETE").map_err(sqlite(partial))?;
    integrity(&to, partial)?;
    let pages: i64 = to.query_row("PRAGMA page_count", [], |r| r.get(0)).map_err(sqlite(partial))?;
    Ok(pages)
}

/// Syncs `partial` and renames it to `target` (and syncs the directory).
fn finish(partial: &Path, target: &Path) -> Result<(), BackupError> {
    File::open(partial).and_then(|f| f.sync_all()).map_err(io(partial))?;
    std::fs::rename(partial, target).map_err(io(target))?;
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        let _ = File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(())
}

/// `PRAGMA integrity_check` is `ok`, or the error says what it found.
fn integrity(conn: &Connection, path: &Path) -> Result<(), BackupError> {
    let mut statement = conn.prepare("PRAGMA integrity_check").map_err(sqlite(path))?;
    let rows: Vec<String> =
        statement.query_map([], |r| r.get(0)).map_err(sqlite(path))?.collect::<Result<_, _>>().map_err(sqlite(path))?;
    if rows == ["ok"] {
        Ok(())
    } else {
        Err(BackupError::Corrupt { path: path.to_path_buf(), report: rows.join("; ") })
    }
}

/// Checks the backup at `from` is an intact SQLite database of a schema this program knows
/// (`known_version`: its number of migrations), then puts it in place of the database `db` of
/// the data directory `data_dir`, whose service `name` must be stopped. The database it
/// replaces is kept as `{db}.before-restore` (its WAL checkpointed into it first).
pub fn restore(from: &Path, data_dir: &Path, name: &str, db: &Path, known_version: i64) -> Result<(), BackupError> {
    if !from.exists() {
        return Err(BackupError::Missing(from.to_path_buf()));
    }
    let _lock = lock_data_dir(data_dir, name)?;
    let backup = Connection::open_with_flags(from, OpenFlags::SQLITE_OPEN_READ_ONLY).map_err(sqlite(from))?;
    integrity(&backup, from)?;
    let found: i64 = backup.query_row("PRAGMA user_version", [], |r| r.get(0)).map_err(sqlite(from))?;
    if found > known_version {
        return Err(BackupError::Newer { path: from.to_path_buf(), found, known: known_version });
    }
    if db.exists() {
        let old = Connection::open(db).map_err(sqlite(db))?;
        old.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(())).map_err(sqlite(db))?;
        drop(old);
        let mut kept = db.as_os_str().to_os_string();
        kept.push(".before-restore");
        std::fs::rename(db, &kept).map_err(io(db))?;
    }
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_os_string();
        side.push(suffix);
        let _ = std::fs::remove_file(PathBuf::from(side));
    }
    let partial = partial_path(db);
    let _ = std::fs::remove_file(&partial);
    copy_into(&backup, &partial, from)?;
    finish(&partial, db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_taken_while_writing_restores_whole_and_a_running_service_blocks_restore() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("live.db");
        let conn = Connection::open(&db).unwrap();
        conn.pragma_update(None, "journal_mode", "WAL").unwrap();
        conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, pad TEXT); PRAGMA user_version = 3;").unwrap();
        let pad = "x".repeat(2000);
        for n in 0..2000 {
            conn.execute("INSERT INTO t VALUES (?1, ?2)", (n, &pad)).unwrap();
        }
        // A writer keeps going during the backup.
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let (db, stop, pad) = (db.clone(), stop.clone(), pad.clone());
            std::thread::spawn(move || {
                let conn = Connection::open(&db).unwrap();
                conn.busy_timeout(Duration::from_secs(5)).unwrap();
                let mut n = 2000;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    conn.execute("INSERT INTO t VALUES (?1, ?2)", (n, &pad)).unwrap();
                    n += 1;
                }
                n
            })
        };
        let target = dir.path().join("copy.db");
        let copied = backup(&db, &target).unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let written = writer.join().unwrap();
        assert!(copied.pages > 1000 && copied.bytes > 4_000_000, "{copied:?}");
        let copy = Connection::open(&target).unwrap();
        let (count, max): (i64, i64) =
            copy.query_row("SELECT count(*), max(n) FROM t", [], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        assert_eq!(count, max + 1, "one consistent moment: no gaps");
        assert!(count >= 2000 && count <= written, "{count} of {written}");
        let mode: String = copy.query_row("PRAGMA journal_mode", [], |r| r.get(0)).unwrap();
        assert_eq!(mode, "delete", "a backup is one file");
        drop(copy);

        let lock = lock_data_dir(dir.path(), "live").unwrap();
        let refused = restore(&target, dir.path(), "live", &db, 3).unwrap_err();
        assert!(matches!(refused, BackupError::Running(_)), "{refused}");
        drop(lock);
        // Site processes share the lock; restore and a hub's exclusive lock wait for all to end.
        let (one, two) = (share_data_dir(dir.path(), "live").unwrap(), share_data_dir(dir.path(), "live").unwrap());
        assert!(matches!(restore(&target, dir.path(), "live", &db, 3), Err(BackupError::Running(_))));
        drop(one);
        assert!(matches!(lock_data_dir(dir.path(), "live"), Err(BackupError::Running(_))));
        drop(two);
        let newer = restore(&target, dir.path(), "live", &db, 2).unwrap_err();
        assert!(newer.to_string().contains("newer"), "{newer}");
        drop(conn);
        restore(&target, dir.path(), "live", &db, 3).unwrap();
        let back = Connection::open(&db).unwrap();
        let restored: i64 = back.query_row("SELECT count(*) FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(restored, count);
        assert!(dir.path().join("live.db.before-restore").exists());
        std::fs::write(dir.path().join("junk.db"), vec![7u8; 8192]).unwrap();
        assert!(restore(&dir.path().join("junk.db"), dir.path(), "live", &db, 3).is_err(), "not a database");
    }
}
