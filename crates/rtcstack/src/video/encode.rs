//! The codec our videos are sent in, and each layer's encoder and RTP
//! packetizer for it: VP8 on libvpx (three temporal layers for a camera;
//! our own payload descriptor), or H.264 on OpenH264 (one temporal layer;
//! NAL units split by FU-A, packetization mode 1). A picture of an odd size
//! (a layer halved from one) is sent in H.264 one row or column smaller:
//! its 4:2:0 pictures have even sides.

use bytes::Bytes;
use rtc::rtp::codec::h264::H264Payloader;
use rtc::rtp::packetizer::Payloader;
use rtcstack_h264::{H264Config, H264Encoder};
use rtcstack_vpx::{Content, Encoded, EncoderConfig, Vp8Encoder};

use super::io::VideoFormat;
use super::vp8_payload::Vp8Payload;
use super::VideoFrame;

/// The codec our videos are sent in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SendCodec {
    /// Every browser decodes it; temporal layers let a server thin it by
    /// frame rate.
    #[default]
    Vp8,
    /// Constrained baseline: for subscribers that decode H.264 in
    /// hardware or not VP8 at all.
    H264,
}

impl SendCodec {
    /// Its MIME type, as SDP names it.
    pub(crate) fn mime(self) -> &'static str {
        match self {
            SendCodec::Vp8 => "video/VP8",
            SendCodec::H264 => "video/H264",
        }
    }

    /// Its name in LiveKit's signalling (AddTrack, dynacast's updates).
    pub(crate) fn name(self) -> &'static str {
        match self {
            SendCodec::Vp8 => "vp8",
            SendCodec::H264 => "h264",
        }
    }

    /// What a video of `format` is sent in: H.264 within what OpenH264
    /// encodes (its layers' sides cut to even, within 3840x2160: a screen
    /// across two 4K monitors is not), VP8 otherwise.
    pub(crate) fn for_format(self, format: VideoFormat) -> SendCodec {
        match self {
            SendCodec::H264 if !rtcstack_h264::fits(format.width & !1, format.height & !1) => {
                tracing::warn!(
                    "{}x{} is beyond what H.264 is sent at here: sent in VP8",
                    format.width,
                    format.height
                );
                SendCodec::Vp8
            }
            codec => codec,
        }
    }

    /// Its payload format parameters, as libwebrtc offers them.
    pub(crate) fn fmtp(self) -> &'static str {
        match self {
            SendCodec::Vp8 => "",
            SendCodec::H264 => H264_FMTP,
        }
    }
}

/// Constrained baseline 3.1 in packetization mode 1.
pub(crate) const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// A camera's VP8 in three temporal layers, as libwebrtc sends it: a
/// server can give a subscriber a half or a quarter of the frame rate at
/// the same size. A screen's in one: its encoder already drops pictures
/// under pressure, and text wants each picture it sends sharp.
fn temporal_layers(content: Content) -> u8 {
    match content {
        Content::Motion => 3,
        Content::Text => 1,
    }
}

/// One layer's encoder and packetizer.
pub(crate) enum LayerEncoder {
    // Boxed: each encoder keeps kilobytes inline (libvpx's configuration,
    // OpenH264's stream information).
    Vp8(Box<Vp8Encoder>, Vp8Payload),
    H264(Box<H264Encoder>, H264Payloader),
}

impl LayerEncoder {
    /// For pictures of `format` showing `content`, at first at `kbps`.
    pub(crate) fn new(
        codec: SendCodec,
        format: VideoFormat,
        content: Content,
        kbps: u32,
    ) -> Result<Self, String> {
        match codec {
            SendCodec::Vp8 => Vp8Encoder::new(EncoderConfig {
                width: format.width,
                height: format.height,
                fps: format.fps,
                bitrate_kbps: kbps,
                content,
                temporal_layers: temporal_layers(content),
            })
            .map(|e| LayerEncoder::Vp8(Box::new(e), Vp8Payload::new()))
            .map_err(|e| e.to_string()),
            SendCodec::H264 => H264Encoder::new(H264Config {
                width: format.width & !1,
                height: format.height & !1,
                fps: format.fps,
                bitrate_kbps: kbps,
                screen: content == Content::Text,
            })
            .map(|e| LayerEncoder::H264(Box::new(e), H264Payloader::default()))
            .map_err(|e| e.to_string()),
        }
    }

