//! Remote video for the window. The page pulls (over `socket`): it asks
//! for a track's next frame after the one it drew, and gets the latest,
//! halved to its tile and as RGBA (done then, so a frame nobody draws is
//! never converted, and a page that draws slowly skips frames instead of
//! queueing them); the ask waits for a frame when there is none newer yet.
//! A large tile that decodes VP8 itself gets every frame as it came
//! instead (`encoded`).

mod encoded;
pub mod native;
mod preview;
mod socket;

pub use encoded::Taking;

pub use preview::{Previewed, PREVIEW};
/// What the window may share: the engine's words, as the page gets them.
pub use rtcstack::video::camera::CameraInfo;
pub use rtcstack::video::screen::{ShareTarget, Shareable};
pub use socket::VideoSocket;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use encoded::EncodedTracks;
use rtcstack::video::{
    Delivery, EncodedVideo, RemoteVideo, VideoCodec, VideoFrame, VideoSink, VideoView,
};
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

/// How large the page draws a video (CSS px times the device's scale), or
/// `None` when it is not on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct TileSize {
    pub width: u32,
    pub height: u32,
}

impl TileSize {
    pub fn view(size: Option<TileSize>) -> VideoView {
        match size {
            // A tile too small to measure still shows something.
            Some(s) => VideoView::Shown {
                width: s.width.max(1),
                height: s.height.max(1),
                fps: None,
            },
            None => VideoView::Hidden,
        }
    }
}

/// Bytes before the pixels of a frame for the page: its number, width and
/// height, little-endian (u64, u32, u32).
pub const HEADER: usize = 16;

/// The last frame of each track, numbered (frames as they came, for a
/// tile that decodes them, too).
#[derive(Default)]
pub struct Videos {
    latest: Mutex<HashMap<String, (u64, Arc<VideoFrame>)>>,
    encoded: Mutex<EncodedTracks>,
    /// The last number given, decoded or not: a tile's numbers grow
    /// whichever way its frames come.
    numbered: AtomicU64,
    /// Bumped on every frame: askers wake and look.
    arrivals: watch::Sender<u64>,
    /// The tracks the window draws itself, and the size of each's box.
    native: Mutex<HashMap<String, TileSize>>,
}

impl Videos {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first frame of `track_sid` numbered after `after`: its number,
    /// and the frame as the page draws it (header, then RGBA, halved while
    /// it stays at least as large as drawn at `fit`); `None` if none came
    /// within `wait`.
    pub async fn next(
        &self,
        track_sid: &str,
        after: u64,
        fit: Option<TileSize>,
        wait: Duration,
    ) -> Option<(u64, Vec<u8>)> {
        let mut arrivals = self.arrivals.subscribe();
        let found = tokio::time::timeout(wait, async {
            loop {
                if let Some((seq, message)) = self.encoded().next(track_sid, after) {
                    return Some(Found::AsItCame(seq, message));
                }
                if let Some((seq, frame)) = self.newer(track_sid, after) {
                    return Some(Found::Decoded(seq, frame));
                }
                arrivals.changed().await.ok()?;
            }
        })
        .await
        .ok()??;
        let (seq, frame) = match found {
            Found::Decoded(seq, frame) => (seq, frame),
            Found::AsItCame(seq, message) => return Some((seq, message.to_vec())),
        };
        let rgba = tokio::task::spawn_blocking(move || frame_for_page(seq, &frame, fit))
            .await
            .ok()?;
        Some((seq, rgba))
    }

    fn newer(&self, track_sid: &str, after: u64) -> Option<(u64, Arc<VideoFrame>)> {
        let latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest
            .get(track_sid)
            .filter(|(seq, _)| *seq > after)
            .map(|(seq, f)| (*seq, Arc::clone(f)))
    }

    fn encoded(&self) -> std::sync::MutexGuard<'_, EncodedTracks> {
        self.encoded.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn number(&self) -> u64 {
        self.numbered.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// What the tile of `track` takes, as its page said over socket
    /// `owner`.
    pub fn tell(&self, track: &str, owner: u64, taking: Taking) {
        self.encoded().tell(track, owner, taking);
    }

    /// The tile of `track` whose socket was `owner` is gone.
    pub fn untold(&self, track: &str, owner: u64) {
        self.encoded().forget(track, owner);
    }

    /// Where the page's tiles are, all of them; whether the window draws
    /// their pictures (false: the page draws them).
    pub fn place(&self, placements: Vec<native::Placement>) -> bool {
        let placements: Vec<native::Placement> = placements
            .into_iter()
            .map(native::Placement::bounded)
            .collect();
        let sizes: HashMap<String, TileSize> = placements
            .iter()
            .map(|p| {
                let size = TileSize {
                    width: p.picture.width.max(1) as u32,
                    height: p.picture.height.max(1) as u32,
                };
                (p.track_sid.clone(), size)
            })
            .collect();
        let drawn = native::place(placements);
        *self.native.lock().unwrap_or_else(PoisonError::into_inner) =
            if drawn { sizes } else { HashMap::new() };
        drawn
    }

    /// `frame` is the newest of `key` (a track, or the preview).
    pub fn put(&self, key: &str, frame: &VideoFrame) {
        let seq = self.number();
        let fit = self
            .native
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key)
            .copied();
        if let Some(fit) = fit {
            let fitted = frame.fitted(fit.width, fit.height);
            let shown = fitted.as_ref().unwrap_or(frame);
            native::paint(
                key.to_owned(),
                native::Painted {
                    width: shown.width,
                    height: shown.height,
                    bgrx: shown.to_bgra(),
                },
            );
        }
        let mut latest = self.latest.lock().unwrap_or_else(PoisonError::into_inner);
        latest.insert(key.to_owned(), (seq, Arc::new(frame.clone())));
        drop(latest);
        self.arrivals.send_modify(|n| *n += 1);
    }

