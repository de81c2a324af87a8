//! The managers' dashboard, `/dashboard`: server-rendered HTML in Arabic (default, right to left)
//! or English (`?lang=en`), no JavaScript needed, printable. Its one script, [`ALERTS_SCRIPT`],
//! refreshes the live alerts in place from `/dashboard/alerts`.
//!
//! Managers sign in with their id and PIN (a form; the session token is kept in an `HttpOnly`,
//! `SameSite=Strict` cookie); staff and visitors get no figures. The page shows the branch now
//! (visitors waiting, the longest current wait, counters open, services over their target), the
//! figures of a date range from [`crate::reports`] (filterable by service and counter) as cards,
//! bar charts ([`charts`], inline SVG) and tables, one row per month for the monthly report, a
//! CSV link and the summary tables as an Excel workbook ([`xlsx`]). This file holds the handlers and gathers the figures; [`view`] draws the page, one
//! small function a section.
use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate, Utc};
use dawr_i18n::Lang;
use dawr_protocol::device::CounterStatus;
use dawr_web::html::name;
use dawr_web::tls::OverTls;
use dawr_web::{WebError, WebResult};
use rusqlite::Connection;
use serde::Deserialize;

use super::{AppState, ClientAddress, sign_in_with_pin};
use crate::auth::{AuthError, Session};
use crate::domain::{Branch, Role};
use crate::engine::Request;
use crate::reports::by_period::{self, PeriodsReport};
use crate::reports::periods::{Period, periods, previous};
use crate::reports::{ReportFilter, monthly, read, summarise, visit_facts, visits_csv};

pub mod actions;
mod charts;
pub mod forecast;
mod tables;
mod view;
mod xlsx;

use view::{Dashboard, Live, Range};

const COOKIE: &str = "dawr_session";

/// Fetches the live alerts every three seconds and swaps them in (the dashboard's one script;
/// the Content-Security-Policy of the dashboard's routes names it by hash). Without JavaScript
/// the alerts are those of the page's load.
pub const ALERTS_SCRIPT: &str = "(function(){var box=document.getElementById('alerts');\
setInterval(function(){\
fetch('/dashboard/alerts?lang='+document.documentElement.lang,{cache:'no-store',credentials:'same-origin'})\
.then(function(r){return r.ok?r.text():null;})\
.then(function(html){if(html!==null&&html!==box.innerHTML){box.innerHTML=html;}})\
.catch(function(){});},3000);})();";

/// `GET /dashboard/alerts`: the live alerts as an HTML fragment, for a signed-in manager (the
/// services expected to wait over their target among them, as on the page).
pub async fn alerts(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> Response {
    if manager(&state, &headers).is_err() {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    let (lang, branch) = (query.lang(), state.branch());
    let services = match state.engine.ask(|reply| Request::Services { reply }).await {
        Ok(services) => services,
        Err(e) => return WebError::from(e).into_response(),
    };
    let list = view::alerts_list(&state.texts, lang, &branch, &state.alerts.now(), &services);
    let mut response = Html(list.into_string()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
    counter: Option<String>,
    /// `/dashboard/table.csv`: which summary table ([`tables::TABLES`]).
    table: Option<String>,
    /// How the by-period table cuts the range: `day`, `week`, `month` (default) or `quarter`.
    period: Option<String>,
}

impl DashboardQuery {
    fn lang(&self) -> Lang {
        dawr_web::html::parse_lang(self.lang.as_deref()).unwrap_or_default()
    }

    /// The filter asked for: this month so far by default; blank fields mean "all".
    fn filter(&self, today: NaiveDate) -> Result<ReportFilter, &'static str> {
        let day = |text: Option<&str>, default: NaiveDate| match text.filter(|t| !t.is_empty()) {
            Some(t) => t.parse::<NaiveDate>().map_err(|_| "dash-bad-dates"),
            None => Ok(default),
        };
        let from = day(self.from.as_deref(), today.with_day(1).unwrap_or(today))?;
        let to = day(self.to.as_deref(), today)?;
        if to < from || (to - from).num_days() > 366 {
            return Err("dash-bad-dates");
        }
        let pick = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        Ok(ReportFilter { from, to, service: pick(&self.service), counter: pick(&self.counter) })
    }

    /// The period asked for (a month by default).
    fn period(&self) -> Result<Period, &'static str> {
        match self.period.as_deref().filter(|p| !p.is_empty()) {
            None => Ok(Period::default()),
            Some(code) => Period::parse(code).ok_or("dash-bad-period"),
        }
    }
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}="))).map(str::to_string)
}

