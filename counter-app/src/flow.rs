//! What the counter app does, as a state machine with no IO: the staff member's actions, the
//! hub's answers and the clock go in ([`Input`]); the state the screen draws ([`Desk`]) changes,
//! and what to send comes out ([`Effect`]). The shell (`app`) performs the effects.
//!
//! Rules staff rely on:
//! - The hub is the single source of truth: the current visitor and the counter's status come
//!   from its retained `…/counters/{c}/state`, so a button on the same counter, another app or a
//!   restart never leaves the screen telling something else.
//! - One command at a time, each with a fresh id; a command without an answer is sent again with
//!   the same id (the hub acts on an id once), so a double press never calls two visitors.
//! - While the hub cannot be reached, actions are refused with a message: nothing is queued.
//! - Completing a visit asks its outcome; calling out of order and pausing ask a reason.
use chrono::{DateTime, Duration, Utc};
use dawr_i18n::Lang;
use dawr_protocol::api::{Outcome, Ticket};
use dawr_protocol::device::{Action, Command, CounterState, Reply};

/// A command without an answer for this long is sent again (same id).
pub const RESEND_AFTER: Duration = Duration::seconds(3);
/// A command still without an answer after this long is given up, with a message.
pub const GIVE_UP_AFTER: Duration = Duration::seconds(12);

/// Who is signed in at this counter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedIn {
    pub token: String,
    pub staff: String,
    pub name_ar: String,
    pub name_en: String,
    pub counter: String,
    /// The services the counter calls while this person is signed in (the counter's that
    /// they may serve); empty when the hub did not say.
    pub services: Vec<String>,
}

/// The current visitor's case as the hub keeps it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseInfo {
    pub category: String,
    pub notes: String,
    pub visitor: String,
    /// When a case left open is due (RFC 3339), if it is.
    pub due_at: Option<String>,
    /// The visitor's earlier cases: ticket, service, day, outcome.
    pub earlier: Vec<(String, String, String, String)>,
}

/// A question the screen asks before an action is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Question {
    /// How did the visit end? (complete)
    Outcome,
    /// Why call this ticket out of order?
    CallReason { ticket: String },
    /// Why pause?
    PauseReason,
    /// Where to send the visitor?
    TransferTo,
}

/// A message on the screen, by localisation key, with the hub's own words when it gave some.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub key: &'static str,
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    ChooseLanguage(Lang),
    /// Sign-in form submitted.
    SignIn {
        staff: String,
        pin: String,
    },
    /// The hub's answer to a sign-in: the session, or the error code and message.
    SignedIn(Result<SignedIn, (String, String)>),
    SignOut,
    /// The staff member asks for an action (a button or a shortcut).
    Act(Action),
    /// Call this waiting ticket out of order (asks the reason).
    Pick(String),
    /// Answers to the open question.
    Outcome(Outcome),
    Reason(String),
    /// Where to send the visitor: `service:<code>` or `counter:<id>`, with a note for the next
    /// counter (may be empty).
    TransferTo {
        to: String,
        note: String,
    },
    Dismiss,
    /// The counter's retained state.
    State(CounterState),
    Reply(Reply),
    /// The tickets this counter may call (`None`: the hub did not answer).
    Waiting(Option<Vec<Ticket>>),
    /// The MQTT link came up or went down.
    Link(bool),
    /// Save the current visitor's case: category, notes and the visitor's ID as typed.
    SaveCase {
        category: String,
        notes: String,
        visitor: String,
    },
    /// The hub stored the case (or said why not).
    CaseSaved(Result<(), String>),
    /// The current visitor's case, read from the hub.
    CaseLoaded {
        case_ref: String,
        case: CaseInfo,
    },
    /// This staff member's figures today: visits served, mean service time in seconds.
    Figures {
        served: u32,
        mean_service_s: Option<f64>,
    },
    Tick,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    SignIn { staff: String, pin: String, counter: String },
    SignOut { token: String },
    Send(Box<Command>),
    SaveCase { token: String, case_ref: String, category: String, notes: String, visitor: String },
    LoadCase { token: String, case_ref: String },
    LoadFigures { token: String },
}

