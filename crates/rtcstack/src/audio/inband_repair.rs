//! Whether an Opus packet carries in-band repair: a low-bitrate copy of the
//! frame before it (SILK's LBRR frames, RFC 6716 4.2.4), which an encoder
//! adds when it is told packets are being lost. LiveKit tells a publisher
//! the worst loss among its audio's subscribers, so a browser or
//! libwebrtc publisher turns it on when our downlink loses packets.
//!
//! Read from the packet's bytes, no decoding: the LBRR flag is among the
//! first symbols of the first frame's range-coded data, each of
//! probability one half, so it is a bit of that frame's first byte (RFC
//! 6716 4.2.3).

/// Whether `packet` holds a copy of the frame before it to decode in its
/// place. False for a CELT-only packet (no SILK layer), a DTX frame and a
/// packet that does not parse.
pub(crate) fn carries_repair(packet: &[u8]) -> bool {
    let Some(&toc) = packet.first() else {
        return false;
    };
    let config = toc >> 3;
    // Configurations 0–11 are SILK only, 12–15 hybrid, 16–31 CELT only
    // (RFC 6716 3.1).
    let silk_frames = match config {
        // SILK only: 10, 20, 40 or 60 ms; one SILK frame per 20 ms.
        0..=11 => match config % 4 {
            0 | 1 => 1,
            2 => 2,
            _ => 3,
        },
        // Hybrid: 10 or 20 ms.
        12..=15 => 1,
        _ => return false,
    };
    let stereo = toc & 0x04 != 0;
    let Some(first) = first_frame(packet) else {
        return false;
    };
    let Some(&byte) = first.first() else {
        return false; // an empty frame (DTX)
    };
    // MSB first: a VAD flag per SILK frame, then the LBRR flag; for
    // stereo the side channel's flags follow the mid channel's.
    let mid = (byte >> (7 - silk_frames)) & 1 == 1;
    let side = stereo && (byte >> (6 - 2 * silk_frames)) & 1 == 1;
    mid || side
}

/// The first frame's bytes (RFC 6716 3.2): codes 0 and 1 start at once,
/// code 2 after its length, code 3 after the frame count, padding length
/// and (VBR) frame lengths.
fn first_frame(packet: &[u8]) -> Option<&[u8]> {
    let rest = packet.get(1..)?;
    match packet[0] & 0x03 {
        0 => Some(rest),
        1 => Some(&rest[..rest.len() / 2]),
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
            if count & 0x40 != 0 {
                // Padding length: 255 means 254 more and another byte.
                loop {
                    let (&p, after) = rest.split_first()?;
                    rest = after;
                    if p != 255 {
                        break;
                    }
                }
            }
            if count & 0x80 != 0 && frames > 1 {
                // VBR: the first frame's length leads M-1 lengths.
                let (len, mut at) = frame_length(rest)?;
                for _ in 1..frames - 1 {
                    at += frame_length(rest.get(at..)?)?.1;
                }
                rest.get(at..at + len)
            } else {
                // CBR or one frame: the first frame starts here (its end
                // does not matter to the flags at its start).
                Some(rest)
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

    #[test]
    fn the_copy_decodes_in_place_of_the_lost_frame() {
        let packets = encoded(true, 15, 32_000);
        let mut dec = opus::Decoder::new(48_000, opus::Channels::Mono).unwrap();
        let mut pcm = vec![0f32; 960];
        for p in &packets[..10] {
            dec.decode_float(p, &mut pcm, false).unwrap();
        }
        // Packet 10 lost: rebuilt from packet 11's copy, it is the tone,
        // not the fade of concealment.
        assert!(carries_repair(&packets[11]));
        let n = dec.decode_float(&packets[11], &mut pcm, true).unwrap();
        assert_eq!(n, 960);
        let rms = (pcm.iter().map(|s| s * s).sum::<f32>() / 960.0).sqrt();
        assert!(rms > 0.15, "the repaired frame's level {rms}");
    }

    #[test]
    fn celt_dtx_and_broken_packets_carry_none() {
        assert!(!carries_repair(&[]));
        assert!(!carries_repair(&[0x08])); // SILK, 20 ms, empty: DTX
        assert!(!carries_repair(&[0xf8, 0xff, 0xff])); // CELT only
                                                       // SILK 20 ms, code 0, the LBRR bit (second from the top) set.
        assert!(carries_repair(&[0x08, 0x40, 0x00]));
        assert!(!carries_repair(&[0x08, 0x80, 0x00])); // only VAD set
                                                       // Stereo: the side channel's LBRR bit (fourth from the top).
        assert!(carries_repair(&[0x0c, 0x10, 0x00]));
        // 40 ms (two SILK frames): the LBRR flag is the third bit.
        assert!(carries_repair(&[0x10, 0x20, 0x00]));
        assert!(!carries_repair(&[0x10, 0x40, 0x00]));
        // Code 2: a first frame's length past the end.
        assert!(!carries_repair(&[0x0a, 0x09, 0x40]));
        assert!(carries_repair(&[0x0a, 0x01, 0x40, 0x00]));
        // Code 3: no frames, or padding that runs off the end.
        assert!(!carries_repair(&[0x0b, 0x00]));
        assert!(!carries_repair(&[0x0b, 0x41, 0xff]));
        // Code 3, VBR, two frames, 1 byte of padding: the first frame.
        assert!(carries_repair(&[0x0b, 0xc2, 0x01, 0x01, 0x40, 0x00, 0x00]));
    }
}
