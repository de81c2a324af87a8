//! Where a ticket is printed: a file (for tests and spooling) or a network printer on TCP 9100,
//! through the `escpos` crate's drivers. USB and serial printers are not wired yet.
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use escpos::driver::{FileDriver, NetworkDriver};

use crate::raster::TextRenderer;
use crate::ticket::{self, Paper, TicketContext};

/// A printer address: `file:PATH` or `tcp:HOST:PORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    File(PathBuf),
    Tcp { host: String, port: u16 },
}

/// A printer address that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("printer {0:?} must be file:PATH or tcp:HOST:PORT")]
pub struct BadTarget(pub String);

impl FromStr for PrinterTarget {
    type Err = BadTarget;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadTarget(s.to_string());
        match s.split_once(':') {
            Some(("file", path)) if !path.is_empty() => Ok(PrinterTarget::File(path.into())),
            Some(("tcp", rest)) => {
                let (host, port) = rest.rsplit_once(':').ok_or_else(bad)?;
                let port = port.parse().map_err(|_| bad())?;
                if host.is_empty() {
                    return Err(bad());
                }
                Ok(PrinterTarget::Tcp { host: host.to_string(), port })
            }
            _ => Err(bad()),
        }
    }
}

/// Prints a ticket on `target`.
pub fn print_ticket(
    target: &PrinterTarget,
    ctx: &TicketContext<'_>,
    paper: Paper,
    ticket: &dawr_protocol::api::Ticket,
) -> escpos::errors::Result<()> {
    let mut renderer = TextRenderer::new();
    match target {
        PrinterTarget::File(path) => {
            let options = std::fs::OpenOptions::new().create(true).write(true).truncate(true).clone();
            ticket::print(FileDriver::open_with_options(path, &options)?, ctx, &mut renderer, paper, ticket)
        }
        PrinterTarget::Tcp { host, port } => {
            let driver = NetworkDriver::open(host, *port, Some(Duration::from_secs(5)))?;
            ticket::print(driver, ctx, &mut renderer, paper, ticket)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_addresses_are_read() {
        assert_eq!("file:/tmp/t.bin".parse(), Ok(PrinterTarget::File("/tmp/t.bin".into())));
        assert_eq!("tcp:127.0.0.1:9100".parse(), Ok(PrinterTarget::Tcp { host: "127.0.0.1".into(), port: 9100 }));
        assert!("usb:04b8:0202".parse::<PrinterTarget>().is_err());
        assert!("tcp:printer".parse::<PrinterTarget>().is_err());
        assert!("file:".parse::<PrinterTarget>().is_err());
    }
}
