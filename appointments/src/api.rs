//! The JSON API under `/api/v1`, described in `openapi.json` beside this file.
//!
//! For citizens' apps: branches, services, slots, booking, and lookup / cancel / reschedule with
//! the booking code plus the ID number. For branch hubs (with the branch's API key as a bearer
//! token): the day's bookings and reports of check-ins and no-shows; and, with the same key (the
//! site has no staff accounts), a branch manager's export and erasure of one person's bookings. Every error is a 4xx or 503
//! with `{"error": "<code>", "message": "…"}` (plus `field` for a bad field), never a 500. The
//! bodies are `dawr_protocol::api::bookings`' types (the hub reads the same ones).
use std::net::SocketAddr;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, FromRequestParts, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::NaiveDate;
use dawr_i18n::Lang;
use dawr_protocol::api::Names;
use dawr_protocol::api::bookings::{
    Booking as BookingOut, BookingHold, BookingReport, BookingRequest, Citizen, CodeConfirmation, HubBooking,
    SiteBranch, SiteHealth, SiteService, Slots, WaitingListEntry, WaitingListJoin,
};
use dawr_protocol::api::closures::{BranchClosure, ClosureApplied};
use dawr_protocol::api::privacy::{BookingsErasure, BookingsExport, ExportedBooking, PersonQuery};
use dawr_web::error::json_body;
use dawr_web::otp::CodeRefusal;
use dawr_web::{WebError, WebResult};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::service::{BookingInput, Core, Refusal};
use crate::slots;
use crate::store::{Booking, Status};
use crate::validate;

/// The OpenAPI description of this API.
pub const OPENAPI_JSON: &str = include_str!("api/openapi.json");

/// 429 with `Retry-After`: this address asked too often; it earns a request back in the
/// limiter's refill time.
fn rate_limited(core: &Core) -> WebError {
    let seconds = core.limiter.refill_seconds();
    WebError::too_many(
        "rate_limited",
        format!("too many requests from this address; try again in {seconds} s"),
        seconds,
    )
}

/// A path's parameters, whose rejection (a segment that is not UTF-8 once decoded, …) is the
/// API's JSON error like any other mistake.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, WebError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(WebError::malformed(rejection.body_text())),
        }
    }
}

impl From<Refusal> for WebError {
    fn from(r: Refusal) -> Self {
        match r {
            Refusal::UnknownBranch => Self::new(StatusCode::NOT_FOUND, "unknown_branch", "no such branch"),
            Refusal::UnknownService => Self::new(StatusCode::NOT_FOUND, "unknown_service", "no such service"),
            Refusal::Fields(issues) => {
                let first = &issues[0];
                let error = match first.key {
                    "appt-error-not-a-slot" => "not_a_slot",
                    "appt-error-slot-past" => "slot_past",
                    "appt-error-beyond-horizon" => "beyond_horizon",
                    _ => "invalid_field",
                };
                let message = issues.iter().map(|i| format!("{}: {}", i.field.name(), i.message)).collect::<Vec<_>>();
                WebError::new(StatusCode::BAD_REQUEST, error, message.join("; ")).with_field(first.field.name())
            }
            Refusal::Full => Self::new(StatusCode::CONFLICT, "slot_full", "that slot has no place left"),
            Refusal::NotBookable => Self::new(
                StatusCode::CONFLICT,
                "not_bookable",
                "this booking cannot be made; if you have booked already, find your booking with its code",
            ),
            Refusal::NotFound => {
                Self::new(StatusCode::NOT_FOUND, "unknown_booking", "no booking matches this code and ID number")
            }
            Refusal::NotActive(s) => {
                Self::new(StatusCode::CONFLICT, "not_active", format!("the booking is {}", s.as_str()))
            }
            Refusal::Busy => busy(),
            Refusal::TooManyCodes => Self::too_many(
                "too_many_codes",
                "this mobile or this address was sent as many codes as it may be for now; try again later",
                crate::service::codes_retry_after(),
            ),
            Refusal::Code(CodeRefusal::Used) => {
                Self::new(StatusCode::CONFLICT, "code_used", "this code was used already")
            }
            Refusal::Code(CodeRefusal::Expired) => Self::new(
                StatusCode::GONE,
                "code_expired",
                "this code has expired and its place went back; book again for a new code",
            ),
            Refusal::Code(CodeRefusal::TooManyWrong) => Self::new(
                StatusCode::TOO_MANY_REQUESTS,
                "code_used_up",
                "too many wrong codes; book again for a new code",
            ),
            Refusal::CodeShape => {
                Self::new(StatusCode::BAD_REQUEST, "invalid_field", "code: six digits").with_field("code")
            }
            Refusal::WrongCode { left } => Self::new(
                StatusCode::BAD_REQUEST,
                "wrong_code",
                format!("that is not the code sent; {left} more tries"),
            )
            .with_field("code"),
            Refusal::NotFull => Self::new(
                StatusCode::CONFLICT,
                "slot_not_full",
                "that slot has a place nobody waits for: book it instead",
            ),
            Refusal::ListFull => {
                Self::new(StatusCode::CONFLICT, "waiting_list_full", "as many wait for that slot as may")
            }
            Refusal::NoWaitingList => {
                Self::new(StatusCode::NOT_FOUND, "no_waiting_list", "this site keeps no waiting lists")
            }
            Refusal::Storage(e) => {
                tracing::error!(error = %e, "storage");
                Self::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", "the database is not available")
            }
        }
    }
}

