//! CSV that opens in Excel — pure: the visit rows of `GET /api/v1/reports/visits.csv` and
//! `/dashboard/visits.csv`, and any summary table of the dashboard ([`table_csv`]).
//!
//! Every file starts with a UTF-8 byte-order mark (without it Excel reads Arabic as Latin-1),
//! ends lines with CRLF, and gives times in the branch's local time as `YYYY-MM-DD HH:MM:SS`
//! (what Excel reads as a date and time, so hourly pivots fall on the branch's hours).
use chrono::{DateTime, Utc};

use super::VisitFacts;
use super::sla::{Standing, standing};
use crate::domain::Branch;

/// The UTF-8 byte-order mark Excel needs to read the file as UTF-8.
pub const BOM: &str = "\u{feff}";

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// A table as CSV: the BOM, a head line and one line per row, every field quoted as needed.
pub fn table_csv(head: &[String], rows: &[Vec<String>]) -> String {
    let mut out = String::from(BOM);
    for line in std::iter::once(head).chain(rows.iter().map(Vec::as_slice)) {
        let fields: Vec<String> = line.iter().map(|f| csv_field(f)).collect();
        out.push_str(&fields.join(","));
        out.push_str("\r\n");
    }
    out
}

/// The visits file's columns.
pub const VISIT_COLUMNS: [&str; 27] = [
    "branch",
    "id",
    "case_ref",
    "number",
    "service",
    "service_ar",
    "service_en",
    "local_day",
    "issued_at",
    "first_called_at",
    "started_at",
    "ended_at",
    "ending",
    "counter",
    "staff",
    "staff_ar",
    "staff_en",
    "wait_s",
    "service_s",
    "target_s",
    "breach",
    "outcome",
    "case_status",
    "rating",
    "rating_reason",
    "source",
    "hour",
];

/// One line per visit, with the branch, the case reference and its status (`case_status` says it
/// for a visit), the service's and staff member's names in Arabic and English, local times, the
/// service's target and whether the visit breached it (`yes`, `no`, or empty when not measured).
pub fn visits_csv(visits: &[VisitFacts], branch: &Branch, case_status: &dyn Fn(&VisitFacts) -> String) -> String {
    let local = |t: Option<DateTime<Utc>>| {
        t.map(|t| t.with_timezone(&branch.utc_offset).format("%Y-%m-%d %H:%M:%S").to_string()).unwrap_or_default()
    };
    let n = |x: Option<f64>| x.map(|x| format!("{x:.1}")).unwrap_or_default();
    let rows: Vec<Vec<String>> = visits
        .iter()
        .map(|v| {
            let service = branch.services.iter().find(|s| s.code == v.service);
            let staff = v.staff.as_deref().and_then(|id| branch.staff.iter().find(|s| s.id == id));
            let target = service.map(|s| s.target_wait_s);
            let breach = match standing(v, target) {
                Standing::Within => "no",
                Standing::Breach { .. } => "yes",
                Standing::Unmeasured => "",
            };
            let ending = serde_json::to_value(v.ending).ok().and_then(|e| e.as_str().map(String::from));
            vec![
                branch.id.clone(),
                v.id.to_string(),
                v.case_ref.clone(),
                v.number.clone(),
                v.service.clone(),
                service.map(|s| s.name.ar.clone()).unwrap_or_default(),
                service.map(|s| s.name.en.clone()).unwrap_or_default(),
                v.local_day.clone(),
                local(Some(v.issued_at)),
                local(v.first_called_at),
                local(v.started_at),
                local(v.ended_at),
                ending.unwrap_or_default(),
                v.counter.clone().unwrap_or_default(),
                v.staff.clone().unwrap_or_default(),
                staff.map(|s| s.name.ar.clone()).unwrap_or_default(),
                staff.map(|s| s.name.en.clone()).unwrap_or_default(),
                n(v.wait_s()),
                n(v.service_s()),
                target.map(|t| t.to_string()).unwrap_or_default(),
                breach.into(),
                v.outcome.clone().unwrap_or_default(),
                case_status(v),
                v.rating.map(|r| r.to_string()).unwrap_or_default(),
                v.rating_reason.clone().unwrap_or_default(),
                v.source.clone(),
                v.issued_at.with_timezone(&branch.utc_offset).format("%H").to_string(),
            ]
        })
        .collect();
    table_csv(&VISIT_COLUMNS.map(String::from), &rows)
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{day, fixture};
    use super::super::{ReportFilter, visit_facts};
    use super::*;

    #[test]
    fn the_csv_has_a_bom_and_a_line_per_visit_with_its_local_times_and_names() {
        let (_dir, conn) = fixture();
        let filter = ReportFilter { from: day(), to: day(), service: None, counter: None };
        let branch = crate::config::Config::demo().branch().unwrap();
        let csv = visits_csv(&visit_facts(&conn, &filter).unwrap(), &branch, &|v| format!("status-{}", v.id));
        assert!(csv.starts_with(BOM), "Excel needs the BOM");
        let lines: Vec<&str> = csv[BOM.len()..].split("\r\n").collect();
        assert_eq!(lines.len(), 7, "a header, five visits and the empty rest after the last CRLF");
        assert_eq!(lines[0], VISIT_COLUMNS.join(","));
        let a = branch.services.iter().find(|s| s.code == "A").unwrap();
        let target = a.target_wait_s;
        let breach = if 1200 > target { "yes" } else { "no" };
        assert_eq!(
            lines[2],
            format!(
                "{},2,DMM-2,A002,A,{},{},2026-11-23,2026-11-23 08:05:00,2026-11-23 08:25:00,2026-11-23 08:26:00,\
                 2026-11-23 08:36:00,served,2,,,,1200.0,600.0,{target},{breach},follow_up,status-2,2,waited_too_long,walk_in,08",
                branch.id,
                csv_field(&a.name.ar),
                csv_field(&a.name.en)
            )
        );
        assert!(lines[4].contains(",cancelled,,"), "{}", lines[4]);
        assert_eq!(lines[6], "");
    }

    #[test]
    fn a_table_quotes_what_needs_quoting() {
        let csv = table_csv(&["a".into(), "b".into()], &[vec!["x, y".into(), "say \"hi\"".into()]]);
        assert_eq!(csv, "\u{feff}a,b\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n");
    }
}
