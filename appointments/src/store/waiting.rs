//! The waiting list on SQLite (`007_waiting_list.sql`; the rules in [`crate::waiting`]). Every
//! write is one immediate transaction, so the site's one writer decides each offer alone.
use chrono::{DateTime, Duration, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::{BookError, StoreError, codes_sent, has_active_that_day, may_send_code, take_place, ts};
use crate::waiting::{self, Entry, EntryState, JoinRefusal, NewEntry, Offer, OfferSecrets};
use dawr_web::db::parse_ts;

const ENTRY_COLUMNS: &str = "handle, code_mac, attempts, state, expires_at, offer, branch, service, start, local_day, \
                             name, national_id, phone, lang";

fn entry_from_row(row: &Row<'_>) -> Result<Entry, StoreError> {
    let day: String = row.get(9)?;
    Ok(Entry {
        handle: row.get(0)?,
        code_mac: row.get(1)?,
        attempts: row.get(2)?,
        state: EntryState::parse(&row.get::<_, String>(3)?),
        expires_at: parse_ts("expires_at", &row.get::<_, String>(4)?)?,
        offer: row.get(5)?,
        branch: row.get(6)?,
        service: row.get(7)?,
        start: parse_ts("start", &row.get::<_, String>(8)?)?,
        local_day: day.parse().map_err(|_| StoreError::Corrupt { column: "local_day", value: day.clone() })?,
        name: row.get(10)?,
        national_id: row.get(11)?,
        phone: row.get(12)?,
        lang: row.get(13)?,
    })
}

impl From<JoinRefusal> for BookError {
    fn from(r: JoinRefusal) -> Self {
        match r {
            JoinRefusal::NotFull => BookError::NotFull,
            JoinRefusal::ListFull => BookError::ListFull,
        }
    }
}

/// Places of a slot nobody holds (all of them for a slot without a row yet, none on a closed day).
fn free_places(conn: &Connection, new: &NewEntry) -> Result<u32, StoreError> {
    if super::is_closed(conn, &new.branch, &new.service, new.local_day)? {
        return Ok(0);
    }
    let row: Option<(u32, u32)> = conn
        .query_row(
            "SELECT capacity, booked FROM slots WHERE branch = ?1 AND service = ?2 AND start = ?3",
            params![new.branch, new.service, ts(new.start)],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    Ok(row.map_or(new.capacity, |(capacity, booked)| capacity.saturating_sub(booked)))
}

/// Entries in line for a slot.
fn waiting_count(conn: &Connection, branch: &str, service: &str, start: DateTime<Utc>) -> rusqlite::Result<u32> {
    conn.query_row(
        "SELECT COUNT(*) FROM waiting_list WHERE branch = ?1 AND service = ?2 AND start = ?3 AND state = 'waiting'",
        params![branch, service, ts(start)],
        |r| r.get(0),
    )
}

/// Whether anyone is in line for a slot (its freed places are theirs).
pub(crate) fn someone_waits(
    conn: &Connection,
    branch: &str,
    service: &str,
    start: DateTime<Utc>,
) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM waiting_list WHERE branch = ?1 AND service = ?2 AND start = ?3 AND state = 'waiting')",
    )?
    .query_row(params![branch, service, ts(start)], |r| r.get(0))
}

