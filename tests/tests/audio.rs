//! The capture path's processing on real devices (`scripts/test audio`): a
//! private PulseAudio whose speaker (`spk`) reaches our microphone (`mic`)
//! 80 ms later and 10 dB down, as a laptop's air path does; LiveKit's Python
//! SDK at the far end, talking (espeak-ng speech) and recording what it
//! receives from us. Each stage is measured on and off in the same call:
//! the level our microphone heard (recorded from the sound server) beside
//! the level the far end received. One test: it sets process-wide audio
//! variables and owns the sound server.

use std::sync::Arc;
use std::time::Duration;

use rtcstack::audio::capture::CapturePath;
use rtcstack::audio::device::Speaker;
use rtcstack::audio::processing::Stages;
use rtcstack_bot_audio::analysis::{active_level_db, band_split, floor_level_db, rms_db};
use rtcstack_testbench::client::join_with_capture;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::pulse::PulseServer;
use rtcstack_testbench::server::LiveKitServer;
use rtcstack_testbench::speech::{speech, FAR_TEXT};
use rtcstack_testbench::window::{assert_lifted, measure, median};

const SECS: fn(u64) -> Duration = Duration::from_secs;
const US: &str = "rust-audio";
/// The near end's tone (double talk, noise): not a harmonic the far
/// speech dwells on, and measured in a narrow band.
const NEAR_HZ: f64 = 1_000.0;
/// Seconds in each measured window.
const WINDOW: f64 = 6.0;

fn stages(echo: bool, noise: bool, gain: bool) -> Stages {
    Stages {
        echo_cancellation: echo,
        noise_suppression: noise,
        auto_gain_control: gain,
    }
}

/// Uniform noise at -35 dBFS RMS, seeded.
fn noise_source() -> impl FnMut(&mut [i16]) + Send + 'static {
    let mut seed = 12_345u32;
    // Uniform in ±a has RMS a/√3: a = 0.0178 · √3 ≈ -35 dBFS RMS.
    let a = 0.017_8 * 3f64.sqrt();
    move |frame: &mut [i16]| {
        for s in frame.iter_mut() {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let u = f64::from(seed >> 8) / f64::from(1u32 << 24) * 2.0 - 1.0;
            *s = (u * a * 32767.0) as i16;
        }
    }
}

fn tone_and(
    level_db: f64,
    mut under: impl FnMut(&mut [i16]) + Send + 'static,
) -> impl FnMut(&mut [i16]) + Send + 'static {
    let amplitude = 10f64.powf(level_db / 20.0) * 2f64.sqrt();
    let mut n = 0u64;
    move |frame: &mut [i16]| {
        under(frame);
        for s in frame.iter_mut() {
            let t = n as f64 / 48_000.0;
            let tone = amplitude * (std::f64::consts::TAU * NEAR_HZ * t).sin() * 32767.0;
            *s = (f64::from(*s) + tone).clamp(-32768.0, 32767.0) as i16;
            n += 1;
        }
    }
}

/// A recording looped, added to what `under` makes.
fn looped(
    recording: Vec<i16>,
    mut under: impl FnMut(&mut [i16]) + Send + 'static,
) -> impl FnMut(&mut [i16]) + Send + 'static {
    let mut pos = 0;
    move |frame: &mut [i16]| {
        under(frame);
        for s in frame.iter_mut() {
            *s = s.saturating_add(recording[pos]);
            pos = (pos + 1) % recording.len();
        }
    }
}

