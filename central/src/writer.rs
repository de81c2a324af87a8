//! The durable pull consumers that write every branch's events into PostgreSQL (one for live
//! events, one for catch-up after an outage, each run by its own task): fetch up to 1,000,
//! insert them in one transaction, commit, then acknowledge each. A crash before the
//! commit leaves the batch unacknowledged, so JetStream delivers it again (after `ack_wait`); a
//! crash between commit and acknowledgement delivers it again too, and the key
//! `(branch, log_id, seq)` drops it. Either way: nothing lost, nothing twice.
//!
//! Each message is acknowledged by itself (`AckPolicy::Explicit`), never "all before it": after
//! a `kill -9`, the batch the dead writer held is still pending while the new writer fetches
//! later messages, and acknowledging those "and all before" would acknowledge the dead
//! writer's unwritten batch too.
use std::collections::BTreeSet;
use std::time::Duration;

use async_nats::jetstream::consumer::pull::BatchError;
use async_nats::jetstream::consumer::{self, AckPolicy, PullConsumer};
use async_nats::jetstream::stream::{ConsumerError, Stream};
use chrono::NaiveDate;
use futures_util::StreamExt;

use crate::batch;
use crate::store;

/// The durable consumer of the branches' live events (`dawr.v1.evt.{branch}`).
pub const LIVE_CONSUMER: &str = "central-live";
/// The durable consumer of their catch-up after an outage (`dawr.v1.evt.{branch}.catchup`).
pub const CATCH_UP_CONSUMER: &str = "central-catchup";
/// The most events fetched and written at once.
pub const BATCH: usize = 1000;

/// The pause after finding nothing to write.
const IDLE: Duration = Duration::from_millis(50);

/// The longest a fetch may go unanswered. A pull request that reaches the consumer while its
/// leader dies (a NATS node killed) gets no reply at all, and a fetch without a deadline waits
/// for that reply for ever: the writer stalled there until it was restarted.
const FETCH_PATIENCE: Duration = Duration::from_secs(5);

