//! The SDK's front door: `Call::new(CallOptions)`, `connect()`, state,
//! events, participants; and the driver that connects the sans-IO
//! supervisor to the engine (engine reports and OS hints in, attempts out).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::audio::capture::NullSink;
use crate::audio::io::{AudioInput, AudioSink, SwitchableInput, SwitchableSink};
use crate::engine::{EngineSignal, Session};
use crate::error::ConnectError;
use crate::events::{CallEvent, DisconnectReason};
use crate::room::{Participant, RoomState};
use crate::state::ConnectionState;
use crate::supervisor::{Action, AttemptError, AttemptKind, Input, ReconnectPolicy, Supervisor};
use crate::token::{self, Freshness, RefreshError, TokenRefresher};

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
    /// How to recover from a lost link.
    pub reconnect_policy: ReconnectPolicy,
    /// Where new tokens come from; without one, a call whose token expires
    /// during an outage ends with `TokenExpired`.
    pub token_refresher: Option<Arc<dyn TokenRefresher>>,
}

impl CallOptions {
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        CallOptions {
            url: url.into(),
            token: token.into(),
            connect_timeout: Duration::from_secs(10),
            audio_sink: Arc::new(NullSink),
            reconnect_policy: ReconnectPolicy::default(),
            token_refresher: None,
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
            .finish()
    }
}

/// What the call shares between its handle and its driver task.
struct Inner {
    options: CallOptions,
    output: Arc<SwitchableSink>,
    supervisor: Mutex<Supervisor>,
    session: Mutex<Option<Arc<Session>>>,
    /// The room as the last session knew it, kept across a rejoin's
    /// attempts so the new participant list is reconciled, not re-joined.
    room_before: Mutex<Option<RoomState>>,
    state: Mutex<ConnectionState>,
    expires_at: Mutex<Option<SystemTime>>,
    token: Mutex<String>,
    /// What we publish, kept to republish after a rejoin.
    input: Mutex<Option<SwitchableInput>>,
    muted: AtomicBool,
    events: mpsc::UnboundedSender<CallEvent>,
    engine_tx: mpsc::UnboundedSender<(u64, EngineSignal)>,
    hints: mpsc::UnboundedSender<Input>,
}

/// A call in one room.
pub struct Call {
    inner: Arc<Inner>,
    driver_parts: Mutex<Option<DriverParts>>,
}

struct DriverParts {
    engine_rx: mpsc::UnboundedReceiver<(u64, EngineSignal)>,
    hints_rx: mpsc::UnboundedReceiver<Input>,
}

impl Call {
    /// A call that has not joined yet, and the stream of its events.
    pub fn new(options: CallOptions) -> (Self, mpsc::UnboundedReceiver<CallEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let (engine_tx, engine_rx) = mpsc::unbounded_channel();
        let (hints, hints_rx) = mpsc::unbounded_channel();
        let expires_at = token::inspect(&options.token).ok().map(|t| t.expires_at);
        let output = Arc::new(SwitchableSink::new(Arc::clone(&options.audio_sink)));
        let supervisor = Supervisor::new(
            options.reconnect_policy.clone(),
            options.token_refresher.is_some(),
            rand::random(),
        );
        let inner = Arc::new(Inner {
            token: Mutex::new(options.token.clone()),
            options,
            output,
            supervisor: Mutex::new(supervisor),
            session: Mutex::new(None),
            room_before: Mutex::new(None),
            state: Mutex::new(ConnectionState::Idle),
            expires_at: Mutex::new(expires_at),
            input: Mutex::new(None),
            muted: AtomicBool::new(false),
            events: tx,
            engine_tx,
            hints,
        });
        let call = Call {
            inner,
            driver_parts: Mutex::new(Some(DriverParts {
                engine_rx,
                hints_rx,
            })),
        };
        (call, rx)
    }

    pub fn connection_state(&self) -> ConnectionState {
        *self.inner.state.lock().expect("state lock")
    }

    /// The server URL the call joins (for an app's network monitor, which
    /// watches the path to it).
    pub fn url(&self) -> &str {
        &self.inner.options.url
    }

    /// When the current token expires (from its `exp` claim).
    pub fn token_expires_at(&self) -> Option<SystemTime> {
        *self.inner.expires_at.lock().expect("expiry lock")
    }

    fn session(&self) -> Option<Arc<Session>> {
        self.inner.session()
    }

