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
use dawr_web::guard::Guard;
use dawr_web::headers::{self, Policy};
use dawr_web::{Db, WebResult};

use crate::bookings::Appointments;
use crate::domain::Branch;
use crate::engine::EngineHandle;
use crate::mqtt::MqttStatus;

pub mod actions;
pub mod api;
pub mod callers;
pub mod closures;
pub mod dashboard;
mod errors;
pub mod firmware;
pub mod forecast;
pub mod join_page;
pub mod metrics;
pub mod privacy;
pub mod rate_page;
pub mod report_pdf;
pub mod sms;
pub mod ticket_page;
pub mod walk_in_sms;

pub use errors::status_for;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: EngineHandle,
    /// The hub's database. Reads share the engine's reading connection; writes go through the
    /// connection for what is not queue state (what staff note on cases, the CRM outbox).
    pub db: Db,
    /// The branch as configured now (the centre may replace it: read it with [`AppState::branch`]).
    pub branch_cell: crate::branch_cell::BranchCell,
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
    /// The hosts the hub answers to, and whether its cookies need `Secure`.
    pub guard: Guard,
    /// The SMS sender's wake-up, when the hub has an SMS gateway (`[sms]`).
    pub sms: Option<Arc<tokio::sync::Notify>>,
    /// What an SMS part costs (`[sms] price_per_part`), for the monthly report.
    pub sms_price: crate::sms::report::Price,
    /// Whether this is the built-in demo branch (its PINs are public; the dashboard says so).
    pub demo: bool,
    /// The enrolled devices and the device logins verified lately (kiosks and rating devices
    /// over HTTP).
    pub devices: Arc<callers::DeviceLogins>,
    /// Joining from a phone: its throttle per address and its issuing lock.
    pub joins: Arc<join_page::Joins>,
    /// The live alerts the dashboard shows (`crate::alerts`).
    pub alerts: crate::alerts::Board,
    /// The token a scraper off this machine sends to read `/metrics` (`--metrics-token`).
    pub metrics_token: Option<Arc<str>>,
    /// The writer's transactions' times to commit (`dawr_store_commit_seconds` on `/metrics`).
    pub commit_latency: Arc<crate::store::CommitLatency>,
}

impl AppState {
    /// The branch as configured now.
    pub fn branch(&self) -> Arc<Branch> {
        self.branch_cell.get()
    }
}

/// The client's IP address (from the connection; `None` where a test calls the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddress(dawr_web::serve::peer(&parts.extensions).map(|a| a.ip())))
    }
}

