//! What happened in one call, in order, with the wall-clock time of each:
//! the call's events as the SDK told them, and what the app added (the
//! join asked for, the OS's hints, device changes, the person's own
//! presses). Plain data: the report is made from it, and nothing in it is
//! a secret by construction (tokens appear as their expiry time only).

use std::collections::HashMap;

use rtcstack::events::{AttemptFailure, AttemptKind};
use rtcstack::{CallEvent, ConnectionQuality, ConnectionState, DisconnectReason};
use serde::Serialize;

/// The most entries kept for one call; beyond it the oldest go (a long
/// call in a big room changes qualities often), and the report says how
/// many went.
const MOST: usize = 10_000;

/// One thing that happened, at `at_ms` (Unix time, milliseconds).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    pub at_ms: u64,
    #[serde(flatten)]
    pub what: Happened,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Happened {
    /// The person asked to join `room` on `server` (host and port only).
    JoinStarted {
        room: String,
        server: String,
    },
    /// The join did not happen, and why (in the form's words).
    JoinFailed {
        reason: String,
    },
    State {
        state: ConnectionState,
    },
    /// Reconnect attempt `attempt` of this outage started.
    Attempt {
        attempt: u32,
    },
    /// Attempt `attempt`, a resume or a rejoin, failed: `why`.
    AttemptFailed {
        attempt: u32,
        how: AttemptKind,
        why: AttemptFailure,
    },
    /// Attempt `attempt` will start in `in_ms`.
    AttemptScheduled {
        attempt: u32,
        in_ms: u64,
    },
    Reconnected {
        how: AttemptKind,
    },
    /// The media path each connection took (`udp 192.0.2.1:7882`), where
    /// one was selected.
    Path {
        publisher: Option<String>,
        subscriber: Option<String>,
    },
    TokenExpiring,
    /// A new token in use; only when it expires is kept.
    TokenRefreshed {
        expires_at_ms: u64,
    },
    TokenRefreshFailed {
        reason: String,
    },
    ParticipantJoined {
        identity: String,
    },
    ParticipantLeft {
        identity: String,
    },
    /// A participant's quality as the server scored it, when it changed
    /// (`local`: ours).
    Quality {
        identity: String,
        local: bool,
        quality: ConnectionQuality,
    },
    /// An OS hint: sleep, wake, network changed.
    Hint {
        hint: String,
    },
    /// A device change, in the words the page showed.
    Device {
        notice: String,
    },
    Muted {
        muted: bool,
    },
    /// Our camera or screen (`source`: "camera", "screen") went on or off.
    Video {
        source: String,
        on: bool,
    },
    /// The person pressed Leave.
    LeaveRequested,
    Ended {
        reason: DisconnectReason,
    },
}

/// One call's entries, from the join asked for to the end.
#[derive(Debug, Clone, Default)]
pub struct Timeline {
    entries: Vec<Entry>,
    /// Entries let go beyond [`MOST`].
    dropped: usize,
    qualities: HashMap<String, ConnectionQuality>,
    ended: bool,
}

impl Timeline {
    pub fn new(at_ms: u64, room: &str, server: &str) -> Self {
        let mut t = Timeline::default();
        t.push(
            at_ms,
            Happened::JoinStarted {
                room: room.to_string(),
                server: server.to_string(),
            },
        );
        t
    }

    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// The call ended (or never started): later news is another call's.
    pub fn ended(&self) -> bool {
        self.ended
    }

    pub fn push(&mut self, at_ms: u64, what: Happened) {
        if self.ended {
            return;
        }
        if matches!(what, Happened::Ended { .. } | Happened::JoinFailed { .. }) {
            self.ended = true;
        }
        if self.entries.len() == MOST {
            // The join asked for stays first: it names the call.
            self.entries.remove(1);
            self.dropped += 1;
        }
        self.entries.push(Entry { at_ms, what });
    }

    /// A call event, as much of it as a report needs: participant updates
    /// only when their quality changed, everything else as it came.
    pub fn event(&mut self, at_ms: u64, event: &CallEvent) {
        let what = match event {
            CallEvent::ConnectionStateChanged { state } => Happened::State { state: *state },
            // The state change says it.
            CallEvent::Connected => return,
            CallEvent::Reconnecting { attempt } => Happened::Attempt { attempt: *attempt },
            CallEvent::ReconnectFailed { attempt, kind, why } => Happened::AttemptFailed {
                attempt: *attempt,
                how: *kind,
                why: *why,
            },
            CallEvent::ReconnectScheduled { attempt, in_ms } => Happened::AttemptScheduled {
                attempt: *attempt,
                in_ms: *in_ms,
            },
            CallEvent::Reconnected { kind } => Happened::Reconnected { how: *kind },
            CallEvent::TokenExpired => Happened::TokenExpiring,
            CallEvent::TokenUpdated { expires_at_ms } => Happened::TokenRefreshed {
                expires_at_ms: *expires_at_ms,
            },
            CallEvent::TokenRefreshFailed { reason } => Happened::TokenRefreshFailed {
                reason: reason.clone(),
            },
            CallEvent::ParticipantJoined { participant } => {
                self.qualities
                    .insert(participant.identity.clone(), participant.connection_quality);
                Happened::ParticipantJoined {
                    identity: participant.identity.clone(),
                }
            }
            CallEvent::ParticipantLeft { identity } => {
                self.qualities.remove(identity);
                Happened::ParticipantLeft {
                    identity: identity.clone(),
                }
            }
            CallEvent::ParticipantUpdated { participant }
            | CallEvent::LocalParticipantUpdated { participant } => {
                let local = matches!(event, CallEvent::LocalParticipantUpdated { .. });
                let quality = participant.connection_quality;
                let before = self.qualities.insert(participant.identity.clone(), quality);
                // No score in this update, or the same one: no news.
                if quality == ConnectionQuality::Unknown || before == Some(quality) {
                    return;
                }
                Happened::Quality {
                    identity: participant.identity.clone(),
                    local,
                    quality,
                }
            }
            CallEvent::TrackSubscribed { .. } => return,
            CallEvent::Disconnected { reason } => Happened::Ended { reason: *reason },
        };
        self.push(at_ms, what);
    }
}
