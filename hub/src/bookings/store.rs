//! The bookings' SQL, and the only part of the link that touches the database: the `bookings`
//! held from the site (what the site says and what happened here: check-in, no-show) and the
//! `booking_outbox` of reports waiting for the site's acknowledgement.
use chrono::{DateTime, NaiveDate, Utc};
use dawr_protocol::api::bookings::BookingStatus;
use dawr_protocol::api::closures::DayClosure;
use rusqlite::{Connection, OptionalExtension, params};

use super::{Held, HeldView, Pulled, Window};
use crate::domain::{Branch, VisitId};
use crate::reports::AppointmentFigures;
use crate::store::{IssuedRequest, StoreError, ts};

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
        remote_status: remote_status
            .parse()
            .map_err(|_| StoreError::Corrupt { column: "remote_status", value: remote_status.clone() })?,
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
            stmt.execute(params![
                b.code,
                b.service,
                ts(b.start),
                ts(b.end),
                day.to_string(),
                b.status.as_str(),
                ts(now)
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Holds a booking known only from its verified token (see `checkin::held_from_token`), unless
/// the booking is held already: it then counts once, as the pulled booking. A later pull
/// replaces what the token said with what the site says and keeps the check-in (`pulled_at` is
/// when the token was first presented until then).
pub fn hold_signed(conn: &Connection, held: &Held, now: DateTime<Utc>) -> Result<(), StoreError> {
    conn.execute(
        "INSERT INTO bookings (code, service, start, end_at, local_day, remote_status, pulled_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, 'booked', ?6) ON CONFLICT (code) DO NOTHING",
        params![held.code, held.service, ts(held.start), ts(held.end), held.local_day.to_string(), ts(now)],
    )?;
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
        let issued = serde_json::from_str::<IssuedRequest>(&reply).ok();
        let (Some(issued), Ok(at)) = (issued, parse_ts("command_log.at", &at)) else { continue };
        record_checkin(conn, &code, issued.visit, at)?;
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

/// Forgets bookings of days before `day` that came to nothing here (neither checked in nor a
/// no-show: the reports count those, see [`figures`]). Their reports stay in the outbox until
/// delivered.
pub fn prune(conn: &Connection, day: NaiveDate) -> Result<usize, StoreError> {
    Ok(conn.execute(
        "DELETE FROM bookings WHERE local_day < ?1 AND checked_in_at IS NULL AND no_show_at IS NULL",
        [day.to_string()],
    )?)
}

/// How many bookings of local days `from..=to` (of `service`, if given) were checked in here,
/// and how many became no-shows.
pub fn figures(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    service: Option<&str>,
) -> Result<AppointmentFigures, StoreError> {
    let (checked_in, no_shows) = conn.query_row(
        "SELECT COUNT(checked_in_at), COALESCE(SUM(no_show_at IS NOT NULL AND checked_in_at IS NULL), 0) \
         FROM bookings \
         WHERE local_day BETWEEN ?1 AND ?2 AND (?3 IS NULL OR service = ?3)",
        params![from.to_string(), to.to_string(), service],
        |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)),
    )?;
    Ok(AppointmentFigures { checked_in: checked_in as usize, no_shows: no_shows as usize })
}

/// A report waiting for the site's acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: i64,
    pub code: String,
    /// `checked_in` or `no_show`.
    pub status: BookingStatus,
    pub at: DateTime<Utc>,
}

/// The oldest reports not yet acknowledged.
pub fn outbox(conn: &Connection, limit: usize) -> Result<Vec<Outgoing>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT id, code, status, at FROM booking_outbox ORDER BY id LIMIT ?1")?;
    let rows = stmt.query_map([limit as i64], |r| {
        Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, String>(3)?))
    })?;
    let mut out = Vec::new();
    for (id, code, status, at) in rows.collect::<Result<Vec<_>, _>>()? {
        let status =
            status.parse().map_err(|_| StoreError::Corrupt { column: "booking_outbox.status", value: status })?;
        out.push(Outgoing { id, code, status, at: parse_ts("booking_outbox.at", &at)? });
    }
    Ok(out)
}

/// Forgets an acknowledged report.
pub fn acknowledged(conn: &Connection, id: i64) -> Result<(), StoreError> {
    conn.execute("DELETE FROM booking_outbox WHERE id = ?1", [id])?;
    Ok(())
}

