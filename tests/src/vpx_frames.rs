//! A compressed VP8 or VP9 frame decoded by libvpx into our engine's
//! picture, the planes copied out as the engine copies them: for frames a
//! test or a benchmark holds encoded.

use anyhow::{Context, Result};
use rtcstack::video::VideoFrame;

/// `data` decoded (after the frames before it) into a `VideoFrame`.
pub fn decode(decoder: &mut rtcstack_vpx::Decoder, data: &[u8]) -> Result<VideoFrame> {
    let p = decoder.decode(data)?.context("libvpx gave no picture")?;
    let (w, h) = (p.width as usize, p.height as usize);
    let plane = |(d, stride): (&[u8], usize), pw: usize, ph: usize| -> Vec<u8> {
        (0..ph)
            .flat_map(|r| &d[r * stride..r * stride + pw])
            .copied()
            .collect()
    };
    Ok(VideoFrame {
        width: p.width,
        height: p.height,
        y: plane(p.planes[0], w, h),
        u: plane(p.planes[1], w.div_ceil(2), h.div_ceil(2)),
        v: plane(p.planes[2], w.div_ceil(2), h.div_ceil(2)),
        rtp_timestamp: 0,
    })
}