/// The counter app's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Desk {
    pub lang: Lang,
    pub counter: String,
    pub signed_in: Option<SignedIn>,
    pub signing_in: bool,
    pub state: Option<CounterState>,
    pub waiting: Vec<Ticket>,
    pub linked: bool,
    pub question: Option<Question>,
    pub notice: Option<Notice>,
    /// The command in flight and when it was last sent.
    pending: Option<(Command, DateTime<Utc>, DateTime<Utc>)>,
    /// Visits this staff member completed since signing in.
    pub served: u32,
    /// What became of the last save of the current case (a localisation key).
    pub case_saved: Option<&'static str>,
    /// The current visitor's case as the hub last said.
    pub case: Option<CaseInfo>,
    /// This staff member's figures today (served, mean service seconds).
    pub figures: Option<(u32, Option<f64>)>,
    next_id: u64,
    /// Its device id (its MQTT login), sent as every command's `device` (protocol 1.1).
    device: String,
    /// The prefix of its command ids: the device id and the boot.
    id_prefix: String,
}

fn text<const N: usize>(s: &str) -> heapless::String<N> {
    let mut out = heapless::String::new();
    for c in s.chars() {
        if out.push(c).is_err() {
            break;
        }
    }
    out
}

impl Desk {
    /// The app at `counter`, its command ids starting with `device` and `boot` (e.g. the start
    /// time), so ids never repeat across restarts.
    pub fn new(counter: &str, device: &str, boot: i64) -> Desk {
        Desk {
            lang: Lang::Ar,
            counter: counter.to_string(),
            signed_in: None,
            signing_in: false,
            state: None,
            waiting: Vec::new(),
            linked: false,
            question: None,
            notice: None,
            pending: None,
            served: 0,
            case_saved: None,
            case: None,
            figures: None,
            next_id: 0,
            device: device.to_string(),
            id_prefix: format!("{device}-{boot:x}"),
        }
    }

    /// The current visitor's CRM case reference.
    pub fn case_ref(&self) -> Option<&str> {
        self.state.as_ref()?.current.as_ref()?.case_ref.as_deref()
    }

    /// Whether a command is on its way.
    pub fn busy(&self) -> bool {
        self.pending.is_some()
    }

    fn command(&mut self, action: Action) -> Command {
        self.next_id += 1;
        let mut command = Command::new(text(&format!("{}-{}", self.id_prefix, self.next_id)), action);
        command.device = Some(text(&self.device));
        command
    }

    fn send(&mut self, command: Command, now: DateTime<Utc>) -> Vec<Effect> {
        if self.signed_in.is_none() {
            return vec![];
        }
        if !self.linked {
            self.notice = Some(Notice { key: "counter-hub-down", detail: None });
            return vec![];
        }
        if self.pending.is_some() {
            return vec![];
        }
        self.notice = None;
        self.pending = Some((command.clone(), now, now));
        vec![Effect::Send(Box::new(command))]
    }

