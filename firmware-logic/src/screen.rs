//! The 128×64 monochrome screen, drawn with embedded-graphics into any `DrawTarget`.
//!
//! ```text
//! COUNTER 3        ONLINE
//! ───────────────────────
//!          A017              ← the current ticket, big
//! WAITING 4        CALLED    ← or a notice, for a few seconds
//! ```
use core::fmt::Write;

use dawr_protocol::device::{CounterStatus, ErrorCode};
use embedded_graphics::mono_font::MonoTextStyle;
use embedded_graphics::mono_font::ascii::FONT_6X10;
use embedded_graphics::pixelcolor::BinaryColor;
use embedded_graphics::prelude::*;
use embedded_graphics::primitives::{Arc, Circle, Line, PrimitiveStyle};
use embedded_graphics::text::{Alignment, Baseline, Text, TextStyleBuilder};
use profont::PROFONT_24_POINT;

use crate::device::{Link, Mode, Notice, RatingPhase, View};

/// Screen size in pixels.
pub const WIDTH: u32 = 128;
pub const HEIGHT: u32 = 64;

/// The text of a notice (the screen has room for 21 characters).
pub fn notice_text(notice: Notice) -> &'static str {
    match notice {
        Notice::Offline => "OFFLINE - NOT SENT",
        Notice::Busy => "WAIT FOR THE REPLY",
        Notice::NoReply { retrying: true } => "NO REPLY - RETRYING",
        Notice::NoReply { retrying: false } => "NO REPLY FROM HUB",
        Notice::NobodyWaiting => "NOBODY WAITING",
        Notice::Refused(code) => match code {
            ErrorCode::CounterPaused => "COUNTER IS PAUSED",
            ErrorCode::CounterClosed => "COUNTER IS CLOSED",
            ErrorCode::NoCurrentVisitor => "NOBODY AT COUNTER",
            ErrorCode::WrongState => "NOT NOW",
            ErrorCode::UnknownCounter => "UNKNOWN COUNTER",
            ErrorCode::StorageUnavailable => "HUB ERROR - RETRY",
            _ => "REFUSED",
        },
    }
}

/// The bottom line while the Wi-Fi is joined again.
pub const REJOINING: &str = "WI-FI LOST - JOINING";

/// Draws a whole frame.
pub fn draw<D: DrawTarget<Color = BinaryColor>>(view: &View<'_>, display: &mut D) -> Result<(), D::Error> {
    display.clear(BinaryColor::Off)?;
    if view.mode == Mode::Rating {
        return draw_rating(view, display);
    }
    let small = MonoTextStyle::new(&FONT_6X10, BinaryColor::On);
    let left = TextStyleBuilder::new().baseline(Baseline::Top).alignment(Alignment::Left).build();
    let right = TextStyleBuilder::new().baseline(Baseline::Top).alignment(Alignment::Right).build();
    let center = TextStyleBuilder::new().baseline(Baseline::Middle).alignment(Alignment::Center).build();
    let right_edge = WIDTH as i32 - 1;

    let mut title: heapless::String<24> = heapless::String::new();
    let _ = write!(title, "COUNTER {}", view.counter);
    Text::with_text_style(&title, Point::new(0, 0), small, left).draw(display)?;
    let link = match view.link {
        Link::Online => "ONLINE",
        Link::Offline => "OFFLINE",
        Link::NoWifi => "NO WI-FI",
        Link::Connecting => "...",
    };
    Text::with_text_style(link, Point::new(right_edge, 0), small, right).draw(display)?;
    Line::new(Point::new(0, 11), Point::new(right_edge, 11))
        .into_styled(PrimitiveStyle::with_stroke(BinaryColor::On, 1))
        .draw(display)?;

    let big = MonoTextStyle::new(&PROFONT_24_POINT, BinaryColor::On);
    let middle = match (view.status, view.ticket) {
        (None, _) => "....",
        (Some(CounterStatus::Paused), None) => "PAUSE",
        (Some(CounterStatus::Closed), None) => "CLOSED",
        (_, Some(ticket)) => ticket,
        (_, None) => "----",
    };
    Text::with_text_style(middle, Point::new(WIDTH as i32 / 2, 32), big, center).draw(display)?;

    let bottom = Point::new(0, 54);
    if let Some(notice) = view.notice {
        Text::with_text_style(notice_text(notice), bottom, small, left).draw(display)?;
    } else if view.link == Link::NoWifi {
        Text::with_text_style(REJOINING, bottom, small, left).draw(display)?;
    } else if view.pending {
        Text::with_text_style("SENDING...", bottom, small, left).draw(display)?;
    } else {
        if let Some(waiting) = view.waiting {
            let mut line: heapless::String<24> = heapless::String::new();
            let _ = write!(line, "WAITING {waiting}");
            Text::with_text_style(&line, bottom, small, left).draw(display)?;
        }
        if view.ticket.is_some() {
            let state = if view.serving { "SERVING" } else { "CALLED" };
            Text::with_text_style(state, Point::new(right_edge, 54), small, right).draw(display)?;
        }
    }
    Ok(())
}

