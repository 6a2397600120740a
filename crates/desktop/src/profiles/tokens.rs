//! A profile's tokens for one call: the join token and, where the profile
//! can make more, the call's refresher. Minting keeps the secret in this
//! process; an endpoint's answer is checked before use; a pasted token is
//! used as it is, until it expires.

use std::sync::Arc;
use std::time::Duration;

use livekit_api::access_token::{AccessToken, VideoGrants};
use rtcstack::token::{refresher_fn, RefreshError, TokenRefresher};
use rtcstack_token_endpoint::{Credential, EndpointError, TokenEndpoint, TokenRequest};

use super::{ProfileKind, Resolved};
use crate::secret::Secret;

/// Self-hosted tokens live this long (short: the call refreshes them by
/// minting again). `RTCSTACK_TOKEN_TTL_SECS` shortens it for tests.
const MINTED_TTL: Duration = Duration::from_secs(600);

pub struct CallTokens {
    pub token: Secret,
    pub refresher: Option<Arc<dyn TokenRefresher>>,
}

/// Why no token: for the join form.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenSourceError {
    #[error("{0}")]
    SignInAgain(String),
    #[error("{0}")]
    Service(String),
    #[error("{0}")]
    Unusable(String),
}

fn minted_ttl() -> Duration {
    std::env::var("RTCSTACK_TOKEN_TTL_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .map_or(MINTED_TTL, Duration::from_secs)
}

pub async fn for_call(
    profile: Resolved,
    room: &str,
    name: &str,
    identity: &str,
) -> Result<CallTokens, TokenSourceError> {
    let Resolved { info, secret } = profile;
    match info.kind {
        ProfileKind::TokenEndpoint => {
            let endpoint = TokenEndpoint::new(
                info.endpoint.as_deref().unwrap_or_default(),
                Credential::new(secret.expose()),
                TokenRequest {
                    room: room.into(),
                    name: name.into(),
                    identity: identity.into(),
                },
            )
            .map_err(|e| TokenSourceError::Unusable(sentence(&e)))?;
            let token = endpoint.fetch().await.map_err(|e| match e {
                EndpointError::SignInAgain(_) => TokenSourceError::SignInAgain(sentence(&e)),
                other => TokenSourceError::Service(sentence(&other)),
            })?;
            Ok(CallTokens {
                token: Secret::new(token),
                refresher: Some(Arc::new(endpoint)),
            })
        }
        ProfileKind::SelfHosted => {
            let key = info.api_key.unwrap_or_default();
            let (room, identity, name) = (room.to_string(), identity.to_string(), name.to_string());
            let ttl = minted_ttl();
            let mint = move || {
                AccessToken::with_api_key(&key, secret.expose())
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
                    .map(Secret::new)
                    .map_err(|e| format!("could not make a token: {e}"))
            };
            let token = mint().map_err(TokenSourceError::Unusable)?;
            Ok(CallTokens {
                token,
                refresher: Some(refresher_fn(move || {
                    // The SDK takes the token's text.
                    let t = mint()
                        .map(|t| t.expose().to_string())
                        .map_err(RefreshError::Unavailable);
                    async move { t }
                })),
            })
        }
        ProfileKind::PastedToken => {
            let t = rtcstack::token::inspect(secret.expose()).map_err(|e| {
                TokenSourceError::Unusable(format!("The pasted token cannot be used: {e}."))
            })?;
            if t.expires_at <= std::time::SystemTime::now() {
                return Err(TokenSourceError::Unusable(
                    "The pasted token has expired: edit the profile and paste a new one.".into(),
                ));
            }
            Ok(CallTokens {
                token: secret,
                refresher: None,
            })
        }
    }
}

/// An error as a sentence for the form.
fn sentence(e: &EndpointError) -> String {
    let s = e.to_string();
    let mut c = s.chars();
    match c.next() {
        Some(f) => format!("{}{}.", f.to_uppercase(), c.as_str()),
        None => s,
    }
}
