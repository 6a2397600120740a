//! A generated sine: the test and bot input, and the demo's "voice".

use rtcstack::audio::io::AudioInput;
use rtcstack::audio::SAMPLE_RATE;

/// A continuous sine at `hz`; phase carries across frames so there are no
/// clicks at frame edges.
#[derive(Debug, Clone)]
pub struct Tone {
    hz: f64,
    amplitude: f64,
    phase: f64,
}

impl Tone {
    /// `amplitude` is relative to full scale (0.0–1.0).
    pub fn new(hz: f64, amplitude: f64) -> Self {
        Tone {
            hz,
            amplitude: amplitude.clamp(0.0, 1.0),
            phase: 0.0,
        }
    }

    pub fn hz(&self) -> f64 {
        self.hz
    }

    /// Fills `out` with the next samples.
    pub fn fill(&mut self, out: &mut [i16]) {
        let step = std::f64::consts::TAU * self.hz / f64::from(SAMPLE_RATE);
        for s in out.iter_mut() {
            *s = (self.amplitude * f64::from(i16::MAX) * self.phase.sin()) as i16;
            self.phase = (self.phase + step) % std::f64::consts::TAU;
        }
    }
}

impl AudioInput for Tone {
    fn next_frame(&mut self, out: &mut [i16]) {
        self.fill(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::spectrum_peak;

    #[test]
    fn frames_join_into_one_clean_sine() {
        let mut tone = Tone::new(440.0, 0.5);
        let mut all = Vec::new();
        for _ in 0..50 {
            let mut frame = [0i16; 960];
            tone.fill(&mut frame);
            all.extend_from_slice(&frame);
        }
        let peak = spectrum_peak(&all).unwrap();
        assert!((peak.hz - 440.0).abs() < 1.0, "{peak:?}");
        // 0.5 of full scale: RMS is 0.5/sqrt(2), about -9 dBFS.
        assert!((peak.level_db + 9.0).abs() < 0.5, "{peak:?}");
    }
}
