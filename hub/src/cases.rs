//! CRM cases: every ticket opens one (its reference is printed on the ticket), and the case
//! follows the visit.
//!
//! What happened — the steps, the counter, the outcome, the exit rating — comes from the event
//! log ([`crate::reports::case_facts`]); what staff write — a category, notes, and closing a case
//! that was left open — is kept in `case_notes`. [`Case::of`] combines the two (pure):
//! - a visit still in the queue or at a counter is a case `in_progress`;
//! - a visit completed with the outcome `follow_up` or `referred` leaves the case `open`, due
//!   `[cases] resolution_target_h` after the visit, until staff close it;
//! - anything else (resolved, no-show, cancelled) is `closed`;
//! - an exit rating of 1 or 2 opens an **escalation** on the case at the rating (whether or not
//!   a reason follows), due `[cases] escalation_target_h` after the rating, until the case is
//!   closed by staff.
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::domain::CasePolicy;
use crate::reports::{Ending, VisitFacts};
use crate::store::ts;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    InProgress,
    Open,
    Closed,
}

/// What staff wrote on a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseNotes {
    pub category: Option<String>,
    /// The visitor's national ID / iqama number or mobile, when they gave it.
    pub visitor: Option<String>,
    pub notes: String,
    pub closed_at: Option<DateTime<Utc>>,
    pub closed_by: Option<String>,
    pub updated_at: Option<DateTime<Utc>>,
    pub updated_by: Option<String>,
    /// The visitor's second rating (1–5), of how a case left open was resolved.
    pub resolution_rating: Option<u8>,
    /// Why, when that rating was low and the visitor said (after the score, which stands alone).
    pub resolution_reason: Option<String>,
}

/// A low exit rating, to be answered by a manager.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Escalation {
    pub at: DateTime<Utc>,
    pub score: u8,
    /// Why, or `no_reason_given` (the score is recorded at the tap; the reason may never come).
    pub reason: String,
    pub due_at: DateTime<Utc>,
    /// Still unanswered (the case is not closed).
    pub open: bool,
    pub overdue: bool,
}

/// One visit's case.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Case {
    pub case_ref: String,
    pub ticket: String,
    pub service: String,
    /// `walk_in` or `appointment`.
    pub source: String,
    pub issued_at: DateTime<Utc>,
    pub first_called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub counter: Option<String>,
    /// The staff member who served the visit, if one was signed in.
    pub staff: Option<String>,
    pub outcome: Option<String>,
    pub status: CaseStatus,
    /// When an open case is due (absent for other cases).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub due_at: Option<DateTime<Utc>>,
    pub overdue: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escalation: Option<Escalation>,
    pub rating: Option<u8>,
    #[serde(flatten)]
    pub notes: CaseNotes,
}

impl Case {
    /// The case of a visit, at `now`.
    pub fn of(visit: &VisitFacts, notes: Option<&CaseNotes>, policy: CasePolicy, now: DateTime<Utc>) -> Case {
        let notes = notes.cloned().unwrap_or_default();
        let closed_by_staff = notes.closed_at.is_some();
        let left_open = matches!(visit.outcome.as_deref(), Some("follow_up" | "referred"));
        let status = match visit.ending {
            Ending::Open => CaseStatus::InProgress,
            Ending::Served if left_open && !closed_by_staff => CaseStatus::Open,
            _ => CaseStatus::Closed,
        };
        let due_at = (status == CaseStatus::Open)
            .then(|| visit.ended_at.map(|e| e + chrono::Duration::seconds(i64::from(policy.resolution_target_s))))
            .flatten();
        let escalation = match (visit.rating, visit.rated_at) {
            (Some(score), Some(at)) if crate::reports::is_low(score) => {
                let due_at = at + chrono::Duration::seconds(i64::from(policy.escalation_target_s));
                let open = !closed_by_staff;
                Some(Escalation {
                    at,
                    score,
                    reason: visit.rating_reason.clone().unwrap_or_else(|| crate::reports::NO_REASON_GIVEN.into()),
                    due_at,
                    open,
                    overdue: open && now > due_at,
                })
            }
            _ => None,
        };
        Case {
            case_ref: visit.case_ref.clone(),
            ticket: visit.number.clone(),
            service: visit.service.clone(),
            source: visit.source.clone(),
            issued_at: visit.issued_at,
            first_called_at: visit.first_called_at,
            started_at: visit.started_at,
            ended_at: visit.ended_at,
            counter: visit.counter.clone(),
            staff: visit.staff.clone(),
            outcome: visit.outcome.clone(),
            status,
            overdue: due_at.is_some_and(|d| now > d),
            due_at,
            escalation,
            rating: visit.rating,
            notes,
        }
    }
}

