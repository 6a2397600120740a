//! A join's inputs and refusals: what the form sends, which room it joins,
//! the identity we take, and a failed join in words for the form.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtcstack::ConnectError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::i18n::Sentence;
use crate::profiles::{ProfileKind, Resolved};

/// What the join form sends.
#[derive(Debug, Clone, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct JoinRequest {
    /// The server profile to get tokens from (the chosen one if absent).
    pub profile: Option<String>,
    pub url: String,
    pub room: String,
    pub name: String,
}

/// Why a join did not happen, in words for the form (said in English by
/// `Display`, for the report).
#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "kind", content = "message")]
#[ts(export)]
pub enum JoinError {
    #[error("{0}")]
    EmptyRoom(Sentence),
    #[error("{0}")]
    InvalidUrl(Sentence),
    #[error("{0}")]
    Unreachable(Sentence),
    /// The server's certificate is not trusted on this computer.
    #[error("{0}")]
    CertificateNotTrusted(Sentence),
    #[error("{0}")]
    ProxyRefused(Sentence),
    #[error("{0}")]
    Rejected(Sentence),
    #[error("{0}")]
    NotConfigured(Sentence),
    /// The token service did not accept the credential: sign in again.
    #[error("{0}")]
    SignInAgain(Sentence),
    #[error("{0}")]
    Keychain(Sentence),
    #[error("{0}")]
    TokenService(Sentence),
    #[error("{0}")]
    Failed(Sentence),
}

impl JoinError {
    /// What the form says.
    pub fn into_sentence(self) -> Sentence {
        use JoinError as E;
        match self {
            E::EmptyRoom(s)
            | E::InvalidUrl(s)
            | E::Unreachable(s)
            | E::CertificateNotTrusted(s)
            | E::ProxyRefused(s)
            | E::Rejected(s)
            | E::NotConfigured(s)
            | E::SignInAgain(s)
            | E::Keychain(s)
            | E::TokenService(s)
            | E::Failed(s) => s,
        }
    }

    /// Refused past the form: the network, the server or the token
    /// source, where the pre-call check can tell more.
    pub fn worth_a_check(&self) -> bool {
        matches!(
            self,
            JoinError::Unreachable(_)
                | JoinError::Rejected(_)
                | JoinError::TokenService(_)
                | JoinError::Failed(_)
        )
    }
}

/// The room to join, and a notice when it is not the one typed. A pasted
/// token names its room (the field may stay blank); the others join the
/// room typed. An unreadable token is left to the token source to refuse.
pub(crate) fn room_to_join(
    profile: &Resolved,
    typed: String,
) -> Result<(String, Option<Sentence>), JoinError> {
    let pasted = profile.info.kind == ProfileKind::PastedToken;
    let named = if pasted {
        match rtcstack::token::inspect(profile.secret.expose()) {
            Ok(t) if !t.room.is_empty() => Some(t.room),
            Ok(_) => None,
            Err(_) => return Ok((typed, None)),
        }
    } else {
        None
    };
    match named {
        Some(named) if !typed.is_empty() && named != typed => {
            let notice = Sentence::new("notice.otherRoom")
                .with("named", &named)
                .with("typed", &typed);
            Ok((named, Some(notice)))
        }
        Some(named) => Ok((named, None)),
        None if typed.is_empty() => Err(JoinError::EmptyRoom(Sentence::new(if pasted {
            "joinError.noRoomInAccess"
        } else {
            "joinError.emptyRoom"
        }))),
        None => Ok((typed, None)),
    }
}

/// An error's words without their final period, to sit inside a sentence.
pub(crate) fn clause(e: &dyn std::fmt::Display) -> String {
    e.to_string().trim_end_matches('.').to_string()
}

