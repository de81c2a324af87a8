//! The cases' queries: what staff wrote on a case or on a range of days' cases (`case_notes`),
//! and a visitor's earlier visits. Reads only; the cases themselves are derived by [`case_of`](super::case_of).
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, params};

use super::{Case, CaseNotes, EarlierVisit, case_of};
use crate::domain::CasePolicy;

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

/// What staff wrote on some cases (those with notes), by reference.
pub fn notes_for_cases<'a>(
    conn: &Connection,
    case_refs: impl IntoIterator<Item = &'a str>,
) -> rusqlite::Result<std::collections::HashMap<String, CaseNotes>> {
    let mut notes = std::collections::HashMap::new();
    for case_ref in case_refs {
        if let Some(n) = read_notes(conn, case_ref)? {
            notes.insert(case_ref.to_string(), n);
        }
    }
    Ok(notes)
}

/// The visitor's other cases that `keep` lets through (newest first, at most `limit`), when the
/// case names its visitor (or did, within `[retention] visitor_match_days`): matched by the
/// visitor's keyed hash.
pub fn earlier_visits(
    conn: &Connection,
    case: &Case,
    policy: CasePolicy,
    now: DateTime<Utc>,
    limit: usize,
    keep: impl Fn(&crate::reports::VisitFacts) -> bool,
) -> rusqlite::Result<Vec<EarlierVisit>> {
    // Matched by the keyed hash, which outlives the plain ID (see `crate::privacy`).
    let refs: Vec<String> = conn
        .prepare_cached(
            "SELECT n.case_ref FROM case_notes n JOIN visits v ON v.case_ref = n.case_ref
             WHERE n.visitor_hash = (SELECT visitor_hash FROM case_notes WHERE case_ref = ?1)
               AND n.case_ref <> ?1 ORDER BY v.id DESC",
        )?
        .query_map(params![case.case_ref], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut earlier = Vec::new();
    for case_ref in refs {
        if earlier.len() >= limit {
            break;
        }
        if let Some(visit) = crate::reports::case_facts(conn, &case_ref)?.filter(|v| keep(v)) {
            let notes = read_notes(conn, &case_ref)?;
            earlier.push(EarlierVisit::from(case_of(&visit, notes.as_ref(), policy, now)));
        }
    }
    Ok(earlier)
}
