//! A picture in the pixel layout its source gives (a camera's, a screen
//! cast's, a screenshot, a decoded MJPEG) into I420, the one conversion
//! for all of them: video's range, BT.601, as our encoder and every
//! decoder read it.

use crate::video::VideoFrame;

/// How a source lays out its pixels (the systems' names differ: PipeWire's
/// YUY2 is Media Foundation's YUY2 and AVFoundation's yuvs).
// Each system's readers meet some of them (PipeWire's the first five,
// X11's B, G, R, x, the screenshots' R, G, B, A, MJPEG's R, G, B, nokhwa's
// cameras the packed YUV, NV12 and the last three).
#[allow(dead_code)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout {
    /// Y, then U, then V, each chroma plane a quarter.
    I420,
    /// Y, then U and V interleaved.
    Nv12,
    /// Y0 U Y1 V for each two pixels.
    Yuy2,
    /// B, G, R and a byte unused (or alpha).
    Bgrx,
    /// R, G, B and a byte unused (or alpha).
    Rgbx,
    /// B, G, R.
    Bgr,
    /// R, G, B.
    Rgb,
    /// Luma alone: grey.
    Grey,
}

impl Layout {
    /// The bytes of one pixel in the first plane.
    pub(crate) fn bytes_per_pixel(self) -> u32 {
        match self {
            Layout::Yuy2 => 2,
            Layout::I420 | Layout::Nv12 | Layout::Grey => 1,
            Layout::Bgr | Layout::Rgb => 3,
            Layout::Bgrx | Layout::Rgbx => 4,
        }
    }
}

/// One of a picture's planes as a buffer holds it: its bytes from the
/// plane's first row, rows `stride` bytes apart (0 or less: packed).
#[derive(Clone, Copy)]
pub(crate) struct Plane<'a> {
    pub bytes: &'a [u8],
    pub stride: i32,
}

/// One picture in `pixels` into `out`, which has the agreed size. A planar
/// picture comes in one plane holding all (PipeWire's own layout: the
/// planes one after the other, the chroma rows half the luma's stride
/// apart) or in a plane each (as libcamera's cameras give it).
pub(crate) fn to_i420(
    pixels: Layout,
    planes: &[Plane],
    out: &mut VideoFrame,
) -> Result<(), String> {
    let Some(first) = planes.first() else {
        return Err("a picture with no data".into());
    };
    let (w, h) = (out.width, out.height);
    let stride = match u32::try_from(first.stride) {
        Ok(s) if s > 0 => s,
        _ => w * pixels.bytes_per_pixel(),
    };
    let bytes = first.bytes;
    match pixels {
        Layout::I420 => return planar(out, &split_i420(planes, stride, h)?, false),
        Layout::Nv12 => return planar(out, &split_nv12(planes, stride, h)?, true),
        Layout::Grey => return grey(out, (bytes, stride as usize)),
        _ => {}
    }
    let mut image = out.planes_mut();
    let (range, matrix, mode) = (
        yuv::YuvRange::Limited,
        yuv::YuvStandardMatrix::Bt601,
        yuv::YuvConversionMode::Balanced,
    );
    let done = match pixels {
        Layout::Yuy2 => yuv::yuyv422_to_yuv420(
            &mut image,
            &yuv::YuvPackedImage {
                yuy: bytes,
                yuy_stride: stride,
                width: w,
                height: h,
            },
        ),
        Layout::Bgrx => yuv::bgra_to_yuv420(&mut image, bytes, stride, range, matrix, mode),
        Layout::Rgbx => yuv::rgba_to_yuv420(&mut image, bytes, stride, range, matrix, mode),
        Layout::Bgr => yuv::bgr_to_yuv420(&mut image, bytes, stride, range, matrix, mode),
        Layout::Rgb => yuv::rgb_to_yuv420(&mut image, bytes, stride, range, matrix, mode),
        Layout::I420 | Layout::Nv12 | Layout::Grey => Ok(()),
    };
    done.map_err(|e| e.to_string())
}

