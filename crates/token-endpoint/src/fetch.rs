//! One token request: POST with the bearer credential, a deadline on each
//! try and on the whole, backoff between tries, and the answer checked
//! before anyone uses it.

use std::time::{Duration, SystemTime};

use rtcstack::token::{freshness, inspect, Freshness, RefreshError, TokenRefresher};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use url::Url;

use crate::{check_endpoint_url, Credential, EndpointError};

/// Answers larger than this are not a token.
const MAX_ANSWER: usize = 64 * 1024;

/// How hard to try. The whole stays under the call's 10 s refresh deadline,
/// so a failing endpoint is reported by us, with its reason, not cut off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    pub per_try: Duration,
    pub overall: Duration,
    pub first_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        Retry {
            per_try: Duration::from_secs(4),
            overall: Duration::from_secs(9),
            first_backoff: Duration::from_millis(300),
            max_backoff: Duration::from_secs(2),
        }
    }
}

impl Retry {
    /// The pause before try `n + 1` (after `n` failed tries, n ≥ 1).
    pub fn backoff(&self, n: u32) -> Duration {
        let factor = 1u32 << n.saturating_sub(1).min(16);
        self.first_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// What the app asks for. The same for every request of one call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenRequest {
    pub room: String,
    pub name: String,
    pub identity: String,
}

#[derive(Deserialize)]
struct Answer {
    token: String,
}

/// A token endpoint for one call.
#[derive(Debug, Clone)]
pub struct TokenEndpoint {
    url: Url,
    credential: Credential,
    request: TokenRequest,
    retry: Retry,
    http: reqwest::Client,
}

/// What one try came to.
enum Try {
    Token(String),
    /// Worth another try; the reason if it was the last.
    Again(String),
    Fail(EndpointError),
}

impl TokenEndpoint {
    pub fn new(
        url: &str,
        credential: Credential,
        request: TokenRequest,
    ) -> Result<Self, EndpointError> {
        let url = check_endpoint_url(url)?;
        // One provider for the process (a second linked one makes rustls
        // refuse to choose); a no-op when already installed.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::Client::builder()
            // Our own deadline covers the whole try; this one the connect.
            .connect_timeout(Duration::from_secs(3))
            // A credential endpoint answers, it does not send us elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| EndpointError::Unavailable {
                tries: 0,
                last: format!("no HTTP client: {e}"),
            })?;
        Ok(TokenEndpoint {
            url,
            credential,
            request,
            retry: Retry::default(),
            http,
        })
    }

    pub fn with_retry(mut self, retry: Retry) -> Self {
        self.retry = retry;
        self
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// Asks for a token and checks it is for our room and still valid.
    pub async fn fetch(&self) -> Result<String, EndpointError> {
        let start = Instant::now();
        let deadline = start + self.retry.overall;
        let mut tries = 0u32;
        // A service that never answers is "not answering", not "failing".
        let mut only_silence = true;
        loop {
            tries += 1;
            let left = deadline.saturating_duration_since(Instant::now());
            let this_try = self.retry.per_try.min(left);
            let last = match tokio::time::timeout(this_try, self.try_once()).await {
                Ok(Try::Token(t)) => return Ok(t),
                Ok(Try::Fail(e)) => return Err(e),
                Ok(Try::Again(why)) => {
                    only_silence = false;
                    why
                }
                Err(_) => format!("no answer within {this_try:?}"),
            };
            let pause = self.retry.backoff(tries);
            tracing::debug!(tries, %last, "token request failed; trying again");
            if Instant::now() + pause + Duration::from_millis(100) >= deadline {
                return Err(if only_silence {
                    EndpointError::Timeout(start.elapsed())
                } else {
                    EndpointError::Unavailable { tries, last }
                });
            }
            tokio::time::sleep(pause).await;
        }
    }

    async fn try_once(&self) -> Try {
        let sent = self
            .http
            .post(self.url.clone())
            .bearer_auth(self.credential.expose())
            .json(&self.request)
            .send()
            .await;
        let response = match sent {
            Ok(r) => r,
            Err(e) => return Try::Again(describe(&e)),
        };
        let status = response.status().as_u16();
        match status {
            200..=299 => {}
            401 | 403 => return Try::Fail(EndpointError::SignInAgain(status)),
            408 | 429 | 500..=599 => return Try::Again(format!("HTTP {status}")),
            _ => return Try::Fail(EndpointError::Refused(status)),
        }
        // Read no more than a token can be: an endpoint pouring out data
        // is cut off at the limit, not buffered whole.
        let mut response = response;
        let mut body = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(part)) => {
                    body.extend_from_slice(&part);
                    if body.len() > MAX_ANSWER {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) => return Try::Again(describe(&e)),
            }
        }
        match check_answer(&body, &self.request.room, SystemTime::now()) {
            Ok(t) => Try::Token(t),
            Err(e) => Try::Fail(e),
        }
    }
}

/// What went wrong, in words; reqwest's own text would name the URL and
/// nothing more useful, and never the headers.
fn describe(e: &reqwest::Error) -> String {
    let kind = if e.is_connect() {
        "could not connect"
    } else if e.is_timeout() {
        "timed out"
    } else if e.is_body() || e.is_decode() {
        "the answer was cut off"
    } else {
        "the request failed"
    };
    // The innermost cause says the most ("connection refused").
    let mut source = std::error::Error::source(e);
    let mut detail = None;
    while let Some(s) = source {
        detail = Some(s.to_string());
        source = s.source();
    }
    match detail {
        Some(d) => format!("{kind} ({d})"),
        None => kind.to_string(),
    }
}

