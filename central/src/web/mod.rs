//! The central dashboard (`dawr-central run --http ADDR --centre-file FILE`): server-rendered
//! HTML in Arabic (default, right to left) or English (`?lang=en`), no JavaScript, like the
//! branch's dashboard. Central managers and regional managers sign in (a form; the session in an
//! `HttpOnly`, `SameSite=Strict` cookie); a regional manager sees the branches of their region
//! only, everywhere: the live table, the figures and the CSV.
//!
//! - `/`: every branch now (waiting, longest wait, counters open, devices offline and since
//!   when, offline since, the configuration revision it runs or refused).
//! - `GET /api/v1/branches`: the same as JSON ([`CentralBranch`]); without a session 401 with
//!   `{"error","message"}`.
//! - `/figures?from&to`: figures per branch, per region and per service over a range.
//! - `/monthly?month=YYYY-MM`: the directorate's monthly report, the branches compared.
//! - `/figures.csv?from&to`: the branches' figures as CSV.
//! - `/branches/{branch}/config`: a central manager edits a branch's configuration from the
//!   centre (its services' names and target waits, its closing time: [`crate::edit`]); the form
//!   carries the revision it was made from, and the save is a compare-and-set on that revision
//!   in `dawr_config` (someone else's change meanwhile: 409). Every change is recorded with its
//!   author (`config_changes`), and the page shows which revision the branch has applied.
//!
//! - `/branches/{branch}/cases`: what staff wrote on the branch's cases (category, notes,
//!   closing), as the uplink sent it; for whoever sees the branch.
//!
//! Every state-changing request passes `dawr_web::guard` (same-origin checks, as the branch's).
//!
//! The figures are the branches' own ([`crate::reports`]); this module gathers them, [`view`]
//! draws them.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_nats::jetstream::kv;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, NaiveDate, Utc};
use dawr_i18n::{Lang, Texts};
use rand::RngCore;
use serde::Deserialize;

use dawr_protocol::api::ministry::CentralBranch;
use dawr_web::WebError;

use dawr_hub::config::CentreConfig;

use crate::people::{CentreFile, User, UserRole};
use crate::reports::{Totals, branch_summary};
use crate::store::{self, DbError};

mod view;

/// The session cookie's name.
const COOKIE: &str = "dawr_central";

/// What the handlers share.
#[derive(Clone)]
pub struct Web {
    pub pool: deadpool_postgres::Pool,
    pub file: Arc<CentreFile>,
    pub texts: Arc<Texts>,
    /// A branch silent longer than this (seconds) is offline (the live keys' age limit).
    pub stale_after_s: f64,
    /// The `dawr_config` bucket, where a configuration edited here goes.
    config: Option<kv::Store>,
    /// Open sessions: the token and the user's id.
    sessions: Arc<Mutex<HashMap<String, String>>>,
}

impl Web {
    pub fn new(pool: deadpool_postgres::Pool, file: CentreFile, stale_after_s: f64) -> Web {
        Web {
            pool,
            file: Arc::new(file),
            texts: Arc::new(Texts::new()),
            stale_after_s,
            config: None,
            sessions: Arc::default(),
        }
    }

    /// The dashboard edits configurations in this `dawr_config` bucket.
    pub fn with_config(self, config: kv::Store) -> Web {
        Web { config: Some(config), ..self }
    }

    /// Every branch `user` sees, now.
    async fn branches_now(&self, user: &User) -> Result<Vec<CentralBranch>, DbError> {
        let client = self.pool.get().await?;
        let branches = store::live_branches(&**client).await?;
        Ok(branches
            .iter()
            .filter(|b| self.file.sees(user, &b.branch))
            .map(|b| crate::now::branch_now(b, self.file.region_of(&b.branch), self.stale_after_s))
            .collect())
    }

    fn user(&self, headers: &HeaderMap) -> Option<User> {
        let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
        let token = cookies.split(';').find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")))?;
        let id = self.sessions.lock().unwrap_or_else(|e| e.into_inner()).get(token).cloned()?;
        self.file.users.iter().find(|u| u.id == id).cloned()
    }
}

