//! Whole frames out of RTP packets, each as soon as its last packet is in.
//!
//! A frame is the packets from a partition head to the packet with the
//! marker bit, all of one timestamp, with no sequence number missing. It
//! leaves once the one before it has left and its own packets are all in:
//! not when the next frame's first packet shows up (rtc's `SampleBuilder`
//! waits for that, which held every picture back one frame interval: 33 ms
//! at 30 fps, 500 ms for a screen at 2). A hole waits for a retransmission
//! until its packets have waited `max_late`, or while fewer than
//! `max_late_packets` came after it; then the frame is given up and the
//! next one that starts whole is taken, marked as coming after a loss. A
//! hole between frames that can have held no picture (padding, which
//! LiveKit does not send again) is passed at once. Sans-IO: the caller
//! gives the time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::rtp::packetizer::Depacketizer;
use rtc::rtp::Packet;

use super::picture_id::PictureId;

/// Packets in a row this far outside the window (`WINDOW` times
/// `max_late_packets`) mean the sender started its numbering over.
const STRAYS: u32 = 8;
const WINDOW: u64 = 4;

/// One frame's payload, as the decoder takes it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Frame {
    pub data: Bytes,
    pub timestamp: u32,
    /// Packets were given up since the last frame: references may be gone.
    pub after_loss: bool,
}

pub(crate) struct FrameAssembler<D> {
    depacketizer: D,
    /// The picture id of a frame's first payload, for codecs that have one.
    picture_id: fn(&[u8]) -> Option<PictureId>,
    /// Packets not yet out, by extended sequence number, with when each came.
    held: BTreeMap<u64, (Instant, Packet)>,
    /// Where the next frame starts; `None` before the first packet.
    next: Option<u64>,
    /// The highest extended sequence number held or passed.
    highest: u64,
    /// Packets given up since the last frame out.
    lost: bool,
    /// The timestamp of a frame given up: its other packets are skipped
    /// too, even one that looks like a head.
    given_up: Option<u32>,
    /// The last frame out (since the start, or the sender's restart): its
    /// timestamp and picture id.
    last: Option<(u32, Option<PictureId>)>,
    /// Packets in a row far outside the window.
    strays: u32,
    max_late_packets: u64,
    max_late: Duration,
}

impl<D: Depacketizer + Default> FrameAssembler<D> {
    pub fn new(
        picture_id: fn(&[u8]) -> Option<PictureId>,
        max_late_packets: u16,
        max_late: Duration,
    ) -> Self {
        FrameAssembler {
            depacketizer: D::default(),
            picture_id,
            held: BTreeMap::new(),
            next: None,
            highest: 0,
            lost: false,
            given_up: None,
            last: None,
            strays: 0,
            max_late_packets: u64::from(max_late_packets.max(1)),
            max_late,
        }
    }

    /// A frame's first packet's payload, depacketized on its own (what
    /// the frame starts with: enough to tell a key frame); `None` for any
    /// other packet.
    pub fn head(packet: &Packet) -> Option<Bytes> {
        let mut depacketizer = D::default();
        if packet.payload.is_empty() || !depacketizer.is_partition_head(&packet.payload) {
            return None;
        }
        depacketizer.depacketize(&packet.payload).ok()
    }

    pub fn push(&mut self, now: Instant, packet: Packet) {
        let seq = self.extend(packet.header.sequence_number);
        let Some(next) = self.next else {
            self.restart(seq);
            self.held.insert(seq, (now, packet));
            return;
        };
        let far = WINDOW * self.max_late_packets;
        if seq > self.highest + far || seq + far < next {
            self.strays += 1;
            if self.strays >= STRAYS {
                self.restart(seq);
                self.held.insert(seq, (now, packet));
            }
            return;
        }
        self.strays = 0;
        // Already out, given up, or a duplicate.
        if seq < next {
            return;
        }
        self.highest = self.highest.max(seq);
        self.held.entry(seq).or_insert((now, packet));
    }

