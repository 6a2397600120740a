//! The audio choices a person makes once and expects kept: which
//! microphone and speaker, and which processing stages run. JSON in the
//! app's config directory, written beside and renamed (a crash cannot
//! leave half a file); a damaged file is reported and the defaults used,
//! never overwritten until the person changes something.

use std::path::{Path, PathBuf};

use rtcstack::audio::processing::Stages;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AudioSettings {
    /// The chosen microphone's id (`None`: the system default).
    pub input: Option<String>,
    /// The chosen speaker's id (`None`: the system default).
    pub output: Option<String>,
    pub stages: Stages,
}

pub struct SettingsFile {
    path: PathBuf,
}

impl SettingsFile {
    pub fn new(dir: &Path) -> Self {
        SettingsFile {
            path: dir.join("audio.json"),
        }
    }

    /// The settings, or the defaults (none saved yet, or a damaged file:
    /// then with the reason).
    pub fn load(&self) -> (AudioSettings, Option<String>) {
        match std::fs::read(&self.path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(s) => (s, None),
                Err(e) => (
                    AudioSettings::default(),
                    Some(format!(
                        "The audio settings file {} is damaged ({e}); defaults are used until you change a setting.",
                        self.path.display()
                    )),
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (AudioSettings::default(), None),
            Err(e) => (
                AudioSettings::default(),
                Some(format!(
                    "The audio settings file {} could not be read ({e}).",
                    self.path.display()
                )),
            ),
        }
    }

    pub fn save(&self, settings: &AudioSettings) -> Result<(), String> {
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
                "The audio settings could not be saved to {} ({e}).",
                self.path.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_across_restarts_and_a_damaged_file_is_named_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let file = SettingsFile::new(dir.path());
        assert_eq!(file.load(), (AudioSettings::default(), None));
        let mut s = AudioSettings {
            input: Some("usb-mic".into()),
            ..Default::default()
        };
        s.stages.noise_suppression = false;
        file.save(&s).unwrap();
        assert_eq!(SettingsFile::new(dir.path()).load(), (s, None));

        std::fs::write(dir.path().join("audio.json"), b"{ not json").unwrap();
        let (loaded, problem) = file.load();
        assert_eq!(loaded, AudioSettings::default());
        assert!(problem.unwrap().contains("damaged"));
        // Still there for the person to look at.
        assert_eq!(
            std::fs::read(dir.path().join("audio.json")).unwrap(),
            b"{ not json"
        );
    }

    #[test]
    fn an_older_file_without_stages_keeps_every_stage_on() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("audio.json"), br#"{"input":"a"}"#).unwrap();
        let (s, problem) = SettingsFile::new(dir.path()).load();
        assert_eq!(problem, None);
        assert_eq!(s.input.as_deref(), Some("a"));
        assert_eq!(s.stages, Stages::default());
    }
}
