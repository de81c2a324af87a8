//! Text as a 1-bit bitmap for the printer: Arabic cannot go through a printer's code pages, so
//! it is shaped (joined letters, right-to-left order) by cosmic-text with the bundled Noto fonts
//! and sent as an ESC/POS raster image (`GS v 0`).
use std::sync::Arc;

use cosmic_text::{Align, Attrs, Buffer, Color, Family, FontSystem, Metrics, Shaping, SwashCache};

use dawr_ui::fonts::{NOTO_SANS, NOTO_SANS_ARABIC};

/// A black-and-white picture, one `bool` per dot (true = black).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bitmap {
    pub width: usize,
    pub height: usize,
    pub dots: Vec<bool>,
}

impl Bitmap {
    pub fn get(&self, x: usize, y: usize) -> bool {
        self.dots[y * self.width + x]
    }

    /// The bitmap as an ESC/POS `GS v 0` raster command (normal density).
    pub fn to_escpos(&self) -> Vec<u8> {
        let bytes_per_row = self.width.div_ceil(8);
        let mut out = Vec::with_capacity(8 + bytes_per_row * self.height);
        out.extend_from_slice(&[0x1d, b'v', b'0', 0]);
        out.extend_from_slice(&(bytes_per_row as u16).to_le_bytes());
        out.extend_from_slice(&(self.height as u16).to_le_bytes());
        for y in 0..self.height {
            for byte in 0..bytes_per_row {
                let mut b = 0u8;
                for bit in 0..8 {
                    let x = byte * 8 + bit;
                    if x < self.width && self.get(x, y) {
                        b |= 0x80 >> bit;
                    }
                }
                out.push(b);
            }
        }
        out
    }
}

/// A QR code of `text` as a bitmap `width` dots wide, the code centred and about `size` dots
/// square (with its quiet zone), for printers without a native QR command.
pub fn qr_bitmap(text: &str, width: usize, size: usize) -> Option<Bitmap> {
    let code = qrcode::QrCode::with_error_correction_level(text, qrcode::EcLevel::M).ok()?;
    let modules = code.width();
    let quiet = 4;
    let scale = (size / (modules + 2 * quiet)).max(1);
    let side = (modules + 2 * quiet) * scale;
    let left = width.saturating_sub(side) / 2;
    let colors = code.to_colors();
    let mut dots = vec![false; width * side];
    for y in 0..side {
        for x in 0..side.min(width) {
            let (mx, my) = ((x / scale) as isize - quiet as isize, (y / scale) as isize - quiet as isize);
            let inside = mx >= 0 && my >= 0 && (mx as usize) < modules && (my as usize) < modules;
            if inside && colors[my as usize * modules + mx as usize] == qrcode::Color::Dark {
                dots[y * width + left + x] = true;
            }
        }
    }
    Some(Bitmap { width, height: side, dots })
}

/// Renders lines of text centred in a given width. Build once; rendering reuses the glyph cache.
pub struct TextRenderer {
    fonts: FontSystem,
    cache: SwashCache,
}

impl Default for TextRenderer {
    fn default() -> Self {
        Self::new()
    }
}

impl TextRenderer {
    /// Loads only the bundled fonts, so a ticket prints the same on every machine.
    pub fn new() -> Self {
        let mut db = cosmic_text::fontdb::Database::new();
        db.load_font_source(cosmic_text::fontdb::Source::Binary(Arc::new(NOTO_SANS_ARABIC.to_vec())));
        db.load_font_source(cosmic_text::fontdb::Source::Binary(Arc::new(NOTO_SANS.to_vec())));
        db.set_sans_serif_family("Noto Sans Arabic");
        let fonts = FontSystem::new_with_locale_and_db("ar".into(), db);
        TextRenderer { fonts, cache: SwashCache::new() }
    }

    /// `text` (any direction, wrapped if too long) centred in `width` dots, `size` dots high.
    pub fn render(&mut self, text: &str, width: usize, size: f32) -> Bitmap {
        let metrics = Metrics::new(size, size * 1.35);
        let mut buffer = Buffer::new(&mut self.fonts, metrics);
        buffer.set_size(Some(width as f32), None);
        buffer.set_text(text, &Attrs::new().family(Family::SansSerif), Shaping::Advanced, Some(Align::Center));
        buffer.shape_until_scroll(&mut self.fonts, false);
        let lines = buffer.layout_runs().count().max(1);
        let height = (metrics.line_height * lines as f32).ceil() as usize;
        let mut dots = vec![false; width * height];
        buffer.draw(&mut self.fonts, &mut self.cache, Color::rgb(0, 0, 0), |x, y, w, h, color| {
            if color.a() < 110 {
                return;
            }
            for dy in 0..h as i32 {
                for dx in 0..w as i32 {
                    let (px, py) = (x + dx, y + dy);
                    if px >= 0 && py >= 0 && (px as usize) < width && (py as usize) < height {
                        dots[py as usize * width + px as usize] = true;
                    }
                }
            }
        });
        Bitmap { width, height, dots }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ink_columns(b: &Bitmap) -> Vec<usize> {
        (0..b.width).filter(|&x| (0..b.height).any(|y| b.get(x, y))).collect()
    }

    #[test]
    fn arabic_is_drawn_centred_with_latin_digits_from_the_fallback_font() {
        let mut r = TextRenderer::new();
        let arabic = r.render("الوكالات", 576, 36.0);
        let ink = ink_columns(&arabic);
        assert!(ink.len() > 60, "the Arabic word has ink");
        let centre = (ink[0] + ink[ink.len() - 1]) / 2;
        assert!((centre as i64 - 288).abs() < 12, "centred: {}..{}", ink[0], ink[ink.len() - 1]);
        let with_number = r.render("تذكرتك A017", 576, 36.0);
        assert!(
            ink_columns(&with_number).len() > ink_columns(&r.render("تذكرتك", 576, 36.0)).len() + 40,
            "A017 is drawn too"
        );
    }

    #[test]
    fn joined_arabic_is_narrower_than_its_isolated_letters() {
        // Shaping joins letters: the word is narrower than the same letters with spaces between.
        let mut r = TextRenderer::new();
        let word = ink_columns(&r.render("سلام", 576, 40.0));
        let letters = ink_columns(&r.render("س ل ا م", 576, 40.0));
        assert!(word[word.len() - 1] - word[0] < letters[letters.len() - 1] - letters[0]);
    }

    #[test]
    fn the_raster_command_packs_eight_dots_a_byte() {
        let b = Bitmap { width: 10, height: 2, dots: (0..20).map(|i| i == 0 || i == 9 || i == 10).collect() };
        let bytes = b.to_escpos();
        assert_eq!(&bytes[..8], &[0x1d, b'v', b'0', 0, 2, 0, 2, 0]);
        assert_eq!(&bytes[8..], &[0b1000_0000, 0b0100_0000, 0b1000_0000, 0]);
    }
}
