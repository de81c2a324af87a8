//! `GET /metrics`: the hub's figures in Prometheus' text format (version 0.0.4), on the staff
//! listener only (the public listener's router has no such route).
//!
//! Who may read it: a client on the hub's own machine (a loopback peer), or one that sends
//! `Authorization: Bearer {token}` with the token given by `--metrics-token` /
//! `DAWR_METRICS_TOKEN`; anyone else gets 403. Without a token only loopback reads it.
//!
//! [`encode`] is the text format, pure and tested; [`gather`] reads the figures: today's
//! tickets per service from the database (`visits` by `local_day`, an indexed read), the
//! waiting line from the engine, devices and MQTT from the shared status, and the outboxes'
//! lengths.
use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use rusqlite::Connection;

use super::{AppState, ClientAddress};
use crate::engine::Request;
use dawr_protocol::device::PresenceStatus;
use dawr_web::{WebError, WebResult};

/// What kind of figure a family is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    Counter,
    Histogram,
}

/// One sample: the suffix of its name (a histogram's `_bucket`, `_sum`, `_count`; otherwise
/// empty), its labels and its value.
pub type Sample = (&'static str, Vec<(&'static str, String)>, f64);

/// One metric family: its name, help text, kind and samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: &'static str,
    pub help: &'static str,
    pub kind: Kind,
    pub samples: Vec<Sample>,
}

impl Family {
    fn new(name: &'static str, kind: Kind, help: &'static str) -> Family {
        Family { name, help, kind, samples: Vec::new() }
    }

    fn with(mut self, labels: Vec<(&'static str, String)>, value: f64) -> Family {
        self.samples.push(("", labels, value));
        self
    }

    /// A histogram without labels: its cumulative buckets (`le`, `+Inf` last), sum and count.
    fn histogram(name: &'static str, help: &'static str, figures: &crate::store::commit_latency::Snapshot) -> Family {
        let mut family = Family::new(name, Kind::Histogram, help);
        for (bound, count) in &figures.buckets {
            family.samples.push(("_bucket", vec![("le", number(*bound))], *count as f64));
        }
        family.samples.push(("_bucket", vec![("le", "+Inf".into())], figures.count as f64));
        family.samples.push(("_sum", vec![], figures.sum_seconds));
        family.samples.push(("_count", vec![], figures.count as f64));
        family
    }
}

/// The families in Prometheus' text format.
pub fn encode(families: &[Family]) -> String {
    let mut out = String::new();
    for family in families {
        let kind = match family.kind {
            Kind::Gauge => "gauge",
            Kind::Counter => "counter",
            Kind::Histogram => "histogram",
        };
        let _ = writeln!(out, "# HELP {} {}", family.name, family.help.replace('\\', "\\\\").replace('\n', "\\n"));
        let _ = writeln!(out, "# TYPE {} {kind}", family.name);
        for (suffix, labels, value) in &family.samples {
            out.push_str(family.name);
            out.push_str(suffix);
            if !labels.is_empty() {
                let pairs: Vec<String> = labels.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
                let _ = write!(out, "{{{}}}", pairs.join(","));
            }
            let _ = writeln!(out, " {}", number(*value));
        }
    }
    out
}

/// A label value with `\`, `"` and newlines escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// A sample value: integers without a decimal point, `NaN` and infinities as Prometheus writes them.
fn number(value: f64) -> String {
    if value.is_nan() {
        "NaN".into()
    } else if value.is_infinite() {
        if value > 0.0 { "+Inf".into() } else { "-Inf".into() }
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        format!("{}", value as i64)
    } else {
        format!("{value}")
    }
}

/// Whether this request may read the figures: a loopback peer, or the bearer of the token.
pub fn allowed(peer: Option<std::net::IpAddr>, authorization: Option<&str>, token: Option<&str>) -> bool {
    if peer.is_some_and(|ip| ip.is_loopback()) {
        return true;
    }
    match (token, authorization.and_then(|a| a.strip_prefix("Bearer "))) {
        (Some(token), Some(given)) => {
            use sha2::Digest;
            // Compared as digests, so the time taken does not tell how much of it matched.
            sha2::Sha256::digest(token.as_bytes()) == sha2::Sha256::digest(given.trim().as_bytes())
        }
        _ => false,
    }
}

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    ClientAddress(peer): ClientAddress,
    headers: HeaderMap,
) -> Response {
    let authorization = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    if !allowed(peer, authorization, state.metrics_token.as_deref()) {
        let refused = WebError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "/metrics is read from the hub's own machine or with the metrics token",
        );
        return refused.into_response();
    }
    match gather(&state).await {
        Ok(families) => {
            ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], encode(&families)).into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// Today's tickets of one service, from the database.
