//! Who is in the room and how they are doing, kept from the server's
//! signalling updates. Pure state: messages in, changes out.
//!
//! Remote participants are keyed by identity, not sid: a participant who
//! rejoins (or whom the server re-creates after a migration) gets a new sid
//! but is the same person, and must not show twice.

use std::collections::BTreeMap;

use livekit_protocol as proto;
use serde::Serialize;

/// The spec's connection quality, from the server's score (>80 excellent,
/// >40 good, >20 poor, else lost; updated every few seconds).
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub enum ConnectionQuality {
    Excellent,
    Good,
    Poor,
    Lost,
    /// Not reported yet.
    #[default]
    Unknown,
}

impl ConnectionQuality {
    fn from_proto(q: i32) -> Self {
        match proto::ConnectionQuality::try_from(q) {
            Ok(proto::ConnectionQuality::Excellent) => Self::Excellent,
            Ok(proto::ConnectionQuality::Good) => Self::Good,
            Ok(proto::ConnectionQuality::Poor) => Self::Poor,
            Ok(proto::ConnectionQuality::Lost) => Self::Lost,
            Err(_) => Self::Unknown,
        }
    }
}

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum TrackKind {
    Audio,
    Video,
    Data,
}

/// A track a participant publishes.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TrackInfo {
    pub sid: String,
    pub name: String,
    pub kind: TrackKind,
    pub muted: bool,
    /// A shared screen (or its sound), not a camera or microphone.
    pub screen: bool,
    /// The server has paused it for us: our connection cannot carry even
    /// its smallest layer (LiveKit's stream state, where the deployment
    /// allows pausing). Nothing comes until it says otherwise.
    pub paused: bool,
    /// Its codec as the server names it ("VP8", "AV1"; empty until known).
    pub codec: String,
    /// The server cannot send it to us: its codec is one we cannot decode
    /// (LiveKit's subscription error). Nothing of it will come.
    pub unsupported: bool,
}

impl TrackInfo {
    fn from_proto(t: &proto::TrackInfo) -> Self {
        let kind = match proto::TrackType::try_from(t.r#type) {
            Ok(proto::TrackType::Video) => TrackKind::Video,
            Ok(proto::TrackType::Data) => TrackKind::Data,
            _ => TrackKind::Audio,
        };
        TrackInfo {
            sid: t.sid.clone(),
            name: t.name.clone(),
            kind,
            muted: t.muted,
            paused: false,
            codec: t
                .mime_type
                .split_once('/')
                .map_or("", |(_, codec)| codec)
                .to_string(),
            unsupported: false,
            screen: matches!(
                proto::TrackSource::try_from(t.source),
                Ok(proto::TrackSource::ScreenShare | proto::TrackSource::ScreenShareAudio)
            ),
        }
    }
}

/// One person in the call, as the UI shows them.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub sid: String,
    pub identity: String,
    pub name: String,
    pub connection_quality: ConnectionQuality,
    pub speaking: bool,
    pub audio_level: f32,
    pub tracks: Vec<TrackInfo>,
    #[serde(skip)]
    version: u32,
}

impl Participant {
    fn from_proto(p: &proto::ParticipantInfo) -> Self {
        Participant {
            sid: p.sid.clone(),
            identity: p.identity.clone(),
            name: p.name.clone(),
            connection_quality: ConnectionQuality::Unknown,
            speaking: false,
            audio_level: 0.0,
            tracks: p.tracks.iter().map(TrackInfo::from_proto).collect(),
            version: p.version,
        }
    }

    /// Muted when every audio track is muted (or there is none to hear).
    pub fn muted(&self) -> bool {
        self.tracks
            .iter()
            .filter(|t| t.kind == TrackKind::Audio)
            .all(|t| t.muted)
    }
}

/// What changed, for the event stream.
#[derive(Debug, Clone, PartialEq)]
pub enum RoomChange {
    Joined(Participant),
    Left { identity: String },
    Updated(Participant),
    LocalUpdated(Participant),
}

/// The room as this client knows it.
#[derive(Debug, Clone, Default)]
pub struct RoomState {
    pub name: String,
    local: Option<Participant>,
    remote: BTreeMap<String, Participant>,
}

fn is_gone(p: &proto::ParticipantInfo) -> bool {
    p.state == proto::participant_info::State::Disconnected as i32
}

