//! A camera read from PipeWire: a capture stream linked to the camera's
//! node, on a thread of its own (PipeWire's objects stay on the thread of
//! their loop). Each picture arrives in the format the camera and we agreed
//! on and is turned into I420 there; the sender's clock takes the newest.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::sync::{mpsc, Arc, Mutex, Once};
use std::thread::JoinHandle;
use std::time::Duration;

use pipewire as pw;
use pw::properties::properties;
use pw::spa;
use spa::param::video::VideoFormat as PixelFormat;
use spa::pod::Pod;

use super::{CameraError, CameraInfo, CameraService};
use crate::video::screen::{EndSignal, ShareEnd};
use crate::video::{VideoFormat, VideoFrame, VideoInput};

/// How long a listing may take, and how long a camera may take to agree on
/// a format (a USB camera's first start can take a second or two).
const LISTING: Duration = Duration::from_secs(3);
const FIRST_PICTURE_SECS: u64 = 5;

/// The pixel formats taken, in the order we prefer them: cameras deliver
/// YUY2 or I420 raw; a virtual camera may give RGB.
const FORMATS: [PixelFormat; 7] = [
    PixelFormat::I420,
    PixelFormat::YUY2,
    PixelFormat::NV12,
    PixelFormat::BGRx,
    PixelFormat::BGRA,
    PixelFormat::RGBx,
    PixelFormat::RGBA,
];

fn init() {
    static INIT: Once = Once::new();
    INIT.call_once(pw::init);
}

/// A camera being read. Dropping it stops the stream and its thread.
pub struct PipeWireCamera {
    format: VideoFormat,
    latest: Arc<Mutex<VideoFrame>>,
    end: ShareEnd,
    stop: pw::channel::Sender<()>,
    thread: Option<JoinHandle<()>>,
}

/// What the loop's thread tells the opener once the camera agreed.
type Agreed = Result<(VideoFormat, PixelFormat), CameraError>;

impl PipeWireCamera {
    /// The cameras PipeWire knows now (its video sources).
    pub fn list(service: &CameraService) -> Result<Vec<CameraInfo>, CameraError> {
        let service = service.clone();
        std::thread::Builder::new()
            .name("camera-list".into())
            .spawn(move || list_on_this_thread(&service))
            .map_err(|e| CameraError::NoService(e.to_string()))?
            .join()
            .unwrap_or_else(|_| Err(CameraError::NoService("the listing failed".into())))
    }

    /// Starts reading the camera `id` (a [`CameraInfo::id`]), asking for
    /// `want`'s size and rate; the camera may give another size, which is
    /// then this input's format. Returns once its format is agreed.
    pub fn open(
        service: &CameraService,
        id: &str,
        want: VideoFormat,
    ) -> Result<PipeWireCamera, CameraError> {
        if !Self::list(service)?.iter().any(|c| c.id == id) {
            return Err(CameraError::NotFound);
        }
        let latest = Arc::new(Mutex::new(VideoFrame::black(2, 2)));
        let ended = Arc::new(EndSignal::new());
        let end = ended.watch();
        let (stop, stopped) = pw::channel::channel::<()>();
        let (agreed_tx, agreed_rx) = mpsc::channel::<Agreed>();
        let (service, target, into) = (service.clone(), id.to_owned(), latest.clone());
        let thread = std::thread::Builder::new()
            .name("camera".into())
            .spawn(move || {
                let reading = Reading {
                    into,
                    ended,
                    agreed: agreed_tx.clone(),
                };
                if let Err(e) = read_on_this_thread(&service, &target, want, reading, stopped) {
                    let _ = agreed_tx.send(Err(e));
                }
            })
            .map_err(|e| CameraError::Refused(e.to_string()))?;
        let mut camera = PipeWireCamera {
            format: want,
            latest,
            end,
            stop,
            thread: Some(thread),
        };
        match agreed_rx.recv_timeout(Duration::from_secs(FIRST_PICTURE_SECS)) {
            Ok(Ok((format, pixels))) => {
                tracing::info!(
                    "camera {id:?}: {}x{} at {} fps, {pixels:?}",
                    format.width,
                    format.height,
                    format.fps
                );
                camera.format = format;
                Ok(camera)
            }
            Ok(Err(e)) => Err(e),
            Err(_) => Err(CameraError::NoPicture(FIRST_PICTURE_SECS)),
        }
    }

