//! One receiver per remote video track: RTP packets are reassembled into
//! whole frames ([`FrameAssembler`]: each as soon as its last packet is
//! in; retransmissions from NACKs fill holes meanwhile), decoded
//! from the first key frame on and handed to the sink (or handed over as
//! they came, where the sink decodes them itself: [`Delivery`]). A frame
//! that cannot be decoded (lost, or refused by the decoder) stops decoding
//! until the next key frame, which we ask the sender for (RTCP PLI,
//! spaced).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::codec::vp8::Vp8Packet;
use rtc::rtp::codec::vp9::Vp9Packet;
use rtc::rtp::packetizer::Depacketizer;
use rtc::shared::marshal::MarshalSize;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};

use super::downlink::{abs_send_time, Downlink};
use super::stats::PictureSize;
use crate::video::assembly::{Frame, FrameAssembler};
use crate::video::decode::{Decoder, VideoCodec};
use crate::video::io::{Delivery, EncodedVideo, RemoteVideo, VideoSink};
use crate::video::keyframe::{KeyframeWait, REPEAT};
use crate::video::picture_id;
use crate::video::trailer;

/// Packets a frame waits for a missing one (a retransmission) before it is
/// given up: several frames' worth at 360p.
const MAX_LATE_PACKETS: u16 = 256;
/// And at most this long.
const MAX_LATE: Duration = Duration::from_millis(500);
/// How often whether a REMB is due is looked at (they come every 200 ms
/// at the most).
const REMB_CHECK: Duration = Duration::from_millis(100);

/// Whole frames out of RTP, for each codec. A VP9 picture's spatial layers
/// share a timestamp and end at the marker: they come out as one frame, the
/// layers one after another, as the decoder takes them.
enum Assembler {
    Vp8(FrameAssembler<Vp8Packet>),
    Vp9(FrameAssembler<Vp9Fresh>),
    H264(FrameAssembler<H264Packet>),
}

impl Assembler {
    fn new(codec: VideoCodec) -> Self {
        match codec {
            VideoCodec::Vp8 => Assembler::Vp8(FrameAssembler::new(
                picture_id::vp8,
                MAX_LATE_PACKETS,
                MAX_LATE,
            )),
            VideoCodec::Vp9 => Assembler::Vp9(FrameAssembler::new(
                picture_id::vp9,
                MAX_LATE_PACKETS,
                MAX_LATE,
            )),
            VideoCodec::H264 => Assembler::H264(FrameAssembler::new(
                picture_id::none,
                MAX_LATE_PACKETS,
                MAX_LATE,
            )),
        }
    }

    fn push(&mut self, now: Instant, p: rtc::rtp::Packet) {
        match self {
            Assembler::Vp8(b) => b.push(now, p),
            Assembler::Vp9(b) => b.push(now, p),
            Assembler::H264(b) => b.push(now, p),
        }
    }

    /// See [`FrameAssembler::head`].
    fn head(&self, p: &rtc::rtp::Packet) -> Option<bytes::Bytes> {
        match self {
            Assembler::Vp8(_) => FrameAssembler::<Vp8Packet>::head(p),
            Assembler::Vp9(_) => FrameAssembler::<Vp9Fresh>::head(p),
            Assembler::H264(_) => {
                h264_fragment_head(&p.payload).or_else(|| FrameAssembler::<H264Packet>::head(p))
            }
        }
    }

    fn pop(&mut self, now: Instant) -> Option<Frame> {
        match self {
            Assembler::Vp8(b) => b.pop(now),
            Assembler::Vp9(b) => b.pop(now),
            Assembler::H264(b) => b.pop(now),
        }
    }
}

/// The start of a NAL unit split into fragments (FU-A, RFC 6184 5.8) as
/// the unit begins (start code, its header, the first fragment): rtc's
/// depacketizer gives it only at its end, and a key frame's first packet
/// has to tell it is one. `None` for any other packet.
fn h264_fragment_head(payload: &[u8]) -> Option<bytes::Bytes> {
    const FU_A: u8 = 28;
    const START: u8 = 0x80;
    match *payload {
        [indicator, header, ref rest @ ..] if indicator & 0x1f == FU_A && header & START != 0 => {
            let mut unit = vec![0, 0, 0, 1, (indicator & 0xe0) | (header & 0x1f)];
            unit.extend_from_slice(rest);
            Some(unit.into())
        }
        _ => None,
    }
}

/// VP9's payload descriptor read afresh from each packet: rtc 0.21.1's
/// `Vp9Packet` keeps the reference indices (P_DIFF) of every packet it
/// reads and refuses each packet once three are kept: a flexible-mode
/// stream (libwebrtc's) stopped at its third predicted picture. Where a
/// layer's frame ends, a packet trailer after it is left out (the server
/// strips only the picture's last: [`trailer`]).
#[derive(Default)]
struct Vp9Fresh(Vp9Packet);

impl Depacketizer for Vp9Fresh {
    fn depacketize(&mut self, payload: &bytes::Bytes) -> rtc::shared::error::Result<bytes::Bytes> {
        self.0 = Vp9Packet::default();
        let frame = self.0.depacketize(payload)?;
        if !self.0.e {
            return Ok(frame);
        }
        let end = frame.len() - trailer::trailer_len(&frame);
        Ok(frame.slice(..end))
    }

