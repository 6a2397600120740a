//! The real `xdg-desktop-portal` (Debian's, the frontend every application
//! talks to) on a private session bus, with one backend of a test's own
//! standing in for the compositor's. What the portals the test bench fakes
//! (`shortcuts_portal`, `screencast_portal`) share: the bus, the `*.portal`
//! file naming the backend, the frontend's process and the wait until it
//! serves.
//!
//! In two steps, because the frontend reads its backends (and, for some
//! portals, their properties) once, at startup: [`PortalBus::start`] gives
//! the bus, the backend takes its name on it ([`PortalBus::serve`]), then
//! [`PortalBus::start_frontend`] starts the frontend.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures_util::StreamExt;

use crate::private_bus::{BusKind, PrivateBus};

/// Where backends and the frontend serve the portals.
pub(crate) const PATH: &str = "/org/freedesktop/portal/desktop";
/// The frontend's name, which applications call.
pub(crate) const PORTAL: &str = "org.freedesktop.portal.Desktop";
/// The desktop the `*.portal` file is for (the frontend's
/// `XDG_CURRENT_DESKTOP`).
const DESKTOP: &str = "rtcstacktest";
const FRONTEND: &str = "/usr/libexec/xdg-desktop-portal";
const FRONTEND_START: Duration = Duration::from_secs(10);

/// The private session bus the frontend is to run on, in a temp dir of its
/// own; no frontend yet.
pub(crate) struct PortalBus {
    bus: PrivateBus,
    dir: tempfile::TempDir,
}

impl PortalBus {
    pub(crate) async fn start() -> Result<Self> {
        if !std::path::Path::new(FRONTEND).exists() {
            bail!("{FRONTEND} is missing (apt xdg-desktop-portal; scripts/setup)");
        }
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-portal-")
            .tempdir()?;
        let bus_dir = dir.path().to_owned();
        let bus =
            tokio::task::spawn_blocking(move || PrivateBus::start(&bus_dir, BusKind::Session))
                .await??;
        Ok(PortalBus { bus, dir })
    }

    pub(crate) fn address(&self) -> &str {
        self.bus.address()
    }

    /// The backend: a connection that owns `name` on this bus and serves
    /// `backend` at [`PATH`].
    pub(crate) async fn serve(
        &self,
        name: &str,
        backend: impl zbus::object_server::Interface,
    ) -> Result<zbus::Connection> {
        zbus::connection::Builder::address(self.address())?
            .name(name)?
            .serve_at(PATH, backend)?
            .build()
            .await
            .context("taking the portal backend's name on the private bus")
    }

    /// Starts the frontend with the backend `backend` (a name already
    /// owned on this bus) for `interfaces` (e.g.
    /// `org.freedesktop.impl.portal.ScreenCast`), `env` setting (or
    /// removing) more of its environment on its command. Returns once it owns its name, watched through `conn`
    /// (a connection on this bus); the frontend reads its backends before it
    /// takes it.
    pub(crate) async fn start_frontend(
        self,
        conn: &zbus::Connection,
        backend: &str,
        interfaces: &[&str],
        env: impl FnOnce(&mut Command),
    ) -> Result<PortalFrontend> {
        // The frontend picks its backends from `*.portal` files, by the
        // desktop's name.
        let portals = self.dir.path().join("portals");
        std::fs::create_dir_all(&portals)?;
        let interfaces: String = interfaces.iter().map(|i| format!("{i};")).collect();
        std::fs::write(
            portals.join(format!("{DESKTOP}.portal")),
            format!("[portal]\nDBusName={backend}\nInterfaces={interfaces}\nUseIn={DESKTOP}\n"),
        )?;
        let mut command = Command::new(FRONTEND);
        command
            .env("DBUS_SESSION_BUS_ADDRESS", self.address())
            .env("XDG_DESKTOP_PORTAL_DIR", &portals)
            .env("XDG_CURRENT_DESKTOP", DESKTOP)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        env(&mut command);
        let child = command.spawn().context("starting xdg-desktop-portal")?;
        // From here on, an error drops it: the frontend is killed.
        let mut frontend = PortalFrontend {
            child,
            bus: self.bus,
            _dir: self.dir,
        };
        frontend.wait_named(conn, FRONTEND_START).await?;
        Ok(frontend)
    }
}

/// The running frontend, its bus and temp dir; dropped, all are gone.
pub(crate) struct PortalFrontend {
    child: Child,
    bus: PrivateBus,
    _dir: tempfile::TempDir,
}

impl PortalFrontend {
    async fn wait_named(&mut self, conn: &zbus::Connection, within: Duration) -> Result<()> {
        let dbus = zbus::fdo::DBusProxy::new(conn).await?;
        let mut owners = dbus.receive_name_owner_changed().await?;
        let name = zbus::names::BusName::try_from(PORTAL)?;
        let deadline = Instant::now() + within;
        while !dbus.name_has_owner(name.clone()).await? {
            if let Ok(Some(status)) = self.child.try_wait() {
                bail!("xdg-desktop-portal exited: {status}");
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                bail!("xdg-desktop-portal took no name within {within:?}");
            }
            // The owner change wakes us; the timeout re-checks the process.
            let _ = tokio::time::timeout(left.min(Duration::from_millis(500)), owners.next()).await;
        }
        Ok(())
    }

    /// The bus's address, for the app's `DBUS_SESSION_BUS_ADDRESS`.
    pub(crate) fn address(&self) -> &str {
        self.bus.address()
    }
}

impl Drop for PortalFrontend {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
