//! Over-the-air updates, without hardware: the state machine that takes a new firmware image in
//! chunks, checks the release key's signature over it, has it swapped in, and keeps it only once
//! it has reached the broker.
//!
//! The image is written to a staging area (the bootloader's second slot on the button, a buffer
//! in tests) through [`Staging`]; progress is kept in a [`Record`] the firmware stores in flash,
//! so a download interrupted by a lost link or a reboot resumes where it stopped. What is signed
//! is not the image itself (a button cannot hold 350 KB in RAM to hash it in one go) but a small
//! manifest: `dawr-firmware/1\0`, the version's length (one byte) and text, the image's size
//! (u32, big-endian) and the SHA-256 of the image ([`manifest`]). The button hashes the staged
//! image from flash and checks an Ed25519 signature by the release key built into it.
//!
//! After the swap the new image boots "on trial": it confirms itself ([`Action::Confirm`], which
//! the firmware turns into embassy-boot's `mark_booted`) only after it has connected to the
//! broker. If it cannot within [`TRIAL_MS`], or the watchdog restarts it first, it is not
//! confirmed and the bootloader puts the old image back; the old image then sees from its record
//! that the update was rolled back.
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use dawr_protocol::device::{FirmwareVersion, UpdateOffer, UpdateRefusal, UpdateReport, UpdateStage, hex_decode};

/// The domain separation that starts every signed manifest.
pub const MANIFEST_PREFIX: &[u8] = b"dawr-firmware/1\0";
/// The largest chunk a button asks for at once.
pub const CHUNK_SIZE: u32 = 1024;
/// A chunk asked for and not received in this time is asked for again.
pub const CHUNK_TIMEOUT_MS: u64 = 5_000;
/// How long a new image has, from its first boot, to reach the broker and confirm itself.
pub const TRIAL_MS: u64 = 300_000;

/// An image on offer, as the hub announces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offer {
    pub version: FirmwareVersion,
    /// The image's size in bytes.
    pub size: u32,
    /// The SHA-256 of the image.
    pub sha256: [u8; 32],
    /// The release key's Ed25519 signature over the [`manifest`].
    pub signature: [u8; 64],
}

impl Offer {
    /// The offer as the hub sends it (`…/update/offer`); `None` if its digest or signature is
    /// not hex of the right length.
    pub fn from_wire(offer: &UpdateOffer) -> Option<Offer> {
        Some(Offer {
            version: offer.version.clone(),
            size: offer.size,
            sha256: hex_decode(&offer.sha256)?,
            signature: hex_decode(&offer.signature)?,
        })
    }
}

/// The bytes the release key signs for an image.
pub fn manifest(version: &str, size: u32, sha256: &[u8; 32]) -> heapless::Vec<u8, 96> {
    let mut m = heapless::Vec::new();
    let _ = m.extend_from_slice(MANIFEST_PREFIX);
    let _ = m.push(version.len() as u8);
    let _ = m.extend_from_slice(version.as_bytes());
    let _ = m.extend_from_slice(&size.to_be_bytes());
    let _ = m.extend_from_slice(sha256);
    m
}

/// What the firmware keeps in flash about an update, across reboots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// Downloading `offer`; the first `received` bytes are staged.
    Downloading { offer: Offer, received: u32 },
    /// `version` was staged, verified and handed to the bootloader to swap in.
    Swapped { version: FirmwareVersion },
}

/// Where an update stands, as the button reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Nothing to do.
    Idle,
    /// Taking `version` in chunks: `received` of `size` bytes.
    Downloading { version: FirmwareVersion, received: u32, size: u32 },
    /// Staged and verified: the firmware swaps and restarts.
    Swapping { version: FirmwareVersion },
    /// Running `version` on trial: not yet confirmed.
    Trial { version: FirmwareVersion, since_ms: u64 },
    /// Running `version`, confirmed after reaching the broker.
    Confirmed { version: FirmwareVersion },
    /// `version` did not reach the broker (or did not start): the old image runs again.
    RolledBack { version: FirmwareVersion },
    /// `version` was refused.
    Refused { version: FirmwareVersion, reason: Refusal },
}

