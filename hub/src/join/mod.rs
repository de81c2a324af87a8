//! Joining the queue from a phone: the one-time codes that confirm a mobile, and the remote
//! tickets they lead to.
//!
//! - **Ask.** `/join` (the public listener too) lists the services open to it (`remote` in the
//!   branch file) with their waiting count and estimate; the visitor picks one and gives a Saudi
//!   mobile. Unless that mobile already holds a live remote ticket here, a 6-digit code goes to it
//!   through the SMS outbox (kind `otp`, which an opt-out does not stop), valid for
//!   [`rules::CODE_TTL`]. `join_codes` keeps only the code's HMAC under the hub's secret key
//!   (bound to a random handle, the confirmation page's address); typed codes are compared in
//!   constant time.
//! - **Limits.** At most [`rules::CODES_PER_MOBILE`] codes per mobile per
//!   [`rules::CODES_WINDOW`] (stored, so a restart does not reset it), [`rules::MAX_WRONG`]
//!   wrong codes per code, and per client address a throttle (`auth::throttle`) counting codes
//!   sent and codes typed wrong: delays after [`rules::FREE_PER_ADDRESS`], then a lockout.
//! - **Issue.** The right code issues a ticket of source `remote` through the engine (the queue's
//!   rules: the service's share of remote tickets, the time before closing) and records it in
//!   `remote_joins` with its check-in code, and an SMS subscription in the visitor's language
//!   (the "N ahead", "check in" and "called" messages). One live remote ticket per mobile.
//! - **Arrive.** The kiosk checks the ticket in by its check-in code (typed, or scanned from the
//!   ticket page's QR) through `POST /api/v1/checkins`, as it does a booking.
//!
//! [`rules`] is pure; [`store`] is the only SQL.
pub mod rules;
pub mod store;
