//! Unit and property tests of the queue: numbering, life cycle, routing and estimates.
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, TimeZone, Utc};
use dawr_protocol::api::{Outcome, Priority, RatingReason, TicketStatus};
use dawr_protocol::device::{CounterStatus, ErrorCode};
use proptest::prelude::*;

use super::branch::tests::small_branch;
use super::estimate::{Capacity, expected_wait};
use super::event::Event;
use super::queue::{CounterAction, IssueRequest, Queue, QueueError, Snapshot};
use super::routing::LaneKey;
use super::visit::VisitId;

fn t0() -> DateTime<Utc> {
    // 08:00 in Riyadh.
    Utc.with_ymd_and_hms(2026, 11, 23, 5, 0, 0).unwrap()
}

fn queue() -> Queue {
    Queue::new(Arc::new(small_branch()), t0())
}

fn issue(q: &mut Queue, service: &str, priority: Priority, at: DateTime<Utc>) -> VisitId {
    let req = IssueRequest {
        service: service.into(),
        priority,
        appointment_at: None,
        token: format!("tok-{}", at.timestamp_millis()),
    };
    q.issue(req, at).expect("issue").1
}

fn next(q: &mut Queue, counter: &str, at: DateTime<Utc>) -> Option<String> {
    let done = q.counter_action(counter, CounterAction::Next { outcome: None }, at).expect("next");
    done.called.map(|id| done.visits.iter().find(|v| v.id == id).unwrap().number.clone())
}

fn mins(m: i64) -> Duration {
    Duration::minutes(m)
}

#[test]
fn numbers_count_per_service_and_restart_each_local_day() {
    let mut q = queue();
    let a1 = issue(&mut q, "A", Priority::Normal, t0());
    let b1 = issue(&mut q, "B", Priority::Normal, t0());
    let a2 = issue(&mut q, "A", Priority::Normal, t0());
    assert_eq!(q.visit(a1).unwrap().number, "A001");
    assert_eq!(q.visit(b1).unwrap().number, "B001");
    assert_eq!(q.visit(a2).unwrap().number, "A002");
    assert_eq!(q.visit(a1).unwrap().case_ref, "TST-20261123-000001");
    assert_eq!(q.visit(a2).unwrap().case_ref, "TST-20261123-000003");
    // 21:00 UTC is midnight in Riyadh: a new local day.
    let midnight = Utc.with_ymd_and_hms(2026, 11, 23, 21, 0, 0).unwrap();
    let late = issue(&mut q, "A", Priority::Normal, midnight - Duration::seconds(1));
    let new_day = issue(&mut q, "A", Priority::Normal, midnight);
    assert_eq!(q.visit(late).unwrap().number, "A003");
    assert_eq!(q.visit(new_day).unwrap().number, "A001");
    assert_eq!(q.visit(new_day).unwrap().case_ref, "TST-20261124-000001");
}

#[test]
fn a_counter_calls_first_come_first_served_within_its_services() {
    let mut q = queue();
    issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "C", Priority::Normal, t0() + mins(1));
    issue(&mut q, "A", Priority::Normal, t0() + mins(2));
    let now = t0() + mins(3);
    assert_eq!(next(&mut q, "2", now).as_deref(), Some("A001"));
    assert_eq!(next(&mut q, "2", now).as_deref(), Some("A002"));
    // Counter 2 serves A and B only: the C visitor is not its to call.
    assert_eq!(next(&mut q, "2", now), None);
    assert_eq!(next(&mut q, "3", now).as_deref(), Some("C001"));
}

#[test]
fn a_counter_prefers_its_first_service_until_others_have_waited_longer() {
    let mut q = queue();
    issue(&mut q, "B", Priority::Normal, t0());
    issue(&mut q, "A", Priority::Normal, t0() + mins(2));
    // Counter 2 lists A before B: B's 2 extra minutes are less than the 5-minute step.
    assert_eq!(next(&mut q, "2", t0() + mins(3)).as_deref(), Some("A001"));
    issue(&mut q, "A", Priority::Normal, t0() + mins(9));
    // B has now waited 10 minutes, A002 one: B001 goes first.
    assert_eq!(next(&mut q, "2", t0() + mins(10)).as_deref(), Some("B001"));
}

#[test]
fn assisted_visitors_go_ahead_but_not_forever() {
    let mut q = queue();
    issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "A", Priority::Assisted, t0() + mins(5));
    assert_eq!(next(&mut q, "2", t0() + mins(6)).as_deref(), Some("A002"));
    issue(&mut q, "A", Priority::Assisted, t0() + mins(11));
    // A001 has waited 12 minutes; the new assisted visitor 1 minute plus a 10-minute head start.
    assert_eq!(next(&mut q, "2", t0() + mins(12)).as_deref(), Some("A001"));
}

#[test]
fn appointments_are_called_near_their_slot_not_when_they_check_in() {
    let mut q = queue();
    let slot = t0() + mins(30);
    let req = IssueRequest {
        service: "A".into(),
        priority: Priority::Appointment,
        appointment_at: Some(slot),
        token: "appt".into(),
    };
    let (_, appt) = q.issue(req, t0()).unwrap();
    issue(&mut q, "A", Priority::Normal, t0() + mins(1));
    issue(&mut q, "A", Priority::Normal, t0() + mins(29));
    // Checked in half an hour early: walk-ins are called first.
    assert_eq!(next(&mut q, "2", t0() + mins(2)).as_deref(), Some("A002"));
    // At the slot the appointment goes ahead of the walk-in who came a minute before.
    assert_eq!(next(&mut q, "2", slot).as_deref(), Some(q.visit(appt).unwrap().number.as_str()));
    let bad =
        IssueRequest { service: "A".into(), priority: Priority::Appointment, appointment_at: None, token: "x".into() };
    assert_eq!(q.issue(bad, t0()).unwrap_err().code(), ErrorCode::Malformed);
}

#[test]
fn a_visit_goes_through_its_life_cycle() {
    let mut q = queue();
    let id = issue(&mut q, "A", Priority::Normal, t0());
    next(&mut q, "1", t0() + mins(1));
    assert_eq!(q.visit(id).unwrap().status, TicketStatus::Called);
    let done = q.counter_action("1", CounterAction::Recall, t0() + mins(2)).unwrap();
    assert_eq!(done.called, Some(id));
    assert_eq!(q.visit(id).unwrap().recalls, 1);
    q.counter_action("1", CounterAction::Start, t0() + mins(3)).unwrap();
    assert_eq!(q.visit(id).unwrap().status, TicketStatus::Serving);
    let err = q.counter_action("1", CounterAction::NoShow, t0() + mins(4)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::WrongState);
    let done =
        q.counter_action("1", CounterAction::Complete { outcome: Some(Outcome::Resolved) }, t0() + mins(9)).unwrap();
    let v = &done.visits[0];
    assert_eq!((v.status, v.outcome, v.ended_at), (TicketStatus::Done, Some(Outcome::Resolved), Some(t0() + mins(9))));
    assert!(q.visit(id).is_none(), "a finished visit leaves the live queue");
    assert_eq!(q.counter(0).current, None);
}

