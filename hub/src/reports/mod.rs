//! The managers' figures, computed from the event log.
//!
//! One SQL query turns the events of the visits issued in a date range into one row per visit
//! ([`VisitFacts`]: when it was issued, first called, started and ended, how it ended, where, its
//! rating); pure functions then aggregate those rows ([`summarise`]) — counts, waits and service
//! times (mean, median, 90th percentile), the share called within the service's target, CSAT —
//! for the whole range, per service, per counter and per hour of the day. Nothing here is a
//! hand-kept counter: the log is the only source, so a figure can always be recomputed.
pub mod synthetic;

use std::collections::BTreeMap;

use chrono::{DateTime, FixedOffset, NaiveDate, Timelike, Utc};
use rusqlite::{Connection, params};
use serde::Serialize;

/// Which visits a report covers: issued on local days `from..=to`, optionally one service or
/// one counter (the counter that served or last called the visit).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFilter {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub service: Option<String>,
    pub counter: Option<String>,
}

/// How a visit ended, as far as the log says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Ending {
    Served,
    NoShow,
    Cancelled,
    /// Still waiting, called or being served (or left so by a day that closed with it at a
    /// counter).
    Open,
}

/// One visit, as the event log tells it.
#[derive(Debug, Clone, PartialEq)]
pub struct VisitFacts {
    pub id: i64,
    pub number: String,
    pub case_ref: String,
    pub service: String,
    pub local_day: String,
    pub issued_at: DateTime<Utc>,
    pub first_called_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub ending: Ending,
    pub counter: Option<String>,
    pub outcome: Option<String>,
    pub rating: Option<u8>,
    pub rating_reason: Option<String>,
    pub rated_at: Option<DateTime<Utc>>,
    /// The staff member who served (or last called) the visit, when one was signed in.
    pub staff: Option<String>,
    /// `walk_in` or `appointment`.
    pub source: String,
}

impl VisitFacts {
    /// Seconds from taking the ticket to the first call.
    pub fn wait_s(&self) -> Option<f64> {
        self.first_called_at.map(|c| (c - self.issued_at).num_milliseconds() as f64 / 1000.0)
    }

    /// Seconds from the start of service to its end, for a served visit.
    pub fn service_s(&self) -> Option<f64> {
        match (self.ending, self.started_at, self.ended_at) {
            (Ending::Served, Some(s), Some(e)) => Some((e - s).num_milliseconds() as f64 / 1000.0),
            _ => None,
        }
    }
}

/// Mean, median and 90th percentile of some durations, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Spread {
    pub count: usize,
    pub mean: Option<f64>,
    pub median: Option<f64>,
    pub p90: Option<f64>,
}

/// The `q` quantile of sorted values by the nearest-rank method (the smallest value with at
/// least `q` of all values at or below it).
fn nearest_rank(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    Some(sorted[rank.min(sorted.len()) - 1])
}

impl Spread {
    pub fn of(mut values: Vec<f64>) -> Spread {
        values.sort_by(f64::total_cmp);
        let mean = (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64);
        Spread { count: values.len(), mean, median: nearest_rank(&values, 0.5), p90: nearest_rank(&values, 0.9) }
    }
}

/// What reports, cases and the dashboard say for a low rating (1 or 2) given without a reason:
/// the score stands on its own (the visitor may have walked away before saying why).
pub const NO_REASON_GIVEN: &str = "no_reason_given";

/// Whether a rating is low (the visitor was dissatisfied: it escalates and asks why).
pub fn is_low(score: u8) -> bool {
    score <= 2
}

/// Exit ratings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Csat {
    pub ratings: usize,
    /// Mean score, 1–5.
    pub mean: Option<f64>,
    /// Share of ratings of 4 or 5, in percent.
    pub satisfied_pct: Option<f64>,
    /// How many low ratings gave each reason (`no_reason_given` for those without one).
    pub reasons: BTreeMap<String, usize>,
}

