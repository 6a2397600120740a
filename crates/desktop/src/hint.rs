//! What the OS's monitors tell the call: the machine is going to sleep, has
//! woken, or its network path changed. A leaf: the monitors (`power`,
//! `network`) send hints, `monitors` starts them and hands the hints to the
//! call, and neither side imports the other.

use tokio::sync::mpsc;

/// What a monitor saw. One word for each moment across the crates: the
/// SDK's `Call::sleeping()`, `woke()` and `network_changed()` and its
/// supervisor's inputs say the same, and `CallController::hint` is the one
/// place a hint becomes a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hint {
    /// The machine is about to sleep.
    Sleep,
    /// The machine woke up (from the OS, or from a jump between clocks).
    Wake,
    /// The path to the call's server changed (address, interface, default
    /// route).
    NetworkChanged,
}

impl Hint {
    /// The hint in the SDK's words (the call report's).
    pub fn word(self) -> &'static str {
        match self {
            Hint::Sleep => "sleep",
            Hint::Wake => "wake",
            Hint::NetworkChanged => "networkChanged",
        }
    }
}

pub type HintSender = mpsc::UnboundedSender<Hint>;

/// Whether a monitor is switched off by its environment variable
/// (`RTCSTACK_POWER_MONITOR=off`, `RTCSTACK_NETWORK_MONITOR=off`): for
/// comparisons in tests and benchmarks, and a way out if one misbehaves.
pub fn monitor_off(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| matches!(v.trim(), "off" | "0" | "false"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_means_off() {
        std::env::set_var("RTCSTACK_TEST_MONITOR_A", "off");
        std::env::set_var("RTCSTACK_TEST_MONITOR_B", "on");
        assert!(monitor_off("RTCSTACK_TEST_MONITOR_A"));
        assert!(!monitor_off("RTCSTACK_TEST_MONITOR_B"));
        assert!(!monitor_off("RTCSTACK_TEST_MONITOR_UNSET"));
    }
}
