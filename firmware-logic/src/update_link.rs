//! The firmware update's messages on MQTT, as a button sees them: the two topics it subscribes to
//! (`…/devices/{device}/update/offer` and `…/update/chunk`), what it reads there, and the chunk
//! requests and state reports it publishes (`…/update/request`, `…/update/state`). The wire
//! types are `dawr_protocol::device`'s; the rules are `docs/PROTOCOL.md`, "Firmware updates".
//!
//! Pure: the firmware's session hands every received message to [`UpdateLink::read`] before the
//! counter logic, and publishes what [`UpdateLink::request`] and [`UpdateLink::report`] build.
use core::fmt::Write;

use dawr_protocol::device::{
    Chunk, ChunkError, ChunkRequest, FirmwareVersion, UpdateOffer, UpdateReport, UpdateStage, base64_decode,
};
use dawr_protocol::topics::Topic;

use crate::device::{Outgoing, PayloadBuf, TopicBuf};
use crate::update::{CHUNK_SIZE, Offer};

/// The bytes of one chunk.
pub type ChunkBytes = heapless::Vec<u8, { CHUNK_SIZE as usize }>;

/// What a button read on its update topics.
// A chunk is as large as it is: a button has no heap to box it in.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UpdateMessage {
    /// An image offered to this button, its digest and signature read (not yet checked).
    Offered(Offer),
    /// The offer was withdrawn (an empty retained message).
    Withdrawn,
    /// `data` of `version`'s image, from `offset`.
    Chunk { version: FirmwareVersion, offset: u32, data: ChunkBytes },
    /// The hub sent no chunk for the request at `offset`, and why.
    Refused { offset: u32, error: Option<ChunkError> },
    /// A message on an update topic that cannot be read (ignored; the updater asks again).
    Unreadable,
}

/// One button's update topics.
#[derive(Debug, Clone, Copy)]
pub struct UpdateLink<'a> {
    pub branch: &'a str,
    pub device: &'a str,
}

impl<'a> UpdateLink<'a> {
    pub fn new(branch: &'a str, device: &'a str) -> Self {
        UpdateLink { branch, device }
    }

    /// The topics to subscribe to: the offer (retained) and the chunks.
    pub fn subscriptions(&self) -> [TopicBuf; 2] {
        let (branch, device) = (self.branch, self.device);
        [topic(Topic::UpdateOffer { branch, device }), topic(Topic::UpdateChunk { branch, device })]
    }

    /// Reads a received message: `None` if it is not on this button's update topics (it is the
    /// counter logic's then).
    pub fn read(&self, topic_name: &str, payload: &[u8]) -> Option<UpdateMessage> {
        let [offer, chunk] = self.subscriptions();
        if topic_name == offer.as_str() {
            return Some(read_offer(payload));
        }
        if topic_name == chunk.as_str() {
            return Some(read_chunk(payload));
        }
        None
    }

    /// The request for `len` bytes of `version`'s image from `offset` (`None` if it cannot be
    /// written, which a version of at most 24 characters never causes).
    pub fn request(&self, version: &FirmwareVersion, offset: u32, len: u32) -> Option<Outgoing> {
        let request = ChunkRequest { version: version.clone(), offset, len };
        let (branch, device) = (self.branch, self.device);
        message(Topic::UpdateRequest { branch, device }, &request, false)
    }

    /// The button's update state, retained so the hub reads it after a restart.
    pub fn report(&self, report: &UpdateReport) -> Option<Outgoing> {
        let (branch, device) = (self.branch, self.device);
        message(Topic::UpdateState { branch, device }, report, true)
    }
}

/// Whether `next` is worth reporting after `last`: another stage or version, or a tenth more of
/// the image received.
pub fn report_is_news(last: Option<&UpdateReport>, next: &UpdateReport) -> bool {
    let Some(last) = last else { return true };
    if last.stage != next.stage || last.version != next.version {
        return true;
    }
    next.stage == UpdateStage::Downloading && tenths(last) != tenths(next)
}

fn tenths(report: &UpdateReport) -> Option<u64> {
    match (report.received, report.size) {
        (Some(received), Some(size)) if size > 0 => Some(u64::from(received) * 10 / u64::from(size)),
        _ => None,
    }
}

fn read_offer(payload: &[u8]) -> UpdateMessage {
    if payload.is_empty() {
        return UpdateMessage::Withdrawn;
    }
    match serde_json_core::from_slice::<UpdateOffer>(payload) {
        Ok((wire, _)) => Offer::from_wire(&wire).map_or(UpdateMessage::Unreadable, UpdateMessage::Offered),
        Err(_) => UpdateMessage::Unreadable,
    }
}

fn read_chunk(payload: &[u8]) -> UpdateMessage {
    let Ok((chunk, _)) = serde_json_core::from_slice::<Chunk<'_>>(payload) else {
        return UpdateMessage::Unreadable;
    };
    let Some(text) = chunk.data else {
        return UpdateMessage::Refused { offset: chunk.offset, error: chunk.error };
    };
    let mut bytes = [0u8; CHUNK_SIZE as usize];
    let Some(n) = base64_decode(text, &mut bytes) else {
        return UpdateMessage::Unreadable;
    };
    match ChunkBytes::from_slice(&bytes[..n]) {
        Ok(data) => UpdateMessage::Chunk { version: chunk.version, offset: chunk.offset, data },
        Err(_) => UpdateMessage::Unreadable,
    }
}

fn topic(t: Topic<'_>) -> TopicBuf {
    let mut s = TopicBuf::new();
    let _ = write!(s, "{t}");
    s
}

