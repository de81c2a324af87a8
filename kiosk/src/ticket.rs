//! The printed ticket: a visitor's number, service and wait in Arabic and English, the CRM case
//! reference, and a QR code of the live ticket page, as ESC/POS for 80 mm or 58 mm paper.
//!
//! Arabic lines are raster images (see [`crate::raster`]); English lines use the printer's own
//! font; the QR code is the printer's own (model 2), so it stays sharp at any size.
use chrono::{Datelike, FixedOffset};
use dawr_i18n::{Arg, HijriDate, Lang, Texts};
use dawr_protocol::api::{Names, Ticket, TicketStatus};
use escpos::driver::Driver;
use escpos::errors::Result;
use escpos::printer::Printer;
use escpos::utils::{JustifyMode, Protocol, QRCodeCorrectionLevel, QRCodeModel, QRCodeOption};

use crate::raster::TextRenderer;

/// Paper width.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paper {
    Mm80,
    Mm58,
}

impl Paper {
    /// Printable dots across at 203 dpi.
    pub fn dots(self) -> usize {
        match self {
            Paper::Mm80 => 576,
            Paper::Mm58 => 384,
        }
    }
}

/// How the QR code is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QrMode {
    /// The printer's own QR command (model 2, error correction M): sharp at any size.
    #[default]
    Native,
    /// A raster image, for printers without a QR command.
    Raster,
}

impl std::str::FromStr for QrMode {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s {
            "native" => Ok(QrMode::Native),
            "raster" => Ok(QrMode::Raster),
            other => Err(format!("{other:?}: native or raster")),
        }
    }
}

/// Everything a ticket shows besides the ticket itself.
pub struct TicketContext<'a> {
    pub branch_name: &'a Names,
    pub utc_offset: FixedOffset,
    pub texts: &'a Texts,
    pub qr: QrMode,
}

/// Text the printer's own font can print: ASCII only, bidi isolates removed.
fn printable(text: &str) -> String {
    text.chars()
        .filter_map(|c| match c {
            '\u{2068}' | '\u{2069}' => None,
            '–' | '—' => Some('-'),
            c if c.is_ascii() => Some(c),
            _ => Some('?'),
        })
        .collect()
}

