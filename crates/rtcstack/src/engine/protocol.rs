//! The protocol task: one per session, it reads the signal stream and the
//! peer connections' events and applies them in order. It never waits on
//! the server itself (work that would, such as a renegotiation the server
//! asked for, runs beside it), so an answer is never stuck behind the
//! exchange waiting for it.

use std::sync::Arc;
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::{SignalEvent, SignalEvents};
use proto::signal_request::Message as Req;
use proto::signal_response::Message as Resp;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::mpsc;
use webrtc::peer_connection::{
    RTCIceCandidateInit, RTCIceConnectionState, RTCPeerConnectionState, RTCSessionDescription,
};

use super::peer::{self, PcEvent, Target};
use super::{media, timeline, Core, EngineSignal};
use crate::audio::io::RemoteAudio;
use crate::events::{CallEvent, DisconnectReason};
use crate::supervisor::LeaveAction;

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

pub(super) async fn serve(
    core: Arc<Core>,
    mut signal: SignalEvents,
    mut pcs: mpsc::UnboundedReceiver<PcEvent>,
) {
    let mut early = Early::default();
    loop {
        tokio::select! {
            ev = signal.recv() => match ev {
                Some(SignalEvent::Message(msg)) => on_signal(&core, *msg, &mut early).await,
                Some(SignalEvent::Close(why)) => {
                    tracing::info!("signal connection closed: {why}");
                    core.report(EngineSignal::LinkLost);
                }
                None => return,
            },
            ev = pcs.recv() => match ev {
                Some(ev) => on_pc(&core, ev).await,
                None => return,
            },
        }
    }
}

async fn on_signal(core: &Arc<Core>, msg: Resp, early: &mut Early) {
    match msg {
        Resp::Offer(offer) => on_server_offer(core, offer, early).await,
        Resp::Answer(answer) => {
            timeline::mark(core.id, "publisher_answer");
            let pc = &core.transports.publisher.pc;
            let applied = async {
                pc.set_remote_description(RTCSessionDescription::answer(answer.sdp)?)
                    .await?;
                for c in early.of(core, Target::Publisher).drain(..) {
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
            // them, and a new offer. Video sections wait for video.
            tokio::spawn(make_room(Arc::clone(core), need.num_audios));
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
                        early.of(core, target).push(c);
                    }
                }
                Err(e) => tracing::debug!("unreadable candidate from server: {e}"),
            }
        }
        Resp::Update(update) => {
            let changes = core.room.lock().expect("room lock").apply_update(&update);
            core.emit_changes(changes);
        }
        Resp::ConnectionQuality(q) => {
            let changes = core.room.lock().expect("room lock").apply_quality(&q);
            core.emit_changes(changes);
        }
        Resp::SpeakersChanged(s) => {
            let changes = core.room.lock().expect("room lock").apply_speakers(&s);
            core.emit_changes(changes);
        }
        Resp::TrackPublished(published) => {
            let waiting = core
                .pending_tracks
                .lock()
                .expect("tracks lock")
                .remove(&published.cid);
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
async fn on_server_offer(core: &Core, offer: proto::SessionDescription, early: &mut Early) {
    let Some(subscriber) = &core.transports.subscriber else {
        // In single-PC mode we offer and the server answers, never the
        // other way round.
        tracing::warn!("an offer from the server in single-PC mode: ignored");
        return;
    };
    timeline::mark(core.id, "subscriber_offer");
    *core.server_offer_id.lock().expect("offer id lock") = offer.id;
    let pc = &subscriber.pc;
    let result = async {
        pc.set_remote_description(RTCSessionDescription::offer(offer.sdp)?)
            .await?;
        for c in early.of(core, Target::Subscriber).drain(..) {
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

/// Adds `audios` receive sections and offers again (the server's request
/// with none is a request for a new offer: a track went into a section
/// there already was).
async fn make_room(core: Arc<Core>, audios: u32) {
    let mut turn = core.negotiation.turn().await;
    if core.stop.load(std::sync::atomic::Ordering::Relaxed) {
        return;
    }
    let pc = core.transports.publisher.pc.as_ref();
    for _ in 0..audios {
        if let Err(e) = peer::add_audio_receiver(pc).await {
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

async fn on_pc(core: &Arc<Core>, ev: PcEvent) {
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
            if track.kind().await != RtpCodecKind::Audio {
                return;
            }
            // LiveKit's msid stream id is "<participant sid>|<track sid>".
            let stream = track.stream_id().await;
            let (participant_sid, track_sid) = match stream.split_once('|') {
                Some((p, t)) => (p.to_string(), t.to_string()),
                None => (stream.clone(), track.track_id().await),
            };
            let identity = core.identity_of(&participant_sid);
            core.emit(CallEvent::TrackSubscribed {
                identity: identity.clone(),
                track_sid: track_sid.clone(),
            });
            tokio::spawn(media::receive_audio(
                track,
                RemoteAudio {
                    identity,
                    track_sid,
                },
                Arc::clone(&core.sink),
                core.id,
            ));
        }
    }
}
