//! `dawr-chaos`: a busy branch of real processes under a seeded schedule of faults, checked
//! against the ledgers its clients keep (issue #17).
//!
//! The branch: the hub (`dawr-e2e-hub`), Debian's Mosquitto or the hub's embedded broker, eight
//! counter buttons (MQTT clients logged in as the demo's enrolled `button-{c}`, with command ids;
//! counter 1's through a [`relay::Relay`]), the counter app of counter 8 (a staff session over
//! HTTP, sharing the counter with its button), two kiosks issuing over HTTP with request ids,
//! the display board link `board-1` (through a relay), the appointments site with bookings
//! checked in at the hub, a CRM webhook receiver (through a relay), exit ratings. Arrivals
//! follow the simulation's morning-peak day profile compressed into the run. The faults:
//! `kill -9` of the hub, the broker killed and restarted, the board's and a button's links cut,
//! the site and the CRM away for a while, the hub's files limited to a few kB (`RLIMIT_FSIZE`
//! set on the running hub with `prlimit`, its `SIGXFSZ` ignored, so writes fail with `EFBIG` as
//! on a full disk); and, in a dedicated run, the clock started shortly before local midnight.
//! At the end the clients drain the queue and [`check::check`] compares.
pub mod check;
pub mod relay;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dawr_protocol::api::bookings::{BookingStatus, CheckIn, HeldBooking};
use dawr_protocol::api::crm::{CaseEvent, CrmStatus};
use dawr_protocol::api::reports::Summary;
use dawr_protocol::api::{Board, Call, CounterActionRequest, IssueTicket, RateVisit, ServiceSummary, Ticket};
use dawr_protocol::device::{Action, Command, Outcome as VisitOutcome, Reply};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::mpsc;

use crate::appointments::{Site, TEST_KEY, example_booking, test_site};
use crate::{BrokerChoice, Hub, Mosquitto, free_port};
use check::{Answer, Bounds, CheckedIn, Fault, FaultKind, Final, Issued, Ledger, Rated, Webhook};
use relay::Relay;

/// Which broker the branch runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Broker {
    Mosquitto,
    Embedded,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// How long the day lasts (the rush), before the drain.
    pub seconds: f64,
    pub seed: u64,
    pub broker: Broker,
    /// Start the clock this many seconds before a local midnight (the day-close run).
    pub midnight_after_s: Option<f64>,
    /// Mean service time at a counter, seconds.
    pub service_s: f64,
    /// Mean seconds between faults.
    pub fault_every_s: f64,
    /// Whether the schedule fills the disk (the hub's files limited to 4 kB for a while).
    pub disk_full: bool,
    pub bounds: Bounds,
}

impl Options {
    /// A run of `seconds` with `seed` on `broker`, with the defaults of the CI run.
    pub fn new(seconds: f64, seed: u64, broker: Broker) -> Options {
        Options {
            seconds,
            seed,
            broker,
            midnight_after_s: None,
            service_s: 1.5,
            fault_every_s: 6.0,
            disk_full: true,
            bounds: Bounds { rss_kb: 256 * 1024, db_bytes: 64 * 1024 * 1024 },
        }
    }
}

/// What a run found.
pub struct Outcome {
    pub ledger: Ledger,
    pub end: Final,
    pub anomalies: Vec<String>,
    pub table: String,
}

/// A small seeded generator (SplitMix64), so a seed replays the same schedule and choices.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Exponentially distributed with this mean.
    pub fn exp(&mut self, mean: f64) -> f64 {
        -mean * (1.0 - self.unit()).ln()
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }
}

/// The simulation's morning-peak day (arrivals per hour over eight hours, for 18 counters with
/// 8-minute services), scaled to this branch's eight counters and `service_s`: arrivals per
/// second at `fraction` (0..1) of the day.
pub fn arrivals_per_s(fraction: f64, service_s: f64) -> f64 {
    let day = dawr_hub::simulation::Scenario::morning_peak(1);
    let hour = ((fraction * day.arrivals_per_hour.len() as f64) as usize).min(day.arrivals_per_hour.len() - 1);
    let scale = 8.0 / day.counters as f64 * day.mean_service_s / service_s;
    day.arrivals_per_hour[hour] / 3600.0 * scale
}