/// The dashboard's routes, with the security headers and the same-origin checks; it answers to
/// IP addresses, localhost and `hosts`.
pub fn router(web: Web, hosts: &[String]) -> Router {
    let app = Router::new()
        .route("/", get(live))
        .route("/api/v1/branches", get(branches_json))
        .route("/sign-in", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/figures", get(figures))
        .route("/monthly", get(monthly))
        .route("/figures.csv", get(csv))
        .route("/branches/{branch}/config", get(config_page).post(config_save))
        .route("/branches/{branch}/cases", get(cases_page))
        .with_state(web);
    let app = dawr_web::guard::guard(app, dawr_web::guard::Guard::new("", hosts));
    dawr_web::headers::secure(app, dawr_web::headers::Policy::without_scripts())
}

#[derive(Debug, Default, Deserialize)]
pub struct PageQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    month: Option<String>,
}

impl PageQuery {
    fn lang(&self) -> Lang {
        dawr_web::html::parse_lang(self.lang.as_deref()).unwrap_or_default()
    }

    /// The range asked for: this month so far by default; at most a year.
    fn range(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), &'static str> {
        let day = |text: Option<&str>, default| match text.filter(|t| !t.is_empty()) {
            Some(t) => t.parse::<NaiveDate>().map_err(|_| "central-bad-dates"),
            None => Ok(default),
        };
        let from = day(self.from.as_deref(), today.with_day(1).unwrap_or(today))?;
        let to = day(self.to.as_deref(), today)?;
        if to < from || (to - from).num_days() > 366 {
            return Err("central-bad-dates");
        }
        Ok((from, to))
    }

    /// The month asked for (`YYYY-MM`; this month by default): its first and last day.
    fn month(&self, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), &'static str> {
        let first = match self.month.as_deref().filter(|m| !m.is_empty()) {
            Some(m) => NaiveDate::parse_from_str(&format!("{m}-01"), "%Y-%m-%d").map_err(|_| "central-bad-dates")?,
            None => today.with_day(1).unwrap_or(today),
        };
        let last = dawr_hub::reports::next_month(first).pred_opt().unwrap_or(first);
        Ok((first, last))
    }
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    user: String,
    password: String,
    #[serde(default)]
    lang: Option<String>,
}

/// A page error as a page (the dashboard is HTML).
fn problem(web: &Web, lang: Lang, status: StatusCode, key: &str) -> Response {
    (status, Html(view::message(&web.texts, lang, key).into_string())).into_response()
}

fn internal(web: &Web, lang: Lang, e: impl std::fmt::Display) -> Response {
    tracing::warn!(error = %e, "the dashboard could not read the centre's database");
    problem(web, lang, StatusCode::SERVICE_UNAVAILABLE, "central-unavailable")
}

async fn live(State(web): State<Web>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let lang = q.lang();
    let Some(user) = web.user(&headers) else {
        return Html(view::sign_in(&web.texts, lang, false).into_string()).into_response();
    };
    match web.branches_now(&user).await {
        Ok(rows) => Html(view::live(&web.texts, lang, &web.file, &user, &rows).into_string()).into_response(),
        Err(e) => internal(&web, lang, e),
    }
}

/// `GET /api/v1/branches`: every branch the signed-in user sees, now.
async fn branches_json(State(web): State<Web>, headers: HeaderMap) -> Response {
    let Some(user) = web.user(&headers) else {
        return WebError::new(StatusCode::UNAUTHORIZED, "unauthorized", "sign in to the centre first").into_response();
    };
    match web.branches_now(&user).await {
        Ok(rows) => axum::Json(rows).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "the dashboard could not read the centre's database");
            WebError::storage(e).into_response()
        }
    }
}

