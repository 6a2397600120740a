//! A video sink for tests: every decoded frame from each remote identity,
//! its size, its pattern reading and when it came, to be judged over a
//! window of time.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rtcstack::video::{RemoteVideo, VideoFrame, VideoSink};

use crate::pattern::{self, Reading};

/// One decoded frame, as seen.
#[derive(Debug, Clone)]
pub struct Seen {
    pub at: Instant,
    pub width: u32,
    pub height: u32,
    pub reading: Reading,
}

#[derive(Default)]
pub struct FrameWatch {
    frames: Mutex<HashMap<String, Vec<Seen>>>,
}

impl FrameWatch {
    pub fn new() -> Self {
        Self::default()
    }

    /// Frames from `identity` since `from`.
    pub fn since(&self, identity: &str, from: Instant) -> Vec<Seen> {
        let frames = self.frames.lock().unwrap();
        frames
            .get(identity)
            .map(|f| f.iter().filter(|s| s.at >= from).cloned().collect())
            .unwrap_or_default()
    }

    /// The last frame from `identity`.
    pub fn latest(&self, identity: &str) -> Option<Seen> {
        let frames = self.frames.lock().unwrap();
        frames.get(identity).and_then(|f| f.last().cloned())
    }

    /// Waits until the last frame from `identity` satisfies `pred`.
    pub async fn wait_until(
        &self,
        identity: &str,
        what: &str,
        within: Duration,
        pred: impl Fn(&Seen) -> bool,
    ) -> Seen {
        let deadline = Instant::now() + within;
        loop {
            let latest = self.latest(identity);
            if let Some(seen) = latest.as_ref().filter(|s| pred(s)) {
                return seen.clone();
            }
            assert!(
                Instant::now() < deadline,
                "{what}: not within {within:?}; last frame {latest:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub fn count(&self, identity: &str) -> usize {
        self.frames
            .lock()
            .unwrap()
            .get(identity)
            .map_or(0, |f| f.len())
    }
}

impl VideoSink for FrameWatch {
    fn on_frame(&self, from: &RemoteVideo, frame: &VideoFrame) {
        let seen = Seen {
            at: Instant::now(),
            width: frame.width,
            height: frame.height,
            reading: pattern::read(frame),
        };
        self.frames
            .lock()
            .unwrap()
            .entry(from.identity.clone())
            .or_default()
            .push(seen);
    }
}

/// How a run of frames went: rate, pattern numbers missing, colours.
#[derive(Debug)]
pub struct Judged {
    pub frames: usize,
    pub fps: f64,
    /// Frame numbers the run skipped, of all from its first to its last.
    pub missing: u32,
    pub span: u32,
    /// Frames whose number went back, and the first few such pairs.
    pub out_of_order: usize,
    pub out_of_order_pairs: Vec<(u32, u32)>,
    /// Frames showing the same number as the one before: a picture the
    /// sender encoded twice (libwebrtc repeats one when its source is late).
    pub repeated: usize,
    /// Frames whose colours were off the pattern, and the worst reading.
    pub off_colour: usize,
    pub worst: i32,
    pub sizes: Vec<(u32, u32)>,
}

impl Judged {
    pub fn missing_share(&self) -> f64 {
        self.missing as f64 / self.span.max(1) as f64
    }
}

/// Judges `frames` received over `seconds`.
pub fn judge(frames: &[Seen], seconds: f64) -> Judged {
    let mut sizes: Vec<(u32, u32)> = Vec::new();
    let mut out_of_order = 0;
    let mut out_of_order_pairs = Vec::new();
    let mut repeated = 0;
    for pair in frames.windows(2) {
        let (a, b) = (pair[0].reading.number, pair[1].reading.number);
        if b == a {
            repeated += 1;
        } else if b < a {
            out_of_order += 1;
            if out_of_order_pairs.len() < 5 {
                out_of_order_pairs.push((a, b));
            }
        }
    }
    for f in frames {
        if !sizes.contains(&(f.width, f.height)) {
            sizes.push((f.width, f.height));
        }
    }
    let (first, last) = match (frames.first(), frames.last()) {
        (Some(a), Some(b)) => (a.reading.number, b.reading.number),
        _ => (0, 0),
    };
    let span = last.saturating_sub(first) + 1;
    let distinct = frames.len() - repeated;
    let off: Vec<&Seen> = frames
        .iter()
        .filter(|f| !f.reading.colours_match())
        .collect();
    Judged {
        frames: frames.len(),
        fps: frames.len() as f64 / seconds,
        missing: span.saturating_sub(distinct as u32),
        span,
        out_of_order,
        out_of_order_pairs,
        repeated,
        off_colour: off.len(),
        worst: frames.iter().map(|f| f.reading.worst).max().unwrap_or(0),
        sizes,
    }
}
