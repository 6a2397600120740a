//! The profiles file: what a profile is, without its secret (that is in the
//! keychain). JSON in the app's config directory, replaced whole on every
//! change (written beside, then renamed) so a crash cannot leave half.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::ProfileKind;
use crate::i18n::Sentence;
use crate::settings_file::SettingsFile;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredProfile {
    pub id: String,
    pub name: String,
    pub kind: ProfileKind,
    /// The LiveKit server.
    pub url: String,
    /// The room the join form starts with.
    pub room: String,
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub api_key: Option<String>,
    /// A pasted token's expiry (Unix ms), read from it when pasted.
    #[serde(default)]
    pub token_expires_at_ms: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProfilesFile {
    #[serde(default)]
    pub profiles: Vec<StoredProfile>,
    #[serde(default)]
    pub selected: Option<String>,
}

pub struct Store {
    file: SettingsFile,
}

impl Store {
    pub fn new(dir: &Path) -> Self {
        Store {
            file: SettingsFile::new(dir, "profiles.json", "file.profiles"),
        }
    }

    /// The profiles; none when the file does not exist yet. A damaged file
    /// is an error, not an empty list that the next save would overwrite.
    pub fn load(&self) -> Result<ProfilesFile, Sentence> {
        Ok(self.file.read("file.damaged")?.unwrap_or_default())
    }

    pub fn save(&self, file: &ProfilesFile) -> Result<(), Sentence> {
        self.file.save(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("rtcstack-store-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn saves_and_loads_and_refuses_a_damaged_file() {
        let dir = temp_dir("roundtrip");
        let store = Store::new(&dir);
        assert_eq!(store.load().unwrap(), ProfilesFile::default());
        let file = ProfilesFile {
            profiles: vec![StoredProfile {
                id: "p-1".into(),
                name: "Work".into(),
                kind: ProfileKind::TokenEndpoint,
                url: "wss://lk.example.com".into(),
                room: "standup".into(),
                endpoint: Some("https://example.com/token".into()),
                api_key: None,
                token_expires_at_ms: None,
            }],
            selected: Some("p-1".into()),
        };
        store.save(&file).unwrap();
        assert_eq!(store.load().unwrap(), file);
        std::fs::write(dir.join("profiles.json"), b"{oops").unwrap();
        assert_eq!(store.load().unwrap_err().key, "file.damaged");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