impl State {
    /// The state as the button reports it (`…/update/state`).
    pub fn report(&self) -> UpdateReport {
        let report = |stage, version: &FirmwareVersion| UpdateReport {
            stage,
            version: Some(version.clone()),
            received: None,
            size: None,
            reason: None,
        };
        match self {
            State::Idle => {
                UpdateReport { stage: UpdateStage::Idle, version: None, received: None, size: None, reason: None }
            }
            State::Downloading { version, received, size } => UpdateReport {
                received: Some(*received),
                size: Some(*size),
                ..report(UpdateStage::Downloading, version)
            },
            State::Swapping { version } => report(UpdateStage::Swapping, version),
            State::Trial { version, .. } => report(UpdateStage::Trial, version),
            State::Confirmed { version } => report(UpdateStage::Confirmed, version),
            State::RolledBack { version } => report(UpdateStage::RolledBack, version),
            State::Refused { version, reason } => {
                UpdateReport { reason: Some(reason.wire()), ..report(UpdateStage::Refused, version) }
            }
        }
    }
}

/// Why an image was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The staged bytes do not hash to what was announced.
    WrongHash,
    /// The signature is not the release key's over this image's manifest.
    BadSignature,
    /// The image does not fit the staging slot.
    TooLarge,
    /// The staging flash failed.
    Flash,
}

impl Refusal {
    /// The reason as the button reports it.
    pub fn wire(self) -> UpdateRefusal {
        match self {
            Refusal::WrongHash => UpdateRefusal::WrongHash,
            Refusal::BadSignature => UpdateRefusal::BadSignature,
            Refusal::TooLarge => UpdateRefusal::TooLarge,
            Refusal::Flash => UpdateRefusal::Flash,
        }
    }
}

/// What the firmware is to do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Nothing.
    None,
    /// Ask the hub for `len` bytes of the image from `offset`.
    Request { offset: u32, len: u32 },
    /// Keep this record in flash (`None`: erase it).
    Keep(Option<Record>),
    /// Mark the staged image for the bootloader and restart into it.
    Swap,
    /// Mark the running image good (it reached the broker).
    Confirm,
    /// Restart without confirming: the bootloader puts the old image back.
    Rollback,
}

/// The staging area: the second slot on the button, a buffer in tests.
pub trait Staging {
    type Error;
    /// How many bytes it holds.
    fn capacity(&self) -> u32;
    /// Erases it, for a new download.
    fn erase(&mut self) -> Result<(), Self::Error>;
    /// Writes `data` at `offset`.
    fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), Self::Error>;
    /// Reads `buf.len()` bytes at `offset`.
    fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), Self::Error>;
}

/// How this boot came about, from the bootloader.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Boot {
    /// The image running is confirmed.
    Normal,
    /// The image running was just swapped in and is not yet confirmed.
    Trial,
}

/// The update state machine. See the module documentation.
#[derive(Debug)]
pub struct Updater<'a> {
    key: VerifyingKey,
    running: &'a str,
    state: State,
    offer: Option<Offer>,
    requested_ms: Option<u64>,
    trial_ms: u64,
}

