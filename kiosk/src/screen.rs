//! The kiosk's screen: the Slint window of `ui/kiosk.slint`, and [`show`], which draws a
//! [`Kiosk`] state on it with every word from the localisation files in the chosen language.
use dawr_i18n::{Arg, Lang, Texts};
use dawr_protocol::api::{Names, ServiceSummary, Ticket};
use slint::{Image, ModelRc, Rgb8Pixel, SharedPixelBuffer, SharedString, VecModel};

use crate::flow::{Kiosk, Printing, Screen, national};

slint::include_modules!();

fn name(names: &Names, lang: Lang) -> &str {
    match lang {
        Lang::Ar => &names.ar,
        Lang::En => &names.en,
    }
}

/// The branch's name with "demo" after it in each language when the hub runs the demo branch.
pub fn branch_label(branch: &Names, demo: bool, texts: &Texts) -> Names {
    if !demo {
        return branch.clone();
    }
    let tag = |lang: Lang, name: &str| format!("{name} · {}", texts.get(lang, "kiosk-demo", &[]));
    Names { ar: tag(Lang::Ar, &branch.ar), en: tag(Lang::En, &branch.en) }
}

/// The words of the screens in `lang`.
pub fn words(texts: &Texts, lang: Lang, branch: &Names) -> Words {
    let w = |key: &str| -> SharedString { texts.get(lang, key, &[]).into() };
    Words {
        welcome: format!(
            "{} · {}",
            texts.get(Lang::Ar, "kiosk-welcome", &[]),
            texts.get(Lang::En, "kiosk-welcome", &[])
        )
        .into(),
        branch: name(branch, lang).into(),
        choose_service: w("kiosk-choose-service"),
        assisted: w("kiosk-assisted"),
        checkin: w("kiosk-checkin"),
        checkin_title: w("kiosk-checkin-title"),
        checkin_submit: w("kiosk-checkin-submit"),
        back: w("kiosk-back"),
        done: w("kiosk-done"),
        large_text: w("kiosk-large-text"),
        high_contrast: w("kiosk-high-contrast"),
        issuing: w("kiosk-issuing"),
        your_number: w("print-your-number"),
        printing: w("kiosk-printing"),
        eticket: w("kiosk-eticket"),
        sms: w("kiosk-sms"),
        mobile_title: w("kiosk-mobile-title"),
        mobile_submit: w("kiosk-mobile-submit"),
    }
}

fn service_button(texts: &Texts, lang: Lang, service: &ServiceSummary) -> ServiceButton {
    let count = [("count", Arg::Number(f64::from(service.waiting)))];
    let minutes = [("minutes", Arg::Number(f64::from(service.estimated_wait_s.div_ceil(60))))];
    ServiceButton {
        code: service.code.as_str().into(),
        name: name(&service.name, lang).into(),
        waiting: texts.get(lang, "service-waiting", &count).into(),
        wait: if service.open {
            texts.get(lang, "service-wait", &minutes).into()
        } else {
            texts.get(lang, "service-closed", &[]).into()
        },
        open: service.open,
    }
}

/// A QR code of `text` as an image, `scale` pixels a module, with the quiet zone.
pub fn qr_image(text: &str, scale: u32) -> Image {
    let Ok(code) = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M) else {
        return Image::default();
    };
    let modules = code.width() as u32;
    let quiet = 4;
    let side = (modules + 2 * quiet) * scale;
    let colors = code.to_colors();
    let mut buffer = SharedPixelBuffer::<Rgb8Pixel>::new(side, side);
    for (i, pixel) in buffer.make_mut_slice().iter_mut().enumerate() {
        let (x, y) = (i as u32 % side / scale, i as u32 / side / scale);
        let dark = x >= quiet
            && y >= quiet
            && x < modules + quiet
            && y < modules + quiet
            && colors[((y - quiet) * modules + (x - quiet)) as usize] == qrcode::Color::Dark;
        let v = if dark { 0 } else { 255 };
        *pixel = Rgb8Pixel { r: v, g: v, b: v };
    }
    Image::from_rgb8(buffer)
}

