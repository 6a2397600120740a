//! A join's inputs and refusals: what the form sends, which room it joins,
//! the identity we take, and a failed join in words for the form.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rtcstack::ConnectError;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

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

/// Why a join did not happen, in words for the form.
#[derive(Debug, Clone, Serialize, TS, thiserror::Error)]
#[serde(rename_all = "camelCase", tag = "kind", content = "message")]
#[ts(export)]
pub enum JoinError {
    #[error("{0}")]
    EmptyRoom(String),
    #[error("{0}")]
    InvalidUrl(String),
    #[error("{0}")]
    Unreachable(String),
    /// The server's certificate is not trusted on this computer.
    #[error("{0}")]
    CertificateNotTrusted(String),
    #[error("{0}")]
    ProxyRefused(String),
    #[error("{0}")]
    Rejected(String),
    #[error("{0}")]
    NotConfigured(String),
    /// The token service did not accept the credential: sign in again.
    #[error("{0}")]
    SignInAgain(String),
    #[error("{0}")]
    Keychain(String),
    #[error("{0}")]
    TokenService(String),
    #[error("{0}")]
    Failed(String),
}

impl JoinError {
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
) -> Result<(String, Option<String>), JoinError> {
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
            let notice = format!(
                "This access is for room \"{named}\", so you joined that room, not \"{typed}\"."
            );
            Ok((named, Some(notice)))
        }
        Some(named) => Ok((named, None)),
        None if typed.is_empty() => Err(JoinError::EmptyRoom(if pasted {
            "This access names no room: enter a room name.".into()
        } else {
            "Enter a room name.".into()
        })),
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
    match e {
        ConnectError::InvalidUrl(_) => {
            JoinError::InvalidUrl(format!("Check the server address: {text}."))
        }
        ConnectError::Unreachable(_) | ConnectError::Timeout(_) => {
            JoinError::Unreachable(format!("The server cannot be reached: {text}."))
        }
        ConnectError::CertificateNotTrusted(why) => JoinError::CertificateNotTrusted(format!(
            "Certificate not trusted: {why}. If your organisation uses its own certificates, \
             install its root certificate on this computer; otherwise tell whoever runs the server."
        )),
        ConnectError::ProxyRefused(answer) => JoinError::ProxyRefused(format!(
            "The proxy refused the connection ({answer}). Check the proxy settings \
             (HTTPS_PROXY or HTTP_PROXY) or ask your network's administrator."
        )),
        ConnectError::Unauthorized(_)
        | ConnectError::TokenExpired
        | ConnectError::MalformedToken(_)
        | ConnectError::JoinRejected { .. } => {
            JoinError::Rejected(format!("The server refused to let us in: {text}."))
        }
        ConnectError::Media(_) | ConnectError::Closed => {
            JoinError::Failed(format!("Could not join: {text}."))
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
        assert!(matches!(e, JoinError::InvalidUrl(m) if m.contains("server address")));
        let e = join_error(ConnectError::Unauthorized("bad".into()));
        assert!(matches!(e, JoinError::Rejected(_)));
        // livekit-server's 401 body, as it comes: the token is not repeated.
        let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";
        let e = join_error(ConnectError::Unauthorized(format!(
            "invalid token: {jwt}, error: token signature is invalid"
        )));
        assert!(
            matches!(&e, JoinError::Rejected(m) if !m.contains("eyJ") && m.contains("signature is invalid")),
            "{e:?}"
        );
        let j = serde_json::to_value(JoinError::EmptyRoom("Enter a room name.".into())).unwrap();
        assert_eq!(j["kind"], "emptyRoom");
        assert_eq!(j["message"], "Enter a room name.");
    }
}
