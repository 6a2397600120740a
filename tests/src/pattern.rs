//! The video test pattern, read back from a decoded frame. The same
//! definition as `pattern_frame` in tests/peer/peer.py: the top half four
//! colour blocks side by side, the bottom half the frame number's 16 bits
//! (most significant first) as black or white cells. Read at the middle of
//! each block and cell, averaged over a small square, so it reads the same
//! at any simulcast layer's size.

use rtcstack::video::{VideoFormat, VideoFrame, VideoInput};

/// The blocks' colours, left to right.
pub const COLOURS: [[u8; 3]; 4] = [[220, 40, 40], [40, 200, 60], [40, 60, 220], [230, 210, 40]];
pub const BITS: u32 = 16;
/// A decoded colour counts as the pattern's within this much per channel
/// (compression and two colour conversions).
pub const COLOUR_TOLERANCE: i32 = 40;

/// BT.601 limited-range YCbCr of an RGB colour.
fn yuv([r, g, b]: [u8; 3]) -> [u8; 3] {
    let (r, g, b) = (r as f32, g as f32, b as f32);
    let y = 16.0 + 0.257 * r + 0.504 * g + 0.098 * b;
    let u = 128.0 - 0.148 * r - 0.291 * g + 0.439 * b;
    let v = 128.0 + 0.439 * r - 0.368 * g - 0.071 * b;
    [y.round() as u8, u.round() as u8, v.round() as u8]
}

/// The pattern of frame `number`, drawn straight into I420.
pub fn draw(w: u32, h: u32, number: u32) -> VideoFrame {
    let mut f = VideoFrame::black(w, h);
    draw_into(&mut f, number);
    f
}

/// Draws frame `number` over `f`: row by row, a run of one value per
/// block or cell (quick enough unoptimised for 30 fps at 720p).
pub fn draw_into(f: &mut VideoFrame, number: u32) {
    let (w, h) = (f.width as usize, f.height as usize);
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    // Each column's colour in the top half and the bottom half.
    let top = |x: usize| COLOURS[(x * 4 / w).min(3)];
    let bottom = |x: usize| {
        let bit = (number >> (BITS as usize - 1 - (x * BITS as usize / w).min(15))) & 1;
        [if bit == 1 { 240 } else { 16 }; 3]
    };
    let runs = |colour: &dyn Fn(usize) -> [u8; 3], width: usize, scale: usize, plane: usize| {
        let mut row = vec![0u8; width];
        for (x, v) in row.iter_mut().enumerate() {
            *v = yuv(colour(x * scale))[plane];
        }
        row
    };
    let rows: [[Vec<u8>; 2]; 3] = [
        [runs(&top, w, 1, 0), runs(&bottom, w, 1, 0)],
        [runs(&top, cw, 2, 1), runs(&bottom, cw, 2, 1)],
        [runs(&top, cw, 2, 2), runs(&bottom, cw, 2, 2)],
    ];
    for y in 0..h {
        let half = usize::from(y >= h / 2);
        f.y[y * w..(y + 1) * w].copy_from_slice(&rows[0][half]);
    }
    for y in 0..ch {
        let half = usize::from(y * 2 >= h / 2);
        f.u[y * cw..(y + 1) * cw].copy_from_slice(&rows[1][half]);
        f.v[y * cw..(y + 1) * cw].copy_from_slice(&rows[2][half]);
    }
}

/// The pattern as a camera: frame after frame, numbered from 0.
pub struct PatternSource {
    format: VideoFormat,
    next: u32,
    /// New noise in a band across the middle of every frame (clear of the
    /// points the pattern is read at): a picture an encoder cannot make
    /// small, so it sends all the bitrate it is given, as a real camera's
    /// detail and motion make it.
    noise: Option<u64>,
    /// Its amplitude: 256 is white noise, which no rate makes small (an
    /// encoder overshoots any low target with it); less is grain, which a
    /// coarser quantiser smooths away, so the encoder meets a lower rate
    /// by sending less detail, as it does with a real camera's.
    amplitude: u16,
}

impl PatternSource {
    pub fn new(width: u32, height: u32, fps: u32) -> Self {
        PatternSource {
            format: VideoFormat { width, height, fps },
            next: 0,
            noise: None,
            amplitude: 256,
        }
    }

    pub fn with_noise(mut self) -> Self {
        self.noise = Some(0x9e37_79b9_7f4a_7c15);
        self
    }

    /// Grain in the same band: mid-grey, each pixel up to 24 levels off.
    pub fn with_grain(self) -> Self {
        self.with_grain_of(48)
    }

