//! The update [`Record`] as the button keeps it in flash, so that a download interrupted by a
//! reboot resumes where it stopped (`crate::update` says what the record means).
//!
//! The record has a 4 KB flash sector of its own (`UPDATE_RECORD` in `firmware/memory.x`), used
//! as a journal of 256-byte slots (one flash program page each): every new record is written
//! into the next erased slot, and the sector is erased only when all 16 are used. A download
//! writes a record after every chunk, so this erases the sector once every 16 chunks rather
//! than on each. Reading takes the last valid slot; a slot torn by a power cut (bad checksum) is
//! skipped. A slot, little-endian:
//!
//! ```text
//! "DUR1" | kind: u8 (0 none, 1 downloading, 2 swapped) | version length: u8 | version: 24 bytes
//! | size: u32 | SHA-256: 32 bytes | signature: 64 bytes | received: u32
//! | CRC-32 (IEEE) of all before: u32 | 0xFF up to 256 bytes
//! ```
//!
//! For a swapped record only the version is meaningful (the other fields are zero).
use dawr_protocol::device::FirmwareVersion;

use crate::settings::crc32;
use crate::update::{Offer, Record};

/// One slot: a flash program page.
pub const SLOT_SIZE: usize = 256;
/// The sector the journal lives in.
pub const SECTOR_SIZE: usize = 4096;
/// Slots in the sector.
pub const SLOTS: usize = SECTOR_SIZE / SLOT_SIZE;
/// A slot's first four bytes.
pub const MAGIC: &[u8; 4] = b"DUR1";

const VERSION_FIELD: usize = 24;
/// The bytes of a slot before its checksum.
const BODY: usize = 4 + 1 + 1 + VERSION_FIELD + 4 + 32 + 64 + 4;
/// The bytes of a slot that hold the record; the rest stays erased.
pub const ENCODED: usize = BODY + 4;

const NONE: u8 = 0;
const DOWNLOADING: u8 = 1;
const SWAPPED: u8 = 2;

/// Why a slot holds no record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotError {
    /// All 0xFF: never written since the sector was erased.
    Erased,
    /// It does not start with [`MAGIC`], or is shorter than a record.
    NotRecord,
    /// The checksum does not match: a write torn by a power cut.
    BadChecksum,
    /// A field out of range (an unknown kind, a version too long or not UTF-8).
    Invalid,
}

/// The slot that keeps `record` (`None`: no update under way).
pub fn encode(record: Option<&Record>) -> [u8; SLOT_SIZE] {
    let mut slot = [0xFF; SLOT_SIZE];
    let body = &mut slot[..BODY];
    body.fill(0);
    body[..4].copy_from_slice(MAGIC);
    let (kind, version, offer, received) = match record {
        None => (NONE, "", None, 0),
        Some(Record::Downloading { offer, received }) => (DOWNLOADING, offer.version.as_str(), Some(offer), *received),
        Some(Record::Swapped { version }) => (SWAPPED, version.as_str(), None, 0),
    };
    body[4] = kind;
    // A FirmwareVersion holds at most VERSION_FIELD bytes.
    body[5] = version.len() as u8;
    body[6..6 + version.len()].copy_from_slice(version.as_bytes());
    let mut at = 6 + VERSION_FIELD;
    if let Some(offer) = offer {
        body[at..at + 4].copy_from_slice(&offer.size.to_le_bytes());
        body[at + 4..at + 36].copy_from_slice(&offer.sha256);
        body[at + 36..at + 100].copy_from_slice(&offer.signature);
    }
    at += 100;
    body[at..at + 4].copy_from_slice(&received.to_le_bytes());
    let crc = crc32(&slot[..BODY]);
    slot[BODY..ENCODED].copy_from_slice(&crc.to_le_bytes());
    slot
}

