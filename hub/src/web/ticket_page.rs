//! The visitor's live ticket page, `/t/{token}`: the QR code on every ticket leads here.
//!
//! Server-rendered HTML in Arabic (default, right to left) or English (`?lang=en`), readable on a
//! cheap phone without JavaScript (it then refreshes itself every 30 s). With JavaScript, the
//! status part is fetched again every few seconds from `/t/{token}/status` (an HTML fragment
//! rendered by the same code) and swapped in place, until the visit has ended: [`SCRIPT`], the
//! one script the hub's Content-Security-Policy lets run. Every text comes from `dawr-i18n`;
//! the page is a maud template, so every value put into it is escaped. A remote ticket (joined
//! from a phone) shows its check-in code and QR, for the kiosk, until its holder has checked in.
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};
use dawr_i18n::{Arg, HijriDate, Lang, Texts};
use dawr_protocol::api::{Source, Ticket, TicketStatus};
use dawr_web::headers::private;
use dawr_web::html::{Head, LangQuery, name, page as shell};
use dawr_web::{WebError, WebResult};
use maud::{Markup, PreEscaped, html};
use rusqlite::Connection;
use serde::Deserialize;

use super::AppState;
use crate::cases::CaseError;
use crate::domain::{Branch, CasePolicy};
use crate::engine::{self, Request};
use crate::store;

/// Fetches the status fragment every few seconds and swaps it in, until the visit has ended.
/// The same bytes for every page and language, so the Content-Security-Policy names it by hash.
pub const SCRIPT: &str = "(function(){var live=document.getElementById('live');\
window.dawrPageLoadedAt=window.dawrPageLoadedAt||Date.now();\
var timer=setInterval(function(){\
if(live.querySelector('[data-final]')){clearInterval(timer);return;}\
fetch(location.pathname+'/status?lang='+document.documentElement.lang,{cache:'no-store'})\
.then(function(r){return r.ok?r.text():null;})\
.then(function(html){if(html!==null&&html!==live.innerHTML){live.innerHTML=html;}})\
.catch(function(){});},4000);})();";

/// The ticket behind a token: live from the engine, else finished from the database.
async fn find(state: &AppState, token: String) -> WebResult<Option<Ticket>> {
    if token.len() != 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let live = state.engine.ask(|reply| Request::TicketByToken { token: token.clone(), reply }).await?;
    if live.is_some() {
        return Ok(live);
    }
    let stored = state.db.read(move |conn| store::read_visit_by_token(conn, &token)).await??;
    Ok(stored.map(|v| engine::ticket_view(&state.branch(), &state.public_url, &v, None)))
}

/// A remote ticket's check-in code while its holder has still to check in at the kiosk.
async fn checkin_code(state: &AppState, ticket: &Ticket) -> WebResult<Option<String>> {
    let waiting_remote = ticket.source == Source::Remote && ticket.status == TicketStatus::Waiting;
    if !waiting_remote || ticket.arrived_at.is_some() {
        return Ok(None);
    }
    let visit = ticket.id as i64;
    Ok(state.db.read(move |conn| crate::join::store::checkin_code_of(conn, visit)).await??)
}

/// An `<svg>` element showing `data` as a QR code, `size` pixels wide, named `label`.
fn qr_svg(data: &str, size: u32, label: &str) -> String {
    use qrcode::render::svg;
    let Ok(code) = qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M) else {
        return String::new();
    };
    let image = code
        .render::<svg::Color<'_>>()
        .min_dimensions(size, size)
        .dark_color(svg::Color("#000"))
        .light_color(svg::Color("#fff"))
        .quiet_zone(true)
        .build();
    let start = image.find("<svg").unwrap_or(0);
    let label = dawr_web::html::esc(label);
    image[start..].replacen("<svg ", &format!("<svg role=\"img\" aria-label=\"{label}\" "), 1)
}

