//! Video: decoded pictures and where they go, the codecs (VP8 and VP9 on
//! the system's libvpx, H.264 on OpenH264 built from its bundled source),
//! and when a receiver asks its sender for a key frame.

pub(crate) mod assembly;
pub(crate) mod budget;
// Only the PipeWire reader (Linux) thins a source's pictures so far.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) mod cadence;
pub mod camera;
pub(crate) mod decode;
pub mod encode;
pub mod frame;
pub mod io;
pub(crate) mod keyframe;
pub(crate) mod layer_loss;
// A camera's MJPEG and raw pixels, read on Linux (PipeWire), Windows and
// macOS (nokhwa).
pub(crate) mod mjpeg;
pub(crate) mod overhead;
pub(crate) mod pacer;
pub(crate) mod picture_id;
#[cfg(target_os = "linux")]
pub(crate) mod pipewire;
pub(crate) mod pixels;
pub(crate) mod reading;
pub mod screen;
pub(crate) mod simulcast;
pub mod switchable;
pub(crate) mod trailer;
pub(crate) mod uplink;
pub mod view;
pub(crate) mod vp8_payload;

pub use decode::{DecodeError, VideoCodec};
pub use encode::SendCodec;
pub use frame::VideoFrame;
pub use io::{
    Arrivals, Delivery, EncodedVideo, NullVideoSink, RemoteVideo, SharedVideoInput, VideoFormat,
    VideoInput, VideoSink, VideoSource,
};
pub use switchable::{SwitchableVideoInput, VideoSwitch};
pub use view::VideoView;
