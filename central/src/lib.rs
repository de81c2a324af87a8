//! The ministry's centre: every branch's event log, from NATS JetStream into PostgreSQL, and the
//! branches' reports computed from it with the hub's own report functions.
//!
//! - [`nats`]: the JetStream stream `DAWR_EVENTS` (`dawr.v1.evt.>`), the KV buckets
//!   `dawr_live` and `dawr_config`, made here if missing: the centre owns them.
//! - [`batch`] (pure): a fetched batch of messages as rows, the months they fall in.
//! - [`store`]: the only SQL — the schema (events partitioned by month, branches), the batch
//!   insert (`ON CONFLICT DO NOTHING` on `(branch, log_id, seq)`), completeness, a branch's events
//!   for a report.
//! - [`writer`]: the durable pull consumer: fetch up to 1,000, insert them in one transaction,
//!   commit, then acknowledge (so a `kill -9` at any point loses nothing and duplicates nothing).
//! - [`live`]: watches `dawr_live` and keeps each branch's profile (UTC offset, service targets,
//!   last health) in PostgreSQL.
//! - [`reports`]: a branch's figures for a range of local days — the events replayed into visit
//!   facts (`dawr_hub::reports::replay`, pure) and summarised (`dawr_hub::reports::summarise`,
//!   pure): the same code the branch runs, so the figures are the same.
//! - [`config`]: a branch's configuration checked and put in `dawr_config` (`config push`).
//! - [`edit`] (pure): a configuration edited on the dashboard — the form onto it, and what
//!   changed, for the record.
//! - [`rollup`]: each branch-day's figures, computed once the day is over and again when its
//!   events arrive late (provisional until then).
//! - [`now`] (pure): a branch now as the dashboard shows it — queues, counters, devices
//!   offline and since when, silent past the live state's age limit.
//! - [`people`]: the centre's file — regions, branches' regions, the dashboard's users.
//! - [`web`]: the central dashboard (Arabic first, English): every branch live, figures per
//!   branch, region and service, the monthly report, CSV.
//! - [`cli`]: `dawr-central run | report | days | status | config push`.
pub mod batch;
pub mod cli;
pub mod config;
pub mod edit;
pub mod live;
pub mod nats;
pub mod now;
pub mod people;
pub mod reports;
pub mod rollup;
pub mod store;
pub mod web;
pub mod writer;
