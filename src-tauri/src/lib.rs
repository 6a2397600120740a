//! The desktop shell: a thin layer of commands and events over `rtcstack`.

use tauri::Manager;

mod hints;
mod network;
mod notify;
mod power;
mod profiles;
mod redact;
mod session;
pub mod update;
mod view;
mod words;

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
    if let Err(err) = tauri::Builder::default()
        .plugin(update::plugin())
        .plugin(tauri_plugin_notification::init())
        .manage(session::Session::default())
        .setup(|app| {
            // Profiles live in the app's config directory; their secrets
            // in the keychain.
            let dir = app.path().app_config_dir()?;
            app.manage(profiles::Profiles::new(
                &dir,
                profiles::EnvProfile::from_env(),
            ));
            update::setup(app.handle());
            hints::start(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            profiles::profiles,
            profiles::save_profile,
            profiles::delete_profile,
            profiles::select_profile,
            session::call_view,
            session::join,
            session::leave,
            session::set_muted,
            session::retry_now,
            session::audio_devices,
            session::choose_devices,
            update::update_status,
            update::update_check,
            update::update_apply,
            #[cfg(feature = "test-hooks")]
            update::test_call_started,
            #[cfg(feature = "test-hooks")]
            update::test_call_ended,
        ])
        .run(tauri::generate_context!())
    {
        eprintln!("rtcstack-desktop could not start: {err}");
        std::process::exit(1);
    }
}