    /// Says when the camera is gone (unplugged, or taken away by the
    /// system): its picture would never change again.
    pub fn end(&self) -> ShareEnd {
        self.end.clone()
    }
}

impl Drop for PipeWireCamera {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl VideoInput for PipeWireCamera {
    fn format(&self) -> VideoFormat {
        self.format
    }

    /// The newest picture; until the first comes, black.
    fn next_frame(&mut self, out: &mut VideoFrame) {
        let latest = self.latest.lock().expect("camera picture lock");
        if (latest.width, latest.height) == (out.width, out.height) {
            out.y.clone_from(&latest.y);
            out.u.clone_from(&latest.u);
            out.v.clone_from(&latest.v);
        }
    }
}

/// A connection to PipeWire on this thread.
struct Connection {
    main_loop: pw::main_loop::MainLoopRc,
    core: pw::core::CoreRc,
    _context: pw::context::ContextRc,
}

fn connect(service: &CameraService) -> Result<Connection, CameraError> {
    init();
    let no_service = |e: pw::Error| CameraError::NoService(e.to_string());
    let main_loop = pw::main_loop::MainLoopRc::new(None).map_err(no_service)?;
    let context = pw::context::ContextRc::new(&main_loop, None).map_err(no_service)?;
    let props = service.socket().map(|socket| {
        properties! {
            *pw::keys::REMOTE_NAME => socket.to_string_lossy().into_owned(),
        }
    });
    let core = context.connect_rc(props).map_err(no_service)?;
    Ok(Connection {
        main_loop,
        core,
        _context: context,
    })
}

fn list_on_this_thread(service: &CameraService) -> Result<Vec<CameraInfo>, CameraError> {
    let pw = connect(service)?;
    let registry = pw
        .core
        .get_registry_rc()
        .map_err(|e| CameraError::NoService(e.to_string()))?;
    let found = Rc::new(RefCell::new(Vec::new()));
    let done = Rc::new(Cell::new(false));
    let pending = pw
        .core
        .sync(0)
        .map_err(|e| CameraError::NoService(e.to_string()))?;
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
                if let Some(camera) = camera_of(|key| props.get(key)) {
                    found.borrow_mut().push(camera);
                }
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
        return Err(CameraError::NoService(format!(
            "PipeWire did not answer within {} s",
            LISTING.as_secs()
        )));
    }
    let cameras = found.take();
    Ok(cameras)
}

/// A node's properties as a camera, if it is one: a video source (what
/// WirePlumber makes of each V4L2 or libcamera device; a screen cast's
/// stream is a "Stream/Output/Video" and is left out).
fn camera_of<'a>(prop: impl Fn(&str) -> Option<&'a str>) -> Option<CameraInfo> {
    if prop("media.class")? != "Video/Source" {
        return None;
    }
    let id = prop("node.name")?.to_owned();
    let name = ["node.description", "node.nick"]
        .into_iter()
        .find_map(|key| prop(key).filter(|n| !n.trim().is_empty()))
        .unwrap_or(&id)
        .to_owned();
    Some(CameraInfo { id, name })
}

/// The loop's side of a camera: where pictures go, and who hears of the
/// agreed format and of the end.
struct Reading {
    into: Arc<Mutex<VideoFrame>>,
    ended: Arc<EndSignal>,
    agreed: mpsc::Sender<Agreed>,
}

/// What the stream's callbacks keep between calls.
struct StreamState {
    reading: Reading,
    pixels: PixelFormat,
    format: Option<VideoFormat>,
    frame: VideoFrame,
    streaming: bool,
    warned: bool,
}

