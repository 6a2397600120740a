//! Which of a source's pictures to send, when it gives more than we send (a
//! 60 fps camera sent at 30, a screen cast drawing 30 shared at 10): slots
//! one interval apart from the first picture, and for each slot the
//! picture nearest it. A picture is kept when it arrives no earlier than
//! half the source's own interval before the next slot (half ours, where
//! the source is slower or its rate varies): a source at our rate may
//! jitter by half an interval, and one at a multiple of it keeps the same
//! picture of each group however it jitters. (With one fixed margin, as
//! libwebrtc's video adapter has, a source at twice the rate lands on the
//! slots and its picks flicker.) A source far off its slots (a pause, a
//! clock jump) starts them again.

use std::time::{Duration, Instant};

pub(crate) struct Cadence {
    interval: Duration,
    /// How early a picture may be for its slot.
    margin: Duration,
    next: Option<Instant>,
}

impl Cadence {
    /// At most `fps` pictures a second, from a source that gives one every
    /// `source` (None: a rate that varies, or is not known).
    pub(crate) fn new(fps: u32, source: Option<Duration>) -> Self {
        let interval = Duration::from_secs(1) / fps.max(1);
        let source = source.unwrap_or(interval).min(interval);
        Cadence {
            interval,
            margin: source / 2,
            next: None,
        }
    }

    /// Whether the picture that arrived `at` is due to be sent.
    pub(crate) fn due(&self, at: Instant) -> bool {
        match self.next {
            Some(next) if self.near(next, at) => next.saturating_duration_since(at) <= self.margin,
            _ => true,
        }
    }

    /// A picture that arrived `at` was sent: its slot is taken.
    pub(crate) fn sent(&mut self, at: Instant) {
        self.next = Some(match self.next {
            Some(next) if self.near(next, at) => next + self.interval,
            _ => at + self.interval,
        });
    }

    /// Whether `at` is within two intervals of the slot `next` (else the
    /// slots start again).
    fn near(&self, next: Instant, at: Instant) -> bool {
        next.saturating_duration_since(at) < 2 * self.interval
            && at.saturating_duration_since(next) < 2 * self.interval
    }

    /// Whether the picture that arrived `at` is sent, taking its slot.
    #[cfg(test)]
    fn keep(&mut self, at: Instant) -> bool {
        let due = self.due(at);
        if due {
            self.sent(at);
        }
        due
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pictures at `times` (ms from a start); which are kept.
    fn kept(fps: u32, source_fps: u32, times: &[f64]) -> Vec<bool> {
        let start = Instant::now();
        let source = (source_fps > 0).then(|| Duration::from_secs(1) / source_fps);
        let mut cadence = Cadence::new(fps, source);
        times
            .iter()
            .map(|ms| cadence.keep(start + Duration::from_micros((ms * 1000.0) as u64)))
            .collect()
    }

    fn every(ms: f64, n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64 * ms).collect()
    }

    #[test]
    fn a_source_at_our_rate_is_kept_whole_though_it_jitters() {
        // 30 fps, each picture 7 ms early or late of its time, alternately
        // (the first late, and the slots from it).
        let times: Vec<f64> = every(1000.0 / 30.0, 90)
            .into_iter()
            .enumerate()
            .map(|(i, t)| if i % 2 == 0 { t + 7.0 } else { t - 7.0 })
            .collect();
        assert!(kept(30, 30, &times).iter().all(|k| *k));
        assert!(kept(30, 30, &every(1000.0 / 30.0, 300)).iter().all(|k| *k));
        assert!(kept(30, 0, &times).iter().all(|k| *k));
    }

    /// The gaps (ms) between the pictures kept.
    fn gaps_kept(times: &[f64], keep: &[bool]) -> Vec<f64> {
        let sent: Vec<f64> = times
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(t, _)| *t)
            .collect();
        sent.windows(2).map(|w| w[1] - w[0]).collect()
    }

    #[test]
    fn a_faster_source_is_thinned_evenly_to_our_rate() {
        // 60 to 30: after the first slot (half an interval on), every other.
        let times = every(1000.0 / 60.0, 120);
        let gaps = gaps_kept(&times, &kept(30, 60, &times));
        assert_eq!(gaps.len(), 59, "{gaps:?}");
        assert!(
            gaps.iter().all(|g| (g - 1000.0 / 30.0).abs() < 0.01),
            "{gaps:?}"
        );

        // 60 to 30 with each picture up to 4 ms off its time: still every
        // other one (a fixed margin of half our interval flickers here).
        let times: Vec<f64> = every(1000.0 / 60.0, 120)
            .into_iter()
            .enumerate()
            .map(|(i, t)| t + ((i * 7919) % 9) as f64 - 4.0)
            .collect();
        let gaps = gaps_kept(&times, &kept(30, 60, &times));
        assert_eq!(gaps.len(), 59, "{gaps:?}");
        assert!(
            gaps.iter().all(|g| (g - 1000.0 / 30.0).abs() <= 8.0),
            "{gaps:?}"
        );

        // A cast drawing 30 shared at 10: every third.
        let times = every(1000.0 / 30.0, 90);
        let gaps = gaps_kept(&times, &kept(10, 30, &times));
        assert_eq!(gaps.len(), 29, "{gaps:?}");
        assert!(gaps.iter().all(|g| (g - 100.0).abs() < 0.01), "{gaps:?}");
    }

    #[test]
    fn no_second_ever_holds_more_than_our_rate() {
        // A cast that sends on change: bursts and lulls.
        let mut times = Vec::new();
        let mut t = 0.0;
        for i in 0..400 {
            t += [1.0, 3.0, 7.0, 40.0, 2.0, 90.0][i % 6];
            times.push(t);
        }
        let keep = kept(10, 0, &times);
        let sent: Vec<f64> = times
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(t, _)| *t)
            .collect();
        for (i, first) in sent.iter().enumerate() {
            let in_a_second = sent[i..]
                .iter()
                .take_while(|t| **t < first + 1000.0)
                .count();
            assert!(
                in_a_second <= 11,
                "{in_a_second} sent in the second from {first} ms"
            );
        }
        assert!(sent.len() >= times.len() / 10, "{} sent", sent.len());
    }

    #[test]
    fn a_camera_at_29_97_is_sent_whole_at_30() {
        let start = Instant::now();
        let source = Duration::from_secs(1001) / 30_000;
        let mut cadence = Cadence::new(30, Some(source));
        let sent = (0..900)
            .filter(|i| cadence.keep(start + source * *i))
            .count();
        assert_eq!(sent, 900);
    }

    #[test]
    fn a_picture_not_sent_leaves_its_slot_free() {
        let start = Instant::now();
        let mut cadence = Cadence::new(10, Some(Duration::from_millis(100)));
        assert!(cadence.keep(start));
        // Due, but unreadable: not sent. The next, a moment on, still is.
        let at = start + Duration::from_millis(100);
        assert!(cadence.due(at));
        assert!(cadence.due(at + Duration::from_millis(5)));
    }

    #[test]
    fn after_a_pause_the_next_picture_is_kept_and_the_slots_start_again() {
        let mut times = every(1000.0 / 30.0, 30);
        let resume = times.last().unwrap() + 2_000.0;
        times.extend(every(1000.0 / 30.0, 30).into_iter().map(|t| resume + t));
        assert!(kept(30, 30, &times).iter().all(|k| *k));
    }
}
