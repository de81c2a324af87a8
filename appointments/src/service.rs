//! What the site does, shared by the JSON API and the HTML pages: list slots, book, find,
//! cancel, reschedule, and serve a branch hub its day.
//!
//! [`check_booking`] is the pure part (every field checked, every error collected, in a form
//! both the API and the pages can show); [`Core`] is the shell around it: the clock, random
//! codes, the storage (SQLite or PostgreSQL, [`crate::storage`]), the cap on concurrent booking
//! writes and the one-second availability cache ([`crate::rush`]).
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use dawr_i18n::Lang;
use dawr_web::{Db, clock};
use rand::Rng;

use crate::config::{Branch, Site};
use crate::slots::{self, SlotError};
use crate::storage::Storage;
use crate::store::{self, BookError, Booking, NewBooking, Status, StoreError};
use crate::validate::{self, FieldError};

/// Letters and digits that cannot be mistaken for each other when read aloud or typed.
const CODE_ALPHABET: &[u8] = b"ACDEFHJKMNPRTUVWXY3479";
/// Characters in a booking code.
pub const CODE_LEN: usize = 8;
/// Reading connections (they run alongside the writer in WAL mode).
const POOL_SIZE: usize = 3;

/// A form field a problem belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Name,
    NationalId,
    Phone,
    Start,
    Code,
}

impl Field {
    /// Its name in forms and JSON bodies.
    pub fn name(self) -> &'static str {
        match self {
            Field::Name => "name",
            Field::NationalId => "national_id",
            Field::Phone => "phone",
            Field::Start => "start",
            Field::Code => "code",
        }
    }
}

/// A problem with one field: the `dawr-i18n` key for the page and an English message for the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: Field,
    pub key: &'static str,
    pub message: String,
}

impl FieldIssue {
    fn new(field: Field, key: &'static str, message: impl ToString) -> Self {
        FieldIssue { field, key, message: message.to_string() }
    }
}

impl From<(Field, FieldError)> for FieldIssue {
    fn from((field, e): (Field, FieldError)) -> Self {
        FieldIssue::new(field, e.key(), e)
    }
}

impl From<SlotError> for FieldIssue {
    fn from(e: SlotError) -> Self {
        FieldIssue::new(Field::Start, e.key(), e)
    }
}

/// Why a request was not done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    UnknownBranch,
    UnknownService,
    /// One or more fields are wrong; the first is the one to focus.
    Fields(Vec<FieldIssue>),
    Full,
    /// Refused for who is booking (the ID number already holds a booking for the service that
    /// day, or the mobile as many active bookings as `[limits] bookings_per_mobile`): said in
    /// generic words, never naming the rule, so the answer reveals as little as
    /// it can about someone else's bookings (security review H4).
    NotBookable,
    NotFound,
    NotActive(Status),
    Storage(String),
    /// This replica has as many booking writes under way as it takes: try again in a moment.
    Busy,
    /// The mobile, or the client address, was sent as many one-time codes as it may be this hour.
    TooManyCodes,
    /// A booking's code can no longer be tried (used, expired, or guessed at too often).
    Code(dawr_web::otp::CodeRefusal),
    /// A typed code that is not six digits.
    CodeShape,
    /// The wrong code; this many tries are left.
    WrongCode {
        left: u32,
    },
    /// A waiting list was asked for a slot with a place nobody waits for: book it.
    NotFull,
    /// As many wait for that slot as `[waiting_list] per_slot` allows.
    ListFull,
    /// The site keeps no waiting lists (`[waiting_list] per_slot` 0, or no one-time codes).
    NoWaitingList,
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Storage(e.to_string())
    }
}

impl From<BookError> for Refusal {
    fn from(e: BookError) -> Self {
        match e {
            BookError::Full => Refusal::Full,
            BookError::AlreadyBooked | BookError::MobileLimit => Refusal::NotBookable,
            BookError::NotFound => Refusal::NotFound,
            BookError::NotFull => Refusal::NotFull,
            BookError::ListFull => Refusal::ListFull,
            BookError::NotActive(s) => Refusal::NotActive(s),
            BookError::CodeTaken => Refusal::Storage("no free booking code".into()),
            BookError::TooManyCodes => Refusal::TooManyCodes,
            BookError::HoldEnded => Refusal::Code(dawr_web::otp::CodeRefusal::Expired),
            BookError::Store(e) => e.into(),
            BookError::Postgres(e) => Refusal::Storage(e),
        }
    }
}

/// What a citizen sends to book (from the form or the API), unchecked.
#[derive(Debug, Clone, Default)]
pub struct BookingInput {
    pub branch: String,
    pub service: String,
    /// RFC 3339.
    pub start: String,
    pub name: String,
    pub national_id: String,
    pub phone: String,
}

/// A booking request that passed every check but the places left.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedBooking {
    pub branch: String,
    pub service: String,
    pub capacity: u32,
    pub start: DateTime<Utc>,
    pub local_day: NaiveDate,
    pub name: String,
    pub national_id: String,
    pub phone: String,
}

