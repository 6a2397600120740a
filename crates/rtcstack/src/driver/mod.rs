//! The call's driver: one task that alone owns the supervisor, the session,
//! the token and what we publish. Commands from the `Call` handle, engine
//! reports, OS hints and the clock go in; attempts and refreshes run as
//! tasks it can abort; events go out, and the state is published through a
//! watch the handle reads.

mod attempt;
mod clock;
pub(crate) mod engine;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::audio::io::SwitchableInput;
use crate::engine::EngineSignal;
use crate::error::ConnectError;
use crate::events::{CallEvent, DisconnectReason};
use crate::room::RoomState;
use crate::state::ConnectionState;
use crate::supervisor::{Action, AttemptError, AttemptKind, Input, Supervisor};
use crate::token::{self, Freshness, RefreshError, TokenRefresher};
use crate::video::io::{SharedVideoInput, VideoSource, VideosMuted};
use attempt::{AttemptJob, Recovered};
pub(crate) use clock::Clock;
use engine::{Engine, Joined};

/// What the handle asks of the driver.
pub(crate) enum Command {
    Connect(ConnectReply),
    Publish {
        input: SwitchableInput,
        reply: oneshot::Sender<Result<String, ConnectError>>,
    },
    PublishVideo {
        input: SharedVideoInput,
        source: VideoSource,
        reply: oneshot::Sender<Result<String, ConnectError>>,
    },
    /// Stops our videos of a source (a rejoin does not publish them again).
    StopVideo {
        source: VideoSource,
        reply: oneshot::Sender<Result<(), ConnectError>>,
    },
    SetMuted(bool, oneshot::Sender<()>),
    /// Mutes or unmutes our videos of a source (kept through reconnects).
    SetVideoMuted {
        source: VideoSource,
        muted: bool,
        reply: oneshot::Sender<()>,
    },
    /// The OS or the user: sleep, wake, a network change, retry now.
    Hint(Input),
    Leave(oneshot::Sender<()>),
}

/// What the handle reads: the driver is its only writer.
pub(crate) struct Status<S> {
    pub(crate) state: ConnectionState,
    pub(crate) expires_at: Option<SystemTime>,
    pub(crate) session: Option<Arc<S>>,
    /// The room as the last session knew it, while a rejoin has no session.
    pub(crate) room_before: Option<RoomState>,
}

type AttemptResult<S> = (u32, Result<Recovered<S>, AttemptError>);
type ConnectReply = oneshot::Sender<Result<(), ConnectError>>;
type RefreshResult = (u64, Result<String, RefreshError>);

pub(crate) struct Driver<E: Engine> {
    engine: Arc<E>,
    url: String,
    sup: Supervisor,
    clock: Clock,
    refresher: Option<Arc<dyn TokenRefresher>>,
    refresh_timeout: Duration,
    token: String,
    expires_at: Option<SystemTime>,
    state: ConnectionState,
    session: Option<Arc<E::Session>>,
    room_before: Option<RoomState>,
    /// What we publish, kept to republish after a rejoin.
    input: Option<SwitchableInput>,
    /// Our videos (cameras, screens), to republish after a rejoin.
    videos: Vec<(SharedVideoInput, VideoSource)>,
    muted: bool,
    videos_muted: VideosMuted,
    events: mpsc::UnboundedSender<CallEvent>,
    status: watch::Sender<Status<E::Session>>,
    commands: mpsc::UnboundedReceiver<Command>,
    signals: mpsc::UnboundedReceiver<(u64, EngineSignal)>,
    /// The first join, and who waits for it.
    /// The first join in progress, and everyone waiting for its result.
    joining: Option<(JoinHandle<()>, Vec<ConnectReply>)>,
    joined_tx: mpsc::UnboundedSender<Result<E::Session, ConnectError>>,
    joined_rx: mpsc::UnboundedReceiver<Result<E::Session, ConnectError>>,
    /// The attempt in flight, by number: a late report of an aborted one
    /// is not credited to its successor.
    attempt: Option<(u32, JoinHandle<()>)>,
    attempt_tx: mpsc::UnboundedSender<AttemptResult<E::Session>>,
    attempt_rx: mpsc::UnboundedReceiver<AttemptResult<E::Session>>,
    /// Refreshes are numbered the same way.
    refresh: Option<(u64, JoinHandle<()>)>,
    refreshes: u64,
    refresh_tx: mpsc::UnboundedSender<RefreshResult>,
    refresh_rx: mpsc::UnboundedReceiver<RefreshResult>,
}

