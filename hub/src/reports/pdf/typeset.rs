//! Text into positioned glyphs: the bidi algorithm (unicode-bidi) cuts a line into runs in
//! visual order, each run is cut where the font changes (Noto Sans Arabic for the Arabic script,
//! Noto Sans for the rest), and harfrust shapes each piece (Arabic joining forms, lam-alef).
//! Every glyph keeps the text it stands for, so the PDF's ToUnicode map gives the words back.
use harfrust::{Direction, FontRef, ShaperData, UnicodeBuffer};
use read_fonts::TableProvider;
use unicode_bidi::{BidiInfo, Level};

static NOTO_SANS: &[u8] = include_bytes!("../../../../ui/fonts/NotoSans-Regular.ttf");
static NOTO_SANS_BOLD: &[u8] = include_bytes!("../../../../ui/fonts/NotoSans-Bold.ttf");
static NOTO_SANS_ARABIC: &[u8] = include_bytes!("../../../../ui/fonts/NotoSansArabic-Regular.ttf");
static NOTO_SANS_ARABIC_BOLD: &[u8] = include_bytes!("../../../../ui/fonts/NotoSansArabic-Bold.ttf");

/// Which of the four bundled faces: Latin or Arabic, regular or bold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaceId {
    Latin,
    LatinBold,
    Arabic,
    ArabicBold,
}

impl FaceId {
    pub const ALL: [FaceId; 4] = [FaceId::Latin, FaceId::LatinBold, FaceId::Arabic, FaceId::ArabicBold];

    pub fn index(self) -> usize {
        self as usize
    }

    pub fn data(self) -> &'static [u8] {
        match self {
            FaceId::Latin => NOTO_SANS,
            FaceId::LatinBold => NOTO_SANS_BOLD,
            FaceId::Arabic => NOTO_SANS_ARABIC,
            FaceId::ArabicBold => NOTO_SANS_ARABIC_BOLD,
        }
    }

    /// The PostScript name the PDF gives the embedded subset.
    pub fn name(self) -> &'static str {
        match self {
            FaceId::Latin => "NotoSans-Regular",
            FaceId::LatinBold => "NotoSans-Bold",
            FaceId::Arabic => "NotoSansArabic-Regular",
            FaceId::ArabicBold => "NotoSansArabic-Bold",
        }
    }

    fn of(arabic: bool, bold: bool) -> FaceId {
        match (arabic, bold) {
            (false, false) => FaceId::Latin,
            (false, true) => FaceId::LatinBold,
            (true, false) => FaceId::Arabic,
            (true, true) => FaceId::ArabicBold,
        }
    }
}

/// One glyph placed on a line: `x` from the line's left edge, in font units of its face.
#[derive(Debug, Clone, PartialEq)]
pub struct Glyph {
    pub face: FaceId,
    pub id: u16,
    /// Pen position and offsets, in text-space units (1/1000 of the font size).
    pub x: f32,
    pub y: f32,
    /// The advance the shaper gave, in the same units.
    pub advance: f32,
    /// The characters this glyph stands for (empty for the second glyph of a cluster).
    pub text: String,
}

/// A shaped line, glyphs in visual order left to right.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Line {
    pub glyphs: Vec<Glyph>,
    /// Width in 1/1000 of the font size.
    pub width: f32,
}

impl Line {
    /// The width at a font size, in points.
    pub fn width_at(&self, size: f32) -> f32 {
        self.width * size / 1000.0
    }
}