/// Reads a slot start.
pub fn parse_start(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// Checks a booking request against the site's rules at `now`, collecting every field's problem.
pub fn check_booking(site: &Site, input: &BookingInput, now: DateTime<Utc>) -> Result<CheckedBooking, Refusal> {
    let branch = site.branch(&input.branch).ok_or(Refusal::UnknownBranch)?;
    let service = branch.service(&input.service).ok_or(Refusal::UnknownService)?;
    let mut issues = Vec::new();
    let slot = if input.start.trim().is_empty() {
        Err(FieldIssue::new(Field::Start, "appt-error-choose-slot", "start is required"))
    } else {
        match parse_start(&input.start) {
            Some(start) => slots::check_bookable(branch, site.horizon_days, now, start)
                .map(|day| (start, day))
                .map_err(FieldIssue::from),
            None => Err(FieldIssue::from(SlotError::NotASlot)),
        }
    };
    let name = validate::name(&input.name).map_err(|e| FieldIssue::from((Field::Name, e)));
    let id = validate::national_id(&input.national_id).map_err(|e| FieldIssue::from((Field::NationalId, e)));
    let phone = validate::phone(&input.phone).map_err(|e| FieldIssue::from((Field::Phone, e)));
    // In the form's order, so the first problem is the first field to fix.
    for issue in
        [slot.as_ref().err(), name.as_ref().err(), id.as_ref().err(), phone.as_ref().err()].into_iter().flatten()
    {
        issues.push(issue.clone());
    }
    match (slot, name, id, phone) {
        (Ok((start, local_day)), Ok(name), Ok(national_id), Ok(phone)) => Ok(CheckedBooking {
            branch: branch.id.clone(),
            service: service.code.clone(),
            capacity: service.capacity,
            start,
            local_day,
            name,
            national_id,
            phone,
        }),
        _ => Err(Refusal::Fields(issues)),
    }
}

/// A booking code as typed: upper-cased, spaces and dashes dropped.
pub fn normalize_code(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace() && *c != '-').collect::<String>().to_ascii_uppercase()
}

/// A slot as lists show it.
pub use dawr_protocol::api::bookings::Slot as SlotView;

/// Seconds after which a mobile or an address refused `too_many_codes` may be sent a code
/// again at the latest (the `Retry-After` of that 429, page or API): the window the codes are
/// counted in.
pub fn codes_retry_after() -> u64 {
    dawr_web::otp::CODES_WINDOW.num_seconds().unsigned_abs()
}

/// The site's shell: configuration, texts, storage, rate limiter, write cap, availability cache.
#[derive(Clone)]
pub struct Core {
    pub site: Arc<Site>,
    pub texts: Arc<dawr_i18n::Texts>,
    pub limiter: Arc<crate::ratelimit::RateLimiter>,
    /// Base of the links the site gives out (booking pages, calendar files).
    pub public_url: String,
    /// The bookings: SQLite (one writing connection, a few reading ones; the capacity rule holds
    /// inside each transaction whichever connection runs it) or PostgreSQL.
    store: Arc<dyn Storage>,
    /// The SQLite database when that is the engine: the reminders' outbox lives beside the bookings.
    sqlite: Option<Db>,
    /// At most this many booking writes at once on this replica; the rest are told to come back.
    writes: Arc<tokio::sync::Semaphore>,
    /// Places taken per service and day, at most a second old.
    availability: Arc<crate::rush::AvailabilityCache>,
    /// Signs each booking's check-in token ([`crate::signing`]).
    signer: Arc<dawr_protocol::booking_token::SigningKey>,
    /// Sends the one-time codes when bookings are confirmed by them (`[sms] confirm_bookings`).
    codes: Option<crate::codes::CodeSender>,
    /// The key of the codes' HMAC, derived from the signing key (so every replica has it).
    code_key: Arc<Vec<u8>>,
    /// The national sign-in (`[identity]`), when on: set by [`Core::with_identity`].
    pub identity: Option<Arc<crate::identity::Provider>>,
}

/// A booking held until its one-time code is typed: where to type it, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub handle: String,
    /// The mobile the code went to, masked (`05•••••567`).
    pub mobile: String,
    pub expires_at: DateTime<Utc>,
}

