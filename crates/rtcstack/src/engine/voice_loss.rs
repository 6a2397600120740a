//! How much of our voice the far end loses, told to the Opus encoder so it
//! carries each frame's essentials again in the next packet (in-band FEC,
//! which LiveKit's clients and every browser decode from the packet after
//! a lost one). Opus spends bits on it only when told of loss, and as much
//! as it is told; we signalled `useinbandfec=1` and never told it, so none
//! was sent. As libwebrtc does, the share is taken from the server's
//! reports on our voice and rounded down to a few steps; the worst of the
//! last few seconds is kept, so one clean report does not drop the repair
//! while the loss goes on, and it is forgotten with time whether reports
//! come or not (none comes while we send nothing: a pause, a mute).
//! Sans-IO.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// The reports looked back over.
const MEMORY: Duration = Duration::from_secs(5);
/// The percentages told (libwebrtc's steps): the highest at or under the
/// share reported.
const STEPS: [i32; 5] = [0, 1, 5, 10, 20];

#[derive(Debug, Default)]
pub(crate) struct VoiceLoss {
    reports: VecDeque<(Instant, f64)>,
}

impl VoiceLoss {
    /// A report that came at `at`: its share lost (0..1).
    pub(crate) fn on_report(&mut self, at: Instant, fraction: f64) {
        self.reports.push_back((at, fraction));
        self.forget(at);
    }

    fn forget(&mut self, now: Instant) {
        while self
            .reports
            .front()
            .is_some_and(|(at, _)| now.saturating_duration_since(*at) > MEMORY)
        {
            self.reports.pop_front();
        }
    }

    /// The loss to tell the encoder at `now`, percent.
    pub(crate) fn percent(&mut self, now: Instant) -> i32 {
        self.forget(now);
        let worst = self.reports.iter().map(|r| r.1).fold(0.0, f64::max) * 100.0;
        STEPS
            .iter()
            .rev()
            .copied()
            .find(|step| f64::from(*step) <= worst)
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_recent_share_is_told_in_steps_and_forgotten_after_a_while() {
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        let mut loss = VoiceLoss::default();
        assert_eq!(loss.percent(at(0)), 0);
        loss.on_report(at(1), 0.004);
        assert_eq!(loss.percent(at(1)), 0);
        loss.on_report(at(2), 0.07);
        assert_eq!(loss.percent(at(2)), 5);
        // A clean report does not end it.
        loss.on_report(at(3), 0.0);
        assert_eq!(loss.percent(at(3)), 5);
        loss.on_report(at(4), 0.25);
        assert_eq!(loss.percent(at(4)), 20);
        loss.on_report(at(5), 0.12);
        assert_eq!(loss.percent(at(5)), 20);
        // Five seconds on, the 25 % has gone; the 12 % is still within.
        loss.on_report(at(10), 0.0);
        assert_eq!(loss.percent(at(10)), 10);
        // No report at all (we send nothing): forgotten all the same.
        assert_eq!(loss.percent(at(11)), 0);
    }
}
