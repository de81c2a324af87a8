//! The desk screen fits: at 1366×768 and 1920×1080, in Arabic and English, in every state
//! (signed out, idle, called, serving with the case, the questions before complete and transfer,
//! paused), every button's label and shortcut hint is drawn inside its button, and the action
//! bar with all seven buttons is on screen. Each picture is left in `target/screenshots/counter-app/`
//! (in `docs/screenshots/counter-app/` with `DAWR_UPDATE_SCREENSHOTS=1`, to refresh the
//! committed ones on purpose).
//!
//! How a label's place is found, from the rendered pixels (so a label that really spills out
//! of its button fails): the screen is drawn three times — as it is, with every button label
//! transparent (the pixels that change are the labels' ink), and with every button painted
//! magenta (the buttons' boxes). Every ink pixel must be magenta in the third picture.
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use dawr_counter_app::sample::{self, DeskState};
use dawr_counter_app::screen::{CounterWindow, LayoutProbe, show};
use dawr_i18n::{Lang, Texts};
use slint::ComponentHandle;
use slint::platform::software_renderer::{MinimalSoftwareWindow, RepaintBufferType};
use slint::platform::{Platform, WindowAdapter};

const MARKER: [u8; 3] = [255, 0, 255];
/// The window's padding around the action bar (ui/counter.slint).
const PADDING: u32 = 16;

/// dawr-ui's headless platform with a stopped clock: a text cursor does not blink between the
/// three drawings of one screen (its blink would count as label ink).
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

/// `docs/screenshots/counter-app/` with `DAWR_UPDATE_SCREENSHOTS=1`, else under `target/`.
fn screenshots() -> PathBuf {
    dawr_ui::headless::screenshots_dir("counter-app")
}

/// Where label ink (pixels that differ between `shown` and `hidden`) lies outside the magenta
/// boxes of `marked`: how many pixels, and their bounding box.
fn stray_ink(shown: &image::RgbaImage, hidden: &image::RgbaImage, marked: &image::RgbaImage) -> (usize, usize, String) {
    let (mut ink, mut stray) = (0, 0);
    let (mut x0, mut y0, mut x1, mut y1) = (u32::MAX, u32::MAX, 0, 0);
    for (x, y, pixel) in shown.enumerate_pixels() {
        let other = hidden.get_pixel(x, y);
        let difference: u32 = (0..3).map(|c| pixel.0[c].abs_diff(other.0[c]) as u32).sum();
        if difference < 30 {
            continue;
        }
        ink += 1;
        if marked.get_pixel(x, y).0[..3] != MARKER {
            stray += 1;
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
    }
    (ink, stray, format!("x {x0}..{x1}, y {y0}..{y1}"))
}

/// The magenta runs across row `y` of `marked`: one per button the row crosses.
fn buttons_across(marked: &image::RgbaImage, y: u32) -> usize {
    let magenta = |x: u32| marked.get_pixel(x, y).0[..3] == MARKER;
    (0..marked.width()).filter(|&x| magenta(x) && (x == 0 || !magenta(x - 1))).count()
}

#[test]
fn every_button_label_lies_inside_its_button_in_every_state_size_and_language() {
    let window = MinimalSoftwareWindow::new(RepaintBufferType::NewBuffer);
    slint::platform::set_platform(Box::new(StoppedClock { window })).expect("the headless platform");
    dawr_ui::fonts::register_with_slint();
    let window = CounterWindow::new().expect("the desk window");
    let texts = Texts::new();
    let branch = sample::branch();
    // A fixed clock: the same timer in every picture.
    let now = Utc.with_ymd_and_hms(2026, 11, 23, 7, 30, 0).unwrap();
    let mut failures = Vec::new();
    for (width, height) in [(1366, 768), (1920, 1080)] {
        for lang in [Lang::Ar, Lang::En] {
            for state in DeskState::ALL {
                let desk = sample::desk(state, lang, "2", &branch, now);
                let case = desk.case.clone().unwrap_or_default();
                window.set_case_visitor(case.visitor.as_str().into());
                window.set_case_category(case.category.as_str().into());
                window.set_case_notes(case.notes.as_str().into());
                show(&window, &desk, &branch, &texts, now);
                let probe = window.global::<LayoutProbe>();
                let shown = dawr_ui::headless::snapshot(&window, width, height).expect("a picture");
                probe.set_hide_labels(true);
                let hidden = dawr_ui::headless::snapshot(&window, width, height).expect("a picture");
                probe.set_mark_buttons(true);
                let marked = dawr_ui::headless::snapshot(&window, width, height).expect("a picture");
                probe.set_hide_labels(false);
                probe.set_mark_buttons(false);
                let name = format!("{}-{lang}-{width}x{height}", state.name());
                let opaque = image::DynamicImage::ImageRgba8(shown.clone()).to_rgb8();
                opaque.save(screenshots().join(format!("{name}.png"))).expect("the picture saved");

                let (ink, stray, area) = stray_ink(&shown, &hidden, &marked);
                if ink < 200 {
                    failures.push(format!("{name}: hardly any label ink ({ink} pixels): the labels are not drawn"));
                }
                if stray > 0 {
                    failures.push(format!("{name}: {stray} pixels of label ink outside every button ({area})"));
                }
                if state != DeskState::SignedOut {
                    // The middle of the action bar, just above the window's bottom padding.
                    let bar = buttons_across(&marked, height - PADDING - 20);
                    if bar != 7 {
                        failures.push(format!("{name}: {bar} buttons across the action bar, not 7"));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    // Skills: the header names the services the counter calls for the person signed in.
    for (lang, serves) in [(Lang::En, "serves A, D"), (Lang::Ar, "يخدم A، D")] {
        let mut desk = sample::desk(DeskState::Idle, lang, "2", &branch, now);
        desk.signed_in.as_mut().expect("signed in").services = vec!["A".into(), "D".into()];
        show(&window, &desk, &branch, &texts, now);
        // Without Fluent's bidi isolation marks.
        let header: String = window.get_header().chars().filter(|c| !matches!(c, '\u{2068}' | '\u{2069}')).collect();
        assert!(header.ends_with(serves), "{lang}: {header}");
    }
}
