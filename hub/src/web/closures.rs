//! Closing a day (managers): `POST /api/v1/closures` closes a service or the whole branch for a
//! day, `GET /api/v1/closures` lists the closed days from today on. The dashboard's form calls
//! the same [`close`]. What follows a closure is the queue's (no tickets that day; today's
//! waiting ones cancelled, in the transaction that stores the closure), the notifier's (an SMS to
//! each cancelled ticket's holder who gave a mobile) and the appointments link's (the site is
//! told until it confirms, and cancels that day's bookings).
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use chrono::NaiveDate;
use dawr_protocol::api::closures::{CloseDay, DayClosure, DayClosures};
use dawr_web::error::json_body;
use dawr_web::{WebError, WebResult};

use super::{AppState, authorization};
use crate::bookings::store::closures_from;
use crate::domain::Closure;
use crate::engine::Request;

/// Closes `request`'s day as `manager`: the closure and whether it is new (`false`: it was
/// closed already, nothing changed).
pub async fn close(state: &AppState, request: CloseDay, manager: &str) -> WebResult<(DayClosure, bool)> {
    let closure = Closure { day: request.day, service: request.service.clone() };
    let by = manager.to_string();
    let new = state.engine.ask(|reply| Request::CloseDay { closure, by, reply }).await??;
    if new {
        state.appointments.wake.notify_one();
    }
    let day = request.day;
    let stored = state.appointments.with(move |c| closures_from(c, day)).await?;
    let found = stored.into_iter().find(|c| c.day == request.day && c.service == request.service);
    let closure = found.ok_or_else(|| WebError::storage("the closed day was not found after it was stored"))?;
    Ok((closure, new))
}

/// `POST /api/v1/closures` (managers): `201` with the closed day, `200` if it was closed already.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<(StatusCode, Json<DayClosure>)> {
    let session = state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let request: CloseDay = json_body(&body)?;
    let (closure, new) = close(&state, request, &session.staff).await?;
    Ok((if new { StatusCode::CREATED } else { StatusCode::OK }, Json(closure)))
}

/// `GET /api/v1/closures` (managers): the closed days from today on.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> WebResult<Json<DayClosures>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let today = today(&state);
    let closures = state.appointments.with(move |c| closures_from(c, today)).await?;
    Ok(Json(DayClosures { closures }))
}

/// The branch's local date now.
pub fn today(state: &AppState) -> NaiveDate {
    crate::clock::now().with_timezone(&state.branch().utc_offset).date_naive()
}