    /// Joins the room. Bad input fails fast with a specific error; a server
    /// that does not answer fails within the connect timeout.
    pub async fn connect(&self) -> Result<(), ConnectError> {
        if self.session().is_some() {
            return Ok(());
        }
        let inner = &self.inner;
        check_url(&inner.options.url)?;
        let info = token::inspect(&inner.options.token)?;
        if token::freshness(info.expires_at, SystemTime::now(), Duration::ZERO)
            == Freshness::Expired
        {
            return Err(ConnectError::TokenExpired);
        }
        inner.run(inner.feed(Input::Connect)).await;
        match inner.join(None).await {
            Ok(session) => {
                // A mute asked for before the join holds from the start.
                if inner.muted.load(Ordering::Relaxed) {
                    session.set_muted(true).await;
                }
                *inner.session.lock().expect("session lock") = Some(Arc::new(session));
                inner
                    .run(inner.feed(Input::TokenChanged {
                        expires_at: info.expires_at,
                    }))
                    .await;
                inner.run(inner.feed(Input::Joined)).await;
                if let Some(parts) = self.driver_parts.lock().expect("driver lock").take() {
                    tokio::spawn(drive(Arc::clone(inner), parts));
                }
                Ok(())
            }
            Err(e) => {
                let reason = match e {
                    ConnectError::Unauthorized(_) => DisconnectReason::Unauthorized,
                    ConnectError::TokenExpired => DisconnectReason::TokenExpired,
                    _ => DisconnectReason::JoinFailure,
                };
                inner.run(inner.feed(Input::JoinFailed(reason))).await;
                Err(e)
            }
        }
    }

    /// Publishes a microphone track fed by `input`; returns the track sid.
    pub async fn publish_audio(&self, input: Box<dyn AudioInput>) -> Result<String, ConnectError> {
        let session = self.session().ok_or(ConnectError::Closed)?;
        let input = SwitchableInput::new(input);
        *self.inner.input.lock().expect("input lock") = Some(input.clone());
        session
            .publish_audio(Box::new(input), self.inner.options.connect_timeout)
            .await
    }

    /// Switches where remote audio plays (another speaker), mid-call.
    pub fn set_audio_output(&self, sink: Arc<dyn AudioSink>) {
        self.inner.output.replace(sink);
    }

    /// Switches the microphone mid-call; false if nothing is published.
    pub fn set_audio_input(&self, input: Box<dyn AudioInput>) -> bool {
        match self.inner.input.lock().expect("input lock").as_ref() {
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
        self.inner.muted.store(muted, Ordering::Relaxed);
        if let Some(s) = self.session() {
            s.set_muted(muted).await;
        }
    }

    /// Everyone else in the room.
    pub fn participants(&self) -> Vec<Participant> {
        if let Some(s) = self.session() {
            return s.participants();
        }
        // Mid-rejoin: everyone as we last knew them, not an empty room.
        let before = self.inner.room_before.lock().expect("room lock");
        before
            .as_ref()
            .map(|r| r.participants().cloned().collect())
            .unwrap_or_default()
    }

    /// Us, as the server sees us (including our connection quality).
    pub fn local_participant(&self) -> Option<Participant> {
        self.session().and_then(|s| s.local_participant())
    }

    /// The path media takes now (each connection's selected ICE pair);
    /// `None` between sessions.
    pub async fn media_paths(&self) -> Option<crate::MediaPaths> {
        Some(self.session()?.media_paths().await)
    }

    /// Simulates a fault on the live call (tests, support tools).
    pub async fn simulate(&self, scenario: crate::Scenario) {
        if let Some(s) = self.session() {
            s.simulate(scenario).await;
        }
    }

    /// The OS is about to sleep.
    pub fn suspend(&self) {
        let _ = self.inner.hints.send(Input::Suspend);
    }

    /// The OS woke up: probe and recover at once.
    pub fn resume(&self) {
        let _ = self.inner.hints.send(Input::Wake);
    }

    /// The user asked to retry now: the waiting attempt starts at once.
    pub fn retry_now(&self) {
        let _ = self.inner.hints.send(Input::RetryNow);
    }

    /// The network changed: recover now instead of waiting for a timeout.
    pub fn network_changed(&self) {
        let _ = self.inner.hints.send(Input::NetworkChanged);
    }

    /// Leaves the room.
    pub async fn leave(&self) {
        let session = self.inner.session.lock().expect("session lock").take();
        if let Some(s) = session {
            s.leave().await;
        }
        self.inner.run(self.inner.feed(Input::Leave)).await;
        // Wakes the driver, which stops an attempt or refresh in flight.
        let _ = self.inner.hints.send(Input::Leave);
    }
}

impl Inner {
    fn session(&self) -> Option<Arc<Session>> {
        self.session.lock().expect("session lock").clone()
    }

