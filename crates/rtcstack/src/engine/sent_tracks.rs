//! Which of our tracks each stream we send belongs to, and in which
//! codec, by SSRC: rtc's statistics leave a sent stream's media source
//! empty, so the layers of a camera and of a shared screen (both `q`, `h`,
//! `f`) could not be told apart, and their rates were counted against each
//! other; and they name a sent stream's codec only where our sender's
//! format line equals the one negotiated, so our voice's read "–". Written
//! when a track is published (its SSRCs are ours to choose, its codec is
//! what we encode), read with the counters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub(crate) struct SentTracks(Arc<Mutex<HashMap<u32, Sent>>>);

/// A sent stream's track and codec.
#[derive(Debug, Clone)]
struct Sent {
    sid: String,
    codec: &'static str,
}

impl SentTracks {
    /// Streams `ssrcs` carry track `sid`, in `codec` (`opus`, `vp8`: as
    /// the statistics name codecs).
    pub(crate) fn name(
        &self,
        ssrcs: impl IntoIterator<Item = u32>,
        sid: &str,
        codec: &'static str,
    ) {
        if let Ok(mut names) = self.0.lock() {
            for ssrc in ssrcs {
                let sent = Sent {
                    sid: sid.to_owned(),
                    codec,
                };
                names.insert(ssrc, sent);
            }
        }
    }

    pub(crate) fn sid(&self, ssrc: u32) -> Option<String> {
        Some(self.0.lock().ok()?.get(&ssrc)?.sid.clone())
    }

    pub(crate) fn codec(&self, ssrc: u32) -> Option<&'static str> {
        Some(self.0.lock().ok()?.get(&ssrc)?.codec)
    }
}
