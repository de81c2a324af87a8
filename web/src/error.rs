//! [`WebError`], the one error type of both services' handlers.
//!
//! As a response it is the API's JSON error, `{"error": "<code>", "message": "…"}` (plus
//! `field` where one form field is at fault), with its status. Page routes are wrapped in
//! [`html_errors`], which turns that same error into an HTML page in the page's language with
//! the same status — so a page handler returns `Result<_, WebError>` and uses `?` like an API
//! handler does.
use std::borrow::Cow;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use dawr_i18n::{Lang, Texts};
use maud::html;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::{Interrupted, StoreError};
use crate::html::{Head, page, parse_lang};

/// An error answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    field: Option<&'static str>,
    /// Seconds for a `Retry-After` header (a throttled request).
    retry_after: Option<u64>,
}

/// What a handler returns.
pub type WebResult<T> = Result<T, WebError>;

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
}

impl WebError {
    pub fn new(status: StatusCode, code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        WebError { status, code: code.into(), message: message.into(), field: None, retry_after: None }
    }

    /// A request that cannot be read (400 `malformed`).
    pub fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }

    /// 404 with `code`.
    pub fn not_found(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// The database failed (503 `storage_unavailable`).
    pub fn storage(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", error.to_string())
    }

    /// The service is stopping (503 `shutting_down`).
    pub fn shutting_down(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", error.to_string())
    }

    /// Names the form field at fault.
    pub fn with_field(self, field: &'static str) -> Self {
        WebError { field: Some(field), ..self }
    }

    /// Too many requests (429 with `code`), to be tried again after `seconds` (`Retry-After`).
    pub fn too_many(code: impl Into<Cow<'static, str>>, message: impl Into<String>, seconds: u64) -> Self {
        WebError { retry_after: Some(seconds.max(1)), ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, message) }
    }

    /// Unavailable for a moment (503 with `code`), to be tried again after `seconds` (`Retry-After`).
    pub fn unavailable(code: impl Into<Cow<'static, str>>, message: impl Into<String>, seconds: u64) -> Self {
        WebError { retry_after: Some(seconds.max(1)), ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message) }
    }

    /// The request is refused to this caller (403 `forbidden` unless another `code`).
    pub fn forbidden(code: impl Into<Cow<'static, str>>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, code, message)
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    pub fn code(&self) -> &str {
        &self.code
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl std::fmt::Display for WebError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.message)
    }
}

impl std::error::Error for WebError {}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        let body = ErrorBody { error: &self.code, message: &self.message, field: self.field };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(seconds) = self.retry_after {
            response.headers_mut().insert(header::RETRY_AFTER, seconds.into());
        }
        // For `html_errors`, should this answer a page.
        response.extensions_mut().insert(self);
        response
    }
}

impl From<Interrupted> for WebError {
    fn from(e: Interrupted) -> Self {
        WebError::shutting_down(e)
    }
}

impl From<StoreError> for WebError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Interrupted(e) => e.into(),
            e => WebError::storage(e),
        }
    }
}

impl From<rusqlite::Error> for WebError {
    fn from(e: rusqlite::Error) -> Self {
        WebError::storage(e)
    }
}

/// Reads a JSON body: present, an object (serde would take an array for a struct too), without
/// `null` members (no request schema of either service allows one: an optional member is left
/// out), and of the shape `T`.
pub fn json_body<T: DeserializeOwned>(body: &Bytes) -> WebResult<T> {
    let object = json_object(body)?;
    let known = field_names::<T>();
    if let Some((name, _)) = object.iter().find(|(name, value)| value.is_null() && known.contains(&name.as_str())) {
        return Err(WebError::malformed(format!("{name} must not be null: leave it out")));
    }
    from_object(object)
}

/// The member names a struct `T` reads (serde hands them to the deserializer); empty for a
/// type that is not a plain struct. Members it does not know are ignored, `null` or not.
fn field_names<T: DeserializeOwned>() -> &'static [&'static str] {
    struct Probe<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Probe<'_> {
        type Error = serde::de::value::Error;
        fn deserialize_any<V: serde::de::Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(serde::de::Error::custom("only structs are probed"))
        }
        fn deserialize_struct<V: serde::de::Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(serde::de::Error::custom("probed"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
            unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

/// [`json_body`] for a body whose schema allows `null` members (one that clears a field).
pub fn json_body_with_nulls<T: DeserializeOwned>(body: &Bytes) -> WebResult<T> {
    from_object(json_object(body)?)
}

fn json_object(body: &Bytes) -> WebResult<serde_json::Map<String, serde_json::Value>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(WebError::malformed("a JSON body is required"));
    }
    match serde_json::from_slice(body) {
        Ok(serde_json::Value::Object(object)) => Ok(object),
        Ok(_) => Err(WebError::malformed("the JSON body must be an object")),
        Err(e) => Err(WebError::malformed(format!("invalid JSON body: {e}"))),
    }
}

