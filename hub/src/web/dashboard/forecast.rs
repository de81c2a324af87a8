//! The dashboard's staffing forecast, `/dashboard/forecast`: for one day, the counters needed per
//! hour beside the counters that were open (a chart and a table), the what-if form ("N more
//! counters from HH:00") and its answer, the service times learned and the forecast's own error
//! on the days before. Server-rendered, Arabic and English, a GET form (it changes nothing).
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::forecast::{Forecast, ForecastHour};
use dawr_web::WebResult;
use dawr_web::html::{Head, name, page};
use maud::{Markup, html};

use super::view::{STYLE, message_page, sign_in_page};
use super::{AppState, manager};
use crate::auth::AuthError;
use crate::domain::Branch;
use crate::web::forecast::{ForecastQuery, compute, today};

/// `GET /dashboard/forecast?day=&weeks=&extra=&from_hour=&lang=`.
pub async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ForecastQuery>,
) -> WebResult<Response> {
    let lang = dawr_web::html::parse_lang(query.lang.as_deref()).unwrap_or_default();
    match manager(&state, &headers) {
        Ok(_) => {}
        Err(AuthError::Forbidden) => {
            let page = sign_in_page(&state.texts, lang, Some("dash-managers-only"));
            return Ok((StatusCode::FORBIDDEN, Html(page)).into_response());
        }
        Err(_) => return Ok(Html(sign_in_page(&state.texts, lang, None)).into_response()),
    }
    let Ok(ask) = query.ask(today(&state)) else {
        return Ok(
            (StatusCode::BAD_REQUEST, Html(message_page(&state.texts, lang, "forecast-bad-query"))).into_response()
        );
    };
    let forecast = compute(&state, ask).await?;
    let view = ForecastPage { texts: &state.texts, lang, branch: &state.branch(), forecast: &forecast, query: &query };
    let mut response = Html(view.page()).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// What the page is drawn from.
pub struct ForecastPage<'a> {
    pub texts: &'a Texts,
    pub lang: Lang,
    pub branch: &'a Branch,
    pub forecast: &'a Forecast,
    pub query: &'a ForecastQuery,
}

/// Seconds as whole minutes, rounded up (a wait of 20 s shows as 1).
fn minutes(seconds: f64) -> String {
    format!("{}", (seconds / 60.0).ceil() as i64)
}

fn hour_label(hour: u8) -> String {
    format!("{hour:02}:00")
}

