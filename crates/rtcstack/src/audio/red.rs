//! Redundant audio (RFC 2198, `audio/red`): each packet carries one or
//! two frames before it again beside its own. LiveKit forwards it to a
//! subscriber that accepts it from every publisher that sends it (its
//! SDKs do, and browsers), so a frame lost on our downlink is still here
//! in a later packet, where otherwise it would be concealed. Split here into the frame the packet is for (the
//! primary) and the earlier ones, each with how many frames before the
//! primary it is. Bad input is an error, never a panic.

use bytes::Bytes;

/// The payload type we register it under (LiveKit forwards it under the
/// subscriber's, and uses 63 for the RED it makes itself).
pub const PAYLOAD_TYPE: u8 = 63;
/// A frame's length in RTP timestamp units (20 ms at 48 kHz): a redundant
/// block's offset in whole frames places it.
const FRAME_TS: u32 = 960;

/// An earlier frame carried again, `back` frames before the primary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redundant {
    pub back: u16,
    pub data: Bytes,
}

/// A RED packet taken apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub primary: Bytes,
    /// Oldest first; blocks whose offset is not a whole number of frames
    /// (nothing to place them by) are left out.
    pub redundant: Vec<Redundant>,
}

/// Why a RED payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedError {
    #[error("RED payload ends inside its block headers")]
    ShortHeaders,
    #[error("RED block lengths run past the payload ({needed} bytes of {have})")]
    ShortBlocks { needed: usize, have: usize },
}

/// Splits a RED payload into its primary and redundant frames.
pub fn split(payload: &Bytes) -> Result<Split, RedError> {
    // Headers: 4 bytes each while the F bit is set, then 1 byte.
    let mut blocks = Vec::new();
    let mut at = 0;
    loop {
        let first = *payload.get(at).ok_or(RedError::ShortHeaders)?;
        if first & 0x80 == 0 {
            at += 1;
            break;
        }
        let header = payload.get(at..at + 4).ok_or(RedError::ShortHeaders)?;
        let offset = (u32::from(header[1]) << 6) | (u32::from(header[2]) >> 2);
        let length = (usize::from(header[2] & 0x03) << 8) | usize::from(header[3]);
        blocks.push((offset, length));
        at += 4;
    }
    let needed = at + blocks.iter().map(|b| b.1).sum::<usize>();
    if needed > payload.len() {
        return Err(RedError::ShortBlocks {
            needed,
            have: payload.len(),
        });
    }
    let mut redundant = Vec::new();
    for (offset, length) in blocks {
        let data = payload.slice(at..at + length);
        at += length;
        let whole = offset % FRAME_TS == 0 && offset > 0;
        if whole && !data.is_empty() {
            if let Ok(back) = u16::try_from(offset / FRAME_TS) {
                redundant.push(Redundant { back, data });
            }
        }
    }
    Ok(Split {
        primary: payload.slice(at..),
        redundant,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A RED payload: blocks `(offset, data)` oldest first, then `primary`.
    fn red(blocks: &[(u32, &[u8])], primary: &[u8]) -> Bytes {
        let mut out = Vec::new();
        for (offset, data) in blocks {
            out.push(0x80 | 111);
            out.push((offset >> 6) as u8);
            out.push((((offset & 0x3f) << 2) as u8) | ((data.len() >> 8) as u8 & 0x03));
            out.push(data.len() as u8);
        }
        out.push(111);
        for (_, data) in blocks {
            out.extend_from_slice(data);
        }
        out.extend_from_slice(primary);
        Bytes::from(out)
    }

    #[test]
    fn the_primary_and_the_frames_before_it_are_told_apart() {
        let p = red(&[(1_920, b"two"), (960, b"one")], b"now");
        let s = split(&p).unwrap();
        assert_eq!(&s.primary[..], b"now");
        assert_eq!(
            s.redundant,
            [
                Redundant {
                    back: 2,
                    data: Bytes::from_static(b"two")
                },
                Redundant {
                    back: 1,
                    data: Bytes::from_static(b"one")
                },
            ]
        );
        // None carried: the primary alone.
        let s = split(&red(&[], b"now")).unwrap();
        assert_eq!((&s.primary[..], s.redundant.len()), (&b"now"[..], 0));
    }

    #[test]
    fn a_block_off_the_frame_grid_is_left_out() {
        let s = split(&red(&[(1_000, b"odd"), (960, b"one")], b"now")).unwrap();
        assert_eq!(s.redundant.len(), 1);
        assert_eq!(s.redundant[0].back, 1);
    }

    #[test]
    fn a_truncated_payload_is_an_error() {
        let p = red(&[(960, b"one")], b"now");
        assert_eq!(split(&p.slice(..3)), Err(RedError::ShortHeaders));
        assert_eq!(
            split(&p.slice(..6)),
            Err(RedError::ShortBlocks { needed: 8, have: 6 })
        );
        assert_eq!(split(&Bytes::new()), Err(RedError::ShortHeaders));
    }
}
