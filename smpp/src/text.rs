//! A text as SMS, pure: GSM 7-bit (the GSM 03.38 default alphabet and its extension table,
//! unpacked — one septet per octet, as `data_coding` 0 carries it in SMPP) when every character
//! has a place there, else UCS-2 (UTF-16BE, `data_coding` 8: Arabic). A text too long for one
//! message is split into parts that each start with a concatenation UDH (`05 00 03 ref total
//! seq`, `esm_class` UDHI): 153 septets or 67 UCS-2 units a part, never splitting an escape pair
//! or a surrogate pair. Also the delivery receipt's text (SMPP 3.4 appendix B).

/// The GSM 03.38 default alphabet, indexed by septet (0x1B is the escape to the extension table).
const GSM_BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\u{1b}ÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
/// The extension table: (septet after the escape, character).
const GSM_EXTENSION: [(u8, char); 10] = [
    (0x0A, '\u{0C}'),
    (0x14, '^'),
    (0x28, '{'),
    (0x29, '}'),
    (0x2F, '\\'),
    (0x3C, '['),
    (0x3D, '~'),
    (0x3E, ']'),
    (0x40, '|'),
    (0x65, '€'),
];
const ESCAPE: u8 = 0x1B;

/// Septets in one message, and in one part of a concatenated one (6 octets of UDH).
pub const GSM_SINGLE: usize = 160;
pub const GSM_PART: usize = 153;
/// UCS-2 units in one message, and in one part.
pub const UCS2_SINGLE: usize = 70;
pub const UCS2_PART: usize = 67;

/// How a message's octets are to be read (`data_coding`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataCoding {
    /// The SMSC's default alphabet, GSM 03.38 (`0x00`).
    Gsm7,
    /// UCS-2 (`0x08`).
    Ucs2,
}

impl DataCoding {
    pub fn code(self) -> u8 {
        match self {
            DataCoding::Gsm7 => 0x00,
            DataCoding::Ucs2 => 0x08,
        }
    }
}

/// A text ready for `submit_sm`: its coding, and the `short_message` of each part (with the
/// concatenation UDH when there is more than one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub coding: DataCoding,
    pub parts: Vec<Vec<u8>>,
}

impl Encoded {
    /// Whether the parts start with a UDH (`esm_class` UDHI).
    pub fn has_udh(&self) -> bool {
        self.parts.len() > 1
    }
}

/// The septets of one character, if the GSM alphabet has it.
fn gsm_septets(c: char) -> Option<Vec<u8>> {
    if let Some(i) = GSM_BASIC.chars().position(|g| g == c).filter(|&i| i != ESCAPE as usize) {
        return Some(vec![i as u8]);
    }
    GSM_EXTENSION.iter().find(|(_, e)| *e == c).map(|(s, _)| vec![ESCAPE, *s])
}

/// `text` as one or more parts; `reference` ties the parts of one text together.
pub fn encode(text: &str, reference: u8) -> Encoded {
    let gsm: Option<Vec<Vec<u8>>> = text.chars().map(gsm_septets).collect();
    match gsm {
        Some(chars) => {
            let total: usize = chars.iter().map(Vec::len).sum();
            let parts = if total <= GSM_SINGLE { vec![chars.concat()] } else { pack(&chars, GSM_PART) };
            Encoded { coding: DataCoding::Gsm7, parts: with_udh(parts, reference) }
        }
        None => {
            let chars: Vec<Vec<u8>> = text
                .chars()
                .map(|c| {
                    let mut units = [0u16; 2];
                    c.encode_utf16(&mut units).iter().flat_map(|u| u.to_be_bytes()).collect()
                })
                .collect();
            let total: usize = chars.iter().map(Vec::len).sum::<usize>() / 2;
            let parts = if total <= UCS2_SINGLE { vec![chars.concat()] } else { pack(&chars, UCS2_PART * 2) };
            Encoded { coding: DataCoding::Ucs2, parts: with_udh(parts, reference) }
        }
    }
}

/// Whole characters (their octets) into parts of at most `size` octets.
fn pack(chars: &[Vec<u8>], size: usize) -> Vec<Vec<u8>> {
    let mut parts: Vec<Vec<u8>> = vec![Vec::new()];
    for c in chars {
        if parts.last().is_some_and(|p| p.len() + c.len() > size) {
            parts.push(Vec::new());
        }
        if let Some(part) = parts.last_mut() {
            part.extend_from_slice(c);
        }
    }
    parts
}

