//! The overhead display board. So far its state ([`board`]: what a frame shows), its MQTT
//! [`link`] to the hub, and its voice: what is said for a call ([`announce`]) and the voice packs
//! it is said with ([`voice`]). The screen (Slint) and audio playback come next.
pub mod announce;
pub mod board;
pub mod link;
pub mod voice;
