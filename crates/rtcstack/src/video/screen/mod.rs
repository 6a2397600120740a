//! Screen capture as a video input: the whole screen, a monitor or one
//! window, at a rate chosen for sharing (text stays sharp; motion is not
//! the point). On Linux, X11 (the X server's pictures) or a Wayland
//! session (the XDG ScreenCast portal); on Windows and macOS, screenshots
//! (`xcap`: GDI, Core Graphics). Elsewhere opening a screen is a clear
//! error.

use serde::{Deserialize, Serialize};
use tokio::sync::watch;

mod padded;
#[cfg(target_os = "linux")]
mod portal;
#[cfg(any(windows, target_os = "macos"))]
mod screenshots;
#[cfg(target_os = "linux")]
mod x11;
#[cfg(target_os = "linux")]
mod x11_monitors;
#[cfg(target_os = "linux")]
mod x11_windows;

#[cfg(target_os = "linux")]
pub use portal::PortalScreen;
#[cfg(any(windows, target_os = "macos"))]
pub use screenshots::ScreenshotScreen;
#[cfg(target_os = "linux")]
pub use x11::X11Screen;

/// What is shared: the whole screen (every monitor), one monitor, or one
/// window (its own pixels, even where another window covers it).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum ShareTarget {
    Screen,
    /// The system's id of the monitor (on X11 its RandR name's atom; on
    /// Windows and macOS as `xcap` gives it).
    Monitor {
        id: u32,
    },
    /// The system's id of the window (an X11 window id; on Windows and
    /// macOS as `xcap` gives it).
    Window {
        id: u32,
    },
    /// What the user picks in the desktop's own dialog (a Wayland
    /// session, where only the desktop may read the screen).
    Desktop,
}

/// Something the user may pick to share, with the name to show for it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shareable {
    pub target: ShareTarget,
    /// The window's title, the monitor's name ("DP-1"); empty for the
    /// whole screen (the page names it).
    pub title: String,
}

/// Says when what is shared is gone for good (its window closed, its
/// monitor unplugged): the picture would never change again, so the share
/// should end. The whole screen never ends this way.
#[derive(Debug, Clone)]
pub struct ShareEnd(watch::Receiver<bool>);

impl ShareEnd {
    pub fn has_ended(&self) -> bool {
        *self.0.borrow()
    }

    /// True once what is shared has gone; false if the share stopped first
    /// (its capturer dropped), so nobody waits on a finished share.
    pub async fn ended(mut self) -> bool {
        self.0.wait_for(|ended| *ended).await.is_ok()
    }
}

/// The capturer's side of a [`ShareEnd`].
#[derive(Debug)]
pub(crate) struct EndSignal(watch::Sender<bool>);

// Only capturers signal an end.
#[cfg_attr(
    not(any(target_os = "linux", windows, target_os = "macos")),
    allow(dead_code)
)]
impl EndSignal {
    pub(crate) fn new() -> Self {
        EndSignal(watch::channel(false).0)
    }

    #[cfg_attr(
        not(any(target_os = "linux", windows, target_os = "macos")),
        allow(dead_code)
    )]
    pub(crate) fn end(&self) {
        self.0.send_replace(true);
    }

    /// Whether the end was signalled (the capturer's own loop asks).
    #[cfg_attr(not(any(windows, target_os = "macos")), allow(dead_code))]
    pub(crate) fn has_ended(&self) -> bool {
        *self.0.borrow()
    }

    pub(crate) fn watch(&self) -> ShareEnd {
        ShareEnd(self.0.subscribe())
    }
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
    #[error("that monitor cannot be shared: {0}")]
    Monitor(String),
    #[error("that monitor is no longer connected")]
    MonitorGone,
    #[error("the choice was cancelled")]
    Cancelled,
    /// The user has not let this app record the screen (macOS asks once;
    /// the answer counts from the app's next start).
    #[error("this computer does not allow this app to record the screen")]
    NotAllowed,
}

/// What can be shared now: the whole screen first, then each monitor
/// where there are several, then the other applications' windows that are
/// on screen (never our own process's). In a Wayland session, only the
/// desktop's dialog.
#[cfg(target_os = "linux")]
pub fn shareables() -> Result<Vec<Shareable>, ScreenError> {
    if wayland_session() {
        return Ok(vec![Shareable {
            target: ShareTarget::Desktop,
            title: String::new(),
        }]);
    }
    x11_windows::shareables()
}

