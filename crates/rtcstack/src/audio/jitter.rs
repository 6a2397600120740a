//! The receive jitter buffer: packets in (any order, any timing), one frame
//! out every 20 ms. It reorders, waits just long enough for the network's
//! jitter (RFC 3550 interarrival estimate, adapted continuously), and says
//! "repair" for a frame that never came when the packet after it carries a
//! copy of it (Opus in-band repair), "conceal" otherwise, so the decoder
//! can fill it.
//!
//! Sans-IO: arrival and playout times are passed in.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

const FRAME: Duration = Duration::from_millis(20);
/// Never hold less than one frame, nor more than this.
const MIN_DELAY: Duration = Duration::from_millis(20);
const MAX_DELAY: Duration = Duration::from_millis(240);
/// Target delay = this many times the jitter estimate, plus one frame.
const JITTER_MULTIPLE: f64 = 3.0;
/// Packets held at most; beyond it the oldest go (a stalled consumer).
const CAPACITY: usize = 64;
/// Audio waiting this much beyond the target delay is a backlog, not
/// jitter (the target already covers that): the player was held up (its
/// thread stalled) and the packets piled in. The oldest are dropped down
/// to the target at once: late audio is worse than lost audio in a call,
/// and a backlog played frame by frame would stay behind for good.
const BACKLOG: Duration = Duration::from_millis(200);
/// Missing frames concealed at most before the next packet held: a hole
/// longer than the longest delay we ever wait is not late packets but a
/// jump in the numbering (or a burst lost while packets kept coming).
const MAX_HOLE: u64 = (MAX_DELAY.as_millis() / FRAME.as_millis()) as u64;
/// Frames concealed in a row when nothing at all is held while playing,
/// before the buffer counts as drained (an outage; a pause the sender said
/// with a DTX frame drains at once: the next packet is 400 ms away, and a
/// silent participant costs no decoding). Draining at
/// once would fall silent for a packet that is merely late, and start over
/// after a whole new delay. While the delay held is under the target (the
/// jitter grew since playout started), the missing frame's slot is kept:
/// the late packet is played when it comes and the delay grows by a frame,
/// towards the target and no further.
const UNDERRUN_WAIT: u32 = 3;
/// How long after the last missing frame the target keeps one frame more
/// than the jitter needs, while the sender's packets carry in-band repair:
/// a lost frame can only be rebuilt from the packet after it if that
/// packet is already here when the frame is due. On a steady path the
/// next packet arrives just as the frame is due, and half the time just
/// after. 20 ms more delay while packets are being lost, against a
/// concealed (faded, made-up) frame for every one lost. The delay held
/// comes back down when playout next starts over (the talker's pause, an
/// outage), not mid-speech: that would drop 20 ms of it.
const REPAIR_HOLD: Duration = Duration::from_secs(10);

/// What to play for the next 20 ms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Decode this packet.
    Packet(bytes::Bytes),
    /// The frame is missing; this packet, the next, carries a copy of it:
    /// decode the copy (Opus: decode the packet with FEC).
    Repair(bytes::Bytes),
    /// The frame is missing: conceal it.
    Conceal,
    /// Nothing to play yet (not started, or drained after an outage).
    Silence,
}

/// Statistics for quality reporting and tests.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JitterStats {
    pub received: u64,
    pub played: u64,
    pub concealed: u64,
    /// Missing frames rebuilt from the copy in the packet after them.
    pub repaired: u64,
    pub late: u64,
    /// Missing frames skipped, not concealed (a jump in the numbering).
    pub skipped: u64,
    pub jitter_ms: f64,
    pub target_delay_ms: f64,
}

