//! A camera for tests as a Linux desktop hands one to applications: a real
//! PipeWire daemon, with WirePlumber linking streams, and in it a video
//! source node offering YUY2 (what most webcams deliver) that draws the
//! bench's video pattern ([`crate::pattern`]), frame after frame.
//!
//! The daemon is private to the test (its own XDG_RUNTIME_DIR); clients
//! reach it by that directory or by its socket's full path (`remote.name`),
//! never through this process's environment (tests run on threads).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{mpsc, Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use pipewire as pw;
use pw::properties::properties;
use pw::spa;
use pw::stream::{Stream, StreamFlags, StreamState};
use rtcstack::video::VideoFrame;
use spa::param::video::VideoFormat as PixelFormat;
use spa::pod::Pod;

use crate::private_bus::{BusKind, PrivateBus};
use crate::tail::file_tail;

/// How long the daemon and WirePlumber may take to come up.
const DAEMON_START: Duration = Duration::from_secs(10);
/// How long a camera's node may take to be registered.
const CAMERA_START: Duration = Duration::from_secs(5);
const POLL: Duration = Duration::from_millis(50);
/// The daemon's socket in its runtime dir.
const SOCKET: &str = "pipewire-0";

/// WirePlumber without the machine's devices: only the test's nodes are
/// there (a real webcam or sound card would show up in every listing), and
/// no Bluetooth (it would go to the system bus).
const NO_DEVICES: &str = "alsa_monitor.enabled = false\n\
                          v4l2_monitor.enabled = false\n\
                          libcamera_monitor.enabled = false\n";
const NO_BLUETOOTH: &str = "bluez_monitor.enabled = false\n";

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(pw::init);
}

/// A PipeWire daemon (and WirePlumber, its session manager, which links
/// streams) for one test, on its own XDG_RUNTIME_DIR.
pub struct PipeWire {
    daemon: Child,
    wireplumber: Option<Child>,
    /// WirePlumber will not run without a session bus (and PipeWire's
    /// portal module looks for one).
    bus: PrivateBus,
    dir: tempfile::TempDir,
}

impl PipeWire {
    /// Starts `pipewire`, then `wireplumber`, and returns once both answer
    /// (the socket takes connections; WirePlumber's client is in the
    /// daemon). The error says which program is missing or failed.
    pub fn start() -> Result<PipeWire> {
        let dir = tempfile::Builder::new()
            .prefix("rtcstack-pipewire-")
            .tempdir()?;
        // PipeWire refuses a runtime dir others may enter.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o700))?;
        let overrides = dir.path().join("config/wireplumber");
        for (section, lua) in [
            ("main.lua.d", NO_DEVICES),
            ("bluetooth.lua.d", NO_BLUETOOTH),
        ] {
            fs::create_dir_all(overrides.join(section))?;
            // After the stock 50-*-config.lua, before 90-enable-all.lua.
            fs::write(overrides.join(section).join("60-rtcstack-test.lua"), lua)?;
        }
        let bus =
            PrivateBus::start(dir.path(), BusKind::Session).context("WirePlumber's session bus")?;
        let daemon = Self::command(dir.path(), bus.address(), "pipewire")
            .stderr(fs::File::create(dir.path().join("pipewire.log"))?)
            .spawn()
            .context("starting pipewire (apt pipewire-bin; scripts/setup)")?;
        let mut pipewire = PipeWire {
            daemon,
            wireplumber: None,
            bus,
            dir,
        };
        let deadline = Instant::now() + DAEMON_START;
        let socket = pipewire.socket();
        pipewire.wait_for("pipewire to take connections", deadline, |_| {
            Ok(UnixStream::connect(&socket).is_ok())
        })?;
        let wireplumber = Self::command(pipewire.dir.path(), pipewire.bus.address(), "wireplumber")
            .stderr(fs::File::create(
                pipewire.dir.path().join("wireplumber.log"),
            )?)
            .spawn()
            .context("starting wireplumber (apt wireplumber; scripts/setup)")?;
        pipewire.wireplumber = Some(wireplumber);
        pipewire.wait_for("wireplumber to connect", deadline, |pw| {
            Ok(pw.dump()?.iter().any(|o| {
                o["type"] == "PipeWire:Interface:Client"
                    && o["info"]["props"]["application.name"] == "WirePlumber"
            }))
        })?;
        Ok(pipewire)
    }

