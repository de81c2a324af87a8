//! The counter button on the host: `dawr-firmware-logic`'s [`Device`] driven by rumqttc.
//!
//! Used by the `dawr-button-sim` binary (keyboard or script) and the end-to-end tests. The
//! simulator can drop the next reply it receives, to play a reply lost on Wi-Fi.
use std::time::{Duration, Instant};

use dawr_firmware_logic::{Config, Device, Key, Mode, Notice, Press, RatingPhase, screen};
use dawr_protocol::device::PresenceStatus;
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// What the simulated button is told to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Input {
    Press(Key, Press),
    /// Ignore the next message on the reply topic if it comes within a second, as if Wi-Fi
    /// lost it.
    DropNextReply,
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

/// A running simulated button.
pub struct SimButton {
    input: mpsc::UnboundedSender<Input>,
    pub screen: watch::Receiver<Screen>,
    task: JoinHandle<()>,
}

impl SimButton {
    /// Connects a button for `counter` of `branch` to the broker on `port`; `boot` plays the
    /// boot counter (use a new value for every simulated reboot).
    pub fn start(host: &str, port: u16, branch: &str, counter: &str, mode: Mode, boot: u32) -> SimButton {
        let (input, inputs) = mpsc::unbounded_channel();
        let (screen_tx, screen) = watch::channel(Screen::default());
        let (host, branch, counter) = (host.to_string(), branch.to_string(), counter.to_string());
        let task = tokio::spawn(async move {
            let kind = if mode == Mode::Rating { "rating" } else { "button" };
            let device_id = format!("{kind}-{counter}");
            let config = Config { branch: &branch, counter: &counter, device: &device_id, mode };
            run(Device::new(config, boot), &host, port, &device_id, inputs, screen_tx).await;
        });
        SimButton { input, screen, task }
    }

    pub fn press(&self, key: Key, press: Press) {
        let _ = self.input.send(Input::Press(key, press));
    }

    pub fn drop_next_reply(&self) {
        let _ = self.input.send(Input::DropNextReply);
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

async fn run(
    mut device: Device<'_>,
    host: &str,
    port: u16,
    device_id: &str,
    mut inputs: mpsc::UnboundedReceiver<Input>,
    screen: watch::Sender<Screen>,
) {
    let mut options = MqttOptions::new(device_id, host, port);
    options.set_keep_alive(Duration::from_secs(5));
    let will = device.presence(PresenceStatus::Offline);
    options.set_last_will(LastWill::new(will.topic.as_str(), will.payload.to_vec(), QoS::AtLeastOnce, true));
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let started = Instant::now();
    let now = || started.elapsed().as_millis() as u64;
    let publish = |out: dawr_firmware_logic::Outgoing| {
        let client = client.clone();
        async move {
            let _ = client.publish(out.topic.as_str(), QoS::AtLeastOnce, out.retain, out.payload.to_vec()).await;
        }
    };
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    let mut drop_reply_until: Option<Instant> = None;
    let mut subacks = 0;
    loop {
        tokio::select! {
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    subacks = 0;
                    for topic in device.subscriptions() {
                        let _ = client.subscribe(topic.as_str(), QoS::AtLeastOnce).await;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) => {
                    subacks += 1;
                    if subacks == device.subscriptions().len() {
                        publish(device.presence(PresenceStatus::Online)).await;
                        if let Some(out) = device.connected(now()) {
                            publish(out).await;
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let dropping = drop_reply_until.is_some_and(|until| Instant::now() < until);
                    if dropping && p.topic.ends_with("/reply") {
                        drop_reply_until = None;
                    } else {
                        device.received(&p.topic, &p.payload, now());
                    }
                }
                Ok(_) => {}
                Err(_) => {
                    device.disconnected(now());
                    let _ = screen.send(snapshot(&device));
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            },
            _ = ticker.tick() => {
                if let Some(out) = device.tick(now()) {
                    publish(out).await;
                }
            }
            input = inputs.recv() => match input {
                Some(Input::Press(key, press)) => {
                    if let Some(out) = device.press(key, press, now()) {
                        publish(out).await;
                    }
                }
                Some(Input::DropNextReply) => drop_reply_until = Some(Instant::now() + Duration::from_secs(1)),
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
