//! Provisioning over the USB serial port: the line protocol between `dawr-hub devices provision`
//! and the button, both sides of it (the firmware parses requests, the hub parses replies), so
//! that the two cannot drift apart.
//!
//! ASCII lines ending in `\n` (a `\r` before it is ignored):
//!
//! ```text
//! host → button                     button → host
//! DAWR HELLO                        DAWR READY <device id in use now>
//! DAWR SET <record as hex>          DAWR OK            (stored; the button restarts with it)
//!                                   DAWR ERR <reason>  (nothing stored)
//! ```
//!
//! The record is the settings record of [`crate::settings`], checked in full before anything
//! is written. Reasons are short snake_case words ([`reason`]).
use core::fmt::Write;

use crate::settings::{Field, MAX_RECORD, Settings, SettingsError};

/// The longest request line: `DAWR SET ` and the largest record in hex.
pub const MAX_LINE: usize = 9 + 2 * MAX_RECORD;

/// A reply line, without its `\n`.
pub type ReplyLine = heapless::String<64>;

/// Why a request was refused, before or while reading its record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestError {
    /// Longer than [`MAX_LINE`].
    TooLong,
    /// Not `DAWR HELLO` or `DAWR SET …`.
    UnknownCommand,
    /// The record is not an even number of hex digits, or too long.
    BadHex,
    /// The record was read but refused.
    Settings(SettingsError),
}

/// A request the button understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    Hello,
    /// A valid record to store (already checked) and what it says.
    Set {
        record: &'a [u8],
        settings: Settings<'a>,
    },
}

/// A reply as the host reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    Ready { device: &'a str },
    Ok,
    Err { reason: &'a str },
}

/// The reason word for an error.
pub fn reason(error: RequestError) -> &'static str {
    match error {
        RequestError::TooLong => "too_long",
        RequestError::UnknownCommand => "unknown_command",
        RequestError::BadHex => "bad_hex",
        RequestError::Settings(e) => match e {
            SettingsError::Blank => "blank",
            SettingsError::NotSettings => "not_settings",
            SettingsError::UnsupportedVersion(_) => "unsupported_version",
            SettingsError::Truncated => "truncated",
            SettingsError::BadChecksum => "bad_checksum",
            SettingsError::TrailingBytes => "trailing_bytes",
            SettingsError::BufferTooSmall => "too_long",
            SettingsError::Invalid(field) => match field {
                Field::WifiSsid => "invalid_wifi_ssid",
                Field::WifiPassword => "invalid_wifi_password",
                Field::BrokerAddress => "invalid_broker_address",
                Field::BrokerPort => "invalid_broker_port",
                Field::Branch => "invalid_branch",
                Field::Counter => "invalid_counter",
                Field::DeviceId => "invalid_device_id",
                Field::MqttUsername => "invalid_mqtt_username",
                Field::MqttPassword => "invalid_mqtt_password",
                Field::Mode => "invalid_mode",
                Field::Language => "invalid_language",
            },
        },
    }
}

/// Collects bytes from the serial port into lines.
#[derive(Debug, Clone)]
pub struct LineBuffer {
    buf: [u8; MAX_LINE],
    len: usize,
    overflowed: bool,
}

impl Default for LineBuffer {
    fn default() -> Self {
        LineBuffer::new()
    }
}

impl LineBuffer {
    pub const fn new() -> Self {
        LineBuffer { buf: [0; MAX_LINE], len: 0, overflowed: false }
    }

    /// Adds one byte; at the end of a line, returns it (without `\r\n`), or `TooLong` for a line
    /// that did not fit (its bytes are dropped).
    pub fn push(&mut self, byte: u8) -> Option<Result<&[u8], RequestError>> {
        if byte == b'\n' {
            let (len, overflowed) = (self.len, self.overflowed);
            self.len = 0;
            self.overflowed = false;
            if overflowed {
                return Some(Err(RequestError::TooLong));
            }
            let line = &self.buf[..len];
            return Some(Ok(line.strip_suffix(b"\r").unwrap_or(line)));
        }
        if self.len == MAX_LINE {
            self.overflowed = true;
        } else {
            self.buf[self.len] = byte;
            self.len += 1;
        }
        None
    }
}

