//! The managers' figures, computed from the event log.
//!
//! One SQL query ([`facts`]) turns the events of the visits issued in a date range into one row
//! per visit ([`VisitFacts`]: when it was issued, first called, started and ended, how it ended,
//! where, its rating); pure functions then aggregate those rows ([`summary`]: [`summarise`] —
//! counts, waits and service times (mean, median, 90th percentile), the share called within the
//! service's target, CSAT — for the whole range, per service, per counter and per hour of the
//! day, and [`monthly`], the same per calendar month) and write them out ([`csv`]). Nothing here
//! is a hand-kept counter: the log is the only source, so a figure can always be recomputed.
//!
//! [`periods`] cuts a range into days, weeks, months or quarters, with the change against the
//! period before. [`sla`] holds the service levels and staffing: breaches of the target wait (never-called
//! visitors included) with their list, per-day rows, a weekday × hour grid, counter pauses per
//! reason; [`staffing`] works out when counters were staffed from the sign-ins (audit log) and
//! the pauses (event log).
//!
//! [`by_period`] gives each period's headline figures with their change, and lays a quarter out
//! as the ministry's quarterly beneficiary report does (a column per month and the total).
//!
//! [`causes`] gives low ratings' reasons and real cases' categories as shares, by service and
//! month, with their change, and the exit rating beside the rating after resolution.
//!
//! `facts` is the only part that reads the database; `summary`, `periods`, `by_period`, `sla`,
//! `staffing` and `csv` are pure.
pub mod by_period;
pub mod causes;
pub mod csv;
pub mod facts;
#[cfg(test)]
pub(crate) mod fixture;
pub mod pdf;
pub mod periods;
pub mod read;
pub mod replay;
pub mod sla;
pub mod staffing;
pub mod summary;
pub mod synthetic;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

pub use csv::visits_csv;
pub use facts::{backlog_facts, case_facts, pause_events, sign_events, visit_facts};
pub use sla::{SlaReport, sla_report};
pub use summary::{
    AppointmentFigures, CounterFigures, Csat, Figures, HourFigures, ServiceFigures, Spread, StaffFigures, Summary,
    month_end, monthly, next_month, parse_month, summarise,
};

/// Which visits a report covers: issued on local days `from..=to`, optionally one service or
/// one counter (the counter that served or last called the visit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFilter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub service: Option<String>,
    pub counter: Option<String>,
}

/// How a visit ended, as far as the log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Served,
    NoShow,
    Cancelled,
    /// Still waiting, called or being served (or left so by a day that closed with it at a
    /// counter).
    Open,
}

/// What reports, cases and the CRM say for a low rating (1 or 2) given without a reason: the
/// score stands on its own (the visitor may have walked away before saying why).
pub const NO_REASON_GIVEN: &str = "no_reason_given";

/// Whether a rating is low (the visitor was dissatisfied: it escalates and asks why).
pub fn is_low(score: u8) -> bool {
    dawr_protocol::api::is_low_rating(score)
}

/// One visit, as the event log tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitFacts {
    pub id: i64,
    pub number: String,
    pub case_ref: String,
    pub service: String,
    pub local_day: String,
    pub issued_at: DateTime<Utc>,
    pub first_called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ending: Ending,
    pub counter: Option<String>,
    pub outcome: Option<String>,
    pub rating: Option<u8>,
    pub rating_reason: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    /// The staff member who served (or last called) the visit, when one was signed in.
    pub staff: Option<String>,
    /// `walk_in` or `appointment`.
    pub source: String,
}

impl VisitFacts {
    /// Seconds from taking the ticket to the first call.
    pub fn wait_s(&self) -> Option<f64> {
        self.first_called_at.map(|c| (c - self.issued_at).num_milliseconds() as f64 / 1000.0)
    }

    /// Seconds from the start of service to its end, for a served visit.
    pub fn service_s(&self) -> Option<f64> {
        match (self.ending, self.started_at, self.ended_at) {
            (Ending::Served, Some(s), Some(e)) => Some((e - s).num_milliseconds() as f64 / 1000.0),
            _ => None,
        }
    }
}
