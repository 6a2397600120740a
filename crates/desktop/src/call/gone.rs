//! A shared screen or a camera whose source goes away (a window closed, a
//! monitor or camera unplugged) is turned off, as the person's own Stop
//! would: unless something else was picked or stopped since.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rtcstack::video::screen::ShareEnd;
use rtcstack::video::VideoSource;
use rtcstack::Call;

use super::CallController;

impl CallController {
    /// Once `end` says the input is gone, stops `source` on `call` and runs
    /// `off` (the view's part), if `turns` (which counts every pick and
    /// stop of this source) still stands at `turn`.
    pub(super) fn off_when_gone(
        self: &Arc<Self>,
        end: ShareEnd,
        (turns, turn): (fn(&CallController) -> &AtomicU64, u64),
        (call, source): (Arc<Call>, VideoSource),
        off: impl FnOnce(&Arc<CallController>, &Arc<Call>) + Send + 'static,
    ) {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            if end.ended().await
                && turns(&me)
                    .compare_exchange(turn, turn + 1, Ordering::SeqCst, Ordering::SeqCst)
                    .is_ok()
            {
                tracing::info!("the {source:?} source went away: it is off");
                match call.stop_video(source).await {
                    Ok(()) => off(&me, &call),
                    Err(e) => tracing::warn!("the {source:?} could not be stopped: {e}"),
                }
            }
        });
    }
}
