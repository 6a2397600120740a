//! The system's microphone and speakers through `cpal` (ALSA or PulseAudio
//! on Linux, CoreAudio on macOS, WASAPI on Windows).
//!
//! Devices run at their own rate and channel count; the call runs at 48 kHz
//! mono. Each side converts (channel mix, linear resampling) in its device
//! callback and meets the call through a short queue. A cpal stream may not
//! move between threads, so each lives on a thread of its own until dropped.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};

use super::capture::Stage;
use super::far_end::FarEnd;
use super::io::{AudioInput, AudioSink, RemoteAudio};
use super::resample::{to_f32_i16, to_i16_f32, Resampler};
use super::{FRAME_SAMPLES, SAMPLE_RATE};

/// An output stream that has not asked for audio for this long is dead,
/// though it reported no error: a device asks every 10-20 ms.
const STALLED_AFTER: Duration = Duration::from_millis(500);
/// One that has never asked since it was opened, this long.
const NEVER_ASKED: Duration = Duration::from_secs(3);

/// Longest queue between a device and the call (beyond it, the oldest
/// audio goes: late audio is worse than lost audio in a call).
const MAX_QUEUE: usize = SAMPLE_RATE as usize / 5;

/// A device as the UI lists it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceInfo {
    /// Stable id to open it by.
    pub id: String,
    pub name: String,
    pub is_default: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("no audio {0} device is available")]
    NoDevice(&'static str),
    #[error("audio device {0:?} was not found")]
    NotFound(String),
    #[error("audio device cannot be used: {0}")]
    Unusable(String),
    /// The OS refused: the person has not allowed the app the microphone.
    #[error("{}", denied_advice())]
    Denied,
}

/// Where a person allows the microphone, in their OS's words.
fn denied_advice() -> &'static str {
    if cfg!(target_os = "macos") {
        "the system has not allowed RTCstack to use the microphone: allow it in System Settings → Privacy & Security → Microphone, then try again"
    } else if cfg!(windows) {
        "Windows has not allowed RTCstack to use the microphone: allow it in Settings → Privacy & security → Microphone (\"Let desktop apps access your microphone\"), then try again"
    } else {
        "the sound system refused access to the audio device: check that your user may use audio devices (the \"audio\" group, or the sandbox's permissions), then try again"
    }
}

fn unusable(e: impl std::fmt::Display) -> DeviceError {
    DeviceError::Unusable(e.to_string())
}

/// A device error from cpal, a refusal by the OS told apart.
fn cpal_error(e: cpal::Error) -> DeviceError {
    match e.kind() {
        cpal::ErrorKind::PermissionDenied => DeviceError::Denied,
        _ => unusable(e),
    }
}

#[derive(Debug, Clone, Copy)]
enum Direction {
    Input,
    Output,
}

impl Direction {
    fn word(self) -> &'static str {
        match self {
            Direction::Input => "input",
            Direction::Output => "output",
        }
    }
}

fn list(dir: Direction) -> Result<Vec<DeviceInfo>, DeviceError> {
    list_on(&cpal::default_host(), dir)
}

fn list_on(host: &cpal::Host, dir: Direction) -> Result<Vec<DeviceInfo>, DeviceError> {
    let default = match dir {
        Direction::Input => host.default_input_device(),
        Direction::Output => host.default_output_device(),
    }
    .and_then(|d| d.id().ok())
    .map(|id| id.to_string());
    let devices = match dir {
        Direction::Input => host.input_devices(),
        Direction::Output => host.output_devices(),
    }
    .map_err(cpal_error)?;
    Ok(devices
        .filter_map(|d| info(&d, default.as_deref()))
        .collect())
}

/// Both lists from one connection to the sound system (the device watch
/// keeps one host and calls it a few times a second: a connection per
/// listing exhausted PulseAudio's clients). A list that cannot be read is
/// empty.
pub(crate) fn list_all(host: &cpal::Host) -> super::watch::DeviceLists {
    let read = |dir| {
        list_on(host, dir).unwrap_or_else(|e| {
            tracing::debug!("listing {} devices: {e}", dir.word());
            Vec::new()
        })
    };
    super::watch::DeviceLists {
        inputs: read(Direction::Input),
        outputs: read(Direction::Output),
    }
}

/// Whether listing is a cheap query (a sound server, CoreAudio, WASAPI),
/// not ALSA's probe of every card (Linux without a sound server).
pub(crate) fn listing_is_cheap(host: &cpal::Host) -> bool {
    #[cfg(target_os = "linux")]
    {
        host.id() != cpal::HostId::Alsa
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = host;
        true
    }
}

