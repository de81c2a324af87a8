//! The entrance kiosk. For now: taking a ticket from the hub and printing it on an ESC/POS
//! thermal printer (`dawr-kiosk issue`, `dawr-kiosk test-print`); the touch screen comes next.
//!
//! - [`raster`]: Arabic text shaped with the bundled Noto fonts into printer bitmaps;
//! - [`ticket`]: the ticket's layout as ESC/POS;
//! - [`printer`]: where the bytes go (`file:PATH`, `tcp:HOST:PORT`).
pub mod printer;
pub mod raster;
pub mod ticket;
