//! The SQL of the configuration from the centre (`centre_config`, migration 014): the applied
//! revision and its body (the last good configuration), and the last refusal with its reason.
use chrono::Utc;
use dawr_protocol::api::ministry::ConfigRefusal;
use rusqlite::{Connection, OptionalExtension, params};

use super::config::ConfigState;

/// The stored state.
pub fn state(conn: &Connection) -> rusqlite::Result<ConfigState> {
    conn.query_row("SELECT revision, refused_revision, refused_reason FROM centre_config WHERE id = 1", [], |r| {
        let refused = match (r.get::<_, Option<i64>>(1)?, r.get::<_, Option<String>>(2)?) {
            (Some(revision), Some(reason)) => Some(ConfigRefusal { revision: revision as u64, reason }),
            _ => None,
        };
        Ok(ConfigState { applied: r.get::<_, Option<i64>>(0)?.map(|r| r as u64), refused })
    })
}

/// The last good configuration's revision and body, if the centre ever sent one.
pub fn stored_body(conn: &Connection) -> rusqlite::Result<Option<(u64, String)>> {
    conn.query_row("SELECT revision, body FROM centre_config WHERE id = 1 AND revision IS NOT NULL", [], |r| {
        Ok((r.get::<_, i64>(0)? as u64, r.get(1)?))
    })
    .optional()
}

/// Records an applied configuration (the last good one from now on).
pub fn record_applied(conn: &Connection, revision: u64, body: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE centre_config SET revision = ?1, body = ?2, applied_at = ?3 WHERE id = 1",
        params![revision as i64, body, crate::store::ts(Utc::now())],
    )?;
    Ok(())
}

/// Records a refused configuration and why.
pub fn record_refused(conn: &Connection, revision: u64, reason: &str) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE centre_config SET refused_revision = ?1, refused_reason = ?2 WHERE id = 1",
        params![revision as i64, reason],
    )?;
    Ok(())
}