async fn sign_in(State(web): State<Web>, Form(form): Form<SignInForm>) -> Response {
    let lang = dawr_web::html::parse_lang(form.lang.as_deref()).unwrap_or_default();
    let file = web.file.clone();
    let (id, password) = (form.user.clone(), form.password.clone());
    let verified = tokio::task::spawn_blocking(move || file.verify(&id, &password).map(|u| u.id.clone())).await;
    let Ok(Some(id)) = verified else {
        let page = view::sign_in(&web.texts, lang, true).into_string();
        return (StatusCode::UNAUTHORIZED, Html(page)).into_response();
    };
    let mut token = [0u8; 24];
    rand::rng().fill_bytes(&mut token);
    let token: String = token.iter().map(|b| format!("{b:02x}")).collect();
    web.sessions.lock().unwrap_or_else(|e| e.into_inner()).insert(token.clone(), id);
    let cookie = format!("{COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=43200");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/?lang={}", lang.code()))).into_response()
}

async fn sign_out(State(web): State<Web>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    if let Some(token) = headers
        .get(header::COOKIE)
        .and_then(|c| c.to_str().ok())
        .and_then(|c| c.split(';').find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}="))))
    {
        web.sessions.lock().unwrap_or_else(|e| e.into_inner()).remove(token);
    }
    let cookie = format!("{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/?lang={}", q.lang().code()))).into_response()
}

/// One branch's figures over a range.
pub struct BranchFigures {
    pub branch: String,
    pub totals: Totals,
    /// Per service code.
    pub services: Vec<(String, Totals)>,
}

/// The figures of every branch `user` sees over `from..=to`.
async fn gather(web: &Web, user: &User, from: NaiveDate, to: NaiveDate) -> Result<Vec<BranchFigures>, DbError> {
    let client = web.pool.get().await?;
    let mut out = Vec::new();
    for b in store::live_branches(&**client).await? {
        if !web.file.sees(user, &b.branch) {
            continue;
        }
        let Some((offset, targets)) = store::profile(&**client, &b.branch).await? else { continue };
        let events = store::visit_events(&**client, &b.branch, from, to).await?;
        let summary = branch_summary(&events, from, to, offset, &targets);
        out.push(BranchFigures {
            branch: b.branch,
            totals: Totals::of(&summary.total),
            services: summary.per_service.iter().map(|s| (s.service.clone(), Totals::of(&s.figures))).collect(),
        });
    }
    Ok(out)
}

fn today() -> NaiveDate {
    (Utc::now() + chrono::Duration::hours(3)).date_naive()
}

async fn figures(State(web): State<Web>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let lang = q.lang();
    let Some(user) = web.user(&headers) else {
        return Redirect::to(&format!("/?lang={}", lang.code())).into_response();
    };
    let (from, to) = match q.range(today()) {
        Ok(range) => range,
        Err(key) => return problem(&web, lang, StatusCode::BAD_REQUEST, key),
    };
    match gather(&web, &user, from, to).await {
        Ok(rows) => {
            Html(view::figures(&web.texts, lang, &web.file, &user, from, to, &rows).into_string()).into_response()
        }
        Err(e) => internal(&web, lang, e),
    }
}

async fn monthly(State(web): State<Web>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let lang = q.lang();
    let Some(user) = web.user(&headers) else {
        return Redirect::to(&format!("/?lang={}", lang.code())).into_response();
    };
    let (from, to) = match q.month(today()) {
        Ok(range) => range,
        Err(key) => return problem(&web, lang, StatusCode::BAD_REQUEST, key),
    };
    match gather(&web, &user, from, to).await {
        Ok(rows) => Html(view::monthly(&web.texts, lang, &web.file, &user, from, &rows).into_string()).into_response(),
        Err(e) => internal(&web, lang, e),
    }
}

async fn csv(State(web): State<Web>, Query(q): Query<PageQuery>, headers: HeaderMap) -> Response {
    let lang = q.lang();
    let Some(user) = web.user(&headers) else {
        return problem(&web, lang, StatusCode::UNAUTHORIZED, "central-sign-in-first");
    };
    let (from, to) = match q.range(today()) {
        Ok(range) => range,
        Err(key) => return problem(&web, lang, StatusCode::BAD_REQUEST, key),
    };
    match gather(&web, &user, from, to).await {
        Ok(rows) => {
            let disposition = format!("attachment; filename=\"dawr-branches-{from}-{to}.csv\"");
            (
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                    (header::CONTENT_DISPOSITION, disposition),
                ],
                view::csv(&web.file, &rows),
            )
                .into_response()
        }
        Err(e) => internal(&web, lang, e),
    }
}

