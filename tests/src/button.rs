//! The counter button on the host: `dawr-firmware-logic`'s [`Device`] driven by rumqttc.
//!
//! Used by the `dawr-button-sim` binary (keyboard or script) and the end-to-end tests. The
//! simulator can lose the reply to its next command, to play a reply lost on Wi-Fi.
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dawr_firmware_logic::{Config, Device, Key, Mode, Notice, Press, RatingPhase, screen};
use dawr_protocol::device::{Command, Rating, Reply, ResetReason};
use dawr_protocol::endpoint::{EndpointError, MqttEndpoint, describe};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

/// What the simulated button is told to do.
#[derive(Debug)]
pub enum Input {
    Press(Key, Press),
    /// Lose the (first) reply to the next command the button sends, as if Wi-Fi lost it.
    DropNextReply,
    /// How many messages the button has sent so far on topics ending with this (`/command`,
    /// `/rating`), once every earlier input has been handled.
    Sent(&'static str, oneshot::Sender<usize>),
}

/// What the button's screen shows, as owned text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Screen {
    pub online: bool,
    /// Rating mode: the visit being asked about, or "THANK YOU".
    pub rating: Option<String>,
    pub ticket: Option<String>,
    pub waiting: Option<u32>,
    pub pending: bool,
    pub notice: Option<String>,
}

impl std::fmt::Display for Screen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "[{}] {}ticket {} | waiting {} | {}",
            if self.online { "online" } else { "offline" },
            self.rating.as_deref().map_or(String::new(), |r| format!("{r} | ")),
            self.ticket.as_deref().unwrap_or("----"),
            self.waiting.map_or("?".to_string(), |w| w.to_string()),
            self.notice.as_deref().unwrap_or(if self.pending { "SENDING..." } else { "" })
        )
    }
}

/// The firmware version the simulated button reports in its presence.
pub const SIM_FIRMWARE_VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Wi-Fi signal the simulated button reports, in dBm.
pub const SIM_RSSI_DBM: i32 = -58;

