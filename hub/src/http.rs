//! The HTTP API (axum): kiosks, counter apps and other systems talk to the hub here.
//!
//! Every handler is thin: it validates the request, asks the [`engine`](crate::engine) and turns
//! the answer into JSON. Every error is a 4xx or 503 with `{"error": "<code>", "message": "…"}`;
//! the codes are [`ErrorCode`]'s, plus `not_found` and `method_not_allowed` for unknown routes and
//! the sign-in codes (`wrong_credentials`, `unauthenticated`, `not_assigned`, `forbidden`).
//! The routes are described in `openapi.json` beside this file, served at `/api/openapi.json`.
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use dawr_protocol::api::{
    ApiError, BranchInfo, CounterActionRequest, CounterInfo, DeviceInfo, Health, IssueTicket, Priority, RateVisit,
    ServiceInfo,
};
use dawr_protocol::device::{Action, ErrorCode, Reply};
use rusqlite::Connection;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::auth::AuthError;
use crate::bookings::{self, Appointments};
use crate::domain::{Branch, VisitId};
use crate::engine::{
    self, ActionRequest, CounterCommand, EngineGone, EngineHandle, Failure, Operation, ReplyTo, Request,
};
use crate::mqtt::MqttStatus;
use crate::reports::{ReportFilter, VisitFacts};
use crate::store;

/// The OpenAPI description of this API.
pub const OPENAPI_JSON: &str = include_str!("http/openapi.json");

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub engine: EngineHandle,
    pub read: Arc<Mutex<Connection>>,
    pub branch: Arc<Branch>,
    pub public_url: String,
    pub mqtt: MqttStatus,
    pub texts: Arc<dawr_i18n::Texts>,
    pub sessions: Arc<crate::auth::Sessions>,
    /// The connection that writes what staff note on cases, and the CRM outbox (not queue state).
    pub cases: Arc<Mutex<Connection>>,
    /// Whether case events go to a CRM (then case changes enter its outbox).
    pub crm_enabled: bool,
    /// Bookings from the appointments site, for check-in.
    pub appointments: Appointments,
}

/// The API's routes.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/healthz", get(health))
        .route("/api/openapi.json", get(openapi))
        .route("/api/v1/branch", get(branch))
        .route("/api/v1/services", get(services))
        .route("/api/v1/tickets", post(issue_ticket))
        .route("/api/v1/tickets/{id}", get(ticket))
        .route("/api/v1/tickets/{id}/cancel", post(cancel_ticket))
        .route("/api/v1/counters", get(counters))
        .route("/api/v1/counters/{counter}/{action}", post(counter_action))
        .route("/api/v1/queue", get(waiting))
        .route("/api/v1/ratings", post(rate_visit))
        .route("/api/v1/ratings/{rating}/reason", post(add_rating_reason))
        .route("/api/v1/devices", get(devices))
        .route("/api/v1/sessions", post(sign_in).delete(sign_out))
        .route("/api/v1/reports/summary", get(report_summary))
        .route("/api/v1/reports/visits.csv", get(report_visits_csv))
        .route("/api/v1/cases", get(list_cases))
        .route("/api/v1/crm/status", get(crm_status))
        .route("/api/v1/staff/today", get(staff_today))
        .route("/api/v1/cases/{case_ref}", get(get_case).patch(update_case))
        .route("/api/v1/checkins", post(checkin))
        .route("/api/v1/appointments", get(held_appointments))
        .route("/dashboard", get(crate::dashboard::dashboard))
        .route("/dashboard/sign-in", post(crate::dashboard::sign_in))
        .route("/dashboard/sign-out", post(crate::dashboard::sign_out))
        .route("/dashboard/visits.csv", get(crate::dashboard::csv))
        .route("/rate/{counter}", get(crate::rate_page::show).post(crate::rate_page::rate))
        .route("/rate/{counter}/why", get(crate::rate_page::why))
        .route("/rate/{counter}/reason", post(crate::rate_page::add_reason))
        .route("/t/{token}", get(crate::ticket_page::page))
        .route("/t/{token}/status", get(crate::ticket_page::status))
        .route("/t/{token}/rate", post(crate::ticket_page::rate_resolution))
        .route("/t/{token}/rate/reason", post(crate::ticket_page::rate_resolution_reason))
        .fallback(|| async { ApiFailure::new(StatusCode::NOT_FOUND, "not_found", "no such route") })
        .method_not_allowed_fallback(|| async {
            ApiFailure::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "this route does not take that method",
            )
        })
        .with_state(state)
}

