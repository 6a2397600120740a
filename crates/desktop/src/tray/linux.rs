//! Whether a status-icon host is running: a tray shows our icon only if a
//! StatusNotifierWatcher with a host registered is on the session bus
//! (GNOME without its extension has none). And whether the icon can be
//! made at all: the tray loads Ayatana's (or the older) AppIndicator
//! library at run time, and panics if neither is installed.

/// The names the tray tries, in its order.
const LIBRARIES: [&str; 4] = [
    "libayatana-appindicator3.so.1",
    "libappindicator3.so.1",
    "libayatana-appindicator3.so",
    "libappindicator3.so",
];

/// One of the libraries loads.
#[allow(unsafe_code)]
pub fn can_draw() -> bool {
    let found = LIBRARIES.iter().any(|name| {
        // SAFETY: loading runs the library's initialisers, as the tray's
        // own loading of the same library does a moment later; nothing is
        // called through it here.
        unsafe { libloading::Library::new(name) }.is_ok()
    });
    if !found {
        tracing::warn!(
            "no tray icon: neither Ayatana AppIndicator nor AppIndicator is installed \
             (libayatana-appindicator3-1)"
        );
    }
    found
}

#[zbus::proxy(
    interface = "org.kde.StatusNotifierWatcher",
    default_service = "org.kde.StatusNotifierWatcher",
    default_path = "/StatusNotifierWatcher"
)]
trait Watcher {
    #[zbus(property)]
    fn is_status_notifier_host_registered(&self) -> zbus::Result<bool>;
}

/// A tray is there to come back from; no session bus or no watcher is no.
pub async fn present() -> bool {
    let asked = async {
        let bus = zbus::Connection::session().await?;
        WatcherProxy::new(&bus)
            .await?
            .is_status_notifier_host_registered()
            .await
    };
    match tokio::time::timeout(std::time::Duration::from_secs(2), asked).await {
        Ok(Ok(registered)) => registered,
        Ok(Err(e)) => {
            tracing::debug!("no status-icon host: {e}");
            false
        }
        Err(_) => false,
    }
}
