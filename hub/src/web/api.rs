//! The HTTP API: kiosks, counter apps and other systems talk to the hub here.
//!
//! Every handler is thin: it validates the request, asks the [`engine`](crate::engine) or reads
//! the database (through [`AppState::db`]) and turns the answer into JSON. Every error is a 4xx
//! or 503 with `{"error": "<code>", "message": "…"}`; the codes are [`ErrorCode`]'s, plus
//! `not_found` and `method_not_allowed` for unknown routes and the sign-in codes
//! (`wrong_credentials`, `unauthenticated`, `not_assigned`, `forbidden`).
//! The routes are described in `openapi.json` beside this file, served at `/api/openapi.json`.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use dawr_protocol::api::{
    BranchInfo, CounterActionRequest, CounterInfo, DeviceInfo, Health, IssueTicket, Priority, RateVisit, ServiceInfo,
    Ticket,
};
use dawr_protocol::device::{Action, ErrorCode, Reply};
use dawr_web::error::{json_body, json_body_with_nulls};
use dawr_web::{WebError, WebResult};
use serde::Deserialize;

use super::{AppState, ClientAddress, Route, authorization, callers, sign_in_with_pin};
use crate::auth::AuthError;
use crate::bookings;
use crate::domain::VisitId;
use crate::engine::{self, ActionRequest, Author, CounterCommand, Failure, Operation, ReplyTo, Request};
use crate::reports::{ReportFilter, VisitFacts};
use crate::store;

/// The OpenAPI description of this API.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The API's routes (the OpenAPI document lists exactly these paths).
pub fn routes() -> Vec<Route> {
    vec![
        ("/healthz", get(health)),
        ("/metrics", get(super::metrics::metrics)),
        ("/api/openapi.json", get(openapi)),
        ("/api/v1/branch", get(branch)),
        ("/api/v1/services", get(services)),
        ("/api/v1/tickets", post(issue_ticket)),
        ("/api/v1/tickets/{id}", get(ticket)),
        ("/api/v1/tickets/{id}/cancel", post(cancel_ticket)),
        ("/api/v1/counters", get(counters)),
        ("/api/v1/counters/{counter}/{action}", post(counter_action)),
        ("/api/v1/queue", get(waiting)),
        ("/api/v1/ratings", post(rate_visit)),
        ("/api/v1/ratings/{rating}/reason", post(add_rating_reason)),
        ("/api/v1/devices", get(devices)),
        ("/api/v1/firmware", get(super::firmware::get)),
        ("/api/v1/firmware/rollouts", post(super::firmware::post_rollouts)),
        ("/api/v1/sessions", post(sign_in).delete(sign_out)),
        ("/api/v1/reports/summary", get(report_summary)),
        ("/api/v1/reports/visits.csv", get(report_visits_csv)),
        ("/api/v1/reports/service-levels", get(report_service_levels)),
        ("/api/v1/reports/cases", get(report_cases)),
        ("/api/v1/reports/causes", get(report_causes)),
        ("/api/v1/reports/periods", get(report_periods)),
        ("/api/v1/reports/monthly.pdf", get(super::report_pdf::api)),
        ("/api/v1/reports/forecast", get(super::forecast::report)),
        ("/api/v1/actions", get(super::actions::list).post(super::actions::post)),
        ("/api/v1/actions/{id}", axum::routing::patch(super::actions::patch)),
        ("/api/v1/cases", get(list_cases)),
        ("/api/v1/crm/status", get(crm_status)),
        ("/api/v1/sms/messages", get(super::sms::messages).post(super::sms::send)),
        ("/api/v1/sms/subscriptions", post(super::sms::subscribe)),
        ("/api/v1/staff/today", get(staff_today)),
        ("/api/v1/cases/{case_ref}", get(get_case).patch(update_case)),
        ("/api/v1/checkins", post(checkin)),
        ("/api/v1/appointments", get(held_appointments)),
        ("/api/v1/personal-data/export", post(super::privacy::export)),
        ("/api/v1/personal-data/erase", post(super::privacy::erase)),
        ("/api/v1/audit", get(super::privacy::audit)),
        ("/api/v1/closures", get(super::closures::list).post(super::closures::post)),
    ]
}

