//! A branch as configured: its services, counters, staff and routing policy.
use chrono::{FixedOffset, NaiveTime};
use dawr_protocol::api::Names;
use dawr_protocol::topics::is_valid_id;

/// One branch (a service center).
#[derive(Debug, Clone)]
pub struct Branch {
    /// Used in MQTT topics, e.g. `demo`.
    pub id: String,
    /// First part of every CRM case reference, e.g. `DMM` in `DMM-20261123-000123`.
    pub case_prefix: String,
    pub name: Names,
    /// The branch's local time; ticket numbers and case references restart each local day.
    pub utc_offset: FixedOffset,
    pub services: Vec<Service>,
    pub counters: Vec<Counter>,
    pub staff: Vec<Staff>,
    pub routing: RoutingPolicy,
    /// How long after a visit ends at a counter the exit rating is accepted for it.
    pub rating_window_s: u32,
    /// How long cases left open and escalations may stay unresolved.
    pub cases: CasePolicy,
    /// The rules of joining from a phone that are the branch's, not a service's.
    pub remote: RemotePolicy,
}

/// Joining from a phone (`/join`), branch-wide: see [`RemoteJoin`] for a service's part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemotePolicy {
    /// A remote ticket held at the front without its holder checked in becomes a no-show this
    /// long after it was first held.
    pub grace_s: u32,
    /// The branch's closing time (local), which remote joining stops before; `None`: no limit.
    pub closes: Option<NaiveTime>,
}

impl Default for RemotePolicy {
    fn default() -> Self {
        RemotePolicy { grace_s: 10 * 60, closes: None }
    }
}

/// A service open to joining from a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteJoin {
    /// Joining stops this long before the branch closes.
    pub until_close_s: u32,
    /// The largest share of the service's waiting line remote tickets may hold, in percent
    /// (a line without a remote ticket may always take one).
    pub max_share_percent: u8,
}

/// The service levels of CRM cases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CasePolicy {
    /// A case left open after its visit (follow-up, referred) is due this long after the visit.
    pub resolution_target_s: u32,
    /// An escalation (an exit rating of 1 or 2) is due this long after the rating.
    pub escalation_target_s: u32,
}

impl Default for CasePolicy {
    fn default() -> Self {
        CasePolicy { resolution_target_s: 72 * 3600, escalation_target_s: 24 * 3600 }
    }
}

/// A service visitors take a ticket for.
#[derive(Debug, Clone)]
pub struct Service {
    /// The ticket letter(s), e.g. `A`: tickets are numbered `A001`, `A002`, ….
    pub code: String,
    pub name: Names,
    /// The service level target: a visitor should be called within this many seconds.
    pub target_wait_s: u32,
    /// The expected service time before the hub has measured any (it learns from completions).
    pub mean_service_s: u32,
    /// Whether (and how) visitors may join this service's line from a phone.
    pub remote: Option<RemoteJoin>,
}

/// A counter (window, desk) where staff serve visitors.
#[derive(Debug, Clone)]
pub struct Counter {
    pub id: String,
    pub name: Names,
    /// The services this counter serves, most preferred first.
    pub services: Vec<String>,
    /// Whether the counter receives visitors when the hub starts for the first time.
    pub open_at_start: bool,
}

/// A staff member or manager, who signs in with a PIN (see `crate::auth`).
#[derive(Debug, Clone)]
pub struct Staff {
    pub id: String,
    pub name: Names,
    pub role: Role,
    /// The PIN's argon2 hash (PHC string); without one, this person cannot sign in.
    pub pin_hash: Option<String>,
    /// Counters this person may open.
    pub counters: Vec<String>,
    /// The services this person may serve (their skills); `None`: every service. Signed in at a
    /// counter, they are called only for the services both the counter and they have.
    pub services: Option<Vec<String>>,
}

/// What a signed-in person may do (part of the session's wire shape).
pub use dawr_protocol::api::sessions::Role;

/// How routing trades waiting time against priority and preference; all in seconds.
///
/// A waiting visitor's score at a counter is `waited + head_start(class) - preference_penalty`,
/// and the counter calls the highest score. Because every score grows one second per second,
/// a visitor can only be overtaken by people who arrived at most
/// [`RoutingPolicy::overtaking_bound_s`] after them: nobody waits forever.
#[derive(Debug, Clone, PartialEq)]
pub struct RoutingPolicy {
    /// Head start of elderly/disabled visitors over walk-ins.
    pub assisted_head_start_s: i64,
    /// Head start of a checked-in appointment once its slot is near.
    pub appointment_head_start_s: i64,
    /// An appointment may be called ahead of walk-ins from this long before its slot.
    pub appointment_early_s: i64,
    /// Head start of a visitor transferred to a named counter.
    pub transfer_head_start_s: i64,
    /// Penalty per step down a counter's service preference list.
    pub preference_step_s: i64,
}