impl<'a> Updater<'a> {
    /// The updater of a device running `running`, whose release key is `key` (32 bytes), after a
    /// boot of kind `boot`, with the record kept in flash. Returns it with what to do first (keep
    /// or erase the record). `None` if the key is not a valid Ed25519 key.
    pub fn start(
        key: &[u8; 32],
        running: &'a str,
        boot: Boot,
        record: Option<Record>,
        now_ms: u64,
    ) -> Option<(Self, Action)> {
        let key = VerifyingKey::from_bytes(key).ok()?;
        let mut updater =
            Updater { key, running, state: State::Idle, offer: None, requested_ms: None, trial_ms: TRIAL_MS };
        let action = match (boot, record) {
            (Boot::Trial, Some(Record::Swapped { version })) if version.as_str() == running => {
                updater.state = State::Trial { version, since_ms: now_ms };
                Action::None
            }
            (Boot::Trial, _) => {
                let version = FirmwareVersion::try_from(running).unwrap_or_default();
                updater.state = State::Trial { version, since_ms: now_ms };
                Action::None
            }
            (Boot::Normal, Some(Record::Swapped { version })) if version.as_str() != running => {
                updater.state = State::RolledBack { version };
                Action::Keep(None)
            }
            (Boot::Normal, Some(Record::Swapped { version })) => {
                updater.state = State::Confirmed { version };
                Action::Keep(None)
            }
            (Boot::Normal, Some(Record::Downloading { offer, received })) => {
                updater.state = State::Downloading { version: offer.version.clone(), received, size: offer.size };
                updater.offer = Some(offer);
                Action::None
            }
            (Boot::Normal, None) => Action::None,
        };
        Some((updater, action))
    }

    /// Gives a new image `ms` (instead of [`TRIAL_MS`]) to reach the broker: for a simulator
    /// that shows a rollback without waiting five minutes.
    pub fn with_trial_ms(mut self, ms: u64) -> Self {
        self.trial_ms = ms;
        self
    }

    /// Where the update stands.
    pub fn state(&self) -> &State {
        &self.state
    }

    /// The hub offers `offer` to this device. A download of the same image resumes where it
    /// stopped; another image starts over; the version already running, or one refused or rolled
    /// back, is not taken again.
    pub fn offered<S: Staging>(&mut self, offer: Offer, staging: &mut S, now_ms: u64) -> Action {
        if offer.version.as_str() == self.running {
            return Action::None;
        }
        match &self.state {
            State::Trial { .. } | State::Swapping { .. } => return Action::None,
            State::Refused { version, .. } | State::RolledBack { version } if *version == offer.version => {
                return Action::None;
            }
            State::Downloading { received, .. } if self.offer.as_ref() == Some(&offer) => {
                return self.request(*received, now_ms);
            }
            _ => {}
        }
        if offer.size > staging.capacity() {
            self.state = State::Refused { version: offer.version, reason: Refusal::TooLarge };
            return Action::None;
        }
        if staging.erase().is_err() {
            self.state = State::Refused { version: offer.version, reason: Refusal::Flash };
            return Action::None;
        }
        self.state = State::Downloading { version: offer.version.clone(), received: 0, size: offer.size };
        self.offer = Some(offer.clone());
        self.requested_ms = None;
        Action::Keep(Some(Record::Downloading { offer, received: 0 }))
    }

    /// What to ask for next while downloading (after [`Updater::offered`] or a reconnect).
    pub fn next_request(&mut self, now_ms: u64) -> Action {
        match self.state {
            State::Downloading { received, .. } => self.request(received, now_ms),
            _ => Action::None,
        }
    }

    fn request(&mut self, offset: u32, now_ms: u64) -> Action {
        let Some(offer) = &self.offer else { return Action::None };
        self.requested_ms = Some(now_ms);
        Action::Request { offset, len: CHUNK_SIZE.min(offer.size - offset) }
    }

