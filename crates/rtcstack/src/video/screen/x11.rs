//! The screen of an X11 display ($DISPLAY), read with the core protocol's
//! GetImage: one round trip per picture, no extension needed (Xvfb, Xorg,
//! XWayland's own windows).

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, ImageFormat};
use x11rb::rust_connection::RustConnection;

use super::ScreenError;
use crate::video::io::{VideoFormat, VideoInput};
use crate::video::VideoFrame;

/// The whole screen of the display.
pub struct X11Screen {
    conn: RustConnection,
    root: u32,
    format: VideoFormat,
    /// Reported once: a display whose pictures we cannot read.
    warned: bool,
}

impl X11Screen {
    /// The default screen of `$DISPLAY`, `fps` pictures a second.
    pub fn open(fps: u32) -> Result<X11Screen, ScreenError> {
        let (conn, screen) =
            x11rb::connect(None).map_err(|e| ScreenError::NoDisplay(e.to_string()))?;
        let s = &conn.setup().roots[screen];
        if s.root_depth != 24 && s.root_depth != 32 {
            return Err(ScreenError::Unsupported(format!(
                "a {}-bit display (24 or 32 bits are read)",
                s.root_depth
            )));
        }
        // Even sizes: chroma is sampled per 2x2 block.
        let format = VideoFormat {
            width: u32::from(s.width_in_pixels) & !1,
            height: u32::from(s.height_in_pixels) & !1,
            fps: fps.max(1),
        };
        let root = s.root;
        Ok(X11Screen {
            conn,
            root,
            format,
            warned: false,
        })
    }

    fn grab(&self) -> Result<Vec<u8>, String> {
        let (w, h) = (self.format.width as u16, self.format.height as u16);
        let reply = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.root, 0, 0, w, h, !0)
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
        let (w, h) = (self.format.width, self.format.height);
        let cw = out.chroma_width();
        let mut image = yuv::YuvPlanarImageMut {
            y_plane: yuv::BufferStoreMut::Borrowed(&mut out.y),
            y_stride: w,
            u_plane: yuv::BufferStoreMut::Borrowed(&mut out.u),
            u_stride: cw,
            v_plane: yuv::BufferStoreMut::Borrowed(&mut out.v),
            v_stride: cw,
            width: w,
            height: h,
        };
        // X11's 24-bit visuals hold pixels as B, G, R, unused.
        if let Err(e) = yuv::bgra_to_yuv420(
            &mut image,
            &bgra,
            w * 4,
            yuv::YuvRange::Limited,
            yuv::YuvStandardMatrix::Bt601,
            yuv::YuvConversionMode::Balanced,
        ) {
            tracing::debug!("screen to I420: {e}");
        }
    }
}
