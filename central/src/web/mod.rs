//! The central dashboard (`dawr-central run --http ADDR --centre-file FILE`): server-rendered
//! HTML in Arabic (default, right to left) or English (`?lang=en`), no JavaScript, like the
//! branch's dashboard. Central managers and regional managers sign in (a form; the session in an
//! `HttpOnly`, `SameSite=Strict` cookie); a regional manager sees the branches of their region
//! only, everywhere: the live table, the figures and the CSV.
//!
//! - `/`: every branch now (waiting, longest wait, counters open, offline since, the
//!   configuration revision it runs or refused).
//! - `/figures?from&to`: figures per branch, per region and per service over a range.
//! - `/monthly?month=YYYY-MM`: the directorate's monthly report, the branches compared.
//! - `/figures.csv?from&to`: the branches' figures as CSV.
//!
//! The figures are the branches' own ([`crate::reports`]); this module gathers them, [`view`]
//! draws them.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use chrono::{Datelike, NaiveDate, Utc};
use dawr_i18n::{Lang, Texts};
use rand::RngCore;
use serde::Deserialize;

use crate::people::{CentreFile, User};
use crate::reports::{Totals, branch_summary};
use crate::store;

mod view;

/// The session cookie's name.
const COOKIE: &str = "dawr_central";

/// What the handlers share.
#[derive(Clone)]
pub struct Web {
    pub pool: deadpool_postgres::Pool,
    pub file: Arc<CentreFile>,
    pub texts: Arc<Texts>,
    /// Open sessions: the token and the user's id.
    sessions: Arc<Mutex<HashMap<String, String>>>,
}

impl Web {
    pub fn new(pool: deadpool_postgres::Pool, file: CentreFile) -> Web {
        Web { pool, file: Arc::new(file), texts: Arc::new(Texts::new()), sessions: Arc::default() }
    }

    fn user(&self, headers: &HeaderMap) -> Option<User> {
        let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
        let token = cookies.split(';').find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}=")))?;
        let id = self.sessions.lock().unwrap_or_else(|e| e.into_inner()).get(token).cloned()?;
        self.file.users.iter().find(|u| u.id == id).cloned()
    }
}

/// The dashboard's routes, with the security headers.
pub fn router(web: Web) -> Router {
    let app = Router::new()
        .route("/", get(live))
        .route("/sign-in", post(sign_in))
        .route("/sign-out", post(sign_out))
        .route("/figures", get(figures))
        .route("/monthly", get(monthly))
        .route("/figures.csv", get(csv))
        .with_state(web);
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
    let branches = match web.pool.get().await {
        Ok(client) => store::live_branches(&**client).await.map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    match branches {
        Ok(branches) => {
            let rows: Vec<_> = branches.into_iter().filter(|b| web.file.sees(&user, &b.branch)).collect();
            Html(view::live(&web.texts, lang, &web.file, &user, &rows).into_string()).into_response()
        }
        Err(e) => internal(&web, lang, e),
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
async fn gather(web: &Web, user: &User, from: NaiveDate, to: NaiveDate) -> anyhow::Result<Vec<BranchFigures>> {
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