    /// A chunk of `version`'s image at `offset` arrived. Chunks out of order (a repeat, a late
    /// one) are ignored. Returns the record to keep after a chunk, or after the last one the
    /// outcome of verifying the image: [`Action::Swap`] or the record erased (refused).
    pub fn chunk<S: Staging>(&mut self, version: &str, offset: u32, data: &[u8], staging: &mut S) -> Action {
        let State::Downloading { received, size, .. } = &mut self.state else { return Action::None };
        let Some(offer) = &self.offer else { return Action::None };
        if offer.version.as_str() != version || offset != *received || data.is_empty() {
            return Action::None;
        }
        let Some(end) = offset.checked_add(data.len() as u32).filter(|end| end <= size) else {
            return Action::None;
        };
        if staging.write(offset, data).is_err() {
            return self.refuse(Refusal::Flash);
        }
        *received = end;
        self.requested_ms = None;
        if end < *size {
            return Action::Keep(Some(Record::Downloading { offer: offer.clone(), received: end }));
        }
        match self.verify(staging) {
            Ok(()) => {
                let version = offer.version.clone();
                self.state = State::Swapping { version: version.clone() };
                Action::Keep(Some(Record::Swapped { version }))
            }
            Err(reason) => self.refuse(reason),
        }
    }

    /// After [`Action::Keep`] of a `Swapped` record: the firmware swaps.
    pub fn swap_now(&self) -> Action {
        if matches!(self.state, State::Swapping { .. }) { Action::Swap } else { Action::None }
    }

    fn refuse(&mut self, reason: Refusal) -> Action {
        let version = self.offer.take().map(|o| o.version).unwrap_or_default();
        self.state = State::Refused { version, reason };
        Action::Keep(None)
    }

