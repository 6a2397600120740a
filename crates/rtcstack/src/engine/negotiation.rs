//! Our offers on the publisher connection, one exchange at a time: a second
//! offer made before the first's answer is applied would be refused (the
//! connection is still in have-local-offer). Publishing a track, the
//! server's request for more media sections and a resume's ICE restart all
//! queue here.

use std::sync::Mutex;
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::SignalClient;
use proto::signal_request::Message as Req;
use rtc::peer_connection::configuration::RTCOfferOptions;
use tokio::sync::{oneshot, MutexGuard};
use webrtc::peer_connection::{PeerConnection, RTCSessionDescription};

use crate::error::ConnectError;

#[derive(Default)]
pub(crate) struct Negotiation {
    /// Held through one offer and its answer; the id of our last offer.
    turn: tokio::sync::Mutex<u32>,
    /// The exchange waiting for the server's answer: its offer id, and
    /// whom to tell.
    waiting: Mutex<Option<(u32, oneshot::Sender<()>)>>,
}

/// One exchange in progress: no other offer is made until it is dropped.
pub(crate) struct Turn<'a> {
    last_id: MutexGuard<'a, u32>,
    waiting: &'a Mutex<Option<(u32, oneshot::Sender<()>)>>,
}

impl Negotiation {
    /// Waits until no other exchange is in progress.
    pub(crate) async fn turn(&self) -> Turn<'_> {
        Turn {
            last_id: self.turn.lock().await,
            waiting: &self.waiting,
        }
    }

    /// Whether an answer with `id` is for the offer out now (servers echo
    /// our offer's id; an answer to an offer a resume gave up on is not).
    /// Id 0 is the join's offer, or a server that does not echo ids.
    pub(crate) fn expects(&self, id: u32) -> bool {
        let waiting = self.waiting.lock().expect("waiting lock");
        id == 0 || waiting.as_ref().is_some_and(|(out, _)| *out == id)
    }

    /// The server answered (and the answer is applied): the exchange
    /// waiting for it may go on. Only one offer is out at a time.
    pub(crate) fn answered(&self) {
        if let Some((_, tx)) = self.waiting.lock().expect("waiting lock").take() {
            let _ = tx.send(());
        }
    }

    /// A resume is about to offer an ICE restart: an exchange still waiting
    /// (its offer went out on the link that was lost, and may never be
    /// answered) stops waiting, so the restart is not held behind it. The
    /// restart's offer carries that one's changes too (a track, room for
    /// more), as every offer carries the connection's whole state.
    pub(crate) fn supersede(&self) {
        if let Some((id, tx)) = self.waiting.lock().expect("waiting lock").take() {
            tracing::debug!("offer {id}: superseded by a resume's offer");
            let _ = tx.send(());
        }
    }
}

impl Turn<'_> {
    /// Expects an answer to an offer the caller sent itself (the join's,
    /// which rides in the join request with id 0).
    pub(crate) fn expect_answer(&mut self) -> Answer {
        let (tx, rx) = oneshot::channel();
        *self.waiting.lock().expect("waiting lock") = Some((*self.last_id, tx));
        Answer(rx)
    }

    /// Offers the connection's current state (with an ICE restart when
    /// `restart`) and returns what to wait on for the answer.
    pub(crate) async fn offer(
        &mut self,
        pc: &dyn PeerConnection,
        signal: &SignalClient,
        restart: bool,
    ) -> Result<Answer, ConnectError> {
        let media = |e: webrtc::error::Error| ConnectError::Media(e.to_string());
        let options = restart.then_some(RTCOfferOptions { ice_restart: true });
        let offer: RTCSessionDescription = pc.create_offer(options).await.map_err(media)?;
        pc.set_local_description(offer.clone())
            .await
            .map_err(media)?;
        *self.last_id += 1;
        let answer = self.expect_answer();
        signal
            .send(Req::Offer(proto::SessionDescription {
                r#type: "offer".into(),
                sdp: offer.sdp,
                id: *self.last_id,
                ..Default::default()
            }))
            .await;
        Ok(answer)
    }
}

/// The server's answer to our offer, once applied.
pub(crate) struct Answer(oneshot::Receiver<()>);

impl Answer {
    pub(crate) async fn applied(self, deadline: Duration) -> Result<(), ConnectError> {
        tokio::time::timeout(deadline, self.0)
            .await
            .map_err(|_| ConnectError::Media("the server did not answer our offer".into()))?
            .map_err(|_| ConnectError::Closed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_answer_is_taken_only_for_the_offer_out_and_a_resume_supersedes_a_stuck_one() {
        let n: &'static Negotiation = Box::leak(Box::default());
        let mut turn = n.turn().await;
        *turn.last_id = 4;
        let stuck = turn.expect_answer();
        assert!(n.expects(4));
        assert!(!n.expects(3), "an answer to an older offer");
        assert!(n.expects(0), "the join's offer, or a server without ids");
        // Nobody answers (the link is gone): the exchange would wait its
        // deadline, holding the turn.
        let waiting = tokio::spawn(async move {
            let result = stuck.applied(Duration::from_secs(10)).await;
            drop(turn);
            result
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!waiting.is_finished());
        n.supersede();
        let result = tokio::time::timeout(Duration::from_millis(1), waiting)
            .await
            .expect("released at once")
            .unwrap();
        assert_eq!(result, Ok(()));
        // The turn is free for the resume, and nothing is waiting now.
        let _turn = tokio::time::timeout(Duration::from_millis(1), n.turn())
            .await
            .expect("the turn is free");
        assert!(!n.expects(4));
    }
}
