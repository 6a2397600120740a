//! Screen capture as a video input: the whole screen or one window, at a
//! rate chosen for sharing (text stays sharp; motion is not the point).
//! One file per system behind `cfg`: X11 here; Wayland (the XDG ScreenCast
//! portal), macOS (ScreenCaptureKit) and Windows (Windows.Graphics.Capture)
//! are to come, and until then opening a screen there is a clear error.

use serde::{Deserialize, Serialize};

#[cfg(target_os = "linux")]
mod x11;
#[cfg(target_os = "linux")]
mod x11_windows;

#[cfg(target_os = "linux")]
pub use x11::X11Screen as Screen;

/// What is shared: the whole screen, or one window (its own pixels, even
/// where another window covers it).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ShareTarget {
    Screen,
    /// The system's id of the window (an X11 window id).
    Window {
        id: u32,
    },
}

/// Something the user may pick to share, with the name to show for it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shareable {
    pub target: ShareTarget,
    /// The window's title; empty for the whole screen (the page names it).
    pub title: String,
}

/// Why the screen cannot be captured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScreenError {
    #[error("no display to capture: {0}")]
    NoDisplay(String),
    #[error("the screen cannot be captured: {0}")]
    Unsupported(String),
    #[error("that window cannot be shared: {0}")]
    Window(String),
}

/// What can be shared now: the whole screen first, then the other
/// applications' windows that are on screen (never our own process's).
#[cfg(target_os = "linux")]
pub fn shareables() -> Result<Vec<Shareable>, ScreenError> {
    x11_windows::shareables()
}

#[cfg(not(target_os = "linux"))]
pub fn shareables() -> Result<Vec<Shareable>, ScreenError> {
    Err(unsupported())
}

/// On systems without a capturer yet: opening fails, saying so.
#[cfg(not(target_os = "linux"))]
pub struct Screen;

#[cfg(not(target_os = "linux"))]
impl Screen {
    pub fn open(_target: ShareTarget, _fps: u32) -> Result<Screen, ScreenError> {
        Err(unsupported())
    }
}

#[cfg(not(target_os = "linux"))]
fn unsupported() -> ScreenError {
    ScreenError::Unsupported("screen sharing is not available on this system yet".into())
}
