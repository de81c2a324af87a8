//! The managers' dashboard, `/dashboard`: server-rendered HTML in Arabic (default, right to left)
//! or English (`?lang=en`), no JavaScript needed, printable.
//!
//! Managers sign in with their id and PIN (a form; the session token is kept in an `HttpOnly`,
//! `SameSite=Strict` cookie); staff and visitors get no figures. The page shows the branch now
//! (visitors waiting, the longest current wait, counters open, services over their target), the
//! figures of a date range from [`crate::reports`] (filterable by service and counter) as cards,
//! bar charts (inline SVG) and tables, one row per month for the monthly report, and a CSV link.
use std::fmt::Write as _;

use axum::Form;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::{Names, ServiceSummary, Ticket};
use serde::Deserialize;

use crate::auth::{AuthError, Session};
use crate::cases::Case;
use crate::domain::Role;
use crate::engine::Request;
use crate::http::AppState;
use crate::reports::{Figures, ReportFilter, Summary, monthly, next_month, summarise, visit_facts, visits_csv};
use crate::ticket_page::esc;

const COOKIE: &str = "dawr_session";

#[derive(Debug, Default, Deserialize)]
pub struct DashboardQuery {
    lang: Option<String>,
    from: Option<String>,
    to: Option<String>,
    service: Option<String>,
    counter: Option<String>,
}

impl DashboardQuery {
    fn lang(&self) -> Lang {
        self.lang.as_deref().and_then(|l| l.parse().ok()).unwrap_or_default()
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
}

fn session_cookie(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| c.trim().strip_prefix(&format!("{COOKIE}="))).map(str::to_string)
}

fn manager(state: &AppState, headers: &HeaderMap) -> Result<Session, AuthError> {
    let token = session_cookie(headers).ok_or(AuthError::Unauthenticated)?;
    state.sessions.check_manager(Some(&format!("Bearer {token}")), Utc::now())
}

fn name(names: &Names, lang: Lang) -> &str {
    match lang {
        Lang::Ar => &names.ar,
        Lang::En => &names.en,
    }
}

fn page(lang: Lang, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html>\n<html lang=\"{code}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<meta name=\"robots\" content=\"noindex\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}</body>\n</html>\n",
        code = lang.code(),
        dir = lang.dir(),
    ))
}

const STYLE: &str = "\
:root{--ink:#0b2545;--brand:#0b6e4f;--muted:#4a5b73;--bad:#b3261e;--warn:#b7791f;--line:#d5dce6}\
*{box-sizing:border-box}\
body{margin:0;font-family:'Noto Sans Arabic','Noto Sans','Segoe UI',Tahoma,sans-serif;color:var(--ink);background:#eef2f7;line-height:1.45}\
header{background:var(--brand);color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}\
header h1{font-size:1.2rem;margin:0;flex:1}\
header a{color:#fff}\
main{max-width:72rem;margin:0 auto;padding:16px}\
section{background:#fff;border-radius:12px;padding:16px 20px;margin:0 0 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}\
h2{font-size:1.1rem;margin:0 0 12px}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(10rem,1fr));gap:12px}\
.card{border:1px solid var(--line);border-radius:10px;padding:10px 12px}\
.card .v{font-size:1.6rem;font-weight:700;display:block;direction:ltr;unicode-bidi:isolate}\
.card .k{color:var(--muted);font-size:.9rem}\
.alert{background:#fdecea;color:var(--bad);border-radius:8px;padding:8px 12px;margin:6px 0;font-weight:600}\
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end}\
form.filters label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}\
input,select,button{font:inherit;padding:6px 8px;border:1px solid var(--line);border-radius:6px}\
button{background:var(--brand);color:#fff;border:0;padding:8px 16px;cursor:pointer}\
table{border-collapse:collapse;width:100%;font-size:.95rem}\
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:start}\
td.n,th.n{text-align:end;font-variant-numeric:tabular-nums;direction:ltr;unicode-bidi:isolate}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:16px}\
svg text{font-size:14px;fill:var(--ink)}\
.signin{max-width:24rem;margin:10vh auto}\
.signin label{display:block;margin:10px 0 4px}\
.signin input{width:100%}\
.error{color:var(--bad);font-weight:600}\
@media print{header a,form.filters,.noprint{display:none}body{background:#fff}section{box-shadow:none;border:1px solid var(--line)}}\
";

