//! The kiosk's screens fit its portrait 1080×1920 touch screen, in Arabic and English, on every
//! screen (welcome, services — also with a notice, with large text and with the assisted choice
//! on —, waiting for the hub, the ticket printed and as an e-ticket, check-in with a code typed):
//! every touch target lies inside the window, and every label's ink is drawn inside its own
//! target. Each picture is left in `target/screenshots/kiosk/` (in `docs/screenshots/kiosk/`
//! with `DAWR_UPDATE_SCREENSHOTS=1`).
//!
//! How: the targets' boxes come from the laid-out element tree (`dawr_ui::targets`, the same
//! list the kiosk logs for the real-window test); the labels' ink is what changes when the
//! screen is drawn again with the labels hidden (`LayoutProbe.hide-labels` in ui/kiosk.slint).
use std::rc::Rc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use dawr_i18n::{Lang, Texts};
use dawr_kiosk::cli::sample_services;
use dawr_kiosk::flow::{Input, Kiosk, Screen};
use dawr_kiosk::screen::{KioskWindow, LayoutProbe, show};
use dawr_ui::targets::{TouchTarget, touch_targets};
use slint::ComponentHandle;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};

/// The kiosk's screen (ui/kiosk.slint's preferred size, as README.md says).
const SIZE: (u32, u32) = (1080, 1920);

/// dawr-ui's headless platform with a stopped clock (nothing moves between two drawings).
struct StoppedClock {
    window: Rc<MinimalSoftwareWindow>,
}

impl Platform for StoppedClock {
    fn create_window_adapter(&self) -> Result<Rc<dyn WindowAdapter>, slint::PlatformError> {
        Ok(self.window.clone())
    }

    fn duration_since_start(&self) -> Duration {
        Duration::ZERO
    }
}

/// Every screen a visitor meets, by name, as the flow reaches it in `lang`.
fn screens(lang: Lang) -> Vec<(&'static str, Kiosk)> {
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 7, 30, 0).unwrap();
    let at = |kiosk: &Kiosk, inputs: &[Input]| {
        let mut kiosk = kiosk.clone();
        for input in inputs {
            kiosk.handle(input.clone(), now);
        }
        kiosk
    };
    let mut welcome = Kiosk::new("layout", now);
    welcome.handle(Input::Services(Some(sample_services())), now);
    let services = at(&welcome, &[Input::ChooseLanguage(lang)]);
    let (_, ticket) = dawr_kiosk::ticket::sample();
    let issuing = at(&services, &[Input::ChooseService("A".into())]);
    assert_eq!(issuing.screen, Screen::Issuing);
    let ticket_shown = at(&issuing, &[Input::Issued(Ok(Box::new(ticket)))]);
    let typed: Vec<Input> = "BK7Q2M".chars().map(Input::Key).collect();
    // A mobile typed on the digit pad (a key a second), then saved; and one too short.
    let on_pad = at(&services, &[Input::SmsOffered(true), Input::OpenMobile]);
    let mut typed_mobile = on_pad.clone();
    for (i, c) in "0501234567".chars().enumerate() {
        typed_mobile.handle(Input::Key(c), now + chrono::Duration::seconds(1 + i as i64));
    }
    let mut with_mobile = typed_mobile.clone();
    with_mobile.handle(Input::Enter, now + chrono::Duration::seconds(20));
    assert!(with_mobile.sms_to.is_some() && with_mobile.screen == Screen::Services);
    let too_short = at(&on_pad, &[Input::Key('5'), Input::Backspace, Input::Key('5')]);
    let issued = Input::Issued(Ok(Box::new(dawr_kiosk::ticket::sample().1)));
    vec![
        ("welcome", welcome.clone()),
        ("services", services.clone()),
        ("services-closed-notice", at(&services, &[Input::ChooseService("E".into())])),
        ("services-large-assisted", at(&services, &[Input::ToggleLargeText, Input::ToggleAssisted])),
        ("issuing", issuing),
        ("ticket-printed", at(&ticket_shown, &[Input::Printed(true)])),
        ("ticket-eticket", at(&ticket_shown, &[Input::Printed(false)])),
        ("checkin", at(&at(&services, &[Input::OpenCheckIn]), &typed)),
        ("services-sms", at(&services, &[Input::SmsOffered(true)])),
        ("mobile", typed_mobile),
        ("mobile-invalid", at(&too_short, &[Input::Enter])),
        ("services-sms-large", at(&with_mobile, &[Input::ToggleLargeText, Input::ToggleAssisted])),
        ("ticket-sms", at(&with_mobile, &[Input::ChooseService("A".into()), issued, Input::Printed(true)])),
    ]
}