/// An error response.
#[derive(Debug)]
pub struct ApiFailure(StatusCode, ApiError);

impl ApiFailure {
    fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        ApiFailure(status, ApiError::new(code, message))
    }

    fn malformed(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message)
    }
}

impl IntoResponse for ApiFailure {
    fn into_response(self) -> Response {
        (self.0, Json(self.1)).into_response()
    }
}

impl From<Failure> for ApiFailure {
    fn from(f: Failure) -> Self {
        ApiFailure(status_for(f.code), ApiError::new(code_name(f.code), f.message))
    }
}

impl From<EngineGone> for ApiFailure {
    fn from(e: EngineGone) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string())
    }
}

/// The HTTP status for a refusal.
pub fn status_for(code: ErrorCode) -> StatusCode {
    match code {
        ErrorCode::Malformed => StatusCode::BAD_REQUEST,
        ErrorCode::UnknownCounter | ErrorCode::UnknownService | ErrorCode::UnknownTicket => StatusCode::NOT_FOUND,
        ErrorCode::StorageUnavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorCode::NotWaiting
        | ErrorCode::NotServedHere
        | ErrorCode::NoCurrentVisitor
        | ErrorCode::VisitorAtCounter
        | ErrorCode::WrongState
        | ErrorCode::CounterPaused
        | ErrorCode::CounterClosed
        | ErrorCode::ServiceClosed
        | ErrorCode::NothingToRate
        | ErrorCode::AlreadyRated
        | ErrorCode::ReasonAlreadyGiven => StatusCode::CONFLICT,
        ErrorCode::UnknownRating => StatusCode::NOT_FOUND,
    }
}

fn code_name(code: ErrorCode) -> String {
    serde_json::to_value(code).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

type ApiResult<T> = Result<T, ApiFailure>;

fn is_blank(body: &Bytes) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// Reads a JSON body.
fn json_body<T: DeserializeOwned>(body: &Bytes) -> ApiResult<T> {
    if is_blank(body) {
        return Err(ApiFailure::malformed("a JSON body is required"));
    }
    serde_json::from_slice(body).map_err(|e| ApiFailure::malformed(format!("invalid JSON body: {e}")))
}

fn visit_id(text: &str) -> ApiResult<VisitId> {
    text.parse().map_err(|_| ApiFailure::malformed(format!("ticket id {text:?} is not a number")))
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        branch: state.branch.id.clone(),
        mqtt_connected: state.mqtt.connected.load(std::sync::atomic::Ordering::Acquire),
    })
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

async fn branch(State(state): State<AppState>) -> Json<BranchInfo> {
    let b = &state.branch;
    Json(BranchInfo {
        id: b.id.clone(),
        name: b.name.clone(),
        utc_offset: b.utc_offset.to_string(),
        services: b
            .services
            .iter()
            .map(|s| ServiceInfo { code: s.code.clone(), name: s.name.clone(), target_wait_s: s.target_wait_s })
            .collect(),
        counters: b
            .counters
            .iter()
            .map(|c| CounterInfo { id: c.id.clone(), name: c.name.clone(), services: c.services.clone() })
            .collect(),
    })
}

async fn services(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.engine.ask(|reply| Request::Services { reply }).await?))
}