/// The parts a driver is built from.
pub(crate) struct Parts<E: Engine> {
    pub(crate) engine: E,
    pub(crate) url: String,
    pub(crate) token: String,
    pub(crate) supervisor: Supervisor,
    pub(crate) clock: Clock,
    pub(crate) refresher: Option<Arc<dyn TokenRefresher>>,
    pub(crate) refresh_timeout: Duration,
    pub(crate) events: mpsc::UnboundedSender<CallEvent>,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) signals: mpsc::UnboundedReceiver<(u64, EngineSignal)>,
}

/// One thing that happened, for the loop to handle.
enum Woke<S> {
    Command(Option<Command>),
    Signal(u64, EngineSignal),
    Joined(Result<S, ConnectError>),
    Attempt(AttemptResult<S>),
    Refresh(RefreshResult),
    Timer,
}

impl<E: Engine> Driver<E> {
    pub(crate) fn new(parts: Parts<E>) -> (Self, watch::Receiver<Status<E::Session>>) {
        let expires_at = token::inspect(&parts.token).ok().map(|t| t.expires_at);
        let (status, status_rx) = watch::channel(Status {
            state: ConnectionState::Idle,
            expires_at,
            session: None,
            room_before: None,
        });
        let (joined_tx, joined_rx) = mpsc::unbounded_channel();
        let (attempt_tx, attempt_rx) = mpsc::unbounded_channel();
        let (refresh_tx, refresh_rx) = mpsc::unbounded_channel();
        let driver = Driver {
            engine: Arc::new(parts.engine),
            url: parts.url,
            sup: parts.supervisor,
            clock: parts.clock,
            refresher: parts.refresher,
            refresh_timeout: parts.refresh_timeout,
            token: parts.token,
            expires_at,
            state: ConnectionState::Idle,
            session: None,
            room_before: None,
            input: None,
            videos: Vec::new(),
            muted: false,
            videos_muted: VideosMuted::default(),
            events: parts.events,
            status,
            commands: parts.commands,
            signals: parts.signals,
            joining: None,
            joined_tx,
            joined_rx,
            attempt: None,
            attempt_tx,
            attempt_rx,
            refresh: None,
            refreshes: 0,
            refresh_tx,
            refresh_rx,
        };
        (driver, status_rx)
    }

    /// Runs until the call has ended.
    pub(crate) async fn run(mut self) {
        loop {
            let woke = self.next().await;
            let actions = match woke {
                Woke::Command(Some(c)) => self.on_command(c).await,
                // The handle is gone: nobody can leave any more, so we do.
                Woke::Command(None) => self.leave().await,
                Woke::Signal(id, s) => self.on_signal(id, s),
                Woke::Joined(r) => self.on_joined(r).await,
                Woke::Attempt((n, r)) => self.on_attempt(n, r).await,
                Woke::Refresh((n, r)) => self.on_refresh(n, r),
                Woke::Timer => self.tick(),
            };
            self.carry_out(actions).await;
            if self.state == ConnectionState::Disconnected {
                self.stop_tasks();
                return;
            }
        }
    }

    async fn next(&mut self) -> Woke<E::Session> {
        let timeout = self.sup.poll_timeout();
        tokio::select! {
            c = self.commands.recv() => Woke::Command(c),
            Some((id, s)) = self.signals.recv() => Woke::Signal(id, s),
            Some(r) = self.joined_rx.recv() => Woke::Joined(r),
            Some(r) = self.attempt_rx.recv() => Woke::Attempt(r),
            Some(r) = self.refresh_rx.recv() => Woke::Refresh(r),
            _ = sleep_until(timeout) => Woke::Timer,
        }
    }

