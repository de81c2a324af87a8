//! A stand-in OpenID Connect provider (the national sign-in) for the appointments site's tests:
//! a small axum app on a free loopback port serving the discovery document, its JWKS (one
//! Ed25519 key), `/authorize` (approves at once, for the ID number it was given, redirecting
//! back with a code and the `state`; only a request with `prompt=login`) and `/token` (checks the client's credentials, the code,
//! the redirect URI and the PKCE verifier, and answers an Ed25519-signed ID token). It can be
//! told to hand out a tampered token, to see the site refuse it.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use anyhow::Result;
use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use dawr_protocol::oidc::{Audience, Discovery, IdTokenClaims, Jwk, Jwks, JwtHeader, OAuthError, TokenResponse};
use ed25519_dalek::{Signer, SigningKey};
use serde::Deserialize;
use sha2::Digest;

/// The site's client id at the stand-in.
pub const CLIENT_ID: &str = "dawr-site";
/// Its client secret (the site reads it from a file).
pub const CLIENT_SECRET: &str = "stand-in-secret";

/// What the ID token the stand-in hands out gets wrong, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tamper {
    Nothing,
    /// The claims are changed after signing (another ID number).
    Claims,
    /// Signed with a key that is not in the JWKS.
    Key,
    Nonce,
    Audience,
    Issuer,
}

struct Grant {
    nonce: String,
    challenge: String,
    redirect_uri: String,
}

struct Inner {
    national_id: String,
    tamper: Tamper,
    codes: HashMap<String, Grant>,
    issued: u32,
    /// Requests the site made (discovery, JWKS, token): not the browser's `/authorize`.
    asked_by_the_site: u32,
    /// Where `/authorize` sends the browser back (scheme, host and port), when not the
    /// `redirect_uri`'s own: the site's port is chosen after its file is written.
    back_to: Option<String>,
}

#[derive(Clone)]
struct Shared {
    issuer: String,
    key: Arc<SigningKey>,
    inner: Arc<Mutex<Inner>>,
}

/// The running stand-in; stops when dropped.
pub struct StandIn {
    pub issuer: String,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
    secret_dir: tempfile::TempDir,
}

impl Drop for StandIn {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl StandIn {
    /// Starts it; it signs citizens in as `national_id`.
    pub async fn start(national_id: &str) -> Result<StandIn> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let issuer = format!("http://{}", listener.local_addr()?);
        let shared = Shared {
            issuer: issuer.clone(),
            key: Arc::new(SigningKey::from_bytes(&[7; 32])),
            inner: Arc::new(Mutex::new(Inner {
                national_id: national_id.into(),
                tamper: Tamper::Nothing,
                codes: HashMap::new(),
                issued: 0,
                asked_by_the_site: 0,
                back_to: None,
            })),
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let secret_dir = tempfile::tempdir()?;
        std::fs::write(secret_dir.path().join("client-secret"), format!("{CLIENT_SECRET}\n"))?;
        Ok(StandIn { issuer, shared, task, secret_dir })
    }

    /// The ID number the next sign-ins are for.
    pub fn sign_in_as(&self, national_id: &str) {
        self.shared.inner.lock().expect("not poisoned").national_id = national_id.into();
    }

    /// What the next ID tokens get wrong.
    pub fn tamper(&self, tamper: Tamper) {
        self.shared.inner.lock().expect("not poisoned").tamper = tamper;
    }

    /// Sends browsers back to the site at `base` (`http://127.0.0.1:PORT`) whatever host and
    /// port its `redirect_uri` names (the path and the token exchange's check stay the same).
    pub fn send_back_to(&self, base: &str) {
        self.shared.inner.lock().expect("not poisoned").back_to = Some(base.trim_end_matches('/').into());
    }

    /// How many ID tokens it has handed out.
    pub fn tokens_issued(&self) -> u32 {
        self.shared.inner.lock().expect("not poisoned").issued
    }

    /// How many requests the site has made to it (discovery, JWKS, token exchanges).
    pub fn asked_by_the_site(&self) -> u32 {
        self.shared.inner.lock().expect("not poisoned").asked_by_the_site
    }

    /// `config` with an `[identity]` section for this stand-in (`redirect_uri` the site's
    /// callback at `site_base`, e.g. `http://127.0.0.1:PORT`, or a placeholder when the test
    /// carries the code back itself).
    pub fn site_config(&self, config: &str, site_base: &str) -> String {
        let secret = self.secret_dir.path().join("client-secret");
        format!(
            "{config}\n[identity]\nissuer = \"{}\"\nclient_id = \"{CLIENT_ID}\"\nclient_secret_file = {:?}\n\
             redirect_uri = \"{site_base}/signin/callback\"\nnational_id_claim = \"national_id\"\n",
            self.issuer,
            secret.display().to_string()
        )
    }
}

/// Counts a request the site made.
fn asked(s: &Shared) {
    s.inner.lock().expect("not poisoned").asked_by_the_site += 1;
}

async fn discovery(State(s): State<Shared>) -> Response {
    asked(&s);
    Json(Discovery {
        issuer: s.issuer.clone(),
        authorization_endpoint: format!("{}/authorize", s.issuer),
        token_endpoint: format!("{}/token", s.issuer),
        jwks_uri: format!("{}/jwks", s.issuer),
        response_types_supported: vec!["code".into()],
        id_token_signing_alg_values_supported: vec!["EdDSA".into()],
        code_challenge_methods_supported: vec!["S256".into()],
    })
    .into_response()
}

async fn jwks(State(s): State<Shared>) -> Response {
    asked(&s);
    let key = Jwk {
        kty: "OKP".into(),
        kid: Some(KEY_ID.into()),
        alg: Some("EdDSA".into()),
        use_: Some("sig".into()),
        crv: Some("Ed25519".into()),
        x: Some(URL_SAFE_NO_PAD.encode(s.key.verifying_key().as_bytes())),
        n: None,
        e: None,
    };
    Json(Jwks { keys: vec![key] }).into_response()
}

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    nonce: String,
    code_challenge: String,
    code_challenge_method: String,
    /// Must be `login`: the site asks the citizen to sign in every time.
    prompt: Option<String>,
}

