//! The share of our video lost on the way, over all the layers we send,
//! from the server's receiver reports. Each report block tells a layer's
//! share lost since its last block (before any retransmission: the
//! running count of packets lost, which a server lowers as resent ones
//! come, would hide a policer's drops) and its highest sequence number:
//! the packets between two blocks weigh its share. A layer's own share
//! would weigh a thumbnail's 10 packets a second like the full size's 60:
//! one packet lost of the thumbnail's reads as 10 %. Counted over all of
//! them, random loss reads as what it is. Each interval is counted once:
//! the share is told when every layer we send has a new one (a server may
//! report the layers apart), when enough packets are in, or when the
//! oldest not yet counted is [`STALE`] old. Sans-IO.

use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Packets that make a share worth telling without waiting for every
/// layer's report.
const ENOUGH: f64 = 100.0;
/// A layer's report not waited for longer (one that sends nothing for a
/// while, as a screen may, is not reported).
const STALE: Duration = Duration::from_secs(2);

#[derive(Debug, Default)]
pub(crate) struct LayerLoss {
    /// By SSRC: the last block's highest sequence number, and the packets
    /// expected and lost since the last share told.
    layers: HashMap<u32, Layer>,
}

#[derive(Debug, Clone, Copy)]
struct Layer {
    highest: u32,
    expected: f64,
    lost: f64,
    /// When its first interval not yet counted came.
    fresh_since: Option<Instant>,
}

impl LayerLoss {
    /// A report block of layer `ssrc`: its share lost (RFC 3550's
    /// fraction, in 256ths) and its extended highest sequence number.
    pub fn on_block(&mut self, now: Instant, ssrc: u32, fraction_lost: u8, highest: u32) {
        let Some(before) = self.layers.get(&ssrc).copied() else {
            self.layers.insert(
                ssrc,
                Layer {
                    highest,
                    expected: 0.0,
                    lost: 0.0,
                    fresh_since: None,
                },
            );
            return;
        };
        let expected = highest.wrapping_sub(before.highest);
        // Numbers going back (a stream started over): no interval.
        let expected = if expected > 1 << 15 {
            0.0
        } else {
            f64::from(expected)
        };
        let lost = expected * f64::from(fraction_lost) / 256.0;
        let fresh = expected > 0.0;
        self.layers.insert(
            ssrc,
            Layer {
                highest,
                expected: before.expected + expected,
                lost: before.lost + lost,
                fresh_since: before.fresh_since.or(fresh.then_some(now)),
            },
        );
    }

    /// The share lost over the intervals not yet counted of the layers
    /// `sending` says we still send, once each of them has one, enough
    /// packets are in, or the oldest is stale; every interval is then
    /// counted (a paused layer's old loss is not news when it comes back).
    pub fn take(&mut self, now: Instant, sending: impl Fn(u32) -> bool) -> Option<f64> {
        let ours = || self.layers.iter().filter(|(ssrc, _)| sending(**ssrc));
        let (expected, lost) = ours()
            .filter(|(_, l)| l.fresh_since.is_some())
            .fold((0.0, 0.0), |(e, l), (_, layer)| {
                (e + layer.expected, l + layer.lost)
            });
        let all = ours().all(|(_, l)| l.fresh_since.is_some());
        let stale = ours()
            .filter_map(|(_, l)| l.fresh_since)
            .any(|since| now.saturating_duration_since(since) >= STALE);
        if expected == 0.0 || !(all || stale || expected >= ENOUGH) {
            return None;
        }
        for layer in self.layers.values_mut() {
            (layer.expected, layer.lost, layer.fresh_since) = (0.0, 0.0, None);
        }
        Some(lost / expected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A share of 256ths as near `share` as RFC 3550 has it.
    fn of(share: f64) -> u8 {
        (share * 256.0).round() as u8
    }

    #[test]
    fn loss_is_counted_over_every_layers_packets_once() {
        let t = Instant::now();
        let mut l = LayerLoss::default();
        // First blocks: nothing to count from.
        l.on_block(t, 1, 0, 1_000);
        l.on_block(t, 2, 0, 5_000);
        assert_eq!(l.take(t, |_| true), None);
        // The thumbnail lost 1 of 10: the full size has not told yet.
        l.on_block(t, 1, of(0.1), 1_010);
        assert_eq!(l.take(t, |_| true), None);
        // The full size 3 of 60: 4 of 70, not the thumbnail's 10 %.
        l.on_block(t, 2, of(0.05), 5_060);
        let f = l.take(t, |_| true).unwrap();
        assert!((f - 4.0 / 70.0).abs() < 0.002, "{f}");
        // Counted once.
        assert_eq!(l.take(t, |_| true), None);
        // Two reports of the thumbnail before the full size's: added up.
        l.on_block(t, 1, 0, 1_020);
        l.on_block(t, 1, of(0.2), 1_030);
        l.on_block(t, 2, 0, 5_120);
        let f = l.take(t, |_| true).unwrap();
        assert!((f - 2.0 / 80.0).abs() < 0.002, "{f}");
    }

    #[test]
    fn a_layer_not_sent_or_not_reported_is_not_waited_for() {
        let t = Instant::now();
        let mut l = LayerLoss::default();
        l.on_block(t, 1, 0, 0);
        l.on_block(t, 2, 0, 0);
        l.on_block(t, 1, of(0.1), 10);
        assert!((l.take(t, |s| s == 1).unwrap() - 0.1).abs() < 0.002);
        // Enough packets: no wait for layer 1.
        l.on_block(t, 2, of(0.1), 120);
        assert!((l.take(t, |_| true).unwrap() - 0.1).abs() < 0.002);
        // Layer 2 not reported: its 10 packets are told once 2 s old.
        l.on_block(t, 1, 0, 20);
        let later = t + STALE;
        assert_eq!(l.take(later - Duration::from_millis(1), |_| true), None);
        assert_eq!(l.take(later, |_| true), Some(0.0));
        assert_eq!(l.take(later, |_| false), None);
    }

    #[test]
    fn numbers_wrapping_or_going_back_are_read_sensibly() {
        let t = Instant::now();
        let mut l = LayerLoss::default();
        l.on_block(t, 7, 0, u32::MAX - 4);
        // Across the sequence numbers' wrap: 10 expected.
        l.on_block(t, 7, of(0.2), 5);
        assert!((l.take(t, |_| true).unwrap() - 0.2).abs() < 0.002);
        // Numbers back: a new stream, no interval yet.
        l.on_block(t, 7, of(0.5), 3);
        assert_eq!(l.take(t, |_| true), None);
        l.on_block(t, 7, 0, 13);
        assert_eq!(l.take(t, |_| true), Some(0.0));
    }
}
