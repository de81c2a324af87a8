//! The national sign-in (`[identity]`): OpenID Connect's authorization code flow with PKCE, so
//! the ID number a booking carries is the one the identity provider verified, not a typed one.
//!
//! The pure part: PKCE ([`pkce_challenge`]), the sealed cookies that keep the sign-in's `state`,
//! `nonce` and verifier and then the verified ID ([`Sealer`], HMAC-SHA-256 with a key derived
//! from the site's signing key, so every replica reads every cookie and no server state is
//! kept), the ID token's checks ([`verify_id_token`]: signature against the provider's JWKS,
//! Ed25519 `EdDSA` or `RS256`, with `ring`; `iss`, `aud`, `exp`, `iat`, `nonce`) and what a
//! booking request may say about the ID ([`bind`]). The shell, [`Provider`], fetches the
//! discovery document and the JWKS (both cached; the keys fetched again once on an unknown key)
//! and exchanges the code at the token endpoint.
use std::time::{Duration, Instant};

use dawr_protocol::oidc::{Discovery, IdTokenClaims, Jwk, Jwks, JwtHeader, TokenResponse};
use ring::signature::{self, UnparsedPublicKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The cookie that keeps a sign-in under way (`state`, `nonce`, PKCE verifier): 10 minutes.
pub const SIGNIN_COOKIE: &str = "dawr_signin";
/// The cookie that carries the verified ID number: 30 minutes.
pub const ID_COOKIE: &str = "dawr_id";
/// How long a sign-in may take.
pub const SIGNIN_SECONDS: i64 = 600;
/// How long a verified ID stays bound to the browser.
pub const ID_SECONDS: i64 = 1800;
/// The clock difference tolerated between the site and the provider.
const LEEWAY_SECONDS: i64 = 60;
/// How long the discovery document is kept.
const DISCOVERY_MAX_AGE: Duration = Duration::from_secs(3600);

/// The checked `[identity]` settings.
#[derive(Clone, PartialEq, Eq)]
pub struct Settings {
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    pub redirect_uri: String,
    pub national_id_claim: String,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("redirect_uri", &self.redirect_uri)
            .field("national_id_claim", &self.national_id_claim)
            .finish_non_exhaustive()
    }
}

impl From<&crate::config::IdentitySection> for Settings {
    fn from(s: &crate::config::IdentitySection) -> Self {
        Settings {
            issuer: s.issuer.0.clone(),
            client_id: s.client_id.0.clone(),
            client_secret: s.client_secret_file.secret.clone(),
            redirect_uri: s.redirect_uri.0.clone(),
            national_id_claim: s.national_id_claim.0.clone(),
        }
    }
}

/// Base64url without padding (JWTs, PKCE, the cookies).
fn b64(bytes: &[u8]) -> String {
    data_encoding::BASE64URL_NOPAD.encode(bytes)
}

fn unb64(text: &str) -> Option<Vec<u8>> {
    data_encoding::BASE64URL_NOPAD.decode(text.as_bytes()).ok()
}

/// A fresh random value for `state`, `nonce` or the PKCE verifier (32 bytes, base64url).
pub fn random_token() -> String {
    b64(&rand::random::<[u8; 32]>())
}

/// The PKCE `code_challenge` (S256) of `verifier`.
pub fn pkce_challenge(verifier: &str) -> String {
    b64(ring::digest::digest(&ring::digest::SHA256, verifier.as_bytes()).as_ref())
}

/// A sign-in under way, kept in [`SIGNIN_COOKIE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignIn {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The site's page to go back to (a local path).
    pub return_to: String,
    pub lang: String,
    /// Unix seconds.
    pub exp: i64,
}

/// A verified ID number, kept in [`ID_COOKIE`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub national_id: String,
    pub exp: i64,
}

/// Something a sealed cookie may carry: it says when it ends.
pub trait Expiring {
    /// The cookie's purpose, bound into its MAC (a sign-in cookie cannot pass as an ID cookie).
    const PURPOSE: &'static str;
    fn exp(&self) -> i64;
}

impl Expiring for SignIn {
    const PURPOSE: &'static str = "signin";
    fn exp(&self) -> i64 {
        self.exp
    }
}

impl Expiring for SignedIn {
    const PURPOSE: &'static str = "id";
    fn exp(&self) -> i64 {
        self.exp
    }
}

