//! The SDK's front door: `Call::new(CallOptions)`, `connect()`, state,
//! events, participants. (The reconnect supervisor will own the state
//! machine; until it lands a lost connection ends the call.)

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

use crate::audio::capture::NullSink;
use crate::audio::io::{AudioInput, AudioSink, SwitchableSink};
use crate::engine::Session;
use crate::error::ConnectError;
use crate::events::CallEvent;
use crate::room::Participant;
use crate::state::ConnectionState;
use crate::token::{self, Freshness};

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
}

impl CallOptions {
    pub fn new(url: impl Into<String>, token: impl Into<String>) -> Self {
        CallOptions {
            url: url.into(),
            token: token.into(),
            connect_timeout: Duration::from_secs(10),
            audio_sink: Arc::new(NullSink),
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
            .finish()
    }
}

/// A call in one room.
pub struct Call {
    options: CallOptions,
    output: Arc<SwitchableSink>,
    session: Mutex<Option<Arc<Session>>>,
    state: Mutex<ConnectionState>,
    expires_at: Mutex<Option<SystemTime>>,
    events: mpsc::UnboundedSender<CallEvent>,
}

impl Call {
    /// A call that has not joined yet, and the stream of its events.
    pub fn new(options: CallOptions) -> (Self, mpsc::UnboundedReceiver<CallEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let expires_at = token::inspect(&options.token).ok().map(|t| t.expires_at);
        let output = Arc::new(SwitchableSink::new(Arc::clone(&options.audio_sink)));
        let call = Call {
            options,
            output,
            session: Mutex::new(None),
            state: Mutex::new(ConnectionState::Idle),
            expires_at: Mutex::new(expires_at),
            events: tx,
        };
        (call, rx)
    }

    pub fn connection_state(&self) -> ConnectionState {
        *self.state.lock().expect("state lock")
    }

    fn set_state(&self, s: ConnectionState) {
        *self.state.lock().expect("state lock") = s;
    }

    /// When the current token expires (from its `exp` claim).
    pub fn token_expires_at(&self) -> Option<SystemTime> {
        *self.expires_at.lock().expect("expiry lock")
    }

    fn session(&self) -> Option<Arc<Session>> {
        self.session.lock().expect("session lock").clone()
    }

    /// Joins the room. Bad input fails fast with a specific error; a server
    /// that does not answer fails within the connect timeout.
    pub async fn connect(&self) -> Result<(), ConnectError> {
        if self.session().is_some() {
            return Ok(());
        }
        check_url(&self.options.url)?;
        let info = token::inspect(&self.options.token)?;
        if token::freshness(info.expires_at, SystemTime::now(), Duration::ZERO)
            == Freshness::Expired
        {
            return Err(ConnectError::TokenExpired);
        }
        self.set_state(ConnectionState::Connecting);
        let result = Session::connect(
            &self.options.url,
            &self.options.token,
            self.options.connect_timeout,
            self.events.clone(),
            Arc::clone(&self.output) as Arc<dyn AudioSink>,
        )
        .await;
        match result {
            Ok(session) => {
                *self.session.lock().expect("session lock") = Some(Arc::new(session));
                self.set_state(ConnectionState::Connected);
                let _ = self.events.send(CallEvent::Connected);
                Ok(())
            }
            Err(e) => {
                self.set_state(ConnectionState::Disconnected);
                Err(e)
            }
        }
    }

    /// Publishes a microphone track fed by `input`; returns the track sid.
    pub async fn publish_audio(&self, input: Box<dyn AudioInput>) -> Result<String, ConnectError> {
        let session = self.session().ok_or(ConnectError::Closed)?;
        session
            .publish_audio(input, self.options.connect_timeout)
            .await
    }

    /// Switches where remote audio plays (another speaker), mid-call.
    pub fn set_audio_output(&self, sink: Arc<dyn AudioSink>) {
        self.output.replace(sink);
    }

    /// Switches the microphone mid-call; false if nothing is published.
    pub fn set_audio_input(&self, input: Box<dyn AudioInput>) -> bool {
        self.session().is_some_and(|s| s.replace_input(input))
    }

    /// Mutes or unmutes our microphone; everyone sees the change.
    pub async fn set_muted(&self, muted: bool) {
        if let Some(s) = self.session() {
            s.set_muted(muted).await;
        }
    }

    /// Everyone else in the room.
    pub fn participants(&self) -> Vec<Participant> {
        self.session().map(|s| s.participants()).unwrap_or_default()
    }

    /// Us, as the server sees us (including our connection quality).
    pub fn local_participant(&self) -> Option<Participant> {
        self.session().and_then(|s| s.local_participant())
    }

    /// Leaves the room.
    pub async fn leave(&self) {
        let session = self.session.lock().expect("session lock").take();
        if let Some(s) = session {
            s.leave().await;
        }
        self.set_state(ConnectionState::Disconnected);
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
