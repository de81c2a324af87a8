//! The kiosk's real window (winit on X, under Xvfb, on a portrait 1080×1920 screen: the kiosk's
//! touch screen) against a real hub, worked by taps alone as a visitor would: the language
//! (Arabic, then English for the next visitor), a service, the ticket, "done". After each tap the
//! real state is read: the hub has the ticket (its API), the kiosk logged the same number, and
//! the window — pictured by the X server (`xwd`), not by the app — changed screen and shows the
//! ticket: its e-ticket QR code, read back with zbarimg, is that ticket's page on the hub.
//!
//! Where to tap comes from the app's own layout, never from guessed coordinates: the kiosk logs
//! its touch targets (every button's accessible label and place in the window, read from the
//! laid-out element tree by `dawr_ui::targets`) whenever they change, and the test taps the
//! middle of the one it wants. A button that moves is followed; one that is missing fails the
//! test by name.
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use dawr_e2e::x11::{App, Display};
use dawr_e2e::{Hub, decode_qr, kiosk_binary, wait_until};
use dawr_i18n::{Lang, Texts};
use dawr_protocol::api::{ServiceSummary, Ticket};
use dawr_ui::targets::{TouchTarget, last_logged};

/// The kiosk's screen (ui/kiosk.slint's preferred size).
const SCREEN: (u32, u32) = (1080, 1920);

