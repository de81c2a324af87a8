//! The forecast of a branch from its database: the visits of the weeks it reads, then the pure
//! [`plan::forecast`](super::plan::forecast).
use rusqlite::Connection;

use super::plan::{self, Ask, ServiceSpec};
use crate::domain::Branch;
use crate::reports::{ReportFilter, visit_facts};

/// The services of `branch` as the forecast needs them.
pub fn specs(branch: &Branch) -> Vec<ServiceSpec> {
    branch
        .services
        .iter()
        .map(|s| ServiceSpec {
            code: s.code.clone(),
            target_s: s.target_wait_s,
            mean_service_s: f64::from(s.mean_service_s),
        })
        .collect()
}

/// The forecast of `ask` for `branch`.
pub fn forecast_of(conn: &Connection, branch: &Branch, ask: &Ask) -> rusqlite::Result<plan::Forecast> {
    let filter = ReportFilter {
        from: plan::first_day_read(ask),
        to: ask.day - chrono::Duration::days(1),
        service: None,
        counter: None,
    };
    let visits = visit_facts(conn, &filter)?;
    let mut forecast = plan::forecast(&visits, &specs(branch), ask, branch.utc_offset);
    forecast.branch = branch.id.clone();
    Ok(forecast)
}
