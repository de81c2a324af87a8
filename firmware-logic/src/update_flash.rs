//! The update's flash edge, generic over a NOR flash (`embedded_storage::nor_flash::NorFlash`),
//! so that the host tests it against a model of one: the firmware puts embassy-boot's DFU slot
//! and the record's sector (`firmware/memory.x`) under these.
//!
//! - [`SlotStaging`] is the [`Staging`] of `crate::update` over a slot. A NOR flash only clears
//!   bits when written, so a sector must be erased before the image goes into it; it is erased
//!   when the download reaches its first byte (the updater writes in order from 0), never on a
//!   later write into it. A download resumed after a reboot in the middle of a sector therefore
//!   keeps the part it had (erasing the sector on the first write after the reboot, as
//!   embassy-boot's `write_firmware` would, loses it and the image never verifies).
//! - [`RecordJournal`] keeps the update's [`Record`] in a sector of its own as the journal of
//!   `crate::update_record`: one slot appended per record, the sector erased when full.
use embedded_storage::nor_flash::NorFlash;

use crate::update::{Record, Staging};
use crate::update_record::{self, SECTOR_SIZE, SLOT_SIZE, SLOTS, Scan};

/// An update slot as [`Staging`].
pub struct SlotStaging<F> {
    slot: F,
}

impl<F: NorFlash> SlotStaging<F> {
    /// The staging over `slot` (a partition: offset 0 is the slot's first byte).
    pub fn new(slot: F) -> Self {
        SlotStaging { slot }
    }
}

/// The sectors a write of `len` bytes at `offset` is the first to reach: those whose first byte
/// it writes.
pub fn sectors_to_erase(offset: u32, len: u32, sector: u32) -> impl Iterator<Item = u32> {
    let end = offset.saturating_add(len);
    let first = offset.checked_next_multiple_of(sector).unwrap_or(u32::MAX);
    (first..end).step_by(sector as usize)
}

impl<F: NorFlash> Staging for SlotStaging<F> {
    type Error = F::Error;

    fn capacity(&self) -> u32 {
        self.slot.capacity() as u32
    }

    /// Nothing to do up front: each sector is erased when the download reaches it.
    fn erase(&mut self) -> Result<(), F::Error> {
        Ok(())
    }

    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), F::Error> {
        let sector = F::ERASE_SIZE as u32;
        for start in sectors_to_erase(offset, data.len() as u32, sector) {
            self.slot.erase(start, start + sector)?;
        }
        self.slot.write(offset, data)
    }

    fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), F::Error> {
        self.slot.read(offset, buf)
    }
}

/// The update record's sector.
pub struct RecordJournal<F> {
    sector: F,
    /// Where the next slot goes (`None`: the sector is full).
    next: Option<usize>,
}

impl<F: NorFlash> RecordJournal<F> {
    /// Reads the journal in `sector` (a partition of [`SECTOR_SIZE`] bytes): the record it keeps,
    /// and the journal to write the next one. A sector that cannot be read keeps no record.
    pub fn open(sector: F) -> (Self, Option<Record>) {
        let mut journal = RecordJournal { sector, next: None };
        let mut scan = Scan::new();
        let mut slot = [0u8; SLOT_SIZE];
        for index in 0..SLOTS {
            if journal.sector.read((index * SLOT_SIZE) as u32, &mut slot).is_err() {
                return (journal, None);
            }
            if !scan.slot(&slot) {
                break;
            }
        }
        journal.next = scan.next_offset();
        (journal, scan.record().cloned())
    }

