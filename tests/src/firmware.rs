//! The firmware's MQTT session (`dawr_firmware_logic::mqtt`) and device logic on a host TCP
//! socket: what runs on the Pico W, minus Wi-Fi.
//!
//! [`Wire`] is the socket plus the session, one packet at a time (the firmware tests drive it
//! step by step); [`FirmwareButton`] runs the firmware's main loop in a task — connect, subscribe,
//! presence, presses, replies, resends on its clock — for the conformance kit to press.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dawr_firmware_logic::mqtt::{Incoming, Login, Session};
use dawr_firmware_logic::{Config, Device, Key, Mode, Press};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// A socket plus the bytes received but not yet read as packets.
pub struct Wire {
    stream: TcpStream,
    buffer: Vec<u8>,
    pub session: Session,
    started: Instant,
}

/// What one packet brought: the event, with a message's topic and payload copied out.
#[derive(Debug, Clone, PartialEq)]
pub enum Got {
    Connected,
    Subscribed,
    Acknowledged,
    Message(String, Vec<u8>),
}

impl Wire {
    pub async fn connect(port: u16) -> Result<Wire> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        Ok(Wire { stream, buffer: Vec::new(), session: Session::new(10), started: Instant::now() })
    }

    /// Milliseconds since the socket opened: the firmware's clock.
    pub fn now(&self) -> u64 {
        self.started.elapsed().as_millis() as u64
    }

    pub async fn send(&mut self, bytes: &[u8]) -> Result<()> {
        self.stream.write_all(bytes).await?;
        Ok(())
    }

    /// The next packet that means something, within `within`.
    pub async fn next(&mut self, within: Duration) -> Result<Got> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let mut reply = [0u8; 64];
            let now = self.now();
            let received = self.session.receive(&self.buffer, now, &mut reply).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            if received.consumed > 0 {
                let got = match received.incoming {
                    Incoming::Connected => Some(Got::Connected),
                    Incoming::Subscribed => Some(Got::Subscribed),
                    Incoming::Acknowledged => Some(Got::Acknowledged),
                    Incoming::Message { topic, payload } => Some(Got::Message(topic.to_string(), payload.to_vec())),
                    Incoming::Nothing => None,
                };
                let reply_len = received.reply;
                self.buffer.drain(..received.consumed);
                if reply_len > 0 {
                    self.send(&reply[..reply_len]).await?;
                }
                if let Some(got) = got {
                    return Ok(got);
                }
                continue;
            }
            let mut chunk = [0u8; 2048];
            let n = tokio::time::timeout_at(deadline, self.stream.read(&mut chunk))
                .await
                .context("no packet in time")??;
            if n == 0 {
                bail!("the broker closed the connection");
            }
            self.buffer.extend_from_slice(&chunk[..n]);
        }
    }

    /// Publishes one of the device's messages (QoS 1).
    pub async fn publish(&mut self, message: &dawr_firmware_logic::Outgoing) -> Result<()> {
        let mut out = [0u8; 1024];
        let now = self.now();
        let n = self
            .session
            .publish(&message.topic, &message.payload, message.retain, now, &mut out)
            .map_err(|e| anyhow::anyhow!("{e:?}"))?;
        self.send(&out[..n]).await
    }
}

/// The firmware's device id, counter and account, as `device.toml` gives them.
#[derive(Debug, Clone)]
pub struct FirmwareConfig {
    pub port: u16,
    pub branch: String,
    pub counter: String,
    pub device: String,
    pub password: String,
}

/// The firmware's loop in a task: presses go in through [`FirmwareButton::press`].
pub struct FirmwareButton {
    presses: mpsc::UnboundedSender<(Key, Press)>,
    task: JoinHandle<Result<()>>,
}

impl FirmwareButton {
    /// Connects, subscribes, says `online`, and runs until dropped (a broken connection ends it:
    /// the kit's scenarios keep the broker up).
    pub fn start(config: FirmwareConfig) -> FirmwareButton {
        let (presses, inputs) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(config, inputs));
        FirmwareButton { presses, task }
    }

    pub fn press(&self, key: Key, press: Press) -> Result<()> {
        if self.task.is_finished() {
            bail!("the firmware's loop has stopped");
        }
        self.presses.send((key, press)).context("the firmware's loop has stopped")
    }
}

impl Drop for FirmwareButton {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(config: FirmwareConfig, mut presses: mpsc::UnboundedReceiver<(Key, Press)>) -> Result<()> {
    let FirmwareConfig { port, branch, counter, device: id, password } = config;
    let mut device = Device::new(Config { branch: &branch, counter: &counter, device: &id, mode: Mode::Counter }, 0xf1);
    let mut wire = Wire::connect(port).await?;
    let mut out = [0u8; 1024];
    let will = device.last_will();
    let login = Login::new(&id, &id, &password);
    let n = wire.session.connect(login, (will.topic.as_str(), &will.payload), wire.now(), &mut out).unwrap_or(0);
    wire.send(&out[..n]).await?;
    if wire.next(Duration::from_secs(10)).await? != Got::Connected {
        bail!("no CONNACK");
    }
    let topics = device.subscriptions();
    let n = wire.session.subscribe(&[topics[0].as_str(), topics[1].as_str()], wire.now(), &mut out).unwrap_or(0);
    wire.send(&out[..n]).await?;
    let presence = device.online_presence(wire.now());
    wire.publish(&presence).await?;
    let now = wire.now();
    if let Some(again) = device.connected(now) {
        wire.publish(&again).await?;
    }
    loop {
        // The firmware's main loop: a packet (or 50 ms without one), the presses meanwhile, a tick.
        match wire.next(Duration::from_millis(50)).await {
            Ok(Got::Message(topic, payload)) => {
                let now = wire.now();
                device.received(&topic, &payload, now);
            }
            Ok(_) => {}
            Err(e) if e.to_string().contains("no packet in time") => {}
            Err(e) => return Err(e),
        }
        while let Ok((key, press)) = presses.try_recv() {
            let now = wire.now();
            if let Some(command) = device.press(key, press, now) {
                wire.publish(&command).await?;
            }
        }
        let now = wire.now();
        if let Some(again) = device.tick(now) {
            wire.publish(&again).await?;
        }
        if let Some(presence) = device.presence_due(now) {
            wire.publish(&presence).await?;
        }
        let n = wire.session.poll(now, &mut out).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        if n > 0 {
            wire.send(&out[..n]).await?;
        }
    }
}