    async fn join(&self, previous: Option<&RoomState>) -> Result<Session, ConnectError> {
        let token = self.token.lock().expect("token lock").clone();
        Session::connect(
            &self.options.url,
            &token,
            self.options.connect_timeout,
            self.events.clone(),
            self.engine_tx.clone(),
            Arc::clone(&self.output) as Arc<dyn AudioSink>,
            previous,
        )
        .await
    }

    /// Whether `token` can replace the one in use (same identity and room,
    /// not expired).
    fn check_new_token(&self, token: &str) -> Result<token::TokenInfo, RefreshError> {
        let current = self.token.lock().expect("token lock").clone();
        let current =
            token::inspect(&current).map_err(|e| RefreshError::BadToken(e.to_string()))?;
        token::check_replacement(token, &current, SystemTime::now())
    }

    fn use_token(&self, token: String, info: &token::TokenInfo) {
        *self.token.lock().expect("token lock") = token;
        *self.expires_at.lock().expect("expiry lock") = Some(info.expires_at);
    }

    fn feed(&self, input: Input) -> Vec<Action> {
        let mut sup = self.supervisor.lock().expect("supervisor lock");
        sup.handle(input, Instant::now(), SystemTime::now());
        drain(&mut sup)
    }

    fn tick(&self) -> Vec<Action> {
        let mut sup = self.supervisor.lock().expect("supervisor lock");
        sup.handle_timeout(Instant::now(), SystemTime::now());
        drain(&mut sup)
    }

    /// Carries out the supervisor's actions that need no driver (events
    /// and the state); returns the attempts and other work for the driver.
    async fn run(&self, actions: Vec<Action>) -> Vec<Action> {
        let mut rest = Vec::new();
        for a in actions {
            match a {
                Action::Emit(e) => {
                    if let CallEvent::ConnectionStateChanged { state } = &e {
                        *self.state.lock().expect("state lock") = *state;
                    }
                    let _ = self.events.send(e);
                }
                Action::Close => {
                    let session = self.session.lock().expect("session lock").take();
                    if let Some(s) = session {
                        s.close().await;
                    }
                }
                other => rest.push(other),
            }
        }
        rest
    }

