//! Where a ticket is printed, through the `escpos` crate's drivers: a file (for tests and
//! spooling), a network printer on TCP 9100, a USB printer (`usb:VID:PID`, cargo feature `usb`,
//! pure-Rust nusb) or a serial one (`serial:/dev/ttyUSB0[@BAUD]`, cargo feature `serial`).
//! An address for a transport this build lacks is read, and printing to it fails with a clear
//! error (so the kiosk shows the e-ticket instead).
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use std::io::{Read, Write};

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

/// Why a printer cannot print now, as it says itself (ESC/POS `DLE EOT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PrinterFault {
    #[error("the printer is out of paper")]
    PaperOut,
    #[error("the printer's cover is open")]
    CoverOpen,
    #[error("the printer is offline")]
    Offline,
}

/// Why a ticket was not printed.
#[derive(Debug, thiserror::Error)]
pub enum PrintError {
    #[error(transparent)]
    Fault(#[from] PrinterFault),
    #[error("{0}")]
    Transport(#[from] escpos::errors::PrinterError),
}

impl PrintError {
    /// How the kiosk reports its printer after this error.
    pub fn health(&self) -> dawr_protocol::device::PrinterHealth {
        use dawr_protocol::device::PrinterHealth;
        match self {
            PrintError::Fault(PrinterFault::PaperOut) => PrinterHealth::PaperOut,
            PrintError::Fault(PrinterFault::CoverOpen) => PrinterHealth::CoverOpen,
            PrintError::Fault(PrinterFault::Offline) | PrintError::Transport(_) => PrinterHealth::Offline,
        }
    }
}

/// Reads the replies to `DLE EOT 1` (printer status), `2` (offline cause) and `4` (paper sensor),
/// each one byte (Epson's layout: bits 1 and 4 always set).
pub fn fault_from_status(printer: u8, offline_cause: u8, paper: u8) -> Option<PrinterFault> {
    if paper & 0x60 != 0 || offline_cause & 0x20 != 0 {
        Some(PrinterFault::PaperOut)
    } else if offline_cause & 0x04 != 0 {
        Some(PrinterFault::CoverOpen)
    } else if printer & 0x08 != 0 {
        Some(PrinterFault::Offline)
    } else {
        None
    }
}

/// Asks a network printer for its status before printing. A printer that does not answer
/// `DLE EOT` within a moment is taken as ready (the print itself will tell).
fn tcp_status(host: &str, port: u16) -> Result<Option<PrinterFault>, escpos::errors::PrinterError> {
    let io = |e: std::io::Error| escpos::errors::PrinterError::Io(e.to_string());
    let address = std::net::ToSocketAddrs::to_socket_addrs(&(host, port)).map_err(io)?.next();
    let address = address.ok_or_else(|| escpos::errors::PrinterError::Io(format!("{host} has no address")))?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, Duration::from_secs(3)).map_err(io)?;
    stream.set_read_timeout(Some(Duration::from_millis(800))).map_err(io)?;
    let mut ask = |n: u8| -> Result<Option<u8>, escpos::errors::PrinterError> {
        stream.write_all(&[0x10, 0x04, n]).map_err(io)?;
        let mut byte = [0u8; 1];
        match stream.read(&mut byte) {
            Ok(1) => Ok(Some(byte[0])),
            _ => Ok(None),
        }
    };
    let Some(printer) = ask(1)? else { return Ok(None) };
    let offline_cause = ask(2)?.unwrap_or(0x12);
    let paper = ask(4)?.unwrap_or(0x12);
    Ok(fault_from_status(printer, offline_cause, paper))
}

/// Prints a ticket on `target`; a network printer is asked for its status first, so a printer
/// out of paper or with its cover open is reported as such instead of swallowing the ticket.
pub fn print_ticket(
    target: &PrinterTarget,
    ctx: &TicketContext<'_>,
    paper: Paper,
    ticket: &dawr_protocol::api::Ticket,
) -> Result<(), PrintError> {
    if let PrinterTarget::Tcp { host, port } = target
        && let Some(fault) = tcp_status(host, *port)?
    {
        return Err(fault.into());
    }
    Ok(send_ticket(target, ctx, paper, ticket)?)
}

fn send_ticket(
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
    }

    #[test]
    fn status_bytes_tell_paper_out_from_cover_open_from_offline() {
        assert_eq!(fault_from_status(0x12, 0x12, 0x12), None, "ready");
        assert_eq!(fault_from_status(0x12, 0x12, 0x1e), None, "paper near its end still prints");
        assert_eq!(fault_from_status(0x1a, 0x32, 0x72), Some(PrinterFault::PaperOut));
        assert_eq!(fault_from_status(0x1a, 0x16, 0x12), Some(PrinterFault::CoverOpen));
        assert_eq!(fault_from_status(0x1a, 0x12, 0x12), Some(PrinterFault::Offline));
        assert!("tcp:printer".parse::<PrinterTarget>().is_err());
        assert!("file:".parse::<PrinterTarget>().is_err());
    }
}