#[derive(Debug, Default, Clone, PartialEq)]
struct Today {
    issued: i64,
    called: i64,
    served: i64,
    no_shows: i64,
    within_target: i64,
}

/// Per service: tickets issued today, called, served (done), no-shows, and called within the
/// service's target wait.
fn today(conn: &Connection, day: &str, targets: &[(String, u32)]) -> rusqlite::Result<Vec<(String, Today)>> {
    let mut statement = conn.prepare_cached(
        "SELECT service, count(*), count(called_at), sum(status = 'done'), sum(status = 'no_show'), \
         group_concat(CASE WHEN called_at IS NOT NULL THEN \
             CAST((julianday(called_at) - julianday(issued_at)) * 86400 AS INTEGER) END) \
         FROM visits WHERE local_day = ?1 GROUP BY service",
    )?;
    let rows = statement.query_map([day], |r| {
        let service: String = r.get(0)?;
        let waits: Option<String> = r.get(5)?;
        let target = targets.iter().find(|(code, _)| *code == service).map_or(u32::MAX, |(_, t)| *t);
        let within_target = waits
            .unwrap_or_default()
            .split(',')
            .filter_map(|w| w.parse::<i64>().ok())
            .filter(|w| *w <= i64::from(target))
            .count() as i64;
        let today = Today {
            issued: r.get(1)?,
            called: r.get(2)?,
            served: r.get::<_, Option<i64>>(3)?.unwrap_or(0),
            no_shows: r.get::<_, Option<i64>>(4)?.unwrap_or(0),
            within_target,
        };
        Ok((service, today))
    })?;
    rows.collect()
}

/// The outboxes' lengths: CRM events undelivered, booking reports unsent, SMS unsent.
fn outboxes(conn: &Connection) -> rusqlite::Result<[(&'static str, i64); 3]> {
    let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0));
    Ok([
        ("crm", count("SELECT count(*) FROM crm_outbox WHERE delivered_at IS NULL")?),
        ("bookings", count("SELECT count(*) FROM booking_outbox")?),
        ("sms", count("SELECT count(*) FROM sms_outbox WHERE state IN ('queued', 'sending')")?),
    ])
}

