//! The button's settings as kept in its flash settings sector, so that one firmware image serves
//! every button: Wi-Fi, broker, branch, counter, device id and MQTT account, mode and screen
//! language. Written from the host over USB serial ([`crate::provision`]).
//!
//! The record (little-endian), at the start of the sector:
//!
//! ```text
//! "DAWR" | version: u8 (1) | length: u16 | body: length bytes | CRC-32 (IEEE) of all before: u32
//! ```
//!
//! The body holds, in this order, each string as one length byte and its UTF-8 bytes:
//! Wi-Fi SSID (1–32 bytes), Wi-Fi password (empty for an open network, else 8–63), broker IPv4
//! address (text, `192.168.10.2`), broker port (u16, not 0), branch, counter and device id (1–32
//! of `A-Z a-z 0-9 _ -`), MQTT username (empty: the device id), MQTT password (0–128 bytes), mode
//! (u8: 0 counter, 1 rating), language (u8: 0 Arabic, 1 English). Anything else — an erased
//! sector, another version, a wrong checksum, a bad value, trailing bytes — is refused with a
//! [`SettingsError`], and the firmware keeps the settings it was built with.
use crate::device::Mode;

/// The record's first four bytes.
pub const MAGIC: &[u8; 4] = b"DAWR";
/// The record format this firmware reads and writes.
pub const VERSION: u8 = 1;
/// The largest record: header, the longest body, checksum.
pub const MAX_RECORD: usize = 7 + 4 + (1 + 32) + (1 + 63) + (1 + 15) + 2 + 3 * (1 + 32) + (1 + 32) + (1 + 128) + 2;

/// The screen's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Arabic,
    English,
}

/// A field of the record, named in errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    WifiSsid,
    WifiPassword,
    BrokerAddress,
    BrokerPort,
    Branch,
    Counter,
    DeviceId,
    MqttUsername,
    MqttPassword,
    Mode,
    Language,
}

/// Why a record was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingsError {
    /// The sector is erased (all 0xFF): never provisioned.
    Blank,
    /// It does not start with [`MAGIC`].
    NotSettings,
    /// Another format version.
    UnsupportedVersion(u8),
    /// Shorter than its length says, or a field runs past the body.
    Truncated,
    /// The checksum does not match: a torn or corrupted write.
    BadChecksum,
    /// A value is out of its range.
    Invalid(Field),
    /// Bytes left in the body after the last field.
    TrailingBytes,
    /// The buffer given to [`Settings::encode`] is too small.
    BufferTooSmall,
}

/// A button's settings. Strings borrow from the record they were read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settings<'a> {
    pub wifi_ssid: &'a str,
    pub wifi_password: &'a str,
    pub broker_ip: [u8; 4],
    pub broker_port: u16,
    pub branch: &'a str,
    pub counter: &'a str,
    pub device_id: &'a str,
    /// Empty: the device id.
    pub mqtt_username: &'a str,
    pub mqtt_password: &'a str,
    pub mode: Mode,
    pub language: Language,
}

/// A branch, counter or device id: 1–32 characters of `A-Z a-z 0-9 _ -`.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 32 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Reads dotted-quad IPv4 text (`192.168.10.2`).
pub fn parse_ipv4(text: &str) -> Option<[u8; 4]> {
    let mut octets = [0u8; 4];
    let mut parts = text.split('.');
    for octet in &mut octets {
        let part = parts.next()?;
        if part.is_empty() || part.len() > 3 || !part.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *octet = part.parse().ok()?;
    }
    parts.next().is_none().then_some(octets)
}

/// CRC-32 (IEEE 802.3, as zlib computes it).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// Reads the body's fields one by one.
struct Reader<'a> {
    body: &'a [u8],
}

impl<'a> Reader<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], SettingsError> {
        if self.body.len() < n {
            return Err(SettingsError::Truncated);
        }
        let (head, rest) = self.body.split_at(n);
        self.body = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, SettingsError> {
        Ok(self.bytes(1)?[0])
    }

    fn text(&mut self, field: Field) -> Result<&'a str, SettingsError> {
        let n = usize::from(self.byte()?);
        core::str::from_utf8(self.bytes(n)?).map_err(|_| SettingsError::Invalid(field))
    }
}

fn check(ok: bool, field: Field) -> Result<(), SettingsError> {
    if ok { Ok(()) } else { Err(SettingsError::Invalid(field)) }
}

