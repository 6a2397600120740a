//! The app's audio, one owner for it: the devices listed and chosen, which
//! are open, the capture path's processing and its settings, the
//! microphone's level before and during a call, and what happens when a
//! device in use is unplugged. The call controller borrows an input and an
//! output for each call; switching and hot-plug replace what is behind
//! them, so the call never notices.

mod muted_talk;
mod settings;
mod test_sound;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use rtcstack::audio::capture::CapturePath;
use rtcstack::audio::device::{DeviceInfo, Failed, Speaker};
use rtcstack::audio::io::{AudioInput, AudioSink, NullSink, SwitchableInput, SwitchableSink};
use rtcstack::audio::level::MicLevel;
use rtcstack::audio::route::{DeviceChange, Route};
use rtcstack::audio::watch::{watch_devices, DeviceLists};
use rtcstack::audio::FRAME_SAMPLES;
use serde::Serialize;
use ts_rs::TS;

use crate::i18n::Sentence;
use crate::report::{Happened, Journal};
use muted_talk::MutedTalk;
pub use rtcstack::audio::processing::Stages;
pub use settings::AudioSettings;
use settings::SettingsFile;

/// How often the device lists are read (an unplugged device is noticed
/// and replaced well within a second).
const DEVICE_POLL: Duration = Duration::from_millis(100);
/// How often the level meter moves.
const METER_TICK: Duration = Duration::from_millis(100);

/// What the page shows of audio: devices, the choice, what is in use,
/// the processing switches, and the last device change worth a word.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct AudioView {
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
    /// The chosen devices' ids (`None`: the system default).
    pub input: Option<String>,
    pub output: Option<String>,
    /// The names of the devices open now.
    pub input_in_use: Option<String>,
    pub output_in_use: Option<String>,
    pub stages: Stages,
    /// E.g. "Headset disconnected — using Built-in Microphone".
    pub notice: Option<Sentence>,
    /// Which change this is: the page hears a view by event and by reply,
    /// which may arrive out of order, and keeps the highest.
    #[ts(type = "number")]
    pub seq: u64,
}

/// A device change in the page's words.
fn sentence(change: &DeviceChange) -> Sentence {
    match change {
        DeviceChange::Back { device } => Sentence::new("audio.deviceBack").with("device", device),
        DeviceChange::Replaced { gone, by } => Sentence::new("audio.deviceReplaced")
            .with("gone", gone)
            .with("by", by),
        DeviceChange::Gone { gone } => Sentence::new("audio.deviceGone").with("gone", gone),
        DeviceChange::Arrived { device } => {
            Sentence::new("audio.deviceArrived").with("device", device)
        }
    }
}

/// The microphone as the meter shows it, ten times a second.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct MicActivity {
    pub level: MicLevel,
    /// Muted and talking: "You are muted".
    pub muted_talking: bool,
}

/// What the microphone picked up while the pre-call check listened.
#[derive(Debug, Clone, PartialEq)]
pub struct Heard {
    /// The microphone open (`None`: there is none).
    pub device: Option<String>,
    /// The loudest 20 ms heard, dBFS.
    pub loudest_dbfs: f32,
    /// Someone spoke.
    pub voice: bool,
}

/// Where audio news goes (the window).
pub trait AudioShell: Send + Sync + 'static {
    fn audio(&self, view: &AudioView);
    fn mic(&self, activity: &MicActivity);
}

struct State {
    settings: AudioSettings,
    lists: DeviceLists,
    input: Route,
    output: Route,
    notice: Option<Sentence>,
    /// The speaker is open only during a call.
    in_call: bool,
    /// The last view's change number.
    seq: u64,
}

pub struct Audio {
    path: CapturePath,
    file: SettingsFile,
    state: Mutex<State>,
    /// What every call is given: the devices behind them change.
    mic: SwitchableInput,
    speaker: Arc<SwitchableSink>,
    muted: AtomicBool,
    /// `State::in_call` and the open microphone's name, readable without
    /// the state's lock: it is held while a device opens (up to seconds),
    /// and an async thread that waits for it stalls the tasks queued
    /// behind it (the call's audio among them).
    in_call: AtomicBool,
    mic_name: Mutex<Option<String>>,
    /// Set when the open microphone's or speaker's stream fails.
    mic_failed: Mutex<Option<Failed>>,
    speaker_failed: Mutex<Option<Failed>>,
    shell: Arc<dyn AudioShell>,
    /// The call report's timeline: device changes go in.
    journal: Journal,
}