#[test]
fn next_finishes_the_visitor_at_the_counter_and_no_show_needs_a_called_visitor() {
    let mut q = queue();
    issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "A", Priority::Normal, t0());
    next(&mut q, "1", t0());
    let done = q.counter_action("1", CounterAction::Next { outcome: None }, t0() + mins(8)).unwrap();
    let kinds: Vec<_> = done.events.iter().map(|e| e.event.kind()).collect();
    assert_eq!(kinds, ["completed", "called"]);
    q.counter_action("1", CounterAction::NoShow, t0() + mins(10)).unwrap();
    let err = q.counter_action("1", CounterAction::NoShow, t0() + mins(10)).unwrap_err();
    assert_eq!(err.code(), ErrorCode::NoCurrentVisitor);
}

#[test]
fn a_transferred_visitor_keeps_their_arrival_time() {
    let mut q = queue();
    let first = issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "B", Priority::Normal, t0() + mins(5));
    next(&mut q, "2", t0() + mins(6));
    let to_b =
        CounterAction::Transfer { to_service: Some("B".into()), to_counter: None, note: Some("needs a deed".into()) };
    q.counter_action("2", to_b, t0() + mins(10)).unwrap();
    let v = q.visit(first).unwrap();
    assert_eq!(
        (v.status, v.service.as_str(), v.issued_at, v.number.as_str()),
        (TicketStatus::Waiting, "B", t0(), "A001")
    );
    // Counter 1 serves A, B, C; A001 (arrived 08:00) goes before B001 (08:05).
    assert_eq!(next(&mut q, "1", t0() + mins(11)).as_deref(), Some("A001"));
}

#[test]
fn a_visitor_transferred_to_a_counter_is_called_only_there() {
    let mut q = queue();
    let id = issue(&mut q, "A", Priority::Normal, t0());
    next(&mut q, "1", t0());
    let to_2 = CounterAction::Transfer { to_service: None, to_counter: Some("2".into()), note: None };
    q.counter_action("1", to_2, t0() + mins(1)).unwrap();
    issue(&mut q, "A", Priority::Normal, t0() + mins(1));
    // Counter 1 gets the other A visitor, counter 2 the transferred one.
    assert_eq!(next(&mut q, "1", t0() + mins(2)).as_deref(), Some("A002"));
    assert_eq!(next(&mut q, "2", t0() + mins(2)).as_deref(), Some(q.visit(id).unwrap().number.as_str()));
}

#[test]
fn out_of_order_calls_and_refusals_say_why() {
    let mut q = queue();
    issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "C", Priority::Normal, t0());
    let call =
        |ticket: &str| CounterAction::Call { ticket: ticket.into(), reason: Some("urgent".into()), outcome: None };
    let done = q.counter_action("2", call("A002"), t0()).unwrap();
    match &done.events[0].event {
        Event::Called { out_of_order_reason, .. } => assert_eq!(out_of_order_reason.as_deref(), Some("urgent")),
        other => panic!("{other:?}"),
    }
    assert_eq!(q.counter_action("2", call("A002"), t0()).unwrap_err().code(), ErrorCode::NotWaiting);
    assert_eq!(q.counter_action("2", call("C001"), t0()).unwrap_err().code(), ErrorCode::NotServedHere);
    assert_eq!(q.counter_action("2", call("Z999"), t0()).unwrap_err().code(), ErrorCode::UnknownTicket);
    assert_eq!(q.counter_action("9", CounterAction::Recall, t0()).unwrap_err(), QueueError::UnknownCounter("9".into()));
    let pause = CounterAction::Pause { reason: Some("prayer".into()) };
    assert_eq!(q.counter_action("2", pause.clone(), t0()).unwrap_err().code(), ErrorCode::VisitorAtCounter);
    q.counter_action("2", CounterAction::Complete { outcome: None }, t0()).unwrap();
    q.counter_action("2", pause, t0()).unwrap();
    assert_eq!(q.counter(1).status, CounterStatus::Paused);
    let next_err = q.counter_action("2", CounterAction::Next { outcome: None }, t0()).unwrap_err();
    assert_eq!(next_err.code(), ErrorCode::CounterPaused);
    q.counter_action("2", CounterAction::Resume, t0()).unwrap();
    assert_eq!(next(&mut q, "2", t0()).as_deref(), Some("A001"));
}

#[test]
fn a_service_without_an_open_counter_issues_no_tickets() {
    let mut q = queue();
    q.counter_action("3", CounterAction::Pause { reason: None }, t0()).unwrap();
    // C is still served by counter 1.
    issue(&mut q, "C", Priority::Normal, t0());
    q.counter_action("1", CounterAction::Pause { reason: None }, t0()).unwrap();
    let req = IssueRequest { service: "C".into(), priority: Priority::Normal, appointment_at: None, token: "t".into() };
    assert_eq!(q.issue(req.clone(), t0()).unwrap_err().code(), ErrorCode::ServiceClosed);
    assert!(!q.service_summaries(t0())[2].open);
    let unknown = IssueRequest { service: "Q".into(), ..req };
    assert_eq!(q.issue(unknown, t0()).unwrap_err().code(), ErrorCode::UnknownService);
}

#[test]
fn cancel_removes_a_waiting_ticket_only() {
    let mut q = queue();
    let a = issue(&mut q, "A", Priority::Normal, t0());
    let b = issue(&mut q, "A", Priority::Normal, t0());
    q.cancel(b, t0()).unwrap();
    assert!(q.visit(b).is_none());
    next(&mut q, "2", t0());
    assert_eq!(q.cancel(a, t0()).unwrap_err().code(), ErrorCode::NotWaiting);
    assert_eq!(next(&mut q, "2", t0()), None);
}

#[test]
fn estimates_count_the_people_ahead_and_the_counters_working() {
    let mut q = queue();
    // Counter 3 serves only C; counters 1 and 2 are paused: one counter, 480 s per visitor.
    for c in ["1", "2"] {
        q.counter_action(c, CounterAction::Pause { reason: None }, t0()).unwrap();
    }
    let e = q.estimate_new(2, Priority::Normal, t0()).unwrap();
    assert_eq!((e.position, e.wait_s), (1, 0), "an idle counter calls at once");
    let ids: Vec<_> = (0..4).map(|i| issue(&mut q, "C", Priority::Normal, t0() + Duration::seconds(i))).collect();
    next(&mut q, "3", t0() + mins(1));
    // Three waiting, the counter busy: the 4th in line waits for 4 departures.
    let one_busy_counter = Capacity { counters: 1.0, idle: 0 };
    let e = q.estimate_new(2, Priority::Normal, t0() + mins(1)).unwrap();
    assert_eq!(e, expected_wait(3, one_busy_counter, 480.0).unwrap());
    assert_eq!(e.position, 4);
    let e = q.estimate_for(ids[2], t0() + mins(1)).unwrap();
    assert_eq!(e, expected_wait(1, one_busy_counter, 480.0).unwrap());
    // An assisted visitor goes ahead of walk-ins who arrived less than 10 minutes earlier.
    let e = q.estimate_new(2, Priority::Assisted, t0() + mins(1)).unwrap();
    assert_eq!(e.position, 1);
}

