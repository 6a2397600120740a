//! Which of a camera's formats to take, for a camera that lists them all
//! (Media Foundation's, AVFoundation's), in the order the PipeWire reader
//! asks for them: the size wanted at the rate wanted or faster, raw, then
//! as MJPEG; then at least half that size at that rate, raw then MJPEG;
//! then anything up to 4096x4096 at 1 to 60 fps. A USB webcam gives 720p
//! at 30 fps only as MJPEG (raw, at 10): raw of any rate first, it would
//! be sent at 10.

use crate::video::VideoFormat;

/// The largest side taken.
const LARGEST_SIDE: u32 = 4096;
/// The fastest rate taken.
const FASTEST: u32 = 60;

/// One way a camera can give its pictures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Offer {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub mjpeg: bool,
}

/// The offer to take for `want`, by its place in `offers`; `None` if none
/// is usable at all.
#[cfg(test)]
pub(crate) fn choose(offers: &[Offer], want: VideoFormat) -> Option<usize> {
    ranked(offers, want).first().copied()
}

/// The usable offers by their places in `offers`, the best for `want`
/// first (a camera that refuses one is asked for the next).
pub(crate) fn ranked(offers: &[Offer], want: VideoFormat) -> Vec<usize> {
    let at_rate = |o: &Offer| o.fps >= want.fps.clamp(1, FASTEST) && o.fps <= FASTEST;
    let exact = |o: &Offer| (o.width, o.height) == (want.width, want.height);
    let half = |o: &Offer| 2 * o.width >= want.width && 2 * o.height >= want.height;
    let tier = |o: &Offer| -> Option<u32> {
        let usable = (2..=LARGEST_SIDE).contains(&o.width)
            && (2..=LARGEST_SIDE).contains(&o.height)
            && (1..=FASTEST).contains(&o.fps);
        let mjpeg = u32::from(o.mjpeg);
        match () {
            _ if !usable => None,
            _ if exact(o) && at_rate(o) => Some(mjpeg),
            _ if half(o) && at_rate(o) => Some(2 + mjpeg),
            _ => Some(4 + mjpeg),
        }
    };
    let wanted_area = u64::from(want.width) * u64::from(want.height);
    let mut usable: Vec<_> = offers
        .iter()
        .enumerate()
        .filter_map(|(i, o)| {
            let area = u64::from(o.width) * u64::from(o.height);
            let closeness = (area.abs_diff(wanted_area), o.fps.abs_diff(want.fps));
            Some(((tier(o)?, closeness), i))
        })
        .collect();
    usable.sort();
    usable.into_iter().map(|(_, i)| i).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offer(width: u32, height: u32, fps: u32, mjpeg: bool) -> Offer {
        Offer {
            width,
            height,
            fps,
            mjpeg,
        }
    }

    const HD: VideoFormat = VideoFormat {
        width: 1280,
        height: 720,
        fps: 30,
    };

    #[test]
    fn a_usb_webcam_gives_its_720p_at_30_as_mjpeg() {
        let offers = [
            offer(640, 480, 30, false),
            offer(1280, 720, 10, false),
            offer(1280, 720, 30, true),
            offer(1920, 1080, 30, true),
        ];
        assert_eq!(choose(&offers, HD), Some(2));
    }

    #[test]
    fn raw_is_taken_before_mjpeg_of_the_same_size_and_rate() {
        let offers = [offer(1280, 720, 30, true), offer(1280, 720, 30, false)];
        assert_eq!(choose(&offers, HD), Some(1));
    }

    #[test]
    fn without_the_size_wanted_the_nearest_of_at_least_half_at_the_rate() {
        let offers = [
            offer(320, 240, 30, false),
            offer(640, 360, 30, false),
            offer(1920, 1080, 30, false),
            offer(1280, 720, 15, false),
        ];
        // 640x360 is nearer 1280x720 in area than 1920x1080.
        assert_eq!(choose(&offers, HD), Some(1));
    }

    #[test]
    fn every_usable_offer_is_ranked_best_first() {
        let offers = [
            offer(320, 240, 30, false),
            offer(8192, 4320, 30, false),
            offer(1280, 720, 30, true),
            offer(1280, 720, 30, false),
        ];
        assert_eq!(ranked(&offers, HD), [3, 2, 0]);
    }

    #[test]
    fn a_slow_camera_is_still_taken_and_nothing_unusable_is() {
        let offers = [offer(1280, 720, 120, false), offer(320, 240, 5, false)];
        assert_eq!(choose(&offers, HD), Some(1));
        assert_eq!(choose(&[offer(8192, 4320, 30, false)], HD), None);
        assert_eq!(choose(&[], HD), None);
    }
}
