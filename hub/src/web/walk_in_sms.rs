//! A mobile given with the ticket request (`sms` in `POST /api/v1/tickets`, from the kiosk's
//! ticket screen): checked before the ticket is issued (a malformed mobile or language is a 400
//! and no ticket), and after it the ticket is subscribed to the "N ahead" and "called" messages
//! in the kiosk session's language. The ticket matters more than its messages: a hub without
//! `[sms]`, a mobile that answered STOP or was given for too many tickets today leave the
//! ticket issued without messages (logged), never refused.
use dawr_protocol::api::sms::TicketSms;
use dawr_web::{WebError, WebResult};

use super::AppState;
use super::sms::SUBSCRIPTIONS_PER_MOBILE_PER_DAY;
use crate::sms::{outbox, rules};

/// A checked `sms` field: the mobile as the outbox keeps it and the language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalkInSms {
    pub mobile: String,
    pub lang: &'static str,
}

/// Checks the request's `sms` field (before issuing).
pub fn check(sms: Option<&TicketSms>) -> WebResult<Option<WalkInSms>> {
    let Some(sms) = sms else { return Ok(None) };
    let mobile = rules::saudi_mobile(&sms.mobile).ok_or_else(|| {
        WebError::malformed("sms.mobile must be a Saudi mobile (05XXXXXXXX or +9665XXXXXXXX)").with_field("sms.mobile")
    })?;
    let lang = match sms.lang.as_deref() {
        None | Some("ar") => "ar",
        Some("en") => "en",
        Some(_) => return Err(WebError::malformed("sms.lang must be ar or en").with_field("sms.lang")),
    };
    Ok(Some(WalkInSms { mobile, lang }))
}

/// Why a walk-in's mobile was not subscribed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Skipped {
    OptedOut,
    TooMany,
}

/// Subscribes the issued ticket `visit` to its messages (see the module's text).
pub async fn subscribe(state: &AppState, visit: u64, sms: WalkInSms) {
    if state.sms.is_none() {
        tracing::info!("a mobile came with a ticket but this hub has no [sms]: no messages");
        return;
    }
    let now = crate::clock::now();
    let written = state
        .db
        .write(move |c| -> rusqlite::Result<Option<Skipped>> {
            if outbox::is_opted_out(c, &sms.mobile)? {
                return Ok(Some(Skipped::OptedOut));
            }
            let today = outbox::subscriptions_since(c, &sms.mobile, now - chrono::Duration::days(1))?;
            if today >= SUBSCRIPTIONS_PER_MOBILE_PER_DAY {
                return Ok(Some(Skipped::TooMany));
            }
            outbox::subscribe(c, visit as i64, &sms.mobile, sms.lang, now)?;
            Ok(None)
        })
        .await;
    match written {
        Ok(Ok(None)) => {}
        Ok(Ok(Some(skipped))) => tracing::info!(?skipped, ticket = visit, "a kiosk ticket's mobile gets no messages"),
        Ok(Err(e)) => tracing::warn!(error = %e, "a kiosk ticket's mobile could not be recorded"),
        Err(e) => tracing::warn!(error = %e, "a kiosk ticket's mobile could not be recorded"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mobile_and_language_are_checked() {
        let sms = |mobile: &str, lang: Option<&str>| TicketSms { mobile: mobile.into(), lang: lang.map(Into::into) };
        assert_eq!(check(None).unwrap(), None);
        let ok = check(Some(&sms("0501234567", None))).unwrap().unwrap();
        assert_eq!(ok, WalkInSms { mobile: "+966501234567".into(), lang: "ar" });
        assert_eq!(check(Some(&sms("0501234567", Some("en")))).unwrap().unwrap().lang, "en");
        assert!(check(Some(&sms("0401234567", None))).is_err());
        assert!(check(Some(&sms("0501234567", Some("fr")))).is_err());
    }
}
