//! The signed check-in token a booking's QR code carries (feature `booking-token`), so a branch
//! hub can check in a booking it has never pulled from the appointments site (the link is down,
//! or the booking was made after the last pull).
//!
//! The site signs the booking's [`Claims`] — code, branch, service, slot and a short hash of the
//! ID number — with its Ed25519 key; the hub verifies them with the site's public key from its
//! own configuration, offline, and then applies its usual check-in rules (the window around the
//! slot, once only). The text is RFC 4648 base32 without padding (`A`–`Z`, `2`–`7`), so a
//! keyboard-wedge scanner types it unchanged through any case folding, and a QR code holds it in
//! its compact alphanumeric mode.
//!
//! Layout (all inside the base32 text): a version byte (1); the code, branch and service, each
//! as a length byte then ASCII; the slot's start as Unix seconds (i64, big-endian); its length in
//! minutes (u16, big-endian); 8 bytes of the ID hash ([`id_hash`]); then the 64-byte signature
//! over [`DOMAIN`] followed by everything before it.
//!
//! The ID hash binds the token to one person without carrying the number, but ID numbers are few
//! (10 digits, one a check digit), so it can be reversed by trying them all: the token is as
//! personal as the booking page it is shown on, and is given out only there.
use chrono::{DateTime, TimeZone, Utc};
use data_encoding::BASE32_NOPAD;
use ed25519_dalek::{Signature, Signer};
pub use ed25519_dalek::{SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// What is signed before the claims: no other Ed25519 signature of the site's key can pass for a
/// token.
pub const DOMAIN: &[u8] = b"dawr-booking-token/1\0";
const VERSION: u8 = 1;
const SIGNATURE_LEN: usize = 64;
/// A booking code is at most this long; anything longer that a kiosk sends is read as a token.
pub const MAX_CODE_LEN: usize = 16;

/// What a token says about its booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    pub code: String,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// [`id_hash`] of the booking's code and ID number.
    pub id_hash: [u8; 8],
}

/// Why a text is not a token to trust.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("this is not a booking token (damaged or cut short)")]
    Malformed,
    #[error("this booking token is not signed by the appointments site (forged or altered)")]
    BadSignature,
    #[error("no appointments-site key is configured to verify booking tokens with")]
    NoKeys,
    #[error("a claim does not fit a token: {0}")]
    Unencodable(&'static str),
    #[error("not an Ed25519 key in base64 (32 bytes)")]
    BadKey,
}

/// Whether a scanned or typed text is meant as a token rather than a booking code: longer than
/// any code.
pub fn looks_like_token(text: &str) -> bool {
    text.trim().len() > MAX_CODE_LEN
}

