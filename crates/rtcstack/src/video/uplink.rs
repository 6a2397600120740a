//! How much video our uplink carries, and in which layers. Two signals,
//! the lower wins. The far end's receiver reports say how much of each
//! layer was lost: sustained loss means we send more than the path
//! carries, so the target drops to what got through, with headroom; a
//! clean path lets it climb back slowly. And the transport-wide estimate
//! (GCC over the server's transport-wide feedback) sees a queue grow
//! before anything is lost: on a link with a deep buffer, loss comes only
//! once the buffer is full, seconds of delay too late for a call.
//! Audio is served first: its share comes off the top, so under pressure
//! video degrades (a top layer at a lower bitrate, then layers paused from
//! the top) and the voice stays whole. A shared screen keeps its size
//! instead: its full layer outlasts the middle one, at a lower rate that
//! its encoder meets by sending fewer pictures, each still sharp enough to
//! read. A layer the server forwards to nobody (LiveKit's dynacast) gets
//! nothing, and its share goes to the others. Sans-IO: time and reports
//! are passed in.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// What audio needs before any video (Opus at LiveKit's bitrate, with its
/// packets' overhead).
pub(crate) const AUDIO_KBPS: u32 = 64;
/// Loss above this means we send too much (GCC's loss-based bands, as
/// libwebrtc's: above 10 % cut, 2–10 % hold, below 2 % climb). Loss in
/// between is as likely the path's own (Wi-Fi, a lossy link) as a queue
/// overflowing: cutting for it spiralled a camera down to its smallest
/// layer under 5 % random loss. A queue that fills shows in the
/// transport-wide estimate first.
const LOSS_HIGH: f64 = 0.10;
/// Loss below this lets the target climb.
const LOSS_LOW: f64 = 0.02;
/// Decreases at most this often (reports of layers come apart, and each
/// may still tell of the time before the last cut).
const DECREASE_EVERY: Duration = Duration::from_millis(500);
/// Clean for this long before climbing, then +5 % a second.
const CALM_BEFORE_INCREASE: Duration = Duration::from_secs(3);
const INCREASE_EVERY: Duration = Duration::from_secs(1);
/// How far back a receiver report's loss reaches: the second it tells of,
/// and the queue the lost packets stood in before that.
const REPORT_REACH: Duration = Duration::from_millis(1_500);

/// A layer's bitrates: below `min` it is not worth sending (paused);
/// `target` is what it gets when there is room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LayerRates {
    pub min_kbps: u32,
    pub target_kbps: u32,
}

#[derive(Debug)]
pub(crate) struct Uplink {
    /// The whole uplink's target, audio included (kbit/s).
    target: f64,
    ceiling: f64,
    last_decrease: Option<Instant>,
    /// The last report of loss, cut or not: climbing waits for calm.
    last_loss: Option<Instant>,
    last_increase: Option<Instant>,
    since: Instant,
    /// The transport-wide estimate, where the server gives feedback.
    estimate: Option<f64>,
    /// The targets held within the last `REPORT_REACH`, each from when it
    /// began: a report's loss was lost from the highest of them. After the
    /// estimate has cut the rate, reports still tell of the rate before
    /// the cut (one per layer, apart); counted against the rate after it,
    /// the same loss cut again and again, and a screen's full layer
    /// paused.
    held: VecDeque<(Instant, u32)>,
}

impl Uplink {
    /// Starts at the ceiling: everything we would send with no limit.
    pub(crate) fn new(now: Instant, ceiling_kbps: u32) -> Self {
        Uplink {
            target: f64::from(ceiling_kbps),
            ceiling: f64::from(ceiling_kbps),
            last_decrease: None,
            last_loss: None,
            last_increase: None,
            since: now,
            estimate: None,
            held: VecDeque::from([(now, ceiling_kbps)]),
        }
    }

    /// The lower of the two signals' targets.
    pub(crate) fn target_kbps(&self) -> u32 {
        self.estimate.map_or(self.target, |e| e.min(self.target)) as u32
    }

    /// The transport-wide estimate's share for this video, audio added
    /// (kbit/s). Returns the new target if it changed.
    pub(crate) fn on_estimate(&mut self, now: Instant, kbps: u32) -> Option<u32> {
        let before = self.target_kbps();
        let floor = f64::from(AUDIO_KBPS) + 30.0;
        self.estimate = Some(f64::from(kbps).max(floor));
        self.hold(now);
        (self.target_kbps() != before).then_some(self.target_kbps())
    }

