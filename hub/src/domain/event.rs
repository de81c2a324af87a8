//! What happened: every change to the queue is one of these, stored in order.
//!
//! The event log is the history reports are computed from; the `visits` and `counters` tables
//! hold the current state so the hub starts without replaying years of events.
use chrono::{DateTime, Utc};
use dawr_protocol::api::{Outcome, RatingReason};
use serde::{Deserialize, Serialize};

use super::visit::{Visit, VisitId};

/// One change, as stored in the `events` table (`kind` column plus JSON payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    Issued {
        visit: Box<Visit>,
    },
    Called {
        visit: VisitId,
        counter: String,
        out_of_order_reason: Option<String>,
    },
    Recalled {
        visit: VisitId,
        counter: String,
    },
    Started {
        visit: VisitId,
        counter: String,
    },
    Completed {
        visit: VisitId,
        counter: String,
        outcome: Option<Outcome>,
    },
    NoShow {
        visit: VisitId,
        counter: String,
    },
    Transferred {
        visit: VisitId,
        from_counter: String,
        to_service: Option<String>,
        to_counter: Option<String>,
        note: Option<String>,
    },
    /// A waiting ticket withdrawn: by the visitor or kiosk (`reason` none), or left unserved when
    /// the day closed (`reason` "day_closed").
    Cancelled {
        visit: VisitId,
        #[serde(default)]
        reason: Option<String>,
    },
    /// A remote ticket's holder checked in at the kiosk: from now on it may be called.
    Arrived {
        visit: VisitId,
    },
    /// A remote ticket not yet arrived was at the front when `counter` called someone else
    /// instead: its holder is to be told to check in (once; the grace time starts).
    HeldForArrival {
        visit: VisitId,
        counter: String,
    },
    /// A remote ticket was still not checked in the grace time after it was first held: it
    /// leaves the queue as a no-show (reports count it with the counters' no-shows).
    ArrivalMissed {
        visit: VisitId,
    },
    CounterPaused {
        counter: String,
        reason: Option<String>,
    },
    CounterResumed {
        counter: String,
    },
    /// The visitor rated the visit that had just ended at `counter`.
    Rated {
        visit: VisitId,
        counter: String,
        score: u8,
        reason: Option<RatingReason>,
    },
    /// The reason for a rating given earlier without one (still one rating: the score stands).
    RatingReasonAdded {
        visit: VisitId,
        counter: String,
        reason: RatingReason,
    },
}

impl Event {
    /// The `kind` column's value.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Issued { .. } => "issued",
            Event::Called { .. } => "called",
            Event::Recalled { .. } => "recalled",
            Event::Started { .. } => "started",
            Event::Completed { .. } => "completed",
            Event::NoShow { .. } => "no_show",
            Event::Transferred { .. } => "transferred",
            Event::Cancelled { .. } => "cancelled",
            Event::Arrived { .. } => "arrived",
            Event::HeldForArrival { .. } => "held_for_arrival",
            Event::ArrivalMissed { .. } => "arrival_missed",
            Event::CounterPaused { .. } => "counter_paused",
            Event::CounterResumed { .. } => "counter_resumed",
            Event::Rated { .. } => "rated",
            Event::RatingReasonAdded { .. } => "rating_reason_added",
        }
    }

    /// The visit the event is about, if any.
    pub fn visit(&self) -> Option<VisitId> {
        match self {
            Event::Issued { visit } => Some(visit.id),
            Event::Called { visit, .. }
            | Event::Recalled { visit, .. }
            | Event::Started { visit, .. }
            | Event::Completed { visit, .. }
            | Event::NoShow { visit, .. }
            | Event::Transferred { visit, .. }
            | Event::Rated { visit, .. }
            | Event::RatingReasonAdded { visit, .. }
            | Event::Cancelled { visit, .. }
            | Event::Arrived { visit }
            | Event::HeldForArrival { visit, .. }
            | Event::ArrivalMissed { visit } => Some(*visit),
            Event::CounterPaused { .. } | Event::CounterResumed { .. } => None,
        }
    }

    /// The counter the event happened at, if any.
    pub fn counter(&self) -> Option<&str> {
        match self {
            Event::Called { counter, .. }
            | Event::Recalled { counter, .. }
            | Event::Started { counter, .. }
            | Event::Completed { counter, .. }
            | Event::NoShow { counter, .. }
            | Event::CounterPaused { counter, .. }
            | Event::Rated { counter, .. }
            | Event::RatingReasonAdded { counter, .. }
            | Event::HeldForArrival { counter, .. }
            | Event::CounterResumed { counter } => Some(counter),
            Event::Transferred { from_counter, .. } => Some(from_counter),
            Event::Issued { .. } | Event::Cancelled { .. } | Event::Arrived { .. } | Event::ArrivalMissed { .. } => {
                None
            }
        }
    }
}

/// An event with the time it happened.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub at: DateTime<Utc>,
    pub event: Event,
    /// The staff member signed in at the event's counter, if any (stored with the event for
    /// the reports; not part of the queue's state), or the staff member whose session issued or
    /// cancelled a ticket over HTTP.
    pub staff: Option<String>,
    /// The enrolled device that asked for it over HTTP (a kiosk's ticket or check-in, a rating
    /// device's rating), if any: with `staff`, the change's author.
    pub device: Option<String>,
}
