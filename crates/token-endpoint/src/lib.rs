//! A backend's token endpoint, asked for LiveKit tokens: once to join, then
//! as the call's [`TokenRefresher`] — the desktop form of the web's
//! `fetch('/api/refresh-token', { method: 'POST' })`.
//!
//! The protocol (the README documents it for backend authors):
//!
//! ```text
//! POST <endpoint>
//! Authorization: Bearer <credential>
//! Content-Type: application/json
//!
//! {"room": "standup", "name": "Ada", "identity": "ada-3f2a"}
//!
//! 200 OK
//! {"token": "<LiveKit access token>"}
//! ```
//!
//! `identity` is the app's suggestion, the same for every request of one
//! call; a backend that ties identity to the signed-in user ignores it.
//! 401/403 mean "sign in again" and are never retried; 5xx, timeouts and
//! network errors are retried with backoff inside one overall deadline.

mod address;
mod error;
mod fetch;

pub use address::check_endpoint_url;
pub use error::EndpointError;
pub use fetch::{Retry, TokenEndpoint, TokenRequest};

/// A credential for the endpoint (a bearer key or refresh token). Never
/// printed: `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct Credential(String);

impl Credential {
    pub fn new(secret: impl Into<String>) -> Self {
        Credential(secret.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}
