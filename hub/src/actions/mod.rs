//! Corrective actions: each root cause of low ratings — a rating reason, or a category staff
//! gave a case — can get an action with an owner, a due date and a status, recorded with the
//! manager who created and last changed it; the report shows each action's effect, the cause's
//! share and the affected service's satisfaction before and after the action's start.
//!
//! `rules` (what an action may say, a change applied) and `effect` (the figures) are pure;
//! `store` is the SQL of `corrective_actions`; [`report`] reads what the figures need.
pub mod effect;
pub mod rules;
pub mod store;

use chrono::NaiveDate;
pub use dawr_protocol::api::actions::{CorrectiveAction, CorrectiveActions};
use rusqlite::Connection;

use crate::domain::Branch;
use crate::reports::{ReportFilter, visit_facts};

/// Every action of the branch with its effect, as of `today` (local).
pub fn report(conn: &Connection, branch: &Branch, today: NaiveDate) -> rusqlite::Result<CorrectiveActions> {
    let stored = store::list(conn)?;
    let days = effect::WINDOW_DAYS;
    let spans: Vec<(NaiveDate, NaiveDate)> = stored
        .iter()
        .flat_map(|s| {
            std::iter::once(effect::before(s.action.starts, days)).chain(effect::after(s.action.starts, days, today))
        })
        .collect();
    let (visits, categories) = match (spans.iter().map(|s| s.0).min(), spans.iter().map(|s| s.1).max()) {
        (Some(from), Some(to)) => {
            let filter = ReportFilter { from, to, service: None, counter: None };
            let notes = crate::cases::notes_for_days(conn, from, to)?;
            let categories = notes.into_iter().filter_map(|(case, n)| n.category.map(|c| (case, c))).collect();
            (visit_facts(conn, &filter)?, categories)
        }
        _ => (Vec::new(), Default::default()),
    };
    let actions = stored
        .into_iter()
        .map(|s| CorrectiveAction {
            before: effect::window(&s.action, &visits, &categories, effect::before(s.action.starts, days)),
            after: effect::after(s.action.starts, days, today)
                .map(|span| effect::window(&s.action, &visits, &categories, span)),
            overdue: effect::overdue(&s.action, today),
            id: s.id,
            cause_kind: s.action.cause_kind,
            cause: s.action.cause,
            service: s.action.service,
            action: s.action.action,
            owner: s.action.owner,
            due: s.action.due,
            starts: s.action.starts,
            status: s.action.status,
            created_by: s.created_by,
            created_at: s.created_at,
            updated_by: s.updated_by,
            updated_at: s.updated_at,
        })
        .collect();
    Ok(CorrectiveActions { branch: branch.id.clone(), window_days: days, actions })
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use dawr_protocol::api::actions::{ActionStatus, CauseKind, NewAction};

    use super::*;
    use crate::reports::synthetic;

    /// Two months of made-up history in a real database, with every second `waited_too_long`
    /// turned into `staff_conduct` and every third case's category into a complaint about an
    /// employee: each action's windows equal what the test works out from the truth alone.
    #[test]
    fn an_actions_effect_is_worked_out_independently_from_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let truth =
            synthetic::write(&mut conn, 9, "2026-09-01".parse().unwrap(), "2026-11-10".parse().unwrap(), 80).unwrap();
        conn.execute(
            "UPDATE events SET payload = replace(payload, 'waited_too_long', 'staff_conduct')
             WHERE kind = 'rated' AND visit_id % 2 = 0",
            [],
        )
        .unwrap();
        conn.execute(
            "UPDATE case_notes SET category = 'شكوى على موظف' WHERE CAST(substr(case_ref, 5) AS INTEGER) % 3 = 0",
            [],
        )
        .unwrap();
        // What the two updates above made of each visit's reason and case category (visit `i` is
        // visit id `i + 1`; a case has a notes row once closed or given a category).
        let reason_of = |i: usize| match truth[i].rating.and_then(|(_, reason)| reason) {
            Some("waited_too_long") if (i + 1).is_multiple_of(2) => Some("staff_conduct"),
            reason => reason,
        };
        let closed_category = |i: usize| {
            let has_notes = truth[i].closed_at.is_some() || truth[i].category.is_some();
            match has_notes && (i + 1).is_multiple_of(3) {
                true => Some("شكوى على موظف"),
                false => truth[i].category,
            }
        };

        let branch = crate::config::Config::demo().branch().unwrap();
        let new = |kind, cause: &str, service: Option<&str>, starts: &str| NewAction {
            cause_kind: kind,
            cause: cause.into(),
            service: service.map(Into::into),
            action: "—".into(),
            owner: "m001".into(),
            due: "2026-12-31".parse().unwrap(),
            starts: starts.parse().unwrap(),
            status: ActionStatus::InProgress,
        };
        let now = Utc::now();
        store::insert(&conn, &new(CauseKind::Reason, "staff_conduct", Some("A"), "2026-10-01"), "m001", now).unwrap();
        store::insert(&conn, &new(CauseKind::Category, "شكوى على موظف", None, "2026-10-20"), "m002", now).unwrap();
        let today: NaiveDate = "2026-11-05".parse().unwrap();
        let report = report(&conn, &branch, today).unwrap();
        assert_eq!(report.actions.len(), 2);

        let days = |from: &str, to: &str| -> Vec<usize> {
            let (from, to): (NaiveDate, NaiveDate) = (from.parse().unwrap(), to.parse().unwrap());
            (0..truth.len()).filter(|&i| truth[i].local_day >= from && truth[i].local_day <= to).collect()
        };
        // The reason, service A: 1 Sep – 30 Sep before, 1 Oct – 28 Oct after.
        let reason = &report.actions[0];
        assert_eq!((reason.created_by.as_str(), reason.overdue), ("m001", false));
        for (window, (from, to)) in [
            (&reason.before, ("2026-09-03", "2026-09-30")),
            (reason.after.as_ref().unwrap(), ("2026-10-01", "2026-10-28")),
        ] {
            assert_eq!((window.from.to_string(), window.to.to_string()), (from.to_string(), to.to_string()));
            let of_a: Vec<usize> = days(from, to).into_iter().filter(|&i| truth[i].service == "A").collect();
            let low: Vec<usize> =
                of_a.iter().copied().filter(|&i| truth[i].rating.is_some_and(|(s, _)| s <= 2)).collect();
            let with = low.iter().filter(|&&i| reason_of(i) == Some("staff_conduct")).count();
            let scores: Vec<f64> = of_a.iter().filter_map(|&i| truth[i].rating.map(|(s, _)| f64::from(s))).collect();
            assert_eq!(
                (window.counted, window.with_cause, window.ratings),
                (low.len(), with, scores.len()),
                "{window:?}"
            );
            let mean = scores.iter().sum::<f64>() / scores.len() as f64;
            assert!((window.satisfaction.unwrap() - mean).abs() < 1e-9, "{window:?}");
            assert!(window.counted > 10 && window.with_cause > 0 && window.with_cause < window.counted, "{window:?}");
        }
        // The category, every service: 22 Sep – 19 Oct before; 20 Oct – today after.
        let category = &report.actions[1];
        assert_eq!(category.after.as_ref().unwrap().to.to_string(), "2026-11-05", "up to today");
        for window in [&category.before, category.after.as_ref().unwrap()] {
            let inside = days(&window.from.to_string(), &window.to.to_string());
            let categorised: Vec<&str> = inside.iter().filter_map(|&i| closed_category(i)).collect();
            let with = categorised.iter().filter(|c| **c == "شكوى على موظف").count();
            assert_eq!((window.counted, window.with_cause), (categorised.len(), with), "{window:?}");
            assert!(with > 0 && with < categorised.len(), "{window:?}");
        }
    }
}
