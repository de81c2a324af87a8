//! Dawr's public wire contract.
//!
//! Everything a device, display or app exchanges with a branch hub is defined here, once:
//!
//! - [`topics`]: the MQTT topic tree under `dawr/v1/{branch}`, with builders and a parser;
//! - [`acl`]: which topics each enrolled device (by role and counter) may publish and
//!   subscribe to — the rules every broker in front of a hub enforces;
//! - [`device`]: the small JSON messages a counter button or satisfaction terminal sends and
//!   receives (bounded strings, so they also work without `std` on a microcontroller);
//! - [`api`] (feature `std`): the HTTP API's bodies and the display messages (`calls`, `board`);
//! - [`booking_token`] (feature `booking-token`): the Ed25519-signed check-in token a booking's
//!   QR code carries, signed by the appointments site and verified offline by the hub;
//! - [`oidc`] (feature `std`): the OpenID Connect bodies of a national sign-in provider, which
//!   the appointments site reads and the tests' stand-in provider writes;
//! - [`endpoint`] (feature `mqtt-client`): the broker URL, login and TLS trust every MQTT client
//!   of the workspace connects with (here because this is the one crate they all share; the
//!   firmware builds this crate without the feature, so it pulls in no rumqttc or rustls).
//!
//! `docs/PROTOCOL.md` is the prose version of this crate; other vendors implement it, so a change
//! here is a change of a public contract and must be written down there.
#![cfg_attr(not(feature = "std"), no_std)]

pub mod acl;
#[cfg(feature = "std")]
pub mod api;
#[cfg(feature = "booking-token")]
pub mod booking_token;
pub mod device;
#[cfg(feature = "mqtt-client")]
pub mod endpoint;
#[cfg(feature = "std")]
pub mod oidc;
pub mod topics;

/// The version segment of every topic and of the HTTP API path (`/api/v1`).
pub const VERSION: &str = "v1";
