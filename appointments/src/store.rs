//! SQLite storage of bookings (the site's default engine), with the capacity rule enforced
//! inside the transaction; [`crate::pg`] keeps the same rules on PostgreSQL.
//!
//! One database file (`{data_dir}/appointments.db`), WAL, `synchronous=FULL`: a booking the
//! citizen was told about survives a crash. Each slot is a row holding its places taken; a
//! booking is one transaction that takes a place with a conditional update of that row
//! (`booked = booked + 1 WHERE … AND booked < capacity`) and then inserts the booking, so two
//! requests for the last place can never both get it, on either engine and across processes.
//! A partial unique index keeps one active booking per ID number per service per day. The slot
//! rows of the booking horizon are made by a job ([`ensure_slots`]); a booking for a slot the job
//! has not reached yet makes its row first.
use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, NaiveDate, Utc};
use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};

pub mod waiting;

/// The database file's name inside the data directory.
pub const FILE_NAME: &str = "appointments.db";

use dawr_web::db::parse_ts;
pub use dawr_web::db::{StoreError, ts};

/// Why a booking or a change of slot was refused.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("that slot is full")]
    Full,
    #[error("this ID number already has a booking for this service on that day")]
    AlreadyBooked,
    #[error("this mobile already holds as many active bookings as one may")]
    MobileLimit,
    #[error("the booking code is taken")]
    CodeTaken,
    #[error("this mobile or address was sent as many codes as it may be for now")]
    TooManyCodes,
    #[error("this hold was confirmed already, or expired and gave its place back")]
    HoldEnded,
    #[error("that slot has a place nobody waits for: book it")]
    NotFull,
    #[error("as many wait for that slot as may")]
    ListFull,
    #[error("no such booking")]
    NotFound,
    #[error("the booking is {0:?}, so it cannot be changed")]
    NotActive(Status),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("database: {0}")]
    Postgres(String),
}

impl From<rusqlite::Error> for BookError {
    fn from(e: rusqlite::Error) -> Self {
        BookError::Store(StoreError::Sqlite(e))
    }
}

/// Where a booking is in its life (the wire contract's status, stored as its name).
pub use dawr_protocol::api::bookings::BookingStatus as Status;

/// A stored status.
pub(crate) fn parse_status(text: &str) -> Result<Status, StoreError> {
    text.parse().map_err(|_| StoreError::Corrupt { column: "status", value: text.into() })
}

/// A stored booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub code: String,
    pub token: String,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub local_day: NaiveDate,
    pub name: String,
    pub national_id: String,
    pub phone: String,
    pub lang: String,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A booking to make: everything but its status, checked by the caller against the slot rules.
#[derive(Debug, Clone)]
pub struct NewBooking {
    pub code: String,
    pub token: String,
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub local_day: NaiveDate,
    pub name: String,
    pub national_id: String,
    pub phone: String,
    pub lang: String,
    /// Places in the slot.
    pub capacity: u32,
    /// Active bookings the mobile may hold (`[limits] bookings_per_mobile`); 0: no limit.
    pub per_mobile: u32,
    pub now: DateTime<Utc>,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("store/001_initial.sql")),
        M::up(include_str!("store/002_personal_data.sql")),
        M::up(include_str!("store/003_reminders.sql")),
        M::up(include_str!("store/004_slots.sql")),
        M::up(include_str!("store/005_closures.sql")),
        M::up(include_str!("store/006_holds.sql")),
        M::up(include_str!("store/007_waiting_list.sql")),
    ])
}

/// The schema version this site writes (`PRAGMA user_version` once migrated): a backup of a
/// newer one is not restored.
pub fn schema_version() -> Result<i64, StoreError> {
    let mut conn = Connection::open_in_memory()?;
    migrations().to_latest(&mut conn)?;
    Ok(conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Opens (creating and migrating if needed) the database at `path`.
pub fn open(path: &Path) -> Result<Connection, StoreError> {
    dawr_web::db::open(path, &migrations(), std::time::Duration::from_secs(10))
}

const COLUMNS: &str = "code, token, branch, service, start, local_day, name, national_id, phone, lang, status, \
                       created_at, updated_at";

fn from_row(row: &Row<'_>) -> Result<Booking, StoreError> {
    let day: String = row.get(5)?;
    Ok(Booking {
        code: row.get(0)?,
        token: row.get(1)?,
        branch: row.get(2)?,
        service: row.get(3)?,
        start: parse_ts("start", &row.get::<_, String>(4)?)?,
        local_day: day.parse().map_err(|_| StoreError::Corrupt { column: "local_day", value: day.clone() })?,
        // Empty once retention or an erasure removed them.
        name: row.get::<_, Option<String>>(6)?.unwrap_or_default(),
        national_id: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
        phone: row.get::<_, Option<String>>(8)?.unwrap_or_default(),
        lang: row.get(9)?,
        status: parse_status(&row.get::<_, String>(10)?)?,
        created_at: parse_ts("created_at", &row.get::<_, String>(11)?)?,
        updated_at: parse_ts("updated_at", &row.get::<_, String>(12)?)?,
    })
}

fn is_unique_violation(e: &rusqlite::Error, index_or_column: &str) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, Some(msg))
        if f.code == rusqlite::ErrorCode::ConstraintViolation && msg.contains(index_or_column))
}

/// A slot row to make (the job's plan for the horizon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotPlan {
    pub branch: String,
    pub service: String,
    pub start: DateTime<Utc>,
    pub local_day: NaiveDate,
    pub capacity: u32,
}

/// Takes a place in a slot: the conditional update of its row, after making the row if the
/// job has not (with `capacity`). `Full` when no place is left, and (`waiters_first`: a booking,
/// a hold, a move; not an offer to the line) when anyone is on the slot's waiting list.
fn take_place(
    tx: &Connection,
    branch: &str,
    service: &str,
    start: DateTime<Utc>,
    local_day: NaiveDate,
    capacity: u32,
    waiters_first: bool,
) -> Result<(), BookError> {
    if is_closed(tx, branch, service, local_day)? {
        return Err(BookError::Full);
    }
    if waiters_first && waiting::someone_waits(tx, branch, service, start)? {
        return Err(BookError::Full);
    }
    let id: Option<i64> = tx
        .query_row(
            "SELECT id FROM slots WHERE branch = ?1 AND service = ?2 AND start = ?3",
            params![branch, service, ts(start)],
            |r| r.get(0),
        )
        .optional()?;
    let id = match id {
        Some(id) => id,
        None => tx.query_row(
            "INSERT INTO slots (branch, service, start, local_day, capacity) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING id",
            params![branch, service, ts(start), local_day.to_string(), capacity],
            |r| r.get(0),
        )?,
    };
    let taken = tx.execute("UPDATE slots SET booked = booked + 1 WHERE id = ?1 AND booked < capacity", [id])?;
    if taken == 0 { Err(BookError::Full) } else { Ok(()) }
}

