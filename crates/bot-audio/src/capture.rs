//! An audio output that keeps what it hears: the test and bot sink. It holds
//! the last seconds of every remote track and says what they sound like.

use std::collections::HashMap;
use std::sync::Mutex;

use rtcstack::audio::io::{AudioSink, RemoteAudio};
use rtcstack::audio::SAMPLE_RATE;

use crate::analysis::{spectrum_peak, Peak};

const KEEP_SECONDS: usize = 2;

#[derive(Default)]
struct Track {
    samples: Vec<i16>,
    total: u64,
}

/// Keeps the last two seconds of each remote track.
#[derive(Default)]
pub struct CaptureSink {
    tracks: Mutex<HashMap<RemoteAudio, Track>>,
}

impl CaptureSink {
    pub fn new() -> Self {
        Self::default()
    }

    /// The dominant frequency and level of the last `millis` ms heard from
    /// `identity` (all its tracks mixed), if that much has been heard.
    pub fn peak_of(&self, identity: &str, millis: usize) -> Option<Peak> {
        let want = SAMPLE_RATE as usize * millis / 1000;
        let tracks = self.tracks.lock().expect("capture lock");
        let mut mix = vec![0i32; want];
        let mut any = false;
        for (from, t) in tracks.iter().filter(|(k, _)| k.identity == identity) {
            let _ = from;
            if t.samples.len() < want {
                continue;
            }
            any = true;
            for (m, s) in mix.iter_mut().zip(&t.samples[t.samples.len() - want..]) {
                *m += i32::from(*s);
            }
        }
        if !any {
            return None;
        }
        let mix: Vec<i16> = mix
            .into_iter()
            .map(|v| v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16)
            .collect();
        spectrum_peak(&mix)
    }

    /// Samples received so far from `identity`.
    pub fn samples_from(&self, identity: &str) -> u64 {
        let tracks = self.tracks.lock().expect("capture lock");
        tracks
            .iter()
            .filter(|(k, _)| k.identity == identity)
            .map(|(_, t)| t.total)
            .sum()
    }
}

impl AudioSink for CaptureSink {
    fn on_frame(&self, from: &RemoteAudio, pcm: &[i16]) {
        let mut tracks = self.tracks.lock().expect("capture lock");
        let t = tracks.entry(from.clone()).or_default();
        t.samples.extend_from_slice(pcm);
        t.total += pcm.len() as u64;
        let keep = SAMPLE_RATE as usize * KEEP_SECONDS;
        if t.samples.len() > keep * 2 {
            let cut = t.samples.len() - keep;
            t.samples.drain(..cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tone::Tone;

    #[test]
    fn hears_each_identity_apart() {
        let sink = CaptureSink::new();
        let a = RemoteAudio {
            identity: "a".into(),
            track_sid: "TR_a".into(),
        };
        let b = RemoteAudio {
            identity: "b".into(),
            track_sid: "TR_b".into(),
        };
        let (mut ta, mut tb) = (Tone::new(440.0, 0.3), Tone::new(660.0, 0.3));
        for _ in 0..50 {
            let mut f = [0i16; 960];
            ta.fill(&mut f);
            sink.on_frame(&a, &f);
            tb.fill(&mut f);
            sink.on_frame(&b, &f);
        }
        assert!((sink.peak_of("a", 500).unwrap().hz - 440.0).abs() < 2.0);
        assert!((sink.peak_of("b", 500).unwrap().hz - 660.0).abs() < 2.0);
        assert!(sink.peak_of("c", 500).is_none());
        assert_eq!(sink.samples_from("a"), 48_000);
    }
}
