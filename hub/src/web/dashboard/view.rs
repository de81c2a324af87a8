//! The dashboard as HTML: the sign-in page, and the page of figures drawn one section at a time
//! from a [`Dashboard`] (maud templates, every value escaped).
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dawr_i18n::{Arg, HijriDate, Lang, Texts};
use dawr_protocol::api::{ServiceSummary, Ticket};
use dawr_web::html::{Head, name, page};
use maud::{Markup, html};

use super::charts::{Bar, Chart, Scale, draw};
use crate::audit::{AuditEntry, AuditPage};
use crate::cases::ledger::share;
use crate::cases::{CaseKind, CaseLine, CasePeriod, CaseReport};
use crate::crm::CrmStatus;
use crate::domain::Branch;
use crate::reports::causes::{CauseGroup, CausesReport};
use crate::reports::periods::Period;
use crate::reports::sla::{SlaBreach, SlaService};
use crate::reports::{Figures, ReportFilter, SlaReport, Summary};

/// The branch now, from the engine.
pub struct Live {
    pub services: Vec<ServiceSummary>,
    pub queue: Vec<Ticket>,
    /// Counters (staffed, paused, open) now.
    pub counters: (usize, usize, usize),
}

/// A range's figures, each month's, and its real CRM cases.
pub struct Range {
    pub summary: Summary,
    pub sla: SlaReport,
    pub monthly: Vec<(NaiveDate, Figures)>,
    pub cases: CaseReport,
    pub causes: CausesReport,
    /// The range by period with each one's change (by quarter, each quarter month by month).
    pub by_period: crate::reports::by_period::PeriodsReport,
}

/// Everything the page shows.
pub struct Dashboard<'a> {
    pub texts: &'a Texts,
    pub lang: Lang,
    pub branch: &'a Branch,
    pub now: DateTime<Utc>,
    /// The signed-in manager's name.
    pub manager: &'a str,
    pub filter: &'a ReportFilter,
    /// How the by-period table cuts the range.
    pub period: Period,
    pub live: &'a Live,
    pub range: &'a Range,
    /// The CRM connector's outbox, when the branch has one.
    pub crm: Option<&'a CrmStatus>,
    /// The enrolled devices and every client heard on MQTT.
    pub devices: &'a [dawr_protocol::api::DeviceInfo],
    /// The signed firmware images the hub holds, newest first.
    pub firmware: &'a [dawr_protocol::api::FirmwareImage],
    /// The latest audit entries of the range (newest first), and whether there are more.
    pub audit: &'a AuditPage,
    /// Whether this is the built-in demo branch (its PINs are public): the page says so.
    pub demo: bool,
    /// The days closed from today on.
    pub closures: &'a [dawr_protocol::api::closures::DayClosure],
    /// The live alerts that hold now.
    pub alerts: &'a [crate::alerts::watch::Active],
}

/// The services whose expected wait for a ticket taken now is over their target (open, with
/// someone waiting): each is an alert of the live list.
fn over_target(services: &[ServiceSummary]) -> impl Iterator<Item = &ServiceSummary> {
    services.iter().filter(|s| s.open && s.estimated_wait_s > s.target_wait_s && s.waiting > 0)
}

/// The live alerts as a list (the dashboard's `#alerts`, and the fragment its script fetches):
/// the watched conditions that hold, then the services expected to wait over their target. "No
/// alerts now" only when there is neither.
pub fn alerts_list(
    texts: &Texts,
    lang: Lang,
    branch: &Branch,
    alerts: &[crate::alerts::watch::Active],
    services: &[ServiceSummary],
) -> Markup {
    let over: Vec<&ServiceSummary> = over_target(services).collect();
    html! {
        @if alerts.is_empty() && over.is_empty() {
            p class="muted" { (texts.get(lang, "dash-alerts-none", &[])) }
        } @else {
            ul class="alerts" {
                @for alert in alerts {
                    @let since = alert.since.with_timezone(&branch.utc_offset).format("%H:%M").to_string();
                    li class="alert" data-alert=(alert.condition.key()) {
                        (crate::alerts::text::line(texts, lang, branch, &alert.condition))
                        " · " (texts.get(lang, "dash-alert-since", &[("time", Arg::Text(&since))]))
                    }
                }
                @for s in over {
                    li class="alert" data-alert={ "expected:" (s.code) } {
                        (texts.get(lang, "dash-alert-over-target", &[
                            ("service", Arg::Text(name(&s.name, lang))),
                            ("minutes", Arg::Number(f64::from(s.estimated_wait_s.div_ceil(60)))),
                            ("target", Arg::Number(f64::from(s.target_wait_s / 60))),
                        ]))
                    }
                }
            }
        }
    }
}

/// The audit entries' fields the page names in both languages (others are shown as stored).
const AUDIT_FIELDS: [&str; 16] = [
    "category",
    "visitor",
    "notes",
    "closed_at",
    "closed_by",
    "cases",
    "hashes",
    "events",
    "transfer_notes",
    "before",
    "reason",
    "role",
    "counter",
    "locked",
    "until",
    "address_kind",
];

pub(super) const STYLE: &str = "\
:root{--ink:#0b2545;--brand:#0b6e4f;--muted:#4a5b73;--bad:#b3261e;--warn:#b7791f;--line:#d5dce6}\
body{margin:0;color:var(--ink);background:#eef2f7;line-height:1.45}\
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
.demo{background:#fff4e5;color:#7a4b00;margin:0;padding:6px 20px;font-weight:600}\
.alert{background:#fdecea;color:var(--bad);border-radius:8px;padding:8px 12px;margin:6px 0;font-weight:600}\
ul.alerts{list-style:none;margin:0;padding:0}\
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end}\
form.filters label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}\
input,select,button{font:inherit;padding:6px 8px;border:1px solid var(--line);border-radius:6px}\
button{background:var(--brand);color:#fff;border:0;padding:8px 16px;cursor:pointer}\
table{border-collapse:collapse;width:100%;font-size:.95rem}\
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:start}\
td.n,th.n{text-align:end;font-variant-numeric:tabular-nums;direction:ltr;unicode-bidi:isolate}\
.charts{display:grid;grid-template-columns:repeat(auto-fit,minmax(20rem,1fr));gap:16px}\
figure{margin:0}svg text{fill:var(--ink)}\
ul.causes{margin:0;padding-inline-start:1rem}\
.signin{max-width:24rem;margin:10vh auto}\
.signin label{display:block;margin:10px 0 4px}\
.signin input{width:100%}\
.error{color:var(--bad);font-weight:600}\
.wide{overflow-x:auto}\
.note{color:var(--muted);font-size:.9rem;margin:4px 0}\
table.grid td{font-size:.9rem;line-height:1.25;white-space:nowrap}\
.g-good{background:#e3f4ea}.g-mid{background:#fff4e5}.g-bad{background:#fdecea}\
.print-only{display:none}\
.print-head{border-bottom:2px solid var(--brand);margin:0 0 8px;padding:0 0 6px}\
.print-head h1{font-size:1.2rem;margin:0}\
.print-head p{margin:2px 0}\
@media (max-width:40rem){main{padding:8px}section{padding:12px}table{font-size:.8rem}th,td{padding:4px}section{overflow-x:auto}}\
@page{size:A4;margin:12mm}\
@media print{header,form.filters,.noprint,#now,#now-section,details#breaches>table{display:none}\
.print-only{display:block}body{background:#fff;font-size:10pt}main{max-width:none;padding:0}\
section{box-shadow:none;border:0;border-radius:0;padding:0;margin:0 0 10px}\
.wide,section{overflow:visible}table{font-size:8.5pt;width:100%;table-layout:auto}th,td{padding:2px 4px}\
h2,h3{break-after:avoid}tr,.card{break-inside:avoid}.cards{grid-template-columns:repeat(4,1fr);gap:6px}\
.card .v{font-size:1.1rem}.charts,section[aria-labelledby=devices],section[aria-labelledby=audit],section[aria-labelledby=crm],section[aria-labelledby=closures],section[aria-labelledby=firmware]{display:none}}\
";

/// The figure columns of every table, after the row's label.
const FIGURE_COLUMNS: [&str; 8] = [
    "dash-visits",
    "dash-served",
    "dash-no-shows",
    "dash-wait-mean",
    "dash-wait-p90",
    "dash-service-mean",
    "dash-within-target",
    "dash-csat",
];

/// The monthly table's case columns, after the figures.
const MONTH_CASE_COLUMNS: [&str; 3] =
    ["dash-month-cases-opened", "dash-month-cases-closed", "dash-month-cases-open-at-end"];

fn minutes(seconds: Option<f64>) -> String {
    seconds.map_or("–".into(), |s| format!("{:.1}", s / 60.0))
}

fn percent(p: Option<f64>) -> String {
    p.map_or("–".into(), |p| format!("{p:.0}%"))
}

fn kind_key(kind: CaseKind) -> String {
    format!("dash-kind-{}", kind.code().replace('_', "-"))
}

/// How many breaches the page lists (the JSON API has them all).
const BREACH_ROWS: usize = 200;

/// How many open cases the page lists (the overdue first; the JSON API has them all).
const OPEN_CASE_ROWS: usize = 100;

/// The text key of why a button last started.
fn reset_key(reason: dawr_protocol::device::ResetReason) -> &'static str {
    use dawr_protocol::device::ResetReason as R;
    match reason {
        R::PowerOn => "dash-reset-power-on",
        R::Watchdog => "dash-reset-watchdog",
        R::Requested => "dash-reset-requested",
        R::Unknown => "dash-reset-unknown",
    }
}

/// How good a Wi-Fi signal of `dbm` is: strong from −60, good from −70, fair from −80, else weak.
fn signal_quality_key(dbm: i16) -> &'static str {
    match dbm {
        -60.. => "dash-signal-strong",
        -70..=-61 => "dash-signal-good",
        -80..=-71 => "dash-signal-fair",
        _ => "dash-signal-weak",
    }
}

