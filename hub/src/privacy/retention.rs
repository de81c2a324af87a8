//! How long personal data is kept (`[retention]` in the branch file) and the cut-off instants
//! that gives at a moment — pure: the time is an argument.
use chrono::{DateTime, Duration, Utc};

/// The retention settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// Visitor IDs and mobiles in clear, case notes and transfer notes are removed from visits
    /// (and cases) issued this many days ago.
    pub personal_days: u32,
    /// The keyed hash of a visitor (matching earlier visits) is removed after this many days.
    pub match_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { personal_days: 90, match_days: 365 }
    }
}

/// The instants before which data goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cutoffs {
    /// Personal fields of visits issued (and cases last edited) before this.
    pub personal: DateTime<Utc>,
    /// Visitor hashes of visits issued (and cases last edited) before this.
    pub matching: DateTime<Utc>,
}

impl Retention {
    /// A setting that cannot be used (an hour of retention would erase the day's work).
    pub fn check(&self) -> Result<(), String> {
        if self.personal_days == 0 {
            return Err("[retention] personal_data_days must be at least 1".into());
        }
        if self.match_days < self.personal_days {
            return Err("[retention] visitor_match_days must be at least personal_data_days".into());
        }
        Ok(())
    }

    /// The cut-offs at `now`.
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Cutoffs {
        Cutoffs {
            personal: now - Duration::days(i64::from(self.personal_days)),
            matching: now - Duration::days(i64::from(self.match_days)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cutoffs_are_the_settings_days_before_now() {
        let now: DateTime<Utc> = "2026-11-23T06:00:00Z".parse().unwrap();
        let cutoffs = Retention::default().cutoffs(now);
        assert_eq!(cutoffs.personal, "2026-08-25T06:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!(cutoffs.matching, "2025-11-23T06:00:00Z".parse::<DateTime<Utc>>().unwrap());
        assert!(Retention::default().check().is_ok());
        assert!(Retention { personal_days: 0, match_days: 10 }.check().is_err());
        assert!(Retention { personal_days: 90, match_days: 30 }.check().is_err());
    }
}
