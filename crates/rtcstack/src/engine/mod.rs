//! The LiveKit client: signalling (LiveKit's own `livekit-signaling`), a
//! publisher and a subscriber peer connection (dual-PC mode, which every
//! server supports), trickle ICE both ways, publishing our audio and
//! decoding everyone else's.
//!
//! One task owns the protocol: it reads the signal stream and the peer
//! connections' events and applies them in order. Callers act through the
//! shared handles (send a request, negotiate the publisher) and wait on
//! what the task reports back.

mod media;
mod peer;
pub(crate) mod reach;
pub(crate) mod stats;
mod sync;
mod timeline;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalEvent, SignalEvents, SignalOptions};
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use rtc::peer_connection::configuration::RTCOfferOptions;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodingParameters, RTCRtpEncodingParameters, RtpCodecKind,
};
use tokio::sync::{mpsc, oneshot, watch};
use webrtc::data_channel::RTCDataChannelInit;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{
    PeerConnection, RTCIceCandidateInit, RTCIceConnectionState, RTCPeerConnectionState,
    RTCSessionDescription,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

use crate::audio::io::{AudioInput, AudioSink, RemoteAudio};
use crate::error::ConnectError;
use crate::events::{CallEvent, DisconnectReason};
use crate::room::{Participant, RoomChange, RoomState};
use crate::supervisor::{AttemptError, LeaveAction};
use peer::{PcEvent, Target};

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

/// A joined session: the signal connection and both peer connections.
pub(crate) struct Session {
    shared: Arc<Shared>,
    /// The task that owns the protocol; stopped with the session.
    run: tokio::task::JoinHandle<()>,
}

/// Sessions are numbered so the driver can tell the current one's reports
/// from those of one it has already given up on.
static NEXT_SESSION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

struct Shared {
    id: u64,
    /// The connection the join response calls primary (LiveKit's clients
    /// call the room connected when it is).
    primary: Target,
    /// Events held back while a rejoin's session is not yet the call's
    /// (dropped with it if the attempt fails).
    held: Mutex<Option<Vec<CallEvent>>>,
    /// Set when the session is closed or dropped: it reports nothing more.
    stop: Arc<AtomicBool>,
    signal: SignalClient,
    publisher: Arc<dyn PeerConnection>,
    subscriber: Arc<dyn PeerConnection>,
    room: Mutex<RoomState>,
    /// AddTrack requests waiting for the server's TrackPublished, by cid.
    pending_tracks: Mutex<HashMap<String, oneshot::Sender<proto::TrackInfo>>>,
    /// Publisher answers waiting to be applied, by offer id.
    pending_answers: Mutex<HashMap<u32, oneshot::Sender<()>>>,
    next_offer_id: Mutex<u32>,
    publisher_state: watch::Sender<RTCPeerConnectionState>,
    subscriber_state: watch::Sender<RTCPeerConnectionState>,
    events: mpsc::UnboundedSender<CallEvent>,
    driver: mpsc::UnboundedSender<(u64, EngineSignal)>,
    sink: Arc<dyn AudioSink>,
    muted: Arc<AtomicBool>,
    /// Our tracks as the server accepted them (cid and info).
    published: Mutex<Vec<proto::TrackPublishedResponse>>,
    /// The id of the server's last subscriber offer (for SyncState).
    last_offer_id: Mutex<u32>,
}

impl Session {
    /// Joins: signal handshake, both peer connections, until media can flow.
    pub(crate) async fn connect(
        url: &str,
        token: &str,
        deadline: Duration,
        events: mpsc::UnboundedSender<CallEvent>,
        driver: mpsc::UnboundedSender<(u64, EngineSignal)>,
        sink: Arc<dyn AudioSink>,
        previous: Option<&RoomState>,
    ) -> Result<Self, ConnectError> {
        // Fails harmlessly when the application already chose a provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
        let mut options = SignalOptions::default();
        options.auto_subscribe = true;
        // Not LiveKit Cloud: no region fallback that would hide the real error.
        options.region_failover = false;
        options.single_peer_connection = false;
        options.connect_timeout = deadline;
        let (signal, join, signal_events) =
            tokio::time::timeout(deadline, SignalClient::connect(url, token, options, None))
                .await
                .map_err(|_| ConnectError::Timeout(deadline))?
                .map_err(|e| ConnectError::from_signal(e, deadline))?;
        timeline::mark(id, "join_response");

        let (pc_tx, pc_rx) = mpsc::unbounded_channel();
        let media = |e: webrtc::error::Error| ConnectError::Media(e.to_string());
        let publisher = peer::build(Target::Publisher, &join.ice_servers, pc_tx.clone())
            .await
            .map_err(media)?;
        let subscriber = peer::build(Target::Subscriber, &join.ice_servers, pc_tx)
            .await
            .map_err(media)?;
        // LiveKit's data channels live on the publisher; creating them also
        // gives the first publisher negotiation something to carry.
        publisher
            .create_data_channel(
                "_reliable",
                Some(RTCDataChannelInit {
                    ordered: true,
                    ..Default::default()
                }),
            )
            .await
            .map_err(media)?;
        publisher
            .create_data_channel(
                "_lossy",
                Some(RTCDataChannelInit {
                    ordered: false,
                    max_retransmits: Some(0),
                    ..Default::default()
                }),
            )
            .await
            .map_err(media)?;
        timeline::mark(id, "transports_built");

        let (room, changes) = match previous {
            Some(before) => RoomState::after_rejoin(before, &join),
            None => RoomState::from_join(&join),
        };
        let shared = Arc::new(Shared {
            id,
            primary: if join.subscriber_primary {
                Target::Subscriber
            } else {
                Target::Publisher
            },
            stop: Arc::new(AtomicBool::new(false)),
            // A rejoin's news waits until the call takes the session on.
            held: Mutex::new(previous.is_some().then(Vec::new)),
            signal,
            publisher,
            subscriber,
            room: Mutex::new(room),
            pending_tracks: Mutex::new(HashMap::new()),
            pending_answers: Mutex::new(HashMap::new()),
            next_offer_id: Mutex::new(0),
            publisher_state: watch::channel(RTCPeerConnectionState::New).0,
            subscriber_state: watch::channel(RTCPeerConnectionState::New).0,
            events,
            driver,
            sink,
            muted: Arc::new(AtomicBool::new(false)),
            published: Mutex::new(Vec::new()),
            last_offer_id: Mutex::new(0),
        });
        shared.emit_changes(changes);
        let run = tokio::spawn(run(Arc::clone(&shared), signal_events, pc_rx));
        // From here a join abandoned half-way (an aborted attempt) drops
        // the session, which closes it: no half-joined ghost lingers.
        let session = Session { shared, run };
        session.negotiate_publisher(deadline).await?;
        // Joined once the primary connection is up (the subscriber, when
        // the join response says so): what LiveKit's own clients wait for,
        // so remote media can flow when we say connected. (Waiting for
        // either connection could say so with only our publisher up.)
        let s = &session.shared;
        let primary = match s.primary {
            Target::Publisher => &s.publisher_state,
            Target::Subscriber => &s.subscriber_state,
        };
        tokio::time::timeout(deadline, until_connected(primary))
            .await
            .map_err(|_| ConnectError::Media(format!("no media connection within {deadline:?}")))?
            .map_err(|_| ConnectError::Closed)?;
        Ok(session)
    }

    /// Offers the publisher's current state and waits for the answer.
    async fn negotiate_publisher(&self, deadline: Duration) -> Result<(), ConnectError> {
        let offer = self
            .shared
            .publisher
            .create_offer(None)
            .await
            .map_err(|e| ConnectError::Media(e.to_string()))?;
        self.send_publisher_offer(offer, deadline).await
    }

    async fn send_publisher_offer(
        &self,
        offer: RTCSessionDescription,
        deadline: Duration,
    ) -> Result<(), ConnectError> {
        let s = &self.shared;
        s.publisher
            .set_local_description(offer.clone())
            .await
            .map_err(|e| ConnectError::Media(e.to_string()))?;
        let id = {
            let mut n = s.next_offer_id.lock().expect("offer id lock");
            *n += 1;
            *n
        };
        let (tx, rx) = oneshot::channel();
        s.pending_answers
            .lock()
            .expect("answers lock")
            .insert(id, tx);
        s.signal
            .send(Req::Offer(proto::SessionDescription {
                r#type: "offer".into(),
                sdp: offer.sdp,
                id,
                ..Default::default()
            }))
            .await;
        timeline::mark(s.id, "publisher_offer");
        tokio::time::timeout(deadline, rx)
            .await
            .map_err(|_| ConnectError::Media("the server did not answer our offer".into()))?
            .map_err(|_| ConnectError::Closed)
    }

    /// Resumes the session after the link was lost: signal `reconnect=1`,
    /// an ICE restart of the publisher (the server restarts the
    /// subscriber's), and both connections back up.
    pub(crate) async fn resume(&self, deadline: Duration) -> Result<(), AttemptError> {
        let s = &self.shared;
        // The signal client resumes with the token it joined with (or the
        // server's in-band one); once that has expired only a rejoin, with
        // the refreshed token, can work.
        let signal_token = s.signal.token();
        let expired = crate::token::inspect(&signal_token)
            .map_or(true, |t| t.expires_at <= std::time::SystemTime::now());
        if expired {
            return Err(AttemptError::ResumeRefused);
        }
        // Always a signal restart and an ICE restart, as LiveKit's own
        // clients resume, even when ICE seems to have healed by itself:
        // after a silent cut the old websocket can sit in TCP's
        // retransmission backoff for seconds past the restore (requests
        // going nowhere, then a ping timeout and a second outage). Checking
        // it with a ping first cost ~0.6 s more than the restart itself.
        let failed = |e: webrtc::error::Error| {
            tracing::debug!("resume: {e}");
            AttemptError::Retryable
        };
        timeline::mark(s.id, "resume_start");
        let response = tokio::time::timeout(
            deadline,
            s.signal
                .restart(proto::ReconnectReason::RrSignalDisconnected),
        )
        .await
        .map_err(|_| AttemptError::Retryable)?
        .map_err(attempt_error)?;
        timeline::mark(s.id, "signal_restarted");
        if !response.ice_servers.is_empty() {
            tracing::debug!("resume brought {} ICE servers", response.ice_servers.len());
        }
        // What we have, as the server should know it: the subscriber's last
        // offer and answer, our tracks (pass-through: sent before the
        // queued requests are released).
        s.signal.send(Req::SyncState(sync::state(s).await)).await;
        let offer = s
            .publisher
            .create_offer(Some(RTCOfferOptions { ice_restart: true }))
            .await
            .map_err(failed)?;
        timeline::mark(s.id, "resume_offer");
        self.send_publisher_offer(offer, deadline)
            .await
            .map_err(|_| AttemptError::Retryable)?;
        tokio::time::timeout(deadline, s.both_connected())
            .await
            .map_err(|_| AttemptError::Retryable)?
            .map_err(|_| AttemptError::Retryable)?;
        timeline::mark(s.id, "resume_connected");
        // Releases the requests queued while the link was down.
        s.signal.set_reconnected().await;
        Ok(())
    }

    /// Publishes a microphone track fed by `input`; returns its track sid.
    pub(crate) async fn publish_audio(
        &self,
        input: Box<dyn AudioInput>,
        deadline: Duration,
    ) -> Result<String, ConnectError> {
        let s = &self.shared;
        let media = |e: webrtc::error::Error| ConnectError::Media(e.to_string());
        let cid = format!("TR_local_{}", rand::random::<u32>());
        let (tx, rx) = oneshot::channel();
        s.pending_tracks
            .lock()
            .expect("tracks lock")
            .insert(cid.clone(), tx);
        let announced_muted = s.muted.load(Ordering::Relaxed);
        s.signal
            .send(Req::AddTrack(proto::AddTrackRequest {
                cid: cid.clone(),
                name: "microphone".into(),
                r#type: proto::TrackType::Audio as i32,
                source: proto::TrackSource::Microphone as i32,
                muted: announced_muted,
                ..Default::default()
            }))
            .await;
        let info = tokio::time::timeout(deadline, rx)
            .await
            .map_err(|_| ConnectError::Media("the server did not accept our track".into()))?
            .map_err(|_| ConnectError::Closed)?;

        let ssrc: u32 = rand::random();
        // LiveKit matches the SDP's msid track id against the AddTrack cid.
        let track = Arc::new(
            TrackLocalStaticSample::new(
                std::time::Instant::now(),
                MediaStreamTrack::new(
                    cid.clone(),
                    cid.clone(),
                    "microphone".into(),
                    RtpCodecKind::Audio,
                    vec![RTCRtpEncodingParameters {
                        rtp_coding_parameters: RTCRtpCodingParameters {
                            ssrc: Some(ssrc),
                            ..Default::default()
                        },
                        codec: peer::opus_codec(),
                        ..Default::default()
                    }],
                ),
            )
            .map_err(media)?,
        );
        let transceiver = s
            .publisher
            .add_transceiver_from_track(
                Arc::clone(&track) as Arc<dyn TrackLocal>,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Sendonly,
                    ..Default::default()
                }),
            )
            .await
            .map_err(media)?;
        self.negotiate_publisher(deadline).await?;
        let payload_type = match transceiver.sender().await {
            Ok(Some(sender)) => sender
                .get_parameters()
                .await
                .map_err(media)?
                .rtp_parameters
                .codecs
                .first()
                .map(|c| c.payload_type)
                .unwrap_or(111),
            _ => 111,
        };
        tokio::spawn(media::send_audio(
            track,
            ssrc,
            payload_type,
            input,
            Arc::clone(&s.muted),
            Arc::clone(&s.stop),
        ));
        let sid = info.sid.clone();
        s.published
            .lock()
            .expect("published lock")
            .push(proto::TrackPublishedResponse {
                cid,
                track: Some(info),
            });
        // A mute or unmute asked while the track was being set up found no
        // track to name; the server still has the state AddTrack carried.
        // Read again after each send: a change racing this one must not be
        // overtaken by the older value.
        let mut told = announced_muted;
        loop {
            let muted = s.muted.load(Ordering::Relaxed);
            if muted == told {
                break;
            }
            tracing::debug!(
                "track {sid}: telling the server muted={muted} (changed during publish)"
            );
            s.signal
                .send(Req::Mute(proto::MuteTrackRequest {
                    sid: sid.clone(),
                    muted,
                }))
                .await;
            told = muted;
        }
        Ok(sid)
    }

    /// Mutes or unmutes our microphone: silence is sent, and the server
    /// (and through it everyone) is told.
    pub(crate) async fn set_muted(&self, muted: bool) {
        let s = &self.shared;
        s.muted.store(muted, Ordering::Relaxed);
        let sids: Vec<String> = s
            .published
            .lock()
            .expect("published lock")
            .iter()
            .filter_map(|p| p.track.as_ref().map(|t| t.sid.clone()))
            .collect();
        if sids.is_empty() {
            // Nothing published yet: publish_audio tells the server.
            tracing::debug!("muted={muted} before any track is published");
        }
        for sid in sids {
            tracing::debug!("track {sid}: telling the server muted={muted}");
            s.signal
                .send(Req::Mute(proto::MuteTrackRequest { sid, muted }))
                .await;
        }
    }

    pub(crate) fn participants(&self) -> Vec<Participant> {
        let room = self.shared.room.lock().expect("room lock");
        room.participants().cloned().collect()
    }

    /// The room as this session knows it (to carry over a rejoin).
    pub(crate) fn room(&self) -> RoomState {
        self.shared.room.lock().expect("room lock").clone()
    }

    pub(crate) fn local_participant(&self) -> Option<Participant> {
        self.shared.room.lock().expect("room lock").local().cloned()
    }

    /// Simulates a fault: the server carries out most; a signal drop is ours.
    pub(crate) async fn simulate(&self, scenario: crate::Scenario) {
        let s = &self.shared;
        match scenario.to_proto() {
            Some(request) => s.signal.send(Req::Simulate(request)).await,
            None => {
                // As if the websocket died: closed under us, then noticed.
                s.signal.close().await;
                s.report(EngineSignal::LinkLost);
            }
        }
    }

    /// The call has taken this session on: what it held back goes out.
    pub(crate) fn adopt(&self) {
        let held = self.shared.held.lock().expect("held lock").take();
        for e in held.into_iter().flatten() {
            let _ = self.shared.events.send(e);
        }
    }

    /// The path media takes now on each connection (its selected pair).
    pub(crate) async fn media_paths(&self) -> stats::MediaPaths {
        stats::MediaPaths::of(&self.shared.publisher, &self.shared.subscriber).await
    }

    /// Which session this is (see [`NEXT_SESSION`]).
    pub(crate) fn id(&self) -> u64 {
        self.shared.id
    }

    /// Closes everything without a goodbye (the session is dead anyway).
    pub(crate) async fn close(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        self.shared.shut().await;
    }

    /// Leaves the room and closes everything.
    pub(crate) async fn leave(&self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        let s = &self.shared;
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
        self.run.abort();
        if self.shared.stop.swap(true, Ordering::Relaxed) {
            return; // closed already
        }
        let s = Arc::clone(&self.shared);
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            rt.spawn(async move { s.shut().await });
        }
    }
}

