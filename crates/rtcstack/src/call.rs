//! The SDK's front door: `Call::new(CallOptions)`, `connect()`, state,
//! events, participants. A handle: the call's driver task owns everything
//! that changes (see `driver`); the handle sends it commands and reads
//! what it publishes.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};

use crate::audio::io::{AudioInput, AudioSink, NullSink, SwitchableInput, SwitchableSink};
use crate::driver::engine::{Live, LiveSession};
use crate::driver::{Clock, Command, Driver, Parts, Status};
use crate::engine::Setup;
use crate::error::ConnectError;
use crate::events::CallEvent;
use crate::room::Participant;
use crate::state::ConnectionState;
use crate::supervisor::{Input, ReconnectPolicy, Supervisor};
use crate::token::TokenRefresher;
use crate::video::encode::SendCodec;
use crate::video::io::{NullVideoSink, SharedVideoInput, VideoInput, VideoSink, VideoSource};
use crate::video::view::{VideoView, Views};

/// How to join.
#[derive(Clone)]
pub struct CallOptions {
    /// `ws://`, `wss://`, `http://` or `https://` URL of the LiveKit server.
    pub url: String,
    /// The access token.
    pub token: String,
    /// Deadline for each step of a join.
    pub connect_timeout: Duration,
    /// Where remote audio goes.
    pub audio_sink: Arc<dyn AudioSink>,
    /// Where remote video goes, decoded.
    pub video_sink: Arc<dyn VideoSink>,
    /// How to recover from a lost link.
    pub reconnect_policy: ReconnectPolicy,
    /// Where new tokens come from; without one, a call whose token expires
    /// during an outage ends with `TokenExpired`.
    pub token_refresher: Option<Arc<dyn TokenRefresher>>,
    /// Ask for LiveKit's single-peer-connection mode (`/rtc/v1`): one
    /// connection both ways, the first offer inside the join request. A
    /// server without it is joined with two connections either way.
    pub single_peer_connection: bool,
    /// Receive everyone's tracks (LiveKit's auto-subscribe). Off for a
    /// participant that only publishes, such as a load generator's.
    pub auto_subscribe: bool,
    /// The codec our videos are sent in (VP8 unless set).
    pub video_codec: SendCodec,
}

impl CallOptions {
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        CallOptions {
            url: url.into(),
            token: token.into(),
            connect_timeout: Duration::from_secs(10),
            audio_sink: Arc::new(NullSink),
            video_sink: Arc::new(NullVideoSink),
            reconnect_policy: ReconnectPolicy::default(),
            token_refresher: None,
            single_peer_connection: true,
            auto_subscribe: true,
            video_codec: SendCodec::default(),
        }
    }
}

impl std::fmt::Debug for CallOptions {
    // The token is a secret: it never reaches a log through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOptions")
            .field("url", &self.url)
            .field("token", &"<redacted>")
            .field("connect_timeout", &self.connect_timeout)
            .field("reconnect_policy", &self.reconnect_policy)
            .field("token_refresher", &self.token_refresher.is_some())
            .field("single_peer_connection", &self.single_peer_connection)
            .field("auto_subscribe", &self.auto_subscribe)
            .field("video_codec", &self.video_codec)
            .finish()
    }
}

/// A call in one room.
pub struct Call {
    url: String,
    commands: mpsc::UnboundedSender<Command>,
    status: watch::Receiver<Status<LiveSession>>,
    output: Arc<SwitchableSink>,
    /// How each remote video is shown; every session applies it.
    views: Arc<Views>,
    /// The microphone slot we publish from (the driver republishes the
    /// same slot after a rejoin); swapping what feeds it needs no driver.
    input: Mutex<Option<SwitchableInput>>,
    /// The driver, until the first `connect` or `leave` starts it.
    driver: Mutex<Option<Driver<Live>>>,
}

