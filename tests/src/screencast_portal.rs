//! The desktop's ScreenCast portal as a Wayland session has it: the real
//! `xdg-desktop-portal` (Debian's 1.16, the frontend every application
//! talks to) on a private session bus, with a backend of ours standing in
//! for the compositor's (GNOME's or KDE's cannot run here). The backend
//! records the sources the app asks for and, where the desktop's dialog
//! would be, answers Start with the PipeWire node the test offers (or a
//! person's cancel). OpenPipeWireRemote is the frontend's own: it connects
//! to the test's PipeWire daemon and hands the app a connection that sees
//! only that node.
//!
//! Give the app `DBUS_SESSION_BUS_ADDRESS` = [`ScreenCastPortal::address`]
//! and `XDG_SESSION_TYPE=wayland`.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use tokio::sync::watch;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

use crate::portal_frontend::{PortalBus, PortalFrontend, PATH, PORTAL};
use crate::test_camera::PipeWire;

const BACKEND: &str = "org.freedesktop.impl.portal.desktop.rtcstacktest";

/// Source types (monitor | window) and cursor modes (hidden | embedded),
/// as GNOME offers them.
const SOURCE_TYPES: u32 = 1 | 2;
const CURSOR_MODES: u32 = 1 | 2;
/// A stream's `source_type`: a monitor.
const MONITOR: u32 = 1;

/// What an application asked for in SelectSources (the spec's defaults
/// where it left an option out).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selected {
    /// The session's handle (as [`ScreenCastPortal::wait_closed`] lists it).
    pub session: String,
    /// 1 monitor, 2 window, 4 virtual.
    pub types: u32,
    pub multiple: bool,
    /// 1 hidden, 2 embedded, 4 metadata.
    pub cursor_mode: u32,
    pub persist_mode: Option<u32>,
}

#[derive(Default)]
struct Desk {
    selected: Vec<Selected>,
    /// What Start answers: unset, the user's cancel (`Some(None)`), or a
    /// node and its size.
    offer: Option<Option<(u32, u32, u32)>>,
    closed: Vec<String>,
}

/// The desk, and word to whoever waits on it whenever it changes.
type Shared = Arc<watch::Sender<Desk>>;

fn value(v: impl Into<Value<'static>>) -> OwnedValue {
    OwnedValue::try_from(v.into()).expect("a plain value")
}

fn option<'a, T>(options: &'a HashMap<String, OwnedValue>, key: &str) -> Option<T>
where
    T: TryFrom<&'a Value<'a>>,
    <T as TryFrom<&'a Value<'a>>>::Error: Into<zbus::zvariant::Error>,
{
    options.get(key).and_then(|v| v.downcast_ref::<T>().ok())
}

type Answer = (u32, HashMap<String, OwnedValue>);

struct Backend {
    desk: Shared,
}

#[zbus::interface(name = "org.freedesktop.impl.portal.ScreenCast")]
impl Backend {
    async fn create_session(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        _app_id: String,
        _options: HashMap<String, OwnedValue>,
        #[zbus(object_server)] server: &zbus::ObjectServer,
    ) -> Answer {
        let session = ImplSession {
            desk: Arc::clone(&self.desk),
            path: session_handle.to_string(),
        };
        if server.at(session_handle, session).await.is_err() {
            return (2, HashMap::new());
        }
        (0, HashMap::new())
    }

    async fn select_sources(
        &self,
        _handle: OwnedObjectPath,
        session_handle: OwnedObjectPath,
        _app_id: String,
        options: HashMap<String, OwnedValue>,
    ) -> Answer {
        let selected = Selected {
            session: session_handle.to_string(),
            types: option(&options, "types").unwrap_or(MONITOR),
            multiple: option(&options, "multiple").unwrap_or(false),
            cursor_mode: option(&options, "cursor_mode").unwrap_or(1),
            persist_mode: option(&options, "persist_mode"),
        };
        self.desk.send_modify(|d| d.selected.push(selected));
        (0, HashMap::new())
    }

