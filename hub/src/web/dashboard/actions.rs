//! The dashboard's corrective actions, `/dashboard/actions`: every action with its owner, due
//! date, status and effect (the cause's share and the service's satisfaction before and after
//! its start), a form to record one (`POST /dashboard/actions`) and a form per action to change
//! its status, owner or due date (`POST /dashboard/actions/{id}`). Server-rendered, Arabic and
//! English; the forms are the signed-in manager's (the session cookie, and the guard's
//! same-origin check every POST passes).
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::actions::{
    ActionStatus, ActionUpdate, CauseKind, CauseWindow, CorrectiveAction, CorrectiveActions, NewAction,
};
use dawr_web::html::{Head, name, page};
use dawr_web::{WebError, WebResult};
use maud::{Markup, html};
use serde::Deserialize;

use super::view::{STYLE, sign_in_page};
use super::{AppState, DashboardQuery, manager};
use crate::actions::rules::reason_codes;
use crate::auth::{AuthError, Session};
use crate::domain::Branch;

const STATUSES: [ActionStatus; 4] =
    [ActionStatus::Planned, ActionStatus::InProgress, ActionStatus::Done, ActionStatus::Dropped];

fn code<T: serde::Serialize>(value: T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default()
}

/// The signed-in manager, or the page to show instead.
fn signed_in(state: &AppState, headers: &HeaderMap, lang: Lang) -> Result<Session, Box<Response>> {
    manager(state, headers).map_err(|e| {
        Box::new(match e {
            AuthError::Forbidden => {
                (StatusCode::FORBIDDEN, Html(sign_in_page(&state.texts, lang, Some("dash-managers-only"))))
                    .into_response()
            }
            _ => Html(sign_in_page(&state.texts, lang, None)).into_response(),
        })
    })
}

/// `GET /dashboard/actions`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> WebResult<Response> {
    let lang = query.lang();
    if let Err(page) = signed_in(&state, &headers, lang) {
        return Ok(*page);
    }
    let actions = crate::web::actions::all(&state).await?;
    let view = ActionsPage { texts: &state.texts, lang, branch: &state.branch(), actions: &actions };
    let mut response = Html(view.page()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// The new action form's fields.
#[derive(Debug, Deserialize)]
pub struct NewActionForm {
    cause_kind: String,
    cause: String,
    #[serde(default)]
    service: String,
    action: String,
    owner: String,
    due: String,
    starts: String,
}

/// One action's change form's fields (blank: unchanged).
#[derive(Debug, Deserialize)]
pub struct ChangeForm {
    #[serde(default)]
    status: String,
    #[serde(default)]
    owner: String,
    #[serde(default)]
    due: String,
}

fn parsed<T: serde::de::DeserializeOwned>(text: &str) -> Option<T> {
    serde_json::from_value(serde_json::Value::String(text.trim().to_string())).ok()
}

/// Back to the list, or a page saying why the form was refused.
fn after_post(state: &AppState, lang: Lang, result: WebResult<CorrectiveAction>) -> WebResult<Response> {
    match result {
        Ok(action) => {
            Ok(Redirect::to(&format!("/dashboard/actions?lang={}#action-{}", lang.code(), action.id)).into_response())
        }
        Err(e) if e.status().is_client_error() => {
            let text = state.texts.get(lang, "actions-refused", &[("rule", Arg::Text(&e.to_string()))]);
            let body = html! { main { p class="error" { (text) } p { a href={ "/dashboard/actions?lang=" (lang.code()) } { (state.texts.get(lang, "actions-title", &[])) } } } };
            Ok((e.status(), Html(page(Head::new(lang, "Dawr", STYLE).noindex(), body).into_string())).into_response())
        }
        Err(e) => Err(e),
    }
}

/// `POST /dashboard/actions`: records an action.
pub async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
    Form(form): Form<NewActionForm>,
) -> WebResult<Response> {
    let lang = query.lang();
    let session = match signed_in(&state, &headers, lang) {
        Ok(session) => session,
        Err(page) => return Ok(*page),
    };
    let Some(cause_kind) = parsed::<CauseKind>(&form.cause_kind) else {
        return after_post(&state, lang, Err(WebError::malformed("cause_kind: must be reason or category")));
    };
    let day = |field: &'static str, text: &str| {
        text.trim().parse().map_err(|_| WebError::malformed(format!("{field}: must be a date")).with_field(field))
    };
    let new = match (day("due", &form.due), day("starts", &form.starts)) {
        (Ok(due), Ok(starts)) => NewAction {
            cause_kind,
            cause: form.cause,
            service: Some(form.service),
            action: form.action,
            owner: form.owner,
            due,
            starts,
            status: ActionStatus::Planned,
        },
        (Err(e), _) | (_, Err(e)) => return after_post(&state, lang, Err(e)),
    };
    let created = crate::web::actions::create(&state, new, &session.staff).await;
    after_post(&state, lang, created)
}

