//! PostgreSQL storage of bookings, for several stateless site replicas on one database
//! (`--postgres URL`): the same rules as [`crate::store`]'s SQLite, in PostgreSQL's terms.
//!
//! A booking is one READ COMMITTED transaction: `UPDATE slots SET booked = booked + 1 WHERE
//! id = … AND booked < capacity` (a concurrent updater of the same row waits, then re-checks the
//! condition on the committed row, so the last place is taken once), then the INSERT; the
//! partial unique index `bookings_one_per_day` refuses a second active booking of an ID number
//! for a service and day. The schema is this engine's own migration set (`pg/*.sql`), applied
//! under an advisory lock so replicas starting together migrate once.
use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::{Pool, Transaction};
use tokio_postgres::Row;
use tokio_postgres::error::SqlState;

use crate::store::{
    BookError, Booking, CodesSent, Hold, HoldState, NewBooking, NewHold, Person, SlotPlan, Status, booked,
    may_send_code, parse_status, report_applies,
};

/// The migrations, in order; `appointments_schema` records how many ran.
const MIGRATIONS: &[&str] = &[
    include_str!("pg/001_initial.sql"),
    include_str!("pg/002_closures.sql"),
    include_str!("pg/003_holds.sql"),
    include_str!("pg/004_waiting_list.sql"),
];
/// The advisory lock the migrations run under ("dawrappt").
const MIGRATION_LOCK: i64 = 0x6461_7772_6170_7074;
/// The advisory lock of the slot job: one replica makes the rows at a time.
const SLOT_JOB_LOCK: i64 = MIGRATION_LOCK + 1;
/// The advisory lock of the waiting list's offer round: one replica offers at a time.
const OFFER_ROUND_LOCK: i64 = MIGRATION_LOCK + 2;

pub mod waiting;

impl From<tokio_postgres::Error> for BookError {
    fn from(e: tokio_postgres::Error) -> Self {
        BookError::Postgres(e.to_string())
    }
}

impl From<deadpool_postgres::PoolError> for BookError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        BookError::Postgres(e.to_string())
    }
}

/// A pool of up to `max_size` connections to `url` (a libpq URL), not yet connected.
pub fn pool(url: &str, max_size: usize) -> Result<Pool, BookError> {
    let config: tokio_postgres::Config =
        url.parse().map_err(|e: tokio_postgres::Error| BookError::Postgres(format!("the PostgreSQL URL: {e}")))?;
    let manager = deadpool_postgres::Manager::new(config, tokio_postgres::NoTls);
    deadpool_postgres::Pool::builder(manager).max_size(max_size).build().map_err(|e| BookError::Postgres(e.to_string()))
}

/// Brings the schema to the latest version (once, whichever replica gets the lock first).
pub async fn migrate(pool: &Pool) -> Result<(), BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({MIGRATION_LOCK});
         CREATE TABLE IF NOT EXISTS appointments_schema (version integer NOT NULL);"
    ))
    .await?;
    let version: i32 =
        tx.query_opt("SELECT max(version) FROM appointments_schema", &[]).await?.and_then(|r| r.get(0)).unwrap_or(0);
    let done = usize::try_from(version).unwrap_or(0);
    for migration in MIGRATIONS.iter().skip(done) {
        tx.batch_execute(migration).await?;
    }
    if done < MIGRATIONS.len() {
        let latest = i32::try_from(MIGRATIONS.len()).unwrap_or(i32::MAX);
        tx.execute("DELETE FROM appointments_schema", &[]).await?;
        tx.execute("INSERT INTO appointments_schema (version) VALUES ($1)", &[&latest]).await?;
    }
    tx.commit().await?;
    Ok(())
}

const COLUMNS: &str = "code, token, branch, service, start, local_day, name, national_id, phone, lang, status, \
                       created_at, updated_at";

fn from_row(row: &Row) -> Result<Booking, BookError> {
    let status: String = row.try_get(10)?;
    Ok(Booking {
        code: row.try_get(0)?,
        token: row.try_get(1)?,
        branch: row.try_get(2)?,
        service: row.try_get(3)?,
        start: row.try_get(4)?,
        local_day: row.try_get(5)?,
        name: row.try_get::<_, Option<String>>(6)?.unwrap_or_default(),
        national_id: row.try_get::<_, Option<String>>(7)?.unwrap_or_default(),
        phone: row.try_get::<_, Option<String>>(8)?.unwrap_or_default(),
        lang: row.try_get(9)?,
        status: parse_status(&status)?,
        created_at: row.try_get(11)?,
        updated_at: row.try_get(12)?,
    })
}

