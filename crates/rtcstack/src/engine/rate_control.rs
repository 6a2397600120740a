//! GCC's rate control for an estimate whose far end probes ahead of it
//! (our downlink's REMB: LiveKit probes): what it does with each reading
//! of the queue (over, normal, under) and the rate that arrives, as
//! libwebrtc's AIMD does it. rtc's `RateController` (kept for our
//! uplink, which nothing probes ahead of) climbs 12 kbit/s every 200 ms
//! near a limit met before, whatever the rate (60 kbit/s a second), and
//! whatever arrives: on a 150 kbit/s downlink the REMB climbed from 50 to
//! 230 kbit/s in 4 s over a full queue, and the server, probing, took the
//! larger layer back.
//!
//! - Over: down to 0.85 of what arrives, at most once per round trip
//!   (sooner if what arrives fell under half the estimate).
//! - Normal: up; near the limit met before (within three deviations of
//!   what arrived at past decreases) by about a packet per response time
//!   (twice a round trip and 100 ms, at least 4 kbit/s a second);
//!   elsewhere by 8 % a second. Never above 1.5 times what arrives and
//!   10 kbit/s: an estimate is not raised past what has been shown to go
//!   through.
//! - Under (a queue draining): held. With no rate to go by (too little
//!   arrived lately) nothing changes either, where libwebrtc would use
//!   the last rate it had.
//!
//! Sans-IO: instants come in.

use std::time::{Duration, Instant};

use rtc::interceptor::{RateControlState, Usage};

const DECREASE: f64 = 0.85;
const INCREASE_PER_SECOND: f64 = 1.08;
const LEAST_MULTIPLICATIVE_BPS: f64 = 1_000.0;
const LEAST_ADDITIVE_BPS_PER_SECOND: f64 = 4_000.0;
/// An increase is held to this times what arrives, and this much more.
const AHEAD_OF_ARRIVING: f64 = 1.5;
const AHEAD_OF_ARRIVING_BPS: f64 = 10_000.0;
/// The round trip assumed (libwebrtc's default before one is measured),
/// and what the overuse detector adds to it before a change shows.
const RTT: Duration = Duration::from_millis(200);
const DETECTOR_DELAY: Duration = Duration::from_millis(100);
/// The pictures a second and packet size the additive step assumes.
const FRAMES_PER_SECOND: f64 = 30.0;
const PACKET_BITS: f64 = 1_200.0 * 8.0;

pub(crate) struct RateControl {
    state: RateControlState,
    target: f64,
    min: f64,
    max: f64,
    limit: LinkLimit,
    last_change: Option<Instant>,
    decreases: u32,
}

impl RateControl {
    /// Starting at `initial` bit/s, held within `min..=max`.
    pub(crate) fn new(initial: f64, min: f64, max: f64) -> Self {
        RateControl {
            state: RateControlState::Hold,
            target: initial.clamp(min, max),
            min,
            max,
            limit: LinkLimit::default(),
            last_change: None,
            decreases: 0,
        }
    }

    pub(crate) fn target(&self) -> f64 {
        self.target
    }

    /// How many times it went down.
    #[cfg(test)]
    pub(crate) fn decreases(&self) -> u32 {
        self.decreases
    }

    /// The queue read as `usage`, `received` bit/s arriving (`None`: too
    /// little seen to say; then it holds, as every change needs it).
    pub(crate) fn update(&mut self, now: Instant, usage: Usage, received: Option<f64>) -> f64 {
        let before = self.state;
        self.state = before.next(usage);
        let Some(received) = received else {
            return self.target;
        };
        match self.state {
            RateControlState::Hold => {}
            RateControlState::Decrease => {
                if self.time_to_reduce(now, received) {
                    self.decrease(now, received);
                }
            }
            RateControlState::Increase => {
                // Entering it starts the clock: the first step is the
                // least (libwebrtc's too).
                let since = match (before, self.last_change) {
                    (RateControlState::Increase, Some(at)) => now.saturating_duration_since(at),
                    _ => Duration::ZERO,
                };
                self.increase(since, received);
                self.last_change = Some(now);
            }
        }
        self.target
    }