/// The exit terminal: five faces to rate the visit that just ended, then thanks.
fn draw_rating<D: DrawTarget<Color = BinaryColor>>(view: &View<'_>, display: &mut D) -> Result<(), D::Error> {
    let small = MonoTextStyle::new(&FONT_6X10, BinaryColor::On);
    let center_top = TextStyleBuilder::new().baseline(Baseline::Top).alignment(Alignment::Center).build();
    let center = TextStyleBuilder::new().baseline(Baseline::Middle).alignment(Alignment::Center).build();
    let mid = WIDTH as i32 / 2;
    match view.rating {
        RatingPhase::Open { ticket, .. } => {
            let mut title: heapless::String<24> = heapless::String::new();
            let _ = write!(title, "RATE VISIT {ticket}");
            Text::with_text_style(&title, Point::new(mid, 0), small, center_top).draw(display)?;
            Text::with_text_style("PRESS A FACE", Point::new(mid, 12), small, center_top).draw(display)?;
            for score in 1..=5u8 {
                face(score, Point::new(13 + (i32::from(score) - 1) * 25, 46), display)?;
            }
        }
        RatingPhase::Thanks { .. } => {
            let big = MonoTextStyle::new(&PROFONT_24_POINT, BinaryColor::On);
            Text::with_text_style("THANK", Point::new(mid, 18), big, center).draw(display)?;
            Text::with_text_style("YOU", Point::new(mid, 46), big, center).draw(display)?;
        }
        RatingPhase::Idle => {
            let mut title: heapless::String<24> = heapless::String::new();
            let _ = write!(title, "COUNTER {}", view.counter);
            Text::with_text_style(&title, Point::new(mid, 0), small, center_top).draw(display)?;
            Text::with_text_style("RATE YOUR VISIT", Point::new(mid, 22), small, center_top).draw(display)?;
            Text::with_text_style("WHEN YOU LEAVE", Point::new(mid, 34), small, center_top).draw(display)?;
        }
    }
    if let Some(notice) = view.notice {
        Text::with_text_style(notice_text(notice), Point::new(mid, 54), small, center_top).draw(display)?;
    } else if view.link == Link::NoWifi {
        Text::with_text_style(REJOINING, Point::new(mid, 54), small, center_top).draw(display)?;
    } else if view.link != Link::Online {
        Text::with_text_style("OFFLINE", Point::new(mid, 54), small, center_top).draw(display)?;
    }
    Ok(())
}

