//! Simulcast: our video sent at up to three sizes at once (full, half and
//! quarter, LiveKit's rids "f", "h" and "q"), so the server can forward
//! each subscriber the one that fits its tile and its network. Smaller
//! layers are the full picture halved, and halved again (a 2×2 box filter:
//! cheap, and what a downscale by two needs).

use super::frame::VideoFrame;
use super::io::VideoFormat;

/// One layer we send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layer {
    /// LiveKit's name for it.
    pub rid: &'static str,
    /// The full picture's size divided by this.
    pub scale: u32,
    pub format: VideoFormat,
}

/// No layer narrower than this is worth sending.
const MIN_WIDTH: u32 = 128;

/// The layers for an input, smallest first (as LiveKit lists them): the
/// full size, its half and its quarter while they are at least 128 px wide.
pub(crate) fn plan(format: VideoFormat) -> Vec<Layer> {
    let mut layers = Vec::new();
    for (rid, scale) in [("q", 4), ("h", 2), ("f", 1)] {
        let width = format.width / scale;
        if scale == 1 || width >= MIN_WIDTH {
            layers.push(Layer {
                rid,
                scale,
                format: VideoFormat {
                    width: (format.width / scale).max(1),
                    height: (format.height / scale).max(1),
                    fps: format.fps,
                },
            });
        }
    }
    layers
}

/// Writes `src` at half its size (each side rounded down) into `dst`.
pub(crate) fn halve(src: &VideoFrame, dst: &mut VideoFrame) {
    let (w, h) = ((src.width / 2).max(1), (src.height / 2).max(1));
    if dst.width != w || dst.height != h {
        *dst = VideoFrame::black(w, h);
    }
    halve_plane(
        &src.y,
        src.width as usize,
        &mut dst.y,
        w as usize,
        h as usize,
    );
    let (scw, dcw, dch) = (
        src.chroma_width() as usize,
        dst.chroma_width() as usize,
        dst.chroma_height() as usize,
    );
    halve_plane(&src.u, scw, &mut dst.u, dcw, dch);
    halve_plane(&src.v, scw, &mut dst.v, dcw, dch);
}

/// Each destination pixel the mean of the 2×2 source pixels it covers
/// (clamped at the source's edges).
fn halve_plane(src: &[u8], src_w: usize, dst: &mut [u8], w: usize, h: usize) {
    let src_h = src.len() / src_w.max(1);
    for y in 0..h {
        let (y0, y1) = ((2 * y).min(src_h - 1), (2 * y + 1).min(src_h - 1));
        let (r0, r1) = (&src[y0 * src_w..][..src_w], &src[y1 * src_w..][..src_w]);
        let out = &mut dst[y * w..][..w];
        for (x, o) in out.iter_mut().enumerate() {
            let (x0, x1) = ((2 * x).min(src_w - 1), (2 * x + 1).min(src_w - 1));
            let sum = r0[x0] as u32 + r0[x1] as u32 + r1[x0] as u32 + r1[x1] as u32;
            *o = ((sum + 2) / 4) as u8;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(width: u32, height: u32) -> VideoFormat {
        VideoFormat {
            width,
            height,
            fps: 30,
        }
    }

    #[test]
    fn three_layers_for_360p_and_up_fewer_for_small_pictures() {
        let l = plan(format(640, 360));
        let sizes: Vec<_> = l
            .iter()
            .map(|l| (l.rid, l.format.width, l.format.height))
            .collect();
        assert_eq!(sizes, [("q", 160, 90), ("h", 320, 180), ("f", 640, 360)]);
        let l = plan(format(320, 180));
        assert_eq!(l.iter().map(|l| l.rid).collect::<Vec<_>>(), ["h", "f"]);
        assert_eq!(plan(format(160, 90)).len(), 1);
    }

    #[test]
    fn halving_averages_each_square() {
        let mut src = VideoFrame::black(4, 2);
        src.y = vec![0, 100, 200, 200, 100, 200, 200, 200];
        src.u = vec![50, 150];
        src.v = vec![60, 160];
        let mut dst = VideoFrame::black(1, 1);
        halve(&src, &mut dst);
        assert_eq!((dst.width, dst.height), (2, 1));
        assert_eq!(dst.y, [100, 200]);
        assert_eq!(dst.u, [100]);
        assert_eq!(dst.v, [110]);
    }
}
