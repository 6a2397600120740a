//! Settings a person makes once and expects kept: JSON in the app's config
//! directory, written beside and renamed (a crash cannot leave half a
//! file); a damaged file is reported and the defaults used, never
//! overwritten until the person changes something.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

pub struct SettingsFile {
    path: PathBuf,
    /// What they are, in the errors' words ("audio settings").
    what: &'static str,
}

impl SettingsFile {
    pub fn new(dir: &Path, name: &str, what: &'static str) -> Self {
        SettingsFile {
            path: dir.join(name),
            what,
        }
    }

    /// The settings, or the defaults (none saved yet, or a damaged file:
    /// then with the reason).
    pub fn load<T: DeserializeOwned + Default>(&self) -> (T, Option<String>) {
        match std::fs::read(&self.path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(s) => (s, None),
                Err(e) => (
                    T::default(),
                    Some(format!(
                        "The {} file {} is damaged ({e}); defaults are used until you change a setting.",
                        self.what,
                        self.path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (T::default(), None),
            Err(e) => (
                T::default(),
                Some(format!(
                    "The {} file {} could not be read ({e}).",
                    self.what,
                    self.path.display()
                )),
            ),
        }
    }

    pub fn save<T: Serialize>(&self, settings: &T) -> Result<(), String> {
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.path.with_extension("json.tmp");
            let json = serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, json)?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| {
            format!(
                "The {} could not be saved to {} ({e}).",
                self.what,
                self.path.display()
            )
        })
    }
}
