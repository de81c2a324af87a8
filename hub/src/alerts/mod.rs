//! Live alerts to the branch's managers: a service over its waiting target, a counter paused
//! too long, a kiosk's printer out of paper (or its cover open, or not printing), a device gone
//! offline, an escalation near its due time.
//!
//! - **Detected** by [`watch`], pure: every `check_every_s` the job reads the branch's state
//!   (the engine's queue and counters, the devices' presence, the open escalations) into an
//!   [`watch::Observation`], lists the conditions that hold, and [`watch::Memory::step`] says
//!   which to raise and which have cleared — each condition at most once per quiet period.
//! - **Shown** on the dashboard at once: the job replaces the [`Board`] the dashboard's live
//!   alert list (`/dashboard/alerts`, fetched every few seconds) is drawn from.
//! - **Sent** to the managers named in `[alerts]`: by SMS through the hub's SMS outbox (when
//!   `[sms]` has a gateway) and by e-mail through `alert_mail`, both written in the transaction
//!   that records the raise (`alerts` table, migration `017_alerts.sql`), so a `kill -9` loses
//!   nothing and a restart neither forgets what was sent nor sends it again.
//!
//! - **The monthly report** ([`monthly`]): from the first of each month, the month before's PDF
//!   to the same e-mail addresses, attached, through the same outbox, once per month.
//!
//! **Boundary:** `watch` and `text` are pure; `store` is the only SQL and `mail` the only SMTP.
pub mod mail;
pub mod monthly;
pub mod store;
pub mod text;
pub mod watch;

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::TicketStatus;
use dawr_protocol::device::{CounterStatus, PresenceStatus};
use dawr_web::Db;
use tokio::sync::Notify;

use crate::branch_cell::BranchCell;
use crate::engine::{EngineHandle, Request};
use crate::mqtt::PresenceMap;
use watch::{Active, Change, CounterNow, DeviceNow, EscalationNow, Memory, Observation, Rules, ServiceNow};

/// `[alerts]` as the job runs it.
#[derive(Debug, Clone)]
pub struct AlertSettings {
    pub every: Duration,
    pub rules: Rules,
    /// The managers' mobiles (SMS) and e-mail addresses.
    pub sms_to: Vec<String>,
    pub email_to: Vec<String>,
    /// The language of the SMS and the e-mail's first half (the other language follows).
    pub lang: Lang,
    /// The SMTP server, if e-mail is sent.
    pub smtp: Option<mail::Smtp>,
}

impl Default for AlertSettings {
    fn default() -> Self {
        AlertSettings {
            every: Duration::from_secs(10),
            rules: Rules::default(),
            sms_to: Vec::new(),
            email_to: Vec::new(),
            lang: Lang::Ar,
            smtp: None,
        }
    }
}

/// The alerts that hold now, as the dashboard shows them.
#[derive(Debug, Clone, Default)]
pub struct Board(Arc<RwLock<Vec<Active>>>);

impl Board {
    pub fn now(&self) -> Vec<Active> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn replace(&self, holding: Vec<Active>) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = holding;
    }
}

/// What the job reads and where it writes.
pub struct Wiring {
    pub engine: EngineHandle,
    pub db: Db,
    pub branch: BranchCell,
    pub presence: PresenceMap,
    pub board: Board,
    /// The SMS sender's wake-up, if `[sms]` has a gateway.
    pub sms: Option<Arc<Notify>>,
    pub mail: Arc<Notify>,
}

/// Watches until aborted.
pub fn spawn(settings: AlertSettings, wiring: Wiring) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let texts = Texts::new();
        let mut memory = match wiring.db.read(store::load_memory).await {
            Ok(Ok(memory)) => memory,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "the alerts' memory could not be read; starting afresh");
                Memory::default()
            }
            Err(_) => return,
        };
        loop {
            let Some(observed) = observe(&wiring, &settings.rules).await else { return };
            let now = crate::clock::now();
            let holding = watch::conditions(&observed, &settings.rules, now);
            let changes = memory.step(holding, now, settings.rules.quiet_s);
            wiring.board.replace(memory.holding());
            if !changes.is_empty() {
                record(&settings, &wiring, &texts, changes, now).await;
            }
            tokio::time::sleep(settings.every).await;
        }
    })
}

