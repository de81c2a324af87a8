//! The citizen's pages: choose a branch, a service, a day and a time, give name, ID number and
//! mobile, get the booking page (code, QR, calendar file), find, change or cancel a booking.
//!
//! Server-rendered HTML in Arabic (default, right to left) or English (`?lang=en`, or the form's
//! `lang` field), plain forms and links that work without JavaScript, one small inline style
//! sheet. A refused form comes back with the values kept, a summary of the problems at the top
//! (focused, each linking to its field) and each field's message beside it, in the page's
//! language. Every text comes from `dawr-i18n`; the pages are maud templates, so every value put
//! into a page is escaped.
//! Whoever holds a booking page's address (`/c/{token}`) may see and change that booking: it is
//! given out only after booking, or after the booking code *and* the ID number were typed.
use std::net::SocketAddr;

use axum::Form;
use axum::extract::rejection::FormRejection;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dawr_i18n::{Arg, HijriDate, Lang, Texts};
use dawr_web::headers::private;
use dawr_web::html::{Head, name, page, parse_lang};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;

use crate::config::{Branch, Service};
use crate::ics;
use crate::service::{BookingInput, Core, Field, FieldIssue, Refusal, SlotView};
use crate::slots;
use crate::store::{Booking, Status};

/// `?lang=` and `?date=`.
#[derive(Deserialize, Default)]
pub struct PageQuery {
    lang: Option<String>,
    date: Option<String>,
    new: Option<String>,
}

impl PageQuery {
    fn lang(&self) -> Lang {
        parse_lang(self.lang.as_deref()).unwrap_or_default()
    }
}

/// The texts in the page's language.
struct T<'a> {
    texts: &'a Texts,
    lang: Lang,
}

impl T<'_> {
    fn get(&self, key: &str) -> String {
        self.texts.get(self.lang, key, &[])
    }

    fn args(&self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.texts.get(self.lang, key, args)
    }
}

const STYLE: &str = "\
:root{color-scheme:light;--ink:#10231d;--brand:#0b6e4f;--muted:#4a5a54;--line:#c9d3cf;--bad:#b3261e;--soft:#e6f2ec}\
body{margin:0;color:var(--ink);background:#f4f7f5;line-height:1.5;font-size:1.05rem}\
header{background:var(--brand);color:#fff;padding:12px max(16px,calc(50% - 18rem + 16px))}\
header a{color:#fff;text-decoration:none;font-weight:700}\
header p{margin:0;font-size:.95rem}\
main{max-width:36rem;margin:0 auto;padding:16px}\
h1{font-size:1.4rem;margin:8px 0 16px}\
h2{font-size:1.15rem;margin:20px 0 8px}\
a{color:var(--brand)}\
:focus-visible{outline:3px solid #f2a900;outline-offset:2px}\
.card{background:#fff;border-radius:12px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.12);margin-bottom:16px}\
ul.choices{list-style:none;padding:0;margin:0}\
ul.choices li{margin:0 0 8px}\
ul.choices a{display:block;background:#fff;border:1px solid var(--line);border-radius:10px;padding:14px 16px;font-weight:600;text-decoration:none}\
nav.days{display:flex;gap:8px;overflow-x:auto;padding-bottom:6px}\
nav.days a{flex:0 0 auto;text-align:center;border:1px solid var(--line);background:#fff;border-radius:10px;padding:6px 10px;text-decoration:none;color:var(--ink);min-width:5.5rem}\
nav.days a[aria-current]{background:var(--brand);color:#fff;border-color:var(--brand)}\
nav.days small{display:block;font-size:.8rem}\
fieldset{border:0;padding:0;margin:0 0 12px}\
legend{font-weight:700;font-size:1.15rem;padding:0;margin:16px 0 8px}\
.slots{display:grid;grid-template-columns:repeat(auto-fill,minmax(6.5rem,1fr));gap:8px}\
.slot{display:flex;align-items:center;gap:6px;background:#fff;border:1px solid var(--line);border-radius:10px;padding:8px 10px;cursor:pointer}\
.slot.full{color:var(--muted);background:#eceff1;cursor:not-allowed}\
.slot small{display:block;font-size:.8rem;color:var(--muted)}\
.slot:has(input:checked){border:2px solid var(--brand);background:var(--soft)}\
label.field{display:block;font-weight:600;margin:12px 0 4px}\
.hint{display:block;font-weight:400;color:var(--muted);font-size:.9rem}\
input[type=text],input[type=tel]{width:100%;font:inherit;padding:10px 12px;border:1px solid #6b7b75;border-radius:8px;background:#fff}\
input[aria-invalid=true]{border:2px solid var(--bad)}\
.error{color:var(--bad);font-weight:600;margin:4px 0 0}\
.errors{border:2px solid var(--bad);border-radius:10px;background:#fff;padding:8px 16px;margin-bottom:16px}\
.errors h2{color:var(--bad);margin:8px 0}\
.errors a{color:var(--bad)}\
button{font:inherit;font-weight:700;background:var(--brand);color:#fff;border:0;border-radius:10px;padding:12px 20px;margin-top:16px;cursor:pointer;width:100%}\
button.secondary{background:#fff;color:var(--bad);border:2px solid var(--bad)}\
button.link{width:auto;background:none;color:var(--brand);padding:8px 4px;margin:0;text-decoration:underline;font-weight:600}\
.code{font-size:2.2rem;font-weight:700;letter-spacing:.12em;text-align:center;margin:0}\
.qr{display:flex;justify-content:center;margin:8px 0}\
.qr svg{width:200px;height:200px}\
.center{text-align:center}\
dl{display:grid;grid-template-columns:auto 1fr;gap:6px 12px;margin:0}\
dt{color:var(--muted)}\
dd{margin:0;font-weight:600}\
.ltr{direction:ltr;unicode-bidi:isolate;display:inline-block}\
.note{color:var(--muted);font-size:.95rem}\
.status-cancelled{color:var(--bad)}\
a.button{display:block;text-align:center;font-weight:700;background:var(--brand);color:#fff;border-radius:10px;padding:12px 20px;margin-top:16px;text-decoration:none}\
footer{max-width:36rem;margin:0 auto;padding:0 16px 24px;display:flex;flex-wrap:wrap;gap:16px}\
footer a{font-weight:600;padding:8px 0}\
";

/// The whole page around `body`.
fn layout(t: &T<'_>, title: &str, branch: Option<&Branch>, body: Markup, switch_href: &str) -> String {
    let lang = t.lang;
    let other = lang.other().code();
    let body = html! {
        header {
            a href={ "/?lang=" (lang.code()) } { (t.get("appt-site-title")) }
            @if let Some(b) = branch { p { (name(&b.name, lang)) } }
        }
        main id="main" { (body) }
        footer {
            a href=(switch_href) lang=(other) hreflang=(other) { (t.get("switch-language")) }
            a href={ "/manage?lang=" (lang.code()) } { (t.get("appt-manage-link")) }
        }
    };
    page(Head::new(lang, title, STYLE), body).into_string()
}

