//! Dawr's appointment site: citizens book a slot at a branch on the web; the branch's hub pulls
//! the day's bookings and reports check-ins back.
//!
//! A functional core — [`validate`] (ID numbers, mobiles, names), [`slots`] (opening hours,
//! holidays, horizon), [`ics`], [`qr`], [`ratelimit`] and `service::check_booking` — inside an
//! imperative shell: [`storage`] (one trait over [`store`], SQLite, and [`pg`], PostgreSQL for
//! several replicas; the capacity rule a conditional update of the slot's row inside the
//! booking's transaction), [`service`] (clock, random codes, the write cap and the availability
//! cache of [`rush`]), [`api`] (JSON under `/api/v1`) and [`pages`] (the HTML),
//! wired by [`app`] and started by [`cli`]. [`config`] reads the site's TOML file. [`signing`]
//! keeps the Ed25519 key that signs each booking's check-in token (its QR code). [`codes`] sends
//! the one-time codes that confirm a booking when `[sms] confirm_bookings` is on (the booking is
//! held, its place taken, until the code is typed: `store::hold`). [`waiting`] is a full slot's
//! waiting list (its pure rules; the rows in `store::waiting` and `pg::waiting`).
//! [`identity`] is the national sign-in (OpenID Connect, `[identity]`): the ID number a booking
//! carries is then the one the provider verified; [`signin`] holds its pages.
pub mod api;
pub mod app;
pub mod cli;
pub mod codes;
pub mod config;
pub mod ics;
pub mod identity;
pub mod pages;
pub mod pg;
pub mod qr;
pub mod ratelimit;
pub mod reminders;
pub mod rush;
pub mod service;
pub mod signin;
pub mod signing;
pub mod slots;
pub mod storage;
pub mod store;
pub mod validate;
pub mod waiting;