impl<'a> Settings<'a> {
    /// Reads a record from the start of `sector` (anything after the record is ignored).
    pub fn parse(sector: &'a [u8]) -> Result<Settings<'a>, SettingsError> {
        if sector.len() >= 4 && sector[..4].iter().all(|b| *b == 0xFF) {
            return Err(SettingsError::Blank);
        }
        if sector.len() < 4 || &sector[..4] != MAGIC {
            return Err(SettingsError::NotSettings);
        }
        if sector.len() < 7 {
            return Err(SettingsError::Truncated);
        }
        if sector[4] != VERSION {
            return Err(SettingsError::UnsupportedVersion(sector[4]));
        }
        let length = usize::from(u16::from_le_bytes([sector[5], sector[6]]));
        let end = 7 + length;
        if sector.len() < end + 4 {
            return Err(SettingsError::Truncated);
        }
        let stored = u32::from_le_bytes([sector[end], sector[end + 1], sector[end + 2], sector[end + 3]]);
        if crc32(&sector[..end]) != stored {
            return Err(SettingsError::BadChecksum);
        }
        let mut r = Reader { body: &sector[7..end] };
        let wifi_ssid = r.text(Field::WifiSsid)?;
        check((1..=32).contains(&wifi_ssid.len()), Field::WifiSsid)?;
        let wifi_password = r.text(Field::WifiPassword)?;
        check(wifi_password.is_empty() || (8..=63).contains(&wifi_password.len()), Field::WifiPassword)?;
        let broker_ip =
            parse_ipv4(r.text(Field::BrokerAddress)?).ok_or(SettingsError::Invalid(Field::BrokerAddress))?;
        let port = r.bytes(2)?;
        let broker_port = u16::from_le_bytes([port[0], port[1]]);
        check(broker_port != 0, Field::BrokerPort)?;
        let branch = r.text(Field::Branch)?;
        check(valid_id(branch), Field::Branch)?;
        let counter = r.text(Field::Counter)?;
        check(valid_id(counter), Field::Counter)?;
        let device_id = r.text(Field::DeviceId)?;
        check(valid_id(device_id), Field::DeviceId)?;
        let mqtt_username = r.text(Field::MqttUsername)?;
        check(mqtt_username.is_empty() || valid_id(mqtt_username), Field::MqttUsername)?;
        let mqtt_password = r.text(Field::MqttPassword)?;
        check(mqtt_password.len() <= 128, Field::MqttPassword)?;
        let mode = match r.byte()? {
            0 => Mode::Counter,
            1 => Mode::Rating,
            _ => return Err(SettingsError::Invalid(Field::Mode)),
        };
        let language = match r.byte()? {
            0 => Language::Arabic,
            1 => Language::English,
            _ => return Err(SettingsError::Invalid(Field::Language)),
        };
        if !r.body.is_empty() {
            return Err(SettingsError::TrailingBytes);
        }
        Ok(Settings {
            wifi_ssid,
            wifi_password,
            broker_ip,
            broker_port,
            branch,
            counter,
            device_id,
            mqtt_username,
            mqtt_password,
            mode,
            language,
        })
    }

    /// Reads the sector; when it holds no valid record, `defaults` (the settings built in) and
    /// why the sector was not used.
    pub fn or_defaults(sector: &'a [u8], defaults: Settings<'a>) -> (Settings<'a>, Option<SettingsError>) {
        match Settings::parse(sector) {
            Ok(settings) => (settings, None),
            Err(e) => (defaults, Some(e)),
        }
    }

    /// The MQTT username: the device id unless set.
    pub fn username(&self) -> &'a str {
        if self.mqtt_username.is_empty() { self.device_id } else { self.mqtt_username }
    }

