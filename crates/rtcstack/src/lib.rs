//! RTCstack: the call SDK behind RTCstack Desktop.
//!
//! This crate knows nothing of Tauri or any UI. It follows the SDK surface in
//! the project's design notes: `Call::new(CallOptions)`, `connect()`,
//! `connection_state()`, and a stream of `CallEvent`s. The engine and the
//! reconnect supervisor land here in later steps; for now the crate holds the
//! shared vocabulary (connection states) and token expiry rules.

pub mod audio;
mod call;
mod engine;
mod error;
pub mod events;
pub mod room;
mod state;
pub mod supervisor;
pub mod token;

pub use call::{Call, CallOptions};
pub use error::ConnectError;
pub use events::{CallEvent, DisconnectReason};
pub use room::{ConnectionQuality, Participant};
pub use state::ConnectionState;
