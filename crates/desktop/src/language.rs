//! The system's languages, most wanted first ("de-DE", "en-US"), for the
//! page's words. The page asks here rather than trusting the webview:
//! WebKitGTK reports the process's locale only when that locale is
//! installed, so a German desktop without German locale data got English.

pub fn system_languages() -> Vec<String> {
    sys_locale::get_locales().collect()
}