/// Stores a new entry, its joining code just drawn: refused when the mobile or the address was
/// sent as many codes as it may be (holds and entries together), when the slot has a place
/// nobody waits for, or when its line is full. Nothing about who joins is checked here (that
/// waits for the code).
pub fn join(conn: &mut Connection, new: &NewEntry) -> Result<(), BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sent = codes_sent(&tx, &new.phone, &new.client, new.since)?;
    may_send_code(sent, new.codes_per_mobile, new.codes_per_client)?;
    let free = free_places(&tx, new)?;
    let in_line = waiting_count(&tx, &new.branch, &new.service, new.start)?;
    waiting::may_join(free, in_line, new.per_slot)?;
    tx.execute(
        &format!(
            "INSERT INTO waiting_list (client, created_at, {ENTRY_COLUMNS}) \
             VALUES (?1, ?2, ?3, ?4, 0, 'unconfirmed', ?5, NULL, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ),
        params![
            new.client,
            ts(new.now),
            new.handle,
            new.code_mac,
            ts(new.expires_at),
            new.branch,
            new.service,
            ts(new.start),
            new.local_day.to_string(),
            new.name,
            new.national_id,
            new.phone,
            new.lang
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// The entry behind a handle.
pub fn entry_by_handle(conn: &Connection, handle: &str) -> Result<Option<Entry>, StoreError> {
    let sql = format!("SELECT {ENTRY_COLUMNS} FROM waiting_list WHERE handle = ?1");
    conn.query_row(&sql, [handle], |row| Ok(entry_from_row(row))).optional()?.transpose()
}

/// A wrong joining code was typed.
pub fn wrong_entry_code(conn: &Connection, handle: &str) -> Result<(), StoreError> {
    conn.execute("UPDATE waiting_list SET attempts = attempts + 1 WHERE handle = ?1", [handle])?;
    Ok(())
}

/// The right joining code: the entry goes in line (its place from now). `HoldEnded` if it was
/// confirmed already or its code expired; refused (generically, `AlreadyBooked`) when the ID
/// number waits for that slot already or holds a booking for the service that day; `ListFull`
/// when the line filled meanwhile. Returns its place in line.
pub fn confirm_entry(conn: &mut Connection, handle: &str, per_slot: u32, now: DateTime<Utc>) -> Result<u32, BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(entry) = entry_by_handle(&tx, handle)? else { return Err(BookError::HoldEnded) };
    if entry.state != EntryState::Unconfirmed || entry.expires_at <= now {
        return Err(BookError::HoldEnded);
    }
    if has_active_that_day(&tx, &entry.branch, &entry.service, entry.local_day, &entry.national_id, "")? {
        return Err(BookError::AlreadyBooked);
    }
    if waiting_count(&tx, &entry.branch, &entry.service, entry.start)? >= per_slot {
        return Err(BookError::ListFull);
    }
    let joined = tx.execute(
        "UPDATE waiting_list SET state = 'waiting', joined_at = ?2 WHERE handle = ?1 AND state = 'unconfirmed'",
        params![handle, ts(now)],
    );
    match joined {
        Ok(_) => {}
        Err(e) if super::is_unique_violation(&e, "national_id") => return Err(BookError::AlreadyBooked),
        Err(e) => return Err(e.into()),
    }
    let place = place_in_line(&tx, handle)?.unwrap_or(1);
    tx.commit()?;
    Ok(place)
}

/// An entry's place in line (1: the next offered), `None` when it is not waiting.
pub fn place_in_line(conn: &Connection, handle: &str) -> Result<Option<u32>, StoreError> {
    Ok(conn
        .query_row(
            "SELECT (SELECT COUNT(*) FROM waiting_list o WHERE o.branch = me.branch AND o.service = me.service
                     AND o.start = me.start AND o.state = 'waiting'
                     AND (o.joined_at < me.joined_at OR (o.joined_at = me.joined_at AND o.handle < me.handle))) + 1
             FROM waiting_list me WHERE me.handle = ?1 AND me.state = 'waiting'",
            [handle],
            |r| r.get(0),
        )
        .optional()?)
}

/// The offer round: entries of slots that have begun, and joining codes never typed within the
/// codes' window, are removed; then each free place of a slot someone waits for is taken (the
/// slot row's conditional update) for the first in line, as a hold lasting `hold_for` (never
/// past the slot's start) with the secrets `draw` gives. Returns the offers to text.
pub fn offer_places(
    conn: &mut Connection,
    now: DateTime<Utc>,
    hold_for: Duration,
    draw: &mut (dyn FnMut() -> OfferSecrets + Send),
) -> Result<Vec<Offer>, BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "DELETE FROM waiting_list WHERE start <= ?1 OR (state = 'unconfirmed' AND created_at < ?2)",
        params![ts(now), ts(now - dawr_web::otp::CODES_WINDOW)],
    )?;
    let slots: Vec<(String, String, String, u32)> = {
        let mut stmt = tx.prepare_cached(
            "SELECT s.branch, s.service, s.start, s.capacity - s.booked FROM slots s
             WHERE s.booked < s.capacity AND EXISTS (SELECT 1 FROM waiting_list w WHERE w.branch = s.branch
                   AND w.service = s.service AND w.start = s.start AND w.state = 'waiting')",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?
    };
    let mut offers = Vec::new();
    for (branch, service, start, free) in slots {
        let start = parse_ts("start", &start)?;
        let line = in_line(&tx, &branch, &service, start)?;
        let places = waiting::offers_to_make(free, line.len());
        for entry in line.into_iter().take(places) {
            match offer(&tx, &entry, now, hold_for, draw()) {
                Ok(made) => offers.push(made),
                Err(BookError::Full) => break,
                Err(e) => return Err(e),
            }
        }
    }
    tx.commit()?;
    Ok(offers)
}

/// A slot's line, first first.
fn in_line(tx: &Transaction<'_>, branch: &str, service: &str, start: DateTime<Utc>) -> Result<Vec<Entry>, StoreError> {
    let mut stmt = tx.prepare_cached(&format!(
        "SELECT {ENTRY_COLUMNS} FROM waiting_list WHERE branch = ?1 AND service = ?2 AND start = ?3 \
         AND state = 'waiting' ORDER BY joined_at, handle"
    ))?;
    let mut rows = stmt.query(params![branch, service, ts(start)])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(entry_from_row(row)?);
    }
    Ok(out)
}

