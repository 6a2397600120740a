//! Windows: `PowerRegisterSuspendResumeNotification` with a callback
//! (no window needed): PBT_APMSUSPEND before sleep, PBT_APMRESUMEAUTOMATIC
//! (and PBT_APMRESUMESUSPEND, when a user is there) after it.
//!
//! Written against the documented API; compiled by the release workflow's
//! Windows jobs, not run in this project's tests.

use std::ffi::c_void;

use windows::Win32::Foundation::{HANDLE, NO_ERROR};
use windows::Win32::System::Power::{
    PowerRegisterSuspendResumeNotification, DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS,
};
use windows::Win32::UI::WindowsAndMessaging::{
    DEVICE_NOTIFY_CALLBACK, PBT_APMRESUMEAUTOMATIC, PBT_APMRESUMESUSPEND, PBT_APMSUSPEND,
};

use crate::hint::{Hint, HintSender};

#[allow(unsafe_code)]
unsafe extern "system" fn on_power(
    context: *const c_void,
    kind: u32,
    _setting: *const c_void,
) -> u32 {
    let hint = match kind {
        PBT_APMSUSPEND => Hint::Sleep,
        // Both follow one wake; the hint forwarder tells the call once.
        PBT_APMRESUMEAUTOMATIC | PBT_APMRESUMESUSPEND => Hint::Wake,
        _ => return 0,
    };
    if !context.is_null() {
        // SAFETY: `context` is the leaked sender made in `watch`, never
        // freed; the sender is Sync, so use from this thread is sound.
        let tx = unsafe { &*(context as *const HintSender) };
        let _ = tx.send(hint);
    }
    0 // ERROR_SUCCESS
}

#[allow(unsafe_code)]
pub fn watch(tx: HintSender) {
    // Both live as long as the app (the registration is never undone).
    let context = Box::into_raw(Box::new(tx)) as *mut c_void;
    let params = Box::into_raw(Box::new(DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS {
        Callback: Some(on_power),
        Context: context,
    }));
    let mut registration: *mut c_void = std::ptr::null_mut();
    // SAFETY: with DEVICE_NOTIFY_CALLBACK the recipient is a pointer to
    // DEVICE_NOTIFY_SUBSCRIBE_PARAMETERS (documented), which stays valid
    // (leaked); `registration` is a valid out pointer.
    let result = unsafe {
        PowerRegisterSuspendResumeNotification(
            DEVICE_NOTIFY_CALLBACK,
            HANDLE(params as *mut c_void),
            &mut registration,
        )
    };
    if result == NO_ERROR {
        tracing::info!("power monitor on: suspend/resume notifications");
    } else {
        tracing::warn!(
            "power monitor off: PowerRegisterSuspendResumeNotification failed ({result:?})"
        );
    }
}
