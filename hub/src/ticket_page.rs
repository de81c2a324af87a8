//! The visitor's live ticket page, `/t/{token}`: the QR code on every ticket leads here.
//!
//! Server-rendered HTML in Arabic (default, right to left) or English (`?lang=en`), readable on a
//! cheap phone without JavaScript (it then refreshes itself every 30 s). With JavaScript, the
//! status part is fetched again every few seconds from `/t/{token}/status` (an HTML fragment
//! rendered by the same code) and swapped in place, until the visit has ended. Every text comes
//! from `dawr-i18n`; every value put into the page is HTML-escaped.
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use dawr_i18n::{Arg, HijriDate, Lang, Texts};
use dawr_protocol::api::{Names, Ticket, TicketStatus};
use serde::Deserialize;

use crate::domain::Branch;
use crate::engine::{self, Request};
use crate::http::AppState;
use crate::store;

/// How often the page asks for its status, in milliseconds.
const REFRESH_MS: u32 = 4_000;

#[derive(Deserialize)]
pub struct LangQuery {
    lang: Option<String>,
}

impl LangQuery {
    fn lang(&self) -> Lang {
        self.lang.as_deref().and_then(|l| l.parse().ok()).unwrap_or_default()
    }
}

/// Escapes text for HTML element content and attribute values.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn name(names: &Names, lang: Lang) -> &str {
    match lang {
        Lang::Ar => &names.ar,
        Lang::En => &names.en,
    }
}

/// The ticket behind a token: live from the engine, else finished from the database.
async fn find(state: &AppState, token: String) -> Result<Option<Ticket>, StatusCode> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let live = state
        .engine
        .ask(|reply| Request::TicketByToken { token: token.clone(), reply })
        .await
        .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    if live.is_some() {
        return Ok(live);
    }
    let read = state.read.clone();
    let stored = tokio::task::spawn_blocking(move || {
        let conn = read.lock().unwrap_or_else(|e| e.into_inner());
        store::read_visit_by_token(&conn, &token)
    })
    .await
    .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?
    .map_err(|_| StatusCode::SERVICE_UNAVAILABLE)?;
    Ok(stored.map(|v| engine::ticket_view(&state.branch, &state.public_url, &v, None)))
}

/// Headers for a page whose address is a secret: not cached, not indexed, not leaked onwards.
fn private(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert("x-robots-tag", HeaderValue::from_static("noindex"));
    response
}

/// The ticket's CRM case, when its visit has ended (for the second rating).
async fn ended_case(state: &AppState, ticket: &Ticket) -> Option<crate::cases::Case> {
    if ticket.status != TicketStatus::Done {
        return None;
    }
    let (read, case_ref, policy) = (state.read.clone(), ticket.case_ref.clone(), state.branch.cases);
    tokio::task::spawn_blocking(move || {
        let conn = read.lock().unwrap_or_else(|e| e.into_inner());
        let visit = crate::reports::case_facts(&conn, &case_ref).ok()??;
        let notes = crate::cases::read_notes(&conn, &case_ref).ok()?;
        Some(crate::cases::case_of(&visit, notes.as_ref(), policy, Utc::now()))
    })
    .await
    .ok()
    .flatten()
}

/// The second rating's form, once staff have resolved a case the visit left open.
fn render_resolution_rating(texts: &Texts, token: &str, lang: Lang) -> String {
    let t = |key: &str| esc(&texts.get(lang, key, &[]));
    let buttons: String = (1..=5)
        .rev()
        .map(|score| {
            format!(
                "<button type=\"submit\" name=\"score\" value=\"{score}\">{score} · {}</button>",
                t(&format!("rate-score-{score}"))
            )
        })
        .collect();
    format!(
        "<section class=\"card resolution\"><p>{}</p><form method=\"post\" action=\"/t/{}/rate?lang={}\">{buttons}</form></section>\n",
        t("ticket-rate-resolution"),
        esc(token),
        lang.code()
    )
}

