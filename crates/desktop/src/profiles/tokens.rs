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
use crate::i18n::Sentence;
use crate::secret::Secret;

/// Self-hosted tokens live this long (short: the call refreshes them by
/// minting again). `RTCSTACK_TOKEN_TTL_SECS` shortens it for tests.
const MINTED_TTL: Duration = Duration::from_secs(600);

pub struct CallTokens {
    pub token: Secret,
    pub refresher: Option<Arc<dyn TokenRefresher>>,
}

/// Why no token: for the join form, in the page's language.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TokenSourceError {
    #[error("{0}")]
    SignInAgain(Sentence),
    #[error("{0}")]
    Service(Sentence),
    #[error("{0}")]
    Unusable(Sentence),
}

/// How long a token we mint is valid (`RTCSTACK_TOKEN_TTL_SECS` shortens
/// it in tests of the refresh).
fn minted_ttl() -> Duration {
    crate::dev_overrides::secs("RTCSTACK_TOKEN_TTL_SECS").unwrap_or(MINTED_TTL)
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
                    .map_err(|e| e.to_string())
            };
            let token = mint().map_err(|e| {
                TokenSourceError::Unusable(Sentence::new("token.cannotMint").with("why", e))
            })?;
            Ok(CallTokens {
                token,
                refresher: Some(refresher_fn(move || {
                    // The SDK takes the token's text.
                    let t = mint().map(|t| t.expose().to_string()).map_err(|e| {
                        RefreshError::Unavailable(format!("could not make a token: {e}"))
                    });
                    async move { t }
                })),
            })
        }
        ProfileKind::PastedToken => {
            let t = rtcstack::token::inspect(secret.expose()).map_err(|e| {
                TokenSourceError::Unusable(Sentence::new("token.pastedUnusable").with("why", e))
            })?;
            if t.expires_at <= std::time::SystemTime::now() {
                return Err(TokenSourceError::Unusable(Sentence::new(
                    "token.pastedExpired",
                )));
            }
            Ok(CallTokens {
                token: secret,
                refresher: None,
            })
        }
    }
}

/// A token service's trouble, in the page's language.
fn sentence(e: &EndpointError) -> Sentence {
    match e {
        EndpointError::BadUrl(why) => Sentence::new("token.badUrl").with("why", why),
        EndpointError::Insecure => Sentence::new("token.insecure"),
        EndpointError::SignInAgain(status) => {
            Sentence::new("token.signInAgain").with("status", status)
        }
        EndpointError::Refused(status) => Sentence::new("token.refused").with("status", status),
        EndpointError::Unavailable { tries, last } => Sentence::new("token.unavailable")
            .with("tries", tries)
            .with("why", last),
        EndpointError::Timeout(d) => Sentence::new("token.timeout").with("seconds", d.as_secs()),
        EndpointError::Malformed(why) => Sentence::new("token.malformed").with("why", why),
        EndpointError::Expired => Sentence::new("token.expired"),
        EndpointError::WrongRoom { asked, got } => Sentence::new("token.wrongRoom")
            .with("asked", asked)
            .with("got", got),
    }
}
