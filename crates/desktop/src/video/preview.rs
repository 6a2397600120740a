//! Our own camera, shown to us: every picture the call sends is also put
//! where the page's tiles take pictures from, under [`PREVIEW`].

use std::sync::Arc;

use rtcstack::video::{Arrivals, VideoFormat, VideoFrame, VideoInput};

use super::Videos;

/// The name the page asks for our camera's pictures by (never a track's:
/// those start with "TR_").
pub const PREVIEW: &str = "preview";

/// A video input whose pictures are also previewed.
pub struct Previewed<I> {
    input: I,
    videos: Arc<Videos>,
}

impl<I: VideoInput> Previewed<I> {
    pub fn new(input: I, videos: Arc<Videos>) -> Self {
        Previewed { input, videos }
    }
}

impl<I: VideoInput> VideoInput for Previewed<I> {
    fn format(&self) -> VideoFormat {
        self.input.format()
    }

    fn next_frame(&mut self, out: &mut VideoFrame) {
        self.input.next_frame(out);
        self.videos.put(PREVIEW, out);
    }

    fn arrivals(&self) -> Option<Arrivals> {
        self.input.arrivals()
    }
}
