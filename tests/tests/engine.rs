//! The call engine against a real livekit-server and LiveKit's own Python
//! SDK (`scripts/test engine`). Needs root for the server's namespace.

use std::time::{Duration, Instant};

use rtcstack::{Call, CallEvent, CallOptions, ConnectError, ConnectionQuality, ConnectionState};
use rtcstack_bot_audio::tone::Tone;
use rtcstack_testbench::client::{join_with_capture, wait_hearing};
use rtcstack_testbench::netns::Netem;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::speech::{speech, FAR_TEXT};
use rtcstack_testbench::tokens::TokenSpec;
use tokio::sync::mpsc::UnboundedReceiver;

const SECS: fn(u64) -> Duration = Duration::from_secs;

#[tokio::test]
async fn tone_both_ways_with_the_python_peer() {
    let server = LiveKitServer::start().await.unwrap();
    let room = "eng-tone";
    let peer = server
        .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
        .await
        .unwrap();
    let (call, sink, _events) = join_with_capture(&server, room, "rust-880").await.unwrap();
    assert_eq!(call.connection_state(), ConnectionState::Connected);
    call.publish_audio(Box::new(Tone::new(880.0, 0.3)))
        .await
        .expect("publish");

    let heard = wait_hearing(&sink, "py-440", 440.0, 5.0, SECS(20))
        .await
        .unwrap();
    let theirs = peer
        .wait_for_tone("rust-880", 880.0, 5.0, SECS(20))
        .await
        .unwrap();
    eprintln!("we hear {heard:.1} Hz; the Python peer hears {theirs:.1} Hz");
    call.leave().await;
}

#[tokio::test]
async fn we_hear_four_talkers_one_more_than_the_first_offer_has_room_for() {
    // Our first offer has three receive sections: the fourth talker's track
    // needs the server's MediaSectionsRequirement and our new offer.
    let server = LiveKitServer::start().await.unwrap();
    let room = "eng-four";
    let tones = [
        ("py-440", 440.0),
        ("py-550", 550.0),
        ("py-660", 660.0),
        ("py-770", 770.0),
    ];
    let mut peers = Vec::new();
    for (identity, hz) in tones {
        peers.push(
            server
                .spawn_peer(PeerOptions::new(room, identity, hz))
                .await
                .unwrap(),
        );
    }
    let (call, sink, _events) = join_with_capture(&server, room, "rust-listener")
        .await
        .unwrap();
    for (identity, hz) in tones {
        let got = wait_hearing(&sink, identity, hz, 5.0, SECS(20))
            .await
            .unwrap_or_else(|e| panic!("{identity} ({hz} Hz) not heard: {e}"));
        eprintln!("four talkers: {identity} heard at {got:.1} Hz");
    }
    call.leave().await;
}