pub(crate) fn not_found(core: &Core, lang: Lang) -> Response {
    let t = T { texts: &core.texts, lang };
    let title = t.get("appt-not-found-title");
    let body = html! {
        h1 { (title) }
        p { (t.get("appt-not-found")) }
        p { a href={ "/?lang=" (lang.code()) } { (t.get("appt-new-booking")) } }
    };
    let html = layout(&t, &title, None, body, &format!("?lang={}", lang.other().code()));
    (StatusCode::NOT_FOUND, Html(html)).into_response()
}

fn unavailable(core: &Core, lang: Lang) -> Response {
    let mut response = not_found(core, lang);
    *response.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    response
}

/// The national sign-in failed (`crate::signin`): one generic message, whatever the reason (the
/// log has it), and the way to try again.
pub(crate) fn signin_failed(core: &Core, lang: Lang, status: StatusCode, return_to: &str) -> Response {
    signin_refused(core, lang, status, return_to, "appt-signin-failed")
}

/// A sign-in step refused because this client asked too often (`crate::ratelimit`): 429 with
/// `Retry-After`, the message every other page shows for it, and the way to try again.
pub(crate) fn signin_rate_limited(core: &Core, lang: Lang, return_to: &str) -> Response {
    let page = signin_refused(core, lang, StatusCode::TOO_MANY_REQUESTS, return_to, RATE_LIMITED);
    with_retry_after(page, Some(core.limiter.refill_seconds()))
}

/// A refused form's page (`html`, `status`), never cached; a 429 says when to ask again
/// (`Retry-After`, from [`Problems::retry_after`]).
fn refused_form(status: StatusCode, retry_after: Option<u64>, html: String) -> Response {
    with_retry_after(private((status, Html(html)).into_response()), retry_after)
}

/// `page` with `Retry-After: seconds`, when there are some.
fn with_retry_after(mut page: Response, seconds: Option<u64>) -> Response {
    if let Some(seconds) = seconds {
        page.headers_mut().insert(header::RETRY_AFTER, seconds.into());
    }
    page
}

/// The sign-in's refusal page: `key`'s message and a link to sign in again, back to `return_to`.
fn signin_refused(core: &Core, lang: Lang, status: StatusCode, return_to: &str, key: &str) -> Response {
    let t = T { texts: &core.texts, lang };
    let title = t.get("appt-signin-failed-title");
    let again = crate::signin::signin_href(return_to, lang);
    let body = html! {
        h1 { (title) }
        div class="errors" role="alert" { p { (t.get(key)) } }
        p { a class="button" href=(again) { (t.get("appt-signin-again")) } }
    };
    let html = layout(&t, &title, None, body, &format!("/?lang={}", lang.other().code()));
    private((status, Html(html)).into_response())
}

/// A refusal that has no form to go back to.
fn refusal_page(core: &Core, lang: Lang, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Storage(e) => {
            tracing::error!(error = %e, "storage");
            unavailable(core, lang)
        }
        _ => not_found(core, lang),
    }
}

fn weekday(t: &T<'_>, day: NaiveDate) -> String {
    t.get(&format!("appt-weekday-{}", day.weekday().num_days_from_sunday()))
}

/// `الثلاثاء 14 جمادى الآخرة 1448 هـ · 2026-11-24`.
fn long_date(t: &T<'_>, day: NaiveDate) -> Markup {
    let hijri = HijriDate::from_gregorian(day.year(), day.month() as u8, day.day() as u8);
    html! {
        (weekday(t, day)) " "
        @if let Some(h) = hijri { (t.texts.hijri_date(t.lang, h)) " · " }
        span class="ltr" { (day) }
    }
}

fn time_range(branch: &Branch, start: DateTime<Utc>) -> Markup {
    let (from, to) = (slots::local_time(branch, start), slots::local_time(branch, slots::slot_end(branch, start)));
    html! { span class="ltr" { (from) "–" (to) } }
}

/// A page that lists links, one a choice.
fn choices(items: impl Iterator<Item = (String, String)>) -> Markup {
    html! { ul class="choices" { @for (href, label) in items { li { a href=(href) { (label) } } } } }
}

/// `GET /`: the branches.
pub async fn home(State(core): State<Core>, Query(q): Query<PageQuery>) -> Response {
    let lang = q.lang();
    let t = T { texts: &core.texts, lang };
    let items = core
        .site
        .branches
        .iter()
        .map(|b| (format!("/b/{}?lang={}", b.id, lang.code()), name(&b.name, lang).to_string()));
    let title = t.get("appt-choose-branch");
    let body = html! { h1 { (title) } (choices(items)) };
    Html(layout(&t, &title, None, body, &format!("?lang={}", lang.other().code()))).into_response()
}

/// `GET /b/{branch}`: its services.
pub async fn branch(State(core): State<Core>, Path(branch): Path<String>, Query(q): Query<PageQuery>) -> Response {
    let lang = q.lang();
    let Some(b) = core.site.branch(&branch) else { return not_found(&core, lang) };
    let t = T { texts: &core.texts, lang };
    let items = b
        .services
        .iter()
        .map(|s| (format!("/b/{}/{}?lang={}", b.id, s.code, lang.code()), name(&s.name, lang).to_string()));
    let title = t.get("appt-choose-service");
    let body = html! { h1 { (title) } (choices(items)) };
    Html(layout(&t, &title, Some(b), body, &format!("?lang={}", lang.other().code()))).into_response()
}

/// The problems of a refused form, by field.
#[derive(Default)]
struct Problems(Vec<(Option<Field>, &'static str)>);

/// The problem of a client that asked too often (`crate::ratelimit`; 429).
const RATE_LIMITED: &str = "appt-error-rate-limited";
/// The problem of a mobile or an address sent as many codes as it may be (429).
const TOO_MANY_CODES: &str = "appt-error-too-many-codes";

impl Problems {
    /// A client that asked too often.
    fn rate_limited() -> Problems {
        Problems(vec![(None, RATE_LIMITED)])
    }

    /// Seconds after which asking again may succeed, for the `Retry-After` of a page refused
    /// 429: when the client earns a request back, or when the codes' window has passed.
    fn retry_after(&self, core: &Core) -> Option<u64> {
        self.0.iter().find_map(|(_, key)| match *key {
            RATE_LIMITED => Some(core.limiter.refill_seconds()),
            TOO_MANY_CODES => Some(crate::service::codes_retry_after()),
            _ => None,
        })
    }

    fn for_field(&self, field: Field) -> Option<&'static str> {
        self.0.iter().find(|(f, _)| *f == Some(field)).map(|(_, k)| *k)
    }

    fn from_refusal(refusal: &Refusal) -> Option<Problems> {
        let one = |field, key| Some(Problems(vec![(field, key)]));
        match refusal {
            Refusal::Fields(issues) => {
                Some(Problems(issues.iter().map(|i: &FieldIssue| (Some(i.field), i.key)).collect()))
            }
            Refusal::Full => one(Some(Field::Start), "appt-error-slot-full"),
            // No field named: the refusal must not point at the ID number.
            Refusal::NotBookable => one(None, "appt-error-not-bookable"),
            Refusal::NotFound => one(Some(Field::Code), "appt-error-not-found"),
            Refusal::NotActive(_) => one(None, "appt-error-not-active"),
            Refusal::Busy => one(None, "appt-error-busy"),
            Refusal::TooManyCodes => one(None, TOO_MANY_CODES),
            Refusal::CodeShape => one(Some(Field::Code), "appt-error-otp-shape"),
            Refusal::WrongCode { .. } => one(Some(Field::Code), "appt-error-otp-wrong"),
            Refusal::NotFull => one(Some(Field::Start), "appt-error-not-full"),
            Refusal::ListFull => one(Some(Field::Start), "appt-error-list-full"),
            _ => None,
        }
    }

    /// The summary at the top of the form: focused on load, each problem links to its field.
    fn summary(&self, t: &T<'_>) -> Markup {
        if self.0.is_empty() {
            return html! {};
        }
        html! {
            div class="errors" id="errors" role="alert" tabindex="-1" autofocus {
                h2 { (t.get("appt-errors-title")) }
                ul {
                    @for (field, key) in &self.0 {
                        @match field {
                            Some(f) => li { a href={ "#" (input_id(*f)) } { (t.get(key)) } },
                            None => li { (t.get(key)) },
                        }
                    }
                }
            }
        }
    }
}

fn input_id(field: Field) -> &'static str {
    match field {
        Field::Start => "slots",
        Field::Name => "name",
        Field::NationalId => "national_id",
        Field::Phone => "phone",
        Field::Code => "code",
    }
}