/// Gives a place back (a cancellation or a move), or takes one regardless of capacity
/// (`delta` +1: a cancelled booking the branch checked in after all).
fn adjust_place(
    tx: &Connection,
    branch: &str,
    service: &str,
    start: DateTime<Utc>,
    delta: i32,
) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE slots SET booked = MAX(booked + ?4, 0) WHERE branch = ?1 AND service = ?2 AND start = ?3",
        params![branch, service, ts(start), delta],
    )?;
    Ok(())
}

fn has_active_that_day(
    conn: &Connection,
    branch: &str,
    service: &str,
    day: NaiveDate,
    national_id: &str,
    except: &str,
) -> rusqlite::Result<bool> {
    conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM bookings WHERE branch = ?1 AND service = ?2 AND local_day = ?3 \
         AND national_id = ?4 AND status IN ('booked', 'checked_in') AND code <> ?5)",
        params![branch, service, day.to_string(), national_id, except],
        |r| r.get(0),
    )
}

/// The booking a [`NewBooking`] becomes once stored.
pub fn booked(new: &NewBooking) -> Booking {
    Booking {
        code: new.code.clone(),
        token: new.token.clone(),
        branch: new.branch.clone(),
        service: new.service.clone(),
        start: new.start,
        local_day: new.local_day,
        name: new.name.clone(),
        national_id: new.national_id.clone(),
        phone: new.phone.clone(),
        lang: new.lang.clone(),
        status: Status::Booked,
        created_at: new.now,
        updated_at: new.now,
    }
}

/// Books a place: in one immediate transaction, takes a place in the slot's row (or refuses,
/// full) and inserts the booking.
pub fn book(conn: &mut Connection, new: &NewBooking) -> Result<Booking, BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if new.per_mobile > 0 {
        // Inside the immediate transaction: no other writer counts at the same time.
        let held: i64 = tx.query_row(
            "SELECT COUNT(*) FROM bookings WHERE phone = ?1 AND status = 'booked' AND start > ?2",
            params![new.phone, ts(new.now)],
            |r| r.get(0),
        )?;
        if held >= i64::from(new.per_mobile) {
            return Err(BookError::MobileLimit);
        }
    }
    take_place(&tx, &new.branch, &new.service, new.start, new.local_day, new.capacity, true)?;
    let now = ts(new.now);
    let inserted = tx.execute(
        &format!(
            "INSERT INTO bookings ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'booked', ?11, ?11)"
        ),
        params![
            new.code,
            new.token,
            new.branch,
            new.service,
            ts(new.start),
            new.local_day.to_string(),
            new.name,
            new.national_id,
            new.phone,
            new.lang,
            now
        ],
    );
    match inserted {
        Ok(_) => {}
        Err(e) if is_unique_violation(&e, "bookings.code") || is_unique_violation(&e, "bookings.token") => {
            return Err(BookError::CodeTaken);
        }
        Err(e) if is_unique_violation(&e, "national_id") => return Err(BookError::AlreadyBooked),
        Err(e) => return Err(e.into()),
    }
    tx.commit()?;
    Ok(booked(new))
}

/// A booking to hold until its one-time code is typed (`[sms] confirm_bookings`).
#[derive(Debug, Clone)]
pub struct NewHold {
    /// Random: the confirmation page's address.
    pub handle: String,
    /// The code's HMAC (`dawr_web::otp::code_mac`).
    pub code_mac: Vec<u8>,
    /// The address that asked (`crate::ratelimit::client_key`).
    pub client: String,
    pub expires_at: DateTime<Utc>,
    /// Codes one mobile, and one address, may be sent since `since`.
    pub codes_per_mobile: u32,
    pub codes_per_client: u32,
    pub since: DateTime<Utc>,
    /// The booking it becomes (`now` is when the hold is made).
    pub booking: NewBooking,
}

/// Where a hold is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HoldState {
    /// Its place is taken and its code may be typed.
    Held,
    /// It became its booking.
    Confirmed,
    /// It expired, or its booking was refused: its place went back.
    Released,
}

impl HoldState {
    pub(crate) fn parse(text: &str) -> HoldState {
        match text {
            "held" => HoldState::Held,
            "confirmed" => HoldState::Confirmed,
            _ => HoldState::Released,
        }
    }
}

/// A stored hold: its code's state and the booking it becomes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hold {
    pub handle: String,
    pub code_mac: Vec<u8>,
    pub attempts: u32,
    pub state: HoldState,
    pub expires_at: DateTime<Utc>,
    /// As it will be once confirmed.
    pub booking: Booking,
}

impl Hold {
    /// What `dawr_web::otp::may_try` needs.
    pub fn code_state(&self) -> dawr_web::otp::CodeState {
        dawr_web::otp::CodeState {
            expires_at: self.expires_at,
            attempts: self.attempts,
            used: self.state != HoldState::Held,
        }
    }
}

const HOLD_COLUMNS: &str = "handle, code_mac, attempts, state, expires_at, code, token, branch, service, start, \
                            local_day, name, national_id, phone, lang, created_at";

fn hold_from_row(row: &Row<'_>) -> Result<Hold, StoreError> {
    let day: String = row.get(10)?;
    let created = parse_ts("created_at", &row.get::<_, String>(15)?)?;
    Ok(Hold {
        handle: row.get(0)?,
        code_mac: row.get(1)?,
        attempts: row.get(2)?,
        state: HoldState::parse(&row.get::<_, String>(3)?),
        expires_at: parse_ts("expires_at", &row.get::<_, String>(4)?)?,
        booking: Booking {
            code: row.get(5)?,
            token: row.get(6)?,
            branch: row.get(7)?,
            service: row.get(8)?,
            start: parse_ts("start", &row.get::<_, String>(9)?)?,
            local_day: day.parse().map_err(|_| StoreError::Corrupt { column: "local_day", value: day.clone() })?,
            name: row.get(11)?,
            national_id: row.get(12)?,
            phone: row.get(13)?,
            lang: row.get(14)?,
            status: Status::Booked,
            created_at: created,
            updated_at: created,
        },
    })
}

