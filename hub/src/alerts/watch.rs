//! Which alerts hold now and which of them to send, pure: the branch's state in, alerts out.
//!
//! [`conditions`] reads an [`Observation`] (services' longest waits, counters' pauses, devices'
//! presence and printers, open escalations) against the [`Rules`] and lists every condition
//! that holds. [`Memory::step`] follows them over time: a condition that starts to hold is
//! *raised* (sent to the manager) unless the same condition was raised less than the quiet
//! period ago — then it is raised once that period has passed, if it still holds; one that
//! stops holding is *cleared*. So each condition is sent at most once per quiet period.
use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use dawr_protocol::device::PrinterHealth;

/// The thresholds, from `[alerts]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// A counter paused longer than this is an alert.
    pub paused_max_s: i64,
    /// An open escalation due within this long (or overdue) is an alert.
    pub escalation_warn_s: i64,
    /// A condition is sent again at most once per this long.
    pub quiet_s: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { paused_max_s: 20 * 60, escalation_warn_s: 60 * 60, quiet_s: 30 * 60 }
    }
}

/// One service now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceNow {
    pub code: String,
    pub target_wait_s: i64,
    /// How long its longest-waiting visitor has waited; `None` with nobody waiting.
    pub longest_wait_s: Option<i64>,
}

/// One counter now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CounterNow {
    pub id: String,
    /// How long it has been paused; `None` unless paused.
    pub paused_for_s: Option<i64>,
}

/// One device now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceNow {
    pub id: String,
    /// Whether the hub has ever heard from it (a device never set up is not "offline").
    pub heard: bool,
    pub online: bool,
    pub printer: Option<PrinterHealth>,
}

/// One open escalation now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EscalationNow {
    pub case_ref: String,
    pub due_at: DateTime<Utc>,
}

/// The branch's state as the alerts see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Observation {
    pub services: Vec<ServiceNow>,
    pub counters: Vec<CounterNow>,
    pub devices: Vec<DeviceNow>,
    pub escalations: Vec<EscalationNow>,
}

/// A printer's fault, as an alert names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum PrinterFault {
    PaperOut,
    CoverOpen,
    Offline,
}

/// A condition that holds, with the figures its text tells.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Condition {
    ServiceOverTarget { service: String, longest_wait_s: i64, target_wait_s: i64 },
    CounterPaused { counter: String, paused_for_s: i64 },
    Printer { device: String, fault: PrinterFault },
    DeviceOffline { device: String },
    EscalationDue { case_ref: String, due_in_s: i64 },
}

impl Condition {
    /// What stays the same while the condition holds (its figures change): one alert per key.
    pub fn key(&self) -> String {
        match self {
            Condition::ServiceOverTarget { service, .. } => format!("service:{service}"),
            Condition::CounterPaused { counter, .. } => format!("paused:{counter}"),
            Condition::Printer { device, .. } => format!("printer:{device}"),
            Condition::DeviceOffline { device } => format!("offline:{device}"),
            Condition::EscalationDue { case_ref, .. } => format!("escalation:{case_ref}"),
        }
    }

    /// The kind, as the API and the outbox name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Condition::ServiceOverTarget { .. } => "service_over_target",
            Condition::CounterPaused { .. } => "counter_paused",
            Condition::Printer { .. } => "printer",
            Condition::DeviceOffline { .. } => "device_offline",
            Condition::EscalationDue { .. } => "escalation_due",
        }
    }
}