#[test]
fn a_restored_queue_makes_the_same_decisions() {
    let mut q = queue();
    for (i, s) in ["A", "B", "A", "C", "B"].iter().enumerate() {
        issue(&mut q, s, if i == 3 { Priority::Assisted } else { Priority::Normal }, t0() + mins(i as i64));
    }
    next(&mut q, "1", t0() + mins(6));
    q.counter_action("3", CounterAction::Pause { reason: None }, t0() + mins(6)).unwrap();
    let snapshot = Snapshot {
        visits: q.visits().cloned().collect(),
        counters: (0..3).map(|i| (q.branch().counters[i].id.clone(), q.counter(i).clone())).collect(),
        numbers: vec![
            (t0().date_naive(), "A".into(), 2),
            (t0().date_naive(), "B".into(), 2),
            (t0().date_naive(), "C".into(), 1),
        ],
        case_seqs: vec![(t0().date_naive(), 5)],
        next_id: 6,
        closures: Vec::new(),
    };
    let (mut restored, orphans) = Queue::restore(q.branch().clone(), snapshot, t0() + mins(7));
    assert!(orphans.is_empty());
    for c in ["2", "1", "2", "1"] {
        assert_eq!(next(&mut restored, c, t0() + mins(8)), next(&mut q, c, t0() + mins(8)));
    }
    assert_eq!(restored.counter(2).status, CounterStatus::Paused);
    let id = issue(&mut restored, "A", Priority::Normal, t0() + mins(9));
    assert_eq!(restored.visit(id).unwrap().number, "A003");
    assert_eq!(restored.visit(id).unwrap().case_ref, "TST-20261123-000006");
}

// ----- Property tests ---------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Op {
    Issue { service: usize, class: usize },
    Next { counter: usize },
    Start { counter: usize },
    Complete { counter: usize },
    NoShow { counter: usize },
    Recall { counter: usize },
    Transfer { counter: usize, service: usize },
    CallAny { counter: usize, pick: usize },
    Cancel { pick: usize },
    Pause { counter: usize },
    Resume { counter: usize },
    Wait { seconds: u16 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..3usize, 0..3usize).prop_map(|(service, class)| Op::Issue { service, class }),
        4 => (0..3usize).prop_map(|counter| Op::Next { counter }),
        1 => (0..3usize).prop_map(|counter| Op::Start { counter }),
        1 => (0..3usize).prop_map(|counter| Op::Complete { counter }),
        1 => (0..3usize).prop_map(|counter| Op::NoShow { counter }),
        1 => (0..3usize).prop_map(|counter| Op::Recall { counter }),
        1 => (0..3usize, 0..3usize).prop_map(|(counter, service)| Op::Transfer { counter, service }),
        1 => (0..3usize, 0..50usize).prop_map(|(counter, pick)| Op::CallAny { counter, pick }),
        1 => (0..50usize).prop_map(|pick| Op::Cancel { pick }),
        1 => (0..3usize).prop_map(|counter| Op::Pause { counter }),
        1 => (0..3usize).prop_map(|counter| Op::Resume { counter }),
        3 => (0..1200u16).prop_map(|seconds| Op::Wait { seconds }),
    ]
}

/// Checks the invariants that must hold between any two operations.
fn check_invariants(q: &Queue) {
    let mut at_counters = HashSet::new();
    for (i, counter) in q.branch().counters.iter().enumerate() {
        if let Some(id) = q.counter(i).current {
            assert!(at_counters.insert(id), "visit {id} at two counters");
            let v = q.visit(id).expect("a counter's visitor is live");
            assert!(matches!(v.status, TicketStatus::Called | TicketStatus::Serving));
            assert_eq!(v.counter.as_deref(), Some(counter.id.as_str()));
        }
    }
    for v in q.visits() {
        match v.status {
            TicketStatus::Waiting => assert!(!at_counters.contains(&v.id)),
            TicketStatus::Called | TicketStatus::Serving => {
                assert!(at_counters.contains(&v.id), "{} is called but at no counter", v.number)
            }
            _ => panic!("finished visit {} still live", v.number),
        }
    }
    let waiting = q.visits().filter(|v| v.status == TicketStatus::Waiting).count();
    let in_lanes: usize = (0..3).map(|s| q.waiting_in_service(s)).sum::<usize>()
        + q.visits().filter(|v| v.status == TicketStatus::Waiting && v.target_counter.is_some()).count();
    assert_eq!(waiting, in_lanes, "every waiting visitor is in exactly one lane");
}