/// The one-time codes sent since `since` to a mobile and from a client address: booking holds
/// and waiting-list entries together (each sent one), counted in the caller's transaction.
pub(crate) fn codes_sent(
    conn: &Connection,
    phone: &str,
    client: &str,
    since: DateTime<Utc>,
) -> rusqlite::Result<CodesSent> {
    conn.query_row(
        "SELECT (SELECT COUNT(*) FROM booking_holds WHERE phone = ?1 AND created_at >= ?3)
              + (SELECT COUNT(*) FROM waiting_list WHERE phone = ?1 AND created_at >= ?3),
                (SELECT COUNT(*) FROM booking_holds WHERE client = ?2 AND created_at >= ?3)
              + (SELECT COUNT(*) FROM waiting_list WHERE client = ?2 AND created_at >= ?3)",
        params![phone, client, ts(since)],
        |r| Ok(CodesSent { to_mobile: r.get(0)?, from_client: r.get(1)? }),
    )
}

/// How many one-time codes (holds' and waiting-list entries' together) a mobile and a client
/// address were sent in the window that limits them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CodesSent {
    pub to_mobile: i64,
    pub from_client: i64,
}

/// Whether one more code may be sent: `TooManyCodes` once the mobile has reached `per_mobile`
/// or the address `per_client` (on either engine).
pub fn may_send_code(sent: CodesSent, per_mobile: u32, per_client: u32) -> Result<(), BookError> {
    if sent.to_mobile >= i64::from(per_mobile) || sent.from_client >= i64::from(per_client) {
        return Err(BookError::TooManyCodes);
    }
    Ok(())
}

/// Holds a place until the code is typed: in one immediate transaction, refuses when the
/// mobile or the address was sent as many codes as it may be since `since` (holds and
/// waiting-list entries together, [`codes_sent`]), takes the place in
/// the slot's row (or refuses, full) and stores the hold. Expired holds give their places back
/// first. No rule about who books is checked here: that waits for the code (so an answer to
/// someone who does not hold the mobile says nothing about an ID number's bookings).
pub fn hold(conn: &mut Connection, new: &NewHold) -> Result<(), BookError> {
    let b = &new.booking;
    release_expired(conn, b.now)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let sent = codes_sent(&tx, &b.phone, &new.client, new.since)?;
    may_send_code(sent, new.codes_per_mobile, new.codes_per_client)?;
    take_place(&tx, &b.branch, &b.service, b.start, b.local_day, b.capacity, true)?;
    tx.execute(
        &format!(
            "INSERT INTO booking_holds (client, {HOLD_COLUMNS}) \
             VALUES (?1, ?2, ?3, 0, 'held', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)"
        ),
        params![
            new.client,
            new.handle,
            new.code_mac,
            ts(new.expires_at),
            b.code,
            b.token,
            b.branch,
            b.service,
            ts(b.start),
            b.local_day.to_string(),
            b.name,
            b.national_id,
            b.phone,
            b.lang,
            ts(b.now)
        ],
    )?;
    tx.commit()?;
    Ok(())
}

/// The hold behind a handle.
pub fn hold_by_handle(conn: &Connection, handle: &str) -> Result<Option<Hold>, StoreError> {
    let sql = format!("SELECT {HOLD_COLUMNS} FROM booking_holds WHERE handle = ?1");
    conn.query_row(&sql, [handle], |row| Ok(hold_from_row(row))).optional()?.transpose()
}

/// A wrong code was typed for a hold.
pub fn wrong_code(conn: &Connection, handle: &str) -> Result<(), StoreError> {
    conn.execute("UPDATE booking_holds SET attempts = attempts + 1 WHERE handle = ?1", [handle])?;
    Ok(())
}

/// The right code was typed: the hold becomes its booking, on the place it already took (counted
/// once). `HoldEnded` if it was confirmed already or has expired; when the booking is refused
/// for who books (`AlreadyBooked`, `MobileLimit`: `per_mobile` active bookings), the hold gives
/// its place back.
pub fn confirm_hold(
    conn: &mut Connection,
    handle: &str,
    per_mobile: u32,
    now: DateTime<Utc>,
) -> Result<Booking, BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let claimed = tx.execute(
        "UPDATE booking_holds SET state = 'confirmed' WHERE handle = ?1 AND state = 'held' AND expires_at > ?2",
        params![handle, ts(now)],
    )?;
    let Some(hold) = hold_by_handle(&tx, handle)?.filter(|_| claimed == 1) else { return Err(BookError::HoldEnded) };
    let b = Booking { created_at: now, updated_at: now, ..hold.booking };
    let refused = if per_mobile > 0 && mobile_holds(&tx, &b.phone, now)? >= i64::from(per_mobile) {
        Some(BookError::MobileLimit)
    } else {
        let inserted = tx.execute(
            &format!(
                "INSERT INTO bookings ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'booked', ?11, ?11)"
            ),
            params![
                b.code,
                b.token,
                b.branch,
                b.service,
                ts(b.start),
                b.local_day.to_string(),
                b.name,
                b.national_id,
                b.phone,
                b.lang,
                ts(now)
            ],
        );
        match inserted {
            Ok(_) => None,
            Err(e) if is_unique_violation(&e, "national_id") => Some(BookError::AlreadyBooked),
            Err(e) if is_unique_violation(&e, "bookings.code") || is_unique_violation(&e, "bookings.token") => {
                Some(BookError::CodeTaken)
            }
            Err(e) => return Err(e.into()),
        }
    };
    if let Some(refusal) = refused {
        tx.execute("UPDATE booking_holds SET state = 'released' WHERE handle = ?1", [handle])?;
        adjust_place(&tx, &b.branch, &b.service, b.start, -1)?;
        tx.commit()?;
        return Err(refusal);
    }
    tx.commit()?;
    Ok(b)
}

/// Active bookings a mobile holds (slots still to come).
fn mobile_holds(conn: &Connection, phone: &str, now: DateTime<Utc>) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM bookings WHERE phone = ?1 AND status = 'booked' AND start > ?2",
        params![phone, ts(now)],
        |r| r.get(0),
    )
}