impl ForecastPage<'_> {
    fn t(&self, key: &str) -> String {
        self.texts.get(self.lang, key, &[])
    }

    fn t_args(&self, key: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.texts.get(self.lang, key, args)
    }

    fn service_name(&self, code: &str) -> String {
        let service = self.branch.services.iter().find(|s| s.code == code);
        service.map_or(code.to_string(), |s| name(&s.name, self.lang).to_string())
    }

    /// The whole page.
    pub fn page(&self) -> String {
        let body = html! {
            (self.header())
            main {
                (self.form())
                @if self.forecast.days_learned == 0 {
                    section { p { (self.t("forecast-nothing")) } }
                } @else {
                    (self.what_if())
                    (self.hours())
                    (self.services())
                }
                (self.checks())
            }
        };
        page(Head::new(self.lang, &self.t("forecast-title"), STYLE).noindex(), body).into_string()
    }

    fn query_in(&self, lang: Lang) -> String {
        let q = self.query;
        let f = |v: &Option<String>| v.clone().unwrap_or_default();
        format!(
            "lang={}&day={}&weeks={}&extra={}&from_hour={}",
            lang.code(),
            self.forecast.day,
            self.forecast.weeks,
            f(&q.extra),
            f(&q.from_hour)
        )
    }

    fn header(&self) -> Markup {
        let other = self.lang.other();
        html! {
            header {
                h1 { (self.t("forecast-title")) " · " (name(&self.branch.name, self.lang)) }
                a href={ "/dashboard?lang=" (self.lang.code()) } { (self.t("dash-title")) }
                a href={ "/dashboard/forecast?" (self.query_in(other)) } lang=(other.code()) { (self.t("switch-language")) }
            }
        }
    }

    fn form(&self) -> Markup {
        let f = self.forecast;
        let value = |v: &Option<String>| v.clone().unwrap_or_default();
        html! {
            section aria-labelledby="forecast-ask" {
                h2 id="forecast-ask" { (self.t("forecast-title")) }
                form method="get" action="/dashboard/forecast" class="filters" {
                    input type="hidden" name="lang" value=(self.lang.code());
                    label { (self.t("forecast-day")) input type="date" name="day" value=(f.day) required; }
                    label { (self.t("forecast-weeks")) input type="number" name="weeks" min="1" max="12" value=(f.weeks); }
                    label { (self.t("forecast-extra")) input type="number" name="extra" min="0" max="50" value=(value(&self.query.extra)); }
                    label { (self.t("forecast-from-hour")) input type="number" name="from_hour" min="0" max="23" value=(value(&self.query.from_hour)); }
                    button type="submit" { (self.t("forecast-show")) }
                }
                p { (self.t_args("forecast-learned", &[
                    ("days", Arg::Number(f.days_learned as f64)),
                    ("weeks", Arg::Number(f64::from(f.weeks))),
                    ("goal", Arg::Number(f.goal_pct)),
                ])) }
            }
        }
    }

    fn what_if(&self) -> Markup {
        let Some(w) = &self.forecast.what_if else { return html! {} };
        let shown = |wait: Option<f64>| wait.map_or(self.t("forecast-no-counter"), minutes);
        let text = self.t_args(
            "forecast-what-if",
            &[
                ("extra", Arg::Number(f64::from(w.extra))),
                ("hour", Arg::Text(&hour_label(w.from_hour))),
                ("minutes", Arg::Text(&shown(w.longest_wait_s))),
                ("at", Arg::Text(&hour_label(w.longest_hour))),
                ("staffed", Arg::Text(&shown(w.staffed_longest_wait_s))),
            ],
        );
        html! { section id="what-if" aria-live="polite" { p class="alert" { (text) } } }
    }

    fn hours(&self) -> Markup {
        let services = &self.forecast.services;
        html! {
            section aria-labelledby="forecast-hours" {
                h2 id="forecast-hours" { (self.t("forecast-chart")) }
                (chart(&self.forecast.hours, &self.t("forecast-needed"), &self.t("forecast-staffed"), self.lang.dir() == "rtl"))
                div class="wide" { table {
                    thead { tr {
                        th { (self.t("forecast-hour")) }
                        th class="n" { (self.t("forecast-arrivals")) }
                        th class="n" { (self.t("forecast-needed")) }
                        th class="n" { (self.t("forecast-staffed")) }
                        th class="n" { (self.t("forecast-wait")) }
                        @for s in services {
                            th class="n" { (self.t_args("forecast-alone", &[("service", Arg::Text(&self.service_name(&s.service)))])) }
                        }
                    } }
                    tbody { @for h in &self.forecast.hours { (self.hour_row(h)) } }
                } }
            }
        }
    }

    fn hour_row(&self, h: &ForecastHour) -> Markup {
        let short = (h.counters_staffed.round() as usize) < h.counters_needed;
        html! {
            tr {
                td { (hour_label(h.hour)) }
                td class="n" { (format!("{:.1}", h.arrivals)) }
                td class="n" { @if short { strong { (h.counters_needed) } } @else { (h.counters_needed) } }
                td class="n" { (format!("{:.1}", h.counters_staffed)) }
                td class="n" { (h.expected_wait_s.map_or_else(|| "—".to_string(), minutes)) }
                @for s in &h.per_service { td class="n" { (s.counters_needed) } }
            }
        }
    }

    fn services(&self) -> Markup {
        html! {
            section aria-labelledby="forecast-services" {
                h2 id="forecast-services" { (self.t("forecast-services")) }
                table {
                    thead { tr {
                        th { (self.t("dash-service")) }
                        th class="n" { (self.t("forecast-target")) }
                        th class="n" { (self.t("forecast-service-time")) }
                        th class="n" { (self.t("forecast-served")) }
                    } }
                    tbody { @for s in &self.forecast.services { tr {
                        td { (self.service_name(&s.service)) }
                        td class="n" { (minutes(f64::from(s.target_s))) }
                        td class="n" { (format!("{:.1}", s.mean_service_s / 60.0)) }
                        td class="n" { (s.served) }
                    } } }
                }
            }
        }
    }

    fn checks(&self) -> Markup {
        let checks = &self.forecast.checks;
        if checks.is_empty() {
            return html! {};
        }
        let n = checks.len() as f64;
        let mean =
            |f: &dyn Fn(&dawr_protocol::api::forecast::ForecastCheck) -> f64| checks.iter().map(f).sum::<f64>() / n;
        html! {
            section aria-labelledby="forecast-checks" {
                h2 id="forecast-checks" { (self.t("forecast-checks")) }
                div class="wide" { table {
                    thead { tr {
                        th { (self.t("forecast-day")) }
                        th class="n" { (self.t("forecast-forecast")) }
                        th class="n" { (self.t("forecast-actual")) }
                        th class="n" { (self.t("forecast-hourly-error")) }
                        th class="n" { (self.t("forecast-counters-error")) }
                    } }
                    tbody { @for c in checks { tr {
                        td { (c.day) }
                        td class="n" { (format!("{:.0}", c.forecast)) }
                        td class="n" { (c.actual) }
                        td class="n" { (format!("{:.1}", c.hourly_error)) }
                        td class="n" { (format!("{:.1}", c.counters_error)) }
                    } } }
                    tfoot { tr {
                        th { (self.t("forecast-mean-error")) }
                        td {} td {}
                        td class="n" { (format!("{:.1}", mean(&|c| c.hourly_error))) }
                        td class="n" { (format!("{:.1}", mean(&|c| c.counters_error))) }
                    } }
                } }
            }
        }
    }
}