    fn feed(&mut self, input: Input) -> Vec<Action> {
        let (now, wall) = self.clock.now();
        self.sup.handle(input, now, wall);
        self.drain()
    }

    fn tick(&mut self) -> Vec<Action> {
        let (now, wall) = self.clock.now();
        self.sup.handle_timeout(now, wall);
        self.drain()
    }

    fn drain(&mut self) -> Vec<Action> {
        std::iter::from_fn(|| self.sup.poll_action()).collect()
    }

    async fn on_command(&mut self, command: Command) -> Vec<Action> {
        match command {
            Command::Connect(reply) => self.connect(reply),
            Command::Publish { input, reply } => {
                match &self.session {
                    Some(s) => {
                        self.input = Some(input.clone());
                        let s = Arc::clone(s);
                        // Publishing waits on the server; the driver must
                        // not, or a lost link would wait behind it.
                        tokio::spawn(async move {
                            let _ = reply.send(s.publish_audio(Box::new(input)).await);
                        });
                    }
                    None => {
                        let _ = reply.send(Err(ConnectError::Closed));
                    }
                }
                Vec::new()
            }
            Command::PublishVideo {
                input,
                source,
                reply,
            } => {
                match &self.session {
                    Some(s) => {
                        self.videos.push((input.clone(), source));
                        let s = Arc::clone(s);
                        tokio::spawn(async move {
                            let _ = reply.send(s.publish_video(input, source).await);
                        });
                    }
                    None => {
                        let _ = reply.send(Err(ConnectError::Closed));
                    }
                }
                Vec::new()
            }
            Command::StopVideo { source, reply } => {
                self.videos.retain(|(_, s)| *s != source);
                // Started again, it is shown.
                self.videos_muted.set(source, false);
                match &self.session {
                    Some(s) => {
                        let s = Arc::clone(s);
                        tokio::spawn(async move {
                            let _ = reply.send(s.stop_video(source).await);
                        });
                    }
                    // Between sessions: the rejoin will not publish it.
                    None => {
                        let _ = reply.send(Ok(()));
                    }
                }
                Vec::new()
            }
            Command::SetMuted(muted, reply) => {
                self.muted = muted;
                if let Some(s) = &self.session {
                    s.set_muted(muted).await;
                }
                let _ = reply.send(());
                Vec::new()
            }
            Command::SetVideoMuted {
                source,
                muted,
                reply,
            } => {
                self.videos_muted.set(source, muted);
                if let Some(s) = &self.session {
                    s.set_video_muted(source, muted).await;
                }
                let _ = reply.send(());
                Vec::new()
            }
            Command::Hint(hint) => self.feed(hint),
            Command::Leave(reply) => {
                let actions = self.leave().await;
                let _ = reply.send(());
                actions
            }
        }
    }

    /// The first join: bad input fails at once, before any network.
    fn connect(&mut self, reply: ConnectReply) -> Vec<Action> {
        if let Some((_, waiting)) = &mut self.joining {
            // A second connect while the first join runs gets its result.
            waiting.push(reply);
            return Vec::new();
        }
        if self.session.is_some() {
            let _ = reply.send(Ok(()));
            return Vec::new();
        }
        if let Err(e) = self.check_input() {
            let _ = reply.send(Err(e));
            return Vec::new();
        }
        let actions = self.feed(Input::Connect);
        let engine = Arc::clone(&self.engine);
        let token = self.token.clone();
        let tx = self.joined_tx.clone();
        let task = tokio::spawn(async move {
            let _ = tx.send(engine.join(&token, None).await);
        });
        self.joining = Some((task, vec![reply]));
        actions
    }

    fn check_input(&self) -> Result<(), ConnectError> {
        check_url(&self.url)?;
        let info = token::inspect(&self.token)?;
        let (_, wall) = self.clock.now();
        if token::freshness(info.expires_at, wall, Duration::ZERO) == Freshness::Expired {
            return Err(ConnectError::TokenExpired);
        }
        Ok(())
    }

