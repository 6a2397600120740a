//! Audio processing on the capture path, as browsers and LiveKit's own SDKs
//! do it: a high-pass filter, echo cancellation against what we play out,
//! noise suppression and automatic gain. The module is libwebrtc's, ported
//! to Rust (`sonora`): it builds from crates.io alone on every OS, and on
//! the same input its noise suppression and gain equal libwebrtc's (see the
//! README's audio notes).
//!
//! One owner, one thread: the far-end frames (`render`) and the microphone's
//! (`capture`) are fed from the same place, in order. The module works on
//! 10 ms; our frames are 20 ms, so each is two calls.

use sonora::config::{
    AdaptiveDigital, EchoCanceller, GainController2, HighPassFilter, NoiseSuppression,
    NoiseSuppressionLevel,
};
use sonora::{AudioProcessing, Config, StreamConfig};

use super::{FRAME_SAMPLES, SAMPLE_RATE};

/// The module's unit of work: 10 ms.
const CHUNK: usize = SAMPLE_RATE as usize / 100;

/// Which stages run (each can be switched, like a browser's
/// `echoCancellation` / `noiseSuppression` / `autoGainControl`). The
/// high-pass filter always runs with any of them.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Stages {
    pub echo_cancellation: bool,
    pub noise_suppression: bool,
    pub auto_gain_control: bool,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            echo_cancellation: true,
            noise_suppression: true,
            auto_gain_control: true,
        }
    }
}

impl Stages {
    fn any(self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.auto_gain_control
    }

    fn config(self) -> Config {
        Config {
            high_pass_filter: self.any().then(HighPassFilter::default),
            echo_canceller: self.echo_cancellation.then(EchoCanceller::default),
            // High (~18 dB), as browsers run it: the moderate default
            // leaves a fan's hiss plainly audible (~12 dB down).
            noise_suppression: self.noise_suppression.then(|| NoiseSuppression {
                level: NoiseSuppressionLevel::High,
                ..Default::default()
            }),
            // The module's default gain controller is a fixed 0 dB and a
            // limiter: the adaptive part is what a quiet microphone needs.
            gain_controller2: self.auto_gain_control.then(|| GainController2 {
                adaptive_digital: Some(AdaptiveDigital::default()),
                ..Default::default()
            }),
            ..Default::default()
        }
    }
}

/// The capture path's processing for one call.
pub struct Processor {
    apm: AudioProcessing,
    stages: Stages,
    /// How long after we play a sound the microphone hears it (output and
    /// input latency): a hint, the echo canceller finds the delay itself.
    delay_ms: i32,
    scratch: Vec<i16>,
}

impl Processor {
    pub fn new(stages: Stages) -> Self {
        let apm = AudioProcessing::builder()
            .config(stages.config())
            .capture_config(StreamConfig::new(SAMPLE_RATE, 1))
            .render_config(StreamConfig::new(SAMPLE_RATE, 1))
            .build();
        Processor {
            apm,
            stages,
            delay_ms: 0,
            scratch: vec![0; CHUNK],
        }
    }

    pub fn stages(&self) -> Stages {
        self.stages
    }

    /// Switches stages mid-call (no rebuild: the echo canceller keeps what
    /// it learned when it stays on).
    pub fn set_stages(&mut self, stages: Stages) {
        self.stages = stages;
        self.apm.apply_config(stages.config());
    }

    /// The delay between playing and hearing, as the devices report it.
    pub fn set_delay_ms(&mut self, ms: u32) {
        self.delay_ms = ms.min(500) as i32;
    }

    /// A 20 ms frame we played out (the far end, mixed as the speaker got
    /// it). Any other length is left out, with a note: the module takes
    /// exact 10 ms chunks only.
    pub fn render(&mut self, frame: &[i16]) {
        if !self.stages.echo_cancellation || !fits(frame.len()) {
            return;
        }
        for chunk in frame.chunks_exact(CHUNK) {
            if let Err(e) = self.apm.process_render_i16(chunk, &mut self.scratch) {
                tracing::debug!("audio processing (far end): {e:?}");
            }
        }
    }

    /// Processes a 20 ms microphone frame in place. A frame of another
    /// length goes out as it came.
    pub fn capture(&mut self, frame: &mut [i16]) {
        if !self.stages.any() || !fits(frame.len()) {
            return;
        }
        for chunk in frame.chunks_exact_mut(CHUNK) {
            let _ = self.apm.set_stream_delay_ms(self.delay_ms);
            self.scratch.copy_from_slice(chunk);
            if let Err(e) = self.apm.process_capture_i16(&self.scratch, chunk) {
                tracing::debug!("audio processing (microphone): {e:?}");
                chunk.copy_from_slice(&self.scratch);
            }
        }
    }

    /// The echo canceller's own estimate of how much echo it removes (dB).
    pub fn erle_db(&self) -> Option<f64> {
        self.apm.statistics().echo_return_loss_enhancement
    }

    /// The delay the echo canceller found between playing and hearing (ms).
    pub fn echo_delay_ms(&self) -> Option<i32> {
        self.apm.statistics().delay_ms
    }
}

