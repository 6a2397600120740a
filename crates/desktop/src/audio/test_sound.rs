//! The pre-call check's test sound: two rising notes, short and moderate,
//! so a person knows which device played it without being startled.

use rtcstack::audio::{FRAME_SAMPLES, SAMPLE_RATE};

/// (pitch Hz, length ms) of each note.
pub(crate) const NOTES: [(f64, u32); 2] = [(660.0, 300), (880.0, 400)];
/// -18 dBFS peak: clearly heard, well below a call's loudest.
const PEAK: f64 = 0.125;
/// Fade in and out of each note, so it starts and stops without a click.
const FADE_MS: f64 = 10.0;

/// The sound in 20 ms frames at the call's rate.
pub(crate) fn frames() -> Vec<Vec<i16>> {
    let rate = f64::from(SAMPLE_RATE);
    let mut samples = Vec::new();
    for (hz, ms) in NOTES {
        let n = (rate * f64::from(ms) / 1000.0) as usize;
        let fade = rate * FADE_MS / 1000.0;
        for i in 0..n {
            let t = i as f64;
            let envelope = (t / fade).min((n as f64 - t) / fade).min(1.0);
            let s = (2.0 * std::f64::consts::PI * hz * t / rate).sin() * PEAK * envelope;
            samples.push((s * f64::from(i16::MAX)) as i16);
        }
    }
    samples
        .chunks(FRAME_SAMPLES)
        .map(|c| {
            let mut frame = c.to_vec();
            frame.resize(FRAME_SAMPLES, 0);
            frame
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_notes_in_whole_frames_at_a_moderate_level() {
        let frames = frames();
        assert_eq!(frames.len(), 35, "700 ms in 20 ms frames");
        assert!(frames.iter().all(|f| f.len() == FRAME_SAMPLES));
        let peak = frames.iter().flatten().map(|s| s.unsigned_abs()).max();
        assert!(peak.is_some_and(|p| (4000..4200).contains(&p)), "{peak:?}");
        // Each note fades in: the first sample is silent.
        assert_eq!(frames[0][0], 0);
    }
}