fn info(device: &cpal::Device, default_id: Option<&str>) -> Option<DeviceInfo> {
    let id = device.id().ok()?.to_string();
    let name = device
        .description()
        .map(|desc| desc.name().to_string())
        .unwrap_or_else(|_| id.clone());
    Some(DeviceInfo {
        is_default: default_id == Some(id.as_str()),
        id,
        name,
    })
}

/// Microphones and other capture devices.
pub fn input_devices() -> Result<Vec<DeviceInfo>, DeviceError> {
    list(Direction::Input)
}

/// Speakers, headsets and other playback devices.
pub fn output_devices() -> Result<Vec<DeviceInfo>, DeviceError> {
    list(Direction::Output)
}

fn find(dir: Direction, id: Option<&str>) -> Result<(cpal::Device, DeviceInfo), DeviceError> {
    let host = cpal::default_host();
    let device = match id {
        None => match dir {
            Direction::Input => host.default_input_device(),
            Direction::Output => host.default_output_device(),
        }
        .ok_or(DeviceError::NoDevice(dir.word()))?,
        Some(want) => match dir {
            Direction::Input => host.input_devices(),
            Direction::Output => host.output_devices(),
        }
        .map_err(cpal_error)?
        .find(|d| d.id().is_ok_and(|i| i.to_string() == want))
        .ok_or_else(|| DeviceError::NotFound(want.to_string()))?,
    };
    let default_id = match id {
        None => device.id().ok().map(|i| i.to_string()),
        Some(_) => None,
    };
    let info = info(&device, default_id.as_deref())
        .ok_or_else(|| DeviceError::Unusable(format!("the {} device has no id", dir.word())))?;
    Ok((device, info))
}

/// The device's config, at 48 kHz when it can do that (no resampling).
fn pick_config(
    device: &cpal::Device,
    dir: Direction,
) -> Result<(cpal::StreamConfig, cpal::SampleFormat), DeviceError> {
    let default = match dir {
        Direction::Input => device.default_input_config(),
        Direction::Output => device.default_output_config(),
    }
    .map_err(cpal_error)?;
    let can_48k = match dir {
        Direction::Input => device
            .supported_input_configs()
            .map(|c| c.collect::<Vec<_>>()),
        Direction::Output => device
            .supported_output_configs()
            .map(|c| c.collect::<Vec<_>>()),
    }
    .map_err(cpal_error)?
    .into_iter()
    .find(|c| {
        c.sample_format() == default.sample_format()
            && c.min_sample_rate() <= SAMPLE_RATE
            && c.max_sample_rate() >= SAMPLE_RATE
    });
    let chosen = match can_48k {
        Some(c) => c.with_sample_rate(SAMPLE_RATE),
        None => default,
    };
    let mut config = chosen.config();
    config.buffer_size = buffer_for_a_call(chosen.buffer_size(), config.sample_rate);
    Ok((config, chosen.sample_format()))
}

/// Device buffers of about 20 ms, as a call needs: a sound server's default
/// can be seconds (PulseAudio's playback target is 2 s), which a person
/// hears as delay and an echo canceller cannot bridge. Within what the
/// device supports; its default when it says nothing.
fn buffer_for_a_call(supported: &cpal::SupportedBufferSize, rate: u32) -> cpal::BufferSize {
    let want = rate / 50;
    match *supported {
        cpal::SupportedBufferSize::Range { min, max } if min <= max => {
            cpal::BufferSize::Fixed(want.clamp(min, max))
        }
        _ => cpal::BufferSize::Default,
    }
}

/// Keeps a cpal stream alive on its own thread until dropped.
struct StreamThread {
    stop: Option<std_mpsc::Sender<()>>,
}

impl Drop for StreamThread {
    fn drop(&mut self) {
        self.stop.take(); // closing the channel ends the thread
    }
}

