//! The engine: the one thread that owns the branch's [`Queue`] and serialises every command.
//!
//! HTTP handlers and the MQTT intake send [`Request`]s through an [`EngineHandle`]. The engine
//! applies each to the queue (pure, microseconds), hands the resulting [`Change`] to the store's
//! writer, and attaches a continuation that — only once the change is committed — answers the
//! caller and queues the MQTT messages that follow (reply, counter state, call, board).
//!
//! Messages that only summarise (the board's waiting counts, counters' waiting numbers) are
//! coalesced: a [`Request::Tick`] a few times a second publishes what changed. They also go
//! through the writer, so nothing is published ahead of the change it reflects. The first tick
//! of a new local day also closes the earlier days (their waiting tickets are cancelled).
//!
//! Repeated requests are recognised: counter commands and ratings by (counter, sending device,
//! id), ticket requests by their `request_id`; they are answered again (marked `replay`), never
//! acted on twice. A repeated id with a different body is refused `id_reused`. A `malformed`
//! refusal does not use up its id (nothing about the command was understood), nor do
//! `unknown_counter` and `storage_unavailable` (nothing changed): every other answer does.
//!
//! If the writer reports a failed transaction, the engine rebuilds the queue from the database
//! before taking the next request (see [`crate::store`] for the epoch rule).
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread::JoinHandle;

use chrono::{DateTime, Duration, SubsecRound, Utc};
use dawr_protocol::api::{
    Board, Call, CounterSummary, IssueTicket, Names, RatingReason, ServiceSummary, Ticket, TicketStatus,
};
use dawr_protocol::device::{Action, CounterState, ErrorCode, Presence, PresenceStatus, Reply};
use dawr_protocol::topics::Topic;
use rand::RngCore;
use tokio::sync::{mpsc, oneshot};

use crate::domain::queue::{Done, bounded};
use crate::domain::{
    Branch, Closure, CounterAction, Estimate, Event, IssueRequest, Queue, QueueError, Recorded, Visit, VisitId,
};
use crate::store::{self, Change, FailedEpoch, IssuedRequest, LoggedCommand, StoreError, Write};

/// How long command ids are remembered for de-duplication after a restart.
const COMMAND_MEMORY: Duration = Duration::hours(48);

/// The `command_log` namespace of ticket requests' idempotency keys (`#` is never in a counter id).
const TICKET_REQUESTS: &str = "#tickets";

/// A refusal, as HTTP and MQTT report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub code: ErrorCode,
    pub message: String,
}

impl From<QueueError> for Failure {
    fn from(e: QueueError) -> Self {
        Failure { code: e.code(), message: e.to_string() }
    }
}

impl Failure {
    fn storage(e: impl std::fmt::Display) -> Self {
        Failure { code: ErrorCode::StorageUnavailable, message: format!("the change was not stored: {e}") }
    }
}

/// Why a remote ticket was not issued.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JoinFailure {
    /// The queue's rules refused it (the service is closed to it, full, …).
    #[error(transparent)]
    Refused(QueueError),
    #[error("the ticket was not stored: {0}")]
    Storage(String),
}

/// Something asked of a counter, from a device (MQTT) or an app (HTTP). Ids are shared: a
/// repeated id is answered again, never acted on twice.
#[derive(Debug, Clone, PartialEq)]
pub struct CounterCommand {
    /// The de-duplication id; `None` for HTTP calls that gave none.
    pub id: Option<String>,
    /// The device that sent it (a command's `device`): ids are scoped to it. `None` for v1
    /// devices and HTTP, whose ids are scoped to the counter.
    pub device: Option<String>,
    pub operation: Operation,
    /// Who does it over HTTP: the staff member of the session that sent it, or the enrolled
    /// device (a rating device). `None` for MQTT devices (a counter button, a rating terminal).
    /// The events at the counter carry the staff member who did it, else whoever is signed in
    /// there, and the device that asked.
    pub by: Option<Author>,
}

/// Who asked for a change over HTTP, recorded on its events (`staff` or `device` in the event's
/// payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Author {
    /// A staff member's session.
    Staff(String),
    /// An enrolled device (its id): a kiosk, a rating device.
    Device(String),
}

impl Author {
    /// The staff member, if a person.
    pub fn staff(&self) -> Option<&str> {
        match self {
            Author::Staff(id) => Some(id),
            Author::Device(_) => None,
        }
    }

    /// The device, if one.
    pub fn device(&self) -> Option<&str> {
        match self {
            Author::Device(id) => Some(id),
            Author::Staff(_) => None,
        }
    }

    /// Stamps an event with this author.
    fn stamp(&self, recorded: &mut Recorded) {
        match self {
            Author::Staff(id) => recorded.staff = Some(id.clone()),
            Author::Device(id) => recorded.device = Some(id.clone()),
        }
    }
}

/// What a counter command does (serialised, it is the body a repeated id must match).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub enum Operation {
    /// A staff action (`…/command`, `POST /api/v1/counters/{c}/{action}`).
    Act(ActionRequest),
    /// An exit rating of the visit that last ended here (`…/rating`, `POST /api/v1/ratings`).
    Rate { score: u8, reason: Option<RatingReason> },
    /// The reason for a rating given here earlier without one (`…/rating` with `rating`,
    /// `POST /api/v1/ratings/{rating}/reason`).
    AddReason { rating: VisitId, reason: RatingReason },
}

/// A staff action with its optional fields, as the wire carries them.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ActionRequest {
    pub action: Action,
    pub ticket: Option<String>,
    pub to_service: Option<String>,
    pub to_counter: Option<String>,
    pub outcome: Option<dawr_protocol::api::Outcome>,
    pub note: Option<String>,
    pub reason: Option<String>,
}

impl ActionRequest {
    fn to_action(&self) -> Result<CounterAction, QueueError> {
        Ok(match self.action {
            Action::Next => CounterAction::Next { outcome: self.outcome },
            Action::Call => CounterAction::Call {
                ticket: self.ticket.clone().ok_or(QueueError::Invalid("call needs a ticket"))?,
                reason: self.reason.clone(),
                outcome: self.outcome,
            },
            Action::Recall => CounterAction::Recall,
            Action::Start => CounterAction::Start,
            Action::Complete => CounterAction::Complete { outcome: self.outcome },
            Action::NoShow => CounterAction::NoShow,
            Action::Transfer if self.to_service.is_none() && self.to_counter.is_none() => {
                return Err(QueueError::Invalid("transfer needs to_service or to_counter"));
            }
            Action::Transfer => CounterAction::Transfer {
                to_service: self.to_service.clone(),
                to_counter: self.to_counter.clone(),
                note: self.note.clone(),
            },
            Action::Pause => CounterAction::Pause { reason: self.reason.clone() },
            Action::Resume => CounterAction::Resume,
        })
    }
}

/// Where a counter command's reply goes.
#[derive(Debug)]
pub enum ReplyTo {
    /// Back to an HTTP handler.
    Http(oneshot::Sender<Reply>),
    /// Published on `…/counters/{counter}/reply`.
    Mqtt,
}

