//! The screen in a Wayland session: no application may read the screen
//! there, so the desktop's ScreenCast portal asks the user what to share
//! (its own dialog: a monitor or a window) and hands over a PipeWire remote
//! that shows only that stream, read as a camera is.

use ashpd::desktop::screencast::{
    CursorMode, OpenPipeWireRemoteOptions, Screencast, SelectSourcesOptions, SourceType,
    StartCastOptions,
};
use ashpd::desktop::{PersistMode, Session};

use super::{ScreenError, ShareEnd};
use crate::video::pipewire::{Open, PipeWireError, PipeWireVideo, Remote, Target};
use crate::video::{Arrivals, VideoFormat, VideoFrame, VideoInput};

/// A screen cast the desktop set up, being read. Dropping it closes the
/// portal's session, which ends the cast (the desktop's "sharing"
/// indicator goes).
pub struct PortalScreen {
    video: PipeWireVideo,
    session: Option<Session<Screencast>>,
}

impl PortalScreen {
    /// Asks the desktop (its dialog) for a monitor or a window to share,
    /// then reads it at `fps`. Blocks: call it off the async threads, within
    /// a tokio runtime.
    pub fn open(fps: u32) -> Result<PortalScreen, ScreenError> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|e| ScreenError::Unsupported(e.to_string()))?;
        let (fd, node, size, session) = runtime.block_on(ask(fps))?;
        let (width, height) = size.unwrap_or((1920, 1080));
        let video = PipeWireVideo::open(Open {
            remote: Remote::Fd(fd),
            target: Target::Node(node),
            role: "Screen",
            want: VideoFormat {
                width: width.max(2),
                height: height.max(2),
                fps,
            },
        })
        .map_err(|e| match e {
            PipeWireError::NoService(why) | PipeWireError::Refused(why) => {
                ScreenError::Unsupported(why)
            }
            PipeWireError::NoPicture(secs) => {
                ScreenError::Unsupported(format!("the desktop gave no picture within {secs} s"))
            }
        })?;
        Ok(PortalScreen {
            video,
            session: Some(session),
        })
    }

    /// Says when the desktop stopped the cast (its own Stop button, or the
    /// window shared closed).
    pub fn end(&self) -> ShareEnd {
        self.video.end()
    }
}

type Cast = (
    std::os::fd::OwnedFd,
    u32,
    Option<(u32, u32)>,
    Session<Screencast>,
);

/// The portal's dialog: one monitor or window, the cursor drawn in, not
/// remembered. The fd of the PipeWire remote, the stream's node and size.
async fn ask(_fps: u32) -> Result<Cast, ScreenError> {
    let portal_error = |e: ashpd::Error| match e {
        ashpd::Error::Response(ashpd::desktop::ResponseError::Cancelled) => ScreenError::Cancelled,
        e => ScreenError::Unsupported(format!("the desktop's screen-sharing portal: {e}")),
    };
    let portal = Screencast::new().await.map_err(portal_error)?;
    let session = portal
        .create_session(Default::default())
        .await
        .map_err(portal_error)?;
    let cursor = match portal.available_cursor_modes().await {
        Ok(modes) if modes.contains(CursorMode::Embedded) => CursorMode::Embedded,
        _ => CursorMode::Hidden,
    };
    portal
        .select_sources(
            &session,
            SelectSourcesOptions::default()
                .set_cursor_mode(cursor)
                .set_sources(SourceType::Monitor | SourceType::Window)
                .set_multiple(false)
                .set_persist_mode(PersistMode::DoNot),
        )
        .await
        .and_then(|request| request.response())
        .map_err(portal_error)?;
    let streams = portal
        .start(&session, None, StartCastOptions::default())
        .await
        .and_then(|request| request.response())
        .map_err(portal_error)?;
    let stream = streams
        .streams()
        .first()
        .ok_or_else(|| ScreenError::Unsupported("the desktop shared nothing".into()))?;
    let size = stream
        .size()
        .and_then(|(w, h)| Some((u32::try_from(w).ok()?, u32::try_from(h).ok()?)));
    let node = stream.pipe_wire_node_id();
    let fd = portal
        .open_pipe_wire_remote(&session, OpenPipeWireRemoteOptions::default())
        .await
        .map_err(portal_error)?;
    Ok((fd, node, size, session))
}

impl Drop for PortalScreen {
    fn drop(&mut self) {
        let Some(session) = self.session.take() else {
            return;
        };
        // Closing is a call on the bus: done on the runtime, not waited for.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                if let Err(e) = session.close().await {
                    tracing::debug!("the screen cast's session did not close: {e}");
                }
            });
        }
    }
}

impl VideoInput for PortalScreen {
    fn format(&self) -> VideoFormat {
        self.video.format()
    }

    fn next_frame(&mut self, out: &mut VideoFrame) {
        self.video.next_frame(out);
    }

    fn arrivals(&self) -> Option<Arrivals> {
        self.video.arrivals()
    }
}
