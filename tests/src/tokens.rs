//! Access tokens with chosen identity, grants and TTL, minted by LiveKit's
//! own `livekit-api` crate.

use std::time::Duration;

use anyhow::{Context, Result};
use livekit_api::access_token::{AccessToken, VideoGrants};

/// What a token grants. Start from [`TokenSpec::join`] or [`TokenSpec::admin`].
#[derive(Debug, Clone)]
pub struct TokenSpec {
    pub identity: String,
    pub name: Option<String>,
    pub ttl: Duration,
    pub grants: VideoGrants,
}

impl TokenSpec {
    /// Join `room` as `identity`, publish and subscribe, valid for 10 minutes.
    pub fn join(room: &str, identity: &str) -> Self {
        TokenSpec {
            identity: identity.to_string(),
            name: None,
            ttl: Duration::from_secs(600),
            grants: VideoGrants {
                room_join: true,
                room: room.to_string(),
                can_publish: Some(true),
                can_subscribe: Some(true),
                can_publish_data: Some(true),
                ..VideoGrants::default()
            },
        }
    }

    /// Administer `room` through the RoomService (no join).
    pub fn admin(room: &str) -> Self {
        TokenSpec {
            identity: "rtcstack-bench-admin".to_string(),
            name: None,
            ttl: Duration::from_secs(600),
            grants: VideoGrants {
                room_admin: true,
                room_create: true,
                room_list: true,
                room: room.to_string(),
                ..VideoGrants::default()
            },
        }
    }

    pub fn ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    pub fn grants(mut self, f: impl FnOnce(&mut VideoGrants)) -> Self {
        f(&mut self.grants);
        self
    }

    /// Signs the token (HS256) with the server's key and secret.
    pub fn mint(&self, api_key: &str, api_secret: &str) -> Result<String> {
        let mut token = AccessToken::with_api_key(api_key, api_secret)
            .with_identity(&self.identity)
            .with_ttl(self.ttl)
            .with_grants(self.grants.clone());
        if let Some(name) = &self.name {
            token = token.with_name(name);
        }
        token.to_jwt().context("signing an access token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::{Claims, TokenVerifier};

    #[test]
    fn minted_token_carries_identity_room_and_ttl() {
        let jwt = TokenSpec::join("room-a", "alice")
            .name("Alice")
            .ttl(Duration::from_secs(90))
            .mint("key", "a-secret-long-enough-for-hs256-signing!!")
            .unwrap();
        let claims: Claims =
            TokenVerifier::with_api_key("key", "a-secret-long-enough-for-hs256-signing!!")
                .verify(&jwt)
                .unwrap();
        assert_eq!(claims.sub, "alice");
        assert_eq!(claims.name, "Alice");
        assert_eq!(claims.video.room, "room-a");
        assert!(claims.video.room_join);
        assert_eq!(claims.exp - claims.nbf, 90);
    }

    #[test]
    fn wrong_secret_does_not_verify() {
        let jwt = TokenSpec::join("r", "bob")
            .mint("key", "the-right-secret-the-right-secret")
            .unwrap();
        assert!(
            TokenVerifier::with_api_key("key", "the-wrong-secret-the-wrong-secret")
                .verify(&jwt)
                .is_err()
        );
    }
}