impl Case {
    /// When the case closed: at the end of its visit, or when staff closed a case left open.
    pub fn closed_at(&self) -> Option<DateTime<Utc>> {
        match self.status {
            CaseStatus::Closed => self.notes.closed_at.or(self.ended_at),
            _ => None,
        }
    }

    /// Whether the case was still open (in progress or left open) at `at`.
    pub fn open_at(&self, at: DateTime<Utc>) -> bool {
        self.issued_at <= at && self.closed_at().is_none_or(|closed| closed > at)
    }
}

/// A month's cases, as the ministries' monthly tables count them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct MonthCases {
    pub opened: usize,
    pub closed: usize,
    pub open_at_end: usize,
}

/// Cases opened and closed from `start` to `end` (exclusive), and those open at `end`, among
/// `cases` (which must include every case opened up to `end` that matters).
pub fn month(cases: &[Case], start: DateTime<Utc>, end: DateTime<Utc>) -> MonthCases {
    let within = |t: DateTime<Utc>| start <= t && t < end;
    MonthCases {
        opened: cases.iter().filter(|c| within(c.issued_at)).count(),
        closed: cases.iter().filter(|c| c.closed_at().is_some_and(within)).count(),
        open_at_end: cases.iter().filter(|c| c.open_at(end)).count(),
    }
}

/// How many cases are in each state (for the dashboard).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CaseCounts {
    pub in_progress: usize,
    pub open: usize,
    pub closed: usize,
    pub overdue: usize,
    pub escalations_open: usize,
    pub escalations_overdue: usize,
}

pub fn count(cases: &[Case]) -> CaseCounts {
    let mut counts = CaseCounts::default();
    for case in cases {
        match case.status {
            CaseStatus::InProgress => counts.in_progress += 1,
            CaseStatus::Open => counts.open += 1,
            CaseStatus::Closed => counts.closed += 1,
        }
        counts.overdue += usize::from(case.overdue);
        if let Some(e) = &case.escalation {
            counts.escalations_open += usize::from(e.open);
            counts.escalations_overdue += usize::from(e.overdue);
        }
    }
    counts
}

fn time(text: Option<String>) -> Option<DateTime<Utc>> {
    text.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|d| d.with_timezone(&Utc))
}

/// What staff wrote on one case.
pub fn read_notes(conn: &Connection, case_ref: &str) -> rusqlite::Result<Option<CaseNotes>> {
    conn.prepare_cached(
        "SELECT category, notes, closed_at, closed_by, updated_at, updated_by, resolution_rating, visitor,
                resolution_reason
         FROM case_notes WHERE case_ref = ?1",
    )?
    .query_row(params![case_ref], |row| {
        Ok(CaseNotes {
            category: row.get(0)?,
            notes: row.get(1)?,
            closed_at: time(row.get(2)?),
            closed_by: row.get(3)?,
            updated_at: time(row.get(4)?),
            updated_by: row.get(5)?,
            resolution_rating: row.get(6)?,
            visitor: row.get(7)?,
            resolution_reason: row.get(8)?,
        })
    })
    .optional()
}

/// What staff wrote on the cases of the visits issued on local days `from..=to`.
pub fn notes_for_days(
    conn: &Connection,
    from: chrono::NaiveDate,
    to: chrono::NaiveDate,
) -> rusqlite::Result<std::collections::HashMap<String, CaseNotes>> {
    let mut statement = conn.prepare_cached(
        "SELECT n.case_ref, n.category, n.notes, n.closed_at, n.closed_by, n.updated_at, n.updated_by, n.resolution_rating,
                n.visitor, n.resolution_reason
         FROM case_notes n JOIN visits v ON v.case_ref = n.case_ref WHERE v.local_day BETWEEN ?1 AND ?2",
    )?;
    let rows = statement.query_map(params![from.to_string(), to.to_string()], |row| {
        Ok((
            row.get::<_, String>(0)?,
            CaseNotes {
                category: row.get(1)?,
                notes: row.get(2)?,
                closed_at: time(row.get(3)?),
                closed_by: row.get(4)?,
                updated_at: time(row.get(5)?),
                updated_by: row.get(6)?,
                resolution_rating: row.get(7)?,
                visitor: row.get(8)?,
                resolution_reason: row.get(9)?,
            },
        ))
    })?;
    rows.collect()
}