/// After a low second rating (already recorded): why, if the visitor wishes to say.
fn render_resolution_reason(texts: &Texts, token: &str, lang: Lang) -> String {
    let t = |key: &str| esc(&texts.get(lang, key, &[]));
    let buttons: String = ["waited_too_long", "staff_conduct", "not_resolved", "unclear_procedure", "other"]
        .iter()
        .map(|r| {
            format!(
                "<button type=\"submit\" name=\"reason\" value=\"{r}\">{}</button>",
                t(&format!("reason-{}", r.replace('_', "-")))
            )
        })
        .collect();
    format!(
        "<section class=\"card resolution\"><p>{}</p><p>{}</p><form method=\"post\" action=\"/t/{}/rate/reason?lang={}\">{buttons}</form></section>\n",
        t("ticket-resolution-thanks"),
        t("rate-saved"),
        esc(token),
        lang.code()
    )
}

#[derive(Deserialize)]
pub struct ScoreForm {
    score: u8,
}

#[derive(Deserialize)]
pub struct ReasonForm {
    reason: dawr_protocol::api::RatingReason,
}

/// `POST /t/{token}/rate/reason`: why the second rating was low, added to it (the score was
/// recorded at the tap; the reason, once, may follow).
pub async fn rate_resolution_reason(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    axum::Form(form): axum::Form<ReasonForm>,
) -> Response {
    let lang = q.lang();
    let Ok(Some(ticket)) = find(&state, token.clone()).await else {
        return private(StatusCode::NOT_FOUND.into_response());
    };
    let (conn, policy, case_ref) = (state.cases.clone(), state.branch.cases, ticket.case_ref.clone());
    let outbox = state.crm_enabled.then(|| state.branch.id.clone());
    let added = tokio::task::spawn_blocking(move || {
        let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
        crate::cases::add_resolution_reason(&mut conn, &case_ref, form.reason, policy, outbox.as_deref(), Utc::now())
    })
    .await;
    if matches!(added, Ok(Err(crate::cases::CaseError::Storage(_))) | Err(_)) {
        return private(StatusCode::SERVICE_UNAVAILABLE.into_response());
    }
    // Added, or refused (already given): the page shows where the case stands.
    let to = format!("/t/{token}?lang={}", lang.code());
    private(
        (
            StatusCode::SEE_OTHER,
            [(header::LOCATION, HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/")))],
        )
            .into_response(),
    )
}

/// `POST /t/{token}/rate`: the second rating, of how an open case was resolved.
pub async fn rate_resolution(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    axum::Form(form): axum::Form<ScoreForm>,
) -> Response {
    let lang = q.lang();
    let Ok(Some(ticket)) = find(&state, token.clone()).await else {
        return private(StatusCode::NOT_FOUND.into_response());
    };
    let (conn, policy, case_ref) = (state.cases.clone(), state.branch.cases, ticket.case_ref.clone());
    let outbox = state.crm_enabled.then(|| state.branch.id.clone());
    let rated = tokio::task::spawn_blocking(move || {
        let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
        crate::cases::rate_resolution(&mut conn, &case_ref, form.score, policy, outbox.as_deref(), Utc::now())
    })
    .await;
    let status = match rated {
        Ok(Ok(_)) => StatusCode::SEE_OTHER,
        Ok(Err(crate::cases::CaseError::Storage(_))) | Err(_) => {
            return private(StatusCode::SERVICE_UNAVAILABLE.into_response());
        }
        Ok(Err(_)) => StatusCode::SEE_OTHER,
    };
    let to = format!("/t/{token}?lang={}", lang.code());
    private(
        (status, [(header::LOCATION, HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/")))])
            .into_response(),
    )
}

/// `GET /t/{token}`
pub async fn page(State(state): State<AppState>, Path(token): Path<String>, Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let texts = &state.texts;
    let response = match find(&state, token.clone()).await {
        Ok(Some(ticket)) => {
            let mut html = render_page(texts, &state.branch, &ticket, lang);
            if let Some(case) = ended_case(&state, &ticket).await {
                let extra = if case.asks_resolution_rating() {
                    render_resolution_rating(texts, &token, lang)
                } else if case.asks_resolution_reason() {
                    render_resolution_reason(texts, &token, lang)
                } else if case.notes.resolution_rating.is_some() {
                    format!(
                        "<section class=\"card\"><p>{}</p></section>\n",
                        esc(&texts.get(lang, "ticket-resolution-thanks", &[]))
                    )
                } else {
                    String::new()
                };
                html = html.replacen("<a class=\"switch\"", &format!("{extra}<a class=\"switch\""), 1);
            }
            Html(html).into_response()
        }
        Ok(None) => (StatusCode::NOT_FOUND, Html(render_not_found(texts, &state.branch, lang))).into_response(),
        Err(status) => status.into_response(),
    };
    private(response)
}

/// `GET /t/{token}/status`: the live part of the page.
pub async fn status(State(state): State<AppState>, Path(token): Path<String>, Query(q): Query<LangQuery>) -> Response {
    let lang = q.lang();
    let response = match find(&state, token).await {
        Ok(Some(ticket)) => Html(render_status(&state.texts, &state.branch, &ticket, lang)).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(status) => status.into_response(),
    };
    private(response)
}

fn local_time(branch: &Branch, at: DateTime<Utc>) -> String {
    at.with_timezone(&branch.utc_offset).format("%H:%M").to_string()
}

/// The day in Hijri (Umm al-Qura) and Gregorian: `2 جمادى الآخرة 1448 هـ · 2026-11-23`.
fn dates(texts: &Texts, branch: &Branch, at: DateTime<Utc>, lang: Lang) -> String {
    use chrono::Datelike;
    let local = at.with_timezone(&branch.utc_offset);
    let gregorian = local.format("%Y-%m-%d").to_string();
    match HijriDate::from_gregorian(local.year(), local.month() as u8, local.day() as u8) {
        Some(hijri) => format!("{} · {gregorian}", texts.hijri_date(lang, hijri)),
        None => gregorian,
    }
}

fn counter_name(branch: &Branch, counter: Option<&str>, lang: Lang) -> String {
    let counter = counter.unwrap_or_default();
    branch
        .counter_index(counter)
        .map_or_else(|| counter.to_string(), |c| name(&branch.counters[c].name, lang).to_string())
}

/// The part of the page that changes: status, place in line, estimate.
pub fn render_status(texts: &Texts, branch: &Branch, ticket: &Ticket, lang: Lang) -> String {
    let t = |key: &str, args: &[(&str, Arg<'_>)]| esc(&texts.get(lang, key, args));
    let counter = counter_name(branch, ticket.counter.as_deref(), lang);
    let counter_arg = [("counter", Arg::Text(&counter))];
    let (class, lines) = match ticket.status {
        TicketStatus::Waiting => {
            let ahead = f64::from(ticket.position.unwrap_or(1).saturating_sub(1));
            let mut lines = vec![t("ticket-status-waiting", &[("ahead", Arg::Number(ahead))])];
            match ticket.estimated_wait_range_s {
                Some([_, 0]) => lines.push(t("ticket-estimate-now", &[])),
                Some([low, high]) => {
                    let minutes = |s: u32| f64::from(s.div_ceil(60));
                    let args = [("low", Arg::Number(minutes(low))), ("high", Arg::Number(minutes(high).max(1.0)))];
                    lines.push(t("ticket-estimate-range", &args));
                }
                None => {}
            }
            ("waiting", lines)
        }
        TicketStatus::Called => ("called", vec![t("ticket-status-called", &counter_arg)]),
        TicketStatus::Serving => ("serving", vec![t("ticket-status-serving", &counter_arg)]),
        TicketStatus::Done => ("final", vec![t("ticket-status-done", &[])]),
        TicketStatus::NoShow => ("final", vec![t("ticket-status-no-show", &[])]),
        TicketStatus::Cancelled => ("final", vec![t("ticket-status-cancelled", &[])]),
    };
    let final_marker = if class == "final" { " data-final=\"1\"" } else { "" };
    let body: String = lines.iter().map(|l| format!("<p>{l}</p>")).collect();
    format!("<div class=\"status {class}\" id=\"status\"{final_marker}>{body}</div>")
}

fn head(lang: Lang, title: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{code}\" dir=\"{dir}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"robots\" content=\"noindex\">\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n",
        code = lang.code(),
        dir = lang.dir(),
    )
}

const STYLE: &str = "\
:root{color-scheme:light;--ink:#10231d;--brand:#0b6e4f;--called:#b3261e;--muted:#4a5a54}\
*{box-sizing:border-box}\
body{margin:0;font-family:'Noto Sans Arabic','Noto Sans','Segoe UI',Tahoma,sans-serif;color:var(--ink);background:#f4f7f5;line-height:1.5}\
header{background:var(--brand);color:#fff;padding:12px 16px;font-size:1rem}\
main{max-width:32rem;margin:0 auto;padding:16px}\
.card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.12);text-align:center}\
.label{color:var(--muted);margin:0}\
.number{font-size:4.5rem;font-weight:700;letter-spacing:.05em;margin:4px 0;direction:ltr;unicode-bidi:isolate}\
.service{font-size:1.25rem;margin:0 0 12px}\
.status{font-size:1.3rem;border-radius:8px;padding:12px;margin:12px 0}\
.status p{margin:4px 0}\
.status.called,.status.serving{background:var(--called);color:#fff;font-size:1.6rem;font-weight:700}\
.status.waiting{background:#e6f2ec}\
.status.final{background:#eceff1}\
.meta{color:var(--muted);font-size:.95rem;margin:4px 0}\
.switch{display:inline-block;margin-top:16px;color:var(--brand);font-weight:600;padding:8px}\
.resolution{margin-top:16px}.resolution form{display:grid;gap:8px}\
.resolution button{font:inherit;font-size:1.1rem;padding:12px;border-radius:10px;border:1px solid var(--brand);background:#fff;color:var(--ink)}\
";

/// The whole page.
pub fn render_page(texts: &Texts, branch: &Branch, ticket: &Ticket, lang: Lang) -> String {
    let t = |key: &str, args: &[(&str, Arg<'_>)]| esc(&texts.get(lang, key, args));
    let title = t("ticket-page-title", &[("number", Arg::Text(&ticket.number))]);
    let status = render_status(texts, branch, ticket, lang);
    let switch_href = format!("?lang={}", lang.other().code());
    format!(
        "{head}<body>\n<header>{branch}</header>\n<main>\n<section class=\"card\" aria-live=\"polite\">\n\
         <p class=\"label\">{your_number}</p>\n<p class=\"number\" id=\"number\">{number}</p>\n\
         <p class=\"service\">{service}</p>\n<div id=\"live\">{status}</div>\n\
         <p class=\"meta\">{case_ref}</p>\n<p class=\"meta\">{date}</p>\n<p class=\"meta\">{issued}</p>\n<p class=\"meta\">{live_note}</p>\n\
         </section>\n<a class=\"switch\" href=\"{switch_href}\" lang=\"{other}\">{switch}</a>\n</main>\n\
         <noscript><meta http-equiv=\"refresh\" content=\"30\"></noscript>\n<script>{script}</script>\n</body>\n</html>\n",
        head = head(lang, &title),
        branch = esc(name(&branch.name, lang)),
        your_number = t("ticket-your-number", &[]),
        number = esc(&ticket.number),
        service = esc(name(&ticket.service_name, lang)),
        case_ref = t("ticket-case-ref", &[("case_ref", Arg::Text(&ticket.case_ref))]),
        issued = t("ticket-issued-at", &[("time", Arg::Text(&local_time(branch, ticket.issued_at)))]),
        date = esc(&dates(texts, branch, ticket.issued_at, lang)),
        live_note = t("ticket-live-note", &[]),
        other = lang.other().code(),
        switch = t("switch-language", &[]),
        script = script(lang),
    )
}

/// Fetches the status fragment every few seconds and swaps it in, until the visit has ended.
fn script(lang: Lang) -> String {
    format!(
        "(function(){{var live=document.getElementById('live');\
         window.dawrPageLoadedAt=window.dawrPageLoadedAt||Date.now();\
         var timer=setInterval(function(){{\
         if(live.querySelector('[data-final]')){{clearInterval(timer);return;}}\
         fetch(location.pathname+'/status?lang={code}',{{cache:'no-store'}})\
         .then(function(r){{return r.ok?r.text():null;}})\
         .then(function(html){{if(html!==null&&html!==live.innerHTML){{live.innerHTML=html;}}}})\
         .catch(function(){{}});}},{REFRESH_MS});}})();",
        code = lang.code()
    )
}

/// The page for an unknown token.
pub fn render_not_found(texts: &Texts, branch: &Branch, lang: Lang) -> String {
    let title = esc(&texts.get(lang, "ticket-not-found-title", &[]));
    format!(
        "{head}<body>\n<header>{branch}</header>\n<main>\n<section class=\"card\">\n<h1>{title}</h1>\n<p>{text}</p>\n\
         </section>\n</main>\n</body>\n</html>\n",
        head = head(lang, &title),
        branch = esc(name(&branch.name, lang)),
        text = esc(&texts.get(lang, "ticket-not-found", &[])),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use dawr_protocol::api::{Priority, Source};

    fn ticket(status: TicketStatus) -> Ticket {
        Ticket {
            id: 1,
            number: "A017".into(),
            service: "A".into(),
            service_name: Names { ar: "الوكالات".into(), en: "Power of attorney <&>".into() },
            priority: Priority::Normal,
            source: Source::WalkIn,
            status,
            position: Some(4),
            estimated_wait_s: Some(700),
            estimated_wait_range_s: Some([300, 1250]),
            counter: Some("3".into()),
            case_ref: "DMM-20261123-000017".into(),
            token: "0123456789abcdef0123456789abcdef".into(),
            status_url: String::new(),
            issued_at: "2026-11-23T06:05:00Z".parse().unwrap(),
            appointment_at: None,
            called_at: None,
            started_at: None,
            ended_at: None,
            recalls: 0,
            outcome: None,
            rating: None,
            rating_reason: None,
        }
    }

    fn plain(s: &str) -> String {
        s.replace(['\u{2068}', '\u{2069}'], "")
    }

    #[test]
    fn the_page_is_arabic_right_to_left_by_default_and_escapes_what_it_shows() {
        let branch = Config::demo().branch().unwrap();
        let texts = Texts::new();
        let html = plain(&render_page(&texts, &branch, &ticket(TicketStatus::Waiting), Lang::Ar));
        assert!(html.contains("<html lang=\"ar\" dir=\"rtl\">"));
        assert!(html.contains(">A017<"));
        assert!(html.contains("أمامك 3 أشخاص."), "{html}");
        assert!(html.contains("الانتظار المتوقع: من 5 إلى 21 دقيقة"), "{html}");
        assert!(html.contains("وقت الإصدار 09:05"), "local time in Riyadh");
        assert!(html.contains(">13 جمادى الآخرة 1448 هـ · 2026-11-23<"), "Hijri and Gregorian dates");
        assert!(html.contains("href=\"?lang=en\""));
        let en = plain(&render_page(&texts, &branch, &ticket(TicketStatus::Waiting), Lang::En));
        assert!(en.contains("<html lang=\"en\" dir=\"ltr\">"));
        assert!(en.contains("Power of attorney &lt;&amp;&gt;"), "escaped");
        assert!(!en.contains("<&>"));
    }

    #[test]
    fn each_status_has_its_text_and_ended_visits_stop_refreshing() {
        let branch = Config::demo().branch().unwrap();
        let texts = Texts::new();
        let called = plain(&render_status(&texts, &branch, &ticket(TicketStatus::Called), Lang::Ar));
        assert!(called.contains("تفضل إلى شباك ٣."), "{called}");
        assert!(called.contains("class=\"status called\""));
        let serving = plain(&render_status(&texts, &branch, &ticket(TicketStatus::Serving), Lang::En));
        assert!(serving.contains("You are being served at Counter 3."), "{serving}");
        for status in [TicketStatus::Done, TicketStatus::NoShow, TicketStatus::Cancelled] {
            assert!(render_status(&texts, &branch, &ticket(status), Lang::En).contains("data-final"));
        }
        assert!(!render_status(&texts, &branch, &ticket(TicketStatus::Waiting), Lang::En).contains("data-final"));
    }
}