impl Shared {
    /// Closes the signal connection and both peer connections.
    async fn shut(&self) {
        self.signal.close().await;
        let _ = self.publisher.close().await;
        let _ = self.subscriber.close().await;
    }

    /// Resolves once both connections are connected.
    async fn both_connected(&self) -> Result<(), watch::error::RecvError> {
        let (a, b) = tokio::join!(
            until_connected(&self.publisher_state),
            until_connected(&self.subscriber_state)
        );
        a.and(b)
    }

    fn emit(&self, e: CallEvent) {
        if self.stop.load(Ordering::Relaxed) {
            return;
        }
        match self.held.lock().expect("held lock").as_mut() {
            Some(held) => held.push(e),
            None => {
                let _ = self.events.send(e);
            }
        }
    }

    /// Tells the call's driver, unless this session is over.
    fn report(&self, signal: EngineSignal) {
        if !self.stop.load(Ordering::Relaxed) {
            let _ = self.driver.send((self.id, signal));
        }
    }

    fn emit_changes(&self, changes: Vec<RoomChange>) {
        for c in changes {
            self.emit(match c {
                RoomChange::Joined(participant) => CallEvent::ParticipantJoined { participant },
                RoomChange::Left { identity } => CallEvent::ParticipantLeft { identity },
                RoomChange::Updated(participant) => CallEvent::ParticipantUpdated { participant },
                RoomChange::LocalUpdated(participant) => {
                    CallEvent::LocalParticipantUpdated { participant }
                }
            });
        }
    }