/// A labelled text input: what it asks (its field, label and hint keys) and how phones should
/// offer to fill it.
struct TextInput {
    field: Field,
    label: &'static str,
    hint: Option<&'static str>,
    /// `text`, or `tel` for a phone number.
    kind: &'static str,
    autocomplete: &'static str,
    inputmode: Option<&'static str>,
    maxlength: u32,
    /// `ltr` for numbers and codes typed in Latin digits.
    dir: Option<&'static str>,
    autocapitalize: Option<&'static str>,
}

const NAME_INPUT: TextInput = TextInput {
    field: Field::Name,
    label: "appt-field-name",
    hint: None,
    kind: "text",
    autocomplete: "name",
    inputmode: None,
    maxlength: 100,
    dir: None,
    autocapitalize: None,
};

const ID_INPUT: TextInput = TextInput {
    field: Field::NationalId,
    label: "appt-field-id",
    hint: Some("appt-field-id-hint"),
    kind: "text",
    autocomplete: "off",
    inputmode: Some("numeric"),
    maxlength: 20,
    dir: None,
    autocapitalize: None,
};

const PHONE_INPUT: TextInput = TextInput {
    field: Field::Phone,
    label: "appt-field-phone",
    hint: Some("appt-field-phone-hint"),
    kind: "tel",
    autocomplete: "tel",
    inputmode: Some("tel"),
    maxlength: 20,
    dir: Some("ltr"),
    autocapitalize: None,
};

const CODE_INPUT: TextInput = TextInput {
    field: Field::Code,
    label: "appt-field-code",
    hint: None,
    kind: "text",
    autocomplete: "off",
    inputmode: None,
    maxlength: 20,
    dir: Some("ltr"),
    autocapitalize: Some("characters"),
};

/// The one-time code from the SMS (the confirmation page has no booking code to mix it with).
const OTP_INPUT: TextInput = TextInput {
    field: Field::Code,
    label: "appt-field-otp",
    hint: Some("appt-field-otp-hint"),
    kind: "text",
    autocomplete: "one-time-code",
    inputmode: Some("numeric"),
    maxlength: 12,
    dir: Some("ltr"),
    autocapitalize: None,
};

/// A labelled text input with its hint and its error.
fn text_input(t: &T<'_>, input: &TextInput, value: &str, problems: &Problems) -> Markup {
    let id = input_id(input.field);
    let error = problems.for_field(input.field);
    let hint_id = input.hint.map(|_| format!("{id}-hint"));
    let error_id = error.map(|_| format!("{id}-error"));
    let described: Vec<&str> = hint_id.iter().chain(&error_id).map(String::as_str).collect();
    let described = (!described.is_empty()).then(|| described.join(" "));
    html! {
        label class="field" for=(id) {
            (t.get(input.label))
            @if let (Some(hint), Some(hint_id)) = (input.hint, &hint_id) { span class="hint" id=(hint_id) { (t.get(hint)) } }
        }
        input type=(input.kind) id=(id) name=(input.field.name()) value=(value) required
            inputmode=[input.inputmode] autocomplete=(input.autocomplete) maxlength=(input.maxlength)
            dir=[input.dir] autocapitalize=[input.autocapitalize]
            aria-describedby=[described] aria-invalid=[error.map(|_| "true")];
        @if let (Some(key), Some(error_id)) = (error, &error_id) { p class="error" id=(error_id) { (t.get(key)) } }
    }
}

/// The days offered, the day shown and its slots.
struct DayChoice<'a> {
    days: &'a [NaiveDate],
    day: Option<NaiveDate>,
    slots: &'a [SlotView],
    /// Full times may be chosen to join their waiting list.
    waiting: bool,
}

/// The day links and the times of the chosen day.
fn slot_picker(
    t: &T<'_>,
    base: &str,
    choice: DayChoice<'_>,
    branch: &Branch,
    chosen: &str,
    problems: &Problems,
) -> Markup {
    let DayChoice { days, day, .. } = choice;
    if days.is_empty() {
        return html! { p { (t.get("appt-no-days")) } };
    }
    html! {
        h2 id="days-title" { (t.get("appt-choose-day")) }
        nav class="days" aria-labelledby="days-title" {
            @for d in days {
                a href={ (base) "?date=" (d) "&lang=" (t.lang.code()) } aria-current=[(Some(*d) == day).then_some("date")] {
                    (weekday(t, *d)) small class="ltr" { (d.format("%d/%m")) }
                }
            }
        }
        @if let Some(day) = day { (day_slots(t, day, &choice, branch, chosen, problems)) }
    }
}

/// The times of one day, as radio buttons (full ones disabled, or, with `waiting`, chosen to
/// join their waiting list).
fn day_slots(
    t: &T<'_>,
    day: NaiveDate,
    choice: &DayChoice<'_>,
    branch: &Branch,
    chosen: &str,
    problems: &Problems,
) -> Markup {
    let (slots, waiting) = (choice.slots, choice.waiting);
    let error = problems.for_field(Field::Start);
    let error_html = html! { @if let Some(key) = error { p class="error" id="slots-error" { (t.get(key)) } } };
    if slots.is_empty() {
        return html! { p { (t.get("appt-no-slots")) } (error_html) };
    }
    let first_free = slots.iter().position(|s| s.available > 0);
    let chosen = crate::service::parse_start(chosen);
    html! {
        fieldset aria-describedby=[error.map(|_| "slots-error")] {
            legend { (t.get("appt-choose-time")) " — " (long_date(t, day)) }
            (error_html)
            div class="slots" {
                @for (i, s) in slots.iter().enumerate() {
                    @let full = s.available == 0;
                    @let note = match (full, waiting) {
                        (true, true) => t.get("appt-slot-full-wait"),
                        (true, false) => t.get("appt-slot-full"),
                        _ => t.args("appt-available", &[("count", Arg::Number(f64::from(s.available)))]),
                    };
                    label class=(if full { "slot full" } else { "slot" }) {
                        input type="radio" name="start" value=(s.start.to_rfc3339())
                            id=[(Some(i) == first_free.or(waiting.then_some(0))).then_some("slots")]
                            checked[(!full || waiting) && chosen == Some(s.start)] disabled[full && !waiting] required;
                        span { span class="ltr" { (slots::local_time(branch, s.start)) } small { (note) } }
                    }
                }
            }
        }
    }
}

