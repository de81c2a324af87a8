//! The task that empties the outbox: the messages due, paced, each marked `sending`, handed to
//! the gateway, and its outcome recorded (submitted, a retry time, or failed).
use std::sync::Arc;
use std::time::Duration;

use dawr_web::Db;
use tokio::sync::Notify;

use super::outbox::{self, Due};
use super::rules::{self, AfterFailure, Pacer};
use super::{Gateway, SmsSettings};

/// How many messages are taken from the outbox at once (and sent concurrently).
const BATCH: usize = 32;

/// Sends until aborted; `wake` is notified when a message is put in.
pub fn spawn<G: Gateway + Clone>(
    gateway: G,
    settings: SmsSettings,
    db: Db,
    wake: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut pacer = Pacer::new(settings.messages_per_second);
        loop {
            let due = db.write(|c| outbox::due(c, crate::clock::now(), BATCH)).await;
            let due = match due {
                Ok(Ok(due)) => due,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the SMS outbox could not be read");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                    continue;
                }
                Err(_) => return,
            };
            if due.is_empty() {
                let _ = tokio::time::timeout(Duration::from_millis(250), wake.notified()).await;
                continue;
            }
            let mut sends = tokio::task::JoinSet::new();
            for message in due {
                let parts = dawr_smpp::text::encode(&message.body, 1).parts.len() as u32;
                loop {
                    let wait = pacer.wait(parts, crate::clock::now());
                    if wait.is_zero() {
                        break;
                    }
                    tokio::time::sleep(wait).await;
                }
                let id = message.id;
                if !matches!(db.write(move |c| outbox::mark_sending(c, id, crate::clock::now())).await, Ok(Ok(()))) {
                    continue;
                }
                let (gateway, db, settings) = (gateway.clone(), db.clone(), settings.clone());
                sends.spawn(async move { send_one(&gateway, &db, &settings, message).await });
            }
            sends.join_all().await;
        }
    })
}

async fn send_one<G: Gateway>(gateway: &G, db: &Db, settings: &SmsSettings, message: Due) {
    let outcome = gateway.send(&message).await;
    let now = crate::clock::now();
    let (id, attempts, created_at) = (message.id, message.attempts + 1, message.created_at);
    let (max_backoff, expire_after) = (settings.max_backoff, settings.expire_after);
    let written = db
        .write(move |c| match outcome {
            Ok(gateway_ids) => outbox::mark_submitted(c, id, &gateway_ids, now),
            Err(error) => {
                let retry =
                    match rules::after_failure(error.transient, attempts, created_at, now, max_backoff, expire_after) {
                        AfterFailure::RetryAt(at) => Some(at),
                        AfterFailure::GiveUp => None,
                    };
                outbox::mark_failed_attempt(c, id, &error.message, retry, now)
            }
        })
        .await;
    if let Ok(Err(e)) = written {
        tracing::warn!(error = %e, message = %message.message_id, "an SMS outcome could not be written");
    }
}