impl RoomState {
    /// The room from a JoinResponse: everyone already there joins.
    pub fn from_join(join: &proto::JoinResponse) -> (Self, Vec<RoomChange>) {
        let mut room = RoomState {
            name: join
                .room
                .as_ref()
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            local: join.participant.as_ref().map(Participant::from_proto),
            remote: BTreeMap::new(),
        };
        let changes = room.reconcile(&join.other_participants);
        (room, changes)
    }

    /// The room from a rejoin's JoinResponse, starting from what we knew:
    /// those still there update, those gone leave, newcomers join. A UI
    /// sees no one leave and join again just because we reconnected.
    pub fn after_rejoin(
        previous: &RoomState,
        join: &proto::JoinResponse,
    ) -> (Self, Vec<RoomChange>) {
        let (mut room, _) = RoomState::from_join(&proto::JoinResponse {
            other_participants: Vec::new(),
            ..join.clone()
        });
        room.remote = previous.remote.clone();
        let changes = room.reconcile(&join.other_participants);
        (room, changes)
    }

    pub fn local(&self) -> Option<&Participant> {
        self.local.as_ref()
    }

    pub fn participants(&self) -> impl Iterator<Item = &Participant> {
        self.remote.values()
    }

    pub fn participant(&self, identity: &str) -> Option<&Participant> {
        self.remote.get(identity)
    }

    /// Replaces the remote list with a full one (after a rejoin): those not
    /// in it leave, new ones join, the rest update. No ghosts, no doubles.
    pub fn reconcile(&mut self, full: &[proto::ParticipantInfo]) -> Vec<RoomChange> {
        let present: Vec<&proto::ParticipantInfo> = full.iter().filter(|p| !is_gone(p)).collect();
        let mut changes: Vec<RoomChange> = self
            .remote
            .keys()
            .filter(|id| !present.iter().any(|p| &p.identity == *id))
            .map(|id| RoomChange::Left {
                identity: id.clone(),
            })
            .collect();
        for c in &changes {
            if let RoomChange::Left { identity } = c {
                self.remote.remove(identity);
            }
        }
        for p in present {
            changes.extend(self.upsert(p, true));
        }
        changes
    }

    /// A ParticipantUpdate: joins, leaves and changes, newest version wins.
    pub fn apply_update(&mut self, update: &proto::ParticipantUpdate) -> Vec<RoomChange> {
        let mut changes = Vec::new();
        for p in &update.participants {
            if self.local.as_ref().is_some_and(|l| l.sid == p.sid) {
                if let Some(local) = self.local.as_mut() {
                    if p.version >= local.version {
                        let kept = (local.connection_quality, local.speaking, local.audio_level);
                        *local = Participant::from_proto(p);
                        (local.connection_quality, local.speaking, local.audio_level) = kept;
                        changes.push(RoomChange::LocalUpdated(local.clone()));
                    }
                }
                continue;
            }
            if is_gone(p) {
                // Only the session that is leaving may remove the entry: a
                // stale leave of an old sid must not remove the rejoined one.
                if self.remote.get(&p.identity).is_some_and(|r| r.sid == p.sid) {
                    self.remote.remove(&p.identity);
                    changes.push(RoomChange::Left {
                        identity: p.identity.clone(),
                    });
                }
                continue;
            }
            changes.extend(self.upsert(p, false));
        }
        changes
    }

    fn upsert(&mut self, p: &proto::ParticipantInfo, force: bool) -> Option<RoomChange> {
        match self.remote.get_mut(&p.identity) {
            Some(existing) => {
                let newer = existing.sid != p.sid || p.version > existing.version;
                if !(newer || force) {
                    return None;
                }
                let kept = (
                    existing.connection_quality,
                    existing.speaking,
                    existing.audio_level,
                );
                let said = |pick: fn(&TrackInfo) -> bool| -> Vec<String> {
                    existing
                        .tracks
                        .iter()
                        .filter(|t| pick(t))
                        .map(|t| t.sid.clone())
                        .collect()
                };
                let (paused, unsupported) = (said(|t| t.paused), said(|t| t.unsupported));
                *existing = Participant::from_proto(p);
                (
                    existing.connection_quality,
                    existing.speaking,
                    existing.audio_level,
                ) = kept;
                // The server's word on a track's stream, and that it cannot
                // send it to us, stand until it says otherwise: a
                // participant update does not carry them.
                for t in &mut existing.tracks {
                    t.paused = paused.contains(&t.sid);
                    t.unsupported = unsupported.contains(&t.sid);
                }
                Some(RoomChange::Updated(existing.clone()))
            }
            None => {
                let new = Participant::from_proto(p);
                self.remote.insert(p.identity.clone(), new.clone());
                Some(RoomChange::Joined(new))
            }
        }
    }

