//! The PDF's text layer and shaping, on the fixture month.
use super::typeset::{FaceId, Shaper};

#[test]
fn arabic_is_shaped_right_to_left_with_digits_left_to_right() {
    let shaper = Shaper::new();
    // Lam-alef is one glyph standing for both letters; the letters take joining forms, not the
    // isolated ones a naive cmap lookup gives.
    let line = shaper.line("لا", false, true);
    assert_eq!(line.glyphs.len(), 1, "lam-alef is one ligature glyph");
    assert_eq!(line.glyphs[0].text, "ال", "in visual order, as pdftotext reverses it back");
    let joined = shaper.line("بب", false, true);
    let isolated = shaper.line("ب", false, true);
    assert!(joined.glyphs.iter().all(|g| g.id != isolated.glyphs[0].id), "joined forms, not isolated ones");
    // In a right-to-left line the first word is at the right, the number reads left to right.
    let line = shaper.line("الزوار 123", false, true);
    let texts: Vec<&str> = line.glyphs.iter().map(|g| g.text.as_str()).filter(|t| !t.trim().is_empty()).collect();
    assert_eq!(&texts[..3], ["1", "2", "3"], "the number first from the left, in its own order");
    assert_eq!(texts.last(), Some(&"ا"), "the first letter of the word at the right end");
    assert!(
        line.glyphs.iter().any(|g| g.face == FaceId::Arabic) && line.glyphs.iter().any(|g| g.face == FaceId::Latin)
    );
    // Fluent's isolation marks are never drawn.
    let isolated = shaper.line("\u{2068}A017\u{2069}", false, true);
    assert_eq!(isolated.glyphs.len(), 4);
}

#[test]
fn the_fixture_month_makes_a_pdf_in_both_languages() {
    let dir = tempfile::tempdir().unwrap();
    let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
    let (from, to) = ("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap());
    crate::reports::synthetic::write(&mut conn, 7, from, to, 60).unwrap();
    let branch = crate::config::Config::demo().branch().unwrap();
    let texts = dawr_i18n::Texts::new();
    for lang in [dawr_i18n::Lang::Ar, dawr_i18n::Lang::En] {
        let started = std::time::Instant::now();
        let pdf = crate::reports::read::monthly_pdf_of(&conn, &branch, &texts, (from, to), lang).unwrap();
        let elapsed = started.elapsed();
        assert!(pdf.starts_with(b"%PDF-"));
        let pages = pdf.windows(b"/Type /Page\n".len()).filter(|w| w == b"/Type /Page\n").count();
        assert!(pages >= 4 + 6, "cover, charts, tables and actions, a page per service: {pages}");
        if let Ok(out) = std::env::var("DAWR_PDF_OUT") {
            std::fs::write(format!("{out}/report-{}.pdf", lang.code()), &pdf).unwrap();
            eprintln!("{}: {} bytes in {:?}, {pages} page objects", lang.code(), pdf.len(), elapsed);
        }
    }
}
