//! A join: the signal handshake and the peer connections, until media can
//! flow. In single-PC mode our first offer rides in the join request (one
//! round trip less) and already has room for three remote audio tracks, so
//! the server can send the room's audio on the answer's connection without
//! waiting for a renegotiation of its own (in dual-PC mode it holds that
//! back 150 ms after its first offer).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use livekit_protocol as proto;
use livekit_signaling::{SignalClient, SignalOptions};
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use tokio::sync::{mpsc, watch};
use webrtc::data_channel::RTCDataChannelInit;

use super::peer::{self, PcEvent, Target};
use super::protocol::Protocol;
use super::transport::{Transport, Transports};
use super::{timeline, Core, EngineSignal, Session, NEXT_SESSION};
use crate::audio::io::AudioSink;
use crate::error::ConnectError;
use crate::events::CallEvent;
use crate::room::RoomState;
use crate::video::encode::SendCodec;
use crate::video::io::VideoSink;
use crate::video::view::Views;
use crate::wire::TurnStreams;

/// Remote audio tracks the first offer has room for; the server asks for
/// more (MediaSectionsRequirement) when a room has more talkers.
const FIRST_AUDIO_SECTIONS: usize = 3;

/// Where and how sessions join, and where they report.
pub(crate) struct Setup {
    pub(crate) url: String,
    /// The deadline of each step of a join or resume.
    pub(crate) step_timeout: Duration,
    pub(crate) events: mpsc::UnboundedSender<CallEvent>,
    pub(crate) driver: mpsc::UnboundedSender<(u64, EngineSignal)>,
    pub(crate) sink: Arc<dyn AudioSink>,
    pub(crate) video_sink: Arc<dyn VideoSink>,
    /// How each remote video is shown (the call's; sessions apply it).
    pub(crate) views: Arc<Views>,
    /// Ask for single-PC mode (the server may still answer with dual-PC).
    pub(crate) single_peer_connection: bool,
    pub(crate) auto_subscribe: bool,
    pub(crate) video_codec: SendCodec,
}