/// Gives one place of the slot `(branch, service, start)` back (never below none taken).
fn give_back_place(tx: &Transaction<'_>, branch: &str, service: &str, start: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE slots SET booked = MAX(booked - 1, 0) WHERE branch = ?1 AND service = ?2 AND start = ?3",
    )?
    .execute(params![branch, service, start])?;
    Ok(())
}

/// Holds whose code expired unconfirmed give their places back; holds ended more than
/// [`dawr_web::otp::CODES_WINDOW`] ago (no longer counted) are removed, with their personal data.
/// Returns how many places went back.
pub fn release_expired(conn: &mut Connection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let expired: Vec<(String, String, String, String)> = {
        let mut stmt = tx.prepare_cached(
            "UPDATE booking_holds SET state = 'released' WHERE state = 'held' AND expires_at <= ?1
             RETURNING handle, branch, service, start",
        )?;
        stmt.query_map([ts(now)], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?.collect::<Result<_, _>>()?
    };
    for (_, branch, service, start) in &expired {
        give_back_place(&tx, branch, service, start)?;
    }
    tx.execute(
        "DELETE FROM booking_holds WHERE state <> 'held' AND created_at < ?1",
        [ts(now - dawr_web::otp::CODES_WINDOW)],
    )?;
    tx.commit()?;
    Ok(expired.len())
}

/// Makes the slot rows of `plan` that are missing, and brings the capacity of the planned ones
/// in line with the plan. Returns how many rows were made.
pub fn ensure_slots(conn: &mut Connection, plan: &[SlotPlan]) -> Result<usize, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut made = 0;
    {
        let mut insert = tx.prepare_cached(
            "INSERT INTO slots (branch, service, start, local_day, capacity) VALUES (?1, ?2, ?3, ?4, ?5) \
             ON CONFLICT (branch, service, start) DO NOTHING",
        )?;
        let mut resize = tx.prepare_cached(
            "UPDATE slots SET capacity = ?4 WHERE branch = ?1 AND service = ?2 AND start = ?3 AND capacity <> ?4",
        )?;
        for slot in plan {
            let start = ts(slot.start);
            made +=
                insert.execute(params![slot.branch, slot.service, start, slot.local_day.to_string(), slot.capacity])?;
            resize.execute(params![slot.branch, slot.service, start, slot.capacity])?;
        }
    }
    tx.commit()?;
    Ok(made)
}

/// Moves an active booking to another slot of the same service, under the same rules.
pub fn reschedule(
    conn: &mut Connection,
    code: &str,
    start: DateTime<Utc>,
    local_day: NaiveDate,
    capacity: u32,
    now: DateTime<Utc>,
) -> Result<Booking, BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let booking = by_code(&tx, code)?.ok_or(BookError::NotFound)?;
    if booking.status != Status::Booked {
        return Err(BookError::NotActive(booking.status));
    }
    if has_active_that_day(&tx, &booking.branch, &booking.service, local_day, &booking.national_id, code)? {
        return Err(BookError::AlreadyBooked);
    }
    if start != booking.start {
        take_place(&tx, &booking.branch, &booking.service, start, local_day, capacity, true)?;
        adjust_place(&tx, &booking.branch, &booking.service, booking.start, -1)?;
    }
    tx.execute(
        "UPDATE bookings SET start = ?2, local_day = ?3, updated_at = ?4 WHERE code = ?1",
        params![code, ts(start), local_day.to_string(), ts(now)],
    )?;
    tx.commit()?;
    Ok(Booking { start, local_day, updated_at: now, ..booking })
}

/// Cancels an active booking; cancelling a cancelled one again changes nothing.
pub fn cancel(conn: &mut Connection, code: &str, now: DateTime<Utc>) -> Result<Booking, BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let booking = by_code(&tx, code)?.ok_or(BookError::NotFound)?;
    match booking.status {
        Status::Cancelled => return Ok(booking),
        Status::Booked => {}
        other => return Err(BookError::NotActive(other)),
    }
    // The place stays taken until the hub has pulled the cancellation ([`pull_day`]).
    tx.execute(
        "UPDATE bookings SET status = 'cancelled', place_held = 1, updated_at = ?2 WHERE code = ?1",
        params![code, ts(now)],
    )?;
    tx.commit()?;
    Ok(Booking { status: Status::Cancelled, updated_at: now, ..booking })
}

/// The branch's hub pulls `day`: every booking of that day, after the cancellations it has not
/// seen yet give their places back (it sees them now), in one transaction.
pub fn pull_day(conn: &mut Connection, branch: &str, day: NaiveDate) -> Result<Vec<Booking>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let seen: Vec<(String, String)> = {
        let mut stmt = tx.prepare_cached(
            "UPDATE bookings SET place_held = 0 WHERE branch = ?1 AND local_day = ?2 AND place_held = 1
             RETURNING service, start",
        )?;
        stmt.query_map(params![branch, day.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
    };
    for (service, start) in &seen {
        give_back_place(&tx, branch, service, start)?;
    }
    let bookings = day_bookings(&tx, branch, day)?;
    tx.commit()?;
    Ok(bookings)
}

/// Records what the branch hub reports: checked in or no-show. Repeating a report is harmless;
/// a check-in wins over a no-show (the hub saw the citizen). Returns the booking as it is now.
pub fn report(
    conn: &mut Connection,
    branch: &str,
    code: &str,
    status: Status,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Booking, BookError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let booking = by_code(&tx, code)?.filter(|b| b.branch == branch).ok_or(BookError::NotFound)?;
    if !report_applies(booking.status, status) {
        return Ok(booking);
    }
    let held: bool = tx.query_row("SELECT place_held FROM bookings WHERE code = ?1", [code], |r| r.get(0))?;
    tx.execute(
        "UPDATE bookings SET status = ?2, updated_at = ?3, reported_at = ?4, place_held = 0 WHERE code = ?1",
        params![code, status.as_str(), ts(now), ts(at)],
    )?;
    if booking.status == Status::Cancelled && !held {
        // A cancellation the hub had not seen still held its place: it is the check-in's. Else
        // the citizen came after all: they hold their place again (beyond capacity if need be).
        adjust_place(&tx, &booking.branch, &booking.service, booking.start, 1)?;
    }
    tx.commit()?;
    Ok(Booking { status, updated_at: now, ..booking })
}

/// Whether a hub's report of `to` changes a booking that is `from`: a check-in wins over a
/// no-show and a cancellation (the hub saw the citizen); anything else is a repeat.
pub fn report_applies(from: Status, to: Status) -> bool {
    matches!(
        (from, to),
        (Status::Booked, Status::CheckedIn | Status::NoShow) | (Status::NoShow | Status::Cancelled, Status::CheckedIn)
    )
}

/// A booking by its code.
pub fn by_code(conn: &Connection, code: &str) -> Result<Option<Booking>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM bookings WHERE code = ?1");
    conn.query_row(&sql, [code], |row| Ok(from_row(row))).optional()?.transpose()
}

