//! The e-mail sender: the alert outbox's e-mails, oldest first, through the branch's SMTP
//! server (lettre on rustls with `ring`), each marked sent only once the server took it. A
//! failure is tried again with doubling back-off (up to five minutes) for a day, then given up.
//! A crash between the server's answer and the mark sends that e-mail again after the restart:
//! nothing is lost, at worst one is repeated.
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use dawr_web::Db;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tokio::sync::Notify;

use super::store::{self, DueMail};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Security {
    /// STARTTLS required (port 587).
    Starttls,
    /// TLS from the start (port 465).
    Tls,
    /// Plain SMTP, for a relay on the branch's own network (or a test).
    None,
}

/// `[alerts] smtp_*`, checked.
#[derive(Debug, Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub from: Mailbox,
    /// User name and password, if the server wants a login.
    pub login: Option<(String, String)>,
    /// A private CA the server's certificate chains to, besides the system's roots.
    pub ca_file: Option<PathBuf>,
}

/// Why the transport could not be built.
#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("the SMTP server's CA file {0}: {1}")]
    Ca(PathBuf, String),
    #[error("SMTP TLS: {0}")]
    Tls(#[from] lettre::transport::smtp::Error),
}

fn transport(smtp: &Smtp) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&smtp.host)
        .port(smtp.port)
        .timeout(Some(Duration::from_secs(20)));
    if smtp.security != Security::None {
        let mut params = TlsParameters::builder(smtp.host.clone());
        if let Some(path) = &smtp.ca_file {
            let pem = std::fs::read(path).map_err(|e| MailError::Ca(path.clone(), e.to_string()))?;
            let ca = Certificate::from_pem(&pem).map_err(|e| MailError::Ca(path.clone(), e.to_string()))?;
            params = params.add_root_certificate(ca);
        }
        let params = params.build_rustls()?;
        builder = builder.tls(match smtp.security {
            Security::Tls => Tls::Wrapper(params),
            _ => Tls::Required(params),
        });
    }
    if let Some((user, password)) = &smtp.login {
        builder = builder.credentials(Credentials::new(user.clone(), password.clone()));
    }
    Ok(builder.build())
}

/// The e-mail of an outbox row: plain text, UTF-8, base64 (Arabic survives any relay), and its
/// file as an attachment when it has one (multipart/mixed).
fn message(from: &Mailbox, mail: &DueMail) -> Result<Message, String> {
    let to: Mailbox = mail.recipient.parse().map_err(|e| format!("recipient {:?}: {e}", mail.recipient))?;
    let body = SinglePart::builder()
        .header(ContentType::TEXT_PLAIN)
        .header(ContentTransferEncoding::Base64)
        .body(mail.body.clone());
    let builder = Message::builder().from(from.clone()).to(to).subject(mail.subject.clone());
    let built = match &mail.attachment {
        None => builder.singlepart(body),
        Some((name, file)) => {
            let kind = ContentType::parse(content_type_of(name)).map_err(|e| e.to_string())?;
            let attachment = Attachment::new(name.clone()).body(file.clone(), kind);
            builder.multipart(MultiPart::mixed().singlepart(body).singlepart(attachment))
        }
    };
    built.map_err(|e| e.to_string())
}

/// The media type of an attachment, by its name's ending.
fn content_type_of(name: &str) -> &'static str {
    if name.ends_with(".pdf") { "application/pdf" } else { "application/octet-stream" }
}

/// Sends until aborted; `wake` is notified when an e-mail is put in.
pub fn spawn(smtp: Smtp, db: Db, wake: Arc<Notify>) -> Result<tokio::task::JoinHandle<()>, MailError> {
    let transport = transport(&smtp)?;
    Ok(tokio::spawn(async move {
        loop {
            let due = match db.read(|c| store::next_mail(c, Utc::now())).await {
                Ok(Ok(due)) => due,
                Ok(Err(e)) => {
                    tracing::warn!(error = %e, "the alert e-mail outbox could not be read");
                    None
                }
                Err(_) => return,
            };
            let Some(mail) = due else {
                let _ = tokio::time::timeout(Duration::from_secs(1), wake.notified()).await;
                continue;
            };
            let outcome = match message(&smtp.from, &mail) {
                Ok(message) => transport.send(message).await.map(drop).map_err(|e| (e.to_string(), !e.is_permanent())),
                Err(e) => Err((e, false)),
            };
            let (id, attempts, created) = (mail.id, mail.attempts + 1, mail.created_at);
            let written = db
                .write(move |c| {
                    let now = Utc::now();
                    match outcome {
                        Ok(()) => store::mail_sent(c, id, now),
                        Err((error, transient)) => {
                            tracing::warn!(%error, mail = id, "an alert e-mail was not taken");
                            let backoff = chrono::Duration::seconds((1i64 << attempts.min(8)).min(300));
                            let retry = (transient && now - created < chrono::Duration::days(1)).then(|| now + backoff);
                            store::mail_failed(c, id, &error, retry, now)
                        }
                    }
                })
                .await;
            if let Ok(Err(e)) = written {
                tracing::warn!(error = %e, "an alert e-mail's outcome could not be written");
            }
        }
    }))
}
