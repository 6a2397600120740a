//! A plain window of one colour on the test's X display: something known
//! on the screen for screen sharing to show. Closed when dropped. And the
//! app's own window, closed as a window manager closes it.

use anyhow::{Context, Result};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{
    AtomEnum, ClientMessageEvent, ConfigureWindowAux, ConnectionExt, CreateWindowAux, EventMask,
    MapState, PropMode, WindowClass,
};
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
    /// Untitled and override-redirect: a popup, not offered for sharing.
    pub fn show(rgb: [u8; 3], x: i16, y: i16, width: u16, height: u16) -> Result<Self> {
        Self::create(rgb, x, y, width, height, None)
    }

    /// The same as an application's window titled `title` (a window
    /// manager would place it; under Xvfb there is none, so it stays put).
    pub fn titled(
        title: &str,
        rgb: [u8; 3],
        x: i16,
        y: i16,
        width: u16,
        height: u16,
    ) -> Result<Self> {
        Self::create(rgb, x, y, width, height, Some(title))
    }

    fn create(
        rgb: [u8; 3],
        x: i16,
        y: i16,
        width: u16,
        height: u16,
        title: Option<&str>,
    ) -> Result<Self> {
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
                .override_redirect(u32::from(title.is_none())),
        )?;
        if let Some(title) = title {
            let utf8 = conn.intern_atom(false, b"UTF8_STRING")?.reply()?.atom;
            let net_name = conn.intern_atom(false, b"_NET_WM_NAME")?.reply()?.atom;
            conn.change_property8(
                PropMode::REPLACE,
                id,
                AtomEnum::WM_NAME,
                AtomEnum::STRING,
                title.as_bytes(),
            )?;
            conn.change_property8(PropMode::REPLACE, id, net_name, utf8, title.as_bytes())?;
        }
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

/// The top-level window titled `title` on `$DISPLAY`, mapped or not.
fn find_titled(conn: &RustConnection, root: u32, title: &str) -> Result<Option<u32>> {
    let utf8 = conn.intern_atom(false, b"UTF8_STRING")?.reply()?.atom;
    let net_name = conn.intern_atom(false, b"_NET_WM_NAME")?.reply()?.atom;
    let mut stack = vec![(root, 0)];
    while let Some((w, depth)) = stack.pop() {
        let named = |property, kind| -> Result<bool> {
            let value = conn
                .get_property(false, w, property, kind, 0, 256)?
                .reply()?
                .value;
            Ok(value == title.as_bytes())
        };
        if w != root
            && (named(net_name, utf8)? || named(AtomEnum::WM_NAME.into(), AtomEnum::ANY.into())?)
        {
            return Ok(Some(w));
        }
        if depth < 3 {
            for child in conn.query_tree(w)?.reply()?.children {
                stack.push((child, depth + 1));
            }
        }
    }
    Ok(None)
}

/// The app's window, seen and closed as a window manager would.
pub struct TopLevel {
    conn: RustConnection,
    id: u32,
}

impl TopLevel {
    /// The window titled `title`.
    pub fn titled(title: &str) -> Result<Self> {
        let (conn, n) = x11rb::connect(None).context("connecting to $DISPLAY")?;
        let root = conn.setup().roots[n].root;
        let id = find_titled(&conn, root, title)?
            .with_context(|| format!("no window titled {title:?} on the display"))?;
        Ok(TopLevel { conn, id })
    }

    /// Its X window id.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// Mapped and viewable: on the screen, not hidden.
    pub fn viewable(&self) -> Result<bool> {
        let attrs = self.conn.get_window_attributes(self.id)?.reply()?;
        Ok(attrs.map_state == MapState::VIEWABLE)
    }

    /// Where it is and how large: (x, y, width, height) on the screen.
    pub fn geometry(&self) -> Result<(i32, i32, u32, u32)> {
        let g = self.conn.get_geometry(self.id)?.reply()?;
        let root = self.conn.setup().roots[0].root;
        let at = self
            .conn
            .translate_coordinates(self.id, root, 0, 0)?
            .reply()?;
        Ok((
            i32::from(at.dst_x),
            i32::from(at.dst_y),
            u32::from(g.width),
            u32::from(g.height),
        ))
    }

