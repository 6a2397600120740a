//! How each remote video is shown, so the server sends what fits (LiveKit's
//! adaptive stream): a tile's size picks the simulcast layer, a hidden tile
//! (scrolled away, a minimised window) pauses its video. The call keeps
//! every track's view across sessions: a rejoin's new subscription gets
//! the same view as soon as the track arrives.

use std::collections::HashMap;
use std::sync::Mutex;

use livekit_protocol as proto;

/// How a remote video is shown now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoView {
    /// Not on screen: the server pauses it.
    Hidden,
    /// On screen, drawn this large (physical pixels), at most `fps`
    /// pictures a second if set (a publisher sending temporal layers is
    /// thinned to the fewest layers that give that; None: all it sends).
    Shown {
        width: u32,
        height: u32,
        fps: Option<u32>,
    },
}

impl VideoView {
    /// The request that tells the server.
    pub(crate) fn request(self, track_sid: &str) -> proto::UpdateTrackSettings {
        let (disabled, width, height, fps) = match self {
            VideoView::Hidden => (true, 0, 0, None),
            VideoView::Shown { width, height, fps } => (false, width, height, fps),
        };
        proto::UpdateTrackSettings {
            track_sids: vec![track_sid.to_string()],
            disabled,
            // Servers that predate width and height pick by quality.
            quality: quality_for(height) as i32,
            width,
            height,
            fps: fps.unwrap_or(ALL_FPS),
            ..Default::default()
        }
    }
}

/// The rate asked for to get all a publisher sends. LiveKit reads 0 as no
/// change (a rate asked for before stays), and meets a rate above every
/// layer's with all of them.
const ALL_FPS: u32 = 1_000;

/// LiveKit's older scale, by the height a tile needs.
fn quality_for(height: u32) -> proto::VideoQuality {
    match height {
        0..=180 => proto::VideoQuality::Low,
        181..=360 => proto::VideoQuality::Medium,
        _ => proto::VideoQuality::High,
    }
}

/// Every track's view, by track sid: the call's, read by each session.
#[derive(Default)]
pub(crate) struct Views(Mutex<HashMap<String, VideoView>>);

impl Views {
    /// Records `view`; whether it changed.
    pub(crate) fn set(&self, track_sid: &str, view: VideoView) -> bool {
        let mut views = self.0.lock().expect("views lock");
        views.insert(track_sid.to_string(), view) != Some(view)
    }

    pub(crate) fn get(&self, track_sid: &str) -> Option<VideoView> {
        self.0.lock().expect("views lock").get(track_sid).copied()
    }

    /// The views of these tracks that have one.
    pub(crate) fn of<'a>(
        &self,
        track_sids: impl Iterator<Item = &'a str>,
    ) -> Vec<(String, VideoView)> {
        let views = self.0.lock().expect("views lock");
        track_sids
            .filter_map(|sid| views.get(sid).map(|view| (sid.to_string(), *view)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hidden_pauses_and_shown_asks_for_the_size() {
        let r = VideoView::Hidden.request("TR_a");
        assert_eq!(r.track_sids, ["TR_a"]);
        assert!(r.disabled);
        let r = VideoView::Shown {
            width: 320,
            height: 180,
            fps: None,
        }
        .request("TR_a");
        assert!(!r.disabled);
        assert_eq!((r.width, r.height), (320, 180));
        assert_eq!(r.quality, proto::VideoQuality::Low as i32);
        let big = VideoView::Shown {
            width: 1280,
            height: 720,
            fps: None,
        };
        assert_eq!(big.request("x").quality, proto::VideoQuality::High as i32);
        assert_eq!(big.request("x").fps, ALL_FPS);
        let thinned = VideoView::Shown {
            width: 1280,
            height: 720,
            fps: Some(15),
        };
        assert_eq!(thinned.request("x").fps, 15);
    }

    #[test]
    fn views_are_kept_per_track_and_say_when_they_change() {
        let v = Views::default();
        assert!(v.set("a", VideoView::Hidden));
        assert!(!v.set("a", VideoView::Hidden));
        assert_eq!(v.get("a"), Some(VideoView::Hidden));
        assert_eq!(v.get("b"), None);
    }
}
