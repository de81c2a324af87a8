//! The hub's clock: the system clock, shifted by an offset that tests may give
//! (`--clock-offset-s` or `DAWR_CLOCK_OFFSET_S`), so a run can start just before a local midnight
//! and a day change is seen while the hub runs. Everything that decides by the time of day (the
//! engine, today's bookings, "today" on the API and the dashboard) asks [`now`].
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The offset in milliseconds, set once at start-up.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// Shifts the hub's clock by `seconds` (may be negative) from now on.
pub fn set_offset_s(seconds: f64) {
    OFFSET_MS.store((seconds * 1000.0).round() as i64, Ordering::Relaxed);
}

/// The time now, as the hub sees it.
pub fn now() -> DateTime<Utc> {
    Utc::now() + Duration::milliseconds(OFFSET_MS.load(Ordering::Relaxed))
}
