//! The screen, one monitor or one window on Windows (GDI) and macOS (Core
//! Graphics), read by `xcap` a picture at a time on a thread of its own:
//! one screenshot per picture, at a sharing rate (10 a second) that this
//! affords.
//!
//! No Windows or macOS machine here: type-checked for Windows by every
//! test run and for macOS by scripts/cross-check; the Windows build reads
//! the entire screen under Wine in the `windows` group (Wine 8 lists no
//! windows for xcap, so a window's share has not run).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use xcap::image::RgbaImage;
use xcap::{Monitor, Window};

use super::padded::padded;
use super::{EndSignal, ScreenError, ShareEnd, ShareTarget, Shareable};
use crate::video::io::{Arrivals, VideoFormat, VideoInput};
use crate::video::pixels::{to_i420, Layout, Plane};
use crate::video::reading::{open_on_thread, Latest, Opened, ThreadInput};
use crate::video::VideoFrame;

/// Where the pictures come from.
enum Source {
    Monitor(Monitor),
    Window(Window),
}

impl Source {
    /// One screenshot of it, as R, G, B, A rows.
    fn capture(&self) -> Result<RgbaImage, xcap::XCapError> {
        match self {
            Source::Monitor(m) => m.capture_image(),
            Source::Window(w) => w.capture_image(),
        }
    }
}

/// A monitor (the whole screen: the primary one) or a window being read,
/// on a thread of its own: the system's handles stay on the thread that
/// opened them, and a slow screenshot holds up no async thread.
pub struct ScreenshotScreen(ThreadInput);

/// The reading thread's side.
struct Reader {
    source: Source,
    /// The id it was opened by, to look for it again.
    id: u32,
    format: VideoFormat,
    latest: Latest,
    stop: Arc<AtomicBool>,
    /// Signalled when the shared window or monitor no longer exists.
    end: EndSignal,
}

/// What can be shared: the whole screen, each monitor where there are
/// several, then other applications' windows that are shown (not
/// minimised, not ours, with a title).
pub(super) fn shareables() -> Result<Vec<Shareable>, ScreenError> {
    allowed()?;
    let monitors = Monitor::all().map_err(|e| ScreenError::NoDisplay(e.to_string()))?;
    let mut all = vec![Shareable {
        target: ShareTarget::Screen,
        title: String::new(),
    }];
    if monitors.len() > 1 {
        for m in &monitors {
            let Ok(id) = m.id() else { continue };
            let title = m.friendly_name().or_else(|_| m.name()).unwrap_or_default();
            all.push(Shareable {
                target: ShareTarget::Monitor { id },
                title,
            });
        }
    }
    // A list that cannot be read leaves the screens to pick.
    let windows = Window::all().unwrap_or_default();
    let ours = std::process::id();
    for w in &windows {
        let shown = w.is_minimized().is_ok_and(|m| !m)
            && w.pid().is_ok_and(|p| p != ours)
            && w.width().is_ok_and(|x| x > 0)
            && w.height().is_ok_and(|x| x > 0);
        let title = w.title().unwrap_or_default();
        if let (true, false, Ok(id)) = (shown, title.is_empty(), w.id()) {
            all.push(Shareable {
                target: ShareTarget::Window { id },
                title,
            });
        }
    }
    Ok(all)
}

impl ScreenshotScreen {
    /// `target` at `fps` pictures a second. A window is shared at the size
    /// it has now.
    pub fn open(target: ShareTarget, fps: u32) -> Result<ScreenshotScreen, ScreenError> {
        let input = open_on_thread(
            "screenshots",
            move |stop| {
                let reader = Reader::open(target, fps, stop)?;
                let opened = Opened {
                    format: reader.format,
                    latest: reader.latest.clone(),
                    end: reader.end.watch(),
                };
                Ok((reader, opened))
            },
            Reader::run,
            ScreenError::Unsupported,
        )?;
        Ok(ScreenshotScreen(input))
    }

    /// Says when the shared window is gone (closed) or the shared monitor
    /// (unplugged, or another size now); until then a picture that cannot
    /// be read keeps the last.
    pub fn end(&self) -> ShareEnd {
        self.0.end()
    }
}

impl Reader {
    fn open(target: ShareTarget, fps: u32, stop: Arc<AtomicBool>) -> Result<Reader, ScreenError> {
        allowed()?;
        let (source, id) = match target {
            ShareTarget::Screen => {
                let monitors = Monitor::all().map_err(|e| ScreenError::NoDisplay(e.to_string()))?;
                let primary = monitors
                    .iter()
                    .position(|m| m.is_primary().unwrap_or(false))
                    .unwrap_or(0);
                let monitor = monitors
                    .into_iter()
                    .nth(primary)
                    .ok_or_else(|| ScreenError::NoDisplay("no monitor is connected".into()))?;
                let id = monitor
                    .id()
                    .map_err(|e| ScreenError::NoDisplay(e.to_string()))?;
                (Source::Monitor(monitor), id)
            }
            ShareTarget::Monitor { id } => {
                let monitor = find_monitor(id).ok_or(ScreenError::MonitorGone)?;
                (Source::Monitor(monitor), id)
            }
            ShareTarget::Window { id } => {
                let window = find_window(id)
                    .ok_or_else(|| ScreenError::Window(format!("no window {id} is open")))?;
                (Source::Window(window), id)
            }
            ShareTarget::Desktop => {
                return Err(ScreenError::Unsupported(
                    "there is no desktop's dialog on this system".into(),
                ))
            }
        };
        let (width, height) = pixel_size(&source).map_err(|e| match target {
            ShareTarget::Window { .. } => ScreenError::Window(e),
            ShareTarget::Monitor { .. } => ScreenError::Monitor(e),
            _ => ScreenError::NoDisplay(e),
        })?;
        // Even sizes: chroma is sampled per 2x2 block.
        let format = VideoFormat {
            width: width.max(2) & !1,
            height: height.max(2) & !1,
            fps: fps.max(1),
        };
        Ok(Reader {
            source,
            id,
            format,
            latest: Latest::new(format.width, format.height),
            stop,
            end: EndSignal::new(),
        })
    }

