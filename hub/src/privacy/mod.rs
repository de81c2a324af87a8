//! Personal data under Saudi PDPL: what the hub keeps about a visitor, for how long, and how a
//! manager exports or erases one person's data.
//!
//! What is personal in the hub: a case's visitor (national ID / iqama or mobile, typed by staff),
//! what staff write on a case (notes), the note a counter leaves on a transfer (free text), and
//! the mobiles SMS go to with their texts (see `crate::sms::personal`; a STOP is kept).
//! Nothing else names a person: tickets, times, outcomes and ratings are about a visit, and the
//! held bookings carry only a booking code (the site removes the person behind it). Reports never read a personal field (see
//! ARCHITECTURE.md, "Personal data"), so removing them leaves every figure as it was.
//!
//! - [`retention`] (pure): the `[retention]` settings and the cut-off instants they give at a time.
//! - [`key`]: the branch's secret for the keyed hash of visitors ([`VisitorKey`]), created `0600`
//!   in the data directory on first start; the hash is what matching a visitor's earlier visits
//!   uses, so the plain ID is needed only while staff are shown it.
//! - [`store`]: the SQL: the retention purge, a person's export and erasure, and filling in the
//!   hash for visitors written before it existed. Each writes its audit entry in its transaction.
//! - [`job`]: the daily task that runs the purge (and once at start), on the hub's clock.
pub mod job;
pub mod key;
pub mod person;
pub mod retention;
pub mod store;

pub use key::{KeyError, VisitorKey};
pub use retention::{Cutoffs, Retention};
pub use store::{PurgeCounts, erase, export, purge};
