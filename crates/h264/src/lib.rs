//! A real-time H.264 encoder over OpenH264, set up as libwebrtc sets it
//! up for WebRTC: constrained baseline (what `profile-level-id=42e01f`
//! promises), one slice a picture (split into RTP packets by FU-A), rate
//! control by bitrate with pictures skipped rather than the rate exceeded,
//! parameter sets before each key frame, key frames only when asked. The
//! bitrate is changed in place, with no key frame, as a congestion
//! controller needs it many times a second.

use std::ptr::addr_of_mut;

use openh264::encoder::{
    BitRate, Complexity, Encoder, EncoderConfig, FrameRate, FrameType, IntraFramePeriod, Profile,
    RateControlMode, UsageType,
};
use openh264::formats::YUVSlices;
use openh264::{OpenH264API, Timestamp};
use openh264_sys2 as sys;

/// What went wrong, with OpenH264's code where it gave one.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Error {
    #[error("H.264 encoder could not start: {0}")]
    Init(String),
    #[error("H.264 picture not encodable: {0}")]
    Encode(String),
    #[error("H.264 bitrate of {0} kbit/s not taken: {1}")]
    Bitrate(u32, String),
}

/// What to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct H264Config {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// Target bitrate, kbit/s.
    pub bitrate_kbps: u32,
    /// A screen (text, sharp edges) rather than a camera.
    pub screen: bool,
}

/// One compressed picture: its NAL units, each after an Annex B start code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub data: Vec<u8>,
    pub keyframe: bool,
}

/// One H.264 stream's encoder.
pub struct H264Encoder {
    encoder: Encoder,
    config: H264Config,
    /// Pictures encoded: their timestamps (ms) step by the frame rate.
    pictures: u64,
}

/// OpenH264 is limited to level 5.2's largest picture.
const LARGEST: (u32, u32) = (3840, 2160);

/// Whether OpenH264 encodes pictures of this size: even sides of at least
/// 2, within 3840x2160 either way up.
pub fn fits(width: u32, height: u32) -> bool {
    width >= 2
        && height >= 2
        && width.is_multiple_of(2)
        && height.is_multiple_of(2)
        && width.max(height) <= LARGEST.0
        && width.min(height) <= LARGEST.1
}

impl H264Encoder {
    pub fn new(config: H264Config) -> Result<Self, Error> {
        if !fits(config.width, config.height) || config.fps == 0 {
            return Err(Error::Init(format!(
                "{config:?}: sides must be even, from 2 to {}x{} either way up, and the \
                 rate above 0",
                LARGEST.0, LARGEST.1
            )));
        }
        Ok(H264Encoder {
            encoder: Self::encoder(config)?,
            config,
            pictures: 0,
        })
    }

    fn encoder(config: H264Config) -> Result<Encoder, Error> {
        let settings = EncoderConfig::new()
            .usage_type(if config.screen {
                UsageType::ScreenContentRealTime
            } else {
                UsageType::CameraVideoRealTime
            })
            .profile(Profile::Baseline)
            .rate_control_mode(RateControlMode::Bitrate)
            .bitrate(BitRate::from_bps(config.bitrate_kbps.max(1) * 1_000))
            .max_frame_rate(FrameRate::from_hz(config.fps as f32))
            .skip_frames(true)
            .intra_frame_period(IntraFramePeriod::from_num_frames(0))
            .complexity(Complexity::Low)
            .num_threads(1)
            .scene_change_detect(false)
            .background_detection(false);
        Encoder::with_api_config(OpenH264API::from_source(), settings)
            .map_err(|e| Error::Init(e.to_string()))
    }

    pub fn config(&self) -> H264Config {
        self.config
    }

