//! Made-up branch history for checking and measuring the reports: visits with their events,
//! written straight into a hub database, and the truth about each visit kept beside them so a
//! test can work out every figure on its own. Seeded: the same seed gives the same history.
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Utc, Weekday};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, params};

use crate::store::ts;

/// What really happened to one made-up visit.
#[derive(Debug, Clone, PartialEq)]
pub struct Truth {
    pub service: &'static str,
    pub local_day: NaiveDate,
    pub issued_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    /// Start and end of service, for a served visit.
    pub served: Option<(DateTime<Utc>, DateTime<Utc>)>,
    pub no_show: bool,
    pub cancelled: bool,
    /// When a visitor never called left (cancelled, or turned away at closing).
    pub left_at: Option<DateTime<Utc>>,
    pub counter: Option<String>,
    pub rating: Option<(u8, Option<&'static str>)>,
    /// The outcome of a served visit: `resolved`, `follow_up` or `referred`.
    pub outcome: Option<&'static str>,
    /// The staff member signed in at the counter (`s10N` at counter N).
    pub staff: Option<String>,
    /// When staff closed the case (a follow-up, referral or escalation), if they did.
    pub closed_at: Option<DateTime<Utc>>,
    /// The visitor's second rating, of how the closed case was resolved.
    pub resolution_rating: Option<u8>,
    /// The category staff gave the real case, if they did.
    pub category: Option<&'static str>,
}

pub const SERVICES: [&str; 6] = ["A", "B", "C", "D", "E", "F"];

/// The reasons visitors give for a low rating (or none), the first more often.
pub const REASONS: [Option<&str>; 6] = [
    Some("waited_too_long"),
    Some("waited_too_long"),
    Some("not_resolved"),
    Some("staff_conduct"),
    Some("unclear_procedure"),
    None,
];

/// The categories staff give real cases.
pub const CATEGORIES: [&str; 4] = ["استفسار عن معاملة", "نقص مستندات", "شكوى على موظف", "خلل في النظام"];

/// Who signs in at each counter on a working day, as (counter, staff, minutes after opening at
/// 08:00 signed in, minutes signed out): `s10N` at counter N, 07:55 to 14:05. One day in four a
/// counter's staff member is absent; one day in three one comes an hour late; one day in
/// 37 only counters 1–3 are staffed.
pub fn staff_of(day: NaiveDate) -> Vec<(String, String, i64, i64)> {
    let n = day.ordinal();
    let absent = n.is_multiple_of(4).then_some((n * 3) % 8 + 1);
    let late = (n % 3 == 1).then_some(n % 8 + 1);
    let last = if n.is_multiple_of(37) { 3 } else { 8 };
    (1..=last)
        .filter(|c| Some(*c) != absent)
        .map(|c| (c.to_string(), format!("s10{c}"), if Some(c) == late { 60 } else { -5 }, 6 * 60 + 5))
        .collect()
}

/// The pauses of a working day: each counter staffed pauses for Dhuhr 12:00–12:20, and one of
/// them (it changes with the day) takes a break 10:00–10:15. As (counter, reason, minutes after
/// opening at 08:00, minutes long).
pub fn pauses_of(day: NaiveDate) -> Vec<(String, &'static str, i64, i64)> {
    let staffed: Vec<String> = staff_of(day).into_iter().map(|(c, ..)| c).collect();
    let mut pauses: Vec<(String, &'static str, i64, i64)> =
        staffed.iter().map(|c| (c.clone(), "prayer", 4 * 60, 20)).collect();
    pauses.push((staffed[day.ordinal() as usize % staffed.len()].clone(), "break", 2 * 60, 15));
    pauses
}

/// Writes `per_day` visits for each working day (Sunday to Thursday) from `from` to `to`, at a
/// UTC+3 branch open 08:00–14:00 (staff signing in and out as [`staff_of`] says, in the audit
/// log, with the pauses of [`pauses_of`]): 3 % cancelled while waiting, about 2 % turned away
/// uncalled at closing, 5 % no-shows, the rest served by the staff member of a counter signed in
/// by the call (`s10N` at counter N), 8 % of those left as follow-ups and 2 % referred, 30 %
/// rated (1–2 with one of [`REASONS`]). The real cases — follow-ups, referrals and low ratings —
/// get one of [`CATEGORIES`] from staff 70 % of the time, and are closed (`case_notes`) 85 % of
/// the time, 1 to 150 hours later (so some close in a later month), half of those with a rating
/// after resolution. Returns the truth, in visit id order.
pub fn write(
    conn: &mut Connection,
    seed: u64,
    from: NaiveDate,
    to: NaiveDate,
    per_day: u32,
) -> rusqlite::Result<Vec<Truth>> {
    let offset = FixedOffset::east_opt(3 * 3600).expect("a valid offset");
    let mut rng = SmallRng::seed_from_u64(seed);
    let tx = conn.transaction()?;
    let (mut visit_id, mut seq) = (0i64, 0i64);
    let mut truths = Vec::new();
    let mut day = from;
    while day <= to {
        if matches!(day.weekday(), Weekday::Fri | Weekday::Sat) {
            day = day.succ_opt().expect("a next day");
            continue;
        }
        let opening =
            offset.from_local_datetime(&day.and_hms_opt(8, 0, 0).expect("valid")).unwrap().with_timezone(&Utc);
        let on_duty = staff_of(day);
        for (counter, who, signed_in, signed_out) in &on_duty {
            for (minutes, action) in [(signed_in, "sign_in"), (signed_out, "sign_out")] {
                tx.prepare_cached("INSERT INTO audit_log (at, actor, action, subject) VALUES (?1, ?2, ?3, ?4)")?
                    .execute(params![ts(opening + chrono::Duration::minutes(*minutes)), who, action, counter])?;
            }
        }
        for (counter, reason, from_min, minutes) in pauses_of(day) {
            for (at, kind, payload) in [
                (from_min, "counter_paused", format!(r#"{{"counter":"{counter}","reason":"{reason}"}}"#)),
                (from_min + minutes, "counter_resumed", format!(r#"{{"counter":"{counter}"}}"#)),
            ] {
                seq += 1;
                tx.prepare_cached(
                    "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, ?2, ?3, NULL, ?4, ?5)",
                )?
                .execute(params![
                    seq,
                    ts(opening + chrono::Duration::minutes(at)),
                    kind,
                    counter,
                    payload
                ])?;
            }
        }
        for n in 0..per_day {
            visit_id += 1;
            let service = SERVICES[rng.random_range(0..SERVICES.len())];
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
            let pick: usize = rng.random_range(0..840);
            let mut event = |at: DateTime<Utc>, kind: &str, counter: Option<&str>, payload: String| {
                seq += 1;
                tx.prepare_cached(
                    "INSERT INTO events (seq, at, kind, visit_id, counter, payload) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut s| s.execute(params![seq, ts(at), kind, visit_id, counter, payload]))
            };
            let mut truth = Truth {
                service,
                local_day: day,
                issued_at: issued,
                called_at: None,
                served: None,
                no_show: false,
                cancelled: false,
                left_at: None,
                counter: None,
                rating: None,
                outcome: None,
                staff: None,
                closed_at: None,
                resolution_rating: None,
                category: None,
            };
            event(issued, "issued", None, "{}".into())?;
            let roll: f64 = rng.random();
            if roll < 0.03 {
                event(issued + chrono::Duration::minutes(5), "cancelled", None, "{}".into())?;
                truth.cancelled = true;
                truth.left_at = Some(issued + chrono::Duration::minutes(5));
                truths.push(truth);
                continue;
            }
            if rng.random_bool(0.02) {
                let closing = opening + chrono::Duration::hours(6);
                event(closing, "cancelled", None, r#"{"reason":"day_closed"}"#.into())?;
                truth.cancelled = true;
                truth.left_at = Some(closing);
                truths.push(truth);
                continue;
            }
            let called = issued + chrono::Duration::seconds(rng.random_range(0..1800));
            let at_work: Vec<&String> = on_duty
                .iter()
                .filter(|(_, _, from, _)| opening + chrono::Duration::minutes(*from) <= called)
                .map(|(c, ..)| c)
                .collect();
            let counter = match at_work.is_empty() {
                true => on_duty[pick % on_duty.len()].0.clone(),
                false => at_work[pick % at_work.len()].clone(),
            };
            event(called, "called", Some(&counter), "{}".into())?;
            truth.called_at = Some(called);
            truth.counter = Some(counter.clone());
            if roll < 0.08 {
                event(called + chrono::Duration::minutes(3), "no_show", Some(&counter), "{}".into())?;
                truth.no_show = true;
                truths.push(truth);
                continue;
            }
            let start = called + chrono::Duration::seconds(rng.random_range(20..120));
            let end = start + chrono::Duration::seconds(rng.random_range(120..900));
            event(start, "started", Some(&counter), "{}".into())?;
            let outcome = match rng.random_range(0..100) {
                0..8 => "follow_up",
                8..10 => "referred",
                _ => "resolved",
            };
            let staff = format!("s10{counter}");
            event(end, "completed", Some(&counter), format!(r#"{{"outcome":"{outcome}","staff":"{staff}"}}"#))?;
            truth.served = Some((start, end));
            truth.outcome = Some(outcome);
            truth.staff = Some(staff);
            if rng.random_bool(0.3) {
                let score: u8 = rng.random_range(1..=5);
                let reason = if score <= 2 { REASONS[rng.random_range(0..REASONS.len())] } else { None };
                let extra = reason.map(|r| format!(r#","reason":"{r}""#)).unwrap_or_default();
                event(
                    end + chrono::Duration::minutes(1),
                    "rated",
                    Some(&counter),
                    format!(r#"{{"score":{score}{extra}}}"#),
                )?;
                truth.rating = Some((score, reason));
            }
            let real_case = outcome != "resolved" || truth.rating.is_some_and(|(score, _)| score <= 2);
            if real_case {
                let category = rng.random_bool(0.7).then(|| CATEGORIES[rng.random_range(0..CATEGORIES.len())]);
                if rng.random_bool(0.85) {
                    let closed = end + chrono::Duration::minutes(rng.random_range(60..150 * 60));
                    let resolution = rng.random_bool(0.5).then(|| rng.random_range(1..=5u8));
                    tx.prepare_cached(
                        "INSERT INTO case_notes (case_ref, category, closed_at, closed_by, resolution_rating,
                             updated_at, updated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?3, ?4)",
                    )?
                    .execute(params![
                        format!("DMM-{visit_id}"),
                        category,
                        ts(closed),
                        truth.staff,
                        resolution
                    ])?;
                    truth.closed_at = Some(closed);
                    truth.resolution_rating = resolution;
                } else if let Some(category) = category {
                    tx.prepare_cached(
                        "INSERT INTO case_notes (case_ref, category, updated_at, updated_by) VALUES (?1, ?2, ?3, ?4)",
                    )?
                    .execute(params![
                        format!("DMM-{visit_id}"),
                        category,
                        ts(end),
                        truth.staff
                    ])?;
                }
                truth.category = category;
            }
            truths.push(truth);
        }
        day = day.succ_opt().expect("a next day");
    }
    tx.commit()?;
    Ok(truths)
}