fn with_udh(parts: Vec<Vec<u8>>, reference: u8) -> Vec<Vec<u8>> {
    if parts.len() == 1 {
        return parts;
    }
    let total = parts.len().min(255) as u8;
    parts
        .into_iter()
        .take(255)
        .enumerate()
        .map(|(i, part)| {
            let mut out = vec![0x05, 0x00, 0x03, reference, total, i as u8 + 1];
            out.extend(part);
            out
        })
        .collect()
}

/// Which part of a concatenated text a message is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Concat {
    pub reference: u16,
    pub total: u8,
    pub seq: u8,
}

/// One received `short_message`, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub concat: Option<Concat>,
    pub text: String,
}

/// Reads a `short_message` of `data_coding` (0 or 1: GSM 7-bit unpacked; 8: UCS-2; anything
/// else as Latin-1), its UDH first when `udhi`.
pub fn decode(data_coding: u8, udhi: bool, bytes: &[u8]) -> Decoded {
    let (concat, body) = if udhi { split_udh(bytes) } else { (None, bytes) };
    let text = match data_coding {
        0x00 | 0x01 => decode_gsm(body),
        0x08 => {
            let units: Vec<u16> = body.chunks_exact(2).map(|u| u16::from_be_bytes([u[0], u[1]])).collect();
            String::from_utf16_lossy(&units)
        }
        _ => body.iter().map(|&b| b as char).collect(),
    };
    Decoded { concat, text }
}

fn split_udh(bytes: &[u8]) -> (Option<Concat>, &[u8]) {
    let Some((&udhl, rest)) = bytes.split_first() else { return (None, bytes) };
    let udhl = udhl as usize;
    if rest.len() < udhl {
        return (None, bytes);
    }
    let (mut udh, body) = rest.split_at(udhl);
    let mut concat = None;
    while udh.len() >= 2 {
        let (iei, len) = (udh[0], udh[1] as usize);
        let Some(value) = udh.get(2..2 + len) else { break };
        concat = match (iei, value) {
            (0x00, &[reference, total, seq]) => Some(Concat { reference: reference.into(), total, seq }),
            (0x08, &[hi, lo, total, seq]) => Some(Concat { reference: u16::from_be_bytes([hi, lo]), total, seq }),
            _ => concat,
        };
        udh = &udh[2 + len..];
    }
    (concat, body)
}

fn decode_gsm(septets: &[u8]) -> String {
    let basic: Vec<char> = GSM_BASIC.chars().collect();
    let mut out = String::new();
    let mut escaped = false;
    for &s in septets {
        if escaped {
            out.push(GSM_EXTENSION.iter().find(|(e, _)| *e == s).map_or(' ', |(_, c)| *c));
            escaped = false;
        } else if s == ESCAPE {
            escaped = true;
        } else {
            out.push(basic.get(s as usize).copied().unwrap_or('?'));
        }
    }
    out
}

/// Joins the decoded parts of one text (any order) once all have arrived.
pub fn join(parts: &[Decoded]) -> Option<String> {
    let total = parts.first()?.concat.map_or(1, |c| c.total as usize);
    let mut ordered: Vec<&Decoded> = parts.iter().collect();
    ordered.sort_by_key(|d| d.concat.map_or(1, |c| c.seq));
    ordered.dedup_by_key(|d| d.concat.map_or(1, |c| c.seq));
    (ordered.len() == total).then(|| ordered.iter().map(|d| d.text.as_str()).collect())
}

/// A delivery receipt's outcome (its `stat:` field).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub message_id: String,
    /// `DELIVRD`, `EXPIRED`, `DELETED`, `UNDELIV`, `ACCEPTD`, `UNKNOWN`, `REJECTD`.
    pub stat: String,
}

impl Receipt {
    pub fn delivered(&self) -> bool {
        self.stat == "DELIVRD"
    }

    /// Whether the state is final (a message in `ACCEPTD` or `ENROUTE` may still arrive).
    pub fn is_final(&self) -> bool {
        !matches!(self.stat.as_str(), "ACCEPTD" | "ENROUTE")
    }

    /// The receipt's text as SMSCs write it (SMPP 3.4 appendix B).
    pub fn text(&self, submitted: &str, done: &str) -> String {
        let dlvrd = if self.delivered() { "001" } else { "000" };
        format!(
            "id:{} sub:001 dlvrd:{dlvrd} submit date:{submitted} done date:{done} stat:{} err:000 text:",
            self.message_id, self.stat
        )
    }