fn run_ops(ops: &[Op]) -> (Queue, DateTime<Utc>) {
    let mut q = queue();
    let mut now = t0();
    let mut tokens = 0u64;
    let mut called_ever: HashMap<VisitId, usize> = HashMap::new();
    let mut transfers: HashMap<VisitId, usize> = HashMap::new();
    let mut case_refs = HashSet::new();
    let counter_id = |c: usize| q_counter_id(c);
    for op in ops {
        let waiting_before: Vec<(VisitId, LaneKey, String)> = q
            .visits()
            .filter(|v| v.status == TicketStatus::Waiting)
            .map(|v| {
                (v.id, LaneKey { ranking_ms: v.ranking_time().timestamp_millis(), visit: v.id }, v.service.clone())
            })
            .collect();
        let targets: HashMap<VisitId, Option<String>> = q.visits().map(|v| (v.id, v.target_counter.clone())).collect();
        let result = match op {
            Op::Issue { service, class } => {
                tokens += 1;
                let priority = [Priority::Normal, Priority::Assisted, Priority::Appointment][*class];
                let appointment_at =
                    (priority == Priority::Appointment).then(|| now + Duration::seconds((tokens as i64 % 7 - 3) * 300));
                let req = IssueRequest {
                    service: ["A", "B", "C"][*service].into(),
                    priority,
                    appointment_at,
                    token: tokens.to_string(),
                };
                q.issue(req, now).map(|(done, _)| done)
            }
            Op::Next { counter } => q.counter_action(&counter_id(*counter), CounterAction::Next { outcome: None }, now),
            Op::Start { counter } => q.counter_action(&counter_id(*counter), CounterAction::Start, now),
            Op::Complete { counter } => {
                q.counter_action(&counter_id(*counter), CounterAction::Complete { outcome: None }, now)
            }
            Op::NoShow { counter } => q.counter_action(&counter_id(*counter), CounterAction::NoShow, now),
            Op::Recall { counter } => q.counter_action(&counter_id(*counter), CounterAction::Recall, now),
            Op::Transfer { counter, service } => {
                let action = CounterAction::Transfer {
                    to_service: Some(["A", "B", "C"][*service].into()),
                    to_counter: None,
                    note: None,
                };
                q.counter_action(&counter_id(*counter), action, now)
            }
            Op::CallAny { counter, pick } => {
                let Some((id, _, _)) = waiting_before.get(pick % waiting_before.len().max(1)) else { continue };
                let ticket = q.visit(*id).unwrap().number.clone();
                q.counter_action(
                    &counter_id(*counter),
                    CounterAction::Call { ticket, reason: None, outcome: None },
                    now,
                )
            }
            Op::Cancel { pick } => {
                let Some((id, _, _)) = waiting_before.get(pick % waiting_before.len().max(1)) else { continue };
                q.cancel(*id, now)
            }
            Op::Pause { counter } => {
                q.counter_action(&counter_id(*counter), CounterAction::Pause { reason: None }, now)
            }
            Op::Resume { counter } => q.counter_action(&counter_id(*counter), CounterAction::Resume, now),
            Op::Wait { seconds } => {
                now += Duration::seconds(i64::from(*seconds));
                continue;
            }
        };
        let Ok(done) = result else { continue };
        for recorded in &done.events {
            match &recorded.event {
                Event::Issued { visit } => assert!(case_refs.insert(visit.case_ref.clone()), "case ref reused"),
                Event::Called { visit, counter, out_of_order_reason } => {
                    let (_, key, service) =
                        waiting_before.iter().find(|(id, ..)| id == visit).expect("only a waiting visitor is called");
                    let count = called_ever.entry(*visit).or_default();
                    *count += 1;
                    assert!(*count <= 1 + transfers.get(visit).copied().unwrap_or(0), "visit {visit} called twice");
                    if out_of_order_reason.is_none() {
                        let c = q.branch().counter_index(counter).unwrap();
                        let eligible = |id: &VisitId, service: &str| match &targets[id] {
                            Some(t) => t == counter,
                            None => q.branch().counters[c].services.iter().any(|s| s == service),
                        };
                        let bound_ms =
                            q.branch().routing.overtaking_bound_s(q.branch().counters[c].services.len()) * 1000;
                        for (other, other_key, other_service) in &waiting_before {
                            if other == visit || !eligible(other, other_service) {
                                continue;
                            }
                            // Nobody is overtaken by someone who came more than the bound later.
                            assert!(
                                key.ranking_ms <= other_key.ranking_ms + bound_ms,
                                "starvation: {visit} called before {other}"
                            );
                            // FIFO within a lane: same service, same class, no counter target.
                            let same_lane = other_service == service
                                && q.visit(*other).map(|o| o.priority)
                                    == done.visits.iter().find(|v| v.id == *visit).map(|v| v.priority)
                                && targets[other].is_none()
                                && targets[visit].is_none();
                            if same_lane {
                                assert!(key < other_key, "FIFO broken: {visit} before {other}");
                            }
                        }
                    }
                }
                Event::Transferred { visit, .. } => *transfers.entry(*visit).or_default() += 1,
                _ => {}
            }
        }
        check_invariants(&q);
    }
    (q, now)
}

fn q_counter_id(c: usize) -> String {
    ["1", "2", "3"][c].to_string()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn routing_keeps_its_invariants(ops in prop::collection::vec(op(), 1..120)) {
        run_ops(&ops);
    }

    #[test]
    fn every_waiting_visitor_is_eventually_served(ops in prop::collection::vec(op(), 1..120)) {
        let (mut q, mut now) = run_ops(&ops);
        for c in 0..3 {
            let _ = q.counter_action(&q_counter_id(c), CounterAction::Resume, now);
        }
        let live = q.visits().count();
        // Each round every counter finishes its visitor and calls the next: bounded by the queue.
        for _ in 0..=live {
            now += Duration::minutes(1);
            for c in 0..3 {
                q.counter_action(&q_counter_id(c), CounterAction::Next { outcome: None }, now).unwrap();
            }
        }
        for c in 0..3 {
            q.counter_action(&q_counter_id(c), CounterAction::Complete { outcome: None }, now).ok();
        }
        prop_assert_eq!(q.visits().count(), 0, "someone was never called");
    }
}

#[test]
fn the_visit_that_just_ended_can_be_rated_once_within_the_window() {
    let mut q = queue();
    let a = issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "A", Priority::Normal, t0());
    assert_eq!(q.rate("2", 4, None, t0()).unwrap_err().code(), ErrorCode::NothingToRate);
    next(&mut q, "2", t0());
    q.counter_action("2", CounterAction::Complete { outcome: None }, t0() + mins(5)).unwrap();
    let (done, rated) = q.rate("2", 2, Some(RatingReason::WaitedTooLong), t0() + mins(6)).unwrap();
    assert_eq!((rated.number.as_str(), rated.visit), ("A001", a));
    assert_eq!(
        done.events[0].event,
        Event::Rated { visit: a, counter: "2".into(), score: 2, reason: Some(RatingReason::WaitedTooLong) }
    );
    assert_eq!(q.rate("2", 5, None, t0() + mins(7)).unwrap_err().code(), ErrorCode::AlreadyRated);
    // The next visit ends as a no-show: there is nothing new to rate.
    next(&mut q, "2", t0() + mins(8));
    q.counter_action("2", CounterAction::NoShow, t0() + mins(9)).unwrap();
    assert_eq!(q.rate("2", 5, None, t0() + mins(9)).unwrap_err().code(), ErrorCode::AlreadyRated);
    // Another counter's visit, rated too late.
    issue(&mut q, "C", Priority::Normal, t0() + mins(10));
    next(&mut q, "3", t0() + mins(10));
    q.counter_action("3", CounterAction::Complete { outcome: None }, t0() + mins(12)).unwrap();
    let late = t0() + mins(12) + Duration::seconds(i64::from(q.branch().rating_window_s) + 1);
    assert_eq!(q.rate("3", 5, None, late).unwrap_err().code(), ErrorCode::NothingToRate);
    assert_eq!(q.rate("3", 9, None, t0() + mins(12)).unwrap_err().code(), ErrorCode::Malformed);
    assert_eq!(q.rate("99", 3, None, t0()).unwrap_err().code(), ErrorCode::UnknownCounter);
}

/// A visit served at counter 2 from `t0()`, completed at `t0() + 5 min`.
fn served_at_2(q: &mut Queue) -> VisitId {
    let visit = issue(q, "A", Priority::Normal, t0());
    next(q, "2", t0());
    q.counter_action("2", CounterAction::Complete { outcome: None }, t0() + mins(5)).unwrap();
    visit
}