    /// A new target bitrate, from the next picture on, with no key frame.
    pub fn set_bitrate(&mut self, kbps: u32) -> Result<(), Error> {
        let kbps = kbps.max(1);
        if self.pictures == 0 {
            // Not started yet (OpenH264 starts on the first picture): it
            // starts at this rate.
            self.config.bitrate_kbps = kbps;
            self.encoder = Self::encoder(self.config)?;
            return Ok(());
        }
        let bps = i32::try_from(u64::from(kbps) * 1_000).unwrap_or(i32::MAX);
        // The ceiling first when it rises, last when it falls: OpenH264
        // refuses a target over the ceiling. The ceiling its rate control
        // reads is the layer's (set to the first target when it starts);
        // the stream-wide one (SPATIAL_LAYER_ALL) is never read.
        let ceiling = (sys::ENCODER_OPTION_MAX_BITRATE, sys::SPATIAL_LAYER_0);
        let target = (sys::ENCODER_OPTION_BITRATE, sys::SPATIAL_LAYER_ALL);
        let options = if kbps > self.config.bitrate_kbps {
            [ceiling, target]
        } else {
            [target, ceiling]
        };
        for (option, layer) in options {
            let mut info = sys::SBitrateInfo {
                iLayer: layer,
                iBitrate: bps,
            };
            // SAFETY: the encoder is initialised (a picture was encoded);
            // both options take a pointer to an SBitrateInfo, which lives
            // for the call, and OpenH264 copies what it keeps. Nothing the
            // safe encoder relies on (size, format) is touched.
            let code = unsafe {
                self.encoder
                    .raw_api()
                    .set_option(option, addr_of_mut!(info).cast())
            };
            if code != 0 {
                return Err(Error::Bitrate(kbps, format!("OpenH264 returned {code}")));
            }
        }
        self.config.bitrate_kbps = kbps;
        Ok(())
    }