/// 503 with `Retry-After`: this replica has as many booking writes under way as it takes.
pub fn busy() -> WebError {
    WebError::unavailable("busy", "too many bookings at this moment; try again in a second", 1)
}

fn check_rate(core: &Core, addr: SocketAddr, headers: &HeaderMap) -> WebResult<()> {
    let forwarded = headers.get("x-forwarded-for").and_then(|v| v.to_str().ok());
    if core.allow(addr, forwarded) { Ok(()) } else { Err(rate_limited(core)) }
}

/// The link and calendar-file addresses of a booking.
pub fn page_url(core: &Core, booking: &Booking) -> String {
    format!("{}/c/{}", core.public_url, booking.token)
}

fn booking_out(core: &Core, b: &Booking) -> BookingOut {
    let branch = core.site.branch(&b.branch);
    let service_name = branch
        .and_then(|br| br.service(&b.service))
        .map(|s| s.name.clone())
        .unwrap_or_else(|| Names { ar: b.service.clone(), en: b.service.clone() });
    let end = branch.map_or(b.start, |br| slots::slot_end(br, b.start));
    let page = page_url(core, b);
    BookingOut {
        code: b.code.clone(),
        branch: b.branch.clone(),
        service: b.service.clone(),
        service_name,
        start: b.start,
        end,
        name: b.name.clone(),
        national_id: validate::masked_id(&b.national_id),
        phone: b.phone.clone(),
        lang: b.lang.clone(),
        status: b.status,
        ics_url: format!("{page}/booking.ics"),
        page_url: page,
        checkin_token: core.checkin_token(b),
    }
}

pub async fn openapi() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}

pub async fn health() -> Json<SiteHealth> {
    Json(SiteHealth { status: "ok".into() })
}

pub async fn branches(State(core): State<Core>) -> Json<Vec<SiteBranch>> {
    Json(
        core.site
            .branches
            .iter()
            .map(|b| SiteBranch {
                id: b.id.clone(),
                name: b.name.clone(),
                utc_offset: b.utc_offset.to_string(),
                slot_min: b.slot_min,
                horizon_days: core.site.horizon_days,
            })
            .collect(),
    )
}

pub async fn services(State(core): State<Core>, ApiPath(branch): ApiPath<String>) -> WebResult<Json<Vec<SiteService>>> {
    let b = core.branch(&branch)?;
    Ok(Json(
        b.services
            .iter()
            .map(|s| SiteService { code: s.code.clone(), name: s.name.clone(), capacity: s.capacity })
            .collect(),
    ))
}

#[derive(Deserialize)]
pub struct DateQuery {
    date: Option<String>,
}

fn parse_date(q: &DateQuery) -> WebResult<NaiveDate> {
    let text = q.date.as_deref().ok_or_else(|| WebError::malformed("the date parameter is required"))?;
    text.parse().map_err(|_| WebError::malformed(format!("date {text:?} is not like 2026-11-24")))
}

pub async fn slots(
    State(core): State<Core>,
    ApiPath((branch, service)): ApiPath<(String, String)>,
    Query(q): Query<DateQuery>,
) -> WebResult<Json<Slots>> {
    let date = parse_date(&q)?;
    let slots = core.slots(&branch, &service, date).await?;
    Ok(Json(Slots { branch, service, date, slots }))
}

