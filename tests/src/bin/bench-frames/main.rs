//! Frames to a tile, six ways. Four into this machine's WebKitGTK (the
//! app's webview, in the MiniBrowser it ships): the app's path (each
//! picture decoded in Rust, halved while the half still fills the tile,
//! sent as RGBA over a loopback websocket, drawn with `putImageData`); the
//! same with the planes sent as decoded (I420, made a `VideoFrame` in the
//! page, or drawn by WebGL converting them in a shader); and WebCodecs
//! (the VP8 frames sent as they came, decoded in the page by
//! `VideoDecoder`). Two outside it (`native.rs`): decoded in the window's
//! process and painted by GTK over the webview, or under it where the page
//! leaves the tile transparent. The same pictures (the test pattern with
//! grain, encoded once ahead, 30 fps), the same socket, the same tile, one
//! after the other. Cost is this process (the Rust side) plus the window's
//! and the webview's processes; every picture drawn is acknowledged by its
//! number, so latency is arrival → drawn on one clock, and at the end the
//! tile is read back for the pattern's colours.

use anyhow::{bail, Context, Result};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use rtcstack::video::{VideoFrame, VideoInput};
use rtcstack_testbench::pattern::{self, PatternSource};
use rtcstack_testbench::stats::{median, p95};
use rtcstack_testbench::usage;
use rtcstack_testbench::vpx_frames;
use std::collections::HashMap;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

mod native;

/// The windows a run opens: the webview's browser, or the native tile.
const VIEWERS: [&str; 2] = ["MiniBrowser", native::NAME];

/// The display server's process: shown in the split, not counted.
const DISPLAY: &str = "Xvfb";

fn is_viewer(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/comm"))
        .is_ok_and(|c| VIEWERS.contains(&c.trim_end()))
}

#[derive(Parser)]
struct Args {
    /// Seconds measured per run.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Seconds drawn before measuring.
    #[arg(long, default_value_t = 3)]
    settle: u64,
    /// The paths run, in this order (the ratios need rgba).
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "rgba,i420,webgl,webcodecs,native,native-under"
    )]
    paths: Vec<String>,
    /// The native path's window, on the socket at this port (the bench
    /// starts it so).
    #[arg(long, hide = true)]
    native_port: Option<u16>,
    /// Its tile, WIDTHxHEIGHT.
    #[arg(long, hide = true, default_value = "320x180")]
    native_tile: String,
    /// Its picture under the webview, not over it.
    #[arg(long, hide = true)]
    native_under: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum Path {
    Rgba,
    /// As ours, but the planes as decoded (1.5 bytes a pixel, not 4),
    /// made a `VideoFrame` in the page and drawn with `drawImage`.
    I420,
    /// The same planes, drawn by WebGL (three textures, the conversion
    /// to RGB in a shader).
    WebGl,
    WebCodecs,
    /// Outside the webview: decoded in the window's process and painted
    /// by GTK in a widget over the webview (`native.rs`).
    Native,
    /// The same under the webview, which draws a caption on the picture.
    NativeUnder,
}

const ALL: [Path; 6] = [
    Path::Rgba,
    Path::I420,
    Path::WebGl,
    Path::WebCodecs,
    Path::Native,
    Path::NativeUnder,
];

impl Path {
    fn name(self) -> &'static str {
        match self {
            Path::Rgba => "rgba",
            Path::I420 => "i420",
            Path::WebGl => "webgl",
            Path::WebCodecs => "webcodecs",
            Path::Native => "native",
            Path::NativeUnder => "native-under",
        }
    }

    /// The frames go as they came (VP8), for the other side to decode.
    fn forwards(self) -> bool {
        matches!(self, Path::WebCodecs | Path::Native | Path::NativeUnder)
    }
}

/// A stream's size and the tile's (the canvas's pixels).
#[derive(Clone, Copy)]
struct Case {
    stream: (u32, u32),
    tile: (u32, u32),
}

const FPS: u32 = 30;
/// Ten seconds, looped (it starts with a key frame).
const FRAMES: u32 = 300;