    fn is_partition_head(&self, payload: &bytes::Bytes) -> bool {
        self.0.is_partition_head(payload)
    }

    fn is_partition_tail(&self, marker: bool, payload: &bytes::Bytes) -> bool {
        self.0.is_partition_tail(marker, payload)
    }
}

/// The decoding state of a track, once its first packet named its codec.
struct Stream {
    ssrc: u32,
    assembler: Assembler,
    decoder: Decoder,
    /// Whether frames go to the sink as they came (not decoded here).
    encoded: bool,
}

/// Whether the sink's `wanted` way starts again from a key frame, given
/// frames went as they came or not (`encoded`): a change of way (the
/// decoder taking over has no references) or a sink that lost its place.
fn starts_again(wanted: Delivery, encoded: bool) -> bool {
    wanted == Delivery::EncodedFromKey || (wanted != Delivery::Decoded) != encoded
}

/// Reads one remote video track until it ends. With `downlink` (the
/// abs-send-time extension's id, and the session's estimate), each packet
/// feeds the downlink's estimate and a REMB goes back when due.
pub(crate) async fn receive_video(
    track: Arc<dyn TrackRemote>,
    from: RemoteVideo,
    sink: Arc<dyn VideoSink>,
    session: u64,
    downlink: Option<(u8, Arc<Mutex<Downlink>>)>,
    pictures: super::stats::PictureBook,
) {
    let mut stream: Option<Stream> = None;
    let mut keyframes = KeyframeWait::new();
    let mut unknown_codec_said = false;
    let mut first_decoded = true;
    // The RTP timestamp of the last frame shown, and its size.
    let mut last_shown: Option<u32> = None;
    let mut last_size: Option<PictureSize> = None;
    // A sender that did not answer a request is asked again.
    let mut retry = tokio::time::interval(REPEAT);
    retry.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Whether a REMB is due is looked at more often than one can be.
    let mut remb_check = tokio::time::interval(REMB_CHECK);
    remb_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let (packet, remb_due) = tokio::select! {
            event = track.poll() => match event {
                Some(TrackRemoteEvent::OnRtpPacket(p)) => (Some(p), false),
                Some(TrackRemoteEvent::OnEnded) | None => break,
                Some(_) => (None, false),
            },
            _ = retry.tick() => (None, false),
            _ = remb_check.tick(), if downlink.is_some() => (None, true),
        };
        let now = Instant::now();
        if let (Some(p), Some((id, estimate))) = (&packet, &downlink) {
            let mut estimate = estimate.lock().unwrap_or_else(PoisonError::into_inner);
            estimate.on_number(p.header.ssrc, p.header.sequence_number);
            if let Some(sent) = p.header.get_extension(*id).and_then(|v| abs_send_time(&v)) {
                let size = p.header.marshal_size() + p.payload.len();
                estimate.on_packet(now, sent, size, p.header.ssrc);
            }
        }
        if remb_due {
            if let Some((_, estimate)) = &downlink {
                let remb = estimate
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remb(now);
                if let Some(remb) = remb {
                    tracing::debug!("REMB {:.0} kbit/s", remb.bitrate / 1000.0);
                    if let Err(e) = track.write_rtcp(vec![Box::new(remb)]).await {
                        tracing::debug!("REMB: {e}");
                    }
                }
            }
            continue;
        }
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
                                encoded: false,
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
            if let Some(s) = stream.as_mut() {
                let key = s
                    .assembler
                    .head(&p)
                    .map(|head| s.decoder.codec().is_keyframe(&head));
                keyframes.on_packet(now, p.header.timestamp, key);
                s.assembler.push(now, p);
            }
        }
        // Also on the timer: a hole is given up in time though the sender
        // went quiet.
        if let Some(s) = stream.as_mut() {
            while let Some(frame) = s.assembler.pop(now) {
                if frame.after_loss {
                    keyframes.broken();
                }
                // A frame older than one shown already (a late duplicate
                // or retransmission reassembled again) would be decoded on
                // top of newer references: dropped.
                if last_shown.is_some_and(|t| !is_newer(frame.timestamp, t)) {
                    tracing::debug!("video of {}: stale frame dropped", from.identity);
                    continue;
                }
                let codec = s.decoder.codec();
                let wanted = sink.delivery(&from, codec);
                if starts_again(wanted, s.encoded) {
                    s.encoded = wanted != Delivery::Decoded;
                    keyframes.broken();
                }
                let key = codec.is_keyframe(&frame.data);
                if !keyframes.admit(key) {
                    continue;
                }
                if s.encoded {
                    last_shown = Some(frame.timestamp);
                    sink.on_encoded(
                        &from,
                        &EncodedVideo {
                            codec,
                            data: &frame.data,
                            key,
                            rtp_timestamp: frame.timestamp,
                        },
                    );
                    continue;
                }
                match s.decoder.decode(&frame.data, frame.timestamp) {
                    Ok(Some(picture)) => {
                        last_shown = Some(picture.rtp_timestamp);
                        if std::mem::take(&mut first_decoded) {
                            super::timeline::mark(session, "first_video_frame");
                        }
                        let size = PictureSize {
                            width: picture.width,
                            height: picture.height,
                        };
                        // Told on a change of layer, not with every picture.
                        if last_size.replace(size) != Some(size) {
                            pictures.write(&from.track_sid, size);
                        }
                        sink.on_frame(&from, &picture);
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
                tracing::debug!("video of {}: key frame asked for", from.identity);
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
    pictures.remove(&from.track_sid);
}

/// Whether RTP timestamp `ts` is after `last` (serial arithmetic: the 32-bit
/// clock wraps every 13 hours at 90 kHz).
fn is_newer(ts: u32, last: u32) -> bool {
    (ts.wrapping_sub(last) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flexible-mode VP9 packet as libwebrtc sends one: picture id (15
    /// bits), layer indices, one reference index, then the frame.
    fn predicted(picture_id: u16) -> bytes::Bytes {
        let [hi, lo] = (picture_id | 0x8000).to_be_bytes();
        // I P L F B E, Z; T=2 U S=0 D=0; P_DIFF 1, no other.
        bytes::Bytes::from(vec![0xfd, hi, lo, 0x52, 0x02, 0x87, 0x00, 0x20])
    }

    #[test]
    fn an_h264_key_frame_is_told_from_its_first_fragment() {
        let codec = VideoCodec::H264;
        let assembler = Assembler::new(codec);
        let packet = |payload: &[u8]| rtc::rtp::Packet {
            payload: bytes::Bytes::copy_from_slice(payload),
            ..Default::default()
        };
        let key = |payload: &[u8]| {
            assembler
                .head(&packet(payload))
                .map(|head| codec.is_keyframe(&head))
        };
        // FU-A (NRI 3, type 28), start bit, an IDR slice (5) whose
        // first_mb_in_slice is 0 (its first bit 1).
        assert_eq!(key(&[0x7c, 0x85, 0x88, 0x80, 0x21]), Some(true));
        // Its middle and end are no head.
        assert_eq!(key(&[0x7c, 0x05, 0x11, 0x22]), None);
        assert_eq!(key(&[0x7c, 0x45, 0x11, 0x22]), None);
        // A fragmented non-IDR slice (1) starts no key frame.
        assert_eq!(key(&[0x7c, 0x81, 0x9a, 0x00]), Some(false));
        // An IDR slice whole in one packet (single NAL unit).
        assert_eq!(key(&[0x65, 0x88, 0x80, 0x21]), Some(true));
    }

    #[test]
    fn every_vp9_packet_is_read_on_its_own() {
        let mut fresh = Vp9Fresh::default();
        for id in 0..100 {
            let frame = fresh.depacketize(&predicted(id)).unwrap();
            assert_eq!(&frame[..], &[0x87, 0x00, 0x20], "packet {id}");
            assert_eq!(fresh.0.picture_id, id);
            assert_eq!(fresh.0.pdiff, vec![1]);
        }
        // A layer's frame with a packet trailer after it (E set): the
        // frame alone. Not at its end (E clear): left as it is.
        let trailed = |end: bool| {
            let mut p = vec![if end { 0xfd } else { 0xf9 }, 0x80, 0x01, 0x52, 0x02];
            p.extend_from_slice(&[0x87, 0x00, 0x20, 0x11, 0x22, 5 ^ 0xFF]);
            p.extend_from_slice(b"LKTS");
            bytes::Bytes::from(p)
        };
        let frame = fresh.depacketize(&trailed(true)).unwrap();
        assert_eq!(&frame[..], &[0x87, 0x00, 0x20, 0x11, 0x22]);
        let part = fresh.depacketize(&trailed(false)).unwrap();
        assert_eq!(part.len(), 10);
        // rtc's own, reused as a sample builder reuses it, refuses the
        // third: when it reads packets right, this stand-in can go.
        let mut kept = Vp9Packet::default();
        let refused = (0..3).position(|id| kept.depacketize(&predicted(id)).is_err());
        assert_eq!(refused, Some(2));
    }

    #[test]
    fn a_change_of_way_or_a_lost_place_starts_again_from_a_key_frame() {
        assert!(!starts_again(Delivery::Decoded, false));
        assert!(!starts_again(Delivery::Encoded, true));
        assert!(
            starts_again(Delivery::Encoded, false),
            "to the sink's decoder"
        );
        assert!(starts_again(Delivery::Decoded, true), "back to ours");
        assert!(
            starts_again(Delivery::EncodedFromKey, true),
            "its place lost"
        );
        assert!(starts_again(Delivery::EncodedFromKey, false));
    }

    #[test]
    fn newer_frames_are_told_across_the_wrap() {
        assert!(is_newer(3000, 0));
        assert!(!is_newer(3000, 3000), "the same frame again");
        assert!(!is_newer(0, 3000), "an older frame");
        assert!(is_newer(1000, u32::MAX - 2000), "after the wrap");
        assert!(!is_newer(u32::MAX - 2000, 1000));
    }
}
