//! Firmware rollouts over HTTP (managers): `GET /api/v1/firmware` lists the signed images the hub
//! holds and the buttons chosen; `POST /api/v1/firmware/rollouts` offers an image to some buttons
//! (or withdraws their offer). Every change is audited with the manager who made it; the offers
//! reach the buttons through [`crate::firmware::Fleet`]. The dashboard's form calls [`choose`].
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use dawr_protocol::api::{FirmwareOverview, NewRollout};
use dawr_web::error::json_body;
use dawr_web::{WebError, WebResult};

use super::{AppState, authorization};
use crate::firmware::{self, FirmwareError};

/// The most buttons one request may choose.
pub const MAX_DEVICES: usize = 500;

fn web_error(e: FirmwareError) -> WebError {
    match e {
        FirmwareError::UnknownVersion(_) => WebError::malformed(e.to_string()).with_field("version"),
        FirmwareError::NotAButton(_) => WebError::malformed(e.to_string()).with_field("devices"),
        FirmwareError::Store(e) => e.into(),
        other => WebError::malformed(other.to_string()),
    }
}

/// The images and the buttons chosen.
pub async fn overview(state: &AppState) -> WebResult<FirmwareOverview> {
    state.db.read(firmware::overview).await?.map_err(web_error)
}

/// Offers `new.version` to `new.devices` (or withdraws), as `manager`; the overview after it.
pub async fn choose(state: &AppState, new: NewRollout, manager: &str) -> WebResult<FirmwareOverview> {
    if new.devices.is_empty() || new.devices.len() > MAX_DEVICES {
        return Err(WebError::malformed(format!("devices: 1 to {MAX_DEVICES} button ids")).with_field("devices"));
    }
    let (by, fleet) = (manager.to_string(), state.mqtt.firmware.clone());
    state
        .db
        .write(move |conn| {
            firmware::choose(conn, new.version.as_deref(), &new.devices, &by, chrono::Utc::now())?;
            fleet.reload(conn, &new.devices)
        })
        .await?
        .map_err(web_error)?;
    overview(state).await
}

/// `GET /api/v1/firmware`.
pub async fn get(State(state): State<AppState>, headers: HeaderMap) -> WebResult<Json<FirmwareOverview>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    Ok(Json(overview(&state).await?))
}

/// `POST /api/v1/firmware/rollouts`.
pub async fn post_rollouts(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<FirmwareOverview>> {
    let session = state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let new: NewRollout = json_body(&body)?;
    Ok(Json(choose(&state, new, &session.staff).await?))
}
