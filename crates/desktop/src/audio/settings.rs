//! The audio choices a person makes once and expects kept: which
//! microphone and speaker, and which processing stages run (in the app's
//! config directory, as [`SettingsFile`] keeps settings).

use std::path::Path;

use rtcstack::audio::processing::Stages;
use serde::{Deserialize, Serialize};

pub use crate::settings_file::SettingsFile;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct AudioSettings {
    /// The chosen microphone's id (`None`: the system default).
    pub input: Option<String>,
    /// The chosen speaker's id (`None`: the system default).
    pub output: Option<String>,
    pub stages: Stages,
}

/// Where the audio settings are kept.
pub fn file(dir: &Path) -> SettingsFile {
    SettingsFile::new(dir, "audio.json", "file.audio")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kept_across_restarts_and_a_damaged_file_is_named_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let settings = file(dir.path());
        assert_eq!(settings.load(), (AudioSettings::default(), None));
        let mut s = AudioSettings {
            input: Some("usb-mic".into()),
            ..Default::default()
        };
        s.stages.noise_suppression = false;
        settings.save(&s).unwrap();
        assert_eq!(file(dir.path()).load(), (s, None));

        std::fs::write(dir.path().join("audio.json"), b"{ not json").unwrap();
        let (loaded, problem) = settings.load::<AudioSettings>();
        assert_eq!(loaded, AudioSettings::default());
        assert_eq!(problem.unwrap().key, "file.damagedDefaults");
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
        let (s, problem) = file(dir.path()).load::<AudioSettings>();
        assert_eq!(problem, None);
        assert_eq!(s.input.as_deref(), Some("a"));
        assert_eq!(s.stages, Stages::default());
    }
}
