//! The decoders behind one interface: VP8 (libvpx, what browsers send by
//! default), VP9 (libvpx, profile 0: what LiveKit advises for quality, and
//! what a room falls back from for everyone if one subscriber lacks it) and
//! H.264 (OpenH264, constrained baseline as WebRTC sends it).
//! A compressed frame in, a `VideoFrame` out; errors are values, never
//! panics, whatever the network delivered.

use openh264::formats::YUVSource;

use super::frame::{Plane, VideoFrame};

/// A codec we can decode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoCodec {
    Vp8,
    Vp9,
    H264,
}

impl VideoCodec {
    /// From an SDP/RTP MIME type ("video/VP8"); case-insensitive as SDP is.
    pub fn from_mime(mime: &str) -> Option<VideoCodec> {
        match mime.to_ascii_lowercase().as_str() {
            "video/vp8" => Some(VideoCodec::Vp8),
            "video/vp9" => Some(VideoCodec::Vp9),
            "video/h264" => Some(VideoCodec::H264),
            _ => None,
        }
    }

    /// Whether a whole compressed frame starts a stream (decodes without
    /// any frame before it): a VP8 or VP9 key frame, or H.264 with an IDR
    /// slice.
    pub fn is_keyframe(self, frame: &[u8]) -> bool {
        match self {
            // The frame tag's lowest bit is 0 on key frames, and the start
            // code follows the tag (RFC 6386 9.1): a piece of a frame whose
            // first packet was lost is not taken for one.
            VideoCodec::Vp8 => {
                frame.first().is_some_and(|b| b & 1 == 0)
                    && frame.get(3..6) == Some(&[0x9d, 0x01, 0x2a][..])
            }
            VideoCodec::Vp9 => frame.first().is_some_and(|&b| vp9_is_keyframe(b)),
            // An IDR slice that starts the picture (first_mb_in_slice 0,
            // coded as a single 1 bit): a later slice alone is a piece.
            VideoCodec::H264 => annex_b_units(frame).any(|(t, first)| t == 5 && first & 0x80 != 0),
        }
    }
}

/// Whether a VP9 frame whose first byte is `b` is a key frame, from its
/// uncompressed header (VP9 bitstream 6.2): frame_marker (2 bits, 0b10),
/// the profile's low and high bits, a reserved zero in profile 3,
/// show_existing_frame, then frame_type (0 for a key frame). A picture's
/// spatial layers come one after another; the first decides, as a key
/// picture's upper layers are predicted from it.
fn vp9_is_keyframe(b: u8) -> bool {
    let bit = |i: u32| (b >> (7 - i)) & 1;
    if b >> 6 != 0b10 {
        return false;
    }
    let profile = bit(2) | (bit(3) << 1);
    let at = if profile == 3 { 5 } else { 4 };
    bit(at) == 0 && bit(at + 1) == 0
}

/// The NAL unit types of an Annex B stream (units after 00 00 01 start
/// codes), as the RTP depacketizer writes it, each with its next byte.
fn annex_b_units(data: &[u8]) -> impl Iterator<Item = (u8, u8)> + '_ {
    data.windows(5)
        .filter(|w| w[0] == 0 && w[1] == 0 && w[2] == 1)
        .map(|w| (w[3] & 0x1f, w[4]))
}

/// Why a frame did not decode.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum DecodeError {
    #[error("{codec:?} decoder could not start: {reason}")]
    Start { codec: VideoCodec, reason: String },
    #[error("{codec:?} frame not decodable: {reason}")]
    Frame { codec: VideoCodec, reason: String },
}

enum Inner {
    Vpx(rtcstack_vpx::Decoder),
    H264(Box<openh264::decoder::Decoder>),
}

/// One stream's decoder.
pub(crate) struct Decoder {
    codec: VideoCodec,
    inner: Inner,
}

impl Decoder {
    pub(crate) fn new(codec: VideoCodec) -> Result<Decoder, DecodeError> {
        let start = |reason: String| DecodeError::Start { codec, reason };
        let inner = match codec {
            VideoCodec::Vp8 | VideoCodec::Vp9 => {
                let vpx = match codec {
                    VideoCodec::Vp9 => rtcstack_vpx::Codec::Vp9,
                    _ => rtcstack_vpx::Codec::Vp8,
                };
                Inner::Vpx(rtcstack_vpx::Decoder::new(vpx).map_err(|e| start(e.to_string()))?)
            }
            VideoCodec::H264 => Inner::H264(Box::new(
                openh264::decoder::Decoder::new().map_err(|e| start(e.to_string()))?,
            )),
        };
        Ok(Decoder { codec, inner })
    }

    pub(crate) fn codec(&self) -> VideoCodec {
        self.codec
    }

