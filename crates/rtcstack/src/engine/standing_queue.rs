//! Whether a queue stands on the path. A growing queue shows in the
//! delay trend; a full one that drops what it cannot hold does not: its
//! delay is flat, the trend reads nothing, and an estimate over the link
//! goes on growing. So: the least one-way delay of the latest report's
//! packets (jitter that spreads packets leaves the least of many low)
//! against the least seen over [`BASE_SPAN`]; more than [`STANDING`] above
//! it, a queue stands. (Or the route got longer, or a radio stalled all of
//! a report's packets: the estimate acts on it only with loss.)
//!
//! One-way delay here is arrival on the far end's clock less departure on
//! ours: an unknown offset plus the queue. The offset cancels in the
//! difference.
//!
//! Sans-IO: times come with the reports.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How long the least delay is remembered: long enough to span a queue
/// that stands (one that stands longer becomes the least, and the
/// estimate grows over it again), short enough to follow a new route
/// (which, with loss, would hold the estimate meanwhile).
const BASE_SPAN: Duration = Duration::from_secs(120);
/// The least delays are kept per slot of this much arrival time.
const SLOT: Duration = Duration::from_secs(1);
/// A queue this far over the least delay stands (ms). Above the 100 ms a
/// shaper's queue commonly holds, and far above any jitter's least.
const STANDING: f64 = 150.0;
/// A report's least delay this far from the report's before is the far
/// end's clock jumping, not a queue (ms): the least starts again.
const CLOCK_JUMP: f64 = 2_000.0;

#[derive(Default)]
pub(crate) struct StandingQueue {
    /// Our clock's zero for departures.
    epoch: Option<Instant>,
    /// (slot's arrival time, least delay in it in ms), oldest first.
    slots: VecDeque<(Duration, f64)>,
    /// The latest report's least delay (ms).
    latest: Option<f64>,
}

impl StandingQueue {
    /// The packets of one report, each (departure, arrival on the far
    /// end's clock): whether a queue stands; none if none arrived.
    pub(crate) fn update(
        &mut self,
        packets: impl Iterator<Item = (Instant, Duration)>,
    ) -> Option<bool> {
        let mut least: Option<(Duration, f64)> = None;
        for (departure, arrival) in packets {
            let epoch = *self.epoch.get_or_insert(departure);
            let delay = arrival.as_secs_f64() * 1_000.0
                - departure.saturating_duration_since(epoch).as_secs_f64() * 1_000.0;
            if least.is_none_or(|(_, l)| delay < l) {
                least = Some((arrival, delay));
            }
        }
        let (at, delay) = least?;
        if self.latest.is_some_and(|l| (delay - l).abs() > CLOCK_JUMP) {
            self.slots.clear();
        }
        self.latest = Some(delay);
        self.remember(at, delay);
        Some(self.base().is_some_and(|b| delay - b > STANDING))
    }

    fn base(&self) -> Option<f64> {
        self.slots.iter().map(|s| s.1).reduce(f64::min)
    }

    fn remember(&mut self, at: Duration, delay: f64) {
        match self.slots.back_mut() {
            Some((start, least)) if at.saturating_sub(*start) < SLOT && at >= *start => {
                *least = least.min(delay);
            }
            _ => self.slots.push_back((at, delay)),
        }
        while self
            .slots
            .front()
            .is_some_and(|(start, _)| at.saturating_sub(*start) > BASE_SPAN)
        {
            self.slots.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One report of ten packets sent 10 ms apart from `sent_ms`, each
    /// `delay` plus `jitter(i)` ms on the way.
    fn report(
        queue: &mut StandingQueue,
        start: Instant,
        sent_ms: u64,
        delay: u64,
        jitter: impl Fn(u64) -> u64,
    ) -> bool {
        let packets = (0..10).map(|i| {
            let sent = sent_ms + i * 10;
            (
                start + Duration::from_millis(sent),
                Duration::from_millis(5_000 + sent + delay + jitter(i)),
            )
        });
        queue
            .update(packets.collect::<Vec<_>>().into_iter())
            .expect("packets arrived")
    }

    #[test]
    fn a_queue_that_fills_and_stays_full_stands() {
        let start = Instant::now();
        let mut queue = StandingQueue::default();
        // 20 ms for 2 s, then full for 100 s.
        let readings: Vec<_> = (0..1_020)
            .map(|r| {
                // 20 ms until 2 s, then 900 ms more, flat.
                let delay = if r < 20 { 20 } else { 920 };
                report(&mut queue, start, r * 100, delay, |_| 0)
            })
            .collect();
        assert!(!readings[..20].contains(&true));
        assert!(readings[20..].iter().all(|r| *r), "{readings:?}");
    }

    #[test]
    fn jitter_does_not_stand() {
        let start = Instant::now();
        let mut queue = StandingQueue::default();
        // 40 ms, each packet up to 200 ms more.
        let standing = (0..100)
            .filter(|r| report(&mut queue, start, r * 100, 40, |i| (i * 37 + r * 11) % 201))
            .count();
        assert_eq!(0, standing);
    }

    #[test]
    fn a_queue_of_a_shapers_size_does_not_stand() {
        let start = Instant::now();
        let mut queue = StandingQueue::default();
        let standing = (0..100)
            .filter(|r| {
                report(
                    &mut queue,
                    start,
                    r * 100,
                    if *r < 20 { 20 } else { 120 },
                    |_| 0,
                )
            })
            .count();
        assert_eq!(0, standing);
    }

    #[test]
    fn a_clock_that_jumps_starts_the_least_again() {
        let start = Instant::now();
        let mut queue = StandingQueue::default();
        for r in 0..20 {
            report(&mut queue, start, r * 100, 20, |_| 0);
        }
        // The far end's clock jumps 10 s on.
        assert!(!report(&mut queue, start, 2_000, 10_020, |_| 0));
        assert!(!report(&mut queue, start, 2_100, 10_020, |_| 0));
    }

    #[test]
    fn a_queue_that_grows_slowly_past_the_jump_still_stands() {
        let start = Instant::now();
        let mut queue = StandingQueue::default();
        // 20 ms, then 100 ms more each report, to 3 s: standing from the
        // second report 150 ms over on.
        let readings: Vec<_> = (0..50u64)
            .map(|r| {
                let delay = 20 + r.saturating_sub(20) * 100;
                report(&mut queue, start, r * 100, delay, |_| 0)
            })
            .collect();
        assert!(!readings[..22].contains(&true), "{readings:?}");
        assert!(readings[22..].iter().all(|r| *r), "{readings:?}");
    }

    #[test]
    fn a_drained_queue_no_longer_stands() {
        let start = Instant::now();
        let mut queue = StandingQueue::default();
        for r in 0..20 {
            report(&mut queue, start, r * 100, 20, |_| 0);
        }
        assert!(report(&mut queue, start, 2_000, 900, |_| 0));
        assert!(!report(&mut queue, start, 2_100, 60, |_| 0));
    }
}