    fn pc(&self, target: Target) -> &Arc<dyn PeerConnection> {
        match target {
            Target::Publisher => &self.publisher,
            Target::Subscriber => &self.subscriber,
        }
    }

    /// The identity behind a participant sid.
    fn identity_of(&self, participant_sid: &str) -> String {
        let room = self.room.lock().expect("room lock");
        let identity = room
            .participants()
            .find(|p| p.sid == participant_sid)
            .map(|p| p.identity.clone());
        identity.unwrap_or_else(|| participant_sid.to_string())
    }
}

/// Candidates that arrive before their connection has a remote description.
#[derive(Default)]
struct Early {
    publisher: Vec<RTCIceCandidateInit>,
    subscriber: Vec<RTCIceCandidateInit>,
}

impl Early {
    fn of(&mut self, t: Target) -> &mut Vec<RTCIceCandidateInit> {
        match t {
            Target::Publisher => &mut self.publisher,
            Target::Subscriber => &mut self.subscriber,
        }
    }
}

async fn run(
    shared: Arc<Shared>,
    mut signal: SignalEvents,
    mut pcs: mpsc::UnboundedReceiver<PcEvent>,
) {
    let mut early = Early::default();
    loop {
        tokio::select! {
            ev = signal.recv() => match ev {
                Some(SignalEvent::Message(msg)) => on_signal(&shared, *msg, &mut early).await,
                Some(SignalEvent::Close(why)) => {
                    tracing::info!("signal connection closed: {why}");
                    shared.report(EngineSignal::LinkLost);
                }
                None => return,
            },
            ev = pcs.recv() => match ev {
                Some(ev) => on_pc(&shared, ev).await,
                None => return,
            },
        }
    }
}

