//! The clock both services read: the system clock, shifted by an offset that tests may give
//! (`--clock-offset-s` or `DAWR_CLOCK_OFFSET_S` on the hub and the appointments site alike, so one
//! setting shifts both), so a run can start just before a local midnight and a day change is seen
//! while they run. Everything that decides by the time of day (the hub's engine, today's
//! bookings, "today" on the API and the dashboard; the site's bookable days and slots, its
//! booking, cancelling and rescheduling rules) asks [`now`].
use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{DateTime, Duration, Utc};

/// The offset in milliseconds, set once at start-up.
static OFFSET_MS: AtomicI64 = AtomicI64::new(0);

/// The largest offset accepted, in seconds (a little over a year).
const MAX_OFFSET_S: f64 = 400.0 * 86_400.0;

/// An offset that is not a number of seconds within a year.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("the clock offset {0} s is not within a year")]
pub struct OffsetOutOfRange(pub f64);

/// Shifts the clock by `seconds` (may be negative) from now on.
pub fn set_offset_s(seconds: f64) -> Result<(), OffsetOutOfRange> {
    if !seconds.is_finite() || seconds.abs() > MAX_OFFSET_S {
        return Err(OffsetOutOfRange(seconds));
    }
    OFFSET_MS.store((seconds * 1000.0).round() as i64, Ordering::Relaxed);
    Ok(())
}

/// The time now, as the service sees it.
pub fn now() -> DateTime<Utc> {
    Utc::now() + Duration::milliseconds(OFFSET_MS.load(Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offset_outside_a_year_is_refused() {
        assert!(set_offset_s(f64::NAN).is_err());
        assert!(set_offset_s(401.0 * 86_400.0).is_err());
        assert!(set_offset_s(-401.0 * 86_400.0).is_err());
    }
}
