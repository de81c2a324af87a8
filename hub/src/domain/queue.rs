//! The live queue of one branch: waiting visitors, counters, and every rule for changing them.
//!
//! Each operation first *decides* (checks the rules against the current state and lists the
//! events that follow, changing nothing) and then *applies* those events one by one with
//! [`Queue::apply`], the only function that mutates. A refused operation therefore never leaves
//! the queue half-changed, and the state after an operation is exactly what its events say.
//!
//! Only live visits (waiting, called, serving) are kept; a visit that ends leaves the queue and is
//! handed to the caller in [`Done::visits`] for storage.
use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use dawr_protocol::api::{Outcome, Priority, RatingReason, ServiceSummary, Source, TicketStatus};
use dawr_protocol::device::{self, CounterStatus, CurrentStatus, CurrentVisit, ErrorCode};

use super::branch::Branch;
use super::estimate::{self, Capacity, Estimate, ServiceTime};
use super::event::{Event, Recorded};
use super::routing::{self, CLASSES, Lane, LaneKey, Lanes};
use super::visit::{Visit, VisitId};

/// Why an operation was refused. Nothing changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    #[error("unknown service {0}")]
    UnknownService(String),
    #[error("no open counter serves service {0} right now")]
    ServiceClosed(String),
    #[error("unknown counter {0}")]
    UnknownCounter(String),
    #[error("no ticket {0} in the queue")]
    UnknownTicket(String),
    #[error("ticket {0} is not waiting")]
    NotWaiting(String),
    #[error("counter {counter} does not serve ticket {ticket}")]
    NotServedHere { counter: String, ticket: String },
    #[error("nobody is at counter {0}")]
    NoCurrentVisitor(String),
    #[error("ticket {ticket} is still at counter {counter}: complete or transfer it first")]
    VisitorAtCounter { counter: String, ticket: String },
    #[error("ticket {ticket} is {status}, so it cannot be {action}")]
    WrongState { ticket: String, status: &'static str, action: &'static str },
    #[error("counter {0} is paused; resume it first")]
    CounterPaused(String),
    #[error("counter {0} is closed; resume it to open it")]
    CounterClosed(String),
    #[error("no visit ended at counter {0} recently enough to be rated")]
    NothingToRate(String),
    #[error("visit {0} is already rated")]
    AlreadyRated(String),
    #[error(
        "counter {counter} has no rating {rating} to add a reason to (never rated, or another visit has ended there since)"
    )]
    UnknownRating { counter: String, rating: VisitId },
    #[error("rating {0} already has a reason")]
    ReasonAlreadyGiven(VisitId),
    #[error("the reason for rating {0} came too late: a reason is taken within the rating window after the score")]
    ReasonTooLate(VisitId),
    #[error("ticket {0} has not checked in at the kiosk yet")]
    NotArrived(String),
    #[error("ticket {0} did not join remotely: it has nothing to check in")]
    NotRemote(String),
    #[error("{1}: {0}")]
    Remote(RemoteRefusal, String),
    #[error("the branch closed service {0} for today")]
    ClosedForDay(String),
    #[error("{0}")]
    Invalid(&'static str),
}

/// Why a service takes no remote ticket now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RemoteRefusal {
    #[error("this service is not open to joining from a phone")]
    NotOpen,
    #[error("the branch closed this service for today")]
    ClosedToday,
    #[error("joining from a phone has ended for today (the branch closes soon)")]
    TooLate,
    #[error("remote tickets already hold the largest share of this service's line they may")]
    Full,
}

impl QueueError {
    /// The wire code devices and HTTP clients see.
    pub fn code(&self) -> ErrorCode {
        match self {
            QueueError::UnknownService(_) => ErrorCode::UnknownService,
            QueueError::ServiceClosed(_) => ErrorCode::ServiceClosed,
            QueueError::UnknownCounter(_) => ErrorCode::UnknownCounter,
            QueueError::UnknownTicket(_) => ErrorCode::UnknownTicket,
            QueueError::NotWaiting(_) => ErrorCode::NotWaiting,
            QueueError::NotServedHere { .. } => ErrorCode::NotServedHere,
            QueueError::NoCurrentVisitor(_) => ErrorCode::NoCurrentVisitor,
            QueueError::VisitorAtCounter { .. } => ErrorCode::VisitorAtCounter,
            QueueError::WrongState { .. } => ErrorCode::WrongState,
            QueueError::CounterPaused(_) => ErrorCode::CounterPaused,
            QueueError::CounterClosed(_) => ErrorCode::CounterClosed,
            QueueError::NothingToRate(_) => ErrorCode::NothingToRate,
            QueueError::AlreadyRated(_) => ErrorCode::AlreadyRated,
            QueueError::UnknownRating { .. } => ErrorCode::UnknownRating,
            QueueError::ReasonAlreadyGiven(_) => ErrorCode::ReasonAlreadyGiven,
            QueueError::ReasonTooLate(_) => ErrorCode::NothingToRate,
            QueueError::NotArrived(_) | QueueError::NotRemote(_) => ErrorCode::WrongState,
            QueueError::Remote(..) | QueueError::ClosedForDay(_) => ErrorCode::ServiceClosed,
            QueueError::Invalid(_) => ErrorCode::Malformed,
        }
    }
}

/// A request for a new ticket. The token is chosen by the caller (randomness is IO).
#[derive(Debug, Clone, PartialEq)]
pub struct IssueRequest {
    pub service: String,
    pub priority: Priority,
    pub appointment_at: Option<DateTime<Utc>>,
    pub token: String,
}

/// What staff (or their button) do at a counter.
#[derive(Debug, Clone, PartialEq)]
pub enum CounterAction {
    /// Finish the visitor at the counter, if any, and call the best waiting visitor.
    Next {
        outcome: Option<Outcome>,
    },
    /// Finish the visitor at the counter, if any, and call `ticket` out of order.
    Call {
        ticket: String,
        reason: Option<String>,
        outcome: Option<Outcome>,
    },
    Recall,
    Start,
    Complete {
        outcome: Option<Outcome>,
    },
    NoShow,
    Transfer {
        to_service: Option<String>,
        to_counter: Option<String>,
        note: Option<String>,
    },
    Pause {
        reason: Option<String>,
    },
    Resume,
}

