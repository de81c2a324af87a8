//! The exit satisfaction page, `/rate/{counter}`: a tablet by the counter's exit shows five
//! faces; a touch rates the visit just completed at that counter (the same rule as the MQTT
//! rating and `POST /api/v1/ratings`: within the rating window, once).
//!
//! The score is recorded at the touch. A score of 1 or 2 then asks why: the reason page carries
//! the rating's id, and a reason chosen there is added to that same rating
//! (`POST /rate/{counter}/reason`). A visitor who walks away leaves the score, with no reason;
//! while that rating can still take one, the faces offer to say why (`GET /rate/{counter}/why`).
//! Server-rendered forms (maud templates), Arabic by default (`?lang=en`); the reason and
//! thank-you pages return to the faces by themselves after [`RETURN_AFTER_S`] without a touch —
//! which never drops anything, since the score is already stored. The return is a small script
//! ([`IDLE_RETURN`], allowed by the hub's Content-Security-Policy by its hash) whose timer starts
//! again at every touch or key (a `<noscript>` meta refresh does it without JavaScript), so no
//! timed refresh hurries a slow reader.
//!
//! Only the counter's enrolled rating device rates here: its tablet opens the enrolment link
//! (`GET /rate/enrol/{token}`, see [`crate::device_links`]), which only asks; its button
//! (`POST /rate/enrol`, the token in the form) takes the link once, sets the device cookie
//! (HttpOnly, SameSite=Strict, Secure over https) and goes on to `/rate/{counter}`. Without a good
//! cookie the page says the tablet is not enrolled and how to enrol it; the ratings record the
//! device.
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::RatingReason;
use dawr_protocol::device::{ErrorCode, RatingId, Reply};
use dawr_web::html::{Head, page as shell, parse_lang};
use dawr_web::tls::OverTls;
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use super::AppState;
use crate::device_links;
use crate::engine::{Author, CounterCommand, Operation, ReplyTo, Request};

/// The cookie that makes a tablet's browser its enrolled rating device.
pub const DEVICE_COOKIE: &str = "dawr_device";

/// How long the device cookie is kept (400 days, the most browsers keep one).
const COOKIE_MAX_AGE_S: u32 = 400 * 24 * 3600;

/// How long the reason and thank-you pages stay without a touch before returning to the faces
/// (at least 20 s: a slow reader or a screen reader user must not be hurried).
pub const RETURN_AFTER_S: u32 = 30;

#[derive(Debug, Default, Deserialize)]
pub struct RateQuery {
    lang: Option<String>,
    /// For `GET /rate/{counter}/why`: the rating to explain.
    rating: Option<RatingId>,
}

