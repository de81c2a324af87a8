//! The dashboard's summary tables as rows for CSV (`/dashboard/table.csv?table=…`): the same
//! figures the page shows, with machine column names, names in Arabic and English, local times
//! and minutes. Pure: a [`Range`] in, a head and rows out.
use chrono::{DateTime, Utc};

use super::view::Range;
use crate::cases::{CaseKind, CasePeriod};
use crate::domain::Branch;
use crate::reports::Figures;
use crate::reports::causes::CauseTable;

/// The tables that can be exported, by the name the query gives.
pub const TABLES: [&str; 12] = [
    "service-levels",
    "days",
    "grid",
    "pauses",
    "breaches",
    "cases",
    "open-cases",
    "per-service",
    "monthly",
    "reasons",
    "categories",
    "satisfaction",
];

/// The weekday names of the grid table, Sunday first, in Arabic and English.
const WEEKDAYS: [(&str, &str); 7] = [
    ("الأحد", "Sunday"),
    ("الاثنين", "Monday"),
    ("الثلاثاء", "Tuesday"),
    ("الأربعاء", "Wednesday"),
    ("الخميس", "Thursday"),
    ("الجمعة", "Friday"),
    ("السبت", "Saturday"),
];

type Table = (Vec<String>, Vec<Vec<String>>);

