//! `GET /api/v1/reports/visits.csv`: the visit rows written out as CSV, for the ministry's own
//! BI tools. Pure.
use chrono::{DateTime, Utc};

use super::VisitFacts;

fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) { format!("\"{}\"", text.replace('"', "\"\"")) } else { text.to_string() }
}

/// `GET /api/v1/reports/visits.csv`: one line per visit, for the ministry's own BI tools.
pub fn visits_csv(visits: &[VisitFacts]) -> String {
    let mut out = String::from(
        "id,number,service,local_day,issued_at,first_called_at,started_at,ended_at,ending,counter,wait_s,service_s,outcome,rating,rating_reason\n",
    );
    let t = |t: Option<DateTime<Utc>>| t.map(crate::store::ts).unwrap_or_default();
    let n = |x: Option<f64>| x.map(|x| format!("{x:.1}")).unwrap_or_default();
    for v in visits {
        let ending = serde_json::to_value(v.ending).ok().and_then(|e| e.as_str().map(String::from)).unwrap_or_default();
        let fields = [
            v.id.to_string(),
            csv_field(&v.number),
            csv_field(&v.service),
            v.local_day.clone(),
            crate::store::ts(v.issued_at),
            t(v.first_called_at),
            t(v.started_at),
            t(v.ended_at),
            ending,
            csv_field(v.counter.as_deref().unwrap_or_default()),
            n(v.wait_s()),
            n(v.service_s()),
            csv_field(v.outcome.as_deref().unwrap_or_default()),
            v.rating.map(|r| r.to_string()).unwrap_or_default(),
            csv_field(v.rating_reason.as_deref().unwrap_or_default()),
        ];
        out.push_str(&fields.join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::fixture::{day, fixture};
    use super::super::{ReportFilter, visit_facts};
    use super::*;

    #[test]
    fn the_csv_has_a_line_per_visit_with_its_times() {
        let (_dir, conn) = fixture();
        let filter = ReportFilter { from: day(), to: day(), service: None, counter: None };
        let csv = visits_csv(&visit_facts(&conn, &filter).unwrap());
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 6, "a header and five visits");
        assert!(lines[0].starts_with("id,number,service"));
        assert_eq!(
            lines[2],
            "2,A002,A,2026-11-23,2026-11-23T05:05:00.000Z,2026-11-23T05:25:00.000Z,2026-11-23T05:26:00.000Z,2026-11-23T05:36:00.000Z,served,2,1200.0,600.0,follow_up,2,waited_too_long"
        );
        assert!(lines[4].contains(",cancelled,,"), "{}", lines[4]);
    }
}