fn from_rows(rows: &[Row]) -> Result<Vec<Booking>, BookError> {
    rows.iter().map(from_row).collect()
}

/// A unique index's refusal as the booking rule it stands for.
fn refusal(e: tokio_postgres::Error) -> BookError {
    let constraint =
        e.as_db_error().filter(|db| *db.code() == SqlState::UNIQUE_VIOLATION).and_then(|db| db.constraint());
    match constraint {
        Some("bookings_one_per_day") => BookError::AlreadyBooked,
        Some("bookings_pkey" | "bookings_token_key") => BookError::CodeTaken,
        _ => e.into(),
    }
}

/// Takes a place in a slot: the conditional update of its row, after making the row if the
/// job has not (with `capacity`). `Full` when no place is left or the day is closed, and
/// (`waiters_first`: a booking, a hold, a move; not an offer to the line) when anyone is on the
/// slot's waiting list. The closure and the waiting list are checked in the update itself, and
/// the same statement says whether the row was there, so taking a place (or being refused one)
/// is one round trip, its statement prepared once a connection.
async fn take_place(
    tx: &Transaction<'_>,
    branch: &str,
    service: &str,
    start: DateTime<Utc>,
    local_day: NaiveDate,
    capacity: u32,
    waiters_first: bool,
) -> Result<(), BookError> {
    let take = tx.prepare_cached(if waiters_first { &TAKE_PLACE_WAITERS_FIRST } else { &TAKE_PLACE }).await?;
    let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] = [&branch, &service, &start, &local_day];
    let row = tx.query_one(&take, &params).await?;
    let (row_there, taken): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
    if taken {
        return Ok(());
    }
    if row_there {
        return Err(BookError::Full);
    }
    let capacity = i32::try_from(capacity).unwrap_or(i32::MAX);
    let make_row = tx
        .prepare_cached(
            "INSERT INTO slots (branch, service, start, local_day, capacity) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (branch, service, start) DO NOTHING",
        )
        .await?;
    tx.execute(&make_row, &[&branch, &service, &start, &local_day, &capacity]).await?;
    // Made now, or by another booking that committed meanwhile: try once more (a new snapshot).
    let taken: bool = tx.query_one(&take, &params).await?.try_get(1)?;
    if taken { Ok(()) } else { Err(BookError::Full) }
}

/// The common table expressions `slot` (the slot's row, if the job made it) and `taken` (the
/// conditional update taking a place in it: a place left, neither the day nor the service's day
/// closed, and with `waiters_first` no one waiting for the slot), over the statement's parameters
/// numbered `branch`, `service`, `start` and `day`. Under READ COMMITTED an update waiting for a
/// concurrent booking of the same row re-checks `booked < capacity` on the committed row.
fn taking_a_place(branch: u8, service: u8, start: u8, day: u8, waiters_first: bool) -> String {
    let no_waiters = if waiters_first {
        format!(
            " AND NOT EXISTS (SELECT 1 FROM waiting_list w WHERE w.branch = ${branch} AND w.service = ${service} \
             AND w.start = ${start} AND w.state = 'waiting')"
        )
    } else {
        String::new()
    };
    format!(
        "slot AS (SELECT id FROM slots WHERE branch = ${branch} AND service = ${service} AND start = ${start}), \
         taken AS (UPDATE slots SET booked = booked + 1 WHERE id = (SELECT id FROM slot) AND booked < capacity \
                   AND NOT EXISTS (SELECT 1 FROM day_closures c WHERE c.branch = ${branch} AND c.local_day = ${day} \
                                   AND c.service IN ('', ${service})){no_waiters} \
                   RETURNING id)"
    )
}

/// Takes a place in slot ($1 branch, $2 service, $3 start) of local day $4 ([`taking_a_place`]).
/// Answers whether the slot's row was there (in the statement's snapshot) and whether a place
/// was taken.
static TAKE_PLACE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {} SELECT EXISTS (SELECT 1 FROM slot), EXISTS (SELECT 1 FROM taken)",
        taking_a_place(1, 2, 3, 4, false)
    )
});

