//! What a staff member's change does to a case's notes, and which changes are refused — pure:
//! the writes in [`super::write`] load the case, ask this, and save the result.
use chrono::{DateTime, Utc};
/// A change staff make to a case (`PATCH /api/v1/cases/{case_ref}`; unknown fields refused).
pub use dawr_protocol::api::cases::CaseUpdate;

use super::CaseNotes;
use crate::reports::{Ending, VisitFacts};

/// Why a case could not be changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaseError {
    #[error("no case {0}")]
    Unknown(String),
    #[error("{0}")]
    Invalid(&'static str),
    #[error("the database: {0}")]
    Storage(String),
}

/// A visitor's ID or mobile as stored: digits (and a leading `+`), spaces and dashes dropped;
/// empty clears it.
pub(crate) fn normalize_visitor(text: &str) -> Result<Option<String>, CaseError> {
    let kept: String = text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    if kept.is_empty() {
        return Ok(None);
    }
    let digits = kept.strip_prefix('+').unwrap_or(&kept);
    if !(9..=15).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CaseError::Invalid("visitor must be an ID number or a mobile number (digits)"));
    }
    Ok(Some(kept))
}

/// A change whose fields passed their checks (lengths; the visitor's ID or mobile normalised),
/// ready to apply to a case once it is loaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedUpdate {
    category: Option<String>,
    notes: Option<String>,
    /// `Some(None)` clears the visitor.
    visitor: Option<Option<String>>,
    close: bool,
}

/// The checks of a [`CaseUpdate`] (the wire type's; the rule is the hub's).
pub trait CheckUpdate {
    /// Checks the change's fields on their own, before any case is looked at.
    fn checked(&self) -> Result<CheckedUpdate, CaseError>;
}

impl CheckUpdate for CaseUpdate {
    fn checked(&self) -> Result<CheckedUpdate, CaseError> {
        if self.category.as_ref().is_some_and(|c| c.chars().count() > 64) {
            return Err(CaseError::Invalid("category is at most 64 characters"));
        }
        if self.notes.as_ref().is_some_and(|n| n.chars().count() > 4000) {
            return Err(CaseError::Invalid("notes are at most 4000 characters"));
        }
        let visitor = self.visitor.as_deref().map(normalize_visitor).transpose()?;
        Ok(CheckedUpdate { category: self.category.clone(), notes: self.notes.clone(), visitor, close: self.close })
    }
}

impl CheckedUpdate {
    /// The notes after `staff` made this change at `now` to the case of `visit`: a blank
    /// category clears it; closing closes a case once (refused while its visit is in progress).
    pub fn apply(
        &self,
        visit: &VisitFacts,
        mut notes: CaseNotes,
        staff: &str,
        now: DateTime<Utc>,
    ) -> Result<CaseNotes, CaseError> {
        if let Some(category) = &self.category {
            notes.category = Some(category.trim().to_string()).filter(|c| !c.is_empty());
        }
        if let Some(text) = &self.notes {
            notes.notes = text.clone();
        }
        if let Some(visitor) = &self.visitor {
            notes.visitor = visitor.clone();
        }
        if self.close && notes.closed_at.is_none() {
            if visit.ending == Ending::Open {
                return Err(CaseError::Invalid("the visit is still in progress: complete it first"));
            }
            notes.closed_at = Some(now);
            notes.closed_by = Some(staff.to_string());
        }
        notes.updated_at = Some(now);
        notes.updated_by = Some(staff.to_string());
        Ok(notes)
    }
}

/// The fields of a case's notes that changed, before and after, for the audit log. The
/// personal ones (the visitor, the notes) appear as `fingerprint(value)` (empty when blank), so
/// the log shows that and when they changed without keeping them.
pub fn audit_fields(
    before: &CaseNotes,
    after: &CaseNotes,
    fingerprint: impl Fn(&str) -> String,
) -> (std::collections::BTreeMap<String, String>, std::collections::BTreeMap<String, String>) {
    let personal = |text: Option<&str>| text.filter(|t| !t.is_empty()).map(&fingerprint).unwrap_or_default();
    let fields = |n: &CaseNotes| {
        [
            ("category", n.category.clone().unwrap_or_default()),
            ("visitor", personal(n.visitor.as_deref())),
            ("notes", personal(Some(&n.notes))),
            ("closed_at", n.closed_at.map(|t| t.to_rfc3339()).unwrap_or_default()),
            ("closed_by", n.closed_by.clone().unwrap_or_default()),
        ]
    };
    let (mut was, mut is) = (std::collections::BTreeMap::new(), std::collections::BTreeMap::new());
    for ((field, old), (_, new)) in fields(before).into_iter().zip(fields(after)) {
        if old != new {
            was.insert(field.to_string(), old);
            is.insert(field.to_string(), new);
        }
    }
    (was, is)
}

