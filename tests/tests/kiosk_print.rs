//! A ticket from the hub printed as ESC/POS on a simulated Epson printer (emupos), on 80 and
//! 58 mm paper: the receipt has the number and both languages, and its QR code — read back from
//! the printed image by zbarimg — is the ticket's live page.
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use chrono::FixedOffset;
use dawr_e2e::{Emupos, Hub, decode_qr};
use dawr_i18n::Texts;
use dawr_kiosk::printer::{PrinterTarget, print_ticket};
use dawr_kiosk::ticket::{Paper, QrMode, TicketContext};
use dawr_protocol::api::{BranchInfo, Ticket};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_printed_ticket_carries_its_number_texts_and_a_readable_qr_code() -> Result<()> {
    let hub = Hub::start_embedded().await?;
    let printer = Emupos::start()?;
    // Every counter serving A busy and one visitor ahead, so the ticket shows its place and wait.
    hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    for counter in ["1", "2", "3", "4"] {
        hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
        hub.post(&format!("/api/v1/counters/{counter}/next"), json!({})).await?;
    }
    let (_, ticket) = hub.post("/api/v1/tickets", json!({"service": "A"})).await?;
    let ticket: Ticket = serde_json::from_value(ticket)?;
    let (_, branch) = hub.get("/api/v1/branch").await?;
    let branch: BranchInfo = serde_json::from_value(branch)?;
    let texts = Texts::new();
    let mut printed = 0;
    for (paper, qr, name) in [
        (Paper::Mm80, QrMode::Native, "printed-ticket.png"),
        (Paper::Mm58, QrMode::Native, "printed-ticket-58mm.png"),
        (Paper::Mm80, QrMode::Raster, "printed-ticket-raster-qr.png"),
    ] {
        let ctx = TicketContext {
            branch_name: &branch.name,
            utc_offset: FixedOffset::east_opt(3 * 3600).unwrap(),
            texts: &texts,
            qr,
        };
        let target = PrinterTarget::Tcp { host: "127.0.0.1".into(), port: printer.printer_port };
        print_ticket(&target, &ctx, paper, &ticket)?;
        printed += 1;
        let png = printer.dir().join(name);
        let receipt = wait_for_receipt(&printer, &png, printed).await?;
        for line in [
            ticket.number.as_str(),
            "Customer Care Center - Dammam Branch",
            "Your number",
            "Power of attorney",
            "One person is ahead of you.",
            &format!("Request number: {}", ticket.case_ref),
            "Scan to follow your turn on your phone",
        ] {
            assert!(receipt.contains(line), "{line:?} not printed:\n{receipt}");
        }
        assert!(receipt.contains("Expected wait: "), "the wait estimate:\n{receipt}");
        let raster = format!("[image {}x", paper.dots());
        assert!(receipt.contains(&raster), "Arabic lines print as full-width images:\n{receipt}");
        let native_qr = receipt.contains(&format!("[qr {}]", ticket.status_url));
        assert_eq!(native_qr, qr == QrMode::Native, "the printer's own QR, or an image:\n{receipt}");
        assert_eq!(decode_qr(&png)?, ticket.status_url, "the printed QR code reads back as the live page");
        std::fs::copy(&png, dawr_e2e::screenshots_dir().join(name))?;
    }
    Ok(())
}

/// Waits until the printer has completed its `count`-th receipt (after a moment of silence on
/// the line) and returns it as text, its image saved at `png`.
async fn wait_for_receipt(printer: &Emupos, png: &std::path::Path, count: usize) -> Result<String> {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if printer.receipt_count()? >= count {
            return printer.last_receipt(png);
        }
        if Instant::now() > deadline {
            bail!("receipt {count} was not printed");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
