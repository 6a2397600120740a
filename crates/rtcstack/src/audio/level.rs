//! The microphone's level and whether someone is speaking into it: for a
//! level meter, and for "You are muted" when a muted person talks. Measured
//! on the processed signal (after echo cancellation), so the far end's
//! voice coming back through the speakers does not count as talk.

/// The microphone as a meter shows it.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MicLevel {
    /// RMS level of the last 20 ms, dBFS (-100 for silence).
    pub dbfs: f32,
    /// Someone is speaking (with a short hangover, so words run together).
    pub voice: bool,
}

impl Default for MicLevel {
    fn default() -> Self {
        MicLevel {
            dbfs: SILENCE_DB,
            voice: false,
        }
    }
}

impl MicLevel {
    /// The level as RTP's audio-level header extension carries it (RFC
    /// 6464): −dBov from 0 (loudest) to 127, which digital silence must be.
    pub(crate) fn rtp_level(&self) -> u8 {
        if self.dbfs <= SILENCE_DB {
            return 127;
        }
        (-self.dbfs).clamp(0.0, 127.0).round() as u8
    }
}

const SILENCE_DB: f32 = -100.0;
/// Below this nothing is speech, however quiet the room.
const QUIETEST_VOICE_DB: f32 = -55.0;
/// Speech stands this far above the room's noise floor.
const ABOVE_FLOOR_DB: f32 = 12.0;
/// How fast the floor rises toward a louder room (per 20 ms frame): slow,
/// so a sentence does not become the floor; it falls at once.
const FLOOR_RISE_DB: f32 = 0.05;
/// Frames a voice is still "on" after it drops (200 ms).
const HANGOVER: u32 = 10;

/// Level and voice activity, one frame at a time (no clock of its own).
pub(crate) struct Meter {
    /// The room's level; the first frame's until there is more to go on.
    floor_db: Option<f32>,
    hang: u32,
}

impl Meter {
    pub(crate) fn new() -> Self {
        Meter {
            floor_db: None,
            hang: 0,
        }
    }

    pub(crate) fn update(&mut self, frame: &[i16]) -> MicLevel {
        let dbfs = level_dbfs(frame);
        let floor = match self.floor_db {
            Some(f) if dbfs >= f => f + FLOOR_RISE_DB,
            _ => dbfs,
        };
        self.floor_db = Some(floor);
        let loud = dbfs >= QUIETEST_VOICE_DB && dbfs >= floor + ABOVE_FLOOR_DB;
        self.hang = if loud {
            HANGOVER
        } else {
            self.hang.saturating_sub(1)
        };
        MicLevel {
            dbfs,
            voice: self.hang > 0,
        }
    }
}

fn level_dbfs(frame: &[i16]) -> f32 {
    if frame.is_empty() {
        return SILENCE_DB;
    }
    let power = frame
        .iter()
        .map(|&s| (f64::from(s) / 32768.0).powi(2))
        .sum::<f64>()
        / frame.len() as f64;
    if power <= 1e-10 {
        SILENCE_DB
    } else {
        (10.0 * power.log10()) as f32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(amplitude: f64) -> Vec<i16> {
        (0..960)
            .map(|i| (amplitude * 32767.0 * (i as f64 * 0.1).sin()) as i16)
            .collect()
    }

    #[test]
    fn level_of_a_sine_and_of_silence() {
        let mut m = Meter::new();
        let l = m.update(&tone(0.5));
        assert!((l.dbfs - (-9.0)).abs() < 0.5, "{}", l.dbfs);
        assert_eq!(m.update(&[0; 960]).dbfs, SILENCE_DB);
    }

    #[test]
    fn rtp_level_is_minus_dbov_within_0_to_127() {
        let mut m = Meter::new();
        assert_eq!(m.update(&tone(0.5)).rtp_level(), 9);
        assert_eq!(m.update(&[0; 960]).rtp_level(), 127);
        assert_eq!(MicLevel::default().rtp_level(), 127);
        let quiet = MicLevel {
            dbfs: -99.6,
            voice: false,
        };
        assert_eq!(quiet.rtp_level(), 100);
        let loudest = MicLevel {
            dbfs: 3.0,
            voice: true,
        };
        assert_eq!(loudest.rtp_level(), 0);
        let below = MicLevel {
            dbfs: -140.0,
            voice: false,
        };
        assert_eq!(below.rtp_level(), 127);
    }

    #[test]
    fn speech_over_a_quiet_room_is_voice_and_the_room_is_not() {
        let mut m = Meter::new();
        // A minute of a steady -50 dBFS room: the floor follows it.
        for _ in 0..3000 {
            assert!(!m.update(&tone(0.0045)).voice);
        }
        // Talk at -20 dBFS: voice at once.
        assert!(m.update(&tone(0.14)).voice);
        // Quiet again: on for the hangover, then off.
        for _ in 0..HANGOVER - 1 {
            assert!(m.update(&tone(0.0045)).voice);
        }
        assert!(!m.update(&tone(0.0045)).voice);
    }

    #[test]
    fn very_quiet_sound_is_never_voice() {
        let mut m = Meter::new();
        for _ in 0..10 {
            m.update(&[0; 960]);
        }
        // -66 dBFS over digital silence: far above the floor, below speech.
        assert!(!m.update(&tone(0.0007)).voice);
    }
}
