//! The SMS in the monthly report: how many messages and parts the hub handed to its gateway in
//! each calendar month (local time), by kind, and what they cost at `[sms] price_per_part`.
//! `rows` is the SQL; `figures` is pure.
use chrono::{DateTime, FixedOffset, NaiveDate, Utc};
use dawr_protocol::api::reports::{SmsFigures, SmsKindFigures, SmsMonth};
use rusqlite::{Connection, params};

use crate::reports::summary::months_in;
use crate::store::ts;

/// What one SMS part costs (`[sms] price_per_part`, `[sms] currency`).
#[derive(Debug, Clone, PartialEq)]
pub struct Price {
    pub per_part: f64,
    pub currency: String,
}

impl Default for Price {
    fn default() -> Self {
        Price { per_part: 0.0, currency: "SAR".into() }
    }
}

/// One message handed to the gateway: when it was put in, its kind, its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRow {
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub parts: u32,
}

/// The messages put in between `start` and `end` that a gateway took (they have parts).
pub fn rows(conn: &Connection, start: DateTime<Utc>, end: DateTime<Utc>) -> rusqlite::Result<Vec<SentRow>> {
    conn.prepare_cached(
        "SELECT created_at, kind, parts FROM sms_outbox
         WHERE created_at >= ?1 AND created_at < ?2 AND parts IS NOT NULL ORDER BY id",
    )?
    .query_map(params![ts(start), ts(end)], |r| {
        let at: String = r.get(0)?;
        Ok(SentRow {
            created_at: dawr_web::db::parse_ts("created_at", &at).unwrap_or_default(),
            kind: r.get(1)?,
            parts: r.get::<_, i64>(2)?.max(0) as u32,
        })
    })?
    .collect()
}

/// The report's kind of an outbox kind: `code`, `near`, `called`, `reminder` or `other`.
pub fn report_kind(kind: &str) -> &'static str {
    match kind {
        "otp" | "code" => "code",
        "near" => "near",
        "called" => "called",
        "reminder" | "reminder_day" | "reminder_hour" => "reminder",
        _ => "other",
    }
}

/// The order kinds are listed in.
const KINDS: [&str; 5] = ["code", "near", "called", "reminder", "other"];

fn cost(parts: usize, price: &Price) -> f64 {
    (parts as f64 * price.per_part * 100.0).round() / 100.0
}

/// Each month of `from..=to` (local days at `offset`) with its messages, parts and cost by kind.
pub fn figures(rows: &[SentRow], from: NaiveDate, to: NaiveDate, offset: FixedOffset, price: &Price) -> SmsFigures {
    let months = months_in(from, to)
        .into_iter()
        .map(|(start, end)| {
            let in_month: Vec<&SentRow> = rows
                .iter()
                .filter(|r| (start..=end).contains(&r.created_at.with_timezone(&offset).date_naive()))
                .collect();
            let kinds: Vec<SmsKindFigures> = KINDS
                .iter()
                .filter_map(|kind| {
                    let of_kind: Vec<&&SentRow> = in_month.iter().filter(|r| report_kind(&r.kind) == *kind).collect();
                    let parts: usize = of_kind.iter().map(|r| r.parts as usize).sum();
                    (!of_kind.is_empty()).then(|| SmsKindFigures {
                        kind: kind.to_string(),
                        messages: of_kind.len(),
                        parts,
                        cost: cost(parts, price),
                    })
                })
                .collect();
            let parts = kinds.iter().map(|k| k.parts).sum();
            SmsMonth { month: start, messages: in_month.len(), parts, cost: cost(parts, price), kinds }
        })
        .collect();
    SmsFigures { price_per_part: price.per_part, currency: price.currency.clone(), months }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_parts_are_counted_per_local_month_and_kind_and_priced() {
        let offset = FixedOffset::east_opt(3 * 3600).unwrap();
        let row = |at: &str, kind: &str, parts| SentRow { created_at: at.parse().unwrap(), kind: kind.into(), parts };
        let rows = [
            row("2026-10-31T20:59:00Z", "near", 1), // 23:59 local: October
            row("2026-10-31T21:00:00Z", "near", 2), // 00:00 local: November
            row("2026-11-02T08:00:00Z", "called", 1),
            row("2026-11-03T08:00:00Z", "otp", 1),
            row("2026-11-03T09:00:00Z", "test", 3),
            row("2026-11-04T09:00:00Z", "near", 1),
        ];
        let price = Price { per_part: 0.05, currency: "SAR".into() };
        let day = |d: &str| d.parse::<NaiveDate>().unwrap();
        let report = figures(&rows, day("2026-10-15"), day("2026-11-30"), offset, &price);
        assert_eq!(report.months.len(), 2);
        let (october, november) = (&report.months[0], &report.months[1]);
        assert_eq!((october.month, october.messages, october.parts), (day("2026-10-15"), 1, 1));
        assert_eq!((november.messages, november.parts, november.cost), (5, 8, 0.4));
        let kinds: Vec<(&str, usize, usize)> =
            november.kinds.iter().map(|k| (k.kind.as_str(), k.messages, k.parts)).collect();
        assert_eq!(kinds, [("code", 1, 1), ("near", 2, 3), ("called", 1, 1), ("other", 1, 3)]);
        assert_eq!(november.kinds[1].cost, 0.15);
        assert_eq!(report.currency, "SAR");
    }
}
