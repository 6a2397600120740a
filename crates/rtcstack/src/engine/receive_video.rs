//! One receiver per remote video track: RTP packets are reassembled into
//! whole frames (retransmissions from NACKs fill holes meanwhile), decoded
//! from the first key frame on and handed to the sink. A frame that cannot
//! be decoded (lost, or refused by the decoder) stops decoding until the
//! next key frame, which we ask the sender for (RTCP PLI, spaced).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rtc::media::io::sample_builder::SampleBuilder;
use rtc::media::Sample;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use crate::video::decode::{Decoder, VideoCodec};
use crate::video::io::{RemoteVideo, VideoSink};
use crate::video::keyframe::{KeyframeWait, REPEAT};

/// Video's RTP clock.
const CLOCK_HZ: u32 = 90_000;
/// Packets a frame waits for a missing one (a retransmission) before it is
/// given up: several frames' worth at 360p.
const MAX_LATE_PACKETS: u16 = 256;
/// And at most this long.
const MAX_LATE: Duration = Duration::from_millis(500);

/// Whole frames out of RTP, for either codec.
enum Assembler {
    Vp8(SampleBuilder<Vp8Packet>),
    H264(SampleBuilder<H264Packet>),
}

impl Assembler {
    fn new(codec: VideoCodec) -> Self {
        match codec {
            VideoCodec::Vp8 => Assembler::Vp8(
                SampleBuilder::new(MAX_LATE_PACKETS, Vp8Packet::default(), CLOCK_HZ)
                    .with_max_time_delay(MAX_LATE),
            ),
            VideoCodec::H264 => Assembler::H264(
                SampleBuilder::new(MAX_LATE_PACKETS, H264Packet::default(), CLOCK_HZ)
                    .with_max_time_delay(MAX_LATE),
            ),
        }
    }

    fn push(&mut self, now: Instant, p: rtc::rtp::Packet) {
        match self {
            Assembler::Vp8(b) => b.push(now, p),
            Assembler::H264(b) => b.push(now, p),
        }
    }

    fn pop(&mut self, now: Instant) -> Option<Sample> {
        match self {
            Assembler::Vp8(b) => b.pop(now),
            Assembler::H264(b) => b.pop(now),
        }
    }
}

/// The decoding state of a track, once its first packet named its codec.
struct Stream {
    ssrc: u32,
    assembler: Assembler,
    decoder: Decoder,
}

/// Reads one remote video track until it ends.
pub(crate) async fn receive_video(
    track: Arc<dyn TrackRemote>,
    from: RemoteVideo,
    sink: Arc<dyn VideoSink>,
    session: u64,
) {
    let mut stream: Option<Stream> = None;
    let mut keyframes = KeyframeWait::new();
    let mut unknown_codec_said = false;
    let mut first_decoded = true;
    // The RTP timestamp of the last frame shown.
    let mut last_shown: Option<u32> = None;
    // A sender that did not answer a request is asked again.
    let mut retry = tokio::time::interval(REPEAT);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let packet = tokio::select! {
            event = track.poll() => match event {
                Some(TrackRemoteEvent::OnRtpPacket(p)) => Some(p),
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => None,
            },
            _ = retry.tick() => None,
        };
        let now = Instant::now();
        if let Some(p) = packet {
            if stream.is_none() {
                let ssrc = p.header.ssrc;
                let mime = track.codec(ssrc).await.map(|c| c.mime_type);
                match mime.as_deref().and_then(VideoCodec::from_mime) {
                    Some(codec) => match Decoder::new(codec) {
                        Ok(decoder) => {
                            super::timeline::mark(session, "first_video_rtp");
                            stream = Some(Stream {
                                ssrc,
                                assembler: Assembler::new(codec),
                                decoder,
                            });
                        }
                        Err(e) => {
                            tracing::warn!("video of {}: {e}", from.identity);
                            break;
                        }
                    },
                    None => {
                        if !std::mem::replace(&mut unknown_codec_said, true) {
                            tracing::warn!(
                                "video of {} {}: codec {mime:?} not supported",
                                from.identity,
                                from.track_sid
                            );
                        }
                        continue;
                    }
                }
            }
            let Some(s) = stream.as_mut() else { continue };
            s.assembler.push(now, p);
            while let Some(sample) = s.assembler.pop(now) {
                if sample.prev_dropped_packets > sample.prev_padding_packets {
                    keyframes.broken();
                }
                // A frame older than one shown already (a late duplicate
                // or retransmission reassembled again) would be decoded on
                // top of newer references: dropped.
                if last_shown.is_some_and(|t| !is_newer(sample.packet_timestamp, t)) {
                    tracing::debug!("video of {}: stale frame dropped", from.identity);
                    continue;
                }
                let key = s.decoder.codec().is_keyframe(&sample.data);
                if !keyframes.admit(key) {
                    continue;
                }
                match s.decoder.decode(&sample.data, sample.packet_timestamp) {
                    Ok(Some(frame)) => {
                        last_shown = Some(frame.rtp_timestamp);
                        if std::mem::take(&mut first_decoded) {
                            super::timeline::mark(session, "first_video_frame");
                        }
                        sink.on_frame(&from, &frame);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!("video of {}: {e}", from.identity);
                        keyframes.broken();
                    }
                }
            }
        }
        if let Some(s) = &stream {
            if keyframes.ask(now) {
                let pli = PictureLossIndication {
                    sender_ssrc: 0,
                    media_ssrc: s.ssrc,
                };
                if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                    tracing::debug!("key frame request: {e}");
                }
            }
        }
    }
}

/// Whether RTP timestamp `ts` is after `last` (serial arithmetic: the 32-bit
/// clock wraps every 13 hours at 90 kHz).
fn is_newer(ts: u32, last: u32) -> bool {
    (ts.wrapping_sub(last) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::is_newer;

    #[test]
    fn newer_frames_are_told_across_the_wrap() {
        assert!(is_newer(3000, 0));
        assert!(!is_newer(3000, 3000), "the same frame again");
        assert!(!is_newer(0, 3000), "an older frame");
        assert!(is_newer(1000, u32::MAX - 2000), "after the wrap");
        assert!(!is_newer(u32::MAX - 2000, 1000));
    }
}