async fn issue_ticket(State(state): State<AppState>, body: Bytes) -> ApiResult<impl IntoResponse> {
    let request: IssueTicket = json_body(&body)?;
    if request.request_id.as_deref().is_some_and(|k| k.is_empty() || k.len() > 48) {
        return Err(ApiFailure::malformed("request_id must be 1 to 48 bytes"));
    }
    let ticket = state.engine.ask(|reply| Request::Issue { request, reply }).await??;
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// `GET /api/v1/tickets/{id}`. Ids are sequential, so without a staff or manager session the
/// ticket's keys to its visitor (`token`, `status_url`) and its `case_ref` are left out.
async fn ticket(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> ApiResult<Response> {
    let id = visit_id(&id)?;
    let ticket = match state.engine.ask(|reply| Request::Ticket { id, reply }).await? {
        Some(ticket) => ticket,
        None => {
            // Not in the live queue: a finished (or unknown) visit, read from the database.
            let read = state.read.clone();
            let stored = tokio::task::spawn_blocking(move || {
                let conn = read.lock().unwrap_or_else(|e| e.into_inner());
                store::read_visit(&conn, id)
            })
            .await
            .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?
            .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?;
            let visit = stored
                .ok_or_else(|| ApiFailure::new(StatusCode::NOT_FOUND, "unknown_ticket", format!("no ticket {id}")))?;
            engine::ticket_view(&state.branch, &state.public_url, &visit, None)
        }
    };
    if state.sessions.check(authorization(&headers), chrono::Utc::now()).is_ok() {
        return Ok(Json(ticket).into_response());
    }
    Ok(Json(public_view(&ticket)).into_response())
}

/// A ticket as anyone may see it: without its keys to the visitor's page and case (empty, so
/// left out of the JSON).
fn public_view(ticket: &dawr_protocol::api::Ticket) -> dawr_protocol::api::Ticket {
    dawr_protocol::api::Ticket {
        case_ref: String::new(),
        token: String::new(),
        status_url: String::new(),
        ..ticket.clone()
    }
}

async fn cancel_ticket(State(state): State<AppState>, Path(id): Path<String>) -> ApiResult<impl IntoResponse> {
    let id = visit_id(&id)?;
    Ok(Json(state.engine.ask(|reply| Request::Cancel { id, reply }).await??))
}

async fn counters(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    Ok(Json(state.engine.ask(|reply| Request::Counters { reply }).await?))
}

/// Field limits shared with the MQTT messages (see `dawr_protocol::device`).
fn check_lengths(body: &CounterActionRequest) -> ApiResult<()> {
    let checks = [
        ("id", body.id.as_deref(), 48),
        ("ticket", body.ticket.as_deref(), 12),
        ("to_service", body.to_service.as_deref(), 32),
        ("to_counter", body.to_counter.as_deref(), 32),
        ("note", body.note.as_deref(), 256),
        ("reason", body.reason.as_deref(), 256),
    ];
    for (field, value, max) in checks {
        if value.is_some_and(|v| v.len() > max) {
            return Err(ApiFailure::malformed(format!("{field} is longer than {max} bytes")));
        }
    }
    if body.id.as_deref() == Some("") {
        return Err(ApiFailure::malformed("id must not be empty"));
    }
    Ok(())
}

async fn counter_action(
    State(state): State<AppState>,
    Path((counter, action)): Path<(String, String)>,
    body: Bytes,
) -> ApiResult<Json<Reply>> {
    let action: Action = serde_json::from_value(serde_json::Value::String(action.clone())).map_err(|_| {
        ApiFailure::malformed(format!(
            "unknown action {action:?}; one of next, call, recall, start, complete, no_show, transfer, pause, resume"
        ))
    })?;
    let body: CounterActionRequest = if is_blank(&body) { CounterActionRequest::default() } else { json_body(&body)? };
    check_lengths(&body)?;
    let operation = Operation::Act(ActionRequest {
        action,
        ticket: body.ticket,
        to_service: body.to_service,
        to_counter: body.to_counter,
        outcome: body.outcome,
        note: body.note,
        reason: body.reason,
    });
    counter_command(&state, counter, CounterCommand { id: body.id, operation }).await
}

/// Sends a counter command and turns a refusal into an error response.
async fn counter_command(state: &AppState, counter: String, command: CounterCommand) -> ApiResult<Json<Reply>> {
    let reply = state.engine.ask(|tx| Request::Counter { counter, command, reply: ReplyTo::Http(tx) }).await?;
    match reply.error {
        Some(code) if !reply.ok => {
            Err(ApiFailure::from(Failure { code, message: reply.message.map(|m| m.to_string()).unwrap_or_default() }))
        }
        _ => Ok(Json(reply)),
    }
}

async fn rate_visit(State(state): State<AppState>, body: Bytes) -> ApiResult<impl IntoResponse> {
    let body: RateVisit = json_body(&body)?;
    if body.id.as_deref().is_some_and(|id| id.is_empty() || id.len() > 48) {
        return Err(ApiFailure::malformed("id must be 1 to 48 bytes"));
    }
    let command = CounterCommand { id: body.id, operation: Operation::Rate { score: body.score, reason: body.reason } };
    let reply = counter_command(&state, body.counter, command).await?;
    Ok((StatusCode::CREATED, reply))
}

/// `POST /api/v1/ratings/{rating}/reason`: the reason for a rating given earlier without one.
async fn add_rating_reason(
    State(state): State<AppState>,
    Path(rating): Path<String>,
    body: Bytes,
) -> ApiResult<Json<Reply>> {
    let rating: VisitId =
        rating.parse().map_err(|_| ApiFailure::malformed(format!("rating id {rating:?} is not a number")))?;
    let body: dawr_protocol::api::RatingReasonRequest = json_body(&body)?;
    if body.id.as_deref().is_some_and(|id| id.is_empty() || id.len() > 48) {
        return Err(ApiFailure::malformed("id must be 1 to 48 bytes"));
    }
    let command = CounterCommand { id: body.id, operation: Operation::AddReason { rating, reason: body.reason } };
    let reply = state.engine.ask(|reply| Request::RatingReason { rating, command, reply }).await?;
    match reply.error {
        Some(code) if !reply.ok => {
            Err(ApiFailure::from(Failure { code, message: reply.message.map(|m| m.to_string()).unwrap_or_default() }))
        }
        _ => Ok(Json(reply)),
    }
}

#[derive(Deserialize)]
struct WaitingQuery {
    counter: Option<String>,
}

async fn waiting(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<WaitingQuery>,
) -> ApiResult<Response> {
    let counter = query.counter;
    let tickets = state.engine.ask(|reply| Request::Waiting { counter, reply }).await??;
    if state.sessions.check(authorization(&headers), chrono::Utc::now()).is_ok() {
        return Ok(Json(tickets).into_response());
    }
    Ok(Json(tickets.iter().map(public_view).collect::<Vec<_>>()).into_response())
}

async fn devices(State(state): State<AppState>) -> Json<Vec<DeviceInfo>> {
    let presence = state.mqtt.presence.lock().unwrap_or_else(|e| e.into_inner());
    let mut devices: Vec<DeviceInfo> = presence
        .iter()
        .map(|(device, (presence, seen_at))| DeviceInfo {
            device: device.clone(),
            status: presence.status,
            printer: presence.printer,
            seen_at: *seen_at,
        })
        .collect();
    devices.sort_by(|a, b| a.device.cmp(&b.device));
    Json(devices)
}

impl From<AuthError> for ApiFailure {
    fn from(e: AuthError) -> Self {
        let (status, code) = match &e {
            AuthError::WrongCredentials => (StatusCode::UNAUTHORIZED, "wrong_credentials"),
            AuthError::Unauthenticated => (StatusCode::UNAUTHORIZED, "unauthenticated"),
            AuthError::NotAssigned { .. } => (StatusCode::FORBIDDEN, "not_assigned"),
            AuthError::Forbidden => (StatusCode::FORBIDDEN, "forbidden"),
        };
        Self::new(status, code, e.to_string())
    }
}

fn authorization(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())
}

/// `POST /api/v1/sessions`: staff id and PIN (and the counter to open) → a session token.
async fn sign_in(State(state): State<AppState>, body: Bytes) -> ApiResult<impl IntoResponse> {
    let request: dawr_protocol::api::sessions::SignIn =
        serde_json::from_slice(&body).map_err(|e| ApiFailure::malformed(e.to_string()))?;
    if let Some(counter) = &request.counter
        && !state.branch.counters.iter().any(|c| &c.id == counter)
    {
        return Err(ApiFailure::new(StatusCode::NOT_FOUND, "unknown_counter", format!("no counter {counter}")));
    }
    // Hashing is slow on purpose: off the async workers.
    let (sessions, branch) = (state.sessions.clone(), state.branch.clone());
    let session = tokio::task::spawn_blocking(move || {
        sessions.sign_in(&branch.staff, &request.staff, &request.pin, request.counter.as_deref(), chrono::Utc::now())
    })
    .await
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string()))??;
    if let Some(counter) = &session.counter {
        let (counter, staff) = (counter.clone(), Some(session.staff.clone()));
        state.engine.send(Request::Staff { counter, staff }).await?;
    }
    Ok((StatusCode::CREATED, Json(session)))
}

