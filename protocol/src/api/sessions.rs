//! Signing in: `POST /api/v1/sessions` takes a staff id and PIN (and the counter to open) and
//! answers the [`Session`], whose token goes in `Authorization: Bearer` on later requests;
//! `DELETE /api/v1/sessions` signs the bearer out.
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::Names;

/// What a signed-in person may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Serves at the counters assigned to them.
    #[default]
    Staff,
    /// Also reads the branch's reports.
    Manager,
}

/// `POST /api/v1/sessions`. Unknown fields are refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    pub staff: String,
    pub pin: String,
    /// Open this counter: it must be one of the person's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
}

/// A signed-in staff member or manager (`POST /api/v1/sessions` → 201).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The bearer token for later requests.
    pub token: String,
    pub staff: String,
    /// The person's name, as the branch file gives it.
    pub name: Names,
    pub role: Role,
    /// The counter opened with this session, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    /// The counters this person may open.
    pub counters: Vec<String>,
    /// With `counter`: the services that counter calls while this person is signed in there
    /// (the counter's that the person may serve, in its order of preference).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub services: Vec<String>,
    pub expires_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    #[test]
    fn a_sign_in_and_its_session_read_as_the_docs_show() {
        let request = SignIn { staff: "s101".into(), pin: "1111".into(), counter: Some("2".into()) };
        round_trip(&request, r#"{"staff":"s101","pin":"1111","counter":"2"}"#);
        let without = SignIn { counter: None, ..request };
        round_trip(&without, r#"{"staff":"s101","pin":"1111"}"#);
        assert!(serde_json::from_str::<SignIn>(r#"{"staff":"s101","pin":"1","role":"manager"}"#).is_err());

        let session = Session {
            token: "9f2c".into(),
            staff: "s101".into(),
            name: Names { ar: "عبدالله".into(), en: "Abdullah".into() },
            role: Role::Staff,
            counter: Some("2".into()),
            counters: vec!["1".into(), "2".into()],
            services: vec![],
            expires_at: "2026-11-23T17:00:00Z".parse().unwrap(),
        };
        round_trip(
            &session,
            r#"{"token":"9f2c","staff":"s101","name":{"ar":"عبدالله","en":"Abdullah"},"role":"staff",
                "counter":"2","counters":["1","2"],"expires_at":"2026-11-23T17:00:00Z"}"#,
        );
    }
}