/// A booking by its page token.
pub fn by_token(conn: &Connection, token: &str) -> Result<Option<Booking>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM bookings WHERE token = ?1");
    conn.query_row(&sql, [token], |row| Ok(from_row(row))).optional()?.transpose()
}

/// Places taken per slot start for a service on a day.
pub fn taken_on_day(
    conn: &Connection,
    branch: &str,
    service: &str,
    day: NaiveDate,
) -> Result<HashMap<DateTime<Utc>, u32>, StoreError> {
    // A closed day's slots are all taken.
    let mut stmt = conn.prepare_cached(
        "SELECT start, CASE WHEN EXISTS (SELECT 1 FROM day_closures c WHERE c.branch = ?1 AND c.local_day = ?3
                                         AND c.service IN ('', ?2)) THEN 4294967295 ELSE booked END
         FROM slots WHERE branch = ?1 AND service = ?2 AND local_day = ?3",
    )?;
    let mut rows = stmt.query(params![branch, service, day.to_string()])?;
    let mut taken = HashMap::new();
    while let Some(row) = rows.next()? {
        taken.insert(parse_ts("start", &row.get::<_, String>(0)?)?, row.get(1)?);
    }
    Ok(taken)
}

/// Whether the branch closed `day` for `service` (or for every service).
fn is_closed(conn: &Connection, branch: &str, service: &str, day: NaiveDate) -> Result<bool, StoreError> {
    Ok(conn
        .prepare_cached(
            "SELECT 1 FROM day_closures WHERE branch = ?1 AND local_day = ?2 AND service IN ('', ?3) LIMIT 1",
        )?
        .query_row(params![branch, day.to_string(), service], |_| Ok(()))
        .optional()?
        .is_some())
}

/// The branch closed `day` for `service` (`None`: every service), as its hub tells: records it
/// (no booking takes a place that day from now on) and cancels that day's bookings still
/// `booked` for it, giving their places back. Returns the bookings it cancelled (none when the
/// day was closed already). Run inside the caller's transaction.
pub fn close_day(
    tx: &Connection,
    branch: &str,
    service: Option<&str>,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<Vec<Booking>, StoreError> {
    tx.execute(
        "INSERT INTO day_closures (branch, service, local_day, closed_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (branch, local_day, service) DO NOTHING",
        params![branch, service.unwrap_or(""), day.to_string(), ts(now)],
    )?;
    let mut cancelled = Vec::new();
    for booking in day_bookings(tx, branch, day)? {
        if booking.status != Status::Booked || service.is_some_and(|s| s != booking.service) {
            continue;
        }
        tx.execute(
            "UPDATE bookings SET status = 'cancelled', updated_at = ?2 WHERE code = ?1",
            params![booking.code, ts(now)],
        )?;
        adjust_place(tx, &booking.branch, &booking.service, booking.start, -1)?;
        cancelled.push(Booking { status: Status::Cancelled, updated_at: now, ..booking });
    }
    Ok(cancelled)
}

/// Every booking of a branch on a day (all statuses), by start then code.
pub fn day_bookings(conn: &Connection, branch: &str, day: NaiveDate) -> Result<Vec<Booking>, StoreError> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE branch = ?1 AND local_day = ?2 ORDER BY start, code"
    ))?;
    let mut rows = stmt.query(params![branch, day.to_string()])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

/// Makes SQLite zero the space removed content leaves in the file (`secure_delete`), so a
/// removed ID number is not left readable in a free part of a page.
fn overwrite_what_is_removed(conn: &Connection) -> Result<(), StoreError> {
    Ok(conn.pragma_update(None, "secure_delete", true)?)
}

/// Removes the name, ID number and mobile of every booking whose day is before `before` (its
/// retention ended); the booking stays (slot, service, status). Returns how many.
pub fn purge(conn: &mut Connection, before: NaiveDate, now: DateTime<Utc>) -> Result<usize, StoreError> {
    overwrite_what_is_removed(conn)?;
    conn.execute("DELETE FROM waiting_list WHERE local_day < ?1", [before.to_string()])?;
    Ok(conn.execute(
        "UPDATE bookings SET name = NULL, national_id = NULL, phone = NULL, purged_at = ?2
         WHERE local_day < ?1 AND purged_at IS NULL",
        params![before.to_string(), ts(now)],
    )?)
}

/// Whose bookings: an ID number or a mobile, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Person {
    NationalId(String),
    Phone(String),
}

impl Person {
    fn columns(&self) -> (Option<&str>, Option<&str>) {
        match self {
            Person::NationalId(id) => (Some(id), None),
            Person::Phone(phone) => (None, Some(phone)),
        }
    }
}

/// A branch's bookings of `person` (their data still held), oldest slot first.
pub fn of_person(conn: &Connection, branch: &str, person: &Person) -> Result<Vec<Booking>, StoreError> {
    let (id, phone) = person.columns();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM bookings WHERE branch = ?1 AND (national_id = ?2 OR phone = ?3) ORDER BY start, code"
    ))?;
    let mut rows = stmt.query(params![branch, id, phone])?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(from_row(row)?);
    }
    Ok(out)
}