    /// Writes the record into `out`; returns its length. Values are checked as [`Settings::parse`]
    /// checks them, so a record this writes is always read back.
    pub fn encode(&self, out: &mut [u8]) -> Result<usize, SettingsError> {
        let mut w = Writer { out, at: 7 };
        w.text(self.wifi_ssid, Field::WifiSsid)?;
        w.text(self.wifi_password, Field::WifiPassword)?;
        let mut address: heapless::String<15> = heapless::String::new();
        let [a, b, c, d] = self.broker_ip;
        let _ = core::fmt::write(&mut address, format_args!("{a}.{b}.{c}.{d}"));
        w.text(&address, Field::BrokerAddress)?;
        w.put(&self.broker_port.to_le_bytes())?;
        w.text(self.branch, Field::Branch)?;
        w.text(self.counter, Field::Counter)?;
        w.text(self.device_id, Field::DeviceId)?;
        w.text(self.mqtt_username, Field::MqttUsername)?;
        w.text(self.mqtt_password, Field::MqttPassword)?;
        w.put(&[match self.mode {
            Mode::Counter => 0,
            Mode::Rating => 1,
        }])?;
        w.put(&[match self.language {
            Language::Arabic => 0,
            Language::English => 1,
        }])?;
        let end = w.at;
        let length = u16::try_from(end - 7).map_err(|_| SettingsError::BufferTooSmall)?;
        w.out[..4].copy_from_slice(MAGIC);
        w.out[4] = VERSION;
        w.out[5..7].copy_from_slice(&length.to_le_bytes());
        let crc = crc32(&w.out[..end]);
        w.put(&crc.to_le_bytes())?;
        // Refuse what the firmware would refuse.
        Settings::parse(&w.out[..w.at])?;
        Ok(w.at)
    }
}