/// The first 8 bytes of SHA-256 over a domain tag, the booking's code and the ID number.
pub fn id_hash(code: &str, national_id: &str) -> [u8; 8] {
    let digest = Sha256::new()
        .chain_update(b"dawr-booking-id/1\0")
        .chain_update(code.as_bytes())
        .chain_update(b"\0")
        .chain_update(national_id.as_bytes())
        .finalize();
    let mut out = [0; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// The token text for `claims`, signed with `key`.
pub fn sign(key: &SigningKey, claims: &Claims) -> Result<String, TokenError> {
    let mut bytes = payload(claims)?;
    let signature = key.sign(&signed_message(&bytes));
    bytes.extend_from_slice(&signature.to_bytes());
    Ok(BASE32_NOPAD.encode(&bytes))
}

/// The claims of a token text signed by one of `keys` (any case; surrounding space ignored).
pub fn verify(keys: &[VerifyingKey], text: &str) -> Result<Claims, TokenError> {
    let bytes = BASE32_NOPAD.decode(text.trim().to_ascii_uppercase().as_bytes()).map_err(|_| TokenError::Malformed)?;
    if bytes.len() <= SIGNATURE_LEN {
        return Err(TokenError::Malformed);
    }
    let (body, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    let claims = parse(body)?;
    if keys.is_empty() {
        return Err(TokenError::NoKeys);
    }
    let signature = Signature::from_slice(signature).map_err(|_| TokenError::Malformed)?;
    let message = signed_message(body);
    if keys.iter().any(|key| key.verify_strict(&message, &signature).is_ok()) {
        Ok(claims)
    } else {
        Err(TokenError::BadSignature)
    }
}

/// The claims of a token text without checking its signature: only for a hub that has no key to
/// check it with, which then uses the code alone, as if typed.
pub fn read_unverified(text: &str) -> Result<Claims, TokenError> {
    let bytes = BASE32_NOPAD.decode(text.trim().to_ascii_uppercase().as_bytes()).map_err(|_| TokenError::Malformed)?;
    if bytes.len() <= SIGNATURE_LEN {
        return Err(TokenError::Malformed);
    }
    parse(&bytes[..bytes.len() - SIGNATURE_LEN])
}

/// A public key as configuration files carry it: standard base64 of its 32 bytes.
pub fn public_key_text(key: &VerifyingKey) -> String {
    data_encoding::BASE64.encode(key.as_bytes())
}

/// Reads a public key written by [`public_key_text`].
pub fn parse_public_key(text: &str) -> Result<VerifyingKey, TokenError> {
    let bytes: [u8; 32] = data_encoding::BASE64
        .decode(text.trim().as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(TokenError::BadKey)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| TokenError::BadKey)
}

/// A signing key from its 32-byte seed in standard base64 (the site's key file).
pub fn parse_signing_key(text: &str) -> Result<SigningKey, TokenError> {
    let bytes: [u8; 32] = data_encoding::BASE64
        .decode(text.trim().as_bytes())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(TokenError::BadKey)?;
    Ok(SigningKey::from_bytes(&bytes))
}

/// The seed of a signing key in standard base64 (what [`parse_signing_key`] reads).
pub fn signing_key_text(key: &SigningKey) -> String {
    data_encoding::BASE64.encode(&key.to_bytes())
}

fn signed_message(body: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(DOMAIN.len() + body.len());
    message.extend_from_slice(DOMAIN);
    message.extend_from_slice(body);
    message
}

fn payload(claims: &Claims) -> Result<Vec<u8>, TokenError> {
    let mut out = vec![VERSION];
    for (what, text) in [("code", &claims.code), ("branch", &claims.branch), ("service", &claims.service)] {
        if text.is_empty() || text.len() > 64 || !text.is_ascii() {
            return Err(TokenError::Unencodable(what));
        }
        out.push(text.len() as u8);
        out.extend_from_slice(text.as_bytes());
    }
    let minutes =
        u16::try_from((claims.end - claims.start).num_minutes()).map_err(|_| TokenError::Unencodable("slot"))?;
    out.extend_from_slice(&claims.start.timestamp().to_be_bytes());
    out.extend_from_slice(&minutes.to_be_bytes());
    out.extend_from_slice(&claims.id_hash);
    Ok(out)
}

fn parse(body: &[u8]) -> Result<Claims, TokenError> {
    let mut rest = body;
    let mut take = |n: usize| -> Result<&[u8], TokenError> {
        if rest.len() < n {
            return Err(TokenError::Malformed);
        }
        let (head, tail) = rest.split_at(n);
        rest = tail;
        Ok(head)
    };
    if take(1)? != [VERSION] {
        return Err(TokenError::Malformed);
    }
    let mut text = || -> Result<String, TokenError> {
        let len = take(1)?[0] as usize;
        let bytes = take(len)?;
        match std::str::from_utf8(bytes) {
            Ok(s) if !s.is_empty() && s.is_ascii() => Ok(s.to_string()),
            _ => Err(TokenError::Malformed),
        }
    };
    let (code, branch, service) = (text()?, text()?, text()?);
    let start = i64::from_be_bytes(take(8)?.try_into().map_err(|_| TokenError::Malformed)?);
    let minutes = u16::from_be_bytes(take(2)?.try_into().map_err(|_| TokenError::Malformed)?);
    let id_hash: [u8; 8] = take(8)?.try_into().map_err(|_| TokenError::Malformed)?;
    if !rest.is_empty() {
        return Err(TokenError::Malformed);
    }
    let start = Utc.timestamp_opt(start, 0).single().ok_or(TokenError::Malformed)?;
    Ok(Claims { code, branch, service, start, end: start + chrono::Duration::minutes(minutes.into()), id_hash })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> Claims {
        let start: DateTime<Utc> = "2026-11-23T07:00:00Z".parse().unwrap();
        Claims {
            code: "K7M3PX9A".into(),
            branch: "demo".into(),
            service: "E".into(),
            start,
            end: start + chrono::Duration::minutes(15),
            id_hash: id_hash("K7M3PX9A", "1000000008"),
        }
    }

    #[test]
    fn a_token_carries_its_claims_and_only_the_sites_key_makes_one() {
        let site = SigningKey::from_bytes(&[7; 32]);
        let other = SigningKey::from_bytes(&[9; 32]);
        let token = sign(&site, &claims()).unwrap();
        assert!(looks_like_token(&token) && !looks_like_token("K7M3PX9A"));
        assert!(token.len() < 200, "fits a small QR code: {} characters", token.len());
        assert!(token.bytes().all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b)), "{token}");
        let keys = [other.verifying_key(), site.verifying_key()];
        assert_eq!(verify(&keys, &token), Ok(claims()));
        assert_eq!(verify(&keys, &format!(" {} ", token.to_lowercase())), Ok(claims()), "any case");
        assert_eq!(verify(&[other.verifying_key()], &token), Err(TokenError::BadSignature));
        assert_eq!(verify(&[], &token), Err(TokenError::NoKeys));
        assert_eq!(read_unverified(&token), Ok(claims()));
        // Signed by another key: refused.
        assert_eq!(verify(&[site.verifying_key()], &sign(&other, &claims()).unwrap()), Err(TokenError::BadSignature));
        // Every claim is covered: another branch, service or slot in a re-encoded body fails.
        let mut bytes = BASE32_NOPAD.decode(token.as_bytes()).unwrap();
        let at = bytes.windows(4).position(|w| w == b"demo").unwrap();
        bytes[at..at + 4].copy_from_slice(b"dmmm");
        assert_eq!(verify(&keys, &BASE32_NOPAD.encode(&bytes)), Err(TokenError::BadSignature));
        for i in 0..bytes.len() {
            let mut altered = BASE32_NOPAD.decode(token.as_bytes()).unwrap();
            altered[i] ^= 0x01;
            assert!(verify(&keys, &BASE32_NOPAD.encode(&altered)).is_err(), "byte {i} altered");
        }
        assert_eq!(verify(&keys, &token[..token.len() - 8]), Err(TokenError::Malformed), "cut short");
        assert_eq!(verify(&keys, "K7M3PX9A-NOT-A-TOKEN-AT-ALL"), Err(TokenError::Malformed));
        assert_eq!(id_hash("K7M3PX9A", "1000000008"), claims().id_hash);
        assert_ne!(id_hash("K7M3PX9A", "1000000016"), claims().id_hash);
    }

    #[test]
    fn keys_are_written_as_base64() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let public = public_key_text(&key.verifying_key());
        assert_eq!(parse_public_key(&public), Ok(key.verifying_key()));
        assert_eq!(parse_signing_key(&signing_key_text(&key)).unwrap().to_bytes(), key.to_bytes());
        assert_eq!(parse_public_key("not a key"), Err(TokenError::BadKey));
        assert_eq!(parse_public_key(&data_encoding::BASE64.encode(&[1; 31])), Err(TokenError::BadKey));
        let too_long = Claims { code: "X".repeat(65), ..claims() };
        assert_eq!(sign(&key, &too_long), Err(TokenError::Unencodable("code")));
    }
}
