//! The waiting list on PostgreSQL (`004_waiting_list.sql`; the rules in [`crate::waiting`], the
//! same as [`crate::store::waiting`]'s). Several replicas run the offer round: an advisory lock
//! lets one at a time through (the others skip that round), and each offer is a conditional
//! update of its entry (`state = 'waiting'`) after the slot row's conditional update, so a place
//! is offered once and to one entry.
use chrono::{DateTime, Duration, Utc};
use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use super::{BookError, CODES_SENT, OFFER_ROUND_LOCK, codes_sent, lock_code_counts, take_place};
use crate::store::may_send_code;
use crate::waiting::{self, Entry, EntryState, NewEntry, Offer, OfferSecrets};

const ENTRY_COLUMNS: &str = "handle, code_mac, attempts, state, expires_at, offer, branch, service, start, local_day, \
                             name, national_id, phone, lang";

fn entry_from_row(row: &Row) -> Result<Entry, BookError> {
    let (state, attempts): (String, i32) = (row.try_get(3)?, row.try_get(2)?);
    Ok(Entry {
        handle: row.try_get(0)?,
        code_mac: row.try_get(1)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        state: EntryState::parse(&state),
        expires_at: row.try_get(4)?,
        offer: row.try_get(5)?,
        branch: row.try_get(6)?,
        service: row.try_get(7)?,
        start: row.try_get(8)?,
        local_day: row.try_get(9)?,
        name: row.try_get(10)?,
        national_id: row.try_get(11)?,
        phone: row.try_get(12)?,
        lang: row.try_get(13)?,
    })
}

fn count(row: &Row, i: usize) -> Result<u32, BookError> {
    Ok(u32::try_from(row.try_get::<_, i64>(i)?).unwrap_or(u32::MAX))
}

async fn waiting_count(
    tx: &Transaction<'_>,
    branch: &str,
    service: &str,
    start: DateTime<Utc>,
) -> Result<u32, BookError> {
    let row = tx
        .query_one(
            "SELECT COUNT(*) FROM waiting_list WHERE branch = $1 AND service = $2 AND start = $3 AND state = 'waiting'",
            &[&branch, &service, &start],
        )
        .await?;
    count(&row, 0)
}

/// One writer of a slot's line at a time (joins and confirmations count it).
async fn lock_line(tx: &Transaction<'_>, branch: &str, service: &str, start: DateTime<Utc>) -> Result<(), BookError> {
    let key = format!("{branch}/{service}/{}", start.timestamp());
    tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 29))", &[&key]).await?;
    Ok(())
}