    /// The next whole frame, if it is in.
    pub fn pop(&mut self, now: Instant) -> Option<Frame> {
        loop {
            let next = self.next?;
            let Some((_, head)) = self.held.get(&next) else {
                self.wait_or_give_up(now, next)?;
                continue;
            };
            let timestamp = head.header.timestamp;
            let orphan = self.given_up == Some(timestamp)
                || !self.depacketizer.is_partition_head(&head.payload);
            if head.payload.is_empty() || orphan {
                // Padding is no loss; the rest of a frame whose head is
                // gone is.
                if orphan && !head.payload.is_empty() {
                    self.give_up(timestamp);
                }
                self.held.remove(&next);
                self.next = Some(next + 1);
                continue;
            }
            // Walk to the frame's last packet.
            let mut end = next;
            loop {
                let Some((_, p)) = self.held.get(&end) else {
                    self.wait_or_give_up(now, end)?;
                    break;
                };
                if p.header.timestamp != timestamp {
                    // The next frame began with no end to this one (a
                    // forwarder switching layers mid-frame): cut short.
                    self.give_up_until(end);
                    break;
                }
                if !self
                    .depacketizer
                    .is_partition_tail(p.header.marker, &p.payload)
                {
                    end += 1;
                    continue;
                }
                match self.take(next, end, timestamp) {
                    Some(frame) => return Some(frame),
                    None => break,
                }
            }
        }
    }

    /// Packets `from..=to` out as one frame (`None`: given up, the
    /// depacketizer refused one), and the next frame starts after them.
    fn take(&mut self, from: u64, to: u64, timestamp: u32) -> Option<Frame> {
        // Afresh for each frame: H.264's fragments of a frame cut short
        // must not lead the next.
        self.depacketizer = D::default();
        let mut data = BytesMut::new();
        let mut refused = false;
        let mut picture = None;
        for seq in from..=to {
            if let Some((_, p)) = self.held.remove(&seq) {
                if seq == from {
                    picture = (self.picture_id)(&p.payload);
                }
                match self.depacketizer.depacketize(&p.payload) {
                    Ok(part) => data.extend_from_slice(&part),
                    Err(_) => refused = true,
                }
            }
        }
        self.next = Some(to + 1);
        if refused {
            self.give_up(timestamp);
            return None;
        }
        self.given_up = None;
        self.last = Some((timestamp, picture));
        Some(Frame {
            data: data.freeze(),
            timestamp,
            after_loss: std::mem::take(&mut self.lost),
        })
    }

    /// `missing` is not in: `None` while it may still come; otherwise
    /// assembly goes on from the first packet after it, the frame it is in
    /// given up (unless the hole can have held no picture).
    fn wait_or_give_up(&mut self, now: Instant, missing: u64) -> Option<()> {
        let start = self.next?;
        let too_many = self.highest.saturating_sub(start) >= self.max_late_packets;
        let Some((&after, first)) = self.held.range(missing..).next() else {
            // A frame that never ends, or nothing after the hole yet.
            if !too_many {
                return None;
            }
            self.give_up_until(self.highest + 1);
            return Some(());
        };
        if missing == start && self.passes(&first.1) {
            self.held = self.held.split_off(&after);
            self.next = Some(after);
            return Some(());
        }
        let oldest = self.held.values().map(|(at, _)| *at).min()?;
        if !too_many && now.saturating_duration_since(oldest) < self.max_late {
            return None;
        }
        // The frame the hole is in goes, whatever of it came.
        self.give_up_until(after);
        Some(())
    }

    /// Whether a hole between frames, `first` the packet after it, can
    /// have held no picture: padding still of the last frame, or the next
    /// picture by its id.
    fn passes(&self, first: &Packet) -> bool {
        let Some((timestamp, picture)) = self.last else {
            return false;
        };
        if first.payload.is_empty() {
            return first.header.timestamp == timestamp;
        }
        let following = (self.picture_id)(&first.payload);
        self.depacketizer.is_partition_head(&first.payload)
            && matches!((following, picture), (Some(f), Some(p)) if f.follows(p))
    }

    /// The frame starting at `next` goes, whatever of it came (and its
    /// other packets after `to`, by its timestamp); assembly goes on at
    /// `to`.
    fn give_up_until(&mut self, to: u64) {
        let timestamp = self
            .next
            .and_then(|n| self.held.get(&n))
            .map(|(_, p)| p.header.timestamp);
        self.held = self.held.split_off(&to);
        self.next = Some(to);
        match timestamp {
            Some(t) => self.give_up(t),
            None => self.lost |= self.started(),
        }
    }

