//! What can go wrong asking for a token, in words a user can act on. No
//! variant carries the credential or a token.

use std::time::Duration;

use rtcstack::token::RefreshError;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    #[error("the token endpoint address is not valid: {0}")]
    BadUrl(String),
    #[error("the token endpoint must use https:// (plain http:// is allowed only for this computer: localhost, 127.0.0.1, ::1)")]
    Insecure,
    #[error("the token service did not accept the credential (HTTP {0}): sign in again and update the profile's credential")]
    SignInAgain(u16),
    #[error("the token service refused the request (HTTP {0})")]
    Refused(u16),
    #[error("the token service is unavailable after {tries} tries: {last}")]
    Unavailable { tries: u32, last: String },
    #[error("the token service did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("the token service's answer is not usable: {0}")]
    Malformed(String),
    #[error(
        "the token service gave a token that has already expired (is this computer's clock right?)"
    )]
    Expired,
    #[error("the token service gave a token for room {got:?}, not {asked:?}")]
    WrongRoom { asked: String, got: String },
}

impl EndpointError {
    /// Whether asking again later may work (the call keeps retrying) or
    /// the user has to act.
    pub fn needs_user(&self) -> bool {
        matches!(
            self,
            EndpointError::SignInAgain(_)
                | EndpointError::Refused(_)
                | EndpointError::BadUrl(_)
                | EndpointError::Insecure
        )
    }
}

impl From<EndpointError> for RefreshError {
    fn from(e: EndpointError) -> Self {
        match &e {
            EndpointError::SignInAgain(_)
            | EndpointError::Refused(_)
            | EndpointError::BadUrl(_)
            | EndpointError::Insecure => RefreshError::Refused(e.to_string()),
            EndpointError::Unavailable { .. } => RefreshError::Unavailable(e.to_string()),
            EndpointError::Timeout(d) => RefreshError::Timeout(*d),
            EndpointError::Malformed(_)
            | EndpointError::Expired
            | EndpointError::WrongRoom { .. } => RefreshError::BadToken(e.to_string()),
        }
    }
}
