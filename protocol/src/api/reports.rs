//! The managers' figures: `GET /api/v1/reports/summary?from=&to=&service=&counter=` answers a
//! [`Summary`]. The hub computes them from its event log; these are only the shapes. Durations
//! are seconds; shares are percent; `null` where there is nothing to measure.
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Mean, median and 90th percentile of some durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Spread {
    pub count: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// Exit ratings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Csat {
    pub ratings: usize,
    /// Mean score, 1–5.
    pub mean: Option<f64>,
    /// Share of ratings of 4 or 5, in percent.
    pub satisfied_pct: Option<f64>,
    /// How many low ratings gave each reason (`no_reason_given` for those without one).
    pub reasons: BTreeMap<String, usize>,
}

/// The figures of a group of visits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figures {
    pub visits: usize,
    pub served: usize,
    pub no_shows: usize,
    pub cancelled: usize,
    /// Still waiting, called or being served.
    pub open: usize,
    pub wait_s: Spread,
    pub service_time_s: Spread,
    /// Share of called visitors called within their service's target wait, in percent.
    pub within_target_pct: Option<f64>,
    pub csat: Csat,
}

/// One service's figures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceFigures {
    pub service: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One counter's figures (the counter that served or last called the visit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CounterFigures {
    pub counter: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// One staff member's figures (the one signed in at the counter).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffFigures {
    pub staff: String,
    #[serde(flatten)]
    pub figures: Figures,
}

/// How many tickets were taken in one local hour of the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HourFigures {
    /// Local hour of the day the tickets were taken, 0–23.
    pub hour: u32,
    pub visits: usize,
}

/// The branch's bookings from the appointments site on the range's days (for the service asked
/// for), by what became of them at the hub. A booking checked in is also a visit of the figures.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppointmentFigures {
    /// Checked in at a kiosk.
    pub checked_in: usize,
    /// Not checked in by the end of their check-in window (reported to the site as `no_show`).
    pub no_shows: usize,
}

/// The SMS the hub handed to its gateway in the range's months: messages and parts (what a
/// provider bills) by kind, and their cost at `[sms] price_per_part`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SmsFigures {
    /// The price of one SMS part (`[sms] price_per_part`; 0 when not set).
    pub price_per_part: f64,
    /// Its currency (`[sms] currency`, `SAR` by default).
    pub currency: String,
    /// One per calendar month the range touches, in order.
    pub months: Vec<SmsMonth>,
}

/// One month's SMS.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmsMonth {
    /// The month's first day in the range.
    pub month: NaiveDate,
    pub messages: usize,
    pub parts: usize,
    pub cost: f64,
    /// By kind: `code` (one-time codes), `near` (N ahead), `called`, `reminder`, `other`
    /// (test messages, …); only the kinds sent.
    pub kinds: Vec<SmsKindFigures>,
}

/// One kind's messages in a month.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SmsKindFigures {
    pub kind: String,
    pub messages: usize,
    pub parts: usize,
    pub cost: f64,
}

/// `GET /api/v1/reports/summary`: the range's figures (flattened), and the same per service,
/// counter, staff member and hour; and the range's appointments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// The first and last local day.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The service asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// The counter asked for, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    #[serde(flatten)]
    pub total: Figures,
    pub per_service: Vec<ServiceFigures>,
    pub per_counter: Vec<CounterFigures>,
    /// Visits served or called by a signed-in staff member.
    pub per_staff: Vec<StaffFigures>,
    pub per_hour: Vec<HourFigures>,
    /// The range's bookings from the appointments site (not narrowed by a counter).
    #[serde(default)]
    pub appointments: AppointmentFigures,
    /// The SMS sent in the range's months, and their cost (not narrowed by service or counter).
    #[serde(default)]
    pub sms: SmsFigures,
}

