//! Whether an Opus packet carries in-band repair: a low-bitrate copy of the
//! frame before it (SILK's LBRR frames, RFC 6716 4.2.4), which an encoder
//! adds when it is told packets are being lost: a browser or libwebrtc
//! publisher whose own uplink loses packets (the server's reports tell
//! it), or any publisher when the server passes its subscribers' loss on
//! (LiveKit's `audio.enable_loss_proxying`, off by default).
//!
//! Read from the packet's bytes, no decoding: the LBRR flag is among the
//! first symbols of the first frame's range-coded data, each of
//! probability one half, so it is a bit of that frame's first byte (RFC
//! 6716 4.2.3).

/// Configurations 16–31 of the table-of-contents byte are CELT only
/// (RFC 6716 3.1): no SILK layer, so no copy.
const FIRST_CELT_CONFIG: u8 = 16;

/// Whether `packet` is CELT only. After such a frame libopus conceals a
/// lost one rather than decode a copy.
pub(crate) fn is_celt_only(packet: &[u8]) -> bool {
    packet
        .first()
        .is_some_and(|toc| toc >> 3 >= FIRST_CELT_CONFIG)
}

/// Whether `packet` holds a copy of the 20 ms before it to decode in its
/// place. False for a CELT-only packet (no SILK layer), frames of another
/// length than ours (a copy decoded into 20 ms would fill the wrong span),
/// a DTX frame and a packet that does not parse.
pub(crate) fn carries_repair(packet: &[u8]) -> bool {
    let Some(&toc) = packet.first() else {
        return false;
    };
    let config = toc >> 3;
    // Configurations 0–11 are SILK only (10, 20, 40, 60 ms in turn), 12–15
    // hybrid (10, 20 ms), 16–31 CELT only (RFC 6716 3.1). A 20 ms frame
    // holds one SILK frame.
    let twenty_ms = match config {
        0..=11 => config % 4 == 1,
        12..=15 => config % 2 == 1,
        _ => false,
    };
    if !twenty_ms {
        return false;
    }
    let stereo = toc & 0x04 != 0;
    // A frame of a byte or none (DTX) has no room for a copy.
    let Some(&[first, _, ..]) = first_frame(packet) else {
        return false;
    };
    // MSB first: the VAD flag of the one SILK frame, then the LBRR flag;
    // for stereo the side channel's two flags follow the mid channel's.
    let mid = first & 0x40 != 0;
    let side = stereo && first & 0x10 != 0;
    mid || side
}

/// The first frame's bytes (RFC 6716 3.2), or `None` for a packet that
/// breaks the section's rules: codes 0 and 1 start at once (code 1's two
/// frames of equal size), code 2 after its length, code 3 after the frame
/// count, padding length and (VBR) frame lengths.
fn first_frame(packet: &[u8]) -> Option<&[u8]> {
    let rest = packet.get(1..)?;
    match packet[0] & 0x03 {
        0 => Some(rest),
        1 => (rest.len() % 2 == 0).then(|| &rest[..rest.len() / 2]),
        2 => {
            let (len, at) = frame_length(rest)?;
            rest.get(at..at + len)
        }
        _ => {
            let (&count, mut rest) = rest.split_first()?;
            let frames = usize::from(count & 0x3f);
            if frames == 0 {
                return None;
            }
            let mut padding = 0usize;
            if count & 0x40 != 0 {
                // Padding length: 255 means 254 more and another byte.
                loop {
                    let (&p, after) = rest.split_first()?;
                    rest = after;
                    padding += if p == 255 { 254 } else { usize::from(p) };
                    if p != 255 {
                        break;
                    }
                }
            }
            if count & 0x80 != 0 {
                // VBR: M-1 lengths, the first frame's first; the frames
                // and the padding must fit what follows them.
                let (len, mut at) = frame_length(rest)?;
                let mut sum = len;
                for _ in 1..frames - 1 {
                    let (l, n) = frame_length(rest.get(at..)?)?;
                    sum += l;
                    at += n;
                }
                let data = rest.len().checked_sub(at + padding)?;
                if sum > data {
                    return None;
                }
                rest.get(at..at + len)
            } else {
                // CBR: what is left after the padding splits evenly.
                let data = rest.len().checked_sub(padding)?;
                (data % frames == 0).then(|| &rest[..data / frames])
            }
        }
    }
}

