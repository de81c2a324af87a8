//! The monthly report as a PDF, drawn by the hub without a browser: [`report`] lays out the
//! pages from what the reports computed, [`layout`] has the headings, tables and bar charts,
//! [`typeset`] shapes text (bidi, Arabic joining) and [`doc`] writes the PDF with the bundled
//! Noto fonts subset and embedded. Pure: report structs in, PDF bytes out; no SQL, no IO.
//!
//! How the library was chosen (each candidate rendered a page of Arabic — a heading, a
//! paragraph, a table row with Western digits and a Hijri date — looked at with `pdftoppm`):
//! - **pdf-writer + subsetter + harfrust + unicode-bidi** (this): joined, right-to-left Arabic
//!   with lam-alef ligatures, digits left to right inside it; harfrust 0.12, read-fonts 0.41
//!   and unicode-bidi 0.3 are the versions Slint already brings into the workspace, subsetter
//!   (without variable fonts) and pdf-writer bring nothing heavy. We write the font embedding
//!   (CID font, ToUnicode) and the line layout ourselves: about 400 lines.
//! - **krilla 0.8** (`draw_text`, rustybuzz): the letters joined, but with no bidi of its own a
//!   whole line is one right-to-left run, so 12.5 came out as 5.21 and 1448 as 8441, the `%` was
//!   a box (one font per call) and `pdftotext` read lam-alef backwards; it would need this same
//!   bidi and font-fallback step, and it pins skrifa 0.42 (a third skrifa and read-fonts beside
//!   the workspace's 0.40 and 0.44) with write-fonts and kurbo through subsetter's defaults.
//! - **printpdf 0.12**: shapes only through its `text_layout`/`html` features (azul-layout, an
//!   HTML/CSS engine, and rust-fontconfig); not rendered: far too heavy for the hub.
pub mod doc;
pub mod layout;
pub mod report;
pub mod typeset;

pub use report::{MonthlyReport, monthly_pdf};

#[cfg(test)]
mod tests;

/// The file's name: `dawr-report-DMM-2026-11-ar.pdf`.
pub fn file_name(branch: &crate::domain::Branch, first: chrono::NaiveDate, lang: dawr_i18n::Lang) -> String {
    format!("dawr-report-{}-{}-{}.pdf", branch.id, first.format("%Y-%m"), lang.code())
}
