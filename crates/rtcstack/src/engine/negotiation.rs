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
    /// The exchange waiting for the server's answer.
    waiting: Mutex<Option<oneshot::Sender<()>>>,
}

/// One exchange in progress: no other offer is made until it is dropped.
pub(crate) struct Turn<'a> {
    last_id: MutexGuard<'a, u32>,
    waiting: &'a Mutex<Option<oneshot::Sender<()>>>,
}

impl Negotiation {
    /// Waits until no other exchange is in progress.
    pub(crate) async fn turn(&self) -> Turn<'_> {
        Turn {
            last_id: self.turn.lock().await,
            waiting: &self.waiting,
        }
    }

    /// The server answered (and the answer is applied): the exchange
    /// waiting for it may go on. Answers come in the order of our offers,
    /// and only one offer is out at a time, so the answer is that one's
    /// (older servers leave the id at 0).
    pub(crate) fn answered(&self) {
        if let Some(tx) = self.waiting.lock().expect("waiting lock").take() {
            let _ = tx.send(());
        }
    }
}

impl Turn<'_> {
    /// Expects an answer to an offer the caller sent itself (the join's,
    /// which rides in the join request with id 0).
    pub(crate) fn expect_answer(&mut self) -> Answer {
        let (tx, rx) = oneshot::channel();
        *self.waiting.lock().expect("waiting lock") = Some(tx);
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
