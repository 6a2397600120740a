//! The push-to-talk key's rule: held while muted, the microphone opens;
//! released, it closes again — only if the key opened it. Muting or
//! unmuting by hand while holding hands the choice back to the person.

#[derive(Debug, Default)]
pub struct Hold {
    down: bool,
    /// The key opened the microphone, and closes it on release.
    opened: bool,
}

impl Hold {
    /// The key went down with the microphone `muted`: true to unmute.
    /// Repeats of a held key change nothing.
    pub fn down(&mut self, muted: bool) -> bool {
        if self.down {
            return false;
        }
        self.down = true;
        self.opened = muted;
        muted
    }

    /// The key went up: true to mute again.
    pub fn up(&mut self) -> bool {
        self.down = false;
        std::mem::take(&mut self.opened)
    }

    /// Muted or unmuted by hand: the release leaves that as it is.
    pub fn by_hand(&mut self) {
        self.opened = false;
    }

    /// The microphone is open because the key is held.
    pub fn talking(&self) -> bool {
        self.down && self.opened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_while_muted_talks_and_release_mutes_again() {
        let mut h = Hold::default();
        assert!(h.down(true));
        assert!(h.talking());
        assert!(!h.down(false), "a repeat of the held key");
        assert!(h.up());
        assert!(!h.talking());
        assert!(!h.up(), "a second release");
    }

    #[test]
    fn held_while_unmuted_changes_nothing() {
        let mut h = Hold::default();
        assert!(!h.down(false));
        assert!(!h.talking());
        assert!(!h.up());
    }

    #[test]
    fn a_choice_by_hand_while_holding_is_kept() {
        let mut h = Hold::default();
        assert!(h.down(true));
        h.by_hand();
        assert!(!h.talking());
        assert!(!h.up(), "the release must not mute what the person unmuted");
    }
}
