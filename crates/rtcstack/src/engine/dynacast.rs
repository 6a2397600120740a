//! Dynacast: LiveKit tells a publisher which of a video's layers it
//! forwards to anyone (`SubscribedQualityUpdate`: every quality up to the
//! largest any subscriber asks for; none while nobody watches, from 10 s
//! after publishing or 5 s after the last one stopped). The others are not
//! encoded or sent: a camera in a call whose viewers have small tiles costs
//! the small layer's encoding and uplink only, and one nobody watches costs
//! nothing past its capture.

use livekit_protocol as proto;

/// Which of a video's layers (LiveKit's qualities, smallest first), sent
/// in `codec` (as LiveKit names it), the update says are forwarded. A quality it does not mention is sent, as
/// is every layer until an update comes. (The update's flat list, for
/// clients from before per-codec lists, is deprecated: not read.)
pub(crate) fn wanted(
    update: &proto::SubscribedQualityUpdate,
    codec: &str,
    layers: &[proto::VideoQuality],
) -> Vec<bool> {
    let qualities = update
        .subscribed_codecs
        .iter()
        .find(|c| c.codec.eq_ignore_ascii_case(codec))
        .map_or(&[][..], |c| &c.qualities[..]);
    layers
        .iter()
        .map(|&q| {
            qualities
                .iter()
                .find(|s| s.quality == q as i32)
                .is_none_or(|s| s.enabled)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::VideoQuality::{High, Low, Medium};

    fn update(codec: &str, enabled: [bool; 3]) -> proto::SubscribedQualityUpdate {
        let qualities = [Low, Medium, High]
            .into_iter()
            .zip(enabled)
            .map(|(q, enabled)| proto::SubscribedQuality {
                quality: q as i32,
                enabled,
            })
            .collect();
        proto::SubscribedQualityUpdate {
            track_sid: "TR_a".into(),
            subscribed_codecs: vec![proto::SubscribedCodec {
                codec: codec.into(),
                qualities,
            }],
            ..Default::default()
        }
    }

    const LAYERS: [proto::VideoQuality; 3] = [Low, Medium, High];

    #[test]
    fn the_update_names_the_layers_forwarded() {
        let small_tiles = update("vp8", [true, false, false]);
        assert_eq!(wanted(&small_tiles, "vp8", &LAYERS), [true, false, false]);
        let nobody = update("vp8", [false; 3]);
        assert_eq!(wanted(&nobody, "vp8", &LAYERS), [false; 3]);
        // A screen shared in two layers has no medium one.
        assert_eq!(wanted(&small_tiles, "vp8", &[Low, High]), [true, false]);
    }

    #[test]
    fn our_codec_is_read_and_what_is_not_said_is_sent() {
        // Named in any case.
        let mut u = update("VP8", [true, true, false]);
        assert_eq!(wanted(&u, "vp8", &LAYERS), [true, true, false]);
        // Another codec's word is not ours.
        u.subscribed_codecs[0].codec = "vp9".into();
        assert_eq!(wanted(&u, "vp8", &LAYERS), [true; 3]);
        u.subscribed_codecs[0].codec = "h264".into();
        assert_eq!(wanted(&u, "h264", &LAYERS), [true, true, false]);
        // A quality left out is sent.
        let mut u = update("vp8", [false; 3]);
        u.subscribed_codecs[0].qualities.remove(1);
        assert_eq!(wanted(&u, "vp8", &LAYERS), [false, true, false]);
    }
}
