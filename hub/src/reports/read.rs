//! The figures of a range read from the database the way every report shows them (the JSON API,
//! the dashboard, the monthly PDF and its e-mail): the service levels with the range's staffing,
//! the real cases counted by their own events' dates, the root causes, and the monthly PDF of
//! them all. The SQL is the owning modules' (`facts`, `cases`); this file only puts their rows
//! through the pure report functions.
use chrono::{NaiveDate, Utc};
use dawr_i18n::{Lang, Texts};
use rusqlite::Connection;

use super::pdf::{MonthlyReport, monthly_pdf};
use super::{ReportFilter, summarise, visit_facts};
use crate::cases::CaseReport;
use crate::domain::Branch;

/// The root causes of `filter` (low ratings' reasons and real cases' categories as shares, with
/// their change), and each month's exit rating beside the rating after resolution from `cases`.
pub fn causes_report_of(
    conn: &Connection,
    branch: &Branch,
    filter: &ReportFilter,
    cases: &CaseReport,
) -> rusqlite::Result<crate::reports::causes::CausesReport> {
    use crate::reports::causes;
    let wide = ReportFilter { from: causes::reach_back(filter.from, filter.to), ..filter.clone() };
    let visits = visit_facts(conn, &wide)?;
    let categories: std::collections::HashMap<String, String> = crate::cases::notes_for_days(conn, wide.from, wide.to)?
        .into_iter()
        .filter_map(|(case_ref, notes)| notes.category.map(|c| (case_ref, c)))
        .collect();
    let resolution = |from: NaiveDate, _to: NaiveDate| {
        cases
            .months
            .iter()
            .find(|m| m.from == from)
            .map_or((0, None), |m| (m.resolution_ratings, m.resolution_rating_mean))
    };
    let mut report = causes::causes_report((filter.from, filter.to), &visits, &categories, &resolution);
    report.branch = branch.id.clone();
    Ok(report)
}

/// The service levels and staffing of `filter`'s `visits` (with the range's counter pauses).
pub fn sla_report_of(
    conn: &Connection,
    branch: &Branch,
    filter: &ReportFilter,
    visits: &[crate::reports::VisitFacts],
) -> rusqlite::Result<crate::reports::SlaReport> {
    let target = |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
    let offset = branch.utc_offset;
    let start = crate::cases::ledger::day_start(filter.from, offset);
    let end = crate::cases::ledger::day_start(filter.to + chrono::Duration::days(1), offset);
    let pauses = crate::reports::pause_events(conn, (start, end), filter.counter.as_deref())?;
    let signs = crate::reports::sign_events(conn, (start, end))?;
    let staffing = crate::reports::sla::Staffing {
        pauses: &pauses,
        signs: &signs,
        counter: filter.counter.as_deref(),
        now: crate::clock::now(),
    };
    let mut report = crate::reports::sla_report((filter.from, filter.to), visits, staffing, &target, offset);
    report.branch = branch.id.clone();
    Ok(report)
}

/// The real CRM cases of the range, each counted by its own events' dates: those carried over
/// from before the range too.
pub fn case_report(
    conn: &Connection,
    branch: &Branch,
    filter: &ReportFilter,
    now: chrono::DateTime<Utc>,
) -> rusqlite::Result<CaseReport> {
    let entries = case_entries(conn, branch, filter, now)?;
    let mut report = crate::cases::ledger::report(&entries, filter.from, filter.to, branch.utc_offset, now);
    report.branch = branch.id.clone();
    Ok(report)
}

/// The real cases a report of `filter` counts (see [`crate::cases::ledger`]).
pub fn case_entries(
    conn: &Connection,
    branch: &Branch,
    filter: &ReportFilter,
    now: chrono::DateTime<Utc>,
) -> rusqlite::Result<Vec<crate::cases::CaseEntry>> {
    let start = crate::cases::ledger::day_start(filter.from, branch.utc_offset);
    let backlog = crate::reports::backlog_facts(conn, filter, start)?;
    let notes = crate::cases::notes_for_cases(conn, backlog.iter().map(|v| v.case_ref.as_str()))?;
    Ok(backlog
        .iter()
        .flat_map(|v| {
            let case = crate::cases::case_of(v, notes.get(&v.case_ref), branch.cases, now);
            crate::cases::entries_of(&case, v.ending, branch.cases)
        })
        .collect())
}

/// The monthly report of `from..=to` as PDF bytes (run on the database's blocking thread: a
/// month is tens of thousands of rows).
pub fn monthly_pdf_of(
    conn: &Connection,
    branch: &Branch,
    texts: &Texts,
    (from, to): (NaiveDate, NaiveDate),
    lang: Lang,
) -> rusqlite::Result<Vec<u8>> {
    let filter = ReportFilter { from, to, service: None, counter: None };
    let target = |service: &str| branch.services.iter().find(|s| s.code == service).map(|s| s.target_wait_s);
    let visits = visit_facts(conn, &filter)?;
    let now = crate::clock::now();
    let summary = summarise(&filter, &visits, &target, branch.utc_offset);
    let sla = sla_report_of(conn, branch, &filter, &visits)?;
    let cases = case_report(conn, branch, &filter, now)?;
    let causes = causes_report_of(conn, branch, &filter, &cases)?;
    let today = now.with_timezone(&branch.utc_offset).date_naive();
    let actions = crate::actions::report(conn, branch, today)?;
    let input = MonthlyReport {
        branch,
        from,
        to,
        summary: &summary,
        sla: &sla,
        cases: &cases,
        causes: &causes,
        actions: &actions,
    };
    Ok(monthly_pdf(&input, texts, lang))
}
