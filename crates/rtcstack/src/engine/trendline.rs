//! Whether a queue grows on the path: a line fitted through the latest
//! groups' one-way delays (each group's delay over the one before, summed
//! and smoothed) against their send times, its slope scaled and met with
//! an adaptive threshold, as libwebrtc's trendline estimator does.
//!
//! rtc's Kalman filter over the same deltas lagged behind the queue: under
//! a 600 kbit/s cap it still read a queue 4 s after we sent under the cap
//! (the queue had drained within a second), every report in between a
//! further decrease, and one run in about fifteen a shared screen's full
//! layer paused. The fitted line forgets a drained queue once
//! [`POINTS`] groups have seen it go. rtc's threshold is the Kalman's
//! too: it comes down about fifty times slower than it goes up, so after
//! one queue the next, 10 % over the link, went unseen for seconds; this
//! one comes down as libwebrtc's does beside its trendline.
//!
//! One difference from libwebrtc: the line's time is the groups' send
//! time (rtc's arrival groups carry no other), not their arrival. Against
//! a link that carries 1/r of what is sent, the slope is r − 1 rather than
//! (r − 1)/r: the same near the link, steeper far over it.
//!
//! Sans-IO: instants come with the groups.

use std::collections::VecDeque;
use std::time::Instant;

use rtc::interceptor::{InterGroupDelay, Usage};

/// How many groups the line is fitted through.
const POINTS: usize = 20;
/// The weight of the summed delay so far in its smoothed value.
const SMOOTHING: f64 = 0.9;
/// The slope's scale against the threshold (libwebrtc's).
const GAIN: f64 = 4.0;
/// The most groups the slope is weighed by: few say little.
const MOST_DELTAS: u32 = 60;
/// How long the trend must stay over the threshold to be a queue (ms).
const OVERUSE_MS: f64 = 10.0;
/// The threshold's start, and its bounds (ms).
const THRESHOLD: f64 = 12.5;
const THRESHOLD_LEAST: f64 = 6.0;
const THRESHOLD_MOST: f64 = 600.0;
/// How fast the threshold follows a trend above it, and below it (per ms).
const THRESHOLD_UP: f64 = 0.0087;
const THRESHOLD_DOWN: f64 = 0.039;
/// A trend this far past the threshold (ms) is not followed: a real queue
/// must not raise the bar it is met with.
const THRESHOLD_REACH: f64 = 15.0;
/// A group this much later or earlier than the one before (ms) is a clock
/// that jumped, as libwebrtc's inter-arrival filter takes it.
const CLOCK_JUMP_MS: f64 = 3_000.0;
/// The longest step the threshold follows in one go (ms).
const THRESHOLD_STEP_MOST: f64 = 100.0;

pub(crate) struct Trendline {
    /// The first group's send time: where the line's time starts.
    first: Option<Instant>,
    /// Each group's delay over the one before, summed.
    summed: f64,
    /// That, smoothed.
    smoothed: f64,
    /// (ms since the first group, smoothed delay in ms) of the latest.
    points: VecDeque<(f64, f64)>,
    /// Groups so far (up to [`MOST_DELTAS`]).
    deltas: u32,
    /// The latest slope fitted (ms of delay per ms sent).
    slope: f64,
    /// The slope the group before.
    previous_slope: f64,
    /// The latest group's send time (ms since the first).
    latest: f64,
    threshold: f64,
    /// When the threshold last followed the trend (ms since the first).
    threshold_at: Option<f64>,
    /// How long (ms), and for how many groups, the trend has been over it.
    over_for: Option<f64>,
    over_groups: u32,
    usage: Usage,
}

impl Default for Trendline {
    fn default() -> Self {
        Trendline {
            first: None,
            summed: 0.0,
            smoothed: 0.0,
            points: VecDeque::new(),
            deltas: 0,
            slope: 0.0,
            previous_slope: 0.0,
            latest: 0.0,
            threshold: THRESHOLD,
            threshold_at: None,
            over_for: None,
            over_groups: 0,
            usage: Usage::Normal,
        }
    }
}