/// [`TAKE_PLACE`], and refused while anyone waits for the slot.
static TAKE_PLACE_WAITERS_FIRST: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {} SELECT EXISTS (SELECT 1 FROM slot), EXISTS (SELECT 1 FROM taken)",
        taking_a_place(1, 2, 3, 4, true)
    )
});

/// Adds `delta` to a slot's places taken (never below zero): -1 gives a place back, +1 takes one
/// regardless of capacity (a cancelled booking the branch checked in after all).
async fn adjust_place(
    tx: &Transaction<'_>,
    branch: &str,
    service: &str,
    start: DateTime<Utc>,
    delta: i32,
) -> Result<(), BookError> {
    tx.execute(
        "UPDATE slots SET booked = greatest(booked + $4, 0) WHERE branch = $1 AND service = $2 AND start = $3",
        &[&branch, &service, &start, &delta],
    )
    .await?;
    Ok(())
}

/// Books a place: takes it in the slot's row and inserts the booking, atomically. The common
/// case (no per-mobile cap, the slot's row made by the slot job) is one statement, so one round
/// trip and one commit ([`BOOK_IN_ONE`]); otherwise a transaction of several ([`book_in_steps`]).
pub async fn book(pool: &Pool, new: &NewBooking) -> Result<Booking, BookError> {
    let mut client = pool.get().await?;
    if new.per_mobile == 0 {
        let statement = client.prepare_cached(&BOOK_IN_ONE).await?;
        let row = client.query_one(&statement, &booking_params(new)).await.map_err(refusal)?;
        let (row_there, made): (bool, bool) = (row.try_get(0)?, row.try_get(1)?);
        if made {
            return Ok(booked(new));
        }
        if row_there {
            return Err(BookError::Full);
        }
    }
    book_in_steps(&mut client, new).await
}

/// A new booking's values in the order of [`COLUMNS`] ($1 to $10, then $11 its time).
fn booking_params(new: &NewBooking) -> [&(dyn tokio_postgres::types::ToSql + Sync); 11] {
    [
        &new.code,
        &new.token,
        &new.branch,
        &new.service,
        &new.start,
        &new.local_day,
        &new.name,
        &new.national_id,
        &new.phone,
        &new.lang,
        &new.now,
    ]
}

/// A booking as one statement (its own transaction): [`TAKE_PLACE_WAITERS_FIRST`]'s update,
/// then the INSERT only if a place was taken; a unique index refusing the INSERT undoes the
/// update with it. Answers whether the slot's row was there and whether the booking was made.
static BOOK_IN_ONE: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH {}, \
         made AS (INSERT INTO bookings (code, token, branch, service, start, local_day, name, national_id, phone, \
                                        lang, status, created_at, updated_at) \
                  SELECT $1::text, $2::text, $3::text, $4::text, $5::timestamptz, $6::date, $7::text, $8::text, \
                         $9::text, $10::text, 'booked', $11::timestamptz, $11::timestamptz FROM taken \
                  RETURNING 1) \
         SELECT EXISTS (SELECT 1 FROM slot), EXISTS (SELECT 1 FROM made)",
        taking_a_place(3, 4, 5, 6, true)
    )
});

/// Books in a transaction: the mobile's cap counted under a lock on the mobile, the place taken
/// (its slot's row made first if the job has not), then the booking inserted.
async fn book_in_steps(client: &mut deadpool_postgres::Client, new: &NewBooking) -> Result<Booking, BookError> {
    let tx = client.transaction().await?;
    if new.per_mobile > 0 {
        // One booking of a mobile at a time (a lock on the mobile's hash until the transaction
        // ends), so concurrent bookings through several replicas cannot all pass the count.
        let lock = tx.prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 19))").await?;
        tx.execute(&lock, &[&new.phone]).await?;
        let count = tx
            .prepare_cached("SELECT COUNT(*) FROM bookings WHERE phone = $1 AND status = 'booked' AND start > $2")
            .await?;
        let held: i64 = tx.query_one(&count, &[&new.phone, &new.now]).await?.try_get(0)?;
        if held >= i64::from(new.per_mobile) {
            return Err(BookError::MobileLimit);
        }
    }
    take_place(&tx, &new.branch, &new.service, new.start, new.local_day, new.capacity, true).await?;
    let insert = tx
        .prepare_cached(&format!(
            "INSERT INTO bookings ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'booked', $11, $11)"
        ))
        .await?;
    tx.execute(&insert, &booking_params(new)).await.map_err(refusal)?;
    tx.commit().await?;
    Ok(booked(new))
}