/// The cases of some visits, with what staff wrote on them.
pub fn cases_of(
    visits: &[VisitFacts],
    notes: &std::collections::HashMap<String, CaseNotes>,
    policy: CasePolicy,
    now: DateTime<Utc>,
) -> Vec<Case> {
    visits.iter().map(|v| Case::of(v, notes.get(&v.case_ref), policy, now)).collect()
}

/// A change staff make to a case.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseUpdate {
    pub category: Option<String>,
    /// The visitor's national ID / iqama number or mobile (digits, an optional leading `+`).
    pub visitor: Option<String>,
    pub notes: Option<String>,
    /// Close a case left open (and answer its escalation).
    #[serde(default)]
    pub close: bool,
}

impl Case {
    /// Whether the visitor may now rate how their case was resolved: it was left open after the
    /// visit, staff have since closed it, and it has no such rating yet.
    pub fn asks_resolution_rating(&self) -> bool {
        matches!(self.outcome.as_deref(), Some("follow_up" | "referred"))
            && self.notes.closed_at.is_some()
            && self.notes.resolution_rating.is_none()
    }

    /// Whether the visitor may now say why their rating of the resolution was low: the score
    /// was recorded at the tap, and the reason, once, may follow it.
    pub fn asks_resolution_reason(&self) -> bool {
        self.notes.resolution_rating.is_some_and(crate::reports::is_low) && self.notes.resolution_reason.is_none()
    }
}

