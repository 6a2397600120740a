//! The tray (menu-bar) icon: what it says about the call, and what closing
//! the window does. The call lives in Rust, not in the page, so closing
//! the window need not end it: the icon keeps it within reach. The shell
//! draws the icon and its menu; nothing here knows Tauri.

#[cfg_attr(target_os = "linux", path = "linux.rs")]
#[cfg_attr(target_os = "macos", path = "macos.rs")]
#[cfg_attr(windows, path = "windows.rs")]
mod host;
mod icon;

use rtcstack::ConnectionState;

use crate::call::{CallView, Notification};

pub use host::{can_draw, present as host_present};
pub use icon::{icon, ICON_SIZE};

/// The call as the icon and its menu show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub status: TrayStatus,
    /// The menu's first line, not clickable: what the call is doing.
    pub headline: String,
    /// Mute and Leave apply.
    pub in_call: bool,
    pub muted: bool,
}

/// The icon's picture: one shape per status, so it reads without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrayStatus {
    Idle,
    Connecting,
    Connected,
    Muted,
    Reconnecting,
}

impl TrayView {
    pub fn of(view: &CallView) -> TrayView {
        let room = view.room.as_deref().unwrap_or("the call");
        let (status, headline) = match view.state {
            ConnectionState::Idle | ConnectionState::Disconnected => {
                (TrayStatus::Idle, "Not in a call".to_string())
            }
            ConnectionState::Connecting => (TrayStatus::Connecting, format!("Joining {room}…")),
            ConnectionState::Connected if view.muted => {
                (TrayStatus::Muted, format!("In {room} — muted"))
            }
            ConnectionState::Connected => (TrayStatus::Connected, format!("In {room}")),
            // The banner's words.
            ConnectionState::Reconnecting => (
                TrayStatus::Reconnecting,
                format!(
                    "Connection lost — reconnecting (attempt {})",
                    view.attempt.max(1)
                ),
            ),
        };
        TrayView {
            status,
            headline,
            in_call: in_call(view),
            muted: view.muted,
        }
    }
}

/// A call is joining, up or being recovered: leaving would end it.
pub fn in_call(view: &CallView) -> bool {
    matches!(
        view.state,
        ConnectionState::Connecting | ConnectionState::Connected | ConnectionState::Reconnecting
    )
}

/// What closing the window does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnClose {
    /// No call: the app ends.
    Close,
    /// The window goes; the call goes on behind the tray icon.
    Hide,
    /// No tray to come back from (a desktop without a status-icon host):
    /// the window is minimised instead of lost.
    Minimise,
}

pub fn on_close(view: &CallView, tray_host: bool) -> OnClose {
    match (in_call(view), tray_host) {
        (false, _) => OnClose::Close,
        (true, true) => OnClose::Hide,
        (true, false) => OnClose::Minimise,
    }
}

/// Said the first time the window is closed during a call, so the call
/// going on is no surprise.
pub const STILL_IN_CALL: Notification = Notification {
    title: "You are still in the call",
    body:
        "Closing the window keeps the call going. Leave or quit from the RTCstack icon in the tray.",
};

/// [`STILL_IN_CALL`] where there is no tray.
pub const STILL_IN_CALL_MINIMISED: Notification = Notification {
    title: "You are still in the call",
    body:
        "Closing the window keeps the call going; the window is minimised. Leave from the window.",
};

#[cfg(test)]
mod tests {
    use super::*;

    fn view(state: ConnectionState, muted: bool, attempt: u32) -> CallView {
        CallView {
            state,
            room: Some("standup".into()),
            muted,
            attempt,
            ..CallView::default()
        }
    }

    #[test]
    fn each_state_has_its_words_and_shape() {
        let cases = [
            (
                ConnectionState::Idle,
                false,
                TrayStatus::Idle,
                "Not in a call",
            ),
            (
                ConnectionState::Connecting,
                false,
                TrayStatus::Connecting,
                "Joining standup…",
            ),
            (
                ConnectionState::Connected,
                false,
                TrayStatus::Connected,
                "In standup",
            ),
            (
                ConnectionState::Connected,
                true,
                TrayStatus::Muted,
                "In standup — muted",
            ),
            (
                ConnectionState::Reconnecting,
                true,
                TrayStatus::Reconnecting,
                "Connection lost — reconnecting (attempt 3)",
            ),
            (
                ConnectionState::Disconnected,
                false,
                TrayStatus::Idle,
                "Not in a call",
            ),
        ];
        for (state, muted, status, words) in cases {
            let t = TrayView::of(&view(state, muted, 3));
            assert_eq!(
                (t.status, t.headline.as_str()),
                (status, words),
                "{state:?}"
            );
        }
        // An outage's first attempt is 1 before the engine numbers it.
        let t = TrayView::of(&view(ConnectionState::Reconnecting, false, 0));
        assert!(t.headline.ends_with("(attempt 1)"), "{}", t.headline);
    }

    #[test]
    fn closing_the_window_ends_the_app_only_outside_a_call() {
        let idle = view(ConnectionState::Idle, false, 0);
        let ended = view(ConnectionState::Disconnected, false, 0);
        assert_eq!(on_close(&idle, true), OnClose::Close);
        assert_eq!(on_close(&ended, true), OnClose::Close);
        for state in [
            ConnectionState::Connecting,
            ConnectionState::Connected,
            ConnectionState::Reconnecting,
        ] {
            let v = view(state, false, 1);
            assert_eq!(on_close(&v, true), OnClose::Hide, "{state:?}");
            assert_eq!(on_close(&v, false), OnClose::Minimise, "{state:?}");
        }
    }
}
