//! The SQL of `corrective_actions` (migration `019_corrective_actions.sql`): insert, read,
//! change. What is written was checked by [`super::rules`] first.
use chrono::{DateTime, Utc};
use dawr_protocol::api::actions::{ActionStatus, CauseKind, NewAction};
use rusqlite::{Connection, OptionalExtension, Row, params};

use crate::store::ts;

/// A stored action: its fields and who made and last changed it.
#[derive(Debug, Clone, PartialEq)]
pub struct Stored {
    pub id: i64,
    pub action: NewAction,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
}

fn code<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

fn parse<T: serde::de::DeserializeOwned>(text: String) -> rusqlite::Result<T> {
    serde_json::from_value(serde_json::Value::String(text))
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

fn time(text: String) -> rusqlite::Result<DateTime<Utc>> {
    text.parse().map_err(|e: chrono::ParseError| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

fn day(text: String) -> rusqlite::Result<chrono::NaiveDate> {
    text.parse().map_err(|e: chrono::ParseError| rusqlite::Error::ToSqlConversionFailure(e.into()))
}

const COLUMNS: &str = "id, cause_kind, cause, service, action, owner, due, starts, status, created_by, created_at, updated_by, updated_at";

fn stored(row: &Row<'_>) -> rusqlite::Result<Stored> {
    Ok(Stored {
        id: row.get(0)?,
        action: NewAction {
            cause_kind: parse::<CauseKind>(row.get(1)?)?,
            cause: row.get(2)?,
            service: row.get(3)?,
            action: row.get(4)?,
            owner: row.get(5)?,
            due: day(row.get(6)?)?,
            starts: day(row.get(7)?)?,
            status: parse::<ActionStatus>(row.get(8)?)?,
        },
        created_by: row.get(9)?,
        created_at: time(row.get(10)?)?,
        updated_by: row.get(11)?,
        updated_at: time(row.get(12)?)?,
    })
}

/// Stores a new action by `by` at `now`; its id.
pub fn insert(conn: &Connection, action: &NewAction, by: &str, now: DateTime<Utc>) -> rusqlite::Result<i64> {
    conn.execute(
        "INSERT INTO corrective_actions (cause_kind, cause, service, action, owner, due, starts, status,
             created_by, created_at, updated_by, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9, ?10)",
        params![
            code(action.cause_kind),
            action.cause,
            action.service,
            action.action,
            action.owner,
            action.due.to_string(),
            action.starts.to_string(),
            code(action.status),
            by,
            ts(now)
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

/// One action.
pub fn get(conn: &Connection, id: i64) -> rusqlite::Result<Option<Stored>> {
    conn.query_row(&format!("SELECT {COLUMNS} FROM corrective_actions WHERE id = ?1"), [id], stored).optional()
}

/// Every action, oldest first.
pub fn list(conn: &Connection) -> rusqlite::Result<Vec<Stored>> {
    let mut statement = conn.prepare(&format!("SELECT {COLUMNS} FROM corrective_actions ORDER BY id"))?;
    let rows = statement.query_map([], stored)?;
    rows.collect()
}

/// Writes `action`'s changeable fields over action `id`, by `by` at `now`.
pub fn update(conn: &Connection, id: i64, action: &NewAction, by: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE corrective_actions SET action = ?2, owner = ?3, due = ?4, starts = ?5, status = ?6, updated_by = ?7,
             updated_at = ?8 WHERE id = ?1",
        params![
            id,
            action.action,
            action.owner,
            action.due.to_string(),
            action.starts.to_string(),
            code(action.status),
            by,
            ts(now)
        ],
    )?;
    Ok(())
}
