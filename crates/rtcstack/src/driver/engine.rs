//! What the driver asks of the engine: a join, and of a joined session the
//! work a reconnect does. The real engine in the SDK; a scripted one in the
//! driver's tests.

use std::future::Future;
use std::time::{Duration, SystemTime};

use crate::audio::io::AudioInput;
use crate::engine::{Session, Setup};
use crate::error::ConnectError;
use crate::room::RoomState;
use crate::supervisor::AttemptError;
use crate::video::io::{SharedVideoInput, VideoSource};

/// Joins a room.
pub(crate) trait Engine: Send + Sync + 'static {
    type Session: Joined;
    /// A new session with `token`; `previous` is the room as the last
    /// session knew it (a rejoin reconciles it instead of joining everyone
    /// again).
    fn join(
        &self,
        token: &str,
        previous: Option<&RoomState>,
    ) -> impl Future<Output = Result<Self::Session, ConnectError>> + Send;
    /// Returns once the server can be reached again.
    fn until_reachable(&self) -> impl Future<Output = ()> + Send;
}

/// A joined session.
pub(crate) trait Joined: Send + Sync + 'static {
    /// Which session this is: reports from a replaced one are dropped.
    fn id(&self) -> u64;
    /// A LiveKit resume of this session (signal and ICE restart); `now` is
    /// the call's wall clock (for the token's expiry).
    fn resume(&self, now: SystemTime) -> impl Future<Output = Result<(), AttemptError>> + Send;
    fn publish_audio(
        &self,
        input: Box<dyn AudioInput>,
    ) -> impl Future<Output = Result<String, ConnectError>> + Send;
    fn publish_video(
        &self,
        input: SharedVideoInput,
        source: VideoSource,
    ) -> impl Future<Output = Result<String, ConnectError>> + Send;
    /// Stops sending our videos of `source`.
    fn stop_video(
        &self,
        source: VideoSource,
    ) -> impl Future<Output = Result<(), ConnectError>> + Send;
    fn set_muted(&self, muted: bool) -> impl Future<Output = ()> + Send;
    /// Mutes or unmutes our videos of `source` (also those published later).
    fn set_video_muted(&self, source: VideoSource, muted: bool) -> impl Future<Output = ()> + Send;
    /// The call has taken this session on: what it held back goes out.
    fn adopt(&self) -> impl Future<Output = ()> + Send;
    fn room(&self) -> RoomState;
    /// Closes without a goodbye (the link is dead anyway).
    fn close(&self) -> impl Future<Output = ()> + Send;
    /// Says goodbye to the server and closes.
    fn leave(&self) -> impl Future<Output = ()> + Send;
}

/// The SDK's engine: joins as its setup says.
pub(crate) struct Live {
    pub(crate) setup: Setup,
}

impl Engine for Live {
    type Session = LiveSession;

    async fn join(
        &self,
        token: &str,
        previous: Option<&RoomState>,
    ) -> Result<LiveSession, ConnectError> {
        let session = Session::connect(&self.setup, token, previous).await?;
        Ok(LiveSession {
            session,
            step_timeout: self.setup.step_timeout,
        })
    }

    async fn until_reachable(&self) {
        crate::engine::reach::until_reachable(&self.setup.url).await
    }
}

/// An engine session with the deadline each of its steps gets.
pub(crate) struct LiveSession {
    pub(crate) session: Session,
    step_timeout: Duration,
}

impl Joined for LiveSession {
    fn id(&self) -> u64 {
        self.session.id()
    }

    async fn resume(&self, now: SystemTime) -> Result<(), AttemptError> {
        self.session.resume(self.step_timeout, now).await
    }

    async fn publish_audio(&self, input: Box<dyn AudioInput>) -> Result<String, ConnectError> {
        self.session.publish_audio(input, self.step_timeout).await
    }

    async fn publish_video(
        &self,
        input: SharedVideoInput,
        source: VideoSource,
    ) -> Result<String, ConnectError> {
        self.session
            .publish_video(input, source, self.step_timeout)
            .await
    }

    async fn stop_video(&self, source: VideoSource) -> Result<(), ConnectError> {
        self.session.stop_video(source, self.step_timeout).await
    }

    async fn set_muted(&self, muted: bool) {
        self.session.set_muted(muted).await
    }

    async fn set_video_muted(&self, source: VideoSource, muted: bool) {
        self.session.set_video_muted(source, muted).await
    }

    async fn adopt(&self) {
        self.session.adopt().await
    }

    fn room(&self) -> RoomState {
        self.session.room()
    }

    async fn close(&self) {
        self.session.close().await
    }

    async fn leave(&self) {
        self.session.leave().await
    }
}
