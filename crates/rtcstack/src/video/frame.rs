//! A decoded picture in I420 (full-resolution luma, chroma at half the
//! width and height), the layout both decoders produce: kept as is until
//! something draws it, so a frame nobody looks at costs one copy.

/// One decoded picture.
#[derive(Clone, PartialEq, Eq)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    /// Luma, `width` × `height`, rows packed.
    pub y: Vec<u8>,
    /// Blue-difference chroma, `chroma_width()` × `chroma_height()`.
    pub u: Vec<u8>,
    /// Red-difference chroma, same size as `u`.
    pub v: Vec<u8>,
    /// The RTP timestamp it was sent with (90 kHz clock).
    pub rtp_timestamp: u32,
}

/// One plane as a decoder hands it over: rows `stride` bytes apart.
pub(crate) struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
}

impl VideoFrame {
    /// A black picture of this size (BT.601 limited range).
    pub fn black(width: u32, height: u32) -> VideoFrame {
        let c = (width.div_ceil(2) * height.div_ceil(2)) as usize;
        VideoFrame {
            width,
            height,
            y: vec![16; (width * height) as usize],
            u: vec![128; c],
            v: vec![128; c],
            rtp_timestamp: 0,
        }
    }

    pub fn chroma_width(&self) -> u32 {
        self.width.div_ceil(2)
    }

    pub fn chroma_height(&self) -> u32 {
        self.height.div_ceil(2)
    }

    /// Its planes, for the `yuv` crate to write a converted picture into.
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    pub(crate) fn planes_mut(&mut self) -> yuv::YuvPlanarImageMut<'_, u8> {
        let cw = self.chroma_width();
        yuv::YuvPlanarImageMut {
            y_plane: yuv::BufferStoreMut::Borrowed(&mut self.y),
            y_stride: self.width,
            u_plane: yuv::BufferStoreMut::Borrowed(&mut self.u),
            u_stride: cw,
            v_plane: yuv::BufferStoreMut::Borrowed(&mut self.v),
            v_stride: cw,
            width: self.width,
            height: self.height,
        }
    }

    /// Copies a decoder's planes (rows padded to their strides) into a
    /// packed frame. `None` if a plane is shorter than the size says: a
    /// decoder's output is not trusted to be well formed.
    pub(crate) fn from_planes(
        width: u32,
        height: u32,
        [y, u, v]: [Plane<'_>; 3],
        rtp_timestamp: u32,
    ) -> Option<VideoFrame> {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        Some(VideoFrame {
            width,
            height,
            y: packed(&y, w, h)?,
            u: packed(&u, cw, ch)?,
            v: packed(&v, cw, ch)?,
            rtp_timestamp,
        })
    }

    /// The picture at half its size (each side rounded down, at least 1
    /// px), each pixel the mean of the 2×2 it covers: for a window that
    /// draws it at half its size or less. A frame whose planes do not match
    /// its size (built by hand) halves to black rather than panicking.
    pub fn halved(&self) -> VideoFrame {
        let mut out = VideoFrame::black((self.width / 2).max(1), (self.height / 2).max(1));
        let (w, cw, ch) = (
            self.width as usize,
            self.chroma_width() as usize,
            self.chroma_height() as usize,
        );
        let whole = self.y.len() == w * self.height as usize
            && self.u.len() == cw * ch
            && self.v.len() == cw * ch
            && w > 0;
        if whole {
            super::simulcast::halve(self, &mut out);
        }
        out
    }

    /// The picture for a tile of `width` x `height` (device pixels; drawn
    /// whole, its aspect kept): halved for as long as the half still fills
    /// what is drawn, so a page moves and paints no more pixels than it
    /// shows (at most twice as many each way). `None` when even one
    /// halving would not fill it: the picture as it is.
    pub fn fitted(&self, width: u32, height: u32) -> Option<VideoFrame> {
        let halvable = |f: &VideoFrame| {
            // Drawn at min(fit/size) of its size: half of it still fills
            // that while the scale is at most a half, on one side or the
            // other.
            f.width >= 2 && f.height >= 2 && (2 * width <= f.width || 2 * height <= f.height)
        };
        if !halvable(self) {
            return None;
        }
        let mut out = self.halved();
        while halvable(&out) {
            out = out.halved();
        }
        Some(out)
    }

    /// The picture as RGBA, rows packed (what a canvas draws). Converted
    /// with SIMD where the CPU has it; the same BT.601 limited range as
    /// [`VideoFrame::rgb_at`].
    pub fn to_rgba(&self) -> Vec<u8> {
        let mut rgba = vec![0u8; self.width as usize * self.height as usize * 4];
        self.write_rgba(&mut rgba);
        rgba
    }

    /// The planes as the `yuv` crate reads them.
    fn planes(&self) -> yuv::YuvPlanarImage<'_, u8> {
        yuv::YuvPlanarImage {
            y_plane: &self.y,
            y_stride: self.width,
            u_plane: &self.u,
            u_stride: self.chroma_width(),
            v_plane: &self.v,
            v_stride: self.chroma_width(),
            width: self.width,
            height: self.height,
        }
    }

    /// The same, written into `rgba` (width × height × 4 bytes): for a
    /// message that carries other bytes before it, with no second copy.
    pub fn write_rgba(&self, rgba: &mut [u8]) {
        let image = self.planes();
        if let Err(e) = yuv::yuv420_to_rgba(
            &image,
            rgba,
            self.width * 4,
            yuv::YuvRange::Limited,
            yuv::YuvStandardMatrix::Bt601,
        ) {
            // Only a frame whose planes do not match its size (which
            // from_planes never makes), or a buffer of the wrong size:
            // left as it was rather than not drawn at all.
            tracing::warn!("{self:?} to RGBA: {e}");
        }
    }

    /// The picture as B, G, R, A bytes, rows packed (what a native window's
    /// 32-bit pixels are in memory on a little-endian machine).
    pub fn to_bgra(&self) -> Vec<u8> {
        let mut bgra = vec![0u8; self.width as usize * self.height as usize * 4];
        let image = self.planes();
        if let Err(e) = yuv::yuv420_to_bgra(
            &image,
            &mut bgra,
            self.width * 4,
            yuv::YuvRange::Limited,
            yuv::YuvStandardMatrix::Bt601,
        ) {
            tracing::warn!("{self:?} to BGRA: {e}");
        }
        bgra
    }

    /// The colour at a pixel as 8-bit RGB (BT.601, limited range: what
    /// VP8 and H.264 encoders are fed by WebRTC senders). `None` outside.
    pub fn rgb_at(&self, x: u32, y: u32) -> Option<[u8; 3]> {
        if x >= self.width || y >= self.height {
            return None;
        }
        let luma = self.y[(y * self.width + x) as usize];
        let c = ((y / 2) * self.chroma_width() + x / 2) as usize;
        Some(bt601_to_rgb(luma, self.u[c], self.v[c]))
    }
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "VideoFrame({}x{} @{})",
            self.width, self.height, self.rtp_timestamp
        )
    }
}

