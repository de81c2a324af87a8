//! Who may do what: staff and managers sign in with their id and PIN (checked against an argon2
//! hash from the branch file; PINs are never stored in clear) and get a session token for the
//! `Authorization: Bearer` header. A staff member may open only the counters the branch file
//! assigns them; only managers read reports.
//!
//! Guessing is made slow: failures are counted per staff id and per address ([`throttle`]: after
//! five, doubling delays, then a lockout — answered 429 with `Retry-After`), PINs are checked on
//! two threads of their own ([`pins::PinChecker`]) so concurrent sign-ins cannot exhaust memory,
//! and the branch file sets the PINs' length (`[sign_in]`).
//!
//! A session ends at sign-out, after `idle_timeout_min` unused, or 12 hours after sign-in; one
//! that ends by itself is logged as a sign-out with its reason ([`EndReason`]) when the hub
//! notices ([`Sessions::flush`], every half minute, or at the next start).
//! Sessions are kept in the database by their token's SHA-256 only ([`store`]), so a hub restart
//! signs nobody out; at start-up the sessions of people no longer in the branch file (or of
//! counters no longer theirs) are revoked. Devices on MQTT (buttons, boards) are not signed in:
//! the broker's network is the branch's (see docs/PROTOCOL.md, "Security").
pub mod pins;
pub mod store;
pub mod throttle;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};
pub use dawr_protocol::api::sessions::Session;
use rand::RngCore;
use rusqlite::Connection;
use sha2::{Digest, Sha256};

pub use pins::{PinChecker, hash_pin, pin_matches};
use store::StoredSession;
pub use throttle::Lockout;
use throttle::{Key, Throttle};

use crate::audit::{AuditAction, NewEntry};
use crate::domain::{Role, Staff};

/// How long a session lasts at most.
pub const SESSION_LENGTH: Duration = Duration::hours(12);
/// The most sessions one person keeps open (a counter app, the dashboard, …); signing in again
/// beyond this ends their least recently used one.
pub const SESSIONS_PER_PERSON: usize = 8;
/// How often a session's last use is written to the database at most.
const SEEN_PRECISION: Duration = Duration::seconds(60);

/// The branch file's `[sign_in]` rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignInRules {
    /// The fewest digits of a staff member's PIN.
    pub staff_pin_digits: u8,
    /// The fewest digits of a manager's PIN (at least 6 outside the demo).
    pub manager_pin_digits: u8,
    /// A session unused this long ends.
    pub idle_timeout: Duration,
}

impl Default for SignInRules {
    fn default() -> Self {
        SignInRules { staff_pin_digits: 4, manager_pin_digits: 6, idle_timeout: Duration::minutes(60) }
    }
}

impl SignInRules {
    fn pin_digits(&self, role: Role) -> u8 {
        match role {
            Role::Manager => self.manager_pin_digits,
            Role::Staff => self.staff_pin_digits,
        }
    }
}

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
    #[error("{0}")]
    Refused(String),
    /// Too many failed sign-ins from this id or address.
    #[error("too many failed sign-ins; try again in {retry_after_s} s")]
    Throttled { retry_after_s: u64 },
    #[error(transparent)]
    Busy(#[from] pins::Busy),
    #[error("the sessions cannot be stored: {0}")]
    Storage(String),
}

/// A bearer token's SHA-256, as the database and the map of open sessions know it.
fn token_hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// One open session.
#[derive(Debug, Clone)]
struct Open {
    staff: String,
    counter: Option<String>,
    created_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
    last_seen: DateTime<Utc>,
    /// The last use written to the database.
    stored_seen: DateTime<Utc>,
}

impl Open {
    fn is_current(&self, rules: &SignInRules, now: DateTime<Utc>) -> bool {
        self.ended(rules, now).is_none()
    }

    /// When and why the session ended by itself, if it has by `now` (pure): `idle_timeout` after
    /// its last use, or at the end of its [`SESSION_LENGTH`], whichever came first.
    fn ended(&self, rules: &SignInRules, now: DateTime<Utc>) -> Option<(DateTime<Utc>, EndReason)> {
        let idle_end = self.last_seen + rules.idle_timeout;
        if self.expires_at <= now && self.expires_at <= idle_end {
            Some((self.expires_at, EndReason::SessionLength))
        } else if idle_end <= now {
            Some((idle_end, EndReason::IdleTimeout))
        } else {
            None
        }
    }