impl Call {
    /// A call that has not joined yet, and the stream of its events.
    pub fn new(options: CallOptions) -> (Self, mpsc::UnboundedReceiver<CallEvent>) {
        let (events, events_rx) = mpsc::unbounded_channel();
        let (signals_tx, signals) = mpsc::unbounded_channel();
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let output = Arc::new(SwitchableSink::new(Arc::clone(&options.audio_sink)));
        let views = Arc::new(Views::default());
        let policy = options.reconnect_policy.clone();
        let engine = Live {
            setup: Setup {
                url: options.url.clone(),
                step_timeout: options.connect_timeout,
                events: events.clone(),
                driver: signals_tx,
                sink: Arc::clone(&output) as Arc<dyn AudioSink>,
                video_sink: Arc::clone(&options.video_sink),
                views: Arc::clone(&views),
                single_peer_connection: options.single_peer_connection,
                auto_subscribe: options.auto_subscribe,
                video_codec: options.video_codec,
            },
        };
        let (driver, status) = Driver::new(Parts {
            engine,
            url: options.url.clone(),
            token: options.token,
            supervisor: Supervisor::new(
                policy.clone(),
                options.token_refresher.is_some(),
                rand::random(),
            ),
            clock: Clock::System,
            refresher: options.token_refresher,
            refresh_timeout: policy.refresh_timeout,
            events,
            commands,
            signals,
        });
        let call = Call {
            url: options.url,
            commands: commands_tx,
            status,
            output,
            views,
            input: Mutex::new(None),
            driver: Mutex::new(Some(driver)),
        };
        (call, events_rx)
    }

    pub fn connection_state(&self) -> ConnectionState {
        self.status.borrow().state
    }

    /// The server URL the call joins (for an app's network monitor, which
    /// watches the path to it).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// When the current token expires (from its `exp` claim).
    pub fn token_expires_at(&self) -> Option<SystemTime> {
        self.status.borrow().expires_at
    }

    fn session(&self) -> Option<Arc<LiveSession>> {
        self.status.borrow().session.clone()
    }

    /// Starts the driver (once) and hands it `command`; false if the call
    /// has ended.
    fn send(&self, command: Command) -> bool {
        let mut driver = self.driver.lock().expect("driver lock");
        // A hint from a thread outside any runtime before the call joined
        // waits in the queue for the driver `connect` starts.
        if let (Some(_), Ok(runtime)) = (&*driver, tokio::runtime::Handle::try_current()) {
            if let Some(d) = driver.take() {
                runtime.spawn(d.run());
            }
        }
        drop(driver);
        self.commands.send(command).is_ok()
    }

    /// Joins the room. Bad input fails fast with a specific error; a server
    /// that does not answer fails within the connect timeout.
    pub async fn connect(&self) -> Result<(), ConnectError> {
        let (reply, answer) = oneshot::channel();
        if !self.send(Command::Connect(reply)) {
            return Err(ConnectError::Closed);
        }
        answer.await.unwrap_or(Err(ConnectError::Closed))
    }

    /// Publishes a microphone track fed by `input`; returns the track sid.
    pub async fn publish_audio(&self, input: Box<dyn AudioInput>) -> Result<String, ConnectError> {
        let input = SwitchableInput::new(input);
        *self.input.lock().expect("input lock") = Some(input.clone());
        let (reply, answer) = oneshot::channel();
        if !self.send(Command::Publish { input, reply }) {
            return Err(ConnectError::Closed);
        }
        answer.await.unwrap_or(Err(ConnectError::Closed))
    }

    /// Publishes a video track (a camera, or a shared screen) fed by
    /// `input`, VP8 in simulcast layers; returns the track sid. A rejoin
    /// publishes it again.
    pub async fn publish_video(
        &self,
        input: Box<dyn VideoInput>,
        source: VideoSource,
    ) -> Result<String, ConnectError> {
        let (reply, answer) = oneshot::channel();
        let input = SharedVideoInput::new(input);
        if !self.send(Command::PublishVideo {
            input,
            source,
            reply,
        }) {
            return Err(ConnectError::Closed);
        }
        answer.await.unwrap_or(Err(ConnectError::Closed))
    }

    /// Stops publishing our videos of `source` (the camera, or the shared
    /// screen): their tracks end for everyone, and a rejoin does not
    /// publish them again.
    pub async fn stop_video(&self, source: VideoSource) -> Result<(), ConnectError> {
        let (reply, answer) = oneshot::channel();
        if !self.send(Command::StopVideo { source, reply }) {
            return Err(ConnectError::Closed);
        }
        answer.await.unwrap_or(Err(ConnectError::Closed))
    }

    /// Mutes or unmutes our videos of `source` (the camera, or the shared
    /// screen): a muted one stays published and sends nothing, everyone
    /// sees it muted, and it survives reconnects. Stopping a source ends
    /// its mute (started again, it is shown).
    pub async fn set_video_muted(&self, source: VideoSource, muted: bool) {
        let (reply, done) = oneshot::channel();
        if self.send(Command::SetVideoMuted {
            source,
            muted,
            reply,
        }) {
            let _ = done.await;
        }
    }

