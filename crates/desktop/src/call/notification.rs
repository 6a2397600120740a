//! Which of the call's events deserve a desktop notification (for a user
//! looking at another window): the connection was lost, it is back, the
//! call ended by an error. The shell shows them, unless its window is in
//! front.

use rtcstack::events::AttemptKind;
use rtcstack::{CallEvent, DisconnectReason};

use super::end_message::end_message;
use crate::i18n::Sentence;

/// A notification's title and body, said in the app's language when shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub title: Sentence,
    pub body: Sentence,
}

/// What to tell the user about `event`, if anything.
pub fn for_event(event: &CallEvent) -> Option<Notification> {
    let (title, body) = match event {
        CallEvent::Reconnecting { attempt: 1 } => (
            Sentence::new("notify.lost"),
            Sentence::new("notify.reconnecting"),
        ),
        CallEvent::Reconnected { kind } => (
            Sentence::new("notify.reconnected"),
            Sentence::new(match kind {
                AttemptKind::Resume => "notify.back",
                // Everyone else saw us leave and come back.
                AttemptKind::Rejoin => "notify.backRejoined",
            }),
        ),
        CallEvent::Disconnected { reason } if *reason != DisconnectReason::ClientInitiated => {
            (Sentence::new("notify.ended"), end_message(*reason))
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
        assert_eq!(n.body.say("en"), "Could not reconnect. Please rejoin.");
        assert_eq!(
            n.body.say("de"),
            "Die Verbindung konnte nicht wiederhergestellt werden. Bitte treten Sie erneut bei."
        );
        // A rejoin says so: the others saw us leave and come back.
        let n = for_event(&CallEvent::Reconnected {
            kind: AttemptKind::Rejoin,
        })
        .unwrap();
        assert_eq!(
            (n.title.say("en"), n.body.say("en")),
            (
                "Reconnected".into(),
                "The call is back: you rejoined the room.".into()
            )
        );
        let n = for_event(&CallEvent::Reconnected {
            kind: AttemptKind::Resume,
        })
        .unwrap();
        assert_eq!(n.body.say("en"), "The call is back.");
    }
}
