//! SMPP 3.4 PDUs, pure: encoding to bytes and decoding from a byte stream (a frame is whole when
//! its `command_length` has arrived). Field order, sizes and command ids follow the SMPP 3.4
//! specification (sections 3.2 and 4): a 16-octet header (length, id, status, sequence), then
//! C-octet strings (NUL-terminated, with a maximum size including the NUL), single octets,
//! `short_message` with its length octet, and optional TLV parameters.

/// The largest PDU accepted from a peer (a `submit_sm` with every TLV is far smaller).
pub const MAX_PDU: usize = 64 * 1024;
/// The header: `command_length`, `command_id`, `command_status`, `sequence_number`.
pub const HEADER: usize = 16;
/// `interface_version` of SMPP 3.4.
pub const INTERFACE_VERSION: u8 = 0x34;

/// `esm_class` bit: the `short_message` starts with a user data header.
pub const ESM_UDHI: u8 = 0x40;
/// `esm_class` message type of an SMSC delivery receipt (bits 2–5).
pub const ESM_DELIVERY_RECEIPT: u8 = 0x04;
/// `registered_delivery`: ask for a receipt on final delivery or failure.
pub const REGISTERED_DELIVERY_FINAL: u8 = 0x01;

/// TLV `receipted_message_id` (in a receipt's `deliver_sm`).
pub const TLV_RECEIPTED_MESSAGE_ID: u16 = 0x001E;
/// TLV `message_state` (in a receipt's `deliver_sm`).
pub const TLV_MESSAGE_STATE: u16 = 0x0427;

/// The command ids this codec knows (a response is its request's id with the top bit set).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    GenericNack,
    BindTransceiver,
    BindTransceiverResp,
    SubmitSm,
    SubmitSmResp,
    DeliverSm,
    DeliverSmResp,
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
}

impl Command {
    pub fn id(self) -> u32 {
        match self {
            Command::GenericNack => 0x8000_0000,
            Command::BindTransceiver => 0x0000_0009,
            Command::BindTransceiverResp => 0x8000_0009,
            Command::SubmitSm => 0x0000_0004,
            Command::SubmitSmResp => 0x8000_0004,
            Command::DeliverSm => 0x0000_0005,
            Command::DeliverSmResp => 0x8000_0005,
            Command::Unbind => 0x0000_0006,
            Command::UnbindResp => 0x8000_0006,
            Command::EnquireLink => 0x0000_0015,
            Command::EnquireLinkResp => 0x8000_0015,
        }
    }

    fn of(id: u32) -> Option<Command> {
        [
            Command::GenericNack,
            Command::BindTransceiver,
            Command::BindTransceiverResp,
            Command::SubmitSm,
            Command::SubmitSmResp,
            Command::DeliverSm,
            Command::DeliverSmResp,
            Command::Unbind,
            Command::UnbindResp,
            Command::EnquireLink,
            Command::EnquireLinkResp,
        ]
        .into_iter()
        .find(|c| c.id() == id)
    }
}

/// `command_status` values used here (SMPP 3.4 section 5.1.3).
pub struct Status;

impl Status {
    pub const OK: u32 = 0x0000_0000;
    pub const INVALID_COMMAND_LENGTH: u32 = 0x0000_0002;
    pub const INVALID_COMMAND_ID: u32 = 0x0000_0003;
    pub const ALREADY_BOUND: u32 = 0x0000_0005;
    pub const SYSTEM_ERROR: u32 = 0x0000_0008;
    pub const BIND_FAILED: u32 = 0x0000_000D;
    pub const INVALID_PASSWORD: u32 = 0x0000_000E;
    pub const INVALID_SYSTEM_ID: u32 = 0x0000_000F;
    pub const MESSAGE_QUEUE_FULL: u32 = 0x0000_0014;
    pub const THROTTLED: u32 = 0x0000_0058;
}

/// A short message's address: type of number, numbering plan, digits.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub ton: u8,
    pub npi: u8,
    pub addr: String,
}

impl Address {
    /// An international number (TON 1, NPI 1 E.164), digits without `+`.
    pub fn international(digits: &str) -> Address {
        Address { ton: 1, npi: 1, addr: digits.trim_start_matches('+').to_string() }
    }

    /// An alphanumeric sender name (TON 5, NPI 0).
    pub fn alphanumeric(name: &str) -> Address {
        Address { ton: 5, npi: 0, addr: name.to_string() }
    }
}

