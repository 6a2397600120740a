//! The sender of our video: every 1/fps s a picture from the input,
//! encoded (VP8, a key frame when a receiver asks for one), split into RTP
//! packets (the marker on each frame's last) and written to the track.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use rtc::rtp::codec::vp8::Vp8Payloader;
use rtc::rtp::packetizer::Payloader;
use rtcstack_vpx::{EncoderConfig, Vp8Encoder};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};

use super::keyframe_requests::is_keyframe_request;
use crate::video::io::{SharedVideoInput, VideoFormat, VideoInput};
use crate::video::VideoFrame;

/// Payload bytes per packet: room for SRTP, headers and extensions
/// within a 1,280-byte IPv6 minimum MTU.
const MTU: usize = 1_100;

/// A bitrate that holds a picture of this size well at this rate (kbit/s),
/// as libwebrtc's defaults do: about 0.1 bit per pixel at 30 fps.
pub(crate) fn bitrate_for(format: VideoFormat) -> u32 {
    let pixels = format.width as u64 * format.height as u64 * format.fps as u64;
    ((pixels / 10_000) as u32).clamp(150, 2_500)
}

/// Encodes and sends `input` on `track` until `stop` is set.
pub(crate) async fn send_video(
    track: Arc<TrackLocalStaticRTP>,
    ssrc: u32,
    payload_type: u8,
    mut input: SharedVideoInput,
    stop: Arc<AtomicBool>,
) {
    let format = input.format();
    let mut encoder = match Vp8Encoder::new(EncoderConfig {
        width: format.width,
        height: format.height,
        fps: format.fps,
        bitrate_kbps: bitrate_for(format),
    }) {
        Ok(e) => e,
        Err(e) => {
            tracing::error!("video encoder: {e}");
            return;
        }
    };
    // Key frames asked for by the far end (the server on behalf of a new
    // subscriber, or one that lost a frame).
    let wanted = Arc::new(AtomicBool::new(true));
    let listener = tokio::spawn(keyframe_requests(Arc::clone(&track), Arc::clone(&wanted)));
    let mut payloader = Vp8Payloader::default();
    payloader.enable_picture_id = true;
    let mut sequence: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let step = 90_000 / format.fps.max(1);
    let mut picture = VideoFrame::black(format.width, format.height);
    let mut tick = tokio::time::interval(Duration::from_secs(1) / format.fps.max(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(Ordering::Relaxed) {
        tick.tick().await;
        input.next_frame(&mut picture);
        let key = wanted.swap(false, Ordering::Relaxed);
        let frames = match encoder.encode([&picture.y, &picture.u, &picture.v], key) {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!("video encode: {e}");
                wanted.store(true, Ordering::Relaxed);
                continue;
            }
        };
        for frame in frames {
            let payloads = match payloader.payload(MTU, &Bytes::from(frame.data)) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!("video packetise: {e}");
                    continue;
                }
            };
            let last = payloads.len().saturating_sub(1);
            for (i, payload) in payloads.into_iter().enumerate() {
                let packet = rtc::rtp::Packet {
                    header: rtc::rtp::Header {
                        version: 2,
                        marker: i == last,
                        payload_type,
                        sequence_number: sequence,
                        timestamp,
                        ssrc,
                        ..Default::default()
                    },
                    payload,
                };
                sequence = sequence.wrapping_add(1);
                if let Err(e) = track.write_rtp(packet).await {
                    tracing::debug!("video write: {e}");
                }
            }
        }
        timestamp = timestamp.wrapping_add(step);
    }
    listener.abort();
}

/// Sets `wanted` at each key-frame request about our track.
async fn keyframe_requests(track: Arc<TrackLocalStaticRTP>, wanted: Arc<AtomicBool>) {
    while let Some(event) = track.poll().await {
        if let TrackLocalEvent::OnRtcpPacket(packets) = event {
            if packets.iter().any(|p| is_keyframe_request(p.as_ref())) {
                wanted.store(true, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitrates_grow_with_the_picture_within_bounds() {
        let f = |width, height, fps| bitrate_for(VideoFormat { width, height, fps });
        assert_eq!(f(640, 360, 30), 691);
        assert_eq!(f(1280, 720, 30), 2_500);
        assert_eq!(f(160, 90, 15), 150);
    }
}
