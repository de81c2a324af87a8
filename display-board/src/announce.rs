//! What the board says for a call, and in what order calls are spoken.
//!
//! An announcement is a chime, then Arabic, then English, made of short clips from a voice pack
//! ([`crate::voice`]): "التذكرة إيه مئة وسبعة عشر إلى الشباك رقم ثلاثة" / "Ticket A one one
//! seven, counter three". Arabic reads the ticket's number as a number, English digit by digit.
//! Calls are spoken one after the other in arrival order, each once (by call id); a call older
//! than the configured age when its turn comes is shown but not spoken, so a board that
//! reconnects does not recite a backlog.
use std::collections::{HashSet, VecDeque};

use chrono::{DateTime, Duration, Utc};
use dawr_i18n::Lang;
use dawr_protocol::api::Call;

/// The clip keys for one language's part of an announcement.
pub fn clips(lang: Lang, ticket: &str, counter: &str) -> Vec<String> {
    let split = ticket.find(|c: char| c.is_ascii_digit()).unwrap_or(ticket.len());
    let (letters, digits) = ticket.split_at(split);
    let mut keys = vec!["ticket".to_string()];
    keys.extend(letters.chars().map(|c| format!("letter-{}", c.to_ascii_lowercase())));
    match lang {
        Lang::Ar => {
            keys.extend(number(digits));
            keys.push("to-counter".into());
        }
        Lang::En => {
            keys.extend(digits.chars().map(|d| format!("n-{d}")));
            keys.push("counter".into());
        }
    }
    keys.extend(number(counter));
    keys
}

/// A number as clips: up to 999 by hundreds (`n-100`…`n-900`), `and`, and `n-0`…`n-99`;
/// anything else character by character.
fn number(text: &str) -> Vec<String> {
    match text.parse::<u32>() {
        Ok(n) if n < 100 && !text.is_empty() => vec![format!("n-{n}")],
        Ok(n) if n < 1000 => {
            let (hundreds, rest) = (n / 100 * 100, n % 100);
            let mut keys = vec![format!("n-{hundreds}")];
            if rest > 0 {
                keys.push("and".into());
                keys.push(format!("n-{rest}"));
            }
            keys
        }
        _ => text
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .map(|c| if c.is_ascii_digit() { format!("n-{c}") } else { format!("letter-{}", c.to_ascii_lowercase()) })
            .collect(),
    }
}

/// One call to speak: the chime, then each language's clips.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub call_id: u64,
    pub parts: Vec<(Option<Lang>, Vec<String>)>,
}

impl Announcement {
    pub fn for_call(call: &Call) -> Self {
        Announcement {
            call_id: call.id,
            parts: vec![
                (None, vec!["chime".into()]),
                (Some(Lang::Ar), clips(Lang::Ar, &call.ticket, &call.counter)),
                (Some(Lang::En), clips(Lang::En, &call.ticket, &call.counter)),
            ],
        }
    }
}

/// The queue of calls waiting to be spoken.
#[derive(Debug)]
pub struct Announcer {
    max_age: Duration,
    queue: VecDeque<Call>,
    seen: HashSet<u64>,
}

impl Announcer {
    pub fn new(max_age: Duration) -> Self {
        Announcer { max_age, queue: VecDeque::new(), seen: HashSet::new() }
    }

    /// A call arrived (a repeated call id is ignored).
    pub fn push(&mut self, call: Call) {
        if self.seen.insert(call.id) {
            self.queue.push_back(call);
        }
    }

    /// The next announcement to speak at `now`, skipping calls too old to speak.
    pub fn next(&mut self, now: DateTime<Utc>) -> Option<Announcement> {
        while let Some(call) = self.queue.pop_front() {
            if now - call.at <= self.max_age {
                return Some(Announcement::for_call(&call));
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dawr_protocol::api::Names;

    fn call(id: u64, ticket: &str, counter: &str, at: DateTime<Utc>) -> Call {
        let names = Names { ar: String::new(), en: String::new() };
        Call {
            id,
            ticket: ticket.into(),
            counter: counter.into(),
            service: "A".into(),
            recall: false,
            at,
            service_name: names.clone(),
            counter_name: names,
        }
    }

    #[test]
    fn arabic_reads_numbers_english_reads_digits() {
        assert_eq!(clips(Lang::Ar, "A017", "3"), ["ticket", "letter-a", "n-17", "to-counter", "n-3"]);
        assert_eq!(clips(Lang::En, "A017", "3"), ["ticket", "letter-a", "n-0", "n-1", "n-7", "counter", "n-3"]);
        assert_eq!(clips(Lang::Ar, "B117", "12"), ["ticket", "letter-b", "n-100", "and", "n-17", "to-counter", "n-12"]);
        assert_eq!(clips(Lang::Ar, "C300", "1"), ["ticket", "letter-c", "n-300", "to-counter", "n-1"]);
        assert_eq!(
            clips(Lang::En, "A1000", "2b"),
            ["ticket", "letter-a", "n-1", "n-0", "n-0", "n-0", "counter", "n-2", "letter-b"]
        );
    }

    #[test]
    fn calls_are_spoken_in_order_once_and_never_when_stale() {
        let t0: DateTime<Utc> = "2026-11-23T09:00:00Z".parse().unwrap();
        let mut a = Announcer::new(Duration::seconds(30));
        a.push(call(1, "A017", "3", t0));
        a.push(call(2, "B004", "5", t0));
        a.push(call(1, "A017", "3", t0));
        a.push(call(3, "C001", "7", t0 - Duration::minutes(5)));
        let first = a.next(t0 + Duration::seconds(1)).unwrap();
        assert_eq!(first.call_id, 1);
        assert_eq!(first.parts[0], (None, vec!["chime".to_string()]));
        assert_eq!(first.parts[1].0, Some(Lang::Ar));
        assert_eq!(first.parts[2].0, Some(Lang::En));
        assert_eq!(a.next(t0 + Duration::seconds(6)).unwrap().call_id, 2, "the second call waits its turn");
        assert_eq!(a.next(t0 + Duration::seconds(12)), None, "the repeated id and the stale call are not spoken");
    }
}