fn sign_in_page(texts: &Texts, lang: Lang, error: Option<&str>) -> Html<String> {
    let t = |key: &str| esc(&texts.get(lang, key, &[]));
    let error = error.map(|key| format!("<p class=\"error\" role=\"alert\">{}</p>", t(key))).unwrap_or_default();
    let other = lang.other();
    let body = format!(
        "<main class=\"signin\"><section><h1>{title}</h1>{error}\
         <form method=\"post\" action=\"/dashboard/sign-in?lang={code}\">\
         <label for=\"staff\">{staff}</label><input id=\"staff\" name=\"staff\" autocomplete=\"username\" required>\
         <label for=\"pin\">{pin}</label><input id=\"pin\" name=\"pin\" type=\"password\" inputmode=\"numeric\" autocomplete=\"current-password\" required>\
         <p><button type=\"submit\">{submit}</button></p></form>\
         <p><a href=\"/dashboard?lang={other_code}\" lang=\"{other_code}\">{switch}</a></p></section></main>\n",
        title = t("dash-sign-in-title"),
        staff = t("counter-staff-id"),
        pin = t("counter-pin"),
        submit = t("counter-sign-in"),
        code = lang.code(),
        other_code = other.code(),
        switch = t("switch-language"),
    );
    page(lang, &t("dash-sign-in-title"), &body)
}

#[derive(Debug, Deserialize)]
pub struct SignInForm {
    staff: String,
    pin: String,
}

/// `POST /dashboard/sign-in`: the form's id and PIN; a manager gets the session cookie.
pub async fn sign_in(
    State(state): State<AppState>,
    Query(query): Query<DashboardQuery>,
    Form(form): Form<SignInForm>,
) -> Response {
    let lang = query.lang();
    let (sessions, branch) = (state.sessions.clone(), state.branch.clone());
    let result =
        tokio::task::spawn_blocking(move || sessions.sign_in(&branch.staff, &form.staff, &form.pin, None, Utc::now()))
            .await
            .unwrap_or(Err(AuthError::Unauthenticated));
    match result {
        Ok(session) if session.role == Role::Manager => {
            let cookie =
                format!("{COOKIE}={}; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=43200", session.token);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/dashboard?lang={}", lang.code()))).into_response()
        }
        Ok(session) => {
            state.sessions.sign_out(&session.token);
            (StatusCode::FORBIDDEN, sign_in_page(&state.texts, lang, Some("dash-managers-only"))).into_response()
        }
        Err(_) => {
            (StatusCode::UNAUTHORIZED, sign_in_page(&state.texts, lang, Some("counter-wrong-pin"))).into_response()
        }
    }
}

