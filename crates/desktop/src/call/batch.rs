//! The call's news in batches for the view. In a big room who is there,
//! who speaks and how well everyone is connected change many times a
//! second; each change drawn alone redrew the whole list as often. Such
//! news is gathered for up to [`ROSTER_WINDOW`] and shown at once; any other
//! news (the connection's state, the token, our own mute changing) is shown
//! alone and at once, so no state the banner must show is merged away.

use std::time::Duration;

use rtcstack::CallEvent;
use tokio::sync::mpsc::UnboundedReceiver;

/// How long roster news may wait for more: well under what a person notices
/// (a mute confirmed 50 ms later still looks immediate).
pub(super) const ROSTER_WINDOW: Duration = Duration::from_millis(50);

/// News about the people in the room, us included, but not about the call;
/// and not a change of our own mute (confirmed by the server: the button
/// shows it at once).
fn is_roster(event: &CallEvent, muted: &mut Option<bool>) -> bool {
    match event {
        CallEvent::ParticipantJoined { .. }
        | CallEvent::ParticipantUpdated { .. }
        | CallEvent::ParticipantLeft { .. }
        | CallEvent::TrackSubscribed { .. } => true,
        CallEvent::LocalParticipantUpdated { participant } => {
            let now = super::view::microphone_muted(participant);
            muted.replace(now) == Some(now)
        }
        _ => false,
    }
}

#[derive(Default)]
pub(super) struct Batches {
    /// The event that ended the last batch, first in the next.
    held: Option<CallEvent>,
    /// Our mute as last told.
    muted: Option<bool>,
}

impl Batches {
    /// The next batch, in order; `None` once the call's events end.
    pub(super) async fn next(
        &mut self,
        events: &mut UnboundedReceiver<CallEvent>,
    ) -> Option<Vec<CallEvent>> {
        let (first, roster) = match self.held.take() {
            // Judged when it ended the last batch.
            Some(e) => (e, false),
            None => {
                let e = events.recv().await?;
                let roster = is_roster(&e, &mut self.muted);
                (e, roster)
            }
        };
        if !roster {
            return Some(vec![first]);
        }
        let mut batch = vec![first];
        let until = tokio::time::Instant::now() + ROSTER_WINDOW;
        while let Ok(Some(e)) = tokio::time::timeout_at(until, events.recv()).await {
            if !is_roster(&e, &mut self.muted) {
                self.held = Some(e);
                break;
            }
            batch.push(e);
        }
        Some(batch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcstack::ConnectionState;
    use tokio::sync::mpsc::unbounded_channel;

    /// Roster news (a leave is the simplest to make).
    fn left(identity: &str) -> CallEvent {
        CallEvent::ParticipantLeft {
            identity: identity.into(),
        }
    }

    fn state(state: ConnectionState) -> CallEvent {
        CallEvent::ConnectionStateChanged { state }
    }

    #[tokio::test(start_paused = true)]
    async fn roster_news_within_the_window_is_one_batch() {
        let (tx, mut rx) = unbounded_channel();
        let mut batches = Batches::default();
        tx.send(left("a")).unwrap();
        let sender = tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            tx.send(left("b")).unwrap();
            tokio::time::sleep(Duration::from_millis(40)).await;
            // 60 ms after the first: the next batch.
            tx.send(left("c")).unwrap();
        });
        let started = tokio::time::Instant::now();
        assert_eq!(batches.next(&mut rx).await.unwrap().len(), 2);
        assert_eq!(started.elapsed(), ROSTER_WINDOW);
        assert_eq!(batches.next(&mut rx).await.unwrap(), vec![left("c")]);
        sender.await.unwrap();
        assert_eq!(batches.next(&mut rx).await, None);
    }

    /// Our own news, as the SDK makes it from the server's words.
    fn us(muted: bool) -> CallEvent {
        use livekit_protocol as proto;
        let info = proto::ParticipantInfo {
            sid: "PA_us".into(),
            identity: "us".into(),
            tracks: vec![proto::TrackInfo {
                sid: "TR_mic".into(),
                r#type: proto::TrackType::Audio as i32,
                muted,
                ..Default::default()
            }],
            ..Default::default()
        };
        let (room, _) = rtcstack::room::RoomState::from_join(&proto::JoinResponse {
            participant: Some(info),
            ..Default::default()
        });
        CallEvent::LocalParticipantUpdated {
            participant: room.local().cloned().expect("us"),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn our_news_is_batched_unless_our_mute_changed() {
        let (tx, mut rx) = unbounded_channel();
        let mut batches = Batches::default();
        // The first word of our mute, then speaking news (same mute), then
        // the mute changed.
        for e in [us(false), left("a"), us(false), us(true), left("b")] {
            tx.send(e).unwrap();
        }
        drop(tx);
        assert_eq!(batches.next(&mut rx).await.unwrap(), vec![us(false)]);
        assert_eq!(
            batches.next(&mut rx).await.unwrap(),
            vec![left("a"), us(false)]
        );
        assert_eq!(batches.next(&mut rx).await.unwrap(), vec![us(true)]);
        assert_eq!(batches.next(&mut rx).await.unwrap(), vec![left("b")]);
        assert_eq!(batches.next(&mut rx).await, None);
    }

    #[tokio::test(start_paused = true)]
    async fn other_news_ends_a_batch_and_goes_alone_at_once() {
        let (tx, mut rx) = unbounded_channel();
        let mut batches = Batches::default();
        for e in [
            left("a"),
            left("b"),
            state(ConnectionState::Reconnecting),
            CallEvent::Reconnecting { attempt: 1 },
            left("c"),
        ] {
            tx.send(e).unwrap();
        }
        drop(tx);
        let started = tokio::time::Instant::now();
        assert_eq!(batches.next(&mut rx).await.unwrap().len(), 2);
        assert_eq!(
            batches.next(&mut rx).await.unwrap(),
            vec![state(ConnectionState::Reconnecting)]
        );
        assert_eq!(
            batches.next(&mut rx).await.unwrap(),
            vec![CallEvent::Reconnecting { attempt: 1 }]
        );
        // No wait for any of it: each batch ended on the next event.
        assert_eq!(started.elapsed(), Duration::ZERO);
        assert_eq!(batches.next(&mut rx).await.unwrap(), vec![left("c")]);
        assert_eq!(batches.next(&mut rx).await, None);
    }
}
