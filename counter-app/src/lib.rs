//! The counter app: the staff member's desk application.
//!
//! Start reading at [`flow`] (what the app does, as a state machine without IO: sign-in, one
//! command at a time with ids, questions before complete / out-of-order calls / pauses, nothing
//! queued while the hub is away), then [`screen`] (the Slint window, `ui/counter.slint`, and how a
//! state is drawn) and [`app`] (the shell: the window, and the [`app::Link`] to the hub — MQTT for
//! the counter's commands, replies and state, as the counter's button uses them; HTTP for
//! signing in and the waiting list).
pub mod app;
pub mod cli;
pub mod flow;
pub mod sample;
pub mod screen;