    /// Applies one input at `now`; returns what the shell must do.
    pub fn handle(&mut self, input: Input, now: DateTime<Utc>) -> Vec<Effect> {
        match input {
            Input::ChooseLanguage(lang) => self.lang = lang,
            Input::SignIn { staff, pin } => {
                if self.signing_in || staff.trim().is_empty() || pin.is_empty() {
                    return vec![];
                }
                self.signing_in = true;
                self.notice = None;
                return vec![Effect::SignIn { staff: staff.trim().to_string(), pin, counter: self.counter.clone() }];
            }
            Input::SignedIn(Ok(session)) => {
                self.signing_in = false;
                self.served = 0;
                let token = session.token.clone();
                self.signed_in = Some(session);
                let mut effects = vec![Effect::LoadFigures { token: token.clone() }];
                if let Some(case_ref) = self.case_ref() {
                    effects.push(Effect::LoadCase { token, case_ref: case_ref.to_string() });
                }
                return effects;
            }
            Input::SignedIn(Err((code, message))) => {
                self.signing_in = false;
                let key = match code.as_str() {
                    "wrong_credentials" => "counter-wrong-pin",
                    "not_assigned" => "counter-not-assigned",
                    "unreachable" => "counter-hub-down",
                    _ => "counter-refused",
                };
                self.notice = Some(Notice { key, detail: Some(message) });
            }
            Input::SignOut => {
                let Some(session) = self.signed_in.take() else { return vec![] };
                self.question = None;
                self.pending = None;
                return vec![Effect::SignOut { token: session.token }];
            }
            Input::Act(Action::Complete) => self.question = Some(Question::Outcome),
            Input::Act(Action::Transfer) => self.question = Some(Question::TransferTo),
            Input::Act(Action::Pause) => {
                let paused =
                    self.state.as_ref().is_some_and(|s| s.status != dawr_protocol::device::CounterStatus::Open);
                let action = if paused { Action::Resume } else { Action::Pause };
                if action == Action::Pause {
                    self.question = Some(Question::PauseReason);
                } else {
                    let command = self.command(action);
                    return self.send(command, now);
                }
            }
            Input::Act(action) => {
                let command = self.command(action);
                return self.send(command, now);
            }
            Input::Pick(ticket) => self.question = Some(Question::CallReason { ticket }),
            Input::Outcome(outcome) if self.question == Some(Question::Outcome) => {
                self.question = None;
                let mut command = self.command(Action::Complete);
                command.outcome = Some(outcome);
                return self.send(command, now);
            }
            Input::Reason(reason) => match self.question.take() {
                Some(Question::CallReason { ticket }) => {
                    let mut command = self.command(Action::Call);
                    command.ticket = Some(text(&ticket));
                    command.reason = Some(text(&reason));
                    return self.send(command, now);
                }
                Some(Question::PauseReason) => {
                    let mut command = self.command(Action::Pause);
                    command.reason = Some(text(&reason));
                    return self.send(command, now);
                }
                other => self.question = other,
            },
            Input::TransferTo { to, note } if self.question == Some(Question::TransferTo) => {
                self.question = None;
                let mut command = self.command(Action::Transfer);
                match to.split_once(':') {
                    Some(("counter", id)) => command.to_counter = Some(text(id)),
                    Some((_, code)) => command.to_service = Some(text(code)),
                    None => command.to_service = Some(text(&to)),
                }
                command.note = Some(text(note.trim())).filter(|n: &heapless::String<256>| !n.is_empty());
                return self.send(command, now);
            }
            Input::Outcome(_) | Input::TransferTo { .. } => {}
            Input::Dismiss => {
                self.question = None;
                self.notice = None;
            }
            Input::State(state) => {
                if state.counter.as_str() == self.counter {
                    let new_case = state.current.as_ref().and_then(|c| c.case_ref.as_deref()).map(str::to_string);
                    let changed = self.case_ref().map(str::to_string) != new_case;
                    self.state = Some(state);
                    if changed {
                        self.case_saved = None;
                        self.case = None;
                        if let (Some(session), Some(case_ref)) = (&self.signed_in, new_case) {
                            return vec![Effect::LoadCase { token: session.token.clone(), case_ref }];
                        }
                    }
                }
            }
            Input::CaseLoaded { case_ref, case } => {
                if self.case_ref() == Some(case_ref.as_str()) {
                    self.case = Some(case);
                }
            }
            Input::Figures { served, mean_service_s } => self.figures = Some((served, mean_service_s)),
            Input::SaveCase { category, notes, visitor } => {
                let (Some(token), Some(case_ref)) =
                    (self.signed_in.as_ref().map(|s| s.token.clone()), self.case_ref().map(str::to_string))
                else {
                    return vec![];
                };
                self.case_saved = None;
                return vec![Effect::SaveCase { token, case_ref, category, notes, visitor }];
            }
            Input::CaseSaved(result) => {
                self.case_saved = Some(if result.is_ok() { "counter-case-saved" } else { "counter-case-not-saved" });
                // Read it back: the visitor's earlier visits follow the ID just given.
                if let (Ok(()), Some(session), Some(case_ref)) = (result, &self.signed_in, self.case_ref()) {
                    return vec![Effect::LoadCase { token: session.token.clone(), case_ref: case_ref.to_string() }];
                }
            }
            Input::Reply(reply) => {
                let Some((command, _, _)) = &self.pending else { return vec![] };
                // The counter's devices share the reply topic: ours carry our id and our device.
                let theirs = reply.device.as_deref().is_some_and(|d| d != self.device);
                if reply.id.as_str() != command.id.as_str() || theirs {
                    return vec![];
                }
                let finished_one = reply.ok && matches!(command.action, Action::Complete | Action::Next);
                if reply.ok && command.action == Action::Complete {
                    self.served += 1;
                }
                if !reply.ok {
                    let code = serde_json::to_value(reply.error).ok().and_then(|v| v.as_str().map(String::from));
                    self.notice = Some(Notice {
                        key: refusal_key(code.as_deref().unwrap_or_default()),
                        detail: reply.message.as_ref().map(|m| m.to_string()),
                    });
                } else if command.action == Action::Next && reply.ticket.is_none() {
                    self.notice = Some(Notice { key: "counter-nobody-called", detail: None });
                }
                self.pending = None;
                if let (true, Some(session)) = (finished_one, &self.signed_in) {
                    return vec![Effect::LoadFigures { token: session.token.clone() }];
                }
            }
            Input::Waiting(Some(tickets)) => self.waiting = tickets,
            Input::Waiting(None) => {}
            Input::Link(up) => self.linked = up,
            Input::Tick => {
                if let Some((command, first, last)) = &mut self.pending {
                    if now - *first >= GIVE_UP_AFTER {
                        self.pending = None;
                        self.notice = Some(Notice { key: "counter-no-answer", detail: None });
                    } else if now - *last >= RESEND_AFTER && self.linked {
                        *last = now;
                        return vec![Effect::Send(Box::new(command.clone()))];
                    }
                }
            }
        }
        vec![]
    }
}

