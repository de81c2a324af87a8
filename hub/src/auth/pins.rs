//! PINs: their argon2 hashes (never the PIN itself), the rule on their length, and the
//! [`PinChecker`], a few threads of its own that do every check so concurrent sign-ins cannot
//! take more than those threads' memory (each argon2 check takes 19 MiB, and the allocator keeps
//! what each thread took).
use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
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

/// The most memory one check may take (argon2's `m`, in KiB): a branch file's hash asking for
/// more is not checked (its person cannot sign in) rather than exhaust memory.
const MAX_MEMORY_KIB: u32 = 256 * 1024;

/// [`pin_matches`] with `memory` as argon2's working memory, kept between checks: each check of
/// the default parameters needs 19 MiB, and allocating it afresh each time leaves the allocator
/// holding several copies per thread (measured: +136 MB after 8 sign-ins).
pub fn pin_matches_in(pin: &str, hash: &str, memory: &mut Vec<Block>) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else { return false };
    let (Some(expected), Some(salt)) = (parsed.hash, parsed.salt) else { return false };
    let Ok(algorithm) = Algorithm::try_from(parsed.algorithm) else { return false };
    let version = parsed.version.map_or(Ok(Version::V0x13), Version::try_from);
    let (Ok(version), Ok(params)) = (version, Params::try_from(&parsed)) else { return false };
    if params.m_cost() > MAX_MEMORY_KIB {
        return false;
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else { return false };
    if memory.len() < params.block_count() {
        memory.resize(params.block_count(), Block::default());
    }
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(algorithm, version, params);
    if argon.hash_password_into_with_memory(pin.as_bytes(), salt, &mut out, &mut memory[..]).is_err() {
        return false;
    }
    // Constant time: every byte compared whatever the first difference.
    out.iter().zip(expected.as_bytes()).fold(0u8, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// The demo branch's PINs (published in `demo-branch.toml` and the README).
pub const DEMO_PINS: [&str; 4] = ["1111", "2222", "3333", "2468"];

/// The ids of the people in `people` whose PIN is one of the demo's.
pub fn with_demo_pins(people: &[crate::domain::Staff]) -> Vec<String> {
    people
        .iter()
        .filter(|p| p.pin_hash.as_deref().is_some_and(|hash| DEMO_PINS.iter().any(|pin| pin_matches(pin, hash))))
        .map(|p| p.id.clone())
        .collect()
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
                    let mut memory = Vec::new();
                    loop {
                        let job = rx.lock().unwrap_or_else(|e| e.into_inner()).recv();
                        let Ok((pin, hash, reply)) = job else { break };
                        let _ = reply.send(pin_matches_in(&pin, &hash, &mut memory));
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
        let mut memory = Vec::new();
        assert!(pin_matches_in("1234", &a, &mut memory) && !pin_matches_in("4321", &a, &mut memory));
        assert!(pin_matches_in("1234", &b, &mut memory), "the same memory again");
        assert!(!pin_matches_in("1234", "not a hash", &mut memory));
        let cheap = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(64, 1, 1, None).unwrap());
        let salt = SaltString::encode_b64(&[7u8; 16]).unwrap();
        let other = cheap.hash_password(b"1234", &salt).unwrap().to_string();
        assert!(pin_matches_in("1234", &other, &mut memory), "other parameters, read from the hash");
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
