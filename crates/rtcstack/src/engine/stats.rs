//! What WebRTC's own statistics (`getStats`, the facts a browser's
//! webrtc-internals shows) say of a call: which path media takes (each
//! peer connection's selected ICE candidate pair: a call switched to
//! ICE-TCP can be seen to be on TCP, not only to be working), its round
//! trip, and each RTP stream's counters (packets, losses, bytes, jitter).
//! Counters only: rates over a window are [`crate::rates`]'s.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rtc::peer_connection::transport::RTCIceCandidateType;
use webrtc::peer_connection::{PeerConnection, RTCStatsReport, RTCStatsReportEntry, StatsSelector};

use super::transport::{Transport, Transports};
use crate::audio::jitter::JitterStats;
use crate::wire::TurnStreams;

/// Something each received track's task writes as it goes, by track sid,
/// read with the counters.
pub(crate) struct Book<T>(Arc<Mutex<HashMap<String, T>>>);

impl<T> Clone for Book<T> {
    fn clone(&self) -> Self {
        Book(Arc::clone(&self.0))
    }
}

impl<T> Default for Book<T> {
    fn default() -> Self {
        Book(Arc::default())
    }
}

/// Each received track's playout (our jitter buffer: what it played, what
/// it concealed, how long it holds audio).
pub(crate) type PlayoutBook = Book<JitterStats>;

/// Each received video's size as last decoded: which of the sender's
/// layers the server forwards to us.
pub(crate) type PictureBook = Book<PictureSize>;

impl<T: Copy> Book<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, T>> {
        // Plain numbers, written whole.
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn write(&self, track: &str, value: T) {
        let mut book = self.lock();
        match book.get_mut(track) {
            // Often (every 20 ms, every picture): no allocation once the
            // track is in.
            Some(s) => *s = value,
            None => {
                book.insert(track.to_string(), value);
            }
        }
    }

    pub(crate) fn remove(&self, track: &str) {
        self.lock().remove(track);
    }

    fn get(&self, track: &str) -> Option<T> {
        self.lock().get(track).copied()
    }
}

/// A picture's size, pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PictureSize {
    pub width: u32,
    pub height: u32,
}

/// A received track's playout since it began.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayoutCounters {
    /// 20 ms frames played from packets.
    pub played: u64,
    /// Frames made up for packets that did not come in time.
    pub concealed: u64,
    /// Lost frames rebuilt from the copy the packet after them carried
    /// (Opus in-band repair).
    pub repaired: u64,
    /// How long the jitter buffer holds audio before playing it, ms.
    pub delay_ms: f64,
}

/// The transport protocol of a candidate pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProtocol {
    Udp,
    Tcp,
}

/// How a relay candidate reaches its TURN server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RelayProtocol {
    Udp,
    Tcp,
    /// TCP with TLS (`turns:`), often on port 443: what gets through when
    /// nothing else does.
    Tls,
}

impl std::fmt::Display for RelayProtocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            RelayProtocol::Udp => "UDP",
            RelayProtocol::Tcp => "TCP",
            RelayProtocol::Tls => "TLS",
        })
    }
}

/// One peer connection's selected candidate pair.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPath {
    /// From the pair's local candidate (its remote one when the local is
    /// not in the report).
    pub protocol: PathProtocol,
    /// The server's end, `address:port`, as its candidate names it (`None`
    /// for one learned from the server's own check, not yet signalled).
    pub remote: Option<String>,
    /// Our end, `address:port` (for a relay, the relay's address).
    pub local: Option<String>,
    /// Through a TURN relay (either end a relay candidate), and how our end
    /// reaches it: it works where nothing else does, with a detour.
    pub relay: Option<RelayProtocol>,
    /// Bytes sent and received on this pair so far (media and checks).
    pub bytes_sent: u64,
    pub bytes_received: u64,
}