/// A change in percentage points, signed (`–` without one).
fn points(change: Option<f64>) -> String {
    change.map_or("–".into(), |c| format!("{c:+.1}"))
}

fn reason_key(reason: &str) -> String {
    format!("reason-{}", reason.replace('_', "-"))
}

/// The sign-in form, with the reason it is shown again (a key), if any.
pub fn sign_in_page(texts: &Texts, lang: Lang, error: Option<&str>) -> String {
    let t = |key: &str| texts.get(lang, key, &[]);
    let other = lang.other().code();
    let body = html! {
        main class="signin" { section {
            h1 { (t("dash-sign-in-title")) }
            @if let Some(key) = error { p class="error" role="alert" { (t(key)) } }
            form method="post" action={ "/dashboard/sign-in?lang=" (lang.code()) } {
                label for="staff" { (t("counter-staff-id")) }
                input id="staff" name="staff" autocomplete="username" required;
                label for="pin" { (t("counter-pin")) }
                input id="pin" name="pin" type="password" inputmode="numeric" autocomplete="current-password" required;
                p { button type="submit" { (t("counter-sign-in")) } }
            }
            p { a href={ "/dashboard?lang=" (other) } lang=(other) { (t("switch-language")) } }
        } }
    };
    page(Head::new(lang, &t("dash-sign-in-title"), STYLE).noindex(), body).into_string()
}

/// A page that only says one thing (a key), such as why the dates were refused.
pub fn message_page(texts: &Texts, lang: Lang, key: &str) -> String {
    let body = html! { main { p class="error" { (texts.get(lang, key, &[])) } } };
    page(Head::new(lang, "Dawr", STYLE).noindex(), body).into_string()
}

