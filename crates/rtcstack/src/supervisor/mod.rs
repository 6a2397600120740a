//! The reconnect supervisor: the single owner of the connection state.
//!
//! Sans-IO, in the way quinn-proto and str0m are built: engine reports, OS
//! hints and time go in (`handle`, `handle_timeout`), actions come out
//! (`poll_action`), and `poll_timeout` says when it next needs the clock.
//! It never reads a clock, opens a socket or spawns a task, so every timing
//! rule has a deterministic test on a virtual clock. A small async driver
//! connects it to the engine.
//!
//! Recovery order: resume (same session) while the server can still resume
//! it, else a full rejoin (`Reconnected` says which one brought the call
//! back); give up with `NetworkError` after the policy's attempts or
//! deadline. Terminal reasons (removed, room deleted, duplicate
//! identity, server shutdown, unauthorized) end the call at once. A token
//! near or past expiry is refreshed (once per need, with a deadline) before
//! an attempt; without a refresher an expired token ends the call with
//! `TokenExpired` instead of a string of doomed retries.

pub mod policy;

use std::collections::VecDeque;
use std::time::{Duration, Instant, SystemTime};

pub use crate::events::AttemptKind;
use crate::events::{AttemptFailure, CallEvent, DisconnectReason};
use crate::state::ConnectionState;
use crate::token::{freshness, Freshness, RefreshError};
use policy::Jitter;
pub use policy::ReconnectPolicy;

/// Why an attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttemptError {
    /// Network trouble: try again.
    Retryable,
    /// The server no longer knows the session: rejoin instead.
    ResumeRefused,
    /// The server refused the token (401/403).
    Unauthorized,
    /// The server says the token has expired.
    TokenExpired,
}

/// What the server's `Leave` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaveAction {
    Resume,
    Reconnect,
    Disconnect(DisconnectReason),
}

/// Wakes closer together than this with no sleep between are one wake.
pub const SAME_WAKE: Duration = Duration::from_secs(10);

/// What goes in.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// `connect()` was called.
    Connect,
    /// The first join succeeded.
    Joined,
    /// The first join failed for good.
    JoinFailed(DisconnectReason),
    /// The engine lost the link (signal closed, peer connection failed,
    /// media silence from the server).
    LinkLost,
    AttemptSucceeded,
    AttemptFailed(AttemptError),
    ServerLeave(LeaveAction),
    /// A new token's expiry (a refresh, or the server's in-band token).
    TokenChanged {
        expires_at: SystemTime,
    },
    RefreshSucceeded {
        expires_at: SystemTime,
    },
    RefreshFailed {
        reason: String,
        /// Asking again later may work (the service was unreachable or
        /// slow), as opposed to a refusal or an unusable answer.
        transient: bool,
    },
    /// The OS is about to sleep.
    Sleep,
    /// The OS woke up: probe and recover at once.
    Wake,
    /// The network changed under us: recover now, not after a timeout.
    NetworkChanged,
    /// The user asked to retry now (the wait before the next attempt ends).
    RetryNow,
    /// The user left.
    Leave,
}

/// What comes out.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Emit(CallEvent),
    StartAttempt {
        kind: AttemptKind,
        attempt: u32,
    },
    /// The attempt in flight took too long: stop it (a failure follows).
    AbortAttempt,
    RefreshToken,
    /// Tear the transport down: the call is over.
    Close,
}

#[derive(Debug, Clone)]
struct Outage {
    /// When recovery began (the deadline counts from here).
    started: Instant,
    /// When the link was really lost (the resume window counts from here;
    /// earlier than `started` after a sleep).
    lost_at: Instant,
    attempt: u32,
    resume_refused: bool,
    /// When the next attempt starts (waiting), if not in flight.
    next_at: Option<Instant>,
    /// The attempt in flight, if any.
    in_flight: Option<InFlight>,
    /// An attempt found the token expired and had it refreshed at once.
    expiry_refreshed: bool,
}

/// An attempt under way: its kind (`Reconnected` says how the call came
/// back) and when it times out.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    kind: AttemptKind,
    until: Instant,
}

