//! The independent checker of a chaos run: what every client was told (the [`Ledger`]) and what
//! the hub's public API says at the end ([`Final`]) in, the anomalies out. It knows the hub only
//! through `dawr-protocol`'s wire types: none of the hub's own code decides anything here.
use std::collections::{BTreeMap, HashMap, HashSet};

use dawr_protocol::api::bookings::BookingStatus;
use dawr_protocol::api::crm::CaseEvent;
use dawr_protocol::api::reports::Figures;
use dawr_protocol::api::{Board, Call, ServiceSummary, Ticket, TicketStatus};

/// A 201 ticket a kiosk (or a check-in) was given.
#[derive(Debug, Clone)]
pub struct Issued {
    /// The client's idempotency key (`k1-17`, `appt-CODE`).
    pub request_id: String,
    pub id: u64,
    pub number: String,
    /// When it was acknowledged, seconds into the run.
    pub t: f64,
    pub latency_ms: f64,
    pub during_fault: bool,
}

/// A reply a counter (button over MQTT, or the counter app over HTTP) was given.
#[derive(Debug, Clone)]
pub struct Answer {
    pub counter: String,
    pub command_id: String,
    pub ok: bool,
    /// The ticket now called, with `ok`.
    pub ticket: Option<String>,
    pub error: Option<String>,
    pub via_mqtt: bool,
    pub t: f64,
    pub latency_ms: f64,
    pub during_fault: bool,
}

/// An acknowledged exit rating.
#[derive(Debug, Clone)]
pub struct Rated {
    pub counter: String,
    pub ticket: String,
    pub score: u8,
}

/// An acknowledged check-in.
#[derive(Debug, Clone)]
pub struct CheckedIn {
    pub code: String,
    pub ticket: u64,
}

/// One webhook the CRM receiver answered 2xx.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub event: CaseEvent,
    pub t: f64,
}

/// The kinds of fault the harness injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FaultKind {
    HubKill,
    BrokerRestart,
    BoardCut,
    ButtonCut,
    SiteDown,
    CrmDown,
    DiskFull,
}

impl FaultKind {
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::HubKill => "hub kill -9",
            FaultKind::BrokerRestart => "broker restart",
            FaultKind::BoardCut => "board link cut",
            FaultKind::ButtonCut => "button link cut",
            FaultKind::SiteDown => "site down",
            FaultKind::CrmDown => "CRM down",
            FaultKind::DiskFull => "disk full",
        }
    }
}

/// One fault as injected: from `start` until it was healed at `end` (seconds into the run).
#[derive(Debug, Clone)]
pub struct Fault {
    pub kind: FaultKind,
    pub start: f64,
    pub end: f64,
}

/// Everything the clients were told, in the order they were told it.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub issued: Vec<Issued>,
    /// Kiosk touches given up without any answer (the run ended first).
    pub issue_unanswered: usize,
    pub answers: Vec<Answer>,
    /// Calls the board link saw on `…/calls` (with QoS 1 repeats).
    pub calls: Vec<(f64, Call)>,
    /// Every board message the board link saw, last one last.
    pub boards: Vec<(f64, Board)>,
    pub ratings: Vec<Rated>,
    pub checkins: Vec<CheckedIn>,
    pub webhooks: Vec<Webhook>,
    /// Seconds into the run at which the site took a booking (it was up).
    pub site_up: Vec<f64>,
    pub faults: Vec<Fault>,
    /// The hub's resident memory, sampled (kB).
    pub rss_kb: Vec<u64>,
}

/// The hub's (and the site's) answers at the end of the run.
#[derive(Debug, Clone, Default)]
pub struct Final {
    /// Every ticket the hub has, by id.
    pub tickets: BTreeMap<u64, Ticket>,
    /// The report over the run's days.
    pub report: Option<Figures>,
    pub crm_pending: i64,
    /// Bookings by code as the hub holds them and as the site has them.
    pub hub_bookings: HashMap<String, BookingStatus>,
    pub site_bookings: HashMap<String, BookingStatus>,
    /// The board a display gets on connecting now (retained), and `GET /api/v1/services`.
    pub fresh_board: Option<Board>,
    pub services: Vec<ServiceSummary>,
    /// The database's size on disk (database, WAL and shared memory), in bytes.
    pub db_bytes: u64,
}

