//! The central dashboard's pages ([`maud`] templates, which escape every value) and its CSV.
use chrono::NaiveDate;
use dawr_i18n::{Arg, Lang, Texts};
use dawr_web::html::{Head, name, page};
use maud::{Markup, html};

use super::BranchFigures;
use crate::people::{CentreFile, User, UserRole};
use crate::reports::Totals;
use dawr_protocol::api::ministry::CentralBranch;

const STYLE: &str = "\
:root{--ink:#0b2545;--brand:#0b4f6e;--muted:#4a5b73;--bad:#b3261e;--line:#d5dce6}\
body{margin:0;color:var(--ink);background:#eef2f7;line-height:1.45}\
header{background:var(--brand);color:#fff;padding:12px 20px;display:flex;gap:16px;align-items:center;flex-wrap:wrap}\
header h1{font-size:1.2rem;margin:0;flex:1}\
header a{color:#fff}\
header form{margin:0}\
main{max-width:76rem;margin:0 auto;padding:16px}\
section{background:#fff;border-radius:12px;padding:16px 20px;margin:0 0 16px;box-shadow:0 1px 2px rgba(0,0,0,.08)}\
h2{font-size:1.1rem;margin:0 0 12px}\
form.filters{display:flex;flex-wrap:wrap;gap:12px;align-items:end}\
form.filters label{display:flex;flex-direction:column;font-size:.9rem;color:var(--muted)}\
input,button{font:inherit;padding:6px 8px;border:1px solid var(--line);border-radius:6px}\
button{background:var(--brand);color:#fff;border:0;padding:8px 16px;cursor:pointer}\
header button{background:transparent;border:1px solid #fff}\
table{border-collapse:collapse;width:100%;font-size:.95rem}\
th,td{padding:6px 8px;border-bottom:1px solid var(--line);text-align:start}\
td.n,th.n{text-align:end;font-variant-numeric:tabular-nums}\
tr.total td{font-weight:700}\
.off{color:var(--bad);font-weight:600}\
.ok{color:#0b6e4f}\
.signin{max-width:24rem;margin:10vh auto}\
.signin label{display:block;margin:10px 0 4px}\
.signin input{width:100%}\
.error{color:var(--bad);font-weight:600}\
.sr-only{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}\
ul.devices{margin:0;padding-inline-start:1.1rem;font-size:.9rem}\
@media print{header a,header form,form.filters{display:none}body{background:#fff}}";

fn t(texts: &Texts, lang: Lang, key: &str) -> String {
    texts.get(lang, key, &[])
}

fn minutes(seconds: Option<f64>) -> String {
    seconds.map_or_else(|| "—".into(), |s| format!("{:.1}", s / 60.0))
}

fn percent(pct: Option<f64>) -> String {
    pct.map_or_else(|| "—".into(), |p| format!("{p:.0}%"))
}

/// A page that says one thing (a key).
pub fn message(texts: &Texts, lang: Lang, key: &str) -> Markup {
    let body = html! { main { section { p class="error" role="alert" { (t(texts, lang, key)) } p { a href={ "/?lang=" (lang.code()) } { (t(texts, lang, "central-nav-live")) } } } } };
    page(Head::new(lang, "Dawr", STYLE).noindex(), body)
}

/// A page that says one thing about `branch` (a key with `$branch` and `$detail`).
pub fn message_with(texts: &Texts, lang: Lang, key: &str, branch: &str, detail: &str) -> Markup {
    let text = texts.get(lang, key, &[("branch", Arg::Text(branch)), ("detail", Arg::Text(detail))]);
    let back = format!("/branches/{branch}/config?lang={}", lang.code());
    let body = html! { main { section { p class="error" role="alert" { (text) } p { a href=(back) { (t(texts, lang, "central-config-back")) } } } } };
    page(Head::new(lang, "Dawr", STYLE).noindex(), body)
}

