//! The device side of the conformance kit over real MQTT: the kit plays the hub on a broker and
//! checks a device under test — a counter button (or any device that sends commands) or a
//! display — against the device rules of `docs/PROTOCOL.md`, reporting each rule with the line it
//! cites ([`Outcome`]).
//!
//! The kit logs in to the broker as the hub (`dawr-hub-{branch}`; no real hub may run on that
//! branch meanwhile) and does what a hub does and what a network does to it: it publishes the
//! retained counter state and board, answers presses, loses replies, sends replies twice and
//! replies of other devices, sends malformed messages, and "restarts" (the retained state
//! cleared, then published again with what happened meanwhile). What the device does is read
//! from its MQTT traffic only (commands, presence); what a display announces is read through a
//! [`Listener`] (Dawr's board link in CI, a person at the screen otherwise). Presses come from a
//! [`Presser`]. Rules run in one scenario, in order; a rule the scenario did not reach fails
//! with the reason.
use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::Utc;
use dawr_firmware_logic::{Key, Press};
use dawr_protocol::api::{Board, Call, Names};
use dawr_protocol::device::{Command, CounterState, CounterStatus, Reply};
use dawr_protocol::endpoint::MqttEndpoint;
use dawr_protocol::topics::Topic;
use rumqttc::QoS;
use tokio::time::Instant;

use crate::MqttProbe;
use crate::conformance::{Outcome, cite};

/// The device's reply timeout, as the document gives it ("A device waits **3 s**").
pub const REPLY_TIMEOUT: Duration = Duration::from_secs(3);
/// How much later than the timeout a resend may come (a device ticks, a broker queues).
const LATE: Duration = Duration::from_millis(1_500);
/// How long the kit listens to be sure something does *not* come.
const SILENCE: Duration = Duration::from_millis(1_200);

/// The rules checked on a device that sends commands (a counter button).
pub const BUTTON_RULES: [(&str, &str); 10] = [
    ("presence-online-retained", "Every client publishes `online` (retained)"),
    ("command-names-device-and-id", "Ids are scoped to the sending device"),
    ("others-replies-ignored", "a device keeps only the replies whose `id` is one it sent"),
    ("malformed-replies-ignored", "Readers must ignore fields they do not know"),
    ("lost-reply-resent-same-id", "then sends the same command again with the **same id**"),
    ("replayed-and-duplicate-replies", "`replay: true` (since 1.1; absent otherwise) marks the answer"),
    ("new-id-per-command", "Unique among the ids this device sent in the last 48 hours"),
    ("one-command-at-a-time", "A device sends one command at a time"),
    ("gives-up-after-three-sends", "at most 3 sends in"),
    ("works-after-hub-restart", "It republishes every retained message each time it connects"),
];

/// The rules checked on a display.
pub const DISPLAY_RULES: [(&str, &str); 6] = [
    ("presence-online-retained", "Every client publishes `online` (retained)"),
    ("first-board-not-announced", "with no memory takes the first Board's highest id as seen"),
    ("new-call-announced", "every call and recall of the branch gets a larger `id`"),
    ("call-delivered-twice-announced-once", "shows and announces it once"),
    ("malformed-messages-ignored", "Readers must ignore fields they do not know"),
    ("board-announces-missed-calls", "on every Board it announces the"),
];

/// The broker and the device under test.
#[derive(Debug, Clone)]
pub struct DeviceTarget {
    /// The broker, with a login that may do what the hub does (`dawr-hub-{branch}`'s, or any
    /// on an open test broker).
    pub broker: MqttEndpoint,
    pub branch: String,
    /// The device's counter (a button's); displays ignore it.
    pub counter: String,
    /// The device's id (its client id and `…/devices/{device}/status`).
    pub device: String,
    /// The kit's own client id (`dawr-hub-{branch}` where the broker insists on the hub's; kits
    /// checking several devices at once on one broker need one each).
    pub kit_client_id: String,
    /// How long to wait for the device's presence, and for a command after a press (a person
    /// pressing needs longer than a test).
    pub patience: Duration,
}