fn spawn_stream(
    build: impl FnOnce() -> Result<cpal::Stream, DeviceError> + Send + 'static,
) -> Result<StreamThread, DeviceError> {
    let (ready_tx, ready_rx) = std_mpsc::channel();
    let (stop_tx, stop_rx) = std_mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("rtcstack-audio-device".into())
        .spawn(move || {
            let stream = match build().and_then(|s| s.play().map(|_| s).map_err(cpal_error)) {
                Ok(s) => s,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let _ = ready_tx.send(Ok(()));
            let _ = stop_rx.recv(); // until the owner drops
            drop(stream);
        })
        .map_err(unusable)?;
    ready_rx
        .recv()
        .map_err(|_| DeviceError::Unusable("the audio thread ended".into()))??;
    Ok(StreamThread {
        stop: Some(stop_tx),
    })
}

/// A capture device as the call's audio input.
pub struct Microphone {
    queue: Arc<Mutex<VecDeque<i16>>>,
    device: DeviceInfo,
    failed: Failed,
    _stream: StreamThread,
}

/// Set when a device's stream reports an error (the device went away, the
/// sound server dropped the stream, say after the machine slept): the
/// stream may be dead, and the owner reopens it.
pub type Failed = Arc<std::sync::atomic::AtomicBool>;

fn stream_error(what: &'static str, failed: &Failed) -> impl FnMut(cpal::Error) + Send + 'static {
    let failed = Arc::clone(failed);
    move |e| {
        tracing::warn!("{what} stream: {e}");
        failed.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Microphone {
    /// Opens the device with `id`, or the system default.
    pub fn open(id: Option<&str>) -> Result<Self, DeviceError> {
        Self::open_processed(id, None)
    }

    /// Opens a device whose frames go through `stage` on the device's own
    /// thread, as they are captured (`CapturePath::open_microphone`).
    pub(crate) fn open_processed(
        id: Option<&str>,
        mut stage: Option<Stage>,
    ) -> Result<Self, DeviceError> {
        let (device, listed) = find(Direction::Input, id)?;
        let (config, format) = pick_config(&device, Direction::Input)?;
        let queue = Arc::new(Mutex::new(VecDeque::with_capacity(MAX_QUEUE)));
        let q = Arc::clone(&queue);
        let failed = Failed::default();
        let err = stream_error("microphone", &failed);
        let stream = spawn_stream(move || {
            let channels = usize::from(config.channels.max(1));
            let mut resampler = Resampler::new(config.sample_rate, SAMPLE_RATE);
            let mut mono = Vec::new();
            let mut out = Vec::new();
            // Captured samples waiting for a whole frame to process (or, with
            // no processing, for the queue).
            let mut pending: Vec<i16> = Vec::with_capacity(4 * FRAME_SAMPLES);
            // Nothing is allocated here once running: this is the device's
            // real-time thread.
            let mut deliver = move |mono: &[f32], out: &mut Vec<f32>| {
                out.clear();
                resampler.push(mono, out);
                pending.extend(out.iter().map(|&s| to_i16_f32(s)));
                let ready = match stage.as_mut() {
                    None => pending.len(),
                    Some(stage) => {
                        let whole = pending.len() / FRAME_SAMPLES * FRAME_SAMPLES;
                        for frame in pending[..whole].chunks_exact_mut(FRAME_SAMPLES) {
                            stage.process(frame);
                        }
                        whole
                    }
                };
                let mut q = q.lock().unwrap_or_else(PoisonError::into_inner);
                q.extend(pending.drain(..ready));
                let excess = q.len().saturating_sub(MAX_QUEUE);
                q.drain(..excess);
            };
            match format {
                cpal::SampleFormat::F32 => device.build_input_stream(
                    config,
                    move |data: &[f32], _: &cpal::InputCallbackInfo| {
                        mono.clear();
                        mono.extend(
                            data.chunks(channels)
                                .map(|f| f.iter().sum::<f32>() / channels as f32),
                        );
                        deliver(&mono, &mut out);
                    },
                    err,
                    None,
                ),
                cpal::SampleFormat::I16 => device.build_input_stream(
                    config,
                    move |data: &[i16], _: &cpal::InputCallbackInfo| {
                        mono.clear();
                        mono.extend(data.chunks(channels).map(|f| {
                            f.iter().map(|&s| to_f32_i16(s)).sum::<f32>() / channels as f32
                        }));
                        deliver(&mono, &mut out);
                    },
                    err,
                    None,
                ),
                other => return Err(unusable(format!("sample format {other:?}"))),
            }
            .map_err(cpal_error)
        })?;
        Ok(Microphone {
            queue,
            device: listed,
            failed,
            _stream: stream,
        })
    }

    /// Set if the stream reported an error since it opened.
    pub fn failed(&self) -> Failed {
        Arc::clone(&self.failed)
    }

    /// The device opened, as listed then.
    pub fn device(&self) -> &DeviceInfo {
        &self.device
    }
}

/// Most audio the microphone's queue holds before the oldest goes (nobody
/// pulling, or a sender far behind): 200 ms, cut back to 40. A microphone
/// opened through the capture path is processed before it is queued, so a
/// cut costs the echo canceller nothing.
const MIC_MOST: usize = 10 * SAMPLE_RATE as usize / 50;
const MIC_BACK_TO: usize = 2 * SAMPLE_RATE as usize / 50;

impl AudioInput for Microphone {
    fn next_frame(&mut self, out: &mut [i16]) {
        let mut q = self.queue.lock().unwrap_or_else(PoisonError::into_inner);
        // Short of a whole frame (the device's delivery and the sender's
        // clock met out of step): a whole frame of silence, nothing taken,
        // so the queue keeps a frame in hand from now on. Taking what there
        // is and padding would shift the microphone against what was
        // played at every such meeting, and the echo canceller would
        // re-learn the delay each time.
        if q.len() < out.len() {
            out.fill(0);
            return;
        }
        let n = out.len();
        for (s, v) in out.iter_mut().zip(q.drain(..n)) {
            *s = v;
        }
        if q.len() > MIC_MOST {
            let excess = q.len() - MIC_BACK_TO;
            q.drain(..excess);
        }
    }
}

type Mix = Arc<Mutex<HashMap<RemoteAudio, VecDeque<i16>>>>;

/// Mixes every remote track at 48 kHz and converts to the device's rate,
/// handing the echo canceller exactly what is played.
struct Mixer {
    tracks: Mix,
    far_end: Option<FarEnd>,
    resampler: Resampler,
    call_rate: Vec<f32>,
    /// Converted samples the device has not taken yet.
    ready: VecDeque<f32>,
    /// The first sound played, logged once.
    first: FirstAudio,
    asked: LastAsked,
}

/// When an output device last asked for audio. A stream can stop asking
/// and say nothing: PulseAudio, asked by cpal for a buffer exactly as
/// long as its target, cannot grow the target to the sink's latency
/// ("Failed to increase tlength") and then never requests more. Such a
/// stream is failed, and its owner opens it again.
#[derive(Clone)]
struct LastAsked {
    opened: Instant,
    /// Microseconds after `opened`, plus one; 0 until the first ask.
    at_us: Arc<AtomicU64>,
}

impl LastAsked {
    fn new() -> Self {
        LastAsked {
            opened: Instant::now(),
            at_us: Arc::default(),
        }
    }

    /// The device asks now; true the first time.
    fn now(&self) -> bool {
        let us = self
            .opened
            .elapsed()
            .as_micros()
            .min(u128::from(u64::MAX - 1)) as u64;
        self.at_us.swap(us + 1, Ordering::Relaxed) == 0
    }

    /// Asked once and then not for `STALLED_AFTER`; or never asked in
    /// `NEVER_ASKED` (a device slow to start, Bluetooth say, is given
    /// that long: counting from the open, it would be failed at once).
    fn stalled(&self) -> bool {
        let now = self.opened.elapsed();
        match self.at_us.load(Ordering::Relaxed) {
            0 => now > NEVER_ASKED,
            at => now.saturating_sub(Duration::from_micros(at - 1)) > STALLED_AFTER,
        }
    }
}

/// The device's name, and whether it has played anything but silence
/// yet (logged once: a device that plays only silence is otherwise
/// invisible).
struct FirstAudio {
    device: String,
    sounded: bool,
}

impl FirstAudio {
    fn got(&mut self, mixed: &[f32], opened: Instant) {
        if !self.sounded && mixed.iter().any(|&s| s != 0.0) {
            self.sounded = true;
            let ms = opened.elapsed().as_millis();
            tracing::debug!("speaker {}: first sound {ms} ms after opening", self.device);
        }
    }
}

impl Mixer {
    /// The next `frames` samples at the device rate.
    fn fill(&mut self, frames: usize, latency_ms: u32, out: &mut Vec<f32>) {
        if self.asked.now() {
            tracing::debug!(
                "speaker {}: first asked for audio {} ms after opening",
                self.first.device,
                self.asked.opened.elapsed().as_millis()
            );
        }
        while self.ready.len() < frames {
            // 10 ms at a time: small enough to stay close to the device.
            self.call_rate.clear();
            self.call_rate.resize(CHUNK, 0.0);
            {
                let mut tracks = self.tracks.lock().unwrap_or_else(PoisonError::into_inner);
                for q in tracks.values_mut() {
                    for (slot, s) in self.call_rate.iter_mut().zip(q.drain(..q.len().min(CHUNK))) {
                        *slot += to_f32_i16(s);
                    }
                }
            }
            for s in &mut self.call_rate {
                *s = s.clamp(-1.0, 1.0);
            }
            self.first.got(&self.call_rate, self.asked.opened);
            if let Some(far_end) = &self.far_end {
                far_end.played(self.call_rate.iter().map(|&s| to_i16_f32(s)), latency_ms);
            }
            let mut converted = Vec::with_capacity(CHUNK * 2);
            self.resampler.push(&self.call_rate, &mut converted);
            self.ready.extend(converted);
        }
        out.clear();
        out.extend(self.ready.drain(..frames));
    }
}

/// Samples in 10 ms of the call.
const CHUNK: usize = SAMPLE_RATE as usize / 100;

/// Output latency of one callback: from now until its first sample plays.
fn output_latency_ms(info: &cpal::OutputCallbackInfo) -> u32 {
    let t = info.timestamp();
    t.playback
        .saturating_duration_since(t.callback)
        .as_millis()
        .min(1000) as u32
}

/// A playback device as the call's audio output: every remote track mixed.
pub struct Speaker {
    tracks: Mix,
    device: DeviceInfo,
    failed: Failed,
    asked: LastAsked,
    _stream: StreamThread,
}

impl Speaker {
    /// Opens the device with `id`, or the system default. What it plays
    /// is also handed to `far_end` (the echo canceller's reference).
    pub fn open(id: Option<&str>, far_end: Option<FarEnd>) -> Result<Self, DeviceError> {
        let (device, listed) = find(Direction::Output, id)?;
        let (config, format) = pick_config(&device, Direction::Output)?;
        let tracks: Mix = Arc::new(Mutex::new(HashMap::new()));
        let t = Arc::clone(&tracks);
        let name = listed.name.clone();
        let asked = LastAsked::new();
        let last_asked = asked.clone();
        let failed = Failed::default();
        let err = stream_error("speaker", &failed);
        let stream = spawn_stream(move || {
            let channels = usize::from(config.channels.max(1));
            let mut mixer = Mixer {
                tracks: t,
                far_end,
                resampler: Resampler::new(SAMPLE_RATE, config.sample_rate),
                call_rate: Vec::with_capacity(CHUNK),
                ready: VecDeque::new(),
                first: FirstAudio {
                    device: name,
                    sounded: false,
                },
                asked: last_asked,
            };
            let mut mixed = Vec::new();
            match format {
                cpal::SampleFormat::F32 => device.build_output_stream(
                    config,
                    move |data: &mut [f32], info: &cpal::OutputCallbackInfo| {
                        mixer.fill(data.len() / channels, output_latency_ms(info), &mut mixed);
                        for (frame, &s) in data.chunks_mut(channels).zip(&mixed) {
                            frame.fill(s);
                        }
                    },
                    err,
                    None,
                ),
                cpal::SampleFormat::I16 => device.build_output_stream(
                    config,
                    move |data: &mut [i16], info: &cpal::OutputCallbackInfo| {
                        mixer.fill(data.len() / channels, output_latency_ms(info), &mut mixed);
                        for (frame, &s) in data.chunks_mut(channels).zip(&mixed) {
                            frame.fill(to_i16_f32(s));
                        }
                    },
                    err,
                    None,
                ),
                other => return Err(unusable(format!("sample format {other:?}"))),
            }
            .map_err(cpal_error)
        })?;
        Ok(Speaker {
            tracks,
            device: listed,
            failed,
            asked,
            _stream: stream,
        })
    }

    /// Set if the stream reported an error since it opened.
    pub fn failed(&self) -> Failed {
        Arc::clone(&self.failed)
    }

    /// The device opened, as listed then.
    pub fn device(&self) -> &DeviceInfo {
        &self.device
    }
}

impl AudioSink for Speaker {
    fn on_frame(&self, from: &RemoteAudio, pcm: &[i16]) {
        // Checked as audio comes to be played: a stream that stopped
        // asking for it is failed (see `LastAsked`).
        if self.asked.stalled() && !self.failed.swap(true, Ordering::SeqCst) {
            tracing::warn!(
                "speaker {}: the device stopped asking for audio",
                self.device.name
            );
        }
        let mut tracks = self.tracks.lock().unwrap_or_else(PoisonError::into_inner);
        let q = tracks.entry(from.clone()).or_default();
        q.extend(pcm);
        let excess = q.len().saturating_sub(MAX_QUEUE);
        q.drain(..excess);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_stalled_only_after_it_stops_asking() {
        let mut asked = LastAsked::new();
        assert!(!asked.stalled());
        // Never asked: given NEVER_ASKED from the open.
        asked.opened = Instant::now() - STALLED_AFTER * 2;
        assert!(!asked.stalled(), "a slow start is not a stall");
        asked.opened = Instant::now() - NEVER_ASKED - STALLED_AFTER;
        assert!(asked.stalled());
        // Asked just now: fine; asked long ago and not since: stalled.
        asked.now();
        assert!(!asked.stalled());
        asked.at_us.store(1, Ordering::Relaxed);
        assert!(asked.stalled());
    }
}
