//! The protocol task: one per session, it reads the signal stream, the peer
//! connections' events and the session's requests, and applies them in
//! order. It owns the protocol's state (the room, tracks waiting for the
//! server, the server's last offer id, events held back for a rejoin): no
//! one else touches it, the room is published through a watch. It never
//! waits on the server itself (work that would, such as a renegotiation the
//! server asked for, runs beside it), so an answer is never stuck behind the
//! exchange waiting for it.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::{SignalEvent, SignalEvents};
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::{mpsc, oneshot, watch};
use webrtc::peer_connection::{
    RTCIceCandidateInit, RTCIceConnectionState, RTCPeerConnectionState, RTCSessionDescription,
};

use super::peer::{self, PcEvent, Target};
use super::{media, timeline, Core, EngineSignal};
use crate::audio::io::RemoteAudio;
use crate::events::{CallEvent, DisconnectReason};
use crate::room::{RoomChange, RoomState};
use crate::supervisor::LeaveAction;
use crate::video::io::RemoteVideo;

/// How long a renegotiation the server asked for may take.
const RENEGOTIATION_DEADLINE: Duration = Duration::from_secs(10);

/// Candidates that arrive before their connection has a remote description.
#[derive(Default)]
struct Early {
    publisher: Vec<RTCIceCandidateInit>,
    subscriber: Vec<RTCIceCandidateInit>,
}

impl Early {
    fn of(&mut self, core: &Core, t: Target) -> &mut Vec<RTCIceCandidateInit> {
        match t {
            Target::Subscriber if !core.transports.single() => &mut self.subscriber,
            _ => &mut self.publisher,
        }
    }
}

/// What the session asks of its protocol task.
pub(super) enum Request {
    /// Hand the server's TrackPublished for `cid` to `reply` (asked before
    /// the AddTrack goes out).
    AwaitTrack {
        cid: String,
        reply: oneshot::Sender<proto::TrackInfo>,
    },
    /// The call has taken the session on: what was held back goes out
    /// (answered once it has).
    Adopt(oneshot::Sender<()>),
    /// The id of the server's last subscriber offer (dual-PC SyncState).
    ServerOfferId(oneshot::Sender<u32>),
}

/// The protocol task's own state.
pub(super) struct Protocol {
    core: Arc<Core>,
    early: Early,
    room: watch::Sender<RoomState>,
    /// AddTrack requests waiting for the server's TrackPublished, by cid.
    pending_tracks: HashMap<String, oneshot::Sender<proto::TrackInfo>>,
    server_offer_id: u32,
    /// Events held back while a rejoin's session is not yet the call's
    /// (dropped with it if the attempt fails).
    held: Option<Vec<CallEvent>>,
}

impl Protocol {
    /// The task for a session that starts with `room`; a rejoin's
    /// (`hold`) keeps its news until the call adopts it.
    pub(super) fn new(core: Arc<Core>, room: watch::Sender<RoomState>, hold: bool) -> Self {
        Protocol {
            core,
            early: Early::default(),
            room,
            pending_tracks: HashMap::new(),
            server_offer_id: 0,
            held: hold.then(Vec::new),
        }
    }