/// What a remote ticket's page says about checking in: its code (and QR) until the holder has
/// checked in at the kiosk (urgently once it was passed over at the front), then that they have.
fn check_in_part(texts: &Texts, ticket: &Ticket, lang: Lang, checkin: Option<&str>) -> Option<Markup> {
    if ticket.source != Source::Remote || ticket.status != TicketStatus::Waiting {
        return None;
    }
    let t = |key: &str| texts.get(lang, key, &[]);
    if ticket.arrived_at.is_some() {
        return Some(html! { p class="arrived" { (t("ticket-arrived")) } });
    }
    let code = checkin?;
    let label = t("ticket-check-in-code");
    let urgent = ticket.held_at.is_some();
    Some(html! {
        div class={ "checkin" @if urgent { " urgent" } } {
            p { (t(if urgent { "ticket-check-in-now" } else { "ticket-check-in" })) }
            div class="qr" { (PreEscaped(qr_svg(code, 180, &label))) }
            p class="label" { (label) }
            p class="code" id="checkin-code" { (code) }
        }
    })
}

/// The ticket's CRM case, when its visit has ended (for the second rating).
async fn ended_case(state: &AppState, ticket: &Ticket) -> Option<crate::cases::Case> {
    if ticket.status != TicketStatus::Done {
        return None;
    }
    let (case_ref, policy) = (ticket.case_ref.clone(), state.branch().cases);
    let read = state.db.read(move |conn| {
        let visit = crate::reports::case_facts(conn, &case_ref).ok()??;
        let notes = crate::cases::read_notes(conn, &case_ref).ok()?;
        Some(crate::cases::case_of(&visit, notes.as_ref(), policy, Utc::now()))
    });
    read.await.ok().flatten()
}

/// What the page says about a case left open, once its visit has ended: the second rating's
/// form while staff have resolved it and it is unrated, then (after a low one) why, and thanks
/// once rated.
fn case_part(texts: &Texts, token: &str, lang: Lang, case: &crate::cases::Case) -> Option<Markup> {
    let t = |key: &str| texts.get(lang, key, &[]);
    if case.asks_resolution_rating() {
        let action = format!("/t/{token}/rate?lang={}", lang.code());
        Some(html! {
            section class="card resolution" {
                p { (t("ticket-rate-resolution")) }
                form method="post" action=(action) {
                    @for score in (1..=5).rev() {
                        button type="submit" name="score" value=(score) { (score) " · " (t(&format!("rate-score-{score}"))) }
                    }
                }
            }
        })
    } else if case.asks_resolution_reason() {
        // After a low second rating (already recorded): why, if the visitor wishes to say.
        let action = format!("/t/{token}/rate/reason?lang={}", lang.code());
        Some(html! {
            section class="card resolution" {
                p { (t("ticket-resolution-thanks")) }
                p { (t("rate-saved")) }
                form method="post" action=(action) { (super::rate_page::reason_buttons(texts, lang)) }
            }
        })
    } else if case.notes.resolution_rating.is_some() {
        Some(html! { section class="card" { p { (t("ticket-resolution-thanks")) } } })
    } else {
        None
    }
}

#[derive(Deserialize)]
pub struct ScoreForm {
    score: u8,
}

#[derive(Deserialize)]
pub struct ReasonForm {
    reason: dawr_protocol::api::RatingReason,
}

/// `POST /t/{token}/rate`: the second rating, of how an open case was resolved.
pub async fn rate_resolution(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    axum::Form(form): axum::Form<ScoreForm>,
) -> WebResult<Response> {
    change_case(&state, token, q.lang(), move |conn, case_ref, policy, outbox| {
        crate::cases::rate_resolution(conn, case_ref, form.score, policy, outbox, Utc::now())
    })
    .await
}

/// `POST /t/{token}/rate/reason`: why the second rating was low, added to it (the score was
/// recorded at the tap; the reason, once, may follow).
pub async fn rate_resolution_reason(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
    axum::Form(form): axum::Form<ReasonForm>,
) -> WebResult<Response> {
    change_case(&state, token, q.lang(), move |conn, case_ref, policy, outbox| {
        crate::cases::add_resolution_reason(conn, case_ref, form.reason, policy, outbox, Utc::now())
    })
    .await
}

/// What a visitor's form does to the case behind a ticket: given the connection, the case, the
/// branch's case policy and the CRM outbox (the branch id, if the branch has a CRM).
trait CaseChange<T>:
    FnOnce(&mut Connection, &str, CasePolicy, Option<&str>) -> Result<T, CaseError> + Send + 'static
{
}

impl<T, F> CaseChange<T> for F where
    F: FnOnce(&mut Connection, &str, CasePolicy, Option<&str>) -> Result<T, CaseError> + Send + 'static
{
}

