//! The counter button's behaviour, without hardware: a state machine fed with presses, MQTT
//! messages, link changes and the time, which answers with messages to publish and a [`View`]
//! for the screen.
//!
//! Rules it keeps:
//! - A press while the hub is unreachable is refused on screen ("offline"), never queued.
//! - One command at a time: a press while a command awaits its reply shows "busy" and sends
//!   nothing, so a nervous double press never calls two visitors.
//! - A command without a reply after [`REPLY_TIMEOUT_MS`] is sent again with the **same** id (the
//!   hub acts on an id once), up to [`MAX_ATTEMPTS`] times; a command still pending when the link
//!   comes back is sent again the same way if it is recent ([`RESEND_WINDOW_MS`]).
//! - What the screen shows about the counter comes from the hub's retained `…/state`, so a device
//!   that (re)connects shows the truth at once.
use core::fmt::Write;

use dawr_protocol::device::{
    Action, Command, CommandId, CounterState, CounterStatus, CurrentStatus, ErrorCode, FirmwareVersion,
    PRESENCE_REFRESH_S, Presence, PresenceStatus, Rating, Reply, ResetReason, TicketNumber,
};
use dawr_protocol::topics::Topic;

use crate::button::Press;
use crate::ids::CommandIds;

/// How long to wait for a reply before sending the command again.
pub const REPLY_TIMEOUT_MS: u64 = 3_000;
/// How many times a command is sent at most (the first time included).
pub const MAX_ATTEMPTS: u8 = 3;
/// A command pending when the link drops is sent again after reconnecting only this soon after
/// it was first sent; older ones are dropped with "no reply".
pub const RESEND_WINDOW_MS: u64 = 20_000;
/// How long a notice stays on screen.
pub const NOTICE_MS: u64 = 3_000;
/// In rating mode: how long after a visit ends its rating is asked for.
pub const RATING_WINDOW_MS: u64 = 120_000;
/// In rating mode: how long "thank you" stays.
pub const THANKS_MS: u64 = 5_000;

/// A topic, sized for the longest Dawr topic with 32-character identifiers.
pub type TopicBuf = heapless::String<112>;
/// A message payload.
pub type PayloadBuf = heapless::Vec<u8, 768>;

/// The device's buttons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Key {
    /// Counter mode, the big button: short = next, long = no-show.
    Next,
    /// Counter mode: short = recall.
    Recall,
    /// Rating mode: one of the five faces, 1 (very unhappy) to 5 (very happy).
    Score(u8),
}

/// What the device is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// On the counter, for staff: next, recall, no-show.
    Counter,
    /// At the exit, for visitors: rate the visit just completed at the counter.
    Rating,
}

/// Who this device is.
#[derive(Debug, Clone, Copy)]
pub struct Config<'a> {
    pub branch: &'a str,
    pub counter: &'a str,
    /// Its id in `…/devices/{device}/status`.
    pub device: &'a str,
    pub mode: Mode,
}

/// Where a rating terminal is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RatingPhase {
    /// No visit to rate.
    Idle,
    /// The visit `ticket` just ended: asking for a rating until `until_ms`.
    Open { ticket: TicketNumber, until_ms: u64 },
    /// Rated; thanking until `until_ms`, then idle (further presses are ignored).
    Thanks { until_ms: u64 },
}

/// The connection to the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Online,
    /// The broker is unreachable (the Wi-Fi is joined).
    Offline,
    /// The Wi-Fi link is lost: joining again.
    NoWifi,
}

/// A short message shown for a few seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// A press while the hub is unreachable.
    Offline,
    /// A press while a command awaits its reply.
    Busy,
    /// No reply in time; `retrying` while attempts remain.
    NoReply { retrying: bool },
    /// The hub refused the command.
    Refused(ErrorCode),
    /// `next` found nobody waiting.
    NobodyWaiting,
}

/// A message to publish (QoS 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub topic: TopicBuf,
    pub payload: PayloadBuf,
    pub retain: bool,
}

#[derive(Debug, Clone)]
struct Pending {
    id: CommandId,
    /// `None` for a rating.
    action: Option<Action>,
    message: Outgoing,
    first_sent_ms: u64,
    last_sent_ms: u64,
    attempts: u8,
}