/// The far end's last report on a stream we send.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SentReport {
    /// When it came.
    pub at: Instant,
    /// Of our packets, how many the far end expected by then (its highest
    /// sequence number, extended, from where the stream began): the loss
    /// since an earlier report is of the packets expected since, both in
    /// its words (what we sent by then runs up to a second ahead).
    pub expected: u64,
}

/// A round trip from a report older than this is no longer told (a layer
/// paused, an outage).
pub const STALE_REPORT: Duration = Duration::from_secs(5);

/// One RTP stream's counters since it began.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamCounters {
    /// The track as LiveKit names it (`TR_…`).
    pub track: String,
    /// `audio` or `video`.
    pub kind: String,
    /// A layer of a video we send in several: its RTP stream id (`q`, `h`,
    /// `f`, smallest first).
    pub rid: Option<String>,
    /// Received (a stream we receive) or sent (one we send).
    pub packets: u64,
    /// Lost on the way: counted by us for a stream we receive, by the
    /// server's receiver reports for one we send (0 before the first).
    pub lost: i64,
    /// Payload bytes received or sent.
    pub bytes: u64,
    /// Inter-arrival jitter (RFC 3550), ms: ours, or the server's report.
    pub jitter_ms: f64,
    /// Round trip measured by the server's last report on a stream we
    /// send (none from a report older than [`STALE_REPORT`]), ms.
    pub rtt_ms: Option<f64>,
    /// A stream we send: the server's last report on it, so `lost` and
    /// `jitter_ms` are its word (without one they are 0, unknown).
    pub report: Option<SentReport>,
    /// The codec's name (`opus`), once negotiated.
    pub codec: Option<String>,
    /// A stream we receive and play: our jitter buffer's counters.
    pub playout: Option<PlayoutCounters>,
    /// A video we receive and decode: its last picture's size.
    pub picture: Option<PictureSize>,
}

/// One peer connection's facts now.
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectionCounters {
    pub path: Option<MediaPath>,
    /// The selected pair's current round trip (ICE consent checks), ms.
    pub rtt_ms: Option<f64>,
    /// Streams received and sent on this connection.
    pub inbound: Vec<StreamCounters>,
    pub outbound: Vec<StreamCounters>,
}

