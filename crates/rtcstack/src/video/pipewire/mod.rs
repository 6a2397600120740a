//! Video read from PipeWire: a capture stream linked to a source's node
//! (a camera, or a screen cast the desktop's portal set up), on a thread of
//! its own (PipeWire's objects stay on the thread of their loop). Each
//! picture arrives in the format agreed on (raw, or a webcam's MJPEG) and
//! is turned into I420 there, as many a second as we send (the rest are let
//! go unread); each is sent as it comes.

use std::cell::{Cell, RefCell};
use std::os::fd::OwnedFd;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::{mpsc, Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use pipewire as pw;
use pw::properties::properties;
use pw::spa;
use spa::param::video::VideoFormat as PixelFormat;
use spa::pod::Pod;

use crate::video::cadence::Cadence;
use crate::video::mjpeg::Mjpeg;
use crate::video::pixels::{to_i420, Layout, Plane};
use crate::video::reading::Latest;
use crate::video::screen::{EndSignal, ShareEnd};
use crate::video::{Arrivals, VideoFormat, VideoFrame, VideoInput};

/// How long a listing may take, and how long a source may take to agree on
/// a format (a USB camera's first start can take a second or two).
const LISTING: Duration = Duration::from_secs(3);
pub(crate) const FIRST_PICTURE_SECS: u64 = 5;

/// The raw pixel formats taken, in the order we prefer them: cameras
/// deliver YUY2 or I420 raw; a virtual camera or a screen cast may give RGB.
const FORMATS: [PixelFormat; 7] = [
    PixelFormat::I420,
    PixelFormat::YUY2,
    PixelFormat::NV12,
    PixelFormat::BGRx,
    PixelFormat::BGRA,
    PixelFormat::RGBx,
    PixelFormat::RGBA,
];

/// How one of [`FORMATS`] lays out its pixels (alpha is not read).
fn layout(format: PixelFormat) -> Option<Layout> {
    Some(match format {
        PixelFormat::I420 => Layout::I420,
        PixelFormat::YUY2 => Layout::Yuy2,
        PixelFormat::NV12 => Layout::Nv12,
        PixelFormat::BGRx | PixelFormat::BGRA => Layout::Bgrx,
        PixelFormat::RGBx | PixelFormat::RGBA => Layout::Rgbx,
        _ => return None,
    })
}

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(pw::init);
}

/// Which PipeWire: the session's (from the environment, as every client
/// finds it, or at a socket path), or one a portal handed over.
pub(crate) enum Remote {
    Session(Option<PathBuf>),
    Fd(OwnedFd),
}

/// Which source: by its node's name (stable), or its id (as a portal
/// names the node it made).
#[derive(Clone)]
pub(crate) enum Target {
    Name(String),
    Node(u32),
}

/// What to open, and how to say what we are (the stream's media role).
pub(crate) struct Open {
    pub remote: Remote,
    pub target: Target,
    pub role: &'static str,
    pub want: VideoFormat,
}

/// Why PipeWire gave no video.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PipeWireError {
    NoService(String),
    NoPicture(u64),
    Refused(String),
}

/// A node as listed: its class, name, description and nick, where set.
pub(crate) struct Node {
    pub class: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub nick: Option<String>,
}

/// The nodes PipeWire shows us now.
pub(crate) fn nodes(remote: Remote) -> Result<Vec<Node>, PipeWireError> {
    std::thread::Builder::new()
        .name("pipewire-list".into())
        .spawn(move || list_on_this_thread(remote))
        .map_err(|e| PipeWireError::NoService(e.to_string()))?
        .join()
        .unwrap_or_else(|_| Err(PipeWireError::NoService("the listing failed".into())))
}

/// A source being read. Dropping it stops the stream and its thread.
pub(crate) struct PipeWireVideo {
    format: VideoFormat,
    latest: Latest,
    end: ShareEnd,
    stop: pw::channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

/// What the loop's thread tells the opener once the source agreed.
type Agreed = Result<(VideoFormat, Pixels), PipeWireError>;

/// How a source's pictures come: raw in a pixel format, or as JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pixels {
    Raw(Layout),
    Mjpeg,
}

