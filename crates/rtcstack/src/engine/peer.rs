//! One WebRTC peer connection to the server (publisher or subscriber),
//! built with Opus, the default interceptors (RTCP reports, NACK asked every
//! 40 ms, TWCC: the server scores quality from them) and the server's ICE
//! servers. Its callbacks only forward to the engine's channel: they run on
//! the connection's driver task and must not block it.

use std::sync::Arc;

use livekit_protocol as proto;
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::{
    CongestionControlBuilder, NackGeneratorBuilder, NackResponderBuilder, Slot,
    TwccReceiverBuilder, TwccSenderBuilder,
};
use rtc::peer_connection::configuration::interceptor_registry::{
    configure_rtcp_reports, configure_simulcast_extension_headers, configure_twcc_receiver_only,
};
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_VP8, MIME_TYPE_VP9,
};
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpHeaderExtensionCapability,
    RtpCodecKind, TYPE_RTCP_FB_GOOG_REMB, TYPE_RTCP_FB_NACK, TYPE_RTCP_FB_TRANSPORT_CC,
};
use rtc::sdp::extmap::{ABS_SEND_TIME_URI, TRANSPORT_CC_URI};
use tokio::sync::{mpsc, watch};
use webrtc::media_stream::track_remote::TrackRemote;
use webrtc::peer_connection::{
    MediaEngine, PeerConnection, PeerConnectionBuilder, PeerConnectionEventHandler,
    RTCConfiguration, RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceConnectionState,
    RTCIceServer, RTCPeerConnectionIceEvent, RTCPeerConnectionState, Registry,
    SettingEngineBuilder,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};
use webrtc::runtime::TokioRuntime;

use super::congestion::Congestion;
use super::far_reports::FarReports;
use super::sender_feedback;
use crate::video::encode::{SendCodec, H264_FMTP};

const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
const CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_millis(50);
/// 50 ms × 28: a candidate pair gets 1.4 s, as with the library's defaults.
const CHECK_ATTEMPTS: u16 = 28;
/// How long a direct pair has to succeed before a relay pair is taken.
const RELAY_HEAD_START: std::time::Duration = std::time::Duration::from_millis(150);

/// Which of the two connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target {
    Publisher,
    Subscriber,
}

impl Target {
    pub(crate) fn to_proto(self) -> i32 {
        match self {
            Target::Publisher => proto::SignalTarget::Publisher as i32,
            Target::Subscriber => proto::SignalTarget::Subscriber as i32,
        }
    }

    pub(crate) fn from_proto(t: i32) -> Self {
        if t == proto::SignalTarget::Subscriber as i32 {
            Target::Subscriber
        } else {
            Target::Publisher
        }
    }
}

/// What a peer connection reports to the engine.
pub(crate) enum PcEvent {
    Candidate(Target, RTCIceCandidateInit),
    State(Target, RTCPeerConnectionState),
    /// ICE alone (a connection is connected once DTLS is done too).
    Ice(Target, RTCIceConnectionState),
    Track(Arc<dyn TrackRemote>),
}

struct Forward {
    target: Target,
    tx: mpsc::UnboundedSender<PcEvent>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Forward {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        if let Ok(mut init) = event.candidate.to_json() {
            // The library leaves the mid empty; everything is bundled on "0".
            init.sdp_mid = Some("0".into());
            let _ = self.tx.send(PcEvent::Candidate(self.target, init));
        }
    }

    async fn on_ice_connection_state_change(&self, state: RTCIceConnectionState) {
        let _ = self.tx.send(PcEvent::Ice(self.target, state));
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let _ = self.tx.send(PcEvent::State(self.target, state));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let _ = self.tx.send(PcEvent::Track(track));
    }
}

/// Opus as LiveKit negotiates it: 48 kHz, stereo in SDP (mono content), FEC.
pub(crate) fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: 48_000,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

/// The video codecs we decode, in our order of preference, with their
/// payload types: VP8 (every browser's default), VP9 profile 0 (8-bit
/// 4:2:0, the profile libwebrtc sends unless asked otherwise) and H.264
/// constrained baseline and baseline in packetization mode 1, as libwebrtc
/// offers them. A room whose publishers send VP9 sends it to us as it is:
/// without it, LiveKit would have them fall back to VP8 for everyone.
/// Feedback (NACK, PLI, transport-wide congestion control) is added by the
/// default interceptors.
fn video_codecs() -> Vec<RTCRtpCodecParameters> {
    let codec = |mime: &str, fmtp: &str, payload_type| RTCRtpCodecParameters {
        rtp_codec: video_codec(mime, fmtp),
        payload_type,
    };
    vec![
        codec(MIME_TYPE_VP8, "", 96),
        codec(MIME_TYPE_VP9, "profile-id=0", 98),
        codec(MIME_TYPE_H264, H264_FMTP, H264_PAYLOAD_TYPE),
        codec(
            MIME_TYPE_H264,
            "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
            108,
        ),
    ]
}

fn video_codec(mime: &str, fmtp: &str) -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: mime.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: fmtp.to_owned(),
        rtcp_feedback: vec![],
    }
}

