//! The SMS outbox's rules, pure (the time is an argument): which mobiles are Saudi mobiles, which
//! incoming texts ask to stop, how long to wait before a retry, and the pacing that keeps
//! submissions under the gateway's messages per second.
use std::time::Duration;

use chrono::{DateTime, Utc};

/// A Saudi mobile as the outbox keeps it, `+9665XXXXXXXX`, from `05XXXXXXXX`, `5XXXXXXXX`,
/// `9665…`, `+9665…` or `009665…` (spaces and dashes ignored, Arabic-Indic digits accepted);
/// `None` for anything else.
pub fn saudi_mobile(typed: &str) -> Option<String> {
    dawr_protocol::api::sms::saudi_mobile(typed)
}

/// Whether an incoming text asks for no more messages (`dawr_protocol::api::sms::is_stop`, which
/// the appointments site shares).
pub fn is_stop(text: &str) -> bool {
    dawr_protocol::api::sms::is_stop(text)
}

/// The wait before retry number `attempts` (1 after the first failure): 1 s doubling up to `max`.
pub fn backoff(attempts: u32, max: Duration) -> Duration {
    let doubled = Duration::from_secs(1).saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    doubled.min(max)
}

/// What happens to a message whose send failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterFailure {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// Give up: the gateway refused the message itself, or it is too old to be of use.
    GiveUp,
}

/// Decides a failed message's fate: a refusal of the message is final; a transient failure is
/// retried with back-off until the message is `expire_after` old.
pub fn after_failure(
    transient: bool,
    attempts: u32,
    created_at: DateTime<Utc>,
    now: DateTime<Utc>,
    max_backoff: Duration,
    expire_after: Duration,
) -> AfterFailure {
    let plus = |at: DateTime<Utc>, wait: Duration| {
        chrono::Duration::from_std(wait).ok().and_then(|d| at.checked_add_signed(d)).unwrap_or(DateTime::<Utc>::MAX_UTC)
    };
    let (expires, next) = (plus(created_at, expire_after), plus(now, backoff(attempts, max_backoff)));
    if !transient || next > expires { AfterFailure::GiveUp } else { AfterFailure::RetryAt(next) }
}

/// Keeps submissions under `per_second` (each part of a long text counts): a token bucket of one
/// second's worth, filled as time passes.
#[derive(Debug, Clone)]
pub struct Pacer {
    per_second: f64,
    tokens: f64,
    at: Option<DateTime<Utc>>,
}

impl Pacer {
    pub fn new(per_second: f64) -> Pacer {
        let per_second = per_second.max(0.1);
        Pacer { per_second, tokens: per_second.max(1.0), at: None }
    }

    /// How long to wait before `parts` may go at `now` (zero: now; the parts are then taken).
    pub fn wait(&mut self, parts: u32, now: DateTime<Utc>) -> Duration {
        let elapsed = self.at.map_or(0.0, |at| (now - at).num_microseconds().unwrap_or(0).max(0) as f64 / 1e6);
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.per_second.max(1.0));
        self.at = Some(now);
        let need = parts as f64;
        if self.tokens >= need.min(self.per_second.max(1.0)) {
            self.tokens -= need;
            Duration::ZERO
        } else {
            Duration::from_secs_f64((need - self.tokens) / self.per_second)
        }
    }
}

/// What a subscribed ticket is owed now, given what was sent already.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// `ahead` visitors are ahead of it: at most `notify_ahead`, not yet told.
    Near { ahead: u32 },
    /// It was called to `counter`, not yet told.
    Called { counter: String },
    /// A remote ticket at the front whose holder has not checked in: check in at the kiosk now.
    CheckIn,
    /// Nothing more will be sent (it left the queue without being called, or was told both).
    Done,
    /// It was cancelled because a manager closed its service (or the branch) for the day.
    Closed,
}

/// What a ticket that left the queue is told: that its service closed, when that is why it was
/// cancelled; else nothing.
pub fn ended(notice: Notice, closed_by_branch: bool) -> Notice {
    match notice {
        Notice::Done if closed_by_branch => Notice::Closed,
        other => other,
    }
}

/// Decides the next message for a subscribed ticket from its state (`None`: not live any more);
/// `position` 1 means next. Each notice is sent at most once; a ticket called before it was
/// told it was near is told only that it is called. `owed_check_in`: a remote ticket held at the
/// front, not checked in, not yet told to.
pub fn notice(
    waiting_position: Option<u32>,
    called_to: Option<&str>,
    live: bool,
    near_sent: bool,
    notify_ahead: u32,
    owed_check_in: bool,
) -> Option<Notice> {
    if let Some(counter) = called_to {
        return Some(Notice::Called { counter: counter.to_string() });
    }
    if !live {
        return Some(Notice::Done);
    }
    if owed_check_in {
        return Some(Notice::CheckIn);
    }
    let ahead = waiting_position?.saturating_sub(1);
    (!near_sent && ahead <= notify_ahead).then_some(Notice::Near { ahead })
}

