//! The app's audio as a person meets it (`scripts/test audio`, the real app
//! under tauri-driver, a private PulseAudio, the Python peer): the
//! microphone's meter moving, "You are muted" when a muted person talks,
//! the voice-processing switches changing what the far end receives, and a
//! device unplugged mid-call: the default takes over within a second, the
//! page says so, the peer keeps hearing us; plugged back, it is used again.
//! Screenshots in artifacts/.

use std::time::{Duration, Instant};

use rtcstack_bot_audio::analysis::{active_level_db, floor_level_db};
use rtcstack_bot_audio::tone::Tone;
use rtcstack_bot_audio::wav::WavInput;
use rtcstack_testbench::netchange::{AppCall, Far};
use rtcstack_testbench::pulse::Player;
use rtcstack_testbench::speech::speech;

const SECS: fn(u64) -> Duration = Duration::from_secs;
/// The meter's fill colour (ui/src/styles.css `.meter-fill`).
const METER_GREEN: [u8; 3] = [0x2f, 0x9e, 0x44];

/// Our participant's identity as the peer saw it join ("Ada").
async fn our_identity(call: &AppCall) -> String {
    let e = call
        .far
        .peer
        .wait_for(
            "Ada joining",
            |e| e.kind() == "participant_joined" && e.str("name") == Some("Ada"),
            SECS(10),
        )
        .await
        .unwrap();
    e.str("identity").unwrap().to_string()
}

/// What the peer received from `identity` over the next `seconds`.
async fn received(call: &mut AppCall, identity: &str, seconds: f64, name: &str) -> Vec<i16> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(format!("{name}.wav"));
    let mark = call.far.peer.mark();
    call.far
        .peer
        .send(serde_json::json!({"cmd": "record", "identity": identity, "seconds": seconds, "path": path}))
        .await
        .unwrap();
    call.far
        .peer
        .wait_for_after(mark, "recorded", |e| e.kind() == "recorded", SECS(30))
        .await
        .unwrap();
    WavInput::open(&path).unwrap().samples().to_vec()
}

/// Plays a person talking at -20 dBFS (espeak-ng) over noise at -35 dBFS
/// into `sink`. Speech, not a tone: noise suppression takes a steady tone
/// for noise.
fn talk_over_noise(call: &AppCall, sink: &str, dir: &std::path::Path) -> Player {
    let (_, talk) = speech(
        dir,
        "near",
        "en-gb",
        "I am speaking from the near end of the call, over a noisy fan.",
        -20.0,
    )
    .unwrap();
    let mut seed = 99u32;
    let a = 0.017_8 * 3f64.sqrt();
    let mut pos = 0;
    call.far
        .pulse
        .play_into(sink, move |frame: &mut [i16]| {
            for s in frame.iter_mut() {
                seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                let u = f64::from(seed >> 8) / f64::from(1u32 << 24) * 2.0 - 1.0;
                *s = talk[pos].saturating_add((u * a * 32767.0) as i16);
                pos = (pos + 1) % talk.len();
            }
        })
        .unwrap()
}

/// A steady tone played into `sink` (which microphone is live).
fn tone_into(call: &AppCall, sink: &str, hz: f64) -> Player {
    let mut t = Tone::new(hz, 0.3);
    call.far
        .pulse
        .play_into(sink, move |f: &mut [i16]| t.fill(f))
        .unwrap()
}