/// The sign-in form (`failed`: after a wrong user or password).
pub fn sign_in(texts: &Texts, lang: Lang, failed: bool) -> Markup {
    let other = lang.other().code();
    let body = html! {
        main class="signin" { section {
            h1 { (t(texts, lang, "central-sign-in-title")) }
            @if failed { p class="error" role="alert" { (t(texts, lang, "central-wrong")) } }
            form method="post" action="/sign-in" {
                input type="hidden" name="lang" value=(lang.code());
                label for="user" { (t(texts, lang, "central-user")) }
                input id="user" name="user" autocomplete="username" required;
                label for="password" { (t(texts, lang, "central-password")) }
                input id="password" name="password" type="password" autocomplete="current-password" required;
                p { button type="submit" { (t(texts, lang, "central-sign-in")) } }
            }
            p { a href={ "/?lang=" (other) } lang=(other) hreflang=(other) { (t(texts, lang, "switch-language")) } }
        } }
    };
    page(Head::new(lang, &t(texts, lang, "central-sign-in-title"), STYLE).noindex(), body)
}

/// The header of every signed-in page: who, where to go, the other language, sign out.
fn header(texts: &Texts, lang: Lang, file: &CentreFile, user: &User, here: &str) -> Markup {
    let role = match (user.role, user.region.as_deref()) {
        (UserRole::Regional, Some(region)) => {
            let region = file.regions.iter().find(|r| r.id == region).map_or(region, |r| name(&r.name, lang));
            texts.get(lang, "central-regional", &[("region", Arg::Text(region))])
        }
        _ => t(texts, lang, "central-central"),
    };
    let other = lang.other().code();
    let sep = if here.contains('?') { '&' } else { '?' };
    html! {
        header {
            h1 { (t(texts, lang, "central-title")) }
            span { (name(&user.name, lang)) " · " (role) }
            nav {
                a href={ "/?lang=" (lang.code()) } { (t(texts, lang, "central-nav-live")) } " · "
                a href={ "/figures?lang=" (lang.code()) } { (t(texts, lang, "central-nav-figures")) } " · "
                a href={ "/monthly?lang=" (lang.code()) } { (t(texts, lang, "central-nav-monthly")) } " · "
                a href={ (here) (sep) "lang=" (other) } lang=(other) hreflang=(other) { (t(texts, lang, "switch-language")) }
            }
            form method="post" action={ "/sign-out?lang=" (lang.code()) } { button type="submit" { (t(texts, lang, "central-sign-out")) } }
        }
    }
}

fn branch_name(file: &CentreFile, lang: Lang, branch: &str) -> String {
    file.branches
        .iter()
        .find(|b| b.id == branch)
        .map_or_else(|| branch.to_string(), |b| name(&b.name, lang).to_string())
}

fn region_name(file: &CentreFile, lang: Lang, branch: &str) -> String {
    let Some(region) = file.region_of(branch) else { return "—".into() };
    file.regions.iter().find(|r| r.id == region).map_or_else(|| region.to_string(), |r| name(&r.name, lang).to_string())
}

/// Every branch now.
pub fn live(texts: &Texts, lang: Lang, file: &CentreFile, user: &User, rows: &[CentralBranch]) -> Markup {
    let tt = |key: &str| t(texts, lang, key);
    // A central manager edits branches' configurations.
    let editable = user.role == UserRole::Central;
    let body = html! {
        (header(texts, lang, file, user, "/"))
        main { section {
            h2 { (tt("central-live-title")) }
            @if rows.is_empty() { p { (tt("central-no-branches")) } } @else {
            table id="live" {
                thead { tr {
                    th { (tt("central-col-branch")) } th { (tt("central-col-region")) }
                    th class="n" { (tt("central-col-waiting")) } th class="n" { (tt("central-col-longest")) }
                    th class="n" { (tt("central-col-counters-open")) } th { (tt("central-col-status")) }
                    th { (tt("central-col-devices-offline")) }
                    th { (tt("central-col-config")) }
                    @if editable { th { span class="sr-only" { (tt("central-config-edit")) } } }
                } }
                tbody { @for b in rows { (live_row(texts, lang, file, b, editable)) } }
            } }
        } }
    };
    page(Head::new(lang, &tt("central-title"), STYLE).noindex(), body)
}