/// Constrained baseline's payload type in our offers.
const H264_PAYLOAD_TYPE: u8 = 125;

/// The codec we send, as our encodings name it.
pub(crate) fn send_codec(codec: SendCodec) -> RTCRtpCodec {
    video_codec(codec.mime(), codec.fmtp())
}

/// Its payload type in our offers, for an answer that does not say.
pub(crate) fn payload_type(codec: SendCodec) -> u8 {
    match codec {
        SendCodec::Vp8 => 96,
        SendCodec::H264 => H264_PAYLOAD_TYPE,
    }
}

/// The connection's configuration: the server's ICE servers (TURN).
pub(crate) fn configuration(ice_servers: &[proto::IceServer]) -> RTCConfiguration {
    RTCConfigurationBuilder::new()
        .with_ice_servers(
            ice_servers
                .iter()
                .map(|s| RTCIceServer {
                    urls: s.urls.clone(),
                    username: s.username.clone(),
                    credential: s.credential.clone(),
                })
                .collect(),
        )
        .build()
}

/// Room for one more remote track on a single-PC connection: a receive-only
/// section the server can fill with a talker's (or a camera's) track.
pub(crate) async fn add_receiver(
    pc: &dyn PeerConnection,
    kind: RtpCodecKind,
) -> webrtc::error::Result<()> {
    pc.add_transceiver_from_kind(
        kind,
        Some(RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        }),
    )
    .await
    .map(|_| ())
}

/// How often the missing packets of what we receive are asked for again.
/// rtc's default, 100 ms, asks up to 100 ms late. LiveKit sends a packet
/// again at most 3 times and never sooner than min(100 ms, 2 RTT) after
/// it last did; past a 100 ms round trip, each ask after that is another
/// copy on the way, which LiveKit's estimate of our downlink counts as
/// congestion. 40 ms is between (under 5 % loss and 40 ± 30 ms each way,
/// hand-over to decoded p95 162–232 ms; at 20 ms 162–210, at 100 ms
/// 231–254).
const NACK_EVERY: std::time::Duration = std::time::Duration::from_millis(40);
/// Asks per packet: about as long as a frame waits for one (500 ms).
const NACKS_PER_PACKET: u16 = 13;

/// NACK both ways (as rtc's `configure_nack`), asking at [`NACK_EVERY`].
fn nack(registry: Registry, media: &mut MediaEngine) -> Registry {
    for parameter in ["", "pli"] {
        media.register_feedback(
            RTCPFeedback {
                typ: TYPE_RTCP_FB_NACK.to_owned(),
                parameter: parameter.to_owned(),
            },
            RtpCodecKind::Video,
        );
    }
    registry
        .with(Slot::NackResponder, NackResponderBuilder::new().build())
        .with(
            Slot::NackGenerator,
            NackGeneratorBuilder::new()
                .with_interval(NACK_EVERY)
                .with_max_nacks_per_packet(NACKS_PER_PACKET)
                .build(),
        )
}

/// rtc's default interceptors, with our NACK.
fn subscriber_interceptors(media: &mut MediaEngine) -> webrtc::error::Result<Registry> {
    configure_simulcast_extension_headers(media)?;
    let registry = configure_twcc_receiver_only(nack(Registry::new(), media), media)?;
    Ok(configure_rtcp_reports(registry))
}

/// The default interceptors (NACK, RTCP reports, transport-wide feedback
/// on the video we receive), and send-side congestion control: our video is
/// numbered transport-wide and the server's feedback on it drives GCC
/// ([`Congestion`]). Video only: LiveKit reports on video alone. Our own
/// pacer paces.
fn publisher_interceptors(media: &mut MediaEngine) -> webrtc::error::Result<Registry> {
    let registry = configure_rtcp_reports(nack(Registry::new(), media));
    media.register_feedback(
        RTCPFeedback {
            typ: TYPE_RTCP_FB_TRANSPORT_CC.to_owned(),
            parameter: String::new(),
        },
        RtpCodecKind::Video,
    );
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: TRANSPORT_CC_URI.to_owned(),
        },
        RtpCodecKind::Video,
        None,
    )?;
    Ok(registry
        .with(Slot::TwccReceiver, TwccReceiverBuilder::new().build())
        .with(Slot::TwccSender, TwccSenderBuilder::new().build())
        .with(
            Slot::CongestionControl,
            CongestionControlBuilder::new(Congestion::new(
                ESTIMATE_START_BPS,
                ESTIMATE_FLOOR_BPS,
                ESTIMATE_START_BPS,
            ))
            .build(),
        ))
}

/// A connection, and its transport-wide estimate of what it can send.
pub(crate) type Built = (Arc<dyn PeerConnection>, watch::Receiver<u32>, FarReports);

/// What the publisher's estimate starts at and may reach (bit/s): above
/// anything we send, so it only ever holds us back where the path does.
const ESTIMATE_START_BPS: f64 = 20_000_000.0;
/// The least it asks for: our audio and the smallest video layer.
const ESTIMATE_FLOOR_BPS: f64 = 100_000.0;