/// What stops a writer (its owner starts it again) or its consumers' setting up.
#[derive(Debug, thiserror::Error)]
pub enum WriterError {
    /// A durable consumer could not be got or made.
    #[error("the consumer {name}: {error}")]
    Consumer { name: String, error: ConsumerError },
    #[error("deleting the retired consumer {name}: {error}")]
    Retire { name: &'static str, error: ConsumerError },
    /// The pull request itself failed.
    #[error("asking for a batch: {0}")]
    Ask(#[from] BatchError),
    /// A message of the batch did not come.
    #[error("fetching: {0}")]
    Fetch(async_nats::Error),
    #[error("acknowledging: {0}")]
    Acknowledge(async_nats::Error),
    #[error(transparent)]
    Db(#[from] store::DbError),
}

/// The durable consumer of the branches' case notes (stream `DAWR_CASES`).
pub const CASES_CONSUMER: &str = "central-cases";

/// The case notes' durable consumer.
pub async fn case_consumer(cases: &Stream) -> Result<PullConsumer, WriterError> {
    consumer(cases, CASES_CONSUMER, crate::nats::CASES_SUBJECTS).await
}

/// The writer's two durable consumers: live events, and catch-up. Each is written by a task of
/// its own, so a reconnected branch's backlog (hundreds of thousands of events, read in order)
/// never stands in front of the live events of branches that stayed connected.
pub async fn consumers(events: &Stream) -> Result<[PullConsumer; 2], WriterError> {
    Ok([
        consumer(events, LIVE_CONSUMER, crate::nats::LIVE_FILTER).await?,
        consumer(events, CATCH_UP_CONSUMER, crate::nats::CATCH_UP_FILTER).await?,
    ])
}

/// Durable consumers of the events stream that no centre uses any more: `central-writer`, the
/// single consumer of every event before live and catch-up were split. Left on a stream after
/// an upgrade it would keep every event pending for ever (and the server its state).
pub const RETIRED_CONSUMERS: [&str; 1] = ["central-writer"];

/// Deletes the [`RETIRED_CONSUMERS`] still on the events stream; one already gone is fine, so
/// every start may call it.
pub async fn retire_old_consumers(events: &Stream) -> Result<(), WriterError> {
    use async_nats::jetstream::{ErrorCode, stream::ConsumerErrorKind};
    for name in RETIRED_CONSUMERS {
        match events.delete_consumer(name).await {
            Ok(_) => tracing::info!(consumer = name, "a consumer no longer used is deleted"),
            Err(e) if matches!(e.kind(), ConsumerErrorKind::JetStream(j) if j.error_code() == ErrorCode::CONSUMER_NOT_FOUND) =>
                {}
            Err(error) => return Err(WriterError::Retire { name, error }),
        }
    }
    Ok(())
}

/// Gets (or makes) one durable consumer of the events whose subject matches `filter`.
async fn consumer(events: &Stream, name: &str, filter: &str) -> Result<PullConsumer, WriterError> {
    events
        .get_or_create_consumer(
            name,
            consumer::pull::Config {
                durable_name: Some(name.into()),
                filter_subject: filter.into(),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(10),
                max_ack_pending: 20 * BATCH as i64,
                ..Default::default()
            },
        )
        .await
        .map_err(|error| WriterError::Consumer { name: name.into(), error })
}

/// What a consumer's messages are, and so where they are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Written {
    /// Branch log events (`UplinkEvent`) into `events`.
    Events,
    /// Case changes (`UplinkCaseNote`) into `case_notes`.
    CaseNotes,
}

/// Writes batches until an error (the caller starts again after a pause).
pub async fn run(consumer: &PullConsumer, pool: &deadpool_postgres::Pool, written: Written) -> Result<(), WriterError> {
    let mut months: BTreeSet<NaiveDate> = BTreeSet::new();
    loop {
        // What is there now, up to a batch (a fetch does not wait for a full batch).
        let mut fetched = consumer.fetch().max_messages(BATCH).messages().await?;
        let mut messages = Vec::new();
        let collected = tokio::time::timeout(FETCH_PATIENCE, async {
            while let Some(message) = fetched.next().await {
                messages.push(message.map_err(WriterError::Fetch)?);
            }
            Ok::<_, WriterError>(())
        })
        .await;
        match collected {
            Ok(done) => done?,
            // What came is written (the rest is delivered again after `ack_wait`); then a new fetch.
            Err(_) => tracing::warn!(received = messages.len(), "a fetch went unanswered; asking again"),
        }
        if messages.is_empty() {
            tokio::time::sleep(IDLE).await;
            continue;
        }
        let mut client = pool.get().await.map_err(store::DbError::from)?;
        let new = match written {
            Written::Events => write_events(&mut client, &messages, &mut months).await?,
            Written::CaseNotes => write_case_notes(&mut client, &messages).await?,
        };
        for message in &messages {
            message.ack().await.map_err(WriterError::Acknowledge)?;
        }
        tracing::debug!(fetched = messages.len(), new, "batch written");
    }
}

/// Inserts a batch of events in one transaction; returns how many were new.
async fn write_events(
    client: &mut deadpool_postgres::Object,
    messages: &[async_nats::jetstream::Message],
    months: &mut BTreeSet<NaiveDate>,
) -> Result<u64, store::DbError> {
    let mut rows = Vec::with_capacity(messages.len());
    for message in messages {
        match batch::row(&message.payload) {
            Ok(row) => rows.push(row),
            Err(e) => tracing::warn!(subject = %message.subject, error = %e, "a message set aside"),
        }
    }
    store::ensure_partitions(&***client, batch::months(&rows), months).await?;
    let tx = client.transaction().await?;
    let new = store::insert(&tx, &rows).await?;
    tx.commit().await?;
    Ok(new)
}

/// Stores a batch of case changes in one transaction, in order; returns how many changed a case.
async fn write_case_notes(
    client: &mut deadpool_postgres::Object,
    messages: &[async_nats::jetstream::Message],
) -> Result<u64, store::DbError> {
    let tx = client.transaction().await?;
    let mut changed = 0;
    for message in messages {
        match serde_json::from_slice::<dawr_protocol::api::ministry::UplinkCaseNote>(&message.payload) {
            Ok(note) => changed += store::put_case_note(&tx, &note).await?,
            Err(e) => tracing::warn!(subject = %message.subject, error = %e, "a case note set aside"),
        }
    }
    tx.commit().await?;
    Ok(changed)
}