/// The four faces, parsed once.
pub struct Shaper {
    faces: Vec<(FontRef<'static>, ShaperData, f32)>,
}

fn is_arabic(c: char) -> bool {
    matches!(c, '\u{0600}'..='\u{06FF}' | '\u{0750}'..='\u{077F}' | '\u{08A0}'..='\u{08FF}' | '\u{FB50}'..='\u{FDFF}' | '\u{FE70}'..='\u{FEFF}')
}

/// Bidi controls Fluent puts around placeables: they steer the order, they are never drawn.
fn is_control(c: char) -> bool {
    matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

impl Default for Shaper {
    fn default() -> Self {
        Self::new()
    }
}

impl Shaper {
    pub fn new() -> Shaper {
        let faces = FaceId::ALL
            .into_iter()
            .map(|id| {
                let font = FontRef::new(id.data()).expect("a bundled font parses");
                let data = ShaperData::new(&font);
                let upem = font.head().map(|h| f32::from(h.units_per_em())).unwrap_or(1000.0);
                (font, data, upem)
            })
            .collect();
        Shaper { faces }
    }

    /// Shapes one line of text; `rtl` is the paragraph's direction (Arabic pages are RTL).
    pub fn line(&self, text: &str, bold: bool, rtl: bool) -> Line {
        let level = if rtl { Level::rtl() } else { Level::ltr() };
        let info = BidiInfo::new(text, Some(level));
        let mut line = Line::default();
        let Some(para) = info.paragraphs.first() else { return line };
        let (levels, runs) = info.visual_runs(para, para.range.clone());
        for run in runs {
            let run_rtl = levels[run.start].is_rtl();
            let mut pieces = self.pieces(&text[run], bold);
            if run_rtl {
                pieces.reverse();
            }
            for (face, piece) in pieces {
                self.shape_piece(&mut line, face, &piece, run_rtl);
            }
        }
        line
    }

    fn shape_piece(&self, line: &mut Line, face: FaceId, piece: &str, rtl: bool) {
        let (font, data, upem) = &self.faces[face.index()];
        let shaper = data.shaper(font).build();
        let mut buffer = UnicodeBuffer::new();
        buffer.push_str(piece);
        buffer.set_direction(if rtl { Direction::RightToLeft } else { Direction::LeftToRight });
        buffer.guess_segment_properties();
        let shaped = shaper.shape(buffer, harfrust::ShapeOptions::new());
        let scale = 1000.0 / upem;
        let mut clusters: Vec<usize> = shaped.glyph_infos().iter().map(|g| g.cluster as usize).collect();
        clusters.sort_unstable();
        clusters.dedup();
        let text_of = |cluster: usize| {
            let next = clusters.iter().find(|c| **c > cluster).copied().unwrap_or(piece.len());
            piece[cluster..next].to_string()
        };
        let mut seen = std::collections::BTreeSet::new();
        for (info, pos) in shaped.glyph_infos().iter().zip(shaped.glyph_positions()) {
            let cluster = info.cluster as usize;
            let text = match seen.insert(cluster) {
                // Readers that follow poppler (pdftotext, Evince) put a right-to-left line's
                // glyphs back in logical order, reversing a ligature's characters with them:
                // a lam-alef's map says alef-lam, so that it comes out lam-alef.
                true if rtl => text_of(cluster).chars().rev().collect(),
                true => text_of(cluster),
                false => String::new(),
            };
            let advance = pos.x_advance as f32 * scale;
            line.glyphs.push(Glyph {
                face,
                id: info.glyph_id as u16,
                x: line.width + pos.x_offset as f32 * scale,
                y: pos.y_offset as f32 * scale,
                advance,
                text,
            });
            line.width += advance;
        }
    }
}

impl Shaper {
    /// Whether `face` has a glyph for `c` (Noto Sans Arabic has no parentheses, for one).
    fn has(&self, face: FaceId, c: char) -> bool {
        let font = &self.faces[face.index()].0;
        font.cmap().ok().and_then(|cmap| cmap.map_codepoint(c)).is_some_and(|g| g.to_u32() != 0)
    }

    /// A run's text cut where the face changes, in logical order, bidi controls left out:
    /// Arabic letters in the Arabic face, others in the Latin one, spaces and punctuation in
    /// the face before them when it has them.
    fn pieces(&self, run: &str, bold: bool) -> Vec<(FaceId, String)> {
        let mut out: Vec<(FaceId, String)> = Vec::new();
        for c in run.chars().filter(|c| !is_control(*c)) {
            let face = match (is_arabic(c), out.last()) {
                (false, Some((last, _))) if !c.is_alphanumeric() && self.has(*last, c) => *last,
                (arabic, _) => FaceId::of(arabic, bold),
            };
            match out.last_mut() {
                Some((last, text)) if *last == face => text.push(c),
                _ => out.push((face, c.to_string())),
            }
        }
        out
    }
}
