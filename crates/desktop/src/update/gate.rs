//! The rule "an update never interrupts a call", as one small piece of
//! state: the call code says when a call starts and ends, the updater waits
//! for "no call" before it downloads or installs anything.

use std::sync::Arc;

use tokio::sync::watch;

/// Whether a call is in progress. One gate, shared by its clones: the call
/// controller calls [`UpdateGate::call_started`] when it begins joining a
/// room and [`UpdateGate::call_ended`] once the call is over (left, failed
/// or disconnected for good); the updater holds another clone.
#[derive(Debug, Clone)]
pub struct UpdateGate {
    in_call: Arc<watch::Sender<bool>>,
}

impl Default for UpdateGate {
    fn default() -> Self {
        Self::new()
    }
}

impl UpdateGate {
    pub fn new() -> Self {
        Self {
            in_call: Arc::new(watch::Sender::new(false)),
        }
    }

    /// A call is starting: hold updates until it ends.
    pub fn call_started(&self) {
        self.in_call.send_replace(true);
    }

    /// The call is over: a held update may go ahead. Calling it with no
    /// call in progress does nothing.
    pub fn call_ended(&self) {
        self.in_call.send_replace(false);
    }

    pub fn call_active(&self) -> bool {
        *self.in_call.borrow()
    }

    /// Returns at once when no call is in progress, otherwise when the call
    /// ends.
    pub async fn wait_until_no_call(&self) {
        let mut rx = self.in_call.subscribe();
        // The sender lives in `self`, so it cannot be dropped while we wait.
        let _ = rx.wait_for(|in_call| !*in_call).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn no_call_means_no_wait() {
        let gate = UpdateGate::new();
        assert!(!gate.call_active());
        tokio::time::timeout(Duration::from_secs(1), gate.wait_until_no_call())
            .await
            .expect("an idle gate must not hold the update");
    }

    #[tokio::test(start_paused = true)]
    async fn an_update_waits_for_the_call_to_end() {
        let gate = Arc::new(UpdateGate::new());
        gate.call_started();
        assert!(gate.call_active());
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait_until_no_call().await }
        });
        // Virtual time: an hour of call passes and the update still waits.
        tokio::time::sleep(Duration::from_secs(3600)).await;
        assert!(!waiter.is_finished());
        gate.call_ended();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .expect("the update goes ahead when the call ends")
            .unwrap();
        assert!(!gate.call_active());
    }

    #[tokio::test(start_paused = true)]
    async fn a_new_call_before_the_waiter_runs_keeps_it_waiting() {
        let gate = Arc::new(UpdateGate::new());
        gate.call_started();
        gate.call_ended();
        gate.call_started();
        let waiter = tokio::spawn({
            let gate = gate.clone();
            async move { gate.wait_until_no_call().await }
        });
        tokio::time::sleep(Duration::from_secs(60)).await;
        assert!(!waiter.is_finished(), "second call is still on");
        gate.call_ended();
        tokio::time::timeout(Duration::from_secs(1), waiter)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn ending_twice_is_harmless() {
        let gate = UpdateGate::new();
        gate.call_ended();
        gate.call_started();
        gate.call_ended();
        gate.call_ended();
        assert!(!gate.call_active());
    }
}