impl RateQuery {
    fn lang(&self) -> Lang {
        parse_lang(self.lang.as_deref()).unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
pub struct RateForm {
    score: u8,
    /// A v1 form may send the reason with the score.
    #[serde(default)]
    reason: Option<RatingReason>,
}

#[derive(Debug, Deserialize)]
pub struct ReasonForm {
    rating: RatingId,
    reason: RatingReason,
}

/// The faces, best first, and their colours: green to red, each dark enough for white text
/// (contrast at least 4.5:1: 5.1, 5.1, 5.6, 5.4 and 6.5).
const FACES: [(u8, &str); 5] = [(5, "#1b7f3b"), (4, "#4a7a1c"), (3, "#7d6600"), (2, "#a85200"), (1, "#b3261e")];

/// A face drawn in SVG (no emoji font needed): the mouth curves up for 4–5, down for 1–2.
fn face(score: u8) -> Markup {
    let bend = (f32::from(score) - 3.0) * 9.0;
    let (y, c) = (66.0 - bend / 3.0, 66.0 + bend);
    html! {
        svg viewBox="0 0 100 100" width="84" height="84" aria-hidden="true" {
            circle cx="50" cy="50" r="44" fill="none" stroke="#fff" stroke-width="6" {}
            circle cx="35" cy="40" r="6" fill="#fff" {}
            circle cx="65" cy="40" r="6" fill="#fff" {}
            path d={ "M30 " (y) " Q50 " (c) " 70 " (y) } fill="none" stroke="#fff" stroke-width="6" stroke-linecap="round" {}
        }
    }
}

const REASONS: [&str; 5] = ["waited_too_long", "staff_conduct", "not_resolved", "unclear_procedure", "other"];

/// A reason's text key (`reason-waited-too-long`).
pub(super) fn reason_key(reason: &str) -> String {
    format!("reason-{}", reason.replace('_', "-"))
}

/// One button a reason, each submitting `reason`.
pub(super) fn reason_buttons(texts: &Texts, lang: Lang) -> Markup {
    html! {
        @for reason in REASONS {
            button type="submit" name="reason" value=(reason) { (texts.get(lang, &reason_key(reason), &[])) }
        }
    }
}

const STYLE: &str = "\
body{margin:0;background:#0b2545;color:#fff}\
main{min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;text-align:center}\
h1{font-size:2.2rem;margin:0 16px 24px}p{font-size:1.4rem;margin:0 16px 20px}\
.faces{display:flex;gap:16px;flex-wrap:wrap;justify-content:center;padding:0 16px}\
.faces button{width:9rem;height:11rem;border:0;border-radius:20px;color:#fff;font:inherit;font-size:1.1rem;cursor:pointer}\
.faces button span{display:block;margin:0 auto 8px}\
.reasons{display:grid;gap:12px;max-width:36rem;width:100%;padding:0 16px}\
.reasons button{font:inherit;font-size:1.4rem;padding:18px;border-radius:14px;border:0;background:#fff;color:#0b2545}\
a{color:#fff;margin-top:28px;font-size:1.1rem}a.why{font-size:1.3rem;margin:0 16px 24px}\
code{font-family:monospace;font-size:1.2rem;background:#13315c;padding:6px 12px;border-radius:8px;white-space:nowrap}";

/// Returns to `main[data-return-to]` after `data-return-after` seconds without a touch or key.
/// The same bytes on every page, so the Content-Security-Policy names it by hash.
pub const IDLE_RETURN: &str = "(function(){var m=document.querySelector('main[data-return-to]');if(!m)return;\
var t;function arm(){clearTimeout(t);t=setTimeout(function(){location.href=m.dataset.returnTo;},\
1000*Number(m.dataset.returnAfter));}['pointerdown','touchstart','keydown','wheel'].forEach(function(e){\
addEventListener(e,arm,{passive:true});});arm();})();";

/// A whole page; `return_to` adds the return to the faces after [`RETURN_AFTER_S`] idle.
fn page(lang: Lang, title: &str, body: Markup, return_to: Option<&str>) -> Html<String> {
    let body = html! {
        main data-return-to=[return_to] data-return-after=[return_to.map(|_| RETURN_AFTER_S)] { (body) }
        @if let Some(to) = return_to {
            noscript { meta http-equiv="refresh" content={ (RETURN_AFTER_S) "; url=" (to) }; }
            script { (PreEscaped(IDLE_RETURN)) }
        }
    };
    Html(shell(Head::new(lang, title, STYLE), body).into_string())
}

/// The faces page's address (where the other pages return to).
fn faces_url(counter: &str, lang: Lang) -> String {
    format!("/rate/{counter}?lang={}", lang.code())
}

fn faces(texts: &Texts, lang: Lang, counter: &str, awaiting: Option<(RatingId, &str)>) -> Markup {
    let t = |key: &str| texts.get(lang, key, &[]);
    let other = lang.other().code();
    html! {
        h1 { (t("rate-title")) }
        // The visitor who walked away from the reason page may still say why.
        @if let Some((rating, ticket)) = awaiting {
            a class="why" href={ "/rate/" (counter) "/why?rating=" (rating) "&lang=" (lang.code()) } {
                (texts.get(lang, "rate-why-later", &[("ticket", Arg::Text(ticket))]))
            }
        }
        form method="post" action=(faces_url(counter, lang)) class="faces" {
            @for (score, colour) in FACES {
                button type="submit" name="score" value=(score) style={ "background:" (colour) } {
                    span { (face(score)) } (t(&format!("rate-score-{score}")))
                }
            }
        }
        a href=(faces_url(counter, lang.other())) lang=(other) { (t("switch-language")) }
    }
}

/// The reason page of a rating just recorded: the score is saved; the reason is optional.
fn reason_page(texts: &Texts, lang: Lang, counter: &str, rating: RatingId) -> Html<String> {
    let t = |key: &str| texts.get(lang, key, &[]);
    let back = faces_url(counter, lang);
    let body = html! {
        h1 { (t("rate-why")) }
        p { (t("rate-saved")) }
        form method="post" action={ "/rate/" (counter) "/reason?lang=" (lang.code()) } class="reasons" {
            input type="hidden" name="rating" value=(rating);
            (reason_buttons(texts, lang))
        }
        a href=(back) { (t("rate-back")) }
    };
    page(lang, &t("rate-why"), body, Some(&back))
}

/// A one-line answer (thanks, or why not) that returns to the faces.
fn answer_page(texts: &Texts, lang: Lang, counter: &str, status: StatusCode, key: &str) -> Response {
    let t = |key: &str| texts.get(lang, key, &[]);
    let back = faces_url(counter, lang);
    let body = html! { h1 { (t(key)) } a href=(back) { (t("rate-back")) } };
    (status, page(lang, &t(key), body, Some(&back))).into_response()
}

fn known_counter(state: &AppState, counter: &str) -> bool {
    state.branch().counters.iter().any(|c| c.id == counter)
}

fn not_found(lang: Lang) -> Response {
    (StatusCode::NOT_FOUND, page(lang, "Dawr", html! { h1 { "404" } }, None)).into_response()
}

/// The counter's rating still waiting for a reason, if its score was low.
async fn awaiting_reason(state: &AppState, counter: &str) -> Option<(RatingId, String)> {
    let counter = counter.to_string();
    let awaiting = state.engine.ask(|reply| Request::AwaitingReason { counter, reply }).await.ok()??;
    let (rated, score) = awaiting;
    crate::reports::is_low(score).then_some((rated.visit, rated.number))
}

async fn ask(state: &AppState, counter: &str, device: String, operation: Operation) -> Option<Reply> {
    let command = CounterCommand { id: None, device: None, operation, by: Some(Author::Device(device)) };
    let counter = counter.to_string();
    state.engine.ask(|tx| Request::Counter { counter, command, reply: ReplyTo::Http(tx) }).await.ok()
}

fn device_cookie(headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies.split(';').find_map(|c| c.trim().strip_prefix(&format!("{DEVICE_COOKIE}="))).map(str::to_string)
}

/// The page for a tablet that may not rate here: not enrolled (401), or another counter's (403).
fn not_this_tablet(texts: &Texts, lang: Lang, own_counter: Option<&str>) -> Response {
    let t = |key: &str| texts.get(lang, key, &[]);
    match own_counter {
        None => {
            let body = html! {
                h1 { (t("rate-not-enrolled")) }
                p { (t("rate-not-enrolled-how")) }
                (command(ADD_COMMAND))
                p { (t("rate-not-enrolled-again")) }
                (command(LINK_COMMAND))
            };
            (StatusCode::UNAUTHORIZED, page(lang, &t("rate-not-enrolled"), body, None)).into_response()
        }
        Some(counter) => {
            let text = texts.get(lang, "rate-other-counter", &[("counter", Arg::Text(counter))]);
            let body = html! { h1 { (text) } a href=(faces_url(counter, lang)) { (t("rate-back")) } };
            (StatusCode::FORBIDDEN, page(lang, &text, body, None)).into_response()
        }
    }
}

/// The rating device this browser is (by its cookie), if it rates `counter`; else the page that
/// says why not.
async fn tablet(state: &AppState, headers: &HeaderMap, counter: &str, lang: Lang) -> Result<String, Response> {
    let refused = || not_this_tablet(&state.texts, lang, None);
    let cookie = device_cookie(headers).ok_or_else(refused)?;
    let device = state.db.read(move |conn| device_links::cookie_device(conn, &cookie)).await;
    let (device, own) = match device {
        Ok(Ok(Some(device))) => device,
        Ok(Ok(None)) => return Err(refused()),
        _ => return Err(answer_page(&state.texts, lang, counter, StatusCode::SERVICE_UNAVAILABLE, "rate-later")),
    };
    if own.as_deref() != Some(counter) {
        return Err(not_this_tablet(&state.texts, lang, own.as_deref()));
    }
    Ok(device)
}

/// The form of `POST /rate/enrol`: the link's token (and the page's language).
#[derive(Debug, Deserialize)]
pub struct EnrolForm {
    /// Missing or malformed: refused like an unknown link.
    #[serde(default)]
    token: String,
    #[serde(default)]
    lang: Option<String>,
}

/// The page of a link that cannot be taken: unknown (404), or used, expired or revoked (410).
fn link_refused(texts: &Texts, lang: Lang, refusal: &device_links::LinkRefusal) -> Response {
    tracing::info!(%refusal, "an enrolment link was refused");
    let status = if *refusal == device_links::LinkRefusal::Unknown { StatusCode::NOT_FOUND } else { StatusCode::GONE };
    let text = texts.get(lang, "rate-link-refused", &[]);
    let body = html! { h1 { (text) } p { (texts.get(lang, "rate-link-refused-why", &[])) } (command(LINK_COMMAND)) };
    (status, page(lang, &text, body, None)).into_response()
}

/// The hub's command that adds an exit tablet and prints its enrolment link.
const ADD_COMMAND: &str = "dawr-hub devices add --role rating";
/// The hub's command that prints a new enrolment link for a device added before.
const LINK_COMMAND: &str = "dawr-hub devices link --device ID";

/// A command for staff to type, on a line of its own and left to right whatever the page's
/// direction (inside an Arabic sentence its words and dashes would be reordered).
fn command(command: &str) -> Markup {
    html! { p { code dir="ltr" { (command) } } }
}

fn later(texts: &Texts, lang: Lang) -> Response {
    let text = texts.get(lang, "rate-later", &[]);
    (StatusCode::SERVICE_UNAVAILABLE, page(lang, &text, html! { h1 { (text) } }, None)).into_response()
}

/// The confirmation of a good link: which counter the tablet would rate, and the one button that
/// enrols it (a form, no script).
fn enrol_confirmation(texts: &Texts, lang: Lang, token: &str, counter: &str) -> Markup {
    let title = texts.get(lang, "rate-enrol-title", &[("counter", Arg::Text(counter))]);
    html! {
        h1 { (title) }
        p { (texts.get(lang, "rate-enrol-note", &[])) }
        form method="post" action="/rate/enrol" class="reasons" {
            input type="hidden" name="token" value=(token);
            input type="hidden" name="lang" value=(lang.code());
            button type="submit" { (texts.get(lang, "rate-enrol-confirm", &[])) }
        }
        a href={ "/rate/enrol/" (token) "?lang=" (lang.other().code()) } lang=(lang.other().code()) {
            (texts.get(lang, "switch-language", &[]))
        }
    }
}

/// `GET /rate/enrol/{token}`: the enrolment link of a rating device. It takes nothing (a chat
/// app's or mail scanner's preview of the link must not use it up): a good link shows the
/// confirmation, whose form posts to [`enrol`]; any other is refused with a page saying so.
pub async fn enrol_page(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Query(q): Query<RateQuery>,
) -> Response {
    let lang = q.lang();
    let asked = token.clone();
    let checked = state.db.read(move |conn| device_links::check(conn, &asked, crate::clock::now())).await;
    match checked {
        Ok(Ok(Ok((_, counter)))) => {
            let counter = counter.unwrap_or_default();
            let body = enrol_confirmation(&state.texts, lang, &token, &counter);
            let title = state.texts.get(lang, "rate-enrol-title", &[("counter", Arg::Text(&counter))]);
            let mut response = page(lang, &title, body, None).into_response();
            response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
            response
        }
        Ok(Ok(Err(refusal))) => link_refused(&state.texts, lang, &refusal),
        _ => later(&state.texts, lang),
    }
}

/// `POST /rate/enrol`: takes the enrolment link of the form's token (once, for a printed link),
/// sets the device cookie and goes on to the device's faces page; any other is refused with a
/// page saying so. A change from another site is refused by the hub's browser guard, as for
/// every form.
pub async fn enrol(
    State(state): State<AppState>,
    over_tls: OverTls,
    headers: HeaderMap,
    Form(form): Form<EnrolForm>,
) -> Response {
    let lang = parse_lang(form.lang.as_deref()).unwrap_or_default();
    let token = form.token;
    let redeemed = state
        .db
        .write(move |conn| {
            let redeemed = device_links::redeem(conn, &token, crate::clock::now())?;
            let counter = match &redeemed {
                Ok((_, cookie)) => device_links::cookie_device(conn, cookie)?.and_then(|(_, c)| c),
                Err(_) => None,
            };
            Ok::<_, crate::devices::DeviceError>(redeemed.map(|r| (r, counter)))
        })
        .await;
    match redeemed {
        Ok(Ok(Ok(((device, cookie), counter)))) => {
            let counter = counter.unwrap_or_default();
            tracing::info!(device, "an exit tablet took its enrolment link");
            let secure = if state.guard.secure_cookies(&headers, over_tls) { "; Secure" } else { "" };
            let cookie = format!(
                "{DEVICE_COOKIE}={cookie}; Path=/rate; HttpOnly; SameSite=Strict; Max-Age={COOKIE_MAX_AGE_S}{secure}"
            );
            let headers = [
                (header::SET_COOKIE, cookie),
                (header::LOCATION, faces_url(&counter, lang)),
                (header::CACHE_CONTROL, "no-store".into()),
            ];
            (StatusCode::SEE_OTHER, headers).into_response()
        }
        Ok(Ok(Err(refusal))) => link_refused(&state.texts, lang, &refusal),
        _ => later(&state.texts, lang),
    }
}

/// `GET /rate/{counter}`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(counter): Path<String>,
    Query(q): Query<RateQuery>,
) -> Response {
    let lang = q.lang();
    if !known_counter(&state, &counter) {
        return not_found(lang);
    }
    if let Err(page) = tablet(&state, &headers, &counter, lang).await {
        return page;
    }
    let awaiting = awaiting_reason(&state, &counter).await;
    let awaiting = awaiting.as_ref().map(|(rating, ticket)| (*rating, ticket.as_str()));
    let body = faces(&state.texts, lang, &counter, awaiting);
    page(lang, &state.texts.get(lang, "rate-title", &[]), body, None).into_response()
}

/// `POST /rate/{counter}`: a face, recorded at once; a low score then asks why.
pub async fn rate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(counter): Path<String>,
    Query(q): Query<RateQuery>,
    Form(form): Form<RateForm>,
) -> Response {
    let lang = q.lang();
    let texts = &state.texts;
    if !known_counter(&state, &counter) {
        return not_found(lang);
    }
    let device = match tablet(&state, &headers, &counter, lang).await {
        Ok(device) => device,
        Err(page) => return page,
    };
    if !(1..=5).contains(&form.score) {
        let body = faces(texts, lang, &counter, None);
        return (StatusCode::BAD_REQUEST, page(lang, "Dawr", body, None)).into_response();
    }
    let asked_why = form.reason.is_none() && crate::reports::is_low(form.score);
    let reply = ask(&state, &counter, device, Operation::Rate { score: form.score, reason: form.reason }).await;
    match reply {
        Some(Reply { ok: true, rating: Some(rating), .. }) if asked_why => {
            reason_page(texts, lang, &counter, rating).into_response()
        }
        Some(Reply { ok: true, .. }) => answer_page(texts, lang, &counter, StatusCode::OK, "rate-thanks"),
        Some(Reply { error: Some(ErrorCode::AlreadyRated), .. }) => {
            answer_page(texts, lang, &counter, StatusCode::CONFLICT, "rate-already")
        }
        Some(Reply { error: Some(ErrorCode::NothingToRate), .. }) => {
            answer_page(texts, lang, &counter, StatusCode::CONFLICT, "rate-nothing")
        }
        _ => answer_page(texts, lang, &counter, StatusCode::SERVICE_UNAVAILABLE, "rate-later"),
    }
}

