//! Where call audio comes from and where it goes. Real devices (cpal) and
//! generated sources implement the same two traits.

use super::tone::Tone;

/// A source of 48 kHz mono audio, pulled one 20 ms frame at a time by the
/// sender's clock.
pub trait AudioInput: Send + 'static {
    /// Fills `out` (960 samples) with the next frame.
    fn next_frame(&mut self, out: &mut [i16]);
}

impl AudioInput for Tone {
    fn next_frame(&mut self, out: &mut [i16]) {
        self.fill(out);
    }
}

/// Who a block of received audio is from.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteAudio {
    pub identity: String,
    pub track_sid: String,
}

/// Receives decoded 48 kHz mono audio of every remote track, in order.
pub trait AudioSink: Send + Sync + 'static {
    fn on_frame(&self, from: &RemoteAudio, pcm: &[i16]);
}