/// What the configuration page needs: the revision in `dawr_config` and its configuration.
type Current = (u64, CentreConfig);

/// The signed-in central manager who may edit `branch`, or the page to answer instead.
fn editor(web: &Web, headers: &HeaderMap, lang: Lang, branch: &str) -> Result<User, Box<Response>> {
    let Some(user) = web.user(headers) else {
        return Err(Box::new(Redirect::to(&format!("/?lang={}", lang.code())).into_response()));
    };
    if user.role != UserRole::Central || !web.file.sees(&user, branch) {
        return Err(Box::new(problem(web, lang, StatusCode::FORBIDDEN, "central-config-central-only")));
    }
    Ok(user)
}

/// `branch`'s configuration in `dawr_config` now; `Err` is the page to answer instead.
async fn current(web: &Web, lang: Lang, branch: &str) -> Result<Current, Box<Response>> {
    let Some(bucket) = &web.config else {
        return Err(Box::new(problem(web, lang, StatusCode::NOT_FOUND, "central-config-none")));
    };
    let entry = bucket.entry(branch).await.map_err(|e| {
        tracing::warn!(error = %e, "cannot read dawr_config");
        Box::new(problem(web, lang, StatusCode::SERVICE_UNAVAILABLE, "central-unavailable"))
    })?;
    let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
        return Err(Box::new(problem(web, lang, StatusCode::NOT_FOUND, "central-config-none")));
    };
    let centre: CentreConfig = serde_json::from_slice(&entry.value).map_err(|e| {
        tracing::warn!(branch, error = %e, "a configuration in dawr_config that does not read");
        Box::new(problem(web, lang, StatusCode::CONFLICT, "central-config-unreadable"))
    })?;
    Ok((entry.revision, centre))
}

/// The page: the form, the revision the branch runs, and the changes made here.
async fn config_view(web: &Web, lang: Lang, user: &User, branch: &str, current: &Current) -> Response {
    let read = async {
        let client = web.pool.get().await?;
        let now = store::live_branches(&**client).await?.into_iter().find(|b| b.branch == branch);
        let now = now.map(|b| crate::now::branch_now(&b, web.file.region_of(branch), web.stale_after_s));
        let changes = store::config_changes(&**client, branch, 20).await?;
        Ok::<_, DbError>((now, changes))
    };
    match read.await {
        Ok((now, changes)) => {
            let page = view::ConfigPage {
                branch,
                revision: current.0,
                centre: &current.1,
                now: now.as_ref(),
                changes: &changes,
            };
            Html(view::config(&web.texts, lang, &web.file, user, &page).into_string()).into_response()
        }
        Err(e) => internal(web, lang, e),
    }
}

/// The case notes at the centre of a branch the user sees (the 500 most recently changed).
async fn cases_page(
    State(web): State<Web>,
    Path(branch): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = q.lang();
    let Some(user) = web.user(&headers) else {
        return Redirect::to(&format!("/?lang={}", lang.code())).into_response();
    };
    if !web.file.sees(&user, &branch) {
        return problem(&web, lang, StatusCode::FORBIDDEN, "central-cases-not-yours");
    }
    let notes = async { Ok::<_, DbError>(store::case_notes(&**web.pool.get().await?, &branch, 500).await?) };
    match notes.await {
        Ok(notes) => {
            Html(view::cases(&web.texts, lang, &web.file, &user, &branch, &notes).into_string()).into_response()
        }
        Err(e) => internal(&web, lang, e),
    }
}

async fn config_page(
    State(web): State<Web>,
    Path(branch): Path<String>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = q.lang();
    let user = match editor(&web, &headers, lang, &branch) {
        Ok(user) => user,
        Err(page) => return *page,
    };
    match current(&web, lang, &branch).await {
        Ok(current) => config_view(&web, lang, &user, &branch, &current).await,
        Err(page) => *page,
    }
}