impl Core {
    /// Opens the storage: PostgreSQL when the site names one (migrated first), else the SQLite
    /// database in `data_dir`.
    pub async fn open(
        site: Site,
        public_url: String,
        signer: dawr_protocol::booking_token::SigningKey,
    ) -> Result<Core, BookError> {
        let (store, sqlite): (Arc<dyn Storage>, Option<Db>) = match &site.postgres {
            Some(pg) => {
                let pool = crate::pg::pool(&pg.url, pg.pool_size)?;
                crate::pg::migrate(&pool).await?;
                (Arc::new(crate::storage::Postgres(pool)), None)
            }
            None => {
                let path = site.data_dir.join(store::FILE_NAME);
                let writer = store::open(&path)?;
                let readers = (0..POOL_SIZE).map(|_| store::open(&path)).collect::<Result<Vec<_>, _>>()?;
                let db = Db::new(writer, readers);
                (Arc::new(crate::storage::Sqlite(db.clone())), Some(db))
            }
        };
        let codes = site.sms.clone().filter(|_| site.confirm_bookings).map(crate::codes::CodeSender::spawn);
        let code_key = Arc::new(dawr_web::otp::code_mac(&signer.to_bytes(), "key", "booking-codes"));
        Ok(Core {
            codes,
            code_key,
            limiter: Arc::new(crate::ratelimit::RateLimiter::new(site.limits.clone())),
            writes: Arc::new(tokio::sync::Semaphore::new(site.limits.booking_writes as usize)),
            availability: Arc::new(crate::rush::AvailabilityCache::new(crate::rush::AVAILABILITY_MAX_AGE)),
            site: Arc::new(site),
            texts: Arc::new(dawr_i18n::Texts::new()),
            public_url: public_url.trim_end_matches('/').to_string(),
            store,
            sqlite,
            signer: Arc::new(signer),
            identity: None,
        })
    }

    /// Turns the national sign-in on when the site has `[identity]` (its cookies sealed with a
    /// key derived from the signing key, so every replica opens them).
    pub fn with_identity(mut self) -> Result<Core, reqwest::Error> {
        if let Some(settings) = self.site.identity.clone() {
            let secret = dawr_web::otp::code_mac(&self.signer.to_bytes(), "key", "identity-cookies");
            self.identity = Some(Arc::new(crate::identity::Provider::new(settings, &secret)?));
        }
        Ok(self)
    }

    /// The ID number the browser signed in with (its sealed, unexpired cookie), if any.
    pub fn signed_in(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let provider = self.identity.as_ref()?;
        let text = crate::identity::cookie(headers, crate::identity::ID_COOKIE)?;
        let now = dawr_web::clock::now().timestamp();
        provider.sealer.open::<crate::identity::SignedIn>(text, now).map(|s| s.national_id)
    }

    /// With the sign-in on, puts the verified ID into `input` (refusing, generically, a request
    /// that names another); without it, leaves `input` as typed.
    pub fn bind_identity(
        &self,
        input: &mut BookingInput,
        headers: &axum::http::HeaderMap,
    ) -> Result<(), crate::identity::Binding> {
        if self.identity.is_none() {
            return Ok(());
        }
        match crate::identity::bind(self.signed_in(headers).as_deref(), &input.national_id) {
            crate::identity::Binding::Verified(id) => {
                input.national_id = id;
                Ok(())
            }
            refused => Err(refused),
        }
    }

    /// The signed check-in token of an active booking (its QR code), `None` for one that is not.
    pub fn checkin_token(&self, booking: &Booking) -> Option<String> {
        let branch = self.site.branch(&booking.branch)?;
        (booking.status == Status::Booked).then(|| crate::signing::token(&self.signer, branch, booking)).flatten()
    }

    /// Runs a storage call, its error as a refusal.
    async fn stored<T>(&self, call: crate::storage::StoreFuture<'_, T>) -> Result<T, Refusal> {
        call.await.map_err(Refusal::from)
    }

