//! Presence as PROTOCOL.md 1.1 promises it: a `printer` value the hub does not know keeps the
//! presence, `seen_at` has milliseconds at most, and the device list survives `kill -9` of the
//! hub (a device that does not come back shows offline, with when it was last seen, and a counter
//! button what it last said about itself: firmware, uptime, signal, reset reason).
use std::time::Duration;

use anyhow::Result;
use dawr_e2e::{Hub, MqttProbe, wait_until};
use dawr_protocol::api::DeviceInfo;
use dawr_protocol::device::{PresenceStatus, PrinterHealth, ResetReason};

const WAIT: Duration = Duration::from_secs(10);

async fn kiosk(hub: &Hub) -> Result<Option<DeviceInfo>> {
    let (status, devices) = hub.manager_get("/api/v1/devices").await?;
    assert_eq!(status, 200, "{devices}");
    let devices: Vec<DeviceInfo> = serde_json::from_value(devices)?;
    Ok(devices.into_iter().find(|d| d.device == "kiosk-1"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn presence_is_kept_across_a_kill_9_and_an_unknown_printer_value_is_read() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let topic = "dawr/v1/demo/devices/kiosk-1/status";
    let device = MqttProbe::connect(hub.mqtt_port(), &hub.device("kiosk-1")?).await?;
    let online = br#"{"status":"online","printer":"jammed"}"#.to_vec();
    device.client.publish(topic, rumqttc::QoS::AtLeastOnce, true, online).await?;
    // A counter button's fleet fields, then its last will (an `offline` without them).
    let button = MqttProbe::connect(hub.mqtt_port(), &hub.device("button-3")?).await?;
    let button_topic = "dawr/v1/demo/devices/button-3/status";
    let fleet = br#"{"status":"online","reset":"watchdog","firmware":"0.4.1","uptime_s":42,"rssi":-71}"#.to_vec();
    button.client.publish(button_topic, rumqttc::QoS::AtLeastOnce, true, fleet).await?;
    let offline = br#"{"status":"offline"}"#.to_vec();
    button.client.publish(button_topic, rumqttc::QoS::AtLeastOnce, true, offline).await?;
    let heard = wait_until(WAIT, || async { kiosk(&hub).await.ok().flatten().is_some_and(|k| k.seen_at.is_some()) });
    assert!(heard.await, "a presence with an unknown printer value was dropped");
    let before = kiosk(&hub).await?.expect("listed");
    assert_eq!((before.status, before.printer), (PresenceStatus::Online, Some(PrinterHealth::Unknown)));
    let seen_at = before.seen_at.expect("seen");
    assert_eq!(seen_at.timestamp_subsec_nanos() % 1_000_000, 0, "seen_at has milliseconds at most: {seen_at:?}");

    // Kept on disk (the hub writes it just after it lists it).
    let db = hub.data_dir.join(dawr_hub::store::FILE_NAME);
    let kept = wait_until(WAIT, || async {
        let conn = rusqlite::Connection::open(&db).expect("the hub's database");
        conn.query_row("SELECT count(*) FROM device_presence WHERE device = 'kiosk-1'", [], |r| r.get::<_, i64>(0))
            .is_ok_and(|n| n == 1)
    });
    assert!(kept.await, "the presence was not kept");
    let button_kept = wait_until(WAIT, || async {
        let conn = rusqlite::Connection::open(&db).expect("the hub's database");
        let sql = "SELECT status = 'offline' AND firmware = '0.4.1' FROM device_presence WHERE device = 'button-3'";
        conn.query_row(sql, [], |r| r.get::<_, bool>(0)).unwrap_or(false)
    });
    assert!(button_kept.await, "the button's last will did not keep what it said about itself");
    drop(button);
    drop(device);
    hub.kill9();
    hub.restart().await?;
    let after = kiosk(&hub).await?.expect("still listed");
    assert_eq!(after.status, PresenceStatus::Offline, "it did not come back");
    assert_eq!(after.seen_at, Some(seen_at), "with when it was last seen");
    let (_, devices) = hub.manager_get("/api/v1/devices").await?;
    let devices: Vec<DeviceInfo> = serde_json::from_value(devices)?;
    let button = devices.into_iter().find(|d| d.device == "button-3").expect("listed");
    assert_eq!(button.status, PresenceStatus::Offline);
    assert_eq!(
        (button.firmware.as_deref(), button.uptime_s, button.rssi, button.reset),
        (Some("0.4.1"), Some(42), Some(-71), Some(ResetReason::Watchdog)),
        "the fleet view of an offline button survives the restart"
    );
    Ok(())
}
