//! A WAV file as the call's audio input (bots, demos, tests): any rate,
//! mono or multi-channel, converted once to 48 kHz mono and looped.

use std::path::Path;

use rtcstack::audio::io::AudioInput;
use rtcstack::audio::resample::{to_i16_f32, Resampler};
use rtcstack::audio::SAMPLE_RATE;

#[derive(Debug, thiserror::Error)]
pub enum WavError {
    #[error("cannot read or write WAV file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("WAV file {0} holds no audio")]
    Empty(String),
}

/// A looped WAV file.
pub struct WavInput {
    samples: Vec<i16>,
    pos: usize,
}

impl WavInput {
    pub fn open(path: &Path) -> Result<Self, WavError> {
        let err = |reason: String| WavError::Read {
            path: path.display().to_string(),
            reason,
        };
        let mut reader = hound::WavReader::open(path).map_err(|e| err(e.to_string()))?;
        let spec = reader.spec();
        let channels = usize::from(spec.channels.max(1));
        let interleaved: Vec<f32> = match spec.sample_format {
            hound::SampleFormat::Float => reader
                .samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(|e| err(e.to_string()))?,
            hound::SampleFormat::Int => {
                let scale = 2f32.powi(i32::from(spec.bits_per_sample) - 1);
                reader
                    .samples::<i32>()
                    .map(|s| s.map(|v| v as f32 / scale))
                    .collect::<Result<_, _>>()
                    .map_err(|e| err(e.to_string()))?
            }
        };
        let mono: Vec<f32> = interleaved
            .chunks(channels)
            .map(|f| f.iter().sum::<f32>() / channels as f32)
            .collect();
        let mut at48 = Vec::with_capacity(mono.len());
        Resampler::new(spec.sample_rate, SAMPLE_RATE).push(&mono, &mut at48);
        if at48.is_empty() {
            return Err(WavError::Empty(path.display().to_string()));
        }
        Ok(WavInput {
            samples: at48.into_iter().map(to_i16_f32).collect(),
            pos: 0,
        })
    }
}

impl WavInput {
    /// The whole file, at 48 kHz mono.
    pub fn samples(&self) -> &[i16] {
        &self.samples
    }
}

/// Writes 48 kHz mono 16-bit audio as a WAV file.
pub fn write(path: &Path, samples: &[i16]) -> Result<(), WavError> {
    let err = |e: hound::Error| WavError::Read {
        path: path.display().to_string(),
        reason: e.to_string(),
    };
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: SAMPLE_RATE,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).map_err(err)?;
    for &s in samples {
        w.write_sample(s).map_err(err)?;
    }
    w.finalize().map_err(err)
}

impl AudioInput for WavInput {
    fn next_frame(&mut self, out: &mut [i16]) {
        for s in out.iter_mut() {
            *s = self.samples[self.pos];
            self.pos = (self.pos + 1) % self.samples.len();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::spectrum_peak;

    #[test]
    fn a_stereo_44k_file_plays_at_48k_mono_with_its_pitch() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tone.wav");
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 44_100,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut w = hound::WavWriter::create(&path, spec).unwrap();
        for i in 0..44_100 {
            let v = (0.4 * (std::f64::consts::TAU * 500.0 * i as f64 / 44_100.0).sin() * 32767.0)
                as i16;
            w.write_sample(v).unwrap();
            w.write_sample(v).unwrap();
        }
        w.finalize().unwrap();
        let mut input = WavInput::open(&path).unwrap();
        let mut pcm = vec![0i16; 24_000];
        input.next_frame(&mut pcm);
        let p = spectrum_peak(&pcm).unwrap();
        assert!((p.hz - 500.0).abs() < 2.0, "{p:?}");
    }

    #[test]
    fn a_missing_or_bad_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            WavInput::open(&dir.path().join("none.wav")),
            Err(WavError::Read { .. })
        ));
        let junk = dir.path().join("junk.wav");
        std::fs::write(&junk, b"not a wav").unwrap();
        let e = WavInput::open(&junk).err().unwrap().to_string();
        assert!(e.contains("junk.wav"), "{e}");
    }
}