fn head(columns: &[&str]) -> Vec<String> {
    columns.iter().map(|c| c.to_string()).collect()
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

fn one_decimal(value: Option<f64>) -> String {
    value.map(|v| format!("{v:.1}")).unwrap_or_default()
}

fn minutes(seconds: Option<f64>) -> String {
    one_decimal(seconds.map(|s| s / 60.0))
}

/// A service's code with its Arabic and English names.
fn service_names(branch: &Branch, code: &str) -> [String; 3] {
    let service = branch.services.iter().find(|s| s.code == code);
    [code.to_string(), opt(service.map(|s| &s.name.ar)), opt(service.map(|s| &s.name.en))]
}

fn local(branch: &Branch, at: Option<DateTime<Utc>>) -> String {
    opt(at.map(|t| t.with_timezone(&branch.utc_offset).format("%Y-%m-%d %H:%M:%S")))
}

/// The table `name` of a range, or `None` for an unknown name.
pub fn table(name: &str, range: &Range, branch: &Branch) -> Option<Table> {
    let sla = &range.sla;
    Some(match name {
        "service-levels" => (
            head(&[
                "service",
                "service_ar",
                "service_en",
                "target_min",
                "measured",
                "within",
                "breaches",
                "never_called",
                "within_pct",
            ]),
            sla.per_service
                .iter()
                .map(|s| {
                    let mut row = service_names(branch, &s.service).to_vec();
                    row.extend([
                        minutes(s.target_s.map(f64::from)),
                        s.measured.to_string(),
                        s.within.to_string(),
                        s.breaches.to_string(),
                        s.never_called.to_string(),
                        one_decimal(s.within_pct),
                    ]);
                    row
                })
                .collect(),
        ),
        "days" => (
            head(&[
                "day",
                "visits",
                "served",
                "cancelled",
                "measured",
                "within",
                "breaches",
                "within_pct",
                "wait_mean_min",
                "counters_staffed",
                "staff",
                "staffed_counter_hours",
                "counters_serving",
            ]),
            sla.per_day
                .iter()
                .map(|d| {
                    vec![
                        d.day.to_string(),
                        d.visits.to_string(),
                        d.served.to_string(),
                        d.cancelled.to_string(),
                        d.measured.to_string(),
                        d.within.to_string(),
                        d.breaches.to_string(),
                        one_decimal(d.within_pct),
                        minutes(d.wait_mean_s),
                        d.counters_staffed.to_string(),
                        d.staff.to_string(),
                        format!("{:.2}", d.staffed_hours),
                        d.counters_serving.to_string(),
                    ]
                })
                .collect(),
        ),
        "grid" => (
            head(&[
                "weekday",
                "weekday_ar",
                "weekday_en",
                "hour",
                "days",
                "arrivals",
                "measured",
                "within",
                "within_pct",
                "counters_staffed_mean",
            ]),
            sla.grid
                .iter()
                .map(|c| {
                    let (ar, en) = WEEKDAYS[c.weekday as usize % 7];
                    vec![
                        c.weekday.to_string(),
                        ar.into(),
                        en.into(),
                        format!("{:02}:00", c.hour),
                        c.days.to_string(),
                        c.arrivals.to_string(),
                        c.measured.to_string(),
                        c.within.to_string(),
                        one_decimal(c.within_pct),
                        format!("{:.2}", c.counters_staffed),
                    ]
                })
                .collect(),
        ),
        "pauses" => (
            head(&["reason", "pauses", "counter_hours", "share_pct"]),
            sla.pauses
                .iter()
                .map(|p| {
                    vec![
                        p.reason.clone(),
                        p.pauses.to_string(),
                        format!("{:.2}", p.hours),
                        one_decimal(Some(p.share_pct)),
                    ]
                })
                .collect(),
        ),
        "breaches" => (
            head(&[
                "branch",
                "case_ref",
                "ticket",
                "service",
                "service_ar",
                "service_en",
                "local_day",
                "issued_at",
                "called_at",
                "waited_min",
                "target_min",
                "counter",
                "staff",
            ]),
            sla.breaches
                .iter()
                .map(|b| {
                    let mut row = vec![branch.id.clone(), b.case_ref.clone(), b.ticket.clone()];
                    row.extend(service_names(branch, &b.service));
                    row.extend([
                        b.local_day.to_string(),
                        local(branch, Some(b.issued_at)),
                        local(branch, b.called_at),
                        minutes(Some(b.waited_s)),
                        minutes(Some(f64::from(b.target_s))),
                        opt(b.counter.as_ref()),
                        opt(b.staff.as_ref()),
                    ]);
                    row
                })
                .collect(),
        ),
        "cases" => (case_head(), range.cases.months.iter().chain([&range.cases.total]).map(case_row).collect()),
        "open-cases" => (
            head(&[
                "branch",
                "case_ref",
                "ticket",
                "kind",
                "service",
                "opened_at",
                "due_at",
                "overdue",
                "staff",
                "counter",
                "category",
            ]),
            range
                .cases
                .open
                .iter()
                .map(|c| {
                    vec![
                        branch.id.clone(),
                        c.case_ref.clone(),
                        c.ticket.clone(),
                        c.kind.code().into(),
                        c.service.clone(),
                        local(branch, Some(c.opened_at)),
                        local(branch, Some(c.due_at)),
                        if c.overdue { "yes" } else { "no" }.into(),
                        opt(c.staff.as_ref()),
                        opt(c.counter.as_ref()),
                        opt(c.category.as_ref()),
                    ]
                })
                .collect(),
        ),
        "per-service" => (
            [head(&["service", "service_ar", "service_en"]), figure_head()].concat(),
            range
                .summary
                .per_service
                .iter()
                .map(|s| [service_names(branch, &s.service).to_vec(), figure_row(&s.figures)].concat())
                .collect(),
        ),
        "monthly" => (
            [head(&["month"]), figure_head()].concat(),
            range
                .monthly
                .iter()
                .map(|(first, f)| [vec![first.format("%Y-%m").to_string()], figure_row(f)].concat())
                .collect(),
        ),
        "reasons" => cause_rows(&range.causes.reasons, branch),
        "categories" => cause_rows(&range.causes.categories, branch),
        "satisfaction" => (
            head(&["month", "exit_ratings", "exit_mean", "resolution_ratings", "resolution_mean"]),
            range
                .causes
                .satisfaction
                .iter()
                .map(|m| {
                    vec![
                        m.from.format("%Y-%m").to_string(),
                        m.exit_ratings.to_string(),
                        opt(m.exit_mean.map(|x| format!("{x:.2}"))),
                        m.resolution_ratings.to_string(),
                        opt(m.resolution_mean.map(|x| format!("{x:.2}"))),
                    ]
                })
                .collect(),
        ),
        _ => return None,
    })
}

/// A cause table in long form: one row per group (the range, a service, a month) and cause.
fn cause_rows(table: &CauseTable, branch: &Branch) -> Table {
    let groups = std::iter::once(("all", &table.overall))
        .chain(table.per_service.iter().map(|g| ("service", g)))
        .chain(table.per_month.iter().map(|g| ("month", g)));
    let rows = groups
        .flat_map(|(kind, g)| {
            let [_, ar, en] = match kind {
                "service" => service_names(branch, &g.group),
                _ => Default::default(),
            };
            g.causes.iter().map(move |c| {
                vec![
                    kind.to_string(),
                    g.group.clone(),
                    ar.clone(),
                    en.clone(),
                    c.cause.clone(),
                    c.count.to_string(),
                    one_decimal(Some(c.share_pct)),
                    c.previous_count.to_string(),
                    one_decimal(c.previous_share_pct),
                    one_decimal(c.change_points),
                ]
            })
        })
        .collect();
    let columns = [
        "group_kind",
        "group",
        "group_ar",
        "group_en",
        "cause",
        "count",
        "share_pct",
        "previous_count",
        "previous_share_pct",
        "change_points",
    ];
    (head(&columns), rows)
}

fn figure_head() -> Vec<String> {
    head(&[
        "visits",
        "served",
        "no_shows",
        "cancelled",
        "wait_mean_min",
        "wait_median_min",
        "wait_p90_min",
        "service_mean_min",
        "within_target_pct",
        "csat_mean",
        "csat_ratings",
    ])
}

fn figure_row(f: &Figures) -> Vec<String> {
    vec![
        f.visits.to_string(),
        f.served.to_string(),
        f.no_shows.to_string(),
        f.cancelled.to_string(),
        minutes(f.wait_s.mean),
        minutes(f.wait_s.median),
        minutes(f.wait_s.p90),
        minutes(f.service_time_s.mean),
        one_decimal(f.within_target_pct),
        opt(f.csat.mean.map(|m| format!("{m:.2}"))),
        f.csat.ratings.to_string(),
    ]
}

fn case_head() -> Vec<String> {
    let mut columns = head(&["from", "to"]);
    for what in ["opened", "closed", "closed_within_target", "open_at_end", "overdue_at_end"] {
        columns.extend(CaseKind::ALL.map(|k| format!("{what}_{}", k.code())));
    }
    columns.extend(head(&["resolution_ratings", "resolution_rating_mean"]));
    columns
}

fn case_row(p: &CasePeriod) -> Vec<String> {
    let mut row = vec![p.from.to_string(), p.to.to_string()];
    for kinds in [p.opened, p.closed, p.closed_within_target, p.open_at_end, p.overdue_at_end] {
        row.extend(CaseKind::ALL.map(|k| kinds.of(k).to_string()));
    }
    row.extend([p.resolution_ratings.to_string(), opt(p.resolution_rating_mean.map(|m| format!("{m:.2}")))]);
    row
}