/// Seals values into cookie text (`payload.mac`) and opens them again, checked and unexpired.
pub struct Sealer {
    key: ring::hmac::Key,
}

impl Sealer {
    pub fn new(secret: &[u8]) -> Self {
        Sealer { key: ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret) }
    }

    fn signed(purpose: &str, payload: &str) -> String {
        format!("{purpose}.{payload}")
    }

    pub fn seal<T: Serialize + Expiring>(&self, value: &T) -> String {
        let payload = b64(&serde_json::to_vec(value).expect("a cookie's value serialises"));
        let mac = ring::hmac::sign(&self.key, Self::signed(T::PURPOSE, &payload).as_bytes());
        format!("{payload}.{}", b64(mac.as_ref()))
    }

    /// The value sealed in `text`, if its MAC is right (compared in constant time) and it has
    /// not ended by `now` (Unix seconds).
    pub fn open<T: DeserializeOwned + Expiring>(&self, text: &str, now: i64) -> Option<T> {
        let (payload, mac) = text.split_once('.')?;
        ring::hmac::verify(&self.key, Self::signed(T::PURPOSE, payload).as_bytes(), &unb64(mac)?).ok()?;
        let value: T = serde_json::from_slice(&unb64(payload)?).ok()?;
        (value.exp() > now).then_some(value)
    }
}

/// The cookie called `name` in a request's `Cookie` headers.
pub fn cookie<'h>(headers: &'h axum::http::HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name).and_then(|rest| rest.strip_prefix('=')))
}

/// A `Set-Cookie` value: `HttpOnly`, `SameSite=Lax` (the provider's redirect back is a
/// top-level navigation), `Secure` when the site is served over HTTPS; `max_age` 0 removes it.
pub fn set_cookie(name: &str, value: &str, max_age: i64, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}")
}

/// Whether `path` is one of the site's own pages (so a sign-in never sends a browser elsewhere).
pub fn local_path(path: &str) -> bool {
    path.starts_with('/') && !path.starts_with("//") && !path.contains('\\') && !path.chars().any(char::is_control)
}

/// A booking request's ID against the signed-in one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Binding {
    /// Book with this (verified) ID.
    Verified(String),
    /// Nobody is signed in: sign in first.
    NotSignedIn,
    /// The request names another ID: refused with the generic `not_bookable`.
    Mismatch,
}

/// What a booking request may say about the ID when the sign-in is on: nothing (the verified ID
/// is used) or the verified ID itself (typed in any form `validate::national_id` accepts).
pub fn bind(verified: Option<&str>, typed: &str) -> Binding {
    let Some(verified) = verified else { return Binding::NotSignedIn };
    if typed.trim().is_empty() || crate::validate::national_id(typed).is_ok_and(|id| id == verified) {
        Binding::Verified(verified.to_string())
    } else {
        Binding::Mismatch
    }
}

/// Why an ID token was not believed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("not a JWT")]
    Shape,
    #[error("algorithm {0:?} is not accepted (EdDSA or RS256)")]
    Algorithm(String),
    #[error("no key of the provider's JWKS matches the token")]
    UnknownKey,
    #[error("the signature is wrong")]
    Signature,
    #[error("iss is not the configured issuer")]
    Issuer,
    #[error("aud does not name the client")]
    Audience,
    #[error("the token has expired")]
    Expired,
    #[error("the token was issued in the future")]
    NotYet,
    #[error("nonce is not the sign-in's")]
    Nonce,
    #[error("the claim {0:?} is missing or not a string")]
    Claim(String),
}

/// What the ID token must say.
pub struct Expected<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    pub nonce: &'a str,
    /// The claim that carries the ID number.
    pub claim: &'a str,
    /// Unix seconds.
    pub now: i64,
}

/// Whether `key` verifies `signature` over `message` for algorithm `alg`.
fn key_verifies(alg: &str, key: &Jwk, message: &[u8], sig: &[u8]) -> bool {
    match (alg, key.kty.as_str()) {
        ("EdDSA", "OKP") if key.crv.as_deref() == Some("Ed25519") => key
            .x
            .as_deref()
            .and_then(unb64)
            .is_some_and(|x| UnparsedPublicKey::new(&signature::ED25519, x).verify(message, sig).is_ok()),
        ("RS256", "RSA") => match (key.n.as_deref().and_then(unb64), key.e.as_deref().and_then(unb64)) {
            (Some(n), Some(e)) => signature::RsaPublicKeyComponents { n, e }
                .verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
                .is_ok(),
            _ => false,
        },
        _ => false,
    }
}