/// Every change is whole before a lock is let go: a panic leaves nothing
/// half-written that matters.
fn unpoisoned<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A call's microphone and speaker, each `None` when there is none.
pub struct CallAudio {
    pub input: Option<Box<dyn AudioInput>>,
    pub output: Option<Arc<dyn AudioSink>>,
}

/// The microphone's stand-in when there is none.
struct Silence;

impl AudioInput for Silence {
    fn next_frame(&mut self, out: &mut [i16]) {
        out.fill(0);
    }
}

impl Audio {
    /// Settings from `config_dir`; nothing is opened until [`Audio::start`].
    pub fn new(config_dir: &Path, shell: Arc<dyn AudioShell>, journal: Journal) -> Self {
        let file = settings::file(config_dir);
        let (settings, problem) = file.load::<AudioSettings>();
        if let Some(p) = &problem {
            tracing::warn!("{p}");
        }
        Audio {
            path: CapturePath::new(settings.stages),
            file,
            state: Mutex::new(State {
                input: Route::new(settings.input.clone()),
                output: Route::new(settings.output.clone()),
                settings,
                lists: DeviceLists::default(),
                notice: problem,
                in_call: false,
                seq: 0,
            }),
            mic: SwitchableInput::new(Box::new(Silence)),
            speaker: Arc::new(SwitchableSink::new(Arc::new(NullSink))),
            muted: AtomicBool::new(false),
            in_call: AtomicBool::new(false),
            mic_name: Mutex::default(),
            mic_failed: Mutex::default(),
            speaker_failed: Mutex::default(),
            shell,
            journal,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        unpoisoned(&self.state)
    }

    /// Watches the devices, opens the microphone (its level shows before
    /// a call) and runs the meter. Call inside a tokio runtime.
    pub fn start(self: &Arc<Self>) {
        let mut lists = watch_devices(DEVICE_POLL);
        let audio = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let now = lists.borrow_and_update().clone();
                let a = Arc::clone(&audio);
                // Opening a device blocks: off the async threads.
                let _ = tokio::task::spawn_blocking(move || a.on_devices(now)).await;
                if lists.changed().await.is_err() {
                    return;
                }
            }
        });
        let audio = Arc::clone(self);
        tokio::spawn(async move { audio.meter().await });
    }

    /// The meter's tick; between calls it also pulls the microphone
    /// (in a call, the call does), so the level shows on the join screen.
    async fn meter(self: Arc<Self>) {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut frame = vec![0i16; FRAME_SAMPLES];
        let mut muted_talk = MutedTalk::default();
        let per_report = (METER_TICK.as_millis() / 20) as u32;
        let mut n = 0u32;
        loop {
            tick.tick().await;
            let in_call = self.in_call.load(Ordering::SeqCst);
            if !in_call {
                let mut mic = self.mic.clone();
                mic.next_frame(&mut frame);
            }
            n += 1;
            if !n.is_multiple_of(per_report) {
                continue;
            }
            let a = Arc::clone(&self);
            // Reopening blocks: off the async threads.
            let _ = tokio::task::spawn_blocking(move || a.reopen_failed()).await;
            let level = self.path.level();
            let muted = in_call && self.muted.load(Ordering::SeqCst);
            let muted_talking = muted_talk.tick(muted, level.voice);
            self.shell.mic(&MicActivity {
                level,
                muted_talking,
            });
        }
    }

    /// New device lists: reroute what is open, tell the page.
    fn on_devices(&self, lists: DeviceLists) {
        tracing::debug!(
            "devices: {} inputs, {} outputs",
            lists.inputs.len(),
            lists.outputs.len()
        );
        let mut s = self.lock();
        s.lists = lists;
        // The first microphone opened is no news; a change is.
        let had_input = s.input.open().is_some();
        if let Some(r) = s.input.on_devices(&s.lists.inputs) {
            let opened = self.open_mic(r.open.as_ref().map(|d| d.id.as_str()));
            s.input.opened(opened);
            if had_input {
                self.journal.note(Happened::Device {
                    notice: r.change.to_string(),
                });
                s.notice = Some(sentence(&r.change));
            }
        }
        if s.in_call {
            if let Some(r) = s.output.on_devices(&s.lists.outputs) {
                let opened = self.open_speaker(r.open.as_ref().map(|d| d.id.as_str()));
                s.output.opened(opened);
                self.journal.note(Happened::Device {
                    notice: r.change.to_string(),
                });
                s.notice = Some(sentence(&r.change));
            }
        }
        self.show(&mut s);
    }

    /// A stream that failed (the sound server dropped it, say after the
    /// machine slept) is opened again on the same device.
    fn reopen_failed(&self) {
        let failed = |f: &Mutex<Option<Failed>>| {
            unpoisoned(f)
                .as_ref()
                .is_some_and(|f| f.load(Ordering::SeqCst))
        };
        let mut s = self.lock();
        if failed(&self.mic_failed) {
            let id = s.input.open().map(|d| d.id.clone());
            tracing::warn!("the microphone's stream failed: opening it again");
            let opened = self.open_mic(id.as_deref());
            s.input.opened(opened);
            self.show(&mut s);
        }
        if s.in_call && failed(&self.speaker_failed) {
            let id = s.output.open().map(|d| d.id.clone());
            tracing::warn!("the speaker's stream failed: opening it again");
            let opened = self.open_speaker(id.as_deref());
            s.output.opened(opened);
            self.show(&mut s);
        }
    }

    /// Opens a microphone behind the shared input; `None` when it cannot
    /// be opened (the input goes silent, and the view says which device
    /// is in use: none).
    fn open_mic(&self, id: Option<&str>) -> Option<DeviceInfo> {
        match self.path.open_microphone(id).or_else(|e| {
            tracing::warn!("microphone {id:?}: {e}; trying the default");
            self.path.open_microphone(None)
        }) {
            Ok(mic) => {
                let info = mic.device().clone();
                *unpoisoned(&self.mic_failed) = Some(mic.failed());
                tracing::info!("microphone: {}", info.name);
                *unpoisoned(&self.mic_name) = Some(info.name.clone());
                self.mic.replace(Box::new(mic));
                Some(info)
            }
            Err(e) => {
                tracing::warn!("no microphone: {e}");
                *unpoisoned(&self.mic_name) = None;
                *unpoisoned(&self.mic_failed) = None;
                self.mic.replace(Box::new(Silence));
                None
            }
        }
    }

    fn open_speaker(&self, id: Option<&str>) -> Option<DeviceInfo> {
        match Speaker::open(id, Some(self.path.far_end())).or_else(|e| {
            tracing::warn!("speaker {id:?}: {e}; trying the default");
            Speaker::open(None, Some(self.path.far_end()))
        }) {
            Ok(speaker) => {
                let info = speaker.device().clone();
                *unpoisoned(&self.speaker_failed) = Some(speaker.failed());
                tracing::info!("speaker: {}", info.name);
                self.speaker.replace(Arc::new(speaker));
                Some(info)
            }
            Err(e) => {
                tracing::warn!("no speaker: {e}");
                *unpoisoned(&self.speaker_failed) = None;
                self.speaker.replace(Arc::new(NullSink));
                None
            }
        }
    }

    fn view_of(s: &State) -> AudioView {
        AudioView {
            inputs: s.lists.inputs.clone(),
            outputs: s.lists.outputs.clone(),
            input: s.settings.input.clone(),
            output: s.settings.output.clone(),
            input_in_use: s.input.open().map(|d| d.name.clone()),
            output_in_use: s.output.open().map(|d| d.name.clone()),
            stages: s.settings.stages,
            notice: s.notice.clone(),
            seq: s.seq,
        }
    }

    fn show(&self, s: &mut State) {
        s.seq += 1;
        self.shell.audio(&Self::view_of(s));
    }

    pub fn view(&self) -> AudioView {
        Self::view_of(&self.lock())
    }

    /// A call starts: its microphone and speaker. `None` for either that
    /// is missing (a call listens only, or plays nowhere, and says so).
    pub fn for_call(&self) -> CallAudio {
        let mut s = self.lock();
        s.in_call = true;
        self.in_call.store(true, Ordering::SeqCst);
        if s.input.open().is_none() {
            let chosen = s.input.chosen().map(str::to_string);
            let opened = self.open_mic(chosen.as_deref());
            s.input.opened(opened);
        }
        let chosen = s.output.chosen().map(str::to_string);
        let opened = self.open_speaker(chosen.as_deref());
        s.output.opened(opened);
        let input = s
            .input
            .open()
            .is_some()
            .then(|| Box::new(self.mic.clone()) as Box<dyn AudioInput>);
        let output = s
            .output
            .open()
            .is_some()
            .then(|| Arc::clone(&self.speaker) as Arc<dyn AudioSink>);
        self.show(&mut s);
        CallAudio { input, output }
    }

    /// The call ended: the speaker closes; the microphone stays for the
    /// meter.
    pub fn call_ended(&self) {
        let mut s = self.lock();
        s.in_call = false;
        self.in_call.store(false, Ordering::SeqCst);
        self.speaker.replace(Arc::new(NullSink));
        s.output.opened(None);
        self.show(&mut s);
    }

    /// The person's mute wish (for "You are muted").
    pub fn set_muted(&self, muted: bool) {
        self.muted.store(muted, Ordering::SeqCst);
    }

    /// Chooses devices (kept for next time); in a call they switch at once.
    pub fn choose(&self, input: Option<String>, output: Option<String>) -> Result<(), Sentence> {
        let mut s = self.lock();
        if input != s.settings.input {
            let opened = self.open_mic(input.as_deref());
            if opened.is_none() {
                return Err(Sentence::new("audio.micNotOpened"));
            }
            s.input.choose(input.clone());
            s.input.opened(opened);
        }
        if output != s.settings.output {
            s.output.choose(output.clone());
            if s.in_call {
                let opened = self.open_speaker(output.as_deref());
                s.output.opened(opened);
            }
        }
        s.settings.input = input;
        s.settings.output = output;
        s.notice = None;
        let saved = self.file.save(&s.settings);
        self.show(&mut s);
        saved
    }

    /// Listens to the microphone for `during`, reading the meter as it
    /// runs (between calls it pulls the microphone every 20 ms).
    pub async fn listen(&self, during: Duration) -> Heard {
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let end = tokio::time::Instant::now() + during;
        let mut loudest = f32::NEG_INFINITY;
        let mut voice = false;
        while tokio::time::Instant::now() < end {
            tick.tick().await;
            let level = self.path.level();
            loudest = loudest.max(level.dbfs);
            voice |= level.voice;
        }
        Heard {
            device: unpoisoned(&self.mic_name).clone(),
            loudest_dbfs: loudest,
            voice,
        }
    }

    /// Plays the test sound on the chosen speaker (the system default if
    /// none is chosen), paced as a call plays: the name of the device it
    /// played on, or why it could not.
    pub async fn play_test_sound(self: &Arc<Self>) -> Result<String, String> {
        let open = || {
            let audio = Arc::clone(self);
            // Opening a device blocks, and so may the state's lock (held
            // while a device opens): off the async threads. A chosen
            // device that is gone: the default, as a call would.
            tokio::task::spawn_blocking(move || {
                let chosen = audio.lock().output.chosen().map(str::to_string);
                Speaker::open(chosen.as_deref(), None).or_else(|_| Speaker::open(None, None))
            })
        };
        let mut speaker = open()
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())?;
        let from = rtcstack::audio::io::RemoteAudio {
            identity: "test-sound".into(),
            track_sid: String::new(),
        };
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        let mut reopens = 2;
        for frame in test_sound::frames() {
            tick.tick().await;
            speaker.on_frame(&from, &frame);
            // A stream that failed (or stopped asking for audio) is
            // opened again, as in a call, twice at most.
            if speaker.failed().load(Ordering::SeqCst) && reopens > 0 {
                reopens -= 1;
                tracing::warn!("the test sound's speaker failed: opening it again");
                if let Ok(Ok(again)) = open().await {
                    speaker = again;
                }
            }
        }
        // What is queued plays out before the device closes.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(speaker.device().name.clone())
    }

    /// Switches processing stages, at once and for next time.
    pub fn set_stages(&self, stages: Stages) -> Result<(), Sentence> {
        let mut s = self.lock();
        self.path.set_stages(stages);
        s.settings.stages = stages;
        let saved = self.file.save(&s.settings);
        self.show(&mut s);
        saved
    }
}
