//! The picture id in a VP8 or VP9 payload descriptor (RFC 7741 4.2, the
//! VP9 RTP payload format 4.2): numbered per picture, and kept without gaps
//! by a sender and by LiveKit's forwarder, so a hole between one picture
//! and the next numbered after it held no picture (padding, say).

/// A picture's id and how many ids there are (128 or 32,768).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PictureId {
    id: u16,
    modulus: u32,
}

impl PictureId {
    /// Whether `self` is numbered right after `before`.
    pub fn follows(self, before: PictureId) -> bool {
        self.modulus == before.modulus
            && u32::from(self.id) == (u32::from(before.id) + 1) % self.modulus
    }
}

/// VP8: X, then I in the extension byte, then the id (M: 15 bits).
pub(crate) fn vp8(payload: &[u8]) -> Option<PictureId> {
    let [first, extension, rest @ ..] = payload else {
        return None;
    };
    if first & 0x80 == 0 || extension & 0x80 == 0 {
        return None;
    }
    read(rest)
}

/// VP9: I in the first byte, then the id (M: 15 bits).
pub(crate) fn vp9(payload: &[u8]) -> Option<PictureId> {
    let [first, rest @ ..] = payload else {
        return None;
    };
    if first & 0x80 == 0 {
        return None;
    }
    read(rest)
}

/// Codecs with no picture id (H.264).
pub(crate) fn none(_: &[u8]) -> Option<PictureId> {
    None
}

fn read(bytes: &[u8]) -> Option<PictureId> {
    match bytes {
        [high, low, ..] if high & 0x80 != 0 => Some(PictureId {
            id: u16::from(high & 0x7f) << 8 | u16::from(*low),
            modulus: 1 << 15,
        }),
        [short, ..] if short & 0x80 == 0 => Some(PictureId {
            id: u16::from(*short),
            modulus: 1 << 7,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_read_in_both_lengths_and_follow_across_the_wrap() {
        let long = vp8(&[0x90, 0x80, 0xff, 0xff, 0]).unwrap();
        let zero = vp8(&[0x90, 0x80, 0x80, 0x00, 0]).unwrap();
        assert!(zero.follows(long));
        assert!(!long.follows(zero));
        let short = vp8(&[0x90, 0x80, 0x05, 0]).unwrap();
        assert!(vp8(&[0x90, 0x80, 0x06, 0]).unwrap().follows(short));
        assert!(!vp8(&[0x90, 0x80, 0x07, 0]).unwrap().follows(short));
        // A 7-bit id never follows a 15-bit one.
        assert!(!vp8(&[0x90, 0x80, 0x80, 0x06, 0]).unwrap().follows(short));
        // No X, or no I: no id.
        assert_eq!(vp8(&[0x10, 0x80, 0x05]), None);
        assert_eq!(vp8(&[0x90, 0x00, 0x05]), None);
        assert_eq!(vp8(&[0x90, 0x80]), None);
        assert_eq!(vp8(&[0x90, 0x80, 0x80]), None);
        // VP9: I is the first byte's top bit.
        let a = vp9(&[0x88, 0x81, 0x00]).unwrap();
        assert!(vp9(&[0x88, 0x81, 0x01]).unwrap().follows(a));
        assert_eq!(vp9(&[0x08, 0x81, 0x01]), None);
        assert_eq!(none(&[0x90, 0x80, 0x05]), None);
    }
}
