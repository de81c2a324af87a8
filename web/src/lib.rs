//! What Dawr's two web services — the branch hub and the appointments site — share.
//!
//! - [`html`]: escaping, the page shell (head, fonts, language and direction) and localised
//!   names; pages are [`maud`] templates, which escape every value by default.
//! - [`headers`]: the one middleware that puts the security headers (Content-Security-Policy,
//!   `frame-ancestors`, `nosniff`, referrer policy) on every response.
//! - [`error`]: [`WebError`], the one error type: a JSON `{"error","message"}` for the API, or
//!   (behind [`error::html_errors`]) an HTML error page with the same status for pages.
//! - [`guard`]: browser safety, one middleware: a Host allow-list, and state changes only from
//!   the service's own pages (Origin / `Sec-Fetch-Site`) as JSON or a form.
//! - [`serve`]: the connection loop with header and request timeouts and a connection cap;
//!   [`tls`]: HTTPS on it (a certificate and key in PEM files, rustls with ring).
//! - [`db`]: opening SQLite with the pragmas, the timestamp format of every column, and [`Db`],
//!   which runs a read or a write off the async runtime.
//! - [`clock`]: the time now, shiftable by an offset for tests (one for both services).
//! - [`start`]: logging, the runtime, the shutdown signal and the start-up errors; [`config`]:
//!   reading a TOML file, and UTC offsets; [`notify`]: systemd's readiness (`READY=1`,
//!   `STOPPING=1` on `NOTIFY_SOCKET`); [`backup`]: a database copied while the service
//!   serves, restored while it is stopped, and the data directory's lock.
//!
//! - [`otp`]: the one-time codes that confirm a mobile (the hub's `/join`, the site's bookings).
//!
//! Nothing here knows a queue or a booking.
pub mod backup;
pub mod clock;
pub mod config;
pub mod db;
pub mod error;
pub mod guard;
pub mod headers;
pub mod html;
pub mod notify;
pub mod otp;
pub mod serve;
pub mod start;
pub mod tls;

pub use db::{Db, Interrupted, StoreError};
pub use error::{WebError, WebResult};
