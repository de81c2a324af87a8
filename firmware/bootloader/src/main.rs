//! The counter button's bootloader (embassy-boot for the RP2040).
//!
//! It runs first on every start: when the application has marked a downloaded image for swap
//! (`mark_updated`), it swaps the DFU slot with the ACTIVE slot page by page (resumable after a
//! power cut) and boots the new image on trial. If that image restarts before it has marked
//! itself good (`mark_booted`, once it has reached the broker), the bootloader swaps the old
//! image back. The watchdog (8 s) is fed on every flash operation; a fault restarts the chip.
//! The flash map is in `memory.x`.
#![no_std]
#![no_main]

use core::cell::RefCell;

use cortex_m_rt::{entry, exception};
use defmt_rtt as _;
use embassy_boot_rp::{BootLoader, BootLoaderConfig, WatchdogFlash};
use embassy_sync::blocking_mutex::Mutex;
use embassy_time::Duration;

const FLASH_SIZE: usize = 2 * 1024 * 1024;

/// The state partition as flashing the bootloader leaves it: erased, so "boot the active image".
/// Without it, a board that ran a firmware from before the bootloader keeps that firmware's code
/// in the partition, which the bootloader could read as a swap to do.
#[used]
#[unsafe(link_section = ".bootloader_state")]
static ERASED_STATE: [u8; 4096] = [0xFF; 4096];

#[entry]
fn main() -> ! {
    let p = embassy_rp::init(Default::default());
    let flash = WatchdogFlash::<FLASH_SIZE>::start(p.FLASH, p.WATCHDOG, Duration::from_secs(8));
    let flash = Mutex::new(RefCell::new(flash));

    let config = BootLoaderConfig::from_linkerfile_blocking(&flash, &flash, &flash);
    let active_offset = config.active.offset();
    let bootloader: BootLoader = BootLoader::prepare(config);
    defmt::info!("bootloader: {}, starting the application", defmt::Debug2Format(&bootloader.state));

    // SAFETY: ACTIVE holds an application linked for that address (its vector table first).
    unsafe { bootloader.load(embassy_rp::flash::FLASH_BASE as u32 + active_offset) }
}

/// A hard fault restarts the chip (the bootloader resumes an interrupted swap).
#[unsafe(no_mangle)]
#[cfg_attr(target_os = "none", unsafe(link_section = ".HardFault.user"))]
unsafe extern "C" fn HardFault() {
    cortex_m::peripheral::SCB::sys_reset();
}

#[exception]
unsafe fn DefaultHandler(_: i16) -> ! {
    cortex_m::peripheral::SCB::sys_reset();
}

#[panic_handler]
fn panic(info: &core::panic::PanicInfo) -> ! {
    defmt::error!("bootloader panic: {}", defmt::Display2Format(info));
    cortex_m::peripheral::SCB::sys_reset();
}
