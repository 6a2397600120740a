//! A camera read from PipeWire: one of its video sources, listed by name
//! and read through the shared PipeWire reader.

use super::{CameraError, CameraInfo, CameraService};
use crate::video::pipewire::{
    self as pw_video, Open, PipeWireError, PipeWireVideo, Remote, Target,
};
use crate::video::screen::ShareEnd;
use crate::video::{Arrivals, VideoFormat, VideoFrame, VideoInput};

/// A camera being read. Dropping it stops the stream.
pub struct PipeWireCamera(PipeWireVideo);

fn remote(service: &CameraService) -> Remote {
    Remote::Session(service.socket().map(ToOwned::to_owned))
}

fn trouble(e: PipeWireError) -> CameraError {
    match e {
        PipeWireError::NoService(why) => CameraError::NoService(why),
        PipeWireError::NoPicture(secs) => CameraError::NoPicture(secs),
        PipeWireError::Refused(why) => CameraError::Refused(why),
    }
}

impl PipeWireCamera {
    /// The cameras PipeWire knows now (its video sources).
    pub fn list(service: &CameraService) -> Result<Vec<CameraInfo>, CameraError> {
        let nodes = pw_video::nodes(remote(service)).map_err(trouble)?;
        Ok(nodes
            .iter()
            .filter_map(|n| {
                camera_of(|key| match key {
                    "media.class" => n.class.as_deref(),
                    "node.name" => n.name.as_deref(),
                    "node.description" => n.description.as_deref(),
                    "node.nick" => n.nick.as_deref(),
                    _ => None,
                })
            })
            .collect())
    }

    /// Starts reading the camera `id` (a [`CameraInfo::id`]), asking for
    /// `want`'s size and rate; the camera may give another size, which is
    /// then this input's format. Returns once its format is agreed.
    pub fn open(
        service: &CameraService,
        id: &str,
        want: VideoFormat,
    ) -> Result<PipeWireCamera, CameraError> {
        if !Self::list(service)?.iter().any(|c| c.id == id) {
            return Err(CameraError::NotFound);
        }
        PipeWireVideo::open(Open {
            remote: remote(service),
            target: Target::Name(id.to_owned()),
            role: "Camera",
            want,
        })
        .map(PipeWireCamera)
        .map_err(trouble)
    }

    /// Says when the camera is gone (unplugged, or taken away by the
    /// system): its picture would never change again.
    pub fn end(&self) -> ShareEnd {
        self.0.end()
    }
}

impl VideoInput for PipeWireCamera {
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

/// A node's properties as a camera, if it is one: a video source (what
/// WirePlumber makes of each V4L2 or libcamera device; a screen cast's
/// stream is a "Stream/Output/Video" and is left out).
fn camera_of<'a>(prop: impl Fn(&str) -> Option<&'a str>) -> Option<CameraInfo> {
    if prop("media.class")? != "Video/Source" {
        return None;
    }
    let id = prop("node.name")?.to_owned();
    let name = ["node.description", "node.nick"]
        .into_iter()
        .find_map(|key| prop(key).filter(|n| !n.trim().is_empty()))
        .unwrap_or(&id)
        .to_owned();
    Some(CameraInfo { id, name })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_source_is_a_camera_and_named_as_its_description_says() {
        let props = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        };
        assert_eq!(
            camera_of(props(&[
                ("media.class", "Video/Source"),
                ("node.name", "v4l2_input.pci-0000_00_14.0-usb-0_1_1.0"),
                ("node.description", "Integrated Camera"),
            ])),
            Some(CameraInfo {
                id: "v4l2_input.pci-0000_00_14.0-usb-0_1_1.0".into(),
                name: "Integrated Camera".into()
            })
        );
        // No description: the nick, then the node's name.
        assert_eq!(
            camera_of(props(&[
                ("media.class", "Video/Source"),
                ("node.name", "cam")
            ]))
            .map(|c| c.name),
            Some("cam".into())
        );
        // A screen cast's stream and a microphone are not cameras.
        for class in ["Stream/Output/Video", "Audio/Source"] {
            assert_eq!(
                camera_of(props(if class == "Audio/Source" {
                    &[("media.class", "Audio/Source"), ("node.name", "mic")]
                } else {
                    &[
                        ("media.class", "Stream/Output/Video"),
                        ("node.name", "cast"),
                    ]
                })),
                None
            );
        }
    }
}
