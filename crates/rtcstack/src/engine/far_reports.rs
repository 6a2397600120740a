//! The far end's reports on the streams we send (RTCP report blocks, in
//! receiver and sender reports): how many of our packets it has lost, its
//! jitter, and the round trip they time. rtc's statistics never read them
//! (0.21.1 keeps the code but never calls it), so a sent stream showed no
//! loss however much the path dropped. The feedback interceptor records
//! each block here, as it passes every report on; the statistics read them
//! by SSRC.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rtc::rtcp::reception_report::ReceptionReport;

/// Seconds from NTP's epoch (1900) to Unix's (1970).
const NTP_TO_UNIX: u64 = 2_208_988_800;

/// The last report on one of our streams.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct FarReport {
    /// When it came.
    pub at: Instant,
    /// Of our packets, the highest sequence number it had (extended with
    /// its count of wraps): how many it expected, from where it began.
    pub highest: u32,
    /// Of our packets, lost so far (RFC 3550's cumulative count: signed,
    /// a receiver counting duplicates may go below zero).
    pub lost: i64,
    /// Of our packets since the block before, the share lost (0..1).
    pub fraction_lost: f64,
    /// In the stream's RTP clock ticks.
    pub jitter: u32,
    /// From the block's echo of our last sender report, if it had one.
    pub rtt_ms: Option<f64>,
}

/// Reports by our streams' SSRCs, for one connection.
#[derive(Debug, Clone, Default)]
pub(crate) struct FarReports(Arc<Mutex<HashMap<u32, FarReport>>>);

impl FarReports {
    /// A block that came at `at` (`wall`: the same moment on the wall
    /// clock, which our sender reports' NTP times are taken from).
    ///
    /// A block without a usable echo of our sender report keeps the round
    /// trip the one before timed: it says nothing new of it (under 25 %
    /// loss each way the last block had none in one CI run, and the stream
    /// showed no round trip at all).
    pub(crate) fn record(&self, block: &ReceptionReport, at: Instant, wall: SystemTime) {
        let Ok(mut reports) = self.0.lock() else {
            return;
        };
        let before = reports.get(&block.ssrc).and_then(|r| r.rtt_ms);
        let report = FarReport {
            at,
            highest: block.last_sequence_number,
            lost: cumulative_lost(block.total_lost),
            fraction_lost: f64::from(block.fraction_lost) / 256.0,
            jitter: block.jitter,
            rtt_ms: round_trip_ms(block, wall).or(before),
        };
        reports.insert(block.ssrc, report);
    }

    pub(crate) fn get(&self, ssrc: u32) -> Option<FarReport> {
        self.0.lock().ok()?.get(&ssrc).copied()
    }
}

/// The 24-bit signed count as a number.
fn cumulative_lost(raw: u32) -> i64 {
    let raw = raw & 0x00ff_ffff;
    if raw & 0x0080_0000 != 0 {
        i64::from(raw) - (1 << 24)
    } else {
        i64::from(raw)
    }
}

/// RFC 3550 6.4.1: arrival less the echoed sender report's time less the
/// receiver's hold, all in the middle 32 bits of NTP time (1/65536 s).
fn round_trip_ms(block: &ReceptionReport, now: SystemTime) -> Option<f64> {
    if block.last_sender_report == 0 {
        return None;
    }
    let since_unix = now.duration_since(UNIX_EPOCH).ok()?;
    let seconds = since_unix.as_secs() + NTP_TO_UNIX;
    let fraction = (u64::from(since_unix.subsec_nanos()) << 32) / 1_000_000_000;
    let arrival = ((seconds << 16) | (fraction >> 16)) as u32;
    let rtt = arrival
        .wrapping_sub(block.last_sender_report)
        .wrapping_sub(block.delay);
    // A wrap (clocks or a stale echo) reads as days: not a round trip.
    (rtt < 1 << 20).then(|| f64::from(rtt) * 1_000.0 / 65_536.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn block(total_lost: u32, last_sender_report: u32, delay: u32) -> ReceptionReport {
        ReceptionReport {
            ssrc: 7,
            last_sequence_number: 70_000,
            total_lost,
            jitter: 90,
            last_sender_report,
            delay,
            ..Default::default()
        }
    }

    #[test]
    fn the_last_block_of_each_stream_is_kept_and_its_count_read_signed() {
        let reports = FarReports::default();
        let (at, now) = (Instant::now(), SystemTime::now());
        reports.record(&block(12, 0, 0), at, now);
        reports.record(&block(30, 0, 0), at, now);
        assert_eq!(
            reports.get(7),
            Some(FarReport {
                at,
                highest: 70_000,
                lost: 30,
                fraction_lost: 0.0,
                jitter: 90,
                rtt_ms: None
            })
        );
        reports.record(&block(0x00ff_fffe, 0, 0), at, now);
        assert_eq!(reports.get(7).unwrap().lost, -2);
        assert_eq!(reports.get(8), None);
    }

    #[test]
    fn the_round_trip_is_arrival_less_the_echo_and_the_hold() {
        // Our sender report went at `sent`; the far end held it 0.25 s and
        // its block came 0.3 s after we sent: 50 ms each way.
        let sent = UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        let since = sent.duration_since(UNIX_EPOCH).unwrap();
        let ntp = ((since.as_secs() + NTP_TO_UNIX) << 16)
            | (((u64::from(since.subsec_nanos()) << 32) / 1_000_000_000) >> 16);
        let echo = ntp as u32;
        let hold = 65_536 / 4;
        let rtt = round_trip_ms(&block(0, echo, hold), sent + Duration::from_millis(300)).unwrap();
        assert!((rtt - 50.0).abs() < 0.1, "{rtt}");
        // No echo yet: none.
        assert_eq!(round_trip_ms(&block(0, 0, 0), sent), None);
        // An echo from the future (a stepped clock): none, not days.
        assert_eq!(
            round_trip_ms(&block(0, echo, 0), sent - Duration::from_secs(1)),
            None
        );
        // Recorded: a block without an echo keeps the round trip before.
        let reports = FarReports::default();
        let at = Instant::now();
        reports.record(&block(0, echo, hold), at, sent + Duration::from_millis(300));
        reports.record(&block(0, 0, 0), at, sent + Duration::from_millis(1_300));
        let kept = reports.get(7).unwrap().rtt_ms.unwrap();
        assert!((kept - 50.0).abs() < 0.1, "{kept}");
    }
}
