//! Windows: IP Helper's change notifications — interfaces
//! (`NotifyIpInterfaceChange`), unicast addresses and routes — each only a
//! "look again" for the monitor. The callbacks run on a system thread and
//! only send on a channel.
//!
//! Written against the documented API; compiled by the release workflow's
//! Windows jobs, not run in this project's tests.

use std::ffi::c_void;

use windows::Win32::Foundation::{HANDLE, NO_ERROR};
use windows::Win32::NetworkManagement::IpHelper::{
    NotifyIpInterfaceChange, NotifyRouteChange2, NotifyUnicastIpAddressChange, MIB_IPFORWARD_ROW2,
    MIB_IPINTERFACE_ROW, MIB_NOTIFICATION_TYPE, MIB_UNICASTIPADDRESS_ROW,
};
use windows::Win32::Networking::WinSock::AF_UNSPEC;

use super::ChangeSender;

/// The sender, for the callbacks' context: leaked on purpose, as the
/// registrations last as long as the app.
fn context(changes: ChangeSender) -> *const c_void {
    Box::into_raw(Box::new(changes)) as *const c_void
}

#[allow(unsafe_code)]
fn tell(ctx: *const c_void) {
    if ctx.is_null() {
        return;
    }
    // SAFETY: `ctx` is the pointer made by `context`, never freed, and the
    // sender is Sync: reading it from the notification threads is sound.
    let changes = unsafe { &*(ctx as *const ChangeSender) };
    let _ = changes.send(());
}

#[allow(unsafe_code)]
unsafe extern "system" fn on_interface(
    ctx: *const c_void,
    _row: *const MIB_IPINTERFACE_ROW,
    _kind: MIB_NOTIFICATION_TYPE,
) {
    tell(ctx);
}

#[allow(unsafe_code)]
unsafe extern "system" fn on_address(
    ctx: *const c_void,
    _row: *const MIB_UNICASTIPADDRESS_ROW,
    _kind: MIB_NOTIFICATION_TYPE,
) {
    tell(ctx);
}

#[allow(unsafe_code)]
unsafe extern "system" fn on_route(
    ctx: *const c_void,
    _row: *const MIB_IPFORWARD_ROW2,
    _kind: MIB_NOTIFICATION_TYPE,
) {
    tell(ctx);
}

#[allow(unsafe_code)]
pub fn watch(changes: ChangeSender) -> Result<&'static str, String> {
    let ctx = context(changes);
    let mut handles = [HANDLE::default(), HANDLE::default(), HANDLE::default()];
    // SAFETY: the callbacks match the documented signatures, `ctx` outlives
    // the registrations (leaked), and each handle is a valid out pointer.
    let results = unsafe {
        [
            NotifyIpInterfaceChange(
                AF_UNSPEC,
                Some(on_interface),
                Some(ctx),
                false,
                &mut handles[0],
            ),
            NotifyUnicastIpAddressChange(
                AF_UNSPEC,
                Some(on_address),
                Some(ctx),
                false,
                &mut handles[1],
            ),
            NotifyRouteChange2(AF_UNSPEC, Some(on_route), ctx, false, &mut handles[2]),
        ]
    };
    if results[0] != NO_ERROR {
        return Err(format!("NotifyIpInterfaceChange failed ({:?})", results[0]));
    }
    if results[1..].iter().any(|r| *r != NO_ERROR) {
        tracing::info!("network monitor: only interface changes ({results:?})");
    }
    Ok("IP Helper notifications (interfaces, addresses, routes)")
}