/// Every figure, read now.
async fn gather(state: &AppState) -> WebResult<Vec<Family>> {
    let branch = state.branch();
    let now = crate::clock::now();
    let day =
        (now + chrono::Duration::seconds(i64::from(branch.utc_offset.local_minus_utc()))).date_naive().to_string();
    let targets: Vec<(String, u32)> = branch.services.iter().map(|s| (s.code.clone(), s.target_wait_s)).collect();
    let (per_service, outbox) =
        state.db.read(move |conn| Ok::<_, rusqlite::Error>((today(conn, &day, &targets)?, outboxes(conn)?))).await??;
    let waiting = state.engine.ask(|reply| Request::Waiting { counter: None, reply }).await??;

    let label = |code: &str| vec![("service", code.to_string())];
    let mut issued =
        Family::new("dawr_tickets_issued_today", Kind::Gauge, "Tickets issued today (local day), per service.");
    let mut called = Family::new("dawr_tickets_called_today", Kind::Gauge, "Tickets called today, per service.");
    let mut served =
        Family::new("dawr_tickets_served_today", Kind::Gauge, "Tickets served to the end today, per service.");
    let mut no_shows = Family::new(
        "dawr_tickets_no_show_today",
        Kind::Gauge,
        "Tickets called today whose visitor did not come, per service.",
    );
    let mut sla = Family::new(
        "dawr_sla_within_target_ratio",
        Kind::Gauge,
        "Share of today's called tickets called within the service's target wait.",
    );
    let mut now_waiting = Family::new("dawr_waiting", Kind::Gauge, "Tickets waiting now, per service.");
    let mut longest = Family::new(
        "dawr_longest_wait_seconds",
        Kind::Gauge,
        "How long the longest-waiting ticket has waited, per service.",
    );
    for service in &branch.services {
        let t = per_service.iter().find(|(code, _)| *code == service.code).map(|(_, t)| t.clone()).unwrap_or_default();
        issued = issued.with(label(&service.code), t.issued as f64);
        called = called.with(label(&service.code), t.called as f64);
        served = served.with(label(&service.code), t.served as f64);
        no_shows = no_shows.with(label(&service.code), t.no_shows as f64);
        let share = if t.called == 0 { 1.0 } else { t.within_target as f64 / t.called as f64 };
        sla = sla.with(label(&service.code), share);
        let line: Vec<&dawr_protocol::api::Ticket> = waiting.iter().filter(|w| w.service == service.code).collect();
        now_waiting = now_waiting.with(label(&service.code), line.len() as f64);
        let oldest = line.iter().map(|w| (now - w.issued_at).num_seconds().max(0)).max().unwrap_or(0);
        longest = longest.with(label(&service.code), oldest as f64);
    }
    let presence = state.mqtt.presence.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let online = presence.values().filter(|(p, _)| p.status == PresenceStatus::Online).count();
    let enrolled = state.devices.table().len();
    let mut outboxes =
        Family::new("dawr_outbox_length", Kind::Gauge, "Messages waiting to go out, per outbox (crm, bookings, sms).");
    for (name, length) in outbox {
        outboxes = outboxes.with(vec![("outbox", name.to_string())], length as f64);
    }
    let connected = state.mqtt.connected.load(std::sync::atomic::Ordering::Acquire);
    Ok(vec![
        Family::new("dawr_build_info", Kind::Gauge, "The hub's version.")
            .with(vec![("version", env!("CARGO_PKG_VERSION").to_string()), ("branch", branch.id.clone())], 1.0),
        issued,
        called,
        served,
        no_shows,
        sla,
        now_waiting,
        longest,
        Family::new("dawr_mqtt_connected", Kind::Gauge, "1 when the hub's MQTT client holds its subscriptions.")
            .with(vec![], if connected { 1.0 } else { 0.0 }),
        Family::new("dawr_mqtt_clients_online", Kind::Gauge, "Devices whose last presence on MQTT says online.")
            .with(vec![], online as f64),
        Family::new("dawr_devices_offline", Kind::Gauge, "Enrolled devices not online on MQTT now.")
            .with(vec![], enrolled.saturating_sub(online) as f64),
        Family::new(
            "dawr_mqtt_messages_total",
            Kind::Counter,
            "MQTT messages the hub's client received (in) and sent (out) since it started.",
        )
        .with(
            vec![("direction", "in".into())],
            state.mqtt.messages_in.load(std::sync::atomic::Ordering::Relaxed) as f64,
        )
        .with(
            vec![("direction", "out".into())],
            state.mqtt.messages_out.load(std::sync::atomic::Ordering::Relaxed) as f64,
        ),
        outboxes,
        Family::histogram(
            "dawr_store_commit_seconds",
            "Time the writer took per transaction, from BEGIN to a durable COMMIT (fsync included).",
            &state.commit_latency.snapshot(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_written_in_the_text_format_with_escaped_labels() {
        let families = [
            Family::new("dawr_waiting", Kind::Gauge, "Tickets waiting now.")
                .with(vec![("service", "A".into())], 3.0)
                .with(vec![("service", "q\"\\\n".into())], 0.5),
            Family::new("dawr_up_total", Kind::Counter, "Help with \\ and\nnewline.").with(vec![], f64::NAN),
        ];
        assert_eq!(
            encode(&families),
            "# HELP dawr_waiting Tickets waiting now.\n# TYPE dawr_waiting gauge\ndawr_waiting{service=\"A\"} 3\n\
             dawr_waiting{service=\"q\\\"\\\\\\n\"} 0.5\n# HELP dawr_up_total Help with \\\\ and\\nnewline.\n\
             # TYPE dawr_up_total counter\ndawr_up_total NaN\n"
        );
        assert_eq!(
            (number(f64::INFINITY), number(-2.0), number(1e20)),
            ("+Inf".into(), "-2".into(), "100000000000000000000".into())
        );
    }

    #[test]
    fn a_histogram_is_written_with_cumulative_buckets_an_inf_bucket_its_sum_and_count() {
        let latency = crate::store::CommitLatency::default();
        latency.observe(std::time::Duration::from_micros(300));
        latency.observe(std::time::Duration::from_millis(7));
        latency.observe(std::time::Duration::from_secs(3));
        let text = encode(&[Family::histogram("dawr_store_commit_seconds", "Commits.", &latency.snapshot())]);
        let expected = "# HELP dawr_store_commit_seconds Commits.\n# TYPE dawr_store_commit_seconds histogram\n\
            dawr_store_commit_seconds_bucket{le=\"0.0005\"} 1\ndawr_store_commit_seconds_bucket{le=\"0.001\"} 1\n\
            dawr_store_commit_seconds_bucket{le=\"0.0025\"} 1\ndawr_store_commit_seconds_bucket{le=\"0.005\"} 1\n\
            dawr_store_commit_seconds_bucket{le=\"0.01\"} 2\ndawr_store_commit_seconds_bucket{le=\"0.025\"} 2\n\
            dawr_store_commit_seconds_bucket{le=\"0.05\"} 2\ndawr_store_commit_seconds_bucket{le=\"0.1\"} 2\n\
            dawr_store_commit_seconds_bucket{le=\"0.25\"} 2\ndawr_store_commit_seconds_bucket{le=\"0.5\"} 2\n\
            dawr_store_commit_seconds_bucket{le=\"1\"} 2\ndawr_store_commit_seconds_bucket{le=\"+Inf\"} 3\n\
            dawr_store_commit_seconds_sum 3.0073\ndawr_store_commit_seconds_count 3\n";
        assert_eq!(text, expected);
    }

    #[test]
    fn only_loopback_or_the_token_reads_the_figures() {
        let lan: std::net::IpAddr = "10.0.0.7".parse().unwrap();
        let local: std::net::IpAddr = "127.0.0.1".parse().unwrap();
        assert!(allowed(Some(local), None, None));
        assert!(allowed(Some("::1".parse().unwrap()), None, None));
        assert!(!allowed(Some(lan), None, None), "denied by default");
        assert!(!allowed(Some(lan), Some("Bearer s3cret"), None), "no token set: loopback only");
        assert!(allowed(Some(lan), Some("Bearer s3cret"), Some("s3cret")));
        assert!(!allowed(Some(lan), Some("Bearer wrong"), Some("s3cret")));
        assert!(!allowed(Some(lan), Some("s3cret"), Some("s3cret")), "a bearer token");
        assert!(!allowed(None, None, Some("s3cret")));
    }

    #[test]
    fn todays_tickets_are_counted_per_service_with_the_share_called_within_target() {
        let dir = tempfile::tempdir().unwrap();
        let conn = crate::store::open(&dir.path().join("m.db")).unwrap();
        let visit = |id: i64, service: &str, status: &str, called: Option<&str>| {
            conn.execute(
                "INSERT INTO visits (id, number, local_day, service, priority, source, status, case_ref, token, \
                 issued_at, called_at, recalls, transfers) \
                 VALUES (?1, ?1, '2026-11-28', ?2, 'normal', 'kiosk', ?3, ?1, ?1, '2026-11-28T06:00:00.000Z', ?4, 0, 0)",
                rusqlite::params![id, service, status, called],
            )
            .unwrap();
        };
        visit(1, "A", "done", Some("2026-11-28T06:05:00.000Z"));
        visit(2, "A", "no_show", Some("2026-11-28T06:20:00.000Z"));
        visit(3, "A", "waiting", None);
        visit(4, "B", "cancelled", None);
        let rows = today(&conn, "2026-11-28", &[("A".into(), 600)]).unwrap();
        let a = Today { issued: 3, called: 2, served: 1, no_shows: 1, within_target: 1 };
        assert_eq!(rows, vec![("A".into(), a), ("B".into(), Today { issued: 1, ..Today::default() })]);
        assert!(today(&conn, "2026-11-29", &[]).unwrap().is_empty());
        assert_eq!(outboxes(&conn).unwrap().map(|(_, n)| n), [0, 0, 0]);
    }
}
