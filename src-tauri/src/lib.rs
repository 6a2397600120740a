//! The desktop shell: a thin layer of commands and events over `rtcstack`.

use rtcstack::ConnectionState;

pub mod update;

/// The call's state as the UI should show it. Until the call engine lands the
/// app is always idle; the command exists so the UI reads state from Rust.
#[tauri::command]
fn connection_state() -> ConnectionState {
    ConnectionState::Idle
}

#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    if let Err(err) = tauri::Builder::default()
        .plugin(update::plugin())
        .setup(|app| {
            update::setup(app.handle());
            Ok(())
        })
        .invoke_handler(tauri::generate_handler![
            connection_state,
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