/// `GET /rate/{counter}/why?rating=…`: the reason page again, for the counter's low rating that
/// has none yet (otherwise back to the faces).
pub async fn why(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(counter): Path<String>,
    Query(q): Query<RateQuery>,
) -> Response {
    let lang = q.lang();
    if !known_counter(&state, &counter) {
        return not_found(lang);
    }
    if let Err(page) = tablet(&state, &headers, &counter, lang).await {
        return page;
    }
    match (awaiting_reason(&state, &counter).await, q.rating) {
        (Some((awaiting, _)), Some(rating)) if awaiting == rating => {
            reason_page(&state.texts, lang, &counter, rating).into_response()
        }
        _ => (StatusCode::SEE_OTHER, [(header::LOCATION, faces_url(&counter, lang))]).into_response(),
    }
}

/// `POST /rate/{counter}/reason`: the reason, added to the rating the form names.
pub async fn add_reason(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(counter): Path<String>,
    Query(q): Query<RateQuery>,
    Form(form): Form<ReasonForm>,
) -> Response {
    let lang = q.lang();
    let texts = &state.texts;
    if !known_counter(&state, &counter) {
        return not_found(lang);
    }
    let device = match tablet(&state, &headers, &counter, lang).await {
        Ok(device) => device,
        Err(page) => return page,
    };
    let reply = ask(&state, &counter, device, Operation::AddReason { rating: form.rating, reason: form.reason }).await;
    match reply {
        Some(Reply { ok: true, .. }) => answer_page(texts, lang, &counter, StatusCode::OK, "rate-reason-thanks"),
        Some(Reply { error: Some(ErrorCode::ReasonAlreadyGiven), .. }) => {
            answer_page(texts, lang, &counter, StatusCode::CONFLICT, "rate-reason-given")
        }
        Some(Reply { error: Some(ErrorCode::UnknownRating | ErrorCode::NothingToRate), .. }) => {
            answer_page(texts, lang, &counter, StatusCode::CONFLICT, "rate-reason-late")
        }
        _ => answer_page(texts, lang, &counter, StatusCode::SERVICE_UNAVAILABLE, "rate-later"),
    }
}
