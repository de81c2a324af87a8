//! `/join`: joining the queue from a phone (see [`crate::join`] for the rules).
//!
//! Server-rendered HTML without any script, Arabic by default (`?lang=en`), phone width; served
//! on the main listener and on the public one. Two forms: the service and the mobile
//! (`POST /join`, which sends the one-time code and goes to `/join/{handle}`), then the code
//! (`POST /join/{handle}`, which issues the remote ticket and goes to its page `/t/{token}`).
//! Both forms are guarded like every form of the hub (`dawr_web::guard`: a change from another
//! site is refused). A refusal answers the form again with what went wrong, in the visitor's
//! language, with a 4xx status; nothing here answers 500.
use std::sync::Mutex;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::ServiceSummary;
use dawr_web::WebResult;
use dawr_web::headers::private;
use dawr_web::html::{Head, LangQuery, name, page as shell};
use maud::{Markup, html};
use rand::RngCore;
use serde::Deserialize;

use super::{AppState, ClientAddress};
use crate::auth::throttle::{Key, Throttle};
use crate::domain::{QueueError, RemoteRefusal};
use crate::engine::{JoinFailure, Request};
use crate::join::{rules, store};
use crate::sms;

/// What the join pages share across requests: the throttle per client address (codes sent and
/// codes typed wrong), and a lock that makes "one live remote ticket per mobile" hold when two
/// confirmations for one mobile come at once.
pub struct Joins {
    throttle: Mutex<Throttle>,
    issuing: tokio::sync::Mutex<()>,
}

impl Default for Joins {
    fn default() -> Self {
        Joins {
            throttle: Mutex::new(Throttle::with_free_failures(rules::FREE_PER_ADDRESS)),
            issuing: tokio::sync::Mutex::new(()),
        }
    }
}

impl Joins {
    /// Seconds the address must wait, if it is throttled now.
    fn blocked(&self, address: Option<std::net::IpAddr>) -> Option<u64> {
        let (address, now) = (address?, crate::clock::now());
        let throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
        throttle.check(&Key::address(address), now).err().map(|b| b.retry_after_s(now))
    }