/// What the screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct View<'a> {
    pub mode: Mode,
    pub rating: &'a RatingPhase,
    pub counter: &'a str,
    pub link: Link,
    /// `None` until the hub's state has been received.
    pub status: Option<CounterStatus>,
    pub ticket: Option<&'a str>,
    pub serving: bool,
    pub waiting: Option<u32>,
    /// A command is on its way.
    pub pending: bool,
    pub notice: Option<Notice>,
}

/// The device. See the module documentation.
#[derive(Debug, Clone)]
pub struct Device<'a> {
    config: Config<'a>,
    ids: CommandIds,
    link: Link,
    state: Option<CounterState>,
    pending: Option<Pending>,
    notice: Option<(Notice, u64)>,
    rating: RatingPhase,
    reset: Option<ResetReason>,
    /// The firmware's version, for the `online` presence.
    firmware: Option<&'a str>,
    /// The Wi-Fi signal last measured, in dBm.
    rssi: Option<i16>,
    /// When the `online` presence was last sent on this connection.
    presence_sent_ms: Option<u64>,
}

fn topic(t: Topic<'_>) -> TopicBuf {
    let mut s = TopicBuf::new();
    let _ = write!(s, "{t}");
    s
}

fn json<T: serde::Serialize>(value: &T) -> PayloadBuf {
    let mut buf = [0u8; 768];
    let n = serde_json_core::to_slice(value, &mut buf).unwrap_or(0);
    PayloadBuf::from_slice(&buf[..n]).unwrap_or_default()
}

impl<'a> Device<'a> {
    /// A device starting up; `boot` must differ from every earlier boot (see [`CommandIds`]).
    pub fn new(config: Config<'a>, boot: u32) -> Self {
        Device {
            config,
            ids: CommandIds::new(boot),
            link: Link::Connecting,
            state: None,
            pending: None,
            notice: None,
            rating: RatingPhase::Idle,
            reset: None,
            firmware: None,
            rssi: None,
            presence_sent_ms: None,
        }
    }

    /// Why this boot happened, for the `online` presence (see [`reset_reason`]).
    pub fn with_reset_reason(mut self, reason: ResetReason) -> Self {
        self.reset = Some(reason);
        self
    }

    /// The firmware's version, for the `online` presence (the firmware crate's version).
    pub fn with_firmware(mut self, version: &'a str) -> Self {
        self.firmware = Some(version);
        self
    }

    /// The Wi-Fi signal just measured, in dBm (`None`: not known), for the next `online`
    /// presence. A value outside −128…0 is not a measurement and is left out.
    pub fn set_rssi(&mut self, dbm: Option<i32>) {
        self.rssi = dbm.filter(|d| (-128..=0).contains(d)).map(|d| d as i16);
    }

    /// The topics to subscribe to after every connect.
    pub fn subscriptions(&self) -> [TopicBuf; 2] {
        let (branch, counter) = (self.config.branch, self.config.counter);
        [topic(Topic::CounterReply { branch, counter }), topic(Topic::CounterState { branch, counter })]
    }

    /// The retained `offline` presence, the last will: nothing but the status.
    pub fn last_will(&self) -> Outgoing {
        self.presence_message(&Presence::new(PresenceStatus::Offline))
    }

    /// The retained `online` presence, sent after connecting and every [`PRESENCE_REFRESH_S`]
    /// while connected (see [`Device::presence_due`]): why the device started, its firmware's
    /// version, its uptime at `now_ms` (milliseconds since it started) and its Wi-Fi signal.
    pub fn online_presence(&mut self, now_ms: u64) -> Outgoing {
        self.presence_sent_ms = Some(now_ms);
        let presence = Presence {
            reset: self.reset,
            firmware: self.firmware.and_then(|v| FirmwareVersion::try_from(v).ok()),
            uptime_s: Some(u32::try_from(now_ms / 1000).unwrap_or(u32::MAX)),
            rssi: self.rssi,
            ..Presence::new(PresenceStatus::Online)
        };
        self.presence_message(&presence)
    }

    /// The `online` presence again, with uptime and signal current, once
    /// [`PRESENCE_REFRESH_S`] have passed since it was last sent on this connection.
    pub fn presence_due(&mut self, now_ms: u64) -> Option<Outgoing> {
        let sent = self.presence_sent_ms.filter(|_| self.link == Link::Online)?;
        (now_ms.saturating_sub(sent) >= u64::from(PRESENCE_REFRESH_S) * 1000).then(|| self.online_presence(now_ms))
    }