/// `POST /dashboard/sign-out`.
pub async fn sign_out(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> Response {
    if let Some(token) = session_cookie(&headers) {
        state.sessions.sign_out(&token);
    }
    let cookie = format!("{COOKIE}=; Path=/dashboard; HttpOnly; SameSite=Strict; Max-Age=0");
    ([(header::SET_COOKIE, cookie)], Redirect::to(&format!("/dashboard?lang={}", query.lang().code()))).into_response()
}

/// `GET /dashboard/visits.csv?from=&to=`: the report's visits as CSV, for a signed-in manager.
pub async fn csv(State(state): State<AppState>, headers: HeaderMap, Query(query): Query<DashboardQuery>) -> Response {
    if manager(&state, &headers).is_err() {
        return Redirect::to("/dashboard").into_response();
    }
    let today = crate::clock::now().with_timezone(&state.branch.utc_offset).date_naive();
    let Ok(filter) = query.filter(today) else { return (StatusCode::BAD_REQUEST, "bad dates").into_response() };
    let read = state.read.clone();
    let name = format!("attachment; filename=\"dawr-visits-{}-{}.csv\"", filter.from, filter.to);
    let rows = tokio::task::spawn_blocking(move || {
        let conn = read.lock().unwrap_or_else(|e| e.into_inner());
        visit_facts(&conn, &filter).map(|v| visits_csv(&v))
    })
    .await;
    match rows {
        Ok(Ok(csv)) => {
            ([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, name)], csv)
                .into_response()
        }
        _ => (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable").into_response(),
    }
}

/// `GET /dashboard`.
pub async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<DashboardQuery>,
) -> Response {
    let lang = query.lang();
    let session = match manager(&state, &headers) {
        Ok(session) => session,
        Err(AuthError::Forbidden) => {
            return (StatusCode::FORBIDDEN, sign_in_page(&state.texts, lang, Some("dash-managers-only")))
                .into_response();
        }
        Err(_) => return sign_in_page(&state.texts, lang, None).into_response(),
    };
    let now = crate::clock::now();
    let today = now.with_timezone(&state.branch.utc_offset).date_naive();
    let filter = match query.filter(today) {
        Ok(filter) => filter,
        Err(key) => {
            return (
                StatusCode::BAD_REQUEST,
                page(
                    lang,
                    "Dawr",
                    &format!("<main><p class=\"error\">{}</p></main>", esc(&state.texts.get(lang, key, &[]))),
                ),
            )
                .into_response();
        }
    };
    let live = state.engine.ask(|reply| Request::Services { reply }).await;
    let queue = state.engine.ask(|reply| Request::Waiting { counter: None, reply }).await;
    let counters = state.engine.ask(|reply| Request::Counters { reply }).await;
    let (Ok(services), Ok(Ok(queue)), Ok(counters)) = (live, queue, counters) else {
        return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
    };
    let open = counters.iter().filter(|c| c.state.status == dawr_protocol::device::CounterStatus::Open).count();

    // The range, and each month in it for the monthly report.
    let read = state.read.clone();
    let branch = state.branch.clone();
    let filter_for_task = filter.clone();
    let computed = tokio::task::spawn_blocking(move || -> rusqlite::Result<Computed> {
        let conn = read.lock().unwrap_or_else(|e| e.into_inner());
        let target = |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
        let visits = visit_facts(&conn, &filter_for_task)?;
        let notes = crate::cases::notes_for_days(&conn, filter_for_task.from, filter_for_task.to)?;
        let cases = crate::cases::cases_of(&visits, &notes, branch.cases, Utc::now());
        let summary = summarise(&filter_for_task, &visits, &target, branch.utc_offset);
        let monthly = monthly(&filter_for_task, &visits, &target, branch.utc_offset);
        Ok((summary, monthly, cases))
    })
    .await;
    let Ok(Ok((summary, monthly, cases))) = computed else {
        return (StatusCode::SERVICE_UNAVAILABLE, "storage unavailable").into_response();
    };
    let crm = if state.crm_enabled {
        let conn = state.cases.clone();
        tokio::task::spawn_blocking(move || crate::crm::status(&conn.lock().unwrap_or_else(|e| e.into_inner())).ok())
            .await
            .ok()
            .flatten()
    } else {
        None
    };
    let manager_name =
        state.branch.staff.iter().find(|s| s.id == session.staff).map(|s| name(&s.name, lang).to_string());
    let view = View { texts: &state.texts, lang, branch: &state.branch, now };
    let body = view.render(
        &filter,
        &summary,
        &monthly,
        &cases,
        &services,
        &queue,
        open,
        manager_name.as_deref().unwrap_or(&session.staff),
    );
    let body = match crm {
        Some(crm) => body.replace("</main>\n", &format!("{}</main>\n", view.crm(&crm))),
        None => body,
    };
    let mut response = page(lang, &esc(&state.texts.get(lang, "dash-title", &[])), &body).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, "no-store".parse().expect("valid"));
    response
}

/// A range's figures, each month's, and its cases.
type Computed = (Summary, Vec<(NaiveDate, Figures)>, Vec<Case>);

struct View<'a> {
    texts: &'a Texts,
    lang: Lang,
    branch: &'a crate::domain::Branch,
    now: DateTime<Utc>,
}

fn minutes(seconds: Option<f64>) -> String {
    seconds.map_or("–".into(), |s| format!("{:.1}", s / 60.0))
}

fn percent(p: Option<f64>) -> String {
    p.map_or("–".into(), |p| format!("{p:.0}%"))
}

