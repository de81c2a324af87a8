//! A small PDF canvas over pdf-writer: A4 pages drawn top-down in points (y grows downwards,
//! as the layout thinks), shaped lines of text, rectangles and lines. At the end each face used
//! is subset to its glyphs and embedded as a CID font (Identity-H) with a ToUnicode map, so a
//! reader or `pdftotext` gets the characters back, ligatures included.
use std::collections::BTreeMap;

use flate2::{Compression, write::ZlibEncoder};
use pdf_writer::types::{CidFontType, FontFlags, SystemInfo};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use read_fonts::TableProvider;
use subsetter::GlyphRemapper;

use super::typeset::{FaceId, Line};

/// A4 in points.
pub const PAGE_W: f32 = 595.0;
pub const PAGE_H: f32 = 842.0;

/// An sRGB colour, each part 0..=1.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rgb(pub f32, pub f32, pub f32);

impl Rgb {
    pub const INK: Rgb = Rgb(0.12, 0.14, 0.17);
    pub const GREY: Rgb = Rgb(0.45, 0.48, 0.52);
    pub const RULE: Rgb = Rgb(0.82, 0.84, 0.87);
    pub const WHITE: Rgb = Rgb(1.0, 1.0, 1.0);
}

#[derive(Default)]
struct FaceUse {
    remapper: Option<GlyphRemapper>,
    /// New glyph id → (advance in 1/1000 em, text).
    glyphs: BTreeMap<u16, (f32, String)>,
}

/// The document being drawn.
pub struct Doc {
    pages: Vec<Vec<u8>>,
    faces: [FaceUse; 4],
    title: String,
}

/// One page being drawn; [`Doc::page`] starts it, [`Doc::end_page`] keeps it.
pub struct Page {
    content: Content,
}

impl Doc {
    pub fn new(title: &str) -> Doc {
        Doc { pages: Vec::new(), faces: Default::default(), title: title.to_string() }
    }

    pub fn page(&self) -> Page {
        Page { content: Content::new() }
    }

    pub fn end_page(&mut self, page: Page) {
        self.pages.push(page.content.finish().into_vec());
    }

    pub fn page_count(&self) -> usize {
        self.pages.len()
    }

    /// Draws a shaped line with its left end at `x` and its baseline at `y` (from the top).
    pub fn text(&mut self, page: &mut Page, line: &Line, x: f32, y: f32, size: f32, color: Rgb) {
        let c = &mut page.content;
        c.set_fill_rgb(color.0, color.1, color.2);
        c.begin_text();
        let mut current = None;
        for glyph in &line.glyphs {
            let face = &mut self.faces[glyph.face.index()];
            let id = face.remapper.get_or_insert_with(GlyphRemapper::new).remap(glyph.id);
            face.glyphs.entry(id).or_insert_with(|| (glyph.advance, glyph.text.clone()));
            if current != Some(glyph.face) {
                c.set_font(Name(font_name(glyph.face).as_bytes()), size);
                current = Some(glyph.face);
            }
            let gx = x + glyph.x * size / 1000.0;
            let gy = PAGE_H - y + glyph.y * size / 1000.0;
            c.set_text_matrix([1.0, 0.0, 0.0, 1.0, gx, gy]);
            c.show(Str(&id.to_be_bytes()));
        }
        c.end_text();
    }

    /// Writes the PDF.
    pub fn finish(self) -> Vec<u8> {
        let mut pdf = Pdf::new();
        let mut next = Ref::new(1);
        let mut alloc = || next.bump();
        let (catalog, tree, info) = (alloc(), alloc(), alloc());
        let mut font_refs = Vec::new();
        for (face, used) in FaceId::ALL.into_iter().zip(&self.faces) {
            if let Some(remapper) = &used.remapper {
                let ids = [alloc(), alloc(), alloc(), alloc(), alloc()];
                embed_face(&mut pdf, face, remapper, &used.glyphs, ids);
                font_refs.push((face, ids[0]));
            }
        }
        let page_ids: Vec<(Ref, Ref)> = self.pages.iter().map(|_| (alloc(), alloc())).collect();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids(page_ids.iter().map(|p| p.0)).count(page_ids.len() as i32);
        pdf.document_info(info).title(TextStr(&self.title)).producer(TextStr("Dawr"));
        for ((page_id, content_id), content) in page_ids.iter().zip(&self.pages) {
            let mut page = pdf.page(*page_id);
            page.parent(tree).media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H)).contents(*content_id);
            let mut resources = page.resources();
            let mut fonts = resources.fonts();
            for (face, id) in &font_refs {
                fonts.pair(Name(font_name(*face).as_bytes()), *id);
            }
            fonts.finish();
            resources.finish();
            page.finish();
            pdf.stream(*content_id, &deflate(content)).filter(Filter::FlateDecode);
        }
        pdf.finish()
    }
}