pub(crate) fn join_error(e: ConnectError) -> JoinError {
    // The server's refusal quotes the token it refused ("invalid token:
    // eyJ…, error: …"): the form must not show it.
    let text = crate::redact::redact(&e.to_string());
    // The SDK's own words (and the server's) are kept as they are.
    let said = |key| Sentence::new(key).with("why", clause(&text));
    match e {
        ConnectError::InvalidUrl(_) => JoinError::InvalidUrl(said("joinError.invalidUrl")),
        // The sentence says the server cannot be reached; the SDK's own
        // words would say it again.
        ConnectError::Unreachable(why) => JoinError::Unreachable(
            Sentence::new("joinError.unreachable")
                .with("why", clause(&crate::redact::redact(&why))),
        ),
        ConnectError::Timeout(within) => JoinError::Unreachable(
            Sentence::new("joinError.noAnswer").with("s", within.as_secs_f64().ceil()),
        ),
        ConnectError::CertificateNotTrusted(why) => JoinError::CertificateNotTrusted(
            Sentence::new("joinError.certificateNotTrusted").with("why", clause(&why)),
        ),
        ConnectError::ProxyRefused(answer) => {
            JoinError::ProxyRefused(Sentence::new("joinError.proxyRefused").with("answer", answer))
        }
        ConnectError::Unauthorized(_)
        | ConnectError::TokenExpired
        | ConnectError::MalformedToken(_)
        | ConnectError::JoinRejected { .. } => JoinError::Rejected(said("joinError.rejected")),
        ConnectError::Media(_) | ConnectError::Closed => {
            JoinError::Failed(said("joinError.failed"))
        }
    }
}

/// The name typed, or "Guest".
pub(crate) fn display_name(typed: &str) -> String {
    match typed.trim() {
        "" => "Guest".to_string(),
        n => n.to_string(),
    }
}

/// Our identity in the room: the name as a slug and a suffix, so two
/// people of one name (or one person twice) do not collide.
pub(crate) fn identity(name: &str) -> String {
    format!("{}-{:04x}", slug(name), rand_suffix())
}

/// A name as an identity: lower case letters, digits and dashes.
fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches('-').to_string();
    if s.is_empty() {
        "guest".into()
    } else {
        s
    }
}

fn rand_suffix() -> u16 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .subsec_nanos();
    (nanos ^ std::process::id()) as u16
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_become_identities() {
        assert_eq!(slug("Ada Lovelace"), "ada-lovelace");
        assert_eq!(slug("  ☃ "), "guest");
        assert_eq!(display_name("  "), "Guest");
        assert!(identity("Ada").starts_with("ada-"));
    }

    #[test]
    fn join_errors_say_what_to_fix() {
        let e = join_error(ConnectError::InvalidUrl("x".into()));
        assert!(matches!(&e, JoinError::InvalidUrl(_)));
        assert_eq!(
            e.to_string(),
            "Check the server address: the server URL is not valid: x."
        );
        let e = join_error(ConnectError::Unauthorized("bad".into()));
        assert!(matches!(e, JoinError::Rejected(_)));
        // livekit-server's 401 body, as it comes: the token is not repeated.
        let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";
        let e = join_error(ConnectError::Unauthorized(format!(
            "invalid token: {jwt}, error: token signature is invalid"
        )));
        assert!(matches!(&e, JoinError::Rejected(_)), "{e:?}");
        let text = e.to_string();
        assert!(
            !text.contains("eyJ") && text.contains("signature is invalid"),
            "{text}"
        );
        let j = serde_json::to_value(JoinError::EmptyRoom(Sentence::new("joinError.emptyRoom")))
            .unwrap();
        assert_eq!(j["kind"], "emptyRoom");
        assert_eq!(j["message"]["key"], "joinError.emptyRoom");
        assert_eq!(
            join_error(ConnectError::Timeout(Duration::from_secs(5))).to_string(),
            "The server cannot be reached: no answer within 5 s."
        );
        // Said once, with the reason.
        assert_eq!(
            join_error(ConnectError::Unreachable("connection refused".into())).to_string(),
            "The server cannot be reached: connection refused."
        );
    }
}
