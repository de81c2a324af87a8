//! The notifier: for each ticket whose holder gave a mobile (`POST /api/v1/sms/subscriptions`),
//! an SMS when `notify_ahead` or fewer visitors are ahead of it and one when it is called (its
//! number and counter, in the holder's language), each at most once (`rules::notice` decides;
//! the message and the mark share a transaction). A remote ticket passed over at the front
//! because its holder has not checked in yet gets "check in at the kiosk now", once; one
//! cancelled because a manager closed its service for the day is told so, once. It
//! watches the live queue through the engine every 300 ms: a call that ended before it looked
//! (answered at once, or a no-show within the moment) is not announced, as going to the counter is no longer what the holder should do.
use std::sync::Arc;
use std::time::Duration;

use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::TicketStatus;
use dawr_web::Db;
use tokio::sync::Notify;

use super::outbox::{self, Subscription};
use super::rules::{self, Notice};
use crate::engine::{EngineHandle, Request};

/// How often the subscribed tickets are looked at.
const EVERY: Duration = Duration::from_millis(300);

/// Watches until aborted; `wake` tells the sender a message was put in.
pub fn spawn(
    engine: EngineHandle,
    db: Db,
    branch: String,
    notify_ahead: u32,
    wake: Arc<Notify>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let texts = Texts::new();
        loop {
            tokio::time::sleep(EVERY).await;
            let Ok(Ok(open)) = db.read(outbox::open_subscriptions).await else { continue };
            for subscription in open {
                let id = subscription.visit_id as u64;
                let Ok(ticket) = engine.ask(|reply| Request::Ticket { id, reply }).await else { return };
                let (position, called_to, live) = match &ticket {
                    Some(t) if t.status == TicketStatus::Waiting => (t.position, None, true),
                    Some(t) if t.status == TicketStatus::Called => (None, t.counter.clone(), true),
                    _ => (None, None, false),
                };
                let owed_check_in = ticket.as_ref().is_some_and(|t| {
                    t.status == TicketStatus::Waiting && t.held_at.is_some() && t.arrived_at.is_none()
                }) && !subscription.checkin_sent;
                let near_sent = subscription.near_sent;
                let Some(notice) =
                    rules::notice(position, called_to.as_deref(), live, near_sent, notify_ahead, owed_check_in)
                else {
                    continue;
                };
                let closed_ticket = match (&ticket, live) {
                    (_, true) | (Some(_), _) => None,
                    (None, false) => match db.read(move |c| outbox::how_it_ended(c, subscription.visit_id)).await {
                        Ok(Ok(Some(closed))) => closed,
                        Ok(Ok(None)) => continue, // its end is not stored yet
                        Ok(Err(e)) => {
                            tracing::warn!(error = %e, "how a ticket ended could not be read");
                            continue;
                        }
                        Err(_) => return,
                    },
                };
                let notice = rules::ended(notice, closed_ticket.is_some());
                let number = ticket.map(|t| t.number).or(closed_ticket).unwrap_or_default();
                let message = text_of(&texts, &subscription, &notice, &number);
                let (db2, branch2) = (db.clone(), branch.clone());
                let written = db2
                    .write(move |c| {
                        let notice = message.as_ref().map(|(kind, text)| (*kind, text.as_str()));
                        outbox::record_notice(c, &branch2, &subscription, notice, crate::clock::now())
                    })
                    .await;
                match written {
                    Ok(Ok(())) => wake.notify_one(),
                    Ok(Err(e)) => tracing::warn!(error = %e, "an SMS notice could not be recorded"),
                    Err(_) => return,
                }
            }
        }
    })
}

/// The notice's kind and text in the holder's language (`None` for [`Notice::Done`]).
fn text_of(
    texts: &Texts,
    subscription: &Subscription,
    notice: &Notice,
    number: &str,
) -> Option<(&'static str, String)> {
    let lang = if subscription.lang == "en" { Lang::En } else { Lang::Ar };
    let text = match notice {
        Notice::Near { ahead } => (
            "near",
            texts.get(lang, "sms-near", &[("number", Arg::Text(number)), ("ahead", Arg::Number(*ahead as f64))]),
        ),
        Notice::CheckIn => ("checkin", texts.get(lang, "sms-check-in", &[("number", Arg::Text(number))])),
        Notice::Called { counter } => {
            ("called", texts.get(lang, "sms-called", &[("number", Arg::Text(number)), ("counter", Arg::Text(counter))]))
        }
        Notice::Closed => ("closed", texts.get(lang, "sms-closed", &[("number", Arg::Text(number))])),
        Notice::Done => return None,
    };
    Some((text.0, rules::sms_text(&text.1)))
}
