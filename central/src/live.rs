//! Watches the `dawr_live` bucket and keeps each branch's profile and last health in
//! PostgreSQL (the reports need its UTC offset and service targets), and its last board,
//! counters and devices (the dashboard shows them).
use async_nats::jetstream::kv::{Operation, Store};
use dawr_protocol::api::ministry::LiveHealth;
use futures_util::StreamExt;

use crate::store;

/// Follows the bucket until an error (the caller starts again after a pause).
pub async fn run(live: &Store, pool: &deadpool_postgres::Pool) -> anyhow::Result<()> {
    let mut watch = live.watch_all().await?;
    while let Some(entry) = watch.next().await {
        let entry = entry?;
        if entry.operation != Operation::Put {
            continue;
        }
        if let Some((branch, part @ ("board" | "counters" | "devices"))) = entry.key.rsplit_once('.') {
            match serde_json::from_slice::<serde_json::Value>(&entry.value) {
                Ok(value) => store::put_live_part(&**pool.get().await?, branch, part, &value).await?,
                Err(e) => tracing::warn!(key = %entry.key, error = %e, "a live entry that does not read"),
            }
            continue;
        }
        if !entry.key.ends_with(".health") {
            continue;
        }
        match serde_json::from_slice::<LiveHealth>(&entry.value) {
            Ok(health) => store::put_health(&**pool.get().await?, &health).await?,
            Err(e) => tracing::warn!(key = %entry.key, error = %e, "a health entry that does not read"),
        }
    }
    Ok(())
}
