//! An SMPP 3.4 transceiver session over TCP (tokio): one connection, bound with system id and
//! password, kept alive with `enquire_link`, at most `window` `submit_sm` awaiting their
//! response at once; `deliver_sm` from the SMSC (delivery receipts, incoming messages) is
//! answered and passed on as [`Inbound`]. A session that fails (a timeout, the SMSC closing or
//! unbinding) is closed for good: its owner connects a new one, with back-off.
use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use crate::pdu::{
    Address, Bind, Body, ESM_DELIVERY_RECEIPT, ESM_UDHI, INTERFACE_VERSION, Pdu, PduError, REGISTERED_DELIVERY_FINAL,
    ShortMessage, Status, TLV_RECEIPTED_MESSAGE_ID,
};
use crate::text::{self, Receipt};

/// How to reach and bind to the SMSC.
#[derive(Debug, Clone)]
pub struct SessionConfig {
    /// `host:port`.
    pub address: String,
    pub system_id: String,
    pub password: String,
    pub system_type: String,
    /// How often the session is checked with `enquire_link`.
    pub enquire_link_every: Duration,
    /// How long any request waits for its response (connect and bind included).
    pub response_timeout: Duration,
    /// At most this many `submit_sm` await their response at once.
    pub window: usize,
}

/// What the SMSC sent on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Inbound {
    /// A delivery receipt for a message this ESME submitted.
    Receipt(Receipt),
    /// A message from a mobile (MO), e.g. `STOP`; one part of a long one at a time.
    Message { from: String, text: String },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    #[error("cannot reach the SMSC: {0}")]
    Connect(String),
    #[error("the SMSC refused the bind (command_status {0:#010x})")]
    BindRefused(u32),
    #[error("the SMSC refused the message (command_status {0:#010x})")]
    Refused(u32),
    #[error("the SMSC did not answer in time")]
    Timeout,
    #[error("the session is closed")]
    Closed,
    #[error(transparent)]
    Pdu(#[from] PduError),
}

impl ClientError {
    /// Whether sending the same message again later may succeed (not a refusal of the message
    /// itself, except the SMSC's "throttled" and "queue full").
    pub fn is_transient(&self) -> bool {
        match self {
            ClientError::Refused(status) => matches!(*status, Status::THROTTLED | Status::MESSAGE_QUEUE_FULL),
            ClientError::Pdu(_) => false,
            _ => true,
        }
    }
}

type Waiting = Arc<Mutex<HashMap<u32, oneshot::Sender<Pdu>>>>;

/// A bound transceiver session; cheap to clone.
#[derive(Clone)]
pub struct Client {
    out: mpsc::UnboundedSender<Vec<u8>>,
    waiting: Waiting,
    sequence: Arc<AtomicU32>,
    window: Arc<Semaphore>,
    closed: Arc<watch::Sender<bool>>,
    timeout: Duration,
}