    async fn on_joined(&mut self, result: Result<E::Session, ConnectError>) -> Vec<Action> {
        let Some((_, replies)) = self.joining.take() else {
            return Vec::new(); // the user left while it joined
        };
        match result {
            Ok(session) => {
                // A mute asked for before the join holds from the start.
                if self.muted {
                    session.set_muted(true).await;
                }
                self.session = Some(Arc::new(session));
                self.publish_status();
                let mut actions = match self.expires_at {
                    Some(expires_at) => self.feed(Input::TokenChanged { expires_at }),
                    None => Vec::new(),
                };
                actions.extend(self.feed(Input::Joined));
                for reply in replies {
                    let _ = reply.send(Ok(()));
                }
                actions
            }
            Err(e) => {
                let reason = match e {
                    ConnectError::Unauthorized(_) => DisconnectReason::Unauthorized,
                    ConnectError::TokenExpired => DisconnectReason::TokenExpired,
                    _ => DisconnectReason::JoinFailure,
                };
                let actions = self.feed(Input::JoinFailed(reason));
                for reply in replies {
                    let _ = reply.send(Err(e.clone()));
                }
                actions
            }
        }
    }

    fn on_signal(&mut self, id: u64, signal: EngineSignal) -> Vec<Action> {
        if self.session.as_ref().is_none_or(|s| s.id() != id) {
            return Vec::new(); // a session we replaced or gave up on
        }
        match signal {
            EngineSignal::LinkLost => self.feed(Input::LinkLost),
            EngineSignal::Leave(action) => self.feed(Input::ServerLeave(action)),
            EngineSignal::TokenRefreshed(token) => match self.check_new_token(&token) {
                Ok(info) => {
                    self.use_token(token, &info);
                    self.feed(Input::TokenChanged {
                        expires_at: info.expires_at,
                    })
                }
                Err(e) => {
                    tracing::warn!("ignored the server's refreshed token: {e}");
                    Vec::new()
                }
            },
        }
    }

    async fn on_attempt(
        &mut self,
        n: u32,
        result: Result<Recovered<E::Session>, AttemptError>,
    ) -> Vec<Action> {
        if self.attempt.as_ref().is_none_or(|(m, _)| *m != n) {
            return Vec::new(); // an aborted attempt reporting late
        }
        self.attempt = None;
        match result {
            Ok(Recovered::Resumed) => self.feed(Input::AttemptSucceeded),
            Ok(Recovered::Rejoined {
                session,
                muted,
                videos_muted,
            }) => {
                // The user may have changed the mute while it joined.
                if muted != self.muted {
                    session.set_muted(self.muted).await;
                }
                for source in VideoSource::ALL {
                    let now = self.videos_muted.of(source);
                    if videos_muted.of(source) != now {
                        session.set_video_muted(source, now).await;
                    }
                }
                self.session = Some(session);
                self.room_before = None;
                self.publish_status();
                self.feed(Input::AttemptSucceeded)
            }
            Err(e) => self.feed(Input::AttemptFailed(e)),
        }
    }

    fn on_refresh(&mut self, n: u64, result: Result<String, RefreshError>) -> Vec<Action> {
        if self.refresh.as_ref().is_none_or(|(m, _)| *m != n) {
            return Vec::new(); // a replaced refresh reporting late
        }
        self.refresh = None;
        match result.and_then(|t| self.check_new_token(&t).map(|info| (t, info))) {
            Ok((token, info)) => {
                tracing::debug!("token refreshed");
                self.use_token(token, &info);
                self.feed(Input::RefreshSucceeded {
                    expires_at: info.expires_at,
                })
            }
            Err(e) => self.feed(Input::RefreshFailed {
                transient: matches!(e, RefreshError::Unavailable(_) | RefreshError::Timeout(_)),
                reason: e.to_string(),
            }),
        }
    }

    async fn leave(&mut self) -> Vec<Action> {
        if let Some((task, replies)) = self.joining.take() {
            task.abort();
            for reply in replies {
                let _ = reply.send(Err(ConnectError::Closed));
            }
        }
        self.stop_tasks();
        if let Some(s) = self.session.take() {
            s.leave().await;
        }
        self.publish_status();
        self.feed(Input::Leave)
    }