    /// The code step a hold and a waiting-list entry share: `typed` checked (in constant time)
    /// against the code sent for `handle` (`sent`: the handle and the code's HMAC) while `state`
    /// still allows tries; a wrong one is counted by `count_wrong` and says how many are left.
    async fn check_code<'s>(
        &'s self,
        sent: (&str, &[u8]),
        state: dawr_web::otp::CodeState,
        typed: &str,
        now: DateTime<Utc>,
        count_wrong: impl FnOnce() -> crate::storage::StoreFuture<'s, ()>,
    ) -> Result<(), Refusal> {
        let attempts = state.attempts;
        dawr_web::otp::may_try(state, now).map_err(Refusal::Code)?;
        let code = dawr_web::otp::typed_code(typed).ok_or(Refusal::CodeShape)?;
        let (handle, code_mac) = sent;
        if dawr_web::otp::code_matches(&self.code_key, handle, &code, code_mac) {
            return Ok(());
        }
        self.stored(count_wrong()).await?;
        let left = dawr_web::otp::MAX_WRONG.saturating_sub(attempts + 1);
        Err(if left == 0 {
            Refusal::Code(dawr_web::otp::CodeRefusal::TooManyWrong)
        } else {
            Refusal::WrongCode { left }
        })
    }

    /// Runs a booking write under the replica's cap: `Busy` at once when the cap is reached.
    async fn capped<T>(&self, call: crate::storage::StoreFuture<'_, T>) -> Result<T, Refusal> {
        let Ok(_permit) = self.writes.try_acquire() else { return Err(Refusal::Busy) };
        self.stored(call).await
    }

    /// The slot job: makes the slot rows from today to the horizon for every branch and service
    /// (a day's opening is one run); returns how many rows it made.
    pub async fn ensure_slots(&self) -> Result<usize, Refusal> {
        let plan = crate::slots::horizon_plan(&self.site, clock::now());
        self.stored(self.store.ensure_slots(plan)).await
    }

    /// The client behind `peer` as it is counted: an IPv4 address or an IPv6 /64.
    pub fn client(&self, peer: std::net::SocketAddr, forwarded_for: Option<&str>) -> std::net::IpAddr {
        let ip = crate::ratelimit::client_ip(peer.ip(), forwarded_for, &self.site.limits.trusted_proxies);
        crate::ratelimit::client_key(ip)
    }

    /// Whether a booking is confirmed by a one-time code (`[sms] confirm_bookings`).
    pub fn confirms_by_code(&self) -> bool {
        self.codes.is_some()
    }

    /// Holds a place for `input` and sends the one-time code that confirms it to the mobile
    /// given, or says why not. `client` is who asked ([`Core::client`]), counted against
    /// `[limits] codes_per_address`.
    pub async fn hold(&self, input: &BookingInput, lang: Lang, client: std::net::IpAddr) -> Result<Held, Refusal> {
        let Some(codes) = &self.codes else { return Err(Refusal::Storage("no SMS to send codes by".into())) };
        let now = clock::now();
        let checked = check_booking(&self.site, input, now)?;
        let Ok(_permit) = self.writes.try_acquire() else { return Err(Refusal::Busy) };
        let handle = new_token();
        let code = dawr_web::otp::code_from(rand::rng().random());
        let expires_at = now + dawr_web::otp::CODE_TTL;
        let new = store::NewHold {
            code_mac: dawr_web::otp::code_mac(&self.code_key, &handle, &code),
            handle: handle.clone(),
            client: client.to_string(),
            expires_at,
            codes_per_mobile: dawr_web::otp::CODES_PER_MOBILE as u32,
            codes_per_client: self.site.limits.codes_per_address,
            since: now - dawr_web::otp::CODES_WINDOW,
            booking: NewBooking {
                code: new_code(),
                token: new_token(),
                branch: checked.branch.clone(),
                service: checked.service.clone(),
                start: checked.start,
                local_day: checked.local_day,
                name: checked.name,
                national_id: checked.national_id,
                phone: checked.phone.clone(),
                lang: lang.code().to_string(),
                capacity: checked.capacity,
                per_mobile: self.site.limits.bookings_per_mobile,
                now,
            },
        };
        let held = self.store.hold(new).await;
        self.availability.forget(&(checked.branch, checked.service, checked.local_day));
        held?;
        let text = self.texts.get(lang, "sms-booking-code", &[("code", dawr_i18n::Arg::Text(&code))]);
        codes.send(&checked.phone, without_isolates(&text));
        Ok(Held { handle, mobile: dawr_web::otp::masked(&checked.phone), expires_at })
    }

    /// The hold behind a confirmation page's handle.
    pub async fn hold_of(&self, handle: &str) -> Result<store::Hold, Refusal> {
        well_formed_handle(handle)?;
        self.stored(self.store.hold_by_handle(handle.to_string())).await?.ok_or(Refusal::NotFound)
    }

    /// Checks a typed code against the hold (in constant time); the right one makes the booking
    /// on the place the hold took. Refused for who books (generic `NotBookable`) only now, once
    /// the mobile is proven.
    pub async fn confirm(&self, hold: &store::Hold, typed: &str) -> Result<Booking, Refusal> {
        let now = clock::now();
        let count_wrong = || self.store.wrong_code(hold.handle.clone());
        self.check_code((&hold.handle, &hold.code_mac), hold.code_state(), typed, now, count_wrong).await?;
        let b = &hold.booking;
        let confirmed =
            self.capped(self.store.confirm_hold(hold.handle.clone(), self.site.limits.bookings_per_mobile, now)).await;
        self.availability.forget(&(b.branch.clone(), b.service.clone(), b.local_day));
        confirmed
    }

    /// Expired holds give their places back; how many.
    pub async fn release_expired(&self) -> Result<usize, Refusal> {
        let released = self.stored(self.store.release_expired(clock::now())).await?;
        if released > 0 {
            self.availability.clear();
        }
        Ok(released)
    }

    /// Whether a full slot's waiting list is kept: it needs the one-time codes.
    pub fn keeps_waiting_lists(&self) -> bool {
        self.codes.is_some() && self.site.waiting_list.per_slot > 0
    }

    /// Puts `input` on its slot's waiting list, unconfirmed, and sends the code that confirms
    /// the entry to the mobile given, or says why not (`client` as for [`Core::hold`]).
    pub async fn join_waiting_list(
        &self,
        input: &BookingInput,
        lang: Lang,
        client: std::net::IpAddr,
    ) -> Result<Held, Refusal> {
        let Some(codes) = self.codes.as_ref().filter(|_| self.keeps_waiting_lists()) else {
            return Err(Refusal::NoWaitingList);
        };
        let now = clock::now();
        let checked = check_booking(&self.site, input, now)?;
        let handle = new_token();
        let code = dawr_web::otp::code_from(rand::rng().random());
        let expires_at = now + dawr_web::otp::CODE_TTL;
        let new = crate::waiting::NewEntry {
            code_mac: dawr_web::otp::code_mac(&self.code_key, &handle, &code),
            handle: handle.clone(),
            client: client.to_string(),
            expires_at,
            codes_per_mobile: dawr_web::otp::CODES_PER_MOBILE as u32,
            codes_per_client: self.site.limits.codes_per_address,
            since: now - dawr_web::otp::CODES_WINDOW,
            per_slot: self.site.waiting_list.per_slot,
            capacity: checked.capacity,
            branch: checked.branch,
            service: checked.service,
            start: checked.start,
            local_day: checked.local_day,
            name: checked.name,
            national_id: checked.national_id,
            phone: checked.phone.clone(),
            lang: lang.code().to_string(),
            now,
        };
        self.stored(self.store.join_waiting_list(new)).await?;
        let text = self.texts.get(lang, "sms-waiting-code", &[("code", dawr_i18n::Arg::Text(&code))]);
        codes.send(&checked.phone, without_isolates(&text));
        Ok(Held { handle, mobile: dawr_web::otp::masked(&checked.phone), expires_at })
    }

    /// The waiting-list entry behind an entry page's handle.
    pub async fn entry_of(&self, handle: &str) -> Result<crate::waiting::Entry, Refusal> {
        well_formed_handle(handle)?;
        self.stored(self.store.entry_by_handle(handle.to_string())).await?.ok_or(Refusal::NotFound)
    }

    /// Checks a typed joining code (as [`Core::confirm`] does a booking's); the right one puts
    /// the entry in line. Returns its place in line. Refused for who joins (generic
    /// `NotBookable`: the ID number waits for that slot already, or holds a booking for the
    /// service that day) only now, once the mobile is proven.
    pub async fn confirm_entry(&self, entry: &crate::waiting::Entry, typed: &str) -> Result<u32, Refusal> {
        let now = clock::now();
        let count_wrong = || self.store.wrong_entry_code(entry.handle.clone());
        self.check_code((&entry.handle, &entry.code_mac), entry.code_state(), typed, now, count_wrong).await?;
        self.capped(self.store.confirm_entry(entry.handle.clone(), self.site.waiting_list.per_slot, now)).await
    }

    /// An entry's place in line, `None` when it is not waiting (unconfirmed, or offered).
    pub async fn entry_place(&self, entry: &crate::waiting::Entry) -> Result<Option<u32>, Refusal> {
        self.stored(self.store.entry_place(entry.handle.clone())).await
    }

    /// The waiting list's offer round: each place freed in a slot someone waits for is held for
    /// the first in line, who is texted its code and link. Returns how many were offered.
    pub async fn offer_places(&self) -> Result<usize, Refusal> {
        let Some(codes) = self.codes.as_ref().filter(|_| self.keeps_waiting_lists()) else { return Ok(0) };
        let key = self.code_key.clone();
        let draw = Box::new(move || {
            let hold = new_token();
            let code = dawr_web::otp::code_from(rand::rng().random());
            crate::waiting::OfferSecrets {
                code_mac: dawr_web::otp::code_mac(&key, &hold, &code),
                hold,
                code,
                booking_code: new_code(),
                booking_token: new_token(),
            }
        });
        let hold_for = chrono::Duration::minutes(i64::from(self.site.waiting_list.hold_minutes));
        let offers = self.stored(self.store.offer_places(clock::now(), hold_for, draw)).await?;
        for offer in &offers {
            self.availability.forget(&(offer.branch.clone(), offer.service.clone(), offer_day(&self.site, offer)));
            codes.send(&offer.phone, without_isolates(&self.offer_text(offer)));
            tracing::info!(branch = %offer.branch, service = %offer.service, start = %offer.start, "a freed place was offered to the first in line");
        }
        Ok(offers.len())
    }

    /// The text that offers a freed place: where and when, until when it is held, its code and
    /// the link to type it at.
    fn offer_text(&self, offer: &crate::waiting::Offer) -> String {
        let lang: Lang = offer.lang.parse().unwrap_or_default();
        let Some(branch) = self.site.branch(&offer.branch) else { return String::new() };
        let branch_name = if lang == Lang::En { &branch.name.en } else { &branch.name.ar };
        let day = slots::local_day(branch, offer.start).to_string();
        let (time, until) = (slots::local_time(branch, offer.start), slots::local_time(branch, offer.expires_at));
        let link = format!("{}/confirm/{}?lang={}", self.public_url, offer.hold, lang.code());
        use dawr_i18n::Arg::Text;
        self.texts.get(
            lang,
            "sms-waiting-offer",
            &[
                ("branch", Text(branch_name)),
                ("date", Text(&day)),
                ("time", Text(&time)),
                ("until", Text(&until)),
                ("code", Text(&offer.code)),
                ("link", Text(&link)),
            ],
        )
    }

    /// Spends a rate-limit token of the client behind `peer` (see [`crate::ratelimit`]).
    pub fn allow(&self, peer: std::net::SocketAddr, forwarded_for: Option<&str>) -> bool {
        let ip = crate::ratelimit::client_ip(peer.ip(), forwarded_for, &self.site.limits.trusted_proxies);
        self.limiter.allow(ip, std::time::Instant::now())
    }

    pub fn branch(&self, id: &str) -> Result<&Branch, Refusal> {
        self.site.branch(id).ok_or(Refusal::UnknownBranch)
    }

    /// The days that can still be booked at a branch.
    pub fn days(&self, branch: &Branch) -> Vec<NaiveDate> {
        slots::bookable_days(branch, self.site.horizon_days, clock::now())
    }

    /// A service's bookable slots on `day` with the places left (empty outside the horizon).
    pub async fn slots(&self, branch: &str, service: &str, day: NaiveDate) -> Result<Vec<SlotView>, Refusal> {
        let b = self.branch(branch)?.clone();
        let capacity = b.service(service).ok_or(Refusal::UnknownService)?.capacity;
        let starts = slots::bookable_starts(&b, self.site.horizon_days, clock::now(), day);
        if starts.is_empty() {
            return Ok(Vec::new());
        }
        let key = (branch.to_string(), service.to_string(), day);
        let taken = match self.availability.get(&key, std::time::Instant::now()) {
            Some(taken) => taken,
            None => {
                let taken = Arc::new(self.stored(self.store.taken_on_day(key.0.clone(), key.1.clone(), day)).await?);
                self.availability.put(key, taken.clone(), std::time::Instant::now());
                taken
            }
        };
        Ok(starts
            .into_iter()
            .map(|start| SlotView {
                start,
                end: slots::slot_end(&b, start),
                capacity,
                available: capacity.saturating_sub(taken.get(&start).copied().unwrap_or(0)),
            })
            .collect())
    }

    /// Books a place, or says why not.
    pub async fn book(&self, input: &BookingInput, lang: Lang) -> Result<Booking, Refusal> {
        let now = clock::now();
        let checked = check_booking(&self.site, input, now)?;
        let lang = lang.code().to_string();
        let Ok(_permit) = self.writes.try_acquire() else { return Err(Refusal::Busy) };
        let key = (checked.branch.clone(), checked.service.clone(), checked.local_day);
        // A random code can collide with an earlier one; draw again.
        for _ in 0..8 {
            let new = NewBooking {
                code: new_code(),
                token: new_token(),
                branch: checked.branch.clone(),
                service: checked.service.clone(),
                start: checked.start,
                local_day: checked.local_day,
                name: checked.name.clone(),
                national_id: checked.national_id.clone(),
                phone: checked.phone.clone(),
                lang: lang.clone(),
                capacity: checked.capacity,
                per_mobile: self.site.limits.bookings_per_mobile,
                now,
            };
            let booked = self.store.book(new).await;
            self.availability.forget(&key);
            match booked {
                Err(BookError::CodeTaken) => continue,
                other => return other.map_err(Refusal::from),
            }
        }
        Err(BookError::CodeTaken.into())
    }

    /// The booking with this code, if the ID number is its own (else `NotFound`, the same
    /// answer as for an unknown code).
    pub async fn find(&self, code: &str, national_id: &str) -> Result<Booking, Refusal> {
        let code = normalize_code(code);
        let id = validate::national_id(national_id).map_err(|_| Refusal::NotFound)?;
        if code.len() != CODE_LEN {
            return Err(Refusal::NotFound);
        }
        let found = self.stored(self.store.by_code(code)).await?;
        found.filter(|b| b.national_id == id).ok_or(Refusal::NotFound)
    }

    /// The booking behind a page token.
    pub async fn by_token(&self, token: &str) -> Result<Booking, Refusal> {
        well_formed_handle(token)?;
        self.stored(self.store.by_token(token.to_string())).await?.ok_or(Refusal::NotFound)
    }

    pub async fn cancel(&self, booking: &Booking) -> Result<Booking, Refusal> {
        let cancelled = self.capped(self.store.cancel(booking.code.clone(), clock::now())).await;
        self.availability.forget(&(booking.branch.clone(), booking.service.clone(), booking.local_day));
        cancelled
    }

    /// Moves a booking to another slot of its service.
    pub async fn reschedule(&self, booking: &Booking, start: &str) -> Result<Booking, Refusal> {
        let now = clock::now();
        let branch = self.branch(&booking.branch)?;
        let capacity = branch.service(&booking.service).ok_or(Refusal::UnknownService)?.capacity;
        let start = match parse_start(start) {
            Some(s) => s,
            None if start.trim().is_empty() => {
                let issue = FieldIssue::new(Field::Start, "appt-error-choose-slot", "start is required");
                return Err(Refusal::Fields(vec![issue]));
            }
            None => return Err(Refusal::Fields(vec![SlotError::NotASlot.into()])),
        };
        let day = slots::check_bookable(branch, self.site.horizon_days, now, start)
            .map_err(|e| Refusal::Fields(vec![e.into()]))?;
        let moved = self.capped(self.store.reschedule(booking.code.clone(), start, day, capacity, now)).await;
        self.availability.forget(&(booking.branch.clone(), booking.service.clone(), booking.local_day));
        self.availability.forget(&(booking.branch.clone(), booking.service.clone(), day));
        moved
    }

    /// A branch's bookings on a day, for its hub: the cancellations it had not seen yet give
    /// their places back now (until then a hub whose link is down could still check such a
    /// booking in from its signed token, so its place stayed held).
    pub async fn day_bookings(&self, branch: &str, day: NaiveDate) -> Result<Vec<Booking>, Refusal> {
        let pulled = self.stored(self.store.pull_day(branch.to_string(), day)).await?;
        for service in pulled.iter().map(|b| b.service.clone()).collect::<std::collections::BTreeSet<_>>() {
            self.availability.forget(&(branch.to_string(), service, day));
        }
        Ok(pulled)
    }

    /// The branch's hub says it closed `day` for `service` (`None`: every service): that day's
    /// bookings for it are cancelled and (SQLite, `[sms]`) each holder is texted a link to book
    /// again; no booking takes a place that day any more. Returns how many bookings this call
    /// cancelled (0 when repeated).
    pub async fn close_day(&self, branch: &str, service: Option<String>, day: NaiveDate) -> Result<usize, Refusal> {
        let b = self.branch(branch)?.clone();
        if let Some(code) = &service {
            b.service(code).ok_or(Refusal::UnknownService)?;
        }
        let now = clock::now();
        let cancelled = match &self.sqlite {
            Some(db) => {
                let (site, texts, url, id, only) =
                    (self.site.clone(), self.texts.clone(), self.public_url.clone(), b.id.clone(), service.clone());
                let closed = db
                    .write(move |c| crate::reminders::close_day(c, &site, &texts, &url, &id, only.as_deref(), day, now))
                    .await;
                closed.map_err(|e| Refusal::Storage(e.to_string()))??
            }
            None => self.stored(self.store.close_day(b.id.clone(), service.clone(), day, now)).await?.len(),
        };
        for s in b.services.iter().filter(|s| service.as_deref().is_none_or(|code| code == s.code)) {
            self.availability.forget(&(b.id.clone(), s.code.clone(), day));
        }
        Ok(cancelled)
    }

    /// Records a hub's report of a check-in or a no-show.
    pub async fn report(
        &self,
        branch: &str,
        code: &str,
        status: Status,
        at: DateTime<Utc>,
    ) -> Result<Booking, Refusal> {
        self.stored(self.store.report(branch.to_string(), normalize_code(code), status, at, clock::now())).await
    }
}

