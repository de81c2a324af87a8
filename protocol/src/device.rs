//! Messages between the hub and counter devices (buttons, satisfaction terminals, counter apps).
//!
//! These types use bounded `heapless` strings so that the same definitions serve the hub (with
//! `serde_json`) and the microcontroller firmware (with `serde-json-core`, no allocator). A string
//! longer than its bound is rejected when the message is read, which the hub reports as
//! `malformed`. Unknown fields are ignored by both sides, so a newer hub can add fields.
use serde::{Deserialize, Serialize};

/// A command id chosen by the device: 1–48 bytes, unique among the ids this device has sent in
/// the last 48 hours (a boot counter plus a sequence works; see `docs/PROTOCOL.md`).
pub type CommandId = heapless::String<48>;
/// The id a [`Reply`] echoes: a command's id, or the over-long id of a command refused as
/// `malformed` (up to [`MAX_ECHOED_ID`] bytes).
pub type ReplyId = heapless::String<128>;
/// The longest id the hub reads from a malformed command to answer it (longer ones are dropped).
pub const MAX_ECHOED_ID: usize = 128;
/// The largest command, rating or presence message the hub reads, in bytes; a longer one is
/// `malformed`.
pub const MAX_DEVICE_MESSAGE: usize = 1024;
/// A ticket number as printed, e.g. `A017`.
pub type TicketNumber = heapless::String<12>;
/// A counter, service or device identifier (see [`crate::topics::is_valid_id`]).
pub type Code = heapless::String<32>;
/// A free-text note or reason typed by staff.
pub type Note = heapless::String<256>;
/// A rating's id: the id of the visit it rates (the [`Reply`] to a rating carries it, and a
/// [`ReasonForRating`] names it).
pub type RatingId = u64;
/// An RFC 3339 UTC timestamp, e.g. `2026-11-23T09:15:00Z`.
pub type Timestamp = heapless::String<32>;
/// A short human-readable explanation accompanying an error code (English).
pub type Message = heapless::String<160>;

/// What a counter asks the hub to do (`…/counters/{counter}/command`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Finish the visitor at the counter (if any) and call the next one the hub's routing picks.
    Next,
    /// Call the waiting ticket named in `ticket` out of order (`reason` is logged).
    Call,
    /// Announce the current visitor again.
    Recall,
    /// The called visitor has arrived: service starts.
    Start,
    /// Service is finished (`outcome` optional).
    Complete,
    /// The called visitor did not come.
    NoShow,
    /// Send the current visitor back to the queue of `to_service` or to counter `to_counter`,
    /// keeping the original arrival time.
    Transfer,
    /// Stop receiving visitors (a break); `reason` is logged.
    Pause,
    /// Receive visitors again after a pause.
    Resume,
}

/// How a visit ended, as recorded on its CRM case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The visitor's request was handled at the counter.
    Resolved,
    /// The case stays open for back-office follow-up.
    FollowUp,
    /// The visitor was referred to another department.
    Referred,
}

/// A command from a counter device or app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Command {
    /// Unique per sending device; a repeated id is answered again but never acted on twice.
    pub id: CommandId,
    /// The sending device's id (its MQTT username). Since protocol 1.1 ids are scoped to it; a
    /// command without it (a v1 device) shares one id space with the counter's other v1 devices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Code>,
    pub action: Action,
    /// With `call`: the waiting ticket to call, e.g. `A017`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketNumber>,
    /// With `transfer`: the service whose queue receives the visitor.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_service: Option<Code>,
    /// With `transfer`: the counter that should call the visitor next.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to_counter: Option<Code>,
    /// With `complete` (or `next`, for the visitor being finished).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// With `transfer`: a note for the next counter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<Note>,
    /// With `call` (why out of order) or `pause` (why the break).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<Note>,
}

impl Command {
    /// A command with only an id and an action.
    pub fn new(id: CommandId, action: Action) -> Self {
        Command {
            id,
            device: None,
            action,
            ticket: None,
            to_service: None,
            to_counter: None,
            outcome: None,
            note: None,
            reason: None,
        }
    }
}

