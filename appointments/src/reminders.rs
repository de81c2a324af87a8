//! SMS reminders to citizens a day and an hour before their slot (`[sms]` in the site's file,
//! off without `smsc`), sent through the site's own durable outbox to the SMSC with `dawr-smpp`.
//!
//! - **At most once each.** Every few seconds the bookings still `booked` whose slot is within a
//!   day get the reminders now due ([`due`], pure) put in `sms_outbox`, whose `(booking, kind)`
//!   is unique: a reminder is written once, whatever restarts happen. A booking made within the
//!   day before its slot gets no "a day before" reminder (the citizen just booked).
//! - **Not for cancelled bookings.** None is put in for them, and one already queued is ended as
//!   failed when it comes up (the booking is read again just before sending).
//! - **Durable.** A queued reminder survives a restart; a transient failure (SMSC down, a
//!   timeout) is retried with doubling back-off up to `max_backoff_s`, and given up once the slot
//!   has begun. As in the hub's outbox, a crash between the SMSC's answer and its record sends
//!   that reminder again (SMPP has no idempotency key).
//! - **STOP.** An incoming `STOP` or `إلغاء` (an MO message on the session) is recorded in
//!   `sms_opt_outs`: no reminder or closed-day text is put in for that mobile, and what is queued
//!   for it ends as failed.
//! - **Times** are the site's clock (`dawr_web::clock`, which tests shift with
//!   `--clock-offset-s`).
use std::time::Duration;

use chrono::{DateTime, FixedOffset, Utc};
use dawr_i18n::{Arg, Lang, Texts};
use dawr_smpp::pdu::Address;
use dawr_smpp::{Client, SessionConfig};
use dawr_web::Db;
use rusqlite::{Connection, params};

use crate::config::Site;

/// The `[sms]` settings the sender runs with.
#[derive(Debug, Clone)]
pub struct SmsSettings {
    pub session: SessionConfig,
    /// The sender name registered with the operator (alphanumeric), or a number.
    pub sender: String,
    pub max_backoff: Duration,
}

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A day before the slot.
    Day,
    /// An hour before the slot.
    Hour,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Day => "reminder_day",
            Kind::Hour => "reminder_hour",
        }
    }

    fn text_key(self) -> &'static str {
        match self {
            Kind::Day => "sms-reminder-day",
            Kind::Hour => "sms-reminder-hour",
        }
    }
}

/// The reminders due at `now` for a booking made at `created_at` for a slot at `start` (pure):
/// within the day before the slot, the day's (unless it was booked within that day); within the
/// hour before, the hour's. None once the slot has begun.
pub fn due(start: DateTime<Utc>, created_at: DateTime<Utc>, now: DateTime<Utc>) -> Vec<Kind> {
    let (day, hour) = (start - chrono::Duration::hours(24), start - chrono::Duration::hours(1));
    let mut kinds = Vec::new();
    if now >= start {
        return kinds;
    }
    if now >= day && now < hour && created_at < day {
        kinds.push(Kind::Day);
    }
    if now >= hour {
        kinds.push(Kind::Hour);
    }
    kinds
}

