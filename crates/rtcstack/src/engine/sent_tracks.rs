//! Which of our tracks each stream we send belongs to, by SSRC: rtc's
//! statistics leave a sent stream's media source empty, so the layers of
//! a camera and of a shared screen (both `q`, `h`, `f`) could not be told
//! apart, and their rates were counted against each other. Written when a
//! track is published (its SSRCs are ours to choose), read with the
//! counters.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Default)]
pub(crate) struct SentTracks(Arc<Mutex<HashMap<u32, String>>>);

impl SentTracks {
    /// Streams `ssrcs` carry track `sid`.
    pub(crate) fn name(&self, ssrcs: impl IntoIterator<Item = u32>, sid: &str) {
        if let Ok(mut names) = self.0.lock() {
            for ssrc in ssrcs {
                names.insert(ssrc, sid.to_owned());
            }
        }
    }

    pub(crate) fn sid(&self, ssrc: u32) -> Option<String> {
        self.0.lock().ok()?.get(&ssrc).cloned()
    }
}