    fn presence_message(&self, presence: &Presence) -> Outgoing {
        let t = Topic::DeviceStatus { branch: self.config.branch, device: self.config.device };
        Outgoing { topic: topic(t), payload: json(presence), retain: true }
    }

    /// The broker connection is up (and subscribed). Returns a pending command to send again.
    pub fn connected(&mut self, now_ms: u64) -> Option<Outgoing> {
        self.link = Link::Online;
        let pending = self.pending.as_mut()?;
        if now_ms.saturating_sub(pending.first_sent_ms) > RESEND_WINDOW_MS {
            self.pending = None;
            self.notify(Notice::NoReply { retrying: false }, now_ms);
            return None;
        }
        pending.attempts = pending.attempts.saturating_add(1);
        pending.last_sent_ms = now_ms;
        Some(pending.message.clone())
    }

    /// The broker connection is lost.
    pub fn disconnected(&mut self, _now_ms: u64) {
        self.presence_sent_ms = None;
        if self.link != Link::NoWifi {
            self.link = Link::Offline;
        }
    }

    /// The Wi-Fi link is lost (or was never joined): the screen says it is joining again.
    pub fn wifi_lost(&mut self) {
        self.link = Link::NoWifi;
    }

    /// The Wi-Fi is joined again: connecting to the broker.
    pub fn wifi_joined(&mut self) {
        if self.link == Link::NoWifi {
            self.link = Link::Connecting;
        }
    }

    /// A debounced press. Returns the command to publish, if any.
    pub fn press(&mut self, key: Key, press: Press, now_ms: u64) -> Option<Outgoing> {
        let action = match (self.config.mode, key, press) {
            (Mode::Counter, Key::Next, Press::Short) => Some(Action::Next),
            (Mode::Counter, Key::Next, Press::Long) => Some(Action::NoShow),
            (Mode::Counter, Key::Recall, Press::Short) => Some(Action::Recall),
            // Only a visit that just ended can be rated, and only once.
            (Mode::Rating, Key::Score(1..=5), _) if matches!(self.rating, RatingPhase::Open { .. }) => None,
            _ => return None,
        };
        if self.link != Link::Online {
            self.notify(Notice::Offline, now_ms);
            return None;
        }
        if self.pending.is_some() {
            self.notify(Notice::Busy, now_ms);
            return None;
        }
        let id = self.ids.next_id();
        let (branch, counter) = (self.config.branch, self.config.counter);
        let message = match (action, key) {
            (Some(action), _) => {
                let mut command = Command::new(id.clone(), action);
                command.device = self.own_id();
                let payload = json(&command);
                Outgoing { topic: topic(Topic::CounterCommand { branch, counter }), payload, retain: false }
            }
            (None, Key::Score(score)) => {
                self.rating = RatingPhase::Thanks { until_ms: now_ms + THANKS_MS };
                let payload = json(&Rating { id: id.clone(), device: self.own_id(), score, reason: None });
                Outgoing { topic: topic(Topic::CounterRating { branch, counter }), payload, retain: false }
            }
            (None, _) => return None,
        };
        self.notice = None;
        self.pending = Some(Pending {
            id,
            action,
            message: message.clone(),
            first_sent_ms: now_ms,
            last_sent_ms: now_ms,
            attempts: 1,
        });
        Some(message)
    }

    /// A message from the broker. Unreadable or unrelated messages are ignored.
    pub fn received(&mut self, topic_name: &str, payload: &[u8], now_ms: u64) {
        let ours = |branch: &str, counter: &str| branch == self.config.branch && counter == self.config.counter;
        match Topic::parse(topic_name) {
            Ok(Topic::CounterReply { branch, counter }) if ours(branch, counter) => {
                if let Ok((reply, _)) = serde_json_core::from_slice::<Reply>(payload) {
                    self.on_reply(reply, now_ms);
                }
            }
            Ok(Topic::CounterState { branch, counter }) if ours(branch, counter) => {
                if let Ok((state, _)) = serde_json_core::from_slice::<CounterState>(payload) {
                    self.on_state(state, now_ms);
                }
            }
            _ => {}
        }
    }