/// Presses the device's "next" (a button's big key, a counter app's Next).
pub trait Presser {
    fn press(&mut self) -> Result<()>;
}

/// What a display announced.
pub trait Listener {
    /// The ids of the calls the display announced (spoke or showed as new) since the last ask, in
    /// the order announced; `expected` is what a conforming display announces, for a person to
    /// compare. Waits up to `within` for them, then a little more for anything extra.
    fn announced(&mut self, expected: &[Call], within: Duration) -> impl Future<Output = Vec<u64>>;
}

/// The outcomes of one scenario, by rule.
struct Report {
    rules: &'static [(&'static str, &'static str)],
    results: BTreeMap<&'static str, Result<String, String>>,
}

impl Report {
    fn new(rules: &'static [(&'static str, &'static str)]) -> Report {
        Report { rules, results: BTreeMap::new() }
    }

    /// Records `rule`; returns whether it passed, for a scenario that cannot go on without it.
    fn record(&mut self, rule: &'static str, result: Result<String, String>) -> bool {
        let passed = result.is_ok();
        self.results.insert(rule, result);
        passed
    }

    fn outcomes(mut self, stopped: Option<String>) -> Vec<Outcome> {
        let why = stopped.unwrap_or_else(|| "not reached".into());
        self.rules
            .iter()
            .map(|(rule, quote)| {
                let result = self.results.remove(rule).unwrap_or_else(|| Err(format!("not reached: {why}")));
                let (passed, detail) = match result {
                    Ok(d) => (true, d),
                    Err(d) => (false, d),
                };
                Outcome { rule, cites: cite(quote), passed, detail }
            })
            .collect()
    }
}

fn ensure(ok: bool, why: impl Into<String>) -> Result<(), String> {
    if ok { Ok(()) } else { Err(why.into()) }
}

/// The kit on the broker, as the hub.
struct KitHub {
    probe: MqttProbe,
    target: DeviceTarget,
}

impl KitHub {
    async fn connect(target: &DeviceTarget) -> Result<KitHub> {
        let probe =
            MqttProbe::connect_to(&target.broker, &target.kit_client_id, None).await.context("the kit's hub login")?;
        let mut hub = KitHub { probe, target: target.clone() };
        hub.probe.subscribe(&hub.topic(Topic::CounterCommand { branch: "", counter: "" })).await?;
        hub.probe.subscribe(&hub.topic(Topic::DeviceStatus { branch: "", device: "" })).await?;
        Ok(hub)
    }

    /// `topic` for the target's branch, counter and device (the fields given are placeholders).
    fn topic(&self, topic: Topic<'_>) -> String {
        let (branch, counter, device) =
            (self.target.branch.as_str(), self.target.counter.as_str(), &self.target.device);
        match topic {
            Topic::CounterCommand { .. } => Topic::CounterCommand { branch, counter },
            Topic::CounterReply { .. } => Topic::CounterReply { branch, counter },
            Topic::CounterState { .. } => Topic::CounterState { branch, counter },
            Topic::DeviceStatus { .. } => Topic::DeviceStatus { branch, device },
            Topic::Board { .. } => Topic::Board { branch },
            Topic::Calls { .. } => Topic::Calls { branch },
            other => other,
        }
        .to_string()
    }

    async fn publish(&self, topic: &str, retain: bool, payload: Vec<u8>) -> Result<()> {
        self.probe.client.publish(topic, QoS::AtLeastOnce, retain, payload).await?;
        Ok(())
    }

