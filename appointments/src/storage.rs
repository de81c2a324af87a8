//! One storage trait for the site's two engines: SQLite (the default, one process) and
//! PostgreSQL (`--postgres URL`: several stateless replicas on one database). Both keep the
//! capacity rule as a conditional update of the slot's row in the booking's transaction and the
//! one-booking-a-day rule as a partial unique index ([`crate::store`], [`crate::pg`]).
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, NaiveDate, Utc};
use dawr_web::Db;

use crate::store::{self, BookError, Booking, Hold, NewBooking, NewHold, Person, SlotPlan, Status};
use crate::waiting::{Entry, NewEntry, Offer, OfferSecrets};

/// Draws the secrets of each offer the waiting list's round makes.
pub type DrawOffer = Box<dyn FnMut() -> OfferSecrets + Send>;

/// What a storage call returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, BookError>> + Send + 'a>>;

/// The bookings and slots, whichever engine keeps them.
pub trait Storage: Send + Sync {
    fn book(&self, new: NewBooking) -> StoreFuture<'_, Booking>;
    /// Holds a place until its one-time code is typed ([`store::hold`]).
    fn hold(&self, new: NewHold) -> StoreFuture<'_, ()>;
    fn hold_by_handle(&self, handle: String) -> StoreFuture<'_, Option<Hold>>;
    fn wrong_code(&self, handle: String) -> StoreFuture<'_, ()>;
    /// The right code: the hold becomes its booking ([`store::confirm_hold`]).
    fn confirm_hold(&self, handle: String, per_mobile: u32, now: DateTime<Utc>) -> StoreFuture<'_, Booking>;
    /// Expired holds give their places back ([`store::release_expired`]).
    fn release_expired(&self, now: DateTime<Utc>) -> StoreFuture<'_, usize>;
    /// A new waiting-list entry, its joining code sent ([`store::waiting::join`]).
    fn join_waiting_list(&self, new: NewEntry) -> StoreFuture<'_, ()>;
    fn entry_by_handle(&self, handle: String) -> StoreFuture<'_, Option<Entry>>;
    fn wrong_entry_code(&self, handle: String) -> StoreFuture<'_, ()>;
    /// The right joining code: the entry goes in line; its place ([`store::waiting::confirm_entry`]).
    fn confirm_entry(&self, handle: String, per_slot: u32, now: DateTime<Utc>) -> StoreFuture<'_, u32>;
    /// An entry's place in line, `None` when it is not waiting.
    fn entry_place(&self, handle: String) -> StoreFuture<'_, Option<u32>>;
    /// The waiting list's offer round ([`store::waiting::offer_places`]).
    fn offer_places(
        &self,
        now: DateTime<Utc>,
        hold_for: chrono::Duration,
        draw: DrawOffer,
    ) -> StoreFuture<'_, Vec<Offer>>;
    fn reschedule(
        &self,
        code: String,
        start: DateTime<Utc>,
        local_day: NaiveDate,
        capacity: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Booking>;
    fn cancel(&self, code: String, now: DateTime<Utc>) -> StoreFuture<'_, Booking>;
    fn report(
        &self,
        branch: String,
        code: String,
        status: Status,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Booking>;
    fn by_code(&self, code: String) -> StoreFuture<'_, Option<Booking>>;
    fn by_token(&self, token: String) -> StoreFuture<'_, Option<Booking>>;
    fn taken_on_day(
        &self,
        branch: String,
        service: String,
        day: NaiveDate,
    ) -> StoreFuture<'_, HashMap<DateTime<Utc>, u32>>;
    /// The hub pulls a day: its bookings, once its unseen cancellations gave their places back.
    fn pull_day(&self, branch: String, day: NaiveDate) -> StoreFuture<'_, Vec<Booking>>;
    fn purge(&self, before: NaiveDate, now: DateTime<Utc>) -> StoreFuture<'_, usize>;
    fn of_person(&self, branch: String, person: Person) -> StoreFuture<'_, Vec<Booking>>;
    fn erase_person(&self, branch: String, person: Person, now: DateTime<Utc>) -> StoreFuture<'_, (usize, usize)>;
    /// The slot job: makes the missing slot rows of `plan`; returns how many it made.
    fn ensure_slots(&self, plan: Vec<SlotPlan>) -> StoreFuture<'_, usize>;
    /// The branch closed a day (see [`store::close_day`]): the bookings it cancelled.
    fn close_day(
        &self,
        branch: String,
        service: Option<String>,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<Booking>>;
}

/// SQLite: one writing connection and a few reading ones, on blocking threads.
pub struct Sqlite(pub Db);

impl Sqlite {
    fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&rusqlite::Connection) -> Result<T, BookError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        Box::pin(async move { self.0.read(f).await.map_err(|e| BookError::Store(e.into()))? })
    }

    fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut rusqlite::Connection) -> Result<T, BookError> + Send + 'static,
    ) -> StoreFuture<'_, T> {
        Box::pin(async move { self.0.write(f).await.map_err(|e| BookError::Store(e.into()))? })
    }
}