/// A counter's live state.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterRuntime {
    pub status: CounterStatus,
    pub current: Option<VisitId>,
    pub pause_reason: Option<String>,
    pub changed_at: DateTime<Utc>,
    /// The visit that last ended (completed) here: the one an exit rating is for.
    pub last_completed: Option<LastCompleted>,
}

/// The visit that last ended at a counter.
#[derive(Debug, Clone, PartialEq)]
pub struct LastCompleted {
    pub visit: VisitId,
    pub number: String,
    pub ended_at: DateTime<Utc>,
    pub rated: bool,
    /// A rating given without a reason: the reason may still follow (see
    /// [`Queue::add_rating_reason`]). `None` once a reason is given, or if none was asked.
    pub open_rating: Option<OpenRating>,
}

/// A score still waiting for its reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenRating {
    pub score: u8,
    pub rated_at: DateTime<Utc>,
}

/// The visit a rating (or its reason) was recorded for; its id is the rating's id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RatedVisit {
    pub visit: VisitId,
    pub number: String,
}

/// The result of an accepted operation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Done {
    pub events: Vec<Recorded>,
    /// Every visit the events touched, as it is afterwards (including visits that ended).
    pub visits: Vec<Visit>,
    /// Indexes of the counters the events touched.
    pub counters: Vec<usize>,
    /// The visit now called to the counter, for `next`, `call` and `recall`.
    pub called: Option<VisitId>,
}

/// What the hub stored, to start from after a restart.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Visits that are waiting, called or serving.
    pub visits: Vec<Visit>,
    /// Counter id and its state, for counters that have one stored.
    pub counters: Vec<(String, CounterRuntime)>,
    /// The last ticket number used per local day and service.
    pub numbers: Vec<(NaiveDate, String, u32)>,
    /// The last case sequence used per local day.
    pub case_seqs: Vec<(NaiveDate, u32)>,
    /// One more than the highest visit id ever used.
    pub next_id: VisitId,
    /// The days a manager closed (today's and later ones).
    pub closures: Vec<Closure>,
}

/// A day a manager closed, for one service or (`service` none) the whole branch: no ticket is
/// issued for it that day. Not an event of the log (it is about a day, not a visit): it is
/// stored in `day_closures` in the transaction of the cancellations it causes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Closure {
    /// The branch's local date.
    pub day: NaiveDate,
    pub service: Option<String>,
}

impl Closure {
    /// Whether it closes `service` on `day`.
    pub fn covers(&self, service: &str, day: NaiveDate) -> bool {
        self.day == day && self.service.as_deref().is_none_or(|s| s == service)
    }
}

/// The live queue. See the module documentation.
#[derive(Debug, Clone)]
pub struct Queue {
    branch: Arc<Branch>,
    visits: HashMap<VisitId, Visit>,
    lanes: Lanes,
    counters: Vec<CounterRuntime>,
    numbers: HashMap<(NaiveDate, String), u32>,
    case_seqs: HashMap<NaiveDate, u32>,
    next_id: VisitId,
    service_times: Vec<ServiceTime>,
    closures: Vec<Closure>,
    /// Who is signed in at each counter (by index): their skills limit what it calls.
    staff: Vec<Option<String>>,
}

impl Queue {
    /// An empty queue for a branch opening for the first time.
    pub fn new(branch: Arc<Branch>, now: DateTime<Utc>) -> Self {
        Self::restore(branch, Snapshot { next_id: 1, ..Snapshot::default() }, now).0
    }

    /// Rebuilds the queue from stored state. Returns the ids of live visits whose service or
    /// counter no longer exists in the configuration (they cannot be called; the caller decides).
    pub fn restore(branch: Arc<Branch>, snapshot: Snapshot, now: DateTime<Utc>) -> (Self, Vec<VisitId>) {
        let counters = branch
            .counters
            .iter()
            .map(|c| {
                let stored = snapshot.counters.iter().find(|(id, _)| *id == c.id);
                stored.map(|(_, rt)| rt.clone()).unwrap_or(CounterRuntime {
                    status: if c.open_at_start { CounterStatus::Open } else { CounterStatus::Closed },
                    current: None,
                    pause_reason: None,
                    changed_at: now,
                    last_completed: None,
                })
            })
            .collect();
        let service_times = branch.services.iter().map(|s| ServiceTime::new(s.mean_service_s)).collect();
        let branch_counters = branch.counters.len();
        let mut queue = Queue {
            branch,
            visits: HashMap::new(),
            lanes: Lanes::default(),
            counters,
            numbers: snapshot.numbers.into_iter().map(|(d, s, n)| ((d, s), n)).collect(),
            case_seqs: snapshot.case_seqs.into_iter().collect(),
            next_id: snapshot.next_id.max(1),
            service_times,
            closures: snapshot.closures,
            staff: vec![None; branch_counters],
        };
        // A counter's `current` must point at a live visit at that counter, and vice versa.
        for rt in &mut queue.counters {
            rt.current = None;
        }
        let mut orphans = Vec::new();
        for visit in snapshot.visits {
            let id = visit.id;
            queue.next_id = queue.next_id.max(id + 1);
            let placed = match visit.status {
                TicketStatus::Waiting => {
                    queue.lane_of(&visit).map(|(lane, key)| queue.lanes.insert(lane, key)).is_some()
                }
                TicketStatus::Called | TicketStatus::Serving => {
                    match visit.counter.as_deref().and_then(|c| queue.branch.counter_index(c)) {
                        Some(c) if queue.counters[c].current.is_none() => {
                            queue.counters[c].current = Some(id);
                            true
                        }
                        _ => false,
                    }
                }
                _ => continue,
            };
            if !placed {
                orphans.push(id);
            }
            queue.visits.insert(id, visit);
        }
        (queue, orphans)
    }

    pub fn branch(&self) -> &Arc<Branch> {
        &self.branch
    }

