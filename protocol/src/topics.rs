//! The MQTT topic tree.
//!
//! Every topic lives under `dawr/v1/{branch}`. A [`Topic`] is built from its parts and printed
//! with `Display` (or written into a `heapless::String` without `std`); [`Topic::parse`] reads
//! one back. Identifiers (branch, counter, device) are 1–32 characters of `A–Z a–z 0–9 _ -`, so
//! they can never contain MQTT wildcards or separators.
use core::fmt;

/// The first segment of every Dawr topic.
pub const ROOT: &str = "dawr";

/// Longest identifier allowed in a topic segment.
pub const MAX_ID_LEN: usize = 32;

/// A concrete (wildcard-free) Dawr topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic<'a> {
    /// `…/counters/{counter}/command` — device or app → hub (QoS 1).
    CounterCommand { branch: &'a str, counter: &'a str },
    /// `…/counters/{counter}/reply` — hub → device, one reply per command id (QoS 1).
    CounterReply { branch: &'a str, counter: &'a str },
    /// `…/counters/{counter}/state` — hub → devices, retained.
    CounterState { branch: &'a str, counter: &'a str },
    /// `…/counters/{counter}/rating` — satisfaction terminal → hub, answered on `…/reply` (QoS 1).
    CounterRating { branch: &'a str, counter: &'a str },
    /// `…/calls` — hub → displays, one message per call or recall (QoS 1).
    Calls { branch: &'a str },
    /// `…/board` — hub → displays, retained summary of recent calls and waiting counts.
    Board { branch: &'a str },
    /// `…/devices/{device}/status` — every client's presence, retained, set by its last will.
    DeviceStatus { branch: &'a str, device: &'a str },
    /// `…/devices/{device}/update/offer` — hub → that button, retained: the firmware image a
    /// manager chose for it (an empty retained message withdraws it).
    UpdateOffer { branch: &'a str, device: &'a str },
    /// `…/devices/{device}/update/request` — that button → hub: a chunk of the image it is offered.
    UpdateRequest { branch: &'a str, device: &'a str },
    /// `…/devices/{device}/update/chunk` — hub → that button: a chunk asked for, or why not.
    UpdateChunk { branch: &'a str, device: &'a str },
    /// `…/devices/{device}/update/state` — that button → hub, retained: where its update stands.
    UpdateState { branch: &'a str, device: &'a str },
}

/// Subscription filters the hub and displays use (these contain the `+` wildcard).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter<'a> {
    /// `dawr/v1/{branch}/counters/+/command`
    AllCounterCommands { branch: &'a str },
    /// `dawr/v1/{branch}/counters/+/rating`
    AllCounterRatings { branch: &'a str },
    /// `dawr/v1/{branch}/devices/+/status`
    AllDeviceStatus { branch: &'a str },
    /// `dawr/v1/{branch}/devices/+/update/request`
    AllUpdateRequests { branch: &'a str },
    /// `dawr/v1/{branch}/devices/+/update/state`
    AllUpdateStates { branch: &'a str },
}

/// Why a topic string is not a Dawr topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TopicError {
    /// It does not start with `dawr/v1/`.
    NotDawr,
    /// A branch, counter or device identifier is empty, too long, or has a forbidden character.
    BadIdentifier,
    /// The segments after the branch name no known topic.
    UnknownTopic,
}

impl fmt::Display for TopicError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TopicError::NotDawr => "topic does not start with dawr/v1/",
            TopicError::BadIdentifier => "identifier must be 1-32 characters of A-Z a-z 0-9 _ -",
            TopicError::UnknownTopic => "unknown topic",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for TopicError {}

/// True when `id` may be used as a branch, counter, device or service identifier.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= MAX_ID_LEN && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

impl<'a> Topic<'a> {
    /// Reads a topic string. Identifiers are validated with [`is_valid_id`].
    pub fn parse(topic: &'a str) -> Result<Topic<'a>, TopicError> {
        let mut parts = topic.split('/');
        if parts.next() != Some(ROOT) || parts.next() != Some(crate::VERSION) {
            return Err(TopicError::NotDawr);
        }
        let branch = id(parts.next())?;
        let rest = (parts.next(), parts.next(), parts.next(), parts.next(), parts.next());
        let parsed = match rest {
            (Some("calls"), None, None, None, None) => Topic::Calls { branch },
            (Some("board"), None, None, None, None) => Topic::Board { branch },
            (Some("counters"), Some(counter), Some(leaf), None, None) => {
                let counter = id(Some(counter))?;
                match leaf {
                    "command" => Topic::CounterCommand { branch, counter },
                    "reply" => Topic::CounterReply { branch, counter },
                    "state" => Topic::CounterState { branch, counter },
                    "rating" => Topic::CounterRating { branch, counter },
                    _ => return Err(TopicError::UnknownTopic),
                }
            }
            (Some("devices"), Some(device), Some("status"), None, None) => {
                Topic::DeviceStatus { branch, device: id(Some(device))? }
            }
            (Some("devices"), Some(device), Some("update"), Some(leaf), None) => {
                let device = id(Some(device))?;
                match leaf {
                    "offer" => Topic::UpdateOffer { branch, device },
                    "request" => Topic::UpdateRequest { branch, device },
                    "chunk" => Topic::UpdateChunk { branch, device },
                    "state" => Topic::UpdateState { branch, device },
                    _ => return Err(TopicError::UnknownTopic),
                }
            }
            _ => return Err(TopicError::UnknownTopic),
        };
        Ok(parsed)
    }

    /// The branch this topic belongs to.
    pub fn branch(&self) -> &'a str {
        match *self {
            Topic::CounterCommand { branch, .. }
            | Topic::CounterReply { branch, .. }
            | Topic::CounterState { branch, .. }
            | Topic::CounterRating { branch, .. }
            | Topic::Calls { branch }
            | Topic::Board { branch }
            | Topic::DeviceStatus { branch, .. }
            | Topic::UpdateOffer { branch, .. }
            | Topic::UpdateRequest { branch, .. }
            | Topic::UpdateChunk { branch, .. }
            | Topic::UpdateState { branch, .. } => branch,
        }
    }
}

fn id(segment: Option<&str>) -> Result<&str, TopicError> {
    match segment {
        Some(s) if is_valid_id(s) => Ok(s),
        _ => Err(TopicError::BadIdentifier),
    }
}

impl fmt::Display for Topic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = crate::VERSION;
        match self {
            Topic::CounterCommand { branch, counter } => {
                write!(f, "{ROOT}/{v}/{branch}/counters/{counter}/command")
            }
            Topic::CounterReply { branch, counter } => {
                write!(f, "{ROOT}/{v}/{branch}/counters/{counter}/reply")
            }
            Topic::CounterState { branch, counter } => {
                write!(f, "{ROOT}/{v}/{branch}/counters/{counter}/state")
            }
            Topic::CounterRating { branch, counter } => {
                write!(f, "{ROOT}/{v}/{branch}/counters/{counter}/rating")
            }
            Topic::Calls { branch } => write!(f, "{ROOT}/{v}/{branch}/calls"),
            Topic::Board { branch } => write!(f, "{ROOT}/{v}/{branch}/board"),
            Topic::DeviceStatus { branch, device } => {
                write!(f, "{ROOT}/{v}/{branch}/devices/{device}/status")
            }
            Topic::UpdateOffer { branch, device } => write!(f, "{ROOT}/{v}/{branch}/devices/{device}/update/offer"),
            Topic::UpdateRequest { branch, device } => {
                write!(f, "{ROOT}/{v}/{branch}/devices/{device}/update/request")
            }
            Topic::UpdateChunk { branch, device } => write!(f, "{ROOT}/{v}/{branch}/devices/{device}/update/chunk"),
            Topic::UpdateState { branch, device } => write!(f, "{ROOT}/{v}/{branch}/devices/{device}/update/state"),
        }
    }
}

impl fmt::Display for Filter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = crate::VERSION;
        match self {
            Filter::AllCounterCommands { branch } => {
                write!(f, "{ROOT}/{v}/{branch}/counters/+/command")
            }
            Filter::AllCounterRatings { branch } => write!(f, "{ROOT}/{v}/{branch}/counters/+/rating"),
            Filter::AllDeviceStatus { branch } => write!(f, "{ROOT}/{v}/{branch}/devices/+/status"),
            Filter::AllUpdateRequests { branch } => write!(f, "{ROOT}/{v}/{branch}/devices/+/update/request"),
            Filter::AllUpdateStates { branch } => write!(f, "{ROOT}/{v}/{branch}/devices/+/update/state"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(branch: &'static str) -> [Topic<'static>; 11] {
        [
            Topic::CounterCommand { branch, counter: "3" },
            Topic::CounterRating { branch, counter: "3" },
            Topic::CounterReply { branch, counter: "3" },
            Topic::CounterState { branch, counter: "12" },
            Topic::Calls { branch },
            Topic::Board { branch },
            Topic::DeviceStatus { branch, device: "button-3" },
            Topic::UpdateOffer { branch, device: "button-3" },
            Topic::UpdateRequest { branch, device: "button-3" },
            Topic::UpdateChunk { branch, device: "button-3" },
            Topic::UpdateState { branch, device: "button-3" },
        ]
    }

    #[test]
    fn every_topic_round_trips_through_its_string() {
        for topic in all("demo") {
            let text = topic.to_string();
            assert!(text.starts_with("dawr/v1/demo/"), "{text}");
            assert_eq!(Topic::parse(&text), Ok(topic));
        }
    }

    #[test]
    fn topics_have_the_documented_shape() {
        let t = Topic::CounterCommand { branch: "demo", counter: "3" };
        assert_eq!(t.to_string(), "dawr/v1/demo/counters/3/command");
        let f = Filter::AllCounterCommands { branch: "demo" };
        assert_eq!(f.to_string(), "dawr/v1/demo/counters/+/command");
        assert_eq!(Topic::Board { branch: "riyadh-1" }.to_string(), "dawr/v1/riyadh-1/board");
    }

    #[test]
    fn topics_can_be_written_without_std() {
        use core::fmt::Write;
        let mut s: heapless::String<64> = heapless::String::new();
        write!(s, "{}", Topic::CounterReply { branch: "demo", counter: "7" }).unwrap();
        assert_eq!(s.as_str(), "dawr/v1/demo/counters/7/reply");
    }

    #[test]
    fn wrong_topics_are_rejected_with_a_reason() {
        assert_eq!(Topic::parse("other/v1/demo/calls"), Err(TopicError::NotDawr));
        assert_eq!(Topic::parse("dawr/v2/demo/calls"), Err(TopicError::NotDawr));
        assert_eq!(Topic::parse("dawr/v1/demo/counters/+/command"), Err(TopicError::BadIdentifier));
        assert_eq!(Topic::parse("dawr/v1//calls"), Err(TopicError::BadIdentifier));
        assert_eq!(Topic::parse("dawr/v1/demo/counters/3/explode"), Err(TopicError::UnknownTopic));
        assert_eq!(Topic::parse("dawr/v1/demo/calls/extra"), Err(TopicError::UnknownTopic));
        assert_eq!(Topic::parse("dawr/v1/demo/devices/b/update/other"), Err(TopicError::UnknownTopic));
        assert_eq!(Topic::parse("dawr/v1/demo/devices/b/update/offer/x"), Err(TopicError::UnknownTopic));
        assert_eq!(Topic::parse("dawr/v1/demo/devices/b/status/x"), Err(TopicError::UnknownTopic));
        let long = "dawr/v1/demo/counters/123456789012345678901234567890123/command";
        assert_eq!(Topic::parse(long), Err(TopicError::BadIdentifier));
    }
}
