//! Browser safety, one middleware for both services: what a web page open in a staff member's
//! (or a citizen's) browser cannot make the service do.
//!
//! - **Host allow-list.** A request must name a host the service answers to: an IP address
//!   (a DNS rebinding attack needs a name), `localhost`, the host of the configured public URL,
//!   or one listed in the configuration. Otherwise 421 `unknown_host`.
//! - **State changes from this site only.** A `POST`, `PUT`, `PATCH` or `DELETE` is refused
//!   (403 `cross_origin`) when the browser says it comes from elsewhere: `Sec-Fetch-Site` other
//!   than `same-origin` / `none`, or (from a browser too old to send that) an `Origin` that is
//!   not the request's own host — `null` is let through only for a form, as a same-origin form
//!   under `Referrer-Policy: no-referrer` sends it. A client that sends neither header (not a
//!   browser: curl, a kiosk, a counter app) is not a page.
//! - **Only JSON or a form.** Such a request with a body must be `application/json` or
//!   `application/x-www-form-urlencoded` (415 `unsupported_media_type`): `text/plain`, which a
//!   page may send anywhere without asking, is not accepted.
//!
//! [`Guard::secure_cookies`] says whether cookies get `Secure` (the service is reached over
//! HTTPS: the request came over TLS the service ended itself, its public URL is `https://`, or a
//! proxy says `X-Forwarded-Proto: https`).
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::WebError;

/// The hosts a service answers to, and whether it is reached over HTTPS.
#[derive(Debug, Clone)]
pub struct Guard {
    hosts: Arc<Vec<String>>,
    https: bool,
}

/// The host part of `host[:port]` (`[v6]` kept in brackets), lower-case.
fn host_name(authority: &str) -> String {
    let authority = authority.trim().to_ascii_lowercase();
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or_default().to_string();
    }
    authority.rsplit_once(':').map_or(authority.clone(), |(host, _)| host.to_string())
}

/// `https://host:port/path` → (`https`, `host:port`).
fn split_url(url: &str) -> Option<(&str, &str)> {
    let (scheme, rest) = url.split_once("://")?;
    Some((scheme, rest.split(['/', '?', '#']).next().unwrap_or_default()))
}

impl Guard {
    /// A guard for a service whose public URL is `public_url`, answering also to `extra_hosts`.
    pub fn new(public_url: &str, extra_hosts: &[String]) -> Guard {
        let mut hosts = vec!["localhost".to_string()];
        let (scheme, authority) = split_url(public_url).unwrap_or(("http", ""));
        if !authority.is_empty() {
            hosts.push(host_name(authority));
        }
        hosts.extend(extra_hosts.iter().map(|h| host_name(h)));
        Guard { hosts: Arc::new(hosts), https: scheme.eq_ignore_ascii_case("https") }
    }

    /// Whether `host` (a `Host` header's value) is one this service answers to.
    pub fn allows_host(&self, host: &str) -> bool {
        let name = host_name(host);
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        literal.parse::<std::net::IpAddr>().is_ok() || self.hosts.contains(&name)
    }

    /// Whether cookies set in answer to a request with these headers (which came over TLS or
    /// not) need `Secure`.
    pub fn secure_cookies(&self, headers: &HeaderMap, over_tls: crate::tls::OverTls) -> bool {
        over_tls.0
            || self.https
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"))
    }

    /// What is wrong with a request, if anything.
    pub fn check(&self, method: &Method, headers: &HeaderMap) -> Result<(), WebError> {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or_default();
        if !self.allows_host(host) {
            return Err(WebError::new(
                StatusCode::MISDIRECTED_REQUEST,
                "unknown_host",
                format!("this service does not answer to the host {host:?}"),
            ));
        }
        if matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            return Ok(());
        }
        let text = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
        let kind = text(header::CONTENT_TYPE).unwrap_or_default();
        let essence = kind.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let is_form = essence == "application/x-www-form-urlencoded";
        match (text(header::HeaderName::from_static("sec-fetch-site")), text(header::ORIGIN)) {
            // The browser says where the request comes from: believe it (a same-origin form
            // under `Referrer-Policy: no-referrer` carries `Origin: null`).
            (Some(site), _) if !matches!(site, "same-origin" | "none") => {
                return Err(cross_origin(format!("Sec-Fetch-Site: {site}")));
            }
            (Some(_), _) | (None, None) => {}
            // An older browser: its own pages' forms under no-referrer say `null`; JSON never.
            (None, Some("null")) if is_form => {}
            (None, Some(origin)) => {
                let same = split_url(origin).is_some_and(|(_, authority)| authority.eq_ignore_ascii_case(host.trim()));
                if !same {
                    return Err(cross_origin(format!("Origin: {origin}")));
                }
            }
        }
        let has_body = text(header::CONTENT_LENGTH).is_some_and(|l| l.trim() != "0")
            || headers.contains_key(header::TRANSFER_ENCODING);
        if has_body && essence != "application/json" && !is_form {
            return Err(WebError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as application/json (or a form from this site's own pages)",
            ));
        }
        Ok(())
    }
}

