//! The centre's NATS side: the connection, and the stream and buckets it owns.
use std::time::Duration;

use async_nats::jetstream::{self, kv, stream};

/// The stream every branch's events go to.
pub const EVENTS_STREAM: &str = "DAWR_EVENTS";
/// Its subjects: `dawr.v1.evt.{branch}`.
pub const EVENTS_SUBJECTS: &str = "dawr.v1.evt.>";
/// The branches' live state (`{branch}.health|board|counters`).
pub const LIVE_BUCKET: &str = "dawr_live";
/// One configuration key per branch.
pub const CONFIG_BUCKET: &str = "dawr_config";
/// How long a branch's live keys last without being put again: then it shows as offline.
pub const LIVE_MAX_AGE: Duration = Duration::from_secs(120);
/// How long the stream keeps events (a branch may be away this long and lose nothing).
pub const EVENTS_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// How the centre logs in to NATS.
#[derive(Debug, Clone)]
pub struct NatsLogin {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
}

/// Connects (waiting for the server as long as it takes).
pub async fn connect(login: &NatsLogin) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut options = async_nats::ConnectOptions::new().name("dawr-central").retry_on_initial_connect();
    if let (Some(user), Some(password)) = (&login.user, &login.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    options.connect(&login.url).await
}

/// Makes the events stream and the two buckets if they are missing; returns the stream.
pub async fn ensure(js: &jetstream::Context) -> anyhow::Result<stream::Stream> {
    let events = js
        .get_or_create_stream(stream::Config {
            name: EVENTS_STREAM.into(),
            subjects: vec![EVENTS_SUBJECTS.into()],
            storage: stream::StorageType::File,
            max_age: EVENTS_MAX_AGE,
            duplicate_window: Duration::from_secs(120),
            ..Default::default()
        })
        .await?;
    if js.get_key_value(LIVE_BUCKET).await.is_err() {
        js.create_key_value(kv::Config {
            bucket: LIVE_BUCKET.into(),
            history: 1,
            max_age: LIVE_MAX_AGE,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await?;
    }
    if js.get_key_value(CONFIG_BUCKET).await.is_err() {
        js.create_key_value(kv::Config {
            bucket: CONFIG_BUCKET.into(),
            history: 5,
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await?;
    }
    Ok(events)
}