/// One message to the broker (always QoS 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// What can be asked of the engine.
#[derive(Debug)]
pub enum Request {
    Issue {
        request: IssueTicket,
        /// Who issues it (recorded on the `issued` event).
        by: Author,
        reply: oneshot::Sender<Result<Ticket, Failure>>,
    },
    Cancel {
        id: VisitId,
        /// The staff member who cancels it (recorded on the event).
        by: String,
        reply: oneshot::Sender<Result<Ticket, Failure>>,
    },
    Counter {
        counter: String,
        command: CounterCommand,
        reply: ReplyTo,
    },
    /// The reason for a rating, wherever it was given (`POST /api/v1/ratings/{rating}/reason`):
    /// handled as [`Operation::AddReason`] at the counter whose latest rating it is.
    RatingReason {
        rating: VisitId,
        command: CounterCommand,
        reply: oneshot::Sender<Reply>,
    },
    /// The counter of a rating that can still take its reason (`None`: none can).
    RatingCounter {
        rating: VisitId,
        reply: oneshot::Sender<Option<String>>,
    },
    /// The rating at a counter still waiting for its reason (the exit page offers to give it).
    AwaitingReason {
        counter: String,
        reply: oneshot::Sender<Option<(crate::domain::queue::RatedVisit, u8)>>,
    },
    /// A remote ticket (joined from a phone, `/join`): in the normal class, ranked from now,
    /// called only once its holder has checked in ([`Request::Arrive`]).
    JoinRemote {
        service: String,
        reply: oneshot::Sender<Result<Ticket, JoinFailure>>,
    },
    /// A remote ticket's holder checked in at the kiosk (`POST /api/v1/checkins` with the
    /// ticket's check-in code); checking in again answers the same ticket.
    Arrive {
        id: VisitId,
        by: Author,
        reply: oneshot::Sender<Result<Ticket, Failure>>,
    },
    /// A live ticket (`None` if it is not in the queue: look in the database).
    Ticket {
        id: VisitId,
        reply: oneshot::Sender<Option<Ticket>>,
    },
    /// A live ticket by its page token (`None` if not in the queue: look in the database).
    TicketByToken {
        token: String,
        reply: oneshot::Sender<Option<Ticket>>,
    },
    Services {
        reply: oneshot::Sender<Vec<ServiceSummary>>,
    },
    /// The services that take a remote ticket now (open to it, before the end of remote
    /// joining, under their share, with a counter open), as a kiosk sees them.
    RemoteServices {
        reply: oneshot::Sender<Vec<ServiceSummary>>,
    },
    Counters {
        reply: oneshot::Sender<Vec<CounterSummary>>,
    },
    /// Waiting tickets, best first, for one counter or (without one) the whole branch.
    Waiting {
        counter: Option<String>,
        reply: oneshot::Sender<Result<Vec<Ticket>, Failure>>,
    },
    /// A staff member signed in at a counter (`Some`) or left it (`None`).
    Staff {
        counter: String,
        staff: Option<String>,
    },
    /// The broker connection is (re)established: publish every retained message again.
    PublishAll,
    /// A new configuration of the branch (from the centre), applied between two commands:
    /// `Err` says why it was refused (then nothing changed).
    Reconfigure {
        branch: Arc<Branch>,
        reply: oneshot::Sender<Result<(), String>>,
    },
    /// A manager closes a day for a service or the whole branch ([`Queue::close_day`]): `true`
    /// once newly closed and stored (with who closed it, and the cancellations), `false` if it
    /// was closed already.
    CloseDay {
        closure: Closure,
        by: String,
        reply: oneshot::Sender<Result<bool, Failure>>,
    },
    /// Publish coalesced updates.
    Tick,
}

/// A cloneable way to talk to the engine.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    tx: mpsc::Sender<Request>,
}

/// The engine is gone (the hub is shutting down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hub is shutting down")]
pub struct EngineGone;

impl EngineHandle {
    pub async fn send(&self, request: Request) -> Result<(), EngineGone> {
        self.tx.send(request).await.map_err(|_| EngineGone)
    }

    /// Sends a request built around a reply channel and waits for the answer.
    pub async fn ask<T>(&self, make: impl FnOnce(oneshot::Sender<T>) -> Request) -> Result<T, EngineGone> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx)).await?;
        rx.await.map_err(|_| EngineGone)
    }
}

/// Everything the engine needs to start.
pub struct EngineSetup {
    pub branch: Arc<Branch>,
    /// The database; the engine only reads (shared with HTTP handlers reading finished visits).
    pub db: dawr_web::Db,
    pub writes: mpsc::Sender<Write>,
    pub failed: FailedEpoch,
    pub publications: mpsc::UnboundedSender<Publication>,
    /// Base of the live ticket page links, e.g. `http://127.0.0.1:8080`.
    pub public_url: String,
}

/// Loads the queue from the database and starts the engine thread. The thread ends when every
/// [`EngineHandle`] is dropped.
pub fn start(setup: EngineSetup) -> Result<(EngineHandle, JoinHandle<()>), StoreError> {
    #[cfg(feature = "fault-reply-before-commit")]
    tracing::warn!(
        "built with fault-reply-before-commit, for tests only: changes are acknowledged before they are stored"
    );
    let mut engine = Engine::load(setup)?;
    let (tx, mut rx) = mpsc::channel(4096);
    let thread = std::thread::Builder::new()
        .name("dawr-engine".into())
        .spawn(move || {
            let _essential = store::EssentialThread("dawr-engine");
            while let Some(request) = rx.blocking_recv() {
                engine.handle(request);
            }
            tracing::debug!("engine finished");
        })
        .expect("spawn the engine thread");
    Ok((EngineHandle { tx }, thread))
}

/// What a repeated command id is checked against: the first reply, and the body it answered
/// (`None` for replies stored before bodies were kept: any body matches).
#[derive(Debug, Clone)]
struct Answered {
    reply: Reply,
    body: Option<String>,
}

/// The `command_log` scope of a command's id: its counter, and its device when it named one
/// (`3/button-3`; `/` is in neither id).
fn id_scope(counter: &str, device: Option<&str>) -> String {
    match device {
        Some(device) => format!("{counter}/{device}"),
        None => counter.to_string(),
    }
}

/// The body a repeated id must carry again: the operation, serialised.
fn body_of(operation: &Operation) -> String {
    serde_json::to_string(operation).expect("operations serialise")
}

/// A key of `replies` or `issued_requests`.
enum Remembered {
    Reply((String, String)),
    Issued(String),
}

struct Engine {
    setup: EngineSetup,
    queue: Queue,
    epoch: u64,
    next_seq: i64,
    replies: HashMap<(String, String), Answered>,
    /// Ticket requests' idempotency keys and the visit each one issued.
    issued_requests: HashMap<String, VisitId>,
    /// When each entry of `replies` and `issued_requests` was made, oldest first: they are
    /// forgotten after [`COMMAND_MEMORY`], as `command_log` is read back, so neither map grows
    /// without bound while the hub runs.
    remembered: VecDeque<(DateTime<Utc>, Remembered)>,
    calls: VecDeque<Call>,
    summaries_dirty: bool,
    published_states: Vec<Option<CounterState>>,
    /// The local day whose earlier days are known to be closed.
    day_checked: Option<chrono::NaiveDate>,
    /// Who is signed in at each counter (sessions live in memory, and so does this).
    staff_at: HashMap<String, String>,
}

/// The hub's clock, at the milliseconds the database keeps.
fn now() -> DateTime<Utc> {
    crate::clock::now().trunc_subsecs(3)
}

impl Engine {
    fn load(setup: EngineSetup) -> Result<Engine, StoreError> {
        let mut engine = Engine {
            queue: Queue::new(setup.branch.clone(), now()),
            setup,
            epoch: 0,
            next_seq: 1,
            replies: HashMap::new(),
            issued_requests: HashMap::new(),
            remembered: VecDeque::new(),
            calls: VecDeque::new(),
            summaries_dirty: true,
            published_states: Vec::new(),
            day_checked: None,
            staff_at: HashMap::new(),
        };
        engine.reload()?;
        Ok(engine)
    }