/// A route: its path and its handlers by method.
pub type Route = (&'static str, MethodRouter<AppState>);

/// The pages (HTML in Arabic or English). The router is built from this list, and the test of
/// the security headers walks it.
pub fn pages() -> Vec<Route> {
    [managers_pages(), visitors_pages()].concat()
}

/// The dashboard: one script, its live alerts' (see [`managers_policy`]).
fn managers_pages() -> Vec<Route> {
    vec![
        ("/dashboard", get(dashboard::show)),
        ("/dashboard/alerts", get(dashboard::alerts)),
        ("/dashboard/sign-in", post(dashboard::sign_in)),
        ("/dashboard/sign-out", post(dashboard::sign_out)),
        ("/dashboard/visits.csv", get(dashboard::csv)),
        ("/dashboard/closures", post(dashboard::close_day)),
        ("/dashboard/firmware", post(dashboard::choose_firmware)),
        ("/dashboard/table.csv", get(dashboard::table_csv)),
        ("/dashboard/tables.xlsx", get(dashboard::tables_xlsx)),
        ("/dashboard/monthly.pdf", get(report_pdf::dashboard)),
        ("/dashboard/forecast", get(dashboard::forecast::show)),
        ("/dashboard/actions", get(dashboard::actions::show).post(dashboard::actions::create)),
        ("/dashboard/actions/{id}", post(dashboard::actions::change)),
    ]
}

/// The visitors' pages, which carry the hub's two scripts (see [`visitors_policy`]).
fn visitors_pages() -> Vec<Route> {
    vec![
        ("/rate/enrol", post(rate_page::enrol)),
        ("/rate/enrol/{token}", get(rate_page::enrol_page)),
        ("/rate/{counter}", get(rate_page::show).post(rate_page::rate)),
        ("/rate/{counter}/why", get(rate_page::why)),
        ("/rate/{counter}/reason", post(rate_page::add_reason)),
        ("/t/{token}", get(ticket_page::page)),
        ("/t/{token}/status", get(ticket_page::status)),
        ("/t/{token}/rate", post(ticket_page::rate_resolution)),
        ("/t/{token}/rate/reason", post(ticket_page::rate_resolution_reason)),
        ("/join", get(join_page::form).post(join_page::ask)),
        ("/join/{handle}", get(join_page::code_form).post(join_page::confirm)),
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

/// What the dashboard may run: its live alerts' refresh, by hash.
pub fn managers_policy() -> Policy {
    Policy::with_scripts(&[dashboard::ALERTS_SCRIPT])
}

fn routes(list: Vec<Route>) -> Router<AppState> {
    list.into_iter().fold(Router::new(), |router, (path, route)| router.route(path, route))
}

/// Every route of the hub: the API (whose errors, axum's own rejections included, are the JSON
/// error; bodies up to 64 KiB), the pages (whose errors are HTML pages), the JSON answers for
/// unknown routes and methods, the browser checks of [`dawr_web::guard`] and the security
/// headers on every answer.
pub fn router(state: AppState) -> Router {
    let visitors = headers::with_policy(routes(visitors_pages()), visitors_policy());
    let pages = headers::with_policy(routes(managers_pages()), managers_policy())
        .merge(visitors)
        .route_layer(axum::middleware::from_fn_with_state(state.texts.clone(), html_errors));
    let guard = state.guard.clone();
    let app = routes(api::routes())
        .layer(axum::extract::DefaultBodyLimit::max(dawr_web::serve::API_BODY_LIMIT))
        .layer(axum::middleware::from_fn(json_errors))
        .merge(pages)
        .fallback(no_such_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state);
    headers::secure(dawr_web::guard::guard(app, guard), Policy::without_scripts())
}

/// What the public listener (`--public-http`) serves: only the visitor's ticket page `/t/{token}`
/// (its live status and its resolution rating) and joining from a phone (`/join`). The API, the
/// dashboard and the devices' pages answer 404 there.
pub fn public_router(state: AppState) -> Router {
    let ticket = vec![
        ("/t/{token}", get(ticket_page::page)),
        ("/t/{token}/status", get(ticket_page::status)),
        ("/t/{token}/rate", post(ticket_page::rate_resolution)),
        ("/t/{token}/rate/reason", post(ticket_page::rate_resolution_reason)),
        ("/join", get(join_page::form).post(join_page::ask)),
        ("/join/{handle}", get(join_page::code_form).post(join_page::confirm)),
    ];
    let guard = state.guard.clone();
    let pages = headers::with_policy(routes(ticket), visitors_policy())
        .route_layer(axum::middleware::from_fn_with_state(state.texts.clone(), html_errors))
        .layer(axum::extract::DefaultBodyLimit::max(dawr_web::serve::API_BODY_LIMIT))
        .fallback(no_such_route)
        .method_not_allowed_fallback(wrong_method)
        .with_state(state);
    headers::secure(dawr_web::guard::guard(pages, guard), Policy::without_scripts())
}

/// Serves `router` on `listener` within `limits` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: dawr_web::serve::Limits,
    tls: Option<dawr_web::tls::ServerTls>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    dawr_web::serve::serve(listener, router, limits, tls, shutdown).await
}

/// Checks a staff id and PIN (and the counter to open) and opens a session; throttled per id
/// and per address (see [`crate::auth`]).
async fn sign_in_with_pin(
    state: &AppState,
    staff: &str,
    pin: &str,
    counter: Option<&str>,
    address: Option<std::net::IpAddr>,
) -> WebResult<crate::auth::Session> {
    let signed_in = state.sessions.sign_in(staff, pin, counter, address, chrono::Utc::now()).await;
    privacy::record_sign_in(state, staff, &signed_in).await;
    privacy::record_lockouts(state, staff).await;
    Ok(signed_in?)
}

/// The manager's or staff member's bearer token, from `Authorization`.
fn authorization(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}
