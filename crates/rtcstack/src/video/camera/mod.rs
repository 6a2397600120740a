//! Cameras as video inputs. On Linux a camera is a PipeWire video source,
//! as desktops hand cameras to applications now (WirePlumber publishes
//! each V4L2 or libcamera device as one; the camera portal gives a sandboxed
//! app a PipeWire remote that shows only them). On Windows (Media
//! Foundation) and macOS (AVFoundation), `nokhwa`. Elsewhere listing
//! cameras is a clear error.

use std::path::PathBuf;

use serde::Serialize;

// Used where a system lists every format (not PipeWire, which picks).
#[cfg_attr(target_os = "linux", allow(dead_code))]
mod choice;
#[cfg(any(windows, target_os = "macos"))]
mod nokhwa_camera;
#[cfg(target_os = "linux")]
mod pipewire;

#[cfg(any(windows, target_os = "macos"))]
pub use self::nokhwa_camera::NokhwaCamera as Camera;
#[cfg(target_os = "linux")]
pub use self::pipewire::PipeWireCamera as Camera;

/// A camera the user may pick, with the name to show for it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CameraInfo {
    /// Stable across replugging and restarts (PipeWire's node name; Media
    /// Foundation's symbolic link; AVFoundation's unique id).
    pub id: String,
    /// The device's own name ("Integrated Camera").
    pub name: String,
}

/// Which PipeWire to ask: the session's (found as every PipeWire client
/// finds it, from the environment), or one at a socket path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CameraService {
    socket: Option<PathBuf>,
}

impl CameraService {
    pub fn session() -> Self {
        CameraService::default()
    }

    pub fn at(socket: PathBuf) -> Self {
        CameraService {
            socket: Some(socket),
        }
    }

    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn socket(&self) -> Option<&std::path::Path> {
        self.socket.as_deref()
    }
}

/// Why a camera cannot be listed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CameraError {
    #[error("the camera service cannot be reached: {0}")]
    NoService(String),
    #[error("that camera is not connected")]
    NotFound,
    #[error("the camera gave no picture within {0} s")]
    NoPicture(u64),
    #[error("the camera cannot be used: {0}")]
    Refused(String),
    #[error("cameras are not available on this system")]
    Unsupported,
    /// The user has not let this app use cameras (macOS asks once).
    #[error("this computer does not allow this app to use cameras")]
    NotAllowed,
}

/// On systems without cameras: listing and opening fail, saying so;
/// there is never one to read.
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
pub enum Camera {}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
impl Camera {
    pub fn list(_service: &CameraService) -> Result<Vec<CameraInfo>, CameraError> {
        Err(CameraError::Unsupported)
    }

    pub fn open(
        _service: &CameraService,
        _id: &str,
        _want: super::VideoFormat,
    ) -> Result<Camera, CameraError> {
        Err(CameraError::Unsupported)
    }

    pub fn end(&self) -> super::screen::ShareEnd {
        match *self {}
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
impl super::VideoInput for Camera {
    fn format(&self) -> super::VideoFormat {
        match *self {}
    }
    fn next_frame(&mut self, _out: &mut super::VideoFrame) {
        match *self {}
    }
}
