//! A camera's MJPEG picture into I420. USB webcams give their larger sizes
//! at a call's rate only as MJPEG (raw 720p at 30 fps does not fit USB 2).
//! zune-jpeg decodes it to RGB (JPEG's YCbCr is full range, BT.601), and
//! the yuv crate turns that into I420 in video's range, as our encoder and
//! every decoder read it: two SIMD passes, no per-pixel work of ours.

use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;
use zune_jpeg::JpegDecoder;

use crate::video::pixels::{to_i420, Layout, Plane};
use crate::video::VideoFrame;

/// The largest side a picture may claim: more is a corrupt header.
const LARGEST_SIDE: usize = 8192;

/// Decodes a camera's pictures, keeping its buffer between them.
#[derive(Default)]
pub(crate) struct Mjpeg {
    rgb: Vec<u8>,
}

impl Mjpeg {
    /// `jpeg` into `out`, whose size is the one agreed on (a picture an odd
    /// pixel larger is cropped). A picture that does not decode (a torn USB
    /// transfer) or has another size is an error, and `out` may then hold
    /// part of it.
    pub(crate) fn decode_into(&mut self, jpeg: &[u8], out: &mut VideoFrame) -> Result<(), String> {
        let options = DecoderOptions::default()
            .jpeg_set_out_colorspace(ColorSpace::RGB)
            .set_max_width(LARGEST_SIDE)
            .set_max_height(LARGEST_SIDE);
        let mut decoder = JpegDecoder::new_with_options(ZCursor::new(jpeg), options);
        decoder
            .decode_headers()
            .map_err(|e| format!("an MJPEG picture's header: {e:?}"))?;
        let info = decoder.info().ok_or("an MJPEG picture without its size")?;
        let (w, h) = (out.width as usize, out.height as usize);
        let (width, height) = (usize::from(info.width), usize::from(info.height));
        if width & !1 != w || height & !1 != h {
            return Err(format!(
                "an MJPEG picture of {width}x{height}, not the {w}x{h} agreed on"
            ));
        }
        let size = decoder
            .output_buffer_size()
            .ok_or("an MJPEG picture without its size")?;
        if size != width * height * 3 {
            return Err(format!(
                "an MJPEG picture of {width}x{height} in {size} bytes, not RGB"
            ));
        }
        self.rgb.resize(size, 0);
        decoder
            .decode_into(&mut self.rgb)
            .map_err(|e| format!("an MJPEG picture: {e:?}"))?;
        // Rows at the picture's own width: one an odd pixel wider is cropped.
        let stride = i32::try_from(width * 3).map_err(|e| e.to_string())?;
        let plane = Plane {
            bytes: &self.rgb,
            stride,
        };
        to_i420(Layout::Rgb, &[plane], out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JPEG of `w`x`h` in one colour (4:2:2, as webcams send).
    fn jpeg(w: u16, h: u16, rgb: [u8; 3]) -> Vec<u8> {
        let pixels: Vec<u8> = (0..usize::from(w) * usize::from(h))
            .flat_map(|_| rgb)
            .collect();
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, 95);
        encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_1);
        encoder
            .encode(&pixels, w, h, jpeg_encoder::ColorType::Rgb)
            .unwrap();
        out
    }

    #[test]
    fn a_picture_decodes_to_its_colour_in_i420() {
        // BT.601 red in video's range: Y 81, U 90, V 240 (JPEG's full
        // range would be 76, 85, 255).
        let mut out = VideoFrame::black(16, 8);
        Mjpeg::default()
            .decode_into(&jpeg(16, 8, [255, 0, 0]), &mut out)
            .unwrap();
        let near = |got: &[u8], want: i32| got.iter().all(|&b| (i32::from(b) - want).abs() <= 3);
        assert!(near(&out.y, 81), "{:?}", &out.y[..4]);
        assert!(near(&out.u, 90), "{:?}", &out.u[..4]);
        assert!(near(&out.v, 240), "{:?}", &out.v[..4]);
    }

    #[test]
    fn an_odd_side_is_cropped_and_another_size_refused() {
        let mut out = VideoFrame::black(16, 8);
        let mut mjpeg = Mjpeg::default();
        assert!(mjpeg
            .decode_into(&jpeg(17, 9, [0, 0, 255]), &mut out)
            .is_ok());
        let err = mjpeg
            .decode_into(&jpeg(32, 8, [0, 0, 255]), &mut out)
            .unwrap_err();
        assert!(err.contains("32x8"), "{err}");
    }

    #[test]
    fn a_torn_picture_is_an_error_not_a_panic() {
        let whole = jpeg(64, 32, [10, 200, 30]);
        let mut out = VideoFrame::black(64, 32);
        let mut mjpeg = Mjpeg::default();
        for cut in [0, 2, 20, whole.len() / 2, whole.len() - 2] {
            // Either refused or decoded as far as it goes: never a panic.
            let _ = mjpeg.decode_into(&whole[..cut], &mut out);
        }
        assert!(mjpeg.decode_into(&[], &mut out).is_err());
        assert!(mjpeg.decode_into(b"not a picture", &mut out).is_err());
    }
}