fn kty_of(alg: &str) -> &'static str {
    if alg == "EdDSA" { "OKP" } else { "RSA" }
}

/// Checks an ID token against the provider's keys and what it must say; the ID number's claim
/// (as the provider wrote it) when all holds.
pub fn verify_id_token(token: &str, keys: &[Jwk], expected: &Expected<'_>) -> Result<String, TokenError> {
    let mut parts = token.split('.');
    let (Some(head), Some(body), Some(sig), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(TokenError::Shape);
    };
    let header: JwtHeader = unb64(head).and_then(|h| serde_json::from_slice(&h).ok()).ok_or(TokenError::Shape)?;
    if header.alg != "EdDSA" && header.alg != "RS256" {
        return Err(TokenError::Algorithm(header.alg));
    }
    let sig = unb64(sig).ok_or(TokenError::Shape)?;
    let candidates: Vec<&Jwk> = keys
        .iter()
        .filter(|k| k.kty == kty_of(&header.alg))
        .filter(|k| header.kid.is_none() || k.kid == header.kid)
        .collect();
    if candidates.is_empty() {
        return Err(TokenError::UnknownKey);
    }
    let message = format!("{head}.{body}");
    if !candidates.iter().any(|k| key_verifies(&header.alg, k, message.as_bytes(), &sig)) {
        return Err(TokenError::Signature);
    }
    let claims: IdTokenClaims = unb64(body).and_then(|b| serde_json::from_slice(&b).ok()).ok_or(TokenError::Shape)?;
    if claims.iss != expected.issuer {
        return Err(TokenError::Issuer);
    }
    if !claims.aud.names(expected.client_id) {
        return Err(TokenError::Audience);
    }
    if claims.exp + LEEWAY_SECONDS < expected.now {
        return Err(TokenError::Expired);
    }
    if claims.iat.is_some_and(|iat| iat > expected.now + LEEWAY_SECONDS) {
        return Err(TokenError::NotYet);
    }
    if claims.nonce.as_deref() != Some(expected.nonce) {
        return Err(TokenError::Nonce);
    }
    claims.string_claim(expected.claim).map(str::to_string).ok_or_else(|| TokenError::Claim(expected.claim.to_string()))
}

/// Why a sign-in failed (logged; the citizen sees one generic message).
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("the identity provider could not be reached or answered badly: {0}")]
    Provider(String),
    #[error("no sign-in under way, or its state does not match")]
    State,
    #[error("the provider refused: {0}")]
    Refused(String),
    #[error("the ID token is not believed: {0}")]
    Token(#[from] TokenError),
    #[error("the provider's ID claim is not a valid ID number")]
    NotAnId,
}

impl SignInError {
    /// Whether the provider (not the browser's request) is at fault.
    pub fn is_provider(&self) -> bool {
        matches!(self, SignInError::Provider(_))
    }
}

fn provider_error(e: impl std::fmt::Display) -> SignInError {
    SignInError::Provider(e.to_string())
}

/// The shell: talks to the provider; caches its discovery document and keys.
pub struct Provider {
    pub settings: Settings,
    pub sealer: Sealer,
    http: reqwest::Client,
    discovery: tokio::sync::Mutex<Option<(Discovery, Instant)>>,
    keys: tokio::sync::Mutex<Vec<Jwk>>,
}

