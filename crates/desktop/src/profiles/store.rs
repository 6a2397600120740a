//! The profiles file: what a profile is, without its secret (that is in the
//! keychain). JSON in the app's config directory, replaced whole on every
//! change (written beside, then renamed) so a crash cannot leave half.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ProfileKind;

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
    path: PathBuf,
}

impl Store {
    pub fn new(dir: &Path) -> Self {
        Store {
            path: dir.join("profiles.json"),
        }
    }

    /// The profiles; none when the file does not exist yet. A damaged file
    /// is an error, not an empty list that the next save would overwrite.
    pub fn load(&self) -> Result<ProfilesFile, String> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "The profiles file {} is damaged ({e}); fix or move it.",
                    self.path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ProfilesFile::default()),
            Err(e) => Err(format!("Could not read {}: {e}", self.path.display())),
        }
    }

    pub fn save(&self, file: &ProfilesFile) -> Result<(), String> {
        let fail =
            |e: std::io::Error| format!("Could not save profiles to {}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(fail)?;
        }
        let tmp = self.path.with_extension("json.new");
        let json = serde_json::to_vec_pretty(file).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, json).map_err(fail)?;
        std::fs::rename(&tmp, &self.path).map_err(fail)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
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
        assert!(store.load().unwrap_err().contains("damaged"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