struct Encoded {
    data: Vec<u8>,
    key: bool,
}

fn encode(case: Case) -> Result<Vec<Encoded>> {
    let (w, h) = case.stream;
    let mut source = PatternSource::new(w, h, FPS).with_grain();
    let mut encoder = rtcstack_vpx::Vp8Encoder::new(rtcstack_vpx::EncoderConfig {
        width: w,
        height: h,
        fps: FPS,
        // 600 kbit/s at 640x360, as a camera's full layer, by area.
        bitrate_kbps: w * h * 600 / (640 * 360),
        content: rtcstack_vpx::Content::Motion,
        temporal_layers: 1,
    })?;
    let mut frame = VideoFrame::black(w, h);
    let mut out = Vec::new();
    for i in 0..FRAMES {
        source.next_frame(&mut frame);
        for e in encoder.encode([&frame.y, &frame.u, &frame.v], i == 0)? {
            out.push(Encoded {
                data: e.data,
                key: e.keyframe,
            });
        }
    }
    if out.len() != FRAMES as usize || !out[0].key {
        bail!("the encoder gave {} frames for {FRAMES}", out.len());
    }
    Ok(out)
}

/// The page: one canvas of the tile's size, fed by the socket.
fn page(path: Path, port: u16, case: Case) -> String {
    let (sw, sh) = case.stream;
    let (tw, th) = case.tile;
    format!(
        r#"<html><body style="margin:0"><canvas id="c" width="{tw}" height="{th}"></canvas><script>
const path = "{path}";
const canvas = document.getElementById("c");
const ctx = path === "webgl" ? null : canvas.getContext("2d");
let drawn = 0, errors = 0;
const ws = new WebSocket("ws://127.0.0.1:{port}/");
ws.binaryType = "arraybuffer";
// WebGL: Y, U and V as three textures, BT.601 video range to RGB in the
// shader; the last planes kept, to draw them again for the read-back.
const gl = path === "webgl" ? canvas.getContext("webgl") : null;
let planes = null;
if (path === "webgl" && gl) {{
  const shader = (type, src) => {{ const s = gl.createShader(type); gl.shaderSource(s, src); gl.compileShader(s); return s; }};
  const prog = gl.createProgram();
  gl.attachShader(prog, shader(gl.VERTEX_SHADER,
    "attribute vec2 p; varying vec2 t; void main() {{ t = vec2((p.x + 1.0) / 2.0, (1.0 - p.y) / 2.0); gl_Position = vec4(p, 0.0, 1.0); }}"));
  gl.attachShader(prog, shader(gl.FRAGMENT_SHADER,
    "precision mediump float; varying vec2 t; uniform sampler2D y, u, v; void main() {{" +
    " float l = 1.164 * (texture2D(y, t).r - 0.0625); float cb = texture2D(u, t).r - 0.5; float cr = texture2D(v, t).r - 0.5;" +
    " gl_FragColor = vec4(l + 1.596 * cr, l - 0.392 * cb - 0.813 * cr, l + 2.017 * cb, 1.0); }}"));
  gl.linkProgram(prog);
  gl.useProgram(prog);
  gl.bindBuffer(gl.ARRAY_BUFFER, gl.createBuffer());
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  const at = gl.getAttribLocation(prog, "p");
  gl.enableVertexAttribArray(at);
  gl.vertexAttribPointer(at, 2, gl.FLOAT, false, 0, 0);
  gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
  ["y", "u", "v"].forEach((n, i) => {{
    gl.activeTexture(gl.TEXTURE0 + i);
    gl.bindTexture(gl.TEXTURE_2D, gl.createTexture());
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, gl.LINEAR);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
    gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    gl.uniform1i(gl.getUniformLocation(prog, n), i);
  }});
  gl.viewport(0, 0, {tw}, {th});
}}
const glDraw = (buf, w, h) => {{
  const cw = w / 2, ch = h / 2;
  const views = [[new Uint8Array(buf, 16, w * h), w, h],
                 [new Uint8Array(buf, 16 + w * h, cw * ch), cw, ch],
                 [new Uint8Array(buf, 16 + w * h + cw * ch, cw * ch), cw, ch]];
  views.forEach(([d, pw, ph], i) => {{
    gl.activeTexture(gl.TEXTURE0 + i);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.LUMINANCE, pw, ph, 0, gl.LUMINANCE, gl.UNSIGNED_BYTE, d);
  }});
  gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
  planes = [buf, w, h];
}};
if (path === "webgl" && !gl) ws.onopen = () => ws.send("S error no webgl");
let decoder = null;
if (path === "webcodecs") {{
  decoder = new VideoDecoder({{
    output: (f) => {{ ctx.drawImage(f, 0, 0, {tw}, {th}); ws.send(String(f.timestamp)); f.close(); drawn++; }},
    error: (e) => {{ errors++; ws.send("S error " + e); }},
  }});
  decoder.configure({{ codec: "vp8", codedWidth: {sw}, codedHeight: {sh} }});
}}
if (path !== "webgl" || gl) ws.onopen = () => {{ if (path !== "webcodecs") ws.send("0"); }};
ws.onmessage = (e) => {{
  if (typeof e.data === "string") {{
    if (gl) {{
      // Drawn again and read at once (WebGL keeps no drawing after it is
      // shown), its rows bottom up.
      glDraw(...planes);
      const up = new Uint8Array({tw} * {th} * 4), down = new Uint8Array({tw} * {th} * 4);
      gl.readPixels(0, 0, {tw}, {th}, gl.RGBA, gl.UNSIGNED_BYTE, up);
      for (let r = 0; r < {th}; r++) down.set(up.subarray(r * {tw} * 4, (r + 1) * {tw} * 4), ({th} - 1 - r) * {tw} * 4);
      ws.send(down.buffer);
      return;
    }}
    const img = ctx.getImageData(0, 0, {tw}, {th});
    ws.send(img.data.buffer);
    return;
  }}
  const buf = e.data, head = new DataView(buf);
  const seq = Number(head.getBigUint64(0, true));
  if (path === "rgba") {{
    const w = head.getUint32(8, true), h = head.getUint32(12, true);
    ctx.putImageData(new ImageData(new Uint8ClampedArray(buf, 16, w * h * 4), w, h), 0, 0);
    drawn++;
    ws.send(String(seq));
  }} else if (path === "i420") {{
    const w = head.getUint32(8, true), h = head.getUint32(12, true);
    const frame = new VideoFrame(new Uint8Array(buf, 16, w * h * 3 / 2), {{ format: "I420", codedWidth: w, codedHeight: h, timestamp: seq }});
    ctx.drawImage(frame, 0, 0, {tw}, {th});
    frame.close();
    drawn++;
    ws.send(String(seq));
  }} else if (path === "webgl") {{
    glDraw(buf, head.getUint32(8, true), head.getUint32(12, true));
    drawn++;
    ws.send(String(seq));
  }} else {{
    const key = head.getUint8(8) === 1;
    decoder.decode(new EncodedVideoChunk({{ type: key ? "key" : "delta", timestamp: seq, data: new Uint8Array(buf, 9) }}));
  }}
}};
setInterval(() => ws.send("S drawn " + drawn + " errors " + errors + " window " + innerWidth + " " + innerHeight), 500);
</script></body></html>"#,
        path = path.name()
    )
}

