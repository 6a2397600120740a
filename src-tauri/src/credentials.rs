//! Where this build's tokens come from: a development server's API key and
//! secret, from the environment (`RTCSTACK_SERVER_URL`, `RTCSTACK_API_KEY`,
//! `RTCSTACK_API_SECRET`, `RTCSTACK_ROOM`); the demo sets them. The secret
//! stays here: the UI only learns whether joining is possible. (Server
//! profiles with the secret in the OS keychain replace this.)

use std::sync::Arc;
use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};

/// Tokens minted here live this long; the call refreshes them by minting
/// again before they expire.
const TOKEN_TTL: Duration = Duration::from_secs(600);

/// A test and development knob: `RTCSTACK_TOKEN_TTL_SECS` makes minted
/// tokens short-lived (at least 10 s), so a test can see one expire during
/// an outage or a sleep.
fn token_ttl() -> Duration {
    std::env::var("RTCSTACK_TOKEN_TTL_SECS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(TOKEN_TTL, |s| Duration::from_secs(s.max(10)))
}

pub struct DevServer {
    pub url: String,
    pub room: String,
    key: Option<String>,
    secret: Option<String>,
    ttl: Duration,
}

impl std::fmt::Debug for DevServer {
    // The secret never reaches a log through Debug.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevServer")
            .field("url", &self.url)
            .field("room", &self.room)
            .field("key", &self.key)
            .field("secret", &self.secret.as_ref().map(|_| "<redacted>"))
            .finish()
    }
}

/// Makes tokens for one identity in one room.
pub type Minter = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

impl DevServer {
    pub fn from_env() -> Self {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        DevServer {
            url: var("RTCSTACK_SERVER_URL").unwrap_or_else(|| "ws://127.0.0.1:7880".into()),
            room: var("RTCSTACK_ROOM").unwrap_or_else(|| "demo".into()),
            key: var("RTCSTACK_API_KEY"),
            secret: var("RTCSTACK_API_SECRET"),
            ttl: token_ttl(),
        }
    }

    pub fn can_mint(&self) -> bool {
        self.key.is_some() && self.secret.is_some()
    }

    pub fn minter(&self, room: &str, identity: &str, name: &str) -> Result<Minter, String> {
        let (Some(key), Some(secret)) = (self.key.clone(), self.secret.clone()) else {
            return Err("No server key is configured: start the app with RTCSTACK_API_KEY and RTCSTACK_API_SECRET set (scripts/demo does).".into());
        };
        let (room, identity, name) = (room.to_string(), identity.to_string(), name.to_string());
        let ttl = self.ttl;
        Ok(Arc::new(move || {
            AccessToken::with_api_key(&key, &secret)
                .with_identity(&identity)
                .with_name(&name)
                .with_ttl(ttl)
                .with_grants(VideoGrants {
                    room_join: true,
                    room: room.clone(),
                    can_publish: Some(true),
                    can_subscribe: Some(true),
                    ..VideoGrants::default()
                })
                .to_jwt()
                .map_err(|e| format!("could not make a token: {e}"))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(key: Option<&str>) -> DevServer {
        DevServer {
            url: "ws://h".into(),
            room: "demo".into(),
            key: key.map(String::from),
            secret: key.map(|_| "a-very-secret-value-0123456789".to_string()),
            ttl: TOKEN_TTL,
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        assert!(!format!("{:?}", server(Some("k"))).contains("a-very-secret"));
    }

    #[test]
    fn mints_for_the_room_and_identity_or_says_what_is_missing() {
        let t = server(Some("k")).minter("r1", "ada-1", "Ada").unwrap()().unwrap();
        let info = rtcstack::token::inspect(&t).unwrap();
        assert_eq!(
            (info.identity.as_str(), info.room.as_str()),
            ("ada-1", "r1")
        );
        let err = server(None).minter("r1", "ada-1", "Ada").err().unwrap();
        assert!(err.contains("RTCSTACK_API_KEY"), "{err}");
    }
}