/// Writes the changes and the raised alerts' messages, then wakes the senders.
async fn record(settings: &AlertSettings, wiring: &Wiring, texts: &Texts, changes: Vec<Change>, now: DateTime<Utc>) {
    let branch = wiring.branch.get();
    let mut messages = BTreeMap::new();
    for change in &changes {
        let Change::Raised(condition) = change else { continue };
        tracing::info!(alert = %condition.key(), "alert raised");
        let sms = match wiring.sms {
            Some(_) => {
                let line = text::message(texts, settings.lang, &branch, condition);
                settings.sms_to.iter().map(|m| (m.clone(), crate::sms::rules::sms_text(&line))).collect()
            }
            None => Vec::new(),
        };
        let mail = match settings.smtp {
            Some(_) => {
                let (subject, body) = text::mail(texts, settings.lang, &branch, condition);
                settings.email_to.iter().map(|to| (to.clone(), subject.clone(), body.clone())).collect()
            }
            None => Vec::new(),
        };
        messages.insert(condition.key(), store::Outgoing { sms, mail });
    }
    let branch_id = branch.id.clone();
    let written = wiring.db.write(move |c| store::record(c, &branch_id, &changes, &messages, now)).await;
    match written {
        Ok(Ok(())) => {
            if let Some(sms) = &wiring.sms {
                sms.notify_one();
            }
            wiring.mail.notify_one();
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "alerts could not be recorded"),
        Err(_) => {}
    }
}

/// The branch's state now; `None` once the engine has stopped.
async fn observe(wiring: &Wiring, rules: &Rules) -> Option<Observation> {
    let branch = wiring.branch.get();
    let now = crate::clock::now();
    let waiting = wiring.engine.ask(|reply| Request::Waiting { counter: None, reply }).await.ok()?.ok()?;
    let counters = wiring.engine.ask(|reply| Request::Counters { reply }).await.ok()?;
    let services = branch
        .services
        .iter()
        .map(|s| {
            let waits = waiting.iter().filter(|t| t.service == s.code && t.status == TicketStatus::Waiting);
            let longest = waits.map(|t| (now - t.appointment_at.unwrap_or(t.issued_at).min(now)).num_seconds()).max();
            ServiceNow { code: s.code.clone(), target_wait_s: i64::from(s.target_wait_s), longest_wait_s: longest }
        })
        .collect();
    let counters = counters
        .iter()
        .map(|c| {
            let since = c.state.updated_at.parse::<DateTime<Utc>>().unwrap_or(now);
            let paused_for_s = (c.state.status == CounterStatus::Paused).then(|| (now - since).num_seconds());
            CounterNow { id: c.state.counter.to_string(), paused_for_s }
        })
        .collect();
    let enrolled = wiring.db.read(|c| crate::devices::enrolled(c).unwrap_or_default()).await.ok()?;
    let presence = wiring.presence.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let devices = crate::devices::listing(&enrolled, &presence)
        .into_iter()
        .filter(|d| d.role.is_some())
        .map(|d| DeviceNow {
            id: d.device,
            heard: d.seen_at.is_some(),
            online: d.status == PresenceStatus::Online,
            printer: d.printer,
        })
        .collect();
    let escalations = open_escalations(wiring, &branch, rules, now).await?;
    Some(Observation { services, counters, devices, escalations })
}

/// The escalations still open from the days they can be due in.
async fn open_escalations(
    wiring: &Wiring,
    branch: &crate::domain::Branch,
    rules: &Rules,
    now: DateTime<Utc>,
) -> Option<Vec<EscalationNow>> {
    let policy = branch.cases;
    let today = now.with_timezone(&branch.utc_offset).date_naive();
    let days = i64::from(policy.escalation_target_s) / 86_400 + 2 + rules.escalation_warn_s / 86_400;
    let filter = crate::reports::ReportFilter {
        from: today - chrono::Duration::days(days),
        to: today,
        service: None,
        counter: None,
    };
    let read = wiring
        .db
        .read(move |conn| {
            let visits = crate::reports::visit_facts(conn, &filter)?;
            let notes = crate::cases::notes_for_days(conn, filter.from, filter.to)?;
            Ok::<_, rusqlite::Error>(crate::cases::cases_of(&visits, &notes, policy, now))
        })
        .await
        .ok()?;
    let cases = match read {
        Ok(cases) => cases,
        Err(e) => {
            tracing::warn!(error = %e, "the open escalations could not be read");
            Vec::new()
        }
    };
    Some(
        cases
            .into_iter()
            .filter_map(|c| {
                let e = c.escalation.filter(|e| e.open)?;
                Some(EscalationNow { case_ref: c.case_ref, due_at: e.due_at })
            })
            .collect(),
    )
}