    fn by_sid_mut(&mut self, sid: &str) -> Option<(&mut Participant, bool)> {
        if self.local.as_ref().is_some_and(|l| l.sid == sid) {
            return self.local.as_mut().map(|l| (l, true));
        }
        self.remote
            .values_mut()
            .find(|p| p.sid == sid)
            .map(|p| (p, false))
    }

    /// The server's quality scores, for remote participants and for us.
    pub fn apply_quality(&mut self, update: &proto::ConnectionQualityUpdate) -> Vec<RoomChange> {
        let mut changes = Vec::new();
        for info in &update.updates {
            let q = ConnectionQuality::from_proto(info.quality);
            if let Some((p, local)) = self.by_sid_mut(&info.participant_sid) {
                if p.connection_quality != q {
                    p.connection_quality = q;
                    changes.push(changed(p, local));
                }
            }
        }
        changes
    }

    /// The server's word on the streams it sends us: paused (our
    /// connection cannot carry them) or active again.
    pub fn apply_stream_states(&mut self, update: &proto::StreamStateUpdate) -> Vec<RoomChange> {
        let mut changes = Vec::new();
        for s in &update.stream_states {
            let paused = s.state == proto::StreamState::Paused as i32;
            if let Some((p, local)) = self.by_sid_mut(&s.participant_sid) {
                let Some(track) = p.tracks.iter_mut().find(|t| t.sid == s.track_sid) else {
                    continue;
                };
                if track.paused != paused {
                    track.paused = paused;
                    changes.push(changed(p, local));
                }
            }
        }
        changes
    }

    /// The server's word that it could not subscribe us to a track: for a
    /// codec we cannot decode, the track is marked so (nothing of it will
    /// come). Other errors (a track gone) change nothing here.
    pub fn apply_subscription_error(&mut self, r: &proto::SubscriptionResponse) -> Vec<RoomChange> {
        if r.err != proto::SubscriptionError::SeCodecUnsupported as i32 {
            return Vec::new();
        }
        for p in self.remote.values_mut() {
            if let Some(t) = p.tracks.iter_mut().find(|t| t.sid == r.track_sid) {
                if t.unsupported {
                    return Vec::new();
                }
                t.unsupported = true;
                return vec![changed(p, false)];
            }
        }
        Vec::new()
    }

    /// Speaker changes (only those whose state changed are sent).
    pub fn apply_speakers(&mut self, update: &proto::SpeakersChanged) -> Vec<RoomChange> {
        let mut changes = Vec::new();
        for s in &update.speakers {
            if let Some((p, local)) = self.by_sid_mut(&s.sid) {
                if p.speaking != s.active {
                    p.speaking = s.active;
                    p.audio_level = s.level;
                    changes.push(changed(p, local));
                }
            }
        }
        changes
    }
}

