//! Who may read and change which case (pure): a manager any; a staff member the cases of the
//! visits they served, and those of the counter they are signed in at, today. A visitor's
//! earlier visits are shown to a staff member only among the cases they may read, so typing
//! someone's ID on a case tells them nothing they could not see already.
use crate::reports::VisitFacts;

/// Who asks, as their session says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader<'a> {
    pub staff: &'a str,
    pub manager: bool,
    /// The counter their session opened, if any.
    pub counter: Option<&'a str>,
    /// The branch's local day today (`2026-11-23`).
    pub today: &'a str,
}

/// Whether `reader` may read and change the case of `visit`.
pub fn may_read(reader: &Reader<'_>, visit: &VisitFacts) -> bool {
    reader.manager
        || visit.staff.as_deref() == Some(reader.staff)
        || (reader.counter.is_some() && visit.counter.as_deref() == reader.counter && visit.local_day == reader.today)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Ending;

    fn visit(staff: Option<&str>, counter: Option<&str>, day: &str) -> VisitFacts {
        VisitFacts {
            id: 1,
            number: "A001".into(),
            case_ref: "DMM-20261123-000001".into(),
            service: "A".into(),
            local_day: day.into(),
            issued_at: chrono::Utc::now(),
            first_called_at: None,
            started_at: None,
            ended_at: None,
            ending: Ending::Served,
            counter: counter.map(Into::into),
            outcome: None,
            rating: None,
            rating_reason: None,
            rated_at: None,
            staff: staff.map(Into::into),
            source: "walk_in".into(),
        }
    }

    #[test]
    fn staff_read_what_they_served_and_their_counters_today_managers_everything() {
        let me = Reader { staff: "s101", manager: false, counter: Some("2"), today: "2026-11-23" };
        assert!(may_read(&me, &visit(Some("s101"), Some("1"), "2026-10-01")), "served by me, any day");
        assert!(may_read(&me, &visit(None, Some("2"), "2026-11-23")), "my counter today");
        assert!(!may_read(&me, &visit(Some("s102"), Some("2"), "2026-11-22")), "my counter, another day");
        assert!(!may_read(&me, &visit(Some("s102"), Some("4"), "2026-11-23")), "someone else's");
        let unseated = Reader { counter: None, ..me.clone() };
        assert!(!may_read(&unseated, &visit(None, None, "2026-11-23")), "a waiting visit with no counter");
        let manager = Reader { staff: "m001", manager: true, counter: None, today: "2026-11-23" };
        assert!(may_read(&manager, &visit(Some("s102"), Some("4"), "2026-01-01")));
    }
}
