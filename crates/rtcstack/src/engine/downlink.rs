//! The estimate of what our downlink carries, told to the server as REMB.
//! LiveKit, unless a deployment turns on its send-side estimate, learns a
//! subscriber's downlink only from the REMB the subscriber sends (its
//! offer asks for the abs-send-time extension and `goog-remb`, not
//! transport-wide feedback): without it, it forwards the layers our tiles
//! ask for whatever our link carries, and on a slow one the queue grows
//! and our audio goes with the video. The estimate is the same GCC as our
//! uplink's ([`Congestion`]), fed here with each video packet's send time
//! (abs-send-time, on the server's clock) and our arrival time: a growing
//! queue shows as arrivals falling behind sends. Sans-IO: times come in.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rtc::interceptor::{BandwidthEstimator, PacketReport};
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;

use super::congestion::Congestion;

/// Where the estimate starts and stays within (bit/s): above anything a
/// call sends, so it holds the server back only where the link does.
const START_BPS: f64 = 20_000_000.0;
const FLOOR_BPS: f64 = 50_000.0;
/// REMB once a second, and at once when the estimate falls by more than
/// this (libwebrtc's rule).
const EVERY: Duration = Duration::from_secs(1);
const FALL: f64 = 0.97;
/// A jump in a stream's sequence numbers wider than this is a restart, not
/// loss.
const MOST_LOST: u16 = 1_000;
/// abs-send-time: 6.18 fixed-point seconds in 24 bits (wraps every 64 s).
const TICKS_PER_SECOND: f64 = 262_144.0;
const WRAP: u32 = 1 << 24;

pub(crate) struct Downlink {
    estimate: Congestion,
    /// The first packet's arrival, and its send time in ticks (unwrapped).
    start: Option<(Instant, u64)>,
    last_ticks: u64,
    /// Reports since the estimate last took them.
    pending: Vec<PacketReport>,
    next_id: u64,
    ssrcs: Vec<u32>,
    /// Each stream's newest sequence number, and those skipped since the
    /// estimate last took what came (stream, number).
    newest: HashMap<u32, u16>,
    missing: Vec<(u32, u16)>,
    /// The last REMB: when, and what it said.
    told: Option<(Instant, f64)>,
}

impl Downlink {
    pub(crate) fn new() -> Self {
        Downlink {
            estimate: Congestion::new(START_BPS, FLOOR_BPS, START_BPS),
            start: None,
            last_ticks: 0,
            pending: Vec::new(),
            next_id: 0,
            ssrcs: Vec::new(),
            newest: HashMap::new(),
            missing: Vec::new(),
            told: None,
        }
    }

    /// A video packet, number `seq` of stream `ssrc`, arrived: a number
    /// skipped before it is missing until it comes late or the estimate
    /// next takes what came (then lost). rtc hands a retransmission over
    /// as its original, with the original's number: a copy that filled a
    /// hole in time is not loss.
    pub(crate) fn on_number(&mut self, ssrc: u32, seq: u16) {
        let Some(newest) = self.newest.get_mut(&ssrc) else {
            self.newest.insert(ssrc, seq);
            return;
        };
        let ahead = seq.wrapping_sub(*newest);
        if ahead == 0 {
            return;
        }
        if ahead >= 0x8000 {
            let behind = newest.wrapping_sub(seq);
            if behind > MOST_LOST {
                // Numbered again from elsewhere: a restart.
                *newest = seq;
            } else if let Some(at) = self.missing.iter().position(|m| *m == (ssrc, seq)) {
                self.missing.swap_remove(at);
            }
            return;
        }
        *newest = seq;
        if ahead <= MOST_LOST {
            let skipped = (1..ahead).map(|back| (ssrc, seq.wrapping_sub(back)));
            self.missing.extend(skipped);
        }
    }

    /// A video packet of `size` bytes of stream `ssrc`, sent at
    /// `abs_send_time` (the extension's 24 bits), arrived `now`.
    pub(crate) fn on_packet(&mut self, now: Instant, abs_send_time: u32, size: usize, ssrc: u32) {
        let raw = abs_send_time % WRAP;
        let ticks = match self.start {
            None => {
                self.start = Some((now, u64::from(raw)));
                u64::from(raw)
            }
            Some(_) => {
                // The nearest unwrapping of the 24 bits to the last send time.
                let last = (self.last_ticks % u64::from(WRAP)) as u32;
                let ahead = raw.wrapping_sub(last) % WRAP;
                if ahead < WRAP / 2 {
                    self.last_ticks + u64::from(ahead)
                } else {
                    self.last_ticks.saturating_sub(u64::from(WRAP - ahead))
                }
            }
        };
        self.last_ticks = self.last_ticks.max(ticks);
        let Some((first_at, first_ticks)) = self.start else {
            return;
        };
        let sent =
            Duration::from_secs_f64(ticks.saturating_sub(first_ticks) as f64 / TICKS_PER_SECOND);
        if !self.ssrcs.contains(&ssrc) {
            self.ssrcs.push(ssrc);
        }
        self.report(
            ssrc,
            size,
            first_at + sent,
            Some(now.saturating_duration_since(first_at)),
        );
    }

    /// A packet for the estimate: arrived (on our clock since the first)
    /// or lost (its departure unused).
    fn report(&mut self, ssrc: u32, size: usize, departure: Instant, arrival: Option<Duration>) {
        self.next_id += 1;
        self.pending.push(PacketReport {
            ssrc,
            id: self.next_id,
            rtp_sequence_number: self.next_id as u16,
            is_twcc: true,
            twcc_sequence_number: self.next_id as u16,
            size,
            arrived: arrival.is_some(),
            departure,
            arrival,
            ecn: Default::default(),
        });
    }

