//! Our audio's RTP numbering under discontinuous transmission (DTX): the
//! sequence number counts packets sent, the timestamp counts 20 ms frames
//! whether sent or not (RFC 3550 5.1). A silent frame that is not sent is
//! then a pause to every receiver and to the server, never a lost packet;
//! the first packet after a pause carries the marker bit (RFC 3551 4.1),
//! the start of a talk spurt.
//!
//! Sans-IO: one call per frame.

/// One packet's header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    pub sequence_number: u16,
    pub timestamp: u32,
    pub marker: bool,
}

#[derive(Debug)]
pub(crate) struct Numbering {
    next_sequence: u16,
    next_timestamp: u32,
    samples_per_frame: u32,
    /// The previous frame was not sent (or none was yet).
    paused: bool,
}

impl Numbering {
    /// Starting at random values (RFC 3550: unpredictable), frames of
    /// `samples_per_frame` at the codec's clock.
    pub fn new(sequence: u16, timestamp: u32, samples_per_frame: u32) -> Self {
        Numbering {
            next_sequence: sequence,
            next_timestamp: timestamp,
            samples_per_frame,
            paused: true,
        }
    }

    /// The next frame: its header if it is sent, `None` if not.
    pub fn frame(&mut self, sent: bool) -> Option<Header> {
        let timestamp = self.next_timestamp;
        self.next_timestamp = timestamp.wrapping_add(self.samples_per_frame);
        if !sent {
            self.paused = true;
            return None;
        }
        let header = Header {
            sequence_number: self.next_sequence,
            timestamp,
            marker: std::mem::take(&mut self.paused),
        };
        self.next_sequence = self.next_sequence.wrapping_add(1);
        Some(header)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_not_sent_move_the_clock_but_not_the_count() {
        let mut n = Numbering::new(100, 5000, 960);
        let sent: Vec<Option<Header>> = [true, true, false, false, false, true, true]
            .into_iter()
            .map(|s| n.frame(s))
            .collect();
        let h = |sequence_number, timestamp, marker| {
            Some(Header {
                sequence_number,
                timestamp,
                marker,
            })
        };
        assert_eq!(
            sent,
            vec![
                h(100, 5000, true),
                h(101, 5960, false),
                None,
                None,
                None,
                h(102, 5000 + 5 * 960, true),
                h(103, 5000 + 6 * 960, false),
            ]
        );
    }

    #[test]
    fn both_numbers_wrap() {
        let mut n = Numbering::new(u16::MAX, u32::MAX - 959, 960);
        assert_eq!(
            n.frame(true),
            Some(Header {
                sequence_number: u16::MAX,
                timestamp: u32::MAX - 959,
                marker: true
            })
        );
        assert_eq!(
            n.frame(true),
            Some(Header {
                sequence_number: 0,
                timestamp: 0,
                marker: false
            })
        );
    }
}
