//! The SQL half of the reports, and the only part of them that reads the database: the event
//! log of the chosen visits folded into one [`VisitFacts`] row per visit, by one query.
use chrono::{DateTime, Utc};
use rusqlite::{Connection, params};

use super::{Ending, ReportFilter, VisitFacts};

/// The visits issued in a range of local days (`?1..=?2`), optionally of one service (`?3`).
const CHOSEN_BY_DAYS: &str = "
WITH chosen AS (
    SELECT id, number, case_ref, service, source, local_day, issued_at FROM visits
    WHERE local_day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR service = ?3)
)";

/// The visits up to local day `?2` (of service `?3`, if given) that opened a real CRM case — left
/// open (`follow_up`, `referred`) or rated 1 or 2 — unless staff closed it before `?1` (a UTC
/// time): the cases a report from `?1` on counts. The events' test is the partial index
/// `events_real_cases`'s (migration 016), word for word, so that index finds them.
const CHOSEN_BACKLOG: &str = "
WITH chosen AS (
    SELECT id, number, case_ref, service, source, local_day, issued_at FROM visits
    WHERE local_day <= ?2 AND (?3 IS NULL OR service = ?3)
      AND id IN (SELECT visit_id FROM events
                 WHERE (kind = 'completed' AND json_extract(payload, '$.outcome') IN ('follow_up', 'referred'))
                    OR (kind = 'rated' AND json_extract(payload, '$.score') <= 2))
      AND case_ref NOT IN (SELECT case_ref FROM case_notes WHERE closed_at < ?1)
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
        MAX(CASE WHEN e.kind IN ('completed', 'no_show', 'arrival_missed', 'cancelled') THEN e.at END) AS ended_at,
        MAX(CASE WHEN e.kind = 'completed' THEN e.seq END) AS completed_seq,
        MAX(CASE WHEN e.kind IN ('no_show', 'arrival_missed') THEN e.seq END) AS no_show_seq,
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

/// Reads the visits whose real CRM cases a report of `filter` counts by their events' dates (see
/// [`crate::cases::ledger`]): those issued up to the range's end, not closed by staff before
/// `start` (the range's first moment).
pub fn backlog_facts(
    conn: &Connection,
    filter: &ReportFilter,
    start: DateTime<Utc>,
) -> rusqlite::Result<Vec<VisitFacts>> {
    let mut statement = conn.prepare_cached(&format!("{CHOSEN_BACKLOG}{VISIT_FACTS}"))?;
    let cutoff = crate::store::ts(start);
    let rows = statement.query_map(params![cutoff, filter.to.to_string(), filter.service], read_facts)?;
    let mut visits = rows.collect::<rusqlite::Result<Vec<_>>>()?;
    if let Some(counter) = &filter.counter {
        visits.retain(|v| v.counter.as_deref() == Some(counter.as_str()));
    }
    Ok(visits)
}

/// Reads the counters' pauses and resumes from `start` to `end` (UTC, end exclusive), in log
/// order, of one counter if `counter` is given.
pub fn pause_events(
    conn: &Connection,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
    counter: Option<&str>,
) -> rusqlite::Result<Vec<super::sla::PauseEvent>> {
    let mut statement = conn.prepare_cached(
        "SELECT counter, at, kind, COALESCE(json_extract(payload, '$.reason'), 'none') FROM events
         WHERE at >= ?1 AND at < ?2 AND kind IN ('counter_paused', 'counter_resumed')
           AND (?3 IS NULL OR counter = ?3)
         ORDER BY seq",
    )?;
    let rows = statement.query_map(params![crate::store::ts(start), crate::store::ts(end), counter], |row| {
        let kind: String = row.get(2)?;
        Ok(super::sla::PauseEvent {
            counter: row.get(0)?,
            at: time("at", Some(row.get(1)?))?.expect("given"),
            paused: (kind == "counter_paused").then(|| row.get(3)).transpose()?,
        })
    })?;
    rows.collect()
}

/// Reads the sign-ins and sign-outs from `start` to `end` (UTC, end exclusive) from the audit
/// log, in order: each with its counter, if the entry names one.
pub fn sign_events(
    conn: &Connection,
    (start, end): (DateTime<Utc>, DateTime<Utc>),
) -> rusqlite::Result<Vec<super::staffing::SignEvent>> {
    let mut statement = conn.prepare_cached(
        "SELECT actor, subject, at, action FROM audit_log
         WHERE at >= ?1 AND at < ?2 AND action IN ('sign_in', 'sign_out')
         ORDER BY at, id",
    )?;
    let rows = statement.query_map(params![crate::store::ts(start), crate::store::ts(end)], |row| {
        let action: String = row.get(3)?;
        Ok(super::staffing::SignEvent {
            staff: row.get(0)?,
            counter: row.get(1)?,
            at: time("at", Some(row.get(2)?))?.expect("given"),
            signed_in: action == "sign_in",
        })
    })?;
    rows.collect()
}

/// Reads the visit of one CRM case from the event log.
pub fn case_facts(conn: &Connection, case_ref: &str) -> rusqlite::Result<Option<VisitFacts>> {
    let mut statement = conn.prepare_cached(&format!("{CHOSEN_BY_CASE}{VISIT_FACTS}"))?;
    let mut rows = statement.query_map(params![case_ref], read_facts)?;
    rows.next().transpose()
}

#[cfg(test)]
mod tests {
    use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone, Timelike};

    use super::super::fixture::{day, fixture, target};
    use super::super::{Spread, Summary, summarise, synthetic};
    use super::*;

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
        assert_eq!(t.csat.reasons.get(super::super::NO_REASON_GIVEN), Some(&1), "{:?}", t.csat.reasons);
        let case = case_facts(&conn, "DMM-5").unwrap().unwrap();
        assert_eq!((case.rating, case.rating_reason.as_deref()), (Some(1), None));
        assert_eq!(case.rated_at, Some("2026-11-23T07:11:00Z".parse().unwrap()), "rated at the tap");
        // The reason follows: the same rating, now with its reason.
        event(102, "2026-11-23T07:12:00.000Z", "rating_reason_added", r#","reason":"staff_conduct""#);
        let t = report(&conn, None, None).total;
        assert_eq!(t.csat.ratings, 3, "still one rating for the visit");
        assert_eq!(
            (t.csat.reasons.get(super::super::NO_REASON_GIVEN), t.csat.reasons.get("staff_conduct")),
            (None, Some(&1))
        );
        let case = case_facts(&conn, "DMM-5").unwrap().unwrap();
        assert_eq!((case.rating, case.rating_reason.as_deref()), (Some(1), Some("staff_conduct")));
        assert_eq!(case.rated_at, Some("2026-11-23T07:11:00Z".parse().unwrap()), "the score's time stands");
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
        let mut reasons = std::collections::BTreeMap::new();
        for (_, reason) in truth.iter().filter_map(|v| v.rating).filter(|(s, _)| *s <= 2) {
            *reasons.entry(reason.unwrap_or(super::super::NO_REASON_GIVEN).to_string()).or_insert(0) += 1;
        }
        assert_eq!(reasons.len(), 5, "every reason, and none given: {reasons:?}");
        assert_eq!(t.csat.reasons, reasons);
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

    /// The real cases of Jul–Nov (each visit's follow-up, referral and escalation, closed up to
    /// 150 h later): every month's counts equal what the test works out from what really
    /// happened, and are the same whether the month is asked for alone or inside the range.
    #[test]
    fn a_case_counts_in_the_month_of_its_own_events_whatever_the_range() {
        use crate::cases::{CaseKind, CasePeriod, case_of, entries_of, ledger, notes_for_cases};
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let (from, to) = ("2026-07-01".parse().unwrap(), "2026-11-30".parse().unwrap());
        let truth = synthetic::write(&mut conn, 11, from, to, 60).unwrap();
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let policy = crate::domain::CasePolicy { resolution_target_s: 72 * 3600, escalation_target_s: 24 * 3600 };
        let now: DateTime<Utc> = "2027-01-10T00:00:00Z".parse().unwrap();
        let report = |from: NaiveDate, to: NaiveDate| {
            let filter = ReportFilter { from, to, service: None, counter: None };
            let backlog = backlog_facts(&conn, &filter, ledger::day_start(from, offset)).unwrap();
            let notes = notes_for_cases(&conn, backlog.iter().map(|v| v.case_ref.as_str())).unwrap();
            let entries: Vec<_> = backlog
                .iter()
                .flat_map(|v| entries_of(&case_of(v, notes.get(&v.case_ref), policy, now), v.ending, policy))
                .collect();
            ledger::report(&entries, from, to, offset, now)
        };

        // Worked out here from the truth: each real case's kind, opening, due time and closing.
        // Kind, opened, due, closed.
        type Worked = (CaseKind, DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>);
        let mut cases: Vec<Worked> = Vec::new();
        for v in &truth {
            let Some((_, end)) = v.served else { continue };
            let kind = match v.outcome {
                Some("follow_up") => Some(CaseKind::FollowUp),
                Some("referred") => Some(CaseKind::Referral),
                _ => None,
            };
            if let Some(kind) = kind {
                cases.push((kind, end, end + chrono::Duration::hours(72), v.closed_at));
            }
            if v.rating.is_some_and(|(score, _)| score <= 2) {
                let rated = end + chrono::Duration::minutes(1);
                cases.push((CaseKind::Escalation, rated, rated + chrono::Duration::hours(24), v.closed_at));
            }
        }
        let expected = |first: NaiveDate, last: NaiveDate| {
            let start = offset.from_local_datetime(&first.and_hms_opt(0, 0, 0).unwrap()).unwrap().with_timezone(&Utc);
            let next = last.succ_opt().unwrap().and_hms_opt(0, 0, 0).unwrap();
            let end = offset.from_local_datetime(&next).unwrap().with_timezone(&Utc);
            let inside = |t: DateTime<Utc>| start <= t && t < end;
            let mut p = ledger::period(&[], (first, last), (start, end), now);
            for (kind, opened, due, closed) in &cases {
                *p.opened.of_mut(*kind) += usize::from(inside(*opened));
                *p.closed.of_mut(*kind) += usize::from(closed.is_some_and(inside));
                *p.closed_within_target.of_mut(*kind) += usize::from(closed.is_some_and(|c| inside(c) && c <= *due));
                let open = *opened < end && closed.is_none_or(|c| c >= end);
                *p.open_at_end.of_mut(*kind) += usize::from(open);
                *p.overdue_at_end.of_mut(*kind) += usize::from(open && *due < end);
            }
            let rated: Vec<u8> =
                truth.iter().filter(|v| v.closed_at.is_some_and(inside)).filter_map(|v| v.resolution_rating).collect();
            p.resolution_ratings = rated.len();
            p.resolution_rating_mean =
                (!rated.is_empty()).then(|| rated.iter().map(|r| f64::from(*r)).sum::<f64>() / rated.len() as f64);
            p
        };

        let whole = report(from, to);
        assert_eq!(whole.months.len(), 5);
        for month in &whole.months {
            let alone = report(month.from, month.to).total;
            let truth = expected(month.from, month.to);
            let same = |a: &CasePeriod, b: &CasePeriod| {
                (a.opened, a.closed, a.closed_within_target, a.open_at_end, a.overdue_at_end, a.resolution_ratings)
                    == (
                        b.opened,
                        b.closed,
                        b.closed_within_target,
                        b.open_at_end,
                        b.overdue_at_end,
                        b.resolution_ratings,
                    )
                    && a.resolution_rating_mean.zip(b.resolution_rating_mean).is_none_or(|(x, y)| (x - y).abs() < 1e-9)
            };
            assert!(same(month, &truth), "{} in the range: {month:?}\nworked out: {truth:?}", month.from);
            assert!(same(&alone, &truth), "{} alone: {alone:?}\nworked out: {truth:?}", month.from);
        }
        let october = &whole.months[3];
        assert!(october.opened.follow_up > 50 && october.opened.escalation > 50, "{october:?}");
        let carried = cases
            .iter()
            .filter(|(_, opened, _, closed)| {
                opened.with_timezone(&offset).month() == 9
                    && closed.is_some_and(|c| c.with_timezone(&offset).month() == 10)
            })
            .count();
        assert!(carried > 0, "some September cases close in October, and count there");
        assert_eq!(whole.total.opened.total(), cases.len(), "every case opened in the range");
        let open_now = cases.iter().filter(|(_, _, _, closed)| closed.is_none()).count();
        assert_eq!(whole.open.len(), open_now, "the open list has every case never closed");
        assert!(whole.open.iter().all(|l| l.overdue), "all long past due by January");

        // The cases carried over are found through the partial index, not a scan of the log.
        let plan: Vec<String> = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {CHOSEN_BACKLOG}{VISIT_FACTS}"))
            .unwrap()
            .query_map(params!["2026-10-01T00:00:00.000Z", "2026-10-31", None::<String>], |r| r.get(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert!(plan.iter().any(|p| p.contains("events_real_cases")), "{plan:#?}");
    }

    /// Two weeks of made-up history with pauses and visitors turned away at closing: every
    /// service-level and staffing figure equals what the test works out from what happened.
    #[test]
    fn service_levels_and_staffing_are_the_figures_worked_out_independently() {
        use std::collections::BTreeSet;
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let (from, to): (NaiveDate, NaiveDate) = ("2026-10-04".parse().unwrap(), "2026-10-15".parse().unwrap());
        let truth = synthetic::write(&mut conn, 5, from, to, 200).unwrap();
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let target = |s: &str| Some(if s == "A" { 600 } else { 900 });
        let filter = ReportFilter { from, to, service: None, counter: None };
        let visits = visit_facts(&conn, &filter).unwrap();
        let start = crate::cases::ledger::day_start(from, offset);
        let end = crate::cases::ledger::day_start(to.succ_opt().unwrap(), offset);
        let pauses = pause_events(&conn, (start, end), None).unwrap();
        let signs = sign_events(&conn, (start, end)).unwrap();
        let staffing = super::super::sla::Staffing {
            pauses: &pauses,
            signs: &signs,
            counter: None,
            now: "2027-01-01T00:00:00Z".parse().unwrap(),
        };
        let sla = super::super::sla_report((from, to), &visits, staffing, &target, offset);
        // Worked out here: which minutes of the local day (0–1439) each counter was signed in
        // and not paused, from the generator's own plan.
        let staffed_minutes = |day: NaiveDate| {
            let mut minutes = vec![0usize; 24 * 60];
            let pauses = synthetic::pauses_of(day);
            for (counter, _, from, to) in synthetic::staff_of(day) {
                for m in (8 * 60 + from)..(8 * 60 + to) {
                    let paused = pauses
                        .iter()
                        .any(|(c, _, p, len)| *c == counter && (8 * 60 + p..8 * 60 + p + len).contains(&m));
                    minutes[m as usize] += usize::from(!paused);
                }
            }
            minutes
        };
        let days_of_weekday = |weekday: u32| {
            from.iter_days().take_while(|d| *d <= to).filter(|d| d.weekday().num_days_from_sunday() == weekday).count()
        };

        // Worked out here: (within, breach, never called) of each visit.
        let judge = |v: &synthetic::Truth| {
            let t = target(v.service).unwrap() as i64;
            match (v.called_at, v.left_at) {
                (Some(c), _) => ((c - v.issued_at).num_seconds() <= t, (c - v.issued_at).num_seconds() > t, false),
                (None, Some(l)) => (false, (l - v.issued_at).num_seconds() > t, (l - v.issued_at).num_seconds() > t),
                (None, None) => (false, false, false),
            }
        };
        let count = |vs: &[&synthetic::Truth]| {
            let j: Vec<_> = vs.iter().map(|v| judge(v)).collect();
            (j.iter().filter(|x| x.0).count(), j.iter().filter(|x| x.1).count(), j.iter().filter(|x| x.2).count())
        };
        let all: Vec<&synthetic::Truth> = truth.iter().collect();
        let (within, breaches, never) = count(&all);
        assert!(never > 20, "some visitors were turned away at closing: {never}");
        assert_eq!((sla.total.within, sla.total.breaches, sla.total.never_called), (within, breaches, never));
        assert_eq!(sla.breaches.len(), breaches, "the drill-down lists every breach");
        assert_eq!(sla.breaches.iter().filter(|b| b.called_at.is_none()).count(), never);
        for s in &sla.per_service {
            let mine: Vec<&synthetic::Truth> = truth.iter().filter(|v| v.service == s.service).collect();
            assert_eq!((s.within, s.breaches, s.never_called), count(&mine), "service {}", s.service);
            assert_eq!(s.target_s, target(&s.service));
        }
        let days: BTreeSet<NaiveDate> = truth.iter().map(|v| v.local_day).collect();
        assert_eq!(sla.per_day.len(), days.len());
        for d in &sla.per_day {
            let mine: Vec<&synthetic::Truth> = truth.iter().filter(|v| v.local_day == d.day).collect();
            let (within, breaches, _) = count(&mine);
            assert_eq!((d.visits, d.within, d.breaches), (mine.len(), within, breaches), "{}", d.day);
            assert_eq!(d.served, mine.iter().filter(|v| v.served.is_some()).count());
            assert_eq!(d.cancelled, mine.iter().filter(|v| v.cancelled).count());
            let serving: BTreeSet<&str> = mine.iter().filter_map(|v| v.counter.as_deref()).collect();
            let on_duty = synthetic::staff_of(d.day);
            assert_eq!(
                (d.counters_staffed, d.staff, d.counters_serving),
                (on_duty.len(), on_duty.len(), serving.len())
            );
            assert!((d.staffed_hours - staffed_minutes(d.day).iter().sum::<usize>() as f64 / 60.0).abs() < 1e-9);
        }
        assert!(sla.per_day.iter().any(|d| d.counters_staffed < 8), "some days someone is absent");
        // The grid, worked out minute by minute: (arrivals, within, measured, staffed minutes).
        let mut grid: std::collections::BTreeMap<(u32, u32), (usize, usize, usize, usize)> = Default::default();
        for v in &truth {
            let local = v.issued_at.with_timezone(&offset);
            let cell = grid.entry((local.weekday().num_days_from_sunday(), local.hour())).or_default();
            let (within, breach, _) = judge(v);
            cell.0 += 1;
            cell.1 += usize::from(within);
            cell.2 += usize::from(within || breach);
        }
        for day in &days {
            for (minute, staffed) in staffed_minutes(*day).iter().enumerate() {
                let hour = (minute / 60) as u32;
                grid.entry((day.weekday().num_days_from_sunday(), hour)).or_default().3 += staffed;
            }
        }
        grid.retain(|_, c| *c != (0, 0, 0, 0));
        assert_eq!(sla.grid.len(), grid.len());
        for cell in &sla.grid {
            let (arrivals, within, measured, minutes) = grid[&(cell.weekday, cell.hour)];
            let weekdays = days_of_weekday(cell.weekday);
            assert_eq!((cell.arrivals, cell.within, cell.measured, cell.days), (arrivals, within, measured, weekdays));
            let mean = minutes as f64 / 60.0 / weekdays as f64;
            assert!((cell.counters_staffed - mean).abs() < 1e-9, "{cell:?}: {mean}");
        }
        let noon = sla.grid.iter().find(|c| c.weekday == 0 && c.hour == 12).expect("Sunday noon");
        let nine = sla.grid.iter().find(|c| c.weekday == 0 && c.hour == 9).expect("Sunday 9:00");
        assert!(noon.counters_staffed < nine.counters_staffed, "Dhuhr shows: {noon:?} {nine:?}");
        // Pauses: 8 Dhuhr pauses of 20 min and one 15-min break each working day.
        let working = days.len();
        let prayers: usize = days.iter().map(|d| synthetic::staff_of(*d).len()).sum();
        let reasons: Vec<(&str, usize, f64)> =
            sla.pauses.iter().map(|p| (p.reason.as_str(), p.pauses, (p.hours * 1000.0).round() / 1000.0)).collect();
        let hours = |minutes: usize| ((minutes as f64 / 60.0) * 1000.0).round() / 1000.0;
        assert_eq!(reasons, [("break", working, hours(working * 15)), ("prayer", prayers, hours(prayers * 20))]);
        let share = (working * 15) as f64 * 100.0 / (working * 15 + prayers * 20) as f64;
        assert!((sla.pauses[0].share_pct - share).abs() < 1e-9);
    }

    /// Root causes over October, from five months of history: every reason's and category's
    /// count and share — the range's, each service's, the month's — and the period before's,
    /// equal what the test works out from what really happened; the exit rating of each month
    /// stands beside the rating after resolution of the cases closed in it.
    #[test]
    fn root_causes_are_the_shares_worked_out_independently() {
        use std::collections::{BTreeMap, HashMap};

        use super::super::causes::{self, UNCATEGORISED};
        use crate::cases::{case_of, entries_of, ledger, notes_for_cases};
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let truth =
            synthetic::write(&mut conn, 13, "2026-07-01".parse().unwrap(), "2026-11-30".parse().unwrap(), 80).unwrap();
        let (from, to): (NaiveDate, NaiveDate) = ("2026-10-01".parse().unwrap(), "2026-10-31".parse().unwrap());
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let policy = crate::domain::CasePolicy { resolution_target_s: 72 * 3600, escalation_target_s: 24 * 3600 };
        let now: DateTime<Utc> = "2027-01-10T00:00:00Z".parse().unwrap();
        let wide = ReportFilter { from: causes::reach_back(from, to), to, service: None, counter: None };
        let visits = visit_facts(&conn, &wide).unwrap();
        let categories: HashMap<String, String> = crate::cases::notes_for_days(&conn, wide.from, to)
            .unwrap()
            .into_iter()
            .filter_map(|(r, n)| n.category.map(|c| (r, c)))
            .collect();
        let filter = ReportFilter { from, to, service: None, counter: None };
        let backlog = backlog_facts(&conn, &filter, ledger::day_start(from, offset)).unwrap();
        let notes = notes_for_cases(&conn, backlog.iter().map(|v| v.case_ref.as_str())).unwrap();
        let entries: Vec<_> = backlog
            .iter()
            .flat_map(|v| entries_of(&case_of(v, notes.get(&v.case_ref), policy, now), v.ending, policy))
            .collect();
        let cases = ledger::report(&entries, from, to, offset, now);
        let resolution = |first: NaiveDate, _: NaiveDate| {
            cases
                .months
                .iter()
                .find(|m| m.from == first)
                .map_or((0, None), |m| (m.resolution_ratings, m.resolution_rating_mean))
        };
        let report = causes::causes_report((from, to), &visits, &categories, &resolution);
        assert_eq!(
            (report.previous_from, report.previous_to),
            ("2026-09-01".parse().unwrap(), "2026-09-30".parse().unwrap())
        );

        // Worked out here: each visit's reason and category, from the truth.
        let reason = |v: &synthetic::Truth| {
            v.rating.filter(|(s, _)| *s <= 2).map(|(_, r)| r.unwrap_or(super::super::NO_REASON_GIVEN).to_string())
        };
        let category = |v: &synthetic::Truth| {
            let real = matches!(v.outcome, Some("follow_up" | "referred")) || v.rating.is_some_and(|(s, _)| s <= 2);
            real.then(|| v.category.unwrap_or(UNCATEGORISED).to_string())
        };
        let tally = |month: u32, service: Option<&str>, cause: &dyn Fn(&synthetic::Truth) -> Option<String>| {
            let mut counts: BTreeMap<String, usize> = BTreeMap::new();
            for v in truth.iter().filter(|v| v.local_day.month() == month && service.is_none_or(|s| s == v.service)) {
                if let Some(c) = cause(v) {
                    *counts.entry(c).or_insert(0) += 1;
                }
            }
            counts
        };
        let check = |group: &CauseGroup, now: BTreeMap<String, usize>, before: BTreeMap<String, usize>| {
            let (total, previous): (usize, usize) = (now.values().sum(), before.values().sum());
            assert_eq!((group.total, group.previous_total), (total, previous), "{}", group.group);
            let mut all: Vec<&String> = now.keys().chain(before.keys()).collect();
            all.sort();
            all.dedup();
            assert_eq!(group.causes.len(), all.len(), "{}", group.group);
            for c in &group.causes {
                let (n, b) = (now.get(&c.cause).copied().unwrap_or(0), before.get(&c.cause).copied().unwrap_or(0));
                assert_eq!((c.count, c.previous_count), (n, b), "{} {}", group.group, c.cause);
                assert!((c.share_pct - n as f64 * 100.0 / total as f64).abs() < 1e-9);
                let change = n as f64 * 100.0 / total as f64 - b as f64 * 100.0 / previous as f64;
                assert!((c.change_points.unwrap() - change).abs() < 1e-9);
            }
            let counts: Vec<usize> = group.causes.iter().map(|c| c.count).collect();
            assert!(counts.windows(2).all(|w| w[0] >= w[1]), "most frequent first: {counts:?}");
        };
        use dawr_protocol::api::reports::CauseGroup;
        for (table, cause) in [
            (&report.reasons, &reason as &dyn Fn(&synthetic::Truth) -> Option<String>),
            (&report.categories, &category),
        ] {
            check(&table.overall, tally(10, None, cause), tally(9, None, cause));
            assert_eq!(table.per_month.len(), 1);
            check(&table.per_month[0], tally(10, None, cause), tally(9, None, cause));
            assert_eq!(table.per_service.len(), synthetic::SERVICES.len());
            for g in &table.per_service {
                check(g, tally(10, Some(&g.group), cause), tally(9, Some(&g.group), cause));
            }
        }
        assert!(report.reasons.overall.causes.len() >= 5, "every reason appears");
        assert!(report.categories.overall.causes.iter().any(|c| c.cause == "شكوى على موظف"));
        assert!(report.categories.overall.causes.iter().any(|c| c.cause == UNCATEGORISED));

        let october = &report.satisfaction[0];
        let scores: Vec<f64> = truth
            .iter()
            .filter(|v| v.local_day.month() == 10)
            .filter_map(|v| v.rating.map(|(s, _)| f64::from(s)))
            .collect();
        assert_eq!(october.exit_ratings, scores.len());
        assert!((october.exit_mean.unwrap() - scores.iter().sum::<f64>() / scores.len() as f64).abs() < 1e-9);
        let resolved: Vec<f64> = truth
            .iter()
            .filter(|v| v.closed_at.is_some_and(|c| c.with_timezone(&offset).month() == 10))
            .filter_map(|v| v.resolution_rating.map(f64::from))
            .collect();
        assert_eq!(october.resolution_ratings, resolved.len());
        assert!((october.resolution_mean.unwrap() - resolved.iter().sum::<f64>() / resolved.len() as f64).abs() < 1e-9);
    }
}