/// `DELETE /api/v1/sessions`: signs the bearer out.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<StatusCode> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    state.sessions.sign_out(&session.token);
    if let Some(counter) = session.counter {
        state.engine.send(Request::Staff { counter, staff: None }).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReportQuery {
    from: String,
    to: String,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    counter: Option<String>,
}

impl ReportQuery {
    fn filter(self) -> ApiResult<ReportFilter> {
        let day = |name: &str, text: &str| {
            text.parse::<chrono::NaiveDate>()
                .map_err(|_| ApiFailure::malformed(format!("{name} must be a date like 2026-11-23, not {text:?}")))
        };
        let (from, to) = (day("from", &self.from)?, day("to", &self.to)?);
        if to < from || (to - from).num_days() > 366 {
            return Err(ApiFailure::malformed("from..to must be a range of at most a year, from first"));
        }
        Ok(ReportFilter { from, to, service: self.service, counter: self.counter })
    }
}

/// Checks that a manager asks, then reads the visits of a report off the async workers (a year
/// is a few hundred thousand rows).
async fn report_visits(
    state: &AppState,
    headers: &HeaderMap,
    query: ReportQuery,
) -> ApiResult<(ReportFilter, Vec<VisitFacts>)> {
    state.sessions.check_manager(authorization(headers), chrono::Utc::now())?;
    let filter = query.filter()?;
    let read = state.read.clone();
    tokio::task::spawn_blocking(move || {
        let conn = read.lock().unwrap_or_else(|e| e.into_inner());
        let visits = crate::reports::visit_facts(&conn, &filter);
        visits.map(|v| (filter, v))
    })
    .await
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string()))?
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))
}