#[tokio::test]
async fn participants_quality_and_mute_are_seen_both_ways() {
    let server = LiveKitServer::start().await.unwrap();
    let room = "eng-mute";
    let peer = server
        .spawn_peer(PeerOptions::new(room, "py-peer", 440.0))
        .await
        .unwrap();
    let (call, _sink, _events) = join_with_capture(&server, room, "rust-me").await.unwrap();
    let sid = call
        .publish_audio(Box::new(Tone::new(880.0, 0.3)))
        .await
        .unwrap();

    // We list the peer with a quality within 10 s; it sees us.
    let deadline = Instant::now() + SECS(10);
    loop {
        let ps = call.participants();
        if let Some(p) = ps.iter().find(|p| p.identity == "py-peer") {
            if p.connection_quality != ConnectionQuality::Unknown {
                eprintln!("py-peer quality {:?}", p.connection_quality);
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "py-peer not listed with a quality: {ps:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    peer.wait_for(
        "us joining",
        |e| e.kind() == "participant_joined" && e.str("identity") == Some("rust-me"),
        SECS(10),
    )
    .await
    .unwrap();
    peer.wait_for_tone("rust-me", 880.0, 5.0, SECS(20))
        .await
        .unwrap();

    // Mute: the peer sees our track muted and hears silence.
    let mark = peer.mark();
    call.set_muted(true).await;
    peer.wait_for_after(
        mark,
        "our track muted",
        |e| e.kind() == "track_muted" && e.str("track_sid") == Some(sid.as_str()),
        SECS(10),
    )
    .await
    .unwrap();
    peer.wait_for_after(
        mark,
        "silence from us",
        |e| e.is_silence("rust-me"),
        SECS(10),
    )
    .await
    .unwrap();
    // Unmute restores the tone.
    let mark = peer.mark();
    call.set_muted(false).await;
    peer.wait_for_after(
        mark,
        "our track unmuted",
        |e| e.kind() == "track_unmuted",
        SECS(10),
    )
    .await
    .unwrap();
    peer.wait_for_tone_after(mark, "rust-me", 880.0, 5.0, SECS(10))
        .await
        .unwrap();
    call.leave().await;
    peer.wait_for(
        "us leaving",
        |e| e.kind() == "participant_left" && e.str("identity") == Some("rust-me"),
        SECS(10),
    )
    .await
    .unwrap();
}

/// The call's next event before `deadline`, or `None` once it has passed.
async fn next_event(
    events: &mut UnboundedReceiver<CallEvent>,
    deadline: Instant,
) -> Option<CallEvent> {
    let left = deadline.saturating_duration_since(Instant::now());
    match tokio::time::timeout(left, events.recv()).await {
        Ok(Some(e)) => Some(e),
        Ok(None) => panic!("the call's events ended"),
        Err(_) => None,
    }
}

/// How long our quality is watched once it has dropped to Poor: three of
/// the server's 5 s quality updates.
const HOLD_POOR: Duration = Duration::from_secs(15);

#[tokio::test]
async fn quality_is_poor_under_25_percent_loss_and_recovers() {
    let server = LiveKitServer::start().await.unwrap();
    let room = "eng-quality";
    let peer = server
        .spawn_peer(PeerOptions::new(room, "py-peer", 440.0))
        .await
        .unwrap();
    let (call, _sink, mut events) = join_with_capture(&server, room, "rust-lossy")
        .await
        .unwrap();
    call.publish_audio(Box::new(Tone::new(880.0, 0.3)))
        .await
        .unwrap();
    peer.wait_for_tone("rust-lossy", 880.0, 5.0, SECS(20))
        .await
        .unwrap();
    // A second peer talks from our side of the link (a client across the
    // same lossy path): the server's reports tell its encoder of the loss
    // on its way up, and Opus then carries a copy of each frame in the
    // packet after it (in-band repair, SILK's LBRR). It speaks, as a
    // person on a call does (espeak-ng: hybrid Opus).
    let mut talker = server
        .spawn_client_peer(PeerOptions::new(room, "py-talker", 330.0))
        .await
        .unwrap();
    let talker_track = talker
        .wait_for("the talker's track", |e| e.kind() == "published", SECS(20))
        .await
        .unwrap()
        .str("track_sid")
        .unwrap()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let (speech, _) = speech(dir.path(), "talker", "en-us", FAR_TEXT, -20.0).unwrap();
    talker
        .send(serde_json::json!({"cmd": "speech", "path": speech}))
        .await
        .unwrap();
    // Its voice plays at our end before the loss (CI once found it not
    // yet played when the hold began).
    let heard_by = Instant::now() + SECS(10);
    while played_as(&call, &talker_track).await.is_none() {
        assert!(
            Instant::now() < heard_by,
            "the talker is not played 10 s after it published"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    while events.try_recv().is_ok() {} // the join's news

    let link = server.link().unwrap();
    link.degrade(Netem {
        loss_percent: 25.0,
        ..Netem::default()
    })
    .unwrap();
    let t0 = Instant::now();
    let mark = peer.mark();
    // Our quality as we report it (the server's score of us, sent every
    // 5 s): 25 % loss of Opus scores 0 on the server's scale, clamped at
    // 30, which is Poor; Lost (≤ 20) only when no packets arrive at all. A
    // window only partly under loss may pass through Good first. A false
    // reconnect would show as Reconnecting here (and as Lost in the app).
    let mut timeline: Vec<(Duration, ConnectionQuality)> = Vec::new();
    let outage = |e: &CallEvent| {
        assert!(
            !matches!(
                e,
                CallEvent::Reconnecting { .. } | CallEvent::Disconnected { .. }
            ),
            "{e:?} under 25 % loss after {:?}",
            t0.elapsed()
        );
    };
    let mut poor_at = None;
    let deadline = t0 + SECS(20);
    while poor_at.is_none() {
        let e = next_event(&mut events, deadline)
            .await
            .unwrap_or_else(|| panic!("not Poor 20 s into 25 % loss: {timeline:?}"));
        outage(&e);
        if let CallEvent::LocalParticipantUpdated { participant } = e {
            let q = participant.connection_quality;
            if timeline.last().map(|x| x.1) != Some(q) {
                timeline.push((t0.elapsed(), q));
            }
            match q {
                ConnectionQuality::Poor => poor_at = Some(Instant::now()),
                ConnectionQuality::Excellent | ConnectionQuality::Good => {}
                // Not scored yet: our own speaking news (the server marks us
                // from our packets' levels) can come before the first score.
                ConnectionQuality::Unknown
                    if timeline.iter().all(|x| x.1 == ConnectionQuality::Unknown) => {}
                other => panic!("{other:?} before Poor under 25 % loss: {timeline:?}"),
            }
        }
    }
    // Held: Poor at every update until the loss ends (Lost only if the
    // server's score, as the peer hears it, said so too).
    let hold_until = poor_at.unwrap() + HOLD_POOR;
    let voice_before = our_voice_as_reported(&call).await;
    let talker_before = playout_of(&call, &talker_track).await;
    while let Some(e) = next_event(&mut events, hold_until).await {
        outage(&e);
        if let CallEvent::LocalParticipantUpdated { participant } = e {
            let q = participant.connection_quality;
            if timeline.last().map(|x| x.1) != Some(q) {
                timeline.push((t0.elapsed(), q));
            }
            assert!(
                matches!(q, ConnectionQuality::Poor | ConnectionQuality::Lost),
                "{q:?} after Poor, still under 25 % loss: {timeline:?}"
            );
        }
    }
    let peer_saw: Vec<String> = peer.events()[mark..]
        .iter()
        .filter(|e| e.kind() == "quality" && e.str("identity") == Some("rust-lossy"))
        .filter_map(|e| e.str("quality").map(str::to_string))
        .collect();
    if timeline.iter().any(|x| x.1 == ConnectionQuality::Lost) {
        assert!(
            peer_saw.iter().any(|q| q == "LOST"),
            "we said Lost, the server (as the peer hears it) never did: ours {timeline:?}, \
             the peer's {peer_saw:?}"
        );
    }
    eprintln!("under 25 % loss, our quality: {timeline:?}; the peer saw us {peer_saw:?}");
    assert_eq!(call.connection_state(), ConnectionState::Connected);
    // The server's reports on our voice, as our counters carry them: the
    // link's 25 % over the hold (about 750 packets), and a round trip.
    let voice = our_voice_as_reported(&call).await;
    // Of the packets the server expected between its reports.
    let (Some(from), Some(to)) = (voice_before.report, voice.report) else {
        panic!("no report on our voice: {voice_before:?}, {voice:?}");
    };
    let sent = (to.expected as u32).wrapping_sub(from.expected as u32);
    let lost = voice.lost - voice_before.lost;
    let share = lost as f64 / f64::from(sent);
    eprintln!(
        "our voice as the server reported it over the hold: {lost} of {sent} lost ({:.1} %), \
         round trip {:?} ms",
        share * 100.0,
        voice.rtt_ms
    );
    assert!(
        (0.18..=0.32).contains(&share),
        "our voice's loss as reported, {:.1} %, is not the link's 25 %",
        share * 100.0
    );
    assert!(
        voice.rtt_ms.is_some_and(|ms| ms > 0.0 && ms < 100.0),
        "no round trip of our voice: {voice:?}"
    );
    // The talker's frames over the hold: lost on its way up or on ours
    // down, 44 % of them (1 - 0.75²); a lost frame whose next packet came
    // (56 % of them) is rebuilt from that packet's copy, once its encoder
    // knows of the loss (it does from the first seconds). Without the
    // copy, every lost frame is concealed. 60 % seen: the share counted
    // lost includes a slot concealed while the delay grew a frame, and
    // the talker's pauses (DTX) lose nothing; 80 % would mean frames
    // counted repaired whose next packet never came.
    let talker = playout_of(&call, &talker_track).await;
    let played = talker.played - talker_before.played;
    let concealed = talker.concealed - talker_before.concealed;
    let repaired = talker.repaired - talker_before.repaired;
    let lost = (concealed + repaired) as f64;
    eprintln!(
        "the talker over the hold: {played} frames played, {repaired} repaired, \
         {concealed} concealed"
    );
    assert!(lost >= 50.0, "only {lost} of the talker's frames lost");
    assert!(
        repaired as f64 >= 0.35 * lost && repaired as f64 <= 0.80 * lost,
        "{repaired} of {lost} lost frames repaired"
    );

    link.clear_degrade().unwrap();
    let t1 = Instant::now();
    let deadline = t1 + SECS(60);
    loop {
        let e = next_event(&mut events, deadline)
            .await
            .expect("quality did not return to Excellent within 60 s");
        outage(&e);
        if let CallEvent::LocalParticipantUpdated { participant } = e {
            if participant.connection_quality == ConnectionQuality::Excellent {
                break;
            }
        }
    }
    eprintln!(
        "excellent again {:?} after the loss was removed",
        t1.elapsed()
    );
    call.leave().await;
}

/// How a received track (by sid) has played so far, if it plays at our
/// end.
async fn played_as(call: &rtcstack::Call, track: &str) -> Option<rtcstack::PlayoutCounters> {
    let counters = call.counters().await.unwrap();
    let stream = counters.inbound().find(|s| s.track == track).cloned();
    stream.and_then(|s| s.playout)
}

/// The same, which it must.
async fn playout_of(call: &rtcstack::Call, track: &str) -> rtcstack::PlayoutCounters {
    played_as(call, track)
        .await
        .unwrap_or_else(|| panic!("{track} is not played"))
}

/// Our voice's counters: sent, and as the server last reported on it.
async fn our_voice_as_reported(call: &rtcstack::Call) -> rtcstack::StreamCounters {
    let counters = call.counters().await.unwrap();
    counters
        .publisher
        .outbound
        .into_iter()
        .find(|s| s.kind == "audio")
        .expect("our voice is sent")
}

#[tokio::test]
async fn bad_input_gives_specific_errors_without_hanging() {
    let server = LiveKitServer::start().await.unwrap();
    let good = server
        .token(&TokenSpec::join("eng-bad", "rust-bad"))
        .unwrap();
    let try_connect = |url: String, token: String| async move {
        let mut o = CallOptions::new(url, token);
        o.connect_timeout = SECS(3);
        let (call, _rx) = Call::new(o);
        let t0 = Instant::now();
        let r = call.connect().await;
        assert!(t0.elapsed() < SECS(8), "connect took {:?}", t0.elapsed());
        (r, call.connection_state())
    };

    let (r, _) = try_connect("localhost:7880".into(), good.clone()).await;
    assert!(matches!(r, Err(ConnectError::InvalidUrl(_))), "{r:?}");

    let (r, _) = try_connect(server.url(), "not.a.token".into()).await;
    assert!(matches!(r, Err(ConnectError::MalformedToken(_))), "{r:?}");

    let expired = server
        .token(&TokenSpec::join("eng-bad", "rust-bad").ttl(Duration::ZERO))
        .unwrap();
    let (r, _) = try_connect(server.url(), expired).await;
    assert_eq!(r, Err(ConnectError::TokenExpired));

    let forged = TokenSpec::join("eng-bad", "rust-bad")
        .mint(
            server.api_key(),
            "a-different-secret-a-different-secret-1234",
        )
        .unwrap();
    let (r, state) = try_connect(server.url(), forged).await;
    assert!(matches!(r, Err(ConnectError::Unauthorized(_))), "{r:?}");
    assert_eq!(state, ConnectionState::Disconnected);

    // Nothing listens on this port: refused at once.
    let refused = format!("ws://{}:7999", server.ip());
    let (r, _) = try_connect(refused, good.clone()).await;
    assert!(
        matches!(
            r,
            Err(ConnectError::Unreachable(_)) | Err(ConnectError::JoinRejected { .. })
        ),
        "{r:?}"
    );

    // A silent path: the deadline ends it.
    server.link().unwrap().cut().unwrap();
    let (r, _) = try_connect(server.url(), good).await;
    assert!(
        matches!(
            r,
            Err(ConnectError::Timeout(_)) | Err(ConnectError::Unreachable(_))
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn tone_survives_loss_and_jitter() {
    let server = LiveKitServer::start().await.unwrap();
    let room = "eng-jitter";
    let _peer = server
        .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
        .await
        .unwrap();
    let (call, sink, _events) = join_with_capture(&server, room, "rust-jitter")
        .await
        .unwrap();
    wait_hearing(&sink, "py-440", 440.0, 5.0, SECS(20))
        .await
        .unwrap();
    // 10% loss and 40 ± 30 ms each way: reordered, late and missing packets.
    server
        .link()
        .unwrap()
        .degrade(Netem {
            loss_percent: 10.0,
            delay_ms: 40,
            jitter_ms: 30,
        })
        .unwrap();
    let before = sink.samples_from("py-440");
    tokio::time::sleep(SECS(5)).await;
    // Concealment keeps the stream whole: ~5 s of audio in 5 s, still 440 Hz.
    // A little over 5 s is the playout delay growing to meet the jitter (a
    // late packet's slot concealed and kept), at most by the buffer's limit.
    let got = (sink.samples_from("py-440") - before) as f64 / 48_000.0;
    assert!(
        (4.7..=5.4).contains(&got),
        "{got:.2} s of audio in 5 s under loss and jitter"
    );
    let p = sink.peak_of("py-440", 500).unwrap();
    assert!(
        (p.hz - 440.0).abs() <= 5.0,
        "under loss and jitter we hear {p:?}"
    );
    eprintln!(
        "under 10% loss and 30 ms jitter: {got:.2} s of audio in 5 s, peak {:.1} Hz",
        p.hz
    );
    call.leave().await;
}

#[tokio::test]
async fn a_talker_who_was_silent_is_heard_at_once() {
    let server = LiveKitServer::start().await.unwrap();
    let room = "eng-silence";
    let mut peer = server
        .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
        .await
        .unwrap();
    let (call, sink, _events) = join_with_capture(&server, room, "rust-880").await.unwrap();
    wait_hearing(&sink, "py-440", 440.0, 5.0, SECS(20))
        .await
        .unwrap();
    // Silence is sent as packets or left out (Opus DTX): either way the
    // talker is heard again within a second of starting (measured
    // 0.14-0.43 s, polling every 100 ms over 500 ms of audio).
    for silent_s in [2u64, 12] {
        peer.send(serde_json::json!({"cmd": "tone", "hz": 0}))
            .await
            .unwrap();
        tokio::time::sleep(SECS(silent_s)).await;
        let asked = Instant::now();
        peer.send(serde_json::json!({"cmd": "tone", "hz": 660}))
            .await
            .unwrap();
        wait_hearing(&sink, "py-440", 660.0, 5.0, SECS(20))
            .await
            .unwrap();
        let took = asked.elapsed();
        eprintln!("after {silent_s} s of silence: heard {took:?} after asked");
        assert!(
            took < SECS(1),
            "heard {took:?} after {silent_s} s of silence"
        );
    }
    call.leave().await;
}