#[derive(Debug, Clone)]
struct Refresh {
    until: Instant,
}

/// The state machine. See the module docs.
#[derive(Debug)]
pub struct Supervisor {
    policy: ReconnectPolicy,
    has_refresher: bool,
    state: ConnectionState,
    outage: Option<Outage>,
    /// When the OS said it would sleep (monotonic, wall).
    asleep_since: Option<(Instant, SystemTime)>,
    /// When the last wake was taken (see [`SAME_WAKE`]).
    last_wake: Option<Instant>,
    expires_at: Option<SystemTime>,
    /// When the expiry window opens, on the monotonic clock.
    window_at: Option<Instant>,
    expiry_announced: bool,
    refresh: Option<Refresh>,
    jitter: Jitter,
    actions: VecDeque<Action>,
}

impl Supervisor {
    pub fn new(policy: ReconnectPolicy, has_refresher: bool, seed: u64) -> Self {
        Supervisor {
            policy,
            has_refresher,
            state: ConnectionState::Idle,
            outage: None,
            asleep_since: None,
            last_wake: None,
            expires_at: None,
            window_at: None,
            expiry_announced: false,
            refresh: None,
            jitter: Jitter::new(seed),
            actions: VecDeque::new(),
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    /// The attempt number of the current outage (0 when not reconnecting).
    pub fn attempt(&self) -> u32 {
        self.outage.as_ref().map_or(0, |o| o.attempt)
    }

    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// The next moment `handle_timeout` must be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        let mut consider = |c: Option<Instant>| {
            if let Some(c) = c {
                t = Some(t.map_or(c, |x| x.min(c)));
            }
        };
        if let Some(o) = &self.outage {
            consider(o.next_at);
            consider(o.in_flight.map(|f| f.until));
            consider(Some(o.started + self.policy.deadline));
        }
        consider(self.refresh.as_ref().map(|r| r.until));
        if !self.expiry_announced && self.live() {
            consider(self.window_at);
        }
        t
    }

    fn live(&self) -> bool {
        matches!(
            self.state,
            ConnectionState::Connected | ConnectionState::Reconnecting
        )
    }

    fn emit(&mut self, e: CallEvent) {
        self.actions.push_back(Action::Emit(e));
    }

    fn set_state(&mut self, s: ConnectionState) {
        if self.state != s {
            self.state = s;
            self.emit(CallEvent::ConnectionStateChanged { state: s });
        }
    }

    fn end(&mut self, reason: DisconnectReason) {
        if self.state == ConnectionState::Disconnected {
            return;
        }
        self.outage = None;
        self.refresh = None;
        self.actions.push_back(Action::Close);
        self.set_state(ConnectionState::Disconnected);
        self.emit(CallEvent::Disconnected { reason });
    }

    fn set_expiry(&mut self, expires_at: SystemTime, now: Instant, wall: SystemTime) {
        self.expires_at = Some(expires_at);
        self.expiry_announced = false;
        let ms = expires_at
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        self.emit(CallEvent::TokenUpdated { expires_at_ms: ms });
        // The window opens `expiry_window` before exp, mapped onto the
        // monotonic clock (wall time can jump; the monotonic one cannot).
        // With a refresher, a short-lived token opens it halfway through
        // its life at the latest: refreshing it at once would bring another
        // such token, and another, in a loop.
        let mut window = self.policy.expiry_window;
        if self.has_refresher {
            window = window.min(expires_at.duration_since(wall).unwrap_or_default() / 2);
        }
        let opens = expires_at
            .checked_sub(window)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        self.window_at = Some(match opens.duration_since(wall) {
            Ok(ahead) => now + ahead,
            Err(_) => now,
        });
    }

    fn freshness(&self, wall: SystemTime) -> Freshness {
        match self.expires_at {
            Some(exp) => freshness(exp, wall, self.policy.expiry_window),
            None => Freshness::Fresh,
        }
    }

    fn request_refresh(&mut self, now: Instant) {
        if self.refresh.is_none() {
            self.refresh = Some(Refresh {
                until: now + self.policy.refresh_timeout,
            });
            self.actions.push_back(Action::RefreshToken);
        }
    }

