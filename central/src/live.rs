//! Watches the `dawr_live` bucket and keeps each branch's profile and last health in
//! PostgreSQL (the reports need its UTC offset and service targets), and its last board,
//! counters and devices (the dashboard shows them).
//!
//! Every entry is read as its protocol type before it is kept, and only under its own branch's
//! key: a branch may put only its own keys (NATS permissions), and the centre keeps a value only
//! if it names that same branch, so no branch can write another's live state.
use async_nats::jetstream::kv::{Operation, Store, WatchError, WatcherError};
use dawr_protocol::api::ministry::LiveHealth;
use futures_util::StreamExt;

use crate::store::{self, DbError, LivePart};

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

/// What a `dawr_live` entry holds, read from its key and value.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    Health(LiveHealth),
    Part(LivePart),
    /// A key the centre does not keep.
    Other,
}

/// Why an entry is not kept.
#[derive(Debug, thiserror::Error)]
enum Unreadable {
    #[error("not its type: {0}")]
    Json(#[from] serde_json::Error),
    #[error("it names branch {named}, not its key's")]
    OtherBranch { named: String },
}

/// Reads the entry at `key` (`{branch}.health`, `.board`, `.counters` or `.devices`).
fn read_entry(key: &str, value: &[u8]) -> Result<Entry, Unreadable> {
    let Some((branch, part)) = key.rsplit_once('.') else { return Ok(Entry::Other) };
    let entry = match part {
        "health" => Entry::Health(serde_json::from_slice(value)?),
        "board" => Entry::Part(LivePart::Board(serde_json::from_slice(value)?)),
        "counters" => Entry::Part(LivePart::Counters(serde_json::from_slice(value)?)),
        "devices" => Entry::Part(LivePart::Devices(serde_json::from_slice(value)?)),
        _ => return Ok(Entry::Other),
    };
    let named = match &entry {
        Entry::Health(health) => health.branch.as_str(),
        Entry::Part(part) => part.branch(),
        Entry::Other => branch,
    };
    if named != branch {
        return Err(Unreadable::OtherBranch { named: named.into() });
    }
    Ok(entry)
}

/// Follows the bucket until an error (the caller starts again after a pause).
pub async fn run(live: &Store, pool: &deadpool_postgres::Pool) -> Result<(), LiveError> {
    let mut watch = live.watch_all().await?;
    while let Some(entry) = watch.next().await {
        let entry = entry?;
        if entry.operation != Operation::Put {
            continue;
        }
        match read_entry(&entry.key, &entry.value) {
            Ok(Entry::Health(health)) => put_health(pool, &health).await?,
            Ok(Entry::Part(part)) => put_live_part(pool, &part).await?,
            Ok(Entry::Other) => {}
            Err(e) => tracing::warn!(key = %entry.key, error = %e, "a live entry not kept"),
        }
    }
    Ok(())
}

/// Keeps a branch's board, counters or devices as its hub last put them.
async fn put_live_part(pool: &deadpool_postgres::Pool, part: &LivePart) -> Result<(), DbError> {
    Ok(store::put_live_part(&**pool.get().await?, part).await?)
}

/// Keeps a branch's profile and last health.
async fn put_health(pool: &deadpool_postgres::Pool, health: &LiveHealth) -> Result<(), DbError> {
    Ok(store::put_health(&**pool.get().await?, health).await?)
}

#[cfg(test)]
mod tests {
    use dawr_protocol::api::ministry::{LiveBoard, LiveQueue};

    use super::*;

    fn board(branch: &str) -> Vec<u8> {
        let queue = LiveQueue { service: "A".into(), waiting: 3, longest_wait_s: 240 };
        serde_json::to_vec(&LiveBoard { branch: branch.into(), last_seq: 9, queues: vec![queue] }).unwrap()
    }

    #[test]
    fn an_entry_is_read_as_its_keys_type_and_kept_only_under_its_own_branch() {
        let Ok(Entry::Part(LivePart::Board(read))) = read_entry("b1.board", &board("b1")) else {
            panic!("a board under its branch's key reads as a board")
        };
        assert_eq!((read.branch.as_str(), read.queues[0].waiting), ("b1", 3));
        let other = read_entry("b1.board", &board("b2"));
        assert!(matches!(other, Err(Unreadable::OtherBranch { ref named }) if named == "b2"), "{other:?}");
        assert!(matches!(read_entry("b1.counters", &board("b1")), Err(Unreadable::Json(_))), "a board is no counters");
        assert!(matches!(read_entry("b1.devices", b"{"), Err(Unreadable::Json(_))));
        assert!(matches!(read_entry("b1.notes", b"anything"), Ok(Entry::Other)));
        assert!(matches!(read_entry("nodot", b"anything"), Ok(Entry::Other)));
    }
}
