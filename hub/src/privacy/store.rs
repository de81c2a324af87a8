//! The personal data's SQL: the retention [`purge`], a person's [`export`] and [`erase`], and
//! [`fill_in_hashes`] for visitors written before the hash existed. Each change runs in one
//! transaction with its audit entry.
//!
//! How personal data leaves an event log that reports are computed from: the visitor and the
//! case notes were never in the log (they live in `case_notes`, a side table keyed by case), so
//! they are nulled there. The one personal field inside the log is a transfer's free-text `note`
//! (and a call's `out_of_order_reason`); those events are rewritten in place with the field set
//! to `null` (`json_set`), keeping their sequence, kind, time, visit and counter, which is all
//! the reports read. The same fields are nulled in `visits.transfer_note` and in the CRM outbox's
//! copies of the events. Held bookings are left alone: they hold no personal field (a code, a
//! slot, what happened; the summary counts their check-ins and no-shows), and the person behind
//! a code is removed on the appointments site at the same retention.
use chrono::{DateTime, Utc};
use dawr_protocol::api::privacy::{ErasureReport, PersonalDataExport, TransferNote};
use rusqlite::{Connection, Transaction, params};

use super::{Cutoffs, VisitorKey};
use crate::audit::{self, AuditAction, NewEntry};
use crate::cases::{self, Case};
use crate::domain::CasePolicy;
use crate::store::ts;

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PurgeCounts {
    /// Cases whose visitor in clear and notes were removed.
    pub cases: usize,
    /// Cases whose visitor hash was removed.
    pub hashes: usize,
    /// Events whose free-text note or reason was removed.
    pub events: usize,
    /// Visits whose transfer note was removed.
    pub transfer_notes: usize,
    /// SMS whose mobile and text were removed, and tickets that no longer name a mobile.
    pub sms: crate::sms::personal::SmsRemoved,
    /// Remote tickets and one-time join codes that no longer name a mobile.
    pub remote_joins: usize,
}

/// Nulls a transfer's note and a call's out-of-order reason in events before `before`, or of the
/// cases in `only` (a JSON array of case references) when given.
fn scrub_events(tx: &Transaction<'_>, before: &str, only: Option<&str>) -> rusqlite::Result<usize> {
    let mut changed = 0;
    for (kind, field) in [("transferred", "$.note"), ("called", "$.out_of_order_reason")] {
        changed += tx.execute(
            "UPDATE events SET payload = json_set(payload, ?2, NULL)
             WHERE kind = ?1 AND at < ?3 AND json_extract(payload, ?2) IS NOT NULL
               AND (?4 IS NULL OR visit_id IN (SELECT id FROM visits WHERE case_ref IN (SELECT value FROM json_each(?4))))",
            params![kind, field, before, only],
        )?;
        let outbox_field = format!("$.event{}", &field[1..]);
        tx.execute(
            "UPDATE crm_outbox SET body = json_set(body, ?2, NULL)
             WHERE kind = ?1 AND at < ?3 AND json_extract(body, ?2) IS NOT NULL
               AND (?4 IS NULL OR case_ref IN (SELECT value FROM json_each(?4)))",
            params![kind, outbox_field, before, only],
        )?;
    }
    tx.execute(
        "UPDATE crm_outbox SET body = json_set(body, '$.event.notes', '')
         WHERE kind = 'case_noted' AND at < ?1 AND json_extract(body, '$.event.notes') <> ''
           AND (?2 IS NULL OR case_ref IN (SELECT value FROM json_each(?2)))",
        params![before, only],
    )?;
    Ok(changed)
}

/// Makes SQLite zero the space removed content leaves in the file (`secure_delete`), so a
/// removed ID is not left readable in a free part of a page.
fn overwrite_what_is_removed(conn: &Connection) -> rusqlite::Result<()> {
    conn.pragma_update(None, "secure_delete", true)
}