    /// Reads a receipt's text: `None` unless it has `id:` and `stat:`.
    pub fn parse(text: &str) -> Option<Receipt> {
        let field = |name: &str| {
            let start = text.find(name)? + name.len();
            text[start..].split_whitespace().next().map(str::to_string)
        };
        Some(Receipt { message_id: field("id:")?, stat: field("stat:")? })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_alphabet_has_128_places() {
        assert_eq!(GSM_BASIC.chars().count(), 128);
        assert_eq!(gsm_septets('@'), Some(vec![0x00]));
        assert_eq!(gsm_septets('A'), Some(vec![0x41]));
        assert_eq!(gsm_septets('$'), Some(vec![0x02]));
        assert_eq!(gsm_septets('€'), Some(vec![0x1B, 0x65]));
        assert_eq!(gsm_septets('ع'), None);
    }

    #[test]
    fn latin_text_goes_as_gsm_and_comes_back() {
        let e = encode("Your turn: A012 at counter 3 {ok} €5", 1);
        assert_eq!((e.coding, e.parts.len()), (DataCoding::Gsm7, 1));
        assert_eq!(decode(0, false, &e.parts[0]).text, "Your turn: A012 at counter 3 {ok} €5");
    }

    #[test]
    fn arabic_goes_as_ucs2_big_endian() {
        let e = encode("دور", 1);
        assert_eq!(e.coding, DataCoding::Ucs2);
        assert_eq!(e.parts, vec![vec![0x06, 0x2F, 0x06, 0x48, 0x06, 0x31]]);
    }

    #[test]
    fn a_long_arabic_text_is_two_parts_with_a_udh_and_joins_whole() {
        let text =
            "تذكير: دورك قريب في فرع العدل. الرجاء الحضور إلى الفرع والتسجيل في الجهاز عند الوصول خلال عشر دقائق.";
        let units = text.encode_utf16().count();
        assert!(units > UCS2_SINGLE && units <= 2 * UCS2_PART, "{units} units");
        let e = encode(text, 0x2A);
        assert_eq!((e.coding, e.parts.len()), (DataCoding::Ucs2, 2));
        assert_eq!(&e.parts[0][..6], &[0x05, 0x00, 0x03, 0x2A, 2, 1]);
        assert_eq!(&e.parts[1][..6], &[0x05, 0x00, 0x03, 0x2A, 2, 2]);
        assert_eq!(e.parts[0].len(), 6 + UCS2_PART * 2);
        let decoded: Vec<Decoded> = e.parts.iter().rev().map(|p| decode(8, true, p)).collect();
        assert_eq!(decoded[0].concat, Some(Concat { reference: 0x2A, total: 2, seq: 2 }));
        assert_eq!(join(&decoded).as_deref(), Some(text));
        assert_eq!(join(&decoded[..1]), None, "not before every part arrived");
    }

    #[test]
    fn parts_never_split_an_escape_pair_or_a_surrogate_pair() {
        let gsm = format!("{}€", "a".repeat(152));
        let e = encode(&format!("{gsm}{}", "b".repeat(20)), 1);
        assert_eq!(e.parts[0].len(), 6 + 152, "the euro's two septets move to part 2");
        let decoded: Vec<Decoded> = e.parts.iter().map(|p| decode(0, true, p)).collect();
        assert_eq!(join(&decoded).unwrap(), format!("{gsm}{}", "b".repeat(20)));

        let emoji = format!("{}😀{}", "ع".repeat(66), "ب".repeat(10));
        let e = encode(&emoji, 2);
        assert_eq!(e.parts[0].len(), 6 + 66 * 2, "the surrogate pair moves to part 2");
        let decoded: Vec<Decoded> = e.parts.iter().map(|p| decode(8, true, p)).collect();
        assert_eq!(join(&decoded).unwrap(), emoji);
    }

    #[test]
    fn exactly_160_septets_or_70_units_stay_one_message() {
        assert_eq!(encode(&"x".repeat(160), 1).parts.len(), 1);
        assert_eq!(encode(&"x".repeat(161), 1).parts.len(), 2);
        assert_eq!(encode(&"ع".repeat(70), 1).parts.len(), 1);
        assert_eq!(encode(&"ع".repeat(71), 1).parts.len(), 2);
    }

    #[test]
    fn a_receipt_reads_back_from_its_text() {
        let r = Receipt { message_id: "m-17".into(), stat: "DELIVRD".into() };
        let text = r.text("2611281200", "2611281201");
        assert_eq!(Receipt::parse(&text), Some(r));
        let undelivered =
            Receipt::parse("id:9 sub:001 dlvrd:000 submit date:x done date:y stat:UNDELIV err:001").unwrap();
        assert!(!undelivered.delivered() && undelivered.is_final());
        assert_eq!(Receipt::parse("STOP"), None);
    }
}
