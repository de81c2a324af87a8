//! SMS for managers: the outbox's state and its newest messages (`GET /api/v1/sms/messages` →
//! [`SmsStatus`]), and a test message to a mobile (`POST /api/v1/sms/messages` with
//! [`SmsSend`] → [`SmsQueued`]); a ticket's messages to its holder's mobile
//! (`POST /api/v1/sms/subscriptions` with [`SmsSubscribe`] → [`SmsSubscribed`]).
use serde::{Deserialize, Serialize};

/// The outbox: counts per state, opt-outs, and the newest messages.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsStatus {
    /// Whether the hub has an SMS gateway configured (`[sms]`).
    pub enabled: bool,
    pub queued: i64,
    pub submitted: i64,
    pub delivered: i64,
    pub failed: i64,
    /// Mobiles that answered STOP / إلغاء.
    pub opted_out: i64,
    /// Newest first.
    pub messages: Vec<SmsMessage>,
}

/// One message and its delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMessage {
    /// The hub's id of the message (`{branch}-sms{n}`).
    pub message_id: String,
    /// `+9665XXXXXXXX`.
    pub mobile: String,
    /// What it was for: `test`, …
    pub kind: String,
    /// `queued`, `submitted` (the gateway took it), `delivered` (the operator's receipt says so)
    /// or `failed`.
    pub state: String,
    pub attempts: i64,
    /// How many SMS it took (long texts go in parts), once submitted.
    pub parts: Option<i64>,
    pub created_at: String,
    pub submitted_at: Option<String>,
    pub done_at: Option<String>,
    pub last_error: Option<String>,
}

/// A test message to one mobile, to check the gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSend {
    /// A Saudi mobile: `05XXXXXXXX`, `+9665XXXXXXXX`, …
    pub to: String,
    pub text: String,
}

/// `POST /api/v1/sms/subscriptions`: messages about a ticket to a mobile (N ahead, called),
/// asked by the ticket's holder (the token of its live page proves it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSubscribe {
    /// The ticket's page token (`/t/{token}`).
    pub token: String,
    /// A Saudi mobile.
    pub mobile: String,
    /// `ar` (the default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// The ticket's messages will go to this mobile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsSubscribed {
    pub number: String,
    pub mobile: String,
    pub lang: String,
}

/// The test message was put in the outbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsQueued {
    pub message_id: String,
    pub mobile: String,
}