fn is_blank(body: &Bytes) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// An idempotency key or request id: 1 to 48 characters.
fn is_key(text: &str) -> bool {
    (1..=48).contains(&text.chars().count())
}

fn visit_id(text: &str) -> WebResult<VisitId> {
    text.parse().map_err(|_| WebError::malformed(format!("ticket id {text:?} is not a number")))
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        branch: state.branch().id.clone(),
        mqtt_connected: state.mqtt.connected.load(std::sync::atomic::Ordering::Acquire),
        demo: state.demo,
    })
}

async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

async fn branch(State(state): State<AppState>) -> Json<BranchInfo> {
    let b = &state.branch();
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
        demo: state.demo,
        sms: state.sms.is_some(),
    })
}

async fn services(State(state): State<AppState>) -> WebResult<impl IntoResponse> {
    Ok(Json(state.engine.ask(|reply| Request::Services { reply }).await?))
}

/// `POST /api/v1/tickets`: an enrolled kiosk (HTTP Basic) or a staff session; the `issued`
/// event records which. The request id is scoped to that caller, so replaying a kiosk's id as
/// anyone else issues another ticket instead of returning that one's page token.
async fn issue_ticket(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> WebResult<impl IntoResponse> {
    let caller = callers::kiosk_or_staff(&state, &headers)?;
    let mut request: IssueTicket = json_body(&body)?;
    if request.request_id.as_deref().is_some_and(|k| !is_key(k)) {
        return Err(WebError::malformed("request_id must be 1 to 48 characters"));
    }
    let sms = super::walk_in_sms::check(request.sms.take().as_ref())?;
    let scope = caller.scope();
    request.request_id = request.request_id.map(|key| format!("{scope}/{key}"));
    let by = caller.author();
    let ticket = state.engine.ask(|reply| Request::Issue { request, by, reply }).await??;
    if let Some(sms) = sms {
        super::walk_in_sms::subscribe(&state, ticket.id, sms).await;
    }
    Ok((StatusCode::CREATED, Json(ticket)))
}

/// `GET /api/v1/tickets/{id}`. Ids are sequential, so without a staff or manager session the
/// ticket's keys to its visitor (`token`, `status_url`) and its `case_ref` are left out.
async fn ticket(State(state): State<AppState>, headers: HeaderMap, Path(id): Path<String>) -> WebResult<Response> {
    let id = visit_id(&id)?;
    let ticket = match state.engine.ask(|reply| Request::Ticket { id, reply }).await? {
        Some(ticket) => ticket,
        None => {
            // Not in the live queue: a finished (or unknown) visit, read from the database.
            let stored = state.db.read(move |conn| store::read_visit(conn, id)).await??;
            let visit = stored.ok_or_else(|| WebError::not_found("unknown_ticket", format!("no ticket {id}")))?;
            engine::ticket_view(&state.branch(), &state.public_url, &visit, None)
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

/// `POST /api/v1/tickets/{id}/cancel` (signed-in staff or managers; the event records who).
async fn cancel_ticket(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> WebResult<impl IntoResponse> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    let id = visit_id(&id)?;
    Ok(Json(state.engine.ask(|reply| Request::Cancel { id, by: session.staff, reply }).await??))
}

async fn counters(State(state): State<AppState>) -> WebResult<impl IntoResponse> {
    Ok(Json(state.engine.ask(|reply| Request::Counters { reply }).await?))
}

/// Field limits shared with the MQTT messages (see `dawr_protocol::device`), in characters as
/// the OpenAPI document's `maxLength` counts them.
fn check_lengths(body: &CounterActionRequest) -> WebResult<()> {
    let checks = [
        ("id", body.id.as_deref(), 48),
        ("ticket", body.ticket.as_deref(), 12),
        ("to_service", body.to_service.as_deref(), 32),
        ("to_counter", body.to_counter.as_deref(), 32),
        ("note", body.note.as_deref(), 256),
        ("reason", body.reason.as_deref(), 256),
    ];
    for (field, value, max) in checks {
        if value.is_some_and(|v| v.chars().count() > max) {
            return Err(WebError::malformed(format!("{field} is longer than {max} characters")));
        }
    }
    if body.id.as_deref() == Some("") {
        return Err(WebError::malformed("id must not be empty"));
    }
    Ok(())
}

/// `POST /api/v1/counters/{counter}/{action}`: needs a staff session signed in at that counter;
/// the events record that session's staff member.
async fn counter_action(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((counter, action)): Path<(String, String)>,
    body: Bytes,
) -> WebResult<Json<Reply>> {
    // What anyone may know first (the branch's counters and actions are public), then who asks.
    let action: Action = serde_json::from_value(serde_json::Value::String(action.clone())).map_err(|_| {
        WebError::malformed(format!(
            "unknown action {action:?}; one of next, call, recall, start, complete, no_show, transfer, pause, resume"
        ))
    })?;
    if !state.branch().counters.iter().any(|c| c.id == counter) {
        return Err(WebError::not_found("unknown_counter", format!("no counter {counter}")));
    }
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    if session.counter.as_deref() != Some(counter.as_str()) {
        return Err(AuthError::Refused(format!(
            "sign in at counter {counter} to act there (POST /api/v1/sessions with \"counter\": \"{counter}\")"
        ))
        .into());
    }
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
    let by = Some(Author::Staff(session.staff));
    counter_command(&state, counter, CounterCommand { id: body.id, device: None, operation, by }).await
}

/// Sends a counter command and turns a refusal into an error response.
async fn counter_command(state: &AppState, counter: String, command: CounterCommand) -> WebResult<Json<Reply>> {
    let reply = state.engine.ask(|tx| Request::Counter { counter, command, reply: ReplyTo::Http(tx) }).await?;
    refused_or(reply)
}

/// A reply, or its refusal as an error response.
fn refused_or(reply: Reply) -> WebResult<Json<Reply>> {
    match reply.error {
        Some(code) if !reply.ok => {
            Err(WebError::from(Failure { code, message: reply.message.map(|m| m.to_string()).unwrap_or_default() }))
        }
        _ => Ok(Json(reply)),
    }
}

/// `POST /api/v1/ratings`: the counter's enrolled rating device (HTTP Basic) rates the visit that
/// just ended there; the `rated` event records the device.
async fn rate_visit(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> WebResult<impl IntoResponse> {
    callers::rating_device(&state, &headers, None)?;
    let body: RateVisit = json_body(&body)?;
    let device = callers::rating_device(&state, &headers, Some(&body.counter))?;
    if body.id.as_deref().is_some_and(|id| !is_key(id)) {
        return Err(WebError::malformed("id must be 1 to 48 characters"));
    }
    let operation = Operation::Rate { score: body.score, reason: body.reason };
    let command = CounterCommand { id: body.id, device: None, operation, by: Some(Author::Device(device.id)) };
    let reply = counter_command(&state, body.counter, command).await?;
    Ok((StatusCode::CREATED, reply))
}

/// `POST /api/v1/ratings/{rating}/reason`: the reason for a rating given earlier without one, by
/// the rating device of the rating's counter.
async fn add_rating_reason(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(rating): Path<String>,
    body: Bytes,
) -> WebResult<Json<Reply>> {
    callers::rating_device(&state, &headers, None)?;
    let rating: VisitId =
        rating.parse().map_err(|_| WebError::malformed(format!("rating id {rating:?} is not a number")))?;
    let body: dawr_protocol::api::RatingReasonRequest = json_body(&body)?;
    if body.id.as_deref().is_some_and(|id| !is_key(id)) {
        return Err(WebError::malformed("id must be 1 to 48 characters"));
    }
    // A rating's counter never changes, so asking first is as good as asking together.
    let counter = state.engine.ask(|reply| Request::RatingCounter { rating, reply }).await?;
    let device = match counter {
        Some(counter) => callers::rating_device(&state, &headers, Some(&counter))?,
        None => callers::rating_device(&state, &headers, None)?,
    };
    let operation = Operation::AddReason { rating, reason: body.reason };
    let command = CounterCommand { id: body.id, device: None, operation, by: Some(Author::Device(device.id)) };
    let reply = state.engine.ask(|reply| Request::RatingReason { rating, command, reply }).await?;
    refused_or(reply)
}

#[derive(Deserialize)]
struct WaitingQuery {
    counter: Option<String>,
}

async fn waiting(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<WaitingQuery>,
) -> WebResult<Response> {
    let counter = query.counter;
    let tickets = state.engine.ask(|reply| Request::Waiting { counter, reply }).await??;
    if state.sessions.check(authorization(&headers), chrono::Utc::now()).is_ok() {
        return Ok(Json(tickets).into_response());
    }
    Ok(Json(tickets.iter().map(public_view).collect::<Vec<_>>()).into_response())
}

/// `GET /api/v1/devices` (managers): the enrolled devices and every client heard from, with
/// role, counter, presence and when each was last heard.
async fn devices(State(state): State<AppState>, headers: HeaderMap) -> WebResult<Json<Vec<DeviceInfo>>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let enrolled = state
        .db
        .read(|conn| {
            crate::devices::enrolled(conn).map_err(|e| match e {
                crate::devices::DeviceError::Store(e) => e,
                other => dawr_web::db::StoreError::Corrupt { column: "devices", value: other.to_string() },
            })
        })
        .await??;
    let presence = state.mqtt.presence.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut list = crate::devices::listing(&enrolled, &presence);
    state.mqtt.firmware.annotate(&mut list);
    Ok(Json(list))
}

/// `POST /api/v1/sessions`: staff id and PIN (and the counter to open) → a session token.
async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    body: Bytes,
) -> WebResult<impl IntoResponse> {
    let request: dawr_protocol::api::sessions::SignIn = json_body(&body)?;
    if let Some(counter) = &request.counter
        && !state.branch().counters.iter().any(|c| &c.id == counter)
    {
        return Err(WebError::not_found("unknown_counter", format!("no counter {counter}")));
    }
    let mut session =
        sign_in_with_pin(&state, &request.staff, &request.pin, request.counter.as_deref(), address).await?;
    if let Some(counter) = &session.counter {
        let branch = state.branch();
        if let Some(c) = branch.counter_index(counter) {
            session.services = branch.services_at(c, Some(&session.staff));
        }
        let (counter, staff) = (counter.clone(), Some(session.staff.clone()));
        state.engine.send(Request::Staff { counter, staff }).await?;
    }
    Ok((StatusCode::CREATED, Json(session)))
}

/// `DELETE /api/v1/sessions`: signs the bearer out.
async fn sign_out(State(state): State<AppState>, headers: HeaderMap) -> WebResult<StatusCode> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    state.sessions.sign_out(&session.token).await?;
    super::privacy::record_sign_out(&state, &session).await;
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
    fn filter(self) -> WebResult<ReportFilter> {
        let day = |name: &str, text: &str| {
            text.parse::<chrono::NaiveDate>()
                .map_err(|_| WebError::malformed(format!("{name} must be a date like 2026-11-23, not {text:?}")))
        };
        let (from, to) = (day("from", &self.from)?, day("to", &self.to)?);
        if to < from || (to - from).num_days() > 366 {
            return Err(WebError::malformed("from..to must be a range of at most a year, from first"));
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
) -> WebResult<(ReportFilter, Vec<VisitFacts>)> {
    state.sessions.check_manager(authorization(headers), chrono::Utc::now())?;
    let filter = query.filter()?;
    let visits = state.db.read(move |conn| crate::reports::visit_facts(conn, &filter).map(|v| (filter, v))).await??;
    Ok(visits)
}

/// `GET /api/v1/reports/summary?from=&to=&service=&counter=` (managers).
async fn report_summary(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> WebResult<impl IntoResponse> {
    let (filter, visits) = report_visits(&state, &headers, query).await?;
    let branch = state.branch().clone();
    let target = move |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
    let mut summary = crate::reports::summarise(&filter, &visits, &target, state.branch().utc_offset);
    let (from, to, service) = (filter.from, filter.to, filter.service.clone());
    summary.appointments = state.appointments.with(move |c| bookings::figures(c, from, to, service.as_deref())).await?;
    summary.sms = sms_figures(&state, filter.from, filter.to).await?;
    Ok(Json(summary))
}

/// `GET /api/v1/reports/service-levels?from=&to=&service=&counter=` (managers).
async fn report_service_levels(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> WebResult<Json<crate::reports::SlaReport>> {
    let (filter, visits) = report_visits(&state, &headers, query).await?;
    let branch = state.branch().clone();
    let report =
        state.db.read(move |conn| crate::reports::read::sla_report_of(conn, &branch, &filter, &visits)).await??;
    Ok(Json(report))
}

/// `GET /api/v1/reports/cases?from=&to=&service=&counter=` (managers).
async fn report_cases(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> WebResult<Json<crate::cases::CaseReport>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let filter = query.filter()?;
    let branch = state.branch().clone();
    let now = crate::clock::now();
    let report = state.db.read(move |conn| crate::reports::read::case_report(conn, &branch, &filter, now)).await??;
    Ok(Json(report))
}

/// `GET /api/v1/reports/causes?from=&to=&service=&counter=` (managers).
async fn report_causes(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> WebResult<Json<crate::reports::causes::CausesReport>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let filter = query.filter()?;
    let branch = state.branch().clone();
    let now = crate::clock::now();
    let report = state
        .db
        .read(move |conn| {
            let cases = crate::reports::read::case_report(conn, &branch, &filter, now)?;
            crate::reports::read::causes_report_of(conn, &branch, &filter, &cases)
        })
        .await??;
    Ok(Json(report))
}

/// `GET /api/v1/reports/periods`'s query: a report's, and how to cut its range.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PeriodsQuery {
    from: String,
    to: String,
    #[serde(default)]
    service: Option<String>,
    #[serde(default)]
    counter: Option<String>,
    /// `day`, `week`, `month` (default) or `quarter`.
    #[serde(default)]
    period: Option<String>,
}

/// `GET /api/v1/reports/periods?from=&to=&service=&counter=&period=` (managers).
async fn report_periods(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<PeriodsQuery>,
) -> WebResult<Json<crate::reports::by_period::PeriodsReport>> {
    use crate::reports::periods::Period;
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let period = match query.period.as_deref() {
        None => Period::default(),
        Some(code) => Period::parse(code)
            .ok_or_else(|| WebError::malformed(format!("period must be day, week, month or quarter, not {code:?}")))?,
    };
    let filter =
        ReportQuery { from: query.from, to: query.to, service: query.service, counter: query.counter }.filter()?;
    let branch = state.branch().clone();
    let now = crate::clock::now();
    let report = state.db.read(move |conn| super::dashboard::periods_of(conn, &branch, &filter, period, now)).await??;
    Ok(Json(report))
}

/// The SMS of the months of local days `from..=to`, for the report and the dashboard.
pub async fn sms_figures(
    state: &AppState,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> WebResult<dawr_protocol::api::reports::SmsFigures> {
    let offset = state.branch().utc_offset;
    let midnight = |day: chrono::NaiveDate| {
        day.and_hms_opt(0, 0, 0)
            .and_then(|t| t.and_local_timezone(offset).single())
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_default()
    };
    let (start, end) = (midnight(from), midnight(to.succ_opt().unwrap_or(to)));
    let rows = state.db.read(move |c| crate::sms::report::rows(c, start, end)).await??;
    Ok(crate::sms::report::figures(&rows, from, to, offset, &state.sms_price))
}

/// `GET /api/v1/reports/visits.csv?from=&to=` (managers): the Excel-ready CSV (BOM, local
/// times, Arabic and English names, case status, target and breach).
async fn report_visits_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ReportQuery>,
) -> WebResult<impl IntoResponse> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let filter = query.filter()?;
    let name = format!("attachment; filename=\"dawr-visits-{}-{}.csv\"", filter.from, filter.to);
    let branch = state.branch().clone();
    let csv = state.db.read(move |conn| super::dashboard::visits_csv_of(conn, &branch, &filter)).await??;
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, name)], csv))
}

