//! The app's audio as a person meets it (`scripts/test audio`, the real app
//! under tauri-driver, a private PulseAudio, the Python peer): the
//! microphone's meter moving, "You are muted" when a muted person talks,
//! the voice-processing switches changing what the far end receives, and a
//! device unplugged mid-call: the default takes over within a second, the
//! page says so, the peer keeps hearing us; plugged back, it is used again.
//! Screenshots in artifacts/.

use std::time::{Duration, Instant};

use rtcstack_bot_audio::analysis::{active_level_db, band_split, floor_level_db, rms_db};
use rtcstack_bot_audio::tone::Tone;
use rtcstack_testbench::netchange::{AppCall, Far};
use rtcstack_testbench::pulse::Player;
use rtcstack_testbench::speech::{speech, FAR_TEXT};
use rtcstack_testbench::window::{assert_lifted, measure, median, Window};

const SECS: fn(u64) -> Duration = Duration::from_secs;
/// The meter's fill colour (ui/src/styles.css `.meter-fill`).
const METER_GREEN: [u8; 3] = [0x2f, 0x9e, 0x44];

/// What the near end says.
const NEAR_TEXT: &str = "I am speaking from the near end of the call, over a noisy fan.";

/// Plays a person talking at -20 dBFS (espeak-ng) over noise at -35 dBFS
/// into `sink`. Speech, not a tone: noise suppression takes a steady tone
/// for noise.
fn talk_over_noise(call: &AppCall, sink: &str, dir: &std::path::Path) -> Player {
    let (_, talk) = speech(dir, "near", "en-gb", NEAR_TEXT, -20.0).unwrap();
    looped_into(call, sink, talk, true)
}