/// A branch's offline devices: each with since when (or "never heard").
fn offline_devices(texts: &Texts, lang: Lang, b: &CentralBranch) -> Markup {
    html! {
        @if b.devices_offline.is_empty() {
            span class="ok" { (t(texts, lang, "central-devices-all-online")) }
        } @else {
            ul class="devices" {
                @for d in &b.devices_offline {
                    li class="off" data-device=(d.device) {
                        @match d.since {
                            Some(since) => {
                                (texts.get(lang, "central-device-offline-since", &[
                                    ("device", Arg::Text(&d.device)),
                                    ("at", Arg::Text(&since.format("%Y-%m-%d %H:%M UTC").to_string())),
                                ]))
                            }
                            None => {
                                (texts.get(lang, "central-device-never-heard", &[("device", Arg::Text(&d.device))]))
                            }
                        }
                    }
                }
            }
        }
    }
}

fn live_row(texts: &Texts, lang: Lang, file: &CentreFile, b: &CentralBranch, editable: bool) -> Markup {
    let config = match (&b.config_refused, b.config_revision) {
        (Some(refused), applied) if applied.is_none_or(|a| a < refused.revision) => texts.get(
            lang,
            "central-config-refused",
            &[("revision", Arg::Number(refused.revision as f64)), ("reason", Arg::Text(&refused.reason))],
        ),
        (_, Some(revision)) => texts.get(lang, "central-config-applied", &[("revision", Arg::Number(revision as f64))]),
        (_, None) => t(texts, lang, "central-config-local"),
    };
    html! {
        tr data-branch=(b.branch) data-stale=(b.stale) {
            td { a href={ "/branches/" (b.branch) "/cases?lang=" (lang.code()) } { (branch_name(file, lang, &b.branch)) } }
            td { (region_name(file, lang, &b.branch)) }
            td class="n" { (b.waiting) }
            td class="n" { (minutes(b.longest_wait_s.map(f64::from))) }
            td class="n" { (b.counters_open) " / " (b.counters) }
            @if b.stale {
                td class="off" { (texts.get(lang, "central-offline-since", &[("at", Arg::Text(&b.last_health_at))])) }
            } @else {
                td class="ok" { (t(texts, lang, "central-online")) }
            }
            td { (offline_devices(texts, lang, b)) }
            td { (config) }
            @if editable {
                td { a href={ "/branches/" (b.branch) "/config?lang=" (lang.code()) } { (t(texts, lang, "central-config-edit")) } }
            }
        }
    }
}

/// A branch's case notes as the centre has them, the most recently changed first.
pub fn cases(
    texts: &Texts,
    lang: Lang,
    file: &CentreFile,
    user: &User,
    branch: &str,
    notes: &[dawr_protocol::api::ministry::UplinkCaseNote],
) -> Markup {
    let tt = |key: &str| t(texts, lang, key);
    let title = texts.get(lang, "central-cases-title", &[("branch", Arg::Text(&branch_name(file, lang, branch)))]);
    let body = html! {
        (header(texts, lang, file, user, &format!("/branches/{branch}/cases")))
        main { section {
            h2 { (title) }
            @if notes.is_empty() { p { (tt("central-cases-none")) } } @else {
            table id="cases" {
                thead { tr {
                    th { (tt("central-cases-ref")) } th { (tt("central-cases-category")) }
                    th { (tt("central-cases-notes")) } th { (tt("central-cases-closed")) }
                    th { (tt("central-cases-updated")) }
                } }
                tbody { @for n in notes {
                    tr data-case=(n.case_ref) {
                        td { (n.case_ref) }
                        td { (n.category.as_deref().unwrap_or("—")) }
                        td { (n.notes) }
                        td { @match (&n.closed_at, &n.closed_by) {
                            (Some(at), Some(by)) => { (texts.get(lang, "central-cases-closed-by", &[("at", Arg::Text(at)), ("by", Arg::Text(by))])) }
                            (Some(at), None) => { (at) }
                            _ => { "—" }
                        } }
                        td { (texts.get(lang, "central-cases-updated-by", &[("at", Arg::Text(&n.updated_at)), ("by", Arg::Text(&n.updated_by))])) }
                    }
                } }
            } }
        } }
    };
    page(Head::new(lang, &tt("central-title"), STYLE).noindex(), body)
}

