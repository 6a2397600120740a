//! The mini view: during a call the window becomes a small strip that
//! stays above the other windows (the room, who is there, mute, leave), and
//! goes back to where and how large it was. The page draws the strip; the
//! window's size, place and staying on top are the shell's.

use std::sync::Mutex;

use rtcstack_desktop_core::i18n::Sentence;
use tauri::{LogicalSize, PhysicalPosition, PhysicalSize, Runtime, State, WebviewWindow};
use tauri_plugin_window_state::{AppHandleExt, StateFlags};

/// The strip's size, in CSS pixels: the room's name, the buttons and a
/// line of the reconnect banner.
const MINI: LogicalSize<f64> = LogicalSize::new(420.0, 220.0);
/// The full view's least size (as `tauri.conf.json` sets it).
const FULL_MIN: LogicalSize<f64> = LogicalSize::new(480.0, 400.0);

/// What of the window is kept for the next start (by the window-state
/// plugin).
pub const WINDOW_STATE: StateFlags = StateFlags::SIZE
    .union(StateFlags::POSITION)
    .union(StateFlags::MAXIMIZED);

/// The full view as it was, while the mini view is shown.
#[derive(Clone, Copy)]
struct Full {
    at: PhysicalPosition<i32>,
    size: PhysicalSize<u32>,
    maximized: bool,
    fullscreen: bool,
}

#[derive(Default)]
pub struct MiniView(Mutex<Option<Full>>);

/// Shows the mini view (`on`) or the full view again; either twice is
/// harmless. Refused, with why, when the window cannot be changed.
#[tauri::command]
pub fn set_mini_view<R: Runtime>(
    window: WebviewWindow<R>,
    mini: State<'_, MiniView>,
    on: bool,
) -> Result<(), Sentence> {
    let failed = |e: tauri::Error| Sentence::new("mini.failed").with("why", e);
    let mut full = mini
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    match (on, *full) {
        (true, None) => {
            let maximized = window.is_maximized().map_err(failed)?;
            let fullscreen = window.is_fullscreen().map_err(failed)?;
            // A maximised or full-screen window keeps its size otherwise.
            if fullscreen {
                window.set_fullscreen(false).map_err(failed)?;
            }
            if maximized {
                window.unmaximize().map_err(failed)?;
            }
            // Noted before the window changes: a step that fails halfway
            // still comes back to it.
            *full = Some(Full {
                at: window.outer_position().map_err(failed)?,
                size: window.inner_size().map_err(failed)?,
                maximized,
                fullscreen,
            });
            window.set_min_size(Some(MINI)).map_err(failed)?;
            window.set_size(MINI).map_err(failed)?;
            window.set_always_on_top(true).map_err(failed)?;
        }
        (false, Some(was)) => {
            window.set_always_on_top(false).map_err(failed)?;
            window.set_min_size(Some(FULL_MIN)).map_err(failed)?;
            window.set_size(was.size).map_err(failed)?;
            window.set_position(was.at).map_err(failed)?;
            if was.maximized {
                window.maximize().map_err(failed)?;
            }
            if was.fullscreen {
                window.set_fullscreen(true).map_err(failed)?;
            }
            // Forgotten once back: a step that failed can be tried again.
            *full = None;
        }
        _ => {}
    }
    Ok(())
}

/// Before the app quits: the full view back, so the window opens next time
/// as it was left, not as the strip. The system resizes a window in its
/// own time: waits until it reports its size again (5 s at most; on a
/// busy machine 1 s was not always enough, and the strip's size was kept),
/// then saves the window's state at once: as the app ends, the plugin may
/// save the size its last resize event gave, which can still be the
/// strip's.
pub async fn full_before_quit<R: Runtime>(app: &tauri::AppHandle<R>) {
    use tauri::Manager;
    let Some(window) = app.get_webview_window("main") else {
        return;
    };
    let mini = app.state::<MiniView>();
    let Some(was) = *mini
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    else {
        return;
    };
    if let Err(e) = set_mini_view(window.clone(), mini, false) {
        tracing::warn!("the full view before quitting: {e}");
        return;
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while !was.maximized
        && window.inner_size().ok() != Some(was.size)
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    if !was.maximized && window.inner_size().ok() != Some(was.size) {
        tracing::warn!("the full view did not come back before quitting");
    }
    if let Err(e) = app.save_window_state(WINDOW_STATE) {
        tracing::warn!("saving the window's place and size: {e}");
    }
}
