//! Push-to-talk's key, caught system-wide (`tauri-plugin-global-shortcut`:
//! X11, macOS, Windows); its ups and downs go to the desktop core, which
//! opens and closes the microphone.

use std::str::FromStr;

use rtcstack_desktop_core::i18n::Sentence;
use rtcstack_desktop_core::push_to_talk::PushToTalkView;
use rtcstack_desktop_core::Desktop;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Manager, Runtime, State, Wry};
use tauri_plugin_global_shortcut::{GlobalShortcut, Shortcut, ShortcutState};

/// Why keys cannot be caught here, if they cannot: without an X display
/// (a Wayland-only session) the plugin has nothing to grab keys from, and
/// the XDG GlobalShortcuts portal is not used yet.
fn unavailable() -> Option<Sentence> {
    (cfg!(target_os = "linux") && std::env::var_os("DISPLAY").is_none())
        .then(|| Sentence::new("ptt.needsX11"))
}

/// The plugin, where keys can be caught. One key is registered at a time,
/// so every event is push-to-talk's.
pub fn plugin() -> Option<TauriPlugin<Wry>> {
    if unavailable().is_some() {
        return None;
    }
    Some(
        tauri_plugin_global_shortcut::Builder::new()
            .with_handler(|app, _shortcut, event| {
                if let Some(desktop) = app.try_state::<Desktop>() {
                    desktop
                        .push_to_talk
                        .key(event.state == ShortcutState::Pressed);
                }
            })
            .build(),
    )
}

/// Takes the kept key again at start; a key another application now holds
/// is said in the settings, not fatal.
pub fn setup(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    if let Some(why) = unavailable() {
        desktop.push_to_talk.trouble(why);
        return;
    }
    if let Some(key) = desktop.push_to_talk.view().key {
        if let Err(why) = take(app, &key) {
            desktop.push_to_talk.trouble(why);
        }
    }
}

/// Registers `key`, in words when it cannot be.
fn take<R: Runtime>(app: &AppHandle<R>, key: &str) -> Result<(), Sentence> {
    let shortcut = Shortcut::from_str(key).map_err(|e| not_a_key(key, e))?;
    let keys = app
        .try_state::<GlobalShortcut<Wry>>()
        .ok_or_else(|| unavailable().unwrap_or_else(|| Sentence::new("ptt.unavailable")))?;
    keys.register(shortcut)
        .map_err(|e| Sentence::new("ptt.taken").with("key", key).with("why", e))
}

fn not_a_key(key: &str, why: impl ToString) -> Sentence {
    Sentence::new("ptt.notAKey")
        .with("key", key)
        .with("why", why)
}

#[tauri::command]
pub fn push_to_talk_view(desktop: State<'_, Desktop>) -> PushToTalkView {
    desktop.push_to_talk.view()
}

/// Off the main thread: on macOS the plugin waits for it.
#[tauri::command]
pub async fn set_push_to_talk_key<R: Runtime>(
    app: AppHandle<R>,
    desktop: State<'_, Desktop>,
    key: Option<String>,
) -> Result<PushToTalkView, Sentence> {
    let key = key.map(|k| k.trim().to_string()).filter(|k| !k.is_empty());
    if let Some(k) = &key {
        // Said before anything is let go.
        Shortcut::from_str(k).map_err(|e| not_a_key(k, e))?;
    }
    let old = desktop.push_to_talk.view().key;
    if let Some(keys) = app.try_state::<GlobalShortcut<R>>() {
        if let Err(e) = keys.unregister_all() {
            tracing::warn!("push-to-talk key not let go: {e}");
        }
    }
    if let Some(k) = &key {
        if let Err(why) = take(&app, k) {
            // The old key keeps working.
            if let Some(old) = &old {
                let _ = take(&app, old);
            }
            return Err(why);
        }
    }
    desktop.push_to_talk.keep(key).map_err(Sentence::plain)?;
    Ok(desktop.push_to_talk.view())
}