/// `GET /api/v1/reports/summary?from=&to=&service=&counter=` (managers).
async fn report_summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> ApiResult<impl IntoResponse> {
    let (filter, visits) = report_visits(&state, &headers, query).await?;
    let branch = state.branch.clone();
    let target = move |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
    Ok(Json(crate::reports::summarise(&filter, &visits, &target, state.branch.utc_offset)))
}

/// `GET /api/v1/reports/visits.csv?from=&to=` (managers).
async fn report_visits_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> ApiResult<impl IntoResponse> {
    let (filter, visits) = report_visits(&state, &headers, query).await?;
    let name = format!("attachment; filename=\"dawr-visits-{}-{}.csv\"", filter.from, filter.to);
    Ok((
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, name)],
        crate::reports::visits_csv(&visits),
    ))
}

/// `GET /api/v1/cases/{ref}` (signed-in staff or managers): a visit's CRM case.
async fn get_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
) -> ApiResult<impl IntoResponse> {
    state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    let (read, policy) = (state.read.clone(), state.branch.cases);
    let lookup = case_ref.clone();
    let case = tokio::task::spawn_blocking(move || -> rusqlite::Result<Option<crate::cases::CaseDetail>> {
        let conn = read.lock().unwrap_or_else(|e| e.into_inner());
        let Some(visit) = crate::reports::case_facts(&conn, &lookup)? else { return Ok(None) };
        let notes = crate::cases::read_notes(&conn, &lookup)?;
        let case = crate::cases::case_of(&visit, notes.as_ref(), policy, chrono::Utc::now());
        let earlier_visits = crate::cases::earlier_visits(&conn, &case, policy, chrono::Utc::now(), 10)?;
        Ok(Some(crate::cases::CaseDetail { case, earlier_visits }))
    })
    .await
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string()))?
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?;
    case.map(Json).ok_or_else(|| ApiFailure::new(StatusCode::NOT_FOUND, "not_found", format!("no case {case_ref}")))
}

/// `PATCH /api/v1/cases/{ref}` (signed-in staff or managers): category, notes, close.
async fn update_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Bytes,
) -> ApiResult<impl IntoResponse> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    let change: crate::cases::CaseUpdate = json_body(&body)?;
    let (conn, policy) = (state.cases.clone(), state.branch.cases);
    let outbox = state.crm_enabled.then(|| state.branch.id.clone());
    let result = tokio::task::spawn_blocking(move || {
        let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
        crate::cases::update(
            &mut conn,
            &case_ref,
            &change,
            &session.staff,
            policy,
            outbox.as_deref(),
            chrono::Utc::now(),
        )
    })
    .await
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string()))?;
    match result {
        Ok(case) => Ok(Json(case)),
        Err(e @ crate::cases::CaseError::Unknown(_)) => {
            Err(ApiFailure::new(StatusCode::NOT_FOUND, "not_found", e.to_string()))
        }
        Err(e @ crate::cases::CaseError::Invalid(_)) => Err(ApiFailure::malformed(e.to_string())),
        Err(e @ crate::cases::CaseError::Storage(_)) => {
            Err(ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))
        }
    }
}

