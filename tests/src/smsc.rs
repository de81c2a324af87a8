//! An SMSC simulator for the tests: an SMPP 3.4 server on a loopback port that binds
//! transceivers (with one system id and password), answers `submit_sm` with message ids, sends a
//! delivery receipt for each part that asks for one, and records every text it received (joined
//! from its parts, decoded). A test injects incoming messages (MO, e.g. `STOP`), refuses binds
//! for a while, or drops every connection.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use dawr_smpp::pdu::{
    Address, Body, ESM_DELIVERY_RECEIPT, ESM_UDHI, Pdu, ShortMessage, Status, TLV_RECEIPTED_MESSAGE_ID,
};
use dawr_smpp::text::{self, Decoded, Receipt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, watch};

/// One text the simulator received whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSms {
    pub from: String,
    pub to: String,
    pub text: String,
    /// `data_coding` of its parts (0 GSM 7-bit, 8 UCS-2).
    pub coding: u8,
    pub parts: usize,
    /// The message id given to each part, in order.
    pub message_ids: Vec<String>,
}

#[derive(Default)]
struct State {
    refuse_binds: bool,
    binds: usize,
    enquire_links: usize,
    next_id: u64,
    received: Vec<ReceivedSms>,
    /// Parts of long texts still waiting for the rest: (to, reference) → parts with their ids.
    partial: HashMap<(String, u16), Vec<(Decoded, String)>>,
    /// The bound sessions' outgoing queues, for MO messages.
    sessions: Vec<mpsc::UnboundedSender<Vec<u8>>>,
}

/// A running simulator; stops when dropped.
pub struct Smsc {
    port: u16,
    state: Arc<Mutex<State>>,
    drop_all: watch::Sender<u64>,
    accept: tokio::task::JoinHandle<()>,
}

/// The simulator's login.
pub const SYSTEM_ID: &str = "dawr";
pub const PASSWORD: &str = "smsc-pw";

impl Drop for Smsc {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_all.send_modify(|g| *g += 1);
    }
}

impl Smsc {
    /// Starts on a free loopback port (inside the test's tokio runtime).
    pub fn start() -> Smsc {
        let listener = crate::tokio_listener();
        let port = listener.local_addr().expect("a bound port").port();
        let state: Arc<Mutex<State>> = Arc::default();
        let (drop_all, _) = watch::channel(0u64);
        let (st, generation) = (state.clone(), drop_all.clone());
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, st.clone(), generation.subscribe()));
            }
        });
        Smsc { port, state, drop_all, accept }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Refuse (true) or accept binds from now on.
    pub fn refuse_binds(&self, refuse: bool) {
        self.state().refuse_binds = refuse;
    }

    /// Closes every open connection at once (as an SMSC restart or a network cut would).
    pub fn drop_connections(&self) {
        self.drop_all.send_modify(|g| *g += 1);
        self.state().sessions.clear();
    }

    /// How many binds succeeded.
    pub fn binds(&self) -> usize {
        self.state().binds
    }

    /// How many `enquire_link` the bound sessions sent.
    pub fn enquire_links(&self) -> usize {
        self.state().enquire_links
    }

    /// Every whole text received so far, in the order completed.
    pub fn messages(&self) -> Vec<ReceivedSms> {
        self.state().received.clone()
    }

    /// The texts received for `to` (digits, international form without `+`).
    pub fn messages_to(&self, to: &str) -> Vec<ReceivedSms> {
        self.messages().into_iter().filter(|m| m.to == to).collect()
    }

    /// Waits until at least `n` texts have arrived; all of them.
    pub async fn wait_for(&self, n: usize, within: Duration) -> Vec<ReceivedSms> {
        crate::wait_until(within, || async { self.state().received.len() >= n }).await;
        self.messages()
    }

    /// Sends a message from a mobile to the ESME on a bound session; false if none is bound.
    pub fn send_mo(&self, from: &str, text: &str) -> bool {
        let encoded = text::encode(text, 1);
        let mut state = self.state();
        state.sessions.retain(|s| !s.is_closed());
        let Some(session) = state.sessions.first() else { return false };
        for (i, part) in encoded.parts.iter().enumerate() {
            let message = ShortMessage {
                source: Address::international(from),
                destination: Address::alphanumeric("Dawr"),
                esm_class: if encoded.has_udh() { ESM_UDHI } else { 0 },
                data_coding: encoded.coding.code(),
                short_message: part.clone(),
                ..ShortMessage::default()
            };
            if let Ok(bytes) = Pdu::new(0x4000_0000 + i as u32, Body::DeliverSm(message)).encode() {
                let _ = session.send(bytes);
            }
        }
        true
    }
}