impl Default for RoutingPolicy {
    fn default() -> Self {
        RoutingPolicy {
            assisted_head_start_s: 10 * 60,
            appointment_head_start_s: 20 * 60,
            appointment_early_s: 5 * 60,
            transfer_head_start_s: 10 * 60,
            preference_step_s: 5 * 60,
        }
    }
}

impl RoutingPolicy {
    /// The largest head start any class can have.
    pub fn max_head_start_s(&self) -> i64 {
        self.assisted_head_start_s.max(self.appointment_head_start_s).max(self.transfer_head_start_s).max(0)
    }

    /// A waiting visitor is never called after someone whose ranking time (arrival, or slot for
    /// an appointment) is later than theirs by more than this, at a counter serving `services`
    /// services.
    pub fn overtaking_bound_s(&self, services: usize) -> i64 {
        self.max_head_start_s() + self.preference_step_s.max(0) * services.saturating_sub(1) as i64
    }
}

/// A configuration that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BranchError {
    #[error("branch id {0:?} must be 1-32 characters of A-Z a-z 0-9 _ -")]
    BadBranchId(String),
    #[error("the case prefix {0:?} must be 1-8 ASCII letters or digits")]
    BadCasePrefix(String),
    #[error("service code {0:?} must be 1-3 capital letters")]
    BadServiceCode(String),
    #[error("counter id {0:?} must be 1-32 characters of A-Z a-z 0-9 _ -")]
    BadCounterId(String),
    #[error("{kind} {id:?} is defined twice")]
    Duplicate { kind: &'static str, id: String },
    #[error("counter {counter:?} serves unknown service {service:?}")]
    UnknownService { counter: String, service: String },
    #[error("staff {staff:?} may serve unknown service {service:?}")]
    UnknownSkill { staff: String, service: String },
    #[error("staff {staff:?} names unknown counter {counter:?}")]
    UnknownCounter { staff: String, counter: String },
    #[error("a branch needs at least one service and one counter")]
    Empty,
    #[error("service {0:?} needs a mean service time above zero")]
    ZeroServiceTime(String),
    #[error("service {0:?}: remote max_share_percent must be 1 to 100")]
    BadRemoteShare(String),
}

impl Branch {
    /// Checks identifiers, references and duplicates.
    pub fn validate(&self) -> Result<(), BranchError> {
        if !is_valid_id(&self.id) {
            return Err(BranchError::BadBranchId(self.id.clone()));
        }
        let prefix_ok =
            (1..=8).contains(&self.case_prefix.len()) && self.case_prefix.bytes().all(|b| b.is_ascii_alphanumeric());
        if !prefix_ok {
            return Err(BranchError::BadCasePrefix(self.case_prefix.clone()));
        }
        if self.services.is_empty() || self.counters.is_empty() {
            return Err(BranchError::Empty);
        }
        for (i, s) in self.services.iter().enumerate() {
            let ok = (1..=3).contains(&s.code.len()) && s.code.bytes().all(|b| b.is_ascii_uppercase());
            if !ok {
                return Err(BranchError::BadServiceCode(s.code.clone()));
            }
            if s.mean_service_s == 0 {
                return Err(BranchError::ZeroServiceTime(s.code.clone()));
            }
            if s.remote.is_some_and(|r| !(1..=100).contains(&r.max_share_percent)) {
                return Err(BranchError::BadRemoteShare(s.code.clone()));
            }
            if self.services[..i].iter().any(|o| o.code == s.code) {
                return Err(BranchError::Duplicate { kind: "service", id: s.code.clone() });
            }
        }
        for (i, c) in self.counters.iter().enumerate() {
            if !is_valid_id(&c.id) {
                return Err(BranchError::BadCounterId(c.id.clone()));
            }
            if self.counters[..i].iter().any(|o| o.id == c.id) {
                return Err(BranchError::Duplicate { kind: "counter", id: c.id.clone() });
            }
            for s in &c.services {
                if self.service_index(s).is_none() {
                    return Err(BranchError::UnknownService { counter: c.id.clone(), service: s.clone() });
                }
            }
        }
        for (i, st) in self.staff.iter().enumerate() {
            if self.staff[..i].iter().any(|o| o.id == st.id) {
                return Err(BranchError::Duplicate { kind: "staff", id: st.id.clone() });
            }
            for c in &st.counters {
                if self.counter_index(c).is_none() {
                    return Err(BranchError::UnknownCounter { staff: st.id.clone(), counter: c.clone() });
                }
            }
            for s in st.services.iter().flatten() {
                if self.service_index(s).is_none() {
                    return Err(BranchError::UnknownSkill { staff: st.id.clone(), service: s.clone() });
                }
            }
        }
        Ok(())
    }

