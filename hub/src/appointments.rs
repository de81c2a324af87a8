//! The link to the appointments site: the branch's bookings held here, check-in at the kiosk,
//! and reports back — so check-in works while the internet link is down.
//!
//! The site (`dawr-appointments`) is the source of bookings. A background task ([`spawn_link`])
//! pulls today's and tomorrow's bookings of this branch every few seconds
//! (`GET /api/v1/branches/{branch}/bookings?date=`, with the branch's API key) into the
//! `bookings` table. `POST /api/v1/checkins` (see [`crate::http`]) checks a booking in from
//! that table alone ([`check`], pure), issues an appointment ticket through the engine (with the
//! idempotency key `appt-{code}`, so a retried check-in never gets a second ticket), and records
//! the check-in together with a row in the `booking_outbox` table. When a booking's check-in
//! window closes without it, the link marks it a no-show the same way. The link sends the
//! outbox to the site in order (`POST …/bookings/{code}/report`) and deletes a row only once
//! the site has acknowledged it; until then it retries, across restarts of either side.
//!
//! These two tables are written through the link's own connection, not the queue's writer:
//! they are not queue state, and SQLite serialises the two writers (both wait on a busy
//! database rather than fail).
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, params};
use serde::Deserialize;
use tokio::sync::Notify;

use crate::domain::{Branch, VisitId};
use crate::store::{StoreError, ts};

/// Where the site is and how to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The site's base URL, e.g. `http://127.0.0.1:8090`.
    pub url: String,
    /// This branch's API key on the site.
    pub api_key: String,
    /// How often bookings are pulled and reports retried.
    pub poll: Duration,
}

/// When a booking may be checked in, around its slot's start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// From this long before the start…
    pub early_s: i64,
    /// …to this long after it.
    pub late_s: i64,
}

impl Default for Window {
    fn default() -> Self {
        Window { early_s: 30 * 60, late_s: 15 * 60 }
    }
}

/// A booking as held here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub code: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub local_day: NaiveDate,
    pub remote_status: String,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub visit_id: Option<VisitId>,
    pub no_show_at: Option<DateTime<Utc>>,
}

/// A booking as the site sends it.
#[derive(Debug, Clone, Deserialize)]
pub struct Pulled {
    pub code: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    pub status: String,
}

/// Why a booking cannot be checked in now.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no booking with this code for this branch")]
    Unknown,
    #[error("this booking was cancelled")]
    Cancelled,
    #[error("this booking was already checked in")]
    AlreadyCheckedIn { visit: Option<VisitId> },
    #[error("this booking is for {day}, not today")]
    NotToday { day: NaiveDate },
    #[error("too early: check-in opens at {opens}")]
    TooEarly { opens: DateTime<Utc> },
    #[error("too late: check-in closed at {closed}")]
    TooLate { closed: DateTime<Utc> },
}

impl Refusal {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::Unknown => "booking_not_found",
            Refusal::Cancelled => "booking_cancelled",
            Refusal::AlreadyCheckedIn { .. } => "booking_used",
            Refusal::NotToday { .. } => "not_today",
            Refusal::TooEarly { .. } => "too_early",
            Refusal::TooLate { .. } => "too_late",
        }
    }
}

/// Whether `held` may be checked in at `now` (on local day `today`).
pub fn check(held: Option<&Held>, now: DateTime<Utc>, today: NaiveDate, window: Window) -> Result<(), Refusal> {
    let held = held.ok_or(Refusal::Unknown)?;
    if held.checked_in_at.is_some() || held.remote_status == "checked_in" {
        return Err(Refusal::AlreadyCheckedIn { visit: held.visit_id });
    }
    if held.remote_status == "cancelled" {
        return Err(Refusal::Cancelled);
    }
    let opens = held.start - chrono::Duration::seconds(window.early_s);
    let closes = held.start + chrono::Duration::seconds(window.late_s);
    // The window decides; the day only explains a refusal (a window may cross midnight).
    let in_window = opens <= now && now <= closes;
    if !in_window && held.local_day != today {
        return Err(Refusal::NotToday { day: held.local_day });
    }
    if now < opens {
        return Err(Refusal::TooEarly { opens });
    }
    if now > closes || held.no_show_at.is_some() || held.remote_status == "no_show" {
        return Err(Refusal::TooLate { closed: closes });
    }
    Ok(())
}

