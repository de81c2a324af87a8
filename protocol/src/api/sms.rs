//! SMS for managers: the outbox's state and its newest messages (`GET /api/v1/sms/messages` →
//! [`SmsStatus`]), and a test message to a mobile (`POST /api/v1/sms/messages` with
//! [`SmsSend`] → [`SmsQueued`]); a ticket's messages to its holder's mobile
//! (`POST /api/v1/sms/subscriptions` with [`SmsSubscribe`] → [`SmsSubscribed`]), or given with
//! the ticket request at the kiosk ([`TicketSms`]); and what a Saudi mobile is ([`saudi_mobile`]).
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

/// With `POST /api/v1/tickets` (`sms`): the visitor gave a mobile at the kiosk for the ticket's
/// "N ahead" and "called" messages, in `lang` (the kiosk session's language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TicketSms {
    /// A Saudi mobile: `05XXXXXXXX`, `+9665XXXXXXXX`, …
    pub mobile: String,
    /// `ar` (the default) or `en`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lang: Option<String>,
}

/// Whether an incoming SMS asks for no more messages: `STOP` (any case) or `إلغاء` (with or
/// without its hamza), alone, perhaps with spaces or punctuation around it. The hub and the
/// appointments site both honour it.
pub fn is_stop(text: &str) -> bool {
    let word = text.trim_matches(|c: char| c.is_whitespace() || c.is_ascii_punctuation() || c == '.');
    word.eq_ignore_ascii_case("stop") || matches!(word, "إلغاء" | "الغاء" | "ألغاء")
}

/// A Saudi mobile in one form, `+9665XXXXXXXX`, from `05XXXXXXXX`, `5XXXXXXXX`, `9665…`,
/// `+9665…` or `009665…` (spaces and dashes ignored, Arabic-Indic digits accepted); `None` for
/// anything else.
pub fn saudi_mobile(typed: &str) -> Option<String> {
    let mut digits = String::new();
    for (i, c) in typed.trim().chars().enumerate() {
        match c {
            '0'..='9' => digits.push(c),
            '٠'..='٩' => digits.push(char::from(b'0' + (c as u32 - '٠' as u32) as u8)),
            '۰'..='۹' => digits.push(char::from(b'0' + (c as u32 - '۰' as u32) as u8)),
            ' ' | '-' => {}
            '+' if i == 0 => {}
            _ => return None,
        }
    }
    let national = digits
        .strip_prefix("00966")
        .or_else(|| digits.strip_prefix("966"))
        .or_else(|| digits.strip_prefix('0'))
        .unwrap_or(&digits);
    (national.len() == 9 && national.starts_with('5')).then(|| format!("+966{national}"))
}