/// The record a slot keeps (`Ok(None)`: a record saying no update is under way).
pub fn decode(slot: &[u8]) -> Result<Option<Record>, SlotError> {
    if slot.iter().all(|&b| b == 0xFF) {
        return Err(SlotError::Erased);
    }
    if slot.len() < ENCODED || &slot[..4] != MAGIC {
        return Err(SlotError::NotRecord);
    }
    let crc = u32::from_le_bytes([slot[BODY], slot[BODY + 1], slot[BODY + 2], slot[BODY + 3]]);
    if crc != crc32(&slot[..BODY]) {
        return Err(SlotError::BadChecksum);
    }
    let u32_at = |at: usize| u32::from_le_bytes([slot[at], slot[at + 1], slot[at + 2], slot[at + 3]]);
    let len = usize::from(slot[5]);
    if len > VERSION_FIELD {
        return Err(SlotError::Invalid);
    }
    let text = core::str::from_utf8(&slot[6..6 + len]).map_err(|_| SlotError::Invalid)?;
    let version = FirmwareVersion::try_from(text).map_err(|_| SlotError::Invalid)?;
    let at = 6 + VERSION_FIELD;
    match slot[4] {
        NONE => Ok(None),
        SWAPPED => Ok(Some(Record::Swapped { version })),
        DOWNLOADING => {
            let mut sha256 = [0u8; 32];
            sha256.copy_from_slice(&slot[at + 4..at + 36]);
            let mut signature = [0u8; 64];
            signature.copy_from_slice(&slot[at + 36..at + 100]);
            let offer = Offer { version, size: u32_at(at), sha256, signature };
            let received = u32_at(at + 100);
            if received > offer.size {
                return Err(SlotError::Invalid);
            }
            Ok(Some(Record::Downloading { offer, received }))
        }
        _ => Err(SlotError::Invalid),
    }
}

/// Reading the journal: feed it the sector's slots in order ([`Scan::slot`]), then take the
/// record and where the next one goes.
#[derive(Debug, Default)]
pub struct Scan {
    latest: Option<Record>,
    used: usize,
    done: bool,
}

impl Scan {
    pub fn new() -> Scan {
        Scan::default()
    }

    /// The next slot, in order. Returns false once the rest of the sector is erased (no need to
    /// read further).
    pub fn slot(&mut self, slot: &[u8]) -> bool {
        if self.done {
            return false;
        }
        match decode(slot) {
            Err(SlotError::Erased) => {
                self.done = true;
                return false;
            }
            Ok(record) => self.latest = record,
            // A torn or foreign slot: used, but it says nothing.
            Err(_) => {}
        }
        self.used += 1;
        self.used < SLOTS
    }

    /// The record the journal keeps (the last valid slot's), if any.
    pub fn record(&self) -> Option<&Record> {
        self.latest.as_ref()
    }