    /// The estimate takes what came since it last did; a REMB if one is
    /// due (once a second, or at once on a fall).
    pub(crate) fn remb(&mut self, now: Instant) -> Option<ReceiverEstimatedMaximumBitrate> {
        for (ssrc, _) in std::mem::take(&mut self.missing) {
            self.report(ssrc, 0, now, None);
        }
        if !self.pending.is_empty() {
            let reports = std::mem::take(&mut self.pending);
            self.estimate.on_reports(now, &reports);
        }
        self.start?;
        let bps = self.estimate.target_bitrate();
        let due = match self.told {
            None => true,
            Some((at, said)) => now.duration_since(at) >= EVERY || bps < said * FALL,
        };
        if !due {
            return None;
        }
        self.told = Some((now, bps));
        Some(ReceiverEstimatedMaximumBitrate {
            sender_ssrc: 0,
            bitrate: bps as f32,
            ssrcs: self.ssrcs.clone(),
        })
    }
}

/// The abs-send-time extension's id in a session description, if it
/// negotiated one.
pub(crate) fn abs_send_time_id(sdp: &str) -> Option<u8> {
    sdp.lines().find_map(|line| {
        let rest = line.trim().strip_prefix("a=extmap:")?;
        let (id, uri) = rest.split_once(' ')?;
        let id = id.split('/').next()?;
        (uri.trim() == rtc::sdp::extmap::ABS_SEND_TIME_URI)
            .then(|| id.parse().ok())
            .flatten()
    })
}

/// The 24-bit value of an abs-send-time extension.
pub(crate) fn abs_send_time(value: &[u8]) -> Option<u32> {
    match *value {
        [a, b, c] => Some(u32::from_be_bytes([0, a, b, c])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 30 pictures a second of `packets` packets of 1,200 bytes each,
    /// sent together by the server, through a link of `link_kbps` to us
    /// (a queue grows when it sends more), for `seconds`, a REMB looked
    /// for every 100 ms. Returns the REMBs' bitrates.
    fn through_a_link(packets: u32, link_kbps: f64, seconds: u32) -> Vec<f32> {
        let start = Instant::now();
        let mut downlink = Downlink::new();
        let serve_ms = 1_200.0 * 8.0 / link_kbps;
        let mut link_free_ms = 0.0f64;
        let mut rembs = Vec::new();
        let mut next_check_ms = 100.0;
        let mut seq = u16::MAX - 100;
        for frame in 0..seconds * 30 {
            let sent_ms = f64::from(frame) * 1_000.0 / 30.0;
            for _ in 0..packets {
                let arrive_ms = link_free_ms.max(sent_ms) + serve_ms;
                link_free_ms = arrive_ms;
                while next_check_ms < arrive_ms {
                    let at = start + Duration::from_secs_f64(next_check_ms / 1000.0);
                    rembs.extend(downlink.remb(at).map(|r| r.bitrate));
                    next_check_ms += 100.0;
                }
                // The server's clock starts elsewhere, and wraps.
                let ticks = (sent_ms / 1000.0 * TICKS_PER_SECOND) as u64 + u64::from(WRAP) - 5_000;
                let at = start + Duration::from_secs_f64(arrive_ms / 1000.0);
                seq = seq.wrapping_add(1);
                downlink.on_number(7, seq);
                downlink.on_packet(at, (ticks % u64::from(WRAP)) as u32, 1_200, 7);
            }
        }
        rembs
    }

    #[test]
    fn a_growing_queue_brings_the_remb_down_to_the_link() {
        // 4 packets a picture: 1.15 Mbit/s through 600 kbit/s.
        let rembs = through_a_link(4, 600.0, 10);
        let last = *rembs.last().unwrap();
        assert!(last < 650_000.0, "REMBs {rembs:?}");
        assert!(last > 200_000.0, "REMBs {rembs:?}");
    }

    #[test]
    fn a_link_with_room_leaves_the_remb_high_and_it_comes_once_a_second() {
        let rembs = through_a_link(2, 5_000.0, 10);
        assert!(rembs.iter().all(|&b| b >= 10_000_000.0), "{rembs:?}");
        assert!(
            (9..=11).contains(&rembs.len()),
            "{} REMBs in 10 s",
            rembs.len()
        );
    }

    #[test]
    fn the_extension_is_read_from_the_description_and_the_packet() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\n\
                   a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid\r\n\
                   a=extmap:3/sendrecv http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n";
        assert_eq!(abs_send_time_id(sdp), Some(3));
        assert_eq!(
            abs_send_time_id("a=extmap:2 urn:ietf:params:rtp-hdrext:sdes:mid"),
            None
        );
        assert_eq!(abs_send_time(&[0x01, 0x02, 0x03]), Some(0x010203));
        assert_eq!(abs_send_time(&[0x01, 0x02]), None);
    }

    #[test]
    fn a_number_skipped_and_not_come_late_is_loss() {
        let start = Instant::now();
        let mut downlink = Downlink::new();
        // Stream 7: 65,534, 65,535, 2 (0 and 1 skipped), 1 late, 3; then
        // 10 back (a copy come too late: not counted), 30,000 on and
        // 30,000 back (restarts): none skipped. Stream 8 from 1,000
        // after another's: its own.
        for (ssrc, seq) in [
            (7, 65_534),
            (7, 65_535),
            (8, 1_000),
            (7, 2),
            (7, 1),
            (7, 3),
            (7, 65_529),
            (7, 30_003),
            (7, 3),
            (7, 4),
        ] {
            downlink.on_number(ssrc, seq);
        }
        assert_eq!(downlink.missing, vec![(7, 0)]);
        downlink.remb(start);
        assert!(downlink.missing.is_empty());
        assert_eq!(downlink.estimate.stats().packet_loss, Some(1.0));
    }
}