    /// The device's retained presence is `online`, within `within`.
    async fn online(&mut self, within: Duration) -> Result<String, String> {
        let topic = self.topic(Topic::DeviceStatus { branch: "", device: "" });
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let msg =
                self.probe.next_on(&topic, left).await.ok_or(format!("no `online` on {topic} within {within:?}"))?;
            let presence: serde_json::Value = serde_json::from_slice(&msg.payload).unwrap_or_default();
            if presence.get("status").and_then(|s| s.as_str()) == Some("online") {
                return Ok(format!("online on {topic}{}", if msg.retain { " (retained)" } else { "" }));
            }
        }
    }

    /// The next command the device sends, within `within`, and when it came.
    async fn command(&mut self, within: Duration) -> Option<(Instant, Result<Command, String>)> {
        let topic = self.topic(Topic::CounterCommand { branch: "", counter: "" });
        let msg = self.probe.next_on(&topic, within).await?;
        let parsed = serde_json::from_slice::<Command>(&msg.payload)
            .map_err(|e| format!("{} does not parse as a Command: {e}", String::from_utf8_lossy(&msg.payload)));
        Some((Instant::now(), parsed))
    }

    async fn reply(&self, reply: &Reply) -> Result<()> {
        self.publish(&self.topic(Topic::CounterReply { branch: "", counter: "" }), false, serde_json::to_vec(reply)?)
            .await
    }

    async fn raw_reply(&self, payload: &[u8]) -> Result<()> {
        self.publish(&self.topic(Topic::CounterReply { branch: "", counter: "" }), false, payload.to_vec()).await
    }

    async fn state(&self, waiting: u32) -> Result<()> {
        let state = CounterState {
            counter: bounded(&self.target.counter),
            status: CounterStatus::Open,
            current: None,
            waiting,
            updated_at: bounded(&Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()),
        };
        self.publish(&self.topic(Topic::CounterState { branch: "", counter: "" }), true, serde_json::to_vec(&state)?)
            .await
    }

    async fn board(&self, calls: &[Call]) -> Result<()> {
        let mut calls = calls.to_vec();
        calls.sort_by_key(|c| std::cmp::Reverse(c.id));
        let board = Board {
            branch: self.target.branch.clone(),
            name: names("Conformance"),
            updated_at: Utc::now(),
            calls,
            services: vec![],
            utc_offset: Some("+03:00".into()),
        };
        self.publish(&self.topic(Topic::Board { branch: "" }), true, serde_json::to_vec(&board)?).await
    }

    async fn call(&self, call: &Call) -> Result<()> {
        self.publish(&self.topic(Topic::Calls { branch: "" }), false, serde_json::to_vec(call)?).await
    }

    /// The hub goes away: its retained messages are cleared (an empty retained message), as a
    /// broker that lost them on restart has none.
    async fn clear_retained(&self, topic: Topic<'_>) -> Result<()> {
        self.publish(&self.topic(topic), true, Vec::new()).await
    }
}

fn bounded<const N: usize>(text: &str) -> heapless::String<N> {
    heapless::String::try_from(text).unwrap_or_default()
}

fn names(s: &str) -> Names {
    Names { ar: s.into(), en: s.into() }
}

/// The answer a hub gives to `command` (`ok`, calling `ticket`).
fn answer(command: &Command, ticket: &str) -> Reply {
    Reply {
        id: bounded(&command.id),
        device: command.device.clone(),
        ok: true,
        ticket: Some(bounded(ticket)),
        ..Reply::default()
    }
}

/// Checks a device that sends commands (a counter button) by pressing it through `presser`.
pub async fn check_button(target: &DeviceTarget, presser: &mut impl Presser) -> Result<Vec<Outcome>> {
    let mut hub = KitHub::connect(target).await?;
    hub.state(3).await?;
    let mut report = Report::new(&BUTTON_RULES);
    let stopped = button_scenario(&mut hub, presser, &mut report).await.err();
    Ok(report.outcomes(stopped))
}