/// Why the hub refused a command. Devices show a fixed text per code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The payload is not a valid command (bad JSON, missing or over-long field).
    Malformed,
    /// No such counter in this branch.
    UnknownCounter,
    /// No such service in this branch.
    UnknownService,
    /// No such ticket (or it is not in today's queue).
    UnknownTicket,
    /// The ticket exists but is not waiting (already called, served or cancelled).
    NotWaiting,
    /// This counter does not serve the ticket's service.
    NotServedHere,
    /// The action needs a visitor at the counter and there is none.
    NoCurrentVisitor,
    /// The action needs an empty counter (e.g. `pause` while serving).
    VisitorAtCounter,
    /// The visitor is not in a state that allows this action (e.g. `no_show` while serving).
    WrongState,
    /// The counter is paused: `resume` first.
    CounterPaused,
    /// The counter is closed (nobody signed in): `resume` opens it.
    CounterClosed,
    /// No open counter serves this service now, so no ticket can be taken for it.
    ServiceClosed,
    /// A rating, but no visit ended at this counter within the rating window.
    NothingToRate,
    /// A rating for a visit that was already rated.
    AlreadyRated,
    /// A reason for a rating this counter does not have (never given, or another visit has
    /// ended here since).
    UnknownRating,
    /// A reason for a rating that already has one.
    ReasonAlreadyGiven,
    /// The hub could not store the change; nothing was done. Retry with the same id.
    StorageUnavailable,
    /// The id was already used by this device for a different command (or rating); nothing was
    /// done. Send the new command with a new id.
    IdReused,
    /// (Since 1.1.) The message's `device` is not the device that sent it (its MQTT login);
    /// nothing was done. Refused by the hub's embedded broker, which knows the login.
    WrongDevice,
}

impl ErrorCode {
    /// Every code, in the order above (for tests and documents that must cover them all).
    pub const ALL: [ErrorCode; 19] = [
        ErrorCode::Malformed,
        ErrorCode::UnknownCounter,
        ErrorCode::UnknownService,
        ErrorCode::UnknownTicket,
        ErrorCode::NotWaiting,
        ErrorCode::NotServedHere,
        ErrorCode::NoCurrentVisitor,
        ErrorCode::VisitorAtCounter,
        ErrorCode::WrongState,
        ErrorCode::CounterPaused,
        ErrorCode::CounterClosed,
        ErrorCode::ServiceClosed,
        ErrorCode::NothingToRate,
        ErrorCode::AlreadyRated,
        ErrorCode::UnknownRating,
        ErrorCode::ReasonAlreadyGiven,
        ErrorCode::StorageUnavailable,
        ErrorCode::IdReused,
        ErrorCode::WrongDevice,
    ];
}

/// The hub's answer to one command (`…/counters/{counter}/reply`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// The command's id (empty for a command whose id was empty).
    pub id: ReplyId,
    /// The command's `device`, when it named one: devices on one counter share the reply topic
    /// and keep the replies whose `device` and `id` are theirs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Code>,
    pub ok: bool,
    /// True when this answers a repeated id: the first reply again, nothing was done this time.
    #[serde(default, skip_serializing_if = "is_false")]
    pub replay: bool,
    /// The ticket now called at the counter (after `next`, `call`, `recall`), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ticket: Option<TicketNumber>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
    /// After a rating (or its reason): the rating's id, to send a reason later with
    /// [`ReasonForRating`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<RatingId>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether a counter is receiving visitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CounterStatus {
    Open,
    Paused,
    Closed,
}

/// Where the visitor at a counter is in the visit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurrentStatus {
    Called,
    Serving,
}

