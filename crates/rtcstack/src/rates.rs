//! Rates from successive statistics ([`crate::CallCounters`]): each
//! stream's packet loss and bitrate over a sliding window, beside its
//! jitter and round trip now. Sans-IO: the caller takes the counters (say
//! once a second) and hands them in with the moment they were taken.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::engine::stats::{CallCounters, StreamCounters};

/// One stream's rates over the window.
#[derive(Debug, Clone, PartialEq)]
pub struct StreamRates {
    pub track: String,
    pub kind: String,
    /// A layer of a video we send in several: its RTP stream id.
    pub rid: Option<String>,
    /// Received by us (else sent).
    pub inbound: bool,
    /// Lost of those sent, percent, over the window (0 with too few).
    pub loss_percent: f64,
    pub kbps: f64,
    pub jitter_ms: f64,
    pub rtt_ms: Option<f64>,
    /// Loss and jitter are measured (always for a stream we receive; for
    /// one we send, once the server reported on it).
    pub measured: bool,
    pub codec: Option<String>,
    /// A stream we play: the share of its frames made up over the window
    /// (a lost or late packet is concealed), percent.
    pub concealed_percent: Option<f64>,
    /// A stream we play: the share of its frames rebuilt from the copy the
    /// packet after them carried (lost, not made up), percent.
    pub repaired_percent: Option<f64>,
    /// A stream we play: how long our jitter buffer holds it now, ms.
    pub playout_delay_ms: Option<f64>,
    /// A video we receive: its last picture's size.
    pub picture: Option<crate::PictureSize>,
}

/// A received stream's stall.
#[derive(Debug, Clone, Copy)]
enum Stall {
    /// Nothing received since the counters before; `lost` then.
    Quiet { lost: i64 },
    /// Flowing again, the first packets after it having skipped some: the
    /// window starts at the counters `from`.
    Skipped { from: Instant },
}

/// Way, track and layer: our video's layers share its track.
type Key = (bool, String, Option<String>);

/// Counters kept over a sliding window.
pub struct Rates {
    window: Duration,
    /// The session the history is of: a new one's counters start again.
    session: Option<u64>,
    /// The first counters' time (since `new` or the session's start): the
    /// server's reports on what we send count from one that came after it
    /// (one from before an outage would lay the outage's lost packets on
    /// the first report after it).
    since: Option<Instant>,
    history: VecDeque<(Instant, HashMap<Key, StreamCounters>)>,
    /// Each received stream's packets at the last counters, kept through
    /// [`Rates::restart`]: a stream that received nothing since then has
    /// stalled.
    last_packets: HashMap<Key, u64>,
    /// Received streams that stalled (with their lost count then) and
    /// have not received since, and those whose first packets after it
    /// skipped some, with the counters their window starts at: the
    /// packets a gap skipped (an outage, on resume) count as lost only
    /// once the first after it arrives, which may be after the window
    /// began again. A pause that skipped nothing (a talker's silence
    /// sent as nothing, a layer the server paused) keeps its window.
    stalled: HashMap<Key, Stall>,
}

fn streams(c: &CallCounters) -> HashMap<Key, StreamCounters> {
    let key = |inbound, s: &StreamCounters| (inbound, s.track.clone(), s.rid.clone());
    c.inbound()
        .map(|s| (key(true, s), s.clone()))
        .chain(c.outbound().map(|s| (key(false, s), s.clone())))
        .collect()
}

impl Rates {
    /// Rates over `window` (loss needs a few hundred packets to mean much:
    /// audio sends 50 a second).
    pub fn new(window: Duration) -> Self {
        Rates {
            window,
            session: None,
            since: None,
            history: VecDeque::new(),
            last_packets: HashMap::new(),
            stalled: HashMap::new(),
        }
    }

    /// Starts the window again (after an outage: its lost packets are the
    /// banner's news, not the connection's quality once it is back).
    pub fn restart(&mut self) {
        self.history.clear();
        self.since = None;
    }

