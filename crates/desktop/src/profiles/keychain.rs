//! The OS keychain, through `keyring` with each platform's store compiled in
//! explicitly (Secret Service on Linux, Keychain on macOS, Credential Manager
//! on Windows; see Cargo.toml): without those features keyring would keep
//! secrets in memory and lose them silently. Every call runs off the async
//! runtime with a deadline, because a locked keychain may wait for a
//! password prompt that never comes.

use std::time::Duration;

use keyring::Entry;

use crate::i18n::Sentence;
use crate::secret::Secret;

/// The keychain service our entries are filed under; one entry per profile.
const SERVICE: &str = "dev.rtcstack.desktop";
const DEADLINE: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeychainError {
    #[error("No keychain is available to keep this profile's secret ({0}). On Linux, start a Secret Service (GNOME Keyring or KeePassXC) and unlock it; nothing was saved in its place.")]
    Unavailable(String),
    #[error("The keychain is locked or refused access ({0}). Unlock it (on Linux: your desktop's keyring) and try again.")]
    Locked(String),
    #[error("The keychain did not answer within {0} s; it may be locked and waiting for a password. Unlock it and try again (the change may still be made once it is unlocked).")]
    NoAnswer(u64),
    #[error("This profile's secret is not in the keychain (removed outside the app?). Edit the profile and enter it again.")]
    Missing,
}

impl KeychainError {
    /// What the form says, in the page's language (the store's own words
    /// kept as they are).
    pub fn sentence(&self) -> Sentence {
        match self {
            KeychainError::Unavailable(why) => {
                Sentence::new("keychain.unavailable").with("why", why)
            }
            KeychainError::Locked(why) => Sentence::new("keychain.locked").with("why", why),
            KeychainError::NoAnswer(s) => Sentence::new("keychain.noAnswer").with("s", s),
            KeychainError::Missing => Sentence::new("keychain.missing"),
        }
    }
}

fn entry(profile_id: &str) -> Result<Entry, KeychainError> {
    Entry::new(SERVICE, profile_id).map_err(map)
}

fn map(e: keyring::Error) -> KeychainError {
    let w = match e {
        keyring::Error::NoEntry => return KeychainError::Missing,
        keyring::Error::NoStorageAccess(inner) | keyring::Error::PlatformFailure(inner) => {
            words(&*inner)
        }
        other => return KeychainError::Unavailable(other.to_string()),
    };
    // A store that is there but locked (an unlock prompt nobody answered,
    // access denied) says so in its own words; either variant can carry it.
    let l = w.to_lowercase();
    if ["lock", "prompt", "dismiss", "denied"]
        .iter()
        .any(|k| l.contains(k))
    {
        KeychainError::Locked(w)
    } else {
        KeychainError::Unavailable(w)
    }
}

/// The store's own message, first line, short: it is shown to the user.
fn words(e: &(dyn std::error::Error + Send + Sync)) -> String {
    let s = e.to_string();
    let line = s.lines().next().unwrap_or_default();
    line.chars().take(200).collect()
}

async fn off_thread<T: Send + 'static>(
    job: impl FnOnce() -> Result<T, KeychainError> + Send + 'static,
) -> Result<T, KeychainError> {
    match tokio::time::timeout(DEADLINE, tokio::task::spawn_blocking(job)).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => Err(KeychainError::Unavailable(format!(
            "the keychain call failed: {join}"
        ))),
        Err(_) => Err(KeychainError::NoAnswer(DEADLINE.as_secs())),
    }
}

pub async fn store(profile_id: &str, secret: Secret) -> Result<(), KeychainError> {
    let id = profile_id.to_string();
    off_thread(move || entry(&id)?.set_password(secret.expose()).map_err(map)).await
}

pub async fn read(profile_id: &str) -> Result<Secret, KeychainError> {
    let id = profile_id.to_string();
    off_thread(move || entry(&id)?.get_password().map(Secret::new).map_err(map)).await
}

/// Removes the secret; one that is already gone is fine.
pub async fn delete(profile_id: &str) -> Result<(), KeychainError> {
    let id = profile_id.to_string();
    off_thread(move || match entry(&id)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map(e)),
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The store compiled in keeps secrets past the process, which the
    /// in-memory mock keyring falls back to without platform features
    /// would not.
    #[test]
    fn a_real_platform_store_is_compiled_in() {
        let builder = keyring::default::default_credential_builder();
        assert!(matches!(
            builder.persistence(),
            keyring::credential::CredentialPersistence::UntilDelete
        ));
    }

    #[test]
    fn store_errors_become_advice() {
        let e = map(keyring::Error::NoStorageAccess(
            "no org.freedesktop.secrets".into(),
        ));
        assert!(matches!(e, KeychainError::Unavailable(_)));
        assert!(e.to_string().contains("nothing was saved"));
        let e = map(keyring::Error::PlatformFailure("Prompt dismissed".into()));
        assert!(matches!(e, KeychainError::Locked(_)), "{e:?}");
        // As Secret Service reports a locked collection it cannot unlock.
        let e = map(keyring::Error::NoStorageAccess(
            "Secret Service: unlock prompt was dismissed".into(),
        ));
        assert!(matches!(e, KeychainError::Locked(_)), "{e:?}");
        assert!(e.to_string().contains("Unlock it"));
        assert_eq!(map(keyring::Error::NoEntry), KeychainError::Missing);
    }
}