/// What the run must stay within.
#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub rss_kb: u64,
    pub db_bytes: u64,
}

/// The ticket number each acknowledged call named and the hub's ticket of that number. Numbers
/// restart each local day, so a number is looked up among the tickets issued before the call.
fn ticket_by_number<'a>(tickets: &'a BTreeMap<u64, Ticket>, number: &str) -> Vec<&'a Ticket> {
    tickets.values().filter(|t| t.number == number).collect()
}

/// Checks the run; every anomaly is one line.
pub fn check(ledger: &Ledger, end: &Final, bounds: Bounds) -> Vec<String> {
    let mut anomalies = Vec::new();
    tickets(ledger, end, &mut anomalies);
    commands(ledger, end, &mut anomalies);
    ratings_and_checkins(ledger, end, &mut anomalies);
    crm(ledger, end, &mut anomalies);
    report(ledger, end, &mut anomalies);
    board(ledger, end, &mut anomalies);
    let rss = ledger.rss_kb.iter().copied().max().unwrap_or(0);
    if rss > bounds.rss_kb {
        anomalies.push(format!("hub memory {rss} kB over the bound of {} kB", bounds.rss_kb));
    }
    if end.db_bytes > bounds.db_bytes {
        anomalies.push(format!("database {} bytes over the bound of {} bytes", end.db_bytes, bounds.db_bytes));
    }
    anomalies
}

/// Every acknowledged ticket exists, once, and ended; a key never gave two tickets.
fn tickets(ledger: &Ledger, end: &Final, anomalies: &mut Vec<String>) {
    let mut by_key: HashMap<&str, u64> = HashMap::new();
    let mut keys_of: HashMap<u64, HashSet<&str>> = HashMap::new();
    for issued in &ledger.issued {
        if let Some(first) = by_key.insert(&issued.request_id, issued.id)
            && first != issued.id
        {
            anomalies.push(format!("request {} got tickets {first} and {}", issued.request_id, issued.id));
        }
        keys_of.entry(issued.id).or_default().insert(&issued.request_id);
        match end.tickets.get(&issued.id) {
            None => anomalies.push(format!("acknowledged ticket {} ({}) is not in the hub", issued.id, issued.number)),
            Some(t) if t.number != issued.number => anomalies
                .push(format!("ticket {} was acknowledged as {} but is {}", issued.id, issued.number, t.number)),
            Some(t) if !t.status.is_final() => {
                anomalies.push(format!("ticket {} ({}) ended {:?}, not in a final state", t.id, t.number, t.status))
            }
            Some(_) => {}
        }
    }
    for (id, keys) in keys_of {
        if keys.len() > 1 {
            anomalies.push(format!("ticket {id} was given to {} different requests: {keys:?}", keys.len()));
        }
    }
    let mut numbers: HashMap<(chrono::NaiveDate, &str), u64> = HashMap::new();
    for t in end.tickets.values() {
        let day = (t.issued_at + chrono::Duration::hours(3)).date_naive();
        if let Some(other) = numbers.insert((day, &t.number), t.id) {
            anomalies.push(format!("number {} given twice on {day}: tickets {other} and {}", t.number, t.id));
        }
    }
}

