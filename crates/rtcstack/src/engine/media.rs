//! Media loops: the sender paces, encodes and writes our audio; one receiver
//! per remote track reads RTP into a jitter buffer and plays it out, decoded
//! or concealed, into the sink.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rtc::rtp::extension::audio_level_extension::AudioLevelExtension;
use rtc::rtp::extension::HeaderExtension;
use rtc::shared::marshal::MarshalSize;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::audio::io::{AudioInput, AudioSink, RemoteAudio};
use crate::audio::jitter::{JitterBuffer, Playout};
use crate::audio::level::{Meter, MicLevel};
use crate::audio::{is_dtx_frame, FRAME_SAMPLES};

use super::downlink::Downlink;
use super::far_reports::FarReports;
use super::numbering::Numbering;
use super::voice_loss::VoiceLoss;

const FRAME: Duration = Duration::from_millis(20);
/// Playout ticks later than this are a stall, and not made up.
const CATCH_UP: Duration = Duration::from_millis(200);
/// A pause in a remote track's packets this long is an outage.
const RTP_GAP: Duration = Duration::from_millis(500);

/// Encodes `input` to Opus every 20 ms and writes it to `track` until
/// `stop` is set. While `muted`, silence is encoded. Silence is not sent:
/// Opus's discontinuous transmission (DTX, on by default in LiveKit's and
/// browsers' clients) leaves one packet of background noise per 400 ms,
/// so a quiet participant costs the network and every receiver's decoder
/// next to nothing. Each packet carries its level (the audio-level header
/// extension): LiveKit's server finds who is speaking from it, as from
/// libwebrtc's.
pub(crate) async fn send_audio(
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    mut input: Box<dyn AudioInput>,
    muted: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    reports: FarReports,
) {
    let mut encoder =
        match opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!("opus encoder: {e}");
                return;
            }
        };
    if let Err(e) = encoder.set_dtx(true) {
        tracing::warn!("opus dtx: {e}");
    }
    // Repair carried in the next packet, as much as the loss reported
    // calls for (none until some is).
    if let Err(e) = encoder.set_inband_fec(true) {
        tracing::warn!("opus in-band fec: {e}");
    }
    let mut loss = VoiceLoss::default();
    let (mut last_report, mut told) = (None, 0);
    // The far end's reports reach every sent track (the video sender acts
    // on them); audio reads them from `reports` instead: its track's queue
    // is drained, so it never fills and overflows into the log.
    let drain = {
        let track = Arc::clone(&track);
        tokio::spawn(async move { while track.poll().await.is_some() {} })
    };
    let mut numbering = Numbering::new(rand::random(), rand::random(), FRAME_SAMPLES as u32);
    // The last frame was a DTX frame.
    let mut in_pause = false;
    let mut pcm = vec![0i16; FRAME_SAMPLES];
    let mut packet = vec![0u8; 1500];
    let mut meter = Meter::new();
    let mut tick = tokio::time::interval(FRAME);
    // After a stall, carry on from now rather than bursting the backlog.
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        input.next_frame(&mut pcm);
        // Each report once, by when it came.
        if let Some(r) = reports.get(ssrc).filter(|r| Some(r.at) != last_report) {
            last_report = Some(r.at);
            loss.on_report(r.at, r.fraction_lost);
        }
        let percent = loss.percent(Instant::now());
        if percent != told {
            told = percent;
            tracing::debug!("our voice: {told} % lost, told the encoder");
            if let Err(e) = encoder.set_packet_loss_perc(told) {
                tracing::warn!("opus packet loss: {e}");
            }
        }
        // Muted: silence, said as such (the meter is not fed it, so its
        // idea of the room's floor survives the mute).
        let level = if muted.load(Ordering::Relaxed) {
            pcm.fill(0);
            MicLevel::default()
        } else {
            meter.update(&pcm)
        };
        let len = match encoder.encode(&pcm, &mut packet) {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!("opus encode: {e}");
                // The frame's time passes all the same.
                numbering.frame(false);
                continue;
            }
        };
        // The first DTX frame of a pause is sent (as libwebrtc does): it
        // tells the far decoder the pause began, so it plays comfort noise
        // rather than concealing a loss; the rest are not.
        let dtx = is_dtx_frame(&packet[..len]);
        let sent = !dtx || !in_pause;
        in_pause = dtx;
        let Some(header) = numbering.frame(sent) else {
            continue;
        };
        let rtp = rtc::rtp::Packet {
            header: rtc::rtp::Header {
                version: 2,
                marker: header.marker,
                payload_type,
                sequence_number: header.sequence_number,
                timestamp: header.timestamp,
                ssrc,
                ..Default::default()
            },
            payload: bytes::Bytes::copy_from_slice(&packet[..len]),
        };
        let level = HeaderExtension::AudioLevel(AudioLevelExtension {
            level: level.rtp_level(),
            voice: level.voice,
        });
        if let Err(e) = track.write_rtp_with_extensions(rtp, &[level]).await {
            tracing::debug!("audio write: {e}");
        }
    }
    drain.abort();
}

