//! The call's statistics as the page shows them (the stats panel, once a
//! second) and the reasons behind each quality: from WebRTC's own counters
//! of the call (`rtcstack::CallCounters`) and their rates over a few
//! seconds (`rtcstack::rates`). "Poor — 12 % packet loss" comes from our
//! measurements of that participant's tracks and our own transport.

use rtcstack::rates::StreamRates;
use rtcstack::{CallCounters, MediaPath, MediaPaths, Participant, PathProtocol};
use serde::Serialize;
use ts_rs::TS;

use crate::i18n::Sentence;

/// Above these, a measurement is a reason for a lower quality.
const LOSS_PERCENT: f64 = 2.0;
const RTT_MS: f64 = 300.0;
const JITTER_MS: f64 = 30.0;

/// One connection's row.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct ConnectionRow {
    /// `publisher`, `subscriber`, or `both` (one connection both ways).
    pub role: String,
    /// `udp 192.0.2.1:7882`; none before a pair is selected.
    pub path: Option<String>,
    pub rtt_ms: Option<f64>,
}

/// One media stream's row: received from someone, or sent by us.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StreamRow {
    /// Whose: their identity, or ours for what we send.
    pub identity: String,
    pub inbound: bool,
    pub kind: String,
    /// A layer of a video we send in several (`q`, `h`, `f`: quarter,
    /// half, full size).
    pub rid: Option<String>,
    pub loss_percent: f64,
    pub kbps: f64,
    pub jitter_ms: f64,
    pub rtt_ms: Option<f64>,
    /// Loss and jitter are known (a stream we send: once the server has
    /// reported on it).
    pub measured: bool,
    pub codec: Option<String>,
    /// A stream we play: the share of it made up for lost or late
    /// packets, percent.
    pub concealed_percent: Option<f64>,
    /// A stream we play: the share of it rebuilt from the copy the packet
    /// after a lost one carried, percent.
    pub repaired_percent: Option<f64>,
    /// A stream we play: how long our jitter buffer holds it, ms.
    pub playout_delay_ms: Option<f64>,
    /// A video we receive: its last picture's size (the layer the server
    /// sends us), as "640×360".
    pub picture: Option<String>,
}

/// The stats panel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct StatsView {
    /// The round trip to the server now, ms.
    pub rtt_ms: Option<f64>,
    pub connections: Vec<ConnectionRow>,
    pub streams: Vec<StreamRow>,
}

/// Why a participant's quality is what it is, in words.
#[derive(Debug, Clone, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct QualityReason {
    pub identity: String,
    /// The worst measurement past its limit ("12 % packet loss"), or what
    /// was measured when none is ("no packet loss, 14 ms round trip").
    pub text: String,
    /// Whether `text` names a problem.
    pub problem: bool,
}

/// The notice for media that does not take UDP straight to the server, by
/// the way our own media goes.
pub(crate) fn path_notice(paths: &MediaPaths) -> Option<Sentence> {
    let p = paths.publisher.as_ref().or(paths.subscriber.as_ref())?;
    match (p.relay, p.protocol) {
        (Some(relay), _) => Some(Sentence::new("notice.onlyRelay").with("relay", relay)),
        (None, PathProtocol::Tcp) => Some(Sentence::new("notice.udpBlocked")),
        (None, PathProtocol::Udp) => None,
    }
}

pub(crate) fn path_words(p: &MediaPath) -> String {
    let protocol = match p.protocol {
        PathProtocol::Udp => "udp",
        PathProtocol::Tcp => "tcp",
    };
    let how = match &p.remote {
        Some(r) => format!("{protocol} {r}"),
        None => protocol.to_string(),
    };
    match p.relay {
        Some(relay) => format!("{how} (relay over {relay})"),
        None => how,
    }
}

