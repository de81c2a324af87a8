//! The overhead display board.
//!
//! Start reading at [`board`] (what a frame shows, as plain data), then [`link`] (the MQTT link
//! that keeps it current) and [`screen`] (the Slint window and the frame's words and numbers).
//! Its voice: [`announce`] (what is said for a call, and in what order calls are spoken),
//! [`voice`] (packs of clips joined into sound) and [`speaker`] (the thread that plays them, one
//! at a time).
pub mod announce;
pub mod board;
pub mod cli;
pub mod link;
pub mod screen;
pub mod speaker;
pub mod voice;
