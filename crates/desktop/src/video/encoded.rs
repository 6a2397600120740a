//! Tracks a tile decodes itself. Drawn large, a VP8 picture costs less
//! decoded in the page (WebCodecs) than decoded here and sent as RGBA:
//! 20.5–21.1 % against 27.4–27.9 for 640x360 at its size, 47.6–52.7
//! against 76.6–80.8 for 1280x720, measured by `scripts/bench frames`
//! (README), most of the difference WebKit's network process carrying
//! the RGBA. In a grid's tile the two cost the same, and RGBA serves every
//! codec, so it stays there. Such a track's frames go to the page as they
//! came, every one from a key frame on, in order: a page behind cannot
//! skip one, so too many waiting start it again from a key frame, as a
//! page whose decoder failed asks.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use rtcstack::video::{Delivery, EncodedVideo, VideoCodec};

use super::{TileSize, HEADER};

/// A tile at least this large (device pixels) decodes VP8 itself, where
/// the page can.
const LARGE: TileSize = TileSize {
    width: 640,
    height: 360,
};
/// Frames waiting for the page at most (two seconds at 30 a second);
/// more, and it starts again from a key frame.
const MOST_WAITING: usize = 60;
/// A page this many times behind takes the track decoded for the rest of
/// its tile's life: it skips frames instead of asking for key frames
/// again and again.
const MOST_BEHIND: u32 = 3;

/// What the page's tile of a track says it takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taking {
    pub fit: Option<TileSize>,
    /// It decodes VP8 itself.
    pub vp8: bool,
    /// Its decoder lost its place: from a key frame, please.
    pub again: bool,
}

#[derive(Default)]
struct Track {
    /// The socket whose tile told last.
    owner: u64,
    wanted: bool,
    again: bool,
    /// Times the page fell too far behind.
    behind: u32,
    /// Messages for the page, numbered, oldest first.
    waiting: VecDeque<(u64, Arc<Vec<u8>>)>,
}

/// The tracks the page decodes, and their frames on the way.
#[derive(Default)]
pub struct EncodedTracks {
    tracks: HashMap<String, Track>,
}

impl EncodedTracks {
    /// The tile of `track` said what it takes, over socket `owner`.
    pub fn tell(&mut self, track: &str, owner: u64, taking: Taking) {
        let t = self.tracks.entry(track.to_owned()).or_default();
        t.owner = owner;
        let wanted = taking.vp8
            && t.behind < MOST_BEHIND
            && taking
                .fit
                .is_some_and(|f| f.width >= LARGE.width && f.height >= LARGE.height);
        // Frames dropped, or none sent yet: only a key frame goes next
        // (the engine may not have seen a change of way in between).
        t.again |= taking.again || (wanted && !t.wanted);
        t.wanted = wanted;
        if !wanted {
            t.waiting.clear();
        }
    }

    /// The tile of `track` whose socket was `owner` is gone (not one
    /// that has told since, for the same track).
    pub fn forget(&mut self, track: &str, owner: u64) {
        if self.tracks.get(track).is_some_and(|t| t.owner == owner) {
            self.tracks.remove(track);
        }
    }

    pub fn clear(&mut self) {
        self.tracks.clear();
    }

    /// How the engine hands `track`'s frames over now.
    pub fn delivery(&mut self, track: &str, codec: VideoCodec) -> Delivery {
        match self.tracks.get_mut(track) {
            Some(t) if t.wanted && codec == VideoCodec::Vp8 => {
                if std::mem::take(&mut t.again) {
                    t.waiting.clear();
                    Delivery::EncodedFromKey
                } else {
                    Delivery::Encoded
                }
            }
            _ => Delivery::Decoded,
        }
    }

    /// A frame of `track` as it came, numbered `seq`, for the page.
    pub fn put(&mut self, track: &str, seq: u64, frame: &EncodedVideo) {
        let Some(t) = self.tracks.get_mut(track).filter(|t| t.wanted) else {
            return;
        };
        if t.waiting.len() >= MOST_WAITING {
            t.waiting.clear();
            t.again = true;
            t.behind += 1;
            t.wanted = t.behind < MOST_BEHIND;
            return;
        }
        t.waiting.push_back((seq, Arc::new(message(seq, frame))));
    }

    /// The first frame of `track` numbered after `after`; those before it
    /// are the page's already.
    pub fn next(&mut self, track: &str, after: u64) -> Option<(u64, Arc<Vec<u8>>)> {
        let t = self.tracks.get_mut(track)?;
        while t.waiting.front().is_some_and(|(seq, _)| *seq <= after) {
            t.waiting.pop_front();
        }
        t.waiting.front().map(|(seq, m)| (*seq, Arc::clone(m)))
    }
}