impl Core {
    /// Removes the personal data of bookings whose retention ended (`[retention]`), at the
    /// site's clock; returns how many.
    pub async fn purge(&self) -> Result<usize, Refusal> {
        let now = clock::now();
        let days = i64::from(self.site.retention.personal_data_days);
        let before = now.date_naive() - chrono::Duration::days(days);
        let purged = self.stored(self.store.purge(before, now)).await?;
        self.purge_reminders().await?;
        Ok(purged)
    }

    /// Blanks the mobiles and texts of reminders whose booking no longer holds personal data.
    async fn purge_reminders(&self) -> Result<(), Refusal> {
        let Some(db) = &self.sqlite else { return Ok(()) };
        let blanked = db.write(|c| crate::reminders::purge(c)).await;
        blanked.map_err(|e| Refusal::Storage(e.to_string()))?.map_err(|e| Refusal::Storage(e.to_string()))?;
        Ok(())
    }

    /// The SQLite database, for the reminders' task (`None` on PostgreSQL).
    pub fn database(&self) -> Option<Db> {
        self.sqlite.clone()
    }

    /// A branch's bookings of one person (their data still held).
    pub async fn person_bookings(&self, branch: &str, person: store::Person) -> Result<Vec<Booking>, Refusal> {
        let branch = self.branch(branch)?.id.clone();
        self.stored(self.store.of_person(branch, person)).await
    }

