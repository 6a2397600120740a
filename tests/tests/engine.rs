//! The call engine against a real livekit-server and LiveKit's own Python
//! SDK (`scripts/test engine`). Needs root for the server's namespace.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtcstack::audio::capture::CaptureSink;
use rtcstack::audio::tone::Tone;
use rtcstack::{Call, CallOptions, ConnectionState};
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::tokens::TokenSpec;

const SECS: fn(u64) -> Duration = Duration::from_secs;

/// Waits until `sink` hears `identity` at `hz` ± `tol` (audibly).
async fn wait_hearing(
    sink: &CaptureSink,
    identity: &str,
    hz: f64,
    tol: f64,
    within: Duration,
) -> f64 {
    let deadline = Instant::now() + within;
    let mut last = None;
    loop {
        if let Some(p) = sink.peak_of(identity, 500) {
            if (p.hz - hz).abs() <= tol && p.level_db > -40.0 {
                return p.hz;
            }
            last = Some(p);
        }
        assert!(
            Instant::now() < deadline,
            "did not hear {hz} Hz from {identity} within {within:?}; last heard {last:?}, {} samples",
            sink.samples_from(identity)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn tone_both_ways_with_the_python_peer() {
    let server = LiveKitServer::start().await.unwrap();
    let room = "eng-tone";
    let peer = server
        .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
        .await
        .unwrap();
    let sink = Arc::new(CaptureSink::new());
    let mut options = CallOptions::new(
        server.url(),
        server.token(&TokenSpec::join(room, "rust-880")).unwrap(),
    );
    options.audio_sink = sink.clone();
    let (call, _events) = Call::new(options);
    call.connect().await.expect("connect");
    assert_eq!(call.connection_state(), ConnectionState::Connected);
    call.publish_audio(Box::new(Tone::new(880.0, 0.3)))
        .await
        .expect("publish");

    let heard = wait_hearing(&sink, "py-440", 440.0, 5.0, SECS(20)).await;
    let theirs = peer
        .wait_for_tone("rust-880", 880.0, 5.0, SECS(20))
        .await
        .unwrap();
    eprintln!("we hear {heard:.1} Hz; the Python peer hears {theirs:.1} Hz");
    call.leave().await;
}
