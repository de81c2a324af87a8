//! What a corrective action may say — pure: a new action and a change checked against the
//! branch's services and the rating reasons, the change applied to the stored action.
use chrono::NaiveDate;
use dawr_protocol::api::actions::{ActionUpdate, CauseKind, NewAction};
use dawr_protocol::device::RatingReason;

/// The longest owner, cause and action texts.
pub const MAX_OWNER: usize = 80;
pub const MAX_CAUSE: usize = 80;
pub const MAX_ACTION: usize = 300;

/// Why an action or a change was refused (the field, and the rule).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {rule}")]
pub struct Refused {
    pub field: &'static str,
    pub rule: String,
}

fn refused(field: &'static str, rule: impl Into<String>) -> Refused {
    Refused { field, rule: rule.into() }
}

/// The rating reasons' codes, as stored and reported.
pub fn reason_codes() -> Vec<String> {
    [
        RatingReason::WaitedTooLong,
        RatingReason::StaffConduct,
        RatingReason::NotResolved,
        RatingReason::UnclearProcedure,
        RatingReason::Other,
    ]
    .iter()
    .filter_map(|r| serde_json::to_value(r).ok().and_then(|v| v.as_str().map(String::from)))
    .chain(std::iter::once(crate::reports::NO_REASON_GIVEN.to_string()))
    .collect()
}

fn text(field: &'static str, value: &str, max: usize) -> Result<String, Refused> {
    let value = value.trim();
    if value.is_empty() {
        return Err(refused(field, "must not be blank"));
    }
    if value.chars().count() > max {
        return Err(refused(field, format!("must be at most {max} characters")));
    }
    Ok(value.to_string())
}

/// A new action, trimmed, or why not: the cause a known reason (or a category text), the
/// service one of `services`, texts not blank, due not before it starts.
pub fn check_new(new: NewAction, services: &[String]) -> Result<NewAction, Refused> {
    let cause = text("cause", &new.cause, MAX_CAUSE)?;
    if new.cause_kind == CauseKind::Reason && !reason_codes().contains(&cause) {
        return Err(refused("cause", format!("a reason is one of {}", reason_codes().join(", "))));
    }
    let service = new.service.map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(code) = &service
        && !services.contains(code)
    {
        return Err(refused("service", format!("{code:?} is not a service of this branch")));
    }
    let checked = NewAction {
        cause,
        service,
        action: text("action", &new.action, MAX_ACTION)?,
        owner: text("owner", &new.owner, MAX_OWNER)?,
        ..new
    };
    dates(checked.starts, checked.due)?;
    Ok(checked)
}

fn dates(starts: NaiveDate, due: NaiveDate) -> Result<(), Refused> {
    match due < starts {
        true => Err(refused("due", "must not be before the day the action starts")),
        false => Ok(()),
    }
}

/// `action` with `update` applied, or why not (the same rules as a new one).
pub fn apply(action: &NewAction, update: ActionUpdate) -> Result<NewAction, Refused> {
    let owner = update.owner.map(|o| text("owner", &o, MAX_OWNER)).transpose()?;
    let what = update.action.map(|a| text("action", &a, MAX_ACTION)).transpose()?;
    let changed = NewAction {
        status: update.status.unwrap_or(action.status),
        owner: owner.unwrap_or_else(|| action.owner.clone()),
        action: what.unwrap_or_else(|| action.action.clone()),
        due: update.due.unwrap_or(action.due),
        starts: update.starts.unwrap_or(action.starts),
        ..action.clone()
    };
    dates(changed.starts, changed.due)?;
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use dawr_protocol::api::actions::ActionStatus;

    use super::*;

    fn new() -> NewAction {
        NewAction {
            cause_kind: CauseKind::Reason,
            cause: " waited_too_long ".into(),
            service: Some("A".into()),
            action: "Open a second counter for A from 10:00".into(),
            owner: "m001".into(),
            due: "2026-10-31".parse().unwrap(),
            starts: "2026-10-01".parse().unwrap(),
            status: ActionStatus::Planned,
        }
    }

    #[test]
    fn a_new_action_is_trimmed_and_checked() {
        let services = vec!["A".to_string(), "B".to_string()];
        assert_eq!(check_new(new(), &services).unwrap().cause, "waited_too_long");
        let bad = |a: NewAction| check_new(a, &services).unwrap_err().field;
        assert_eq!(bad(NewAction { cause: "rude".into(), ..new() }), "cause");
        assert_eq!(bad(NewAction { service: Some("Z".into()), ..new() }), "service");
        assert_eq!(bad(NewAction { owner: "  ".into(), ..new() }), "owner");
        assert_eq!(bad(NewAction { action: "x".repeat(301), ..new() }), "action");
        assert_eq!(bad(NewAction { due: "2026-09-30".parse().unwrap(), ..new() }), "due");
        let category = NewAction { cause_kind: CauseKind::Category, cause: "شكوى على موظف".into(), ..new() };
        assert!(check_new(category, &services).is_ok(), "a category is the staff's own text");
        let all = NewAction { service: Some(String::new()), ..new() };
        assert_eq!(check_new(all, &services).unwrap().service, None, "blank: every service");
    }

    #[test]
    fn a_change_keeps_what_it_does_not_name() {
        let action = check_new(new(), &["A".to_string()]).unwrap();
        let done = apply(&action, ActionUpdate { status: Some(ActionStatus::Done), ..Default::default() }).unwrap();
        assert_eq!((done.status, done.owner.as_str(), done.due), (ActionStatus::Done, "m001", action.due));
        let early = ActionUpdate { due: Some("2026-09-01".parse().unwrap()), ..Default::default() };
        assert_eq!(apply(&action, early).unwrap_err().field, "due");
        let blank = ActionUpdate { owner: Some(" ".into()), ..Default::default() };
        assert_eq!(apply(&action, blank).unwrap_err().field, "owner");
    }
}
