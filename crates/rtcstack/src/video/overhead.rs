//! What our video's packet headers cost on the wire (RTP and its
//! extensions, SRTP's tag, UDP, IP: about 70 bytes a packet), measured
//! over each second as the packets go. The uplink's target is what the link
//! carries; the encoders get it less this (as libwebrtc takes the
//! transport overhead off its encoders' rates). Left in, a 640x360 camera
//! in three layers and temporal layers sent about 130 packets a second,
//! 70 kbit/s of headers past its target, and under a 1 Mbit/s cap the
//! link's queue stood full. Sans-IO.

use std::time::{Duration, Instant};

/// How long packets are counted before the cost is read again.
const SPAN: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Overhead {
    per_packet: usize,
    since: Instant,
    packets: u64,
}

impl Overhead {
    /// Counting from `now`, each packet costing `per_packet` bytes.
    pub(crate) fn new(now: Instant, per_packet: usize) -> Self {
        Overhead {
            per_packet,
            since: now,
            packets: 0,
        }
    }

    /// `packets` more sent at `now`; once a span has passed, the cost
    /// over it (kbit/s), counting again from there.
    pub(crate) fn sent(&mut self, now: Instant, packets: usize) -> Option<u32> {
        self.packets += packets as u64;
        let span = now.saturating_duration_since(self.since);
        if span < SPAN {
            return None;
        }
        let bits = self.packets as f64 * self.per_packet as f64 * 8.0;
        let kbps = bits / span.as_secs_f64() / 1_000.0;
        self.since = now;
        self.packets = 0;
        Some(kbps.round() as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cost_is_read_each_second_from_the_packets_sent() {
        let start = Instant::now();
        let mut o = Overhead::new(start, 70);
        let mut read = Vec::new();
        // 100 packets a second, two at a time, for 2.5 s; then 50 a second.
        for i in 1..=125 {
            let at = start + Duration::from_millis(i * 20);
            read.extend(o.sent(at, 2));
        }
        for i in 1..=50 {
            let at = start + Duration::from_millis(2_500 + i * 20);
            read.extend(o.sent(at, 1));
        }
        // 100 × 70 B × 8 = 56 kbit/s; the span mixing both rates, between.
        assert_eq!(read, [56, 56, 42]);
    }
}