fn from_object<T: DeserializeOwned>(object: serde_json::Map<String, serde_json::Value>) -> WebResult<T> {
    let mut value = serde_json::Value::Object(object);
    whole_numbers_as_integers(&mut value);
    serde_json::from_value(value).map_err(|e| WebError::malformed(format!("invalid JSON body: {e}")))
}

/// `1.0` is an integer to JSON Schema (and so to the OpenAPI documents), not to serde: a whole
/// number written with a fraction becomes the integer it is.
fn whole_numbers_as_integers(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Number(n) if n.is_f64() => {
            let f = n.as_f64().unwrap_or(f64::NAN);
            if f.fract() == 0.0 && f.abs() < 9e15 {
                *value = serde_json::Value::from(f as i64);
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        serde_json::Value::Object(members) => members.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

/// Middleware for API routes (`axum::middleware::from_fn(json_errors)`): an error answer that is
/// not JSON — axum's own plain-text rejection of a query string, a path or a body — becomes the
/// JSON error of the contract with the same status (`malformed` for a 400).
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    let is_json =
        response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"application/json"));
    if is_json || !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let code = match status {
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        s if s.is_client_error() => "malformed",
        _ => "unavailable",
    };
    let error = WebError::new(status, code, String::from_utf8_lossy(&text).trim().to_string()).into_response();
    let (error_parts, error_body) = error.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, error_parts.headers[header::CONTENT_TYPE].clone());
    parts.extensions.extend(error_parts.extensions);
    Response::from_parts(parts, error_body)
}

/// The paths an OpenAPI document describes, sorted (to compare with the paths a router serves).
pub fn openapi_paths(document: &str) -> Result<Vec<String>, serde_json::Error> {
    #[derive(serde::Deserialize)]
    struct Document {
        paths: std::collections::BTreeMap<String, serde_json::Value>,
    }
    Ok(serde_json::from_str::<Document>(document)?.paths.into_keys().collect())
}

/// The answer to a path no route has.
pub async fn no_such_route() -> WebError {
    WebError::not_found("not_found", "no such route")
}

/// The answer to a method a route does not take.
pub async fn wrong_method() -> WebError {
    WebError::new(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "this route does not take that method")
}

/// Middleware for page routes (`axum::middleware::from_fn_with_state(texts, html_errors)`): a
/// [`WebError`] answer, or any failure that is not HTML (a rejected form), becomes the HTML
/// error page in the language of `?lang=`, with the same status.
pub async fn html_errors(State(texts): State<Arc<Texts>>, request: Request, next: Next) -> Response {
    let lang = request_lang(request.uri().query());
    let response = next.run(request).await;
    let status = response.status();
    let is_html = response.headers().get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    // A `WebError`, or any other failure that is not a page already (an extractor's plain-text
    // rejection of a form, say).
    if response.extensions().get::<WebError>().is_none() && (is_html || status.is_success() || status.is_redirection())
    {
        return response;
    }
    // The handler's headers (no caching, say) stay; the body and its type are the page's.
    let (mut parts, _) = response.into_parts();
    let page = error_page(&texts, lang, status).into_response();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, page.headers()[header::CONTENT_TYPE].clone());
    parts.headers.entry(header::CACHE_CONTROL).or_insert(header::HeaderValue::from_static("no-store"));
    Response::from_parts(parts, page.into_body())
}

fn request_lang(query: Option<&str>) -> Lang {
    let lang = query.unwrap_or_default().split('&').find_map(|pair| pair.strip_prefix("lang="));
    parse_lang(lang).unwrap_or_default()
}

const ERROR_STYLE: &str = "body{margin:0;color:#10231d;background:#f4f7f5;line-height:1.5}\
main{max-width:32rem;margin:10vh auto;padding:16px}\
section{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
h1{font-size:1.4rem;margin:0 0 12px}";