/// Waits until the kiosk's latest touch targets include one whose label `wanted` accepts; that
/// target.
async fn target(app: &App, what: &str, wanted: impl Fn(&str) -> bool) -> Result<TouchTarget> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let targets = last_logged(&app.log()).unwrap_or_default();
        if let Some(target) = targets.iter().find(|t| wanted(&t.label)) {
            return Ok(target.clone());
        }
        if tokio::time::Instant::now() > deadline {
            let labels: Vec<&str> = targets.iter().map(|t| t.label.as_str()).collect();
            bail!("no touch target {what} on the kiosk's screen; it has {labels:?}:\n{}", app.log());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The share of pixels that differ between two pictures of the same size.
fn changed_share(a: &image::RgbaImage, b: &image::RgbaImage) -> f64 {
    let differ = a.pixels().zip(b.pixels()).filter(|(p, q)| p.0[..3] != q.0[..3]).count();
    differ as f64 / f64::from(a.width() * a.height())
}

/// Waits until the window's picture differs from `before` in at least `share` of its pixels (the
/// screen changed and was drawn); that picture.
async fn window_changed(display: &Display, window: &str, before: &image::RgbaImage) -> Result<image::RgbaImage> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let now = display.screenshot(window)?;
        if now.dimensions() == before.dimensions() && changed_share(before, &now) > 0.05 {
            return Ok(now);
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the window did not change screen");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The kiosk running on its display.
struct RunningKiosk {
    display: Display,
    window: String,
    app: App,
}

/// One visitor at `kiosk`: chooses `lang` on the welcome screen, then the service `service`, and
/// takes the ticket, the hub's `nth`; pictures go to `out`. Leaves the kiosk on its welcome
/// screen for the next one.
async fn visitor(
    kiosk: &mut RunningKiosk,
    hub: &Hub,
    lang: Lang,
    service: &ServiceSummary,
    nth: u64,
    out: &Path,
) -> Result<()> {
    let RunningKiosk { display, window, app } = kiosk;
    let window = window.as_str();
    let texts = Texts::new();
    // The welcome screen's language buttons, each labelled in its own language.
    let language = texts.get(if lang == Lang::Ar { Lang::En } else { Lang::Ar }, "switch-language", &[]);
    let button = target(app, &format!("{language:?}"), |l| l == language).await?;
    // Drawn: not the black of a window nothing was painted in yet.
    let black = image::RgbaImage::from_pixel(SCREEN.0, SCREEN.1, image::Rgba([0, 0, 0, 255]));
    let welcome = window_changed(display, window, &black).await.context("the kiosk fills its portrait screen")?;
    // The services, named in the chosen language (each button's label starts with the name).
    let name = match lang {
        Lang::Ar => &service.name.ar,
        Lang::En => &service.name.en,
    };
    // A tap in the window's first moments under Xvfb can be lost before winit takes input: the
    // language is tapped again while the welcome screen (the same two targets) is still up.
    let still_welcome = |app: &App| {
        let labels: Vec<String> = last_logged(&app.log()).unwrap_or_default().into_iter().map(|t| t.label).collect();
        labels.len() == 2 && labels.contains(&language)
    };
    let mut tries = 0;
    let button = loop {
        display.tap(window, &button)?;
        tries += 1;
        let what = format!("the service {name:?}");
        let services = target(app, &what, |l| l.starts_with(name.as_str()));
        match tokio::time::timeout(Duration::from_secs(3), services).await {
            Ok(found) => break found?,
            Err(_) if tries < 3 && still_welcome(app) => continue,
            Err(_) => bail!("the tap on {language:?} did not open the services:\n{}", app.log()),
        }
    };
    let services = window_changed(display, window, &welcome).await?;
    services.save(out.join(format!("services-{lang}.png")))?;
    assert_eq!(hub.get(&format!("/api/v1/tickets/{nth}")).await?.0, 404, "no ticket before the service is chosen");
    display.tap(window, &button)?;

    // The ticket: on the hub, in the kiosk's log, and on the screen.
    let done = texts.get(lang, "kiosk-done", &[]);
    let done = target(app, &format!("{done:?}"), |l| l == done).await?;
    let (status, ticket) = hub.get(&format!("/api/v1/tickets/{nth}")).await?;
    assert_eq!(status, 200, "the hub has the ticket");
    let ticket: Ticket = serde_json::from_value(ticket)?;
    assert_eq!(ticket.service, service.code, "for the service tapped");
    app.logged(&format!("the hub issued a ticket ticket={}", ticket.number), Duration::from_secs(10)).await?;
    // The window shows this ticket: its QR code, read from the window's picture, is the
    // ticket's page (the "please wait" screen before it has no QR code).
    let picture = out.join(format!("ticket-{lang}.png"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        window_changed(display, window, &services).await?.save(&picture)?;
        let read = decode_qr(&picture)?;
        if read == ticket.status_url {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            bail!("the window never showed the QR code of {} ({}); it read {read:?}", ticket.number, ticket.status_url);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // "Done" goes back to the services; "back" from there to the welcome, for the next visitor.
    display.tap(window, &done)?;
    let back = texts.get(lang, "kiosk-back", &[]);
    target(app, &format!("the service {name:?} again"), |l| l.starts_with(name.as_str())).await?;
    let back = target(app, &format!("{back:?}"), |l| l == back).await?;
    display.tap(window, &back)?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_visitor_takes_a_ticket_with_taps_alone_in_arabic_and_in_english_in_the_real_window() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let services: Vec<ServiceSummary> = hub.client.get(hub.url("/api/v1/services")).send().await?.json().await?;
    let open: Vec<&ServiceSummary> = services.iter().filter(|s| s.open).collect();
    let [first, second, ..] = open[..] else { bail!("two open services in the demo branch: {services:?}") };

    let display = Display::start(SCREEN.0, SCREEN.1)?;
    let mqtt = format!("mqtt://127.0.0.1:{}", hub.mqtt_port());
    let hub_url = hub.url("");
    let password_file = hub.data_dir.join("kiosk-1.secret");
    std::fs::write(&password_file, hub.device("kiosk-1")?.password)?;
    let password_file = password_file.display().to_string();
    let printed = hub.data_dir.join("printed.bin");
    let printer = format!("file:{}", printed.display());
    let args = [
        "run",
        "--hub",
        &hub_url,
        "--mqtt-url",
        &mqtt,
        "--mqtt-password-file",
        &password_file,
        "--printer",
        &printer,
        "--windowed",
    ];
    let app = display.run(&kiosk_binary(), &args, &hub.data_dir.join("kiosk.log"))?;
    let window = display.window("Dawr", Duration::from_secs(60)).await?;
    let mut kiosk = RunningKiosk { display, window, app };
    let out = tempfile::tempdir()?;

    // The printer (a file here) gets each ticket; it is rewritten for every one.
    let print = || std::fs::read(&printed).unwrap_or_default();
    visitor(&mut kiosk, &hub, Lang::Ar, first, 1, out.path()).await.context("the Arabic visitor")?;
    assert!(wait_until(Duration::from_secs(10), || async { !print().is_empty() }).await, "the first ticket printed");
    let first_print = print();
    visitor(&mut kiosk, &hub, Lang::En, second, 2, out.path()).await.context("the English visitor")?;
    let second_printed =
        wait_until(Duration::from_secs(10), || async { !print().is_empty() && print() != first_print });
    assert!(second_printed.await, "the second ticket printed");
    assert_eq!(hub.get("/api/v1/tickets/3").await?.0, 404, "two visitors, two tickets");
    Ok(())
}
