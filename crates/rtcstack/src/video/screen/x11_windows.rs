//! The windows an X11 display offers for sharing: the window manager's
//! client list (`_NET_CLIENT_LIST`) where there is one, else the top-level
//! windows themselves. Only windows on screen with a title; never our own
//! process's (`_NET_WM_PID`), nor docks, desktops or override-redirect
//! popups.

use x11rb::connection::Connection;
use x11rb::protocol::xproto::{Atom, AtomEnum, ConnectionExt, MapState, Window};
use x11rb::rust_connection::RustConnection;

use super::x11_monitors::monitors;
use super::{ScreenError, ShareTarget, Shareable};

/// The whole screen, each monitor where there are several, then each
/// shareable window, bottom to top.
pub fn shareables() -> Result<Vec<Shareable>, ScreenError> {
    let (conn, screen) = x11rb::connect(None).map_err(|e| ScreenError::NoDisplay(e.to_string()))?;
    let root = conn.setup().roots[screen].root;
    let windows = Lister::new(&conn)
        .and_then(|l| l.windows(root))
        .map_err(|e| ScreenError::NoDisplay(e.to_string()))?;
    let mut all = vec![Shareable {
        target: ShareTarget::Screen,
        title: String::new(),
    }];
    let monitors = monitors(&conn, root);
    if monitors.len() > 1 {
        all.extend(monitors.into_iter().map(|m| Shareable {
            target: ShareTarget::Monitor { id: m.id },
            title: m.name,
        }));
    }
    all.extend(windows.into_iter().map(|(id, title)| Shareable {
        target: ShareTarget::Window { id },
        title,
    }));
    Ok(all)
}

type Failed = Box<dyn std::error::Error>;

struct Lister<'c> {
    conn: &'c RustConnection,
    utf8: Atom,
    net_name: Atom,
    net_pid: Atom,
    net_type: Atom,
    /// Window types that are part of the desktop, not an application.
    not_apps: [Atom; 2],
    client_list: Atom,
}

impl<'c> Lister<'c> {
    fn new(conn: &'c RustConnection) -> Result<Self, Failed> {
        let atom = |name: &[u8]| -> Result<Atom, Failed> {
            Ok(conn.intern_atom(false, name)?.reply()?.atom)
        };
        Ok(Lister {
            conn,
            utf8: atom(b"UTF8_STRING")?,
            net_name: atom(b"_NET_WM_NAME")?,
            net_pid: atom(b"_NET_WM_PID")?,
            net_type: atom(b"_NET_WM_WINDOW_TYPE")?,
            not_apps: [
                atom(b"_NET_WM_WINDOW_TYPE_DOCK")?,
                atom(b"_NET_WM_WINDOW_TYPE_DESKTOP")?,
            ],
            client_list: atom(b"_NET_CLIENT_LIST")?,
        })
    }

    fn windows(&self, root: Window) -> Result<Vec<(u32, String)>, Failed> {
        let managed = self.u32s(root, self.client_list, AtomEnum::WINDOW.into())?;
        let candidates = if managed.is_empty() {
            self.conn.query_tree(root)?.reply()?.children
        } else {
            managed
        };
        let ours = std::process::id();
        let mut found = Vec::new();
        for w in candidates {
            // A window may go away while it is looked at: skip it.
            let Ok(Some(title)) = self.offered(w, ours) else {
                continue;
            };
            found.push((w, title));
        }
        Ok(found)
    }

    /// The title to show if `w` is offered, else None.
    fn offered(&self, w: Window, ours: u32) -> Result<Option<String>, Failed> {
        let attrs = self.conn.get_window_attributes(w)?.reply()?;
        if attrs.override_redirect || attrs.map_state != MapState::VIEWABLE {
            return Ok(None);
        }
        if self.u32s(w, self.net_pid, AtomEnum::CARDINAL.into())? == [ours] {
            return Ok(None);
        }
        let kinds = self.u32s(w, self.net_type, AtomEnum::ATOM.into())?;
        if kinds.iter().any(|k| self.not_apps.contains(k)) {
            return Ok(None);
        }
        let title = self.title(w)?;
        Ok((!title.trim().is_empty()).then_some(title))
    }

    fn title(&self, w: Window) -> Result<String, Failed> {
        let net = self
            .conn
            .get_property(false, w, self.net_name, self.utf8, 0, 1024)?
            .reply()?
            .value;
        if !net.is_empty() {
            return Ok(String::from_utf8_lossy(&net).into_owned());
        }
        // WM_NAME is Latin-1 (or compound text, read as Latin-1).
        let old = self
            .conn
            .get_property(false, w, AtomEnum::WM_NAME, AtomEnum::ANY, 0, 1024)?
            .reply()?
            .value;
        Ok(old.iter().map(|&b| char::from(b)).collect())
    }

    fn u32s(&self, w: Window, property: Atom, kind: Atom) -> Result<Vec<u32>, Failed> {
        let reply = self
            .conn
            .get_property(false, w, property, kind, 0, 4096)?
            .reply()?;
        Ok(reply.value32().map(|v| v.collect()).unwrap_or_default())
    }
}