impl Client {
    /// Connects, binds as a transceiver and starts the keep-alive; the receiver yields what the
    /// SMSC sends on its own until the session closes.
    pub async fn connect(config: &SessionConfig) -> Result<(Client, mpsc::UnboundedReceiver<Inbound>), ClientError> {
        let stream = tokio::time::timeout(config.response_timeout, TcpStream::connect(&config.address))
            .await
            .map_err(|_| ClientError::Connect("timed out".into()))?
            .map_err(|e| ClientError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (read, mut write) = stream.into_split();
        let (out, mut outgoing) = mpsc::unbounded_channel::<Vec<u8>>();
        let (inbound_tx, inbound) = mpsc::unbounded_channel();
        let client = Client {
            out,
            waiting: Arc::default(),
            sequence: Arc::new(AtomicU32::new(0)),
            window: Arc::new(Semaphore::new(config.window.max(1))),
            closed: Arc::new(watch::channel(false).0),
            timeout: config.response_timeout,
        };
        let writer = client.clone();
        tokio::spawn(async move {
            let mut closed = writer.closed.subscribe();
            loop {
                tokio::select! {
                    bytes = outgoing.recv() => match bytes {
                        Some(bytes) if write.write_all(&bytes).await.is_ok() => {}
                        _ => break,
                    },
                    _ = until_closed(&mut closed) => break,
                }
            }
            let _ = write.shutdown().await;
            writer.close();
        });
        tokio::spawn(client.clone().read_loop(read, inbound_tx));

        let bind = Bind {
            system_id: config.system_id.clone(),
            password: config.password.clone(),
            system_type: config.system_type.clone(),
            interface_version: INTERFACE_VERSION,
            ..Bind::default()
        };
        let answer = client.request(Body::BindTransceiver(bind)).await.inspect_err(|_| client.close())?;
        if answer.status != Status::OK || !matches!(answer.body, Body::BindTransceiverResp { .. }) {
            client.close();
            return Err(ClientError::BindRefused(answer.status));
        }
        tokio::spawn(client.clone().keep_alive(config.enquire_link_every));
        Ok((client, inbound))
    }

    /// Submits one `submit_sm`; its message id, or why not.
    pub async fn submit(&self, message: ShortMessage) -> Result<String, ClientError> {
        let _permit = self.window.acquire().await.map_err(|_| ClientError::Closed)?;
        let answer = self.request(Body::SubmitSm(message)).await?;
        match answer.body {
            Body::SubmitSmResp { message_id } if answer.status == Status::OK => Ok(message_id),
            _ if answer.status != Status::OK => Err(ClientError::Refused(answer.status)),
            _ => Err(ClientError::Refused(Status::SYSTEM_ERROR)),
        }
    }

    /// Submits `text` from `source` to the international number `to` (every part asking for a
    /// delivery receipt); the message id of each part, in order.
    pub async fn submit_text(
        &self,
        source: &Address,
        to: &str,
        text: &str,
        reference: u8,
    ) -> Result<Vec<String>, ClientError> {
        let encoded = text::encode(text, reference);
        let mut ids = Vec::with_capacity(encoded.parts.len());
        for part in &encoded.parts {
            let message = ShortMessage {
                source: source.clone(),
                destination: Address::international(to),
                esm_class: if encoded.has_udh() { ESM_UDHI } else { 0 },
                registered_delivery: REGISTERED_DELIVERY_FINAL,
                data_coding: encoded.coding.code(),
                short_message: part.clone(),
                ..ShortMessage::default()
            };
            ids.push(self.submit(message).await?);
        }
        Ok(ids)
    }

    /// Unbinds politely and closes.
    pub async fn unbind(&self) {
        let _ = self.request(Body::Unbind).await;
        self.close();
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Waits until the session has closed.
    pub async fn closed(&self) {
        until_closed(&mut self.closed.subscribe()).await;
    }

    fn close(&self) {
        self.closed.send_replace(true);
        // Every request still waiting learns the session is gone.
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).clear();
        self.window.close();
    }

    fn next_sequence(&self) -> u32 {
        self.sequence.fetch_add(1, Ordering::Relaxed) % 0x7FFF_FFFF + 1
    }

    async fn request(&self, body: Body) -> Result<Pdu, ClientError> {
        if self.is_closed() {
            return Err(ClientError::Closed);
        }
        let sequence = self.next_sequence();
        let bytes = Pdu::new(sequence, body).encode()?;
        let (tx, rx) = oneshot::channel();
        self.waiting.lock().unwrap_or_else(|p| p.into_inner()).insert(sequence, tx);
        self.out.send(bytes).map_err(|_| ClientError::Closed)?;
        match tokio::time::timeout(self.timeout, rx).await {
            Ok(Ok(pdu)) => Ok(pdu),
            Ok(Err(_)) => Err(ClientError::Closed),
            Err(_) => {
                // A session that stops answering is not trusted with more.
                self.close();
                Err(ClientError::Timeout)
            }
        }
    }

    fn send(&self, pdu: Pdu) {
        if let Ok(bytes) = pdu.encode() {
            let _ = self.out.send(bytes);
        }
    }

    async fn keep_alive(self, every: Duration) {
        let mut closed = self.closed.subscribe();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(every) => {}
                _ = until_closed(&mut closed) => return,
            }
            if let Err(e) = self.request(Body::EnquireLink).await {
                tracing::warn!(error = %e, "the SMSC did not answer enquire_link; closing the session");
                self.close();
                return;
            }
        }
    }

    async fn read_loop(self, mut read: OwnedReadHalf, inbound: mpsc::UnboundedSender<Inbound>) {
        let mut buf: Vec<u8> = Vec::with_capacity(4096);
        let mut chunk = [0u8; 4096];
        let mut closed = self.closed.subscribe();
        'session: loop {
            loop {
                match Pdu::decode(&buf) {
                    Ok(Some((pdu, used))) => {
                        buf.drain(..used);
                        if !self.handle(pdu, &inbound) {
                            break 'session;
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "the SMSC sent a malformed PDU; closing the session");
                        self.send(Pdu::error(0, Status::INVALID_COMMAND_LENGTH, Body::GenericNack));
                        break 'session;
                    }
                }
            }
            let n = tokio::select! {
                n = read.read(&mut chunk) => n,
                _ = until_closed(&mut closed) => break,
            };
            match n {
                Ok(0) | Err(_) => break,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        self.close();
    }

    /// Handles one PDU from the SMSC; false when the session ends.
    fn handle(&self, pdu: Pdu, inbound: &mpsc::UnboundedSender<Inbound>) -> bool {
        if pdu.is_response() {
            let waiter = self.waiting.lock().unwrap_or_else(|p| p.into_inner()).remove(&pdu.sequence);
            if let Some(waiter) = waiter {
                let _ = waiter.send(pdu);
            }
            return true;
        }
        match pdu.body {
            Body::EnquireLink => self.send(Pdu::new(pdu.sequence, Body::EnquireLinkResp)),
            Body::Unbind => {
                self.send(Pdu::new(pdu.sequence, Body::UnbindResp));
                return false;
            }
            Body::DeliverSm(message) => {
                self.send(Pdu::new(pdu.sequence, Body::DeliverSmResp));
                if let Some(event) = inbound_of(&message) {
                    let _ = inbound.send(event);
                }
            }
            _ => self.send(Pdu::error(pdu.sequence, Status::INVALID_COMMAND_ID, Body::GenericNack)),
        }
        true
    }
}

async fn until_closed(closed: &mut watch::Receiver<bool>) {
    let _ = closed.wait_for(|c| *c).await;
}

/// A `deliver_sm` as a receipt (by its `esm_class`) or an incoming message.
fn inbound_of(message: &ShortMessage) -> Option<Inbound> {
    let decoded = text::decode(message.data_coding, message.esm_class & ESM_UDHI != 0, &message.short_message);
    if message.esm_class & 0x3C == ESM_DELIVERY_RECEIPT {
        let mut receipt = Receipt::parse(&decoded.text)?;
        if let Some(id) = message.tlv(TLV_RECEIPTED_MESSAGE_ID) {
            receipt.message_id = String::from_utf8_lossy(id).trim_end_matches('\0').to_string();
        }
        return Some(Inbound::Receipt(receipt));
    }
    Some(Inbound::Message { from: message.source.addr.clone(), text: decoded.text })
}
