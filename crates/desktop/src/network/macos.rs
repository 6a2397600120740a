//! macOS: the System Configuration dynamic store's notifications for the
//! global IPv4/IPv6 state (primary interface and router: the default
//! route) and every interface's addresses, on a run loop of its own
//! thread. Each is only a "look again" for the monitor.
//!
//! Written against the documented API; compiled by the release workflow's
//! macOS jobs, not run in this project's tests.

use core_foundation::array::CFArray;
use core_foundation::runloop::{CFRunLoop, CFRunLoopMode};
use core_foundation::string::CFString;
use system_configuration::dynamic_store::{
    SCDynamicStore, SCDynamicStoreBuilder, SCDynamicStoreCallBackContext,
};

use super::ChangeSender;

fn changed(_store: SCDynamicStore, _keys: CFArray<CFString>, changes: &mut ChangeSender) {
    let _ = changes.send(());
}

#[allow(unsafe_code)]
fn default_mode() -> CFRunLoopMode {
    // SAFETY: a constant CFString that CoreFoundation exports for the
    // life of the process; reading the static is all this does.
    unsafe { core_foundation::runloop::kCFRunLoopDefaultMode }
}

pub fn watch(changes: ChangeSender) -> Result<&'static str, String> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<Result<(), String>>();
    std::thread::Builder::new()
        .name("network-monitor".into())
        .spawn(move || {
            let store = SCDynamicStoreBuilder::new("RTCstack Desktop network monitor")
                .callback_context(SCDynamicStoreCallBackContext {
                    callout: changed,
                    info: changes,
                })
                .build();
            let Some(store) = store else {
                let _ = ready_tx.send(Err("no dynamic store session".into()));
                return;
            };
            let keys = CFArray::from_CFTypes(&[
                CFString::from("State:/Network/Global/IPv4"),
                CFString::from("State:/Network/Global/IPv6"),
            ]);
            let patterns = CFArray::from_CFTypes(&[
                CFString::from("State:/Network/Interface/.*/IPv4"),
                CFString::from("State:/Network/Interface/.*/IPv6"),
            ]);
            if !store.set_notification_keys(&keys, &patterns) {
                let _ = ready_tx.send(Err("the dynamic store refused our keys".into()));
                return;
            }
            let Some(source) = store.create_run_loop_source() else {
                let _ = ready_tx.send(Err("no run loop source for the dynamic store".into()));
                return;
            };
            CFRunLoop::get_current().add_source(&source, default_mode());
            let _ = ready_tx.send(Ok(()));
            CFRunLoop::run_current();
        })
        .map_err(|e| format!("no thread for the network monitor ({e})"))?;
    ready_rx
        .recv()
        .map_err(|_| "the network monitor's thread ended".to_string())??;
    Ok("System Configuration dynamic store (global IPv4/IPv6, interface addresses)")
}