/// Reads one remote audio track until it ends: packets go into a jitter
/// buffer as they arrive; every 20 ms one frame comes out, decoded (or
/// concealed) into `sink`. `session` names the track's session in the
/// timeline's first-packet and first-frame marks.
pub(crate) async fn receive_audio(
    track: Arc<dyn TrackRemote>,
    from: RemoteAudio,
    sink: Arc<dyn AudioSink>,
    session: u64,
    book: super::stats::PlayoutBook,
    downlink: Arc<Mutex<Downlink>>,
) {
    let mut decoder = match opus::Decoder::new(48_000, opus::Channels::Mono) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!("opus decoder: {e}");
            return;
        }
    };
    // Up to 120 ms per Opus packet.
    let mut pcm = vec![0i16; 5760];
    let mut buffer = JitterBuffer::new();
    let mut tick = tokio::time::interval(FRAME);
    // Ticks held up (a busy machine) are made up at once: the sink is owed
    // 50 frames a second of wall time, and the packets for them are here.
    // Skipped, the playout would fall behind the sender for good. A longer
    // stall is not made up (see `CATCH_UP`).
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let (mut first_rtp, mut first_decoded) = (true, true);
    let mut last_rtp: Option<Instant> = None;
    let mut playing = false;
    loop {
        tokio::select! {
            event = track.poll() => match event {
                Some(TrackRemoteEvent::OnRtpPacket(p)) => {
                    if std::mem::take(&mut first_rtp) {
                        super::timeline::mark(session, "first_rtp");
                    }
                    // Packets back after an outage (a gap no talker's
                    // pacing makes: Opus in DTX still sends every 400 ms).
                    let now = Instant::now();
                    if last_rtp.is_some_and(|t| now.duration_since(t) > RTP_GAP) {
                        super::timeline::mark(session, "rtp_resumed");
                    }
                    last_rtp = Some(now);
                    // The voice shares our downlink with the video.
                    downlink
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .on_voice(now, p.header.marshal_size() + p.payload.len());
                    buffer.push(
                        p.header.sequence_number,
                        p.header.timestamp,
                        p.payload,
                        Instant::now(),
                    );
                    // Not playing yet: the first frame comes out when the
                    // buffer may start, and the 20 ms ticks run from there.
                    if let Some(t) = buffer.start_at() {
                        tick.reset_at(tokio::time::Instant::from_std(t));
                    }
                }
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => {}
            },
            due = tick.tick() => {
                if due.elapsed() > CATCH_UP {
                    // A stall, not load: the jitter buffer drops the
                    // backlog; bursting its frames out would only play
                    // them fast.
                    tick.reset();
                }
                let playout = buffer.pop(Instant::now());
                book.write(&from.track_sid, buffer.stats());
                // Playout stopping and starting again, for the log: a
                // track that goes quiet is otherwise invisible.
                let now_playing = playout != Playout::Silence;
                if now_playing != playing {
                    playing = now_playing;
                    tracing::debug!(
                        "playout of {} {}: {}",
                        from.identity,
                        from.track_sid,
                        if playing { "playing" } else { "drained" }
                    );
                }
                let decoded = match playout {
                    Playout::Packet(p) => decoder.decode(&p, &mut pcm, false),
                    // The copy of the missing frame the next packet carries.
                    Playout::Repair(p) => decoder.decode(&p, &mut pcm[..FRAME_SAMPLES], true),
                    // Opus's own loss concealment fills the missing frame.
                    Playout::Conceal => decoder.decode(&[], &mut pcm[..FRAME_SAMPLES], false),
                    Playout::Silence => continue,
                };
                match decoded {
                    Ok(n) => {
                        if std::mem::take(&mut first_decoded) {
                            super::timeline::mark(session, "first_decoded");
                        }
                        sink.on_frame(&from, &pcm[..n]);
                    }
                    Err(e) => tracing::debug!("opus decode: {e}"),
                }
            }
        }
    }
    book.remove(&from.track_sid);
}