    /// Notes the target from `now` on, and forgets those out of reach.
    fn hold(&mut self, now: Instant) {
        let target = self.target_kbps();
        if self.held.back().map(|h| h.1) != Some(target) {
            self.held.push_back((now, target));
        }
        while self.held.len() > 1 && now.duration_since(self.held[1].0) >= REPORT_REACH {
            self.held.pop_front();
        }
    }

    /// A receiver report: `loss` is the fraction of our video lost since
    /// the last one (0..1). Returns the new target if it changed.
    pub(crate) fn on_loss(&mut self, now: Instant, loss: f64) -> Option<u32> {
        let before = self.target_kbps();
        if loss > LOSS_HIGH {
            let recent = self
                .last_decrease
                .is_some_and(|t| now.duration_since(t) < DECREASE_EVERY);
            if !recent {
                // What got through, with 15 % headroom for the queue to drain
                // (of what was sent meanwhile: the highest target within the
                // report's reach). Loss only ever lowers this target.
                self.hold(now);
                // `held` is never empty; `before` only for the type.
                let sent = self.held.iter().map(|h| h.1).max().unwrap_or(before);
                let floor = f64::from(AUDIO_KBPS) + 30.0;
                let through = (f64::from(sent) * (1.0 - loss) * 0.85).max(floor);
                if through < self.target {
                    self.target = through;
                    self.last_decrease = Some(now);
                }
            }
            self.last_loss = Some(now);
        } else if loss >= LOSS_LOW {
            // Held, and no climb until calm.
            self.last_loss = Some(now);
        } else {
            let calm_since = self.last_loss.unwrap_or(self.since);
            let calm = now.duration_since(calm_since) >= CALM_BEFORE_INCREASE;
            let due = self
                .last_increase
                .is_none_or(|t| now.duration_since(t) >= INCREASE_EVERY);
            if calm && due && self.target < self.ceiling {
                self.target = (self.target * 1.05).min(self.ceiling);
                self.last_increase = Some(now);
            }
        }
        self.hold(now);
        (self.target_kbps() != before).then_some(self.target_kbps())
    }
}

/// What gives way first under pressure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Keep {
    /// A camera: the larger layers pause from the top; motion stays smooth
    /// in the smaller ones.
    Motion,
    /// A shared screen: the smallest (for thumbnails) and then the full
    /// size (to read it) are kept; the middle pauses first, and the
    /// smallest yields down to its least before the full size pauses.
    Size,
}

/// The order layers are served in (smallest layer first in `n`).
fn served(n: usize, keep: Keep) -> Vec<usize> {
    match keep {
        Keep::Motion => (0..n).collect(),
        Keep::Size => std::iter::once(0).chain((1..n).rev()).collect(),
    }
}