    /// (Re)builds all state from the database.
    fn reload(&mut self) -> Result<(), StoreError> {
        let now = now();
        let conn = self.setup.db.reader();
        let snapshot = store::load_snapshot(&conn)?;
        let (queue, orphans) = Queue::restore(self.setup.branch.clone(), snapshot, now);
        for id in orphans {
            tracing::warn!(
                visit = id,
                "a live visit's service or counter is no longer configured; it cannot be called"
            );
        }
        self.queue = queue;
        self.next_seq = store::next_event_seq(&conn)?;
        self.replies.clear();
        self.issued_requests.clear();
        self.remembered.clear();
        let log = store::load_command_log(&conn, now - COMMAND_MEMORY)?;
        let recent = store::recent_calls(&conn, Board::HISTORY)?;
        drop(conn);
        self.tell_queue_who_is_signed_in();
        for (counter, id, reply, body) in log {
            if counter == TICKET_REQUESTS {
                match serde_json::from_str::<IssuedRequest>(&reply) {
                    Ok(issued) => self.remember_issued(id, issued.visit, now),
                    Err(e) => tracing::warn!(error = %e, "unreadable stored ticket request"),
                }
                continue;
            }
            match serde_json::from_str(&reply) {
                Ok(reply) => self.remember_reply((counter, id), Answered { reply, body }, now),
                Err(e) => tracing::warn!(error = %e, "unreadable stored reply"),
            }
        }
        self.calls =
            recent.into_iter().map(|c| self.call(c.seq, c.at, c.recall, &c.counter, &c.number, &c.service)).collect();
        self.epoch += 1;
        self.summaries_dirty = true;
        self.published_states = vec![None; self.setup.branch.counters.len()];
        self.day_checked = None;
        tracing::info!(live = self.queue.visits().count(), epoch = self.epoch, "queue loaded from the database");
        Ok(())
    }

    /// Gives the queue who is signed in at each counter (their skills limit what it calls).
    fn tell_queue_who_is_signed_in(&mut self) {
        for (counter, staff) in &self.staff_at {
            if let Some(c) = self.setup.branch.counter_index(counter) {
                self.queue.set_staff(c, Some(staff.clone()));
            }
        }
    }

    /// Runs the branch under `branch` from now on, if every live visit keeps its place (see
    /// [`Queue::reconfigured`]); then publishes the board and every counter's state again.
    fn reconfigure(&mut self, branch: Arc<Branch>, now: DateTime<Utc>) -> Result<(), String> {
        if branch.id != self.setup.branch.id {
            return Err(format!("the configuration is for branch {:?}, not {:?}", branch.id, self.setup.branch.id));
        }
        let queue = self
            .queue
            .reconfigured(branch.clone(), now)
            .map_err(|orphans| format!("live visits {orphans:?} would have no service or counter; end them first"))?;
        self.queue = queue;
        self.setup.branch = branch;
        self.published_states = vec![None; self.setup.branch.counters.len()];
        self.summaries_dirty = true;
        self.publish_summaries(now);
        tracing::info!(
            services = self.setup.branch.services.len(),
            counters = self.setup.branch.counters.len(),
            "the branch's new configuration applies"
        );
        Ok(())
    }

