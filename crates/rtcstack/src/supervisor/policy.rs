//! How hard and how long to try after the link is lost.

use std::time::Duration;

/// The reconnect policy. Defaults are set against LiveKit server timings
/// (field-checked on v1.13.5):
/// - after a silent cut the server marks ICE disconnected at 10 s, failed
///   5 s later, then keeps the session 5 s more for a resume: a client can
///   resume until ~20 s after the cut. Resume attempts stop at 15 s
///   (`resume_window`), leaving margin for the attempt itself; after that
///   only a full rejoin can work.
/// - the server pings every 5 s and times out at 15 s; we detect faster
///   from ICE/peer-connection state and media silence, so the first attempt
///   starts at once (no delay) and the next ones back off from 300 ms.
/// - the overall `deadline` (60 s) is long enough to ride out a Wi-Fi
///   re-association or a VPN switch, short enough that a user is told
///   "could not reconnect" within a minute instead of staring at a spinner.
#[derive(Debug, Clone, PartialEq)]
pub struct ReconnectPolicy {
    /// Attempts per outage before giving up.
    pub max_attempts: u32,
    /// Backoff base: attempt n ≥ 2 waits a random time in
    /// [0, min(max_delay, base · 2^(n−2))] (exponential backoff, full jitter).
    pub base_delay: Duration,
    pub max_delay: Duration,
    /// Give up when the outage has lasted this long.
    pub deadline: Duration,
    /// Try a resume (same session) only this long after the link was lost.
    pub resume_window: Duration,
    /// One attempt that has not succeeded by then has failed.
    pub attempt_timeout: Duration,
    /// `TokenExpired` fires, and a refresh starts, this long before `exp`.
    pub expiry_window: Duration,
    /// A token refresh that has not answered by then has failed.
    pub refresh_timeout: Duration,
}

impl Default for ReconnectPolicy {
    fn default() -> Self {
        ReconnectPolicy {
            max_attempts: 15,
            base_delay: Duration::from_millis(300),
            max_delay: Duration::from_secs(5),
            deadline: Duration::from_secs(60),
            resume_window: Duration::from_secs(15),
            attempt_timeout: Duration::from_secs(8),
            expiry_window: Duration::from_secs(60),
            refresh_timeout: Duration::from_secs(10),
        }
    }
}

impl ReconnectPolicy {
    /// The wait before attempt `n` (1-based), given a uniform draw in [0, 1).
    /// The first attempt never waits: detection already took its time.
    pub fn delay_before(&self, n: u32, draw: f64) -> Duration {
        if n <= 1 {
            return Duration::ZERO;
        }
        let exp = 2f64.powi((n - 2).min(30) as i32);
        let ceiling = (self.base_delay.as_secs_f64() * exp).min(self.max_delay.as_secs_f64());
        Duration::from_secs_f64(ceiling * draw.clamp(0.0, 1.0))
    }
}

/// A small deterministic generator (xorshift64*) for the jitter draws, so
/// a seeded supervisor replays exactly in tests.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new(seed: u64) -> Self {
        Jitter(seed | 1)
    }

    /// Uniform in [0, 1).
    pub(crate) fn draw(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_attempt_is_immediate_then_backoff_grows_to_the_cap() {
        let p = ReconnectPolicy::default();
        assert_eq!(p.delay_before(1, 0.99), Duration::ZERO);
        assert_eq!(p.delay_before(2, 1.0), Duration::from_millis(300));
        assert_eq!(p.delay_before(3, 1.0), Duration::from_millis(600));
        assert_eq!(p.delay_before(5, 1.0), Duration::from_millis(2400));
        assert_eq!(p.delay_before(9, 1.0), Duration::from_secs(5));
        assert_eq!(p.delay_before(60, 1.0), Duration::from_secs(5));
    }

    #[test]
    fn full_jitter_spans_zero_to_the_ceiling() {
        let p = ReconnectPolicy::default();
        let mut j = Jitter::new(7);
        let delays: Vec<Duration> = (0..1000).map(|_| p.delay_before(4, j.draw())).collect();
        let max = *delays.iter().max().unwrap();
        let min = *delays.iter().min().unwrap();
        assert!(max <= Duration::from_millis(1200));
        assert!(max > Duration::from_millis(1100), "{max:?}");
        assert!(min < Duration::from_millis(100), "{min:?}");
    }

    #[test]
    fn jitter_draws_are_uniform_and_reproducible() {
        let (mut a, mut b) = (Jitter::new(42), Jitter::new(42));
        let xs: Vec<f64> = (0..10_000).map(|_| a.draw()).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.02, "{mean}");
        assert_eq!(xs[..5], (0..5).map(|_| b.draw()).collect::<Vec<_>>()[..]);
    }
}
