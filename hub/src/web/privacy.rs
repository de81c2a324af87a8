//! The managers' personal-data routes — `POST /api/v1/personal-data/export` and `…/erase` (one
//! person's data, by national ID / iqama or mobile, in the body so it stays out of access logs)
//! and `GET /api/v1/audit` (the audit log, a range of days, newest first, paged) — and the audit
//! entries of signing in and out.
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use dawr_protocol::api::privacy::{AuditPage, ErasureReport, PersonQuery, PersonalDataExport};
use dawr_web::error::json_body;
use dawr_web::{WebError, WebResult};
use serde::Deserialize;

use super::{AppState, authorization};
use crate::audit::{self, AuditAction, NewEntry};
use crate::auth::{AuthError, Session};

/// The person of a request, in the canonical form the keyed hash takes.
fn person(body: &Bytes) -> WebResult<String> {
    let query: PersonQuery = json_body(body)?;
    match crate::privacy::person::canonical(&query.person) {
        Ok(Some(person)) => Ok(person),
        Ok(None) => Err(WebError::malformed("person is empty: give a national ID / iqama number or a mobile")),
        Err(problem) => Err(WebError::malformed(format!("person must be {problem}"))),
    }
}

/// `POST /api/v1/personal-data/export` (managers): every case naming the person, as JSON.
pub async fn export(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> WebResult<Json<PersonalDataExport>> {
    let manager = state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let person = person(&body)?;
    let (key, policy) = (state.visitor_key.clone(), state.branch().cases);
    let now = crate::clock::now();
    let export =
        state.db.write(move |conn| crate::privacy::export(conn, &key, &person, &manager.staff, policy, now)).await??;
    Ok(Json(export))
}

/// `POST /api/v1/personal-data/erase` (managers): removes the person's ID, notes and transfer
/// notes; the visits' timings and outcomes stay for the reports.
pub async fn erase(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> WebResult<Json<ErasureReport>> {
    let manager = state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let person = person(&body)?;
    let key = state.visitor_key.clone();
    let now = crate::clock::now();
    let by = manager.staff.clone();
    let report = state.db.write(move |conn| crate::privacy::erase(conn, &key, &person, &manager.staff, now)).await??;
    tracing::info!(cases = report.cases, %by, "personal data erased");
    Ok(Json(report))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    from: String,
    to: String,
    #[serde(default)]
    before: Option<u64>,
    #[serde(default)]
    limit: Option<u32>,
}

/// The local days of an audit query, checked.
fn days(query: &AuditQuery) -> WebResult<(chrono::NaiveDate, chrono::NaiveDate)> {
    let day = |name: &str, text: &str| {
        text.parse::<chrono::NaiveDate>()
            .map_err(|_| WebError::malformed(format!("{name} must be a date like 2026-11-23, not {text:?}")))
    };
    let (from, to) = (day("from", &query.from)?, day("to", &query.to)?);
    if to < from || (to - from).num_days() > 366 {
        return Err(WebError::malformed("from..to must be a range of at most a year, from first"));
    }
    if query.limit.is_some_and(|l| l == 0 || l > audit::MAX_PAGE) {
        return Err(WebError::malformed(format!("limit must be 1 to {}", audit::MAX_PAGE)));
    }
    Ok((from, to))
}

/// Reads a page of the audit log for local days `from..=to`.
pub async fn audit_page(
    state: &AppState,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
    before: Option<u64>,
    limit: u32,
) -> WebResult<AuditPage> {
    let (start, end) = audit::day_range(from, to, state.branch().utc_offset);
    let (entries, next_before) = state.db.read(move |conn| audit::page(conn, start, end, before, limit)).await??;
    Ok(AuditPage { from, to, entries, next_before })
}

/// `GET /api/v1/audit?from=&to=&before=&limit=` (managers): newest first, 100 a page by default.
pub async fn audit(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<AuditQuery>,
) -> WebResult<Json<AuditPage>> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let (from, to) = days(&query)?;
    Ok(Json(audit_page(&state, from, to, query.before, query.limit.unwrap_or(100)).await?))
}

/// Records a sign-in: the session's, or a failure under the staff id that was tried.
pub async fn record_sign_in(state: &AppState, tried: &str, result: &Result<Session, AuthError>) {
    let now = crate::clock::now();
    let entry = match result {
        Ok(session) => {
            let entry = NewEntry::new(now, &session.staff, AuditAction::SignIn);
            match &session.counter {
                Some(counter) => entry.subject(counter.clone()),
                None => entry,
            }
        }
        Err(AuthError::WrongCredentials) => NewEntry::new(now, bounded(tried), AuditAction::SignInFailed),
        Err(AuthError::NotAssigned { staff, counter }) => NewEntry::new(now, staff.clone(), AuditAction::SignInFailed)
            .subject(counter.clone())
            .after("reason", "not_assigned"),
        Err(_) => return,
    };
    audit::record_now(&state.db, entry).await;
}

/// Records each sign-in lockout started since the last call, once: who was tried (at most 32
/// characters) and, for an address, only its kind (the address itself is personal data).
pub async fn record_lockouts(state: &AppState, tried: &str) {
    for lockout in state.sessions.take_lockouts() {
        audit::record_now(&state.db, lockout_entry(crate::clock::now(), tried, &lockout)).await;
    }
}

/// The audit entry of a lockout that started at `now`.
fn lockout_entry(now: chrono::DateTime<chrono::Utc>, tried: &str, lockout: &crate::auth::Lockout) -> NewEntry {
    use crate::auth::throttle::Key;
    let entry = NewEntry::new(now, bounded(tried), AuditAction::LockedOut)
        .after("until", lockout.until.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
    match &lockout.key {
        Key::Staff(id) => entry.subject(bounded(id)).after("locked", "staff_id"),
        Key::Address(address) => entry
            .after("locked", "address")
            .after("address_kind", if address.ends_with("/64") { "ipv6_64" } else { "ipv4" }),
    }
}

/// Records a sign-out, with the counter signed out of (the staffing reports end the spell there).
pub async fn record_sign_out(state: &AppState, session: &Session) {
    let entry = NewEntry::new(crate::clock::now(), &session.staff, AuditAction::SignOut);
    let entry = match &session.counter {
        Some(counter) => entry.subject(counter.clone()),
        None => entry,
    };
    audit::record_now(&state.db, entry).await;
}

/// A tried staff id as the log keeps it: at most 32 characters (anyone may send anything).
fn bounded(tried: &str) -> String {
    tried.chars().take(32).collect()
}