/// A code as scanned or typed: upper case, no spaces or dashes; `None` if it cannot be one.
pub fn normalize_code(text: &str) -> Option<String> {
    let code: String =
        text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase();
    (!code.is_empty() && code.len() <= 16 && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

fn parse_ts(column: &'static str, text: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt { column, value: text.into() })
}

/// The booking with this code, if held.
pub fn find(conn: &Connection, code: &str) -> Result<Option<Held>, StoreError> {
    let row = conn
        .query_row(
            "SELECT code, service, start, end_at, local_day, remote_status, checked_in_at, visit_id, no_show_at \
             FROM bookings WHERE code = ?1",
            [code],
            |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<i64>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((code, service, start, end, day, remote_status, checked_in_at, visit_id, no_show_at)) = row else {
        return Ok(None);
    };
    Ok(Some(Held {
        code,
        service,
        start: parse_ts("start", &start)?,
        end: parse_ts("end_at", &end)?,
        local_day: day.parse().map_err(|_| StoreError::Corrupt { column: "local_day", value: day.clone() })?,
        remote_status,
        checked_in_at: checked_in_at.map(|t| parse_ts("checked_in_at", &t)).transpose()?,
        visit_id: visit_id.map(|v| v as VisitId),
        no_show_at: no_show_at.map(|t| parse_ts("no_show_at", &t)).transpose()?,
    }))
}

/// Stores what the site sent (the site's status; what happened here is kept).
pub fn upsert(conn: &mut Connection, branch: &Branch, pulled: &[Pulled], now: DateTime<Utc>) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare_cached(
            "INSERT INTO bookings (code, service, start, end_at, local_day, remote_status, pulled_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
             ON CONFLICT (code) DO UPDATE SET service = excluded.service, start = excluded.start, \
             end_at = excluded.end_at, local_day = excluded.local_day, remote_status = excluded.remote_status, \
             pulled_at = excluded.pulled_at",
        )?;
        for b in pulled {
            let day = b.start.with_timezone(&branch.utc_offset).date_naive();
            stmt.execute(params![b.code, b.service, ts(b.start), ts(b.end), day.to_string(), b.status, ts(now)])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Records a check-in and queues its report, in one transaction.
pub fn record_checkin(conn: &mut Connection, code: &str, visit: VisitId, at: DateTime<Utc>) -> Result<(), StoreError> {
    let tx = conn.transaction()?;
    let changed = tx.execute(
        "UPDATE bookings SET checked_in_at = ?2, visit_id = ?3 WHERE code = ?1 AND checked_in_at IS NULL",
        params![code, ts(at), visit as i64],
    )?;
    if changed == 1 {
        tx.execute(
            "INSERT INTO booking_outbox (code, status, at) VALUES (?1, 'checked_in', ?2)",
            params![code, ts(at)],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The idempotency key a check-in issues its ticket with.
pub fn request_id(code: &str) -> String {
    format!("appt-{code}")
}

/// Records check-ins whose ticket was issued but not recorded here (the hub stopped in between
/// and the kiosk did not retry): the ticket request's entry in `command_log` proves it. Returns
/// how many.
pub fn recover_checkins(conn: &mut Connection) -> Result<usize, StoreError> {
    let found: Vec<(String, String, String)> = {
        let mut stmt = conn.prepare_cached(
            "SELECT b.code, c.reply, c.at FROM bookings b JOIN command_log c \
             ON c.counter = '#tickets' AND c.command_id = 'appt-' || b.code WHERE b.checked_in_at IS NULL",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?.collect::<Result<_, _>>()?
    };
    let mut recovered = 0;
    for (code, reply, at) in found {
        let visit = serde_json::from_str::<serde_json::Value>(&reply).ok().and_then(|v| v["visit"].as_u64());
        let (Some(visit), Ok(at)) = (visit, parse_ts("command_log.at", &at)) else { continue };
        record_checkin(conn, &code, visit as VisitId, at)?;
        recovered += 1;
    }
    Ok(recovered)
}

/// Marks the bookings whose check-in window has closed without a check-in as no-shows, and
/// queues their reports. Returns how many.
pub fn mark_no_shows(conn: &mut Connection, now: DateTime<Utc>, window: Window) -> Result<usize, StoreError> {
    let tx = conn.transaction()?;
    let latest_start = ts(now - chrono::Duration::seconds(window.late_s));
    let codes: Vec<String> = {
        let mut stmt = tx.prepare_cached(
            "SELECT code FROM bookings WHERE remote_status = 'booked' AND checked_in_at IS NULL \
             AND no_show_at IS NULL AND start < ?1",
        )?;
        stmt.query_map([&latest_start], |r| r.get(0))?.collect::<Result<_, _>>()?
    };
    for code in &codes {
        tx.execute("UPDATE bookings SET no_show_at = ?2 WHERE code = ?1", params![code, ts(now)])?;
        tx.execute("INSERT INTO booking_outbox (code, status, at) VALUES (?1, 'no_show', ?2)", params![code, ts(now)])?;
    }
    tx.commit()?;
    Ok(codes.len())
}

/// Forgets bookings of days before `day` (their reports stay in the outbox until delivered).
pub fn prune(conn: &Connection, day: NaiveDate) -> Result<usize, StoreError> {
    Ok(conn.execute("DELETE FROM bookings WHERE local_day < ?1", [day.to_string()])?)
}

/// A report waiting for the site's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: i64,
    pub code: String,
    pub status: String,
    pub at: String,
}

/// The oldest reports not yet acknowledged.
pub fn outbox(conn: &Connection, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, code, status, at FROM booking_outbox ORDER BY id LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok(Outgoing { id: r.get(0)?, code: r.get(1)?, status: r.get(2)?, at: r.get(3)? })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Forgets an acknowledged report.
pub fn acknowledged(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM booking_outbox WHERE id = ?1", [id])?;
    Ok(())
}

fn failed(conn: &Connection, id: i64, error: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE booking_outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// A held booking as `GET /api/v1/appointments` lists it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HeldView {
    pub code: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// `booked`, `cancelled`, `checked_in` or `no_show`, with what happened here first.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ticket: Option<VisitId>,
}

/// The bookings held for a local day.
pub fn day(conn: &Connection, day: NaiveDate) -> Result<Vec<HeldView>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT code FROM bookings WHERE local_day = ?1 ORDER BY start, code")?;
    let codes: Vec<String> = stmt.query_map([day.to_string()], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(h) = find(conn, &code)? {
            let status = if h.checked_in_at.is_some() {
                "checked_in".to_string()
            } else if h.no_show_at.is_some() {
                "no_show".to_string()
            } else {
                h.remote_status.clone()
            };
            out.push(HeldView {
                code: h.code,
                service: h.service,
                start: h.start,
                end: h.end,
                status,
                ticket: h.visit_id,
            });
        }
    }
    Ok(out)
}

/// What the HTTP handlers and the link share.
#[derive(Clone)]
pub struct Appointments {
    /// The link's own connection to the hub's database.
    pub conn: Arc<Mutex<Connection>>,
    pub window: Window,
    /// Wakes the link to send a new report at once.
    pub wake: Arc<Notify>,
}

impl Appointments {
    /// Runs `f` with the connection on a blocking thread.
    pub async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut conn)
        })
        .await
        .unwrap_or_else(|e| Err(StoreError::Corrupt { column: "task", value: e.to_string() }))
    }
}

/// Pulls and reports until the hub stops (abort the handle).
pub fn spawn_link(link: Link, branch: Arc<Branch>, shared: Appointments) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let client = match reqwest::Client::builder().timeout(Duration::from_secs(10)).build() {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "appointments link: no HTTP client");
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
            .map_err(|e| e.to_string())?;
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
        let body = serde_json::json!({"status": report.status, "at": report.at});
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
                let error = e.to_string();
                let _ = shared.with(move |c| failed(c, id, &error)).await;
                return Err(format!("{url}: {e}"));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn held(start: &str) -> Held {
        let start: DateTime<Utc> = start.parse().unwrap();
        Held {
            code: "K7M3PX9A".into(),
            service: "E".into(),
            start,
            end: start + chrono::Duration::minutes(15),
            local_day: "2026-11-23".parse().unwrap(),
            remote_status: "booked".into(),
            checked_in_at: None,
            visit_id: None,
            no_show_at: None,
        }
    }

    #[test]
    fn a_booking_is_checked_in_today_within_its_window_once() {
        let w = Window::default();
        let today: NaiveDate = "2026-11-23".parse().unwrap();
        let h = held("2026-11-23T07:00:00Z"); // 10:00 in Riyadh
        let at = |t: &str| t.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(check(Some(&h), at("2026-11-23T06:30:00Z"), today, w), Ok(()), "30 minutes early");
        assert_eq!(check(Some(&h), at("2026-11-23T07:15:00Z"), today, w), Ok(()), "15 minutes late");
        assert!(matches!(check(Some(&h), at("2026-11-23T06:29:00Z"), today, w), Err(Refusal::TooEarly { .. })));
        assert!(matches!(check(Some(&h), at("2026-11-23T07:16:00Z"), today, w), Err(Refusal::TooLate { .. })));
        let day_after = Held { local_day: "2026-11-25".parse().unwrap(), ..held("2026-11-25T07:00:00Z") };
        assert!(matches!(check(Some(&day_after), at("2026-11-23T07:00:00Z"), today, w), Err(Refusal::NotToday { .. })));
        // A slot at midnight can be checked in at 23:45 the evening before.
        let midnight = Held { local_day: "2026-11-24".parse().unwrap(), ..held("2026-11-23T21:00:00Z") };
        assert_eq!(check(Some(&midnight), at("2026-11-23T20:45:00Z"), today, w), Ok(()));
        assert_eq!(check(None, at("2026-11-23T07:00:00Z"), today, w), Err(Refusal::Unknown));
        let used = Held { checked_in_at: Some(at("2026-11-23T06:50:00Z")), visit_id: Some(4), ..h.clone() };
        assert_eq!(
            check(Some(&used), at("2026-11-23T07:00:00Z"), today, w),
            Err(Refusal::AlreadyCheckedIn { visit: Some(4) })
        );
        let cancelled = Held { remote_status: "cancelled".into(), ..h.clone() };
        assert_eq!(check(Some(&cancelled), at("2026-11-23T07:00:00Z"), today, w), Err(Refusal::Cancelled));
        assert_eq!(Refusal::Cancelled.code(), "booking_cancelled");
        assert_eq!(normalize_code(" k7m3-px9a "), Some("K7M3PX9A".into()));
        assert_eq!(normalize_code("x'; DROP"), None);
        assert_eq!(normalize_code(""), None);
    }

    #[test]
    fn pulled_bookings_keep_what_happened_here_and_reports_wait_for_acknowledgement() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = crate::store::open(&dir.path().join("dawr.db")).unwrap();
        let branch = Config::demo().branch().unwrap();
        let start: DateTime<Utc> = "2026-11-23T07:00:00Z".parse().unwrap();
        let pulled = |code: &str, status: &str| Pulled {
            code: code.into(),
            service: "E".into(),
            start,
            end: start + chrono::Duration::minutes(15),
            status: status.into(),
        };
        upsert(&mut conn, &branch, &[pulled("AAAA", "booked"), pulled("BBBB", "booked")], start).unwrap();
        record_checkin(&mut conn, "AAAA", 7, start).unwrap();
        record_checkin(&mut conn, "AAAA", 8, start).unwrap();
        // A later pull still says "booked" (the report has not reached the site): kept checked in.
        upsert(&mut conn, &branch, &[pulled("AAAA", "booked")], start).unwrap();
        let a = find(&conn, "AAAA").unwrap().unwrap();
        assert_eq!((a.visit_id, a.local_day.to_string().as_str()), (Some(7), "2026-11-23"));
        // A ticket issued for CCCC whose check-in was not recorded (a stop in between) is found.
        upsert(&mut conn, &branch, &[pulled("CCCC", "booked")], start).unwrap();
        conn.execute(
            "INSERT INTO command_log (counter, command_id, reply, at) VALUES ('#tickets', ?1, '{\"visit\":9}', ?2)",
            params![request_id("CCCC"), ts(start)],
        )
        .unwrap();
        assert_eq!(recover_checkins(&mut conn).unwrap(), 1);
        assert_eq!(recover_checkins(&mut conn).unwrap(), 0);
        assert_eq!(find(&conn, "CCCC").unwrap().unwrap().visit_id, Some(9));
        // After the window, BBBB becomes a no-show, once.
        let later = start + chrono::Duration::minutes(16);
        assert_eq!(mark_no_shows(&mut conn, later, Window::default()).unwrap(), 1);
        assert_eq!(mark_no_shows(&mut conn, later, Window::default()).unwrap(), 0);
        let queued = outbox(&conn, 10).unwrap();
        let what: Vec<_> = queued.iter().map(|o| (o.code.as_str(), o.status.as_str())).collect();
        assert_eq!(what, [("AAAA", "checked_in"), ("CCCC", "checked_in"), ("BBBB", "no_show")]);
        failed(&conn, queued[0].id, "offline").unwrap();
        assert_eq!(outbox(&conn, 10).unwrap().len(), 3, "kept until acknowledged");
        acknowledged(&conn, queued[0].id).unwrap();
        assert_eq!(outbox(&conn, 10).unwrap()[0].code, "CCCC");
        let listed = day(&conn, "2026-11-23".parse().unwrap()).unwrap();
        let statuses: Vec<_> = listed.iter().map(|h| (h.code.as_str(), h.status.as_str())).collect();
        assert_eq!(statuses, [("AAAA", "checked_in"), ("BBBB", "no_show"), ("CCCC", "checked_in")]);
        assert_eq!(prune(&conn, "2026-11-23".parse().unwrap()).unwrap(), 0);
        assert_eq!(prune(&conn, "2026-11-24".parse().unwrap()).unwrap(), 3);
        assert_eq!(outbox(&conn, 10).unwrap().len(), 2, "undelivered reports outlive their bookings");
    }
}
