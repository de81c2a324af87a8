//! The security headers, set by one middleware on every response of a service: pages (and the
//! API's answers, which a browser might be tricked into rendering) may not be framed, sniffed
//! into another type, load or send anything elsewhere, or leak their address onwards.
//!
//! The Content-Security-Policy allows no script at all, unless a service names the exact inline
//! scripts its pages carry: then exactly those run (by their SHA-256), and they may fetch from
//! the service itself.
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use sha2::{Digest, Sha256};

/// What a service's pages may do.
#[derive(Debug, Clone)]
pub struct Policy {
    csp: HeaderValue,
}

impl Policy {
    /// Pages without JavaScript.
    pub fn without_scripts() -> Policy {
        Policy::with_scripts(&[])
    }

    /// Pages whose only scripts are these inline ones, byte for byte.
    pub fn with_scripts(scripts: &[&str]) -> Policy {
        let scripts = if scripts.is_empty() {
            String::new()
        } else {
            let hashes: Vec<String> = scripts.iter().map(|s| format!("'{}'", script_hash(s))).collect();
            format!("script-src {}; ", hashes.join(" "))
        };
        // `connect-src 'self'`: what a script may fetch (inert where none may run; a browser
        // test's injected script reads the page's own links this way).
        let csp = format!(
            "default-src 'none'; {scripts}connect-src 'self'; style-src 'unsafe-inline'; img-src 'self' data:; \
             form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
        );
        Policy { csp: HeaderValue::from_str(&csp).expect("a policy is plain ASCII") }
    }

    /// The Content-Security-Policy header's value.
    pub fn content_security_policy(&self) -> &HeaderValue {
        &self.csp
    }
}

/// Headers for a page whose address is a secret or that shows personal data: not cached, not
/// indexed, not leaked onwards.
pub fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

/// `sha256-…`: how a Content-Security-Policy names an inline script.
pub fn script_hash(script: &str) -> String {
    format!("sha256-{}", base64(&Sha256::digest(script.as_bytes())))
}

/// Puts the security headers on every response of `router` (its fallbacks included), with
/// `policy` unless a route's own (see [`with_policy`]) was set already.
pub fn secure<S: Clone + Send + Sync + 'static>(router: Router<S>, policy: Policy) -> Router<S> {
    router.layer(axum::middleware::map_response_with_state(policy, set_headers))
}

/// Gives the routes of `router` their own policy (the pages that carry a script), inside
/// [`secure`].
pub fn with_policy<S: Clone + Send + Sync + 'static>(router: Router<S>, policy: Policy) -> Router<S> {
    router.route_layer(axum::middleware::map_response_with_state(policy, set_policy))
}

async fn set_policy(State(policy): State<Policy>, mut response: Response) -> Response {
    response.headers_mut().insert(header::CONTENT_SECURITY_POLICY, policy.csp.clone());
    response
}

async fn set_headers(State(policy): State<Policy>, mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.entry(header::CONTENT_SECURITY_POLICY).or_insert(policy.csp.clone());
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.entry(header::REFERRER_POLICY).or_insert(HeaderValue::from_static("no-referrer"));
    response
}

/// Standard base64 with padding (RFC 4648), for the hashes above.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        for (i, shift) in [18, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> shift & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::Request;
    use axum::routing::get;
    use tower::ServiceExt;

    #[test]
    fn base64_and_script_hashes_are_the_standard_ones() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64(b"foobar"), "Zm9vYmFy");
        // `echo -n 'alert(1)' | openssl dgst -sha256 -binary | base64`
        assert_eq!(script_hash("alert(1)"), "sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI=");
    }

    #[tokio::test]
    async fn every_response_gets_the_headers_and_a_handler_may_keep_a_stricter_referrer_policy() {
        let scripted: Router = with_policy(
            Router::new().route("/private", get(|| async { ([(header::REFERRER_POLICY, "no-referrer")], "secret") })),
            Policy::with_scripts(&["alert(1)"]),
        );
        let router: Router = Router::new().route("/", get(|| async { "hi" })).merge(scripted);
        let app = secure(router, Policy::without_scripts());
        for path in ["/", "/private", "/missing"] {
            let response = app.clone().oneshot(Request::get(path).body(Body::empty()).unwrap()).await.unwrap();
            let headers = response.headers();
            let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
            assert!(csp.contains("frame-ancestors 'none'") && csp.starts_with("default-src 'none'"), "{csp}");
            let script = csp.contains("script-src 'sha256-bhHHL3z2vDgxUt0W3dWQOrprscmda2Y5pLsLg4GF+pI='");
            assert_eq!(script, path == "/private", "only the scripted route allows its script: {path} {csp}");
            assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
            assert_eq!(headers[header::REFERRER_POLICY], "no-referrer");
        }
    }
}