impl Trendline {
    /// A group closed: whether a queue grows (over), drains (under) or
    /// neither.
    pub(crate) fn update(&mut self, group: &InterGroupDelay) -> Usage {
        if group.delta_ms.abs() > CLOCK_JUMP_MS {
            // The far end's clock jumped (or the path stalled for seconds):
            // what was fitted says nothing of what comes.
            *self = Trendline::default();
            return self.usage;
        }
        self.deltas = (self.deltas + 1).min(MOST_DELTAS);
        let first = *self.first.get_or_insert(group.at);
        self.summed += group.delta_ms;
        self.smoothed = SMOOTHING * self.smoothed + (1.0 - SMOOTHING) * self.summed;
        let x = group.at.saturating_duration_since(first).as_secs_f64() * 1_000.0;
        let since_latest = x - self.latest;
        self.latest = x;
        self.points.push_back((x, self.smoothed));
        if self.points.len() > POINTS {
            self.points.pop_front();
        }
        if self.points.len() == POINTS {
            self.slope = fitted_slope(&self.points).unwrap_or(self.slope);
        }
        if self.deltas < 2 {
            return self.usage;
        }
        let trend = self.trend();
        self.detect(trend, since_latest);
        self.previous_slope = self.slope;
        self.follow(trend.abs(), x);
        self.usage
    }

    /// The slope, weighed by how many groups it stands on and scaled to
    /// meet the threshold (ms).
    pub(crate) fn trend(&self) -> f64 {
        self.slope * f64::from(self.deltas) * GAIN
    }

    pub(crate) fn usage(&self) -> Usage {
        self.usage
    }

    /// Over once the trend stayed over the threshold for [`OVERUSE_MS`]
    /// and two groups, and still grows; under when it is below its
    /// negative; else neither. Over a threshold but no longer growing, the
    /// reading stays as it was.
    fn detect(&mut self, trend: f64, since_latest: f64) {
        if trend > self.threshold {
            let over_for = self
                .over_for
                .map_or(since_latest / 2.0, |o| o + since_latest);
            self.over_for = Some(over_for);
            self.over_groups += 1;
            if over_for > OVERUSE_MS && self.over_groups > 1 && self.slope >= self.previous_slope {
                self.over_for = Some(0.0);
                self.over_groups = 0;
                self.usage = Usage::Over;
            }
            return;
        }
        self.over_for = None;
        self.over_groups = 0;
        self.usage = if trend < -self.threshold {
            Usage::Under
        } else {
            Usage::Normal
        };
    }

    /// The threshold follows the trend's size (`magnitude`) at `at`, up
    /// slowly and down fast, unless the trend is far past it.
    fn follow(&mut self, magnitude: f64, at: f64) {
        let last = *self.threshold_at.get_or_insert(at);
        self.threshold_at = Some(at);
        if magnitude > self.threshold + THRESHOLD_REACH {
            return;
        }
        let pace = if magnitude < self.threshold {
            THRESHOLD_DOWN
        } else {
            THRESHOLD_UP
        };
        let step = (at - last).min(THRESHOLD_STEP_MOST);
        self.threshold = (self.threshold + pace * (magnitude - self.threshold) * step)
            .clamp(THRESHOLD_LEAST, THRESHOLD_MOST);
    }
}

