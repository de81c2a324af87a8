//! CRM cases: every ticket opens one (its reference is printed on the ticket), and the case
//! follows the visit.
//!
//! What happened — the steps, the counter, the outcome, the exit rating — comes from the event
//! log ([`crate::reports::case_facts`]); what staff write — a category, notes, and closing a case
//! that was left open — is kept in `case_notes`. [`case_of`] combines the two (pure):
//! - a visit still in the queue or at a counter is a case `in_progress`;
//! - a visit completed with the outcome `follow_up` or `referred` leaves the case `open`, due
//!   `[cases] resolution_target_h` after the visit, until staff close it;
//! - anything else (resolved, no-show, cancelled) is `closed`;
//! - an exit rating of 1 or 2 opens an **escalation** on the case at the rating (whether or not
//!   a reason follows), due `[cases] escalation_target_h` after the rating, until the case is
//!   closed by staff.
//!
//! The shapes ([`Case`], [`CaseUpdate`], [`CaseDetail`], …) are the wire contract's, in
//! `dawr_protocol::api::cases`, re-exported here. The parts: [`case`] (what a case is, derived from its visit and notes; the month's and the
//! dashboard's counts) and [`change`] (what a staff member's change does to the notes) are pure;
//! [`access`] (who may read and change which case) is pure too; so is [`ledger`], the real CRM
//! cases (follow-ups, referrals, escalations) counted by the date of each event;
//! [`read`] holds the queries (notes, a visitor's earlier visits) and [`write`](mod@write) the
//! transactions that change `case_notes` (with their CRM outbox entry).
pub mod access;
pub mod case;
pub mod change;
pub mod ledger;
pub mod read;
pub mod write;

pub use access::{Reader, may_read};
pub use case::{
    Case, CaseCounts, CaseNotes, CaseStatus, EarlierVisit, Escalation, MonthCases, case_of, cases_of, count, month,
};
pub use change::{CaseError, CaseUpdate, CheckUpdate};
pub use dawr_protocol::api::cases::CaseDetail;
pub use ledger::{CaseEntry, CaseKind, CaseKinds, CaseLine, CasePeriod, CaseReport, entries_of};
pub use read::{earlier_visits, notes_for_cases, notes_for_days, read_notes};
pub use write::{add_resolution_reason, rate_resolution, update};