/// The day to show: the asked one if bookable, else the first bookable one.
fn pick_day(days: &[NaiveDate], asked: Option<&str>) -> Option<NaiveDate> {
    asked.and_then(|d| d.parse().ok()).filter(|d| days.contains(d)).or_else(|| days.first().copied())
}

struct BookForm<'a> {
    branch: &'a Branch,
    service: &'a Service,
    lang: Lang,
    date: Option<String>,
    input: BookingInput,
    problems: Problems,
    /// The ID number signed in with (`[identity]`), if any.
    signed_in: Option<String>,
}

async fn render_book_form(core: &Core, form: BookForm<'_>) -> Result<String, Refusal> {
    let BookForm { branch, service, lang, date, input, problems, signed_in } = form;
    // With the national sign-in on, the ID number is the verified one, never typed.
    let must_sign_in = core.identity.is_some() && signed_in.is_none();
    let t = T { texts: &core.texts, lang };
    let days = core.days(branch);
    let day = pick_day(&days, date.as_deref());
    let slots = match day {
        Some(d) => core.slots(&branch.id, &service.code, d).await?,
        None => Vec::new(),
    };
    let base = format!("/b/{}/{}", branch.id, service.code);
    let waiting = core.keeps_waiting_lists();
    let choice = DayChoice { days: &days, day, slots: &slots, waiting };
    let picker = slot_picker(&t, &base, choice, branch, &input.start, &problems);
    let bookable = slots.iter().any(|s| s.available > 0);
    let joinable = waiting && slots.iter().any(|s| s.available == 0);
    let title = name(&service.name, lang);
    let here = format!("{base}?lang={}{}", lang.code(), day.map_or(String::new(), |d| format!("&date={d}")));
    let body = html! {
        h1 { (title) }
        (problems.summary(&t))
        @if must_sign_in {
            p class="note" id="signin-note" { (t.get("appt-signin-needed")) }
            a class="button" href=(crate::signin::signin_href(&here, lang)) aria-describedby="signin-note" { (t.get("appt-signin-button")) }
        }
        form method="post" action=(base) novalidate {
            input type="hidden" name="lang" value=(lang.code());
            @if let Some(d) = day { input type="hidden" name="date" value=(d); }
            (picker)
            @if (bookable || joinable) && !must_sign_in {
                h2 { (t.get("appt-your-details")) }
                (text_input(&t, &NAME_INPUT, &input.name, &problems))
                @match &signed_in {
                    Some(id) => p class="note" id="signed-in" {
                        (t.get("appt-signed-in-as")) " " span class="ltr" { "••••••" (id.get(6..).unwrap_or_default()) }
                        " "
                        // The sign-out form is outside this one (forms do not nest).
                        button type="submit" form="signout" class="link" { (t.get("appt-signout-button")) }
                    },
                    None => (text_input(&t, &ID_INPUT, &input.national_id, &problems)),
                }
                (text_input(&t, &PHONE_INPUT, &input.phone, &problems))
                @if bookable { button type="submit" { (t.get("appt-book-button")) } }
                @if joinable {
                    p class="note" id="wait-note" { (t.get("appt-wait-note")) }
                    button type="submit" name="wait" value="1" class="secondary" aria-describedby="wait-note" { (t.get("appt-wait-button")) }
                }
            }
        }
        @if signed_in.is_some() {
            form id="signout" method="post" action="/signout" {
                input type="hidden" name="return_to" value=(here);
                input type="hidden" name="lang" value=(lang.code());
            }
        }
    };
    let switch = format!("{base}?lang={}{}", lang.other().code(), day.map_or(String::new(), |d| format!("&date={d}")));
    Ok(layout(&t, title, Some(branch), body, &switch))
}

/// `GET /b/{branch}/{service}`: days, times and the details form.
pub async fn service_page(
    State(core): State<Core>,
    Path((branch, service)): Path<(String, String)>,
    Query(q): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let lang = q.lang();
    let Some(b) = core.site.branch(&branch) else { return not_found(&core, lang) };
    let Some(s) = b.service(&service) else { return not_found(&core, lang) };
    let form = BookForm {
        branch: b,
        service: s,
        lang,
        date: q.date,
        input: BookingInput::default(),
        problems: Problems::default(),
        signed_in: core.signed_in(&headers),
    };
    match render_book_form(&core, form).await {
        Ok(html) => Html(html).into_response(),
        Err(r) => refusal_page(&core, lang, r),
    }
}

/// The booking form as posted.
#[derive(Deserialize, Default)]
pub struct BookPost {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    start: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    national_id: String,
    #[serde(default)]
    phone: String,
    /// Set by the "join the waiting list" button.
    #[serde(default)]
    wait: Option<String>,
}

/// Whether the client behind `addr` has no rate-limit token left (spending one if it has).
pub(crate) fn limited(core: &Core, addr: SocketAddr, headers: &HeaderMap) -> bool {
    !core.allow(addr, headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()))
}

