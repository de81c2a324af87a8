//! What the uplink sends, made without IO: the subject and message id of an event, the event's
//! body (the live ticket page's secret token blanked: it never leaves the branch), a case
//! change's, and the live-state keys.
use dawr_protocol::api::ministry::{UplinkCaseNote, UplinkEvent};
use serde::{Deserialize, Serialize};

use super::log::{CaseRow, LogRow};
use crate::domain::Event;

/// The JetStream subject a branch's live events go to.
pub fn event_subject(branch: &str) -> String {
    format!("dawr.v1.evt.{branch}")
}

/// The subject of a branch's catch-up: events sent while the uplink is far behind its log (after
/// an outage). The same stream holds them (so the duplicate window covers both subjects), but the
/// centre writes them with a consumer of their own: a branch's three-day backlog never queues
/// in front of other branches' live events.
pub fn catch_up_subject(branch: &str) -> String {
    format!("dawr.v1.evt.{branch}.catchup")
}

/// How many events may follow one in the log before it counts as catch-up rather than live: a
/// few minutes of a busy branch, more than any short blip of the link leaves behind.
pub const CATCH_UP_BEHIND: i64 = 256;

/// The subject of event `seq` when the log's newest is `last_seq`: live while the uplink keeps
/// up (within [`CATCH_UP_BEHIND`]), catch-up while it is further behind.
pub fn subject_for(branch: &str, seq: i64, last_seq: i64) -> String {
    if last_seq - seq > CATCH_UP_BEHIND { catch_up_subject(branch) } else { event_subject(branch) }
}

/// The JetStream subject a branch's case notes go to (stream `DAWR_CASES`, the centre's).
pub fn case_subject(branch: &str) -> String {
    format!("dawr.v1.case.{branch}")
}

/// A case change's `Nats-Msg-Id`.
pub fn case_message_id(branch: &str, log_id: &str, seq: i64) -> String {
    format!("{branch}:{log_id}:case:{seq}")
}

/// The body of one case change (the notes as they stand; never the visitor's identity).
pub fn uplink_case_note(branch: &str, log_id: &str, row: &CaseRow) -> UplinkCaseNote {
    UplinkCaseNote {
        branch: branch.into(),
        log_id: log_id.into(),
        seq: row.seq,
        case_ref: row.case_ref.clone(),
        category: row.category.clone(),
        notes: row.notes.clone(),
        closed_at: row.closed_at.clone(),
        closed_by: row.closed_by.clone(),
        updated_at: row.updated_at.clone(),
        updated_by: row.updated_by.clone(),
    }
}

/// `Nats-Msg-Id`: JetStream drops a second message with the same id (within its window), and
/// the centre's key `(branch, log_id, seq)` drops it after that.
pub fn message_id(branch: &str, log_id: &str, seq: i64) -> String {
    format!("{branch}:{log_id}:{seq}")
}

/// A `dawr_live` key of a branch: `{branch}.{part}`.
pub fn live_key(branch: &str, part: &str) -> String {
    format!("{branch}.{part}")
}

/// An event as stored: the event and who was signed in.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    event: Event,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    staff: Option<String>,
}

/// The body of one log row. A payload the hub cannot read goes as it is (the centre keeps it).
pub fn uplink_event(branch: &str, log_id: &str, row: &LogRow) -> UplinkEvent {
    let payload = match serde_json::from_str::<Stored>(&row.payload) {
        Ok(mut stored) => {
            if let Event::Issued { visit } = &mut stored.event {
                visit.token.clear();
            }
            serde_json::to_value(&stored).unwrap_or(serde_json::Value::Null)
        }
        Err(_) => serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::String(row.payload.clone())),
    };
    UplinkEvent {
        branch: branch.into(),
        log_id: log_id.into(),
        seq: row.seq,
        at: row.at.clone(),
        kind: row.kind.clone(),
        visit_id: row.visit_id,
        counter: row.counter.clone(),
        payload,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_issued_event_leaves_without_its_ticket_token_and_keeps_the_rest() {
        use dawr_protocol::api::{Priority, Source, TicketStatus};
        let at = chrono::Utc::now();
        let visit = crate::domain::Visit {
            id: 7,
            number: "A007".into(),
            local_day: at.date_naive(),
            service: "A".into(),
            priority: Priority::Normal,
            source: Source::WalkIn,
            status: TicketStatus::Waiting,
            case_ref: "DMM-1".into(),
            token: "secret".into(),
            issued_at: at,
            appointment_at: None,
            counter: None,
            target_counter: None,
            called_at: None,
            started_at: None,
            ended_at: None,
            recalls: 0,
            transfers: 0,
            outcome: None,
            transfer_note: None,
            rating: None,
            rating_reason: None,
            arrived_at: None,
            held_at: None,
        };
        let stored = Stored { event: Event::Issued { visit: Box::new(visit) }, staff: None };
        let row = LogRow {
            seq: 9,
            at: "2026-11-23T05:00:00.000Z".into(),
            kind: "issued".into(),
            visit_id: Some(7),
            counter: None,
            payload: serde_json::to_string(&stored).unwrap(),
        };
        let sent = uplink_event("b1", "L", &row);
        let back: Stored = serde_json::from_value(sent.payload.clone()).unwrap();
        let Event::Issued { visit } = back.event else { panic!("still an issue") };
        assert_eq!((visit.token.as_str(), visit.number.as_str(), visit.id), ("", "A007", 7));
        assert_eq!((sent.seq, sent.branch.as_str(), sent.kind.as_str()), (9, "b1", "issued"));
        assert_eq!(message_id("b1", "L", 9), "b1:L:9");
        assert_eq!(event_subject("b1"), "dawr.v1.evt.b1");
    }

    #[test]
    fn an_event_far_behind_the_log_goes_as_catch_up_and_a_recent_one_as_live() {
        assert_eq!(subject_for("b1", 10, 10), "dawr.v1.evt.b1");
        assert_eq!(subject_for("b1", 10, 10 + CATCH_UP_BEHIND), "dawr.v1.evt.b1");
        assert_eq!(subject_for("b1", 10, 11 + CATCH_UP_BEHIND), "dawr.v1.evt.b1.catchup");
    }

    #[test]
    fn the_staff_member_travels_with_the_event() {
        let row = LogRow {
            seq: 2,
            at: "2026-11-23T05:00:00.000Z".into(),
            kind: "called".into(),
            visit_id: Some(1),
            counter: Some("3".into()),
            payload: r#"{"kind":"called","visit":1,"counter":"3","out_of_order_reason":null,"staff":"s101"}"#.into(),
        };
        let sent = uplink_event("b1", "L", &row);
        let back: Stored = serde_json::from_value(sent.payload).unwrap();
        assert_eq!(back.staff.as_deref(), Some("s101"));
    }
}