    /// Feeds one input. `now` is the monotonic clock, `wall` the wall clock
    /// (only token expiry is judged on it).
    pub fn handle(&mut self, input: Input, now: Instant, wall: SystemTime) {
        match input {
            Input::Connect => {
                if matches!(
                    self.state,
                    ConnectionState::Idle | ConnectionState::Disconnected
                ) {
                    self.set_state(ConnectionState::Connecting);
                }
            }
            Input::Joined => {
                if self.state == ConnectionState::Connecting {
                    self.set_state(ConnectionState::Connected);
                    self.emit(CallEvent::Connected);
                }
            }
            Input::JoinFailed(reason) => {
                if self.state == ConnectionState::Connecting {
                    self.end(reason);
                }
            }
            Input::LinkLost => self.lost(now, now, false, wall),
            Input::AttemptSucceeded => {
                // Only an attempt in flight can succeed; its kind is how
                // the call came back.
                let in_flight = self.outage.as_ref().and_then(|o| o.in_flight);
                if let (ConnectionState::Reconnecting, Some(f)) = (self.state, in_flight) {
                    self.outage = None;
                    self.set_state(ConnectionState::Connected);
                    self.emit(CallEvent::Reconnected { kind: f.kind });
                    // Back on a token whose refresh failed in the outage
                    // (the server's leeway let it in): get a good one now.
                    if self.has_refresher && self.freshness(wall) == Freshness::Expired {
                        self.request_refresh(now);
                    }
                }
            }
            Input::AttemptFailed(err) => self.attempt_failed(err, now, wall),
            Input::ServerLeave(action) => match action {
                LeaveAction::Resume => self.lost(now, now, false, wall),
                LeaveAction::Reconnect => self.lost(now, now, true, wall),
                // Mid-outage, "could not join" answers our resume: the
                // server lost the session. A rejoin can still work.
                LeaveAction::Disconnect(DisconnectReason::JoinFailure)
                    if self.state == ConnectionState::Reconnecting =>
                {
                    self.lost(now, now, true, wall)
                }
                LeaveAction::Disconnect(reason) => self.end(reason),
            },
            Input::TokenChanged { expires_at } => {
                self.set_expiry(expires_at, now, wall);
                self.handle_timeout(now, wall);
            }
            Input::RefreshSucceeded { expires_at } => {
                self.refresh = None;
                self.set_expiry(expires_at, now, wall);
                // An outage waiting on the token goes on now.
                if let Some(o) = self.outage.as_mut() {
                    if o.in_flight.is_none() && o.next_at.is_none() {
                        o.next_at = Some(now);
                    }
                }
                self.handle_timeout(now, wall);
            }
            Input::RefreshFailed { reason, transient } => {
                // A report from a refresh we already gave up on is stale.
                if self.refresh.is_some() {
                    self.refresh_failed(reason, transient, now, wall);
                }
            }
            Input::Sleep => {
                self.asleep_since.get_or_insert((now, wall));
            }
            // One wake is taken once: the OS's signal and a clock-jump
            // fallback can both report it, and a second one after the call
            // came back would start another reconnect for nothing.
            Input::Wake
                if self.asleep_since.is_none()
                    && self
                        .last_wake
                        .is_some_and(|t| now.duration_since(t) < SAME_WAKE) =>
            {
                tracing::debug!("a wake already taken: ignored");
            }
            Input::Wake => {
                self.last_wake = Some(now);
                let slept = self.asleep_since.take();
                // How long we slept, by the wall clock: the monotonic one
                // stops while the machine sleeps (Linux, macOS), so it
                // cannot tell a long sleep from a short one. Past the
                // resume window the server has dropped our session: a
                // resume would only be refused, so go straight to rejoin.
                let long = slept.is_some_and(|(_, w)| {
                    wall.duration_since(w).unwrap_or_default() >= self.policy.resume_window
                });
                if self.state == ConnectionState::Connected {
                    // Whatever the link says, it was gone while we slept.
                    self.lost(slept.map_or(now, |(t, _)| t), now, long, wall);
                } else if let Some(o) = self.outage.as_mut() {
                    o.resume_refused |= long;
                }
                self.hurry(now, wall);
            }
            Input::NetworkChanged => {
                if self.state == ConnectionState::Connected {
                    self.lost(now, now, false, wall);
                }
                self.hurry(now, wall);
            }
            Input::RetryNow => self.hurry(now, wall),
            Input::Leave => {
                if self.state != ConnectionState::Disconnected {
                    self.end(DisconnectReason::ClientInitiated);
                }
            }
        }
    }