const HOLD_COLUMNS: &str = "handle, code_mac, attempts, state, expires_at, code, token, branch, service, start, \
                            local_day, name, national_id, phone, lang, created_at";

fn hold_from_row(row: &Row) -> Result<Hold, BookError> {
    let (state, attempts): (String, i32) = (row.try_get(3)?, row.try_get(2)?);
    let created: DateTime<Utc> = row.try_get(15)?;
    Ok(Hold {
        handle: row.try_get(0)?,
        code_mac: row.try_get(1)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        state: HoldState::parse(&state),
        expires_at: row.try_get(4)?,
        booking: Booking {
            code: row.try_get(5)?,
            token: row.try_get(6)?,
            branch: row.try_get(7)?,
            service: row.try_get(8)?,
            start: row.try_get(9)?,
            local_day: row.try_get(10)?,
            name: row.try_get(11)?,
            national_id: row.try_get(12)?,
            phone: row.try_get(13)?,
            lang: row.try_get(14)?,
            status: Status::Booked,
            created_at: created,
            updated_at: created,
        },
    })
}

/// Locks the one-time codes of a mobile, then those of a client address, until the transaction
/// ends, so replicas counting either at once cannot all pass the count (holds and waiting-list
/// joins). Always in this order, mobile then address, so two transactions cannot deadlock.
async fn lock_code_counts(tx: &Transaction<'_>, phone: &str, client: &str) -> Result<(), BookError> {
    let by_mobile = tx.prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 23))").await?;
    tx.execute(&by_mobile, &[&phone]).await?;
    let by_client = tx.prepare_cached("SELECT pg_advisory_xact_lock(hashtextextended($1, 31))").await?;
    tx.execute(&by_client, &[&client]).await?;
    Ok(())
}

/// The first two columns of a query: the one-time codes sent since `$3` to the mobile `$1` and
/// from the client address `$2`, holds and waiting-list entries together (as
/// [`crate::store::codes_sent`]); read with [`codes_sent`].
const CODES_SENT: &str = "(SELECT COUNT(*) FROM booking_holds WHERE phone = $1 AND created_at >= $3)
                        + (SELECT COUNT(*) FROM waiting_list WHERE phone = $1 AND created_at >= $3),
                          (SELECT COUNT(*) FROM booking_holds WHERE client = $2 AND created_at >= $3)
                        + (SELECT COUNT(*) FROM waiting_list WHERE client = $2 AND created_at >= $3)";

/// The counts of a row whose first columns are [`CODES_SENT`].
fn codes_sent(row: &Row) -> Result<CodesSent, BookError> {
    Ok(CodesSent { to_mobile: row.try_get(0)?, from_client: row.try_get(1)? })
}