/// A horizontal bar chart: one labelled bar per `(label, value)`.
fn bars(rows: &[(String, f64)], unit: &str, rtl: bool) -> String {
    let max = rows.iter().map(|(_, v)| *v).fold(0.0_f64, f64::max).max(1.0);
    let (width, bar_h, label_w) = (420.0, 22.0, 150.0);
    let mut svg = format!(
        "<svg role=\"img\" viewBox=\"0 0 {width} {h}\" width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" style=\"direction:ltr\">",
        h = rows.len() as f64 * (bar_h + 6.0) + 4.0
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = i as f64 * (bar_h + 6.0);
        let w = (width - label_w - 60.0) * value / max;
        let (label_x, anchor, bar_x, value_x) = if rtl {
            (width, "end", width - label_w - w, width - label_w - w - 4.0)
        } else {
            (0.0, "start", label_w, label_w + w + 4.0)
        };
        let value_anchor = if rtl { "end" } else { "start" };
        let _ = write!(
            svg,
            "<text x=\"{label_x}\" y=\"{ty}\" text-anchor=\"{anchor}\">{label}</text>\
             <rect x=\"{bar_x}\" y=\"{y}\" width=\"{w:.1}\" height=\"{bar_h}\" rx=\"3\" fill=\"#0b6e4f\"><title>{label}: {value}{unit}</title></rect>\
             <text x=\"{value_x}\" y=\"{ty}\" text-anchor=\"{value_anchor}\">{value}{unit}</text>",
            ty = y + 15.0,
            label = esc(label),
            value = if value.fract() == 0.0 { format!("{value}") } else { format!("{value:.1}") },
        );
    }
    svg.push_str("</svg>");
    svg
}