#[derive(Debug)]
pub struct JitterBuffer {
    /// Packets by extended sequence number.
    held: BTreeMap<u64, bytes::Bytes>,
    /// Extended sequence of the next frame to play, once playing.
    next: Option<u64>,
    /// Highest extended sequence seen (for unwrapping).
    highest: Option<u64>,
    /// When the first packet of the current talk spurt arrived.
    first_arrival: Option<Instant>,
    /// RFC 3550 transit state.
    last_transit: Option<f64>,
    jitter_s: f64,
    epoch: Option<Instant>,
    /// Frames concealed in a row with nothing held (see [`UNDERRUN_WAIT`]).
    waited: u32,
    /// The playout delay held: the one playout started with, grown by the
    /// slots kept while waiting, back to the target after a backlog.
    delay: Duration,
    /// The last packet played said a pause (a DTX frame).
    pausing: bool,
    /// The newest packet in order carries in-band repair.
    repair_seen: bool,
    /// When a frame was last missing at its turn.
    last_hole: Option<Instant>,
    /// One frame more is held for repair (see [`REPAIR_HOLD`]).
    repair_margin: bool,
    /// The last packet played was CELT only: the decoder then conceals
    /// instead of decoding a copy (libopus), so none is counted repaired.
    after_celt: bool,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl JitterBuffer {
    pub fn new() -> Self {
        JitterBuffer {
            held: BTreeMap::new(),
            next: None,
            highest: None,
            first_arrival: None,
            last_transit: None,
            jitter_s: 0.0,
            epoch: None,
            waited: 0,
            delay: MIN_DELAY,
            pausing: false,
            repair_seen: false,
            last_hole: None,
            repair_margin: false,
            after_celt: false,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        JitterStats {
            jitter_ms: self.jitter_s * 1e3,
            target_delay_ms: self.target_delay().as_secs_f64() * 1e3,
            ..self.stats
        }
    }

    /// The delay the buffer aims to hold before playing.
    pub fn target_delay(&self) -> Duration {
        let frames = if self.repair_margin { 2.0 } else { 1.0 };
        let d = frames * FRAME.as_secs_f64() + JITTER_MULTIPLE * self.jitter_s;
        Duration::from_secs_f64(d).clamp(MIN_DELAY, MAX_DELAY)
    }

    fn extend(&self, seq: u16) -> u64 {
        match self.highest {
            None => u64::from(seq) + (1 << 16),
            Some(h) => {
                // The candidate nearest the highest seen.
                let base = h & !0xffff;
                [base.wrapping_sub(1 << 16), base, base + (1 << 16)]
                    .into_iter()
                    .map(|b| b + u64::from(seq))
                    .min_by_key(|c| c.abs_diff(h))
                    .unwrap_or(base + u64::from(seq))
            }
        }
    }

    /// A packet arrived at `now` with RTP `seq` and `timestamp`.
    pub fn push(&mut self, seq: u16, timestamp: u32, payload: bytes::Bytes, now: Instant) {
        self.stats.received += 1;
        let ext = self.extend(seq);
        if self.highest.is_none_or(|h| ext > h) {
            self.repair_seen = super::inband_repair::carries_repair(&payload);
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        // Interarrival jitter (RFC 3550 6.4.1), in seconds.
        let epoch = *self.epoch.get_or_insert(now);
        let arrival = now.duration_since(epoch).as_secs_f64();
        let transit = arrival - f64::from(timestamp) / 48_000.0;
        if let Some(last) = self.last_transit {
            let mut d = (transit - last).abs();
            if d > 1.0 {
                d = 0.0; // a timestamp jump (new stream), not jitter
            }
            self.jitter_s += (d - self.jitter_s) / 16.0;
        }
        self.last_transit = Some(transit);

        if self.next.is_some_and(|n| ext < n) {
            self.stats.late += 1;
            return; // its slot was already played or concealed
        }
        if self.first_arrival.is_none() {
            self.first_arrival = Some(now);
        }
        self.held.insert(ext, payload);
        while self.held.len() > CAPACITY {
            self.held.pop_first();
        }
    }

    /// While not playing, when playout may start: once the oldest packet
    /// has waited the target delay. The very first start uses the minimum:
    /// a stream's first packets come in a burst that says nothing about the
    /// path's jitter. `None` while playing or with nothing to play. The
    /// caller pops first at this moment, not at its next 20 ms tick: a
    /// restart (a join, the end of an outage) is then heard a tick sooner
    /// on average, with the same delay held.
    pub fn start_at(&self) -> Option<Instant> {
        if self.next.is_some() {
            return None;
        }
        Some(self.first_arrival? + self.start_delay())
    }

    fn start_delay(&self) -> Duration {
        if self.stats.played == 0 {
            MIN_DELAY
        } else {
            self.target_delay()
        }
    }

    /// Where playout should go on from to be back at the target delay,
    /// when what waits from `next` on is a backlog (see [`BACKLOG`]); the
    /// frames passed over are dropped.
    fn caught_up(&mut self, next: u64) -> Option<u64> {
        // Packets held, not the span of numbers: a hole (a burst lost) is
        // not audio waiting, and `MAX_HOLE` deals with it.
        let waiting = self.held.range(next..).count() as u64;
        let frame_ms = FRAME.as_millis() as u64;
        let target = (self.target_delay().as_millis() as u64).div_ceil(frame_ms);
        if waiting <= target + (BACKLOG.as_millis() as u64).div_ceil(frame_ms) {
            return None;
        }
        // Keep the newest `target` packets held.
        let (&from, _) = self.held.range(next..).rev().nth(target as usize - 1)?;
        let kept = self.held.split_off(&from);
        self.stats.skipped += self.held.len() as u64;
        self.held = kept;
        self.delay = self.target_delay();
        Some(from)
    }

    /// A frame is missing at its turn: while the sender's packets carry
    /// repair, hold a frame more for it (see [`REPAIR_HOLD`]).
    fn missed(&mut self, now: Instant) {
        self.last_hole = Some(now);
        if self.repair_seen {
            self.repair_margin = true;
        }
    }

    /// The frame to play at `now` (call every 20 ms).
    pub fn pop(&mut self, now: Instant) -> Playout {
        if self
            .last_hole
            .is_some_and(|t| now.duration_since(t) > REPAIR_HOLD)
        {
            self.repair_margin = false;
        }
        let Some(next) = self.next else {
            let ready = self.start_at().is_some_and(|t| now >= t);
            if !ready {
                return Playout::Silence;
            }
            let Some((&first, _)) = self.held.first_key_value() else {
                return Playout::Silence;
            };
            self.delay = self.start_delay();
            self.next = Some(first);
            return self.pop(now);
        };
        if let Some(next) = self.caught_up(next) {
            if next != self.next.unwrap_or(next) {
                self.next = Some(next);
                return self.pop(now);
            }
        }
        if !self.held.is_empty() {
            self.waited = 0;
        }
        if let Some(p) = self.held.remove(&next) {
            self.next = Some(next + 1);
            self.stats.played += 1;
            self.pausing = super::is_dtx_frame(&p);
            self.after_celt = super::inband_repair::is_celt_only(&p);
            return Playout::Packet(p);
        }
        if self.held.is_empty() && !self.pausing && self.waited < UNDERRUN_WAIT {
            self.waited += 1;
            self.stats.concealed += 1;
            self.missed(now);
            if self.delay < self.target_delay() {
                // Late, most likely: keep its slot.
                self.delay += FRAME;
            } else {
                self.next = Some(next + 1);
            }
            return Playout::Conceal;
        }
        if self.held.is_empty() {
            self.waited = 0;
            // Drained: the talker paused or the link is down. Start over
            // (with a fresh delay) when packets come back.
            self.next = None;
            self.first_arrival = None;
            return Playout::Silence;
        }
        // A hole longer than any wait: play on from what is here. (Frame
        // by frame it would never close while packets keep coming: the
        // oldest held go at CAPACITY as fast as the hole is concealed.)
        if let Some((&first, _)) = self.held.first_key_value() {
            if first > next + MAX_HOLE {
                self.stats.skipped += first - next;
                self.next = Some(first);
                return self.pop(now);
            }
        }
        // A hole with later packets waiting: rebuild it from the next
        // packet's copy if it carries one, else conceal it; and move on.
        self.missed(now);
        self.next = Some(next + 1);
        match self.held.get(&(next + 1)) {
            Some(p) if !self.after_celt && super::inband_repair::carries_repair(p) => {
                self.stats.repaired += 1;
                Playout::Repair(p.clone())
            }
            _ => {
                self.stats.concealed += 1;
                Playout::Conceal
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 20 ms at 48 kHz, in RTP timestamp units.
    const FRAME_TS: u32 = 960;

    /// A packet of speech (longer than a DTX frame), marked `n`.
    fn pkt(n: u8) -> bytes::Bytes {
        bytes::Bytes::from(vec![n, 0, 0])
    }

    /// A packet of speech marked `n` that carries a copy of the frame
    /// before it (SILK, 20 ms, the LBRR flag set).
    fn repairing(n: u8) -> bytes::Bytes {
        bytes::Bytes::from(vec![0x08, 0x40, n])
    }

    /// Plays `frames` 20 ms ticks from `start`, returning what came out.
    fn drain(jb: &mut JitterBuffer, start: Instant, frames: u32) -> Vec<Playout> {
        (0..frames).map(|i| jb.pop(start + FRAME * i)).collect()
    }

    #[test]
    fn waits_the_target_delay_then_plays_in_order() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        for i in 0..5u16 {
            jb.push(
                100 + i,
                u32::from(i) * FRAME_TS,
                pkt(i as u8),
                t0 + FRAME * u32::from(i),
            );
        }
        assert_eq!(jb.pop(t0), Playout::Silence, "plays before the delay");
        let out = drain(&mut jb, t0 + MIN_DELAY, 5);
        assert_eq!(
            out,
            (0..5).map(|i| Playout::Packet(pkt(i))).collect::<Vec<_>>()
        );
    }

    // Packets pushed all at once look like jitter to the estimator, so
    // these tests start playing at whatever delay it then targets.
    #[test]
    fn reorders_within_the_delay() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        for &i in &[0u16, 2, 1, 3] {
            jb.push(i, u32::from(i) * FRAME_TS, pkt(i as u8), t0);
        }
        let start = t0 + jb.target_delay();
        let out = drain(&mut jb, start, 4);
        assert_eq!(
            out,
            (0..4).map(|i| Playout::Packet(pkt(i))).collect::<Vec<_>>()
        );
    }

    #[test]
    fn conceals_a_lost_packet_and_drops_it_if_late() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        for &i in &[0u16, 1, 3, 4] {
            jb.push(i, u32::from(i) * FRAME_TS, pkt(i as u8), t0);
        }
        let start = t0 + jb.target_delay();
        let out = drain(&mut jb, start, 5);
        assert_eq!(
            out,
            [
                Playout::Packet(pkt(0)),
                Playout::Packet(pkt(1)),
                Playout::Conceal,
                Playout::Packet(pkt(3)),
                Playout::Packet(pkt(4))
            ]
        );
        jb.push(2, 2 * FRAME_TS, pkt(2), t0 + FRAME * 6);
        assert_eq!(jb.stats().late, 1);
        assert_eq!(jb.stats().concealed, 1);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        for (k, seq) in [65534u16, 65535, 0, 1].into_iter().enumerate() {
            jb.push(seq, k as u32 * FRAME_TS, pkt(k as u8), t0);
        }
        let start = t0 + jb.target_delay();
        let out = drain(&mut jb, start, 4);
        assert_eq!(
            out,
            (0..4).map(|i| Playout::Packet(pkt(i))).collect::<Vec<_>>()
        );
    }

    #[test]
    fn delay_grows_with_jitter_and_stays_bounded() {
        let t0 = Instant::now();
        let mut steady = JitterBuffer::new();
        let mut jittery = JitterBuffer::new();
        for i in 0..200u32 {
            let sent = FRAME * i;
            steady.push(i as u16, i * FRAME_TS, pkt(0), t0 + sent);
            // Alternating 0 / 30 ms extra transit.
            let extra = Duration::from_millis(if i % 2 == 0 { 0 } else { 30 });
            jittery.push(i as u16, i * FRAME_TS, pkt(0), t0 + sent + extra);
        }
        assert_eq!(steady.target_delay(), MIN_DELAY);
        let d = jittery.target_delay();
        assert!(d > Duration::from_millis(60) && d <= MAX_DELAY, "{d:?}");
    }

    #[test]
    fn says_when_playout_may_start_and_starts_then() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        assert_eq!(jb.start_at(), None, "nothing held");
        jb.push(0, 0, pkt(0), t0);
        jb.push(1, FRAME_TS, pkt(1), t0 + FRAME);
        // The first packet's arrival plus the minimum delay, exactly.
        assert_eq!(jb.start_at(), Some(t0 + MIN_DELAY));
        let just_before = t0 + MIN_DELAY - Duration::from_micros(1);
        assert_eq!(jb.pop(just_before), Playout::Silence);
        assert_eq!(jb.pop(t0 + MIN_DELAY), Playout::Packet(pkt(0)));
        assert_eq!(jb.start_at(), None, "playing");
        // After an outage, the restart waits the target delay from the
        // first packet back.
        assert_eq!(jb.pop(t0 + MIN_DELAY + FRAME), Playout::Packet(pkt(1)));
        let waited = drain(&mut jb, t0 + MIN_DELAY + FRAME * 2, UNDERRUN_WAIT);
        assert!(waited.iter().all(|p| *p == Playout::Conceal), "{waited:?}");
        let drained = t0 + MIN_DELAY + FRAME * (2 + UNDERRUN_WAIT);
        assert_eq!(jb.pop(drained), Playout::Silence);
        let back = t0 + Duration::from_secs(3);
        jb.push(150, 150 * FRAME_TS, pkt(9), back);
        assert_eq!(jb.start_at(), Some(back + jb.target_delay()));
    }

    #[test]
    fn drains_to_silence_and_restarts_after_an_outage() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        jb.push(0, 0, pkt(0), t0);
        assert_eq!(jb.pop(t0 + MIN_DELAY), Playout::Packet(pkt(0)));
        // Concealed while it may be late, then silent.
        let out = drain(&mut jb, t0 + MIN_DELAY + FRAME, UNDERRUN_WAIT + 2);
        let mut want = vec![Playout::Conceal; UNDERRUN_WAIT as usize];
        want.extend([Playout::Silence, Playout::Silence]);
        assert_eq!(out, want);
        // Back after 3 s: plays again once the delay has passed.
        let back = t0 + Duration::from_secs(3);
        jb.push(150, 150 * FRAME_TS, pkt(9), back);
        assert_eq!(jb.pop(back), Playout::Silence);
        assert_eq!(jb.pop(back + MIN_DELAY), Playout::Packet(pkt(9)));
    }

    #[test]
    fn a_late_packet_is_waited_for_while_the_delay_is_under_the_target() {
        let t0 = Instant::now();
        let tick = |n: u32| t0 + MIN_DELAY + FRAME * n;
        let mut jb = JitterBuffer::new();
        // Ten packets, every other one 30 ms late: jitter the first start
        // (at the minimum delay) did not allow for.
        for i in 0..10u32 {
            let extra = Duration::from_millis(if i % 2 == 1 { 30 } else { 0 });
            jb.push(i as u16, i * FRAME_TS, pkt(i as u8), t0 + FRAME * i + extra);
        }
        let out = drain(&mut jb, tick(0), 10);
        assert!(out.iter().all(|p| matches!(p, Playout::Packet(_))));
        assert!(jb.target_delay() > MIN_DELAY + FRAME, "{:?}", jb.stats());
        // Packet 10 is two frames late: its slot is concealed twice, kept,
        // and it is played when it comes (not dropped as late).
        assert_eq!(jb.pop(tick(10)), Playout::Conceal);
        assert_eq!(jb.pop(tick(11)), Playout::Conceal);
        jb.push(
            10,
            10 * FRAME_TS,
            pkt(10),
            tick(11) + Duration::from_millis(5),
        );
        assert_eq!(jb.pop(tick(12)), Playout::Packet(pkt(10)));
        let s = jb.stats();
        assert_eq!((s.played, s.concealed, s.late), (11, 2, 0));
    }

    #[test]
    fn after_a_pause_said_by_dtx_nothing_is_waited_for() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        let noise = bytes::Bytes::from(vec![0x0b; 20]);
        let pause = bytes::Bytes::from(vec![0x08]);
        jb.push(0, 0, noise.clone(), t0);
        jb.push(1, FRAME_TS, pause.clone(), t0 + FRAME);
        assert_eq!(jb.pop(t0 + MIN_DELAY), Playout::Packet(noise));
        assert_eq!(jb.pop(t0 + MIN_DELAY + FRAME), Playout::Packet(pause));
        // The next packet is 400 ms away: drained at once, nothing decoded.
        assert_eq!(jb.pop(t0 + MIN_DELAY + FRAME * 2), Playout::Silence);
        assert_eq!(jb.stats().concealed, 0);
    }

