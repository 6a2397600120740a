//! Sample conversions between devices or files and the call's 48 kHz mono.

/// Linear resampling between a device rate and 48 kHz: cheap, and clean
/// enough for speech (devices almost always offer 48 kHz anyway).
pub(crate) struct Resampler {
    pub(crate) step: f64,
    pos: f64,
    last: f32,
}

impl Resampler {
    pub(crate) fn new(from: u32, to: u32) -> Self {
        Resampler {
            step: f64::from(from) / f64::from(to),
            pos: 0.0,
            last: 0.0,
        }
    }

    pub(crate) fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if (self.step - 1.0).abs() < f64::EPSILON {
            out.extend_from_slice(input);
            return;
        }
        // pos is measured from `last` (index -1) into `input`.
        while self.pos < input.len() as f64 {
            let i = self.pos.floor();
            let frac = (self.pos - i) as f32;
            let a = if i < 1.0 {
                self.last
            } else {
                input[i as usize - 1]
            };
            let b = input[i as usize];
            out.push(a + (b - a) * frac);
            self.pos += self.step;
        }
        self.pos -= input.len() as f64;
        if let Some(&l) = input.last() {
            self.last = l;
        }
    }
}

pub(crate) fn to_f32_i16(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

pub(crate) fn to_i16_f32(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::analysis::spectrum_peak;
    use crate::audio::tone::Tone;

    #[test]
    fn resampling_keeps_the_pitch() {
        let mut tone = Tone::new(440.0, 0.5);
        // Down to 44.1 kHz (a typical device rate) and back.
        let mut src = Resampler::new(48_000, 44_100);
        let mut at48 = vec![0i16; 48_000];
        tone.fill(&mut at48);
        let f: Vec<f32> = at48.iter().map(|&s| to_f32_i16(s)).collect();
        let mut at441 = Vec::new();
        src.push(&f, &mut at441);
        // Now back to 48 kHz, in uneven chunks as callbacks would deliver.
        let mut back = Resampler::new(44_100, 48_000);
        let mut out = Vec::new();
        for chunk in at441.chunks(441 + 7) {
            back.push(chunk, &mut out);
        }
        let pcm: Vec<i16> = out.iter().map(|&s| to_i16_f32(s)).collect();
        let peak = spectrum_peak(&pcm).unwrap();
        assert!((peak.hz - 440.0).abs() < 2.0, "{peak:?}");
        assert!(
            (pcm.len() as i64 - 48_000).abs() < 10,
            "{} samples",
            pcm.len()
        );
    }
}
