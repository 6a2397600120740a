//! The camera in a call: which cameras there are, one shown to the call
//! (and to ourselves, as a preview), muted, or none. A camera that goes
//! away (unplugged) turns itself off: its video ends.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};

use rtcstack::video::camera::{Camera, CameraError, CameraInfo, CameraService};
use rtcstack::video::{SwitchableVideoInput, VideoFormat, VideoInput, VideoSource, VideoSwitch};
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
    /// stops showing it (`None`); the view's `camera` and `camera_muted`
    /// say so once done. Stopped, the video stays published, muted, and
    /// the camera is let go (its light goes off), as in LiveKit's clients:
    /// showing one again needs no new track where its format is the one
    /// published. Opened before the old one stops: a refusal leaves things
    /// as they were.
    pub async fn show_camera(self: &Arc<Self>, id: Option<String>) -> Result<(), Sentence> {
        let turn = self.cameras_asked.fetch_add(1, Ordering::SeqCst) + 1;
        let Some(call) = self.current() else {
            return Err(Sentence::new("camera.notInCall"));
        };
        let view = self.published.snapshot();
        let Some(id) = id else {
            if let (Some(shown), false) = (view.camera, view.camera_muted) {
                self.mute_camera(&call, shown).await;
            }
            return Ok(());
        };
        let camera = tokio::task::spawn_blocking({
            let id = id.clone();
            move || Camera::open(&CameraService::session(), &id, WANT)
        })
        .await
        .map_err(Sentence::plain)?
        .map_err(|e| Sentence::new("camera.cannot").with_sentence("why", camera_trouble(e)))?;
        self.off_when_gone(
            camera.end(),
            (|c| &c.cameras_asked, turn),
            (Arc::clone(&call), VideoSource::Camera),
            |me, call| {
                me.camera_is(call, None, false);
                me.videos.forget(crate::video::PREVIEW);
            },
        );
        let camera: Box<dyn VideoInput> = Box::new(camera);
        let camera = match self.switch_of(&call) {
            // Off the async threads: the camera replaced closes as it goes.
            Some(switch) if view.camera.is_some() => {
                match tokio::task::spawn_blocking(move || switch.switch_to(camera))
                    .await
                    .map_err(Sentence::plain)?
                {
                    Ok(()) => {
                        call.set_video_muted(VideoSource::Camera, false).await;
                        self.camera_is(&call, Some(id), false);
                        return Ok(());
                    }
                    Err(camera) => camera,
                }
            }
            _ => camera,
        };
        if view.camera.is_some() {
            call.stop_video(VideoSource::Camera)
                .await
                .map_err(|e| Sentence::new("camera.notStopped").with("why", e))?;
            self.videos.forget(crate::video::PREVIEW);
        }
        let input = SwitchableVideoInput::new(camera);
        *self
            .camera_switch
            .lock()
            .unwrap_or_else(PoisonError::into_inner) =
            Some((Arc::downgrade(&call), input.switch()));
        let previewed = Previewed::new(input, Arc::clone(&self.videos));
        let shown = call
            .publish_video(Box::new(previewed), VideoSource::Camera)
            .await;
        self.camera_is(&call, shown.is_ok().then_some(id), false);
        shown
            .map(|_| ())
            .map_err(|e| Sentence::new("camera.failed").with("why", e))
    }

    /// Mutes the camera's video, then lets the device go: muted first, so
    /// no picture is taken from it meanwhile.
    async fn mute_camera(&self, call: &Arc<Call>, shown: String) {
        call.set_video_muted(VideoSource::Camera, true).await;
        if let Some(switch) = self.switch_of(call) {
            // Closing a device may wait on its service.
            let _ = tokio::task::spawn_blocking(move || switch.release()).await;
        }
        self.videos.forget(crate::video::PREVIEW);
        self.camera_is(call, Some(shown), true);
    }

    /// The switch of `call`'s camera video, if it is still published.
    fn switch_of(&self, call: &Arc<Call>) -> Option<VideoSwitch> {
        let held = self
            .camera_switch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let (of, switch) = held.as_ref()?;
        (std::ptr::eq(of.as_ptr(), Arc::as_ptr(call))).then(|| switch.clone())
    }

    /// Says which camera `call` shows now, and whether it is muted, if it
    /// is still the call: a join meanwhile starts with none.
    fn camera_is(&self, call: &Arc<Call>, camera: Option<String>, muted: bool) {
        if self.current().is_some_and(|c| Arc::ptr_eq(&c, call)) {
            let before = self.published.snapshot();
            let seen = |camera: &Option<String>, muted: bool| camera.is_some() && !muted;
            if seen(&before.camera, before.camera_muted) != seen(&camera, muted) {
                self.journal.note(Happened::Video {
                    source: "camera".into(),
                    on: seen(&camera, muted),
                });
            }
            self.published.change(|v| {
                v.camera = camera;
                v.camera_muted = muted;
            });
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
        CameraError::NotAllowed => Sentence::new("camera.notAllowed"),
    }
}
