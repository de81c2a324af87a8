//! The managers' SMS routes: `GET /api/v1/sms/messages` (the outbox's counts and newest messages
//! with their delivery state) and `POST /api/v1/sms/messages` (a test message to a mobile, to
//! check the gateway); `POST /api/v1/sms/subscriptions` (a ticket's holder gives a mobile for
//! the "N ahead" and "called" messages).
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use dawr_protocol::api::TicketStatus;
use dawr_protocol::api::sms::{SmsQueued, SmsSend, SmsStatus, SmsSubscribe, SmsSubscribed};
use dawr_web::error::json_body;
use dawr_web::{WebError, WebResult};
use serde::Deserialize;

use super::{AppState, authorization};
use crate::sms::{outbox, rules};

/// At most this many tickets a day may give one mobile (tickets are issued without sign-in, so
/// this bounds what anyone can make the hub send to a stranger's mobile).
pub const SUBSCRIPTIONS_PER_MOBILE_PER_DAY: i64 = 3;

/// The longest test message (a few SMS parts).
const MAX_TEXT: usize = 480;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// How many of the newest messages (1–500, default 50).
    limit: Option<usize>,
}

/// `GET /api/v1/sms/messages` (managers).
pub async fn messages(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ListQuery>,
) -> WebResult<Json<SmsStatus>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let limit = query.limit.unwrap_or(50);
    if !(1..=500).contains(&limit) {
        return Err(WebError::malformed("limit must be between 1 and 500").with_field("limit"));
    }
    let status = state.db.read(move |c| outbox::status(c, limit)).await??;
    Ok(Json(SmsStatus { enabled: state.sms.is_some(), ..status }))
}

/// `POST /api/v1/sms/messages` (managers): a test message.
pub async fn send(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<(StatusCode, Json<SmsQueued>)> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let request: SmsSend = json_body(&body)?;
    let Some(wake) = state.sms.clone() else {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            "sms_off",
            "this hub has no SMS gateway ([sms] in the branch file)",
        ));
    };
    let mobile = rules::saudi_mobile(&request.to).ok_or_else(|| {
        WebError::malformed("to must be a Saudi mobile (05XXXXXXXX or +9665XXXXXXXX)").with_field("to")
    })?;
    let text = request.text.trim().to_string();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(WebError::malformed(format!("text must have 1 to {MAX_TEXT} characters")).with_field("text"));
    }
    let (branch, to, now) = (state.branch().id.clone(), mobile.clone(), crate::clock::now());
    let queued = state.db.write(move |c| outbox::put(c, &branch, &to, "test", &text, now)).await??;
    let Some(message_id) = queued else {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            "opted_out",
            "this mobile answered STOP: nothing is sent to it",
        ));
    };
    wake.notify_one();
    Ok((StatusCode::ACCEPTED, Json(SmsQueued { message_id, mobile })))
}

/// `POST /api/v1/sms/subscriptions`: the holder of a waiting ticket (its page token) gives a
/// mobile for its messages.
pub async fn subscribe(State(state): State<AppState>, body: Bytes) -> WebResult<(StatusCode, Json<SmsSubscribed>)> {
    let request: SmsSubscribe = json_body(&body)?;
    if state.sms.is_none() {
        return Err(WebError::new(
            StatusCode::CONFLICT,
            "sms_off",
            "this hub has no SMS gateway ([sms] in the branch file)",
        ));
    }
    let mobile = rules::saudi_mobile(&request.mobile).ok_or_else(|| {
        WebError::malformed("mobile must be a Saudi mobile (05XXXXXXXX or +9665XXXXXXXX)").with_field("mobile")
    })?;
    let lang = match request.lang.as_deref() {
        None | Some("ar") => "ar",
        Some("en") => "en",
        Some(_) => return Err(WebError::malformed("lang must be ar or en").with_field("lang")),
    };
    let token = request.token;
    let ticket = state.engine.ask(|reply| crate::engine::Request::TicketByToken { token, reply }).await?;
    let Some(ticket) = ticket.filter(|t| t.status == TicketStatus::Waiting) else {
        return Err(WebError::not_found("unknown_ticket", "no waiting ticket has this token"));
    };
    let (visit, to, now) = (ticket.id as i64, mobile.clone(), crate::clock::now());
    let refused = state
        .db
        .write(move |c| -> rusqlite::Result<Option<WebError>> {
            if outbox::is_opted_out(c, &to)? {
                let stopped = "this mobile answered STOP: nothing is sent to it";
                return Ok(Some(WebError::new(StatusCode::CONFLICT, "opted_out", stopped)));
            }
            if outbox::subscriptions_since(c, &to, now - chrono::Duration::days(1))? >= SUBSCRIPTIONS_PER_MOBILE_PER_DAY
            {
                let many = "this mobile was given for too many tickets today";
                return Ok(Some(WebError::too_many("too_many_subscriptions", many, 3600)));
            }
            outbox::subscribe(c, visit, &to, lang, now)?;
            Ok(None)
        })
        .await??;
    if let Some(error) = refused {
        return Err(error);
    }
    Ok((StatusCode::CREATED, Json(SmsSubscribed { number: ticket.number, mobile, lang: lang.into() })))
}
