//! The language the app speaks: the person's choice (kept for next time),
//! else the system's. One owner for the page, the tray and notifications.
//! The system's languages come from the OS rather than the webview:
//! WebKitGTK reports the process's locale only when that locale is
//! installed, so a German desktop without German locale data got English.

use std::path::Path;
use std::sync::{Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::i18n::{self, Sentence};
use crate::settings_file::SettingsFile;

/// The system's languages, most wanted first ("de-DE", "en-US").
pub fn system_languages() -> Vec<String> {
    sys_locale::get_locales().collect()
}

/// The language as the settings show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(export)]
pub struct LanguageView {
    /// What the app speaks ("de").
    pub language: String,
    /// The person's choice; none follows the system.
    pub chosen: Option<String>,
    /// Why the choice could not be kept (a damaged or unwritable file).
    pub problem: Option<Sentence>,
    /// The languages there are words for: code and own name.
    pub offered: Vec<(String, String)>,
}

fn offered() -> Vec<(String, String)> {
    i18n::LANGUAGES
        .iter()
        .map(|(code, name)| (code.to_string(), name.to_string()))
        .collect()
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Settings {
    chosen: Option<String>,
}

pub struct Language {
    file: SettingsFile,
    system: Vec<String>,
    view: Mutex<LanguageView>,
}

impl Language {
    pub fn new(config_dir: &Path) -> Self {
        Self::with_system(config_dir, system_languages())
    }

    fn with_system(config_dir: &Path, system: Vec<String>) -> Self {
        let file = SettingsFile::new(config_dir, "language.json", "file.language");
        let (settings, problem) = file.load::<Settings>();
        let view = LanguageView {
            language: i18n::resolve(settings.chosen.as_deref(), &system).to_string(),
            chosen: settings.chosen,
            problem,
            offered: offered(),
        };
        Language {
            file,
            system,
            view: Mutex::new(view),
        }
    }

    pub fn view(&self) -> LanguageView {
        self.view
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The language code to speak now.
    pub fn current(&self) -> String {
        self.view().language
    }

    /// Chooses `code` (none: the system's), kept for next time. A code we
    /// have no words for is refused, and nothing changes.
    pub fn choose(&self, code: Option<String>) -> Result<LanguageView, Sentence> {
        if let Some(c) = &code {
            if !i18n::LANGUAGES.iter().any(|(known, _)| known == c) {
                return Err(Sentence::new("language.unknown").with("code", c));
            }
        }
        let mut view = self.view.lock().unwrap_or_else(PoisonError::into_inner);
        let next = LanguageView {
            language: i18n::resolve(code.as_deref(), &self.system).to_string(),
            chosen: code.clone(),
            problem: None,
            offered: offered(),
        };
        // Spoken at once even if it cannot be kept: the file's trouble is
        // said beside it.
        *view = match self.file.save(&Settings { chosen: code }) {
            Ok(()) => next,
            Err(problem) => LanguageView {
                problem: Some(problem),
                ..next
            },
        };
        Ok(view.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_choice_is_kept_and_none_follows_the_system() {
        let dir = tempfile::tempdir().unwrap();
        let german = || vec!["de-DE".to_string()];
        let l = Language::with_system(dir.path(), german());
        assert_eq!((l.current(), l.view().chosen), ("de".into(), None));
        l.choose(Some("en".into())).unwrap();
        assert_eq!(l.current(), "en");
        // Next run: still English on a German system.
        let again = Language::with_system(dir.path(), german());
        assert_eq!(again.view().chosen.as_deref(), Some("en"));
        assert_eq!(again.current(), "en");
        again.choose(None).unwrap();
        assert_eq!(Language::with_system(dir.path(), german()).current(), "de");
    }

    #[test]
    fn a_language_without_words_is_refused_and_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let l = Language::with_system(dir.path(), vec![]);
        let e = l.choose(Some("xx".into())).unwrap_err();
        assert_eq!(e.to_string(), "There are no words for the language “xx”.");
        assert_eq!(l.view().chosen, None);
        assert!(!dir.path().join("language.json").exists());
    }
}
