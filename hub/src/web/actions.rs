//! Corrective actions over HTTP (managers): `GET /api/v1/actions` lists them with their effect,
//! `POST /api/v1/actions` records one, `PATCH /api/v1/actions/{id}` changes its status, owner,
//! dates or text. The dashboard's forms call the same [`create`] and [`change`]; the manager
//! signed in is recorded as the author.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use dawr_protocol::api::actions::{ActionUpdate, CorrectiveAction, CorrectiveActions, NewAction};
use dawr_web::error::json_body;
use dawr_web::{WebError, WebResult};

use super::{AppState, authorization};
use crate::actions::rules::{self, Refused};
use crate::actions::{report, store};

fn refused(e: Refused) -> WebError {
    WebError::malformed(e.to_string()).with_field(e.field)
}

fn not_found(id: i64) -> WebError {
    WebError::not_found("not_found", format!("there is no corrective action {id}"))
}

/// The branch's local day now.
fn today(state: &AppState) -> chrono::NaiveDate {
    crate::clock::now().with_timezone(&state.branch().utc_offset).date_naive()
}

/// Every action with its effect.
pub async fn all(state: &AppState) -> WebResult<CorrectiveActions> {
    let (branch, today) = (state.branch().clone(), today(state));
    Ok(state.db.read(move |conn| report(conn, &branch, today)).await??)
}

/// Action `id` as the report shows it.
async fn one(state: &AppState, id: i64) -> WebResult<CorrectiveAction> {
    all(state).await?.actions.into_iter().find(|a| a.id == id).ok_or_else(|| not_found(id))
}

/// Records `new` by `manager`: the action as the report shows it.
pub async fn create(state: &AppState, new: NewAction, manager: &str) -> WebResult<CorrectiveAction> {
    let services: Vec<String> = state.branch().services.iter().map(|s| s.code.clone()).collect();
    let checked = rules::check_new(new, &services).map_err(refused)?;
    let by = manager.to_string();
    let id = state.db.write(move |conn| store::insert(conn, &checked, &by, chrono::Utc::now())).await??;
    one(state, id).await
}

/// Applies `update` to action `id` by `manager`.
pub async fn change(state: &AppState, id: i64, update: ActionUpdate, manager: &str) -> WebResult<CorrectiveAction> {
    let by = manager.to_string();
    let changed = state
        .db
        .write(move |conn| -> rusqlite::Result<Option<Result<(), Refused>>> {
            let Some(stored) = store::get(conn, id)? else { return Ok(None) };
            match rules::apply(&stored.action, update) {
                Ok(action) => store::update(conn, id, &action, &by, chrono::Utc::now()).map(|()| Some(Ok(()))),
                Err(e) => Ok(Some(Err(e))),
            }
        })
        .await??;
    match changed {
        None => Err(not_found(id)),
        Some(Err(e)) => Err(refused(e)),
        Some(Ok(())) => one(state, id).await,
    }
}

/// `GET /api/v1/actions`.
pub async fn list(State(state): State<AppState>, headers: HeaderMap) -> WebResult<Json<CorrectiveActions>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    Ok(Json(all(&state).await?))
}

/// `POST /api/v1/actions`: `201` with the action.
pub async fn post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<(StatusCode, Json<CorrectiveAction>)> {
    let session = state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let new: NewAction = json_body(&body)?;
    Ok((StatusCode::CREATED, Json(create(&state, new, &session.staff).await?)))
}

/// `PATCH /api/v1/actions/{id}`.
pub async fn patch(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> WebResult<Json<CorrectiveAction>> {
    let session = state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let id: i64 = id.parse().map_err(|_| WebError::malformed(format!("action id {id:?} is not a number")))?;
    let update: ActionUpdate = json_body(&body)?;
    Ok(Json(change(&state, id, update, &session.staff).await?))
}