/// What the page said.
#[derive(Default)]
struct Heard {
    drawn: u64,
    errors: Vec<String>,
    /// Send → drawn, ms, of each picture acknowledged.
    latency_ms: Vec<f64>,
    canvas: Option<Vec<u8>>,
    /// The page's viewport, CSS pixels.
    window: (u32, u32),
}

struct Outcome {
    cpu_pct: f64,
    by_process: Vec<(String, f64)>,
    fps: f64,
    latency_ms: Vec<f64>,
    reading: pattern::Reading,
}

fn minibrowser() -> Result<std::path::PathBuf> {
    let found = std::fs::read_dir("/usr/lib")?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("webkit2gtk-4.1/MiniBrowser"))
        .find(|p| p.exists());
    found.context("no MiniBrowser under /usr/lib/*/webkit2gtk-4.1 (libwebkit2gtk-4.1-0 ships it)")
}

async fn run(path: Path, case: Case, frames: &[Encoded], args: &Args) -> Result<Outcome> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
    let port = listener.local_addr()?.port();
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("page.html");
    std::fs::write(&file, page(path, port, case))?;
    let mut browser = Command::new("xvfb-run");
    browser.args(["-a", "-s", "-screen 0 1920x1080x24"]);
    if matches!(path, Path::Native | Path::NativeUnder) {
        browser
            .arg(std::env::current_exe()?)
            .arg(format!("--native-port={port}"))
            .arg(format!("--native-tile={}x{}", case.tile.0, case.tile.1));
        if path == Path::NativeUnder {
            browser.arg("--native-under");
        }
    } else {
        browser
            .arg(minibrowser()?)
            .arg(format!("file://{}", file.display()));
    }
    let browser = browser
        // As the app runs on a display without a GPU (tests/src/app.rs).
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("WEBKIT_DISABLE_DMABUF_RENDERER", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0)
        .spawn()
        .context("starting MiniBrowser under xvfb-run (scripts/setup installs xvfb)")?;
    let browser = Browser(browser);
    let outcome = tokio::time::timeout(
        Duration::from_secs(args.settle + args.seconds + 90),
        serve(browser.0.id(), listener, path, case, frames, args),
    )
    .await;
    drop(browser);
    outcome.context("the page did not finish in time")?
}

