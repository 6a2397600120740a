//! The desktop's GlobalShortcuts portal as a Wayland session has it: the
//! real `xdg-desktop-portal` (Debian's, the frontend every application
//! talks to) on a private session bus, with a backend of ours standing in
//! for the compositor's (KDE's or GNOME's cannot run here). The backend
//! records what the app asks to bind, binds the key a person picked in the
//! desktop's dialog, and presses and releases it on the test's word.
//!
//! Give the app `DBUS_SESSION_BUS_ADDRESS` = [`ShortcutsPortal::address`]
//! and `XDG_SESSION_TYPE=wayland`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{bail, Context, Result};
use zbus::object_server::SignalEmitter;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

use crate::portal_frontend::{PortalBus, PortalFrontend, PATH, PORTAL};

const BACKEND: &str = "org.freedesktop.impl.portal.desktop.rtcstacktest";

/// One shortcut an application asked the desktop to bind.
#[derive(Debug, Clone)]
pub struct Asked {
    pub session: String,
    pub id: String,
    pub description: String,
    pub preferred_trigger: Option<String>,
}

#[derive(Default)]
struct Desk {
    asked: Vec<Asked>,
    /// The key the person picks in the desktop's dialog, whatever was
    /// preferred (None: the preferred one).
    pick: Option<String>,
    closed: Vec<String>,
}

type Shared = Arc<Mutex<Desk>>;

fn value(v: impl Into<Value<'static>>) -> OwnedValue {
    OwnedValue::try_from(v.into()).expect("a plain value")
}

fn text(options: &HashMap<String, OwnedValue>, key: &str) -> Option<String> {
    options
        .get(key)
        .and_then(|v| String::try_from(v.try_clone().ok()?).ok())
}

/// A request's answer: success, and the session's `shortcuts`.
fn bound(
    shortcuts: Vec<(String, HashMap<String, OwnedValue>)>,
) -> (u32, HashMap<String, OwnedValue>) {
    (
        0,
        HashMap::from([("shortcuts".to_string(), value(shortcuts))]),
    )
}

struct Backend {
    desk: Shared,
}

#[zbus::interface(name = "org.freedesktop.impl.portal.GlobalShortcuts")]
impl Backend {
    async fn create_session(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        _app_id: String,
        _options: HashMap<String, OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> (u32, HashMap<String, OwnedValue>) {
        let session = ImplSession {
            desk: Arc::clone(&self.desk),
            path: session_handle.to_string(),
        };
        if server.at(session_handle, session).await.is_err() {
            return (2, HashMap::new());
        }
        // What the session already has bound, as KDE's backend says it (the
        // frontend passes it on): nothing yet.
        bound(Vec::new())
    }

    async fn bind_shortcuts(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        shortcuts: Vec<(String, HashMap<String, OwnedValue>)>,
        _parent_window: String,
        _options: HashMap<String, OwnedValue>,
    ) -> (u32, HashMap<String, OwnedValue>) {
        let mut desk = self.desk.lock().expect("desk lock");
        let mut shortcuts_bound = Vec::new();
        for (id, options) in shortcuts {
            let asked = Asked {
                session: session_handle.to_string(),
                id: id.clone(),
                description: text(&options, "description").unwrap_or_default(),
                preferred_trigger: text(&options, "preferred_trigger"),
            };
            let trigger = desk
                .pick
                .clone()
                .or_else(|| asked.preferred_trigger.clone())
                .unwrap_or_default();
            let mut info = HashMap::new();
            info.insert("description".to_string(), value(asked.description.clone()));
            info.insert("trigger_description".to_string(), value(trigger));
            shortcuts_bound.push((id, info));
            desk.asked.push(asked);
        }
        bound(shortcuts_bound)
    }

    async fn list_shortcuts(
        &self,
        _handle: OwnedObjectPath,
        _session_handle: OwnedObjectPath,
    ) -> (u32, HashMap<String, OwnedValue>) {
        (0, HashMap::new())
    }

    #[zbus(property)]
    fn version(&self) -> u32 {
        1
    }

    #[zbus(signal)]
    async fn activated(
        emitter: &SignalEmitter<'_>,
        session_handle: ObjectPath<'_>,
        shortcut_id: &str,
        timestamp: u64,
        options: HashMap<String, OwnedValue>,
    ) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn deactivated(
        emitter: &SignalEmitter<'_>,
        session_handle: ObjectPath<'_>,
        shortcut_id: &str,
        timestamp: u64,
        options: HashMap<String, OwnedValue>,
    ) -> zbus::Result<()>;
}

/// The backend's side of a session, which the frontend closes.
struct ImplSession {
    desk: Shared,
    path: String,
}

#[zbus::interface(name = "org.freedesktop.impl.portal.Session")]
impl ImplSession {
    async fn close(&self) {
        self.desk
            .lock()
            .expect("desk lock")
            .closed
            .push(self.path.clone());
    }

