//! A branch now, as the centre shows it (pure): its queues, counters and devices as it last
//! put them in `dawr_live`, and whether it has gone silent past the live state's age limit
//! ("offline since" the centre last heard it; the rest is what it said then).
use dawr_protocol::api::ministry::{CentralBranch, OfflineDevice};
use dawr_protocol::device::PresenceStatus;

use crate::store::BranchLive;

/// `b` as the dashboard and `GET /api/v1/branches` show it; `stale_after_s`: how long a branch
/// may be silent before it is offline.
pub fn branch_now(b: &BranchLive, region: Option<&str>, stale_after_s: f64) -> CentralBranch {
    let queues = b.board.as_ref().map(|board| board.queues.as_slice()).unwrap_or_default();
    let counters = b.counters.as_ref().map(|c| c.counters.as_slice()).unwrap_or_default();
    let devices_offline = b
        .devices
        .as_ref()
        .map(|d| d.devices.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|d| d.status == PresenceStatus::Offline)
        .map(|d| OfflineDevice { device: d.device.clone(), role: d.role, counter: d.counter.clone(), since: d.seen_at })
        .collect();
    CentralBranch {
        branch: b.branch.clone(),
        region: region.map(str::to_owned),
        last_health_at: b.last_health_at.clone(),
        stale: b.silent_s > stale_after_s,
        waiting: queues.iter().map(|q| q.waiting).sum(),
        longest_wait_s: queues.iter().map(|q| q.longest_wait_s).max(),
        counters_open: counters.iter().filter(|c| c.status == "open").count() as u32,
        counters: counters.len() as u32,
        devices_offline,
        config_revision: b.config_revision.map(|r| r as u64),
        config_refused: b.config_refused.clone(),
        last_seq: b.last_seq,
        acked_seq: b.acked_seq,
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use dawr_protocol::api::DeviceInfo;
    use dawr_protocol::api::ministry::{LiveCounter, LiveCounters, LiveDevices};

    use super::*;

    fn device(id: &str, status: PresenceStatus, seen: Option<i64>) -> DeviceInfo {
        DeviceInfo {
            device: id.into(),
            role: None,
            counter: None,
            status,
            printer: None,
            seen_at: seen.map(|s| Utc.timestamp_opt(s, 0).unwrap()),
            firmware: None,
            uptime_s: None,
            rssi: None,
            reset: None,
            offered: None,
            update: None,
        }
    }

    fn branch(silent_s: f64) -> BranchLive {
        BranchLive {
            branch: "b1".into(),
            silent_s,
            last_health_at: "2026-11-28T10:00:00Z".into(),
            config_revision: Some(3),
            config_refused: None,
            board: None,
            counters: Some(LiveCounters {
                branch: "b1".into(),
                last_seq: 4,
                counters: vec![
                    LiveCounter { id: "1".into(), status: "open".into() },
                    LiveCounter { id: "2".into(), status: "closed".into() },
                ],
            }),
            devices: Some(LiveDevices {
                branch: "b1".into(),
                devices: vec![
                    device("board-1", PresenceStatus::Online, Some(100)),
                    device("kiosk-1", PresenceStatus::Offline, Some(200)),
                    device("button-3", PresenceStatus::Offline, None),
                ],
            }),
            acked_seq: 4,
            last_seq: 4,
        }
    }

    #[test]
    fn the_offline_devices_are_listed_with_since_when_and_the_online_ones_are_not() {
        let now = branch_now(&branch(5.0), Some("riyadh"), 120.0);
        let offline: Vec<_> =
            now.devices_offline.iter().map(|d| (d.device.as_str(), d.since.map(|s| s.timestamp()))).collect();
        assert_eq!(offline, [("kiosk-1", Some(200)), ("button-3", None)]);
        assert_eq!((now.counters_open, now.counters, now.waiting, now.longest_wait_s), (1, 2, 0, None));
        assert_eq!((now.region.as_deref(), now.config_revision), (Some("riyadh"), Some(3)));
        assert!(!now.stale);
    }

    #[test]
    fn a_branch_silent_past_the_age_limit_is_stale() {
        assert!(branch_now(&branch(121.0), None, 120.0).stale);
        assert!(!branch_now(&branch(119.0), None, 120.0).stale);
        let mut unknown = branch(1.0);
        unknown.devices = None;
        assert!(branch_now(&unknown, None, 120.0).devices_offline.is_empty());
    }
}