impl View<'_> {
    fn t(&self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        esc(&self.texts.get(self.lang, key, args))
    }

    fn service_name(&self, code: &str) -> String {
        self.branch
            .services
            .iter()
            .find(|s| s.code == code)
            .map_or(code.to_string(), |s| name(&s.name, self.lang).to_string())
    }

    /// The CRM connector's outbox: what is delivered, what waits, why.
    fn crm(&self, status: &crate::crm::CrmStatus) -> String {
        let error = match (&status.last_error, status.pending) {
            (Some(error), pending) if pending > 0 => format!(
                "<p class=\"alert\" role=\"alert\">{} {}</p>",
                self.t("dash-crm-failing", &[("attempts", Arg::Number(status.attempts as f64))]),
                esc(error)
            ),
            _ => String::new(),
        };
        format!(
            "<section aria-labelledby=\"crm\"><h2 id=\"crm\">{}</h2><div class=\"cards\">{}{}{}</div>{error}</section>\n",
            self.t("dash-crm", &[]),
            self.card("dash-crm-delivered", status.delivered.to_string()),
            self.card("dash-crm-pending", status.pending.to_string()),
            self.card("dash-crm-oldest", status.oldest_pending_at.clone().unwrap_or_else(|| "–".into())),
        )
    }

    fn card(&self, key: &str, value: String) -> String {
        format!(
            "<div class=\"card\"><span class=\"v\">{}</span><span class=\"k\">{}</span></div>",
            esc(&value),
            self.t(key, &[])
        )
    }

    fn cards(&self, f: &Figures) -> String {
        [
            self.card("dash-visits", f.visits.to_string()),
            self.card("dash-served", f.served.to_string()),
            self.card("dash-no-shows", f.no_shows.to_string()),
            self.card("dash-wait-mean", minutes(f.wait_s.mean)),
            self.card("dash-wait-median", minutes(f.wait_s.median)),
            self.card("dash-wait-p90", minutes(f.wait_s.p90)),
            self.card("dash-service-mean", minutes(f.service_time_s.mean)),
            self.card("dash-within-target", percent(f.within_target_pct)),
            self.card("dash-csat", f.csat.mean.map_or("–".into(), |m| format!("{m:.2} / 5"))),
            self.card("dash-satisfied", percent(f.csat.satisfied_pct)),
        ]
        .concat()
    }

    fn figure_row(&self, label: &str, f: &Figures) -> String {
        format!(
            "<tr><th scope=\"row\">{}</th><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(label),
            f.visits,
            f.served,
            f.no_shows,
            minutes(f.wait_s.mean),
            minutes(f.wait_s.p90),
            minutes(f.service_time_s.mean),
            percent(f.within_target_pct),
            f.csat.mean.map_or("–".into(), |m| format!("{m:.2}")),
        )
    }

    fn table_head(&self, first: &str) -> String {
        let cols = [
            "dash-visits",
            "dash-served",
            "dash-no-shows",
            "dash-wait-mean",
            "dash-wait-p90",
            "dash-service-mean",
            "dash-within-target",
            "dash-csat",
        ];
        let heads: String =
            cols.iter().map(|k| format!("<th scope=\"col\" class=\"n\">{}</th>", self.t(k, &[]))).collect();
        format!("<thead><tr><th scope=\"col\">{}</th>{heads}</tr></thead>", self.t(first, &[]))
    }

    #[allow(clippy::too_many_arguments)]
    fn render(
        &self,
        filter: &ReportFilter,
        summary: &Summary,
        monthly: &[(NaiveDate, Figures)],
        cases: &[Case],
        services: &[ServiceSummary],
        queue: &[Ticket],
        counters_open: usize,
        manager: &str,
    ) -> String {
        let lang = self.lang;
        let other = lang.other();
        let rtl = lang == Lang::Ar;
        let query = |lang: Lang| {
            format!(
                "lang={}&amp;from={}&amp;to={}&amp;service={}&amp;counter={}",
                lang.code(),
                filter.from,
                filter.to,
                esc(filter.service.as_deref().unwrap_or_default()),
                esc(filter.counter.as_deref().unwrap_or_default())
            )
        };
        let mut out = format!(
            "<header><h1>{title} · {branch}</h1><span>{manager}</span>\
             <a href=\"/dashboard?{other_query}\" lang=\"{other_code}\">{switch}</a>\
             <form method=\"post\" action=\"/dashboard/sign-out?lang={code}\" class=\"noprint\"><button type=\"submit\">{sign_out}</button></form></header>\n<main>\n",
            title = self.t("dash-title", &[]),
            branch = esc(name(&self.branch.name, lang)),
            manager = esc(manager),
            other_query = query(other),
            other_code = other.code(),
            switch = self.t("switch-language", &[]),
            code = lang.code(),
            sign_out = self.t("counter-sign-out", &[]),
        );

        // Now: who waits, for how long, where it is slipping.
        let longest = queue.iter().map(|t| (self.now - t.issued_at).num_seconds()).max().unwrap_or(0);
        let _ = write!(
            out,
            "<section aria-labelledby=\"now\"><h2 id=\"now\">{}</h2><div class=\"cards\">{}{}{}</div>",
            self.t("dash-now", &[]),
            self.card("dash-waiting-now", queue.len().to_string()),
            self.card("dash-longest-wait", minutes(Some(longest as f64))),
            self.card("dash-counters-open", format!("{counters_open} / {}", self.branch.counters.len())),
        );
        for s in services.iter().filter(|s| s.open && s.estimated_wait_s > s.target_wait_s && s.waiting > 0) {
            let _ = write!(
                out,
                "<p class=\"alert\" role=\"alert\">{}</p>",
                self.t(
                    "dash-alert-over-target",
                    &[
                        ("service", Arg::Text(name(&s.name, lang))),
                        ("minutes", Arg::Number(f64::from(s.estimated_wait_s.div_ceil(60)))),
                        ("target", Arg::Number(f64::from(s.target_wait_s / 60))),
                    ]
                )
            );
        }
        out.push_str("</section>\n");

        // The filter form.
        let service_options: String = self
            .branch
            .services
            .iter()
            .map(|s| {
                let selected = if filter.service.as_deref() == Some(s.code.as_str()) { " selected" } else { "" };
                format!(
                    "<option value=\"{}\"{selected}>{} · {}</option>",
                    esc(&s.code),
                    esc(&s.code),
                    esc(name(&s.name, lang))
                )
            })
            .collect();
        let counter_options: String = self
            .branch
            .counters
            .iter()
            .map(|c| {
                let selected = if filter.counter.as_deref() == Some(c.id.as_str()) { " selected" } else { "" };
                format!("<option value=\"{}\"{selected}>{}</option>", esc(&c.id), esc(name(&c.name, lang)))
            })
            .collect();
        let _ = writeln!(
            out,
            "<section><form class=\"filters\" method=\"get\" action=\"/dashboard\"><input type=\"hidden\" name=\"lang\" value=\"{code}\">\
             <label>{from_l}<input type=\"date\" name=\"from\" value=\"{from}\"></label>\
             <label>{to_l}<input type=\"date\" name=\"to\" value=\"{to}\"></label>\
             <label>{service_l}<select name=\"service\"><option value=\"\">{all}</option>{service_options}</select></label>\
             <label>{counter_l}<select name=\"counter\"><option value=\"\">{all}</option>{counter_options}</select></label>\
             <button type=\"submit\">{show}</button>\
             <a href=\"/dashboard/visits.csv?{q}\">{csv}</a></form></section>",
            code = lang.code(),
            from_l = self.t("dash-from", &[]),
            to_l = self.t("dash-to", &[]),
            from = filter.from,
            to = filter.to,
            service_l = self.t("dash-service", &[]),
            counter_l = self.t("dash-counter", &[]),
            all = self.t("dash-all", &[]),
            show = self.t("dash-show", &[]),
            q = query(lang),
            csv = self.t("dash-csv", &[]),
        );

        // The range's figures.
        let _ = writeln!(
            out,
            "<section aria-labelledby=\"range\"><h2 id=\"range\">{}</h2><div class=\"cards\">{}</div></section>",
            self.t(
                "dash-range",
                &[("from", Arg::Text(&filter.from.to_string())), ("to", Arg::Text(&filter.to.to_string()))]
            ),
            self.cards(&summary.total),
        );

        // CRM cases: counts, and the escalations still to answer.
        let counts = crate::cases::count(cases);
        let _ = write!(
            out,
            "<section aria-labelledby=\"cases\"><h2 id=\"cases\">{}</h2><div class=\"cards\">{}{}{}{}{}{}</div>",
            self.t("dash-cases", &[]),
            self.card("dash-cases-in-progress", counts.in_progress.to_string()),
            self.card("dash-cases-open", counts.open.to_string()),
            self.card("dash-cases-closed", counts.closed.to_string()),
            self.card("dash-cases-overdue", counts.overdue.to_string()),
            self.card("dash-escalations-open", counts.escalations_open.to_string()),
            self.card("dash-escalations-overdue", counts.escalations_overdue.to_string()),
        );
        let escalations: String = cases
            .iter()
            .filter_map(|c| c.escalation.as_ref().filter(|e| e.open).map(|e| (c, e)))
            .map(|(c, e)| {
                let reason = self.t(&format!("reason-{}", e.reason.replace('_', "-")), &[]);
                let due = e.due_at.with_timezone(&self.branch.utc_offset).format("%Y-%m-%d %H:%M").to_string();
                let flag = if e.overdue { format!(" <strong class=\"error\">{}</strong>", self.t("dash-overdue", &[])) } else { String::new() };
                format!(
                    "<tr><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td>{reason}</td><td class=\"n\">{due}</td><td>{flag}</td></tr>",
                    esc(&c.case_ref),
                    esc(&c.ticket),
                    esc(&self.service_name(&c.service)),
                    e.score,
                )
            })
            .collect();
        if !escalations.is_empty() {
            let heads: String =
                ["dash-case", "dash-ticket", "dash-service", "dash-score", "dash-reason", "dash-due", ""]
                    .iter()
                    .map(|k| {
                        format!("<th scope=\"col\">{}</th>", if k.is_empty() { String::new() } else { self.t(k, &[]) })
                    })
                    .collect();
            let _ = write!(
                out,
                "<h3>{}</h3><table><thead><tr>{heads}</tr></thead><tbody>{escalations}</tbody></table>",
                self.t("dash-escalations", &[])
            );
        }
        out.push_str("</section>\n");

        // Charts.
        let per_hour: Vec<(String, f64)> =
            summary.per_hour.iter().map(|h| (format!("{:02}:00", h.hour), h.visits as f64)).collect();
        let per_service: Vec<(String, f64)> =
            summary.per_service.iter().map(|s| (self.service_name(&s.service), s.figures.visits as f64)).collect();
        let wait_service: Vec<(String, f64)> = summary
            .per_service
            .iter()
            .map(|s| {
                (self.service_name(&s.service), (s.figures.wait_s.p90.unwrap_or(0.0) / 60.0 * 10.0).round() / 10.0)
            })
            .collect();
        let csat_service: Vec<(String, f64)> = summary
            .per_service
            .iter()
            .filter_map(|s| s.figures.csat.mean.map(|m| (self.service_name(&s.service), (m * 100.0).round() / 100.0)))
            .collect();
        let minute = self.texts.get(lang, "dash-min-unit", &[]);
        let _ = writeln!(
            out,
            "<section><div class=\"charts\">\
             <figure><figcaption><h2>{h_hour}</h2></figcaption>{c_hour}</figure>\
             <figure><figcaption><h2>{h_service}</h2></figcaption>{c_service}</figure>\
             <figure><figcaption><h2>{h_wait}</h2></figcaption>{c_wait}</figure>\
             <figure><figcaption><h2>{h_csat}</h2></figcaption>{c_csat}</figure></div></section>",
            h_hour = self.t("dash-chart-hour", &[]),
            c_hour = bars(&per_hour, "", rtl),
            h_service = self.t("dash-chart-service", &[]),
            c_service = bars(&per_service, "", rtl),
            h_wait = self.t("dash-chart-wait", &[]),
            c_wait = bars(&wait_service, &format!(" {minute}"), rtl),
            h_csat = self.t("dash-chart-csat", &[]),
            c_csat = bars(&csat_service, "", rtl),
        );

        // Tables: per service, per counter, per month; reasons for low ratings.
        let rows: String =
            summary.per_service.iter().map(|s| self.figure_row(&self.service_name(&s.service), &s.figures)).collect();
        let _ = writeln!(
            out,
            "<section><h2>{}</h2><table>{}<tbody>{rows}</tbody></table></section>",
            self.t("dash-per-service", &[]),
            self.table_head("dash-service")
        );
        let counter_name = |id: &str| {
            self.branch.counters.iter().find(|c| c.id == id).map_or(id.to_string(), |c| name(&c.name, lang).to_string())
        };
        let rows: String =
            summary.per_counter.iter().map(|c| self.figure_row(&counter_name(&c.counter), &c.figures)).collect();
        let _ = writeln!(
            out,
            "<section><h2>{}</h2><table>{}<tbody>{rows}</tbody></table></section>",
            self.t("dash-per-counter", &[]),
            self.table_head("dash-counter")
        );
        let staff_name = |id: &str| {
            self.branch
                .staff
                .iter()
                .find(|s| s.id == id)
                .map_or(id.to_string(), |s| format!("{} ({id})", name(&s.name, lang)))
        };
        let rows: String =
            summary.per_staff.iter().map(|s| self.figure_row(&staff_name(&s.staff), &s.figures)).collect();
        let _ = writeln!(
            out,
            "<section><h2>{}</h2><table>{}<tbody>{rows}</tbody></table></section>",
            self.t("dash-per-staff", &[]),
            self.table_head("dash-staff")
        );
        let offset = self.branch.utc_offset;
        let midnight = |d: NaiveDate| {
            d.and_hms_opt(0, 0, 0).and_then(|t| t.and_local_timezone(offset).single()).map(|t| t.with_timezone(&Utc))
        };
        let rows: String = monthly
            .iter()
            .map(|(month, f)| {
                let label =
                    format!("{} {}", self.texts.get(lang, &format!("month-{}", month.month()), &[]), month.year());
                let counts = match (midnight(*month), midnight(next_month(*month))) {
                    (Some(start), Some(end)) => crate::cases::month(cases, start, end.min(self.now)),
                    _ => crate::cases::MonthCases::default(),
                };
                let row = self.figure_row(&label, f);
                row.replace(
                    "</tr>",
                    &format!(
                        "<td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                        counts.opened, counts.closed, counts.open_at_end
                    ),
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<section><h2>{}</h2><table>{}<tbody>{rows}</tbody></table></section>",
            self.t("dash-monthly", &[]),
            self.table_head("dash-month").replace(
                "</tr></thead>",
                &format!(
                    "<th scope=\"col\" class=\"n\">{}</th><th scope=\"col\" class=\"n\">{}</th><th scope=\"col\" class=\"n\">{}</th></tr></thead>",
                    self.t("dash-month-cases-opened", &[]),
                    self.t("dash-month-cases-closed", &[]),
                    self.t("dash-month-cases-open-at-end", &[])
                )
            )
        );
        let reasons: String = summary
            .total
            .csat
            .reasons
            .iter()
            .map(|(reason, count)| {
                format!(
                    "<tr><th scope=\"row\">{}</th><td class=\"n\">{count}</td></tr>",
                    self.t(&format!("reason-{}", reason.replace('_', "-")), &[])
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "<section><h2>{}</h2><table><tbody>{reasons}</tbody></table></section>\n</main>",
            self.t("dash-reasons", &[])
        );
        out
    }
}