    /// Whether `token` can replace the one in use (same identity and room,
    /// not expired).
    fn check_new_token(&self, token: &str) -> Result<token::TokenInfo, RefreshError> {
        let current =
            token::inspect(&self.token).map_err(|e| RefreshError::BadToken(e.to_string()))?;
        token::check_replacement(token, &current, self.clock.now().1)
    }

    fn use_token(&mut self, token: String, info: &token::TokenInfo) {
        self.token = token;
        self.expires_at = Some(info.expires_at);
        self.publish_status();
    }

    fn publish_status(&self) {
        self.status.send_replace(Status {
            state: self.state,
            expires_at: self.expires_at,
            session: self.session.clone(),
            room_before: self.room_before.clone(),
        });
    }

    async fn carry_out(&mut self, actions: Vec<Action>) {
        for action in actions {
            match action {
                Action::Emit(e) => {
                    if let CallEvent::ConnectionStateChanged { state } = &e {
                        // Published before the event: whoever reacts to it
                        // reads the new state.
                        self.state = *state;
                        self.publish_status();
                    }
                    let _ = self.events.send(e);
                }
                Action::Close => {
                    if let Some(s) = self.session.take() {
                        s.close().await;
                    }
                    self.publish_status();
                }
                Action::StartAttempt { kind, attempt } => self.start_attempt(kind, attempt),
                Action::AbortAttempt => {
                    if let Some((_, h)) = self.attempt.take() {
                        h.abort();
                    }
                }
                Action::RefreshToken => self.start_refresh(),
            }
        }
    }

    fn start_attempt(&mut self, kind: AttemptKind, attempt: u32) {
        tracing::debug!("reconnect attempt {attempt}: {kind:?}");
        let session = match kind {
            AttemptKind::Resume => self.session.clone(),
            // A rejoin replaces the session: until it succeeds, the room
            // is the old one's last view.
            AttemptKind::Rejoin => {
                let old = self.session.take();
                if let Some(old) = &old {
                    self.room_before = Some(old.room());
                }
                self.publish_status();
                old
            }
        };
        let job = AttemptJob {
            kind,
            engine: Arc::clone(&self.engine),
            session,
            room_before: self.room_before.clone(),
            token: self.token.clone(),
            expires_at: self.expires_at,
            input: self.input.clone(),
            videos: self.videos.clone(),
            muted: self.muted,
            videos_muted: self.videos_muted,
            clock: self.clock,
        };
        let tx = self.attempt_tx.clone();
        let task = tokio::spawn(async move {
            let _ = tx.send((attempt, job.recover().await));
        });
        if let Some((_, old)) = self.attempt.replace((attempt, task)) {
            old.abort();
        }
    }

    fn start_refresh(&mut self) {
        let Some(refresher) = self.refresher.clone() else {
            return;
        };
        tracing::debug!("refreshing the token");
        // The supervisor keeps the deadline; this one only stops a hung
        // refresher from lingering.
        let limit = self.refresh_timeout;
        let tx = self.refresh_tx.clone();
        self.refreshes += 1;
        let n = self.refreshes;
        let task = tokio::spawn(async move {
            let result = tokio::time::timeout(limit, refresher.refresh())
                .await
                .unwrap_or(Err(RefreshError::Timeout(limit)));
            let _ = tx.send((n, result));
        });
        if let Some((_, old)) = self.refresh.replace((n, task)) {
            old.abort();
        }
    }

    fn stop_tasks(&mut self) {
        if let Some((_, h)) = self.attempt.take() {
            h.abort();
        }
        if let Some((_, h)) = self.refresh.take() {
            h.abort();
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

pub(crate) fn check_url(url: &str) -> Result<(), ConnectError> {
    let scheme_ok = ["ws://", "wss://", "http://", "https://"]
        .iter()
        .any(|s| url.starts_with(s));
    let host = url.split("://").nth(1).unwrap_or("");
    if !scheme_ok || host.is_empty() || host.starts_with('/') {
        return Err(ConnectError::InvalidUrl(format!(
            "{url:?}: expected ws://, wss://, http:// or https:// followed by a host"
        )));
    }
    Ok(())
}