    fn handle(&mut self, request: Request) {
        if self.setup.failed.load(Ordering::Acquire) >= self.epoch
            && let Err(e) = self.reload()
        {
            tracing::error!(error = %e, "cannot reload the queue after a failed write");
            refuse(request, Failure::storage(e), &self.setup.publications, &self.setup.branch.id);
            return;
        }
        let now = now();
        match request {
            Request::Issue { request, by, reply } => {
                if let Some(&visit) = request.request_id.as_ref().and_then(|k| self.issued_requests.get(k)) {
                    // A retried request: the same ticket, once the first answer is durable.
                    let ticket = self.existing_ticket(visit, now);
                    self.write(Change::default(), Vec::new(), move |stored| {
                        let _ = reply.send(stored.map_err(Failure::storage).and(ticket));
                    });
                    return;
                }
                let result = self.issue(request, &by, now);
                match result {
                    Ok((change, ticket)) => self.write(change, Vec::new(), move |stored| {
                        let _ = reply.send(stored.map(|()| ticket).map_err(Failure::storage));
                    }),
                    Err(failure) => {
                        let _ = reply.send(Err(failure));
                    }
                }
            }
            Request::CloseDay { closure, by, reply } => match self.queue.close_day(closure.clone(), now) {
                Ok(Some(mut done)) => {
                    for recorded in &mut done.events {
                        recorded.staff = Some(by.clone());
                    }
                    let cancelled = done.events.len();
                    let mut change = self.change(done, now).0;
                    change.closure = Some((closure.clone(), by));
                    tracing::info!(day = %closure.day, service = ?closure.service, cancelled, "a day was closed");
                    self.write(change, Vec::new(), move |stored| {
                        let _ = reply.send(stored.map(|()| true).map_err(Failure::storage));
                    });
                }
                Ok(None) => {
                    let _ = reply.send(Ok(false));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Request::Cancel { id, by, reply } => match self.queue.cancel(id, now) {
                Ok(mut done) => {
                    for recorded in &mut done.events {
                        recorded.staff = Some(by.clone());
                    }
                    let ticket = self.ticket(&done.visits[0], now);
                    let change = self.change(done, now).0;
                    self.write(change, Vec::new(), move |stored| {
                        let _ = reply.send(stored.map(|()| ticket).map_err(Failure::storage));
                    });
                }
                Err(QueueError::UnknownTicket(_)) if self.finished_visit(id) => {
                    // Issued, and gone from the queue: finished or cancelled.
                    let _ = reply.send(Err(Failure {
                        code: ErrorCode::NotWaiting,
                        message: format!("ticket {id} is not waiting (finished or cancelled)"),
                    }));
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Request::Counter { counter, command, reply } => self.counter_command(counter, command, reply, now),
            Request::RatingReason { rating, command, reply } => {
                match self.queue.counter_of_rating(rating).map(str::to_owned) {
                    Some(counter) => self.counter_command(counter, command, ReplyTo::Http(reply), now),
                    None => {
                        let failure = Failure {
                            code: ErrorCode::UnknownRating,
                            message: format!(
                                "no rating {rating} can take a reason now (never given, or another visit has ended at its counter since)"
                            ),
                        };
                        let _ = reply.send(refusal(command.id.as_deref(), &failure));
                    }
                }
            }
            Request::RatingCounter { rating, reply } => {
                let _ = reply.send(self.queue.counter_of_rating(rating).map(str::to_owned));
            }
            Request::AwaitingReason { counter, reply } => {
                let _ = reply.send(self.queue.rating_awaiting_reason(&counter, now));
            }
            Request::JoinRemote { service, reply } => match self.join_remote(&service, now) {
                Ok((change, ticket)) => self.write(change, Vec::new(), move |stored| {
                    let _ = reply.send(stored.map(|()| ticket).map_err(|e| JoinFailure::Storage(e.to_string())));
                }),
                Err(e) => {
                    let _ = reply.send(Err(JoinFailure::Refused(e)));
                }
            },
            Request::Arrive { id, by, reply } => match self.queue.arrive(id, now) {
                Ok(mut done) => {
                    for recorded in &mut done.events {
                        by.stamp(recorded);
                    }
                    let ticket = self.ticket(&done.visits[0], now);
                    let change = self.change(done, now).0;
                    self.write(change, Vec::new(), move |stored| {
                        let _ = reply.send(stored.map(|()| ticket).map_err(Failure::storage));
                    });
                }
                Err(e) => {
                    let _ = reply.send(Err(e.into()));
                }
            },
            Request::Ticket { id, reply } => {
                let _ = reply.send(self.queue.visit(id).map(|v| self.ticket(v, now)));
            }
            Request::TicketByToken { token, reply } => {
                let _ = reply.send(self.queue.visits().find(|v| v.token == token).map(|v| self.ticket(v, now)));
            }
            Request::Services { reply } => {
                let _ = reply.send(self.queue.service_summaries(now));
            }
            Request::RemoteServices { reply } => {
                let summaries = self.queue.service_summaries(now).into_iter().enumerate();
                let open = summaries.filter(|(i, s)| s.open && self.queue.remote_open(*i, now).is_ok());
                let _ = reply.send(open.map(|(_, s)| s).collect());
            }
            Request::Counters { reply } => {
                let _ = reply.send(self.counter_summaries(now));
            }
            Request::Waiting { counter, reply } => {
                let _ = reply.send(self.waiting(counter.as_deref(), now));
            }
            Request::Staff { counter, staff } => {
                if let Some(c) = self.setup.branch.counter_index(&counter) {
                    self.queue.set_staff(c, staff.clone());
                }
                match staff {
                    Some(staff) => self.staff_at.insert(counter, staff),
                    None => self.staff_at.remove(&counter),
                };
                // What the counter calls may have changed: its waiting count, the estimates.
                self.summaries_dirty = true;
            }
            Request::Reconfigure { branch, reply } => {
                let _ = reply.send(self.reconfigure(branch, now));
            }
            Request::PublishAll => {
                self.published_states.iter_mut().for_each(|s| *s = None);
                let branch = &self.setup.branch.id;
                let online = Presence::new(PresenceStatus::Online);
                let presence = json_publication(Topic::DeviceStatus { branch, device: "hub" }, &online, true);
                self.write(Change::default(), vec![presence], |_| ());
                self.publish_summaries(now);
            }
            Request::Tick => {
                self.forget_old_commands(now);
                self.close_past_days(now);
                self.expire_unarrived(now);
                if self.summaries_dirty {
                    self.publish_summaries(now);
                }
            }
        }
    }

    fn remember_reply(&mut self, key: (String, String), reply: Answered, now: DateTime<Utc>) {
        self.remembered.push_back((now, Remembered::Reply(key.clone())));
        self.replies.insert(key, reply);
    }

    fn remember_issued(&mut self, key: String, visit: VisitId, now: DateTime<Utc>) {
        self.remembered.push_back((now, Remembered::Issued(key.clone())));
        self.issued_requests.insert(key, visit);
    }

    /// Forgets the replies and ticket requests older than [`COMMAND_MEMORY`].
    fn forget_old_commands(&mut self, now: DateTime<Utc>) {
        while let Some((at, _)) = self.remembered.front()
            && now - *at > COMMAND_MEMORY
        {
            match self.remembered.pop_front().map(|(_, key)| key) {
                Some(Remembered::Reply(key)) => {
                    self.replies.remove(&key);
                }
                Some(Remembered::Issued(key)) => {
                    self.issued_requests.remove(&key);
                }
                None => break,
            }
        }
    }

    /// At the first tick of a new local day (and the first after start-up), cancels the tickets
    /// earlier days left waiting.
    fn close_past_days(&mut self, now: DateTime<Utc>) {
        let today = self.queue.local_day(now);
        if self.day_checked == Some(today) {
            return;
        }
        self.day_checked = Some(today);
        let done = self.queue.close_days_before(today, now);
        if !done.events.is_empty() {
            tracing::info!(tickets = done.events.len(), %today, "closed earlier days: unserved tickets cancelled");
            let change = self.change(done, now).0;
            self.write(change, Vec::new(), |stored| {
                if let Err(e) = stored {
                    tracing::error!(error = %e, "could not store the closing of earlier days");
                }
            });
        }
    }

    /// Remote tickets passed over at the front whose grace time has run out without a check-in
    /// become no-shows.
    fn expire_unarrived(&mut self, now: DateTime<Utc>) {
        let done = self.queue.expire_unarrived(now);
        if done.events.is_empty() {
            return;
        }
        tracing::info!(tickets = done.events.len(), "remote tickets not checked in within the grace time: no-shows");
        let change = self.change(done, now).0;
        self.write(change, Vec::new(), |stored| {
            if let Err(e) = stored {
                tracing::error!(error = %e, "could not store the no-shows of remote tickets");
            }
        });
    }

    /// Issues a remote ticket (see [`Request::JoinRemote`]).
    fn join_remote(&mut self, service: &str, now: DateTime<Utc>) -> Result<(Change, Ticket), QueueError> {
        let (done, id) = self.queue.issue_remote(service, page_token(), now)?;
        let ticket = self.ticket(self.queue.visit(id).expect("just issued"), now);
        Ok((self.change(done, now).0, ticket))
    }

    /// Whether visit `id` is stored (it has left the queue: finished or cancelled).
    fn finished_visit(&self, id: VisitId) -> bool {
        matches!(store::read_visit(&self.setup.db.reader(), id), Ok(Some(_)))
    }

    /// A ticket already issued, live or finished.
    fn existing_ticket(&self, visit: VisitId, now: DateTime<Utc>) -> Result<Ticket, Failure> {
        if let Some(v) = self.queue.visit(visit) {
            return Ok(self.ticket(v, now));
        }
        let conn = self.setup.db.reader();
        match store::read_visit(&conn, visit) {
            Ok(Some(v)) => Ok(ticket_view(&self.setup.branch, &self.setup.public_url, &v, None)),
            Ok(None) => Err(Failure { code: ErrorCode::UnknownTicket, message: format!("no ticket {visit}") }),
            Err(e) => Err(Failure::storage(e)),
        }
    }

    fn issue(&mut self, request: IssueTicket, by: &Author, now: DateTime<Utc>) -> Result<(Change, Ticket), Failure> {
        let request_id = request.request_id.clone();
        let token = page_token();
        let req = IssueRequest {
            service: request.service,
            priority: request.priority,
            appointment_at: request.appointment_at,
            token,
        };
        let (mut done, id) = self.queue.issue(req, now)?;
        for recorded in &mut done.events {
            by.stamp(recorded);
        }
        let ticket = self.ticket(self.queue.visit(id).expect("just issued"), now);
        let mut change = self.change(done, now).0;
        if let Some(key) = request_id {
            let reply_json = serde_json::to_string(&IssuedRequest { visit: id }).expect("serialise");
            change.command = Some(LoggedCommand {
                counter: TICKET_REQUESTS.into(),
                id: key.clone(),
                reply_json,
                body: String::new(),
            });
            self.remember_issued(key, id, now);
        }
        Ok((change, ticket))
    }

    fn counter_command(&mut self, counter: String, command: CounterCommand, reply_to: ReplyTo, now: DateTime<Utc>) {
        if !self.setup.branch.counters.iter().any(|c| c.id == counter) {
            // Refused traffic costs nothing: no command log row, no remembered reply, no disk
            // write; only the refusal goes out (through the bounded outbox).
            tracing::debug!(counter, "command for an unknown counter refused");
            let mut reply = refusal(command.id.as_deref(), &Failure::from(QueueError::UnknownCounter(counter.clone())));
            reply.device = command.device.as_deref().map(bounded);
            for p in reply_publication(&self.setup.branch.id, &counter, &reply, &reply_to) {
                let _ = self.setup.publications.send(p);
            }
            answer(reply_to, reply);
            return;
        }
        let key = command.id.clone().map(|id| (id_scope(&counter, command.device.as_deref()), id));
        let body = body_of(&command.operation);
        if let Some(answered) = key.as_ref().and_then(|k| self.replies.get(k)) {
            if answered.body.as_ref().is_some_and(|first| *first != body) {
                // The same id for another command: refused, nothing done, nothing remembered.
                tracing::info!(counter, id = ?command.id, "a command id reused for another command refused");
                let failure = Failure {
                    code: ErrorCode::IdReused,
                    message: "this id was already used for another command; send it with a new id".into(),
                };
                let mut reply = refusal(command.id.as_deref(), &failure);
                reply.device = command.device.as_deref().map(bounded);
                for p in reply_publication(&self.setup.branch.id, &counter, &reply, &reply_to) {
                    let _ = self.setup.publications.send(p);
                }
                answer(reply_to, reply);
                return;
            }
            // A repeated id: answer as before (marked a replay), after anything still on its way
            // to the disk.
            tracing::debug!(counter, id = ?command.id, "repeated command answered again");
            let stored = Reply { replay: true, ..answered.reply.clone() };
            let publications = reply_publication(&self.setup.branch.id, &counter, &stored, &reply_to);
            // If the first change failed to store, so does this (the epoch rule): say so.
            let refusals = self.refusals(&counter);
            self.write(Change::default(), publications, move |written| {
                let reply = match written {
                    Ok(()) => stored,
                    Err(e) => refusals.failed(stored, e, &reply_to),
                };
                answer(reply_to, reply)
            });
            return;
        }
        let id = bounded(command.id.as_deref().unwrap_or(""));
        let device = command.device.as_deref().map(bounded);
        let result = match &command.operation {
            Operation::Act(request) => {
                request.to_action().and_then(|action| self.queue.counter_action(&counter, action, now)).map(|done| {
                    let called = done.called.and_then(|id| done.visits.iter().find(|v| v.id == id));
                    let ticket = called.map(|v| v.number.clone());
                    (done, ticket, None)
                })
            }
            Operation::Rate { score, reason } => self
                .queue
                .rate(&counter, *score, *reason, now)
                .map(|(done, rated)| (done, Some(rated.number), Some(rated.visit))),
            Operation::AddReason { rating, reason } => self
                .queue
                .add_rating_reason(&counter, *rating, *reason, now)
                .map(|(done, rated)| (done, Some(rated.number), Some(rated.visit))),
        };
        let (change, calls, reply) = match result {
            Ok((mut done, ticket, rating)) => {
                // The events at this counter carry who did it: the HTTP session's staff member,
                // or (from a device) who is signed in there; and the device that asked.
                let by = command.by.as_ref();
                let staff = by.and_then(Author::staff).or_else(|| self.staff_at.get(&counter).map(String::as_str));
                // The device: an HTTP caller's, else the `device` a command names (the gate has
                // checked it against the MQTT login that sent it).
                let author_device = by.and_then(Author::device).or(command.device.as_deref());
                for recorded in &mut done.events {
                    if recorded.event.counter() == Some(counter.as_str()) {
                        recorded.staff = staff.map(str::to_owned);
                        recorded.device = author_device.map(str::to_owned);
                    }
                }
                let reply =
                    Reply { id, device, ok: true, ticket: ticket.as_deref().map(bounded), rating, ..Reply::default() };
                let (change, calls) = self.change(done, now);
                (change, calls, reply)
            }
            Err(e) => {
                tracing::info!(counter, error = %e, "counter command refused");
                let reply = Reply {
                    id,
                    device,
                    error: Some(e.code()),
                    message: Some(bounded(&e.to_string())),
                    ..Reply::default()
                };
                (Change { at: Some(now), ..Change::default() }, Vec::new(), reply)
            }
        };
        let mut change = change;
        // A malformed command was not understood: its id stays free for the corrected one.
        if let Some(key) = key.filter(|_| reply.error != Some(ErrorCode::Malformed)) {
            change.command = Some(LoggedCommand {
                counter: key.0.clone(),
                id: key.1.clone(),
                reply_json: serde_json::to_string(&reply).expect("replies serialise"),
                body: body.clone(),
            });
            self.remember_reply(key, Answered { reply: reply.clone(), body: Some(body) }, now);
        }
        let branch = self.setup.branch.clone();
        let branch = branch.id.as_str();
        let mut publications = reply_publication(branch, &counter, &reply, &reply_to);
        if reply.ok {
            publications.extend(self.counter_state_publications(now));
            for call in &calls {
                publications.push(json_publication(Topic::Calls { branch }, call, false));
            }
            if !calls.is_empty() {
                publications.push(self.board_publication(now));
            }
        }
        let refusals = self.refusals(&counter);
        self.write(change, publications, move |stored| {
            let reply = match stored {
                Ok(()) => reply,
                Err(e) => refusals.failed(reply, e, &reply_to),
            };
            answer(reply_to, reply);
        });
    }

    /// Where a counter's `storage_unavailable` replies go over MQTT.
    fn refusals(&self, counter: &str) -> Refusals {
        Refusals {
            outbox: self.setup.publications.clone(),
            branch: self.setup.branch.id.clone(),
            counter: counter.to_string(),
        }
    }

    /// Turns a queue result into a storable change, numbering its events; returns the calls it made.
    fn change(&mut self, done: Done, now: DateTime<Utc>) -> (Change, Vec<Call>) {
        let branch = self.setup.branch.clone();
        let mut calls = Vec::new();
        let mut events = Vec::with_capacity(done.events.len());
        for recorded in done.events {
            let seq = self.next_seq;
            self.next_seq += 1;
            if let Event::Called { visit, counter, .. } | Event::Recalled { visit, counter } = &recorded.event
                && let Some(v) = done.visits.iter().find(|v| v.id == *visit)
            {
                let recall = matches!(recorded.event, Event::Recalled { .. });
                let call = self.call(seq, recorded.at, recall, counter, &v.number, &v.service);
                self.calls.push_front(call.clone());
                self.calls.truncate(Board::HISTORY);
                calls.push(call);
            }
            events.push((seq, recorded));
        }
        self.summaries_dirty = true;
        let counters =
            done.counters.iter().map(|&c| (branch.counters[c].id.clone(), self.queue.counter(c).clone())).collect();
        (Change { events, visits: done.visits, counters, command: None, at: Some(now), closure: None }, calls)
    }

    /// Sends a change to the writer; `then` runs once it is durable (or failed), after which the
    /// publications go out (only if it was stored).
    fn write(
        &mut self,
        change: Change,
        publications: Vec<Publication>,
        then: impl FnOnce(Result<(), store::WriteFailed>) + Send + 'static,
    ) {
        let outbox = self.setup.publications.clone();
        let continuation = Box::new(move |stored: Result<(), store::WriteFailed>| {
            if stored.is_ok() {
                for p in publications {
                    let _ = outbox.send(p);
                }
            }
            then(stored);
        });
        // The deliberately broken build (test only, see `hub/Cargo.toml`): acknowledged first.
        #[cfg(feature = "fault-reply-before-commit")]
        let continuation: store::Continuation = {
            let acknowledge: store::Continuation = continuation;
            acknowledge(Ok(()));
            Box::new(|_| ())
        };
        let write = Write { epoch: self.epoch, change, then: continuation };
        if let Err(mpsc::error::SendError(write)) = self.setup.writes.blocking_send(write) {
            (write.then)(Err(store::WriteFailed("the writer has stopped".into())));
        }
    }

    fn publish_summaries(&mut self, now: DateTime<Utc>) {
        let mut publications = self.counter_state_publications(now);
        publications.push(self.board_publication(now));
        self.summaries_dirty = false;
        self.write(Change::default(), publications, |_| ());
    }

    /// Counter states that differ from what was last published.
    fn counter_state_publications(&mut self, now: DateTime<Utc>) -> Vec<Publication> {
        let branch = self.setup.branch.clone();
        let mut out = Vec::new();
        for (i, counter) in branch.counters.iter().enumerate() {
            let state = self.queue.counter_state(i, now);
            if self.published_states[i].as_ref().is_some_and(|old| same_state(old, &state)) {
                continue;
            }
            out.push(json_publication(Topic::CounterState { branch: &branch.id, counter: &counter.id }, &state, true));
            self.published_states[i] = Some(state);
        }
        out
    }

    fn board_publication(&self, now: DateTime<Utc>) -> Publication {
        let branch = &self.setup.branch;
        let board = Board {
            branch: branch.id.clone(),
            name: branch.name.clone(),
            updated_at: now,
            calls: self.calls.iter().cloned().collect(),
            services: self.queue.service_summaries(now),
            utc_offset: Some(branch.utc_offset.to_string()),
        };
        json_publication(Topic::Board { branch: &branch.id }, &board, true)
    }

    fn call(&self, seq: i64, at: DateTime<Utc>, recall: bool, counter: &str, number: &str, service: &str) -> Call {
        let branch = &self.setup.branch;
        let counter_name =
            branch.counter_index(counter).map_or_else(|| same_names(counter), |c| branch.counters[c].name.clone());
        Call {
            id: seq as u64,
            ticket: number.to_string(),
            counter: counter.to_string(),
            service: service.to_string(),
            recall,
            at,
            service_name: service_names(branch, service),
            counter_name,
        }
    }

    fn ticket(&self, visit: &Visit, now: DateTime<Utc>) -> Ticket {
        let estimate = self.queue.estimate_for(visit.id, now);
        ticket_view(&self.setup.branch, &self.setup.public_url, visit, estimate)
    }

    fn counter_summaries(&self, now: DateTime<Utc>) -> Vec<CounterSummary> {
        let branch = &self.setup.branch;
        (0..branch.counters.len())
            .map(|i| CounterSummary {
                name: branch.counters[i].name.clone(),
                services: branch.counters[i].services.clone(),
                serving: branch.services_at(i, self.staff_at.get(&branch.counters[i].id).map(String::as_str)),
                state: self.queue.counter_state(i, now),
            })
            .collect()
    }

    fn waiting(&self, counter: Option<&str>, now: DateTime<Utc>) -> Result<Vec<Ticket>, Failure> {
        let visits: Vec<&Visit> = match counter {
            Some(id) => {
                let c = self
                    .setup
                    .branch
                    .counter_index(id)
                    .ok_or_else(|| Failure::from(QueueError::UnknownCounter(id.into())))?;
                self.queue.waiting_for_counter(c, now)
            }
            None => {
                let mut all: Vec<&Visit> = self.queue.visits().filter(|v| v.status == TicketStatus::Waiting).collect();
                all.sort_by_key(|v| (v.ranking_time(), v.id));
                all
            }
        };
        Ok(visits.into_iter().map(|v| self.ticket(v, now)).collect())
    }
}

/// Two states are the same for publishing if only the timestamp differs.
fn same_state(a: &CounterState, b: &CounterState) -> bool {
    a.status == b.status && a.current == b.current && a.waiting == b.waiting
}

/// The reply to command `id` whose change could not be stored.
/// Publishes a counter's refusals that follow no change: a reply the writer could not store is
/// still answered over MQTT (`storage_unavailable`), not left for the device to time out on. (An
/// accepted reply goes out with its change's publications, which a failed write drops.)
struct Refusals {
    outbox: mpsc::UnboundedSender<Publication>,
    branch: String,
    counter: String,
}

impl Refusals {
    /// The reply made into `storage_unavailable`, published if it goes back over MQTT.
    fn failed(&self, reply: Reply, e: store::WriteFailed, reply_to: &ReplyTo) -> Reply {
        let reply = failed_reply(reply, e);
        for p in reply_publication(&self.branch, &self.counter, &reply, reply_to) {
            let _ = self.outbox.send(p);
        }
        reply
    }
}

fn failed_reply(reply: Reply, e: store::WriteFailed) -> Reply {
    let failure = Failure::storage(e);
    Reply {
        id: reply.id,
        device: reply.device,
        error: Some(failure.code),
        message: Some(bounded(&failure.message)),
        ..Reply::default()
    }
}

fn answer(reply_to: ReplyTo, reply: Reply) {
    if let ReplyTo::Http(tx) = reply_to {
        let _ = tx.send(reply);
    }
}

fn reply_publication(branch: &str, counter: &str, reply: &Reply, reply_to: &ReplyTo) -> Vec<Publication> {
    match reply_to {
        ReplyTo::Mqtt => vec![json_publication(Topic::CounterReply { branch, counter }, reply, false)],
        ReplyTo::Http(_) => Vec::new(),
    }
}

/// A JSON message for a topic.
pub fn json_publication(topic: Topic<'_>, payload: &impl serde::Serialize, retain: bool) -> Publication {
    Publication { topic: topic.to_string(), payload: serde_json::to_vec(payload).expect("messages serialise"), retain }
}

/// Answers a request that could not be handled at all (a counter's command over MQTT on its
/// reply topic).
fn refuse(request: Request, failure: Failure, outbox: &mpsc::UnboundedSender<Publication>, branch: &str) {
    match request {
        Request::Issue { reply, .. } | Request::Cancel { reply, .. } | Request::Arrive { reply, .. } => {
            let _ = reply.send(Err(failure));
        }
        Request::JoinRemote { reply, .. } => {
            let _ = reply.send(Err(JoinFailure::Storage(failure.message)));
        }
        Request::Counter { counter, command, reply } => {
            let mut refused = refusal(command.id.as_deref(), &failure);
            refused.device = command.device.as_deref().map(bounded);
            for p in reply_publication(branch, &counter, &refused, &reply) {
                let _ = outbox.send(p);
            }
            answer(reply, refused)
        }
        Request::RatingReason { command, reply, .. } => {
            let _ = reply.send(refusal(command.id.as_deref(), &failure));
        }
        Request::Waiting { reply, .. } => {
            let _ = reply.send(Err(failure));
        }
        Request::CloseDay { reply, .. } => {
            let _ = reply.send(Err(failure));
        }
        Request::Reconfigure { reply, .. } => {
            let _ = reply.send(Err(failure.message));
        }
        // Dropping the reply channel tells the caller the engine could not answer.
        Request::Ticket { .. }
        | Request::TicketByToken { .. }
        | Request::Services { .. }
        | Request::RemoteServices { .. }
        | Request::Counters { .. }
        | Request::AwaitingReason { .. }
        | Request::RatingCounter { .. }
        | Request::Staff { .. }
        | Request::PublishAll
        | Request::Tick => {}
    }
}

/// A counter command's refusal.
fn refusal(id: Option<&str>, failure: &Failure) -> Reply {
    Reply {
        id: bounded(id.unwrap_or("")),
        error: Some(failure.code),
        message: Some(bounded(&failure.message)),
        ..Reply::default()
    }
}

fn same_names(text: &str) -> Names {
    Names { ar: text.to_string(), en: text.to_string() }
}

fn service_names(branch: &Branch, code: &str) -> Names {
    branch.service_index(code).map_or_else(|| same_names(code), |s| branch.services[s].name.clone())
}

/// A new ticket's page token: 128 random bits in hex.
fn page_token() -> String {
    let mut token = [0u8; 16];
    rand::rng().fill_bytes(&mut token);
    token.iter().map(|b| format!("{b:02x}")).collect()
}

/// A visit as the API shows it.
pub fn ticket_view(branch: &Branch, public_url: &str, v: &Visit, estimate: Option<Estimate>) -> Ticket {
    Ticket {
        id: v.id,
        number: v.number.clone(),
        service: v.service.clone(),
        service_name: service_names(branch, &v.service),
        priority: v.priority,
        source: v.source,
        status: v.status,
        position: estimate.map(|e| e.position),
        estimated_wait_s: estimate.map(|e| e.wait_s),
        estimated_wait_range_s: estimate.map(|e| [e.low_s, e.high_s]),
        counter: v.counter.clone(),
        case_ref: v.case_ref.clone(),
        token: v.token.clone(),
        status_url: format!("{}/t/{}", public_url.trim_end_matches('/'), v.token),
        issued_at: v.issued_at,
        appointment_at: v.appointment_at,
        called_at: v.called_at,
        started_at: v.started_at,
        ended_at: v.ended_at,
        recalls: v.recalls,
        arrived_at: v.arrived_at,
        held_at: v.held_at,
        outcome: v.outcome,
        rating: v.rating,
        rating_reason: v.rating_reason,
    }
}

#[cfg(test)]
mod tests {
    //! The engine against a real database and writer, with a gate between them: a test holds
    //! the engine's writes back and lets them through one at a time, to see what happens before
    //! and after each commit.
    use std::path::PathBuf;
    use std::sync::atomic::AtomicUsize;

    use dawr_protocol::api::Priority;
    use rusqlite::Connection;
    use tokio::sync::Semaphore;

    use super::*;
    use crate::domain::branch::tests::small_branch;

    struct Rig {
        engine: EngineHandle,
        /// Permits for writes to pass from the engine to the writer.
        gate: Arc<Semaphore>,
        /// How many writes have reached the gate.
        arrived: Arc<AtomicUsize>,
        publications: mpsc::UnboundedReceiver<Publication>,
        db: PathBuf,
        _dir: tempfile::TempDir,
    }

    impl Rig {
        /// An engine on a fresh database (`prepare` may fill it first), its gate closed.
        fn start(prepare: impl FnOnce(&Connection)) -> Rig {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join(store::FILE_NAME);
            let write_conn = store::open(&db).unwrap();
            prepare(&write_conn);
            let read = dawr_web::Db::single(store::open(&db).unwrap());
            let failed = FailedEpoch::default();
            let (to_disk, disk) = mpsc::channel(1024);
            store::spawn_writer(write_conn, disk, failed.clone(), Arc::default()).unwrap();
            let (writes, mut held) = mpsc::channel::<Write>(1024);
            let (gate, arrived) = (Arc::new(Semaphore::new(0)), Arc::new(AtomicUsize::new(0)));
            // Writes are counted as they come, and wait in a queue for their permit.
            let (queued, mut queue) = mpsc::unbounded_channel::<Write>();
            {
                let arrived = arrived.clone();
                tokio::spawn(async move {
                    while let Some(write) = held.recv().await {
                        arrived.fetch_add(1, Ordering::SeqCst);
                        let _ = queued.send(write);
                    }
                });
            }
            {
                let gate = gate.clone();
                tokio::spawn(async move {
                    loop {
                        gate.acquire().await.unwrap().forget();
                        let Some(write) = queue.recv().await else { return };
                        if to_disk.send(write).await.is_err() {
                            return;
                        }
                    }
                });
            }
            let (publications, publications_rx) = mpsc::unbounded_channel();
            let setup = EngineSetup {
                branch: Arc::new(small_branch()),
                db: read,
                writes,
                failed,
                publications,
                public_url: "http://hub.test".into(),
            };
            let (engine, _thread) = start(setup).unwrap();
            Rig { engine, gate, arrived, publications: publications_rx, db, _dir: dir }
        }

        /// Lets `n` more writes through to the disk.
        fn pass(&self, n: usize) {
            self.gate.add_permits(n);
        }

        /// Lets every write through from now on.
        fn open_gate(&self) {
            self.gate.add_permits(Semaphore::MAX_PERMITS / 2);
        }

        /// Waits until `n` writes in all have reached the gate.
        async fn writes_arrived(&self, n: usize) {
            let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
            while self.arrived.load(Ordering::SeqCst) < n {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "only {} writes arrived",
                    self.arrived.load(Ordering::SeqCst)
                );
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        }

        /// Sends an issue request; the answer comes on the returned channel.
        async fn issue(&self, service: &str) -> oneshot::Receiver<Result<Ticket, Failure>> {
            let (reply, answer) = oneshot::channel();
            let request = IssueTicket {
                service: service.into(),
                priority: Priority::Normal,
                appointment_at: None,
                request_id: None,
                sms: None,
            };
            let by = Author::Device("kiosk-1".into());
            self.engine.send(Request::Issue { request, by, reply }).await.unwrap();
            answer
        }

        /// A counter's `next`, with a command id, answered to HTTP.
        async fn next(&self, counter: &str, id: &str) -> oneshot::Receiver<Reply> {
            let (reply, answer) = oneshot::channel();
            self.counter(counter, id, ReplyTo::Http(reply)).await;
            answer
        }

        async fn counter(&self, counter: &str, id: &str, reply: ReplyTo) {
            let request = ActionRequest {
                action: Action::Next,
                ticket: None,
                to_service: None,
                to_counter: None,
                outcome: None,
                note: None,
                reason: None,
            };
            let command =
                CounterCommand { id: Some(id.into()), device: None, operation: Operation::Act(request), by: None };
            self.engine.send(Request::Counter { counter: counter.into(), command, reply }).await.unwrap();
        }

        async fn waiting(&self) -> Vec<String> {
            let tickets = self.engine.ask(|reply| Request::Waiting { counter: None, reply }).await.unwrap().unwrap();
            tickets.into_iter().map(|t| t.number).collect()
        }

        /// A second connection to the database, as another process would open it.
        fn open_db(&self) -> Connection {
            store::open(&self.db).unwrap()
        }

        /// The next publication, within 10 s.
        async fn publication(&mut self) -> Publication {
            let wait = std::time::Duration::from_secs(10);
            tokio::time::timeout(wait, self.publications.recv()).await.expect("a publication").unwrap()
        }
    }

    fn reply_of(p: &Publication) -> Option<Reply> {
        p.topic.ends_with("/reply").then(|| serde_json::from_slice(&p.payload).unwrap())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn publications_wait_for_the_disk_and_follow_commit_order() {
        let mut rig = Rig::start(|_| ());
        rig.pass(2);
        for service in ["A", "A"] {
            rig.issue(service).await.await.unwrap().unwrap();
        }
        rig.writes_arrived(2).await;
        // Two buttons press `next` on counters 1 and 2; both changes wait at the gate.
        rig.counter("1", "b1-1", ReplyTo::Mqtt).await;
        rig.counter("2", "b2-1", ReplyTo::Mqtt).await;
        rig.writes_arrived(4).await;
        assert!(rig.publications.try_recv().is_err(), "nothing is published before its change is stored");

        // The first commits: its reply, states, call and board go out, and the call is on disk.
        rig.pass(1);
        let first = rig.publication().await;
        assert_eq!(reply_of(&first).map(|r| r.id.to_string()), Some("b1-1".to_string()), "{first:?}");
        let stored: i64 =
            rig.open_db().query_row("SELECT COUNT(*) FROM events WHERE kind = 'called'", [], |r| r.get(0)).unwrap();
        assert_eq!(stored, 1, "the call was committed before it was published");
        let mut topics = vec![first.topic];
        loop {
            let p = rig.publication().await;
            let board = p.topic.ends_with("/board");
            assert!(reply_of(&p).is_none(), "the second reply came before the first change's board: {p:?}");
            topics.push(p.topic);
            if board {
                break;
            }
        }
        assert!(topics.iter().any(|t| t.ends_with("/calls")), "{topics:?}");
        assert!(rig.publications.try_recv().is_err(), "the second change is not stored yet");

        // Then the second.
        rig.pass(1);
        let second = rig.publication().await;
        assert_eq!(reply_of(&second).map(|r| r.id.to_string()), Some("b2-1".to_string()), "{second:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_a_failed_write_the_engine_reloads_and_refuses_the_rest_of_its_epoch() {
        let rig = Rig::start(|_| ());
        rig.pass(1);
        assert_eq!(rig.issue("A").await.await.unwrap().unwrap().number, "A001");
        // The disk fails for A002 (a trigger stands in for a full disk).
        rig.open_db()
            .execute_batch(
                "CREATE TRIGGER fail_a002 BEFORE INSERT ON events WHEN NEW.payload LIKE '%\"A002\"%' \
                 BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
            )
            .unwrap();
        // A002 and A003 are made in memory one after the other, and written one at a time.
        let a2 = rig.issue("A").await;
        let a3 = rig.issue("A").await;
        rig.writes_arrived(3).await;
        rig.pass(1);
        let a2 = a2.await.unwrap();
        assert_eq!(a2.map_err(|f| f.code), Err(ErrorCode::StorageUnavailable));
        rig.pass(1);
        let a3 = a3.await.unwrap();
        assert_eq!(a3.map_err(|f| f.code), Err(ErrorCode::StorageUnavailable), "a change made after the failed one");
        let stored: Vec<String> = rig
            .open_db()
            .prepare("SELECT number FROM visits ORDER BY id")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(stored, ["A001"], "nothing of the failed epoch reached the disk");

        // The disk works again: the queue is what the disk says, not what memory had made.
        rig.open_db().execute_batch("DROP TRIGGER fail_a002;").unwrap();
        rig.open_gate();
        assert_eq!(rig.waiting().await, ["A001"], "A002 and A003 were never stored");
        assert_eq!(rig.issue("A").await.await.unwrap().unwrap().number, "A002");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_command_id_is_remembered_for_48_hours() {
        let remembered = |conn: &Connection, id: &str, hours_ago: i64| {
            let reply = Reply { id: bounded(id), ok: true, ticket: Some(bounded("C009")), ..Reply::default() };
            conn.execute(
                "INSERT INTO command_log (counter, command_id, reply, at) VALUES ('1', ?1, ?2, ?3)",
                rusqlite::params![
                    id,
                    serde_json::to_string(&reply).unwrap(),
                    store::ts(now() - Duration::hours(hours_ago))
                ],
            )
            .unwrap();
        };
        let rig = Rig::start(|conn| {
            remembered(conn, "two-days-less-an-hour", 47);
            remembered(conn, "two-days-and-an-hour", 49);
        });
        rig.open_gate();
        rig.issue("A").await.await.unwrap().unwrap();
        let again = rig.next("1", "two-days-less-an-hour").await.await.unwrap();
        assert_eq!((again.ok, again.ticket.as_deref()), (true, Some("C009")), "answered as the first time");
        assert_eq!(rig.waiting().await, ["A001"], "and not acted on again");
        let new = rig.next("1", "two-days-and-an-hour").await.await.unwrap();
        assert_eq!((new.ok, new.ticket.as_deref()), (true, Some("A001")), "forgotten after 48 hours: a new command");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_repeated_id_while_the_first_write_is_on_its_way_is_answered_after_it_once() {
        let rig = Rig::start(|_| ());
        rig.pass(2);
        for service in ["A", "A"] {
            rig.issue(service).await.await.unwrap().unwrap();
        }
        let mut first = rig.next("1", "press-7").await;
        let mut repeat = rig.next("1", "press-7").await;
        rig.writes_arrived(4).await;
        assert!(first.try_recv().is_err() && repeat.try_recv().is_err(), "no answer before the disk has it");
        rig.pass(1);
        let first = first.await.unwrap();
        assert_eq!((first.ok, first.ticket.as_deref()), (true, Some("A001")));
        assert!(repeat.try_recv().is_err(), "the repeat waits for its own turn at the disk");
        rig.pass(1);
        assert_eq!(repeat.await.unwrap(), Reply { replay: true, ..first }, "the same answer, marked a replay");
        assert_eq!(rig.waiting().await, ["A002"], "acted on once");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_repeated_id_is_not_answered_ok_when_the_first_write_failed() {
        let rig = Rig::start(|_| ());
        rig.pass(1);
        rig.issue("A").await.await.unwrap().unwrap();
        rig.open_db()
            .execute_batch(
                "CREATE TRIGGER fail_calls BEFORE INSERT ON events WHEN NEW.kind = 'called' \
                 BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
            )
            .unwrap();
        let first = rig.next("1", "press-8").await;
        let repeat = rig.next("1", "press-8").await;
        rig.writes_arrived(3).await;
        rig.open_gate();
        let (first, repeat) = (first.await.unwrap(), repeat.await.unwrap());
        assert_eq!((first.ok, first.error), (false, Some(ErrorCode::StorageUnavailable)));
        assert_eq!((repeat.ok, repeat.error), (false, Some(ErrorCode::StorageUnavailable)), "{repeat:?}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn commands_for_unknown_counters_are_refused_without_a_write() {
        let mut rig = Rig::start(|_| ());
        rig.open_gate();
        for i in 0..50 {
            rig.counter("zz", &format!("junk-{i}"), ReplyTo::Mqtt).await;
        }
        let refusal = reply_of(&rig.publication().await).expect("a reply");
        assert_eq!((refusal.ok, refusal.error), (false, Some(ErrorCode::UnknownCounter)));
        // A real command after them: by its answer the engine has handled the junk.
        let answered = rig.next("1", "real").await.await.unwrap();
        assert_eq!(answered.id.as_str(), "real");
        assert_eq!(rig.arrived.load(Ordering::SeqCst), 1, "only the real command went to the writer");
        let logged: i64 = rig.open_db().query_row("SELECT count(*) FROM command_log", [], |r| r.get(0)).unwrap();
        assert_eq!(logged, 1);
    }

    #[test]
    fn replies_and_ticket_requests_are_forgotten_after_the_command_logs_horizon() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join(store::FILE_NAME);
        let (writes, _disk) = mpsc::channel(16);
        let (publications, _out) = mpsc::unbounded_channel();
        let setup = EngineSetup {
            branch: Arc::new(small_branch()),
            db: dawr_web::Db::single(store::open(&db).unwrap()),
            writes,
            failed: FailedEpoch::default(),
            publications,
            public_url: "http://127.0.0.1:8080".into(),
        };
        let mut engine = Engine::load(setup).unwrap();
        let t0 = Utc::now();
        let reply = Reply { id: bounded("a"), ok: true, ..Reply::default() };
        engine.remember_reply(("1".into(), "a".into()), Answered { reply, body: None }, t0);
        engine.remember_issued("addr:127.0.0.1/k".into(), 7, t0 + Duration::hours(1));
        engine.forget_old_commands(t0 + COMMAND_MEMORY);
        assert_eq!((engine.replies.len(), engine.issued_requests.len()), (1, 1), "kept for 48 h");
        engine.forget_old_commands(t0 + COMMAND_MEMORY + Duration::seconds(1));
        assert_eq!((engine.replies.len(), engine.issued_requests.len()), (0, 1), "the reply goes first");
        engine.forget_old_commands(t0 + COMMAND_MEMORY + Duration::hours(2));
        assert!(engine.issued_requests.is_empty() && engine.remembered.is_empty());
    }
}