impl PipeWireVideo {
    /// Starts reading, asking for `open.want`'s size and rate; the source
    /// may give another size, which is then this input's format. Returns
    /// once the format is agreed.
    pub(crate) fn open(open: Open) -> Result<PipeWireVideo, PipeWireError> {
        let latest = Latest::new(2, 2);
        let ended = Arc::new(EndSignal::new());
        let end = ended.watch();
        let (stop, stopped) = pw::channel::channel::<()>();
        let (agreed_tx, agreed_rx) = mpsc::channel::<Agreed>();
        let want = open.want;
        let into = latest.clone();
        let thread = std::thread::Builder::new()
            .name("pipewire-video".into())
            .spawn(move || {
                let reading = Reading {
                    latest: into,
                    ended,
                    agreed: agreed_tx.clone(),
                };
                if let Err(e) = read_on_this_thread(open, reading, stopped) {
                    let _ = agreed_tx.send(Err(e));
                }
            })
            .map_err(|e| PipeWireError::Refused(e.to_string()))?;
        let mut video = PipeWireVideo {
            format: want,
            latest,
            end,
            stop,
            thread: Some(thread),
        };
        match agreed_rx.recv_timeout(Duration::from_secs(FIRST_PICTURE_SECS)) {
            Ok(Ok((format, pixels))) => {
                tracing::info!(
                    "pipewire video: {}x{} at {} fps, {pixels:?}",
                    format.width,
                    format.height,
                    format.fps
                );
                video.format = format;
                Ok(video)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(PipeWireError::NoPicture(FIRST_PICTURE_SECS)),
        }
    }

    /// Says when the source is gone (a camera unplugged, a cast stopped):
    /// its picture would never change again.
    pub(crate) fn end(&self) -> ShareEnd {
        self.end.clone()
    }
}

impl Drop for PipeWireVideo {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl VideoInput for PipeWireVideo {
    fn format(&self) -> VideoFormat {
        self.format
    }

    /// The newest picture; until the first comes, black.
    fn next_frame(&mut self, out: &mut VideoFrame) {
        self.latest.copy_into(out);
    }