/// The page for an error: what went wrong in the visitor's words, nothing technical.
pub fn error_page(texts: &Texts, lang: Lang, status: StatusCode) -> Html<String> {
    let key = match status {
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => "web-error-forbidden",
        StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => "web-error-not-found",
        StatusCode::CONFLICT => "web-error-conflict",
        s if s.is_client_error() => "web-error-bad-request",
        _ => "web-error-unavailable",
    };
    let title = texts.get(lang, "web-error-title", &[]);
    let body = html! {
        main { section { h1 { (title) } p { (texts.get(lang, key, &[])) } } }
    };
    Html(page(Head::new(lang, &title, ERROR_STYLE).noindex(), body).into_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::Router;
    use axum::body::{Body, to_bytes};
    use axum::routing::get;
    use tower::ServiceExt;

    async fn failing() -> WebResult<&'static str> {
        Err(StoreError::Corrupt { column: "c", value: "v".into() })?
    }

    #[tokio::test]
    async fn an_error_is_json_for_the_api_and_a_page_in_the_asked_language_for_pages() {
        let texts = Arc::new(Texts::new());
        let pages = Router::new()
            .route("/page", get(failing))
            .layer(axum::middleware::from_fn_with_state(texts.clone(), html_errors));
        let app = Router::new().route("/api", get(failing)).merge(pages);
        let form = Router::new()
            .route(
                "/form",
                axum::routing::post(|axum::Form(_): axum::Form<std::collections::HashMap<u8, u8>>| async {}),
            )
            .layer(axum::middleware::from_fn_with_state(texts.clone(), html_errors));
        let rejected = form
            .oneshot(
                Request::post("/form")
                    .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
                    .body(Body::from("x=y"))
                    .unwrap(),
            )
            .await
            .unwrap();
        assert!(rejected.status().is_client_error());
        assert!(rejected.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"), "a page");

        let api = app.clone().oneshot(Request::get("/api").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(api.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["error"], "storage_unavailable");
        assert!(body["message"].as_str().unwrap().contains("column c"));

        let page = app.oneshot(Request::get("/page?x=1&lang=en").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(page.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(page.headers()[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/html"));
        let html = String::from_utf8(to_bytes(page.into_body(), 1 << 16).await.unwrap().to_vec()).unwrap();
        assert!(html.contains("<html lang=\"en\" dir=\"ltr\">"), "{html}");
        assert!(html.contains("not available right now"), "{html}");
        assert!(!html.contains("column c"), "no technical detail on a page");
    }

    #[tokio::test]
    async fn an_extractor_rejection_on_the_api_is_the_json_error() {
        #[derive(serde::Deserialize)]
        struct Day {
            #[allow(dead_code)]
            date: Option<String>,
        }
        let app = Router::new()
            .route("/q", get(|axum::extract::Query(_): axum::extract::Query<Day>| async { "ok" }))
            .layer(axum::middleware::from_fn(json_errors));
        let response = app.oneshot(Request::get("/q?date=a&date=b").body(Body::empty()).unwrap()).await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body: serde_json::Value =
            serde_json::from_slice(&to_bytes(response.into_body(), 1 << 16).await.unwrap()).unwrap();
        assert_eq!(body["error"], "malformed");
        assert!(body["message"].as_str().unwrap().contains("duplicate field"), "{body}");
    }

    #[test]
    fn a_body_must_be_an_object_without_nulls_unless_its_schema_allows_them() {
        #[derive(Debug, serde::Deserialize)]
        struct Shape {
            #[allow(dead_code)]
            a: Option<String>,
        }
        let read = |text: &'static str| json_body::<Shape>(&Bytes::from_static(text.as_bytes()));
        assert_eq!(read("[null]").unwrap_err().message(), "the JSON body must be an object");
        assert_eq!(read(r#"{"a": null}"#).unwrap_err().message(), "a must not be null: leave it out");
        assert!(read(r#"{"a": "x"}"#).is_ok());
        assert!(read(r#"{"a": "x", "unknown": null}"#).is_ok(), "members it does not read are ignored");
        #[derive(Debug, serde::Deserialize)]
        struct Score {
            score: u8,
        }
        assert_eq!(json_body::<Score>(&Bytes::from_static(br#"{"score": 4.0}"#)).unwrap().score, 4);
        assert!(json_body::<Score>(&Bytes::from_static(br#"{"score": 4.5}"#)).is_err());
        assert!(json_body_with_nulls::<Shape>(&Bytes::from_static(br#"{"a": null}"#)).is_ok());
        assert!(json_body_with_nulls::<Shape>(&Bytes::from_static(b"[null]")).is_err());
    }

    #[test]
    fn a_field_error_names_its_field_and_blank_bodies_are_refused() {
        let e = WebError::malformed("bad").with_field("phone");
        let response = e.into_response();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            json_body::<serde_json::Value>(&Bytes::from_static(b"  ")).unwrap_err().message(),
            "a JSON body is required"
        );
        assert_eq!(request_lang(Some("lang=en")), Lang::En);
        assert_eq!(request_lang(Some("lang=xx")), Lang::Ar);
    }
}