    pub fn service_index(&self, code: &str) -> Option<usize> {
        self.services.iter().position(|s| s.code == code)
    }

    pub fn counter_index(&self, id: &str) -> Option<usize> {
        self.counters.iter().position(|c| c.id == id)
    }

    /// The skills of staff member `staff` (the services they may serve); `None` when they may
    /// serve every service, or are not in the branch file.
    pub fn skills_of(&self, staff: &str) -> Option<&[String]> {
        self.staff.iter().find(|s| s.id == staff).and_then(|s| s.services.as_deref())
    }

    /// The services counter `counter` (an index) calls while `staff` is signed in there: the
    /// counter's, in its order of preference, that the person may serve.
    pub fn services_at(&self, counter: usize, staff: Option<&str>) -> Vec<String> {
        let skills = staff.and_then(|s| self.skills_of(s));
        let services = self.counters[counter].services.iter();
        services.filter(|code| skills.is_none_or(|k| k.contains(code))).cloned().collect()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn names(en: &str) -> Names {
        Names { ar: format!("{en} (ar)"), en: en.to_string() }
    }

    /// A small branch for unit tests: services A, B, C; counter 1 serves all, 2 serves A then B,
    /// 3 serves C.
    pub(crate) fn small_branch() -> Branch {
        let service = |code: &str| Service {
            code: code.into(),
            name: names(code),
            target_wait_s: 900,
            mean_service_s: 480,
            remote: Some(RemoteJoin { until_close_s: 1800, max_share_percent: 50 }),
        };
        let counter = |id: &str, services: &[&str]| Counter {
            id: id.into(),
            name: names(id),
            services: services.iter().map(|s| s.to_string()).collect(),
            open_at_start: true,
        };
        Branch {
            id: "test".into(),
            case_prefix: "TST".into(),
            name: names("Test branch"),
            utc_offset: FixedOffset::east_opt(3 * 3600).unwrap(),
            services: vec![service("A"), service("B"), service("C")],
            counters: vec![counter("1", &["A", "B", "C"]), counter("2", &["A", "B"]), counter("3", &["C"])],
            staff: vec![],
            routing: RoutingPolicy::default(),
            rating_window_s: 600,
            cases: CasePolicy::default(),
            remote: RemotePolicy { grace_s: 600, closes: NaiveTime::from_hms_opt(16, 0, 0) },
        }
    }

    #[test]
    fn the_test_branch_is_valid() {
        small_branch().validate().unwrap();
    }

    #[test]
    fn broken_configurations_are_named() {
        let mut b = small_branch();
        b.counters[1].services.push("Z".into());
        assert_eq!(b.validate(), Err(BranchError::UnknownService { counter: "2".into(), service: "Z".into() }));
        let mut b = small_branch();
        b.services[1].code = "A".into();
        assert_eq!(b.validate(), Err(BranchError::Duplicate { kind: "service", id: "A".into() }));
        let mut b = small_branch();
        b.counters[0].id = "1/+".into();
        assert_eq!(b.validate(), Err(BranchError::BadCounterId("1/+".into())));
        let mut b = small_branch();
        b.staff.push(Staff {
            id: "s1".into(),
            name: names("s1"),
            role: Role::Staff,
            pin_hash: None,
            counters: vec![],
            services: Some(vec!["Q".into()]),
        });
        assert_eq!(b.validate(), Err(BranchError::UnknownSkill { staff: "s1".into(), service: "Q".into() }));
        let mut b = small_branch();
        b.services[0].code = "a1".into();
        assert_eq!(b.validate(), Err(BranchError::BadServiceCode("a1".into())));
    }
}
