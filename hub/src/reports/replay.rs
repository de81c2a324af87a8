//! The report facts from the event log alone, without the hub's `visits` table: what the
//! centre has of a branch (its events, as published by the uplink). Pure: rows in, one
//! [`VisitFacts`] per visit out, following [`super::facts`]'s SQL rule for rule, so the centre's
//! figures for a branch-day equal the branch's (a test compares the two on the same log).
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{Ending, ReportFilter, VisitFacts};
use crate::domain::{Event, Visit};

/// One event of a branch's log, as the centre keeps it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoggedEvent {
    pub seq: i64,
    /// As stored at the branch (milliseconds).
    pub at: DateTime<Utc>,
    /// The `counter` column of the branch's log.
    pub counter: Option<String>,
    /// The stored payload (the event and who was signed in).
    pub payload: serde_json::Value,
}

#[derive(Deserialize)]
struct Stored {
    #[serde(flatten)]
    event: Event,
    #[serde(default)]
    staff: Option<String>,
}

/// A serialised enum's text (as SQLite's `json_extract` reads it).
fn text<T: serde::Serialize>(value: &T) -> Option<String> {
    match serde_json::to_value(value) {
        Ok(serde_json::Value::String(s)) => Some(s),
        _ => None,
    }
}

/// What one visit's events say, folded as the SQL's `steps` does.
#[derive(Default)]
struct Steps {
    issued: Option<Visit>,
    first_called_at: Option<DateTime<Utc>>,
    started_at: Option<DateTime<Utc>>,
    ended_at: Option<DateTime<Utc>>,
    completed_seq: Option<i64>,
    no_show_seq: Option<i64>,
    cancelled_seq: Option<i64>,
    last_counter: Option<(i64, Option<String>)>,
    outcome: Option<String>,
    rating: Option<u8>,
    rated_reason: Option<String>,
    added_reason: Option<String>,
    rated_at: Option<DateTime<Utc>>,
    ending_staff: Option<String>,
    called_staff: Option<String>,
}

fn later<T: Ord + Copy>(a: Option<T>, b: T) -> Option<T> {
    Some(a.map_or(b, |a| a.max(b)))
}

fn larger(a: Option<String>, b: Option<String>) -> Option<String> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

impl Steps {
    fn take(&mut self, seq: i64, at: DateTime<Utc>, stored: Stored) {
        let staff = stored.staff;
        match stored.event {
            Event::Issued { visit } => self.issued = Some(*visit),
            Event::Called { .. } => {
                self.first_called_at = Some(self.first_called_at.map_or(at, |c| c.min(at)));
                self.called_staff = larger(self.called_staff.take(), staff);
            }
            Event::Started { .. } => self.started_at = later(self.started_at, at),
            Event::Completed { outcome, .. } => {
                self.ended_at = later(self.ended_at, at);
                self.completed_seq = later(self.completed_seq, seq);
                self.outcome = larger(self.outcome.take(), outcome.as_ref().and_then(text));
                self.ending_staff = larger(self.ending_staff.take(), staff);
            }
            Event::NoShow { .. } => {
                self.ended_at = later(self.ended_at, at);
                self.no_show_seq = later(self.no_show_seq, seq);
                self.ending_staff = larger(self.ending_staff.take(), staff);
            }
            // A remote ticket that never checked in: a no-show without a counter.
            Event::ArrivalMissed { .. } => {
                self.ended_at = later(self.ended_at, at);
                self.no_show_seq = later(self.no_show_seq, seq);
            }
            Event::Cancelled { .. } => {
                self.ended_at = later(self.ended_at, at);
                self.cancelled_seq = later(self.cancelled_seq, seq);
            }
            Event::Transferred { to_service: Some(service), .. } => {
                if let Some(visit) = &mut self.issued {
                    visit.service = service;
                }
            }
            Event::Rated { score, reason, .. } => {
                self.rating = later(self.rating, score);
                self.rated_reason = larger(self.rated_reason.take(), reason.as_ref().and_then(text));
                self.rated_at = later(self.rated_at, at);
            }
            Event::RatingReasonAdded { reason, .. } => {
                self.added_reason = larger(self.added_reason.take(), text(&reason));
            }
            _ => {}
        }
    }

    fn facts(self) -> Option<VisitFacts> {
        let visit = self.issued?;
        let ending = match (self.completed_seq, self.no_show_seq, self.cancelled_seq) {
            (Some(c), n, _) if c >= n.unwrap_or(0) => Ending::Served,
            (_, Some(_), _) => Ending::NoShow,
            (_, _, Some(_)) => Ending::Cancelled,
            _ => Ending::Open,
        };
        Some(VisitFacts {
            id: visit.id as i64,
            number: visit.number,
            case_ref: visit.case_ref,
            service: visit.service,
            local_day: visit.local_day.to_string(),
            issued_at: to_millis(visit.issued_at),
            first_called_at: self.first_called_at,
            started_at: self.started_at,
            ended_at: self.ended_at,
            ending,
            counter: self.last_counter.and_then(|(_, c)| c),
            outcome: self.outcome,
            rating: self.rating,
            rating_reason: self.rated_reason.or(self.added_reason),
            rated_at: self.rated_at,
            staff: self.ending_staff.or(self.called_staff),
            source: text(&visit.source).unwrap_or_default(),
        })
    }
}

/// A time as the branch's log stores it: to the millisecond.
fn to_millis(at: DateTime<Utc>) -> DateTime<Utc> {
    let text = crate::store::ts(at);
    DateTime::parse_from_rfc3339(&text).map(|t| t.with_timezone(&Utc)).unwrap_or(at)
}