/// The answer must be `{"token": …}` with a token for `room` that has not
/// expired. Error texts never quote the answer (it may hold a token).
pub(crate) fn check_answer(
    body: &[u8],
    room: &str,
    now: SystemTime,
) -> Result<String, EndpointError> {
    if body.len() > MAX_ANSWER {
        return Err(EndpointError::Malformed(format!(
            "{} bytes, more than a token",
            body.len()
        )));
    }
    let answer: Answer = serde_json::from_slice(body).map_err(|e| {
        EndpointError::Malformed(format!(
            "expected JSON {{\"token\": \"…\"}} ({})",
            json_problem(&e)
        ))
    })?;
    let info = inspect(&answer.token).map_err(|e| EndpointError::Malformed(e.to_string()))?;
    if !info.room.is_empty() && info.room != room {
        return Err(EndpointError::WrongRoom {
            asked: room.to_string(),
            got: info.room,
        });
    }
    if freshness(info.expires_at, now, Duration::ZERO) == Freshness::Expired {
        return Err(EndpointError::Expired);
    }
    Ok(answer.token)
}

fn json_problem(e: &serde_json::Error) -> &'static str {
    match e.classify() {
        serde_json::error::Category::Io => "could not be read",
        serde_json::error::Category::Syntax => "not JSON",
        serde_json::error::Category::Data => "no \"token\" string in it",
        serde_json::error::Category::Eof => "cut short",
    }
}

#[async_trait::async_trait]
impl TokenRefresher for TokenEndpoint {
    async fn refresh(&self) -> Result<String, RefreshError> {
        self.fetch().await.map_err(RefreshError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use livekit_api::access_token::{AccessToken, VideoGrants};

    fn token(room: &str, ttl: Duration) -> String {
        AccessToken::with_api_key("key", "test-secret-test-secret-test-secret-0123")
            .with_identity("ada-1")
            .with_ttl(ttl)
            .with_grants(VideoGrants {
                room_join: true,
                room: room.into(),
                ..Default::default()
            })
            .to_jwt()
            .unwrap()
    }

    #[test]
    fn a_good_answer_gives_its_token() {
        let t = token("r1", Duration::from_secs(60));
        let body = serde_json::json!({ "token": t, "extra": 1 }).to_string();
        assert_eq!(
            check_answer(body.as_bytes(), "r1", SystemTime::now()),
            Ok(t)
        );
    }

    #[test]
    fn unusable_answers_say_why_without_quoting_them() {
        let now = SystemTime::now();
        let other_room = serde_json::json!({ "token": token("r2", Duration::from_secs(60)) });
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"<html>oops</html>".to_vec(), "not JSON"),
            (b"{\"tok\": 1}".to_vec(), "no \"token\""),
            (
                b"{\"token\": \"secret-ish-garbage\"}".to_vec(),
                "not a LiveKit access token",
            ),
            (other_room.to_string().into_bytes(), "room \"r2\""),
            (vec![b' '; MAX_ANSWER + 1], "more than a token"),
        ];
        for (body, says) in cases {
            let e = check_answer(&body, "r1", now).unwrap_err().to_string();
            assert!(e.contains(says), "{e}");
            assert!(!e.contains("secret-ish") && !e.contains("oops"), "{e}");
        }
        let old = serde_json::json!({ "token": token("r1", Duration::from_secs(60)) }).to_string();
        let later = now + Duration::from_secs(3600);
        assert_eq!(
            check_answer(old.as_bytes(), "r1", later),
            Err(EndpointError::Expired)
        );
    }

    #[test]
    fn backoff_doubles_up_to_its_cap_and_fits_the_refresh_deadline() {
        let r = Retry::default();
        let pauses: Vec<_> = (1..=5).map(|n| r.backoff(n).as_millis()).collect();
        assert_eq!(pauses, [300, 600, 1200, 2000, 2000]);
        // The supervisor gives a refresh 10 s.
        assert!(r.overall < Duration::from_secs(10));
    }

    #[test]
    fn failures_map_to_the_calls_refresh_errors() {
        let e: RefreshError = EndpointError::SignInAgain(401).into();
        assert!(matches!(e, RefreshError::Refused(m) if m.contains("sign in again")));
        let e: RefreshError = EndpointError::Unavailable {
            tries: 3,
            last: "HTTP 500".into(),
        }
        .into();
        assert!(matches!(e, RefreshError::Unavailable(_)));
        let e: RefreshError = EndpointError::Malformed("x".into()).into();
        assert!(matches!(e, RefreshError::BadToken(_)));
    }

    #[test]
    fn debug_never_shows_the_credential() {
        let ep = TokenEndpoint::new(
            "http://127.0.0.1:9/t",
            Credential::new("hunter2-credential"),
            TokenRequest {
                room: "r".into(),
                name: "n".into(),
                identity: "i".into(),
            },
        )
        .unwrap();
        assert!(!format!("{ep:?}").contains("hunter2"));
    }
}