fn read_on_this_thread(
    service: &CameraService,
    id: &str,
    want: VideoFormat,
    reading: Reading,
    stopped: pw::channel::Receiver<()>,
) -> Result<(), CameraError> {
    let pw = connect(service)?;
    let refused = |e: pw::Error| CameraError::Refused(e.to_string());
    let stream = pw::stream::StreamBox::new(
        &pw.core,
        "rtcstack-camera",
        properties! {
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Camera",
            *pw::keys::TARGET_OBJECT => id,
            *pw::keys::NODE_DONT_RECONNECT => "true",
        },
    )
    .map_err(refused)?;
    let ended = Arc::clone(&reading.ended);
    let state = StreamState {
        reading,
        pixels: PixelFormat::Unknown,
        format: None,
        frame: VideoFrame::black(2, 2),
        streaming: false,
        warned: false,
    };
    let _listener = stream
        .add_local_listener_with_user_data(state)
        .state_changed(|_, state, _, new| match new {
            pw::stream::StreamState::Streaming => state.streaming = true,
            pw::stream::StreamState::Error(e) => {
                let _ = state.reading.agreed.send(Err(CameraError::Refused(e)));
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
            let Some(data) = buffer.datas_mut().first_mut() else {
                return;
            };
            let chunk = data.chunk();
            let (offset, size, stride) = (
                chunk.offset() as usize,
                chunk.size() as usize,
                chunk.stride(),
            );
            let Some(bytes) = data.data() else { return };
            let Some(bytes) = bytes.get(offset..offset.saturating_add(size)) else {
                return;
            };
            picture(state, bytes, stride);
        })
        .register()
        .map_err(refused)?;

    let values = enum_format(want).map_err(CameraError::Refused)?;
    let pod = Pod::from_bytes(&values)
        .ok_or_else(|| CameraError::Refused("the format request is malformed".into()))?;
    stream
        .connect(
            spa::utils::Direction::Input,
            None,
            pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut [pod],
        )
        .map_err(refused)?;
    // The camera's node leaving the registry is the camera unplugged (the
    // stream alone may only be unlinked, and wait for it in vain).
    let registry = pw.core.get_registry_rc().map_err(refused)?;
    let node = Rc::new(Cell::new(None));
    let _registry_listener = registry
        .add_listener_local()
        .global({
            let (node, id) = (node.clone(), id.to_owned());
            move |global| {
                let named = global
                    .props
                    .is_some_and(|p| p.get("node.name") == Some(id.as_str()));
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

/// The format the camera and we agreed on: pictures of that size from now.
fn agree(state: &mut StreamState, param: &Pod) {
    let mut info = spa::param::video::VideoInfoRaw::new();
    if info.parse(param).is_err() {
        return;
    }
    let size = info.size();
    let rate = info.framerate();
    // I420 wants even sides; an odd last row or column is left out.
    let format = VideoFormat {
        width: size.width & !1,
        height: size.height & !1,
        fps: if rate.denom == 0 || rate.num == 0 {
            30
        } else {
            (rate.num / rate.denom).clamp(1, 60)
        },
    };
    if format.width == 0 || format.height == 0 || !FORMATS.contains(&info.format()) {
        let _ = state.reading.agreed.send(Err(CameraError::Refused(format!(
            "it offers {:?} at {}x{}",
            info.format(),
            size.width,
            size.height
        ))));
        return;
    }
    state.pixels = info.format();
    state.frame = VideoFrame::black(format.width, format.height);
    *state.reading.into.lock().expect("camera picture lock") = state.frame.clone();
    if state.format.replace(format).is_none() {
        let _ = state.reading.agreed.send(Ok((format, state.pixels)));
    }
}

/// One picture from the camera, turned into I420 and made the newest.
fn picture(state: &mut StreamState, bytes: &[u8], stride: i32) {
    let Some(format) = state.format else { return };
    match to_i420(state.pixels, bytes, stride, &mut state.frame) {
        Ok(()) => {
            let mut latest = state.reading.into.lock().expect("camera picture lock");
            if (latest.width, latest.height) == (format.width, format.height) {
                std::mem::swap(&mut *latest, &mut state.frame);
            }
        }
        Err(e) => {
            if !std::mem::replace(&mut state.warned, true) {
                tracing::warn!("camera picture: {e}");
            }
        }
    }
}

/// `bytes` (one picture in `pixels`, rows `stride` bytes apart, 0 for
/// packed) into `out`, which has the agreed size.
fn to_i420(
    pixels: PixelFormat,
    bytes: &[u8],
    stride: i32,
    out: &mut VideoFrame,
) -> Result<(), String> {
    let (w, h) = (out.width, out.height);
    let cw = out.chroma_width();
    let ch = out.chroma_height();
    let bytes_per_pixel = match pixels {
        PixelFormat::YUY2 => 2,
        PixelFormat::I420 | PixelFormat::NV12 => 1,
        _ => 4,
    };
    let stride = match u32::try_from(stride) {
        Ok(s) if s > 0 => s,
        _ => w * bytes_per_pixel,
    };
    let mut image = out.planes_mut();
    let (range, matrix, mode) = (
        yuv::YuvRange::Limited,
        yuv::YuvStandardMatrix::Bt601,
        yuv::YuvConversionMode::Balanced,
    );
    let done = match pixels {
        PixelFormat::YUY2 => yuv::yuyv422_to_yuv420(
            &mut image,
            &yuv::YuvPackedImage {
                yuy: bytes,
                yuy_stride: stride,
                width: w,
                height: h,
            },
        ),
        PixelFormat::I420 => return copy_i420(bytes, stride as usize, out, (cw, ch)),
        PixelFormat::NV12 => return copy_nv12(bytes, stride as usize, out, (cw, ch)),
        PixelFormat::BGRx | PixelFormat::BGRA => {
            yuv::bgra_to_yuv420(&mut image, bytes, stride, range, matrix, mode)
        }
        _ => yuv::rgba_to_yuv420(&mut image, bytes, stride, range, matrix, mode),
    };
    done.map_err(|e| e.to_string())
}

/// I420 as PipeWire lays it out: the three planes one after the other,
/// the chroma rows half the luma's stride apart.
fn copy_i420(
    bytes: &[u8],
    stride: usize,
    out: &mut VideoFrame,
    (cw, ch): (u32, u32),
) -> Result<(), String> {
    let (w, h) = (out.width as usize, out.height as usize);
    let (cw, ch) = (cw as usize, ch as usize);
    let chroma_stride = stride.div_ceil(2);
    let u_at = stride * h;
    let v_at = u_at + chroma_stride * ch;
    if bytes.len() < v_at + chroma_stride * (ch - 1) + cw || stride < w {
        return Err(format!(
            "an I420 picture of {} bytes for {w}x{h}",
            bytes.len()
        ));
    }
    copy_luma(bytes, stride, out);
    for row in 0..ch {
        let (u, v) = (u_at + row * chroma_stride, v_at + row * chroma_stride);
        out.u[row * cw..(row + 1) * cw].copy_from_slice(&bytes[u..u + cw]);
        out.v[row * cw..(row + 1) * cw].copy_from_slice(&bytes[v..v + cw]);
    }
    Ok(())
}

/// NV12: the luma plane, then one plane of U and V interleaved.
fn copy_nv12(
    bytes: &[u8],
    stride: usize,
    out: &mut VideoFrame,
    (cw, ch): (u32, u32),
) -> Result<(), String> {
    let (w, h) = (out.width as usize, out.height as usize);
    let (cw, ch) = (cw as usize, ch as usize);
    let uv_at = stride * h;
    if bytes.len() < uv_at + stride * (ch - 1) + 2 * cw || stride < w {
        return Err(format!(
            "an NV12 picture of {} bytes for {w}x{h}",
            bytes.len()
        ));
    }
    copy_luma(bytes, stride, out);
    for row in 0..ch {
        let uv = &bytes[uv_at + row * stride..uv_at + row * stride + 2 * cw];
        for (x, pair) in uv.chunks_exact(2).enumerate() {
            out.u[row * cw + x] = pair[0];
            out.v[row * cw + x] = pair[1];
        }
    }
    Ok(())
}

/// The luma rows of a planar picture, `stride` bytes apart, into `out`.
fn copy_luma(bytes: &[u8], stride: usize, out: &mut VideoFrame) {
    let w = out.width as usize;
    for (row, line) in out.y.chunks_exact_mut(w).enumerate() {
        line.copy_from_slice(&bytes[row * stride..row * stride + w]);
    }
}

/// The formats we take, as PipeWire's EnumFormat: raw video, `want`'s
/// size and rate preferred, anything from 2x2 to 4096x4096 accepted.
fn enum_format(want: VideoFormat) -> Result<Vec<u8>, String> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use spa::utils::{Fraction, Rectangle};
    let object = spa::pod::object!(
        spa::utils::SpaTypes::ObjectParamFormat,
        spa::param::ParamType::EnumFormat,
        spa::pod::property!(FormatProperties::MediaType, Id, MediaType::Video),
        spa::pod::property!(FormatProperties::MediaSubtype, Id, MediaSubtype::Raw),
        spa::pod::property!(
            FormatProperties::VideoFormat,
            Choice,
            Enum,
            Id,
            FORMATS[0],
            FORMATS[0],
            FORMATS[1],
            FORMATS[2],
            FORMATS[3],
            FORMATS[4],
            FORMATS[5],
            FORMATS[6]
        ),
        spa::pod::property!(
            FormatProperties::VideoSize,
            Choice,
            Range,
            Rectangle,
            Rectangle {
                width: want.width,
                height: want.height
            },
            Rectangle {
                width: 2,
                height: 2
            },
            Rectangle {
                width: 4096,
                height: 4096
            }
        ),
        spa::pod::property!(
            FormatProperties::VideoFramerate,
            Choice,
            Range,
            Fraction,
            Fraction {
                num: want.fps,
                denom: 1
            },
            Fraction { num: 1, denom: 1 },
            Fraction { num: 60, denom: 1 }
        ),
    );
    spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(object),
    )
    .map(|(bytes, _)| bytes.into_inner())
    .map_err(|e| format!("{e:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_source_is_a_camera_and_named_as_its_description_says() {
        let props = |pairs: &'static [(&'static str, &'static str)]| {
            move |key: &str| pairs.iter().find(|(k, _)| *k == key).map(|(_, v)| *v)
        };
        assert_eq!(
            camera_of(props(&[
                ("media.class", "Video/Source"),
                ("node.name", "v4l2_input.pci-0000_00_14.0-usb-0_1_1.0"),
                ("node.description", "Integrated Camera"),
            ])),
            Some(CameraInfo {
                id: "v4l2_input.pci-0000_00_14.0-usb-0_1_1.0".into(),
                name: "Integrated Camera".into()
            })
        );
        // No description: the nick, then the node's name.
        assert_eq!(
            camera_of(props(&[
                ("media.class", "Video/Source"),
                ("node.name", "cam")
            ]))
            .map(|c| c.name),
            Some("cam".into())
        );
        // A screen cast's stream and a microphone are not cameras.
        for class in ["Stream/Output/Video", "Audio/Source"] {
            assert_eq!(
                camera_of(props(if class == "Audio/Source" {
                    &[("media.class", "Audio/Source"), ("node.name", "mic")]
                } else {
                    &[
                        ("media.class", "Stream/Output/Video"),
                        ("node.name", "cast"),
                    ]
                })),
                None
            );
        }
    }

    #[test]
    fn yuy2_and_i420_pictures_become_the_same_i420() {
        let (w, h) = (4u32, 2u32);
        // YUY2: Y0 U Y1 V per two pixels.
        let yuy2: Vec<u8> = vec![
            10, 100, 20, 200, 30, 101, 40, 201, //
            50, 102, 60, 202, 70, 103, 80, 203,
        ];
        let mut out = VideoFrame::black(w, h);
        to_i420(PixelFormat::YUY2, &yuy2, 8, &mut out).unwrap();
        assert_eq!(out.y, [10, 20, 30, 40, 50, 60, 70, 80]);
        assert_eq!(out.u.len(), 2);
        // I420 with a padded stride of 6 bytes.
        let mut i420 = vec![0u8; 6 * 2 + 3 * 2];
        i420[..4].copy_from_slice(&[1, 2, 3, 4]);
        i420[6..10].copy_from_slice(&[5, 6, 7, 8]);
        i420[12..14].copy_from_slice(&[9, 10]);
        i420[15..17].copy_from_slice(&[11, 12]);
        let mut out = VideoFrame::black(w, h);
        to_i420(PixelFormat::I420, &i420, 6, &mut out).unwrap();
        assert_eq!(out.y, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(out.u, [9, 10]);
        assert_eq!(out.v, [11, 12]);
        // NV12: U and V interleaved after the luma.
        let nv12 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 10, 12];
        let mut out = VideoFrame::black(w, h);
        to_i420(PixelFormat::NV12, &nv12, 4, &mut out).unwrap();
        assert_eq!(
            (out.u.as_slice(), out.v.as_slice()),
            (&[9, 10][..], &[11, 12][..])
        );
        // Too short: an error, nothing read out of bounds.
        assert!(to_i420(PixelFormat::I420, &i420[..10], 6, &mut out).is_err());
        assert!(to_i420(PixelFormat::YUY2, &yuy2[..6], 8, &mut out).is_err());
        assert!(to_i420(PixelFormat::NV12, &nv12[..10], 4, &mut out).is_err());
    }
}