/// What the configuration page shows.
pub struct ConfigPage<'a> {
    pub branch: &'a str,
    /// The revision in `dawr_config` the form edits.
    pub revision: u64,
    pub centre: &'a dawr_hub::config::CentreConfig,
    /// The branch now, if it ever reported (the revision it runs, or refused).
    pub now: Option<&'a CentralBranch>,
    pub changes: &'a [crate::store::ConfigChange],
}

/// Whether the branch runs `revision` (or a newer one).
fn applied(now: Option<&CentralBranch>, revision: u64) -> bool {
    now.and_then(|b| b.config_revision).is_some_and(|r| r >= revision)
}

/// A branch's configuration from the centre, to edit: its closing time and each service's names
/// and target wait; the revision the branch runs; the changes made here, with their authors.
pub fn config(texts: &Texts, lang: Lang, file: &CentreFile, user: &User, p: &ConfigPage) -> Markup {
    let tt = |key: &str| t(texts, lang, key);
    let here = format!("/branches/{}/config", p.branch);
    let title = texts.get(lang, "central-config-title", &[("branch", Arg::Text(&branch_name(file, lang, p.branch)))]);
    let state = match p.now {
        Some(b) if applied(Some(b), p.revision) => {
            texts.get(lang, "central-config-runs", &[("revision", Arg::Number(p.revision as f64))])
        }
        Some(CentralBranch { config_refused: Some(r), .. }) if r.revision == p.revision => texts.get(
            lang,
            "central-config-refused",
            &[("revision", Arg::Number(r.revision as f64)), ("reason", Arg::Text(&r.reason))],
        ),
        _ => texts.get(lang, "central-config-waiting", &[("revision", Arg::Number(p.revision as f64))]),
    };
    let body = html! {
        (header(texts, lang, file, user, &here))
        main {
            section {
                h2 { (title) }
                p id="config-state" data-revision=(p.revision) data-applied=(applied(p.now, p.revision)) { (state) }
                form method="post" action=(here) {
                    input type="hidden" name="lang" value=(lang.code());
                    input type="hidden" name="revision" value=(p.revision);
                    p { label { (tt("central-config-closes")) " "
                        input type="time" name="closes" value=(p.centre.closes.as_deref().unwrap_or_default()); } }
                    table id="services" {
                        thead { tr {
                            th { (tt("central-col-service")) } th { (tt("central-config-name-ar")) }
                            th { (tt("central-config-name-en")) } th { (tt("central-config-target")) }
                        } }
                        tbody { @for svc in &p.centre.services { tr {
                            td { (svc.code) }
                            td { input name={ (svc.code) ".name_ar" } value=(svc.name.ar) lang="ar" dir="rtl" required
                                aria-label={ (svc.code) " · " (tt("central-config-name-ar")) }; }
                            td { input name={ (svc.code) ".name_en" } value=(svc.name.en) lang="en" dir="ltr" required
                                aria-label={ (svc.code) " · " (tt("central-config-name-en")) }; }
                            td { input name={ (svc.code) ".target_wait_min" } type="number" min="0" max="600" step="0.5"
                                value=(svc.target_wait_min) aria-label={ (svc.code) " · " (tt("central-config-target")) }; }
                        } } }
                    }
                    p { button type="submit" { (tt("central-config-save")) } }
                }
            }
            section {
                h2 { (tt("central-config-changes")) }
                @if p.changes.is_empty() { p { (tt("central-config-no-changes")) } } @else {
                table id="changes" {
                    thead { tr {
                        th class="n" { (tt("central-config-revision")) } th { (tt("central-config-author")) }
                        th { (tt("central-config-at")) } th { (tt("central-config-what")) } th { (tt("central-config-applied-col")) }
                    } }
                    tbody { @for c in p.changes { tr data-revision=(c.revision) {
                        td class="n" { (c.revision) }
                        td { (file.users.iter().find(|u| u.id == c.author).map_or(c.author.as_str(), |u| name(&u.name, lang))) }
                        td { (c.at) }
                        td { @for line in &c.changes { div dir="ltr" { (line) } } }
                        td { @if applied(p.now, c.revision) { span class="ok" { (tt("central-config-yes")) } } @else { "—" } }
                    } } }
                } }
            }
        }
    };
    page(Head::new(lang, &title, STYLE).noindex(), body)
}

