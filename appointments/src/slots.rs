//! Which slots exist and which may be booked: pure functions of a branch's hours, the date and
//! the time now (no clock, no database).
//!
//! A day's slots run from `opens` in steps of `slot_min` while a slot ends by `closes`, on the
//! branch's open weekdays, except closed dates and slots overlapping a closure. A slot may be
//! booked when it starts after now and its local day is at most `horizon_days` after today.
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc};

use crate::config::Branch;

/// Why a time cannot be booked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    #[error("the branch has no slot starting at that time")]
    NotASlot,
    #[error("that slot has already started")]
    Past,
    #[error("that day is beyond the booking horizon")]
    BeyondHorizon,
}

impl SlotError {
    /// The API's error code.
    pub fn code(self) -> &'static str {
        match self {
            SlotError::NotASlot => "not_a_slot",
            SlotError::Past => "slot_past",
            SlotError::BeyondHorizon => "beyond_horizon",
        }
    }

    /// The `dawr-i18n` key of the message shown to the citizen.
    pub fn key(self) -> &'static str {
        match self {
            SlotError::NotASlot => "appt-error-not-a-slot",
            SlotError::Past => "appt-error-slot-past",
            SlotError::BeyondHorizon => "appt-error-beyond-horizon",
        }
    }
}

/// The branch's local date at `at`.
pub fn local_day(branch: &Branch, at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&branch.utc_offset).date_naive()
}

/// The UTC instant of `minutes` after local midnight of `day`.
fn at_minutes(branch: &Branch, day: NaiveDate, minutes: u32) -> DateTime<Utc> {
    let midnight = day.and_time(NaiveTime::MIN);
    let local = branch.utc_offset.from_local_datetime(&midnight).single().expect("a fixed offset is unambiguous");
    local.with_timezone(&Utc) + Duration::minutes(i64::from(minutes))
}

/// Every slot start of `day`, in order (empty on a closed day).
pub fn slot_starts(branch: &Branch, day: NaiveDate) -> Vec<DateTime<Utc>> {
    if !branch.opens_on(day.weekday()) || branch.closed_dates.contains(&day) {
        return Vec::new();
    }
    let closures: Vec<_> = branch.closures.iter().filter(|c| c.date == day).collect();
    (branch.opens_min..)
        .step_by(branch.slot_min as usize)
        .take_while(|start| start + branch.slot_min <= branch.closes_min)
        .filter(|&start| {
            let end = start + branch.slot_min;
            closures.iter().all(|c| end <= c.from_min || start >= c.to_min)
        })
        .map(|start| at_minutes(branch, day, start))
        .collect()
}

/// The last day citizens may book, counted from today at the branch.
pub fn last_bookable_day(branch: &Branch, horizon_days: u32, now: DateTime<Utc>) -> NaiveDate {
    local_day(branch, now) + Duration::days(i64::from(horizon_days))
}

/// Whether `start` may be booked now.
pub fn check_bookable(
    branch: &Branch,
    horizon_days: u32,
    now: DateTime<Utc>,
    start: DateTime<Utc>,
) -> Result<NaiveDate, SlotError> {
    let day = local_day(branch, start);
    if !slot_starts(branch, day).contains(&start) {
        return Err(SlotError::NotASlot);
    }
    if start <= now {
        return Err(SlotError::Past);
    }
    if day > last_bookable_day(branch, horizon_days, now) {
        return Err(SlotError::BeyondHorizon);
    }
    Ok(day)
}

/// The slots of `day` that may still be booked now (none outside the horizon).
pub fn bookable_starts(branch: &Branch, horizon_days: u32, now: DateTime<Utc>, day: NaiveDate) -> Vec<DateTime<Utc>> {
    if day < local_day(branch, now) || day > last_bookable_day(branch, horizon_days, now) {
        return Vec::new();
    }
    slot_starts(branch, day).into_iter().filter(|&s| s > now).collect()
}

/// The days from today to the horizon that still have a slot to book.
pub fn bookable_days(branch: &Branch, horizon_days: u32, now: DateTime<Utc>) -> Vec<NaiveDate> {
    let today = local_day(branch, now);
    (0..=i64::from(horizon_days))
        .map(|n| today + Duration::days(n))
        .filter(|&day| !bookable_starts(branch, horizon_days, now, day).is_empty())
        .collect()
}

/// The slot rows the job makes: every slot of every service of every branch, from today to the
/// horizon (a day's opening adds its slots; earlier rows stay).
pub fn horizon_plan(site: &crate::config::Site, now: DateTime<Utc>) -> Vec<crate::store::SlotPlan> {
    let mut plan = Vec::new();
    for branch in &site.branches {
        let today = local_day(branch, now);
        for n in 0..=i64::from(site.horizon_days) {
            let day = today + Duration::days(n);
            let starts = slot_starts(branch, day);
            for service in &branch.services {
                plan.extend(starts.iter().map(|&start| crate::store::SlotPlan {
                    branch: branch.id.clone(),
                    service: service.code.clone(),
                    start,
                    local_day: day,
                    capacity: service.capacity,
                }));
            }
        }
    }
    plan
}

/// A slot's end.
pub fn slot_end(branch: &Branch, start: DateTime<Utc>) -> DateTime<Utc> {
    start + Duration::minutes(i64::from(branch.slot_min))
}

