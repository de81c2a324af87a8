//! Everything the counter button does that is not hardware.
//!
//! The firmware (`firmware/`, for the Raspberry Pi Pico W) is a thin shell: it reads the buttons,
//! keeps the Wi-Fi and MQTT connection, and draws on the OLED. All decisions are made here, in
//! `no_std` code that the host tests with a fake clock:
//!
//! - [`button`]: debouncing and long presses;
//! - [`ids`]: command ids that stay unique across reboots;
//! - [`device`]: the state machine — presses to commands, replies and retained state to what
//!   the screen shows, retries with the same id, nothing queued while offline;
//! - [`screen`]: the 128×64 screen drawn with embedded-graphics;
//! - [`mqtt`]: the MQTT 3.1.1 session (CONNECT with last will, SUBSCRIBE, QoS 1, keep-alive);
//! - [`wifi`]: joining the Wi-Fi again after the link is lost, with back-off;
//! - [`settings`]: the settings record kept in flash (one firmware image for every button);
//! - [`provision`]: the USB serial line protocol that writes it (both sides);
//! - [`update`]: over-the-air updates — chunks, resuming, the release key's signature, trial
//!   boot, confirm or roll back;
//! - [`update_record`]: the update's record as kept in flash (a journal in its own sector);
//! - [`update_flash`]: the update's flash edge over any NOR flash — the image staged in a slot
//!   (resumable mid-sector), the record's journal;
//! - [`update_link`]: the update's MQTT messages as a button reads and writes them.
//!
//! The host simulator (`dawr-button-sim` in the `tests` crate) runs this same logic against a
//! real hub over MQTT.
#![cfg_attr(not(test), no_std)]

pub mod button;
pub mod device;
pub mod ids;
pub mod mqtt;
pub mod provision;
pub mod screen;
pub mod settings;
pub mod update;
pub mod update_flash;
pub mod update_link;
pub mod update_record;
pub mod wifi;

pub use button::{Button, Press};
pub use device::{Config, Device, Key, Link, Mode, Notice, Outgoing, RatingPhase, View, reset_reason};
