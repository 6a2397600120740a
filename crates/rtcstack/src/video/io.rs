//! Where video comes from and where decoded video goes. Cameras, screens
//! and generated patterns implement the one input trait; the app's
//! renderer and the tests' analysers the one sink trait.

use std::sync::{Arc, Mutex};

use super::frame::VideoFrame;

/// An input's pictures: their size and how many a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// A source of pictures, pulled one at a time by the sender's clock at the
/// input's own rate.
pub trait VideoInput: Send + 'static {
    /// Fixed for the input's life.
    fn format(&self) -> VideoFormat;
    /// The next picture, written into `out` (already of the format's size).
    fn next_frame(&mut self, out: &mut VideoFrame);
}

/// What a published video shows, as LiveKit names it to everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSource {
    Camera,
    Screen,
}

/// An input a call holds across sessions (a rejoin publishes the same
/// camera again).
#[derive(Clone)]
pub struct SharedVideoInput(Arc<Mutex<Box<dyn VideoInput>>>);

impl SharedVideoInput {
    pub fn new(input: Box<dyn VideoInput>) -> Self {
        SharedVideoInput(Arc::new(Mutex::new(input)))
    }
}

impl VideoInput for SharedVideoInput {
    fn format(&self) -> VideoFormat {
        self.0.lock().expect("video input lock").format()
    }
    fn next_frame(&mut self, out: &mut VideoFrame) {
        self.0.lock().expect("video input lock").next_frame(out);
    }
}

/// Whose picture a frame is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteVideo {
    pub identity: String,
    pub track_sid: String,
}

/// Receives every decoded frame of every remote video track, in order.
/// Called on the track's receive task: it must return quickly.
pub trait VideoSink: Send + Sync + 'static {
    fn on_frame(&self, from: &RemoteVideo, frame: &VideoFrame);
}

/// A sink that drops everything (audio-only clients, bots).
pub struct NullVideoSink;

impl VideoSink for NullVideoSink {
    fn on_frame(&self, _: &RemoteVideo, _: &VideoFrame) {}
}
