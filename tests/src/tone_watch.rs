//! "Heard" as the benchmarks define it for both clients: the first 20 ms
//! frame from a remote identity that carries a given tone above -40 dBFS,
//! the tone being most of the frame (within 10 dB of the frame's whole
//! level: a click, or a concealed fade-out, has a little of every
//! frequency). Frames are counted from the start of each received track;
//! the Python peer (`carries_tone` in tests/peer/peer.py) judges its frames
//! the same way, so frames of silence or concealment never count.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{bail, Result};
use rtcstack::audio::io::{AudioSink, RemoteAudio};
use tokio::sync::watch;

use crate::stats::mono;

/// 20 ms at 48 kHz.
pub const FRAME_SAMPLES: usize = 960;
/// A frame whose tone is louder than this is "heard"…
pub const HEARD_DB: f64 = -40.0;
/// … if the tone is also within this much of the frame's whole level.
pub const SHARE_DB: f64 = 10.0;

/// The tone's level if `frame` carries `hz` as defined above.
pub fn carries_tone(frame: &[i16], hz: f64) -> Option<f64> {
    let level = tone_level_db(frame, hz);
    let whole = rtcstack_bot_audio::analysis::rms_db(frame);
    (level > HEARD_DB && level > whole - SHARE_DB).then_some(level)
}

/// RMS level (dBFS) of the `hz` component of a block: a Hann-windowed DFT
/// evaluated at exactly `hz`, scaled by the window's sum so that a sine of
/// amplitude A reads A/√2. A tone 220 Hz away leaks in below -60 dB.
pub fn tone_level_db(samples: &[i16], hz: f64) -> f64 {
    let n = samples.len();
    if n < 2 {
        return -120.0;
    }
    let (mut re, mut im, mut wsum) = (0.0f64, 0.0f64, 0.0f64);
    let step = std::f64::consts::TAU * hz / 48_000.0;
    for (k, &s) in samples.iter().enumerate() {
        let w = 0.5 - 0.5 * (std::f64::consts::TAU * k as f64 / (n - 1) as f64).cos();
        let x = w * f64::from(s) / 32768.0;
        re += x * (step * k as f64).cos();
        im -= x * (step * k as f64).sin();
        wsum += w;
    }
    let rms = 2.0 * re.hypot(im) / wsum / std::f64::consts::SQRT_2;
    if rms > 1e-6 {
        20.0 * rms.log10()
    } else {
        -120.0
    }
}

/// When a watched tone was first heard (CLOCK_MONOTONIC seconds) and how
/// loud its frame was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Heard {
    pub at: f64,
    pub level_db: f64,
}

#[derive(Default)]
struct State {
    /// The tone being watched for, if any.
    hz: Option<f64>,
    /// Samples toward each track's next 20 ms frame.
    pending: HashMap<String, Vec<i16>>,
}

/// An audio sink that stamps the first frame of `identity` carrying the
/// watched tone. Every other sound is dropped.
pub struct ToneWatch {
    identity: String,
    state: Mutex<State>,
    heard: watch::Sender<Option<Heard>>,
}

impl ToneWatch {
    pub fn new(identity: &str) -> Self {
        ToneWatch {
            identity: identity.to_string(),
            state: Mutex::new(State::default()),
            heard: watch::channel(None).0,
        }
    }

    /// From now on, stamps the first frame carrying `hz` (any earlier stamp
    /// is forgotten).
    pub fn watch(&self, hz: f64) {
        self.state.lock().expect("tone watch lock").hz = Some(hz);
        self.heard.send_replace(None);
    }

    /// Waits for the watched tone.
    pub async fn wait(&self, within: Duration) -> Result<Heard> {
        let mut rx = self.heard.subscribe();
        let got = tokio::time::timeout(within, rx.wait_for(Option::is_some))
            .await
            .map(|r| r.map(|h| *h));
        match got {
            Ok(Ok(Some(h))) => Ok(h),
            Ok(Ok(None)) => unreachable!("waited for Some"),
            Ok(Err(_)) => bail!("the tone watch of {} was dropped", self.identity),
            Err(_) => bail!(
                "no 20 ms frame from {} carried the watched tone above {HEARD_DB} dBFS within {within:?}",
                self.identity
            ),
        }
    }
}