/// Removes what retention no longer allows (see the module's text), at `now`; records a
/// `retention_purge` audit entry with the counts.
pub fn purge(conn: &mut Connection, cutoffs: Cutoffs, now: DateTime<Utc>) -> rusqlite::Result<PurgeCounts> {
    overwrite_what_is_removed(conn)?;
    let tx = conn.transaction()?;
    let personal = ts(cutoffs.personal);
    let matching = ts(cutoffs.matching);
    let cases = tx.execute(
        "UPDATE case_notes SET visitor = NULL, notes = '', purged_at = ?2
         WHERE (visitor IS NOT NULL OR notes <> '') AND updated_at < ?1
           AND case_ref IN (SELECT case_ref FROM visits WHERE issued_at < ?1)",
        params![personal, ts(now)],
    )?;
    let hashes = tx.execute(
        "UPDATE case_notes SET visitor_hash = NULL
         WHERE visitor_hash IS NOT NULL AND updated_at < ?1
           AND case_ref IN (SELECT case_ref FROM visits WHERE issued_at < ?1)",
        params![matching],
    )?;
    let transfer_notes = tx.execute(
        "UPDATE visits SET transfer_note = NULL
         WHERE transfer_note IS NOT NULL AND issued_at < ?1 AND status NOT IN ('waiting', 'called', 'serving')",
        params![personal],
    )?;
    let events = scrub_events(&tx, &personal, None)?;
    let sms = crate::sms::personal::purge(&tx, cutoffs.personal)?;
    let remote_joins = crate::join::store::purge_mobiles(&tx, cutoffs.personal)?;
    let counts = PurgeCounts { cases, hashes, events, transfer_notes, sms, remote_joins };
    let entry = NewEntry::new(now, audit::SYSTEM, AuditAction::RetentionPurge)
        .after("before", ts(cutoffs.personal))
        .after("cases", cases)
        .after("hashes", hashes)
        .after("events", events)
        .after("transfer_notes", transfer_notes)
        .after("sms_messages", sms.messages)
        .after("sms_tickets", sms.tickets)
        .after("remote_joins", remote_joins);
    audit::record(&tx, &entry)?;
    tx.commit()?;
    Ok(counts)
}

/// The case references whose visitor is `person` (canonical form), by its keyed hash.
fn cases_of_person(conn: &Connection, key: &VisitorKey, person: &str) -> rusqlite::Result<Vec<String>> {
    conn.prepare_cached(
        "SELECT n.case_ref FROM case_notes n JOIN visits v ON v.case_ref = n.case_ref
         WHERE n.visitor_hash = ?1 ORDER BY v.id",
    )?
    .query_map(params![key.hash(person)], |r| r.get(0))?
    .collect()
}

fn json_list(refs: &[String]) -> String {
    serde_json::to_string(refs).expect("strings serialise")
}

/// Every case that names `person` (canonical form), with the transfer notes of those visits;
/// records who exported it.
pub fn export(
    conn: &mut Connection,
    key: &VisitorKey,
    person: &str,
    manager: &str,
    policy: CasePolicy,
    now: DateTime<Utc>,
) -> rusqlite::Result<PersonalDataExport> {
    let tx = conn.transaction()?;
    let refs = cases_of_person(&tx, key, person)?;
    let mut found: Vec<Case> = Vec::new();
    for case_ref in &refs {
        if let Some(visit) = crate::reports::case_facts(&tx, case_ref)? {
            let notes = cases::read_notes(&tx, case_ref)?;
            found.push(cases::case_of(&visit, notes.as_ref(), policy, now));
        }
    }
    let transfer_notes = tx
        .prepare_cached(
            "SELECT v.case_ref, e.at, json_extract(e.payload, '$.note') FROM events e JOIN visits v ON v.id = e.visit_id
             WHERE e.kind = 'transferred' AND json_extract(e.payload, '$.note') IS NOT NULL
               AND v.case_ref IN (SELECT value FROM json_each(?1)) ORDER BY e.seq",
        )?
        .query_map(params![json_list(&refs)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get(2)?)))?
        .map(|row| {
            let (case_ref, at, note) = row?;
            let at = dawr_web::db::parse_ts("events.at", &at)
                .map_err(|e| rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Text, e.into()))?;
            Ok(TransferNote { case_ref, at, note })
        })
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let sms = crate::sms::personal::export(&tx, person)?;
    let entry = NewEntry::new(now, manager, AuditAction::PersonalDataExported)
        .subject(key.fingerprint(person))
        .after("cases", found.len())
        .after("transfer_notes", transfer_notes.len())
        .after("sms_messages", sms.messages.len());
    audit::record(&tx, &entry)?;
    tx.commit()?;
    Ok(PersonalDataExport { exported_at: now, cases: found, transfer_notes, sms })
}