/// A frame as the page takes it: the header's number, a width of 0 (not a
/// picture), flags (1: a key frame), then the frame as it came.
fn message(seq: u64, frame: &EncodedVideo) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + frame.data.len());
    out.extend_from_slice(&seq.to_le_bytes());
    out.extend_from_slice(&0u32.to_le_bytes());
    out.extend_from_slice(&u32::from(frame.key).to_le_bytes());
    out.extend_from_slice(frame.data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BIG: Taking = Taking {
        fit: Some(TileSize {
            width: 1200,
            height: 675,
        }),
        vp8: true,
        again: false,
    };

    fn frame(key: bool) -> EncodedVideo<'static> {
        EncodedVideo {
            codec: VideoCodec::Vp8,
            data: if key { b"key" } else { b"delta" },
            key,
            rtp_timestamp: 0,
        }
    }

    fn way(e: &mut EncodedTracks) -> Delivery {
        e.delivery("TR_a", VideoCodec::Vp8)
    }

    #[test]
    fn a_large_tile_that_decodes_vp8_takes_it_as_it_came() {
        let mut e = EncodedTracks::default();
        assert_eq!(way(&mut e), Delivery::Decoded);
        e.tell("TR_a", 1, BIG);
        // From a key frame: none sent yet.
        assert_eq!(way(&mut e), Delivery::EncodedFromKey);
        assert_eq!(way(&mut e), Delivery::Encoded);
        // Not another codec, not a grid's tile, not a page without
        // WebCodecs.
        assert_eq!(e.delivery("TR_a", VideoCodec::H264), Delivery::Decoded);
        let small = TileSize {
            width: 639,
            height: 360,
        };
        let fit = Some(small);
        e.tell("TR_a", 1, Taking { fit, ..BIG });
        assert_eq!(way(&mut e), Delivery::Decoded);
        e.tell("TR_a", 1, Taking { vp8: false, ..BIG });
        assert_eq!(way(&mut e), Delivery::Decoded);
        // Large again: from a key frame, whether or not the engine saw
        // the small tile between.
        e.tell("TR_a", 1, BIG);
        assert_eq!(way(&mut e), Delivery::EncodedFromKey);
        // A socket that ends after another told leaves the track to it.
        e.tell("TR_a", 2, BIG);
        e.forget("TR_a", 1);
        assert_eq!(way(&mut e), Delivery::Encoded);
        e.forget("TR_a", 2);
        assert_eq!(way(&mut e), Delivery::Decoded);
    }

    #[test]
    fn every_frame_goes_in_order_with_its_number_and_kind() {
        let mut e = EncodedTracks::default();
        e.tell("TR_a", 1, BIG);
        e.put("TR_a", 5, &frame(true));
        e.put("TR_a", 6, &frame(false));
        e.put("TR_b", 7, &frame(true));
        let (seq, m) = e.next("TR_a", 0).unwrap();
        assert_eq!(seq, 5);
        assert_eq!(u64::from_le_bytes(m[0..8].try_into().unwrap()), 5);
        assert_eq!(&m[8..HEADER], &[0, 0, 0, 0, 1, 0, 0, 0]);
        assert_eq!(&m[HEADER..], b"key");
        let (seq, m) = e.next("TR_a", 5).unwrap();
        assert_eq!((seq, &m[12..HEADER]), (6, &[0, 0, 0, 0][..]));
        assert!(e.next("TR_a", 6).is_none());
        assert!(e.next("TR_b", 0).is_none(), "a track no tile takes");
    }

    #[test]
    fn a_page_behind_or_lost_starts_again_from_a_key_frame() {
        let mut e = EncodedTracks::default();
        e.tell("TR_a", 1, BIG);
        let _ = way(&mut e);
        let mut seq = 0;
        let mut fall_behind = |e: &mut EncodedTracks| {
            for _ in 0..=MOST_WAITING {
                seq += 1;
                e.put("TR_a", seq, &frame(false));
            }
        };
        fall_behind(&mut e);
        assert!(e.next("TR_a", 0).is_none(), "too many waited");
        assert_eq!(way(&mut e), Delivery::EncodedFromKey);
        assert_eq!(way(&mut e), Delivery::Encoded);
        e.put("TR_a", 1000, &frame(true));
        e.tell("TR_a", 1, Taking { again: true, ..BIG });
        assert_eq!(way(&mut e), Delivery::EncodedFromKey);
        assert!(e.next("TR_a", 0).is_none(), "what waited is dropped");
        // Behind again and again: decoded here for the rest of the tile's
        // life, though the page still offers VP8.
        for _ in 1..MOST_BEHIND {
            fall_behind(&mut e);
        }
        e.tell("TR_a", 1, BIG);
        assert_eq!(way(&mut e), Delivery::Decoded);
    }
}