    fn give_up(&mut self, timestamp: u32) {
        self.lost |= self.started();
        self.given_up = Some(timestamp);
    }

    /// A frame has come out since the start (or the sender's restart):
    /// packets skipped before it are no loss.
    fn started(&self) -> bool {
        self.last.is_some()
    }

    /// Numbering from `seq` on, all held dropped.
    fn restart(&mut self, seq: u64) {
        self.held.clear();
        self.next = Some(seq);
        self.highest = seq;
        self.lost |= self.started();
        self.given_up = None;
        self.last = None;
        self.strays = 0;
    }

    /// A 16-bit sequence number as the nearest 64-bit one to the highest.
    fn extend(&self, seq: u16) -> u64 {
        if self.next.is_none() {
            // Far from zero, so that going back stays positive.
            return (1 << 32) + u64::from(seq);
        }
        let base = self.highest & !0xFFFF;
        [base.saturating_sub(0x10000), base, base + 0x10000]
            .into_iter()
            .map(|b| b | u64::from(seq))
            .min_by_key(|c| c.abs_diff(self.highest))
            .unwrap_or(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::video::picture_id;
    use rtc::rtp::codec::h264::H264Packet;
    use rtc::rtp::codec::vp8::Vp8Packet;
    use rtc::rtp::header::Header;

    const LATE: Duration = Duration::from_millis(500);

    /// A VP8 packet: a one-byte descriptor (S set at a frame's start), then
    /// three bytes of payload naming it (rtc refuses shorter ones).
    fn vp8(seq: u16, ts: u32, start: bool, marker: bool, byte: u8) -> Packet {
        Packet {
            header: Header {
                sequence_number: seq,
                timestamp: ts,
                marker,
                ..Default::default()
            },
            payload: Bytes::from(vec![if start { 0x10 } else { 0 }, byte, byte, byte]),
        }
    }

    fn padding(seq: u16, ts: u32) -> Packet {
        Packet {
            header: Header {
                sequence_number: seq,
                timestamp: ts,
                ..Default::default()
            },
            payload: Bytes::new(),
        }
    }

    fn assembler() -> FrameAssembler<Vp8Packet> {
        FrameAssembler::new(picture_id::vp8, 256, LATE)
    }

    /// A one-packet VP8 frame with a 7-bit picture id.
    fn numbered(seq: u16, ts: u32, picture: u8, byte: u8) -> Packet {
        let mut p = vp8(seq, ts, true, true, byte);
        p.payload = Bytes::from(vec![0x90, 0x80, picture, byte, byte, byte]);
        p
    }

    /// The frame of the packets named `names`.
    fn frame(names: &[u8], timestamp: u32, after_loss: bool) -> Frame {
        Frame {
            data: names.iter().flat_map(|&n| [n; 3]).collect(),
            timestamp,
            after_loss,
        }
    }

    #[test]
    fn a_frame_leaves_with_its_last_packet_not_with_the_next_frame() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(10, 3000, true, false, 1));
        assert_eq!(a.pop(t), None);
        a.push(t, vp8(11, 3000, false, true, 2));
        assert_eq!(a.pop(t), Some(frame(&[1, 2], 3000, false)));
        assert_eq!(a.pop(t), None);
        // A one-packet frame, alone.
        a.push(t, vp8(12, 6000, true, true, 3));
        assert_eq!(a.pop(t), Some(frame(&[3], 6000, false)));
    }