impl Provider {
    /// `cookie_secret`: the key the cookies are sealed with (the same on every replica).
    pub fn new(settings: Settings, cookie_secret: &[u8]) -> Result<Provider, reqwest::Error> {
        let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Provider {
            settings,
            sealer: Sealer::new(cookie_secret),
            http,
            discovery: tokio::sync::Mutex::new(None),
            keys: tokio::sync::Mutex::new(Vec::new()),
        })
    }

    async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, SignInError> {
        let resp = self.http.get(url).send().await.map_err(provider_error)?;
        if !resp.status().is_success() {
            return Err(SignInError::Provider(format!("{url} answered {}", resp.status())));
        }
        resp.json().await.map_err(provider_error)
    }

    /// The discovery document, fetched at most once an hour; its `issuer` must be the configured one.
    pub async fn discovery(&self) -> Result<Discovery, SignInError> {
        let mut cached = self.discovery.lock().await;
        if let Some((doc, _)) = cached.as_ref().filter(|(_, at)| at.elapsed() < DISCOVERY_MAX_AGE) {
            return Ok(doc.clone());
        }
        let url = format!("{}/.well-known/openid-configuration", self.settings.issuer.trim_end_matches('/'));
        let doc: Discovery = self.get_json(&url).await?;
        if doc.issuer != self.settings.issuer {
            return Err(SignInError::Provider(format!("the discovery document names issuer {:?}", doc.issuer)));
        }
        *cached = Some((doc.clone(), Instant::now()));
        Ok(doc)
    }

    /// Where to send the browser to sign in.
    pub async fn authorize_url(&self, signin: &SignIn) -> Result<String, SignInError> {
        let doc = self.discovery().await?;
        let mut url = reqwest::Url::parse(&doc.authorization_endpoint).map_err(provider_error)?;
        url.query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("scope", "openid")
            .append_pair("client_id", &self.settings.client_id)
            .append_pair("redirect_uri", &self.settings.redirect_uri)
            .append_pair("state", &signin.state)
            .append_pair("nonce", &signin.nonce)
            .append_pair("code_challenge", &pkce_challenge(&signin.verifier))
            .append_pair("code_challenge_method", "S256")
            .append_pair("ui_locales", &signin.lang)
            // The citizen proves who they are every time: a provider session left open on a
            // shared computer must not sign the next person in as the last one.
            .append_pair("prompt", "login");
        Ok(url.into())
    }

    /// Checks the ID token with the cached keys, fetching them again once if none matches.
    async fn verify(&self, jwks_uri: &str, token: &str, expected: &Expected<'_>) -> Result<String, SignInError> {
        let mut keys = self.keys.lock().await;
        if !keys.is_empty() {
            match verify_id_token(token, &keys, expected) {
                Err(TokenError::UnknownKey) => {}
                other => return Ok(other?),
            }
        }
        let fresh: Jwks = self.get_json(jwks_uri).await?;
        *keys = fresh.keys;
        Ok(verify_id_token(token, &keys, expected)?)
    }

    /// The callback's work: `state` checked against the sign-in's, the code exchanged (with
    /// the PKCE verifier and `client_secret_basic`), the ID token verified; the ID number.
    pub async fn finish(&self, signin: &SignIn, code: &str, state: &str, now: i64) -> Result<String, SignInError> {
        if !ring_eq(state.as_bytes(), signin.state.as_bytes()) {
            return Err(SignInError::State);
        }
        let doc = self.discovery().await?;
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", &self.settings.redirect_uri),
            ("code_verifier", &signin.verifier),
        ];
        let resp = self
            .http
            .post(&doc.token_endpoint)
            .basic_auth(&self.settings.client_id, Some(&self.settings.client_secret))
            .form(&form)
            .send()
            .await
            .map_err(provider_error)?;
        if resp.status().is_client_error() {
            return Err(SignInError::Refused(format!("the token endpoint answered {}", resp.status())));
        }
        if !resp.status().is_success() {
            return Err(SignInError::Provider(format!("the token endpoint answered {}", resp.status())));
        }
        let tokens: TokenResponse = resp.json().await.map_err(provider_error)?;
        let expected = Expected {
            issuer: &self.settings.issuer,
            client_id: &self.settings.client_id,
            nonce: &signin.nonce,
            claim: &self.settings.national_id_claim,
            now,
        };
        let id = self.verify(&doc.jwks_uri, &tokens.id_token, &expected).await?;
        crate::validate::national_id(&id).map_err(|_| SignInError::NotAnId)
    }
}