    #[test]
    fn at_the_target_delay_a_missing_frame_is_concealed_and_passed() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        jb.push(0, 0, pkt(0), t0);
        jb.push(1, FRAME_TS, pkt(1), t0 + FRAME);
        assert_eq!(jb.pop(t0 + MIN_DELAY), Playout::Packet(pkt(0)));
        assert_eq!(jb.pop(t0 + MIN_DELAY + FRAME), Playout::Packet(pkt(1)));
        // No jitter seen: the delay held is the target, so nothing is
        // waited for. Packet 2 missing is concealed; when it comes it is
        // late, and playout goes on with 3 at the same delay.
        assert_eq!(jb.pop(t0 + MIN_DELAY + FRAME * 2), Playout::Conceal);
        jb.push(2, 2 * FRAME_TS, pkt(2), t0 + FRAME * 3);
        jb.push(3, 3 * FRAME_TS, pkt(3), t0 + FRAME * 3);
        assert_eq!(jb.pop(t0 + MIN_DELAY + FRAME * 3), Playout::Packet(pkt(3)));
        let s = jb.stats();
        assert_eq!((s.played, s.concealed, s.late), (3, 1, 1));
    }

    #[test]
    fn a_backlog_after_a_stalled_player_is_dropped_to_the_target_delay() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        jb.push(0, 0, pkt(0), t0);
        assert_eq!(jb.pop(t0 + MIN_DELAY), Playout::Packet(pkt(0)));
        // The player stalls for a second; 50 packets pile in on time.
        for seq in 1..=50u16 {
            let at = t0 + FRAME * u32::from(seq);
            jb.push(seq, u32::from(seq) * FRAME_TS, pkt(seq as u8), at);
        }
        let back = t0 + Duration::from_secs(1) + MIN_DELAY;
        // Back: it plays from the target delay's worth before the newest,
        // not from the oldest a second behind.
        let target = (jb.target_delay().as_millis() / FRAME.as_millis()) as u16;
        let first = 50 - target + 1;
        assert_eq!(jb.pop(back), Playout::Packet(pkt(first as u8)));
        assert_eq!(jb.stats().skipped, u64::from(first - 1));
        // And goes on from there as packets come.
        jb.push(51, 51 * FRAME_TS, pkt(51), t0 + FRAME * 51);
        let played = drain(&mut jb, back + FRAME, u32::from(51 - first));
        assert!(
            played.iter().all(|p| matches!(p, Playout::Packet(_))),
            "{played:?}"
        );
        // Only what piled up is dropped; a hole is not a backlog.
        assert_eq!(jb.stats().skipped, u64::from(first - 1));
    }

    #[test]
    fn a_lost_burst_is_not_taken_for_a_backlog() {
        // 15 packets (300 ms) lost, the ones around them on time: each that
        // came plays, the hole is concealed.
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        let mut played = 0;
        for tick in 0..40u32 {
            let now = t0 + FRAME * tick;
            if !(10..25).contains(&tick) {
                jb.push(tick as u16, tick * FRAME_TS, pkt(tick as u8), now);
            }
            if matches!(jb.pop(now + MIN_DELAY), Playout::Packet(_)) {
                played += 1;
            }
        }
        assert_eq!(jb.stats().skipped, 0);
        assert!(played >= 24, "{played} of 25 played");
    }

    #[test]
    fn a_jump_in_the_numbering_is_followed_not_concealed_for_ever() {
        // A steady stream whose sequence numbers jump 200 ahead while
        // packets keep coming (numbering reset upstream, or a long burst
        // lost without a pause): the buffer must play again, not conceal
        // the missing numbers one tick at a time behind the new ones.
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        let mut out = Vec::new();
        for tick in 0..150u32 {
            let seq = if tick < 20 { tick } else { tick + 200 };
            let now = t0 + FRAME * tick;
            jb.push(seq as u16, tick * FRAME_TS, pkt(tick as u8), now);
            out.push(jb.pop(now + MIN_DELAY));
        }
        let concealed = out.iter().filter(|p| **p == Playout::Conceal).count();
        assert!(
            concealed <= 12,
            "{concealed} frames concealed after the jump; the last: {:?}",
            &out[140..]
        );
        assert!(
            out[140..].iter().all(|p| matches!(p, Playout::Packet(_))),
            "not playing 2 s after the jump: {:?}",
            &out[140..]
        );
    }

    /// Packets 0..6 each made by `make`, on time, 3 lost: what came out and
    /// the buffer's stats.
    fn third_lost(make: fn(u8) -> bytes::Bytes) -> (Vec<Playout>, JitterStats) {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        for i in (0..6u16).filter(|&i| i != 3) {
            let at = t0 + FRAME * u32::from(i) - Duration::from_millis(5);
            jb.push(i, u32::from(i) * FRAME_TS, make(i as u8), at);
        }
        let out = drain(&mut jb, t0 + MIN_DELAY, 6);
        (out, jb.stats())
    }

    #[test]
    fn a_lost_frame_is_rebuilt_from_the_next_packets_copy() {
        // 4 carries a copy of 3.
        let (out, s) = third_lost(repairing);
        assert_eq!(out[3], Playout::Repair(repairing(4)), "{out:?}");
        assert_eq!(out[4], Playout::Packet(repairing(4)));
        assert_eq!((s.played, s.repaired, s.concealed), (5, 1, 0));

        // Without a copy in the next packet it is concealed.
        let (out, s) = third_lost(pkt);
        assert_eq!(out[3], Playout::Conceal, "{out:?}");
        assert_eq!((s.played, s.repaired, s.concealed), (5, 0, 1));
    }

    /// A steady path, no jitter, playing at the minimum delay: each packet
    /// arrives just after the turn of the frame before it, so the packet
    /// after a lost one is not yet here when the lost frame's turn comes.
    /// The frames of `lost` are never sent; each packet is made by `make`.
    /// Returns what came out at each turn.
    fn steady(
        jb: &mut JitterBuffer,
        t0: Instant,
        frames: std::ops::Range<u32>,
        lost: &[u32],
        make: fn(u8) -> bytes::Bytes,
    ) -> Vec<Playout> {
        let turn = |k: u32| t0 + MIN_DELAY + FRAME * k;
        let mut out = Vec::new();
        for k in frames {
            // Packet k arrives with frame k-1's turn, after it is played.
            if !lost.contains(&k) {
                jb.push(k as u16, k * FRAME_TS, make(k as u8), t0 + FRAME * k);
            }
            out.push(jb.pop(turn(k)));
        }
        out
    }

    fn target_ms(jb: &JitterBuffer) -> f64 {
        jb.target_delay().as_secs_f64() * 1e3
    }

    #[test]
    fn while_frames_are_lost_one_frame_more_is_held_for_repair() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        let out = steady(&mut jb, t0, 0..40, &[5, 20], repairing);
        assert!((target_ms(&jb) - 40.0).abs() < 0.01, "{:?}", jb.stats());
        // The first loss: its turn is concealed once while its slot is
        // kept (the delay grows a frame), then it is rebuilt. The second
        // is rebuilt at its turn, nothing concealed.
        let s = jb.stats();
        assert_eq!((s.repaired, s.concealed), (2, 1), "{out:?}");
        assert_eq!(out[5], Playout::Conceal, "{out:?}");
        assert_eq!(out[6], Playout::Repair(repairing(6)), "{out:?}");
        assert_eq!(out[21], Playout::Repair(repairing(21)), "{out:?}");

        // 10 s without a loss: the target is back to the jitter's own.
        steady(&mut jb, t0, 40..600, &[], repairing);
        assert!((target_ms(&jb) - 20.0).abs() < 0.01, "{:?}", jb.stats());
    }

    #[test]
    fn after_a_celt_packet_a_lost_frame_is_concealed_not_counted_repaired() {
        // libopus conceals instead of decoding the copy when the last
        // frame it decoded was CELT only (a mode switch).
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        let celt = bytes::Bytes::from(vec![0xf8, 0x12, 0x34]);
        jb.push(0, 0, celt.clone(), t0);
        jb.push(2, 2 * FRAME_TS, repairing(2), t0);
        let start = t0 + jb.target_delay();
        let out = drain(&mut jb, start, 3);
        assert_eq!(out[0], Playout::Packet(celt), "{out:?}");
        assert_eq!(out[1], Playout::Conceal, "{out:?}");
        assert_eq!((jb.stats().repaired, jb.stats().concealed), (0, 1));
    }

    #[test]
    fn no_frame_more_is_held_for_a_sender_without_repair() {
        let t0 = Instant::now();
        let mut jb = JitterBuffer::new();
        let out = steady(&mut jb, t0, 0..40, &[5, 20], pkt);
        assert!((target_ms(&jb) - 20.0).abs() < 0.01, "{:?}", jb.stats());
        let s = jb.stats();
        assert_eq!((s.repaired, s.concealed), (0, 2), "{out:?}");
    }
}
