//! The `sessions` table: the SHA-256 of each open session's token, whose it is, and its times.
//! The only SQL of `auth`.
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use dawr_web::db::{parse_ts, ts};

/// One stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredSession {
    pub token_sha256: String,
    pub staff: String,
    pub counter: Option<String>,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Saves a new session.
pub fn insert(conn: &Connection, s: &StoredSession) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO sessions (token_sha256, staff, counter, created_at, last_seen_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        s.token_sha256,
        s.staff,
        s.counter,
        ts(s.created_at),
        ts(s.last_seen_at),
        ts(s.expires_at)
    ])?;
    Ok(())
}

/// Deletes sessions by their tokens' hashes.
pub fn delete(conn: &Connection, hashes: &[String]) -> rusqlite::Result<()> {
    let mut statement = conn.prepare_cached("DELETE FROM sessions WHERE token_sha256 = ?1")?;
    for hash in hashes {
        statement.execute(params![hash])?;
    }
    Ok(())
}

/// Records when sessions were last used.
pub fn touch(conn: &mut Connection, seen: &[(String, DateTime<Utc>)]) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    {
        let mut statement = tx.prepare_cached("UPDATE sessions SET last_seen_at = ?2 WHERE token_sha256 = ?1")?;
        for (hash, at) in seen {
            statement.execute(params![hash, ts(*at)])?;
        }
    }
    tx.commit()
}

/// Every stored session.
pub fn all(conn: &Connection) -> rusqlite::Result<Vec<StoredSession>> {
    let mut statement =
        conn.prepare_cached("SELECT token_sha256, staff, counter, created_at, last_seen_at, expires_at FROM sessions")?;
    let rows = statement.query_map([], |row| {
        let time = |i: usize, name: &'static str| -> rusqlite::Result<DateTime<Utc>> {
            let text: String = row.get(i)?;
            parse_ts(name, &text)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e)))
        };
        Ok(StoredSession {
            token_sha256: row.get(0)?,
            staff: row.get(1)?,
            counter: row.get(2)?,
            created_at: time(3, "created_at")?,
            last_seen_at: time(4, "last_seen_at")?,
            expires_at: time(5, "expires_at")?,
        })
    })?;
    rows.collect()
}