/// Applies a visitor's change to the case behind `token`, then goes back to the page, which says
/// where the case stands — also when the change was refused (not asked for, or given already).
/// Only a storage failure is an error.
async fn change_case<T: Send + 'static>(
    state: &AppState,
    token: String,
    lang: Lang,
    change: impl CaseChange<T>,
) -> WebResult<Response> {
    let Some(ticket) = find(state, token.clone()).await? else {
        return Err(WebError::not_found("unknown_ticket", "no ticket with this token"));
    };
    let (policy, case_ref) = (state.branch().cases, ticket.case_ref);
    let outbox = state.crm_enabled.then(|| state.branch().id.clone());
    let changed = state.db.write(move |conn| change(conn, &case_ref, policy, outbox.as_deref())).await?;
    if let Err(e @ CaseError::Storage(_)) = changed {
        return Err(e.into());
    }
    let to = format!("/t/{token}?lang={}", lang.code());
    let location = HeaderValue::from_str(&to).unwrap_or(HeaderValue::from_static("/"));
    Ok(private((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()))
}

/// `GET /t/{token}`
pub async fn page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> WebResult<Response> {
    let lang = q.lang();
    let texts = &state.texts;
    let Some(ticket) = find(&state, token.clone()).await? else {
        let html = render_not_found(texts, &state.branch(), lang);
        return Ok(private((StatusCode::NOT_FOUND, Html(html)).into_response()));
    };
    let case = ended_case(&state, &ticket).await;
    let part = case.as_ref().and_then(|case| case_part(texts, &token, lang, case));
    let checkin = checkin_code(&state, &ticket).await?;
    let html = whole_page(texts, &state.branch(), &ticket, lang, part, checkin.as_deref());
    Ok(private(Html(html).into_response()))
}

/// `GET /t/{token}/status`: the live part of the page.
pub async fn status(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<LangQuery>,
) -> WebResult<Response> {
    let lang = q.lang();
    let Some(ticket) = find(&state, token).await? else {
        return Ok(private(StatusCode::NOT_FOUND.into_response()));
    };
    let checkin = checkin_code(&state, &ticket).await?;
    let part = status_part(&state.texts, &state.branch(), &ticket, lang, checkin.as_deref());
    Ok(private(Html(part.into_string()).into_response()))
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

/// What the status part says, and its class (`waiting`, `called`, `serving` or `final`).
fn status_lines(texts: &Texts, branch: &Branch, ticket: &Ticket, lang: Lang) -> (&'static str, Vec<String>) {
    let t = |key: &str, args: &[(&str, Arg<'_>)]| texts.get(lang, key, args);
    let counter = counter_name(branch, ticket.counter.as_deref(), lang);
    let counter_arg = [("counter", Arg::Text(&counter))];
    match ticket.status {
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
    }
}

fn status_part(texts: &Texts, branch: &Branch, ticket: &Ticket, lang: Lang, checkin: Option<&str>) -> Markup {
    let (class, lines) = status_lines(texts, branch, ticket, lang);
    let ended = (class == "final").then_some("1");
    html! {
        div class={ "status " (class) } id="status" data-final=[ended] {
            @for line in &lines { p { (line) } }
        }
        @if let Some(part) = check_in_part(texts, ticket, lang, checkin) { (part) }
    }
}

/// The part of the page that changes: status, place in line, estimate.
pub fn render_status(texts: &Texts, branch: &Branch, ticket: &Ticket, lang: Lang) -> String {
    status_part(texts, branch, ticket, lang, None).into_string()
}

const STYLE: &str = "\
:root{color-scheme:light;--ink:#10231d;--brand:#0b6e4f;--called:#b3261e;--muted:#4a5a54}\
body{margin:0;color:var(--ink);background:#f4f7f5;line-height:1.5}\
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
.checkin{border:2px dashed var(--brand);border-radius:10px;padding:12px;margin:12px 0}\
.checkin.urgent{border-color:var(--called);background:#fdecea;font-weight:700}\
.checkin p{margin:4px 0}.qr svg{width:180px;height:180px}\
.code{font-size:2rem;font-weight:700;letter-spacing:.12em;direction:ltr;unicode-bidi:isolate;margin:0}\
.arrived{background:#e6f2ec;border-radius:8px;padding:8px}\
.resolution{margin-top:16px}.resolution form{display:grid;gap:8px}\
.resolution button{font:inherit;font-size:1.1rem;padding:12px;border-radius:10px;border:1px solid var(--brand);background:#fff;color:var(--ink)}\
";

/// The whole page.
pub fn render_page(texts: &Texts, branch: &Branch, ticket: &Ticket, lang: Lang) -> String {
    whole_page(texts, branch, ticket, lang, None, None)
}

/// The whole page, with what it says about the visit's case (if anything).
fn whole_page(
    texts: &Texts,
    branch: &Branch,
    ticket: &Ticket,
    lang: Lang,
    case: Option<Markup>,
    checkin: Option<&str>,
) -> String {
    let t = |key: &str, args: &[(&str, Arg<'_>)]| texts.get(lang, key, args);
    let title = t("ticket-page-title", &[("number", Arg::Text(&ticket.number))]);
    let other = lang.other().code();
    let body = html! {
        header { (name(&branch.name, lang)) }
        main {
            section class="card" aria-live="polite" {
                p class="label" { (t("ticket-your-number", &[])) }
                p class="number" id="number" { (ticket.number) }
                p class="service" { (name(&ticket.service_name, lang)) }
                div id="live" { (status_part(texts, branch, ticket, lang, checkin)) }
                p class="meta" { (t("ticket-case-ref", &[("case_ref", Arg::Text(&ticket.case_ref))])) }
                p class="meta" { (dates(texts, branch, ticket.issued_at, lang)) }
                p class="meta" { (t("ticket-issued-at", &[("time", Arg::Text(&local_time(branch, ticket.issued_at)))])) }
                p class="meta" { (t("ticket-live-note", &[])) }
            }
            @if let Some(case) = case { (case) }
            a class="switch" href={ "?lang=" (other) } lang=(other) { (t("switch-language", &[])) }
        }
        noscript { meta http-equiv="refresh" content="30"; }
        script { (PreEscaped(SCRIPT)) }
    };
    shell(Head::new(lang, &title, STYLE).noindex(), body).into_string()
}

/// The page for an unknown token.
pub fn render_not_found(texts: &Texts, branch: &Branch, lang: Lang) -> String {
    let title = texts.get(lang, "ticket-not-found-title", &[]);
    let body = html! {
        header { (name(&branch.name, lang)) }
        main { section class="card" { h1 { (title) } p { (texts.get(lang, "ticket-not-found", &[])) } } }
    };
    shell(Head::new(lang, &title, STYLE).noindex(), body).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn ticket(status: TicketStatus) -> Ticket {
        let mut ticket = dawr_protocol::api::examples::ticket();
        ticket.service_name.en = "Power of attorney <&>".into();
        ticket.status = status;
        ticket.counter = Some("3".into());
        ticket.status_url = String::new();
        ticket
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

    #[test]
    fn a_remote_ticket_shows_its_check_in_code_until_it_has_checked_in() {
        let branch = Config::demo().branch().unwrap();
        let texts = Texts::new();
        let mut remote = ticket(TicketStatus::Waiting);
        remote.source = Source::Remote;
        let part = |t: &Ticket, lang| plain(&status_part(&texts, &branch, t, lang, Some("KM3PX9AC")).into_string());
        let en = part(&remote, Lang::En);
        assert!(en.contains("check in at the kiosk: scan this code or type it"), "{en}");
        assert!(en.contains(">KM3PX9AC<") && en.contains("<svg role=\"img\" aria-label=\"Check-in code\""), "{en}");
        remote.held_at = Some(Utc::now());
        assert!(part(&remote, Lang::Ar).contains("حان دورك: نرجو تسجيل حضورك في جهاز الخدمة الذاتية الآن."));
        remote.arrived_at = Some(Utc::now());
        let arrived = part(&remote, Lang::En);
        assert!(arrived.contains("You have checked in.") && !arrived.contains("KM3PX9AC"), "{arrived}");
        let walk_in = part(&ticket(TicketStatus::Waiting), Lang::En);
        assert!(!walk_in.contains("KM3PX9AC") && !walk_in.contains("checked in"), "{walk_in}");
    }
}
