//! Where a ticket is printed, through the `escpos` crate's drivers: a file (for tests and
//! spooling), a network printer on TCP 9100, a USB printer (`usb:VID:PID`, cargo feature `usb`,
//! pure-Rust nusb) or a serial one (`serial:/dev/ttyUSB0[@BAUD]`, cargo feature `serial`).
//! An address for a transport this build lacks is read, and printing to it fails with a clear
//! error (so the kiosk shows the e-ticket instead).
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use escpos::driver::{FileDriver, NetworkDriver};

use crate::raster::TextRenderer;
use crate::ticket::{self, Paper, TicketContext};

/// A printer address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrinterTarget {
    /// `file:PATH`
    File(PathBuf),
    /// `tcp:HOST:PORT`
    Tcp { host: String, port: u16 },
    /// `usb:VID:PID`, in hex (e.g. `usb:04b8:0202`, an Epson TM-T88).
    Usb { vendor: u16, product: u16 },
    /// `serial:PATH` or `serial:PATH@BAUD` (default 115200).
    Serial { path: String, baud: u32 },
}

/// A printer address that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("printer {0:?} must be file:PATH, tcp:HOST:PORT, usb:VID:PID or serial:PATH[@BAUD]")]
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
            Some(("usb", rest)) => {
                let (vendor, product) = rest.split_once(':').ok_or_else(bad)?;
                let hex = |s: &str| u16::from_str_radix(s, 16).map_err(|_| bad());
                Ok(PrinterTarget::Usb { vendor: hex(vendor)?, product: hex(product)? })
            }
            Some(("serial", rest)) if !rest.is_empty() => {
                let (path, baud) = match rest.rsplit_once('@') {
                    Some((path, baud)) => (path, baud.parse().map_err(|_| bad())?),
                    None => (rest, 115_200),
                };
                Ok(PrinterTarget::Serial { path: path.to_string(), baud })
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
        #[cfg(feature = "usb")]
        PrinterTarget::Usb { vendor, product } => {
            let driver = escpos::driver::NativeUsbDriver::open(*vendor, *product)?;
            ticket::print(driver, ctx, &mut renderer, paper, ticket)
        }
        #[cfg(feature = "serial")]
        PrinterTarget::Serial { path, baud } => {
            let driver = escpos::driver::SerialPortDriver::open(path, *baud, Some(Duration::from_secs(5)))?;
            ticket::print(driver, ctx, &mut renderer, paper, ticket)
        }
        #[allow(unreachable_patterns)]
        other => Err(escpos::errors::PrinterError::Io(format!(
            "this kiosk was built without support for {other:?} (cargo features `usb`, `serial`)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printer_addresses_are_read() {
        assert_eq!("file:/tmp/t.bin".parse(), Ok(PrinterTarget::File("/tmp/t.bin".into())));
        assert_eq!("tcp:127.0.0.1:9100".parse(), Ok(PrinterTarget::Tcp { host: "127.0.0.1".into(), port: 9100 }));
        assert_eq!("usb:04b8:0202".parse(), Ok(PrinterTarget::Usb { vendor: 0x04b8, product: 0x0202 }));
        assert_eq!(
            "serial:/dev/ttyUSB0@9600".parse(),
            Ok(PrinterTarget::Serial { path: "/dev/ttyUSB0".into(), baud: 9600 })
        );
        assert_eq!("serial:/dev/ttyS0".parse(), Ok(PrinterTarget::Serial { path: "/dev/ttyS0".into(), baud: 115_200 }));
        assert!("usb:epson".parse::<PrinterTarget>().is_err());
        assert!("tcp:printer".parse::<PrinterTarget>().is_err());
        assert!("file:".parse::<PrinterTarget>().is_err());
    }
}
