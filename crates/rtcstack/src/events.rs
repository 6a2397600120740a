//! What a call tells its user, serialised in the spec's camelCase words.

use livekit_protocol as proto;
use serde::Serialize;

use crate::room::Participant;
use crate::state::ConnectionState;

/// Why a call ended.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum DisconnectReason {
    /// We left.
    ClientInitiated,
    /// Retries exhausted.
    NetworkError,
    Unauthorized,
    TokenExpired,
    ParticipantRemoved,
    RoomDeleted,
    DuplicateIdentity,
    ServerShutdown,
    JoinFailure,
    /// A reason this SDK does not know yet.
    Other,
}

impl DisconnectReason {
    /// From the server's `Leave` reason.
    pub(crate) fn from_proto(reason: i32) -> Self {
        use proto::DisconnectReason as R;
        match R::try_from(reason) {
            Ok(R::ClientInitiated) => Self::ClientInitiated,
            Ok(R::DuplicateIdentity) => Self::DuplicateIdentity,
            Ok(R::ServerShutdown) => Self::ServerShutdown,
            Ok(R::ParticipantRemoved) => Self::ParticipantRemoved,
            Ok(R::RoomDeleted) | Ok(R::RoomClosed) => Self::RoomDeleted,
            Ok(R::JoinFailure) => Self::JoinFailure,
            Ok(R::StateMismatch) | Ok(R::SignalClose) | Ok(R::ConnectionTimeout) => {
                Self::NetworkError
            }
            _ => Self::Other,
        }
    }
}

/// How a reconnect attempt brings the call back (and, in `Reconnected`, how
/// it came back).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AttemptKind {
    /// The same session: signal `reconnect=1`, ICE restart, SyncState. The
    /// server still held our session; nobody saw us leave.
    Resume,
    /// A new session: join again, republish, resubscribe (the server had
    /// dropped the old one, or refused to resume it).
    Rejoin,
}

/// Why a reconnect attempt failed.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum AttemptFailure {
    /// The server could not be reached, or did not answer in time.
    Network,
    /// The server no longer knows the session (a rejoin follows).
    ResumeRefused,
    /// The server refused the token.
    Unauthorized,
    /// The token had expired.
    TokenExpired,
}

/// An event of the call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(
    tag = "type",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CallEvent {
    /// The connection state changed (idle, connecting, connected,
    /// reconnecting, disconnected).
    ConnectionStateChanged {
        state: ConnectionState,
    },
    Connected,
    /// Attempt `attempt` (1, 2, 3 … within this outage) has started.
    Reconnecting {
        attempt: u32,
    },
    /// Attempt `attempt`, of `kind`, did not bring the call back: `why`.
    ReconnectFailed {
        attempt: u32,
        kind: AttemptKind,
        why: AttemptFailure,
    },
    /// Attempt `attempt` will start in `in_ms` milliseconds (a countdown).
    ReconnectScheduled {
        attempt: u32,
        in_ms: u64,
    },
    /// The call is back, by the kind of attempt that succeeded.
    Reconnected {
        kind: AttemptKind,
    },
    /// The token is inside its expiry window.
    TokenExpired,
    /// A new token is in use (a refresh, or the server's in-band token);
    /// it expires at `expires_at_ms` (Unix time, milliseconds).
    TokenUpdated {
        expires_at_ms: u64,
    },
    /// The token refresher failed or did not answer; `reason` says why
    /// (never a token or credential).
    TokenRefreshFailed {
        reason: String,
    },
    ParticipantJoined {
        participant: Participant,
    },
    ParticipantLeft {
        identity: String,
    },
    ParticipantUpdated {
        participant: Participant,
    },
    LocalParticipantUpdated {
        participant: Participant,
    },
    TrackSubscribed {
        identity: String,
        track_sid: String,
    },
    Disconnected {
        reason: DisconnectReason,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_use_the_spec_words() {
        let e = CallEvent::TrackSubscribed {
            identity: "a".into(),
            track_sid: "TR_1".into(),
        };
        assert_eq!(
            serde_json::to_value(&e).unwrap(),
            serde_json::json!({"type": "trackSubscribed", "identity": "a", "trackSid": "TR_1"})
        );
        let d = CallEvent::Disconnected {
            reason: DisconnectReason::NetworkError,
        };
        assert_eq!(
            serde_json::to_value(&d).unwrap(),
            serde_json::json!({"type": "disconnected", "reason": "networkError"})
        );
        let r = CallEvent::Reconnected {
            kind: AttemptKind::Rejoin,
        };
        assert_eq!(
            serde_json::to_value(&r).unwrap(),
            serde_json::json!({"type": "reconnected", "kind": "rejoin"})
        );
    }

    #[test]
    fn server_leave_reasons_map() {
        use proto::DisconnectReason as R;
        assert_eq!(
            DisconnectReason::from_proto(R::ParticipantRemoved as i32),
            DisconnectReason::ParticipantRemoved
        );
        assert_eq!(
            DisconnectReason::from_proto(R::RoomDeleted as i32),
            DisconnectReason::RoomDeleted
        );
        assert_eq!(DisconnectReason::from_proto(9999), DisconnectReason::Other);
    }
}
