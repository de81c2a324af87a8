//! The dashboard's summary tables as one Excel workbook (`/dashboard/tables.xlsx`): a sheet per
//! table of [`super::tables`] (the CSV's rows), named in the page's language, right to left in
//! Arabic. Names are given in the chosen language only (the other language's `_ar`/`_en`
//! column left out), times are the branch's local times as the CSV writes them, and figures are
//! numbers Excel can add up. Pure apart from the writer: rows in, the file's bytes out.
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// One sheet to write: its name, its head and its rows.
pub struct Sheet {
    pub name: String,
    pub head: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

/// Keeps the columns of `lang_code` (`ar` or `en`): a column named `…_ar` or `…_en` of the
/// other language is left out.
pub fn in_language(head: &[String], rows: &[Vec<String>], lang_code: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let other = if lang_code == "ar" { "_en" } else { "_ar" };
    let keep: Vec<bool> = head.iter().map(|h| !h.ends_with(other)).collect();
    let pick = |line: &[String]| line.iter().zip(&keep).filter(|(_, k)| **k).map(|(v, _)| v.clone()).collect();
    (pick(head), rows.iter().map(|r| pick(r)).collect())
}

/// A field that is a figure (not a code with a leading zero, nor a signed or blank text).
fn number(field: &str) -> Option<f64> {
    let code_like = field.len() > 1 && field.starts_with('0') && !field.starts_with("0.");
    if code_like || field.starts_with('+') || field.is_empty() {
        return None;
    }
    field.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A sheet name Excel accepts: at most 31 characters, none of `[]:*?/\`.
fn sheet_name(name: &str) -> String {
    name.chars().filter(|c| !"[]:*?/\\".contains(*c)).take(31).collect()
}

/// The workbook of `sheets`, right to left if `rtl`.
pub fn workbook(sheets: &[Sheet], rtl: bool) -> Result<Vec<u8>, XlsxError> {
    let mut book = Workbook::new();
    let bold = Format::new().set_bold();
    for sheet in sheets {
        let page = book.add_worksheet();
        page.set_name(sheet_name(&sheet.name))?;
        page.set_right_to_left(rtl);
        for (c, head) in sheet.head.iter().enumerate() {
            page.write_string_with_format(0, c as u16, head, &bold)?;
        }
        for (r, row) in sheet.rows.iter().enumerate() {
            for (c, field) in row.iter().enumerate() {
                let (r, c) = (r as u32 + 1, c as u16);
                match number(field) {
                    Some(n) => page.write_number(r, c, n)?,
                    None => page.write_string(r, c, field)?,
                };
            }
        }
        page.set_freeze_panes(1, 0)?;
        page.autofit();
    }
    book.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_other_languages_names_are_left_out_and_figures_are_numbers() {
        let head: Vec<String> = ["service", "service_ar", "service_en", "visits"].map(String::from).to_vec();
        let rows = vec![["A", "الأحوال", "Civil", "12"].map(String::from).to_vec()];
        let (h, r) = in_language(&head, &rows, "ar");
        assert_eq!(h, ["service", "service_ar", "visits"]);
        assert_eq!(r[0], ["A", "الأحوال", "12"]);
        assert_eq!(in_language(&head, &rows, "en").0, ["service", "service_en", "visits"]);
        assert_eq!(number("12"), Some(12.0));
        assert_eq!(number("63.5"), Some(63.5));
        assert_eq!((number("007"), number(""), number("+1.5"), number("2026-10-01")), (None, None, None, None));
        assert_eq!(sheet_name("a/b:c* that is far too long for a sheet"), "abc that is far too long for a ");
        let bytes = workbook(&[Sheet { name: "x".into(), head: h, rows: r }], true).unwrap();
        assert!(bytes.starts_with(b"PK"), "a zip file");
    }
}