impl Session {
    /// Joins with `token`; `previous` is the room as the call's last session
    /// knew it (a rejoin reconciles it instead of joining everyone again).
    pub(crate) async fn connect(
        setup: &Setup,
        token: &str,
        previous: Option<&RoomState>,
    ) -> Result<Self, ConnectError> {
        // Fails harmlessly when the application already chose a provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        crate::wire::register();
        let deadline = setup.step_timeout;
        let id = NEXT_SESSION.fetch_add(1, Ordering::Relaxed);
        let media = |e: webrtc::error::Error| ConnectError::Media(e.to_string());
        let (pc_tx, pc_rx) = mpsc::unbounded_channel();

        // The single-PC offer is made before the server's ICE servers are
        // known; they are set before the offer is applied and gathering
        // starts (as LiveKit's own clients do).
        let early = if setup.single_peer_connection {
            let built = publisher(&[], pc_tx.clone()).await.map_err(media)?;
            let pc = &built.0;
            for _ in 0..FIRST_AUDIO_SECTIONS {
                peer::add_receiver(pc.as_ref(), RtpCodecKind::Audio)
                    .await
                    .map_err(media)?;
            }
            let offer = pc.create_offer(None).await.map_err(media)?;
            Some((built, offer))
        } else {
            None
        };

        let mut options = SignalOptions::default();
        options.auto_subscribe = setup.auto_subscribe;
        // Not LiveKit Cloud: no region fallback that would hide the real error.
        options.region_failover = false;
        options.single_peer_connection = setup.single_peer_connection;
        // LiveKit's packet trailer (frame metadata after a frame's payload)
        // is not read here: the server strips it for a client that does
        // not say it takes it. Said, the trailer reached our decoders, and
        // libvpx refused every VP9 frame with one.
        options
            .client_capabilities
            .retain(|c| *c != proto::client_info::Capability::CapPacketTrailer);
        options.connect_timeout = deadline;
        let join_offer = early.as_ref().map(|(_, offer)| proto::SessionDescription {
            r#type: "offer".into(),
            sdp: offer.sdp.clone(),
            id: 0,
            ..Default::default()
        });
        let (signal, join, signal_events) = tokio::time::timeout(
            deadline,
            SignalClient::connect(&setup.url, token, options, join_offer),
        )
        .await
        .map_err(|_| ConnectError::Timeout(deadline))?
        .map_err(|e| ConnectError::from_signal(e, deadline))?;
        timeline::mark(id, "join_response");
        // TURN over TCP and TLS through carriers of ours (see wire).
        let relays = TurnStreams::open(&join.ice_servers).await;
        let ice_servers = relays.ice_servers().to_vec();

        // A server without single-PC mode answered on the old path: the
        // early connection (with its receive sections) is not what it
        // expects, so both connections are built afresh.
        let (early, transports) = match early {
            Some((built, offer)) if signal.is_single_pc_mode_active() => {
                if !ice_servers.is_empty() {
                    built
                        .0
                        .set_configuration(peer::configuration(&ice_servers))
                        .await
                        .map_err(media)?;
                }
                let transports = Transports {
                    publisher: Transport::new(built),
                    subscriber: None,
                    primary: Target::Publisher,
                    relays,
                };
                (Some(offer), transports)
            }
            other => {
                if let Some(((pc, _, _), _)) = other {
                    tracing::info!(
                        "the server has no single-peer-connection mode: two connections"
                    );
                    let _ = pc.close().await;
                }
                let publisher = publisher(&ice_servers, pc_tx.clone())
                    .await
                    .map_err(media)?;
                let subscriber = peer::build(Target::Subscriber, &ice_servers, pc_tx)
                    .await
                    .map_err(media)?;
                let transports = Transports {
                    publisher: Transport::new(publisher),
                    subscriber: Some(Transport::new(subscriber)),
                    primary: if join.subscriber_primary {
                        Target::Subscriber
                    } else {
                        Target::Publisher
                    },
                    relays,
                };
                (None, transports)
            }
        };
        timeline::mark(id, "transports_built");

        let (room, changes) = match previous {
            Some(before) => RoomState::after_rejoin(before, &join),
            None => RoomState::from_join(&join),
        };
        let core = Arc::new(Core {
            id,
            stop: Arc::new(AtomicBool::new(false)),
            signal,
            transports,
            negotiation: Default::default(),
            events: setup.events.clone(),
            driver: setup.driver.clone(),
            sink: Arc::clone(&setup.sink),
            video_sink: Arc::clone(&setup.video_sink),
            views: Arc::clone(&setup.views),
            video_codec: setup.video_codec,
            muted: Arc::new(AtomicBool::new(false)),
            published: Mutex::new(Vec::new()),
            sending_videos: Mutex::new(Vec::new()),
            subscribed: Mutex::default(),
            videos_muted: Mutex::default(),
            playout: Default::default(),
            pictures: Default::default(),
            downlink: Arc::new(Mutex::new(super::downlink::Downlink::new())),
        });
        // The views already set (a rejoin's) go before any media: the
        // server keeps a setting for a track not yet subscribed and
        // forwards the layer it asks from the first picture. Sent only
        // when the track came (as for a track published later), the
        // server's own first choice went out until it arrived.
        let tracks = join
            .other_participants
            .iter()
            .flat_map(|p| p.tracks.iter().map(|t| t.sid.as_str()));
        for (sid, view) in setup.views.of(tracks) {
            tracing::debug!("video {sid}: {view:?}, with the join");
            core.signal
                .send(proto::signal_request::Message::TrackSetting(
                    view.request(&sid),
                ))
                .await;
        }
        let (room_tx, room_rx) = watch::channel(room);
        let (requests, requests_rx) = mpsc::unbounded_channel();
        // A rejoin's news waits until the call takes the session on.
        let protocol = Protocol::new(Arc::clone(&core), room_tx, previous.is_some());

        let mut turn = core.negotiation.turn().await;
        let early_answer = match early {
            // Applied before the protocol task can read the server's answer.
            Some(offer) => {
                core.transports
                    .publisher
                    .pc
                    .set_local_description(offer)
                    .await
                    .map_err(media)?;
                timeline::mark(id, "publisher_offer");
                Some(turn.expect_answer())
            }
            None => None,
        };
        let task = tokio::spawn(protocol.serve(changes, signal_events, pc_rx, requests_rx));
        // From here a join abandoned half-way (an aborted attempt) drops
        // the session, which closes it: no half-joined ghost lingers.
        let session = Session {
            core: Arc::clone(&core),
            protocol: task,
            requests,
            room: room_rx,
        };
        let answer = match early_answer {
            Some(answer) => answer,
            None => {
                let pc = core.transports.publisher.pc.as_ref();
                let answer = turn.offer(pc, &core.signal, false).await?;
                timeline::mark(id, "publisher_offer");
                answer
            }
        };
        answer.applied(deadline).await?;
        drop(turn);
        // Joined once the primary connection is up: what LiveKit's own
        // clients wait for, so remote media can flow when we say connected.
        tokio::time::timeout(deadline, core.transports.primary_connected())
            .await
            .map_err(|_| {
                // A TURN server we could not reach may be why: say so.
                let why = match core.transports.relays.failure() {
                    Some(f) => format!(" ({f})"),
                    None => String::new(),
                };
                ConnectError::Media(format!("no media connection within {deadline:?}{why}"))
            })?
            .map_err(|_| ConnectError::Closed)?;
        Ok(session)
    }
}

/// The publisher connection with LiveKit's two data channels (creating them
/// also gives the first negotiation something to carry).
async fn publisher(
    ice_servers: &[proto::IceServer],
    tx: mpsc::UnboundedSender<PcEvent>,
) -> webrtc::error::Result<peer::Built> {
    let built = peer::build(Target::Publisher, ice_servers, tx).await?;
    let pc = &built.0;
    pc.create_data_channel(
        "_reliable",
        Some(RTCDataChannelInit {
            ordered: true,
            ..Default::default()
        }),
    )
    .await?;
    pc.create_data_channel(
        "_lossy",
        Some(RTCDataChannelInit {
            ordered: false,
            max_retransmits: Some(0),
            ..Default::default()
        }),
    )
    .await?;
    Ok(built)
}
