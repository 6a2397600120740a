//! Windows: the update is the NSIS (or MSI) installer of the new version.
//! Installing starts it in passive mode and exits the app; the installer
//! starts the new version when it is done. So "install" never returns on
//! success.

use tauri::utils::{config::BundleType, platform::bundle_type};

/// Label of the button that applies a downloaded update.
/// The words of the button that applies the update (a resource key).
pub const APPLY_LABEL: &str = "update.installAndRestart";

/// Whether this copy of the app can update itself, and if not why.
pub fn can_self_update() -> Result<(), String> {
    match bundle_type() {
        Some(BundleType::Nsis | BundleType::Msi) => Ok(()),
        _ => Err("this copy was not installed by the RTCstack installer \
                  (a build run from a checkout)"
            .into()),
    }
}

/// The installer restarts the app itself.
pub const RESTART_AFTER_INSTALL: bool = false;