    /// Appends `record` (`None`: no update under way), erasing the sector first when it is full.
    pub fn keep(&mut self, record: Option<&Record>) -> Result<(), F::Error> {
        let offset = match self.next {
            Some(offset) => offset,
            None => {
                self.sector.erase(0, SECTOR_SIZE as u32)?;
                0
            }
        };
        // The slot is used whether or not the write completes (a torn slot is skipped).
        self.next = (offset + SLOT_SIZE < SECTOR_SIZE).then_some(offset + SLOT_SIZE);
        self.sector.write(offset as u32, &update_record::encode(record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::update::{Action, Boot, Offer, Updater, manifest};
    use ed25519_dalek::{Signer, SigningKey};
    use embedded_storage::nor_flash::{ErrorType, NorFlashError, NorFlashErrorKind, ReadNorFlash};
    use sha2::{Digest, Sha256};
    use std::cell::RefCell;
    use std::rc::Rc;

    /// A NOR flash as the chip's: erased bytes are 0xFF, a write only clears bits, erases are
    /// whole 4 KB sectors. Shared, so that a "reboot" can open it again.
    #[derive(Clone)]
    struct Nor {
        bytes: Rc<RefCell<std::vec::Vec<u8>>>,
        erases: Rc<RefCell<usize>>,
    }

    impl Nor {
        fn new(size: usize) -> Nor {
            // Not erased: what an earlier image left.
            Nor { bytes: Rc::new(RefCell::new(std::vec![0x5A; size])), erases: Rc::new(RefCell::new(0)) }
        }
    }

    #[derive(Debug)]
    struct OutOfBounds;

    impl NorFlashError for OutOfBounds {
        fn kind(&self) -> NorFlashErrorKind {
            NorFlashErrorKind::OutOfBounds
        }
    }

    impl ErrorType for Nor {
        type Error = OutOfBounds;
    }

    impl ReadNorFlash for Nor {
        const READ_SIZE: usize = 1;
        fn read(&mut self, offset: u32, bytes: &mut [u8]) -> Result<(), OutOfBounds> {
            let flash = self.bytes.borrow();
            let from = offset as usize;
            bytes.copy_from_slice(flash.get(from..from + bytes.len()).ok_or(OutOfBounds)?);
            Ok(())
        }
        fn capacity(&self) -> usize {
            self.bytes.borrow().len()
        }
    }

    impl NorFlash for Nor {
        const WRITE_SIZE: usize = 1;
        const ERASE_SIZE: usize = 4096;
        fn erase(&mut self, from: u32, to: u32) -> Result<(), OutOfBounds> {
            assert!(from.is_multiple_of(4096) && to.is_multiple_of(4096), "erases whole sectors");
            let mut flash = self.bytes.borrow_mut();
            flash.get_mut(from as usize..to as usize).ok_or(OutOfBounds)?.fill(0xFF);
            *self.erases.borrow_mut() += ((to - from) / 4096) as usize;
            Ok(())
        }
        fn write(&mut self, offset: u32, bytes: &[u8]) -> Result<(), OutOfBounds> {
            let mut flash = self.bytes.borrow_mut();
            let from = offset as usize;
            let target = flash.get_mut(from..from + bytes.len()).ok_or(OutOfBounds)?;
            for (cell, byte) in target.iter_mut().zip(bytes) {
                *cell &= byte;
            }
            Ok(())
        }
    }

    const RELEASE: [u8; 32] = [7; 32];

    fn image() -> std::vec::Vec<u8> {
        (0..10_000u32).map(|i| (i * 131 % 253) as u8).collect()
    }

    fn offer(image: &[u8]) -> Offer {
        let sha256: [u8; 32] = Sha256::digest(image).into();
        let signed = manifest("0.5.0", image.len() as u32, &sha256);
        let signature = SigningKey::from_bytes(&RELEASE).sign(&signed).to_bytes();
        Offer { version: "0.5.0".try_into().unwrap(), size: image.len() as u32, sha256, signature }
    }

    fn public() -> [u8; 32] {
        SigningKey::from_bytes(&RELEASE).verifying_key().to_bytes()
    }

    /// Carries out the updater's actions until it asks for nothing more, serving chunks of
    /// `image` (at most `budget` of them); returns the last action.
    fn run(
        updater: &mut Updater<'_>,
        staging: &mut SlotStaging<Nor>,
        journal: &mut RecordJournal<Nor>,
        image: &[u8],
        mut action: Action,
        mut budget: usize,
    ) -> Action {
        loop {
            action = match action {
                Action::Keep(record) => {
                    journal.keep(record.as_ref()).unwrap();
                    match record {
                        Some(Record::Downloading { .. }) => updater.next_request(0),
                        Some(Record::Swapped { .. }) => updater.swap_now(),
                        None => return Action::Keep(None),
                    }
                }
                Action::Request { offset, len } if budget > 0 => {
                    budget -= 1;
                    let chunk = &image[offset as usize..(offset + len) as usize];
                    updater.chunk("0.5.0", offset, chunk, staging)
                }
                other => return other,
            }
        }
    }

    #[test]
    fn a_download_cut_by_a_reboot_in_the_middle_of_a_sector_resumes_and_verifies() {
        let (image, slot, sector) = (image(), Nor::new(16 * 4096), Nor::new(4096));
        let (mut journal, record) = RecordJournal::open(sector.clone());
        assert_eq!(record, None, "a sector never written keeps no record");
        let (mut updater, _) = Updater::start(&public(), "0.4.1", Boot::Normal, None, 0).unwrap();
        let mut staging = SlotStaging::new(slot.clone());
        let first = updater.offered(offer(&image), &mut staging, 0);
        // Five chunks of 1 KB: the reboot comes 1 KB into the second sector.
        let cut = run(&mut updater, &mut staging, &mut journal, &image, first, 5);
        assert_eq!(cut, Action::Request { offset: 5 * 1024, len: 1024 });

        // The reboot: everything is read again from the flash.
        let (mut journal, record) = RecordJournal::open(sector.clone());
        assert!(matches!(record, Some(Record::Downloading { received: 5120, .. })), "{record:?}");
        let (mut updater, first) = Updater::start(&public(), "0.4.1", Boot::Normal, record, 0).unwrap();
        assert_eq!(first, Action::None);
        let mut staging = SlotStaging::new(slot.clone());
        let resumed = updater.offered(offer(&image), &mut staging, 0);
        assert_eq!(resumed, Action::Request { offset: 5 * 1024, len: 1024 }, "resumes where it stopped");
        let done = run(&mut updater, &mut staging, &mut journal, &image, resumed, 100);
        assert_eq!(done, Action::Swap, "the staged image verifies");
        assert_eq!(&slot.bytes.borrow()[..image.len()], &image[..]);
        assert_eq!(*slot.erases.borrow(), 3, "each sector the image reaches is erased once");
        let (_, kept) = RecordJournal::open(sector);
        assert_eq!(kept, Some(Record::Swapped { version: "0.5.0".try_into().unwrap() }));
    }

    #[test]
    fn sectors_are_erased_when_a_write_reaches_their_first_byte() {
        let erased = |offset, len| sectors_to_erase(offset, len, 4096).collect::<std::vec::Vec<_>>();
        assert_eq!(erased(0, 1024), [0]);
        assert_eq!(erased(1024, 1024), []);
        assert_eq!(erased(3072, 1024), [], "ends where the next sector starts");
        assert_eq!(erased(3072, 1025), [4096]);
        assert_eq!(erased(4000, 9000), [4096, 8192, 12288]);
        assert_eq!(erased(u32::MAX - 10, 100), [], "no overflow");
    }

    #[test]
    fn the_journal_erases_its_sector_once_every_sixteen_records_and_survives_reopening() {
        let sector = Nor::new(4096);
        let (mut journal, _) = RecordJournal::open(sector.clone());
        let image = image();
        let offer = offer(&image);
        for received in 1..=40u32 {
            journal.keep(Some(&Record::Downloading { offer: offer.clone(), received })).unwrap();
            // A reboot after any record finds it.
            let (reopened, kept) = RecordJournal::open(sector.clone());
            assert_eq!(kept, Some(Record::Downloading { offer: offer.clone(), received }));
            journal = reopened;
        }
        // The first write erased the never-used sector; then once every 16 records after it.
        assert_eq!(*sector.erases.borrow(), 3);
        journal.keep(None).unwrap();
        assert_eq!(RecordJournal::open(sector).1, None, "cleared");
    }

    #[test]
    fn a_write_past_the_slot_fails() {
        let mut staging = SlotStaging::new(Nor::new(4096));
        assert_eq!(staging.capacity(), 4096);
        assert!(staging.write(4000, &[0; 200]).is_err());
    }
}
