//! OS hints for the call: the machine is going to sleep, has woken, or its
//! network path changed. The power and network monitors (one file per OS
//! under `power/` and `network/`) send them here; this is the one place
//! that hands them to the current call (`suspended`, `woke`,
//! `network_changed` in `rtcstack`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tauri::{AppHandle, Manager};
use tokio::sync::mpsc;

use crate::session::Session;
use crate::{network, power};

/// What a monitor saw.
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

pub type HintSender = mpsc::UnboundedSender<Hint>;

/// Whether a monitor is switched off by its environment variable
/// (`RTCSTACK_POWER_MONITOR=off`, `RTCSTACK_NETWORK_MONITOR=off`): for
/// comparisons in tests and benchmarks, and a way out if one misbehaves.
pub fn disabled(var: &str) -> bool {
    std::env::var(var).is_ok_and(|v| matches!(v.trim(), "off" | "0" | "false"))
}

/// Starts the monitors and the forwarding of their hints.
pub fn start(app: &AppHandle) {
    let (tx, rx) = mpsc::unbounded_channel();
    power::start(tx.clone());
    let handle = app.clone();
    // The network monitor watches the path to whichever server the call
    // is on (the join URL), read at the moment it looks.
    let target: network::Target = Arc::new(move || {
        handle
            .state::<Session>()
            .current()
            .map(|call| call.url().to_string())
    });
    network::start(tx, target);
    tauri::async_runtime::spawn(forward(app.clone(), rx));
}

async fn forward(app: AppHandle, mut rx: mpsc::UnboundedReceiver<Hint>) {
    let mut wakes = WakeFilter::default();
    while let Some(hint) = rx.recv().await {
        if !wakes.pass(hint, Instant::now()) {
            tracing::debug!("os hint {hint:?}: already told for this wake");
            continue;
        }
        let Some(call) = app.state::<Session>().current() else {
            tracing::debug!("os hint {hint:?}: no call");
            continue;
        };
        tracing::info!("os hint {hint:?} → the call");
        match hint {
            Hint::Sleep => call.suspended(),
            Hint::Wake => call.woke(),
            Hint::NetworkChanged => call.network_changed(),
        }
    }
}

/// One wake is told once: the OS's signal and the clock-jump fallback can
/// both report the same wake, and a second `resume()` after the call came
/// back would start another reconnect for nothing.
#[derive(Debug, Default)]
struct WakeFilter {
    last_wake: Option<Instant>,
}

/// Wakes closer together than this with no sleep between are one wake.
const SAME_WAKE: Duration = Duration::from_secs(10);

impl WakeFilter {
    fn pass(&mut self, hint: Hint, now: Instant) -> bool {
        match hint {
            Hint::Sleep => {
                self.last_wake = None;
                true
            }
            Hint::Wake => {
                if self
                    .last_wake
                    .is_some_and(|t| now.duration_since(t) < SAME_WAKE)
                {
                    return false;
                }
                self.last_wake = Some(now);
                true
            }
            Hint::NetworkChanged => true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_wake_is_told_once_and_a_new_sleep_starts_over() {
        let mut f = WakeFilter::default();
        let t = Instant::now();
        assert!(f.pass(Hint::Sleep, t));
        assert!(f.pass(Hint::Wake, t));
        // The clock-jump fallback noticing the same wake a second later.
        assert!(!f.pass(Hint::Wake, t + Duration::from_secs(1)));
        assert!(f.pass(Hint::NetworkChanged, t + Duration::from_secs(1)));
        // Asleep again soon after: that wake is news.
        assert!(f.pass(Hint::Sleep, t + Duration::from_secs(3)));
        assert!(f.pass(Hint::Wake, t + Duration::from_secs(4)));
        // A wake long after the last one, even without a sleep signal.
        assert!(f.pass(Hint::Wake, t + Duration::from_secs(60)));
    }

    #[test]
    fn off_means_off() {
        std::env::set_var("RTCSTACK_TEST_MONITOR_A", "off");
        std::env::set_var("RTCSTACK_TEST_MONITOR_B", "on");
        assert!(disabled("RTCSTACK_TEST_MONITOR_A"));
        assert!(!disabled("RTCSTACK_TEST_MONITOR_B"));
        assert!(!disabled("RTCSTACK_TEST_MONITOR_UNSET"));
    }
}
