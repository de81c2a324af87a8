//! Over-the-air updates, the flash edge: the update task drives `dawr_firmware_logic::update`'s
//! state machine with embassy-boot-rp underneath.
//!
//! - The image is staged in the bootloader's DFU slot ([`DfuStaging`] over
//!   `dawr_firmware_logic::update_flash::SlotStaging`); each 4 KB sector is erased when the
//!   download reaches its first byte, so a download resumed after a reboot keeps what it had.
//! - The update's record is kept in its own sector (`UPDATE_RECORD`), as the journal of
//!   `dawr_firmware_logic::update_flash::RecordJournal`.
//! - [`Action::Swap`] is embassy-boot's `mark_updated` and a restart (the bootloader swaps);
//!   [`Action::Confirm`] is `mark_booted`; [`Action::Rollback`] is a restart without it (the
//!   bootloader puts the old image back).
//! - Every flash operation feeds the watchdog ([`GuardedFlash`]): an erase or a long read
//!   (hashing the staged image) blocks the executor, and with it the main loop that feeds it
//!   otherwise.
//!
//! The MQTT session reads the update topics with `dawr_firmware_logic::update_link`, hands
//! offers and chunks to the task through [`deliver`] ([`UPDATE_EVENTS`]), and publishes the
//! chunk requests and state reports the task leaves in [`CHUNK_REQUESTS`] and [`STATE_REPORTS`].
use core::cell::RefCell;

use dawr_firmware_logic::update::{Action, Boot, Offer, Record, Staging, Updater};
use dawr_firmware_logic::update_flash::{RecordJournal, SlotStaging};
use dawr_firmware_logic::update_link::{ChunkBytes, UpdateMessage, report_is_news};
use dawr_protocol::device::{FirmwareVersion, UpdateReport};
use defmt::{error, info, warn};
use embassy_boot_rp::{BlockingFirmwareState, State as BootState};
use embassy_embedded_hal::flash::partition::BlockingPartition;
use embassy_futures::select::{Either, select};
use embassy_rp::flash::{Blocking, ERASE_SIZE, Flash};
use embassy_rp::peripherals::FLASH;
use embassy_rp::watchdog::Watchdog;
use embassy_sync::blocking_mutex::Mutex;
use embassy_sync::blocking_mutex::raw::CriticalSectionRawMutex;
use embassy_sync::channel::Channel;
use embassy_sync::signal::Signal;
use embassy_time::{Duration, Timer};
use embedded_storage::nor_flash::{ErrorType, NorFlash, ReadNorFlash};

use crate::{FLASH_SIZE, WATCHDOG_TIMEOUT, now_ms, restart};

/// The release key's public half (32 bytes), from `build.rs` (`DAWR_RELEASE_PUBKEY`).
mod release {
    include!(concat!(env!("OUT_DIR"), "/release_key.rs"));
}

/// The chip's flash, shared by the settings (provisioning) and the updates.
pub type SharedFlash = Mutex<CriticalSectionRawMutex, RefCell<GuardedFlash>>;
type Partition = BlockingPartition<'static, CriticalSectionRawMutex, GuardedFlash>;

/// The watchdog, fed by the main loop ([`Dog`]) and by every flash operation.
static WATCHDOG: Mutex<CriticalSectionRawMutex, RefCell<Option<Watchdog>>> = Mutex::new(RefCell::new(None));

/// Starts the watchdog and hands it over to [`feed_watchdog`].
pub fn start_watchdog(mut watchdog: Watchdog) -> Dog {
    watchdog.pause_on_debug(true);
    watchdog.start(WATCHDOG_TIMEOUT);
    WATCHDOG.lock(|w| *w.borrow_mut() = Some(watchdog));
    Dog
}

/// Feeds the watchdog (a full [`WATCHDOG_TIMEOUT`]).
pub fn feed_watchdog() {
    WATCHDOG.lock(|w| {
        if let Some(watchdog) = w.borrow_mut().as_mut() {
            watchdog.feed(WATCHDOG_TIMEOUT);
        }
    });
}

/// The main loop's handle on the shared watchdog.
pub struct Dog;

impl Dog {
    pub fn feed(&mut self, _timeout: Duration) {
        feed_watchdog();
    }
}

/// The flash, feeding the watchdog before each operation and erasing one sector at a time (the
/// DFU slot whole would take longer than the watchdog waits).
pub struct GuardedFlash(Flash<'static, FLASH, Blocking, FLASH_SIZE>);

impl GuardedFlash {
    pub fn new(flash: embassy_rp::Peri<'static, FLASH>) -> Self {
        GuardedFlash(Flash::new_blocking(flash))
    }
}

impl ErrorType for GuardedFlash {
    type Error = embassy_rp::flash::Error;
}

impl ReadNorFlash for GuardedFlash {
    const READ_SIZE: usize = embassy_rp::flash::READ_SIZE;

    fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), Self::Error> {
        feed_watchdog();
        self.0.blocking_read(offset, bytes)
    }

    fn capacity(&self) -> usize {
        FLASH_SIZE
    }
}

