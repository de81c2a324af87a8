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

/// Figures added up over branches or services (a region, the whole directorate): counts add,
/// the mean wait and the share within target are weighted by the visitors called.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Totals {
    pub visits: usize,
    pub served: usize,
    pub no_shows: usize,
    pub cancelled: usize,
    /// Visitors called (whose wait is known).
    pub called: usize,
    wait_sum_s: f64,
    within: f64,
}

impl Totals {
    /// One branch's (or service's) figures.
    pub fn of(f: &dawr_protocol::api::reports::Figures) -> Totals {
        let called = f.wait_s.count;
        Totals {
            visits: f.visits,
            served: f.served,
            no_shows: f.no_shows,
            cancelled: f.cancelled,
            called,
            wait_sum_s: f.wait_s.mean.unwrap_or(0.0) * called as f64,
            within: f.within_target_pct.unwrap_or(0.0) / 100.0 * called as f64,
        }
    }

    /// Adds `other`.
    pub fn add(&mut self, other: Totals) {
        self.visits += other.visits;
        self.served += other.served;
        self.no_shows += other.no_shows;
        self.cancelled += other.cancelled;
        self.called += other.called;
        self.wait_sum_s += other.wait_sum_s;
        self.within += other.within;
    }

    /// The mean wait of those called, in seconds.
    pub fn mean_wait_s(&self) -> Option<f64> {
        (self.called > 0).then(|| self.wait_sum_s / self.called as f64)
    }

    /// The share of those called within their target, in percent.
    pub fn within_target_pct(&self) -> Option<f64> {
        (self.called > 0).then(|| 100.0 * self.within / self.called as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_protocol::api::reports::{Csat, Figures, Spread};

    fn figures(visits: usize, called: usize, mean: f64, pct: f64) -> Figures {
        let none = Spread { count: 0, mean: None, median: None, p90: None };
        Figures {
            visits,
            served: called,
            no_shows: 0,
            cancelled: 0,
            open: 0,
            wait_s: Spread { count: called, mean: Some(mean), median: Some(mean), p90: Some(mean) },
            service_time_s: none,
            within_target_pct: Some(pct),
            csat: Csat { ratings: 0, mean: None, satisfied_pct: None, reasons: Default::default() },
        }
    }

    #[test]
    fn totals_weight_the_mean_wait_and_the_share_within_target_by_those_called() {
        let mut t = Totals::of(&figures(10, 10, 60.0, 100.0));
        t.add(Totals::of(&figures(30, 30, 300.0, 50.0)));
        assert_eq!((t.visits, t.called), (40, 40));
        assert_eq!(t.mean_wait_s(), Some(240.0));
        assert_eq!(t.within_target_pct(), Some(62.5));
        assert_eq!(Totals::default().mean_wait_s(), None);
    }
}