    /// Start the waiting attempt now (the OS says the network is back).
    fn hurry(&mut self, now: Instant, wall: SystemTime) {
        if let Some(o) = self.outage.as_mut() {
            if o.in_flight.is_none() && o.next_at.is_some_and(|t| t > now) {
                o.next_at = Some(now);
            }
        }
        self.handle_timeout(now, wall);
    }

    fn lost(&mut self, since: Instant, now: Instant, resume_refused: bool, wall: SystemTime) {
        match self.state {
            ConnectionState::Connected => {
                self.outage = Some(Outage {
                    started: now,
                    lost_at: since,
                    attempt: 0,
                    resume_refused,
                    next_at: Some(now),
                    in_flight: None,
                    expiry_refreshed: false,
                });
                self.set_state(ConnectionState::Reconnecting);
                self.handle_timeout(now, wall);
            }
            ConnectionState::Reconnecting => {
                // Lost again mid-outage (e.g. a resumed link dropped): the
                // outage goes on; a refused resume sticks.
                if let Some(o) = self.outage.as_mut() {
                    o.resume_refused |= resume_refused;
                }
            }
            _ => {}
        }
    }

    fn attempt_failed(&mut self, err: AttemptError, now: Instant, wall: SystemTime) {
        if self.state != ConnectionState::Reconnecting {
            return;
        }
        if let Some((attempt, Some(f))) = self.outage.as_ref().map(|o| (o.attempt, o.in_flight)) {
            self.emit(CallEvent::ReconnectFailed {
                attempt,
                kind: f.kind,
                why: match err {
                    AttemptError::Retryable => AttemptFailure::Network,
                    AttemptError::ResumeRefused => AttemptFailure::ResumeRefused,
                    AttemptError::Unauthorized => AttemptFailure::Unauthorized,
                    AttemptError::TokenExpired => AttemptFailure::TokenExpired,
                },
            });
        }
        match err {
            AttemptError::Unauthorized => return self.end(DisconnectReason::Unauthorized),
            AttemptError::TokenExpired if !self.has_refresher => {
                return self.end(DisconnectReason::TokenExpired)
            }
            AttemptError::TokenExpired => {
                // Expired by the time the server could be reached (or the
                // server says so): the server is there, so no backoff —
                // refresh, and the next attempt follows the new token. Once
                // per outage: a server that calls every new token expired
                // (a clock far off) gets the usual backoff after that.
                self.expires_at = Some(wall);
                if let Some(o) = self.outage.as_mut() {
                    if !o.expiry_refreshed && o.in_flight.is_some() {
                        o.expiry_refreshed = true;
                        o.in_flight = None;
                        o.next_at = None;
                        self.request_refresh(now);
                        return;
                    }
                }
            }
            AttemptError::ResumeRefused | AttemptError::Retryable => {}
        }
        let Some(o) = self.outage.as_mut() else {
            return;
        };
        if o.in_flight.is_none() {
            return; // no attempt in flight: a stale report
        }
        o.in_flight = None;
        if err == AttemptError::ResumeRefused {
            o.resume_refused = true;
        }
        let next = o.attempt + 1;
        if next > self.policy.max_attempts {
            return self.end(DisconnectReason::NetworkError);
        }
        // Whole milliseconds, so the countdown the UI shows is exact.
        let delay = self.policy.delay_before(next, self.jitter.draw());
        let delay = Duration::from_millis(delay.as_millis() as u64);
        if let Some(o) = self.outage.as_mut() {
            o.next_at = Some(now + delay);
        }
        self.emit(CallEvent::ReconnectScheduled {
            attempt: next,
            in_ms: delay.as_millis() as u64,
        });
        self.handle_timeout(now, wall);
    }