    fn time_to_reduce(&self, now: Instant, received: f64) -> bool {
        let Some(at) = self.last_change else {
            return true;
        };
        now.saturating_duration_since(at) >= RTT || received < 0.5 * self.target
    }

    fn decrease(&mut self, now: Instant, received: f64) {
        let mut lower = DECREASE * received;
        if lower > self.target {
            if let Some(limit) = self.limit.estimate() {
                lower = DECREASE * limit;
            }
        }
        if lower < self.target {
            self.target = lower.clamp(self.min, self.max);
        }
        if self.limit.estimate().is_some() && received < self.limit.lower_bound() {
            self.limit = LinkLimit::default();
        }
        self.limit.on_overuse(received);
        self.decreases += 1;
        self.last_change = Some(now);
        // Once down, held until the queue reads normal again.
        self.state = RateControlState::Hold;
    }

    fn increase(&mut self, since: Duration, received: f64) {
        if self.limit.estimate().is_some() && received > self.limit.upper_bound() {
            // Well past the limit met before: it moved.
            self.limit = LinkLimit::default();
        }
        let seconds = since.as_secs_f64().min(1.0);
        let step = if self.limit.estimate().is_some() {
            additive_per_second(self.target) * seconds
        } else {
            (self.target * (INCREASE_PER_SECOND.powf(seconds) - 1.0)).max(LEAST_MULTIPLICATIVE_BPS)
        };
        let ceiling = AHEAD_OF_ARRIVING * received + AHEAD_OF_ARRIVING_BPS;
        let raised = (self.target + step).min(ceiling.max(self.target));
        self.target = raised.clamp(self.min, self.max);
    }
}

/// About a packet per response time at `bps` (a picture's worth of bits
/// split into packets of at most [`PACKET_BITS`]).
fn additive_per_second(bps: f64) -> f64 {
    let picture = bps / FRAMES_PER_SECOND;
    let packets = (picture / PACKET_BITS).ceil().max(1.0);
    let response = 2.0 * (RTT + DETECTOR_DELAY).as_secs_f64();
    (picture / packets / response).max(LEAST_ADDITIVE_BPS_PER_SECOND)
}

/// What arrived at past decreases: a running mean and its spread in
/// kbit/s (libwebrtc's link capacity estimate).
#[derive(Default)]
struct LinkLimit {
    mean_kbps: Option<f64>,
    variance: f64,
}

const LIMIT_SMOOTHING: f64 = 0.05;
const LEAST_VARIANCE: f64 = 0.4;
const MOST_VARIANCE: f64 = 2.5;

impl LinkLimit {
    fn estimate(&self) -> Option<f64> {
        self.mean_kbps.map(|k| k * 1000.0)
    }

    fn deviation_bps(&self) -> f64 {
        let mean = self.mean_kbps.unwrap_or(0.0);
        (self.variance.max(LEAST_VARIANCE) * mean).sqrt() * 1000.0
    }

    fn upper_bound(&self) -> f64 {
        self.estimate()
            .map_or(f64::INFINITY, |e| e + 3.0 * self.deviation_bps())
    }

    fn lower_bound(&self) -> f64 {
        self.estimate()
            .map_or(0.0, |e| (e - 3.0 * self.deviation_bps()).max(0.0))
    }

