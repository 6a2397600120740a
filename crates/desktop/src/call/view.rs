//! What the UI shows, as one snapshot the call controller folds from the
//! call's events and sends whole on every change. The UI renders it and
//! keeps no state of its own, so it cannot drift from the truth.

use rtcstack::events::AttemptKind;
use rtcstack::room::TrackKind;
use rtcstack::{CallEvent, ConnectionQuality, ConnectionState, DisconnectReason, Participant};
use serde::Serialize;
use ts_rs::TS;

/// The call as the UI shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct CallView {
    pub state: ConnectionState,
    pub room: Option<String>,
    /// The reconnect attempt in progress or next (0 when connected).
    pub attempt: u32,
    /// When the next attempt starts (Unix ms), while one is waiting.
    #[ts(type = "number | null")]
    pub next_attempt_at_ms: Option<u64>,
    /// How the call last came back from an outage: resumed (the same
    /// session, nobody saw us go) or rejoined (a new one); none before the
    /// first outage of a join.
    pub last_reconnect: Option<AttemptKind>,
    /// Why the call ended, once it has, and what to tell the user.
    pub disconnect_reason: Option<DisconnectReason>,
    pub end_message: Option<crate::i18n::Sentence>,
    /// Everyone else, by identity.
    pub participants: Vec<Participant>,
    /// Us, as the server sees us (our connection quality).
    pub local: Option<Participant>,
    /// Why each quality is what it is (ours under our identity), from our
    /// own measurements; updated once a second.
    pub reasons: Vec<super::stats::QualityReason>,
    /// Our microphone is muted, as the server last confirmed it (from our
    /// own participant's tracks): what everyone else hears.
    pub muted: bool,
    /// The push-to-talk key is held and has opened the microphone.
    pub talking: bool,
    /// Our screen is shared.
    pub sharing: bool,
    /// The camera we show (its id), if any.
    pub camera: Option<String>,
    /// That camera is muted: its video stays published, showing nothing,
    /// and the device is let go (its light off).
    pub camera_muted: bool,
    /// When the token expires (Unix ms).
    #[ts(type = "number | null")]
    pub token_expires_at_ms: Option<u64>,
    /// The token is about to expire and cannot be refreshed.
    pub token_warning: bool,
    /// The profile can get new tokens (so an expiring one is no news until
    /// a refresh fails).
    pub token_refreshable: bool,
    /// What the user should know that does not stop the call (listening
    /// only, no speaker), in order.
    pub notices: Vec<crate::i18n::Sentence>,
    /// How the media gets through when it is not the usual way (UDP
    /// blocked, only a relay): a notice, not an error.
    pub path_notice: Option<crate::i18n::Sentence>,
    /// Which change this is, and when the shell made it (Unix ms, with
    /// fractions): the UI benchmark measures the way to the screen.
    #[ts(type = "number")]
    pub seq: u64,
    pub sent_at_ms: f64,
}

impl CallView {
    /// Folds one event in; `now_ms` is the wall clock in Unix ms.
    pub fn apply(&mut self, event: &CallEvent, now_ms: u64) {
        match event {
            CallEvent::ConnectionStateChanged { state } => {
                // Qualities are kept as last known through an outage: the
                // server only sends changes, so a quality blanked here
                // stayed "Unknown" after the call came back, and the banner
                // already says the link is lost.
                self.state = *state;
                if *state != ConnectionState::Reconnecting {
                    self.attempt = 0;
                    self.next_attempt_at_ms = None;
                }
                if *state == ConnectionState::Connecting {
                    self.talking = false;
                    self.disconnect_reason = None;
                    self.end_message = None;
                    self.last_reconnect = None;
                }
            }
            CallEvent::Reconnecting { attempt } => {
                self.attempt = *attempt;
                self.next_attempt_at_ms = None;
            }
            CallEvent::ReconnectScheduled { attempt, in_ms } => {
                self.attempt = *attempt;
                self.next_attempt_at_ms = Some(now_ms + in_ms);
            }
            CallEvent::Reconnected { kind } => self.last_reconnect = Some(*kind),
            // The banner shows the next attempt; the report keeps the failure.
            CallEvent::Connected
            | CallEvent::TrackSubscribed { .. }
            | CallEvent::ReconnectFailed { .. } => {}
            CallEvent::Disconnected { reason } => {
                self.disconnect_reason = Some(*reason);
                self.end_message = Some(super::end_message::end_message(*reason));
            }
            CallEvent::TokenExpired => self.token_warning = !self.token_refreshable,
            CallEvent::TokenUpdated { expires_at_ms } => {
                self.token_expires_at_ms = Some(*expires_at_ms);
                self.token_warning = false;
            }
            CallEvent::TokenRefreshFailed { .. } => self.token_warning = true,
            CallEvent::ParticipantJoined { participant }
            | CallEvent::ParticipantUpdated { participant } => {
                match self
                    .participants
                    .iter_mut()
                    .find(|p| p.identity == participant.identity)
                {
                    Some(p) => *p = with_known_quality(participant, Some(p)),
                    None => self.participants.push(participant.clone()),
                }
            }
            CallEvent::ParticipantLeft { identity } => {
                self.participants.retain(|p| &p.identity != identity)
            }
            CallEvent::LocalParticipantUpdated { participant } => {
                self.muted = microphone_muted(participant);
                self.local = Some(with_known_quality(participant, self.local.as_ref()));
            }
        }
    }
}

