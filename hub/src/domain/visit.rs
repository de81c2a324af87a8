//! A visit: one ticket, from issue to done, no-show or cancel.
use chrono::{DateTime, NaiveDate, Utc};
use dawr_protocol::api::{Outcome, Priority, RatingReason, Source, TicketStatus};
use serde::{Deserialize, Serialize};

/// A visit's number in this hub's database; never reused.
pub type VisitId = u64;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Visit {
    pub id: VisitId,
    /// As printed and called, e.g. `A017`.
    pub number: String,
    /// The local day the number belongs to (numbers restart each day per service).
    pub local_day: NaiveDate,
    /// The service whose queue the visit is in now (changes on transfer).
    pub service: String,
    pub priority: Priority,
    pub source: Source,
    pub status: TicketStatus,
    /// The CRM case reference, e.g. `DMM-20261123-000123`.
    pub case_ref: String,
    /// Secret part of the live ticket page's address.
    pub token: String,
    /// Arrival; kept across transfers, so a transferred visitor does not start again at the back.
    pub issued_at: DateTime<Utc>,
    pub appointment_at: Option<DateTime<Utc>>,
    /// The counter the visitor is called to or served at.
    pub counter: Option<String>,
    /// Set by a transfer to a named counter: only that counter calls the visitor.
    pub target_counter: Option<String>,
    pub called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub recalls: u32,
    pub transfers: u32,
    pub outcome: Option<Outcome>,
    /// The note left by the counter that transferred the visitor.
    pub transfer_note: Option<String>,
    /// The exit rating, 1–5, and why if it was low.
    pub rating: Option<u8>,
    pub rating_reason: Option<RatingReason>,
    /// A remote ticket's check-in at the kiosk (`None` until then; always `None` for others).
    #[serde(default)]
    pub arrived_at: Option<DateTime<Utc>>,
    /// When a remote ticket not yet arrived was first at the front and someone behind it was
    /// called instead (its holder is then told to check in; the grace time runs from here).
    #[serde(default)]
    pub held_at: Option<DateTime<Utc>>,
}

impl Visit {
    /// The letters and the number of the ticket number: `A017` → `("A", 17)`. The letters are the
    /// code of the service the ticket was issued for.
    pub fn number_parts(&self) -> (&str, u32) {
        let split = self.number.find(|c: char| c.is_ascii_digit()).unwrap_or(self.number.len());
        let (letters, digits) = self.number.split_at(split);
        (letters, digits.parse().unwrap_or(0))
    }

    /// The day's sequence number in the case reference: `DMM-20261123-000123` → 123.
    pub fn case_seq(&self) -> u32 {
        self.case_ref.rsplit('-').next().and_then(|s| s.parse().ok()).unwrap_or(0)
    }

    /// Whether a counter may call this visitor now: everyone but a remote ticket whose holder
    /// has not checked in yet.
    pub fn callable(&self) -> bool {
        self.source != Source::Remote || self.arrived_at.is_some()
    }

    /// The time routing ranks this visitor by: arrival, or for an appointment its slot if that is
    /// later (checking in early does not jump the queue).
    pub fn ranking_time(&self) -> DateTime<Utc> {
        match self.appointment_at {
            Some(slot) if self.priority == Priority::Appointment => slot.max(self.issued_at),
            _ => self.issued_at,
        }
    }
}
