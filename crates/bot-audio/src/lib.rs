//! Test and bot audio for RTCstack calls, kept out of the SDK so the app
//! links none of it (no FFT, no WAV reader):
//!
//! - [`tone::Tone`]: a generated sine, the tests' and bots' input.
//! - [`wav::WavInput`]: a WAV file as the call's input, looped.
//! - [`capture::CaptureSink`]: an output that keeps what it hears.
//! - [`analysis`]: a signal's dominant frequency and level.
//!
//! Signals follow the SDK's format ([`rtcstack::audio::SAMPLE_RATE`],
//! 48 kHz mono).

pub mod analysis;
pub mod capture;
pub mod tone;
pub mod wav;
