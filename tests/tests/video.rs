//! Video against a real livekit-server and LiveKit's own Python SDK
//! (`scripts/test video`): the peer publishes a generated pattern (colour
//! blocks and its frame number drawn into every frame) and our engine
//! decodes it. Needs root for the server's namespace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use livekit_protocol as proto;
use rtcstack::video::camera::{Camera, CameraError, CameraInfo, CameraService};
use rtcstack::video::{SendCodec, VideoFormat, VideoInput, VideoSource, VideoView};
use rtcstack::{CallEvent, CallOptions};
use rtcstack_bot_audio::wav::WavInput;
use rtcstack_testbench::client::join_configured;
use rtcstack_testbench::engine_log;
use rtcstack_testbench::frame_watch::{judge, FrameWatch, Seen};
use rtcstack_testbench::netns::Netem;
use rtcstack_testbench::pattern::PatternSource;
use rtcstack_testbench::peer::{PeerEvent, PeerOptions, PythonPeer};
use rtcstack_testbench::rig::Rig;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::test_camera::{Layout, PipeWire, TestCamera, WEBCAM_ID, WEBCAM_NAME};
use rtcstack_testbench::tokens::TokenSpec;
use rtcstack_testbench::tone_watch::{carries_tone, FRAME_SAMPLES};
use rtcstack_testbench::video_seen::{
    decoded_at, decoded_whole, listed_muted, of_track, peer_sees, peer_sees_after,
};
use serde_json::json;

const SECS: fn(u64) -> Duration = Duration::from_secs;
/// A lossy path: 5 % of packets lost each way, 40 ± 30 ms of delay
/// (reordered, late and missing packets).
const LOSSY: Netem = Netem {
    loss_percent: 5.0,
    delay_ms: 40,
    jitter_ms: 30,
};
/// How long decoding is judged, once frames flow.
const WINDOW: Duration = Duration::from_secs(5);

/// A call as "rust-viewer" whose decoded video lands in the returned
/// watch, and the Python peer "py-cam" in the same room.
struct Viewing {
    server: LiveKitServer,
    peer: PythonPeer,
    call: rtcstack::Call,
    watch: Arc<FrameWatch>,
}

impl Viewing {
    async fn start(room: &str) -> Viewing {
        Self::start_with_tone(room, 0.0).await
    }

    /// The same, the peer sending a tone of `hz` (0: silence).
    async fn start_with_tone(room: &str, hz: f64) -> Viewing {
        let server = LiveKitServer::start().await.unwrap();
        let peer = server
            .spawn_peer(PeerOptions::new(room, "py-cam", hz))
            .await
            .unwrap();
        let (call, watch) = watching(&server, room).await;
        Viewing {
            server,
            peer,
            call,
            watch,
        }
    }
}

/// A call of ours as "rust-viewer" in `room`, its decoded video landing
/// in the returned watch.
async fn watching(server: &LiveKitServer, room: &str) -> (rtcstack::Call, Arc<FrameWatch>) {
    let watch = Arc::new(FrameWatch::new());
    let call = viewing_into(server, room, Arc::clone(&watch) as _).await;
    (call, watch)
}

/// A call of ours as "rust-viewer" in `room`, its remote video going to
/// `sink`.
async fn viewing_into(
    server: &LiveKitServer,
    room: &str,
    sink: Arc<dyn rtcstack::video::VideoSink>,
) -> rtcstack::Call {
    let (call, _audio, _events) = join_configured(
        server,
        &TokenSpec::join(room, "rust-viewer"),
        |o: &mut CallOptions| o.video_sink = sink,
    )
    .await
    .unwrap();
    call
}

/// Has `peer` publish the pattern as `video` says; returns its track sid.
async fn peer_publishes(peer: &mut PythonPeer, video: serde_json::Value) -> String {
    let mut cmd = video;
    cmd["cmd"] = "video".into();
    peer.send(cmd).await.unwrap();
    let published = peer
        .wait_for(
            "video_published",
            |e| e.kind() == "video_published",
            SECS(10),
        )
        .await
        .unwrap();
    published.str("track_sid").unwrap_or_default().to_string()
}

/// How the frame numbers we decode are judged.
enum Numbers {
    /// Increasing, at most 5 % missing.
    InOrder,
    /// The pictures LiveKit's own SDK (a second Python client in the room,
    /// "py-view") decodes from the same stream: for VP9, whose stream as
    /// the peer sends it leaves some of the number's cells unchanged for a
    /// few pictures (the numbers read go back; the Python SDK reads the
    /// same, so it is in the stream, not in a decoder).
    AsLiveKitDecodes,
}

/// The peer publishes 640x360 at 30 fps in `codec`; we decode at least
/// 25 fps over the window, every frame in the pattern's colours, and the
/// frame numbers as `numbers` says.
async fn decodes_the_peers_pattern(codec: &str, numbers: Numbers) {
    decodes_the_peers_frames(codec, numbers, false).await
}