#[test]
fn a_score_is_recorded_at_the_tap_and_its_reason_added_to_it_later() {
    let mut q = queue();
    let visit = served_at_2(&mut q);
    let (done, rated) = q.rate("2", 1, None, t0() + mins(6)).unwrap();
    assert_eq!(rated.visit, visit, "the rating's id is the visit's");
    assert_eq!(done.events[0].event, Event::Rated { visit, counter: "2".into(), score: 1, reason: None });
    assert_eq!(q.rating_awaiting_reason("2", t0() + mins(7)).map(|(r, score)| (r.visit, score)), Some((visit, 1)));
    assert_eq!(q.counter_of_rating(visit), Some("2"));
    // The visitor answers why a little later: the same rating gets its reason.
    let (done, again) = q.add_rating_reason("2", visit, RatingReason::StaffConduct, t0() + mins(8)).unwrap();
    assert_eq!(again, rated);
    assert_eq!(
        done.events.iter().map(|r| r.event.clone()).collect::<Vec<_>>(),
        [Event::RatingReasonAdded { visit, counter: "2".into(), reason: RatingReason::StaffConduct }],
        "one event, and no second rating"
    );
    assert_eq!(q.rating_awaiting_reason("2", t0() + mins(8)), None);
    // A second reason, or a second score, is refused.
    let twice = q.add_rating_reason("2", visit, RatingReason::Other, t0() + mins(9)).unwrap_err();
    assert_eq!(twice, QueueError::ReasonAlreadyGiven(visit));
    assert_eq!(twice.code(), ErrorCode::ReasonAlreadyGiven);
    assert_eq!(q.rate("2", 3, None, t0() + mins(9)).unwrap_err().code(), ErrorCode::AlreadyRated);
}

#[test]
fn a_reason_is_refused_for_another_visit_a_reasoned_rating_or_after_the_window() {
    let mut q = queue();
    let visit = served_at_2(&mut q);
    // Nothing rated yet: no rating to explain.
    let early = q.add_rating_reason("2", visit, RatingReason::Other, t0() + mins(6)).unwrap_err();
    assert_eq!(early.code(), ErrorCode::UnknownRating);
    // A v1 rating with its reason in one message: complete, nothing more to add.
    q.rate("2", 2, Some(RatingReason::WaitedTooLong), t0() + mins(6)).unwrap();
    assert_eq!(q.rating_awaiting_reason("2", t0() + mins(6)), None);
    let more = q.add_rating_reason("2", visit, RatingReason::Other, t0() + mins(7)).unwrap_err();
    assert_eq!(more.code(), ErrorCode::ReasonAlreadyGiven);

    // Another counter's rating, or an id that is not the counter's latest rating.
    let mut q = queue();
    let visit = served_at_2(&mut q);
    q.rate("2", 1, None, t0() + mins(6)).unwrap();
    for (counter, rating) in [("3", visit), ("2", visit + 1)] {
        let e = q.add_rating_reason(counter, rating, RatingReason::Other, t0() + mins(7)).unwrap_err();
        assert_eq!(e.code(), ErrorCode::UnknownRating, "{counter} {rating}");
    }
    assert_eq!(q.counter_of_rating(visit + 1), None);
    // Too late: the window after the score has passed.
    let window = Duration::seconds(i64::from(q.branch().rating_window_s));
    let late = t0() + mins(6) + window + Duration::seconds(1);
    assert_eq!(q.rating_awaiting_reason("2", late), None);
    let e = q.add_rating_reason("2", visit, RatingReason::Other, late).unwrap_err();
    assert_eq!((e.clone(), e.code()), (QueueError::ReasonTooLate(visit), ErrorCode::NothingToRate));
    assert!(q.add_rating_reason("2", visit, RatingReason::Other, t0() + mins(6) + window).is_ok(), "just in time");

    // Once the next visit ends at that counter, the earlier rating takes no reason.
    let mut q = queue();
    let first = served_at_2(&mut q);
    q.rate("2", 1, None, t0() + mins(6)).unwrap();
    issue(&mut q, "A", Priority::Normal, t0() + mins(6));
    next(&mut q, "2", t0() + mins(6));
    q.counter_action("2", CounterAction::Complete { outcome: None }, t0() + mins(7)).unwrap();
    let e = q.add_rating_reason("2", first, RatingReason::Other, t0() + mins(8)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::UnknownRating);
    assert_eq!(
        q.add_rating_reason("9", first, RatingReason::Other, t0()).unwrap_err().code(),
        ErrorCode::UnknownCounter
    );
}

#[test]
fn closing_a_day_cancels_the_tickets_it_left_waiting() {
    let mut q = queue();
    let called = issue(&mut q, "A", Priority::Normal, t0());
    let waiting = issue(&mut q, "A", Priority::Normal, t0());
    next(&mut q, "2", t0());
    let next_morning = t0() + Duration::hours(24);
    let today = issue(&mut q, "A", Priority::Normal, next_morning);
    // Nothing to close on the same day.
    assert!(q.close_days_before(q.local_day(t0()), t0()).events.is_empty());
    let done = q.close_days_before(q.local_day(next_morning), next_morning);
    assert_eq!(done.events.len(), 1);
    assert_eq!(done.events[0].event, Event::Cancelled { visit: waiting, reason: Some("day_closed".into()) });
    assert_eq!(done.visits[0].status, TicketStatus::Cancelled);
    assert!(q.visit(waiting).is_none());
    assert_eq!(q.visit(called).unwrap().status, TicketStatus::Called, "the counter finishes its visitor");
    assert_eq!(q.visit(today).unwrap().status, TicketStatus::Waiting);
    assert!(
        q.close_days_before(q.local_day(next_morning), next_morning).events.is_empty(),
        "closing twice does nothing"
    );
}

#[test]
fn calling_a_finished_or_cancelled_ticket_of_today_is_not_waiting() {
    let mut q = queue();
    let call = |ticket: &str| CounterAction::Call { ticket: ticket.into(), reason: None, outcome: None };
    issue(&mut q, "A", Priority::Normal, t0());
    let cancelled = issue(&mut q, "A", Priority::Normal, t0());
    assert_eq!(next(&mut q, "2", t0()).as_deref(), Some("A001"));
    q.counter_action("2", CounterAction::Complete { outcome: None }, t0()).unwrap();
    q.cancel(cancelled, t0()).unwrap();
    assert_eq!(q.counter_action("2", call("A001"), t0()).unwrap_err().code(), ErrorCode::NotWaiting, "finished");
    assert_eq!(q.counter_action("2", call("A002"), t0()).unwrap_err().code(), ErrorCode::NotWaiting, "cancelled");
    assert_eq!(q.counter_action("2", call("A003"), t0()).unwrap_err().code(), ErrorCode::UnknownTicket, "not issued");
    assert_eq!(q.counter_action("2", call("A"), t0()).unwrap_err().code(), ErrorCode::UnknownTicket);
}

