//! Service levels and staffing — pure: visit rows and pause events in, figures out.
//!
//! A visitor is *within* target when first called within their service's target wait; a
//! *breach* when called after it, or when never called and gone (cancelled, turned away at
//! closing, a missed arrival) after waiting longer than it — so a day that sends people home
//! uncalled shows as breaches, not as nothing. A visitor who left uncalled within the target is
//! not measured. Per day: the same, with the counters and staff signed in and the counter-hours
//! staffed ([`super::staffing`]); a weekday × hour grid of arrivals, share within target and
//! counters staffed. Pauses: counter-hours per reason within the range, from `counter_paused` /
//! `counter_resumed`.
use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
pub use dawr_protocol::api::reports::{PauseReasonFigures, SlaBreach, SlaDay, SlaHour, SlaReport, SlaService};

use super::staffing::{self, SignEvent};
use super::{Ending, VisitFacts};
use crate::cases::ledger::day_start;

/// How a visit stands against its service's target wait.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Standing {
    Within,
    /// Waited this long (seconds) past the target; `never_called` when it left uncalled.
    Breach {
        waited_s: f64,
        never_called: bool,
    },
    /// Not measured: no target, still waiting, or left uncalled within the target.
    Unmeasured,
}

/// Where a visit stands against `target_s`.
pub fn standing(visit: &VisitFacts, target_s: Option<u32>) -> Standing {
    let Some(target) = target_s.map(f64::from) else { return Standing::Unmeasured };
    if let Some(wait) = visit.wait_s() {
        return match wait <= target {
            true => Standing::Within,
            false => Standing::Breach { waited_s: wait, never_called: false },
        };
    }
    let left = match visit.ending {
        Ending::Open | Ending::Served => None,
        Ending::NoShow | Ending::Cancelled => visit.ended_at,
    };
    match left.map(|at| (at - visit.issued_at).num_milliseconds() as f64 / 1000.0) {
        Some(waited) if waited > target => Standing::Breach { waited_s: waited, never_called: true },
        _ => Standing::Unmeasured,
    }
}

fn service_figures<'a>(
    service: &str,
    target_s: Option<u32>,
    visits: impl Iterator<Item = &'a VisitFacts>,
    target: &dyn Fn(&str) -> Option<u32>,
) -> SlaService {
    let (mut within, mut breaches, mut never_called) = (0, 0, 0);
    for v in visits {
        match standing(v, target(&v.service)) {
            Standing::Within => within += 1,
            Standing::Breach { never_called: uncalled, .. } => {
                breaches += 1;
                never_called += usize::from(uncalled);
            }
            Standing::Unmeasured => {}
        }
    }
    let measured = within + breaches;
    SlaService {
        service: service.into(),
        target_s,
        measured,
        within,
        breaches,
        never_called,
        within_pct: (measured > 0).then(|| within as f64 * 100.0 / measured as f64),
    }
}

/// One day's figures; `staffing` is (counters signed in at, staff signed in, counter-hours
/// staffed) that day.
fn day_figures(
    day: NaiveDate,
    visits: &[&VisitFacts],
    staffing: (usize, usize, f64),
    target: &dyn Fn(&str) -> Option<u32>,
) -> SlaDay {
    let sla = service_figures("", None, visits.iter().copied(), target);
    let waits: Vec<f64> = visits.iter().filter_map(|v| v.wait_s()).collect();
    let serving: BTreeSet<&str> = visits.iter().filter_map(|v| v.counter.as_deref()).collect();
    SlaDay {
        day,
        visits: visits.len(),
        served: visits.iter().filter(|v| v.ending == Ending::Served).count(),
        cancelled: visits.iter().filter(|v| v.ending == Ending::Cancelled).count(),
        measured: sla.measured,
        within: sla.within,
        breaches: sla.breaches,
        within_pct: sla.within_pct,
        wait_mean_s: (!waits.is_empty()).then(|| waits.iter().sum::<f64>() / waits.len() as f64),
        counters_staffed: staffing.0,
        staff: staffing.1,
        staffed_hours: staffing.2,
        counters_serving: serving.len(),
    }
}

/// What the staffing figures are made of: the range's pauses and resumes, and sign-ins and
/// sign-outs (each in log order); with `counter`, only that counter's staffing counts; nothing
/// counts after `now` (a spell still open is not staffed in the future).
#[derive(Debug, Clone, Copy)]
pub struct Staffing<'a> {
    pub pauses: &'a [PauseEvent],
    pub signs: &'a [SignEvent],
    pub counter: Option<&'a str>,
    pub now: DateTime<Utc>,
}