/// The three kinds of real CRM case: a visit left open (`follow_up`, `referral`: due
/// `[cases] resolution_target_h` after the visit) and an `escalation` (an exit rating of 1 or 2:
/// due `[cases] escalation_target_h` after the rating). Every ticket has a case reference, but only
/// these are cases a CRM team handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseKind {
    FollowUp,
    Referral,
    Escalation,
}

impl CaseKind {
    /// Every kind, in the order the reports list them.
    pub const ALL: [CaseKind; 3] = [CaseKind::FollowUp, CaseKind::Referral, CaseKind::Escalation];

    /// The kind's name on the wire (`follow_up`, …).
    pub fn code(self) -> &'static str {
        match self {
            CaseKind::FollowUp => "follow_up",
            CaseKind::Referral => "referral",
            CaseKind::Escalation => "escalation",
        }
    }
}

/// A count per kind of case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseKinds {
    pub follow_up: usize,
    pub referral: usize,
    pub escalation: usize,
}

impl CaseKinds {
    /// The count of one kind, to change.
    pub fn of_mut(&mut self, kind: CaseKind) -> &mut usize {
        match kind {
            CaseKind::FollowUp => &mut self.follow_up,
            CaseKind::Referral => &mut self.referral,
            CaseKind::Escalation => &mut self.escalation,
        }
    }

    /// The count of one kind.
    pub fn of(&self, kind: CaseKind) -> usize {
        match kind {
            CaseKind::FollowUp => self.follow_up,
            CaseKind::Referral => self.referral,
            CaseKind::Escalation => self.escalation,
        }
    }

    /// All kinds together.
    pub fn total(&self) -> usize {
        self.follow_up + self.referral + self.escalation
    }

    /// Follow-ups and referrals together (the cases with the resolution target).
    pub fn left_open(&self) -> usize {
        self.follow_up + self.referral
    }
}

/// One period's real CRM cases, each counted by the date of its own event: opened when its visit
/// ended (an escalation: when the low rating came), closed when staff closed it — so a case opened
/// in September and closed in October counts in October whatever range is asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CasePeriod {
    /// The period's first and last local day.
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub opened: CaseKinds,
    pub closed: CaseKinds,
    /// Of those closed, closed within their kind's target (72 h for a follow-up or referral by
    /// default, 24 h for an escalation).
    pub closed_within_target: CaseKinds,
    /// Open at the end of the period (or now, for a period not over yet).
    pub open_at_end: CaseKinds,
    /// Of those open at the end, past their due time then.
    pub overdue_at_end: CaseKinds,
    /// The visitors' second ratings, of how their case was resolved, given in the period.
    pub resolution_ratings: usize,
    /// Their mean, 1–5.
    pub resolution_rating_mean: Option<f64>,
}

/// One real CRM case in a list (open, overdue or breaching its target).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseLine {
    pub case_ref: String,
    pub ticket: String,
    pub service: String,
    pub kind: CaseKind,
    pub opened_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub staff: Option<String>,
    pub counter: Option<String>,
    /// Past its due time and not closed (at the time the list was made).
    pub overdue: bool,
    /// The category staff gave the case, if any.
    pub category: Option<String>,
}

/// `GET /api/v1/reports/cases`: a range's real CRM cases, the whole range, each calendar month it touches, and the cases
/// still open now (the overdue first).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseReport {
    /// The branch's id (`[branch] id`), so a directorate can put branches' reports together.
    pub branch: String,
    pub total: CasePeriod,
    pub months: Vec<CasePeriod>,
    pub open: Vec<CaseLine>,
}

/// One service against its target wait: visitors called within it, and breaches — called after
/// it, or never called and gone (cancelled, turned away at closing, missed) after waiting longer
/// than it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaService {
    pub service: String,
    /// The service's target wait, in seconds.
    pub target_s: Option<u32>,
    /// Visitors measured: called, or gone uncalled after the target.
    pub measured: usize,
    pub within: usize,
    pub breaches: usize,
    /// Of the breaches, those never called.
    pub never_called: usize,
    /// `within` of `measured`, in percent.
    pub within_pct: Option<f64>,
}