    /// The XDG_RUNTIME_DIR to give clients (the app under test) so they
    /// reach this daemon.
    pub fn runtime_dir(&self) -> &Path {
        self.dir.path()
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join(SOCKET)
    }

    /// `program` talking to this daemon only: its runtime dir, the test's
    /// session bus, and its config and state kept in the temp dir (not the
    /// user's).
    fn command(dir: &Path, bus: &str, program: &str) -> Command {
        let mut command = Command::new(program);
        command
            .env("XDG_RUNTIME_DIR", dir)
            .env("DBUS_SESSION_BUS_ADDRESS", bus)
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env_remove("PIPEWIRE_RUNTIME_DIR")
            .env_remove("PIPEWIRE_REMOTE")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        command
    }

    /// Every object in the daemon, as `pw-dump` gives them.
    fn dump(&self) -> Result<Vec<serde_json::Value>> {
        let out = Self::command(self.dir.path(), self.bus.address(), "pw-dump")
            .arg("--no-colors")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .output()
            .context("running pw-dump (apt pipewire-bin; scripts/setup)")?;
        if !out.status.success() {
            bail!(
                "pw-dump: {}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        serde_json::from_slice(&out.stdout).context("pw-dump's JSON")
    }

    /// Polls `ready` until it says yes, either program exits, or the
    /// deadline passes (then the error carries both logs' ends). Its
    /// errors count as not yet, but for a program missing.
    fn wait_for(
        &mut self,
        what: &str,
        deadline: Instant,
        mut ready: impl FnMut(&Self) -> Result<bool>,
    ) -> Result<()> {
        loop {
            let failed = match ready(self) {
                Ok(true) => return Ok(()),
                Ok(false) => None,
                Err(e)
                    if e.downcast_ref::<std::io::Error>()
                        .is_some_and(|e| e.kind() == std::io::ErrorKind::NotFound) =>
                {
                    return Err(e)
                }
                Err(e) => Some(e),
            };
            if let Some(status) = self.daemon.try_wait()? {
                bail!("pipewire exited ({status}):\n{}", self.logs());
            }
            if let Some(Some(status)) =
                self.wireplumber.as_mut().map(Child::try_wait).transpose()?
            {
                bail!("wireplumber exited ({status}):\n{}", self.logs());
            }
            if Instant::now() > deadline {
                let why = failed.map(|e| format!(" ({e:#})")).unwrap_or_default();
                bail!(
                    "waited {} s for {what}{why}:\n{}",
                    DAEMON_START.as_secs(),
                    self.logs()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    fn logs(&self) -> String {
        let log = |name: &str| file_tail(&self.dir.path().join(name), 20);
        format!(
            "pipewire.log:\n{}\nwireplumber.log:\n{}",
            log("pipewire.log"),
            log("wireplumber.log")
        )
    }
}

impl Drop for PipeWire {
    fn drop(&mut self) {
        for child in self.wireplumber.iter_mut().chain([&mut self.daemon]) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A connection to a daemon, for this thread.
struct Connection {
    main_loop: pw::main_loop::MainLoopRc,
    core: pw::core::CoreRc,
    _context: pw::context::ContextRc,
}

/// Connects to the daemon at `socket` by its full path (`remote.name`):
/// nothing taken from this process's environment.
fn connect(socket: &Path) -> Result<Connection> {
    init();
    let main_loop = pw::main_loop::MainLoopRc::new(None)?;
    let context = pw::context::ContextRc::new(&main_loop, None)?;
    let core = context
        .connect_rc(Some(properties! {
            *pw::keys::REMOTE_NAME => socket.to_string_lossy().into_owned(),
        }))
        .with_context(|| format!("connecting to PipeWire at {}", socket.display()))?;
    Ok(Connection {
        main_loop,
        core,
        _context: context,
    })
}

/// The node name ([`TestCamera::webcam`]'s `name`) of the webcam the tests
/// use: what a camera service lists as its id and opens it by.
pub const WEBCAM_ID: &str = "rtcstack-test-camera";
/// Its description: the name a camera picker shows.
pub const WEBCAM_NAME: &str = "RTCstack Test Camera";

/// A camera node: media.class "Video/Source", media.role "Camera", named
/// `name`, shown as `description`. It offers YUY2 at exactly its size and
/// rate; frame n (from 0, one per frame delivered) is the pattern's frame n.
pub struct TestCamera {
    frames: Arc<AtomicU64>,
    /// Its node's id in the daemon, set once registered.
    node: Arc<AtomicU32>,
    stop: pw::channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

/// How a camera lays its pictures out in PipeWire's buffers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// YUY2 in one block, packed: a USB webcam through V4L2.
    Yuy2,
    /// I420, each plane in a block of its own with padded rows: a camera
    /// through libcamera.
    I420Planes,
    /// A USB 2 webcam's large size: YUY2 only at 10 fps (listed first, as
    /// V4L2 lists it), MJPEG at the camera's rate.
    Mjpeg,
}

/// The rate a USB 2 webcam gives its raw 720p at.
const RAW_FPS_OF_MJPEG_CAMERA: u32 = 10;

/// Row padding of the planar layout's planes (bytes), so a reader that
/// takes the rows as packed reads them wrongly.
const PAD: u32 = 32;

/// What a camera is.
struct Spec {
    name: String,
    description: String,
    width: u32,
    height: u32,
    fps: u32,
    layout: Layout,
}

impl TestCamera {
    /// Starts the camera's node in `pipewire`, on a thread of its own
    /// (PipeWire's objects stay on their loop's thread). Returns once the
    /// node is registered in the daemon. It delivers frames while a client
    /// reads it (WirePlumber links it), at `fps`.
    pub fn start(
        pipewire: &PipeWire,
        name: &str,
        description: &str,
        width: u32,
        height: u32,
        fps: u32,
    ) -> Result<TestCamera> {
        Self::start_laid_out(
            pipewire,
            name,
            description,
            (width, height, fps),
            Layout::Yuy2,
        )
    }

    /// The same, its pictures laid out as `layout` says.
    pub fn start_laid_out(
        pipewire: &PipeWire,
        name: &str,
        description: &str,
        (width, height, fps): (u32, u32, u32),
        layout: Layout,
    ) -> Result<TestCamera> {
        // YUY2 carries two pixels in four bytes, I420 a chroma sample for
        // each two by two: even sides.
        if width == 0
            || !width.is_multiple_of(2)
            || !height.is_multiple_of(2)
            || width > 8192
            || height == 0
            || height > 8192
            || fps == 0
        {
            bail!("a camera of {width}x{height} at {fps} fps: the sides must be even and 2..=8192, fps above 0");
        }
        let spec = Spec {
            name: name.to_owned(),
            description: description.to_owned(),
            width,
            height,
            fps,
            layout,
        };
        let socket = pipewire.socket();
        let frames = Arc::new(AtomicU64::new(0));
        let node = Arc::new(AtomicU32::new(pw::constants::ID_ANY));
        let (stop, stopped) = pw::channel::channel::<()>();
        let (started, registered) = mpsc::channel::<Result<()>>();
        let thread = std::thread::Builder::new()
            .name("test-camera".into())
            .spawn({
                let frames = frames.clone();
                let node = node.clone();
                move || {
                    if let Err(e) = serve(&socket, &spec, frames, node, started.clone(), stopped) {
                        // Before the start: its error; after: the test's log.
                        if let Err(mpsc::SendError(Err(e))) = started.send(Err(e)) {
                            eprintln!("test camera {:?}: {e:#}", spec.name);
                        }
                    }
                }
            })?;
        let camera = TestCamera {
            frames,
            node,
            stop,
            thread: Some(thread),
        };
        // On an error the camera is dropped: its loop stops.
        match registered.recv_timeout(CAMERA_START) {
            Ok(Ok(())) => Ok(camera),
            Ok(Err(e)) => Err(e.context(format!("starting the test camera {name:?}"))),
            Err(_) => bail!(
                "the test camera {name:?} was not registered in PipeWire within {} s",
                CAMERA_START.as_secs()
            ),
        }
    }

    /// The webcam the tests use: [`WEBCAM_ID`], shown as [`WEBCAM_NAME`],
    /// 640x360 at 30 fps.
    pub fn webcam(pipewire: &PipeWire) -> Result<TestCamera> {
        TestCamera::start(pipewire, WEBCAM_ID, WEBCAM_NAME, 640, 360, 30)
    }

    /// How many frames it has delivered so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Its node's id in the daemon (what a screen-cast portal hands out).
    pub fn node_id(&self) -> u32 {
        self.node.load(Ordering::Acquire)
    }
}

impl Drop for TestCamera {
    fn drop(&mut self) {
        // Fails only if the loop has already ended.
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// The camera's side in its loop's callbacks.
struct Producer {
    width: u32,
    height: u32,
    layout: Layout,
    /// The camera's own rate (its clock ticks at it).
    fps: u32,
    /// Agreed with the reader: JPEG pictures, one every so many ticks.
    mjpeg: bool,
    every: u64,
    ticks: u64,
    /// The frame as JPEG, for MJPEG.
    jpeg: Vec<u8>,
    /// The next frame, drawn in I420 and converted into each buffer.
    frame: VideoFrame,
    frames: Arc<AtomicU64>,
    node: Arc<AtomicU32>,
    /// Told once: registered, or failed before that.
    started: Option<mpsc::Sender<Result<()>>>,
    main_loop: pw::main_loop::MainLoopRc,
}

impl Producer {
    /// One frame into the next free buffer (as PipeWire's video-src.c).
    fn deliver(&mut self, stream: &Stream) {
        self.ticks += 1;
        if !(self.ticks - 1).is_multiple_of(self.every) {
            return;
        }
        let Some(mut buffer) = stream.dequeue_buffer() else {
            return;
        };
        let n = self.frames.load(Ordering::Relaxed);
        // The pattern carries the number's low 16 bits.
        crate::pattern::draw_into(&mut self.frame, (n & 0xffff) as u32);
        if self.layout == Layout::I420Planes {
            if write_planes(&self.frame, buffer.datas_mut()) {
                self.frames.fetch_add(1, Ordering::Relaxed);
            }
            return;
        }
        let Some(data) = buffer.datas_mut().first_mut() else {
            return;
        };
        let (written, stride, size) = if self.mjpeg {
            to_jpeg(&self.frame, &mut self.jpeg);
            let fits = data.data().and_then(|out| out.get_mut(..self.jpeg.len()));
            let written = fits.map(|out| out.copy_from_slice(&self.jpeg)).is_some();
            (written, 0, self.jpeg.len() as u32)
        } else {
            let written = data.data().is_some_and(|out| to_yuy2(&self.frame, out));
            (written, self.width * 2, self.width * self.height * 2)
        };
        let chunk = data.chunk_mut();
        *chunk.offset_mut() = 0;
        *chunk.stride_mut() = stride as i32;
        // A buffer too small for a frame goes back empty.
        *chunk.size_mut() = if written { size } else { 0 };
        if written {
            self.frames.fetch_add(1, Ordering::Relaxed);
        }
        // Dropping the buffer queues it.
    }
}

/// The camera's loop: its node registered, frames at `fps` while linked,
/// until `stopped` says so (or the daemon goes).
fn serve(
    socket: &Path,
    spec: &Spec,
    frames: Arc<AtomicU64>,
    node: Arc<AtomicU32>,
    started: mpsc::Sender<Result<()>>,
    stopped: pw::channel::Receiver<()>,
) -> Result<()> {
    let pw = connect(socket)?;
    let stream = pw::stream::StreamRc::new(
        pw.core.clone(),
        &spec.name,
        properties! {
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CLASS => "Video/Source",
            *pw::keys::MEDIA_ROLE => "Camera",
            *pw::keys::NODE_NAME => spec.name.as_str(),
            *pw::keys::NODE_DESCRIPTION => spec.description.as_str(),
        },
    )?;
    let (width, height) = (spec.width, spec.height);
    let layout = spec.layout;
    let producer = Producer {
        width,
        height,
        layout,
        fps: spec.fps,
        mjpeg: false,
        every: 1,
        ticks: 0,
        jpeg: Vec::new(),
        frame: VideoFrame::black(width, height),
        frames,
        node,
        started: Some(started),
        main_loop: pw.main_loop.clone(),
    };
    let _listener = stream
        .add_local_listener_with_user_data(producer)
        .state_changed(|stream, p, _, new| match new {
            // The node is bound: a global in the daemon.
            StreamState::Paused => {
                if let Some(started) = p.started.take() {
                    // Before the start is told: node_id() is set once it returns.
                    p.node.store(stream.node_id(), Ordering::Release);
                    let _ = started.send(Ok(()));
                }
            }
            StreamState::Error(e) => {
                let e = anyhow::anyhow!("the stream failed: {e}");
                match p.started.take() {
                    Some(started) => {
                        let _ = started.send(Err(e));
                    }
                    None => eprintln!("test camera: {e:#}"),
                }
                p.main_loop.quit();
            }
            _ => {}
        })
        .param_changed(move |stream, p, id, param| {
            // Once the format is set, the buffers for it (as video-src.c).
            if id != spa::param::ParamType::Format.as_raw() {
                return;
            }
            let Some(param) = param else { return };
            // Which of its formats the reader took: pictures as that says.
            let mut info = spa::param::video::VideoInfoRaw::new();
            if info.parse(param).is_ok() {
                let subtype = spa::param::format_utils::parse_format(param).map(|(_, s)| s);
                p.mjpeg = subtype == Ok(spa::param::format::MediaSubtype::Mjpg);
                let rate = info.framerate();
                // A picture every so many ticks of the camera's own rate.
                let fps = rate.num.checked_div(rate.denom).unwrap_or(0);
                p.every = u64::from((p.fps / fps.max(1)).max(1));
            }
            let updated = buffers_param(width, height, layout).and_then(|bytes| {
                let pod = Pod::from_bytes(&bytes).context("a malformed Buffers param")?;
                Ok(stream.update_params(&mut [pod])?)
            });
            if let Err(e) = updated {
                eprintln!("test camera: its buffers: {e:#}");
            }
        })
        .process(|stream, p| p.deliver(stream))
        .register()?;
    let formats = camera_formats(spec)?;
    let mut pods = formats
        .iter()
        .map(|f| Pod::from_bytes(f).context("a malformed EnumFormat param"))
        .collect::<Result<Vec<_>>>()?;
    stream.connect(
        spa::utils::Direction::Output,
        None,
        // It drives the graph (a camera has its own clock); buffers mapped
        // to be written.
        StreamFlags::DRIVER | StreamFlags::MAP_BUFFERS,
        &mut pods,
    )?;
    // The camera's clock: a cycle per frame while a client reads it.
    let tick = pw.main_loop.loop_().add_timer({
        let stream = stream.clone();
        move |_| {
            if stream.state() == StreamState::Streaming {
                let _ = stream.trigger_process();
            }
        }
    });
    let period = Duration::from_nanos(1_000_000_000 / u64::from(spec.fps));
    tick.update_timer(Some(period), Some(period))
        .into_sync_result()
        .context("arming the frame timer")?;
    let _stop = stopped.attach(pw.main_loop.loop_(), {
        let main_loop = pw.main_loop.clone();
        move |()| main_loop.quit()
    });
    pw.main_loop.run();
    // Its node leaves the daemon now, as an unplugged camera's does.
    let _ = stream.disconnect();
    Ok(())
}

/// `frame`'s planes each into a data of its own, rows padded by [`PAD`];
/// each data's chunk says where. False if there are not three or one is
/// too small (all sent empty).
fn write_planes(frame: &VideoFrame, datas: &mut [pw::spa::buffer::Data]) -> bool {
    let planes = [
        (&frame.y, frame.width as usize),
        (&frame.u, frame.chroma_width() as usize),
        (&frame.v, frame.chroma_width() as usize),
    ];
    let mut written = datas.len() == 3;
    for (data, (plane, width)) in datas.iter_mut().zip(planes) {
        let stride = width + PAD as usize;
        let rows = plane.len() / width;
        let fits = data.data().is_some_and(|out| {
            let Some(out) = out.get_mut(..stride * rows) else {
                return false;
            };
            for (line, row) in out.chunks_exact_mut(stride).zip(plane.chunks_exact(width)) {
                line[..width].copy_from_slice(row);
            }
            true
        });
        written &= fits;
        let chunk = data.chunk_mut();
        *chunk.offset_mut() = 0;
        *chunk.stride_mut() = stride as i32;
        *chunk.size_mut() = if fits { (stride * rows) as u32 } else { 0 };
    }
    written
}

/// `frame` (I420) as YUY2 into `out`, rows `width * 2` bytes apart: each
/// two pixels as Y0 U Y1 V, the chroma shared by two rows. False if `out`
/// is too small.
fn to_yuy2(frame: &VideoFrame, out: &mut [u8]) -> bool {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let cw = frame.chroma_width() as usize;
    let Some(out) = out.get_mut(..w * 2 * h) else {
        return false;
    };
    let u_rows = frame.u.chunks_exact(cw).flat_map(|row| [row, row]);
    let v_rows = frame.v.chunks_exact(cw).flat_map(|row| [row, row]);
    let rows = out
        .chunks_exact_mut(w * 2)
        .zip(frame.y.chunks_exact(w))
        .zip(u_rows.zip(v_rows));
    for ((line, y), (u, v)) in rows {
        for (((px, y), u), v) in line
            .chunks_exact_mut(4)
            .zip(y.chunks_exact(2))
            .zip(u)
            .zip(v)
        {
            px.copy_from_slice(&[y[0], *u, y[1], *v]);
        }
    }
    true
}

/// `frame` (I420, video's range) as a 4:2:2 JPEG in JPEG's full range (as
/// webcams send) into `jpeg`: by way of RGB (both conversions in optimised
/// crates: a 720p picture a frame in time).
fn to_jpeg(frame: &VideoFrame, jpeg: &mut Vec<u8>) {
    let (w, h) = (frame.width, frame.height);
    let rgba = frame.to_rgba();
    jpeg.clear();
    let mut encoder = jpeg_encoder::Encoder::new(&mut *jpeg, 90);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_1);
    // The sides were checked at the start (at most 8192).
    if let Err(e) = encoder.encode(&rgba, w as u16, h as u16, jpeg_encoder::ColorType::Rgba) {
        eprintln!("test camera: encoding a JPEG: {e}");
    }
}

/// What a camera offers: its one format, or for [`Layout::Mjpeg`] YUY2 at
/// 10 fps first and MJPEG at its rate.
fn camera_formats(spec: &Spec) -> Result<Vec<Vec<u8>>> {
    if spec.layout != Layout::Mjpeg {
        return Ok(vec![format_param(Some(spec))?]);
    }
    let raw = Spec {
        name: String::new(),
        description: String::new(),
        fps: RAW_FPS_OF_MJPEG_CAMERA,
        layout: Layout::Yuy2,
        ..*spec
    };
    Ok(vec![format_param(Some(&raw))?, format_param(Some(spec))?])
}

/// The EnumFormat param: raw YUY2 (I420 for planes; MJPEG), at `spec`'s
/// exact size and rate (a camera's), or at any (a reader's, `None`).
fn format_param(spec: Option<&Spec>) -> Result<Vec<u8>> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use spa::pod::{property, ChoiceValue, Value};
    use spa::utils::{Choice, ChoiceEnum, ChoiceFlags, Fraction, Rectangle};
    let (size, rate) = match spec {
        Some(s) => (
            Value::Rectangle(Rectangle {
                width: s.width,
                height: s.height,
            }),
            Value::Fraction(Fraction {
                num: s.fps,
                denom: 1,
            }),
        ),
        None => (
            Value::Choice(ChoiceValue::Rectangle(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Range {
                    default: Rectangle {
                        width: 640,
                        height: 360,
                    },
                    min: Rectangle {
                        width: 2,
                        height: 2,
                    },
                    max: Rectangle {
                        width: 8192,
                        height: 8192,
                    },
                },
            ))),
            Value::Choice(ChoiceValue::Fraction(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Range {
                    default: Fraction { num: 30, denom: 1 },
                    min: Fraction { num: 1, denom: 1 },
                    max: Fraction { num: 120, denom: 1 },
                },
            ))),
        ),
    };
    let mut object = spa::pod::object!(
        spa::utils::SpaTypes::ObjectParamFormat,
        spa::param::ParamType::EnumFormat,
        property!(FormatProperties::MediaType, Id, MediaType::Video),
        property!(
            FormatProperties::MediaSubtype,
            Id,
            match spec.map(|s| s.layout) {
                Some(Layout::Mjpeg) => MediaSubtype::Mjpg,
                _ => MediaSubtype::Raw,
            }
        ),
        property!(
            FormatProperties::VideoFormat,
            Id,
            match spec.map(|s| s.layout) {
                Some(Layout::I420Planes) => PixelFormat::I420,
                _ => PixelFormat::YUY2,
            }
        ),
        property!(FormatProperties::VideoSize, size),
        property!(FormatProperties::VideoFramerate, rate),
    );
    // JPEG has no pixel format.
    if spec.is_some_and(|s| s.layout == Layout::Mjpeg) {
        let key = FormatProperties::VideoFormat.as_raw();
        object.properties.retain(|p| p.key != key);
    }
    serialize(object)
}

/// The Buffers param for frames of this size: YUY2 in one block, packed
/// rows; I420 in three, each the size of the padded luma plane.
fn buffers_param(width: u32, height: u32, layout: Layout) -> Result<Vec<u8>> {
    use spa::pod::{ChoiceValue, Property, Value};
    use spa::sys;
    use spa::utils::{Choice, ChoiceEnum, ChoiceFlags};
    let int = |v: u32| i32::try_from(v).map(Value::Int);
    let (blocks, stride) = match layout {
        // A JPEG is well under a YUY2 picture's size.
        Layout::Yuy2 | Layout::Mjpeg => (1, width * 2),
        Layout::I420Planes => (3, width + PAD),
    };
    let buffers = Value::Choice(ChoiceValue::Int(Choice(
        ChoiceFlags::empty(),
        ChoiceEnum::Range {
            default: 4,
            min: 2,
            max: 8,
        },
    )));
    serialize(spa::pod::Object {
        type_: spa::utils::SpaTypes::ObjectParamBuffers.as_raw(),
        id: spa::param::ParamType::Buffers.as_raw(),
        properties: vec![
            Property::new(sys::SPA_PARAM_BUFFERS_buffers, buffers),
            Property::new(sys::SPA_PARAM_BUFFERS_blocks, Value::Int(blocks)),
            Property::new(sys::SPA_PARAM_BUFFERS_size, int(stride * height)?),
            Property::new(sys::SPA_PARAM_BUFFERS_stride, int(stride)?),
        ],
    })
}

fn serialize(object: spa::pod::Object) -> Result<Vec<u8>> {
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(object),
    )
    .map(|(bytes, _)| bytes.into_inner())
    .map_err(|e| anyhow::anyhow!("serializing a param: {e:?}"))
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use super::*;

    /// What a reader of the camera saw.
    #[derive(Default)]
    struct Seen {
        /// The format agreed: pixels and size.
        format: Option<(PixelFormat, u32, u32)>,
        frames: usize,
        first: Option<VideoFrame>,
    }

    /// Reads `target` as an application reads a camera (a capture stream
    /// WirePlumber links to it) until `want` frames came or `within`
    /// passed.
    fn read_camera(
        pipewire: &PipeWire,
        target: &str,
        want: usize,
        within: Duration,
    ) -> Result<Seen> {
        let pw = connect(&pipewire.socket())?;
        let stream = pw::stream::StreamBox::new(
            &pw.core,
            "camera-reader",
            properties! {
                *pw::keys::MEDIA_TYPE => "Video",
                *pw::keys::MEDIA_CATEGORY => "Capture",
                *pw::keys::MEDIA_ROLE => "Camera",
                *pw::keys::TARGET_OBJECT => target,
            },
        )?;
        let seen = Rc::new(RefCell::new(Seen::default()));
        let _listener = stream
            .add_local_listener_with_user_data(seen.clone())
            .param_changed(|_, seen, id, param| {
                let Some(param) = param else { return };
                let mut info = spa::param::video::VideoInfoRaw::new();
                // Checked after the loop: a panic here would abort.
                if id == spa::param::ParamType::Format.as_raw() && info.parse(param).is_ok() {
                    let size = info.size();
                    seen.borrow_mut().format = Some((info.format(), size.width, size.height));
                }
            })
            .process({
                let main_loop = pw.main_loop.clone();
                move |stream, seen| {
                    let Some(mut buffer) = stream.dequeue_buffer() else {
                        return;
                    };
                    let Some(data) = buffer.datas_mut().first_mut() else {
                        return;
                    };
                    let chunk = data.chunk();
                    let (offset, size, stride) = (
                        chunk.offset() as usize,
                        chunk.size() as usize,
                        chunk.stride(),
                    );
                    let Some(bytes) = data.data().and_then(|d| d.get(offset..offset + size)) else {
                        return;
                    };
                    let mut seen = seen.borrow_mut();
                    if let (None, Some((PixelFormat::YUY2, w, h))) = (&seen.first, seen.format) {
                        seen.first = from_yuy2(bytes, stride as usize, w, h);
                    }
                    seen.frames += 1;
                    if seen.frames >= want {
                        main_loop.quit();
                    }
                }
            })
            .register()?;
        let format = format_param(None)?;
        stream.connect(
            spa::utils::Direction::Input,
            None,
            StreamFlags::AUTOCONNECT | StreamFlags::MAP_BUFFERS,
            &mut [Pod::from_bytes(&format).context("a malformed EnumFormat")?],
        )?;
        let deadline = pw.main_loop.loop_().add_timer({
            let main_loop = pw.main_loop.clone();
            move |_| main_loop.quit()
        });
        deadline
            .update_timer(Some(within), None)
            .into_sync_result()?;
        pw.main_loop.run();
        let _ = stream.disconnect();
        Ok(seen.take())
    }

    /// YUY2 back to I420 (each 2x2 block's chroma from its upper row);
    /// `None` if the rows are not all there.
    fn from_yuy2(bytes: &[u8], stride: usize, w: u32, h: u32) -> Option<VideoFrame> {
        let mut f = VideoFrame::black(w, h);
        let (wu, hu, cw) = (w as usize, h as usize, f.chroma_width() as usize);
        if hu == 0 || stride < wu * 2 || bytes.len() < stride * (hu - 1) + wu * 2 {
            return None;
        }
        for (row, line) in bytes.chunks(stride).take(hu).enumerate() {
            for (x, px) in line[..wu * 2].chunks_exact(4).enumerate() {
                f.y[row * wu + 2 * x] = px[0];
                f.y[row * wu + 2 * x + 1] = px[2];
                if row % 2 == 0 {
                    f.u[row / 2 * cw + x] = px[1];
                    f.v[row / 2 * cw + x] = px[3];
                }
            }
        }
        Some(f)
    }

    #[test]
    fn yuy2_carries_the_pattern_whole() {
        let frame = crate::pattern::draw(640, 360, 1234);
        let mut yuy2 = vec![0; 640 * 360 * 2];
        assert!(to_yuy2(&frame, &mut yuy2));
        assert!(from_yuy2(&yuy2, 1280, 640, 360) == Some(frame.clone()));
        assert!(from_yuy2(&yuy2[1..], 1280, 640, 360).is_none());
        assert!(!to_yuy2(&frame, &mut yuy2[1..]));
    }

    #[test]
    fn a_test_camera_is_a_video_source_in_pipewire() {
        let pipewire = PipeWire::start().unwrap();
        let started = Instant::now();
        let camera = TestCamera::webcam(&pipewire).unwrap();
        eprintln!("the camera's node registered in {:?}", started.elapsed());

        // What a camera picker sees: pw-dump, as any client, by the
        // runtime dir alone.
        let out = Command::new("pw-dump")
            .env("XDG_RUNTIME_DIR", pipewire.runtime_dir())
            .env_remove("PIPEWIRE_REMOTE")
            .env_remove("PIPEWIRE_RUNTIME_DIR")
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let objects: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
        let node = objects
            .iter()
            .find(|o| {
                o["type"] == "PipeWire:Interface:Node"
                    && o["info"]["props"]["node.description"] == WEBCAM_NAME
            })
            .expect("the camera's node");
        let props = &node["info"]["props"];
        assert_eq!(props["media.class"], "Video/Source");
        assert_eq!(props["media.role"], "Camera");
        assert_eq!(props["node.name"], WEBCAM_ID);
        assert_eq!(camera.frames(), 0, "no reader yet: no frames");

        // Read as an application reads it: linked by WirePlumber.
        let started = Instant::now();
        let seen = read_camera(&pipewire, WEBCAM_ID, 10, Duration::from_secs(5)).unwrap();
        eprintln!(
            "a reader got {} frames as {:?} in {:?}; the camera delivered {}",
            seen.frames,
            seen.format,
            started.elapsed(),
            camera.frames()
        );
        assert!(seen.frames >= 10, "{} frames in 5 s", seen.frames);
        assert_eq!(seen.format, Some((PixelFormat::YUY2, 640, 360)));
        let first = crate::pattern::read(&seen.first.expect("a first frame"));
        eprintln!("its first frame: {first:?}");
        assert!(first.colours_match(), "{first:?}");
        assert!(u64::from(first.number) < camera.frames(), "{first:?}");

        // A reader after it (the app reopening the camera) gets the frames
        // after those.
        let delivered = camera.frames();
        let again = read_camera(&pipewire, WEBCAM_ID, 10, Duration::from_secs(5)).unwrap();
        let first = crate::pattern::read(&again.first.expect("a first frame again"));
        assert!(again.frames >= 10, "{} frames in 5 s", again.frames);
        assert!(
            u64::from(first.number) >= delivered,
            "{first:?} after {delivered}"
        );

        // Gone from the daemon once dropped, as an unplugged camera.
        drop(camera);
        let deadline = Instant::now() + Duration::from_secs(5);
        while pipewire
            .dump()
            .unwrap()
            .iter()
            .any(|o| o["info"]["props"]["node.name"] == WEBCAM_ID)
        {
            assert!(
                Instant::now() < deadline,
                "the node stayed after the camera was dropped"
            );
            std::thread::sleep(POLL);
        }
    }
}
