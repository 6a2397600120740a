//! Devices plugged in and removed while the app runs. cpal has no arrival
//! events, so one thread lists the devices a few times a second (on each
//! OS a cheap query of the sound server or driver) and publishes a list
//! whenever it differs: one interface for every OS.

use std::time::Duration;

use tokio::sync::watch;

use super::device::{list_all, listing_is_cheap, DeviceInfo};

/// The slowest a watch lists when listing probes hardware (ALSA without a
/// sound server): a machine with no sound server rarely hot-plugs anyway.
const PROBING_PERIOD: Duration = Duration::from_secs(2);

/// The devices there now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeviceLists {
    pub inputs: Vec<DeviceInfo>,
    pub outputs: Vec<DeviceInfo>,
}

/// Lists the devices every `period` (at most every 2 s where listing
/// probes hardware) until every receiver is gone.
pub fn watch_devices(period: Duration) -> watch::Receiver<DeviceLists> {
    // One host for the watch's whole life: one connection to the sound
    // server, not one per listing.
    let host = cpal::default_host();
    let (tx, rx) = watch::channel(list_all(&host));
    let period = if listing_is_cheap(&host) {
        period
    } else {
        period.max(PROBING_PERIOD)
    };
    let spawned = std::thread::Builder::new()
        .name("rtcstack-device-watch".into())
        .spawn(move || loop {
            std::thread::sleep(period);
            if tx.is_closed() {
                return;
            }
            let now = list_all(&host);
            tx.send_if_modified(|seen| {
                let changed = *seen != now;
                if changed {
                    *seen = now;
                }
                changed
            });
        });
    if let Err(e) = spawned {
        // The lists stay as first seen; switching by hand still works.
        tracing::warn!("device watch could not start: {e}");
    }
    rx
}
