//! TURN's messages on a byte stream (RFC 8656 §12.5, RFC 6062): over TCP
//! and TLS there are no datagrams, so each message is found by its own
//! header. A STUN message is its 20-byte header and the length that header
//! gives (always a multiple of 4); ChannelData is its 4-byte header and
//! data, padded on a stream to a multiple of 4 (over UDP the padding may be
//! left off). Sans-IO: bytes in, messages out.

/// A message as it travels in a datagram, from the first two bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Stun,
    ChannelData,
}

const STUN_HEADER: usize = 20;
const MAGIC_COOKIE: [u8; 4] = [0x21, 0x12, 0xa4, 0x42];
const CHANNEL_HEADER: usize = 4;

fn kind(first: u8) -> Option<Kind> {
    match first >> 6 {
        0b00 => Some(Kind::Stun),
        0b01 => Some(Kind::ChannelData),
        _ => None,
    }
}

fn padded(n: usize) -> usize {
    n.div_ceil(4) * 4
}

/// Why a stream cannot be read on: the other end is not speaking TURN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum FramingError {
    #[error(
        "the TURN server sent a message that is neither STUN nor ChannelData (first byte {0:#04x})"
    )]
    NotTurn(u8),
    #[error("the TURN server sent a STUN message whose length {0} is not a multiple of 4")]
    Misaligned(usize),
    #[error("the TURN server sent a STUN message without STUN's magic cookie")]
    NoCookie,
}

/// A STUN Allocate request (RFC 8656 §7.1): what begins an allocation.
pub(crate) fn is_allocate(datagram: &[u8]) -> bool {
    datagram.len() >= STUN_HEADER && datagram[..2] == [0x00, 0x03] && datagram[4..8] == MAGIC_COOKIE
}

/// A datagram from the TURN client as it goes on the stream: ChannelData
/// padded to a multiple of 4. `None` for anything else (not TURN's).
pub(crate) fn to_stream(datagram: &[u8]) -> Option<Vec<u8>> {
    match kind(*datagram.first()?)? {
        Kind::Stun => {
            if datagram.len() < STUN_HEADER {
                return None;
            }
            let len = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
            (datagram.len() == STUN_HEADER + len).then(|| datagram.to_vec())
        }
        Kind::ChannelData => {
            if datagram.len() < CHANNEL_HEADER {
                return None;
            }
            let len = u16::from_be_bytes([datagram[2], datagram[3]]) as usize;
            let end = CHANNEL_HEADER + len;
            if datagram.len() < end {
                return None;
            }
            let mut out = datagram[..end].to_vec();
            out.resize(padded(end), 0);
            Some(out)
        }
    }
}

/// Bytes from the stream in, whole messages out (ChannelData without its
/// padding, as a datagram would carry it).
#[derive(Debug, Default)]
pub(crate) struct Deframer {
    buffer: Vec<u8>,
    /// Where the next message starts: what came before is taken, and is
    /// dropped from the buffer at the next push (once per read, not once
    /// per message).
    start: usize,
}

