//! The capture path: the microphone, processed (echo cancellation against
//! what the speaker plays, noise suppression, gain), then metered. One
//! [`CapturePath`] per app: its far-end reference goes to every speaker
//! opened, its settings and level reading outlive device switches and
//! calls, and [`CapturePath::input`] wraps each microphone opened.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::device::{DeviceError, Microphone};
use super::far_end::FarEnd;
use super::io::AudioInput;
use super::level::{Meter, MicLevel};
use super::processing::{Processor, Stages};

/// The module's unit of work (10 ms at 48 kHz).
const CHUNK: usize = super::SAMPLE_RATE as usize / 100;

struct Shared {
    far_end: FarEnd,
    stages: Mutex<Stages>,
    /// Bumped on every settings change, so an input applies it once.
    generation: AtomicU64,
    level: Mutex<MicLevel>,
}

/// The app's capture processing: settings, far-end reference, level.
#[derive(Clone)]
pub struct CapturePath(Arc<Shared>);

fn unpoisoned<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Plain values, written whole: nothing is left half-done by a panic.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl CapturePath {
    pub fn new(stages: Stages) -> Self {
        CapturePath(Arc::new(Shared {
            far_end: FarEnd::new(),
            stages: Mutex::new(stages),
            generation: AtomicU64::new(0),
            level: Mutex::new(MicLevel::default()),
        }))
    }

    /// Where speakers report what they play (`Speaker::open`).
    pub fn far_end(&self) -> FarEnd {
        self.0.far_end.clone()
    }

    pub fn stages(&self) -> Stages {
        *unpoisoned(&self.0.stages)
    }

    /// Takes effect from the microphone's next frame, in a call or not.
    pub fn set_stages(&self, stages: Stages) {
        *unpoisoned(&self.0.stages) = stages;
        self.0.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The microphone's latest level, whether or not it is sent (muted).
    pub fn level(&self) -> MicLevel {
        *unpoisoned(&self.0.level)
    }

    /// `mic`, processed and metered when it is pulled: for inputs with no
    /// clock of their own (generated, a file), whose frames exist when
    /// asked for. A device is opened with [`CapturePath::open_microphone`].
    pub fn input(&self, mic: Box<dyn AudioInput>) -> ProcessedInput {
        ProcessedInput {
            mic,
            stage: self.stage(),
        }
    }

    /// A microphone whose audio is processed on its own device thread, as
    /// it is captured: what the canceller hears stays in step with what
    /// the speaker's thread played, however late the sender pulls.
    pub fn open_microphone(&self, id: Option<&str>) -> Result<Microphone, DeviceError> {
        Microphone::open_processed(id, Some(self.stage()))
    }

    fn stage(&self) -> Stage {
        Stage {
            processor: Processor::new(self.stages()),
            applied: self.0.generation.load(Ordering::SeqCst),
            shared: Arc::clone(&self.0),
            far: Vec::new(),
            meter: Meter::new(),
        }
    }
}

/// The processing of one microphone, frame by frame, in capture order.
pub struct Stage {
    processor: Processor,
    applied: u64,
    shared: Arc<Shared>,
    /// Played samples not yet given to the canceller (under 10 ms).
    far: Vec<i16>,
    meter: Meter,
}

impl Stage {
    /// One 20 ms microphone frame through the processing, in place.
    pub(crate) fn process(&mut self, frame: &mut [i16]) {
        let generation = self.shared.generation.load(Ordering::SeqCst);
        if generation != self.applied {
            self.applied = generation;
            self.processor.set_stages(*unpoisoned(&self.shared.stages));
        }
        // Everything played since the last frame goes in first: the
        // canceller must see a sound before it hears its echo.
        let latency_ms = self.shared.far_end.take(&mut self.far);
        let whole = self.far.len() / CHUNK * CHUNK;
        for chunk in self.far[..whole].chunks_exact(CHUNK) {
            self.processor.render(chunk);
        }
        self.far.drain(..whole);
        self.processor.set_delay_ms(latency_ms);
        self.processor.capture(frame);
        let level = self.meter.update(frame);
        *unpoisoned(&self.shared.level) = level;
    }
}

/// An input behind the capture path's processing, processed as pulled.
pub struct ProcessedInput {
    mic: Box<dyn AudioInput>,
    stage: Stage,
}

impl AudioInput for ProcessedInput {
    fn next_frame(&mut self, out: &mut [i16]) {
        self.mic.next_frame(out);
        self.stage.process(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audio::processing::tests::power_db;
    use crate::audio::FRAME_SAMPLES;

    const FRAMES: usize = 400;

    /// A microphone that hears what was played, 60 ms later, 10 dB down.
    struct Echoing {
        far_end: FarEnd,
        /// What the far end says (talker-like, see processing's tests).
        talk: Vec<i16>,
        history: Vec<i16>,
        pos: usize,
        t: usize,
    }

    impl AudioInput for Echoing {
        fn next_frame(&mut self, out: &mut [i16]) {
            // The speaker plays one frame of talk as the microphone's
            // frame is read (a device pair running in step).
            let frame = self.talk[self.t..self.t + FRAME_SAMPLES].to_vec();
            self.t += FRAME_SAMPLES;
            self.far_end.played(frame.iter().copied(), 60);
            self.history.extend(&frame);
            let delay = 60 * 48;
            for s in out.iter_mut() {
                *s = if self.pos >= delay {
                    self.history[self.pos - delay] / 3
                } else {
                    0
                };
                self.pos += 1;
            }
        }
    }

    /// Echo level out of the path, 6–8 s into the talk.
    fn echo_left(path: &CapturePath) -> (f64, f64) {
        let mic = Echoing {
            far_end: path.far_end(),
            talk: crate::audio::processing::tests::far_end(FRAMES * FRAME_SAMPLES),
            history: Vec::new(),
            pos: 0,
            t: 0,
        };
        let mut input = path.input(Box::new(mic));
        let mut out = vec![0i16; FRAME_SAMPLES];
        let mut sent = Vec::new();
        for _ in 0..FRAMES {
            input.next_frame(&mut out);
            sent.extend_from_slice(&out);
        }
        let raw: Vec<i16> = sent.clone();
        (power_db(&raw[6 * 48_000..]), f64::from(path.level().dbfs))
    }

    #[test]
    fn played_audio_is_cancelled_from_the_microphone_and_switching_off_keeps_it() {
        let off = CapturePath::new(Stages {
            echo_cancellation: false,
            noise_suppression: false,
            auto_gain_control: false,
        });
        let (echo, _) = echo_left(&off);
        let on = CapturePath::new(Stages {
            echo_cancellation: true,
            noise_suppression: false,
            auto_gain_control: false,
        });
        let (left, level) = echo_left(&on);
        eprintln!("echo {echo:.1} dB → {left:.1} dB with cancellation (meter {level:.1})");
        assert!(echo > -40.0, "the echo reached the microphone: {echo:.1}");
        assert!(echo - left >= 25.0, "echo {echo:.1} dB → {left:.1} dB");
    }

    #[test]
    fn a_settings_change_reaches_an_open_input() {
        let path = CapturePath::new(Stages::default());
        let mut input = path.input(Box::new(Echoing {
            far_end: path.far_end(),
            talk: crate::audio::processing::tests::far_end(FRAMES * FRAME_SAMPLES),
            history: Vec::new(),
            pos: 0,
            t: 0,
        }));
        let mut out = vec![0i16; FRAME_SAMPLES];
        input.next_frame(&mut out);
        let none = Stages {
            echo_cancellation: false,
            noise_suppression: false,
            auto_gain_control: false,
        };
        path.set_stages(none);
        input.next_frame(&mut out);
        assert_eq!(input.stage.processor.stages(), none);
        assert_eq!(path.stages(), none);
    }
}