    /// The same queue under a new configuration of the branch (services, counters, routing,
    /// staff): live visits, counters' states (by id), ticket numbers, case sequences and learned
    /// service times (by code) carry over. `Err` names the live visits the new configuration has
    /// no place for (their service or counter is gone); the caller then keeps this queue.
    pub fn reconfigured(&self, branch: Arc<Branch>, now: DateTime<Utc>) -> Result<Queue, Vec<VisitId>> {
        let mut visits: Vec<Visit> = self.visits.values().cloned().collect();
        visits.sort_by_key(|v| v.id);
        let snapshot = Snapshot {
            visits,
            counters: self
                .branch
                .counters
                .iter()
                .zip(&self.counters)
                .map(|(c, rt)| (c.id.clone(), rt.clone()))
                .collect(),
            numbers: self.numbers.iter().map(|((day, service), n)| (*day, service.clone(), *n)).collect(),
            case_seqs: self.case_seqs.iter().map(|(day, n)| (*day, *n)).collect(),
            next_id: self.next_id,
            closures: self.closures.clone(),
        };
        let (mut queue, orphans) = Queue::restore(branch, snapshot, now);
        if !orphans.is_empty() {
            return Err(orphans);
        }
        for (i, service) in queue.branch.services.iter().enumerate() {
            if let Some(old) = self.branch.service_index(&service.code) {
                queue.service_times[i] = self.service_times[old];
            }
        }
        for (old, staff) in self.staff.iter().enumerate() {
            if let Some(new) = queue.branch.counter_index(&self.branch.counters[old].id) {
                queue.staff[new].clone_from(staff);
            }
        }
        Ok(queue)
    }

    /// A live visit.
    pub fn visit(&self, id: VisitId) -> Option<&Visit> {
        self.visits.get(&id)
    }

    /// All live visits, in no particular order.
    pub fn visits(&self) -> impl Iterator<Item = &Visit> {
        self.visits.values()
    }

    pub fn counter(&self, index: usize) -> &CounterRuntime {
        &self.counters[index]
    }

    /// Records who is signed in at counter `counter` (an index; `None`: nobody). From then on
    /// the counter calls only the services both it and that person have (see
    /// [`Branch::services_at`](super::branch::Branch::services_at)). Not an event: sessions
    /// live in memory, and the hub tells the queue again after a restart.
    pub fn set_staff(&mut self, counter: usize, staff: Option<String>) {
        if let Some(slot) = self.staff.get_mut(counter) {
            *slot = staff;
        }
    }

    /// The skills that limit what counter `counter` calls: those of the person signed in there,
    /// `None` if nobody is or they may serve everything.
    pub fn skills_at(&self, counter: usize) -> Option<&[String]> {
        self.staff.get(counter)?.as_deref().and_then(|s| self.branch.skills_of(s))
    }

    /// Whether the person at counter `counter` may serve service `code`.
    fn skilled_at(&self, counter: usize, code: &str) -> bool {
        self.skills_at(counter).is_none_or(|k| k.iter().any(|s| s == code))
    }

    /// Learned mean service time of a service, in seconds.
    pub fn mean_service_s(&self, service: usize) -> f64 {
        self.service_times[service].mean_s()
    }

    // ----- Operations -------------------------------------------------------------------------

    /// Issues a ticket.
    pub fn issue(&mut self, req: IssueRequest, now: DateTime<Utc>) -> Result<(Done, VisitId), QueueError> {
        let service =
            self.branch.service_index(&req.service).ok_or_else(|| QueueError::UnknownService(req.service.clone()))?;
        if self.closed_on(&req.service, self.local_day(now)) {
            return Err(QueueError::ClosedForDay(req.service));
        }
        if self.capacity(service).counters <= 0.0 {
            return Err(QueueError::ServiceClosed(req.service));
        }
        let (source, appointment_at) = match (req.priority, req.appointment_at) {
            (Priority::Appointment, Some(at)) => (Source::Appointment, Some(at)),
            (Priority::Appointment, None) => {
                return Err(QueueError::Invalid("an appointment ticket needs appointment_at"));
            }
            (_, Some(_)) => return Err(QueueError::Invalid("appointment_at needs priority appointment")),
            (_, None) => (Source::WalkIn, None),
        };
        Ok(self.issue_as(service, req, source, appointment_at, now))
    }

    /// Issues a remote ticket (joined from a phone): in the normal class, ranked from now, and
    /// not called until its holder checks in ([`Queue::arrive`]). Refused unless the service is
    /// open to remote joining now ([`Queue::remote_open`]).
    pub fn issue_remote(
        &mut self,
        service_code: &str,
        token: String,
        now: DateTime<Utc>,
    ) -> Result<(Done, VisitId), QueueError> {
        let service =
            self.branch.service_index(service_code).ok_or_else(|| QueueError::UnknownService(service_code.into()))?;
        self.remote_open(service, now).map_err(|r| QueueError::Remote(r, service_code.into()))?;
        if self.capacity(service).counters <= 0.0 {
            return Err(QueueError::ServiceClosed(service_code.into()));
        }
        let req =
            IssueRequest { service: service_code.into(), priority: Priority::Normal, appointment_at: None, token };
        Ok(self.issue_as(service, req, Source::Remote, None, now))
    }

    /// Whether service `service` (an index) takes a remote ticket now: open to it, not within
    /// its `until_close` of the branch's closing time, and its remote tickets under their share
    /// of the waiting line (counting the new one; a line without one may always take one).
    pub fn remote_open(&self, service: usize, now: DateTime<Utc>) -> Result<(), RemoteRefusal> {
        let rules = self.branch.services[service].remote.ok_or(RemoteRefusal::NotOpen)?;
        if self.closed_on(&self.branch.services[service].code, self.local_day(now)) {
            return Err(RemoteRefusal::ClosedToday);
        }
        if let Some(closes) = self.branch.remote.closes {
            let local = now.with_timezone(&self.branch.utc_offset).time();
            let until = closes - chrono::Duration::seconds(i64::from(rules.until_close_s));
            if local >= until.min(closes) {
                return Err(RemoteRefusal::TooLate);
            }
        }
        let (remote, all) = self.remote_waiting(service);
        let allowed = ((all + 1) * usize::from(rules.max_share_percent) / 100).max(1);
        if remote + 1 > allowed {
            return Err(RemoteRefusal::Full);
        }
        Ok(())
    }

