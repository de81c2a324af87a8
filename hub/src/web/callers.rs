//! Who calls the API: a staff member's session (`Authorization: Bearer …`) or an enrolled device
//! (`Authorization: Basic …` with the username and password its enrolment printed), and what each
//! kind of caller may do.
//!
//! Device passwords are checked against the device table's `$7$` hash (the table the MQTT gate
//! uses, re-read every second, so a revoked device is refused within a second or two). A
//! successful check is remembered in a bounded map keyed by a hash of the credentials (with a
//! secret made at each start) together with the stored hash it matched, so a kiosk's every
//! request does not cost a PBKDF2; a revoked or re-enrolled device no longer matches its entry.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::http::HeaderMap;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use dawr_protocol::acl::Role;
use dawr_web::{WebError, WebResult};
use rand::RngCore;
use sha2::{Digest, Sha256};
use tokio::sync::watch;

use super::{AppState, authorization};
use crate::auth::{AuthError, Session};
use crate::devices::{DeviceTable, Enrolled};
use crate::engine::Author;

/// How many verified device logins are remembered (then the map starts again).
const REMEMBERED: usize = 1024;

/// The enrolled devices as HTTP sees them, and the logins verified lately.
pub struct DeviceLogins {
    table: watch::Receiver<Arc<DeviceTable>>,
    /// SHA-256(secret, username, password) → the stored hash the password matched.
    verified: Mutex<HashMap<[u8; 32], String>>,
    secret: [u8; 32],
}

impl DeviceLogins {
    /// Logins checked against `table` (kept current by the hub).
    pub fn new(table: watch::Receiver<Arc<DeviceTable>>) -> DeviceLogins {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        DeviceLogins { table, verified: Mutex::default(), secret }
    }

    /// The enrolled devices now.
    pub fn table(&self) -> Arc<DeviceTable> {
        self.table.borrow().clone()
    }

    fn key(&self, username: &str, password: &str) -> [u8; 32] {
        let mut hasher = Sha256::new();
        hasher.update(self.secret);
        hasher.update((username.len() as u64).to_be_bytes());
        hasher.update(username.as_bytes());
        hasher.update(password.as_bytes());
        hasher.finalize().into()
    }

    /// The enrolled device these credentials are, if they are one's.
    pub fn check(&self, username: &str, password: &str) -> Option<Enrolled> {
        let table = self.table();
        let device = table.get(username)?;
        let key = self.key(username, password);
        let mut verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.get(&key) == Some(&device.password_hash) {
            return Some(device.clone());
        }
        drop(verified);
        if !crate::devices::verify_password(password, &device.password_hash) {
            return None;
        }
        verified = self.verified.lock().unwrap_or_else(|e| e.into_inner());
        if verified.len() >= REMEMBERED {
            verified.clear();
        }
        verified.insert(key, device.password_hash.clone());
        Some(device.clone())
    }

    /// How many logins are remembered (for the tests of the bound).
    #[cfg(test)]
    fn remembered(&self) -> usize {
        self.verified.lock().unwrap().len()
    }
}

/// The username and password of an `Authorization: Basic …` value.
pub fn basic_credentials(value: &str) -> Option<(String, String)> {
    let (scheme, encoded) = value.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(B64.decode(encoded.trim()).ok()?).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some((username.to_string(), password.to_string()))
}

/// Who sent a request.
#[derive(Debug, Clone)]
pub enum Caller {
    Staff(Session),
    Device(Enrolled),
}

impl Caller {
    /// The author its changes record.
    pub fn author(&self) -> Author {
        match self {
            Caller::Staff(session) => Author::Staff(session.staff.clone()),
            Caller::Device(device) => Author::Device(device.id.clone()),
        }
    }

    /// Whose a request id is: `staff:{id}` or `device:{id}`.
    pub fn scope(&self) -> String {
        match self {
            Caller::Staff(session) => format!("staff:{}", session.staff),
            Caller::Device(device) => format!("device:{}", device.id),
        }
    }

    fn is_kiosk(&self) -> bool {
        matches!(self, Caller::Device(d) if d.role == Role::Kiosk)
    }
}

/// The caller of a request: a device by its Basic credentials, else a staff session; 401 when
/// there are none or they are wrong (a revoked device's too).
pub fn caller(state: &AppState, headers: &HeaderMap) -> WebResult<Caller> {
    let value = authorization(headers);
    if let Some(basic) = value.filter(|v| v.trim_start().get(..6).is_some_and(|s| s.eq_ignore_ascii_case("basic "))) {
        let (username, password) =
            basic_credentials(basic).ok_or_else(|| WebError::from(AuthError::WrongCredentials))?;
        return state.devices.check(&username, &password).map(Caller::Device).ok_or_else(|| {
            WebError::new(
                axum::http::StatusCode::UNAUTHORIZED,
                "wrong_credentials",
                "not an enrolled device's username and password (revoked?)",
            )
        });
    }
    Ok(Caller::Staff(state.sessions.check(value, chrono::Utc::now())?))
}