/// Resizes the browser's window (as a person would drag it), on the
/// display xvfb-run gave it.
fn resize(browser: u32, w: u32, h: u32) -> Result<()> {
    let mini = usage::tree(browser)
        .into_iter()
        .find(|p| is_viewer(*p))
        .context("no MiniBrowser under xvfb-run")?;
    let env = std::fs::read(format!("/proc/{mini}/environ"))?;
    let var = |name: &str| {
        env.split(|b| *b == 0).find_map(|kv| {
            kv.strip_prefix(format!("{name}=").as_bytes())
                .map(|v| String::from_utf8_lossy(v).into_owned())
        })
    };
    let mut xdotool = Command::new("xdotool");
    xdotool
        .args([
            "search",
            "--sync",
            "--onlyvisible",
            "--pid",
            &mini.to_string(),
        ])
        // Any class: the pid chooses.
        .args(["--class", "."])
        .args(["windowsize", "%@", &w.to_string(), &h.to_string()])
        .env(
            "DISPLAY",
            var("DISPLAY").context("MiniBrowser has no DISPLAY")?,
        )
        .stdout(Stdio::null());
    if let Some(auth) = var("XAUTHORITY") {
        xdotool.env("XAUTHORITY", auth);
    }
    let status = xdotool
        .status()
        .context("xdotool (scripts/setup installs it)")?;
    if !status.success() {
        bail!("xdotool could not resize the window: {status}");
    }
    Ok(())
}

/// xvfb-run with MiniBrowser on its display, in a process group of its
/// own; ended when dropped, on an error or a panic too.
struct Browser(std::process::Child);

impl Drop for Browser {
    fn drop(&mut self) {
        use nix::sys::signal::{kill, killpg, Signal};
        use nix::unistd::Pid;
        // MiniBrowser first: xvfb-run then ends its display and cleans up
        // after itself. The whole group if it has not within 5 s.
        let pid = self.0.id();
        for p in usage::tree(pid) {
            if is_viewer(p) {
                let _ = kill(Pid::from_raw(p as i32), Signal::SIGTERM);
            }
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGKILL);
        let _ = self.0.wait();
    }
}