/// Takes a place for `entry` and stores it as a hold offered to them.
fn offer(
    tx: &Transaction<'_>,
    entry: &Entry,
    now: DateTime<Utc>,
    hold_for: Duration,
    secrets: OfferSecrets,
) -> Result<Offer, BookError> {
    take_place(tx, &entry.branch, &entry.service, entry.start, entry.local_day, 0, false)?;
    let expires_at = waiting::offer_expiry(now, hold_for, entry.start);
    tx.execute(
        "INSERT INTO booking_holds (client, handle, code_mac, attempts, state, expires_at, code, token, branch, \
         service, start, local_day, name, national_id, phone, lang, created_at) \
         VALUES ('waiting-list', ?1, ?2, 0, 'held', ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
        params![
            secrets.hold,
            secrets.code_mac,
            ts(expires_at),
            secrets.booking_code,
            secrets.booking_token,
            entry.branch,
            entry.service,
            ts(entry.start),
            entry.local_day.to_string(),
            entry.name,
            entry.national_id,
            entry.phone,
            entry.lang,
            ts(now)
        ],
    )?;
    let claimed = tx.execute(
        "UPDATE waiting_list SET state = 'offered', offer = ?2 WHERE handle = ?1 AND state = 'waiting'",
        params![entry.handle, secrets.hold],
    )?;
    if claimed != 1 {
        return Err(BookError::Store(StoreError::Corrupt {
            column: "waiting_list.state",
            value: entry.handle.clone(),
        }));
    }
    Ok(Offer {
        entry: entry.handle.clone(),
        hold: secrets.hold,
        code: secrets.code,
        phone: entry.phone.clone(),
        lang: entry.lang.clone(),
        branch: entry.branch.clone(),
        service: entry.service.clone(),
        start: entry.start,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{
        FILE_NAME, NewBooking, NewHold, book, cancel, confirm_hold, hold, open, pull_day, release_expired,
    };

    const START: &str = "2026-11-24T05:00:00Z";

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn booking(code: &str, id: &str) -> NewBooking {
        let start = at(START);
        NewBooking {
            code: code.into(),
            token: format!("tok-{code}"),
            branch: "demo".into(),
            service: "A".into(),
            start,
            local_day: start.date_naive(),
            name: "نورة".into(),
            national_id: id.into(),
            phone: "+966551234567".into(),
            lang: "ar".into(),
            capacity: 1,
            per_mobile: 0,
            now: at("2026-11-23T07:00:00Z"),
        }
    }

    fn entry(handle: &str, id: &str, phone: &str) -> NewEntry {
        let b = booking("unused", id);
        NewEntry {
            handle: handle.into(),
            code_mac: b"mac".to_vec(),
            client: "127.0.0.1".into(),
            expires_at: b.now + dawr_web::otp::CODE_TTL,
            codes_per_mobile: 3,
            codes_per_client: 10,
            since: b.now - dawr_web::otp::CODES_WINDOW,
            per_slot: 2,
            capacity: 1,
            branch: b.branch,
            service: b.service,
            start: b.start,
            local_day: b.local_day,
            name: b.name,
            national_id: b.national_id,
            phone: phone.into(),
            lang: b.lang,
            now: b.now,
        }
    }

    /// A hold of another slot of that day (five places) by `phone` from `client`, under the
    /// same limits of codes as [`entry`]'s with `per_client` per address.
    fn hold_from(handle: &str, phone: &str, client: &str, per_client: u32) -> NewHold {
        let b = NewBooking {
            start: at("2026-11-24T06:00:00Z"),
            capacity: 5,
            phone: phone.into(),
            ..booking(&format!("C-{handle}"), "1000000099")
        };
        NewHold {
            handle: handle.into(),
            code_mac: b"mac".to_vec(),
            client: client.into(),
            expires_at: b.now + dawr_web::otp::CODE_TTL,
            codes_per_mobile: 3,
            codes_per_client: per_client,
            since: b.now - dawr_web::otp::CODES_WINDOW,
            booking: b,
        }
    }

    /// Joining codes count against a hold's limits as holds count against a join's: three joins
    /// from one mobile leave it no booking code this hour, and an address that joined as often
    /// as it may is refused a hold too (each of its joins from a mobile of its own); another
    /// mobile at another address still holds.
    #[test]
    fn joins_then_holds_of_one_mobile_or_one_address_share_the_codes_limits() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join(FILE_NAME)).unwrap();
        book(&mut conn, &booking("FIRST", "1000000016")).unwrap();
        let mobile = "+966500000001";
        for n in 1..=3 {
            let handle = format!("m{n}");
            let from_mobile = NewEntry { client: format!("10.0.0.{n}"), ..entry(&handle, "1000000024", mobile) };
            join(&mut conn, &from_mobile).unwrap();
        }
        let held = hold(&mut conn, &hold_from("h-mobile", mobile, "10.0.1.1", 10));
        assert!(matches!(held, Err(BookError::TooManyCodes)), "the mobile's fourth code: {held:?}");

        let address = "192.0.2.7";
        for n in 1..=4 {
            let phone = format!("+96650000010{n}");
            let joined = NewEntry {
                client: address.into(),
                codes_per_client: 4,
                ..entry(&format!("a{n}"), "1000000032", &phone)
            };
            join(&mut conn, &joined).unwrap();
        }
        let held = hold(&mut conn, &hold_from("h-address", "+966500000200", address, 4));
        assert!(matches!(held, Err(BookError::TooManyCodes)), "the address's fifth code: {held:?}");
        hold(&mut conn, &hold_from("h-other", "+966500000300", "192.0.2.8", 4)).expect("another mobile and address");
    }

    fn draw(n: &mut u32) -> OfferSecrets {
        *n += 1;
        OfferSecrets {
            hold: format!("offer-{n}"),
            code: "123456".into(),
            code_mac: b"mac".to_vec(),
            booking_code: format!("OFFER{n}"),
            booking_token: format!("tok-offer-{n}"),
        }
    }

    fn round(conn: &mut Connection, now: &str, n: &mut u32) -> Vec<Offer> {
        offer_places(conn, at(now), Duration::minutes(30), &mut || draw(n)).unwrap()
    }

    /// The whole life of a line: joined in turn, capped, one entry per ID; the freed place goes
    /// to the first (and not to a booker), lapses after the hold time, goes to the next, who books.
    #[test]
    fn a_freed_place_goes_to_the_first_in_line_and_on_to_the_next_when_it_lapses() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(&dir.path().join(FILE_NAME)).unwrap();
        let now = at("2026-11-23T07:00:00Z");
        assert!(matches!(join(&mut conn, &entry("e0", "1000000008", "+966500000000")), Err(BookError::NotFull)));
        book(&mut conn, &booking("FIRST", "1000000016")).unwrap();
        for (handle, id, phone) in [("e1", "1000000024", "+966500000001"), ("e2", "1000000032", "+966500000002")] {
            join(&mut conn, &entry(handle, id, phone)).unwrap();
            confirm_entry(&mut conn, handle, 2, now).unwrap();
        }
        assert_eq!(place_in_line(&conn, "e2").unwrap(), Some(2));
        assert!(matches!(join(&mut conn, &entry("e3", "1000000040", "+966500000003")), Err(BookError::ListFull)));
        join(&mut conn, &NewEntry { per_slot: 3, ..entry("e4", "1000000024", "+966500000004") }).unwrap();
        assert!(matches!(confirm_entry(&mut conn, "e4", 3, now), Err(BookError::AlreadyBooked)), "one per ID");

        let mut n = 0;
        assert!(round(&mut conn, "2026-11-23T07:01:00Z", &mut n).is_empty(), "no place free yet");
        cancel(&mut conn, "FIRST", now).unwrap();
        pull_day(&mut conn, "demo", at(START).date_naive()).unwrap();
        assert!(matches!(book(&mut conn, &booking("JUMPER", "1000000057")), Err(BookError::Full)), "the line first");
        let offers = round(&mut conn, "2026-11-23T07:02:00Z", &mut n);
        assert_eq!(offers.iter().map(|o| o.entry.as_str()).collect::<Vec<_>>(), ["e1"]);
        assert_eq!(offers[0].expires_at, at("2026-11-23T07:32:00Z"));
        assert!(round(&mut conn, "2026-11-23T07:03:00Z", &mut n).is_empty(), "offered once");
        assert_eq!(place_in_line(&conn, "e2").unwrap(), Some(1));

        assert_eq!(release_expired(&mut conn, at("2026-11-23T07:33:00Z")).unwrap(), 1, "the offer lapsed");
        let offers = round(&mut conn, "2026-11-23T07:33:00Z", &mut n);
        assert_eq!(offers.iter().map(|o| o.entry.as_str()).collect::<Vec<_>>(), ["e2"]);
        let booked = confirm_hold(&mut conn, &offers[0].hold, 0, at("2026-11-23T07:40:00Z")).unwrap();
        assert_eq!(booked.national_id, "1000000032");
        let taken: u32 = conn.query_row("SELECT booked FROM slots", [], |r| r.get(0)).unwrap();
        assert_eq!(taken, 1, "one place, one booking");
    }
}