    #[test]
    fn packets_out_of_order_make_their_frame_in_order() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(100, 0, true, false, 1));
        a.push(t, vp8(102, 0, false, true, 3));
        a.push(t, vp8(103, 90, true, true, 4));
        assert_eq!(a.pop(t), None, "a frame came out with a hole in it");
        // The retransmission fills it: both frames, in order.
        a.push(t, vp8(101, 0, false, false, 2));
        assert_eq!(a.pop(t), Some(frame(&[1, 2, 3], 0, false)));
        assert_eq!(a.pop(t), Some(frame(&[4], 90, false)));
        // A late duplicate of what is out is nothing.
        a.push(t, vp8(101, 0, false, false, 2));
        assert_eq!(a.pop(t), None);
    }

    #[test]
    fn a_hole_is_given_up_after_the_late_bound_and_the_next_frame_says_so() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, true, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        // 3 lost; 2 and 4 in; 5 the next whole frame.
        a.push(t, vp8(2, 90, true, false, 2));
        a.push(t, vp8(4, 90, false, true, 4));
        a.push(t, vp8(5, 180, true, true, 5));
        let soon = t + LATE - Duration::from_millis(1);
        assert_eq!(a.pop(soon), None);
        assert_eq!(a.pop(t + LATE), Some(frame(&[5], 180, true)));
        // The lost one coming after all is too late.
        a.push(t + LATE, vp8(3, 90, false, false, 3));
        assert_eq!(a.pop(t + LATE), None);
        a.push(t + LATE, vp8(6, 270, true, true, 6));
        assert_eq!(a.pop(t + LATE), Some(frame(&[6], 270, false)));
    }

    #[test]
    fn a_frame_given_up_goes_whole_even_where_a_packet_of_it_looks_like_a_start() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, true, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        // 3 lost of picture 90; 4 starts its second partition (S set).
        a.push(t, vp8(2, 90, true, false, 2));
        a.push(t, vp8(4, 90, true, true, 4));
        a.push(t, vp8(5, 180, true, true, 5));
        assert_eq!(a.pop(t), None);
        // Many packets later, it is given up without waiting the time.
        for seq in 6..300u16 {
            a.push(t, vp8(seq, 180 + u32::from(seq), true, true, 0));
        }
        assert_eq!(a.pop(t), Some(frame(&[5], 180, true)));
    }

    #[test]
    fn the_rest_of_a_frame_whose_head_is_lost_is_skipped() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, true, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        // 2, the head of picture 90, lost: it may yet come.
        a.push(t, vp8(3, 90, false, true, 3));
        a.push(t, vp8(4, 180, true, true, 4));
        assert_eq!(a.pop(t + LATE - Duration::from_millis(1)), None);
        assert_eq!(a.pop(t + LATE), Some(frame(&[4], 180, true)));
    }

    #[test]
    fn padding_is_skipped_and_is_no_loss() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(65534, 0, true, true, 1));
        a.push(t, padding(65535, 0));
        a.push(t, padding(0, 0));
        a.push(t, vp8(1, 90, true, true, 2));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        // Across the wrap.
        assert_eq!(a.pop(t), Some(frame(&[2], 90, false)));
    }

    #[test]
    fn before_the_first_frame_nothing_is_a_loss() {
        let t = Instant::now();
        let mut a = assembler();
        // Joined mid-frame: its tail first.
        a.push(t, vp8(7, 0, false, true, 1));
        a.push(t, vp8(8, 90, true, true, 2));
        assert_eq!(a.pop(t), Some(frame(&[2], 90, false)));
    }

    #[test]
    fn a_frame_the_depacketizer_refuses_is_given_up_as_a_loss() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, true, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        let mut short = vp8(2, 90, true, true, 2);
        short.payload.truncate(2);
        a.push(t, short);
        a.push(t, vp8(3, 180, true, true, 3));
        assert_eq!(a.pop(t), Some(frame(&[3], 180, true)));
    }

    #[test]
    fn a_hole_waits_from_the_first_packet_held_not_the_last() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, true, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        a.push(t, vp8(2, 90, true, false, 2));
        let later = t + Duration::from_millis(400);
        a.push(later, vp8(4, 90, false, true, 4));
        a.push(later, vp8(5, 180, true, true, 5));
        assert_eq!(a.pop(t + LATE - Duration::from_millis(1)), None);
        assert_eq!(a.pop(t + LATE), Some(frame(&[5], 180, true)));
    }

    #[test]
    fn a_lost_padding_packet_is_passed_at_once() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, numbered(1, 0, 5, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        a.push(t, padding(2, 0));
        // 3, padding, lost: LiveKit does not send it again.
        a.push(t, padding(4, 0));
        a.push(t, vp8(5, 90, true, true, 2));
        assert_eq!(a.pop(t), Some(frame(&[2], 90, false)));
    }

    #[test]
    fn a_hole_before_the_next_picture_by_its_id_is_passed_at_once() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, numbered(1, 0, 127, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        // 2 lost, and 3 is picture 0, right after 127: no picture lost.
        a.push(t, numbered(3, 90, 0, 2));
        assert_eq!(a.pop(t), Some(frame(&[2], 90, false)));
        // 4 lost, and 5 is picture 2: picture 1 was in the hole.
        a.push(t, numbered(5, 180, 2, 3));
        assert_eq!(a.pop(t), None);
        assert_eq!(a.pop(t + LATE), Some(frame(&[3], 180, true)));
    }

    #[test]
    fn a_frame_cut_short_is_given_up_and_the_next_starts_afresh() {
        // H.264: a key frame's fragments (FU-A) cut off by a forwarder
        // switching layers, then the new layer's SPS and PPS (STAP-A) and
        // its IDR in two fragments.
        let t = Instant::now();
        let mut a: FrameAssembler<H264Packet> = FrameAssembler::new(picture_id::none, 256, LATE);
        let h264 = |seq: u16, ts: u32, marker: bool, payload: &[u8]| Packet {
            header: Header {
                sequence_number: seq,
                timestamp: ts,
                marker,
                ..Default::default()
            },
            payload: Bytes::copy_from_slice(payload),
        };
        a.push(t, h264(1, 0, true, &[0x41, 0xaa, 0xaa]));
        let first = a.pop(t).unwrap();
        assert!(!first.after_loss);
        a.push(t, h264(2, 90, false, &[0x7c, 0x85, 0xe1, 0xe1]));
        a.push(t, h264(3, 90, false, &[0x7c, 0x05, 0xe2, 0xe2]));
        assert_eq!(a.pop(t), None);
        a.push(
            t,
            h264(4, 180, false, &[0x78, 0, 2, 0x67, 0x42, 0, 2, 0x68, 0xce]),
        );
        a.push(t, h264(5, 180, false, &[0x7c, 0x85, 0xb1, 0xb1]));
        a.push(t, h264(6, 180, true, &[0x7c, 0x45, 0xb2, 0xb2]));
        let got = a.pop(t).unwrap();
        let code = [0u8, 0, 0, 1];
        let mut whole = Vec::new();
        for nal in [
            &[0x67u8, 0x42][..],
            &[0x68, 0xce],
            &[0x65, 0xb1, 0xb1, 0xb2, 0xb2],
        ] {
            whole.extend_from_slice(&code);
            whole.extend_from_slice(nal);
        }
        assert_eq!((got.timestamp, got.after_loss), (180, true));
        assert_eq!(&got.data[..], &whole[..], "the cut fragments led the IDR");
    }

    #[test]
    fn a_frame_that_never_ends_is_given_up_within_the_bound() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, true, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        for seq in 2..300u16 {
            a.push(t, vp8(seq, 90, seq == 2, false, 0));
            assert_eq!(a.pop(t), None);
            assert!(a.held.len() <= 256, "{} packets held", a.held.len());
        }
        a.push(t, vp8(300, 180, true, true, 3));
        assert_eq!(a.pop(t), Some(frame(&[3], 180, true)));
    }

    #[test]
    fn a_stray_number_is_ignored_and_a_sender_starting_over_is_followed() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, true, 1));
        assert_eq!(a.pop(t), Some(frame(&[1], 0, false)));
        // One packet from far away: nothing, and the stream goes on.
        a.push(t, vp8(30_000, 90, true, true, 9));
        a.push(t, vp8(2, 90, true, true, 2));
        assert_eq!(a.pop(t), Some(frame(&[2], 90, false)));
        // A sender numbering afresh: after a few packets, followed.
        for seq in 40_000..40_000 + STRAYS as u16 {
            a.push(t, vp8(seq, 180 + u32::from(seq), true, true, 3));
        }
        let after = a.pop(t).unwrap();
        assert!(after.after_loss);
        assert_eq!(after.data, frame(&[3], 0, true).data);
    }
}