/// The figures of a group of visits.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    pub visits: usize,
    pub served: usize,
    pub no_shows: usize,
    pub cancelled: usize,
    pub open: usize,
    pub wait_s: Spread,
    pub service_time_s: Spread,
    /// Share of called visitors called within their service's target wait, in percent.
    pub within_target_pct: Option<f64>,
    pub csat: Csat,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceFigures {
    pub service: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CounterFigures {
    pub counter: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StaffFigures {
    pub staff: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HourFigures {
    /// Local hour of the day the tickets were taken, 0–23.
    pub hour: u32,
    pub visits: usize,
}

/// `GET /api/v1/reports/summary`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub counter: Option<String>,
    #[serde(flatten)]
    pub total: Figures,
    pub per_service: Vec<ServiceFigures>,
    pub per_counter: Vec<CounterFigures>,
    /// Visits served or called by a signed-in staff member.
    pub per_staff: Vec<StaffFigures>,
    pub per_hour: Vec<HourFigures>,
}

fn figures<'a>(visits: impl Iterator<Item = &'a VisitFacts>, target_s: &dyn Fn(&str) -> Option<u32>) -> Figures {
    let visits: Vec<&VisitFacts> = visits.collect();
    let count = |e: Ending| visits.iter().filter(|v| v.ending == e).count();
    let called: Vec<(f64, &VisitFacts)> = visits.iter().filter_map(|v| v.wait_s().map(|w| (w, *v))).collect();
    let in_target = called.iter().filter(|(w, v)| target_s(&v.service).is_some_and(|t| *w <= f64::from(t))).count();
    let scores: Vec<u8> = visits.iter().filter_map(|v| v.rating).collect();
    let mut reasons = BTreeMap::new();
    for visit in visits.iter().filter(|v| v.rating.is_some_and(is_low) || v.rating_reason.is_some()) {
        let reason = visit.rating_reason.as_deref().unwrap_or(NO_REASON_GIVEN);
        *reasons.entry(reason.to_string()).or_insert(0) += 1;
    }
    let pct = |n: usize, of: usize| (of > 0).then(|| n as f64 * 100.0 / of as f64);
    Figures {
        visits: visits.len(),
        served: count(Ending::Served),
        no_shows: count(Ending::NoShow),
        cancelled: count(Ending::Cancelled),
        open: count(Ending::Open),
        wait_s: Spread::of(called.iter().map(|(w, _)| *w).collect()),
        service_time_s: Spread::of(visits.iter().filter_map(|v| v.service_s()).collect()),
        within_target_pct: pct(in_target, called.len()),
        csat: Csat {
            ratings: scores.len(),
            mean: (!scores.is_empty()).then(|| scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64),
            satisfied_pct: pct(scores.iter().filter(|s| **s >= 4).count(), scores.len()),
            reasons,
        },
    }
}

/// Aggregates the visits of a report (already filtered).
pub fn summarise(
    filter: &ReportFilter,
    visits: &[VisitFacts],
    target_s: &dyn Fn(&str) -> Option<u32>,
    offset: FixedOffset,
) -> Summary {
    let mut services: Vec<&str> = visits.iter().map(|v| v.service.as_str()).collect();
    services.sort();
    services.dedup();
    let mut counters: Vec<&str> = visits.iter().filter_map(|v| v.counter.as_deref()).collect();
    counters.sort();
    counters.dedup();
    let mut staff: Vec<&str> = visits.iter().filter_map(|v| v.staff.as_deref()).collect();
    staff.sort();
    staff.dedup();
    let mut hours = BTreeMap::new();
    for v in visits {
        *hours.entry(v.issued_at.with_timezone(&offset).hour()).or_insert(0) += 1;
    }
    Summary {
        from: filter.from,
        to: filter.to,
        service: filter.service.clone(),
        counter: filter.counter.clone(),
        total: figures(visits.iter(), target_s),
        per_service: services
            .into_iter()
            .map(|s| ServiceFigures {
                service: s.into(),
                figures: figures(visits.iter().filter(|v| v.service == s), target_s),
            })
            .collect(),
        per_counter: counters
            .into_iter()
            .map(|c| CounterFigures {
                counter: c.into(),
                figures: figures(visits.iter().filter(|v| v.counter.as_deref() == Some(c)), target_s),
            })
            .collect(),
        per_staff: staff
            .into_iter()
            .map(|s| StaffFigures {
                staff: s.into(),
                figures: figures(visits.iter().filter(|v| v.staff.as_deref() == Some(s)), target_s),
            })
            .collect(),
        per_hour: hours.into_iter().map(|(hour, visits)| HourFigures { hour, visits }).collect(),
    }
}

/// One row per visit issued in the filter's days, from the event log.
/// The visits issued in a range of local days (`?1..=?2`), optionally of one service (`?3`).
const CHOSEN_BY_DAYS: &str = "
WITH chosen AS (
    SELECT id, number, case_ref, service, source, local_day, issued_at FROM visits
    WHERE local_day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR service = ?3)
)";

