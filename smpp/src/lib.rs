//! SMPP 3.4 (Short Message Peer-to-Peer), what the hub needs to send SMS through an operator's or
//! aggregator's SMSC, written here rather than taken from a crate (see ARCHITECTURE.md, "SMS").
//!
//! - [`pdu`] (pure): the PDUs an ESME in a transceiver session exchanges — `bind_transceiver`,
//!   `enquire_link`, `submit_sm`, `deliver_sm` (delivery receipts and incoming messages),
//!   `unbind`, `generic_nack` and their responses — encoded and decoded byte for byte as the
//!   SMPP 3.4 specification lays them out.
//! - [`text`] (pure): a text as GSM 7-bit (the default alphabet, one septet per octet) or UCS-2
//!   (Arabic), split into parts with a concatenation UDH when it is too long for one message, and
//!   joined again; the receipt text's fields.
//! - [`client`]: a transceiver session over tokio — bind with system id and password,
//!   `enquire_link` keep-alive, a window of outstanding `submit_sm`, receipts and incoming
//!   messages passed on. Reconnecting (with back-off) is the owner's loop: a closed client is
//!   dropped and a new one connected.
//! - [`config`]: `[sms]`, the section of the hub's and the appointment site's files that says
//!   how to reach the SMSC, each program with its own keys, and the checks of its values.
pub mod client;
pub mod config;
pub mod pdu;
pub mod text;

pub use client::{Client, ClientError, Inbound, SessionConfig};
pub use pdu::{Command, Pdu, PduError, Status};
pub use text::{DataCoding, Encoded};