fn ticket_view(texts: &Texts, lang: Lang, ticket: &Ticket, printing: Printing) -> TicketView {
    let ahead = ticket.position.map_or(0, |p| p.saturating_sub(1));
    let wait = match ticket.estimated_wait_range_s {
        Some([low, high]) if high > 0 => texts.get(
            lang,
            "ticket-estimate-range",
            &[("low", Arg::Number(f64::from(low / 60))), ("high", Arg::Number(f64::from(high.div_ceil(60))))],
        ),
        _ => texts.get(lang, "ticket-estimate-now", &[]),
    };
    let printing_key = match printing {
        Printing::Printing => "kiosk-printing",
        Printing::Printed => "kiosk-printed",
        Printing::Failed => "kiosk-print-failed",
    };
    TicketView {
        number: ticket.number.as_str().into(),
        service: name(&ticket.service_name, lang).into(),
        ahead: texts.get(lang, "ticket-status-waiting", &[("ahead", Arg::Number(f64::from(ahead)))]).into(),
        wait: wait.into(),
        case_ref: texts.get(lang, "ticket-case-ref", &[("case_ref", Arg::Text(&ticket.case_ref))]).into(),
        printing: texts.get(lang, printing_key, &[]).into(),
        failed: printing == Printing::Failed,
        qr: qr_image(&ticket.status_url, 8),
    }
}

/// Draws the kiosk's state on the window.
pub fn show(window: &KioskWindow, kiosk: &Kiosk, branch: &Names, texts: &Texts) {
    let lang = kiosk.lang;
    window.set_screen(match kiosk.screen {
        Screen::Welcome => KioskScreen::Welcome,
        Screen::Services => KioskScreen::Services,
        Screen::Issuing => KioskScreen::Issuing,
        Screen::Ticket => KioskScreen::Ticket,
        Screen::CheckIn => KioskScreen::CheckIn,
        Screen::Mobile => KioskScreen::Mobile,
    });
    window.set_rtl(lang == Lang::Ar);
    window.set_large_text(kiosk.large_text);
    window.set_high_contrast(kiosk.high_contrast);
    window.set_assisted(kiosk.assisted);
    window.set_hub_up(kiosk.hub_up);
    window.set_words(words(texts, lang, branch));
    window.set_arabic_label(texts.get(Lang::En, "switch-language", &[]).into());
    window.set_english_label(texts.get(Lang::Ar, "switch-language", &[]).into());
    let services: Vec<ServiceButton> = kiosk.services.iter().map(|s| service_button(texts, lang, s)).collect();
    window.set_services(ModelRc::new(VecModel::from(services)));
    if let Some(ticket) = &kiosk.ticket {
        window.set_ticket(ticket_view(texts, lang, ticket, kiosk.printing));
    }
    window.set_code(shown_code(&kiosk.code).into());
    window.set_sms_offered(kiosk.sms_offered);
    window.set_mobile(kiosk.mobile.as_str().into());
    let sms_line = |key: &str, mobile: Option<&String>| -> SharedString {
        mobile.map_or_else(String::new, |m| texts.get(lang, key, &[("mobile", Arg::Text(&national(m)))])).into()
    };
    window.set_sms_to(sms_line("kiosk-sms-set", kiosk.sms_to.as_ref()));
    window.set_ticket_sms(sms_line("kiosk-ticket-sms", kiosk.ticket_sms.as_ref()));
    let notice = match (&kiosk.notice, kiosk.hub_up) {
        (Some(notice), _) => texts.get(lang, notice.key, &[]),
        (None, false) if kiosk.screen != Screen::Welcome => texts.get(lang, "kiosk-hub-down", &[]),
        (None, _) => String::new(),
    };
    window.set_notice(notice.into());
}

/// The code as the check-in screen shows it: a scanned booking token (far longer than a code)
/// only by its first characters.
fn shown_code(code: &str) -> String {
    const SHOWN: usize = 12;
    if code.chars().count() > 16 { format!("{}…", code.chars().take(SHOWN).collect::<String>()) } else { code.into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scanned_token_is_shown_by_its_first_characters() {
        assert_eq!(shown_code("BK7Q2M9X"), "BK7Q2M9X");
        assert_eq!(shown_code(&"A".repeat(170)), format!("{}…", "A".repeat(12)));
    }

    #[test]
    fn the_branch_says_demo_in_both_languages_only_when_the_hub_runs_the_demo() {
        let texts = Texts::new();
        let branch = Names { ar: "فرع".into(), en: "Branch".into() };
        assert_eq!(branch_label(&branch, false, &texts), branch);
        let demo = branch_label(&branch, true, &texts);
        assert_eq!((demo.ar.as_str(), demo.en.as_str()), ("فرع · نسخة تجريبية", "Branch · demo"));
    }
}
