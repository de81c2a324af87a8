//! The CRM connector: the webhook body a hub posts to the ministry's CRM for every case event
//! ([`CaseEvent`]), what a staff member's change to a case says there ([`CaseChange`]), and the
//! outbox's state for managers (`GET /api/v1/crm/status` → [`CrmStatus`]), and the webhook's
//! signature: [`sign`] (the hub) and [`verify_signature`] (a receiver written in Rust).
//!
//! **The signature (webhook signature version 2).** Each delivery carries
//! `X-Dawr-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" with the shared
//! secret>`. The receiver's rule: read `t` and every `v1`; refuse when `t` is more than
//! [`SIGNATURE_TOLERANCE_S`] (5 minutes) from its own clock, either way (a captured delivery
//! cannot be replayed later); compute the HMAC of `t.body` with its secret and compare it with
//! each `v1` in constant time; accept when any matches (during a change of secret the receiver
//! tries the old and the new one, and a sender may send one `v1` per secret). Unknown keys in
//! the header are ignored, so a later version can be added beside `v1`. Version 1 (until this
//! change) was `sha256=<hex HMAC-SHA256 of the body>`, with no time: a receiver checking it
//! refuses every delivery now.
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Dawr-Signature";
/// How far (seconds, either way) a signature's time may be from the receiver's clock.
pub const SIGNATURE_TOLERANCE_S: i64 = 5 * 60;

fn mac(secret: &[u8], t: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(t.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The signature header's value for `body` sent at `t` (unix seconds): `t=…,v1=…`.
pub fn sign(secret: &[u8], t: i64, body: &[u8]) -> String {
    let digest = mac(secret, t, body).finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("t={t},v1={hex}")
}

/// Why a delivery's signature is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureError {
    /// No `t=` with a whole number, or no `v1=`.
    Malformed,
    /// `t` is more than [`SIGNATURE_TOLERANCE_S`] from now (a replay, or a clock far off).
    OutsideTolerance { t: i64, now: i64 },
    /// No `v1` is the HMAC of `t.body` with any of the secrets.
    Mismatch,
}

impl std::fmt::Display for SignatureError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SignatureError::Malformed => f.write_str("the signature header is not t=<seconds>,v1=<hex>"),
            SignatureError::OutsideTolerance { t, now } => {
                write!(f, "signed at {t}, {} s from now ({now}): more than {SIGNATURE_TOLERANCE_S} s", (now - t).abs())
            }
            SignatureError::Mismatch => f.write_str("no v1 signature matches the body"),
        }
    }
}

impl std::error::Error for SignatureError {}

fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok()).collect()
}

/// The receiver's check of `header` (the `X-Dawr-Signature` value) on the raw `body`, at `now`
/// (unix seconds), against each of `secrets` (more than one while a secret is being replaced).
/// Returns the signature's time. Comparisons are constant-time.
pub fn verify_signature(secrets: &[&[u8]], header: &str, body: &[u8], now: i64) -> Result<i64, SignatureError> {
    let mut t = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
            Some(("v1", value)) => candidates.extend(from_hex(value)),
            _ => {}
        }
    }
    let t = t.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if now.abs_diff(t) > SIGNATURE_TOLERANCE_S.unsigned_abs() {
        return Err(SignatureError::OutsideTolerance { t, now });
    }
    let matches = secrets
        .iter()
        .any(|secret| candidates.iter().any(|candidate| mac(secret, t, body).verify_slice(candidate).is_ok()));
    if matches { Ok(t) } else { Err(SignatureError::Mismatch) }
}

/// `POST <webhook_url>`: one case event, signed with `X-Dawr-Signature` (see [`sign`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseEvent {
    /// Unique per event (`{branch}-e{seq}` for a visit event, `{branch}-n{n}` for a case change);
    /// a CRM drops an id it has seen.
    pub event_id: String,
    pub branch: String,
    pub case_ref: String,
    /// A visit event (`issued`, `called`, `recalled`, `started`, `completed`, `no_show`,
    /// `transferred`, `cancelled`, `rated`) or `case_noted`.
    pub kind: String,
    /// When it happened (RFC 3339, UTC, milliseconds).
    pub at: String,
    /// The event as the hub's log records it (with `staff` when someone was signed in at the
    /// counter), or for `case_noted` a [`CaseChange`].
    pub event: serde_json::Value,
}

/// What a `case_noted` event carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CaseChange {
    /// Staff wrote on the case (the notes as they are now).
    Noted(CaseNoted),
    /// The visitor rated how their case was resolved.
    ResolutionRated { resolution_rating: u8 },
    /// The visitor said why that rating was low (after the score, which stands alone).
    ResolutionReason { resolution_reason: String },
}

/// What staff wrote on a case, as the CRM receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNoted {
    pub category: Option<String>,
    pub notes: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    /// The staff member who made the change.
    pub by: String,
}

