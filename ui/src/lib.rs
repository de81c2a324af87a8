//! What every Dawr screen shares.
//!
//! - [`fonts`]: the bundled Noto fonts (Arabic and Latin, OFL-1.1, see `fonts/OFL.txt`), and
//!   [`fonts::register_with_slint`], which makes them the fonts Slint draws with, so a screen
//!   looks the same on any machine and Arabic never falls back to a missing glyph.
//! - [`headless`]: a Slint platform with the software renderer and no window, for the
//!   `screenshot` commands and the UI tests: build a component, then [`headless::snapshot_png`].
//! - [`settings`]: a device's settings file (`--config FILE`), read as the flags it stands for.
//! - [`targets`]: where a window's buttons are, for the touch-target log and the layout tests.
//! - [`exit`]: how an app's process ends: an error is one line on stderr, never a backtrace.
//!
//! The apps (kiosk, display board, counter app) keep their UI in `.slint` files and their state
//! in Rust; this crate holds only what they would otherwise each write again.
pub mod exit;
pub mod fonts;
pub mod headless;
pub mod settings;
pub mod targets;