async fn on_signal(shared: &Arc<Shared>, msg: Resp, early: &mut Early) {
    match msg {
        Resp::Offer(offer) => {
            // The server offers the subscriber connection; we answer.
            timeline::mark(shared.id, "subscriber_offer");
            *shared.last_offer_id.lock().expect("offer id lock") = offer.id;
            let pc = &shared.subscriber;
            let result = async {
                pc.set_remote_description(RTCSessionDescription::offer(offer.sdp)?)
                    .await?;
                for c in early.of(Target::Subscriber).drain(..) {
                    pc.add_ice_candidate(c).await?;
                }
                let answer = pc.create_answer(None).await?;
                pc.set_local_description(answer.clone()).await?;
                Ok::<_, webrtc::error::Error>(answer)
            }
            .await;
            match result {
                Ok(answer) => {
                    shared
                        .signal
                        .send(Req::Answer(proto::SessionDescription {
                            r#type: "answer".into(),
                            sdp: answer.sdp,
                            id: offer.id,
                            ..Default::default()
                        }))
                        .await;
                    timeline::mark(shared.id, "subscriber_answer");
                }
                Err(e) => tracing::warn!("subscriber negotiation failed: {e}"),
            }
        }
        Resp::Answer(answer) => {
            timeline::mark(shared.id, "publisher_answer");
            let pc = &shared.publisher;
            let applied = async {
                pc.set_remote_description(RTCSessionDescription::answer(answer.sdp)?)
                    .await?;
                for c in early.of(Target::Publisher).drain(..) {
                    pc.add_ice_candidate(c).await?;
                }
                Ok::<_, webrtc::error::Error>(())
            }
            .await;
            if let Err(e) = applied {
                tracing::warn!("publisher answer rejected: {e}");
            }
            if let Some(tx) = shared
                .pending_answers
                .lock()
                .expect("answers lock")
                .remove(&answer.id)
            {
                let _ = tx.send(());
            }
        }
        Resp::Trickle(t) => {
            let target = Target::from_proto(t.target);
            match serde_json::from_str::<RTCIceCandidateInit>(&t.candidate_init) {
                Ok(c) => {
                    let pc = shared.pc(target);
                    if pc.remote_description().await.is_some() {
                        if let Err(e) = pc.add_ice_candidate(c).await {
                            tracing::debug!("remote candidate refused: {e}");
                        }
                    } else {
                        early.of(target).push(c);
                    }
                }
                Err(e) => tracing::debug!("unreadable candidate from server: {e}"),
            }
        }
        Resp::Update(update) => {
            let changes = shared.room.lock().expect("room lock").apply_update(&update);
            shared.emit_changes(changes);
        }
        Resp::ConnectionQuality(q) => {
            let changes = shared.room.lock().expect("room lock").apply_quality(&q);
            shared.emit_changes(changes);
        }
        Resp::SpeakersChanged(s) => {
            let changes = shared.room.lock().expect("room lock").apply_speakers(&s);
            shared.emit_changes(changes);
        }
        Resp::TrackPublished(published) => {
            if let (Some(tx), Some(track)) = (
                shared
                    .pending_tracks
                    .lock()
                    .expect("tracks lock")
                    .remove(&published.cid),
                published.track,
            ) {
                let _ = tx.send(track);
            }
        }
        Resp::Leave(leave) => {
            use proto::leave_request::Action as A;
            let action = match A::try_from(leave.action) {
                Ok(A::Resume) => LeaveAction::Resume,
                Ok(A::Reconnect) => LeaveAction::Reconnect,
                _ => LeaveAction::Disconnect(DisconnectReason::from_proto(leave.reason)),
            };
            shared.report(EngineSignal::Leave(action));
        }
        Resp::RefreshToken(token) => {
            shared.report(EngineSignal::TokenRefreshed(token));
        }
        _ => {}
    }
}

