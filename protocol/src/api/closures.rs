//! Closing a day: a manager closes one service or the whole branch for a day
//! (`POST /api/v1/closures` on the hub, or its dashboard). The hub then refuses tickets and
//! joins for it that day, cancels that day's waiting tickets for it (when the day is today) and
//! texts their holders who gave a mobile; it tells the appointments site
//! (`POST /api/v1/branches/{branch}/closures`), which cancels that day's bookings for it and
//! texts each holder a link to book again.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/closures`: close `day` for `service`, or (no service) for the whole branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloseDay {
    /// The branch's local date: today or later.
    pub day: NaiveDate,
    /// A service code; absent: every service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A closed day, as the hub keeps it (`201` when new, `200` when it was closed already).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayClosure {
    pub day: NaiveDate,
    /// `null`: the whole branch.
    pub service: Option<String>,
    /// The manager who closed it.
    pub closed_by: String,
    pub closed_at: DateTime<Utc>,
    /// When the appointments site confirmed it (`null`: not yet, or no site).
    pub site_told_at: Option<DateTime<Utc>>,
}

/// `GET /api/v1/closures`: the closed days from today on, soonest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayClosures {
    pub closures: Vec<DayClosure>,
}

/// `POST /api/v1/branches/{branch}/closures` on the appointments site (the branch's API key):
/// the hub tells the site a day it closed. Repeating it changes nothing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BranchClosure {
    pub day: NaiveDate,
    /// A service code; absent: every service of the branch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// The site's answer: how many bookings this call cancelled (0 when repeated).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosureApplied {
    pub bookings_cancelled: u32,
}