/// Holds a place until the code is typed (see [`crate::store::hold`]); the codes of one mobile
/// and of one client address (holds and waiting-list entries together) are counted under locks
/// on them ([`lock_code_counts`]).
pub async fn hold(pool: &Pool, new: &NewHold) -> Result<(), BookError> {
    let b = &new.booking;
    release_expired(pool, b.now).await?;
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    lock_code_counts(&tx, &b.phone, &new.client).await?;
    let row = tx.query_one(&format!("SELECT {CODES_SENT}"), &[&b.phone, &new.client, &new.since]).await?;
    may_send_code(codes_sent(&row)?, new.codes_per_mobile, new.codes_per_client)?;
    take_place(&tx, &b.branch, &b.service, b.start, b.local_day, b.capacity, true).await?;
    tx.execute(
        &format!(
            "INSERT INTO booking_holds (client, {HOLD_COLUMNS}) \
             VALUES ($1, $2, $3, 0, 'held', $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ),
        &[
            &new.client,
            &new.handle,
            &new.code_mac,
            &new.expires_at,
            &b.code,
            &b.token,
            &b.branch,
            &b.service,
            &b.start,
            &b.local_day,
            &b.name,
            &b.national_id,
            &b.phone,
            &b.lang,
            &b.now,
        ],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The hold behind a handle.
pub async fn hold_by_handle(pool: &Pool, handle: &str) -> Result<Option<Hold>, BookError> {
    let client = pool.get().await?;
    let row =
        client.query_opt(&format!("SELECT {HOLD_COLUMNS} FROM booking_holds WHERE handle = $1"), &[&handle]).await?;
    row.as_ref().map(hold_from_row).transpose()
}

/// A wrong code was typed for a hold.
pub async fn wrong_code(pool: &Pool, handle: &str) -> Result<(), BookError> {
    let client = pool.get().await?;
    client.execute("UPDATE booking_holds SET attempts = attempts + 1 WHERE handle = $1", &[&handle]).await?;
    Ok(())
}

/// The right code: the hold becomes its booking on the place it took (see
/// [`crate::store::confirm_hold`]). The conditional update of the hold's state decides between
/// two confirmations at once, and between a confirmation and the release of an expired hold.
pub async fn confirm_hold(
    pool: &Pool,
    handle: &str,
    per_mobile: u32,
    now: DateTime<Utc>,
) -> Result<Booking, BookError> {
    let mut client = pool.get().await?;
    let mut tx = client.transaction().await?;
    let row = tx
        .query_opt(
            &format!(
                "UPDATE booking_holds SET state = 'confirmed' WHERE handle = $1 AND state = 'held' AND expires_at > $2 \
                 RETURNING {HOLD_COLUMNS}"
            ),
            &[&handle, &now],
        )
        .await?;
    let Some(hold) = row.as_ref().map(hold_from_row).transpose()? else { return Err(BookError::HoldEnded) };
    let b = Booking { created_at: now, updated_at: now, ..hold.booking };
    let mut refused = None;
    if per_mobile > 0 {
        tx.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 19))", &[&b.phone]).await?;
        let held: i64 = tx
            .query_one(
                "SELECT COUNT(*) FROM bookings WHERE phone = $1 AND status = 'booked' AND start > $2",
                &[&b.phone, &now],
            )
            .await?
            .try_get(0)?;
        if held >= i64::from(per_mobile) {
            refused = Some(BookError::MobileLimit);
        }
    }
    if refused.is_none() {
        // A savepoint, so a refused insert leaves the transaction usable to give the place back.
        let savepoint = tx.savepoint("insert_booking").await?;
        let inserted = savepoint
            .execute(
                &format!(
                    "INSERT INTO bookings ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'booked', $11, $11)"
                ),
                &[
                    &b.code,
                    &b.token,
                    &b.branch,
                    &b.service,
                    &b.start,
                    &b.local_day,
                    &b.name,
                    &b.national_id,
                    &b.phone,
                    &b.lang,
                    &now,
                ],
            )
            .await;
        match inserted {
            Ok(_) => savepoint.commit().await?,
            Err(e) => {
                savepoint.rollback().await?;
                match refusal(e) {
                    e @ (BookError::AlreadyBooked | BookError::CodeTaken) => refused = Some(e),
                    e => return Err(e),
                }
            }
        }
    }
    if let Some(refusal) = refused {
        tx.execute("UPDATE booking_holds SET state = 'released' WHERE handle = $1", &[&handle]).await?;
        adjust_place(&tx, &b.branch, &b.service, b.start, -1).await?;
        tx.commit().await?;
        return Err(refusal);
    }
    tx.commit().await?;
    Ok(b)
}

/// Expired holds give their places back; ended ones older than the codes' window are removed
/// (see [`crate::store::release_expired`]). Returns how many places went back.
pub async fn release_expired(pool: &Pool, now: DateTime<Utc>) -> Result<usize, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let expired = tx
        .query(
            "UPDATE booking_holds SET state = 'released' WHERE state = 'held' AND expires_at <= $1
             RETURNING branch, service, start",
            &[&now],
        )
        .await?;
    for row in &expired {
        let (branch, service, start): (String, String, DateTime<Utc>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        adjust_place(&tx, &branch, &service, start, -1).await?;
    }
    tx.execute(
        "DELETE FROM booking_holds WHERE state <> 'held' AND created_at < $1",
        &[&(now - dawr_web::otp::CODES_WINDOW)],
    )
    .await?;
    tx.commit().await?;
    Ok(expired.len())
}

/// The booking with this code, its row locked until the transaction ends.
async fn locked(tx: &Transaction<'_>, code: &str) -> Result<Option<Booking>, BookError> {
    let row = tx.query_opt(&format!("SELECT {COLUMNS} FROM bookings WHERE code = $1 FOR UPDATE"), &[&code]).await?;
    row.as_ref().map(from_row).transpose()
}

/// Moves an active booking to another slot of the same service, under the same rules.
pub async fn reschedule(
    pool: &Pool,
    code: &str,
    start: DateTime<Utc>,
    local_day: NaiveDate,
    capacity: u32,
    now: DateTime<Utc>,
) -> Result<Booking, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let booking = locked(&tx, code).await?.ok_or(BookError::NotFound)?;
    if booking.status != Status::Booked {
        return Err(BookError::NotActive(booking.status));
    }
    if start != booking.start {
        take_place(&tx, &booking.branch, &booking.service, start, local_day, capacity, true).await?;
        adjust_place(&tx, &booking.branch, &booking.service, booking.start, -1).await?;
    }
    tx.execute(
        "UPDATE bookings SET start = $2, local_day = $3, updated_at = $4 WHERE code = $1",
        &[&code, &start, &local_day, &now],
    )
    .await
    .map_err(refusal)?;
    tx.commit().await?;
    Ok(Booking { start, local_day, updated_at: now, ..booking })
}

