//! Cameras on Windows (Media Foundation) and macOS (AVFoundation) through
//! `nokhwa`, read on a thread of their own (the systems' camera objects
//! stay on the thread that opened them, and a read blocks until the next
//! picture). Each picture is turned into I420 there and sent as it comes.
//!
//! Not run here (no Windows or macOS machine): compiled and type-checked
//! for Windows by every test run, for macOS by scripts/cross-check.

use std::sync::atomic::{AtomicBool, Ordering};
#[cfg(target_os = "macos")]
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use nokhwa::utils::{
    ApiBackend, CameraFormat, CameraIndex, FrameFormat, RequestedFormat, RequestedFormatType,
};

use super::choice::{ranked, Offer};
use super::{CameraError, CameraInfo, CameraService};
use crate::video::mjpeg::Mjpeg;
use crate::video::pixels::{one_buffer, packed_stride, to_i420, Layout};
use crate::video::reading::{open_on_thread, Latest, Opened, ThreadInput};
use crate::video::screen::{EndSignal, ShareEnd};
use crate::video::{Arrivals, VideoFormat, VideoFrame, VideoInput};

/// Every format we can read. Not MJPEG on macOS: AVFoundation decodes a
/// camera's JPEG itself, and its capture output refuses to hand JPEG on.
#[cfg(not(target_os = "macos"))]
const READABLE: &[FrameFormat] = &[
    FrameFormat::MJPEG,
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::GRAY,
    FrameFormat::RAWRGB,
    FrameFormat::RAWBGR,
];
#[cfg(target_os = "macos")]
const READABLE: &[FrameFormat] = &[
    FrameFormat::YUYV,
    FrameFormat::NV12,
    FrameFormat::GRAY,
    FrameFormat::RAWRGB,
    FrameFormat::RAWBGR,
];
/// How long the camera may give nothing before it is looked for in the
/// system's list: a read can wait for ever on a camera unplugged.
const STALLED: Duration = Duration::from_secs(3);
/// Reads in a row that failed before the camera is looked for in the
/// system's list (unplugged: the share of it ends).
const FAILURES_BEFORE_LOOKING: u32 = 10;
/// A pause after a failed read, so a broken camera does not spin.
const AFTER_FAILURE: Duration = Duration::from_millis(100);
/// How long the user may take to answer macOS's question.
#[cfg(target_os = "macos")]
const ASKING: Duration = Duration::from_secs(120);

/// A camera being read. Dropped, its thread lets the camera go after the
/// picture under way.
pub struct NokhwaCamera(ThreadInput);

impl NokhwaCamera {
    /// The cameras connected now, by the system's id for each (stable
    /// across restarts where the system gives one) and name.
    pub fn list(_service: &CameraService) -> Result<Vec<CameraInfo>, CameraError> {
        allowed()?;
        let found =
            nokhwa::query(ApiBackend::Auto).map_err(|e| CameraError::NoService(e.to_string()))?;
        Ok(found
            .iter()
            .map(|c| CameraInfo {
                id: id_of(c),
                name: c.human_name(),
            })
            .collect())
    }

    /// Opens the camera `id`, asking for `want`'s size and rate; the camera
    /// may give another, which is then this input's format. Blocks until
    /// the camera has agreed: call it off the async threads.
    pub fn open(
        _service: &CameraService,
        id: &str,
        want: VideoFormat,
    ) -> Result<NokhwaCamera, CameraError> {
        let id = id.to_owned();
        let input = open_on_thread(
            "camera",
            move |stop| {
                let reader = Reader::open(&id, want, stop)?;
                let opened = Opened {
                    format: reader.format,
                    latest: reader.latest.clone(),
                    end: reader.end.watch(),
                };
                Ok((reader, opened))
            },
            Reader::run,
            CameraError::Refused,
        )?;
        Ok(NokhwaCamera(input))
    }

    /// Says when the camera is gone (unplugged).
    pub fn end(&self) -> ShareEnd {
        self.0.end()
    }
}

impl VideoInput for NokhwaCamera {
    fn format(&self) -> VideoFormat {
        self.0.format()
    }