/// The participant as now told, with the quality last known if the news
/// has none: the server never says "unknown" (its scores are excellent,
/// good, poor, lost), so Unknown means not told yet, as after a rejoin,
/// where everyone comes back from the new session's join without a score
/// and the server sends one only when it changes.
fn with_known_quality(new: &Participant, known: Option<&Participant>) -> Participant {
    let mut p = new.clone();
    if p.connection_quality == ConnectionQuality::Unknown {
        if let Some(known) = known {
            p.connection_quality = known.connection_quality;
        }
    }
    p
}

/// Whether we publish a microphone and it is muted. Listening only (no
/// audio track) is not "muted": there is nothing to unmute.
pub(super) fn microphone_muted(local: &Participant) -> bool {
    let mut audio = local.tracks.iter().filter(|t| t.kind == TrackKind::Audio);
    let first = audio.next();
    first.is_some_and(|t| t.muted) && audio.all(|t| t.muted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_shows_attempts_and_countdown_then_clears() {
        let mut v = CallView::default();
        let t = 1_000_000;
        for e in [
            CallEvent::ConnectionStateChanged {
                state: ConnectionState::Connected,
            },
            CallEvent::ConnectionStateChanged {
                state: ConnectionState::Reconnecting,
            },
            CallEvent::Reconnecting { attempt: 1 },
            CallEvent::ReconnectScheduled {
                attempt: 2,
                in_ms: 1500,
            },
        ] {
            v.apply(&e, t);
        }
        assert_eq!(v.state, ConnectionState::Reconnecting);
        assert_eq!(v.attempt, 2);
        assert_eq!(v.next_attempt_at_ms, Some(t + 1500));
        v.apply(&CallEvent::Reconnecting { attempt: 2 }, t + 1500);
        assert_eq!(v.next_attempt_at_ms, None);
        v.apply(
            &CallEvent::ConnectionStateChanged {
                state: ConnectionState::Connected,
            },
            t + 2000,
        );
        assert_eq!((v.attempt, v.next_attempt_at_ms), (0, None));
        assert_eq!(v.last_reconnect, None, "no Reconnected yet");
        v.apply(
            &CallEvent::Reconnected {
                kind: AttemptKind::Rejoin,
            },
            t + 2000,
        );
        assert_eq!(v.last_reconnect, Some(AttemptKind::Rejoin));
        // A new join starts with no outage behind it.
        v.apply(
            &CallEvent::ConnectionStateChanged {
                state: ConnectionState::Connecting,
            },
            t + 3000,
        );
        assert_eq!(v.last_reconnect, None);
    }

    #[test]
    fn the_end_keeps_its_reason_and_a_new_join_clears_it() {
        let mut v = CallView::default();
        v.apply(
            &CallEvent::Disconnected {
                reason: DisconnectReason::NetworkError,
            },
            0,
        );
        assert_eq!(v.disconnect_reason, Some(DisconnectReason::NetworkError));
        assert_eq!(
            v.end_message.as_ref().map(|m| m.say("en")).as_deref(),
            Some("Could not reconnect. Please rejoin.")
        );
        v.apply(
            &CallEvent::ConnectionStateChanged {
                state: ConnectionState::Connecting,
            },
            0,
        );
        assert_eq!(v.disconnect_reason, None);
    }

    #[test]
    fn the_token_warning_shows_until_a_new_token_comes() {
        let mut v = CallView::default();
        v.apply(&CallEvent::TokenExpired, 0);
        assert!(v.token_warning, "no refresher: expiring is news");
        let mut refreshable = CallView {
            token_refreshable: true,
            ..Default::default()
        };
        refreshable.apply(&CallEvent::TokenExpired, 0);
        assert!(!refreshable.token_warning, "a refresh is under way");
        v.apply(
            &CallEvent::TokenUpdated {
                expires_at_ms: 9_000,
            },
            0,
        );
        assert!(!v.token_warning);
        assert_eq!(v.token_expires_at_ms, Some(9_000));
        v.apply(
            &CallEvent::TokenRefreshFailed {
                reason: "the token service could not be reached".into(),
            },
            0,
        );
        assert!(v.token_warning);
    }

    #[test]
    fn serialised_in_the_spec_words() {
        let v = CallView {
            state: ConnectionState::Reconnecting,
            attempt: 3,
            ..Default::default()
        };
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["state"], "reconnecting");
        assert_eq!(j["attempt"], 3);
        assert!(j.get("nextAttemptAtMs").is_some());
    }

    /// A participant as the SDK makes one: from the server's words.
    fn participant(identity: &str, q: ConnectionQuality, mics: &[bool]) -> Participant {
        use livekit_protocol as proto;
        let info = proto::ParticipantInfo {
            sid: format!("PA_{identity}"),
            identity: identity.into(),
            tracks: mics
                .iter()
                .map(|&muted| proto::TrackInfo {
                    sid: "TR_mic".into(),
                    r#type: proto::TrackType::Audio as i32,
                    muted,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        let (room, _) = rtcstack::room::RoomState::from_join(&proto::JoinResponse {
            participant: Some(info),
            ..Default::default()
        });
        let mut p = room.local().cloned().expect("the local participant");
        p.connection_quality = q;
        p
    }

    #[test]
    fn qualities_are_kept_through_an_outage() {
        let mut v = CallView::default();
        let peer = participant("peer", ConnectionQuality::Excellent, &[]);
        v.apply(&CallEvent::ParticipantJoined { participant: peer }, 0);
        v.apply(
            &CallEvent::LocalParticipantUpdated {
                participant: participant("us", ConnectionQuality::Good, &[]),
            },
            0,
        );
        for state in [ConnectionState::Reconnecting, ConnectionState::Connected] {
            v.apply(&CallEvent::ConnectionStateChanged { state }, 0);
            // The server resends only what changes: nothing came, so the
            // last known qualities stand.
            assert_eq!(
                v.participants[0].connection_quality,
                ConnectionQuality::Excellent
            );
            assert_eq!(
                v.local.as_ref().map(|l| l.connection_quality),
                Some(ConnectionQuality::Good)
            );
        }
    }

    #[test]
    fn a_rejoin_without_scores_keeps_the_last_known_qualities() {
        let mut v = CallView::default();
        v.apply(
            &CallEvent::ParticipantJoined {
                participant: participant("peer", ConnectionQuality::Good, &[]),
            },
            0,
        );
        v.apply(
            &CallEvent::LocalParticipantUpdated {
                participant: participant("us", ConnectionQuality::Excellent, &[]),
            },
            0,
        );
        // The new session's join lists everyone again, unscored.
        v.apply(
            &CallEvent::ParticipantUpdated {
                participant: participant("peer", ConnectionQuality::Unknown, &[true]),
            },
            0,
        );
        v.apply(
            &CallEvent::LocalParticipantUpdated {
                participant: participant("us", ConnectionQuality::Unknown, &[]),
            },
            0,
        );
        assert_eq!(
            v.participants[0].connection_quality,
            ConnectionQuality::Good
        );
        assert!(v.participants[0].tracks[0].muted, "the rest is the news");
        assert_eq!(
            v.local.as_ref().map(|l| l.connection_quality),
            Some(ConnectionQuality::Excellent)
        );
        // A score the server gives is taken, whatever it is.
        v.apply(
            &CallEvent::ParticipantUpdated {
                participant: participant("peer", ConnectionQuality::Lost, &[]),
            },
            0,
        );
        assert_eq!(
            v.participants[0].connection_quality,
            ConnectionQuality::Lost
        );
    }

    #[test]
    fn muted_is_what_the_server_confirms_for_our_microphone() {
        let mut v = CallView::default();
        let us = |mics: &[bool]| CallEvent::LocalParticipantUpdated {
            participant: participant("us", ConnectionQuality::Good, mics),
        };
        v.apply(&us(&[]), 0);
        assert!(!v.muted, "listening only: nothing to unmute");
        v.apply(&us(&[true]), 0);
        assert!(v.muted);
        v.apply(&us(&[false]), 0);
        assert!(!v.muted);
    }
}