    /// The audit log's sign-out of this session, ended at `at` for `reason` (with the counter
    /// signed out of, as a sign-out by hand has it: the staffing reports end the spell there).
    fn sign_out_entry(&self, at: DateTime<Utc>, reason: EndReason) -> NewEntry {
        let entry = NewEntry::new(at, &self.staff, AuditAction::SignOut).after("reason", reason.code());
        match &self.counter {
            Some(counter) => entry.subject(counter.clone()),
            None => entry,
        }
    }
}

/// Why a session ended without its person signing out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// Unused for the branch's `idle_timeout_min`.
    IdleTimeout,
    /// [`SESSION_LENGTH`] after sign-in.
    SessionLength,
    /// Its person signed in once more with [`SESSIONS_PER_PERSON`] open: their least recently
    /// used one ends.
    SessionLimit,
}

impl EndReason {
    /// The audit entry's `reason`.
    pub fn code(self) -> &'static str {
        match self {
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::SessionLength => "session_length",
            EndReason::SessionLimit => "session_limit",
        }
    }
}

/// The sessions that ended by themselves: their hashes (to delete) and their sign-outs (to log).
#[derive(Debug, Default)]
struct Ended {
    hashes: Vec<String>,
    sign_outs: Vec<NewEntry>,
}

impl Ended {
    fn push(&mut self, hash: String, entry: NewEntry) {
        self.hashes.push(hash);
        self.sign_outs.push(entry);
    }

    /// Deletes the sessions and logs their sign-outs, together.
    fn store(self, conn: &mut Connection) -> rusqlite::Result<()> {
        let tx = conn.transaction()?;
        store::delete(&tx, &self.hashes)?;
        for entry in &self.sign_outs {
            crate::audit::record(&tx, entry)?;
        }
        tx.commit()
    }
}

/// The signed-in sessions.
pub struct Sessions {
    rules: SignInRules,
    /// Who may sign in (replaced when the centre pushes a new configuration).
    people: std::sync::RwLock<Vec<Staff>>,
    open: Mutex<HashMap<String, Open>>,
    throttle: Mutex<Throttle>,
    pins: PinChecker,
    /// The database connection sessions are kept through (`None`: in memory only).
    conn: Option<Arc<Mutex<Connection>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions").field("rules", &self.rules).finish_non_exhaustive()
    }
}

/// The open sessions (by token hash) that have ended by themselves by `now`, with when and why.
fn ended_by_themselves(
    open: &HashMap<String, Open>,
    rules: &SignInRules,
    now: DateTime<Utc>,
) -> Vec<(String, DateTime<Utc>, EndReason)> {
    open.iter().filter_map(|(h, s)| s.ended(rules, now).map(|(at, reason)| (h.clone(), at, reason))).collect()
}