    fn next_frame(&mut self, out: &mut VideoFrame) {
        self.0.next_frame(out);
    }

    fn arrivals(&self) -> Option<Arrivals> {
        self.0.arrivals()
    }
}

/// The system's stable name for a camera where it gives one (Media
/// Foundation's symbolic link, AVFoundation's unique id), else its place
/// in the list.
fn id_of(info: &nokhwa::utils::CameraInfo) -> String {
    let misc = info.misc();
    if misc.is_empty() {
        info.index().to_string()
    } else {
        misc
    }
}

/// The reading thread's side.
struct Reader {
    camera: nokhwa::Camera,
    id: String,
    format: VideoFormat,
    latest: Latest,
    stop: Arc<AtomicBool>,
    end: Arc<EndSignal>,
}

impl Reader {
    fn open(id: &str, want: VideoFormat, stop: Arc<AtomicBool>) -> Result<Reader, CameraError> {
        allowed()?;
        let found =
            nokhwa::query(ApiBackend::Auto).map_err(|e| CameraError::NoService(e.to_string()))?;
        let index: CameraIndex = found
            .iter()
            .find(|c| id_of(c) == id)
            .map(|c| c.index().clone())
            .ok_or(CameraError::NotFound)?;
        let refused = |e: nokhwa::NokhwaError| CameraError::Refused(e.to_string());
        // Opened first at a format it surely has (a frame rate it lists as
        // a range's top), to list the rest.
        let any =
            RequestedFormat::with_formats(RequestedFormatType::AbsoluteHighestFrameRate, READABLE);
        let mut camera = nokhwa::Camera::new(index, any).map_err(refused)?;
        let formats: Vec<CameraFormat> = camera
            .compatible_camera_formats()
            .map_err(refused)?
            .into_iter()
            .filter(|f| READABLE.contains(&f.format()))
            .collect();
        let offers: Vec<Offer> = formats
            .iter()
            .map(|f| Offer {
                width: f.width(),
                height: f.height(),
                fps: f.frame_rate(),
                mjpeg: f.format() == FrameFormat::MJPEG,
            })
            .collect();
        // The best the camera takes, of those it lists.
        let mut refusal = CameraError::Refused("it offers no format we can read".into());
        let mut taken = None;
        for format in ranked(&offers, want)
            .into_iter()
            .filter_map(|i| formats.get(i))
        {
            let exact =
                RequestedFormat::with_formats(RequestedFormatType::Exact(*format), READABLE);
            match camera.set_camera_requset(exact) {
                Ok(_) => {
                    taken = Some(*format);
                    break;
                }
                Err(e) => refusal = refused(e),
            }
        }
        let chosen = taken.ok_or(refusal)?;
        camera.open_stream().map_err(refused)?;
        // I420 wants even sides; an odd last row or column is left out.
        let format = VideoFormat {
            width: chosen.width() & !1,
            height: chosen.height() & !1,
            fps: chosen.frame_rate().max(1),
        };
        Ok(Reader {
            camera,
            id: id.to_owned(),
            format,
            latest: Latest::new(format.width, format.height),
            stop,
            end: Arc::new(EndSignal::new()),
        })
    }

