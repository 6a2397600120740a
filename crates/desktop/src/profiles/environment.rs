//! A profile given by the environment instead of stored: the demo's token
//! endpoint (`RTCSTACK_TOKEN_ENDPOINT` + `RTCSTACK_TOKEN_CREDENTIAL`) or a
//! development server's key (`RTCSTACK_API_KEY` + `RTCSTACK_API_SECRET`),
//! with `RTCSTACK_SERVER_URL` and `RTCSTACK_ROOM`. Held in memory for this
//! run only, never written anywhere; the tests and `scripts/demo` use it.

use super::{ProfileInfo, ProfileKind, Resolved};
use crate::secret::Secret;

pub const ID: &str = "environment";

#[derive(Debug)]
pub struct EnvProfile {
    info: ProfileInfo,
    secret: Secret,
}

impl EnvProfile {
    pub fn from_env() -> Option<Self> {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let url = var("RTCSTACK_SERVER_URL").unwrap_or_else(|| "ws://127.0.0.1:7880".into());
        let room = var("RTCSTACK_ROOM").unwrap_or_else(|| "demo".into());
        let (kind, endpoint, api_key, secret) = if let (Some(e), Some(c)) = (
            var("RTCSTACK_TOKEN_ENDPOINT"),
            var("RTCSTACK_TOKEN_CREDENTIAL"),
        ) {
            (ProfileKind::TokenEndpoint, Some(e), None, c)
        } else if let (Some(k), Some(s)) = (var("RTCSTACK_API_KEY"), var("RTCSTACK_API_SECRET")) {
            (ProfileKind::SelfHosted, None, Some(k), s)
        } else {
            return None;
        };
        Some(EnvProfile {
            info: ProfileInfo {
                id: ID.into(),
                name: "From the environment".into(),
                kind,
                url,
                room,
                endpoint,
                api_key,
                token_expires_at_ms: None,
                from_environment: true,
            },
            secret: Secret::new(secret),
        })
    }

    pub fn info(&self) -> ProfileInfo {
        self.info.clone()
    }

    pub fn resolve(&self) -> Resolved {
        Resolved {
            info: self.info.clone(),
            secret: self.secret.clone(),
        }
    }
}
