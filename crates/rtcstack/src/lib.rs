//! RTCstack: the call SDK behind RTCstack Desktop.
//!
//! This crate knows nothing of Tauri or any UI. It follows the SDK surface in
//! the project's design notes: `Call::new(CallOptions)`, `connect()`,
//! `connection_state()`, and a stream of `CallEvent`s. Inside: the engine
//! (signalling, peer connections, media), the sans-IO reconnect supervisor
//! and the driver that joins them, room state, tokens and audio.

pub mod audio;
mod call;
pub mod check;
mod driver;
mod engine;
mod error;
pub mod events;
pub mod rates;
pub mod room;
mod scenario;
mod state;
pub mod supervisor;
pub mod token;
pub mod video;
mod wire;

pub use call::{Call, CallOptions};
pub use engine::stats::{
    CallCounters, ConnectionCounters, MediaPath, MediaPaths, PathProtocol, PictureSize,
    PlayoutCounters, RelayProtocol, SentReport, StreamCounters,
};
pub use error::ConnectError;
pub use events::{CallEvent, DisconnectReason};
pub use room::{ConnectionQuality, Participant};
pub use scenario::Scenario;
pub use state::ConnectionState;
