//! Starts the OS's monitors (sleep/wake in `power`, network changes in
//! `network`, one file per OS under each) and hands their hints to the
//! call in progress (`sleeping`, `woke`, `network_changed` in `rtcstack`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use crate::call::CallController;
use crate::hint::Hint;
use crate::{network, power};

/// Starts the monitors and the forwarding of their hints. Runs inside a
/// tokio runtime (the monitors spawn their tasks on it).
pub fn start(calls: Arc<CallController>) {
    let (tx, rx) = mpsc::unbounded_channel();
    power::start(tx.clone());
    // The network monitor watches the path to whichever server the call
    // is on (the join URL), read at the moment it looks.
    let watched = Arc::clone(&calls);
    let target: network::Target = Arc::new(move || watched.server_url());
    network::start(tx, target);
    tokio::spawn(forward(calls, rx));
}

async fn forward(calls: Arc<CallController>, mut rx: mpsc::UnboundedReceiver<Hint>) {
    let mut wakes = WakeFilter::default();
    while let Some(hint) = rx.recv().await {
        if !wakes.pass(hint, Instant::now()) {
            tracing::debug!("os hint {hint:?}: already told for this wake");
            continue;
        }
        calls.hint(hint);
    }
}

/// One wake is told once: the OS's signal and the clock-jump fallback can
/// both report the same wake, and a second `woke()` after the call came
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
}
