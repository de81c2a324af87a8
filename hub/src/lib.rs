//! Dawr's branch hub.
//!
//! The hub is a functional core ([`domain`]: the queue, routing and estimates, no IO) inside an
//! imperative shell: [`engine`] owns the queue and serialises every command, [`store`] makes each
//! change durable in SQLite before anyone hears of it, [`mqtt`] and [`http`] are the doors to
//! devices and apps ([`ticket_page`] is the visitor's page), [`bookings`] holds the branch's
//! bookings from the appointments site, `broker` optionally runs the MQTT broker in-process, and
//! [`clock`] is the time of day everything asks (shiftable for tests).
//! [`reports`] and [`cases`] keep their pure parts (summaries, CSV, `case_of`) in files apart
//! from their SQL.
//! [`app::run`] wires them together; `ARCHITECTURE.md` has the map.
pub mod app;
pub mod auth;
pub mod bookings;
#[cfg(feature = "embedded-broker")]
pub mod broker;
pub mod cases;
pub mod cli;
pub mod clock;
pub mod config;
pub mod crm;
pub mod dashboard;
pub mod domain;
pub mod engine;
pub mod http;
pub mod mqtt;
pub mod rate_page;
pub mod reports;
pub mod simulation;
pub mod store;
pub mod ticket_page;