#[test]
fn a_new_configuration_keeps_the_queue_and_is_refused_when_a_live_visit_would_lose_its_service() {
    let mut q = queue();
    let a1 = issue(&mut q, "A", Priority::Normal, t0());
    let mut more = small_branch();
    let mut extra = more.services[0].clone();
    extra.code = "Z".into();
    more.services.push(extra);
    more.counters[0].services.push("Z".into());
    let mut q = q.reconfigured(Arc::new(more.clone()), t0()).expect("a service added");
    assert!(q.branch().service_index("Z").is_some());
    assert_eq!(q.visit(a1).unwrap().number, "A001", "the waiting visit stays");
    let z1 = issue(&mut q, "Z", Priority::Normal, t0());
    assert_eq!(q.visit(z1).unwrap().number, "Z001");
    assert_eq!(issue(&mut q, "A", Priority::Normal, t0()), z1 + 1, "visit ids go on");
    let mut without_a = more;
    without_a.services.retain(|s| s.code != "A");
    for c in &mut without_a.counters {
        c.services.retain(|s| s != "A");
    }
    assert_eq!(q.reconfigured(Arc::new(without_a), t0()).unwrap_err().len(), 2, "two A visits wait");
}

// ----- Remote tickets: the arrival rule ------------------------------------------------------

fn join(q: &mut Queue, service: &str, at: DateTime<Utc>) -> VisitId {
    q.issue_remote(service, format!("remote-{}", at.timestamp_millis()), at).expect("join").1
}

fn events_of(done: &super::queue::Done) -> Vec<&'static str> {
    done.events.iter().map(|r| r.event.kind()).collect()
}

#[test]
fn a_remote_ticket_keeps_its_place_but_is_called_only_after_it_arrives() {
    let mut q = queue();
    let remote = join(&mut q, "A", t0());
    let walk_in = issue(&mut q, "A", Priority::Normal, t0() + mins(1));
    assert_eq!(q.visit(remote).unwrap().number, "A001");
    assert_eq!(q.estimate_for(walk_in, t0() + mins(2)).unwrap().position, 2, "the remote ticket is ahead");

    // At the front, not here: the walk-in is called and the holder is to be told, once.
    let done = q.counter_action("2", CounterAction::Next { outcome: None }, t0() + mins(2)).unwrap();
    assert_eq!(events_of(&done), ["held_for_arrival", "called"]);
    assert_eq!(done.called, Some(walk_in));
    assert_eq!(q.visit(remote).unwrap().held_at, Some(t0() + mins(2)));
    assert_eq!(q.visit(remote).unwrap().status, TicketStatus::Waiting);
    issue(&mut q, "A", Priority::Normal, t0() + mins(3));
    let done = q.counter_action("2", CounterAction::Next { outcome: None }, t0() + mins(4)).unwrap();
    assert_eq!(events_of(&done), ["completed", "called"], "told once: no second held event");
    assert_eq!(q.visit(remote).unwrap().held_at, Some(t0() + mins(2)), "the grace time runs from the first");

    // Out of order is refused too, while it has not checked in.
    let refused = q.counter_action(
        "1",
        CounterAction::Call { ticket: "A001".into(), reason: None, outcome: None },
        t0() + mins(4),
    );
    assert_eq!(refused.unwrap_err(), QueueError::NotArrived("A001".into()));

    // Checked in: it is first again, by the time it joined.
    let arrived = q.arrive(remote, t0() + mins(5)).unwrap();
    assert_eq!(events_of(&arrived), ["arrived"]);
    assert!(q.arrive(remote, t0() + mins(5)).unwrap().events.is_empty(), "a second check-in changes nothing");
    issue(&mut q, "A", Priority::Normal, t0() + mins(5));
    assert_eq!(next(&mut q, "2", t0() + mins(6)).as_deref(), Some("A001"));
}

#[test]
fn an_empty_line_of_callable_visitors_still_tells_the_remote_holder() {
    let mut q = queue();
    let remote = join(&mut q, "A", t0());
    let done = q.counter_action("2", CounterAction::Next { outcome: None }, t0() + mins(1)).unwrap();
    assert_eq!(events_of(&done), ["held_for_arrival"]);
    assert_eq!(done.called, None, "nobody else: the counter stays free");
    assert_eq!(q.visit(remote).unwrap().held_at, Some(t0() + mins(1)));
}

#[test]
fn a_remote_ticket_behind_the_one_called_is_not_held() {
    let mut q = queue();
    let walk_in = issue(&mut q, "A", Priority::Normal, t0());
    let remote = join(&mut q, "A", t0() + mins(1));
    let done = q.counter_action("2", CounterAction::Next { outcome: None }, t0() + mins(2)).unwrap();
    assert_eq!(events_of(&done), ["called"]);
    assert_eq!(done.called, Some(walk_in));
    assert_eq!(q.visit(remote).unwrap().held_at, None, "it was not at the front");
}

#[test]
fn past_the_grace_time_a_remote_ticket_not_arrived_is_a_no_show() {
    let mut q = queue();
    let remote = join(&mut q, "A", t0());
    let never_held = join(&mut q, "B", t0());
    q.counter_action("2", CounterAction::Next { outcome: None }, t0() + mins(1)).unwrap();
    // counter 2 serves A then B: both remote tickets were at the front of their lanes.
    assert_eq!(q.visit(never_held).unwrap().held_at, Some(t0() + mins(1)));
    let other = join(&mut q, "C", t0());
    let grace = i64::from(q.branch().remote.grace_s) / 60;
    assert!(q.expire_unarrived(t0() + mins(grace)).events.is_empty(), "within grace");
    let done = q.expire_unarrived(t0() + mins(1 + grace));
    assert_eq!(events_of(&done), ["arrival_missed", "arrival_missed"]);
    let ended: Vec<_> = done.visits.iter().map(|v| (v.id, v.status)).collect();
    assert_eq!(ended, [(remote, TicketStatus::NoShow), (never_held, TicketStatus::NoShow)]);
    assert!(q.visit(remote).is_none(), "it left the queue");
    assert!(q.visit(other).is_some(), "never at the front: no grace running");
    assert_eq!(q.waiting_in_service(0), 0);
}

#[test]
fn an_arrived_remote_ticket_is_never_a_no_show_by_grace() {
    let mut q = queue();
    let remote = join(&mut q, "A", t0());
    q.counter_action("2", CounterAction::Next { outcome: None }, t0() + mins(1)).unwrap();
    q.arrive(remote, t0() + mins(2)).unwrap();
    assert!(q.expire_unarrived(t0() + mins(60)).events.is_empty());
    assert_eq!(q.visit(remote).unwrap().arrived_at, Some(t0() + mins(2)));
}

#[test]
fn only_remote_tickets_check_in() {
    let mut q = queue();
    let walk_in = issue(&mut q, "A", Priority::Normal, t0());
    assert_eq!(q.arrive(walk_in, t0()).unwrap_err(), QueueError::NotRemote("A001".into()));
    assert_eq!(q.arrive(999, t0()).unwrap_err(), QueueError::UnknownTicket("999".into()));
}