fn font_name(face: FaceId) -> String {
    format!("F{}", face.index())
}

fn deflate(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = ZlibEncoder::new(Vec::new(), Compression::default());
    encoder.write_all(data).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

/// Embeds one face: Type0 font `ids[0]`, its CID font, descriptor, font file and ToUnicode.
fn embed_face(
    pdf: &mut Pdf,
    face: FaceId,
    remapper: &GlyphRemapper,
    glyphs: &BTreeMap<u16, (f32, String)>,
    ids: [Ref; 5],
) {
    let [type0, cid, descriptor, file, cmap] = ids;
    let data = face.data();
    let font = read_fonts::FontRef::new(data).expect("a bundled font parses");
    let upem = font.head().map(|h| f32::from(h.units_per_em())).unwrap_or(1000.0);
    let scale = |v: i16| f32::from(v) * 1000.0 / upem;
    // A subset's name starts with six capitals and a plus (PDF 9.6.4); one per face is enough.
    let base = format!("{}+{}", ["DAWRAA", "DAWRAB", "DAWRAC", "DAWRAD"][face.index()], face.name());
    pdf.type0_font(type0)
        .base_font(Name(base.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(cid)
        .to_unicode(cmap);
    let info = SystemInfo { registry: Str(b"Adobe"), ordering: Str(b"Identity"), supplement: 0 };
    let mut cid_font = pdf.cid_font(cid);
    cid_font
        .subtype(CidFontType::Type2)
        .base_font(Name(base.as_bytes()))
        .system_info(info)
        .font_descriptor(descriptor)
        .default_width(0.0)
        .cid_to_gid_map_predefined(Name(b"Identity"));
    let mut widths = cid_font.widths();
    for (id, (advance, _)) in glyphs {
        widths.consecutive(*id, [*advance]);
    }
    widths.finish();
    cid_font.finish();
    let (bbox, ascent, descent) = match (font.head(), font.hhea()) {
        (Ok(head), Ok(hhea)) => (
            Rect::new(scale(head.x_min()), scale(head.y_min()), scale(head.x_max()), scale(head.y_max())),
            scale(hhea.ascender().to_i16()),
            scale(hhea.descender().to_i16()),
        ),
        _ => (Rect::new(0.0, -300.0, 1000.0, 1000.0), 1000.0, -300.0),
    };
    pdf.font_descriptor(descriptor)
        .name(Name(base.as_bytes()))
        .flags(FontFlags::NON_SYMBOLIC)
        .bbox(bbox)
        .italic_angle(0.0)
        .ascent(ascent)
        .descent(descent)
        .cap_height(ascent * 0.7)
        .stem_v(80.0)
        .font_file2(file);
    let subset = subsetter::subset(data, 0, remapper).expect("a bundled font subsets");
    pdf.stream(file, &deflate(&subset)).filter(Filter::FlateDecode);
    let mut unicode = pdf_writer::types::UnicodeCmap::new(Name(b"Dawr-UCS"), info);
    for (id, (_, text)) in glyphs {
        if !text.is_empty() {
            unicode.pair_with_multiple(*id, text.chars());
        }
    }
    pdf.stream(cmap, &unicode.finish());
}

impl Page {
    /// A filled rectangle, `(x, y)` its top-left corner.
    pub fn fill(&mut self, x: f32, y: f32, w: f32, h: f32, color: Rgb) {
        let c = &mut self.content;
        c.set_fill_rgb(color.0, color.1, color.2);
        c.rect(x, PAGE_H - y - h, w, h);
        c.fill_nonzero();
    }

    /// A straight line.
    pub fn line(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb) {
        let c = &mut self.content;
        c.set_stroke_rgb(color.0, color.1, color.2);
        c.set_line_width(width);
        c.move_to(from.0, PAGE_H - from.1);
        c.line_to(to.0, PAGE_H - to.1);
        c.stroke();
    }

    /// A dashed straight line (target lines).
    pub fn dashed(&mut self, from: (f32, f32), to: (f32, f32), width: f32, color: Rgb) {
        self.content.save_state();
        self.content.set_dash_pattern([4.0, 3.0], 0.0);
        self.line(from, to, width, color);
        self.content.restore_state();
    }
}
