//! What the SDK needs to know about a LiveKit access token: who it is for,
//! which room, and when it expires; and whether that is soon.
//!
//! The client holds no secret, so it cannot verify the signature (the server
//! does); it only reads the claims. Time is passed in, never read here, so
//! every expiry rule is testable on a virtual clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use livekit_api::access_token::Claims;

mod refresher;
pub use refresher::{check_replacement, refresher_fn, RefreshError, TokenRefresher};

/// `TokenExpired` fires this long before `exp` unless configured otherwise.
pub const DEFAULT_EXPIRY_WINDOW: Duration = Duration::from_secs(60);

/// The parts of a token the SDK acts on. Holds no part of the token itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub identity: String,
    pub room: String,
    pub expires_at: SystemTime,
}

/// Why a token cannot be used to join.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("the token is not a LiveKit access token (a JWT of three base64url parts with an `exp` claim): {0}")]
    Malformed(String),
    #[error("the token names no participant identity (`sub` claim)")]
    NoIdentity,
    #[error("the token does not grant joining a room (`video.roomJoin`)")]
    NoJoinGrant,
}

/// Reads a token's claims without verifying its signature.
pub fn inspect(token: &str) -> Result<TokenInfo, TokenError> {
    let claims = Claims::from_unverified(token.trim())
        // The decoder's message names the failing part, never the token.
        .map_err(|e| TokenError::Malformed(e.to_string()))?;
    if claims.sub.is_empty() {
        return Err(TokenError::NoIdentity);
    }
    if !claims.video.room_join {
        return Err(TokenError::NoJoinGrant);
    }
    // An `exp` past what the clock can hold is no expiry time at all
    // (and adding it would panic).
    let expires_at = UNIX_EPOCH
        .checked_add(Duration::from_secs(claims.exp as u64))
        .ok_or_else(|| TokenError::Malformed(format!("`exp` {} is out of range", claims.exp)))?;
    Ok(TokenInfo {
        identity: claims.sub,
        room: claims.video.room,
        expires_at,
    })
}

/// Where a token stands against the clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Freshness {
    /// Outside the expiry window.
    Fresh,
    /// Inside the window: refresh now, warn the user if no refresher.
    Expiring,
    /// Past `exp`: the server will refuse it.
    Expired,
}

/// How fresh a token expiring at `expires_at` is at `now`.
pub fn freshness(expires_at: SystemTime, now: SystemTime, window: Duration) -> Freshness {
    match expires_at.duration_since(now) {
        Err(_) | Ok(Duration::ZERO) => Freshness::Expired,
        Ok(left) if left <= window => Freshness::Expiring,
        Ok(_) => Freshness::Fresh,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::{AccessToken, VideoGrants};

    const SECRET: &str = "test-secret-test-secret-test-secret-0123";

    fn token(identity: &str, join: bool, ttl: Duration) -> String {
        AccessToken::with_api_key("key", SECRET)
            .with_identity(identity)
            .with_ttl(ttl)
            .with_grants(VideoGrants {
                room_join: join,
                room: "standup".into(),
                ..VideoGrants::default()
            })
            .to_jwt()
            .unwrap()
    }

    #[test]
    fn an_expiry_past_the_clocks_range_is_malformed_not_a_panic() {
        // {"sub":"ada","iss":"key","nbf":0,"exp":18446744073709551615,
        //  "video":{"roomJoin":true,"room":"r"}}, signature irrelevant.
        let t = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhZGEiLCJpc3MiOiJrZXkiLCJuYmYiOjAsImV4cCI6MTg0NDY3NDQwNzM3MDk1NTE2MTUsInZpZGVvIjp7InJvb21Kb2luIjp0cnVlLCJyb29tIjoiciJ9fQ.c2ln";
        assert!(
            matches!(inspect(t), Err(TokenError::Malformed(_))),
            "{:?}",
            inspect(t)
        );
    }

    #[test]
    fn reads_identity_room_and_expiry() {
        let before = SystemTime::now();
        let info = inspect(&token("alice", true, Duration::from_secs(300))).unwrap();
        assert_eq!(info.identity, "alice");
        assert_eq!(info.room, "standup");
        let ttl = info.expires_at.duration_since(before).unwrap();
        assert!((298..=301).contains(&ttl.as_secs()), "ttl {ttl:?}");
    }

    #[test]
    fn an_expired_token_still_inspects() {
        // Expiry is judged by `freshness`, with the caller's clock.
        let info = inspect(&token("bob", true, Duration::ZERO)).unwrap();
        assert_eq!(
            freshness(
                info.expires_at,
                SystemTime::now() + Duration::from_secs(5),
                DEFAULT_EXPIRY_WINDOW
            ),
            Freshness::Expired
        );
    }

    #[test]
    fn rejects_what_is_not_a_join_token() {
        assert!(matches!(
            inspect("not-a-jwt"),
            Err(TokenError::Malformed(_))
        ));
        assert!(matches!(inspect(""), Err(TokenError::Malformed(_))));
        assert!(matches!(inspect("a.b.c"), Err(TokenError::Malformed(_))));
        // A join token with no `sub` (LiveKit's own minting refuses to make
        // one, so it is written out: {"exp":4102444800,"iss":"key","nbf":0,
        // "video":{"roomJoin":true,"room":"standup"}}, signature unchecked).
        let no_sub = concat!(
            "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.",
            "eyJleHAiOjQxMDI0NDQ4MDAsImlzcyI6ImtleSIsIm5iZiI6MCwidmlkZW8iOnsicm9vbUpvaW4iOnRydWUsInJvb20iOiJzdGFuZHVwIn19.",
            "c2ln"
        );
        assert_eq!(inspect(no_sub), Err(TokenError::NoIdentity));
        assert_eq!(
            inspect(&token("carol", false, Duration::from_secs(60))),
            Err(TokenError::NoJoinGrant)
        );
    }

    #[test]
    fn errors_never_echo_the_token() {
        let t = token("dave", true, Duration::from_secs(60));
        let broken = format!("{}x", &t[..t.len() / 2]);
        let msg = inspect(&broken).unwrap_err().to_string();
        assert!(
            !msg.contains(&broken[..20]),
            "error repeats the token: {msg}"
        );
    }

    #[test]
    fn freshness_at_the_window_edges() {
        let exp = UNIX_EPOCH + Duration::from_secs(1_000_000);
        let w = Duration::from_secs(60);
        let at = |s: u64| UNIX_EPOCH + Duration::from_secs(s);
        assert_eq!(freshness(exp, at(1_000_000 - 61), w), Freshness::Fresh);
        assert_eq!(freshness(exp, at(1_000_000 - 60), w), Freshness::Expiring);
        assert_eq!(freshness(exp, at(1_000_000 - 1), w), Freshness::Expiring);
        assert_eq!(freshness(exp, at(1_000_000), w), Freshness::Expired);
        assert_eq!(freshness(exp, at(1_000_001), w), Freshness::Expired);
    }
}