/// Who asks for a case, from their session.
fn case_reader(state: &AppState, session: &crate::auth::Session) -> (String, bool, Option<String>, String) {
    let today = crate::clock::now().with_timezone(&state.branch().utc_offset).date_naive().to_string();
    (session.staff.clone(), session.role == crate::domain::Role::Manager, session.counter.clone(), today)
}

/// A case the reader may not see.
fn not_yours(case_ref: &str) -> WebError {
    WebError::forbidden(
        "forbidden",
        format!("case {case_ref} is not one you served or of your counter today (managers see every case)"),
    )
}

/// `GET /api/v1/cases/{ref}`: a visit's CRM case, for a manager or the staff member who served
/// it (or is signed in at its counter today). Earlier visits of its visitor are listed among the
/// cases the reader may see.
async fn get_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
) -> WebResult<impl IntoResponse> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    let (staff, manager, counter, today) = case_reader(&state, &session);
    let policy = state.branch().cases;
    let lookup = case_ref.clone();
    let case = state
        .db
        .read(move |conn| -> rusqlite::Result<Option<Option<crate::cases::CaseDetail>>> {
            let reader = crate::cases::Reader { staff: &staff, manager, counter: counter.as_deref(), today: &today };
            let Some(visit) = crate::reports::case_facts(conn, &lookup)? else { return Ok(None) };
            if !crate::cases::may_read(&reader, &visit) {
                return Ok(Some(None));
            }
            let notes = crate::cases::read_notes(conn, &lookup)?;
            let case = crate::cases::case_of(&visit, notes.as_ref(), policy, chrono::Utc::now());
            let keep = |v: &VisitFacts| crate::cases::may_read(&reader, v);
            let earlier_visits = crate::cases::earlier_visits(conn, &case, policy, chrono::Utc::now(), 10, keep)?;
            Ok(Some(Some(crate::cases::CaseDetail { case, earlier_visits })))
        })
        .await??;
    match case {
        None => Err(WebError::not_found("not_found", format!("no case {case_ref}"))),
        Some(None) => Err(not_yours(&case_ref)),
        Some(Some(case)) => Ok(Json(case)),
    }
}

