//! The waiting list of a full slot: its pure rules and the rows both engines keep
//! ([`crate::store::waiting`] on SQLite, [`crate::pg::waiting`] on PostgreSQL).
//!
//! A citizen joins a full slot's line with their details; a one-time code sent by SMS proves
//! the mobile, and typing it puts the entry in line (one entry per ID number per slot, at most
//! `[waiting_list] per_slot` waiting). When a place frees, the offer round (every few seconds,
//! one replica at a time) takes it for the first in line as a hold — the same hold a code-confirmed
//! booking uses — and texts them its code and link; the hold lasts `[waiting_list] hold_minutes`
//! (never past the slot's start). Confirmed in time, it becomes their booking under the same
//! per-ID and per-mobile rules; else it gives the place back and the next round offers it to the
//! next in line. While anyone waits for a slot, a freed place goes to the line, not to whoever
//! books first.
use chrono::{DateTime, Duration, NaiveDate, Utc};

/// Where an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryState {
    /// Its joining code has not been typed yet.
    Unconfirmed,
    /// In line.
    Waiting,
    /// A place was offered to it (a hold; see [`Entry::offer`]).
    Offered,
}

impl EntryState {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryState::Unconfirmed => "unconfirmed",
            EntryState::Waiting => "waiting",
            EntryState::Offered => "offered",
        }
    }

    pub(crate) fn parse(text: &str) -> EntryState {
        match text {
            "waiting" => EntryState::Waiting,
            "offered" => EntryState::Offered,
            _ => EntryState::Unconfirmed,
        }
    }
}

/// A stored entry of a slot's waiting list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Random: the entry page's address.
    pub handle: String,
    /// The joining code's HMAC.
    pub code_mac: Vec<u8>,
    /// Wrong joining codes typed.
    pub attempts: u32,
    pub state: EntryState,
    /// The joining code lasts until then.
    pub expires_at: DateTime<Utc>,
    /// The hold offered to it, once offered.
    pub offer: Option<String>,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub local_day: NaiveDate,
    pub name: String,
    pub national_id: String,
    pub phone: String,
    pub lang: String,
}

impl Entry {
    /// What `dawr_web::otp::may_try` needs for the joining code.
    pub fn code_state(&self) -> dawr_web::otp::CodeState {
        dawr_web::otp::CodeState {
            expires_at: self.expires_at,
            attempts: self.attempts,
            used: self.state != EntryState::Unconfirmed,
        }
    }
}

/// An entry to make (its joining code just sent).
#[derive(Debug, Clone)]
pub struct NewEntry {
    pub handle: String,
    pub code_mac: Vec<u8>,
    /// The address that asked (`crate::ratelimit::client_key`).
    pub client: String,
    pub expires_at: DateTime<Utc>,
    /// Codes one mobile, and one address, may be sent since `since` (holds and entries together).
    pub codes_per_mobile: u32,
    pub codes_per_client: u32,
    pub since: DateTime<Utc>,
    /// Entries that may wait for one slot.
    pub per_slot: u32,
    /// Places in the slot (for a slot whose row the slot job has not made yet).
    pub capacity: u32,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub local_day: NaiveDate,
    pub name: String,
    pub national_id: String,
    pub phone: String,
    pub lang: String,
    pub now: DateTime<Utc>,
}

/// The secrets of one offer, drawn by the caller: the hold's handle, its code (sent by SMS) and
/// that code's HMAC, and the booking code and page token the hold becomes.
#[derive(Debug, Clone)]
pub struct OfferSecrets {
    pub hold: String,
    pub code: String,
    pub code_mac: Vec<u8>,
    pub booking_code: String,
    pub booking_token: String,
}

/// An offer the round made: to text `phone` its code and link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub entry: String,
    pub hold: String,
    pub code: String,
    pub phone: String,
    pub lang: String,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// Why an entry cannot join a slot's line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinRefusal {
    /// The slot has a free place nobody waits for: book it instead.
    NotFull,
    /// As many wait for the slot as `[waiting_list] per_slot` allows.
    ListFull,
}

/// Whether a new entry may join a slot's line: `free` places nobody holds, `waiting` entries
/// already in line, at most `per_slot` (0: no waiting list).
pub fn may_join(free: u32, waiting: u32, per_slot: u32) -> Result<(), JoinRefusal> {
    if free > 0 && waiting == 0 {
        Err(JoinRefusal::NotFull)
    } else if waiting >= per_slot {
        Err(JoinRefusal::ListFull)
    } else {
        Ok(())
    }
}

/// Until when a place offered at `now` is held: `hold_for`, but never past the slot's start.
pub fn offer_expiry(now: DateTime<Utc>, hold_for: Duration, start: DateTime<Utc>) -> DateTime<Utc> {
    (now + hold_for).min(start)
}

/// How many of a slot's free places the round offers: one per waiting entry, at most.
pub fn offers_to_make(free: u32, waiting: usize) -> usize {
    (free as usize).min(waiting)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_slot_is_joined_only_when_full_or_already_waited_for_and_up_to_its_cap() {
        assert_eq!(may_join(1, 0, 10), Err(JoinRefusal::NotFull), "a free place nobody waits for is booked");
        assert_eq!(may_join(0, 0, 10), Ok(()));
        assert_eq!(may_join(1, 2, 10), Ok(()), "a freed place is the line's until offered");
        assert_eq!(may_join(0, 9, 10), Ok(()));
        assert_eq!(may_join(0, 10, 10), Err(JoinRefusal::ListFull));
        assert_eq!(may_join(0, 0, 0), Err(JoinRefusal::ListFull), "per_slot 0: no waiting list");
    }

    #[test]
    fn an_offer_lasts_its_hold_time_but_never_past_the_slot() {
        let now: DateTime<Utc> = "2026-11-29T07:00:00Z".parse().unwrap();
        let late: DateTime<Utc> = "2026-11-29T12:00:00Z".parse().unwrap();
        let soon: DateTime<Utc> = "2026-11-29T07:10:00Z".parse().unwrap();
        assert_eq!(offer_expiry(now, Duration::minutes(30), late), now + Duration::minutes(30));
        assert_eq!(offer_expiry(now, Duration::minutes(30), soon), soon);
    }

    #[test]
    fn each_free_place_goes_to_one_in_line() {
        assert_eq!(offers_to_make(2, 5), 2);
        assert_eq!(offers_to_make(3, 1), 1);
        assert_eq!(offers_to_make(0, 4), 0);
    }

    #[test]
    fn states_read_back_as_written() {
        for s in [EntryState::Unconfirmed, EntryState::Waiting, EntryState::Offered] {
            assert_eq!(EntryState::parse(s.as_str()), s);
        }
    }
}