/// Cancels an active booking (its place freed); cancelling a cancelled one again changes nothing.
pub async fn cancel(pool: &Pool, code: &str, now: DateTime<Utc>) -> Result<Booking, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let booking = locked(&tx, code).await?.ok_or(BookError::NotFound)?;
    match booking.status {
        Status::Cancelled => return Ok(booking),
        Status::Booked => {}
        other => return Err(BookError::NotActive(other)),
    }
    // The place stays taken until the hub has pulled the cancellation ([`pull_day`]).
    tx.execute(
        "UPDATE bookings SET status = 'cancelled', place_held = true, updated_at = $2 WHERE code = $1",
        &[&code, &now],
    )
    .await?;
    tx.commit().await?;
    Ok(Booking { status: Status::Cancelled, updated_at: now, ..booking })
}

/// The branch's hub pulls `day` (see [`crate::store::pull_day`]).
pub async fn pull_day(pool: &Pool, branch: &str, day: NaiveDate) -> Result<Vec<Booking>, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let seen = tx
        .query(
            "UPDATE bookings SET place_held = false WHERE branch = $1 AND local_day = $2 AND place_held
             RETURNING service, start",
            &[&branch, &day],
        )
        .await?;
    for row in &seen {
        let (service, start): (String, DateTime<Utc>) = (row.try_get(0)?, row.try_get(1)?);
        adjust_place(&tx, branch, &service, start, -1).await?;
    }
    let sql = format!("SELECT {COLUMNS} FROM bookings WHERE branch = $1 AND local_day = $2 ORDER BY start, code");
    let bookings = from_rows(&tx.query(&sql, &[&branch, &day]).await?)?;
    tx.commit().await?;
    Ok(bookings)
}

/// The branch closed `day` for `service` (see [`crate::store::close_day`]): the bookings it
/// cancelled (none when repeated). No text goes out on PostgreSQL (the reminders' outbox is
/// SQLite's).
pub async fn close_day(
    pool: &Pool,
    branch: &str,
    service: Option<&str>,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Booking>, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    tx.execute(
        "INSERT INTO day_closures (branch, service, local_day, closed_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (branch, local_day, service) DO NOTHING",
        &[&branch, &service.unwrap_or(""), &day, &now],
    )
    .await?;
    let sql = format!(
        "UPDATE bookings SET status = 'cancelled', updated_at = $4
         WHERE branch = $1 AND local_day = $2 AND status = 'booked' AND ($3 = '' OR service = $3) RETURNING {COLUMNS}"
    );
    let cancelled = from_rows(&tx.query(&sql, &[&branch, &day, &service.unwrap_or(""), &now]).await?)?;
    for booking in &cancelled {
        adjust_place(&tx, &booking.branch, &booking.service, booking.start, -1).await?;
    }
    tx.commit().await?;
    Ok(cancelled)
}