    fn on_state(&mut self, state: CounterState, now_ms: u64) {
        let before = self.state.as_ref().and_then(|s| s.current.as_ref()).map(|c| c.ticket.clone());
        let after = state.current.as_ref().map(|c| &c.ticket);
        // A rating terminal asks about a visit as soon as it leaves the counter.
        if self.config.mode == Mode::Rating
            && let Some(ended) = before.filter(|b| Some(b) != after)
        {
            self.rating = RatingPhase::Open { ticket: ended, until_ms: now_ms + RATING_WINDOW_MS };
        }
        self.state = Some(state);
    }

    /// Its device id as commands carry it (their ids are scoped to it).
    fn own_id(&self) -> Option<dawr_protocol::device::Code> {
        dawr_protocol::device::Code::try_from(self.config.device).ok()
    }

    fn on_reply(&mut self, reply: Reply, now_ms: u64) {
        // The counter's devices share the reply topic: ours carry our device id and our id.
        let ours = |p: &&Pending| {
            p.id.as_str() == reply.id.as_str() && reply.device.as_deref().is_none_or(|d| d == self.config.device)
        };
        let Some(pending) = self.pending.as_ref().filter(ours) else { return };
        let action = pending.action;
        self.pending = None;
        if action.is_none() {
            // A rating: the visitor was already thanked; a refusal (window closed at the hub)
            // is not the visitor's business.
            return;
        }
        if !reply.ok {
            self.notify(Notice::Refused(reply.error.unwrap_or(ErrorCode::Malformed)), now_ms);
        } else if action == Some(Action::Next) && reply.ticket.is_none() {
            self.notify(Notice::NobodyWaiting, now_ms);
        } else {
            self.notice = None;
        }
    }

    /// Time passes: expires notices, and returns a command to send again if its reply is late.
    pub fn tick(&mut self, now_ms: u64) -> Option<Outgoing> {
        if self.notice.is_some_and(|(_, until)| now_ms >= until) {
            self.notice = None;
        }
        if let RatingPhase::Open { until_ms, .. } | RatingPhase::Thanks { until_ms } = self.rating
            && now_ms >= until_ms
        {
            self.rating = RatingPhase::Idle;
        }
        let pending = self.pending.as_mut()?;
        if self.link != Link::Online {
            if now_ms.saturating_sub(pending.first_sent_ms) > RESEND_WINDOW_MS {
                self.pending = None;
                self.notify(Notice::NoReply { retrying: false }, now_ms);
            }
            return None;
        }
        if now_ms.saturating_sub(pending.last_sent_ms) < REPLY_TIMEOUT_MS {
            return None;
        }
        if pending.attempts >= MAX_ATTEMPTS {
            self.pending = None;
            self.notify(Notice::NoReply { retrying: false }, now_ms);
            return None;
        }
        pending.attempts += 1;
        pending.last_sent_ms = now_ms;
        let message = pending.message.clone();
        self.notify(Notice::NoReply { retrying: true }, now_ms);
        Some(message)
    }

    fn notify(&mut self, notice: Notice, now_ms: u64) {
        self.notice = Some((notice, now_ms + NOTICE_MS));
    }

    /// What the screen should show now.
    pub fn view(&self) -> View<'_> {
        let current = self.state.as_ref().and_then(|s| s.current.as_ref());
        View {
            mode: self.config.mode,
            rating: &self.rating,
            counter: self.config.counter,
            link: self.link,
            status: self.state.as_ref().map(|s| s.status),
            ticket: current.map(|c| c.ticket.as_str()),
            serving: current.is_some_and(|c| c.status == CurrentStatus::Serving),
            waiting: self.state.as_ref().map(|s| s.waiting),
            pending: self.pending.is_some(),
            notice: self.notice.map(|(n, _)| n),
        }
    }
}

