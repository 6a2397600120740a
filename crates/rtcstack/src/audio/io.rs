//! Where call audio comes from and where it goes. Real devices (cpal) and
//! generated sources implement the same two traits.

use std::sync::{Arc, Mutex, RwLock};

/// A source of 48 kHz mono audio, pulled one 20 ms frame at a time by the
/// sender's clock.
pub trait AudioInput: Send + 'static {
    /// Fills `out` (960 samples) with the next frame.
    fn next_frame(&mut self, out: &mut [i16]);
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

/// An output that drops everything (listen-only bots, tests of signalling).
pub struct NullSink;

impl AudioSink for NullSink {
    fn on_frame(&self, _: &RemoteAudio, _: &[i16]) {}
}

/// An input that can be replaced while the call runs (device switching).
#[derive(Clone)]
pub struct SwitchableInput(Arc<Mutex<Box<dyn AudioInput>>>);

impl SwitchableInput {
    pub fn new(input: Box<dyn AudioInput>) -> Self {
        SwitchableInput(Arc::new(Mutex::new(input)))
    }

    /// From the next frame on, audio comes from `input`.
    pub fn replace(&self, input: Box<dyn AudioInput>) {
        *self.0.lock().expect("input lock") = input;
    }
}

impl AudioInput for SwitchableInput {
    fn next_frame(&mut self, out: &mut [i16]) {
        self.0.lock().expect("input lock").next_frame(out);
    }
}

/// An output that can be replaced while the call runs (device switching).
pub struct SwitchableSink(RwLock<Arc<dyn AudioSink>>);

impl SwitchableSink {
    pub fn new(sink: Arc<dyn AudioSink>) -> Self {
        SwitchableSink(RwLock::new(sink))
    }

    /// From the next frame on, audio goes to `sink`.
    pub fn replace(&self, sink: Arc<dyn AudioSink>) {
        *self.0.write().expect("sink lock") = sink;
    }
}

impl AudioSink for SwitchableSink {
    fn on_frame(&self, from: &RemoteAudio, pcm: &[i16]) {
        self.0.read().expect("sink lock").on_frame(from, pcm);
    }
}

/// Sends every frame to several outputs (a speaker and a level meter, say).
pub struct FanOut(pub Vec<Arc<dyn AudioSink>>);

impl AudioSink for FanOut {
    fn on_frame(&self, from: &RemoteAudio, pcm: &[i16]) {
        for sink in &self.0 {
            sink.on_frame(from, pcm);
        }
    }
}
