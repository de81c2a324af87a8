//! PINs: their argon2 hashes (never the PIN itself), the rule on their length, and the
//! [`PinChecker`], a few threads of its own that do every check so concurrent sign-ins cannot
//! take more than those threads' memory (each argon2 check takes 19 MiB, and the allocator keeps
//! what each thread took).
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;
use tokio::sync::oneshot;

/// A PIN's hash for the branch file (`dawr-hub --hash-pin 1234`).
pub fn hash_pin(pin: &str) -> String {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).expect("16 bytes make a valid salt");
    Argon2::default().hash_password(pin.as_bytes(), &salt).expect("argon2 hashes any PIN").to_string()
}

/// Whether `pin` is the one `hash` was made from.
pub fn pin_matches(pin: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(pin.as_bytes(), &parsed).is_ok())
}

/// Whether `pin` has the form the branch asks: only digits, at least `digits` of them.
pub fn pin_has_form(pin: &str, digits: u8) -> bool {
    pin.len() >= usize::from(digits) && pin.len() <= 32 && pin.bytes().all(|b| b.is_ascii_digit())
}

/// The PIN checks in progress or waiting are at their limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many sign-ins at once; try again in a moment")]
pub struct Busy;

type Job = (String, String, oneshot::Sender<bool>);

/// Checks PINs on `threads` threads of its own, with at most `queue` checks waiting.
#[derive(Debug, Clone)]
pub struct PinChecker {
    jobs: mpsc::SyncSender<Job>,
}

impl PinChecker {
    /// Starts the threads; they end when the last `PinChecker` clone is dropped.
    pub fn start(threads: usize, queue: usize) -> PinChecker {
        let (jobs, rx) = mpsc::sync_channel::<Job>(queue);
        let rx = Arc::new(Mutex::new(rx));
        for n in 0..threads.max(1) {
            let rx = rx.clone();
            std::thread::Builder::new()
                .name(format!("dawr-pins-{n}"))
                .spawn(move || {
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((pin, hash, reply)) = job else { break };
                        let _ = reply.send(pin_matches(&pin, &hash));
                    }
                })
                .expect("start a PIN thread");
        }
        PinChecker { jobs }
    }

    /// Queues the check of `pin` against `hash` (refused at once when the queue is full); the
    /// receiver gets whether they match.
    pub fn submit(&self, pin: String, hash: String) -> Result<oneshot::Receiver<bool>, Busy> {
        let (tx, rx) = oneshot::channel();
        self.jobs.try_send((pin, hash, tx)).map_err(|_| Busy)?;
        Ok(rx)
    }

    /// Whether `pin` matches `hash`, checked on one of the threads.
    pub async fn matches(&self, pin: String, hash: String) -> Result<bool, Busy> {
        self.submit(pin, hash)?.await.map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pin_hash_is_salted_and_not_the_pin() {
        let (a, b) = (hash_pin("1234"), hash_pin("1234"));
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$") && !a.contains("1234"));
        assert!(pin_matches("1234", &a) && !pin_matches("4321", &a));
        assert!(!pin_matches("1234", "not a hash"));
    }

    #[test]
    fn a_pin_is_digits_of_at_least_the_branch_length() {
        assert!(pin_has_form("2468", 4));
        assert!(!pin_has_form("2468", 6));
        assert!(pin_has_form("246813", 6));
        assert!(!pin_has_form("24a8", 4));
        assert!(!pin_has_form(&"1".repeat(33), 4));
    }

    #[tokio::test]
    async fn the_checker_answers_and_refuses_beyond_its_queue() {
        let checker = PinChecker::start(1, 1);
        let hash = hash_pin("1111");
        assert_eq!(checker.matches("1111".into(), hash.clone()).await, Ok(true));
        assert_eq!(checker.matches("1112".into(), hash.clone()).await, Ok(false));
        let queued: Vec<_> = (0..8).map(|_| checker.submit("1".into(), hash.clone())).collect();
        assert!(queued.iter().any(|q| q.as_ref().err() == Some(&Busy)), "a full queue says busy at once");
        for answer in queued.into_iter().flatten() {
            assert_eq!(answer.await, Ok(false), "what was queued is still answered");
        }
    }
}
