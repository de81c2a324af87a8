//! The hub's web layer: the only part of the hub that knows HTTP.
//!
//! [`AppState`] is what every handler reaches; [`router`] joins the JSON API ([`api`], described
//! by `openapi.json` beside this file) and the pages — the managers' [`dashboard`], the exit
//! [`rate_page`] and the visitor's [`ticket_page`] — behind the security headers of
//! [`dawr_web::headers`]. Handlers return `dawr_web::WebResult`: the hub's own errors convert into a
//! `WebError` with `From` (see [`errors`]), so they use `?`; on a page route the error is an
//! HTML page, on the API the JSON error of the contract. Database calls go through
//! [`AppState::db`] ([`Db::read`] / [`Db::write`]), off the async runtime.
//!
//! Nothing below `web` (the domain, the engine, the store, the reports) imports from here.
use std::sync::Arc;

use axum::Router;
use axum::routing::{MethodRouter, get, post};
use dawr_web::error::{html_errors, json_errors, no_such_route, wrong_method};
use dawr_web::headers::{self, Policy};
use dawr_web::{Db, WebError, WebResult};

use crate::bookings::Appointments;
use crate::domain::Branch;
use crate::engine::EngineHandle;
use crate::mqtt::MqttStatus;

pub mod api;
pub mod dashboard;
mod errors;
pub mod privacy;
pub mod rate_page;
pub mod ticket_page;

pub use errors::status_for;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: EngineHandle,
    /// The hub's database. Reads share the engine's reading connection; writes go through the
    /// connection for what is not queue state (what staff note on cases, the CRM outbox).
    pub db: Db,
    pub branch: Arc<Branch>,
    pub public_url: String,
    pub mqtt: MqttStatus,
    pub texts: Arc<dawr_i18n::Texts>,
    pub sessions: Arc<crate::auth::Sessions>,
    /// Whether case events go to a CRM (then case changes enter its outbox).
    pub crm_enabled: bool,
    /// Bookings from the appointments site, for check-in.
    pub appointments: Appointments,
    /// The secret of the keyed hash of visitors (matching, export, erasure, audit fingerprints).
    pub visitor_key: Arc<crate::privacy::VisitorKey>,
}

/// A route: its path and its handlers by method.
pub type Route = (&'static str, MethodRouter<AppState>);

/// The pages (HTML in Arabic or English). The router is built from this list, and the test of
/// the security headers walks it.
pub fn pages() -> Vec<Route> {
    [managers_pages(), visitors_pages()].concat()
}

/// The dashboard: no script at all.
fn managers_pages() -> Vec<Route> {
    vec![
        ("/dashboard", get(dashboard::show)),
        ("/dashboard/sign-in", post(dashboard::sign_in)),
        ("/dashboard/sign-out", post(dashboard::sign_out)),
        ("/dashboard/visits.csv", get(dashboard::csv)),
    ]
}

/// The visitors' pages, which carry the hub's two scripts (see [`visitors_policy`]).
fn visitors_pages() -> Vec<Route> {
    vec![
        ("/rate/{counter}", get(rate_page::show).post(rate_page::rate)),
        ("/rate/{counter}/why", get(rate_page::why)),
        ("/rate/{counter}/reason", post(rate_page::add_reason)),
        ("/t/{token}", get(ticket_page::page)),
        ("/t/{token}/status", get(ticket_page::status)),
        ("/t/{token}/rate", post(ticket_page::rate_resolution)),
        ("/t/{token}/rate/reason", post(ticket_page::rate_resolution_reason)),
    ]
}

/// The paths of [`pages`].
pub fn page_paths() -> Vec<&'static str> {
    pages().into_iter().map(|(path, _)| path).collect()
}

/// What the visitors' pages may run: the ticket page's live refresh and the rating pages' return
/// to the faces, by their hashes. Every other answer of the hub allows no script.
pub fn visitors_policy() -> Policy {
    Policy::with_scripts(&[ticket_page::SCRIPT, rate_page::IDLE_RETURN])
}

fn routes(list: Vec<Route>) -> Router<AppState> {
    list.into_iter().fold(Router::new(), |router, (path, route)| router.route(path, route))
}

/// Every route of the hub: the API (whose errors, axum's own rejections included, are the JSON
/// error), the pages (whose errors are HTML pages), the JSON answers
/// for unknown routes and methods, and the security headers on every answer.
pub fn router(state: AppState) -> Router {
    let visitors = headers::with_policy(routes(visitors_pages()), visitors_policy());
    let pages = routes(managers_pages())
        .merge(visitors)
        .route_layer(axum::middleware::from_fn_with_state(state.texts.clone(), html_errors));
    let app = routes(api::routes())
        .layer(axum::middleware::from_fn(json_errors))
        .merge(pages)
        .fallback(no_such_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state);
    headers::secure(app, Policy::without_scripts())
}

/// Serves [`router`] on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state)).with_graceful_shutdown(shutdown).await
}

/// Checks a staff id and PIN (and the counter to open) and opens a session. The PIN hash is slow
/// on purpose, so it is checked off the async workers.
async fn sign_in_with_pin(
    state: &AppState,
    staff: String,
    pin: String,
    counter: Option<String>,
) -> WebResult<crate::auth::Session> {
    let (sessions, branch) = (state.sessions.clone(), state.branch.clone());
    let now = chrono::Utc::now();
    let tried = staff.clone();
    let checked =
        tokio::task::spawn_blocking(move || sessions.sign_in(&branch.staff, &staff, &pin, counter.as_deref(), now));
    let signed_in = checked.await.map_err(WebError::shutting_down)?;
    privacy::record_sign_in(state, &tried, &signed_in).await;
    Ok(signed_in?)
}

/// The manager's or staff member's bearer token, from `Authorization`.
fn authorization(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}