/// A face 21 px wide centred on `center`: 1 frowns, 3 is neutral, 5 smiles.
fn face<D: DrawTarget<Color = BinaryColor>>(score: u8, center: Point, display: &mut D) -> Result<(), D::Error> {
    let line = PrimitiveStyle::with_stroke(BinaryColor::On, 1);
    let fill = PrimitiveStyle::with_fill(BinaryColor::On);
    Circle::with_center(center, 21).into_styled(line).draw(display)?;
    for dx in [-4, 4] {
        Circle::with_center(center + Point::new(dx, -3), 3).into_styled(fill).draw(display)?;
    }
    let mouth = match score {
        // Angles run clockwise from three o'clock: a smile is the bottom of a circle, a frown its top.
        1 => Arc::with_center(center + Point::new(0, 10), 12, 200.0.deg(), 140.0.deg()),
        2 => Arc::with_center(center + Point::new(0, 11), 14, 235.0.deg(), 70.0.deg()),
        4 => Arc::with_center(center + Point::new(0, -2), 14, 55.0.deg(), 70.0.deg()),
        5 => Arc::with_center(center + Point::new(0, -1), 12, 20.0.deg(), 140.0.deg()),
        _ => {
            return Line::new(center + Point::new(-4, 5), center + Point::new(4, 5)).into_styled(line).draw(display);
        }
    };
    mouth.into_styled(line).draw(display)
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_graphics::pixelcolor::Rgb888;
    use embedded_graphics_simulator::{BinaryColorTheme, OutputImage, OutputSettingsBuilder, SimulatorDisplay};
    use std::path::{Path, PathBuf};

    /// Where the screen pictures are kept.
    fn screenshots() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/screenshots")
    }

    /// Whether a picture of `pixels` (`width` × `height`, RGB) is to be written over `committed`
    /// (pure): when asked to (`update`), when there is none, or when its pixels differ — never for
    /// the same pixels encoded otherwise.
    fn needs_writing(
        update: bool,
        committed: Option<&image::RgbImage>,
        width: u32,
        height: u32,
        pixels: &[u8],
    ) -> bool {
        update || committed.is_none_or(|c| c.dimensions() != (width, height) || c.as_raw().as_slice() != pixels)
    }

    /// Saves `picture` at `path` when [`needs_writing`] says so (`DAWR_UPDATE_SCREENSHOTS=1` asks),
    /// so a test run leaves the committed pictures as they are unless the screen changed; whether
    /// it wrote.
    fn save_if_changed(picture: &OutputImage<Rgb888>, path: &Path) -> bool {
        let update = std::env::var("DAWR_UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1");
        let committed = image::open(path).ok().map(|i| i.to_rgb8());
        let buffer = picture.as_image_buffer();
        let write = needs_writing(update, committed.as_ref(), buffer.width(), buffer.height(), buffer.as_raw());
        if write {
            picture.save_png(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
        write
    }

    #[test]
    fn a_picture_is_rewritten_only_when_its_pixels_change() {
        let path = std::env::temp_dir().join(format!("dawr-screen-{}.png", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let settings = OutputSettingsBuilder::new().scale(1).theme(BinaryColorTheme::OledBlue).build();
        let picture = render(&view()).to_rgb_output_image(&settings);
        assert!(save_if_changed(&picture, &path), "no picture yet: written");
        // The same pixels, encoded otherwise (as another png crate would): left alone.
        let same = image::open(&path).unwrap().to_rgb8();
        let mut other = Vec::new();
        let encoder = image::codecs::png::PngEncoder::new_with_quality(
            &mut other,
            image::codecs::png::CompressionType::Fast,
            image::codecs::png::FilterType::NoFilter,
        );
        image::ImageEncoder::write_image(
            encoder,
            same.as_raw(),
            same.width(),
            same.height(),
            image::ExtendedColorType::Rgb8,
        )
        .unwrap();
        std::fs::write(&path, &other).unwrap();
        assert!(!save_if_changed(&picture, &path), "same pixels: not rewritten");
        assert_eq!(std::fs::read(&path).unwrap(), other, "the file is untouched");
        // Other pixels: rewritten.
        let paused = View { status: Some(CounterStatus::Paused), ticket: None, ..view() };
        assert!(save_if_changed(&render(&paused).to_rgb_output_image(&settings), &path), "changed: rewritten");
        assert_ne!(std::fs::read(&path).unwrap(), other);
        std::fs::remove_file(&path).unwrap();
    }

    static IDLE: RatingPhase = RatingPhase::Idle;

    fn view() -> View<'static> {
        View {
            mode: Mode::Counter,
            rating: &IDLE,
            counter: "3",
            link: Link::Online,
            status: Some(CounterStatus::Open),
            ticket: Some("A017"),
            serving: false,
            waiting: Some(4),
            pending: false,
            notice: None,
        }
    }

    /// The rating terminal's screens, saved beside the counter's.
    #[test]
    fn rating_screens_render_and_are_saved_as_png() {
        let open = RatingPhase::Open { ticket: heapless::String::try_from("A017").unwrap(), until_ms: 0 };
        let thanks = RatingPhase::Thanks { until_ms: 0 };
        let out = screenshots();
        std::fs::create_dir_all(&out).unwrap();
        let settings = OutputSettingsBuilder::new().scale(4).theme(BinaryColorTheme::OledBlue).build();
        for (name, phase) in [("rating-ask", &open), ("rating-thanks", &thanks), ("rating-idle", &IDLE)] {
            let d = render(&View { mode: Mode::Rating, rating: phase, ..view() });
            assert!(lit(&d, 0..128, 0..64) > 150, "{name} is nearly empty");
            save_if_changed(&d.to_rgb_output_image(&settings), &out.join(format!("button-{name}.png")));
        }
        // Five faces side by side, each with ink of its own; the happiest differs from the saddest.
        let d = render(&View { mode: Mode::Rating, rating: &open, ..view() });
        let faces: Vec<Vec<bool>> = (0..5)
            .map(|i| {
                let x0 = 13 + i * 25 - 10;
                (x0..x0 + 21)
                    .flat_map(|x| (36..57).map(move |y| (x, y)))
                    .map(|(x, y)| d.get_pixel(Point::new(x, y)) == BinaryColor::On)
                    .collect()
            })
            .collect();
        assert!(faces.iter().all(|f| f.iter().filter(|p| **p).count() > 40), "a face is missing");
        assert_ne!(faces[0], faces[4]);
        assert_ne!(faces[1], faces[3]);
    }

    fn render(view: &View<'_>) -> SimulatorDisplay<BinaryColor> {
        let mut display = SimulatorDisplay::new(Size::new(WIDTH, HEIGHT));
        draw(view, &mut display).unwrap();
        display
    }

    fn lit(d: &SimulatorDisplay<BinaryColor>, x: core::ops::Range<i32>, y: core::ops::Range<i32>) -> usize {
        x.flat_map(|x| y.clone().map(move |y| Point::new(x, y))).filter(|p| d.get_pixel(*p) == BinaryColor::On).count()
    }

    /// Renders the screens a staff member sees and saves them for docs/screenshots/.
    #[test]
    fn screens_render_and_are_saved_as_png() {
        let screens = [
            ("called", view()),
            ("serving", View { serving: true, ticket: Some("B104"), waiting: Some(0), ..view() }),
            ("offline", View { link: Link::Offline, notice: Some(Notice::Offline), ..view() }),
            ("no-wifi", View { link: Link::NoWifi, ..view() }),
            ("no-reply", View { notice: Some(Notice::NoReply { retrying: true }), pending: true, ..view() }),
            ("paused", View { status: Some(CounterStatus::Paused), ticket: None, waiting: Some(12), ..view() }),
            ("nobody-waiting", View { ticket: None, waiting: Some(0), notice: Some(Notice::NobodyWaiting), ..view() }),
        ];
        let out = screenshots();
        std::fs::create_dir_all(&out).unwrap();
        let settings = OutputSettingsBuilder::new().scale(4).theme(BinaryColorTheme::OledBlue).build();
        let mut frames = Vec::new();
        for (name, v) in &screens {
            let d = render(v);
            // The big ticket area and both text rows have ink.
            assert!(lit(&d, 0..128, 14..50) > 80, "{name}: the big line is empty");
            assert!(lit(&d, 0..128, 0..10) > 20, "{name}: the title is empty");
            assert!(lit(&d, 0..128, 54..64) > 10, "{name}: the bottom line is empty");
            save_if_changed(&d.to_rgb_output_image(&settings), &out.join(format!("button-{name}.png")));
            frames.push(
                (0..128)
                    .flat_map(|x| (0..64).map(move |y| (x, y)))
                    .map(|(x, y)| d.get_pixel(Point::new(x, y)) == BinaryColor::On)
                    .collect::<Vec<_>>(),
            );
        }
        for i in 0..frames.len() {
            for j in i + 1..frames.len() {
                assert_ne!(frames[i], frames[j], "{} and {} look the same", screens[i].0, screens[j].0);
            }
        }
    }

    #[test]
    fn the_ticket_is_centred_and_big() {
        let d = render(&view());
        let columns: Vec<i32> = (0..128).filter(|&x| lit(&d, x..x + 1, 14..50) > 0).collect();
        let (first, last) = (columns[0], *columns.last().unwrap());
        assert!(last - first >= 50, "four big characters span at least 50 px: {first}..{last}");
        assert!(((first + last) / 2 - 64).abs() <= 3, "centred: {first}..{last}");
        let rows: Vec<i32> = (12..54).filter(|&y| lit(&d, 0..128, y..y + 1) > 0).collect();
        assert!(rows.last().unwrap() - rows[0] >= 15, "at least 16 px tall");
    }
}