/// The visitor currently at (or called to) a counter.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CurrentVisit {
    pub ticket: TicketNumber,
    pub service: Code,
    pub status: CurrentStatus,
    /// When the visitor was called (status `called`) or service started (`serving`).
    pub since: Timestamp,
    pub recalls: u16,
    /// The visit's CRM case reference (for counter apps that work the case).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case_ref: Option<Code>,
}

/// A counter's state (`…/counters/{counter}/state`, retained).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CounterState {
    pub counter: Code,
    pub status: CounterStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<CurrentVisit>,
    /// Visitors waiting whom this counter may call.
    pub waiting: u32,
    pub updated_at: Timestamp,
}

/// Why a visitor was dissatisfied (asked after a score of 1 or 2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RatingReason {
    WaitedTooLong,
    StaffConduct,
    NotResolved,
    UnclearProcedure,
    Other,
}

/// A visitor's satisfaction with the visit just completed at a counter
/// (`…/counters/{counter}/rating`, answered with a [`Reply`] on `…/reply`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rating {
    /// Like a command id (shared with the commands); a repeated id is not counted twice.
    pub id: CommandId,
    /// The sending device's id, like a command's `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Code>,
    /// 1 (very unhappy) to 5 (very happy).
    pub score: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<RatingReason>,
}

/// Why, for a score sent earlier without a reason (also on `…/counters/{counter}/rating`,
/// answered with a [`Reply`] on `…/reply`): a terminal sends the score at once and asks why
/// afterwards, so a visitor who walks away still leaves the score. It has no `score`, which is
/// how the hub tells it from a [`Rating`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReasonForRating {
    /// Like a command id.
    pub id: CommandId,
    /// The sending device's id, like a command's `device`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<Code>,
    /// The rating's id, from the [`Reply`] to the score.
    pub rating: RatingId,
    pub reason: RatingReason,
}

/// Online or offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PresenceStatus {
    Online,
    Offline,
}

/// How a kiosk's ticket printer is, as its presence reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrinterHealth {
    /// The last ticket printed.
    Ok,
    /// The last ticket could not be printed: the printer is unreachable or says it is offline.
    /// The kiosk shows e-tickets until a print succeeds again (so for the faults below too).
    Offline,
    /// The printer says it is out of paper.
    PaperOut,
    /// The printer says its cover is open.
    CoverOpen,
    /// A value this hub does not know (a newer kiosk's): the presence is still read.
    #[serde(other)]
    Unknown,
}

/// Why a device last started, as its presence reports it after boot (counter buttons).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResetReason {
    /// Power was applied (or the reset pin pulled, or a debugger reset it).
    PowerOn,
    /// The hardware watchdog restarted it: its main loop stopped making progress.
    Watchdog,
    /// It restarted itself on purpose (after new settings were written, for instance).
    Requested,
    /// A value this hub does not know (a newer device's): the presence is still read.
    #[serde(other)]
    Unknown,
}

/// A firmware version as a device reports it (`0.4.1`, `0.4.1-rc2`).
pub type FirmwareVersion = heapless::String<24>;

/// A client's presence (`…/devices/{device}/status`, retained; `offline` is its last will).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    pub status: PresenceStatus,
    /// Devices with a printer (kiosks) say how it is; others leave it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub printer: Option<PrinterHealth>,
    /// Why the device last started (counter buttons, in their `online` presence); others leave
    /// it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reset: Option<ResetReason>,
    /// The version of the firmware it runs (counter buttons, in their `online` presence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub firmware: Option<FirmwareVersion>,
    /// Seconds since it last started, when it sent this presence (counter buttons repeat their
    /// `online` presence every [`PRESENCE_REFRESH_S`] with it current).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uptime_s: Option<u32>,
    /// The Wi-Fi signal it receives, in dBm (−30 excellent, −67 good, below −80 poor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rssi: Option<i16>,
}

/// How often a counter button repeats its `online` presence (with its uptime and signal current).
pub const PRESENCE_REFRESH_S: u32 = 60;