    /// Grain of `amplitude` levels (under 256) around mid-grey.
    pub fn with_grain_of(mut self, amplitude: u16) -> Self {
        self.noise = Some(0x9e37_79b9_7f4a_7c15);
        self.amplitude = amplitude.min(255);
        self
    }
}

impl VideoInput for PatternSource {
    fn format(&self) -> VideoFormat {
        self.format
    }
    fn next_frame(&mut self, out: &mut VideoFrame) {
        draw_into(out, self.next);
        if let Some(state) = self.noise.as_mut() {
            let (w, h) = (out.width as usize, out.height as usize);
            // Rows h/2 - h/8 .. h/2 + h/8: between the colour blocks'
            // middle (h/4) and the bits' (3h/4).
            for row in (h / 2 - h / 8)..(h / 2 + h / 8) {
                for px in out.y[row * w..(row + 1) * w].chunks_mut(8) {
                    // xorshift64: eight pseudo-random bytes per step.
                    *state ^= *state << 13;
                    *state ^= *state >> 7;
                    *state ^= *state << 17;
                    let bytes = state.to_le_bytes();
                    for (p, b) in px.iter_mut().zip(bytes) {
                        *p = match self.amplitude {
                            256 => b,
                            a => (128 - a / 2 + u16::from(b) * a / 256) as u8,
                        };
                    }
                }
            }
        }
        self.next = self.next.wrapping_add(1) & 0xffff;
    }
}

/// What one frame shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reading {
    /// The frame number in its bits.
    pub number: u32,
    /// Each block's colour as decoded.
    pub colours: [[u8; 3]; 4],
    /// The largest difference of any block's channel from the pattern's.
    pub worst: i32,
}

impl Reading {
    pub fn colours_match(&self) -> bool {
        self.worst <= COLOUR_TOLERANCE
    }
}

/// Reads the pattern off a decoded `frame`.
pub fn read(frame: &VideoFrame) -> Reading {
    read_with(frame.width, frame.height, |x, y| frame.rgb_at(x, y))
}

/// Reads the pattern off any picture `w` × `h` whose colour at a point
/// `rgb_at` gives (a decoded frame, a tile in a screenshot).
pub fn read_with(w: u32, h: u32, rgb_at: impl Fn(u32, u32) -> Option<[u8; 3]>) -> Reading {
    let mut colours = [[0u8; 3]; 4];
    let mut worst = 0;
    for (i, colour) in colours.iter_mut().enumerate() {
        let x = (2 * i as u32 + 1) * w / 8;
        *colour = average(&rgb_at, x, h / 4);
        for c in 0..3 {
            worst = worst.max((colour[c] as i32 - COLOURS[i][c] as i32).abs());
        }
    }
    let mut number = 0;
    for bit in 0..BITS {
        let x = (2 * bit + 1) * w / (2 * BITS);
        let [r, g, b] = average(&rgb_at, x, 3 * h / 4);
        let on = (r as u32 + g as u32 + b as u32) / 3 > 128;
        number = number << 1 | on as u32;
    }
    Reading {
        number,
        colours,
        worst,
    }
}

/// The mean colour of a square of side up to 5 around (x, y).
fn average(rgb_at: &impl Fn(u32, u32) -> Option<[u8; 3]>, x: u32, y: u32) -> [u8; 3] {
    let mut sum = [0u32; 3];
    let mut n = 0;
    for dy in 0..5 {
        for dx in 0..5 {
            let (px, py) = ((x + dx).saturating_sub(2), (y + dy).saturating_sub(2));
            if let Some(rgb) = rgb_at(px, py) {
                for c in 0..3 {
                    sum[c] += rgb[c] as u32;
                }
                n += 1;
            }
        }
    }
    if n == 0 {
        return [0; 3];
    }
    sum.map(|s| (s / n) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_reads_back_at_every_layer_size() {
        for (w, h) in [(640, 360), (320, 180), (160, 90)] {
            for number in [0, 1, 0x8001, 12345] {
                let r = read(&draw(w, h, number));
                assert_eq!(r.number, number, "{w}x{h}");
                assert!(r.colours_match(), "{w}x{h}: {r:?}");
            }
        }
    }

    #[test]
    fn a_wrong_colour_does_not_match() {
        let mut f = draw(640, 360, 7);
        // Luma of the red block to black.
        for y in 0..180 {
            for x in 0..160 {
                f.y[y * 640 + x] = 16;
            }
        }
        let r = read(&f);
        assert!(!r.colours_match(), "{r:?}");
        assert_eq!(r.number, 7);
    }
}