/// A message's text for the SMS: Fluent's direction isolates (U+2068, U+2069) dropped, as they
/// would force a Latin text into UCS-2 and mean nothing on most phones.
pub fn sms_text(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, '\u{2066}'..='\u{2069}')).collect()
}

/// A reference for the concatenation UDH of a message (its parts share it).
pub fn concat_reference(outbox_id: i64) -> u8 {
    (outbox_id % 255 + 1) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saudi_mobiles_are_one_form_however_typed() {
        for typed in ["0501234567", "+966501234567", "966 50 123 4567", "00966501234567", "501234567", "٠٥٠١٢٣٤٥٦٧"]
        {
            assert_eq!(saudi_mobile(typed).as_deref(), Some("+966501234567"), "{typed}");
        }
        for bad in ["0401234567", "050123456", "05012345678", "+44501234567", "05O1234567", "", "5+01234567"] {
            assert_eq!(saudi_mobile(bad), None, "{bad}");
        }
    }

    #[test]
    fn stop_and_ilgha_stop_but_sentences_do_not() {
        for text in ["STOP", "stop", " Stop. ", "إلغاء", "الغاء"] {
            assert!(is_stop(text), "{text}");
        }
        for text in ["don't stop", "إلغاء الموعد غدا", "ok", ""] {
            assert!(!is_stop(text), "{text}");
        }
    }

    #[test]
    fn retries_back_off_and_give_up_when_refused_or_stale() {
        let max = Duration::from_secs(60);
        assert_eq!(backoff(1, max), Duration::from_secs(1));
        assert_eq!(backoff(3, max), Duration::from_secs(4));
        assert_eq!(backoff(30, max), max);
        let t0: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let expire = Duration::from_secs(600);
        let at = |s: i64| t0 + chrono::Duration::seconds(s);
        assert_eq!(after_failure(true, 2, t0, at(10), max, expire), AfterFailure::RetryAt(at(12)));
        assert_eq!(after_failure(false, 1, t0, at(10), max, expire), AfterFailure::GiveUp, "a refusal is final");
        assert_eq!(after_failure(true, 9, t0, at(590), max, expire), AfterFailure::GiveUp, "stale");
    }

    #[test]
    fn near_once_then_called_once() {
        assert_eq!(notice(Some(6), None, true, false, 3, false), None, "5 ahead: not yet");
        assert_eq!(notice(Some(4), None, true, false, 3, false), Some(Notice::Near { ahead: 3 }));
        assert_eq!(notice(Some(2), None, true, true, 3, false), None, "near is said once");
        assert_eq!(notice(None, Some("3"), true, true, 3, false), Some(Notice::Called { counter: "3".into() }));
        assert_eq!(notice(None, Some("3"), true, false, 3, false), Some(Notice::Called { counter: "3".into() }));
        assert_eq!(notice(None, None, false, false, 3, false), Some(Notice::Done), "cancelled or gone");
        assert_eq!(notice(Some(1), None, true, false, 0, false), Some(Notice::Near { ahead: 0 }));
        assert_eq!(notice(Some(1), None, true, true, 3, true), Some(Notice::CheckIn), "held at the front");
        assert_eq!(notice(None, None, false, true, 3, true), Some(Notice::Done), "a no-show is told nothing");
        assert_eq!(sms_text("Dawr: ticket \u{2068}A012\u{2069}"), "Dawr: ticket A012");
        assert_eq!(ended(Notice::Done, true), Notice::Closed, "cancelled because its service closed");
        assert_eq!(ended(Notice::Done, false), Notice::Done);
        assert_eq!(ended(Notice::CheckIn, true), Notice::CheckIn);
    }

    #[test]
    fn the_pacer_keeps_to_the_rate() {
        let t0: DateTime<Utc> = "2026-11-28T10:00:00Z".parse().unwrap();
        let mut pacer = Pacer::new(2.0);
        assert_eq!(pacer.wait(1, t0), Duration::ZERO);
        assert_eq!(pacer.wait(1, t0), Duration::ZERO, "a second's worth at once");
        assert_eq!(pacer.wait(1, t0), Duration::from_millis(500));
        assert_eq!(pacer.wait(1, t0 + chrono::Duration::milliseconds(500)), Duration::ZERO);
        // In a long run, 100 messages take about 50 s.
        let (mut now, mut sent) = (t0 + chrono::Duration::seconds(10), 0);
        let start = now;
        while sent < 100 {
            let wait = pacer.wait(1, now);
            if wait.is_zero() {
                sent += 1;
            } else {
                now += chrono::Duration::from_std(wait).unwrap();
            }
        }
        let took = (now - start).num_milliseconds();
        assert!((49_000..=50_500).contains(&took), "{took} ms");
    }
}