/// `PATCH /api/v1/cases/{ref}`: category, notes, visitor, close — by whoever may read the case
/// (see [`get_case`]); the change records its author.
async fn update_case(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(case_ref): Path<String>,
    body: Bytes,
) -> WebResult<impl IntoResponse> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    let (staff, manager, counter, today) = case_reader(&state, &session);
    let change: crate::cases::CaseUpdate = json_body_with_nulls(&body)?;
    let policy = state.branch().cases;
    let outbox = state.crm_enabled.then(|| state.branch().id.clone());
    let key = state.visitor_key.clone();
    let lookup = case_ref.clone();
    let case = state
        .db
        .write(move |conn| {
            let reader = crate::cases::Reader { staff: &staff, manager, counter: counter.as_deref(), today: &today };
            let visit = crate::reports::case_facts(conn, &lookup)
                .map_err(|e| crate::cases::CaseError::Storage(e.to_string()))?;
            if visit.is_some_and(|v| !crate::cases::may_read(&reader, &v)) {
                return Ok(None);
            }
            let now = chrono::Utc::now();
            crate::cases::update(conn, &lookup, &change, &staff, policy, outbox.as_deref(), &key, now).map(Some)
        })
        .await??;
    case.map(Json).ok_or_else(|| not_yours(&case_ref))
}

