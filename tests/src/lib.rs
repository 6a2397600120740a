//! The RTCstack test bench: the real world every capability is proven in.
//!
//! - [`server::LiveKitServer`]: a real `livekit-server` per test, on its own
//!   ports (or in its own network namespace), with no outbound lookups.
//! - [`tokens`]: access tokens with chosen identity, grants and TTL.
//! - [`room_service::RoomService`]: the server's Twirp RoomService.
//! - [`peer::PythonPeer`]: a foreign peer on LiveKit's own engine (PyPI
//!   `livekit`) that publishes a tone and reports what it hears.
//! - [`netns::NetHost`]: a network namespace joined to ours by a veth pair,
//!   so the path between the client under test and the server can be cut and
//!   degraded in the kernel ([`impair`]: loss, delay, jitter).
//!
//! - [`app::AppSession`]: the real app in a real window under tauri-driver.
//! - [`fake_logind::FakeLogind`]: a private system bus with a fake logind
//!   that hands out inhibitor locks and announces sleep and wake.
//! - [`netchange`]: the app in a call while its address moves (the network
//!   monitor's test and benchmark share it).
//! - [`tray_host::TrayHost`]: a desktop's tray on the test's session bus:
//!   the app's icon registers with it, its menu is read and clicked.
//! - [`shortcuts_portal::ShortcutsPortal`]: a Wayland desktop's
//!   GlobalShortcuts portal (the real frontend, our backend) on a private
//!   session bus: it binds push-to-talk's key and presses it.
//! - [`screencast_portal::ScreenCastPortal`]: a Wayland desktop's ScreenCast
//!   portal (the real frontend, our backend) handing out a test PipeWire node.
//! - [`update_server::UpdateServer`]: a loopback release host for the
//!   update test, which can also cut or pace a download.
//! - [`test_camera::TestCamera`]: a webcam as a Linux desktop has one: a
//!   YUY2 video source drawing the video pattern, in a private PipeWire
//!   daemon with WirePlumber ([`test_camera::PipeWire`]).
//!
//! Everything that waits takes a deadline; nothing sleeps and hopes.

pub mod app;
#[cfg(feature = "linux-bench")]
pub mod client;
#[cfg(feature = "linux-bench")]
pub mod cluster;
#[cfg(feature = "linux-bench")]
pub mod crowd;
#[cfg(feature = "linux-bench")]
pub mod daemon;
#[cfg(feature = "linux-bench")]
pub mod engine_log;
#[cfg(feature = "linux-bench")]
pub mod fake_logind;
#[cfg(feature = "linux-bench")]
pub mod frame_watch;
#[cfg(feature = "linux-bench")]
pub mod http_proxy;
pub mod http_wire;
#[cfg(feature = "linux-bench")]
pub mod impair;
#[cfg(feature = "linux-bench")]
pub mod join_timing;
pub mod lines;
#[cfg(feature = "linux-bench")]
pub mod netchange;
#[cfg(feature = "linux-bench")]
pub mod netns;
#[cfg(feature = "linux-bench")]
pub mod notifications;
pub mod paths;
pub mod pattern;
#[cfg(feature = "linux-bench")]
pub mod peer;
#[cfg(feature = "linux-bench")]
mod portal_frontend;
#[cfg(feature = "linux-bench")]
pub mod private_bus;
pub mod probe;
pub mod pulse;
#[cfg(feature = "linux-bench")]
pub mod rig;
pub mod room_service;
#[cfg(feature = "linux-bench")]
pub mod screen_reader;
#[cfg(all(target_os = "linux", feature = "linux-bench"))]
pub mod screencast_portal;
#[cfg(feature = "linux-bench")]
pub mod secret_service;
#[cfg(feature = "linux-bench")]
pub mod server;
#[cfg(feature = "linux-bench")]
pub mod shortcuts_portal;
pub mod signal_proxy;
#[cfg(feature = "linux-bench")]
pub mod speech;
pub mod stats;
pub mod tail;
#[cfg(all(target_os = "linux", feature = "linux-bench"))]
pub mod test_camera;
#[cfg(feature = "linux-bench")]
pub mod timeline;
#[cfg(feature = "linux-bench")]
pub mod tls_front;
pub mod token_service;
pub mod tokens;
#[cfg(feature = "linux-bench")]
pub mod tone_watch;
#[cfg(feature = "linux-bench")]
pub mod tray_host;
pub mod update_server;
#[cfg(feature = "linux-bench")]
pub mod usage;
#[cfg(feature = "linux-bench")]
pub mod video_seen;
#[cfg(feature = "linux-bench")]
pub mod vpx_frames;
#[cfg(feature = "linux-bench")]
pub mod window;
#[cfg(feature = "linux-bench")]
pub mod wine;
#[cfg(feature = "linux-bench")]
pub mod x_window;

/// Chooses the process's TLS provider (ring, as the engine does) before any
/// HTTP client is built: reqwest is built without one of its own, and an
/// explicit choice keeps working if another provider is ever linked in.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The root check for tests that need namespaces, nftables or netem.
#[cfg(feature = "linux-bench")]
pub fn require_root(what: &str) -> anyhow::Result<()> {
    if nix::unistd::Uid::effective().is_root() {
        Ok(())
    } else {
        anyhow::bail!(
            "{what} needs root (network namespaces, nftables and tc netem); \
             run the test group as root, as CI does"
        )
    }
}
