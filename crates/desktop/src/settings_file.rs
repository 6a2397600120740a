//! Settings a person makes once and expects kept: JSON in the app's config
//! directory, written beside and renamed (a crash cannot leave half a
//! file); a damaged file is reported and the defaults used, never
//! overwritten until the person changes something. Its troubles are
//! sentences, said in the page's language.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::i18n::Sentence;

pub struct SettingsFile {
    path: PathBuf,
    /// What they are: the resource key of their name ("file.audio").
    what: &'static str,
}

impl SettingsFile {
    pub fn new(dir: &Path, name: &str, what: &'static str) -> Self {
        SettingsFile {
            path: dir.join(name),
            what,
        }
    }

    /// The contents; none when the file does not exist yet. A damaged
    /// file is an error (`key` says it), kept for the person to look at.
    pub fn read<T: DeserializeOwned>(&self, damaged: &'static str) -> Result<Option<T>, Sentence> {
        match std::fs::read(&self.path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| self.trouble(damaged, e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.trouble("file.unreadable", e)),
        }
    }

    /// The settings, or the defaults (none saved yet, or a damaged file:
    /// then with the reason).
    pub fn load<T: DeserializeOwned + Default>(&self) -> (T, Option<Sentence>) {
        match self.read("file.damagedDefaults") {
            Ok(s) => (s.unwrap_or_default(), None),
            Err(problem) => (T::default(), Some(problem)),
        }
    }

    pub fn save<T: Serialize>(&self, settings: &T) -> Result<(), Sentence> {
        let write = || -> std::io::Result<()> {
            if let Some(dir) = self.path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            let tmp = self.path.with_extension("json.tmp");
            let json = serde_json::to_vec_pretty(settings).map_err(std::io::Error::other)?;
            std::fs::write(&tmp, json)?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(|e| self.trouble("file.unsaved", e))
    }

    fn trouble(&self, key: &'static str, why: impl ToString) -> Sentence {
        Sentence::new(key)
            .with_sentence("what", Sentence::new(self.what))
            .with("path", self.path.display())
            .with("why", why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn troubles_name_the_file_and_say_why_in_the_pages_language() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(dir.path(), "audio.json", "file.audio");
        std::fs::write(dir.path().join("audio.json"), b"{ not json").unwrap();
        let (loaded, problem) = file.load::<std::collections::BTreeMap<String, u8>>();
        assert!(loaded.is_empty());
        let problem = problem.unwrap();
        let path = dir.path().join("audio.json");
        assert_eq!(
            problem.say("en"),
            format!(
                "The audio settings file {} is damaged (key must be a string at line 1 column 3); defaults are used until you change a setting.",
                path.display()
            )
        );
        assert!(problem.say("de").starts_with(&format!(
            "Die Datei {} (Audioeinstellungen)",
            path.display()
        )));
        assert_eq!(
            file.read::<std::collections::BTreeMap<String, u8>>("file.damaged")
                .unwrap_err()
                .key,
            "file.damaged"
        );
        // A directory where the file should be: not saved, and said so.
        let blocked = SettingsFile::new(&path, "x.json", "file.audio");
        assert_eq!(blocked.save(&1).unwrap_err().key, "file.unsaved");
    }
}