/// Erases `person` from a branch's bookings: an active booking is cancelled (its place freed),
/// then every one loses its name, ID number and mobile. Returns `(erased, cancelled)`.
pub fn erase_person(
    conn: &mut Connection,
    branch: &str,
    person: &Person,
    now: DateTime<Utc>,
) -> Result<(usize, usize), StoreError> {
    overwrite_what_is_removed(conn)?;
    let (id, phone) = person.columns();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let active: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT service, start FROM bookings WHERE branch = ?1 AND (national_id = ?2 OR phone = ?3) \
             AND status = 'booked'",
        )?;
        stmt.query_map(params![branch, id, phone], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
    };
    for (service, start) in &active {
        give_back_place(&tx, branch, service, start)?;
    }
    let cancelled = tx.execute(
        "UPDATE bookings SET status = 'cancelled', updated_at = ?4
         WHERE branch = ?1 AND (national_id = ?2 OR phone = ?3) AND status = 'booked'",
        params![branch, id, phone, ts(now)],
    )?;
    let erased = tx.execute(
        "UPDATE bookings SET name = NULL, national_id = NULL, phone = NULL, purged_at = ?4
         WHERE branch = ?1 AND (national_id = ?2 OR phone = ?3)",
        params![branch, id, phone, ts(now)],
    )?;
    // Holds waiting for their code go too, giving their places back.
    let held: Vec<(String, String)> = {
        let mut stmt = tx.prepare(
            "SELECT service, start FROM booking_holds WHERE branch = ?1 AND (national_id = ?2 OR phone = ?3) \
             AND state = 'held'",
        )?;
        stmt.query_map(params![branch, id, phone], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?
    };
    for (service, start) in &held {
        give_back_place(&tx, branch, service, start)?;
    }
    tx.execute(
        "DELETE FROM booking_holds WHERE branch = ?1 AND (national_id = ?2 OR phone = ?3)",
        params![branch, id, phone],
    )?;
    tx.execute(
        "DELETE FROM waiting_list WHERE branch = ?1 AND (national_id = ?2 OR phone = ?3)",
        params![branch, id, phone],
    )?;
    tx.commit()?;
    Ok((erased, cancelled))
}