impl NorFlash for GuardedFlash {
    const WRITE_SIZE: usize = embassy_rp::flash::WRITE_SIZE;
    const ERASE_SIZE: usize = ERASE_SIZE;

    fn erase(&mut self, from: u32, to: u32) -> Result<(), Self::Error> {
        let mut sector = from;
        while sector < to {
            feed_watchdog();
            self.0.blocking_erase(sector, sector + ERASE_SIZE as u32)?;
            sector += ERASE_SIZE as u32;
        }
        Ok(())
    }

    fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), Self::Error> {
        feed_watchdog();
        self.0.blocking_write(offset, bytes)
    }
}

/// The flash map `app-memory.x` defines (offsets from the start of flash).
mod map {
    unsafe extern "C" {
        static __bootloader_state_start: u32;
        static __bootloader_state_end: u32;
        static __bootloader_dfu_start: u32;
        static __bootloader_dfu_end: u32;
        static __dawr_update_record_start: u32;
        static __dawr_settings_start: u32;
    }

    /// A linker symbol's address: the value app-memory.x gives it.
    fn value(symbol: &u32) -> u32 {
        symbol as *const u32 as u32
    }

    /// (offset, size) of each partition.
    pub fn state() -> (u32, u32) {
        // SAFETY: only the symbols' addresses are taken, never their contents.
        unsafe { (value(&__bootloader_state_start), value(&__bootloader_state_end) - value(&__bootloader_state_start)) }
    }

    pub fn dfu() -> (u32, u32) {
        // SAFETY: as above.
        unsafe { (value(&__bootloader_dfu_start), value(&__bootloader_dfu_end) - value(&__bootloader_dfu_start)) }
    }

    pub fn update_record() -> (u32, u32) {
        // SAFETY: as above.
        unsafe {
            (value(&__dawr_update_record_start), value(&__dawr_settings_start) - value(&__dawr_update_record_start))
        }
    }

    pub fn settings() -> u32 {
        // SAFETY: as above.
        unsafe { value(&__dawr_settings_start) }
    }
}

/// Where the settings sector starts (the last 4 KB).
pub fn settings_offset() -> u32 {
    map::settings()
}

fn partition(flash: &'static SharedFlash, (offset, size): (u32, u32)) -> Partition {
    BlockingPartition::new(flash, offset, size)
}

/// The DFU slot as `Staging` ([`SlotStaging`]: each sector erased when the download reaches
/// it), refusing a new download while the running image is on trial, when the slot holds the
/// image to roll back to.
pub struct DfuStaging<'a> {
    slot: SlotStaging<Partition>,
    boot: &'a RefCell<BlockingFirmwareState<'static, Partition>>,
}

/// Why staging failed.
#[derive(Debug)]
pub enum StagingError {
    Flash,
    /// The running image is on trial: the DFU slot holds the one to roll back to.
    OnTrial,
}

impl Staging for DfuStaging<'_> {
    type Error = StagingError;

    fn capacity(&self) -> u32 {
        self.slot.capacity()
    }

    fn erase(&mut self) -> Result<(), StagingError> {
        match self.boot.borrow_mut().get_state() {
            Ok(BootState::Swap) => Err(StagingError::OnTrial),
            Ok(_) => self.slot.erase().map_err(|_| StagingError::Flash),
            Err(_) => Err(StagingError::Flash),
        }
    }

    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), StagingError> {
        self.slot.write(offset, data).map_err(|_| StagingError::Flash)
    }

    fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), StagingError> {
        self.slot.read(offset, buf).map_err(|_| StagingError::Flash)
    }
}

/// What the MQTT session hands the update task.
// Each channel slot is as large as a chunk anyway (no heap to box it in).
#[allow(clippy::large_enum_variant)]
pub enum UpdateEvent {
    /// The hub offers an image (`…/update/offer`).
    Offered(Offer),
    /// A chunk of `version`'s image at `offset` (`…/update/chunk`).
    Chunk { version: FirmwareVersion, offset: u32, data: ChunkBytes },
    /// The session reached the broker (subscribed): an image on trial confirms itself, and a
    /// download asks again for what it is missing.
    BrokerReached,
}

/// Part of the image the task asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkRequest {
    pub version: FirmwareVersion,
    pub offset: u32,
    pub len: u32,
}

/// From the MQTT session to the update task.
pub static UPDATE_EVENTS: Channel<CriticalSectionRawMutex, UpdateEvent, 2> = Channel::new();

/// From the update task to the MQTT session: the latest chunk request (an older one not yet sent
/// is replaced; the updater asks again after a timeout anyway), for `…/update/request`.
pub static CHUNK_REQUESTS: Signal<CriticalSectionRawMutex, ChunkRequest> = Signal::new();

/// From the update task to the MQTT session: the latest news of the update's state, for the
/// retained `…/update/state` (a stage change, or a tenth more of the image received).
pub static STATE_REPORTS: Signal<CriticalSectionRawMutex, UpdateReport> = Signal::new();

