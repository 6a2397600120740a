//! The camera in a call: which cameras there are, one shown to the call
//! (and to ourselves, as a preview), or none. A camera that goes away
//! (unplugged) turns itself off, as the Stop camera button does.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use rtcstack::video::camera::{Camera, CameraError, CameraInfo, CameraService};
use rtcstack::video::{VideoFormat, VideoSource};
use rtcstack::Call;

use super::CallController;
use crate::i18n::Sentence;
use crate::report::Happened;
use crate::video::Previewed;

/// What we ask a camera for: 720p at 30, as LiveKit's clients capture (a
/// USB webcam gives it as MJPEG). A camera without it gives at least half
/// that size at 30 if it can, which is then sent.
const WANT: VideoFormat = VideoFormat {
    width: 1280,
    height: 720,
    fps: 30,
};

impl CallController {
    /// The cameras there are now, by name.
    pub async fn cameras(&self) -> Result<Vec<CameraInfo>, Sentence> {
        tokio::task::spawn_blocking(|| Camera::list(&CameraService::session()))
            .await
            .map_err(Sentence::plain)?
            .map_err(|e| Sentence::new("camera.none").with_sentence("why", camera_trouble(e)))
    }

    /// Shows camera `id` to the call (instead of the camera shown now), or
    /// stops showing it (`None`); the view's `camera` says so once done.
    /// Opened before the old one stops: a refusal leaves things as they
    /// were.
    pub async fn show_camera(self: &Arc<Self>, id: Option<String>) -> Result<(), Sentence> {
        let turn = self.cameras_asked.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(call) = self.current() else {
            return Err(Sentence::new("camera.notInCall"));
        };
        let on = self.published.snapshot().camera.is_some();
        if id.is_none() && !on {
            return Ok(());
        }
        let camera = match id.clone() {
            Some(id) => Some(
                tokio::task::spawn_blocking(move || {
                    Camera::open(&CameraService::session(), &id, WANT)
                })
                .await
                .map_err(Sentence::plain)?
                .map_err(|e| {
                    Sentence::new("camera.cannot").with_sentence("why", camera_trouble(e))
                })?,
            ),
            None => None,
        };
        if on {
            call.stop_video(VideoSource::Camera)
                .await
                .map_err(|e| Sentence::new("camera.notStopped").with("why", e))?;
            self.videos.forget(crate::video::PREVIEW);
        }
        let (Some(camera), Some(id)) = (camera, id) else {
            self.camera_is(&call, None);
            return Ok(());
        };
        self.off_when_gone(
            camera.end(),
            (|c| &c.cameras_asked, turn),
            (Arc::clone(&call), VideoSource::Camera),
            |me, call| {
                me.camera_is(call, None);
                me.videos.forget(crate::video::PREVIEW);
            },
        );
        let previewed = Previewed::new(camera, Arc::clone(&self.videos));
        let shown = call
            .publish_video(Box::new(previewed), VideoSource::Camera)
            .await;
        self.camera_is(&call, shown.is_ok().then_some(id));
        shown
            .map(|_| ())
            .map_err(|e| Sentence::new("camera.failed").with("why", e))
    }

    /// Says which camera `call` shows now, if it is still the call: a join
    /// meanwhile starts with none.
    fn camera_is(&self, call: &Arc<Call>, camera: Option<String>) {
        if self.current().is_some_and(|c| Arc::ptr_eq(&c, call)) {
            if self.published.snapshot().camera.is_some() != camera.is_some() {
                self.journal.note(Happened::Video {
                    source: "camera".into(),
                    on: camera.is_some(),
                });
            }
            self.published.change(|v| v.camera = camera);
        }
    }
}

/// Why a camera cannot be listed or used, in the person's words.
fn camera_trouble(e: CameraError) -> Sentence {
    match e {
        CameraError::NoService(why) => Sentence::new("camera.noService").with("why", why),
        CameraError::NotFound => Sentence::new("camera.gone"),
        CameraError::NoPicture(secs) => Sentence::new("camera.noPicture").with("seconds", secs),
        CameraError::Refused(why) => Sentence::new("camera.refused").with("why", why),
        CameraError::Unsupported => Sentence::new("camera.unsupported"),
    }
}