/// The i18n key of an edit's error.
fn edit_error_key(e: &crate::edit::EditError) -> &'static str {
    use crate::edit::EditError;
    match e {
        EditError::Closes { .. } => "central-config-bad-closes",
        EditError::EmptyName { .. } => "central-config-bad-name",
        EditError::Target { .. } => "central-config-bad-target",
        EditError::Unknown { .. } => "central-config-bad-field",
    }
}

async fn config_save(
    State(web): State<Web>,
    Path(branch): Path<String>,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let field = |name: &str| form.iter().find(|(f, _)| f == name).map(|(_, v)| v.as_str());
    let lang = dawr_web::html::parse_lang(field("lang")).unwrap_or_default();
    let user = match editor(&web, &headers, lang, &branch) {
        Ok(user) => user,
        Err(page) => return *page,
    };
    let Some(made_from) = field("revision").and_then(|r| r.parse::<u64>().ok()) else {
        return problem(&web, lang, StatusCode::BAD_REQUEST, "central-config-bad-field");
    };
    let (revision, centre) = match current(&web, lang, &branch).await {
        Ok(current) => current,
        Err(page) => return *page,
    };
    if revision != made_from {
        return problem(&web, lang, StatusCode::CONFLICT, "central-config-conflict");
    }
    let values: Vec<(String, String)> = form.iter().filter(|(f, _)| f != "lang" && f != "revision").cloned().collect();
    let (edited, changes) = match crate::edit::apply(&centre, &values) {
        Ok(edited) => edited,
        Err(e) => {
            let page = view::message_with(&web.texts, lang, edit_error_key(&e), &branch, &e.to_string());
            return (StatusCode::BAD_REQUEST, Html(page.into_string())).into_response();
        }
    };
    let back = Redirect::to(&format!("/branches/{branch}/config?lang={}", lang.code())).into_response();
    if changes.is_empty() {
        return back;
    }
    if let Err(reason) = crate::config::check(&edited) {
        let page = view::message_with(&web.texts, lang, "central-config-invalid", &branch, &reason.to_string());
        return (StatusCode::BAD_REQUEST, Html(page.into_string())).into_response();
    }
    let body = match serde_json::to_vec(&edited) {
        Ok(body) => body,
        Err(e) => return internal(&web, lang, e),
    };
    let Some(bucket) = &web.config else { return problem(&web, lang, StatusCode::NOT_FOUND, "central-config-none") };
    // The record is written first, in a transaction committed once the branch's key has the
    // change: no change reaches a branch without its author on record.
    let mut client = match web.pool.get().await {
        Ok(client) => client,
        Err(e) => return internal(&web, lang, e),
    };
    let tx = match client.transaction().await {
        Ok(tx) => tx,
        Err(e) => return internal(&web, lang, e),
    };
    let id = match store::record_change(&tx, &branch, &user.id, &changes).await {
        Ok(id) => id,
        Err(e) => return internal(&web, lang, e),
    };
    // Only on the revision the form was made from: a change made meanwhile is not overwritten.
    let new = match bucket.update(&branch, body.into(), revision).await {
        Ok(new) => new,
        Err(e) if e.kind() == kv::UpdateErrorKind::WrongLastRevision => {
            return problem(&web, lang, StatusCode::CONFLICT, "central-config-conflict");
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot put a configuration in dawr_config");
            return problem(&web, lang, StatusCode::SERVICE_UNAVAILABLE, "central-unavailable");
        }
    };
    let recorded = async {
        store::set_change_revision(&tx, id, new).await?;
        tx.commit().await
    };
    if let Err(e) = recorded.await {
        // The branch has it all the same (the key is written); the record is what is missing.
        tracing::error!(branch, revision = new, author = %user.id, ?changes, error = %e, "a configuration change could not be recorded");
    }
    tracing::info!(branch, revision = new, author = %user.id, ?changes, "configuration changed on the dashboard");
    back
}
