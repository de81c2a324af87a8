//! The kiosk's flow and its real connections (hub over HTTP, printer over TCP, presence over
//! MQTT), without the window: a printer that cannot be reached leaves the visitor an e-ticket and
//! tells staff through the device status; a hub that restarts under the kiosk is followed, and a
//! touch whose answer is lost gives exactly one ticket; a printer out of paper says so
//! (`DLE EOT`), and the kiosk tells staff exactly that.
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::Result;
use chrono::Utc;
use dawr_e2e::{Emupos, Hub, free_port, tokio_listener};
use dawr_i18n::Lang;
use dawr_kiosk::app::{Effector, announce_presence, spawn_effects};
use dawr_kiosk::flow::{Input, Kiosk, Printing, Screen};
use dawr_kiosk::ticket::Paper;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Feeds `input` to the kiosk and performs every effect that follows, to the end, through the
/// kiosk's own `spawn_effects` (all of an input's effects at once, as the kiosk runs them).
async fn drive(kiosk: &mut Kiosk, effector: &Effector, input: Input) {
    let (answers, mut inbox) = tokio::sync::mpsc::unbounded_channel();
    let deliver = move |answer| {
        let _ = answers.send(answer);
    };
    let runtime = tokio::runtime::Handle::current();
    let mut effects = kiosk.handle(input, Utc::now());
    let mut pending = 0;
    loop {
        pending += effects.len();
        spawn_effects(&runtime, effector, effects, deliver.clone());
        if pending == 0 {
            return;
        }
        let answer = tokio::time::timeout(Duration::from_secs(30), inbox.recv())
            .await
            .expect("every effect is answered within 30 s")
            .expect("the answers' channel stays open");
        pending -= 1;
        effects = kiosk.handle(answer, Utc::now());
    }
}

