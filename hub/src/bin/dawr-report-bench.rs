//! Measures the managers' reports on a year of one busy branch: writes ~250,000 visits (about
//! 1,000 a working day, each with its issue, call, start and end, some no-shows, cancellations
//! and ratings) straight into a hub database, then times a month's and the year's summary and
//! the month's CSV, as `GET /api/v1/reports/…` computes them.
//!
//! ```text
//! cargo run --release -p dawr-hub --bin dawr-report-bench [-- --visits-per-day 1000]
//! ```
use std::time::{Duration, Instant};

use chrono::{FixedOffset, NaiveDate};
use clap::Parser;
use dawr_hub::reports::{ReportFilter, summarise, synthetic, visit_facts, visits_csv};
use dawr_hub::store::open;

/// Times the managers' reports (a month's and a year's summary, a month's CSV) on a year of
/// synthetic visits written into a fresh hub database in the temporary directory.
#[derive(Debug, Parser)]
#[command(name = "dawr-report-bench", version)]
struct Args {
    /// Visits a working day (the year has about 250 working days).
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=20_000))]
    visits_per_day: u32,
}

fn main() -> anyhow::Result<()> {
    let per_day = Args::parse().visits_per_day;
    let dir = std::env::temp_dir().join(format!("dawr-report-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut conn = open(&dir.join("dawr.db"))?;
    let offset = FixedOffset::east_opt(3 * 3600).expect("valid");
    let started = Instant::now();
    let year =
        (NaiveDate::from_ymd_opt(2025, 1, 1).expect("valid"), NaiveDate::from_ymd_opt(2025, 12, 31).expect("valid"));
    let visit_id = synthetic::write(&mut conn, 2026, year.0, year.1, per_day)?.len();
    let seq: i64 = conn.query_row("SELECT COUNT(*) FROM events", [], |r| r.get(0))?;
    println!(
        "Reports on one branch's year: {visit_id} visits, {seq} events, written in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let target = |service: &str| Some(if service == "A" { 900 } else { 1200 });
    let branch = dawr_hub::config::Config::demo().branch()?;
    let time = |label: &str, from: &str, to: &str, csv: bool| -> anyhow::Result<()> {
        let filter = ReportFilter { from: from.parse()?, to: to.parse()?, service: None, counter: None };
        let mut samples: Vec<Duration> = Vec::new();
        let mut visits = 0;
        for _ in 0..5 {
            let t = Instant::now();
            let facts = visit_facts(&conn, &filter)?;
            if csv {
                std::hint::black_box(visits_csv(&facts, &branch, &|_| String::new()));
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::*;

    #[test]
    fn it_has_a_help_and_refuses_a_bad_count() {
        Args::command().debug_assert();
        let help = Args::try_parse_from(["dawr-report-bench", "--help"]).unwrap_err();
        assert_eq!(help.kind(), clap::error::ErrorKind::DisplayHelp);
        assert!(help.to_string().contains("--visits-per-day"), "{help}");
        assert_eq!(Args::try_parse_from(["dawr-report-bench"]).unwrap().visits_per_day, 1000);
        assert_eq!(Args::try_parse_from(["b", "--visits-per-day", "50"]).unwrap().visits_per_day, 50);
        assert!(Args::try_parse_from(["b", "--visits-per-day", "x"]).is_err());
        assert!(Args::try_parse_from(["b", "--visits"]).is_err());
    }
}
