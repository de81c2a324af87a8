//! The SMS outbox under PDPL: a mobile and the texts sent to it are personal data. The retention
//! purge blanks the mobile and the text of messages older than `[retention] personal_data_days`
//! (the row stays, without them, for the monthly counts and costs) and forgets which tickets gave
//! a mobile; a person's export lists what is held for their mobile; their erasure blanks it at
//! once (an unsent message ends as failed). An opt-out (STOP) is kept through both: it is what
//! keeps the person from being texted again, so it is exported, never erased.
use chrono::{DateTime, Utc};
use dawr_protocol::api::privacy::{ExportedSms, SmsPersonalData, SmsTicket};
use rusqlite::{Connection, params};

use crate::store::ts;

/// What a purge or an erasure removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SmsRemoved {
    /// Messages whose mobile and text were blanked.
    pub messages: usize,
    /// Tickets that no longer name a mobile.
    pub tickets: usize,
}

/// The mobile of a person (canonical form, see `privacy::person`), when the person is one.
pub fn mobile_of(person: &str) -> Option<&str> {
    (person.starts_with("+9665") && person.len() == 13).then_some(person)
}

/// Blanks messages created before `before` that are no longer being sent, and forgets the
/// tickets that gave a mobile before it.
pub fn purge(conn: &Connection, before: DateTime<Utc>) -> rusqlite::Result<SmsRemoved> {
    let before = ts(before);
    let messages = conn.execute(
        "UPDATE sms_outbox SET mobile = '', body = ''
         WHERE created_at < ?1 AND (mobile <> '' OR body <> '') AND state NOT IN ('queued', 'sending')",
        params![before],
    )?;
    let tickets = conn.execute("DELETE FROM sms_subscriptions WHERE created_at < ?1", params![before])?;
    Ok(SmsRemoved { messages, tickets })
}

/// Everything held for `person`'s mobile (empty when the person is an ID number).
pub fn export(conn: &Connection, person: &str) -> rusqlite::Result<SmsPersonalData> {
    let Some(mobile) = mobile_of(person) else { return Ok(SmsPersonalData::default()) };
    let messages = conn
        .prepare_cached(
            "SELECT message_id, kind, body, state, created_at FROM sms_outbox WHERE mobile = ?1 ORDER BY id",
        )?
        .query_map(params![mobile], |r| {
            Ok(ExportedSms {
                message_id: r.get(0)?,
                kind: r.get(1)?,
                text: r.get(2)?,
                state: r.get(3)?,
                created_at: r.get(4)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let tickets = conn
        .prepare_cached(
            "SELECT v.number, s.lang, s.created_at FROM sms_subscriptions s JOIN visits v ON v.id = s.visit_id
             WHERE s.mobile = ?1 ORDER BY s.visit_id",
        )?
        .query_map(params![mobile], |r| Ok(SmsTicket { number: r.get(0)?, lang: r.get(1)?, created_at: r.get(2)? }))?
        .collect::<rusqlite::Result<_>>()?;
    let opted_out_at = conn
        .prepare_cached("SELECT at FROM sms_opt_outs WHERE mobile = ?1")?
        .query_map(params![mobile], |r| r.get(0))?
        .next()
        .transpose()?;
    let (remote_tickets, join_codes_sent_at) = crate::join::store::export_of(conn, mobile)?;
    Ok(SmsPersonalData { messages, tickets, opted_out_at, remote_tickets, join_codes_sent_at })
}

/// Blanks every message to `person`'s mobile (unsent ones end as failed) and forgets the
/// tickets that gave it; the opt-out stays.
pub fn erase(conn: &Connection, person: &str, now: DateTime<Utc>) -> rusqlite::Result<SmsRemoved> {
    let Some(mobile) = mobile_of(person) else { return Ok(SmsRemoved::default()) };
    let messages = conn.execute(
        "UPDATE sms_outbox SET mobile = '', body = '',
             last_error = CASE WHEN state IN ('queued', 'sending') THEN 'erased at the person''s request' ELSE last_error END,
             done_at = CASE WHEN state IN ('queued', 'sending') THEN ?2 ELSE done_at END,
             state = CASE WHEN state IN ('queued', 'sending') THEN 'failed' ELSE state END
         WHERE mobile = ?1",
        params![mobile, ts(now)],
    )?;
    let tickets = conn.execute("DELETE FROM sms_subscriptions WHERE mobile = ?1", params![mobile])?;
    Ok(SmsRemoved { messages, tickets })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sms::outbox;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        (dir, conn)
    }

    #[test]
    fn old_texts_are_blanked_a_persons_are_exported_and_erased_and_stop_stays() {
        let (_dir, conn) = db();
        let t0: DateTime<Utc> = "2026-08-01T08:00:00Z".parse().unwrap();
        let later = t0 + chrono::Duration::days(100);
        let old = outbox::put(&conn, "demo", "+966501234567", "near", "3 ahead of A017", t0).unwrap().unwrap();
        let first = outbox::due(&conn, t0, 10).unwrap()[0].clone();
        outbox::mark_sending(&conn, first.id, t0).unwrap();
        outbox::mark_submitted(&conn, first.id, &["g1".into()], t0).unwrap();
        outbox::put(&conn, "demo", "+966501234567", "called", "go to counter 2", later).unwrap();
        outbox::put(&conn, "demo", "+966507654321", "test", "hello", later).unwrap();
        outbox::opt_out(&conn, "+966507654321", later).unwrap();

        let held = export(&conn, "+966501234567").unwrap();
        let texts: Vec<&str> = held.messages.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["3 ahead of A017", "go to counter 2"]);
        assert_eq!(held.messages[0].message_id, old);
        assert_eq!(export(&conn, "1012345678").unwrap(), SmsPersonalData::default(), "an ID has no SMS");
        assert_eq!(export(&conn, "+966507654321").unwrap().opted_out_at.as_deref(), Some(ts(later).as_str()));

        // 90 days after the first: it loses its mobile and text; the newer ones stay.
        let removed = purge(&conn, later - chrono::Duration::days(90)).unwrap();
        assert_eq!(removed.messages, 1);
        let held = export(&conn, "+966501234567").unwrap();
        assert_eq!(held.messages.len(), 1);
        assert_eq!(held.messages[0].text, "go to counter 2");
        let blank: (String, String, String) = conn
            .query_row("SELECT mobile, body, state FROM sms_outbox WHERE message_id = ?1", [&old], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .unwrap();
        assert_eq!(blank, (String::new(), String::new(), "submitted".into()), "the row stays for the counts");

        // The erasure: the queued message ends; the opt-out stays.
        let erased = erase(&conn, "+966501234567", later).unwrap();
        assert_eq!(erased.messages, 1);
        assert!(export(&conn, "+966501234567").unwrap().messages.is_empty());
        assert!(outbox::due(&conn, later, 10).unwrap().is_empty(), "nothing left to send");
        assert_eq!(erase(&conn, "+966507654321", later).unwrap().messages, 1);
        assert!(outbox::is_opted_out(&conn, "+966507654321").unwrap(), "STOP stays honoured");
    }
}