/// A loopback HTTP proxy in front of `upstream` that loses the hub's answer to the first
/// `POST /api/v1/tickets` (the hub got the request and answered; the kiosk never hears it).
struct LosingProxy {
    url: String,
    lost: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl LosingProxy {
    fn start(upstream: SocketAddr) -> LosingProxy {
        let listener = tokio_listener();
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let lost = Arc::new(AtomicUsize::new(0));
        let task = {
            let lost = lost.clone();
            tokio::spawn(async move {
                while let Ok((client, _)) = listener.accept().await {
                    tokio::spawn(Self::relay(client, upstream, lost.clone()));
                }
            })
        };
        LosingProxy { url, lost, task }
    }

    /// Copies one connection both ways; the first ticket request's answer is read and dropped,
    /// and both sides are closed.
    async fn relay(client: TcpStream, upstream: SocketAddr, lost: Arc<AtomicUsize>) {
        let Ok(server) = TcpStream::connect(upstream).await else { return };
        let (mut client_rx, mut client_tx) = client.into_split();
        let (mut server_rx, mut server_tx) = server.into_split();
        let losing = Arc::new(AtomicBool::new(false));
        let to_server = {
            let (losing, lost) = (losing.clone(), lost.clone());
            async move {
                let mut buf = vec![0u8; 16 * 1024];
                while let Ok(n @ 1..) = client_rx.read(&mut buf).await {
                    if buf[..n].starts_with(b"POST /api/v1/tickets ") && lost.load(Ordering::SeqCst) == 0 {
                        losing.store(true, Ordering::SeqCst);
                    }
                    if server_tx.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
            }
        };
        let to_client = async move {
            let mut buf = vec![0u8; 16 * 1024];
            while let Ok(n @ 1..) = server_rx.read(&mut buf).await {
                if losing.load(Ordering::SeqCst) {
                    lost.fetch_add(1, Ordering::SeqCst);
                    return;
                }
                if client_tx.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        };
        // Either direction ending closes the connection (dropping both halves).
        tokio::select! {
            () = to_server => {}
            () = to_client => {}
        }
    }
}

impl Drop for LosingProxy {
    fn drop(&mut self) {
        self.task.abort();
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
    let effector = Effector::new(&hub.url(""), nobody.parse()?, Paper::Mm80).with_login(kiosk_login(&hub)?);
    let presence = tokio::spawn(announce_presence(
        hub.endpoint_as(&hub.device("kiosk-1")?),
        "demo".into(),
        "kiosk-1".into(),
        effector.printer_health(),
    ));
    let mut kiosk = Kiosk::new("kiosk-1", Utc::now());
    let services = effector.services().await;
    assert!(services.is_some(), "the hub answers");
    // The demo hub says so, and the kiosk's screen shows "demo" by the branch's name.
    assert!(effector.demo(), "the demo hub says it is the demo");
    let shown = effector.shown_branch_name(&dawr_i18n::Texts::new());
    assert!(shown.en.ends_with(" · demo") && shown.ar.ends_with(" · نسخة تجريبية"), "{shown:?}");
    drive(&mut kiosk, &effector, Input::Services(services)).await;
    drive(&mut kiosk, &effector, Input::ChooseLanguage(Lang::Ar)).await;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;

    assert_eq!(kiosk.screen, Screen::Ticket);
    assert_eq!(kiosk.printing, Printing::Failed, "the screen shows the e-ticket QR");
    assert!(kiosk.ticket.as_ref().is_some_and(|t| t.status_url.contains("/t/")));
    assert_eq!(waiting(&hub).await?, 1, "one ticket issued");

    let mut reported = None;
    for _ in 0..100 {
        let (_, devices) = hub.manager_get("/api/v1/devices").await?;
        reported = devices.as_array().unwrap().iter().find(|d| d["device"] == "kiosk-1").cloned();
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
async fn a_hub_restart_is_followed_and_a_touch_whose_answer_is_lost_gives_one_ticket() -> Result<()> {
    let mut hub = Hub::start_embedded().await?;
    let dir = tempfile::tempdir()?;
    let printer = dir.path().join("ticket.bin");
    let effector = Effector::new(&hub.url(""), format!("file:{}", printer.display()).parse()?, Paper::Mm58)
        .with_login(kiosk_login(&hub)?);
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

    // The hub takes a visitor's touch and issues the ticket, but its answer is lost on the way:
    // the kiosk retries the same request and the visitor gets one ticket, printed.
    let proxy = LosingProxy::start(hub.http);
    let through_proxy = Effector::new(&proxy.url, format!("file:{}", printer.display()).parse()?, Paper::Mm58)
        .with_login(kiosk_login(&hub)?);
    drive(&mut kiosk, &through_proxy, Input::ChooseService("B".into())).await;
    assert_eq!(proxy.lost.load(Ordering::SeqCst), 1, "the first answer was lost");
    assert_eq!(kiosk.screen, Screen::Ticket, "the retried request was answered");
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
        let (_, devices) = hub.manager_get("/api/v1/devices").await?;
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
    let effector = Effector::new(&hub.url(""), format!("tcp:127.0.0.1:{}", printer.printer_port).parse()?, Paper::Mm80)
        .with_login(kiosk_login(&hub)?);
    let presence = tokio::spawn(announce_presence(
        hub.endpoint_as(&hub.device("kiosk-1")?),
        "demo".into(),
        "kiosk-1".into(),
        effector.printer_health(),
    ));
    let mut kiosk = Kiosk::new("kiosk-1", Utc::now());
    drive(&mut kiosk, &effector, Input::Services(effector.services().await)).await;
    drive(&mut kiosk, &effector, Input::ChooseLanguage(Lang::Ar)).await;

    printer.fault("set", "paper-out")?;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;
    assert_eq!((kiosk.screen, kiosk.printing), (Screen::Ticket, Printing::Failed), "the e-ticket instead");
    assert_eq!(printer_reported(&hub, "kiosk-1", "paper_out").await?, "paper_out");

    // Paper loaded: the next visitor's ticket prints, and staff see the printer is fine again.
    printer.fault("clear", "paper-out")?;
    drive(&mut kiosk, &effector, Input::Back).await;
    drive(&mut kiosk, &effector, Input::ChooseService("A".into())).await;
    assert_eq!(kiosk.printing, Printing::Printed);
    assert_eq!(printer_reported(&hub, "kiosk-1", "ok").await?, "ok");
    presence.abort();
    Ok(())
}

/// The demo kiosk's login at the hub (the account it logs into MQTT with).
fn kiosk_login(hub: &Hub) -> Result<Option<dawr_kiosk::app::HubLogin>> {
    Ok(dawr_kiosk::app::HubLogin::of(&hub.endpoint_as(&hub.device("kiosk-1")?)))
}
