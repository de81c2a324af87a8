//! The task that keeps the held bookings in step with the site, and the only part of the link
//! that speaks HTTP: it pulls today's and tomorrow's bookings, forgets old ones, recovers and
//! marks check-ins and no-shows, and sends the outbox's reports until the site acknowledges them.
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use dawr_protocol::api::bookings::BookingReport;
use dawr_protocol::api::closures::{BranchClosure, ClosureApplied};

use super::store::{
    acknowledged, closure_told, failed, mark_no_shows, outbox, prune, recover_checkins, untold_closures, upsert,
};
use super::{Appointments, Pulled};
use crate::domain::Branch;
use crate::outbound::describe;

/// Where the site is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The site's base URL, e.g. `https://appointments.example.sa` or `http://127.0.0.1:8090`.
    pub url: String,
    /// This branch's API key on the site.
    pub api_key: String,
    /// How often bookings are pulled and reports retried.
    pub poll: Duration,
    /// A private CA the site's certificate chains to (`[appointments] ca_file`).
    pub ca_file: Option<std::path::PathBuf>,
}

/// Pulls and reports until the hub stops (abort the handle).
pub fn spawn_link(link: Link, branch: Arc<Branch>, shared: Appointments) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match crate::outbound::client(Duration::from_secs(10), link.ca_file.as_deref()) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "appointments link: no HTTP client; no bookings are pulled");
                return;
            }
        };
        let mut online = true;
        loop {
            let now = crate::clock::now();
            match pull(&client, &link, &branch, &shared, now).await {
                Ok(n) => {
                    if !online {
                        tracing::info!("appointments site reachable again");
                    }
                    online = true;
                    tracing::debug!(bookings = n, "appointments pulled");
                }
                Err(e) => {
                    if online {
                        tracing::warn!(error = %e, "appointments site unreachable; checking in from the bookings held here");
                    }
                    online = false;
                }
            }
            let window = shared.window;
            let week_ago = now.with_timezone(&branch.utc_offset).date_naive() - chrono::Duration::days(7);
            if let Err(e) = shared.with(move |c| prune(c, week_ago)).await {
                tracing::warn!(error = %e, "cannot forget old bookings");
            }
            match shared.with(recover_checkins).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(bookings = n, "check-ins recovered from issued tickets"),
                Err(e) => tracing::warn!(error = %e, "cannot recover check-ins"),
            }
            match shared.with(move |c| mark_no_shows(c, crate::clock::now(), window)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(bookings = n, "appointments not checked in marked as no-shows"),
                Err(e) => tracing::warn!(error = %e, "cannot mark no-shows"),
            }
            if let Err(e) = push(&client, &link, &branch, &shared).await {
                tracing::debug!(error = %e, "appointment reports not delivered yet");
            }
            if let Err(e) = tell_closures(&client, &link, &branch, &shared).await {
                tracing::debug!(error = %e, "closed days not told to the appointments site yet");
            }
            tokio::select! {
                _ = tokio::time::sleep(link.poll) => {}
                _ = shared.wake.notified() => {}
            }
        }
    })
}

async fn pull(
    client: &reqwest::Client,
    link: &Link,
    branch: &Branch,
    shared: &Appointments,
    now: DateTime<Utc>,
) -> Result<usize, String> {
    let today = now.with_timezone(&branch.utc_offset).date_naive();
    let mut all = Vec::new();
    for day in [today, today + chrono::Duration::days(1)] {
        let url = format!("{}/api/v1/branches/{}/bookings", link.url.trim_end_matches('/'), branch.id);
        let resp = client
            .get(&url)
            .query(&[("date", day.to_string())])
            .bearer_auth(&link.api_key)
            .send()
            .await
            .map_err(|e| format!("{url}: {}", describe(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: {}", resp.status()));
        }
        let pulled: Vec<Pulled> = resp.json().await.map_err(|e| e.to_string())?;
        all.extend(pulled);
    }
    let n = all.len();
    let branch = Arc::new(branch.clone());
    shared.with(move |c| upsert(c, &branch, &all, crate::clock::now())).await.map_err(|e| e.to_string())?;
    Ok(n)
}

async fn push(client: &reqwest::Client, link: &Link, branch: &Branch, shared: &Appointments) -> Result<(), String> {
    let waiting = shared.with(|c| outbox(c, 100)).await.map_err(|e| e.to_string())?;
    for report in waiting {
        let url =
            format!("{}/api/v1/branches/{}/bookings/{}/report", link.url.trim_end_matches('/'), branch.id, report.code);
        let body = BookingReport { status: report.status, at: report.at };
        let sent = client.post(&url).bearer_auth(&link.api_key).json(&body).send().await;
        let id = report.id;
        match sent {
            // Delivered; or the site will never take it (unknown booking, refused): log and drop.
            Ok(resp) if resp.status().is_success() || resp.status() == 404 || resp.status() == 400 => {
                if !resp.status().is_success() {
                    tracing::warn!(code = %report.code, status = %resp.status(), "the appointments site refused a report");
                }
                shared.with(move |c| acknowledged(c, id)).await.map_err(|e| e.to_string())?;
                tracing::info!(code = %report.code, status = %report.status, "reported to the appointments site");
            }
            Ok(resp) => {
                let error = format!("{}", resp.status());
                let _ = shared.with(move |c| failed(c, id, &error)).await;
                return Err(format!("{url}: {}", resp.status()));
            }
            Err(e) => {
                let error = describe(&e);
                let _ = shared.with(move |c| failed(c, id, &error)).await;
                return Err(format!("{url}: {}", describe(&e)));
            }
        }
    }
    Ok(())
}

/// Tells the site each closed day it has not confirmed (today's and later ones), so it cancels
/// that day's bookings; the site's answer is recorded, and repeating it changes nothing there.
async fn tell_closures(
    client: &reqwest::Client,
    link: &Link,
    branch: &Branch,
    shared: &Appointments,
) -> Result<(), String> {
    let today = crate::clock::now().with_timezone(&branch.utc_offset).date_naive();
    let untold = shared.with(move |c| untold_closures(c, today)).await.map_err(|e| e.to_string())?;
    for closure in untold {
        let url = format!("{}/api/v1/branches/{}/closures", link.url.trim_end_matches('/'), branch.id);
        let body = BranchClosure { day: closure.day, service: closure.service.clone() };
        let resp = client.post(&url).bearer_auth(&link.api_key).json(&body).send().await;
        let resp = resp.map_err(|e| format!("{url}: {}", describe(&e)))?;
        if !resp.status().is_success() {
            return Err(format!("{url}: {}", resp.status()));
        }
        let applied: ClosureApplied = resp.json().await.map_err(|e| e.to_string())?;
        tracing::info!(day = %closure.day, service = ?closure.service, bookings = applied.bookings_cancelled,
            "the appointments site cancelled the closed day's bookings");
        let now = crate::clock::now();
        shared.with(move |c| closure_told(c, &closure, now)).await.map_err(|e| e.to_string())?;
    }
    Ok(())
}