/// `GET /api/v1/crm/status` (managers): whether case events go to a CRM, and its outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CrmStatus {
    /// Whether this hub has a CRM connector (the outbox is empty without one).
    pub enabled: bool,
    pub pending: i64,
    /// When the oldest undelivered event happened.
    pub oldest_pending_at: Option<String>,
    /// Delivery attempts of the oldest undelivered event.
    pub attempts: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub delivered: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    #[test]
    fn a_webhook_body_reads_as_the_docs_show() {
        let event = CaseEvent {
            event_id: "demo-e1042".into(),
            branch: "demo".into(),
            case_ref: "DMM-20261123-000017".into(),
            kind: "completed".into(),
            at: "2026-11-23T09:20:00.120Z".into(),
            event: serde_json::json!({"kind": "completed", "visit": 17, "counter": "3", "outcome": "follow_up"}),
        };
        round_trip(
            &event,
            r#"{"event_id": "demo-e1042", "branch": "demo", "case_ref": "DMM-20261123-000017", "kind": "completed",
                "at": "2026-11-23T09:20:00.120Z",
                "event": {"kind": "completed", "visit": 17, "counter": "3", "outcome": "follow_up"}}"#,
        );
    }

    #[test]
    fn a_case_change_is_either_the_notes_or_a_resolution_rating() {
        let noted = CaseChange::Noted(CaseNoted {
            category: Some("billing".into()),
            notes: "call back".into(),
            closed_at: Some("2026-11-24T08:00:00Z".parse().unwrap()),
            closed_by: Some("s101".into()),
            by: "s101".into(),
        });
        round_trip(
            &noted,
            r#"{"category":"billing","notes":"call back","closed_at":"2026-11-24T08:00:00Z","closed_by":"s101","by":"s101"}"#,
        );
        round_trip(&CaseChange::ResolutionRated { resolution_rating: 4 }, r#"{"resolution_rating":4}"#);
        let reason = CaseChange::ResolutionReason { resolution_reason: "not_resolved".into() };
        round_trip(&reason, r#"{"resolution_reason":"not_resolved"}"#);
    }

    #[test]
    fn the_outbox_status_reads_as_the_docs_show() {
        let status = CrmStatus {
            enabled: true,
            pending: 2,
            oldest_pending_at: Some("2026-11-23T09:20:00.120Z".into()),
            attempts: 3,
            last_error: Some("503 Service Unavailable".into()),
            last_attempt_at: Some("2026-11-23T09:21:00.000Z".into()),
            delivered: 40,
        };
        round_trip(
            &status,
            r#"{"enabled":true,"pending":2,"oldest_pending_at":"2026-11-23T09:20:00.120Z","attempts":3,
                "last_error":"503 Service Unavailable","last_attempt_at":"2026-11-23T09:21:00.000Z","delivered":40}"#,
        );
    }
}

#[cfg(test)]
mod signature_tests {
    use super::*;

    const SECRET: &[u8] = b"Jefe";

    #[test]
    fn the_signature_is_hmac_sha256_of_the_time_a_dot_and_the_body() {
        // The HMAC of "<t>.<body>", computed here in one piece.
        let header = sign(SECRET, 1_700_000_000, b"{}");
        let mut direct = Hmac::<Sha256>::new_from_slice(SECRET).unwrap();
        direct.update(b"1700000000.{}");
        let hex: String = direct.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(header, format!("t=1700000000,v1={hex}"));
    }

    #[test]
    fn a_receiver_takes_a_fresh_signature_of_the_same_body_only() {
        let body = br#"{"event_id":"demo-e1"}"#;
        let t = 1_700_000_000;
        let header = sign(SECRET, t, body);
        assert_eq!(verify_signature(&[SECRET], &header, body, t), Ok(t));
        assert_eq!(verify_signature(&[SECRET], &header, body, t + 300), Ok(t), "5 minutes late");
        assert_eq!(verify_signature(&[SECRET], &header, body, t - 300), Ok(t), "a clock 5 minutes behind");
        assert_eq!(
            verify_signature(&[SECRET], &header, body, t + 301),
            Err(SignatureError::OutsideTolerance { t, now: t + 301 }),
            "a replay after 5 minutes"
        );
        assert_eq!(
            verify_signature(&[SECRET], &header, br#"{"event_id":"demo-e2"}"#, t),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(verify_signature(&[b"other"], &header, body, t), Err(SignatureError::Mismatch));
        // The time is signed too: moving it on to pass the window breaks the signature.
        let moved = header.replacen(&format!("t={t}"), &format!("t={}", t + 1000), 1);
        assert_eq!(verify_signature(&[SECRET], &moved, body, t + 1000), Err(SignatureError::Mismatch));
        for malformed in ["", "sha256=abcd", "t=x,v1=00", &format!("t={t}"), "v1=00"] {
            assert_eq!(verify_signature(&[SECRET], malformed, body, t), Err(SignatureError::Malformed), "{malformed}");
        }
    }

    #[test]
    fn during_a_change_of_secret_any_v1_with_any_secret_is_taken() {
        let body = b"{}";
        let t = 1_700_000_000;
        let old = sign(b"old-secret", t, body);
        let new = sign(b"new-secret", t, body);
        let v1 = |h: &str| h.split_once(",v1=").unwrap().1.to_string();
        let both = format!("t={t},v1={},v1={},v2=later", v1(&old), v1(&new));
        assert_eq!(verify_signature(&[b"new-secret"], &both, body, t), Ok(t));
        assert_eq!(verify_signature(&[b"old-secret"], &both, body, t), Ok(t));
        assert_eq!(verify_signature(&[b"new-secret", b"old-secret"], &old, body, t), Ok(t));
        assert_eq!(verify_signature(&[b"third"], &both, body, t), Err(SignatureError::Mismatch));
    }
}