impl Storage for Sqlite {
    fn book(&self, new: NewBooking) -> StoreFuture<'_, Booking> {
        self.write(move |c| store::book(c, &new))
    }

    fn hold(&self, new: NewHold) -> StoreFuture<'_, ()> {
        self.write(move |c| store::hold(c, &new))
    }

    fn hold_by_handle(&self, handle: String) -> StoreFuture<'_, Option<Hold>> {
        self.read(move |c| Ok(store::hold_by_handle(c, &handle)?))
    }

    fn wrong_code(&self, handle: String) -> StoreFuture<'_, ()> {
        self.write(move |c| Ok(store::wrong_code(c, &handle)?))
    }

    fn confirm_hold(&self, handle: String, per_mobile: u32, now: DateTime<Utc>) -> StoreFuture<'_, Booking> {
        self.write(move |c| store::confirm_hold(c, &handle, per_mobile, now))
    }

    fn release_expired(&self, now: DateTime<Utc>) -> StoreFuture<'_, usize> {
        self.write(move |c| Ok(store::release_expired(c, now)?))
    }

    fn join_waiting_list(&self, new: NewEntry) -> StoreFuture<'_, ()> {
        self.write(move |c| store::waiting::join(c, &new))
    }

    fn entry_by_handle(&self, handle: String) -> StoreFuture<'_, Option<Entry>> {
        self.read(move |c| Ok(store::waiting::entry_by_handle(c, &handle)?))
    }

    fn wrong_entry_code(&self, handle: String) -> StoreFuture<'_, ()> {
        self.write(move |c| Ok(store::waiting::wrong_entry_code(c, &handle)?))
    }

    fn confirm_entry(&self, handle: String, per_slot: u32, now: DateTime<Utc>) -> StoreFuture<'_, u32> {
        self.write(move |c| store::waiting::confirm_entry(c, &handle, per_slot, now))
    }

    fn entry_place(&self, handle: String) -> StoreFuture<'_, Option<u32>> {
        self.read(move |c| Ok(store::waiting::place_in_line(c, &handle)?))
    }

    fn offer_places(
        &self,
        now: DateTime<Utc>,
        hold_for: chrono::Duration,
        mut draw: DrawOffer,
    ) -> StoreFuture<'_, Vec<Offer>> {
        self.write(move |c| store::waiting::offer_places(c, now, hold_for, &mut *draw))
    }

    fn reschedule(
        &self,
        code: String,
        start: DateTime<Utc>,
        local_day: NaiveDate,
        capacity: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Booking> {
        self.write(move |c| store::reschedule(c, &code, start, local_day, capacity, now))
    }

    fn cancel(&self, code: String, now: DateTime<Utc>) -> StoreFuture<'_, Booking> {
        self.write(move |c| store::cancel(c, &code, now))
    }

    fn report(
        &self,
        branch: String,
        code: String,
        status: Status,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Booking> {
        self.write(move |c| store::report(c, &branch, &code, status, at, now))
    }

    fn by_code(&self, code: String) -> StoreFuture<'_, Option<Booking>> {
        self.read(move |c| Ok(store::by_code(c, &code)?))
    }

    fn by_token(&self, token: String) -> StoreFuture<'_, Option<Booking>> {
        self.read(move |c| Ok(store::by_token(c, &token)?))
    }

    fn taken_on_day(
        &self,
        branch: String,
        service: String,
        day: NaiveDate,
    ) -> StoreFuture<'_, HashMap<DateTime<Utc>, u32>> {
        self.read(move |c| Ok(store::taken_on_day(c, &branch, &service, day)?))
    }

    fn pull_day(&self, branch: String, day: NaiveDate) -> StoreFuture<'_, Vec<Booking>> {
        self.write(move |c| Ok(store::pull_day(c, &branch, day)?))
    }

    fn purge(&self, before: NaiveDate, now: DateTime<Utc>) -> StoreFuture<'_, usize> {
        self.write(move |c| Ok(store::purge(c, before, now)?))
    }

    fn of_person(&self, branch: String, person: Person) -> StoreFuture<'_, Vec<Booking>> {
        self.read(move |c| Ok(store::of_person(c, &branch, &person)?))
    }

    fn erase_person(&self, branch: String, person: Person, now: DateTime<Utc>) -> StoreFuture<'_, (usize, usize)> {
        self.write(move |c| Ok(store::erase_person(c, &branch, &person, now)?))
    }

    fn ensure_slots(&self, plan: Vec<SlotPlan>) -> StoreFuture<'_, usize> {
        self.write(move |c| Ok(store::ensure_slots(c, &plan)?))
    }

    fn close_day(
        &self,
        branch: String,
        service: Option<String>,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<Booking>> {
        self.write(move |c| {
            let tx = c.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let cancelled = store::close_day(&tx, &branch, service.as_deref(), day, now)?;
            tx.commit()?;
            Ok(cancelled)
        })
    }
}

/// PostgreSQL through a connection pool.
pub struct Postgres(pub deadpool_postgres::Pool);