    /// Counts a code sent to, or typed wrong from, the address.
    fn count(&self, address: Option<std::net::IpAddr>) {
        if let Some(address) = address {
            let mut throttle = self.throttle.lock().unwrap_or_else(|e| e.into_inner());
            throttle.failed(Key::address(address), crate::clock::now());
        }
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AskForm {
    #[serde(default)]
    service: String,
    #[serde(default)]
    mobile: String,
}

#[derive(Debug, Default, Deserialize)]
pub struct CodeForm {
    #[serde(default)]
    code: String,
}

/// What went wrong, as the page says it: the text's key and its arguments.
struct Problem {
    status: StatusCode,
    key: &'static str,
    number: Option<(&'static str, f64)>,
    retry_after: Option<u64>,
}

impl Problem {
    fn new(status: StatusCode, key: &'static str) -> Problem {
        Problem { status, key, number: None, retry_after: None }
    }

    fn slow_down(seconds: u64) -> Problem {
        Problem {
            status: StatusCode::TOO_MANY_REQUESTS,
            key: "join-error-slow-down",
            number: Some(("seconds", seconds as f64)),
            retry_after: Some(seconds),
        }
    }

    fn text(&self, texts: &Texts, lang: Lang) -> String {
        match self.number {
            Some((arg, n)) => texts.get(lang, self.key, &[(arg, Arg::Number(n))]),
            None => texts.get(lang, self.key, &[]),
        }
    }
}

/// Whether a manager closed `service` (or the branch) for today.
async fn closed_today(state: &AppState, service: &str) -> WebResult<bool> {
    let today = super::closures::today(state);
    let closures = state.appointments.with(move |c| crate::bookings::store::closures_from(c, today)).await?;
    Ok(closures.iter().any(|c| c.day == today && c.service.as_deref().is_none_or(|s| s == service)))
}

/// The problem a refused join is, for the visitor.
fn join_problem(failure: &JoinFailure) -> Problem {
    match failure {
        JoinFailure::Refused(QueueError::Remote(RemoteRefusal::TooLate, _)) => {
            Problem::new(StatusCode::CONFLICT, "join-error-late")
        }
        JoinFailure::Refused(QueueError::Remote(RemoteRefusal::ClosedToday, _) | QueueError::ClosedForDay(_)) => {
            Problem::new(StatusCode::CONFLICT, "join-error-closed-today")
        }
        JoinFailure::Refused(QueueError::Remote(RemoteRefusal::Full, _)) => {
            Problem::new(StatusCode::CONFLICT, "join-error-full")
        }
        JoinFailure::Refused(_) => Problem::new(StatusCode::CONFLICT, "join-error-closed"),
        JoinFailure::Storage(_) => Problem::new(StatusCode::SERVICE_UNAVAILABLE, "join-error-unavailable"),
    }
}

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buffer);
    buffer.iter().map(|b| format!("{b:02x}")).collect()
}

fn see_other(to: &str) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/join"));
    private((StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response())
}

fn answer(status: StatusCode, html: String, retry_after: Option<u64>) -> Response {
    let mut response = private((status, Html(html)).into_response());
    if let Some(seconds) = retry_after {
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

/// `GET /join`: the services open to remote joining and the mobile.
pub async fn form(State(state): State<AppState>, Query(q): Query<LangQuery>) -> WebResult<Response> {
    let lang = q.lang();
    let services = open_services(&state).await?;
    let html = render_form(&state.texts, &state, lang, &services, None, &AskForm::default());
    Ok(answer(StatusCode::OK, html, None))
}

async fn open_services(state: &AppState) -> WebResult<Vec<ServiceSummary>> {
    if state.sms.is_none() {
        return Ok(Vec::new());
    }
    Ok(state.engine.ask(|reply| Request::RemoteServices { reply }).await?)
}

/// `POST /join`: sends a one-time code to the mobile, then asks for it.
pub async fn ask(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Query(q): Query<LangQuery>,
    axum::Form(form): axum::Form<AskForm>,
) -> WebResult<Response> {
    let lang = q.lang();
    let services = open_services(&state).await?;
    let refuse = |problem: Problem| {
        let html = render_form(&state.texts, &state, lang, &services, Some(&problem), &form);
        Ok(answer(problem.status, html, problem.retry_after))
    };
    let Some(wake) = state.sms.clone() else {
        return refuse(Problem::new(StatusCode::CONFLICT, "join-unavailable"));
    };
    if let Some(seconds) = state.joins.blocked(address) {
        return refuse(Problem::slow_down(seconds));
    }
    if form.service.is_empty() {
        return refuse(Problem::new(StatusCode::BAD_REQUEST, "join-error-service"));
    }
    if !services.iter().any(|s| s.code == form.service) {
        let key =
            if closed_today(&state, &form.service).await? { "join-error-closed-today" } else { "join-error-closed" };
        return refuse(Problem::new(StatusCode::CONFLICT, key));
    }
    let Some(mobile) = sms::rules::saudi_mobile(&form.mobile) else {
        return refuse(Problem::new(StatusCode::BAD_REQUEST, "join-error-mobile"));
    };
    let (handle, now) = (random_hex(16), crate::clock::now());
    let code = rules::code_from(rand::rng().next_u64());
    let code_mac = state.visitor_key.code_mac(&handle, &code);
    let text = sms::rules::sms_text(&state.texts.get(lang, "sms-join-code", &[("code", Arg::Text(&code))]));
    let (branch, service, stored_handle) = (state.branch().id.clone(), form.service.clone(), handle.clone());
    let sent = state
        .db
        .write(move |c| -> rusqlite::Result<Option<Problem>> {
            let tx = c.transaction()?;
            if store::live_ticket_of(&tx, &mobile)?.is_some() {
                return Ok(Some(Problem::new(StatusCode::CONFLICT, "join-error-has-ticket")));
            }
            if store::codes_since(&tx, &mobile, now - rules::CODES_WINDOW)? >= rules::CODES_PER_MOBILE {
                let mut problem = Problem::new(StatusCode::TOO_MANY_REQUESTS, "join-error-too-many-codes");
                problem.retry_after = Some(rules::CODES_WINDOW.num_seconds() as u64);
                return Ok(Some(problem));
            }
            let expires = now + rules::CODE_TTL;
            store::put_code(&tx, &stored_handle, &mobile, &service, lang.code(), &code_mac, now, expires)?;
            sms::outbox::put(&tx, &branch, &mobile, "otp", &text, now)?;
            tx.commit()?;
            Ok(None)
        })
        .await?;
    match sent {
        Ok(Some(problem)) => return refuse(problem),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(error = %e, "a join code could not be stored");
            return refuse(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "join-error-unavailable"));
        }
    }
    state.joins.count(address);
    wake.notify_one();
    Ok(see_other(&format!("/join/{handle}?lang={}", lang.code())))
}

fn is_handle(text: &str) -> bool {
    text.len() == 32 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

async fn pending(state: &AppState, handle: &str) -> WebResult<Option<rules::Pending>> {
    if !is_handle(handle) {
        return Ok(None);
    }
    let handle = handle.to_string();
    Ok(state.db.read(move |c| store::pending(c, &handle)).await??)
}

/// `GET /join/{handle}`: the form for the code.
pub async fn code_form(
    State(state): State<AppState>,
    Path(handle): Path<String>,
    Query(q): Query<LangQuery>,
) -> WebResult<Response> {
    let lang = q.lang();
    let Some(pending) = pending(&state, &handle).await? else {
        let problem = Problem::new(StatusCode::NOT_FOUND, "join-error-unknown");
        return Ok(answer(problem.status, render_problem(&state.texts, &state, lang, &problem), None));
    };
    Ok(answer(StatusCode::OK, render_code_form(&state.texts, &state, lang, &pending, None), None))
}

/// `POST /join/{handle}`: checks the code; the right one issues the remote ticket and goes to
/// its page.
pub async fn confirm(
    State(state): State<AppState>,
    ClientAddress(address): ClientAddress,
    Path(handle): Path<String>,
    Query(q): Query<LangQuery>,
    axum::Form(form): axum::Form<CodeForm>,
) -> WebResult<Response> {
    let lang = q.lang();
    let texts = &state.texts;
    let Some(pending) = pending(&state, &handle).await? else {
        let problem = Problem::new(StatusCode::NOT_FOUND, "join-error-unknown");
        return Ok(answer(problem.status, render_problem(texts, &state, lang, &problem), None));
    };
    let again = |problem: Problem| {
        let html = render_code_form(texts, &state, lang, &pending, Some(&problem));
        Ok(answer(problem.status, html, problem.retry_after))
    };
    let ended = |problem: Problem| Ok(answer(problem.status, render_problem(texts, &state, lang, &problem), None));
    if let Some(seconds) = state.joins.blocked(address) {
        return again(Problem::slow_down(seconds));
    }
    match rules::may_try(&pending, crate::clock::now()) {
        Ok(()) => {}
        Err(rules::CodeRefusal::Used) => return ended(Problem::new(StatusCode::CONFLICT, "join-error-code-used")),
        Err(rules::CodeRefusal::Expired) => return ended(Problem::new(StatusCode::GONE, "join-error-code-expired")),
        Err(rules::CodeRefusal::TooManyWrong) => {
            return ended(Problem::new(StatusCode::TOO_MANY_REQUESTS, "join-error-code-used-up"));
        }
    }
    let Some(code) = rules::typed_code(&form.code) else {
        return again(Problem::new(StatusCode::BAD_REQUEST, "join-error-code-shape"));
    };
    if !state.visitor_key.code_matches(&handle, &code, &pending.code_mac) {
        let wrong = handle.clone();
        state.db.write(move |c| store::wrong_code(c, &wrong)).await??;
        state.joins.count(address);
        let left = rules::MAX_WRONG.saturating_sub(pending.attempts + 1);
        if left == 0 {
            return ended(Problem::new(StatusCode::TOO_MANY_REQUESTS, "join-error-code-used-up"));
        }
        let mut problem = Problem::new(StatusCode::BAD_REQUEST, "join-error-wrong-code");
        problem.number = Some(("left", f64::from(left)));
        return again(problem);
    }
    match issue(&state, &pending).await? {
        Ok(token) => Ok(see_other(&format!("/t/{token}?lang={}", pending_lang(&pending).code()))),
        Err(problem) => ended(problem),
    }
}

fn pending_lang(pending: &rules::Pending) -> Lang {
    if pending.lang == "en" { Lang::En } else { Lang::Ar }
}

/// Uses the code and issues the remote ticket (one live per mobile); its page token.
async fn issue(state: &AppState, pending: &rules::Pending) -> WebResult<Result<String, Problem>> {
    let _one_at_a_time = state.joins.issuing.lock().await;
    let (handle, mobile, now) = (pending.handle.clone(), pending.mobile.clone(), crate::clock::now());
    let used = state
        .db
        .write(move |c| -> rusqlite::Result<Option<Problem>> {
            let tx = c.transaction()?;
            if !store::use_code(&tx, &handle, now)? {
                return Ok(Some(Problem::new(StatusCode::CONFLICT, "join-error-code-used")));
            }
            if store::live_ticket_of(&tx, &mobile)?.is_some() {
                return Ok(Some(Problem::new(StatusCode::CONFLICT, "join-error-has-ticket")));
            }
            tx.commit()?;
            Ok(None)
        })
        .await??;
    if let Some(problem) = used {
        return Ok(Err(problem));
    }
    let service = pending.service.clone();
    let ticket = match state.engine.ask(|reply| Request::JoinRemote { service, reply }).await? {
        Ok(ticket) => ticket,
        Err(failure) => return Ok(Err(join_problem(&failure))),
    };
    let (visit, mobile, lang) = (ticket.id as i64, pending.mobile.clone(), pending.lang.clone());
    let mut random = [0u8; rules::CHECKIN_LENGTH];
    rand::rng().fill_bytes(&mut random);
    let checkin_code = rules::checkin_code_from(random);
    state.db.write(move |c| store::record_join(c, visit, &mobile, &checkin_code, &lang, now)).await??;
    tracing::info!(ticket = %ticket.number, "remote ticket issued");
    Ok(Ok(ticket.token))
}

const STYLE: &str = "\
:root{color-scheme:light;--ink:#10231d;--brand:#0b6e4f;--muted:#4a5a54;--bad:#b3261e}\
body{margin:0;color:var(--ink);background:#f4f7f5;line-height:1.5}\
header{background:var(--brand);color:#fff;padding:12px 16px;font-size:1rem}\
main{max-width:32rem;margin:0 auto;padding:16px}\
h1{font-size:1.5rem;margin:0 0 8px}\
.card{background:#fff;border-radius:12px;padding:20px;box-shadow:0 1px 3px rgba(0,0,0,.12)}\
.intro,.hint{color:var(--muted);margin:0 0 16px}\
fieldset{border:0;padding:0;margin:0 0 16px}legend{font-weight:700;margin-bottom:8px}\
.service{display:flex;gap:12px;align-items:flex-start;border:1px solid #c9d6d0;border-radius:10px;padding:12px;margin-bottom:8px}\
.service input{margin-top:6px;width:1.2rem;height:1.2rem}\
.service .name{font-weight:600;display:block}.service .wait{color:var(--muted);display:block;font-size:.95rem}\
label.field{display:block;font-weight:700;margin-bottom:4px}\
input.text{font:inherit;font-size:1.3rem;width:100%;padding:10px;border:1px solid #8fa39b;border-radius:10px;direction:ltr;text-align:start}\
input.code{letter-spacing:.3em;text-align:center}\
.mobile{font-size:1.3rem;font-weight:700;text-align:center;margin:0 0 16px}\
button{font:inherit;font-size:1.15rem;font-weight:700;width:100%;padding:14px;margin-top:16px;border:0;border-radius:10px;background:var(--brand);color:#fff}\
.problem{background:#fdecea;color:var(--bad);border-radius:8px;padding:12px;margin:0 0 16px;font-weight:600}\
.switch,.again{display:inline-block;margin-top:16px;color:var(--brand);font-weight:600;padding:8px}\
";

/// The page around a card.
fn join_page(texts: &Texts, state: &AppState, lang: Lang, card: Markup) -> String {
    let title = texts.get(lang, "join-title", &[]);
    let other = lang.other().code();
    let body = html! {
        header { (name(&state.branch().name, lang)) }
        main {
            section class="card" { (card) }
            a class="switch" href={ "?lang=" (other) } lang=(other) { (texts.get(lang, "switch-language", &[])) }
        }
    };
    shell(Head::new(lang, &title, STYLE).noindex(), body).into_string()
}

fn problem_line(texts: &Texts, lang: Lang, problem: Option<&Problem>) -> Markup {
    html! { @if let Some(p) = problem { p class="problem" role="alert" { (p.text(texts, lang)) } } }
}

fn wait_text(texts: &Texts, lang: Lang, service: &ServiceSummary) -> String {
    let waiting = texts.get(lang, "join-waiting", &[("waiting", Arg::Number(f64::from(service.waiting)))]);
    let [low, high] = service.estimated_wait_range_s;
    let estimate = if high == 0 {
        texts.get(lang, "join-estimate-now", &[])
    } else {
        let minutes = |s: u32| f64::from(s.div_ceil(60));
        texts.get(
            lang,
            "join-estimate",
            &[("low", Arg::Number(minutes(low))), ("high", Arg::Number(minutes(high).max(1.0)))],
        )
    };
    format!("{waiting} · {estimate}")
}

/// The first form: service and mobile.
fn render_form(
    texts: &Texts,
    state: &AppState,
    lang: Lang,
    services: &[ServiceSummary],
    problem: Option<&Problem>,
    typed: &AskForm,
) -> String {
    let t = |key: &str| texts.get(lang, key, &[]);
    let card = html! {
        h1 { (t("join-title")) }
        @if state.sms.is_none() {
            p { (t("join-unavailable")) }
        } @else if services.is_empty() {
            (problem_line(texts, lang, problem))
            p { (t("join-none-open")) }
        } @else {
            p class="intro" { (t("join-intro")) }
            (problem_line(texts, lang, problem))
            form method="post" action={ "/join?lang=" (lang.code()) } {
                fieldset {
                    legend { (t("join-service")) }
                    @for (i, s) in services.iter().enumerate() {
                        @let checked = typed.service == s.code || (typed.service.is_empty() && i == 0 && services.len() == 1);
                        label class="service" {
                            input type="radio" name="service" value=(s.code) checked[checked] required;
                            span {
                                span class="name" { (name(&s.name, lang)) }
                                span class="wait" { (wait_text(texts, lang, s)) }
                            }
                        }
                    }
                }
                label class="field" for="mobile" { (t("join-mobile")) }
                p class="hint" id="mobile-hint" { (t("join-mobile-hint")) }
                input class="text" type="tel" id="mobile" name="mobile" value=(typed.mobile) inputmode="tel"
                    autocomplete="tel" placeholder="05XXXXXXXX" aria-describedby="mobile-hint" required;
                button type="submit" { (t("join-send-code")) }
            }
        }
    };
    join_page(texts, state, lang, card)
}

/// The second form: the code.
fn render_code_form(
    texts: &Texts,
    state: &AppState,
    lang: Lang,
    pending: &rules::Pending,
    problem: Option<&Problem>,
) -> String {
    let t = |key: &str| texts.get(lang, key, &[]);
    let masked = rules::masked(&pending.mobile);
    let card = html! {
        h1 { (t("join-code-title")) }
        p class="intro" { (t("join-code-sent")) }
        // On its own line, left to right (in Arabic text its digits would be reordered).
        p class="mobile" dir="ltr" { (masked) }
        (problem_line(texts, lang, problem))
        form method="post" action={ "/join/" (pending.handle) "?lang=" (lang.code()) } {
            label class="field" for="code" { (t("join-code-label")) }
            input class="text code" type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code"
                pattern="[0-9٠-٩ ]*" maxlength="12" required;
            button type="submit" { (t("join-confirm")) }
        }
        a class="again" href={ "/join?lang=" (lang.code()) } { (t("join-new-code")) }
    };
    join_page(texts, state, lang, card)
}

/// A page that ends the attempt: what went wrong, and the way back to the start.
fn render_problem(texts: &Texts, state: &AppState, lang: Lang, problem: &Problem) -> String {
    let card = html! {
        h1 { (texts.get(lang, "join-title", &[])) }
        (problem_line(texts, lang, Some(problem)))
        a class="again" href={ "/join?lang=" (lang.code()) } { (texts.get(lang, "join-new-code", &[])) }
    };
    join_page(texts, state, lang, card)
}