/// Records what the branch hub reports (see [`crate::store::report`]).
pub async fn report(
    pool: &Pool,
    branch: &str,
    code: &str,
    status: Status,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Booking, BookError> {
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let booking = locked(&tx, code).await?.filter(|b| b.branch == branch).ok_or(BookError::NotFound)?;
    if !report_applies(booking.status, status) {
        return Ok(booking);
    }
    let held: bool = tx.query_one("SELECT place_held FROM bookings WHERE code = $1", &[&code]).await?.try_get(0)?;
    tx.execute(
        "UPDATE bookings SET status = $2, updated_at = $3, reported_at = $4, place_held = false WHERE code = $1",
        &[&code, &status.as_str(), &now, &at],
    )
    .await
    .map_err(refusal)?;
    // A cancellation the hub had not seen still held its place: it is the check-in's.
    if booking.status == Status::Cancelled && !held {
        adjust_place(&tx, &booking.branch, &booking.service, booking.start, 1).await?;
    }
    tx.commit().await?;
    Ok(Booking { status, updated_at: now, ..booking })
}

/// A booking by its code.
pub async fn by_code(pool: &Pool, code: &str) -> Result<Option<Booking>, BookError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(&format!("SELECT {COLUMNS} FROM bookings WHERE code = $1")).await?;
    client.query_opt(&stmt, &[&code]).await?.as_ref().map(from_row).transpose()
}

/// A booking by its page token.
pub async fn by_token(pool: &Pool, token: &str) -> Result<Option<Booking>, BookError> {
    let client = pool.get().await?;
    let stmt = client.prepare_cached(&format!("SELECT {COLUMNS} FROM bookings WHERE token = $1")).await?;
    client.query_opt(&stmt, &[&token]).await?.as_ref().map(from_row).transpose()
}

/// Places taken per slot start for a service on a day.
pub async fn taken_on_day(
    pool: &Pool,
    branch: &str,
    service: &str,
    day: NaiveDate,
) -> Result<HashMap<DateTime<Utc>, u32>, BookError> {
    let client = pool.get().await?;
    let stmt = client
        .prepare_cached(
            "SELECT start, CASE WHEN EXISTS (SELECT 1 FROM day_closures c WHERE c.branch = $1 AND c.local_day = $3
                                             AND c.service IN ('', $2)) THEN 2147483647 ELSE booked END
             FROM slots WHERE branch = $1 AND service = $2 AND local_day = $3",
        )
        .await?;
    let rows = client.query(&stmt, &[&branch, &service, &day]).await?;
    rows.iter().map(|r| Ok((r.try_get(0)?, u32::try_from(r.try_get::<_, i32>(1)?).unwrap_or(0)))).collect()
}

/// Every booking of a branch on a day (all statuses), by start then code.
pub async fn day_bookings(pool: &Pool, branch: &str, day: NaiveDate) -> Result<Vec<Booking>, BookError> {
    let client = pool.get().await?;
    let sql = format!("SELECT {COLUMNS} FROM bookings WHERE branch = $1 AND local_day = $2 ORDER BY start, code");
    from_rows(&client.query(&sql, &[&branch, &day]).await?)
}

