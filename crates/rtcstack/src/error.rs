//! Why `connect()` failed, in words a user (and a UI) can act on.

use livekit_signaling::SignalError;

use crate::token::TokenError;

/// A failed join. Each variant is one thing the user can fix or wait out.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnectError {
    #[error("the server URL is not valid: {0}")]
    InvalidUrl(String),
    #[error("the access token is malformed: {0}")]
    MalformedToken(#[from] TokenError),
    #[error("the access token has expired")]
    TokenExpired,
    #[error("the server refused the access token: {0}")]
    Unauthorized(String),
    #[error("the server rejected the join ({status}): {message}")]
    JoinRejected { status: u16, message: String },
    #[error("the server could not be reached: {0}")]
    Unreachable(String),
    /// `wss://` to a server whose certificate this computer's trust store
    /// does not accept: not a network failure, and retrying will not help.
    #[error("the server's certificate is not trusted: {0}")]
    CertificateNotTrusted(String),
    /// The proxy the environment names would not open the way.
    #[error("the proxy refused the connection: {0}")]
    ProxyRefused(String),
    #[error("the server did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("media could not be connected: {0}")]
    Media(String),
    #[error("the connection was closed during the join")]
    Closed,
}

impl ConnectError {
    /// Maps a signalling failure. 401/403 come from the server's own
    /// `rtc/validate` check, whose message says why (expired, bad signature).
    pub(crate) fn from_signal(err: SignalError, deadline: std::time::Duration) -> Self {
        match err {
            SignalError::UrlParse(m) => Self::InvalidUrl(m),
            SignalError::TokenFormat => {
                Self::MalformedToken(TokenError::Malformed("invalid characters".into()))
            }
            SignalError::Client(status, message) if matches!(status.as_u16(), 401 | 403) => {
                if message.to_ascii_lowercase().contains("expired") {
                    Self::TokenExpired
                } else {
                    Self::Unauthorized(without_tokens(&message))
                }
            }
            SignalError::Client(status, message) | SignalError::Server(status, message) => {
                Self::JoinRejected {
                    status: status.as_u16(),
                    message: without_tokens(&message),
                }
            }
            SignalError::Handshake { status } => Self::JoinRejected {
                status: status.as_u16(),
                message: "websocket upgrade refused".into(),
            },
            SignalError::Timeout(_) => Self::Timeout(deadline),
            SignalError::Connection(m) => {
                if let Some(why) = crate::wire::untrusted(&m) {
                    Self::CertificateNotTrusted(why.to_string())
                } else if let Some(answer) = crate::wire::refusal(&m) {
                    Self::ProxyRefused(answer.to_string())
                } else {
                    Self::Unreachable(m)
                }
            }
            SignalError::Closed | SignalError::SendError => Self::Closed,
            other => Self::Unreachable(other.to_string()),
        }
    }
}

/// The server's refusal quotes the token it refused ("invalid token: eyJ…,
/// error: …"): an error's words never carry it. Every JWT-shaped run
/// (`eyJ…`, three dot-separated base64url parts) becomes `<token>`.
fn without_tokens(message: &str) -> String {
    fn flush(run: &mut String, out: &mut String) {
        let core = run.trim_end_matches('.');
        if core.starts_with("eyJ") && core.matches('.').count() == 2 {
            out.push_str("<token>");
            out.push_str(&run[core.len()..]);
        } else {
            out.push_str(run);
        }
        run.clear();
    }
    let mut out = String::with_capacity(message.len());
    let mut run = String::new();
    for c in message.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '=') {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refusal_quoting_the_token_does_not_repeat_it() {
        let jwt = "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZGEifQ.c2lnbmF0dXJl";
        assert_eq!(
            without_tokens(&format!(
                "invalid token: {jwt}, error: signature is invalid"
            )),
            "invalid token: <token>, error: signature is invalid"
        );
        assert_eq!(without_tokens(&format!("bad {jwt}.")), "bad <token>.");
        assert_eq!(without_tokens("room r.a.b is full"), "room r.a.b is full");
    }
}