    /// Switches where remote audio plays (another speaker), mid-call.
    pub fn set_audio_output(&self, sink: Arc<dyn AudioSink>) {
        self.output.replace(sink);
    }

    /// Switches the microphone mid-call; false if nothing is published.
    pub fn set_audio_input(&self, input: Box<dyn AudioInput>) -> bool {
        match self.input.lock().expect("input lock").as_ref() {
            Some(current) => {
                current.replace(input);
                true
            }
            None => false,
        }
    }

    /// Mutes or unmutes our microphone; everyone sees the change, and it
    /// survives reconnects.
    pub async fn set_muted(&self, muted: bool) {
        let (reply, done) = oneshot::channel();
        if self.send(Command::SetMuted(muted, reply)) {
            let _ = done.await;
        }
    }

    /// How a remote video (by track sid) is shown: the server sends the
    /// layer that fits, or pauses it while hidden. Kept through reconnects.
    pub async fn show_video(&self, track_sid: &str, view: VideoView) {
        if !self.views.set(track_sid, view) {
            return;
        }
        if let Some(s) = self.session() {
            s.session.show_video(track_sid, view).await;
        }
    }

    /// Everyone else in the room.
    pub fn participants(&self) -> Vec<Participant> {
        let status = self.status.borrow();
        if let Some(s) = &status.session {
            return s.session.participants();
        }
        // Mid-rejoin: everyone as we last knew them, not an empty room.
        status
            .room_before
            .as_ref()
            .map(|r| r.participants().cloned().collect())
            .unwrap_or_default()
    }

    /// Us, as the server sees us (including our connection quality).
    pub fn local_participant(&self) -> Option<Participant> {
        self.session().and_then(|s| s.session.local_participant())
    }

    /// The path media takes now (each connection's selected ICE pair);
    /// `None` between sessions.
    pub async fn media_paths(&self) -> Option<crate::MediaPaths> {
        Some(self.session()?.session.media_paths().await)
    }

    /// WebRTC's statistics of the call now (paths, round trip, each
    /// stream's counters); `None` between sessions. [`crate::rates::Rates`]
    /// turns successive ones into rates.
    pub async fn counters(&self) -> Option<crate::CallCounters> {
        Some(self.session()?.session.counters().await)
    }

    /// Simulates a fault on the live call (tests, support tools).
    pub async fn simulate(&self, scenario: crate::Scenario) {
        if let Some(s) = self.session() {
            s.session.simulate(scenario).await;
        }
    }

    /// The OS is about to sleep: no attempts until it wakes.
    pub fn sleeping(&self) {
        self.send(Command::Hint(Input::Sleep));
    }

    /// The OS woke up: probe and recover at once. (Not a LiveKit resume:
    /// whether the call resumes or rejoins is the supervisor's choice.)
    pub fn woke(&self) {
        self.send(Command::Hint(Input::Wake));
    }

    /// The user asked to retry now: the waiting attempt starts at once.
    pub fn retry_now(&self) {
        self.send(Command::Hint(Input::RetryNow));
    }

    /// The network changed: recover now instead of waiting for a timeout.
    pub fn network_changed(&self) {
        self.send(Command::Hint(Input::NetworkChanged));
    }

    /// Leaves the room; returns once the server has been told.
    pub async fn leave(&self) {
        let (reply, done) = oneshot::channel();
        if self.send(Command::Leave(reply)) {
            let _ = done.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_scheme_or_host_are_refused() {
        use crate::driver::check_url;
        assert!(check_url("ws://localhost:7880").is_ok());
        assert!(check_url("https://example.livekit.cloud").is_ok());
        for bad in ["localhost:7880", "ftp://x", "ws://", "ws:///path", ""] {
            assert!(
                matches!(check_url(bad), Err(ConnectError::InvalidUrl(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_never_shows_the_token() {
        let o = CallOptions::new("ws://h", "secret-token-value");
        assert!(!format!("{o:?}").contains("secret-token-value"));
    }

    #[tokio::test]
    async fn malformed_and_expired_tokens_fail_before_any_network() {
        // Port 9 on loopback: nothing listens; we must not even try.
        let (call, _rx) = Call::new(CallOptions::new("ws://127.0.0.1:9", "nonsense"));
        assert!(matches!(
            call.connect().await,
            Err(ConnectError::MalformedToken(_))
        ));
        assert_eq!(call.connection_state(), ConnectionState::Idle);
    }
}