    fn arrivals(&self) -> Option<Arrivals> {
        Some(self.latest.arrivals())
    }
}

/// A connection to PipeWire on this thread.
struct Connection {
    main_loop: pw::main_loop::MainLoopRc,
    core: pw::core::CoreRc,
    _context: pw::context::ContextRc,
}

fn connect(remote: Remote) -> Result<Connection, PipeWireError> {
    init();
    let no_service = |e: pw::Error| PipeWireError::NoService(e.to_string());
    let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(no_service)?;
    let context = pw::context::ContextRc::new(&main_loop, None).map_err(no_service)?;
    let core = match remote {
        Remote::Session(None) => context.connect_rc(None),
        Remote::Session(Some(socket)) => context.connect_rc(Some(properties! {
            *pw::keys::REMOTE_NAME => socket.to_string_lossy().into_owned(),
        })),
        Remote::Fd(fd) => context.connect_fd_rc(fd, None),
    }
    .map_err(no_service)?;
    Ok(Connection {
        main_loop,
        core,
        _context: context,
    })
}

fn list_on_this_thread(remote: Remote) -> Result<Vec<Node>, PipeWireError> {
    let pw = connect(remote)?;
    let registry = pw
        .core
        .get_registry_rc()
        .map_err(|e| PipeWireError::NoService(e.to_string()))?;
    let found = Rc::new(RefCell::new(Vec::new()));
    let done = Rc::new(Cell::new(false));
    let pending = pw
        .core
        .sync(0)
        .map_err(|e| PipeWireError::NoService(e.to_string()))?;
    let _core_listener = pw
        .core
        .add_listener_local()
        .done({
            let (done, main_loop) = (done.clone(), pw.main_loop.clone());
            move |id, seq| {
                if id == pw::core::PW_ID_CORE && seq == pending {
                    done.set(true);
                    main_loop.quit();
                }
            }
        })
        .register();
    let _registry_listener = registry
        .add_listener_local()
        .global({
            let found = found.clone();
            move |global| {
                if global.type_ != pw::types::ObjectType::Node {
                    return;
                }
                let Some(props) = global.props else { return };
                let prop = |key: &str| props.get(key).map(str::to_owned);
                found.borrow_mut().push(Node {
                    class: prop("media.class"),
                    name: prop("node.name"),
                    description: prop("node.description"),
                    nick: prop("node.nick"),
                });
            }
        })
        .register();
    let timeout = pw.main_loop.loop_().add_timer({
        let main_loop = pw.main_loop.clone();
        move |_| main_loop.quit()
    });
    let _ = timeout.update_timer(Some(LISTING), None);
    pw.main_loop.run();
    if !done.get() {
        return Err(PipeWireError::NoService(format!(
            "PipeWire did not answer within {} s",
            LISTING.as_secs()
        )));
    }
    let nodes = found.take();
    Ok(nodes)
}

/// The loop's side of a reader: where pictures go, and who hears of the
/// agreed format and of the end.
struct Reading {
    latest: Latest,
    ended: Arc<EndSignal>,
    agreed: mpsc::Sender<Agreed>,
}

/// What the stream's callbacks keep between calls.
struct StreamState {
    reading: Reading,
    pixels: Pixels,
    /// A webcam's JPEG decoder, kept between its pictures.
    mjpeg: Mjpeg,
    format: Option<VideoFormat>,
    /// Which pictures are sent (from the agreed rates).
    cadence: Cadence,
    frame: VideoFrame,
    streaming: bool,
    warned: bool,
    /// The rate asked for: the most we send.
    want_fps: u32,
}

fn read_on_this_thread(
    open: Open,
    reading: Reading,
    stopped: pw::channel::Receiver<()>,
) -> Result<(), PipeWireError> {
    let Open {
        remote,
        target,
        role,
        want,
    } = open;
    let pw = connect(remote)?;
    let refused = |e: pw::Error| PipeWireError::Refused(e.to_string());
    let mut props = properties! {
        *pw::keys::MEDIA_TYPE => "Video",
        *pw::keys::MEDIA_CATEGORY => "Capture",
        *pw::keys::MEDIA_ROLE => role,
        *pw::keys::NODE_DONT_RECONNECT => "true",
    };
    if let Target::Name(name) = &target {
        props.insert(*pw::keys::TARGET_OBJECT, name.as_str());
    }
    let stream = pw::stream::StreamBox::new(&pw.core, "rtcstack-video", props).map_err(refused)?;
    let ended = Arc::clone(&reading.ended);
    let state = StreamState {
        reading,
        // Until a format is agreed, no picture is read.
        pixels: Pixels::Raw(Layout::I420),
        mjpeg: Mjpeg::default(),
        format: None,
        cadence: Cadence::new(want.fps, None),
        frame: VideoFrame::black(2, 2),
        streaming: false,
        warned: false,
        want_fps: want.fps.max(1),
    };
    let _listener = stream
        .add_local_listener_with_user_data(state)
        .state_changed(|_, state, _, new| match new {
            pw::stream::StreamState::Streaming => state.streaming = true,
            pw::stream::StreamState::Error(e) => {
                let _ = state.reading.agreed.send(Err(PipeWireError::Refused(e)));
                state.reading.ended.end();
            }
            pw::stream::StreamState::Unconnected if state.streaming => state.reading.ended.end(),
            _ => {}
        })
        .param_changed(|_, state, id, param| {
            if id != spa::param::ParamType::Format.as_raw() {
                return;
            }
            let Some(param) = param else { return };
            agree(state, param);
        })
        .process(|stream, state| {
            let Some(mut buffer) = stream.dequeue_buffer() else {
                return;
            };
            // One we would not send is not converted either.
            let now = Instant::now();
            if !state.cadence.due(now) {
                return;
            }
            // A plane per data where the source splits them (libcamera's
            // cameras); one holding all otherwise.
            let planes: Vec<Plane> = buffer
                .datas_mut()
                .iter_mut()
                .map_while(|data| {
                    let chunk = data.chunk();
                    let (offset, size, stride) = (
                        chunk.offset() as usize,
                        chunk.size() as usize,
                        chunk.stride(),
                    );
                    let bytes = data.data()?.get(offset..offset.saturating_add(size))?;
                    Some(Plane { bytes, stride })
                })
                .collect();
            if picture(state, &planes) {
                state.cadence.sent(now);
            }
        })
        .register()
        .map_err(refused)?;

    let asked = enum_formats(role, want).map_err(PipeWireError::Refused)?;
    let mut pods = asked
        .iter()
        .map(|bytes| Pod::from_bytes(bytes))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| PipeWireError::Refused("the format request is malformed".into()))?;
    let node_id = match &target {
        Target::Name(_) => None,
        Target::Node(id) => Some(*id),
    };
    stream
        .connect(
            spa::utils::Direction::Input,
            node_id,
            pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut pods,
        )
        .map_err(refused)?;
    // The source's node leaving the registry is its end (a camera
    // unplugged, a cast stopped by the desktop): the stream alone may only
    // be unlinked, and wait for it in vain.
    let registry = pw.core.get_registry_rc().map_err(refused)?;
    let node = Rc::new(Cell::new(node_id));
    let _registry_listener = registry
        .add_listener_local()
        .global({
            let node = node.clone();
            move |global| {
                let Target::Name(name) = &target else { return };
                let named = global
                    .props
                    .is_some_and(|p| p.get("node.name") == Some(name.as_str()));
                if global.type_ == pw::types::ObjectType::Node && named {
                    node.set(Some(global.id));
                }
            }
        })
        .global_remove(move |gone| {
            if node.get() == Some(gone) {
                ended.end();
            }
        })
        .register();
    let _stop = stopped.attach(pw.main_loop.loop_(), {
        let main_loop = pw.main_loop.clone();
        move |()| main_loop.quit()
    });
    pw.main_loop.run();
    let _ = stream.disconnect();
    Ok(())
}

/// The format the source and we agreed on: pictures of that size from now.
fn agree(state: &mut StreamState, param: &Pod) {
    use spa::param::format::{MediaSubtype, MediaType};
    let Ok((MediaType::Video, subtype)) = spa::param::format_utils::parse_format(param) else {
        return;
    };
    // Raw's parser reads an MJPEG format's size and rate too (its pixel
    // format is then unknown).
    let mut info = spa::param::video::VideoInfoRaw::new();
    if info.parse(param).is_err() {
        return;
    }
    let pixels = match subtype {
        MediaSubtype::Raw => layout(info.format()).map(Pixels::Raw),
        MediaSubtype::Mjpg => Some(Pixels::Mjpeg),
        _ => None,
    };
    let size = info.size();
    let rate = info.framerate();
    // I420 wants even sides; an odd last row or column is left out.
    let format = VideoFormat {
        width: size.width & !1,
        height: size.height & !1,
        // Sent no faster than asked (a screen at its sharing rate) nor than
        // the source gives; a variable rate (0/1, as screen casts that
        // send on change have) counts as what was asked.
        fps: if rate.denom == 0 || rate.num == 0 {
            state.want_fps
        } else {
            // 30000/1001 is 30.
            ((rate.num + rate.denom / 2) / rate.denom).clamp(1, state.want_fps)
        },
    };
    let Some(pixels) = pixels.filter(|_| format.width > 0 && format.height > 0) else {
        let _ = state
            .reading
            .agreed
            .send(Err(PipeWireError::Refused(format!(
                "it offers {subtype:?} {:?} at {}x{}",
                info.format(),
                size.width,
                size.height
            ))));
        return;
    };
    state.pixels = pixels;
    let source =
        (rate.num > 0 && rate.denom > 0).then(|| Duration::from_secs(1) * rate.denom / rate.num);
    state.cadence = Cadence::new(format.fps, source);
    state.frame = VideoFrame::black(format.width, format.height);
    state.reading.latest.reset(format.width, format.height);
    if state.format.replace(format).is_none() {
        let _ = state.reading.agreed.send(Ok((format, state.pixels)));
    }
}

/// One picture from the source, turned into I420 and made the newest.
/// Whether it was made the newest.
fn picture(state: &mut StreamState, planes: &[Plane]) -> bool {
    // Nothing is read before a format is agreed.
    if state.format.is_none() {
        return false;
    }
    let converted = match state.pixels {
        Pixels::Raw(pixels) => to_i420(pixels, planes, &mut state.frame),
        Pixels::Mjpeg => match planes.first() {
            Some(jpeg) => state.mjpeg.decode_into(jpeg.bytes, &mut state.frame),
            None => Err("an MJPEG buffer without data".into()),
        },
    };
    match converted {
        // Refused only if the format changed under it.
        Ok(()) => state.reading.latest.put(&mut state.frame),
        Err(e) => {
            if !std::mem::replace(&mut state.warned, true) {
                tracing::warn!("pipewire picture: {e}");
            }
            false
        }
    }
}

/// What we ask a source for, as PipeWire's EnumFormat params in the order
/// we prefer them (PipeWire tries each against the source's formats in
/// turn and takes the first that fits).
///
/// A camera: `want`'s size at `want`'s rate or faster, raw, then as
/// MJPEG; then at least half that size at that rate, raw then MJPEG; then
/// anything from 2x2 to 4096x4096 at 1 to 60 fps. A USB webcam gives 720p
/// at 30 fps only as MJPEG (raw, at 10): asked for raw of any rate first,
/// it would be sent at 10.
///
/// A screen cast: raw, any size and rate (`want`'s preferred).
fn enum_formats(role: &str, want: VideoFormat) -> Result<Vec<Vec<u8>>, String> {
    let size = |min: (u32, u32), max: (u32, u32)| Span {
        default: (want.width, want.height),
        min,
        max,
    };
    let exact = size((want.width, want.height), (want.width, want.height));
    let half = size((want.width / 2, want.height / 2).max((2, 2)), (4096, 4096));
    let any = size((2, 2), (4096, 4096));
    let at_rate = (want.fps.clamp(1, 60), 60);
    let any_rate = (1, 60);
    let ladder: &[(bool, &Span, (u32, u32))] = if role == "Camera" {
        &[
            (false, &exact, at_rate),
            (true, &exact, at_rate),
            (false, &half, at_rate),
            (true, &half, at_rate),
            (false, &any, any_rate),
            (true, &any, any_rate),
        ]
    } else {
        &[(false, &any, any_rate)]
    };
    ladder
        .iter()
        .map(|&(mjpeg, size, rate)| format_param(mjpeg, size, rate, want.fps))
        .collect()
}

/// Sizes from `min` to `max`, `default` preferred.
struct Span {
    default: (u32, u32),
    min: (u32, u32),
    max: (u32, u32),
}

/// One EnumFormat param: raw in any of [`FORMATS`] or MJPEG, of `size`, at
/// `rate`'s frames a second (`fps` preferred).
fn format_param(mjpeg: bool, size: &Span, rate: (u32, u32), fps: u32) -> Result<Vec<u8>, String> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use spa::pod::{ChoiceValue, Property, Value};
    use spa::utils::{Choice, ChoiceEnum, ChoiceFlags, Fraction, Id, Rectangle};
    let id = |v: u32| Value::Id(Id(v));
    let rect = |(width, height): (u32, u32)| Rectangle { width, height };
    let per_second = |num: u32| Fraction { num, denom: 1 };
    let mut properties = vec![
        Property::new(
            FormatProperties::MediaType.as_raw(),
            id(MediaType::Video.as_raw()),
        ),
        Property::new(
            FormatProperties::MediaSubtype.as_raw(),
            id(if mjpeg {
                MediaSubtype::Mjpg
            } else {
                MediaSubtype::Raw
            }
            .as_raw()),
        ),
    ];
    if !mjpeg {
        properties.push(Property::new(
            FormatProperties::VideoFormat.as_raw(),
            Value::Choice(ChoiceValue::Id(Choice(
                ChoiceFlags::empty(),
                ChoiceEnum::Enum {
                    default: Id(FORMATS[0].as_raw()),
                    alternatives: FORMATS.iter().map(|f| Id(f.as_raw())).collect(),
                },
            ))),
        ));
    }
    properties.push(Property::new(
        FormatProperties::VideoSize.as_raw(),
        Value::Choice(ChoiceValue::Rectangle(Choice(
            ChoiceFlags::empty(),
            ChoiceEnum::Range {
                default: rect(size.default),
                min: rect(size.min),
                max: rect(size.max),
            },
        ))),
    ));
    properties.push(Property::new(
        FormatProperties::VideoFramerate.as_raw(),
        Value::Choice(ChoiceValue::Fraction(Choice(
            ChoiceFlags::empty(),
            ChoiceEnum::Range {
                default: per_second(fps.clamp(rate.0, rate.1)),
                min: per_second(rate.0),
                max: per_second(rate.1),
            },
        ))),
    ));
    let object = spa::pod::Object {
        type_: spa::utils::SpaTypes::ObjectParamFormat.as_raw(),
        id: spa::param::ParamType::EnumFormat.as_raw(),
        properties,
    };
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(object),
    )
    .map(|(bytes, _)| bytes.into_inner())
    .map_err(|e| format!("{e:?}"))
}
