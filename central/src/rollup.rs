//! The branch-days' figures, kept in `branch_days`: each branch-day is computed once it is over
//! (at the branch's offset), and again whenever events of it arrive late (a branch back after an
//! outage): the writer marks such a day provisional in the same transaction that stores the
//! events, and this loop recomputes it with the branch's own report code ([`crate::reports`]).
use std::time::Duration;

use crate::{reports, store};

/// Branch-days computed per round at most.
const PER_ROUND: i64 = 50;

/// Computes due branch-days every `every` until an error (the caller starts again).
pub async fn run(pool: &deadpool_postgres::Pool, every: Duration) -> Result<(), store::DbError> {
    loop {
        let computed = round(pool).await?;
        if computed < PER_ROUND as usize {
            tokio::time::sleep(every).await;
        }
    }
}

/// One round: computes up to [`PER_ROUND`] due branch-days; returns how many.
pub async fn round(pool: &deadpool_postgres::Pool) -> Result<usize, store::DbError> {
    let client = pool.get().await?;
    let due = store::due_days(&**client, PER_ROUND).await?;
    for day in &due {
        let events = store::visit_events(&**client, &day.branch, day.day, day.day).await?;
        let summary = reports::branch_summary(&events, day.day, day.day, day.utc_offset_s, &day.targets);
        store::put_day(&**client, day, &summary).await?;
        tracing::debug!(branch = %day.branch, day = %day.day, "branch-day computed");
    }
    Ok(due.len())
}
