//! Which of the call's events deserve a desktop notification (for a user
//! looking at another window): the connection was lost, it is back, the
//! call ended by an error. The shell shows them, unless its window is in
//! front.

use rtcstack::events::AttemptKind;
use rtcstack::{CallEvent, DisconnectReason};

use super::end_message::end_message;

/// A notification's title and body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: &'static str,
    pub body: &'static str,
}

/// What to tell the user about `event`, if anything.
pub fn for_event(event: &CallEvent) -> Option<Notification> {
    let (title, body) = match event {
        CallEvent::Reconnecting { attempt: 1 } => ("Connection lost", "Reconnecting to the call…"),
        CallEvent::Reconnected { kind } => (
            "Reconnected",
            match kind {
                AttemptKind::Resume => "The call is back.",
                // Everyone else saw us leave and come back.
                AttemptKind::Rejoin => "The call is back: you rejoined the room.",
            },
        ),
        CallEvent::Disconnected { reason } if *reason != DisconnectReason::ClientInitiated => {
            ("Call ended", end_message(*reason))
        }
        _ => return None,
    };
    Some(Notification { title, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_news_worth_a_notification() {
        assert!(for_event(&CallEvent::Reconnecting { attempt: 1 }).is_some());
        assert!(for_event(&CallEvent::Reconnecting { attempt: 2 }).is_none());
        assert!(for_event(&CallEvent::Disconnected {
            reason: DisconnectReason::ClientInitiated
        })
        .is_none());
        let n = for_event(&CallEvent::Disconnected {
            reason: DisconnectReason::NetworkError,
        })
        .unwrap();
        assert!(n.body.contains("reconnect"), "{n:?}");
        // A rejoin says so: the others saw us leave and come back.
        let n = for_event(&CallEvent::Reconnected {
            kind: AttemptKind::Rejoin,
        })
        .unwrap();
        assert_eq!(
            (n.title, n.body),
            ("Reconnected", "The call is back: you rejoined the room.")
        );
        let n = for_event(&CallEvent::Reconnected {
            kind: AttemptKind::Resume,
        })
        .unwrap();
        assert_eq!(n.body, "The call is back.");
    }
}