/// `GET /api/v1/staff/today` (a signed-in staff member): their own figures today.
async fn staff_today(State(state): State<AppState>, headers: HeaderMap) -> WebResult<impl IntoResponse> {
    let session = state.sessions.check(authorization(&headers), chrono::Utc::now())?;
    let today = crate::clock::now().with_timezone(&state.branch().utc_offset).date_naive();
    let filter = ReportFilter { from: today, to: today, service: None, counter: None };
    let visits = state.db.read(move |conn| crate::reports::visit_facts(conn, &filter)).await??;
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
async fn crm_status(State(state): State<AppState>, headers: HeaderMap) -> WebResult<impl IntoResponse> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let enabled = state.crm_enabled;
    let status = state.db.read(crate::crm::status).await??;
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
) -> WebResult<impl IntoResponse> {
    let wanted = query.status.clone().unwrap_or_else(|| "all".into());
    if !["all", "open", "overdue", "escalated"].contains(&wanted.as_str()) {
        return Err(WebError::malformed("status must be all, open, overdue or escalated"));
    }
    let report = ReportQuery { from: query.from, to: query.to, service: None, counter: None };
    let (filter, visits) = report_visits(&state, &headers, report).await?;
    let policy = state.branch().cases;
    let notes = state.db.read(move |conn| crate::cases::notes_for_days(conn, filter.from, filter.to)).await??;
    let cases = crate::cases::cases_of(&visits, &notes, policy, chrono::Utc::now());
    let keep = |c: &crate::cases::Case| match wanted.as_str() {
        "open" => c.status == crate::cases::CaseStatus::Open,
        "overdue" => c.overdue || c.escalation.as_ref().is_some_and(|e| e.overdue),
        "escalated" => c.escalation.as_ref().is_some_and(|e| e.open),
        _ => true,
    };
    Ok(Json(cases.into_iter().filter(keep).collect::<Vec<_>>()))
}

