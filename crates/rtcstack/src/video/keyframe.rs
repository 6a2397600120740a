//! When a video receiver asks its sender for a key frame (RTCP PLI): it has
//! nothing it can decode from (the start, a lost frame, a decoder error).
//! Asks are spaced, as libwebrtc spaces them, so a burst of undecodable
//! frames is one request, not one per frame; a sender that does not answer
//! is asked again. Sans-IO: time is passed in.

use std::time::{Duration, Instant};

/// At most one request this often.
pub(crate) const REPEAT: Duration = Duration::from_millis(300);

#[derive(Debug)]
pub(crate) struct KeyframeWait {
    /// Frames cannot be decoded until a key frame arrives.
    waiting: bool,
    last_ask: Option<Instant>,
}

impl KeyframeWait {
    /// A new stream: waiting for its first key frame.
    pub(crate) fn new() -> Self {
        KeyframeWait {
            waiting: true,
            last_ask: None,
        }
    }

    /// Decoding must stop until the next key frame (a frame was lost, or
    /// did not decode).
    pub(crate) fn broken(&mut self) {
        self.waiting = true;
    }

    /// A whole frame arrived: whether to decode it (not while waiting,
    /// unless it is a key frame).
    pub(crate) fn admit(&mut self, keyframe: bool) -> bool {
        if keyframe {
            self.waiting = false;
        }
        !self.waiting
    }

    /// Whether to send a key-frame request now.
    pub(crate) fn ask(&mut self, now: Instant) -> bool {
        if !self.waiting
            || self
                .last_ask
                .is_some_and(|t| now.duration_since(t) < REPEAT)
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
}
