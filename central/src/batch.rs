//! A fetched batch as rows for PostgreSQL, without IO: the messages' bodies read as
//! [`UplinkEvent`]s (one that does not read is set aside, never stops the batch), and the
//! calendar months (UTC) the batch's events fall in, for their partitions.
use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use dawr_protocol::api::ministry::UplinkEvent;

/// An event ready to insert.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub event: UplinkEvent,
    pub at: DateTime<Utc>,
}

/// Why a message body is not an event the centre can store.
#[derive(Debug, thiserror::Error)]
pub enum MalformedEvent {
    #[error("not an uplink event: {0}")]
    NotAnEvent(#[from] serde_json::Error),
    #[error("event time {at:?}: {error}")]
    Time { at: String, error: chrono::ParseError },
}

/// Reads one message body; `Err` says why it is not an event.
pub fn row(body: &[u8]) -> Result<Row, MalformedEvent> {
    let event: UplinkEvent = serde_json::from_slice(body)?;
    let at = DateTime::parse_from_rfc3339(&event.at)
        .map_err(|error| MalformedEvent::Time { at: event.at.clone(), error })?;
    Ok(Row { at: at.with_timezone(&Utc), event })
}

/// The first day of each month the rows fall in.
pub fn months(rows: &[Row]) -> BTreeSet<NaiveDate> {
    rows.iter().filter_map(|r| NaiveDate::from_ymd_opt(r.at.year(), r.at.month(), 1)).collect()
}

/// The month after `month` (its partition's end).
pub fn next_month(month: NaiveDate) -> NaiveDate {
    dawr_hub::reports::next_month(month)
}

/// The partition's table name for the month starting `month`.
pub fn partition_name(month: NaiveDate) -> String {
    format!("events_y{}m{:02}", month.year(), month.month())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(seq: i64, at: &str) -> Vec<u8> {
        serde_json::to_vec(&UplinkEvent {
            branch: "b1".into(),
            log_id: "L".into(),
            seq,
            at: at.into(),
            kind: "issued".into(),
            visit_id: Some(1),
            counter: None,
            payload: serde_json::Value::Null,
        })
        .unwrap()
    }

    #[test]
    fn a_batch_across_a_month_end_needs_two_partitions() {
        let rows = [body(1, "2026-11-30T23:59:59.999Z"), body(2, "2026-12-01T00:00:00.000Z")]
            .iter()
            .map(|b| row(b).unwrap())
            .collect::<Vec<_>>();
        let months: Vec<String> = months(&rows).into_iter().map(partition_name).collect();
        assert_eq!(months, ["events_y2026m11", "events_y2026m12"]);
        assert_eq!(next_month(NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()).to_string(), "2027-01-01");
    }

    #[test]
    fn a_body_that_is_not_an_event_is_refused_with_a_reason() {
        let not_an_event = row(b"{}").unwrap_err();
        assert!(matches!(not_an_event, MalformedEvent::NotAnEvent(_)), "{not_an_event:?}");
        assert!(not_an_event.to_string().starts_with("not an uplink event: missing field"), "{not_an_event}");
        let bad_time = row(&body(1, "yesterday")).unwrap_err();
        assert!(matches!(&bad_time, MalformedEvent::Time { at, .. } if at == "yesterday"), "{bad_time:?}");
        assert!(bad_time.to_string().starts_with(r#"event time "yesterday": "#), "{bad_time}");
    }
}
