//! The estimate of what our downlink carries, told to the server as REMB.
//! LiveKit, unless a deployment turns on its send-side estimate, learns a
//! subscriber's downlink only from the REMB the subscriber sends (its
//! offer asks for the abs-send-time extension and `goog-remb`, not
//! transport-wide feedback): without it, it forwards the layers our tiles
//! ask for whatever our link carries, and on a slow one the queue grows
//! and our audio goes with the video. The estimate is the same GCC as our
//! uplink's ([`Congestion`]), but raised no further than what arrives
//! shows room for, as the server probes ahead of it. It is fed here with
//! each video packet's send time (abs-send-time, on the server's clock)
//! and our arrival time: a growing queue shows as arrivals falling behind
//! sends. The voice we receive
//! shares the link (its packets carry no send time, so they tell nothing
//! of the queue): it counts in what arrives, and the estimate is of the
//! whole link; the REMB is what is left of it for video, as LiveKit
//! allocates a REMB to video alone (a browser's REMB, of video packets
//! alone, is read the same way). Sans-IO: times come in.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use rtc::interceptor::{BandwidthEstimator, PacketReport};
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;

use super::congestion::Congestion;

/// Where the estimate starts and stays within (bit/s): above anything a
/// call sends, so it holds the server back only where the link does.
const START_BPS: f64 = 20_000_000.0;
const FLOOR_BPS: f64 = 50_000.0;
/// The least REMB: what is left for video once the voice is counted
/// (LiveKit's lowest layers take 15–35 kbit/s; a deployment that lets
/// the server pause video may pause it under that).
const LEAST_REMB_BPS: f64 = 10_000.0;
/// The span the voice's rate is measured over.
const VOICE_WINDOW: Duration = Duration::from_secs(1);
/// REMB as often as libwebrtc sends it: its size on the wire (80 bytes)
/// kept to 5 % of the estimate, between every 200 ms and once a second,
/// and at once when the estimate falls by more than 3 %. LiveKit's
/// reading of REMBs is tuned to that pace: it acts on a fall once 12 of
/// them show it (or 8 over 5 s), so at once a second it moved us down
/// 6.7–8.5 s after a cap (three runs of the 150 kbit/s test).
const REMB_BITS: f64 = 640.0;
const REMB_SHARE: f64 = 0.05;
const MOST_OFTEN: Duration = Duration::from_millis(200);
const LEAST_OFTEN: Duration = Duration::from_secs(1);
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
    /// The voice's packets over the last [`VOICE_WINDOW`]: arrival, size.
    voice: VecDeque<(Instant, usize)>,
    voice_bytes: usize,
}

impl Downlink {
    pub(crate) fn new() -> Self {
        Downlink {
            estimate: Congestion::probed(START_BPS, FLOOR_BPS, START_BPS),
            start: None,
            last_ticks: 0,
            pending: Vec::new(),
            next_id: 0,
            ssrcs: Vec::new(),
            newest: HashMap::new(),
            missing: Vec::new(),
            told: None,
            voice: VecDeque::new(),
            voice_bytes: 0,
        }
    }

    /// A voice packet of `size` bytes arrived `now`.
    pub(crate) fn on_voice(&mut self, now: Instant, size: usize) {
        // Kept to the window here too: a call with no video asks for no
        // REMB.
        self.forget_old_voice(now);
        self.voice.push_back((now, size));
        self.voice_bytes += size;
        if let Some((first_at, _)) = self.start {
            self.estimate
                .also_arrived(now.saturating_duration_since(first_at), size);
        }
    }

    /// Drops the voice's packets older than [`VOICE_WINDOW`].
    fn forget_old_voice(&mut self, now: Instant) {
        while let Some(&(at, size)) = self.voice.front() {
            if now.saturating_duration_since(at) < VOICE_WINDOW {
                break;
            }
            self.voice.pop_front();
            self.voice_bytes -= size;
        }
    }