    /// Remote tickets waiting for a service, and everyone waiting for it.
    pub fn remote_waiting(&self, service: usize) -> (usize, usize) {
        let code = &self.branch.services[service].code;
        let waiting = self.visits.values().filter(|v| v.status == TicketStatus::Waiting && v.service == *code);
        waiting.fold((0, 0), |(remote, all), v| (remote + usize::from(v.source == Source::Remote), all + 1))
    }

    /// A remote ticket's holder checked in at the kiosk: it may be called from now on. Checking
    /// in again changes nothing (no events).
    pub fn arrive(&mut self, id: VisitId, now: DateTime<Utc>) -> Result<Done, QueueError> {
        let visit = self.visits.get(&id).ok_or_else(|| QueueError::UnknownTicket(id.to_string()))?;
        if visit.source != Source::Remote {
            return Err(QueueError::NotRemote(visit.number.clone()));
        }
        if visit.arrived_at.is_some() {
            return Ok(Done { visits: vec![visit.clone()], ..Done::default() });
        }
        if visit.status != TicketStatus::Waiting {
            return Err(QueueError::NotWaiting(visit.number.clone()));
        }
        Ok(self.commit(vec![Event::Arrived { visit: id }], now, None))
    }

    /// Remote tickets passed over at the front more than the branch's grace time ago without
    /// checking in: no-shows now.
    pub fn expire_unarrived(&mut self, now: DateTime<Utc>) -> Done {
        let grace = chrono::Duration::seconds(i64::from(self.branch.remote.grace_s));
        let mut late: Vec<VisitId> = self
            .visits
            .values()
            .filter(|v| v.status == TicketStatus::Waiting && !v.callable())
            .filter(|v| v.held_at.is_some_and(|held| now - held >= grace))
            .map(|v| v.id)
            .collect();
        late.sort_unstable();
        self.commit(late.into_iter().map(|visit| Event::ArrivalMissed { visit }).collect(), now, None)
    }

    fn issue_as(
        &mut self,
        service: usize,
        req: IssueRequest,
        source: Source,
        appointment_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> (Done, VisitId) {
        let local_day = self.local_day(now);
        let code = &self.branch.services[service].code;
        let number_seq = self.numbers.get(&(local_day, code.clone())).copied().unwrap_or(0) + 1;
        let case_seq = self.case_seqs.get(&local_day).copied().unwrap_or(0) + 1;
        let id = self.next_id;
        let visit = Visit {
            id,
            number: format!("{code}{number_seq:03}"),
            local_day,
            service: code.clone(),
            priority: req.priority,
            source,
            status: TicketStatus::Waiting,
            case_ref: format!("{}-{}-{case_seq:06}", self.branch.case_prefix, local_day.format("%Y%m%d")),
            token: req.token,
            issued_at: now,
            appointment_at,
            counter: None,
            target_counter: None,
            called_at: None,
            started_at: None,
            ended_at: None,
            recalls: 0,
            transfers: 0,
            outcome: None,
            transfer_note: None,
            rating: None,
            rating_reason: None,
            arrived_at: None,
            held_at: None,
        };
        let done = self.commit(vec![Event::Issued { visit: Box::new(visit) }], now, None);
        (done, id)
    }

    /// Cancels a waiting ticket (the visitor left, or the kiosk undid it).
    pub fn cancel(&mut self, id: VisitId, now: DateTime<Utc>) -> Result<Done, QueueError> {
        let visit = self.visits.get(&id).ok_or_else(|| QueueError::UnknownTicket(id.to_string()))?;
        if visit.status != TicketStatus::Waiting {
            return Err(QueueError::NotWaiting(visit.number.clone()));
        }
        Ok(self.commit(vec![Event::Cancelled { visit: id, reason: None }], now, None))
    }

    /// Closes the days before `today` (branch local time): tickets of those days still waiting
    /// were not served and are cancelled with reason `day_closed`. Visitors at counters are left
    /// to their counters.
    pub fn close_days_before(&mut self, today: NaiveDate, now: DateTime<Utc>) -> Done {
        let mut stale: Vec<&Visit> =
            self.visits.values().filter(|v| v.status == TicketStatus::Waiting && v.local_day < today).collect();
        stale.sort_by_key(|v| v.id);
        let events =
            stale.iter().map(|v| Event::Cancelled { visit: v.id, reason: Some("day_closed".into()) }).collect();
        self.commit(events, now, None)
    }

    /// Whether a manager closed `service` on `day`.
    pub fn closed_on(&self, service: &str, day: NaiveDate) -> bool {
        self.closures.iter().any(|c| c.covers(service, day))
    }

    /// The days closed, in no particular order.
    pub fn closures(&self) -> &[Closure] {
        &self.closures
    }

    /// A manager closes `closure.day` for its service (or the whole branch): from now on no
    /// ticket is issued for it that day. Closing today cancels its waiting tickets with reason
    /// `service_closed` (visitors called to a counter are left to it); a later day has none yet.
    /// Closing a closed day again changes nothing (`None`). Refused for an unknown service or a
    /// day already over.
    pub fn close_day(&mut self, closure: Closure, now: DateTime<Utc>) -> Result<Option<Done>, QueueError> {
        if let Some(service) = &closure.service
            && self.branch.service_index(service).is_none()
        {
            return Err(QueueError::UnknownService(service.clone()));
        }
        let today = self.local_day(now);
        if closure.day < today {
            return Err(QueueError::Invalid("that day is over: only today or a later day can be closed"));
        }
        if self.closures.contains(&closure) {
            return Ok(None);
        }
        let mut closing: Vec<&Visit> = self
            .visits
            .values()
            .filter(|v| v.status == TicketStatus::Waiting && closure.day == today && closure.covers(&v.service, today))
            .collect();
        closing.sort_by_key(|v| v.id);
        let events =
            closing.iter().map(|v| Event::Cancelled { visit: v.id, reason: Some("service_closed".into()) }).collect();
        self.closures.retain(|c| c.day >= today);
        self.closures.push(closure);
        Ok(Some(self.commit(events, now, None)))
    }

    /// The branch's local date at `now`.
    pub fn local_day(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.branch.utc_offset).date_naive()
    }

