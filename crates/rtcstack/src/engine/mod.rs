//! The LiveKit client: signalling (LiveKit's own `livekit-signaling`), the
//! peer connections (one in LiveKit's single-peer-connection mode, two
//! against a server without it), trickle ICE both ways, publishing our audio
//! and decoding everyone else's.
//!
//! In parts: `join` builds a session, `resume` restarts its signal and ICE,
//! `publish` puts our track on it and mutes it, `negotiation` sequences our
//! offers, `protocol` is the one task that reads the signal stream and the
//! connections' events and applies them in order, `transport` holds the
//! connections. Callers act through [`Session`] and wait on what the
//! protocol task reports back.

mod congestion;
mod downlink;
mod dynacast;
mod far_reports;
mod join;
pub(crate) use join::Setup;
mod media;
mod negotiation;
mod numbering;
mod peer;
mod protocol;
mod publish;
mod publish_video;
mod rate_control;
pub(crate) mod reach;
mod receive_video;
mod resume;
mod send_video;
mod sender_feedback;
mod sending;
mod sent_tracks;
mod standing_queue;
pub(crate) mod stats;
mod sync;
mod timeline;
mod transport;
mod trendline;
mod voice_loss;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use livekit_protocol as proto;
use livekit_signaling::SignalClient;
use proto::signal_request::Message as Req;
use tokio::sync::{mpsc, oneshot, watch};

use crate::audio::io::AudioSink;
use crate::events::CallEvent;
use crate::room::{Participant, RoomState};
use crate::supervisor::LeaveAction;
use negotiation::Negotiation;
use transport::Transports;

/// What the engine tells the call's driver (the supervisor's inputs).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum EngineSignal {
    /// The signal connection closed, or a peer connection failed.
    LinkLost,
    /// The server asked us to leave, resume or reconnect.
    Leave(LeaveAction),
    /// The server sent a refreshed token (in-band).
    TokenRefreshed(String),
}

/// A joined session: the signal connection and the peer connections.
pub(crate) struct Session {
    core: Arc<Core>,
    /// The protocol task; stopped with the session.
    protocol: tokio::task::JoinHandle<()>,
    /// What we ask of it.
    requests: mpsc::UnboundedSender<protocol::Request>,
    /// The room as it publishes it.
    room: watch::Receiver<RoomState>,
}

/// Sessions are numbered so the driver can tell the current one's reports
/// from those of one it has already given up on.
static NEXT_SESSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// What a session's handle and its protocol task share: the connections
/// and where reports go. (The protocol's own state is the task's.)
struct Core {
    id: u64,
    /// Set when the session is closed or dropped: it reports nothing more.
    stop: Arc<AtomicBool>,
    signal: SignalClient,
    transports: Transports,
    negotiation: Negotiation,
    events: mpsc::UnboundedSender<CallEvent>,
    driver: mpsc::UnboundedSender<(u64, EngineSignal)>,
    sink: Arc<dyn AudioSink>,
    video_sink: Arc<dyn crate::video::io::VideoSink>,
    views: Arc<crate::video::view::Views>,
    /// The codec our videos are sent in.
    video_codec: crate::video::encode::SendCodec,
    muted: Arc<AtomicBool>,
    /// Our tracks as the server accepted them (cid and info).
    published: Mutex<Vec<proto::TrackPublishedResponse>>,
    /// Our videos being sent, to stop one.
    sending_videos: Mutex<Vec<publish_video::SendingVideo>>,
    /// The server's last word on which layers of each of our videos it
    /// forwards (by track sid): one may come before its video is sending.
    subscribed: Mutex<std::collections::HashMap<String, proto::SubscribedQualityUpdate>>,
    /// The sources whose videos are muted: published, nothing sent.
    videos_muted: Mutex<crate::video::io::VideosMuted>,
    /// How each received track plays.
    playout: stats::PlayoutBook,
    /// Each received video's picture size.
    pictures: stats::PictureBook,
    /// What our downlink carries, from the video we receive (told to the
    /// server as REMB).
    downlink: Arc<Mutex<downlink::Downlink>>,
}

impl Session {
    pub(crate) fn participants(&self) -> Vec<Participant> {
        self.room.borrow().participants().cloned().collect()
    }

    /// The room as this session knows it (to carry over a rejoin).
    pub(crate) fn room(&self) -> RoomState {
        self.room.borrow().clone()
    }

    pub(crate) fn local_participant(&self) -> Option<Participant> {
        self.room.borrow().local().cloned()
    }

    /// Simulates a fault: the server carries out most; a signal drop is ours.
    pub(crate) async fn simulate(&self, scenario: crate::Scenario) {
        let s = &self.core;
        match scenario.to_proto() {
            Some(request) => s.signal.send(Req::Simulate(request)).await,
            None => {
                // As if the websocket died: closed under us, then noticed.
                s.signal.close().await;
                s.report(EngineSignal::LinkLost);
            }
        }
    }

    /// The call has taken this session on: what it held back goes out
    /// (before this returns).
    /// Tells the server how a remote video is shown (its layer, or paused).
    pub(crate) async fn show_video(&self, track_sid: &str, view: crate::video::VideoView) {
        tracing::debug!("video {track_sid}: {view:?}");
        self.core
            .signal
            .send(Req::TrackSetting(view.request(track_sid)))
            .await;
    }

    pub(crate) async fn adopt(&self) {
        let (done, sent) = oneshot::channel();
        if self.requests.send(protocol::Request::Adopt(done)).is_ok() {
            let _ = sent.await;
        }
    }

    /// The path media takes now on each connection (its selected pair).
    pub(crate) async fn media_paths(&self) -> stats::MediaPaths {
        stats::MediaPaths::of(&self.core.transports).await
    }

    /// Both connections' statistics now.
    pub(crate) async fn counters(&self) -> stats::CallCounters {
        stats::CallCounters::of(
            &self.core.transports,
            self.core.id,
            &self.core.playout,
            &self.core.pictures,
        )
        .await
    }

    /// Which session this is (see [`NEXT_SESSION`]).
    pub(crate) fn id(&self) -> u64 {
        self.core.id
    }

    /// Closes everything without a goodbye (the session is dead anyway).
    pub(crate) async fn close(&self) {
        self.core.stop.store(true, Ordering::Relaxed);
        self.core.shut().await;
    }

    /// Leaves the room and closes everything.
    pub(crate) async fn leave(&self) {
        self.core.stop.store(true, Ordering::Relaxed);
        let s = &self.core;
        s.signal
            .send(Req::Leave(proto::LeaveRequest {
                reason: proto::DisconnectReason::ClientInitiated as i32,
                ..Default::default()
            }))
            .await;
        s.shut().await;
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.protocol.abort();
        if self.core.stop.swap(true, Ordering::Relaxed) {
            return; // closed already
        }
        let s = Arc::clone(&self.core);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { s.shut().await });
        }
    }
}

impl Core {
    /// Closes the signal connection and the peer connections.
    async fn shut(&self) {
        self.signal.close().await;
        self.transports.close().await;
    }

    /// Tells the call's driver, unless this session is over.
    fn report(&self, signal: EngineSignal) {
        if !self.stop.load(Ordering::Relaxed) {
            let _ = self.driver.send((self.id, signal));
        }
    }
}