/// Constant-time equality (`state` against the cookie's).
fn ring_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_matches_the_rfc_7636_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(pkce_challenge(verifier), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn a_sealed_cookie_opens_only_untouched_unexpired_and_for_its_purpose() {
        let sealer = Sealer::new(b"key");
        let id = SignedIn { national_id: "1000000008".into(), exp: 100 };
        let text = sealer.seal(&id);
        assert_eq!(sealer.open::<SignedIn>(&text, 99), Some(id.clone()));
        assert_eq!(sealer.open::<SignedIn>(&text, 100), None, "expired");
        assert_eq!(Sealer::new(b"other").open::<SignedIn>(&text, 0), None, "another key");
        let forged = sealer.seal(&SignedIn { national_id: "2000000006".into(), exp: 100 });
        let spliced = format!("{}.{}", forged.split_once('.').unwrap().0, text.split_once('.').unwrap().1);
        assert_eq!(sealer.open::<SignedIn>(&spliced, 0), None, "payload swapped under another MAC");
        let signin = SignIn {
            state: "s".into(),
            nonce: "n".into(),
            verifier: "v".into(),
            return_to: "/".into(),
            lang: "ar".into(),
            exp: 100,
        };
        assert_eq!(sealer.open::<SignedIn>(&sealer.seal(&signin), 0), None, "a sign-in cookie is no ID cookie");
    }

    #[test]
    fn a_booking_takes_the_verified_id_and_refuses_another() {
        let id = crate::validate::national_id_from(7, false);
        assert_eq!(bind(Some(&id), ""), Binding::Verified(id.clone()));
        assert_eq!(bind(Some(&id), &format!(" {id} ")), Binding::Verified(id.clone()));
        assert_eq!(bind(Some(&id), &crate::validate::national_id_from(8, false)), Binding::Mismatch);
        assert_eq!(bind(Some(&id), "not an id"), Binding::Mismatch);
        assert_eq!(bind(None, &id), Binding::NotSignedIn);
    }

    #[test]
    fn only_local_paths_are_returned_to() {
        assert!(local_path("/b/demo/A?lang=en"));
        assert!(!local_path("//evil.example/"));
        assert!(!local_path("https://evil.example/"));
        assert!(!local_path("/\\evil.example"));
    }

    fn ed25519_token(claims: &serde_json::Value, kid: &str) -> (String, Jwk) {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let pair = ring::signature::Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        use ring::signature::KeyPair;
        let head = b64(format!(r#"{{"alg":"EdDSA","kid":"{kid}"}}"#).as_bytes());
        let body = b64(claims.to_string().as_bytes());
        let sig = pair.sign(format!("{head}.{body}").as_bytes());
        let jwk = Jwk {
            kty: "OKP".into(),
            kid: Some(kid.into()),
            alg: None,
            use_: None,
            crv: Some("Ed25519".into()),
            x: Some(b64(pair.public_key().as_ref())),
            n: None,
            e: None,
        };
        (format!("{head}.{body}.{}", b64(sig.as_ref())), jwk)
    }

    #[test]
    fn an_id_token_is_believed_only_when_every_check_holds() {
        let claims = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut c = serde_json::json!({
                "iss": "https://id.example", "aud": ["dawr", "x"], "exp": 1000, "iat": 900,
                "nonce": "n1", "sub": "abc", "national_id": "1000000008"
            });
            f(&mut c);
            c
        };
        let expected =
            Expected { issuer: "https://id.example", client_id: "dawr", nonce: "n1", claim: "national_id", now: 950 };
        let check = |c: serde_json::Value| {
            let (token, jwk) = ed25519_token(&c, "k1");
            verify_id_token(&token, &[jwk], &expected)
        };
        assert_eq!(check(claims(&|_| {})), Ok("1000000008".into()));
        assert_eq!(check(claims(&|c| c["iss"] = "https://other".into())), Err(TokenError::Issuer));
        assert_eq!(check(claims(&|c| c["aud"] = "other".into())), Err(TokenError::Audience));
        assert_eq!(check(claims(&|c| c["exp"] = 800.into())), Err(TokenError::Expired));
        assert_eq!(check(claims(&|c| c["iat"] = 1100.into())), Err(TokenError::NotYet));
        assert_eq!(check(claims(&|c| c["nonce"] = "n2".into())), Err(TokenError::Nonce));
        assert_eq!(check(claims(&|c| c["national_id"] = 7.into())), Err(TokenError::Claim("national_id".into())));
        let (token, jwk) = ed25519_token(&claims(&|_| {}), "k1");
        let (_, other) = ed25519_token(&claims(&|_| {}), "k1");
        assert_eq!(verify_id_token(&token, &[other], &expected), Err(TokenError::Signature));
        let (_, elsewhere) = ed25519_token(&claims(&|_| {}), "k2");
        assert_eq!(verify_id_token(&token, &[elsewhere], &expected), Err(TokenError::UnknownKey));
        let (head, rest) = token.split_once('.').unwrap();
        let none = format!("{}.{rest}", b64(br#"{"alg":"none"}"#));
        assert_eq!(
            verify_id_token(&none, std::slice::from_ref(&jwk), &expected),
            Err(TokenError::Algorithm("none".into()))
        );
        let (body, sig) = rest.split_once('.').unwrap();
        let tampered_body = b64(claims(&|c| c["national_id"] = "2000000006".into()).to_string().as_bytes());
        let tampered = format!("{head}.{tampered_body}.{sig}");
        assert_eq!(verify_id_token(&tampered, std::slice::from_ref(&jwk), &expected), Err(TokenError::Signature));
        assert_eq!(verify_id_token(&format!("{head}.{body}"), &[jwk], &expected), Err(TokenError::Shape));
    }

    /// An RS256 ID token signed by `openssl dgst -sha256 -sign` with a 2048-bit test key (made
    /// once for this test; only its public modulus is here), as real providers sign.
    const RS256_TOKEN: &str = "eyJhbGciOiJSUzI1NiIsImtpZCI6InIxIn0.eyJpc3MiOiJodHRwczovL2lkLmV4YW1wbGUiLCJhdWQiOiJkYXdyIiwiZXhwIjoxMDAwLCJpYXQiOjkwMCwibm9uY2UiOiJuMSIsInN1YiI6IjEwMDAwMDAwMDgifQ.eGzMa3STePYkasX7y7zhR0tnGB4LJI0a-xAeCd8iLzaMktzT_Yz7n6A07JztQk8KP41PXQdmjptO3n3RUxyMUEymgMRXqXnv700QPaKIwYeUUxXi4Zvr2lfpFwuaBG_fn04nwk3PpFBVqBr0ejgbzuiKP1SAaQFZLzB5cKP_On3uHHf0uN7C2Zqef9nEX_Loahxgo3SZJpkmnzCLeoRPF4ZPRqiAl4n7DMr8BG6p6U_RJA-Vb05wf5CN3b12W-kagIbtMRJbX1PH5JhewNeag3iwIdNenHB7IerytpEp_gNHcskNoMfUvaYFv_0FftR6ithkGGea4wPFgmGT9c1NZw";
    const RS256_N: &str = "yfizL8tIin36nAUee4cXhPHjdhYIypMm2ZbGTTJSzGA7XW_yNc__Ovg2o2tXmxnEfIgye2fe32oDFON2fcJNIWERzZaGTmQZgY1ZqavPwYppE5oTWVnYEbE8HgW-1dA6Z4Wt9ocu2gtdeEceOGfviyQkUk_sdvHjjFp68jUHHjKwbPfbkSzayGhqFk5iwnie2AZKReIF0lkjjKSpmkUgoFsXnZd77Rbz_GSBf1QfQXmDmetGhyylhGMn8ALOshHvkblip2gcOJKAqoewQCTVnu8pVzCJfQ2f4cBT732A8dTO0aAAcG0q1CkX7GNLJdiNgn0diFwmtCcYl8CGi5W1sQ";

    #[test]
    fn an_rs256_token_is_checked_against_the_rsa_key() {
        let key = |n: &str| Jwk {
            kty: "RSA".into(),
            kid: Some("r1".into()),
            alg: None,
            use_: None,
            crv: None,
            x: None,
            n: Some(n.into()),
            e: Some("AQAB".into()),
        };
        let expected =
            Expected { issuer: "https://id.example", client_id: "dawr", nonce: "n1", claim: "sub", now: 950 };
        assert_eq!(verify_id_token(RS256_TOKEN, &[key(RS256_N)], &expected), Ok("1000000008".into()));
        let mut other = RS256_N.to_string();
        other.replace_range(10..11, if &other[10..11] == "A" { "B" } else { "A" });
        assert_eq!(verify_id_token(RS256_TOKEN, &[key(&other)], &expected), Err(TokenError::Signature));
        assert_eq!(
            verify_id_token(RS256_TOKEN, &[key(RS256_N)], &Expected { nonce: "n2", ..expected }),
            Err(TokenError::Nonce)
        );
    }
}