    async fn start(
        &self,
        _handle: OwnedObjectPath,
        _session_handle: OwnedObjectPath,
        _app_id: String,
        _parent_window: String,
        _options: HashMap<String, OwnedValue>,
    ) -> Answer {
        let offer = self.desk.borrow().offer;
        match offer {
            // One monitor, as GNOME and KDE describe it.
            Some(Some((node, width, height))) => {
                let size = (
                    i32::try_from(width).unwrap_or(i32::MAX),
                    i32::try_from(height).unwrap_or(i32::MAX),
                );
                let stream = HashMap::from([
                    ("size".to_string(), value(size)),
                    ("source_type".to_string(), value(MONITOR)),
                ]);
                let streams = vec![(node, stream)];
                (0, HashMap::from([("streams".to_string(), value(streams))]))
            }
            // The person cancelled the dialog.
            Some(None) => (1, HashMap::new()),
            None => {
                eprintln!(
                    "screen-cast portal: Start with nothing offered (ScreenCastPortal::offer)"
                );
                (2, HashMap::new())
            }
        }
    }

    #[zbus(property)]
    fn available_source_types(&self) -> u32 {
        SOURCE_TYPES
    }

    #[zbus(property)]
    fn available_cursor_modes(&self) -> u32 {
        CURSOR_MODES
    }

    /// 4: what 1.16's frontend speaks (it asks `persist_mode` of version 4).
    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        4
    }
}

/// The backend's side of a session, which the frontend closes (the app
/// closed it, or Start did not succeed).
struct ImplSession {
    desk: Shared,
    path: String,
}

#[zbus::interface(name = "org.freedesktop.impl.portal.Session")]
impl ImplSession {
    async fn close(&self) {
        self.desk.send_modify(|d| d.closed.push(self.path.clone()));
    }

    #[zbus(property, name = "version")]
    fn version(&self) -> u32 {
        1
    }
}

/// The running bus, frontend and backend; dropped, all are gone.
pub struct ScreenCastPortal {
    desk: Shared,
    conn: zbus::Connection,
    frontend: PortalFrontend,
}

impl ScreenCastPortal {
    /// The real frontend on a private session bus with our backend,
    /// reaching `pipewire` for OpenPipeWireRemote.
    pub async fn start(pipewire: &PipeWire) -> Result<Self> {
        let bus = PortalBus::start().await?;
        let desk: Shared = Arc::new(watch::Sender::new(Desk::default()));
        // On the bus before the frontend starts: it reads the backend's
        // properties (the cursor modes it lets apps ask for) once, then.
        let backend = Backend {
            desk: Arc::clone(&desk),
        };
        let conn = bus.serve(BACKEND, backend).await?;
        // OpenPipeWireRemote connects with libpipewire's defaults: the
        // `pipewire-0` socket in PIPEWIRE_RUNTIME_DIR (else XDG_RUNTIME_DIR).
        let runtime = pipewire.runtime_dir();
        let frontend = bus
            .start_frontend(
                &conn,
                BACKEND,
                &["org.freedesktop.impl.portal.ScreenCast"],
                |frontend| {
                    frontend
                        .env("PIPEWIRE_RUNTIME_DIR", runtime)
                        .env("XDG_RUNTIME_DIR", runtime)
                        .env_remove("PIPEWIRE_REMOTE");
                },
            )
            .await?;
        let portal = ScreenCastPortal {
            desk,
            conn,
            frontend,
        };
        // It serves ScreenCast with our backend's source types (it read its
        // backends before it took its name).
        let screencast = zbus::Proxy::new(
            &portal.conn,
            PORTAL,
            PATH,
            "org.freedesktop.portal.ScreenCast",
        )
        .await?;
        let types: u32 = screencast
            .get_property("AvailableSourceTypes")
            .await
            .context("the frontend offers no ScreenCast")?;
        let version: u32 = screencast.get_property("version").await?;
        if types != SOURCE_TYPES {
            bail!("the frontend's ScreenCast has source types {types}, ours are {SOURCE_TYPES}");
        }
        eprintln!("xdg-desktop-portal serves ScreenCast version {version}");
        Ok(portal)
    }

    /// The bus's address, for the app's `DBUS_SESSION_BUS_ADDRESS`.
    pub fn address(&self) -> &str {
        self.frontend.address()
    }

    /// What the next Start answers: this node, of this size (`(node id,
    /// width, height)`), or with `None`, the person cancelled the dialog.
    pub fn offer(&self, node: Option<(u32, u32, u32)>) {
        self.desk.send_modify(|d| d.offer = Some(node));
    }