    /// Records an exit rating for the visit that last ended at `counter_id`, if it ended within
    /// the branch's rating window and is not rated yet. The score is recorded at once, with or
    /// without its reason; a reason may follow ([`Queue::add_rating_reason`]). Returns the rated
    /// visit (its id is the rating's id).
    pub fn rate(
        &mut self,
        counter_id: &str,
        score: u8,
        reason: Option<RatingReason>,
        now: DateTime<Utc>,
    ) -> Result<(Done, RatedVisit), QueueError> {
        let c =
            self.branch.counter_index(counter_id).ok_or_else(|| QueueError::UnknownCounter(counter_id.to_string()))?;
        if !(1..=5).contains(&score) {
            return Err(QueueError::Invalid("score must be 1 to 5"));
        }
        let window = chrono::Duration::seconds(i64::from(self.branch.rating_window_s));
        let last = self.counters[c]
            .last_completed
            .as_ref()
            .filter(|l| now - l.ended_at <= window)
            .ok_or_else(|| QueueError::NothingToRate(counter_id.to_string()))?;
        if last.rated {
            return Err(QueueError::AlreadyRated(last.number.clone()));
        }
        let rated = RatedVisit { visit: last.visit, number: last.number.clone() };
        let event = Event::Rated { visit: last.visit, counter: counter_id.to_string(), score, reason };
        Ok((self.commit(vec![event], now, None), rated))
    }

    /// Adds the reason to a rating given without one at `counter_id`: the rating must be that
    /// counter's latest (no other visit has ended there since), have no reason yet, and have been
    /// given within the branch's rating window. Still one rating: nothing else changes.
    pub fn add_rating_reason(
        &mut self,
        counter_id: &str,
        rating: VisitId,
        reason: RatingReason,
        now: DateTime<Utc>,
    ) -> Result<(Done, RatedVisit), QueueError> {
        let c =
            self.branch.counter_index(counter_id).ok_or_else(|| QueueError::UnknownCounter(counter_id.to_string()))?;
        let unknown = || QueueError::UnknownRating { counter: counter_id.to_string(), rating };
        let last =
            self.counters[c].last_completed.as_ref().filter(|l| l.visit == rating && l.rated).ok_or_else(unknown)?;
        let open = last.open_rating.ok_or(QueueError::ReasonAlreadyGiven(rating))?;
        if now - open.rated_at > chrono::Duration::seconds(i64::from(self.branch.rating_window_s)) {
            return Err(QueueError::ReasonTooLate(rating));
        }
        let rated = RatedVisit { visit: last.visit, number: last.number.clone() };
        let event = Event::RatingReasonAdded { visit: rating, counter: counter_id.to_string(), reason };
        Ok((self.commit(vec![event], now, None), rated))
    }

    /// The rating at `counter_id` still waiting for its reason (within the rating window), with
    /// its score: what the exit page offers to explain.
    pub fn rating_awaiting_reason(&self, counter_id: &str, now: DateTime<Utc>) -> Option<(RatedVisit, u8)> {
        let last = self.counters[self.branch.counter_index(counter_id)?].last_completed.as_ref()?;
        let open = last.open_rating?;
        (now - open.rated_at <= chrono::Duration::seconds(i64::from(self.branch.rating_window_s)))
            .then(|| (RatedVisit { visit: last.visit, number: last.number.clone() }, open.score))
    }

    /// The counter whose latest rating is `rating` (for a reason sent without a counter).
    pub fn counter_of_rating(&self, rating: VisitId) -> Option<&str> {
        self.counters.iter().zip(&self.branch.counters).find_map(|(rt, counter)| {
            rt.last_completed.as_ref().filter(|l| l.visit == rating && l.rated).map(|_| counter.id.as_str())
        })
    }

    /// Carries out a counter action.
    pub fn counter_action(
        &mut self,
        counter_id: &str,
        action: CounterAction,
        now: DateTime<Utc>,
    ) -> Result<Done, QueueError> {
        let c =
            self.branch.counter_index(counter_id).ok_or_else(|| QueueError::UnknownCounter(counter_id.to_string()))?;
        let counter = counter_id.to_string();
        let rt = &self.counters[c];
        let current = rt.current.and_then(|id| self.visits.get(&id));
        let ensure_open = || match rt.status {
            CounterStatus::Open => Ok(()),
            CounterStatus::Paused => Err(QueueError::CounterPaused(counter.clone())),
            CounterStatus::Closed => Err(QueueError::CounterClosed(counter.clone())),
        };
        let need_current = || current.ok_or_else(|| QueueError::NoCurrentVisitor(counter.clone()));
        let wrong = |v: &Visit, action: &'static str| QueueError::WrongState {
            ticket: v.number.clone(),
            status: status_name(v.status),
            action,
        };
        let finish_current = |outcome: Option<Outcome>| {
            current.map(|v| Event::Completed { visit: v.id, counter: counter.clone(), outcome })
        };