/// Waits (5 s at most) for a screenshot named `name` in which the meter
/// is drawn more than a third full (above -40 dBFS): talk comes and goes,
/// so the fill does too.
async fn meter_moves(call: &AppCall, name: &str) {
    let deadline = Instant::now() + SECS(5);
    loop {
        let shot = call.app.window_pixels(name).await.unwrap();
        let meter = call.app.seen("mic-meter").await;
        let area = shot.box_of(&meter).area();
        let green = shot.count(shot.box_of(&meter), METER_GREEN);
        if area > 0 && green > area / 3 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: the meter is not drawn filled: {green} green pixels of {area} ({})",
            shot.path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Clicks a checkbox by test id and waits until the Rust side's view says
/// the stage is `on` (the page renders the view it receives).
async fn switch(call: &AppCall, id: &str, field: &str, on: bool) {
    call.app.click(id).await.unwrap();
    let deadline = Instant::now() + SECS(5);
    loop {
        let v = call
            .app
            .invoke("audio_view", serde_json::json!({}))
            .await
            .unwrap();
        if v["ok"]["stages"][field] == on {
            return;
        }
        assert!(Instant::now() < deadline, "{field} never became {on}: {v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The input with `name` in the app's list, by its id.
async fn input_id(call: &AppCall, name: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        let v = call
            .app
            .invoke("audio_view", serde_json::json!({}))
            .await
            .unwrap();
        let found = v["ok"]["inputs"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|d| d["name"] == name)
            .and_then(|d| d["id"].as_str().map(String::from));
        if found.is_some() || Instant::now() > deadline {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meter_muted_hint_switches_and_a_headset_unplugged_mid_call() {
    let far = Far::start("audio-app").await.unwrap();
    let url = far.server.url();
    // A config directory of its own: the audio settings this test changes
    // are kept (that is the point of them), and must not reach other tests.
    let config = tempfile::tempdir().unwrap();
    let config_home = config.path().to_str().unwrap().to_string();
    let mut call = AppCall::open(far, &url, &[("XDG_CONFIG_HOME", &config_home)])
        .await
        .unwrap();

    // Before joining, the meter moves with a voice in the microphone: a
    // person sees it works.
    let dir = tempfile::tempdir().unwrap();
    let voice = talk_over_noise(&call, "mic", dir.path());
    meter_moves(&call, "audio-meter-join").await;
    call.join_as_ada().await.unwrap();
    let us = our_identity(&call).await;
    // And in the call.
    meter_moves(&call, "audio-meter").await;

    // Noise suppression, switched in the page, seen at the far end. Gain
    // control and echo cancellation off first, so the switch alone moves
    // the levels: with noise the gain controller holds its gain down, and
    // with the peer's tone playing and no echo of it found, the canceller's
    // suppressor still takes a few dB off the near end.
    switch(&call, "stage-gain", "autoGainControl", false).await;
    switch(&call, "stage-echo", "echoCancellation", false).await;
    let on = received(&mut call, &us, 6.0, "ns-on").await;
    switch(&call, "stage-noise", "noiseSuppression", false).await;
    tokio::time::sleep(SECS(1)).await;
    let off = received(&mut call, &us, 6.0, "ns-off").await;
    // Left off: from here on, steady tones say which microphone is live,
    // and suppression would learn a steady tone as noise and fade it.
    let (talk_on, floor_on) = (active_level_db(&on), floor_level_db(&on));
    let (talk_off, floor_off) = (active_level_db(&off), floor_level_db(&off));
    eprintln!(
        "noise suppression switched in the page: floor {floor_on:.1} dBFS on, {floor_off:.1} off; \
         talk {talk_on:.1} / {talk_off:.1}"
    );
    assert!(
        floor_off - floor_on >= 12.0,
        "noise on {floor_on:.1} / off {floor_off:.1}"
    );
    assert!(
        (talk_on - talk_off).abs() <= 3.0,
        "talk {talk_on:.1} / {talk_off:.1}"
    );

    // Muted and talking: the hint shows, drawn.
    call.app.click("mute").await.unwrap();
    call.app.wait_visible("muted-hint", SECS(5)).await.unwrap();
    let shot = call.app.window_pixels("audio-muted-hint").await.unwrap();
    let hint = call.app.box_pixels(&shot, "muted-hint").await.unwrap();
    assert!(
        hint.painted(),
        "'You are muted' not drawn: {}",
        hint.path.display()
    );
    drop(voice);
    call.app.wait_gone("muted-hint", SECS(5)).await.unwrap();
    call.app.click("mute").await.unwrap();

    // (Gain control and echo cancellation switched in the page are not
    // checked here yet: gain switched off and on again in the app sent
    // silence once, unexplained; see the notes.)

    // A headset plugged in: listed within 2 s, no restart.
    let pulse = &call.far.pulse;
    let added = Instant::now();
    let module = pulse.add_sink("headset", "Headset").unwrap();
    let headset = input_id(&call, "Monitor of Headset", SECS(2))
        .await
        .expect("the new headset was not listed within 2 s");
    eprintln!("headset listed after {:?}", added.elapsed());
    let chosen = call
        .app
        .invoke(
            "choose_devices",
            serde_json::json!({"input": headset, "output": null}),
        )
        .await
        .unwrap();
    assert!(chosen.get("err").is_none(), "{chosen}");
    let _in_headset = tone_into(&call, "headset", 700.0);
    let _in_mic = tone_into(&call, "mic", 660.0);
    let mark = call.far.peer.mark();
    call.far
        .peer
        .wait_for_tone_after(mark, &us, 700.0, 5.0, SECS(10))
        .await
        .unwrap();

    // Unplugged mid-call: the default within a second, said on the page.
    let mark = call.far.peer.mark();
    let pulled = Instant::now();
    call.far.pulse.unload_module(module).unwrap();
    let notice = call
        .app
        .wait_text("[data-testid=device-notice]", SECS(4), |t| {
            t.contains("disconnected")
        })
        .await
        .unwrap();
    let took = pulled.elapsed();
    eprintln!("unplugged: {notice:?} after {took:?}");
    assert_eq!(
        notice,
        "Monitor of Headset disconnected — using Monitor of Mic"
    );
    // Within a second, the page's polling (50 ms) included.
    assert!(took <= SECS(1), "took {took:?}");
    call.app
        .wait_visible("device-notice", SECS(1))
        .await
        .unwrap();
    let shot = call
        .app
        .window_pixels("audio-headset-unplugged")
        .await
        .unwrap();
    let seen = call.app.box_pixels(&shot, "device-notice").await.unwrap();
    assert!(
        seen.painted(),
        "the notice is not drawn: {}",
        seen.path.display()
    );
    call.far
        .peer
        .wait_for_tone_after(mark, &us, 660.0, 5.0, SECS(5))
        .await
        .unwrap();

    // Plugged back: used again.
    let mark = call.far.peer.mark();
    let module = call.far.pulse.add_sink("headset", "Headset").unwrap();
    let _in_headset_again = tone_into(&call, "headset", 700.0);
    let notice = call
        .app
        .wait_text("[data-testid=device-notice]", SECS(3), |t| {
            t.contains("again")
        })
        .await
        .unwrap();
    assert_eq!(notice, "Monitor of Headset connected — using it again");
    call.far
        .peer
        .wait_for_tone_after(mark, &us, 700.0, 5.0, SECS(10))
        .await
        .unwrap();
    call.far.pulse.unload_module(module).unwrap();
    call.app.close().await.unwrap();
}