pub(crate) async fn build(
    target: Target,
    ice_servers: &[proto::IceServer],
    tx: mpsc::UnboundedSender<PcEvent>,
) -> webrtc::error::Result<Built> {
    let mut media = MediaEngine::default();
    media.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: 111,
        },
        RtpCodecKind::Audio,
    )?;
    for codec in video_codecs() {
        media.register_codec(codec, RtpCodecKind::Video)?;
    }
    // Our video's layers are told apart by these (section and stream ids).
    configure_simulcast_extension_headers(&mut media)?;
    // Each packet's level: how the server knows who is speaking.
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: AUDIO_LEVEL_URI.to_string(),
        },
        RtpCodecKind::Audio,
        None,
    )?;
    // The video we receive: each packet's send time, and our estimate of
    // the downlink back as REMB (what LiveKit reads by default: see
    // `downlink`).
    media.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: ABS_SEND_TIME_URI.to_owned(),
        },
        RtpCodecKind::Video,
        None,
    )?;
    media.register_feedback(
        RTCPFeedback {
            typ: TYPE_RTCP_FB_GOOG_REMB.to_owned(),
            parameter: String::new(),
        },
        RtpCodecKind::Video,
    );
    let (estimate_tx, estimate) = watch::channel(0);
    let reports = FarReports::default();
    let registry = match target {
        Target::Subscriber => subscriber_interceptors(&mut media)?,
        Target::Publisher => publisher_interceptors(&mut media)?,
    }
    .with(
        Slot::from(sender_feedback::SLOT),
        sender_feedback::SenderFeedback::new(estimate_tx, reports.clone()),
    );
    let config = configuration(ice_servers);
    // No multicast socket: LiveKit servers never hand out .local candidates.
    // Connectivity checks every 50 ms (the library's default is 200 ms, four
    // times libwebrtc's pacing, and it showed as ~200 ms more per join).
    let settings = SettingEngineBuilder::new()
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        .with_ice_connection_attempts(Some(CHECK_INTERVAL), Some(CHECK_ATTEMPTS))
        // Disconnected after 3 s without a packet (default 5 s). Consent
        // checks (STUN binding requests, answered) go every 200 ms: the
        // publisher receives little else, and under 20 % loss each way a
        // round trip fails with p = 0.36, so 15 failures in a row (a false
        // alarm) has p ≈ 2e-7 per window, where 500 ms gave p ≈ 2e-3 and
        // one was seen in a 60 s test. A dead link still shows in ~3 s,
        // well before the server's 15 s ping timeout.
        .with_ice_timeouts(
            Some(std::time::Duration::from_secs(3)),
            Some(std::time::Duration::from_secs(10)),
            Some(std::time::Duration::from_millis(200)),
        )
        // An ICE restart (our resume) binds new sockets on the interfaces
        // there are now and gathers from them: after a network switch the
        // old host candidates name an address that is gone, and checks
        // from them go nowhere (without this, the library keeps them and
        // the restart never connects; seen with an address moved mid-call).
        .with_discard_local_candidates_during_ice_restart(true)
        // A pair whose server end we first learn from the server's own
        // check (peer-reflexive: its trickled candidate not here yet, as
        // after a restart) is a path the check just proved; the library
        // holds off nominating it for 1 s (for a better pair that, with one
        // SFU address, never comes). Seen as ~1 s of an address-move
        // recovery in one run of two.
        .with_prflx_acceptance_min_wait(Some(std::time::Duration::ZERO))
        // A relay pair (TURN: where nothing direct gets through) is taken
        // once a direct pair has had 150 ms (three rounds of checks) to
        // prove itself, not the library's 2 s, which was most of a join
        // over TURN (2.25 s where libwebrtc took 0.16 s). LiveKit's TURN
        // sits beside its SFU, so a relay taken where a direct path would
        // have done costs little.
        .with_relay_acceptance_min_wait(Some(RELAY_HEAD_START))
        .build();
    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(media)
        .with_interceptor_registry(registry)
        .with_setting_engine(settings)
        .with_runtime(Arc::new(TokioRuntime))
        .with_handler(Arc::new(Forward { target, tx }))
        // A wildcard skips loopback; a local development server needs it.
        // IPv6 beside IPv4, as libwebrtc gathers: a server reachable only
        // over IPv6 is still a call (each wildcard becomes one candidate
        // per interface of its family; link-local ones are skipped).
        .with_udp_addrs(vec![
            "0.0.0.0:0".to_owned(),
            "[::]:0".to_owned(),
            "127.0.0.1:0".to_owned(),
        ])
        // ICE-TCP too, as libwebrtc gathers it: where UDP is blocked, or
        // when the server asks for TCP (LiveKit's fallback after UDP
        // fails), our active TCP candidates dial its passive one. Host UDP
        // pairs rank higher, so an open network stays on UDP.
        .with_tcp_addrs(vec![
            "0.0.0.0:0".to_owned(),
            "[::]:0".to_owned(),
            "127.0.0.1:0".to_owned(),
        ])
        .build()
        .await?;
    Ok((Arc::new(pc), estimate, reports))
}
