//! An input read on a thread of its own (a camera, a screen cast): the
//! systems' objects stay on the thread that opened them, and a read that
//! blocks holds up no async thread. The thread puts each picture in as it
//! is made; the input copies out the newest when the sender asks for it,
//! and the sender waits on its arrivals for the next.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc, Mutex, PoisonError};
use std::time::Duration;

use super::screen::ShareEnd;
use super::{Arrivals, VideoFormat, VideoFrame, VideoInput};

/// How long a dropped input waits for its thread to let the source go, so
/// that opening it again at once finds it free; a read that hangs longer
/// is left to end on its own.
const LET_GO: Duration = Duration::from_secs(1);

/// The newest picture, shared by the reading thread and its input.
#[derive(Clone)]
pub(crate) struct Latest {
    picture: Arc<Mutex<VideoFrame>>,
    arrivals: Arrivals,
}

impl Latest {
    /// Black, of `width`x`height`, until the first picture.
    pub(crate) fn new(width: u32, height: u32) -> Self {
        Latest {
            picture: Arc::new(Mutex::new(VideoFrame::black(width, height))),
            arrivals: Arrivals::new(),
        }
    }

    /// Black again, of another size (the source agreed on a format anew).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn reset(&self, width: u32, height: u32) {
        *self.lock() = VideoFrame::black(width, height);
    }

    /// `frame` becomes the newest, and `frame` is given the one before (to
    /// draw the next into). False, and nothing changed, if `frame` is not
    /// of the newest's size.
    pub(crate) fn put(&self, frame: &mut VideoFrame) -> bool {
        let mut latest = self.lock();
        let fits = (latest.width, latest.height) == (frame.width, frame.height);
        if fits {
            std::mem::swap(&mut *latest, frame);
            // Counted while the picture is in: a reader woken by the count
            // finds it.
            self.arrivals.arrived();
        }
        fits
    }

    /// The newest into `out`, if it is of `out`'s size.
    pub(crate) fn copy_into(&self, out: &mut VideoFrame) {
        let latest = self.lock();
        if (latest.width, latest.height) == (out.width, out.height) {
            out.y.clone_from(&latest.y);
            out.u.clone_from(&latest.u);
            out.v.clone_from(&latest.v);
        }
    }

    pub(crate) fn arrivals(&self) -> Arrivals {
        self.arrivals.clone()
    }

    /// A picture is whole whenever the lock is free: one left by a panic
    /// is still a picture.
    fn lock(&self) -> std::sync::MutexGuard<'_, VideoFrame> {
        self.picture.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What a reader tells its input once it has opened the source.
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) struct Opened {
    pub format: VideoFormat,
    pub latest: Latest,
    /// When the source is gone for good.
    pub end: ShareEnd,
}

/// An input read by a thread of its own, started by [`open_on_thread`].
/// Dropped, it tells the thread to stop (after the read under way) and
/// waits for it, up to [`LET_GO`].
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) struct ThreadInput {
    opened: Opened,
    stop: Arc<AtomicBool>,
    /// Closed when the thread ends.
    finished: mpsc::Receiver<()>,
}

#[cfg_attr(target_os = "linux", allow(dead_code))]
impl ThreadInput {
    pub(crate) fn end(&self) -> ShareEnd {
        self.opened.end.clone()
    }
}

impl Drop for ThreadInput {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.finished.recv_timeout(LET_GO);
    }
}

impl VideoInput for ThreadInput {
    fn format(&self) -> VideoFormat {
        self.opened.format
    }

    /// The newest picture; until the first, black.
    fn next_frame(&mut self, out: &mut VideoFrame) {
        self.opened.latest.copy_into(out);
    }

    fn arrivals(&self) -> Option<Arrivals> {
        Some(self.opened.latest.arrivals())
    }
}

/// Opens a reader on a new thread called `name` and runs it there: `open`
/// makes it, given the flag that says stop, and says what its input needs;
/// then `run` reads until that flag is set. Returns the input once `open`
/// has said; `failed` says why when no thread could be started or it
/// ended first.
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) fn open_on_thread<R, E>(
    name: &str,
    open: impl FnOnce(Arc<AtomicBool>) -> Result<(R, Opened), E> + Send + 'static,
    run: impl FnOnce(R) + Send + 'static,
    failed: impl Fn(String) -> E,
) -> Result<ThreadInput, E>
where
    E: Send + 'static,
{
    let stop = Arc::new(AtomicBool::new(false));
    let reader_stop = Arc::clone(&stop);
    let (told, said) = mpsc::channel();
    let (ending, finished) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name(name.into())
        .spawn(move || {
            // Dropped last, once the reader (and the source) is gone.
            let _ending = ending;
            match open(reader_stop) {
                Ok((reader, opened)) => {
                    let _ = told.send(Ok(opened));
                    run(reader);
                }
                Err(e) => {
                    let _ = told.send(Err(e));
                }
            }
        })
        .map_err(|e| failed(format!("no thread to read it on: {e}")))?;
    let opened = said
        .recv()
        .map_err(|_| failed("the reading thread ended".into()))??;
    Ok(ThreadInput {
        opened,
        stop,
        finished,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_picture_put_is_the_one_copied_out_and_counted() {
        let latest = Latest::new(2, 2);
        let mut drawn = VideoFrame::black(2, 2);
        drawn.y.fill(200);
        assert!(latest.put(&mut drawn));
        assert_eq!(latest.arrivals().count(), 1);
        // The one before comes back to draw into.
        assert_eq!(drawn.y, [16; 4]);
        let mut out = VideoFrame::black(2, 2);
        latest.copy_into(&mut out);
        assert_eq!(out.y, [200; 4]);
        // Of another size: refused, nothing counted.
        assert!(!latest.put(&mut VideoFrame::black(4, 2)));
        assert_eq!(latest.arrivals().count(), 1);
        latest.reset(4, 2);
        assert!(latest.put(&mut VideoFrame::black(4, 2)));
    }

    #[test]
    fn a_reader_runs_on_its_thread_until_its_input_is_dropped() {
        let (ran, seen) = mpsc::channel();
        let input = open_on_thread(
            "test-reader",
            |stop| {
                let latest = Latest::new(4, 2);
                let end = crate::video::screen::EndSignal::new();
                let opened = Opened {
                    format: VideoFormat {
                        width: 4,
                        height: 2,
                        fps: 10,
                    },
                    latest: latest.clone(),
                    end: end.watch(),
                };
                Ok::<_, String>(((stop, latest, end), opened))
            },
            move |(stop, latest, _end): (Arc<AtomicBool>, Latest, _)| {
                let name = std::thread::current().name().map(str::to_owned);
                let mut frame = VideoFrame::black(4, 2);
                frame.y.fill(90);
                latest.put(&mut frame);
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(std::time::Duration::from_millis(1));
                }
                let _ = ran.send(name);
            },
            |e| e,
        )
        .unwrap();
        assert_eq!(input.format().width, 4);
        let arrivals = input.arrivals().unwrap();
        while arrivals.count() == 0 {
            std::thread::yield_now();
        }
        let mut out = VideoFrame::black(4, 2);
        let mut input = input;
        input.next_frame(&mut out);
        assert_eq!(out.y, [90; 8]);
        // Dropped: the thread has let go by the time the drop returns.
        drop(input);
        assert_eq!(seen.try_recv(), Ok(Some("test-reader".into())));
        let refused = open_on_thread(
            "test-reader",
            |_| Err::<((), Opened), _>("no such camera".to_string()),
            |_| {},
            |e| e,
        );
        assert_eq!(refused.err(), Some("no such camera".into()));
    }
}