/// Prints one ticket to `driver`.
pub fn print<D: Driver>(
    driver: D,
    ctx: &TicketContext<'_>,
    renderer: &mut TextRenderer,
    paper: Paper,
    ticket: &Ticket,
) -> Result<()> {
    let width = paper.dots();
    let t = |lang, key: &str, args: &[(&str, Arg<'_>)]| ctx.texts.get(lang, key, args);
    let mut arabic = |printer: &mut Printer<D>, text: &str, size: f32| -> Result<()> {
        let bitmap = renderer.render(text, width, size);
        printer.custom(&bitmap.to_escpos())?;
        Ok(())
    };
    let mut p = Printer::new(driver, Protocol::default(), None);
    p.init()?.justify(JustifyMode::CENTER)?;

    arabic(&mut p, &ctx.branch_name.ar, 30.0)?;
    p.writeln(&printable(&ctx.branch_name.en))?.feed()?;

    arabic(&mut p, &t(Lang::Ar, "print-your-number", &[]), 28.0)?;
    p.writeln(&printable(&t(Lang::En, "print-your-number", &[])))?;
    p.bold(true)?.size(4, 4)?.writeln(&printable(&ticket.number))?.reset_size()?.bold(false)?;

    arabic(&mut p, &ticket.service_name.ar, 34.0)?;
    p.writeln(&printable(&ticket.service_name.en))?.feed()?;

    if ticket.status == TicketStatus::Waiting {
        let ahead = f64::from(ticket.position.unwrap_or(1).saturating_sub(1));
        let waiting = [("ahead", Arg::Number(ahead))];
        arabic(&mut p, &t(Lang::Ar, "ticket-status-waiting", &waiting), 26.0)?;
        p.writeln(&printable(&t(Lang::En, "ticket-status-waiting", &waiting)))?;
        if let Some([low, high]) = ticket.estimated_wait_range_s.filter(|[_, high]| *high > 0) {
            let minutes = |s: u32| f64::from(s.div_ceil(60));
            let range = [("low", Arg::Number(minutes(low))), ("high", Arg::Number(minutes(high).max(1.0)))];
            arabic(&mut p, &t(Lang::Ar, "print-estimate-range", &range), 26.0)?;
            p.writeln(&printable(&t(Lang::En, "print-estimate-range", &range)))?;
        }
        p.feed()?;
    }

    let local = ticket.issued_at.with_timezone(&ctx.utc_offset);
    p.writeln(&local.format("%Y-%m-%d %H:%M").to_string())?;
    if let Some(hijri) = HijriDate::from_gregorian(local.year(), local.month() as u8, local.day() as u8) {
        arabic(&mut p, &ctx.texts.hijri_date(Lang::Ar, hijri), 24.0)?;
        p.writeln(&printable(&ctx.texts.hijri_date(Lang::En, hijri)))?;
    }
    p.writeln(&printable(&t(Lang::En, "ticket-case-ref", &[("case_ref", Arg::Text(&ticket.case_ref))])))?.feed()?;

    match ctx.qr {
        QrMode::Native => {
            p.qrcode_option(&ticket.status_url, QRCodeOption::new(QRCodeModel::Model2, 6, QRCodeCorrectionLevel::M))?;
        }
        // About 30 mm square at 203 dpi.
        QrMode::Raster => match crate::raster::qr_bitmap(&ticket.status_url, width, 240) {
            Some(bitmap) => {
                p.custom(&bitmap.to_escpos())?;
            }
            None => {
                p.writeln(&printable(&ticket.status_url))?;
            }
        },
    }
    p.feed()?;
    arabic(&mut p, &t(Lang::Ar, "print-scan-to-follow", &[]), 24.0)?;
    p.writeln(&printable(&t(Lang::En, "print-scan-to-follow", &[])))?;
    p.feeds(3)?.print_cut()?;
    Ok(())
}

/// A sample ticket for `dawr-kiosk test-print` and tests: the demo branch's first visitor.
pub fn sample() -> (Names, Ticket) {
    let branch = Names {
        ar: "مركز خدمة العملاء - فرع الدمام".into(),
        en: "Customer Care Center - Dammam Branch".into(),
    };
    let ticket = dawr_protocol::api::examples::ticket();
    (branch, ticket)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    /// Collects what would go to the printer.
    #[derive(Clone, Default)]
    struct Memory(Rc<RefCell<Vec<u8>>>);

    impl Driver for Memory {
        fn name(&self) -> String {
            "memory".into()
        }
        fn write(&self, data: &[u8]) -> Result<()> {
            self.0.borrow_mut().extend_from_slice(data);
            Ok(())
        }
        fn read(&self, _buf: &mut [u8]) -> Result<usize> {
            Ok(0)
        }
        fn flush(&self) -> Result<()> {
            Ok(())
        }
    }

    fn ticket() -> Ticket {
        sample().1
    }

    fn contains(haystack: &[u8], needle: &[u8]) -> bool {
        haystack.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn a_ticket_has_its_number_texts_rasters_qr_and_cut() {
        let texts = Texts::new();
        let names = Names { ar: "مركز خدمة العملاء".into(), en: "Customer Care Center".into() };
        let ctx = TicketContext {
            branch_name: &names,
            utc_offset: FixedOffset::east_opt(3 * 3600).unwrap(),
            texts: &texts,
            qr: QrMode::Native,
        };
        let memory = Memory::default();
        print(memory.clone(), &ctx, &mut TextRenderer::new(), Paper::Mm80, &ticket()).unwrap();
        let bytes = memory.0.borrow().clone();
        for text in [
            "A017",
            "Power of attorney",
            "3 people are ahead of you.",
            "Expected wait: 5-21 min",
            "2026-11-23 09:05",
            "DMM-20261123-000017",
            "Customer Care Center",
        ] {
            assert!(contains(&bytes, text.as_bytes()), "{text} is missing");
        }
        assert!(contains(&bytes, b"\x1dv0\x00\x48\x00"), "Arabic lines as 576-dot (72-byte) rasters");
        assert!(contains(&bytes, b"http://127.0.0.1:8080/t/0123456789abcdef0123456789abcdef"), "QR data");
        assert!(contains(&bytes, &[0x1d, b'(', b'k', 4, 0, 49, 65, 50]), "QR model 2");
        assert!(contains(&bytes, &[0x1d, b'V']), "the paper is cut");
    }

    #[test]
    fn narrow_paper_gets_narrower_rasters() {
        let texts = Texts::new();
        let names = Names { ar: "فرع".into(), en: "Branch".into() };
        let ctx = TicketContext {
            branch_name: &names,
            utc_offset: FixedOffset::east_opt(3 * 3600).unwrap(),
            texts: &texts,
            qr: QrMode::Native,
        };
        let memory = Memory::default();
        print(memory.clone(), &ctx, &mut TextRenderer::new(), Paper::Mm58, &ticket()).unwrap();
        assert!(contains(&memory.0.borrow(), b"\x1dv0\x00\x30\x00"), "48-byte rows for 384 dots");
    }

    #[test]
    fn printer_text_is_ascii() {
        assert_eq!(printable("\u{2068}5\u{2069}–\u{2068}21\u{2069} min"), "5-21 min");
        assert_eq!(printable("مرحبا"), "?????");
    }
}