    /// Erases one person from a branch's bookings: `(erased, cancelled)`.
    pub async fn erase_person(&self, branch: &str, person: store::Person) -> Result<(usize, usize), Refusal> {
        let branch = self.branch(branch)?.id.clone();
        let now = clock::now();
        let erased = self.stored(self.store.erase_person(branch, person, now)).await?;
        self.purge_reminders().await?;
        Ok(erased)
    }
}

/// Whose bookings a manager asks about: an ID number (checked like a booking's) or a Saudi
/// mobile, however typed.
pub fn person(text: &str) -> Option<store::Person> {
    validate::national_id(text)
        .map(store::Person::NationalId)
        .or_else(|_| validate::phone(text).map(store::Person::Phone))
        .ok()
}

/// A text for SMS: without the bidi isolation marks Fluent puts around arguments (a handset
/// shows them as boxes).
fn without_isolates(text: &str) -> String {
    text.chars().filter(|c| !matches!(c, '\u{2066}'..='\u{2069}')).collect()
}

/// The branch's local day of an offered slot.
fn offer_day(site: &Site, offer: &crate::waiting::Offer) -> NaiveDate {
    site.branch(&offer.branch).map_or(offer.start.date_naive(), |b| slots::local_day(b, offer.start))
}

/// A new random booking code.
pub fn new_code() -> String {
    let mut rng = rand::rng();
    (0..CODE_LEN).map(|_| char::from(CODE_ALPHABET[rng.random_range(0..CODE_ALPHABET.len())])).collect()
}