fn changed(p: &Participant, local: bool) -> RoomChange {
    if local {
        RoomChange::LocalUpdated(p.clone())
    } else {
        RoomChange::Updated(p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(sid: &str, identity: &str, version: u32) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            sid: sid.into(),
            identity: identity.into(),
            name: identity.to_uppercase(),
            version,
            state: proto::participant_info::State::Active as i32,
            ..Default::default()
        }
    }

    fn gone(sid: &str, identity: &str, version: u32) -> proto::ParticipantInfo {
        proto::ParticipantInfo {
            state: proto::participant_info::State::Disconnected as i32,
            ..info(sid, identity, version)
        }
    }

    fn joined_room() -> RoomState {
        let join = proto::JoinResponse {
            participant: Some(info("PA_me", "me", 1)),
            other_participants: vec![info("PA_a", "alice", 1)],
            ..Default::default()
        };
        let (room, changes) = RoomState::from_join(&join);
        assert!(matches!(&changes[..], [RoomChange::Joined(p)] if p.identity == "alice"));
        room
    }

    #[test]
    fn join_lists_everyone_but_us() {
        let room = joined_room();
        assert_eq!(room.participants().count(), 1);
        assert_eq!(room.local().unwrap().identity, "me");
    }

    #[test]
    fn updates_join_change_and_leave() {
        let mut room = joined_room();
        let ch = room.apply_update(&proto::ParticipantUpdate {
            participants: vec![info("PA_b", "bob", 1), info("PA_a", "alice", 2)],
        });
        assert_eq!(ch.len(), 2);
        assert!(matches!(&ch[0], RoomChange::Joined(p) if p.identity == "bob"));
        assert!(matches!(&ch[1], RoomChange::Updated(p) if p.identity == "alice"));
        // An older version changes nothing.
        assert!(room
            .apply_update(&proto::ParticipantUpdate {
                participants: vec![info("PA_a", "alice", 1)]
            })
            .is_empty());
        let ch = room.apply_update(&proto::ParticipantUpdate {
            participants: vec![gone("PA_b", "bob", 2)],
        });
        assert_eq!(
            ch,
            [RoomChange::Left {
                identity: "bob".into()
            }]
        );
        assert!(room.participant("bob").is_none());
    }

    #[test]
    fn a_rejoin_with_a_new_sid_is_the_same_person() {
        let mut room = joined_room();
        room.apply_update(&proto::ParticipantUpdate {
            participants: vec![info("PA_a2", "alice", 1)],
        });
        assert_eq!(room.participants().count(), 1);
        assert_eq!(room.participant("alice").unwrap().sid, "PA_a2");
        // The late leave of the old session must not remove the new one.
        let ch = room.apply_update(&proto::ParticipantUpdate {
            participants: vec![gone("PA_a", "alice", 3)],
        });
        assert!(ch.is_empty());
        assert!(room.participant("alice").is_some());
    }

    #[test]
    fn reconcile_removes_ghosts_and_adds_newcomers() {
        let mut room = joined_room();
        let ch = room.reconcile(&[info("PA_c", "carol", 1)]);
        assert!(ch.contains(&RoomChange::Left {
            identity: "alice".into()
        }));
        assert!(ch
            .iter()
            .any(|c| matches!(c, RoomChange::Joined(p) if p.identity == "carol")));
        let ids: Vec<&str> = room.participants().map(|p| p.identity.as_str()).collect();
        assert_eq!(ids, ["carol"]);
    }

    #[test]
    fn a_rejoin_updates_who_stayed_and_never_joins_them_twice() {
        let mut before = joined_room();
        before.apply_update(&proto::ParticipantUpdate {
            participants: vec![info("PA_b", "bob", 1)],
        });
        let join = proto::JoinResponse {
            participant: Some(info("PA_me2", "me", 1)),
            other_participants: vec![info("PA_b2", "bob", 1), info("PA_c", "carol", 1)],
            ..Default::default()
        };
        let (room, ch) = RoomState::after_rejoin(&before, &join);
        let joined: Vec<&str> = ch
            .iter()
            .filter_map(|c| match c {
                RoomChange::Joined(p) => Some(p.identity.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(joined, ["carol"]);
        assert!(ch.contains(&RoomChange::Left {
            identity: "alice".into()
        }));
        assert!(ch.iter().any(
            |c| matches!(c, RoomChange::Updated(p) if p.identity == "bob" && p.sid == "PA_b2")
        ));
        assert_eq!(room.local().unwrap().sid, "PA_me2");
    }

    #[test]
    fn quality_and_speakers_reach_remote_and_local() {
        let mut room = joined_room();
        let ch = room.apply_quality(&proto::ConnectionQualityUpdate {
            updates: vec![
                proto::ConnectionQualityInfo {
                    participant_sid: "PA_a".into(),
                    quality: proto::ConnectionQuality::Poor as i32,
                    score: 30.0,
                },
                proto::ConnectionQualityInfo {
                    participant_sid: "PA_me".into(),
                    quality: proto::ConnectionQuality::Excellent as i32,
                    score: 95.0,
                },
            ],
        });
        assert_eq!(ch.len(), 2);
        assert_eq!(
            room.participant("alice").unwrap().connection_quality,
            ConnectionQuality::Poor
        );
        assert_eq!(
            room.local().unwrap().connection_quality,
            ConnectionQuality::Excellent
        );
        let ch = room.apply_speakers(&proto::SpeakersChanged {
            speakers: vec![proto::SpeakerInfo {
                sid: "PA_a".into(),
                level: 0.6,
                active: true,
            }],
        });
        assert_eq!(ch.len(), 1);
        assert!(room.participant("alice").unwrap().speaking);
        // Quality survives a participant update.
        room.apply_update(&proto::ParticipantUpdate {
            participants: vec![info("PA_a", "alice", 5)],
        });
        assert_eq!(
            room.participant("alice").unwrap().connection_quality,
            ConnectionQuality::Poor
        );
    }

    #[test]
    fn quality_serialises_in_camel_case() {
        assert_eq!(
            serde_json::to_string(&ConnectionQuality::Excellent).unwrap(),
            "\"excellent\""
        );
    }

    #[test]
    fn muted_means_every_audio_track_muted() {
        let mut p = Participant::from_proto(&info("PA_x", "x", 1));
        assert!(p.muted(), "no audio track: nothing to hear");
        p.tracks.push(TrackInfo {
            sid: "TR_1".into(),
            name: "mic".into(),
            kind: TrackKind::Audio,
            muted: false,
            screen: false,
            paused: false,
            codec: "opus".into(),
            unsupported: false,
        });
        assert!(!p.muted());
        p.tracks[0].muted = true;
        assert!(p.muted());
    }

    #[test]
    fn a_track_in_a_codec_we_cannot_decode_is_marked_and_stays_so() {
        let mut with_video = info("PA_x", "x", 1);
        with_video.tracks.push(proto::TrackInfo {
            sid: "TR_v".into(),
            r#type: proto::TrackType::Video as i32,
            mime_type: "video/AV1".into(),
            ..Default::default()
        });
        let mut room = RoomState::default();
        room.apply_update(&proto::ParticipantUpdate {
            participants: vec![with_video.clone()],
        });
        let track = |room: &RoomState| room.participant("x").unwrap().tracks[0].clone();
        assert_eq!(track(&room).codec, "AV1");
        assert!(!track(&room).unsupported);
        let said = |sid: &str, err: proto::SubscriptionError| proto::SubscriptionResponse {
            track_sid: sid.into(),
            err: err as i32,
        };
        // A track gone, or one we do not have: nothing.
        assert!(room
            .apply_subscription_error(&said("TR_v", proto::SubscriptionError::SeTrackNotfound))
            .is_empty());
        assert!(room
            .apply_subscription_error(&said("TR_w", proto::SubscriptionError::SeCodecUnsupported))
            .is_empty());
        assert!(!track(&room).unsupported);
        let changes = room
            .apply_subscription_error(&said("TR_v", proto::SubscriptionError::SeCodecUnsupported));
        assert_eq!(changes.len(), 1);
        assert!(track(&room).unsupported);
        // Said again: no change; a newer participant update keeps it.
        assert!(room
            .apply_subscription_error(&said("TR_v", proto::SubscriptionError::SeCodecUnsupported))
            .is_empty());
        with_video.version = 2;
        room.apply_update(&proto::ParticipantUpdate {
            participants: vec![with_video],
        });
        assert!(track(&room).unsupported);
    }

    #[test]
    fn a_stream_the_server_pauses_stays_paused_until_it_says_otherwise() {
        let mut with_video = info("PA_x", "x", 1);
        with_video.tracks.push(proto::TrackInfo {
            sid: "TR_v".into(),
            r#type: proto::TrackType::Video as i32,
            ..Default::default()
        });
        let mut room = RoomState::default();
        room.apply_update(&proto::ParticipantUpdate {
            participants: vec![with_video.clone()],
        });
        let state = |track: &str, state: proto::StreamState| proto::StreamStateUpdate {
            stream_states: vec![proto::StreamStateInfo {
                participant_sid: "PA_x".into(),
                track_sid: track.into(),
                state: state as i32,
            }],
        };
        let paused = |room: &RoomState| room.participant("x").unwrap().tracks[0].paused;
        assert!(!paused(&room));
        let changes = room.apply_stream_states(&state("TR_v", proto::StreamState::Paused));
        assert_eq!(changes.len(), 1);
        assert!(paused(&room));
        // Said again: no change. An unknown track: nothing.
        assert!(room
            .apply_stream_states(&state("TR_v", proto::StreamState::Paused))
            .is_empty());
        assert!(room
            .apply_stream_states(&state("TR_w", proto::StreamState::Active))
            .is_empty());
        // A newer participant update keeps the server's word on the stream.
        with_video.version = 2;
        room.apply_update(&proto::ParticipantUpdate {
            participants: vec![with_video],
        });
        assert!(paused(&room));
        room.apply_stream_states(&state("TR_v", proto::StreamState::Active));
        assert!(!paused(&room));
    }
}