/// No command acted on twice; no visitor called by two counters or twice; no call for a ticket
/// that was not waiting.
fn commands(ledger: &Ledger, end: &Final, anomalies: &mut Vec<String>) {
    let mut first: HashMap<(&str, &str), &Answer> = HashMap::new();
    let mut callers: HashMap<&str, HashSet<(&str, &str)>> = HashMap::new();
    for answer in &ledger.answers {
        match first.get(&(answer.counter.as_str(), answer.command_id.as_str())) {
            Some(earlier) if earlier.ok && (earlier.ok, &earlier.ticket) != (answer.ok, &answer.ticket) => {
                anomalies.push(format!(
                    "command {} at counter {} answered {:?} then {:?}",
                    answer.command_id, answer.counter, earlier.ticket, answer.ticket
                ));
            }
            Some(_) => {}
            None => {
                first.insert((&answer.counter, &answer.command_id), answer);
            }
        }
        if answer.ok
            && let Some(ticket) = &answer.ticket
        {
            callers.entry(ticket).or_default().insert((&answer.counter, &answer.command_id));
        }
    }
    for (ticket, by) in &callers {
        if by.len() > 1 && ticket_by_number(&end.tickets, ticket).len() < by.len() {
            anomalies.push(format!("ticket {ticket} was called by {} commands: {by:?}", by.len()));
        }
    }
    let mut seen_calls: HashMap<u64, &Call> = HashMap::new();
    let mut calls_of: HashMap<(chrono::NaiveDate, &str), HashSet<&str>> = HashMap::new();
    for (_, call) in &ledger.calls {
        if seen_calls.insert(call.id, call).is_some() || call.recall {
            continue;
        }
        let issued_before: Vec<&Ticket> =
            ticket_by_number(&end.tickets, &call.ticket).into_iter().filter(|t| t.issued_at <= call.at).collect();
        // A visitor is known by number and the day the ticket was issued: one waiting at local
        // midnight may be called a moment into the next day, when that day's first tickets
        // reuse the numbers.
        let issued = issued_before.last().map_or(call.at, |t| t.issued_at);
        let day = (issued + chrono::Duration::hours(3)).date_naive();
        let counters = calls_of.entry((day, &call.ticket)).or_default();
        counters.insert(&call.counter);
        if counters.len() > 1 {
            let calls: Vec<String> = ledger
                .calls
                .iter()
                .filter(|(_, c)| c.ticket == call.ticket && !c.recall)
                .map(|(t, c)| format!("#{} at {} by {} (seen {t:.1} s)", c.id, c.at.format("%H:%M:%S%.3f"), c.counter))
                .collect();
            anomalies.push(format!("visitor {} called by counters {counters:?}: {calls:?}", call.ticket));
        }
        match issued_before.last() {
            None => anomalies.push(format!("call {} for {} which was never issued", call.id, call.ticket)),
            Some(t) if t.called_at.is_none() || t.status == TicketStatus::Cancelled => anomalies
                .push(format!("call {} for {} which the hub says was not called ({:?})", call.id, t.number, t.status)),
            Some(_) => {}
        }
    }
    for t in end.tickets.values() {
        if t.status == TicketStatus::Cancelled && t.called_at.is_some() {
            anomalies.push(format!("ticket {} ({}) was called and then cancelled", t.id, t.number));
        }
    }
}

/// Every acknowledged rating and check-in is in the hub; the site and the hub agree on bookings.
fn ratings_and_checkins(ledger: &Ledger, end: &Final, anomalies: &mut Vec<String>) {
    for rated in &ledger.ratings {
        let found = ticket_by_number(&end.tickets, &rated.ticket);
        if !found.iter().any(|t| t.rating == Some(rated.score) && t.counter.as_deref() == Some(&rated.counter)) {
            anomalies.push(format!(
                "rating {} of {} at counter {} is not in the hub",
                rated.score, rated.ticket, rated.counter
            ));
        }
    }
    for checked in &ledger.checkins {
        match end.tickets.get(&checked.ticket) {
            Some(t) if t.appointment_at.is_some() => {}
            other => {
                anomalies.push(format!("check-in {} → ticket {}: hub has {other:?}", checked.code, checked.ticket))
            }
        }
        if end.hub_bookings.get(&checked.code) != Some(&BookingStatus::CheckedIn) {
            anomalies.push(format!(
                "checked-in booking {} is {:?} at the hub",
                checked.code,
                end.hub_bookings.get(&checked.code)
            ));
        }
    }
    for (code, site) in &end.site_bookings {
        let hub = end.hub_bookings.get(code);
        if hub.is_some_and(|h| h != site) {
            anomalies.push(format!("booking {code}: site says {site:?}, hub says {hub:?}"));
        }
    }
}

/// The visit events' sequence in a visit event's id (`demo-e1042` → 1042).
fn sequence(event_id: &str) -> Option<u64> {
    event_id.rsplit_once("-e").and_then(|(_, n)| n.parse().ok())
}

