//! Audio: what goes into the call and what comes out of it.
//!
//! Everything inside the call is 48 kHz mono, 20 ms frames (960 samples),
//! which is what the Opus track carries.

pub mod capture;
pub mod device;
pub mod far_end;
pub mod io;
pub mod jitter;
pub mod level;
pub mod processing;
pub mod resample;
pub mod route;
pub mod watch;

/// Sample rate of every signal in the call.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 960;