impl ConnectionCounters {
    async fn of(
        transport: &Transport,
        relays: &TurnStreams,
        now: Instant,
        book: &PlayoutBook,
        pictures: &PictureBook,
    ) -> Self {
        let pc = transport.pc.as_ref();
        let report = pc.get_stats(now, StatsSelector::None).await;
        let pair_rtt = report
            .transport()
            .and_then(|t| {
                report
                    .candidate_pairs()
                    .find(|p| p.stats.id == t.selected_candidate_pair_id)
            })
            .map(|p| p.current_round_trip_time * 1000.0)
            .filter(|ms| *ms > 0.0);
        // Jitter comes as RTCP has it, in the stream's RTP clock ticks.
        let tick_ms = |stream: &rtc::statistics::stats::rtp_stream::RTCRtpStreamStats| {
            let rate = report
                .iter()
                .find_map(|e| match e {
                    RTCStatsReportEntry::Codec(c) if c.stats.id == stream.codec_id => {
                        Some(c.clock_rate)
                    }
                    _ => None,
                })
                .filter(|r| *r > 0)
                // Where rtc names no codec (a stream we send): Opus's
                // clock, or video's.
                .unwrap_or(match stream.kind.to_string().as_str() {
                    "video" => 90_000,
                    _ => 48_000,
                });
            1000.0 / f64::from(rate)
        };
        // "audio/opus" → "opus".
        let codec = |stream: &rtc::statistics::stats::rtp_stream::RTCRtpStreamStats| {
            report.iter().find_map(|e| match e {
                RTCStatsReportEntry::Codec(c) if c.stats.id == stream.codec_id => Some(
                    c.mime_type
                        .rsplit('/')
                        .next()
                        .unwrap_or_default()
                        .to_ascii_lowercase(),
                ),
                _ => None,
            })
        };
        let inbound = report
            .inbound_rtp_streams()
            .map(|s| {
                let r = &s.received_rtp_stream_stats;
                StreamCounters {
                    track: s.track_identifier.clone(),
                    rid: None,
                    kind: r.rtp_stream_stats.kind.to_string(),
                    packets: r.packets_received,
                    lost: r.packets_lost,
                    bytes: s.bytes_received,
                    jitter_ms: r.jitter * tick_ms(&r.rtp_stream_stats),
                    rtt_ms: None,
                    report: None,
                    codec: codec(&r.rtp_stream_stats),
                    playout: book.get(&s.track_identifier).map(|j| PlayoutCounters {
                        played: j.played,
                        concealed: j.concealed,
                        repaired: j.repaired,
                        delay_ms: j.target_delay_ms,
                    }),
                    picture: pictures.get(&s.track_identifier),
                }
            })
            .collect();
        let outbound = report
            .outbound_rtp_streams()
            .map(|s| {
                let sent = &s.sent_rtp_stream_stats;
                // The far end's last report on this stream, if any yet
                // (recorded as it passed: rtc's own entry stays zeros).
                let ssrc = sent.rtp_stream_stats.ssrc;
                let far = transport.reports.get(ssrc);
                StreamCounters {
                    track: transport
                        .sent
                        .sid(ssrc)
                        .unwrap_or_else(|| s.media_source_id.clone()),
                    kind: sent.rtp_stream_stats.kind.to_string(),
                    rid: Some(s.rid.clone()).filter(|r| !r.is_empty()),
                    packets: sent.packets_sent,
                    lost: far.map_or(0, |r| r.lost),
                    bytes: sent.bytes_sent,
                    jitter_ms: far.map_or(0.0, |r| {
                        f64::from(r.jitter) * tick_ms(&sent.rtp_stream_stats)
                    }),
                    rtt_ms: far
                        .filter(|r| r.at.elapsed() < STALE_REPORT)
                        .and_then(|r| r.rtt_ms),
                    report: far.map(|r| SentReport {
                        at: r.at,
                        expected: u64::from(r.highest),
                    }),
                    codec: codec(&sent.rtp_stream_stats)
                        .or_else(|| transport.sent.codec(ssrc).map(str::to_owned)),
                    playout: None,
                    picture: None,
                }
            })
            .collect();
        ConnectionCounters {
            path: selected(&report, relays),
            rtt_ms: pair_rtt,
            inbound,
            outbound,
        }
    }
}

/// Both connections' counters at one moment (in single-PC mode one
/// connection carries both ways: `subscriber` is `None`).
#[derive(Debug, Clone)]
pub struct CallCounters {
    pub at: Instant,
    /// Which session (a rejoin makes a new one, whose counters start
    /// again from zero).
    pub session: u64,
    pub publisher: ConnectionCounters,
    pub subscriber: Option<ConnectionCounters>,
}

impl CallCounters {
    pub(crate) async fn of(
        transports: &Transports,
        session: u64,
        book: &PlayoutBook,
        pictures: &PictureBook,
    ) -> Self {
        let now = Instant::now();
        let publisher = ConnectionCounters::of(
            &transports.publisher,
            &transports.relays,
            now,
            book,
            pictures,
        )
        .await;
        let subscriber = match &transports.subscriber {
            Some(s) => {
                Some(ConnectionCounters::of(s, &transports.relays, now, book, pictures).await)
            }
            None => None,
        };
        CallCounters {
            at: now,
            session,
            publisher,
            subscriber,
        }
    }

    /// Every stream we receive, on whichever connection.
    pub fn inbound(&self) -> impl Iterator<Item = &StreamCounters> {
        self.connections().flat_map(|c| c.inbound.iter())
    }