/// An optional parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    pub tag: u16,
    pub value: Vec<u8>,
}

/// The body `submit_sm` and `deliver_sm` share (SMPP 3.4 sections 4.4.1 and 4.6.1).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ShortMessage {
    pub service_type: String,
    pub source: Address,
    pub destination: Address,
    pub esm_class: u8,
    pub protocol_id: u8,
    pub priority_flag: u8,
    pub schedule_delivery_time: String,
    pub validity_period: String,
    pub registered_delivery: u8,
    pub replace_if_present_flag: u8,
    pub data_coding: u8,
    pub sm_default_msg_id: u8,
    pub short_message: Vec<u8>,
    pub tlvs: Vec<Tlv>,
}

impl ShortMessage {
    pub fn tlv(&self, tag: u16) -> Option<&[u8]> {
        self.tlvs.iter().find(|t| t.tag == tag).map(|t| t.value.as_slice())
    }
}

/// The bind's fields (SMPP 3.4 section 4.1.5).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Bind {
    pub system_id: String,
    pub password: String,
    pub system_type: String,
    pub interface_version: u8,
    pub addr_ton: u8,
    pub addr_npi: u8,
    pub address_range: String,
}

/// A PDU's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    GenericNack,
    BindTransceiver(Bind),
    BindTransceiverResp {
        system_id: String,
    },
    SubmitSm(ShortMessage),
    SubmitSmResp {
        message_id: String,
    },
    DeliverSm(ShortMessage),
    DeliverSmResp,
    Unbind,
    UnbindResp,
    EnquireLink,
    EnquireLinkResp,
    /// A command this codec does not know (answered with `generic_nack`).
    Unknown {
        command_id: u32,
    },
}

/// One PDU.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pdu {
    pub status: u32,
    pub sequence: u32,
    pub body: Body,
}

