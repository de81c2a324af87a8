//! The overhead display board. So far its voice: what is said for a call ([`announce`]) and the
//! voice packs it is said with ([`voice`]); the screen (Slint) and the MQTT client come next.
pub mod announce;
pub mod voice;