        let (events, called): (Vec<Event>, Option<VisitId>) = match action {
            CounterAction::Next { outcome } => {
                ensure_open()?;
                let mut events: Vec<Event> = finish_current(outcome).into_iter().collect();
                let callable =
                    |id: VisitId| self.visits.get(&id).is_none_or(|v| v.callable() && self.skilled_at(c, &v.service));
                let skills = self.skills_at(c);
                let (best, passed) = self.lanes.best_callable(&self.branch, c, skills, now, callable);
                // Remote tickets at the front whose holders are not here yet keep their place;
                // each holder is told once (the event), and the grace time starts. (Visitors
                // passed over because the staff member lacks their service are not held.)
                let newly_held = |v: &Visit| !v.callable() && v.held_at.is_none();
                for held in passed.iter().filter(|p| self.visits.get(&p.key.visit).is_some_and(newly_held)) {
                    events.push(Event::HeldForArrival { visit: held.key.visit, counter: counter.clone() });
                }
                if let Some(best) = best {
                    events.push(Event::Called {
                        visit: best.key.visit,
                        counter: counter.clone(),
                        out_of_order_reason: None,
                    });
                }
                (events, best.map(|b| b.key.visit))
            }
            CounterAction::Call { ticket, reason, outcome } => {
                ensure_open()?;
                let Some(visit) = self.find_by_number(&ticket) else {
                    // Issued today and gone from the queue: finished or cancelled.
                    return Err(if self.issued_on(&ticket, self.local_day(now)) {
                        QueueError::NotWaiting(ticket)
                    } else {
                        QueueError::UnknownTicket(ticket)
                    });
                };
                if visit.status != TicketStatus::Waiting {
                    return Err(QueueError::NotWaiting(ticket));
                }
                if !visit.callable() {
                    return Err(QueueError::NotArrived(ticket));
                }
                let lane = self.lane_of(visit).map(|(lane, _)| lane);
                let eligible = Lanes::lanes_for_counter(&self.branch, c, self.skills_at(c))
                    .any(|(l, _)| Some(l) == lane)
                    && self.skilled_at(c, &visit.service);
                if !eligible {
                    return Err(QueueError::NotServedHere { counter: counter.clone(), ticket });
                }
                let id = visit.id;
                let mut events: Vec<Event> = finish_current(outcome).into_iter().collect();
                events.push(Event::Called {
                    visit: id,
                    counter: counter.clone(),
                    out_of_order_reason: Some(reason.unwrap_or_default()),
                });
                (events, Some(id))
            }
            CounterAction::Recall => {
                let v = need_current()?;
                if v.status != TicketStatus::Called {
                    return Err(wrong(v, "recalled"));
                }
                (vec![Event::Recalled { visit: v.id, counter: counter.clone() }], Some(v.id))
            }
            CounterAction::Start => {
                let v = need_current()?;
                if v.status != TicketStatus::Called {
                    return Err(wrong(v, "started"));
                }
                (vec![Event::Started { visit: v.id, counter: counter.clone() }], None)
            }
            CounterAction::Complete { outcome } => {
                need_current()?;
                (finish_current(outcome).into_iter().collect(), None)
            }
            CounterAction::NoShow => {
                let v = need_current()?;
                if v.status != TicketStatus::Called {
                    return Err(wrong(v, "marked no-show"));
                }
                (vec![Event::NoShow { visit: v.id, counter: counter.clone() }], None)
            }
            CounterAction::Transfer { to_service, to_counter, note } => {
                let v = need_current()?;
                if to_service.is_none() && to_counter.is_none() {
                    return Err(QueueError::Invalid("transfer needs to_service or to_counter"));
                }
                if let Some(s) = to_service.as_ref().filter(|s| self.branch.service_index(s).is_none()) {
                    return Err(QueueError::UnknownService(s.clone()));
                }
                if let Some(t) = to_counter.as_ref().filter(|t| self.branch.counter_index(t).is_none()) {
                    return Err(QueueError::UnknownCounter(t.clone()));
                }
                let event =
                    Event::Transferred { visit: v.id, from_counter: counter.clone(), to_service, to_counter, note };
                (vec![event], None)
            }
            CounterAction::Pause { reason } => {
                if let Some(v) = current {
                    return Err(QueueError::VisitorAtCounter { counter: counter.clone(), ticket: v.number.clone() });
                }
                match rt.status {
                    CounterStatus::Paused => (vec![], None),
                    _ => (vec![Event::CounterPaused { counter: counter.clone(), reason }], None),
                }
            }
            CounterAction::Resume => match rt.status {
                CounterStatus::Open => (vec![], None),
                _ => (vec![Event::CounterResumed { counter: counter.clone() }], None),
            },
        };
        Ok(self.commit(events, now, called))
    }

    fn commit(&mut self, events: Vec<Event>, now: DateTime<Utc>, called: Option<VisitId>) -> Done {
        let mut done = Done { called, ..Done::default() };
        for event in events {
            let recorded = Recorded { at: now, event, staff: None, device: None };
            let (visit, counter) = self.apply(&recorded);
            if let Some(visit) = visit {
                match done.visits.iter_mut().find(|v| v.id == visit.id) {
                    Some(slot) => *slot = visit,
                    None => done.visits.push(visit),
                }
            }
            if let Some(c) = counter.filter(|c| !done.counters.contains(c)) {
                done.counters.push(c);
            }
            done.events.push(recorded);
        }
        done
    }

    /// Applies one event: the only place the queue changes. Returns the touched visit as it is
    /// now and the touched counter's index.
    pub fn apply(&mut self, recorded: &Recorded) -> (Option<Visit>, Option<usize>) {
        let at = recorded.at;
        let counter_index = recorded.event.counter().and_then(|c| self.branch.counter_index(c));
        match &recorded.event {
            Event::Issued { visit } => {
                let (letters, number_seq) = visit.number_parts();
                let entry = self.numbers.entry((visit.local_day, letters.to_string())).or_default();
                *entry = (*entry).max(number_seq);
                let entry = self.case_seqs.entry(visit.local_day).or_default();
                *entry = (*entry).max(visit.case_seq());
                self.next_id = self.next_id.max(visit.id + 1);
                if let Some((lane, key)) = self.lane_of(visit) {
                    self.lanes.insert(lane, key);
                }
                self.visits.insert(visit.id, (**visit).clone());
                return (Some((**visit).clone()), None);
            }
            Event::Called { visit, counter, .. } => {
                self.leave_lane(*visit);
                self.update(*visit, |v| {
                    v.status = TicketStatus::Called;
                    v.counter = Some(counter.clone());
                    v.target_counter = None;
                    v.called_at = Some(at);
                });
                self.set_counter(counter_index, at, |rt| rt.current = Some(*visit));
            }
            Event::Recalled { visit, .. } => {
                self.update(*visit, |v| v.recalls += 1);
            }
            Event::Started { visit, .. } => {
                self.update(*visit, |v| {
                    v.status = TicketStatus::Serving;
                    v.started_at = Some(at);
                });
                self.set_counter(counter_index, at, |_| ());
            }
            Event::Completed { visit, outcome, .. } => {
                if let Some(v) = self.visits.get(visit) {
                    let since = v.called_at.unwrap_or(at);
                    let service = self.branch.service_index(&v.service);
                    let duration_s = (at - since).num_milliseconds() as f64 / 1000.0;
                    if let Some(s) = service {
                        self.service_times[s].observe(duration_s);
                    }
                }
                self.update(*visit, |v| {
                    v.status = TicketStatus::Done;
                    v.ended_at = Some(at);
                    v.outcome = *outcome;
                });
                let number = self.visits.get(visit).map(|v| v.number.clone()).unwrap_or_default();
                self.set_counter(counter_index, at, |rt| {
                    rt.current = None;
                    rt.last_completed =
                        Some(LastCompleted { visit: *visit, number, ended_at: at, rated: false, open_rating: None });
                });
            }
            Event::NoShow { visit, .. } => {
                self.update(*visit, |v| {
                    v.status = TicketStatus::NoShow;
                    v.ended_at = Some(at);
                });
                self.set_counter(counter_index, at, |rt| rt.current = None);
            }
            Event::Transferred { visit, to_service, to_counter, note, .. } => {
                self.update(*visit, |v| {
                    v.status = TicketStatus::Waiting;
                    if let Some(s) = to_service {
                        v.service = s.clone();
                    }
                    v.target_counter = to_counter.clone();
                    v.counter = None;
                    v.called_at = None;
                    v.started_at = None;
                    v.recalls = 0;
                    v.transfers += 1;
                    v.transfer_note = note.clone();
                });
                if let Some((lane, key)) = self.visits.get(visit).and_then(|v| self.lane_of(v)) {
                    self.lanes.insert(lane, key);
                }
                self.set_counter(counter_index, at, |rt| rt.current = None);
            }
            Event::Cancelled { visit, .. } => {
                self.leave_lane(*visit);
                self.update(*visit, |v| {
                    v.status = TicketStatus::Cancelled;
                    v.ended_at = Some(at);
                });
            }
            Event::Arrived { visit } => {
                self.update(*visit, |v| v.arrived_at = Some(at));
            }
            Event::HeldForArrival { visit, .. } => {
                self.update(*visit, |v| v.held_at = v.held_at.or(Some(at)));
            }
            Event::ArrivalMissed { visit } => {
                self.leave_lane(*visit);
                self.update(*visit, |v| {
                    v.status = TicketStatus::NoShow;
                    v.ended_at = Some(at);
                });
            }
            Event::CounterPaused { reason, .. } => {
                self.set_counter(counter_index, at, |rt| {
                    rt.status = CounterStatus::Paused;
                    rt.pause_reason = reason.clone();
                });
            }
            Event::CounterResumed { .. } => {
                self.set_counter(counter_index, at, |rt| {
                    rt.status = CounterStatus::Open;
                    rt.pause_reason = None;
                });
            }
            Event::Rated { visit, score, reason, .. } => {
                if let Some(last) =
                    counter_index.and_then(|c| self.counters[c].last_completed.as_mut()).filter(|l| l.visit == *visit)
                {
                    last.rated = true;
                    last.open_rating = reason.is_none().then_some(OpenRating { score: *score, rated_at: at });
                }
            }
            Event::RatingReasonAdded { visit, .. } => {
                if let Some(last) =
                    counter_index.and_then(|c| self.counters[c].last_completed.as_mut()).filter(|l| l.visit == *visit)
                {
                    last.open_rating = None;
                }
            }
        }
        let visit = recorded.event.visit().and_then(|id| {
            let v = self.visits.get(&id)?.clone();
            if v.status.is_final() {
                self.visits.remove(&id);
            }
            Some(v)
        });
        (visit, counter_index)
    }

    fn update(&mut self, id: VisitId, change: impl FnOnce(&mut Visit)) {
        if let Some(v) = self.visits.get_mut(&id) {
            change(v);
        }
    }

    fn set_counter(&mut self, index: Option<usize>, at: DateTime<Utc>, change: impl FnOnce(&mut CounterRuntime)) {
        if let Some(rt) = index.and_then(|c| self.counters.get_mut(c)) {
            change(rt);
            rt.changed_at = at;
        }
    }

    fn leave_lane(&mut self, id: VisitId) {
        if let Some((lane, key)) = self.visits.get(&id).and_then(|v| self.lane_of(v)) {
            self.lanes.remove(lane, key);
        }
    }

    /// The lane a waiting visit belongs in, or `None` if its service or counter is unknown.
    fn lane_of(&self, v: &Visit) -> Option<(Lane, LaneKey)> {
        let key = LaneKey { ranking_ms: v.ranking_time().timestamp_millis(), visit: v.id };
        let class = v.priority;
        let lane = match &v.target_counter {
            Some(c) => Lane::Counter { counter: self.branch.counter_index(c)?, class },
            None => Lane::Service { service: self.branch.service_index(&v.service)?, class },
        };
        Some((lane, key))
    }

    /// Whether ticket `number` (`A017`) was issued on local day `day`.
    fn issued_on(&self, number: &str, day: NaiveDate) -> bool {
        let digits = number.find(|c: char| c.is_ascii_digit()).unwrap_or(number.len());
        let (letters, seq) = number.split_at(digits);
        let Ok(seq) = seq.parse::<u32>() else { return false };
        seq > 0 && self.numbers.get(&(day, letters.to_string())).is_some_and(|&last| seq <= last)
    }

    fn find_by_number(&self, number: &str) -> Option<&Visit> {
        self.visits
            .values()
            .filter(|v| v.number == number)
            .max_by_key(|v| (v.status == TicketStatus::Waiting, v.issued_at, v.id))
    }

    // ----- Queries ----------------------------------------------------------------------------

    /// Waiting visitors counter `counter` may call, best first.
    pub fn waiting_for_counter(&self, counter: usize, now: DateTime<Utc>) -> Vec<&Visit> {
        self.lanes
            .ordered_for_counter(&self.branch, counter, self.skills_at(counter), now)
            .into_iter()
            .filter_map(|c| self.visits.get(&c.key.visit))
            .filter(|v| self.skilled_at(counter, &v.service))
            .collect()
    }

    /// Number of visitors waiting for a service (in its own lanes).
    pub fn waiting_in_service(&self, service: usize) -> usize {
        CLASSES.iter().map(|&class| self.lanes.len(Lane::Service { service, class })).sum()
    }

    /// The counters working on a service now (see [`estimate`]).
    pub fn capacity(&self, service: usize) -> Capacity {
        let code = &self.branch.services[service].code;
        let mut capacity = Capacity { counters: 0.0, idle: 0 };
        for (index, (counter, rt)) in self.branch.counters.iter().zip(&self.counters).enumerate() {
            if rt.status != CounterStatus::Open || !counter.services.contains(code) || !self.skilled_at(index, code) {
                continue;
            }
            let waiting_here: usize = counter
                .services
                .iter()
                .filter(|s| self.skilled_at(index, s))
                .filter_map(|s| self.branch.service_index(s))
                .map(|s| self.waiting_in_service(s))
                .sum();
            let share = (self.waiting_in_service(service) + 1) as f64 / (waiting_here + 1) as f64;
            capacity.counters += share.min(1.0);
            if rt.current.is_none() {
                capacity.idle += 1;
            }
        }
        capacity
    }

    /// How many visitors of `service` would be called before one of class `class` ranked at
    /// `ranking_ms` (`own` is the visitor's key if already waiting).
    fn ahead(
        &self,
        service: usize,
        class: Priority,
        ranking_ms: i64,
        own: Option<LaneKey>,
        now: DateTime<Utc>,
    ) -> usize {
        let policy = &self.branch.routing;
        let me = own.unwrap_or(LaneKey { ranking_ms, visit: self.next_id });
        let my_head_start = routing::head_start_ms(policy, Lane::Service { service, class }, me, now);
        let mut ahead = 0;
        for other in CLASSES {
            let lane = Lane::Service { service, class: other };
            if other == class {
                ahead += match own {
                    Some(key) => self.lanes.rank(lane, key),
                    None => self.lanes.len(lane),
                };
                continue;
            }
            // Keys ahead score higher: ranking < mine + their head start - my head start.
            let count_below =
                |head_start_ms: i64| self.lanes.count_before(lane, me.ranking_ms + head_start_ms - my_head_start + 1);
            ahead += match other {
                Priority::Appointment => {
                    // Appointments get their head start only near their slot.
                    let near = now.timestamp_millis() + policy.appointment_early_s * 1000 + 1;
                    let with_head_start =
                        count_below(policy.appointment_head_start_s * 1000).min(self.lanes.count_before(lane, near));
                    let without = count_below(0).saturating_sub(self.lanes.count_before(lane, near));
                    with_head_start + without
                }
                _ => count_below(routing::head_start_ms(policy, lane, me, now)),
            };
        }
        ahead
    }

    /// The estimate for a ticket taken now.
    pub fn estimate_new(&self, service: usize, class: Priority, now: DateTime<Utc>) -> Option<Estimate> {
        let ahead = self.ahead(service, class, now.timestamp_millis(), None, now);
        estimate::expected_wait(ahead as u32, self.capacity(service), self.mean_service_s(service))
    }

    /// The estimate for a waiting visit.
    pub fn estimate_for(&self, id: VisitId, now: DateTime<Utc>) -> Option<Estimate> {
        let visit = self.visits.get(&id).filter(|v| v.status == TicketStatus::Waiting)?;
        let (lane, key) = self.lane_of(visit)?;
        let service = match lane {
            Lane::Service { service, .. } => service,
            // Transferred to one counter: only that counter's line is ahead.
            Lane::Counter { counter, class } => {
                let ahead = self.lanes.rank(Lane::Counter { counter, class }, key);
                let busy = self.counters[counter].current.is_some() as u32;
                let capacity = Capacity { counters: 1.0, idle: 1 - busy };
                let mean = self.branch.service_index(&visit.service).map_or(600.0, |s| self.mean_service_s(s));
                return estimate::expected_wait(ahead as u32, capacity, mean);
            }
        };
        let ahead = self.ahead(service, visit.priority, key.ranking_ms, Some(key), now);
        estimate::expected_wait(ahead as u32, self.capacity(service), self.mean_service_s(service))
    }

    /// What a kiosk shows for every service.
    pub fn service_summaries(&self, now: DateTime<Utc>) -> Vec<ServiceSummary> {
        self.branch
            .services
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let estimate = self.estimate_new(i, Priority::Normal, now);
                ServiceSummary {
                    code: s.code.clone(),
                    name: s.name.clone(),
                    open: estimate.is_some() && !self.closed_on(&s.code, self.local_day(now)),
                    waiting: self.waiting_in_service(i) as u32,
                    estimated_wait_s: estimate.map_or(0, |e| e.wait_s),
                    estimated_wait_range_s: estimate.map_or([0, 0], |e| [e.low_s, e.high_s]),
                    target_wait_s: s.target_wait_s,
                }
            })
            .collect()
    }

    /// A counter's state as published on `…/counters/{c}/state`.
    pub fn counter_state(&self, index: usize, now: DateTime<Utc>) -> device::CounterState {
        let rt = &self.counters[index];
        let current = rt.current.and_then(|id| self.visits.get(&id)).map(|v| CurrentVisit {
            ticket: bounded(&v.number),
            service: bounded(&v.service),
            status: if v.status == TicketStatus::Serving { CurrentStatus::Serving } else { CurrentStatus::Called },
            since: timestamp(v.started_at.or(v.called_at).unwrap_or(now)),
            recalls: v.recalls.min(u32::from(u16::MAX)) as u16,
            case_ref: Some(bounded(&v.case_ref)),
        });
        device::CounterState {
            counter: bounded(&self.branch.counters[index].id),
            status: rt.status,
            current,
            waiting: self.lanes.waiting_for_counter(&self.branch, index, self.skills_at(index)) as u32,
            updated_at: timestamp(rt.changed_at),
        }
    }
}

/// A visit status's name as the API spells it.
pub fn status_name(status: TicketStatus) -> &'static str {
    match status {
        TicketStatus::Waiting => "waiting",
        TicketStatus::Called => "called",
        TicketStatus::Serving => "serving",
        TicketStatus::Done => "done",
        TicketStatus::NoShow => "no_show",
        TicketStatus::Cancelled => "cancelled",
    }
}

/// RFC 3339 with seconds and `Z`, as every Dawr message spells time.
pub fn timestamp<const N: usize>(at: DateTime<Utc>) -> heapless::String<N> {
    bounded(&at.to_rfc3339_opts(SecondsFormat::Secs, true))
}

/// Copies text into a bounded string, cutting at a character boundary if it is too long.
pub fn bounded<const N: usize>(text: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    for ch in text.chars() {
        if out.push(ch).is_err() {
            break;
        }
    }
    out
}
