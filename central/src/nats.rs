//! The centre's NATS side: the connection, and the stream and buckets it owns.
use std::time::Duration;

use async_nats::jetstream::context::CreateStreamError;
use async_nats::jetstream::{self, stream};

/// The stream every branch's events go to.
pub const EVENTS_STREAM: &str = "DAWR_EVENTS";
/// Its subjects: `dawr.v1.evt.{branch}` (live) and `dawr.v1.evt.{branch}.catchup` (a backlog
/// sent after an outage).
pub const EVENTS_SUBJECTS: &str = "dawr.v1.evt.>";
/// The live events' subjects (the writer's live consumer).
pub const LIVE_FILTER: &str = "dawr.v1.evt.*";
/// The catch-up subjects (the writer's catch-up consumer).
pub const CATCH_UP_FILTER: &str = "dawr.v1.evt.*.catchup";
/// The stream every branch's case notes go to.
pub const CASES_STREAM: &str = "DAWR_CASES";
/// Its subjects: `dawr.v1.case.{branch}`.
pub const CASES_SUBJECTS: &str = "dawr.v1.case.>";
/// The branches' live state (`{branch}.health|board|counters`).
pub const LIVE_BUCKET: &str = "dawr_live";
/// One configuration key per branch.
pub const CONFIG_BUCKET: &str = "dawr_config";
/// How long a branch's live keys last without being put again: then it shows as offline.
pub const LIVE_MAX_AGE: Duration = Duration::from_secs(120);
/// How long the stream keeps events (a branch may be away this long and lose nothing).
pub const EVENTS_MAX_AGE: Duration = Duration::from_secs(30 * 24 * 3600);

/// A stream or bucket the centre owns could not be made or found.
#[derive(Debug, thiserror::Error)]
#[error("the JetStream stream {stream}: {error}")]
pub struct StreamError {
    /// The stream's name (`KV_{bucket}` for a bucket).
    pub stream: String,
    pub error: CreateStreamError,
}

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
    options.connect(servers(&login.url)).await
}

/// The servers of `url`: one, or a cluster's comma-separated.
fn servers(url: &str) -> Vec<&str> {
    url.split(',').map(str::trim).filter(|s| !s.is_empty()).collect()
}

/// Connects once (a command-line tool fails at once when the server is not there).
pub async fn connect_once(login: &NatsLogin) -> Result<async_nats::Client, async_nats::ConnectError> {
    let mut options = async_nats::ConnectOptions::new().name("dawr-central");
    if let (Some(user), Some(password)) = (&login.user, &login.password) {
        options = options.user_and_password(user.clone(), password.clone());
    }
    options.connect(servers(&login.url)).await
}

/// Makes the events and case-notes streams and the two buckets if they are missing, with
/// `replicas` copies each (3 on a three-node cluster: one node may die and nothing is lost);
/// returns the two streams.
pub async fn ensure(js: &jetstream::Context, replicas: usize) -> Result<(stream::Stream, stream::Stream), StreamError> {
    let events = made(
        js,
        stream::Config {
            name: EVENTS_STREAM.into(),
            subjects: vec![EVENTS_SUBJECTS.into()],
            storage: stream::StorageType::File,
            max_age: EVENTS_MAX_AGE,
            duplicate_window: Duration::from_secs(120),
            num_replicas: replicas,
            ..Default::default()
        },
    )
    .await?;
    let cases = made(
        js,
        stream::Config {
            name: CASES_STREAM.into(),
            subjects: vec![CASES_SUBJECTS.into()],
            storage: stream::StorageType::File,
            max_age: EVENTS_MAX_AGE,
            duplicate_window: Duration::from_secs(120),
            num_replicas: replicas,
            ..Default::default()
        },
    )
    .await?;
    bucket(js, LIVE_BUCKET, 1, LIVE_MAX_AGE, replicas).await?;
    bucket(js, CONFIG_BUCKET, 5, Duration::ZERO, replicas).await?;
    Ok((events, cases))
}

/// Gets the stream `config` names, or makes it as `config` says.
async fn made(js: &jetstream::Context, config: stream::Config) -> Result<stream::Stream, StreamError> {
    let name = config.name.clone();
    js.get_or_create_stream(config).await.map_err(|error| StreamError { stream: name, error })
}

/// Makes a KV bucket's stream if it is missing, as the KV API lays it out (`KV_{bucket}` on
/// `$KV.{bucket}.>`, `history` values per key, rollups allowed). Made by hand because the
/// client's `create_key_value` asks for more than a 2.9 server (Debian 12's) answers.
async fn bucket(
    js: &jetstream::Context,
    name: &str,
    history: i64,
    max_age: Duration,
    replicas: usize,
) -> Result<(), StreamError> {
    let window = if max_age.is_zero() { Duration::from_secs(120) } else { max_age.min(Duration::from_secs(120)) };
    made(
        js,
        stream::Config {
            name: format!("KV_{name}"),
            subjects: vec![format!("$KV.{name}.>")],
            max_messages_per_subject: history,
            max_age,
            storage: stream::StorageType::File,
            allow_rollup: true,
            deny_delete: true,
            // A branch reads its own key with a direct get, whose subject names the key.
            allow_direct: true,
            discard: stream::DiscardPolicy::New,
            duplicate_window: window,
            num_replicas: replicas,
            ..Default::default()
        },
    )
    .await?;
    Ok(())
}