    /// A picture every 1/fps s until the input is dropped or what is
    /// shared is gone.
    fn run(self) {
        let period = Duration::from_secs(1) / self.format.fps;
        let mut frame = VideoFrame::black(self.format.width, self.format.height);
        let mut warned = false;
        let mut next = Instant::now();
        while !self.stop.load(Ordering::Relaxed) && !self.end.has_ended() {
            match self.grab() {
                Ok(rgba) => {
                    self.convert(&rgba, &mut frame);
                    self.latest.put(&mut frame);
                }
                Err(e) => {
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!("screen capture: {e}");
                    }
                }
            }
            next += period;
            let now = Instant::now();
            match next.checked_duration_since(now) {
                Some(wait) => std::thread::sleep(wait),
                // Behind (a slow screenshot): on from now, not in a burst.
                None => next = now,
            }
        }
    }

    /// The picture as R, G, B, A bytes, the format's size.
    fn grab(&self) -> Result<Vec<u8>, String> {
        let image = match self.source.capture() {
            Ok(image) => image,
            Err(e) => {
                self.end_if_gone();
                return Err(e.to_string());
            }
        };
        let (width, height) = (image.width(), image.height());
        let size = (self.format.width, self.format.height);
        if let Source::Monitor(_) = self.source {
            // The track's size is fixed: a monitor of another size now
            // (another mode) ends the share, as on X11.
            if (width & !1, height & !1) != size {
                self.end.end();
                return Err(format!("the monitor is now {width}x{height}"));
            }
        }
        Ok(padded(image.into_raw(), width, size))
    }

    fn convert(&self, rgba: &[u8], frame: &mut VideoFrame) {
        let plane = Plane {
            bytes: rgba,
            stride: 0,
        };
        if let Err(e) = to_i420(Layout::Rgbx, &[plane], frame) {
            tracing::debug!("screen to I420: {e}");
        }
    }

    /// After a failed read: gone from the system's list, the share ends.
    /// On macOS the list of windows holds only those on screen, so one
    /// minimised or on another Space is not taken for closed there: its
    /// share keeps the last picture until it is back or stopped.
    fn end_if_gone(&self) {
        let gone = match self.source {
            Source::Monitor(_) => Monitor::all()
                .is_ok_and(|all| !all.iter().any(|m| m.id().is_ok_and(|id| id == self.id))),
            Source::Window(_) if cfg!(target_os = "macos") => false,
            Source::Window(_) => Window::all()
                .is_ok_and(|all| !all.iter().any(|w| w.id().is_ok_and(|id| id == self.id))),
        };
        if gone {
            self.end.end();
        }
    }
}

/// macOS shows an app other apps' windows, and their titles, only once
/// the user has let it record the screen. Asked the first time (the
/// system's own dialog, which leads to System Settings); an answer counts
/// from the app's next start.
#[cfg(target_os = "macos")]
fn allowed() -> Result<(), ScreenError> {
    use objc2_core_graphics::{CGPreflightScreenCaptureAccess, CGRequestScreenCaptureAccess};
    if CGPreflightScreenCaptureAccess() {
        return Ok(());
    }
    CGRequestScreenCaptureAccess();
    Err(ScreenError::NotAllowed)
}

#[cfg(not(target_os = "macos"))]
fn allowed() -> Result<(), ScreenError> {
    Ok(())
}

fn find_monitor(id: u32) -> Option<Monitor> {
    Monitor::all()
        .ok()?
        .into_iter()
        .find(|m| m.id().is_ok_and(|m| m == id))
}

fn find_window(id: u32) -> Option<Window> {
    Window::all()
        .ok()?
        .into_iter()
        .find(|w| w.id().is_ok_and(|w| w == id))
}

/// The size of the source's pictures in pixels, from one taken: the
/// systems' own sizes are in points where the display is scaled (a Retina
/// Mac's pictures are twice as wide).
fn pixel_size(source: &Source) -> Result<(u32, u32), String> {
    let image = source.capture().map_err(|e| e.to_string())?;
    Ok((image.width(), image.height()))
}

impl VideoInput for ScreenshotScreen {
    fn format(&self) -> VideoFormat {
        self.0.format()
    }

    fn next_frame(&mut self, out: &mut VideoFrame) {
        self.0.next_frame(out);
    }

    fn arrivals(&self) -> Option<Arrivals> {
        self.0.arrivals()
    }
}