/// Checks that the visitor may now add a reason to their rating of how the case was resolved.
pub fn check_resolution_reason(case: &super::Case) -> Result<(), CaseError> {
    if case.notes.resolution_reason.is_some() {
        return Err(CaseError::Invalid("this rating already has a reason"));
    }
    if !case.asks_resolution_reason() {
        return Err(CaseError::Invalid("this case has no low rating of its resolution to explain"));
    }
    Ok(())
}

/// Checks a visitor's rating of how their case was resolved, before the case is looked at.
pub fn check_resolution_score(score: u8) -> Result<(), CaseError> {
    if (1..=5).contains(&score) { Ok(()) } else { Err(CaseError::Invalid("the score is 1 to 5")) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cases::case::tests::{at, visit};

    fn update(json: &str) -> CaseUpdate {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn a_visitor_is_an_id_or_a_mobile_in_digits() {
        assert_eq!(normalize_visitor(" 1012-345-678 "), Ok(Some("1012345678".into())));
        assert_eq!(normalize_visitor("+966 50 123 4567"), Ok(Some("+966501234567".into())));
        assert_eq!(normalize_visitor("  "), Ok(None), "blank clears it");
        assert!(normalize_visitor("12345678").is_err(), "too short");
        assert!(normalize_visitor("1234567890123456").is_err(), "too long");
        assert!(normalize_visitor("10123456a8").is_err());
        assert!(normalize_visitor("++966501234567").is_err());
    }

    #[test]
    fn a_change_is_checked_before_the_case_is_looked_at() {
        assert!(update(r#"{"category": "billing"}"#).checked().is_ok());
        let long = format!(r#"{{"category": "{}"}}"#, "ف".repeat(65));
        assert_eq!(update(&long).checked(), Err(CaseError::Invalid("category is at most 64 characters")));
        let long = format!(r#"{{"notes": "{}"}}"#, "x".repeat(4001));
        assert_eq!(update(&long).checked(), Err(CaseError::Invalid("notes are at most 4000 characters")));
        assert!(update(r#"{"visitor": "abc"}"#).checked().is_err());
        assert!(serde_json::from_str::<CaseUpdate>(r#"{"colour": "red"}"#).is_err(), "unknown fields refused");
        assert!(check_resolution_score(1).is_ok() && check_resolution_score(5).is_ok());
        assert!(check_resolution_score(0).is_err() && check_resolution_score(6).is_err());
    }

    #[test]
    fn a_change_writes_its_fields_and_closes_a_finished_case_once() {
        let now = at("2026-11-24T08:00:00Z");
        let served = visit(Ending::Served, Some("follow_up"), None);
        let before = CaseNotes { category: Some("old".into()), notes: "kept".into(), ..CaseNotes::default() };
        let change = update(r#"{"category": "  ", "visitor": "1012345678", "close": true}"#).checked().unwrap();
        let after = change.apply(&served, before, "s101", now).unwrap();
        assert_eq!(after.category, None, "a blank category clears it");
        assert_eq!(after.notes, "kept", "fields not given are kept");
        assert_eq!(after.visitor.as_deref(), Some("1012345678"));
        assert_eq!((after.closed_at, after.closed_by.as_deref()), (Some(now), Some("s101")));
        assert_eq!((after.updated_at, after.updated_by.as_deref()), (Some(now), Some("s101")));
        let later = at("2026-11-25T08:00:00Z");
        let again = change.apply(&served, after, "s102", later).unwrap();
        assert_eq!((again.closed_at, again.closed_by.as_deref()), (Some(now), Some("s101")), "closed once");
        assert_eq!(again.updated_by.as_deref(), Some("s102"));
        let (was, is) = audit_fields(&CaseNotes::default(), &again, |t| format!("#{}", t.len()));
        assert_eq!(was.get("visitor").map(String::as_str), Some(""));
        assert_eq!(is.get("visitor").map(String::as_str), Some("#10"), "a fingerprint, never the ID");
        assert_eq!(is.get("notes").map(String::as_str), Some("#4"));
        assert!(!was.contains_key("notes") || was["notes"].is_empty());
        let (was, is) = audit_fields(&again, &again, |t| t.to_string());
        assert!(was.is_empty() && is.is_empty(), "nothing changed, nothing listed");
        let in_progress = visit(Ending::Open, None, None);
        assert_eq!(
            change.apply(&in_progress, CaseNotes::default(), "s101", now),
            Err(CaseError::Invalid("the visit is still in progress: complete it first"))
        );
    }
}