/// A peer sent bytes that are not an SMPP 3.4 PDU.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PduError {
    #[error("command_length {0} is outside 16..={MAX_PDU}")]
    Length(usize),
    #[error("the PDU ends inside field {0}")]
    Truncated(&'static str),
    #[error("field {0} has no terminating NUL within its {1} octets")]
    Unterminated(&'static str, usize),
    #[error("field {0} is longer than its {1} octets")]
    TooLong(&'static str, usize),
}

impl Pdu {
    pub fn new(sequence: u32, body: Body) -> Pdu {
        Pdu { status: Status::OK, sequence, body }
    }

    /// The answer to a request that failed with `status` (a response without a body).
    pub fn error(sequence: u32, status: u32, body: Body) -> Pdu {
        Pdu { status, sequence, body }
    }

    pub fn command_id(&self) -> u32 {
        match &self.body {
            Body::GenericNack => Command::GenericNack.id(),
            Body::BindTransceiver(_) => Command::BindTransceiver.id(),
            Body::BindTransceiverResp { .. } => Command::BindTransceiverResp.id(),
            Body::SubmitSm(_) => Command::SubmitSm.id(),
            Body::SubmitSmResp { .. } => Command::SubmitSmResp.id(),
            Body::DeliverSm(_) => Command::DeliverSm.id(),
            Body::DeliverSmResp => Command::DeliverSmResp.id(),
            Body::Unbind => Command::Unbind.id(),
            Body::UnbindResp => Command::UnbindResp.id(),
            Body::EnquireLink => Command::EnquireLink.id(),
            Body::EnquireLinkResp => Command::EnquireLinkResp.id(),
            Body::Unknown { command_id } => *command_id,
        }
    }

    /// Whether this is a response (its command id has the top bit set).
    pub fn is_response(&self) -> bool {
        self.command_id() & 0x8000_0000 != 0
    }

    /// The PDU's bytes. Strings longer than their field are an error, not cut.
    pub fn encode(&self) -> Result<Vec<u8>, PduError> {
        let mut out = vec![0u8; HEADER];
        let failed = self.status != Status::OK;
        match &self.body {
            Body::BindTransceiver(b) => {
                cstring(&mut out, "system_id", &b.system_id, 16)?;
                cstring(&mut out, "password", &b.password, 9)?;
                cstring(&mut out, "system_type", &b.system_type, 13)?;
                out.extend([b.interface_version, b.addr_ton, b.addr_npi]);
                cstring(&mut out, "address_range", &b.address_range, 41)?;
            }
            // A failed bind or submit is answered without a body (section 4.1.6, 4.4.2).
            Body::BindTransceiverResp { system_id } if !failed => cstring(&mut out, "system_id", system_id, 16)?,
            Body::SubmitSmResp { message_id } if !failed => cstring(&mut out, "message_id", message_id, 65)?,
            Body::SubmitSm(m) | Body::DeliverSm(m) => short_message(&mut out, m)?,
            // deliver_sm_resp's message_id is unused and NULL (section 4.6.2).
            Body::DeliverSmResp => out.push(0),
            _ => {}
        }
        let length = out.len() as u32;
        out[0..4].copy_from_slice(&length.to_be_bytes());
        out[4..8].copy_from_slice(&self.command_id().to_be_bytes());
        out[8..12].copy_from_slice(&self.status.to_be_bytes());
        out[12..16].copy_from_slice(&self.sequence.to_be_bytes());
        Ok(out)
    }

    /// Decodes the first PDU in `buf`: `Ok(None)` until it has arrived whole, else the PDU and
    /// how many bytes it took.
    pub fn decode(buf: &[u8]) -> Result<Option<(Pdu, usize)>, PduError> {
        if buf.len() < 4 {
            return Ok(None);
        }
        let length = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        if !(HEADER..=MAX_PDU).contains(&length) {
            return Err(PduError::Length(length));
        }
        if buf.len() < length {
            return Ok(None);
        }
        let word = |i: usize| u32::from_be_bytes([buf[i], buf[i + 1], buf[i + 2], buf[i + 3]]);
        let (command_id, status, sequence) = (word(4), word(8), word(12));
        let mut r = Reader { buf: &buf[HEADER..length] };
        let body = match Command::of(command_id) {
            None => Body::Unknown { command_id },
            Some(Command::GenericNack) => Body::GenericNack,
            Some(Command::BindTransceiver) => Body::BindTransceiver(Bind {
                system_id: r.cstring("system_id", 16)?,
                password: r.cstring("password", 9)?,
                system_type: r.cstring("system_type", 13)?,
                interface_version: r.octet("interface_version")?,
                addr_ton: r.octet("addr_ton")?,
                addr_npi: r.octet("addr_npi")?,
                address_range: r.cstring("address_range", 41)?,
            }),
            Some(Command::BindTransceiverResp) => {
                Body::BindTransceiverResp { system_id: r.cstring_or_empty("system_id", 16)? }
            }
            Some(Command::SubmitSm) => Body::SubmitSm(r.short_message()?),
            Some(Command::SubmitSmResp) => Body::SubmitSmResp { message_id: r.cstring_or_empty("message_id", 65)? },
            Some(Command::DeliverSm) => Body::DeliverSm(r.short_message()?),
            Some(Command::DeliverSmResp) => Body::DeliverSmResp,
            Some(Command::Unbind) => Body::Unbind,
            Some(Command::UnbindResp) => Body::UnbindResp,
            Some(Command::EnquireLink) => Body::EnquireLink,
            Some(Command::EnquireLinkResp) => Body::EnquireLinkResp,
        };
        Ok(Some((Pdu { status, sequence, body }, length)))
    }
}

fn cstring(out: &mut Vec<u8>, field: &'static str, value: &str, max: usize) -> Result<(), PduError> {
    if value.len() + 1 > max || value.as_bytes().contains(&0) {
        return Err(PduError::TooLong(field, max));
    }
    out.extend_from_slice(value.as_bytes());
    out.push(0);
    Ok(())
}

fn short_message(out: &mut Vec<u8>, m: &ShortMessage) -> Result<(), PduError> {
    cstring(out, "service_type", &m.service_type, 6)?;
    out.extend([m.source.ton, m.source.npi]);
    cstring(out, "source_addr", &m.source.addr, 21)?;
    out.extend([m.destination.ton, m.destination.npi]);
    cstring(out, "destination_addr", &m.destination.addr, 21)?;
    out.extend([m.esm_class, m.protocol_id, m.priority_flag]);
    cstring(out, "schedule_delivery_time", &m.schedule_delivery_time, 17)?;
    cstring(out, "validity_period", &m.validity_period, 17)?;
    out.extend([m.registered_delivery, m.replace_if_present_flag, m.data_coding, m.sm_default_msg_id]);
    let length = u8::try_from(m.short_message.len()).map_err(|_| PduError::TooLong("short_message", 254))?;
    if length > 254 {
        return Err(PduError::TooLong("short_message", 254));
    }
    out.push(length);
    out.extend_from_slice(&m.short_message);
    for tlv in &m.tlvs {
        let len = u16::try_from(tlv.value.len()).map_err(|_| PduError::TooLong("tlv", 65535))?;
        out.extend(tlv.tag.to_be_bytes());
        out.extend(len.to_be_bytes());
        out.extend_from_slice(&tlv.value);
    }
    Ok(())
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl Reader<'_> {
    fn octet(&mut self, field: &'static str) -> Result<u8, PduError> {
        let (&first, rest) = self.buf.split_first().ok_or(PduError::Truncated(field))?;
        self.buf = rest;
        Ok(first)
    }

    fn take(&mut self, field: &'static str, n: usize) -> Result<Vec<u8>, PduError> {
        if self.buf.len() < n {
            return Err(PduError::Truncated(field));
        }
        let (taken, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(taken.to_vec())
    }

    fn cstring(&mut self, field: &'static str, max: usize) -> Result<String, PduError> {
        if self.buf.is_empty() {
            return Err(PduError::Truncated(field));
        }
        let nul = self.buf.iter().take(max).position(|&b| b == 0).ok_or(PduError::Unterminated(field, max))?;
        let value = String::from_utf8_lossy(&self.buf[..nul]).into_owned();
        self.buf = &self.buf[nul + 1..];
        Ok(value)
    }

    /// A response's string, which a failed response may leave out entirely.
    fn cstring_or_empty(&mut self, field: &'static str, max: usize) -> Result<String, PduError> {
        if self.buf.is_empty() { Ok(String::new()) } else { self.cstring(field, max) }
    }

    fn short_message(&mut self) -> Result<ShortMessage, PduError> {
        let service_type = self.cstring("service_type", 6)?;
        let source = Address {
            ton: self.octet("source_addr_ton")?,
            npi: self.octet("source_addr_npi")?,
            addr: self.cstring("source_addr", 21)?,
        };
        let destination = Address {
            ton: self.octet("dest_addr_ton")?,
            npi: self.octet("dest_addr_npi")?,
            addr: self.cstring("destination_addr", 21)?,
        };
        let esm_class = self.octet("esm_class")?;
        let protocol_id = self.octet("protocol_id")?;
        let priority_flag = self.octet("priority_flag")?;
        let schedule_delivery_time = self.cstring("schedule_delivery_time", 17)?;
        let validity_period = self.cstring("validity_period", 17)?;
        let registered_delivery = self.octet("registered_delivery")?;
        let replace_if_present_flag = self.octet("replace_if_present_flag")?;
        let data_coding = self.octet("data_coding")?;
        let sm_default_msg_id = self.octet("sm_default_msg_id")?;
        let length = self.octet("sm_length")? as usize;
        let short_message = self.take("short_message", length)?;
        let mut tlvs = Vec::new();
        while !self.buf.is_empty() {
            let head = self.take("tlv", 4)?;
            let tag = u16::from_be_bytes([head[0], head[1]]);
            let len = u16::from_be_bytes([head[2], head[3]]) as usize;
            tlvs.push(Tlv { tag, value: self.take("tlv value", len)? });
        }
        Ok(ShortMessage {
            service_type,
            source,
            destination,
            esm_class,
            protocol_id,
            priority_flag,
            schedule_delivery_time,
            validity_period,
            registered_delivery,
            replace_if_present_flag,
            data_coding,
            sm_default_msg_id,
            short_message,
            tlvs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let digits: String = s.split_whitespace().collect();
        (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap()).collect()
    }

    #[test]
    fn enquire_link_is_a_bare_header() {
        let pdu = Pdu::new(1, Body::EnquireLink);
        let bytes = hex("00000010 00000015 00000000 00000001");
        assert_eq!(pdu.encode().unwrap(), bytes);
        assert_eq!(Pdu::decode(&bytes).unwrap(), Some((pdu, 16)));
    }

    #[test]
    fn bind_transceiver_lays_out_its_fields_as_section_4_1_5_says() {
        let bind = Pdu::new(
            2,
            Body::BindTransceiver(Bind {
                system_id: "SMPP3TEST".into(),
                password: "secret08".into(),
                system_type: "SUBMIT1".into(),
                interface_version: INTERFACE_VERSION,
                addr_ton: 1,
                addr_npi: 1,
                address_range: String::new(),
            }),
        );
        // system_id\0 password\0 system_type\0 0x34 ton npi address_range\0
        let bytes = hex("0000002F 00000009 00000000 00000002
             534D5050335445535400 7365637265743038 00 5355424D49543100 34 01 01 00");
        assert_eq!(bind.encode().unwrap(), bytes);
        assert_eq!(Pdu::decode(&bytes).unwrap().unwrap().0, bind);
    }

    #[test]
    fn submit_sm_round_trips_with_its_short_message_and_tlvs() {
        let sm = ShortMessage {
            source: Address::alphanumeric("Dawr"),
            destination: Address::international("+966501234567"),
            registered_delivery: REGISTERED_DELIVERY_FINAL,
            data_coding: 8,
            short_message: vec![0x06, 0x27, 0x06, 0x44],
            tlvs: vec![Tlv { tag: 0x0204, value: vec![0, 7] }],
            ..ShortMessage::default()
        };
        let pdu = Pdu::new(7, Body::SubmitSm(sm.clone()));
        let bytes = pdu.encode().unwrap();
        // header, service_type NUL, 05 00 "Dawr\0", 01 01 "966501234567\0", esm, pid, prio,
        // two empty times, reg 01, replace 00, coding 08, default id 00, length 04 and the text.
        let mut expected = hex("00000000 00000004 00000000 00000007 00 05 00 4461777200 01 01");
        expected.extend(b"966501234567\0");
        expected.extend(hex("00 00 00 00 00 01 00 08 00 04 06270644 0204 0002 0007"));
        let length = (expected.len() as u32).to_be_bytes();
        expected[..4].copy_from_slice(&length);
        assert_eq!(bytes, expected);
        assert_eq!(Pdu::decode(&bytes).unwrap(), Some((pdu, expected.len())));
    }

    #[test]
    fn a_failed_response_has_no_body_and_decodes_with_an_empty_field() {
        let refused = Pdu::error(3, Status::INVALID_PASSWORD, Body::BindTransceiverResp { system_id: "smsc".into() });
        let bytes = refused.encode().unwrap();
        assert_eq!(bytes, hex("00000010 80000009 0000000E 00000003"));
        let (back, _) = Pdu::decode(&bytes).unwrap().unwrap();
        assert_eq!(back.body, Body::BindTransceiverResp { system_id: String::new() });
        assert_eq!(back.status, Status::INVALID_PASSWORD);
    }

    #[test]
    fn a_pdu_is_decoded_only_once_whole_and_the_next_one_follows() {
        let mut stream = Pdu::new(9, Body::SubmitSmResp { message_id: "abc123".into() }).encode().unwrap();
        stream.extend(Pdu::new(10, Body::UnbindResp).encode().unwrap());
        for cut in 0..23 {
            assert_eq!(Pdu::decode(&stream[..cut]).unwrap(), None, "cut at {cut}");
        }
        let (first, used) = Pdu::decode(&stream).unwrap().unwrap();
        assert_eq!(first.body, Body::SubmitSmResp { message_id: "abc123".into() });
        assert_eq!(Pdu::decode(&stream[used..]).unwrap().unwrap().0.body, Body::UnbindResp);
    }

    #[test]
    fn bad_lengths_and_fields_are_errors_not_panics() {
        assert_eq!(Pdu::decode(&hex("00000004 00000015")), Err(PduError::Length(4)));
        assert_eq!(Pdu::decode(&hex("7FFFFFFF")), Err(PduError::Length(0x7FFF_FFFF)));
        // A submit_sm cut after its service_type.
        let cut = hex("00000013 00000004 00000000 00000001 00 05 00");
        assert_eq!(Pdu::decode(&cut), Err(PduError::Truncated("source_addr")));
        let unknown = Pdu::decode(&hex("00000010 00000103 00000000 00000005")).unwrap().unwrap().0;
        assert_eq!(unknown.body, Body::Unknown { command_id: 0x103 });
        let long = Body::BindTransceiverResp { system_id: "x".repeat(16) };
        assert_eq!(Pdu::new(1, long).encode(), Err(PduError::TooLong("system_id", 16)));
    }
}
