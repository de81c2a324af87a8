//! The HTTPS provider: a [`Gateway`] for aggregators that offer only an HTTP API. Each message
//! is one `POST` of a JSON body made from the branch file's template (`[sms] https_body`), whose
//! string values may hold the placeholders `{{to}}` (the mobile, `9665…`), `{{text}}`,
//! `{{message_id}}` (the hub's id: a provider that de-duplicates on it drops a repeat after a
//! crash), `{{sender}}` and `{{api_key}}`; the key also goes in a header
//! (`https_key_header`, `Authorization: Bearer …` by default). The key is read from an
//! environment variable or a file named in the branch file, never from the file itself.
//!
//! What an answer means: 2xx, the provider took it (its id, from the JSON field
//! `https_id_field` if it sends one, names the message's parts); 5xx, a timeout, no connection,
//! 408 or 429 (it asks us to come back later) are tried again with the outbox's back-off; any
//! other 4xx refuses the message itself, which fails with the provider's reason.
use std::time::Duration;

use serde_json::Value;

use super::gateway::{Gateway, GatewayError};
use super::outbox::Due;

/// The HTTPS provider's settings.
#[derive(Clone)]
pub struct HttpsLink {
    pub url: String,
    /// The JSON body, with placeholders in its strings (checked to be JSON when read).
    pub body: Value,
    /// The provider's API key (from the environment or a file).
    pub api_key: String,
    /// The header that carries the key, and what comes before the key in it (`Bearer`; empty
    /// for the key alone). An empty header name sends the key only where the body puts it.
    pub key_header: String,
    pub key_scheme: String,
    /// The field of the provider's JSON answer that holds its id of the message, if any.
    pub id_field: Option<String>,
    pub sender: String,
    pub timeout: Duration,
    /// The hub's outbound client (system roots and `[sms] https_ca_file`).
    pub client: reqwest::Client,
}

impl std::fmt::Debug for HttpsLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsLink").field("url", &self.url).field("api_key", &"…").finish_non_exhaustive()
    }
}

/// The body for one message: every placeholder in the template's strings replaced (pure).
pub fn body_for(template: &Value, link_sender: &str, api_key: &str, message: &Due) -> Value {
    let to = message.mobile.trim_start_matches('+');
    let fill = |text: &str| {
        text.replace("{{to}}", to)
            .replace("{{text}}", &message.body)
            .replace("{{message_id}}", &message.message_id)
            .replace("{{sender}}", link_sender)
            .replace("{{api_key}}", api_key)
    };
    fn walk(value: &Value, fill: &dyn Fn(&str) -> String) -> Value {
        match value {
            Value::String(text) => Value::String(fill(text)),
            Value::Array(items) => Value::Array(items.iter().map(|v| walk(v, fill)).collect()),
            Value::Object(fields) => Value::Object(fields.iter().map(|(k, v)| (k.clone(), walk(v, fill))).collect()),
            other => other.clone(),
        }
    }
    walk(template, &fill)
}

/// What an HTTP status means for the message (pure): `Ok` taken, `Err(transient)` not.
pub fn outcome_of(status: u16) -> Result<(), bool> {
    match status {
        200..=299 => Ok(()),
        408 | 429 => Err(true),
        400..=499 => Err(false),
        _ => Err(true),
    }
}

/// The ids of a message's parts: the provider's id (or the hub's), one per part.
fn part_ids(id: &str, parts: usize) -> Vec<String> {
    if parts <= 1 { vec![id.to_string()] } else { (1..=parts).map(|n| format!("{id}#{n}")).collect() }
}

/// The HTTPS provider.
#[derive(Clone)]
pub struct Https {
    link: HttpsLink,
}

impl Https {
    pub fn new(link: HttpsLink) -> Https {
        Https { link }
    }
}

impl Gateway for Https {
    async fn send(&self, message: &Due) -> Result<Vec<String>, GatewayError> {
        let link = &self.link;
        let body = body_for(&link.body, &link.sender, &link.api_key, message);
        let mut request = link.client.post(&link.url).timeout(link.timeout).json(&body);
        if !link.key_header.is_empty() {
            let value = if link.key_scheme.is_empty() {
                link.api_key.clone()
            } else {
                format!("{} {}", link.key_scheme, link.api_key)
            };
            request = request.header(link.key_header.as_str(), value);
        }
        let response = request.send().await.map_err(|e| GatewayError {
            message: format!("the SMS provider: {}", crate::outbound::describe(&e)),
            transient: true,
        })?;
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        let parts = dawr_smpp::text::encode(&message.body, 1).parts.len();
        match outcome_of(status) {
            Ok(()) => {
                let provider_id = link
                    .id_field
                    .as_ref()
                    .and_then(|field| serde_json::from_str::<Value>(&text).ok()?.get(field).cloned())
                    .map(|id| id.as_str().map_or_else(|| id.to_string(), str::to_string));
                Ok(part_ids(provider_id.as_deref().unwrap_or(&message.message_id), parts))
            }
            Err(transient) => {
                let reason: String = text.chars().take(200).collect();
                Err(GatewayError { message: format!("the SMS provider answered {status}: {reason}"), transient })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(body: &str) -> Due {
        Due {
            id: 7,
            message_id: "demo-sms7".into(),
            mobile: "+966501234567".into(),
            kind: "near".into(),
            body: body.into(),
            attempts: 0,
            created_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn the_template_is_filled_as_json_strings() {
        let template: Value = serde_json::from_str(
            r#"{"recipients":["{{to}}"],"body":"{{text}}","ref":"{{message_id}}","from":"{{sender}}","key":"{{api_key}}","n":1}"#,
        )
        .unwrap();
        let body = body_for(&template, "Dawr", "k-123", &due("he said \"near\"\nدورك"));
        assert_eq!(body["recipients"][0], "966501234567");
        assert_eq!(body["body"], "he said \"near\"\nدورك", "quotes and new lines stay text");
        assert_eq!(
            (body["ref"].as_str(), body["from"].as_str(), body["key"].as_str()),
            (Some("demo-sms7"), Some("Dawr"), Some("k-123"))
        );
        assert_eq!(body["n"], 1);
    }

    #[test]
    fn server_errors_and_throttling_are_retried_refusals_are_not() {
        assert_eq!(outcome_of(200), Ok(()));
        assert_eq!(outcome_of(202), Ok(()));
        assert_eq!(outcome_of(500), Err(true));
        assert_eq!(outcome_of(503), Err(true));
        assert_eq!(outcome_of(429), Err(true));
        assert_eq!(outcome_of(400), Err(false));
        assert_eq!(outcome_of(401), Err(false));
        assert_eq!(part_ids("p1", 1), ["p1"]);
        assert_eq!(part_ids("p1", 2), ["p1#1", "p1#2"]);
    }
}