fn packed(plane: &Plane<'_>, width: usize, rows: usize) -> Option<Vec<u8>> {
    if rows == 0 || width == 0 {
        return Some(Vec::new());
    }
    if plane.stride < width || plane.data.len() < plane.stride * (rows - 1) + width {
        return None;
    }
    let mut out = Vec::with_capacity(width * rows);
    for row in plane.data.chunks(plane.stride).take(rows) {
        out.extend_from_slice(&row[..width]);
    }
    Some(out)
}

/// BT.601 limited-range YCbCr to RGB.
pub(crate) fn bt601_to_rgb(y: u8, u: u8, v: u8) -> [u8; 3] {
    let c = (y as f32 - 16.0) * 1.164;
    let d = u as f32 - 128.0;
    let e = v as f32 - 128.0;
    let clamp = |x: f32| x.round().clamp(0.0, 255.0) as u8;
    [
        clamp(c + 1.596 * e),
        clamp(c - 0.392 * d - 0.813 * e),
        clamp(c + 2.017 * d),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_and_a_malformed_frame_halves_to_black() {
        let mut f = VideoFrame::black(4, 2);
        f.y = vec![10, 30, 200, 200, 50, 70, 100, 100];
        let h = f.halved();
        assert_eq!((h.width, h.height), (2, 1));
        assert_eq!(h.y, [40, 150]);
        assert_eq!(h.u.len(), 1);
        let mut bad = VideoFrame::black(4, 2);
        bad.y.truncate(3);
        let h = bad.halved();
        assert_eq!((h.width, h.height, h.y.clone()), (2, 1, vec![16, 16]));
        // One pixel stays one pixel.
        assert_eq!(VideoFrame::black(1, 1).halved().width, 1);
    }

    #[test]
    fn a_frame_is_halved_while_the_half_still_fills_its_tile() {
        let f = VideoFrame::black(640, 360);
        let size = |w, h| f.fitted(w, h).map(|g| (g.width, g.height));
        // A 290x163 tile: 320x180 fills it, 160x90 would not.
        assert_eq!(size(290, 163), Some((320, 180)));
        assert_eq!(size(320, 180), Some((320, 180)));
        assert_eq!(size(321, 181), None);
        assert_eq!(size(100, 50), Some((160, 90)));
        // A tall tile draws it 300 wide: the width decides.
        assert_eq!(size(300, 900), Some((320, 180)));
        // As large as the frame or more: untouched.
        assert_eq!(size(1280, 720), None);
        // Tiny tiles stop at a pixel or two.
        assert_eq!(size(1, 1), Some((2, 1)));
    }

    #[test]
    fn planes_with_padding_are_packed() {
        // 3x2 luma in rows of 4; chroma 2x1 in rows of 3.
        let y = [1, 2, 3, 0, 4, 5, 6, 0];
        let u = [7, 8, 0];
        let v = [9, 10, 0];
        let f = VideoFrame::from_planes(
            3,
            2,
            [
                Plane {
                    data: &y,
                    stride: 4,
                },
                Plane {
                    data: &u,
                    stride: 3,
                },
                Plane {
                    data: &v,
                    stride: 3,
                },
            ],
            5,
        )
        .unwrap();
        assert_eq!(f.y, [1, 2, 3, 4, 5, 6]);
        assert_eq!(f.u, [7, 8]);
        assert_eq!(f.v, [9, 10]);
    }

    /// 4x2: left half red, right half blue (chroma per 2x2 block).
    fn red_and_blue() -> VideoFrame {
        VideoFrame {
            width: 4,
            height: 2,
            y: vec![82, 82, 41, 41, 82, 82, 41, 41],
            u: vec![90, 240],
            v: vec![240, 110],
            rtp_timestamp: 0,
        }
    }

    #[test]
    fn rgba_has_the_colours_of_each_pixel() {
        let f = red_and_blue();
        let rgba = f.to_rgba();
        assert_eq!(rgba.len(), 4 * 2 * 4);
        for (i, px) in rgba.chunks(4).enumerate() {
            let (x, y) = (i as u32 % 4, i as u32 / 4);
            let want = f.rgb_at(x, y).unwrap();
            for c in 0..3 {
                assert!(
                    (px[c] as i32 - want[c] as i32).abs() <= 3,
                    "pixel {x},{y}: {px:?} vs {want:?}"
                );
            }
            assert_eq!(px[3], 255);
        }
    }

    #[test]
    fn bgra_is_rgba_with_red_and_blue_swapped() {
        let f = red_and_blue();
        let (rgba, bgra) = (f.to_rgba(), f.to_bgra());
        assert_eq!(bgra.len(), rgba.len());
        for (c, b) in rgba.chunks(4).zip(bgra.chunks(4)) {
            assert_eq!([b[2], b[1], b[0], b[3]], [c[0], c[1], c[2], c[3]]);
        }
        // Red on the left, blue on the right, as B, G, R.
        assert!(bgra[2] > 150 && bgra[0] < 100, "{:?}", &bgra[..4]);
        assert!(bgra[12] > 150 && bgra[14] < 100, "{:?}", &bgra[12..16]);
    }

    #[test]
    fn a_short_plane_is_refused_not_read_past() {
        let y = [0u8; 7];
        let c = [0u8; 2];
        let planes = [
            Plane {
                data: &y,
                stride: 4,
            },
            Plane {
                data: &c,
                stride: 2,
            },
            Plane {
                data: &c,
                stride: 2,
            },
        ];
        assert!(VideoFrame::from_planes(4, 2, planes, 0).is_none());
    }

    #[test]
    fn limited_range_primaries_come_back_as_rgb() {
        // Pure red, green and blue in BT.601 limited range (the 8-bit
        // values are rounded: within 3).
        let near = |got: [u8; 3], want: [u8; 3]| {
            assert!(
                (0..3).all(|c| (got[c] as i32 - want[c] as i32).abs() <= 3),
                "{got:?} is not {want:?}"
            )
        };
        near(bt601_to_rgb(82, 90, 240), [255, 0, 0]);
        near(bt601_to_rgb(145, 54, 34), [0, 255, 0]);
        near(bt601_to_rgb(41, 240, 110), [0, 0, 255]);
        assert_eq!(bt601_to_rgb(16, 128, 128), [0, 0, 0]);
        assert_eq!(bt601_to_rgb(235, 128, 128), [255, 255, 255]);
    }
}
