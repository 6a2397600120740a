//! `scripts/bench video`: what receiving video costs, and how late it is
//! drawn, beside LiveKit's Python SDK receiving the same streams in the
//! same run.
//!
//! For each count N, N Python peers publish the test pattern (VP8, one layer
//! of 640x360 at 30 fps, so both clients get the same pictures whatever
//! their size on screen), each frame's hand-over to the SDK stamped on the
//! wall clock by its number. The app (optimised build, run by scripts/bench)
//! joins in a real window and draws every stream in its tile; once all
//! draw and it has settled, the app and its WebKit processes are sampled,
//! and every frame put on a canvas meanwhile is stamped with the number its
//! pixels show; where the window draws the pictures over the page (Linux),
//! it counts those it paints, and after the sampling each tile's number is
//! read from the display every 2 ms for 5 s and stamped as it changes. It
//! leaves; the Python SDK joins the same room as a headless
//! client (decoding every stream to RGBA and reading its number, drawing
//! nothing) and is sampled for the same time. Latency: a frame's number
//! read where it arrived, minus the time its publisher handed that number
//! over (one clock: every process is on this machine). With N = 0 (in the
//! default counts) both clients are measured in a call with no video, and
//! what video adds to each is printed beside the totals. Run under Xvfb
//! and a session bus (scripts/bench does that).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Parser;
use rtcstack_testbench::app::AppSession;
use rtcstack_testbench::peer::{PeerEvent, PeerOptions, PythonPeer};
use rtcstack_testbench::pulse::PulseServer;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::stats::{median, p95};
use rtcstack_testbench::usage;
use serde_json::{json, Value};

#[derive(Parser)]
struct Args {
    /// Numbers of streams received (0: the call alone, without video, so
    /// that what video adds to each client can be read apart from it).
    #[arg(long, value_delimiter = ',', default_values_t = [0usize, 1, 4])]
    streams: Vec<usize>,
    /// Seconds measured per client, after it settled.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Seconds a client settles, all streams drawn, before it is measured.
    #[arg(long, default_value_t = 5)]
    settle: u64,
}

/// Reads the frame number from every picture the page puts on a canvas,
/// as tests/src/pattern.rs reads it (the bottom quarter's 16 cells), and
/// stamps it on the wall clock: [track, number, ms since the epoch].
const CANVAS_HOOK: &str = r#"
const log = [];
window.__benchFrames = log;
const put = CanvasRenderingContext2D.prototype.putImageData;
CanvasRenderingContext2D.prototype.putImageData = function (img, ...rest) {
  put.call(this, img, ...rest);
  const t = performance.timeOrigin + performance.now();
  const { width: w, height: h, data: d } = img;
  const y = Math.floor((3 * h) / 4);
  let n = 0;
  for (let bit = 0; bit < 16; bit++) {
    const i = (y * w + Math.floor(((2 * bit + 1) * w) / 32)) * 4;
    n = (n << 1) | ((d[i] + d[i + 1] + d[i + 2]) / 3 > 128 ? 1 : 0);
  }
  const figure = this.canvas.closest("figure");
  log.push([figure ? figure.dataset.track : "", n, t]);
};
return true;
"#;

/// One client receiving N streams.
#[derive(Debug, Clone, Default)]
struct Side {
    cpu_pct: f64,
    peak_mib: f64,
    /// Its CPU by process (ours: the app, WebKit's web and network
    /// processes), largest first.
    by_process: Vec<(String, f64)>,
    /// Frames a second per stream, over the measured time.
    fps: f64,
    /// Publisher's hand-over → drawn (ours) or decoded (Python), ms.
    latency_ms: Vec<f64>,
}

struct Row {
    streams: usize,
    ours: Side,
    python: Side,
}

/// The publishers of one count: each peer and its track.
struct Publishers {
    peers: Vec<PythonPeer>,
    /// Track sid → identity.
    tracks: HashMap<String, String>,
}

impl Publishers {
    async fn start(server: &LiveKitServer, room: &str, n: usize) -> Result<Self> {
        let mut peers = Vec::new();
        let mut tracks = HashMap::new();
        for i in 0..n {
            let mut peer = server
                .spawn_peer(PeerOptions::new(room, &format!("cam-{i}"), 0.0))
                .await?;
            let video = json!({"cmd": "video", "codec": "vp8", "width": 640, "height": 360,
                               "fps": 30, "simulcast": false});
            let e = ask(&mut peer, video, "video_published", Duration::from_secs(15)).await?;
            let sid = e.str("track_sid").context("video_published's track")?;
            tracks.insert(sid.to_string(), peer.identity().to_string());
            peers.push(peer);
        }
        Ok(Publishers { peers, tracks })
    }