/// One visit that breached its service's target wait (the drill-down list).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaBreach {
    pub case_ref: String,
    pub ticket: String,
    pub service: String,
    pub local_day: NaiveDate,
    pub issued_at: DateTime<Utc>,
    /// When first called; `null` for a visitor never called.
    pub called_at: Option<DateTime<Utc>>,
    /// Seconds waited: to the first call, or to leaving for a visitor never called.
    pub waited_s: f64,
    pub target_s: u32,
    pub counter: Option<String>,
    pub staff: Option<String>,
}

/// One local day of the range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaDay {
    pub day: NaiveDate,
    pub visits: usize,
    pub served: usize,
    /// Never called: cancelled or turned away at closing.
    pub cancelled: usize,
    pub measured: usize,
    pub within: usize,
    pub breaches: usize,
    pub within_pct: Option<f64>,
    /// Mean wait to the first call, in seconds.
    pub wait_mean_s: Option<f64>,
    /// Counters someone was signed in at that day (from the sign-ins and sign-outs).
    pub counters_staffed: usize,
    /// Staff members signed in at a counter that day.
    pub staff: usize,
    /// Counter-hours signed in and not paused.
    #[serde(default)]
    pub staffed_hours: f64,
    /// Counters that called or served anyone that day (a counter without sign-ins, a button's,
    /// counts here only).
    #[serde(default)]
    pub counters_serving: usize,
}

/// One hour of one weekday over the range: arrivals, the share called within target, and the
/// counters staffed then (signed in and not paused), as a mean over the range's days of that
/// weekday.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaHour {
    /// 0 Sunday … 6 Saturday.
    pub weekday: u32,
    /// The local hour, 0–23.
    pub hour: u32,
    /// The range's days of this weekday (what the means are over).
    pub days: usize,
    /// Tickets taken in the hour, all those days together.
    pub arrivals: usize,
    pub measured: usize,
    pub within: usize,
    pub within_pct: Option<f64>,
    /// Counters staffed in the hour, on average (counter-hours staffed ÷ days).
    pub counters_staffed: f64,
}

/// Counter pauses with one reason (`none` when no reason was given).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PauseReasonFigures {
    pub reason: String,
    pub pauses: usize,
    /// Of all the range's counter-hours paused, in percent.
    #[serde(default)]
    pub share_pct: f64,
    /// Counter-hours paused (a pause not resumed ends at the local day's end).
    pub hours: f64,
}

/// `GET /api/v1/reports/sla`: the range's service levels and staffing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaReport {
    /// The branch's id (`[branch] id`), so a directorate can put branches' reports together.
    pub branch: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub total: SlaService,
    pub per_service: Vec<SlaService>,
    pub per_day: Vec<SlaDay>,
    /// Weekday × hour, for the hours with arrivals or staff.
    #[serde(default)]
    pub grid: Vec<SlaHour>,
    /// Pauses within the range (a pause from before it counts from its start).
    pub pauses: Vec<PauseReasonFigures>,
    /// Every breach, oldest first.
    pub breaches: Vec<SlaBreach>,
}

/// One cause (a low rating's reason, or a case's category) in a group: how often, its share of
/// the group, and the same in the period before.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseShare {
    /// The reason's code (`no_reason_given` for a low rating without one), or the category as
    /// staff wrote it (`uncategorised` for a case without one).
    pub cause: String,
    pub count: usize,
    /// Of the group's causes, in percent.
    pub share_pct: f64,
    /// The same group in the period before.
    pub previous_count: usize,
    pub previous_share_pct: Option<f64>,
    /// `share_pct` less `previous_share_pct`, in percentage points.
    pub change_points: Option<f64>,
}