/// Why the chip started, from its watchdog's reset-reason register: the watchdog timer ran out
/// (`timed_out`), the firmware asked for a restart (`forced`, as after new settings), or neither
/// (power on, the RUN pin, a debugger). A panic halts the main loop, so it shows as `watchdog`.
pub fn reset_reason(timed_out: bool, forced: bool) -> ResetReason {
    match (timed_out, forced) {
        (_, true) => ResetReason::Requested,
        (true, false) => ResetReason::Watchdog,
        (false, false) => ResetReason::PowerOn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: Config<'static> = Config { branch: "demo", counter: "3", device: "button-3", mode: Mode::Counter };
    const RATING: Config<'static> = Config { device: "rating-3", mode: Mode::Rating, ..CONFIG };

    fn state(current: Option<&str>) -> String {
        let current = current.map_or(String::new(), |t| {
            format!(r#","current":{{"ticket":"{t}","service":"A","status":"serving","since":"2026-11-23T09:00:00Z","recalls":0}}"#)
        });
        format!(r#"{{"counter":"3","status":"open"{current},"waiting":2,"updated_at":"2026-11-23T09:00:00Z"}}"#)
    }

    #[test]
    fn a_rating_terminal_asks_once_per_visit_and_thanks() {
        let mut d = Device::new(RATING, 9);
        d.connected(0);
        assert_eq!(d.press(Key::Score(5), Press::Short, 10), None, "nothing to rate yet");
        d.received("dawr/v1/demo/counters/3/state", state(Some("A017")).as_bytes(), 100);
        assert_eq!(d.view().rating, &RatingPhase::Idle, "the visit is still at the counter");
        d.received("dawr/v1/demo/counters/3/state", state(None).as_bytes(), 200);
        assert!(matches!(d.view().rating, RatingPhase::Open { ticket, .. } if ticket.as_str() == "A017"));
        let out = d.press(Key::Score(2), Press::Short, 300).expect("a rating");
        assert_eq!(out.topic.as_str(), "dawr/v1/demo/counters/3/rating");
        let rating = serde_json_core::from_slice::<Rating>(&out.payload).unwrap().0;
        assert_eq!((rating.id.as_str(), rating.score, rating.reason), ("9-1", 2, None));
        assert!(matches!(d.view().rating, RatingPhase::Thanks { .. }));
        reply(&mut d, r#"{"id":"9-1","ok":true}"#, 350);
        // A second press is ignored until the next visit ends.
        assert_eq!(d.press(Key::Score(5), Press::Short, 400), None);
        assert_eq!(d.tick(300 + THANKS_MS), None);
        assert_eq!(d.view().rating, &RatingPhase::Idle);
        assert_eq!(d.press(Key::Score(5), Press::Short, 400 + THANKS_MS), None);
        // The next visit: called, then gone.
        d.received("dawr/v1/demo/counters/3/state", state(Some("A018")).as_bytes(), 10_000);
        d.received("dawr/v1/demo/counters/3/state", state(Some("A019")).as_bytes(), 20_000);
        assert!(matches!(d.view().rating, RatingPhase::Open { ticket, .. } if ticket.as_str() == "A018"));
        // Unrated, the question goes away after the window.
        d.tick(20_000 + RATING_WINDOW_MS);
        assert_eq!(d.view().rating, &RatingPhase::Idle);
        // Counter keys do nothing on a rating terminal, and faces nothing on a counter.
        assert_eq!(d.press(Key::Next, Press::Short, 200_000), None);
        let mut counter = online(0);
        assert_eq!(counter.press(Key::Score(3), Press::Short, 10), None);
    }

    fn online(now: u64) -> Device<'static> {
        let mut d = Device::new(CONFIG, 7);
        assert_eq!(d.connected(now), None);
        d
    }

    fn command(out: &Outgoing) -> Command {
        assert_eq!(out.topic.as_str(), "dawr/v1/demo/counters/3/command");
        serde_json_core::from_slice::<Command>(&out.payload).unwrap().0
    }

    fn reply(d: &mut Device<'_>, json: &str, now: u64) {
        d.received("dawr/v1/demo/counters/3/reply", json.as_bytes(), now);
    }

    #[test]
    fn next_sends_a_command_and_the_reply_and_state_update_the_screen() {
        let mut d = online(0);
        let out = d.press(Key::Next, Press::Short, 10).expect("a command");
        let cmd = command(&out);
        assert_eq!((cmd.id.as_str(), cmd.action), ("7-1", Action::Next));
        assert_eq!(cmd.device.as_deref(), Some(CONFIG.device), "ids are scoped to the device that sends them");
        assert!(d.view().pending);
        reply(&mut d, r#"{"id":"7-1","ok":true,"ticket":"A017"}"#, 50);
        d.received(
            "dawr/v1/demo/counters/3/state",
            br#"{"counter":"3","status":"open","current":{"ticket":"A017","service":"A","status":"called","since":"2026-11-23T09:00:00Z","recalls":0},"waiting":4,"updated_at":"2026-11-23T09:00:00Z"}"#,
            55,
        );
        let v = d.view();
        assert_eq!((v.ticket, v.waiting, v.pending, v.notice), (Some("A017"), Some(4), false, None));
        assert_eq!(v.status, Some(CounterStatus::Open));
    }

    #[test]
    fn a_press_while_offline_is_refused_and_not_queued() {
        let mut d = Device::new(CONFIG, 7);
        assert_eq!(d.press(Key::Next, Press::Short, 0), None);
        assert_eq!(d.view().notice, Some(Notice::Offline));
        d.connected(100);
        assert_eq!(d.tick(200), None, "nothing was queued for later");
        assert!(!d.view().pending);
    }

    #[test]
    fn a_double_press_sends_one_command() {
        let mut d = online(0);
        assert!(d.press(Key::Next, Press::Short, 0).is_some());
        assert_eq!(d.press(Key::Next, Press::Short, 150), None);
        assert_eq!(d.view().notice, Some(Notice::Busy));
    }

    #[test]
    fn a_late_reply_means_the_same_id_again_then_an_error() {
        let mut d = online(0);
        let first = d.press(Key::Next, Press::Short, 0).unwrap();
        assert_eq!(d.tick(REPLY_TIMEOUT_MS - 1), None);
        let second = d.tick(REPLY_TIMEOUT_MS).expect("a retry");
        assert_eq!(second, first, "the retry is the same message, same id");
        assert_eq!(d.view().notice, Some(Notice::NoReply { retrying: true }));
        let third = d.tick(2 * REPLY_TIMEOUT_MS).expect("another retry");
        assert_eq!(command(&third).id, command(&first).id);
        assert_eq!(d.tick(3 * REPLY_TIMEOUT_MS), None);
        assert_eq!(d.view().notice, Some(Notice::NoReply { retrying: false }));
        assert!(!d.view().pending);
        // The next press is a new command with a new id.
        let next = d.press(Key::Next, Press::Short, 3 * REPLY_TIMEOUT_MS + 10).unwrap();
        assert_eq!(command(&next).id.as_str(), "7-2");
    }

    #[test]
    fn a_command_pending_across_a_disconnect_is_sent_again_with_its_id() {
        let mut d = online(0);
        let first = d.press(Key::Recall, Press::Short, 0).unwrap();
        d.disconnected(100);
        assert_eq!(d.view().link, Link::Offline);
        assert_eq!(d.tick(5_000), None, "nothing is sent while offline");
        let again = d.connected(6_000).expect("resent after reconnecting");
        assert_eq!(again, first);
        // Too long offline: dropped instead.
        let mut d = online(0);
        d.press(Key::Next, Press::Short, 0).unwrap();
        d.disconnected(100);
        assert_eq!(d.connected(RESEND_WINDOW_MS + 1), None);
        assert_eq!(d.view().notice, Some(Notice::NoReply { retrying: false }));
    }

    #[test]
    fn refusals_and_empty_queues_are_shown_and_other_replies_ignored() {
        let mut d = online(0);
        d.press(Key::Next, Press::Short, 0).unwrap();
        reply(&mut d, r#"{"id":"someone-else","ok":true,"ticket":"B001"}"#, 10);
        assert!(d.view().pending, "a reply to another id is not ours");
        reply(&mut d, r#"{"id":"7-1","device":"another-unit","ok":true,"ticket":"B002"}"#, 15);
        assert!(d.view().pending, "another device's reply with the same id is not ours");
        reply(&mut d, r#"{"id":"7-1","ok":true}"#, 20);
        assert_eq!(d.view().notice, Some(Notice::NobodyWaiting));
        d.press(Key::Next, Press::Long, 30).unwrap();
        reply(&mut d, r#"{"id":"7-2","ok":false,"error":"no_current_visitor","message":"nobody is at counter 3"}"#, 40);
        assert_eq!(d.view().notice, Some(Notice::Refused(ErrorCode::NoCurrentVisitor)));
        assert_eq!(d.tick(40 + NOTICE_MS), None);
        assert_eq!(d.view().notice, None, "notices expire");
        // Garbage never breaks the device.
        d.received("dawr/v1/demo/counters/3/state", b"\xff\x00{", 50);
        reply(&mut d, "{not json", 60);
        d.received("not/a/dawr/topic", b"{}", 70);
        assert_eq!(d.view().status, None);
    }

    #[test]
    fn a_lost_wifi_is_shown_until_the_broker_is_back_and_presses_are_refused_meanwhile() {
        let mut d = online(0);
        d.wifi_lost();
        d.disconnected(10);
        assert_eq!(d.view().link, Link::NoWifi, "a broker failure after the Wi-Fi went does not hide it");
        assert_eq!(d.press(Key::Next, Press::Short, 20), None);
        assert_eq!(d.view().notice, Some(Notice::Offline));
        d.wifi_joined();
        assert_eq!(d.view().link, Link::Connecting);
        d.disconnected(30);
        assert_eq!(d.view().link, Link::Offline, "joined, but the broker is unreachable");
        d.wifi_joined();
        assert_eq!(d.view().link, Link::Offline, "joining again does not claim anything about the broker");
        assert_eq!(d.connected(40), None);
        assert_eq!(d.view().link, Link::Online);
    }

    #[test]
    fn the_online_presence_says_why_the_device_started_and_the_last_will_does_not() {
        let mut d = Device::new(CONFIG, 7).with_reset_reason(reset_reason(true, false));
        let online = d.online_presence(0);
        assert_eq!(online.payload.as_slice(), br#"{"status":"online","reset":"watchdog","uptime_s":0}"#);
        assert_eq!(d.last_will().payload.as_slice(), br#"{"status":"offline"}"#);
        assert_eq!(reset_reason(false, false), ResetReason::PowerOn);
        assert_eq!(reset_reason(false, true), ResetReason::Requested);
        assert_eq!(reset_reason(true, true), ResetReason::Requested, "a forced reset sets both bits");
    }

    #[test]
    fn long_press_is_no_show_and_presence_is_retained() {
        let mut d = online(0);
        let out = d.press(Key::Next, Press::Long, 0).unwrap();
        assert_eq!(command(&out).action, Action::NoShow);
        assert_eq!(d.press(Key::Recall, Press::Long, 10), None);
        let p = d.last_will();
        assert_eq!(p.topic.as_str(), "dawr/v1/demo/devices/button-3/status");
        assert_eq!(p.payload.as_slice(), br#"{"status":"offline"}"#);
        assert!(p.retain);
        assert_eq!(d.online_presence(12_345).payload.as_slice(), br#"{"status":"online","uptime_s":12}"#);
        assert_eq!(d.subscriptions()[1].as_str(), "dawr/v1/demo/counters/3/state");
    }

    #[test]
    fn the_online_presence_carries_version_uptime_and_signal_and_is_repeated_every_minute() {
        let mut d = Device::new(CONFIG, 7).with_reset_reason(ResetReason::PowerOn).with_firmware("0.4.1");
        d.set_rssi(Some(-61));
        assert_eq!(d.presence_due(0), None, "nothing before the first connect");
        assert_eq!(d.connected(1_000), None);
        let first = d.online_presence(1_000);
        let p = serde_json_core::from_slice::<Presence>(&first.payload).unwrap().0;
        assert_eq!(
            (p.status, p.reset, p.firmware.as_deref(), p.uptime_s, p.rssi),
            (PresenceStatus::Online, Some(ResetReason::PowerOn), Some("0.4.1"), Some(1), Some(-61))
        );
        let refresh_ms = u64::from(PRESENCE_REFRESH_S) * 1000;
        assert_eq!(d.presence_due(refresh_ms), None, "not yet");
        d.set_rssi(Some(-75));
        let again = d.presence_due(1_000 + refresh_ms).expect("repeated after a minute");
        let p = serde_json_core::from_slice::<Presence>(&again.payload).unwrap().0;
        assert_eq!((p.uptime_s, p.rssi), (Some(61), Some(-75)), "uptime and signal current");
        assert!(again.retain);
        assert_eq!(d.presence_due(2_000 + refresh_ms), None, "once per minute");
        d.set_rssi(Some(7));
        d.disconnected(3_000 + refresh_ms);
        assert_eq!(d.presence_due(10 * refresh_ms), None, "not while disconnected");
        assert_eq!(d.connected(10 * refresh_ms), None);
        let p = serde_json_core::from_slice::<Presence>(&d.online_presence(10 * refresh_ms).payload).unwrap().0;
        assert_eq!(p.rssi, None, "a positive dBm is no measurement");
    }
}
