//! Screen capture as a video input: the whole screen, at a rate chosen for
//! sharing (text stays sharp; motion is not the point). One file per system
//! behind `cfg`: X11 here; Wayland (the XDG ScreenCast portal), macOS
//! (ScreenCaptureKit) and Windows (Windows.Graphics.Capture) are to come,
//! and until then opening a screen there is a clear error.

#[cfg(target_os = "linux")]
mod x11;

#[cfg(target_os = "linux")]
pub use x11::X11Screen as Screen;

/// Why the screen cannot be captured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    #[error("no display to capture: {0}")]
    NoDisplay(String),
    #[error("the screen cannot be captured: {0}")]
    Unsupported(String),
}

/// On systems without a capturer yet: opening fails, saying so.
#[cfg(not(target_os = "linux"))]
pub struct Screen;

#[cfg(not(target_os = "linux"))]
impl Screen {
    pub fn open(_fps: u32) -> Result<Screen, ScreenError> {
        Err(ScreenError::Unsupported(
            "screen sharing is not available on this system yet".into(),
        ))
    }
}
