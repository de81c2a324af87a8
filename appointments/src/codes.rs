//! Sends the one-time codes that confirm a booking (`[sms] confirm_bookings`) straight to the
//! SMSC, on a session of their own, on either storage engine.
//!
//! Not through the reminders' durable outbox: a code is worth five minutes, and one that did not
//! go out is asked for again (the limits count it either way). A send that fails is logged and
//! dropped; the session is bound on the first code and again after it closes.
use dawr_smpp::Client;
use dawr_smpp::pdu::Address;
use tokio::sync::mpsc;

use crate::reminders::SmsSettings;

/// A text to send: the mobile (`+9665…`) and the body.
type Text = (String, String);

/// Where the codes go: a queue to the sending task.
#[derive(Clone)]
pub struct CodeSender(mpsc::UnboundedSender<Text>);

impl CodeSender {
    /// Starts the sending task.
    pub fn spawn(settings: SmsSettings) -> CodeSender {
        let (queue, texts) = mpsc::unbounded_channel();
        tokio::spawn(send_all(settings, texts));
        CodeSender(queue)
    }

    /// Queues a text (the task sends it within moments).
    pub fn send(&self, mobile: &str, body: String) {
        if self.0.send((mobile.to_string(), body)).is_err() {
            tracing::error!("the code sender has stopped; a one-time code was not sent");
        }
    }
}

fn source(sender: &str) -> Address {
    if sender.trim_start_matches('+').chars().all(|c| c.is_ascii_digit()) {
        Address::international(sender)
    } else {
        Address::alphanumeric(sender)
    }
}

/// Sends each queued text, binding when needed; ends when every sender is dropped.
async fn send_all(settings: SmsSettings, mut texts: mpsc::UnboundedReceiver<Text>) {
    let source = source(&settings.sender);
    let mut client: Option<Client> = None;
    let mut reference = 0u8;
    while let Some((mobile, body)) = texts.recv().await {
        if client.as_ref().is_none_or(Client::is_closed) {
            client = match Client::connect(&settings.session).await {
                Ok((bound, mut inbound)) => {
                    // Incoming texts (STOP) are the reminders' session's business.
                    tokio::spawn(async move { while inbound.recv().await.is_some() {} });
                    Some(bound)
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot bind to the SMSC; a one-time code was not sent");
                    continue;
                }
            };
        }
        let Some(bound) = &client else { continue };
        reference = reference.wrapping_add(1).max(1);
        match bound.submit_text(&source, mobile.trim_start_matches('+'), &body, reference).await {
            Ok(_) => tracing::info!("a one-time code was sent"),
            Err(e) => tracing::warn!(error = %e, "a one-time code was not sent"),
        }
    }
}
