//! Pictures the window draws itself, over the page, where the page says its
//! tiles are: the webview costs about three times as much per tile on a
//! machine without a GPU (`scripts/bench frames`, "outside the webview").
//! The page keeps its tiles (box, caption, ring) and says, for each, where
//! the picture goes, what of it is on screen, where the page must show
//! through it (the caption, a dialog over it), and whether it is greyed
//! (the call reconnecting) or mirrored (our own camera). Frames of a placed
//! track are fitted to it and converted here, then painted by the window.

#[cfg(target_os = "linux")]
mod linux;

use serde::{Deserialize, Serialize};

/// A rectangle in the webview, device pixels from its top-left corner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct Area {
    pub x: i32,
    pub y: i32,
    pub width: i32,
    pub height: i32,
}

impl Area {
    /// What two areas share, if anything.
    pub fn and(&self, other: &Area) -> Option<Area> {
        let x = self.x.max(other.x);
        let y = self.y.max(other.y);
        let right = (self.x + self.width).min(other.x + other.width);
        let bottom = (self.y + self.height).min(other.y + other.height);
        (right > x && bottom > y).then_some(Area {
            x,
            y,
            width: right - x,
            height: bottom - y,
        })
    }
}

/// Where a track's picture is drawn, as the page says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[ts(export)]
#[serde(rename_all = "camelCase")]
pub struct Placement {
    /// The track (or the preview's key).
    pub track_sid: String,
    /// The picture's box (the tile's canvas), drawn whole in it, its
    /// aspect kept.
    pub picture: Area,
    /// What of the page is on screen (the viewport): the rest is cut off.
    pub seen: Area,
    /// Where the page shows through the picture.
    pub holes: Vec<Area>,
    /// The tile's corners' radius (device pixels): drawn round, as the
    /// page draws the tile.
    pub radius: i32,
    pub grey: bool,
    pub mirror: bool,
}

/// Coordinates kept within what a window can be (and what sums of two of
/// them can hold without overflow).
const FARTHEST: i32 = 32_767;
/// Holes a tile can have: its caption and the ring's four strips, with
/// room to spare; more are dropped (each multiplies the pieces).
const MOST_HOLES: usize = 16;

impl Area {
    fn bounded(self) -> Area {
        Area {
            x: self.x.clamp(-FARTHEST, FARTHEST),
            y: self.y.clamp(-FARTHEST, FARTHEST),
            width: self.width.clamp(0, FARTHEST),
            height: self.height.clamp(0, FARTHEST),
        }
    }
}

impl Placement {
    /// The page's numbers kept within a window's: what the page sends is
    /// input, and a wrong one must not overflow a sum or make thousands
    /// of widgets.
    pub fn bounded(mut self) -> Placement {
        self.picture = self.picture.bounded();
        self.seen = self.seen.bounded();
        self.holes.truncate(MOST_HOLES);
        for h in &mut self.holes {
            *h = h.bounded();
        }
        self.radius = self.radius.clamp(0, FARTHEST);
        self
    }

    /// The part of the window the picture covers.
    pub fn shown(&self) -> Option<Area> {
        self.picture.and(&self.seen)
    }
}

/// `shown` less the holes, as rectangles that do not overlap (rows of
/// bands, each cut where a hole crosses it): each is painted on its own, so
/// the page shows through what is left out.
pub fn pieces(shown: Area, holes: &[Area]) -> Vec<Area> {
    let holes: Vec<Area> = holes.iter().filter_map(|h| h.and(&shown)).collect();
    // Band edges: where any hole starts or ends, top to bottom.
    let mut ys = vec![shown.y, shown.y + shown.height];
    for h in &holes {
        ys.extend([h.y, h.y + h.height]);
    }
    ys.sort_unstable();
    ys.dedup();
    let mut out = Vec::new();
    for band in ys.windows(2) {
        let (top, bottom) = (band[0], band[1]);
        // The holes across this band, left to right; what lies between is
        // painted.
        let mut cuts: Vec<(i32, i32)> = holes
            .iter()
            .filter(|h| h.y < bottom && h.y + h.height > top)
            .map(|h| (h.x, h.x + h.width))
            .collect();
        cuts.sort_unstable();
        let mut x = shown.x;
        for (from, to) in cuts.into_iter().chain([(shown.x + shown.width, i32::MAX)]) {
            if from > x {
                out.push(Area {
                    x,
                    y: top,
                    width: from - x,
                    height: bottom - top,
                });
            }
            x = x.max(to);
        }
    }
    out
}