/// The least-squares line's slope through `points`; none if they all share
/// one time.
fn fitted_slope(points: &VecDeque<(f64, f64)>) -> Option<f64> {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let (mut covariance, mut variance) = (0.0, 0.0);
    for (x, y) in points {
        covariance += (x - mean_x) * (y - mean_y);
        variance += (x - mean_x) * (x - mean_x);
    }
    (variance > 0.0).then(|| covariance / variance)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn group(start: Instant, sent_ms: u64, delta_ms: f64) -> InterGroupDelay {
        InterGroupDelay {
            delta_ms,
            at: start + Duration::from_millis(sent_ms),
            size: 1_200,
        }
    }

    /// The trend after `n` groups 20 ms apart, each `delta_ms` later than
    /// the one before, and the reading then.
    fn after(n: u64, delta_ms: f64) -> (f64, Usage) {
        let start = Instant::now();
        let mut trend = Trendline::default();
        let usage = (1..=n).fold(Usage::Normal, |_, i| {
            trend.update(&group(start, i * 20, delta_ms))
        });
        (trend.trend(), usage)
    }

    #[test]
    fn a_steady_path_reads_flat() {
        let (trend, usage) = after(100, 0.0);
        assert!(trend.abs() < 1e-9, "{trend}");
        assert_eq!(Usage::Normal, usage);
    }

    #[test]
    fn a_growing_queue_reads_its_growth() {
        // 2 ms more per 20 ms: a tenth more sent than carried. Slope 0.1,
        // weighed by 60 groups and scaled by 4: 24 ms.
        let (trend, usage) = after(100, 2.0);
        assert!((23.0..=24.5).contains(&trend), "{trend}");
        assert_eq!(Usage::Over, usage);
    }

    #[test]
    fn a_drained_queue_is_no_longer_read_as_one_within_the_line() {
        let start = Instant::now();
        let mut trend = Trendline::default();
        for i in 1..=100 {
            trend.update(&group(start, i * 20, 4.0));
        }
        assert_eq!(Usage::Over, trend.usage);
        // The queue drains in 10 groups, then stays empty: within the
        // line's groups it reads as draining, then as neither.
        let readings: Vec<_> = (101..=100 + 3 * POINTS as u64)
            .map(|i| trend.update(&group(start, i * 20, if i <= 110 { -8.0 } else { 0.0 })))
            .collect();
        assert!(
            !readings[POINTS / 2..].contains(&Usage::Over),
            "{readings:?}"
        );
        assert_eq!(Some(&Usage::Normal), readings.last(), "{readings:?}");
    }

    #[test]
    fn after_one_queue_the_next_is_seen_as_soon() {
        let start = Instant::now();
        let mut trend = Trendline::default();
        let mut i = 0;
        let mut next = |trend: &mut Trendline, delta_ms: f64| {
            i += 1;
            trend.update(&group(start, i * 20, delta_ms))
        };
        for _ in 0..100 {
            next(&mut trend, 0.0);
        }
        let first = (1..=200).find(|_| next(&mut trend, 2.0) == Usage::Over);
        // It drains and stays empty for 2 s.
        for n in 0..100 {
            next(&mut trend, if n < 20 { -6.0 } else { 0.0 });
        }
        let second = (1..=200).find(|_| next(&mut trend, 2.0) == Usage::Over);
        let first = first.expect("the first queue seen");
        assert!(first <= 20, "{first}");
        assert!(
            second.is_some_and(|s| s <= first + 5),
            "first after {first} groups, then {second:?}"
        );
    }

    #[test]
    fn a_clock_that_jumps_starts_the_line_again() {
        let start = Instant::now();
        let mut trend = Trendline::default();
        for i in 1..=100 {
            trend.update(&group(start, i * 20, 2.0));
        }
        assert_eq!(Usage::Over, trend.usage);
        assert_eq!(Usage::Normal, trend.update(&group(start, 2_020, 10_000.0)));
        let readings: Vec<_> = (102..=130)
            .map(|i| trend.update(&group(start, i * 20, 0.0)))
            .collect();
        assert!(!readings.contains(&Usage::Over), "{readings:?}");
    }

    #[test]
    fn groups_at_one_time_keep_the_slope_before() {
        let start = Instant::now();
        let mut trend = Trendline::default();
        for _ in 0..POINTS {
            assert_eq!(Usage::Normal, trend.update(&group(start, 20, 5.0)));
            assert_eq!(0.0, trend.trend());
        }
    }
}