fn hex_digit(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Reads a request line; a record is decoded into `record` and checked.
pub fn parse_request<'a>(line: &[u8], record: &'a mut [u8; MAX_RECORD]) -> Result<Request<'a>, RequestError> {
    if line == b"DAWR HELLO" {
        return Ok(Request::Hello);
    }
    let hex = line.strip_prefix(b"DAWR SET ").ok_or(RequestError::UnknownCommand)?;
    if !hex.len().is_multiple_of(2) || hex.len() / 2 > MAX_RECORD {
        return Err(RequestError::BadHex);
    }
    let n = hex.len() / 2;
    for (byte, pair) in record.iter_mut().zip(hex.chunks_exact(2)) {
        *byte =
            (hex_digit(pair[0]).ok_or(RequestError::BadHex)? << 4) | hex_digit(pair[1]).ok_or(RequestError::BadHex)?;
    }
    let record = &record[..n];
    let settings = Settings::parse(record).map_err(RequestError::Settings)?;
    // Exactly one record: nothing after its checksum.
    if n != 7 + usize::from(u16::from_le_bytes([record[5], record[6]])) + 4 {
        return Err(RequestError::Settings(SettingsError::TrailingBytes));
    }
    Ok(Request::Set { record, settings })
}

/// `DAWR READY <device>`.
pub fn ready(device: &str) -> ReplyLine {
    let mut line = ReplyLine::new();
    let _ = write!(line, "DAWR READY {device}");
    line
}

/// `DAWR OK`.
pub fn ok() -> ReplyLine {
    ReplyLine::try_from("DAWR OK").unwrap_or_default()
}

/// `DAWR ERR <reason>`.
pub fn refused(reason: &str) -> ReplyLine {
    let mut line = ReplyLine::new();
    let _ = write!(line, "DAWR ERR {reason}");
    line
}

/// Writes a `DAWR SET` request for `record` into `out`; returns its length (without `\n`).
pub fn set_request(record: &[u8], out: &mut [u8]) -> Option<usize> {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let prefix = b"DAWR SET ";
    let len = prefix.len() + 2 * record.len();
    let out = out.get_mut(..len)?;
    out[..prefix.len()].copy_from_slice(prefix);
    for (pair, byte) in out[prefix.len()..].chunks_exact_mut(2).zip(record) {
        pair[0] = DIGITS[usize::from(byte >> 4)];
        pair[1] = DIGITS[usize::from(byte & 0x0F)];
    }
    Some(len)
}

/// Reads a reply line (the host side); `None` for a line that is not one (boot noise).
pub fn parse_reply(line: &str) -> Option<Reply<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line == "DAWR OK" {
        return Some(Reply::Ok);
    }
    if let Some(device) = line.strip_prefix("DAWR READY ") {
        return Some(Reply::Ready { device });
    }
    line.strip_prefix("DAWR ERR ").map(|reason| Reply::Err { reason })
}

