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

/// A block split in two by frequency: the level (dBFS, RMS) of the band
/// `hz` ± `half_width` Hz (a tone there), and of everything else (noise,
/// speech). Hann window, power summed over FFT bins (Parseval), so the two
/// add up to the block's power.
pub fn band_split(samples: &[i16], hz: f64, half_width: f64) -> (f64, f64) {
    let n = samples.len();
    if n < 1024 {
        return (-120.0, -120.0);
    }
    let window: Vec<f64> = (0..n)
        .map(|i| 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / (n - 1) as f64).cos())
        .collect();
    let mut buf: Vec<Complex<f64>> = samples
        .iter()
        .zip(&window)
        .map(|(&s, w)| Complex::new(f64::from(s) / 32768.0 * w, 0.0))
        .collect();
    FftPlanner::new().plan_fft_forward(n).process(&mut buf);
    // One-sided power, scaled so a full block's power is the mean square
    // of the windowed signal corrected for the window's own power.
    let window_power = window.iter().map(|w| w * w).sum::<f64>() / n as f64;
    let bin_hz = f64::from(SAMPLE_RATE) / n as f64;
    let (mut band, mut rest) = (0.0, 0.0);
    for (k, c) in buf[..n / 2].iter().enumerate().skip(1) {
        let p = 2.0 * c.norm_sqr() / (n as f64 * n as f64) / window_power;
        if ((k as f64 * bin_hz) - hz).abs() <= half_width {
            band += p;
        } else {
            rest += p;
        }
    }
    let db = |p: f64| if p > 1e-12 { 10.0 * p.log10() } else { -120.0 };
    (db(band), db(rest))
}

/// Speech's level as a meter on a speaking person reads it: the RMS of the
/// 20 ms frames within 25 dB of the loudest ones (pauses left out).
pub fn active_level_db(samples: &[i16]) -> f64 {
    let mut frames: Vec<f64> = samples.chunks_exact(960).map(rms_db).collect();
    if frames.is_empty() {
        return -120.0;
    }
    frames.sort_by(f64::total_cmp);
    let loud = frames[(frames.len() * 95 / 100).min(frames.len() - 1)];
    let active: Vec<f64> = frames.into_iter().filter(|&l| l >= loud - 25.0).collect();
    let mean_power = active.iter().map(|l| 10f64.powf(l / 10.0)).sum::<f64>() / active.len() as f64;
    10.0 * mean_power.log10()
}

/// The noise floor under speech: the RMS of the quietest fifth of the
/// 20 ms frames (the pauses between words and sentences).
pub fn floor_level_db(samples: &[i16]) -> f64 {
    let mut frames: Vec<f64> = samples.chunks_exact(960).map(rms_db).collect();
    if frames.is_empty() {
        return -120.0;
    }
    frames.sort_by(f64::total_cmp);
    let quiet = &frames[..frames.len().div_ceil(5)];
    let mean_power = quiet.iter().map(|l| 10f64.powf(l / 10.0)).sum::<f64>() / quiet.len() as f64;
    10.0 * mean_power.log10()
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
    fn a_tone_in_noise_splits_into_its_two_levels() {
        // A -20 dBFS sine at 880 Hz plus noise near -40 dBFS.
        let mut seed = 7u32;
        let pcm: Vec<i16> = (0..48_000)
            .map(|i| {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let noise = (f64::from(seed >> 8) / f64::from(1u32 << 24) - 0.5) * 0.0346;
                let tone = 0.1414 * (std::f64::consts::TAU * 880.0 * i as f64 / 48_000.0).sin();
                ((tone + noise) * 32767.0) as i16
            })
            .collect();
        let (tone, rest) = band_split(&pcm, 880.0, 20.0);
        assert!((tone + 20.0).abs() < 0.5, "tone {tone:.1}");
        assert!((rest + 40.0).abs() < 1.0, "rest {rest:.1}");
    }

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