fn message<T: serde::Serialize>(t: Topic<'_>, value: &T, retain: bool) -> Option<Outgoing> {
    let mut buf = [0u8; 768];
    let n = serde_json_core::to_slice(value, &mut buf).ok()?;
    Some(Outgoing { topic: topic(t), payload: PayloadBuf::from_slice(&buf[..n]).ok()?, retain })
}

#[cfg(test)]
mod tests {
    use dawr_protocol::device::{UpdateRefusal, base64_encode};

    use super::*;

    const LINK: UpdateLink<'static> = UpdateLink { branch: "demo", device: "button-2" };

    fn version(v: &str) -> FirmwareVersion {
        v.try_into().unwrap()
    }

    #[test]
    fn it_listens_on_its_own_offer_and_chunks_only() {
        let [offer, chunk] = LINK.subscriptions();
        assert_eq!(offer.as_str(), "dawr/v1/demo/devices/button-2/update/offer");
        assert_eq!(chunk.as_str(), "dawr/v1/demo/devices/button-2/update/chunk");
        assert_eq!(LINK.read("dawr/v1/demo/devices/button-3/update/offer", b"{}"), None);
        assert_eq!(LINK.read("dawr/v1/demo/counters/2/reply", b"{}"), None);
    }

    #[test]
    fn an_offer_is_read_with_its_digest_and_signature() {
        let payload = concat!(
            r#"{"version":"0.9.0","size":20480,"sha256":""#,
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
            r#"","signature":""#,
            "0101010101010101010101010101010101010101010101010101010101010101",
            "0202020202020202020202020202020202020202020202020202020202020202",
            r#""}"#
        );
        let Some(UpdateMessage::Offered(offer)) =
            LINK.read("dawr/v1/demo/devices/button-2/update/offer", payload.as_bytes())
        else {
            panic!("not read as an offer");
        };
        assert_eq!(offer.version, version("0.9.0"));
        assert_eq!(offer.size, 20480);
        assert_eq!(offer.sha256[1], 0x11);
        assert_eq!((offer.signature[0], offer.signature[63]), (1, 2));
    }

    #[test]
    fn an_empty_offer_withdraws_and_a_bad_one_is_unreadable() {
        let topic = "dawr/v1/demo/devices/button-2/update/offer";
        assert_eq!(LINK.read(topic, b""), Some(UpdateMessage::Withdrawn));
        assert_eq!(
            LINK.read(topic, br#"{"version":"0.9.0","size":1,"sha256":"zz","signature":"00"}"#),
            Some(UpdateMessage::Unreadable)
        );
        assert_eq!(LINK.read(topic, b"not json"), Some(UpdateMessage::Unreadable));
    }

    #[test]
    fn a_chunk_is_decoded_and_a_refusal_keeps_its_reason() {
        let topic = "dawr/v1/demo/devices/button-2/update/chunk";
        let bytes: [u8; 1024] = core::array::from_fn(|i| (i % 251) as u8);
        let mut text = [0u8; 1368];
        let data = base64_encode(&bytes, &mut text).unwrap();
        let mut payload = heapless::String::<1500>::new();
        write!(payload, r#"{{"version":"0.9.0","offset":5120,"data":"{data}"}}"#).unwrap();
        let Some(UpdateMessage::Chunk { version: v, offset, data }) = LINK.read(topic, payload.as_bytes()) else {
            panic!("not read as a chunk");
        };
        assert_eq!((v, offset), (version("0.9.0"), 5120));
        assert_eq!(&data[..], &bytes[..]);

        let refused = LINK.read(topic, br#"{"version":"0.9.0","offset":0,"error":"busy","message":"try again"}"#);
        assert_eq!(refused, Some(UpdateMessage::Refused { offset: 0, error: Some(ChunkError::Busy) }));
        assert_eq!(LINK.read(topic, br#"{"version":"0.9.0","offset":0,"data":"!!"}"#), Some(UpdateMessage::Unreadable));
    }

    #[test]
    fn requests_and_reports_go_on_its_own_topics() {
        let request = LINK.request(&version("0.9.0"), 2048, 1024).unwrap();
        assert_eq!(request.topic.as_str(), "dawr/v1/demo/devices/button-2/update/request");
        assert!(!request.retain);
        let (read, _) = serde_json_core::from_slice::<ChunkRequest>(&request.payload).unwrap();
        assert_eq!((read.offset, read.len), (2048, 1024));

        let report = UpdateReport {
            stage: UpdateStage::Refused,
            version: Some(version("0.9.0")),
            received: None,
            size: None,
            reason: Some(UpdateRefusal::BadSignature),
        };
        let out = LINK.report(&report).unwrap();
        assert_eq!(out.topic.as_str(), "dawr/v1/demo/devices/button-2/update/state");
        assert!(out.retain, "the hub reads the state after a restart");
        assert_eq!(serde_json_core::from_slice::<UpdateReport>(&out.payload).unwrap().0, report);
    }

    #[test]
    fn progress_is_reported_by_tenths_and_every_change_of_stage() {
        let downloading = |received| UpdateReport {
            stage: UpdateStage::Downloading,
            version: Some(version("0.9.0")),
            received: Some(received),
            size: Some(10_000),
            reason: None,
        };
        assert!(report_is_news(None, &downloading(0)));
        assert!(!report_is_news(Some(&downloading(0)), &downloading(999)));
        assert!(report_is_news(Some(&downloading(999)), &downloading(1000)));
        let swapping = UpdateReport { stage: UpdateStage::Swapping, received: None, size: None, ..downloading(0) };
        assert!(report_is_news(Some(&downloading(10_000)), &swapping));
        assert!(!report_is_news(Some(&swapping), &swapping.clone()));
    }
}
