//! The OpenID Connect bodies the appointments site reads from a national sign-in provider
//! (a Nafath-style identity provider): its discovery document, its signing keys (JWKS), the
//! token endpoint's answer and refusal, and an ID token's header and claims.
//!
//! They are the provider's format (OpenID Connect Discovery 1.0, RFC 7517, RFC 6749, RFC 7519),
//! not Dawr's; they stand here so that the site, which reads them, and the test harness's
//! stand-in provider, which writes them, agree on one definition.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// `{issuer}/.well-known/openid-configuration` (the fields the site uses, and what a provider
/// says it supports).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_types_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub id_token_signing_alg_values_supported: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub code_challenge_methods_supported: Vec<String>,
}

/// The provider's signing keys (`jwks_uri`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// One key of a JWKS: Ed25519 (`kty` `OKP`, `crv` `Ed25519`, `x`) or RSA (`n`, `e`); the site
/// ignores any other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub kty: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

/// The token endpoint's answer to an authorization code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenResponse {
    pub id_token: String,
    #[serde(default)]
    pub access_token: String,
    #[serde(default)]
    pub token_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_in: Option<u64>,
}

/// An OAuth 2.0 endpoint's refusal (`invalid_request`, `invalid_client`, `invalid_grant`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthError {
    pub error: String,
}

/// A JWT's header: the signature's algorithm and the key it names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JwtHeader {
    pub alg: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
}

/// An ID token's `aud`: one client or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// Whether the token is meant for `client_id`.
    pub fn names(&self, client_id: &str) -> bool {
        match self {
            Audience::One(a) => a == client_id,
            Audience::Many(all) => all.iter().any(|a| a == client_id),
        }
    }
}

/// An ID token's claims: the ones every token must carry for the site to believe it, and every
/// other (`sub` and the provider's own, among them the one that carries the national ID number;
/// which one is the site's `[identity] national_id_claim`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub aud: Audience,
    /// Unix seconds.
    pub exp: i64,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

impl IdTokenClaims {
    /// The claim `name` when it is a string (`sub` or one of the provider's own).
    pub fn string_claim(&self, name: &str) -> Option<&str> {
        self.other.get(name).and_then(serde_json::Value::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_tokens_claims_read_the_named_claim_and_either_audience() {
        let claims: IdTokenClaims = serde_json::from_str(
            r#"{"iss":"https://idp","aud":["a","b"],"exp":10,"nonce":"n","sub":"s1","national_id":"1000000008","n":7}"#,
        )
        .unwrap();
        assert!(claims.aud.names("b") && !claims.aud.names("c"));
        assert_eq!(claims.string_claim("national_id"), Some("1000000008"));
        assert_eq!(claims.string_claim("sub"), Some("s1"));
        assert_eq!(claims.string_claim("n"), None, "not a string");
        assert_eq!(claims.iat, None);
        let one: IdTokenClaims = serde_json::from_str(r#"{"iss":"i","aud":"a","exp":1}"#).unwrap();
        assert!(one.aud.names("a"));
        let again: IdTokenClaims = serde_json::from_str(&serde_json::to_string(&claims).unwrap()).unwrap();
        assert_eq!(again, claims);
    }
}