/// The visit of one case (`?1`).
const CHOSEN_BY_CASE: &str = "
WITH chosen AS (
    SELECT id, number, case_ref, service, source, local_day, issued_at FROM visits WHERE case_ref = ?1
)";

/// One row per chosen visit, from the event log (follows one of the `CHOSEN_…` heads).
const VISIT_FACTS: &str = ", steps AS (
    SELECT e.visit_id,
        MIN(CASE WHEN e.kind = 'called' THEN e.at END) AS first_called_at,
        MAX(CASE WHEN e.kind = 'started' THEN e.at END) AS started_at,
        MAX(CASE WHEN e.kind IN ('completed', 'no_show', 'cancelled') THEN e.at END) AS ended_at,
        MAX(CASE WHEN e.kind = 'completed' THEN e.seq END) AS completed_seq,
        MAX(CASE WHEN e.kind = 'no_show' THEN e.seq END) AS no_show_seq,
        MAX(CASE WHEN e.kind = 'cancelled' THEN e.seq END) AS cancelled_seq,
        MAX(CASE WHEN e.kind IN ('called', 'recalled', 'started', 'completed', 'no_show') THEN e.seq END) AS last_counter_seq,
        MAX(CASE WHEN e.kind = 'completed' THEN json_extract(e.payload, '$.outcome') END) AS outcome,
        MAX(CASE WHEN e.kind = 'rated' THEN json_extract(e.payload, '$.score') END) AS rating,
        COALESCE(MAX(CASE WHEN e.kind = 'rated' THEN json_extract(e.payload, '$.reason') END),
                 MAX(CASE WHEN e.kind = 'rating_reason_added' THEN json_extract(e.payload, '$.reason') END)) AS rating_reason,
        MAX(CASE WHEN e.kind = 'rated' THEN e.at END) AS rated_at,
        COALESCE(MAX(CASE WHEN e.kind IN ('completed', 'no_show') THEN json_extract(e.payload, '$.staff') END),
                 MAX(CASE WHEN e.kind = 'called' THEN json_extract(e.payload, '$.staff') END)) AS staff
    FROM events e JOIN chosen c ON c.id = e.visit_id
    GROUP BY e.visit_id
)
SELECT c.id, c.number, c.service, c.local_day, c.issued_at,
    s.first_called_at, s.started_at, s.ended_at,
    CASE
        WHEN s.completed_seq IS NOT NULL AND s.completed_seq >= COALESCE(s.no_show_seq, 0) THEN 'served'
        WHEN s.no_show_seq IS NOT NULL THEN 'no_show'
        WHEN s.cancelled_seq IS NOT NULL THEN 'cancelled'
        ELSE 'open'
    END AS ending,
    (SELECT counter FROM events WHERE seq = s.last_counter_seq) AS counter,
    s.outcome, s.rating, s.rating_reason, s.rated_at, c.case_ref, s.staff, c.source