    /// Every stream we send.
    pub fn outbound(&self) -> impl Iterator<Item = &StreamCounters> {
        self.connections().flat_map(|c| c.outbound.iter())
    }

    pub fn connections(&self) -> impl Iterator<Item = &ConnectionCounters> {
        std::iter::once(&self.publisher).chain(self.subscriber.as_ref())
    }

    /// The round trip to the server: the selected pair's, else a
    /// receiver report's.
    pub fn rtt_ms(&self) -> Option<f64> {
        self.connections()
            .find_map(|c| c.rtt_ms)
            .or_else(|| self.outbound().find_map(|s| s.rtt_ms))
    }
}

/// Both connections' paths; `None` where no pair is selected (not yet
/// connected, or the selected pair could not be named).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MediaPaths {
    /// Our audio to the server.
    pub publisher: Option<MediaPath>,
    /// Everyone else's audio to us.
    pub subscriber: Option<MediaPath>,
}

impl MediaPaths {
    /// In single-PC mode one connection carries both ways: both name it.
    pub(crate) async fn of(transports: &Transports) -> Self {
        let now = Instant::now();
        let relays = &transports.relays;
        let publisher = path(transports.publisher.pc.as_ref(), relays, now).await;
        let subscriber = match &transports.subscriber {
            Some(subscriber) => path(subscriber.pc.as_ref(), relays, now).await,
            None => publisher.clone(),
        };
        MediaPaths {
            publisher,
            subscriber,
        }
    }
}

/// One connection's path now.
async fn path(pc: &dyn PeerConnection, relays: &TurnStreams, now: Instant) -> Option<MediaPath> {
    selected(&pc.get_stats(now, StatsSelector::None).await, relays)
}

/// The selected pair of a report, as the transport names it; a relay of
/// ours as `relays` carries it.
fn selected(report: &RTCStatsReport, relays: &TurnStreams) -> Option<MediaPath> {
    let id = &report.transport()?.selected_candidate_pair_id;
    let pair = report.candidate_pairs().find(|p| &p.stats.id == id)?;
    // The pair names its candidates by their ICE ids; the report keys them
    // with a prefix.
    let local_key = format!("RTCLocalIceCandidate_{}", pair.local_candidate_id);
    let remote_key = format!("RTCRemoteIceCandidate_{}", pair.remote_candidate_id);
    let local = report.iter().find_map(|e| match e {
        RTCStatsReportEntry::LocalCandidate(c) if c.stats.id == local_key => Some(c),
        _ => None,
    });
    let remote = report.iter().find_map(|e| match e {
        RTCStatsReportEntry::RemoteCandidate(c) if c.stats.id == remote_key => Some(c),
        _ => None,
    });
    let protocol = match local.or(remote)?.protocol.to_ascii_lowercase().as_str() {
        "udp" => PathProtocol::Udp,
        "tcp" => PathProtocol::Tcp,
        _ => return None,
    };
    let is_relay = |t: &RTCIceCandidateType| *t == RTCIceCandidateType::Relay;
    // A server's relay candidate (never LiveKit's) is reached as the pair's
    // protocol says.
    let relay = match (local, remote) {
        (Some(l), _) if is_relay(&l.candidate_type) => Some(relays.protocol_of(&l.url)),
        (_, Some(r)) if is_relay(&r.candidate_type) => Some(match protocol {
            PathProtocol::Udp => RelayProtocol::Udp,
            PathProtocol::Tcp => RelayProtocol::Tcp,
        }),
        _ => None,
    };
    Some(MediaPath {
        protocol,
        relay,
        remote: remote.and_then(|c| Some(format!("{}:{}", c.address.as_deref()?, c.port))),
        local: local.and_then(|c| Some(format!("{}:{}", c.address.as_deref()?, c.port))),
        bytes_sent: pair.bytes_sent,
        bytes_received: pair.bytes_received,
    })
}
