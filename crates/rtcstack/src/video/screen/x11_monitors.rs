//! The monitors of an X11 display, as RandR 1.5 lists them: each is a part
//! of the one root window (the screen spans them all), named by the
//! server ("DP-1", or a name given with `xrandr --setmonitor`).

use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{ConnectionExt as _, Window};
use x11rb::rust_connection::RustConnection;

/// One monitor: where it is on the root window, and its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Monitor {
    /// The atom of its name: the id a share names it by.
    pub id: u32,
    pub name: String,
    pub x: i16,
    pub y: i16,
    pub width: u16,
    pub height: u16,
}

/// The active monitors, primary first. Empty without RandR 1.5 (the
/// display is one screen then).
pub fn monitors(conn: &RustConnection, root: Window) -> Vec<Monitor> {
    let has = conn
        .randr_query_version(1, 5)
        .ok()
        .and_then(|c| c.reply().ok())
        .is_some_and(|v| (v.major_version, v.minor_version) >= (1, 5));
    if !has {
        return Vec::new();
    }
    let Some(reply) = conn
        .randr_get_monitors(root, true)
        .ok()
        .and_then(|c| c.reply().ok())
    else {
        return Vec::new();
    };
    let mut all: Vec<(bool, Monitor)> = reply
        .monitors
        .into_iter()
        .filter(|m| m.width > 0 && m.height > 0)
        .map(|m| {
            let name = conn
                .get_atom_name(m.name)
                .ok()
                .and_then(|c| c.reply().ok())
                .map(|r| String::from_utf8_lossy(&r.name).into_owned())
                .unwrap_or_default();
            (
                m.primary,
                Monitor {
                    id: m.name,
                    name,
                    x: m.x,
                    y: m.y,
                    width: m.width,
                    height: m.height,
                },
            )
        })
        .collect();
    // Primary first, then left to right, top to bottom.
    all.sort_by_key(|(primary, m)| (!primary, m.x, m.y));
    all.into_iter().map(|(_, m)| m).collect()
}

/// The part of the root window `width` x `height` that `m` shows, cut to
/// the screen (a monitor may reach past it while the screen is resized).
pub fn on_screen(m: &Monitor, width: u16, height: u16) -> Option<(u16, u16, u16, u16)> {
    let x = u16::try_from(m.x.max(0)).ok()?;
    let y = u16::try_from(m.y.max(0)).ok()?;
    let right = (i32::from(m.x) + i32::from(m.width)).min(i32::from(width));
    let bottom = (i32::from(m.y) + i32::from(m.height)).min(i32::from(height));
    let w = u16::try_from(right - i32::from(x))
        .ok()
        .filter(|w| *w > 0)?;
    let h = u16::try_from(bottom - i32::from(y))
        .ok()
        .filter(|h| *h > 0)?;
    Some((x, y, w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(x: i16, y: i16, width: u16, height: u16) -> Monitor {
        Monitor {
            id: 1,
            name: "m".into(),
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn a_monitor_is_its_part_of_the_screen_cut_to_it() {
        assert_eq!(
            on_screen(&at(640, 0, 640, 800), 1280, 800),
            Some((640, 0, 640, 800))
        );
        assert_eq!(
            on_screen(&at(1000, 0, 640, 800), 1280, 800),
            Some((1000, 0, 280, 800))
        );
        assert_eq!(
            on_screen(&at(-100, 0, 640, 800), 1280, 800),
            Some((0, 0, 540, 800))
        );
        assert_eq!(on_screen(&at(1280, 0, 640, 800), 1280, 800), None);
    }
}
