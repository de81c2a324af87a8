//! SMS to visitors, through an outbox in the hub's database.
//!
//! - **Put in.** `outbox::put` stores a message (mobile, kind, text) with the hub's own id,
//!   `{branch}-sms{n}`, unless the mobile has opted out (codes the visitor asks for still go).
//! - **Durable and in order.** Rows stay in SQLite until the gateway took them; a `kill -9` loses
//!   nothing. Per mobile only the oldest unsent message is due, so a mobile's messages arrive in
//!   the order they were written; different mobiles go concurrently (up to the SMPP window).
//! - **Paced and retried.** Submissions keep under `[sms] messages_per_second` (each part of a
//!   long text counts); a transient failure (SMSC down, throttled, a timeout) is retried with
//!   doubling back-off until the message is `expire_after_min` old; a refusal of the message
//!   itself is final.
//! - **Delivery state.** `queued` → `submitted` (the SMSC answered `submit_sm` with an id per
//!   part) → `delivered` / `failed` by the operator's delivery receipts; managers read it
//!   (`GET /api/v1/sms/messages`).
//! - **Notices.** A ticket's holder may give a mobile (`POST /api/v1/sms/subscriptions`, with the
//!   ticket's page token); `notify` then sends "N ahead" (`[sms] notify_ahead`, default 3) and
//!   "called" (number and counter, in the holder's language), each at most once.
//! - **STOP.** An incoming `STOP` or `إلغاء` records an opt-out and ends that mobile's unsent
//!   messages.
//! - **What a crash can still duplicate.** A message is marked `sending` (durably) before it is
//!   submitted and `submitted` after the SMSC's answer. A crash (or a lost answer) between the
//!   two leaves it `sending`; it is sent again after the restart, so the visitor may get it
//!   twice: SMPP 3.4 has no idempotency key an SMSC must honour, so the SMSC cannot tell a
//!   repeat. Only a gateway that de-duplicates on a client reference (an aggregator's HTTPS API,
//!   given the hub's message id) could drop it. Nothing is ever lost.
//!
//! - **Personal data.** Mobiles and texts are personal data under PDPL: `personal` is what the
//!   retention purge, a person's export and erasure do to them.
//!
//! - **Two gateways.** SMPP to the SMSC (`gateway`), or an aggregator's HTTPS API (`https`:
//!   a JSON body template, the API key from the environment or a file).
//!
//! `rules` is pure; `outbox` and `personal` are the SQL; `gateway` and `https` the network;
//! `sender` the task.
pub mod gateway;
pub mod https;
pub mod notify;
pub mod outbox;
pub mod personal;
pub mod report;
pub mod rules;
pub mod sender;

pub use gateway::{Gateway, GatewayError, Smpp, SmppLink};
pub use https::{Https, HttpsLink};

/// Where messages leave: the SMSC (SMPP) or an aggregator's HTTPS API.
#[derive(Debug, Clone)]
pub enum Link {
    Smpp(SmppLink),
    Https(HttpsLink),
}

/// The `[sms]` settings the sender runs with.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    pub link: Link,
    pub messages_per_second: f64,
    pub max_backoff: std::time::Duration,
    pub expire_after: std::time::Duration,
    /// Tell a subscribed ticket when this many visitors or fewer are ahead.
    pub notify_ahead: u32,
    /// What a part costs, for the monthly report.
    pub price: report::Price,
}
