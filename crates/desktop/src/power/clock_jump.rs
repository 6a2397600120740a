//! Notices that the machine slept, with no OS signal at all: a clock that
//! keeps running through sleep (CLOCK_BOOTTIME on Linux, the wall clock
//! elsewhere) got ahead of one that stops (CLOCK_MONOTONIC, `Instant`).
//! Sans-IO: the caller feeds samples of both; tested with made-up times.

use std::time::Duration;

/// Compares successive samples of the two clocks.
#[derive(Debug)]
pub struct ClockJump {
    threshold: Duration,
    last: Option<(Duration, Duration)>,
}

impl ClockJump {
    /// Reports a sleep only when it is longer than `threshold` (shorter
    /// gaps are clock adjustments and scheduling, not worth a reconnect).
    pub fn new(threshold: Duration) -> Self {
        ClockJump {
            threshold,
            last: None,
        }
    }

    /// Feeds one sample: `through_sleep` from the clock that runs while the
    /// machine sleeps, `awake` from the one that does not. Says how long the
    /// machine slept since the previous sample, if longer than the threshold.
    pub fn sample(&mut self, through_sleep: Duration, awake: Duration) -> Option<Duration> {
        let previous = self.last.replace((through_sleep, awake));
        let (t0, a0) = previous?;
        // A clock set back (the wall clock can be) is no sleep: the new
        // sample is simply the new reference.
        let ran = through_sleep.checked_sub(t0)?;
        let awake_for = awake.saturating_sub(a0);
        let slept = ran.saturating_sub(awake_for);
        (slept > self.threshold).then_some(slept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn both_clocks_running_together_is_no_sleep() {
        let mut j = ClockJump::new(S(5));
        assert_eq!(j.sample(S(100), S(10)), None);
        for i in 1..100 {
            // Late ticks (a busy machine) move both clocks alike.
            assert_eq!(j.sample(S(100 + 2 * i), S(10 + 2 * i)), None);
        }
    }

    #[test]
    fn a_gap_between_the_clocks_is_the_time_asleep() {
        let mut j = ClockJump::new(S(5));
        j.sample(S(1000), S(50));
        // Two seconds awake, then 40 minutes asleep.
        assert_eq!(j.sample(S(1000 + 2 + 2400), S(52)), Some(S(2400)));
        // And once told, the next tick is ordinary again.
        assert_eq!(j.sample(S(1000 + 4 + 2400), S(54)), None);
    }

    #[test]
    fn small_gaps_and_clocks_set_back_are_ignored() {
        let mut j = ClockJump::new(S(5));
        j.sample(S(1000), S(50));
        assert_eq!(j.sample(S(1006), S(52)), None, "4 s: under the threshold");
        assert_eq!(j.sample(S(10), S(54)), None, "the wall clock set back");
        assert_eq!(j.sample(S(12), S(56)), None);
        assert_eq!(j.sample(S(12 + 2 + 6), S(58)), Some(S(6)));
    }
}
