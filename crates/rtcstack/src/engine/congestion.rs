//! The transport-wide estimate of what our uplink carries: GCC's delay
//! half (delay trend, overuse detection, AIMD rate control: rtc's parts)
//! over the server's transport-wide feedback, put together here rather
//! than taken whole as rtc's `Gcc`, for reasons seen against LiveKit:
//!
//! - Loss is not acted on here: the uplink's own controller
//!   (`video/uplink.rs`) follows what the server's receiver reports say
//!   was lost, once its NACKs had the holes filled. Transport-wide
//!   feedback also counts each lost original whose copy came, and each
//!   copy lost: under a 600 kbit/s cap with 100 ms of queue the server
//!   asked for a missing packet again every 40 ms or so, half of what we
//!   sent per report went missing (26–54 of 47–75) while its receiver
//!   reports told of under 10 %, and rtc's loss controller, halving by
//!   the share lost every 200 ms, took the estimate from its ceiling to
//!   258 kbit/s in 6 s: a shared screen's full layer paused (2 of 11
//!   runs alone, about one group run in three; none of 14 and the group
//!   whole without it). Both halves on one loss also cut twice for it.
//!   The share lost is still kept, for the statistics.
//!
//! - The rate the far end receives (what a decrease backs off from) is
//!   measured over the packets' arrival times there. `Gcc` measures it over
//!   the times the feedback reached us, and feedback comes in bursts: two
//!   reports a few microseconds apart read as gigabits a second, so its
//!   decreases went to its ceiling and it never backed off.
//! - The delay trend (per group of packets, in ms) is weighed by how many
//!   groups it has seen, up to 60, before it meets the adaptive threshold,
//!   as libwebrtc's overuse detector weighs it. `Gcc` compares the bare
//!   trend with a threshold made for the weighed one (6 ms and up), so it
//!   saw a queue grow only when it grew by a sixth of a frame interval per
//!   frame: 20 % more than a link carries went unseen while the queue
//!   filled (seen against a 700 kbit/s link with a second of buffer).
//! - On a path that reorders packets (one that overtakes another: a
//!   radio link's retries, per-packet jitter), one-way delay differences
//!   are noise: read as a trend, they cut a camera under 40 ± 30 ms of
//!   jitter from 1 Mbit/s to 250 kbit/s in a second, step by step, with
//!   nothing queued. While more than [`REORDERED`] of the recent packets
//!   arrived out of order, the delay trend is not acted on: the estimate
//!   goes on as with no queue (libwebrtc's inter-arrival filter drops
//!   reordered groups, and starts again when they keep coming, to the
//!   same end), and only loss the receiver reports (the uplink's own
//!   controller, over 10 %) holds us back. A queue on a bottleneck keeps
//!   order, so it is still seen; one on a path that also reorders is seen
//!   only once it overflows.
//! - Only packets numbered transport-wide count. LiveKit reports on video
//!   alone; rtc's history also hands over our unnumbered audio, which never
//!   comes back, as lost (16 % of what we send).
//!
//! Sans-IO: instants come with the reports.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use rtc::interceptor::{
    BandwidthEstimator, EstimatorStats, LossController, OveruseDetector, PacketReport,
    RateController, SlopeEstimator, Usage,
};

/// The span of arrivals the received rate is measured over.
const WINDOW: Duration = Duration::from_millis(500);
/// Less than this says nothing about a rate.
const LEAST_SPAN: Duration = Duration::from_millis(100);
/// The most arrivals kept (a window's worth at 100 Mbit/s).
const MOST_ARRIVALS: usize = 5_000;
/// The share of recent packets arriving out of order above which the
/// delay trend is noise (a bottleneck's queue keeps order: none).
const REORDERED: f64 = 0.05;
/// How many of the latest arrived packets that share is of.
const ORDER_SAMPLE: usize = 100;
/// An arrival this far before the newest is a far end's clock reset, not
/// a packet overtaken on the way.
const CLOCK_RESET: Duration = Duration::from_secs(1);
/// The most groups the trend is weighed by.
const MOST_DELTAS: u32 = 60;

pub(crate) struct Congestion {
    slope: SlopeEstimator,
    detector: OveruseDetector,
    delay: RateController,
    loss: LossController,
    /// Arrived packets: their arrival on the far end's clock, and size.
    arrivals: VecDeque<(Duration, usize)>,
    bytes: usize,
    /// The latest of their arrivals.
    newest: Option<Duration>,
    /// The latest departure of the packets reported.
    latest_sent: Option<Instant>,
    /// For the latest arrived packets (up to [`ORDER_SAMPLE`]): whether
    /// each came after one sent later had (overtaken on the way).
    overtaken: VecDeque<bool>,
    /// Trend readings so far (up to [`MOST_DELTAS`]).
    deltas: u32,
    min: f64,
    max: f64,
    target: f64,
}