    /// Where the next record goes: the byte offset of the first erased slot, or `None` when the
    /// sector is full (erase it, then write at 0).
    pub fn next_offset(&self) -> Option<usize> {
        (self.used < SLOTS).then_some(self.used * SLOT_SIZE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer() -> Offer {
        Offer { version: "0.5.0-rc.1".try_into().unwrap(), size: 415_584, sha256: [0xAB; 32], signature: [0x5C; 64] }
    }

    fn downloading(received: u32) -> Record {
        Record::Downloading { offer: offer(), received }
    }

    /// A sector as flash holds it, with `records` written into its first slots.
    fn sector(records: &[Option<&Record>]) -> std::vec::Vec<u8> {
        let mut sector = std::vec![0xFF; SECTOR_SIZE];
        for (i, record) in records.iter().enumerate() {
            sector[i * SLOT_SIZE..(i + 1) * SLOT_SIZE].copy_from_slice(&encode(*record));
        }
        sector
    }

    fn scan(sector: &[u8]) -> Scan {
        let mut scan = Scan::new();
        for slot in sector.chunks(SLOT_SIZE) {
            if !scan.slot(slot) {
                break;
            }
        }
        scan
    }

    #[test]
    fn every_kind_of_record_reads_back_as_written() {
        let swapped = Record::Swapped { version: "0.5.0".try_into().unwrap() };
        for record in [Some(downloading(0)), Some(downloading(7 * 1024)), Some(swapped), None] {
            let slot = encode(record.as_ref());
            assert_eq!(decode(&slot), Ok(record.clone()));
            assert!(slot[ENCODED..].iter().all(|&b| b == 0xFF), "the slot's tail stays erased");
        }
        let longest = Record::Swapped { version: "x".repeat(24).as_str().try_into().unwrap() };
        assert_eq!(decode(&encode(Some(&longest))), Ok(Some(longest)));
    }

    #[test]
    fn an_erased_torn_or_foreign_slot_is_no_record() {
        assert_eq!(decode(&[0xFF; SLOT_SIZE]), Err(SlotError::Erased));
        let mut torn = encode(Some(&downloading(1024)));
        torn[100] ^= 0x10;
        assert_eq!(decode(&torn), Err(SlotError::BadChecksum));
        // A write cut short leaves the end erased.
        let mut cut = encode(Some(&downloading(1024)));
        cut[60..].fill(0xFF);
        assert_eq!(decode(&cut), Err(SlotError::BadChecksum));
        let mut foreign = encode(None);
        foreign[..4].copy_from_slice(b"DAWR");
        assert_eq!(decode(&foreign), Err(SlotError::NotRecord));
        assert_eq!(decode(&encode(None)[..ENCODED - 1]), Err(SlotError::NotRecord));
    }

    /// Rewrites a slot's body and its checksum, as a record of another writer could look.
    fn resealed(mut slot: [u8; SLOT_SIZE], change: impl Fn(&mut [u8])) -> [u8; SLOT_SIZE] {
        change(&mut slot[..BODY]);
        let crc = crc32(&slot[..BODY]);
        slot[BODY..ENCODED].copy_from_slice(&crc.to_le_bytes());
        slot
    }

    #[test]
    fn values_out_of_range_are_refused_even_with_a_good_checksum() {
        let slot = encode(Some(&downloading(10)));
        assert_eq!(decode(&resealed(slot, |b| b[4] = 9)), Err(SlotError::Invalid), "unknown kind");
        assert_eq!(decode(&resealed(slot, |b| b[5] = 25)), Err(SlotError::Invalid), "version too long");
        assert_eq!(decode(&resealed(slot, |b| b[6] = 0xC3)), Err(SlotError::Invalid), "not UTF-8");
        let past_the_end = resealed(slot, |b| b[BODY - 4..].copy_from_slice(&415_585u32.to_le_bytes()));
        assert_eq!(decode(&past_the_end), Err(SlotError::Invalid), "more received than the image's size");
    }

    #[test]
    fn the_journal_reads_the_last_valid_slot_and_appends_after_the_last_used() {
        let blank = scan(&[0xFF; SECTOR_SIZE]);
        assert_eq!((blank.record(), blank.next_offset()), (None, Some(0)));

        let (first, second) = (downloading(1024), downloading(2048));
        let two = scan(&sector(&[Some(&first), Some(&second)]));
        assert_eq!((two.record(), two.next_offset()), (Some(&second), Some(2 * SLOT_SIZE)));

        // A power cut tore the third write: the second still holds, and the next write skips
        // the torn slot (it cannot be written again without an erase).
        let mut torn = sector(&[Some(&first), Some(&second), Some(&downloading(3072))]);
        torn[2 * SLOT_SIZE + 50..3 * SLOT_SIZE].fill(0xFF);
        let after_cut = scan(&torn);
        assert_eq!((after_cut.record(), after_cut.next_offset()), (Some(&second), Some(3 * SLOT_SIZE)));

        // Cleared: the last record says nothing is under way.
        let cleared = scan(&sector(&[Some(&first), None]));
        assert_eq!((cleared.record(), cleared.next_offset()), (None, Some(2 * SLOT_SIZE)));
    }

    #[test]
    fn a_full_sector_asks_for_an_erase() {
        let records: std::vec::Vec<Record> = (1..=SLOTS as u32).map(|i| downloading(i * 1024)).collect();
        let refs: std::vec::Vec<Option<&Record>> = records.iter().map(Some).collect();
        let full = scan(&sector(&refs));
        assert_eq!(full.record(), records.last());
        assert_eq!(full.next_offset(), None);
        let almost: std::vec::Vec<Option<&Record>> = refs[..SLOTS - 1].to_vec();
        assert_eq!(scan(&sector(&almost)).next_offset(), Some((SLOTS - 1) * SLOT_SIZE));
    }
}