/// Removes the personal data of every booking whose day is before `before`.
pub async fn purge(pool: &Pool, before: NaiveDate, now: DateTime<Utc>) -> Result<usize, BookError> {
    let client = pool.get().await?;
    client.execute("DELETE FROM waiting_list WHERE local_day < $1", &[&before]).await?;
    let n = client
        .execute(
            "UPDATE bookings SET name = NULL, national_id = NULL, phone = NULL, purged_at = $2 \
             WHERE local_day < $1 AND purged_at IS NULL",
            &[&before, &now],
        )
        .await?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

fn person_columns(person: &Person) -> (Option<&str>, Option<&str>) {
    match person {
        Person::NationalId(id) => (Some(id.as_str()), None),
        Person::Phone(phone) => (None, Some(phone.as_str())),
    }
}

/// A branch's bookings of `person` (their data still held), oldest slot first.
pub async fn of_person(pool: &Pool, branch: &str, person: &Person) -> Result<Vec<Booking>, BookError> {
    let client = pool.get().await?;
    let (id, phone) = person_columns(person);
    let sql = format!(
        "SELECT {COLUMNS} FROM bookings WHERE branch = $1 AND (national_id = $2 OR phone = $3) ORDER BY start, code"
    );
    from_rows(&client.query(&sql, &[&branch, &id, &phone]).await?)
}

/// Erases `person` from a branch's bookings: `(erased, cancelled)` (see [`crate::store::erase_person`]).
pub async fn erase_person(
    pool: &Pool,
    branch: &str,
    person: &Person,
    now: DateTime<Utc>,
) -> Result<(usize, usize), BookError> {
    let mut client = pool.get().await?;
    let (id, phone) = person_columns(person);
    let tx = client.transaction().await?;
    let active = tx
        .query(
            "SELECT service, start FROM bookings WHERE branch = $1 AND (national_id = $2 OR phone = $3) \
             AND status = 'booked' ORDER BY start FOR UPDATE",
            &[&branch, &id, &phone],
        )
        .await?;
    for row in &active {
        let (service, start): (String, DateTime<Utc>) = (row.try_get(0)?, row.try_get(1)?);
        adjust_place(&tx, branch, &service, start, -1).await?;
    }
    let cancelled = tx
        .execute(
            "UPDATE bookings SET status = 'cancelled', updated_at = $4 \
             WHERE branch = $1 AND (national_id = $2 OR phone = $3) AND status = 'booked'",
            &[&branch, &id, &phone, &now],
        )
        .await?;
    let erased = tx
        .execute(
            "UPDATE bookings SET name = NULL, national_id = NULL, phone = NULL, purged_at = $4 \
             WHERE branch = $1 AND (national_id = $2 OR phone = $3)",
            &[&branch, &id, &phone, &now],
        )
        .await?;
    // Holds waiting for their code go too, giving their places back.
    let held = tx
        .query(
            "DELETE FROM booking_holds WHERE branch = $1 AND (national_id = $2 OR phone = $3) RETURNING state, service, start",
            &[&branch, &id, &phone],
        )
        .await?;
    for row in &held {
        let (state, service, start): (String, String, DateTime<Utc>) =
            (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
        if state == "held" {
            adjust_place(&tx, branch, &service, start, -1).await?;
        }
    }
    tx.execute(
        "DELETE FROM waiting_list WHERE branch = $1 AND (national_id = $2 OR phone = $3)",
        &[&branch, &id, &phone],
    )
    .await?;
    tx.commit().await?;
    let count = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    Ok((count(erased), count(cancelled)))
}

/// A group of slot rows as the columns the job sends: starts and their local days.
type SlotColumns = (Vec<DateTime<Utc>>, Vec<NaiveDate>);

/// The slot job: makes the missing rows of `plan` and brings the planned rows' capacity in line
/// (rows already right are not touched, so the job takes no lock a booking waits for). Skipped,
/// returning 0, while another replica runs it.
pub async fn ensure_slots(pool: &Pool, plan: &[SlotPlan]) -> Result<usize, BookError> {
    let mut groups: BTreeMap<(&str, &str, u32), SlotColumns> = BTreeMap::new();
    for slot in plan {
        let group = groups.entry((&slot.branch, &slot.service, slot.capacity)).or_default();
        group.0.push(slot.start);
        group.1.push(slot.local_day);
    }
    let mut client = pool.get().await?;
    let tx = client.transaction().await?;
    let row = tx.query_one("SELECT pg_try_advisory_xact_lock($1)", &[&SLOT_JOB_LOCK]).await?;
    if !row.try_get::<_, bool>(0)? {
        return Ok(0);
    }
    let mut made = 0;
    for ((branch, service, capacity), (starts, days)) in &groups {
        let capacity = i32::try_from(*capacity).unwrap_or(i32::MAX);
        made += tx
            .execute(
                "INSERT INTO slots (branch, service, start, local_day, capacity) \
                 SELECT $1, $2, s, d, $5 FROM unnest($3::timestamptz[], $4::date[]) AS u(s, d) \
                 ON CONFLICT (branch, service, start) DO NOTHING",
                &[branch, service, starts, days, &capacity],
            )
            .await?;
        tx.execute(
            "UPDATE slots SET capacity = $4 WHERE branch = $1 AND service = $2 AND start = ANY($3) AND capacity <> $4",
            &[branch, service, starts, &capacity],
        )
        .await?;
    }
    tx.commit().await?;
    Ok(usize::try_from(made).unwrap_or(usize::MAX))
}
