//! The durable pull consumer that writes every branch's events into PostgreSQL: fetch up to
//! 1,000, insert them in one transaction, commit, then acknowledge each. A crash before the
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

use async_nats::jetstream::consumer::{self, AckPolicy, PullConsumer};
use async_nats::jetstream::stream::Stream;
use chrono::NaiveDate;
use futures_util::StreamExt;

use crate::batch;
use crate::store;

/// The consumer's durable name.
pub const CONSUMER: &str = "central-writer";
/// The most events fetched and written at once.
pub const BATCH: usize = 1000;

/// The pause after finding nothing to write.
const IDLE: Duration = Duration::from_millis(50);

/// The longest a fetch may go unanswered. A pull request that reaches the consumer while its
/// leader dies (a NATS node killed) gets no reply at all, and a fetch without a deadline waits
/// for that reply for ever: the writer stalled there until it was restarted.
const FETCH_PATIENCE: Duration = Duration::from_secs(5);

/// Gets (or makes) the writer's durable consumer.
pub async fn consumer(events: &Stream) -> anyhow::Result<PullConsumer> {
    Ok(events
        .get_or_create_consumer(
            CONSUMER,
            consumer::pull::Config {
                durable_name: Some(CONSUMER.into()),
                ack_policy: AckPolicy::Explicit,
                ack_wait: Duration::from_secs(10),
                max_ack_pending: 20 * BATCH as i64,
                ..Default::default()
            },
        )
        .await?)
}

/// Writes batches until an error (the caller starts again after a pause).
pub async fn run(consumer: &PullConsumer, pool: &deadpool_postgres::Pool) -> anyhow::Result<()> {
    let mut months: BTreeSet<NaiveDate> = BTreeSet::new();
    loop {
        // What is there now, up to a batch (a fetch does not wait for a full batch).
        let mut fetched = consumer.fetch().max_messages(BATCH).messages().await?;
        let mut messages = Vec::new();
        let collected = tokio::time::timeout(FETCH_PATIENCE, async {
            while let Some(message) = fetched.next().await {
                messages.push(message.map_err(|e| anyhow::anyhow!("fetching: {e}"))?);
            }
            anyhow::Ok(())
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
        let mut rows = Vec::with_capacity(messages.len());
        for message in &messages {
            match batch::row(&message.payload) {
                Ok(row) => rows.push(row),
                Err(e) => tracing::warn!(subject = %message.subject, error = %e, "a message set aside"),
            }
        }
        let mut client = pool.get().await?;
        store::ensure_partitions(&**client, batch::months(&rows), &mut months).await?;
        let tx = client.transaction().await?;
        let new = store::insert(&tx, &rows).await?;
        tx.commit().await?;
        for message in &messages {
            message.ack().await.map_err(|e| anyhow::anyhow!("acknowledging: {e}"))?;
        }
        tracing::debug!(fetched = messages.len(), new, "batch written");
    }
}
