//! A short seeded day of faults on each broker (issue #17): the whole branch under load while the hub is killed, the broker restarted, links cut, the site
//! and the CRM away and the disk full (the hub's files limited in size, its log too); the
//! checker finds no anomaly in the clients' ledgers.
//! Each run lasts `DAWR_CHAOS_SECONDS` (default 30 s) of rush, then drains; the embedded
//! broker's run crosses local midnight halfway (the day closes with visitors waiting, at
//! counters and checking in). The long run is the `dawr-chaos` binary.
use anyhow::Result;
use dawr_e2e::chaos::check::FaultKind;
use dawr_e2e::chaos::{Broker, Options, run, schedule};

fn seconds() -> f64 {
    std::env::var("DAWR_CHAOS_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(30.0)
}

async fn day(options: Options) -> Result<()> {
    assert!(options.disk_full, "the disk fills too");
    let kinds: std::collections::BTreeSet<FaultKind> = schedule(&options).iter().map(|(_, k, _)| *k).collect();
    let outcome = run(options.clone()).await?;
    println!("{:?} seed {}:\n{}", options.broker, options.seed, outcome.table);
    assert!(outcome.anomalies.is_empty(), "{}", outcome.table);
    // The run did something: visits served, every scheduled kind of fault injected.
    assert!(outcome.ledger.issued.len() > 50, "{}", outcome.table);
    assert!(outcome.ledger.answers.iter().filter(|a| a.ok && a.ticket.is_some()).count() > 50, "{}", outcome.table);
    let injected: std::collections::BTreeSet<FaultKind> = outcome.ledger.faults.iter().map(|f| f.kind).collect();
    assert_eq!(injected, kinds);
    assert!(outcome.end.db_bytes > 0, "the database's size was measured");
    if options.midnight_after_s.is_some() {
        let days: std::collections::BTreeSet<_> =
            outcome.end.tickets.values().map(|t| (t.issued_at + chrono::Duration::hours(3)).date_naive()).collect();
        assert_eq!(days.len(), 2, "tickets on both sides of midnight:\n{}", outcome.table);
        assert!(!outcome.ledger.checkins.is_empty(), "bookings checked in:\n{}", outcome.table);
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_faults_on_mosquitto_loses_nothing() -> Result<()> {
    // Seed 12 injects all seven kinds of fault within 30 s.
    day(Options::new(seconds(), 12, Broker::Mosquitto)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_day_of_faults_across_midnight_on_the_embedded_broker_loses_nothing() -> Result<()> {
    // Seed 23 injects all six kinds (no broker restart: the broker is the hub's) within 30 s.
    let mut options = Options::new(seconds(), 23, Broker::Embedded);
    options.midnight_after_s = Some(options.seconds / 2.0);
    day(options).await
}
