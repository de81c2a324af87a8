//! The link to the appointments site: the branch's bookings held here, check-in at the kiosk,
//! and reports back — so check-in works while the internet link is down. (Named `bookings` so it
//! is not confused with the site itself, the `dawr-appointments` crate.)
//!
//! The site (`dawr-appointments`) is the source of bookings. A background task
//! ([`sync::spawn_link`]) pulls today's and tomorrow's bookings of this branch every few seconds
//! (`GET /api/v1/branches/{branch}/bookings?date=`, with the branch's API key) into the
//! `bookings` table. `POST /api/v1/checkins` (in the web layer's `api`) checks a booking in from
//! that table alone ([`checkin::check`], pure), issues an appointment ticket through the engine
//! (with the idempotency key `appt-{code}`, so a retried check-in never gets a second ticket),
//! and records the check-in together with a row in the `booking_outbox` table. When a booking's
//! check-in window closes without it, the link marks it a no-show the same way. The link sends
//! the outbox to the site in order (`POST …/bookings/{code}/report`) and deletes a row only once
//! the site has acknowledged it; until then it retries, across restarts of either side.
//!
//! These two tables are written through the link's own connection, not the queue's writer:
//! they are not queue state, and SQLite serialises the two writers (both wait on a busy
//! database rather than fail).
//!
//! A booking's QR code carries a token signed by the site (`dawr_protocol::booking_token`): with
//! the site's public key configured, a booking the hub has never pulled (made after the last
//! pull, or while the site is unreachable) is checked in from its token alone, under the same
//! window rule, and held from then on like a pulled one, so it counts once; its report reaches
//! the site through the outbox when the site is back.
//!
//! The parts: [`checkin`] is pure (a held booking, the check-in window and rule, the code's
//! shape); [`store`] is the only SQL (`bookings`, `booking_outbox`); [`sync`] is the only HTTP
//! (the task that pulls from and reports to the site).
pub mod checkin;
pub mod store;
pub mod sync;

use std::sync::Arc;

use rusqlite::Connection;
use tokio::sync::Notify;

pub use checkin::{
    Held, HeldView, Presented, Refusal, Window, check, held_from_token, normalize_code, read, request_id,
};
pub use store::{
    Outgoing, acknowledged, day, figures, find, hold_signed, mark_no_shows, outbox, prune, record_checkin,
    recover_checkins, upsert,
};
pub use sync::{Link, spawn_link};

use crate::store::StoreError;

/// A booking as the site sends it (`GET /api/v1/branches/{branch}/bookings`).
pub use dawr_protocol::api::bookings::HubBooking as Pulled;

/// What the HTTP handlers and the link share.
#[derive(Clone)]
pub struct Appointments {
    /// The link's own connection to the hub's database.
    pub conn: dawr_web::Db,
    pub window: Window,
    /// The site's public keys (`[appointments] booking_keys`): a booking's QR token signed with
    /// one of them checks in even if the booking was never pulled. Empty: tokens are read for
    /// their code only.
    pub keys: Arc<[dawr_protocol::booking_token::VerifyingKey]>,
    /// Wakes the link to send a new report at once.
    pub wake: Arc<Notify>,
}

impl Appointments {
    /// Runs `f` with the connection on a blocking thread.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.conn.write(f).await.unwrap_or_else(|e| Err(e.into()))
    }
}
