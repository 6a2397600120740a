//! Linux: systemd-logind on the system bus. We hold a "delay" inhibitor
//! lock, so logind waits for us before the machine sleeps; on
//! `PrepareForSleep(true)` the call is told and the lock released (logind
//! then goes on at once), on `PrepareForSleep(false)` the call is told we
//! woke and a new lock is taken for the next sleep. With no system bus or
//! no logind (containers, other init systems) the app carries on without
//! it and says why, once.

use futures_util::StreamExt;
use zbus::zvariant::OwnedFd;

use crate::hint::{Hint, HintSender};

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1"
)]
trait Manager {
    fn inhibit(&self, what: &str, who: &str, why: &str, mode: &str) -> zbus::Result<OwnedFd>;

    #[zbus(signal)]
    fn prepare_for_sleep(&self, start: bool) -> zbus::Result<()>;
}

pub async fn watch(tx: HintSender) {
    match watch_logind(&tx).await {
        Ok(()) => {}
        Err(why) => tracing::warn!("power monitor off: {why}"),
    }
}

async fn take_lock(logind: &ManagerProxy<'_>) -> zbus::Result<OwnedFd> {
    logind
        .inhibit(
            "sleep",
            "RTCstack Desktop",
            "Pause the call before sleep, recover it after",
            "delay",
        )
        .await
}

async fn watch_logind(tx: &HintSender) -> Result<(), String> {
    let bus = zbus::Connection::system()
        .await
        .map_err(|e| format!("no system D-Bus ({e})"))?;
    let logind = ManagerProxy::new(&bus)
        .await
        .map_err(|e| format!("logind not reachable on the system bus ({e})"))?;
    // Subscribed before the lock, so no signal falls between the two.
    let mut signals = logind
        .receive_prepare_for_sleep()
        .await
        .map_err(|e| format!("cannot subscribe to logind's PrepareForSleep ({e})"))?;
    let mut lock = Some(
        take_lock(&logind)
            .await
            .map_err(|e| format!("logind gave no inhibitor lock ({e})"))?,
    );
    tracing::info!("power monitor on: logind, delay inhibitor held");
    while let Some(signal) = signals.next().await {
        let Ok(args) = signal.args() else { continue };
        if *args.start() {
            let _ = tx.send(Hint::Sleep);
            // Closing our end of the lock lets the sleep go ahead.
            drop(lock.take());
            tracing::info!("power: going to sleep, inhibitor released");
        } else {
            let _ = tx.send(Hint::Wake);
            tracing::info!("power: woke up");
            lock = match take_lock(&logind).await {
                Ok(fd) => Some(fd),
                Err(e) => {
                    // Without it the next sleep is still seen, only
                    // without time to act before it.
                    tracing::warn!("power: no new inhibitor lock after wake ({e})");
                    None
                }
            };
        }
    }
    Err("the system bus connection closed".into())
}
