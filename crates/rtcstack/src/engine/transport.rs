//! The session's peer connections. In single-peer-connection mode (LiveKit's
//! `/rtc/v1`) one connection carries our media both ways and we always
//! offer; against a server without it (dual-PC mode, `/rtc`) the server
//! offers a second, subscriber connection for everyone else's media.

use std::sync::Arc;

use tokio::sync::watch;
use webrtc::peer_connection::{PeerConnection, RTCPeerConnectionState};

use super::far_reports::FarReports;
use super::peer::Target;
use super::send_video::Estimate;
use super::sent_tracks::SentTracks;
use crate::wire::TurnStreams;

/// One connection, with the state its events last reported.
pub(crate) struct Transport {
    pub(crate) pc: Arc<dyn PeerConnection>,
    pub(crate) state: watch::Sender<RTCPeerConnectionState>,
    /// What the transport-wide estimate says this connection's video can
    /// take, and the videos that share it.
    pub(crate) estimate: Estimate,
    /// The far end's reports on the streams this connection sends.
    pub(crate) reports: FarReports,
    /// Which track each stream it sends belongs to.
    pub(crate) sent: SentTracks,
}

impl Transport {
    pub(crate) fn new((pc, estimate, reports): super::peer::Built) -> Self {
        Self {
            pc,
            state: watch::channel(RTCPeerConnectionState::New).0,
            estimate: Estimate::new(estimate),
            reports,
            sent: SentTracks::default(),
        }
    }

    /// Resolves once the connection is connected (ICE and DTLS).
    pub(crate) async fn until_connected(&self) -> Result<(), watch::error::RecvError> {
        let mut rx = self.state.subscribe();
        rx.wait_for(|st| *st == RTCPeerConnectionState::Connected)
            .await
            .map(|_| ())
    }
}

/// The publisher and, in dual-PC mode, the subscriber.
pub(crate) struct Transports {
    pub(crate) publisher: Transport,
    /// `None` in single-PC mode.
    pub(crate) subscriber: Option<Transport>,
    /// The connection the join response calls primary: LiveKit's clients
    /// call the room connected when it is (remote media flows on it).
    pub(crate) primary: Target,
    /// The TURN servers' carriers over TCP and TLS, living as long as the
    /// connections that use them.
    pub(crate) relays: TurnStreams,
}

impl Transports {
    /// The connection a server message or a connection event is about. In
    /// single-PC mode everything is the publisher's.
    pub(crate) fn get(&self, target: Target) -> &Transport {
        match (target, &self.subscriber) {
            (Target::Subscriber, Some(subscriber)) => subscriber,
            _ => &self.publisher,
        }
    }

    pub(crate) fn single(&self) -> bool {
        self.subscriber.is_none()
    }

    /// Resolves once the primary connection is connected.
    pub(crate) async fn primary_connected(&self) -> Result<(), watch::error::RecvError> {
        self.get(self.primary).until_connected().await
    }

    /// Resolves once every connection is connected.
    pub(crate) async fn all_connected(&self) -> Result<(), watch::error::RecvError> {
        match &self.subscriber {
            None => self.publisher.until_connected().await,
            Some(subscriber) => {
                let (a, b) = tokio::join!(
                    self.publisher.until_connected(),
                    subscriber.until_connected()
                );
                a.and(b)
            }
        }
    }

    pub(crate) async fn close(&self) {
        let _ = self.publisher.pc.close().await;
        if let Some(subscriber) = &self.subscriber {
            let _ = subscriber.pc.close().await;
        }
    }
}