fn figures_head(texts: &Texts, lang: Lang, first: &str) -> Markup {
    let tt = |key: &str| t(texts, lang, key);
    html! { thead { tr {
        th { (tt(first)) }
        th class="n" { (tt("central-col-visits")) } th class="n" { (tt("central-col-served")) }
        th class="n" { (tt("central-col-no-shows")) } th class="n" { (tt("central-col-mean-wait")) }
        th class="n" { (tt("central-col-within-target")) }
    } } }
}

fn figures_row(label: &str, totals: &Totals, class: &str) -> Markup {
    html! { tr class=(class) {
        td { (label) }
        td class="n" { (totals.visits) } td class="n" { (totals.served) } td class="n" { (totals.no_shows) }
        td class="n" { (minutes(totals.mean_wait_s())) } td class="n" { (percent(totals.within_target_pct())) }
    } }
}

/// The sum of every branch's figures.
fn all(rows: &[BranchFigures]) -> Totals {
    let mut total = Totals::default();
    rows.iter().for_each(|r| total.add(r.totals));
    total
}

/// The figures per region, in the file's order (branches of no region last, as "—").
fn per_region(file: &CentreFile, lang: Lang, rows: &[BranchFigures]) -> Vec<(String, Totals)> {
    let mut out: Vec<(String, Totals)> = Vec::new();
    for r in rows {
        let label = region_name(file, lang, &r.branch);
        match out.iter_mut().find(|(l, _)| *l == label) {
            Some((_, t)) => t.add(r.totals),
            None => out.push((label, r.totals)),
        }
    }
    out
}