/// Books (201 with the booking), or, when bookings are confirmed by a one-time code, holds the
/// place and sends the code (202 with the hold).
pub async fn book(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<axum::response::Response> {
    check_rate(&core, addr, &headers)?;
    let r: BookingRequest = json_body(&body)?;
    let lang: Lang = match r.lang.as_deref() {
        None => Lang::default(),
        Some(l) => l.parse().map_err(|e: dawr_i18n::UnknownLang| WebError::malformed(e.to_string()))?,
    };
    let mut input = BookingInput {
        branch: r.branch,
        service: r.service,
        start: r.start,
        name: r.name,
        national_id: r.national_id,
        phone: r.phone,
    };
    bind_identity(&core, &mut input, &headers)?;
    if core.confirms_by_code() {
        let client = core.client(addr, headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()));
        let held = core.hold(&input, lang, client).await?;
        tracing::info!(branch = %input.branch, service = %input.service, "held; a code was sent");
        let hold = BookingHold {
            confirm_url: format!("{}/api/v1/holds/{}/confirm", core.public_url, held.handle),
            hold: held.handle,
            mobile: held.mobile,
            expires_at: held.expires_at,
        };
        return Ok((StatusCode::ACCEPTED, Json(hold)).into_response());
    }
    let booking = core.book(&input, lang).await?;
    tracing::info!(code = %booking.code, branch = %booking.branch, service = %booking.service, start = %booking.start, "booked");
    Ok((StatusCode::CREATED, Json(booking_out(&core, &booking))).into_response())
}

/// With `[identity]` on, the booking's ID is the signed-in one (the `dawr_id` cookie
/// `/signin/callback` set): none signed in is `401 sign_in_required`; a request naming another
/// ID gets the generic `not_bookable` (409), as every rule about who books.
fn bind_identity(core: &Core, input: &mut BookingInput, headers: &HeaderMap) -> WebResult<()> {
    core.bind_identity(input, headers).map_err(|refused| match refused {
        crate::identity::Binding::NotSignedIn => WebError::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_required",
            "sign in with the national sign-in first (GET /signin); the booking takes the verified ID number",
        ),
        _ => Refusal::NotBookable.into(),
    })
}

