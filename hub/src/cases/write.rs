//! The cases' writes: a staff member's change and a visitor's resolution rating (and its reason), each in one
//! transaction on `case_notes` (with the change's entry in the CRM outbox when the branch has a
//! connector). What a change does is decided by the pure [`super::change`]; this file loads, saves
//! and commits.
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use dawr_protocol::api::crm::{CaseChange, CaseNoted};

use super::change::{self, CaseError, CaseUpdate, CheckUpdate};
use super::{Case, CaseNotes, case_of, read_notes};
use crate::domain::CasePolicy;
use crate::reports::VisitFacts;
use crate::store::ts;

/// Records the visitor's rating of how their case was resolved (once); returns the case.
pub fn rate_resolution(
    conn: &mut Connection,
    case_ref: &str,
    score: u8,
    policy: CasePolicy,
    outbox: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Case, CaseError> {
    change::check_resolution_score(score)?;
    let tx = conn.transaction().map_err(storage)?;
    let (visit, mut notes) = load(&tx, case_ref)?;
    if !case_of(&visit, Some(&notes), policy, now).asks_resolution_rating() {
        return Err(CaseError::Invalid("this case asks no rating now"));
    }
    notes.resolution_rating = Some(score);
    tx.execute(
        "UPDATE case_notes SET resolution_rating = ?2, resolution_rated_at = ?3 WHERE case_ref = ?1",
        params![case_ref, score, ts(now)],
    )
    .map_err(storage)?;
    if let Some(branch) = outbox {
        let change = CaseChange::ResolutionRated { resolution_rating: score };
        crate::crm::put_case_change(&tx, branch, case_ref, now, &change).map_err(storage)?;
    }
    tx.commit().map_err(storage)?;
    Ok(case_of(&visit, Some(&notes), policy, now))
}

/// Adds the reason to the visitor's low rating of how their case was resolved (once, after the
/// score); returns the case.
pub fn add_resolution_reason(
    conn: &mut Connection,
    case_ref: &str,
    reason: dawr_protocol::api::RatingReason,
    policy: CasePolicy,
    outbox: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Case, CaseError> {
    let tx = conn.transaction().map_err(storage)?;
    let (visit, mut notes) = load(&tx, case_ref)?;
    change::check_resolution_reason(&case_of(&visit, Some(&notes), policy, now))?;
    let reason = crate::store::enum_text(&reason);
    notes.resolution_reason = Some(reason.clone());
    tx.execute("UPDATE case_notes SET resolution_reason = ?2 WHERE case_ref = ?1", params![case_ref, reason])
        .map_err(storage)?;
    if let Some(branch) = outbox {
        let change = CaseChange::ResolutionReason { resolution_reason: reason };
        crate::crm::put_case_change(&tx, branch, case_ref, now, &change).map_err(storage)?;
    }
    tx.commit().map_err(storage)?;
    Ok(case_of(&visit, Some(&notes), policy, now))
}

fn storage(e: rusqlite::Error) -> CaseError {
    CaseError::Storage(e.to_string())
}

/// A case's visit and what staff wrote on it, inside the transaction that changes it.
fn load(tx: &rusqlite::Transaction<'_>, case_ref: &str) -> Result<(VisitFacts, CaseNotes), CaseError> {
    let visit = crate::reports::case_facts(tx, case_ref)
        .map_err(storage)?
        .ok_or_else(|| CaseError::Unknown(case_ref.into()))?;
    let notes = read_notes(tx, case_ref).map_err(storage)?.unwrap_or_default();
    Ok((visit, notes))
}

/// Applies a staff member's change to a case, in one transaction (with, when the branch has a
/// CRM connector, the change's entry in its outbox: `outbox` is the branch id, and the audit
/// entry with the fields before and after); returns the case. The visitor is stored with its
/// keyed hash (`key`), which is what matching their earlier visits uses.
#[allow(clippy::too_many_arguments)]
pub fn update(
    conn: &mut Connection,
    case_ref: &str,
    change: &CaseUpdate,
    staff: &str,
    policy: CasePolicy,
    outbox: Option<&str>,
    key: &crate::privacy::VisitorKey,
    now: DateTime<Utc>,
) -> Result<Case, CaseError> {
    let change = change.checked()?;
    let tx = conn.transaction().map_err(storage)?;
    let (visit, before) = load(&tx, case_ref)?;
    let notes = change.apply(&visit, before.clone(), staff, now)?;
    let visitor_hash = notes
        .visitor
        .as_deref()
        .map(|v| key.hash(&crate::privacy::person::canonical(v).ok().flatten().unwrap_or_else(|| v.to_string())));
    tx.execute(
        "INSERT INTO case_notes (case_ref, category, notes, closed_at, closed_by, updated_at, updated_by, visitor, visitor_hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)
         ON CONFLICT (case_ref) DO UPDATE SET category = ?2, notes = ?3, closed_at = ?4, closed_by = ?5,
             updated_at = ?6, updated_by = ?7, visitor = ?8, visitor_hash = ?9",
        params![
            case_ref,
            notes.category,
            notes.notes,
            notes.closed_at.map(ts),
            notes.closed_by,
            ts(now),
            staff,
            notes.visitor,
            visitor_hash
        ],
    )
    .map_err(storage)?;
    let (was, is) = change::audit_fields(&before, &notes, |text| key.fingerprint(text));
    let entry = crate::audit::NewEntry {
        before: was,
        after: is,
        ..crate::audit::NewEntry::new(now, staff, crate::audit::AuditAction::CaseEdited).subject(case_ref)
    };
    crate::audit::record(&tx, &entry).map_err(storage)?;
    if let Some(branch) = outbox {
        let change = CaseChange::Noted(CaseNoted {
            category: notes.category.clone(),
            notes: notes.notes.clone(),
            closed_at: notes.closed_at,
            closed_by: notes.closed_by.clone(),
            by: staff.to_string(),
        });
        crate::crm::put_case_change(&tx, branch, case_ref, now, &change).map_err(storage)?;
    }
    tx.commit().map_err(storage)?;
    Ok(case_of(&visit, Some(&notes), policy, now))
}
