//! VP8 frames in RTP payloads as we send them (RFC 7741): each packet's
//! descriptor carries the picture id (15 bits, as libwebrtc's), and for a
//! stream in temporal layers the picture's layer, whether a receiver may
//! start on that layer there (Y), and the base-layer picture index
//! (TL0PICIDX). A server reads the layer to thin the stream for a slow or
//! small subscriber; the indices let it renumber what it forwards so a
//! receiver sees no gap.

use bytes::{BufMut, Bytes, BytesMut};
use rtcstack_vpx::Temporal;

/// One stream's numbering.
pub(crate) struct Vp8Payload {
    picture_id: u16,
    tl0_pic_idx: u8,
}

/// Descriptor bits (first byte; then the extension byte).
const EXTENDED: u8 = 0x80;
const START: u8 = 0x10;
const HAS_PICTURE_ID: u8 = 0x80;
const HAS_TL0_PIC_IDX: u8 = 0x40;
const HAS_TID: u8 = 0x20;
/// The picture id's first byte: it is 15 bits long.
const LONG_PICTURE_ID: u8 = 0x80;

impl Vp8Payload {
    /// Numbering from random starts, as a sender's should.
    pub(crate) fn new() -> Self {
        Vp8Payload {
            picture_id: rand::random::<u16>() & 0x7FFF,
            tl0_pic_idx: rand::random(),
        }
    }

    /// `frame` split into payloads of at most `mtu` bytes, each with its
    /// descriptor; the next picture gets the next id. Nothing for an empty
    /// frame or an MTU with no room past the descriptor.
    pub(crate) fn packets(
        &mut self,
        frame: &[u8],
        temporal: Option<Temporal>,
        mtu: usize,
    ) -> Vec<Bytes> {
        let mut extension = HAS_PICTURE_ID;
        let mut tail = Vec::with_capacity(2);
        if let Some(t) = temporal {
            if t.id == 0 {
                self.tl0_pic_idx = self.tl0_pic_idx.wrapping_add(1);
            }
            extension |= HAS_TL0_PIC_IDX | HAS_TID;
            tail.push(self.tl0_pic_idx);
            tail.push((t.id & 0x03) << 6 | u8::from(t.sync) << 5);
        }
        let id = self.picture_id;
        self.picture_id = (id + 1) & 0x7FFF;
        let header = 4 + tail.len();
        let Some(room) = mtu.checked_sub(header).filter(|r| *r > 0) else {
            return Vec::new();
        };
        frame
            .chunks(room)
            .enumerate()
            .map(|(i, chunk)| {
                let mut out = BytesMut::with_capacity(header + chunk.len());
                out.put_u8(EXTENDED | if i == 0 { START } else { 0 });
                out.put_u8(extension);
                out.put_u8(LONG_PICTURE_ID | (id >> 8) as u8);
                out.put_u8(id as u8);
                out.put_slice(&tail);
                out.put_slice(chunk);
                out.freeze()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtc::rtp::codec::vp8::Vp8Packet;
    use rtc::rtp::packetizer::Depacketizer;

    /// What a receiver reads of a payload: (start, picture id, TL0PICIDX,
    /// layer, Y) and the frame's bytes.
    fn read(payload: &Bytes) -> ((u8, u16, u8, u8, u8), Bytes) {
        let mut p = Vp8Packet::default();
        let data = p.depacketize(payload).unwrap();
        ((p.s, p.picture_id, p.tl0_pic_idx, p.tid, p.y), data)
    }

    #[test]
    fn a_frame_is_split_within_the_mtu_and_read_back_whole() {
        let mut payload = Vp8Payload::new();
        payload.picture_id = 0x7FFF;
        let frame: Vec<u8> = (0..250).map(|i| i as u8).collect();
        let packets = payload.packets(&frame, None, 100);
        assert_eq!(packets.len(), 3);
        assert!(packets.iter().all(|p| p.len() <= 100));
        let mut whole = Vec::new();
        for (i, p) in packets.iter().enumerate() {
            let ((start, id, _, _, _), data) = read(p);
            assert_eq!((start, id), (u8::from(i == 0), 0x7FFF));
            whole.extend_from_slice(&data);
        }
        assert_eq!(whole, frame);
        // The id wraps within 15 bits.
        let next = payload.packets(&frame, None, 1_100);
        assert_eq!(read(&next[0]).0 .1, 0);
        assert!(payload.packets(&[], None, 1_100).is_empty());
        assert!(payload.packets(&frame, None, 4).is_empty());
    }

    #[test]
    fn layers_carry_their_id_sync_and_the_base_pictures_index() {
        let mut payload = Vp8Payload::new();
        payload.tl0_pic_idx = 255;
        let layer = |id, sync| Some(Temporal { id, sync });
        let seen: Vec<(u8, u8, u8)> = [
            layer(0, true),
            layer(2, true),
            layer(1, true),
            layer(2, false),
            layer(0, false),
        ]
        .into_iter()
        .map(|t| {
            let ((_, _, tl0, tid, y), _) = read(&payload.packets(&[1, 2, 3], t, 1_100)[0]);
            (tl0, tid, y)
        })
        .collect();
        assert_eq!(
            seen,
            [(0, 0, 1), (0, 2, 1), (0, 1, 1), (0, 2, 0), (1, 0, 0)]
        );
    }
}