/// Plays a recording into `sink`, looped, over uniform noise at -35 dBFS
/// RMS when `noise`.
fn looped_into(call: &AppCall, sink: &str, talk: Vec<i16>, noise: bool) -> Player {
    let mut seed = 99u32;
    let a = if noise { 0.017_8 * 3f64.sqrt() } else { 0.0 };
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

/// What our microphone heard and the peer received over `seconds`.
async fn heard_and_sent(
    call: &mut AppCall,
    us: &str,
    seconds: f64,
    dir: &std::path::Path,
    name: &str,
) -> Window {
    let far = &mut call.far;
    measure(&far.pulse, &mut far.peer, us, seconds, dir, name)
        .await
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

/// Waits (`within`) for a screenshot named `name` in which the meter is
/// drawn more than a third full (above -40 dBFS): talk comes and goes, so
/// the fill does too.
async fn meter_moves(call: &AppCall, name: &str, within: Duration) {
    let started = Instant::now();
    loop {
        let shot = call.app.window_pixels(name).await.unwrap();
        let meter = call.app.seen("mic-meter").await;
        let area = shot.box_of(&meter).area();
        let green = shot.count(shot.box_of(&meter), METER_GREEN);
        if area > 0 && green > area / 3 {
            eprintln!(
                "{name}: the meter drawn filled after {:?}",
                started.elapsed()
            );
            return;
        }
        assert!(
            started.elapsed() < within,
            "{name}: the meter is not drawn filled: {green} green pixels of {area} ({})",
            shot.path.display()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The device with `name` in the app's list (`inputs` or `outputs`), by
/// its id.
async fn device_id(call: &AppCall, list: &str, name: &str, within: Duration) -> Option<String> {
    let deadline = Instant::now() + within;
    loop {
        let v = call
            .app
            .invoke("audio_view", serde_json::json!({}))
            .await
            .unwrap();
        let found = v["ok"][list]
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

/// The level of the peer's 440 Hz tone in what a sink plays (dBFS).
fn peer_tone_on(call: &AppCall, sink: &str) -> f64 {
    let played =
        tokio::task::block_in_place(|| call.far.pulse.record(&format!("{sink}.monitor"), 1.0))
            .unwrap();
    band_split(&played, 440.0, 15.0).0
}

/// Waits (`within`) for the peer's tone to play in `sink`, above -40 dBFS.
async fn peer_heard_in(call: &AppCall, sink: &str, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let level = peer_tone_on(call, sink);
        if level > -40.0 {
            return;
        }
        if Instant::now() > deadline {
            // What the sound server had: which streams play where, corked
            // or not, and whether the tone went to the default speaker.
            let inputs = call.far.pulse.pactl(&["list", "sink-inputs"]);
            let sinks = call.far.pulse.pactl(&["list", "sinks", "short"]);
            let on_spk = peer_tone_on(call, "spk");
            panic!(
                "the peer's tone is not played in {sink}: {level:.1} dBFS \
                 (on spk: {on_spk:.1})\nsinks:\n{sinks:?}\nsink inputs:\n{inputs:?}"
            );
        }
    }
}

/// Removes a device (its sink's module) and waits for the notice that
/// says so: within a second, the page's polling (50 ms) included.
async fn unplug(call: &AppCall, module: u32, want: &str) {
    let pulled = Instant::now();
    call.far.pulse.unload_module(module).unwrap();
    notice_within(call, want, pulled, SECS(1)).await;
}

/// Waits for the device notice to say `want`, at most `within` after
/// `since` (the device's change).
async fn notice_within(call: &AppCall, want: &str, since: Instant, within: Duration) {
    let notice = call
        .app
        .wait_text("[data-testid=device-notice]", within + SECS(2), |t| {
            t == want
        })
        .await
        .unwrap();
    let took = since.elapsed();
    eprintln!("{notice:?} after {took:?}");
    assert!(took <= within, "{want:?} took {took:?}");
}

/// Chooses devices in the app (`None`: the system default).
async fn choose(call: &AppCall, input: Option<&str>, output: Option<&str>) {
    let chosen = call
        .app
        .invoke(
            "choose_devices",
            serde_json::json!({"input": input, "output": output}),
        )
        .await
        .unwrap();
    assert!(chosen.get("err").is_none(), "{chosen}");
}

/// The device notice drawn on screen, in a screenshot named `name`.
async fn notice_drawn(call: &AppCall, name: &str) {
    call.app
        .wait_visible("device-notice", SECS(1))
        .await
        .unwrap();
    let (_, seen) = call
        .app
        .wait_painted(name, &["device-notice"], SECS(3))
        .await
        .unwrap();
    assert!(seen[0].painted(), "the notice is not drawn: {}", seen[0]);
}

/// The page keeps the newest audio view it hears: a view comes by event
/// on every change and by reply when the page loads, by different ways,
/// so an older one can arrive last. Staged from the page with two events,
/// in order: an old view (change 1, its notice "older"), then a newer one
/// ("newer"). Once "newer" shows, "older" was heard first: it must never
/// have been drawn. (It leaves the page's last change far ahead: the
/// test's last step.)
async fn drops_an_older_view(call: &AppCall) {
    let now = call
        .app
        .invoke("audio_view", serde_json::json!({}))
        .await
        .unwrap();
    let mut view = now.get("ok").cloned().expect("the audio view");
    let observe = "const n = document.querySelector('[data-testid=device-notice]'); \
                   window.__noticesDrawn = []; \
                   new MutationObserver(() => window.__noticesDrawn.push(n.textContent)) \
                     .observe(n, {childList: true, characterData: true, subtree: true}); \
                   return true;";
    call.app.client.execute(observe, vec![]).await.unwrap();
    for (seq, text) in [(1u64, "older"), (1 << 40, "newer")] {
        view["seq"] = seq.into();
        view["notice"] = serde_json::json!({"key": "plain", "params": {"text": text}});
        call.app.emit("audio-view", view.clone()).await.unwrap();
    }
    call.app
        .wait_text("[data-testid=device-notice]", SECS(5), |t| t == "newer")
        .await
        .unwrap();
    let drawn = call
        .app
        .client
        .execute("return window.__noticesDrawn;", vec![])
        .await
        .unwrap();
    // (A real change may come between: only the old one must not show.)
    let drawn: Vec<String> = serde_json::from_value(drawn).unwrap();
    assert!(
        !drawn.iter().any(|t| t == "older") && drawn.last().map(String::as_str) == Some("newer"),
        "notices drawn: {drawn:?}"
    );
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
    meter_moves(&call, "audio-meter-join", SECS(5)).await;
    call.join_as_ada().await.unwrap();
    let us = call.ada_identity().await.unwrap();
    // And in the call. The peer's tone plays from the start, and the echo
    // canceller holds the near end down until it has found there is no
    // echo of it: measured 0.2-6.8 s before the meter fills.
    meter_moves(&call, "audio-meter", SECS(10)).await;

    // Noise suppression, switched in the page, seen at the far end. Gain
    // control and echo cancellation off first, so the switch alone moves
    // the levels: with noise the gain controller holds its gain down, and
    // with the peer's tone playing and no echo of it found, the canceller's
    // suppressor still takes a few dB off the near end.
    call.switch_stage("stage-gain", "autoGainControl", false)
        .await
        .unwrap();
    call.switch_stage("stage-echo", "echoCancellation", false)
        .await
        .unwrap();
    let on = heard_and_sent(&mut call, &us, 6.0, dir.path(), "ns-on")
        .await
        .received;
    call.switch_stage("stage-noise", "noiseSuppression", false)
        .await
        .unwrap();
    tokio::time::sleep(SECS(1)).await;
    let off = heard_and_sent(&mut call, &us, 6.0, dir.path(), "ns-off")
        .await
        .received;
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
    let (_, hint) = call
        .app
        .wait_painted("audio-muted-hint", &["muted-hint"], SECS(3))
        .await
        .unwrap();
    assert!(hint[0].painted(), "'You are muted' not drawn: {}", hint[0]);
    drop(voice);
    call.app.wait_gone("muted-hint", SECS(5)).await.unwrap();
    call.app.click("mute").await.unwrap();

    // Echo cancellation, switched on in the page (gain and suppression
    // off, so the canceller alone moves the levels): the peer talks, and
    // our speaker reaches our microphone 80 ms later and 10 dB down, as on
    // a laptop. Off, the peer receives its own voice back as loud as our
    // microphone heard it; on, at least 25 dB under it (the median second:
    // see the audio test).
    let echo = call.far.pulse.echo_path(80, 10.0).unwrap();
    let (far_talk, _) = speech(dir.path(), "far", "en-us", FAR_TEXT, -20.0).unwrap();
    call.far
        .peer
        .send(serde_json::json!({"cmd": "speech", "path": far_talk}))
        .await
        .unwrap();
    tokio::time::sleep(SECS(1)).await;
    let off = heard_and_sent(&mut call, &us, 4.0, dir.path(), "echo-off").await;
    call.switch_stage("stage-echo", "echoCancellation", true)
        .await
        .unwrap();
    tokio::time::sleep(SECS(5)).await; // the canceller's first seconds
    let on = heard_and_sent(&mut call, &us, 6.0, dir.path(), "echo-on").await;
    let (heard_off, sent_off) = (rms_db(&off.mic), rms_db(&off.received));
    let per_second = on.erle_per_second();
    eprintln!(
        "echo cancellation switched in the page: off {heard_off:.1} dBFS heard → {sent_off:.1} \
         sent; on, removed per second {per_second:.0?}"
    );
    assert!(
        heard_off > -40.0,
        "no echo reached the microphone: {heard_off:.1}"
    );
    assert!(
        (heard_off - sent_off).abs() <= 3.0,
        "echo cancellation off: {heard_off:.1} → {sent_off:.1}"
    );
    assert!(
        median(&per_second) >= 25.0,
        "echo cancellation on: {per_second:.1?}"
    );
    call.far
        .peer
        .send(serde_json::json!({"cmd": "tone", "hz": 0}))
        .await
        .unwrap();
    call.far.pulse.unload_module(echo).unwrap();

    // Gain control, switched on in the page: a quiet talker (-45 dBFS)
    // goes out as heard with it off, and lifted into -30..-12 dBFS on
    // (the controller raises its gain a few dB a second).
    call.switch_stage("stage-echo", "echoCancellation", false)
        .await
        .unwrap();
    let (_, quiet) = speech(dir.path(), "near-quiet", "en-gb", NEAR_TEXT, -45.0).unwrap();
    let talker = looped_into(&call, "mic", quiet, false);
    tokio::time::sleep(SECS(2)).await;
    let plain = heard_and_sent(&mut call, &us, 6.0, dir.path(), "gain-off").await;
    call.switch_stage("stage-gain", "autoGainControl", true)
        .await
        .unwrap();
    tokio::time::sleep(SECS(10)).await;
    let lifted = heard_and_sent(&mut call, &us, 6.0, dir.path(), "gain-on").await;
    drop(talker);
    assert_lifted(&plain, &lifted, "gain control switched in the page");
    // Off again: the steady tones from here on say which microphone is
    // live, at the level played.
    call.switch_stage("stage-gain", "autoGainControl", false)
        .await
        .unwrap();

    // A headset plugged in: listed within 2 s, no restart.
    let pulse = &call.far.pulse;
    let added = Instant::now();
    let module = pulse.add_sink("headset", "Headset").unwrap();
    let headset = device_id(&call, "inputs", "Monitor of Headset", SECS(2))
        .await
        .expect("the new headset was not listed within 2 s");
    eprintln!("headset listed after {:?}", added.elapsed());
    choose(&call, Some(headset.as_str()), None).await;
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
    unplug(
        &call,
        module,
        "Monitor of Headset disconnected — using Monitor of Mic",
    )
    .await;
    notice_drawn(&call, "audio-headset-unplugged").await;
    call.far
        .peer
        .wait_for_tone_after(mark, &us, 660.0, 5.0, SECS(5))
        .await
        .unwrap();

    // Plugged back: used again.
    let mark = call.far.peer.mark();
    let plugged = Instant::now();
    let module = call.far.pulse.add_sink("headset", "Headset").unwrap();
    let _in_headset_again = tone_into(&call, "headset", 700.0);
    notice_within(
        &call,
        "Monitor of Headset connected — using it again",
        plugged,
        SECS(3),
    )
    .await;
    call.far
        .peer
        .wait_for_tone_after(mark, &us, 700.0, 5.0, SECS(10))
        .await
        .unwrap();
    unplug(
        &call,
        module,
        "Monitor of Headset disconnected — using Monitor of Mic",
    )
    .await;

    // Headphones chosen as the output: the peer is heard in them.
    call.far
        .peer
        .send(serde_json::json!({"cmd": "tone", "hz": 440}))
        .await
        .unwrap();
    let module = call.far.pulse.add_sink("phones", "Headphones").unwrap();
    let phones = device_id(&call, "outputs", "Headphones", SECS(2))
        .await
        .expect("the new headphones were not listed within 2 s");
    choose(&call, None, Some(phones.as_str())).await;
    peer_heard_in(&call, "phones", SECS(5)).await;

    // Unplugged mid-call: the default speaker within a second, said on
    // the page, and the peer heard there.
    unplug(&call, module, "Headphones disconnected — using Speaker").await;
    notice_drawn(&call, "audio-headphones-unplugged").await;
    peer_heard_in(&call, "spk", SECS(2)).await;

    // Plugged back: used again.
    let plugged = Instant::now();
    let module = call.far.pulse.add_sink("phones", "Headphones").unwrap();
    notice_within(
        &call,
        "Headphones connected — using it again",
        plugged,
        SECS(3),
    )
    .await;
    peer_heard_in(&call, "phones", SECS(5)).await;
    drops_an_older_view(&call).await;
    call.far.pulse.unload_module(module).unwrap();
    call.app.close().await.unwrap();
}
