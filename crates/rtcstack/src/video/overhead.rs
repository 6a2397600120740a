//! What our video's packet headers cost on the wire (RTP and its
//! extensions, SRTP's tag, UDP, IP: about 70 bytes a packet) for each byte
//! of payload, measured over each second as the packets go. The uplink's
//! target is what the link carries; the encoders get it less the headers
//! their payload brings (as libwebrtc takes the transport overhead off its
//! encoders' rates). Left in, a 640x360 camera in three layers and
//! temporal layers sent about 130 packets a second, 70 kbit/s of headers
//! past its target, and under a 1 Mbit/s cap the link's queue stood full.
//! A share, not a rate: when the target falls, so do the headers (taken
//! as kbit/s measured at the old rate, they starved a screen's layer
//! after a cap came). Sans-IO.

use std::time::{Duration, Instant};

/// How long packets are counted before the cost is read again.
const SPAN: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct Overhead {
    per_packet: usize,
    since: Instant,
    packets: u64,
    payload: u64,
}

impl Overhead {
    /// Counting from `now`, each packet costing `per_packet` bytes.
    pub(crate) fn new(now: Instant, per_packet: usize) -> Self {
        Overhead {
            per_packet,
            since: now,
            packets: 0,
            payload: 0,
        }
    }

    /// `packets` more sent at `now`, carrying `payload` bytes; once a
    /// span has passed, the headers' bytes per thousand of payload over
    /// it (none without payload), counting again from there.
    pub(crate) fn sent(&mut self, now: Instant, packets: usize, payload: usize) -> Option<u32> {
        self.packets += packets as u64;
        self.payload += payload as u64;
        if now.saturating_duration_since(self.since) < SPAN {
            return None;
        }
        let headers = self.packets * self.per_packet as u64;
        let permille = (headers * 1_000).checked_div(self.payload);
        self.since = now;
        self.packets = 0;
        self.payload = 0;
        permille.map(|p| u32::try_from(p).unwrap_or(u32::MAX))
    }
}

/// Of a `target` (kbit/s) for payload and its headers, at `permille` of
/// headers per payload, what the headers take.
pub(crate) fn headers_of(target: u32, permille: u32) -> u32 {
    let (t, p) = (u64::from(target), u64::from(permille));
    u32::try_from(t * p / (1_000 + p)).unwrap_or(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_share_is_read_each_second_from_the_packets_sent() {
        let start = Instant::now();
        let mut o = Overhead::new(start, 70);
        let mut read = Vec::new();
        // Packets of 700 B of payload, two every 20 ms, for 2.5 s; then one
        // of 1,400 B every 20 ms.
        for i in 1..=125 {
            let at = start + Duration::from_millis(i * 20);
            read.extend(o.sent(at, 2, 1_400));
        }
        for i in 1..=50 {
            let at = start + Duration::from_millis(2_500 + i * 20);
            read.extend(o.sent(at, 1, 1_400));
        }
        // 70 B on 700: 100 ‰; on 1,400: 50 ‰; the span mixing both, 75.
        assert_eq!(read, [100, 100, 75]);
        // The rest of the last span; then a span with nothing sent says
        // nothing.
        assert_eq!(o.sent(start + Duration::from_secs(5), 0, 0), Some(50));
        assert_eq!(o.sent(start + Duration::from_secs(7), 0, 0), None);
    }

    #[test]
    fn the_headers_take_their_share_of_any_target() {
        // 100 ‰: of 1,100 kbit/s, 100 are headers; of 330, 30.
        assert_eq!(headers_of(1_100, 100), 100);
        assert_eq!(headers_of(330, 100), 30);
        assert_eq!(headers_of(500, 0), 0);
        assert!(headers_of(u32::MAX, u32::MAX) < u32::MAX);
    }
}