    /// The voice's rate over the last [`VOICE_WINDOW`] (bit/s).
    fn voice_bps(&mut self, now: Instant) -> f64 {
        self.forget_old_voice(now);
        self.voice_bytes as f64 * 8.0 / VOICE_WINDOW.as_secs_f64()
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
    /// due (every 200 ms to once a second, or at once on a fall).
    pub(crate) fn remb(&mut self, now: Instant) -> Option<ReceiverEstimatedMaximumBitrate> {
        for (ssrc, _) in std::mem::take(&mut self.missing) {
            self.report(ssrc, 0, now, None);
        }
        if !self.pending.is_empty() {
            let reports = std::mem::take(&mut self.pending);
            self.estimate.on_reports(now, &reports);
        }
        self.start?;
        let link = self.estimate.target_bitrate();
        // The voice as it comes now: in a talker's pause (Opus DTX, a
        // packet every 400 ms) the video is given its room, and takes it
        // back as the talk resumes only as fast as the server follows a
        // falling REMB (a fall is acted on after 12). Holding its busiest
        // second for 10 s instead took the REMB to its floor under the
        // 150 kbit/s test's queue, where the server, seeing no fall in a
        // flat REMB, kept the larger layer (3 of 6 runs failed).
        let bps = (link - self.voice_bps(now)).max(LEAST_REMB_BPS);
        let due = match self.told {
            None => true,
            Some((at, said)) => now.duration_since(at) >= spacing(link) || bps < said * FALL,
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

/// How long after a REMB the next is due, at an estimate of `bps`.
fn spacing(bps: f64) -> Duration {
    Duration::from_secs_f64(REMB_BITS / (REMB_SHARE * bps.max(1.0))).clamp(MOST_OFTEN, LEAST_OFTEN)
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
        with_voice(packets, 0, link_kbps, seconds)
    }

    /// The same with a voice packet of `voice_bytes` every 20 ms in the
    /// same queue (none if 0).
    fn with_voice(packets: u32, voice_bytes: usize, link_kbps: f64, seconds: u32) -> Vec<f32> {
        let start = Instant::now();
        let mut downlink = Downlink::new();
        let mut sends: Vec<(f64, usize)> = (0..seconds * 30)
            .flat_map(|frame| {
                let sent_ms = f64::from(frame) * 1_000.0 / 30.0;
                (0..packets).map(move |_| (sent_ms, 1_200))
            })
            .collect();
        if voice_bytes > 0 {
            sends.extend((0..seconds * 50).map(|n| (f64::from(n) * 20.0, voice_bytes)));
        }
        sends.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut link_free_ms = 0.0f64;
        let mut rembs = Vec::new();
        let mut next_check_ms = 100.0;
        let mut seq = u16::MAX - 100;
        for (sent_ms, size) in sends {
            let arrive_ms = link_free_ms.max(sent_ms) + size as f64 * 8.0 / link_kbps;
            link_free_ms = arrive_ms;
            while next_check_ms < arrive_ms {
                let at = start + Duration::from_secs_f64(next_check_ms / 1000.0);
                rembs.extend(downlink.remb(at).map(|r| r.bitrate));
                next_check_ms += 100.0;
            }
            let at = start + Duration::from_secs_f64(arrive_ms / 1000.0);
            if size != 1_200 {
                downlink.on_voice(at, size);
                continue;
            }
            // The server's clock starts elsewhere, and wraps.
            let ticks = (sent_ms / 1000.0 * TICKS_PER_SECOND) as u64 + u64::from(WRAP) - 5_000;
            seq = seq.wrapping_add(1);
            downlink.on_number(7, seq);
            downlink.on_packet(at, (ticks % u64::from(WRAP)) as u32, 1_200, 7);
        }
        rembs
    }

    #[test]
    fn the_voice_sharing_the_link_is_left_out_of_the_remb() {
        // 1.15 Mbit/s of video and 80 kbit/s of voice into 600 kbit/s:
        // the estimate is of the whole link (0.85 of it, as alone), and
        // the video gets what the voice leaves of it. The voice comes out
        // of this queue (which never drops) at its share of what goes in:
        // 80 of 1,230, 39 kbit/s.
        let alone = *through_a_link(4, 600.0, 10).last().unwrap();
        let shared = *with_voice(4, 200, 600.0, 10).last().unwrap();
        assert_eq!(alone, 510_000.0);
        let voice = alone - shared;
        assert!(
            (35_000.0..=45_000.0).contains(&voice),
            "REMB {shared} with the voice"
        );
    }

    #[test]
    fn a_call_with_no_video_keeps_a_second_of_its_voice() {
        let start = Instant::now();
        let mut downlink = Downlink::new();
        for n in 0..3_000 {
            downlink.on_voice(start + Duration::from_millis(n * 20), 100);
        }
        assert_eq!(downlink.voice.len(), 50);
        assert_eq!(downlink.voice_bytes, 5_000);
        assert!(downlink.remb(start + Duration::from_secs(60)).is_none());
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
    fn a_link_with_room_leaves_the_remb_high_and_it_comes_every_200_ms() {
        let rembs = through_a_link(2, 5_000.0, 10);
        assert!(rembs.iter().all(|&b| b >= 10_000_000.0), "{rembs:?}");
        assert!(
            (49..=51).contains(&rembs.len()),
            "{} REMBs in 10 s",
            rembs.len()
        );
    }

    #[test]
    fn rembs_take_5_percent_of_the_estimate_at_most_every_200_ms_and_at_least_once_a_second() {
        let ms = |bps: f64| spacing(bps).as_millis();
        assert_eq!(ms(20_000_000.0), 200);
        assert_eq!(ms(64_000.0), 200);
        assert_eq!(ms(50_000.0), 256);
        assert_eq!(ms(32_000.0), 400);
        assert_eq!(ms(10_000.0), 1_000);
        assert_eq!(ms(0.0), 1_000);
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