/// The smallest rectangle in the toolkit's units (`scale` device pixels
/// each, 2 on a HiDPI screen GTK scales) that holds `area`: the widgets
/// are placed in those units, and what each paints is clipped to its
/// piece itself, so a piece that does not start on a whole unit neither
/// leaves a gap nor covers the page's caption.
pub fn in_units(area: Area, scale: i32) -> Area {
    let s = scale.max(1);
    let (x, y) = (area.x.div_euclid(s), area.y.div_euclid(s));
    let right = (area.x + area.width + s - 1).div_euclid(s);
    let bottom = (area.y + area.height + s - 1).div_euclid(s);
    Area {
        x,
        y,
        width: right - x,
        height: bottom - y,
    }
}

/// A picture ready to paint: BGRX rows (what cairo's RGB24 is in memory on
/// a little-endian machine), fitted to its tile.
pub struct Painted {
    pub width: u32,
    pub height: u32,
    pub bgrx: Vec<u8>,
}

#[cfg(target_os = "linux")]
pub use linux::{attach, paint, painted, place};

/// Elsewhere the page draws every picture.
#[cfg(not(target_os = "linux"))]
pub fn place(_: Vec<Placement>) -> bool {
    false
}

#[cfg(not(target_os = "linux"))]
pub fn paint(_: String, _: Painted) {}

