//! The call controller's [`Shell`] in a window: each view goes to the page
//! as the `call-view` event (`ipc::event::CALL_VIEW`), and a notification is shown when the window
//! is not in front (the banner says it otherwise); the tray icon shows
//! the call too.

use rtcstack_desktop_core::audio::{AudioView, MicActivity};
use rtcstack_desktop_core::call::{CallView, Notification, StatsView};
use rtcstack_desktop_core::{ipc, AudioShell, CheckShell, CheckView, Desktop, Shell};
use tauri::{AppHandle, Emitter, Manager};
use tauri_plugin_notification::NotificationExt;

use crate::tray::Tray;

pub struct Window(pub AppHandle);

impl Shell for Window {
    fn show(&self, view: &CallView) {
        // No window (yet) is not an error: the page reads the view with
        // `call_view` when it loads.
        let _ = self.0.emit(ipc::event::CALL_VIEW, view);
        if let Some(tray) = self.0.try_state::<Tray>() {
            tray.show(&self.0, view);
        }
    }

    fn notify(&self, n: &Notification) {
        let focused = self
            .0
            .get_webview_window("main")
            .and_then(|w| w.is_focused().ok())
            .unwrap_or(false);
        if !focused {
            post(&self.0, n);
        }
    }

    fn stats(&self, stats: &StatsView) {
        let _ = self.0.emit(ipc::event::CALL_STATS, stats);
    }
}

/// Shows `n` as a desktop notification, in the app's language.
pub fn post(app: &AppHandle, n: &Notification) {
    let language = app.state::<Desktop>().language.current();
    let shown = app
        .notification()
        .builder()
        .title(n.title.say(&language))
        .body(n.body.say(&language))
        .show();
    if let Err(e) = shown {
        tracing::warn!("notification not shown: {e}");
    }
}

impl CheckShell for Window {
    fn check(&self, view: &CheckView) {
        let _ = self.0.emit(ipc::event::CHECK_VIEW, view);
    }
}

impl AudioShell for Window {
    fn audio(&self, view: &AudioView) {
        let _ = self.0.emit(ipc::event::AUDIO_VIEW, view);
    }

    fn mic(&self, activity: &MicActivity) {
        let _ = self.0.emit(ipc::event::MIC_ACTIVITY, activity);
    }
}