/// The figures per service code, over every branch.
fn per_service(rows: &[BranchFigures]) -> Vec<(String, Totals)> {
    let mut out: Vec<(String, Totals)> = Vec::new();
    for (code, totals) in rows.iter().flat_map(|r| &r.services) {
        match out.iter_mut().find(|(c, _)| c == code) {
            Some((_, t)) => t.add(*totals),
            None => out.push((code.clone(), *totals)),
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Figures per branch, region and service over a range.
pub fn figures(
    texts: &Texts,
    lang: Lang,
    file: &CentreFile,
    user: &User,
    from: NaiveDate,
    to: NaiveDate,
    rows: &[BranchFigures],
) -> Markup {
    let tt = |key: &str| t(texts, lang, key);
    let here = format!("/figures?from={from}&to={to}");
    let body = html! {
        (header(texts, lang, file, user, &here))
        main {
            section {
                form class="filters" method="get" action="/figures" {
                    input type="hidden" name="lang" value=(lang.code());
                    label { (tt("central-from")) input type="date" name="from" value=(from.to_string()); }
                    label { (tt("central-to")) input type="date" name="to" value=(to.to_string()); }
                    button type="submit" { (tt("central-show")) }
                    a href={ "/figures.csv?from=" (from) "&to=" (to) } { (tt("central-csv")) }
                }
            }
            section {
                h2 { (tt("central-by-branch")) }
                table id="by-branch" {
                    (figures_head(texts, lang, "central-col-branch"))
                    tbody {
                        @for r in rows { (figures_row(&branch_name(file, lang, &r.branch), &r.totals, "")) }
                        (figures_row(&tt("central-total"), &all(rows), "total"))
                    }
                }
            }
            section {
                h2 { (tt("central-by-region")) }
                table id="by-region" {
                    (figures_head(texts, lang, "central-col-region"))
                    tbody { @for (label, totals) in per_region(file, lang, rows) { (figures_row(&label, &totals, "")) } }
                }
            }
            section {
                h2 { (tt("central-by-service")) }
                table id="by-service" {
                    (figures_head(texts, lang, "central-col-service"))
                    tbody { @for (code, totals) in per_service(rows) { (figures_row(&code, &totals, "")) } }
                }
            }
        }
    };
    page(Head::new(lang, &tt("central-nav-figures"), STYLE).noindex(), body)
}

/// The directorate's monthly report: the branches compared (best share within target first),
/// each region's total, and the directorate's.
pub fn monthly(
    texts: &Texts,
    lang: Lang,
    file: &CentreFile,
    user: &User,
    month: NaiveDate,
    rows: &[BranchFigures],
) -> Markup {
    let tt = |key: &str| t(texts, lang, key);
    let label = month.format("%Y-%m").to_string();
    let mut ranked: Vec<&BranchFigures> = rows.iter().collect();
    ranked.sort_by(|a, b| {
        let pct = |r: &BranchFigures| r.totals.within_target_pct().unwrap_or(-1.0);
        pct(b).total_cmp(&pct(a)).then_with(|| a.branch.cmp(&b.branch))
    });
    let here = format!("/monthly?month={label}");
    let body = html! {
        (header(texts, lang, file, user, &here))
        main {
            section {
                h2 { (texts.get(lang, "central-monthly-title", &[("month", Arg::Text(&label))])) }
                form class="filters" method="get" action="/monthly" {
                    input type="hidden" name="lang" value=(lang.code());
                    label { (tt("central-month")) input type="month" name="month" value=(label); }
                    button type="submit" { (tt("central-show")) }
                }
            }
            section {
                h2 { (tt("central-compared")) }
                table id="compared" {
                    thead { tr {
                        th class="n" { "#" } th { (tt("central-col-branch")) } th { (tt("central-col-region")) }
                        th class="n" { (tt("central-col-visits")) } th class="n" { (tt("central-col-served")) }
                        th class="n" { (tt("central-col-no-shows")) } th class="n" { (tt("central-col-mean-wait")) }
                        th class="n" { (tt("central-col-within-target")) }
                    } }
                    tbody {
                        @for (i, r) in ranked.iter().enumerate() { tr {
                            td class="n" { (i + 1) }
                            td { (branch_name(file, lang, &r.branch)) } td { (region_name(file, lang, &r.branch)) }
                            td class="n" { (r.totals.visits) } td class="n" { (r.totals.served) }
                            td class="n" { (r.totals.no_shows) } td class="n" { (minutes(r.totals.mean_wait_s())) }
                            td class="n" { (percent(r.totals.within_target_pct())) }
                        } }
                    }
                }
            }
            section {
                h2 { (tt("central-by-region")) }
                table {
                    (figures_head(texts, lang, "central-col-region"))
                    tbody {
                        @for (label, totals) in per_region(file, lang, rows) { (figures_row(&label, &totals, "")) }
                        (figures_row(&tt("central-total"), &all(rows), "total"))
                    }
                }
            }
        }
    };
    page(Head::new(lang, &tt("central-nav-monthly"), STYLE).noindex(), body)
}

/// The branches' figures as CSV (one row a branch; numbers as numbers, waits in seconds).
pub fn csv(file: &CentreFile, rows: &[BranchFigures]) -> String {
    let field = |text: &str| {
        if text.contains([',', '"', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
    };
    let number = |n: Option<f64>| n.map_or_else(String::new, |n| format!("{n:.1}"));
    let mut out = String::from("branch,region,visits,served,no_shows,cancelled,mean_wait_s,within_target_pct\n");
    for r in rows {
        let t = &r.totals;
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            field(&r.branch),
            field(file.region_of(&r.branch).unwrap_or("")),
            t.visits,
            t.served,
            t.no_shows,
            t.cancelled,
            number(t.mean_wait_s()),
            number(t.within_target_pct())
        ));
    }
    out
}