/// Presses until the device sends a command, as a person presses again when nothing happens (a
/// press that reaches the device before the answer to its last command does finds it busy), and
/// returns the command.
async fn press(hub: &mut KitHub, presser: &mut impl Presser) -> Result<(Instant, Command), String> {
    let patience = hub.target.patience;
    let again_after = (patience / 5).max(Duration::from_secs(1));
    let deadline = Instant::now() + patience;
    while Instant::now() < deadline {
        presser.press().map_err(|e| format!("pressing: {e:#}"))?;
        if let Some((at, command)) = hub.command(again_after).await {
            return Ok((at, command?));
        }
    }
    Err(format!("no command within {patience:?} of pressing"))
}

async fn button_scenario(hub: &mut KitHub, presser: &mut impl Presser, report: &mut Report) -> Result<(), String> {
    let patience = hub.target.patience;
    let online = hub.online(patience).await;
    if !report.record("presence-online-retained", online) {
        return Err("the device never said `online`".into());
    }

    // A press, and a hub that answers everything but it: others' replies, garbage.
    let (first_at, c1) = press(hub, presser).await?;
    let named = ensure((1..=48).contains(&c1.id.len()), format!("id of {} bytes", c1.id.len()))
        .and_then(|()| {
            ensure(
                c1.device.as_deref() == Some(hub.target.device.as_str()),
                format!("`device` is {:?}, the device is {}", c1.device, hub.target.device),
            )
        })
        .map(|()| format!("id {:?} from {:?}", c1.id.as_str(), c1.device.as_deref()));
    report.record("command-names-device-and-id", named);
    let mut other_id = answer(&c1, "B001");
    other_id.id = bounded(&format!("{}-not-mine", c1.id));
    let mut other_device = answer(&c1, "B002");
    other_device.device = Some(bounded("someone-else"));
    let sent = async {
        hub.reply(&other_id).await?;
        hub.reply(&other_device).await?;
        for garbage in [&b"{not json"[..], b"[1,2]", b"", b"\x00\xff", b"{\"id\":7}"] {
            hub.raw_reply(garbage).await?;
        }
        anyhow::Ok(())
    };
    sent.await.map_err(|e| format!("{e:#}"))?;

    // Nothing it can take: it must send the same command again after its timeout.
    let resend = hub.command(REPLY_TIMEOUT + LATE).await;
    let Some((again_at, again)) = resend else {
        let why = "no resend: it took another device's or another id's reply, or a malformed one, as its answer";
        report.record("others-replies-ignored", Err(why.into()));
        report.record("lost-reply-resent-same-id", Err(format!("not resent within {:?}", REPLY_TIMEOUT + LATE)));
        return Err("the first command was never resent".into());
    };
    let again = again?;
    let after = again_at - first_at;
    report.record("others-replies-ignored", Ok("another id's and another device's replies ignored".into()));
    let resent = ensure(again == c1, format!("resent as {again:?}, first {c1:?}"))
        .and_then(|()| ensure(after + Duration::from_millis(500) >= REPLY_TIMEOUT, format!("resent after {after:?}")))
        .map(|()| format!("{} resent after {} ms", c1.id, after.as_millis()));
    report.record("lost-reply-resent-same-id", resent);

    // The answer, with an unknown field, then its replay: taken once, and the device is free.
    let reply = with_future_field(&answer(&c1, "A017")).map_err(|e| e.to_string())?;
    hub.raw_reply(&reply).await.map_err(|e| e.to_string())?;
    let mut replay = answer(&c1, "A017");
    replay.replay = true;
    hub.reply(&replay).await.map_err(|e| e.to_string())?;
    hub.reply(&replay).await.map_err(|e| e.to_string())?;
    let next = press(hub, presser).await;
    let (c2_at, c2) = match next {
        Ok((at, c2)) if c2.id == c1.id => {
            let why = "the next press sent the first command again: the answer was not taken";
            report.record("malformed-replies-ignored", Err(why.into()));
            report.record("new-id-per-command", Err(format!("{} used twice", c2.id)));
            return Err(format!("stuck on {} (at {at:?})", c1.id));
        }
        Ok(next) => next,
        Err(e) => {
            report.record("malformed-replies-ignored", Err(format!("after the answer (with an unknown field): {e}")));
            return Err("the answer was not taken".into());
        }
    };
    report.record("malformed-replies-ignored", Ok("garbage ignored; an answer with an unknown field read".into()));
    report.record("replayed-and-duplicate-replies", Ok("the answer, its replay and a duplicate: taken once".into()));
    report.record("new-id-per-command", Ok(format!("{} then {}", c1.id, c2.id)));

    // No answer at all now; a second press meanwhile must send nothing.
    presser.press().map_err(|e| format!("pressing: {e:#}"))?;
    let mut sends = vec![Duration::ZERO];
    let mut strangers = Vec::new();
    let give_up = 3 * REPLY_TIMEOUT + LATE;
    while let Some((at, cmd)) = hub.command(give_up.saturating_sub(c2_at.elapsed())).await {
        match cmd {
            Ok(cmd) if cmd == c2 => sends.push(at - c2_at),
            Ok(cmd) => strangers.push(cmd.id.to_string()),
            Err(e) => strangers.push(e),
        }
    }
    let one_at_a_time = ensure(strangers.is_empty(), format!("sent {strangers:?} while {} was unanswered", c2.id))
        .map(|()| "a press while waiting sent nothing".into());
    report.record("one-command-at-a-time", one_at_a_time);
    let ms: Vec<u128> = sends.iter().map(Duration::as_millis).collect();
    let gave_up = ensure(sends.len() == 3, format!("{} sends (at {ms:?} ms)", sends.len()))
        .map(|()| format!("3 sends (at {ms:?} ms), then none"));
    report.record("gives-up-after-three-sends", gave_up);

    // The hub restarts: its retained state is gone, then published again; presses work.
    let restart = async {
        hub.clear_retained(Topic::CounterState { branch: "", counter: "" }).await?;
        tokio::time::sleep(Duration::from_millis(300)).await;
        hub.state(2).await
    };
    restart.await.map_err(|e| format!("{e:#}"))?;
    let restarted = async {
        let (_, c3) = press(hub, presser).await?;
        ensure(c3.id != c2.id && c3.id != c1.id, format!("{} reused", c3.id))?;
        hub.reply(&answer(&c3, "A018")).await.map_err(|e| e.to_string())?;
        let (_, c4) = press(hub, presser).await.map_err(|e| format!("after the restart's answer: {e}"))?;
        ensure(c4.id != c3.id, format!("{} sent again after its answer", c4.id))?;
        hub.reply(&answer(&c4, "A019")).await.map_err(|e| e.to_string())?;
        Ok(format!("{} and {} answered after the state was cleared and published again", c3.id, c4.id))
    };
    report.record("works-after-hub-restart", restarted.await);
    Ok(())
}