/// `POST /dashboard/actions/{id}`: changes an action's status, owner or due date.
pub async fn change(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(query): Query<DashboardQuery>,
    Form(form): Form<ChangeForm>,
) -> WebResult<Response> {
    let lang = query.lang();
    let session = match signed_in(&state, &headers, lang) {
        Ok(session) => session,
        Err(page) => return Ok(*page),
    };
    let Ok(id) = id.parse::<i64>() else {
        return after_post(&state, lang, Err(WebError::not_found("not_found", format!("there is no action {id:?}"))));
    };
    let blank = |t: &str| t.trim().is_empty();
    let update = ActionUpdate {
        status: (!blank(&form.status)).then(|| parsed::<ActionStatus>(&form.status)).flatten(),
        owner: (!blank(&form.owner)).then(|| form.owner.clone()),
        due: (!blank(&form.due)).then(|| form.due.trim().parse().ok()).flatten(),
        ..ActionUpdate::default()
    };
    if (!blank(&form.status) && update.status.is_none()) || (!blank(&form.due) && update.due.is_none()) {
        return after_post(&state, lang, Err(WebError::malformed("status or due is not one the form offers")));
    }
    let changed = crate::web::actions::change(&state, id, update, &session.staff).await;
    after_post(&state, lang, changed)
}

/// What the page is drawn from.
pub struct ActionsPage<'a> {
    pub texts: &'a Texts,
    pub lang: Lang,
    pub branch: &'a Branch,
    pub actions: &'a CorrectiveActions,
}

fn percent(p: Option<f64>) -> String {
    p.map_or_else(|| "—".to_string(), |p| format!("{p:.0}%"))
}

fn score(s: Option<f64>) -> String {
    s.map_or_else(|| "—".to_string(), |s| format!("{s:.2}"))
}

