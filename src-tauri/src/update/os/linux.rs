//! Linux: the app updates itself when it was installed from a .deb, .rpm
//! or AppImage. The updater installs a .deb or .rpm through `pkexec` (the
//! desktop's admin prompt; falls back to `sudo`) and rewrites an AppImage in
//! place; the running process keeps its old image until it restarts.

use tauri::utils::{config::BundleType, platform::bundle_type};

/// Label of the button that applies a downloaded update.
/// The words of the button that applies the update (a resource key).
pub const APPLY_LABEL: &str = "update.restartToUpdate";

/// Whether this copy of the app can update itself, and if not why.
pub fn can_self_update() -> Result<(), String> {
    match bundle_type() {
        Some(BundleType::Deb | BundleType::Rpm | BundleType::AppImage) => Ok(()),
        _ => Err("this copy is not an installed .deb, .rpm or AppImage \
                  (a build run from a checkout updates with its sources)"
            .into()),
    }
}

/// Whether the caller must restart the app after [`install`] returns.
pub const RESTART_AFTER_INSTALL: bool = true;
