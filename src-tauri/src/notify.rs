//! Desktop notifications for a user who is looking at another window: the
//! connection was lost, it is back, the call ended by an error.

use rtcstack::events::AttemptKind;
use rtcstack::{CallEvent, DisconnectReason};
use tauri::{AppHandle, Manager};
use tauri_plugin_notification::NotificationExt;

/// What to tell the user about `event`, if anything.
pub fn message(event: &CallEvent) -> Option<(&'static str, String)> {
    match event {
        CallEvent::Reconnecting { attempt: 1 } => {
            Some(("Connection lost", "Reconnecting to the call…".to_string()))
        }
        CallEvent::Reconnected { kind } => Some((
            "Reconnected",
            match kind {
                AttemptKind::Resume => "The call is back.",
                // Everyone else saw us leave and come back.
                AttemptKind::Rejoin => "The call is back: you rejoined the room.",
            }
            .to_string(),
        )),
        CallEvent::Disconnected { reason } if *reason != DisconnectReason::ClientInitiated => {
            Some((
                "Call ended",
                crate::words::disconnect_reason(*reason).to_string(),
            ))
        }
        _ => None,
    }
}

pub fn on_event(app: &AppHandle, event: &CallEvent) {
    let Some((title, body)) = message(event) else {
        return;
    };
    let focused = app
        .get_webview_window("main")
        .and_then(|w| w.is_focused().ok())
        .unwrap_or(false);
    if focused {
        return; // the banner says it already
    }
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        eprintln!("rtcstack-desktop: notification not shown: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_news_worth_a_notification() {
        assert!(message(&CallEvent::Reconnecting { attempt: 1 }).is_some());
        assert!(message(&CallEvent::Reconnecting { attempt: 2 }).is_none());
        assert!(message(&CallEvent::Disconnected {
            reason: DisconnectReason::ClientInitiated
        })
        .is_none());
        let (_, body) = message(&CallEvent::Disconnected {
            reason: DisconnectReason::NetworkError,
        })
        .unwrap();
        assert!(body.contains("reconnect"), "{body}");
        // A rejoin says so: the others saw us leave and come back.
        let (title, body) = message(&CallEvent::Reconnected {
            kind: AttemptKind::Rejoin,
        })
        .unwrap();
        assert_eq!(
            (title, body.as_str()),
            ("Reconnected", "The call is back: you rejoined the room.")
        );
        let (_, body) = message(&CallEvent::Reconnected {
            kind: AttemptKind::Resume,
        })
        .unwrap();
        assert_eq!(body, "The call is back.");
    }
}