#[cfg(test)]
mod upgrades;

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> (tempfile::TempDir, Connection) {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join(FILE_NAME)).unwrap();
        (dir, conn)
    }

    fn new(code: &str, id: &str, start: &str, capacity: u32) -> NewBooking {
        let start: DateTime<Utc> = start.parse().unwrap();
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
            capacity,
            per_mobile: 0,
            now: "2026-11-22T10:00:00Z".parse().unwrap(),
        }
    }

    fn hold_of(handle: &str, booking: NewBooking, client: &str) -> NewHold {
        NewHold {
            handle: handle.into(),
            code_mac: b"mac".to_vec(),
            client: client.into(),
            expires_at: booking.now + dawr_web::otp::CODE_TTL,
            codes_per_mobile: 3,
            codes_per_client: 4,
            since: booking.now - dawr_web::otp::CODES_WINDOW,
            booking,
        }
    }

    fn taken(conn: &Connection, start: &str) -> u32 {
        let start: DateTime<Utc> = start.parse().unwrap();
        taken_on_day(conn, "demo", "A", start.date_naive()).unwrap().get(&start).copied().unwrap_or(0)
    }

    #[test]
    fn a_hold_takes_its_place_once_and_gives_it_back_unless_confirmed() {
        let (_dir, mut conn) = db();
        let slot = "2026-11-23T05:00:00Z";
        let now: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        hold(&mut conn, &hold_of("h1", new("C1", "1000000008", slot, 2), "10.0.0.1")).unwrap();
        assert_eq!(taken(&conn, slot), 1, "held: the place is taken while the code is pending");
        assert!(by_code(&conn, "C1").unwrap().is_none(), "not a booking yet: the hub pulls nothing");
        let other = NewBooking { phone: "+966561234567".into(), ..new("C2", "1000000016", slot, 2) };
        hold(&mut conn, &hold_of("h2", other, "10.0.0.2")).unwrap();
        let third = NewBooking { phone: "+966571234567".into(), ..new("C3", "1000000024", slot, 2) };
        assert!(matches!(hold(&mut conn, &hold_of("h3", third, "10.0.0.3")), Err(BookError::Full)));

        // Confirmed: the same place, counted once.
        let booking = confirm_hold(&mut conn, "h1", 0, now).unwrap();
        assert_eq!((booking.code.as_str(), booking.status), ("C1", Status::Booked));
        assert_eq!(taken(&conn, slot), 2);
        assert!(by_code(&conn, "C1").unwrap().is_some());
        assert!(matches!(confirm_hold(&mut conn, "h1", 0, now), Err(BookError::HoldEnded)), "once");
        assert_eq!(hold_by_handle(&conn, "h1").unwrap().unwrap().state, HoldState::Confirmed);

        // The other expires unconfirmed: its place goes back, and it can no longer be confirmed.
        let later = now + dawr_web::otp::CODE_TTL;
        assert_eq!(release_expired(&mut conn, later).unwrap(), 1);
        assert_eq!(taken(&conn, slot), 1);
        assert!(matches!(confirm_hold(&mut conn, "h2", 0, later), Err(BookError::HoldEnded)));
        assert_eq!(release_expired(&mut conn, later).unwrap(), 0, "released once");
    }

    #[test]
    fn a_hold_refused_for_who_books_gives_its_place_back_and_codes_are_limited() {
        let (_dir, mut conn) = db();
        let slot = "2026-11-23T05:00:00Z";
        let now: DateTime<Utc> = "2026-11-22T10:00:00Z".parse().unwrap();
        book(&mut conn, &new("B1", "1000000008", slot, 5)).unwrap();
        // The same ID number for the same service that day: held (nothing is told before the
        // code), then refused at the code, the place given back.
        hold(&mut conn, &hold_of("h1", new("C1", "1000000008", "2026-11-23T06:00:00Z", 5), "10.0.0.1")).unwrap();
        assert_eq!(taken(&conn, "2026-11-23T06:00:00Z"), 1);
        assert!(matches!(confirm_hold(&mut conn, "h1", 0, now), Err(BookError::AlreadyBooked)));
        assert_eq!(taken(&conn, "2026-11-23T06:00:00Z"), 0);
        assert_eq!(hold_by_handle(&conn, "h1").unwrap().unwrap().state, HoldState::Released);

        // Three codes per mobile an hour (h1 counted), four per address.
        hold(&mut conn, &hold_of("h2", new("C2", "1000000016", slot, 5), "10.0.0.1")).unwrap();
        hold(&mut conn, &hold_of("h3", new("C3", "1000000024", slot, 5), "10.0.0.1")).unwrap();
        let fourth = hold(&mut conn, &hold_of("h4", new("C4", "1000000032", slot, 5), "10.0.0.2"));
        assert!(matches!(fourth, Err(BookError::TooManyCodes)), "{fourth:?}");
        let other = |code: &str, phone: &str| NewBooking { phone: phone.into(), ..new(code, "1000000040", slot, 5) };
        hold(&mut conn, &hold_of("h5", other("C5", "+966561234567"), "10.0.0.1")).unwrap();
        let fifth = hold(&mut conn, &hold_of("h6", other("C6", "+966567654321"), "10.0.0.1"));
        assert!(matches!(fifth, Err(BookError::TooManyCodes)), "the address's fifth: {fifth:?}");
        wrong_code(&conn, "h2").unwrap();
        assert_eq!(hold_by_handle(&conn, "h2").unwrap().unwrap().attempts, 1);

        // Erasing the mobile's holder takes their holds too, and their places go back.
        assert_eq!(taken(&conn, slot), 4, "B1, h2, h3, h5");
        let phone = Person::Phone("+966551234567".into());
        erase_person(&mut conn, "demo", &phone, now).unwrap();
        assert_eq!(taken(&conn, slot), 1, "h5's");
        assert!(hold_by_handle(&conn, "h2").unwrap().is_none() && hold_by_handle(&conn, "h1").unwrap().is_none());
        assert!(hold_by_handle(&conn, "h5").unwrap().is_some(), "another mobile's");
    }

    #[test]
    fn a_mobile_holds_at_most_its_limit_of_active_bookings() {
        let (_dir, mut conn) = db();
        let limited = |code: &str, id: &str, start: &str| NewBooking { per_mobile: 2, ..new(code, id, start, 5) };
        book(&mut conn, &limited("M1", "1000000008", "2026-11-23T05:00:00Z")).unwrap();
        book(&mut conn, &limited("M2", "1000000016", "2026-11-24T05:00:00Z")).unwrap();
        let third = book(&mut conn, &limited("M3", "1000000024", "2026-11-25T05:00:00Z"));
        assert!(matches!(third, Err(BookError::MobileLimit)), "{third:?}");
        let other_phone =
            NewBooking { phone: "+966561234567".into(), ..limited("M4", "1000000024", "2026-11-25T05:00:00Z") };
        book(&mut conn, &other_phone).expect("another mobile");
        // A cancelled booking, or one whose slot has passed, no longer counts.
        cancel(&mut conn, "M1", "2026-11-22T11:00:00Z".parse().unwrap()).unwrap();
        book(&mut conn, &limited("M5", "1000000099", "2026-11-25T05:00:00Z")).unwrap();
        let later = NewBooking {
            now: "2026-11-24T06:00:00Z".parse().unwrap(),
            ..limited("M6", "1000000032", "2026-11-26T05:00:00Z")
        };
        book(&mut conn, &later).expect("M2's slot has passed");
        let over = NewBooking { code: "M7".into(), token: "tok-M7".into(), national_id: "1000000040".into(), ..later };
        assert!(matches!(book(&mut conn, &over), Err(BookError::MobileLimit)), "M5 and M6 are active");
    }

    #[test]
    fn retention_and_erasure_remove_the_person_and_keep_the_booking() {
        let (_dir, mut conn) = db();
        let now: DateTime<Utc> = "2027-03-01T00:00:00Z".parse().unwrap();
        book(&mut conn, &new("OLD1", "1000000008", "2026-11-23T06:00:00Z", 3)).unwrap();
        book(&mut conn, &new("NEW1", "1000000016", "2027-02-25T06:00:00Z", 3)).unwrap();
        book(&mut conn, &new("NEW2", "1000000008", "2027-03-02T06:00:00Z", 3)).unwrap();
        report(&mut conn, "demo", "OLD1", Status::CheckedIn, now, now).unwrap();
        // 90 days before 2027-03-01 is 2026-12-01: the November booking goes, the others stay.
        assert_eq!(purge(&mut conn, "2026-12-01".parse().unwrap(), now).unwrap(), 1);
        let old = by_code(&conn, "OLD1").unwrap().unwrap();
        assert_eq!((old.name.as_str(), old.national_id.as_str(), old.phone.as_str()), ("", "", ""));
        assert_eq!(old.status, Status::CheckedIn, "what happened stays");
        assert_eq!(purge(&mut conn, "2026-12-01".parse().unwrap(), now).unwrap(), 0, "once");
        let id = Person::NationalId("1000000008".into());
        let found = of_person(&conn, "demo", &id).unwrap();
        assert_eq!(found.iter().map(|b| b.code.as_str()).collect::<Vec<_>>(), ["NEW2"], "the purged one is nobody's");
        let phone = Person::Phone("+966551234567".into());
        assert_eq!(of_person(&conn, "demo", &phone).unwrap().len(), 2);
        assert_eq!(erase_person(&mut conn, "other", &id, now).unwrap(), (0, 0), "another branch's");
        assert_eq!(erase_person(&mut conn, "demo", &id, now).unwrap(), (1, 1));
        let erased = by_code(&conn, "NEW2").unwrap().unwrap();
        assert_eq!((erased.national_id.as_str(), erased.status), ("", Status::Cancelled), "its place is freed");
        assert!(of_person(&conn, "demo", &id).unwrap().is_empty());
        // Two purged bookings of one day do not collide on the one-a-day rule.
        book(&mut conn, &new("OLD2", "1000000024", "2026-11-23T06:15:00Z", 3)).unwrap();
        report(&mut conn, "demo", "OLD2", Status::CheckedIn, now, now).unwrap();
        assert_eq!(purge(&mut conn, "2026-12-01".parse().unwrap(), now).unwrap(), 1);
    }

    #[test]
    fn a_slot_takes_as_many_as_its_capacity_and_cancelling_frees_a_place() {
        let (_dir, mut conn) = db();
        let at = "2026-11-23T05:00:00Z";
        book(&mut conn, &new("AAAA1", "1000000008", at, 2)).unwrap();
        book(&mut conn, &new("AAAA2", "1000000016", at, 2)).unwrap();
        assert!(matches!(book(&mut conn, &new("AAAA3", "1000000024", at, 2)), Err(BookError::Full)));
        let day = "2026-11-23".parse().unwrap();
        assert_eq!(taken_on_day(&conn, "demo", "A", day).unwrap()[&at.parse().unwrap()], 2);
        let now = "2026-11-22T11:00:00Z".parse().unwrap();
        assert_eq!(cancel(&mut conn, "AAAA1", now).unwrap().status, Status::Cancelled);
        assert_eq!(cancel(&mut conn, "AAAA1", now).unwrap().status, Status::Cancelled, "twice is harmless");
        // Held until the hub has pulled the day (it might check the booking in from its token).
        assert!(matches!(book(&mut conn, &new("AAAA3", "1000000024", at, 2)), Err(BookError::Full)));
        assert_eq!(pull_day(&mut conn, "demo", day).unwrap().len(), 2, "the hub sees the cancellation");
        book(&mut conn, &new("AAAA3", "1000000024", at, 2)).unwrap();
        assert_eq!(pull_day(&mut conn, "demo", day).unwrap().len(), 3, "the cancelled one is kept");
        assert_eq!(taken_on_day(&conn, "demo", "A", day).unwrap()[&at.parse().unwrap()], 2, "released once");
    }

    #[test]
    fn one_active_booking_per_id_per_service_per_day_and_codes_are_unique() {
        let (_dir, mut conn) = db();
        book(&mut conn, &new("B1", "1000000008", "2026-11-23T05:00:00Z", 5)).unwrap();
        let again = book(&mut conn, &new("B2", "1000000008", "2026-11-23T06:00:00Z", 5));
        assert!(matches!(again, Err(BookError::AlreadyBooked)), "{again:?}");
        book(&mut conn, &new("B3", "1000000008", "2026-11-24T06:00:00Z", 5)).expect("another day is fine");
        let taken = book(&mut conn, &new("B1", "1000000016", "2026-11-23T05:00:00Z", 5));
        assert!(matches!(taken, Err(BookError::CodeTaken)), "{taken:?}");
        // Moving the second day's booking onto the first day would make two.
        let moved = reschedule(
            &mut conn,
            "B3",
            "2026-11-23T07:00:00Z".parse().unwrap(),
            "2026-11-23".parse().unwrap(),
            5,
            Utc::now(),
        );
        assert!(matches!(moved, Err(BookError::AlreadyBooked)), "{moved:?}");
    }

    #[test]
    fn rescheduling_needs_a_free_place_and_an_active_booking() {
        let (_dir, mut conn) = db();
        book(&mut conn, &new("C1", "1000000008", "2026-11-23T05:00:00Z", 1)).unwrap();
        book(&mut conn, &new("C2", "1000000016", "2026-11-23T05:15:00Z", 1)).unwrap();
        let day = "2026-11-23".parse().unwrap();
        let now = "2026-11-22T12:00:00Z".parse().unwrap();
        let full = reschedule(&mut conn, "C1", "2026-11-23T05:15:00Z".parse().unwrap(), day, 1, now);
        assert!(matches!(full, Err(BookError::Full)));
        let same = reschedule(&mut conn, "C1", "2026-11-23T05:00:00Z".parse().unwrap(), day, 1, now);
        assert!(same.is_ok(), "its own place does not count against it");
        let moved = reschedule(&mut conn, "C1", "2026-11-23T05:30:00Z".parse().unwrap(), day, 1, now).unwrap();
        assert_eq!(by_code(&conn, "C1").unwrap().unwrap(), moved);
        book(&mut conn, &new("C3", "1000000024", "2026-11-23T05:00:00Z", 1)).expect("the old place is free");
        cancel(&mut conn, "C2", now).unwrap();
        let gone = reschedule(&mut conn, "C2", "2026-11-23T06:00:00Z".parse().unwrap(), day, 1, now);
        assert!(matches!(gone, Err(BookError::NotActive(Status::Cancelled))));
        assert!(matches!(reschedule(&mut conn, "ZZ", moved.start, day, 1, now), Err(BookError::NotFound)));
    }

    #[test]
    fn the_hub_reports_check_ins_and_no_shows_once() {
        let (_dir, mut conn) = db();
        book(&mut conn, &new("D1", "1000000008", "2026-11-23T05:00:00Z", 1)).unwrap();
        let at = "2026-11-23T04:55:00Z".parse().unwrap();
        let now = Utc::now();
        assert!(matches!(report(&mut conn, "other", "D1", Status::CheckedIn, at, now), Err(BookError::NotFound)));
        assert_eq!(report(&mut conn, "demo", "D1", Status::CheckedIn, at, now).unwrap().status, Status::CheckedIn);
        assert_eq!(report(&mut conn, "demo", "D1", Status::NoShow, at, now).unwrap().status, Status::CheckedIn);
        assert_eq!(report(&mut conn, "demo", "D1", Status::CheckedIn, at, now).unwrap().status, Status::CheckedIn);
        assert!(matches!(cancel(&mut conn, "D1", now), Err(BookError::NotActive(Status::CheckedIn))));
    }
}