/// `GET /api/v1/staff/today` (a signed-in staff member): their own figures today.
async fn staff_today(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    let today = crate::clock::now().with_timezone(&state.branch.utc_offset).date_naive();
    let filter = ReportFilter { from: today, to: today, service: None, counter: None };
    let read = state.read.clone();
    let visits = tokio::task::spawn_blocking(move || {
        crate::reports::visit_facts(&read.lock().unwrap_or_else(|e| e.into_inner()), &filter)
    })
    .await
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string()))?
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?;
    let served: Vec<&crate::reports::VisitFacts> = visits
        .iter()
        .filter(|v| v.staff.as_deref() == Some(session.staff.as_str()) && v.ending == crate::reports::Ending::Served)
        .collect();
    let times: Vec<f64> = served.iter().filter_map(|v| v.service_s()).collect();
    let mean = (!times.is_empty()).then(|| times.iter().sum::<f64>() / times.len() as f64);
    let served = u32::try_from(served.len()).unwrap_or(u32::MAX);
    Ok(Json(dawr_protocol::api::staff::StaffToday { staff: session.staff, date: today, served, mean_service_s: mean }))
}

/// `GET /api/v1/crm/status` (managers): the CRM connector's outbox.
async fn crm_status(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let conn = state.cases.clone();
    let enabled = state.crm_enabled;
    let status =
        tokio::task::spawn_blocking(move || crate::crm::status(&conn.lock().unwrap_or_else(|e| e.into_inner())))
            .await
            .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string()))?
            .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?;
    Ok(Json(crate::crm::CrmStatus { enabled, ..status }))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseListQuery {
    from: String,
    to: String,
    /// `open`, `overdue`, `escalated` (escalations still open) or `all` (the default).
    #[serde(default)]
    status: Option<String>,
}

/// `GET /api/v1/cases?from=&to=&status=` (managers): the cases of the visits of those days.
async fn list_cases(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<CaseListQuery>,
) -> ApiResult<impl IntoResponse> {
    let wanted = query.status.clone().unwrap_or_else(|| "all".into());
    if !["all", "open", "overdue", "escalated"].contains(&wanted.as_str()) {
        return Err(ApiFailure::malformed("status must be all, open, overdue or escalated"));
    }
    let report = ReportQuery { from: query.from, to: query.to, service: None, counter: None };
    let (filter, visits) = report_visits(&state, &headers, report).await?;
    let (read, policy) = (state.read.clone(), state.branch.cases);
    let notes = tokio::task::spawn_blocking(move || {
        let conn = read.lock().unwrap_or_else(|e| e.into_inner());
        crate::cases::notes_for_days(&conn, filter.from, filter.to)
    })
    .await
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "shutting_down", e.to_string()))?
    .map_err(|e| ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string()))?;
    let cases = crate::cases::cases_of(&visits, &notes, policy, chrono::Utc::now());
    let keep = |c: &crate::cases::Case| match wanted.as_str() {
        "open" => c.status == crate::cases::CaseStatus::Open,
        "overdue" => c.overdue || c.escalation.as_ref().is_some_and(|e| e.overdue),
        "escalated" => c.escalation.as_ref().is_some_and(|e| e.open),
        _ => true,
    };
    Ok(Json(cases.into_iter().filter(keep).collect::<Vec<_>>()))
}

fn storage_failure(e: impl std::fmt::Display) -> ApiFailure {
    ApiFailure::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", e.to_string())
}

