//! Meeting links: `rtcstack://` registered with the OS
//! (`tauri-plugin-deep-link`), one running instance that takes every link
//! (`tauri-plugin-single-instance`: a second launch hands over its
//! arguments and exits). What a link may do is the core's
//! (`rtcstack_desktop_core::links`); the page asks and joins.

use rtcstack_desktop_core::links::{self, LinkView};
use rtcstack_desktop_core::{ipc, Desktop};
use tauri::plugin::TauriPlugin;
use tauri::{AppHandle, Emitter, Manager, State, Wry};
pub use tauri_plugin_deep_link::init as plugin;
use tauri_plugin_deep_link::DeepLinkExt;

/// First among the plugins: a second instance leaves before the rest
/// starts. Its `rtcstack:` link reaches the deep-link plugin, an https one
/// comes here; a launch without one brings the window forward.
pub fn one_instance() -> TauriPlugin<Wry> {
    tauri_plugin_single_instance::init(|app, args, _cwd| {
        let mut any = false;
        for link in args.iter().skip(1).filter(|a| links::is_https_link(a)) {
            opened(app, link);
            any = true;
        }
        if !any {
            crate::tray::show_window(app);
        }
    })
}

/// Listens for links, and takes the one the app was started with.
pub fn setup(app: &AppHandle) {
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        for url in event.urls() {
            opened(&handle, url.as_str());
        }
    });
    register(app);
    if let Ok(Some(urls)) = app.deep_link().get_current() {
        for url in urls {
            opened(app, url.as_str());
        }
    }
    // An https link the app was started with.
    for link in std::env::args().skip(1).filter(|a| links::is_https_link(a)) {
        opened(app, &link);
    }
}

fn opened(app: &AppHandle, link: &str) {
    // A second launch in the moment before the app is set up: no link yet.
    let Some(desktop) = app.try_state::<Desktop>() else {
        return;
    };
    let view = desktop.open_link(link);
    crate::tray::show_window(app);
    let _ = app.emit(ipc::event::LINK, &view);
}

/// An installed package registers the scheme itself (its .desktop file);
/// a binary run from elsewhere (a build, an AppImage) registers it for the
/// user, as the OS needs a handler to launch.
#[cfg(target_os = "linux")]
fn register(app: &AppHandle) {
    let installed = std::env::current_exe().is_ok_and(|e| e.starts_with("/usr/"));
    if !installed {
        if let Err(e) = app.deep_link().register_all() {
            tracing::warn!("the rtcstack: link scheme could not be registered: {e}");
        }
    }
}

/// The installer and the bundle register the scheme.
#[cfg(not(target_os = "linux"))]
fn register(_app: &AppHandle) {}

#[tauri::command]
pub fn take_link(desktop: State<'_, Desktop>) -> Option<LinkView> {
    desktop.take_link()
}