impl Congestion {
    /// Starting at `initial` bit/s, held within `min..=max`.
    pub(crate) fn new(initial: f64, min: f64, max: f64) -> Self {
        let initial = initial.clamp(min, max);
        Congestion {
            slope: SlopeEstimator::new(),
            detector: OveruseDetector::new(),
            delay: RateController::new(initial, min, max),
            loss: LossController::new(initial, min, max),
            arrivals: VecDeque::new(),
            bytes: 0,
            newest: None,
            latest_sent: None,
            overtaken: VecDeque::new(),
            deltas: 0,
            min,
            max,
            target: initial,
        }
    }

    /// A packet of `size`, sent at `departure`, arrived `at` on the far
    /// end's clock. Reports come in the order sent (ours on our uplink)
    /// or in the order arrived (our downlink's): a packet overtaken on the
    /// way arrives before one sent earlier, or was sent before one that
    /// arrived earlier. The window spans the newest arrival. A clock that went back
    /// further than any path reorders (reset by the far end) starts the
    /// window again; clearing it at every packet that came out of order
    /// left a jittery path's window empty, and the decreases it should
    /// have backed off from did nothing (or came from a few packets).
    fn arrived(&mut self, at: Duration, size: usize, departure: Instant) {
        if self.overtaken.len() == ORDER_SAMPLE {
            self.overtaken.pop_front();
        }
        let overtaken =
            self.newest.is_some_and(|n| at < n) || self.latest_sent.is_some_and(|l| departure < l);
        self.overtaken.push_back(overtaken);
        self.latest_sent = Some(self.latest_sent.map_or(departure, |l| l.max(departure)));
        if self.newest.is_some_and(|n| at + CLOCK_RESET < n) || self.arrivals.len() >= MOST_ARRIVALS
        {
            self.arrivals.clear();
            self.bytes = 0;
            self.newest = None;
        }
        self.arrivals.push_back((at, size));
        self.bytes += size;
        self.newest = Some(self.newest.map_or(at, |n| n.max(at)));
    }

    /// Whether the path reorders: more than [`REORDERED`] of the latest
    /// packets overtaken.
    fn reorders(&self) -> bool {
        let overtaken = self.overtaken.iter().filter(|o| **o).count();
        overtaken as f64 > REORDERED * self.overtaken.len() as f64
    }

    /// What arrived over the last [`WINDOW`] of arrivals (bit/s).
    fn received(&mut self) -> Option<f64> {
        let newest = self.newest?;
        while let Some(&(at, size)) = self.arrivals.front() {
            if newest.saturating_sub(at) <= WINDOW {
                break;
            }
            self.arrivals.pop_front();
            self.bytes -= size;
        }
        let &(oldest, first) = self.arrivals.iter().min_by_key(|a| a.0)?;
        let span = newest.saturating_sub(oldest);
        // The first packet's bytes arrived at the span's start: not in it.
        (span >= LEAST_SPAN).then(|| (self.bytes - first) as f64 * 8.0 / span.as_secs_f64())
    }
}

impl BandwidthEstimator for Congestion {
    fn on_reports(&mut self, now: Instant, reports: &[PacketReport]) {
        let mut usage = self.detector.usage();
        let (mut total, mut lost) = (0, 0);
        for report in reports.iter().filter(|r| r.is_twcc) {
            total += 1;
            if !report.arrived {
                lost += 1;
            } else if let Some(at) = report.arrival {
                self.arrived(at, report.size, report.departure);
            }
            if let Some(trend) = self.slope.accumulate(report) {
                self.deltas = (self.deltas + 1).min(MOST_DELTAS);
                let weighed = trend.estimate_ms * f64::from(self.deltas);
                usage = self.detector.update(trend.at, weighed);
            }
        }
        if total == 0 {
            return;
        }
        if self.reorders() && usage == Usage::Over {
            usage = Usage::Normal;
        }
        let received = self.received();
        let delay = self.delay.update(now, usage, received);
        // Kept for the statistics only (see the module's words).
        self.loss.update(now, lost, total);
        self.target = delay.clamp(self.min, self.max);
    }

    fn target_bitrate(&self) -> f64 {
        self.target
    }