    /// Moves and resizes it, as a person dragging it would.
    pub fn place(&self, x: i32, y: i32, width: u32, height: u32) -> Result<()> {
        self.conn.configure_window(
            self.id,
            &ConfigureWindowAux::new()
                .x(x)
                .y(y)
                .width(width)
                .height(height),
        )?;
        self.conn.sync()?;
        Ok(())
    }

    /// Marks it minimised (`true`) or not, as a window manager that keeps
    /// minimised windows mapped does (a compositing one): the state
    /// `_NET_WM_STATE_HIDDEN` on the window, which the toolkit reads as
    /// iconified.
    pub fn set_minimised(&self, minimised: bool) -> Result<()> {
        let state = self
            .conn
            .intern_atom(false, b"_NET_WM_STATE")?
            .reply()?
            .atom;
        let hidden = self
            .conn
            .intern_atom(false, b"_NET_WM_STATE_HIDDEN")?
            .reply()?
            .atom;
        let atoms: &[u32] = if minimised { &[hidden] } else { &[] };
        self.conn
            .change_property32(PropMode::REPLACE, self.id, state, AtomEnum::ATOM, atoms)?;
        self.conn.sync()?;
        Ok(())
    }

    /// What the close button does: WM_DELETE_WINDOW, which the app may
    /// refuse (as a call app does, keeping the call).
    pub fn ask_to_close(&self) -> Result<()> {
        let protocols = self.conn.intern_atom(false, b"WM_PROTOCOLS")?.reply()?.atom;
        let delete = self
            .conn
            .intern_atom(false, b"WM_DELETE_WINDOW")?
            .reply()?
            .atom;
        let event = ClientMessageEvent::new(32, self.id, protocols, [delete, 0, 0, 0, 0]);
        self.conn
            .send_event(false, self.id, EventMask::NO_EVENT, event)?;
        self.conn.sync()?;
        Ok(())
    }
}

/// The display's text scale as a desktop without a settings daemon sets
/// it: `Xft.dpi` in the root window's resources (what `xrdb` writes, and
/// what GTK reads when an application starts). 96 dpi is 100 %. Its
/// connection stays open, so the X server does not reset and drop it;
/// the resources are put back when dropped.
pub struct TextScale {
    conn: RustConnection,
    root: u32,
    before: Option<Vec<u8>>,
}

impl TextScale {
    pub fn set(dpi: u32) -> Result<Self> {
        let (conn, n) = x11rb::connect(None).context("connecting to $DISPLAY")?;
        let root = conn.setup().roots[n].root;
        let resources = AtomEnum::RESOURCE_MANAGER;
        let old = conn
            .get_property(false, root, resources, AtomEnum::STRING, 0, 1 << 16)?
            .reply()?;
        let before = (old.type_ != u32::from(AtomEnum::NONE)).then_some(old.value);
        // Other resources kept; an earlier Xft.dpi replaced.
        let mut lines: Vec<String> = before
            .as_deref()
            .map(String::from_utf8_lossy)
            .unwrap_or_default()
            .lines()
            .filter(|l| !l.starts_with("Xft.dpi:"))
            .map(str::to_owned)
            .collect();
        lines.push(format!("Xft.dpi:\t{dpi}"));
        let value = lines.join("\n") + "\n";
        conn.change_property8(
            PropMode::REPLACE,
            root,
            resources,
            AtomEnum::STRING,
            value.as_bytes(),
        )?;
        conn.sync()?;
        Ok(TextScale { conn, root, before })
    }
}

impl Drop for TextScale {
    fn drop(&mut self) {
        let resources = AtomEnum::RESOURCE_MANAGER;
        let _ = match &self.before {
            Some(v) => self
                .conn
                .change_property8(PropMode::REPLACE, self.root, resources, AtomEnum::STRING, v)
                .map(drop),
            None => self
                .conn
                .delete_property(self.root, u32::from(resources))
                .map(drop),
        };
        let _ = self.conn.sync();
    }
}