/// The causes of one group — the whole range, one service, or one month — most frequent first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseGroup {
    /// `all`, a service's code, or a month's first day (`2026-10-01`).
    pub group: String,
    pub total: usize,
    pub previous_total: usize,
    pub causes: Vec<CauseShare>,
}

/// One kind of cause, as shares: in the range (against the period of the same length before
/// it), per service (the same), and per calendar month (against the month before).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseTable {
    pub overall: CauseGroup,
    pub per_service: Vec<CauseGroup>,
    pub per_month: Vec<CauseGroup>,
}

/// One month's satisfaction: the exit rating beside the rating after resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SatisfactionMonth {
    /// The month's first and last day within the range.
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Exit ratings of the month's visits, and their mean (1–5).
    pub exit_ratings: usize,
    pub exit_mean: Option<f64>,
    /// Ratings of how a case was resolved, given with the cases closed in the month.
    pub resolution_ratings: usize,
    pub resolution_mean: Option<f64>,
}

/// `GET /api/v1/reports/causes`: the root causes as the ministry reports them — low ratings'
/// reasons and real cases' categories as shares, by service and month, with their trend — and
/// satisfaction after service beside satisfaction after resolution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CausesReport {
    pub branch: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The period of the same length just before, that the range's changes are against.
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    /// Reasons given for exit ratings of 1 or 2 (by the visit's day).
    pub reasons: CauseTable,
    /// Categories staff gave the real cases (follow-ups, referrals, escalations; by the visit's day).
    pub categories: CauseTable,
    pub satisfaction: Vec<SatisfactionMonth>,
}

/// The change of one period's figures against the period of the same kind just before: counts
/// and means in percent, shares in percentage points, the mean rating in points of its 1–5 scale.
/// `null` without both, or (in percent) from zero.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct PeriodChange {
    pub visits_pct: Option<f64>,
    pub within_target_points: Option<f64>,
    pub wait_mean_pct: Option<f64>,
    pub csat_mean_points: Option<f64>,
    pub cases_opened_pct: Option<f64>,
    pub cases_closed_pct: Option<f64>,
}

/// One period (a day, a week, a month or a quarter) of a report by period.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodFigures {
    /// The period's first and last local day (whole, even where the range cuts it).
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub visits: usize,
    pub served: usize,
    /// Of the visitors called, called within their service's target, in percent.
    pub within_target_pct: Option<f64>,
    /// Visitors called after their target, or never called and gone after waiting longer.
    pub breaches: usize,
    pub wait_mean_s: Option<f64>,
    pub csat_ratings: usize,
    /// The mean exit rating, 1–5.
    pub csat_mean: Option<f64>,
    /// Real CRM cases (follow-ups, referrals, escalations) opened and closed in the period, each
    /// by its own event's date, and open at its end.
    pub cases_opened: usize,
    pub cases_closed: usize,
    pub cases_open_at_end: usize,
    /// Against the period before (the first period's against the one before the range).
    pub change: PeriodChange,
}

/// One service's visits in one column of a quarter table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceVisits {
    pub service: String,
    pub visits: usize,
}

/// One column of a quarter table: a month of the quarter, or the quarter's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterColumn {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub visits: usize,
    /// Every service of the quarter, in code order (zero where it had none that month).
    pub per_service: Vec<ServiceVisits>,
    pub cases_opened: usize,
    pub cases_closed: usize,
    /// Open at the column's end (for the total: at the quarter's end).
    pub cases_open_at_end: usize,
    pub csat_ratings: usize,
    pub csat_mean: Option<f64>,
    /// The rating of how a case was resolved, of the cases closed in the column.
    pub resolution_rating_mean: Option<f64>,
    /// The most frequent low ratings' reasons and real cases' categories (at most three each),
    /// with their share and change against the month (the quarter) before.
    pub top_reasons: Vec<CauseShare>,
    pub top_categories: Vec<CauseShare>,
}

