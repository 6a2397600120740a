//! macOS: the app bundle (`RTCstack.app`) is replaced by the signed
//! `.app.tar.gz` of the new version; the running process keeps its old
//! image until it restarts.

/// Label of the button that applies a downloaded update.
/// The words of the button that applies the update (a resource key).
pub const APPLY_LABEL: &str = "update.restartToUpdate";

/// Whether this copy of the app can update itself, and if not why.
pub fn can_self_update() -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the app ({e})"))?;
    if exe.to_string_lossy().contains(".app/Contents/MacOS/") {
        Ok(())
    } else {
        Err("this copy is not inside an .app bundle (a build run from a checkout)".into())
    }
}

/// Whether the caller must restart the app after [`install`] returns.
pub const RESTART_AFTER_INSTALL: bool = true;