#[cfg(test)]
mod race_tests {
    use super::*;
    use std::sync::{Arc, Barrier};

    /// Many connections (as many processes would be) race for the last place of a slot.
    #[test]
    fn separate_connections_racing_for_the_last_place_get_it_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        let start: DateTime<Utc> = "2026-11-23T05:00:00Z".parse().unwrap();
        fn booking(code: String, id: String, conn: &mut Connection) -> Result<Booking, BookError> {
            let start: DateTime<Utc> = "2026-11-23T05:00:00Z".parse().unwrap();
            book(
                conn,
                &NewBooking {
                    token: format!("t-{code}"),
                    code,
                    branch: "demo".into(),
                    service: "A".into(),
                    start,
                    local_day: start.date_naive(),
                    name: "x".into(),
                    national_id: id,
                    phone: "+966551234567".into(),
                    lang: "en".into(),
                    capacity: 3,
                    per_mobile: 0,
                    now: start,
                },
            )
        }
        let mut first = open(&path).unwrap();
        booking("PRE1".into(), "1".into(), &mut first).unwrap();
        booking("PRE2".into(), "2".into(), &mut first).unwrap();
        let barrier = Arc::new(Barrier::new(12));
        let threads: Vec<_> = (0..12)
            .map(|i| {
                let (path, barrier) = (path.clone(), barrier.clone());
                std::thread::spawn(move || {
                    let mut conn = open(&path).unwrap();
                    barrier.wait();
                    booking(format!("R{i}"), format!("id{i}"), &mut conn)
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1, "{results:?}");
        assert!(results.iter().filter(|r| r.is_err()).all(|r| matches!(r, Err(BookError::Full))), "{results:?}");
        let taken = taken_on_day(&first, "demo", "A", start.date_naive()).unwrap();
        assert_eq!(taken[&start], 3);
    }
}
