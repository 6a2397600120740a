//! Sample conversions between devices or files and the call's 48 kHz mono.
//! Public for inputs built outside the SDK (a bot's WAV file).

/// Linear resampling between a device rate and 48 kHz: cheap, and clean
/// enough for speech (devices almost always offer 48 kHz anyway).
pub struct Resampler {
    pub(crate) step: f64,
    pos: f64,
    last: f32,
}

impl Resampler {
    pub fn new(from: u32, to: u32) -> Self {
        Resampler {
            step: f64::from(from) / f64::from(to),
            pos: 0.0,
            last: 0.0,
        }
    }

    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
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

pub fn to_f32_i16(s: i16) -> f32 {
    f32::from(s) / 32768.0
}

pub fn to_i16_f32(s: f32) -> i16 {
    (s.clamp(-1.0, 1.0) * 32767.0) as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 0.5 full-scale sine at `hz`, `n` samples at 48 kHz.
    fn sine(hz: f64, n: usize) -> Vec<i16> {
        let step = std::f64::consts::TAU * hz / 48_000.0;
        (0..n)
            .map(|i| (0.5 * f64::from(i16::MAX) * (step * i as f64).sin()) as i16)
            .collect()
    }

    /// RMS level (dBFS) of the `hz` component of a 48 kHz block: a
    /// Hann-windowed DFT at exactly `hz`, scaled so a sine of amplitude A
    /// reads A/√2.
    fn level_db_at(pcm: &[i16], hz: f64) -> f64 {
        let n = pcm.len();
        let (sin, cos) = (std::f64::consts::TAU * hz / 48_000.0).sin_cos();
        // The DFT's phasor, turned one sample's step at a time.
        let (mut c, mut s) = (1.0f64, 0.0f64);
        let (mut re, mut im, mut wsum) = (0.0f64, 0.0f64, 0.0f64);
        for (i, &x) in pcm.iter().enumerate() {
            let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n - 1) as f64).cos();
            let x = f64::from(x) / 32768.0 * w;
            re += x * c;
            im -= x * s;
            wsum += w;
            (c, s) = (c * cos - s * sin, s * cos + c * sin);
        }
        let amplitude = 2.0 * re.hypot(im) / wsum;
        20.0 * (amplitude / std::f64::consts::SQRT_2).max(1e-6).log10()
    }

    #[test]
    fn resampling_keeps_the_pitch() {
        // Down to 44.1 kHz (a typical device rate) and back.
        let mut src = Resampler::new(48_000, 44_100);
        let at48 = sine(440.0, 48_000);
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
        // The loudest frequency between 400 and 480 Hz (0.5 Hz apart) is
        // 440 Hz, and it carries the signal (0.5 full scale: about -9 dBFS).
        let (hz, level_db) = (800..=960)
            .map(|h| f64::from(h) / 2.0)
            .map(|hz| (hz, level_db_at(&pcm, hz)))
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .unwrap();
        assert!((hz - 440.0).abs() < 2.0, "{hz} Hz at {level_db:.1} dBFS");
        assert!(
            (level_db + 9.0).abs() < 1.0,
            "{hz} Hz at {level_db:.1} dBFS"
        );
        assert!(
            (pcm.len() as i64 - 48_000).abs() < 10,
            "{} samples",
            pcm.len()
        );
    }
}
