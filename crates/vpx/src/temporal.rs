//! Temporal layers: which pictures a server may drop. In three layers
//! (as libwebrtc sends a camera) every fourth picture is the base layer
//! (0), the one between two of them the middle layer (1) and the others
//! the top (2): a receiver given layer 0 only has a quarter of the frame
//! rate, given 0 and 1 half, each picture decodable from what it has.
//!
//! That holds by the encoder's reference buffers. The base layer refers to
//! and renews "last" only; the middle one refers to "last" and renews
//! "golden"; the top one refers to both and renews none. The second top
//! picture of a cycle uses the middle one's golden, the first does not
//! (golden then holds the cycle before's). Only key frames renew the
//! third buffer ("alt"), so any picture may refer to it. The layers
//! above the base do not carry their entropy forward: a receiver without
//! them would decode the next base picture with other probabilities (our
//! error-resilient encoder carries none anyway; the flag says it here,
//! where the layers are made).

use vpx_sys as vpx;

/// What a picture is in its stream's temporal layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Temporal {
    /// Its layer: 0 the base.
    pub id: u8,
    /// It refers to base-layer pictures only, so a receiver may start on
    /// its layer here (the payload's Y bit).
    pub sync: bool,
}

/// The layers of a cycle, in order.
const CYCLE: [u8; 4] = [0, 2, 1, 2];

/// Each layer's share of the rate, summed from the base up (libwebrtc's
/// split for three layers).
pub(crate) const RATE_PERCENT: [u32; 3] = [40, 60, 100];

/// Each layer's frame rate divides the full one by this.
pub(crate) const DECIMATOR: [u32; 3] = [4, 2, 1];

/// Where a stream of three temporal layers is in its cycle.
#[derive(Debug, Default)]
pub(crate) struct Cycle {
    /// The next picture's place in the cycle.
    next: usize,
}

impl Cycle {
    /// The layers' pattern, as libvpx's configuration takes it.
    pub(crate) fn layer_ids() -> [u32; 4] {
        CYCLE.map(u32::from)
    }

    /// The next picture: what it is and the encoder's flags for it. A key
    /// frame starts the cycle again.
    pub(crate) fn next(&mut self, keyframe: bool) -> (Temporal, i64) {
        if keyframe {
            self.next = 0;
        }
        let place = self.next;
        self.next = (place + 1) % CYCLE.len();
        let renew_none = vpx::VP8_EFLAG_NO_UPD_LAST | vpx::VP8_EFLAG_NO_UPD_GF;
        let above_base =
            vpx::VP8_EFLAG_NO_UPD_ARF | vpx::VP8_EFLAG_NO_UPD_ENTROPY | vpx::VP8_EFLAG_NO_UPD_LAST;
        let (sync, flags) = match place {
            _ if keyframe => (true, vpx::VPX_EFLAG_FORCE_KF),
            0 => (
                false,
                vpx::VP8_EFLAG_NO_REF_GF | vpx::VP8_EFLAG_NO_UPD_GF | vpx::VP8_EFLAG_NO_UPD_ARF,
            ),
            1 => (true, above_base | renew_none | vpx::VP8_EFLAG_NO_REF_GF),
            2 => (true, above_base | vpx::VP8_EFLAG_NO_REF_GF),
            _ => (false, above_base | renew_none),
        };
        let temporal = Temporal {
            id: CYCLE[place],
            sync,
        };
        (temporal, i64::from(flags))
    }

    /// The encoder made a key frame of its own (not asked): it is the base
    /// layer, and the cycle goes on from it.
    pub(crate) fn restarted(&mut self) -> Temporal {
        self.next = 1;
        Temporal { id: 0, sync: true }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cycle_is_base_top_middle_top_and_a_key_frame_starts_it_again() {
        let mut cycle = Cycle::default();
        let ids: Vec<u8> = (0..6).map(|_| cycle.next(false).0.id).collect();
        assert_eq!(ids, [0, 2, 1, 2, 0, 2]);
        assert_eq!(cycle.next(true).0, Temporal { id: 0, sync: true });
        let after: Vec<Temporal> = (0..3).map(|_| cycle.next(false).0).collect();
        assert_eq!(
            after,
            [
                Temporal { id: 2, sync: true },
                Temporal { id: 1, sync: true },
                Temporal { id: 2, sync: false },
            ]
        );
        cycle.next(false);
        assert_eq!(cycle.restarted(), Temporal { id: 0, sync: true });
        assert_eq!(cycle.next(false).0.id, 2);
    }
}
