//! Dawr's branch hub.
//!
//! The hub is a functional core inside an imperative shell. The map, from the core outwards:
//!
//! - [`domain`]: the queue, routing and wait estimates; pure (no IO, no clock, no randomness).
//! - [`simulation`]: a discrete-event simulation driving the real queue in virtual time.
//! - [`reports`]: the managers' figures, recomputed from the event log: one SQL query
//!   (`facts`), pure summaries per range and per month (`summary`) and the CSV (`csv`).
//! - [`forecast`]: the staffing forecast — arrivals learned from the weeks before, the counters
//!   needed per hour (Erlang C), a what-if and the forecast's own error (pure).
//! - [`actions`]: corrective actions against the root causes of low ratings, and their effect.
//! - [`cases`]: CRM cases derived from the event log (`case_of`, pure) and what staff note on
//!   them (`read`, `write`: the SQL).
//! - [`store`]: SQLite — the event log, the current state and the group-committing writer.
//! - [`engine`]: the one thread that owns the queue and serialises every command; it answers
//!   only after the store made the change durable.
//! - [`auth`]: staff and managers, their PINs and sessions.
//! - [`bookings`]: the bookings held from the appointments site — the pure check-in rule, their
//!   SQL, and the task that pulls bookings and reports check-ins.
//! - [`crm`]: the CRM connector's outbox and signed webhooks.
//! - [`uplink`]: the event log and live state sent to the ministry's centre (NATS JetStream).
//! - [`privacy`]: personal data under PDPL — retention, the keyed hash of visitors, a person's
//!   export and erasure; [`audit`]: the append-only audit log.
//! - [`mqtt`], `broker` and `gate`: the doors to devices (the broker optionally in-process,
//!   behind the gate that admits only enrolled devices and enforces their access rules);
//!   [`devices`]: the enrolled devices and their hashed passwords; [`device_links`]: the exit
//!   tablets' enrolment links and device cookies; [`tls`]: the branch CA, the server
//!   certificate (also the HTTPS one with `--tls-branch-cert`) and the MQTT-over-TLS listener
//!   in front of the gate; [`outbound`]: the HTTP(S) client for the site and the CRM.
//! - [`web`]: the only part that knows HTTP (axum) — the API, the dashboard, the ticket and
//!   rating pages, on the shared `dawr-web` crate.
//! - [`clock`]: the time of day everything asks (shiftable for tests; `dawr_web::clock`).
//! - [`config`], [`app`], [`cli`]: the branch file, the wiring and clean shutdown, the flags.
//!
//! Imports run inwards only: nothing in `domain`, `engine`, `store`, `reports`, `cases` or
//! `bookings` imports from `web`. `ARCHITECTURE.md` has the whole map.
pub mod actions;
pub mod alerts;
pub mod app;
pub mod audit;
pub mod auth;
pub mod bookings;
pub mod branch_cell;
#[cfg(feature = "embedded-broker")]
pub mod broker;
pub mod cases;
pub mod cli;
pub use dawr_web::clock;
pub mod config;
pub mod crm;
pub mod device_cli;
pub mod device_links;
pub mod devices;
pub mod domain;
pub mod engine;
pub mod firmware;
pub mod forecast;
#[cfg(feature = "embedded-broker")]
pub mod gate;
pub mod join;
pub mod mqtt;
pub mod ops_cli;
pub mod outbound;
pub mod privacy;
pub mod provision;
pub mod reports;
pub mod simulation;
pub mod sms;
pub mod store;
pub mod tls;
pub mod uplink;
pub mod web;
