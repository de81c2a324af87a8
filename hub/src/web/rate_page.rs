//! The exit satisfaction page, `/rate/{counter}`: a tablet by the counter's exit shows five
//! faces; a touch rates the visit just completed at that counter (the same rule as the MQTT
//! rating and `POST /api/v1/ratings`: within the rating window, once). A score of 1 or 2 asks one
//! reason first. Server-rendered forms (maud templates), Arabic by default (`?lang=en`), no
//! JavaScript; after a rating the page thanks the visitor and returns to the faces by itself.
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::RatingReason;
use dawr_protocol::device::ErrorCode;
use dawr_web::html::{Head, page as shell, parse_lang};
use maud::{Markup, html};
use serde::Deserialize;

use super::AppState;
use crate::engine::{CounterCommand, Operation, ReplyTo, Request};

#[derive(Debug, Default, Deserialize)]
pub struct RateQuery {
    lang: Option<String>,
}

impl RateQuery {
    fn lang(&self) -> Lang {
        parse_lang(self.lang.as_deref()).unwrap_or_default()
    }
}

#[derive(Debug, Deserialize)]
pub struct RateForm {
    score: u8,
    #[serde(default)]
    reason: Option<String>,
}

const FACES: [(u8, &str); 5] = [(5, "#1b7f3b"), (4, "#5a9a2f"), (3, "#b59a00"), (2, "#c46a12"), (1, "#b3261e")];

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
fn reason_key(reason: &str) -> String {
    format!("reason-{}", reason.replace('_', "-"))
}

/// One button a reason, each submitting `reason`.
fn reason_buttons(texts: &Texts, lang: Lang) -> Markup {
    html! {
        @for reason in REASONS {
            button type="submit" name="reason" value=(reason) { (texts.get(lang, &reason_key(reason), &[])) }
        }
    }
}

const STYLE: &str = "\
body{margin:0;background:#0b2545;color:#fff;\
min-height:100vh;display:flex;flex-direction:column;align-items:center;justify-content:center;text-align:center}\
h1{font-size:2.2rem;margin:0 16px 24px}p{font-size:1.4rem}\
.faces{display:flex;gap:16px;flex-wrap:wrap;justify-content:center;padding:0 16px}\
.faces button{width:9rem;height:11rem;border:0;border-radius:20px;color:#fff;font:inherit;font-size:1.1rem;cursor:pointer}\
.faces button span{display:block;margin:0 auto 8px}\
.reasons{display:grid;gap:12px;max-width:36rem;width:100%;padding:0 16px}\
.reasons button{font:inherit;font-size:1.4rem;padding:18px;border-radius:14px;border:0;background:#fff;color:#0b2545}\
a{color:#fff;margin-top:28px;font-size:1.1rem}";

/// A whole page; `refresh_to` returns to the faces after a few seconds.
fn page(lang: Lang, title: &str, body: Markup, refresh_to: Option<&str>) -> Html<String> {
    let head = Head::new(lang, title, STYLE);
    let head = match refresh_to {
        Some(to) => head.refresh(6, to),
        None => head,
    };
    Html(shell(head, body).into_string())
}

/// The faces page's address (where the other pages return to).
fn faces_url(counter: &str, lang: Lang) -> String {
    format!("/rate/{counter}?lang={}", lang.code())
}

fn faces(texts: &Texts, lang: Lang, counter: &str) -> Markup {
    let t = |key: &str| texts.get(lang, key, &[]);
    let other = lang.other().code();
    html! {
        h1 { (t("rate-title")) }
        form method="post" action=(faces_url(counter, lang)) class="faces" {
            @for (score, colour) in FACES {
                @let label = t(&format!("rate-score-{score}"));
                button type="submit" name="score" value=(score) style={ "background:" (colour) } aria-label=(label) {
                    span { (face(score)) } (label)
                }
            }
        }
        a href=(faces_url(counter, lang.other())) lang=(other) { (t("switch-language")) }
    }
}

/// `GET /rate/{counter}`.
pub async fn show(State(state): State<AppState>, Path(counter): Path<String>, Query(q): Query<RateQuery>) -> Response {
    let lang = q.lang();
    if !state.branch.counters.iter().any(|c| c.id == counter) {
        return (StatusCode::NOT_FOUND, page(lang, "Dawr", html! { h1 { "404" } }, None)).into_response();
    }
    page(lang, &state.texts.get(lang, "rate-title", &[]), faces(&state.texts, lang, &counter), None).into_response()
}

/// `POST /rate/{counter}`: a face (and, for 1 or 2, its reason).
pub async fn rate(
    State(state): State<AppState>,
    Path(counter): Path<String>,
    Query(q): Query<RateQuery>,
    Form(form): Form<RateForm>,
) -> Response {
    let lang = q.lang();
    let texts = &state.texts;
    let t = |key: &str| texts.get(lang, key, &[]);
    let back = faces_url(&counter, lang);
    if !(1..=5).contains(&form.score) || !state.branch.counters.iter().any(|c| c.id == counter) {
        return (StatusCode::BAD_REQUEST, page(lang, "Dawr", faces(texts, lang, &counter), None)).into_response();
    }
    let reason: Option<RatingReason> =
        form.reason.as_deref().and_then(|r| serde_json::from_value(serde_json::Value::String(r.to_string())).ok());
    if form.score <= 2 && reason.is_none() {
        // Ask why first.
        let body = html! {
            h1 { (t("rate-why")) }
            form method="post" action=(back) class="reasons" {
                input type="hidden" name="score" value=(form.score);
                (reason_buttons(texts, lang))
            }
        };
        return page(lang, &t("rate-why"), body, Some(&back)).into_response();
    }
    let command = CounterCommand { id: None, operation: Operation::Rate { score: form.score, reason } };
    let reply =
        state.engine.ask(|tx| Request::Counter { counter: counter.clone(), command, reply: ReplyTo::Http(tx) }).await;
    let (status, key) = match reply {
        Ok(reply) if reply.ok => (StatusCode::OK, "rate-thanks"),
        Ok(reply) if reply.error == Some(ErrorCode::AlreadyRated) => (StatusCode::CONFLICT, "rate-already"),
        Ok(reply) if reply.error == Some(ErrorCode::NothingToRate) => (StatusCode::CONFLICT, "rate-nothing"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "rate-later"),
    };
    let body = html! { h1 { (t(key)) } a href=(back) { (t("rate-back")) } };
    (status, page(lang, &t(key), body, Some(&back))).into_response()
}