fn silence(frame: &mut [i16]) {
    frame.fill(0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn echo_noise_and_gain_measured_at_the_far_end_with_each_stage_on_and_off() {
    let pulse = PulseServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    pulse.echo_path(80, 10.0).unwrap();
    let server = LiveKitServer::start().await.unwrap();
    let room = "audio-room";
    let mut peer = server
        .spawn_peer(PeerOptions::new(room, "py-far", 440.0))
        .await
        .unwrap();

    // Our side as the app builds it: one capture path, its far-end
    // reference fed by the speaker, the microphone behind it.
    let path = CapturePath::new(stages(true, false, false));
    let (call, _capture, _events) = join_with_capture(&server, room, US).await.unwrap();
    call.set_audio_output(Arc::new(Speaker::open(None, Some(path.far_end())).unwrap()));
    let mic = path.open_microphone(None).unwrap();
    eprintln!("microphone: {:?}", mic.device());
    call.publish_audio(Box::new(mic)).await.unwrap();
    peer.wait_for(
        "our track",
        |e| e.kind() == "first_audio" && e.str("identity") == Some(US),
        SECS(20),
    )
    .await
    .unwrap();

    // The far end talks (a sentence, looped).
    let (far, _) = speech(dir.path(), "far", "en-us", FAR_TEXT, -20.0).unwrap();
    peer.send(serde_json::json!({"cmd": "speech", "path": far}))
        .await
        .unwrap();

    // Echo: cancellation on (nothing else, so the reduction is its own).
    tokio::time::sleep(SECS(5)).await; // the canceller's first 5 s
    let on = measure(&pulse, &mut peer, US, WINDOW, dir.path(), "echo-on")
        .await
        .unwrap();
    let (echo_on, left_on) = (rms_db(&on.mic), rms_db(&on.received));
    let per_second = on.erle_per_second();
    path.set_stages(stages(false, false, false));
    tokio::time::sleep(SECS(1)).await;
    let off = measure(&pulse, &mut peer, US, WINDOW, dir.path(), "echo-off")
        .await
        .unwrap();
    let (echo_off, left_off) = (rms_db(&off.mic), rms_db(&off.received));
    let steady = median(&per_second);
    eprintln!(
        "echo: cancellation on {echo_on:.1} dBFS heard → {left_on:.1} dBFS sent (ERLE {:.1} dB over \
         the window; per second {per_second:.0?}, median {steady:.1}); off {echo_off:.1} → \
         {left_off:.1} ({:.1} dB)",
        echo_on - left_on,
        echo_off - left_off
    );
    assert!(
        echo_on > -40.0,
        "the echo path carried nothing: {echo_on:.1} dBFS"
    );
    // Steady state: the median second. A jump in the sound server's
    // timing (seen as the canceller's delay estimate moving by 20–30 ms)
    // makes it learn the echo again, and the seconds that takes leak echo;
    // the window's mean is printed beside it.
    assert!(steady >= 25.0, "ERLE per second {per_second:.1?}");
    assert!(
        (echo_off - left_off).abs() <= 3.0,
        "with cancellation off the echo goes out as heard: {echo_off:.1} → {left_off:.1}"
    );

    // Double talk: a near-end tone under the far end's speech goes out
    // whole while cancellation removes the echo around it.
    path.set_stages(stages(true, false, false));
    let near = pulse.play_into("mic", tone_and(-25.0, silence)).unwrap();
    tokio::time::sleep(SECS(2)).await;
    let both = measure(&pulse, &mut peer, US, WINDOW, dir.path(), "double-talk")
        .await
        .unwrap();
    drop(near);
    let (tone_in, _) = band_split(&both.mic, NEAR_HZ, 15.0);
    let (tone_out, rest_out) = band_split(&both.received, NEAR_HZ, 15.0);
    eprintln!(
        "double talk: near tone {tone_in:.1} dBFS heard → {tone_out:.1} sent; the rest {:.1} → {rest_out:.1}",
        band_split(&both.mic, NEAR_HZ, 15.0).1
    );
    assert!(
        (tone_in - tone_out).abs() <= 3.0,
        "near-end tone {tone_in:.1} → {tone_out:.1} dBFS during far-end talk"
    );

    // Noise: the far end quiet; near-end noise at -35 dBFS under a person
    // talking at -20 dBFS. (Speech, not a tone: noise suppression takes a
    // steady tone for noise, libwebrtc's as much as ours.) The floor is
    // measured in the pauses, the talk by its active level.
    peer.send(serde_json::json!({"cmd": "tone", "hz": 0}))
        .await
        .unwrap();
    let near_text = "I am speaking from the near end of the call, over a noisy fan.";
    let (_, talk) = speech(dir.path(), "near-loud", "en-gb", near_text, -20.0).unwrap();
    let noisy = pulse
        .play_into("mic", looped(talk, noise_source()))
        .unwrap();
    path.set_stages(stages(true, false, false));
    tokio::time::sleep(SECS(2)).await;
    let raw = measure(&pulse, &mut peer, US, WINDOW, dir.path(), "noise-off")
        .await
        .unwrap();
    path.set_stages(stages(true, true, false));
    tokio::time::sleep(SECS(2)).await;
    let suppressed = measure(&pulse, &mut peer, US, WINDOW, dir.path(), "noise-on")
        .await
        .unwrap();
    drop(noisy);
    let (talk_off, floor_off) = (
        active_level_db(&raw.received),
        floor_level_db(&raw.received),
    );
    let (talk_on, floor_on) = (
        active_level_db(&suppressed.received),
        floor_level_db(&suppressed.received),
    );
    eprintln!(
        "noise: floor heard {:.1} dBFS; sent {floor_off:.1} (suppression off) → {floor_on:.1} (on); \
         talk {talk_off:.1} → {talk_on:.1}",
        floor_level_db(&raw.mic)
    );
    assert!(
        floor_off - floor_on >= 12.0,
        "noise {floor_off:.1} → {floor_on:.1} dBFS"
    );
    assert!(
        (talk_off - talk_on).abs() <= 3.0,
        "talk {talk_off:.1} → {talk_on:.1} dBFS"
    );

    // Gain: a quiet talker. The gain controller lifts speech (its voice
    // detector ignores a steady tone, as libwebrtc's does), so the near end
    // speaks at -45 dBFS.
    let (_, quiet) = speech(dir.path(), "near-quiet", "en-gb", near_text, -45.0).unwrap();
    let talker = pulse.play_into("mic", looped(quiet, silence)).unwrap();
    path.set_stages(stages(false, false, false));
    tokio::time::sleep(SECS(2)).await;
    let plain = measure(&pulse, &mut peer, US, WINDOW, dir.path(), "gain-off")
        .await
        .unwrap();
    path.set_stages(stages(false, false, true));
    // The controller raises its gain a few dB a second.
    tokio::time::sleep(SECS(10)).await;
    let lifted = measure(&pulse, &mut peer, US, WINDOW, dir.path(), "gain-on")
        .await
        .unwrap();
    drop(talker);
    assert_lifted(&plain, &lifted, "gain");
    call.leave().await;
}
