//! The tray icon's pictures, drawn here rather than shipped as files: one
//! shape per status (filled, barred, ring, half, hollow) so the state reads
//! without its colour.

use super::TrayStatus;

/// Width and height in pixels (RGBA, row by row).
pub const ICON_SIZE: u32 = 32;

const GREEN: [u8; 3] = [0x2e, 0x9e, 0x4f];
const RED: [u8; 3] = [0xc6, 0x28, 0x28];
const AMBER: [u8; 3] = [0xe0, 0x8e, 0x0b];
const BLUE: [u8; 3] = [0x25, 0x63, 0xc9];
const GREY: [u8; 3] = [0x80, 0x80, 0x80];
const WHITE: [u8; 3] = [0xff, 0xff, 0xff];

/// The icon for `status`, `ICON_SIZE`² RGBA pixels.
pub fn icon(status: TrayStatus) -> Vec<u8> {
    let n = ICON_SIZE as i32;
    let mut rgba = vec![0u8; (n * n * 4) as usize];
    let c = (n as f32 - 1.0) / 2.0;
    for y in 0..n {
        for x in 0..n {
            let (dx, dy) = (x as f32 - c, y as f32 - c);
            let r = (dx * dx + dy * dy).sqrt();
            let disc = r <= 14.5;
            let ring = disc && r >= 10.5;
            let colour = match status {
                TrayStatus::Connected => disc.then_some(GREEN),
                // A white bar across, top right to bottom left.
                TrayStatus::Muted => disc.then_some(if (dx + dy).abs() <= 2.5 && r <= 11.0 {
                    WHITE
                } else {
                    RED
                }),
                TrayStatus::Reconnecting => (ring || r <= 4.5).then_some(AMBER),
                TrayStatus::Connecting => (ring || (disc && dx < 0.0)).then_some(BLUE),
                TrayStatus::Idle => ring.then_some(GREY),
            };
            if let Some([red, green, blue]) = colour {
                let i = ((y * n + x) * 4) as usize;
                rgba[i..i + 4].copy_from_slice(&[red, green, blue, 0xff]);
            }
        }
    }
    rgba
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(rgba: &[u8], x: u32, y: u32) -> [u8; 4] {
        let i = ((y * ICON_SIZE + x) * 4) as usize;
        rgba[i..i + 4].try_into().unwrap()
    }

    #[test]
    fn each_status_has_its_own_shape() {
        let all = [
            TrayStatus::Idle,
            TrayStatus::Connecting,
            TrayStatus::Connected,
            TrayStatus::Muted,
            TrayStatus::Reconnecting,
        ];
        // The shapes differ with the colours taken away: ink or not (the
        // muted bar is a gap in the ink).
        let shapes: Vec<Vec<bool>> = all
            .iter()
            .map(|s| {
                icon(*s)
                    .chunks(4)
                    .map(|p| p[3] != 0 && p[..3] != [0xff; 3])
                    .collect()
            })
            .collect();
        for (i, a) in shapes.iter().enumerate() {
            for (j, b) in shapes.iter().enumerate().skip(i + 1) {
                assert!(a != b, "{:?} and {:?} have one shape", all[i], all[j]);
            }
        }
        let (mid, edge) = (ICON_SIZE / 2, 3);
        assert_eq!(
            at(&icon(TrayStatus::Connected), mid, mid),
            [0x2e, 0x9e, 0x4f, 0xff]
        );
        assert_eq!(at(&icon(TrayStatus::Idle), mid, mid)[3], 0, "hollow");
        assert_eq!(
            at(&icon(TrayStatus::Muted), mid, mid),
            [0xff, 0xff, 0xff, 0xff],
            "barred"
        );
        assert_eq!(
            at(&icon(TrayStatus::Connected), edge - 3, edge - 3)[3],
            0,
            "round"
        );
    }
}