    fn on_overuse(&mut self, received: f64) {
        let kbps = received / 1000.0;
        let mean = match self.mean_kbps {
            None => kbps,
            Some(m) => (1.0 - LIMIT_SMOOTHING) * m + LIMIT_SMOOTHING * kbps,
        };
        let error = mean - kbps;
        let norm = mean.max(1.0);
        self.variance = ((1.0 - LIMIT_SMOOTHING) * self.variance
            + LIMIT_SMOOTHING * error * error / norm)
            .clamp(LEAST_VARIANCE, MOST_VARIANCE);
        self.mean_kbps = Some(mean);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn overuse_takes_it_to_0_85_of_what_arrives_once_per_round_trip() {
        let t0 = Instant::now();
        let mut rate = RateControl::new(1_000_000.0, 10_000.0, 10_000_000.0);
        assert_eq!(rate.update(t0, Usage::Over, Some(600_000.0)), 510_000.0);
        // Still over 100 ms later: the cut has not shown yet.
        assert_eq!(
            rate.update(t0 + ms(100), Usage::Over, Some(500_000.0)),
            510_000.0
        );
        assert_eq!(
            rate.update(t0 + ms(200), Usage::Over, Some(500_000.0)),
            425_000.0
        );
        // Under half the estimate arriving: at once.
        assert_eq!(
            rate.update(t0 + ms(250), Usage::Over, Some(200_000.0)),
            170_000.0
        );
        assert_eq!(rate.decreases(), 3);
    }

    #[test]
    fn near_the_limit_met_before_it_climbs_a_packet_per_response_time() {
        let t0 = Instant::now();
        let mut rate = RateControl::new(200_000.0, 10_000.0, 10_000_000.0);
        rate.update(t0, Usage::Over, Some(60_000.0));
        assert_eq!(rate.target(), 51_000.0);
        // Normal: held once, then up from there, for 4 s.
        let mut at = t0;
        for _ in 0..21 {
            at += ms(200);
            rate.update(at, Usage::Normal, Some(60_000.0));
        }
        // 4 kbit/s a second at this rate (a picture of 1,700 bits per 0.6 s
        // is less): 16 kbit/s in 4 s.
        let grown = rate.target() - 51_000.0;
        assert!((15_000.0..=17_000.0).contains(&grown), "{grown}");
    }

    #[test]
    fn far_from_any_limit_it_climbs_8_percent_a_second() {
        let t0 = Instant::now();
        let mut rate = RateControl::new(1_000_000.0, 10_000.0, 100_000_000.0);
        let mut at = t0;
        for _ in 0..=10 {
            rate.update(at, Usage::Normal, Some(10_000_000.0));
            at += ms(100);
        }
        // The first reading enters the increase: 1 s of growth after it.
        let grown = rate.target() / 1_000_000.0;
        assert!((1.075..=1.085).contains(&grown), "{grown}");
    }

    #[test]
    fn it_is_not_raised_past_1_5_times_what_arrives() {
        let t0 = Instant::now();
        let mut rate = RateControl::new(100_000.0, 10_000.0, 10_000_000.0);
        let mut at = t0;
        for _ in 0..100 {
            rate.update(at, Usage::Normal, Some(40_000.0));
            at += ms(200);
        }
        assert_eq!(rate.target(), 100_000.0, "held where it was: above 70k");
        let mut rate = RateControl::new(60_000.0, 10_000.0, 10_000_000.0);
        for _ in 0..100 {
            rate.update(at, Usage::Normal, Some(40_000.0));
            at += ms(200);
        }
        assert_eq!(rate.target(), 70_000.0);
    }

    #[test]
    fn a_queue_draining_holds_it_and_nothing_is_done_without_a_rate() {
        let t0 = Instant::now();
        let mut rate = RateControl::new(300_000.0, 10_000.0, 10_000_000.0);
        for i in 0..10 {
            rate.update(t0 + ms(i * 200), Usage::Under, Some(1_000_000.0));
            rate.update(t0 + ms(i * 200 + 100), Usage::Over, None);
        }
        assert_eq!(rate.target(), 300_000.0);
        assert_eq!(rate.decreases(), 0);
    }

    #[test]
    fn what_arrives_well_past_the_limit_makes_it_climb_fast_again() {
        let t0 = Instant::now();
        let mut rate = RateControl::new(600_000.0, 10_000.0, 10_000_000.0);
        rate.update(t0, Usage::Over, Some(300_000.0));
        let mut at = t0;
        for _ in 0..=10 {
            at += ms(100);
            rate.update(at, Usage::Normal, Some(2_000_000.0));
        }
        // 8 % a second, not 13 kbit/s a second.
        let grown = rate.target() - 255_000.0;
        assert!(grown > 18_000.0, "{grown}");
    }
}