/// Every condition that holds in `observed` under `rules`, in a stable order.
pub fn conditions(observed: &Observation, rules: &Rules, now: DateTime<Utc>) -> Vec<Condition> {
    let services = observed.services.iter().filter_map(|s| {
        let longest = s.longest_wait_s?;
        (longest > s.target_wait_s).then(|| Condition::ServiceOverTarget {
            service: s.code.clone(),
            longest_wait_s: longest,
            target_wait_s: s.target_wait_s,
        })
    });
    let counters = observed.counters.iter().filter_map(|c| {
        let paused = c.paused_for_s?;
        (paused > rules.paused_max_s).then(|| Condition::CounterPaused { counter: c.id.clone(), paused_for_s: paused })
    });
    let devices = observed.devices.iter().filter_map(|d| {
        if d.heard && !d.online {
            return Some(Condition::DeviceOffline { device: d.id.clone() });
        }
        let fault = match d.printer? {
            PrinterHealth::PaperOut => PrinterFault::PaperOut,
            PrinterHealth::CoverOpen => PrinterFault::CoverOpen,
            PrinterHealth::Offline => PrinterFault::Offline,
            PrinterHealth::Ok | PrinterHealth::Unknown => return None,
        };
        Some(Condition::Printer { device: d.id.clone(), fault })
    });
    let escalations = observed.escalations.iter().filter_map(|e| {
        let due_in_s = (e.due_at - now).num_seconds();
        (due_in_s <= rules.escalation_warn_s)
            .then(|| Condition::EscalationDue { case_ref: e.case_ref.clone(), due_in_s })
    });
    services.chain(counters).chain(devices).chain(escalations).collect()
}

/// An alert that holds now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Active {
    pub condition: Condition,
    /// Since when it holds (this time).
    pub since: DateTime<Utc>,
    /// Whether it was sent this time (it may wait out the quiet period first).
    pub sent: bool,
}

/// What changed in one step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Send this alert now.
    Raised(Condition),
    /// The condition with this key no longer holds.
    Cleared(String),
}

/// What the alerts remember between steps (and, through the database, across restarts).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Memory {
    /// What holds now, by key.
    pub active: BTreeMap<String, Active>,
    /// When each key was last raised.
    pub last_raised: BTreeMap<String, DateTime<Utc>>,
    /// Keys that held and were sent before a restart, with since when: still holding at the
    /// first step, they are not sent again.
    pub restored: BTreeMap<String, DateTime<Utc>>,
}

impl Memory {
    /// Follows the conditions that hold at `now` (from [`conditions`]): the raises and clears.
    pub fn step(&mut self, holding: Vec<Condition>, now: DateTime<Utc>, quiet_s: i64) -> Vec<Change> {
        let mut changes = Vec::new();
        let holding: BTreeMap<String, Condition> = holding.into_iter().map(|c| (c.key(), c)).collect();
        let known = self.active.keys().chain(self.restored.keys());
        let gone: Vec<String> = known.filter(|k| !holding.contains_key(*k)).cloned().collect();
        for key in gone {
            self.active.remove(&key);
            self.restored.remove(&key);
            changes.push(Change::Cleared(key));
        }
        for (key, condition) in holding {
            if let Some(since) = self.restored.remove(&key) {
                self.active.insert(key, Active { condition, since, sent: true });
                continue;
            }
            let quiet = self.last_raised.get(&key).is_some_and(|at| now - *at < Duration::seconds(quiet_s));
            let active = self.active.entry(key.clone()).or_insert(Active {
                condition: condition.clone(),
                since: now,
                sent: false,
            });
            active.condition = condition.clone();
            if !active.sent && !quiet {
                active.sent = true;
                self.last_raised.insert(key, now);
                changes.push(Change::Raised(condition));
            }
        }
        changes
    }

    /// The alerts that hold now, longest-standing first.
    pub fn holding(&self) -> Vec<Active> {
        let mut all: Vec<Active> = self.active.values().cloned().collect();
        all.sort_by(|a, b| a.since.cmp(&b.since).then(a.condition.cmp(&b.condition)));
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(minutes: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 23, 6, 0, 0).unwrap() + Duration::minutes(minutes)
    }

    fn busy(longest_min: Option<i64>) -> Observation {
        Observation {
            services: vec![ServiceNow {
                code: "A".into(),
                target_wait_s: 15 * 60,
                longest_wait_s: longest_min.map(|m| m * 60),
            }],
            ..Observation::default()
        }
    }

    fn raised(changes: &[Change]) -> Vec<String> {
        changes.iter().filter_map(|c| if let Change::Raised(c) = c { Some(c.key()) } else { None }).collect()
    }