/// The CRM got every case event at least once, in order per case.
fn crm(ledger: &Ledger, end: &Final, anomalies: &mut Vec<String>) {
    if end.crm_pending != 0 {
        anomalies.push(format!("{} CRM events still pending at the end", end.crm_pending));
    }
    let mut seen = HashSet::new();
    let mut last_of_case: HashMap<&str, u64> = HashMap::new();
    let mut kinds: HashMap<&str, HashSet<&str>> = HashMap::new();
    for hook in &ledger.webhooks {
        if !seen.insert(hook.event.event_id.as_str()) {
            continue;
        }
        kinds.entry(&hook.event.case_ref).or_default().insert(&hook.event.kind);
        let Some(n) = sequence(&hook.event.event_id) else { continue };
        if let Some(before) = last_of_case.insert(&hook.event.case_ref, n)
            && before > n
        {
            anomalies.push(format!("case {}: event {n} arrived after {before}", hook.event.case_ref));
        }
    }
    for t in end.tickets.values() {
        let got = kinds.get(t.case_ref.as_str());
        let has = |kind: &str| got.is_some_and(|k| k.contains(kind));
        let mut expected = vec!["issued"];
        if t.called_at.is_some() {
            expected.push("called");
        }
        match t.status {
            TicketStatus::Done => expected.push("completed"),
            TicketStatus::Cancelled => expected.push("cancelled"),
            _ => {}
        }
        if t.rating.is_some() {
            expected.push("rated");
        }
        for kind in expected {
            if !has(kind) {
                anomalies.push(format!("the CRM never got `{kind}` of case {} (ticket {})", t.case_ref, t.number));
            }
        }
    }
}

/// The day's report equals the figures recomputed from the ledgers.
fn report(ledger: &Ledger, end: &Final, anomalies: &mut Vec<String>) {
    let Some(figures) = &end.report else {
        anomalies.push("no report for the run's days".into());
        return;
    };
    let acknowledged: HashSet<u64> = ledger.issued.iter().map(|i| i.id).collect();
    // Numbers restart each local day, so calls are counted by the command that made them (each
    // acted on once), ratings by acknowledgement.
    let called: HashSet<(&str, &str)> = ledger
        .answers
        .iter()
        .filter(|a| a.ok && a.ticket.is_some())
        .map(|a| (a.counter.as_str(), a.command_id.as_str()))
        .collect();
    let ratings = &ledger.ratings;
    let cancelled = end.tickets.values().filter(|t| t.status == TicketStatus::Cancelled).count();
    let mut compare = |what: &str, report: usize, ledger: usize| {
        if report != ledger {
            anomalies.push(format!("report says {report} {what}, the ledgers {ledger}"));
        }
    };
    if ledger.issue_unanswered == 0 {
        compare("visits", figures.visits, acknowledged.len());
    }
    compare("served + no-shows", figures.served + figures.no_shows, called.len());
    compare(
        "cancelled + served + no-shows",
        figures.cancelled + figures.served + figures.no_shows,
        figures.visits - figures.open,
    );
    compare("cancelled (hub tickets)", figures.cancelled, cancelled);
    compare("ratings", figures.csat.ratings, ratings.len());
}

/// The display's last board is the hub's: the board a display gets now, and the waiting counts.
fn board(ledger: &Ledger, end: &Final, anomalies: &mut Vec<String>) {
    let Some((_, seen)) = ledger.boards.last() else {
        anomalies.push("the board link never got a board".into());
        return;
    };
    match &end.fresh_board {
        Some(fresh) if fresh.calls == seen.calls => {}
        other => anomalies.push(format!(
            "the board link shows calls {:?}, a fresh display {:?}",
            seen.calls.iter().map(|c| c.id).collect::<Vec<_>>(),
            other.as_ref().map(|b| b.calls.iter().map(|c| c.id).collect::<Vec<_>>())
        )),
    }
    for service in &end.services {
        let shown = seen.services.iter().find(|s| s.code == service.code).map(|s| s.waiting);
        if shown != Some(service.waiting) {
            anomalies.push(format!("board shows {shown:?} waiting for {}, the hub {}", service.code, service.waiting));
        }
    }
}

