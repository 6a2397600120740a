//! The desktop shell: Tauri's commands and events over
//! `rtcstack-desktop-core`, which does the work.

use std::sync::Arc;

use rtcstack_desktop_core::{redact, Desktop, EnvProfile};
use tauri::Manager;

mod commands;
mod links;
mod mini_view;
mod push_to_talk;
mod shell;
mod tray;
pub mod update;

/// Registers the commands, and keeps their names for the test that holds
/// them to the IPC contract (`rtcstack_desktop_core::ipc`), from which the
/// UI's wrappers are generated. Tauri names a command after its function.
macro_rules! commands {
    ([$($module:ident :: $name:ident),* $(,)?], test_hooks: [$($hmodule:ident :: $hname:ident),* $(,)?]) => {
        #[cfg(test)]
        const REGISTERED: &[&str] = &[$(stringify!($name)),*];

        fn handler<R: tauri::Runtime>() -> impl Fn(tauri::ipc::Invoke<R>) -> bool + Send + Sync + 'static {
            tauri::generate_handler![
                $($module::$name,)*
                $(#[cfg(feature = "test-hooks")] $hmodule::$hname,)*
            ]
        }
    };
}

commands!(
    [
        commands::profiles,
        commands::save_profile,
        commands::delete_profile,
        commands::select_profile,
        commands::call_view,
        commands::join,
        commands::leave,
        commands::set_muted,
        commands::retry_now,
        commands::show_video,
        commands::place_videos,
        commands::videos_painted,
        commands::video_socket,
        commands::shareables,
        commands::cameras,
        commands::show_camera,
        commands::share_screen,
        commands::check_view,
        commands::run_check,
        commands::save_call_report,
        commands::audio_view,
        commands::choose_devices,
        commands::set_audio_stages,
        links::take_link,
        commands::language_view,
        commands::choose_language,
        push_to_talk::push_to_talk_view,
        push_to_talk::set_push_to_talk_key,
        mini_view::set_mini_view,
        update::update_status,
        update::update_check,
        update::update_apply,
    ],
    // For the end-to-end update test; never in a release.
    test_hooks: [update::test_call_started, update::test_call_ended]
);

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    // Logs to stderr, `RUST_LOG` to choose. Nothing we log carries a token
    // or secret, and every line is redacted on its way out in case a
    // library's does.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "warn,rtcstack=info,rtcstack_desktop=info".into()),
        )
        .with_writer(redact::Redacting)
        .try_init();
    let mut builder = tauri::Builder::default()
        .plugin(links::one_instance())
        .plugin(links::plugin())
        // The window opens where it was left (not whether it was shown: a
        // window in the tray at quit opens shown).
        .plugin(
            tauri_plugin_window_state::Builder::new()
                .with_state_flags(mini_view::WINDOW_STATE)
                .build(),
        )
        .plugin(update::plugin())
        .plugin(tauri_plugin_notification::init());
    if let Some(keys) = push_to_talk::plugin() {
        builder = builder.plugin(keys);
    }
    if let Err(err) = builder
        .setup(|app| {
            let dir = app.path().app_config_dir()?;
            let window = Arc::new(shell::Window(app.handle().clone()));
            let desktop = Desktop::new(&dir, EnvProfile::from_env(), window);
            update::setup(app.handle(), desktop.gate.clone());
            // The monitors spawn their tasks on the app's runtime.
            tauri::async_runtime::block_on(async { desktop.start() });
            app.manage(desktop);
            app.manage(mini_view::MiniView::default());
            // After the desktop: the menu's items act on it.
            let tray = tray::build(app.handle())?;
            app.manage(tray);
            tray::look_for_host(app.handle());
            push_to_talk::setup(app.handle());
            links::setup(app.handle());
            native_video(app);
            Ok(())
        })
        .on_window_event(tray::window_event)
        .invoke_handler(handler())
        .run(tauri::generate_context!())
    {
        eprintln!("rtcstack-desktop could not start: {err}");
        std::process::exit(1);
    }
}

/// The window draws the tiles' pictures over its webview where it can
/// (Linux); the page draws them elsewhere, or if this fails.
fn native_video(app: &tauri::App) {
    #[cfg(target_os = "linux")]
    if let Some(window) = app.get_webview_window("main") {
        let app = app.handle().clone();
        let attached = window.with_webview(move |webview| {
            let shown = move |track: &str| {
                let shown = rtcstack_desktop_core::ipc::event::VIDEO_SHOWN;
                let _ = tauri::Emitter::emit(&app, shown, track);
            };
            if let Err(e) = rtcstack_desktop_core::video::native::attach(&webview.inner(), shown) {
                eprintln!("rtcstack-desktop: the page draws the videos: {e}");
            }
        });
        if let Err(e) = attached {
            eprintln!("rtcstack-desktop: the page draws the videos: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

#[cfg(test)]
mod tests {
    /// A signed, hardened macOS build can use the microphone only with both
    /// the usage description and the entitlement.
    #[test]
    fn the_macos_bundle_asks_for_the_microphone() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).unwrap();
        let mac = &conf["bundle"]["macOS"];
        assert_eq!(mac["hardenedRuntime"], true);
        assert_eq!(mac["entitlements"], "./Entitlements.plist");
        let entitlements = include_str!("../Entitlements.plist");
        assert!(
            entitlements.contains("<key>com.apple.security.device.audio-input</key>\n  <true/>")
        );
        let info = include_str!("../Info.plist");
        assert!(info.contains("<key>NSMicrophoneUsageDescription</key>\n  <string>RTCstack"));
    }
    #[test]
    fn every_command_registered_is_in_the_contract_and_back() {
        let mut registered: Vec<&str> = super::REGISTERED.to_vec();
        let mut contract: Vec<&str> = rtcstack_desktop_core::ipc::commands()
            .iter()
            .map(|c| c.name)
            .collect();
        registered.sort_unstable();
        contract.sort_unstable();
        assert_eq!(registered, contract);
    }
}