/// The same, each frame with frame metadata (`metadata`): LiveKit's
/// packet trailer after the frame, which the server forwards to clients
/// that say they take it and strips for the others.
async fn decodes_the_peers_frames(codec: &str, numbers: Numbers, metadata: bool) {
    let room = format!("video-{codec}{}", if metadata { "-metadata" } else { "" });
    let Viewing {
        server,
        mut peer,
        call,
        watch,
    } = Viewing::start(&room).await;
    let viewer = match numbers {
        Numbers::InOrder => None,
        Numbers::AsLiveKitDecodes => {
            let mut v = server
                .spawn_peer(PeerOptions::new(&room, "py-view", 0.0))
                .await
                .unwrap();
            v.send(json!({"cmd": "video_log_start"})).await.unwrap();
            v.wait_for("logging", |e| e.kind() == "video_logging", SECS(10))
                .await
                .unwrap();
            Some(v)
        }
    };
    let asked = Instant::now();
    peer_publishes(
        &mut peer,
        json!({"codec": codec, "width": 640, "height": 360, "fps": 30, "metadata": metadata}),
    )
    .await;

    // The first frame, then a settling second (the sender's bandwidth
    // estimate ramps up to the full layer), then the window.
    let deadline = Instant::now() + SECS(10);
    while watch.count("py-cam") == 0 {
        assert!(
            Instant::now() < deadline,
            "no {codec} frame decoded within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let first = asked.elapsed();
    tokio::time::sleep(SECS(1)).await;
    let from = Instant::now();
    tokio::time::sleep(WINDOW).await;
    let frames = watch.since("py-cam", from);
    let j = judge(&frames, WINDOW.as_secs_f64());
    eprintln!(
        "{codec}: first frame {first:?} after asking; {} frames in {WINDOW:?} = {:.1} fps, \
         {} of {} numbers missing ({:.1} %), {} out of order, {} repeated, {} off colour \
         (worst {}), sizes {:?}",
        j.frames,
        j.fps,
        j.missing,
        j.span,
        100.0 * j.missing_share(),
        j.out_of_order,
        j.repeated,
        j.off_colour,
        j.worst,
        j.sizes
    );
    assert!(j.fps >= 25.0, "{codec}: {:.1} fps decoded", j.fps);
    match viewer {
        None => {
            assert!(
                j.missing_share() <= 0.05,
                "{codec}: {} of {} frames missing",
                j.missing,
                j.span
            );
            assert_eq!(
                j.out_of_order, 0,
                "{codec}: frame numbers went back: {:?}",
                j.out_of_order_pairs
            );
            // A picture the sender encoded twice is shown twice; more than
            // a few would be ours.
            assert!(j.repeated <= 2, "{codec}: {} frames repeated", j.repeated);
        }
        Some(mut viewer) => {
            let theirs = viewer_numbers(&mut viewer).await;
            let ours: Vec<u32> = frames.iter().map(|f| f.reading.number).collect();
            let common = common_run(&ours, &theirs);
            eprintln!(
                "{codec}: of our {} pictures, {common} in LiveKit's own decoder's {} in the \
                 same order; numbers going back: ours {}, theirs {}",
                ours.len(),
                theirs.len(),
                j.out_of_order,
                theirs.windows(2).filter(|w| w[1] < w[0]).count(),
            );
            assert!(
                common as f64 >= 0.95 * ours.len() as f64,
                "{codec}: only {common} of our {} pictures are LiveKit's own decoder's \
                 (ours {ours:?}, theirs {theirs:?})",
                ours.len()
            );
            viewer.leave().await.unwrap();
        }
    }
    assert_eq!(
        j.off_colour, 0,
        "{codec}: frames off the pattern's colours (worst channel off by {})",
        j.worst
    );
    assert!(
        j.sizes.contains(&(640, 360)),
        "{codec}: never the full 640x360 layer: {:?}",
        j.sizes
    );
    call.leave().await;
    peer.leave().await.unwrap();
}

/// The frame numbers "py-view" read from py-cam's video since it began
/// logging.
async fn viewer_numbers(viewer: &mut PythonPeer) -> Vec<u32> {
    viewer.send(json!({"cmd": "video_log"})).await.unwrap();
    let log = viewer
        .wait_for("the viewer's log", |e| e.kind() == "video_log", SECS(10))
        .await
        .unwrap();
    log.0["frames"]
        .as_array()
        .expect("a log of frames")
        .iter()
        .filter(|f| f[0] == "py-cam")
        .filter_map(|f| f[1].as_u64())
        .map(|n| n as u32)
        .collect()
}

/// How many of `ours` appear in `theirs` in the same order (the longest
/// common subsequence): the same pictures, where a decoder that showed
/// others (older ones, or the right ones where the stream has old ones)
/// would fall short.
fn common_run(ours: &[u32], theirs: &[u32]) -> usize {
    let mut row = vec![0usize; theirs.len() + 1];
    for a in ours {
        let mut diagonal = 0;
        for (j, b) in theirs.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if a == b {
                diagonal + 1
            } else {
                above.max(row[j])
            };
            diagonal = above;
        }
    }
    row[theirs.len()]
}

#[test]
fn common_run_counts_pictures_in_the_same_order() {
    assert_eq!(common_run(&[1, 2, 3], &[0, 1, 2, 3, 4]), 3);
    assert_eq!(common_run(&[3, 2, 1], &[1, 2, 3]), 1);
    assert_eq!(common_run(&[5, 3, 6], &[5, 3, 4, 6]), 3);
    assert_eq!(common_run(&[5, 4, 6], &[5, 3, 6]), 2);
    assert_eq!(common_run(&[], &[1]), 0);
}

#[tokio::test]
async fn vp8_from_livekit_python_is_decoded_whole() {
    decodes_the_peers_pattern("vp8", Numbers::InOrder).await;
}

/// The peer publishes in AV1, which we neither decode nor offer: the
/// server says it cannot send it to us (a subscription error), and the
/// call marks the track so, naming its codec; nothing of it is decoded.
#[tokio::test]
async fn a_track_in_a_codec_we_cannot_decode_is_marked_so() {
    let room = "video-av1";
    let Viewing {
        server: _server,
        mut peer,
        call,
        watch,
    } = Viewing::start(room).await;
    let sid = peer_publishes(
        &mut peer,
        json!({"codec": "av1", "width": 640, "height": 360, "fps": 30}),
    )
    .await;
    let asked = Instant::now();
    let track = |call: &rtcstack::Call| {
        call.participants()
            .into_iter()
            .flat_map(|p| p.tracks)
            .find(|t| t.sid == sid)
    };
    let deadline = asked + SECS(10);
    let marked = loop {
        match track(&call) {
            Some(t) if t.unsupported => break t,
            seen => assert!(
                Instant::now() < deadline,
                "not marked within 10 s: {seen:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    eprintln!(
        "marked {:?} after it was published: {marked:?}",
        asked.elapsed()
    );
    assert_eq!(marked.codec, "AV1");
    tokio::time::sleep(SECS(1)).await;
    assert_eq!(watch.count("py-cam"), 0, "a picture of it was decoded");
    call.leave().await;
}

#[tokio::test]
async fn h264_from_livekit_python_is_decoded_whole() {
    decodes_the_peers_pattern("h264", Numbers::InOrder).await;
}

/// A sink that takes the peer's frames as they came while `way` says so,
/// and decoded otherwise (into its watch).
struct EncodedWatch {
    way: std::sync::Mutex<rtcstack::video::Delivery>,
    /// Each frame as it came: (arrived, key, data).
    encoded: std::sync::Mutex<Vec<(Instant, bool, Vec<u8>)>>,
    decoded: FrameWatch,
}

impl rtcstack::video::VideoSink for EncodedWatch {
    fn on_frame(&self, from: &rtcstack::video::RemoteVideo, frame: &rtcstack::video::VideoFrame) {
        self.decoded.on_frame(from, frame);
    }

    fn delivery(
        &self,
        _: &rtcstack::video::RemoteVideo,
        _: rtcstack::video::VideoCodec,
    ) -> rtcstack::video::Delivery {
        use rtcstack::video::Delivery;
        let mut way = self.way.lock().unwrap();
        let now = *way;
        // Starting again is said once.
        if now == Delivery::EncodedFromKey {
            *way = Delivery::Encoded;
        }
        now
    }

    fn on_encoded(&self, _: &rtcstack::video::RemoteVideo, frame: &rtcstack::video::EncodedVideo) {
        assert_eq!(frame.codec, rtcstack::video::VideoCodec::Vp8);
        self.encoded
            .lock()
            .unwrap()
            .push((Instant::now(), frame.key, frame.data.to_vec()));
    }
}

impl EncodedWatch {
    fn count(&self) -> usize {
        self.encoded.lock().unwrap().len()
    }

    async fn wait_for(&self, what: &str, within: Duration, done: impl Fn(&Self) -> bool) {
        let deadline = Instant::now() + within;
        while !done(self) {
            assert!(Instant::now() < deadline, "no {what} within {within:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The peer's VP8 handed over as it came (for a decoder of the sink's
/// own, the webview's): from a key frame on, every frame in order, none
/// decoded here meanwhile; decoded by libvpx in the test, each is the
/// pattern in its colours, numbers increasing, at most 5 % missing. A sink
/// that lost its place gets a key frame next (asked of the peer), within
/// a second; taken back to decoded frames, the engine decodes again from
/// a key frame, within a second.
#[tokio::test]
async fn the_peers_vp8_is_handed_over_as_it_came_from_a_key_frame_on() {
    use rtcstack::video::Delivery;
    let room = "video-encoded";
    let server = LiveKitServer::start().await.unwrap();
    let mut peer = server
        .spawn_peer(PeerOptions::new(room, "py-cam", 0.0))
        .await
        .unwrap();
    let watch = Arc::new(EncodedWatch {
        way: std::sync::Mutex::new(Delivery::Encoded),
        encoded: Default::default(),
        decoded: FrameWatch::new(),
    });
    let call = viewing_into(&server, room, Arc::clone(&watch) as _).await;
    peer_publishes(
        &mut peer,
        json!({"codec": "vp8", "width": 640, "height": 360, "fps": 30, "simulcast": false}),
    )
    .await;
    watch
        .wait_for("3 s of frames", SECS(15), |w| w.count() >= 90)
        .await;
    assert_eq!(watch.decoded.count("py-cam"), 0, "decoded here too");
    let frames: Vec<_> = watch.encoded.lock().unwrap().clone();
    assert!(frames[0].1, "the first is no key frame");
    let mut decoder = rtcstack_vpx::Decoder::new(rtcstack_vpx::Codec::Vp8).unwrap();
    let seen: Vec<Seen> = frames
        .iter()
        .map(|(at, _, data)| {
            let frame = rtcstack_testbench::vpx_frames::decode(&mut decoder, data).unwrap();
            Seen {
                at: *at,
                width: frame.width,
                height: frame.height,
                reading: rtcstack_testbench::pattern::read(&frame),
            }
        })
        .collect();
    let seconds = (seen[seen.len() - 1].at - seen[0].at).as_secs_f64();
    let j = judge(&seen, seconds);
    eprintln!("handed over as they came: {j:?}");
    assert_eq!(j.off_colour, 0, "{j:?}");
    assert_eq!(j.out_of_order, 0, "{j:?}");
    assert!(j.missing_share() <= 0.05, "{j:?}");

    // Its place lost: a key frame next.
    let before = watch.count();
    let asked = Instant::now();
    *watch.way.lock().unwrap() = Delivery::EncodedFromKey;
    watch
        .wait_for("frame after starting again", SECS(1), |w| {
            w.count() > before
        })
        .await;
    let (at, key, _) = watch.encoded.lock().unwrap()[before].clone();
    assert!(key, "a delta frame after starting again");
    eprintln!("a key frame {:?} after starting again", at - asked);

    // Decoded here again, from a key frame.
    let asked = Instant::now();
    *watch.way.lock().unwrap() = Delivery::Decoded;
    watch
        .wait_for("decoded frame", SECS(1), |w| w.decoded.count("py-cam") > 0)
        .await;
    eprintln!("decoded again {:?} after", asked.elapsed());
    watch
        .wait_for("10 decoded frames", SECS(2), |w| {
            w.decoded.count("py-cam") >= 10
        })
        .await;
    let decoded = watch.decoded.since("py-cam", asked);
    assert!(
        decoded.iter().all(|s| s.reading.colours_match()),
        "{decoded:?}"
    );
    call.leave().await;
    peer.leave().await.unwrap();
}

/// Our camera (the pattern, in three layers) with 5 % of packets lost each
/// way and 40 ± 30 ms of delay: LiveKit's Python SDK (on the server's side
/// of the link) still gets the full size, every report 640x360 (with any
/// loss over 2 % cut for, the full layer paused within 6 s and 320x180
/// came: seen; with the jitter read as a queue, the estimate fell to
/// 250 kbit/s within a second and 320x180 or 160x90 came: seen), in the
/// pattern's colours, at 20 fps or more. It decodes
/// 25.8–27.8 of our 30 pictures a second (12–14 % of the numbers skipped),
/// about as from its own SDK publishing over the same link (26.8–27.8 fps,
/// 8–12 % skipped): the skips come with loss on the way to the server.
#[tokio::test]
async fn under_loss_and_jitter_our_camera_reaches_the_peer_whole() {
    let Publishing {
        server, peer, call, ..
    } = pattern_decoded_whole_at_a_peer("video-loss-up").await;
    // Which rule cut, if the full size does not come.
    let _uplink = engine_log::keep(&["rtcstack::engine::send_video"]);
    server.link().unwrap().degrade(LOSSY).unwrap();
    tokio::time::sleep(SECS(2)).await;
    let seen = peer_sees_after(&peer, peer.mark(), "rust-cam", 8).await;
    server.link().unwrap().clear_degrade().unwrap();
    decoded_at(&seen, (640.0, 360.0), 20.0, 0.25, 0.0);
    call.leave().await;
}

/// From the peer's hand-over of each picture to its SDK to our decoder
/// (the first time each number is decoded), ms on the wall clock, sorted;
/// and the numbers decoded, in order.
async fn handed_over_to_decoded(peer: &mut PythonPeer, seen: &[Seen]) -> (Vec<u32>, Vec<f64>) {
    let sent = peer.video_sent().await.unwrap();
    // Our arrivals on the wall clock, as the peer stamps its hand-overs.
    let (wall, now) = (std::time::SystemTime::now(), Instant::now());
    let wall_s = wall
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    let mut numbers = Vec::new();
    let mut ms: Vec<f64> = seen
        .iter()
        .filter(|s| {
            let first = !numbers.contains(&s.reading.number);
            numbers.push(s.reading.number);
            first
        })
        .filter_map(|s| {
            let at = wall_s - (now - s.at).as_secs_f64();
            let handed = sent.get(s.reading.number as usize)?;
            Some((at - handed) * 1e3)
        })
        .collect();
    ms.sort_by(f64::total_cmp);
    (numbers, ms)
}

/// A shared screen at 2 pictures a second (a still slide, a document):
/// each picture is ours as soon as its last packet is in, not when the
/// next picture starts (rtc's sample builder waited for that, half a
/// second here: 502–504 ms from the peer's hand-over to our decoder,
/// seen). From hand-over to decoded, on one clock: p50 under 150 ms, none
/// over 350.
#[tokio::test]
async fn a_slow_screen_is_shown_as_soon_as_each_picture_is_in() {
    let Viewing {
        server: _server,
        mut peer,
        call,
        watch,
    } = Viewing::start("video-slow-screen").await;
    peer_publishes(
        &mut peer,
        json!({"codec": "vp8", "width": 640, "height": 360, "fps": 2,
               "screen": true, "simulcast": false}),
    )
    .await;
    watch
        .wait_until("py-cam", "a first picture", SECS(10), |_| true)
        .await;
    // The first pictures (a key frame, the estimate ramping) pass.
    tokio::time::sleep(SECS(2)).await;
    let from = Instant::now();
    tokio::time::sleep(SECS(5)).await;
    let seen = watch.since("py-cam", from);

    let (numbers, ms) = handed_over_to_decoded(&mut peer, &seen).await;
    eprintln!(
        "{} pictures in 5 s, numbers {numbers:?}; hand-over to decoded, ms: {:?}",
        seen.len(),
        ms.iter().map(|m| m.round()).collect::<Vec<_>>()
    );
    assert!(
        ms.len() >= 6,
        "{} pictures timed in 5 s at 2 a second",
        ms.len()
    );
    assert!(ms[0] > 0.0, "decoded before it was handed over: {ms:?}");
    let p50 = quantile(&ms, 0.5);
    assert!(p50 < 150.0, "hand-over to decoded p50 {p50:.0} ms: {ms:?}");
    assert!(
        ms[ms.len() - 1] < 350.0,
        "a picture took over 350 ms: {ms:?}"
    );
    call.leave().await;
    peer.leave().await.unwrap();
}

/// 5 % of packets lost each way, 40 ± 30 ms of delay (reordered, late and
/// missing packets; NACKs, their retransmissions and key frame requests
/// lost too): the peer's 640x360 at 30 fps still plays. Judged over 10 s:
/// pictures decoded, in the pattern's colours, and the longest freeze
/// (seen 183–399 ms: a lost packet's NACK or retransmission lost as well;
/// 420–506 ms with rtc's sample builder; with no NACK, 11.7 fps and
/// 1.5 s: watched fail). Hand-over to decoded is told, not bounded: p95
/// 162–232 ms asking for missing packets every 40 ms, 162–210 every 20,
/// 231–254 every 100.
#[tokio::test]
async fn under_loss_and_jitter_the_peers_video_keeps_playing() {
    let Viewing {
        server,
        mut peer,
        call,
        watch,
    } = Viewing::start("video-loss").await;
    peer_publishes(
        &mut peer,
        json!({"codec": "vp8", "width": 640, "height": 360, "fps": 30, "simulcast": false}),
    )
    .await;
    watch
        .wait_until("py-cam", "the full size", SECS(10), |s| s.width == 640)
        .await;
    server.link().unwrap().degrade(LOSSY).unwrap();
    tokio::time::sleep(SECS(2)).await;
    let from = Instant::now();
    tokio::time::sleep(SECS(10)).await;
    let seen = watch.since("py-cam", from);
    server.link().unwrap().clear_degrade().unwrap();
    let j = judge(&seen, 10.0);
    let (_, ms) = handed_over_to_decoded(&mut peer, &seen).await;
    let mut at = vec![from];
    at.extend(seen.iter().map(|s| s.at));
    at.push(Instant::now().min(from + SECS(10)));
    let longest = at
        .windows(2)
        .map(|w| w[1].saturating_duration_since(w[0]))
        .max()
        .unwrap_or_default();
    eprintln!(
        "under loss: {} pictures in 10 s ({:.1} fps), {} of {} numbers missing, {} out of \
         order, {} off colour (worst {}), longest without a picture {longest:?}; hand-over \
         to decoded p50 {:.0} ms, p95 {:.0}, p99 {:.0}, max {:.0}",
        j.frames,
        j.fps,
        j.missing,
        j.span,
        j.out_of_order,
        j.off_colour,
        j.worst,
        quantile(&ms, 0.5),
        quantile(&ms, 0.95),
        quantile(&ms, 0.99),
        ms[ms.len() - 1]
    );
    assert!(j.fps >= 25.0, "{:.1} fps under loss", j.fps);
    assert!(
        j.missing_share() <= 0.05,
        "{} of {} pictures missing under loss",
        j.missing,
        j.span
    );
    assert_eq!(j.off_colour, 0, "pictures off colour (worst {})", j.worst);
    assert!(
        longest <= Duration::from_millis(700),
        "{longest:?} without a picture"
    );
    call.leave().await;
    peer.leave().await.unwrap();
}

/// VP9 (profile 0, the Python SDK's libwebrtc encoder in flexible mode:
/// 320x180 and 640x360 spatial layers, three temporal ones; the lower
/// spatial layer is a reference only in key pictures, so the server
/// forwards it to us with those alone).
#[tokio::test]
async fn vp9_from_livekit_python_is_decoded_as_livekit_decodes_it() {
    decodes_the_peers_pattern("vp9", Numbers::AsLiveKitDecodes).await;
}

/// Frames that carry LiveKit's frame metadata (a user timestamp and a
/// frame id in a trailer after each frame): we do not say we take the
/// trailer, so the server strips it and our decoders get the frame alone.
/// (Said, as the signalling crate does by default, the trailer reached
/// libvpx, which refused every VP9 frame: none decoded in 10 s, seen.)
#[tokio::test]
async fn vp9_with_frame_metadata_is_decoded_as_livekit_decodes_it() {
    decodes_the_peers_frames("vp9", Numbers::AsLiveKitDecodes, true).await;
}

/// Adaptive stream: the peer publishes 720p in `codec` with the SDK's own
/// layers (smaller ones below the full size: simulcast streams for VP8,
/// spatial layers of one stream for VP9, as libwebrtc's SVC sends them); a
/// small tile gets a smaller layer, a hidden one no frames at all, and
/// showing it large again brings the full layer back.
async fn the_layer_follows_the_tile(codec: &str) {
    let room = &format!("video-adaptive-{codec}");
    let Viewing {
        server,
        mut peer,
        call,
        watch,
    } = Viewing::start(room).await;
    let sid = peer_publishes(
        &mut peer,
        json!({"codec": codec, "width": 1280, "height": 720, "fps": 15, "preset": true}),
    )
    .await;
    let full = |s: &Seen| (s.width, s.height) == (1280, 720);
    watch
        .wait_until("py-cam", "the full layer at first", SECS(10), full)
        .await;
    let listed = server.room_service().list_participants(room).await.unwrap();
    let layers: Vec<_> = listed
        .iter()
        .flat_map(|p| &p.tracks)
        .filter(|t| t.sid == sid)
        .flat_map(|t| &t.codecs)
        .flat_map(|c| &c.layers)
        .map(|l| (l.quality, l.width, l.height))
        .collect();
    eprintln!("{codec}: the peer's layers (quality, width, height): {layers:?}");

    let asked = Instant::now();
    call.show_video(
        &sid,
        VideoView::Shown {
            width: 160,
            height: 90,
            fps: None,
        },
    )
    .await;
    let small = watch
        .wait_until(
            "py-cam",
            "the smallest layer for a small tile",
            SECS(5),
            |s| s.at > asked && (s.width, s.height) == (320, 180),
        )
        .await;
    eprintln!(
        "{codec}: small tile: {}x{} after {:?}",
        small.width,
        small.height,
        small.at - asked
    );

    let asked = Instant::now();
    call.show_video(&sid, VideoView::Hidden).await;
    // Paused: frames stop (those in flight still land) and stay stopped.
    let deadline = asked + SECS(5);
    loop {
        let last = watch.latest("py-cam").unwrap().at;
        if last.elapsed() >= SECS(1) {
            eprintln!(
                "{codec}: hidden tile: last frame {:?} after asking",
                last - asked
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "frames still arriving 5 s after the tile was hidden"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let asked = Instant::now();
    call.show_video(
        &sid,
        VideoView::Shown {
            width: 1280,
            height: 720,
            fps: None,
        },
    )
    .await;
    let back = watch
        .wait_until(
            "py-cam",
            "the full layer when shown large again",
            SECS(5),
            |s| s.at > asked && full(s),
        )
        .await;
    eprintln!(
        "{codec}: shown again: full layer after {:?}",
        back.at - asked
    );
    call.leave().await;
    peer.leave().await.unwrap();
}

#[tokio::test]
async fn the_layer_follows_the_tile_and_a_hidden_tile_is_paused() {
    the_layer_follows_the_tile("vp8").await;
}

#[tokio::test]
async fn a_vp9_spatial_layer_follows_the_tile_and_a_hidden_tile_is_paused() {
    the_layer_follows_the_tile("vp9").await;
}

/// Our received audio's playout so far (20 ms frames played from packets or
/// rebuilt from the copy the next packet carried, and made up), and the
/// video's packets and bytes received, summed.
async fn received(call: &rtcstack::Call) -> ((u64, u64), (u64, u64)) {
    let counters = call.counters().await.unwrap();
    let inbound: Vec<_> = counters.inbound().cloned().collect();
    let audio = inbound
        .iter()
        .filter_map(|s| s.playout)
        .fold((0, 0), |(p, c), x| {
            (p + x.played + x.repaired, c + x.concealed)
        });
    let video = inbound
        .iter()
        .filter(|s| s.kind == "video")
        .fold((0, 0), |(n, b), s| (n + s.packets, b + s.bytes));
    (audio, video)
}

/// Our downlink held to 150 kbit/s (a token bucket, 16 KB of burst) under the peer's
/// 720p simulcast (1280x720 wanted: our tile is large) and its voice
/// (about 75 kbit/s on the wire). The server learns what our link carries
/// only from our REMB (LiveKit's default: no send-side estimate for
/// subscribers), which it spends on video alone, so the REMB is what the
/// voice leaves of our estimate of the link. The server sends layers that
/// fit: over 10 s the video at 75 kbit/s at most, pictures still coming
/// (at least 2 a second), the queue less than full (pings through it p50
/// under 600 ms; its 16 KB hold 850 ms), and the voice mostly whole at
/// our end (frames made up for lost ones under 10 %).
#[tokio::test]
async fn under_a_150_kbit_downlink_the_video_gives_way_and_keeps_coming() {
    let Viewing {
        server,
        mut peer,
        call,
        watch,
    } = Viewing::start_with_tone("video-downlink", 440.0).await;
    let _downlink = engine_log::keep(&["rtcstack::engine::receive_video"]);
    let sid = peer_publishes(
        &mut peer,
        json!({"codec": "vp8", "width": 1280, "height": 720, "fps": 30, "preset": true}),
    )
    .await;
    call.show_video(
        &sid,
        VideoView::Shown {
            width: 1280,
            height: 720,
            fps: None,
        },
    )
    .await;
    let full = |s: &Seen| (s.width, s.height) == (1280, 720);
    watch
        .wait_until("py-cam", "the full layer", SECS(10), full)
        .await;
    let (_, (_, before)) = received(&call).await;
    tokio::time::sleep(SECS(2)).await;
    let (_, (_, after)) = received(&call).await;
    eprintln!(
        "uncapped: the video at {} kbit/s",
        (after - before) * 8 / 2 / 1000
    );

    let link = server.link().unwrap();
    link.cap_downlink(150).unwrap();
    let capped = Instant::now();
    // The estimate falls and the server moves us down.
    let moved = watch
        .wait_until("py-cam", "a smaller layer", SECS(10), |s| {
            s.at > capped && !full(s)
        })
        .await;
    eprintln!(
        "the server moved us down: a smaller picture {:.1} s after the cap",
        (moved.at - capped).as_secs_f64()
    );
    tokio::time::sleep_until((capped + SECS(10)).into()).await;
    let ((played0, concealed0), (_, bytes0)) = received(&call).await;
    let from = Instant::now();
    // 10 s judged: LiveKit's probes fill the queue at times, and 5 s
    // held one or two of them or none.
    let rtts = pings(link.host_ip(), 100).await;
    tokio::time::sleep_until((from + SECS(10)).into()).await;
    let ((played1, concealed1), (_, bytes1)) = received(&call).await;
    let since = |a: u64, b: u64| b.checked_sub(a).expect("a counter went back");
    let (played, concealed) = (since(played0, played1), since(concealed0, concealed1));
    let video_kbps = since(bytes0, bytes1) * 8 / 10 / 1000;
    let frames = watch.since("py-cam", from);
    let j = judge(&frames, 10.0);
    let p50 = quantile(&rtts, 0.5);
    eprintln!(
        "capped: audio {played} frames played, {concealed} made up; video {} kbit/s, \
         {:.1} fps, sizes {:?}; pings p50 {p50:.0} ms, p95 {:.0} ms",
        video_kbps,
        j.fps,
        j.sizes,
        quantile(&rtts, 0.95)
    );
    // Without our REMB: 41 of 346 frames made up, no picture decoded,
    // pings p50 927 ms. With a REMB of the video's packets alone (0.85 of
    // what the video brought, the voice left out of what arrives), four
    // runs: pings p50 64–827 ms (over 700 in 3), 2.8–13.8 % made up;
    // with the voice counted and left out of the REMB, eight: video
    // 34–49 kbit/s, pings p50 0–439 ms, 2.8–8.7 % made up, 4.2–6.5 fps
    // (LiveKit's probes, and GCC's increase finding the limit again,
    // fill the queue at times: p95 766–946 ms). Sizes are told, not
    // bounded: LiveKit may spend the REMB on 1280x720 at its lowest frame
    // rate (about 60 kbit/s of this pattern; seen once), which fits.
    // Asking for a key frame again while one's packets were still coming
    // (a key frame takes longer than the asks' spacing here) kept the
    // stream in key frames: 0.8 and 1.6 fps in two of three runs.
    assert!(
        concealed as f64 <= 0.10 * (played + concealed) as f64,
        "{concealed} of {} audio frames made up",
        played + concealed
    );
    assert!(j.fps >= 2.0, "{:.1} fps under the cap", j.fps);
    assert!(
        video_kbps <= 75,
        "the video at {video_kbps} kbit/s under the cap"
    );
    assert!(p50 < 600.0, "the queue stood: pings p50 {p50:.0} ms");
    link.uncap_downlink().unwrap();
    call.leave().await;
    peer.leave().await.unwrap();
}

/// A 35 s cut (past the server's resume window: a rejoin, with a new
/// subscription and our tracks published again): video both ways again on
/// its own, the peer's at the layer the tile asked for before the cut, our
/// camera republished and decoded by the peer, and our shared screen,
/// paused before the cut, republished paused.
#[tokio::test]
async fn video_comes_back_both_ways_after_a_35_s_cut_as_it_was() {
    let room = "video-cut";
    let watch = Arc::new(FrameWatch::new());
    let sink = Arc::clone(&watch);
    let mut rig = Rig::start_with(room, &TokenSpec::join(room, "rust-880"), |o, _| {
        o.video_sink = sink
    })
    .await;
    let sid = peer_publishes(
        &mut rig.peer,
        json!({"codec": "vp8", "width": 1280, "height": 720, "fps": 15, "preset": true}),
    )
    .await;
    rig.call
        .publish_video(
            Box::new(PatternSource::new(640, 360, 15)),
            VideoSource::Camera,
        )
        .await
        .unwrap();
    peer_sees(&rig.peer, "rust-880", 1).await;
    // A shared screen, paused (muted) before the cut: it must come back
    // paused, as the camera comes back on.
    let screen_before = rig
        .call
        .publish_video(
            Box::new(PatternSource::new(640, 360, 5)),
            VideoSource::Screen,
        )
        .await
        .unwrap();
    rig.call.set_video_muted(VideoSource::Screen, true).await;
    let paused = our_screen_listed(&rig.server, room, |t| t.sid == screen_before && t.muted).await;
    assert!(
        paused.is_some(),
        "the screen not listed muted before the cut"
    );
    let small = |s: &Seen| (s.width, s.height) == (320, 180);
    rig.call
        .show_video(
            &sid,
            VideoView::Shown {
                width: 160,
                height: 90,
                fps: None,
            },
        )
        .await;
    watch
        .wait_until("py-440", "the small layer before the cut", SECS(10), small)
        .await;

    rig.server.link().unwrap().cut().unwrap();
    let cut_at = Instant::now();
    rig.wait_event("reconnecting", SECS(20), |e| {
        matches!(e, CallEvent::Reconnecting { .. })
    })
    .await;
    tokio::time::sleep(SECS(35).saturating_sub(cut_at.elapsed())).await;
    rig.server.link().unwrap().restore().unwrap();
    let restored = Instant::now();
    let mark = rig.peer.mark();
    rig.wait_event("reconnected", SECS(30), |e| {
        matches!(e, CallEvent::Reconnected { .. })
    })
    .await;
    let back = watch
        .wait_until(
            "py-440",
            "video after the rejoin, at the size asked before the cut",
            SECS(10),
            |s| s.at > restored && small(s),
        )
        .await;
    eprintln!(
        "video back {:?} after the restore, {}x{}",
        back.at - restored,
        back.width,
        back.height
    );
    // Our camera, republished by the rejoin, in the pattern's colours at
    // the peer.
    let ours = rig
        .peer
        .wait_for_after(
            mark,
            "our camera at the peer after the rejoin",
            |e| {
                e.kind() == "video_seen"
                    && e.str("identity") == Some("rust-880")
                    && e.f64("frames").is_some_and(|n| n >= 5.0)
                    && e.f64("off_colour") == Some(0.0)
            },
            SECS(20),
        )
        .await
        .unwrap();
    eprintln!(
        "our camera back at the peer: {} frames in {:.2} s, {}x{}",
        ours.f64("frames").unwrap_or(0.0),
        ours.f64("seconds").unwrap_or(0.0),
        ours.f64("width").unwrap_or(0.0),
        ours.f64("height").unwrap_or(0.0)
    );
    // The paused screen: published again by the rejoin (a new track),
    // listed muted, and not one of its pictures at the peer.
    let screen_after = our_screen_listed(&rig.server, room, |t| t.sid != screen_before)
        .await
        .expect("our screen not published again after the rejoin");
    assert!(
        screen_after.muted,
        "our screen came back unpaused: {screen_after:?}"
    );
    let screen_seen = rig.peer.events()[mark..]
        .iter()
        .filter(|e| of_track("video_seen", &screen_after.sid)(e))
        .filter(|e| e.f64("frames").is_some_and(|n| n > 0.0))
        .count();
    assert_eq!(
        screen_seen, 0,
        "the peer got pictures of our paused screen after the rejoin"
    );
    // Then at that size, and it stays so. The view goes with the rejoin,
    // before any media (the server keeps it for the track it will
    // subscribe us to), and again when the track comes; the server may
    // still forward its own first choice, a larger layer, until the view
    // takes: seen for 45 ms to 0.6 s. Without a view it would stay large.
    let settled = Instant::now() + SECS(3);
    tokio::time::sleep_until(settled.into()).await;
    let after: Vec<Seen> = watch.since("py-440", restored);
    let first = after.first().expect("pictures after the restore").at;
    let larger = after.iter().take_while(|s| !small(s)).count();
    eprintln!(
        "after the rejoin: {larger} larger pictures first, over {:?}",
        after
            .iter()
            .find(|s| small(s))
            .map_or(Duration::ZERO, |s| s.at - first)
    );
    let since: Vec<Seen> = watch.since("py-440", first + SECS(1));
    assert!(since.len() > 10, "{} frames after the rejoin", since.len());
    assert!(
        since.iter().all(small),
        "sizes from 1 s after the rejoin's first picture: {:?}",
        judge(&since, 2.0).sizes
    );
    rig.call.leave().await;
}

/// Our (`rust-880`'s) shared screen as the server lists it, once it lists
/// one that `pick` picks (within 10 s).
async fn our_screen_listed(
    server: &LiveKitServer,
    room: &str,
    pick: impl Fn(&proto::TrackInfo) -> bool,
) -> Option<proto::TrackInfo> {
    let deadline = Instant::now() + SECS(10);
    loop {
        let listed = server.room_service().list_participants(room).await.unwrap();
        let screen = listed
            .iter()
            .filter(|p| p.identity == "rust-880")
            .flat_map(|p| &p.tracks)
            .find(|t| t.source == proto::TrackSource::ScreenShare as i32 && pick(t));
        if screen.is_some() || Instant::now() > deadline {
            return screen.cloned();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// We publish the pattern through the camera interface (640x360, 30 fps,
/// simulcast) in `codec`; the server lists it in that codec with its three
/// layers; LiveKit's Python SDK decodes it whole (at least 25 fps, in the
/// pattern's colours, frame numbers increasing with at most 5 % skipped),
/// and gets a smaller picture when it asks for the low layer, going on
/// from where it was.
async fn our_camera_is_decoded_by_livekit_python_in(codec: SendCodec) {
    let room = match codec {
        SendCodec::Vp8 => "video-publish",
        SendCodec::H264 => "video-publish-h264",
    };
    let Publishing {
        server,
        mut peer,
        call,
        sid,
    } = decoded_whole_at_a_peer_in(
        room,
        Box::new(PatternSource::new(640, 360, 30)),
        (640.0, 360.0),
        codec,
    )
    .await;

    let listed = server.room_service().list_participants(room).await.unwrap();
    let codecs: Vec<_> = listed
        .iter()
        .flat_map(|p| &p.tracks)
        .filter(|t| t.sid == sid)
        .flat_map(|t| &t.codecs)
        .collect();
    let layers: Vec<(i32, u32, u32)> = codecs
        .iter()
        .flat_map(|c| &c.layers)
        .map(|l| (l.quality, l.width, l.height))
        .collect();
    let mimes: Vec<&str> = codecs.iter().map(|c| c.mime_type.as_str()).collect();
    eprintln!(
        "the server lists our track in {mimes:?}, layers (quality, width, height): {layers:?}"
    );
    let mime = match codec {
        SendCodec::Vp8 => "video/vp8",
        SendCodec::H264 => "video/h264",
    };
    assert!(
        mimes.len() == 1 && mimes[0].eq_ignore_ascii_case(mime),
        "{mimes:?}"
    );
    assert_eq!(layers, [(0, 160, 90), (1, 320, 180), (2, 640, 360)]);

    let mark = peer.mark();
    peer.send(json!({"cmd": "video_quality", "identity": "rust-cam", "quality": "low"}))
        .await
        .unwrap();
    let asked = Instant::now();
    let smaller = peer
        .wait_for_after(
            mark,
            "a smaller picture at the peer after it asked for the low layer",
            |e| {
                e.kind() == "video_seen"
                    && e.f64("width").is_some_and(|w| w < 640.0)
                    && e.f64("off_colour") == Some(0.0)
            },
            SECS(10),
        )
        .await
        .unwrap();
    eprintln!(
        "low layer: {}x{} at the peer within {:?}, {:?} pictures seen again at the switch",
        smaller.f64("width").unwrap_or(0.0),
        smaller.f64("height").unwrap_or(0.0),
        asked.elapsed(),
        smaller.f64("again_at_switch")
    );
    assert_eq!(
        (smaller.f64("width"), smaller.f64("height")),
        (Some(160.0), Some(90.0))
    );
    // The switch goes on from where the peer was: no older picture, and
    // none twice at the same size.
    assert_eq!(smaller.f64("backwards"), Some(0.0), "{smaller:?}");
    call.leave().await;
}

#[tokio::test]
async fn our_camera_is_decoded_by_livekit_python() {
    our_camera_is_decoded_by_livekit_python_in(SendCodec::Vp8).await;
}

#[tokio::test]
async fn our_camera_in_h264_is_decoded_by_livekit_python() {
    our_camera_is_decoded_by_livekit_python_in(SendCodec::H264).await;
}

/// A camera as a Linux desktop hands one to applications: a PipeWire video
/// source (the test bench's, in YUY2 as most webcams give, drawing the
/// pattern) in a real PipeWire with WirePlumber linking. It is listed by
/// its name; an unknown one is refused; opened asking for 1280x720, it
/// gives the 640x360 it offers; published, LiveKit's Python SDK decodes it
/// whole; unplugged, the camera says it has ended.
#[tokio::test]
async fn a_pipewire_camera_is_listed_opened_and_decoded_by_livekit_python() {
    let pipewire = PipeWire::start().unwrap();
    let service = CameraService::at(pipewire.runtime_dir().join("pipewire-0"));
    let device = TestCamera::webcam(&pipewire).unwrap();
    let listed = {
        let service = service.clone();
        tokio::task::spawn_blocking(move || Camera::list(&service))
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        listed,
        [CameraInfo {
            id: WEBCAM_ID.into(),
            name: WEBCAM_NAME.into()
        }]
    );
    let want = VideoFormat {
        width: 1280,
        height: 720,
        fps: 30,
    };
    let opened = {
        let service = service.clone();
        tokio::task::spawn_blocking(move || {
            let unknown = Camera::open(&service, "no-such-camera", want).err();
            (unknown, Camera::open(&service, WEBCAM_ID, want))
        })
        .await
        .unwrap()
    };
    assert_eq!(opened.0, Some(CameraError::NotFound));
    let camera = opened.1.unwrap();
    assert_eq!(
        camera.format(),
        VideoFormat {
            width: 640,
            height: 360,
            fps: 30
        }
    );
    let end = camera.end();
    let Publishing { call, .. } =
        decoded_whole_at_a_peer("video-pipewire-camera", Box::new(camera), (640.0, 360.0)).await;
    assert!(!end.has_ended());

    // Unplugged: the camera's node goes from PipeWire.
    let delivered = device.frames();
    let gone = Instant::now();
    drop(device);
    let ended = tokio::time::timeout(SECS(5), end.ended()).await;
    eprintln!(
        "the camera delivered {delivered} frames; its end seen {:?} after it went",
        gone.elapsed()
    );
    assert_eq!(ended, Ok(true), "the camera's end was not seen");
    call.leave().await;
}

/// Our uplink capped at 700 kbit/s behind a deep buffer (a token bucket
/// with 1 s of queue, as many home routers have) while we send 640x360
/// simulcast video with grain in every frame (it uses what it is given:
/// about 1 Mbit/s):
/// loss comes only once that second of queue is full, so a sender that
/// waits for loss has already made the call a second late. The
/// transport-wide estimate (GCC over the server's transport-wide
/// feedback) sees the queue grow and holds the rate under the cap: the
/// queue stays short (pings through it, sampled 10 s after the cap for
/// 10 s), and our video still arrives at the peer. The cap lifted, the
/// peer gets our full layer again.
#[tokio::test]
async fn behind_a_deep_buffer_the_uplink_keeps_its_queue_short() {
    let room = "video-deep-buffer";
    let rig = sending_grain(room).await;
    let link = rig.server.link().unwrap();
    link.cap_uplink_queued(700, 1_000).unwrap();
    tokio::time::sleep(SECS(10)).await;
    let mark = rig.peer.mark();
    let rtts = pings(link.host_ip(), 100).await;
    let at = |q: f64| quantile(&rtts, q);
    let video = our_video_since(&rig.peer, mark);
    eprintln!(
        "700 kbit/s behind 1 s of queue: ping through it p50 {:.0} ms, p95 {:.0} ms, max {:.0} ms \
         ({} answered); our video at the peer meanwhile (fps, width, height): {video:?}",
        at(0.5),
        at(0.95),
        at(1.0),
        rtts.len()
    );
    assert!(at(0.5) < 150.0, "the queue held {:.0} ms (p50)", at(0.5));
    assert!(
        video.iter().any(|(fps, _, _)| *fps >= 10.0),
        "our video stopped at the peer: {video:?}"
    );
    // The cap lifted: the estimate climbs again (nothing probes ahead of
    // it; the layer paused resumes as it grows) and the peer gets the full
    // layer back.
    let (lifted, at) = (rig.peer.mark(), Instant::now());
    link.uncap().unwrap();
    rig.peer
        .wait_for_after(
            lifted,
            "our full layer at the peer again after the cap was lifted",
            ours_at_width(640.0),
            SECS(30),
        )
        .await
        .unwrap();
    eprintln!(
        "the cap lifted: 640x360 at the peer again after {:?}",
        at.elapsed()
    );
    rig.call.leave().await;
}

/// A rig whose call sends 640x360 simulcast video with grain in every
/// frame (its encoders use what they are given), already seen by the peer.
async fn sending_grain(room: &str) -> Rig {
    let rig = Rig::start(room).await;
    rig.call
        .publish_video(
            Box::new(PatternSource::new(640, 360, 30).with_grain()),
            VideoSource::Camera,
        )
        .await
        .unwrap();
    peer_sees(&rig.peer, "rust-880", 1).await;
    rig
}

/// Whether a peer's event reports our video.
fn ours(e: &PeerEvent) -> bool {
    e.kind() == "video_seen" && e.str("identity") == Some("rust-880")
}

/// Whether a peer's event reports our video at `width`.
fn ours_at_width(width: f64) -> impl Fn(&PeerEvent) -> bool {
    move |e| ours(e) && e.f64("width") == Some(width)
}

/// Our video at the peer since `mark`, each report as (fps, width, height).
fn our_video_since(peer: &PythonPeer, mark: usize) -> Vec<(f64, f64, f64)> {
    video_since(peer, mark, ours)
}

/// Waits until our videos' payload has been under `kbps` for `seconds`
/// whole seconds on end (counted where packets leave us), within `within`.
async fn until_our_video_is_under(
    call: &rtcstack::Call,
    kbps: f64,
    seconds: u32,
    within: Duration,
) {
    let deadline = Instant::now() + within;
    let mut before = (Instant::now(), video_bytes_sent(call).await);
    let mut under = 0;
    while under < seconds {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = (Instant::now(), video_bytes_sent(call).await);
        let took = now.0.duration_since(before.0).as_secs_f64();
        if took >= 1.0 {
            let rate = now.1.saturating_sub(before.1) as f64 * 8.0 / took / 1_000.0;
            under = if rate < kbps { under + 1 } else { 0 };
            before = now;
        }
        assert!(
            Instant::now() < deadline,
            "our video never came under {kbps} kbit/s"
        );
    }
}

/// The peer's reports since `mark` that `keep` keeps, as (fps, width,
/// height).
fn video_since(
    peer: &PythonPeer,
    mark: usize,
    keep: impl Fn(&PeerEvent) -> bool,
) -> Vec<(f64, f64, f64)> {
    peer.events()
        .into_iter()
        .skip(mark)
        .filter(|e| keep(e))
        .map(|e| {
            (
                e.f64("frames").unwrap_or(0.0) / e.f64("seconds").unwrap_or(1.0),
                e.f64("width").unwrap_or(0.0),
                e.f64("height").unwrap_or(0.0),
            )
        })
        .collect()
}

/// Round trips through the link to the server's host, one every 100 ms,
/// `count` of them, sorted (ms): what a packet of ours waits in the
/// uplink's queue, and the link's own time (under 1 ms).
async fn pings(host: std::net::Ipv4Addr, count: u32) -> Vec<f64> {
    let out = tokio::process::Command::new("ping")
        .args(["-n", "-i", "0.1", "-W", "3", "-c"])
        .arg(count.to_string())
        .arg(host.to_string())
        .output()
        .await
        .unwrap();
    let mut rtts: Vec<f64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split("time=").nth(1)?.split(' ').next()?.parse().ok())
        .collect();
    rtts.sort_by(f64::total_cmp);
    assert!(
        rtts.len() as u32 >= count * 9 / 10,
        "{} of {count} pings answered",
        rtts.len()
    );
    rtts
}

/// The `q` quantile of sorted values.
fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q) as usize]
}

/// A camera as libcamera hands one to PipeWire: I420, each plane in a
/// buffer block of its own, rows padded. Published, LiveKit's Python SDK
/// decodes it whole. (Read from the first block alone, as every camera
/// once was, the picture stayed black: seen.)
#[tokio::test]
async fn a_camera_with_a_plane_per_block_is_decoded_whole_by_livekit_python() {
    let Publishing { call, .. } = laid_out_camera_decoded_whole(
        "video-planar-camera",
        "A camera through libcamera",
        Layout::I420Planes,
    )
    .await;
    call.leave().await;
}

/// Our camera muted, then unmuted: its track stays published. Muted, the
/// peer is told (the track muted, and so listed by the server) and gets no
/// picture of ours; unmuted, it is told again and decodes our pattern
/// whole (each layer starts again from a key frame).
#[tokio::test]
async fn a_muted_camera_stays_published_sends_nothing_and_comes_back_whole() {
    let room = "video-camera-muted";
    let Publishing {
        server,
        peer,
        call,
        sid,
    } = pattern_decoded_whole_at_a_peer(room).await;
    let ours = |kind: &'static str| of_track(kind, &sid);
    let listed_muted = || listed_muted(&server, room, &sid);

    // Muted or unmuted, and the peer told: its mark from before the ask.
    let set_muted = async |muted: bool| {
        let (mark, asked) = (peer.mark(), Instant::now());
        call.set_video_muted(VideoSource::Camera, muted).await;
        let kind = if muted {
            "track_muted"
        } else {
            "track_unmuted"
        };
        let what = format!("{kind} for our camera at the peer");
        peer.wait_for_after(mark, &what, ours(kind), SECS(5))
            .await
            .unwrap();
        eprintln!("{kind} at the peer {:?} after asking", asked.elapsed());
        mark
    };

    set_muted(true).await;
    assert_eq!(listed_muted().await, Some(true));
    // Pictures on their way settle; then for 2 s we send no video packet
    // (the server would hold them back from the peer anyway: counted where
    // they leave), and the peer, which reports with the first picture a
    // second after its last report, reports nothing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let video_sent = || async {
        let counters = call.counters().await.unwrap();
        counters
            .publisher
            .outbound
            .iter()
            .filter(|s| s.kind == "video")
            .map(|s| s.packets)
            .sum::<u64>()
    };
    let (quiet, before) = (peer.mark(), video_sent().await);
    tokio::time::sleep(SECS(2)).await;
    let after = video_sent().await;
    eprintln!("video packets sent while muted: {before} before 2 s, {after} after");
    assert!(before > 0);
    assert_eq!(after, before, "we sent video while muted");
    let reports = peer.events()[quiet..]
        .iter()
        .filter(|e| e.kind() == "video_seen")
        .count();
    assert_eq!(reports, 0, "pictures of ours reached the peer while muted");

    let mark = set_muted(false).await;
    decoded_whole(
        &peer_sees_after(&peer, mark, "rust-cam", 3).await,
        (640.0, 360.0),
    );
    assert_eq!(listed_muted().await, Some(false));
    assert!(
        !peer.events().iter().any(|e| ours("track_unpublished")(e)),
        "the track was unpublished"
    );
    call.leave().await;
}

/// A USB 2 webcam at a size it gives raw (YUY2) only at 10 fps, listed
/// first as V4L2 lists it, and as MJPEG at 30 (as such webcams give 720p;
/// here at 640x360, which a debug build decodes in time on 2 cores). Asked
/// for that size at 30 fps, we take the MJPEG, not a third of the pictures,
/// and decode it: LiveKit's Python SDK decodes our video whole, at 30 fps.
#[tokio::test]
async fn a_webcam_giving_its_size_at_30_only_as_mjpeg_is_sent_at_30() {
    let Publishing { call, .. } =
        laid_out_camera_decoded_whole("video-mjpeg-camera", "A USB 2 webcam", Layout::Mjpeg).await;
    call.leave().await;
}

/// A test camera named `description`, 640x360 at 30 fps laid out as
/// `layout` says, opened by us asking for just that (and agreeing to it),
/// published in `room` and decoded whole by LiveKit's Python SDK.
async fn laid_out_camera_decoded_whole(
    room: &str,
    description: &str,
    layout: Layout,
) -> Publishing {
    let pipewire = PipeWire::start().unwrap();
    let service = CameraService::at(pipewire.runtime_dir().join("pipewire-0"));
    let id = "rtcstack-test-laid-out";
    let device =
        TestCamera::start_laid_out(&pipewire, id, description, (640, 360, 30), layout).unwrap();
    let want = VideoFormat {
        width: 640,
        height: 360,
        fps: 30,
    };
    let camera = tokio::task::spawn_blocking(move || Camera::open(&service, id, want))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(camera.format(), want);
    let published = decoded_whole_at_a_peer(room, Box::new(camera), (640.0, 360.0)).await;
    assert!(device.frames() > 0);
    published
}

/// Our camera published and decoded whole at the peer, to go on with.
struct Publishing {
    server: LiveKitServer,
    /// LiveKit's Python SDK, "py-viewer".
    peer: PythonPeer,
    /// Ours, "rust-cam".
    call: rtcstack::Call,
    /// Our camera's track.
    sid: String,
}

/// `camera` published by us as our camera in `room`, on a server of its
/// own: LiveKit's Python SDK decodes it whole, at `size`.
async fn decoded_whole_at_a_peer(
    room: &str,
    camera: Box<dyn VideoInput>,
    size: (f64, f64),
) -> Publishing {
    decoded_whole_at_a_peer_in(room, camera, size, SendCodec::Vp8).await
}

/// The pattern (640x360 at 30 fps) published as our camera in `room`
/// and decoded whole by LiveKit's Python SDK.
async fn pattern_decoded_whole_at_a_peer(room: &str) -> Publishing {
    decoded_whole_at_a_peer(
        room,
        Box::new(PatternSource::new(640, 360, 30)),
        (640.0, 360.0),
    )
    .await
}

/// The same, sent in `codec`.
async fn decoded_whole_at_a_peer_in(
    room: &str,
    camera: Box<dyn VideoInput>,
    size: (f64, f64),
    codec: SendCodec,
) -> Publishing {
    let server = LiveKitServer::start().await.unwrap();
    let peer = server
        .spawn_peer(PeerOptions::new(room, "py-viewer", 0.0))
        .await
        .unwrap();
    let (call, _audio, _events) = join_configured(
        &server,
        &TokenSpec::join(room, "rust-cam"),
        |o: &mut CallOptions| o.video_codec = codec,
    )
    .await
    .unwrap();
    let started = Instant::now();
    let sid = call
        .publish_video(camera, VideoSource::Camera)
        .await
        .unwrap();
    eprintln!("camera published as {sid} in {:?}", started.elapsed());
    decoded_whole(&peer_sees(&peer, "rust-cam", 3).await, size);
    Publishing {
        server,
        peer,
        call,
        sid,
    }
}

/// Payload bytes of video sent so far, every layer.
async fn video_bytes_sent(call: &rtcstack::Call) -> u64 {
    let counters = call.counters().await.unwrap();
    counters
        .publisher
        .outbound
        .iter()
        .filter(|s| s.kind == "video")
        .map(|s| s.bytes)
        .sum()
}

/// Packets sent so far of each layer of our video (`q`, `h`, `f`).
async fn sent_by_layer(call: &rtcstack::Call) -> [u64; 3] {
    let counters = call.counters().await.unwrap();
    let mut sent = [0; 3];
    for s in counters
        .publisher
        .outbound
        .iter()
        .filter(|s| s.kind == "video")
    {
        match s.rid.as_deref() {
            Some("q") => sent[0] += s.packets,
            Some("h") => sent[1] += s.packets,
            Some("f") => sent[2] += s.packets,
            _ => {}
        }
    }
    sent
}

/// Waits (up to `within`) until over one second the layers `moving` sent
/// packets and the others none (counted where they leave us); returns
/// when that second began.
async fn layers_sending(call: &rtcstack::Call, moving: [bool; 3], within: Duration) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        let (from, before) = (Instant::now(), sent_by_layer(call).await);
        tokio::time::sleep(SECS(1)).await;
        let after = sent_by_layer(call).await;
        let now: [bool; 3] = std::array::from_fn(|i| after[i] > before[i]);
        if now == moving {
            return from;
        }
        assert!(
            Instant::now() < deadline,
            "layers sending {now:?} (packets {before:?} then {after:?}), not {moving:?}, \
             after {within:?}"
        );
    }
}

/// Dynacast: the server says which of our layers it forwards to anyone,
/// and we send those only. Alone in the room, our camera stops sending
/// (the server's word comes 10 s after publishing); a viewer joins and
/// is forwarded the full layer at once, decoded whole; it asks for the
/// low layer and, once the server has waited to be sure (5 s), only that
/// one goes on, still decoded.
#[tokio::test]
async fn our_camera_sends_only_the_layers_the_server_forwards() {
    let room = "video-dynacast";
    let server = LiveKitServer::start().await.unwrap();
    let (call, _audio, _events) =
        join_configured(&server, &TokenSpec::join(room, "rust-cam"), |_| {})
            .await
            .unwrap();
    let published = Instant::now();
    call.publish_video(
        Box::new(PatternSource::new(640, 360, 30)),
        VideoSource::Camera,
    )
    .await
    .unwrap();
    layers_sending(&call, [true; 3], SECS(5)).await;
    let quiet = layers_sending(&call, [false; 3], SECS(20)).await;
    eprintln!(
        "nobody watching: nothing sent from {:?} after publishing",
        quiet - published
    );

    let joined = Instant::now();
    let mut peer = server
        .spawn_peer(PeerOptions::new(room, "py-viewer", 0.0))
        .await
        .unwrap();
    decoded_whole(&peer_sees(&peer, "rust-cam", 2).await, (640.0, 360.0));
    eprintln!(
        "a viewer: our full layer decoded within {:?}",
        joined.elapsed()
    );
    layers_sending(&call, [true; 3], SECS(5)).await;

    let mark = peer.mark();
    peer.send(json!({"cmd": "video_quality", "identity": "rust-cam", "quality": "low"}))
        .await
        .unwrap();
    let asked = Instant::now();
    let low = layers_sending(&call, [true, false, false], SECS(15)).await;
    eprintln!(
        "the viewer on the low layer: only it sent from {:?} after asking",
        low - asked
    );
    let reports = peer_sees_after(&peer, mark, "rust-cam", 3).await;
    let last = reports.last().unwrap();
    assert_eq!(
        (last.f64("width"), last.f64("height")),
        (Some(160.0), Some(90.0)),
        "the viewer's pictures: {last:?}"
    );
    decoded_whole(&reports[2..], (160.0, 90.0));
    call.leave().await;
    peer.leave().await.unwrap();
}

/// Our camera sends three temporal layers, as libwebrtc's does: a viewer
/// of ours asking for 12 pictures a second of it (UpdateTrackSettings'
/// fps, which LiveKit meets with the fewest layers that give it) is sent
/// every second picture, then asking for 6 every fourth, all at the full
/// 640x360 and each decoded whole; asking for all again brings 30 back.
/// LiveKit's Python SDK, watching the same layer all along, decodes it
/// whole at 30.
///
/// Asked between the layers' rates (7.5, 15, 30), not at them: LiveKit
/// measures each layer's rate once, from its first pictures, and picks
/// the first layer measured at 0.9 of the asked rate or more. A stall of
/// the machine then (the tests run side by side) measures a layer a few
/// pictures short: asking 15 of a middle layer measured at 13 got all 30,
/// once in about eight runs of the group.
#[tokio::test]
async fn a_viewer_asking_fewer_pictures_of_our_camera_gets_them_at_full_size() {
    let room = "video-temporal";
    let Publishing {
        server,
        peer,
        call,
        sid,
    } = pattern_decoded_whole_at_a_peer(room).await;
    let (viewer, watch) = watching(&server, room).await;
    let mark = peer.mark();
    // On failure, what the server measured of our temporal layers and what
    // it chose for the viewer.
    let server_saw = || {
        server.log_lines(&[
            "frame rate calculated",
            "applying subscriber track settings",
            "updating temporal layer",
        ])
    };
    for (fps, step) in [(None, 1), (Some(12), 2), (Some(6), 4), (None, 1)] {
        let asked = Instant::now();
        viewer
            .show_video(
                &sid,
                VideoView::Shown {
                    width: 640,
                    height: 360,
                    fps,
                },
            )
            .await;
        // Settled: ten pictures in a row `step` numbers apart.
        let deadline = asked + SECS(10);
        let settled = loop {
            let seen = watch.since("rust-cam", asked);
            if let Some(run) = seen.windows(11).find(|run| {
                run.windows(2)
                    .all(|p| p[1].reading.number == p[0].reading.number + step)
            }) {
                break run[0].at;
            }
            assert!(
                Instant::now() < deadline,
                "asking {fps:?} fps: no ten pictures {step} apart in 10 s (numbers {:?}); \
                 the server:\n{}",
                seen.iter().map(|s| s.reading.number).collect::<Vec<_>>(),
                server_saw()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        let from = Instant::now();
        tokio::time::sleep(SECS(3)).await;
        let switching = judge(&watch.since("rust-cam", asked), 1.0).off_colour;
        let frames = watch.since("rust-cam", from);
        let j = judge(&frames, 3.0);
        let steps: Vec<u32> = frames
            .windows(2)
            .map(|p| p[1].reading.number.wrapping_sub(p[0].reading.number))
            .collect();
        let off_step = steps.iter().filter(|d| **d != step).count();
        eprintln!(
            "asking {fps:?} fps: settled after {:?} ({switching} pictures off colour since \
             asking); {:.1} fps, numbers {step} apart but {off_step} of {}, {} off colour, \
             sizes {:?}",
            settled - asked,
            j.fps,
            steps.len(),
            j.off_colour,
            j.sizes
        );
        let full = 30.0 / f64::from(step);
        assert!(
            (full * 0.8..=full * 1.1).contains(&j.fps),
            "asking {fps:?} fps: {:.1} decoded; the server:\n{}",
            j.fps,
            server_saw()
        );
        assert!(
            off_step * 20 <= steps.len(),
            "asking {fps:?} fps: steps between numbers {steps:?}"
        );
        assert_eq!(j.sizes, [(640, 360)], "asking {fps:?} fps");
        assert_eq!(j.off_colour, 0, "asking {fps:?} fps: worst {}", j.worst);
    }
    // LiveKit's own decoder all along: the first report after the mark
    // may cover the viewer's join.
    decoded_whole(
        &peer_sees_after(&peer, mark, "rust-cam", 3).await,
        (640.0, 360.0),
    );
    viewer.leave().await;
    call.leave().await;
}

/// Our uplink capped at 1 Mbit/s (a token bucket with 100 ms of queue)
/// while we send audio, 640x360 simulcast video with grain in every frame
/// (so each layer sends all its bitrate: about 1 Mbit/s of video alone)
/// and a shared screen (1280x720 at 10 fps, a band of grain changing
/// every picture): the videos give way (the uplink's rate follows the far
/// end's loss reports and the transport-wide estimate, and the two videos
/// share it; layers lose bitrate or pause from the top, the screen's
/// middle first) and the voice stays whole: at the peer, 5 s of our tone
/// in every 5 s once the rate has settled, both videos still arriving,
/// the screen at its full size, and our uplink's 100 ms of queue mostly
/// empty meanwhile (we send less than the cap).
#[tokio::test]
async fn under_a_1_mbit_uplink_the_voice_stays_whole_and_the_video_gives_way() {
    // Which rule cut, and when, if a bound is missed.
    let _uplink = engine_log::keep(&["rtcstack::engine::send_video"]);
    let room = "video-uplink";
    let rig = Rig::start(room).await;
    let camera = rig
        .call
        .publish_video(
            Box::new(PatternSource::new(640, 360, 30).with_grain()),
            VideoSource::Camera,
        )
        .await
        .unwrap();
    let screen = rig
        .call
        .publish_video(
            Box::new(PatternSource::new(1280, 720, 10).with_grain_of(90)),
            VideoSource::Screen,
        )
        .await
        .unwrap();
    for sid in [&camera, &screen] {
        rig.peer
            .wait_for(
                "the peer's report of our video",
                of_track("video_seen", sid),
                SECS(20),
            )
            .await
            .unwrap();
    }
    // Each stream we send is counted under its own track: the camera's
    // three layers and the screen's three (the same rids) apart.
    let counters = rig.call.counters().await.unwrap();
    let of = |sid: &str| {
        let mut rids: Vec<_> = counters
            .publisher
            .outbound
            .iter()
            .filter(|s| s.track == sid)
            .filter_map(|s| s.rid.clone())
            .collect();
        rids.sort();
        rids
    };
    assert_eq!(
        of(&camera),
        ["f", "h", "q"],
        "{:?}",
        counters.publisher.outbound
    );
    assert_eq!(
        of(&screen),
        ["f", "h", "q"],
        "{:?}",
        counters.publisher.outbound
    );
    assert!(
        counters
            .publisher
            .outbound
            .iter()
            .all(|s| s.track.starts_with("TR_")),
        "a stream we send with no track: {:?}",
        counters.publisher.outbound
    );
    rig.server.link().unwrap().cap_uplink(1_000).unwrap();
    // Settled: two seconds on end of our videos' payload under 850 kbit/s
    // (audio and the packets' headers take the rest of the cap).
    until_our_video_is_under(&rig.call, 850.0, 2, SECS(30)).await;
    let mark = rig.peer.mark();
    let (sent_from, sent_before) = (Instant::now(), video_bytes_sent(&rig.call).await);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("uplink.wav");
    let mut peer = rig.peer;
    peer.send(json!({"cmd": "record", "identity": "rust-880", "seconds": 5, "path": path}))
        .await
        .unwrap();
    let rtts = pings(rig.server.link().unwrap().host_ip(), 50).await;
    peer.wait_for_after(mark, "recorded", |e| e.kind() == "recorded", SECS(15))
        .await
        .unwrap();
    let received = WavInput::open(&path).unwrap().samples().to_vec();
    let frames = received.chunks_exact(FRAME_SAMPLES).count();
    let toned = received
        .chunks_exact(FRAME_SAMPLES)
        .filter(|f| carries_tone(f, 880.0).is_some())
        .count();
    let cameras = video_since(&peer, mark, of_track("video_seen", &camera));
    let screens = video_since(&peer, mark, of_track("video_seen", &screen));
    let sent = (video_bytes_sent(&rig.call).await - sent_before) as f64 * 8.0
        / 1_000.0
        / sent_from.elapsed().as_secs_f64();
    eprintln!(
        "1 Mbit/s uplink: {toned} of {frames} 20 ms frames of our tone at the peer; \
         at the peer meanwhile (fps, width, height), our camera: {cameras:?}, our \
         screen: {screens:?}; we sent {sent:.0} kbit/s of video; pings through the link \
         p50 {:.0} ms, p95 {:.0} ms",
        quantile(&rtts, 0.5),
        quantile(&rtts, 0.95)
    );
    assert!(frames >= 245, "only {frames} frames recorded in 5 s");
    assert!(
        toned * 100 >= frames * 98,
        "the voice broke up: {toned} of {frames} frames carry the tone"
    );
    assert!(
        cameras.iter().any(|(fps, _, _)| *fps >= 15.0),
        "our camera stopped at the peer: {cameras:?}"
    );
    // Pictures in at least two of the peer's report windows (a screen
    // under pressure sends few: 1.2 a second in one run).
    assert!(
        screens.iter().filter(|(fps, _, _)| *fps > 0.0).count() >= 2
            && screens.iter().all(|(_, width, _)| *width == 1280.0),
        "our screen stopped at the peer, or lost its size: {screens:?}"
    );
    assert!(
        quantile(&rtts, 0.5) < 30.0,
        "the video did not give way: the uplink's queue held {:.0} ms (p50)",
        quantile(&rtts, 0.5)
    );
    rig.server.link().unwrap().uncap().unwrap();
    rig.call.leave().await;
}

/// A shared screen (1280x720 at 10 fps, a band of grain changing every
/// picture) under a 600 kbit/s uplink keeps its size: the full layer goes
/// on at a lower rate its encoder meets with fewer pictures, and the
/// middle layer gives way instead (a camera loses its full layer first).
/// The peer, asking for the best, never sees the middle size, and once the
/// rate has settled gets 1280 px wide pictures for 8 s on end, fewer of
/// them. (With a camera's rule the peer got 640 px first: seen.) The
/// grain is one an encoder meets the rate with at a few pictures a
/// second: with white noise, pictures came 2 s apart, and the peer at
/// times got the smallest layer instead (failed once in CI; most likely
/// LiveKit's stream tracker taking the full layer for stopped).
#[tokio::test]
async fn under_a_600_kbit_uplink_a_shared_screen_keeps_its_size() {
    // Which rule cut, and when, if a bound is missed.
    let _uplink = engine_log::keep(&["rtcstack::engine::send_video"]);
    let room = "video-uplink-screen";
    let rig = Rig::start(room).await;
    rig.call
        .publish_video(
            Box::new(PatternSource::new(1280, 720, 10).with_grain_of(90)),
            VideoSource::Screen,
        )
        .await
        .unwrap();
    // The full size at the peer before the cap, so a smaller size after
    // it is the cap's.
    rig.peer
        .wait_for(
            "the peer's report of our full size",
            ours_at_width(1280.0),
            SECS(20),
        )
        .await
        .unwrap();
    let capped = rig.peer.mark();
    rig.server.link().unwrap().cap_uplink(600).unwrap();
    let widths_since = |mark: usize| -> Vec<f64> {
        our_video_since(&rig.peer, mark)
            .into_iter()
            .map(|(_, width, _)| width)
            .collect()
    };
    // The cap bites once our rate has come under it (a second of our
    // video's payload under 500 kbit/s, leaving audio and headers theirs;
    // about 2-3 s after the cap): the pictures the peer saw before that
    // were sent without pressure.
    until_our_video_is_under(&rig.call, 500.0, 1, SECS(20)).await;
    let bitten = rig.peer.mark();
    // The loss of the cap's first full queue tells of the rate before it:
    // counted against the rate after it, that paused the full layer, and
    // the peer got the smallest for 4-22 s (once in CI after three full
    // pictures: the judging had begun before the cap bit). Settled: the
    // peer's last three seconds since then were all of the full size, and
    // since the cap no more than two were of another.
    let deadline = Instant::now() + SECS(60);
    loop {
        let widths = widths_since(capped);
        assert!(
            !widths.contains(&640.0),
            "the middle layer outlasted the full one: {widths:?}"
        );
        assert!(
            widths.iter().filter(|w| **w != 1280.0).count() <= 2,
            "the full size gave way under the cap: {widths:?}"
        );
        let settled = widths_since(bitten);
        if settled.len() >= 3 && settled[settled.len() - 3..].iter().all(|w| *w == 1280.0) {
            eprintln!("under the cap, the peer's widths until settled: {widths:?}");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the full size did not come back under the cap: {widths:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let mark = rig.peer.mark();
    let seen = |peer: &PythonPeer| -> Vec<(f64, f64, f64)> {
        peer.events()
            .into_iter()
            .skip(mark)
            .filter(ours)
            .map(|e| {
                (
                    e.f64("frames").unwrap_or(0.0),
                    e.f64("seconds").unwrap_or(0.0),
                    e.f64("width").unwrap_or(0.0),
                )
            })
            .collect()
    };
    // Eight seconds of pictures, however few.
    let deadline = Instant::now() + SECS(30);
    while seen(&rig.peer).iter().map(|(_, s, _)| s).sum::<f64>() < 8.0 {
        assert!(
            Instant::now() < deadline,
            "our screen stopped at the peer: {:?}",
            seen(&rig.peer)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = seen(&rig.peer);
    let frames: f64 = seen.iter().map(|(f, _, _)| f).sum();
    let seconds: f64 = seen.iter().map(|(_, s, _)| s).sum();
    eprintln!(
        "600 kbit/s uplink, a shared screen: {frames} pictures in {seconds:.1} s at the peer \
         ({:.1} fps); widths {:?}",
        frames / seconds,
        seen.iter().map(|(_, _, w)| *w).collect::<Vec<_>>()
    );
    assert!(
        seen.iter().all(|(_, _, width)| *width == 1280.0),
        "the screen lost its size: {seen:?}"
    );
    assert!(
        frames / seconds < 9.0,
        "no picture gave way (the rate was not under pressure?): {seen:?}"
    );
    rig.server.link().unwrap().uncap().unwrap();
    rig.call.leave().await;
}
