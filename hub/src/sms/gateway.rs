//! Where the outbox hands messages: a [`Gateway`]. [`Smpp`] is an SMPP 3.4 transceiver session
//! (`dawr-smpp`) kept open across messages and connected again, with back-off, when it fails;
//! what the SMSC sends on its own (delivery receipts, STOP) is written to the outbox as it
//! arrives. Another gateway (an aggregator's HTTPS API) would implement the same trait.
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use dawr_smpp::pdu::Address;
use dawr_smpp::{Client, ClientError, Inbound, SessionConfig};
use dawr_web::Db;
use tokio::sync::Mutex;

use super::outbox::{self, Due};
use super::rules;

/// Why a message was not handed over.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct GatewayError {
    pub message: String,
    /// Whether trying again later may work.
    pub transient: bool,
}

/// Something that takes a message for delivery and names each part it sent.
pub trait Gateway: Send + Sync + 'static {
    /// Sends one message; the gateway's id of each part.
    fn send(&self, message: &Due) -> impl Future<Output = Result<Vec<String>, GatewayError>> + Send;
}

/// The SMPP link's settings.
#[derive(Debug, Clone)]
pub struct SmppLink {
    pub session: SessionConfig,
    /// The sender name (alphanumeric, as registered with the operator) or number.
    pub source: String,
    /// The longest wait between attempts to connect.
    pub max_reconnect: Duration,
}

/// An SMPP session to the SMSC, shared by the outbox's concurrent sends.
pub struct Smpp {
    link: SmppLink,
    db: Db,
    session: Mutex<Session>,
}

#[derive(Default)]
struct Session {
    client: Option<Client>,
    /// No new connection before this (after a failed one), and the wait after the next failure.
    not_before: Option<Instant>,
    wait: Duration,
}

impl Smpp {
    pub fn new(link: SmppLink, db: Db) -> Smpp {
        Smpp { link, db, session: Mutex::new(Session::default()) }
    }

    fn source(&self) -> Address {
        let is_number = self.link.source.trim_start_matches('+').chars().all(|c| c.is_ascii_digit());
        if is_number { Address::international(&self.link.source) } else { Address::alphanumeric(&self.link.source) }
    }

    /// The open session, or a new one (unless the last attempt failed too recently).
    async fn client(&self) -> Result<Client, GatewayError> {
        let mut session = self.session.lock().await;
        if let Some(client) = session.client.as_ref().filter(|c| !c.is_closed()) {
            return Ok(client.clone());
        }
        session.client = None;
        if session.not_before.is_some_and(|t| Instant::now() < t) {
            return Err(GatewayError { message: "the SMSC is unavailable; reconnecting".into(), transient: true });
        }
        match Client::connect(&self.link.session).await {
            Ok((client, inbound)) => {
                tracing::info!(smsc = %self.link.session.address, "bound to the SMSC");
                session.client = Some(client.clone());
                session.not_before = None;
                session.wait = Duration::ZERO;
                tokio::spawn(take_inbound(inbound, self.db.clone()));
                Ok(client)
            }
            Err(e) => {
                // Doubling from 250 ms, never past the configured longest wait (which may be shorter).
                session.wait = (session.wait * 2).max(Duration::from_millis(250)).min(self.link.max_reconnect);
                session.not_before = Some(Instant::now() + session.wait);
                tracing::warn!(error = %e, retry_in = ?session.wait, "cannot bind to the SMSC");
                Err(GatewayError {
                    message: e.to_string(),
                    transient: e.is_transient() || matches!(e, ClientError::BindRefused(_)),
                })
            }
        }
    }

    /// Unbinds, if bound (at shutdown).
    pub async fn close(&self) {
        if let Some(client) = self.session.lock().await.client.take() {
            let _ = tokio::time::timeout(Duration::from_secs(2), client.unbind()).await;
        }
    }
}

impl Gateway for Arc<Smpp> {
    async fn send(&self, message: &Due) -> Result<Vec<String>, GatewayError> {
        let client = self.client().await?;
        let to = message.mobile.trim_start_matches('+');
        client
            .submit_text(&self.source(), to, &message.body, rules::concat_reference(message.id))
            .await
            .map_err(|e| GatewayError { message: e.to_string(), transient: e.is_transient() })
    }
}

/// Writes receipts and opt-outs as the SMSC sends them, until the session closes.
async fn take_inbound(mut inbound: tokio::sync::mpsc::UnboundedReceiver<Inbound>, db: Db) {
    while let Some(event) = inbound.recv().await {
        let written = match event {
            Inbound::Receipt(receipt) if receipt.is_final() => {
                db.write(move |c| outbox::receipt(c, &receipt.message_id, receipt.delivered(), crate::clock::now()))
                    .await
            }
            Inbound::Receipt(_) => continue,
            Inbound::Message { from, text } => {
                let Some(mobile) = rules::saudi_mobile(&from) else { continue };
                if !rules::is_stop(&text) {
                    tracing::info!("an incoming SMS that is not STOP was ignored");
                    continue;
                }
                tracing::info!("a mobile answered STOP; no more messages to it");
                db.write(move |c| outbox::opt_out(c, &mobile, crate::clock::now())).await
            }
        };
        if let Ok(Err(e)) = written {
            tracing::warn!(error = %e, "an SMS receipt or opt-out could not be written");
        }
    }
}