impl AudioSink for ToneWatch {
    fn on_frame(&self, from: &RemoteAudio, pcm: &[i16]) {
        if from.identity != self.identity {
            return;
        }
        let now = mono();
        let mut guard = self.state.lock().expect("tone watch lock");
        let State { hz, pending } = &mut *guard;
        let buf = pending.entry(from.track_sid.clone()).or_default();
        buf.extend_from_slice(pcm);
        let whole = buf.len() / FRAME_SAMPLES * FRAME_SAMPLES;
        for frame in buf[..whole].chunks_exact(FRAME_SAMPLES) {
            let Some(want) = *hz else { break };
            if let Some(level_db) = carries_tone(frame, want) {
                *hz = None;
                self.heard.send_replace(Some(Heard { at: now, level_db }));
            }
        }
        buf.drain(..whole);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtcstack_bot_audio::tone::Tone;

    fn tone(hz: f64, amplitude: f64, samples: usize) -> Vec<i16> {
        let mut t = Tone::new(hz, amplitude);
        let mut out = vec![0i16; samples];
        t.fill(&mut out);
        out
    }

    #[test]
    fn a_tone_reads_its_level_and_its_neighbours_do_not() {
        let x = tone(440.0, 0.3, FRAME_SAMPLES);
        // 0.3 full scale: 20·log10(0.3/√2) = -13.5 dBFS.
        assert!((tone_level_db(&x, 440.0) + 13.5).abs() < 0.3);
        assert!(tone_level_db(&x, 660.0) < -55.0);
        assert!(tone_level_db(&x, 880.0) < -55.0);
        assert_eq!(tone_level_db(&[0; FRAME_SAMPLES], 440.0), -120.0);
    }

    fn from(identity: &str) -> RemoteAudio {
        RemoteAudio {
            identity: identity.into(),
            track_sid: "TR_1".into(),
        }
    }

    #[tokio::test]
    async fn stamps_the_first_frame_with_the_tone_only() {
        let w = ToneWatch::new("far");
        w.watch(660.0);
        // Silence, another tone, and the right tone from someone else.
        w.on_frame(&from("far"), &[0; FRAME_SAMPLES]);
        w.on_frame(&from("far"), &tone(440.0, 0.3, FRAME_SAMPLES));
        w.on_frame(&from("near"), &tone(660.0, 0.3, FRAME_SAMPLES));
        assert!(w.wait(Duration::from_millis(10)).await.is_err());
        // Half a frame of it completes no frame yet.
        let t = tone(660.0, 0.3, FRAME_SAMPLES);
        w.on_frame(&from("far"), &t[..480]);
        assert!(w.wait(Duration::from_millis(10)).await.is_err());
        w.on_frame(&from("far"), &t[480..]);
        let heard = w.wait(Duration::from_millis(10)).await.unwrap();
        assert!(heard.level_db > -20.0, "{heard:?}");
        // Watching again forgets it.
        w.watch(660.0);
        assert!(w.wait(Duration::from_millis(10)).await.is_err());
    }

    #[test]
    fn a_click_or_a_fade_carries_no_tone() {
        // A 440 Hz tone cut off mid-frame: a little of every frequency.
        let mut x = tone(440.0, 0.3, FRAME_SAMPLES);
        x[500..].fill(0);
        assert!(tone_level_db(&x, 660.0) > -60.0, "the test needs leakage");
        assert_eq!(carries_tone(&x, 660.0), None);
        assert!(carries_tone(&x, 440.0).is_some());
        // Half a frame of the new tone after silence is the new tone.
        let mut y = tone(660.0, 0.3, FRAME_SAMPLES);
        y[..480].fill(0);
        assert!(carries_tone(&y, 660.0).is_some());
    }

    #[tokio::test]
    async fn a_quiet_tone_is_not_heard() {
        let w = ToneWatch::new("far");
        w.watch(440.0);
        // 0.01 full scale: -43 dBFS.
        w.on_frame(&from("far"), &tone(440.0, 0.01, FRAME_SAMPLES * 3));
        assert!(w.wait(Duration::from_millis(10)).await.is_err());
    }
}