    /// Encodes one I420 picture of the configured size (planes packed:
    /// `width` × `height` luma, two half-size chroma planes). `None` when
    /// the rate control skipped it.
    pub fn encode(
        &mut self,
        [y, u, v]: [&[u8]; 3],
        keyframe: bool,
    ) -> Result<Option<Encoded>, Error> {
        let (w, h) = (self.config.width as usize, self.config.height as usize);
        let c = (w / 2) * (h / 2);
        if y.len() != w * h || u.len() != c || v.len() != c {
            return Err(Error::Encode(format!(
                "planes of {}, {} and {} bytes for {w}x{h}",
                y.len(),
                u.len(),
                v.len()
            )));
        }
        if keyframe {
            self.encoder.force_intra_frame();
        }
        let at = Timestamp::from_millis(self.pictures * 1_000 / u64::from(self.config.fps));
        self.pictures += 1;
        let picture = YUVSlices::new((y, u, v), (w, h), (w, w / 2, w / 2));
        let stream = self
            .encoder
            .encode_at(&picture, at)
            .map_err(|e| Error::Encode(e.to_string()))?;
        let keyframe = match stream.frame_type() {
            FrameType::Skip | FrameType::Invalid => return Ok(None),
            FrameType::IDR | FrameType::I => true,
            FrameType::P | FrameType::IPMixed => false,
        };
        let data = stream.to_vec();
        Ok((!data.is_empty()).then_some(Encoded { data, keyframe }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openh264::decoder::Decoder;
    use openh264::formats::YUVSource;

    /// Stripes that move with `n` under luma noise of `grain` levels (the
    /// same every run), grey chroma.
    fn picture(w: usize, h: usize, n: usize, grain: u32) -> [Vec<u8>; 3] {
        let mut seed = 0x9e37_79b9_u32;
        let y = (0..w * h)
            .map(|i| {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                let stripe = ((i % w + n * 4) / 16 % 2) as u32 * 100;
                (16 + (seed % grain) + stripe) as u8
            })
            .collect();
        let c = (w / 2) * (h / 2);
        [y, vec![128; c], vec![128; c]]
    }

    const CONFIG: H264Config = H264Config {
        width: 320,
        height: 180,
        fps: 30,
        bitrate_kbps: 600,
        screen: false,
    };

    /// A key frame first and when asked, else predicted pictures; what it
    /// makes is decoded at its size and near what went in.
    #[test]
    fn it_makes_key_frames_first_and_when_asked_and_decodable_pictures() {
        let mut enc = H264Encoder::new(CONFIG).unwrap();
        let mut dec = Decoder::new().unwrap();
        let mut keys = Vec::new();
        for n in 0..12 {
            let [y, u, v] = picture(320, 180, n, 4);
            let Some(f) = enc.encode([&y, &u, &v], n == 8).unwrap() else {
                continue;
            };
            keys.push((n, f.keyframe));
            let p = dec.decode(&f.data).unwrap().expect("a picture shown");
            assert_eq!(p.dimensions(), (320, 180));
            let got = i32::from(p.y()[90 * p.strides().0 + 160]);
            let want = i32::from(y[90 * 320 + 160]);
            assert!((got - want).abs() < 40, "picture {n}: {got} against {want}");
        }
        assert!(keys.len() >= 10, "{keys:?}");
        assert_eq!(keys[0], (0, true));
        assert!(keys.contains(&(8, true)), "{keys:?}");
        let others = keys.iter().filter(|(n, _)| *n != 0 && *n != 8);
        assert!(others.clone().all(|(_, k)| !k), "{keys:?}");
    }

    /// The bitrate changes in place: after a fall to a sixth, pictures
    /// shrink to about their share, and no key frame comes of it.
    #[test]
    fn a_new_bitrate_takes_hold_without_a_key_frame() {
        let mut enc = H264Encoder::new(CONFIG).unwrap();
        let sizes = |enc: &mut H264Encoder, from: usize| -> (usize, usize) {
            let (mut bytes, mut keys) = (0, 0);
            for n in from..from + 30 {
                let [y, u, v] = picture(320, 180, n, 60);
                if let Some(f) = enc.encode([&y, &u, &v], false).unwrap() {
                    bytes += f.data.len();
                    keys += usize::from(f.keyframe);
                }
            }
            (bytes, keys)
        };
        sizes(&mut enc, 0);
        let (high, _) = sizes(&mut enc, 30);
        enc.set_bitrate(100).unwrap();
        sizes(&mut enc, 60);
        let (low, keys) = sizes(&mut enc, 90);
        eprintln!("one second at 600 kbit/s: {high} B; at 100: {low} B");
        assert_eq!(keys, 0, "a key frame came of the new rate");
        assert!(
            low * 3 < high,
            "{low} B at 100 kbit/s against {high} at 600"
        );
        assert!(low <= 100_000 / 8 * 3 / 2, "{low} B a second at 100 kbit/s");
        enc.set_bitrate(600).unwrap();
        assert_eq!(enc.config().bitrate_kbps, 600);
    }

    /// A rate above the one it started at takes hold too (OpenH264's
    /// ceiling is the first rate until it is raised).
    #[test]
    fn a_rate_above_the_first_takes_hold() {
        let mut enc = H264Encoder::new(H264Config {
            bitrate_kbps: 100,
            ..CONFIG
        })
        .unwrap();
        let second = |enc: &mut H264Encoder, from: usize| -> usize {
            (from..from + 30)
                .filter_map(|n| {
                    let [y, u, v] = picture(320, 180, n, 60);
                    enc.encode([&y, &u, &v], false).unwrap()
                })
                .map(|f| f.data.len())
                .sum()
        };
        let low = second(&mut enc, 0);
        enc.set_bitrate(600).unwrap();
        second(&mut enc, 30);
        let high = second(&mut enc, 60);
        eprintln!("one second at 100 kbit/s: {low} B; raised to 600: {high} B");
        assert!(
            high > low * 3,
            "{high} B at 600 kbit/s against {low} at 100"
        );
    }

    #[test]
    fn wrong_sizes_are_refused() {
        assert!(H264Encoder::new(H264Config {
            width: 321,
            ..CONFIG
        })
        .is_err());
        assert!(H264Encoder::new(H264Config { fps: 0, ..CONFIG }).is_err());
        assert!(H264Encoder::new(H264Config {
            width: 4096,
            ..CONFIG
        })
        .is_err());
        assert!(fits(2160, 3840) && !fits(0, 2) && !fits(7680, 2160));
        let mut enc = H264Encoder::new(CONFIG).unwrap();
        let err = enc.encode([&[0; 10], &[0; 4], &[0; 4]], false).unwrap_err();
        assert!(err.to_string().contains("for 320x180"), "{err}");
    }
}