FROM chosen c LEFT JOIN steps s ON s.visit_id = c.id
ORDER BY c.id";

fn time(column: &'static str, text: Option<String>) -> rusqlite::Result<Option<DateTime<Utc>>> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(&t).map(|d| d.with_timezone(&Utc)).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, format!("{column}: {e}").into())
        })
    })
    .transpose()
}

fn read_facts(row: &rusqlite::Row<'_>) -> rusqlite::Result<VisitFacts> {
    let ending: String = row.get(8)?;
    Ok(VisitFacts {
        id: row.get(0)?,
        number: row.get(1)?,
        case_ref: row.get(14)?,
        service: row.get(2)?,
        local_day: row.get(3)?,
        issued_at: time("issued_at", Some(row.get(4)?))?.expect("given"),
        first_called_at: time("first_called_at", row.get(5)?)?,
        started_at: time("started_at", row.get(6)?)?,
        ended_at: time("ended_at", row.get(7)?)?,
        ending: match ending.as_str() {
            "served" => Ending::Served,
            "no_show" => Ending::NoShow,
            "cancelled" => Ending::Cancelled,
            _ => Ending::Open,
        },
        counter: row.get(9)?,
        outcome: row.get(10)?,
        rating: row.get(11)?,
        rating_reason: row.get(12)?,
        rated_at: time("rated_at", row.get(13)?)?,
        staff: row.get(15)?,
        source: row.get(16)?,
    })
}

/// Reads the visits of `filter` from the event log.
pub fn visit_facts(conn: &Connection, filter: &ReportFilter) -> rusqlite::Result<Vec<VisitFacts>> {
    let mut statement = conn.prepare_cached(&format!("{CHOSEN_BY_DAYS}{VISIT_FACTS}"))?;
    let rows =
        statement.query_map(params![filter.from.to_string(), filter.to.to_string(), filter.service], read_facts)?;
    let mut visits = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if let Some(counter) = &filter.counter {
        visits.retain(|v| v.counter.as_deref() == Some(counter.as_str()));
    }
    Ok(visits)
}

