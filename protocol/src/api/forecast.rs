//! The staffing forecast: `GET /api/v1/reports/forecast?day=&weeks=&extra=&from_hour=` answers a
//! [`Forecast`] — for one local day, the visitors expected per hour and service (learned from the
//! same weekday of the weeks before), the counters needed to call the goal share of each service
//! within its target wait (Erlang C), the counters that were open on those days, a what-if, and
//! how far the same forecast was from what happened on the weeks before. Durations are seconds.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// One service as the forecast learned it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastService {
    pub service: String,
    /// The service's target wait.
    pub target_s: u32,
    /// The mean service time learned from the served visits of the weeks read (the branch
    /// file's figure when none was served).
    pub mean_service_s: f64,
    /// How many served visits that mean comes from.
    pub served: usize,
}

/// One service in one hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceHour {
    pub service: String,
    /// Visitors expected to take a ticket in this hour.
    pub arrivals: f64,
    /// Counters needed if they served this service alone.
    pub counters_needed: usize,
}

/// One local hour of the day forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastHour {
    /// The hour's start, 0–23, local time.
    pub hour: u8,
    /// Visitors expected, all services.
    pub arrivals: f64,
    /// Counters needed when the counters are shared by all services (one line, oldest first).
    pub counters_needed: usize,
    /// Counters that were open (called someone) in this hour, on average over the same weekday
    /// of the weeks read.
    pub counters_staffed: f64,
    /// The mean wait expected with the counters staffed (rounded to whole counters; a backlog
    /// left by an hour short of counters carries into the next), `null` when visitors arrive
    /// and no counter is open.
    pub expected_wait_s: Option<f64>,
    pub per_service: Vec<ServiceHour>,
}

/// "`extra` more counters from `from_hour`:00": the longest hourly mean wait expected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WhatIf {
    pub extra: u32,
    pub from_hour: u8,
    /// The longest expected mean wait of an hour from `from_hour` on, with the extra counters
    /// (`null`: visitors arrive in an hour with no counter open).
    pub longest_wait_s: Option<f64>,
    /// Its hour.
    pub longest_hour: u8,
    /// The same with the counters staffed alone.
    pub staffed_longest_wait_s: Option<f64>,
}

/// The forecast's own error on one past day: forecast from the weeks before it, against what
/// happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastCheck {
    pub day: NaiveDate,
    /// Visitors forecast and visitors who came, all day.
    pub forecast: f64,
    pub actual: usize,
    /// Mean absolute error of the hourly arrivals.
    pub hourly_error: f64,
    /// Mean absolute difference, per hour, between the counters needed by the forecast and by
    /// the arrivals that came.
    pub counters_error: f64,
}

/// `GET /api/v1/reports/forecast`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Forecast {
    pub branch: String,
    pub day: NaiveDate,
    /// How many weeks before `day` it learned from.
    pub weeks: u32,
    /// Of those, the days of `day`'s weekday on which the branch had visitors.
    pub days_learned: usize,
    /// The share to be called within target the counters are counted for, in percent.
    pub goal_pct: f64,
    pub services: Vec<ForecastService>,
    pub hours: Vec<ForecastHour>,
    pub what_if: Option<WhatIf>,
    /// The same forecast made for each day of the `weeks` weeks before `day` on which the
    /// branch had visitors, oldest first.
    pub checks: Vec<ForecastCheck>,
}