    #[zbus(property)]
    fn version(&self) -> u32 {
        1
    }
}

/// The running bus, frontend and backend; dropped, all are gone.
pub struct ShortcutsPortal {
    conn: zbus::Connection,
    desk: Shared,
    frontend: PortalFrontend,
}

impl ShortcutsPortal {
    pub async fn start() -> Result<Self> {
        let bus = PortalBus::start().await?;
        let desk: Shared = Arc::default();
        let backend = Backend {
            desk: Arc::clone(&desk),
        };
        let conn = bus.serve(BACKEND, backend).await?;
        let frontend = bus
            .start_frontend(
                &conn,
                BACKEND,
                &["org.freedesktop.impl.portal.GlobalShortcuts"],
                |_| {},
            )
            .await?;
        let portal = ShortcutsPortal {
            conn,
            desk,
            frontend,
        };
        // The frontend reads its backends before it takes its name.
        let shortcuts = zbus::Proxy::new(
            &portal.conn,
            PORTAL,
            PATH,
            "org.freedesktop.portal.GlobalShortcuts",
        )
        .await?;
        let version: u32 = shortcuts
            .get_property("version")
            .await
            .context("the frontend offers no GlobalShortcuts")?;
        eprintln!("xdg-desktop-portal serves GlobalShortcuts version {version}");
        Ok(portal)
    }

    /// For the app's `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        self.frontend.address()
    }

    /// The key the person picks in the desktop's dialog from now on.
    pub fn pick(&self, trigger: &str) {
        self.desk.lock().expect("desk lock").pick = Some(trigger.to_string());
    }

    /// Waits until a shortcut was asked for; returns all asked.
    pub async fn wait_asked(&self, within: Duration) -> Result<Vec<Asked>> {
        self.wait("a shortcut asked for", within, |d| {
            (!d.asked.is_empty()).then(|| d.asked.clone())
        })
        .await
    }

    /// Waits until the frontend closed a session; returns those closed.
    pub async fn wait_closed(&self, within: Duration) -> Result<Vec<String>> {
        self.wait("a session closed", within, |d| {
            (!d.closed.is_empty()).then(|| d.closed.clone())
        })
        .await
    }

    async fn wait<T>(
        &self,
        what: &str,
        within: Duration,
        seen: impl Fn(&Desk) -> Option<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = seen(&self.desk.lock().expect("desk lock")) {
                return Ok(found);
            }
            if Instant::now() > deadline {
                bail!("{what}: not within {within:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The person presses (`true`) or releases the key bound for `asked`.
    pub async fn key(&self, asked: &Asked, down: bool) -> Result<()> {
        let iface = self
            .conn
            .object_server()
            .interface::<_, Backend>(PATH)
            .await?;
        let session = ObjectPath::try_from(asked.session.as_str())?;
        let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis() as u64;
        let emitter = iface.signal_emitter();
        if down {
            Backend::activated(emitter, session, &asked.id, now, HashMap::new()).await?;
        } else {
            Backend::deactivated(emitter, session, &asked.id, now, HashMap::new()).await?;
        }
        Ok(())
    }
}
