//! Corrective actions: a manager answers a root cause of low ratings — a rating reason, or a
//! case category staff gave — with an action that has an owner, a due date and a status
//! (`POST /api/v1/actions`, `PATCH /api/v1/actions/{id}`), and `GET /api/v1/actions` shows each
//! action's effect: the cause's share and the affected service's satisfaction in the weeks
//! before the action started and since.
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// What kind of root cause an action answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// A low rating's reason (`waited_too_long`, `staff_conduct`, …).
    Reason,
    /// A case's category, as staff wrote it.
    Category,
}

/// Where an action stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Planned,
    InProgress,
    Done,
    Dropped,
}

/// `POST /api/v1/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAction {
    pub cause_kind: CauseKind,
    pub cause: String,
    /// The service affected; `null`: all services.
    #[serde(default)]
    pub service: Option<String>,
    /// What is done, in a sentence.
    pub action: String,
    /// Who does it (a name or a staff id).
    pub owner: String,
    pub due: NaiveDate,
    /// When it took effect: the day its effect is measured from.
    pub starts: NaiveDate,
    #[serde(default = "planned")]
    pub status: ActionStatus,
}

fn planned() -> ActionStatus {
    ActionStatus::Planned
}

/// `PATCH /api/v1/actions/{id}`: the fields given change.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionUpdate {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ActionStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

/// A cause's weight and the service's satisfaction over some days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CauseWindow {
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// Reason: low ratings (1–2) of the service with a reason; category: cases of the service
    /// with a category.
    pub counted: usize,
    /// Of those, the ones with this cause.
    pub with_cause: usize,
    /// `with_cause` of `counted`, in percent.
    pub share_pct: Option<f64>,
    /// Exit ratings of the service, and their mean (1–5).
    pub ratings: usize,
    pub satisfaction: Option<f64>,
}

/// One corrective action, as stored, with its effect.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectiveAction {
    pub id: i64,
    pub cause_kind: CauseKind,
    pub cause: String,
    pub service: Option<String>,
    pub action: String,
    pub owner: String,
    pub due: NaiveDate,
    pub starts: NaiveDate,
    pub status: ActionStatus,
    /// Past its due date and not done or dropped.
    pub overdue: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_by: String,
    pub updated_at: DateTime<Utc>,
    /// The `window_days` before `starts`.
    pub before: CauseWindow,
    /// From `starts` on, as many days (up to yesterday); `null` before it starts.
    pub after: Option<CauseWindow>,
}

/// `GET /api/v1/actions`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorrectiveActions {
    pub branch: String,
    /// How many days each side of an action's start its effect is measured over.
    pub window_days: u32,
    pub actions: Vec<CorrectiveAction>,
}