#[cfg(not(target_os = "linux"))]
pub fn painted() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(x: i32, y: i32, width: i32, height: i32) -> Area {
        Area {
            x,
            y,
            width,
            height,
        }
    }

    #[test]
    fn a_picture_scrolled_half_out_is_cut_to_what_is_seen() {
        let p = Placement {
            track_sid: "TR_a".into(),
            picture: area(10, 600, 320, 180),
            seen: area(0, 0, 900, 640),
            holes: vec![],
            radius: 0,
            grey: false,
            mirror: false,
        };
        assert_eq!(p.shown(), Some(area(10, 600, 320, 40)));
        let gone = Placement {
            picture: area(10, 700, 320, 180),
            ..p
        };
        assert_eq!(gone.shown(), None);
    }
    #[test]
    fn the_pages_numbers_are_bounded() {
        let wild = Placement {
            track_sid: "TR_a".into(),
            picture: area(i32::MAX, i32::MIN, i32::MAX, -5),
            seen: area(0, 0, i32::MAX, i32::MAX),
            holes: vec![area(i32::MAX, 0, i32::MAX, i32::MAX); 1000],
            radius: -3,
            grey: false,
            mirror: false,
        }
        .bounded();
        assert_eq!(wild.picture, area(32_767, -32_767, 32_767, 0));
        assert_eq!(wild.seen, area(0, 0, 32_767, 32_767));
        assert_eq!(wild.holes.len(), 16);
        assert_eq!(wild.radius, 0);
        // Sums stay within i32: nothing overflows.
        assert_eq!(wild.shown(), None);
        let big = Placement {
            picture: area(-100, -100, 40_000, 40_000),
            ..wild.clone()
        }
        .bounded();
        assert_eq!(big.shown(), Some(area(0, 0, 32_667, 32_667)));
        assert!(pieces(big.shown().unwrap(), &big.holes).len() <= 4 * 17);
    }

    #[test]
    fn a_piece_is_held_by_whole_units_of_a_scaled_screen() {
        // Unscaled: the piece itself.
        assert_eq!(in_units(area(3, 5, 7, 4), 1), area(3, 5, 7, 4));
        // Scaled by 2: device 3..10 and 5..9 are held by units 1..5 and
        // 2..5 (device 2..10, 4..10).
        assert_eq!(in_units(area(3, 5, 7, 4), 2), area(1, 2, 4, 3));
        assert_eq!(in_units(area(4, 6, 8, 2), 2), area(2, 3, 4, 1));
        // Left of or above the webview's corner, and empty.
        assert_eq!(in_units(area(-3, 0, 3, 1), 2), area(-2, 0, 2, 1));
        assert_eq!(in_units(area(4, 4, 0, 0), 2), area(2, 2, 0, 0));
        // A scale that cannot be is taken as 1.
        assert_eq!(in_units(area(3, 5, 7, 4), 0), area(3, 5, 7, 4));
        // Every device pixel of a piece is in its units, at 3 as well.
        for scale in 1..=3 {
            for x in -4..6 {
                for w in 0..7 {
                    let a = area(x, x + 1, w, w + 2);
                    let u = in_units(a, scale);
                    assert!(
                        u.x * scale <= a.x && u.y * scale <= a.y,
                        "{a:?} at {scale}: {u:?}"
                    );
                    assert!(
                        (u.x + u.width) * scale >= a.x + a.width,
                        "{a:?} at {scale}: {u:?}"
                    );
                    assert!(
                        (u.y + u.height) * scale >= a.y + a.height,
                        "{a:?} at {scale}: {u:?}"
                    );
                    // And no unit more than it needs: the first and
                    // the last hold some of it.
                    if w > 0 {
                        assert!((u.x + 1) * scale > a.x, "{a:?} at {scale}: {u:?}");
                        assert!(
                            (u.x + u.width - 1) * scale < a.x + a.width,
                            "{a:?} at {scale}: {u:?}"
                        );
                    }
                }
            }
        }
    }

    /// The pieces cover exactly the shown area less the holes: every
    /// pixel once or not at all.
    fn covered(shown: Area, holes: &[Area]) {
        let parts = pieces(shown, holes);
        for y in shown.y - 2..shown.y + shown.height + 2 {
            for x in shown.x - 2..shown.x + shown.width + 2 {
                let inside =
                    |a: &Area| x >= a.x && x < a.x + a.width && y >= a.y && y < a.y + a.height;
                let want = inside(&shown) && !holes.iter().any(inside);
                let n = parts.iter().filter(|p| inside(p)).count();
                assert_eq!(n, usize::from(want), "({x}, {y}) in {parts:?}");
            }
        }
    }

    #[test]
    fn the_pieces_leave_out_the_caption_and_the_ring() {
        let shown = area(10, 20, 64, 36);
        covered(shown, &[]);
        assert_eq!(pieces(shown, &[]), vec![shown]);
        // A caption on the bottom-left corner: a band above it, and the
        // part beside it.
        let caption = area(14, 44, 20, 8);
        assert_eq!(
            pieces(shown, &[caption]),
            vec![
                area(10, 20, 64, 24),
                area(10, 44, 4, 8),
                area(34, 44, 40, 8),
                area(10, 52, 64, 4)
            ]
        );
        covered(shown, &[caption]);
        // The speaker's ring (four strips on the edge) and the caption.
        let ring = [
            area(10, 20, 64, 3),
            area(10, 53, 64, 3),
            area(10, 20, 3, 36),
            area(71, 20, 3, 36),
        ];
        let mut holes = ring.to_vec();
        holes.push(caption);
        covered(shown, &holes);
        // Holes overlapping each other, and one reaching outside.
        covered(
            shown,
            &[
                area(0, 0, 30, 30),
                area(20, 25, 30, 10),
                area(60, 50, 40, 40),
            ],
        );
        // All of it a hole.
        assert_eq!(pieces(shown, &[area(0, 0, 100, 100)]), vec![]);
    }
}
