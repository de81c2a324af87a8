//! The retention job: runs the purge once at start, then whenever the branch's local day has
//! changed since the last run (checked every few minutes), on the hub's clock
//! ([`crate::clock`], which tests shift with `--clock-offset-s`).
use std::time::Duration;

use chrono::{FixedOffset, NaiveDate};
use dawr_web::Db;

use super::{Retention, purge};

/// How often the job looks whether a new day has begun.
const CHECK_EVERY: Duration = Duration::from_secs(300);

/// Runs one purge now; logs what it removed.
pub async fn run_once(db: &Db, retention: Retention) {
    let now = crate::clock::now();
    match db.write(move |conn| purge(conn, retention.cutoffs(now), now)).await {
        Ok(Ok(counts)) => tracing::info!(?counts, days = retention.personal_days, "retention purge done"),
        Ok(Err(e)) => tracing::error!(error = %e, "the retention purge failed; it runs again tomorrow"),
        Err(e) => tracing::warn!(error = %e, "the retention purge was interrupted"),
    }
}

/// The daily task: a purge each new local day (the one at start is [`run_once`]'s), until aborted.
pub fn spawn(db: Db, retention: Retention, offset: FixedOffset) -> tokio::task::JoinHandle<()> {
    let today = move || -> NaiveDate { crate::clock::now().with_timezone(&offset).date_naive() };
    tokio::spawn(async move {
        // The app ran the day's first purge before it took requests.
        let mut last = today();
        let mut interval = tokio::time::interval(CHECK_EVERY);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            interval.tick().await;
            if today() != last {
                last = today();
                run_once(&db, retention).await;
            }
        }
    })
}
