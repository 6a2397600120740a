//! Keeps a layer to its bitrate when its encoder cannot: a picture it
//! cannot make small (a noisy camera in low light) comes out larger than
//! the rate allows, whatever rate it is given, and a camera's encoder
//! sends every picture. A leaky bucket of the bits sent, drained at the
//! allowed rate: while it holds more than half a second of them, the next
//! picture is not encoded (libwebrtc's frame dropper does the same). A key
//! frame's burst is paid off by the pictures after it. Sans-IO.

use std::time::{Duration, Instant};

/// The most the bucket holds before pictures are dropped.
const HOLD: Duration = Duration::from_millis(500);

#[derive(Debug)]
pub(crate) struct Budget {
    bits: f64,
    at: Option<Instant>,
}

impl Budget {
    pub(crate) fn new() -> Self {
        Budget {
            bits: 0.0,
            at: None,
        }
    }

    /// Whether a picture may be encoded `now`, at `kbps` allowed.
    pub(crate) fn allows(&mut self, now: Instant, kbps: u32) -> bool {
        let rate = f64::from(kbps) * 1_000.0;
        if let Some(at) = self.at {
            let drained = rate * now.saturating_duration_since(at).as_secs_f64();
            self.bits = (self.bits - drained).max(0.0);
        }
        self.at = Some(now);
        self.bits <= rate * HOLD.as_secs_f64()
    }

    /// A picture of `bytes` was sent.
    pub(crate) fn spent(&mut self, bytes: usize) {
        self.bits += bytes as f64 * 8.0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 pictures a second for `seconds`, each `bytes` large, at `kbps`:
    /// how many were sent, and the rate they made (kbit/s).
    fn run(bytes: usize, kbps: u32, seconds: u32) -> (u32, f64) {
        let start = Instant::now();
        let mut budget = Budget::new();
        let mut sent = 0;
        for i in 0..(30 * seconds) {
            let now = start + Duration::from_secs(u64::from(i)) / 30;
            if budget.allows(now, kbps) {
                budget.spent(bytes);
                sent += 1;
            }
        }
        let rate = f64::from(sent) * bytes as f64 * 8.0 / f64::from(seconds) / 1_000.0;
        (sent, rate)
    }

    #[test]
    fn pictures_within_the_rate_all_go() {
        // 3,000 B at 30 fps: 720 kbit/s, under 800.
        assert_eq!(run(3_000, 800, 10).0, 300);
    }

    #[test]
    fn pictures_five_times_too_large_go_one_in_five() {
        // 5,000 B a picture: 1,200 kbit/s at 30 fps, against 240 allowed.
        let (sent, rate) = run(5_000, 240, 20);
        assert!((118..=126).contains(&sent), "{sent} sent in 20 s");
        assert!(rate <= 240.0 * 1.05, "{rate} kbit/s");
    }

    #[test]
    fn a_key_frame_is_paid_off_by_the_pictures_after_it() {
        let start = Instant::now();
        let mut budget = Budget::new();
        assert!(budget.allows(start, 300));
        // A key frame of 2 s at 300 kbit/s.
        budget.spent(75_000);
        let at = |ms| start + Duration::from_millis(ms);
        assert!(!budget.allows(at(1_000), 300), "1 s on: still 1 s owed");
        assert!(budget.allows(at(1_600), 300), "1.6 s on: 0.4 s owed");
    }
}