/// The panel and the reasons, from counters, their rates, who owns which
/// track, and who we are.
pub(crate) fn view_of(
    counters: &CallCounters,
    rates: &[StreamRates],
    participants: &[Participant],
    us: &str,
) -> (StatsView, Vec<QualityReason>) {
    let rtt_ms = counters.rtt_ms();
    let role = |i: usize| match (i, counters.subscriber.is_some()) {
        (_, false) => "both",
        (0, true) => "publisher",
        _ => "subscriber",
    };
    let connections = counters
        .connections()
        .enumerate()
        .map(|(i, c)| ConnectionRow {
            role: role(i).to_string(),
            path: c.path.as_ref().map(path_words),
            rtt_ms: c.rtt_ms,
        })
        .collect();
    let owner = |track: &str| {
        participants
            .iter()
            .find(|p| p.tracks.iter().any(|t| t.sid == track))
            .map(|p| p.identity.clone())
    };
    let streams: Vec<StreamRow> = rates
        .iter()
        .filter_map(|r| {
            let identity = if r.inbound {
                owner(&r.track)?
            } else {
                us.to_string()
            };
            Some(StreamRow {
                identity,
                inbound: r.inbound,
                kind: r.kind.clone(),
                rid: r.rid.clone(),
                loss_percent: r.loss_percent,
                kbps: r.kbps,
                jitter_ms: r.jitter_ms,
                rtt_ms: r.rtt_ms,
                measured: r.measured,
                codec: r.codec.clone(),
                concealed_percent: r.concealed_percent,
                repaired_percent: r.repaired_percent,
                playout_delay_ms: r.playout_delay_ms,
                picture: r.picture.map(|p| format!("{}×{}", p.width, p.height)),
            })
        })
        .collect();
    let mut reasons: Vec<QualityReason> = participants
        .iter()
        .filter_map(|p| {
            let theirs = streams.iter().filter(|s| s.identity == p.identity);
            // Nothing measured of them yet: no reason to give.
            theirs.clone().next()?;
            let loss = theirs.clone().map(|s| s.loss_percent).fold(0.0, f64::max);
            let jitter = theirs.map(|s| s.jitter_ms).fold(0.0, f64::max);
            // Their streams' loss and jitter; the round trip is ours, and
            // goes in our own reason.
            reason(&p.identity, loss, jitter, None, "on the way to you")
        })
        .collect();
    // Ours: what the server's receiver reports say of what we send; without
    // any yet, the loss every stream we receive shares (our own link's).
    let sent = streams.iter().filter(|s| !s.inbound);
    let reported = sent
        .clone()
        .filter(|s| s.measured)
        .map(|s| s.loss_percent)
        .reduce(f64::max);
    let shared = streams
        .iter()
        .filter(|s| s.inbound)
        .map(|s| s.loss_percent)
        .reduce(f64::min);
    let jitter = sent
        .filter(|s| s.measured)
        .map(|s| s.jitter_ms)
        .fold(0.0, f64::max);
    if !streams.is_empty() {
        reasons.extend(reason(
            us,
            reported.or(shared).unwrap_or(0.0),
            jitter,
            rtt_ms,
            "on your connection",
        ));
    }
    reasons.sort_by(|a, b| a.identity.cmp(&b.identity));
    (
        StatsView {
            rtt_ms,
            connections,
            streams,
        },
        reasons,
    )
}

/// The worst of a participant's measurements (`loss` says `where` it was
/// measured), or what was measured when none is past its limit.
fn reason(
    identity: &str,
    loss: f64,
    jitter: f64,
    rtt_ms: Option<f64>,
    place: &str,
) -> Option<QualityReason> {
    let (text, problem) = if loss >= LOSS_PERCENT {
        (format!("{loss:.0} % packet loss {place}"), true)
    } else if let Some(rtt) = rtt_ms.filter(|r| *r >= RTT_MS) {
        (format!("{rtt:.0} ms round trip"), true)
    } else if jitter >= JITTER_MS {
        (format!("{jitter:.0} ms jitter"), true)
    } else {
        // Under the limit: one decimal, so 1.6 % does not read as the 2 %
        // that would be a problem.
        let rtt = rtt_ms.map_or(String::new(), |r| format!(", {r:.0} ms round trip"));
        (format!("{loss:.1} % packet loss{rtt}"), false)
    };
    Some(QualityReason {
        identity: identity.to_string(),
        text,
        problem,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_other_than_udp_is_a_notice_naming_how_the_media_gets_through() {
        let path = |protocol, relay| MediaPaths {
            publisher: Some(MediaPath {
                protocol,
                relay,
                remote: None,
                local: None,
                bytes_sent: 0,
                bytes_received: 0,
            }),
            subscriber: None,
        };
        assert_eq!(path_notice(&path(PathProtocol::Udp, None)), None);
        assert_eq!(
            path_notice(&path(PathProtocol::Tcp, None))
                .map(|s| s.to_string())
                .as_deref(),
            Some("UDP is blocked on this network: connected over TCP, which can add delay")
        );
        assert_eq!(
            path_notice(&path(PathProtocol::Udp, Some(rtcstack::RelayProtocol::Tls)))
                .map(|s| s.to_string())
                .as_deref(),
            Some("Only a relay gets through on this network: connected through TURN over TLS, which can add delay")
        );
        assert_eq!(path_notice(&MediaPaths::default()), None);
    }

    #[test]
    fn the_worst_measurement_past_its_limit_is_the_reason() {
        let r = reason("a", 11.6, 40.0, Some(400.0), "on the way to you").unwrap();
        assert_eq!(
            (r.text.as_str(), r.problem),
            ("12 % packet loss on the way to you", true)
        );
        let r = reason("a", 0.4, 40.0, Some(312.4), "x").unwrap();
        assert_eq!(r.text, "312 ms round trip");
        let r = reason("a", 0.4, 40.0, Some(20.0), "x").unwrap();
        assert_eq!(r.text, "40 ms jitter");
        let r = reason("a", 0.0, 2.0, Some(14.2), "x").unwrap();
        assert_eq!(
            (r.text.as_str(), r.problem),
            ("0.0 % packet loss, 14 ms round trip", false)
        );
    }
}