    fn refresh_failed(&mut self, reason: String, transient: bool, now: Instant, wall: SystemTime) {
        self.refresh = None;
        self.emit(CallEvent::TokenRefreshFailed { reason });
        if self.freshness(wall) == Freshness::Expired {
            // Mid-outage the token service is often as unreachable as the
            // media server: ask again at the next attempt's time, until the
            // outage's deadline. A refusal or a bad answer will not change.
            if transient && self.state == ConnectionState::Reconnecting {
                let next = self.outage.as_ref().map_or(1, |o| o.attempt + 1);
                let delay = self.policy.delay_before(next, self.jitter.draw());
                let delay = Duration::from_millis(delay.as_millis() as u64);
                if let Some(o) = self.outage.as_mut() {
                    if o.in_flight.is_none() {
                        o.next_at = Some(now + delay);
                        self.emit(CallEvent::ReconnectScheduled {
                            attempt: next,
                            in_ms: delay.as_millis() as u64,
                        });
                    }
                }
                return;
            }
            if self.live() && !transient {
                self.end(DisconnectReason::TokenExpired);
            }
            return;
        }
        // Still valid for now: carry on with it; an outage's attempt goes
        // ahead with the current token.
        if let Some(o) = self.outage.as_mut() {
            if o.in_flight.is_none() && o.next_at.is_none() {
                o.next_at = Some(now);
            }
        }
        self.handle_timeout(now, wall);
    }

    /// Advances time to `now`: fires what is due.
    pub fn handle_timeout(&mut self, now: Instant, wall: SystemTime) {
        if self.refresh.as_ref().is_some_and(|r| now >= r.until) {
            // The refresher hung: that is a failure, not a wait forever.
            let reason = RefreshError::Timeout(self.policy.refresh_timeout).to_string();
            self.refresh_failed(reason, true, now, wall);
        }
        if self.live() && !self.expiry_announced && self.window_at.is_some_and(|t| now >= t) {
            self.expiry_announced = true;
            self.emit(CallEvent::TokenExpired);
            if self.has_refresher {
                self.request_refresh(now);
            }
        }
        let Some(o) = self.outage.clone() else { return };
        if now >= o.started + self.policy.deadline {
            // Refusals end the call at once as TokenExpired; reaching the
            // deadline means nothing (the token service included) could be
            // reached: a network error, whatever the token's state.
            return self.end(DisconnectReason::NetworkError);
        }
        if o.in_flight.is_some_and(|f| now >= f.until) {
            self.actions.push_back(Action::AbortAttempt);
            return self.attempt_failed(AttemptError::Retryable, now, wall);
        }
        if o.next_at.is_none_or(|t| now < t) || self.asleep_since.is_some() {
            return;
        }
        // Due. The token first: an attempt with an expired one is doomed.
        // (An expiring one is still good: its refresh already started when
        // the window opened.)
        if self.freshness(wall) == Freshness::Expired {
            if !self.has_refresher {
                return self.end(DisconnectReason::TokenExpired);
            }
            if let Some(o) = self.outage.as_mut() {
                o.next_at = None; // goes on at RefreshSucceeded / RefreshFailed
            }
            self.request_refresh(now);
            return;
        }
        let kind = if !o.resume_refused && now < o.lost_at + self.policy.resume_window {
            AttemptKind::Resume
        } else {
            AttemptKind::Rejoin
        };
        let attempt = o.attempt + 1;
        if let Some(o) = self.outage.as_mut() {
            o.attempt = attempt;
            o.next_at = None;
            o.in_flight = Some(InFlight {
                kind,
                until: now + self.policy.attempt_timeout,
            });
        }
        self.emit(CallEvent::Reconnecting { attempt });
        self.actions
            .push_back(Action::StartAttempt { kind, attempt });
    }
}

#[cfg(test)]
mod tests;