/// The faults of a run, in order: `(at_s, kind, lasts_s)`.
pub fn schedule(options: &Options) -> Vec<(f64, FaultKind, f64)> {
    let mut rng = Rng::new(options.seed ^ 0xFA17);
    let mut kinds =
        vec![FaultKind::HubKill, FaultKind::BoardCut, FaultKind::ButtonCut, FaultKind::SiteDown, FaultKind::CrmDown];
    if options.disk_full {
        kinds.push(FaultKind::DiskFull);
    }
    if options.broker == Broker::Mosquitto {
        kinds.push(FaultKind::BrokerRestart);
    }
    let mut at = 2.0;
    let mut faults = Vec::new();
    // Every kind once first (in a seeded order), then at random.
    let mut first = kinds.clone();
    while at < options.seconds - 3.0 {
        let kind = if first.is_empty() { kinds[rng.below(kinds.len())] } else { first.remove(rng.below(first.len())) };
        let lasts = 0.5 + rng.exp(1.5).min(4.0);
        faults.push((at, kind, lasts));
        at += lasts + rng.exp(options.fault_every_s).max(0.5);
    }
    faults
}

/// The shared state of a run.
struct Run {
    started: Instant,
    ledger: Mutex<Ledger>,
    /// Set while a fault is in force.
    faulted: AtomicBool,
    /// Set when the rush is over: kiosks and bookings stop.
    rush_over: AtomicBool,
    /// Set when the kiosks and bookings have stopped (the last check-ins are in): only then may
    /// a counter that finds nobody waiting go home, or a late check-in waits for ever.
    arrivals_over: AtomicBool,
    /// Set when every counter is done.
    stop: AtomicBool,
    hub_url: String,
    hub_pid: AtomicU32,
    /// How far the hub's clock is ahead of this process's (the midnight run), so bookings are
    /// made for the hub's day.
    clock_offset: chrono::Duration,
    http: reqwest::Client,
    /// The demo's enrolled kiosk, which both kiosks log in as (HTTP Basic).
    kiosk: crate::DeviceCredentials,
    /// The demo's exit-rating devices, by counter.
    rating: std::collections::HashMap<String, crate::DeviceCredentials>,
    options: Options,
}

impl Run {
    fn t(&self) -> f64 {
        self.started.elapsed().as_secs_f64()
    }

    /// The time on the hub's clock.
    fn hub_now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now() + self.clock_offset
    }

    fn note<R>(&self, f: impl FnOnce(&mut Ledger) -> R) -> R {
        f(&mut self.ledger.lock().unwrap())
    }
}

/// The topic of `what` (`command`, `reply`, …) of counter `c` in the demo branch.
fn counter_topic(c: &str, what: &str) -> String {
    format!("dawr/v1/demo/counters/{c}/{what}")
}

/// A device's MQTT session that subscribes to `topics` on every (re)connection and passes on
/// what arrives.
struct Session {
    client: AsyncClient,
    messages: mpsc::UnboundedReceiver<(String, Vec<u8>)>,
    task: tokio::task::JoinHandle<()>,
}

