//! Spreads our video's packets over time instead of writing a picture's
//! packets at once. A key frame is dozens of packets: sent in one burst it
//! overflows a shaped link's queue (a token bucket of 100 ms at 600 kbit/s
//! holds 7.5 kB) and is lost, and the uplink then reads that loss as
//! congestion and cuts the rate it never exceeded on average. Packets go
//! at a multiple of the rate the uplink allows, as libwebrtc's pacer does
//! (2.5 times), so a picture still leaves well within its interval. Sans-IO:
//! the caller passes the time and each packet's size, and waits until the
//! time it is given.

use std::time::{Duration, Instant};

/// The pace as a multiple of the allowed rate.
pub(crate) const PACE_FACTOR: f64 = 2.5;
/// Packets may leave this far ahead of their pace, so a small picture goes
/// in one go and no wait is shorter than a timer can keep.
const AHEAD: Duration = Duration::from_millis(5);

#[derive(Debug)]
pub(crate) struct Pacer {
    /// Bytes per second.
    rate: f64,
    /// When the packets sent so far have left, at the pace.
    free_at: Instant,
}

impl Pacer {
    /// Paced for an allowed rate of `kbps`.
    pub(crate) fn new(now: Instant, kbps: u32) -> Self {
        let mut p = Pacer {
            rate: 0.0,
            free_at: now,
        };
        p.set_rate(kbps);
        p
    }

    /// The uplink allows `kbps` now (at least 100 kbit/s is paced: a
    /// paused layer's rate of 0 must not stall the others).
    pub(crate) fn set_rate(&mut self, kbps: u32) {
        self.rate = f64::from(kbps.max(100)) * 1000.0 / 8.0 * PACE_FACTOR;
    }

    /// When a packet of `bytes` may leave, at `now` or later; booked.
    pub(crate) fn send_at(&mut self, now: Instant, bytes: usize) -> Instant {
        // An idle pacer owes nothing: time not used is not saved up.
        let start = self.free_at.max(now);
        self.free_at =
            start + Duration::from_nanos((bytes as f64 * 1e9 / self.rate).round() as u64);
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
}
