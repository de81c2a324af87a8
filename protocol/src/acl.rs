//! Who may publish and subscribe to what: the access rules every broker in front of a hub
//! enforces (the hub's embedded gate, and Mosquitto through the files `dawr-hub mosquitto-config`
//! writes).
//!
//! A device is enrolled with a [`Role`] and, for buttons, counter apps and rating terminals, a
//! counter. Its MQTT username and client id are its device id. [`grants`] lists exactly the
//! topics it may use; [`may_publish`] and [`may_subscribe`] answer for one topic or filter. The
//! rules are pure and `no_std`, so a vendor's firmware and tests can read the same contract
//! `docs/PROTOCOL.md` writes out. Device subscriptions are exact topics (no wildcards); only the
//! hub subscribes with wildcards and publishes `…/calls`, `…/board`, `…/counters/+/state` and
//! `…/counters/+/reply`.
use core::fmt;

use serde::{Deserialize, Serialize};

use crate::topics::{Topic, is_valid_id};

/// What an enrolled device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Role {
    /// A counter's call button: sends commands, reads its counter's replies and state.
    Button,
    /// The counter app at a desk: a button's rights, and it reads the board.
    CounterApp,
    /// A ticket kiosk: only says it is online (tickets are issued over HTTP).
    Kiosk,
    /// A display board: reads calls and the board.
    Display,
    /// A satisfaction terminal: sends ratings, reads its counter's replies and state.
    Rating,
}

impl Role {
    /// Every role, in the order the documentation lists them.
    pub const ALL: [Role; 5] = [Role::Button, Role::CounterApp, Role::Kiosk, Role::Display, Role::Rating];

    /// The role's name on the command line and in JSON (`counter-app`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Role::Button => "button",
            Role::CounterApp => "counter-app",
            Role::Kiosk => "kiosk",
            Role::Display => "display",
            Role::Rating => "rating",
        }
    }

    /// Reads a role's name.
    pub fn parse(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == name)
    }

    /// Whether devices of this role belong to one counter (and must be enrolled with it).
    pub const fn has_counter(self) -> bool {
        matches!(self, Role::Button | Role::CounterApp | Role::Rating)
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An enrolled device as the rules see it: its id (= MQTT username = client id), its role and
/// its counter (for roles that have one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Device<'a> {
    pub id: &'a str,
    pub role: Role,
    pub counter: Option<&'a str>,
}

/// Why a device cannot be enrolled as given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnrolError {
    /// The id is not 1–32 characters of `A–Z a–z 0–9 _ -`.
    BadId,
    /// `hub` and ids starting `dawr-hub` are the hubs' own.
    ReservedId,
    /// A button, counter app or rating terminal needs a counter.
    CounterMissing,
    /// Kiosks and displays serve the whole branch: no counter.
    CounterNotExpected,
    /// The counter is not a valid identifier.
    BadCounter,
}

impl fmt::Display for EnrolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EnrolError::BadId => "a device id is 1-32 characters of A-Z a-z 0-9 _ -",
            EnrolError::ReservedId => "the device id hub and ids starting with dawr-hub are reserved for the hub",
            EnrolError::CounterMissing => "a button, counter-app or rating device needs --counter",
            EnrolError::CounterNotExpected => "kiosks and displays are enrolled without a counter",
            EnrolError::BadCounter => "a counter id is 1-32 characters of A-Z a-z 0-9 _ -",
        })
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EnrolError {}

/// The prefix of every hub's account (`dawr-hub-{branch}`), which no device may take.
pub const HUB_PREFIX: &str = "dawr-hub";
/// The hub's own presence id (`…/devices/hub/status`), which no device may take.
pub const HUB_DEVICE: &str = "hub";

/// Whether `id` belongs to the hub: `hub` and everything starting with `dawr-hub`.
pub fn is_reserved_id(id: &str) -> bool {
    id == HUB_DEVICE || id.starts_with(HUB_PREFIX)
}

impl<'a> Device<'a> {
    /// Checks that a device can be enrolled like this.
    pub fn new(id: &'a str, role: Role, counter: Option<&'a str>) -> Result<Device<'a>, EnrolError> {
        if !is_valid_id(id) {
            return Err(EnrolError::BadId);
        }
        if is_reserved_id(id) {
            return Err(EnrolError::ReservedId);
        }
        match (role.has_counter(), counter) {
            (true, None) => Err(EnrolError::CounterMissing),
            (false, Some(_)) => Err(EnrolError::CounterNotExpected),
            (_, Some(c)) if !is_valid_id(c) => Err(EnrolError::BadCounter),
            _ => Ok(Device { id, role, counter }),
        }
    }
}

/// Publish or subscribe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    Publish,
    Subscribe,
}

/// One right: a device may publish to, or subscribe to, one exact topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Grant<'a> {
    pub access: Access,
    pub topic: Topic<'a>,
}

/// The hub's MQTT username and client id for a branch: `dawr-hub-{branch}`.
pub struct HubAccount<'a>(pub &'a str);