/// `POST /b/{branch}/{service}`: book, then go to the booking page; or the form again.
pub async fn book(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path((branch, service)): Path<(String, String)>,
    headers: HeaderMap,
    form: Result<Form<BookPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let lang = parse_lang(post.lang.as_deref()).unwrap_or_default();
    let Some(b) = core.site.branch(&branch) else { return not_found(&core, lang) };
    let Some(s) = b.service(&service) else { return not_found(&core, lang) };
    let mut input = BookingInput {
        branch: branch.clone(),
        service: service.clone(),
        start: post.start,
        name: post.name,
        national_id: post.national_id,
        phone: post.phone,
    };
    let bound = core.bind_identity(&mut input, &headers);
    if bound == Err(crate::identity::Binding::NotSignedIn) {
        let here = format!("/b/{branch}/{service}?lang={}", lang.code());
        return Redirect::to(&crate::signin::signin_href(&here, lang)).into_response();
    }
    let (status, problems) = if limited(&core, addr, &headers) {
        (StatusCode::TOO_MANY_REQUESTS, Problems::rate_limited())
    } else if bound.is_err() {
        // Another ID than the signed-in one: the generic refusal of every rule about who books.
        (StatusCode::CONFLICT, Problems(vec![(None, "appt-error-not-bookable")]))
    } else {
        let done = if post.wait.is_some() {
            let client = core.client(addr, headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()));
            core.join_waiting_list(&input, lang, client).await.map(|held| {
                tracing::info!(branch = %branch, service = %service, "a waiting-list entry's code was sent");
                format!("/waiting/{}?lang={}", held.handle, lang.code())
            })
        } else if core.confirms_by_code() {
            let client = core.client(addr, headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()));
            core.hold(&input, lang, client).await.map(|held| {
                tracing::info!(branch = %branch, service = %service, "held; a code was sent");
                format!("/confirm/{}?lang={}", held.handle, lang.code())
            })
        } else {
            core.book(&input, lang).await.map(|booking| {
                tracing::info!(code = %booking.code, branch = %booking.branch, service = %booking.service, start = %booking.start, "booked");
                format!("/c/{}?lang={}&new=1", booking.token, lang.code())
            })
        };
        match done {
            Ok(next) => return Redirect::to(&next).into_response(),
            Err(Refusal::Full) if core.keeps_waiting_lists() => {
                (StatusCode::CONFLICT, Problems(vec![(Some(Field::Start), "appt-error-slot-full-wait")]))
            }
            Err(r) => match Problems::from_refusal(&r) {
                Some(p) => (refusal_status(&r), p),
                None => return refusal_page(&core, lang, r),
            },
        }
    };
    // The day of the chosen time, so the form shows the times around it.
    let date = crate::service::parse_start(&input.start).map(|s| slots::local_day(b, s).to_string()).or(post.date);
    let signed_in = core.signed_in(&headers);
    let retry_after = problems.retry_after(&core);
    let form = BookForm { branch: b, service: s, lang, date, input, problems, signed_in };
    match render_book_form(&core, form).await {
        Ok(html) => refused_form(status, retry_after, html),
        Err(r) => refusal_page(&core, lang, r),
    }
}

