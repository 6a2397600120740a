//! The screen of an X11 display ($DISPLAY), one of its monitors, or one
//! window on it, read with the core protocol's GetImage: one round trip
//! per picture. The screen needs no extension (Xvfb, Xorg, XWayland's own
//! windows); a monitor is its part of the screen (RandR names it). A
//! window is read from its own pixmap (Composite), so what covers it is
//! not shared.

use x11rb::connection::Connection;
use x11rb::errors::ReplyError;
use x11rb::protocol::composite::{ConnectionExt as _, Redirect};
use x11rb::protocol::xproto::{ConnectionExt, Drawable, ImageFormat, Window};
use x11rb::protocol::ErrorKind;
use x11rb::rust_connection::RustConnection;

use super::padded::padded;
use super::x11_monitors::{monitors, on_screen};
use super::{EndSignal, ScreenError, ShareEnd, ShareTarget};
use crate::video::io::{VideoFormat, VideoInput};
use crate::video::pixels::{to_i420, Layout, Plane};
use crate::video::VideoFrame;

/// The whole screen of the display, or one window.
pub struct X11Screen {
    conn: RustConnection,
    source: Source,
    format: VideoFormat,
    /// Reported once: a display whose pictures we cannot read.
    warned: bool,
    /// Signalled when the shared window or monitor no longer exists.
    end: EndSignal,
    /// Pictures since the shared monitor was last looked for.
    since_looked: u32,
    /// Looks in a row that did not find it.
    missed: u32,
}

/// Where the pictures come from.
enum Source {
    Root(Window),
    /// A monitor's part of the root window, from `x`, `y`, while the
    /// monitor is there.
    Monitor {
        root: Window,
        x: i16,
        y: i16,
        id: u32,
    },
    /// Redirected (Composite): the server keeps its pixels off screen, and
    /// draws them on screen itself. Undone when the connection closes.
    Window(Window),
}

impl X11Screen {
    /// `target` on `$DISPLAY`'s default screen, `fps` pictures a second.
    /// A window is shared at the size it has now.
    pub fn open(target: ShareTarget, fps: u32) -> Result<X11Screen, ScreenError> {
        let (conn, screen) =
            x11rb::connect(None).map_err(|e| ScreenError::NoDisplay(e.to_string()))?;
        let s = &conn.setup().roots[screen];
        if s.root_depth != 24 && s.root_depth != 32 {
            return Err(ScreenError::Unsupported(format!(
                "a {}-bit display (24 or 32 bits are read)",
                s.root_depth
            )));
        }
        let (source, width, height) = match target {
            ShareTarget::Screen => (Source::Root(s.root), s.width_in_pixels, s.height_in_pixels),
            ShareTarget::Monitor { id } => {
                let monitor = monitors(&conn, s.root)
                    .into_iter()
                    .find(|m| m.id == id)
                    .ok_or(ScreenError::MonitorGone)?;
                let (x, y, w, h) = on_screen(&monitor, s.width_in_pixels, s.height_in_pixels)
                    .ok_or_else(|| {
                        ScreenError::Monitor(format!("{} is off the screen", monitor.name))
                    })?;
                let (x, y) = (x as i16, y as i16);
                (
                    Source::Monitor {
                        root: s.root,
                        x,
                        y,
                        id,
                    },
                    w,
                    h,
                )
            }
            ShareTarget::Window { id } => {
                let (w, h) = redirected(&conn, id).map_err(ScreenError::Window)?;
                (Source::Window(id), w, h)
            }
            ShareTarget::Desktop => {
                return Err(ScreenError::Unsupported(
                    "the desktop's dialog is not the X server's".into(),
                ))
            }
        };
        // Even sizes: chroma is sampled per 2x2 block.
        let format = VideoFormat {
            width: u32::from(width).max(2) & !1,
            height: u32::from(height).max(2) & !1,
            fps: fps.max(1),
        };
        Ok(X11Screen {
            conn,
            source,
            format,
            warned: false,
            end: EndSignal::new(),
            since_looked: 0,
            missed: 0,
        })
    }

    /// Says when the shared window is gone (closed, its application
    /// ended) or the shared monitor (unplugged, about a second later);
    /// until then a window that cannot be read (minimised) keeps its last
    /// picture.
    pub fn end(&self) -> ShareEnd {
        self.end.watch()
    }