/// The wait before retry number `attempts`: 1 s doubling, at most `max` (pure).
pub fn backoff(attempts: u32, max: Duration) -> Duration {
    Duration::from_secs(1).saturating_mul(1u32 << attempts.saturating_sub(1).min(20)).min(max)
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

fn parse(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// A booking a reminder may be due for.
struct Upcoming {
    code: String,
    branch: String,
    service: String,
    start: DateTime<Utc>,
    phone: String,
    lang: String,
    created_at: DateTime<Utc>,
}

/// The reminder's text, in the booking's language.
fn text_of(texts: &Texts, site: &Site, booking: &Upcoming, kind: Kind) -> String {
    let lang = if booking.lang == "en" { Lang::En } else { Lang::Ar };
    let branch = site.branch(&booking.branch);
    let offset = branch.map_or_else(|| FixedOffset::east_opt(3 * 3600).expect("an offset"), |b| b.utc_offset);
    let pick = |names: &dawr_protocol::api::Names| if lang == Lang::En { names.en.clone() } else { names.ar.clone() };
    let branch_name = branch.map(|b| pick(&b.name)).unwrap_or_default();
    let service =
        branch.and_then(|b| b.service(&booking.service)).map(|s| pick(&s.name)).unwrap_or(booking.service.clone());
    let local = booking.start.with_timezone(&offset);
    let text = texts.get(
        lang,
        kind.text_key(),
        &[
            ("branch", Arg::Text(&branch_name)),
            ("service", Arg::Text(&service)),
            ("date", Arg::Text(&local.format("%Y-%m-%d").to_string())),
            ("time", Arg::Text(&local.format("%H:%M").to_string())),
            ("code", Arg::Text(&booking.code)),
        ],
    );
    // Fluent's direction isolates mean nothing on most phones (and would force UCS-2).
    text.chars().filter(|c| !matches!(c, '\u{2066}'..='\u{2069}')).collect()
}

/// Puts in the reminders due at `now` for bookings still `booked` (each at most once); how many.
pub fn schedule(conn: &Connection, site: &Site, texts: &Texts, now: DateTime<Utc>) -> rusqlite::Result<usize> {
    let upcoming: Vec<Upcoming> = conn
        .prepare_cached(
            "SELECT code, branch, service, start, phone, lang, created_at FROM bookings
             WHERE status = 'booked' AND phone IS NOT NULL AND start > ?1 AND start <= ?2
               AND phone NOT IN (SELECT mobile FROM sms_opt_outs)",
        )?
        .query_map(params![ts(now), ts(now + chrono::Duration::hours(24))], |r| {
            Ok(Upcoming {
                code: r.get(0)?,
                branch: r.get(1)?,
                service: r.get(2)?,
                start: parse(&r.get::<_, String>(3)?),
                phone: r.get(4)?,
                lang: r.get(5)?,
                created_at: parse(&r.get::<_, String>(6)?),
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut put = 0;
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO sms_outbox (booking, kind, mobile, body, created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
    )?;
    for booking in &upcoming {
        for kind in due(booking.start, booking.created_at, now) {
            let body = text_of(texts, site, booking, kind);
            put += insert.execute(params![booking.code, kind.name(), booking.phone, body, ts(now)])?;
        }
    }
    Ok(put)
}

/// The text that tells a holder the branch closed their booking's day, with the link to book
/// that service again, in the booking's language.
fn closed_text(texts: &Texts, site: &Site, public_url: &str, booking: &crate::store::Booking) -> String {
    let lang = if booking.lang == "en" { Lang::En } else { Lang::Ar };
    let branch = site.branch(&booking.branch);
    let pick = |names: &dawr_protocol::api::Names| if lang == Lang::En { names.en.clone() } else { names.ar.clone() };
    let branch_name = branch.map(|b| pick(&b.name)).unwrap_or_default();
    let service =
        branch.and_then(|b| b.service(&booking.service)).map(|s| pick(&s.name)).unwrap_or(booking.service.clone());
    let link = format!("{public_url}/b/{}/{}?lang={}", booking.branch, booking.service, lang.code());
    let text = texts.get(
        lang,
        "sms-booking-closed",
        &[
            ("branch", Arg::Text(&branch_name)),
            ("service", Arg::Text(&service)),
            ("date", Arg::Text(&booking.local_day.to_string())),
            ("code", Arg::Text(&booking.code)),
            ("link", Arg::Text(&link)),
        ],
    );
    text.chars().filter(|c| !matches!(c, '\u{2066}'..='\u{2069}')).collect()
}

/// The branch closed `day` for `service` (`None`: every service): in one transaction the day is
/// recorded, its bookings still `booked` are cancelled ([`crate::store::close_day`]) and each
/// holder's text (kind `closed`, with a link to book again) is put in the outbox, once per
/// booking. Returns how many bookings it cancelled (0 when repeated).
#[allow(clippy::too_many_arguments)]
pub fn close_day(
    conn: &mut Connection,
    site: &Site,
    texts: &Texts,
    public_url: &str,
    branch: &str,
    service: Option<&str>,
    day: chrono::NaiveDate,
    now: DateTime<Utc>,
) -> Result<usize, crate::store::StoreError> {
    let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
    let cancelled = crate::store::close_day(&tx, branch, service, day, now)?;
    for booking in cancelled.iter().filter(|b| !b.phone.is_empty()) {
        let body = closed_text(texts, site, public_url, booking);
        tx.execute(
            "INSERT OR IGNORE INTO sms_outbox (booking, kind, mobile, body, created_at, next_attempt_at)
             SELECT ?1, 'closed', ?2, ?3, ?4, ?4 WHERE ?2 NOT IN (SELECT mobile FROM sms_opt_outs)",
            params![booking.code, booking.phone, body, ts(now)],
        )?;
    }
    tx.commit()?;
    Ok(cancelled.len())
}

/// One reminder to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub id: i64,
    pub mobile: String,
    pub body: String,
    pub attempts: u32,
    /// To a mobile that has not answered STOP, and a reminder whose booking is still `booked`
    /// and whose slot has not begun, or a closed day's text (its booking is cancelled: that is
    /// what it tells).
    pub still_wanted: bool,
}

/// Up to `limit` reminders due at `now`, oldest first.
pub fn next_due(conn: &Connection, now: DateTime<Utc>, limit: usize) -> rusqlite::Result<Vec<Due>> {
    conn.prepare_cached(
        "SELECT o.id, o.mobile, o.body, o.attempts,
                o.mobile NOT IN (SELECT mobile FROM sms_opt_outs)
                AND CASE WHEN o.kind = 'closed' THEN o.mobile <> '' ELSE b.status = 'booked' AND b.start > ?1 END
         FROM sms_outbox o JOIN bookings b ON b.code = o.booking
         WHERE o.state IN ('queued', 'sending') AND o.next_attempt_at <= ?1 ORDER BY o.id LIMIT ?2",
    )?
    .query_map(params![ts(now), limit as i64], |r| {
        Ok(Due { id: r.get(0)?, mobile: r.get(1)?, body: r.get(2)?, attempts: r.get(3)?, still_wanted: r.get(4)? })
    })?
    .collect()
}

/// Durably `sending`, one more attempt, before the SMSC is asked.
pub fn mark_sending(conn: &Connection, id: i64) -> rusqlite::Result<()> {
    conn.execute("UPDATE sms_outbox SET state = 'sending', attempts = attempts + 1 WHERE id = ?1", params![id])?;
    Ok(())
}

/// The SMSC took it (`parts` SMS).
pub fn mark_submitted(conn: &Connection, id: i64, parts: usize, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE sms_outbox SET state = 'submitted', submitted_at = ?2, parts = ?3, last_error = NULL WHERE id = ?1",
        params![id, ts(now), parts as i64],
    )?;
    Ok(())
}

/// It failed: again at `retry_at`, or never (`None`).
pub fn mark_failed(conn: &Connection, id: i64, error: &str, retry_at: Option<DateTime<Utc>>) -> rusqlite::Result<()> {
    match retry_at {
        Some(at) => conn.execute(
            "UPDATE sms_outbox SET state = 'queued', last_error = ?2, next_attempt_at = ?3 WHERE id = ?1",
            params![id, error, ts(at)],
        )?,
        None => {
            conn.execute("UPDATE sms_outbox SET state = 'failed', last_error = ?2 WHERE id = ?1", params![id, error])?
        }
    };
    Ok(())
}

/// A mobile answered STOP (or `إلغاء`): nothing more is sent to it, and what is queued for it
/// ends as failed. Kept through retention and erasure, so the STOP stays honoured.
pub fn opt_out(conn: &Connection, mobile: &str, now: DateTime<Utc>) -> rusqlite::Result<()> {
    conn.execute("INSERT OR IGNORE INTO sms_opt_outs (mobile, at) VALUES (?1, ?2)", params![mobile, ts(now)])?;
    conn.execute(
        "UPDATE sms_outbox SET state = 'failed', last_error = 'the mobile opted out' WHERE mobile = ?1 AND state = 'queued'",
        params![mobile],
    )?;
    Ok(())
}

/// Records each STOP the SMSC passes on (an MO message) until the session closes; receipts and
/// other texts are let go.
async fn take_stops(mut inbound: tokio::sync::mpsc::UnboundedReceiver<dawr_smpp::Inbound>, db: Db) {
    while let Some(event) = inbound.recv().await {
        let dawr_smpp::Inbound::Message { from, text } = event else { continue };
        let Some(mobile) = dawr_protocol::api::sms::saudi_mobile(&from) else { continue };
        if !dawr_protocol::api::sms::is_stop(&text) {
            tracing::info!("an incoming SMS that is not STOP was ignored");
            continue;
        }
        tracing::info!("a mobile answered STOP; no more reminders to it");
        let now = dawr_web::clock::now();
        if let Ok(Err(e)) = db.write(move |c| opt_out(c, &mobile, now)).await {
            tracing::warn!(error = %e, "an opt-out could not be written");
        }
    }
}

/// Removes the mobile and text of reminders of bookings whose personal data went (retention).
pub fn purge(conn: &Connection) -> rusqlite::Result<usize> {
    conn.execute(
        "UPDATE sms_outbox SET mobile = '', body = '' WHERE mobile <> ''
           AND state NOT IN ('queued', 'sending')
           AND booking IN (SELECT code FROM bookings WHERE phone IS NULL)",
        [],
    )
}

/// How often the bookings are looked at and the outbox emptied.
const EVERY: Duration = Duration::from_millis(500);

/// Schedules and sends until aborted.
pub fn spawn(settings: SmsSettings, site: std::sync::Arc<Site>, db: Db) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let texts = std::sync::Arc::new(Texts::new());
        let source = if settings.sender.trim_start_matches('+').chars().all(|c| c.is_ascii_digit()) {
            Address::international(&settings.sender)
        } else {
            Address::alphanumeric(&settings.sender)
        };
        let mut client: Option<Client> = None;
        let mut reconnect_wait = Duration::ZERO;
        loop {
            tokio::time::sleep(EVERY).await;
            let now = dawr_web::clock::now();
            let (site2, texts2) = (site.clone(), texts.clone());
            if let Ok(Err(e)) = db.write(move |c| schedule(c, &site2, &texts2, now)).await {
                tracing::warn!(error = %e, "reminders could not be scheduled");
            }
            let Ok(Ok(due)) = db.write(move |c| next_due(c, now, 16)).await else { continue };
            for message in due {
                let id = message.id;
                if !message.still_wanted {
                    let _ = db
                        .write(move |c| mark_failed(c, id, "the booking was cancelled or its slot began", None))
                        .await;
                    continue;
                }
                if client.as_ref().is_none_or(Client::is_closed) {
                    client = None;
                    match Client::connect(&settings.session).await {
                        Ok((bound, inbound)) => {
                            tracing::info!(smsc = %settings.session.address, "bound to the SMSC");
                            tokio::spawn(take_stops(inbound, db.clone()));
                            client = Some(bound);
                            reconnect_wait = Duration::ZERO;
                        }
                        Err(e) => {
                            reconnect_wait =
                                (reconnect_wait * 2).max(Duration::from_millis(250)).min(settings.max_backoff);
                            tracing::warn!(error = %e, "cannot bind to the SMSC; reminders wait");
                            tokio::time::sleep(reconnect_wait).await;
                            break;
                        }
                    }
                }
                let Some(bound) = client.clone() else { break };
                if !matches!(db.write(move |c| mark_sending(c, id)).await, Ok(Ok(()))) {
                    continue;
                }
                let to = message.mobile.trim_start_matches('+').to_string();
                let sent = bound.submit_text(&source, &to, &message.body, (id % 255 + 1) as u8).await;
                let now = dawr_web::clock::now();
                let max = settings.max_backoff;
                let _ = match sent {
                    Ok(ids) => db.write(move |c| mark_submitted(c, id, ids.len(), now)).await,
                    Err(e) => {
                        let retry = e.is_transient().then(|| {
                            now + chrono::Duration::from_std(backoff(message.attempts + 1, max)).unwrap_or_default()
                        });
                        let error = e.to_string();
                        db.write(move |c| mark_failed(c, id, &error, retry)).await
                    }
                };
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_day_before_then_an_hour_before_and_nothing_once_it_began() {
        let start: DateTime<Utc> = "2026-11-24T07:00:00Z".parse().unwrap();
        let booked = start - chrono::Duration::days(3);
        let at = |h: i64, m: i64| start - chrono::Duration::hours(h) - chrono::Duration::minutes(m);
        assert!(due(start, booked, at(25, 0)).is_empty(), "more than a day ahead");
        assert_eq!(due(start, booked, at(24, 0)), [Kind::Day]);
        assert_eq!(due(start, booked, at(2, 0)), [Kind::Day]);
        assert_eq!(due(start, booked, at(1, 0)), [Kind::Hour]);
        assert_eq!(due(start, booked, at(0, 1)), [Kind::Hour]);
        assert!(due(start, booked, start).is_empty(), "the slot began");
        assert!(due(start, at(5, 0), at(4, 0)).is_empty(), "booked within the day: no day reminder");
        assert_eq!(backoff(1, Duration::from_secs(60)), Duration::from_secs(1));
        assert_eq!(backoff(4, Duration::from_secs(5)), Duration::from_secs(5));
    }
}