/// `POST /api/v1/holds/{hold}/confirm`: the right code makes the held booking (201).
pub async fn confirm(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiPath(handle): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<(StatusCode, Json<BookingOut>)> {
    check_rate(&core, addr, &headers)?;
    let r: CodeConfirmation = json_body(&body)?;
    let hold = core.hold_of(&handle).await.map_err(|r| match r {
        Refusal::NotFound => {
            WebError::new(StatusCode::NOT_FOUND, "unknown_hold", "no booking is waiting for a code here")
        }
        other => other.into(),
    })?;
    let booking = core.confirm(&hold, &r.code).await?;
    tracing::info!(code = %booking.code, branch = %booking.branch, service = %booking.service, start = %booking.start, "booked, confirmed by its code");
    Ok((StatusCode::CREATED, Json(booking_out(&core, &booking))))
}

/// The language a request asks for (`ar` without one).
fn request_lang(lang: Option<&str>) -> WebResult<Lang> {
    match lang {
        None => Ok(Lang::default()),
        Some(l) => l.parse().map_err(|e: dawr_i18n::UnknownLang| WebError::malformed(e.to_string())),
    }
}

/// `POST /api/v1/waiting-list`: joins a full slot's waiting list (202 with the entry), once the
/// one-time code sent to the mobile is confirmed.
pub async fn join_waiting_list(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<(StatusCode, Json<WaitingListJoin>)> {
    check_rate(&core, addr, &headers)?;
    let r: BookingRequest = json_body(&body)?;
    let lang = request_lang(r.lang.as_deref())?;
    let mut input = BookingInput {
        branch: r.branch,
        service: r.service,
        start: r.start,
        name: r.name,
        national_id: r.national_id,
        phone: r.phone,
    };
    bind_identity(&core, &mut input, &headers)?;
    let client = core.client(addr, headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()));
    let held = core.join_waiting_list(&input, lang, client).await?;
    tracing::info!(branch = %input.branch, service = %input.service, "a waiting-list entry's code was sent");
    Ok((
        StatusCode::ACCEPTED,
        Json(WaitingListJoin {
            confirm_url: format!("{}/api/v1/waiting-list/{}/confirm", core.public_url, held.handle),
            entry: held.handle,
            mobile: held.mobile,
            expires_at: held.expires_at,
        }),
    ))
}

fn unknown_entry(r: Refusal) -> WebError {
    match r {
        Refusal::NotFound => WebError::new(StatusCode::NOT_FOUND, "unknown_entry", "no waiting-list entry here"),
        other => other.into(),
    }
}

async fn entry_out(core: &Core, entry: &crate::waiting::Entry) -> WebResult<WaitingListEntry> {
    Ok(WaitingListEntry {
        entry: entry.handle.clone(),
        branch: entry.branch.clone(),
        service: entry.service.clone(),
        start: entry.start,
        state: entry.state.as_str().to_string(),
        place: core.entry_place(entry).await?,
    })
}

/// `GET /api/v1/waiting-list/{entry}`: where an entry is (its handle is its secret).
pub async fn waiting_entry(
    State(core): State<Core>,
    ApiPath(handle): ApiPath<String>,
) -> WebResult<Json<WaitingListEntry>> {
    let entry = core.entry_of(&handle).await.map_err(unknown_entry)?;
    Ok(Json(entry_out(&core, &entry).await?))
}

/// `POST /api/v1/waiting-list/{entry}/confirm`: the right code puts the entry in line.
pub async fn confirm_entry(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiPath(handle): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<WaitingListEntry>> {
    check_rate(&core, addr, &headers)?;
    let r: CodeConfirmation = json_body(&body)?;
    let entry = core.entry_of(&handle).await.map_err(unknown_entry)?;
    core.confirm_entry(&entry, &r.code).await?;
    tracing::info!(branch = %entry.branch, service = %entry.service, "joined a waiting list");
    let entry = core.entry_of(&handle).await.map_err(unknown_entry)?;
    Ok(Json(entry_out(&core, &entry).await?))
}

async fn citizen_booking(
    core: &Core,
    addr: SocketAddr,
    headers: &HeaderMap,
    code: &str,
    body: &Bytes,
) -> WebResult<(Booking, Citizen)> {
    check_rate(core, addr, headers)?;
    let r: Citizen = json_body(body)?;
    let booking = core.find(code, &r.national_id).await?;
    Ok((booking, r))
}

pub async fn lookup(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiPath(code): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<BookingOut>> {
    let (booking, _) = citizen_booking(&core, addr, &headers, &code, &body).await?;
    Ok(Json(booking_out(&core, &booking)))
}

pub async fn cancel(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiPath(code): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<BookingOut>> {
    let (booking, _) = citizen_booking(&core, addr, &headers, &code, &body).await?;
    let booking = core.cancel(&booking).await?;
    Ok(Json(booking_out(&core, &booking)))
}

pub async fn reschedule(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    ApiPath(code): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<BookingOut>> {
    let (booking, r) = citizen_booking(&core, addr, &headers, &code, &body).await?;
    let start = r.start.ok_or_else(|| WebError::malformed("start is required"))?;
    let booking = core.reschedule(&booking, &start).await?;
    Ok(Json(booking_out(&core, &booking)))
}

/// The branch named in the path, if the request carries its API key.
fn hub_branch(core: &Core, branch: &str, headers: &HeaderMap) -> WebResult<()> {
    let b = core.branch(branch)?;
    let sent = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match sent {
        Some(key) if constant_time_eq(key.as_bytes(), b.api_key.as_bytes()) => Ok(()),
        _ => {
            Err(WebError::new(StatusCode::UNAUTHORIZED, "unauthorized", "send the branch's API key as a bearer token"))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

pub async fn hub_bookings(
    State(core): State<Core>,
    ApiPath(branch): ApiPath<String>,
    Query(q): Query<DateQuery>,
    headers: HeaderMap,
) -> WebResult<Json<Vec<HubBooking>>> {
    hub_branch(&core, &branch, &headers)?;
    let date = parse_date(&q)?;
    let b = core.branch(&branch)?.clone();
    let bookings = core.day_bookings(&branch, date).await?;
    Ok(Json(
        bookings
            .iter()
            .map(|x| HubBooking {
                code: x.code.clone(),
                service: x.service.clone(),
                start: x.start,
                end: slots::slot_end(&b, x.start),
                status: x.status,
            })
            .collect(),
    ))
}

/// The person of a manager's request (`{"person": ID number or mobile}`).
fn person_of(body: &Bytes) -> WebResult<crate::store::Person> {
    let query: PersonQuery = json_body(body)?;
    crate::service::person(&query.person).ok_or_else(|| {
        WebError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "person must be a national ID / iqama number or a Saudi mobile",
        )
        .with_field("person")
    })
}

/// `POST /api/v1/branches/{branch}/personal-data/export` (the branch's manager, with the
/// branch's API key: the site has no staff accounts): every booking of the person at the branch
/// whose data is still held.
pub async fn export_person(
    State(core): State<Core>,
    ApiPath(branch): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<BookingsExport>> {
    hub_branch(&core, &branch, &headers)?;
    let person = person_of(&body)?;
    let bookings = core.person_bookings(&branch, person).await?;
    tracing::info!(%branch, bookings = bookings.len(), "personal data exported");
    Ok(Json(BookingsExport {
        exported_at: dawr_web::clock::now(),
        bookings: bookings
            .into_iter()
            .map(|b| ExportedBooking {
                code: b.code,
                branch: b.branch,
                service: b.service,
                start: b.start,
                name: b.name,
                national_id: b.national_id,
                phone: b.phone,
                lang: b.lang,
                status: b.status.as_str().to_string(),
                created_at: b.created_at,
            })
            .collect(),
    }))
}

/// `POST /api/v1/branches/{branch}/personal-data/erase` (as above): cancels the person's
/// active bookings at the branch and removes their name, ID number and mobile from all of them.
pub async fn erase_person(
    State(core): State<Core>,
    ApiPath(branch): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<BookingsErasure>> {
    hub_branch(&core, &branch, &headers)?;
    let person = person_of(&body)?;
    let (erased, cancelled) = core.erase_person(&branch, person).await?;
    tracing::info!(%branch, bookings = erased, cancelled, "personal data erased");
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(Json(BookingsErasure { bookings: count(erased), cancelled: count(cancelled) }))
}

/// `POST /api/v1/branches/{branch}/closures` (the branch's hub, with its API key): the branch
/// closed a day; its bookings are cancelled and their holders texted (see
/// [`Core::close_day`](crate::service::Core::close_day)). Repeating it changes nothing.
pub async fn hub_closure(
    State(core): State<Core>,
    ApiPath(branch): ApiPath<String>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<ClosureApplied>> {
    hub_branch(&core, &branch, &headers)?;
    let closure: BranchClosure = json_body(&body)?;
    let cancelled = core.close_day(&branch, closure.service.clone(), closure.day).await?;
    tracing::info!(%branch, day = %closure.day, service = ?closure.service, cancelled, "the branch closed a day");
    Ok(Json(ClosureApplied { bookings_cancelled: u32::try_from(cancelled).unwrap_or(u32::MAX) }))
}

pub async fn hub_report(
    State(core): State<Core>,
    ApiPath((branch, code)): ApiPath<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<HubBooking>> {
    hub_branch(&core, &branch, &headers)?;
    let report: BookingReport = json_body(&body)?;
    if !matches!(report.status, Status::CheckedIn | Status::NoShow) {
        return Err(WebError::malformed("status must be checked_in or no_show"));
    }
    let b = core.branch(&branch)?.clone();
    let x = core.report(&branch, &code, report.status, report.at).await?;
    tracing::info!(code = %x.code, status = x.status.as_str(), "reported by the branch");
    Ok(Json(HubBooking {
        code: x.code.clone(),
        service: x.service.clone(),
        start: x.start,
        end: slots::slot_end(&b, x.start),
        status: x.status,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_openapi_document_is_json_and_lists_every_route() {
        let documented = dawr_web::error::openapi_paths(OPENAPI_JSON).unwrap();
        let mut served: Vec<&str> = crate::app::api().into_iter().map(|(path, _)| path).collect();
        served.sort_unstable();
        assert_eq!(served, documented, "the router serves exactly the documented paths");
    }

    #[test]
    fn keys_are_compared_in_full() {
        assert!(constant_time_eq(b"demo-branch-key", b"demo-branch-key"));
        assert!(!constant_time_eq(b"demo-branch-key", b"demo-branch-kez"));
        assert!(!constant_time_eq(b"demo", b"demo-branch-key"));
    }
}
