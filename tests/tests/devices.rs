//! Real audio devices (cpal over ALSA's pulse plugin) on a private
//! PulseAudio with null sinks (`scripts/test engine`): our microphone is
//! heard by LiveKit's Python SDK, the peer's voice comes out of our speaker,
//! and both can be switched mid-call. One test: it sets process-wide audio
//! variables.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtcstack::audio::device::{input_devices, output_devices, Microphone, Speaker};
use rtcstack_bot_audio::analysis::spectrum_peak;
use rtcstack_bot_audio::tone::Tone;
use rtcstack_testbench::client::join_with_capture;
use rtcstack_testbench::peer::PeerOptions;
use rtcstack_testbench::pulse::PulseServer;
use rtcstack_testbench::server::LiveKitServer;

const SECS: fn(u64) -> Duration = Duration::from_secs;

// Recording blocks: several worker threads keep the call running meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn microphone_and_speaker_in_a_call_and_switched_mid_call() {
    let pulse = PulseServer::start().unwrap();
    let inputs = input_devices().unwrap();
    let outputs = output_devices().unwrap();
    assert!(
        !inputs.is_empty() && !outputs.is_empty(),
        "{inputs:?} {outputs:?}"
    );
    eprintln!("inputs: {inputs:?}\noutputs: {outputs:?}");

    // The speaker alone first: frames in, sound out of the default sink.
    {
        let speaker = Arc::new(Speaker::open(None, None).unwrap());
        let s2 = Arc::clone(&speaker);
        let feeder = std::thread::spawn(move || {
            let mut t = Tone::new(300.0, 0.3);
            let from = rtcstack::audio::io::RemoteAudio {
                identity: "x".into(),
                track_sid: "t".into(),
            };
            for _ in 0..100 {
                let mut f = [0i16; 960];
                t.fill(&mut f);
                rtcstack::audio::io::AudioSink::on_frame(&*s2, &from, &f);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        let pcm = pulse.record_speaker(1.0).unwrap();
        feeder.join().unwrap();
        let p = spectrum_peak(&pcm).expect("the speaker played nothing");
        assert!(
            (p.hz - 300.0).abs() <= 3.0 && p.level_db > -30.0,
            "speaker alone: {p:?}"
        );
    }

    let server = LiveKitServer::start().await.unwrap();
    let room = "dev-room";
    let peer = server
        .spawn_peer(PeerOptions::new(room, "py-440", 440.0))
        .await
        .unwrap();

    // Start with generated audio both ways, then switch to the devices.
    let (call, _capture, _events) = join_with_capture(&server, room, "rust-dev").await.unwrap();
    call.publish_audio(Box::new(Tone::new(880.0, 0.3)))
        .await
        .unwrap();
    peer.wait_for_tone("rust-dev", 880.0, 5.0, SECS(20))
        .await
        .unwrap();

    // Microphone: a 660 Hz voice into the virtual mic reaches the peer.
    let mut voice = Tone::new(660.0, 0.3);
    let _player = pulse.play_into_mic(move |f| voice.fill(f)).unwrap();
    assert!(call.set_audio_input(Box::new(Microphone::open(None).unwrap())));
    let heard = peer
        .wait_for_tone("rust-dev", 660.0, 5.0, SECS(20))
        .await
        .unwrap();
    eprintln!("the peer hears our microphone at {heard:.1} Hz");

    // Speaker: the peer's 440 Hz plays out of the default output.
    call.set_audio_output(Arc::new(Speaker::open(None, None).unwrap()));
    let deadline = Instant::now() + SECS(20);
    let mut last = None;
    loop {
        let pcm = tokio::task::block_in_place(|| pulse.record_speaker(0.5)).unwrap();
        last = spectrum_peak(&pcm).or(last);
        if let Some(p) = spectrum_peak(&pcm) {
            if (p.hz - 440.0).abs() <= 5.0 && p.level_db > -40.0 {
                eprintln!("our speaker plays {:.1} Hz at {:.1} dBFS", p.hz, p.level_db);
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the speaker never played the peer's tone; last heard {last:?}"
        );
    }
    call.leave().await;
}