impl Deframer {
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer.extend_from_slice(bytes);
    }

    /// The next whole message, `Ok(None)` until one has arrived.
    pub(crate) fn next(&mut self) -> Result<Option<Vec<u8>>, FramingError> {
        let rest = &self.buffer[self.start..];
        let Some(&first) = rest.first() else {
            return Ok(None);
        };
        let kind = kind(first).ok_or(FramingError::NotTurn(first))?;
        let header = match kind {
            Kind::Stun => STUN_HEADER,
            Kind::ChannelData => CHANNEL_HEADER,
        };
        if rest.len() < header {
            return Ok(None);
        }
        let len = u16::from_be_bytes([rest[2], rest[3]]) as usize;
        let (message, on_stream) = match kind {
            Kind::Stun if !len.is_multiple_of(4) => return Err(FramingError::Misaligned(len)),
            Kind::Stun if rest[4..8] != MAGIC_COOKIE => return Err(FramingError::NoCookie),
            Kind::Stun => (STUN_HEADER + len, STUN_HEADER + len),
            Kind::ChannelData => (CHANNEL_HEADER + len, padded(CHANNEL_HEADER + len)),
        };
        if rest.len() < on_stream {
            return Ok(None);
        }
        let out = rest[..message].to_vec();
        self.start += on_stream;
        Ok(Some(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A STUN Binding request with `body` bytes of attributes.
    fn stun(body: usize) -> Vec<u8> {
        let mut m = vec![0x00, 0x01];
        m.extend((body as u16).to_be_bytes());
        m.extend([0x21, 0x12, 0xa4, 0x42]);
        m.extend([7u8; 12]);
        m.extend(vec![0xab; body]);
        m
    }

    fn channel(data: &[u8]) -> Vec<u8> {
        let mut m = vec![0x40, 0x01];
        m.extend((data.len() as u16).to_be_bytes());
        m.extend(data);
        m
    }

    #[test]
    fn channel_data_is_padded_on_the_stream_and_unpadded_off_it() {
        let dgram = channel(&[1, 2, 3, 4, 5]);
        let framed = to_stream(&dgram).unwrap();
        assert_eq!(framed.len(), 12);
        assert_eq!(&framed[..9], &dgram[..]);
        assert_eq!(&framed[9..], &[0, 0, 0]);

        let mut d = Deframer::default();
        d.push(&framed);
        assert_eq!(d.next().unwrap(), Some(dgram));
        assert_eq!(d.next().unwrap(), None);
    }

    #[test]
    fn stun_goes_as_it_is_and_a_wrong_length_is_not_sent() {
        let m = stun(8);
        assert_eq!(to_stream(&m), Some(m.clone()));
        assert_eq!(to_stream(&m[..25]), None);
        assert_eq!(to_stream(&[0x80, 0, 0, 0]), None, "RTP is not TURN's");
        assert_eq!(to_stream(&[]), None);
    }

    #[test]
    fn messages_split_and_joined_anywhere_come_out_whole() {
        let a = stun(12);
        let b = channel(&[9; 7]);
        let c = stun(0);
        let mut stream = a.clone();
        stream.extend(to_stream(&b).unwrap());
        stream.extend(&c);
        // Every split point, byte by byte and in two pieces.
        for cut in 0..=stream.len() {
            let mut d = Deframer::default();
            let mut out = Vec::new();
            for piece in [&stream[..cut], &stream[cut..]] {
                d.push(piece);
                while let Some(m) = d.next().unwrap() {
                    out.push(m);
                }
            }
            assert_eq!(out, vec![a.clone(), b.clone(), c.clone()], "cut at {cut}");
        }
    }

    #[test]
    fn the_largest_messages_either_framing_allows_come_out_whole() {
        let big = stun(0xfffc);
        let mut d = Deframer::default();
        d.push(&big);
        assert_eq!(d.next().unwrap(), Some(big));
        let data = vec![5u8; 0xffff];
        let framed = to_stream(&channel(&data)).unwrap();
        assert_eq!(framed.len() % 4, 0);
        d.push(&framed);
        assert_eq!(d.next().unwrap(), Some(channel(&data)));
        assert_eq!(d.next().unwrap(), None);
    }

    #[test]
    fn only_an_allocate_request_is_one() {
        let mut allocate = stun(0);
        allocate[1] = 0x03;
        assert!(is_allocate(&allocate));
        assert!(!is_allocate(&stun(0)), "a binding request");
        assert!(!is_allocate(&channel(&[0; 20])));
    }

    #[test]
    fn a_stream_that_is_not_turn_is_refused_not_guessed() {
        let mut d = Deframer::default();
        d.push(&[0xc0, 0, 0, 0]);
        assert_eq!(d.next(), Err(FramingError::NotTurn(0xc0)));
        // A TLS record where plain TURN was expected: no cookie.
        let mut d = Deframer::default();
        d.push(&[0x16, 0x03, 0x03, 0x00, 0x7a, 0x02, 0x00, 0x00]);
        d.push(&[0; 12]);
        assert_eq!(d.next(), Err(FramingError::NoCookie));
        let mut d = Deframer::default();
        let mut m = stun(0);
        m[3] = 6;
        d.push(&m);
        assert_eq!(d.next(), Err(FramingError::Misaligned(6)));
    }
}