impl Presence {
    /// A presence with nothing but its status.
    pub const fn new(status: PresenceStatus) -> Presence {
        Presence { status, printer: None, reset: None, firmware: None, uptime_s: None, rssi: None }
    }

    /// Whether this presence says anything about the device itself (version, uptime, signal,
    /// reset reason): the fleet view keeps these from the last presence that had them.
    pub fn has_fleet_fields(&self) -> bool {
        self.reset.is_some() || self.firmware.is_some() || self.uptime_s.is_some() || self.rssi.is_some()
    }
}

/// The largest chunk of a firmware image a button may ask for at once, in bytes.
pub const MAX_CHUNK: u32 = 1024;
/// A SHA-256 digest as 64 lowercase hex digits.
pub type Sha256Hex = heapless::String<64>;
/// An Ed25519 signature as 128 lowercase hex digits.
pub type SignatureHex = heapless::String<128>;

/// A firmware image the hub offers one button (`…/devices/{device}/update/offer`, retained; sent
/// only to the buttons a manager chose). The release key signs the manifest of `version`, `size`
/// and `sha256` (see `docs/PROTOCOL.md`, "Firmware updates"); the button checks that signature
/// with the public key built into it before it swaps the image in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateOffer {
    pub version: FirmwareVersion,
    /// The image's size in bytes.
    pub size: u32,
    /// The image's SHA-256, hex.
    pub sha256: Sha256Hex,
    /// The release key's Ed25519 signature over the manifest, hex.
    pub signature: SignatureHex,
}

/// A button asks for part of the image it is offered (`…/devices/{device}/update/request`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkRequest {
    pub version: FirmwareVersion,
    pub offset: u32,
    /// At most [`MAX_CHUNK`].
    pub len: u32,
}

/// Why the hub does not send a chunk asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChunkError {
    /// The request could not be read.
    Malformed,
    /// No image of this version is offered to this device.
    NotOffered,
    /// The offset is past the image's end, or the length is 0 or over [`MAX_CHUNK`].
    BadRange,
    /// Too many requests from this device at once: ask again a little later.
    Busy,
    /// The hub cannot read the image now.
    Unavailable,
    /// A value this device does not know (a newer hub's).
    #[serde(other)]
    Unknown,
}

/// The hub's answer to a [`ChunkRequest`] (`…/devices/{device}/update/chunk`): `data` (standard
/// base64, padded) holds the bytes from `offset`, or `error` says why there are none. The data
/// borrows from the received payload, so a button reads it without an allocator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Chunk<'a> {
    pub version: FirmwareVersion,
    pub offset: u32,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub data: Option<&'a str>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<ChunkError>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

/// Where a button's update stands, as it reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateStage {
    /// Nothing to do.
    Idle,
    /// Taking the image in chunks (`received` of `size` bytes).
    Downloading,
    /// Checking the staged image's hash and signature.
    Verifying,
    /// Verified: swapping the image in and restarting.
    Swapping,
    /// Running the new version, not yet confirmed (it confirms once it reaches the broker).
    Trial,
    /// Running the new version, confirmed.
    Confirmed,
    /// The new version did not reach the broker in time: the old one runs again.
    RolledBack,
    /// The image was refused (`reason`).
    Refused,
    /// A value this hub does not know (a newer device's).
    #[serde(other)]
    Unknown,
}

/// Why a button refused an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateRefusal {
    /// The bytes received do not hash to the offer's `sha256`.
    WrongHash,
    /// The signature is not the release key's over this image's manifest.
    BadSignature,
    /// The image does not fit the button's update slot.
    TooLarge,
    /// The button's flash failed.
    Flash,
    /// A value this hub does not know (a newer device's).
    #[serde(other)]
    Unknown,
}

