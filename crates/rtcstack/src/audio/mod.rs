//! Audio: what goes into the call and what comes out of it.
//!
//! Everything inside the call is 48 kHz mono, 20 ms frames (960 samples),
//! which is what the Opus track carries.

pub mod capture;
pub mod device;
pub mod far_end;
pub(crate) mod inband_repair;
pub mod io;
pub mod jitter;
pub mod level;
pub mod processing;
pub mod resample;
pub mod route;
pub mod watch;

/// Sample rate of every signal in the call.
pub const SAMPLE_RATE: u32 = 48_000;
/// Samples in one 20 ms frame.
pub const FRAME_SAMPLES: usize = 960;

/// Whether an Opus packet is a DTX frame: the encoder in DTX returns only
/// its table-of-contents byte (libwebrtc's rule: two bytes or fewer). Every
/// 400 ms in a silence it codes the background noise in a real packet
/// instead. A sender need not send it; a receiver knows from it that a
/// pause began.
pub(crate) fn is_dtx_frame(packet: &[u8]) -> bool {
    packet.len() <= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_toc_byte_is_a_dtx_frame() {
        assert!(is_dtx_frame(&[0x08]));
        assert!(is_dtx_frame(&[]));
        assert!(!is_dtx_frame(&[0x08, 0x01, 0x02]));
    }
}