/// The days closed from `from` on (`day_closures`, written with the cancellations they caused),
/// soonest first.
pub fn closures_from(conn: &Connection, from: NaiveDate) -> Result<Vec<DayClosure>, StoreError> {
    let mut stmt = conn.prepare_cached(
        "SELECT local_day, service, closed_by, closed_at, site_told_at FROM day_closures
         WHERE local_day >= ?1 ORDER BY local_day, service",
    )?;
    let rows = stmt.query_map([from.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, Option<String>>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for (day, service, closed_by, closed_at, told) in rows.collect::<Result<Vec<_>, _>>()? {
        out.push(DayClosure {
            day: day.parse().map_err(|_| StoreError::Corrupt { column: "day_closures.local_day", value: day })?,
            service: (!service.is_empty()).then_some(service),
            closed_by,
            closed_at: parse_ts("day_closures.closed_at", &closed_at)?,
            site_told_at: told.map(|t| parse_ts("day_closures.site_told_at", &t)).transpose()?,
        });
    }
    Ok(out)
}

/// Closed days from `from` on that the appointments site has not confirmed yet.
pub fn untold_closures(conn: &Connection, from: NaiveDate) -> Result<Vec<DayClosure>, StoreError> {
    Ok(closures_from(conn, from)?.into_iter().filter(|c| c.site_told_at.is_none()).collect())
}

/// The site confirmed a closed day.
pub fn closure_told(conn: &Connection, closure: &DayClosure, at: DateTime<Utc>) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE day_closures SET site_told_at = ?3 WHERE local_day = ?1 AND service = ?2 AND site_told_at IS NULL",
        params![closure.day.to_string(), closure.service.as_deref().unwrap_or(""), ts(at)],
    )?;
    Ok(())
}

/// Notes a failed delivery (kept for the next attempt).
pub(super) fn failed(conn: &Connection, id: i64, error: &str) -> Result<(), StoreError> {
    conn.execute(
        "UPDATE booking_outbox SET attempts = attempts + 1, last_error = ?2 WHERE id = ?1",
        params![id, error],
    )?;
    Ok(())
}

/// The bookings held for a local day.
pub fn day(conn: &Connection, day: NaiveDate) -> Result<Vec<HeldView>, StoreError> {
    let mut stmt = conn.prepare_cached("SELECT code FROM bookings WHERE local_day = ?1 ORDER BY start, code")?;
    let codes: Vec<String> = stmt.query_map([day.to_string()], |r| r.get(0))?.collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(codes.len());
    for code in codes {
        if let Some(h) = find(conn, &code)? {
            out.push(HeldView::from(h));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bookings::request_id;
    use crate::config::Config;

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
            status: status.parse().unwrap(),
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
        let (day, service) = ("2026-11-23".parse().unwrap(), Some("E"));
        let counted = AppointmentFigures { checked_in: 2, no_shows: 1 };
        assert_eq!(figures(&conn, day, day, None).unwrap(), counted);
        assert_eq!(figures(&conn, day, day, service).unwrap(), counted);
        assert_eq!(figures(&conn, day, day, Some("A")).unwrap(), AppointmentFigures::default());
        upsert(&mut conn, &branch, &[pulled("DDDD", "cancelled")], start).unwrap();
        assert_eq!(prune(&conn, "2026-11-24".parse().unwrap()).unwrap(), 1, "only what came to nothing");
        assert_eq!(figures(&conn, day, day, None).unwrap(), counted, "what the reports count is kept");
        assert_eq!(outbox(&conn, 10).unwrap().len(), 2, "undelivered reports outlive their bookings");
        // A booking known from its token is held once; a held one is not replaced by a token.
        let signed = Held { code: "EEEE".into(), local_day: day, ..find(&conn, "AAAA").unwrap().unwrap() };
        hold_signed(&conn, &Held { checked_in_at: None, visit_id: None, ..signed.clone() }, start).unwrap();
        hold_signed(&conn, &Held { service: "A".into(), ..signed.clone() }, start).unwrap();
        let held = find(&conn, "EEEE").unwrap().unwrap();
        assert_eq!((held.service.as_str(), held.checked_in_at, held.remote_status), ("E", None, BookingStatus::Booked));
        record_checkin(&mut conn, "EEEE", 11, start).unwrap();
        upsert(&mut conn, &branch, &[pulled("EEEE", "booked")], start).unwrap();
        assert_eq!(find(&conn, "EEEE").unwrap().unwrap().visit_id, Some(11), "the pull keeps the check-in");
    }
}
