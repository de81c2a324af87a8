//! The board's MQTT link: subscribes to the branch's retained `…/board` and its `…/calls`,
//! keeps a [`BoardState`] up to date, hands each call that is news to whoever speaks calls
//! ([`crate::speaker`]), and announces its own presence
//! (`…/devices/{id}/status`, `offline` as last will). A board that starts or reconnects gets the
//! retained board at once; while the broker is away the view says offline and the link retries.
//! Malformed messages are logged and ignored.
use std::time::Duration;

use chrono::Utc;
use dawr_protocol::api::{Board, Call};
use dawr_protocol::device::{Presence, PresenceStatus};
use dawr_protocol::endpoint::{EndpointError, MqttEndpoint, describe};
use dawr_protocol::topics::Topic;
use rumqttc::{AsyncClient, Event, LastWill, Packet, QoS};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::board::{BoardFilter, BoardState, BoardView};

/// Where the board connects and what it shows.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// The branch's MQTT broker and the board's login.
    pub mqtt: MqttEndpoint,
    pub branch: String,
    /// Its device id, e.g. `board-hall`.
    pub device: String,
    pub filter: BoardFilter,
    /// How long a new call stays highlighted.
    pub highlight: chrono::Duration,
    /// How many calls before the current one the view keeps.
    pub history: usize,
}

/// A running link.
pub struct BoardLink {
    /// The latest frame content.
    pub view: watch::Receiver<BoardView>,
    /// Calls that are news for this board, in arrival order (not those of the retained state a
    /// board starts with).
    pub new_calls: mpsc::UnboundedReceiver<Call>,
    task: JoinHandle<()>,
}

impl Drop for BoardLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn presence(status: PresenceStatus) -> Vec<u8> {
    serde_json::to_vec(&Presence::new(status)).expect("serialise")
}

impl BoardLink {
    /// Starts the link (inside a tokio runtime); fails only when the MQTT settings cannot be
    /// used (an unreadable CA certificate).
    pub fn start(config: LinkConfig) -> Result<BoardLink, EndpointError> {
        let mut options = config.mqtt.options(config.device.clone())?;
        let mut state = BoardState::new(config.filter.clone(), config.highlight, config.history);
        let (view_tx, view) = watch::channel(state.view(Utc::now()));
        let (new_calls_tx, new_calls) = mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            let branch = config.branch.as_str();
            let status_topic = Topic::DeviceStatus { branch, device: &config.device }.to_string();
            let calls_topic = Topic::Calls { branch }.to_string();
            let board_topic = Topic::Board { branch }.to_string();
            options.set_keep_alive(Duration::from_secs(10));
            options.set_max_packet_size(1024 * 1024, 64 * 1024);
            options.set_last_will(LastWill::new(
                &status_topic,
                presence(PresenceStatus::Offline),
                QoS::AtLeastOnce,
                true,
            ));
            let (client, mut eventloop) = AsyncClient::new(options, 64);
            let mut failures = 0u32;
            loop {
                let now = Utc::now();
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        failures = 0;
                        state.set_online(true);
                        for topic in [&board_topic, &calls_topic] {
                            let _ = client.try_subscribe(topic.as_str(), QoS::AtLeastOnce);
                        }
                        let _ =
                            client.try_publish(&status_topic, QoS::AtLeastOnce, true, presence(PresenceStatus::Online));
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == board_topic => {
                        match serde_json::from_slice::<Board>(&p.payload) {
                            Ok(board) => {
                                for call in state.apply_board(board, now) {
                                    let _ = new_calls_tx.send(call);
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "ignored a malformed board message"),
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) if p.topic == calls_topic => {
                        match serde_json::from_slice::<Call>(&p.payload) {
                            Ok(call) => {
                                if state.apply_call(call.clone(), now) {
                                    let _ = new_calls_tx.send(call);
                                }
                            }
                            Err(e) => tracing::warn!(error = %e, "ignored a malformed call message"),
                        }
                    }
                    Ok(_) => {}
                    Err(e) => {
                        failures += 1;
                        if state.view(now).online {
                            tracing::warn!(broker = %config.mqtt, error = %describe(&e), "lost the broker; retrying");
                        } else if failures == 1 || failures.is_power_of_two() {
                            tracing::warn!(broker = %config.mqtt, error = %describe(&e), "MQTT connection failed; retrying");
                        }
                        state.set_online(false);
                        let _ = view_tx.send(state.view(now));
                        tokio::time::sleep(Duration::from_millis(500)).await;
                        continue;
                    }
                }
                view_tx.send_if_modified(|v| {
                    let new = state.view(now);
                    let changed = *v != new;
                    *v = new;
                    changed
                });
            }
        });
        Ok(BoardLink { view, new_calls, task })
    }
}
