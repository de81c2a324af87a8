//! The ministry network's bodies: what a branch hub's uplink publishes to NATS (one event of its
//! log on `dawr.v1.evt.{branch}`, its case notes on `dawr.v1.case.{branch}`, its live state in
//! the KV bucket `dawr_live`) and what the centre answers about a branch's record.
use serde::{Deserialize, Serialize};

/// One row of a branch's event log, as published on `dawr.v1.evt.{branch}` with the header
/// `Nats-Msg-Id: {branch}:{log_id}:{seq}`. `payload` is the hub's stored event (with the staff
/// member signed in; the live ticket page's secret token is blanked before it leaves the branch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UplinkEvent {
    pub branch: String,
    /// The UUID made with the branch's database: a restored or replaced disk starts a new log.
    pub log_id: String,
    pub seq: i64,
    /// When it happened, RFC 3339 UTC with milliseconds, as in the branch's log.
    pub at: String,
    pub kind: String,
    pub visit_id: Option<i64>,
    pub counter: Option<String>,
    pub payload: serde_json::Value,
}

/// What staff wrote on a case, as published on `dawr.v1.case.{branch}` with the header
/// `Nats-Msg-Id: {branch}:{log_id}:case:{seq}` each time the branch's `case_notes` row changes:
/// the case's notes as they stand (never the visitor's identity). `seq` counts the branch's
/// case changes (per `log_id`); the centre keeps, per case, the newest it has received.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UplinkCaseNote {
    pub branch: String,
    pub log_id: String,
    pub seq: i64,
    pub case_ref: String,
    pub category: Option<String>,
    pub notes: String,
    /// When staff closed a follow-up case (RFC 3339 UTC), and who.
    pub closed_at: Option<String>,
    pub closed_by: Option<String>,
    /// When the notes last changed (RFC 3339 UTC), and by whom.
    pub updated_at: String,
    pub updated_by: String,
}

/// A service's target wait, which the centre needs for a branch's reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceTarget {
    pub code: String,
    pub target_wait_s: u32,
}

/// `dawr_live` key `{branch}.health`: the uplink's state, re-put every 30 s (the bucket's age
/// limit makes a silent branch's keys expire: "offline since").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveHealth {
    pub branch: String,
    pub log_id: String,
    /// The newest event in the branch's log.
    pub last_seq: i64,
    /// The newest event JetStream has acknowledged (all before it too).
    pub acked_seq: i64,
    /// When the hub put this, RFC 3339 UTC.
    pub at: String,
    /// The branch's offset from UTC in seconds (its local days and hours in reports).
    pub utc_offset_s: i32,
    pub targets: Vec<ServiceTarget>,
    /// The revision of the centre's configuration (`dawr_config.{branch}`) the branch runs, if
    /// it runs one (without, it runs its own file).
    #[serde(default)]
    pub config_revision: Option<u64>,
    /// The newest configuration the branch refused, and why (it kept the last good one).
    #[serde(default)]
    pub config_refused: Option<ConfigRefusal>,
}

/// A configuration from the centre that the branch did not apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConfigRefusal {
    pub revision: u64,
    pub reason: String,
}

/// One service's queue in [`LiveBoard`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveQueue {
    pub service: String,
    pub waiting: u32,
    /// Seconds the longest-waiting visitor has waited.
    pub longest_wait_s: u32,
}

/// `dawr_live` key `{branch}.board`: who is waiting, per service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveBoard {
    pub branch: String,
    /// The newest event this state includes.
    pub last_seq: i64,
    pub queues: Vec<LiveQueue>,
}

/// One counter in [`LiveCounters`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveCounter {
    pub id: String,
    /// `open`, `paused`, `closed`, … as the hub stores it.
    pub status: String,
}

/// `dawr_live` key `{branch}.counters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveCounters {
    pub branch: String,
    pub last_seq: i64,
    pub counters: Vec<LiveCounter>,
}

/// `dawr_live` key `{branch}.devices`: every device the branch knows (enrolled, or heard), with
/// its presence as the hub last heard it (`offline` also for an enrolled device never heard).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveDevices {
    pub branch: String,
    pub devices: Vec<super::DeviceInfo>,
}

/// A device offline at a branch, as the centre shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OfflineDevice {
    pub device: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<crate::acl::Role>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    /// When the branch last heard of it (its offline message, or its last presence); absent if
    /// the branch never heard it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
}

/// One branch now, as the centre's `GET /api/v1/branches` gives it (a regional manager gets
/// the branches of their region only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CentralBranch {
    pub branch: String,
    /// The region of the centre's file, if the branch is in one.
    pub region: Option<String>,
    /// When the centre last heard its live health (the centre's clock), RFC 3339 UTC.
    pub last_health_at: String,
    /// The hub has been silent longer than the live state's age limit: "offline since
    /// `last_health_at`"; the rest is as it last said.
    pub stale: bool,
    pub waiting: u32,
    pub longest_wait_s: Option<u32>,
    pub counters_open: u32,
    pub counters: u32,
    /// Its devices that are offline now, as the branch last said.
    pub devices_offline: Vec<OfflineDevice>,
    pub config_revision: Option<u64>,
    pub config_refused: Option<ConfigRefusal>,
    pub last_seq: i64,
    pub acked_seq: i64,
}

/// How complete the centre's copy of one branch log is: complete when `count == max_seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogCompleteness {
    pub branch: String,
    pub log_id: String,
    pub count: i64,
    pub max_seq: i64,
    pub complete: bool,
}

/// A branch-day's figures at the centre (`dawr-central days`): computed once the day is over,
/// recomputed when its events arrive late (provisional until then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BranchDay {
    pub branch: String,
    /// The branch's local day, `YYYY-MM-DD`.
    pub day: String,
    /// The summary, as the branch's `/api/v1/reports/summary` for that day.
    pub summary: super::reports::Summary,
    /// How many times it was computed.
    pub revisions: u32,
    /// Events of the day arrived after it was computed, and it is not computed again yet.
    pub provisional: bool,
    /// Events of the day that arrived after its first computation.
    pub late_events: i64,
}