    pub(crate) fn set_bitrate(&mut self, kbps: u32) -> Result<(), String> {
        match self {
            LayerEncoder::Vp8(e, _) => e.set_bitrate(kbps).map_err(|e| e.to_string()),
            LayerEncoder::H264(e, _) => e.set_bitrate(kbps).map_err(|e| e.to_string()),
        }
    }

    /// What `picture` encodes to: normally one frame; none when the
    /// encoder skipped it (over its rate).
    pub(crate) fn encode(
        &mut self,
        picture: &VideoFrame,
        keyframe: bool,
    ) -> Result<Vec<Encoded>, String> {
        let p = picture;
        match self {
            LayerEncoder::Vp8(e, _) => e
                .encode([&p.y, &p.u, &p.v], keyframe)
                .map_err(|e| e.to_string()),
            LayerEncoder::H264(e, _) => {
                let config = e.config();
                let (w, h) = (config.width as usize, config.height as usize);
                let planes = even(p, w, h);
                let [y, u, v] = planes.each_ref().map(|p| p.as_slice());
                let frame = e.encode([y, u, v], keyframe).map_err(|e| e.to_string())?;
                Ok(frame
                    .map(|f| Encoded {
                        data: f.data,
                        keyframe: f.keyframe,
                        temporal: None,
                    })
                    .into_iter()
                    .collect())
            }
        }
    }

    /// `frame` as RTP payloads of at most `mtu` bytes (taken: H.264's
    /// payloads are slices of it, not copies).
    pub(crate) fn packets(&mut self, frame: Encoded, mtu: usize) -> Vec<Bytes> {
        match self {
            LayerEncoder::Vp8(_, payload) => payload.packets(&frame.data, frame.temporal, mtu),
            LayerEncoder::H264(_, payloader) => payloader
                .payload(mtu, &Bytes::from(frame.data))
                .unwrap_or_else(|e| {
                    tracing::warn!("H.264 packetise: {e}");
                    Vec::new()
                }),
        }
    }
}

/// `picture`'s planes at `w` × `h` (its own size, or one row or column
/// less to make it even), packed.
fn even(picture: &VideoFrame, w: usize, h: usize) -> [Vec<u8>; 3] {
    let crop = |plane: &[u8], stride: usize, w: usize, h: usize| -> Vec<u8> {
        if stride == w {
            return plane[..w * h].to_vec();
        }
        plane
            .chunks(stride)
            .take(h)
            .flat_map(|row| &row[..w])
            .copied()
            .collect()
    };
    let (pw, cw) = (picture.width as usize, picture.chroma_width() as usize);
    [
        crop(&picture.y, pw, w, h),
        crop(&picture.u, cw, w / 2, h / 2),
        crop(&picture.v, cw, w / 2, h / 2),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_video_beyond_h264s_sizes_is_sent_in_vp8() {
        let at = |width, height| VideoFormat {
            width,
            height,
            fps: 30,
        };
        assert_eq!(SendCodec::H264.for_format(at(1281, 721)), SendCodec::H264);
        assert_eq!(SendCodec::H264.for_format(at(7680, 2160)), SendCodec::Vp8);
        assert_eq!(SendCodec::H264.for_format(at(1, 1)), SendCodec::Vp8);
        assert_eq!(SendCodec::Vp8.for_format(at(7680, 2160)), SendCodec::Vp8);
    }

    #[test]
    fn an_odd_picture_is_cropped_to_even_sides() {
        let picture = VideoFrame {
            width: 3,
            height: 3,
            y: (0..9).collect(),
            u: (0..4).collect(),
            v: (10..14).collect(),
            rtp_timestamp: 0,
        };
        let [y, u, v] = even(&picture, 2, 2);
        assert_eq!(y, [0, 1, 3, 4]);
        assert_eq!((u, v), (vec![0], vec![10]));
    }

    #[test]
    fn h264_layers_are_encoded_and_split_within_the_mtu() {
        let format = VideoFormat {
            width: 161,
            height: 91,
            fps: 15,
        };
        let mut enc = LayerEncoder::new(SendCodec::H264, format, Content::Motion, 200).unwrap();
        let picture = VideoFrame::black(161, 91);
        let frames = enc.encode(&picture, true).unwrap();
        assert_eq!(frames.len(), 1);
        assert!(frames[0].keyframe);
        let packets = enc.packets(frames[0].clone(), 100);
        assert!(!packets.is_empty());
        assert!(packets.iter().all(|p| p.len() <= 100));
        enc.set_bitrate(100).unwrap();
    }
}
