//! A plain window of one colour on the test's X display: something known
//! on the screen for screen sharing to show. Closed when dropped.

use anyhow::{Context, Result};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, CreateWindowAux, WindowClass};
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

pub struct ColourWindow {
    conn: RustConnection,
    /// Where it is and how large, in screen pixels.
    pub x: i16,
    pub y: i16,
    pub width: u16,
    pub height: u16,
    /// The screen's size.
    pub screen: (u16, u16),
}

impl ColourWindow {
    /// Maps a borderless window filled with `rgb` at (`x`, `y`) on
    /// `$DISPLAY`, above the others, and waits until the server has it.
    pub fn show(rgb: [u8; 3], x: i16, y: i16, width: u16, height: u16) -> Result<Self> {
        let (conn, n) = x11rb::connect(None).context("connecting to $DISPLAY")?;
        let screen = &conn.setup().roots[n];
        let pixel = (u32::from(rgb[0]) << 16) | (u32::from(rgb[1]) << 8) | u32::from(rgb[2]);
        let id = conn.generate_id()?;
        conn.create_window(
            screen.root_depth,
            id,
            screen.root,
            x,
            y,
            width,
            height,
            0,
            WindowClass::INPUT_OUTPUT,
            screen.root_visual,
            // No window manager under Xvfb: override-redirect keeps the
            // position exact anyway.
            &CreateWindowAux::new()
                .background_pixel(pixel)
                .override_redirect(1),
        )?;
        conn.map_window(id)?;
        let size = (screen.width_in_pixels, screen.height_in_pixels);
        conn.sync()?;
        Ok(ColourWindow {
            conn,
            x,
            y,
            width,
            height,
            screen: size,
        })
    }

    /// The window's middle, as fractions of the screen's width and height.
    pub fn middle(&self) -> (f64, f64) {
        (
            (f64::from(self.x) + f64::from(self.width) / 2.0) / f64::from(self.screen.0),
            (f64::from(self.y) + f64::from(self.height) / 2.0) / f64::from(self.screen.1),
        )
    }
}

impl Drop for ColourWindow {
    fn drop(&mut self) {
        let _ = self.conn.flush();
    }
}
