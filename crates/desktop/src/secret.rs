//! One type for every token, credential and API secret, from the moment it
//! enters the program (typed into the form, read from the keychain or the
//! environment, minted, fetched from a token endpoint). Making one
//! registers it with the log redactor; it has no `Display` and no
//! `Serialize`, and its `Debug` shows no content. Its text is read only
//! where it leaves us: the SDK's `&str` token, the keychain, the token
//! endpoint's credential, the minting key.

use serde::{Deserialize, Deserializer};

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(text: impl Into<String>) -> Self {
        let text = text.into();
        crate::redact::register(&text);
        Secret(text)
    }

    /// The text, for the boundary that needs it (never for a log).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A secret sent by the UI is registered as it arrives.
impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d).map(Secret::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shown_nowhere_and_blanked_in_logs() {
        let s: Secret = serde_json::from_str("\"typed-api-secret-123\"").unwrap();
        assert_eq!(format!("{s:?}"), "Secret(<redacted>)");
        assert_eq!(s.expose(), "typed-api-secret-123");
        // Registered with the redactor the moment it was made.
        assert_eq!(
            crate::redact::redact("key typed-api-secret-123 sent"),
            "key <secret> sent"
        );
    }
}
