//! One reconnect attempt, as a task of its own: wait for the server to be
//! reachable, then resume the session or join a new one with everything the
//! user had (mute, the microphone).

use std::sync::Arc;
use std::time::SystemTime;

use super::engine::{Engine, Joined};
use super::Clock;
use crate::audio::io::SwitchableInput;
use crate::error::ConnectError;
use crate::room::RoomState;
use crate::supervisor::{AttemptError, AttemptKind};
use crate::video::io::{SharedVideoInput, VideoSource, VideosMuted};

/// How a successful attempt brought the call back.
pub(super) enum Recovered<S> {
    Resumed,
    /// A new session, muted as the call was when the attempt started
    /// (its microphone, and its videos of these sources).
    Rejoined {
        session: Arc<S>,
        muted: bool,
        videos_muted: VideosMuted,
    },
}

/// Everything an attempt needs, taken when it starts.
pub(super) struct AttemptJob<E: Engine> {
    pub(super) kind: AttemptKind,
    pub(super) engine: Arc<E>,
    pub(super) session: Option<Arc<E::Session>>,
    pub(super) room_before: Option<RoomState>,
    pub(super) token: String,
    pub(super) expires_at: Option<SystemTime>,
    pub(super) input: Option<SwitchableInput>,
    pub(super) videos: Vec<(SharedVideoInput, VideoSource)>,
    pub(super) muted: bool,
    pub(super) videos_muted: VideosMuted,
    pub(super) clock: Clock,
}

impl<E: Engine> AttemptJob<E> {
    pub(super) async fn recover(self) -> Result<Recovered<E::Session>, AttemptError> {
        // Nothing goes out until the server can be reached (the supervisor's
        // attempt timeout bounds this wait).
        self.engine.until_reachable().await;
        // The token may have expired while we waited: going on would be let
        // in only by the server's leeway, and leave the refresh for later.
        if self.expires_at.is_some_and(|exp| exp <= self.clock.now().1) {
            return Err(AttemptError::TokenExpired);
        }
        if self.kind == AttemptKind::Resume {
            if let Some(s) = &self.session {
                return s
                    .resume(self.clock.now().1)
                    .await
                    .map(|()| Recovered::Resumed);
            }
        }
        // A full rejoin: a new session, then everything the user had.
        if let Some(old) = &self.session {
            old.close().await;
        }
        let session = self
            .engine
            .join(&self.token, self.room_before.as_ref())
            .await
            .map_err(|e| match e {
                ConnectError::Unauthorized(_) => AttemptError::Unauthorized,
                ConnectError::TokenExpired => AttemptError::TokenExpired,
                _ => AttemptError::Retryable,
            })?;
        session.adopt().await;
        // Muted first, so the republished track starts muted: not one
        // frame of the microphone leaks out.
        if self.muted {
            session.set_muted(true).await;
        }
        for source in VideoSource::ALL {
            if self.videos_muted.of(source) {
                session.set_video_muted(source, true).await;
            }
        }
        if let Some(input) = self.input {
            session
                .publish_audio(Box::new(input))
                .await
                .map_err(|_| AttemptError::Retryable)?;
        }
        for (input, source) in self.videos {
            session
                .publish_video(input, source)
                .await
                .map_err(|_| AttemptError::Retryable)?;
        }
        Ok(Recovered::Rejoined {
            session: Arc::new(session),
            muted: self.muted,
            videos_muted: self.videos_muted,
        })
    }
}