    /// Reads until the input is dropped or the camera is gone.
    fn run(mut self) {
        let mut frame = VideoFrame::black(self.format.width, self.format.height);
        let mut mjpeg = Mjpeg::default();
        let mut failures = 0;
        let mut warned = false;
        let _watchdog = Watchdog::start(self.latest.arrivals(), self.id.clone(), self.end.clone());
        while !self.stop.load(Ordering::Relaxed) && !self.end.has_ended() {
            let read = pooled(|| {
                self.camera
                    .frame()
                    .map_err(|e| e.to_string())
                    .and_then(|buffer| {
                        let bytes = buffer.buffer();
                        match layout(buffer.source_frame_format()) {
                            None => mjpeg.decode_into(bytes, &mut frame),
                            Some(layout) => {
                                let size = buffer.resolution();
                                let row = size.width() as usize * layout.bytes_per_pixel() as usize;
                                // Planar pictures are read at the width.
                                let stride = match layout {
                                    Layout::Nv12 | Layout::I420 => row,
                                    _ => packed_stride(bytes.len(), row, size.height()),
                                };
                                let planes = one_buffer(layout, bytes, stride, size.height());
                                to_i420(layout, &planes, &mut frame)
                            }
                        }
                    })
            });
            match read {
                Ok(()) => {
                    failures = 0;
                    self.latest.put(&mut frame);
                }
                Err(e) => {
                    if !std::mem::replace(&mut warned, true) {
                        tracing::warn!("camera picture: {e}");
                    }
                    failures += 1;
                    if failures >= FAILURES_BEFORE_LOOKING && listed_no_more(&self.id) {
                        self.end.end();
                        break;
                    }
                    std::thread::sleep(AFTER_FAILURE);
                }
            }
        }
        let started = Instant::now();
        let _ = self.camera.stop_stream();
        tracing::debug!("camera let go in {:?}", started.elapsed());
    }
}

/// Whether the camera `id` is no longer in the system's list (a list that
/// cannot be read says nothing).
fn listed_no_more(id: &str) -> bool {
    nokhwa::query(ApiBackend::Auto).is_ok_and(|all| !all.iter().any(|c| id_of(c) == id))
}

/// Watches a camera's pictures from a thread of its own: when none has
/// come for [`STALLED`] and the camera is gone from the system's list,
/// its end is signalled, though the read waits on (nokhwa's read has no
/// deadline).
struct Watchdog {
    stop: Arc<AtomicBool>,
}

impl Watchdog {
    fn start(arrivals: Arrivals, id: String, end: Arc<EndSignal>) -> Watchdog {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let watch = move || {
            let (mut seen, mut since) = (arrivals.count(), Instant::now());
            while !stopped.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(500));
                if arrivals.count() != seen {
                    (seen, since) = (arrivals.count(), Instant::now());
                } else if since.elapsed() >= STALLED {
                    if listed_no_more(&id) {
                        end.end();
                        return;
                    }
                    since = Instant::now();
                }
            }
        };
        if let Err(e) = std::thread::Builder::new()
            .name("camera-watch".into())
            .spawn(watch)
        {
            tracing::warn!("camera: no thread to watch it: {e}");
        }
        Watchdog { stop }
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Runs `f` with its own autorelease pool on macOS: AVFoundation's
/// objects made for each picture are let go after it, not kept until the
/// thread ends.
#[cfg(target_os = "macos")]
fn pooled<T>(f: impl FnOnce() -> T) -> T {
    objc2::rc::autoreleasepool(|_| f())
}

#[cfg(not(target_os = "macos"))]
fn pooled<T>(f: impl FnOnce() -> T) -> T {
    f()
}

/// How a raw format lays out its pixels; `None` for MJPEG.
fn layout(format: FrameFormat) -> Option<Layout> {
    match format {
        FrameFormat::MJPEG => None,
        FrameFormat::YUYV => Some(Layout::Yuy2),
        FrameFormat::NV12 => Some(Layout::Nv12),
        FrameFormat::GRAY => Some(Layout::Grey),
        FrameFormat::RAWRGB => Some(Layout::Rgb),
        FrameFormat::RAWBGR => Some(Layout::Bgr),
    }
}

/// macOS asks the user once whether the app may use cameras; until they
/// answer, none may be opened.
#[cfg(target_os = "macos")]
fn allowed() -> Result<(), CameraError> {
    if nokhwa::nokhwa_check() {
        return Ok(());
    }
    let (answer, answered) = mpsc::channel();
    nokhwa::nokhwa_initialize(move |granted| {
        let _ = answer.send(granted);
    });
    match answered.recv_timeout(ASKING) {
        Ok(true) => Ok(()),
        _ => Err(CameraError::NotAllowed),
    }
}

#[cfg(not(target_os = "macos"))]
fn allowed() -> Result<(), CameraError> {
    Ok(())
}