/// `POST /api/v1/checkins`: a kiosk (or staff) checks a booking in by its code; the visitor gets
/// a ticket in the appointment class, ranked by the slot (its `issued` event records who). Works
/// from the bookings held here, offline too. The code may come as the signed token of the
/// booking's QR code: verified with the site's key, it checks in a booking never pulled. The
/// check-in code of a remote ticket (joined from a phone) checks that ticket in instead: 200 with
/// it, now callable (its `arrived` event records who).
async fn checkin(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> WebResult<impl IntoResponse> {
    let caller = callers::kiosk_or_staff(&state, &headers)?;
    let request: dawr_protocol::api::bookings::CheckIn = json_body(&body)?;
    let held = state.appointments.clone();
    let branch = state.branch();
    let presented = bookings::read(&request.code, &held.keys, &branch.id).map_err(refused)?.ok_or_else(|| {
        WebError::malformed("code must be 1 to 16 letters or digits, or the signed token of a booking's QR code")
    })?;
    let code = presented.code.clone();
    // A remote ticket's check-in code (typed, or scanned from its page): the holder has arrived.
    let lookup = code.clone();
    if presented.verified.is_none()
        && let Some(visit) = state.db.read(move |c| crate::join::store::visit_by_checkin_code(c, &lookup)).await??
    {
        return arrive(&state, visit as VisitId, caller.author()).await.map(IntoResponse::into_response);
    }
    let lookup = code.clone();
    let pulled = held.with(move |c| bookings::find(c, &lookup)).await?;
    // What the site last said wins over a token; a token stands in for a booking never pulled.
    let signed = match (&pulled, &presented.verified) {
        (None, Some(claims)) => Some(bookings::held_from_token(claims, branch.utc_offset)),
        _ => None,
    };
    let booking = pulled.or(signed.clone());
    let now = crate::clock::now();
    let today = now.with_timezone(&branch.utc_offset).date_naive();
    if let Err(refusal) = bookings::check(booking.as_ref(), now, today, held.window) {
        let mut message = refusal.to_string();
        if let bookings::Refusal::AlreadyCheckedIn { visit: Some(id) } = refusal {
            // Tell the staff which ticket it got.
            let visit = state.db.read(move |conn| store::read_visit(conn, id).ok().flatten()).await.ok().flatten();
            if let Some(v) = visit {
                message = format!("{message} (ticket {})", v.number);
            }
        }
        return Err(refused_because(&refusal, message));
    }
    if let Some(signed) = signed {
        // Held from now on like a pulled booking: a second scan finds it checked in.
        held.with(move |c| bookings::hold_signed(c, &signed, now)).await?;
        tracing::info!(code = %code, "booking not pulled: checked in from its signed token");
    }
    let booking = booking.expect("checked");
    let request = IssueTicket {
        service: booking.service.clone(),
        priority: Priority::Appointment,
        appointment_at: Some(booking.start),
        // A retried check-in (or two kiosks at once) gets the same ticket, never a second one.
        request_id: Some(bookings::request_id(&code)),
        sms: None,
    };
    let by = caller.author();
    let ticket = state.engine.ask(|reply| Request::Issue { request, by, reply }).await??;
    let visit = ticket.id;
    held.with(move |c| bookings::record_checkin(c, &code, visit, now)).await?;
    held.wake.notify_one();
    tracing::info!(code = %booking.code, ticket = %ticket.number, "appointment checked in");
    Ok((StatusCode::CREATED, Json(ticket)).into_response())
}

/// A check-in refused: 404 for an unknown code, 422 for a token that is damaged or not the
/// site's, 409 for the rest.
fn refused(refusal: bookings::Refusal) -> WebError {
    refused_because(&refusal, refusal.to_string())
}

fn refused_because(refusal: &bookings::Refusal, message: String) -> WebError {
    let status = match refusal {
        bookings::Refusal::Unknown => StatusCode::NOT_FOUND,
        bookings::Refusal::BadToken(_) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::CONFLICT,
    };
    WebError::new(status, refusal.code(), message)
}

/// A remote ticket checked in at the kiosk: 200 with the ticket (now callable); a ticket that has
/// left the queue is refused like a used booking.
async fn arrive(state: &AppState, visit: VisitId, by: crate::engine::Author) -> WebResult<(StatusCode, Json<Ticket>)> {
    match state.engine.ask(|reply| Request::Arrive { id: visit, by, reply }).await? {
        Ok(ticket) => {
            tracing::info!(ticket = %ticket.number, "remote ticket checked in");
            Ok((StatusCode::OK, Json(ticket)))
        }
        Err(failure) if failure.code == ErrorCode::UnknownTicket => Err(WebError::new(
            StatusCode::CONFLICT,
            "ticket_ended",
            "this remote ticket has left the queue (served, cancelled or a no-show)",
        )),
        Err(failure) => Err(failure.into()),
    }
}

#[derive(Deserialize)]
struct DayQuery {
    date: Option<String>,
}

/// `GET /api/v1/appointments?date=`: the bookings held for a day (default today), for an enrolled
/// kiosk or signed-in staff (their codes check visitors in).
async fn held_appointments(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<DayQuery>,
) -> WebResult<impl IntoResponse> {
    callers::kiosk_or_staff(&state, &headers)?;
    let day = match q.date.as_deref() {
        Some(text) => text.parse().map_err(|_| WebError::malformed(format!("date {text:?} is not like 2026-11-24")))?,
        None => crate::clock::now().with_timezone(&state.branch().utc_offset).date_naive(),
    };
    let list = state.appointments.with(move |c| bookings::day(c, day)).await?;
    Ok(Json(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_is_json_and_lists_every_route() {
        let documented = dawr_web::error::openapi_paths(OPENAPI_JSON).unwrap();
        let mut served: Vec<&str> = routes().into_iter().map(|(path, _)| path).collect();
        served.sort_unstable();
        assert_eq!(served, documented, "the router serves exactly the documented paths");
    }
}