    /// Waits until sources were selected; returns all SelectSources so far.
    pub async fn wait_selected(&self, within: Duration) -> Result<Vec<Selected>> {
        self.wait("sources selected", within, |d| {
            (!d.selected.is_empty()).then(|| d.selected.clone())
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

    /// Until `seen` finds what it looks for on the desk (woken by each
    /// change).
    async fn wait<T>(
        &self,
        what: &str,
        within: Duration,
        seen: impl Fn(&Desk) -> Option<T>,
    ) -> Result<T> {
        let mut desk = self.desk.subscribe();
        let found = tokio::time::timeout(within, desk.wait_for(|d| seen(d).is_some()))
            .await
            .with_context(|| format!("{what}: not within {within:?}"))?
            .context("the portal's backend is gone")?;
        Ok(seen(&found).expect("just seen"))
    }
}

#[cfg(test)]
mod tests {
    use std::cell::{Cell, RefCell};
    use std::collections::BTreeSet;
    use std::os::fd::OwnedFd;
    use std::rc::Rc;
    use std::time::Instant;

    use ashpd::desktop::screencast::{CursorMode, Screencast, SelectSourcesOptions, SourceType};
    use ashpd::desktop::ResponseError;
    use ashpd::enumflags2::BitFlags;
    use pipewire as pw;
    use pw::properties::properties;
    use pw::spa;
    use pw::stream::{StreamFlags, StreamState};

    use super::*;
    use crate::test_camera::TestCamera;

    /// What a reader got through the portal's connection.
    struct Read {
        frames: usize,
        /// The names of the nodes the connection could see.
        nodes: BTreeSet<String>,
    }

    /// Reads node `target` through the PipeWire connection `fd` (what
    /// OpenPipeWireRemote gave) as a screen-cast client does, until `want`
    /// frames came or `within` passed.
    fn read_node(fd: OwnedFd, target: u32, want: usize, within: Duration) -> Result<Read> {
        pw::init();
        let main_loop = pw::main_loop::MainLoopRc::new(None)?;
        let context = pw::context::ContextRc::new(&main_loop, None)?;
        let core = context
            .connect_fd_rc(fd, None)
            .context("connecting to PipeWire through the portal's fd")?;
        let nodes = Rc::new(RefCell::new(BTreeSet::new()));
        let registry = core.get_registry_rc()?;
        let _globals = registry
            .add_listener_local()
            .global({
                let nodes = Rc::clone(&nodes);
                move |global| {
                    if global.type_ == pw::types::ObjectType::Node {
                        let name = global.props.and_then(|p| p.get(*pw::keys::NODE_NAME));
                        nodes.borrow_mut().insert(name.unwrap_or("?").to_string());
                    }
                }
            })
            .register();
        let stream = pw::stream::StreamBox::new(
            &core,
            "screen-cast-reader",
            properties! {
                *pw::keys::MEDIA_TYPE => "Video",
                *pw::keys::MEDIA_CATEGORY => "Capture",
                *pw::keys::MEDIA_ROLE => "Screen",
            },
        )?;
        let frames = Rc::new(Cell::new(0usize));
        let _listener = stream
            .add_local_listener_with_user_data(Rc::clone(&frames))
            .state_changed({
                let main_loop = main_loop.clone();
                move |_, _, _, new| {
                    if let StreamState::Error(e) = new {
                        eprintln!("the screen-cast reader failed: {e}");
                        main_loop.quit();
                    }
                }
            })
            .process({
                let main_loop = main_loop.clone();
                move |stream, frames| {
                    let Some(mut buffer) = stream.dequeue_buffer() else {
                        return;
                    };
                    if buffer
                        .datas_mut()
                        .first_mut()
                        .is_some_and(|d| d.chunk().size() > 0)
                    {
                        frames.set(frames.get() + 1);
                    }
                    if frames.get() >= want {
                        main_loop.quit();
                    }
                }
            })
            .register()?;
        // Raw video of whatever format and size the node offers.
        let format = spa::pod::serialize::PodSerializer::serialize(
            std::io::Cursor::new(Vec::new()),
            &spa::pod::Value::Object(spa::pod::object!(
                spa::utils::SpaTypes::ObjectParamFormat,
                spa::param::ParamType::EnumFormat,
                spa::pod::property!(
                    spa::param::format::FormatProperties::MediaType,
                    Id,
                    spa::param::format::MediaType::Video
                ),
                spa::pod::property!(
                    spa::param::format::FormatProperties::MediaSubtype,
                    Id,
                    spa::param::format::MediaSubtype::Raw
                ),
            )),
        )
        .map_err(|e| anyhow::anyhow!("serializing the format: {e:?}"))?
        .0
        .into_inner();
        stream.connect(
            spa::utils::Direction::Input,
            Some(target),
            StreamFlags::AUTOCONNECT | StreamFlags::MAP_BUFFERS,
            &mut [spa::pod::Pod::from_bytes(&format).context("a malformed EnumFormat")?],
        )?;
        let deadline = main_loop.loop_().add_timer({
            let main_loop = main_loop.clone();
            move |_| main_loop.quit()
        });
        deadline
            .update_timer(Some(within), None)
            .into_sync_result()?;
        main_loop.run();
        let _ = stream.disconnect();
        Ok(Read {
            frames: frames.get(),
            nodes: nodes.take(),
        })
    }

    #[tokio::test]
    async fn a_screen_cast_through_the_real_frontend_hands_over_the_offered_node() {
        let pipewire = PipeWire::start().unwrap();
        let camera = TestCamera::start(
            &pipewire,
            "rtcstack-test-screen",
            "RTCstack Test Screen",
            640,
            360,
            30,
        )
        .unwrap();
        let node = camera.node_id();
        let portal = ScreenCastPortal::start(&pipewire).await.unwrap();
        portal.offer(Some((node, 640, 360)));

        // The app's side: ashpd on the portal's bus.
        let conn = zbus::connection::Builder::address(portal.address())
            .unwrap()
            .build()
            .await
            .unwrap();
        let screencast = Screencast::with_connection(conn).await.unwrap();
        assert_eq!(
            screencast.available_source_types().await.unwrap(),
            SourceType::Monitor | SourceType::Window
        );
        let session = screencast.create_session(Default::default()).await.unwrap();
        screencast
            .select_sources(
                &session,
                SelectSourcesOptions::default()
                    .set_sources(BitFlags::from(SourceType::Monitor))
                    .set_cursor_mode(CursorMode::Embedded)
                    .set_multiple(false),
            )
            .await
            .unwrap()
            .response()
            .unwrap();
        let selected = portal.wait_selected(Duration::from_secs(5)).await.unwrap();
        eprintln!("selected: {selected:?}");
        assert_eq!(selected.len(), 1);
        assert_eq!(
            (
                selected[0].types,
                selected[0].multiple,
                selected[0].cursor_mode
            ),
            (1, false, 2)
        );

        let streams = screencast
            .start(&session, None, Default::default())
            .await
            .unwrap()
            .response()
            .unwrap();
        let streams = streams.streams();
        assert_eq!(streams.len(), 1, "{streams:?}");
        assert_eq!(streams[0].pipe_wire_node_id(), node);
        assert_eq!(streams[0].size(), Some((640, 360)));
        assert_eq!(streams[0].source_type(), Some(SourceType::Monitor));

        // The frontend's own connection to the test's PipeWire, restricted
        // to the node: frames come through it.
        let fd = screencast
            .open_pipe_wire_remote(&session, Default::default())
            .await
            .unwrap();
        let started = Instant::now();
        let read =
            tokio::task::spawn_blocking(move || read_node(fd, node, 5, Duration::from_secs(5)))
                .await
                .unwrap()
                .unwrap();
        eprintln!(
            "{} frames through the portal's fd in {:?}; it saw the nodes {:?}",
            read.frames,
            started.elapsed(),
            read.nodes
        );
        assert!(read.frames >= 5, "{} frames in 5 s", read.frames);
        // Only the offered node (not even the reader's own): the frontend's
        // permissions (every other object hidden), not a plain connection's.
        assert_eq!(
            read.nodes,
            BTreeSet::from(["rtcstack-test-screen".to_string()])
        );

        session.close().await.unwrap();
        let closed = portal.wait_closed(Duration::from_secs(5)).await.unwrap();
        assert_eq!(closed, vec![selected[0].session.clone()]);

        // The person cancels the dialog: Start answers so, and the frontend
        // closes the session.
        portal.offer(None);
        let refused = screencast.create_session(Default::default()).await.unwrap();
        screencast
            .select_sources(
                &refused,
                SelectSourcesOptions::default().set_sources(BitFlags::from(SourceType::Monitor)),
            )
            .await
            .unwrap()
            .response()
            .unwrap();
        let answer = screencast
            .start(&refused, None, Default::default())
            .await
            .unwrap()
            .response();
        assert!(
            matches!(
                answer,
                Err(ashpd::Error::Response(ResponseError::Cancelled))
            ),
            "{answer:?}"
        );
        let session = portal
            .wait(
                "the refused session selected",
                Duration::from_secs(5),
                |d| d.selected.get(1).map(|s| s.session.clone()),
            )
            .await
            .unwrap();
        portal
            .wait("the refused session closed", Duration::from_secs(5), |d| {
                d.closed.contains(&session).then_some(())
            })
            .await
            .unwrap();
    }
}
