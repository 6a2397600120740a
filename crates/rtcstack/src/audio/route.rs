//! Which device to use, as devices come and go: the chosen one when it is
//! there, else the system default, and back to the chosen one when it
//! returns. No I/O: fed each new device list, it says what to open and what
//! changed (the app words it for the user).

use super::device::DeviceInfo;

/// What to do after a change in the device list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reroute {
    /// Open this device (its id; `None`: nothing to open at all).
    pub open: Option<DeviceInfo>,
    /// What changed, for the user to be told.
    pub change: DeviceChange,
}

/// A change of device the user should hear about (devices by name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChange {
    /// The chosen device is back, and in use again.
    Back { device: String },
    /// The device in use went; another took over.
    Replaced { gone: String, by: String },
    /// The device in use went, and there is no other.
    Gone { gone: String },
    /// A device arrived where there was none, and is in use.
    Arrived { device: String },
}

/// In English, for logs and reports ("Headset disconnected — using
/// Built-in Microphone").
impl std::fmt::Display for DeviceChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeviceChange::Back { device } => write!(f, "{device} connected — using it again"),
            DeviceChange::Replaced { gone, by } => write!(f, "{gone} disconnected — using {by}"),
            DeviceChange::Gone { gone } => {
                write!(f, "{gone} disconnected — no other device to use")
            }
            DeviceChange::Arrived { device } => write!(f, "Using {device}"),
        }
    }
}

/// One direction's route (the microphone or the speaker).
#[derive(Debug, Clone, Default)]
pub struct Route {
    /// The user's choice (`None`: the system default).
    chosen: Option<String>,
    /// The device open now, as it was listed when opened.
    open: Option<DeviceInfo>,
}

impl Route {
    pub fn new(chosen: Option<String>) -> Self {
        Route { chosen, open: None }
    }

    pub fn chosen(&self) -> Option<&str> {
        self.chosen.as_deref()
    }

    /// The user chose another device (opened by the caller).
    pub fn choose(&mut self, chosen: Option<String>) {
        self.chosen = chosen;
    }

    /// The caller opened `device` (or nothing).
    pub fn opened(&mut self, device: Option<DeviceInfo>) {
        self.open = device;
    }

    pub fn open(&self) -> Option<&DeviceInfo> {
        self.open.as_ref()
    }

    /// Given the devices there now, whether to move, and why.
    pub fn on_devices(&self, devices: &[DeviceInfo]) -> Option<Reroute> {
        let listed = |id: &str| devices.iter().find(|d| d.id == id);
        let default = devices.iter().find(|d| d.is_default);
        let open_present = self.open.as_ref().is_some_and(|o| listed(&o.id).is_some());
        // The chosen device is back while we use another: use it again.
        if let Some(chosen) = self.chosen.as_deref().and_then(listed) {
            if self.open.as_ref().map(|o| o.id.as_str()) != Some(chosen.id.as_str()) {
                return Some(Reroute {
                    open: Some(chosen.clone()),
                    change: DeviceChange::Back {
                        device: chosen.name.clone(),
                    },
                });
            }
            return None;
        }
        if open_present {
            return None;
        }
        match (&self.open, default) {
            // Gone: the default takes over.
            (Some(gone), Some(default)) => Some(Reroute {
                open: Some(default.clone()),
                change: DeviceChange::Replaced {
                    gone: gone.name.clone(),
                    by: default.name.clone(),
                },
            }),
            (Some(gone), None) => Some(Reroute {
                open: None,
                change: DeviceChange::Gone {
                    gone: gone.name.clone(),
                },
            }),
            // Nothing open (none was there): a device arrived.
            (None, Some(default)) => Some(Reroute {
                open: Some(default.clone()),
                change: DeviceChange::Arrived {
                    device: default.name.clone(),
                },
            }),
            (None, None) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(id: &str, name: &str, is_default: bool) -> DeviceInfo {
        DeviceInfo {
            id: id.into(),
            name: name.into(),
            is_default,
        }
    }

    #[test]
    fn a_chosen_headset_unplugged_and_plugged_back() {
        let builtin = dev("builtin", "Built-in Microphone", true);
        let headset = dev("usb", "Headset", false);
        let mut r = Route::new(Some("usb".into()));
        r.opened(Some(headset.clone()));
        assert_eq!(r.on_devices(&[builtin.clone(), headset.clone()]), None);
        let out = r.on_devices(std::slice::from_ref(&builtin)).unwrap();
        assert_eq!(out.open, Some(builtin.clone()));
        assert_eq!(
            out.change.to_string(),
            "Headset disconnected — using Built-in Microphone"
        );
        r.opened(out.open);
        assert_eq!(
            r.on_devices(std::slice::from_ref(&builtin)),
            None,
            "settled"
        );
        let back = r.on_devices(&[builtin.clone(), headset.clone()]).unwrap();
        assert_eq!(back.open, Some(headset));
        assert_eq!(
            back.change.to_string(),
            "Headset connected — using it again"
        );
    }

    #[test]
    fn the_default_in_use_removed_moves_to_the_new_default() {
        let mut r = Route::new(None);
        r.opened(Some(dev("a", "Dock", true)));
        let out = r.on_devices(&[dev("b", "Laptop", true)]).unwrap();
        assert_eq!(out.open.unwrap().id, "b");
        assert_eq!(out.change.to_string(), "Dock disconnected — using Laptop");
        // A new default while ours is still there: we stay (no surprise
        // switch mid-sentence).
        r.opened(Some(dev("b", "Laptop", true)));
        assert_eq!(
            r.on_devices(&[dev("b", "Laptop", false), dev("c", "New", true)]),
            None
        );
    }

    #[test]
    fn the_last_device_gone_and_the_first_one_arriving() {
        let mut r = Route::new(None);
        r.opened(Some(dev("a", "Mic", true)));
        let out = r.on_devices(&[]).unwrap();
        assert_eq!(out.open, None);
        assert_eq!(
            out.change.to_string(),
            "Mic disconnected — no other device to use"
        );
        r.opened(None);
        assert_eq!(r.on_devices(&[]), None);
        let out = r.on_devices(&[dev("b", "USB Mic", true)]).unwrap();
        assert_eq!(out.open.unwrap().id, "b");
    }
}
