//! Watches the `dawr_live` bucket and keeps each branch's profile and last health in
//! PostgreSQL (the reports need its UTC offset and service targets), and its last board,
//! counters and devices (the dashboard shows them).
use async_nats::jetstream::kv::{Operation, Store, WatchError, WatcherError};
use dawr_protocol::api::ministry::LiveHealth;
use futures_util::StreamExt;

use crate::store::{self, DbError};

/// What stops following the live state (the caller starts again after a pause).
#[derive(Debug, thiserror::Error)]
pub enum LiveError {
    #[error("watching dawr_live: {0}")]
    Watch(#[from] WatchError),
    #[error("reading dawr_live: {0}")]
    Entry(#[from] WatcherError),
    #[error(transparent)]
    Db(#[from] DbError),
}

/// Follows the bucket until an error (the caller starts again after a pause).
pub async fn run(live: &Store, pool: &deadpool_postgres::Pool) -> Result<(), LiveError> {
    let mut watch = live.watch_all().await?;
    while let Some(entry) = watch.next().await {
        let entry = entry?;
        if entry.operation != Operation::Put {
            continue;
        }
        if let Some((branch, part @ ("board" | "counters" | "devices"))) = entry.key.rsplit_once('.') {
            match serde_json::from_slice::<serde_json::Value>(&entry.value) {
                Ok(value) => put_live_part(pool, branch, part, &value).await?,
                Err(e) => tracing::warn!(key = %entry.key, error = %e, "a live entry that does not read"),
            }
            continue;
        }
        if !entry.key.ends_with(".health") {
            continue;
        }
        match serde_json::from_slice::<LiveHealth>(&entry.value) {
            Ok(health) => put_health(pool, &health).await?,
            Err(e) => tracing::warn!(key = %entry.key, error = %e, "a health entry that does not read"),
        }
    }
    Ok(())
}

/// Keeps a branch's board, counters or devices as its hub last put them.
async fn put_live_part(
    pool: &deadpool_postgres::Pool,
    branch: &str,
    part: &str,
    value: &serde_json::Value,
) -> Result<(), DbError> {
    Ok(store::put_live_part(&**pool.get().await?, branch, part, value).await?)
}

/// Keeps a branch's profile and last health.
async fn put_health(pool: &deadpool_postgres::Pool, health: &LiveHealth) -> Result<(), DbError> {
    Ok(store::put_health(&**pool.get().await?, health).await?)
}