fn call(id: u64, ticket: &str) -> Call {
    Call {
        id,
        ticket: ticket.into(),
        counter: "1".into(),
        service: "A".into(),
        recall: false,
        at: Utc::now(),
        service_name: names("A"),
        counter_name: names("1"),
    }
}

/// Checks a display: the kit publishes boards and calls and asks `listener` what it announced.
pub async fn check_display(target: &DeviceTarget, listener: &mut impl Listener) -> Result<Vec<Outcome>> {
    let mut hub = KitHub::connect(target).await?;
    let mut report = Report::new(&DISPLAY_RULES);
    let stopped = display_scenario(&mut hub, listener, &mut report).await.err();
    Ok(report.outcomes(stopped))
}

/// `got` is exactly `expected`'s ids, in order.
fn same_calls(got: &[u64], expected: &[Call]) -> Result<String, String> {
    let want: Vec<u64> = expected.iter().map(|c| c.id).collect();
    ensure(got == want, format!("announced {got:?}, expected {want:?}")).map(|()| format!("announced {want:?}"))
}

async fn display_scenario(hub: &mut KitHub, listener: &mut impl Listener, report: &mut Report) -> Result<(), String> {
    let patience = hub.target.patience;
    let online = hub.online(patience).await;
    if !report.record("presence-online-retained", online) {
        return Err("the display never said `online`".into());
    }
    let e = |e: anyhow::Error| format!("{e:#}");
    let mut calls: Vec<Call> = (1..=2).map(|i| call(i, &format!("A00{i}"))).collect();
    hub.board(&calls).await.map_err(e)?;
    let first = listener.announced(&[], SILENCE).await;
    report.record("first-board-not-announced", same_calls(&first, &[]));

    let third = call(3, "A003");
    calls.push(third.clone());
    hub.call(&third).await.map_err(e)?;
    hub.board(&calls).await.map_err(e)?;
    let got = listener.announced(std::slice::from_ref(&third), patience).await;
    report.record("new-call-announced", same_calls(&got, std::slice::from_ref(&third)));
    hub.call(&third).await.map_err(e)?;
    let twice = listener.announced(&[], SILENCE).await;
    report.record("call-delivered-twice-announced-once", same_calls(&twice, &[]));

    // Garbage on both topics (not retained), then a call with a field the display does not know.
    let calls_topic = hub.topic(Topic::Calls { branch: "" });
    let board_topic = hub.topic(Topic::Board { branch: "" });
    for garbage in [&b"{not json"[..], b"[]", b"", b"{\"id\":\"four\"}"] {
        hub.publish(&calls_topic, false, garbage.to_vec()).await.map_err(e)?;
        hub.publish(&board_topic, false, garbage.to_vec()).await.map_err(e)?;
    }
    let fourth = call(4, "A004");
    calls.push(fourth.clone());
    let with_unknown = with_future_field(&fourth).map_err(|x| x.to_string())?;
    hub.publish(&calls_topic, false, with_unknown).await.map_err(e)?;
    hub.board(&calls).await.map_err(e)?;
    let got = listener.announced(std::slice::from_ref(&fourth), patience).await;
    report.record("malformed-messages-ignored", same_calls(&got, std::slice::from_ref(&fourth)));

    // The hub restarts; two calls are made before it publishes its board again: the display
    // hears of them only from the board.
    hub.clear_retained(Topic::Board { branch: "" }).await.map_err(e)?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let missed = vec![call(5, "B001"), call(6, "A005")];
    calls.extend(missed.iter().cloned());
    hub.board(&calls).await.map_err(e)?;
    let got = listener.announced(&missed, patience).await;
    report.record("board-announces-missed-calls", same_calls(&got, &missed).map(|d| format!("{d}, oldest first")));
    Ok(())
}

