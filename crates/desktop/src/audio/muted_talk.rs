//! "You are muted": shown when a muted person talks for a moment, hidden a
//! while after they stop. Fed the microphone's voice activity on a steady
//! tick; no clock of its own.

/// Ticks of voice before the hint shows (with a 100 ms tick: 300 ms, so a
/// cough does not).
const TALK_TICKS: u32 = 3;
/// Ticks of quiet before it goes (2 s: it stays while they pause).
const QUIET_TICKS: u32 = 20;

#[derive(Debug, Default)]
pub struct MutedTalk {
    talking: u32,
    quiet: u32,
    shown: bool,
}

impl MutedTalk {
    /// One tick: is the person muted, is there voice now. Returns whether
    /// the hint shows.
    pub fn tick(&mut self, muted: bool, voice: bool) -> bool {
        if !muted {
            *self = MutedTalk::default();
            return false;
        }
        if voice {
            self.talking += 1;
            self.quiet = 0;
            if self.talking >= TALK_TICKS {
                self.shown = true;
            }
        } else {
            self.talking = 0;
            self.quiet += 1;
            if self.quiet >= QUIET_TICKS {
                self.shown = false;
            }
        }
        self.shown
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn talk_while_muted_shows_the_hint_until_a_pause() {
        let mut m = MutedTalk::default();
        assert!(!m.tick(true, true));
        assert!(!m.tick(true, true));
        assert!(m.tick(true, true), "300 ms of talk");
        for _ in 0..QUIET_TICKS - 1 {
            assert!(m.tick(true, false), "kept through a pause");
        }
        assert!(!m.tick(true, false), "gone after 2 s of quiet");
    }

    #[test]
    fn a_cough_or_talk_while_unmuted_shows_nothing() {
        let mut m = MutedTalk::default();
        assert!(!m.tick(true, true));
        assert!(!m.tick(true, false));
        assert!(!m.tick(true, true));
        for _ in 0..10 {
            assert!(!m.tick(false, true));
        }
        assert!(m.tick(true, true) || m.tick(true, true) || m.tick(true, true));
        assert!(!m.tick(false, true), "unmuting hides it at once");
    }
}
