//! Access tokens with chosen identity, grants and TTL, minted by LiveKit's
//! own `livekit-api` crate; and the leak search's eyes: every JWT-shaped
//! string, and any given secret, in a heap of bytes.

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

/// A byte of a base64url segment (with `=`, in case a writer padded it).
fn b64url(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'='
}

/// The text in `bytes` as the search reads it: NUL bytes dropped, so text
/// stored as UTF-16 (WebKit's web storage, for one) reads as ASCII does.
fn readable(bytes: &[u8]) -> Vec<u8> {
    bytes.iter().copied().filter(|&b| b != 0).collect()
}

/// Every JWT in `bytes`: three base64url segments joined by dots, the
/// first (the header, a JSON object) starting `eyJ`, whoever minted it —
/// LiveKit's server (`eyJhbGciOi…`), `livekit-api` as the app and our
/// token service use it (`eyJ0eXAi…`), or anything else. Shape only: no
/// part is decoded, so a token cut from any JSON, URL or log line is found.
pub fn find_jwts(bytes: &[u8]) -> Vec<String> {
    let text = readable(bytes);
    let mut found = Vec::new();
    let mut i = 0;
    while i + 3 <= text.len() {
        if &text[i..i + 3] != b"eyJ" {
            i += 1;
            continue;
        }
        // Three runs of base64url, separated by single dots.
        let mut end = i;
        let mut segments = 0;
        loop {
            let start = end;
            while end < text.len() && b64url(text[end]) {
                end += 1;
            }
            if end == start {
                break;
            }
            segments += 1;
            if segments == 3 || end >= text.len() || text[end] != b'.' {
                break;
            }
            end += 1; // the dot
        }
        if segments == 3 {
            found.push(String::from_utf8_lossy(&text[i..end]).into_owned());
            i = end;
        } else {
            i += 3;
        }
    }
    found
}

/// Whether `secret` is in `bytes` (read as [`find_jwts`] reads them).
pub fn holds_secret(bytes: &[u8], secret: &str) -> bool {
    let needle = secret.as_bytes();
    !needle.is_empty() && readable(bytes).windows(needle.len()).any(|w| w == needle)
}

/// A found token named for a message without printing it whole.
pub fn jwt_label(jwt: &str) -> String {
    format!(
        "a JWT of {} chars ({}…)",
        jwt.len(),
        jwt.get(..12).unwrap_or(jwt)
    )
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

    #[test]
    fn every_jwt_shape_is_found_wherever_it_sits() {
        let ours = TokenSpec::join("r", "ada")
            .mint("key", "a-secret-long-enough-for-hs256-signing!!")
            .unwrap();
        // livekit-api writes the header `{"typ":"JWT",…}`, the server
        // `{"alg":…}`: both must be found, not only the one we used to grep.
        assert!(ours.starts_with("eyJ0eXAi"), "{ours}");
        let server = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";
        let log = format!(
            "GET /rtc?access_token={server}&auto_subscribe=1\n{{\"token\":\"{ours}\"}} done"
        );
        assert_eq!(find_jwts(log.as_bytes()), [server, ours.as_str()]);
        // Stored as UTF-16 (little- and big-endian), as web storage keeps it.
        let utf16le: Vec<u8> = ours.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let utf16be: Vec<u8> = ours.encode_utf16().flat_map(u16::to_be_bytes).collect();
        assert_eq!(find_jwts(&utf16le), [ours.as_str()]);
        assert_eq!(find_jwts(&utf16be), [ours.as_str()]);
        // At the very start and end of the bytes, and padded.
        assert_eq!(find_jwts(b"eyJa.eyJb.c="), ["eyJa.eyJb.c="]);
    }

    #[test]
    fn what_is_not_three_segments_is_no_jwt() {
        for text in [
            "",
            "eyJ",
            "eyJust a word. Done.",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ",
            "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.",
            "eyJhbGciOiJIUzI1NiJ9..c2ln",
            "header.eyJzdWIiOiJhZGEifQ.c2ln without eyJ first",
        ] {
            assert_eq!(find_jwts(text.as_bytes()), Vec::<String>::new(), "{text:?}");
        }
        // A fourth segment does not hide the three before it.
        assert_eq!(find_jwts(b"eyJa.b.c.d"), ["eyJa.b.c"]);
    }

    #[test]
    fn a_secret_is_found_as_ascii_or_utf16_and_an_empty_one_never() {
        let secret = "typed-secret-4f2b";
        assert!(holds_secret(b"x typed-secret-4f2b y", secret));
        let utf16: Vec<u8> = secret.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert!(holds_secret(&utf16, secret));
        assert!(!holds_secret(b"typed-secret-4f2", secret));
        assert!(!holds_secret(b"anything", ""));
    }
}