/// Dawr's button simulator (`dawr-button-sim`'s code) pressed in-process.
impl Presser for crate::button::SimButton {
    fn press(&mut self) -> Result<()> {
        crate::button::SimButton::press(self, Key::Next, Press::Short);
        Ok(())
    }
}

/// The firmware's loop ([`crate::firmware::FirmwareButton`]) pressed in-process.
impl Presser for crate::firmware::FirmwareButton {
    fn press(&mut self) -> Result<()> {
        crate::firmware::FirmwareButton::press(self, Key::Next, Press::Short)
    }
}

/// Presses by running a shell command (`sh -c`), e.g. one that drives a relay or a debug port.
pub struct ShellPresser(pub String);

impl Presser for ShellPresser {
    fn press(&mut self) -> Result<()> {
        let status = std::process::Command::new("sh").arg("-c").arg(&self.0).status()?;
        anyhow::ensure!(status.success(), "{:?} failed: {status}", self.0);
        Ok(())
    }
}

/// A device program the kit starts itself, pressed by writing a line to its standard input (e.g.
/// `n` for `dawr-button-sim`, or a vendor's simulator).
pub struct StdinPresser {
    child: std::process::Child,
    line: String,
}

impl StdinPresser {
    /// Starts `command` (`sh -c`) with its standard input piped; each press writes `line`.
    pub fn spawn(command: &str, line: &str) -> Result<StdinPresser> {
        let child = std::process::Command::new("sh")
            .arg("-c")
            .arg(command)
            .stdin(std::process::Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {command:?}"))?;
        Ok(StdinPresser { child, line: format!("{line}\n") })
    }
}

impl Presser for StdinPresser {
    fn press(&mut self) -> Result<()> {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().context("the device program's input is closed")?;
        stdin.write_all(self.line.as_bytes())?;
        stdin.flush()?;
        Ok(())
    }
}

impl Drop for StdinPresser {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A person presses when told (on standard error).
pub struct OperatorPresser;

impl Presser for OperatorPresser {
    fn press(&mut self) -> Result<()> {
        eprintln!(">>> press NEXT on the device now");
        Ok(())
    }
}

/// Dawr's display board link (`dawr-display-board`'s MQTT code, headless): its announcements are
/// the calls it hands to its speaker.
impl Listener for dawr_display_board::link::BoardLink {
    async fn announced(&mut self, expected: &[Call], within: Duration) -> Vec<u64> {
        let mut got = Vec::new();
        let deadline = Instant::now() + within;
        while got.len() < expected.len() {
            match tokio::time::timeout_at(deadline, self.new_calls.recv()).await {
                Ok(Some(call)) => got.push(call.id),
                _ => break,
            }
        }
        let extra = if expected.is_empty() { within } else { SILENCE / 2 };
        while let Ok(Some(call)) = tokio::time::timeout(extra, self.new_calls.recv()).await {
            got.push(call.id);
        }
        got
    }
}

/// A person watching the display answers whether it announced what it should.
pub struct OperatorListener;

impl Listener for OperatorListener {
    async fn announced(&mut self, expected: &[Call], within: Duration) -> Vec<u64> {
        use tokio::io::AsyncBufReadExt;
        let tickets: Vec<&str> = expected.iter().map(|c| c.ticket.as_str()).collect();
        tokio::time::sleep(within.min(Duration::from_secs(3))).await;
        if tickets.is_empty() {
            eprintln!(">>> did the display announce NOTHING new just now? [y/n]");
        } else {
            eprintln!(">>> did the display announce exactly {tickets:?}, in that order, and nothing else? [y/n]");
        }
        let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
        let yes = matches!(lines.next_line().await, Ok(Some(l)) if l.trim().eq_ignore_ascii_case("y"));
        // "No" is reported as an announcement the kit did not expect.
        if yes { expected.iter().map(|c| c.id).collect() } else { vec![u64::MAX] }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_device_rule_cites_a_line_of_the_document() {
        for (rule, quote) in BUTTON_RULES.iter().chain(DISPLAY_RULES.iter()) {
            assert_ne!(cite(quote), "PROTOCOL.md:?", "{rule}: PROTOCOL.md no longer says {quote:?}");
        }
    }

    #[test]
    fn a_rule_not_reached_fails_with_the_reason() {
        let mut report = Report::new(&DISPLAY_RULES);
        report.record("presence-online-retained", Ok("online".into()));
        let outcomes = report.outcomes(Some("the broker went away".into()));
        assert!(outcomes[0].passed);
        assert!(outcomes[1..].iter().all(|o| !o.passed && o.detail.contains("the broker went away")));
    }
}

/// A field a later version of the protocol might add, which a device must ignore.
#[derive(serde::Serialize)]
struct FutureField {
    x: [u8; 2],
}

/// `message` as a later protocol version might send it: its JSON with a field the device does
/// not know (`future_field`).
fn with_future_field<T: serde::Serialize>(message: &T) -> serde_json::Result<Vec<u8>> {
    #[derive(serde::Serialize)]
    struct Later<'a, T> {
        #[serde(flatten)]
        known: &'a T,
        future_field: FutureField,
    }
    serde_json::to_vec(&Later { known: message, future_field: FutureField { x: [1, 2] } })
}