/// The visits of `filter` (issued on its local days, of its service and counter), from a
/// branch's events in any order. Events that do not read as the hub's are skipped.
pub fn facts_from_log(events: &[LoggedEvent], filter: &ReportFilter) -> Vec<VisitFacts> {
    let mut ordered: Vec<&LoggedEvent> = events.iter().collect();
    ordered.sort_by_key(|e| e.seq);
    let mut visits: BTreeMap<u64, Steps> = BTreeMap::new();
    for logged in ordered {
        let Ok(stored) = serde_json::from_value::<Stored>(logged.payload.clone()) else { continue };
        let Some(visit) = stored.event.visit() else { continue };
        let at_counter = matches!(
            stored.event,
            Event::Called { .. }
                | Event::Recalled { .. }
                | Event::Started { .. }
                | Event::Completed { .. }
                | Event::NoShow { .. }
        );
        let steps = visits.entry(visit).or_default();
        if at_counter {
            steps.last_counter = Some((logged.seq, logged.counter.clone()));
        }
        steps.take(logged.seq, logged.at, stored);
    }
    let (from, to) = (filter.from.to_string(), filter.to.to_string());
    visits
        .into_values()
        .filter_map(Steps::facts)
        .filter(|v| v.local_day >= from && v.local_day <= to)
        .filter(|v| filter.service.as_ref().is_none_or(|s| *s == v.service))
        .filter(|v| filter.counter.is_none() || v.counter == filter.counter)
        .collect()
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use dawr_protocol::api::{Priority, Source, TicketStatus};

    use super::*;

    fn visit(id: u64, number: &str, service: &str, issued_at: DateTime<Utc>) -> Visit {
        Visit {
            id,
            number: number.into(),
            local_day: chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap(),
            service: service.into(),
            priority: Priority::Normal,
            source: Source::WalkIn,
            status: TicketStatus::Waiting,
            case_ref: format!("DMM-{id}"),
            token: String::new(),
            issued_at,
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
        }
    }

    fn logged(seq: i64, minute: u32, counter: Option<&str>, event: serde_json::Value) -> LoggedEvent {
        LoggedEvent {
            seq,
            at: Utc.with_ymd_and_hms(2026, 11, 23, 5, minute, 0).unwrap(),
            counter: counter.map(Into::into),
            payload: event,
        }
    }

    #[test]
    fn a_transferred_visit_served_and_rated_low_reads_as_the_sql_would_read_it() {
        let issued = Utc.with_ymd_and_hms(2026, 11, 23, 5, 0, 0).unwrap() + chrono::Duration::microseconds(1_234_567);
        let issue = serde_json::to_value(Event::Issued { visit: Box::new(visit(1, "A001", "A", issued)) }).unwrap();
        let events = vec![
            // Out of order on purpose: the centre may hold them in any order.
            logged(6, 30, Some("4"), json(r#"{"kind":"rated","visit":1,"counter":"4","score":2,"reason":null}"#)),
            logged(1, 0, None, issue),
            logged(
                2,
                2,
                Some("2"),
                json(r#"{"kind":"called","visit":1,"counter":"2","out_of_order_reason":null,"staff":"s101"}"#),
            ),
            logged(
                3,
                5,
                Some("2"),
                json(
                    r#"{"kind":"transferred","visit":1,"from_counter":"2","to_service":"B","to_counter":null,"note":null}"#,
                ),
            ),
            logged(
                4,
                9,
                Some("4"),
                json(r#"{"kind":"called","visit":1,"counter":"4","out_of_order_reason":null,"staff":"s102"}"#),
            ),
            logged(
                5,
                20,
                Some("4"),
                json(r#"{"kind":"completed","visit":1,"counter":"4","outcome":"resolved","staff":"s102"}"#),
            ),
            logged(
                7,
                31,
                Some("4"),
                json(r#"{"kind":"rating_reason_added","visit":1,"counter":"4","reason":"waited_too_long"}"#),
            ),
            logged(8, 40, Some("1"), json(r#"{"kind":"counter_paused","counter":"1","reason":null}"#)),
        ];
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
        let filter = ReportFilter { from: day, to: day, service: None, counter: None };
        let facts = facts_from_log(&events, &filter);
        assert_eq!(facts.len(), 1);
        let v = &facts[0];
        assert_eq!(
            (v.service.as_str(), v.number.as_str(), v.case_ref.as_str()),
            ("B", "A001", "DMM-1"),
            "after its transfer"
        );
        assert_eq!(
            v.issued_at,
            Utc.with_ymd_and_hms(2026, 11, 23, 5, 0, 1).unwrap() + chrono::Duration::milliseconds(234)
        );
        assert_eq!(v.first_called_at, Some(Utc.with_ymd_and_hms(2026, 11, 23, 5, 2, 0).unwrap()));
        assert_eq!(v.ending, Ending::Served);
        assert_eq!(v.counter.as_deref(), Some("4"));
        assert_eq!((v.outcome.as_deref(), v.staff.as_deref()), (Some("resolved"), Some("s102")));
        assert_eq!((v.rating, v.rating_reason.as_deref()), (Some(2), Some("waited_too_long")));
        assert_eq!(v.source, "walk_in");
        let only_a = ReportFilter { service: Some("A".into()), ..filter.clone() };
        assert!(facts_from_log(&events, &only_a).is_empty(), "the service it ended in counts");
        let next_day = ReportFilter { from: day.succ_opt().unwrap(), to: day.succ_opt().unwrap(), ..filter };
        assert!(facts_from_log(&events, &next_day).is_empty());
    }

    fn json(text: &str) -> serde_json::Value {
        serde_json::from_str(text).unwrap()
    }
}
