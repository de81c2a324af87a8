//! Measures the managers' reports on a year of one busy branch: writes ~250,000 visits (about
//! 1,000 a working day, each with its issue, call, start and end, some no-shows, cancellations
//! and ratings) straight into a hub database, then times a month's and the year's summary and
//! the month's CSV, as `GET /api/v1/reports/…` computes them.
//!
//! ```text
//! cargo run --release -p dawr-hub --bin dawr-report-bench [-- --visits-per-day 1000]
//! ```
use std::time::{Duration, Instant};

use chrono::{Datelike, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};
use dawr_hub::reports::{ReportFilter, summarise, visit_facts, visits_csv};
use dawr_hub::store::{open, ts};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rusqlite::params;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let per_day: u32 = match args.iter().position(|a| a == "--visits-per-day") {
        Some(i) => args.get(i + 1).map(|v| v.parse()).transpose()?.unwrap_or(1000),
        None => 1000,
    };
    let dir = std::env::temp_dir().join(format!("dawr-report-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut conn = open(&dir.join("dawr.db"))?;
    let offset = FixedOffset::east_opt(3 * 3600).expect("valid");
    let mut rng = SmallRng::seed_from_u64(2026);
    let services = ["A", "B", "C", "D", "E", "F"];

    let started = Instant::now();
    let tx = conn.transaction()?;
    let (mut visit_id, mut seq) = (0i64, 0i64);
    let mut day = NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid");
    while day.year() == 2025 {
        if matches!(day.weekday(), Weekday::Fri | Weekday::Sat) {
            day = day.succ_opt().expect("a next day");
            continue;
        }
        let opening =
            offset.from_local_datetime(&day.and_hms_opt(8, 0, 0).expect("valid")).unwrap().with_timezone(&Utc);
        for n in 0..per_day {
            visit_id += 1;
            let service = services[rng.random_range(0..services.len())];
            let issued = opening + chrono::Duration::seconds(rng.random_range(0..6 * 3600));
            tx.prepare_cached(
                "INSERT INTO visits (id, number, local_day, service, priority, source, status, case_ref, token,
                     issued_at, recalls, transfers) VALUES (?1, ?2, ?3, ?4, 'normal', 'walk_in', 'done', ?5, ?6, ?7, 0, 0)",
            )?
            .execute(params![
                visit_id,
                format!("{service}{n:03}"),
                day.to_string(),
                service,
                format!("DMM-{visit_id}"),
                format!("t{visit_id}"),
                ts(issued)
            ])?;
            let counter = rng.random_range(1..=8).to_string();
            let mut event = |at: chrono::DateTime<Utc>, kind: &str, counter: Option<&str>, payload: String| {
                seq += 1;
                tx.prepare_cached(
                    "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| s.execute(params![seq, ts(at), kind, visit_id, counter, payload]))
            };
            event(issued, "issued", None, "{}".into())?;
            let roll: f64 = rng.random();
            if roll < 0.03 {
                event(issued + chrono::Duration::minutes(5), "cancelled", None, "{}".into())?;
                continue;
            }
            let called = issued + chrono::Duration::seconds(rng.random_range(0..1800));
            event(called, "called", Some(&counter), "{}".into())?;
            if roll < 0.08 {
                event(called + chrono::Duration::minutes(3), "no_show", Some(&counter), "{}".into())?;
                continue;
            }
            let start = called + chrono::Duration::seconds(rng.random_range(20..120));
            let end = start + chrono::Duration::seconds(rng.random_range(120..900));
            event(start, "started", Some(&counter), "{}".into())?;
            event(end, "completed", Some(&counter), r#"{"outcome":"resolved"}"#.into())?;
            if rng.random_bool(0.3) {
                let score = rng.random_range(1..=5);
                let reason = if score <= 2 { r#","reason":"waited_too_long""# } else { "" };
                event(
                    end + chrono::Duration::minutes(1),
                    "rated",
                    Some(&counter),
                    format!(r#"{{"score":{score}{reason}}}"#),
                )?;
            }
        }
        day = day.succ_opt().expect("a next day");
    }
    tx.commit()?;
    println!(
        "Reports on one branch's year: {visit_id} visits, {seq} events, written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let target = |service: &str| Some(if service == "A" { 900 } else { 1200 });
    let time = |label: &str, from: &str, to: &str, csv: bool| -> anyhow::Result<()> {
        let filter = ReportFilter { from: from.parse()?, to: to.parse()?, service: None, counter: None };
        let mut samples: Vec<Duration> = Vec::new();
        let mut visits = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let facts = visit_facts(&conn, &filter)?;
            if csv {
                std::hint::black_box(visits_csv(&facts));
            } else {
                std::hint::black_box(summarise(&filter, &facts, &target, offset));
            }
            visits = facts.len();
            samples.push(t.elapsed());
        }
        samples.sort();
        println!(
            "  {label:<28} {visits:>7} visits   median {:>7.1} ms   max {:>7.1} ms",
            samples[2].as_secs_f64() * 1000.0,
            samples[4].as_secs_f64() * 1000.0
        );
        Ok(())
    };
    time("summary, one month", "2025-03-01", "2025-03-31", false)?;
    time("visits CSV, one month", "2025-03-01", "2025-03-31", true)?;
    time("summary, the whole year", "2025-01-01", "2025-12-31", false)?;
    drop(conn);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
