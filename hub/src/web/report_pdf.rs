//! The monthly report as a PDF: `GET /api/v1/reports/monthly.pdf?month=YYYY-MM&lang=ar|en`
//! (managers, bearer) and `/dashboard/monthly.pdf` (the dashboard's session). [`monthly_pdf_of`]
//! reads the month's figures the same way the JSON reports do (summary, service levels, cases,
//! causes, corrective actions) and hands them to the pure [`crate::reports::pdf`] layout; the
//! monthly e-mail to the managers uses it too.
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{Datelike, NaiveDate};
use dawr_i18n::{Lang, Texts};
use rusqlite::Connection;
use serde::Deserialize;

use dawr_web::{WebError, WebResult};

use super::{AppState, authorization};
use crate::domain::Branch;
use crate::reports::pdf::{MonthlyReport, monthly_pdf};
use crate::reports::{ReportFilter, summarise, visit_facts};

/// `?month=YYYY-MM&lang=ar|en` (the language defaults to Arabic).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MonthQuery {
    month: String,
    #[serde(default)]
    lang: Option<String>,
}

impl MonthQuery {
    /// The month's first and last day and the language, or why not.
    pub fn read(&self) -> WebResult<(NaiveDate, NaiveDate, Lang)> {
        let first = parse_month(&self.month)
            .ok_or_else(|| WebError::malformed(format!("month must be a month like 2026-11, not {:?}", self.month)))?;
        let lang = match self.lang.as_deref() {
            None => Lang::Ar,
            Some(code) => {
                code.parse::<Lang>().map_err(|_| WebError::malformed(format!("lang must be ar or en, not {code:?}")))?
            }
        };
        Ok((first, month_end(first), lang))
    }
}

/// `2026-11` → 1 November 2026.
pub fn parse_month(text: &str) -> Option<NaiveDate> {
    let (year, month) = text.split_once('-')?;
    if year.len() != 4 || month.len() != 2 {
        return None;
    }
    NaiveDate::from_ymd_opt(year.parse().ok()?, month.parse().ok()?, 1)
}

/// The last day of the month starting on `first`.
pub fn month_end(first: NaiveDate) -> NaiveDate {
    crate::reports::next_month(first).pred_opt().unwrap_or(first)
}

/// The file's name: `dawr-report-DMM-2026-11-ar.pdf`.
pub fn file_name(branch: &Branch, first: NaiveDate, lang: Lang) -> String {
    format!("dawr-report-{}-{:04}-{:02}-{}.pdf", branch.id, first.year(), first.month(), lang.code())
}

/// The monthly report of `from..=to` as PDF bytes (run on the database's blocking thread: a
/// month is tens of thousands of rows).
pub fn monthly_pdf_of(
    conn: &Connection,
    branch: &Branch,
    texts: &Texts,
    (from, to): (NaiveDate, NaiveDate),
    lang: Lang,
) -> rusqlite::Result<Vec<u8>> {
    let filter = ReportFilter { from, to, service: None, counter: None };
    let target = |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
    let visits = visit_facts(conn, &filter)?;
    let now = crate::clock::now();
    let summary = summarise(&filter, &visits, &target, branch.utc_offset);
    let sla = super::dashboard::sla_report_of(conn, branch, &filter, &visits)?;
    let cases = super::dashboard::case_report(conn, branch, &filter, now)?;
    let causes = super::dashboard::causes_report_of(conn, branch, &filter, &cases)?;
    let today = now.with_timezone(&branch.utc_offset).date_naive();
    let actions = crate::actions::report(conn, branch, today)?;
    let input = MonthlyReport {
        branch,
        from,
        to,
        summary: &summary,
        sla: &sla,
        cases: &cases,
        causes: &causes,
        actions: &actions,
    };
    Ok(monthly_pdf(&input, texts, lang))
}

fn pdf_download(name: &str, body: Vec<u8>) -> Response {
    let disposition = format!("attachment; filename=\"{name}\"");
    ([(header::CONTENT_TYPE, "application/pdf".to_string()), (header::CONTENT_DISPOSITION, disposition)], body)
        .into_response()
}

async fn render(state: &AppState, (from, to, lang): (NaiveDate, NaiveDate, Lang)) -> WebResult<Response> {
    let branch = state.branch().clone();
    let texts = state.texts.clone();
    let name = file_name(&branch, from, lang);
    let pdf = state.db.read(move |conn| monthly_pdf_of(conn, &branch, &texts, (from, to), lang)).await??;
    Ok(pdf_download(&name, pdf))
}

/// `GET /api/v1/reports/monthly.pdf?month=&lang=` (managers).
pub async fn api(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<MonthQuery>,
) -> WebResult<Response> {
    state.sessions.check_manager(authorization(&headers), chrono::Utc::now())?;
    let month = query.read()?;
    render(&state, month).await
}

/// `GET /dashboard/monthly.pdf?month=&lang=`: the same, for the dashboard's signed-in manager
/// (anyone else goes back to the sign-in).
pub async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<MonthQuery>,
) -> WebResult<Response> {
    if super::dashboard::manager(&state, &headers).is_err() {
        return Ok(Redirect::to("/dashboard").into_response());
    }
    let month = query.read()?;
    render(&state, month).await
}
