//! Who may do what: staff and managers sign in with their id and PIN (checked against an argon2
//! hash from the branch file; PINs are never stored in clear) and get a session token for the
//! `Authorization: Bearer` header. A staff member may open only the counters the branch file
//! assigns them; only managers read reports.
//!
//! Sessions live in memory for a working day: a hub restart signs everyone out (apps sign in
//! again). Devices on MQTT (buttons, boards) are not signed in: the broker's network is the
//! branch's (see docs/PROTOCOL.md, "Security").
use std::collections::HashMap;
use std::sync::Mutex;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::{DateTime, Duration, Utc};
pub use dawr_protocol::api::sessions::Session;
use rand::RngCore;

use crate::domain::{Role, Staff};

/// How long a session lasts.
pub const SESSION_LENGTH: Duration = Duration::hours(12);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// Unknown staff id or wrong PIN (the two are not told apart).
    #[error("wrong staff id or PIN")]
    WrongCredentials,
    #[error("{staff} is not assigned to counter {counter}")]
    NotAssigned { staff: String, counter: String },
    #[error("sign in first (Authorization: Bearer <token> from POST /api/v1/sessions)")]
    Unauthenticated,
    #[error("this needs a manager's sign-in")]
    Forbidden,
}

/// A PIN's hash for the branch file (`dawr-hub --hash-pin 1234`).
pub fn hash_pin(pin: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(pin.as_bytes(), &salt).expect("argon2 hashes any PIN").to_string()
}

fn pin_matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok())
}

/// The signed-in sessions.
#[derive(Debug, Default)]
pub struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

impl Sessions {
    /// Checks `staff`'s PIN and, with `counter`, that they may open it; opens a session.
    pub fn sign_in(
        &self,
        people: &[Staff],
        staff: &str,
        pin: &str,
        counter: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Session, AuthError> {
        let person = people.iter().find(|p| p.id == staff);
        // Verify against something even for an unknown id, so timing does not tell ids apart.
        let hash = person.and_then(|p| p.pin_hash.as_deref()).unwrap_or(&UNKNOWN_STAFF_HASH);
        let person = person.filter(|_| pin_matches(pin, hash)).ok_or(AuthError::WrongCredentials)?;
        if let Some(counter) = counter
            && !person.counters.iter().any(|c| c == counter)
        {
            return Err(AuthError::NotAssigned { staff: staff.into(), counter: counter.into() });
        }
        let mut token = [0u8; 24];
        rand::rng().fill_bytes(&mut token);
        let session = Session {
            token: token.iter().map(|b| format!("{b:02x}")).collect(),
            staff: person.id.clone(),
            name: person.name.clone(),
            role: person.role,
            counter: counter.map(Into::into),
            counters: person.counters.clone(),
            expires_at: now + SESSION_LENGTH,
        };
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, s| s.expires_at > now);
        open.insert(session.token.clone(), session.clone());
        Ok(session)
    }

    /// The session of an `Authorization` header's value, if it is current.
    pub fn check(&self, authorization: Option<&str>, now: DateTime<Utc>) -> Result<Session, AuthError> {
        let token = authorization.and_then(|h| h.strip_prefix("Bearer ")).ok_or(AuthError::Unauthenticated)?;
        let open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.get(token.trim()).filter(|s| s.expires_at > now).cloned().ok_or(AuthError::Unauthenticated)
    }

    /// Like [`Sessions::check`], and the session must be a manager's.
    pub fn check_manager(&self, authorization: Option<&str>, now: DateTime<Utc>) -> Result<Session, AuthError> {
        let session = self.check(authorization, now)?;
        if session.role == Role::Manager { Ok(session) } else { Err(AuthError::Forbidden) }
    }

    /// Ends a session.
    pub fn sign_out(&self, token: &str) -> bool {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).remove(token).is_some()
    }
}

/// The hash of a PIN nobody knows, checked when the staff id is unknown.
static UNKNOWN_STAFF_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let mut pin = [0u8; 16];
    rand::rng().fill_bytes(&mut pin);
    hash_pin(&format!("{pin:?}"))
});

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_protocol::api::Names;

    fn people() -> Vec<Staff> {
        let person = |id: &str, pin: &str, role, counters: &[&str]| Staff {
            id: id.into(),
            name: Names { ar: id.into(), en: id.into() },
            role,
            pin_hash: Some(hash_pin(pin)),
            counters: counters.iter().map(|c| c.to_string()).collect(),
        };
        vec![person("s101", "1111", Role::Staff, &["1", "2"]), person("m001", "2468", Role::Manager, &[])]
    }

    #[test]
    fn staff_sign_in_with_their_pin_to_their_counters_only() {
        let (sessions, people, now) = (Sessions::default(), people(), Utc::now());
        assert_eq!(sessions.sign_in(&people, "s101", "1112", None, now), Err(AuthError::WrongCredentials));
        assert_eq!(sessions.sign_in(&people, "s999", "1111", None, now), Err(AuthError::WrongCredentials));
        assert!(matches!(
            sessions.sign_in(&people, "s101", "1111", Some("3"), now),
            Err(AuthError::NotAssigned { .. })
        ));
        let session = sessions.sign_in(&people, "s101", "1111", Some("2"), now).unwrap();
        assert_eq!(session.counter.as_deref(), Some("2"));
        let header = format!("Bearer {}", session.token);
        assert_eq!(sessions.check(Some(&header), now).unwrap().staff, "s101");
        assert_eq!(sessions.check_manager(Some(&header), now), Err(AuthError::Forbidden), "staff read no reports");
        assert_eq!(sessions.check(Some(&header), now + SESSION_LENGTH), Err(AuthError::Unauthenticated), "expired");
        assert_eq!(sessions.check(None, now), Err(AuthError::Unauthenticated));
        assert!(sessions.sign_out(&session.token));
        assert_eq!(sessions.check(Some(&header), now), Err(AuthError::Unauthenticated));

        let manager = sessions.sign_in(&people, "m001", "2468", None, now).unwrap();
        assert!(sessions.check_manager(Some(&format!("Bearer {}", manager.token)), now).is_ok());
    }

    #[test]
    fn a_pin_hash_is_salted_and_not_the_pin() {
        let (a, b) = (hash_pin("1234"), hash_pin("1234"));
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$") && !a.contains("1234"));
        assert!(pin_matches("1234", &a) && !pin_matches("4321", &a));
        assert!(!pin_matches("1234", "not a hash"));
    }
}