fn fits(len: usize) -> bool {
    let ok = len == FRAME_SAMPLES || len == CHUNK;
    if !ok {
        tracing::debug!("audio processing: a frame of {len} samples passed through unprocessed");
    }
    ok
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    const RATE: f64 = SAMPLE_RATE as f64;

    /// A talker-like far end: harmonics whose pitch wobbles (no two
    /// periods alike, as in speech: a strictly periodic signal leaves the
    /// echo's delay ambiguous), under a 4 Hz syllable envelope, with a
    /// pause between phrases.
    pub(crate) fn far_end(n: usize) -> Vec<i16> {
        use std::f64::consts::PI;
        (0..n)
            .map(|i| {
                let t = i as f64 / RATE;
                let wobble = 1.0 + 0.02 * (2.0 * PI * 0.7 * t).sin();
                let voice: f64 = [
                    (220.0, 1.0),
                    (330.0, 0.8),
                    (510.0, 0.7),
                    (740.0, 0.6),
                    (1130.0, 0.45),
                    (1650.0, 0.35),
                    (2400.0, 0.25),
                    (3300.0, 0.15),
                ]
                .iter()
                .enumerate()
                .map(|(k, (hz, a))| a * (2.0 * PI * hz * wobble * t + k as f64).sin())
                .sum();
                let syllable = 0.5 * (1.0 - (2.0 * PI * 4.0 * t).cos());
                let phrase = if t % 1.6 < 1.3 { 1.0 } else { 0.0 };
                (voice * syllable * phrase * 0.06 * 32767.0) as i16
            })
            .collect()
    }

    pub(crate) fn power_db(x: &[i16]) -> f64 {
        let p = x
            .iter()
            .map(|&s| (f64::from(s) / 32768.0).powi(2))
            .sum::<f64>()
            / x.len() as f64;
        10.0 * (p + 1e-12).log10()
    }

    /// 10 s of far-end talk whose echo (80 ms later, 10 dB down) reaches
    /// the microphone; returns the echo's level in and out, 5–10 s.
    fn echo_in_and_out(stages: Stages) -> (f64, f64) {
        let n = 10 * SAMPLE_RATE as usize;
        let delay = 80 * SAMPLE_RATE as usize / 1000;
        let far = far_end(n);
        let mic: Vec<i16> = (0..n)
            .map(|i| if i < delay { 0 } else { far[i - delay] / 3 })
            .collect();
        let mut p = Processor::new(stages);
        p.set_delay_ms(80);
        let mut out = mic.clone();
        for (f, m) in far
            .chunks_exact(FRAME_SAMPLES)
            .zip(out.chunks_exact_mut(FRAME_SAMPLES))
        {
            p.render(f);
            p.capture(m);
        }
        let steady = 5 * SAMPLE_RATE as usize;
        (power_db(&mic[steady..]), power_db(&out[steady..]))
    }

    #[test]
    fn echo_of_what_we_play_is_removed_when_on_and_kept_when_off() {
        let (echo, left) = echo_in_and_out(Stages {
            echo_cancellation: true,
            noise_suppression: false,
            auto_gain_control: false,
        });
        eprintln!("echo cancellation on: echo {echo:.1} dB → {left:.1} dB");
        assert!(echo - left >= 25.0, "echo {echo:.1} dB → {left:.1} dB");
        let (echo, left) = echo_in_and_out(Stages {
            echo_cancellation: false,
            noise_suppression: false,
            auto_gain_control: false,
        });
        assert!(
            (echo - left).abs() < 1.0,
            "off: echo {echo:.1} dB → {left:.1} dB"
        );
    }

    #[test]
    fn gain_control_switched_off_and_on_again_still_sends_the_talker() {
        let talk: Vec<i16> = far_end(6 * SAMPLE_RATE as usize)
            .iter()
            .map(|&s| s / 8)
            .collect();
        let gain_only = Stages {
            echo_cancellation: false,
            noise_suppression: false,
            auto_gain_control: true,
        };
        // As the app test switched them: all on, gain off, echo off, noise
        // off, gain on again.
        let mut p = Processor::new(Stages::default());
        let mut out = Vec::new();
        let off = |e, n, g| Stages {
            echo_cancellation: e,
            noise_suppression: n,
            auto_gain_control: g,
        };
        for (i, frame) in talk.chunks_exact(FRAME_SAMPLES).enumerate() {
            let mut f = frame.to_vec();
            match i {
                50 => p.set_stages(off(true, true, false)),
                80 => p.set_stages(off(false, true, false)),
                110 => p.set_stages(off(false, false, false)),
                150 => p.set_stages(gain_only),
                _ => {}
            }
            p.render(frame);
            p.capture(&mut f);
            out.extend(f);
        }
        let last = &out[out.len() - 2 * SAMPLE_RATE as usize..];
        assert!(power_db(last) > -50.0, "{:.1} dB", power_db(last));
    }

    #[test]
    fn a_frame_of_another_length_passes_through_untouched() {
        let mut p = Processor::new(Stages::default());
        let mut odd: Vec<i16> = (0..479).map(|i| i as i16).collect();
        let before = odd.clone();
        p.render(&before);
        p.capture(&mut odd);
        assert_eq!(odd, before);
    }
}