/// Monitors on the display as a multi-head desktop has them (RandR 1.5
/// monitors, each a named part of the one screen, set as `xrandr
/// --setmonitor` does); deleted when dropped.
pub struct Monitors {
    conn: RustConnection,
    root: u32,
    names: Vec<u32>,
}

impl Monitors {
    /// Each of `parts` is a name and x, y, width, height on the screen.
    pub fn set(parts: &[(&str, i16, i16, u16, u16)]) -> Result<Self> {
        use x11rb::protocol::randr::{ConnectionExt as _, MonitorInfo};
        let (conn, n) = x11rb::connect(None).context("connecting to $DISPLAY")?;
        let root = conn.setup().roots[n].root;
        let version = conn.randr_query_version(1, 5)?.reply()?;
        anyhow::ensure!(
            (version.major_version, version.minor_version) >= (1, 5),
            "the display has RandR {}.{}, monitors need 1.5",
            version.major_version,
            version.minor_version
        );
        let mut monitors = Monitors {
            conn,
            root,
            names: Vec::new(),
        };
        for &(name, x, y, width, height) in parts {
            let atom = monitors
                .conn
                .intern_atom(false, name.as_bytes())?
                .reply()?
                .atom;
            monitors
                .conn
                .randr_set_monitor(
                    root,
                    MonitorInfo {
                        name: atom,
                        primary: false,
                        automatic: false,
                        x,
                        y,
                        width,
                        height,
                        width_in_millimeters: u32::from(width) / 4,
                        height_in_millimeters: u32::from(height) / 4,
                        outputs: Vec::new(),
                    },
                )?
                .check()
                .with_context(|| format!("setting monitor {name}"))?;
            monitors.names.push(atom);
        }
        Ok(monitors)
    }
}

impl Drop for Monitors {
    fn drop(&mut self) {
        use x11rb::protocol::randr::ConnectionExt as _;
        for &name in &self.names {
            let _ = self.conn.randr_delete_monitor(self.root, name);
        }
        let _ = self.conn.sync();
    }
}

/// What applications ask the window manager to do with their windows'
/// state (`_NET_WM_STATE` client messages sent to the root window), heard
/// as a window manager hears them; the test's display runs none, so
/// nothing is done with them.
pub struct WmStateRequests {
    conn: RustConnection,
    state: u32,
    above: u32,
}

impl WmStateRequests {
    pub fn listen() -> Result<Self> {
        use x11rb::protocol::xproto::ChangeWindowAttributesAux;
        let (conn, n) = x11rb::connect(None).context("connecting to $DISPLAY")?;
        let root = conn.setup().roots[n].root;
        conn.change_window_attributes(
            root,
            &ChangeWindowAttributesAux::new().event_mask(EventMask::SUBSTRUCTURE_NOTIFY),
        )?
        .check()?;
        let state = conn.intern_atom(false, b"_NET_WM_STATE")?.reply()?.atom;
        let above = conn
            .intern_atom(false, b"_NET_WM_STATE_ABOVE")?
            .reply()?
            .atom;
        Ok(WmStateRequests { conn, state, above })
    }

    /// Waits until `window` asks to be kept above the others (`above`) or
    /// no longer.
    pub fn wait_above(&self, window: u32, above: bool, within: std::time::Duration) -> Result<()> {
        use x11rb::protocol::Event;
        let deadline = std::time::Instant::now() + within;
        // 1 adds the state, 0 removes it (_NET_WM_STATE's actions).
        let action = u32::from(above);
        loop {
            while let Some(event) = self.conn.poll_for_event()? {
                if let Event::ClientMessage(m) = event {
                    let d = m.data.as_data32();
                    if m.window == window
                        && m.type_ == self.state
                        && d[0] == action
                        && (d[1] == self.above || d[2] == self.above)
                    {
                        return Ok(());
                    }
                }
            }
            anyhow::ensure!(
                std::time::Instant::now() < deadline,
                "window {window:#x} did not ask to be kept above = {above} within {within:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
    }
}