/// Geometry of the hourly chart, in SVG units.
const CHART_W: f64 = 640.0;
const CHART_H: f64 = 220.0;
const AXIS_H: f64 = 24.0;
const NEEDED_COLOUR: &str = "#0b6e4f";
const STAFFED_COLOUR: &str = "#9aa8ba";

/// Two bars an hour — the counters needed and the counters staffed — with the hours along the
/// bottom (right to left for Arabic) and a legend. Its name says every bar.
pub fn chart(hours: &[ForecastHour], needed: &str, staffed: &str, rtl: bool) -> Markup {
    let max = hours.iter().map(|h| (h.counters_needed as f64).max(h.counters_staffed)).fold(1.0, f64::max);
    let slot = CHART_W / hours.len().max(1) as f64;
    let bar_w = slot * 0.35;
    let plot_h = CHART_H - AXIS_H - 20.0;
    let label = hours
        .iter()
        .map(|h| format!("{}: {needed} {}, {staffed} {:.1}", hour_label(h.hour), h.counters_needed, h.counters_staffed))
        .collect::<Vec<_>>()
        .join("; ");
    let x_of = |i: usize| if rtl { CHART_W - (i as f64 + 1.0) * slot } else { i as f64 * slot };
    let height = |v: f64| plot_h * v / max;
    html! {
        svg role="img" aria-label=(label) viewBox={ "0 0 " (CHART_W) " " (CHART_H) } width="100%" style="direction:ltr" {
            rect x="4" y="2" width="12" height="12" fill=(NEEDED_COLOUR) {}
            text x="20" y="13" { (needed) }
            rect x="180" y="2" width="12" height="12" fill=(STAFFED_COLOUR) {}
            text x="196" y="13" { (staffed) }
            @for (i, h) in hours.iter().enumerate() {
                @let x = x_of(i) + slot * 0.12;
                @let base = CHART_H - AXIS_H;
                rect x=(format!("{x:.1}")) y=(format!("{:.1}", base - height(h.counters_needed as f64)))
                    width=(format!("{bar_w:.1}")) height=(format!("{:.1}", height(h.counters_needed as f64))) fill=(NEEDED_COLOUR) {
                    title { (hour_label(h.hour)) " " (needed) ": " (h.counters_needed) }
                }
                rect x=(format!("{:.1}", x + bar_w)) y=(format!("{:.1}", base - height(h.counters_staffed)))
                    width=(format!("{bar_w:.1}")) height=(format!("{:.1}", height(h.counters_staffed))) fill=(STAFFED_COLOUR) {
                    title { (hour_label(h.hour)) " " (staffed) ": " (format!("{:.1}", h.counters_staffed)) }
                }
                text x=(format!("{:.1}", x + bar_w)) y=(CHART_H - 6.0) text-anchor="middle" { (format!("{:02}", h.hour)) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_protocol::api::forecast::ServiceHour;

    fn hour(hour: u8, needed: usize, staffed: f64) -> ForecastHour {
        ForecastHour {
            hour,
            arrivals: 10.0,
            counters_needed: needed,
            counters_staffed: staffed,
            expected_wait_s: Some(60.0),
            per_service: vec![ServiceHour { service: "A".into(), arrivals: 10.0, counters_needed: needed }],
        }
    }

    #[test]
    fn the_chart_draws_needed_beside_staffed_and_runs_right_to_left_in_arabic() {
        let hours = [hour(8, 4, 2.0), hour(9, 2, 4.0)];
        let svg = chart(&hours, "needed", "staffed", false).into_string();
        // The tallest is 4: 176 units high (220 − 24 − 20), based at 196.
        assert!(svg.contains(r#"y="20.0" width="112.0" height="176.0""#), "{svg}");
        assert!(svg.contains(r#"height="88.0""#), "half as tall for 2: {svg}");
        assert!(svg.contains("aria-label=\"08:00: needed 4, staffed 2.0; 09:00: needed 2, staffed 4.0\""), "{svg}");
        let ltr_first = svg.find(">08<").unwrap() < svg.find(">09<").unwrap();
        assert!(ltr_first);
        let rtl = chart(&hours, "needed", "staffed", true).into_string();
        // In Arabic 08:00 is drawn at the right: its bar starts past the middle.
        assert!(rtl.contains(r#"<rect x="358.4""#), "{rtl}");
    }
}