/// A kiosk or a staff member (ticket issue, check-in, the day's bookings); 403 for other devices.
pub fn kiosk_or_staff(state: &AppState, headers: &HeaderMap) -> WebResult<Caller> {
    let caller = caller(state, headers)?;
    if caller.is_kiosk() || matches!(caller, Caller::Staff(_)) {
        return Ok(caller);
    }
    Err(WebError::forbidden("forbidden", "only an enrolled kiosk or a staff member's session may do this"))
}

/// The rating device of `counter` (when given; any rating device's counter otherwise); 403 for
/// anyone else.
pub fn rating_device(state: &AppState, headers: &HeaderMap, counter: Option<&str>) -> WebResult<Enrolled> {
    match caller(state, headers)? {
        Caller::Device(device)
            if device.role == Role::Rating && counter.is_none_or(|c| device.counter.as_deref() == Some(c)) =>
        {
            Ok(device)
        }
        Caller::Device(device) if device.role == Role::Rating => Err(WebError::forbidden(
            "forbidden",
            format!("{} rates counter {} only", device.id, device.counter.as_deref().unwrap_or("?")),
        )),
        _ => Err(WebError::forbidden("forbidden", "only the counter's enrolled rating device may rate over HTTP")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logins() -> (DeviceLogins, watch::Sender<Arc<DeviceTable>>, String) {
        let password = crate::devices::new_password();
        let device = Enrolled {
            id: "kiosk-1".into(),
            role: Role::Kiosk,
            counter: None,
            password_hash: crate::devices::hash_password(&password),
            enrolled_at: chrono::Utc::now(),
        };
        let (tx, rx) = watch::channel(Arc::new(DeviceTable::from([(device.id.clone(), device)])));
        (DeviceLogins::new(rx), tx, password)
    }

    #[test]
    fn basic_credentials_are_read_and_anything_else_is_not() {
        let value = format!("Basic {}", B64.encode("kiosk-1:pass:word"));
        assert_eq!(basic_credentials(&value), Some(("kiosk-1".into(), "pass:word".into())));
        assert_eq!(basic_credentials(&format!("basic  {}", B64.encode("a:b"))), Some(("a".into(), "b".into())));
        assert_eq!(basic_credentials("Basic !!!"), None);
        assert_eq!(basic_credentials(&format!("Basic {}", B64.encode("no-colon"))), None);
        assert_eq!(basic_credentials("Bearer abc"), None);
    }

    #[test]
    fn a_login_is_remembered_until_its_device_is_revoked_or_enrolled_again() {
        let (logins, table, password) = logins();
        assert!(logins.check("kiosk-1", "wrong").is_none());
        assert_eq!(logins.remembered(), 0, "a wrong password is never remembered");
        assert_eq!(logins.check("kiosk-1", &password).map(|d| d.id), Some("kiosk-1".into()));
        assert_eq!(logins.remembered(), 1);
        assert!(logins.check("kiosk-1", &password).is_some(), "from the map");
        // Enrolled again with another password: the remembered login no longer matches.
        let mut again = table.borrow().as_ref().clone();
        again.get_mut("kiosk-1").unwrap().password_hash = crate::devices::hash_password("other");
        table.send_replace(Arc::new(again));
        assert!(logins.check("kiosk-1", &password).is_none());
        assert!(logins.check("kiosk-1", "other").is_some());
        table.send_replace(Arc::new(DeviceTable::new()));
        assert!(logins.check("kiosk-1", "other").is_none(), "revoked");
    }

    #[test]
    fn the_remembered_logins_are_bounded() {
        let (logins, table, _) = logins();
        let mut many = DeviceTable::new();
        for i in 0..REMEMBERED + 10 {
            let id = format!("k{i}");
            // Cheap hashes (one round) keep the test fast; the check is the same.
            let salt = B64.encode([0u8; 12]);
            let key = {
                use hmac::{Hmac, Mac};
                let mut mac = Hmac::<sha2::Sha512>::new_from_slice(id.as_bytes()).unwrap();
                mac.update(&[0u8; 12]);
                mac.update(&1u32.to_be_bytes());
                B64.encode(mac.finalize().into_bytes())
            };
            let hash = format!("$7$1${salt}${key}");
            assert!(crate::devices::verify_password(&id, &hash));
            let device = Enrolled {
                id: id.clone(),
                role: Role::Kiosk,
                counter: None,
                password_hash: hash,
                enrolled_at: chrono::Utc::now(),
            };
            many.insert(id, device);
        }
        table.send_replace(Arc::new(many));
        for i in 0..REMEMBERED + 10 {
            let id = format!("k{i}");
            assert!(logins.check(&id, &id).is_some());
            assert!(logins.remembered() <= REMEMBERED);
        }
    }
}