/// A new random page token: 32 hex digits.
fn new_token() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A page's handle (a booking's token, a hold's or a waiting-list entry's handle) is 32 hex
/// digits; anything else names nothing.
fn well_formed_handle(handle: &str) -> Result<(), Refusal> {
    if handle.len() == 32 && handle.bytes().all(|b| b.is_ascii_hexdigit()) { Ok(()) } else { Err(Refusal::NotFound) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SiteConfig;

    fn input(start: &str) -> BookingInput {
        BookingInput {
            branch: "demo".into(),
            service: "A".into(),
            start: start.into(),
            name: "Noura".into(),
            national_id: "1000000008".into(),
            phone: "0551234567".into(),
        }
    }

    #[test]
    fn a_good_request_is_normalised_and_every_bad_field_is_reported_in_form_order() {
        let site = SiteConfig::demo().site().unwrap();
        let now: DateTime<Utc> = "2026-11-23T07:05:00Z".parse().unwrap();
        let ok = check_booking(&site, &input("2026-11-24T08:15:00+03:00"), now).unwrap();
        assert_eq!(ok.start, "2026-11-24T05:15:00Z".parse::<DateTime<Utc>>().unwrap());
        assert_eq!((ok.phone.as_str(), ok.capacity), ("+966551234567", 3));
        let bad = BookingInput { national_id: "1000000009".into(), phone: "12345".into(), ..input("") };
        let Err(Refusal::Fields(issues)) = check_booking(&site, &bad, now) else { panic!() };
        let fields: Vec<_> = issues.iter().map(|i| (i.field, i.key)).collect();
        assert_eq!(
            fields,
            [
                (Field::Start, "appt-error-choose-slot"),
                (Field::NationalId, "appt-error-id-check"),
                (Field::Phone, "appt-error-phone")
            ]
        );
        let past = check_booking(&site, &input("2026-11-23T07:00:00Z"), now);
        assert_eq!(past, Err(Refusal::Fields(vec![SlotError::Past.into()])));
        let nonsense = check_booking(&site, &input("tomorrow"), now);
        assert_eq!(nonsense, Err(Refusal::Fields(vec![SlotError::NotASlot.into()])));
        let unknown = BookingInput { service: "Z".into(), ..input("") };
        assert_eq!(check_booking(&site, &unknown, now), Err(Refusal::UnknownService));
    }

    #[tokio::test]
    async fn a_replica_at_its_write_cap_answers_busy_at_once_with_retry_after() {
        let dir = tempfile::tempdir().unwrap();
        let mut site = SiteConfig::demo().site().unwrap();
        site.data_dir = dir.path().to_path_buf();
        site.limits.booking_writes = 2;
        let signer = dawr_protocol::booking_token::SigningKey::from_bytes(&[7; 32]);
        let core = Core::open(site, "http://127.0.0.1:8090".into(), signer).await.unwrap();
        let now = clock::now();
        let booking = Booking {
            code: "ACDEFHJK".into(),
            token: "0".repeat(32),
            branch: "demo".into(),
            service: "A".into(),
            start: now,
            local_day: now.date_naive(),
            name: "Noura".into(),
            national_id: "1000000008".into(),
            phone: "+966551234567".into(),
            lang: "ar".into(),
            status: Status::Booked,
            created_at: now,
            updated_at: now,
        };
        let held = core.writes.clone().try_acquire_many_owned(2).unwrap();
        assert_eq!(core.cancel(&booking).await, Err(Refusal::Busy), "both writes are taken");
        let answer = axum::response::IntoResponse::into_response(dawr_web::WebError::from(Refusal::Busy));
        assert_eq!(answer.status(), 503);
        assert_eq!(answer.headers()["retry-after"], "1");
        drop(held);
        assert_eq!(core.cancel(&booking).await, Err(Refusal::NotFound), "a free write reaches the database");
    }

    #[test]
    fn codes_use_an_unambiguous_alphabet_and_are_normalised_when_typed() {
        let code = new_code();
        assert_eq!(code.len(), CODE_LEN);
        assert!(code.bytes().all(|b| CODE_ALPHABET.contains(&b)), "{code}");
        assert!(!CODE_ALPHABET.iter().any(|b| b"0O1IL5S8B".contains(b)));
        assert_ne!(new_code(), new_code());
        assert_eq!(normalize_code(" k7m3-px9a "), "K7M3PX9A");
        assert_eq!(new_token().len(), 32);
    }
}