    fn stats(&self) -> EstimatorStats {
        let mut stats = EstimatorStats::default();
        stats.delay_based_bitrate = Some(self.delay.target());
        stats.loss_based_bitrate = Some(self.loss.target());
        stats.packet_loss = self.loss.average_loss();
        stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A packet of 1,200 bytes sent `sent_ms` after `start`, numbered
    /// `id`, arriving `arrived_ms` on the far end's clock (or lost).
    fn report(start: Instant, id: u64, sent_ms: f64, arrived_ms: Option<f64>) -> PacketReport {
        PacketReport {
            ssrc: 1,
            id,
            rtp_sequence_number: id as u16,
            is_twcc: true,
            twcc_sequence_number: id as u16,
            size: 1_200,
            arrived: arrived_ms.is_some(),
            departure: start + Duration::from_micros((sent_ms * 1000.0) as u64),
            arrival: arrived_ms.map(|ms| Duration::from_micros((ms * 1000.0) as u64)),
            ecn: Default::default(),
        }
    }

    /// Sends video at 30 frames a second, each `packets` packets of 1,200
    /// bytes leaving together (1 ms apart), for `seconds` through a link
    /// that carries `link_kbps` (a queue grows when we send more), with
    /// feedback every 100 ms, delivered in two parts a few microseconds
    /// apart (as LiveKit's often comes). Returns the estimate after each
    /// second.
    fn through_a_link(packets: u32, link_kbps: f64, seconds: u32) -> Vec<f64> {
        through(packets, link_kbps, seconds, 0.0, false)
    }

    /// The same, each packet then delayed by up to `jitter_ms` more from
    /// the second second on (a spread of its own, as netem's: packets
    /// overtake each other).
    /// Reported in the order they arrived (as our downlink's are), with
    /// `arrival_order`; else in the order sent.
    fn through(
        packets: u32,
        link_kbps: f64,
        seconds: u32,
        jitter_ms: f64,
        arrival_order: bool,
    ) -> Vec<f64> {
        let start = Instant::now();
        let mut estimator = Congestion::new(2_000_000.0, 100_000.0, 2_000_000.0);
        let serve_ms = 1_200.0 * 8.0 / link_kbps;
        let (mut id, mut link_free_ms) = (0u64, 0.0f64);
        let mut after_each_second = Vec::new();
        let mut batch = Vec::new();
        for frame in 0..(seconds * 30) {
            let frame_ms = f64::from(frame) * 1000.0 / 30.0;
            for p in 0..packets {
                let sent_ms = frame_ms + f64::from(p);
                let arrived = sent_ms.max(link_free_ms) + serve_ms;
                link_free_ms = arrived;
                // From the second second: a spread over 0..jitter_ms, the
                // same in every run (and so a step in the mean delay).
                let spread = if frame >= 30 {
                    jitter_ms * ((id * 37) % 61) as f64 / 60.0
                } else {
                    0.0
                };
                batch.push(report(start, id, sent_ms, Some(arrived + 20.0 + spread)));
                id += 1;
            }
            // Feedback after every third frame (100 ms).
            if frame % 3 == 2 {
                let at = start + Duration::from_micros(((frame_ms + 40.0) * 1000.0) as u64);
                if arrival_order {
                    batch.sort_by_key(|r: &PacketReport| r.arrival);
                }
                let (first, second) = batch.split_at(batch.len() / 2);
                estimator.on_reports(at, first);
                estimator.on_reports(at + Duration::from_micros(5), second);
                batch.clear();
            }
            if frame % 30 == 29 {
                after_each_second.push(estimator.target_bitrate());
            }
        }
        after_each_second
    }

    #[test]
    fn a_growing_queue_brings_the_estimate_down_to_the_link() {
        // 1.15 Mbit/s into a 700 kbit/s link: a queue grows, nothing is
        // lost.
        let estimates = through_a_link(4, 700.0, 5);
        let last = *estimates.last().unwrap();
        assert!(
            (400_000.0..=700_000.0).contains(&last),
            "after 5 s: {estimates:?}"
        );
    }

    #[test]
    fn a_queue_growing_slowly_is_seen_too() {
        // 864 kbit/s into 720: 20 % over.
        let estimates = through_a_link(3, 720.0, 8);
        let last = *estimates.last().unwrap();
        assert!(
            (400_000.0..=720_000.0).contains(&last),
            "after 8 s: {estimates:?}"
        );
    }

    #[test]
    fn a_link_with_room_leaves_the_estimate_where_it_was() {
        // 576 kbit/s into 2 Mbit/s.
        let estimates = through_a_link(2, 2_000.0, 5);
        assert!(
            estimates.iter().all(|e| *e >= 2_000_000.0 * 0.99),
            "{estimates:?}"
        );
    }

    #[test]
    fn jitter_that_reorders_packets_is_not_read_as_a_queue() {
        // 1.15 Mbit/s into 2 Mbit/s, each packet 0-60 ms late from 1 s on.
        for arrival_order in [false, true] {
            let estimates = through(4, 2_000.0, 5, 60.0, arrival_order);
            assert!(
                estimates.iter().all(|e| *e >= 2_000_000.0 * 0.99),
                "in the order {}: {estimates:?}",
                if arrival_order { "arrived" } else { "sent" }
            );
        }
    }

    #[test]
    fn loss_with_no_queue_is_left_to_the_receiver_reports() {
        let start = Instant::now();
        let mut estimator = Congestion::new(2_000_000.0, 100_000.0, 2_000_000.0);
        // A packet every 10 ms, each arriving 20 ms on, every other one
        // missing (an original whose copy came, or a copy lost): 5 s of
        // reports every 100 ms.
        for batch in 0..50u64 {
            let reports: Vec<_> = (batch * 10..batch * 10 + 10)
                .map(|i| {
                    let sent = i as f64 * 10.0;
                    report(start, i, sent, (i % 2 == 0).then_some(sent + 20.0))
                })
                .collect();
            let now = start + Duration::from_millis(batch * 100 + 130);
            estimator.on_reports(now, &reports);
        }
        assert!(estimator.stats().packet_loss.unwrap() > 0.4);
        assert_eq!(estimator.target_bitrate(), 2_000_000.0);
    }

    #[test]
    fn the_received_rate_is_read_on_the_far_ends_clock() {
        let start = Instant::now();
        let mut estimator = Congestion::new(1_000_000.0, 100_000.0, 2_000_000.0);
        // 100 packets arriving 10 ms apart (960 kbit/s), reported at one
        // instant.
        let reports: Vec<_> = (0..100)
            .map(|i| report(start, i, i as f64 * 10.0, Some(i as f64 * 10.0)))
            .collect();
        estimator.on_reports(start + Duration::from_secs(1), &reports);
        let rate = estimator.received().unwrap();
        assert!((rate - 960_000.0).abs() < 1.0, "{rate}");
    }

    #[test]
    fn packets_that_overtake_each_other_still_make_a_rate() {
        let start = Instant::now();
        let mut estimator = Congestion::new(1_000_000.0, 100_000.0, 2_000_000.0);
        // 1,200 B every 10 ms (960 kbit/s), each delayed 40 ± 30 ms: most
        // arrive out of the order sent.
        let reports: Vec<_> = (0..200u64)
            .map(|i| {
                let jitter = ((i * 37) % 61) as f64 - 30.0;
                report(
                    start,
                    i,
                    i as f64 * 10.0,
                    Some(i as f64 * 10.0 + 40.0 + jitter),
                )
            })
            .collect();
        estimator.on_reports(start + Duration::from_secs(2), &reports);
        let rate = estimator.received().unwrap();
        assert!((850_000.0..=1_100_000.0).contains(&rate), "{rate}");
    }

    #[test]
    fn a_far_end_clock_that_goes_back_starts_the_window_again() {
        let start = Instant::now();
        let mut estimator = Congestion::new(1_000_000.0, 100_000.0, 2_000_000.0);
        let reports: Vec<_> = (0..50)
            .map(|i| report(start, i, i as f64 * 10.0, Some(10_000.0 + i as f64 * 10.0)))
            .collect();
        estimator.on_reports(start + Duration::from_secs(1), &reports);
        // The far end's clock restarts near 0.
        let reports: Vec<_> = (50..100)
            .map(|i| report(start, i, i as f64 * 10.0, Some(i as f64 * 10.0)))
            .collect();
        estimator.on_reports(start + Duration::from_secs(2), &reports);
        assert_eq!(estimator.arrivals.len(), 50);
        let rate = estimator.received().unwrap();
        assert!((rate - 960_000.0).abs() < 1.0, "{rate}");
    }

    #[test]
    fn a_packet_received_without_its_time_is_not_lost() {
        let start = Instant::now();
        let mut estimator = Congestion::new(1_000_000.0, 100_000.0, 2_000_000.0);
        let mut reports: Vec<_> = (0..50)
            .map(|i| report(start, i, i as f64 * 10.0, Some(i as f64 * 10.0 + 5.0)))
            .collect();
        for r in reports.iter_mut().step_by(5) {
            r.arrival = None;
        }
        estimator.on_reports(start + Duration::from_secs(1), &reports);
        assert_eq!(estimator.stats().packet_loss.unwrap_or(0.0), 0.0);
    }

    #[test]
    fn unnumbered_packets_are_not_counted_as_lost() {
        let start = Instant::now();
        let mut estimator = Congestion::new(1_000_000.0, 100_000.0, 2_000_000.0);
        let mut reports: Vec<_> = (0..50)
            .map(|i| report(start, i, i as f64 * 10.0, Some(i as f64 * 10.0 + 5.0)))
            .collect();
        // Audio, never numbered: rtc's history reports it as not arrived.
        for i in 0..10 {
            let mut audio = report(start, 100 + i, i as f64 * 20.0, None);
            audio.is_twcc = false;
            reports.push(audio);
        }
        for second in 1..=3 {
            estimator.on_reports(start + Duration::from_secs(second), &reports);
        }
        assert_eq!(estimator.stats().packet_loss.unwrap_or(0.0), 0.0);
        assert!(estimator.target_bitrate() >= 1_000_000.0);
    }
}