/// Records the visitor's rating of how their case was resolved (once); returns the case.
pub fn rate_resolution(
    conn: &mut Connection,
    case_ref: &str,
    score: u8,
    policy: CasePolicy,
    outbox: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Case, CaseError> {
    if !(1..=5).contains(&score) {
        return Err(CaseError::Invalid("the score is 1 to 5"));
    }
    let tx = conn.transaction().map_err(storage)?;
    let (visit, mut notes) = load(&tx, case_ref)?;
    if !Case::of(&visit, Some(&notes), policy, now).asks_resolution_rating() {
        return Err(CaseError::Invalid("this case asks no rating now"));
    }
    notes.resolution_rating = Some(score);
    tx.execute(
        "UPDATE case_notes SET resolution_rating = ?2, resolution_rated_at = ?3 WHERE case_ref = ?1",
        params![case_ref, score, ts(now)],
    )
    .map_err(storage)?;
    if let Some(branch) = outbox {
        let change = serde_json::json!({"resolution_rating": score});
        crate::crm::put_case_change(&tx, branch, case_ref, now, &change).map_err(storage)?;
    }
    tx.commit().map_err(storage)?;
    Ok(Case::of(&visit, Some(&notes), policy, now))
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
    if notes.resolution_reason.is_some() {
        return Err(CaseError::Invalid("this rating already has a reason"));
    }
    if !Case::of(&visit, Some(&notes), policy, now).asks_resolution_reason() {
        return Err(CaseError::Invalid("this case has no low rating of its resolution to explain"));
    }
    let reason = crate::store::enum_text(&reason);
    notes.resolution_reason = Some(reason.clone());
    tx.execute("UPDATE case_notes SET resolution_reason = ?2 WHERE case_ref = ?1", params![case_ref, reason])
        .map_err(storage)?;
    if let Some(branch) = outbox {
        let change = serde_json::json!({"resolution_reason": reason});
        crate::crm::put_case_change(&tx, branch, case_ref, now, &change).map_err(storage)?;
    }
    tx.commit().map_err(storage)?;
    Ok(Case::of(&visit, Some(&notes), policy, now))
}

/// A visitor's ID or mobile as stored: digits (and a leading `+`), spaces and dashes dropped;
/// empty clears it.
fn normalize_visitor(text: &str) -> Result<Option<String>, CaseError> {
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

/// A visitor's earlier case, for the counter.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EarlierVisit {
    pub case_ref: String,
    pub ticket: String,
    pub service: String,
    pub issued_at: DateTime<Utc>,
    pub outcome: Option<String>,
    pub status: CaseStatus,
    pub category: Option<String>,
}

/// The visitor's other cases (newest first, at most `limit`), when the case names its visitor.
pub fn earlier_visits(
    conn: &Connection,
    case: &Case,
    policy: CasePolicy,
    now: DateTime<Utc>,
    limit: usize,
) -> rusqlite::Result<Vec<EarlierVisit>> {
    let Some(visitor) = &case.notes.visitor else { return Ok(Vec::new()) };
    let refs: Vec<String> = conn
        .prepare_cached(
            "SELECT n.case_ref FROM case_notes n JOIN visits v ON v.case_ref = n.case_ref
             WHERE n.visitor = ?1 AND n.case_ref <> ?2 ORDER BY v.id DESC LIMIT ?3",
        )?
        .query_map(params![visitor, case.case_ref, limit as i64], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut earlier = Vec::new();
    for case_ref in refs {
        if let Some(visit) = crate::reports::case_facts(conn, &case_ref)? {
            let notes = read_notes(conn, &case_ref)?;
            let other = Case::of(&visit, notes.as_ref(), policy, now);
            earlier.push(EarlierVisit {
                case_ref: other.case_ref,
                ticket: other.ticket,
                service: other.service,
                issued_at: other.issued_at,
                outcome: other.outcome,
                status: other.status,
                category: other.notes.category,
            });
        }
    }
    Ok(earlier)
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

/// Applies a staff member's change to a case, in one transaction (with, when the branch has a
/// CRM connector, the change's entry in its outbox: `outbox` is the branch id); returns the case.
pub fn update(
    conn: &mut Connection,
    case_ref: &str,
    change: &CaseUpdate,
    staff: &str,
    policy: CasePolicy,
    outbox: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Case, CaseError> {
    if change.category.as_ref().is_some_and(|c| c.chars().count() > 64) {
        return Err(CaseError::Invalid("category is at most 64 characters"));
    }
    if change.notes.as_ref().is_some_and(|n| n.chars().count() > 4000) {
        return Err(CaseError::Invalid("notes are at most 4000 characters"));
    }
    let visitor = change.visitor.as_deref().map(normalize_visitor).transpose()?;
    let tx = conn.transaction().map_err(storage)?;
    let (visit, mut notes) = load(&tx, case_ref)?;
    if let Some(category) = &change.category {
        notes.category = Some(category.trim().to_string()).filter(|c| !c.is_empty());
    }
    if let Some(text) = &change.notes {
        notes.notes = text.clone();
    }
    if let Some(visitor) = visitor {
        notes.visitor = visitor;
    }
    if change.close && notes.closed_at.is_none() {
        if visit.ending == Ending::Open {
            return Err(CaseError::Invalid("the visit is still in progress: complete it first"));
        }
        notes.closed_at = Some(now);
        notes.closed_by = Some(staff.to_string());
    }
    notes.updated_at = Some(now);
    notes.updated_by = Some(staff.to_string());
    tx.execute(
        "INSERT INTO case_notes (case_ref, category, notes, closed_at, closed_by, updated_at, updated_by, visitor)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (case_ref) DO UPDATE SET category = ?2, notes = ?3, closed_at = ?4, closed_by = ?5,
             updated_at = ?6, updated_by = ?7, visitor = ?8",
        params![
            case_ref,
            notes.category,
            notes.notes,
            notes.closed_at.map(ts),
            notes.closed_by,
            ts(now),
            staff,
            notes.visitor
        ],
    )
    .map_err(storage)?;
    if let Some(branch) = outbox {
        let change = serde_json::json!({
            "category": notes.category, "notes": notes.notes, "closed_at": notes.closed_at,
            "closed_by": notes.closed_by, "by": staff
        });
        crate::crm::put_case_change(&tx, branch, case_ref, now, &change).map_err(storage)?;
    }
    tx.commit().map_err(storage)?;
    Ok(Case::of(&visit, Some(&notes), policy, now))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn visit(ending: Ending, outcome: Option<&str>, rating: Option<u8>) -> VisitFacts {
        VisitFacts {
            id: 1,
            number: "A001".into(),
            case_ref: "DMM-20261123-000001".into(),
            service: "A".into(),
            local_day: "2026-11-23".into(),
            issued_at: at("2026-11-23T05:00:00Z"),
            first_called_at: Some(at("2026-11-23T05:10:00Z")),
            started_at: Some(at("2026-11-23T05:11:00Z")),
            ended_at: (ending != Ending::Open).then(|| at("2026-11-23T05:20:00Z")),
            ending,
            counter: Some("2".into()),
            outcome: outcome.map(Into::into),
            rating,
            rating_reason: rating.filter(|r| *r <= 2).map(|_| "not_resolved".into()),
            rated_at: rating.map(|_| at("2026-11-23T05:21:00Z")),
            staff: Some("s101".into()),
            source: "walk_in".into(),
        }
    }

    #[test]
    fn a_case_follows_its_visit_and_an_open_one_falls_due() {
        let policy = CasePolicy { resolution_target_s: 72 * 3600, escalation_target_s: 24 * 3600 };
        let now = at("2026-11-24T05:00:00Z");
        assert_eq!(Case::of(&visit(Ending::Open, None, None), None, policy, now).status, CaseStatus::InProgress);
        assert_eq!(
            Case::of(&visit(Ending::Served, Some("resolved"), None), None, policy, now).status,
            CaseStatus::Closed
        );
        assert_eq!(Case::of(&visit(Ending::NoShow, None, None), None, policy, now).status, CaseStatus::Closed);
        let open = Case::of(&visit(Ending::Served, Some("follow_up"), None), None, policy, now);
        assert_eq!((open.status, open.due_at), (CaseStatus::Open, Some(at("2026-11-26T05:20:00Z"))));
        assert!(!open.overdue);
        let later = Case::of(&visit(Ending::Served, Some("referred"), None), None, policy, at("2026-11-27T00:00:00Z"));
        assert!(later.overdue, "past its resolution target");
        let closed_by_staff = CaseNotes { closed_at: Some(now), ..CaseNotes::default() };
        let closed = Case::of(&visit(Ending::Served, Some("follow_up"), None), Some(&closed_by_staff), policy, now);
        assert_eq!((closed.status, closed.overdue), (CaseStatus::Closed, false));
    }

    #[test]
    fn a_month_counts_cases_opened_closed_and_still_open_at_its_end() {
        let policy = CasePolicy::default();
        let now = at("2026-12-15T00:00:00Z");
        let resolved = Case::of(&visit(Ending::Served, Some("resolved"), None), None, policy, now);
        let left_open = Case::of(&visit(Ending::Served, Some("follow_up"), None), None, policy, now);
        let closed_later = CaseNotes { closed_at: Some(at("2026-12-02T08:00:00Z")), ..CaseNotes::default() };
        let closed_in_december =
            Case::of(&visit(Ending::Served, Some("referred"), None), Some(&closed_later), policy, now);
        let cases = [resolved, left_open, closed_in_december];
        let november = month(&cases, at("2026-11-01T00:00:00Z"), at("2026-12-01T00:00:00Z"));
        assert_eq!(november, MonthCases { opened: 3, closed: 1, open_at_end: 2 });
        let december = month(&cases, at("2026-12-01T00:00:00Z"), at("2027-01-01T00:00:00Z"));
        assert_eq!(december, MonthCases { opened: 0, closed: 1, open_at_end: 1 });
    }

    #[test]
    fn a_low_rating_escalates_until_the_case_is_closed() {
        let policy = CasePolicy::default();
        let happy =
            Case::of(&visit(Ending::Served, Some("resolved"), Some(4)), None, policy, at("2026-11-23T06:00:00Z"));
        assert_eq!(happy.escalation, None);
        let unhappy =
            Case::of(&visit(Ending::Served, Some("resolved"), Some(2)), None, policy, at("2026-11-24T06:00:00Z"));
        let e = unhappy.escalation.clone().unwrap();
        assert_eq!((e.score, e.reason.as_str(), e.open, e.overdue), (2, "not_resolved", true, true));
        assert_eq!(e.due_at, at("2026-11-24T05:21:00Z"));
        let answered = CaseNotes { closed_at: Some(at("2026-11-23T09:00:00Z")), ..CaseNotes::default() };
        let done = Case::of(
            &visit(Ending::Served, Some("resolved"), Some(1)),
            Some(&answered),
            policy,
            at("2026-11-25T00:00:00Z"),
        );
        let e = done.escalation.unwrap();
        assert!(!e.open && !e.overdue);
        // A score without a reason escalates at the score, and says no reason was given.
        let walked_away = VisitFacts { rating_reason: None, ..visit(Ending::Served, Some("resolved"), Some(1)) };
        let e = Case::of(&walked_away, None, policy, at("2026-11-23T06:00:00Z")).escalation.unwrap();
        assert_eq!((e.at, e.reason.as_str(), e.open), (at("2026-11-23T05:21:00Z"), "no_reason_given", true));
        let counts = count(&[unhappy, happy]);
        assert_eq!((counts.closed, counts.escalations_open, counts.escalations_overdue), (2, 1, 1));
    }
}
