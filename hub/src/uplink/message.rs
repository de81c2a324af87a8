//! What the uplink sends, made without IO: the subject and message id of an event, the event's
//! body (the live ticket page's secret token blanked: it never leaves the branch), and the
//! live-state keys.
use dawr_protocol::api::ministry::UplinkEvent;
use serde::{Deserialize, Serialize};

use super::log::LogRow;
use crate::domain::Event;

/// The JetStream subject a branch's events go to.
pub fn event_subject(branch: &str) -> String {
    format!("dawr.v1.evt.{branch}")
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