/// A running simulated button.
pub struct SimButton {
    input: mpsc::UnboundedSender<Input>,
    pub screen: watch::Receiver<Screen>,
    /// How many replies it has lost on purpose.
    dropped: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl SimButton {
    /// Connects a button for `counter` of `branch` to `broker` (address, login, TLS); `boot`
    /// plays the boot counter (use a new value for every simulated reboot). Its device id, client
    /// id and default username are [`SimButton::device_id`].
    pub fn start(
        broker: &MqttEndpoint,
        branch: &str,
        counter: &str,
        mode: Mode,
        boot: u32,
    ) -> Result<SimButton, EndpointError> {
        let device_id = Self::device_id(mode, counter);
        let options = broker.options(device_id.clone())?;
        let (input, inputs) = mpsc::unbounded_channel();
        let (screen_tx, screen) = watch::channel(Screen::default());
        let (branch, counter) = (branch.to_string(), counter.to_string());
        let dropped = Arc::new(AtomicUsize::new(0));
        let task = {
            let dropped = dropped.clone();
            tokio::spawn(async move {
                let config = Config { branch: &branch, counter: &counter, device: &device_id, mode };
                let link = Link { options, dropped };
                let device = Device::new(config, boot)
                    .with_reset_reason(ResetReason::PowerOn)
                    .with_firmware(SIM_FIRMWARE_VERSION);
                run(device, link, inputs, screen_tx).await;
            })
        };
        Ok(SimButton { input, screen, dropped, task })
    }

    /// The device id of the button (`button-{counter}`) or rating terminal (`rating-{counter}`)
    /// of a counter, as the demo enrols them.
    pub fn device_id(mode: Mode, counter: &str) -> String {
        let kind = if mode == Mode::Rating { "rating" } else { "button" };
        format!("{kind}-{counter}")
    }

    pub fn press(&self, key: Key, press: Press) {
        let _ = self.input.send(Input::Press(key, press));
    }

    /// Loses the reply to the next command (a retry of that command gets its reply).
    pub fn drop_next_reply(&self) {
        let _ = self.input.send(Input::DropNextReply);
    }

    /// How many replies it has lost so far.
    pub fn replies_dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// How many messages it has sent on topics ending with `suffix`, after every earlier press.
    pub async fn sent(&self, suffix: &'static str) -> usize {
        let (tx, rx) = oneshot::channel();
        let _ = self.input.send(Input::Sent(suffix, tx));
        rx.await.unwrap_or(0)
    }

    /// Waits until the screen satisfies `pred`, for at most `within`.
    pub async fn wait_for(&mut self, within: Duration, pred: impl Fn(&Screen) -> bool) -> Option<Screen> {
        let result = tokio::time::timeout(within, self.screen.wait_for(|s| pred(s))).await;
        result.ok()?.ok().map(|s| s.clone())
    }
}

impl Drop for SimButton {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn snapshot(device: &Device<'_>) -> Screen {
    let v = device.view();
    Screen {
        online: v.link == dawr_firmware_logic::Link::Online,
        rating: match v.rating {
            RatingPhase::Idle => None,
            RatingPhase::Open { ticket, .. } => Some(format!("RATE {ticket}")),
            RatingPhase::Thanks { .. } => Some("THANK YOU".to_string()),
        },
        ticket: v.ticket.map(str::to_owned),
        waiting: v.waiting,
        pending: v.pending,
        notice: v.notice.map(|n: Notice| screen::notice_text(n).to_string()),
    }
}

/// How the simulated button connects, and its count of replies lost on purpose.
struct Link {
    options: MqttOptions,
    dropped: Arc<AtomicUsize>,
}

/// What the button sends, and which reply it is to lose.
struct Outbox {
    client: AsyncClient,
    /// The topic of every message sent so far.
    sent: Vec<String>,
    /// Armed by [`Input::DropNextReply`]: the next command's reply is to be lost.
    drop_next: bool,
    /// The id of the command whose first reply is to be lost.
    drop_reply_to: Option<String>,
}

impl Outbox {
    async fn publish(&mut self, message: dawr_firmware_logic::Outgoing) {
        let topic = message.topic.as_str().to_string();
        if self.drop_next && (topic.ends_with("/command") || topic.ends_with("/rating")) {
            self.drop_next = false;
            self.drop_reply_to = sent_id(&topic, &message.payload);
        }
        let _ = self.client.publish(topic.as_str(), QoS::AtLeastOnce, message.retain, message.payload.to_vec()).await;
        self.sent.push(topic);
    }
}

/// The id of the command or rating the button sent on `topic` (`…/command` or `…/rating`).
fn sent_id(topic: &str, payload: &[u8]) -> Option<String> {
    let id = if topic.ends_with("/rating") {
        serde_json::from_slice::<Rating>(payload).ok()?.id
    } else {
        serde_json::from_slice::<Command>(payload).ok()?.id
    };
    Some(id.as_str().to_owned())
}

/// The id of the command or rating a reply answers.
fn reply_id(payload: &[u8]) -> Option<String> {
    Some(serde_json::from_slice::<Reply>(payload).ok()?.id.as_str().to_owned())
}

async fn run(
    mut device: Device<'_>,
    link: Link,
    mut inputs: mpsc::UnboundedReceiver<Input>,
    screen: watch::Sender<Screen>,
) {
    let mut options = link.options;
    options.set_keep_alive(Duration::from_secs(5));
    let will = device.last_will();
    device.set_rssi(Some(SIM_RSSI_DBM));
    options.set_last_will(LastWill::new(will.topic.as_str(), will.payload.to_vec(), QoS::AtLeastOnce, true));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let started = Instant::now();
    let now = || started.elapsed().as_millis() as u64;
    let mut out = Outbox { client: client.clone(), sent: Vec::new(), drop_next: false, drop_reply_to: None };
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut subacks = 0;
    let mut failures = 0u32;
    loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    failures = 0;
                    subacks = 0;
                    for topic in device.subscriptions() {
                        let _ = client.subscribe(topic.as_str(), QoS::AtLeastOnce).await;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    subacks += 1;
                    if subacks == device.subscriptions().len() {
                        let presence = device.online_presence(now());
                        out.publish(presence).await;
                        if let Some(message) = device.connected(now()) {
                            out.publish(message).await;
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let lost = p.topic.ends_with("/reply")
                        && out.drop_reply_to.is_some()
                        && reply_id(&p.payload) == out.drop_reply_to;
                    if lost {
                        out.drop_reply_to = None;
                        link.dropped.fetch_add(1, Ordering::SeqCst);
                    } else {
                        device.received(&p.topic, &p.payload, now());
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    failures += 1;
                    if failures == 1 || failures.is_power_of_two() {
                        eprintln!("MQTT connection failed; retrying: {}", describe(&e));
                    }
                    device.disconnected(now());
                    let _ = screen.send(snapshot(&device));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            _ = ticker.tick() => {
                if let Some(message) = device.tick(now()) {
                    out.publish(message).await;
                }
                if let Some(presence) = device.presence_due(now()) {
                    out.publish(presence).await;
                }
            }
            input = inputs.recv() => match input {
                Some(Input::Press(key, press)) => {
                    if let Some(message) = device.press(key, press, now()) {
                        out.publish(message).await;
                    }
                }
                Some(Input::DropNextReply) => out.drop_next = true,
                Some(Input::Sent(suffix, answer)) => {
                    let _ = answer.send(out.sent.iter().filter(|t| t.ends_with(suffix)).count());
                }
                None => break,
            },
        }
        screen.send_if_modified(|s| {
            let new = snapshot(&device);
            let changed = *s != new;
            *s = new;
            changed
        });
    }
}