impl Staffing<'_> {
    /// No staffing events (a report of waits only).
    pub fn none(now: DateTime<Utc>) -> Staffing<'static> {
        Staffing { pauses: &[], signs: &[], counter: None, now }
    }
}

/// One pause or resume of a counter, as the log has it.
#[derive(Debug, Clone, PartialEq)]
pub struct PauseEvent {
    pub counter: String,
    pub at: DateTime<Utc>,
    /// `Some(reason)` for a pause (`none` when none was given), `None` for a resume.
    pub paused: Option<String>,
}

/// The range's service levels: per service (with its target), in total, per day, the weekday ×
/// hour grid, the pauses (clipped to the range) and every breach (the branch's id is the
/// caller's to fill in), with `staffing`'s sign-ins and pauses.
pub fn sla_report(
    (from, to): (NaiveDate, NaiveDate),
    visits: &[VisitFacts],
    staffing: Staffing<'_>,
    target: &dyn Fn(&str) -> Option<u32>,
    offset: FixedOffset,
) -> SlaReport {
    let start = day_start(from, offset);
    let range = (start, day_start(to + chrono::Duration::days(1), offset).min(staffing.now.max(start)));
    let mut signed = staffing::clipped(staffing::signed_in(staffing.signs, offset), range);
    signed.retain(|s| staffing.counter.is_none_or(|c| s.counter == c));
    let paused = staffing::clipped(staffing::paused(staffing.pauses, offset), range);
    let staffed = staffing::staffed(&signed, &paused);
    let staffing_per_day = staffing::per_day(&signed, &staffed, offset);
    let services: BTreeSet<&str> = visits.iter().map(|v| v.service.as_str()).collect();
    let mut days: BTreeMap<&str, Vec<&VisitFacts>> = BTreeMap::new();
    for v in visits {
        days.entry(v.local_day.as_str()).or_default().push(v);
    }
    let breaches = visits
        .iter()
        .filter_map(|v| match (standing(v, target(&v.service)), target(&v.service)) {
            (Standing::Breach { waited_s, .. }, Some(target_s)) => Some(SlaBreach {
                case_ref: v.case_ref.clone(),
                ticket: v.number.clone(),
                service: v.service.clone(),
                local_day: v.local_day.parse().unwrap_or(from),
                issued_at: v.issued_at,
                called_at: v.first_called_at,
                waited_s,
                target_s,
                counter: v.counter.clone(),
                staff: v.staff.clone(),
            }),
            _ => None,
        })
        .collect();
    SlaReport {
        branch: String::new(),
        from,
        to,
        total: service_figures("", None, visits.iter(), target),
        per_service: services
            .into_iter()
            .map(|s| service_figures(s, target(s), visits.iter().filter(|v| v.service == s), target))
            .collect(),
        per_day: days
            .into_iter()
            .filter_map(|(day, visits)| day.parse().ok().map(|d: NaiveDate| (d, visits)))
            .map(|(d, visits)| {
                let staffing = staffing_per_day.get(&d).copied().unwrap_or_default();
                day_figures(d, &visits, staffing, target)
            })
            .collect(),
        grid: staffing::grid((from, to), visits, &staffed, target, offset),
        pauses: staffing::pause_figures(&paused),
        breaches,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::case::tests::{at, visit};

    #[test]
    fn a_visitor_sent_home_uncalled_after_the_target_is_a_breach() {
        // Issued 05:00, called 05:10: 600 s.
        let called = visit(Ending::Served, Some("resolved"), None);
        assert_eq!(standing(&called, Some(600)), Standing::Within);
        assert_eq!(standing(&called, Some(599)), Standing::Breach { waited_s: 600.0, never_called: false });
        assert_eq!(standing(&called, None), Standing::Unmeasured);
        let turned_away = VisitFacts {
            first_called_at: None,
            started_at: None,
            ended_at: Some(at("2026-11-23T11:00:00Z")),
            ending: Ending::Cancelled,
            ..visit(Ending::Cancelled, None, None)
        };
        assert_eq!(standing(&turned_away, Some(900)), Standing::Breach { waited_s: 21600.0, never_called: true });
        let left_early = VisitFacts { ended_at: Some(at("2026-11-23T05:05:00Z")), ..turned_away.clone() };
        assert_eq!(standing(&left_early, Some(900)), Standing::Unmeasured, "left within the target");
        let waiting = VisitFacts { first_called_at: None, ending: Ending::Open, ..visit(Ending::Open, None, None) };
        assert_eq!(standing(&waiting, Some(60)), Standing::Unmeasured);
    }
}