/// Removes `person`'s visitor ID (clear and hashed), the notes of their cases and the transfer
/// notes of their visits (everywhere they are held: `case_notes`, `visits`, the event log, the
/// CRM outbox); the visits stay for the reports. Records who erased it.
pub fn erase(
    conn: &mut Connection,
    key: &VisitorKey,
    person: &str,
    manager: &str,
    now: DateTime<Utc>,
) -> rusqlite::Result<ErasureReport> {
    overwrite_what_is_removed(conn)?;
    let tx = conn.transaction()?;
    let refs = cases_of_person(&tx, key, person)?;
    let list = json_list(&refs);
    let cases = tx.execute(
        "UPDATE case_notes SET visitor = NULL, visitor_hash = NULL, notes = '', purged_at = ?2
         WHERE case_ref IN (SELECT value FROM json_each(?1))",
        params![list, ts(now)],
    )?;
    let transfer_notes = tx.execute(
        "UPDATE visits SET transfer_note = NULL
         WHERE transfer_note IS NOT NULL AND case_ref IN (SELECT value FROM json_each(?1))",
        params![list],
    )?;
    let far = "9999-12-31T23:59:59.999Z";
    let events = scrub_events(&tx, far, Some(&list))?;
    let sms = crate::sms::personal::erase(&tx, person, now)?;
    let remote_joins = match crate::sms::personal::mobile_of(person) {
        Some(mobile) => crate::join::store::erase_mobile(&tx, mobile)?,
        None => 0,
    };
    let report = ErasureReport {
        remote_joins: remote_joins as u32,
        cases: cases as u32,
        transfer_notes: events.max(transfer_notes) as u32,
        sms_messages: sms.messages as u32,
        sms_tickets: sms.tickets as u32,
    };
    let entry = NewEntry::new(now, manager, AuditAction::PersonalDataErased)
        .subject(key.fingerprint(person))
        .after("cases", report.cases)
        .after("transfer_notes", report.transfer_notes)
        .after("sms_messages", report.sms_messages);
    audit::record(&tx, &entry)?;
    tx.commit()?;
    Ok(report)
}

/// Computes the keyed hash of every visitor stored in clear without one (cases written before
/// the hash existed); returns how many.
pub fn fill_in_hashes(conn: &mut Connection, key: &VisitorKey) -> rusqlite::Result<usize> {
    let tx = conn.transaction()?;
    let missing: Vec<(String, String)> = tx
        .prepare("SELECT case_ref, visitor FROM case_notes WHERE visitor IS NOT NULL AND visitor_hash IS NULL")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    for (case_ref, visitor) in &missing {
        let canonical = super::person::canonical(visitor).ok().flatten().unwrap_or_else(|| visitor.clone());
        tx.execute(
            "UPDATE case_notes SET visitor_hash = ?2 WHERE case_ref = ?1",
            params![case_ref, key.hash(&canonical)],
        )?;
    }
    tx.commit()?;
    Ok(missing.len())
}
