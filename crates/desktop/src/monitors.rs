//! Starts the OS's monitors (sleep/wake in `power`, network changes in
//! `network`, one file per OS under each) and hands their hints to the
//! call in progress (`sleeping`, `woke`, `network_changed` in `rtcstack`).

use std::sync::Arc;

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
    // Every hint goes on: the call takes one wake once, however many
    // monitors report it (rtcstack's supervisor, `SAME_WAKE`).
    while let Some(hint) = rx.recv().await {
        calls.hint(hint);
    }
}