/// A quarter laid out as the ministry's quarterly beneficiary report: one column per month and
/// the quarter's total.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuarterTable {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub months: Vec<QuarterColumn>,
    pub total: QuarterColumn,
}

/// `GET /api/v1/reports/periods`: a range cut into whole days, weeks, months or quarters, each
/// with its change against the period before; by quarter, each quarter as the quarterly report
/// lays it out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeriodsReport {
    /// The branch's id (`[branch] id`).
    pub branch: String,
    /// `day`, `week` (Sunday to Saturday), `month` or `quarter`.
    pub period: String,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The period just before the range's first, that the first's change is against.
    pub previous: PeriodFigures,
    pub periods: Vec<PeriodFigures>,
    /// By quarter only (empty otherwise): each quarter, month by month.
    pub quarters: Vec<QuarterTable>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    fn figures(visits: usize) -> Figures {
        Figures {
            visits,
            served: visits - 1,
            no_shows: 1,
            cancelled: 0,
            open: 0,
            wait_s: Spread { count: visits, mean: Some(300.0), median: Some(240.0), p90: Some(600.0) },
            service_time_s: Spread { count: visits - 1, mean: Some(420.0), median: Some(400.0), p90: Some(540.0) },
            within_target_pct: Some(50.0),
            csat: Csat {
                ratings: 1,
                mean: Some(2.0),
                satisfied_pct: Some(0.0),
                reasons: BTreeMap::from([("long_wait".to_string(), 1)]),
            },
        }
    }

    const FIGURES: &str = r#""visits":2,"served":1,"no_shows":1,"cancelled":0,"open":0,
        "wait_s":{"count":2,"mean":300.0,"median":240.0,"p90":600.0},
        "service_time_s":{"count":1,"mean":420.0,"median":400.0,"p90":540.0},"within_target_pct":50.0,
        "csat":{"ratings":1,"mean":2.0,"satisfied_pct":0.0,"reasons":{"long_wait":1}}"#;

    #[test]
    fn a_summary_reads_as_the_docs_show_with_its_figures_flattened() {
        let summary = Summary {
            from: "2026-11-01".parse().unwrap(),
            to: "2026-11-30".parse().unwrap(),
            service: Some("A".into()),
            counter: None,
            total: figures(2),
            per_service: vec![ServiceFigures { service: "A".into(), figures: figures(2) }],
            per_counter: vec![CounterFigures { counter: "3".into(), figures: figures(2) }],
            per_staff: vec![StaffFigures { staff: "s101".into(), figures: figures(2) }],
            per_hour: vec![HourFigures { hour: 9, visits: 2 }],
            appointments: AppointmentFigures { checked_in: 3, no_shows: 1 },
            sms: SmsFigures {
                price_per_part: 0.05,
                currency: "SAR".into(),
                months: vec![SmsMonth {
                    month: "2026-11-01".parse().unwrap(),
                    messages: 3,
                    parts: 4,
                    cost: 0.2,
                    kinds: vec![SmsKindFigures { kind: "near".into(), messages: 3, parts: 4, cost: 0.2 }],
                }],
            },
        };
        round_trip(
            &summary,
            &format!(
                r#"{{"from":"2026-11-01","to":"2026-11-30","service":"A",{FIGURES},
                "per_service":[{{"service":"A",{FIGURES}}}],"per_counter":[{{"counter":"3",{FIGURES}}}],
                "per_staff":[{{"staff":"s101",{FIGURES}}}],"per_hour":[{{"hour":9,"visits":2}}],
                "appointments":{{"checked_in":3,"no_shows":1}},
                "sms":{{"price_per_part":0.05,"currency":"SAR","months":[{{"month":"2026-11-01","messages":3,
                "parts":4,"cost":0.2,"kinds":[{{"kind":"near","messages":3,"parts":4,"cost":0.2}}]}}]}}}}"#
            ),
        );
    }
}