#[test]
fn remote_joining_follows_the_services_rules() {
    use super::queue::RemoteRefusal;
    let mut branch = small_branch();
    branch.services[2].remote = None;
    let mut q = Queue::new(Arc::new(branch), t0());
    // Closed to it.
    let refused = q.issue_remote("C", "x".into(), t0()).unwrap_err();
    assert_eq!(refused, QueueError::Remote(RemoteRefusal::NotOpen, "C".into()));
    // The share: at most half the line, but an empty line takes one.
    join(&mut q, "A", t0());
    let refused = q.issue_remote("A", "y".into(), t0()).unwrap_err();
    assert_eq!(refused, QueueError::Remote(RemoteRefusal::Full, "A".into()), "2 of 2 is over half");
    issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "A", Priority::Normal, t0());
    join(&mut q, "A", t0());
    assert_eq!(q.remote_waiting(0), (2, 4), "2 of 4 is half");
    assert!(q.issue_remote("A", "z".into(), t0()).is_err(), "3 of 5 is over half");
    // Until 30 minutes before 16:00 Riyadh (13:00 UTC).
    let before = Utc.with_ymd_and_hms(2026, 11, 23, 12, 29, 0).unwrap();
    let after = Utc.with_ymd_and_hms(2026, 11, 23, 12, 30, 0).unwrap();
    assert!(q.remote_open(1, before).is_ok());
    assert_eq!(q.remote_open(1, after), Err(RemoteRefusal::TooLate));
    assert_eq!(q.remote_open(1, Utc.with_ymd_and_hms(2026, 11, 23, 13, 30, 0).unwrap()), Err(RemoteRefusal::TooLate));
}

#[test]
fn arrival_and_no_show_replay_to_the_same_queue() {
    let mut q = queue();
    let (joined_a, a) = q.issue_remote("A", "token-a".into(), t0()).unwrap();
    let (joined_b, b) = q.issue_remote("B", "token-b".into(), t0()).unwrap();
    let mut log = Vec::new();
    for done in [
        joined_a,
        joined_b,
        q.counter_action("2", CounterAction::Next { outcome: None }, t0() + mins(1)).unwrap(),
        q.arrive(a, t0() + mins(2)).unwrap(),
        q.expire_unarrived(t0() + mins(30)),
    ] {
        log.extend(done.events);
    }
    let kinds: Vec<_> = log.iter().map(|r| r.event.kind()).collect();
    assert_eq!(kinds, ["issued", "issued", "held_for_arrival", "held_for_arrival", "arrived", "arrival_missed"]);
    let mut replayed = queue();
    for recorded in &log {
        replayed.apply(recorded);
    }
    assert_eq!(replayed.visit(a), q.visit(a));
    assert_eq!(replayed.visit(a).unwrap().arrived_at, Some(t0() + mins(2)));
    assert!(replayed.visit(b).is_none() && q.visit(b).is_none(), "the no-show left both");
}

