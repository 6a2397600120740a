//! What a signal sounds like, in numbers: its dominant frequency and level.
//! Used by the tests and the command-line bot to say what they hear.

use rustfft::{num_complex::Complex, FftPlanner};

use rtcstack::audio::SAMPLE_RATE;

/// The loudest frequency in a block of samples, and the block's level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Peak {
    pub hz: f64,
    /// RMS level in dBFS.
    pub level_db: f64,
}

/// Dominant frequency (Hann window, FFT, parabolic interpolation between
/// bins) and RMS level. `None` for fewer than 1024 samples or silence.
pub fn spectrum_peak(samples: &[i16]) -> Option<Peak> {
    let n = samples.len();
    if n < 1024 {
        return None;
    }
    let level_db = rms_db(samples);
    if level_db < -90.0 {
        return None;
    }
    let mut buf: Vec<Complex<f64>> = samples
        .iter()
        .enumerate()
        .map(|(i, &s)| {
            let w = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n - 1) as f64).cos();
            Complex::new(f64::from(s) / 32768.0 * w, 0.0)
        })
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    let mags: Vec<f64> = buf[..n / 2].iter().map(|c| c.norm()).collect();
    let (k, _) = mags
        .iter()
        .enumerate()
        .skip(1)
        .max_by(|a, b| a.1.total_cmp(b.1))?;
    let shift = if k + 1 < mags.len() {
        let (a, b, c) = (mags[k - 1], mags[k], mags[k + 1]);
        let d = a - 2.0 * b + c;
        if d != 0.0 {
            0.5 * (a - c) / d
        } else {
            0.0
        }
    } else {
        0.0
    };
    Some(Peak {
        hz: (k as f64 + shift) * f64::from(SAMPLE_RATE) / n as f64,
        level_db,
    })
}

/// RMS level in dBFS (-inf clamps to -120).
pub fn rms_db(samples: &[i16]) -> f64 {
    if samples.is_empty() {
        return -120.0;
    }
    let sum: f64 = samples
        .iter()
        .map(|&s| {
            let x = f64::from(s) / 32768.0;
            x * x
        })
        .sum();
    let rms = (sum / samples.len() as f64).sqrt();
    if rms > 1e-6 {
        20.0 * rms.log10()
    } else {
        -120.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_and_short_blocks_have_no_peak() {
        assert_eq!(spectrum_peak(&[0i16; 4800]), None);
        assert_eq!(spectrum_peak(&[1000i16; 100]), None);
        assert_eq!(rms_db(&[]), -120.0);
    }

    #[test]
    fn finds_the_louder_of_two_tones() {
        let mut a = crate::tone::Tone::new(660.0, 0.4);
        let mut b = crate::tone::Tone::new(440.0, 0.1);
        let mut x = vec![0i16; 9600];
        let mut y = vec![0i16; 9600];
        a.fill(&mut x);
        b.fill(&mut y);
        let mix: Vec<i16> = x.iter().zip(&y).map(|(p, q)| p + q).collect();
        let peak = spectrum_peak(&mix).unwrap();
        assert!((peak.hz - 660.0).abs() < 2.0, "{peak:?}");
    }
}