/// Each layer's bitrate under `target_kbps` for the whole uplink (smallest
/// layer first; 0 = paused): audio's share off the top, then each layer in
/// the order `keep` serves them gets its target while it fits; the last
/// one sent gets what remains up to its target; a layer that would get
/// less than its minimum is paused with every layer served after it. Only
/// `wanted` layers are served (the server forwards the others to nobody);
/// the first of them is never paused: some video beats none. A screen's
/// first leaves the next its minimum where both fit: a full size paused
/// for a thumbnail's sake is gone for seconds at every viewer (a server
/// takes a layer that stopped for gone, and waits before taking it back).
pub(crate) fn allocate(
    target_kbps: u32,
    layers: &[LayerRates],
    keep: Keep,
    wanted: &[bool],
) -> Vec<u32> {
    let mut left = target_kbps.saturating_sub(AUDIO_KBPS);
    let mut out = vec![0; layers.len()];
    let served: Vec<usize> = served(layers.len(), keep)
        .into_iter()
        .filter(|&i| wanted.get(i).copied().unwrap_or(true))
        .collect();
    for (n, &i) in served.iter().enumerate() {
        let l = layers[i];
        if n > 0 && left < l.min_kbps {
            break;
        }
        let give = if n == 0 {
            let reserve = match (keep, served.get(1)) {
                (Keep::Size, Some(&next)) if i == 0 => layers[next].min_kbps,
                _ => 0,
            };
            let room = if left >= l.min_kbps.saturating_add(reserve) {
                left - reserve
            } else {
                left
            };
            room.clamp(l.min_kbps, l.target_kbps)
        } else {
            left.min(l.target_kbps)
        };
        out[i] = give;
        left = left.saturating_sub(give);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LAYERS: [LayerRates; 3] = [
        LayerRates {
            min_kbps: 50,
            target_kbps: 100,
        },
        LayerRates {
            min_kbps: 100,
            target_kbps: 170,
        },
        LayerRates {
            min_kbps: 250,
            target_kbps: 690,
        },
    ];

    const ALL: [bool; 3] = [true; 3];

    /// A screen's layers shared out: its minimums are low (its encoder
    /// drops pictures instead).
    fn screen(kbps: u32) -> Vec<u32> {
        allocate(kbps, &screen_layers(), Keep::Size, &ALL)
    }

    fn screen_layers() -> [LayerRates; 3] {
        LAYERS.map(|l| LayerRates {
            min_kbps: l.target_kbps / 8,
            target_kbps: l.target_kbps,
        })
    }

    #[test]
    fn room_for_everything_gives_every_layer_its_target() {
        assert_eq!(
            allocate(1_024, &LAYERS, Keep::Motion, &ALL),
            [100, 170, 690]
        );
        assert_eq!(allocate(1_024, &LAYERS, Keep::Size, &ALL), [100, 170, 690]);
    }

    #[test]
    fn pressure_lowers_the_top_layer_then_pauses_it_then_the_middle() {
        let m = |kbps| allocate(kbps, &LAYERS, Keep::Motion, &ALL);
        // 900 - 64 audio = 836: the top gets what is left.
        assert_eq!(m(900), [100, 170, 566]);
        // 500 - 64 = 436: 166 left for the top, under its 250 minimum.
        assert_eq!(m(500), [100, 170, 0]);
        // 200 - 64 = 136: the middle's 100 minimum does not fit after 100.
        assert_eq!(m(200), [100, 0, 0]);
        // Nothing left after audio: the smallest still goes, at its minimum.
        assert_eq!(m(64), [50, 0, 0]);
    }

    #[test]
    fn a_screen_keeps_its_full_size_and_lets_the_middle_go_first() {
        let s = screen;
        // 900 - 64 = 836: the full layer whole, the middle what is left.
        assert_eq!(s(900), [100, 46, 690]);
        // 500 - 64 = 436: the full size at 336, the middle paused (where
        // a camera keeps the middle and pauses the top).
        assert_eq!(s(500), [100, 0, 336]);
        // 300 - 64 = 236: the full size at 136 kbit/s, where a camera
        // sends the middle instead.
        assert_eq!(s(300), [100, 0, 136]);
        assert_eq!(allocate(300, &LAYERS, Keep::Motion, &ALL), [100, 136, 0]);
        // 150 - 64 = 86: all of it to the smallest, as for a camera.
        assert_eq!(s(150), [86, 0, 0]);
    }

    #[test]
    fn a_screens_smallest_yields_to_its_least_before_the_full_size_pauses() {
        let s = screen;
        // 240 - 64 = 176: the smallest at its 100 would leave the full
        // size 76, under its 86: the smallest takes 90 instead.
        assert_eq!(s(240), [90, 0, 86]);
        // 176 - 64 = 112: the smallest's least (12) and the full size's
        // (86) fit: 26 and 86.
        assert_eq!(s(176), [26, 0, 86]);
        // 160 - 64 = 96: they do not both fit: all to the smallest.
        assert_eq!(s(160), [96, 0, 0]);
        // A camera keeps its smallest whole and pauses the rest.
        assert_eq!(allocate(240, &LAYERS, Keep::Motion, &ALL), [100, 0, 0]);
        // Nobody on the smallest: the full size keeps all it can take and
        // leaves nothing for the middle's sake.
        let s = allocate(764, &screen_layers(), Keep::Size, &[false, true, true]);
        assert_eq!(s, [0, 0, 690]);
    }

    #[test]
    fn only_the_layers_someone_is_forwarded_are_sent() {
        let m = |kbps, wanted: [bool; 3]| allocate(kbps, &LAYERS, Keep::Motion, &wanted);
        // Nobody watches: nothing at all, however much room.
        assert_eq!(m(1_024, [false; 3]), [0, 0, 0]);
        // Small tiles only: the smallest, at its target.
        assert_eq!(m(1_024, [true, false, false]), [100, 0, 0]);
        // Up to the middle: the top's share is not taken by the others.
        assert_eq!(m(1_024, [true, true, false]), [100, 170, 0]);
        // Under pressure the first wanted one is still never paused.
        assert_eq!(m(64, [true, true, false]), [50, 0, 0]);
        // A screen serves its full size after the smallest, wanted or not.
        let s = allocate(500, &LAYERS, Keep::Size, &[true, true, false]);
        assert_eq!(s, [100, 170, 0]);
    }

    #[test]
    fn loss_cuts_to_what_got_through_and_a_calm_path_climbs_back_slowly() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut u = Uplink::new(t0, 1_000);
        assert_eq!(u.on_loss(at(1_000), 0.0), None, "at the ceiling");
        // 15 % lost: 1000 × 0.85 × 0.85.
        assert_eq!(u.on_loss(at(2_000), 0.15), Some(722));
        // Another report of the same loss right after: not counted twice.
        assert_eq!(u.on_loss(at(2_200), 0.15), None);
        // One that still reaches back to the rate before the cut: the
        // same loss, of 1,000.
        assert_eq!(u.on_loss(at(2_600), 0.15), None);
        // Loss going on at 722: 722 × 0.85 × 0.85.
        assert_eq!(u.on_loss(at(3_600), 0.15), Some(521));
        // 10 % or less is held: no cut (a lossy path loses as much at any
        // rate), and no climb until 3 s below 2 %.
        assert_eq!(u.on_loss(at(4_600), 0.10), None);
        assert_eq!(u.on_loss(at(5_600), 0.05), None);
        assert_eq!(u.on_loss(at(6_600), 0.01), None);
        assert_eq!(u.on_loss(at(8_500), 0.0), None);
        assert_eq!(u.on_loss(at(8_600), 0.0), Some(547));
        assert_eq!(u.on_loss(at(9_000), 0.0), None, "once a second");
        assert_eq!(u.on_loss(at(9_600), 0.0), Some(575));
    }

    #[test]
    fn the_lower_of_loss_and_the_transport_wide_estimate_wins() {
        let start = Instant::now();
        let at = |s: u64| start + Duration::from_secs(s);
        let mut uplink = Uplink::new(start, 1_000);
        // A queue grows: the estimate falls, nothing is lost yet.
        assert_eq!(uplink.on_estimate(start, 600), Some(600));
        assert_eq!(uplink.on_loss(at(1), 0.0), None);
        assert_eq!(uplink.target_kbps(), 600);
        // The estimate climbs past what loss allows: loss holds it.
        assert_eq!(uplink.on_loss(at(2), 0.15), Some(433));
        assert_eq!(uplink.on_estimate(at(2), 900), None);
        assert_eq!(uplink.target_kbps(), 433);
        // Never below audio and a little video.
        assert_eq!(uplink.on_estimate(at(3), 10), Some(94));
    }

    #[test]
    fn loss_from_before_the_estimate_cut_the_rate_is_not_counted_again() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut u = Uplink::new(t0, 1_500);
        assert_eq!(u.on_loss(at(1_000), 0.0), None);
        // A cap: the queue grows, and the estimate cuts to what gets
        // through in two steps (as seen under a 600 kbit/s cap).
        assert_eq!(u.on_estimate(at(1_100), 897), Some(897));
        assert_eq!(u.on_estimate(at(1_400), 555), Some(555));
        // Reports of the queue's loss, from two layers 0.8 s apart, each
        // reaching back to the 1,500 sent before the cap: through, 912 and
        // 996. The estimate's 555 holds (cut from the rate after the cut,
        // 337, then 223: the screen's full layer paused for seconds).
        assert_eq!(u.on_loss(at(1_700), 0.285), None);
        assert_eq!(u.on_loss(at(2_500), 0.219), None);
        assert_eq!(u.target_kbps(), 555);
        // Loss going on at 555, out of the reach of the rate before.
        assert_eq!(u.on_loss(at(3_300), 0.15), Some(400));
    }

    #[test]
    fn loss_never_raises_the_target_it_sets() {
        let t0 = Instant::now();
        let at = |ms: u64| t0 + Duration::from_millis(ms);
        let mut u = Uplink::new(t0, 1_500);
        assert_eq!(u.on_estimate(at(1_400), 555), Some(555));
        // 1,500 × 0.715 × 0.85 = 911: loss's own target.
        assert_eq!(u.on_loss(at(1_700), 0.285), None);
        // Less loss, still reaching back to 1,500: 996, not raised to it.
        assert_eq!(u.on_loss(at(2_500), 0.219), None);
        // The estimate lifted: loss's 911 holds it.
        assert_eq!(u.on_estimate(at(2_600), 2_000), Some(911));
    }

    #[test]
    fn the_target_never_falls_below_audio_and_a_little_video() {
        let t0 = Instant::now();
        let mut u = Uplink::new(t0, 1_000);
        for i in 1..40 {
            u.on_loss(t0 + Duration::from_secs(i), 0.5);
        }
        assert_eq!(u.target_kbps(), AUDIO_KBPS + 30);
    }
}
