//! Where the installed parts live. `scripts/setup` puts them in the cache
//! folder and exports these variables; the defaults match its layout.

use std::path::PathBuf;

fn cache() -> PathBuf {
    std::env::var_os("RTCSTACK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_else(|| "/root".into());
            PathBuf::from(home).join(".cache/rtcstack")
        })
}

/// The `livekit-server` binary built by `scripts/setup`.
pub fn livekit_server() -> PathBuf {
    std::env::var_os("RTCSTACK_LIVEKIT_SERVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join("bin/livekit-server"))
}

/// The venv's Python, which has the PyPI `livekit` SDK.
pub fn python() -> PathBuf {
    std::env::var_os("RTCSTACK_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| cache().join("venv/bin/python"))
}

/// The foreign peer program.
pub fn peer_script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("peer/peer.py")
}

/// Our `call` example (built by `scripts/test` before the tests run).
pub fn call_example() -> PathBuf {
    if let Some(p) = std::env::var_os("RTCSTACK_CALL_EXAMPLE") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug/examples/call")
}

/// Fails with the command that fixes it when a part is not installed.
pub fn check_installed() -> anyhow::Result<()> {
    for (what, path) in [
        ("livekit-server", livekit_server()),
        ("python venv", python()),
    ] {
        anyhow::ensure!(
            path.exists(),
            "{what} not found at {}: run scripts/setup",
            path.display()
        );
    }
    Ok(())
}