    /// One reconnect attempt.
    async fn attempt(self: Arc<Self>, kind: AttemptKind) -> Result<(), AttemptError> {
        let deadline = self.options.connect_timeout;
        // Nothing goes out until the server can be reached (the supervisor's
        // attempt timeout bounds this wait).
        crate::engine::reach::until_reachable(&self.options.url).await;
        // The token may have expired while we waited: going on would be
        // let in only by the server's leeway, and leave the refresh for later.
        let expired = self
            .expires_at
            .lock()
            .expect("expiry lock")
            .is_some_and(|exp| exp <= SystemTime::now());
        if expired {
            return Err(AttemptError::TokenExpired);
        }
        if kind == AttemptKind::Resume {
            if let Some(s) = self.session() {
                return s.resume(deadline).await;
            }
        }
        // A full rejoin: a new session, then everything the user had.
        let old = self.session.lock().expect("session lock").take();
        if let Some(old) = old {
            // Kept before the close, which an aborted attempt may not finish.
            *self.room_before.lock().expect("room lock") = Some(old.room());
            old.close().await;
        }
        let before = self.room_before.lock().expect("room lock").clone();
        let session = Arc::new(self.join(before.as_ref()).await.map_err(|e| match e {
            ConnectError::Unauthorized(_) => AttemptError::Unauthorized,
            ConnectError::TokenExpired => AttemptError::TokenExpired,
            _ => AttemptError::Retryable,
        })?);
        if *self.state.lock().expect("state lock") == ConnectionState::Disconnected {
            // The user left (or the call ended) while this join ran.
            session.leave().await;
            return Err(AttemptError::Retryable);
        }
        *self.session.lock().expect("session lock") = Some(Arc::clone(&session));
        *self.room_before.lock().expect("room lock") = None;
        session.adopt();
        // Muted first, so the republished track starts muted: not one
        // frame of the microphone leaks out.
        if self.muted.load(Ordering::Relaxed) {
            session.set_muted(true).await;
        }
        let input = self.input.lock().expect("input lock").clone();
        if let Some(input) = input {
            session
                .publish_audio(Box::new(input), deadline)
                .await
                .map_err(|_| AttemptError::Retryable)?;
        }
        Ok(())
    }
}

fn drain(sup: &mut Supervisor) -> Vec<Action> {
    let mut out = Vec::new();
    while let Some(a) = sup.poll_action() {
        out.push(a);
    }
    out
}

/// The driver: feeds the supervisor from the engine, the OS hints and the
/// clock, and carries out its attempts.
async fn drive(inner: Arc<Inner>, mut parts: DriverParts) {
    let (result_tx, mut result_rx) = mpsc::unbounded_channel::<(u32, Result<(), AttemptError>)>();
    let mut in_flight: Option<(u32, JoinHandle<()>)> = None;
    // Refreshes are numbered like attempts: a result queued by one we
    // replaced is not credited to its successor.
    let (refresh_tx, mut refresh_rx) =
        mpsc::unbounded_channel::<(u64, Result<String, RefreshError>)>();
    let mut refreshes: u64 = 0;
    let mut refresh: Option<(u64, JoinHandle<()>)> = None;
    loop {
        let timeout = inner
            .supervisor
            .lock()
            .expect("supervisor lock")
            .poll_timeout();
        let actions = tokio::select! {
            Some((id, signal)) = parts.engine_rx.recv() => match signal {
                // A session we replaced or gave up on: not our call's news.
                _ if inner.session().is_none_or(|s| s.id() != id) => Vec::new(),
                EngineSignal::LinkLost => inner.feed(Input::LinkLost),
                EngineSignal::Leave(action) => inner.feed(Input::ServerLeave(action)),
                EngineSignal::TokenRefreshed(token) => match inner.check_new_token(&token) {
                    Ok(info) => {
                        inner.use_token(token, &info);
                        inner.feed(Input::TokenChanged { expires_at: info.expires_at })
                    }
                    Err(e) => {
                        tracing::warn!("ignored the server's refreshed token: {e}");
                        Vec::new()
                    }
                },
            },
            Some((n, result)) = refresh_rx.recv() => {
                if refresh.as_ref().is_none_or(|(m, _)| *m != n) {
                    continue; // a replaced refresh reporting late
                }
                refresh = None;
                match result.and_then(|t| inner.check_new_token(&t).map(|info| (t, info))) {
                    Ok((token, info)) => {
                        tracing::debug!("token refreshed");
                        inner.use_token(token, &info);
                        inner.feed(Input::RefreshSucceeded { expires_at: info.expires_at })
                    }
                    Err(e) => inner.feed(Input::RefreshFailed {
                        transient: matches!(e, RefreshError::Unavailable(_) | RefreshError::Timeout(_)),
                        reason: e.to_string(),
                    }),
                }
            }
            Some(hint) = parts.hints_rx.recv() => inner.feed(hint),
            Some((n, result)) = result_rx.recv() => {
                if in_flight.as_ref().is_some_and(|(m, _)| *m == n) {
                    in_flight = None;
                    inner.feed(match result {
                        Ok(()) => Input::AttemptSucceeded,
                        Err(e) => Input::AttemptFailed(e),
                    })
                } else {
                    Vec::new() // an aborted attempt reporting late
                }
            }
            _ = sleep_until(timeout) => inner.tick(),
        };
        for action in inner.run(actions).await {
            match action {
                Action::StartAttempt { kind, attempt } => {
                    tracing::debug!("reconnect attempt {attempt}: {kind:?}");
                    let tx = result_tx.clone();
                    let worker = Arc::clone(&inner);
                    let handle = tokio::spawn(async move {
                        let _ = tx.send((attempt, worker.attempt(kind).await));
                    });
                    if let Some((_, old)) = in_flight.replace((attempt, handle)) {
                        old.abort();
                    }
                }
                Action::AbortAttempt => {
                    if let Some((_, h)) = in_flight.take() {
                        h.abort();
                    }
                }
                Action::RefreshToken => {
                    if let Some(refresher) = inner.options.token_refresher.clone() {
                        tracing::debug!("refreshing the token");
                        // The supervisor keeps the deadline; this one only
                        // stops a hung refresher from lingering.
                        let limit = inner.options.reconnect_policy.refresh_timeout;
                        let tx = refresh_tx.clone();
                        refreshes += 1;
                        let n = refreshes;
                        let task = tokio::spawn(async move {
                            let result = tokio::time::timeout(limit, refresher.refresh())
                                .await
                                .unwrap_or(Err(RefreshError::Timeout(limit)));
                            let _ = tx.send((n, result));
                        });
                        if let Some((_, old)) = refresh.replace((n, task)) {
                            old.abort();
                        }
                    }
                }
                _ => {}
            }
        }
        if *inner.state.lock().expect("state lock") == ConnectionState::Disconnected {
            if let Some((_, h)) = in_flight.take() {
                h.abort();
            }
            if let Some((_, h)) = refresh.take() {
                h.abort();
            }
            return;
        }
    }
}

async fn sleep_until(t: Option<Instant>) {
    match t {
        Some(t) => tokio::time::sleep_until(tokio::time::Instant::from_std(t)).await,
        None => std::future::pending().await,
    }
}

fn check_url(url: &str) -> Result<(), ConnectError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_without_scheme_or_host_are_refused() {
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