    /// Notes which received streams stalled (nothing since the last
    /// counters) and which flow again, from `at`.
    fn note_flow(&mut self, at: Instant, now: &HashMap<Key, StreamCounters>) {
        for (key, s) in now.iter().filter(|(k, _)| k.0) {
            let moved = self
                .last_packets
                .insert(key.clone(), s.packets)
                .is_none_or(|last| s.packets > last);
            match (moved, self.stalled.get(key).copied()) {
                (false, Some(Stall::Quiet { .. })) => {}
                (false, _) => {
                    self.stalled
                        .insert(key.clone(), Stall::Quiet { lost: s.lost });
                }
                (true, Some(Stall::Quiet { lost })) if s.lost > lost => {
                    self.stalled
                        .insert(key.clone(), Stall::Skipped { from: at });
                }
                (true, Some(Stall::Quiet { .. })) => {
                    self.stalled.remove(key);
                }
                _ => {}
            }
        }
    }

    /// Counters taken at `c.at`: every stream's rates over the window that
    /// ends there (a stream seen once has none yet).
    pub fn push(&mut self, c: &CallCounters) -> Vec<StreamRates> {
        if self.session != Some(c.session) {
            // A rejoin: the old session's counters are no base for the new.
            self.session = Some(c.session);
            self.restart();
            self.last_packets.clear();
            self.stalled.clear();
        }
        let since = *self.since.get_or_insert(c.at);
        let now = streams(c);
        self.note_flow(c.at, &now);
        // Keep the newest sample at or beyond the window's start, as the
        // window's base.
        while self.history.len() >= 2
            && c.at.saturating_duration_since(self.history[1].0) >= self.window
        {
            self.history.pop_front();
        }
        let mut out: Vec<StreamRates> = now
            .iter()
            .filter_map(|(key, s)| {
                // A stream that stalled: its window starts again once it
                // flows (with no base yet then, it has no rates for a
                // second, as a new stream).
                let from = match self.stalled.get(key) {
                    Some(Stall::Skipped { from }) => Some(*from),
                    _ => None,
                };
                let (at, before) = self
                    .history
                    .iter()
                    .filter(|(at, _)| from.is_none_or(|f| *at >= f))
                    .find_map(|(at, m)| m.get(key).map(|b| (*at, b)))?;
                // A stream we send: the oldest report in the window that
                // came since `since`, for its loss.
                let reported = self.history.iter().find_map(|(_, m)| {
                    m.get(key)
                        .filter(|b| b.report.is_some_and(|r| r.at >= since))
                });
                let secs = c.at.saturating_duration_since(at).as_secs_f64();
                (secs > 0.0).then(|| rates(key.0, before, reported, s, secs))
            })
            .collect();
        out.sort_by(|a, b| (b.inbound, &a.track, &a.rid).cmp(&(a.inbound, &b.track, &b.rid)));
        self.history.push_back((c.at, now));
        out
    }
}