#[test]
fn a_closed_day_takes_no_ticket_and_closing_today_cancels_its_waiting_tickets_once() {
    use super::queue::{Closure, RemoteRefusal};
    let mut q = queue();
    let waiting_a = issue(&mut q, "A", Priority::Normal, t0());
    let waiting_b = issue(&mut q, "B", Priority::Normal, t0());
    let today = t0().date_naive();
    let tomorrow = today + Duration::days(1);

    // Tomorrow for A: nothing changes today.
    let later = Closure { day: tomorrow, service: Some("A".into()) };
    assert_eq!(q.close_day(later.clone(), t0()).unwrap().unwrap().events, []);
    assert!(q.closed_on("A", tomorrow) && !q.closed_on("A", today) && !q.closed_on("B", tomorrow));
    issue(&mut q, "A", Priority::Normal, t0() + mins(1));

    // Today for A: A's waiting tickets are cancelled, B's stay; A takes no ticket, B does.
    let done = q.close_day(Closure { day: today, service: Some("A".into()) }, t0() + mins(2)).unwrap().unwrap();
    let cancelled: Vec<_> = done
        .events
        .iter()
        .map(|r| match &r.event {
            Event::Cancelled { visit, reason } => (*visit, reason.clone()),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(cancelled.len(), 2);
    assert_eq!(cancelled[0], (waiting_a, Some("service_closed".into())));
    assert!(q.visit(waiting_a).is_none() && q.visit(waiting_b).is_some());
    let refused = q.issue(
        IssueRequest { service: "A".into(), priority: Priority::Normal, appointment_at: None, token: "x".into() },
        t0() + mins(3),
    );
    assert_eq!(refused.unwrap_err(), QueueError::ClosedForDay("A".into()));
    assert_eq!(QueueError::ClosedForDay("A".into()).code(), ErrorCode::ServiceClosed);
    issue(&mut q, "B", Priority::Normal, t0() + mins(3));
    let summaries = q.service_summaries(t0() + mins(3));
    assert!(!summaries.iter().find(|s| s.code == "A").unwrap().open, "the kiosk shows A closed");
    let a = q.branch().service_index("A").unwrap();
    assert!(matches!(q.remote_open(a, t0() + mins(3)), Err(RemoteRefusal::ClosedToday | RemoteRefusal::NotOpen)));

    // Again: nothing. An unknown service or a past day: refused.
    assert_eq!(q.close_day(later, t0() + mins(4)).unwrap(), None);
    assert!(matches!(
        q.close_day(Closure { day: today, service: Some("Z".into()) }, t0()),
        Err(QueueError::UnknownService(_))
    ));
    assert!(q.close_day(Closure { day: today - Duration::days(1), service: None }, t0()).is_err());

    // The whole branch today: B's waiting tickets go too, and nothing is issued.
    let done = q.close_day(Closure { day: today, service: None }, t0() + mins(5)).unwrap().unwrap();
    assert_eq!(done.events.len(), 2, "B's two");
    assert!(q.visits().all(|v| v.status != TicketStatus::Waiting));
    assert!(q.closed_on("C", today));
}

// ----- Skills: who may serve which services -------------------------------------------------

/// The small branch with two staff: `b_only` may serve B, `ac` may serve A and C.
fn skilled_queue() -> Queue {
    use super::branch::{Role, Staff};
    let mut branch = small_branch();
    let person = |id: &str, services: &[&str]| Staff {
        id: id.into(),
        name: super::branch::tests::names(id),
        role: Role::Staff,
        pin_hash: None,
        counters: vec!["1".into(), "2".into(), "3".into()],
        services: Some(services.iter().map(|s| s.to_string()).collect()),
    };
    branch.staff = vec![person("b_only", &["B"]), person("ac", &["A", "C"])];
    branch.validate().unwrap();
    Queue::new(Arc::new(branch), t0())
}

#[test]
fn a_counter_calls_only_the_services_its_staff_member_has() {
    let mut q = skilled_queue();
    issue(&mut q, "A", Priority::Normal, t0());
    issue(&mut q, "C", Priority::Normal, t0() + mins(1));
    issue(&mut q, "B", Priority::Normal, t0() + mins(2));
    issue(&mut q, "A", Priority::Assisted, t0() + mins(3));
    q.set_staff(0, Some("b_only".into()));
    assert_eq!(q.branch().services_at(0, Some("b_only")), vec!["B".to_string()]);
    let now = t0() + mins(4);
    let listed: Vec<&str> = q.waiting_for_counter(0, now).iter().map(|v| v.number.as_str()).collect();
    assert_eq!(listed, vec!["B001"], "the counter lists only what its staff member may serve");
    assert_eq!(q.counter_state(0, now).waiting, 1);
    assert_eq!(next(&mut q, "1", now).as_deref(), Some("B001"));
    assert_eq!(next(&mut q, "1", now), None, "A and C wait, but not for this staff member");
    let out_of_order = CounterAction::Call { ticket: "A001".into(), reason: None, outcome: None };
    let refused = q.counter_action("1", out_of_order, now).unwrap_err();
    assert_eq!(refused.code(), ErrorCode::NotServedHere);
    // Someone who may serve A and C takes over: the counter calls them again.
    q.set_staff(0, Some("ac".into()));
    assert_eq!(next(&mut q, "1", now).as_deref(), Some("A002"), "the assisted A visitor first");
    // Nobody signed in: the counter's own services, all of them.
    q.set_staff(0, None);
    assert_eq!(next(&mut q, "1", now).as_deref(), Some("A001"));
}

#[test]
fn a_visitor_transferred_to_a_counter_waits_for_someone_who_has_the_service() {
    let mut q = skilled_queue();
    issue(&mut q, "A", Priority::Normal, t0());
    assert_eq!(next(&mut q, "2", t0()).as_deref(), Some("A001"));
    let to_1 = CounterAction::Transfer { to_service: None, to_counter: Some("1".into()), note: None };
    q.counter_action("2", to_1, t0() + mins(1)).unwrap();
    q.set_staff(0, Some("b_only".into()));
    let now = t0() + mins(2);
    assert_eq!(next(&mut q, "1", now), None);
    let passed = q.counter_action("1", CounterAction::Next { outcome: None }, now).unwrap();
    assert!(
        !passed.events.iter().any(|e| matches!(e.event, Event::HeldForArrival { .. })),
        "a visitor passed over for a skill is not held for arrival"
    );
    q.set_staff(0, Some("ac".into()));
    assert_eq!(next(&mut q, "1", now).as_deref(), Some("A001"));
}

#[test]
fn a_service_nobody_at_an_open_counter_may_serve_takes_no_ticket() {
    let mut q = skilled_queue();
    // C is served at counters 1 and 3; both staffed by someone without C.
    q.set_staff(0, Some("b_only".into()));
    q.set_staff(2, Some("b_only".into()));
    let req = IssueRequest { service: "C".into(), priority: Priority::Normal, appointment_at: None, token: "t".into() };
    assert_eq!(q.issue(req.clone(), t0()).unwrap_err(), QueueError::ServiceClosed("C".into()));
    q.set_staff(2, Some("ac".into()));
    q.issue(req, t0()).unwrap();
}

#[test]
fn who_is_signed_in_survives_a_new_configuration() {
    let mut q = skilled_queue();
    q.set_staff(0, Some("b_only".into()));
    let again = q.reconfigured(q.branch().clone(), t0()).unwrap();
    assert_eq!(again.skills_at(0), Some(&["B".to_string()][..]));
    assert_eq!(again.skills_at(1), None);
}

#[derive(Debug, Clone)]
enum SkillOp {
    Issue { service: usize },
    SignIn { counter: usize, staff: usize },
    Next { counter: usize },
    Call { counter: usize, pick: usize },
    TransferTo { counter: usize, to: usize },
    Wait { seconds: u16 },
}

fn skill_op() -> impl Strategy<Value = SkillOp> {
    prop_oneof![
        4 => (0..3usize).prop_map(|service| SkillOp::Issue { service }),
        2 => (0..3usize, 0..3usize).prop_map(|(counter, staff)| SkillOp::SignIn { counter, staff }),
        4 => (0..3usize).prop_map(|counter| SkillOp::Next { counter }),
        1 => (0..3usize, 0..50usize).prop_map(|(counter, pick)| SkillOp::Call { counter, pick }),
        1 => (0..3usize, 0..3usize).prop_map(|(counter, to)| SkillOp::TransferTo { counter, to }),
        2 => (0..900u16).prop_map(|seconds| SkillOp::Wait { seconds }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn a_counter_never_calls_a_service_its_staff_member_lacks(ops in prop::collection::vec(skill_op(), 1..150)) {
        let mut q = skilled_queue();
        let mut now = t0();
        let staff = [None, Some("b_only"), Some("ac")];
        let mut at: [Option<&str>; 3] = [None; 3];
        for (n, op) in ops.iter().enumerate() {
            let result = match *op {
                SkillOp::Issue { service } => {
                    let req = IssueRequest {
                        service: ["A", "B", "C"][service].into(),
                        priority: Priority::Normal,
                        appointment_at: None,
                        token: n.to_string(),
                    };
                    q.issue(req, now).map(|(done, _)| done)
                }
                SkillOp::SignIn { counter, staff: s } => {
                    at[counter] = staff[s];
                    q.set_staff(counter, staff[s].map(str::to_owned));
                    continue;
                }
                SkillOp::Next { counter } => {
                    q.counter_action(&q_counter_id(counter), CounterAction::Next { outcome: None }, now)
                }
                SkillOp::Call { counter, pick } => {
                    let mut waiting: Vec<String> =
                        q.visits().filter(|v| v.status == TicketStatus::Waiting).map(|v| v.number.clone()).collect();
                    waiting.sort();
                    let Some(ticket) = waiting.get(pick % waiting.len().max(1)).cloned() else { continue };
                    let call = CounterAction::Call { ticket, reason: None, outcome: None };
                    q.counter_action(&q_counter_id(counter), call, now)
                }
                SkillOp::TransferTo { counter, to } => {
                    let action = CounterAction::Transfer { to_service: None, to_counter: Some(q_counter_id(to)), note: None };
                    q.counter_action(&q_counter_id(counter), action, now)
                }
                SkillOp::Wait { seconds } => {
                    now += Duration::seconds(i64::from(seconds));
                    continue;
                }
            };
            let Ok(done) = result else { continue };
            for recorded in &done.events {
                if let Event::Called { visit, counter, .. } = &recorded.event {
                    let service = &done.visits.iter().find(|v| v.id == *visit).unwrap().service;
                    let c = q.branch().counter_index(counter).unwrap();
                    let skills = at[c].and_then(|s| q.branch().skills_of(s));
                    prop_assert!(
                        skills.is_none_or(|k| k.contains(service)),
                        "counter {} staffed by {:?} called {} of service {}", counter, at[c], visit, service
                    );
                }
            }
        }
    }
}
