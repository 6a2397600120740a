//! macOS: NSWorkspace's will-sleep and did-wake notifications (posted on
//! the workspace's own notification center, on the main thread).
//!
//! Written against the documented API; compiled by the release workflow's
//! macOS jobs, not run in this project's tests.

use std::ptr::NonNull;

use block2::RcBlock;
use objc2_app_kit::{
    NSWorkspace, NSWorkspaceDidWakeNotification, NSWorkspaceWillSleepNotification,
};
use objc2_foundation::{NSNotification, NSNotificationName};

use crate::hint::{Hint, HintSender};

#[allow(unsafe_code)]
fn names() -> [(&'static NSNotificationName, Hint); 2] {
    // SAFETY: constant NSString names exported by AppKit for the life of
    // the process; reading the statics is all this does.
    unsafe {
        [
            (NSWorkspaceWillSleepNotification, Hint::Sleep),
            (NSWorkspaceDidWakeNotification, Hint::Wake),
        ]
    }
}

#[allow(unsafe_code)]
pub fn watch(tx: HintSender) {
    let center = NSWorkspace::sharedWorkspace().notificationCenter();
    for (name, hint) in names() {
        let tx = tx.clone();
        let block: RcBlock<dyn Fn(NonNull<NSNotification>)> =
            RcBlock::new(move |_note: NonNull<NSNotification>| {
                let _ = tx.send(hint);
            });
        // SAFETY: no object filter and no queue (the block runs on the
        // posting thread); the block only sends on a thread-safe channel,
        // so it is sendable as the method requires.
        let observer = unsafe {
            center.addObserverForName_object_queue_usingBlock(Some(name), None, None, &block)
        };
        // Observed for the life of the app: the observer is never removed.
        std::mem::forget(observer);
    }
    tracing::info!("power monitor on: NSWorkspace sleep/wake notifications");
}