pub(crate) fn manager(state: &AppState, headers: &HeaderMap) -> Result<Session, AuthError> {
    let token = session_cookie(headers).ok_or(AuthError::Unauthenticated)?;
    state.sessions.check_manager(Some(&format!("Bearer {token}")), Utc::now())
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    staff: String,
    pin: String,
}

/// `POST /dashboard/sign-in`: the form's id and PIN; a manager gets the session cookie.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    over_tls: OverTls,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = query.lang();
    match sign_in_with_pin(&state, &form.staff, &form.pin, None, address).await {
        Ok(session) if session.role == Role::Manager => {
            let secure = if state.guard.secure_cookies(&headers, over_tls) { "; Secure" } else { "" };
            let cookie = format!(
                "{COOKIE}={}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=43200{secure}",
                session.token
            );
            ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/dashboard?lang={}", lang.code()))).into_response()
        }
        Ok(session) => {
            let _ = state.sessions.sign_out(&session.token).await;
            (StatusCode::FORBIDDEN, Html(view::sign_in_page(&state.texts, lang, Some("dash-managers-only"))))
                .into_response()
        }
        Err(e) if e.status() == StatusCode::TOO_MANY_REQUESTS => e.into_response(),
        Err(_) => (StatusCode::UNAUTHORIZED, Html(view::sign_in_page(&state.texts, lang, Some("counter-wrong-pin"))))
            .into_response(),
    }
}

/// `POST /dashboard/sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    over_tls: OverTls,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> Response {
    if let Some(token) = session_cookie(&headers) {
        if let Ok(session) = state.sessions.check(Some(&format!("Bearer {token}")), chrono::Utc::now()) {
            super::privacy::record_sign_out(&state, &session).await;
        }
        let _ = state.sessions.sign_out(&token).await;
    }
    let secure = if state.guard.secure_cookies(&headers, over_tls) { "; Secure" } else { "" };
    let cookie = format!("{COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0{secure}");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/dashboard?lang={}", query.lang().code()))).into_response()
}

/// `GET /dashboard/visits.csv?from=&to=`: the report's visits as CSV, for a signed-in manager.
pub async fn csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> WebResult<Response> {
    let Some(filter) = download_range(&state, &headers, &query)? else {
        return Ok(Redirect::to("/dashboard").into_response());
    };
    let name = format!("dawr-visits-{}-{}.csv", filter.from, filter.to);
    let branch = state.branch().clone();
    let csv = state.db.read(move |conn| visits_csv_of(conn, &branch, &filter)).await??;
    Ok(csv_download(&name, csv))
}

/// The range a CSV download asks for, when a manager is signed in (`None`: nobody is, and the
/// download goes back to the dashboard's sign-in).
fn download_range(state: &AppState, headers: &HeaderMap, query: &DashboardQuery) -> WebResult<Option<ReportFilter>> {
    if manager(state, headers).is_err() {
        return Ok(None);
    }
    let today = crate::clock::now().with_timezone(&state.branch().utc_offset).date_naive();
    query.filter(today).map(Some).map_err(|_| WebError::malformed("bad dates"))
}

/// `body` as a CSV file named `name` to save.
fn csv_download(name: &str, body: String) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    let headers =
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, disposition)];
    (headers, body).into_response()
}

#[derive(Debug, Deserialize)]
pub struct CloseForm {
    day: String,
    /// A service code; blank: the whole branch.
    #[serde(default)]
    service: String,
}

