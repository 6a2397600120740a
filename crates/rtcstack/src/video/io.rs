//! Where decoded video goes. The app's renderer and the tests' analysers
//! implement the same trait.

use super::frame::VideoFrame;

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