/// p99 of these latencies (ms), if any.
pub fn p99(mut latencies: Vec<f64>) -> Option<f64> {
    if latencies.is_empty() {
        return None;
    }
    latencies.sort_by(|a, b| a.total_cmp(b));
    let at = ((latencies.len() as f64) * 0.99).ceil() as usize;
    Some(latencies[at.clamp(1, latencies.len()) - 1])
}

/// How long the service a fault hit stayed away: from the fault's start to the first
/// acknowledgement of that kind after it (seconds).
pub fn unavailability(ledger: &Ledger, fault: &Fault) -> Option<f64> {
    let after = |times: &mut dyn Iterator<Item = f64>| times.filter(|t| *t > fault.start).reduce(f64::min);
    let first = match fault.kind {
        FaultKind::HubKill | FaultKind::DiskFull => after(&mut ledger.issued.iter().map(|i| i.t)),
        FaultKind::BrokerRestart => after(&mut ledger.answers.iter().filter(|a| a.ok && a.via_mqtt).map(|a| a.t)),
        FaultKind::ButtonCut => {
            after(&mut ledger.answers.iter().filter(|a| a.ok && a.via_mqtt && a.counter == "1").map(|a| a.t))
        }
        FaultKind::BoardCut => {
            after(&mut ledger.boards.iter().map(|(t, _)| *t).chain(ledger.calls.iter().map(|(t, _)| *t)))
        }
        FaultKind::SiteDown => after(&mut ledger.site_up.iter().copied()),
        FaultKind::CrmDown => after(&mut ledger.webhooks.iter().map(|w| w.t)),
    };
    first.map(|t| t - fault.start)
}

/// The run's table: faults by kind, operations acknowledged, anomalies, the longest
/// unavailability per kind of fault, p99 of issue and call latency during faults, the hub's
/// memory and its database's size at the end.
pub fn table(ledger: &Ledger, end: &Final, anomalies: &[String]) -> String {
    let mut out = String::new();
    let mut by_kind: BTreeMap<FaultKind, (usize, f64)> = BTreeMap::new();
    for fault in &ledger.faults {
        let entry = by_kind.entry(fault.kind).or_default();
        entry.0 += 1;
        entry.1 = entry.1.max(unavailability(ledger, fault).unwrap_or(f64::NAN));
    }
    out.push_str("fault kind        | injected | longest unavailability (s)\n");
    for (kind, (n, longest)) in &by_kind {
        out.push_str(&format!("{:<17} | {n:>8} | {longest:>8.2}\n", kind.name()));
    }
    let mqtt_ok = ledger.answers.iter().filter(|a| a.ok && a.via_mqtt).count();
    let http_ok = ledger.answers.iter().filter(|a| a.ok && !a.via_mqtt).count();
    out.push_str(&format!(
        "acknowledged: {} tickets, {} check-ins, {mqtt_ok} button replies ok, {http_ok} counter-app replies ok, {} ratings, {} webhooks, {} calls seen\n",
        ledger.issued.len(),
        ledger.checkins.len(),
        ledger.ratings.len(),
        ledger.webhooks.len(),
        ledger.calls.len()
    ));
    let fmt = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} ms"));
    let issue = p99(ledger.issued.iter().filter(|i| i.during_fault).map(|i| i.latency_ms).collect());
    let call = p99(ledger.answers.iter().filter(|a| a.during_fault && a.ok).map(|a| a.latency_ms).collect());
    let issue_all = p99(ledger.issued.iter().map(|i| i.latency_ms).collect());
    let call_all = p99(ledger.answers.iter().filter(|a| a.ok).map(|a| a.latency_ms).collect());
    out.push_str(&format!(
        "p99 during faults: issue {}, call {} (whole run: issue {}, call {})\n",
        fmt(issue),
        fmt(call),
        fmt(issue_all),
        fmt(call_all)
    ));
    out.push_str(&format!(
        "hub memory max {} kB; database {:.1} MB; anomalies: {}\n",
        ledger.rss_kb.iter().max().unwrap_or(&0),
        end.db_bytes as f64 / 1e6,
        anomalies.len()
    ));
    for a in anomalies.iter().take(30) {
        out.push_str(&format!("  ANOMALY {a}\n"));
    }
    out
}