/// A button's update state (`…/devices/{device}/update/state`, retained, QoS 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UpdateReport {
    pub stage: UpdateStage,
    /// The version being taken, tried, confirmed, rolled back or refused (absent when idle).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<FirmwareVersion>,
    /// Bytes received so far (downloading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received: Option<u32>,
    /// The image's size (downloading).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u32>,
    /// Why it was refused (refused).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<UpdateRefusal>,
}

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Writes `bytes` as standard padded base64 into `out` (which needs `4 * ceil(len / 3)` bytes);
/// returns the text, or `None` if `out` is too small.
pub fn base64_encode<'o>(bytes: &[u8], out: &'o mut [u8]) -> Option<&'o str> {
    let len = bytes.len().div_ceil(3) * 4;
    let out = out.get_mut(..len)?;
    for (group, slot) in bytes.chunks(3).zip(out.chunks_mut(4)) {
        let b = [group[0], *group.get(1).unwrap_or(&0), *group.get(2).unwrap_or(&0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for (i, s) in slot.iter_mut().enumerate() {
            *s = if i <= group.len() { BASE64[(n >> (18 - 6 * i)) as usize & 63] } else { b'=' };
        }
    }
    core::str::from_utf8(out).ok()
}

/// Reads standard padded base64 into `out`; returns how many bytes it holds, or `None` if `text`
/// is not base64 or does not fit.
pub fn base64_decode(text: &str, out: &mut [u8]) -> Option<usize> {
    let text = text.as_bytes();
    if !text.len().is_multiple_of(4) {
        return None;
    }
    let value = |c: u8| BASE64.iter().position(|&b| b == c).map(|v| v as u32);
    let mut written = 0;
    let groups = text.len() / 4;
    for (g, quad) in text.chunks(4).enumerate() {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 || (pad > 0 && g + 1 != groups) {
            return None;
        }
        let mut n = 0u32;
        for &c in &quad[..4 - pad] {
            n = (n << 6) | value(c)?;
        }
        n <<= 6 * pad as u32;
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let take = 3 - pad;
        out.get_mut(written..written + take)?.copy_from_slice(&bytes[..take]);
        written += take;
    }
    Some(written)
}

/// Reads `N` bytes written as `2 * N` hex digits (either case).
pub fn hex_decode<const N: usize>(text: &str) -> Option<[u8; N]> {
    let text = text.as_bytes();
    if text.len() != 2 * N {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    let mut out = [0u8; N];
    for (byte, pair) in out.iter_mut().zip(text.chunks(2)) {
        *byte = (digit(pair[0])? << 4) | digit(pair[1])?;
    }
    Some(out)
}

/// Writes `bytes` as lowercase hex into a string of capacity `N` (`None` if it does not fit).
pub fn hex_encode<const N: usize>(bytes: &[u8]) -> Option<heapless::String<N>> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = heapless::String::new();
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char).ok()?;
        s.push(DIGITS[usize::from(b & 15)] as char).ok()?;
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    /// `ErrorCode::ALL` has every code once: a new code does not compile until it has a place
    /// here, and the list must then hold it at that place.
    #[test]
    fn all_error_codes_are_listed_once() {
        use super::ErrorCode as E;
        let place = |code: E| match code {
            E::Malformed => 0,
            E::UnknownCounter => 1,
            E::UnknownService => 2,
            E::UnknownTicket => 3,
            E::NotWaiting => 4,
            E::NotServedHere => 5,
            E::NoCurrentVisitor => 6,
            E::VisitorAtCounter => 7,
            E::WrongState => 8,
            E::CounterPaused => 9,
            E::CounterClosed => 10,
            E::ServiceClosed => 11,
            E::NothingToRate => 12,
            E::AlreadyRated => 13,
            E::UnknownRating => 14,
            E::ReasonAlreadyGiven => 15,
            E::StorageUnavailable => 16,
            E::IdReused => 17,
            E::WrongDevice => 18,
        };
        for (i, code) in E::ALL.into_iter().enumerate() {
            assert_eq!(place(code), i, "{code:?}");
        }
    }

    #[test]
    fn docs_protocol_md_documents_every_error_code() {
        let doc = include_str!("../../docs/PROTOCOL.md");
        for code in super::ErrorCode::ALL {
            let name = serde_json::to_value(code).unwrap();
            let name = name.as_str().unwrap();
            assert!(doc.contains(&format!("`{name}`")), "docs/PROTOCOL.md does not name `{name}`");
        }
    }

    use super::*;

    fn s<const N: usize>(text: &str) -> heapless::String<N> {
        heapless::String::try_from(text).unwrap()
    }

    #[test]
    fn a_command_round_trips_with_std_and_without() {
        let mut cmd = Command::new(s("b7-00042"), Action::Transfer);
        cmd.to_service = Some(s("B"));
        cmd.note = Some(s("يحتاج توقيع الكاتب"));
        let json = serde_json::to_string(&cmd).unwrap();
        assert_eq!(json, r#"{"id":"b7-00042","action":"transfer","to_service":"B","note":"يحتاج توقيع الكاتب"}"#);
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), cmd);
        let (back, _) = serde_json_core::from_str::<Command>(&json).unwrap();
        assert_eq!(back, cmd);
        let mut buf = [0u8; 256];
        let n = serde_json_core::to_slice(&cmd, &mut buf).unwrap();
        assert_eq!(&buf[..n], json.as_bytes());
    }

    #[test]
    fn a_minimal_button_command_is_read() {
        let cmd: Command = serde_json::from_str(r#"{"id":"1","action":"next"}"#).unwrap();
        assert_eq!(cmd, Command::new(s("1"), Action::Next));
        let cmd: Command = serde_json::from_str(r#"{"id":"2","action":"no_show"}"#).unwrap();
        assert_eq!(cmd.action, Action::NoShow);
    }

    #[test]
    fn bad_commands_are_rejected_when_read() {
        assert!(serde_json::from_str::<Command>(r#"{"id":"1","action":"explode"}"#).is_err());
        assert!(serde_json::from_str::<Command>(r#"{"action":"next"}"#).is_err());
        let long_id = format!(r#"{{"id":"{}","action":"next"}}"#, "x".repeat(49));
        assert!(serde_json::from_str::<Command>(&long_id).is_err());
    }

    #[test]
    fn replies_and_states_are_read_by_a_device_that_ignores_unknown_fields() {
        let reply = Reply {
            id: s("b7-1"),
            ok: false,
            error: Some(ErrorCode::CounterPaused),
            message: Some(s("counter 3 is paused")),
            ..Reply::default()
        };
        let json = serde_json::to_string(&reply).unwrap();
        assert_eq!(json, r#"{"id":"b7-1","ok":false,"error":"counter_paused","message":"counter 3 is paused"}"#);
        let with_extra = json.replace("\"ok\"", "\"future\":[1,{\"a\":2}],\"ok\"");
        let (back, _) = serde_json_core::from_str::<Reply>(&with_extra).unwrap();
        assert_eq!(back, reply);

        let state = CounterState {
            counter: s("3"),
            status: CounterStatus::Open,
            current: Some(CurrentVisit {
                ticket: s("A017"),
                service: s("A"),
                status: CurrentStatus::Serving,
                since: s("2026-11-23T09:15:00Z"),
                recalls: 1,
                case_ref: Some(s("DMM-20261123-000017")),
            }),
            waiting: 4,
            updated_at: s("2026-11-23T09:15:01Z"),
        };
        let json = serde_json::to_string(&state).unwrap();
        let (back, _) = serde_json_core::from_str::<CounterState>(&json).unwrap();
        assert_eq!(back, state);
        assert_eq!(serde_json::from_str::<CounterState>(&json).unwrap(), state);
    }

    #[test]
    fn a_rating_round_trips() {
        let rating = Rating { id: s("9-1"), device: None, score: 2, reason: Some(RatingReason::WaitedTooLong) };
        let json = serde_json::to_string(&rating).unwrap();
        assert_eq!(json, r#"{"id":"9-1","score":2,"reason":"waited_too_long"}"#);
        assert_eq!(serde_json_core::from_str::<Rating>(&json).unwrap().0, rating);
    }

    #[test]
    fn a_reason_for_an_earlier_score_is_not_read_as_a_rating() {
        let later = ReasonForRating { id: s("9-2"), device: None, rating: 1042, reason: RatingReason::NotResolved };
        let json = serde_json::to_string(&later).unwrap();
        assert_eq!(json, r#"{"id":"9-2","rating":1042,"reason":"not_resolved"}"#);
        assert_eq!(serde_json_core::from_str::<ReasonForRating>(&json).unwrap().0, later);
        assert!(serde_json::from_str::<Rating>(&json).is_err(), "no score: not a rating");
        let reply: Reply = serde_json::from_str(r#"{"id":"9-1","ok":true,"ticket":"A017","rating":1042}"#).unwrap();
        assert_eq!(reply.rating, Some(1042));
    }

    #[test]
    fn a_device_scoped_command_and_its_replayed_reply_round_trip_without_std() {
        let mut cmd = Command::new(s("7-1"), Action::Next);
        cmd.device = Some(s("button-3"));
        let json = serde_json::to_string(&cmd).unwrap();
        assert_eq!(json, r#"{"id":"7-1","device":"button-3","action":"next"}"#);
        assert_eq!(serde_json_core::from_str::<Command>(&json).unwrap().0, cmd);
        let reply = Reply { id: s("7-1"), device: Some(s("button-3")), ok: true, replay: true, ..Reply::default() };
        let json = serde_json::to_string(&reply).unwrap();
        assert_eq!(json, r#"{"id":"7-1","device":"button-3","ok":true,"replay":true}"#);
        assert_eq!(serde_json_core::from_str::<Reply>(&json).unwrap().0, reply);
        let first: Reply = serde_json::from_str(r#"{"id":"7-1","ok":true}"#).unwrap();
        assert!(!first.replay, "a reply without `replay` is a first answer");
    }

    #[test]
    fn a_printer_value_this_version_does_not_know_keeps_the_presence() {
        let p: Presence = serde_json::from_str(r#"{"status":"online","printer":"jammed"}"#).unwrap();
        assert_eq!((p.status, p.printer), (PresenceStatus::Online, Some(PrinterHealth::Unknown)));
        let (p, _) = serde_json_core::from_str::<Presence>(r#"{"status":"online","printer":"jammed"}"#).unwrap();
        assert_eq!(p.printer, Some(PrinterHealth::Unknown));
    }

    #[test]
    fn a_reset_reason_is_optional_and_an_unknown_one_is_still_read() {
        use super::{Presence, PresenceStatus, ResetReason};
        let p = Presence { reset: Some(ResetReason::Watchdog), ..Presence::new(PresenceStatus::Online) };
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"status":"online","reset":"watchdog"}"#);
        let (back, _) = serde_json_core::from_str::<Presence>(r#"{"status":"online","reset":"watchdog"}"#).unwrap();
        assert_eq!(back, p);
        let p: Presence = serde_json::from_str(r#"{"status":"online","reset":"brownout"}"#).unwrap();
        assert_eq!(p.reset, Some(ResetReason::Unknown));
        let p: Presence = serde_json::from_str(r#"{"status":"online"}"#).unwrap();
        assert_eq!(p.reset, None, "older devices leave it out");
    }

    #[test]
    fn a_buttons_fleet_fields_are_optional_and_round_trip_without_std() {
        let text = r#"{"status":"online","reset":"power_on","firmware":"0.4.1","uptime_s":3600,"rssi":-61}"#;
        let p: Presence = serde_json::from_str(text).unwrap();
        assert_eq!((p.firmware.as_deref(), p.uptime_s, p.rssi), (Some("0.4.1"), Some(3600), Some(-61)));
        assert!(p.has_fleet_fields());
        assert_eq!(serde_json::to_string(&p).unwrap(), text);
        let (back, _) = serde_json_core::from_str::<Presence>(text).unwrap();
        assert_eq!(back, p);
        let mut buf = [0u8; 128];
        let n = serde_json_core::to_slice(&p, &mut buf).unwrap();
        assert_eq!(&buf[..n], text.as_bytes());
        assert!(!Presence::new(PresenceStatus::Offline).has_fleet_fields());
    }

    #[test]
    fn presence_is_a_small_json_object() {
        let p = Presence::new(PresenceStatus::Offline);
        assert_eq!(serde_json::to_string(&p).unwrap(), r#"{"status":"offline"}"#);
    }

    #[test]
    fn base64_and_hex_round_trip_without_an_allocator() {
        use super::{base64_decode, base64_encode, hex_decode, hex_encode};
        let mut text = [0u8; 1368];
        let mut back = [0u8; 1024];
        for len in [0usize, 1, 2, 3, 4, 5, 1023, 1024] {
            let bytes: std::vec::Vec<u8> = (0..len).map(|i| (i * 37 % 256) as u8).collect();
            let encoded = base64_encode(&bytes, &mut text).unwrap();
            assert_eq!(encoded.len(), len.div_ceil(3) * 4);
            let n = base64_decode(encoded, &mut back).unwrap();
            assert_eq!(&back[..n], &bytes[..], "{len}");
        }
        assert_eq!(base64_encode(b"Man", &mut text), Some("TWFu"));
        assert_eq!(base64_encode(b"Ma", &mut text), Some("TWE="));
        assert_eq!(base64_encode(b"M", &mut text), Some("TQ=="));
        for bad in ["TWF", "TW=u", "T===", "TQ==TWFu", "TW!u"] {
            assert_eq!(base64_decode(bad, &mut back), None, "{bad}");
        }
        assert_eq!(base64_decode("TWFu", &mut back[..2]), None, "does not fit");
        let h = hex_encode::<8>(&[0xde, 0xad, 0x01, 0xff]).unwrap();
        assert_eq!(h.as_str(), "dead01ff");
        assert_eq!(hex_decode::<4>("DEAD01ff"), Some([0xde, 0xad, 0x01, 0xff]));
        assert_eq!(hex_decode::<4>("dead01f"), None);
        assert_eq!(hex_decode::<4>("dead01fg"), None);
    }

    #[test]
    fn update_messages_read_without_std() {
        use super::{Chunk, ChunkError, UpdateOffer, UpdateReport, UpdateStage};
        let chunk = br#"{"version":"0.5.0","offset":1024,"data":"TWFu"}"#;
        let (c, _): (Chunk<'_>, _) = serde_json_core::from_slice(chunk).unwrap();
        assert_eq!((c.offset, c.data, c.error), (1024, Some("TWFu"), None));
        let refused = br#"{"version":"0.5.0","offset":9999,"error":"bad_range","message":"past the end"}"#;
        let (c, _): (Chunk<'_>, _) = serde_json_core::from_slice(refused).unwrap();
        assert_eq!((c.data, c.error), (None, Some(ChunkError::BadRange)));
        let offer = format!(
            r#"{{"version":"0.5.0","size":3000,"sha256":"{}","signature":"{}"}}"#,
            "a".repeat(64),
            "b".repeat(128)
        );
        let (o, _): (UpdateOffer, _) = serde_json_core::from_slice(offer.as_bytes()).unwrap();
        assert_eq!(o.size, 3000);
        let report = UpdateReport {
            stage: UpdateStage::RolledBack,
            version: Some("0.5.0".try_into().unwrap()),
            received: None,
            size: None,
            reason: None,
        };
        assert_eq!(serde_json::to_string(&report).unwrap(), r#"{"stage":"rolled_back","version":"0.5.0"}"#);
        let newer: UpdateReport = serde_json::from_str(r#"{"stage":"defragmenting"}"#).unwrap();
        assert_eq!(newer.stage, UpdateStage::Unknown);
    }
}