fn refused(status: StatusCode, error: &str) -> Response {
    (status, Json(OAuthError { error: error.into() })).into_response()
}

fn bad(error: &str) -> Response {
    refused(StatusCode::BAD_REQUEST, error)
}

/// Approves at once (a request that does not ask the citizen to sign in again, `prompt=login`,
/// is refused: on a shared computer a provider's session would sign in the last person):
/// back to the site with a code and the `state`.
async fn authorize(State(s): State<Shared>, Query(q): Query<AuthorizeQuery>) -> Response {
    let again = q.prompt.as_deref() == Some("login");
    if q.response_type != "code" || q.client_id != CLIENT_ID || q.code_challenge_method != "S256" || !again {
        return bad("invalid_request");
    }
    let mut inner = s.inner.lock().expect("not poisoned");
    let code = format!("code-{}-{}", inner.codes.len(), q.nonce.len());
    let grant = Grant { nonce: q.nonce, challenge: q.code_challenge, redirect_uri: q.redirect_uri.clone() };
    inner.codes.insert(code.clone(), grant);
    let redirect = match &inner.back_to {
        Some(base) => {
            let path = reqwest::Url::parse(&q.redirect_uri).map(|u| u.path().to_string()).unwrap_or_default();
            format!("{base}{path}")
        }
        None => q.redirect_uri.clone(),
    };
    let Ok(mut back) = reqwest::Url::parse(&redirect) else { return bad("invalid_request") };
    back.query_pairs_mut().append_pair("code", &code).append_pair("state", &q.state);
    Redirect::to(back.as_str()).into_response()
}

#[derive(Deserialize)]
struct TokenForm {
    grant_type: String,
    code: String,
    redirect_uri: String,
    code_verifier: String,
}

/// The key id of the stand-in's one signing key.
const KEY_ID: &str = "k1";

fn sign(key: &SigningKey, claims: &IdTokenClaims) -> String {
    let header = JwtHeader { alg: "EdDSA".into(), kid: Some(KEY_ID.into()), typ: Some("JWT".into()) };
    let head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).expect("a header serialises"));
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).expect("claims serialise"));
    let sig = key.sign(format!("{head}.{body}").as_bytes());
    format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
}

/// The code (once) for an ID token, if the client and the PKCE verifier are right.
async fn token(State(s): State<Shared>, headers: HeaderMap, Form(f): Form<TokenForm>) -> Response {
    asked(&s);
    let basic = format!("Basic {}", STANDARD.encode(format!("{CLIENT_ID}:{CLIENT_SECRET}")));
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return refused(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let mut inner = s.inner.lock().expect("not poisoned");
    let Some(grant) = inner.codes.remove(&f.code) else { return bad("invalid_grant") };
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(f.code_verifier.as_bytes()));
    if f.grant_type != "authorization_code" || f.redirect_uri != grant.redirect_uri || challenge != grant.challenge {
        return bad("invalid_grant");
    }
    inner.issued += 1;
    let now = chrono::Utc::now().timestamp();
    let tamper = inner.tamper;
    let mut claims = IdTokenClaims {
        iss: s.issuer.clone(),
        aud: Audience::One(CLIENT_ID.into()),
        exp: now + 300,
        iat: Some(now),
        nonce: Some(grant.nonce),
        other: [
            ("sub".to_string(), "stand-in-subject".into()),
            ("national_id".to_string(), inner.national_id.clone().into()),
        ]
        .into(),
    };
    match tamper {
        Tamper::Nonce => claims.nonce = Some("another-nonce".into()),
        Tamper::Audience => claims.aud = Audience::One("another-client".into()),
        Tamper::Issuer => claims.iss = "http://127.0.0.1:1".into(),
        _ => {}
    }
    let mut id_token =
        if tamper == Tamper::Key { sign(&SigningKey::from_bytes(&[8; 32]), &claims) } else { sign(&s.key, &claims) };
    if tamper == Tamper::Claims {
        let mut parts: Vec<String> = id_token.split('.').map(str::to_string).collect();
        claims.other.insert("national_id".into(), crate::appointments::citizen_id(99).into());
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).expect("claims serialise"));
        id_token = parts.join(".");
    }
    Json(TokenResponse {
        id_token,
        access_token: "stand-in".into(),
        token_type: "Bearer".into(),
        expires_in: Some(300),
    })
    .into_response()
}