/// A Wayland session: there the X server (XWayland, if any) shows only the
/// X11 windows, so the screen is the desktop's to give.
#[cfg(target_os = "linux")]
fn wayland_session() -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "wayland")
        || (set("WAYLAND_DISPLAY") && !set("DISPLAY"))
}

/// The screen, a monitor or a window being read: from the X server, or as
/// the desktop's portal hands it over.
#[cfg(target_os = "linux")]
pub enum Screen {
    X11(Box<X11Screen>),
    Portal(PortalScreen),
}

#[cfg(target_os = "linux")]
impl Screen {
    /// Opens `target` at `fps`. Blocks (the desktop's dialog waits for the
    /// user): call it off the async threads, within a tokio runtime.
    pub fn open(target: ShareTarget, fps: u32) -> Result<Screen, ScreenError> {
        match target {
            ShareTarget::Desktop => PortalScreen::open(fps).map(Screen::Portal),
            target => X11Screen::open(target, fps).map(|s| Screen::X11(Box::new(s))),
        }
    }

    pub fn end(&self) -> ShareEnd {
        match self {
            Screen::X11(s) => s.end(),
            Screen::Portal(s) => s.end(),
        }
    }
}

#[cfg(target_os = "linux")]
impl super::VideoInput for Screen {
    fn format(&self) -> super::VideoFormat {
        match self {
            Screen::X11(s) => s.format(),
            Screen::Portal(s) => s.format(),
        }
    }

    fn next_frame(&mut self, out: &mut super::VideoFrame) {
        match self {
            Screen::X11(s) => s.next_frame(out),
            Screen::Portal(s) => s.next_frame(out),
        }
    }

    fn arrivals(&self) -> Option<super::Arrivals> {
        match self {
            Screen::X11(s) => s.arrivals(),
            Screen::Portal(s) => s.arrivals(),
        }
    }
}

/// What can be shared now: the whole screen first, then each monitor
/// where there are several, then the other applications' windows.
#[cfg(any(windows, target_os = "macos"))]
pub fn shareables() -> Result<Vec<Shareable>, ScreenError> {
    screenshots::shareables()
}

/// The screen, a monitor or a window being read.
#[cfg(any(windows, target_os = "macos"))]
pub type Screen = ScreenshotScreen;

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
pub fn shareables() -> Result<Vec<Shareable>, ScreenError> {
    Err(unsupported())
}

/// On systems without a capturer: opening fails, saying so; there is
/// never one to read.
#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
pub enum Screen {}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
impl Screen {
    pub fn open(_target: ShareTarget, _fps: u32) -> Result<Screen, ScreenError> {
        Err(unsupported())
    }

    pub fn end(&self) -> ShareEnd {
        match *self {}
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
impl super::VideoInput for Screen {
    fn format(&self) -> super::VideoFormat {
        match *self {}
    }

    fn next_frame(&mut self, _out: &mut super::VideoFrame) {
        match *self {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_end_is_seen_by_whoever_waits_and_a_stop_frees_them() {
        let signal = EndSignal::new();
        let (early, late) = (signal.watch(), signal.watch());
        assert!(!early.has_ended());
        let waiting = tokio::spawn(early.ended());
        tokio::task::yield_now().await;
        signal.end();
        let within = std::time::Duration::from_secs(1);
        let woke = tokio::time::timeout(within, waiting).await.expect("woke");
        assert!(woke.unwrap(), "ended");
        // Ended already: at once, even with the capturer gone.
        drop(signal);
        assert!(tokio::time::timeout(within, late.ended())
            .await
            .expect("at once"));
        // Stopped without an end: the waiter is let go, told so.
        let stopped = EndSignal::new();
        let waiter = stopped.watch();
        drop(stopped);
        assert!(!tokio::time::timeout(within, waiter.ended())
            .await
            .expect("let go"));
    }
}

#[cfg(not(any(target_os = "linux", windows, target_os = "macos")))]
fn unsupported() -> ScreenError {
    ScreenError::Unsupported("screen sharing is not available on this system".into())
}