    pub(super) async fn serve(
        mut self,
        first: Vec<RoomChange>,
        mut signal: SignalEvents,
        mut pcs: mpsc::UnboundedReceiver<PcEvent>,
        mut requests: mpsc::UnboundedReceiver<Request>,
    ) {
        self.emit_changes(first);
        loop {
            tokio::select! {
                request = requests.recv() => match request {
                    Some(request) => self.on_request(request),
                    None => return,
                },
                ev = signal.recv() => match ev {
                    Some(SignalEvent::Message(msg)) => {
                        // Requests asked before this message first: a
                        // track's waiter is in before the server's answer
                        // to its AddTrack is read. (Not a biased select:
                        // that would hold the connections' events behind
                        // a busy signal stream.)
                        while let Ok(request) = requests.try_recv() {
                            self.on_request(request);
                        }
                        self.on_signal(*msg).await
                    }
                    Some(SignalEvent::Close(why)) => {
                        tracing::info!("signal connection closed: {why}");
                        self.core.report(EngineSignal::LinkLost);
                    }
                    None => return,
                },
                ev = pcs.recv() => match ev {
                    Some(ev) => self.on_pc(ev).await,
                    None => return,
                },
            }
        }
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::AwaitTrack { cid, reply } => {
                self.pending_tracks.insert(cid, reply);
            }
            Request::Adopt(done) => {
                for e in self.held.take().into_iter().flatten() {
                    let _ = self.core.events.send(e);
                }
                let _ = done.send(());
            }
            Request::ServerOfferId(reply) => {
                let _ = reply.send(self.server_offer_id);
            }
        }
    }

    fn emit(&mut self, e: CallEvent) {
        if self.core.stop.load(Ordering::Relaxed) {
            return;
        }
        match self.held.as_mut() {
            Some(held) => held.push(e),
            None => {
                let _ = self.core.events.send(e);
            }
        }
    }

    /// Applies a change to the room, publishes it and tells the call.
    fn change_room(&mut self, apply: impl FnOnce(&mut RoomState) -> Vec<RoomChange>) {
        let mut changes = Vec::new();
        self.room.send_modify(|room| changes = apply(room));
        self.emit_changes(changes);
    }

    fn emit_changes(&mut self, changes: Vec<RoomChange>) {
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

    /// The identity behind a participant sid.
    fn identity_of(&self, participant_sid: &str) -> String {
        let room = self.room.borrow();
        let identity = room
            .participants()
            .find(|p| p.sid == participant_sid)
            .map(|p| p.identity.clone());
        identity.unwrap_or_else(|| participant_sid.to_string())
    }
    async fn on_signal(&mut self, msg: Resp) {
        let core = Arc::clone(&self.core);
        let core = &core;
        match msg {
            Resp::Offer(offer) => self.on_server_offer(offer).await,
            Resp::Answer(answer) => {
                if !core.negotiation.expects(answer.id) {
                    tracing::debug!("answer {}: to an offer given up on, ignored", answer.id);
                    return;
                }
                timeline::mark(core.id, "publisher_answer");
                let pc = &core.transports.publisher.pc;
                let applied = async {
                    pc.set_remote_description(RTCSessionDescription::answer(answer.sdp)?)
                        .await?;
                    for c in self.early.of(core, Target::Publisher).drain(..) {
                        pc.add_ice_candidate(c).await?;
                    }
                    Ok::<_, webrtc::error::Error>(())
                }
                .await;
                if let Err(e) = applied {
                    tracing::warn!("publisher answer rejected: {e}");
                }
                core.negotiation.answered();
            }
            Resp::MediaSectionsRequirement(need) => {
                // Single-PC mode: the server has more tracks for us than our
                // offer had room for (or a track to put into one): room for
                // them, and a new offer.
                tokio::spawn(make_room(
                    Arc::clone(core),
                    need.num_audios,
                    need.num_videos,
                ));
            }
            Resp::Trickle(t) => {
                let target = Target::from_proto(t.target);
                match serde_json::from_str::<RTCIceCandidateInit>(&t.candidate_init) {
                    Ok(c) => {
                        let pc = &core.transports.get(target).pc;
                        if pc.remote_description().await.is_some() {
                            if let Err(e) = pc.add_ice_candidate(c).await {
                                tracing::debug!("remote candidate refused: {e}");
                            }
                        } else {
                            self.early.of(core, target).push(c);
                        }
                    }
                    Err(e) => tracing::debug!("unreadable candidate from server: {e}"),
                }
            }
            Resp::Update(update) => self.change_room(|room| room.apply_update(&update)),
            Resp::ConnectionQuality(q) => self.change_room(|room| room.apply_quality(&q)),
            Resp::SpeakersChanged(s) => self.change_room(|room| room.apply_speakers(&s)),
            Resp::StreamStateUpdate(s) => self.change_room(|room| room.apply_stream_states(&s)),
            Resp::SubscriptionResponse(r) => {
                let why = proto::SubscriptionError::try_from(r.err)
                    .map_or("an unknown error", |e| e.as_str_name());
                tracing::warn!("the server could not send us track {}: {why}", r.track_sid);
                self.change_room(|room| room.apply_subscription_error(&r));
            }
            Resp::SubscribedQualityUpdate(update) => core.on_subscribed_quality(update),
            Resp::TrackPublished(published) => {
                let waiting = self.pending_tracks.remove(&published.cid);
                if let (Some(tx), Some(track)) = (waiting, published.track) {
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
                core.report(EngineSignal::Leave(action));
            }
            Resp::RefreshToken(token) => {
                core.report(EngineSignal::TokenRefreshed(token));
            }
            _ => {}
        }
    }

    /// The server offers the subscriber connection (dual-PC mode); we answer.
    async fn on_server_offer(&mut self, offer: proto::SessionDescription) {
        let core = Arc::clone(&self.core);
        let Some(subscriber) = &core.transports.subscriber else {
            // In single-PC mode we offer and the server answers, never the
            // other way round.
            tracing::warn!("an offer from the server in single-PC mode: ignored");
            return;
        };
        timeline::mark(core.id, "subscriber_offer");
        self.server_offer_id = offer.id;
        let pc = &subscriber.pc;
        let result = async {
            pc.set_remote_description(RTCSessionDescription::offer(offer.sdp)?)
                .await?;
            for c in self.early.of(&core, Target::Subscriber).drain(..) {
                pc.add_ice_candidate(c).await?;
            }
            let answer = pc.create_answer(None).await?;
            pc.set_local_description(answer.clone()).await?;
            Ok::<_, webrtc::error::Error>(answer)
        }
        .await;
        match result {
            Ok(answer) => {
                core.signal
                    .send(Req::Answer(proto::SessionDescription {
                        r#type: "answer".into(),
                        sdp: answer.sdp,
                        id: offer.id,
                        ..Default::default()
                    }))
                    .await;
                timeline::mark(core.id, "subscriber_answer");
            }
            Err(e) => tracing::warn!("subscriber negotiation failed: {e}"),
        }
    }

    async fn on_pc(&mut self, ev: PcEvent) {
        let core = Arc::clone(&self.core);
        let core = &core;
        match ev {
            PcEvent::Candidate(target, init) => {
                if let Ok(json) = serde_json::to_string(&init) {
                    core.signal
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
                let was = core.transports.get(target).state.send_replace(state);
                if state == RTCPeerConnectionState::Connected && was != state {
                    timeline::mark(
                        core.id,
                        match target {
                            Target::Publisher => "publisher_connected",
                            Target::Subscriber => "subscriber_connected",
                        },
                    );
                    if target == core.transports.primary {
                        timeline::mark(core.id, "primary_connected");
                    }
                }
                // A connection that was up and is now down: the link is lost.
                let down = matches!(
                    state,
                    RTCPeerConnectionState::Disconnected | RTCPeerConnectionState::Failed
                );
                if down && was == RTCPeerConnectionState::Connected {
                    core.report(EngineSignal::LinkLost);
                }
            }
            PcEvent::Ice(target, state) => {
                if state == RTCIceConnectionState::Connected {
                    timeline::mark(
                        core.id,
                        match target {
                            Target::Publisher => "publisher_ice_connected",
                            Target::Subscriber => "subscriber_ice_connected",
                        },
                    );
                }
            }
            PcEvent::Track(track) => {
                timeline::mark(core.id, "track");
                let kind = track.kind().await;
                if !matches!(kind, RtpCodecKind::Audio | RtpCodecKind::Video) {
                    return;
                }
                // LiveKit's msid stream id is "<participant sid>|<track sid>".
                let stream = track.stream_id().await;
                let (participant_sid, track_sid) = match stream.split_once('|') {
                    Some((p, t)) => (p.to_string(), t.to_string()),
                    None => (stream.clone(), track.track_id().await),
                };
                let identity = self.identity_of(&participant_sid);
                self.emit(CallEvent::TrackSubscribed {
                    identity: identity.clone(),
                    track_sid: track_sid.clone(),
                });
                if kind == RtpCodecKind::Video {
                    // A view set before this subscription (a rejoin's, or
                    // a tile drawn before its video came) holds from now.
                    if let Some(view) = core.views.get(&track_sid) {
                        core.signal
                            .send(Req::TrackSetting(view.request(&track_sid)))
                            .await;
                    }
                    // Its packets' send times feed the downlink's estimate,
                    // where the server sends them.
                    let pc = &core.transports.get(Target::Subscriber).pc;
                    let sdp = pc.remote_description().await.map(|d| d.sdp);
                    let downlink = sdp
                        .as_deref()
                        .and_then(super::downlink::abs_send_time_id)
                        .map(|id| (id, Arc::clone(&core.downlink)));
                    tokio::spawn(super::receive_video::receive_video(
                        track,
                        RemoteVideo {
                            identity,
                            track_sid,
                        },
                        Arc::clone(&core.video_sink),
                        core.id,
                        downlink,
                        core.pictures.clone(),
                    ));
                    return;
                }
                tokio::spawn(media::receive_audio(
                    track,
                    RemoteAudio {
                        identity,
                        track_sid,
                    },
                    Arc::clone(&core.sink),
                    core.id,
                    core.playout.clone(),
                    Arc::clone(&core.downlink),
                ));
            }
        }
    }
}

/// Adds `audios` receive sections and offers again (the server's request
/// with none is a request for a new offer: a track went into a section
/// there already was).
async fn make_room(core: Arc<Core>, audios: u32, videos: u32) {
    let mut turn = core.negotiation.turn().await;
    if core.stop.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let pc = core.transports.publisher.pc.as_ref();
    let kinds = std::iter::repeat_n(RtpCodecKind::Audio, audios as usize)
        .chain(std::iter::repeat_n(RtpCodecKind::Video, videos as usize));
    for kind in kinds {
        if let Err(e) = peer::add_receiver(pc, kind).await {
            tracing::warn!("no room for another remote track: {e}");
        }
    }
    let result = match turn.offer(pc, &core.signal, false).await {
        Ok(answer) => {
            timeline::mark(core.id, "publisher_offer");
            answer.applied(RENEGOTIATION_DEADLINE).await
        }
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        tracing::warn!("renegotiation the server asked for failed: {e}");
    }
}
