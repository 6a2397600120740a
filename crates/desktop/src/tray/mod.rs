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
use crate::i18n::Sentence;

pub use host::{can_draw, present as host_present};
pub use icon::{icon, ICON_SIZE};

/// The call as the icon and its menu show it, in the app's language.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrayView {
    pub status: TrayStatus,
    /// The menu's first line, not clickable: what the call is doing.
    pub headline: String,
    /// The items' words: show window, mute or unmute, leave, quit.
    pub show: String,
    pub mute: String,
    pub leave: String,
    pub quit: String,
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
    /// `view` in `language` ("de").
    pub fn of(view: &CallView, language: &str) -> TrayView {
        let say = |key| Sentence::new(key).say(language);
        let room = view.room.clone().unwrap_or_else(|| say("tray.theCall"));
        let in_room = |key| Sentence::new(key).with("room", &room).say(language);
        let (status, headline) = match view.state {
            ConnectionState::Idle | ConnectionState::Disconnected => {
                (TrayStatus::Idle, say("tray.idle"))
            }
            ConnectionState::Connecting => (TrayStatus::Connecting, in_room("tray.joining")),
            ConnectionState::Connected if view.muted => {
                (TrayStatus::Muted, in_room("tray.inMuted"))
            }
            ConnectionState::Connected => (TrayStatus::Connected, in_room("tray.in")),
            // The banner's words.
            ConnectionState::Reconnecting => (
                TrayStatus::Reconnecting,
                Sentence::new("banner.lost")
                    .with("n", view.attempt.max(1))
                    .say(language),
            ),
        };
        TrayView {
            status,
            headline,
            show: say("tray.show"),
            mute: say(if view.muted {
                "call.unmute"
            } else {
                "call.mute"
            }),
            leave: say("tray.leave"),
            quit: say("tray.quit"),
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
/// going on is no surprise: where it went (the tray, or minimised where
/// there is no tray host).
pub fn still_in_call(tray_host: bool) -> Notification {
    Notification {
        title: Sentence::new("tray.stillInCall"),
        body: Sentence::new(if tray_host {
            "tray.stillInCallTray"
        } else {
            "tray.stillInCallMinimised"
        }),
    }
}

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
            let t = TrayView::of(&view(state, muted, 3), "en");
            assert_eq!(
                (t.status, t.headline.as_str()),
                (status, words),
                "{state:?}"
            );
        }
        // An outage's first attempt is 1 before the engine numbers it.
        let t = TrayView::of(&view(ConnectionState::Reconnecting, false, 0), "en");
        assert!(t.headline.ends_with("(attempt 1)"), "{}", t.headline);
    }

    #[test]
    fn the_menu_speaks_the_apps_language() {
        let t = TrayView::of(&view(ConnectionState::Connected, true, 0), "de");
        assert_eq!(
            [t.headline, t.show, t.mute, t.leave, t.quit],
            [
                "In standup — stummgeschaltet",
                "Fenster anzeigen",
                "Stummschaltung aufheben",
                "Anruf verlassen",
                "RTCstack beenden"
            ]
        );
        let t = TrayView::of(&view(ConnectionState::Reconnecting, false, 2), "de");
        assert_eq!(
            t.headline,
            "Verbindung unterbrochen — wird wiederhergestellt (Versuch 2)"
        );
        let t = TrayView::of(&view(ConnectionState::Connected, false, 0), "en");
        assert_eq!([t.mute, t.leave], ["Mute", "Leave call"]);
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