impl Session {
    fn start(port: u16, device: &crate::DeviceCredentials, topics: Vec<String>) -> Result<Session> {
        let endpoint = dawr_protocol::endpoint::MqttEndpoint::parse(&format!("mqtt://127.0.0.1:{port}"))?
            .with_login_if_missing(&device.username, Some(dawr_protocol::endpoint::Password::new(&device.password)));
        let mut options = endpoint.options(device.username.clone())?;
        options.set_keep_alive(Duration::from_secs(5));
        options.set_max_packet_size(1024 * 1024, 1024 * 1024);
        let (client, mut eventloop) = AsyncClient::new(options, 256);
        let (tx, messages) = mpsc::unbounded_channel();
        let subscriber = client.clone();
        let task = tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        for topic in &topics {
                            let _ = subscriber.try_subscribe(topic.clone(), QoS::AtLeastOnce);
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let _ = tx.send((p.topic.clone(), p.payload.to_vec()));
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Ok(Session { client, messages, task })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A kiosk: tickets at the day profile's pace, each touch one request id, retried until
/// answered.
async fn kiosk(run: Arc<Run>, k: usize, mut rng: Rng) {
    let services = ["A", "B", "C", "D", "E", "F"];
    let mut seq = 0;
    while !run.rush_over.load(Ordering::SeqCst) {
        let fraction = run.t() / run.options.seconds;
        // Two kiosks share the arrivals.
        let rate = arrivals_per_s(fraction, run.options.service_s) / 2.0;
        tokio::time::sleep(Duration::from_secs_f64(rng.exp(1.0 / rate).min(5.0))).await;
        seq += 1;
        let body = IssueTicket {
            service: services[rng.below(services.len())].into(),
            priority: Default::default(),
            appointment_at: None,
            request_id: Some(format!("k{k}-{seq}")),
            sms: None,
        };
        let request = run.http.post(format!("{}/api/v1/tickets", run.hub_url)).json(&body);
        let request = request.basic_auth(&run.kiosk.username, Some(&run.kiosk.password));
        issue(&run, &request, &format!("k{k}-{seq}")).await;
    }
}

/// Sends a ticket request (again and again, the same key) until the hub answers 201 or refuses
/// it, or the run ends; notes a 201 in the ledger.
async fn issue(run: &Run, request: &reqwest::RequestBuilder, key: &str) -> Option<Ticket> {
    let sent = Instant::now();
    let during_fault = run.faulted.load(Ordering::SeqCst);
    loop {
        let during_fault = during_fault || run.faulted.load(Ordering::SeqCst);
        let answer = request.try_clone().expect("a JSON body").timeout(Duration::from_secs(10)).send().await;
        match answer {
            Ok(r) if r.status().as_u16() == 201 => {
                if let Ok(ticket) = r.json::<Ticket>().await {
                    let latency_ms = sent.elapsed().as_secs_f64() * 1000.0;
                    let issued = Issued {
                        request_id: key.into(),
                        id: ticket.id,
                        number: ticket.number.clone(),
                        t: run.t(),
                        latency_ms,
                        during_fault,
                    };
                    run.note(|l| l.issued.push(issued));
                    return Some(ticket);
                }
            }
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => return None,
            _ => {}
        }
        if run.stop.load(Ordering::SeqCst) {
            run.note(|l| l.issue_unanswered += 1);
            return None;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A counter's staff: `next` (finishing the visitor and calling the next one) by the button over
/// MQTT or, at counter 8, sometimes by the counter app over HTTP; serving for a while; an exit
/// rating now and then for the visit just finished.
async fn counter(run: Arc<Run>, c: String, mqtt_port: u16, device: crate::DeviceCredentials, mut rng: Rng) {
    let session = match Session::start(mqtt_port, &device, vec![counter_topic(&c, "reply")]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("button {c}: {e:#}");
            return;
        }
    };
    let mut session = session;
    let mut app_token: Option<String> = None;
    let mut seq = 0u32;
    let mut serving = false;
    let mut idle_rounds = 0;
    loop {
        if run.stop.load(Ordering::SeqCst) {
            return;
        }
        seq += 1;
        let via_mqtt = c != "8" || rng.unit() < 0.5;
        let id = format!("{}{c}-{seq}", if via_mqtt { "b" } else { "app" });
        let answer = if via_mqtt {
            command_over_mqtt(&run, &mut session, &c, &id).await
        } else {
            command_over_http(&run, &c, &id, &mut app_token).await
        };
        let Some(answer) = answer else { return };
        let (ok, called) = (answer.ok, answer.ticket.clone());
        run.note(|l| l.answers.push(answer));
        if ok && serving && rng.unit() < 0.3 {
            rate(&run, &c, &format!("r{c}-{seq}"), 1 + rng.below(5) as u8).await;
        }
        serving = ok && called.is_some();
        if serving {
            idle_rounds = 0;
            tokio::time::sleep(Duration::from_secs_f64(rng.exp(run.options.service_s).min(6.0))).await;
        } else {
            idle_rounds += 1;
            if run.arrivals_over.load(Ordering::SeqCst) && ok && idle_rounds >= 2 && queue_empty(&run).await {
                return;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

/// Whether the hub says nobody waits (false while it cannot say).
async fn queue_empty(run: &Run) -> bool {
    let Ok(r) = run.http.get(format!("{}/api/v1/queue", run.hub_url)).send().await else { return false };
    let list: Vec<serde_json::Value> = r.json().await.unwrap_or_else(|_| vec![serde_json::Value::Null]);
    list.is_empty()
}

/// `next` over MQTT with this id, sent again every 2 s until its reply comes (`None`: the run
/// was stopped first). A `storage_unavailable` reply is noted and the same id sent again.
async fn command_over_mqtt(run: &Run, session: &mut Session, c: &str, id: &str) -> Option<Answer> {
    let mut command = Command::new(id.try_into().expect("a short id"), Action::Next);
    command.outcome = Some(VisitOutcome::Resolved);
    let payload = serde_json::to_vec(&command).expect("a command serialises");
    let sent = Instant::now();
    let mut during_fault = run.faulted.load(Ordering::SeqCst);
    loop {
        let _ = session.client.publish(counter_topic(c, "command"), QoS::AtLeastOnce, false, payload.clone()).await;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(2);
        while let Ok(Some((_, body))) = tokio::time::timeout_at(deadline, session.messages.recv()).await {
            let Ok(reply) = serde_json::from_slice::<Reply>(&body) else { continue };
            if reply.id.as_str() != id {
                continue;
            }
            let error = reply.error.map(|e| format!("{e:?}"));
            let answer = Answer {
                counter: c.into(),
                command_id: id.into(),
                ok: reply.ok,
                ticket: reply.ticket.map(|t| t.to_string()),
                error: error.clone(),
                via_mqtt: true,
                t: run.t(),
                latency_ms: sent.elapsed().as_secs_f64() * 1000.0,
                during_fault: during_fault || run.faulted.load(Ordering::SeqCst),
            };
            if error.as_deref() == Some("StorageUnavailable") {
                // Nothing happened: the same id again, as the protocol says.
                run.note(|l| l.answers.push(answer));
                tokio::time::sleep(Duration::from_millis(200)).await;
                break;
            }
            return Some(answer);
        }
        during_fault |= run.faulted.load(Ordering::SeqCst);
        if run.stop.load(Ordering::SeqCst) {
            return None;
        }
    }
}

/// `next` over HTTP as the counter app's staff session, with this id, until answered.
async fn command_over_http(run: &Run, c: &str, id: &str, token: &mut Option<String>) -> Option<Answer> {
    let body =
        CounterActionRequest { id: Some(id.into()), outcome: Some(VisitOutcome::Resolved), ..Default::default() };
    let sent = Instant::now();
    let mut during_fault = run.faulted.load(Ordering::SeqCst);
    loop {
        if token.is_none() {
            *token = sign_in(run, "s103", Some(c)).await.ok();
        }
        if let Some(bearer) = token.clone() {
            let url = format!("{}/api/v1/counters/{c}/next", run.hub_url);
            let answer =
                run.http.post(url).bearer_auth(&bearer).json(&body).timeout(Duration::from_secs(10)).send().await;
            match answer {
                Ok(r) if r.status().as_u16() == 401 => *token = None,
                Ok(r) if r.status().as_u16() < 500 => {
                    let reply: Option<Reply> = r.json().await.ok();
                    let (ok, ticket, error) = match reply {
                        Some(reply) => {
                            (reply.ok, reply.ticket.map(|t| t.to_string()), reply.error.map(|e| format!("{e:?}")))
                        }
                        None => (false, None, Some("refused".to_string())),
                    };
                    return Some(Answer {
                        counter: c.into(),
                        command_id: id.into(),
                        ok,
                        ticket,
                        error,
                        via_mqtt: false,
                        t: run.t(),
                        latency_ms: sent.elapsed().as_secs_f64() * 1000.0,
                        during_fault: during_fault || run.faulted.load(Ordering::SeqCst),
                    });
                }
                _ => {}
            }
        }
        during_fault |= run.faulted.load(Ordering::SeqCst);
        if run.stop.load(Ordering::SeqCst) {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// Signs a demo staff member in (at a counter); the token.
async fn sign_in(run: &Run, staff: &str, counter: Option<&str>) -> Result<String> {
    let pin = crate::DEMO_PINS.iter().find(|(s, _)| *s == staff).map(|(_, p)| *p).context("a demo PIN")?;
    let body =
        dawr_protocol::api::sessions::SignIn { staff: staff.into(), pin: pin.into(), counter: counter.map(Into::into) };
    let r = run.http.post(format!("{}/api/v1/sessions", run.hub_url)).json(&body).send().await?;
    if r.status().as_u16() != 201 {
        bail!("sign-in: {}", r.status());
    }
    Ok(r.json::<dawr_protocol::api::sessions::Session>().await?.token)
}

/// An exit rating at counter `c` for the visit just finished there, retried with its id until
/// answered; an acknowledged one is noted.
async fn rate(run: &Run, c: &str, id: &str, score: u8) {
    let body = RateVisit { counter: c.into(), score, reason: None, id: Some(id.into()) };
    for _ in 0..100 {
        let request = run.http.post(format!("{}/api/v1/ratings", run.hub_url)).json(&body);
        let device = &run.rating[c];
        let answer = request.basic_auth(&device.username, Some(&device.password)).send().await;
        match answer {
            Ok(r) if r.status().as_u16() == 201 => {
                if let Ok(reply) = r.json::<Reply>().await
                    && let Some(ticket) = reply.ticket
                {
                    run.note(|l| l.ratings.push(Rated { counter: c.into(), ticket: ticket.to_string(), score }));
                }
                return;
            }
            Ok(r) if r.status().is_client_error() => return,
            _ => {}
        }
        if run.stop.load(Ordering::SeqCst) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
}

/// The display board's link: every call and board message into the ledger.
async fn board(run: Arc<Run>, port: u16, device: crate::DeviceCredentials) {
    let topics = vec!["dawr/v1/demo/calls".to_string(), "dawr/v1/demo/board".to_string()];
    let Ok(mut session) = Session::start(port, &device, topics) else { return };
    while let Some((topic, body)) = session.messages.recv().await {
        let t = run.t();
        if topic.ends_with("/calls") {
            if let Ok(call) = serde_json::from_slice::<Call>(&body) {
                run.note(|l| l.calls.push((t, call)));
            }
        } else if let Ok(board) = serde_json::from_slice::<Board>(&body) {
            run.note(|l| l.boards.push((t, board)));
        }
    }
}

/// Bookings: one every few seconds on the site (for the next free slot), then checked in at the
/// hub (which pulls them; until it has, `booking_not_found`), retried until answered.
async fn bookings(run: Arc<Run>, site_url: String, mut rng: Rng) {
    let mut n = 1000;
    let mut pending: Vec<String> = Vec::new();
    while !run.rush_over.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_secs_f64(rng.exp(3.0).min(8.0))).await;
        n += 1;
        if let Ok(code) = book(&run, &site_url, n).await {
            run.note(|l| l.site_up.push(run.t()));
            pending.push(code);
        }
        let mut still = Vec::new();
        for code in pending.drain(..) {
            if !check_in(&run, &code).await {
                still.push(code);
            }
        }
        pending = still;
    }
    // The last bookings, until the hub has pulled them (within a deadline for all of them: a
    // deadline each made a drain of many minutes when they could never be pulled).
    let deadline = Instant::now() + Duration::from_secs(15);
    while !pending.is_empty() && Instant::now() < deadline {
        let mut still = Vec::new();
        for code in pending.drain(..) {
            if !check_in(&run, &code).await {
                still.push(code);
            }
        }
        pending = still;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Books citizen `n` on the site's next free slot of service `E`; the code.
async fn book(run: &Run, site_url: &str, n: u32) -> Result<String> {
    let soon = run.hub_now() + chrono::Duration::minutes(1);
    let date = (soon + chrono::Duration::hours(3)).date_naive();
    let url = format!("{site_url}/api/v1/branches/demo/services/E/slots?date={date}");
    let slots: dawr_protocol::api::bookings::Slots = run.http.get(url).send().await?.json().await?;
    let slot = slots.slots.iter().find(|s| s.start > soon && s.available > 0).context("no free slot")?;
    let body = example_booking(&slot.start.to_rfc3339(), "E", n);
    let r = run.http.post(format!("{site_url}/api/v1/bookings")).json(&body).send().await?;
    if r.status().as_u16() != 201 {
        bail!("booking: {}", r.status());
    }
    Ok(r.json::<dawr_protocol::api::bookings::Booking>().await?.code)
}

/// Checks `code` in at the hub (retrying while it is away); whether it is settled (a ticket,
/// or a refusal other than "not pulled yet").
async fn check_in(run: &Run, code: &str) -> bool {
    let body = CheckIn { code: code.into(), request_id: Some(format!("appt-{code}")) };
    let request = run.http.post(format!("{}/api/v1/checkins", run.hub_url)).json(&body);
    let request = request.basic_auth(&run.kiosk.username, Some(&run.kiosk.password));
    let Ok(r) = request.timeout(Duration::from_secs(10)).send().await else { return false };
    match r.status().as_u16() {
        201 => {
            if let Ok(ticket) = r.json::<Ticket>().await {
                let checked = CheckedIn { code: code.into(), ticket: ticket.id };
                let issued = Issued {
                    request_id: format!("appt-{code}"),
                    id: ticket.id,
                    number: ticket.number,
                    t: run.t(),
                    latency_ms: 0.0,
                    during_fault: false,
                };
                run.note(|l| {
                    l.checkins.push(checked);
                    l.issued.push(issued);
                });
            }
            true
        }
        404 => false,
        s => s < 500,
    }
}

/// The CRM receiver: every delivery answered 200 and noted.
async fn crm_receiver(run: Arc<Run>, listener: tokio::net::TcpListener) {
    let app = axum_free_receiver(run);
    let _ = app(listener).await;
}

/// A minimal HTTP/1.1 server for the webhook (the harness has no axum outside dev builds): reads
/// one request per connection, notes its body as a [`CaseEvent`], answers 200.
fn axum_free_receiver(
    run: Arc<Run>,
) -> impl FnOnce(tokio::net::TcpListener) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
    move |listener| {
        Box::pin(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                let run = run.clone();
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    loop {
                        let Ok(n) = stream.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let Some(head_end) = find(&buf, b"\r\n\r\n") else { continue };
                        let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                        let length: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse().ok())
                            .unwrap_or(0);
                        if buf.len() < head_end + 4 + length {
                            continue;
                        }
                        let body = buf[head_end + 4..head_end + 4 + length].to_vec();
                        buf.drain(..head_end + 4 + length);
                        let answered = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_ok();
                        if answered && let Ok(event) = serde_json::from_slice::<CaseEvent>(&body) {
                            let t = run.t();
                            run.note(|l| l.webhooks.push(Webhook { event, t }));
                        }
                    }
                });
            }
        })
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The hub's resident memory (kB), from `/proc`.
fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// The processes faults act on.
struct Branch {
    hub: Hub,
    mosquitto: Option<Mosquitto>,
    site: Site,
    board_relay: Relay,
    button_relay: Relay,
    crm_relay: Relay,
}

/// Injects one fault, waits `lasts`, heals it.
async fn inject(run: &Run, branch: &mut Branch, kind: FaultKind, lasts: f64) -> Result<()> {
    let wait = || tokio::time::sleep(Duration::from_secs_f64(lasts));
    match kind {
        FaultKind::HubKill => {
            branch.hub.kill9();
            branch.hub.restart().await?;
        }
        FaultKind::BrokerRestart => {
            if let Some(m) = branch.mosquitto.as_mut() {
                m.kill9();
                wait().await;
                m.start_again()?;
            }
        }
        FaultKind::BoardCut => {
            branch.board_relay.cut();
            wait().await;
            branch.board_relay.restore();
        }
        FaultKind::ButtonCut => {
            branch.button_relay.cut();
            wait().await;
            branch.button_relay.restore();
        }
        FaultKind::SiteDown => {
            branch.site.stop();
            wait().await;
            branch.site.start_again().await?;
        }
        FaultKind::CrmDown => {
            branch.crm_relay.cut();
            wait().await;
            branch.crm_relay.restore();
        }
        FaultKind::DiskFull => {
            branch.hub.set_file_size_limit(Some(4096))?;
            wait().await;
            branch.hub.set_file_size_limit(None)?;
        }
    }
    if let Some(pid) = branch.hub.pid() {
        run.hub_pid.store(pid, Ordering::SeqCst);
    }
    Ok(())
}

/// Runs a day of faults and checks it.
pub async fn run(options: Options) -> Result<Outcome> {
    let mut rng = Rng::new(options.seed);
    let site = Site::start(Some(&test_site(100_000, 100_000))).await?;
    let crm_listener = crate::tokio_listener();
    let crm_port = crm_listener.local_addr()?.port();
    let crm_relay = Relay::start(crm_port);
    let offset = options.midnight_after_s.map(|after| seconds_to_midnight() - after);
    let offset_text = offset.map(|o| format!("{o:.3}"));
    let mut env: Vec<(&str, &str)> = vec![("DAWR_CRM_SECRET", "chaos-secret")];
    if let Some(o) = &offset_text {
        env.push(("DAWR_CLOCK_OFFSET_S", o));
    }
    let site_url = site.url("");
    let crm_url = format!("http://127.0.0.1:{}/hook", crm_relay.port);
    let args = [
        "--appointments-url",
        &site_url,
        "--appointments-key",
        TEST_KEY,
        "--appointments-poll-s",
        "0.5",
        "--crm-url",
        &crm_url,
    ];
    let (hub, mosquitto) = match options.broker {
        Broker::Mosquitto => {
            let (mosquitto, data) = Mosquitto::start_secured()?;
            let hub = Hub::start_with(BrokerChoice::External { port: mosquitto.port }, &args, &env, data).await?;
            (hub, Some(mosquitto))
        }
        Broker::Embedded => {
            let broker = BrokerChoice::Embedded { port: free_port(), tls_port: free_port() };
            (Hub::start_with(broker, &args, &env, tempfile::tempdir()?).await?, None)
        }
    };
    let mqtt_port = hub.mqtt_port();
    let board_relay = Relay::start(mqtt_port);
    let button_relay = Relay::start(mqtt_port);
    let run = Arc::new(Run {
        started: Instant::now(),
        ledger: Mutex::default(),
        faulted: AtomicBool::new(false),
        rush_over: AtomicBool::new(false),
        arrivals_over: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        hub_url: hub.url(""),
        hub_pid: AtomicU32::new(hub.pid().unwrap_or(0)),
        clock_offset: chrono::Duration::milliseconds((offset.unwrap_or(0.0) * 1000.0).round() as i64),
        http: crate::http_client().build()?,
        kiosk: hub.device("kiosk-1")?,
        rating: (1..=8).map(|c| Ok((c.to_string(), hub.device(&format!("rating-{c}"))?))).collect::<Result<_>>()?,
        options: options.clone(),
    });
    let tasks = vec![tokio::spawn(crm_receiver(run.clone(), crm_listener))];
    let board_link = tokio::spawn(board(run.clone(), board_relay.port, hub.device("board-1")?));
    let mut counters = Vec::new();
    for c in 1..=8 {
        let port = if c == 1 { button_relay.port } else { mqtt_port };
        let device = hub.device(&format!("button-{c}"))?;
        counters.push(tokio::spawn(counter(run.clone(), c.to_string(), port, device, Rng::new(rng.next_u64()))));
    }
    let mut clients = Vec::new();
    for k in 1..=2 {
        clients.push(tokio::spawn(kiosk(run.clone(), k, Rng::new(rng.next_u64()))));
    }
    clients.push(tokio::spawn(bookings(run.clone(), site_url.clone(), Rng::new(rng.next_u64()))));
    let memory = {
        let run = run.clone();
        tokio::spawn(async move {
            while !run.stop.load(Ordering::SeqCst) {
                if let Some(kb) = rss_kb(run.hub_pid.load(Ordering::SeqCst)) {
                    run.note(|l| l.rss_kb.push(kb));
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        })
    };

    let mut branch = Branch { hub, mosquitto, site, board_relay, button_relay, crm_relay };
    for (at, kind, lasts) in schedule(&options) {
        let wait = at - run.t();
        if wait > 0.0 {
            tokio::time::sleep(Duration::from_secs_f64(wait)).await;
        }
        run.faulted.store(true, Ordering::SeqCst);
        let start = run.t();
        progress(&run, kind.name());
        inject(&run, &mut branch, kind, lasts).await.with_context(|| format!("injecting {}", kind.name()))?;
        let end = run.t();
        run.faulted.store(false, Ordering::SeqCst);
        run.note(|l| l.faults.push(Fault { kind, start, end }));
    }
    let left = options.seconds - run.t();
    if left > 0.0 {
        tokio::time::sleep(Duration::from_secs_f64(left)).await;
    }

    // The drain: no new visitors; the counters serve everyone left, then stop.
    progress(&run, "rush over; draining");
    run.rush_over.store(true, Ordering::SeqCst);
    let drained = tokio::time::timeout(Duration::from_secs(120), async {
        for task in clients.iter_mut() {
            let _ = task.await;
        }
        run.arrivals_over.store(true, Ordering::SeqCst);
        for task in counters.iter_mut() {
            let _ = task.await;
        }
    })
    .await;
    run.stop.store(true, Ordering::SeqCst);
    if drained.is_err() {
        let alive = branch.hub.running();
        let waiting = match run.http.get(format!("{}/api/v1/queue", run.hub_url)).send().await {
            Ok(r) => r.text().await.unwrap_or_default(),
            Err(e) => e.to_string(),
        };
        let last: Vec<String> = run.note(|l| {
            (1..=8)
                .filter_map(|c| l.answers.iter().rev().find(|a| a.counter == c.to_string()))
                .map(|a| {
                    format!("{} {} ok={} {:?} {:?} at {:.1}", a.counter, a.command_id, a.ok, a.ticket, a.error, a.t)
                })
                .collect()
        });
        bail!(
            "the counters did not drain the queue within 120 s (hub running: {alive}); waiting: {waiting}\nlast answers: {last:#?}\n{}",
            tail(&branch.hub.log())
        );
    }
    // The last board message follows the last change within a quarter of a second.
    let settled = crate::wait_until(Duration::from_secs(10), || {
        let run = run.clone();
        async move { run.note(|l| l.boards.last().is_some_and(|(t, _)| run.t() - t > 1.0)) }
    })
    .await;
    let _ = settled;
    board_link.abort();
    progress(&run, "drained; reading the hub's answers");
    let end = final_answers(&run, &branch).await?;
    run.stop.store(true, Ordering::SeqCst);
    memory.abort();
    for task in tasks {
        task.abort();
    }
    let ledger = run.ledger.lock().unwrap().clone();
    let anomalies = check::check(&ledger, &end, options.bounds);
    let table = check::table(&ledger, &end, &anomalies);
    Ok(Outcome { ledger, end, anomalies, table })
}

/// One line on stderr about where the run is.
fn progress(run: &Run, what: &str) {
    let l = run.ledger.lock().unwrap();
    eprintln!(
        "[{:6.1} s] {what} ({} tickets, {} replies, {} webhooks)",
        run.t(),
        l.issued.len(),
        l.answers.len(),
        l.webhooks.len()
    );
}

/// The last lines of a log.
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Seconds from now to the next local midnight of the demo branch (UTC+3).
fn seconds_to_midnight() -> f64 {
    let now = chrono::Utc::now() + chrono::Duration::hours(3);
    let midnight = (now.date_naive() + chrono::Duration::days(1)).and_hms_opt(0, 0, 0).expect("midnight");
    (midnight - now.naive_utc()).num_milliseconds() as f64 / 1000.0
}

/// What the hub (and the site) say once everything is healed and drained: waits (with a
/// deadline) for the CRM outbox to empty and the booking reports to reach the site.
async fn final_answers(run: &Run, branch: &Branch) -> Result<Final> {
    let hub = &branch.hub;
    let manager = sign_in(run, "m001", None).await?;
    let get = |path: String| {
        let request = run.http.get(format!("{}{path}", run.hub_url)).bearer_auth(&manager);
        async move {
            request.send().await?.error_for_status()?.json::<serde_json::Value>().await.map_err(anyhow::Error::from)
        }
    };
    let mut end = Final::default();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let status: CrmStatus = serde_json::from_value(get("/api/v1/crm/status".into()).await?)?;
        end.crm_pending = status.pending;
        if status.pending == 0 || Instant::now() > deadline {
            break;
        }
        progress(run, &format!("CRM outbox: {} pending, last error {:?}", status.pending, status.last_error));
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mut id = 1;
    let mut misses = 0;
    while misses < 20 {
        let r = run.http.get(format!("{}/api/v1/tickets/{id}", run.hub_url)).bearer_auth(&manager).send().await?;
        if r.status().as_u16() == 200 {
            end.tickets.insert(id, r.json().await?);
            misses = 0;
        } else {
            misses += 1;
        }
        id += 1;
    }
    let days: Vec<chrono::NaiveDate> = {
        let mut d: Vec<_> =
            end.tickets.values().map(|t| (t.issued_at + chrono::Duration::hours(3)).date_naive()).collect();
        d.sort();
        d.dedup();
        d
    };
    if let (Some(from), Some(to)) = (days.first(), days.last()) {
        let summary: Summary =
            serde_json::from_value(get(format!("/api/v1/reports/summary?from={from}&to={to}")).await?)?;
        end.report = Some(summary.total);
        for day in &days {
            let held: Vec<HeldBooking> =
                serde_json::from_value(get(format!("/api/v1/appointments?date={day}")).await?)?;
            end.hub_bookings.extend(held.into_iter().map(|b| (b.code, b.status)));
        }
    }
    // The site learns of check-ins through the hub's outbox: wait until it agrees or time is up.
    let codes: Vec<String> = run.ledger.lock().unwrap().checkins.iter().map(|c| c.code.clone()).collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        end.site_bookings = site_statuses(run, &branch.site, &codes).await;
        let agree = codes.iter().all(|c| end.site_bookings.get(c) == Some(&BookingStatus::CheckedIn));
        if agree || Instant::now() > deadline {
            break;
        }
        progress(run, "waiting for the site to agree");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    end.services =
        run.http.get(format!("{}/api/v1/services", run.hub_url)).send().await?.json::<Vec<ServiceSummary>>().await?;
    end.fresh_board = fresh_board(hub).await.ok();
    // The database with its WAL and shared memory (`dawr.db`, `dawr.db-wal`, `dawr.db-shm`).
    let db = crate::database(&hub.data_dir);
    end.db_bytes = ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| std::fs::metadata(format!("{}{suffix}", db.display())).ok())
        .map(|m| m.len())
        .sum();
    Ok(end)
}

/// The bookings' statuses as the site has them (looked up with the citizen's ID number).
async fn site_statuses(run: &Run, site: &Site, codes: &[String]) -> HashMap<String, BookingStatus> {
    let mut statuses = HashMap::new();
    for offset in [-1i64, 0, 1] {
        let date = (run.hub_now() + chrono::Duration::hours(3) + chrono::Duration::days(offset)).date_naive();
        let url = site.url(&format!("/api/v1/branches/demo/bookings?date={date}"));
        let Ok(r) = run.http.get(url).bearer_auth(TEST_KEY).send().await else { continue };
        let list: Vec<dawr_protocol::api::bookings::HubBooking> = r.json().await.unwrap_or_default();
        statuses.extend(list.into_iter().filter(|b| codes.contains(&b.code)).map(|b| (b.code, b.status)));
    }
    statuses
}

/// The board a display gets on connecting now (retained on the broker).
async fn fresh_board(hub: &Hub) -> Result<Board> {
    let device = hub.device("board-1")?;
    let mut probe = crate::MqttProbe::connect_with_will(hub.mqtt_port(), &device, None).await?;
    probe.subscribe("dawr/v1/demo/board").await?;
    let got = probe.next_on("dawr/v1/demo/board", Duration::from_secs(5)).await.context("no retained board")?;
    Ok(serde_json::from_slice(&got.payload)?)
}