    /// `key` shows nothing any more (a camera turned off).
    pub fn forget(&self, key: &str) {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }

    /// A call ended: its pictures go with it.
    pub fn clear(&self) {
        self.latest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clear();
        self.encoded().clear();
    }
}

/// A frame for the page, as [`Videos::next`] finds it.
enum Found {
    Decoded(u64, Arc<VideoFrame>),
    /// Its message made already.
    AsItCame(u64, Arc<Vec<u8>>),
}

impl VideoSink for Videos {
    fn on_frame(&self, from: &RemoteVideo, frame: &VideoFrame) {
        self.put(&from.track_sid, frame);
    }

    fn delivery(&self, from: &RemoteVideo, codec: VideoCodec) -> Delivery {
        self.encoded().delivery(&from.track_sid, codec)
    }

    fn on_encoded(&self, from: &RemoteVideo, frame: &EncodedVideo) {
        let seq = self.number();
        self.encoded().put(&from.track_sid, seq, frame);
        self.arrivals.send_modify(|n| *n += 1);
    }
}

/// The page's message for a tile of `fit`: the picture fitted to it
/// ([`VideoFrame::fitted`]; as it is when no size is told) as RGBA behind
/// its number and size.
fn frame_for_page(seq: u64, frame: &VideoFrame, fit: Option<TileSize>) -> Vec<u8> {
    let fitted = fit.and_then(|f| frame.fitted(f.width, f.height));
    let frame = fitted.as_ref().unwrap_or(frame);
    let mut out = vec![0u8; HEADER + frame.width as usize * frame.height as usize * 4];
    out[..8].copy_from_slice(&seq.to_le_bytes());
    out[8..12].copy_from_slice(&frame.width.to_le_bytes());
    out[12..HEADER].copy_from_slice(&frame.height.to_le_bytes());
    frame.write_rgba(&mut out[HEADER..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(w: u32, h: u32, luma: u8) -> VideoFrame {
        let c = (w.div_ceil(2) * h.div_ceil(2)) as usize;
        VideoFrame {
            width: w,
            height: h,
            y: vec![luma; (w * h) as usize],
            u: vec![128; c],
            v: vec![128; c],
            rtp_timestamp: 0,
        }
    }

    fn from(sid: &str) -> RemoteVideo {
        RemoteVideo {
            identity: "far".into(),
            track_sid: sid.into(),
        }
    }

    #[tokio::test]
    async fn the_page_gets_the_latest_frame_after_its_own_with_size_and_number() {
        let v = Videos::new();
        v.on_frame(&from("TR_a"), &frame(4, 2, 16));
        v.on_frame(&from("TR_a"), &frame(4, 2, 235));
        let (seq, got) = v
            .next("TR_a", 0, None, Duration::from_millis(10))
            .await
            .unwrap();
        assert_eq!(seq, 2);
        assert_eq!(u64::from_le_bytes(got[0..8].try_into().unwrap()), 2);
        assert_eq!(u32::from_le_bytes(got[8..12].try_into().unwrap()), 4);
        assert_eq!(u32::from_le_bytes(got[12..16].try_into().unwrap()), 2);
        assert_eq!(got.len(), HEADER + 4 * 2 * 4);
        // The newer, white frame; the black one was skipped.
        assert!(got[HEADER] > 250, "{:?}", &got[HEADER..HEADER + 4]);
        // Nothing newer than 2 yet: none within the wait.
        assert!(v
            .next("TR_a", 2, None, Duration::from_millis(10))
            .await
            .is_none());
        assert!(v
            .next("TR_b", 0, None, Duration::from_millis(10))
            .await
            .is_none());
    }

    #[tokio::test]
    async fn an_ask_waits_for_the_next_frame() {
        let v = Arc::new(Videos::new());
        let asker = {
            let v = Arc::clone(&v);
            tokio::spawn(async move { v.next("TR_a", 0, None, Duration::from_secs(5)).await })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        v.on_frame(&from("TR_a"), &frame(2, 2, 100));
        assert!(asker.await.unwrap().is_some());
        v.clear();
        assert!(v
            .next("TR_a", 0, None, Duration::from_millis(10))
            .await
            .is_none());
    }

    #[test]
    fn the_page_gets_the_picture_fitted_to_its_tile() {
        let f = frame(640, 360, 100);
        let size = |fit: Option<TileSize>| {
            let m = frame_for_page(7, &f, fit);
            let word = |at: usize| u32::from_le_bytes(m[at..at + 4].try_into().unwrap());
            assert_eq!(m.len(), HEADER + (word(8) * word(12) * 4) as usize);
            (word(8), word(12))
        };
        let tile = |width, height| Some(TileSize { width, height });
        assert_eq!(size(tile(290, 163)), (320, 180));
        assert_eq!(size(tile(1280, 720)), (640, 360));
        // No size told: untouched.
        assert_eq!(size(None), (640, 360));
    }

    #[test]
    fn no_size_is_hidden_and_a_size_is_shown() {
        assert_eq!(TileSize::view(None), VideoView::Hidden);
        assert_eq!(
            TileSize::view(Some(TileSize {
                width: 320,
                height: 0
            })),
            VideoView::Shown {
                width: 320,
                height: 1,
                fps: None,
            }
        );
    }
}
