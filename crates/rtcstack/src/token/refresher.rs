//! Where a new token comes from when the current one runs out: the app's
//! backend, a key it holds, a user. The SDK only calls it, with a deadline;
//! it never learns how a token is made.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{freshness, inspect, Freshness, TokenInfo};

/// Why no new token came back. Each message says what went wrong without
/// quoting any token or credential.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefreshError {
    /// The token service refused us (e.g. 401/403): the user must sign in.
    #[error("the token service refused the request: {0}")]
    Refused(String),
    /// Network trouble or a server error: worth trying again later.
    #[error("the token service could not be reached: {0}")]
    Unavailable(String),
    #[error("the token refresher did not answer within {0:?}")]
    Timeout(Duration),
    /// An answer that cannot be used to join this call.
    #[error("the token refresher returned an unusable token: {0}")]
    BadToken(String),
}

/// Fetches a fresh access token: the desktop form of the spec's
/// `tokenRefresher`. Called before a reconnect whose token is near or past
/// expiry, and once proactively when the expiry window opens.
#[async_trait::async_trait]
pub trait TokenRefresher: Send + Sync {
    async fn refresh(&self) -> Result<String, RefreshError>;
}

/// A refresher made from an async closure.
pub fn refresher_fn<F, Fut>(f: F) -> Arc<dyn TokenRefresher>
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<String, RefreshError>> + Send + 'static,
{
    struct FnRefresher<F>(F);
    #[async_trait::async_trait]
    impl<F, Fut> TokenRefresher for FnRefresher<F>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<String, RefreshError>> + Send + 'static,
    {
        async fn refresh(&self) -> Result<String, RefreshError> {
            (self.0)().await
        }
    }
    Arc::new(FnRefresher(f))
}

/// Checks that a refreshed token can replace `current`: readable, for the
/// same identity and room, and not already expired.
pub fn check_replacement(
    token: &str,
    current: &TokenInfo,
    now: SystemTime,
) -> Result<TokenInfo, RefreshError> {
    let info = inspect(token).map_err(|e| RefreshError::BadToken(e.to_string()))?;
    if info.identity != current.identity {
        return Err(RefreshError::BadToken(format!(
            "it is for identity {:?}, the call is {:?}",
            info.identity, current.identity
        )));
    }
    if !current.room.is_empty() && info.room != current.room {
        return Err(RefreshError::BadToken(format!(
            "it is for room {:?}, the call is in {:?}",
            info.room, current.room
        )));
    }
    if freshness(info.expires_at, now, Duration::ZERO) == Freshness::Expired {
        return Err(RefreshError::BadToken("it has already expired".into()));
    }
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::{AccessToken, VideoGrants};

    const SECRET: &str = "test-secret-test-secret-test-secret-0123";

    fn token(identity: &str, room: &str, ttl: Duration) -> String {
        AccessToken::with_api_key("key", SECRET)
            .with_identity(identity)
            .with_ttl(ttl)
            .with_grants(VideoGrants {
                room_join: true,
                room: room.into(),
                ..Default::default()
            })
            .to_jwt()
            .unwrap()
    }

    fn current() -> TokenInfo {
        inspect(&token("alice", "r1", Duration::from_secs(60))).unwrap()
    }

    #[test]
    fn a_token_for_the_same_call_replaces_the_current_one() {
        let t = token("alice", "r1", Duration::from_secs(600));
        let info = check_replacement(&t, &current(), SystemTime::now()).unwrap();
        assert_eq!(info.identity, "alice");
    }

    #[test]
    fn unusable_answers_are_refused_with_the_reason() {
        let now = SystemTime::now();
        let cases = [
            ("not a jwt".to_string(), "not a LiveKit access token"),
            (token("mallory", "r1", Duration::from_secs(600)), "identity"),
            (token("alice", "r2", Duration::from_secs(600)), "room"),
        ];
        for (t, says) in cases {
            let err = check_replacement(&t, &current(), now).unwrap_err();
            assert!(err.to_string().contains(says), "{err}");
        }
        let later = now + Duration::from_secs(3600);
        let t = token("alice", "r1", Duration::from_secs(600));
        let err = check_replacement(&t, &current(), later).unwrap_err();
        assert_eq!(err, RefreshError::BadToken("it has already expired".into()));
    }

    #[test]
    fn errors_never_quote_the_token() {
        let t = token("mallory", "r1", Duration::from_secs(600));
        let err = check_replacement(&t, &current(), SystemTime::now()).unwrap_err();
        assert!(!err.to_string().contains(&t));
    }

    #[tokio::test]
    async fn a_closure_is_a_refresher() {
        let r = refresher_fn(|| async { Err(RefreshError::Refused("401".into())) });
        assert_eq!(r.refresh().await, Err(RefreshError::Refused("401".into())));
    }
}