/// The status a refused form comes back with.
fn refusal_status(r: &Refusal) -> StatusCode {
    match r {
        Refusal::Full | Refusal::NotBookable | Refusal::NotFull | Refusal::ListFull => StatusCode::CONFLICT,
        Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        Refusal::TooManyCodes => StatusCode::TOO_MANY_REQUESTS,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// Stands for the mobile in the sentence that names it, where the page puts its own element.
const MOBILE_MARK: &str = "\u{E000}";

/// The confirmation page: the held booking, where the code went, and the field for it.
fn render_confirm(core: &Core, hold: &crate::store::Hold, lang: Lang, code: &str, problems: &Problems) -> String {
    let t = T { texts: &core.texts, lang };
    let b = &hold.booking;
    let Some(branch) = core.site.branch(&b.branch) else { return String::new() };
    let service = branch.service(&b.service).map_or(b.service.clone(), |s| name(&s.name, lang).to_string());
    let title = t.get("appt-confirm-title");
    let base = format!("/confirm/{}", hold.handle);
    // The mobile goes in its own left-to-right element: digits and dots alone set no direction.
    let mobile = dawr_web::otp::masked(&b.phone);
    let until = slots::local_time(branch, hold.expires_at);
    let sent = t.args("appt-confirm-sent", &[("mobile", Arg::Text(MOBILE_MARK)), ("time", Arg::Text(&until))]);
    let (before, after) = sent.split_once(MOBILE_MARK).unwrap_or((&sent, ""));
    let body = html! {
        h1 { (title) }
        (problems.summary(&t))
        p id="sent" { (before) span class="ltr" { (mobile) } (after) }
        section class="card" {
            dl {
                dt { (t.get("appt-detail-service")) } dd id="service" { (service) }
                dt { (t.get("appt-detail-branch")) } dd { (name(&branch.name, lang)) }
                dt { (t.get("appt-detail-date")) } dd id="date" { (long_date(&t, b.local_day)) }
                dt { (t.get("appt-detail-time")) } dd id="time" { (time_range(branch, b.start)) }
            }
        }
        form method="post" action=(base) novalidate {
            input type="hidden" name="lang" value=(lang.code());
            (text_input(&t, &OTP_INPUT, code, problems))
            button type="submit" { (t.get("appt-confirm-button")) }
        }
        p { a href={ "/b/" (b.branch) "/" (b.service) "?lang=" (lang.code()) } { (t.get("appt-confirm-again")) } }
    };
    layout(&t, &title, Some(branch), body, &format!("{base}?lang={}", lang.other().code()))
}

/// The booking was not made from this confirmation page: why, and the link to book again.
fn confirm_failed(core: &Core, hold: &crate::store::Hold, lang: Lang, status: StatusCode, key: &str) -> Response {
    let t = T { texts: &core.texts, lang };
    let b = &hold.booking;
    let title = t.get("appt-confirm-failed-title");
    let body = html! {
        h1 { (title) }
        p id="ended" role="alert" { (t.get(key)) }
        p { a href={ "/b/" (b.branch) "/" (b.service) "?lang=" (lang.code()) } { (t.get("appt-new-booking")) } }
    };
    let html = layout(&t, &title, core.site.branch(&b.branch), body, &format!("?lang={}", lang.other().code()));
    private((status, Html(html)).into_response())
}

fn hold_lang(q: Option<&str>, hold: &crate::store::Hold) -> Lang {
    parse_lang(q).or_else(|| parse_lang(Some(&hold.booking.lang))).unwrap_or_default()
}

/// `GET /confirm/{handle}`: the field for the code sent by SMS.
pub async fn confirm_page(
    State(core): State<Core>,
    Path(handle): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let hold = match core.hold_of(&handle).await {
        Ok(hold) => hold,
        Err(r) => return private(refusal_page(&core, q.lang(), r)),
    };
    let lang = hold_lang(q.lang.as_deref(), &hold);
    if dawr_web::otp::may_try(hold.code_state(), dawr_web::clock::now()).is_err() {
        return confirm_failed(&core, &hold, lang, StatusCode::GONE, "appt-code-ended");
    }
    private(Html(render_confirm(&core, &hold, lang, "", &Problems::default())).into_response())
}

/// The confirmation form as posted.
#[derive(Deserialize, Default)]
pub struct ConfirmPost {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    code: String,
}

/// `POST /confirm/{handle}`: the right code makes the booking and goes to its page; a wrong one
/// shows the form again; a code that can no longer be used says so.
pub async fn confirm(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(handle): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ConfirmPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let hold = match core.hold_of(&handle).await {
        Ok(hold) => hold,
        Err(r) => return private(refusal_page(&core, parse_lang(post.lang.as_deref()).unwrap_or_default(), r)),
    };
    let lang = hold_lang(post.lang.as_deref(), &hold);
    let again = |status: StatusCode, problems: Problems| {
        refused_form(status, problems.retry_after(&core), render_confirm(&core, &hold, lang, &post.code, &problems))
    };
    if limited(&core, addr, &headers) {
        return again(StatusCode::TOO_MANY_REQUESTS, Problems::rate_limited());
    }
    match core.confirm(&hold, &post.code).await {
        Ok(booking) => {
            tracing::info!(code = %booking.code, branch = %booking.branch, service = %booking.service, start = %booking.start, "booked, confirmed by its code");
            Redirect::to(&format!("/c/{}?lang={}&new=1", booking.token, lang.code())).into_response()
        }
        Err(Refusal::Code(_)) => confirm_failed(&core, &hold, lang, StatusCode::GONE, "appt-code-ended"),
        Err(Refusal::NotBookable) => {
            confirm_failed(&core, &hold, lang, StatusCode::CONFLICT, "appt-error-not-bookable")
        }
        Err(r) => match Problems::from_refusal(&r) {
            Some(problems) => again(refusal_status(&r), problems),
            None => private(refusal_page(&core, lang, r)),
        },
    }
}

/// A waiting-list entry's page: the field for its joining code, or where it is in line.
fn render_entry(
    core: &Core,
    entry: &crate::waiting::Entry,
    place: Option<u32>,
    lang: Lang,
    code: &str,
    problems: &Problems,
) -> String {
    let t = T { texts: &core.texts, lang };
    let Some(branch) = core.site.branch(&entry.branch) else { return String::new() };
    let service = branch.service(&entry.service).map_or(entry.service.clone(), |s| name(&s.name, lang).to_string());
    let base = format!("/waiting/{}", entry.handle);
    let card = html! {
        section class="card" {
            dl {
                dt { (t.get("appt-detail-service")) } dd id="service" { (service) }
                dt { (t.get("appt-detail-branch")) } dd { (name(&branch.name, lang)) }
                dt { (t.get("appt-detail-date")) } dd id="date" { (long_date(&t, entry.local_day)) }
                dt { (t.get("appt-detail-time")) } dd id="time" { (time_range(branch, entry.start)) }
            }
        }
    };
    let (title, body) = match entry.state {
        crate::waiting::EntryState::Unconfirmed => {
            let title = t.get("appt-wait-confirm-title");
            let mobile = dawr_web::otp::masked(&entry.phone);
            let until = slots::local_time(branch, entry.expires_at);
            let sent = t.args("appt-confirm-sent", &[("mobile", Arg::Text(MOBILE_MARK)), ("time", Arg::Text(&until))]);
            let (before, after) = sent.split_once(MOBILE_MARK).unwrap_or((&sent, ""));
            let body = html! {
                h1 { (title) }
                (problems.summary(&t))
                p id="sent" { (before) span class="ltr" { (mobile) } (after) }
                (card)
                form method="post" action=(base) novalidate {
                    input type="hidden" name="lang" value=(lang.code());
                    (text_input(&t, &OTP_INPUT, code, problems))
                    button type="submit" { (t.get("appt-wait-confirm-button")) }
                }
            };
            (title, body)
        }
        crate::waiting::EntryState::Waiting => {
            let title = t.get("appt-wait-title");
            let minutes = f64::from(core.site.waiting_list.hold_minutes);
            let body = html! {
                h1 { (title) }
                p id="place" role="status" { (t.args("appt-wait-place", &[("place", Arg::Number(f64::from(place.unwrap_or(1))))])) }
                (card)
                p class="note" { (t.args("appt-wait-how", &[("minutes", Arg::Number(minutes))])) }
            };
            (title, body)
        }
        crate::waiting::EntryState::Offered => {
            let title = t.get("appt-wait-title");
            let body = html! {
                h1 { (title) }
                p id="place" role="status" { (t.get("appt-wait-offered")) }
                (card)
                @if let Some(hold) = &entry.offer {
                    p { a href={ "/confirm/" (hold) "?lang=" (lang.code()) } { (t.get("appt-wait-offer-link")) } }
                }
            };
            (title, body)
        }
    };
    layout(&t, &title, Some(branch), body, &format!("{base}?lang={}", lang.other().code()))
}

fn entry_lang(q: Option<&str>, entry: &crate::waiting::Entry) -> Lang {
    parse_lang(q).or_else(|| parse_lang(Some(&entry.lang))).unwrap_or_default()
}

/// The entry's page as it stands, or why it cannot be shown.
async fn entry_response(core: &Core, entry: &crate::waiting::Entry, lang: Lang) -> Response {
    if entry.state == crate::waiting::EntryState::Unconfirmed
        && dawr_web::otp::may_try(entry.code_state(), dawr_web::clock::now()).is_err()
    {
        return entry_failed(core, entry, lang, StatusCode::GONE, "appt-code-ended");
    }
    match core.entry_place(entry).await {
        Ok(place) => private(Html(render_entry(core, entry, place, lang, "", &Problems::default())).into_response()),
        Err(r) => private(refusal_page(core, lang, r)),
    }
}

/// The entry did not go in line: why, and the link back to the times.
fn entry_failed(core: &Core, entry: &crate::waiting::Entry, lang: Lang, status: StatusCode, key: &str) -> Response {
    let t = T { texts: &core.texts, lang };
    let title = t.get("appt-wait-failed-title");
    let body = html! {
        h1 { (title) }
        p id="ended" role="alert" { (t.get(key)) }
        p { a href={ "/b/" (entry.branch) "/" (entry.service) "?lang=" (lang.code()) } { (t.get("appt-new-booking")) } }
    };
    let html = layout(&t, &title, core.site.branch(&entry.branch), body, &format!("?lang={}", lang.other().code()));
    private((status, Html(html)).into_response())
}

/// `GET /waiting/{handle}`: the field for the joining code, or the entry's place in line.
pub async fn entry_page(State(core): State<Core>, Path(handle): Path<String>, Query(q): Query<PageQuery>) -> Response {
    match core.entry_of(&handle).await {
        Ok(entry) => {
            let lang = entry_lang(q.lang.as_deref(), &entry);
            entry_response(&core, &entry, lang).await
        }
        Err(r) => private(refusal_page(&core, q.lang(), r)),
    }
}

/// `POST /waiting/{handle}`: the right joining code puts the entry in line (then its page shows
/// its place); a wrong one shows the form again.
pub async fn confirm_entry(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    Path(handle): Path<String>,
    headers: HeaderMap,
    form: Result<Form<ConfirmPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let entry = match core.entry_of(&handle).await {
        Ok(entry) => entry,
        Err(r) => return private(refusal_page(&core, parse_lang(post.lang.as_deref()).unwrap_or_default(), r)),
    };
    let lang = entry_lang(post.lang.as_deref(), &entry);
    let again = |status: StatusCode, problems: Problems| {
        let html = render_entry(&core, &entry, None, lang, &post.code, &problems);
        refused_form(status, problems.retry_after(&core), html)
    };
    if limited(&core, addr, &headers) {
        return again(StatusCode::TOO_MANY_REQUESTS, Problems::rate_limited());
    }
    match core.confirm_entry(&entry, &post.code).await {
        Ok(_) => {
            tracing::info!(branch = %entry.branch, service = %entry.service, "joined a waiting list");
            Redirect::to(&format!("/waiting/{}?lang={}", entry.handle, lang.code())).into_response()
        }
        Err(Refusal::Code(_)) => entry_failed(&core, &entry, lang, StatusCode::GONE, "appt-code-ended"),
        Err(Refusal::NotBookable) => entry_failed(&core, &entry, lang, StatusCode::CONFLICT, "appt-error-not-bookable"),
        Err(Refusal::ListFull) => entry_failed(&core, &entry, lang, StatusCode::CONFLICT, "appt-error-list-full"),
        Err(r) => match Problems::from_refusal(&r) {
            Some(problems) => again(refusal_status(&r), problems),
            None => private(refusal_page(&core, lang, r)),
        },
    }
}

fn status_key(status: Status) -> &'static str {
    match status {
        Status::Booked => "appt-status-booked",
        Status::Cancelled => "appt-status-cancelled",
        Status::CheckedIn => "appt-status-checked-in",
        Status::NoShow => "appt-status-no-show",
    }
}

fn render_booking(core: &Core, booking: &Booking, lang: Lang, new: bool) -> String {
    let t = T { texts: &core.texts, lang };
    let Some(branch) = core.site.branch(&booking.branch) else { return String::new() };
    let service = branch.service(&booking.service).map_or(booking.service.clone(), |s| name(&s.name, lang).to_string());
    let title = if new { t.get("appt-confirmed-title") } else { t.get("appt-booking-title") };
    let active = booking.status == Status::Booked;
    let base = format!("/c/{}", booking.token);
    let lc = lang.code();
    let body = html! {
        h1 { (title) }
        section class="card" aria-labelledby="code-label" {
            p class="center note" id="code-label" { (t.get("appt-code-label")) }
            p class="code" id="code" dir="ltr" { (booking.code) }
            @if active {
                @let label = t.args("appt-qr-label", &[("code", Arg::Text(&booking.code))]);
                // The QR code's SVG is drawn by `qr::svg`, which escapes its label itself.
                // It carries the signed check-in token, so a hub that has not pulled the booking
                // (its link down) can still check it in; the code alone if none could be made.
                @let qr = core.checkin_token(booking).unwrap_or_else(|| booking.code.clone());
                div class="qr" id="qr" data-token=(qr) { (PreEscaped(crate::qr::svg(&qr, 240, &label))) }
                p class="center note" { (t.get("appt-qr-hint")) }
            }
            dl {
                dt { (t.get("appt-detail-service")) } dd id="service" { (service) }
                dt { (t.get("appt-detail-branch")) } dd { (name(&branch.name, lang)) }
                dt { (t.get("appt-detail-date")) } dd id="date" { (long_date(&t, booking.local_day)) }
                dt { (t.get("appt-detail-time")) } dd id="time" { (time_range(branch, booking.start)) }
                dt { (t.get("appt-detail-name")) } dd { (booking.name) }
                dt { (t.get("appt-detail-status")) } dd id="status" { (t.get(status_key(booking.status))) }
            }
        }
        @if active {
            p { a href={ (base) "/booking.ics" } id="ics" download={ "dawr-" (booking.code) ".ics" } { (t.get("appt-add-to-calendar")) } }
            p class="note" { (t.get("appt-keep-code")) }
            p { a href={ (base) "/reschedule?lang=" (lc) } id="reschedule" { (t.get("appt-reschedule-link")) } }
            form method="post" action={ (base) "/cancel" } {
                input type="hidden" name="lang" value=(lc);
                button type="submit" class="secondary" id="cancel" { (t.get("appt-cancel-button")) }
            }
        } @else if booking.status == Status::Cancelled {
            p class="status-cancelled" id="cancelled" { (t.get("appt-cancelled-note")) }
        }
        p { a href={ "/?lang=" (lc) } { (t.get("appt-new-booking")) } }
    };
    layout(&t, &title, Some(branch), body, &format!("{base}?lang={}", lang.other().code()))
}

fn booking_lang(q: &PageQuery, booking: &Booking) -> Lang {
    parse_lang(q.lang.as_deref()).or_else(|| parse_lang(Some(&booking.lang))).unwrap_or_default()
}

/// `GET /c/{token}`: the booking page.
pub async fn booking(State(core): State<Core>, Path(token): Path<String>, Query(q): Query<PageQuery>) -> Response {
    let response = match core.by_token(&token).await {
        Ok(b) => {
            let lang = booking_lang(&q, &b);
            Html(render_booking(&core, &b, lang, q.new.is_some())).into_response()
        }
        Err(r) => refusal_page(&core, q.lang(), r),
    };
    private(response)
}

/// `GET /c/{token}/booking.ics`: the calendar file.
pub async fn booking_ics(State(core): State<Core>, Path(token): Path<String>) -> Response {
    let booking = match core.by_token(&token).await {
        Ok(b) => b,
        Err(r) => return private(refusal_page(&core, Lang::default(), r)),
    };
    let lang = parse_lang(Some(&booking.lang)).unwrap_or_default();
    let Some(branch) = core.site.branch(&booking.branch) else { return private(not_found(&core, lang)) };
    let service = branch.service(&booking.service).map_or(booking.service.as_str(), |s| name(&s.name, lang));
    let description = core.texts.get(lang, "appt-ics-description", &[("code", Arg::Text(&booking.code))]);
    let description = description.replace(['\u{2068}', '\u{2069}'], "");
    let uid = format!("{}@dawr-appointments", booking.code);
    let body = ics::calendar(&ics::Event {
        uid: &uid,
        start: booking.start,
        end: slots::slot_end(branch, booking.start),
        stamp: booking.updated_at,
        summary: service,
        location: name(&branch.name, lang),
        description: &description,
        cancelled: booking.status == Status::Cancelled,
    });
    let disposition = format!("attachment; filename=\"dawr-{}.ics\"", booking.code);
    private(
        (
            [
                (header::CONTENT_TYPE, "text/calendar; charset=utf-8".to_string()),
                (header::CONTENT_DISPOSITION, disposition),
            ],
            body,
        )
            .into_response(),
    )
}

/// A form that only says its language.
#[derive(Deserialize, Default)]
pub struct LangPost {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    start: String,
}

/// `POST /c/{token}/cancel`.
pub async fn cancel(
    State(core): State<Core>,
    Path(token): Path<String>,
    form: Result<Form<LangPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let lang = parse_lang(post.lang.as_deref()).unwrap_or_default();
    let booking = match core.by_token(&token).await {
        Ok(b) => b,
        Err(r) => return private(refusal_page(&core, lang, r)),
    };
    match core.cancel(&booking).await {
        Ok(b) => {
            tracing::info!(code = %b.code, "cancelled");
            Redirect::to(&format!("/c/{token}?lang={}", lang.code())).into_response()
        }
        Err(Refusal::NotActive(_)) => Redirect::to(&format!("/c/{token}?lang={}", lang.code())).into_response(),
        Err(r) => private(refusal_page(&core, lang, r)),
    }
}

async fn render_reschedule(
    core: &Core,
    booking: &Booking,
    lang: Lang,
    date: Option<String>,
    chosen: &str,
    problems: Problems,
) -> Result<String, Refusal> {
    let t = T { texts: &core.texts, lang };
    let branch = core.branch(&booking.branch)?;
    let days = core.days(branch);
    let day = pick_day(&days, date.as_deref()).or(Some(booking.local_day)).filter(|d| days.contains(d));
    let slots = match day {
        Some(d) => core.slots(&booking.branch, &booking.service, d).await?,
        None => Vec::new(),
    };
    let base = format!("/c/{}/reschedule", booking.token);
    let picker = slot_picker(
        &t,
        &base,
        DayChoice { days: &days, day, slots: &slots, waiting: false },
        branch,
        chosen,
        &problems,
    );
    let title = t.get("appt-reschedule-title");
    let body = html! {
        h1 { (title) }
        p { (t.get("appt-code-label")) ": " strong { (booking.code) } " · " (time_range(branch, booking.start)) }
        (problems.summary(&t))
        form method="post" action=(base) novalidate {
            input type="hidden" name="lang" value=(lang.code());
            (picker)
            @if slots.iter().any(|s| s.available > 0) { button type="submit" { (t.get("appt-reschedule-button")) } }
        }
        p { a href={ "/c/" (booking.token) "?lang=" (lang.code()) } { (t.get("appt-back")) } }
    };
    Ok(layout(&t, &title, Some(branch), body, &format!("{base}?lang={}", lang.other().code())))
}

/// `GET /c/{token}/reschedule`: pick another time.
pub async fn reschedule_page(
    State(core): State<Core>,
    Path(token): Path<String>,
    Query(q): Query<PageQuery>,
) -> Response {
    let booking = match core.by_token(&token).await {
        Ok(b) => b,
        Err(r) => return private(refusal_page(&core, q.lang(), r)),
    };
    let lang = booking_lang(&q, &booking);
    let response = match render_reschedule(&core, &booking, lang, q.date, "", Problems::default()).await {
        Ok(html) => Html(html).into_response(),
        Err(r) => refusal_page(&core, lang, r),
    };
    private(response)
}

/// `POST /c/{token}/reschedule`: move the booking, or the choice again with the reason.
pub async fn reschedule(
    State(core): State<Core>,
    Path(token): Path<String>,
    form: Result<Form<LangPost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let lang = parse_lang(post.lang.as_deref()).unwrap_or_default();
    let booking = match core.by_token(&token).await {
        Ok(b) => b,
        Err(r) => return private(refusal_page(&core, lang, r)),
    };
    let refusal = match core.reschedule(&booking, &post.start).await {
        Ok(b) => {
            tracing::info!(code = %b.code, start = %b.start, "rescheduled");
            return Redirect::to(&format!("/c/{token}?lang={}", lang.code())).into_response();
        }
        Err(r) => r,
    };
    let Some(problems) = Problems::from_refusal(&refusal) else { return private(refusal_page(&core, lang, refusal)) };
    let branch = core.site.branch(&booking.branch);
    let date = crate::service::parse_start(&post.start)
        .zip(branch)
        .map(|(s, b)| slots::local_day(b, s).to_string())
        .or(post.date);
    let status = if refusal == Refusal::Full { StatusCode::CONFLICT } else { StatusCode::BAD_REQUEST };
    match render_reschedule(&core, &booking, lang, date, &post.start, problems).await {
        Ok(html) => private((status, Html(html)).into_response()),
        Err(r) => private(refusal_page(&core, lang, r)),
    }
}

fn render_manage(core: &Core, lang: Lang, code: &str, id: &str, problems: &Problems) -> String {
    let t = T { texts: &core.texts, lang };
    let title = t.get("appt-manage-title");
    let body = html! {
        h1 { (title) }
        (problems.summary(&t))
        form method="post" action="/manage" novalidate {
            input type="hidden" name="lang" value=(lang.code());
            (text_input(&t, &CODE_INPUT, code, problems))
            (text_input(&t, &ID_INPUT, id, problems))
            button type="submit" { (t.get("appt-find-button")) }
        }
    };
    layout(&t, &title, None, body, &format!("/manage?lang={}", lang.other().code()))
}

/// `GET /manage`: the lookup form.
pub async fn manage_page(State(core): State<Core>, Query(q): Query<PageQuery>) -> Response {
    private(Html(render_manage(&core, q.lang(), "", "", &Problems::default())).into_response())
}

#[derive(Deserialize, Default)]
pub struct ManagePost {
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    code: String,
    #[serde(default)]
    national_id: String,
}

/// `POST /manage`: code + ID number → the booking page.
pub async fn manage(
    State(core): State<Core>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    form: Result<Form<ManagePost>, FormRejection>,
) -> Response {
    let post = form.map(|Form(f)| f).unwrap_or_default();
    let lang = parse_lang(post.lang.as_deref()).unwrap_or_default();
    let (status, problems) = if limited(&core, addr, &headers) {
        (StatusCode::TOO_MANY_REQUESTS, Problems::rate_limited())
    } else {
        match core.find(&post.code, &post.national_id).await {
            Ok(b) => return Redirect::to(&format!("/c/{}?lang={}", b.token, lang.code())).into_response(),
            Err(Refusal::NotFound) => {
                (StatusCode::NOT_FOUND, Problems(vec![(Some(Field::Code), "appt-error-not-found")]))
            }
            Err(r) => return private(refusal_page(&core, lang, r)),
        }
    };
    let html = render_manage(&core, lang, &post.code, &post.national_id, &problems);
    refused_form(status, problems.retry_after(&core), html)
}

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_web::html::esc;

    #[test]
    fn values_are_escaped_and_days_fall_back_to_the_first_bookable() {
        assert_eq!(esc("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        let days: Vec<NaiveDate> = vec!["2026-11-24".parse().unwrap(), "2026-11-25".parse().unwrap()];
        assert_eq!(pick_day(&days, Some("2026-11-25")), Some(days[1]));
        assert_eq!(pick_day(&days, Some("2026-11-27")), Some(days[0]), "not bookable");
        assert_eq!(pick_day(&days, Some("garbage")), Some(days[0]));
        assert_eq!(pick_day(&[], None), None);
    }

    #[test]
    fn a_refused_form_lists_each_problem_linked_to_its_field_in_the_page_language() {
        let texts = Texts::new();
        let refusal = Refusal::Fields(vec![
            FieldIssue { field: Field::NationalId, key: "appt-error-id-check", message: String::new() },
            FieldIssue { field: Field::Phone, key: "appt-error-phone", message: String::new() },
        ]);
        let problems = Problems::from_refusal(&refusal).unwrap();
        let ar = problems.summary(&T { texts: &texts, lang: Lang::Ar }).into_string();
        assert!(ar.contains("<a href=\"#national_id\">رقم الهوية غير صحيح."), "{ar}");
        assert!(ar.contains("role=\"alert\""));
        let t = T { texts: &texts, lang: Lang::En };
        let input = text_input(&t, &PHONE_INPUT, "12<3", &problems).into_string();
        assert!(input.contains("aria-invalid=\"true\""));
        assert!(input.contains("aria-describedby=\"phone-hint phone-error\""));
        assert!(input.contains("value=\"12&lt;3\""));
        assert!(input.contains("Enter a Saudi mobile number"));
        assert!(Problems::from_refusal(&Refusal::UnknownBranch).is_none());
    }
}