    /// Decodes one whole compressed frame. `Ok(None)`: nothing to show yet
    /// (a frame that only updates the decoder's references).
    pub(crate) fn decode(
        &mut self,
        data: &[u8],
        rtp_timestamp: u32,
    ) -> Result<Option<VideoFrame>, DecodeError> {
        let codec = self.codec;
        let bad = |reason: String| DecodeError::Frame { codec, reason };
        let malformed = || bad("decoder output smaller than its size".into());
        match &mut self.inner {
            Inner::Vpx(d) => {
                let Some(p) = d.decode(data).map_err(|e| bad(e.to_string()))? else {
                    return Ok(None);
                };
                let [y, u, v] = p.planes.map(|(data, stride)| Plane { data, stride });
                VideoFrame::from_planes(p.width, p.height, [y, u, v], rtp_timestamp)
                    .map(Some)
                    .ok_or_else(malformed)
            }
            Inner::H264(d) => {
                let Some(yuv) = d.decode(data).map_err(|e| bad(e.to_string()))? else {
                    return Ok(None);
                };
                let (w, h) = yuv.dimensions();
                let (ys, us, vs) = yuv.strides();
                let (w, h) = (
                    u32::try_from(w).map_err(|_| malformed())?,
                    u32::try_from(h).map_err(|_| malformed())?,
                );
                let planes = [
                    Plane {
                        data: yuv.y(),
                        stride: ys,
                    },
                    Plane {
                        data: yuv.u(),
                        stride: us,
                    },
                    Plane {
                        data: yuv.v(),
                        stride: vs,
                    },
                ];
                VideoFrame::from_planes(w, h, planes, rtp_timestamp)
                    .map(Some)
                    .ok_or_else(malformed)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mime_types_name_codecs_in_any_case() {
        assert_eq!(VideoCodec::from_mime("video/VP8"), Some(VideoCodec::Vp8));
        assert_eq!(VideoCodec::from_mime("video/h264"), Some(VideoCodec::H264));
        assert_eq!(VideoCodec::from_mime("video/VP9"), Some(VideoCodec::Vp9));
        assert_eq!(VideoCodec::from_mime("video/AV1"), None);
        assert_eq!(VideoCodec::from_mime("audio/opus"), None);
    }

    #[test]
    fn key_frames_are_told_from_the_rest() {
        // VP8: key frame tag (bit 0 clear) vs an inter frame.
        assert!(VideoCodec::Vp8.is_keyframe(&[0x50, 0x42, 0x00, 0x9d, 0x01, 0x2a]));
        assert!(!VideoCodec::Vp8.is_keyframe(&[0x31, 0x02, 0x00]));
        assert!(!VideoCodec::Vp8.is_keyframe(&[]));
        // A key frame's tag with no start code after it: a piece of one.
        assert!(!VideoCodec::Vp8.is_keyframe(&[0x50, 0x42, 0x00, 0x9d, 0x01, 0x00]));
        // VP9, profile 0: a key frame (then its sync code), an inter frame,
        // a frame shown again by reference (no frame_type at all).
        assert!(VideoCodec::Vp9.is_keyframe(&[0x82, 0x49, 0x83, 0x42]));
        assert!(!VideoCodec::Vp9.is_keyframe(&[0x86, 0x00]));
        assert!(!VideoCodec::Vp9.is_keyframe(&[0x88]));
        // Profile 1 keeps the same places; profile 3 has a reserved bit
        // first, moving frame_type one on.
        assert!(VideoCodec::Vp9.is_keyframe(&[0xa2]));
        assert!(!VideoCodec::Vp9.is_keyframe(&[0xa6]));
        assert!(VideoCodec::Vp9.is_keyframe(&[0xb1]));
        assert!(!VideoCodec::Vp9.is_keyframe(&[0xb2]));
        // Not a VP9 frame (no frame marker), or nothing.
        assert!(!VideoCodec::Vp9.is_keyframe(&[0x02]));
        assert!(!VideoCodec::Vp9.is_keyframe(&[]));
        // H.264: SPS, PPS, IDR vs a lone non-IDR slice.
        let idr = [
            0, 0, 0, 1, 0x67, 1, 0, 0, 0, 1, 0x68, 2, 0, 0, 1, 0x65, 0x88,
        ];
        assert!(VideoCodec::H264.is_keyframe(&idr));
        // An IDR's second slice alone (first_mb_in_slice not 0).
        assert!(!VideoCodec::H264.is_keyframe(&[0, 0, 0, 1, 0x65, 0x03]));
        assert!(!VideoCodec::H264.is_keyframe(&[0, 0, 0, 1, 0x41, 9, 9]));
    }

    #[test]
    fn garbage_is_an_error_for_every_codec() {
        for codec in [VideoCodec::Vp8, VideoCodec::Vp9, VideoCodec::H264] {
            let mut d = Decoder::new(codec).unwrap();
            // H.264 without a start code is nothing to show, or an error;
            // neither panics.
            match d.decode(&[0xff; 64], 0) {
                Ok(None) | Err(DecodeError::Frame { .. }) => {}
                other => panic!("{codec:?}: {other:?}"),
            }
        }
    }
}