impl Storage for Postgres {
    fn book(&self, new: NewBooking) -> StoreFuture<'_, Booking> {
        Box::pin(async move { crate::pg::book(&self.0, &new).await })
    }

    fn hold(&self, new: NewHold) -> StoreFuture<'_, ()> {
        Box::pin(async move { crate::pg::hold(&self.0, &new).await })
    }

    fn hold_by_handle(&self, handle: String) -> StoreFuture<'_, Option<Hold>> {
        Box::pin(async move { crate::pg::hold_by_handle(&self.0, &handle).await })
    }

    fn wrong_code(&self, handle: String) -> StoreFuture<'_, ()> {
        Box::pin(async move { crate::pg::wrong_code(&self.0, &handle).await })
    }

    fn confirm_hold(&self, handle: String, per_mobile: u32, now: DateTime<Utc>) -> StoreFuture<'_, Booking> {
        Box::pin(async move { crate::pg::confirm_hold(&self.0, &handle, per_mobile, now).await })
    }

    fn release_expired(&self, now: DateTime<Utc>) -> StoreFuture<'_, usize> {
        Box::pin(async move { crate::pg::release_expired(&self.0, now).await })
    }

    fn join_waiting_list(&self, new: NewEntry) -> StoreFuture<'_, ()> {
        Box::pin(async move { crate::pg::waiting::join(&self.0, &new).await })
    }

    fn entry_by_handle(&self, handle: String) -> StoreFuture<'_, Option<Entry>> {
        Box::pin(async move { crate::pg::waiting::entry_by_handle(&self.0, &handle).await })
    }

    fn wrong_entry_code(&self, handle: String) -> StoreFuture<'_, ()> {
        Box::pin(async move { crate::pg::waiting::wrong_entry_code(&self.0, &handle).await })
    }

    fn confirm_entry(&self, handle: String, per_slot: u32, now: DateTime<Utc>) -> StoreFuture<'_, u32> {
        Box::pin(async move { crate::pg::waiting::confirm_entry(&self.0, &handle, per_slot, now).await })
    }

    fn entry_place(&self, handle: String) -> StoreFuture<'_, Option<u32>> {
        Box::pin(async move { crate::pg::waiting::entry_place(&self.0, &handle).await })
    }

    fn offer_places(
        &self,
        now: DateTime<Utc>,
        hold_for: chrono::Duration,
        mut draw: DrawOffer,
    ) -> StoreFuture<'_, Vec<Offer>> {
        Box::pin(async move { crate::pg::waiting::offer_places(&self.0, now, hold_for, &mut *draw).await })
    }

    fn reschedule(
        &self,
        code: String,
        start: DateTime<Utc>,
        local_day: NaiveDate,
        capacity: u32,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Booking> {
        Box::pin(async move { crate::pg::reschedule(&self.0, &code, start, local_day, capacity, now).await })
    }

    fn cancel(&self, code: String, now: DateTime<Utc>) -> StoreFuture<'_, Booking> {
        Box::pin(async move { crate::pg::cancel(&self.0, &code, now).await })
    }

    fn report(
        &self,
        branch: String,
        code: String,
        status: Status,
        at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Booking> {
        Box::pin(async move { crate::pg::report(&self.0, &branch, &code, status, at, now).await })
    }

    fn by_code(&self, code: String) -> StoreFuture<'_, Option<Booking>> {
        Box::pin(async move { crate::pg::by_code(&self.0, &code).await })
    }

    fn by_token(&self, token: String) -> StoreFuture<'_, Option<Booking>> {
        Box::pin(async move { crate::pg::by_token(&self.0, &token).await })
    }

    fn taken_on_day(
        &self,
        branch: String,
        service: String,
        day: NaiveDate,
    ) -> StoreFuture<'_, HashMap<DateTime<Utc>, u32>> {
        Box::pin(async move { crate::pg::taken_on_day(&self.0, &branch, &service, day).await })
    }

    fn pull_day(&self, branch: String, day: NaiveDate) -> StoreFuture<'_, Vec<Booking>> {
        Box::pin(async move { crate::pg::pull_day(&self.0, &branch, day).await })
    }

    fn purge(&self, before: NaiveDate, now: DateTime<Utc>) -> StoreFuture<'_, usize> {
        Box::pin(async move { crate::pg::purge(&self.0, before, now).await })
    }

    fn of_person(&self, branch: String, person: Person) -> StoreFuture<'_, Vec<Booking>> {
        Box::pin(async move { crate::pg::of_person(&self.0, &branch, &person).await })
    }

    fn erase_person(&self, branch: String, person: Person, now: DateTime<Utc>) -> StoreFuture<'_, (usize, usize)> {
        Box::pin(async move { crate::pg::erase_person(&self.0, &branch, &person, now).await })
    }

    fn ensure_slots(&self, plan: Vec<SlotPlan>) -> StoreFuture<'_, usize> {
        Box::pin(async move { crate::pg::ensure_slots(&self.0, &plan).await })
    }

    fn close_day(
        &self,
        branch: String,
        service: Option<String>,
        day: NaiveDate,
        now: DateTime<Utc>,
    ) -> StoreFuture<'_, Vec<Booking>> {
        Box::pin(async move { crate::pg::close_day(&self.0, &branch, service.as_deref(), day, now).await })
    }
}
