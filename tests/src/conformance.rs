//! `dawr-conformance`: checks a hub against `docs/PROTOCOL.md` by playing its devices.
//!
//! A vendor (or CI) points it at a running hub: its broker, its HTTP address, and the accounts
//! of two devices that send commands on one counter (a button and a counter app) and of a
//! display. It then plays those devices through every rule of the device contract — presses,
//! repeated ids, ids of two devices, malformed messages, refusals, the board and calls after a
//! reconnect, timestamps — and reports each rule as passed or failed, citing the line of
//! `PROTOCOL.md` it checks ([`Outcome::cites`]). Rules are independent: one failing does not stop
//! the others. Tickets are taken over HTTP (`POST /api/v1/tickets`, open to anyone).
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dawr_protocol::api::{Board, Call, DeviceCredentials, IssueTicket, Priority, Ticket};
use dawr_protocol::device::{Action, Command, ErrorCode, Reply};
use dawr_protocol::endpoint::{MqttEndpoint, Password};

use crate::MqttProbe;

/// The document the rules cite, as built into the kit.
pub const PROTOCOL_MD: &str = include_str!("../../docs/PROTOCOL.md");

/// How long the kit waits for an answer the contract promises (the document's reply timeout).
const ANSWER: Duration = Duration::from_secs(3);
/// How long the kit listens to be sure something does *not* come.
const SILENCE: Duration = Duration::from_millis(800);

/// The hub under test and the accounts the kit plays.
#[derive(Debug, Clone)]
pub struct HubTarget {
    /// The broker (`mqtt://host:port`, or `mqtts://` with the branch CA); logins are the devices'.
    pub broker: MqttEndpoint,
    /// The hub's HTTP base, e.g. `http://127.0.0.1:8080`.
    pub http: String,
    pub branch: String,
    /// A counter that is open and serves `service`.
    pub counter: String,
    pub service: String,
    /// Two devices that may send commands on `counter` (e.g. its button and its counter app).
    pub button: DeviceCredentials,
    pub second: DeviceCredentials,
    /// A display.
    pub display: DeviceCredentials,
    /// A kiosk, to take the tickets the presses call (HTTP Basic on `POST /api/v1/tickets`).
    pub kiosk: DeviceCredentials,
}

/// One rule's result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    pub rule: &'static str,
    /// `PROTOCOL.md:LINE` of the sentence the rule checks.
    pub cites: String,
    pub passed: bool,
    pub detail: String,
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let verdict = if self.passed { "PASS" } else { "FAIL" };
        write!(f, "{verdict}  {:<34} {:<18} {}", self.rule, self.cites, self.detail)
    }
}

/// The line of `PROTOCOL.md` holding `quote` (`PROTOCOL.md:?` if the document lost it, which the
/// kit's own test refuses).
pub fn cite(quote: &str) -> String {
    match PROTOCOL_MD.lines().position(|l| l.contains(quote)) {
        Some(i) => format!("PROTOCOL.md:{}", i + 1),
        None => "PROTOCOL.md:?".into(),
    }
}

/// Every rule the hub side checks: its name and the sentence of `PROTOCOL.md` it checks.
pub const HUB_RULES: [(&str, &str); 13] = [
    ("press-answered-and-called", "`next` finishes the visitor at the counter"),
    ("repeat-replayed-not-acted", "A repeated id is answered again with the first reply"),
    ("ids-scoped-to-device", "Ids are scoped to the sending device"),
    ("repeat-with-other-body-refused", "`id_reused`"),
    ("malformed-unknown-action", "A message that breaks any of these is `malformed`"),
    ("malformed-over-long-id-answered", "an id longer than 48 bytes"),
    ("malformed-trailing-bytes-answered", "nothing after the object"),
    ("malformed-array-not-acted", "a JSON array is never a command"),
    ("malformed-empty-id-answered", "an empty `id` is malformed"),
    ("malformed-does-not-use-the-id", "A `malformed` refusal does not use up the id"),
    ("transfer-without-target-malformed", "`transfer` without either is `malformed`"),
    ("finished-ticket-not-waiting", "the ticket was issued today but is not waiting"),
    ("board-tells-missed-calls", "a display remembers the highest call `id`"),
];