/// `POST /api/v1/checkins`: a kiosk checks a booking in by its code; the visitor gets a ticket in
/// the appointment class, ranked by the slot. Works from the bookings held here, offline too.
async fn checkin(State(state): State<AppState>, body: Bytes) -> ApiResult<impl IntoResponse> {
    let request: dawr_protocol::api::bookings::CheckIn = json_body(&body)?;
    let code = bookings::normalize_code(&request.code)
        .ok_or_else(|| ApiFailure::malformed("code must be 1 to 16 letters or digits"))?;
    let held = state.appointments.clone();
    let lookup = code.clone();
    let booking = held.with(move |c| bookings::find(c, &lookup)).await.map_err(storage_failure)?;
    let now = crate::clock::now();
    let today = now.with_timezone(&state.branch.utc_offset).date_naive();
    if let Err(refusal) = bookings::check(booking.as_ref(), now, today, held.window) {
        let status = if refusal == bookings::Refusal::Unknown { StatusCode::NOT_FOUND } else { StatusCode::CONFLICT };
        let mut message = refusal.to_string();
        if let bookings::Refusal::AlreadyCheckedIn { visit: Some(id) } = refusal {
            // Tell the staff which ticket it got.
            let read = state.read.clone();
            let visit = tokio::task::spawn_blocking(move || {
                store::read_visit(&read.lock().unwrap_or_else(|e| e.into_inner()), id).ok().flatten()
            })
            .await
            .ok()
            .flatten();
            if let Some(v) = visit {
                message = format!("{message} (ticket {})", v.number);
            }
        }
        return Err(ApiFailure::new(status, refusal.code(), message));
    }
    let booking = booking.expect("checked");
    let request = IssueTicket {
        service: booking.service.clone(),
        priority: Priority::Appointment,
        appointment_at: Some(booking.start),
        // A retried check-in (or two kiosks at once) gets the same ticket, never a second one.
        request_id: Some(bookings::request_id(&code)),
    };
    let ticket = state.engine.ask(|reply| Request::Issue { request, reply }).await??;
    let visit = ticket.id;
    held.with(move |c| bookings::record_checkin(c, &code, visit, now)).await.map_err(storage_failure)?;
    held.wake.notify_one();
    tracing::info!(code = %booking.code, ticket = %ticket.number, "appointment checked in");
    Ok((StatusCode::CREATED, Json(ticket)))
}

#[derive(Deserialize)]
struct DayQuery {
    date: Option<String>,
}

/// `GET /api/v1/appointments?date=`: the bookings held for a day (default today).
async fn held_appointments(State(state): State<AppState>, Query(q): Query<DayQuery>) -> ApiResult<impl IntoResponse> {
    let day = match q.date.as_deref() {
        Some(text) => {
            text.parse().map_err(|_| ApiFailure::malformed(format!("date {text:?} is not like 2026-11-24")))?
        }
        None => crate::clock::now().with_timezone(&state.branch.utc_offset).date_naive(),
    };
    let list = state.appointments.with(move |c| bookings::day(c, day)).await.map_err(storage_failure)?;
    Ok(Json(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_code_has_a_client_or_unavailable_status_and_its_name() {
        for code in ErrorCode::ALL {
            let status = status_for(code);
            if code == ErrorCode::StorageUnavailable {
                assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "retry later");
            } else {
                assert!(status.is_client_error(), "{code:?}: {status}");
            }
            let name = code_name(code);
            assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'), "{code:?}: {name}");
            assert_eq!(serde_json::from_value::<ErrorCode>(serde_json::json!(name)).unwrap(), code);
        }
        assert_eq!(code_name(ErrorCode::NoCurrentVisitor), "no_current_visitor");
    }

    #[test]
    fn the_openapi_document_is_json_and_lists_every_route() {
        let doc: serde_json::Value = serde_json::from_str(OPENAPI_JSON).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for path in [
            "/healthz",
            "/api/openapi.json",
            "/api/v1/branch",
            "/api/v1/services",
            "/api/v1/tickets",
            "/api/v1/tickets/{id}",
            "/api/v1/tickets/{id}/cancel",
            "/api/v1/counters",
            "/api/v1/counters/{counter}/{action}",
            "/api/v1/queue",
            "/api/v1/ratings",
            "/api/v1/ratings/{rating}/reason",
            "/api/v1/devices",
            "/api/v1/sessions",
            "/api/v1/reports/summary",
            "/api/v1/reports/visits.csv",
            "/api/v1/checkins",
            "/api/v1/appointments",
            "/api/v1/cases",
            "/api/v1/cases/{case_ref}",
            "/api/v1/crm/status",
            "/api/v1/staff/today",
        ] {
            assert!(paths.contains_key(path), "{path} is not documented");
        }
        assert_eq!(paths.len(), 22, "a documented path is not served");
    }
}
