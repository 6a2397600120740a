//! The server's Twirp RoomService, through LiveKit's own `livekit-api` client.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use livekit_api::services::room::RoomClient;
use livekit_protocol as proto;

pub struct RoomService {
    client: RoomClient,
}

impl RoomService {
    pub fn new(http_url: &str, api_key: &str, api_secret: &str) -> Self {
        RoomService {
            client: RoomClient::with_api_key(http_url, api_key, api_secret)
                .with_failover(false)
                .with_request_timeout(Duration::from_secs(5)),
        }
    }

    /// The underlying client, for calls not wrapped here.
    pub fn client(&self) -> &RoomClient {
        &self.client
    }

    pub async fn list_participants(&self, room: &str) -> Result<Vec<proto::ParticipantInfo>> {
        self.client
            .list_participants(room)
            .await
            .with_context(|| format!("ListParticipants({room})"))
    }

    pub async fn identities(&self, room: &str) -> Result<Vec<String>> {
        let mut ids: Vec<String> = self
            .list_participants(room)
            .await?
            .into_iter()
            .map(|p| p.identity)
            .collect();
        ids.sort();
        Ok(ids)
    }

    /// Polls ListParticipants until `identity` is in `room`.
    pub async fn wait_for_participant(
        &self,
        room: &str,
        identity: &str,
        within: Duration,
    ) -> Result<proto::ParticipantInfo> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(p) = self
                .list_participants(room)
                .await
                .unwrap_or_default()
                .into_iter()
                .find(|p| p.identity == identity)
            {
                return Ok(p);
            }
            if Instant::now() > deadline {
                bail!("{identity} not listed in room {room} within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub async fn remove_participant(&self, room: &str, identity: &str) -> Result<()> {
        self.client
            .remove_participant(room, identity)
            .await
            .with_context(|| format!("RemoveParticipant({room}, {identity})"))
    }

    pub async fn mute_track(
        &self,
        room: &str,
        identity: &str,
        track_sid: &str,
        muted: bool,
    ) -> Result<proto::TrackInfo> {
        self.client
            .mute_published_track(room, identity, track_sid, muted)
            .await
            .with_context(|| format!("MutePublishedTrack({room}, {identity}, {track_sid})"))
    }

    pub async fn delete_room(&self, room: &str) -> Result<()> {
        self.client
            .delete_room(room)
            .await
            .with_context(|| format!("DeleteRoom({room})"))
    }
}
