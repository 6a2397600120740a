//! Spreads our video's packets over time instead of writing a picture's
//! packets at once. A key frame is dozens of packets: sent in one burst it
//! overflows a shaped link's queue (a token bucket of 100 ms at 600 kbit/s
//! holds 7.5 kB) and is lost, and the uplink then reads that loss as
//! congestion and cuts the rate it never exceeded on average. Packets go
//! at a multiple of the rate the uplink allows, as libwebrtc's pacer does
//! (2.5 times), so a picture still leaves well within its interval. A
//! picture that would still be leaving after [`MAX_QUEUE`] (a key frame at
//! a low rate) goes faster, so it has left by then: as libwebrtc's pacer
//! bounds its queue, since capture waits for the pacer meanwhile. Sans-IO:
//! the caller passes the time and each packet's size, and waits until the
//! time it is given.

use std::time::{Duration, Instant};

/// The pace as a multiple of the allowed rate.
pub(crate) const PACE_FACTOR: f64 = 2.5;
/// Packets may leave this far ahead of their pace, so a small picture goes
/// in one go and no wait is shorter than a timer can keep.
const AHEAD: Duration = Duration::from_millis(5);
/// The longest a picture may take to leave (libwebrtc's pacer allows its
/// queue the same).
pub(crate) const MAX_QUEUE: Duration = Duration::from_secs(2);

#[derive(Debug)]
pub(crate) struct Pacer {
    /// Bytes per second.
    rate: f64,
    /// Faster, for a picture that would leave too late at `rate`; until
    /// the rate is set again.
    burst: Option<f64>,
    /// When the packets sent so far have left, at the pace.
    free_at: Instant,
}

impl Pacer {
    /// Paced for an allowed rate of `kbps`.
    pub(crate) fn new(now: Instant, kbps: u32) -> Self {
        let mut p = Pacer {
            rate: 0.0,
            burst: None,
            free_at: now,
        };
        p.set_rate(kbps);
        p
    }

    /// The uplink allows `kbps` now (at least 100 kbit/s is paced: a
    /// paused layer's rate of 0 must not stall the others).
    pub(crate) fn set_rate(&mut self, kbps: u32) {
        self.rate = f64::from(kbps.max(100)) * 1000.0 / 8.0 * PACE_FACTOR;
        self.burst = None;
    }

    /// A picture of `bytes` is about to be sent: if at the pace it and
    /// what is still leaving would take longer than [`MAX_QUEUE`], the pace
    /// rises so that they would not.
    pub(crate) fn picture(&mut self, now: Instant, bytes: usize) {
        let pace = self.burst.unwrap_or(self.rate);
        let behind = self.free_at.saturating_duration_since(now).as_secs_f64() * pace;
        let needs = (behind + bytes as f64) / MAX_QUEUE.as_secs_f64();
        if needs > pace {
            self.burst = Some(needs);
        }
    }

    /// When a packet of `bytes` may leave, at `now` or later; booked.
    pub(crate) fn send_at(&mut self, now: Instant, bytes: usize) -> Instant {
        // An idle pacer owes nothing: time not used is not saved up.
        let start = self.free_at.max(now);
        let rate = self.burst.unwrap_or(self.rate);
        self.free_at = start + Duration::from_nanos((bytes as f64 * 1e9 / rate).round() as u64);
        if start <= now + AHEAD {
            now
        } else {
            start - AHEAD
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_leaves_at_the_pace_and_a_small_picture_at_once() {
        let t0 = Instant::now();
        // 400 kbit/s allowed: paced at 1 Mbit/s, 125,000 B/s, so a
        // 1,250-byte packet takes 10 ms.
        let mut p = Pacer::new(t0, 400);
        let at: Vec<u128> = (0..6)
            .map(|_| p.send_at(t0, 1_250).duration_since(t0).as_millis())
            .collect();
        // The first goes at once; each next 10 ms later, 5 ms early.
        assert_eq!(at, [0, 5, 15, 25, 35, 45]);
        // 60 ms later the queue is gone: the next goes at once.
        let later = t0 + Duration::from_millis(60);
        assert_eq!(p.send_at(later, 1_250), later);
        // Idle time is not saved up for a later burst.
        let idle = t0 + Duration::from_secs(5);
        assert_eq!(p.send_at(idle, 1_250), idle);
        assert_eq!(
            p.send_at(idle, 1_250).duration_since(idle),
            Duration::from_millis(5)
        );
    }

    #[test]
    fn a_higher_rate_paces_faster_and_a_paused_uplink_still_moves() {
        let t0 = Instant::now();
        let mut p = Pacer::new(t0, 0);
        // Paced as 100 kbit/s: 31,250 B/s, 1,250 B in 40 ms.
        p.send_at(t0, 1_250);
        assert_eq!(
            p.send_at(t0, 1_250).duration_since(t0),
            Duration::from_millis(35)
        );
        p.set_rate(4_000);
        // From where the queue ends (80 ms): 1,250 B at 1.25 MB/s is 1 ms.
        let next = p.send_at(t0, 1_250).duration_since(t0);
        assert_eq!(next, Duration::from_millis(75));
        assert_eq!(
            p.send_at(t0, 1_250).duration_since(t0),
            Duration::from_millis(76)
        );
    }

    #[test]
    fn a_picture_too_large_for_the_pace_still_leaves_within_the_queue_limit() {
        let t0 = Instant::now();
        // 100 kbit/s allowed: paced at 31,250 B/s, so 100 kB would take
        // 3.2 s; it gets 2 s.
        let mut p = Pacer::new(t0, 100);
        p.picture(t0, 100_000);
        let mut last = t0;
        for _ in 0..80 {
            last = p.send_at(t0, 1_250);
        }
        let took = p.free_at.duration_since(t0);
        assert!(
            took <= MAX_QUEUE && took >= MAX_QUEUE - Duration::from_millis(1),
            "{took:?}"
        );
        assert_eq!(
            last.duration_since(t0),
            took - Duration::from_millis(25) - AHEAD
        );
        // The next picture, small, once the first has left: at the
        // allowed pace again.
        let t2 = t0 + took;
        p.set_rate(100);
        p.picture(t2, 1_250);
        assert_eq!(p.send_at(t2, 1_250), t2);
        assert_eq!(p.free_at.duration_since(t2), Duration::from_millis(40));
        // A picture that fits the pace is not hurried.
        let mut q = Pacer::new(t0, 400);
        q.picture(t0, 12_500);
        for _ in 0..10 {
            q.send_at(t0, 1_250);
        }
        assert_eq!(q.free_at.duration_since(t0), Duration::from_millis(100));
    }
}
