//! A counter button's firmware update on the host: `dawr-firmware-logic`'s [`Updater`] with an
//! in-memory staging slot, over real MQTT to a real hub (`dawr-button-sim --update`, and the
//! end-to-end tests). It reads and writes the update topics through `update_link`, as the
//! firmware does.
//!
//! The simulated button announces the version it runs in its presence, takes the offer retained
//! on its `…/update/offer`, asks for the image in chunks, verifies it with the release key given
//! to it (the key "built into" the firmware), and on [`Action::Swap`] "reboots": it reconnects as
//! the new version on trial, and confirms once it reaches the broker. With
//! [`UpdatePlan::new_version_cannot_connect`] the new version logs in with a wrong password, so
//! the trial runs out, the "bootloader" puts the old version back, and the button reports the
//! rollback. [`UpdatePlan::reboot_after_chunks`] restarts it mid-download, once: it resumes from
//! the offset its flash record kept.
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use dawr_firmware_logic::Outgoing;
use dawr_firmware_logic::update::{Action, Boot, Record, Staging, State, Updater};
use dawr_firmware_logic::update_link::{UpdateLink, UpdateMessage, report_is_news};
use dawr_protocol::device::{ChunkError, Presence, PresenceStatus, UpdateReport};
use dawr_protocol::endpoint::MqttEndpoint;
use dawr_protocol::topics::Topic;
use rumqttc::{AsyncClient, Event, LastWill, Packet, QoS};

/// The simulated update slot's size.
pub const SLOT_BYTES: usize = 1024 * 1024;

/// The staging slot in memory.
pub struct MemorySlot(Vec<u8>);

impl Staging for MemorySlot {
    type Error = ();
    fn capacity(&self) -> u32 {
        self.0.len() as u32
    }
    fn erase(&mut self) -> Result<(), ()> {
        self.0.fill(0xff);
        Ok(())
    }
    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), ()> {
        let slot = self.0.get_mut(offset as usize..offset as usize + data.len()).ok_or(())?;
        slot.copy_from_slice(data);
        Ok(())
    }
    fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), ()> {
        buf.copy_from_slice(self.0.get(offset as usize..offset as usize + buf.len()).ok_or(())?);
        Ok(())
    }
}

/// What the simulated button is and does.
#[derive(Debug, Clone)]
pub struct UpdatePlan {
    /// The broker, with the button's own login.
    pub broker: MqttEndpoint,
    pub branch: String,
    pub device: String,
    /// The version it runs at first.
    pub running: String,
    /// The release public key built into it.
    pub release_key: [u8; 32],
    /// How long a new version has to reach the broker (the firmware's is five minutes).
    pub trial_ms: u64,
    /// The new version logs in with a wrong password (so it never reaches the broker).
    pub new_version_cannot_connect: bool,
    /// Restart after this many chunks, once, mid-download.
    pub reboot_after_chunks: Option<u32>,
    /// Give up after this long.
    pub deadline: Duration,
}

/// How an update run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateOutcome {
    /// The last state: confirmed, rolled back or refused.
    pub state: State,
    /// The version running at the end.
    pub running: String,
    /// Every state reported, in order.
    pub reports: Vec<UpdateReport>,
    /// After the restart mid-download: the offset the first request asked for.
    pub resumed_from: Option<u32>,
    /// How many chunks arrived.
    pub chunks: u32,
}

/// What ends one boot.
enum Restart {
    /// Swapped in the staged image: boot it on trial.
    Swap(String),
    /// The trial ran out: the old image is back.
    Rollback,
    /// Restarted mid-download (the plan's interruption).
    Interrupted,
    /// Nothing more to do.
    Done,
}

/// One boot's MQTT session and what it has seen.
struct Session<'p> {
    plan: &'p UpdatePlan,
    client: AsyncClient,
    reports: &'p mut Vec<UpdateReport>,
    record: &'p mut Option<Record>,
    chunks: &'p mut u32,
    resumed_from: &'p mut Option<u32>,
    interrupted: &'p mut bool,
}