/// Stores a new entry (see [`crate::store::waiting::join`]); the codes of one mobile and of one
/// client address are counted under locks on them ([`lock_code_counts`]), the line under
/// a lock on the slot (taken after those, in every transaction that takes them).
pub async fn join(pool: &Pool, new: &NewEntry) -> Result<(), BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_code_counts(&tx, &new.phone, &new.client).await?;
    lock_line(&tx, &new.branch, &new.service, new.start).await?;
    let row = tx
        .query_one(
            &format!(
                "SELECT {CODES_SENT},
                    (SELECT 1 FROM day_closures WHERE branch = $4 AND local_day = $5 AND service IN ('', $6) LIMIT 1),
                    (SELECT capacity - booked FROM slots WHERE branch = $4 AND service = $6 AND start = $7)"
            ),
            &[&new.phone, &new.client, &new.since, &new.branch, &new.local_day, &new.service, &new.start],
        )
        .await?;
    may_send_code(codes_sent(&row)?, new.codes_per_mobile, new.codes_per_client)?;
    let closed: Option<i32> = row.try_get(2)?;
    let free = match (closed, row.try_get::<_, Option<i32>>(3)?) {
        (Some(_), _) => 0,
        (None, Some(free)) => u32::try_from(free).unwrap_or(0),
        (None, None) => new.capacity,
    };
    let in_line = waiting_count(&tx, &new.branch, &new.service, new.start).await?;
    waiting::may_join(free, in_line, new.per_slot)?;
    tx.execute(
        &format!(
            "INSERT INTO waiting_list (client, created_at, {ENTRY_COLUMNS}) \
             VALUES ($1, $2, $3, $4, 0, 'unconfirmed', $5, NULL, $6, $7, $8, $9, $10, $11, $12, $13)"
        ),
        &[
            &new.client,
            &new.now,
            &new.handle,
            &new.code_mac,
            &new.expires_at,
            &new.branch,
            &new.service,
            &new.start,
            &new.local_day,
            &new.name,
            &new.national_id,
            &new.phone,
            &new.lang,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The entry behind a handle.
pub async fn entry_by_handle(pool: &Pool, handle: &str) -> Result<Option<Entry>, BookError> {
    let client = pool.get().await?;
    let row =
        client.query_opt(&format!("SELECT {ENTRY_COLUMNS} FROM waiting_list WHERE handle = $1"), &[&handle]).await?;
    row.as_ref().map(entry_from_row).transpose()
}

/// A wrong joining code was typed.
pub async fn wrong_entry_code(pool: &Pool, handle: &str) -> Result<(), BookError> {
    let client = pool.get().await?;
    client.execute("UPDATE waiting_list SET attempts = attempts + 1 WHERE handle = $1", &[&handle]).await?;
    Ok(())
}

/// The right joining code (see [`crate::store::waiting::confirm_entry`]): its place in line.
pub async fn confirm_entry(pool: &Pool, handle: &str, per_slot: u32, now: DateTime<Utc>) -> Result<u32, BookError> {
    let mut client = pool.get().await?;
    let mut tx = client.transaction().await?;
    let row = tx
        .query_opt(&format!("SELECT {ENTRY_COLUMNS} FROM waiting_list WHERE handle = $1 FOR UPDATE"), &[&handle])
        .await?;
    let Some(entry) = row.as_ref().map(entry_from_row).transpose()? else { return Err(BookError::HoldEnded) };
    if entry.state != EntryState::Unconfirmed || entry.expires_at <= now {
        return Err(BookError::HoldEnded);
    }
    lock_line(&tx, &entry.branch, &entry.service, entry.start).await?;
    let booked = tx
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM bookings WHERE branch = $1 AND service = $2 AND local_day = $3 \
             AND national_id = $4 AND status IN ('booked', 'checked_in'))",
            &[&entry.branch, &entry.service, &entry.local_day, &entry.national_id],
        )
        .await?;
    if booked.try_get::<_, bool>(0)? {
        return Err(BookError::AlreadyBooked);
    }
    if waiting_count(&tx, &entry.branch, &entry.service, entry.start).await? >= per_slot {
        return Err(BookError::ListFull);
    }
    let savepoint = tx.savepoint("join_line").await?;
    let joined = savepoint
        .execute(
            "UPDATE waiting_list SET state = 'waiting', joined_at = $2 WHERE handle = $1 AND state = 'unconfirmed'",
            &[&handle, &now],
        )
        .await;
    match joined {
        Ok(_) => savepoint.commit().await?,
        Err(e) if e.code() == Some(&SqlState::UNIQUE_VIOLATION) => return Err(BookError::AlreadyBooked),
        Err(e) => return Err(e.into()),
    }
    let place = place_in_line(&tx, handle).await?.unwrap_or(1);
    tx.commit().await?;
    Ok(place)
}

async fn place_in_line(tx: &Transaction<'_>, handle: &str) -> Result<Option<u32>, BookError> {
    let row = tx
        .query_opt(
            "SELECT (SELECT COUNT(*) FROM waiting_list o WHERE o.branch = me.branch AND o.service = me.service
                     AND o.start = me.start AND o.state = 'waiting'
                     AND (o.joined_at, o.handle) < (me.joined_at, me.handle)) + 1
             FROM waiting_list me WHERE me.handle = $1 AND me.state = 'waiting'",
            &[&handle],
        )
        .await?;
    row.as_ref().map(|r| count(r, 0)).transpose()
}