    /// Hashes the staged image and checks the signature over its manifest.
    fn verify<S: Staging>(&self, staging: &mut S) -> Result<(), Refusal> {
        let offer = self.offer.as_ref().ok_or(Refusal::Flash)?;
        let mut hasher = Sha256::new();
        let mut buf = [0u8; 256];
        let mut offset = 0;
        while offset < offer.size {
            let n = (offer.size - offset).min(buf.len() as u32) as usize;
            staging.read(offset, &mut buf[..n]).map_err(|_| Refusal::Flash)?;
            hasher.update(&buf[..n]);
            offset += n as u32;
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if digest != offer.sha256 {
            return Err(Refusal::WrongHash);
        }
        let signature = Signature::from_bytes(&offer.signature);
        let manifest = manifest(&offer.version, offer.size, &digest);
        self.key.verify_strict(&manifest, &signature).map_err(|_| Refusal::BadSignature)
    }

    /// The device reached the broker: an image on trial confirms itself.
    pub fn connected(&mut self) -> Action {
        match &self.state {
            State::Trial { version, .. } => {
                self.state = State::Confirmed { version: version.clone() };
                Action::Confirm
            }
            _ => Action::None,
        }
    }

    /// The time passes: an image on trial that has not reached the broker in [`TRIAL_MS`] (or
    /// what [`Updater::with_trial_ms`] set) gives
    /// up (the bootloader restores the old one); a chunk not received in [`CHUNK_TIMEOUT_MS`]
    /// is asked for again.
    pub fn tick(&mut self, now_ms: u64) -> Action {
        match self.state {
            State::Trial { since_ms, .. } if now_ms.saturating_sub(since_ms) >= self.trial_ms => Action::Rollback,
            State::Downloading { received, .. }
                if self.requested_ms.is_some_and(|at| now_ms.saturating_sub(at) >= CHUNK_TIMEOUT_MS) =>
            {
                self.request(received, now_ms)
            }
            _ => Action::None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    /// A staging area in memory that can be made to fail.
    struct Buffer {
        bytes: std::vec::Vec<u8>,
        fail_writes: bool,
    }

    impl Staging for Buffer {
        type Error = ();
        fn capacity(&self) -> u32 {
            self.bytes.len() as u32
        }
        fn erase(&mut self) -> Result<(), ()> {
            self.bytes.fill(0xff);
            Ok(())
        }
        fn write(&mut self, offset: u32, data: &[u8]) -> Result<(), ()> {
            if self.fail_writes {
                return Err(());
            }
            self.bytes[offset as usize..offset as usize + data.len()].copy_from_slice(data);
            Ok(())
        }
        fn read(&mut self, offset: u32, buf: &mut [u8]) -> Result<(), ()> {
            buf.copy_from_slice(&self.bytes[offset as usize..offset as usize + buf.len()]);
            Ok(())
        }
    }

    fn buffer() -> Buffer {
        Buffer { bytes: std::vec![0; 8 * 1024], fail_writes: false }
    }

    const RELEASE: [u8; 32] = [7; 32];

    fn image() -> std::vec::Vec<u8> {
        (0..3000u32).map(|i| (i * 31 % 251) as u8).collect()
    }

    fn offer_signed_by(secret: [u8; 32], version: &str, image: &[u8]) -> Offer {
        let sha256: [u8; 32] = Sha256::digest(image).into();
        let signature = SigningKey::from_bytes(&secret).sign(&manifest(version, image.len() as u32, &sha256));
        Offer {
            version: version.try_into().unwrap(),
            size: image.len() as u32,
            sha256,
            signature: signature.to_bytes(),
        }
    }

    fn public() -> [u8; 32] {
        SigningKey::from_bytes(&RELEASE).verifying_key().to_bytes()
    }

    /// Serves every chunk asked for until the download ends; returns the last action.
    fn serve(u: &mut Updater<'_>, image: &[u8], staging: &mut Buffer, version: &str, mut action: Action) -> Action {
        loop {
            let Action::Request { offset, len } = action else { return action };
            let chunk = &image[offset as usize..(offset + len) as usize];
            match u.chunk(version, offset, chunk, staging) {
                Action::Keep(Some(Record::Downloading { .. })) => action = u.next_request(0),
                other => return other,
            }
        }
    }

    #[test]
    fn an_image_is_downloaded_in_chunks_verified_swapped_and_confirmed_after_reaching_the_broker() {
        let (image, mut flash) = (image(), buffer());
        let (mut u, first) = Updater::start(&public(), "0.4.1", Boot::Normal, None, 0).unwrap();
        assert_eq!(first, Action::None);
        let offer = offer_signed_by(RELEASE, "0.5.0", &image);
        assert!(matches!(u.offered(offer, &mut flash, 0), Action::Keep(Some(Record::Downloading { received: 0, .. }))));
        let request = u.next_request(0);
        assert_eq!(request, Action::Request { offset: 0, len: CHUNK_SIZE });
        let done = serve(&mut u, &image, &mut flash, "0.5.0", request);
        assert_eq!(done, Action::Keep(Some(Record::Swapped { version: "0.5.0".try_into().unwrap() })));
        assert_eq!(u.swap_now(), Action::Swap);
        assert_eq!(&flash.bytes[..image.len()], &image[..]);

        // The new image boots on trial and confirms itself once it reaches the broker.
        let record = Record::Swapped { version: "0.5.0".try_into().unwrap() };
        let (mut new, _) = Updater::start(&public(), "0.5.0", Boot::Trial, Some(record.clone()), 0).unwrap();
        assert!(matches!(new.state(), State::Trial { .. }));
        assert_eq!(new.tick(TRIAL_MS - 1), Action::None);
        assert_eq!(new.connected(), Action::Confirm);
        assert_eq!(new.state(), &State::Confirmed { version: "0.5.0".try_into().unwrap() });
        assert_eq!(new.tick(10 * TRIAL_MS), Action::None, "a confirmed image stays");
        // On the next normal boot the record is cleared.
        let (after, clear) = Updater::start(&public(), "0.5.0", Boot::Normal, Some(record), 0).unwrap();
        assert_eq!(
            (after.state(), clear),
            (&State::Confirmed { version: "0.5.0".try_into().unwrap() }, Action::Keep(None))
        );
    }

    #[test]
    fn a_new_image_that_cannot_reach_the_broker_is_rolled_back() {
        let record = Record::Swapped { version: "0.5.0".try_into().unwrap() };
        let (mut new, _) = Updater::start(&public(), "0.5.0", Boot::Trial, Some(record.clone()), 1_000).unwrap();
        assert_eq!(new.tick(1_000 + TRIAL_MS), Action::Rollback, "gives up after the trial time");
        // The bootloader put 0.4.1 back: it sees the update was rolled back, and is not offered
        // the same image again.
        let (mut old, clear) = Updater::start(&public(), "0.4.1", Boot::Normal, Some(record), 0).unwrap();
        assert_eq!(clear, Action::Keep(None));
        assert_eq!(old.state(), &State::RolledBack { version: "0.5.0".try_into().unwrap() });
        let mut flash = buffer();
        assert_eq!(old.offered(offer_signed_by(RELEASE, "0.5.0", &image()), &mut flash, 0), Action::None);
        assert!(
            old.offered(offer_signed_by(RELEASE, "0.5.1", &image()), &mut flash, 0) != Action::None,
            "a fix is taken"
        );
    }

    #[test]
    fn a_bad_signature_or_a_changed_image_is_refused_and_never_swapped() {
        let (image, mut flash) = (image(), buffer());
        let (mut u, _) = Updater::start(&public(), "0.4.1", Boot::Normal, None, 0).unwrap();
        u.offered(offer_signed_by([9; 32], "0.5.0", &image), &mut flash, 0);
        let request = u.next_request(0);
        assert_eq!(serve(&mut u, &image, &mut flash, "0.5.0", request), Action::Keep(None));
        assert!(matches!(u.state(), State::Refused { reason: Refusal::BadSignature, .. }));
        assert_eq!(u.swap_now(), Action::None);

        // Signed by the release key, but the bytes served differ from what was signed.
        let mut tampered = image.clone();
        tampered[2000] ^= 1;
        u.offered(offer_signed_by(RELEASE, "0.5.1", &image), &mut flash, 0);
        let request = u.next_request(0);
        assert_eq!(serve(&mut u, &tampered, &mut flash, "0.5.1", request), Action::Keep(None));
        assert!(matches!(u.state(), State::Refused { reason: Refusal::WrongHash, .. }));

        // A signature over another version's manifest (a downgrade replayed as new) is refused.
        let mut relabelled = offer_signed_by(RELEASE, "0.3.0", &image);
        relabelled.version = "0.6.0".try_into().unwrap();
        u.offered(relabelled, &mut flash, 0);
        let request = u.next_request(0);
        assert_eq!(serve(&mut u, &image, &mut flash, "0.6.0", request), Action::Keep(None));
        assert!(matches!(u.state(), State::Refused { reason: Refusal::BadSignature, .. }));
    }

    #[test]
    fn an_interrupted_download_resumes_where_it_stopped() {
        let (image, mut flash) = (image(), buffer());
        let offer = offer_signed_by(RELEASE, "0.5.0", &image);
        let (mut u, _) = Updater::start(&public(), "0.4.1", Boot::Normal, None, 0).unwrap();
        u.offered(offer.clone(), &mut flash, 0);
        let Action::Request { offset, len } = u.next_request(0) else { panic!("a request") };
        let kept = u.chunk("0.5.0", offset, &image[..len as usize], &mut flash);
        assert_eq!(kept, Action::Keep(Some(Record::Downloading { offer: offer.clone(), received: CHUNK_SIZE })));
        // A repeated or stray chunk changes nothing.
        assert_eq!(u.chunk("0.5.0", 0, &image[..10], &mut flash), Action::None);
        assert_eq!(u.chunk("0.5.0", 2048, &image[2048..2100], &mut flash), Action::None);
        // No answer: asked again after the timeout, from where it stopped.
        assert_eq!(u.next_request(100), Action::Request { offset: CHUNK_SIZE, len: CHUNK_SIZE });
        assert_eq!(u.tick(100 + CHUNK_TIMEOUT_MS - 1), Action::None);
        assert_eq!(u.tick(100 + CHUNK_TIMEOUT_MS), Action::Request { offset: CHUNK_SIZE, len: CHUNK_SIZE });

        // A reboot: the kept record resumes it, and the same offer again does not start over.
        let record = Record::Downloading { offer: offer.clone(), received: CHUNK_SIZE };
        let (mut again, _) = Updater::start(&public(), "0.4.1", Boot::Normal, Some(record), 0).unwrap();
        assert_eq!(again.offered(offer, &mut flash, 0), Action::Request { offset: CHUNK_SIZE, len: CHUNK_SIZE });
        let request = again.next_request(0);
        let done = serve(&mut again, &image, &mut flash, "0.5.0", request);
        assert!(matches!(done, Action::Keep(Some(Record::Swapped { .. }))), "{done:?}");
        assert_eq!(again.swap_now(), Action::Swap);
    }

    #[test]
    fn an_offer_is_read_from_the_wire_and_the_state_reported() {
        let signed = offer_signed_by(RELEASE, "0.5.0", &image());
        let wire = UpdateOffer {
            version: signed.version.clone(),
            size: signed.size,
            sha256: dawr_protocol::device::hex_encode(&signed.sha256).unwrap(),
            signature: dawr_protocol::device::hex_encode(&signed.signature).unwrap(),
        };
        assert_eq!(Offer::from_wire(&wire), Some(signed.clone()));
        let mut short = wire.clone();
        short.sha256.pop();
        assert_eq!(Offer::from_wire(&short), None);

        let mut flash = buffer();
        let (u, _) = Updater::start(&public(), "0.4.1", Boot::Normal, None, 0).unwrap();
        assert_eq!(u.state().report().stage, UpdateStage::Idle);
        let mut u = u;
        u.offered(signed, &mut flash, 0);
        let report = u.state().report();
        assert_eq!((report.stage, report.received, report.size), (UpdateStage::Downloading, Some(0), Some(3000)));
        let refused = State::Refused { version: "0.5.0".try_into().unwrap(), reason: Refusal::BadSignature };
        assert_eq!(refused.report().reason, Some(UpdateRefusal::BadSignature));

        // A shorter trial, for the simulator.
        let record = Record::Swapped { version: "0.5.0".try_into().unwrap() };
        let (mut trial, _) = Updater::start(&public(), "0.5.0", Boot::Trial, Some(record), 0).unwrap();
        let mut trial_short = {
            let (t, _) = Updater::start(&public(), "0.5.0", Boot::Trial, None, 0).unwrap();
            t.with_trial_ms(2_000)
        };
        assert_eq!(trial.tick(2_000), Action::None);
        assert_eq!(trial_short.tick(2_000), Action::Rollback);
    }

    #[test]
    fn an_image_too_large_or_a_failing_flash_is_refused() {
        let (mut u, _) = Updater::start(&public(), "0.4.1", Boot::Normal, None, 0).unwrap();
        let mut small = Buffer { bytes: std::vec![0; 100], fail_writes: false };
        assert_eq!(u.offered(offer_signed_by(RELEASE, "0.5.0", &image()), &mut small, 0), Action::None);
        assert!(matches!(u.state(), State::Refused { reason: Refusal::TooLarge, .. }));
        let mut broken = Buffer { bytes: std::vec![0; 8192], fail_writes: true };
        u.offered(offer_signed_by(RELEASE, "0.5.1", &image()), &mut broken, 0);
        let Action::Request { offset, len } = u.next_request(0) else { panic!("a request") };
        assert_eq!(u.chunk("0.5.1", offset, &image()[..len as usize], &mut broken), Action::Keep(None));
        assert!(matches!(u.state(), State::Refused { reason: Refusal::Flash, .. }));
        assert_eq!(
            u.offered(offer_signed_by(RELEASE, "0.4.1", &image()), &mut broken, 0),
            Action::None,
            "already running"
        );
    }
}