    /// When each publisher handed each frame over, by identity, then by
    /// frame number (wall clock, ms).
    async fn sent(&mut self) -> Result<HashMap<String, Vec<f64>>> {
        let mut out = HashMap::new();
        for peer in &mut self.peers {
            let times = peer.video_sent().await?.iter().map(|s| s * 1e3).collect();
            out.insert(peer.identity().to_string(), times);
        }
        Ok(out)
    }

    async fn leave(self) {
        for peer in self.peers {
            let _ = peer.leave().await;
        }
    }
}

/// Sends `cmd` to `peer` and waits for its answer: the first `answer`
/// event after it.
async fn ask(
    peer: &mut PythonPeer,
    cmd: Value,
    answer: &str,
    within: Duration,
) -> Result<PeerEvent> {
    let mark = peer.mark();
    peer.send(cmd).await?;
    peer.wait_for_after(mark, answer, |e| e.kind() == answer, within)
        .await
}

/// The list `field` of a peer's event.
fn list<'a>(e: &'a PeerEvent, field: &str) -> Result<&'a Vec<Value>> {
    e.0.get(field)
        .and_then(Value::as_array)
        .with_context(|| format!("{} without its {field}", e.kind()))
}

/// Latencies of frames (sender, number, arrival ms) against the senders'
/// hand-over times; numbers the sender never stamped are left out.
fn latencies(frames: &[(String, u64, f64)], sent: &HashMap<String, Vec<f64>>) -> Vec<f64> {
    frames
        .iter()
        .filter_map(|(who, n, at)| Some(at - sent.get(who)?.get(*n as usize)?))
        .collect()
}

async fn js(app: &AppSession, script: &str) -> Result<Value> {
    Ok(app.client.execute(script, vec![]).await?)
}

/// Pictures the window has painted over the page so far.
async fn painted(app: &AppSession) -> Result<u64> {
    let answer = app.invoke("videos_painted", json!({})).await?;
    answer
        .get("ok")
        .and_then(Value::as_u64)
        .with_context(|| format!("videos_painted answered {answer}"))
}

