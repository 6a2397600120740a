//! Which path media takes: each peer connection's selected ICE candidate
//! pair, read from WebRTC's own statistics (`getStats`), the same facts a
//! browser's webrtc-internals shows. For tests and support tools: a call
//! switched to ICE-TCP can be seen to be on TCP, not only to be working.

use std::time::Instant;

use webrtc::peer_connection::{PeerConnection, RTCStatsReport, RTCStatsReportEntry, StatsSelector};

use super::transport::Transports;

/// The transport protocol of a candidate pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathProtocol {
    Udp,
    Tcp,
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
    /// Bytes sent and received on this pair so far (media and checks).
    pub bytes_sent: u64,
    pub bytes_received: u64,
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
        let publisher = path(transports.publisher.pc.as_ref(), now).await;
        let subscriber = match &transports.subscriber {
            Some(subscriber) => path(subscriber.pc.as_ref(), now).await,
            None => publisher.clone(),
        };
        MediaPaths {
            publisher,
            subscriber,
        }
    }
}

/// One connection's path now.
async fn path(pc: &dyn PeerConnection, now: Instant) -> Option<MediaPath> {
    selected(&pc.get_stats(now, StatsSelector::None).await)
}

/// The selected pair of a report, as the transport names it.
fn selected(report: &RTCStatsReport) -> Option<MediaPath> {
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
    Some(MediaPath {
        protocol,
        remote: remote.and_then(|c| Some(format!("{}:{}", c.address.as_deref()?, c.port))),
        bytes_sent: pair.bytes_sent,
        bytes_received: pair.bytes_received,
    })
}