async fn serve(
    browser: u32,
    listener: tokio::net::TcpListener,
    path: Path,
    case: Case,
    frames: &[Encoded],
    args: &Args,
) -> Result<Outcome> {
    let (tcp, _) = tokio::time::timeout(Duration::from_secs(30), listener.accept())
        .await
        .context("the page never connected")??;
    let (mut tx, mut rx) = tokio_tungstenite::accept_async(tcp).await?.split();
    let heard = Arc::new(Mutex::new(Heard::default()));
    let sent_at: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    let (asks_tx, mut asks) = mpsc::unbounded_channel::<()>();
    let reader = {
        let heard = Arc::clone(&heard);
        let sent_at = Arc::clone(&sent_at);
        tokio::spawn(async move {
            while let Some(Ok(m)) = rx.next().await {
                let mut h = heard.lock().unwrap();
                match m {
                    Message::Text(t) if t.starts_with("S drawn ") => {
                        // "S drawn N errors E window W H"
                        let words: Vec<&str> = t.split(' ').collect();
                        let number = |i: usize| words.get(i).and_then(|n| n.parse::<u64>().ok());
                        h.drawn = number(2).unwrap_or(h.drawn);
                        if let (Some(w), Some(ht)) = (number(6), number(7)) {
                            h.window = (w as u32, ht as u32);
                        }
                    }
                    Message::Text(t) if t.starts_with('S') => h.errors.push(t.to_string()),
                    Message::Text(t) => {
                        if let Ok(seq) = t.parse::<u64>() {
                            if let Some(at) = sent_at.lock().unwrap().remove(&seq) {
                                h.latency_ms.push(at.elapsed().as_secs_f64() * 1000.0);
                            }
                        }
                        if !path.forwards() {
                            let _ = asks_tx.send(());
                        }
                    }
                    Message::Binary(b) => h.canvas = Some(b.to_vec()),
                    _ => {}
                }
            }
        })
    };
    let own = std::process::id();
    let measure = {
        let heard = Arc::clone(&heard);
        let settle = args.settle;
        let seconds = args.seconds;
        let tile = case.tile;
        tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while heard.lock().unwrap().drawn == 0 {
                if Instant::now() > deadline {
                    bail!("the page drew nothing in 30 s");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            // MiniBrowser opens at 1024x730 (its full screen needs a
            // window manager): made larger, so the tile is wholly on it.
            let (tw, th) = tile;
            let fits = |heard: &Mutex<Heard>| {
                let (w, h) = heard.lock().unwrap().window;
                w >= tw && h >= th
            };
            if !fits(&heard) {
                tokio::task::spawn_blocking(move || resize(browser, tw + 100, th + 100)).await??;
                let deadline = Instant::now() + Duration::from_secs(10);
                while !fits(&heard) {
                    if Instant::now() > deadline {
                        bail!("the window stayed {:?}", heard.lock().unwrap().window);
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            tokio::time::sleep(Duration::from_secs(settle)).await;
            // The browser and the processes it started; the display
            // server measured beside them (every path ends in it) but not
            // counted.
            let mut pids = vec![own];
            pids.extend(usage::tree(browser).into_iter().filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/comm"))
                    .is_ok_and(|c| c.trim_end() != "xvfb-run")
            }));
            let l0 = heard.lock().unwrap().latency_ms.len();
            let (_, by_process) = usage::cost_by_name(&pids, seconds).await?;
            let h = heard.lock().unwrap();
            // Each picture drawn is acknowledged once.
            let window = h.latency_ms[l0..].to_vec();
            let fps = window.len() as f64 / seconds as f64;
            let cpu = by_process
                .iter()
                .filter(|(n, _)| n != DISPLAY)
                .map(|(_, c)| c)
                .sum();
            Ok((cpu, by_process, fps, window))
        })
    };
    let start = Instant::now();
    let mut k: u64 = 0;
    let mut rgba = Vec::new();
    let mut decoder = rtcstack_vpx::Decoder::new(rtcstack_vpx::Codec::Vp8)?;
    while !measure.is_finished() {
        tokio::time::sleep_until(
            (start + Duration::from_micros(k * 1_000_000 / u64::from(FPS))).into(),
        )
        .await;
        let f = &frames[(k % u64::from(FRAMES)) as usize];
        k += 1;
        // The picture arrives now: both paths are timed from here.
        sent_at.lock().unwrap().insert(k, Instant::now());
        let message = match path {
            Path::Rgba | Path::I420 | Path::WebGl => {
                // One in flight, as the app: the page asks for each.
                if asks.recv().await.is_none() {
                    bail!("the page went away");
                }
                let picture = vpx_frames::decode(&mut decoder, &f.data)?;
                // Fitted to the tile as the app fits it.
                let fitted = picture.fitted(case.tile.0, case.tile.1);
                let shown = fitted.unwrap_or(picture);
                rgba.clear();
                rgba.extend_from_slice(&k.to_le_bytes());
                rgba.extend_from_slice(&shown.width.to_le_bytes());
                rgba.extend_from_slice(&shown.height.to_le_bytes());
                if path == Path::Rgba {
                    let at = rgba.len();
                    rgba.resize(at + (shown.width * shown.height * 4) as usize, 0);
                    shown.write_rgba(&mut rgba[at..]);
                } else {
                    for plane in [&shown.y, &shown.u, &shown.v] {
                        rgba.extend_from_slice(plane);
                    }
                }
                std::mem::take(&mut rgba)
            }
            Path::WebCodecs | Path::Native | Path::NativeUnder => {
                let mut m = Vec::with_capacity(f.data.len() + 9);
                m.extend_from_slice(&k.to_le_bytes());
                m.push(u8::from(f.key));
                m.extend_from_slice(&f.data);
                m
            }
        };
        tx.send(Message::Binary(message.into())).await?;
    }
    let (cpu_pct, by_process, fps, latency_ms) = measure.await??;
    // The canvas read back: the pattern's colours where the tile shows them.
    tx.send(Message::Text("snap".into())).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    let canvas = loop {
        if let Some(c) = heard.lock().unwrap().canvas.take() {
            break c;
        }
        if Instant::now() > deadline {
            bail!("the page did not send its canvas");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    reader.abort();
    let errors = std::mem::take(&mut heard.lock().unwrap().errors);
    if !errors.is_empty() {
        bail!("the page said: {errors:?}");
    }
    let (tw, th) = case.tile;
    let window = heard.lock().unwrap().window;
    if window.0 < tw || window.1 < th {
        bail!("the page's window is {window:?}: a {tw}x{th} tile is not wholly on it");
    }
    if canvas.len() != (tw * th * 4) as usize {
        bail!("a canvas of {} bytes for {tw}x{th}", canvas.len());
    }
    let reading = pattern::read_with(tw, th, |x, y| {
        let i = ((y * tw + x) * 4) as usize;
        canvas.get(i..i + 3).map(|p| [p[0], p[1], p[2]])
    });
    Ok(Outcome {
        cpu_pct,
        by_process,
        fps,
        latency_ms,
        reading,
    })
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}

fn main() -> Result<()> {
    let args = Args::parse();
    if let Some(port) = args.native_port {
        let (w, h) = args
            .native_tile
            .split_once('x')
            .and_then(|(w, h)| Some((w.parse().ok()?, h.parse().ok()?)))
            .context("--native-tile is WIDTHxHEIGHT")?;
        let layer = if args.native_under {
            native::Layer::Under
        } else {
            native::Layer::Over
        };
        return native::run(port, (w, h), layer);
    }
    tokio::runtime::Runtime::new()?.block_on(measure(&args))
}

async fn measure(args: &Args) -> Result<()> {
    // Ctrl-C ends the runs (and so their browsers) before the process:
    // the browser's process group does not get the terminal's signal.
    tokio::select! {
        r = bench(args) => r,
        _ = tokio::signal::ctrl_c() => bail!("interrupted"),
    }
}

async fn bench(args: &Args) -> Result<()> {
    let cases = [
        // A tile in a grid: the app halves the picture to it.
        Case {
            stream: (640, 360),
            tile: (320, 180),
        },
        Case {
            stream: (640, 360),
            tile: (640, 360),
        },
        // One person, the window large: the full layer.
        Case {
            stream: (1280, 720),
            tile: (1280, 720),
        },
    ];
    println!(
        "frames to the page: one VP8 stream at {FPS} fps drawn on a canvas, {} s each after {} s",
        args.seconds, args.settle
    );
    println!(
        "{:>9} {:>9} | {:>9} | {:>6} {:>6} {:>6} | {:>6} | by process",
        "stream", "tile", "path", "cpu %", "fps", "p50 ms", "colours"
    );
    if let Some(n) = args
        .paths
        .iter()
        .find(|n| !ALL.iter().any(|p| p.name() == *n))
    {
        bail!("no path {n}: the paths are rgba, i420, webgl, webcodecs, native and native-under");
    }
    let mut last = Vec::new();
    for case in cases {
        let frames = encode(case)?;
        let mut row = Vec::new();
        for path in ALL
            .into_iter()
            .filter(|p| args.paths.iter().any(|n| n == p.name()))
        {
            let o = match run(path, case, &frames, args).await {
                // Said as a result: a webview may offer no WebGL.
                Err(e) if path == Path::WebGl && format!("{e:#}").contains("no webgl") => {
                    println!(
                        "{:>9} {:>9} | {:>9} | not offered by this webview",
                        format!("{}x{}", case.stream.0, case.stream.1),
                        format!("{}x{}", case.tile.0, case.tile.1),
                        path.name()
                    );
                    row.push((path, None));
                    continue;
                }
                o => o?,
            };
            let split: Vec<String> = o
                .by_process
                .iter()
                .map(|(n, c)| format!("{n} {c:.1}"))
                .collect();
            println!(
                "{:>9} {:>9} | {:>9} | {:>6.1} {:>6.1} {:>6} {:>6} | {} (p95 {} ms)",
                format!("{}x{}", case.stream.0, case.stream.1),
                format!("{}x{}", case.tile.0, case.tile.1),
                path.name(),
                o.cpu_pct,
                o.fps,
                ms(median(&o.latency_ms)),
                if o.reading.colours_match() {
                    "ok"
                } else {
                    "WRONG"
                },
                split.join(", "),
                ms(p95(&o.latency_ms)),
            );
            if !o.reading.colours_match() {
                if path == Path::NativeUnder {
                    // Said as a result: a webview may paint the part it
                    // leaves transparent over what is under it.
                    println!(
                        "{:>9} {:>9} | {:>9} | the webview hid the picture (read {:?})",
                        "",
                        "",
                        path.name(),
                        o.reading.colours
                    );
                    row.push((path, None));
                    continue;
                }
                bail!("{} drew the pattern wrong: {:?}", path.name(), o.reading);
            }
            row.push((path, Some(o.cpu_pct)));
        }
        last = row;
    }
    println!(
        "(cpu: this process, which decodes and halves on the rgba, i420 and webgl paths (and converts \
         to RGBA on the first) and only forwards on the webcodecs and native ones, plus MiniBrowser \
         and its WebKit processes, or on the native path the window that decodes, halves, converts \
         and paints, with its webview's processes; Xvfb shown, not counted. p50: arrived → drawn, as the page acknowledges \
         each picture)"
    );
    let Some((_, Some(rgba))) = last.iter().find(|(p, _)| *p == Path::Rgba) else {
        println!("(no ratios: rgba was not run)");
        return Ok(());
    };
    for (path, cpu) in last.iter().filter(|(p, _)| *p != Path::Rgba) {
        match cpu {
            Some(c) => println!(
                "frames: {}/rgba cpu ratio {:.2} at 1280x720",
                path.name(),
                c / rgba
            ),
            None => println!(
                "frames: {}/rgba cpu ratio – at 1280x720 (none: see its row)",
                path.name()
            ),
        }
    }
    Ok(())
}