    #[test]
    fn each_condition_is_named_from_the_observation() {
        let rules = Rules::default();
        let observed = Observation {
            services: vec![
                ServiceNow { code: "A".into(), target_wait_s: 900, longest_wait_s: Some(901) },
                ServiceNow { code: "B".into(), target_wait_s: 900, longest_wait_s: Some(900) },
                ServiceNow { code: "C".into(), target_wait_s: 900, longest_wait_s: None },
            ],
            counters: vec![
                CounterNow { id: "1".into(), paused_for_s: Some(21 * 60) },
                CounterNow { id: "2".into(), paused_for_s: Some(5 * 60) },
                CounterNow { id: "3".into(), paused_for_s: None },
            ],
            devices: vec![
                DeviceNow { id: "kiosk-1".into(), heard: true, online: true, printer: Some(PrinterHealth::PaperOut) },
                DeviceNow { id: "kiosk-2".into(), heard: true, online: true, printer: Some(PrinterHealth::Ok) },
                DeviceNow { id: "board-1".into(), heard: true, online: false, printer: None },
                DeviceNow { id: "button-9".into(), heard: false, online: false, printer: None },
            ],
            escalations: vec![
                EscalationNow { case_ref: "X-1".into(), due_at: t(30) },
                EscalationNow { case_ref: "X-2".into(), due_at: t(120) },
                EscalationNow { case_ref: "X-3".into(), due_at: t(-5) },
            ],
        };
        let keys: Vec<String> = conditions(&observed, &rules, t(0)).iter().map(Condition::key).collect();
        assert_eq!(
            keys,
            ["service:A", "paused:1", "printer:kiosk-1", "offline:board-1", "escalation:X-1", "escalation:X-3"]
        );
    }

    #[test]
    fn a_condition_is_raised_once_cleared_and_raised_again_only_after_the_quiet_period() {
        let rules = Rules { quiet_s: 30 * 60, ..Rules::default() };
        let mut memory = Memory::default();
        let mut at = |minute: i64, longest: Option<i64>| {
            let now = t(minute);
            memory.step(conditions(&busy(longest), &rules, now), now, rules.quiet_s)
        };
        assert_eq!(raised(&at(0, Some(10))), Vec::<String>::new(), "within the target");
        assert_eq!(raised(&at(1, Some(16))), ["service:A"], "over the target: raised");
        assert_eq!(at(2, Some(17)), [], "still over: not again");
        assert_eq!(at(3, Some(2)), [Change::Cleared("service:A".into())], "back within: cleared");
        assert_eq!(at(10, Some(20)), [], "over again within the quiet period: held back");
        assert_eq!(at(30, Some(40)), [], "still within the quiet period");
        assert_eq!(raised(&at(31, Some(41))), ["service:A"], "the quiet period is over: raised again");
        assert_eq!(at(32, None), [Change::Cleared("service:A".into())]);
        assert_eq!(raised(&at(62, Some(16))), ["service:A"], "over again after the quiet period: raised at once");
    }

    #[test]
    fn an_alert_sent_before_a_restart_is_not_sent_again_while_it_holds() {
        let rules = Rules::default();
        let mut memory = Memory::default();
        memory.last_raised.insert("service:A".into(), t(0));
        memory.restored.insert("service:A".into(), t(0));
        memory.restored.insert("paused:2".into(), t(0));
        let changes = memory.step(conditions(&busy(Some(50)), &rules, t(40)), t(40), rules.quiet_s);
        assert_eq!(changes, [Change::Cleared("paused:2".into())], "A still holds: not sent again; 2 resumed");
        assert_eq!(memory.holding()[0].since, t(0));
    }

    #[test]
    fn what_holds_is_listed_sent_or_not() {
        let rules = Rules::default();
        let mut memory = Memory::default();
        memory.step(conditions(&busy(Some(16)), &rules, t(0)), t(0), rules.quiet_s);
        memory.step(vec![], t(1), rules.quiet_s);
        memory.step(conditions(&busy(Some(20)), &rules, t(2)), t(2), rules.quiet_s);
        let holding = memory.holding();
        assert_eq!(holding.len(), 1);
        assert_eq!((holding[0].since, holding[0].sent), (t(2), false), "shown, though not sent again yet");
    }
}
