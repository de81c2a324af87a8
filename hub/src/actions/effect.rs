//! An action's effect — pure: visit rows and case categories in, the cause's share and the
//! affected service's satisfaction over the days before the action started and since.
//!
//! A *reason*'s share: of the service's low ratings (1–2), those giving that reason (a low
//! rating without one counts as [`NO_REASON_GIVEN`]). A *category*'s share: of the service's
//! cases staff gave a category, those with that one. Satisfaction: the mean exit rating of the
//! service. Days are local; a visit counts on the day it was issued.
use std::collections::HashMap;

use chrono::{Duration, NaiveDate};
use dawr_protocol::api::actions::{ActionStatus, CauseKind, CauseWindow, NewAction};

use crate::reports::{NO_REASON_GIVEN, VisitFacts, is_low};

/// The days before `starts` and since it an effect is measured over.
pub const WINDOW_DAYS: u32 = 28;

/// The days `[from, to]` before an action's start: the `days` days before it.
pub fn before(starts: NaiveDate, days: u32) -> (NaiveDate, NaiveDate) {
    (starts - Duration::days(i64::from(days)), starts - Duration::days(1))
}

/// The days since an action's start: as many, up to `today` (`None` before it starts).
pub fn after(starts: NaiveDate, days: u32, today: NaiveDate) -> Option<(NaiveDate, NaiveDate)> {
    let end = (starts + Duration::days(i64::from(days) - 1)).min(today);
    (starts <= today).then_some((starts, end))
}

/// Whether an action is past its due date and still open.
pub fn overdue(action: &NewAction, today: NaiveDate) -> bool {
    action.due < today && matches!(action.status, ActionStatus::Planned | ActionStatus::InProgress)
}