/// Label ink (pixels that differ between `shown` and `hidden`) outside every target: how many
/// pixels, and their bounding box; and how many ink pixels there are in all.
fn stray_ink(shown: &image::RgbaImage, hidden: &image::RgbaImage, targets: &[TouchTarget]) -> (usize, usize, String) {
    let inside = |x: u32, y: u32| {
        let (x, y) = (x as f32, y as f32);
        targets.iter().any(|t| x >= t.x && y >= t.y && x < t.x + t.width && y < t.y + t.height)
    };
    let (mut ink, mut stray) = (0, 0);
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, pixel) in shown.enumerate_pixels() {
        let other = hidden.get_pixel(x, y);
        if (0..3).map(|c| u32::from(pixel.0[c].abs_diff(other.0[c]))).sum::<u32>() < 30 {
            continue;
        }
        ink += 1;
        if !inside(x, y) {
            stray += 1;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (ink, stray, format!("x {x0}..{x1}, y {y0}..{y1}"))
}

#[test]
fn every_touch_target_fits_the_screen_and_holds_its_label_on_every_screen_in_both_languages() {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(StoppedClock { window })).expect("the headless platform");
    dawr_ui::fonts::register_with_slint();
    let window = KioskWindow::new().expect("the kiosk's window");
    let texts = Texts::new();
    let (branch, _) = dawr_kiosk::ticket::sample();
    let dir = dawr_ui::headless::screenshots_dir("kiosk");
    let (width, height) = SIZE;
    let mut failures = Vec::new();
    for lang in [Lang::Ar, Lang::En] {
        for (name, kiosk) in screens(lang) {
            let name = format!("{name}-{lang}");
            show(&window, &kiosk, &branch, &texts);
            let probe = window.global::<LayoutProbe>();
            let shown = dawr_ui::headless::snapshot(&window, width, height).expect("a picture");
            probe.set_hide_labels(true);
            let hidden = dawr_ui::headless::snapshot(&window, width, height).expect("a picture");
            probe.set_hide_labels(false);
            image::DynamicImage::ImageRgba8(shown.clone()).to_rgb8().save(dir.join(format!("{name}.png"))).unwrap();

            // The window is still laid out at the size of the last picture.
            let targets = touch_targets(&window);
            if kiosk.screen != Screen::Issuing && targets.len() < 2 {
                failures.push(format!("{name}: only {} touch targets", targets.len()));
            }
            for t in &targets {
                if t.x < 0.0 || t.y < 0.0 || t.x + t.width > width as f32 || t.y + t.height > height as f32 {
                    failures.push(format!("{name}: {:?} reaches outside the screen: {t:?}", t.label));
                }
                if t.height < 80.0 {
                    failures.push(format!("{name}: {:?} is too small to touch: {t:?}", t.label));
                }
            }
            let (ink, stray, area) = stray_ink(&shown, &hidden, &targets);
            if kiosk.screen != Screen::Issuing && ink < 200 {
                failures.push(format!("{name}: hardly any label ink ({ink} pixels): the labels are not drawn"));
            }
            if stray > 0 {
                failures.push(format!("{name}: {stray} pixels of label ink outside every touch target ({area})"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
