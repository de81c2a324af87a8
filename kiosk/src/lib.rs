//! The entrance kiosk: a touch screen where visitors take tickets and check in bookings, and the
//! thermal printer that prints them.
//!
//! Start reading at [`flow`] (what the kiosk does, as a state machine without IO), then
//! [`screen`] (the Slint window, `ui/kiosk.slint`, and how a state is drawn) and [`app`] (the
//! shell: the window, the hub over HTTP and the printer). Printing: [`ticket`] (the ticket's
//! layout as ESC/POS), [`raster`] (Arabic lines shaped with the bundled fonts into printer
//! bitmaps) and [`printer`] (where the bytes go: `file:PATH`, `tcp:HOST:PORT`).
pub mod app;
pub mod cli;
pub mod flow;
pub mod printer;
pub mod raster;
pub mod screen;
pub mod ticket;
