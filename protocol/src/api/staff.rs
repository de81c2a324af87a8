//! A staff member's own figures: `GET /api/v1/staff/today` (with their session), shown on the
//! counter app.
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// `GET /api/v1/staff/today`: the visits the signed-in staff member served today (the branch's
/// local day).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StaffToday {
    pub staff: String,
    /// The branch's local day.
    pub date: NaiveDate,
    /// Visits they completed.
    pub served: u32,
    /// Mean seconds from start to end of those visits; `null` before the first.
    pub mean_service_s: Option<f64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::round_trip;

    #[test]
    fn todays_figures_read_as_the_docs_show() {
        let today = StaffToday {
            staff: "s101".into(),
            date: "2026-11-23".parse().unwrap(),
            served: 7,
            mean_service_s: Some(412.5),
        };
        round_trip(&today, r#"{"staff":"s101","date":"2026-11-23","served":7,"mean_service_s":412.5}"#);
        let none = StaffToday { served: 0, mean_service_s: None, ..today };
        round_trip(&none, r#"{"staff":"s101","date":"2026-11-23","served":0,"mean_service_s":null}"#);
    }
}