/// Each tile's frame numbers as the display shows them, read every 2 ms
/// for `time` (one row of the pattern's number cells, 3/4 down the tile's
/// picture, as the canvas hook reads it), stamped on the wall clock when
/// the number changes: [identity, number, ms since the epoch].
async fn on_display(
    app: &AppSession,
    tracks: &HashMap<String, String>,
    time: Duration,
) -> Result<Vec<(String, u64, f64)>> {
    use x11rb::protocol::xproto::{ConnectionExt as _, ImageFormat};
    let boxes = js(
        app,
        "return [...document.querySelectorAll('[data-testid=video-tile]')].map((f) => { \
           const r = f.querySelector('canvas').getBoundingClientRect(), d = devicePixelRatio; \
           return [f.dataset.track, Math.round(r.x * d), Math.round(r.y * d), \
                   Math.round(r.width * d), Math.round(r.height * d)]; });",
    )
    .await?;
    let boxes: Vec<(String, i16, i16, u16, u16)> = serde_json::from_value(boxes)?;
    let window = rtcstack_testbench::app::window_id("RTCstack")?;
    let window = u32::from_str_radix(window.trim_start_matches("0x"), 16)?;
    let (conn, _) = x11rb::connect(None).context("connecting to the display")?;
    let mut last: HashMap<String, u64> = HashMap::new();
    let mut out = Vec::new();
    let end = Instant::now() + time;
    while Instant::now() < end {
        for (track, x, y, w, h) in &boxes {
            let Some(who) = tracks.get(track) else {
                continue;
            };
            // Wholly on screen only: a row below the fold reads nothing.
            let row = y + (3 * *h / 4) as i16;
            let Ok(image) = conn
                .get_image(ImageFormat::Z_PIXMAP, window, *x, row, *w, 1, !0)?
                .reply()
            else {
                continue;
            };
            let at = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)?
                .as_secs_f64()
                * 1000.0;
            let d = &image.data;
            let mut number = 0u64;
            for bit in 0..16usize {
                let i = ((2 * bit + 1) * usize::from(*w) / 32) * 4;
                let light = d
                    .get(i..i + 3)
                    .map_or(0, |p| p.iter().map(|&c| u32::from(c)).sum::<u32>() / 3);
                number = number << 1 | u64::from(light > 128);
            }
            // A change seen (the first reading of a tile is none).
            if last
                .insert(track.clone(), number)
                .is_some_and(|n| n != number)
            {
                out.push((who.clone(), number, at));
            }
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(out)
}

/// The app receiving `pubs`' streams.
async fn app_side(
    server: &LiveKitServer,
    room: &str,
    pubs: &mut Publishers,
    args: &Args,
) -> Result<Side> {
    let n = pubs.tracks.len();
    let app =
        AppSession::for_server(server, room, server.api_secret(), &[("RUST_LOG", "warn")]).await?;
    app.type_into("join-name", "Ada").await?;
    app.click("join-button").await?;
    let all_drawing = format!(
        "const t = [...window.__rtcstackTiles.values()]; \
         return t.length === {n} && t.every((x) => x.drawn > 0 || x.figure.dataset.way === 'native');"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while js(&app, &all_drawing).await?.as_bool() != Some(true) {
        if Instant::now() > deadline {
            bail!("the app did not draw all {n} streams within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let pid = app.app_pid().context("the app's process")?;
    // The app and its WebKit processes (web content, network).
    let pids = usage::tree(pid);
    js(&app, CANVAS_HOOK).await?;
    let p0 = painted(&app).await?;
    let (usage::Cost { cpu_pct, peak_mib }, by_process) =
        usage::cost_by_name(&pids, args.seconds).await?;
    let by_window = painted(&app).await? - p0;
    let log = js(
        &app,
        "const l = window.__benchFrames; window.__benchFrames = []; return l;",
    )
    .await?;
    let mut frames: Vec<(String, u64, f64)> = log
        .as_array()
        .context("the page's frame log")?
        .iter()
        .filter_map(|f| {
            let who = pubs.tracks.get(f.get(0)?.as_str()?)?;
            Some((who.clone(), f.get(1)?.as_u64()?, f.get(2)?.as_f64()?))
        })
        .collect();
    // Pictures the window drew over the page (Linux): counted by it, and
    // their numbers read from the display apart, after the measuring (the
    // reading costs the display server).
    let fps = per_stream(frames.len() + by_window as usize, n, args.seconds);
    if by_window > 0 {
        frames = on_display(&app, &pubs.tracks, Duration::from_secs(args.seconds.min(5))).await?;
    }
    app.close().await?;
    let sent = pubs.sent().await?;
    Ok(Side {
        cpu_pct,
        peak_mib,
        by_process,
        fps,
        latency_ms: latencies(&frames, &sent),
    })
}

/// Frames a second per stream (0 with no streams).
fn per_stream(frames: usize, streams: usize, seconds: u64) -> f64 {
    if streams == 0 {
        return 0.0;
    }
    frames as f64 / streams as f64 / seconds as f64
}

/// LiveKit's Python SDK receiving the same streams.
async fn python_side(
    server: &LiveKitServer,
    room: &str,
    pubs: &mut Publishers,
    args: &Args,
) -> Result<Side> {
    let n = pubs.tracks.len();
    let mut opts = PeerOptions::new(room, "py-viewer", 440.0);
    opts.analyse = false;
    let mut peer = server.spawn_peer(opts).await?;
    for who in pubs.tracks.values() {
        peer.wait_for(
            &format!("{who}'s video"),
            |e| e.kind() == "video_seen" && e.str("identity") == Some(who),
            Duration::from_secs(30),
        )
        .await?;
    }
    tokio::time::sleep(Duration::from_secs(args.settle)).await;
    let pid = peer.pid().context("the Python client's process")?;
    peer.send(json!({"cmd": "video_log_start"})).await?;
    let usage::Cost { cpu_pct, peak_mib } = usage::cost(&[pid], args.seconds).await?;
    let e = ask(
        &mut peer,
        json!({"cmd": "video_log"}),
        "video_log",
        Duration::from_secs(10),
    )
    .await?;
    if peer.events().iter().any(|e| e.kind() == "disconnected") {
        bail!("the Python client left the room while measured");
    }
    let frames: Vec<(String, u64, f64)> = list(&e, "frames")?
        .iter()
        .filter_map(|f| {
            Some((
                f.get(0)?.as_str()?.to_string(),
                f.get(1)?.as_u64()?,
                f.get(2)?.as_f64()? * 1e3,
            ))
        })
        .collect();
    let _ = peer.leave().await;
    let sent = pubs.sent().await?;
    Ok(Side {
        cpu_pct,
        peak_mib,
        by_process: Vec::new(),
        fps: per_stream(frames.len(), n, args.seconds),
        latency_ms: latencies(&frames, &sent),
    })
}

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}

#[tokio::main]
async fn main() -> Result<()> {
    let mut args = Args::parse();
    // Ascending: the last row, the most streams, is the one summed up.
    args.streams.sort_unstable();
    args.streams.dedup();
    rtcstack_testbench::require_root("the video benchmark")?;
    if args.streams.iter().all(|&n| n == 0) {
        bail!("receive one stream at least");
    }
    let _pulse = PulseServer::start()?;
    let server = LiveKitServer::start().await?;
    let mut rows = Vec::new();
    for &n in &args.streams {
        let room = format!("bench-video-{n}");
        let mut pubs = Publishers::start(&server, &room, n).await?;
        let ours = app_side(&server, &room, &mut pubs, &args).await?;
        let python = python_side(&server, &room, &mut pubs, &args).await?;
        pubs.leave().await;
        eprintln!(
            "{n} streams: ours {:.1} % cpu, {:.1} fps; python {:.1} % cpu, {:.1} fps",
            ours.cpu_pct, ours.fps, python.cpu_pct, python.fps
        );
        rows.push(Row {
            streams: n,
            ours,
            python,
        });
    }

    println!();
    println!(
        "video bench: one client receiving N streams of 640x360 at 30 fps (VP8, one layer), \
         {} s each after {} s settled; one livekit-server, the same publishers for both clients",
        args.seconds, args.settle
    );
    println!(
        "{:>3} | {:>8} {:>8} {:>6} {:>8} {:>8} | {:>8} {:>8} {:>6} {:>8} {:>8}",
        "N",
        "ours cpu",
        "MiB",
        "fps",
        "p50 ms",
        "p95 ms",
        "py cpu",
        "MiB",
        "fps",
        "p50 ms",
        "p95 ms"
    );
    for r in &rows {
        let (o, p) = (&r.ours, &r.python);
        println!(
            "{:>3} | {:>7.1}% {:>8.1} {:>6.1} {:>8} {:>8} | {:>7.1}% {:>8.1} {:>6.1} {:>8} {:>8}",
            r.streams,
            o.cpu_pct,
            o.peak_mib,
            o.fps,
            ms(median(&o.latency_ms)),
            ms(p95(&o.latency_ms)),
            p.cpu_pct,
            p.peak_mib,
            p.fps,
            ms(median(&p.latency_ms)),
            ms(p95(&p.latency_ms)),
        );
    }
    println!(
        "(ours: the app with its WebKit processes, decoding, halving to the tile's size, converting, \
         drawing every stream in its tile (on Linux the window paints it over the page; elsewhere \
         the page, sent it over a loopback websocket, puts it on a canvas), publishing a microphone; \
         latency to the picture read on the display (to the frame put on the canvas where the page \
         draws: the screen shows it at the next repaint). python: livekit-python, decoding every \
         stream to RGBA and reading its number, drawing nothing, publishing a tone; latency to \
         the frame handed out. cpu in % of one core; MiB sums each process's own peak)"
    );
    // Where our cost goes: the app's own process (the engine, decoding,
    // the frames for the page, audio, and GTK's side of the window) and
    // WebKit's.
    for r in &rows {
        let split: Vec<String> = r
            .ours
            .by_process
            .iter()
            .map(|(name, cpu)| format!("{name} {cpu:.1}%"))
            .collect();
        println!("ours at {} by process: {}", r.streams, split.join(", "));
    }
    // What video adds to each client, over its call without video, in
    // the same run (the publishers publish video only: their presence is
    // all else that differs).
    if let Some(alone) = rows.iter().find(|r| r.streams == 0) {
        for r in rows.iter().filter(|r| r.streams > 0) {
            let (ours, python) = (
                r.ours.cpu_pct - alone.ours.cpu_pct,
                r.python.cpu_pct - alone.python.cpu_pct,
            );
            // (Either may come out at or under nothing in a noisy run.)
            let ratio = if python > 0.0 {
                format!("{:.2}", ours / python)
            } else {
                "–".into()
            };
            println!(
                "video's own cost at {}: ours {ours:+.1}% (over {:.1}% without video), \
                 livekit-python {python:+.1}% (over {:.1}%), ratio {ratio}",
                r.streams, alone.ours.cpu_pct, alone.python.cpu_pct,
            );
        }
    }
    let last = rows.last().context("no rows")?;
    println!(
        "video-cpu: ours/livekit-python ratio {:.2}",
        last.ours.cpu_pct / last.python.cpu_pct
    );
    println!(
        "video-latency: p50 {} p95 {}",
        ms(median(&last.ours.latency_ms)),
        ms(p95(&last.ours.latency_ms))
    );
    Ok(())
}