/// `HH:MM` at the branch.
pub fn local_time(branch: &Branch, at: DateTime<Utc>) -> String {
    at.with_timezone(&branch.utc_offset).format("%H:%M").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SiteConfig;

    fn demo() -> Branch {
        SiteConfig::demo().site().unwrap().branches.remove(0)
    }

    fn utc(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn an_open_day_has_slots_from_opening_to_closing_in_riyadh_time() {
        let b = demo();
        let slots = slot_starts(&b, day("2026-11-23")); // a Monday
        assert_eq!(slots.len(), 26, "08:00 to 14:30 in quarter hours");
        assert_eq!(slots[0], utc("2026-11-23T05:00:00Z"), "08:00 in Riyadh is 05:00 UTC");
        assert_eq!(*slots.last().unwrap(), utc("2026-11-23T11:15:00Z"), "the last slot ends at 14:30");
        assert_eq!(local_time(&b, slots[1]), "08:15");
        assert_eq!(slot_end(&b, slots[0]), utc("2026-11-23T05:15:00Z"));
    }

    #[test]
    fn weekends_holidays_and_closures_have_no_slots() {
        let b = demo();
        assert!(slot_starts(&b, day("2026-11-27")).is_empty(), "Friday");
        assert!(slot_starts(&b, day("2026-11-28")).is_empty(), "Saturday");
        assert!(slot_starts(&b, day("2027-02-22")).is_empty(), "Founding Day (a Monday)");
        let eve = slot_starts(&b, day("2026-12-31")); // Thursday, closed from 12:00
        assert_eq!(eve.len(), 16, "08:00 to 12:00 only");
        assert_eq!(local_time(&b, *eve.last().unwrap()), "11:45");
    }

    #[test]
    fn only_future_slots_within_the_horizon_are_bookable() {
        let b = demo();
        let now = utc("2026-11-23T07:05:00Z"); // Monday 10:05 in Riyadh
        let today = bookable_starts(&b, 30, now, day("2026-11-23"));
        assert_eq!(local_time(&b, today[0]), "10:15", "10:00 has started");
        assert_eq!(check_bookable(&b, 30, now, utc("2026-11-23T07:15:00Z")), Ok(day("2026-11-23")));
        assert_eq!(check_bookable(&b, 30, now, utc("2026-11-23T07:00:00Z")), Err(SlotError::Past));
        assert_eq!(check_bookable(&b, 30, now, utc("2026-11-22T07:00:00Z")), Err(SlotError::Past));
        assert_eq!(check_bookable(&b, 30, now, utc("2026-11-23T07:20:00Z")), Err(SlotError::NotASlot));
        assert_eq!(check_bookable(&b, 30, now, utc("2026-11-27T07:15:00Z")), Err(SlotError::NotASlot), "Friday");
        // The horizon: 30 days after Monday 23 November is Wednesday 23 December.
        assert!(check_bookable(&b, 30, now, utc("2026-12-23T11:15:00Z")).is_ok());
        assert_eq!(check_bookable(&b, 30, now, utc("2026-12-24T05:00:00Z")), Err(SlotError::BeyondHorizon));
        assert!(bookable_starts(&b, 30, now, day("2026-12-24")).is_empty());
        assert!(bookable_starts(&b, 30, now, day("2026-11-22")).is_empty(), "yesterday");
        let days = bookable_days(&b, 30, now);
        assert_eq!(days[0], day("2026-11-23"));
        assert_eq!(*days.last().unwrap(), day("2026-12-23"));
        assert!(!days.contains(&day("2026-11-27")));
        assert_eq!(days.len(), 23, "Sun-Thu only");
        // After closing time today is no longer offered.
        let evening = utc("2026-11-23T12:00:00Z");
        assert_eq!(bookable_days(&b, 30, evening)[0], day("2026-11-24"));
        assert_eq!(bookable_days(&b, 0, evening), Vec::<NaiveDate>::new());
    }

    proptest::proptest! {
        /// Whatever the time, every slot offered can be booked, in the future, on the day shown.
        #[test]
        fn every_slot_offered_can_be_booked(minutes in 0i64..60 * 24 * 45, horizon in 0u32..35) {
            let b = demo();
            let now = utc("2026-11-20T00:00:00Z") + Duration::minutes(minutes);
            for day in bookable_days(&b, horizon, now) {
                for start in bookable_starts(&b, horizon, now, day) {
                    proptest::prop_assert!(start > now);
                    proptest::prop_assert_eq!(check_bookable(&b, horizon, now, start), Ok(day));
                }
            }
        }
    }

    #[test]
    fn the_job_plans_every_service_slot_to_the_horizon() {
        let site = SiteConfig::demo().site().unwrap();
        let now = utc("2026-11-23T07:05:00Z"); // Monday
        let plan = horizon_plan(&site, now);
        // Today to 23 December: 23 open days; 26 quarter hours a day; six services.
        assert_eq!(plan.len(), 23 * 26 * 6);
        assert_eq!(plan[0].start, utc("2026-11-23T05:00:00Z"), "today's slots from opening");
        assert!(plan.iter().all(|s| check_bookable(&demo(), 30, plan[0].start, s.start).is_ok() || s.start <= now));
        let e = plan.iter().find(|s| s.service == "E").unwrap();
        assert_eq!(e.capacity, 1);
        assert_eq!(plan.last().unwrap().local_day, day("2026-12-23"));
    }

    #[test]
    fn a_local_day_begins_at_local_midnight() {
        let b = demo();
        assert_eq!(local_day(&b, utc("2026-11-23T20:59:00Z")), day("2026-11-23"));
        assert_eq!(local_day(&b, utc("2026-11-23T21:00:00Z")), day("2026-11-24"));
    }
}