/// `POST /dashboard/closures`: a signed-in manager closes a day (see [`super::closures`]); back
/// to the dashboard's closed days, or a page that says why not.
pub async fn close_day(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
    Form(form): Form<CloseForm>,
) -> WebResult<Response> {
    let lang = query.lang();
    let Ok(session) = manager(&state, &headers) else {
        let page = view::sign_in_page(&state.texts, lang, Some("dash-managers-only"));
        return Ok((StatusCode::FORBIDDEN, Html(page)).into_response());
    };
    let refused =
        |status: StatusCode, key: &str| Ok((status, Html(view::message_page(&state.texts, lang, key))).into_response());
    let Ok(day) = form.day.parse::<NaiveDate>() else { return refused(StatusCode::BAD_REQUEST, "dash-bad-dates") };
    let service = Some(form.service).filter(|s| !s.is_empty());
    let request = dawr_protocol::api::closures::CloseDay { day, service };
    match super::closures::close(&state, request, &session.staff).await {
        Ok(_) => Ok(Redirect::to(&format!("/dashboard?lang={}#closures", lang.code())).into_response()),
        Err(e) if e.status().is_client_error() => refused(e.status(), "dash-closure-refused"),
        Err(e) => Err(e),
    }
}

/// `POST /dashboard/firmware` (`version`, and `device` once per ticked button): a signed-in
/// manager offers an image to those buttons, or with a blank version withdraws their offer (see
/// [`super::firmware`]); back to the dashboard's rollout, or a page that says why not.
pub async fn choose_firmware(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> WebResult<Response> {
    let lang = query.lang();
    let Ok(session) = manager(&state, &headers) else {
        let page = view::sign_in_page(&state.texts, lang, Some("dash-managers-only"));
        return Ok((StatusCode::FORBIDDEN, Html(page)).into_response());
    };
    let version = pairs.iter().find(|(k, _)| k == "version").map(|(_, v)| v.clone()).filter(|v| !v.is_empty());
    let devices = pairs.into_iter().filter(|(k, _)| k == "device").map(|(_, v)| v).collect();
    let request = dawr_protocol::api::NewRollout { version, devices };
    match super::firmware::choose(&state, request, &session.staff).await {
        Ok(_) => Ok(Redirect::to(&format!("/dashboard?lang={}#firmware", lang.code())).into_response()),
        Err(e) if e.status().is_client_error() => {
            Ok((e.status(), Html(view::message_page(&state.texts, lang, "dash-firmware-refused"))).into_response())
        }
        Err(e) => Err(e),
    }
}

/// `GET /dashboard/table.csv?table=…&from=&to=`: one of the page's summary tables as the
/// Excel-ready CSV, for a signed-in manager.
pub async fn table_csv(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> WebResult<Response> {
    let Some(filter) = download_range(&state, &headers, &query)? else {
        return Ok(Redirect::to("/dashboard").into_response());
    };
    let name = query.table.clone().unwrap_or_default();
    if !tables::TABLES.contains(&name.as_str()) {
        return Err(WebError::malformed(format!("table must be one of {}", tables::TABLES.join(", "))));
    }
    let branch = state.branch().clone();
    let range_filter = filter.clone();
    let range = state.db.read(move |conn| range(conn, &branch, &range_filter)).await??;
    let (head, rows) = tables::table(&name, &range, &state.branch()).unwrap_or_default();
    let file = format!("dawr-{name}-{}-{}.csv", filter.from, filter.to);
    Ok(csv_download(&file, crate::reports::csv::table_csv(&head, &rows)))
}

/// `GET /dashboard/tables.xlsx?lang=&from=&to=&…`: every summary table of the page as one Excel
/// workbook (a sheet each, named in the page's language, right to left in Arabic), for a
/// signed-in manager.
pub async fn tables_xlsx(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> WebResult<Response> {
    let Some(filter) = download_range(&state, &headers, &query)? else {
        return Ok(Redirect::to("/dashboard").into_response());
    };
    let lang = query.lang();
    let branch = state.branch().clone();
    let range_filter = filter.clone();
    let range = state.db.read(move |conn| range(conn, &branch, &range_filter)).await??;
    let sheets: Vec<xlsx::Sheet> = tables::TABLES
        .iter()
        .filter_map(|name| {
            let (head, rows) = tables::table(name, &range, &state.branch())?;
            let (head, rows) = xlsx::in_language(&head, &rows, lang.code());
            Some(xlsx::Sheet { name: state.texts.get(lang, &format!("dash-sheet-{name}"), &[]), head, rows })
        })
        .collect();
    let bytes = xlsx::workbook(&sheets, lang == Lang::Ar)
        .map_err(|e| WebError::new(StatusCode::INTERNAL_SERVER_ERROR, "xlsx", e.to_string()))?;
    let disposition = format!("attachment; filename=\"dawr-tables-{}-{}.xlsx\"", filter.from, filter.to);
    let kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string();
    Ok(([(header::CONTENT_TYPE, kind), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}

/// The visits of `filter` as the Excel-ready CSV, each with its case's status now.
pub(crate) fn visits_csv_of(conn: &Connection, branch: &Branch, filter: &ReportFilter) -> rusqlite::Result<String> {
    let visits = visit_facts(conn, filter)?;
    let notes = crate::cases::notes_for_days(conn, filter.from, filter.to)?;
    let now = crate::clock::now();
    let status = |v: &crate::reports::VisitFacts| {
        let case = crate::cases::case_of(v, notes.get(&v.case_ref), branch.cases, now);
        serde_json::to_value(case.status).ok().and_then(|s| s.as_str().map(String::from)).unwrap_or_default()
    };
    Ok(visits_csv(&visits, branch, &status))
}

/// How many of the range's latest audit entries the page lists (`GET /api/v1/audit` has all).
const AUDIT_ROWS: u32 = 20;

/// `GET /dashboard`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> WebResult<Response> {
    let lang = query.lang();
    let session = match manager(&state, &headers) {
        Ok(session) => session,
        Err(AuthError::Forbidden) => {
            let page = view::sign_in_page(&state.texts, lang, Some("dash-managers-only"));
            return Ok((StatusCode::FORBIDDEN, Html(page)).into_response());
        }
        Err(_) => return Ok(Html(view::sign_in_page(&state.texts, lang, None)).into_response()),
    };
    let now = crate::clock::now();
    let today = now.with_timezone(&state.branch().utc_offset).date_naive();
    let filter = match query.filter(today) {
        Ok(filter) => filter,
        Err(key) => {
            return Ok((StatusCode::BAD_REQUEST, Html(view::message_page(&state.texts, lang, key))).into_response());
        }
    };
    let period = match query.period() {
        Ok(period) => period,
        Err(key) => {
            return Ok((StatusCode::BAD_REQUEST, Html(view::message_page(&state.texts, lang, key))).into_response());
        }
    };
    let live = live(&state).await?;
    let (branch, range_filter) = (state.branch().clone(), filter.clone());
    let mut range = state.db.read(move |conn| range_by(conn, &branch, &range_filter, period)).await??;
    range.summary.sms = super::api::sms_figures(&state, filter.from, filter.to).await?;
    let crm = match state.crm_enabled {
        true => state.db.read(crate::crm::status).await.ok().and_then(Result::ok),
        false => None,
    };
    let enrolled = state.db.read(|conn| crate::devices::enrolled(conn).unwrap_or_default()).await?;
    let presence = state.mqtt.presence.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut devices = crate::devices::listing(&enrolled, &presence);
    state.mqtt.firmware.annotate(&mut devices);
    let firmware = super::firmware::overview(&state).await?.images;
    let audit = super::privacy::audit_page(&state, filter.from, filter.to, None, AUDIT_ROWS).await?;
    let manager = state.branch().staff.iter().find(|s| s.id == session.staff).map(|s| name(&s.name, lang).to_string());
    let closures = state.appointments.with(move |c| crate::bookings::store::closures_from(c, today)).await?;
    let dashboard = Dashboard {
        texts: &state.texts,
        lang,
        branch: &state.branch(),
        now,
        manager: manager.as_deref().unwrap_or(&session.staff),
        filter: &filter,
        period,
        live: &live,
        range: &range,
        crm: crm.as_ref(),
        devices: &devices,
        firmware: &firmware,
        audit: &audit,
        demo: state.demo,
        closures: &closures,
        alerts: &state.alerts.now(),
    };
    let mut response = Html(dashboard.page()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The branch now, from the engine.
async fn live(state: &AppState) -> WebResult<Live> {
    let services = state.engine.ask(|reply| Request::Services { reply }).await?;
    let queue = state.engine.ask(|reply| Request::Waiting { counter: None, reply }).await??;
    let counters = state.engine.ask(|reply| Request::Counters { reply }).await?;
    let staffed: std::collections::BTreeSet<String> =
        state.sessions.signed_in_at_counters(Utc::now()).into_iter().map(|(counter, _)| counter).collect();
    Ok(Live { services, queue, counters: counters_now(&counters, &staffed) })
}

/// The counters now: (staffed, paused, open). Staffed: someone is signed in there; open: not
/// paused or closed, and staffed or with a visitor at it (a counter nobody is at is not open,
/// whatever its status says).
fn counters_now(
    counters: &[dawr_protocol::api::CounterSummary],
    staffed: &std::collections::BTreeSet<String>,
) -> (usize, usize, usize) {
    let is_staffed = |c: &dawr_protocol::api::CounterSummary| staffed.contains(c.state.counter.as_str());
    (
        counters.iter().filter(|c| is_staffed(c)).count(),
        counters.iter().filter(|c| c.state.status == CounterStatus::Paused).count(),
        counters
            .iter()
            .filter(|c| c.state.status == CounterStatus::Open && (is_staffed(c) || c.state.current.is_some()))
            .count(),
    )
}

/// The range's figures, each month's, its service levels and its real CRM cases (a year is a
/// few hundred thousand rows: run on the database's blocking thread).
fn range(conn: &Connection, branch: &Branch, filter: &ReportFilter) -> rusqlite::Result<Range> {
    range_by(conn, branch, filter, Period::default())
}

/// [`range`], with the range cut into `period`s (whole ones, and the one before the first for
/// its change).
fn range_by(conn: &Connection, branch: &Branch, filter: &ReportFilter, period: Period) -> rusqlite::Result<Range> {
    let target = |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
    let visits = visit_facts(conn, filter)?;
    let now = crate::clock::now();
    let by_period = periods_of(conn, branch, filter, period, now)?;
    let cases = read::case_report(conn, branch, filter, now)?;
    Ok(Range {
        sla: read::sla_report_of(conn, branch, filter, &visits)?,
        summary: summarise(filter, &visits, &target, branch.utc_offset),
        monthly: monthly(filter, &visits, &target, branch.utc_offset),
        causes: read::causes_report_of(conn, branch, filter, &cases)?,
        cases,
        by_period,
    })
}

/// The range of `filter` cut into whole `period`s, each with its change against the one before
/// (by quarter, each quarter month by month too): what the page and
/// `GET /api/v1/reports/periods` show.
pub(crate) fn periods_of(
    conn: &Connection,
    branch: &Branch,
    filter: &ReportFilter,
    period: Period,
    now: chrono::DateTime<Utc>,
) -> rusqlite::Result<PeriodsReport> {
    let target = |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
    let cut = periods(period, filter.from, filter.to);
    let first = cut.first().map_or(filter.from, |p| p.0);
    let wide =
        ReportFilter { from: previous(period, first).0, to: cut.last().map_or(filter.to, |p| p.1), ..filter.clone() };
    let wide_visits = visit_facts(conn, &wide)?;
    let wide_cases = read::case_entries(conn, branch, &wide, now)?;
    let within = |from: NaiveDate, to: NaiveDate| -> Vec<crate::reports::VisitFacts> {
        let (first, last) = (from.to_string(), to.to_string());
        wide_visits
            .iter()
            .filter(|v| v.local_day.as_str() >= first.as_str() && v.local_day.as_str() <= last.as_str())
            .cloned()
            .collect()
    };
    let rows: Vec<by_period::PeriodFigures> = std::iter::once(previous(period, first))
        .chain(cut.iter().copied())
        .map(|(from, to)| {
            let part = within(from, to);
            let part_filter = ReportFilter { from, to, ..filter.clone() };
            let sla = crate::reports::sla_report(
                (from, to),
                &part,
                crate::reports::sla::Staffing::none(now),
                &target,
                branch.utc_offset,
            );
            by_period::period_figures(
                (from, to),
                &summarise(&part_filter, &part, &target, branch.utc_offset).total,
                sla.total.breaches,
                &crate::cases::ledger::days(&wide_cases, from, to, branch.utc_offset, now),
            )
        })
        .collect();
    let quarters = match period {
        Period::Quarter => {
            let categories: std::collections::HashMap<String, String> =
                crate::cases::notes_for_days(conn, wide.from, wide.to)?
                    .into_iter()
                    .filter_map(|(case_ref, notes)| notes.category.map(|c| (case_ref, c)))
                    .collect();
            let category_of = |v: &crate::reports::VisitFacts| {
                crate::reports::causes::is_real_case(v).then(|| {
                    categories.get(&v.case_ref).cloned().unwrap_or_else(|| crate::reports::causes::UNCATEGORISED.into())
                })
            };
            let cases = |from, to| crate::cases::ledger::days(&wide_cases, from, to, branch.utc_offset, now);
            cut.iter().map(|q| by_period::quarter_table(*q, &wide_visits, &cases, &category_of)).collect()
        }
        _ => Vec::new(),
    };
    let mut figures = by_period::with_changes(rows).into_iter();
    Ok(PeriodsReport {
        branch: branch.id.clone(),
        period: period.code().into(),
        from: filter.from,
        to: filter.to,
        previous: figures.next().expect("the period before the first leads"),
        periods: figures.collect(),
        quarters,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

    use super::*;
    use crate::reports::synthetic::{self, Truth};

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    /// The test branch with the six services of the made-up history (A 10 min, the rest 15).
    fn branch() -> Branch {
        let mut branch = crate::domain::branch::tests::small_branch();
        let model = branch.services[0].clone();
        branch.services = synthetic::SERVICES
            .iter()
            .map(|code| crate::domain::Service {
                code: code.to_string(),
                target_wait_s: if *code == "A" { 600 } else { 900 },
                ..model.clone()
            })
            .collect();
        branch
    }

    /// A real case worked out from what happened: (opened, closed).
    fn real_cases(truth: &[Truth]) -> Vec<(DateTime<Utc>, Option<DateTime<Utc>>)> {
        let mut cases = Vec::new();
        for v in truth {
            let Some((_, end)) = v.served else { continue };
            if matches!(v.outcome, Some("follow_up" | "referred")) {
                cases.push((end, v.closed_at));
            }
            if v.rating.is_some_and(|(score, _)| score <= 2) {
                cases.push((end + chrono::Duration::minutes(1), v.closed_at));
            }
        }
        cases
    }

    /// Four months of made-up history by quarter and by week: every period's figures, its change
    /// and the quarter's month-by-month table equal what the test works out from what happened.
    #[test]
    fn periods_and_the_quarter_table_are_the_figures_worked_out_independently() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let truth = synthetic::write(&mut conn, 3, day("2026-06-01"), day("2026-11-30"), 30).unwrap();
        let branch = branch();
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let now: DateTime<Utc> = "2027-01-10T00:00:00Z".parse().unwrap();
        let start = |d: NaiveDate| offset.from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap()).unwrap().to_utc();
        let cases = real_cases(&truth);

        // Worked out here, from the truth, without the report's code.
        let visits_in = |from: NaiveDate, to: NaiveDate| -> Vec<&Truth> {
            truth.iter().filter(|v| from <= v.local_day && v.local_day <= to).collect()
        };
        let within = |v: &Truth| {
            let target = if v.service == "A" { 600 } else { 900 };
            v.called_at.is_some_and(|c| (c - v.issued_at).num_seconds() <= target)
        };
        let mean = |xs: &[f64]| (!xs.is_empty()).then(|| xs.iter().sum::<f64>() / xs.len() as f64);
        let opened = |from: NaiveDate, to: NaiveDate| {
            let (s, e) = (start(from), start(to.succ_opt().unwrap()));
            cases.iter().filter(|(o, _)| s <= *o && *o < e).count()
        };
        let closed = |from: NaiveDate, to: NaiveDate| {
            let (s, e) = (start(from), start(to.succ_opt().unwrap()));
            cases.iter().filter(|(_, c)| c.is_some_and(|c| s <= c && c < e)).count()
        };
        let open_at = |to: NaiveDate| {
            let e = start(to.succ_opt().unwrap());
            cases.iter().filter(|(o, c)| *o < e && c.is_none_or(|c| c >= e)).count()
        };
        let close = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) => (a - b).abs() < 1e-9,
            (a, b) => a == b,
        };
        let check = |p: &by_period::PeriodFigures| {
            let mine = visits_in(p.from, p.to);
            assert_eq!(p.visits, mine.len(), "{} visits", p.from);
            let called: Vec<&&Truth> = mine.iter().filter(|v| v.called_at.is_some()).collect();
            let within_pct = (!called.is_empty())
                .then(|| called.iter().filter(|v| within(v)).count() as f64 * 100.0 / called.len() as f64);
            assert!(
                close(p.within_target_pct, within_pct),
                "{} within {:?} {within_pct:?}",
                p.from,
                p.within_target_pct
            );
            let waits: Vec<f64> =
                called.iter().map(|v| (v.called_at.unwrap() - v.issued_at).num_milliseconds() as f64 / 1e3).collect();
            assert!(close(p.wait_mean_s, mean(&waits)), "{} wait", p.from);
            let scores: Vec<f64> = mine.iter().filter_map(|v| v.rating.map(|(s, _)| f64::from(s))).collect();
            assert!(close(p.csat_mean, mean(&scores)), "{} satisfaction", p.from);
            assert_eq!(
                (p.cases_opened, p.cases_closed, p.cases_open_at_end),
                (opened(p.from, p.to), closed(p.from, p.to), open_at(p.to)),
                "{} cases",
                p.from
            );
        };
        let pct = |now: usize, before: usize| (now as f64 - before as f64) * 100.0 / before as f64;

        let filter = ReportFilter { from: day("2026-10-01"), to: day("2026-11-30"), service: None, counter: None };
        let report = periods_of(&conn, &branch, &filter, Period::Quarter, now).unwrap();
        assert_eq!((report.branch.as_str(), report.period.as_str()), ("test", "quarter"));
        assert_eq!((report.previous.from, report.previous.to), (day("2026-07-01"), day("2026-09-30")));
        assert_eq!(report.periods.len(), 1);
        let (q3, q4) = (&report.previous, &report.periods[0]);
        assert_eq!((q4.from, q4.to), (day("2026-10-01"), day("2026-12-31")), "the whole quarter");
        check(q3);
        check(q4);
        let c = q4.change;
        assert!(close(c.visits_pct, Some(pct(q4.visits, q3.visits))));
        assert!(close(c.cases_opened_pct, Some(pct(opened(q4.from, q4.to), opened(q3.from, q3.to)))));
        assert!(close(c.cases_closed_pct, Some(pct(closed(q4.from, q4.to), closed(q3.from, q3.to)))));
        assert!(close(c.within_target_points, Some(q4.within_target_pct.unwrap() - q3.within_target_pct.unwrap())));
        assert!(close(c.csat_mean_points, Some(q4.csat_mean.unwrap() - q3.csat_mean.unwrap())));
        assert!(
            cases
                .iter()
                .any(|(o, c)| *o < start(day("2026-10-01")) && c.is_some_and(|c| c >= start(day("2026-10-01")))),
            "some cases opened in Q3 close in Q4, and count there"
        );

        // The quarter, month by month: October, November, December (no visits yet) and the total.
        let table = &report.quarters[0];
        let months: Vec<NaiveDate> = table.months.iter().map(|m| m.from).collect();
        assert_eq!(months, [day("2026-10-01"), day("2026-11-01"), day("2026-12-01")]);
        for column in table.months.iter().chain([&table.total]) {
            let mine = visits_in(column.from, column.to);
            assert_eq!(column.visits, mine.len(), "{}", column.from);
            assert_eq!(column.per_service.len(), 6, "every service of the quarter, every month");
            for s in &column.per_service {
                assert_eq!(
                    s.visits,
                    mine.iter().filter(|v| v.service == s.service).count(),
                    "{} {}",
                    column.from,
                    s.service
                );
            }
            assert_eq!(
                (column.cases_opened, column.cases_closed, column.cases_open_at_end),
                (opened(column.from, column.to), closed(column.from, column.to), open_at(column.to)),
                "{} cases",
                column.from
            );
            let scores: Vec<f64> = mine.iter().filter_map(|v| v.rating.map(|(s, _)| f64::from(s))).collect();
            assert!(close(column.csat_mean, mean(&scores)));
            let mut reasons: BTreeMap<&str, usize> = BTreeMap::new();
            let mut categories: BTreeMap<&str, usize> = BTreeMap::new();
            for v in &mine {
                let low = v.rating.is_some_and(|(s, _)| s <= 2);
                if low {
                    *reasons.entry(v.rating.unwrap().1.unwrap_or(crate::reports::NO_REASON_GIVEN)).or_default() += 1;
                }
                if low || matches!(v.outcome, Some("follow_up" | "referred")) {
                    *categories.entry(v.category.unwrap_or(crate::reports::causes::UNCATEGORISED)).or_default() += 1;
                }
            }
            for (top, tally) in [(&column.top_reasons, &reasons), (&column.top_categories, &categories)] {
                let mut counts: Vec<usize> = tally.values().copied().collect();
                counts.sort_unstable_by(|a, b| b.cmp(a));
                counts.truncate(3);
                assert_eq!(top.iter().map(|c| c.count).collect::<Vec<_>>(), counts, "{} top causes", column.from);
                for c in top.iter() {
                    assert_eq!(tally.get(c.cause.as_str()), Some(&c.count), "{} {}", column.from, c.cause);
                    let all: usize = tally.values().sum();
                    assert!((c.share_pct - c.count as f64 * 100.0 / all as f64).abs() < 1e-9);
                }
            }
        }
        assert_eq!(table.months[2].visits, 0, "December has not come");
        assert_eq!(table.total.cases_open_at_end, table.months[2].cases_open_at_end, "the quarter ends with December");
        assert!(!table.total.top_categories.is_empty() && !table.total.top_reasons.is_empty());

        // By week: every whole week the range touches, each against the week before.
        let filter = ReportFilter { from: day("2026-10-06"), to: day("2026-10-20"), service: None, counter: None };
        let weeks = periods_of(&conn, &branch, &filter, Period::Week, now).unwrap();
        assert!(weeks.quarters.is_empty());
        let firsts: Vec<NaiveDate> = weeks.periods.iter().map(|p| p.from).collect();
        assert_eq!(firsts, [day("2026-10-04"), day("2026-10-11"), day("2026-10-18")], "Sunday to Saturday");
        assert_eq!(weeks.previous.from, day("2026-09-27"));
        let mut before = &weeks.previous;
        check(before);
        for week in &weeks.periods {
            check(week);
            assert!(close(week.change.visits_pct, Some(pct(week.visits, before.visits))));
            assert!(close(
                week.change.cases_opened_pct,
                Some(pct(opened(week.from, week.to), opened(before.from, before.to)))
            ));
            before = week;
        }
    }
}
