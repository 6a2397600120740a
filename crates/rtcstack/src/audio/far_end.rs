//! What the speaker plays, kept for the echo canceller: its far-end
//! reference must be exactly the mixed signal that goes out, in order.
//!
//! The speaker's device callback appends to it; the capture path drains it
//! before each microphone frame. Shared between one speaker (or the next,
//! after a device switch) and one capture path.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use super::SAMPLE_RATE;

/// Longest stretch kept when nobody drains it (no call, or a stalled
/// sender): older audio is of no use to the canceller.
const MAX_KEPT: usize = SAMPLE_RATE as usize / 2;

#[derive(Default)]
struct Played {
    samples: VecDeque<i16>,
    /// The output device's latency, callback to loudspeaker (ms).
    latency_ms: u32,
}

/// The far end as played: 48 kHz mono.
#[derive(Clone, Default)]
pub struct FarEnd(Arc<Mutex<Played>>);

impl FarEnd {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Played> {
        // Plain samples: a panic elsewhere leaves nothing half-written
        // that matters.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Samples just handed to the output device, and its latency.
    pub(crate) fn played(&self, samples: impl IntoIterator<Item = i16>, latency_ms: u32) {
        let mut p = self.lock();
        p.samples.extend(samples);
        p.latency_ms = latency_ms;
        let excess = p.samples.len().saturating_sub(MAX_KEPT);
        p.samples.drain(..excess);
    }

    /// Moves everything played since the last call to the end of `out`;
    /// returns the output latency.
    pub(crate) fn take(&self, out: &mut Vec<i16>) -> u32 {
        let mut p = self.lock();
        out.extend(p.samples.drain(..));
        p.latency_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_order_and_at_most_half_a_second() {
        let f = FarEnd::new();
        f.played((0..100).map(|i| i as i16), 12);
        f.played(100..200, 15);
        let mut out = Vec::new();
        assert_eq!(f.take(&mut out), 15);
        assert_eq!(out, (0..200).collect::<Vec<i16>>());
        f.played(std::iter::repeat_n(1, MAX_KEPT + 10), 0);
        out.clear();
        f.take(&mut out);
        assert_eq!(out.len(), MAX_KEPT);
    }
}