/// Runs the update flow until the button has confirmed a new version, rolled back or refused.
pub async fn run(plan: UpdatePlan) -> Result<UpdateOutcome> {
    let started = Instant::now();
    let now = || started.elapsed().as_millis() as u64;
    let confirmed_version = plan.running.clone();
    let mut running = plan.running.clone();
    let mut boot = Boot::Normal;
    let mut slot = MemorySlot(vec![0xff; SLOT_BYTES]);
    let (mut record, mut reports, mut chunks, mut resumed_from, mut interrupted) = (None, Vec::new(), 0, None, false);
    loop {
        if started.elapsed() > plan.deadline {
            bail!("no outcome within {:?}; reports: {reports:?}", plan.deadline);
        }
        let running_now = running.clone();
        let (updater, first) =
            Updater::start(&plan.release_key, &running_now, boot, record.clone(), now()).context("the release key")?;
        let mut updater = updater.with_trial_ms(plan.trial_ms);
        if let Action::Keep(kept) = first {
            record = kept;
        }
        let wrong_password = boot == Boot::Trial && plan.new_version_cannot_connect;
        let (client, eventloop) = connect(&plan, wrong_password)?;
        let mut session = Session {
            plan: &plan,
            client,
            reports: &mut reports,
            record: &mut record,
            chunks: &mut chunks,
            resumed_from: &mut resumed_from,
            interrupted: &mut interrupted,
        };
        let restart = session.boot(&mut updater, &mut slot, eventloop, &now, started, &running_now).await?;
        let _ = session.client.disconnect().await;
        match restart {
            Restart::Swap(version) => {
                println!("swapped: rebooting into {version} on trial");
                running = version;
                boot = Boot::Trial;
            }
            Restart::Rollback => {
                println!("trial over without reaching the broker: rolling back to {confirmed_version}");
                running = confirmed_version.clone();
                boot = Boot::Normal;
            }
            Restart::Interrupted => {
                println!("restarting mid-download");
                boot = Boot::Normal;
            }
            Restart::Done => {
                return Ok(UpdateOutcome { state: updater.state().clone(), running, reports, resumed_from, chunks });
            }
        }
    }
}

fn connect(plan: &UpdatePlan, wrong_password: bool) -> Result<(AsyncClient, rumqttc::EventLoop)> {
    let mut options = plan.broker.options(plan.device.clone())?;
    if wrong_password {
        options.set_credentials(plan.device.clone(), "not-the-password");
    }
    options.set_keep_alive(Duration::from_secs(5));
    let status = Topic::DeviceStatus { branch: &plan.branch, device: &plan.device }.to_string();
    let offline = serde_json::to_vec(&Presence::new(PresenceStatus::Offline))?;
    options.set_last_will(LastWill::new(status, offline, QoS::AtLeastOnce, true));
    Ok(AsyncClient::new(options, 64))
}