impl Dashboard<'_> {
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

    fn counter_name(&self, id: &str) -> String {
        let counter = self.branch.counters.iter().find(|c| c.id == id);
        counter.map_or(id.to_string(), |c| name(&c.name, self.lang).to_string())
    }

    fn staff_name(&self, id: &str) -> String {
        let staff = self.branch.staff.iter().find(|s| s.id == id);
        staff.map_or(id.to_string(), |s| format!("{} ({id})", name(&s.name, self.lang)))
    }

    /// The whole page.
    pub fn page(&self) -> String {
        let body = html! {
            (self.header())
            main {
                (self.print_head())
                (self.now_section())
                (self.filters())
                (self.range_section())
                (self.by_period())
                (self.sla_section())
                (self.cases_section())
                (self.charts())
                (self.figure_table("dash-per-service", "dash-service", self.per_service()))
                (self.figure_table("dash-per-counter", "dash-counter", self.per_counter()))
                (self.figure_table("dash-per-staff", "dash-staff", self.per_staff()))
                (self.monthly())
                (self.sms_section())
                (self.reasons())
                @if let Some(crm) = self.crm { (self.crm_section(crm)) }
                (self.closures_section())
                (self.devices_section())
                (self.firmware_section())
                (self.audit_section())
            }
        };
        page(Head::new(self.lang, &self.t("dash-title"), STYLE).noindex(), body).into_string()
    }

    /// The query string of this view in `lang` (for the language switch and the CSV).
    fn query(&self, lang: Lang) -> String {
        let f = self.filter;
        format!(
            "lang={}&from={}&to={}&service={}&counter={}&period={}",
            lang.code(),
            f.from,
            f.to,
            f.service.as_deref().unwrap_or_default(),
            f.counter.as_deref().unwrap_or_default(),
            self.period.code()
        )
    }

    fn header(&self) -> Markup {
        let other = self.lang.other();
        html! {
            header {
                h1 { (self.t("dash-title")) " · " (name(&self.branch.name, self.lang)) }
                span { (self.manager) }
                a href={ "/dashboard?" (self.query(other)) } lang=(other.code()) { (self.t("switch-language")) }
                a href={ "/dashboard/forecast?lang=" (self.lang.code()) } class="noprint" { (self.t("forecast-title")) }
                a href={ "/dashboard/actions?lang=" (self.lang.code()) } class="noprint" { (self.t("actions-title")) }
                form method="post" action={ "/dashboard/sign-out?lang=" (self.lang.code()) } class="noprint" {
                    button type="submit" { (self.t("counter-sign-out")) }
                }
            }
            @if self.demo { p class="demo" role="note" { (self.t("dash-demo")) } }
        }
    }

    fn card(&self, key: &str, value: String) -> Markup {
        self.card_text(self.t(key), value)
    }

    fn card_text(&self, label: String, value: String) -> Markup {
        html! { div class="card" { span class="v" { bdi dir="ltr" { (value) } } span class="k" { (label) } } }
    }

    /// A date as the ministry's forms write it: Gregorian and Umm al-Qura Hijri.
    fn both_dates(&self, day: NaiveDate) -> String {
        let gregorian = self.texts.gregorian_date(
            self.lang,
            day.year(),
            day.month() as u8,
            day.day() as u8,
            day.weekday().number_from_monday() as u8,
        );
        match HijriDate::from_gregorian(day.year(), day.month() as u8, day.day() as u8) {
            Some(hijri) => format!("{gregorian} · {}", self.texts.hijri_date(self.lang, hijri)),
            None => gregorian,
        }
    }

    /// The printed report's head: the branch, the range in Gregorian and Hijri dates, the
    /// filters, and when it was printed (on paper only).
    fn print_head(&self) -> Markup {
        let f = self.filter;
        let all = self.t("dash-all");
        let service = f.service.as_deref().map_or(all.clone(), |s| self.service_name(s));
        let counter = f.counter.as_deref().map_or(all, |c| self.counter_name(c));
        let today = self.now.with_timezone(&self.branch.utc_offset).date_naive();
        html! {
            div class="print-only print-head" {
                h1 { (self.t("dash-title")) " · " (name(&self.branch.name, self.lang)) " (" bdi { (self.branch.id) } ")" }
                p { strong { (self.t("dash-from")) ": " } (self.both_dates(f.from)) }
                p { strong { (self.t("dash-to")) ": " } (self.both_dates(f.to)) }
                p {
                    strong { (self.t("dash-service")) ": " } (service) " · "
                    strong { (self.t("dash-counter")) ": " } (counter) " · "
                    strong { (self.t("dash-period")) ": " } (self.t(&format!("dash-period-{}", self.period.code())))
                }
                p { strong { (self.t("dash-printed")) ": " } (self.both_dates(today)) " · " (self.manager) }
            }
        }
    }

    /// Now: who waits, for how long, where it is slipping.
    fn now_section(&self) -> Markup {
        let Live { services, queue, counters: (staffed, paused, open) } = self.live;
        let all = self.branch.counters.len();
        let longest = queue.iter().map(|t| (self.now - t.issued_at).num_seconds()).max().unwrap_or(0);
        html! {
            section aria-labelledby="now" id="now-section" {
                h2 id="now" { (self.t("dash-now")) }
                div class="cards" {
                    (self.card("dash-waiting-now", queue.len().to_string()))
                    (self.card("dash-longest-wait", minutes(Some(longest as f64))))
                    (self.card("dash-counters-staffed-now", format!("{staffed} / {all}")))
                    (self.card("dash-counters-paused-now", format!("{paused} / {all}")))
                    (self.card("dash-counters-open", format!("{open} / {all}")))
                }
                h3 id="alerts-title" { (self.t("dash-alerts")) }
                div id="alerts" aria-live="polite" aria-labelledby="alerts-title" {
                    (alerts_list(self.texts, self.lang, self.branch, self.alerts, services))
                }
                script { (maud::PreEscaped(super::ALERTS_SCRIPT)) }
            }
        }
    }

    /// The filter form and the CSV link.
    fn filters(&self) -> Markup {
        let (f, lang) = (self.filter, self.lang);
        html! {
            section { form class="filters" method="get" action="/dashboard" {
                input type="hidden" name="lang" value=(lang.code());
                label { (self.t("dash-from")) input type="date" name="from" value=(f.from); }
                label { (self.t("dash-to")) input type="date" name="to" value=(f.to); }
                label { (self.t("dash-service")) select name="service" {
                    option value="" { (self.t("dash-all")) }
                    @for s in &self.branch.services {
                        option value=(s.code) selected[f.service.as_deref() == Some(s.code.as_str())] {
                            (s.code) " · " (name(&s.name, lang))
                        }
                    }
                } }
                label { (self.t("dash-counter")) select name="counter" {
                    option value="" { (self.t("dash-all")) }
                    @for c in &self.branch.counters {
                        option value=(c.id) selected[f.counter.as_deref() == Some(c.id.as_str())] { (name(&c.name, lang)) }
                    }
                } }
                label { (self.t("dash-period")) select name="period" {
                    @for p in Period::ALL {
                        option value=(p.code()) selected[self.period == p] { (self.t(&format!("dash-period-{}", p.code()))) }
                    }
                } }
                button type="submit" { (self.t("dash-show")) }
                a href={ "/dashboard/visits.csv?" (self.query(lang)) } { (self.t("dash-csv")) }
                a href={ "/dashboard/tables.xlsx?" (self.query(lang)) } { (self.t("dash-xlsx")) }
                " "
                a id="monthly-pdf" href={ "/dashboard/monthly.pdf?month=" (self.filter.from.format("%Y-%m")) "&lang=" (self.lang.code()) } {
                    (self.t("report-pdf-download")) " · " (self.filter.from.format("%Y-%m"))
                }
            } }
        }
    }

    /// The range's figures as cards.
    fn range_section(&self) -> Markup {
        let (from, to) = (self.filter.from.to_string(), self.filter.to.to_string());
        let f = &self.range.summary.total;
        html! {
            section aria-labelledby="range" {
                h2 id="range" { (self.t_args("dash-range", &[("from", Arg::Text(&from)), ("to", Arg::Text(&to))])) }
                div class="cards" {
                    (self.card("dash-visits", f.visits.to_string()))
                    (self.card("dash-served", f.served.to_string()))
                    (self.card("dash-no-shows", f.no_shows.to_string()))
                    (self.card("dash-wait-mean", minutes(f.wait_s.mean)))
                    (self.card("dash-wait-median", minutes(f.wait_s.median)))
                    (self.card("dash-wait-p90", minutes(f.wait_s.p90)))
                    (self.card("dash-service-mean", minutes(f.service_time_s.mean)))
                    (self.card("dash-within-target", percent(f.within_target_pct)))
                    (self.card("dash-csat", f.csat.mean.map_or("–".into(), |m| format!("{m:.2} / 5"))))
                    (self.card("dash-satisfied", percent(f.csat.satisfied_pct)))
                }
            }
        }
    }

    /// The range by day, week, month or quarter, each with its change against the period before;
    /// by quarter, each quarter laid out as the quarterly report (a column per month).
    fn by_period(&self) -> Markup {
        let heads = [
            "dash-visits",
            "dash-change",
            "dash-within-target",
            "dash-change-points",
            "dash-sla-breaches",
            "dash-wait-mean",
            "dash-change",
            "dash-csat",
            "dash-change-points",
            "dash-cases-opened",
            "dash-change",
            "dash-month-cases-closed",
            "dash-change",
            "dash-period-open-at-end",
        ];
        let signed = |c: Option<f64>, unit: &str| c.map_or("–".into(), |c| format!("{c:+.1}{unit}"));
        let report = &self.range.by_period;
        html! {
            section aria-labelledby="by-period" {
                h2 id="by-period" { (self.t("dash-by-period")) " · " (self.t(&format!("dash-period-{}", self.period.code()))) }
                div class="wide" tabindex="0" role="region" aria-labelledby="by-period" { table id="periods" {
                    thead { tr {
                        th scope="col" { (self.t("dash-period")) }
                        @for key in heads { th scope="col" class="n" { (self.t(key)) } }
                    } }
                    tbody { @for p in &report.periods {
                        @let c = &p.change;
                        tr {
                            th scope="row" { bdi { (self.period_label(p.from, p.to)) } }
                            td class="n" { (p.visits) }
                            td class="n" { bdi dir="ltr" { (signed(c.visits_pct, "%")) } }
                            td class="n" { (percent(p.within_target_pct)) }
                            td class="n" { bdi dir="ltr" { (signed(c.within_target_points, "")) } }
                            td class="n" { (p.breaches) }
                            td class="n" { (minutes(p.wait_mean_s)) }
                            td class="n" { bdi dir="ltr" { (signed(c.wait_mean_pct, "%")) } }
                            td class="n" { (p.csat_mean.map_or("–".into(), |m| format!("{m:.2}"))) }
                            td class="n" { bdi dir="ltr" { (signed(c.csat_mean_points, "")) } }
                            td class="n" { (p.cases_opened) }
                            td class="n" { bdi dir="ltr" { (signed(c.cases_opened_pct, "%")) } }
                            td class="n" { (p.cases_closed) }
                            td class="n" { bdi dir="ltr" { (signed(c.cases_closed_pct, "%")) } }
                            td class="n" { (p.cases_open_at_end) }
                        }
                    } }
                } }
                @for q in &report.quarters { (self.quarter_table(q)) }
            }
        }
    }

    /// One quarter as the ministry's quarterly beneficiary report lays it out: a column per month
    /// and the quarter's total; rows of visits per service, cases, satisfaction and top causes.
    fn quarter_table(&self, q: &crate::reports::by_period::QuarterTable) -> Markup {
        let columns: Vec<&crate::reports::by_period::QuarterColumn> = q.months.iter().chain([&q.total]).collect();
        let id = format!("quarter-{}", q.from.format("%Y-%m"));
        let mean = |m: Option<f64>| m.map_or("–".into(), |m| format!("{m:.2}"));
        let label = self.period_label(q.from, q.to);
        let count_row = |key: &str, pick: fn(&crate::reports::by_period::QuarterColumn) -> usize| {
            html! { tr { th scope="row" { (self.t(key)) } @for c in &columns { td class="n" { (pick(c)) } } } }
        };
        let causes_row = |key: &str, reason: bool| {
            html! { tr {
                th scope="row" { (self.t(key)) }
                @for c in &columns {
                    td { ul class="causes" {
                        @for share in if reason { &c.top_reasons } else { &c.top_categories } {
                            li { (self.cause_name(&share.cause, reason)) " " bdi dir="ltr" { (percent(Some(share.share_pct))) } }
                        }
                    } }
                }
            } }
        };
        html! {
            h3 id={ (id) "-title" } { (self.t_args("dash-quarter-table", &[("quarter", Arg::Text(&label))])) }
            div class="wide" tabindex="0" role="region" aria-labelledby={ (id) "-title" } { table id=(id) class="quarter" {
                thead { tr {
                    th scope="col" { (self.t("dash-quarter-item")) }
                    @for m in &q.months {
                        th scope="col" class="n" { (self.t(&format!("month-{}", m.from.month()))) " " (m.from.year()) }
                    }
                    th scope="col" class="n" { (self.t("dash-quarter-total")) }
                } }
                tbody {
                    @for (i, s) in q.total.per_service.iter().enumerate() { tr {
                        th scope="row" { (self.service_name(&s.service)) }
                        @for c in &columns { td class="n" { (c.per_service.get(i).map_or(0, |s| s.visits)) } }
                    } }
                    (count_row("dash-visits", |c| c.visits))
                    (count_row("dash-cases-opened", |c| c.cases_opened))
                    (count_row("dash-month-cases-closed", |c| c.cases_closed))
                    (count_row("dash-period-open-at-end", |c| c.cases_open_at_end))
                    tr { th scope="row" { (self.t("dash-exit-mean")) } @for c in &columns { td class="n" { (mean(c.csat_mean)) } } }
                    tr { th scope="row" { (self.t("dash-resolution-mean")) } @for c in &columns { td class="n" { (mean(c.resolution_rating_mean)) } } }
                    (causes_row("dash-top-reasons", true))
                    (causes_row("dash-top-categories", false))
                }
            } }
        }
    }

    /// A period's name: its day, its week's first and last day, its month, or its quarter.
    fn period_label(&self, from: NaiveDate, to: NaiveDate) -> String {
        match self.period {
            Period::Day => from.to_string(),
            Period::Week => format!("{from} – {to}"),
            Period::Month => format!("{} {}", self.t(&format!("month-{}", from.month())), from.year()),
            Period::Quarter => {
                let year = from.year().to_string();
                self.t_args(
                    "dash-quarter",
                    &[("quarter", Arg::Number(f64::from(from.month0() / 3 + 1))), ("year", Arg::Text(&year))],
                )
            }
        }
    }

    /// Service levels and staffing: each service against its target with its breaches (visitors
    /// never called included), one row a day with the counters and staff at work, the pauses per
    /// reason, and the breaches themselves.
    fn sla_section(&self) -> Markup {
        let sla = &self.range.sla;
        let service_heads = [
            "dash-target",
            "dash-sla-measured",
            "dash-sla-within",
            "dash-sla-breaches",
            "dash-sla-never-called",
            "dash-within-target",
        ];
        let day_heads = [
            "dash-visits",
            "dash-served",
            "dash-cancelled",
            "dash-within-target",
            "dash-sla-breaches",
            "dash-wait-mean",
            "dash-counters-staffed",
            "dash-staff-at-work",
            "dash-staffed-hours",
        ];
        html! {
            section aria-labelledby="sla" {
                h2 id="sla" { (self.t("dash-sla")) }
                div class="cards" {
                    (self.card("dash-within-target", percent(sla.total.within_pct)))
                    (self.card("dash-sla-breaches", sla.total.breaches.to_string()))
                    (self.card("dash-sla-never-called", sla.total.never_called.to_string()))
                }
                p class="noprint" {
                    @for table in ["service-levels", "days", "grid", "pauses", "breaches"] { (self.table_link(table)) " " }
                }
                table id="sla-services" {
                    thead { tr {
                        th scope="col" { (self.t("dash-service")) }
                        @for key in service_heads { th scope="col" class="n" { (self.t(key)) } }
                    } }
                    tbody {
                        @for s in &sla.per_service { (self.sla_row(&self.service_name(&s.service), s)) }
                        (self.sla_row(&self.t("dash-total"), &sla.total))
                    }
                }
                h3 { (self.t("dash-per-day")) }
                table id="sla-days" {
                    thead { tr {
                        th scope="col" { (self.t("dash-day")) }
                        @for key in day_heads { th scope="col" class="n" { (self.t(key)) } }
                    } }
                    tbody { @for d in &sla.per_day { tr {
                        th scope="row" { bdi { (d.day) } }
                        td class="n" { (d.visits) }
                        td class="n" { (d.served) }
                        td class="n" { (d.cancelled) }
                        td class="n" { (percent(d.within_pct)) }
                        td class="n" { (d.breaches) }
                        td class="n" { (minutes(d.wait_mean_s)) }
                        td class="n" { (d.counters_staffed) " / " (self.branch.counters.len()) }
                        td class="n" { (d.staff) }
                        td class="n" { (format!("{:.1}", d.staffed_hours)) }
                    } } }
                }
                (self.grid())
                h3 { (self.t("dash-pauses")) }
                @if sla.pauses.is_empty() { p { (self.t("dash-pauses-none")) } } @else {
                    table id="pauses" {
                        thead { tr {
                            th scope="col" { (self.t("dash-reason")) }
                            th scope="col" class="n" { (self.t("dash-pauses-count")) }
                            th scope="col" class="n" { (self.t("dash-pauses-hours")) }
                            th scope="col" class="n" { (self.t("dash-share")) }
                        } }
                        tbody { @for p in &sla.pauses { tr {
                            th scope="row" { (self.pause_reason(&p.reason)) }
                            td class="n" { (p.pauses) }
                            td class="n" { (format!("{:.1}", p.hours)) }
                            td class="n" { (percent(Some(p.share_pct))) }
                        } } }
                    }
                }
                @if !sla.breaches.is_empty() {
                    details id="breaches" {
                        summary { (self.t_args("dash-breach-list", &[("count", Arg::Number(sla.breaches.len() as f64))])) }
                        table {
                            thead { tr { @for key in ["dash-case", "dash-ticket", "dash-service", "dash-issued", "dash-called", "dash-waited", "dash-target", "dash-counter", "dash-staff"] {
                                th scope="col" { (self.t(key)) }
                            } } }
                            tbody { @for b in sla.breaches.iter().take(BREACH_ROWS) { (self.breach_row(b)) } }
                        }
                        @if sla.breaches.len() > BREACH_ROWS {
                            p { (self.t_args("dash-breaches-more", &[("count", Arg::Number((sla.breaches.len() - BREACH_ROWS) as f64))])) }
                        }
                    }
                }
            }
        }
    }

    /// The weekday × hour grid: in each hour of each weekday, the tickets taken, the share called
    /// within target (the cell tinted by it) and the counters staffed on average.
    fn grid(&self) -> Markup {
        let grid = &self.range.sla.grid;
        let Some(first) = grid.iter().map(|c| c.hour).min() else { return html! {} };
        let last = grid.iter().map(|c| c.hour).max().unwrap_or(first);
        let mut weekdays: Vec<u32> = grid.iter().map(|c| c.weekday).collect();
        weekdays.dedup();
        let cell = |weekday: u32, hour: u32| grid.iter().find(|c| c.weekday == weekday && c.hour == hour);
        let band = |pct: Option<f64>| match pct {
            Some(p) if p >= 80.0 => "g-good",
            Some(p) if p >= 60.0 => "g-mid",
            Some(_) => "g-bad",
            None => "",
        };
        html! {
            h3 id="grid-title" { (self.t("dash-grid")) }
            p class="note" { (self.t("dash-grid-legend")) }
            div class="wide" tabindex="0" role="region" aria-labelledby="grid-title" {
                table id="grid" class="grid" aria-labelledby="grid-title" {
                    thead { tr {
                        th scope="col" { (self.t("dash-day")) }
                        @for hour in first..=last { th scope="col" class="n" { (format!("{hour:02}:00")) } }
                    } }
                    tbody { @for weekday in &weekdays { tr {
                        th scope="row" { (self.t(&format!("weekday-{}", if *weekday == 0 { 7 } else { *weekday }))) }
                        @for hour in first..=last {
                            @match cell(*weekday, hour) {
                                Some(c) => td class={ "n " (band(c.within_pct)) } {
                                    strong { (c.arrivals) } br;
                                    (percent(c.within_pct)) br;
                                    (format!("{:.1}", c.counters_staffed))
                                },
                                None => td class="n" { "–" },
                            }
                        }
                    } } }
                }
            }
        }
    }

    /// A link to one of the summary tables as CSV (`/dashboard/table.csv`).
    fn table_link(&self, table: &str) -> Markup {
        html! {
            a class="noprint csv" href={ "/dashboard/table.csv?" (self.query(self.lang)) "&table=" (table) } {
                (self.t("dash-csv")) " · " (table)
            }
        }
    }

    fn sla_row(&self, label: &str, s: &SlaService) -> Markup {
        html! {
            tr {
                th scope="row" { (label) }
                td class="n" { (s.target_s.map_or("–".into(), |t| minutes(Some(f64::from(t))))) }
                td class="n" { (s.measured) }
                td class="n" { (s.within) }
                td class="n" { (s.breaches) }
                td class="n" { (s.never_called) }
                td class="n" { (percent(s.within_pct)) }
            }
        }
    }

    fn breach_row(&self, b: &SlaBreach) -> Markup {
        html! {
            tr {
                td class="n" { (b.case_ref) }
                td class="n" { (b.ticket) }
                td { (self.service_name(&b.service)) }
                td class="n" { (self.local_time(b.issued_at)) }
                td class="n" { (b.called_at.map_or_else(|| self.t("dash-never-called"), |c| self.local_time(c))) }
                td class="n" { (minutes(Some(b.waited_s))) }
                td class="n" { (minutes(Some(f64::from(b.target_s)))) }
                td { (b.counter.as_deref().map_or("–".into(), |c| self.counter_name(c))) }
                td { (b.staff.as_deref().map_or("–".into(), |s| self.staff_name(s))) }
            }
        }
    }

    /// A pause's reason in words (the branch's own reasons are shown as given).
    fn pause_reason(&self, reason: &str) -> String {
        match reason {
            "none" => self.t("dash-pause-no-reason"),
            "prayer" | "break" | "meeting" | "other" => self.t(&format!("reason-{reason}")),
            _ => reason.to_string(),
        }
    }

    /// The real CRM cases (follow-ups, referrals, escalations), each counted by its own events'
    /// dates: the range's counts by kind, the case SLA, and the cases open now.
    fn cases_section(&self) -> Markup {
        let CaseReport { total, open, .. } = &self.range.cases;
        let overdue = open.iter().filter(|c| c.overdue).count();
        let left_open = share(total.closed_within_target.left_open(), total.closed.left_open());
        let escalations = share(total.closed_within_target.escalation, total.closed.escalation);
        let hours = |s: u32| Arg::Number(f64::from(s / 3600));
        let policy = self.branch.cases;
        let heads =
            ["dash-case", "dash-ticket", "dash-case-kind", "dash-service", "dash-staff", "dash-opened", "dash-due", ""];
        html! {
            section aria-labelledby="cases" {
                h2 id="cases" { (self.t("dash-cases")) }
                div class="cards" {
                    (self.card("dash-cases-opened", total.opened.total().to_string()))
                    (self.card("dash-cases-closed", total.closed.total().to_string()))
                    (self.card_text(self.t_args("dash-cases-within", &[("hours", hours(policy.resolution_target_s))]), percent(left_open)))
                    (self.card_text(self.t_args("dash-escalations-within", &[("hours", hours(policy.escalation_target_s))]), percent(escalations)))
                    (self.card("dash-cases-open-now", open.len().to_string()))
                    (self.card("dash-cases-overdue", overdue.to_string()))
                    (self.card("dash-resolution-rating", total.resolution_rating_mean.map_or("–".into(), |m| format!("{m:.2} / 5"))))
                }
                p class="noprint" { @for table in ["cases", "open-cases"] { (self.table_link(table)) " " } }
                table id="case-kinds" {
                    thead { tr {
                        th scope="col" { (self.t("dash-case-kind")) }
                        @for key in ["dash-cases-opened", "dash-cases-closed", "dash-cases-closed-in-time", "dash-month-cases-open-at-end", "dash-overdue-at-end"] {
                            th scope="col" class="n" { (self.t(key)) }
                        }
                    } }
                    tbody { @for kind in CaseKind::ALL { tr {
                        th scope="row" { (self.t(&kind_key(kind))) }
                        td class="n" { (total.opened.of(kind)) }
                        td class="n" { (total.closed.of(kind)) }
                        td class="n" { (total.closed_within_target.of(kind)) }
                        td class="n" { (total.open_at_end.of(kind)) }
                        td class="n" { (total.overdue_at_end.of(kind)) }
                    } } }
                }
                @if !open.is_empty() {
                    h3 { (self.t("dash-open-cases")) }
                    table id="open-cases" {
                        thead { tr { @for key in heads { th scope="col" { @if !key.is_empty() { (self.t(key)) } } } } }
                        tbody { @for line in open.iter().take(OPEN_CASE_ROWS) { (self.case_row(line)) } }
                    }
                    @if open.len() > OPEN_CASE_ROWS {
                        p { (self.t_args("dash-open-cases-more", &[("count", Arg::Number((open.len() - OPEN_CASE_ROWS) as f64))])) }
                    }
                }
            }
        }
    }

    fn local_time(&self, at: DateTime<Utc>) -> String {
        at.with_timezone(&self.branch.utc_offset).format("%Y-%m-%d %H:%M").to_string()
    }

    fn case_row(&self, line: &CaseLine) -> Markup {
        html! {
            tr {
                td class="n" { (line.case_ref) }
                td class="n" { (line.ticket) }
                td { (self.t(&kind_key(line.kind))) }
                td { (self.service_name(&line.service)) }
                td { (line.staff.as_deref().map_or("–".into(), |s| self.staff_name(s))) }
                td class="n" { (self.local_time(line.opened_at)) }
                td class="n" { (self.local_time(line.due_at)) }
                td { @if line.overdue { strong class="error" { (self.t("dash-overdue")) } } }
            }
        }
    }

    /// Visits per hour and per service, waits and satisfaction per service.
    fn charts(&self) -> Markup {
        let summary = &self.range.summary;
        let rtl = self.lang == Lang::Ar;
        let target_min = |code: &str| {
            self.branch.services.iter().find(|s| s.code == code).map(|s| f64::from(s.target_wait_s) / 60.0)
        };
        let per_hour: Vec<Bar> =
            summary.per_hour.iter().map(|h| Bar::new(format!("{:02}:00", h.hour), h.visits as f64)).collect();
        let per_service: Vec<Bar> = summary
            .per_service
            .iter()
            .map(|s| Bar::new(self.service_name(&s.service), s.figures.visits as f64))
            .collect();
        let wait_service: Vec<Bar> = summary
            .per_service
            .iter()
            .map(|s| Bar {
                label: self.service_name(&s.service),
                value: (s.figures.wait_s.p90.unwrap_or(0.0) / 60.0 * 10.0).round() / 10.0,
                target: target_min(&s.service),
            })
            .collect();
        let within_service: Vec<Bar> = summary
            .per_service
            .iter()
            .filter_map(|s| {
                s.figures.within_target_pct.map(|p| Bar::new(self.service_name(&s.service), (p * 10.0).round() / 10.0))
            })
            .collect();
        let csat_service: Vec<Bar> = summary
            .per_service
            .iter()
            .filter_map(|s| {
                s.figures.csat.mean.map(|m| Bar::new(self.service_name(&s.service), (m * 100.0).round() / 100.0))
            })
            .collect();
        let minute = format!(" {}", self.t("dash-min-unit"));
        let (visits_axis, minutes_axis, share_axis, rating_axis) = (
            self.t("dash-axis-visits"),
            self.t("dash-axis-minutes"),
            self.t("dash-axis-share"),
            self.t("dash-axis-rating"),
        );
        let (target_name, goal_name) = (self.t("dash-target-wait"), self.t("dash-goal-share"));
        let chart = |key: &str, c: Chart| html! { figure { figcaption { h2 { (self.t(key)) } } (draw(&c)) } };
        let plain = |bars: Vec<Bar>| Chart {
            bars,
            unit: "",
            scale: Scale::FromZero,
            axis: "",
            target_name: None,
            goal: None,
            rtl,
        };
        html! {
            section { div class="charts" {
                (chart("dash-chart-hour", Chart { axis: &visits_axis, ..plain(per_hour) }))
                (chart("dash-chart-service", Chart { axis: &visits_axis, ..plain(per_service) }))
                (chart("dash-chart-wait", Chart {
                    bars: wait_service, unit: &minute, scale: Scale::FromZero, axis: &minutes_axis,
                    target_name: Some(&target_name), goal: None, rtl,
                }))
                (chart("dash-chart-within", Chart {
                    bars: within_service, unit: "%", scale: Scale::Fixed(0.0, 100.0), axis: &share_axis,
                    target_name: None, goal: Some((crate::forecast::GOAL * 100.0, &goal_name)), rtl,
                }))
                (chart("dash-chart-csat", Chart {
                    bars: csat_service, unit: "", scale: Scale::Fixed(1.0, 5.0), axis: &rating_axis,
                    target_name: None, goal: None, rtl,
                }))
            } }
        }
    }

    /// A table's head: the label column, the figures, and `extra` columns.
    fn table_head(&self, first: &str, extra: &[&str]) -> Markup {
        html! {
            thead { tr {
                th scope="col" { (self.t(first)) }
                @for key in FIGURE_COLUMNS.iter().chain(extra) { th scope="col" class="n" { (self.t(key)) } }
            } }
        }
    }

    /// A row's figure cells.
    fn figure_cells(f: &Figures) -> Markup {
        html! {
            td class="n" { (f.visits) }
            td class="n" { (f.served) }
            td class="n" { (f.no_shows) }
            td class="n" { (minutes(f.wait_s.mean)) }
            td class="n" { (minutes(f.wait_s.p90)) }
            td class="n" { (minutes(f.service_time_s.mean)) }
            td class="n" { (percent(f.within_target_pct)) }
            td class="n" { (f.csat.mean.map_or("–".into(), |m| format!("{m:.2}"))) }
        }
    }

    fn figure_row(label: &str, f: &Figures) -> Markup {
        html! { tr { th scope="row" { (label) } (Self::figure_cells(f)) } }
    }

    /// A section with a table of figures, one row a label.
    fn figure_table(&self, title: &str, first: &str, rows: Vec<(String, &Figures)>) -> Markup {
        html! {
            section { h2 { (self.t(title)) } table {
                (self.table_head(first, &[]))
                tbody { @for (label, f) in &rows { (Self::figure_row(label, f)) } }
            } }
        }
    }

    fn per_service(&self) -> Vec<(String, &Figures)> {
        self.range.summary.per_service.iter().map(|s| (self.service_name(&s.service), &s.figures)).collect()
    }

    fn per_counter(&self) -> Vec<(String, &Figures)> {
        self.range.summary.per_counter.iter().map(|c| (self.counter_name(&c.counter), &c.figures)).collect()
    }

    fn per_staff(&self) -> Vec<(String, &Figures)> {
        self.range.summary.per_staff.iter().map(|s| (self.staff_name(&s.staff), &s.figures)).collect()
    }

    /// The monthly report's SMS: each month's messages by kind, its parts and their cost.
    fn sms_section(&self) -> Markup {
        const KINDS: [(&str, &str); 5] = [
            ("code", "dash-sms-code"),
            ("near", "dash-sms-near"),
            ("called", "dash-sms-called"),
            ("reminder", "dash-sms-reminder"),
            ("other", "dash-sms-other"),
        ];
        let sms = &self.range.summary.sms;
        let cost = self.t_args("dash-sms-cost", &[("currency", Arg::Text(&sms.currency))]);
        html! {
            section id="sms" { h2 { (self.t("dash-sms")) } table {
                thead { tr {
                    th scope="col" { (self.t("dash-month")) }
                    @for (_, key) in KINDS { th scope="col" class="n" { (self.t(key)) } }
                    th scope="col" class="n" { (self.t("dash-sms-messages")) }
                    th scope="col" class="n" { (self.t("dash-sms-parts")) }
                    th scope="col" class="n" { (cost) }
                } }
                tbody { @for m in &sms.months {
                    tr {
                        th scope="row" { (format!("{} {}", self.t(&format!("month-{}", m.month.month())), m.month.year())) }
                        @for (kind, _) in KINDS {
                            td class="n" { (m.kinds.iter().find(|k| k.kind == kind).map_or(0, |k| k.messages)) }
                        }
                        td class="n" { (m.messages) }
                        td class="n" { (m.parts) }
                        td class="n" { (format!("{:.2}", m.cost)) }
                    }
                } }
            } }
        }
    }

    /// The monthly report: each month's figures, and its cases opened, closed and open at its end.
    fn monthly(&self) -> Markup {
        html! {
            section { h2 { (self.t("dash-monthly")) } table {
                (self.table_head("dash-month", &MONTH_CASE_COLUMNS))
                tbody { @for (month, f) in &self.range.monthly { (self.month_row(*month, f)) } }
            } }
        }
    }

    fn month_row(&self, month: NaiveDate, f: &Figures) -> Markup {
        let cases = self.range.cases.months.iter().find(|m| m.from == month);
        let count = |pick: fn(&CasePeriod) -> usize| cases.map_or(0, pick);
        let label = format!("{} {}", self.t(&format!("month-{}", month.month())), month.year());
        html! {
            tr {
                th scope="row" { (label) }
                (Self::figure_cells(f))
                td class="n" { (count(|c| c.opened.total())) }
                td class="n" { (count(|c| c.closed.total())) }
                td class="n" { (count(|c| c.open_at_end.total())) }
            }
        }
    }

    /// Root causes: low ratings' reasons and real cases' categories as shares of the range, with
    /// the change against the period before, per service and per month; then each month's exit
    /// rating beside the rating after resolution.
    fn reasons(&self) -> Markup {
        let c = &self.range.causes;
        let previous = format!("{} – {}", c.previous_from, c.previous_to);
        html! {
            section aria-labelledby="causes" id="causes-section" {
                h2 id="causes" { (self.t("dash-causes")) }
                p class="note" { (self.t_args("dash-causes-against", &[("previous", Arg::Text(&previous))])) }
                p class="noprint" {
                    @for table in ["reasons", "categories", "satisfaction"] { (self.table_link(table)) " " }
                }
                h3 id="reasons-title" { (self.t("dash-reasons")) }
                (self.cause_table("reasons", &c.reasons, true))
                h3 id="categories-title" { (self.t("dash-case-categories")) }
                (self.cause_table("categories", &c.categories, false))
                h3 { (self.t("dash-satisfaction-both")) }
                table id="satisfaction" {
                    thead { tr {
                        th scope="col" { (self.t("dash-month")) }
                        @for key in ["dash-exit-ratings", "dash-exit-mean", "dash-resolution-ratings", "dash-resolution-mean"] {
                            th scope="col" class="n" { (self.t(key)) }
                        }
                    } }
                    tbody { @for m in &c.satisfaction { tr {
                        th scope="row" { bdi { (m.from.format("%Y-%m")) } }
                        td class="n" { (m.exit_ratings) }
                        td class="n" { (m.exit_mean.map_or("–".into(), |x| format!("{x:.2}"))) }
                        td class="n" { (m.resolution_ratings) }
                        td class="n" { (m.resolution_mean.map_or("–".into(), |x| format!("{x:.2}"))) }
                    } } }
                }
            }
        }
    }

    /// A cause in words: a reason's name, a category as staff wrote it.
    fn cause_name(&self, cause: &str, reason: bool) -> String {
        match (reason, cause) {
            (true, _) => self.t(&reason_key(cause)),
            (false, crate::reports::causes::UNCATEGORISED) => self.t("dash-uncategorised"),
            (false, _) => cause.to_string(),
        }
    }

    /// One kind of cause: the range's shares with their change, then the shares per service and
    /// per month (columns: the range's causes, most frequent first).
    fn cause_table(&self, id: &str, table: &crate::reports::causes::CauseTable, reason: bool) -> Markup {
        let overall = &table.overall;
        if overall.total == 0 && overall.previous_total == 0 {
            return html! { p { (self.t("dash-causes-none")) } };
        }
        let columns: Vec<&str> = overall.causes.iter().map(|c| c.cause.as_str()).collect();
        let share_in = |g: &CauseGroup, cause: &str| {
            let share = g.causes.iter().find(|c| c.cause == cause);
            share.filter(|c| c.count > 0).map_or("–".into(), |c| percent(Some(c.share_pct)))
        };
        html! {
            table id={ (id) "-overall" } {
                thead { tr {
                    th scope="col" { (self.t("dash-cause")) }
                    @for key in ["dash-count", "dash-share", "dash-share-before", "dash-change-points"] {
                        th scope="col" class="n" { (self.t(key)) }
                    }
                } }
                tbody {
                    @for c in &overall.causes { tr {
                        th scope="row" { (self.cause_name(&c.cause, reason)) }
                        td class="n" { (c.count) }
                        td class="n" { (percent(Some(c.share_pct))) }
                        td class="n" { (percent(c.previous_share_pct)) }
                        td class="n" { (points(c.change_points)) }
                    } }
                    tr { th scope="row" { (self.t("dash-total")) } td class="n" { (overall.total) } td {} td class="n" { (overall.previous_total) } td {} }
                }
            }
            div class="wide" tabindex="0" role="region" aria-labelledby={ (id) "-title" } { table id={ (id) "-by-service" } {
                thead { tr {
                    th scope="col" { (self.t("dash-service")) }
                    th scope="col" class="n" { (self.t("dash-count")) }
                    @for c in &columns { th scope="col" class="n" { (self.cause_name(c, reason)) } }
                } }
                tbody {
                    @for g in &table.per_service { tr {
                        th scope="row" { (self.service_name(&g.group)) }
                        td class="n" { (g.total) }
                        @for c in &columns { td class="n" { (share_in(g, c)) } }
                    } }
                    @for g in &table.per_month { tr {
                        th scope="row" { bdi { (g.group.get(..7).unwrap_or(&g.group)) } }
                        td class="n" { (g.total) }
                        @for c in &columns { td class="n" { (share_in(g, c)) } }
                    } }
                }
            } }
        }
    }

    /// The CRM connector's outbox: what is delivered, what waits, why.
    /// The devices: role, counter, presence and when each was last heard.
    /// The closed days, and the form that closes one (a service or the whole branch).
    fn closures_section(&self) -> Markup {
        let today = self.now.with_timezone(&self.branch.utc_offset).date_naive();
        let lang = self.lang;
        html! {
            section aria-labelledby="closures" {
                h2 id="closures" { (self.t("dash-closures")) }
                @if self.closures.is_empty() {
                    p { (self.t("dash-closures-none")) }
                } @else {
                    table {
                        thead { tr {
                            @for key in ["dash-closure-day", "dash-service", "dash-closure-by", "dash-closure-site"] {
                                th scope="col" { (self.t(key)) }
                            }
                        } }
                        tbody { @for c in self.closures { tr {
                            td { bdi { (c.day) } }
                            td { (c.service.as_deref().map(|s| self.service_name(s)).unwrap_or_else(|| self.t("dash-closure-branch"))) }
                            td { (self.staff_name(&c.closed_by)) }
                            td { (self.t(if c.site_told_at.is_some() { "dash-closure-site-told" } else { "dash-closure-site-waiting" })) }
                        } } }
                    }
                }
                form class="filters noprint" method="post" action={ "/dashboard/closures?lang=" (lang.code()) } {
                    label { (self.t("dash-closure-day")) input type="date" name="day" required min=(today) value=(today); }
                    label { (self.t("dash-service")) select name="service" {
                        option value="" { (self.t("dash-closure-branch")) }
                        @for s in &self.branch.services {
                            option value=(s.code) { (s.code) " · " (name(&s.name, lang)) }
                        }
                    } }
                    button type="submit" { (self.t("dash-closure-close")) }
                }
                p class="hint" { (self.t("dash-closure-hint")) }
            }
        }
    }

    fn devices_section(&self) -> Markup {
        html! {
            section aria-labelledby="devices" {
                h2 id="devices" { (self.t("dash-devices")) }
                @if self.devices.is_empty() {
                    p { (self.t("dash-devices-none")) }
                } @else {
                    table {
                        thead { tr {
                            @for key in ["dash-device", "dash-device-role", "dash-counter", "dash-device-status", "dash-device-seen",
                                "dash-device-firmware", "dash-device-uptime", "dash-device-signal", "dash-device-reset",
                                "dash-device-update"] {
                                th scope="col" { (self.t(key)) }
                            }
                        } }
                        tbody { @for d in self.devices { tr {
                            td { bdi { (d.device) } }
                            td { (d.role.map(|r| self.t(&format!("dash-role-{r}"))).unwrap_or_else(|| "–".into())) }
                            td { (d.counter.as_deref().map(|c| self.counter_name(c)).unwrap_or_else(|| "–".into())) }
                            td { (self.t(match d.status {
                                dawr_protocol::device::PresenceStatus::Online => "dash-device-online",
                                dawr_protocol::device::PresenceStatus::Offline => "dash-device-offline",
                            })) }
                            td { bdi { (d.seen_at.map(|at| at.with_timezone(&self.branch.utc_offset).format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| self.t("dash-device-never"))) } }
                            td { bdi { (d.firmware.as_deref().unwrap_or("–")) } }
                            td { (d.uptime_s.map(|s| self.uptime(s)).unwrap_or_else(|| "–".into())) }
                            td { bdi { (d.rssi.map(|dbm| self.signal(dbm)).unwrap_or_else(|| "–".into())) } }
                            td { (d.reset.map(|r| self.t(reset_key(r))).unwrap_or_else(|| "–".into())) }
                            td { (self.update_state(d)) }
                        } } }
                    }
                }
            }
        }
    }

    /// The firmware rollout: which image the ticked buttons are offered (or none: withdrawn).
    fn firmware_section(&self) -> Markup {
        let buttons: Vec<_> =
            self.devices.iter().filter(|d| d.role == Some(dawr_protocol::acl::Role::Button)).collect();
        html! {
            section aria-labelledby="firmware" {
                h2 id="firmware" { (self.t("dash-firmware")) }
                @if self.firmware.is_empty() {
                    p { (self.t("dash-firmware-none")) }
                } @else if !buttons.is_empty() {
                    form class="filters noprint" method="post" action={ "/dashboard/firmware?lang=" (self.lang.code()) } {
                        label { (self.t("dash-firmware-version")) select name="version" {
                            @for image in self.firmware {
                                option value=(image.version) { (image.version) " · " (image.size) " B" }
                            }
                            option value="" { (self.t("dash-firmware-withdraw")) }
                        } }
                        fieldset {
                            legend { (self.t("dash-firmware-buttons")) }
                            @for b in &buttons {
                                label { input type="checkbox" name="device" value=(b.device); " " bdi { (b.device) } }
                            }
                        }
                        button type="submit" { (self.t("dash-firmware-choose")) }
                    }
                    p class="hint" { (self.t("dash-firmware-hint")) }
                }
            }
        }
    }

    /// Where a button's update stands: its last report, or the version offered before any report.
    fn update_state(&self, d: &dawr_protocol::api::DeviceInfo) -> String {
        use dawr_protocol::device::{UpdateRefusal as R, UpdateStage as S};
        let Some(report) = &d.update else {
            return match &d.offered {
                Some(version) => self.t_args("dash-update-offered", &[("version", Arg::Text(version))]),
                None => "–".into(),
            };
        };
        let version = report.version.as_deref().unwrap_or("–");
        let percent = match (report.received, report.size) {
            (Some(r), Some(size)) if size > 0 => (u64::from(r) * 100 / u64::from(size)) as f64,
            _ => 0.0,
        };
        let reason = self.t(match report.reason {
            Some(R::WrongHash) => "dash-refusal-wrong-hash",
            Some(R::BadSignature) => "dash-refusal-bad-signature",
            Some(R::TooLarge) => "dash-refusal-too-large",
            Some(R::Flash) => "dash-refusal-flash",
            Some(R::Unknown) | None => "dash-update-unknown",
        });
        let key = match report.stage {
            S::Idle => "dash-update-idle",
            S::Downloading => "dash-update-downloading",
            S::Verifying => "dash-update-verifying",
            S::Swapping => "dash-update-swapping",
            S::Trial => "dash-update-trial",
            S::Confirmed => "dash-update-confirmed",
            S::RolledBack => "dash-update-rolled-back",
            S::Refused => "dash-update-refused",
            S::Unknown => "dash-update-unknown",
        };
        self.t_args(
            key,
            &[("version", Arg::Text(version)), ("percent", Arg::Number(percent)), ("reason", Arg::Text(&reason))],
        )
    }

    /// A button's uptime as days, hours and minutes.
    fn uptime(&self, seconds: u32) -> String {
        let (days, hours, minutes) = (seconds / 86_400, seconds / 3_600 % 24, seconds / 60 % 60);
        let arg = |v: u32| Arg::Number(f64::from(v));
        self.t_args(
            "dash-device-uptime-value",
            &[("days", arg(days)), ("hours", arg(hours)), ("minutes", arg(minutes))],
        )
    }

    /// A Wi-Fi signal in dBm with how good it is.
    fn signal(&self, dbm: i16) -> String {
        let quality = self.t(signal_quality_key(dbm));
        self.t_args(
            "dash-device-signal-value",
            &[("dbm", Arg::Number(f64::from(dbm))), ("quality", Arg::Text(&quality))],
        )
    }

    fn crm_section(&self, status: &CrmStatus) -> Markup {
        let failing = status.last_error.as_deref().filter(|_| status.pending > 0);
        html! {
            section aria-labelledby="crm" {
                h2 id="crm" { (self.t("dash-crm")) }
                div class="cards" {
                    (self.card("dash-crm-delivered", status.delivered.to_string()))
                    (self.card("dash-crm-pending", status.pending.to_string()))
                    (self.card("dash-crm-oldest", status.oldest_pending_at.clone().unwrap_or_else(|| "–".into())))
                }
                @if let Some(error) = failing {
                    p class="alert" role="alert" {
                        (self.t_args("dash-crm-failing", &[("attempts", Arg::Number(status.attempts as f64))])) " " (error)
                    }
                }
            }
        }
    }

    /// The audit log's latest entries in the range: when, who, what, to what, which fields.
    fn audit_section(&self) -> Markup {
        let entries = &self.audit.entries;
        html! {
            section aria-labelledby="audit" {
                h2 id="audit" { (self.t("dash-audit")) }
                @if entries.is_empty() {
                    p { (self.t("dash-audit-empty")) }
                } @else {
                    table {
                        thead { tr {
                            th { (self.t("dash-audit-when")) }
                            th { (self.t("dash-audit-who")) }
                            th { (self.t("dash-audit-what")) }
                            th { (self.t("dash-audit-subject")) }
                            th { (self.t("dash-audit-details")) }
                        } }
                        tbody {
                            @for entry in entries {
                                tr {
                                    td class="n" { (entry.at.with_timezone(&self.branch.utc_offset).format("%Y-%m-%d %H:%M")) }
                                    td { (self.actor(&entry.actor)) }
                                    td { (self.t(&format!("audit-{}", entry.action.as_str().replace('_', "-")))) }
                                    td class="n" { (entry.subject.as_deref().unwrap_or("–")) }
                                    td { (self.audit_details(entry)) }
                                }
                            }
                        }
                    }
                    @if self.audit.next_before.is_some() { p { (self.t("dash-audit-more")) } }
                }
            }
        }
    }

    /// A staff member's name, the retention job's, the device commands', or the id as given.
    fn actor(&self, actor: &str) -> String {
        match actor {
            crate::audit::SYSTEM => return self.t("dash-audit-system"),
            crate::devices::CLI_ACTOR => return self.t("dash-audit-cli"),
            crate::devices::DEMO_ACTOR => return self.t("dash-audit-demo"),
            _ => {}
        }
        let person = self.branch.staff.iter().find(|s| s.id == actor);
        person.map_or(actor.to_string(), |p| format!("{} ({actor})", name(&p.name, self.lang)))
    }

    /// `field: before → after` for each field an entry lists.
    fn audit_details(&self, entry: &AuditEntry) -> String {
        let field = |key: &str| match AUDIT_FIELDS.contains(&key) {
            true => self.t(&format!("audit-field-{}", key.replace('_', "-"))),
            false => key.to_string(),
        };
        let mut keys: Vec<&String> = entry.before.keys().chain(entry.after.keys()).collect();
        keys.sort();
        keys.dedup();
        let shown = |v: Option<&String>| v.filter(|v| !v.is_empty()).cloned().unwrap_or_else(|| "–".into());
        keys.into_iter()
            .map(|key| match entry.before.contains_key(key) {
                true => format!("{}: {} → {}", field(key), shown(entry.before.get(key)), shown(entry.after.get(key))),
                false => format!("{}: {}", field(key), shown(entry.after.get(key))),
            })
            .collect::<Vec<_>>()
            .join("; ")
    }
}
