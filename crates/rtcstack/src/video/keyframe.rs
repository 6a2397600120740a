//! When a video receiver asks its sender for a key frame (RTCP PLI): it has
//! nothing it can decode from (the start, a lost frame, a decoder error).
//! Asks are spaced, as libwebrtc spaces them, so a burst of undecodable
//! frames is one request, not one per frame; a sender that does not answer
//! is asked again, but not while a key frame's packets are still coming
//! (libwebrtc's rule too): on a slow link a key frame takes longer than
//! the spacing to arrive, and each ask brings another, larger than the
//! frames it replaces, until the link carries little else. Sans-IO: time
//! is passed in.

use std::time::{Duration, Instant};

/// At most one request this often.
pub(crate) const REPEAT: Duration = Duration::from_millis(300);

#[derive(Debug)]
pub(crate) struct KeyframeWait {
    /// Frames cannot be decoded until a key frame arrives.
    waiting: bool,
    last_ask: Option<Instant>,
    /// The key frame arriving: its timestamp, and when its last packet
    /// came.
    arriving: Option<(u32, Instant)>,
}

impl KeyframeWait {
    /// A new stream: waiting for its first key frame.
    pub(crate) fn new() -> Self {
        KeyframeWait {
            waiting: true,
            last_ask: None,
            arriving: None,
        }
    }

    /// Decoding must stop until the next key frame (a frame was lost, or
    /// did not decode).
    pub(crate) fn broken(&mut self) {
        self.waiting = true;
    }

    /// A packet of the frame at `timestamp` came; `key` tells, for a
    /// frame's first packet, whether it starts a key frame.
    pub(crate) fn on_packet(&mut self, now: Instant, timestamp: u32, key: Option<bool>) {
        match key {
            Some(true) => self.arriving = Some((timestamp, now)),
            Some(false) => {}
            None => {
                if let Some((ts, at)) = self.arriving.as_mut() {
                    if *ts == timestamp {
                        *at = now;
                    }
                }
            }
        }
    }

    /// A whole frame arrived: whether to decode it (not while waiting,
    /// unless it is a key frame).
    pub(crate) fn admit(&mut self, keyframe: bool) -> bool {
        if keyframe {
            self.waiting = false;
            self.arriving = None;
        }
        !self.waiting
    }

    /// Whether to send a key-frame request now.
    pub(crate) fn ask(&mut self, now: Instant) -> bool {
        let recent = |t: Instant| now.saturating_duration_since(t) < REPEAT;
        if !self.waiting
            || self.last_ask.is_some_and(recent)
            || self.arriving.is_some_and(|(_, at)| recent(at))
        {
            return false;
        }
        self.last_ask = Some(now);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_stream_asks_at_once_and_decodes_from_the_key_frame() {
        let t0 = Instant::now();
        let mut k = KeyframeWait::new();
        assert!(k.ask(t0));
        assert!(!k.admit(false), "a delta frame before any key frame");
        assert!(k.admit(true));
        assert!(k.admit(false));
        assert!(!k.ask(t0 + Duration::from_secs(5)), "nothing to ask for");
    }

    #[test]
    fn asks_are_spaced_and_repeated_while_unanswered() {
        let t0 = Instant::now();
        let mut k = KeyframeWait::new();
        assert!(k.admit(true));
        k.broken();
        assert!(k.ask(t0));
        assert!(!k.ask(t0 + Duration::from_millis(100)));
        assert!(!k.ask(t0 + REPEAT - Duration::from_millis(1)));
        assert!(k.ask(t0 + REPEAT));
        assert!(!k.admit(false));
        assert!(k.admit(true));
        assert!(!k.ask(t0 + REPEAT * 3));
    }

    #[test]
    fn no_ask_while_a_key_frames_packets_are_coming() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut k = KeyframeWait::new();
        assert!(k.ask(t0));
        // A key frame of many packets, 60 ms apart (a slow link), with a
        // delta frame's packets among them (another timestamp).
        k.on_packet(ms(100), 9000, Some(true));
        for n in 1..20 {
            k.on_packet(ms(100 + 60 * n), 9000, None);
            k.on_packet(ms(100 + 60 * n), 12000, None);
            assert!(!k.ask(ms(100 + 60 * n)), "packet {n}");
        }
        // Its packets stopped (its last lost): asked again one spacing on.
        let last = 100 + 60 * 19;
        assert!(!k.ask(ms(last) + REPEAT - Duration::from_millis(1)));
        assert!(k.ask(ms(last) + REPEAT));
        // A delta frame's packets do not hold an ask back.
        k.on_packet(ms(last + 400), 15000, Some(false));
        k.on_packet(ms(last + 450), 15000, None);
        assert!(k.ask(ms(last + 400) + REPEAT));
        // Once a key frame is in, nothing is arriving any more.
        k.on_packet(ms(3000), 18000, Some(true));
        assert!(k.admit(true));
        k.broken();
        assert!(k.ask(ms(3000)));
    }
}