struct Writer<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Writer<'_> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), SettingsError> {
        let end = self.at + bytes.len();
        self.out.get_mut(self.at..end).ok_or(SettingsError::BufferTooSmall)?.copy_from_slice(bytes);
        self.at = end;
        Ok(())
    }

    fn text(&mut self, text: &str, field: Field) -> Result<(), SettingsError> {
        let n = u8::try_from(text.len()).map_err(|_| SettingsError::Invalid(field))?;
        self.put(&[n])?;
        self.put(text.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: Settings<'static> = Settings {
        wifi_ssid: "branch-devices",
        wifi_password: "correct horse battery",
        broker_ip: [192, 168, 10, 2],
        broker_port: 1883,
        branch: "riyadh-1",
        counter: "7",
        device_id: "button-7",
        mqtt_username: "",
        mqtt_password: "s3cret-from-the-hub",
        mode: Mode::Counter,
        language: Language::Arabic,
    };

    fn record(settings: &Settings<'_>) -> Vec<u8> {
        let mut out = [0u8; MAX_RECORD];
        let n = settings.encode(&mut out).unwrap();
        out[..n].to_vec()
    }

    /// A sector as flash holds it: the record, then erased bytes.
    fn sector(record: &[u8]) -> Vec<u8> {
        let mut s = vec![0xFF; 4096];
        s[..record.len()].copy_from_slice(record);
        s
    }

    /// Recomputes the checksum after a deliberate change, so the value check is what refuses it.
    fn reseal(mut record: Vec<u8>) -> Vec<u8> {
        let end = record.len() - 4;
        let crc = crc32(&record[..end]);
        record[end..].copy_from_slice(&crc.to_le_bytes());
        record
    }

    #[test]
    fn a_written_record_reads_back_the_same() {
        let bytes = sector(&record(&SETTINGS));
        assert_eq!(Settings::parse(&bytes), Ok(SETTINGS));
        assert_eq!(SETTINGS.username(), "button-7", "no username means the device id");
        let rating =
            Settings { mode: Mode::Rating, language: Language::English, mqtt_username: "rating-7", ..SETTINGS };
        assert_eq!(Settings::parse(&record(&rating)), Ok(rating));
        let open = Settings { wifi_password: "", mqtt_password: "", ..SETTINGS };
        assert_eq!(Settings::parse(&record(&open)), Ok(open));
        // The longest of everything fits MAX_RECORD.
        let long = "x".repeat(32);
        let longest = Settings {
            wifi_ssid: &long,
            wifi_password: &"p".repeat(63),
            broker_ip: [255, 255, 255, 255],
            broker_port: 65535,
            branch: &long,
            counter: &long,
            device_id: &long,
            mqtt_username: &long,
            mqtt_password: &"q".repeat(128),
            ..SETTINGS
        };
        assert_eq!(record(&longest).len(), MAX_RECORD);
    }

    #[test]
    fn a_blank_or_damaged_sector_is_refused_and_the_built_in_settings_are_kept() {
        let defaults = Settings { device_id: "button-1", counter: "1", ..SETTINGS };
        let good = record(&SETTINGS);
        let mut torn = good.clone();
        torn[20] ^= 0x01;
        let mut other_version = good.clone();
        other_version[4] = 2;
        let cases: [(&str, Vec<u8>, SettingsError); 6] = [
            ("erased", vec![0xFF; 4096], SettingsError::Blank),
            ("zeros", vec![0; 64], SettingsError::NotSettings),
            ("a bit flipped", sector(&torn), SettingsError::BadChecksum),
            ("version 2", sector(&other_version), SettingsError::UnsupportedVersion(2)),
            ("cut short", good[..good.len() - 6].to_vec(), SettingsError::Truncated),
            ("header only", good[..7].to_vec(), SettingsError::Truncated),
        ];
        for (name, bytes, error) in cases {
            assert_eq!(Settings::parse(&bytes), Err(error), "{name}");
            let (kept, why) = Settings::or_defaults(&bytes, defaults);
            assert_eq!((kept, why), (defaults, Some(error)), "{name}: the built-in settings stay");
        }
        let (used, why) = Settings::or_defaults(&good, defaults);
        assert_eq!((used, why), (SETTINGS, None));
    }

    #[test]
    fn values_out_of_range_are_refused_even_with_a_good_checksum() {
        let bad = |s: Settings<'_>| {
            let mut out = [0u8; MAX_RECORD];
            s.encode(&mut out).unwrap_err()
        };
        assert_eq!(bad(Settings { wifi_ssid: "", ..SETTINGS }), SettingsError::Invalid(Field::WifiSsid));
        assert_eq!(bad(Settings { wifi_password: "short", ..SETTINGS }), SettingsError::Invalid(Field::WifiPassword));
        assert_eq!(bad(Settings { broker_port: 0, ..SETTINGS }), SettingsError::Invalid(Field::BrokerPort));
        assert_eq!(bad(Settings { counter: "7 ", ..SETTINGS }), SettingsError::Invalid(Field::Counter));
        assert_eq!(bad(Settings { device_id: "button/7", ..SETTINGS }), SettingsError::Invalid(Field::DeviceId));
        assert_eq!(bad(Settings { branch: &"b".repeat(33), ..SETTINGS }), SettingsError::Invalid(Field::Branch));
        let long = "p".repeat(129);
        assert_eq!(bad(Settings { mqtt_password: &long, ..SETTINGS }), SettingsError::Invalid(Field::MqttPassword));
        // Bytes changed by hand, checksum recomputed: still refused.
        let good = record(&SETTINGS);
        let address_at = 7 + 1 + SETTINGS.wifi_ssid.len() + 1 + SETTINGS.wifi_password.len() + 1;
        let mut address = good.clone();
        address[address_at..address_at + 3].copy_from_slice(b"999");
        assert_eq!(Settings::parse(&reseal(address)), Err(SettingsError::Invalid(Field::BrokerAddress)));
        let mut mode = good.clone();
        let mode_at = good.len() - 4 - 2;
        mode[mode_at] = 7;
        assert_eq!(Settings::parse(&reseal(mode)), Err(SettingsError::Invalid(Field::Mode)));
        let mut language = good.clone();
        language[mode_at + 1] = 9;
        assert_eq!(Settings::parse(&reseal(language)), Err(SettingsError::Invalid(Field::Language)));
        let mut not_utf8 = good.clone();
        not_utf8[8] = 0xC3;
        not_utf8[9] = 0x28;
        assert_eq!(Settings::parse(&reseal(not_utf8)), Err(SettingsError::Invalid(Field::WifiSsid)));
        // A longer body than its fields: trailing bytes.
        let mut trailing = good[..good.len() - 4].to_vec();
        trailing.push(0);
        let length = u16::try_from(trailing.len() - 7).unwrap();
        trailing[5..7].copy_from_slice(&length.to_le_bytes());
        trailing.extend_from_slice(&[0; 4]);
        assert_eq!(Settings::parse(&reseal(trailing)), Err(SettingsError::TrailingBytes));
        assert_eq!(SETTINGS.encode(&mut [0u8; 16]), Err(SettingsError::BufferTooSmall));
    }

    #[test]
    fn ipv4_text_and_the_checksum_are_read_as_usual() {
        assert_eq!(parse_ipv4("192.168.10.2"), Some([192, 168, 10, 2]));
        for bad in ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1..2.3", "a.b.c.d", "01234.1.1.1", "+1.2.3.4"] {
            assert_eq!(parse_ipv4(bad), None, "{bad}");
        }
        // The zlib check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }
}