fn cross_origin(what: String) -> WebError {
    WebError::forbidden("cross_origin", format!("a change from another site is refused ({what})"))
}

/// Puts `guard` in front of every route of `router`.
pub fn guard<S: Clone + Send + Sync + 'static>(router: Router<S>, guard: Guard) -> Router<S> {
    router.layer(axum::middleware::from_fn_with_state(guard, check_request))
}

async fn check_request(State(guard): State<Guard>, request: Request, next: Next) -> Response {
    match guard.check(request.method(), request.headers()) {
        Ok(()) => next.run(request).await,
        Err(refused) => refused.into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn hosts_are_addresses_localhost_the_public_host_or_listed() {
        let guard = Guard::new("https://queue.example.sa/t", &["hub.branch.local".into()]);
        for host in [
            "127.0.0.1:8080",
            "[::1]:8080",
            "192.168.1.10",
            "localhost:8080",
            "QUEUE.example.sa",
            "hub.branch.local:80",
        ] {
            assert!(guard.allows_host(host), "{host}");
        }
        for host in ["evil.example", "queue.example.sa.evil.example", ""] {
            assert!(!guard.allows_host(host), "{host}");
        }
        use crate::tls::OverTls;
        assert!(guard.secure_cookies(&HeaderMap::new(), OverTls(false)), "an https public URL");
        let plain = Guard::new("http://127.0.0.1:8080", &[]);
        assert!(!plain.secure_cookies(&HeaderMap::new(), OverTls(false)));
        assert!(plain.secure_cookies(&HeaderMap::new(), OverTls(true)), "served over TLS");
        assert!(plain.secure_cookies(&headers(&[("x-forwarded-proto", "https")]), OverTls(false)));
    }

    #[test]
    fn a_change_must_come_from_the_same_origin_as_json_or_a_form() {
        let guard = Guard::new("http://127.0.0.1:8080", &[]);
        let host = ("host", "127.0.0.1:8080");
        let json = ("content-type", "application/json");
        let len = ("content-length", "2");
        assert!(guard.check(&Method::POST, &headers(&[host, json, len])).is_ok(), "not a browser");
        let same = ("origin", "http://127.0.0.1:8080");
        assert!(guard.check(&Method::POST, &headers(&[host, json, len, same])).is_ok());
        let form = ("content-type", "application/x-www-form-urlencoded");
        let site = ("sec-fetch-site", "same-origin");
        assert!(guard.check(&Method::POST, &headers(&[host, form, len, same, site])).is_ok());
        assert!(guard.check(&Method::POST, &headers(&[host])).is_ok(), "no body needs no type");
        let refused = |h: &[(&'static str, &str)]| guard.check(&Method::POST, &headers(h)).unwrap_err();
        assert_eq!(refused(&[host, json, len, ("origin", "http://evil.example")]).code(), "cross_origin");
        assert_eq!(refused(&[host, json, len, ("origin", "null")]).code(), "cross_origin");
        let null = ("origin", "null");
        assert!(guard.check(&Method::POST, &headers(&[host, form, len, null, site])).is_ok(), "no-referrer form");
        assert!(guard.check(&Method::POST, &headers(&[host, form, len, null])).is_ok(), "the same, older browser");
        let sandboxed = [host, form, len, null, ("sec-fetch-site", "cross-site")];
        assert_eq!(refused(&sandboxed).code(), "cross_origin");
        assert_eq!(refused(&[host, form, len, ("sec-fetch-site", "cross-site")]).code(), "cross_origin");
        assert_eq!(refused(&[host, ("content-type", "text/plain"), len]).code(), "unsupported_media_type");
        assert_eq!(refused(&[("host", "evil.example"), json, len]).code(), "unknown_host");
        assert!(guard.check(&Method::GET, &headers(&[host, ("origin", "http://evil.example")])).is_ok(), "reads");
        assert_eq!(
            guard.check(&Method::GET, &headers(&[("host", "rebound.example")])).unwrap_err().code(),
            "unknown_host"
        );
    }
}
