//! The share of our video lost, over all the layers we send, from the
//! server's receiver reports. Each report block carries a layer's running
//! count of packets lost and its highest sequence number: between two
//! blocks of a layer, that many of that many were lost. A layer's own
//! fraction would weigh a thumbnail's 10 packets a second like the full
//! size's 60: one packet lost of the thumbnail's reads as 10 %. Counted
//! over all of them, random loss reads as what it is. Each interval is
//! counted once: the share is told when every layer we send has a new one
//! (a server may report the layers apart), or enough packets are in.
//! Sans-IO.

use std::collections::HashMap;

/// Packets that make a share worth telling without waiting for every
/// layer's report.
const ENOUGH: u64 = 100;

#[derive(Debug, Default)]
pub(crate) struct LayerLoss {
    /// By SSRC: the last block's running counts, and the packets expected
    /// and lost between it and the one before.
    layers: HashMap<u32, Layer>,
}

#[derive(Debug, Clone, Copy)]
struct Layer {
    total_lost: u32,
    highest: u32,
    expected: u32,
    lost: u32,
    /// The interval is not yet counted.
    fresh: bool,
}

impl LayerLoss {
    /// A report block of layer `ssrc`: its running count of packets lost
    /// (RFC 3550's cumulative number, 24 bits) and its extended highest
    /// sequence number.
    pub fn on_block(&mut self, ssrc: u32, total_lost: u32, highest: u32) {
        let total_lost = total_lost & 0x00ff_ffff;
        let before = self.layers.get(&ssrc).copied();
        let interval = before.map(|before| {
            let expected = highest.wrapping_sub(before.highest);
            // A count that went down (duplicates make it so) lost nothing.
            let lost = total_lost.saturating_sub(before.total_lost).min(expected);
            // Numbers going back: a restarted stream, no interval.
            if expected > 1 << 15 {
                (0, 0)
            } else {
                (expected, lost)
            }
        });
        let (expected, lost) = interval.unwrap_or((0, 0));
        // Not yet counted intervals add up (two reports before a take).
        let (expected, lost) = match before {
            Some(b) if b.fresh => (b.expected + expected, b.lost + lost),
            _ => (expected, lost),
        };
        self.layers.insert(
            ssrc,
            Layer {
                total_lost,
                highest,
                expected,
                lost,
                fresh: expected > 0,
            },
        );
    }

    /// The share lost over the intervals not yet counted of the layers
    /// `sending` says we still send, once each of them has one or enough
    /// packets are in; those intervals are then counted.
    pub fn take(&mut self, sending: impl Fn(u32) -> bool) -> Option<f64> {
        let ours = || self.layers.iter().filter(|(ssrc, _)| sending(**ssrc));
        let (expected, lost) = ours()
            .filter(|(_, l)| l.fresh)
            .fold((0u64, 0u64), |(e, l), (_, layer)| {
                (e + u64::from(layer.expected), l + u64::from(layer.lost))
            });
        let all = ours().all(|(_, l)| l.fresh);
        if expected == 0 || !(all || expected >= ENOUGH) {
            return None;
        }
        for (ssrc, layer) in self.layers.iter_mut() {
            if sending(*ssrc) {
                layer.fresh = false;
            }
        }
        Some(lost as f64 / expected as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_is_counted_over_every_layers_packets_once() {
        let mut l = LayerLoss::default();
        // First blocks: nothing to count from.
        l.on_block(1, 0, 1_000);
        l.on_block(2, 0, 5_000);
        assert_eq!(l.take(|_| true), None);
        // The thumbnail lost 1 of 10: the full size has not told yet.
        l.on_block(1, 1, 1_010);
        assert_eq!(l.take(|_| true), None);
        // The full size 2 of 60: 3 of 70, not the thumbnail's 10 %.
        l.on_block(2, 2, 5_060);
        let f = l.take(|_| true).unwrap();
        assert!((f - 3.0 / 70.0).abs() < 1e-9, "{f}");
        // Counted once.
        assert_eq!(l.take(|_| true), None);
        // Two reports of the thumbnail before the full size's: added up.
        l.on_block(1, 2, 1_020);
        l.on_block(1, 2, 1_030);
        l.on_block(2, 2, 5_120);
        assert_eq!(l.take(|_| true), Some(1.0 / 80.0));
    }

    #[test]
    fn a_layer_not_sent_is_left_out_and_enough_packets_need_no_wait() {
        let mut l = LayerLoss::default();
        l.on_block(1, 0, 0);
        l.on_block(2, 0, 0);
        l.on_block(1, 1, 10);
        assert_eq!(l.take(|s| s == 1), Some(0.1));
        l.on_block(2, 12, 120);
        assert_eq!(l.take(|_| true), Some(0.1), "120 packets: no wait for 1");
        assert_eq!(l.take(|_| false), None);
    }

    #[test]
    fn counts_going_back_or_wrapping_are_read_sensibly() {
        let mut l = LayerLoss::default();
        l.on_block(7, 5, u32::MAX - 4);
        // Across the sequence numbers' wrap: 10 expected, 2 lost.
        l.on_block(7, 7, 5);
        assert_eq!(l.take(|_| true), Some(0.2));
        // Duplicates brought the count down: nothing lost.
        l.on_block(7, 6, 15);
        assert_eq!(l.take(|_| true), Some(0.0));
        // Numbers back: a new stream, no interval yet.
        l.on_block(7, 6, 3);
        assert_eq!(l.take(|_| true), None);
        // The count's 24 bits only.
        l.on_block(7, 0xff00_0006, 13);
        assert_eq!(l.take(|_| true), Some(0.0));
    }
}