/// The cause's share and the satisfaction of `action`'s service over `days`, from `visits`
/// and the cases' categories (`categories`: case reference → category).
pub fn window(
    action: &NewAction,
    visits: &[VisitFacts],
    categories: &HashMap<String, String>,
    (from, to): (NaiveDate, NaiveDate),
) -> CauseWindow {
    let (first, last) = (from.to_string(), to.to_string());
    let inside: Vec<&VisitFacts> = visits
        .iter()
        .filter(|v| v.local_day >= first && v.local_day <= last)
        .filter(|v| action.service.as_ref().is_none_or(|s| &v.service == s))
        .collect();
    let causes: Vec<&str> = match action.cause_kind {
        CauseKind::Reason => inside
            .iter()
            .filter(|v| v.rating.is_some_and(is_low))
            .map(|v| v.rating_reason.as_deref().unwrap_or(NO_REASON_GIVEN))
            .collect(),
        CauseKind::Category => inside.iter().filter_map(|v| categories.get(&v.case_ref)).map(|c| c.trim()).collect(),
    };
    let with_cause = causes.iter().filter(|c| **c == action.cause).count();
    let ratings: Vec<f64> = inside.iter().filter_map(|v| v.rating).map(f64::from).collect();
    CauseWindow {
        from,
        to,
        counted: causes.len(),
        with_cause,
        share_pct: (!causes.is_empty()).then(|| with_cause as f64 * 100.0 / causes.len() as f64),
        ratings: ratings.len(),
        satisfaction: (!ratings.is_empty()).then(|| ratings.iter().sum::<f64>() / ratings.len() as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::Ending;

    fn visit(id: i64, day: &str, service: &str, rating: Option<u8>, reason: Option<&str>) -> VisitFacts {
        let at = format!("{day}T06:00:00Z").parse().unwrap();
        VisitFacts {
            id,
            number: format!("{service}{id:03}"),
            case_ref: format!("DMM-{id}"),
            service: service.into(),
            local_day: day.into(),
            issued_at: at,
            first_called_at: Some(at),
            started_at: Some(at),
            ended_at: Some(at),
            ending: Ending::Served,
            counter: Some("1".into()),
            outcome: Some("resolved".into()),
            rating,
            rating_reason: reason.map(Into::into),
            rated_at: rating.map(|_| at),
            staff: None,
            source: "walk_in".into(),
        }
    }

    fn action(kind: CauseKind, cause: &str, service: Option<&str>) -> NewAction {
        NewAction {
            cause_kind: kind,
            cause: cause.into(),
            service: service.map(Into::into),
            action: "x".into(),
            owner: "m001".into(),
            due: "2026-10-31".parse().unwrap(),
            starts: "2026-10-01".parse().unwrap(),
            status: ActionStatus::InProgress,
        }
    }

    #[test]
    fn a_reasons_share_counts_the_services_low_ratings_in_the_window() {
        let visits = vec![
            visit(1, "2026-09-10", "A", Some(1), Some("waited_too_long")),
            visit(2, "2026-09-11", "A", Some(2), None),
            visit(3, "2026-09-12", "A", Some(2), Some("waited_too_long")),
            visit(4, "2026-09-12", "A", Some(5), None),
            visit(5, "2026-09-12", "B", Some(1), Some("waited_too_long")), // another service
            visit(6, "2026-10-02", "A", Some(4), None),                    // after the start
        ];
        let a = action(CauseKind::Reason, "waited_too_long", Some("A"));
        let w = window(&a, &visits, &HashMap::new(), before(a.starts, 28));
        assert_eq!((w.from.to_string().as_str(), w.to.to_string().as_str()), ("2026-09-03", "2026-09-30"));
        assert_eq!((w.counted, w.with_cause, w.ratings), (3, 2, 4));
        assert!((w.share_pct.unwrap() - 200.0 / 3.0).abs() < 1e-9);
        assert_eq!(w.satisfaction, Some(2.5), "(1 + 2 + 2 + 5) / 4");
        let silent = action(CauseKind::Reason, NO_REASON_GIVEN, Some("A"));
        assert_eq!(window(&silent, &visits, &HashMap::new(), before(a.starts, 28)).with_cause, 1);
        let all = action(CauseKind::Reason, "waited_too_long", None);
        assert_eq!(window(&all, &visits, &HashMap::new(), before(a.starts, 28)).counted, 4, "every service");
        let since = window(&a, &visits, &HashMap::new(), after(a.starts, 28, "2026-10-05".parse().unwrap()).unwrap());
        assert_eq!((since.counted, since.share_pct, since.satisfaction), (0, None, Some(4.0)));
    }

    #[test]
    fn a_categorys_share_counts_the_services_categorised_cases() {
        let visits: Vec<VisitFacts> = (1..=4).map(|i| visit(i, "2026-09-20", "A", None, None)).collect();
        let categories: HashMap<String, String> = [(1, "شكوى على موظف"), (2, "billing"), (3, " شكوى على موظف ")]
            .into_iter()
            .map(|(i, c)| (format!("DMM-{i}"), c.to_string()))
            .collect();
        let a = action(CauseKind::Category, "شكوى على موظف", Some("A"));
        let w = window(&a, &visits, &categories, before(a.starts, 28));
        assert_eq!((w.counted, w.with_cause, w.ratings, w.satisfaction), (3, 2, 0, None));
    }

    #[test]
    fn the_windows_and_overdue() {
        let starts: NaiveDate = "2026-10-01".parse().unwrap();
        assert_eq!(after(starts, 28, "2026-09-30".parse().unwrap()), None, "not started yet");
        assert_eq!(after(starts, 28, "2026-12-01".parse().unwrap()).unwrap().1.to_string(), "2026-10-28");
        let a = action(CauseKind::Reason, "other", None);
        assert!(overdue(&a, "2026-11-01".parse().unwrap()));
        assert!(!overdue(&a, "2026-10-31".parse().unwrap()), "due today is not overdue");
        assert!(!overdue(&NewAction { status: ActionStatus::Done, ..a }, "2026-11-01".parse().unwrap()));
    }
}
