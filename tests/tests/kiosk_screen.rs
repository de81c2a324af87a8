//! The kiosk's touch screen, drawn headless by `dawr-kiosk screenshot` from a running hub: the
//! services in Arabic (right to left) and English, and the e-ticket a failed printer leaves,
//! whose QR code a phone reads as the ticket's live page.
use anyhow::Result;
use dawr_e2e::{Hub, decode_qr, kiosk_binary, screenshots_dir};
use serde_json::json;

fn screenshot(hub: &Hub, args: &[&str], out: &std::path::Path) -> Result<image::RgbaImage> {
    // The kiosk's account (for the ticket screen's real ticket).
    let password = tempfile::NamedTempFile::new()?;
    std::fs::write(password.path(), hub.device("kiosk-1")?.password)?;
    let status = std::process::Command::new(kiosk_binary())
        .args(["screenshot", "--hub", &hub.url("")])
        .arg("--mqtt-password-file")
        .arg(password.path())
        .args(args)
        .arg("--out")
        .arg(out)
        .status()?;
    assert!(status.success(), "screenshot {args:?}");
    Ok(image::open(out)?.to_rgba8())
}

/// The columns (0..width) in which some pixel of rows `y0..y1` is dark text.
fn inked_columns(image: &image::RgbaImage, y0: u32, y1: u32) -> Vec<u32> {
    (0..image.width()).filter(|&x| (y0..y1).any(|y| image.get_pixel(x, y).0[..3].iter().all(|&c| c < 90))).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_services_screen_reads_right_to_left_in_arabic_and_left_to_right_in_english() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let shots = screenshots_dir();
    let ar = screenshot(&hub, &["--lang", "ar", "--screen", "services"], &shots.join("kiosk-services-ar.png"))?;
    let en = screenshot(&hub, &["--lang", "en", "--screen", "services"], &shots.join("kiosk-services-en.png"))?;
    assert_eq!(ar.dimensions(), (1080, 1920));
    assert_eq!(en.dimensions(), (1080, 1920));
    // The title ("اختر الخدمة" / "Choose a service") and the first service's name: Arabic hugs
    // the right edge, English the left.
    for (y0, y1) in [(120, 200), (240, 320)] {
        let (ar_ink, en_ink) = (inked_columns(&ar, y0, y1), inked_columns(&en, y0, y1));
        assert!(ar_ink.len() > 60 && en_ink.len() > 60, "text drawn in rows {y0}..{y1}");
        assert!(*ar_ink.last().unwrap() > 980 && *ar_ink.first().unwrap() > 300, "Arabic on the right: {ar_ink:?}");
        assert!(*en_ink.first().unwrap() < 100 && *en_ink.last().unwrap() < 800, "English on the left: {en_ink:?}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_the_printer_fails_the_screen_shows_a_qr_of_the_live_ticket_page() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let out = screenshots_dir().join("kiosk-eticket-ar.png");
    screenshot(&hub, &["--lang", "ar", "--screen", "ticket", "--printer-failed"], &out)?;
    let (_, ticket) = hub.get("/api/v1/tickets/1").await?;
    assert_eq!(decode_qr(&out)?, ticket["status_url"].as_str().unwrap(), "the e-ticket reads as the live page");
    Ok(())
}
