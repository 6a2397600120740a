//! LiveKit's packet trailer: frame metadata (a user timestamp, a frame id)
//! a publisher may append to each encoded frame, ending in its length
//! (XOR 0xFF) and the magic `LKTS`. We do not say we take it, so the
//! server strips it from the last packet of each frame it forwards us; but
//! a VP9 picture sent in spatial layers carries one after each layer's
//! frame, and only the last ends at the picture's end. The others are
//! found here, where a layer's frame ends.

/// The magic at the very end of a trailer.
const MAGIC: &[u8; 4] = b"LKTS";
/// The length byte and the magic.
const ENVELOPE: usize = 5;

/// How many bytes at the end of `frame` are a trailer (0 if none): the
/// check LiveKit's server makes.
pub(crate) fn trailer_len(frame: &[u8]) -> usize {
    let Some(head) = frame.len().checked_sub(ENVELOPE) else {
        return 0;
    };
    if &frame[head + 1..] != MAGIC {
        return 0;
    }
    let len = usize::from(frame[head] ^ 0xFF);
    if (ENVELOPE..=frame.len()).contains(&len) {
        len
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame with a trailer of `fields` bytes of metadata after it.
    fn with_trailer(frame: &[u8], fields: usize) -> Vec<u8> {
        let len = fields + ENVELOPE;
        let mut out = frame.to_vec();
        out.extend(std::iter::repeat_n(0x5a, fields));
        out.push(len as u8 ^ 0xFF);
        out.extend_from_slice(MAGIC);
        out
    }

    #[test]
    fn a_trailer_is_found_by_its_magic_and_length() {
        let frame = [0x83, 0x49, 0x83, 0x42, 0x00];
        assert_eq!(trailer_len(&with_trailer(&frame, 16)), 21);
        assert_eq!(trailer_len(&with_trailer(&[], 0)), 5);
        assert_eq!(trailer_len(&frame), 0);
        // The magic with a length longer than what is there, or shorter
        // than its own envelope: not a trailer.
        let mut long = with_trailer(&frame, 0);
        long[frame.len()] = 200 ^ 0xFF;
        assert_eq!(trailer_len(&long), 0);
        let mut short = with_trailer(&frame, 0);
        short[frame.len()] = 3 ^ 0xFF;
        assert_eq!(trailer_len(&short), 0);
        assert_eq!(trailer_len(b"KTS"), 0);
    }
}