impl ActionsPage<'_> {
    fn t(&self, key: &str) -> String {
        self.texts.get(self.lang, key, &[])
    }

    fn service_name(&self, code: Option<&str>) -> String {
        let Some(code) = code else { return self.t("dash-all") };
        let service = self.branch.services.iter().find(|s| s.code == code);
        service.map_or(code.to_string(), |s| name(&s.name, self.lang).to_string())
    }

    fn cause_name(&self, action: &CorrectiveAction) -> String {
        match action.cause_kind {
            CauseKind::Reason => self.t(&format!("reason-{}", action.cause.replace('_', "-"))),
            CauseKind::Category => action.cause.clone(),
        }
    }

    /// The whole page.
    pub fn page(&self) -> String {
        let other = self.lang.other();
        let body = html! {
            header {
                h1 { (self.t("actions-title")) " · " (name(&self.branch.name, self.lang)) }
                a href={ "/dashboard?lang=" (self.lang.code()) } { (self.t("dash-title")) }
                a href={ "/dashboard/actions?lang=" (other.code()) } lang=(other.code()) { (self.t("switch-language")) }
            }
            main {
                section aria-labelledby="actions-list" {
                    h2 id="actions-list" { (self.t("actions-title")) }
                    p { (self.texts.get(self.lang, "actions-window", &[("days", Arg::Number(f64::from(self.actions.window_days)))])) }
                    @if self.actions.actions.is_empty() { p { (self.t("actions-none")) } }
                    @for action in &self.actions.actions { (self.action(action)) }
                }
                (self.new_form())
            }
        };
        page(Head::new(self.lang, &self.t("actions-title"), STYLE).noindex(), body).into_string()
    }

    fn action(&self, a: &CorrectiveAction) -> Markup {
        let status = |s: ActionStatus| self.t(&format!("actions-status-{}", code(s).replace('_', "-")));
        html! {
            article id={ "action-" (a.id) } {
                h3 { (self.cause_name(a)) " · " (self.service_name(a.service.as_deref())) }
                p { (a.action) }
                p {
                    (self.t("actions-owner")) ": " (a.owner) " · "
                    (self.t("actions-due")) ": " (a.due) " · "
                    (self.t("actions-status")) ": " strong { (status(a.status)) }
                    @if a.overdue { " · " span class="error" { (self.t("actions-overdue")) } }
                    " · " (self.t("actions-by")) ": " (a.created_by)
                }
                div class="wide" { table {
                    thead { tr {
                        th {}
                        th { (self.t("dash-from")) } th { (self.t("dash-to")) }
                        th class="n" { (self.t("actions-share")) }
                        th class="n" { (self.t("actions-counted")) }
                        th class="n" { (self.t("dash-csat")) }
                        th class="n" { (self.t("actions-ratings")) }
                    } }
                    tbody {
                        (self.window_row("actions-before", &a.before))
                        @if let Some(after) = &a.after { (self.window_row("actions-after", after)) }
                    }
                } }
                form method="post" action={ "/dashboard/actions/" (a.id) "?lang=" (self.lang.code()) } class="filters noprint" {
                    label { (self.t("actions-status"))
                        select name="status" { @for s in STATUSES {
                            option value=(code(s)) selected[s == a.status] { (status(s)) }
                        } }
                    }
                    label { (self.t("actions-owner")) input name="owner" value=(a.owner) maxlength="80"; }
                    label { (self.t("actions-due")) input type="date" name="due" value=(a.due); }
                    button type="submit" { (self.t("actions-save")) }
                }
            }
        }
    }

    fn window_row(&self, key: &str, w: &CauseWindow) -> Markup {
        html! {
            tr {
                th { (self.t(key)) }
                td { (w.from) } td { (w.to) }
                td class="n" { (percent(w.share_pct)) }
                td class="n" { (w.with_cause) " / " (w.counted) }
                td class="n" { (score(w.satisfaction)) }
                td class="n" { (w.ratings) }
            }
        }
    }

    fn new_form(&self) -> Markup {
        html! {
            section aria-labelledby="actions-new" class="noprint" {
                h2 id="actions-new" { (self.t("actions-new")) }
                form method="post" action={ "/dashboard/actions?lang=" (self.lang.code()) } class="filters" {
                    label { (self.t("actions-cause-kind"))
                        select name="cause_kind" {
                            option value="reason" { (self.t("actions-kind-reason")) }
                            option value="category" { (self.t("actions-kind-category")) }
                        }
                    }
                    label { (self.t("actions-cause"))
                        input name="cause" list="causes" required maxlength="80";
                    }
                    datalist id="causes" { @for r in reason_codes() {
                        option value=(r) { (self.t(&format!("reason-{}", r.replace('_', "-")))) }
                    } }
                    label { (self.t("dash-service"))
                        select name="service" {
                            option value="" { (self.t("dash-all")) }
                            @for s in &self.branch.services { option value=(s.code) { (name(&s.name, self.lang)) } }
                        }
                    }
                    label { (self.t("actions-action")) input name="action" required maxlength="300"; }
                    label { (self.t("actions-owner")) input name="owner" required maxlength="80"; }
                    label { (self.t("actions-starts")) input type="date" name="starts" required; }
                    label { (self.t("actions-due")) input type="date" name="due" required; }
                    button type="submit" { (self.t("actions-save")) }
                }
            }
        }
    }
}
