//! The overhead display board. So far its state ([`board`]: what a frame shows) and its voice:
//! what is said for a call ([`announce`]) and the voice packs it is said with ([`voice`]). The
//! screen (Slint) and the MQTT client come next.
pub mod announce;
pub mod board;
pub mod voice;
