//! Where video comes from and where decoded video goes. Cameras, screens
//! and generated patterns implement the one input trait; the app's
//! renderer and the tests' analysers the one sink trait.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use super::decode::VideoCodec;
use super::frame::VideoFrame;

/// An input's pictures: their size and how many a second.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoFormat {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

/// A source of pictures, pulled one at a time: on the sender's clock at
/// the input's rate, or, for an input with [`Arrivals`], as each comes.
pub trait VideoInput: Send + 'static {
    /// Fixed for the input's life.
    fn format(&self) -> VideoFormat;
    /// The newest picture, written into `out` (already of the format's size).
    fn next_frame(&mut self, out: &mut VideoFrame);
    /// For an input on a clock of its own (a camera, a screen cast): its
    /// pictures' arrivals, so each is sent as it comes. Sampling such a
    /// source on another clock of the same rate sends a picture twice and
    /// skips the next wherever the two clocks meet.
    fn arrivals(&self) -> Option<Arrivals> {
        None
    }
}

/// Counts the pictures an input has made its newest, and wakes whoever
/// waits for the next.
#[derive(Clone, Default)]
pub struct Arrivals(Arc<ArrivalsInner>);

#[derive(Default)]
struct ArrivalsInner {
    count: AtomicU64,
    notify: Notify,
    /// Told of each arrival here too (see [`Arrivals::relay_to`]).
    relay: Mutex<Option<Arrivals>>,
}

impl Arrivals {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new picture is the newest.
    pub fn arrived(&self) {
        self.0.count.fetch_add(1, Ordering::AcqRel);
        self.0.notify.notify_waiters();
        if let Some(to) = self.0.relay.lock().expect("relay lock").as_ref() {
            to.arrived();
        }
    }

    /// From now on each arrival here is one at `to` as well (an input that
    /// outlives the devices it reads keeps one signal for all of them).
    pub fn relay_to(&self, to: &Arrivals) {
        *self.0.relay.lock().expect("relay lock") = Some(to.clone());
    }

    /// How many have arrived.
    pub fn count(&self) -> u64 {
        self.0.count.load(Ordering::Acquire)
    }

    /// Waits until more than `seen` have arrived, or `within` has passed.
    pub async fn wait_after(&self, seen: u64, within: Duration) {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            // Made before the count is read, so an arrival between the two
            // still wakes it.
            let notified = self.0.notify.notified();
            if self.count() > seen {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return;
            }
        }
    }
}

/// What a published video shows, as LiveKit names it to everyone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoSource {
    Camera,
    Screen,
}

impl VideoSource {
    pub(crate) const ALL: [VideoSource; 2] = [VideoSource::Camera, VideoSource::Screen];
}

/// Which sources' videos are muted (a muted video stays published and
/// sends nothing).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct VideosMuted {
    camera: bool,
    screen: bool,
}

impl VideosMuted {
    pub(crate) fn of(self, source: VideoSource) -> bool {
        match source {
            VideoSource::Camera => self.camera,
            VideoSource::Screen => self.screen,
        }
    }

    pub(crate) fn set(&mut self, source: VideoSource, muted: bool) {
        match source {
            VideoSource::Camera => self.camera = muted,
            VideoSource::Screen => self.screen = muted,
        }
    }
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
    fn arrivals(&self) -> Option<Arrivals> {
        self.0.lock().expect("video input lock").arrivals()
    }
}

/// Whose picture a frame is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RemoteVideo {
    pub identity: String,
    pub track_sid: String,
}

/// How a sink takes a remote track's pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Decoded here ([`VideoSink::on_frame`]).
    Decoded,
    /// As they came, whole and not decoded here ([`VideoSink::on_encoded`]):
    /// every frame from a key frame on, in order (for a decoder of the
    /// sink's own, a webview's say).
    Encoded,
    /// Encoded, from the next key frame on (asked of the sender at once):
    /// the sink lost its place (its decoder failed, frames were dropped).
    /// Said once: each time starts again.
    EncodedFromKey,
}

/// A remote frame as it came, whole.
#[derive(Debug, Clone, Copy)]
pub struct EncodedVideo<'a> {
    pub codec: VideoCodec,
    pub data: &'a [u8],
    /// It decodes with no frame before it.
    pub key: bool,
    pub rtp_timestamp: u32,
}

/// Receives every frame of every remote video track, in order: decoded,
/// or as it came where the sink asks so. Called on the track's receive
/// task: it must return quickly.
pub trait VideoSink: Send + Sync + 'static {
    fn on_frame(&self, from: &RemoteVideo, frame: &VideoFrame);

    /// How `from`'s frames are wanted now, asked before each. A change of
    /// way waits for the next key frame (asked for): the other decoder
    /// has no references. Only decoded unless a sink says otherwise.
    fn delivery(&self, _from: &RemoteVideo, _codec: VideoCodec) -> Delivery {
        Delivery::Decoded
    }

    /// A frame as it came, while [`VideoSink::delivery`] says so.
    fn on_encoded(&self, _from: &RemoteVideo, _frame: &EncodedVideo) {}
}

/// A sink that drops everything (audio-only clients, bots).
pub struct NullVideoSink;

impl VideoSink for NullVideoSink {
    fn on_frame(&self, _: &RemoteVideo, _: &VideoFrame) {}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_wait_ends_at_the_next_arrival_or_its_deadline() {
        let arrivals = Arrivals::new();
        let start = tokio::time::Instant::now();
        // Nothing comes: the deadline ends it.
        arrivals.wait_after(0, Duration::from_millis(250)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(250));

        // One comes 40 ms in.
        let from = arrivals.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(40)).await;
            from.arrived();
        });
        let start = tokio::time::Instant::now();
        arrivals.wait_after(0, Duration::from_millis(250)).await;
        assert_eq!(start.elapsed(), Duration::from_millis(40));
        assert_eq!(arrivals.count(), 1);

        // One already come and not taken: no wait at all.
        arrivals.arrived();
        let start = tokio::time::Instant::now();
        arrivals.wait_after(1, Duration::from_millis(250)).await;
        assert_eq!(start.elapsed(), Duration::ZERO);
    }
}