/// The message for a refused command, by its error code (docs/PROTOCOL.md).
fn refusal_key(code: &str) -> &'static str {
    match code {
        "no_current_visitor" => "counter-no-visitor",
        "visitor_at_counter" => "counter-visitor-here",
        "wrong_state" => "counter-wrong-state",
        "counter_paused" | "counter_closed" => "counter-paused",
        "not_waiting" | "unknown_ticket" => "counter-not-waiting",
        "storage_unavailable" => "counter-hub-down",
        _ => "counter-refused",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_protocol::device::{CounterStatus, ErrorCode};

    fn t(ms: i64) -> DateTime<Utc> {
        "2026-11-23T07:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::milliseconds(ms)
    }

    fn desk() -> Desk {
        let mut d = Desk::new("2", "app", 0x1234);
        d.handle(Input::Link(true), t(0));
        let effects = d.handle(Input::SignIn { staff: "s101".into(), pin: "1111".into() }, t(0));
        assert_eq!(effects, [Effect::SignIn { staff: "s101".into(), pin: "1111".into(), counter: "2".into() }]);
        d.handle(
            Input::SignedIn(Ok(SignedIn {
                token: "tok".into(),
                staff: "s101".into(),
                name_ar: String::new(),
                name_en: String::new(),
                counter: "2".into(),
                services: vec![],
            })),
            t(1),
        );
        d
    }

    fn sent(effects: &[Effect]) -> Command {
        match effects {
            [Effect::Send(c)] => (**c).clone(),
            other => panic!("{other:?}"),
        }
    }

    fn ok(id: &str, ticket: Option<&str>) -> Reply {
        Reply { id: text(id), ok: true, ticket: ticket.map(text), ..Reply::default() }
    }

    #[test]
    fn commands_name_the_device_and_another_devices_reply_is_not_ours() {
        let mut d = desk();
        let next = sent(&d.handle(Input::Act(Action::Next), t(10)));
        assert_eq!(next.device.as_deref(), Some("app"), "protocol 1.1: ids are scoped to the device");
        let mut other = ok(&next.id, Some("B001"));
        other.device = Some(text("button-2"));
        d.handle(Input::Reply(other), t(20));
        assert!(d.busy(), "another device's reply to the same id is not this one's answer");
        let mut mine = ok(&next.id, Some("A001"));
        mine.device = Some(text("app"));
        d.handle(Input::Reply(mine), t(30));
        assert!(!d.busy());
    }

    #[test]
    fn a_double_press_sends_one_command_and_a_lost_answer_resends_the_same_id() {
        let mut d = desk();
        let first = sent(&d.handle(Input::Act(Action::Next), t(10)));
        assert!(d.handle(Input::Act(Action::Next), t(20)).is_empty(), "the second press is swallowed");
        assert!(d.busy());
        let again = sent(&d.handle(Input::Tick, t(10 + RESEND_AFTER.num_milliseconds())));
        assert_eq!(again.id, first.id, "a resend reuses the id");
        d.handle(Input::Reply(ok(&first.id, Some("A001"))), t(4000));
        assert!(!d.busy());
        let next = sent(&d.handle(Input::Act(Action::Next), t(5000)));
        assert_ne!(next.id, first.id, "a new press, a new id");
    }

    #[test]
    fn completing_asks_the_outcome_and_counts_the_visit() {
        let mut d = desk();
        assert!(d.handle(Input::Act(Action::Complete), t(0)).is_empty());
        assert_eq!(d.question, Some(Question::Outcome));
        let command = sent(&d.handle(Input::Outcome(Outcome::FollowUp), t(1)));
        assert_eq!((command.action, command.outcome), (Action::Complete, Some(Outcome::FollowUp)));
        d.handle(Input::Reply(ok(&command.id, None)), t(2));
        assert_eq!(d.served, 1);
    }

    #[test]
    fn out_of_order_calls_and_pauses_carry_a_reason_and_resume_does_not_ask() {
        let mut d = desk();
        d.handle(Input::Pick("B004".into()), t(0));
        let call = sent(&d.handle(Input::Reason("elderly visitor".into()), t(1)));
        assert_eq!(
            (call.action, call.ticket.as_deref(), call.reason.as_deref()),
            (Action::Call, Some("B004"), Some("elderly visitor"))
        );
        d.handle(Input::Reply(ok(&call.id, Some("B004"))), t(2));

        d.handle(Input::Act(Action::Pause), t(3));
        let pause = sent(&d.handle(Input::Reason("prayer".into()), t(4)));
        assert_eq!(pause.action, Action::Pause);
        d.handle(Input::Reply(ok(&pause.id, None)), t(5));
        d.handle(
            Input::State(CounterState {
                counter: text("2"),
                status: CounterStatus::Paused,
                current: None,
                waiting: 3,
                updated_at: text("2026-11-23T07:00:00Z"),
            }),
            t(6),
        );
        let resume = sent(&d.handle(Input::Act(Action::Pause), t(7)));
        assert_eq!(resume.action, Action::Resume, "the same key resumes a paused counter");
    }

    #[test]
    fn without_the_hub_nothing_is_queued_and_refusals_say_why() {
        let mut d = desk();
        d.handle(Input::Link(false), t(0));
        assert!(d.handle(Input::Act(Action::Next), t(1)).is_empty());
        assert_eq!(d.notice.as_ref().unwrap().key, "counter-hub-down");
        assert!(!d.busy(), "nothing waits to be sent later");
        d.handle(Input::Link(true), t(2));
        let recall = sent(&d.handle(Input::Act(Action::Recall), t(3)));
        let refused = Reply {
            id: text(&recall.id),
            error: Some(ErrorCode::NoCurrentVisitor),
            message: Some(text("nobody at counter 2")),
            ..Reply::default()
        };
        d.handle(Input::Reply(refused), t(4));
        assert_eq!(d.notice.as_ref().unwrap().key, "counter-no-visitor");
        // A command nobody answers is given up, with a message.
        d.handle(Input::Act(Action::Next), t(10));
        d.handle(Input::Tick, t(10 + GIVE_UP_AFTER.num_milliseconds()));
        assert!(!d.busy());
        assert_eq!(d.notice.as_ref().unwrap().key, "counter-no-answer");
    }

    #[test]
    fn the_current_visitors_case_is_saved_with_the_session() {
        let mut d = desk();
        assert!(
            d.handle(Input::SaveCase { category: "deeds".into(), notes: "n".into(), visitor: String::new() }, t(0))
                .is_empty(),
            "no visitor"
        );
        let load = d.handle(
            Input::State(CounterState {
                counter: text("2"),
                status: CounterStatus::Open,
                current: Some(dawr_protocol::device::CurrentVisit {
                    ticket: text("A001"),
                    service: text("A"),
                    status: dawr_protocol::device::CurrentStatus::Serving,
                    since: text("2026-11-23T07:00:00Z"),
                    recalls: 0,
                    case_ref: Some(text("DMM-1")),
                }),
                waiting: 0,
                updated_at: text("2026-11-23T07:00:00Z"),
            }),
            t(1),
        );
        assert_eq!(
            load,
            [Effect::LoadCase { token: "tok".into(), case_ref: "DMM-1".into() }],
            "a new visitor's case is read"
        );
        let save =
            Input::SaveCase { category: "deeds".into(), notes: "call back".into(), visitor: "1012345678".into() };
        assert_eq!(
            d.handle(save, t(2)),
            [Effect::SaveCase {
                token: "tok".into(),
                case_ref: "DMM-1".into(),
                category: "deeds".into(),
                notes: "call back".into(),
                visitor: "1012345678".into()
            }]
        );
        let reload = d.handle(Input::CaseSaved(Ok(())), t(3));
        assert_eq!(d.case_saved, Some("counter-case-saved"));
        assert_eq!(reload, [Effect::LoadCase { token: "tok".into(), case_ref: "DMM-1".into() }], "read back");
    }

    #[test]
    fn a_transfer_goes_to_a_service_or_a_counter_with_its_note() {
        let mut d = desk();
        d.handle(Input::Act(Action::Transfer), t(0));
        let to_counter =
            sent(&d.handle(Input::TransferTo { to: "counter:3".into(), note: " needs the notary ".into() }, t(1)));
        assert_eq!((to_counter.to_counter.as_deref(), to_counter.to_service.as_deref()), (Some("3"), None));
        assert_eq!(to_counter.note.as_deref(), Some("needs the notary"));
        d.handle(Input::Reply(ok(&to_counter.id, None)), t(2));
        d.handle(Input::Act(Action::Transfer), t(3));
        let to_service = sent(&d.handle(Input::TransferTo { to: "service:D".into(), note: String::new() }, t(4)));
        assert_eq!((to_service.to_service.as_deref(), to_service.note), (Some("D"), None));
    }

    #[test]
    fn a_wrong_pin_says_so_and_signing_out_ends_the_session() {
        let mut d = Desk::new("2", "app", 1);
        d.handle(Input::SignIn { staff: "s101".into(), pin: "0000".into() }, t(0));
        d.handle(Input::SignedIn(Err(("wrong_credentials".into(), "wrong staff id or PIN".into()))), t(1));
        assert_eq!(d.notice.as_ref().unwrap().key, "counter-wrong-pin");
        assert!(d.signed_in.is_none());
        let mut d = desk();
        assert_eq!(d.handle(Input::SignOut, t(2)), [Effect::SignOut { token: "tok".into() }]);
        assert!(d.handle(Input::Act(Action::Next), t(3)).is_empty(), "signed out: no actions");
    }
}
