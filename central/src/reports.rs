//! A branch's figures at the centre, with the branch's own pure report code: its events
//! replayed into visit facts (`dawr_hub::reports::replay`), then summarised
//! (`dawr_hub::reports::summarise`) with the branch's offset and targets.
use chrono::{FixedOffset, NaiveDate};
use dawr_hub::reports::replay::{LoggedEvent, facts_from_log};
use dawr_hub::reports::{ReportFilter, Summary, summarise};
use dawr_protocol::api::ministry::ServiceTarget;

/// The summary of `events` (of one branch, any logs) for local days `from..=to`.
pub fn branch_summary(
    events: &[(String, LoggedEvent)],
    from: NaiveDate,
    to: NaiveDate,
    utc_offset_s: i32,
    targets: &[ServiceTarget],
) -> Summary {
    let filter = ReportFilter { from, to, service: None, counter: None };
    let mut logs: Vec<&str> = events.iter().map(|(log, _)| log.as_str()).collect();
    logs.dedup();
    let visits = logs
        .iter()
        .flat_map(|log| {
            let of_log: Vec<LoggedEvent> = events.iter().filter(|(l, _)| l == log).map(|(_, e)| e.clone()).collect();
            facts_from_log(&of_log, &filter)
        })
        .collect::<Vec<_>>();
    let target = |service: &str| targets.iter().find(|t| t.code == service).map(|t| t.target_wait_s);
    let offset = FixedOffset::east_opt(utc_offset_s).unwrap_or(FixedOffset::east_opt(0).expect("UTC"));
    summarise(&filter, &visits, &target, offset)
}
