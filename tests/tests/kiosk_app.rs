//! The kiosk's flow and its real connections (hub over HTTP, printer over TCP, presence over
//! MQTT), without the window: a printer that cannot be reached leaves the visitor an e-ticket and
//! tells staff through the device status; a hub that restarts under the kiosk is followed, and a
//! touch made while it was away gives exactly one ticket; a printer out of paper says so
//! (`DLE EOT`), and the kiosk tells staff exactly that.
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use dawr_e2e::{Emupos, Hub, free_port};
use dawr_i18n::Lang;
use dawr_kiosk::app::{Effector, announce_presence};
use dawr_kiosk::flow::{Effect, Input, Kiosk, Printing, Screen};
use dawr_kiosk::ticket::Paper;

/// Feeds `input` to the kiosk and performs every effect that follows, to the end.
async fn drive(kiosk: &mut Kiosk, effector: &Effector, input: Input) {
    let mut effects: Vec<Effect> = kiosk.handle(input, Utc::now());
    while let Some(effect) = effects.pop() {
        let answer = effector.perform(effect).await;
        effects.extend(kiosk.handle(answer, Utc::now()));
    }
}

async fn waiting(hub: &Hub) -> Result<usize> {
    let (_, queue) = hub.get("/api/v1/queue").await?;
    Ok(queue.as_array().map_or(0, Vec::len))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_printer_leaves_an_e_ticket_and_tells_staff() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let nobody = format!("tcp:127.0.0.1:{}", free_port());
    let effector = Effector::new(&hub.url(""), nobody.parse()?, Paper::Mm80);
    let presence = tokio::spawn(announce_presence(
        "127.0.0.1".into(),
        hub.mqtt_port(),
        "demo".into(),
        "kiosk-hall".into(),
        effector.printer_health(),
    ));
    let mut kiosk = Kiosk::new("kiosk-hall", Utc::now());
    let services = effector.services().await;
    assert!(services.is_some(), "the hub answers");
    drive(&mut kiosk, &effector, Input::Services(services)).await;
    drive(&mut kiosk, &effector, Input::ChooseLanguage(Lang::Ar)).await;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;

    assert_eq!(kiosk.screen, Screen::Ticket);
    assert_eq!(kiosk.printing, Printing::Failed, "the screen shows the e-ticket QR");
    assert!(kiosk.ticket.as_ref().is_some_and(|t| t.status_url.contains("/t/")));
    assert_eq!(waiting(&hub).await?, 1, "one ticket issued");

    let mut reported = None;
    for _ in 0..100 {
        let (_, devices) = hub.get("/api/v1/devices").await?;
        reported = devices.as_array().unwrap().iter().find(|d| d["device"] == "kiosk-hall").cloned();
        if reported.as_ref().is_some_and(|d| d["printer"] == "offline") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let reported = reported.expect("the kiosk's presence reached the hub");
    assert_eq!(reported["status"], "online");
    assert_eq!(reported["printer"], "offline", "staff see the printer is down: {reported}");
    presence.abort();
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_restart_is_followed_and_a_touch_meanwhile_gives_one_ticket() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let dir = tempfile::tempdir()?;
    let printer = dir.path().join("ticket.bin");
    let effector = Effector::new(&hub.url(""), format!("file:{}", printer.display()).parse()?, Paper::Mm58);
    let mut kiosk = Kiosk::new("kiosk-2", Utc::now());
    drive(&mut kiosk, &effector, Input::Services(effector.services().await)).await;
    drive(&mut kiosk, &effector, Input::ChooseLanguage(Lang::En)).await;

    hub.kill9();
    drive(&mut kiosk, &effector, Input::Services(effector.services().await)).await;
    assert!(!kiosk.hub_up, "the kiosk sees the hub is away");
    assert!(kiosk.handle(Input::ChooseService("A".into()), Utc::now()).is_empty(), "and takes no touch meanwhile");
    assert_eq!(kiosk.notice.as_ref().map(|n| n.key), Some("kiosk-hub-down"));

    drive(&mut kiosk, &effector, Input::Services(effector.services().await)).await;
    hub.restart().await?;
    drive(&mut kiosk, &effector, Input::Services(effector.services().await)).await;
    assert!(kiosk.hub_up && kiosk.notice.is_none(), "back by itself, no restart of the kiosk");

    // The hub goes away just as a visitor touches a service: the kiosk retries the same request
    // while the hub restarts, and the visitor gets one ticket, printed.
    let effects = kiosk.handle(Input::ChooseService("B".into()), Utc::now());
    let [issue @ Effect::Issue { .. }] = &effects[..] else { panic!("{effects:?}") };
    hub.kill9();
    let (answer, restarted) = tokio::join!(effector.perform(issue.clone()), async {
        tokio::time::sleep(Duration::from_millis(1200)).await;
        hub.restart().await
    });
    restarted?;
    let print = kiosk.handle(answer, Utc::now());
    assert_eq!(kiosk.screen, Screen::Ticket, "the retried request was answered");
    for effect in print {
        let printed = effector.perform(effect).await;
        kiosk.handle(printed, Utc::now());
    }
    assert_eq!(kiosk.printing, Printing::Printed);
    let (_, queue) = hub.get("/api/v1/queue").await?;
    let b_tickets = queue.as_array().unwrap().iter().filter(|t| t["service"] == "B").count();
    assert_eq!(b_tickets, 1, "exactly one ticket for one touch: {queue}");
    Ok(())
}

/// The hub's view of the kiosk's printer, once it is `expected` (or the last one seen).
async fn printer_reported(hub: &Hub, device: &str, expected: &str) -> Result<serde_json::Value> {
    let mut last = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, devices) = hub.get("/api/v1/devices").await?;
        if let Some(d) = devices.as_array().unwrap().iter().find(|d| d["device"] == device) {
            last = d["printer"].clone();
            if last == expected {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printer_out_of_paper_says_so_and_the_kiosk_reports_it() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let printer = Emupos::start()?;
    let effector = Effector::new(&hub.url(""), format!("tcp:127.0.0.1:{}", printer.printer_port).parse()?, Paper::Mm80);
    let presence = tokio::spawn(announce_presence(
        "127.0.0.1".into(),
        hub.mqtt_port(),
        "demo".into(),
        "kiosk-paper".into(),
        effector.printer_health(),
    ));
    let mut kiosk = Kiosk::new("kiosk-paper", Utc::now());
    drive(&mut kiosk, &effector, Input::Services(effector.services().await)).await;
    drive(&mut kiosk, &effector, Input::ChooseLanguage(Lang::Ar)).await;

    printer.fault("set", "paper-out")?;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;
    assert_eq!((kiosk.screen, kiosk.printing), (Screen::Ticket, Printing::Failed), "the e-ticket instead");
    assert_eq!(printer_reported(&hub, "kiosk-paper", "paper_out").await?, "paper_out");

    // Paper loaded: the next visitor's ticket prints, and staff see the printer is fine again.
    printer.fault("clear", "paper-out")?;
    drive(&mut kiosk, &effector, Input::Back).await;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;
    assert_eq!(kiosk.printing, Printing::Printed);
    assert_eq!(printer_reported(&hub, "kiosk-paper", "ok").await?, "ok");
    presence.abort();
    Ok(())
}