async fn on_pc(shared: &Arc<Shared>, ev: PcEvent) {
    match ev {
        PcEvent::Candidate(target, init) => {
            if let Ok(json) = serde_json::to_string(&init) {
                shared
                    .signal
                    .send(Req::Trickle(proto::TrickleRequest {
                        candidate_init: json,
                        target: target.to_proto(),
                        ..Default::default()
                    }))
                    .await;
            }
        }
        PcEvent::State(target, state) => {
            tracing::debug!("{target:?} connection {state}");
            let tx = match target {
                Target::Publisher => &shared.publisher_state,
                Target::Subscriber => &shared.subscriber_state,
            };
            let was = tx.send_replace(state);
            if state == RTCPeerConnectionState::Connected && was != state {
                timeline::mark(
                    shared.id,
                    match target {
                        Target::Publisher => "publisher_connected",
                        Target::Subscriber => "subscriber_connected",
                    },
                );
                if target == shared.primary {
                    timeline::mark(shared.id, "primary_connected");
                }
            }
            // A connection that was up and is now down: the link is lost.
            let down = matches!(
                state,
                RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed
            );
            if down && was == RTCPeerConnectionState::Connected {
                shared.report(EngineSignal::LinkLost);
            }
        }
        PcEvent::Ice(target, state) => {
            if state == RTCIceConnectionState::Connected {
                timeline::mark(
                    shared.id,
                    match target {
                        Target::Publisher => "publisher_ice_connected",
                        Target::Subscriber => "subscriber_ice_connected",
                    },
                );
            }
        }
        PcEvent::Track(track) => {
            timeline::mark(shared.id, "track");
            if track.kind().await != RtpCodecKind::Audio {
                return;
            }
            // LiveKit's msid stream id is "<participant sid>|<track sid>".
            let stream = track.stream_id().await;
            let (participant_sid, track_sid) = match stream.split_once('|') {
                Some((p, t)) => (p.to_string(), t.to_string()),
                None => (stream.clone(), track.track_id().await),
            };
            let identity = shared.identity_of(&participant_sid);
            shared.emit(CallEvent::TrackSubscribed {
                identity: identity.clone(),
                track_sid: track_sid.clone(),
            });
            tokio::spawn(media::receive_audio(
                track,
                RemoteAudio {
                    identity,
                    track_sid,
                },
                Arc::clone(&shared.sink),
                shared.id,
            ));
        }
    }
}

/// Resolves once the connection watched by `tx` is connected.
async fn until_connected(
    tx: &watch::Sender<RTCPeerConnectionState>,
) -> Result<(), watch::error::RecvError> {
    let mut rx = tx.subscribe();
    rx.wait_for(|st| *st == RTCPeerConnectionState::Connected)
        .await
        .map(|_| ())
}

/// What a failed resume means for the supervisor.
fn attempt_error(e: livekit_signaling::SignalError) -> AttemptError {
    use livekit_signaling::SignalError as E;
    match e {
        E::Client(status, message) if matches!(status.as_u16(), 401 | 403) => {
            if message.to_ascii_lowercase().contains("expired") {
                AttemptError::TokenExpired
            } else {
                AttemptError::Unauthorized
            }
        }
        // The server no longer has our session (or told us to rejoin).
        E::LeaveRequest { .. } | E::Client(..) => AttemptError::ResumeRefused,
        _ => AttemptError::Retryable,
    }
}
