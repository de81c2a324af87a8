//! The managers' figures: `GET /api/v1/reports/summary?from=&to=&service=&counter=` answers a
//! [`Summary`]. The hub computes them from its event log; these are only the shapes. Durations
//! are seconds; shares are percent; `null` where there is nothing to measure.
use std::collections::BTreeMap;

use chrono::NaiveDate;
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