impl Session<'_> {
    async fn boot(
        &mut self,
        updater: &mut Updater<'_>,
        slot: &mut MemorySlot,
        mut eventloop: rumqttc::EventLoop,
        now: &impl Fn() -> u64,
        started: Instant,
        running: &str,
    ) -> Result<Restart> {
        let (branch, device) = (self.plan.branch.as_str(), self.plan.device.as_str());
        let link = UpdateLink::new(branch, device);
        let [offer_topic, chunk_topic] = link.subscriptions();
        let mut ticker = tokio::time::interval(Duration::from_millis(100));
        let mut done_at: Option<Instant> = None;
        loop {
            if started.elapsed() > self.plan.deadline {
                bail!("no outcome within {:?}; state {:?}", self.plan.deadline, updater.state());
            }
            if done_at.is_some_and(|at| at.elapsed() > Duration::from_millis(300)) {
                return Ok(Restart::Done);
            }
            tokio::select! {
                event = eventloop.poll() => match event {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let status = Topic::DeviceStatus { branch, device }.to_string();
                        let presence = Presence {
                            firmware: running.try_into().ok(),
                            ..Presence::new(PresenceStatus::Online)
                        };
                        self.client.publish(status, QoS::AtLeastOnce, true, serde_json::to_vec(&presence)?).await?;
                        if updater.connected() == Action::Confirm {
                            println!("reached the broker on trial: {running} confirmed");
                        }
                        self.report(updater.state(), true).await?;
                        self.client.subscribe(offer_topic.as_str(), QoS::AtLeastOnce).await?;
                        self.client.subscribe(chunk_topic.as_str(), QoS::AtMostOnce).await?;
                        let action = updater.next_request(now());
                        self.act(action).await?;
                    }
                    Ok(Event::Incoming(Packet::PubAck(_))) if self.finished(updater.state()) && done_at.is_none() => {
                        done_at = Some(Instant::now());
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => match link.read(&p.topic, &p.payload) {
                        Some(UpdateMessage::Offered(offer)) => {
                            println!("offered {} ({} bytes)", offer.version, offer.size);
                            let action = updater.offered(offer, slot, now());
                            self.act(action).await?;
                            let action = updater.next_request(now());
                            self.act(action).await?;
                            self.report(updater.state(), false).await?;
                        }
                        Some(message) => {
                            if let Some(restart) = self.chunk(updater, slot, message, now).await? {
                                return Ok(restart);
                            }
                        }
                        None => {}
                    },
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
                },
                _ = ticker.tick() => match updater.tick(now()) {
                    Action::Rollback => return Ok(Restart::Rollback),
                    action => self.act(action).await?,
                },
            }
        }
    }

    /// Whether the run has reached its end (the report of it may still be on its way).
    fn finished(&self, state: &State) -> bool {
        matches!(state, State::Confirmed { .. } | State::RolledBack { .. } | State::Refused { .. })
    }

    /// A chunk (or the hub's refusal, or an unreadable message) arrived on the update topics.
    async fn chunk(
        &mut self,
        updater: &mut Updater<'_>,
        slot: &mut MemorySlot,
        message: UpdateMessage,
        now: &impl Fn() -> u64,
    ) -> Result<Option<Restart>> {
        let (version, offset, data) = match message {
            UpdateMessage::Chunk { version, offset, data } => (version, offset, data),
            UpdateMessage::Refused { offset, error } => {
                println!("chunk at {offset} refused: {error:?}");
                if error == Some(ChunkError::Busy) {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    let action = updater.next_request(now());
                    self.act(action).await?;
                }
                return Ok(None);
            }
            UpdateMessage::Unreadable => bail!("an unreadable message on the update topics"),
            UpdateMessage::Offered(_) | UpdateMessage::Withdrawn => return Ok(None),
        };
        match updater.chunk(&version, offset, &data, slot) {
            Action::Keep(Some(record @ Record::Downloading { .. })) => {
                *self.chunks += 1;
                *self.record = Some(record);
                self.report(updater.state(), false).await?;
                if self.plan.reboot_after_chunks == Some(*self.chunks) && !*self.interrupted {
                    *self.interrupted = true;
                    return Ok(Some(Restart::Interrupted));
                }
                let action = updater.next_request(now());
                self.act(action).await?;
            }
            Action::Keep(Some(record @ Record::Swapped { .. })) => {
                *self.chunks += 1;
                let Record::Swapped { version } = &record else { unreachable!() };
                let version = version.to_string();
                *self.record = Some(record);
                self.report(updater.state(), true).await?;
                if updater.swap_now() == Action::Swap {
                    return Ok(Some(Restart::Swap(version)));
                }
            }
            Action::Keep(None) => {
                *self.record = None;
                println!("image refused: {:?}", updater.state());
                self.report(updater.state(), true).await?;
            }
            _ => {}
        }
        Ok(None)
    }

    async fn act(&mut self, action: Action) -> Result<()> {
        match action {
            Action::Request { offset, len } => {
                let Some(Record::Downloading { offer, .. }) = self.record.as_ref() else { return Ok(()) };
                if *self.interrupted && self.resumed_from.is_none() {
                    *self.resumed_from = Some(offset);
                }
                let link = UpdateLink::new(&self.plan.branch, &self.plan.device);
                let request = link.request(&offer.version, offset, len).context("the chunk request")?;
                self.send(request, QoS::AtMostOnce).await?;
            }
            Action::Keep(kept) => *self.record = kept,
            Action::None | Action::Confirm | Action::Swap | Action::Rollback => {}
        }
        Ok(())
    }

    /// Reports `state` on `…/update/state` (retained), when it changed stage or by a tenth more
    /// (the firmware's rule), or `always`.
    async fn report(&mut self, state: &State, always: bool) -> Result<()> {
        let report = state.report();
        if !always && !report_is_news(self.reports.last(), &report) {
            return Ok(());
        }
        let link = UpdateLink::new(&self.plan.branch, &self.plan.device);
        self.send(link.report(&report).context("the state report")?, QoS::AtLeastOnce).await?;
        println!("update state: {}", serde_json::to_string(&report)?);
        self.reports.push(report);
        Ok(())
    }

    async fn send(&self, message: Outgoing, qos: QoS) -> Result<()> {
        let topic = message.topic.as_str().to_owned();
        self.client.publish(topic, qos, message.retain, message.payload.to_vec()).await?;
        Ok(())
    }
}
