//! Push-to-talk's key, caught system-wide: grabbed by
//! `tauri-plugin-global-shortcut` on X11, macOS and Windows, bound by the
//! desktop through its portal in a Wayland session (the desktop core
//! holds that binding). Its ups and downs go to the desktop core, which
//! opens and closes the microphone.

use std::str::FromStr;

use rtcstack_desktop_core::i18n::Sentence;
use rtcstack_desktop_core::ipc;
use rtcstack_desktop_core::push_to_talk::PushToTalkView;
use rtcstack_desktop_core::Desktop;
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, Runtime, State, Wry};
use tauri_plugin_global_shortcut::{GlobalShortcut, Shortcut, ShortcutState};

/// How the key is caught here.
enum Catcher {
    /// The plugin grabs it.
    Grab,
    /// The desktop binds it for us: in a Wayland session no application
    /// may grab keys (an X11 grab through XWayland hears only keys meant
    /// for X11 windows).
    Portal,
}

fn catcher() -> Result<Catcher, Sentence> {
    if cfg!(target_os = "linux") {
        let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
        let wayland = std::env::var("XDG_SESSION_TYPE").is_ok_and(|t| t == "wayland")
            || (set("WAYLAND_DISPLAY") && !set("DISPLAY"));
        if wayland {
            return Ok(Catcher::Portal);
        }
        if !set("DISPLAY") {
            return Err(Sentence::new("ptt.needsX11"));
        }
    }
    Ok(Catcher::Grab)
}

/// Why keys cannot be grabbed here, if they cannot.
fn unavailable() -> Option<Sentence> {
    match catcher() {
        Ok(Catcher::Grab) => None,
        Ok(Catcher::Portal) => Some(Sentence::new("ptt.unavailable")),
        Err(why) => Some(why),
    }
}

/// The plugin, where keys can be grabbed. One key is registered at a time,
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
/// is said in the settings, not fatal. The page hears each later change.
pub fn setup(app: &AppHandle) {
    let desktop = app.state::<Desktop>();
    let mut changes = desktop.push_to_talk.changes();
    let page = app.clone();
    tauri::async_runtime::spawn(async move {
        while changes.changed().await.is_ok() {
            let view = changes.borrow_and_update().clone();
            let _ = page.emit(ipc::event::PUSH_TO_TALK_VIEW, view);
        }
    });
    match catcher() {
        Ok(Catcher::Grab) => {}
        Ok(Catcher::Portal) => {
            // The desktop may ask the person first: not on the main thread.
            let Some(key) = desktop.push_to_talk.view().key else {
                return;
            };
            let app = app.clone();
            tauri::async_runtime::spawn(async move {
                let desktop = app.state::<Desktop>();
                if let Err(why) = bind_through_portal(&app, &desktop, Some(key)).await {
                    desktop.push_to_talk.trouble(why);
                }
            });
            return;
        }
        Err(why) => {
            desktop.push_to_talk.trouble(why);
            return;
        }
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
    if let Ok(Catcher::Portal) = catcher() {
        bind_through_portal(&app, &desktop, key).await?;
        return Ok(desktop.push_to_talk.view());
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
    desktop.push_to_talk.keep(key)?;
    Ok(desktop.push_to_talk.view())
}

/// Has the desktop bind `key` (none: lets it go), its dialog saying what
/// the key is for in the app's language.
#[cfg(target_os = "linux")]
async fn bind_through_portal<R: Runtime>(
    app: &AppHandle<R>,
    desktop: &Desktop,
    key: Option<String>,
) -> Result<(), Sentence> {
    let description = Sentence::new("ptt.description").say(&desktop.language.current());
    desktop
        .push_to_talk
        .bind_through_portal(&app.config().identifier, key, &description)
        .await
}

/// Only Linux has a Wayland session.
#[cfg(not(target_os = "linux"))]
async fn bind_through_portal<R: Runtime>(
    _: &AppHandle<R>,
    _: &Desktop,
    _: Option<String>,
) -> Result<(), Sentence> {
    Err(Sentence::new("ptt.unavailable"))
}