impl fmt::Display for HubAccount<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{HUB_PREFIX}-{}", self.0)
    }
}

/// Every right a device has on `branch` (at most nine), and nothing else. A counter button also
/// takes firmware updates: it reads its own offer and chunks and sends its own chunk requests and
/// update state (`…/devices/{device}/update/…`).
pub fn grants<'a>(branch: &'a str, device: &Device<'a>) -> impl Iterator<Item = Grant<'a>> + 'a {
    let publish = |topic| Some(Grant { access: Access::Publish, topic });
    let subscribe = |topic| Some(Grant { access: Access::Subscribe, topic });
    let status = publish(Topic::DeviceStatus { branch, device: device.id });
    let none = None;
    let device_id = device.id;
    let list: [Option<Grant<'a>>; 9] = match (device.role, device.counter) {
        (Role::Button, Some(counter)) => [
            status,
            publish(Topic::CounterCommand { branch, counter }),
            subscribe(Topic::CounterReply { branch, counter }),
            subscribe(Topic::CounterState { branch, counter }),
            subscribe(Topic::UpdateOffer { branch, device: device_id }),
            subscribe(Topic::UpdateChunk { branch, device: device_id }),
            publish(Topic::UpdateRequest { branch, device: device_id }),
            publish(Topic::UpdateState { branch, device: device_id }),
            none,
        ],
        (Role::CounterApp, Some(counter)) => [
            status,
            publish(Topic::CounterCommand { branch, counter }),
            subscribe(Topic::CounterReply { branch, counter }),
            subscribe(Topic::CounterState { branch, counter }),
            subscribe(Topic::Board { branch }),
            none,
            none,
            none,
            none,
        ],
        (Role::Rating, Some(counter)) => [
            status,
            publish(Topic::CounterRating { branch, counter }),
            subscribe(Topic::CounterReply { branch, counter }),
            subscribe(Topic::CounterState { branch, counter }),
            none,
            none,
            none,
            none,
            none,
        ],
        (Role::Display, _) => [
            status,
            subscribe(Topic::Calls { branch }),
            subscribe(Topic::Board { branch }),
            none,
            none,
            none,
            none,
            none,
            none,
        ],
        // A kiosk, or a counter role enrolled without its counter (refused by `Device::new`).
        _ => [status, none, none, none, none, none, none, none, none],
    };
    list.into_iter().flatten()
}

/// Whether `device` may publish to `topic` (a will topic included) on `branch`.
pub fn may_publish(branch: &str, device: &Device<'_>, topic: &str) -> bool {
    allowed(branch, device, Access::Publish, topic)
}

/// Whether `device` may subscribe to `filter` on `branch`. Filters with wildcards are refused:
/// devices subscribe to the exact topics they were granted.
pub fn may_subscribe(branch: &str, device: &Device<'_>, filter: &str) -> bool {
    allowed(branch, device, Access::Subscribe, filter)
}

fn allowed(branch: &str, device: &Device<'_>, access: Access, topic: &str) -> bool {
    let Ok(topic) = Topic::parse(topic) else { return false };
    grants(branch, device).any(|g| g.access == access && g.topic == topic)
}