/// Reads the visit of one CRM case from the event log.
pub fn case_facts(conn: &Connection, case_ref: &str) -> rusqlite::Result<Option<VisitFacts>> {
    let mut statement = conn.prepare_cached(&format!("{CHOSEN_BY_CASE}{VISIT_FACTS}"))?;
    let mut rows = statement.query_map(params![case_ref], read_facts)?;
    rows.next().transpose()
}

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
    use super::*;

    /// A hand-made day at a branch (UTC+3; targets: A 15 min, B 10 min), with every figure
    /// worked out by hand in the comments.
    fn fixture() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let visit = |id: i64, number: &str, day: &str, service: &str, issued: &str| {
            conn.execute(
                "INSERT INTO visits (id, number, local_day, service, priority, source, status, case_ref, token,
                     issued_at, recalls, transfers)
                 VALUES (?1, ?2, ?3, ?4, 'normal', 'walk_in', 'done', ?5, ?6, ?7, 0, 0)",
                params![id, number, day, service, format!("DMM-{id}"), format!("t{id}"), issued],
            )
            .unwrap();
        };
        let seq = std::cell::Cell::new(0);
        let event = |at: &str, kind: &str, visit: i64, counter: Option<&str>, extra: &str| {
            seq.set(seq.get() + 1);
            let counter_json = counter.map(|c| format!(r#","counter":"{c}""#)).unwrap_or_default();
            let payload = format!(r#"{{"kind":"{kind}","visit":{visit}{counter_json}{extra}}}"#);
            conn.execute(
                "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![seq.get(), at, kind, visit, counter, payload],
            )
            .unwrap();
        };
        // A001: waits 600 s (within 900), served 480 s at counter 1, rated 5.
        visit(1, "A001", "2026-11-23", "A", "2026-11-23T05:00:00.000Z");
        event("2026-11-23T05:00:00.000Z", "issued", 1, None, "");
        event("2026-11-23T05:10:00.000Z", "called", 1, Some("1"), "");
        event("2026-11-23T05:11:00.000Z", "started", 1, Some("1"), "");
        event("2026-11-23T05:19:00.000Z", "completed", 1, Some("1"), r#","outcome":"resolved""#);
        event("2026-11-23T05:20:00.000Z", "rated", 1, Some("1"), r#","score":5"#);
        // A002: waits 1200 s (over 900), served 600 s at counter 2, rated 2 (waited too long).
        visit(2, "A002", "2026-11-23", "A", "2026-11-23T05:05:00.000Z");
        event("2026-11-23T05:05:00.000Z", "issued", 2, None, "");
        event("2026-11-23T05:25:00.000Z", "called", 2, Some("2"), "");
        event("2026-11-23T05:26:00.000Z", "started", 2, Some("2"), "");
        event("2026-11-23T05:36:00.000Z", "completed", 2, Some("2"), r#","outcome":"follow_up""#);
        event("2026-11-23T05:37:00.000Z", "rated", 2, Some("2"), r#","score":2,"reason":"waited_too_long""#);
        // B001: waits 300 s (within 600), no-show at counter 1.
        visit(3, "B001", "2026-11-23", "B", "2026-11-23T06:00:00.000Z");
        event("2026-11-23T06:00:00.000Z", "issued", 3, None, "");
        event("2026-11-23T06:05:00.000Z", "called", 3, Some("1"), "");
        event("2026-11-23T06:08:00.000Z", "no_show", 3, Some("1"), "");
        // B002: cancelled while waiting.
        visit(4, "B002", "2026-11-23", "B", "2026-11-23T06:30:00.000Z");
        event("2026-11-23T06:30:00.000Z", "issued", 4, None, "");
        event("2026-11-23T06:40:00.000Z", "cancelled", 4, None, "");
        // A003: waits 120 s, recalled, still being served at counter 2.
        visit(5, "A003", "2026-11-23", "A", "2026-11-23T07:00:00.000Z");
        event("2026-11-23T07:00:00.000Z", "issued", 5, None, "");
        event("2026-11-23T07:02:00.000Z", "called", 5, Some("2"), "");
        event("2026-11-23T07:02:30.000Z", "recalled", 5, Some("2"), "");
        event("2026-11-23T07:03:00.000Z", "started", 5, Some("2"), "");
        // The day before: not in the report.
        visit(6, "A001", "2026-11-22", "A", "2026-11-22T05:00:00.000Z");
        event("2026-11-22T05:00:00.000Z", "issued", 6, None, "");
        (dir, conn)
    }

    fn day() -> NaiveDate {
        "2026-11-23".parse().unwrap()
    }

    fn target(service: &str) -> Option<u32> {
        match service {
            "A" => Some(900),
            "B" => Some(600),
            _ => None,
        }
    }

    fn report(conn: &Connection, service: Option<&str>, counter: Option<&str>) -> Summary {
        let filter =
            ReportFilter { from: day(), to: day(), service: service.map(Into::into), counter: counter.map(Into::into) };
        let visits = visit_facts(conn, &filter).unwrap();
        summarise(&filter, &visits, &target, FixedOffset::east_opt(3 * 3600).unwrap())
    }

    #[test]
    fn a_fixture_day_gives_the_figures_worked_out_by_hand() {
        let (_dir, conn) = fixture();
        let s = report(&conn, None, None);
        let t = &s.total;
        assert_eq!((t.visits, t.served, t.no_shows, t.cancelled, t.open), (5, 2, 1, 1, 1));
        // Waits of the called visits: 120, 300, 600, 1200.
        assert_eq!(t.wait_s, Spread { count: 4, mean: Some(555.0), median: Some(300.0), p90: Some(1200.0) });
        assert_eq!(t.service_time_s, Spread { count: 2, mean: Some(540.0), median: Some(480.0), p90: Some(600.0) });
        assert_eq!(t.within_target_pct, Some(75.0), "3 of 4 called within their service's target");
        assert_eq!((t.csat.ratings, t.csat.mean, t.csat.satisfied_pct), (2, Some(3.5), Some(50.0)));
        assert_eq!(t.csat.reasons.get("waited_too_long"), Some(&1));
        let hours: Vec<(u32, usize)> = s.per_hour.iter().map(|h| (h.hour, h.visits)).collect();
        assert_eq!(hours, [(8, 2), (9, 2), (10, 1)], "local hours");
        let a = &s.per_service[0];
        assert_eq!((a.service.as_str(), a.figures.visits, a.figures.served, a.figures.open), ("A", 3, 2, 1));
        assert_eq!(a.figures.within_target_pct.map(|p| (p * 100.0).round() / 100.0), Some(66.67));
        let counters: Vec<(&str, usize)> =
            s.per_counter.iter().map(|c| (c.counter.as_str(), c.figures.visits)).collect();
        assert_eq!(counters, [("1", 2), ("2", 2)]);

        let b = report(&conn, Some("B"), None);
        assert_eq!((b.total.visits, b.total.wait_s.mean), (2, Some(300.0)));
        let c2 = report(&conn, None, Some("2"));
        assert_eq!((c2.total.visits, c2.total.served, c2.total.csat.mean), (2, 1, Some(2.0)));
    }

    #[test]
    fn a_low_score_without_a_reason_counts_as_no_reason_given_until_its_reason_is_added() {
        let (_dir, conn) = fixture();
        let event = |seq: i64, at: &str, kind: &str, extra: &str| {
            let payload = format!(r#"{{"kind":"{kind}","visit":5,"counter":"2"{extra}}}"#);
            conn.execute(
                "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, ?2, ?3, 5, '2', ?4)",
                params![seq, at, kind, payload],
            )
            .unwrap();
        };
        // A003 is served, and its visitor taps 1 and walks away.
        event(100, "2026-11-23T07:10:00.000Z", "completed", r#","outcome":"resolved""#);
        event(101, "2026-11-23T07:11:00.000Z", "rated", r#","score":1,"reason":null"#);
        let t = report(&conn, None, None).total;
        assert_eq!(t.csat.ratings, 3);
        assert_eq!(t.csat.reasons.get(NO_REASON_GIVEN), Some(&1), "{:?}", t.csat.reasons);
        let case = case_facts(&conn, "DMM-5").unwrap().unwrap();
        assert_eq!((case.rating, case.rating_reason.as_deref()), (Some(1), None));
        assert_eq!(case.rated_at, Some("2026-11-23T07:11:00Z".parse().unwrap()), "rated at the tap");
        // The reason follows: the same rating, now with its reason.
        event(102, "2026-11-23T07:12:00.000Z", "rating_reason_added", r#","reason":"staff_conduct""#);
        let t = report(&conn, None, None).total;
        assert_eq!(t.csat.ratings, 3, "still one rating for the visit");
        assert_eq!((t.csat.reasons.get(NO_REASON_GIVEN), t.csat.reasons.get("staff_conduct")), (None, Some(&1)));
        let case = case_facts(&conn, "DMM-5").unwrap().unwrap();
        assert_eq!((case.rating, case.rating_reason.as_deref()), (Some(1), Some("staff_conduct")));
        assert_eq!(case.rated_at, Some("2026-11-23T07:11:00Z".parse().unwrap()), "the score's time stands");
    }

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

    /// A month of 20,000 made-up visits: every figure of the report equals what the test works
    /// out on its own from what really happened.
    #[test]
    fn a_synthetic_month_gives_the_figures_worked_out_independently() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let (from, to) = ("2026-03-01".parse().unwrap(), "2026-03-31".parse().unwrap());
        let truth = synthetic::write(&mut conn, 7, from, to, 910).unwrap();
        assert_eq!(truth.len(), 20_930, "23 working days (Sunday to Thursday) of 910");
        let filter = ReportFilter { from, to, service: None, counter: None };
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let target = |s: &str| Some(if s == "A" { 600 } else { 900 });
        let summary = summarise(&filter, &visit_facts(&conn, &filter).unwrap(), &target, offset);

        // Worked out here, from the truth, without the report's code.
        let t = &summary.total;
        assert_eq!(t.visits, truth.len());
        assert_eq!(t.cancelled, truth.iter().filter(|v| v.cancelled).count());
        assert_eq!(t.no_shows, truth.iter().filter(|v| v.no_show).count());
        assert_eq!(t.served, truth.iter().filter(|v| v.served.is_some()).count());
        assert_eq!(t.open, 0);
        let mut waits: Vec<i64> =
            truth.iter().filter_map(|v| v.called_at.map(|c| (c - v.issued_at).num_seconds())).collect();
        waits.sort();
        let rank = |sorted: &[i64], q: f64| sorted[((q * sorted.len() as f64).ceil() as usize).max(1) - 1] as f64;
        assert_eq!(t.wait_s.count, waits.len());
        assert!((t.wait_s.mean.unwrap() - waits.iter().sum::<i64>() as f64 / waits.len() as f64).abs() < 1e-6);
        assert_eq!(t.wait_s.median, Some(rank(&waits, 0.5)));
        assert_eq!(t.wait_s.p90, Some(rank(&waits, 0.9)));
        let mut service: Vec<i64> = truth.iter().filter_map(|v| v.served.map(|(s, e)| (e - s).num_seconds())).collect();
        service.sort();
        assert_eq!(t.service_time_s.p90, Some(rank(&service, 0.9)));
        let within = truth
            .iter()
            .filter(|v| {
                v.called_at.is_some_and(|c| (c - v.issued_at).num_seconds() <= if v.service == "A" { 600 } else { 900 })
            })
            .count();
        assert!((t.within_target_pct.unwrap() - within as f64 * 100.0 / waits.len() as f64).abs() < 1e-9);
        let scores: Vec<u8> = truth.iter().filter_map(|v| v.rating.map(|(s, _)| s)).collect();
        assert_eq!(t.csat.ratings, scores.len());
        let mean = scores.iter().map(|s| f64::from(*s)).sum::<f64>() / scores.len() as f64;
        assert!((t.csat.mean.unwrap() - mean).abs() < 1e-9);
        let low = truth.iter().filter(|v| v.rating.is_some_and(|(s, _)| s <= 2)).count();
        assert_eq!(t.csat.reasons.get("waited_too_long"), Some(&low));
        for s in &summary.per_service {
            let mine: Vec<_> = truth.iter().filter(|v| v.service == s.service).collect();
            assert_eq!(s.figures.visits, mine.len(), "service {}", s.service);
            assert_eq!(s.figures.served, mine.iter().filter(|v| v.served.is_some()).count());
        }
        for c in &summary.per_counter {
            let mine = truth.iter().filter(|v| v.counter.as_deref() == Some(c.counter.as_str())).count();
            assert_eq!(c.figures.visits, mine, "counter {}", c.counter);
        }
        let by_hour: usize = summary.per_hour.iter().map(|h| h.visits).sum();
        assert_eq!(by_hour, truth.len());
        for h in &summary.per_hour {
            let mine = truth.iter().filter(|v| v.issued_at.with_timezone(&offset).hour() == h.hour).count();
            assert_eq!(h.visits, mine, "hour {}", h.hour);
        }
    }

    #[test]
    fn quantiles_are_nearest_rank() {
        assert_eq!(Spread::of(vec![]).median, None);
        assert_eq!(Spread::of(vec![7.0]).p90, Some(7.0));
        let s = Spread::of((1..=10).map(f64::from).rev().collect());
        assert_eq!((s.median, s.p90, s.mean), (Some(5.0), Some(9.0), Some(5.5)));
    }
}
