//! The monthly report as a PDF: `GET /api/v1/reports/monthly.pdf?month=YYYY-MM&lang=ar|en`
//! (managers, bearer) and `/dashboard/monthly.pdf` (the dashboard's session).
//! [`crate::reports::read::monthly_pdf_of`] reads the month's figures the same way the JSON
//! reports do and hands them to the pure [`crate::reports::pdf`] layout; the monthly e-mail to
//! the managers uses it too.
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::NaiveDate;
use dawr_i18n::Lang;
use serde::Deserialize;

use dawr_web::{WebError, WebResult};

use super::{AppState, authorization};
use crate::reports::pdf::file_name;
use crate::reports::read::monthly_pdf_of;
use crate::reports::{month_end, parse_month};

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