/// Whether a topic is one only the hub publishes (`…/calls`, `…/board`, `…/counters/+/state`,
/// `…/counters/+/reply`, `…/devices/+/update/offer`, `…/devices/+/update/chunk`), on any
/// branch. Filters and unknown topics are not.
pub fn hub_only(topic: &str) -> bool {
    matches!(
        Topic::parse(topic),
        Ok(Topic::Calls { .. }
            | Topic::Board { .. }
            | Topic::CounterState { .. }
            | Topic::CounterReply { .. }
            | Topic::UpdateOffer { .. }
            | Topic::UpdateChunk { .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn button2() -> Device<'static> {
        Device::new("button-2", Role::Button, Some("2")).unwrap()
    }

    #[test]
    fn a_button_sends_only_its_counters_commands_and_its_own_status() {
        let b = button2();
        assert!(may_publish("demo", &b, "dawr/v1/demo/counters/2/command"));
        assert!(may_publish("demo", &b, "dawr/v1/demo/devices/button-2/status"));
        assert!(!may_publish("demo", &b, "dawr/v1/demo/counters/3/command"), "another counter");
        assert!(!may_publish("demo", &b, "dawr/v1/demo/counters/2/rating"), "a rating");
        assert!(!may_publish("demo", &b, "dawr/v1/demo/devices/kiosk-1/status"), "another device's status");
        assert!(!may_publish("demo", &b, "dawr/v1/other/counters/2/command"), "another branch");
        for hub in ["calls", "board", "counters/2/state", "counters/2/reply"] {
            assert!(!may_publish("demo", &b, &format!("dawr/v1/demo/{hub}")), "{hub}");
        }
        assert!(may_subscribe("demo", &b, "dawr/v1/demo/counters/2/reply"));
        assert!(may_subscribe("demo", &b, "dawr/v1/demo/counters/2/state"));
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/board"));
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/counters/3/reply"));
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/counters/+/reply"), "wildcards");
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/#"));
        assert!(!may_subscribe("demo", &b, "#"));
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/counters/2/command"), "other devices' commands");
    }

    #[test]
    fn a_button_reads_only_its_own_update_offer_and_chunks() {
        let b = button2();
        assert!(may_subscribe("demo", &b, "dawr/v1/demo/devices/button-2/update/offer"));
        assert!(may_subscribe("demo", &b, "dawr/v1/demo/devices/button-2/update/chunk"));
        assert!(may_publish("demo", &b, "dawr/v1/demo/devices/button-2/update/request"));
        assert!(may_publish("demo", &b, "dawr/v1/demo/devices/button-2/update/state"));
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/devices/button-3/update/offer"), "another's offer");
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/devices/button-3/update/chunk"), "another's chunks");
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/devices/+/update/chunk"), "wildcards");
        assert!(!may_publish("demo", &b, "dawr/v1/demo/devices/button-3/update/request"), "as another");
        assert!(!may_publish("demo", &b, "dawr/v1/demo/devices/button-2/update/offer"), "its own offer");
        assert!(!may_publish("demo", &b, "dawr/v1/demo/devices/button-2/update/chunk"), "its own chunks");
        assert!(!may_subscribe("demo", &b, "dawr/v1/demo/devices/button-2/update/request"));
        let app = Device::new("counter-2-app", Role::CounterApp, Some("2")).unwrap();
        assert!(!may_subscribe("demo", &app, "dawr/v1/demo/devices/counter-2-app/update/offer"), "buttons only");
        assert!(hub_only("dawr/v1/demo/devices/button-2/update/chunk"));
        assert!(!hub_only("dawr/v1/demo/devices/button-2/update/request"));
    }

    #[test]
    fn each_role_has_its_documented_rights() {
        let app = Device::new("counter-2-app", Role::CounterApp, Some("2")).unwrap();
        assert!(may_subscribe("demo", &app, "dawr/v1/demo/board"));
        assert!(may_publish("demo", &app, "dawr/v1/demo/counters/2/command"));
        let rating = Device::new("rating-2", Role::Rating, Some("2")).unwrap();
        assert!(may_publish("demo", &rating, "dawr/v1/demo/counters/2/rating"));
        assert!(!may_publish("demo", &rating, "dawr/v1/demo/counters/2/command"));
        assert!(may_subscribe("demo", &rating, "dawr/v1/demo/counters/2/reply"));
        let display = Device::new("board-1", Role::Display, None).unwrap();
        assert!(may_subscribe("demo", &display, "dawr/v1/demo/calls"));
        assert!(may_subscribe("demo", &display, "dawr/v1/demo/board"));
        assert!(!may_publish("demo", &display, "dawr/v1/demo/board"));
        assert!(!may_subscribe("demo", &display, "dawr/v1/demo/counters/2/state"));
        let kiosk = Device::new("kiosk-1", Role::Kiosk, None).unwrap();
        assert_eq!(grants("demo", &kiosk).count(), 1);
        assert!(may_publish("demo", &kiosk, "dawr/v1/demo/devices/kiosk-1/status"));
        assert!(!may_subscribe("demo", &kiosk, "dawr/v1/demo/calls"));
    }

    #[test]
    fn no_device_is_granted_a_hub_only_topic() {
        let devices = [
            button2(),
            Device::new("a", Role::CounterApp, Some("9")).unwrap(),
            Device::new("r", Role::Rating, Some("9")).unwrap(),
            Device::new("d", Role::Display, None).unwrap(),
            Device::new("k", Role::Kiosk, None).unwrap(),
        ];
        for device in devices {
            for grant in grants("demo", &device) {
                let mut text: heapless::String<96> = heapless::String::new();
                core::fmt::write(&mut text, format_args!("{}", grant.topic)).unwrap();
                if grant.access == Access::Publish {
                    assert!(!hub_only(&text), "{device:?} may publish {text}");
                }
            }
        }
    }

    #[test]
    fn enrolment_checks_ids_roles_and_counters() {
        assert_eq!(Device::new("dawr-hub-demo", Role::Kiosk, None), Err(EnrolError::ReservedId));
        assert_eq!(Device::new("hub", Role::Display, None), Err(EnrolError::ReservedId), "the hub's presence id");
        assert_eq!(Device::new("a/b", Role::Kiosk, None), Err(EnrolError::BadId));
        assert_eq!(Device::new("b", Role::Button, None), Err(EnrolError::CounterMissing));
        assert_eq!(Device::new("k", Role::Kiosk, Some("2")), Err(EnrolError::CounterNotExpected));
        assert_eq!(Device::new("b", Role::Button, Some("#")), Err(EnrolError::BadCounter));
        assert_eq!(Role::parse("counter-app"), Some(Role::CounterApp));
        assert_eq!(Role::parse("admin"), None);
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Some(role));
        }
    }
}
