//! A picture from PipeWire, in the pixel format agreed on, into I420.

use pipewire::spa::param::video::VideoFormat as PixelFormat;

use crate::video::VideoFrame;

/// `bytes` (one picture in `pixels`, rows `stride` bytes apart, 0 for
/// packed) into `out`, which has the agreed size.
pub(super) fn to_i420(
    pixels: PixelFormat,
    bytes: &[u8],
    stride: i32,
    out: &mut VideoFrame,
) -> Result<(), String> {
    let (w, h) = (out.width, out.height);
    let cw = out.chroma_width();
    let ch = out.chroma_height();
    let bytes_per_pixel = match pixels {
        PixelFormat::YUY2 => 2,
        PixelFormat::I420 | PixelFormat::NV12 => 1,
        _ => 4,
    };
    let stride = match u32::try_from(stride) {
        Ok(s) if s > 0 => s,
        _ => w * bytes_per_pixel,
    };
    let mut image = out.planes_mut();
    let (range, matrix, mode) = (
        yuv::YuvRange::Limited,
        yuv::YuvStandardMatrix::Bt601,
        yuv::YuvConversionMode::Balanced,
    );
    let done = match pixels {
        PixelFormat::YUY2 => yuv::yuyv422_to_yuv420(
            &mut image,
            &yuv::YuvPackedImage {
                yuy: bytes,
                yuy_stride: stride,
                width: w,
                height: h,
            },
        ),
        PixelFormat::I420 => return copy_i420(bytes, stride as usize, out, (cw, ch)),
        PixelFormat::NV12 => return copy_nv12(bytes, stride as usize, out, (cw, ch)),
        PixelFormat::BGRx | PixelFormat::BGRA => {
            yuv::bgra_to_yuv420(&mut image, bytes, stride, range, matrix, mode)
        }
        _ => yuv::rgba_to_yuv420(&mut image, bytes, stride, range, matrix, mode),
    };
    done.map_err(|e| e.to_string())
}

/// I420 as PipeWire lays it out: the three planes one after the other,
/// the chroma rows half the luma's stride apart.
fn copy_i420(
    bytes: &[u8],
    stride: usize,
    out: &mut VideoFrame,
    (cw, ch): (u32, u32),
) -> Result<(), String> {
    let (w, h) = (out.width as usize, out.height as usize);
    let (cw, ch) = (cw as usize, ch as usize);
    let chroma_stride = stride.div_ceil(2);
    let u_at = stride * h;
    let v_at = u_at + chroma_stride * ch;
    if bytes.len() < v_at + chroma_stride * (ch - 1) + cw || stride < w {
        return Err(format!(
            "an I420 picture of {} bytes for {w}x{h}",
            bytes.len()
        ));
    }
    copy_luma(bytes, stride, out);
    for row in 0..ch {
        let (u, v) = (u_at + row * chroma_stride, v_at + row * chroma_stride);
        out.u[row * cw..(row + 1) * cw].copy_from_slice(&bytes[u..u + cw]);
        out.v[row * cw..(row + 1) * cw].copy_from_slice(&bytes[v..v + cw]);
    }
    Ok(())
}

/// NV12: the luma plane, then one plane of U and V interleaved.
fn copy_nv12(
    bytes: &[u8],
    stride: usize,
    out: &mut VideoFrame,
    (cw, ch): (u32, u32),
) -> Result<(), String> {
    let (w, h) = (out.width as usize, out.height as usize);
    let (cw, ch) = (cw as usize, ch as usize);
    let uv_at = stride * h;
    if bytes.len() < uv_at + stride * (ch - 1) + 2 * cw || stride < w {
        return Err(format!(
            "an NV12 picture of {} bytes for {w}x{h}",
            bytes.len()
        ));
    }
    copy_luma(bytes, stride, out);
    for row in 0..ch {
        let uv = &bytes[uv_at + row * stride..uv_at + row * stride + 2 * cw];
        for (x, pair) in uv.chunks_exact(2).enumerate() {
            out.u[row * cw + x] = pair[0];
            out.v[row * cw + x] = pair[1];
        }
    }
    Ok(())
}

/// The luma rows of a planar picture, `stride` bytes apart, into `out`.
fn copy_luma(bytes: &[u8], stride: usize, out: &mut VideoFrame) {
    let w = out.width as usize;
    for (row, line) in out.y.chunks_exact_mut(w).enumerate() {
        line.copy_from_slice(&bytes[row * stride..row * stride + w]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yuy2_and_i420_pictures_become_the_same_i420() {
        let (w, h) = (4u32, 2u32);
        // YUY2: Y0 U Y1 V per two pixels.
        let yuy2: Vec<u8> = vec![
            10, 100, 20, 200, 30, 101, 40, 201, //
            50, 102, 60, 202, 70, 103, 80, 203,
        ];
        let mut out = VideoFrame::black(w, h);
        to_i420(PixelFormat::YUY2, &yuy2, 8, &mut out).unwrap();
        assert_eq!(out.y, [10, 20, 30, 40, 50, 60, 70, 80]);
        assert_eq!(out.u.len(), 2);
        // I420 with a padded stride of 6 bytes.
        let mut i420 = vec![0u8; 6 * 2 + 3 * 2];
        i420[..4].copy_from_slice(&[1, 2, 3, 4]);
        i420[6..10].copy_from_slice(&[5, 6, 7, 8]);
        i420[12..14].copy_from_slice(&[9, 10]);
        i420[15..17].copy_from_slice(&[11, 12]);
        let mut out = VideoFrame::black(w, h);
        to_i420(PixelFormat::I420, &i420, 6, &mut out).unwrap();
        assert_eq!(out.y, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(out.u, [9, 10]);
        assert_eq!(out.v, [11, 12]);
        // NV12: U and V interleaved after the luma.
        let nv12 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 10, 12];
        let mut out = VideoFrame::black(w, h);
        to_i420(PixelFormat::NV12, &nv12, 4, &mut out).unwrap();
        assert_eq!(
            (out.u.as_slice(), out.v.as_slice()),
            (&[9, 10][..], &[11, 12][..])
        );
        // Too short: an error, nothing read out of bounds.
        assert!(to_i420(PixelFormat::I420, &i420[..10], 6, &mut out).is_err());
        assert!(to_i420(PixelFormat::YUY2, &yuy2[..6], 8, &mut out).is_err());
        assert!(to_i420(PixelFormat::NV12, &nv12[..10], 4, &mut out).is_err());
    }
}