/// An entry's place in line (1: the next offered), `None` when it is not waiting.
pub async fn entry_place(pool: &Pool, handle: &str) -> Result<Option<u32>, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let place = place_in_line(&tx, handle).await?;
    tx.commit().await?;
    Ok(place)
}

/// The offer round (see [`crate::store::waiting::offer_places`]), on one replica at a time:
/// another replica's round under way, this one returns no offer.
pub async fn offer_places(
    pool: &Pool,
    now: DateTime<Utc>,
    hold_for: Duration,
    draw: &mut (dyn FnMut() -> OfferSecrets + Send),
) -> Result<Vec<Offer>, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let got: bool = tx.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&OFFER_ROUND_LOCK]).await?.try_get(0)?;
    if !got {
        return Ok(Vec::new());
    }
    tx.execute(
        "DELETE FROM waiting_list WHERE start <= $1 OR (state = 'unconfirmed' AND created_at < $2)",
        &[&now, &(now - dawr_web::otp::CODES_WINDOW)],
    )
    .await?;
    let slots = tx
        .query(
            "SELECT s.branch, s.service, s.start, s.capacity - s.booked FROM slots s
             WHERE s.booked < s.capacity AND EXISTS (SELECT 1 FROM waiting_list w WHERE w.branch = s.branch
                   AND w.service = s.service AND w.start = s.start AND w.state = 'waiting')",
            &[],
        )
        .await?;
    let mut offers = Vec::new();
    for slot in &slots {
        let (branch, service, start, free): (String, String, DateTime<Utc>, i32) =
            (slot.try_get(0)?, slot.try_get(1)?, slot.try_get(2)?, slot.try_get(3)?);
        let line = tx
            .query(
                &format!(
                    "SELECT {ENTRY_COLUMNS} FROM waiting_list WHERE branch = $1 AND service = $2 AND start = $3 \
                     AND state = 'waiting' ORDER BY joined_at, handle FOR UPDATE SKIP LOCKED"
                ),
                &[&branch, &service, &start],
            )
            .await?;
        let places = waiting::offers_to_make(u32::try_from(free).unwrap_or(0), line.len());
        for row in line.iter().take(places) {
            let entry = entry_from_row(row)?;
            match offer(&tx, &entry, now, hold_for, draw()).await {
                Ok(made) => offers.push(made),
                Err(BookError::Full) => break,
                Err(e) => return Err(e),
            }
        }
    }
    tx.commit().await?;
    Ok(offers)
}

/// Takes a place for `entry` (the slot row's conditional update) and stores it as a hold
/// offered to them; the entry's own conditional update must then find it still waiting (its
/// row is locked by the round), else the whole round is undone.
async fn offer(
    tx: &Transaction<'_>,
    entry: &Entry,
    now: DateTime<Utc>,
    hold_for: Duration,
    secrets: OfferSecrets,
) -> Result<Offer, BookError> {
    take_place(tx, &entry.branch, &entry.service, entry.start, entry.local_day, 0, false).await?;
    let claimed = tx
        .execute(
            "UPDATE waiting_list SET state = 'offered', offer = $2 WHERE handle = $1 AND state = 'waiting'",
            &[&entry.handle, &secrets.hold],
        )
        .await?;
    if claimed != 1 {
        return Err(BookError::Postgres(format!("waiting-list entry {} was offered twice", entry.handle)));
    }
    let expires_at = waiting::offer_expiry(now, hold_for, entry.start);
    tx.execute(
        "INSERT INTO booking_holds (client, handle, code_mac, attempts, state, expires_at, code, token, branch, \
         service, start, local_day, name, national_id, phone, lang, created_at) \
         VALUES ('waiting-list', $1, $2, 0, 'held', $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        &[
            &secrets.hold,
            &secrets.code_mac,
            &expires_at,
            &secrets.booking_code,
            &secrets.booking_token,
            &entry.branch,
            &entry.service,
            &entry.start,
            &entry.local_day,
            &entry.name,
            &entry.national_id,
            &entry.phone,
            &entry.lang,
            &now,
        ],
    )
    .await?;
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