async fn session(stream: TcpStream, state: Arc<Mutex<State>>, mut generation: watch::Receiver<u64>) {
    let (mut read, mut write) = stream.into_split();
    let (out, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
    let writer = tokio::spawn(async move {
        while let Some(bytes) = outgoing.recv().await {
            if write.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let mut bound = false;
    let mut receipt_seq = 0x2000_0000u32;
    'conn: loop {
        while let Ok(Some((pdu, used))) = Pdu::decode(&buf) {
            buf.drain(..used);
            let lock = || state.lock().unwrap_or_else(|p| p.into_inner());
            let reply = |pdu: Pdu| {
                if let Ok(bytes) = pdu.encode() {
                    let _ = out.send(bytes);
                }
            };
            match pdu.body {
                Body::BindTransceiver(bind) => {
                    let mut st = lock();
                    let status = if st.refuse_binds {
                        Status::BIND_FAILED
                    } else if bind.system_id != SYSTEM_ID {
                        Status::INVALID_SYSTEM_ID
                    } else if bind.password != PASSWORD {
                        Status::INVALID_PASSWORD
                    } else if bound {
                        Status::ALREADY_BOUND
                    } else {
                        Status::OK
                    };
                    reply(Pdu::error(pdu.sequence, status, Body::BindTransceiverResp { system_id: "sim".into() }));
                    if status != Status::OK {
                        drop(st);
                        break 'conn;
                    }
                    bound = true;
                    st.binds += 1;
                    st.sessions.push(out.clone());
                }
                _ if !bound => reply(Pdu::error(pdu.sequence, 0x0000_0004, Body::GenericNack)),
                Body::SubmitSm(message) => {
                    let id = {
                        let mut st = lock();
                        st.next_id += 1;
                        let id = format!("sim-{}", st.next_id);
                        record(&mut st, &message, &id);
                        id
                    };
                    reply(Pdu::new(pdu.sequence, Body::SubmitSmResp { message_id: id.clone() }));
                    if message.registered_delivery & 0x03 != 0 {
                        receipt_seq += 1;
                        reply(Pdu::new(receipt_seq, Body::DeliverSm(receipt(&message, &id))));
                    }
                }
                Body::EnquireLink => {
                    lock().enquire_links += 1;
                    reply(Pdu::new(pdu.sequence, Body::EnquireLinkResp));
                }
                Body::Unbind => {
                    reply(Pdu::new(pdu.sequence, Body::UnbindResp));
                    break 'conn;
                }
                Body::DeliverSmResp | Body::GenericNack | Body::EnquireLinkResp => {}
                _ => reply(Pdu::error(pdu.sequence, Status::INVALID_COMMAND_ID, Body::GenericNack)),
            }
        }
        tokio::select! {
            n = read.read(&mut chunk) => match n {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            },
            _ = generation.changed() => break,
        }
    }
    drop(out);
    // Let what was answered go out, then close (the write half goes with the writer).
    let mut writer = writer;
    if tokio::time::timeout(Duration::from_millis(200), &mut writer).await.is_err() {
        writer.abort();
    }
}

/// Records one part; a text is complete when its last part has arrived.
fn record(state: &mut State, message: &ShortMessage, id: &str) {
    let decoded = text::decode(message.data_coding, message.esm_class & ESM_UDHI != 0, &message.short_message);
    let whole = |parts: Vec<(Decoded, String)>| {
        let mut parts = parts;
        parts.sort_by_key(|(d, _)| d.concat.map_or(1, |c| c.seq));
        let texts: Vec<Decoded> = parts.iter().map(|(d, _)| d.clone()).collect();
        ReceivedSms {
            from: message.source.addr.clone(),
            to: message.destination.addr.clone(),
            text: text::join(&texts).unwrap_or_default(),
            coding: message.data_coding,
            parts: parts.len(),
            message_ids: parts.into_iter().map(|(_, id)| id).collect(),
        }
    };
    match decoded.concat {
        None => state.received.push(whole(vec![(decoded, id.to_string())])),
        Some(concat) => {
            let key = (message.destination.addr.clone(), concat.reference);
            let parts = state.partial.entry(key.clone()).or_default();
            parts.push((decoded, id.to_string()));
            if parts.len() >= concat.total as usize {
                let parts = state.partial.remove(&key).unwrap_or_default();
                state.received.push(whole(parts));
            }
        }
    }
}

/// The delivery receipt for one submitted part: delivered.
fn receipt(message: &ShortMessage, id: &str) -> ShortMessage {
    let text = Receipt { message_id: id.into(), stat: "DELIVRD".into() }.text("2611280000", "2611280000");
    ShortMessage {
        source: message.destination.clone(),
        destination: message.source.clone(),
        esm_class: ESM_DELIVERY_RECEIPT,
        short_message: text.into_bytes(),
        tlvs: vec![dawr_smpp::pdu::Tlv { tag: TLV_RECEIPTED_MESSAGE_ID, value: format!("{id}\0").into_bytes() }],
        ..ShortMessage::default()
    }
}