/// The planes of a planar picture that one buffer holds whole, `height`
/// rows of luma `stride` bytes apart and its chroma after them: found at
/// the picture's own height, which may be odd where the frame it is read
/// into leaves the last row out (I420 wants even sides). Other layouts
/// are one plane.
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) fn one_buffer(
    pixels: Layout,
    bytes: &[u8],
    stride: usize,
    height: u32,
) -> Vec<Plane<'_>> {
    let at = |from: usize| bytes.get(from..).unwrap_or_default();
    let plane = |bytes, stride: usize| Plane {
        bytes,
        stride: i32::try_from(stride).unwrap_or(0),
    };
    let (h, ch) = (height as usize, height.div_ceil(2) as usize);
    match pixels {
        Layout::Nv12 => vec![plane(bytes, stride), plane(at(stride * h), stride)],
        Layout::I420 => {
            let chroma = stride.div_ceil(2);
            vec![
                plane(bytes, stride),
                plane(at(stride * h), chroma),
                plane(at(stride * h + chroma * ch), chroma),
            ]
        }
        _ => vec![plane(bytes, stride)],
    }
}

/// The bytes from one row's start to the next in a packed picture of
/// `height` rows `row` bytes wide that fills `len` bytes: `row`, or more
/// where the system pads its rows (the buffer then holds whole padded
/// rows).
#[cfg_attr(target_os = "linux", allow(dead_code))]
pub(crate) fn packed_stride(len: usize, row: usize, height: u32) -> usize {
    let height = height as usize;
    match len.checked_div(height) {
        Some(padded) if padded > row && len.is_multiple_of(height) => padded,
        _ => row,
    }
}

/// A plane's rows: its bytes and stride (a stride unset: `packed`).
type Rows<'a> = (&'a [u8], usize);

fn rows<'a>(plane: &Plane<'a>, packed: usize) -> Rows<'a> {
    match usize::try_from(plane.stride) {
        Ok(s) if s > 0 => (plane.bytes, s),
        _ => (plane.bytes, packed),
    }
}

/// I420's Y, U and V, from three planes or from one.
fn split_i420<'a>(planes: &[Plane<'a>], stride: u32, h: u32) -> Result<Vec<Rows<'a>>, String> {
    let (stride, h) = (stride as usize, h as usize);
    let chroma_stride = stride.div_ceil(2);
    if let [y, u, v, ..] = planes {
        return Ok(vec![
            rows(y, stride),
            rows(u, chroma_stride),
            rows(v, chroma_stride),
        ]);
    }
    let bytes = planes[0].bytes;
    let u_at = stride * h;
    let v_at = u_at + chroma_stride * h.div_ceil(2);
    let at = |from: usize| bytes.get(from..).unwrap_or_default();
    Ok(vec![
        (bytes, stride),
        (at(u_at), chroma_stride),
        (at(v_at), chroma_stride),
    ])
}

/// NV12's Y and interleaved UV, from two planes or from one.
fn split_nv12<'a>(planes: &[Plane<'a>], stride: u32, h: u32) -> Result<Vec<Rows<'a>>, String> {
    let (stride, h) = (stride as usize, h as usize);
    if let [y, uv, ..] = planes {
        return Ok(vec![rows(y, stride), rows(uv, stride)]);
    }
    let bytes = planes[0].bytes;
    Ok(vec![
        (bytes, stride),
        (bytes.get(stride * h..).unwrap_or_default(), stride),
    ])
}

/// A grey picture's rows as luma; no colour.
fn grey(out: &mut VideoFrame, (bytes, stride): Rows) -> Result<(), String> {
    let (w, h) = (out.width as usize, out.height as usize);
    if stride < w || bytes.len() < stride * h.saturating_sub(1) + w {
        return Err(format!(
            "a grey picture of {} bytes for {w}x{h}",
            bytes.len()
        ));
    }
    for (row, line) in out.y.chunks_exact_mut(w).enumerate() {
        line.copy_from_slice(&bytes[row * stride..row * stride + w]);
    }
    out.u.fill(128);
    out.v.fill(128);
    Ok(())
}