/// Takes the `ending` sessions out of the open ones; their hashes and sign-outs to store.
fn end(open: &mut HashMap<String, Open>, ending: Vec<(String, DateTime<Utc>, EndReason)>) -> Ended {
    let mut ended = Ended::default();
    for (h, at, reason) in ending {
        if let Some(gone) = open.remove(&h) {
            tracing::info!(staff = %gone.staff, reason = reason.code(), "session ended");
            ended.push(h, gone.sign_out_entry(at, reason));
        }
    }
    ended
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Sessions {
    /// Sessions kept in memory only (tests).
    pub fn in_memory(people: Vec<Staff>, rules: SignInRules) -> Sessions {
        Sessions {
            rules,
            people: std::sync::RwLock::new(people),
            open: Mutex::default(),
            throttle: Mutex::default(),
            pins: PinChecker::start(2, 64),
            conn: None,
        }
    }

    /// The sessions kept in the database `conn`: those still current and whose person (and
    /// counter) the branch file still has are open again; the others are deleted.
    pub fn load(
        conn: Connection,
        people: Vec<Staff>,
        rules: SignInRules,
        now: DateTime<Utc>,
    ) -> rusqlite::Result<Sessions> {
        let stored = store::all(&conn)?;
        let mut open = HashMap::new();
        let mut revoked = Vec::new();
        let mut ended = Ended::default();
        for s in stored {
            let person = people.iter().find(|p| p.id == s.staff);
            let counter_ok = s.counter.as_ref().is_none_or(|c| person.is_some_and(|p| p.counters.contains(c)));
            let session = Open {
                staff: s.staff,
                counter: s.counter,
                created_at: s.created_at,
                expires_at: s.expires_at,
                last_seen: s.last_seen_at,
                stored_seen: s.last_seen_at,
            };
            let timed_out = session.ended(&rules, now);
            if person.is_some() && counter_ok && timed_out.is_none() {
                open.insert(s.token_sha256, session);
            } else if let Some((at, reason)) = timed_out.filter(|_| person.is_some()) {
                // Ended while the hub was down: its sign-out is logged as if it had been up.
                ended.push(s.token_sha256, session.sign_out_entry(at, reason));
            } else {
                if person.is_none() {
                    tracing::info!(staff = %session.staff, "session revoked: no longer in the branch file");
                }
                revoked.push(s.token_sha256);
            }
        }
        store::delete(&conn, &revoked)?;
        let mut conn = conn;
        ended.store(&mut conn)?;
        tracing::info!(sessions = open.len(), "sessions kept from before");
        Ok(Sessions {
            rules,
            people: std::sync::RwLock::new(people),
            open: Mutex::new(open),
            throttle: Mutex::default(),
            pins: PinChecker::start(2, 64),
            conn: Some(Arc::new(Mutex::new(conn))),
        })
    }

    /// Who may sign in from now on (a new configuration from the centre). Open sessions of
    /// people no longer there end at their next use.
    pub fn set_people(&self, people: Vec<Staff>) {
        *self.people.write().unwrap_or_else(|e| e.into_inner()) = people;
    }

    /// The counters someone is signed in at, and who (to restore after a restart).
    pub fn signed_in_at_counters(&self, now: DateTime<Utc>) -> Vec<(String, String)> {
        lock(&self.open)
            .values()
            .filter(|s| s.is_current(&self.rules, now))
            .filter_map(|s| s.counter.clone().map(|c| (c, s.staff.clone())))
            .collect()
    }

    /// The lockouts started since the last call, each once (for the audit log).
    pub fn take_lockouts(&self) -> Vec<Lockout> {
        lock(&self.throttle).take_lockouts()
    }

    /// Checks `staff`'s PIN (throttled per id and per `address`) and, with `counter`, that they
    /// may open it; opens a session. A lockout it starts is kept for [`Sessions::take_lockouts`].
    pub async fn sign_in(
        &self,
        staff: &str,
        pin: &str,
        counter: Option<&str>,
        address: Option<IpAddr>,
        now: DateTime<Utc>,
    ) -> Result<Session, AuthError> {
        let keys: Vec<Key> =
            [Some(Key::Staff(staff.into())), address.map(Key::address)].into_iter().flatten().collect();
        {
            let throttle = lock(&self.throttle);
            if let Some(blocked) = keys.iter().find_map(|k| throttle.check(k, now).err()) {
                return Err(AuthError::Throttled { retry_after_s: blocked.retry_after_s(now) });
            }
        }
        let person = self.people.read().unwrap_or_else(|e| e.into_inner()).iter().find(|p| p.id == staff).cloned();
        let person = person.as_ref();
        let digits = self.rules.pin_digits(person.map_or(Role::Staff, |p| p.role));
        // Verify against something even for an unknown id, so timing does not tell ids apart.
        let hash = person.and_then(|p| p.pin_hash.clone()).unwrap_or_else(|| UNKNOWN_STAFF_HASH.clone());
        let matches = self.pins.matches(pin.to_owned(), hash).await? && pins::pin_has_form(pin, digits);
        let Some(person) = person.filter(|_| matches) else {
            let mut throttle = lock(&self.throttle);
            for key in keys {
                if let Some(blocked) = throttle.failed(key.clone(), now)
                    && blocked.locked_out
                {
                    tracing::warn!(?key, "sign-in locked out after repeated failures");
                }
            }
            return Err(AuthError::WrongCredentials);
        };
        lock(&self.throttle).succeeded(&Key::Staff(staff.into()));
        if let Some(counter) = counter
            && !person.counters.iter().any(|c| c == counter)
        {
            return Err(AuthError::NotAssigned { staff: staff.into(), counter: counter.into() });
        }
        let mut token = [0u8; 24];
        rand::rng().fill_bytes(&mut token);
        let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
        let open = Open {
            staff: person.id.clone(),
            counter: counter.map(Into::into),
            created_at: now,
            expires_at: now + SESSION_LENGTH,
            last_seen: now,
            stored_seen: now,
        };
        let hash = token_hash(&token);
        let ended = self.keep(hash.clone(), open.clone(), now);
        let stored = StoredSession {
            token_sha256: hash,
            staff: open.staff.clone(),
            counter: open.counter.clone(),
            created_at: now,
            last_seen_at: now,
            expires_at: open.expires_at,
        };
        self.with_db(move |conn| {
            ended.store(conn)?;
            store::insert(conn, &stored)
        })
        .await?;
        Ok(self.session_of(person, &open, token))
    }

    /// Adds a session to the open ones; returns those it ends (ended by themselves, and the
    /// person's least recently used beyond [`SESSIONS_PER_PERSON`]) with their sign-outs.
    fn keep(&self, hash: String, session: Open, now: DateTime<Utc>) -> Ended {
        let mut open = lock(&self.open);
        let mut ending = ended_by_themselves(&open, &self.rules, now);
        let mut theirs: Vec<(String, DateTime<Utc>)> = open
            .iter()
            .filter(|(h, s)| s.staff == session.staff && !ending.iter().any(|(e, _, _)| e == *h))
            .map(|(h, s)| (h.clone(), s.last_seen))
            .collect();
        theirs.sort_by_key(|(_, seen)| *seen);
        let excess = (theirs.len() + 1).saturating_sub(SESSIONS_PER_PERSON);
        ending.extend(theirs.into_iter().take(excess).map(|(h, _)| (h, now, EndReason::SessionLimit)));
        let ended = end(&mut open, ending);
        open.insert(hash, session);
        ended
    }

    fn session_of(&self, person: &Staff, open: &Open, token: String) -> Session {
        Session {
            token,
            staff: person.id.clone(),
            name: person.name.clone(),
            role: person.role,
            counter: open.counter.clone(),
            counters: person.counters.clone(),
            // Filled in by the API, which knows the counters (`Branch::services_at`).
            services: Vec::new(),
            expires_at: open.expires_at.min(open.last_seen + self.rules.idle_timeout).max(open.created_at),
        }
    }

    /// Runs `f` on the database connection off the async workers (nothing without one).
    async fn with_db(
        &self,
        f: impl FnOnce(&mut Connection) -> rusqlite::Result<()> + Send + 'static,
    ) -> Result<(), AuthError> {
        let Some(conn) = self.conn.clone() else { return Ok(()) };
        tokio::task::spawn_blocking(move || f(&mut lock(&conn)))
            .await
            .map_err(|e| AuthError::Storage(e.to_string()))?
            .map_err(|e| AuthError::Storage(e.to_string()))
    }

    /// The session of an `Authorization` header's value, if it is current; it counts as used.
    pub fn check(&self, authorization: Option<&str>, now: DateTime<Utc>) -> Result<Session, AuthError> {
        let token = authorization.and_then(|h| h.strip_prefix("Bearer ")).ok_or(AuthError::Unauthenticated)?.trim();
        let mut open = lock(&self.open);
        let session = open.get_mut(&token_hash(token)).ok_or(AuthError::Unauthenticated)?;
        if !session.is_current(&self.rules, now) {
            return Err(AuthError::Unauthenticated);
        }
        session.last_seen = session.last_seen.max(now);
        let people = self.people.read().unwrap_or_else(|e| e.into_inner());
        let person = people.iter().find(|p| p.id == session.staff).ok_or(AuthError::Unauthenticated)?;
        Ok(self.session_of(person, session, token.to_owned()))
    }

    /// Like [`Sessions::check`], and the session must be a manager's.
    pub fn check_manager(&self, authorization: Option<&str>, now: DateTime<Utc>) -> Result<Session, AuthError> {
        let session = self.check(authorization, now)?;
        if session.role == Role::Manager { Ok(session) } else { Err(AuthError::Forbidden) }
    }

    /// Ends a session; whether it was open.
    pub async fn sign_out(&self, token: &str) -> Result<bool, AuthError> {
        let hash = token_hash(token);
        let was_open = lock(&self.open).remove(&hash).is_some();
        self.with_db(move |conn| store::delete(conn, &[hash])).await?;
        Ok(was_open)
    }

    /// Writes when sessions were last used (when it moved by a minute or more), deletes the
    /// sessions that ended by themselves and logs their sign-outs (with the reason: idle
    /// timeout or the session's length, at the moment it ended); run now and then.
    pub async fn flush(&self, now: DateTime<Utc>) -> Result<(), AuthError> {
        let (seen, ended) = {
            let mut open = lock(&self.open);
            let ending = ended_by_themselves(&open, &self.rules, now);
            let ended = end(&mut open, ending);
            let mut seen = Vec::new();
            for (h, s) in open.iter_mut() {
                if s.last_seen - s.stored_seen >= SEEN_PRECISION {
                    s.stored_seen = s.last_seen;
                    seen.push((h.clone(), s.last_seen));
                }
            }
            (seen, ended)
        };
        if seen.is_empty() && ended.hashes.is_empty() {
            return Ok(());
        }
        self.with_db(move |conn| {
            ended.store(conn)?;
            store::touch(conn, &seen)
        })
        .await
    }

    /// How many sessions are open (for tests and logs).
    pub fn open_count(&self) -> usize {
        lock(&self.open).len()
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
            services: None,
        };
        vec![person("s101", "1111", Role::Staff, &["1", "2"]), person("m001", "246813", Role::Manager, &[])]
    }

    fn bearer(session: &Session) -> String {
        format!("Bearer {}", session.token)
    }

    #[tokio::test]
    async fn staff_sign_in_with_their_pin_to_their_counters_only() {
        let (sessions, now) = (Sessions::in_memory(people(), SignInRules::default()), Utc::now());
        assert_eq!(sessions.sign_in("s101", "1112", None, None, now).await, Err(AuthError::WrongCredentials));
        assert_eq!(sessions.sign_in("s999", "1111", None, None, now).await, Err(AuthError::WrongCredentials));
        assert!(matches!(
            sessions.sign_in("s101", "1111", Some("3"), None, now).await,
            Err(AuthError::NotAssigned { .. })
        ));
        let session = sessions.sign_in("s101", "1111", Some("2"), None, now).await.unwrap();
        assert_eq!(session.counter.as_deref(), Some("2"));
        let header = bearer(&session);
        assert_eq!(sessions.check(Some(&header), now).unwrap().staff, "s101");
        assert_eq!(sessions.check_manager(Some(&header), now), Err(AuthError::Forbidden), "staff read no reports");
        assert_eq!(sessions.check(None, now), Err(AuthError::Unauthenticated));
        assert_eq!(sessions.sign_out(&session.token).await, Ok(true));
        assert_eq!(sessions.check(Some(&header), now), Err(AuthError::Unauthenticated));

        let manager = sessions.sign_in("m001", "246813", None, None, now).await.unwrap();
        assert!(sessions.check_manager(Some(&bearer(&manager)), now).is_ok());
    }

    #[tokio::test]
    async fn a_session_ends_when_idle_and_after_twelve_hours() {
        let (sessions, t0) = (Sessions::in_memory(people(), SignInRules::default()), Utc::now());
        let header = bearer(&sessions.sign_in("s101", "1111", None, None, t0).await.unwrap());
        let mut t = t0;
        while t < t0 + SESSION_LENGTH - Duration::minutes(50) {
            t += Duration::minutes(50);
            assert!(sessions.check(Some(&header), t).is_ok(), "used every 50 min, it stays open");
        }
        assert_eq!(sessions.check(Some(&header), t0 + SESSION_LENGTH), Err(AuthError::Unauthenticated), "12 h");
        let idle = bearer(&sessions.sign_in("s101", "1111", None, None, t0).await.unwrap());
        assert_eq!(sessions.check(Some(&idle), t0 + Duration::minutes(61)), Err(AuthError::Unauthenticated), "idle");
    }

    /// The sign-outs in the audit log of the database at `path`, oldest first: (at, actor,
    /// counter, reason).
    fn sign_outs(path: &std::path::Path) -> Vec<(DateTime<Utc>, String, Option<String>, String)> {
        let conn = crate::store::open(path).unwrap();
        let (from, to) = (Utc::now() - Duration::days(2), Utc::now() + Duration::days(2));
        let (mut entries, _) = crate::audit::page(&conn, from, to, None, 100).unwrap();
        entries.reverse();
        entries
            .into_iter()
            .filter(|e| e.action == AuditAction::SignOut)
            .map(|e| (e.at, e.actor, e.subject, e.after.get("reason").cloned().unwrap_or_default()))
            .collect()
    }

    #[tokio::test]
    async fn a_session_that_times_out_is_logged_as_a_sign_out_with_its_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite");
        let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-29T08:00:00Z").unwrap().to_utc();
        let rules = SignInRules::default();
        let sessions = Sessions::load(crate::store::open(&path).unwrap(), people(), rules, t0).unwrap();
        let staff = bearer(&sessions.sign_in("s101", "1111", Some("2"), None, t0).await.unwrap());
        let manager = bearer(&sessions.sign_in("m001", "246813", None, None, t0).await.unwrap());
        assert!(sessions.check(Some(&manager), t0 + Duration::minutes(30)).is_ok());
        sessions.flush(t0 + Duration::minutes(59)).await.unwrap();
        assert_eq!(sign_outs(&path), [], "both still open");
        // The counter's session is noticed idle at the next flush; the manager's, used at 08:30, not yet.
        sessions.flush(t0 + Duration::minutes(61)).await.unwrap();
        let idle = (t0 + Duration::minutes(60), "s101".to_string(), Some("2".to_string()), "idle_timeout".to_string());
        assert_eq!(sign_outs(&path), std::slice::from_ref(&idle), "logged at the moment it ended, with its counter");
        assert_eq!(sessions.check(Some(&staff), t0 + Duration::minutes(61)), Err(AuthError::Unauthenticated));
        sessions.flush(t0 + Duration::minutes(62)).await.unwrap();
        assert_eq!(sign_outs(&path).len(), 1, "once");
        // The manager's ends while the hub is down: logged at the next start.
        drop(sessions);
        let later = t0 + Duration::hours(3);
        let again = Sessions::load(crate::store::open(&path).unwrap(), people(), rules, later).unwrap();
        assert_eq!(again.open_count(), 0);
        let manager_idle = (t0 + Duration::minutes(90), "m001".to_string(), None, "idle_timeout".to_string());
        assert_eq!(sign_outs(&path), [idle, manager_idle]);
    }

    #[tokio::test]
    async fn a_managers_pin_must_have_the_branch_length() {
        let mut people = people();
        people[1].pin_hash = Some(hash_pin("2468"));
        let sessions = Sessions::in_memory(people.clone(), SignInRules::default());
        assert_eq!(sessions.sign_in("m001", "2468", None, None, Utc::now()).await, Err(AuthError::WrongCredentials));
        let demo = Sessions::in_memory(people, SignInRules { manager_pin_digits: 4, ..SignInRules::default() });
        assert!(demo.sign_in("m001", "2468", None, None, Utc::now()).await.is_ok());
    }

    #[tokio::test]
    async fn failures_throttle_the_id_and_the_address() {
        let (sessions, now) = (Sessions::in_memory(people(), SignInRules::default()), Utc::now());
        let here: IpAddr = "10.0.0.7".parse().unwrap();
        for _ in 0..5 {
            assert_eq!(sessions.sign_in("s101", "0000", None, Some(here), now).await, Err(AuthError::WrongCredentials));
        }
        let refused = sessions.sign_in("s101", "1111", None, None, now).await;
        assert_eq!(refused, Err(AuthError::Throttled { retry_after_s: 1 }), "the right PIN waits too");
        let elsewhere = sessions.sign_in("m001", "246813", None, Some(here), now).await;
        assert_eq!(elsewhere, Err(AuthError::Throttled { retry_after_s: 1 }), "so does that address");
        assert!(sessions.sign_in("s101", "1111", None, None, now + Duration::seconds(1)).await.is_ok());
    }

    #[tokio::test]
    async fn a_lockout_is_reported_once_per_id_and_address_however_many_attempts_follow() {
        let (sessions, now) = (Sessions::in_memory(people(), SignInRules::default()), Utc::now());
        let here: IpAddr = "10.0.0.7".parse().unwrap();
        let mut t = now;
        for _ in 0..throttle::LOCKOUT_AFTER {
            let tried = sessions.sign_in("s101", "0000", None, Some(here), t).await;
            assert_eq!(tried, Err(AuthError::WrongCredentials));
            t += Duration::minutes(1);
        }
        let mut lockouts = sessions.take_lockouts();
        lockouts.sort_by_key(|l| matches!(l.key, Key::Address(_)));
        let until = t - Duration::minutes(1) + throttle::LOCKOUT;
        assert_eq!(
            lockouts,
            [
                Lockout { key: Key::Staff("s101".into()), until },
                Lockout { key: Key::Address("10.0.0.7".into()), until }
            ]
        );
        for _ in 0..50 {
            let refused = sessions.sign_in("s101", "0000", None, Some(here), t).await;
            assert!(matches!(refused, Err(AuthError::Throttled { .. })));
        }
        assert!(sessions.take_lockouts().is_empty(), "refused attempts start no lockout");
    }

    #[tokio::test]
    async fn sessions_survive_a_restart_by_their_hash_and_go_with_their_person() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hub.sqlite");
        let now = Utc::now();
        let (kept, gone) = {
            let sessions =
                Sessions::load(crate::store::open(&path).unwrap(), people(), SignInRules::default(), now).unwrap();
            let kept = sessions.sign_in("s101", "1111", Some("1"), None, now).await.unwrap();
            let gone = sessions.sign_in("m001", "246813", None, None, now).await.unwrap();
            (kept, gone)
        };
        let conn = crate::store::open(&path).unwrap();
        let stored = store::all(&conn).unwrap();
        assert_eq!(stored.len(), 2);
        assert!(stored.iter().all(|s| s.token_sha256 != kept.token && s.token_sha256 != gone.token), "hashes only");
        let without_manager: Vec<Staff> = people().into_iter().filter(|p| p.id != "m001").collect();
        let again = Sessions::load(conn, without_manager, SignInRules::default(), now).unwrap();
        assert_eq!(again.check(Some(&bearer(&kept)), now).unwrap().staff, "s101");
        assert_eq!(again.check(Some(&bearer(&gone)), now), Err(AuthError::Unauthenticated), "removed from the file");
        assert_eq!(again.signed_in_at_counters(now), vec![("1".to_string(), "s101".to_string())]);
        assert_eq!(store::all(&crate::store::open(&path).unwrap()).unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_person_keeps_a_bounded_number_of_sessions() {
        let (sessions, now) = (Sessions::in_memory(people(), SignInRules::default()), Utc::now());
        let first = sessions.sign_in("s101", "1111", None, None, now).await.unwrap();
        for i in 1..=SESSIONS_PER_PERSON {
            sessions.sign_in("s101", "1111", None, None, now + Duration::seconds(i as i64)).await.unwrap();
        }
        assert_eq!(sessions.open_count(), SESSIONS_PER_PERSON);
        assert_eq!(sessions.check(Some(&bearer(&first)), now), Err(AuthError::Unauthenticated), "the oldest went");
    }
}
