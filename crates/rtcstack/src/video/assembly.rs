//! Whole frames out of RTP packets, each as soon as its last packet is in.
//!
//! A frame is the packets from a partition head to the packet with the
//! marker bit, all of one timestamp, with no sequence number missing. It
//! leaves once the one before it has left and its own packets are all in:
//! not when the next frame's first packet shows up (rtc's `SampleBuilder`
//! waits for that, which held every picture back one frame interval: 33 ms
//! at 30 fps, 200 ms for a screen at 5). A hole waits for a retransmission
//! until its packets have waited `max_late`, or while fewer than
//! `max_late_packets` came after it; then the frame is given up and the
//! next one that starts whole is taken, marked as coming after a loss.
//! Sans-IO: the caller gives the time.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use rtc::rtp::packetizer::Depacketizer;
use rtc::rtp::Packet;

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
    /// Packets not yet out, by extended sequence number, with when each came.
    held: BTreeMap<u64, (Instant, Packet)>,
    /// Where the next frame starts; `None` before the first packet.
    next: Option<u64>,
    /// The highest extended sequence number seen (to extend the next).
    highest: u64,
    /// Packets given up since the last frame out.
    lost: bool,
    /// A frame has come out: packets skipped before it are no loss.
    started: bool,
    /// The timestamp of a frame given up: its other packets are skipped
    /// too, even one that looks like a head.
    given_up: Option<u32>,
    max_late_packets: u64,
    max_late: Duration,
}

impl<D: Depacketizer> FrameAssembler<D> {
    pub fn new(depacketizer: D, max_late_packets: u16, max_late: Duration) -> Self {
        FrameAssembler {
            depacketizer,
            held: BTreeMap::new(),
            next: None,
            highest: 0,
            lost: false,
            started: false,
            given_up: None,
            max_late_packets: u64::from(max_late_packets),
            max_late,
        }
    }

    pub fn push(&mut self, now: Instant, packet: Packet) {
        let seq = self.extend(packet.header.sequence_number);
        let next = *self.next.get_or_insert(seq);
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
                    self.lost |= self.started;
                    self.given_up = Some(timestamp);
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
                    // A sender that marked no end: the next frame began.
                    end -= 1;
                } else if !self
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
        let mut data = BytesMut::new();
        let mut refused = false;
        for seq in from..=to {
            if let Some((_, p)) = self.held.remove(&seq) {
                match self.depacketizer.depacketize(&p.payload) {
                    Ok(part) => data.extend_from_slice(&part),
                    Err(_) => refused = true,
                }
            }
        }
        self.next = Some(to + 1);
        if refused {
            self.lost |= self.started;
            self.given_up = Some(timestamp);
            return None;
        }
        self.given_up = None;
        self.started = true;
        Some(Frame {
            data: data.freeze(),
            timestamp,
            after_loss: std::mem::take(&mut self.lost),
        })
    }

    /// `missing` is not in: `None` while it may still come; otherwise the
    /// frame it is in is given up and assembly goes on from the first
    /// packet after it.
    fn wait_or_give_up(&mut self, now: Instant, missing: u64) -> Option<()> {
        let (&after, _) = self.held.range(missing..).next()?;
        let oldest = self.held.values().map(|(at, _)| *at).min()?;
        let too_many = self.highest - self.next? >= self.max_late_packets;
        if !too_many && now.saturating_duration_since(oldest) < self.max_late {
            return None;
        }
        // The frame the hole is in goes, whatever of it came.
        let start = self.next?;
        if let Some((_, p)) = self.held.get(&start) {
            self.given_up = Some(p.header.timestamp);
        }
        self.held = self.held.split_off(&after);
        self.next = Some(after);
        self.lost |= self.started;
        Some(())
    }

    /// A 16-bit sequence number as the nearest 64-bit one to the highest.
    fn extend(&self, seq: u16) -> u64 {
        let Some(_) = self.next else {
            // Far from zero, so that going back stays positive.
            return (1 << 32) + u64::from(seq);
        };
        let base = self.highest & !0xFFFF;
        let candidates = [base.wrapping_sub(0x10000), base, base + 0x10000];
        candidates
            .into_iter()
            .map(|b| b | u64::from(seq))
            .min_by_key(|c| c.abs_diff(self.highest))
            .unwrap_or(base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        FrameAssembler::new(Vp8Packet::default(), 256, LATE)
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
        // 2, the head of picture 90, lost.
        a.push(t, vp8(3, 90, false, true, 3));
        a.push(t, vp8(4, 180, true, true, 4));
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
    fn a_frame_with_no_marker_ends_where_the_next_begins() {
        let t = Instant::now();
        let mut a = assembler();
        a.push(t, vp8(1, 0, true, false, 1));
        a.push(t, vp8(2, 0, false, false, 2));
        assert_eq!(a.pop(t), None);
        a.push(t, vp8(3, 90, true, true, 3));
        assert_eq!(a.pop(t), Some(frame(&[1, 2], 0, false)));
        assert_eq!(a.pop(t), Some(frame(&[3], 90, false)));
    }
}