/// Planar rows into `out`: Y, U, V, or Y and UV interleaved (`nv12`).
/// A plane too short for its rows is an error, nothing read past it.
fn planar(out: &mut VideoFrame, planes: &[Rows], nv12: bool) -> Result<(), String> {
    let (w, h) = (out.width as usize, out.height as usize);
    let (cw, ch) = (out.chroma_width() as usize, out.chroma_height() as usize);
    let fits = |(bytes, stride): Rows, width: usize, height: usize| {
        stride >= width && bytes.len() >= stride * (height - 1) + width
    };
    let chroma_width = if nv12 { 2 * cw } else { cw };
    if !fits(planes[0], w, h) || !planes[1..].iter().all(|p| fits(*p, chroma_width, ch)) {
        let sizes: Vec<usize> = planes.iter().map(|p| p.0.len()).collect();
        return Err(format!(
            "a {} picture of {sizes:?} bytes for {w}x{h}",
            if nv12 { "NV12" } else { "I420" }
        ));
    }
    let (y, stride) = planes[0];
    for (row, line) in out.y.chunks_exact_mut(w).enumerate() {
        line.copy_from_slice(&y[row * stride..row * stride + w]);
    }
    for row in 0..ch {
        fn at<'a>((bytes, stride): Rows<'a>, row: usize, width: usize) -> &'a [u8] {
            &bytes[row * stride..row * stride + width]
        }
        let (u, v) = (
            &mut out.u[row * cw..(row + 1) * cw],
            &mut out.v[row * cw..(row + 1) * cw],
        );
        if nv12 {
            for (x, pair) in at(planes[1], row, chroma_width).chunks_exact(2).enumerate() {
                (u[x], v[x]) = (pair[0], pair[1]);
            }
        } else {
            u.copy_from_slice(at(planes[1], row, chroma_width));
            v.copy_from_slice(at(planes[2], row, chroma_width));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(bytes: &[u8], stride: i32) -> [Plane<'_>; 1] {
        [Plane { bytes, stride }]
    }

    #[test]
    fn yuy2_and_i420_pictures_become_the_same_i420() {
        let (w, h) = (4u32, 2u32);
        // YUY2: Y0 U Y1 V per two pixels.
        let yuy2: Vec<u8> = vec![
            10, 100, 20, 200, 30, 101, 40, 201, //
            50, 102, 60, 202, 70, 103, 80, 203,
        ];
        let mut out = VideoFrame::black(w, h);
        to_i420(Layout::Yuy2, &one(&yuy2, 8), &mut out).unwrap();
        assert_eq!(out.y, [10, 20, 30, 40, 50, 60, 70, 80]);
        assert_eq!(out.u.len(), 2);
        // I420 with a padded stride of 6 bytes.
        let mut i420 = vec![0u8; 6 * 2 + 3 * 2];
        i420[..4].copy_from_slice(&[1, 2, 3, 4]);
        i420[6..10].copy_from_slice(&[5, 6, 7, 8]);
        i420[12..14].copy_from_slice(&[9, 10]);
        i420[15..17].copy_from_slice(&[11, 12]);
        let mut out = VideoFrame::black(w, h);
        to_i420(Layout::I420, &one(&i420, 6), &mut out).unwrap();
        assert_eq!(out.y, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(out.u, [9, 10]);
        assert_eq!(out.v, [11, 12]);
        // NV12: U and V interleaved after the luma.
        let nv12 = [1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 10, 12];
        let mut out = VideoFrame::black(w, h);
        to_i420(Layout::Nv12, &one(&nv12, 4), &mut out).unwrap();
        assert_eq!(
            (out.u.as_slice(), out.v.as_slice()),
            (&[9, 10][..], &[11, 12][..])
        );
        // Too short: an error, nothing read out of bounds.
        assert!(to_i420(Layout::I420, &one(&i420[..10], 6), &mut out).is_err());
        assert!(to_i420(Layout::Yuy2, &one(&yuy2[..6], 8), &mut out).is_err());
        assert!(to_i420(Layout::Nv12, &one(&nv12[..10], 4), &mut out).is_err());
    }

    /// A camera's picture of odd height (4x3) read into the 4x2 frame it
    /// is opened at: its chroma found after all three luma rows, not read
    /// a row early from the luma (the last row is left out).
    #[test]
    fn a_picture_of_odd_height_in_one_buffer_has_its_chroma_found_after_all_its_rows() {
        let luma = [1, 2, 3, 4, 5, 6, 7, 8, 90, 91, 92, 93];
        // NV12: two chroma rows (a half row each for rows 0–1 and 2);
        // I420: U's two rows of 2, then V's.
        let nv12 = [&luma[..], &[20, 30, 21, 31, 22, 32, 23, 33]].concat();
        let i420 = [&luma[..], &[20, 21, 22, 23, 30, 31, 32, 33]].concat();
        for (layout, picture) in [(Layout::Nv12, &nv12), (Layout::I420, &i420)] {
            let mut out = VideoFrame::black(4, 2);
            to_i420(layout, &one_buffer(layout, picture, 4, 3), &mut out).unwrap();
            assert_eq!(out.y, [1, 2, 3, 4, 5, 6, 7, 8], "{layout:?}");
            assert_eq!(
                (out.u.as_slice(), out.v.as_slice()),
                (&[20, 21][..], &[30, 31][..]),
                "{layout:?}"
            );
        }
        // Too short for its height: an error.
        let mut out = VideoFrame::black(4, 2);
        assert!(to_i420(
            Layout::Nv12,
            &one_buffer(Layout::Nv12, &nv12[..13], 4, 3),
            &mut out
        )
        .is_err());
    }

    #[test]
    fn padded_rows_are_found_from_the_buffer_and_tight_ones_kept() {
        // 3 rows of 10 bytes, padded to 16.
        assert_eq!(packed_stride(48, 10, 3), 16);
        assert_eq!(packed_stride(30, 10, 3), 10);
        // Not whole padded rows, or too short: the width's.
        assert_eq!(packed_stride(47, 10, 3), 10);
        assert_eq!(packed_stride(20, 10, 3), 10);
        assert_eq!(packed_stride(48, 10, 0), 10);
    }

    #[test]
    fn grey_and_rgb_pictures_become_i420() {
        let (w, h) = (2u32, 2u32);
        let mut out = VideoFrame::black(w, h);
        to_i420(Layout::Grey, &one(&[16, 32, 64, 128], 2), &mut out).unwrap();
        assert_eq!(
            (out.y.as_slice(), out.u[0], out.v[0]),
            (&[16, 32, 64, 128][..], 128, 128)
        );
        assert!(to_i420(Layout::Grey, &one(&[16, 32, 64], 2), &mut out).is_err());
        // White in RGB and in BGR: full luma, no colour.
        let white = [255u8; 12];
        for layout in [Layout::Rgb, Layout::Bgr] {
            let mut out = VideoFrame::black(w, h);
            to_i420(layout, &one(&white, 6), &mut out).unwrap();
            assert_eq!(out.y, [235; 4], "{layout:?}");
            assert!(out.u[0].abs_diff(128) <= 1 && out.v[0].abs_diff(128) <= 1);
        }
        // Pure red: R and B read in their places.
        let (red, blue) = ([255, 0, 0].repeat(4), [0, 0, 255].repeat(4));
        let (mut rgb, mut bgr) = (VideoFrame::black(w, h), VideoFrame::black(w, h));
        to_i420(Layout::Rgb, &one(&red, 6), &mut rgb).unwrap();
        to_i420(Layout::Bgr, &one(&blue, 6), &mut bgr).unwrap();
        assert_eq!((rgb.y, rgb.u, rgb.v), (bgr.y, bgr.u, bgr.v));
    }

    #[test]
    fn a_picture_in_a_plane_each_is_read_as_one_in_one() {
        let (w, h) = (4u32, 2u32);
        let y = [1, 2, 3, 4, 0, 0, 5, 6, 7, 8, 0, 0]; // stride 6
        let (u, v) = ([9, 10, 0], [11, 12, 0]); // stride 3
        let mut out = VideoFrame::black(w, h);
        let planes = [
            Plane {
                bytes: &y,
                stride: 6,
            },
            Plane {
                bytes: &u,
                stride: 3,
            },
            Plane {
                bytes: &v,
                stride: 3,
            },
        ];
        to_i420(Layout::I420, &planes, &mut out).unwrap();
        assert_eq!(out.y, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            (out.u.as_slice(), out.v.as_slice()),
            (&[9, 10][..], &[11, 12][..])
        );
        // NV12 in two.
        let uv = [9, 11, 10, 12];
        let planes = [
            Plane {
                bytes: &y,
                stride: 6,
            },
            Plane {
                bytes: &uv,
                stride: 4,
            },
        ];
        let mut out = VideoFrame::black(w, h);
        to_i420(Layout::Nv12, &planes, &mut out).unwrap();
        assert_eq!(out.y, [1, 2, 3, 4, 5, 6, 7, 8]);
        assert_eq!(
            (out.u.as_slice(), out.v.as_slice()),
            (&[9, 10][..], &[11, 12][..])
        );
        // A chroma plane too short, or none at all: an error.
        let planes = [
            Plane {
                bytes: &y,
                stride: 6,
            },
            Plane {
                bytes: &uv[..3],
                stride: 4,
            },
        ];
        assert!(to_i420(Layout::Nv12, &planes, &mut out).is_err());
        assert!(to_i420(Layout::I420, &[], &mut out).is_err());
    }
}