fn rates(
    inbound: bool,
    before: &StreamCounters,
    reported: Option<&StreamCounters>,
    now: &StreamCounters,
    secs: f64,
) -> StreamRates {
    let share = |lost: f64, of: f64| {
        if of > 0.0 {
            (100.0 * lost / of).min(100.0)
        } else {
            0.0
        }
    };
    let (loss_percent, measured) = if inbound {
        // Received packets leave the lost ones out.
        let packets = now.packets.saturating_sub(before.packets) as f64;
        let lost = (now.lost - before.lost).max(0) as f64;
        (share(lost, packets + lost), true)
    } else {
        // Sent: lost of those the server expected, between two of its
        // reports.
        match (reported, reported.and_then(|b| b.report), now.report) {
            (Some(b), Some(from), Some(to)) if to.at > from.at => {
                let expected = (to.expected as u32).wrapping_sub(from.expected as u32);
                let lost = (now.lost - b.lost).max(0) as f64;
                (share(lost, f64::from(expected)), true)
            }
            _ => (0.0, false),
        }
    };
    // A base taken before the track first played had no playout yet:
    // its counters were zero.
    let zero = crate::PlayoutCounters {
        played: 0,
        concealed: 0,
        repaired: 0,
        delay_ms: 0.0,
    };
    let (concealed_percent, repaired_percent) =
        match (before.playout.or(now.playout.map(|_| zero)), now.playout) {
            (Some(b), Some(n)) => {
                let concealed = n.concealed.saturating_sub(b.concealed) as f64;
                let repaired = n.repaired.saturating_sub(b.repaired) as f64;
                let frames = n.played.saturating_sub(b.played) as f64 + concealed + repaired;
                let part = |x: f64| {
                    if frames > 0.0 {
                        100.0 * x / frames
                    } else {
                        0.0
                    }
                };
                (Some(part(concealed)), Some(part(repaired)))
            }
            _ => (None, None),
        };
    StreamRates {
        track: now.track.clone(),
        kind: now.kind.clone(),
        rid: now.rid.clone(),
        inbound,
        loss_percent,
        kbps: now.bytes.saturating_sub(before.bytes) as f64 * 8.0 / secs / 1000.0,
        jitter_ms: now.jitter_ms,
        rtt_ms: now.rtt_ms,
        measured,
        codec: now.codec.clone(),
        concealed_percent,
        repaired_percent,
        playout_delay_ms: now.playout.map(|p| p.delay_ms),
        picture: now.picture,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::stats::ConnectionCounters;

    fn counters(at: Instant, packets: u64, lost: i64) -> CallCounters {
        let stream = StreamCounters {
            track: "TR_a".into(),
            kind: "audio".into(),
            rid: None,
            packets,
            lost,
            bytes: packets * 100,
            jitter_ms: 3.0,
            rtt_ms: None,
            report: None,
            codec: Some("opus".into()),
            // One frame in ten lost, as `lost` says: three of its five
            // concealed, two repaired.
            playout: Some(crate::PlayoutCounters {
                played: packets,
                concealed: (lost.max(0) as u64) * 3 / 5,
                repaired: (lost.max(0) as u64) * 2 / 5,
                delay_ms: 40.0,
            }),
            picture: None,
        };
        CallCounters {
            at,
            session: 1,
            publisher: ConnectionCounters {
                path: None,
                rtt_ms: Some(12.0),
                inbound: vec![stream],
                outbound: Vec::new(),
            },
            subscriber: None,
        }
    }

    #[test]
    fn loss_and_bitrate_are_taken_over_the_window() {
        let t0 = Instant::now();
        let mut r = Rates::new(Duration::from_secs(5));
        assert!(r.push(&counters(t0, 0, 0)).is_empty());
        // 45 packets a second arrive, 5 lost: 10 %.
        let mut last = Vec::new();
        for s in 1..=8u64 {
            last = r.push(&counters(t0 + Duration::from_secs(s), 45 * s, 5 * s as i64));
        }
        assert_eq!(last.len(), 1);
        assert!((last[0].loss_percent - 10.0).abs() < 1e-9, "{last:?}");
        assert!((last[0].kbps - 36.0).abs() < 1e-9, "{last:?}");
        assert!(last[0].inbound);
        let concealed = last[0].concealed_percent.unwrap();
        assert!((concealed - 6.0).abs() < 1e-9, "{last:?}");
        let repaired = last[0].repaired_percent.unwrap();
        assert!((repaired - 4.0).abs() < 1e-9, "{last:?}");
        assert_eq!(last[0].playout_delay_ms, Some(40.0));
        assert_eq!(last[0].codec.as_deref(), Some("opus"));
        // Loss ends: after a whole window, none is reported.
        for s in 9..=14u64 {
            last = r.push(&counters(t0 + Duration::from_secs(s), 40 + 50 * s, 40));
        }
        assert_eq!(last[0].loss_percent, 0.0, "{last:?}");
    }

    #[test]
    fn a_sent_streams_loss_is_the_servers_between_reports_that_came_since_the_start() {
        let t0 = Instant::now();
        let sent = |at: Instant, report_at: Instant, expected: u64, lost: i64| {
            let mut c = counters(at, 0, 0);
            c.publisher.inbound.clear();
            c.publisher.outbound = vec![StreamCounters {
                track: "TR_ours".into(),
                kind: "audio".into(),
                rid: None,
                // We sent more than the server had expected by its report.
                packets: expected + 50,
                lost,
                bytes: 0,
                jitter_ms: 0.0,
                rtt_ms: None,
                report: Some(crate::SentReport {
                    at: report_at,
                    expected,
                }),
                codec: None,
                playout: None,
                picture: None,
            }];
            c
        };
        let s = Duration::from_secs;
        let mut r = Rates::new(s(10));
        // Back from an outage: the last report is from before it.
        r.push(&sent(t0, t0 - s(5), 1_000, 10));
        // The first after it counts the outage's 450 lost: no base yet.
        let out = r.push(&sent(t0 + s(1), t0 + s(1), 1_500, 460));
        assert!(!out[0].measured, "{out:?}");
        assert_eq!(out[0].loss_percent, 0.0);
        // Then 5 of the 50 expected since: 10 %, not 455 of 550.
        let out = r.push(&sent(t0 + s(2), t0 + s(2), 1_550, 465));
        assert!(out[0].measured);
        assert!((out[0].loss_percent - 10.0).abs() < 1e-9, "{out:?}");
    }

    #[test]
    fn a_new_session_starts_the_window_again() {
        let t0 = Instant::now();
        let mut r = Rates::new(Duration::from_secs(5));
        r.push(&counters(t0, 300, 2));
        // Rejoined: the same track's counters start from zero.
        let mut fresh = counters(t0 + Duration::from_secs(1), 0, 0);
        fresh.session = 2;
        assert!(r.push(&fresh).is_empty(), "no base yet in the new session");
        let mut later = counters(t0 + Duration::from_secs(2), 45, 5);
        later.session = 2;
        let out = r.push(&later);
        assert!((out[0].loss_percent - 10.0).abs() < 1e-9, "{out:?}");
    }

    #[test]
    fn the_layers_of_a_video_we_send_are_each_a_stream() {
        let t0 = Instant::now();
        let sent = |at: Instant, per_second: [u64; 3]| {
            let mut c = counters(at, 0, 0);
            c.publisher.inbound.clear();
            let secs = at.duration_since(t0).as_secs();
            c.publisher.outbound = ["q", "h", "f"]
                .into_iter()
                .zip(per_second)
                .map(|(rid, n)| StreamCounters {
                    track: "TR_ours".into(),
                    kind: "video".into(),
                    rid: Some(rid.into()),
                    packets: n * secs,
                    lost: 0,
                    bytes: n * secs * 1_000,
                    jitter_ms: 0.0,
                    rtt_ms: None,
                    report: None,
                    codec: Some("vp8".into()),
                    playout: None,
                    picture: None,
                })
                .collect();
            c
        };
        let mut r = Rates::new(Duration::from_secs(5));
        r.push(&sent(t0, [10, 20, 40]));
        let out = r.push(&sent(t0 + Duration::from_secs(1), [10, 20, 40]));
        let kbps: Vec<_> = out.iter().map(|s| (s.rid.as_deref(), s.kbps)).collect();
        assert_eq!(
            kbps,
            [(Some("f"), 320.0), (Some("h"), 160.0), (Some("q"), 80.0)]
        );
    }

    #[test]
    fn counters_that_go_back_count_as_no_loss() {
        let t0 = Instant::now();
        let mut r = Rates::new(Duration::from_secs(5));
        r.push(&counters(t0, 100, 5));
        // A duplicate makes the lost count drop.
        let out = r.push(&counters(t0 + Duration::from_secs(1), 150, 3));
        assert_eq!(out[0].loss_percent, 0.0);
    }

    #[test]
    fn packets_an_outage_skipped_are_not_loss_once_the_stream_flows_again() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut r = Rates::new(Duration::from_secs(10));
        // 50 packets a second, none lost.
        for s in 0..=3 {
            r.push(&counters(at(s), 50 * s, 0));
        }
        // Cut: nothing arrives; the window restarts while reconnecting.
        r.push(&counters(at(4), 150, 0));
        r.restart();
        // Back, before the first packet after the gap.
        assert!(r.push(&counters(at(9), 150, 0)).is_empty());
        // The first after it: the 250 packets the gap skipped count as
        // lost in the stream's own counters, but not in its window.
        assert!(r.push(&counters(at(10), 200, 250)).is_empty());
        // From there: 2 of 50 lost, 4 %.
        let out = r.push(&counters(at(11), 248, 252));
        assert!((out[0].loss_percent - 4.0).abs() < 1e-9, "{out:?}");
        // The window grows from there: 2 of 100.
        let out = r.push(&counters(at(12), 298, 252));
        assert!((out[0].loss_percent - 2.0).abs() < 1e-9, "{out:?}");
    }

    #[test]
    fn a_pause_that_skipped_nothing_keeps_its_window() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut r = Rates::new(Duration::from_secs(10));
        // 50 packets a second, 1 lost in each.
        for s in 0..=3 {
            r.push(&counters(at(s), 49 * s, s as i64));
        }
        // Two seconds of silence sent as nothing (DTX), then talk again,
        // the numbers running on: no packet skipped.
        r.push(&counters(at(4), 147, 3));
        r.push(&counters(at(5), 147, 3));
        let out = r.push(&counters(at(6), 196, 3));
        // Still the window from the start: 3 of 199.
        let want = 300.0 / 199.0;
        assert!((out[0].loss_percent - want).abs() < 1e-9, "{out:?}");
    }
}