/// A frame length (RFC 6716 3.2.1): one byte under 252, else two.
/// Returns the length and the bytes it took.
fn frame_length(bytes: &[u8]) -> Option<(usize, usize)> {
    let &b0 = bytes.first()?;
    if b0 < 252 {
        return Some((usize::from(b0), 1));
    }
    let &b1 = bytes.get(1)?;
    Some((usize::from(b0) + 4 * usize::from(b1), 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodes 20 ms frames of a tone with libopus, in-band repair on or off
    /// and told of `loss` percent lost.
    fn encoded(fec: bool, loss: i32, bitrate: i32) -> Vec<Vec<u8>> {
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        enc.set_inband_fec(fec).unwrap();
        enc.set_packet_loss_perc(loss).unwrap();
        enc.set_bitrate(opus::Bitrate::Bits(bitrate)).unwrap();
        let mut out = Vec::new();
        for f in 0..25 {
            let pcm: Vec<f32> = (0..960)
                .map(|i| {
                    let t = (f * 960 + i) as f32 / 48_000.0;
                    0.3 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()
                })
                .collect();
            out.push(enc.encode_vec_float(&pcm, 1500).unwrap());
        }
        out
    }

    #[test]
    fn an_encoder_told_of_loss_carries_repair_and_one_not_told_does_not() {
        let with = encoded(true, 15, 32_000);
        // The first packet has no frame before it to copy.
        let carrying = with.iter().skip(1).filter(|p| carries_repair(p)).count();
        assert!(carrying >= 20, "{carrying} of 24 packets carry repair");
        let without = encoded(false, 15, 32_000);
        assert_eq!(without.iter().filter(|p| carries_repair(p)).count(), 0);
        let untold = encoded(true, 0, 32_000);
        assert_eq!(untold.iter().filter(|p| carries_repair(p)).count(), 0);
    }

    /// The level (RMS) of the `hz` component of `pcm` at 48 kHz.
    fn level(pcm: &[f32], hz: f32) -> f32 {
        let w = 2.0 * std::f32::consts::PI * hz / 48_000.0;
        let (re, im) = pcm.iter().enumerate().fold((0.0, 0.0), |(re, im), (i, s)| {
            (re + s * (w * i as f32).cos(), im - s * (w * i as f32).sin())
        });
        (re * re + im * im).sqrt() * 2.0 / pcm.len() as f32 / std::f32::consts::SQRT_2
    }

    #[test]
    fn the_copy_decodes_in_place_of_the_lost_frame() {
        // 440 Hz, then 880 Hz from frame 10 on. Frame 10 lost: rebuilt
        // from packet 11's copy it is 880 Hz; concealment, which carries
        // on from what came before, would be 440.
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).unwrap();
        enc.set_inband_fec(true).unwrap();
        enc.set_packet_loss_perc(15).unwrap();
        enc.set_bitrate(opus::Bitrate::Bits(32_000)).unwrap();
        let packets: Vec<Vec<u8>> = (0..12)
            .map(|f| {
                let hz = if f < 10 { 440.0 } else { 880.0 };
                let pcm: Vec<f32> = (0..960)
                    .map(|i| {
                        let t = (f * 960 + i) as f32 / 48_000.0;
                        0.3 * (2.0 * std::f32::consts::PI * hz * t).sin()
                    })
                    .collect();
                enc.encode_vec_float(&pcm, 1500).unwrap()
            })
            .collect();
        let decoded = |fec: bool| {
            let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
            let mut pcm = vec![0f32; 960];
            for p in &packets[..10] {
                dec.decode_float(p, &mut pcm, false).unwrap();
            }
            let n = if fec {
                dec.decode_float(&packets[11], &mut pcm, true).unwrap()
            } else {
                dec.decode_float(&[], &mut pcm, false).unwrap()
            };
            assert_eq!(n, 960);
            (level(&pcm, 440.0), level(&pcm, 880.0))
        };
        assert!(carries_repair(&packets[11]));
        let (old, new) = decoded(true);
        assert!(
            new > 0.05 && new > 2.0 * old,
            "repaired: 440 Hz {old}, 880 Hz {new}"
        );
        let (old, new) = decoded(false);
        assert!(old > new, "concealed: 440 Hz {old}, 880 Hz {new}");
    }

    #[test]
    fn celt_dtx_other_lengths_and_broken_packets_carry_none() {
        assert!(!carries_repair(&[]));
        assert!(!carries_repair(&[0x08])); // SILK, 20 ms, empty: DTX
        assert!(!carries_repair(&[0xf8, 0xff, 0xff])); // CELT only
                                                       // SILK 20 ms, code 0, the LBRR bit (second from the top) set.
        assert!(carries_repair(&[0x08, 0x40, 0x00]));
        assert!(!carries_repair(&[0x08, 0x80, 0x00])); // only VAD set
        assert!(!carries_repair(&[0x08, 0x40])); // a frame of one byte
                                                 // Hybrid 20 ms (config 15).
        assert!(carries_repair(&[0x78, 0x40, 0x00]));
        // Stereo: the side channel's LBRR bit (fourth from the top).
        assert!(carries_repair(&[0x0c, 0x10, 0x00]));
        // 10 and 40 ms frames: not our 20 ms.
        assert!(!carries_repair(&[0x00, 0x40, 0x00]));
        assert!(!carries_repair(&[0x10, 0x40, 0x00]));
        // Code 1: two frames of equal size, so an even length.
        assert!(carries_repair(&[0x09, 0x40, 0x00, 0x00, 0x00]));
        assert!(!carries_repair(&[0x09, 0x40, 0x00, 0x00]));
        // Code 2: a first frame's length past the end.
        assert!(!carries_repair(&[0x0a, 0x09, 0x40]));
        assert!(carries_repair(&[0x0a, 0x02, 0x40, 0x00, 0x00]));
        // Code 3: no frames, padding that runs off the end, CBR that does
        // not split evenly.
        assert!(!carries_repair(&[0x0b, 0x00]));
        assert!(!carries_repair(&[0x0b, 0x41, 0xff]));
        assert!(!carries_repair(&[0x0b, 0x02, 0x40, 0x00, 0x00]));
        assert!(carries_repair(&[0x0b, 0x02, 0x40, 0x00, 0x00, 0x00]));
        // Code 3, VBR, two frames, 1 byte of padding: the first frame
        // (two bytes) is read, the padding is not frame data.
        assert!(carries_repair(&[
            0x0b, 0xc2, 0x01, 0x02, 0x40, 0x00, 0x00, 0x00
        ]));
        // VBR lengths that overrun the padding.
        assert!(!carries_repair(&[
            0x0b, 0xc2, 0x02, 0x03, 0x40, 0x00, 0x00, 0x00
        ]));
    }
}