    /// Finds the shared monitor again: moved (the layout changed), it is
    /// read where it is now; gone on two looks in a row (not a moment's
    /// reconfiguration) or resized (the track's size is fixed), the share
    /// ends.
    fn follow_monitor(&mut self, root: Window, id: u32) -> Result<(), String> {
        let there = monitors(&self.conn, root);
        // None at all: RandR did not answer, not an unplugging.
        if there.is_empty() {
            return Ok(());
        }
        let (width, height) = match self.conn.get_geometry(root).map(|c| c.reply()) {
            Ok(Ok(g)) => (g.width, g.height),
            _ => return Ok(()),
        };
        let Some((x, y, w, h)) = there
            .iter()
            .find(|m| m.id == id)
            .and_then(|m| on_screen(m, width, height))
        else {
            self.missed += 1;
            if self.missed >= 2 {
                self.end.end();
                return Err("the monitor is gone".into());
            }
            return Ok(());
        };
        self.missed = 0;
        if (u32::from(w) & !1, u32::from(h) & !1) != (self.format.width, self.format.height) {
            self.end.end();
            return Err(format!("the monitor is now {w}x{h}"));
        }
        self.source = Source::Monitor {
            root,
            x: x as i16,
            y: y as i16,
            id,
        };
        Ok(())
    }

    /// The picture as B, G, R, unused bytes, the format's size.
    fn grab(&mut self) -> Result<Vec<u8>, String> {
        if let Source::Monitor { root, id, .. } = self.source {
            // Looked for once a second: RandR's list is a round trip.
            self.since_looked += 1;
            if self.since_looked >= self.format.fps {
                self.since_looked = 0;
                self.follow_monitor(root, id)?;
            }
        }
        let (w, h) = (self.format.width, self.format.height);
        match self.source {
            Source::Root(root) => self.read(root, (0, 0), w, h),
            Source::Monitor { root, x, y, .. } => self.read(root, (x, y), w, h),
            Source::Window(window) => self.grab_window(window),
        }
    }

    /// The window's own pixels as they are now. A window grown since is cut
    /// to the shared size, a shrunk one is padded with black: the track's
    /// size stays.
    fn grab_window(&self, window: Window) -> Result<Vec<u8>, String> {
        let size = match self
            .conn
            .get_geometry(window)
            .map_err(|e| e.to_string())?
            .reply()
        {
            Ok(size) => size,
            Err(e) => {
                if let ReplyError::X11Error(x) = &e {
                    if matches!(x.error_kind, ErrorKind::Window | ErrorKind::Drawable) {
                        self.end.end();
                    }
                }
                return Err(format!("the window is gone ({e})"));
            }
        };
        let pixmap = self.conn.generate_id().map_err(|e| e.to_string())?;
        self.conn
            .composite_name_window_pixmap(window, pixmap)
            .map_err(|e| e.to_string())?
            .check()
            .map_err(|e| format!("the window is not on screen ({e})"))?;
        let (w, h) = (
            u32::from(size.width).min(self.format.width),
            u32::from(size.height).min(self.format.height),
        );
        let read = self.read(pixmap, (0, 0), w, h);
        let _ = self.conn.free_pixmap(pixmap);
        Ok(padded(read?, w, (self.format.width, self.format.height)))
    }

    fn read(
        &self,
        drawable: Drawable,
        (x, y): (i16, i16),
        w: u32,
        h: u32,
    ) -> Result<Vec<u8>, String> {
        let (w, h) = (w as u16, h as u16);
        let reply = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, drawable, x, y, w, h, !0)
            .map_err(|e| e.to_string())?
            .reply()
            .map_err(|e| e.to_string())?;
        let want = usize::from(w) * usize::from(h) * 4;
        if reply.data.len() != want {
            return Err(format!(
                "{} bytes for a {w}x{h} picture (not 32 bits a pixel)",
                reply.data.len()
            ));
        }
        Ok(reply.data)
    }
}

/// Asks the server to keep `window`'s pixels off screen for us, and says
/// its size.
fn redirected(conn: &RustConnection, window: Window) -> Result<(u16, u16), String> {
    conn.composite_query_version(0, 4)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|_| "the display has no Composite extension".to_string())?;
    let size = conn
        .get_geometry(window)
        .map_err(|e| e.to_string())?
        .reply()
        .map_err(|_| format!("no window {window:#x} on the display"))?;
    conn.composite_redirect_window(window, Redirect::AUTOMATIC)
        .map_err(|e| e.to_string())?
        .check()
        .map_err(|e| format!("the display refused to redirect it ({e})"))?;
    Ok((size.width, size.height))
}

impl VideoInput for X11Screen {
    fn format(&self) -> VideoFormat {
        self.format
    }

    /// A new picture of the screen; on a failed read the last one stays.
    fn next_frame(&mut self, out: &mut VideoFrame) {
        let bgra = match self.grab() {
            Ok(b) => b,
            Err(e) => {
                if !std::mem::replace(&mut self.warned, true) {
                    tracing::warn!("screen capture: {e}");
                }
                return;
            }
        };
        // X11's 24-bit visuals hold pixels as B, G, R, unused.
        let plane = Plane {
            bytes: &bgra,
            stride: 0,
        };
        if let Err(e) = to_i420(Layout::Bgrx, &[plane], out) {
            tracing::debug!("screen to I420: {e}");
        }
    }
}