/// The button's side: one line in, the reply, and the record to store when it is a valid `SET`.
pub fn answer<'a>(
    line: Result<&[u8], RequestError>,
    device_in_use: &str,
    record: &'a mut [u8; MAX_RECORD],
) -> (ReplyLine, Option<&'a [u8]>) {
    match line.and_then(|line| parse_request(line, record)) {
        Ok(Request::Hello) => (ready(device_in_use), None),
        Ok(Request::Set { record, .. }) => (ok(), Some(record)),
        Err(e) => (refused(reason(e)), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::Mode;
    use crate::settings::Language;

    const SETTINGS: Settings<'static> = Settings {
        wifi_ssid: "branch-devices",
        wifi_password: "",
        broker_ip: [10, 0, 0, 2],
        broker_port: 1883,
        branch: "demo",
        counter: "4",
        device_id: "button-4",
        mqtt_username: "",
        mqtt_password: "pw",
        mode: Mode::Counter,
        language: Language::English,
    };

    fn lines(buffer: &mut LineBuffer, bytes: &[u8]) -> Vec<Result<Vec<u8>, RequestError>> {
        bytes.iter().filter_map(|b| buffer.push(*b).map(|l| l.map(<[u8]>::to_vec))).collect()
    }

    fn set_line(settings: &Settings<'_>) -> Vec<u8> {
        let mut record = [0u8; MAX_RECORD];
        let n = settings.encode(&mut record).unwrap();
        let mut out = [0u8; MAX_LINE];
        let len = set_request(&record[..n], &mut out).unwrap();
        out[..len].to_vec()
    }

    #[test]
    fn a_set_request_round_trips_and_is_answered_ok_with_the_record() {
        let line = set_line(&SETTINGS);
        let mut buffer = LineBuffer::new();
        let mut bytes = line.clone();
        bytes.extend_from_slice(b"\r\n");
        let got = lines(&mut buffer, &bytes);
        assert_eq!(got, [Ok(line.clone())], "\\r\\n ends a line too");
        let mut record = [0u8; MAX_RECORD];
        let (reply, store) = answer(Ok(&line), "button-1", &mut record);
        assert_eq!(reply.as_str(), "DAWR OK");
        assert_eq!(Settings::parse(store.expect("a record to store")), Ok(SETTINGS));
        assert_eq!(parse_reply(&reply), Some(Reply::Ok));
    }

    #[test]
    fn hello_says_which_device_is_in_use() {
        let mut record = [0u8; MAX_RECORD];
        let (reply, store) = answer(Ok(b"DAWR HELLO"), "button-1", &mut record);
        assert_eq!((reply.as_str(), store), ("DAWR READY button-1", None));
        assert_eq!(parse_reply("DAWR READY button-1\r\n"), Some(Reply::Ready { device: "button-1" }));
        assert_eq!(parse_reply("boot noise"), None);
    }

    #[test]
    fn bad_requests_are_refused_with_a_reason_and_nothing_is_stored() {
        let good = set_line(&SETTINGS);
        let mut odd = good.clone();
        odd.pop();
        let mut not_hex = good.clone();
        *not_hex.last_mut().unwrap() = b'g';
        let mut torn = good.clone();
        let last = torn.len() - 10;
        torn[last] = if torn[last] == b'0' { b'1' } else { b'0' };
        let cases: [(&[u8], &str); 6] = [
            (b"DAWR REBOOT", "unknown_command"),
            (b"", "unknown_command"),
            (&odd, "bad_hex"),
            (&not_hex, "bad_hex"),
            (&torn, "bad_checksum"),
            (b"DAWR SET ffffffff", "blank"),
        ];
        for (line, expected) in cases {
            let mut record = [0u8; MAX_RECORD];
            let (reply, store) = answer(Ok(line), "button-1", &mut record);
            assert_eq!(parse_reply(&reply), Some(Reply::Err { reason: expected }), "{}", String::from_utf8_lossy(line));
            assert_eq!(store, None);
        }
        let mut record = [0u8; MAX_RECORD];
        // Values are checked by the settings parser (an invalid one cannot even be encoded).
        assert_eq!(reason(RequestError::Settings(SettingsError::Invalid(Field::Counter))), "invalid_counter");
        // Too long a line is refused once, and the next line is read normally.
        let mut buffer = LineBuffer::new();
        let mut flood = vec![b'A'; MAX_LINE + 10];
        flood.push(b'\n');
        flood.extend_from_slice(b"DAWR HELLO\n");
        let got = lines(&mut buffer, &flood);
        assert_eq!(got, [Err(RequestError::TooLong), Ok(b"DAWR HELLO".to_vec())]);
        let (reply, _) = answer(Err(RequestError::TooLong), "b", &mut record);
        assert_eq!(reply.as_str(), "DAWR ERR too_long");
    }

    #[test]
    fn a_record_with_bytes_after_its_checksum_is_refused() {
        let mut line = set_line(&SETTINGS);
        line.extend_from_slice(b"00");
        let mut record = [0u8; MAX_RECORD];
        let (reply, store) = answer(Ok(&line), "b", &mut record);
        assert_eq!((reply.as_str(), store), ("DAWR ERR trailing_bytes", None));
    }
}