/// Hands what the session read on the update topics to the task. A message that does not fit
/// the channel is dropped: the updater asks again for what it misses.
pub fn deliver(message: UpdateMessage) {
    let event = match message {
        UpdateMessage::Offered(offer) => UpdateEvent::Offered(offer),
        UpdateMessage::Chunk { version, offset, data } => UpdateEvent::Chunk { version, offset, data },
        UpdateMessage::Refused { offset, error } => {
            warn!("the hub sent no chunk at {}: {}", offset, defmt::Debug2Format(&error));
            return;
        }
        UpdateMessage::Withdrawn => {
            info!("the update offer was withdrawn");
            return;
        }
        UpdateMessage::Unreadable => {
            warn!("an unreadable message on the update topics");
            return;
        }
    };
    if UPDATE_EVENTS.try_send(event).is_err() {
        warn!("the update task is busy: a message dropped");
    }
}

/// The update task: reads the bootloader's state and the update record, then drives the
/// updater with the session's events and the clock.
#[embassy_executor::task]
pub async fn update_task(flash: &'static SharedFlash, running: &'static str) -> ! {
    static ALIGNED: static_cell::StaticCell<[u8; embassy_rp::flash::WRITE_SIZE]> = static_cell::StaticCell::new();
    let aligned = ALIGNED.init([0; embassy_rp::flash::WRITE_SIZE]);
    let boot_state = RefCell::new(BlockingFirmwareState::new(partition(flash, map::state()), aligned));
    let boot = match boot_state.borrow_mut().get_state() {
        Ok(BootState::Swap) => Boot::Trial,
        Ok(_) => Boot::Normal,
        Err(_) => {
            warn!("cannot read the bootloader's state");
            Boot::Normal
        }
    };
    let (mut records, record) = RecordJournal::open(partition(flash, map::update_record()));
    if release::DEMO_KEY {
        warn!("built with the demo release key: no update will verify");
    }
    let Some((mut updater, first)) = Updater::start(&release::RELEASE_KEY, running, boot, record, now_ms()) else {
        error!("the release key built in is not an Ed25519 public key: updates are off");
        loop {
            Timer::after_secs(3600).await;
        }
    };
    info!(
        "update: {} boot, {}",
        if boot == Boot::Trial { "trial" } else { "normal" },
        defmt::Debug2Format(updater.state())
    );
    let mut staging = DfuStaging { slot: SlotStaging::new(partition(flash, map::dfu())), boot: &boot_state };
    let mut edge = Edge { records: &mut records, boot: &boot_state, version: None };
    edge.perform(first);
    let mut reported: Option<UpdateReport> = None;

    loop {
        let action = match select(UPDATE_EVENTS.receive(), Timer::after_secs(1)).await {
            Either::First(UpdateEvent::Offered(offer)) => updater.offered(offer, &mut staging, now_ms()),
            Either::First(UpdateEvent::Chunk { version, offset, data }) => {
                updater.chunk(&version, offset, &data, &mut staging)
            }
            Either::First(UpdateEvent::BrokerReached) => {
                edge.perform(updater.connected());
                updater.next_request(now_ms())
            }
            Either::Second(()) => updater.tick(now_ms()),
        };
        // A record kept is followed by the next request, or after the last chunk by the swap.
        let downloading = matches!(action, Action::Keep(Some(Record::Downloading { .. })));
        let swapped = matches!(action, Action::Keep(Some(Record::Swapped { .. })));
        let report = updater.state().report();
        edge.version = report.version.clone();
        if report_is_news(reported.as_ref(), &report) {
            STATE_REPORTS.signal(report.clone());
            reported = Some(report);
        }
        edge.perform(action);
        if downloading {
            edge.perform(updater.next_request(now_ms()));
        }
        if swapped {
            edge.perform(updater.swap_now());
        }
    }
}

/// Carries out the updater's actions on the flash and the bootloader's state.
struct Edge<'a> {
    records: &'a mut RecordJournal<Partition>,
    boot: &'a RefCell<BlockingFirmwareState<'static, Partition>>,
    /// The version being downloaded (for the chunk requests).
    version: Option<FirmwareVersion>,
}

impl Edge<'_> {
    fn perform(&mut self, action: Action) {
        match action {
            Action::None => {}
            Action::Request { offset, len } => {
                if let Some(version) = self.version.clone() {
                    CHUNK_REQUESTS.signal(ChunkRequest { version, offset, len });
                }
            }
            Action::Keep(record) => {
                if self.records.keep(record.as_ref()).is_err() {
                    warn!("cannot write the update record");
                }
            }
            Action::Swap => match self.boot.borrow_mut().mark_updated() {
                Ok(()) => {
                    info!("update verified: restarting into the bootloader to swap");
                    restart();
                }
                Err(e) => error!("cannot mark the update for the bootloader: {}", defmt::Debug2Format(&e)),
            },
            Action::Confirm => match self.boot.borrow_mut().mark_booted() {
                Ok(()) => info!("this image reached the broker: confirmed"),
                Err(e) => error!("cannot confirm this image: {}", defmt::Debug2Format(&e)),
            },
            Action::Rollback => {
                warn!("this image did not reach the broker in time: restarting to roll back");
                restart();
            }
        }
    }
}