fn rule_cite(rule: &str) -> String {
    HUB_RULES.iter().find(|(name, _)| *name == rule).map_or_else(|| "PROTOCOL.md:?".into(), |(_, q)| cite(q))
}

/// A device the kit plays: a probe subscribed to its counter's replies.
struct Player {
    probe: MqttProbe,
    device: String,
    command_topic: String,
    reply_topic: String,
}

impl Player {
    async fn connect(target: &HubTarget, device: &DeviceCredentials) -> Result<Player> {
        let endpoint = login(&target.broker, device);
        let mut probe = MqttProbe::connect_to(&endpoint, &device.username, None).await?;
        let base = format!("dawr/v1/{}/counters/{}", target.branch, target.counter);
        let reply_topic = format!("{base}/reply");
        probe.subscribe(&reply_topic).await?;
        Ok(Player { probe, device: device.device.clone(), command_topic: format!("{base}/command"), reply_topic })
    }

    /// A command as this device sends it (with its `device`).
    fn command(&self, id: &str, action: Action) -> Command {
        let mut command = Command::new(bounded(id), action);
        command.device = Some(bounded(&self.device));
        command
    }

    async fn send(&self, payload: impl Into<Vec<u8>>) -> Result<()> {
        self.probe.publish(&self.command_topic, payload).await
    }

    async fn send_command(&self, command: &Command) -> Result<()> {
        self.send(serde_json::to_vec(command)?).await
    }

    /// The next reply with this `id` (and, when it names one, this device), within `within`.
    async fn reply(&mut self, id: &str, within: Duration) -> Option<Reply> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let msg = self.probe.next_on(&self.reply_topic, left).await?;
            let Ok(reply) = serde_json::from_slice::<Reply>(&msg.payload) else { continue };
            if reply.id.as_str() == id && reply.device.as_deref().is_none_or(|d| d == self.device) {
                return Some(reply);
            }
        }
    }

    /// Sends `command` and waits for its reply.
    async fn ask(&mut self, command: &Command) -> Result<Reply> {
        self.send_command(command).await?;
        self.reply(&command.id, ANSWER).await.with_context(|| format!("no reply to {} within {ANSWER:?}", command.id))
    }
}

fn bounded<const N: usize>(text: &str) -> heapless::String<N> {
    heapless::String::try_from(text).unwrap_or_default()
}

fn login(broker: &MqttEndpoint, device: &DeviceCredentials) -> MqttEndpoint {
    let mut endpoint = broker.clone();
    endpoint.username = None;
    endpoint.password = None;
    endpoint.with_login_if_missing(device.username.clone(), Some(Password::new(device.password.clone())))
}

/// Runs every hub rule against `target` and returns the outcomes in [`HUB_RULES`] order.
pub async fn check_hub(target: &HubTarget) -> Result<Vec<Outcome>> {
    let run = Run::start(target).await?;
    let mut outcomes = Vec::new();
    let mut run = run;
    for (rule, _) in HUB_RULES {
        let result = run.rule(rule).await;
        let (passed, detail) = match result {
            Ok(detail) => (true, detail),
            Err(e) => (false, format!("{e:#}")),
        };
        outcomes.push(Outcome { rule, cites: rule_cite(rule), passed, detail });
    }
    Ok(outcomes)
}

/// The kit's devices and a run-unique prefix for its ids.
struct Run<'a> {
    target: &'a HubTarget,
    http: reqwest::Client,
    button: Player,
    second: Player,
    prefix: String,
    seq: u32,
}

