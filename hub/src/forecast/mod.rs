//! The staffing forecast: how many counters each hour of a day needs.
//!
//! From the visitors who came on the same weekday of the weeks before (per service and hour)
//! and the service times learned from them, [`plan`] counts the counters needed per hour for
//! each service to call the goal share of its visitors within its target wait ([`erlang`]:
//! Erlang C), alone and with the counters shared by all services, beside the counters that
//! were open on those days; it answers a what-if ("two more counters from 10:00: the longest
//! expected wait") and measures its own error on the weeks before. The simulation of shared
//! counters (`crate::simulation::shared`) checks it.
//!
//! `erlang` and `plan` are pure; [`read`] is the only part that reads the database.
pub mod erlang;
pub mod plan;
pub mod read;

pub use plan::{Ask, ServiceSpec, forecast};

/// The share of visitors the counters are counted for: 80% called within the target wait.
pub const GOAL: f64 = 0.8;

#[cfg(test)]
mod simulated_tests;