impl<'a> Run<'a> {
    async fn start(target: &'a HubTarget) -> Result<Run<'a>> {
        let button = Player::connect(target, &target.button).await?;
        let second = Player::connect(target, &target.second).await?;
        let prefix = format!("cf{:x}", chrono::Utc::now().timestamp_millis());
        let mut run = Run { target, http: crate::http_client().build()?, button, second, prefix, seq: 0 };
        // An empty counter to start from.
        let id = run.fresh_id();
        let complete = run.button.command(&id, Action::Complete);
        let _ = run.button.ask(&complete).await?;
        Ok(run)
    }

    fn fresh_id(&mut self) -> String {
        self.seq += 1;
        format!("{}-{}", self.prefix, self.seq)
    }

    async fn issue(&self) -> Result<Ticket> {
        let body = IssueTicket {
            service: self.target.service.clone(),
            priority: Priority::Normal,
            appointment_at: None,
            request_id: None,
            sms: None,
        };
        let url = format!("{}/api/v1/tickets", self.target.http);
        let kiosk = &self.target.kiosk;
        let request = self.http.post(url).json(&body).basic_auth(&kiosk.username, Some(&kiosk.password));
        let response = request.send().await?;
        if response.status().as_u16() != 201 {
            bail!("taking a ticket: {} {}", response.status(), response.text().await?);
        }
        Ok(response.json().await?)
    }

    async fn rule(&mut self, rule: &str) -> Result<String> {
        match rule {
            "press-answered-and-called" => self.press_answered_and_called().await,
            "repeat-replayed-not-acted" => self.repeat_replayed_not_acted().await,
            "ids-scoped-to-device" => self.ids_scoped_to_device().await,
            "repeat-with-other-body-refused" => self.repeat_with_other_body_refused().await,
            "malformed-unknown-action" => {
                let id = self.fresh_id();
                self.expect_malformed(format!(r#"{{"id":"{id}","action":"explode"}}"#), &id).await
            }
            "malformed-over-long-id-answered" => {
                let id = format!("{}-{}", self.fresh_id(), "x".repeat(48));
                self.expect_malformed(format!(r#"{{"id":"{id}","action":"recall"}}"#), &id).await
            }
            "malformed-trailing-bytes-answered" => {
                let id = self.fresh_id();
                self.expect_malformed(format!(r#"{{"id":"{id}","action":"recall"}} x"#), &id).await
            }
            "malformed-array-not-acted" => self.array_not_acted().await,
            "malformed-empty-id-answered" => {
                let device = self.button.device.clone();
                self.expect_malformed(format!(r#"{{"id":"","device":"{device}","action":"recall"}}"#), "").await
            }
            "malformed-does-not-use-the-id" => self.malformed_does_not_use_the_id().await,
            "transfer-without-target-malformed" => self.transfer_without_target().await,
            "finished-ticket-not-waiting" => self.finished_ticket_not_waiting().await,
            "board-tells-missed-calls" => self.board_tells_missed_calls().await,
            other => bail!("no such rule {other}"),
        }
    }

    /// Calls a fresh ticket to the counter with `next`; returns its number.
    async fn call_one(&mut self) -> Result<String> {
        let ticket = self.issue().await?;
        let id = self.fresh_id();
        let reply = self.button.ask(&self.button.command(&id, Action::Next)).await?;
        if !reply.ok {
            bail!("next refused: {:?} {:?}", reply.error, reply.message);
        }
        reply
            .ticket
            .map(|t| t.to_string())
            .with_context(|| format!("next called nobody though {} waits", ticket.number))
    }

    async fn press_answered_and_called(&mut self) -> Result<String> {
        let endpoint = login(&self.target.broker, &self.target.display);
        let mut display = MqttProbe::connect_to(&endpoint, &self.target.display.username, None).await?;
        let calls = format!("dawr/v1/{}/calls", self.target.branch);
        display.subscribe(&calls).await?;
        let called = self.call_one().await?;
        let call = display.next_on(&calls, ANSWER).await.context("no message on …/calls")?;
        let call: Call = serde_json::from_slice(&call.payload).context("the call does not parse")?;
        if call.ticket != called || call.counter != self.target.counter {
            bail!("the call is {} at {}, the reply said {called}", call.ticket, call.counter);
        }
        check_millis(&serde_json::to_string(&call)?)?;
        Ok(format!("{called} called, announced on …/calls"))
    }

    async fn repeat_replayed_not_acted(&mut self) -> Result<String> {
        let _ = self.call_one().await?;
        let waiting = self.issue().await?;
        let id = self.fresh_id();
        let next = self.button.command(&id, Action::Next);
        let first = self.button.ask(&next).await?;
        let again = self.button.ask(&next).await?;
        if first.replay {
            bail!("a first answer is marked replay");
        }
        if !again.replay || again.ticket != first.ticket || again.ok != first.ok {
            bail!("the repeat got {again:?}, the first {first:?}");
        }
        // Acted on once: the ticket called by the first is at the counter, `waiting` was not
        // called by the repeat (unless it was the first's own).
        let recall_id = self.fresh_id();
        let recall = self.button.ask(&self.button.command(&recall_id, Action::Recall)).await?;
        if recall.ticket != first.ticket {
            bail!("after the repeat {:?} is at the counter, not {:?}", recall.ticket, first.ticket);
        }
        Ok(format!("replayed, {} still waiting behind {:?}", waiting.number, first.ticket))
    }

    async fn ids_scoped_to_device(&mut self) -> Result<String> {
        let _ = self.issue().await?;
        let _ = self.issue().await?;
        let id = self.fresh_id();
        let first = self.button.ask(&self.button.command(&id, Action::Next)).await?;
        let other = self.second.ask(&self.second.command(&id, Action::Next)).await?;
        if other.replay || !other.ok || other.ticket.is_none() || other.ticket == first.ticket {
            bail!("{} got {other:?} for the id {} used: {first:?}", self.second.device, self.button.device);
        }
        Ok(format!("both acted on: {:?} then {:?}", first.ticket, other.ticket))
    }

    async fn repeat_with_other_body_refused(&mut self) -> Result<String> {
        let _ = self.call_one().await?;
        let id = self.fresh_id();
        let recall = self.button.ask(&self.button.command(&id, Action::Recall)).await?;
        if !recall.ok {
            bail!("recall refused: {recall:?}");
        }
        let other = self.button.ask(&self.button.command(&id, Action::Complete)).await?;
        if other.error != Some(ErrorCode::IdReused) {
            bail!("the same id with another action got {other:?}");
        }
        let check = self.fresh_id();
        let still = self.button.ask(&self.button.command(&check, Action::Recall)).await?;
        if !still.ok {
            bail!("the refused command was acted on: the counter is now empty ({still:?})");
        }
        Ok("id_reused, nothing done".into())
    }

    async fn expect_malformed(&mut self, payload: String, id: &str) -> Result<String> {
        self.button.send(payload).await?;
        let reply =
            self.button.reply(id, ANSWER).await.context("no reply: a device retrying it would retry forever")?;
        if reply.ok || reply.error != Some(ErrorCode::Malformed) {
            bail!("answered {reply:?}");
        }
        Ok("malformed".into())
    }

    async fn array_not_acted(&mut self) -> Result<String> {
        let _ = self.call_one().await?;
        let _ = self.issue().await?;
        let id = self.fresh_id();
        self.button.send(format!(r#"["{id}","next"]"#)).await?;
        if let Some(reply) = self.button.reply(&id, SILENCE).await
            && reply.ok
        {
            bail!("the array was executed: {reply:?}");
        }
        let recall_id = self.fresh_id();
        let before = self.button.ask(&self.button.command(&recall_id, Action::Recall)).await?;
        Ok(format!("not acted on ({:?} still at the counter)", before.ticket))
    }

    async fn malformed_does_not_use_the_id(&mut self) -> Result<String> {
        let _ = self.call_one().await?;
        let id = self.fresh_id();
        // Refused when read (`call` without its ticket), then sent right.
        let mut call = self.button.command(&id, Action::Call);
        let refused = self.button.ask(&call).await?;
        if refused.error != Some(ErrorCode::Malformed) {
            bail!("`call` without a ticket got {refused:?}");
        }
        let bad = format!(r#"{{"id":"{id}","device":"{}","action":"recal"}}"#, self.button.device);
        self.button.send(bad).await?;
        let _ = self.button.reply(&id, ANSWER).await.context("no reply to a misspelt action")?;
        call.action = Action::Recall;
        let fixed = self.button.ask(&call).await?;
        if !fixed.ok || fixed.replay {
            bail!("the corrected command with the same id got {fixed:?}");
        }
        Ok("the corrected command was acted on".into())
    }

    async fn transfer_without_target(&mut self) -> Result<String> {
        let id = self.fresh_id();
        let complete = self.button.command(&id, Action::Complete);
        let _ = self.button.ask(&complete).await?;
        let id = self.fresh_id();
        let reply = self.button.ask(&self.button.command(&id, Action::Transfer)).await?;
        if reply.error != Some(ErrorCode::Malformed) {
            bail!("answered {reply:?} (with nobody at the counter)");
        }
        Ok("malformed".into())
    }

    async fn finished_ticket_not_waiting(&mut self) -> Result<String> {
        let called = self.call_one().await?;
        let id = self.fresh_id();
        let _ = self.button.ask(&self.button.command(&id, Action::Complete)).await?;
        let id = self.fresh_id();
        let mut call = self.button.command(&id, Action::Call);
        call.ticket = Some(bounded(&called));
        let reply = self.button.ask(&call).await?;
        if reply.error != Some(ErrorCode::NotWaiting) {
            bail!("calling finished {called} got {reply:?}");
        }
        Ok(format!("{called} (finished): not_waiting"))
    }

    async fn board_tells_missed_calls(&mut self) -> Result<String> {
        let board_topic = format!("dawr/v1/{}/board", self.target.branch);
        let endpoint = login(&self.target.broker, &self.target.display);
        let display = &self.target.display.username;
        let before = read_board(MqttProbe::connect_to(&endpoint, display, None).await?, &board_topic).await?;
        let seen = before.calls.iter().map(|c| c.id).max().unwrap_or(0);
        // Away: a call is made; back: the board tells it from the ones seen by its id.
        let missed = self.call_one().await?;
        // The retained board may still be the one from before the call (the hub publishes the
        // new board just after its reply); a display announces on every board, so the next one counts.
        let mut probe = MqttProbe::connect_to(&endpoint, display, None).await?;
        probe.subscribe(&board_topic).await?;
        let deadline = tokio::time::Instant::now() + ANSWER;
        let mut news: Vec<String> = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            let Some(msg) = probe.next_on(&board_topic, left).await else {
                bail!("the call of {missed} is not among the calls after id {seen}: {news:?}");
            };
            let after = parse_board(&msg.payload)?;
            if after.calls.windows(2).any(|w| w[0].id <= w[1].id) {
                bail!(
                    "board calls are not newest first by id: {:?}",
                    after.calls.iter().map(|c| c.id).collect::<Vec<_>>()
                );
            }
            news = after.calls.iter().filter(|c| c.id > seen).map(|c| c.ticket.to_string()).collect();
            if news.contains(&missed) {
                break;
            }
        }
        Ok(format!("{missed} found by id > {seen}"))
    }
}

/// The retained board, as a display that (re)connects gets it.
async fn read_board(mut probe: MqttProbe, topic: &str) -> Result<Board> {
    probe.subscribe(topic).await?;
    let msg = probe.next_on(topic, ANSWER).await.context("no retained board")?;
    parse_board(&msg.payload)
}

/// A board as published, its times checked to be at most milliseconds.
fn parse_board(payload: &[u8]) -> Result<Board> {
    check_millis(std::str::from_utf8(payload)?)?;
    serde_json::from_slice(payload).context("the board does not parse")
}

/// Every RFC 3339 time in `json` has at most millisecond precision.
fn check_millis(json: &str) -> Result<()> {
    for (i, _) in json.match_indices('T') {
        let rest = &json[i + 1..];
        let Some(end) = rest.find('Z') else { continue };
        let clock = &rest[..end];
        let is_time = clock.len() >= 8 && clock.as_bytes()[2] == b':' && clock.as_bytes()[5] == b':';
        if is_time && clock.split_once('.').is_some_and(|(_, frac)| frac.len() > 3) {
            bail!("a time with more than milliseconds: …T{clock}Z");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_cites_a_line_of_the_document() {
        for (rule, quote) in HUB_RULES {
            assert_ne!(cite(quote), "PROTOCOL.md:?", "{rule}: PROTOCOL.md no longer says {quote:?}");
        }
    }

    #[test]
    fn times_finer_than_milliseconds_are_caught() {
        assert!(check_millis(r#"{"at":"2026-11-23T09:15:00.120Z"}"#).is_ok());
        assert!(check_millis(r#"{"at":"2026-11-23T09:15:00Z","b":"Tx"}"#).is_ok());
        assert!(check_millis(r#"{"seen_at":"2026-11-23T07:28:51.938858748Z"}"#).is_err());
    }
}
